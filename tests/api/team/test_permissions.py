"""Every cell of the permission matrix in api/team/permissions.md, over HTTP (one case per cell)."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.helpers.http import API, assert_problem
from tests.helpers.projects import ROLE_DP, accept, apply, create_project
from tests.helpers.run import REPO

ACTORS = ("admin", "parent", "child", "non-member", "anonymous")


@dataclass
class World:
    project: dict
    users: dict  # actor name -> TestUser (anonymous absent); also "admin2", "applicant"
    application_id: str

    def headers(self, actor: str) -> dict:
        return {} if actor == "anonymous" else self.users[actor].headers

    def uid(self, actor: str) -> str:
        return str(self.users[actor].id)


async def build_world(client, make_user) -> World:
    admin = await make_user(profile=True, name="Ada Admin")
    grip = {"skill_id": 7, "role_title": "Grip", "slots_available": 4, "payment_type": "unpaid"}
    project = await create_project(client, admin, roles=[dict(ROLE_DP), grip])
    dp_id, grip_id = project["roles"][0]["id"], project["roles"][1]["id"]
    users = {"admin": admin}
    for actor, member_role in (("admin2", "admin"), ("parent", "parent"), ("child", "child")):
        user = await make_user(profile=True, name=actor.title())
        await accept(client, admin, (await apply(client, user, grip_id))["id"])
        if member_role != "child":
            resp = await client.put(f"{API}/management/project/{project['id']}/member/{user.id}/promote",
                                    json={"member_role": member_role}, headers=admin.headers)
            assert resp.status_code == 200, resp.text
        users[actor] = user
    users["applicant"] = await make_user(profile=True, name="Applicant")
    application = await apply(client, users["applicant"], dp_id)
    users["non-member"] = await make_user(profile=True, name="Outsider")
    return World(project=project, users=users, application_id=application["id"])


def _pid(w: World) -> str:
    return w.project["id"]


async def view(client, w, actor):
    return await client.get(f"{API}/projects/{_pid(w)}", headers=w.headers(actor))


async def view_archived(client, w, actor):
    resp = await client.delete(f"{API}/projects/{_pid(w)}", headers=w.headers("admin"))
    assert resp.status_code == 200, resp.text
    return await client.get(f"{API}/projects/{_pid(w)}", headers=w.headers(actor))


async def edit(client, w, actor):
    return await client.put(f"{API}/projects/{_pid(w)}", json={"description": "new"}, headers=w.headers(actor))


async def archive(client, w, actor):
    return await client.delete(f"{API}/projects/{_pid(w)}", headers=w.headers(actor))


async def transfer(client, w, actor):
    target = "child" if actor != "child" else "parent"
    return await client.post(f"{API}/projects/{_pid(w)}/transfer", json={"user_id": w.uid(target)},
                             headers=w.headers(actor))


async def set_status(client, w, actor):
    return await client.put(f"{API}/management/project/{_pid(w)}/status", json={"status": "shelved"},
                            headers=w.headers(actor))


async def set_disposed(client, w, actor):
    return await client.put(f"{API}/management/project/{_pid(w)}/status", json={"status": "disposed"},
                            headers=w.headers(actor))


async def promote(client, w, actor):
    return await client.put(f"{API}/management/project/{_pid(w)}/member/{w.uid('child')}/promote",
                            json={"member_role": "parent"}, headers=w.headers(actor))


async def members(client, w, actor):
    return await client.get(f"{API}/management/project/{_pid(w)}/members", headers=w.headers(actor))


async def stats(client, w, actor):
    return await client.get(f"{API}/management/project/{_pid(w)}/stats", headers=w.headers(actor))


def _remove(target: str):
    async def remove(client, w, actor):
        # A child removing "the child" would be removing themselves: use another child as the target.
        return await client.delete(f"{API}/management/project/{_pid(w)}/member/{w.uid(target)}",
                                   headers=w.headers(actor))
    return remove


async def leave(client, w, actor):
    return await client.post(f"{API}/management/project/{_pid(w)}/leave", headers=w.headers(actor))


async def list_applications(client, w, actor):
    return await client.get(f"{API}/applications/project/{_pid(w)}", headers=w.headers(actor))


async def accept_application(client, w, actor):
    return await client.post(f"{API}/applications/accept/{w.application_id}", headers=w.headers(actor))


async def reject_application(client, w, actor):
    return await client.post(f"{API}/applications/reject/{w.application_id}", headers=w.headers(actor))


async def apply_to_role(client, w, actor):
    return await client.post(f"{API}/applications/apply", json={"role_id": w.project["roles"][0]["id"]},
                             headers=w.headers(actor))


async def withdraw(client, w, actor):
    return await client.post(f"{API}/applications/withdraw/{w.application_id}", headers=w.headers(actor))


async def withdraw_as_applicant(client, w, actor):
    return await client.post(f"{API}/applications/withdraw/{w.application_id}", headers=w.headers("applicant"))


# action -> (call, expected status per actor in ACTORS order); mirrors api/team/permissions.md
MATRIX = {
    "view project": (view, (200, 200, 200, 200, 200)),
    "view archived project": (view_archived, (200, 200, 200, 404, 404)),
    "edit project": (edit, (200, 403, 403, 403, 401)),
    "archive project": (archive, (200, 403, 403, 403, 401)),
    "transfer admin": (transfer, (200, 403, 403, 403, 401)),
    "set status": (set_status, (200, 200, 403, 403, 401)),
    "set status disposed": (set_disposed, (200, 403, 403, 403, 401)),
    "promote member": (promote, (200, 403, 403, 403, 401)),
    "list members": (members, (200, 200, 200, 403, 401)),
    "stats": (stats, (200, 200, 200, 403, 401)),
    "remove child": (None, (200, 200, 403, 403, 401)),
    "remove parent": (_remove("parent"), (200, 403, 403, 403, 401)),
    "remove another admin": (_remove("admin2"), (200, 403, 403, 403, 401)),
    "leave": (leave, (200, 200, 200, 403, 401)),
    "list project applications": (list_applications, (200, 200, 403, 403, 401)),
    "accept application": (accept_application, (200, 200, 403, 403, 401)),
    "reject application": (reject_application, (200, 200, 403, 403, 401)),
    "apply": (apply_to_role, (409, 409, 409, 201, 401)),
    "withdraw (not the applicant)": (withdraw, (403, 403, 403, 403, 401)),
}


async def remove_child(client, w, actor):
    # For the child actor the target is another child, so the case tests "a child removes a child".
    target = w.uid("child")
    if actor == "child":
        other = w.users["non-member"]  # joins first, as a second child
        application = await apply(client, other, w.project["roles"][1]["id"])
        await accept(client, w.users["admin"], application["id"])
        target = str(other.id)
    return await client.delete(f"{API}/management/project/{_pid(w)}/member/{target}", headers=w.headers(actor))


MATRIX["remove child"] = (remove_child, MATRIX["remove child"][1])

CASES = [pytest.param(action, actor, expected[i], id=f"{action} | {actor}")
         for action, (_, expected) in MATRIX.items() for i, actor in enumerate(ACTORS)]


@pytest.mark.parametrize(("action", "actor", "expected"), CASES)
async def test_permission_matrix(client, make_user, action, actor, expected):
    world = await build_world(client, make_user)
    call = MATRIX[action][0]
    resp = await call(client, world, actor)
    if expected < 300:
        assert resp.status_code == expected, resp.text
    else:
        body = assert_problem(resp, expected)
        if expected == 401:
            assert resp.headers.get("www-authenticate") == "Bearer"
        if expected == 403:
            assert "only" in body["detail"].lower(), body["detail"]


async def test_withdraw_by_the_applicant_is_allowed(client, make_user):
    world = await build_world(client, make_user)
    resp = await withdraw_as_applicant(client, world, "applicant")
    assert resp.status_code == 200, resp.text


async def test_matrix_document_lists_every_tested_action():
    doc = (REPO / "api/team/permissions.md").read_text()
    rows = [line for line in doc.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert len(rows) == len(MATRIX), "permissions.md and MATRIX must list the same actions"
    symbol = {200: "✅", 201: "✅"}
    for row, (action, (_, expected)) in zip(rows, MATRIX.items()):
        cells = [c.strip() for c in row.strip("|").split("|")][1:]
        for cell, status in zip(cells, expected):
            assert cell.startswith(symbol.get(status, f"`{status}`")), (action, cells, expected)
