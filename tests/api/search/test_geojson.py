"""GeoJSON as map libraries send and take it, on both engines: bboxes across the antimeridian and wrapped
longitudes (RFC 7946 §5.2), GeoJSON project hits, clusters with numeric ids, point_count and 6 decimals.

Expected hits are computed here from the rows written; the `engine` fixture runs each test once on
OpenSearch and once on the PostGIS engine (OPENSEARCH_URL empty), as tests/api/search/test_search.py does.
"""
from __future__ import annotations

import hashlib
import uuid

import pytest

from tests.helpers.http import SEARCH
from tests.helpers.search import index_pending, seed, visible

# Either side of the antimeridian, and far from it.
FIJI = (-18.1416, 178.4419)
SAMOA = (-13.7590, -172.1046)
QUITO = (-0.1807, -78.4678)


async def places(engine: str, make_user, client) -> dict[str, str]:
    """One project at each place, through HTTP; returns name -> id."""
    from tests.helpers.projects import create_project

    owner = await make_user(profile=True)
    ids = {}
    for name, (lat, lon) in {"Fiji": FIJI, "Samoa": SAMOA, "Quito": QUITO}.items():
        ids[name] = (await create_project(client, owner, name=name, latitude=lat, longitude=lon, city=name,
                                          state=None, country=None))["id"]
    if engine == "opensearch":
        await index_pending()
    return ids


async def names(client, engine, path, params) -> set[str] | dict:
    resp = await client.get(SEARCH + path, params=params)
    assert resp.status_code == 200, (params, resp.text)
    assert resp.headers["x-search-engine"] == engine
    return resp.json()


@pytest.mark.parametrize("bbox,expected", [
    ("170,-25,-170,0", {"Fiji", "Samoa"}),         # west > east: across the antimeridian
    ("175,-25,-175,0", {"Fiji"}),
    ("-250,-85,250,85", {"Fiji", "Samoa", "Quito"}),  # wrapped past a whole turn: the world
    ("185,-25,200,0", {"Samoa"}),                  # 185..200 is -175..-160
    ("-190,-25,-170,0", {"Fiji", "Samoa"}),        # -190 is 170: across the antimeridian again
    ("-180,-25,180,0", {"Fiji", "Samoa", "Quito"}),
    ("-80,-25,170,0", {"Quito"}),
])
async def test_bboxes_as_map_clients_send_them(client, engine, make_user, bbox, expected):
    await places(engine, make_user, client)
    hits = await names(client, engine, "/projects", {"bbox": bbox})
    assert {h["name"] for h in hits} == expected
    clusters = await names(client, engine, "/projects/clusters", {"bbox": bbox, "zoom": 3})
    assert clusters["total"] == len(expected)


def numeric_id(project_id: str) -> int:
    return 2 ** 52 + (int.from_bytes(hashlib.sha256(uuid.UUID(project_id).bytes).digest()[:7], "big") >> 4)


def decimals(value: float) -> int:
    text = repr(value)
    return len(text.split(".")[1]) if "." in text and "e" not in text else 0


async def test_project_hits_as_geojson(client, engine, make_user):
    ids = await places(engine, make_user, client)
    owner = await make_user(profile=True)
    from tests.helpers.projects import create_project

    nowhere = (await create_project(client, owner, name="Nowhere", latitude=None, longitude=None))["id"]
    if engine == "opensearch":
        await index_pending()
    plain = (await client.get(f"{SEARCH}/projects", params={"sort": "newest"})).json()
    for kwargs in ({"params": {"sort": "newest", "format": "geojson"}},
                   {"params": {"sort": "newest"}, "headers": {"Accept": "application/geo+json"}}):
        resp = await client.get(f"{SEARCH}/projects", **kwargs)
        assert resp.status_code == 200, resp.text
        assert resp.headers["content-type"].startswith("application/geo+json")
        assert resp.headers["x-search-engine"] == engine and resp.headers["x-total-count"] == "4"
        fc = resp.json()
        assert fc["type"] == "FeatureCollection" and fc["total"] == 4
        assert [f["properties"]["project_id"] for f in fc["features"]] == [h["id"] for h in plain]
        for feature, hit in zip(fc["features"], plain):
            assert feature["type"] == "Feature" and feature["id"] == numeric_id(hit["id"]) < 2 ** 53
            assert feature["properties"]["name"] == hit["name"] and feature["properties"]["roles"] == hit["roles"]
            assert "latitude" not in feature["properties"] and "id" not in feature["properties"]
            if hit["id"] == nowhere:
                assert feature["geometry"] is None
                continue
            lon, lat = feature["geometry"]["coordinates"]
            assert (lon, lat) == (round(hit["longitude"], 6), round(hit["latitude"], 6))
            assert decimals(lon) <= 6 and decimals(lat) <= 6
    assert set(ids.values()) < {h["id"] for h in plain}
    # Without either, the original list.
    assert isinstance((await client.get(f"{SEARCH}/projects", params={"format": "json"})).json(), list)


async def test_clusters_have_numeric_ids_point_count_and_no_float_noise(client, engine):
    data = await seed(n_projects=80, rng_seed=3)
    if engine == "opensearch":
        await index_pending()
    bbox = "-125,20,10,60"
    body = await names(client, engine, "/projects/clusters", {"bbox": bbox, "zoom": 4})
    assert body["total"] == sum(1 for p in data.projects if visible(p) and p["loc"])
    ids = set()
    for c in body["clusters"]:
        zoom, x, y = (int(v) for v in c["key"].split("/"))
        morton = sum(((x >> i) & 1) << (2 * i) | ((y >> i) & 1) << (2 * i + 1) for i in range(zoom))
        assert c["id"] == 4 ** zoom + morton < 2 ** 50
        assert c["point_count"] == c["count"]
        for value in (*c["centroid"].values(), *c["bounds"].values()):
            assert decimals(value) <= 6, c
        ids.add(c["id"])
    assert len(ids) == len(body["clusters"])
    fc = await names(client, engine, "/projects/clusters", {"bbox": bbox, "zoom": 4, "format": "geojson"})
    for feature, c in zip(fc["features"], body["clusters"]):
        assert feature["id"] == c["id"]
        props = feature["properties"]
        assert props["cluster"] is True and props["cluster_id"] == c["id"]
        assert props["point_count"] == props["count"] == c["count"]
        assert props["point_count_abbreviated"] == str(c["count"])  # under 1000 here
        assert props["key"] == c["key"]
