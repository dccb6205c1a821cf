"""Shared helpers for the project, application and team tests (no tests of its own)."""
from __future__ import annotations

import contextlib

API = "/api/v1"

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


def assert_problem(resp, status: int, field: str | None = None) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json"), resp.headers["content-type"]
    body = resp.json()
    assert body["status"] == status and body["detail"]
    if field is not None:
        fields = [e["field"] for e in body.get("errors", [])]
        assert field in fields, (field, body)
    text = resp.text.lower()
    assert "traceback" not in text and "sqlalchemy" not in text and "asyncpg" not in text
    return body


@contextlib.contextmanager
def count_statements():
    """Count SQL statements sent by the app's engine (this loop's engine is the one the ASGI app uses)."""
    from sqlalchemy import event

    from db.session import get_engine

    engine = get_engine().sync_engine
    seen: list[str] = []

    def _before(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", _before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", _before)
