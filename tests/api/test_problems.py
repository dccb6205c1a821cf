"""Every REST error carries a machine `code` and a stable `type` (`/problems/<code>`), as the table in
api/http/README.md says; GET /problems serves that table and GET /problems/<code> describes each type."""
from __future__ import annotations

import re
import uuid

from tests.helpers.http import API, SEARCH, assert_problem
from tests.helpers.projects import create_project
from tests.helpers.run import REPO


def _readme_table() -> list[dict]:
    text = (REPO / "api" / "http" / "README.md").read_text()
    section = text.split("### Error codes", 1)[1]
    rows = re.findall(r"^\| `([a-z_]+)` \| (\d{3}) \| (.+) \|$", section, re.M)
    return [{"code": code, "status": int(status), "meaning": meaning} for code, status, meaning in rows]


async def test_the_documented_table_is_what_the_api_serves(client):
    resp = await client.get("/problems")
    assert resp.status_code == 200, resp.text
    kinds = resp.json()
    assert [{k: kind[k] for k in ("code", "status", "meaning")} for kind in kinds] == _readme_table()
    # The Socket.IO acks' vocabulary is part of it.
    assert {"unauthorized", "forbidden", "not_found", "conflict", "invalid_payload", "rate_limited",
            "unavailable", "internal", "token_expired", "session_ended"} <= {kind["code"] for kind in kinds}
    for kind in kinds:
        assert kind["type"] == f"/problems/{kind['code']}"
        # The type, resolved against the API, describes its kind.
        assert (await client.get(kind["type"])).json() == kind
    assert_problem(await client.get("/problems/no_such_code"), 404, code="not_found")


async def test_401_says_whether_to_sign_in_or_refresh(client, make_user):
    resp = await client.get(f"{API}/profile/me")
    body = assert_problem(resp, 401, code="missing_token")
    assert body["type"] == "/problems/missing_token" and body["title"] == "Unauthorized"
    assert resp.headers["www-authenticate"] == "Bearer"
    assert_problem(await client.get(f"{API}/profile/me", headers={"Authorization": "Bearer nonsense"}), 401,
                   code="invalid_token")
    user = await make_user()
    assert (await client.post(f"{API}/auth/logout", headers=user.headers)).status_code == 200
    assert_problem(await client.get(f"{API}/profile/me", headers=user.headers), 401, code="session_ended")
    resp = await client.post(f"{API}/auth/login", json={"email": user.email, "password": "not the password"})
    assert_problem(resp, 401, code="unauthorized")


async def test_404_409_and_403_carry_their_code_and_type(client, make_user):
    user = await make_user(profile=True)
    body = assert_problem(await client.get(f"{API}/projects/{uuid.uuid4()}", headers=user.headers), 404,
                          code="not_found")
    assert body["type"] == "/problems/not_found" and body["instance"].startswith(f"{API}/projects/")
    assert_problem(await client.get(f"{API}/no-such-route"), 404, code="not_found")

    skill = {"name": f"Steadicam {uuid.uuid4().hex[:6]}", "category": "Camera"}
    assert (await client.post(f"{API}/skills/create", json=skill, headers=user.headers)).status_code == 201
    body = assert_problem(await client.post(f"{API}/skills/create", json=skill, headers=user.headers), 409,
                          code="conflict")
    assert body["type"] == "/problems/conflict" and body["existing_id"]

    owner = await make_user(profile=True)
    project = await create_project(client, owner)
    resp = await client.get(f"{API}/management/project/{project['id']}/members", headers=user.headers)
    assert_problem(resp, 403, code="forbidden")


async def test_422_and_413_carry_their_code_and_type(client, make_user, settings_env):
    user = await make_user()
    body = assert_problem(await client.post(f"{API}/skills/create", json={"name": ""}, headers=user.headers), 422,
                          code="invalid_payload")
    assert body["type"] == "/problems/invalid_payload" and body["errors"]
    # The input guard's refusals too (before routing).
    assert_problem(await client.get(f"{API}/skills/list", params={"search": "a\x00b"}), 422, field="search",
                   code="invalid_payload")
    settings_env(REQUEST_MAX_BODY_BYTES="1024")
    resp = await client.post(f"{API}/skills/create", json={"name": "x" * 2000, "category": "Camera"},
                             headers=user.headers)
    assert_problem(resp, 413, code="payload_too_large")
    assert_problem(await client.delete(f"{API}/skills/list"), 405, code="method_not_allowed")


async def test_429_carries_its_code_type_and_wait(client, settings_env):
    settings_env(SEARCH_USERS_PER_MINUTE="1")
    assert (await client.get(f"{SEARCH}/users")).status_code == 200
    resp = await client.get(f"{SEARCH}/users")
    body = assert_problem(resp, 429, code="rate_limited")
    assert body["type"] == "/problems/rate_limited"
    assert body["retry_after"] == int(resp.headers["retry-after"]) >= 1
