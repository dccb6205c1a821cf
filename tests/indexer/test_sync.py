"""Search sync: transactional outbox → Dramatiq worker → OpenSearch, with external versions.

Everything real: the HTTP API writes (outbox row in the same transaction), a real `filmo worker` process on the
real Redis broker, the run's own OpenSearch aliases.
"""
from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from sqlalchemy import func, select, text

from tests.helpers.indexing import ensure_aliases, os_doc, outbox_rows, row_version
from tests.helpers.processes import cli, free_port
from tests.helpers.projects import create_project
from tests.helpers.waiting import eventually

pytestmark = pytest.mark.usefixtures("close_opensearch_client")

# Every field of the project body (see tests/helpers/projects.py: project_body), so this is the body sent.
PROJECT = {
    "name": "The Silent Harbor", "description": "A drama about a fishing town", "project_type": "short_film",
    "city": "Los Angeles", "state": "California", "country": "United States",
    "latitude": 34.0522, "longitude": -118.2437,
    "roles": [
        {"skill_id": 18, "role_title": "Director of Photography", "slots_available": 1, "payment_type": "paid",
         "payment_amount": 1500},
        {"skill_id": 3, "role_title": "2nd AD", "slots_available": 2, "payment_type": "negotiable"},
    ],
}


def project_id_of(body: dict) -> str:
    return str(body.get("id") or body.get("project_id"))


# ---------------------------------------------------------------- create / update / delete reach the index


async def test_project_create_update_dispose_reach_the_index(client, make_user, start_worker):
    await ensure_aliases()
    start_worker()
    owner = await make_user(profile=True)
    project_id = project_id_of(await create_project(client, owner, **PROJECT))

    doc = await eventually(lambda: os_doc("projects", project_id), timeout=20)
    src = doc["_source"]
    assert doc["_version"] == await row_version("projects", project_id) == src["search_version"]
    assert src["name"] == "The Silent Harbor" and src["status"] == "active" and src["is_fully_staffed"] is False
    assert src["location"] == {"lat": 34.0522, "lon": -118.2437}
    assert src["skill_ids"] == [3, 18] and src["open_skill_ids"] == [3, 18]
    assert src["payment_types"] == ["negotiable", "paid"] and src["max_payment_amount"] == 1500
    assert [r["role_title"] for r in src["roles"]] == ["Director of Photography", "2nd AD"]
    assert src["roles"][0]["payment_amount"] == 1500 and src["roles"][1]["slots_available"] == 2
    assert src["creator_id"] == str(owner.id) and src["city"] == "Los Angeles"

    resp = await client.put(f"/api/v1/projects/{project_id}", headers=owner.headers,
                            json={"name": "The Loud Harbor", "latitude": None, "longitude": None})
    assert resp.status_code == 200, resp.text

    async def renamed():
        d = await os_doc("projects", project_id)
        return d if d and d["_source"]["name"] == "The Loud Harbor" else None

    doc2 = await eventually(renamed, timeout=20)
    assert doc2["_version"] > doc["_version"]
    assert "location" not in doc2["_source"]  # location removed → field absent

    resp = await client.delete(f"/api/v1/projects/{project_id}", headers=owner.headers)
    assert resp.status_code == 200, resp.text
    await eventually(lambda: _gone("projects", project_id), timeout=20)
    await eventually(lambda: _outbox_empty(), timeout=20)


async def _gone(kind: str, doc_id) -> bool:
    return await os_doc(kind, doc_id) is None


async def _outbox_empty() -> bool:
    return not await outbox_rows()


async def test_profile_create_update_and_deactivation_reach_the_index(client, make_user, start_worker):
    await ensure_aliases()
    start_worker()
    person = await make_user(profile={"name": "Ava Okafor", "skill_ids": [18, 3], "bio": "Cinematographer"})
    profile_id = person.profile["id"]

    doc = await eventually(lambda: os_doc("profiles", profile_id), timeout=20)
    src = doc["_source"]
    assert src["name"] == "Ava Okafor" and src["user_id"] == str(person.id) and src["skill_ids"] == [3, 18]
    assert sorted(s["id"] for s in src["skills"]) == [3, 18] and all(s["name"] for s in src["skills"])
    assert src["location"] == {"lat": 34.0522, "lon": -118.2437} and src["years_of_experience"] == 5

    resp = await client.put("/api/v1/profile/update", headers=person.headers,
                            json={"profession": "Gaffer", "skill_ids": [25]})
    assert resp.status_code == 200, resp.text

    async def updated():
        d = await os_doc("profiles", profile_id)
        return d if d and d["_source"].get("profession") == "Gaffer" else None

    doc2 = await eventually(updated, timeout=20)
    assert doc2["_source"]["skill_ids"] == [25] and doc2["_version"] > doc["_version"]

    # A deactivated account is no longer searchable: its document goes (the account service records the change).
    from db.models import User
    from db.session import unit_of_work
    from indexer.outbox import record_change

    async with unit_of_work() as session:
        user = await session.get(User, person.id)
        user.is_active = False
        await record_change(session, "profile", uuid.UUID(profile_id))
    await eventually(lambda: _gone("profiles", profile_id), timeout=20)


async def test_a_deleted_row_becomes_a_delete(client, make_user, start_worker):
    await ensure_aliases()
    start_worker()
    owner = await make_user(profile=True)
    project_id = project_id_of(await create_project(client, owner, **PROJECT))
    await eventually(lambda: os_doc("projects", project_id), timeout=20)

    from db.session import unit_of_work
    from indexer.outbox import record_change

    async with unit_of_work() as session:
        await record_change(session, "project", uuid.UUID(project_id))  # recorded, then the row goes
        await session.execute(text("DELETE FROM projects WHERE id = :id"), {"id": project_id})
    await eventually(lambda: _gone("projects", project_id), timeout=20)
    await eventually(_outbox_empty, timeout=20)


# ---------------------------------------------------------------- versions: a stale write never wins


async def test_stale_versions_lose(client, make_user, start_worker):
    from opensearchpy import ConflictError

    from indexer.bulk import write_docs
    from indexer.client import alias_name, get_client
    from indexer.documents import Doc

    await ensure_aliases()
    worker = start_worker()
    owner = await make_user(profile=True)
    project_id = project_id_of(await create_project(client, owner, **PROJECT))
    for name in ("Second Name", "Third Name"):
        resp = await client.put(f"/api/v1/projects/{project_id}", headers=owner.headers, json={"name": name})
        assert resp.status_code == 200

    async def latest():
        d = await os_doc("projects", project_id)
        return d if d and d["_source"]["name"] == "Third Name" else None

    doc = await eventually(latest, timeout=20)
    version = doc["_version"]
    assert version == await row_version("projects", project_id)

    # A delayed job carrying an older snapshot (version - 1): OpenSearch refuses it, the writer counts it as done.
    old = {**doc["_source"], "name": "Second Name", "search_version": version - 1}
    result = await write_docs(get_client(), alias_name("projects"), [Doc(project_id, version - 1, old)],
                              require_alias=True)
    assert result.conflicts == 1 and not result.failed
    try:
        await get_client().index(index=alias_name("projects"), id=project_id, body=old,
                                 params={"version": version - 1, "version_type": "external"})
        raise AssertionError("an older version replaced a newer document")
    except ConflictError:
        pass
    assert (await os_doc("projects", project_id))["_source"]["name"] == "Third Name"

    # Duplicated and out-of-order jobs: the same outbox ids again (rows already gone) change nothing.
    worker.stop()
    from indexer.tasks import index_outbox

    resp = await client.put(f"/api/v1/projects/{project_id}", headers=owner.headers, json={"name": "Fourth Name"})
    assert resp.status_code == 200
    pending = [row.id for row in await outbox_rows()]
    assert pending  # the change waits for a worker
    for ids in (pending, [1, 2, 3], pending, list(reversed(pending))):
        index_outbox.send(ids)
    start_worker()

    async def fourth():
        d = await os_doc("projects", project_id)
        return d if d and d["_source"]["name"] == "Fourth Name" else None

    doc4 = await eventually(fourth, timeout=20)
    await eventually(_outbox_empty, timeout=20)
    assert doc4["_version"] == await row_version("projects", project_id)


# ---------------------------------------------------------------- failures: nothing is lost


async def _failing_rows(min_attempts: int = 1) -> list:
    return [row for row in await outbox_rows() if row.attempts >= min_attempts]


async def test_opensearch_down_user_writes_succeed_backlog_waits_then_drains(client, make_user, start_worker):
    """A worker that cannot reach OpenSearch (its URL points at a closed port): writes succeed, rows stay with
    their attempts and errors visible in `filmo index status`; a healthy worker then drains everything."""
    await ensure_aliases()
    down = start_worker(extra_env={"OPENSEARCH_URL": f"http://127.0.0.1:{free_port()}"})
    owner = await make_user(profile=True)
    ids = [project_id_of(await create_project(client, owner, **dict(PROJECT, name=f"Offline {i}"))) for i in range(5)]
    resp = await client.put("/api/v1/profile/update", headers=owner.headers, json={"bio": "written while down"})
    assert resp.status_code == 200  # user writes never wait for the index

    rows = await eventually(lambda: _failing_rows(2), timeout=30)
    assert rows and all("ConnectionError" in (row.last_error or "") for row in rows)
    backlog = await outbox_rows()
    assert {str(row.entity_id) for row in backlog} >= set(ids) | {owner.profile["id"]}

    status = cli("index", "status", "--json", "--failing-after", "2")
    assert status.returncode == 0, status.stderr
    data = json.loads(status.stdout)
    assert data["outbox"]["backlog"] == len(backlog)
    assert data["outbox"]["failing"] >= 1 and data["outbox"]["oldest_age_s"] >= 0
    assert "ConnectionError" in data["outbox"]["failing_rows"][0]["last_error"]
    human = cli("index", "status", "--failing-after", "2")
    assert "outbox backlog" in human.stdout and "ConnectionError" in human.stdout

    # The relay run by the cut-off worker sees an unusable cluster and re-enqueues nothing.
    from indexer.tasks import relay_search_outbox

    relay_search_outbox.send()
    await asyncio.sleep(2)
    assert "relay paused" in down.log.read_text()
    for doc_id in ids:
        assert await os_doc("projects", doc_id) is None

    down.stop()
    start_worker()
    relay_search_outbox.send()  # the scheduler does this every 10 s; retries in backoff are picked up too
    for doc_id in ids:
        await eventually(lambda doc_id=doc_id: os_doc("projects", doc_id), timeout=60)

    async def profile_bio():
        d = await os_doc("profiles", owner.profile["id"])
        return d and d["_source"].get("bio") == "written while down"

    await eventually(profile_bio, timeout=60)
    await eventually(_outbox_empty, timeout=60)


async def test_worker_killed_mid_stream_loses_nothing(make_user, start_worker):
    """Changes stream in while the worker is SIGKILLed; a new worker + the relay index every one of them."""
    from db.models import Project
    from db.session import unit_of_work
    from indexer.outbox import record_change
    from indexer.tasks import relay_search_outbox

    await ensure_aliases()
    owner = await make_user()
    worker = start_worker()
    created: list[uuid.UUID] = []

    async def write(n: int) -> None:
        for i in range(n):
            async with unit_of_work() as session:
                project = Project(creator_id=owner.id, name=f"Stream {len(created)}", project_type="short_film",
                                  open_skill_ids=[])
                session.add(project)
                await session.flush()
                await record_change(session, "project", project.id)
                created.append(project.id)

    await write(60)
    worker.kill()  # mid-stream: some rows indexed, some in flight, some not yet picked up
    await write(60)
    assert len(await outbox_rows()) > 0
    start_worker()
    await asyncio.sleep(6)  # the relay only takes rows older than a few seconds
    relay_search_outbox.send()

    async def all_indexed() -> bool:
        for project_id in created:
            if await os_doc("projects", project_id) is None:
                return False
        return True

    await eventually(all_indexed, timeout=60, interval=0.5)
    await eventually(_outbox_empty, timeout=30)
    for project_id in created[:5]:
        assert (await os_doc("projects", project_id))["_version"] == await row_version("projects", project_id)


async def test_relay_reenqueues_rows_left_behind_when_redis_was_down(make_user, start_worker):
    """An outbox row whose enqueue never happened (Redis down at commit) is picked up by the relay."""
    from db.models import Project, SearchOutbox
    from db.session import unit_of_work
    from indexer.tasks import relay_search_outbox

    await ensure_aliases()
    owner = await make_user()
    async with unit_of_work() as session:
        project = Project(creator_id=owner.id, name="Left behind", project_type="documentary", open_skill_ids=[])
        session.add(project)
        await session.flush()
        # What record_change writes, without the after-commit enqueue: as if Redis had been down.
        await session.execute(text("UPDATE projects SET search_version = search_version + 1 WHERE id = :id"),
                              {"id": project.id})
        session.add(SearchOutbox(entity="project", entity_id=project.id))
    async with unit_of_work() as session:
        await session.execute(text("UPDATE search_outbox SET created_at = now() - interval '1 minute'"))
    start_worker()
    relay_search_outbox.send()
    doc = await eventually(lambda: os_doc("projects", project.id), timeout=30)
    assert doc["_source"]["name"] == "Left behind" and doc["_version"] == 2
    await eventually(_outbox_empty, timeout=20)

    from db.session import get_sessionmaker

    async with get_sessionmaker()() as session:
        assert (await session.scalar(select(func.count()).select_from(SearchOutbox))) == 0
