"""`filmo reindex`, `filmo index status|verify|ensure` through the real CLI (subprocesses), on real services."""
from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid

import pytest
from sqlalchemy import text

from tests.helpers.indexing import ensure_aliases, os_doc, outbox_rows, row_version, seed_rows
from tests.helpers.processes import cli
from tests.helpers.run import REPO, RUN_ID
from tests.helpers.waiting import eventually

pytestmark = pytest.mark.usefixtures("close_opensearch_client")


def reindex_json(*args: str, env: dict | None = None) -> list[dict]:
    result = cli("reindex", *args, "--json", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


async def alias_targets(alias: str) -> list[str]:
    from opensearchpy import NotFoundError

    from indexer.client import get_client

    try:
        return sorted(await get_client().indices.get_alias(name=alias))
    except NotFoundError:
        return []


async def concrete(pattern: str) -> list[str]:
    from opensearchpy import NotFoundError

    from indexer.client import get_client

    try:
        return sorted(await get_client().indices.get(index=pattern))
    except NotFoundError:
        return []


async def test_first_reindex_creates_aliases_then_swaps_keeping_one_previous():
    await seed_rows(40, profiles=15)
    prefix = f"test_{RUN_ID}_fresh{uuid.uuid4().hex[:4]}_"  # a namespace with no alias yet
    env = {"OPENSEARCH_INDEX_PREFIX": prefix}

    first = reindex_json("all", env=env)
    assert [r["kind"] for r in first] == ["projects", "profiles"]
    assert first[0]["documents"] == first[0]["postgis_count"] == 40 and first[0]["previous"] == []
    assert first[1]["documents"] == 15
    assert await alias_targets(f"{prefix}projects") == [first[0]["index"]]
    from indexer.mappings import mapping_version

    assert first[0]["index"].startswith(f"{prefix}projects_v{mapping_version('projects')}_")

    second = reindex_json("projects", env=env)
    third = reindex_json("projects", "--batch-size", "50", env=env)
    assert second[0]["previous"] == [first[0]["index"]]
    assert third[0]["previous"] == [second[0]["index"]] and third[0]["deleted"] == [first[0]["index"]]
    # The alias points at the newest; exactly one previous index is kept for rollback.
    assert await alias_targets(f"{prefix}projects") == [third[0]["index"]]
    assert await concrete(f"{prefix}projects_v*") == sorted([second[0]["index"], third[0]["index"]])
    assert await alias_targets(f"{prefix}profiles") == [first[1]["index"]]

    # --if-needed (safe at every start): nothing to do while the indexes match, a rebuild once they do not.
    skipped = reindex_json("all", "--if-needed", env=env)
    assert [r.get("skipped") for r in skipped] == [True, True]
    await seed_rows(2)
    partial = reindex_json("all", "--if-needed", env=env)
    assert partial[0]["documents"] == 42 and partial[1]["skipped"] is True
    # Idempotent: the same data again gives the same counts.
    assert [r["documents"] for r in reindex_json("all", env=env)] == [42, 15]

    # The human output has the progress bar's summary line.
    human = cli("reindex", "profiles", env=env)
    assert human.returncode == 0 and "profiles: 15 documents" in human.stdout

    # `index ensure` on yet another empty namespace creates empty aliases (fresh install, first worker start).
    other = {"OPENSEARCH_INDEX_PREFIX": f"test_{RUN_ID}_ens{uuid.uuid4().hex[:4]}_"}
    result = cli("index", "ensure", env=other)
    assert result.returncode == 0 and "created" in result.stdout, result.stdout + result.stderr
    assert "all aliases exist" in cli("index", "ensure", env=other).stdout


async def test_reindex_under_concurrent_searches_and_writes(start_worker):
    """Searches against the alias in a loop see no error and no empty result across two swaps, while writes
    keep flowing through the outbox; afterwards the index matches PostGIS exactly."""
    from opensearchpy import OpenSearchException

    from db.models import Project
    from db.session import unit_of_work
    from indexer.client import alias_name, get_client
    from indexer.outbox import record_change

    owner = await seed_rows(3000)
    await ensure_aliases()
    reindex_json("projects")
    start_worker()
    alias = alias_name("projects")
    client = get_client()
    stop = asyncio.Event()
    searches = {"ok": 0, "errors": [], "empty": 0}
    query = {"size": 10, "query": {"bool": {"filter": [
        {"term": {"status": "active"}},
        {"geo_distance": {"distance": "50km", "location": {"lat": 34.05, "lon": -118.24}}}]}},
        "sort": [{"_geo_distance": {"location": {"lat": 34.05, "lon": -118.24}, "order": "asc"}}]}

    async def search_loop() -> None:
        while not stop.is_set():
            try:
                resp = await client.search(index=alias, body=query)
                if resp["hits"]["total"]["value"] == 0 or not resp["hits"]["hits"]:
                    searches["empty"] += 1
                else:
                    searches["ok"] += 1
            except OpenSearchException as exc:
                searches["errors"].append(repr(exc)[:200])
            await asyncio.sleep(0.01)

    written: list[uuid.UUID] = []

    async def write_loop() -> None:
        i = 0
        while not stop.is_set():
            async with unit_of_work() as session:
                if i % 3 == 0:  # a new project
                    project = Project(creator_id=owner, name=f"Written during reindex {i}",
                                      project_type="documentary", open_skill_ids=[5])
                    session.add(project)
                    await session.flush()
                    target = project.id
                    written.append(target)
                else:  # an edit or an archive of a seeded one
                    target = (await session.execute(text(
                        "SELECT id FROM projects WHERE status = 'active' ORDER BY md5(id::text || :i) LIMIT 1"),
                        {"i": str(i)})).scalar()
                    new_status = "disposed" if i % 3 == 2 else "active"
                    await session.execute(text("UPDATE projects SET name = :n, status = :s WHERE id = :id"),
                                          {"n": f"Edited {i}", "s": new_status, "id": target})
                await record_change(session, "project", target)
            i += 1
            await asyncio.sleep(0.02)

    tasks = [asyncio.create_task(search_loop()), asyncio.create_task(write_loop())]
    indexes = []
    try:
        for _ in range(2):
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "api.cli", "reindex", "projects", "--batch-size", "500", "--json", cwd=REPO,
                env=dict(os.environ), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            out, err = await proc.communicate()
            assert proc.returncode == 0, err.decode()[-2000:]
            indexes.append(json.loads(out)[0]["index"])
    finally:
        stop.set()
        await asyncio.gather(*tasks)

    assert searches["errors"] == [] and searches["empty"] == 0, searches
    assert searches["ok"] > 20
    assert await alias_targets(alias) == [indexes[-1]]
    assert len(written) > 5

    # Nothing written during the reindexes is lost: the worker drains, then verify finds no difference.
    async def drained() -> bool:
        return not await outbox_rows()

    await eventually(drained, timeout=60, interval=0.5)
    result = cli("index", "verify", "projects", "--json")
    report = json.loads(result.stdout)[0]
    assert result.returncode == 0 and report["ok"], report
    for project_id in written[-3:]:
        assert (await os_doc("projects", project_id))["_version"] == await row_version("projects", project_id)


async def test_verify_finds_missing_extra_and_stale_documents_and_repairs_them():
    from indexer.client import alias_name, get_client

    await seed_rows(30, profiles=5)
    await ensure_aliases()
    reindex_json("all")
    client = get_client()
    alias = alias_name("projects")
    from db.session import unit_of_work

    async with unit_of_work() as session:
        ids = [str(r[0]) for r in await session.execute(text("SELECT id FROM projects ORDER BY id LIMIT 3"))]
        missing, stale, archived = ids
        # stale: the row changed but its change never reached the index; archived: no longer searchable.
        await session.execute(text("UPDATE projects SET search_version = search_version + 1, name = 'Fresh name' "
                                   "WHERE id = :id"), {"id": stale})
        await session.execute(text("UPDATE projects SET status = 'disposed' WHERE id = :id"), {"id": archived})
    await client.delete(index=alias, id=missing)
    bogus = str(uuid.uuid4())
    await client.index(index=alias, id=bogus, body={"id": bogus, "name": "Ghost", "search_version": 1},
                       params={"version": 1, "version_type": "external"})

    result = cli("index", "verify", "projects", "--json")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)[0]
    assert report["missing"] == {"count": 1, "sample": [missing]}
    assert report["stale"] == {"count": 1, "sample": [stale]}
    assert report["extra"]["count"] == 2 and sorted(report["extra"]["sample"]) == sorted([bogus, archived])
    human = cli("index", "verify", "projects")
    assert "missing 1, extra 2, stale 1" in human.stdout and "DIFFERENCES" in human.stdout

    repaired = cli("index", "verify", "projects", "--repair", "--json")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert json.loads(repaired.stdout)[0]["ok"] is True
    assert cli("index", "verify", "all").returncode == 0
    assert await os_doc("projects", missing) is not None
    assert await os_doc("projects", bogus) is None and await os_doc("projects", archived) is None
    fresh = await os_doc("projects", stale)
    assert fresh["_source"]["name"] == "Fresh name" and fresh["_version"] == await row_version("projects", stale)


async def test_status_shows_aliases_counts_and_backlog():
    from db.models import SearchOutbox
    from db.session import unit_of_work

    await seed_rows(12, profiles=4)
    await ensure_aliases()
    first = reindex_json("projects")[0]
    second = reindex_json("projects")[0]
    async with unit_of_work() as session:  # a backlog nobody works on (no worker in this test)
        project_id = (await session.execute(text("SELECT id FROM projects LIMIT 1"))).scalar()
        session.add(SearchOutbox(entity="project", entity_id=project_id, attempts=4, last_error="TransportError: 503"))
    time.sleep(1)

    result = cli("index", "status", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    projects = next(e for e in data["indexes"] if e["kind"] == "projects")
    assert projects["index"] == second["index"] and projects["other_indexes"] == [first["index"]]
    assert projects["doc_count"] == projects["postgis_count"] == 12 and projects["reindex_needed"] is False
    assert data["outbox"]["backlog"] == 1 and data["outbox"]["oldest_age_s"] >= 1
    assert data["outbox"]["failing_rows"][0]["last_error"] == "TransportError: 503"
    human = cli("index", "status")
    assert second["index"] in human.stdout and "outbox backlog: 1" in human.stdout and "TransportError: 503" in human.stdout


async def test_rollback_points_the_alias_back_at_the_kept_index_and_catches_it_up():
    await seed_rows(projects=30)
    first = reindex_json("projects")[0]["index"]
    second = reindex_json("projects")[0]["index"]
    alias = f"{os.environ['OPENSEARCH_INDEX_PREFIX']}projects"
    assert await alias_targets(alias) == [second]

    # A change made while `second` serves must survive the rollback.
    from db.session import unit_of_work
    from indexer.outbox import record_change

    async with unit_of_work() as session:
        project = (await session.scalars(text("SELECT id FROM projects ORDER BY id LIMIT 1"))).first()
        await session.execute(text("UPDATE projects SET name = 'Renamed before rollback' WHERE id = :id"),
                              {"id": project})
        await record_change(session, "project", project)

    result = cli("index", "rollback", "projects", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)[0]
    assert report["index"] == first and report["replaced"] == [second]
    assert await alias_targets(alias) == [first]

    from indexer.client import get_client

    await get_client().indices.refresh(index=alias)
    doc = await get_client().get(index=alias, id=str(project))
    assert doc["_source"]["name"] == "Renamed before rollback"
    assert (await get_client().count(index=alias))["count"] == 30

    # With no kept profiles index (earlier tests of this run may have left one: drop it), there is nothing
    # to roll back to.
    profiles_alias = f"{os.environ['OPENSEARCH_INDEX_PREFIX']}profiles"
    serving = await alias_targets(profiles_alias)
    for index in await concrete(f"{profiles_alias}_v*"):
        if index not in serving:
            await get_client().indices.delete(index=index)
    result = cli("index", "rollback", "profiles")
    assert result.returncode != 0 and "nothing to roll back to" in result.stdout + result.stderr
