"""Search API on both engines: every parameter, sorting and cursors, facets, people privacy, clusters,
suggestions, recommendations and validation. Expected results are computed from the seeded rows.

The `engine` fixture runs a test once on OpenSearch (documents written by the indexer's own sync
path) and once on the PostGIS engine (OPENSEARCH_URL empty); every response must carry the header
of the engine that was meant to answer.
"""
from __future__ import annotations

import math
import re
import unicodedata
import uuid
from collections import Counter, defaultdict

import pytest

from tests.helpers.http import SEARCH
from tests.helpers.search import LA, answering, enveloped, index_pending, point, reset_index, seed, visible


def km(lat1, lon1, lat2, lon2) -> float:
    """Great-circle distance on the mean-radius sphere (independent of the product code)."""
    r = 6371.0087714
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(h))


def grid(value: float) -> float:
    return math.floor(value * 100 + 0.5) / 100


def words(s: str) -> set[str]:
    plain = unicodedata.normalize("NFKD", s.lower())
    return set(re.findall(r"\w+", "".join(c for c in plain if not unicodedata.combining(c))))


async def load(engine: str, **kwargs):
    data = await seed(**kwargs)
    if engine == "opensearch":
        await index_pending()
    return data


async def get(client, engine: str, path: str, params=None, **kw):
    resp = await client.get(SEARCH + path, params=enveloped(path, params), **kw)
    assert resp.status_code == 200, resp.text
    assert resp.headers["x-search-engine"] == answering(engine, path, params)
    return resp.json()


async def all_hits(client, engine, path, params, limit=7):
    """Follow next_cursor to the end; returns the concatenated hits."""
    hits, cursor, pages = [], None, 0
    while True:
        body = await get(client, engine, path, {**params, "limit": limit, **({"cursor": cursor} if cursor else {})})
        hits += body["results"]
        cursor = body["next_cursor"]
        pages += 1
        assert pages < 50
        if not cursor:
            return hits


# ------------------------------------------------------------------ projects


PROJECT_CASES = [
    ({}, lambda p: visible(p)),
    ({"status": ["completed", "dead"]}, lambda p: p["status"] in ("completed", "dead")),
    ({"status": "active"}, lambda p: p["status"] == "active"),
    ({"skill_ids": [1, 2]}, lambda p: visible(p) and {1, 2} & set(p["open_skill_ids"])),
    ({"skill_ids": [1, 2], "match": "all"}, lambda p: visible(p) and {1, 2} <= set(p["open_skill_ids"])),
    ({"skill_id": 3, "skill_ids": 4}, lambda p: visible(p) and {3, 4} & set(p["open_skill_ids"])),
    ({"payment_type": "paid"}, lambda p: visible(p) and "paid" in p["payment_types"]),
    ({"payment_type": ["paid", "unpaid"], "skill_id": 5},
     lambda p: visible(p) and {"paid", "unpaid"} & set(p["payment_types"]) and 5 in p["open_skill_ids"]),
    ({"city": "LOS angeles"}, lambda p: visible(p) and p["city"] == "Los Angeles"),
    ({"project_type": ["short_film", "series"]}, lambda p: visible(p) and p["project_type"] in ("short_film", "series")),
    ({"query": "night"}, lambda p: visible(p) and "night" in words(p["name"] + " " + p["description"])),
    ({"query": "cafe"}, lambda p: visible(p) and "cafe" in words(p["name"] + " " + p["description"])),
    ({"query": "SEÑOR"}, lambda p: visible(p) and "senor" in words(p["name"] + " " + p["description"])),
    ({"query": "Night, STORY!"},
     lambda p: visible(p) and {"night", "story"} <= words(p["name"] + " " + p["description"])),
    ({"latitude": LA[0], "longitude": LA[1], "max_distance_km": 50},
     lambda p: visible(p) and p["loc"] and km(*p["loc"], *LA) <= 50),
    ({"latitude": LA[0], "longitude": LA[1]}, lambda p: visible(p) and p["loc"]),
    ({"bbox": "-118.5,33.8,-118.0,34.4"},
     lambda p: visible(p) and p["loc"] and -118.5 <= p["loc"][1] <= -118.0 and 33.8 <= p["loc"][0] <= 34.4),
]


async def test_every_project_filter_matches_the_rows(client, engine):
    data = await load(engine)
    for params, keep in PROJECT_CASES:
        expected = [p for p in data.projects if keep(p)]
        body = await get(client, engine, "/projects", {**params, "limit": 100})
        assert body["total"] == len(expected), params
        assert sorted(h["id"] for h in body["results"]) == sorted(p["id"] for p in expected), params
        # Facets count the same filtered set.
        facets = body["facets"]
        assert {b["key"]: b["count"] for b in facets["project_types"]} == Counter(p["project_type"] for p in expected)
        assert {b["key"]: b["count"] for b in facets["cities"]} == Counter(p["city"] for p in expected)
        assert {b["key"]: b["count"] for b in facets["payment_types"]} == Counter(
            t for p in expected for t in p["payment_types"])
        assert {b["key"]: b["count"] for b in facets["skills"]} == Counter(
            s for p in expected for s in p["open_skill_ids"])
        assert all(b["name"] for b in facets["skills"])
    disposed = {p["id"] for p in data.projects if p["status"] == "disposed"}
    everything = await get(client, engine, "/projects", {"status": ["active", "completed", "shelved", "dead"],
                                                         "limit": 100})
    assert disposed and not disposed & {h["id"] for h in everything["results"]}


async def test_project_hits_keep_the_original_fields(client, engine):
    data = await load(engine)
    body = await get(client, engine, "/projects", {"latitude": LA[0], "longitude": LA[1], "max_distance_km": 80,
                                                   "limit": 100})
    assert body["results"]
    by_id = {p["id"]: p for p in data.projects}
    for hit in body["results"]:
        for key in ("id", "name", "description", "project_type", "city", "state", "country", "distance_km", "roles"):
            assert key in hit
        p = by_id[hit["id"]]
        assert hit["distance_km"] == pytest.approx(km(*p["loc"], *LA), abs=0.006)
        assert hit["latitude"] == pytest.approx(p["loc"][0]) and hit["longitude"] == pytest.approx(p["loc"][1])
        for role in hit["roles"]:
            assert set(role) >= {"id", "skill_id", "role_title", "slots_available", "slots_filled", "is_filled",
                                 "payment_type", "payment_amount"}
            assert role["is_filled"] == (role["slots_filled"] >= role["slots_available"])
    # Distance order, then id.
    keys = [(h["distance_km"], h["id"]) for h in body["results"]]
    assert [k[0] for k in keys] == sorted(k[0] for k in keys)
    assert body["sort"] == "distance"


async def test_sorts_and_cursor_pagination(client, engine):
    data = await load(engine)
    truth_distance = sorted((p for p in data.projects if visible(p) and p["loc"]),
                            key=lambda p: (km(*p["loc"], *LA), p["id"]))
    hits = await all_hits(client, engine, "/projects", {"latitude": LA[0], "longitude": LA[1], "sort": "distance"})
    assert [h["id"] for h in hits] == [p["id"] for p in truth_distance]

    def ms(p):
        return int(p["created_at"].timestamp() * 1000)

    truth_newest = sorted((p for p in data.projects if visible(p)), key=lambda p: (-ms(p), p["id"]))
    hits = await all_hits(client, engine, "/projects", {"sort": "newest"})
    assert [h["id"] for h in hits] == [p["id"] for p in truth_newest]
    # Offset pages give the same sequence.
    paged = []
    for page in (1, 2, 3):
        body = await get(client, engine, "/projects", {"sort": "newest", "page": page, "limit": 20})
        assert body["page"] == page
        paged += body["results"]
    assert [h["id"] for h in paged] == [p["id"] for p in truth_newest]
    # Relevance: the same set as the text filter.
    rel = await all_hits(client, engine, "/projects", {"query": "night"})
    assert {h["id"] for h in rel} == {p["id"] for p in data.projects
                                      if visible(p) and "night" in words(p["name"] + " " + p["description"])}


async def test_cursor_is_stable_while_data_changes(client, engine, db):
    from sqlalchemy import update

    from db.models import Project
    from db.session import unit_of_work
    from indexer.outbox import record_change

    data = await load(engine)
    params = {"latitude": LA[0], "longitude": LA[1], "sort": "distance", "limit": 5}
    first = await get(client, engine, "/projects", params)
    seen = [h["id"] for h in first["results"]]
    # Meanwhile: a new project right at the centre (would be first) and one already seen disappears.
    async with unit_of_work() as session:
        creator = data.users[0]
        new = Project(creator_id=creator, name="Brand New", description="fresh", project_type="short_film",
                      city="Los Angeles", location=point(LA[0] + 0.0001, LA[1]), open_skill_ids=[1])
        session.add(new)
        await session.flush()
        await record_change(session, "project", new.id)
        await session.execute(update(Project).where(Project.id == uuid.UUID(seen[1])).values(status="shelved"))
        await record_change(session, "project", uuid.UUID(seen[1]))
    if engine == "opensearch":
        await index_pending()
    second = await get(client, engine, "/projects", {**params, "cursor": first["next_cursor"]})
    truth = [p["id"] for p in sorted((p for p in data.projects if visible(p) and p["loc"]),
                                     key=lambda p: (km(*p["loc"], *LA), p["id"]))]
    # The second page continues right after the last hit of the first: nothing repeated, nothing skipped.
    assert [h["id"] for h in second["results"]] == truth[5:10]
    assert second["page"] is None


# ------------------------------------------------------------------ people


async def test_people_search_filters_and_privacy(client, engine):
    data = await load(engine)
    active = [p for p in data.profiles if p["active"]]
    cases = [
        ({}, lambda p: True),
        ({"name": "ana"}, lambda p: "ana" in words(p["name"])),
        ({"name": "CHLOE"}, lambda p: "chloe" in words(p["name"])),
        ({"name": "zoë"}, lambda p: "zoe" in words(p["name"])),
        ({"profession": "director photography"}, lambda p: {"director", "photography"} <= words(p["profession"])),
        ({"skill_ids": [1, 2]}, lambda p: {1, 2} & set(p["skill_ids"])),
        ({"skill_ids": [1, 2], "match": "all"}, lambda p: {1, 2} <= set(p["skill_ids"])),
        ({"skill_id": 3}, lambda p: 3 in p["skill_ids"]),
        ({"is_actor": "true"}, lambda p: p["is_actor"]),
        ({"is_actor": "false", "city": "london"}, lambda p: not p["is_actor"] and p["city"] == "London"),
        ({"min_experience": 5, "max_experience": 12}, lambda p: 5 <= p["years"] <= 12),
        ({"latitude": LA[0], "longitude": LA[1], "max_distance_km": 30},
         lambda p: p["loc"] and km(grid(p["loc"][0]), grid(p["loc"][1]), *LA) <= 30),
    ]
    for params, keep in cases:
        expected = [p for p in active if keep(p)]
        body = await get(client, engine, "/users", {**params, "limit": 100})
        assert body["total"] == len(expected), params
        assert sorted(h["id"] for h in body["results"]) == sorted(p["id"] for p in expected), params
        facets = body["facets"]
        assert {b["key"]: b["count"] for b in facets["cities"]} == Counter(p["city"] for p in expected)
        assert {b["key"]: b["count"] for b in facets["skills"]} == Counter(s for p in expected for s in p["skill_ids"])
        assert {b["key"]: b["count"] for b in facets["is_actor"]} == Counter(p["is_actor"] for p in expected)
        for hit in body["results"]:
            assert not {"latitude", "longitude", "location", "location_grid", "grid_lat", "grid_lon"} & set(hit)
            assert set(hit) >= {"id", "user_id", "name", "profession", "city", "state", "country", "distance_km",
                                "profile_photo_url", "skills"}
    # Distances: whole km from the ~1 km grid point, never below 1, in that order.
    body = await get(client, engine, "/users", {"latitude": LA[0], "longitude": LA[1], "limit": 100})
    by_id = {p["id"]: p for p in active}
    for hit in body["results"]:
        p = by_id[hit["id"]]
        assert hit["distance_km"] == max(1, round(km(grid(p["loc"][0]), grid(p["loc"][1]), *LA)))
    assert [h["distance_km"] for h in body["results"]] == sorted(h["distance_km"] for h in body["results"])


async def test_people_distance_hides_the_exact_point(client, engine, make_user):
    """Two people 300 m apart in one grid cell look identical from any centre; next door reads as 1 km."""
    if engine == "opensearch":
        await reset_index()
    base = (34.1012, -118.3013)
    a = await make_user(profile={"name": "Near One", "latitude": base[0], "longitude": base[1]})
    b = await make_user(profile={"name": "Near Two", "latitude": base[0] + 0.0027, "longitude": base[1]})
    if engine == "opensearch":
        await index_pending()
    for centre in [(base[0] + 0.001, base[1]), (base[0] - 0.2, base[1] + 0.1), (base[0] + 0.0031, base[1] - 0.004)]:
        body = await get(client, engine, "/users", {"latitude": centre[0], "longitude": centre[1],
                                                    "max_distance_km": 50})
        d = {h["user_id"]: h["distance_km"] for h in body["results"]}
        assert d[str(a.id)] == d[str(b.id)]
        assert isinstance(d[str(a.id)], int) and d[str(a.id)] >= 1
    close = await get(client, engine, "/users", {"latitude": base[0] + 0.0005, "longitude": base[1],
                                                 "max_distance_km": 1})
    assert {h["distance_km"] for h in close["results"]} == {1}


async def test_people_search_is_rate_limited(client, monkeypatch):
    from api.kernel.settings import get_settings

    monkeypatch.setattr(get_settings(), "search_users_per_minute", 3)
    for _ in range(3):
        assert (await client.get(f"{SEARCH}/users")).status_code == 200
    resp = await client.get(f"{SEARCH}/users", params={"latitude": 1, "longitude": 1})
    assert resp.status_code == 429
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert int(resp.headers["retry-after"]) >= 1


# ------------------------------------------------------------------ clusters


def tile(lat: float, lon: float, z: int) -> str:
    n = 2 ** z
    x = min(n - 1, max(0, math.floor((lon + 180) / 360 * n)))
    s = math.sin(math.radians(max(-85.0511287798066, min(85.0511287798066, lat))))
    y = min(n - 1, max(0, math.floor((0.5 - math.log((1 + s) / (1 - s)) / (4 * math.pi)) * n)))
    return f"{z}/{x}/{y}"


async def test_clusters_and_geojson(client, engine):
    data = await load(engine, n_projects=90)
    bbox = (-119.0, 33.3, -117.4, 34.8)
    zoom = 6
    inside = [p for p in data.projects if visible(p) and p["loc"] and bbox[0] <= p["loc"][1] <= bbox[2]
              and bbox[1] <= p["loc"][0] <= bbox[3]]
    groups = defaultdict(list)
    for p in inside:
        groups[tile(*p["loc"], zoom + 2)].append(p)
    body = await get(client, engine, "/projects/clusters", {"bbox": ",".join(map(str, bbox)), "zoom": zoom})
    assert body["total"] == len(inside) > 0
    assert {c["key"]: c["count"] for c in body["clusters"]} == {k: len(v) for k, v in groups.items()}
    for c in body["clusters"]:
        members = groups[c["key"]]
        assert c["centroid"]["lat"] == pytest.approx(sum(p["loc"][0] for p in members) / len(members), abs=1e-5)
        assert c["centroid"]["lon"] == pytest.approx(sum(p["loc"][1] for p in members) / len(members), abs=1e-5)
        assert c["bounds"]["min_lat"] == pytest.approx(min(p["loc"][0] for p in members), abs=1e-5)
        assert c["bounds"]["max_lon"] == pytest.approx(max(p["loc"][1] for p in members), abs=1e-5)
        if c["count"] <= 10:
            assert c["project_ids"] == sorted(p["id"] for p in members)
        else:
            assert c["project_ids"] is None
    # Filters apply to clusters too.
    skill = await get(client, engine, "/projects/clusters", {"bbox": ",".join(map(str, bbox)), "zoom": zoom,
                                                             "skill_id": 1})
    assert skill["total"] == len([p for p in inside if 1 in p["open_skill_ids"]])

    for kwargs in ({"params": {"bbox": ",".join(map(str, bbox)), "zoom": zoom, "format": "geojson"}},
                   {"params": {"bbox": ",".join(map(str, bbox)), "zoom": zoom},
                    "headers": {"Accept": "application/geo+json"}}):
        resp = await client.get(f"{SEARCH}/projects/clusters", **kwargs)
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("application/geo+json")
        assert resp.headers["x-search-engine"] == engine
        fc = resp.json()
        assert fc["type"] == "FeatureCollection"
        assert len(fc["features"]) == len(body["clusters"])
        for feature, cluster in zip(fc["features"], body["clusters"]):
            assert feature["type"] == "Feature" and feature["geometry"]["type"] == "Point"
            lon, lat = feature["geometry"]["coordinates"]  # RFC 7946: [lon, lat]
            assert (lat, lon) == (cluster["centroid"]["lat"], cluster["centroid"]["lon"])
            assert feature["bbox"] == [cluster["bounds"]["min_lon"], cluster["bounds"]["min_lat"],
                                       cluster["bounds"]["max_lon"], cluster["bounds"]["max_lat"]]
            assert feature["properties"]["count"] == cluster["count"]


# ------------------------------------------------------------------ suggestions


async def test_suggest_projects_skills_people(client, engine):
    data = await load(engine)
    body = await get(client, engine, "/suggest", {"q": "nig", "size": 20})
    expected = sorted((p for p in data.projects if visible(p) and any(w.startswith("nig") for w in words(p["name"]))),
                      key=lambda p: (p["name"].encode(), p["id"]))
    assert [h["id"] for h in body["projects"]] == [p["id"] for p in expected[:20]]
    two_words = await get(client, engine, "/suggest", {"q": "ana ki", "size": 20})
    expected_people = sorted((p for p in data.profiles if p["active"] and "ana" in words(p["name"])
                              and any(w.startswith("ki") for w in words(p["name"]))),
                             key=lambda p: (p["name"].encode(), p["id"]))
    assert [h["id"] for h in two_words["people"]] == [p["id"] for p in expected_people]
    assert all(set(h) == {"id", "user_id", "name", "profession", "profile_photo_url"} for h in two_words["people"])
    skills = await get(client, engine, "/suggest", {"q": "cast"})
    assert "Casting Director" in [s["name"] for s in skills["skills"]]
    typo = await get(client, engine, "/suggest", {"q": "Screenwrter"})
    assert "Screenwriter" in [s["name"] for s in typo["skills"]]


# ------------------------------------------------------------------ recommendations


async def test_recommended_ranks_by_overlap_and_distance(client, engine, make_user):
    from db.models import Project, ProjectRole
    from db.session import unit_of_work
    from indexer.outbox import record_change

    if engine == "opensearch":
        await reset_index()
    me = await make_user(profile={"name": "Me", "latitude": LA[0], "longitude": LA[1], "skill_ids": [1, 2, 3]})
    other = await make_user(profile=True)
    specs = {  # name: (north offset km, open skills, creator)
        "two-near": (5, [1, 2], other), "one-nearest": (1, [3], other), "two-far": (60, [1, 3], other),
        "none": (1, [7], other), "mine": (1, [1, 2], me), "out-of-range": (150, [1, 2, 3], other),
        "three-mid": (20, [1, 2, 3], other),
    }
    ids = {}
    async with unit_of_work() as session:
        for name, (north_km, skills, creator) in specs.items():
            p = Project(creator_id=creator.id, name=name, project_type="short_film", city="Los Angeles",
                        location=point(LA[0] + north_km / 111.2, LA[1]), open_skill_ids=sorted(skills),
                        open_payment_types=["paid"])
            session.add(p)
            await session.flush()
            for s in skills:
                session.add(ProjectRole(project_id=p.id, skill_id=s, role_title=f"r{s}", payment_type="paid"))
            await record_change(session, "project", p.id)
            ids[name] = str(p.id)
    if engine == "opensearch":
        await index_pending()
    body = await get(client, engine, "/projects/recommended", headers=me.headers)
    names = [next(n for n, i in ids.items() if i == h["id"]) for h in body["results"]]
    # score = shared skills x gauss(distance; scale 25 km, offset 2 km)
    assert names == ["three-mid", "two-near", "one-nearest", "two-far"]
    assert body["total"] == 4
    top = body["results"][0]
    assert {r["skill_id"] for r in top["matching_roles"]} == {1, 2, 3}
    assert top["score"] > body["results"][1]["score"] > 0
    wide = await get(client, engine, "/projects/recommended", {"max_distance_km": 200}, headers=me.headers)
    assert ids["out-of-range"] in {h["id"] for h in wide["results"]}

    assert (await client.get(f"{SEARCH}/projects/recommended")).status_code == 401
    stranger = await make_user()
    resp = await client.get(f"{SEARCH}/projects/recommended", headers=stranger.headers)
    assert resp.status_code == 404 and resp.headers["content-type"].startswith("application/problem+json")


# ------------------------------------------------------------------ validation


VALIDATION_CASES = [
    ("/projects", {"latitude": 91, "longitude": 0}, "latitude"),
    ("/projects", {"latitude": 0, "longitude": -181}, "longitude"),
    ("/projects", {"max_distance_km": 10}, "max_distance_km"),
    ("/projects", {"latitude": 10}, "longitude"),
    ("/projects", {"latitude": 1, "longitude": 1, "max_distance_km": -5}, "max_distance_km"),
    ("/projects", {"bbox": "5,20,10,10"}, "bbox"),
    ("/projects", {"bbox": "0,0,inf,1"}, "bbox"),
    ("/projects", {"bbox": "1,2,3"}, "bbox"),
    ("/projects", {"bbox": "a,b,c,d"}, "bbox"),
    ("/projects", {"bbox": "0,-95,1,1"}, "bbox"),
    ("/projects", {"sort": "cheapest"}, "sort"),
    ("/projects", {"sort": "distance"}, "sort"),
    ("/projects", {"sort": "relevance"}, "sort"),
    ("/projects", {"match": "some"}, "match"),
    ("/projects", {"project_type": "opera"}, "project_type"),
    ("/projects", {"payment_type": "barter"}, "payment_type"),
    ("/projects", {"status": "disposed"}, "status"),
    ("/projects", {"limit": 101}, "limit"),
    ("/projects", {"page": 0}, "page"),
    ("/projects", {"page": 200, "limit": 100}, "page"),
    ("/projects", {"cursor": "!!!not-a-cursor"}, "cursor"),
    ("/projects", {"cursor": "eyJrIjogWzFdfQ"}, "cursor"),
    ("/projects", {"skill_ids": "x"}, "skill_ids"),
    # Past Postgres' integer: the PostGIS engine (and the tiles) answered 500 binding it (found by the schema fuzz).
    ("/projects", {"skill_id": 305554041144861589504}, "skill_ids"),
    ("/projects", {"skill_ids": 2**31}, "skill_ids"),
    ("/projects/clusters", {"bbox": "0,0,1,1", "zoom": 3, "skill_id": 2**31}, "skill_ids"),
    ("/users", {"min_experience": 10, "max_experience": 2}, "max_experience"),
    ("/users", {"latitude": -91, "longitude": 0}, "latitude"),
    ("/users", {"max_distance_km": 5}, "max_distance_km"),
    ("/users", {"limit": 1000}, "limit"),
    ("/projects/clusters", {"zoom": 5}, "bbox"),
    ("/projects/clusters", {"bbox": "0,0,1,1"}, "zoom"),
    ("/projects/clusters", {"bbox": "0,0,1,1", "zoom": 30}, "zoom"),
    ("/projects/clusters", {"bbox": "0,0,1,1", "zoom": 3, "format": "kml"}, "format"),
    ("/projects/clusters", {"bbox": "0,5,1,1", "zoom": 3}, "bbox"),
    ("/suggest", {}, "q"),
    ("/suggest", {"q": "x" * 101}, "q"),
    ("/suggest", {"q": "  "}, "q"),
]


@pytest.mark.parametrize("path,params,field", VALIDATION_CASES)
async def test_bad_parameters_are_422_naming_the_parameter(client, path, params, field):
    resp = await client.get(SEARCH + path, params=params)
    assert resp.status_code == 422, (params, resp.text)
    assert resp.headers["content-type"].startswith("application/problem+json")
    fields = [e["field"].split(".")[0] for e in resp.json()["errors"]]
    assert field in fields, resp.json()
    assert "Traceback" not in resp.text and "SELECT" not in resp.text


async def test_default_shape_is_the_original_list_with_total_and_cursor_in_headers(client, engine):
    data = await load(engine)
    resp = await client.get(f"{SEARCH}/projects", params={"sort": "newest", "limit": 2})
    assert resp.status_code == 200, resp.text
    hits = resp.json()
    assert isinstance(hits, list) and len(hits) == 2
    # Every field the original's clients read is there, with its original type.
    for field in ("id", "name", "description", "project_type", "city", "state", "country", "distance_km", "roles"):
        assert field in hits[0]
    full = await get(client, engine, "/projects", {"sort": "newest", "limit": 2})
    assert [h["id"] for h in hits] == [h["id"] for h in full["results"]]
    assert int(resp.headers["x-total-count"]) == full["total"] == len([p for p in data.projects if visible(p)])
    nxt = await client.get(f"{SEARCH}/projects", params={"sort": "newest", "limit": 2,
                                                      "cursor": resp.headers["x-next-cursor"]})
    assert [h["id"] for h in nxt.json()] == [h["id"] for h in
                                              (await get(client, engine, "/projects",
                                                         {"sort": "newest", "limit": 2,
                                                          "cursor": full["next_cursor"]}))["results"]]
    people = await client.get(f"{SEARCH}/users")
    assert people.status_code == 200 and isinstance(people.json(), list)
    for field in ("id", "user_id", "name", "profession", "city", "state", "country", "distance_km",
                  "profile_photo_url", "skills"):
        assert all(field in hit for hit in people.json())


async def test_cursor_of_another_search_is_refused(client, engine):
    await load(engine)
    body = await get(client, engine, "/projects", {"sort": "newest", "limit": 3})
    resp = await client.get(f"{SEARCH}/projects", params={"sort": "newest", "limit": 3, "city": "London",
                                                       "cursor": body["next_cursor"]})
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "cursor"
    resp = await client.get(f"{SEARCH}/projects", params={"sort": "newest", "limit": 3, "page": 2,
                                                       "cursor": body["next_cursor"]})
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "page"


async def test_text_is_never_query_syntax_and_zero_is_a_coordinate(client, engine):
    data = await load(engine)
    for q in ['name:* OR 1=1', '"unbalanced', 'night) OR (', "' ; DROP TABLE projects; --", "*", "\\"]:
        body = await get(client, engine, "/projects", {"query": q})
        assert body["total"] <= len([p for p in data.projects if visible(p)])
        await get(client, engine, "/suggest", {"q": q})
        await get(client, engine, "/users", {"name": q, "profession": q})
    assert (await get(client, engine, "/projects", {"query": "name:*"}))["total"] == 0
    # Latitude/longitude 0.0 is the Gulf of Guinea, not "missing".
    body = await get(client, engine, "/projects", {"latitude": 0, "longitude": 0, "max_distance_km": 100})
    assert body["total"] == 0 and body["sort"] == "distance"
