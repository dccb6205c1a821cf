"""Saved-search matching in the indexer: the OpenSearch percolator and the PostGIS path find the same saved
searches for every changed project (parity), and the PostGIS-only configuration (OPENSEARCH_URL empty) still
alerts, end to end through a real worker."""
from __future__ import annotations

import uuid

import pytest

from tests.helpers.http import API
from tests.helpers.projects import create_project
from tests.helpers.search import CITIES, index_pending, reset_index, seed
from tests.helpers.waiting import eventually

pytestmark = pytest.mark.usefixtures("close_opensearch_client")
LA, NY, LONDON = CITIES["Los Angeles"], CITIES["New York"], CITIES["London"]

# A spread of saved searches: every filter of /search/projects, alone and combined, edges included.
FILTERS = [
    {},
    {"project_type": ["short_film"]},
    {"project_type": ["series", "documentary"], "payment_type": ["paid"]},
    {"skill_ids": [1, 2, 3]},
    {"skill_ids": [4, 5], "match": "all"},
    {"payment_type": ["unpaid", "negotiable"]},
    {"city": "london"},
    {"city": "New York", "project_type": ["commercial", "music_video"]},
    {"query": "night"},
    {"query": "cafe"},
    {"query": "river story"},
    {"status": ["completed", "shelved"]},
    {"status": ["active", "dead"], "skill_ids": [21]},
    {"latitude": LA[2], "longitude": LA[3], "max_distance_km": 30},
    {"latitude": LA[2], "longitude": LA[3], "max_distance_km": 60, "project_type": ["feature_film"]},
    {"latitude": NY[2], "longitude": NY[3], "max_distance_km": 45.5, "skill_ids": [12, 9]},
    {"latitude": LONDON[2], "longitude": LONDON[3]},
    {"latitude": LONDON[2], "longitude": LONDON[3], "max_distance_km": 20000},
    {"bbox": "-118.6,33.8,-118.0,34.3"},
    {"bbox": "-0.5,51.2,0.2,51.8", "payment_type": ["paid"]},
    {"bbox": "-74.5,40.4,-73.5,41.0", "latitude": NY[2], "longitude": NY[3], "max_distance_km": 25},
    {"latitude": 0.0, "longitude": 0.0, "max_distance_km": 100},
    {"fits_my_availability": True},
    {"fits_my_availability": True, "project_type": ["short_film", "series"], "skill_ids": [1, 5, 9]},
]


async def _empty_percolator() -> None:
    from indexer.client import get_client
    from indexer.percolator import alias, alias_targets

    import json

    client = get_client()
    if not await alias_targets(client):
        return
    res = await client.search(index=alias(), body={"size": 10000, "_source": False, "query": {"match_all": {}}})
    ids = [h["_id"] for h in res["hits"]["hits"]]
    if ids:
        body = "".join(json.dumps({"delete": {"_id": i}}) + "\n" for i in ids)
        await client.bulk(body=body, index=alias(), params={"refresh": "true"})


async def test_percolator_and_postgis_find_the_same_saved_searches(client, make_user, db):
    from api.saved_searches.service import postgis_matches
    from indexer.client import get_client
    from indexer.documents import load_docs
    from indexer.percolator import alias, percolate

    await reset_index()
    await _empty_percolator()  # saved searches of earlier tests (their rows are gone, their documents not)
    data = await seed(n_projects=90, n_profiles=20, rng_seed=17)
    person = await make_user(profile=True)  # in Los Angeles: "fits my availability" reaches 60 km from there
    resp = await client.put(f"{API}/profile/me/availability", headers=person.headers,
                            json={"willing_to_travel_km": 60, "unavailable": [{"start": "2026-01-01", "end": "2026-01-31"}]})
    assert resp.status_code == 200, resp.text
    saved = {}
    for i, filters in enumerate(FILTERS):
        resp = await client.post(f"{API}/saved-searches", json={"name": f"s{i}", "filters": filters},
                                 headers=person.headers)
        assert resp.status_code == 201, resp.text
        saved[resp.json()["id"]] = filters
    await index_pending()  # projects and saved searches, through the indexer's own sync path
    client_os = get_client()
    await client_os.indices.refresh(index=alias())
    docs = {d.id: d for d in await load_docs(db, "projects", [p["id"] for p in data.projects])}

    matched_pairs = 0
    for project in data.projects:
        doc = docs[project["id"]]
        if doc.source is None:  # archived: never percolated
            continue
        by_percolator = set(await percolate(client_os, doc.source))
        by_postgis = {str(i) for i in await postgis_matches(db, uuid.UUID(project["id"]))}
        assert by_percolator == by_postgis, (project, [saved[i] for i in by_percolator ^ by_postgis])
        matched_pairs += len(by_postgis)
    # Not a vacuous agreement: most searches match something, and no search matches everything.
    assert matched_pairs > 100
    hit = {i for project in data.projects if docs[project["id"]].source is not None
           for i in await percolate(client_os, docs[project["id"]].source)}
    assert len(hit) >= len(FILTERS) - 3


async def test_without_opensearch_a_matching_project_still_alerts(client, make_user, settings_env, start_worker):
    settings_env(OPENSEARCH_URL="")
    start_worker()  # inherits OPENSEARCH_URL="": the indexer hands changed projects to the SQL path
    watcher, owner = await make_user(profile=True), await make_user(profile=True)
    resp = await client.post(f"{API}/saved-searches", headers=watcher.headers, json={
        "name": "LA shorts", "filters": {"project_type": ["short_film"], "latitude": LA[2], "longitude": LA[3],
                                         "max_distance_km": 50}})
    assert resp.status_code == 201, resp.text
    near = await create_project(client, owner, name="Echo Park")
    far = await create_project(client, owner, name="Brooklyn", city="New York", latitude=NY[2], longitude=NY[3])

    async def alerted():
        resp = await client.get(f"{API}/notifications", headers=watcher.headers)
        return [n for n in resp.json() if n["kind"] == "saved_search_match"]

    notes = await eventually(alerted, timeout=30)
    assert [n["project_id"] for n in notes] == [near["id"]]

    async def drained():
        from tests.helpers.indexing import outbox_rows

        return not await outbox_rows()

    await eventually(drained, timeout=30)  # the far project was matched too, and found nothing
    assert [n["project_id"] for n in await alerted()] == [near["id"]] and far["id"]


async def test_filmo_reindex_rebuilds_the_percolator_index(client, make_user):
    from tests.helpers.indexing import ensure_aliases
    from tests.helpers.processes import cli

    from indexer.client import get_client
    from indexer.percolator import alias, alias_targets

    person = await make_user()
    ids = []
    for i in range(3):
        resp = await client.post(f"{API}/saved-searches", json={"name": f"s{i}", "filters": {"city": f"C{i}"}},
                                 headers=person.headers)
        ids.append(resp.json()["id"])
    await ensure_aliases()
    await index_pending()
    before = await alias_targets(get_client())
    done = cli("reindex", "saved_searches")
    assert done.returncode == 0, done.stderr
    assert "saved_searches: " in done.stdout
    after = await alias_targets(get_client())
    assert len(after) == 1 and after != before
    res = await get_client().search(index=alias(), body={"query": {"ids": {"values": ids}}, "size": 10})
    assert sorted(h["_id"] for h in res["hits"]["hits"]) == sorted(ids)


async def test_a_deleted_percolator_index_does_not_stall_project_indexing(client, make_user):
    """The percolator alias was remembered per process: once its index was gone (deleted by hand, or the
    cluster replaced), every batch of changed projects failed on the percolation after its write and stayed in
    the outbox for ever. Now the first failure forgets it, and the next pass recreates it."""
    from sqlalchemy import func, select

    from db.models import SearchOutbox
    from db.session import get_sessionmaker
    from indexer.client import get_client
    from indexer.percolator import alias, alias_targets
    from indexer.sync import IndexingFailed
    from tests.helpers.indexing import ensure_aliases

    owner = await make_user(profile=True)
    await ensure_aliases()
    await create_project(client, owner, name="Before")
    await index_pending()  # the percolator index exists and this process remembers it
    os_client = get_client()
    for index in await alias_targets(os_client):
        await os_client.indices.delete(index=index)

    await create_project(client, owner, name="After")
    with pytest.raises(IndexingFailed):
        await index_pending()  # the write went through; the percolation met the missing index
    await index_pending()  # recreated: nothing left behind
    async with get_sessionmaker()() as session:
        assert await session.scalar(select(func.count()).select_from(SearchOutbox)) == 0
    assert await alias_targets(os_client), alias()
