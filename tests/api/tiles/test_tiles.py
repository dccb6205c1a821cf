"""Vector tiles and TileJSON through HTTP, decoded with the independent `mapbox-vector-tile` package.

Expected features are computed here from the rows written (Web-Mercator tile math written out again below),
and clusters are checked against /search/projects/clusters, an implementation of its own (geotile cells of
each point in SQL or OpenSearch, not the quadtree key the tiles range over).
"""
from __future__ import annotations

import hashlib
import math
import uuid

import mapbox_vector_tile
import pytest

from tests.helpers.http import API, SEARCH, assert_problem
from tests.helpers.projects import create_project
from tests.helpers.search import index_pending, seed, visible

TILES = f"{API}/tiles"
MVT = "application/vnd.mapbox-vector-tile"
EXTENT = 4096
# The demo cities of `filmo seed --demo` (api/maintenance/demo.py) with a project each.
DEMO = {"Harmattan": (6.5244, 3.3792), "The Last Light": (34.0522, -118.2437), "Monsoon Letters": (19.0760, 72.8777),
        "Spree": (52.5200, 13.4050), "Understudy": (51.5072, -0.1276)}


def mercator(lat: float, lon: float) -> tuple[float, float]:
    s = math.sin(math.radians(max(-85.0511287798066, min(85.0511287798066, lat))))
    return (lon + 180) / 360, 0.5 - math.log((1 + s) / (1 - s)) / (4 * math.pi)


def tile_of(lat: float, lon: float, z: int) -> tuple[int, int, int]:
    mx, my = mercator(lat, lon)
    n = 2 ** z
    return z, min(n - 1, int(mx * n)), min(n - 1, int(my * n))


def lonlat(z: int, x: int, y: int, px: int, py: int) -> tuple[float, float]:
    """A tile pixel back to (lat, lon)."""
    n = 2 ** z
    mx, my = (x + px / EXTENT) / n, (y + py / EXTENT) / n
    lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * my))))
    return lat, mx * 360 - 180


def numeric_id(project_id: str) -> int:
    return 2 ** 52 + (int.from_bytes(hashlib.sha256(uuid.UUID(project_id).bytes).digest()[:7], "big") >> 4)


async def indexed(engine: str) -> None:
    if engine == "opensearch":
        await index_pending()


async def features(client, z, x, y, params=None, status=200, engine=None) -> list[dict]:
    """The tile's features; `engine`: the one that must have counted its clusters."""
    resp = await client.get(f"{TILES}/projects/{z}/{x}/{y}.mvt", params=params)
    assert resp.status_code == status, resp.text
    if engine is not None:
        assert resp.headers["x-search-engine"] == engine, (z, x, y, params)
    if status == 204:
        assert resp.content == b""
        return []
    assert resp.headers["content-type"] == MVT
    layers = mapbox_vector_tile.decode(resp.content, default_options={"y_coord_down": True})
    assert set(layers) == {"projects"} and layers["projects"]["extent"] == EXTENT
    return layers["projects"]["features"]


def total(feats: list[dict]) -> int:
    return sum(f["properties"]["point_count"] if f["properties"]["cluster"] else 1 for f in feats)


async def test_demo_cities_are_pins_with_what_a_pin_needs(client, engine):
    from api.maintenance.demo import seed_demo

    await seed_demo()
    await indexed(engine)
    projects = {p["name"]: p for p in (await client.get(f"{SEARCH}/projects", params={"limit": 50})).json()}
    assert set(projects) == set(DEMO)
    for name, (lat, lon) in DEMO.items():
        z, x, y = tile_of(lat, lon, 14)
        [pin] = await features(client, z, x, y)
        hit = projects[name]
        open_roles = [r for r in hit["roles"] if not r["is_filled"]]
        assert pin["id"] == numeric_id(hit["id"]) < 2 ** 53
        props = pin["properties"]
        assert props == {"cluster": False, "project_id": hit["id"], "name": name, "type": hit["project_type"],
                         "open_roles": len(open_roles), "skills": props["skills"]}
        assert 1 <= len(props["skills"].split(",")) <= 3
        got_lat, got_lon = lonlat(z, x, y, *pin["geometry"]["coordinates"])
        assert abs(got_lat - lat) < 1e-3 and abs(got_lon - lon) < 1e-3, name
    # The whole world in one tile: every demo project; those sharing a zoom-2 cell (Lagos, Berlin, Mumbai) are
    # one cluster.
    world = await features(client, 0, 0, 0)
    assert total(world) == 5
    cells: dict = {}
    for name, point in DEMO.items():
        cells.setdefault(tile_of(*point, 2), []).append(name)
    [members] = [names for names in cells.values() if len(names) > 1]
    [cluster] = [f for f in world if f["properties"]["cluster"]]
    props = cluster["properties"]
    assert props["point_count"] == len(members) and props["point_count_abbreviated"] == str(len(members))
    assert cluster["id"] == props["cluster_id"] < 2 ** 53
    # It splits exactly at expansion_zoom: still whole just before, parted from there on.
    split = props["expansion_zoom"]
    assert 1 <= split <= 14
    for zoom in (split - 1, split):
        tiles = {tile_of(*DEMO[n], zoom) for n in members}
        counts = [f["properties"].get("point_count", 1) for t in tiles
                  for f in await features(client, *t, engine=engine if zoom > 6 else None)]
        assert (len(members) in counts) == (zoom < split), (zoom, counts)


async def test_clusters_match_the_clusters_endpoint_and_filters_change_them(client, engine):
    data = await seed(n_projects=150, rng_seed=5)
    await indexed(engine)
    shown = [p for p in data.projects if visible(p) and p["loc"]]
    for z in (0, 3, 6, 8, 11):
        for t in sorted({tile_of(*p["loc"], z) for p in shown}):
            feats = await features(client, *t, engine=engine if z > 6 else "postgis")
            expected = [p for p in shown if tile_of(*p["loc"], z) == t]
            assert total(feats) == len(expected), (t, feats)
            # The same cells, ids and counts as /search/projects/clusters over the tile (cells at zoom z+2).
            zz, x, y = t
            lat_n, lon_w = lonlat(zz, x, y, 0, 0)
            lat_s, lon_e = lonlat(zz, x, y, EXTENT, EXTENT)
            body = (await client.get(f"{SEARCH}/projects/clusters", params={
                "zoom": z, "bbox": f"{lon_w},{lat_s},{lon_e},{lat_n}"})).json()
            inside = {c["id"]: c["count"] for c in body["clusters"]
                      if tuple(int(v) for v in c["key"].split("/")[1:]) in
                      {(x * 4 + i, y * 4 + j) for i in range(4) for j in range(4)}}
            clusters = {f["id"]: f["properties"]["point_count"] for f in feats if f["properties"]["cluster"]}
            assert clusters == {k: n for k, n in inside.items() if n > 1}, t
            pins = {f["properties"]["project_id"] for f in feats if not f["properties"]["cluster"]}
            assert len(pins) == sum(n == 1 for n in inside.values())
    # Filters are the ones of /search/projects: a skill, a type, words, statuses.
    world = lambda params: features(client, 0, 0, 0, params, engine=engine)  # noqa: E731
    assert total(await world({"skill_id": 1})) == sum(1 in p["open_skill_ids"] for p in shown)
    assert total(await world({"skill_ids": [1, 2], "match": "all"})) == sum(
        {1, 2} <= set(p["open_skill_ids"]) for p in shown)
    assert total(await world({"project_type": ["series", "documentary"]})) == sum(
        p["project_type"] in ("series", "documentary") for p in shown)
    assert total(await world({"payment_type": "paid"})) == sum("paid" in p["payment_types"] for p in shown)
    assert total(await world({"status": ["completed", "dead"]})) == sum(
        p["status"] in ("completed", "dead") and p["loc"] is not None for p in data.projects)
    night = [p for p in shown if "night" in (p["name"] + " " + p["description"]).lower().split()]
    assert total(await world({"query": "night"})) == len(night) > 0
    # Zoomed in far enough, a tile carries the projects themselves.
    p = shown[0]
    pins = await features(client, *tile_of(*p["loc"], 16))
    assert p["id"] in {f["properties"]["project_id"] for f in pins}
    assert not any(f["properties"]["cluster"] for f in pins)


async def test_etag_304_and_a_tile_changes_when_a_project_in_it_changes(client, make_user):
    owner = await make_user(profile=True)
    project = await create_project(client, owner, latitude=48.8566, longitude=2.3522, city="Paris",
                                   country="France", state=None)
    other = await create_project(client, owner, name="Elsewhere", latitude=-33.8688, longitude=151.2093,
                                 city="Sydney", country="Australia", state=None)
    here, there = tile_of(48.8566, 2.3522, 15), tile_of(-33.8688, 151.2093, 15)
    url = f"{TILES}/projects/{here[0]}/{here[1]}/{here[2]}.mvt"
    first = await client.get(url)
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert etag.startswith('"') and "max-age" in first.headers["cache-control"]
    assert "public" in first.headers["cache-control"]
    again = await client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    far = await client.get(f"{TILES}/projects/{there[0]}/{there[1]}/{there[2]}.mvt")
    resp = await client.put(f"{API}/projects/{project['id']}", json={"name": "Paris, Renamed"}, headers=owner.headers)
    assert resp.status_code == 200, resp.text
    changed = await client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    [pin] = mapbox_vector_tile.decode(changed.content)["projects"]["features"]
    assert pin["properties"]["name"] == "Paris, Renamed"
    # A change elsewhere leaves this tile, and its ETag, alone; the renamed project's tile is not Sydney's.
    assert (await client.get(f"{TILES}/projects/{there[0]}/{there[1]}/{there[2]}.mvt",
                             headers={"If-None-Match": far.headers["etag"]})).status_code == 304
    assert other["id"] != project["id"]


async def test_an_empty_tile_is_204_and_bad_addresses_are_422_naming_the_field(client):
    resp = await client.get(f"{TILES}/projects/5/0/0.mvt")
    assert resp.status_code == 204 and resp.content == b"" and resp.headers["etag"]
    for path, field in (("23/0/0", "z"), ("2/4/0", "x"), ("2/0/4", "y"), ("2/-1/0", "x"), ("2/abc/0", "x"),
                        ("-1/0/0", "z")):
        assert_problem(await client.get(f"{TILES}/projects/{path}.mvt"), 422, field=field)
    assert_problem(await client.get(f"{TILES}/projects/2/0/0.mvt", params={"project_type": "opera"}), 422,
                   field="project_type.0")
    assert_problem(await client.get(f"{TILES}/projects.json", params={"skill_id": 0}), 422, field="skill_id")
    # A skill id past Postgres' integer answered 500 (found by the schema fuzz).
    assert_problem(await client.get(f"{TILES}/projects/2/0/0.mvt", params={"skill_id": 305554041144861589504}),
                   422, field="skill_ids")


async def test_tilejson_carries_the_filters_into_an_absolute_tile_url(client, make_user):
    owner = await make_user(profile=True)
    await create_project(client, owner, project_type="series")
    resp = await client.get(f"{TILES}/projects.json", params={"skill_id": 5, "project_type": ["series", "other"],
                                                             "limit": 3}, headers={"Host": "maps.example.org"})
    assert resp.status_code == 200, resp.text
    doc = resp.json()
    assert doc["tilejson"] == "3.0.0" and doc["scheme"] == "xyz"
    # Absolute, from the request's own base URL; the filters carried, anything else (limit) left behind.
    assert doc["tiles"] == [f"http://maps.example.org{TILES}/projects/{{z}}/{{x}}/{{y}}.mvt"
                            "?skill_id=5&project_type=series&project_type=other"]
    assert 0 == doc["minzoom"] < doc["maxzoom"] <= 22
    assert doc["bounds"][0] == -180 and doc["bounds"][2] == 180
    [layer] = doc["vector_layers"]
    assert layer["id"] == "projects" and {"point_count", "expansion_zoom", "project_id"} <= set(layer["fields"])
    # The template as MapLibre fills it: the filters apply.
    z, x, y = tile_of(34.0522, -118.2437, 15)
    url = doc["tiles"][0].replace("http://maps.example.org", "").format(z=z, x=x, y=y)
    [pin] = mapbox_vector_tile.decode((await client.get(url)).content)["projects"]["features"]
    assert pin["properties"]["type"] == "series"
    assert (await client.get(url.replace("skill_id=5", "skill_id=7"))).status_code == 204


async def test_the_default_map_at_low_zoom_reads_the_grid_refreshed_when_stale(client, make_user, monkeypatch,
                                                                              engine):
    """Zoom <= 6 without filters reads project_map_grid; it follows the data once older than MAP_GRID_MAX_AGE_S."""
    from api.kernel.settings import get_settings

    owner = await make_user(profile=True)
    monkeypatch.setattr(get_settings(), "map_grid_max_age_s", 0)
    await create_project(client, owner, latitude=35.68, longitude=139.69, city="Tokyo", country="Japan", state=None)
    z, x, y = tile_of(35.68, 139.69, 3)
    assert total(await features(client, z, x, y)) == 1
    monkeypatch.setattr(get_settings(), "map_grid_max_age_s", 3600)
    await create_project(client, owner, name="Second", latitude=35.70, longitude=139.70, city="Tokyo",
                         country="Japan", state=None)
    await indexed(engine)
    assert total(await features(client, z, x, y)) == 1  # the grid is younger than an hour: not refreshed
    assert total(await features(client, z, x, y, {"project_type": "short_film"}, engine=engine)) == 2  # filtered
    assert total(await features(client, 7, *tile_of(35.68, 139.69, 7)[1:], engine=engine)) == 2  # past zoom 6
    monkeypatch.setattr(get_settings(), "map_grid_max_age_s", 0)
    [cluster] = await features(client, z, x, y)
    assert cluster["properties"]["point_count"] == 2


async def test_tiles_are_documented(client):
    spec = (await client.get("/openapi.json")).json()
    op = spec["paths"][f"{TILES}/projects/{{z}}/{{x}}/{{y}}.mvt"]["get"]
    assert MVT in op["responses"]["200"]["content"] and "ETag" in op["responses"]["200"]["headers"]
    assert {"204", "304", "422", "503"} <= set(op["responses"])
    assert spec["paths"][f"{TILES}/projects.json"]["get"]["summary"]


async def test_a_dense_tile_past_zoom_14_carries_clusters(client, make_user, monkeypatch, engine):
    """Past zoom 14 a tile holds pins, unless it holds more than MAX_POINTS projects ("wherever points are
    dense"): clusters again, splitting one zoom further in."""
    from api.tiles import service

    owner = await make_user(profile=True)
    for i in range(3):
        await create_project(client, owner, name=f"Dense {i}", latitude=48.85 + i * 1e-4, longitude=2.35)
    await indexed(engine)
    z, x, y = tile_of(48.85, 2.35, 15)
    assert [f["properties"]["cluster"] for f in await features(client, z, x, y)] == [False] * 3
    monkeypatch.setattr(service, "MAX_POINTS", 2)
    feats = await features(client, z, x, y, engine=engine)
    assert total(feats) == 3 and any(f["properties"]["cluster"] for f in feats)
    assert all(f["properties"]["expansion_zoom"] == 16 for f in feats if f["properties"]["cluster"])


@pytest.mark.parametrize("z", [0, 2])
async def test_nothing_at_all_is_an_empty_tile(client, z):
    assert await features(client, z, 0, 0, status=204) == []
