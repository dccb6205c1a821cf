"""Team management over HTTP: status, promote/demote, members, removal, leaving, stats."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import update

from tests.helpers.database import count_statements
from tests.helpers.http import API, assert_problem
from tests.helpers.projects import add_member, apply, create_project, get_project


def _m(project, tail: str = "") -> str:
    return f"{API}/management/project/{project['id']}{tail}"


async def test_status_change(client, make_user, db):
    from db.models import Project

    owner = await make_user(profile=True)
    project = await create_project(client, owner)
    parent = await add_member(client, make_user, owner, project, member_role="parent")
    resp = await client.put(_m(project, "/status"), json={"status": "shelved"}, headers=parent.headers)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"message": "Project status updated", "project_id": project["id"], "old_status": "active",
                           "new_status": "shelved"}
    after = await get_project(client, project["id"])
    assert after["status"] == "shelved" and after["last_activity_at"] > project["last_activity_at"]
    assert "admins" in assert_problem(await client.put(_m(project, "/status"), json={"status": "disposed"},
                                                       headers=parent.headers), 403)["detail"]

    # A project the nightly job found dead comes back when someone sets it active.
    await db.execute(update(Project).where(Project.id == uuid.UUID(project["id"])).values(status="dead"))
    await db.commit()
    resp = await client.put(_m(project, "/status"), json={"status": "active"}, headers=owner.headers)
    assert resp.status_code == 200 and resp.json()["old_status"] == "dead"
    missing = await client.put(f"{API}/management/project/{uuid.uuid4()}/status", json={"status": "active"},
                               headers=owner.headers)
    assert_problem(missing, 404)


BAD_STATUS = [({}, "status"), ({"status": "dead"}, "status"), ({"status": "paused"}, "status"),
              ({"status": None}, "status"), ({"status": "active", "why": "x"}, "why"), ([], None)]


@pytest.mark.parametrize(("body", "field"), BAD_STATUS, ids=[f"status-{i}" for i in range(len(BAD_STATUS))])
async def test_status_bad_input(client, make_user, body, field):
    owner = await make_user(profile=True)
    project = await create_project(client, owner)
    assert_problem(await client.put(_m(project, "/status"), json=body, headers=owner.headers), 422, field=field)
    assert (await get_project(client, project["id"]))["status"] == "active"


async def test_promote_and_the_last_admin(client, make_user):
    owner = await make_user(profile=True)
    project = await create_project(client, owner)
    member = await add_member(client, make_user, owner, project)
    url = _m(project, f"/member/{member.id}/promote")
    resp = await client.put(url, json={"member_role": "parent"}, headers=owner.headers)
    assert resp.status_code == 200
    assert resp.json() == {"message": "Member role updated", "user_id": str(member.id), "old_role": "child",
                           "new_role": "parent"}
    me = _m(project, f"/member/{owner.id}/promote")
    assert "last admin" in assert_problem(await client.put(me, json={"member_role": "child"}, headers=owner.headers),
                                          409)["detail"]
    resp = await client.put(url, json={"member_role": "admin"}, headers=owner.headers)
    assert resp.status_code == 200
    # With two admins, either may step down, but never both.
    assert (await client.put(me, json={"member_role": "parent"}, headers=owner.headers)).status_code == 200
    assert_problem(await client.put(url, json={"member_role": "child"}, headers=member.headers), 409)
    outsider = await make_user(profile=True)
    assert_problem(await client.put(_m(project, f"/member/{outsider.id}/promote"), json={"member_role": "parent"},
                                    headers=member.headers), 404)


BAD_PROMOTE = [({}, "member_role"), ({"member_role": "owner"}, "member_role"), ({"member_role": None}, "member_role"),
               ({"member_role": "parent", "extra": True}, "extra"), ({"member_role": 1}, "member_role")]


@pytest.mark.parametrize(("body", "field"), BAD_PROMOTE, ids=[f"promote-{i}" for i in range(len(BAD_PROMOTE))])
async def test_promote_bad_input(client, make_user, body, field):
    owner = await make_user(profile=True)
    project = await create_project(client, owner)
    member = await add_member(client, make_user, owner, project)
    assert_problem(await client.put(_m(project, f"/member/{member.id}/promote"), json=body, headers=owner.headers),
                   422, field=field)
    assert_problem(await client.put(_m(project, "/member/not-a-uuid/promote"), json={"member_role": "parent"},
                                    headers=owner.headers), 422, field="user_id")


async def test_members_list(client, make_user):
    owner = await make_user(profile=True, name="Olive Owner")
    project = await create_project(client, owner)
    child = await add_member(client, make_user, owner, project, role_index=1, name="Carl Child",
                             profession="Gaffer", profile_photo_url="https://img.example.com/carl.jpg")
    parent = await add_member(client, make_user, owner, project, role_index=1, member_role="parent", name="Pat Parent")
    resp = await client.get(_m(project, "/members"), headers=child.headers)
    assert resp.status_code == 200 and resp.headers["x-total-count"] == "3"
    members = resp.json()
    assert [m["name"] for m in members] == ["Olive Owner", "Pat Parent", "Carl Child"]
    assert [m["member_role"] for m in members] == ["admin", "parent", "child"]
    assert members[0]["role_title"] is None and members[0]["role_id"] is None
    carl = members[2]
    assert carl == {"user_id": str(child.id), "name": "Carl Child", "profession": "Gaffer",
                    "profile_photo_url": "https://img.example.com/carl.jpg", "member_role": "child",
                    "role_id": project["roles"][1]["id"], "role_title": "Gaffer", "joined_at": carl["joined_at"]}
    resp = await client.get(_m(project, "/members"), params={"page": 2, "limit": 2}, headers=parent.headers)
    assert [m["name"] for m in resp.json()] == ["Carl Child"]
    assert_problem(await client.get(f"{API}/management/project/{uuid.uuid4()}/members", headers=owner.headers), 404)


async def test_members_list_issues_a_constant_number_of_queries(client, make_user):
    owner = await make_user(profile=True)
    project = await create_project(client, owner, roles=[
        {"skill_id": 7, "role_title": "Grip", "slots_available": 20, "payment_type": "unpaid"}])

    async def measure(expected: int) -> int:
        with count_statements() as statements:
            resp = await client.get(_m(project, "/members"), headers=owner.headers)
        assert resp.status_code == 200 and len(resp.json()) == expected
        return len(statements)

    await add_member(client, make_user, owner, project, role_index=0)
    two = await measure(2)
    for _ in range(8):
        await add_member(client, make_user, owner, project, role_index=0)
    ten = await measure(10)
    assert 0 < two == ten, (two, ten)


async def test_remove_member_frees_the_slot(client, make_user, db):
    owner = await make_user(profile=True)
    project = await create_project(client, owner)
    member = await add_member(client, make_user, owner, project, role_index=0)
    assert (await get_project(client, project["id"]))["roles"][0]["is_filled"] is True

    assert_problem(await client.delete(_m(project, f"/member/{owner.id}"), headers=owner.headers), 422, field="user_id")
    resp = await client.delete(_m(project, f"/member/{member.id}"), headers=owner.headers)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"message": "Member removed", "user_id": str(member.id), "role_freed":
                           "Director of Photography", "role_id": project["roles"][0]["id"]}
    after = await get_project(client, project["id"])
    assert after["roles"][0]["slots_filled"] == 0 and sorted(after["open_skill_ids"]) == [5, 6]
    assert_problem(await client.delete(_m(project, f"/member/{member.id}"), headers=owner.headers), 404)
    assert_problem(await client.get(_m(project, "/members"), headers=member.headers), 403)
    # History stays: the accepted application is still there, and the person may apply again.
    mine = (await client.get(f"{API}/applications/my-applications", headers=member.headers)).json()
    assert [a["status"] for a in mine] == ["accepted"]
    await apply(client, member, project["roles"][0]["id"])


async def test_leave_rules(client, make_user):
    owner = await make_user(profile=True)
    project = await create_project(client, owner)
    member = await add_member(client, make_user, owner, project)
    body = assert_problem(await client.post(_m(project, "/leave"), headers=owner.headers), 409)
    assert "only admin" in body["detail"] and "transfer" in body["detail"]
    resp = await client.post(_m(project, "/leave"), headers=member.headers)
    assert resp.status_code == 200
    assert resp.json() == {"message": "You left the project", "project_id": project["id"], "role_freed": "Gaffer"}
    assert_problem(await client.post(_m(project, "/leave"), headers=member.headers), 403)
    assert (await client.get(f"{API}/projects/my/memberships", headers=member.headers)).json() == []
    assert_problem(await client.post(f"{API}/management/project/{uuid.uuid4()}/leave", headers=member.headers), 404)


async def test_stats(client, make_user, db):
    from db.models import Message

    owner = await make_user(profile=True)
    project = await create_project(client, owner)  # DP (1 slot) + Gaffer (2 slots)
    child = await add_member(client, make_user, owner, project, role_index=0)
    await add_member(client, make_user, owner, project, role_index=1, member_role="parent")
    hopeful, other = await make_user(profile=True), await make_user(profile=True)
    await apply(client, hopeful, project["roles"][1]["id"])
    rejected = await apply(client, other, project["roles"][1]["id"])
    await client.post(f"{API}/applications/reject/{rejected['id']}", headers=owner.headers)
    pid = uuid.UUID(project["id"])
    db.add_all([Message(project_id=pid, sender_id=owner.id, content="hi"),
                Message(project_id=pid, sender_id=child.id, content="hello"),
                Message(project_id=pid, sender_id=child.id, content="gone", is_deleted=True)])
    await db.commit()

    resp = await client.get(_m(project, "/stats"), headers=child.headers)
    assert resp.status_code == 200, resp.text
    stats = resp.json()
    last = stats.pop("last_activity_at")
    assert stats == {
        "project_id": project["id"], "status": "active", "total_members": 3, "total_roles": 2, "total_slots": 3,
        "filled_slots": 2, "completion_percentage": 66.7, "message_count": 2, "pending_applications": 1,
        "members_by_role": {"admin": 1, "parent": 1, "child": 1},
        "applications_by_status": {"pending": 1, "accepted": 2, "rejected": 1, "withdrawn": 0}}
    assert datetime.fromisoformat(last) > datetime.now(timezone.utc) - timedelta(minutes=5)
    assert_problem(await client.get(f"{API}/management/project/{uuid.uuid4()}/stats", headers=owner.headers), 404)
