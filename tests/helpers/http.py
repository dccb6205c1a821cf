"""The HTTP API as the tests see it: path prefixes, the bearer header, the problem+json contract."""
from __future__ import annotations

API = "/api/v1"
CHAT = f"{API}/chat"
DM = f"{API}/dm"
SEARCH = f"{API}/search"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def assert_problem(resp, status: int, *fragments: str, field: str | None = None, code: str | None = None) -> dict:
    """`resp` is an RFC 9457 problem (status, problem+json, a detail) that leaks no internals; returns the body.

    Every problem has a machine `code` and the `type` made from it (`/problems/<code>`, api/http/README.md);
    `code`, if given, must be it. `fragments` must appear in the response text; `field` must be one of the
    fields named in `errors`.
    """
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json"), resp.headers["content-type"]
    body = resp.json()
    assert body["status"] == status and body["detail"]
    assert body["code"] and body["type"] == f"/problems/{body['code']}", body
    if code is not None:
        assert body["code"] == code, (code, body)
    if field is not None:
        fields = [e["field"] for e in body.get("errors", [])]
        assert field in fields, (field, body)
    text = resp.text
    for fragment in fragments:
        assert fragment in text, (fragment, text)
    lowered = text.lower()
    assert "traceback" not in lowered and "sqlalchemy" not in lowered and "asyncpg" not in lowered
    return body
