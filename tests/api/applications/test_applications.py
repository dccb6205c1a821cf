"""Applications over HTTP: apply rules, review, withdraw, slot filling (incl. 25 concurrent accepts), lists."""
from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from sqlalchemy import func, select

from tests.helpers.database import count_statements
from tests.helpers.http import API, assert_problem
from tests.helpers.projects import ROLE_DP, accept, apply, create_project, get_project
from tests.helpers.waiting import eventually


async def _my_applications(client, user, **params) -> list[dict]:
    resp = await client.get(f"{API}/applications/my-applications", params=params, headers=user.headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def test_apply_returns_the_original_shape(client, make_user):
    owner = await make_user(profile=True)
    project = await create_project(client, owner)
    applicant = await make_user(profile=True, name="Jane Applicant")
    app = await apply(client, applicant, project["roles"][0]["id"], cover_letter="  Ten years of DP work  ")
    assert app["project_id"] == project["id"] and app["project_name"] == project["name"]
    assert app["role_id"] == project["roles"][0]["id"] and app["role_title"] == "Director of Photography"
    assert app["applicant_id"] == str(applicant.id) and app["applicant_name"] == "Jane Applicant"
    assert app["cover_letter"] == "Ten years of DP work"
    assert app["status"] == "pending" and app["status_reason"] is None and app["reviewed_at"] is None
    uuid.UUID(app["id"])
    assert app["applied_at"]
    assert await _my_applications(client, applicant) == [app]
    # Applying counts as project activity.
    after = await get_project(client, project["id"])
    assert after["last_activity_at"] > project["last_activity_at"]


async def test_apply_rules(client, make_user):
    owner = await make_user(profile=True)
    project = await create_project(client, owner)
    dp, gaffer = project["roles"][0]["id"], project["roles"][1]["id"]

    no_profile = await make_user()
    resp = await client.post(f"{API}/applications/apply", json={"role_id": dp}, headers=no_profile.headers)
    assert "profile" in assert_problem(resp, 403)["detail"]

    resp = await client.post(f"{API}/applications/apply", json={"role_id": dp}, headers=owner.headers)
    assert "own project" in assert_problem(resp, 409)["detail"]

    person = await make_user(profile=True)
    first = await apply(client, person, dp)
    resp = await client.post(f"{API}/applications/apply", json={"role_id": dp}, headers=person.headers)
    assert "pending application" in assert_problem(resp, 409)["detail"]
    # One live application per role: another role of the same project is fine.
    await apply(client, person, gaffer)

    await accept(client, owner, first["id"])
    resp = await client.post(f"{API}/applications/apply", json={"role_id": gaffer}, headers=person.headers)
    assert "already a member" in assert_problem(resp, 409)["detail"]

    other = await make_user(profile=True)
    resp = await client.post(f"{API}/applications/apply", json={"role_id": dp}, headers=other.headers)
    assert "filled" in assert_problem(resp, 409)["detail"]

    resp = await client.post(f"{API}/applications/apply", json={"role_id": str(uuid.uuid4())}, headers=other.headers)
    assert_problem(resp, 404, field="role_id")

    resp = await client.put(f"{API}/management/project/{project['id']}/status", json={"status": "shelved"},
                            headers=owner.headers)
    assert resp.status_code == 200
    resp = await client.post(f"{API}/applications/apply", json={"role_id": gaffer}, headers=other.headers)
    assert "shelved" in assert_problem(resp, 409)["detail"]


async def test_applying_to_a_removed_role_is_refused(client, make_user):
    owner = await make_user(profile=True)
    project = await create_project(client, owner)
    keep = project["roles"][0]
    resp = await client.put(f"{API}/projects/{project['id']}", json={"roles": [{"id": keep["id"]}]},
                            headers=owner.headers)
    assert resp.status_code == 200, resp.text
    person = await make_user(profile=True)
    resp = await client.post(f"{API}/applications/apply", json={"role_id": project["roles"][1]["id"]},
                             headers=person.headers)
    assert "removed" in assert_problem(resp, 409)["detail"]


async def test_reject_with_reason_is_visible_to_the_applicant(client, make_user):
    owner = await make_user(profile=True)
    project = await create_project(client, owner)
    person = await make_user(profile=True)
    app = await apply(client, person, project["roles"][0]["id"])
    resp = await client.post(f"{API}/applications/reject/{app['id']}", json={"reason": "We went with a local DP"},
                             headers=owner.headers)
    assert resp.status_code == 200 and resp.json() == {"message": "Application rejected", "application_id": app["id"]}
    [mine] = await _my_applications(client, person)
    assert mine["status"] == "rejected" and mine["status_reason"] == "We went with a local DP"
    assert mine["reviewed_at"] is not None
    resp = await client.post(f"{API}/applications/reject/{app['id']}", headers=owner.headers)
    assert "already rejected" in assert_problem(resp, 409)["detail"]
    resp = await client.post(f"{API}/applications/accept/{app['id']}", headers=owner.headers)
    assert_problem(resp, 409)
    # A closed application does not block a new one.
    again = await apply(client, person, project["roles"][0]["id"])
    resp = await client.post(f"{API}/applications/reject/{again['id']}", headers=owner.headers)  # no body at all
    assert resp.status_code == 200
    assert (await _my_applications(client, person))[0]["status_reason"] is None


async def test_withdraw_then_apply_again(client, make_user):
    owner = await make_user(profile=True)
    project = await create_project(client, owner)
    person = await make_user(profile=True)
    app = await apply(client, person, project["roles"][0]["id"])
    resp = await client.post(f"{API}/applications/withdraw/{app['id']}", headers=person.headers)
    assert resp.status_code == 200 and resp.json()["application_id"] == app["id"]
    [mine] = await _my_applications(client, person)
    assert mine["status"] == "withdrawn"
    resp = await client.post(f"{API}/applications/withdraw/{app['id']}", headers=person.headers)
    assert "already withdrawn" in assert_problem(resp, 409)["detail"]
    resp = await client.post(f"{API}/applications/accept/{app['id']}", headers=owner.headers)
    assert_problem(resp, 409)
    await apply(client, person, project["roles"][0]["id"])
    resp = await client.post(f"{API}/applications/withdraw/{uuid.uuid4()}", headers=person.headers)
    assert_problem(resp, 404)


async def test_accept_fills_the_role_and_closes_the_queue(client, make_user):
    owner = await make_user(profile=True)
    project = await create_project(client, owner)
    dp, gaffer = project["roles"][0]["id"], project["roles"][1]["id"]
    winner, loser = await make_user(profile=True), await make_user(profile=True)
    won = await apply(client, winner, dp)
    also = await apply(client, winner, gaffer)  # closed once the winner is a member
    lost = await apply(client, loser, dp)

    result = await accept(client, owner, won["id"])
    assert result["message"] and result["application_id"] == won["id"] and result["role_filled"] is True
    assert result["user_id"] == str(winner.id) and result["applications_closed"] == 2
    uuid.UUID(result["member_id"])

    [mine] = await _my_applications(client, loser)
    assert mine["id"] == lost["id"] and mine["status"] == "rejected" and mine["status_reason"] == "role filled"
    by_id = {a["id"]: a for a in await _my_applications(client, winner)}
    assert by_id[won["id"]]["status"] == "accepted"
    assert by_id[also["id"]]["status"] == "rejected" and "another role" in by_id[also["id"]]["status_reason"]

    after = await get_project(client, project["id"])
    assert after["roles"][0]["slots_filled"] == 1 and after["roles"][0]["is_filled"] is True
    assert after["open_skill_ids"] == [6] and after["is_fully_staffed"] is False

    # Fill the gaffer role (2 slots): the project becomes fully staffed; leaving reopens it.
    crew = [await make_user(profile=True) for _ in range(2)]
    for person in crew:
        await accept(client, owner, (await apply(client, person, gaffer))["id"])
    staffed = await get_project(client, project["id"])
    assert staffed["is_fully_staffed"] is True and staffed["open_skill_ids"] == []

    resp = await client.post(f"{API}/management/project/{project['id']}/leave", headers=crew[0].headers)
    assert resp.status_code == 200 and resp.json()["role_freed"] == "Gaffer"
    reopened = await get_project(client, project["id"])
    assert reopened["is_fully_staffed"] is False and reopened["open_skill_ids"] == [6]
    assert reopened["roles"][1]["slots_filled"] == 1
    # ... and the person who left may apply again.
    await apply(client, crew[0], gaffer)


async def test_accept_needs_an_active_project(client, make_user):
    owner = await make_user(profile=True)
    project = await create_project(client, owner)
    person = await make_user(profile=True)
    app = await apply(client, person, project["roles"][0]["id"])
    resp = await client.put(f"{API}/management/project/{project['id']}/status", json={"status": "completed"},
                            headers=owner.headers)
    assert resp.status_code == 200
    resp = await client.post(f"{API}/applications/accept/{app['id']}", headers=owner.headers)
    assert "completed" in assert_problem(resp, 409)["detail"]
    resp = await client.put(f"{API}/management/project/{project['id']}/status", json={"status": "active"},
                            headers=owner.headers)
    await accept(client, owner, app["id"])


async def test_concurrent_accepts_for_the_last_slot_yield_exactly_one_member(app, client, make_user, db):
    """25 separate HTTP requests at once, each in its own session and transaction, on the real database."""
    from db.models import Application, ProjectMember, ProjectRole

    owner = await make_user(profile=True)
    project = await create_project(client, owner, roles=[dict(ROLE_DP)])
    role_id = project["roles"][0]["id"]
    applicants = [await make_user(profile=True) for _ in range(25)]
    applications = [await apply(client, person, role_id) for person in applicants]

    # Count requests in flight, and hold the role row locked until all of them are in, so they all
    # contend for the slot at the same moment.
    in_flight, peak = 0, 0

    async def counting(scope, receive, send):
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            await app(scope, receive, send)
        finally:
            in_flight -= 1

    await db.execute(select(ProjectRole.id).where(ProjectRole.id == uuid.UUID(role_id)).with_for_update())
    transport = httpx.ASGITransport(app=counting, client=("127.0.0.1", 40001))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as parallel:
        pending = asyncio.ensure_future(asyncio.gather(*(
            parallel.post(f"{API}/applications/accept/{a['id']}", headers=owner.headers) for a in applications)))
        await eventually(lambda: peak == 25)
        await asyncio.sleep(0.5)
        await db.rollback()  # release the role row
        responses = await pending
    assert peak == 25
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [409] * 24, codes
    for resp in responses:
        if resp.status_code == 409:
            assert_problem(resp, 409)

    members = (await db.execute(select(ProjectMember.user_id).where(ProjectMember.role_id == uuid.UUID(role_id)))).all()
    role = await db.get(ProjectRole, uuid.UUID(role_id))
    assert len(members) == 1 and role.slots_filled == 1 == role.slots_available
    statuses = dict((await db.execute(select(Application.status, func.count())
                                      .where(Application.role_id == role.id).group_by(Application.status))).all())
    assert {k.value: v for k, v in statuses.items()} == {"accepted": 1, "rejected": 24}
    winner = next(r.json() for r in responses if r.status_code == 200)
    assert members[0].user_id == uuid.UUID(winner["user_id"])
    after = await get_project(client, project["id"])
    assert after["is_fully_staffed"] is True and after["roles"][0]["slots_filled"] == 1


async def test_concurrent_accepts_across_roles_keep_counters_and_staffing_consistent(client, make_user, db):
    """Accepts for different roles of one project at once: every slot counter equals its members."""
    from db.models import Project, ProjectMember, ProjectRole

    owner = await make_user(profile=True)
    roles = [{"skill_id": 10 + i, "role_title": f"Role {i}", "slots_available": 2, "payment_type": "unpaid"}
             for i in range(4)]
    project = await create_project(client, owner, roles=roles)
    applications = []
    for role in project["roles"]:
        for _ in range(3):
            applications.append(await apply(client, await make_user(profile=True), role["id"]))
    responses = await asyncio.gather(*(
        client.post(f"{API}/applications/accept/{a['id']}", headers=owner.headers) for a in applications))
    assert sorted(r.status_code for r in responses) == [200] * 8 + [409] * 4
    counts = dict((await db.execute(select(ProjectMember.role_id, func.count()).where(
        ProjectMember.role_id.is_not(None)).group_by(ProjectMember.role_id))).all())
    for role in (await db.scalars(select(ProjectRole))).all():
        assert role.slots_filled == counts[role.id] == 2
    stored = await db.get(Project, uuid.UUID(project["id"]))
    assert stored.is_fully_staffed is True and stored.open_skill_ids == []


async def test_project_applications_list_filters_and_pages(client, make_user):
    owner = await make_user(profile=True)
    project = await create_project(client, owner)
    people = [await make_user(profile=True, name=f"Person {i}") for i in range(5)]
    apps = [await apply(client, p, project["roles"][1]["id"]) for p in people]
    await client.post(f"{API}/applications/reject/{apps[0]['id']}", headers=owner.headers)

    resp = await client.get(f"{API}/applications/project/{project['id']}", headers=owner.headers)
    assert resp.status_code == 200 and resp.headers["x-total-count"] == "5"
    listed = resp.json()
    assert [a["id"] for a in listed] == [a["id"] for a in reversed(apps)]  # newest first
    resp = await client.get(f"{API}/applications/project/{project['id']}", params={"status": "pending", "limit": 2,
                                                                                    "page": 2},
                            headers=owner.headers)
    assert resp.headers["x-total-count"] == "4"
    assert [a["id"] for a in resp.json()] == [apps[2]["id"], apps[1]["id"]]
    resp = await client.get(f"{API}/applications/project/{project['id']}", params={"page": 9}, headers=owner.headers)
    assert resp.json() == []
    resp = await client.get(f"{API}/applications/project/{uuid.uuid4()}", headers=owner.headers)
    assert_problem(resp, 404)
    for params, field in (({"status": "maybe"}, "status"), ({"limit": 0}, "limit"), ({"limit": 101}, "limit"),
                          ({"page": 0}, "page"), ({"page": "x"}, "page")):
        resp = await client.get(f"{API}/applications/project/{project['id']}", params=params, headers=owner.headers)
        assert_problem(resp, 422, field=field)


@pytest.mark.parametrize("which", ["mine", "project"])
async def test_application_lists_issue_a_constant_number_of_queries(client, make_user, which):
    owner = await make_user(profile=True)
    roles = [{"skill_id": 20 + i, "role_title": f"Role {i}", "payment_type": "unpaid"} for i in range(10)]
    project = await create_project(client, owner, roles=roles)
    person = await make_user(profile=True)
    others = [await make_user(profile=True) for _ in range(10)]
    url = (f"{API}/applications/my-applications" if which == "mine"
           else f"{API}/applications/project/{project['id']}")
    reader = person if which == "mine" else owner

    async def add(n_from: int, n_to: int):
        for i in range(n_from, n_to):
            applicant = person if which == "mine" else others[i]
            await apply(client, applicant, project["roles"][i]["id"])

    async def measure(expected_rows: int) -> int:
        with count_statements() as statements:
            resp = await client.get(url, headers=reader.headers)
        assert resp.status_code == 200 and len(resp.json()) == expected_rows
        return len(statements)

    await add(0, 2)
    two = await measure(2)
    await add(2, 10)
    ten = await measure(10)
    assert 0 < two == ten, (two, ten)


BAD_APPLY = [
    ({}, "role_id"),
    ({"role_id": "not-a-uuid"}, "role_id"),
    ({"role_id": None}, "role_id"),
    ({"role_id": "ROLE", "cover_letter": "x" * 2001}, "cover_letter"),
    ({"role_id": "ROLE", "cover_letter": 12}, "cover_letter"),
    ({"role_id": "ROLE", "cover_letter": ["a"]}, "cover_letter"),
    # A read-only `status` sent back is ignored (tests/api/test_round_trips.py); a misspelt field is named.
    ({"role_id": "ROLE", "cover_leter": "hi"}, "cover_leter"),
    ([], None),
    ("not json", None),
]


@pytest.mark.parametrize(("body", "field"), BAD_APPLY, ids=[f"apply-{i}" for i in range(len(BAD_APPLY))])
async def test_apply_bad_input(client, make_user, body, field):
    owner = await make_user(profile=True)
    project = await create_project(client, owner)
    person = await make_user(profile=True)
    if isinstance(body, dict) and body.get("role_id") == "ROLE":
        body = {**body, "role_id": project["roles"][0]["id"]}
    if body == "not json":
        resp = await client.post(f"{API}/applications/apply", content=b"{nope", headers={
            **person.headers, "Content-Type": "application/json"})
    else:
        resp = await client.post(f"{API}/applications/apply", json=body, headers=person.headers)
    assert_problem(resp, 422, field=field)
    assert await _my_applications(client, person) == []


BAD_REJECT = [({"reason": ""}, "reason"), ({"reason": "x" * 501}, "reason"), ({"reason": 3}, "reason"),
              ({"why": "no"}, "why"), ([1], None)]


@pytest.mark.parametrize(("body", "field"), BAD_REJECT, ids=[f"reject-{i}" for i in range(len(BAD_REJECT))])
async def test_reject_bad_input(client, make_user, body, field):
    owner = await make_user(profile=True)
    project = await create_project(client, owner)
    person = await make_user(profile=True)
    app = await apply(client, person, project["roles"][0]["id"])
    resp = await client.post(f"{API}/applications/reject/{app['id']}", json=body, headers=owner.headers)
    assert_problem(resp, 422, field=field)
    assert (await _my_applications(client, person))[0]["status"] == "pending"


@pytest.mark.parametrize("path", ["accept", "reject", "withdraw"])
async def test_review_paths_validate_the_id(client, make_user, path):
    user = await make_user(profile=True)
    resp = await client.post(f"{API}/applications/{path}/not-a-uuid", headers=user.headers)
    assert_problem(resp, 422, field="application_id")
    resp = await client.post(f"{API}/applications/{path}/{uuid.uuid4()}", headers=user.headers)
    assert_problem(resp, 404)
