"""Projects, applications and members for the tests.

Through HTTP, as a user would: `create_project`, `apply`, `accept`, `add_member`, `get_project`.
Straight into the tables, for tests of other domains (chat, real time) that only need a project with members:
`insert_project`, `insert_member` (rows like the team service writes; no roles, no outbox).
"""
from __future__ import annotations

import uuid

from tests.helpers.http import API

ROLE_DP = {"skill_id": 5, "role_title": "Director of Photography", "description": "Experienced DP needed",
           "slots_available": 1, "payment_type": "paid", "payment_amount": 500.0}
ROLE_GAFFER = {"skill_id": 6, "role_title": "Gaffer", "slots_available": 2, "payment_type": "negotiable"}


def project_body(**overrides) -> dict:
    body = {"name": "Indie Short Film - The Last Light", "description": "A 15-minute sci-fi short",
            "project_type": "short_film", "city": "Los Angeles", "state": "California", "country": "United States",
            "latitude": 34.0522, "longitude": -118.2437, "roles": [dict(ROLE_DP), dict(ROLE_GAFFER)]}
    body.update(overrides)
    return body


async def create_project(client, owner, **overrides) -> dict:
    """POST /projects/create as `owner` (who needs a profile): `project_body(**overrides)`; returns the project."""
    resp = await client.post(f"{API}/projects/create", json=project_body(**overrides), headers=owner.headers)
    assert resp.status_code == 201, resp.text
    return resp.json()


async def apply(client, user, role_id, cover_letter: str = "I would love to help") -> dict:
    resp = await client.post(f"{API}/applications/apply", json={"role_id": str(role_id), "cover_letter": cover_letter},
                             headers=user.headers)
    assert resp.status_code == 201, resp.text
    return resp.json()


async def accept(client, reviewer, application_id) -> dict:
    resp = await client.post(f"{API}/applications/accept/{application_id}", headers=reviewer.headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def add_member(client, make_user, reviewer, project: dict, role_index: int = 1, member_role: str = "child",
                     **profile):
    """A new person who applied and was accepted (and, if asked, promoted by the admin `reviewer`)."""
    user = await make_user(profile=True, **profile)
    application = await apply(client, user, project["roles"][role_index]["id"])
    await accept(client, reviewer, application["id"])
    if member_role != "child":
        resp = await client.put(f"{API}/management/project/{project['id']}/member/{user.id}/promote",
                                json={"member_role": member_role}, headers=reviewer.headers)
        assert resp.status_code == 200, resp.text
    return user


async def get_project(client, project_id, user=None) -> dict:
    resp = await client.get(f"{API}/projects/{project_id}", headers=user.headers if user else {})
    assert resp.status_code == 200, resp.text
    return resp.json()


async def insert_project(owner, *members, name: str = "Night Shoot") -> uuid.UUID:
    """Rows for a project with `owner` as admin and `members` as children (like the team service writes)."""
    from db.models import Project, ProjectMember
    from db.models.enums import MemberRole, ProjectType
    from db.session import unit_of_work

    async with unit_of_work() as session:
        project = Project(creator_id=owner.id, name=name, project_type=ProjectType.short_film)
        session.add(project)
        await session.flush()
        session.add(ProjectMember(project_id=project.id, user_id=owner.id, member_role=MemberRole.admin))
        for m in members:
            session.add(ProjectMember(project_id=project.id, user_id=m.id, member_role=MemberRole.child))
        return project.id


async def insert_member(project_id: uuid.UUID, user, role=None) -> None:
    """A membership row for `user` (a child unless `role`, a MemberRole, says otherwise)."""
    from db.models import ProjectMember
    from db.models.enums import MemberRole
    from db.session import unit_of_work

    async with unit_of_work() as session:
        session.add(ProjectMember(project_id=project_id, user_id=user.id, member_role=role or MemberRole.child))
