"""Projects over HTTP: create, read, edit (roles by id), archive, admin hand-over, my lists."""
from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import text

from tests.helpers.database import count_statements
from tests.helpers.http import API, assert_problem
from tests.helpers.projects import (ROLE_DP, ROLE_GAFFER, accept, add_member, apply, create_project, get_project,
                                    project_body)


async def test_create_and_read_project(client, make_user):
    owner = await make_user(profile=True)
    project = await create_project(client, owner)
    assert project["creator_id"] == str(owner.id)
    assert project["status"] == "active" and project["is_fully_staffed"] is False
    assert project["latitude"] == 34.0522 and project["longitude"] == -118.2437
    assert [r["role_title"] for r in project["roles"]] == ["Director of Photography", "Gaffer"]
    dp = project["roles"][0]
    assert dp["payment_amount"] == 500.0 and isinstance(dp["payment_amount"], float)
    assert dp["slots_filled"] == 0 and dp["is_filled"] is False
    assert sorted(project["open_skill_ids"]) == [5, 6]
    again = await get_project(client, project["id"])
    assert again == project


async def _outbox_rows(db, project_id) -> int:
    from sqlalchemy import func, select

    from db.models import SearchOutbox

    return await db.scalar(select(func.count()).select_from(SearchOutbox).where(
        SearchOutbox.entity == "project", SearchOutbox.entity_id == uuid.UUID(str(project_id))))


async def test_zero_coordinates_are_a_real_place_and_no_location_is_null(client, make_user):
    owner = await make_user(profile=True)
    gulf = await create_project(client, owner, latitude=0.0, longitude=0.0)
    assert gulf["latitude"] == 0.0 and gulf["longitude"] == 0.0
    nowhere = await create_project(client, owner, latitude=None, longitude=None, roles=[])
    assert nowhere["latitude"] is None and nowhere["longitude"] is None
    assert nowhere["roles"] == [] and nowhere["is_fully_staffed"] is False


async def test_money_is_exact_and_a_json_number(client, make_user, db):
    from db.models import ProjectRole

    owner = await make_user(profile=True)
    role = {**ROLE_DP, "payment_amount": 1234567.89}
    project = await create_project(client, owner, roles=[role])
    assert project["roles"][0]["payment_amount"] == 1234567.89
    stored = await db.get(ProjectRole, uuid.UUID(project["roles"][0]["id"]))
    assert stored.payment_amount == Decimal("1234567.89")


async def test_reading_projects(client, make_user):
    owner = await make_user(profile=True)
    project = await create_project(client, owner)
    resp = await client.get(f"{API}/projects/{project['id']}")  # anonymous: public details
    assert resp.status_code == 200 and resp.json()["id"] == project["id"]
    assert_problem(await client.get(f"{API}/projects/{uuid.uuid4()}"), 404)
    assert_problem(await client.get(f"{API}/projects/not-a-uuid"), 422, field="project_id")
    assert_problem(await client.post(f"{API}/projects/create", json=project_body()), 401)
    assert_problem(await client.get(f"{API}/projects/my/projects"), 401)
    assert_problem(await client.get(f"{API}/projects/my/memberships"), 401)


async def test_create_writes_the_search_outbox(client, make_user, db):
    owner = await make_user(profile=True)
    project = await create_project(client, owner)
    assert await _outbox_rows(db, project["id"]) == 1


BAD_CREATE = [
    ({"name": None}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"description": "x" * 10001}, "description"),
    ({"project_type": "blockbuster"}, "project_type"),
    ({"estimated_completion": "tomorrow"}, "estimated_completion"),
    ({"latitude": 91.0}, "latitude"),
    ({"longitude": -180.5}, "longitude"),
    ({"latitude": "north"}, "latitude"),
    ({"latitude": 10.0, "longitude": None}, None),
    ({"city": "x" * 121}, "city"),
    ({"roles": "DP"}, "roles"),
    ({"roles": [{**ROLE_DP, "slots_available": 0}]}, "roles.0.slots_available"),
    ({"roles": [{**ROLE_DP, "slots_available": 1001}]}, "roles.0.slots_available"),
    ({"roles": [{**ROLE_DP, "payment_amount": -1}]}, "roles.0.payment_amount"),
    ({"roles": [{**ROLE_DP, "payment_amount": 12.345}]}, "roles.0.payment_amount"),
    ({"roles": [{**ROLE_DP, "payment_amount": "NaN"}]}, "roles.0.payment_amount"),
    ({"roles": [{**ROLE_DP, "payment_amount": 1e13}]}, "roles.0.payment_amount"),
    ({"roles": [{**ROLE_DP, "payment_type": "free"}]}, "roles.0.payment_type"),
    ({"roles": [{**ROLE_DP, "payment_type": "unpaid", "payment_amount": 100}]}, "roles.0.payment_amount"),
    ({"roles": [{**ROLE_DP, "skill_id": 99999}]}, "roles.0.skill_id"),
    ({"roles": [{**ROLE_DP, "skill_id": 0}]}, "roles.0.skill_id"),
    ({"roles": [{k: v for k, v in ROLE_DP.items() if k != "role_title"}]}, "roles.0.role_title"),
    # Read-only fields sent back (slots_filled, status, creator_id, ...) are ignored (tests/api/test_round_trips.py);
    # a misspelt field is named.
    ({"roles": [{**ROLE_DP, "slots": 1}]}, "roles.0.slots"),
    ({"roles": [dict(ROLE_DP)] * 51}, "roles"),
    ({"stauts": "completed"}, "stauts"),
    ({"creator": str(uuid.uuid4())}, "creator"),
]


@pytest.mark.parametrize(("change", "field"), BAD_CREATE, ids=[f"create-{i}" for i in range(len(BAD_CREATE))])
async def test_create_bad_input(client, make_user, db, change, field):
    from sqlalchemy import func, select

    from db.models import Project

    owner = await make_user(profile=True)
    resp = await client.post(f"{API}/projects/create", json=project_body(**change), headers=owner.headers)
    assert_problem(resp, 422, field=field)
    assert await db.scalar(select(func.count()).select_from(Project)) == 0


async def test_create_rejects_a_body_that_is_not_json(client, make_user):
    owner = await make_user(profile=True)
    resp = await client.post(f"{API}/projects/create", content=b"name=x",
                             headers={**owner.headers, "Content-Type": "application/json"})
    assert_problem(resp, 422)


async def test_update_fields_bumps_activity_and_outbox(client, make_user, db):
    owner = await make_user(profile=True)
    project = await create_project(client, owner)
    resp = await client.put(f"{API}/projects/{project['id']}", headers=owner.headers, json={
        "name": "The Last Light (director's cut)", "description": None, "latitude": 0.0, "longitude": 51.5,
        "estimated_completion": "2031-06-30", "project_type": "feature_film"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["name"] == "The Last Light (director's cut)" and body["description"] is None
    assert (body["latitude"], body["longitude"]) == (0.0, 51.5) and body["estimated_completion"] == "2031-06-30"
    assert body["project_type"] == "feature_film" and body["roles"] == project["roles"]
    assert body["last_activity_at"] > project["last_activity_at"] and body["updated_at"] > project["updated_at"]
    assert await _outbox_rows(db, project["id"]) == 2
    resp = await client.put(f"{API}/projects/{project['id']}", headers=owner.headers,
                            json={"latitude": None, "longitude": None})
    assert resp.json()["latitude"] is None


async def test_role_edits_keep_history(client, make_user, db):
    from db.models import Application, ProjectRole

    owner = await make_user(profile=True)
    project = await create_project(client, owner)
    dp, gaffer = project["roles"]
    hopeful = await make_user(profile=True)
    pending = await apply(client, hopeful, gaffer["id"])

    resp = await client.put(f"{API}/projects/{project['id']}", headers=owner.headers, json={"roles": [
        {"id": dp["id"], "role_title": "DP / Camera Operator", "payment_amount": 750},
        {"skill_id": 9, "role_title": "Sound Mixer", "slots_available": 2, "payment_type": "negotiable"},
    ]})
    assert resp.status_code == 200, resp.text
    roles = resp.json()["roles"]
    assert [r["role_title"] for r in roles] == ["DP / Camera Operator", "Sound Mixer"]
    assert roles[0]["id"] == dp["id"] and roles[0]["payment_amount"] == 750.0
    assert roles[0]["payment_type"] == "paid" and roles[0]["description"] == dp["description"]  # untouched
    assert sorted(resp.json()["open_skill_ids"]) == [5, 9]

    # The gaffer role was removed softly: still in the database, its application closed (not deleted).
    stored = await db.get(ProjectRole, uuid.UUID(gaffer["id"]))
    assert stored.removed_at is not None
    closed = await db.get(Application, uuid.UUID(pending["id"]))
    assert closed.status.value == "rejected" and closed.status_reason == "role removed"
    resp = await client.get(f"{API}/applications/my-applications", headers=hopeful.headers)
    assert resp.json()[0]["status_reason"] == "role removed" and resp.json()[0]["role_title"] == "Gaffer"


async def test_a_role_with_members_cannot_be_removed_or_shrunk_below_them(client, make_user, db):
    owner = await make_user(profile=True)
    project = await create_project(client, owner, roles=[dict(ROLE_DP), {**ROLE_GAFFER, "slots_available": 3}])
    dp, gaffer = project["roles"]
    crew = [await make_user(profile=True) for _ in range(2)]
    for person in crew:
        await accept(client, owner, (await apply(client, person, gaffer["id"]))["id"])
    waiting = await make_user(profile=True)
    queued = await apply(client, waiting, gaffer["id"])

    resp = await client.put(f"{API}/projects/{project['id']}", headers=owner.headers,
                            json={"roles": [{"id": dp["id"]}], "name": "Renamed"})
    body = assert_problem(resp, 409, field="roles")
    assert "Gaffer" in body["detail"] and "accepted member" in body["detail"]
    resp = await client.put(f"{API}/projects/{project['id']}", headers=owner.headers,
                            json={"roles": [{"id": dp["id"]}, {"id": gaffer["id"], "slots_available": 1}]})
    assert "at least 2" in str(assert_problem(resp, 409, field="roles.1.slots_available")["errors"])
    unchanged = await get_project(client, project["id"])
    assert unchanged["name"] == project["name"] and len(unchanged["roles"]) == 2

    # Shrinking to exactly the members fills the role and closes its queue.
    resp = await client.put(f"{API}/projects/{project['id']}", headers=owner.headers,
                            json={"roles": [{"id": dp["id"]}, {"id": gaffer["id"], "slots_available": 2}]})
    assert resp.status_code == 200, resp.text
    assert resp.json()["roles"][1]["is_filled"] is True and resp.json()["open_skill_ids"] == [5]
    # The search copy of payment types follows the same rule: the filled (negotiable) gaffer role drops out.
    stored = (await db.execute(text("SELECT open_payment_types FROM projects WHERE id = :id"),
                               {"id": uuid.UUID(project["id"])})).scalar()
    assert stored == ["paid"]
    resp = await client.get(f"{API}/applications/my-applications", headers=waiting.headers)
    assert resp.json()[0]["id"] == queued["id"] and resp.json()[0]["status_reason"] == "role filled"

    # roles: [] removes every removable role; one with members stays (409 explains).
    assert_problem(await client.put(f"{API}/projects/{project['id']}", headers=owner.headers,
                                    json={"roles": []}), 409, field="roles")


async def test_role_edit_errors_name_the_role(client, make_user):
    owner = await make_user(profile=True)
    project = await create_project(client, owner)
    other = await create_project(client, owner)
    dp = project["roles"][0]
    url = f"{API}/projects/{project['id']}"
    cases = [
        ([{"id": dp["id"]}, {"id": dp["id"]}], "roles.1.id"),
        ([{"id": other["roles"][0]["id"]}], "roles.0.id"),
        ([{"id": str(uuid.uuid4())}], "roles.0.id"),
        ([{"role_title": "New"}], "roles.0"),
        ([{"id": dp["id"], "payment_type": "unpaid"}], "roles.0.payment_amount"),
        ([{"id": dp["id"], "skill_id": 99999}], "roles.0.skill_id"),
        ([{"id": dp["id"], "role_title": None}], "roles.0.role_title"),
        ([{"id": "nope"}], "roles.0.id"),
    ]
    for roles, field in cases:
        assert_problem(await client.put(url, json={"roles": roles}, headers=owner.headers), 422, field=field)
    assert (await get_project(client, project["id"]))["roles"] == project["roles"]


BAD_UPDATE = [
    ({"name": None}, "name"),
    ({"name": ""}, "name"),
    ({"project_type": None}, "project_type"),
    ({"status": None}, "status"),
    ({"status": "dead"}, "status"),
    ({"status": "sleeping"}, "status"),
    ({"roles": None}, "roles"),
    ({"latitude": 12.0}, None),
    ({"longitude": 200}, "longitude"),
    ({"estimated_completion": "2031-02-30"}, "estimated_completion"),
    ({"owner": "me"}, "owner"),
]


@pytest.mark.parametrize(("body", "field"), BAD_UPDATE, ids=[f"update-{i}" for i in range(len(BAD_UPDATE))])
async def test_update_bad_input(client, make_user, body, field):
    owner = await make_user(profile=True)
    project = await create_project(client, owner)
    resp = await client.put(f"{API}/projects/{project['id']}", json=body, headers=owner.headers)
    assert_problem(resp, 422, field=field)
    assert await get_project(client, project["id"]) == project


async def test_status_through_put(client, make_user):
    owner = await make_user(profile=True)
    project = await create_project(client, owner)
    resp = await client.put(f"{API}/projects/{project['id']}", json={"status": "completed"}, headers=owner.headers)
    assert resp.status_code == 200 and resp.json()["status"] == "completed"


async def test_delete_archives_and_keeps_history(client, make_user, db):
    from sqlalchemy import func, select

    from db.models import Application, ProjectRole

    owner = await make_user(profile=True)
    project = await create_project(client, owner)
    member = await add_member(client, make_user, owner, project)
    hopeful = await make_user(profile=True)
    await apply(client, hopeful, project["roles"][0]["id"])

    resp = await client.delete(f"{API}/projects/{project['id']}", headers=owner.headers)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"message": "Project archived", "project_id": project["id"], "old_status": "active",
                           "new_status": "disposed", "applications_closed": 1}
    mine = (await client.get(f"{API}/applications/my-applications", headers=hopeful.headers)).json()
    assert mine[0]["status"] == "rejected" and mine[0]["status_reason"] == "project disposed"
    assert await db.scalar(select(func.count()).select_from(ProjectRole)) == 2
    assert await db.scalar(select(func.count()).select_from(Application)) == 2

    assert (await get_project(client, project["id"], member))["status"] == "disposed"
    assert_problem(await client.get(f"{API}/projects/{project['id']}", headers=hopeful.headers), 404)
    assert_problem(await client.get(f"{API}/projects/{project['id']}"), 404)
    for method, url, body in (
            ("PUT", f"{API}/projects/{project['id']}", {"name": "again"}),
            ("DELETE", f"{API}/projects/{project['id']}", None),
            ("PUT", f"{API}/management/project/{project['id']}/status", {"status": "active"}),
            ("POST", f"{API}/management/project/{project['id']}/leave", None)):
        headers = member.headers if url.endswith("leave") else owner.headers
        resp = await client.request(method, url, json=body, headers=headers)
        assert "archived" in assert_problem(resp, 409)["detail"]
    assert await _outbox_rows(db, project["id"]) >= 2


async def test_transfer_admin_then_leave(client, make_user):
    owner = await make_user(profile=True)
    project = await create_project(client, owner)
    member = await add_member(client, make_user, owner, project)
    url = f"{API}/projects/{project['id']}/transfer"
    assert_problem(await client.post(url, json={"user_id": str(owner.id)}, headers=owner.headers), 422, field="user_id")
    outsider = await make_user(profile=True)
    assert_problem(await client.post(url, json={"user_id": str(outsider.id)}, headers=owner.headers), 422,
                   field="user_id")
    for bad, field in (({}, "user_id"), ({"user_id": "x"}, "user_id"), ({"user_id": str(member.id), "x": 1}, "x")):
        assert_problem(await client.post(url, json=bad, headers=owner.headers), 422, field=field)

    resp = await client.post(url, json={"user_id": str(member.id)}, headers=owner.headers)
    assert resp.status_code == 200, resp.text
    assert resp.json()["new_admin_id"] == str(member.id) and resp.json()["previous_admin_new_role"] == "parent"
    mine = (await client.get(f"{API}/projects/my/projects", headers=member.headers)).json()
    assert [p["id"] for p in mine] == [project["id"]]
    assert (await client.get(f"{API}/projects/my/projects", headers=owner.headers)).json() == []
    # The former admin is now a parent and may leave; the project stays with its new admin.
    resp = await client.post(f"{API}/management/project/{project['id']}/leave", headers=owner.headers)
    assert resp.status_code == 200, resp.text
    assert_problem(await client.put(f"{API}/projects/{project['id']}", json={"name": "x"}, headers=owner.headers), 403)


async def test_my_projects_and_memberships(client, make_user):
    owner = await make_user(profile=True)
    crew = await make_user(profile=True)
    created = [await create_project(client, owner, name=f"Project {i}") for i in range(3)]
    other_owner = await make_user(profile=True)
    elsewhere = await create_project(client, other_owner, name="Elsewhere")
    await accept(client, other_owner, (await apply(client, crew, elsewhere["roles"][1]["id"]))["id"])
    await accept(client, owner, (await apply(client, crew, created[0]["roles"][0]["id"]))["id"])

    resp = await client.get(f"{API}/projects/my/projects", headers=owner.headers)
    assert resp.headers["x-total-count"] == "3"
    assert [p["name"] for p in resp.json()] == ["Project 2", "Project 1", "Project 0"]
    resp = await client.get(f"{API}/projects/my/projects", params={"page": 2, "limit": 2}, headers=owner.headers)
    assert [p["name"] for p in resp.json()] == ["Project 0"]

    resp = await client.get(f"{API}/projects/my/memberships", headers=crew.headers)
    assert resp.status_code == 200 and resp.headers["x-total-count"] == "2"
    first, second = resp.json()
    assert first["name"] == "Project 0" and first["member_role"] == "child"
    assert first["member_role_title"] == "Director of Photography" and first["roles"][0]["slots_filled"] == 1
    assert second["name"] == "Elsewhere" and second["member_role_title"] == "Gaffer"
    owners_view = (await client.get(f"{API}/projects/my/memberships", headers=owner.headers)).json()
    assert {p["member_role"] for p in owners_view} == {"admin"} and len(owners_view) == 3
    assert (await client.get(f"{API}/projects/my/projects", headers=crew.headers)).json() == []
    assert_problem(await client.get(f"{API}/projects/my/projects", params={"limit": 500}, headers=owner.headers),
                   422, field="limit")


@pytest.mark.parametrize("path", ["my/projects", "my/memberships"])
async def test_my_lists_issue_a_constant_number_of_queries(client, make_user, path):
    owner = await make_user(profile=True)

    async def measure(expected: int) -> int:
        with count_statements() as statements:
            resp = await client.get(f"{API}/projects/{path}", headers=owner.headers)
        assert resp.status_code == 200 and len(resp.json()) == expected
        return len(statements)

    for _ in range(2):
        await create_project(client, owner)
    two = await measure(2)
    for _ in range(8):
        await create_project(client, owner)
    ten = await measure(10)
    assert 0 < two == ten, (two, ten)
