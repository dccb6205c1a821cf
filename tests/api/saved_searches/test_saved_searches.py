"""Saved searches through HTTP, their alerts through a real worker (indexer → percolator → alert job) and a real
Socket.IO server: a match alerts once (live and listed; its e-mail is the notifications' instant mail, tested in
tests/api/notifications), a duplicate does not, and never on a project the
person owns, belongs to or applied to, or one they cannot see (blocked, archived). The PostGIS-only
configuration alerts too."""
from __future__ import annotations

import asyncio

import pytest

from tests.helpers.http import API, assert_problem
from tests.helpers.processes import WorkerProcess
from tests.helpers.projects import apply, create_project
from tests.helpers.realtime import connect
from tests.helpers.waiting import eventually

pytestmark = pytest.mark.usefixtures("close_opensearch_client")
SAVED = f"{API}/saved-searches"
NOTES = f"{API}/notifications"
LA = {"latitude": 34.0522, "longitude": -118.2437}
NEAR_LA = {"city": "Pasadena", "latitude": 34.1478, "longitude": -118.1445}  # ~14 km from LA
NYC = {"city": "New York", "state": "New York", "latitude": 40.7128, "longitude": -74.0060}
QUIET_S = 3.0  # how long "nothing arrives" is watched (the alert path takes well under a second here)


@pytest.fixture(scope="module")
def worker():
    w = WorkerProcess()
    yield w
    w.stop()


async def _save(client, user, name="LA shorts", frequency="instant", **filters) -> dict:
    body = {"name": name, "frequency": frequency,
            "filters": filters or {"project_type": ["short_film"], **LA, "max_distance_km": 50}}
    resp = await client.post(SAVED, json=body, headers=user.headers)
    assert resp.status_code == 201, resp.text
    saved = resp.json()
    await _indexed(saved["id"])
    return saved


async def _percolator_doc(saved_search_id: str) -> dict | None:
    """The saved search's percolator document; None also while the fresh index is still starting (503)."""
    from opensearchpy.exceptions import TransportError

    from tests.helpers.indexing import os_doc

    try:
        return await os_doc("saved_searches", saved_search_id)
    except TransportError:
        return None


async def _indexed(saved_search_id: str) -> None:
    """The percolator holds the saved search (the worker indexes it from the outbox)."""
    from tests.helpers.indexing import outbox_rows

    async def check():
        return await _percolator_doc(saved_search_id)

    try:
        await eventually(check, timeout=45)
    except AssertionError:
        rows = [(r.entity, str(r.entity_id), r.attempts, r.last_error) for r in await outbox_rows()]
        raise AssertionError(f"saved search {saved_search_id} not in the percolator; outbox: {rows}") from None


async def _matches(client, user) -> list[dict]:
    resp = await client.get(NOTES, headers=user.headers, params={"limit": 100})
    assert resp.status_code == 200, resp.text
    return [n for n in resp.json() if n["kind"] == "saved_search_match"]


async def _alerted(client, user, project_id: str) -> dict:
    async def check():
        found = [n for n in await _matches(client, user) if n["project_id"] == project_id]
        return found[0] if found else None

    return await eventually(check, timeout=45)


async def _never(client, user, project_id: str) -> None:
    await asyncio.sleep(QUIET_S)
    assert [n for n in await _matches(client, user) if n["project_id"] == project_id] == []


async def _settled(project_id: str) -> None:
    """The worker has indexed (and so percolated) the project's latest change."""
    from tests.helpers.indexing import outbox_rows

    async def check():
        return not [r for r in await outbox_rows() if str(r.entity_id) == project_id]

    await eventually(check, timeout=45)


async def test_saved_search_crud_and_validation(client, make_user, worker):
    alice, bob = await make_user(), await make_user()
    saved = await _save(client, alice, name="Docs in Paris", frequency="daily",
                        project_type=["documentary"], bbox="2.22,48.81,2.47,48.90", skill_ids=[5, 6], match="all")
    assert saved["filters"]["bbox"] == "2.22,48.81,2.47,48.90" and saved["frequency"] == "daily"
    resp = await client.get(SAVED, headers=alice.headers)
    assert [s["id"] for s in resp.json()] == [saved["id"]] and resp.headers["x-total-count"] == "1"
    assert_problem(await client.get(f"{SAVED}/{saved['id']}", headers=bob.headers), 404)
    resp = await client.patch(f"{SAVED}/{saved['id']}", json={"name": "Paris docs", "frequency": "instant"},
                              headers=alice.headers)
    assert resp.status_code == 200 and resp.json()["name"] == "Paris docs" and resp.json()["frequency"] == "instant"
    assert resp.json()["filters"]["project_type"] == ["documentary"]

    bad = {"name": "x", "filters": {"max_distance_km": 10}}
    assert_problem(await client.post(SAVED, json=bad, headers=alice.headers), 422, field="filters.max_distance_km")
    bad = {"name": "x", "filters": {"bbox": "1,2,3"}}
    assert_problem(await client.post(SAVED, json=bad, headers=alice.headers), 422, field="filters.bbox")
    bad = {"name": "x", "filters": {"latitude": 10}}
    assert_problem(await client.post(SAVED, json=bad, headers=alice.headers), 422, field="filters.longitude")
    resp = await client.post(SAVED, json={"name": " ", "filters": {}}, headers=alice.headers)
    assert_problem(resp, 422)
    resp = await client.post(SAVED, json={"name": "x", "filters": {"sort": "newest"}}, headers=alice.headers)
    assert_problem(resp, 422)
    assert_problem(await client.post(SAVED, json={"name": "x", "filters": {}}), 401)

    assert (await client.delete(f"{SAVED}/{saved['id']}", headers=bob.headers)).status_code == 404
    assert (await client.delete(f"{SAVED}/{saved['id']}", headers=alice.headers)).status_code == 204
    from tests.helpers.indexing import outbox_rows

    async def gone():
        return not await outbox_rows() and await _percolator_doc(saved["id"]) is None

    await eventually(gone, timeout=20)


async def test_a_matching_project_alerts_once_live_and_listed(client, make_user, live_server, worker):
    watcher = await make_user(profile=True)
    owner = await make_user(profile=True)
    saved = await _save(client, watcher)
    socket = await connect(live_server.url, watcher.token)
    try:
        project = await create_project(client, owner, name="Sunset Boulevard Short", **NEAR_LA)
        pushed = await socket.wait_for("notification", lambda d: d["project_id"] == project["id"], timeout=20)
        assert pushed["kind"] == "saved_search_match" and "LA shorts" in pushed["title"]
        assert pushed["data"]["saved_search_ids"] == [saved["id"]]
        listed = await _alerted(client, watcher, project["id"])
        assert listed["id"] == pushed["id"]

        # A further change of the same project (still matching) never alerts again.
        resp = await client.put(f"{API}/projects/{project['id']}", json={"description": "Now with a crane"},
                                headers=owner.headers)
        assert resp.status_code == 200, resp.text
        await _settled(project["id"])
        other = await create_project(client, owner, name="New York Short", **NYC)  # too far: no alert
        await _settled(other["id"])
        await asyncio.sleep(1.0)
        assert [n["project_id"] for n in await _matches(client, watcher)] == [project["id"]]
        assert len(socket.of("notification")) == 1
    finally:
        await socket.close()


async def test_no_alert_for_own_joined_applied_blocked_or_archived_projects(client, make_user, worker):
    owner = await make_user(profile=True)
    applicant, member, blocked, control = [await make_user(profile=True) for _ in range(4)]
    project = await create_project(client, owner, name="Canyon Run", **NEAR_LA)
    await _settled(project["id"])
    application = await apply(client, applicant, project["roles"][0]["id"])
    joined = await apply(client, member, project["roles"][1]["id"])
    assert (await client.post(f"{API}/applications/accept/{joined['id']}", headers=owner.headers)).status_code == 200
    assert (await client.post(f"{API}/dm/block/{blocked.id}", headers=owner.headers)).status_code == 200
    for person in (applicant, member, blocked, control, owner):
        await _save(client, person)

    # The project changes (and still matches): everyone's saved search is checked against it.
    resp = await client.put(f"{API}/projects/{project['id']}", json={"description": "Second draft"},
                            headers=owner.headers)
    assert resp.status_code == 200, resp.text
    await _alerted(client, control, project["id"])  # the control: a stranger who may see it is told
    for person in (applicant, member, blocked, owner):
        assert [n for n in await _matches(client, person) if n["project_id"] == project["id"]] == []
    assert application["id"]

    # An archived project is out of the index: nobody is told, even a new watcher.
    late = await make_user(profile=True)
    await _save(client, late, status=["active", "completed", "shelved", "dead"], **LA, max_distance_km=50)
    assert (await client.delete(f"{API}/projects/{project['id']}", headers=owner.headers)).status_code == 200
    await _settled(project["id"])
    await _never(client, late, project["id"])


async def test_two_saved_searches_of_one_person_make_one_notification(client, make_user, worker):
    watcher, owner = await make_user(profile=True), await make_user(profile=True)
    first = await _save(client, watcher, name="Anything near LA", **LA, max_distance_km=100)
    second = await _save(client, watcher, name="Shorts", frequency="daily", project_type=["short_film"])
    project = await create_project(client, owner, **NEAR_LA)
    note = await _alerted(client, watcher, project["id"])
    assert sorted(note["data"]["saved_search_ids"]) == sorted([first["id"], second["id"]])
    await _settled(project["id"])
    assert len([n for n in await _matches(client, watcher) if n["project_id"] == project["id"]]) == 1


async def test_a_search_that_fits_my_availability_follows_it(client, make_user, worker):
    watcher, owner = await make_user(profile=True), await make_user(profile=True)  # both in Los Angeles
    resp = await client.put(f"{API}/profile/me/availability", headers=watcher.headers,
                            json={"willing_to_travel_km": 50, "unavailable": [{"start": "2026-06-12", "end": "2026-06-20"}]})
    assert resp.status_code == 200, resp.text

    async def with_days(name, days, **where):
        project = await create_project(client, owner, name=name, **where)
        resp = await client.put(f"{API}/projects/{project['id']}/shoot-dates", headers=owner.headers,
                                json={"shoot_dates": days})
        assert resp.status_code == 200, resp.text
        await _settled(project["id"])
        return project

    async def touch(project):
        resp = await client.put(f"{API}/projects/{project['id']}", json={"description": "Changed"},
                                headers=owner.headers)
        assert resp.status_code == 200, resp.text

    # Planned first (a project without dates fits anyone's days), then the search, then a change of each.
    clash = await with_days("Clashes", [{"start": "2026-06-10", "end": "2026-06-12"}], **NEAR_LA)
    fits = await with_days("Fits", [{"start": "2026-06-21", "end": "2026-06-22"}], **NEAR_LA)
    far = await with_days("Far", [{"start": "2026-06-21", "end": "2026-06-22"}], **NYC)
    saved = await _save(client, watcher, name="Fits me", fits_my_availability=True)
    assert saved["filters"]["fits_my_availability"] is True
    for p in (clash, fits, far):
        await touch(p)
    await _alerted(client, watcher, fits["id"])
    for p in (clash, far):
        await _settled(p["id"])
    assert {n["project_id"] for n in await _matches(client, watcher)} == {fits["id"]}

    # Free again on the 12th: the saved search follows (rewritten through the outbox), and the clashing
    # project alerts on its next change.
    resp = await client.put(f"{API}/profile/me/availability", headers=watcher.headers, json={"unavailable": []})
    assert resp.status_code == 200, resp.text

    async def rewritten():
        from tests.helpers.indexing import outbox_rows

        return not await outbox_rows()

    await eventually(rewritten, timeout=20)
    await touch(clash)
    await _alerted(client, watcher, clash["id"])


async def test_a_project_matching_many_people_tells_each_once_and_the_connected_first(client, make_user, live_server,
                                                                                      worker):
    """One INSERT and one pipelined push for all of a project's matches (api/notifications/service.notify_many):
    every person is stored and pushed once, and the person with a socket open is published first, so their
    alert does not wait behind the pushes to people who are not there (read on the Redis channel the Socket.IO
    servers listen to)."""
    import json

    import redis.asyncio as aioredis

    from api.kernel.settings import get_settings
    from realtime.publish import channel

    people = [await make_user(profile=True) for _ in range(12)]
    for person in people:
        await _save(client, person, frequency="daily")
    connected = max(people, key=lambda p: str(p.id))  # last in the order the rows are grouped in
    socket = await connect(live_server.url, connected.token)
    published: list[dict] = []
    redis = aioredis.from_url(get_settings().redis_url)
    pubsub = redis.pubsub()
    await pubsub.subscribe(channel())

    async def listen():
        async for message in pubsub.listen():
            if message["type"] == "message":
                data = json.loads(message["data"])
                if data.get("event") == "notification":
                    published.append(data)

    listener = asyncio.create_task(listen())
    try:
        owner = await make_user(profile=True)
        project = await create_project(client, owner, name="Crowded Short", **NEAR_LA)
        pushed = await socket.wait_for("notification", lambda d: d["project_id"] == project["id"], timeout=20)
        for person in people:
            note = await _alerted(client, person, project["id"])
            assert note["title"].startswith("New project for")
        await eventually(lambda: len([m for m in published if m["data"][0]["project_id"] == project["id"]])
                         >= len(people), timeout=10)
        ours = [m for m in published if m["data"][0]["project_id"] == project["id"]]
        assert sorted(m["room"] for m in ours) == sorted(f"user:{p.id}" for p in people)  # each once
        assert ours[0]["room"] == f"user:{connected.id}" and ours[0]["data"][0]["id"] == pushed["id"]
        await _settled(project["id"])
        assert len(socket.of("notification")) == 1
    finally:
        listener.cancel()
        await pubsub.aclose()
        await redis.aclose()
        await socket.close()
