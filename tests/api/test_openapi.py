"""The OpenAPI document tells the truth: one Problem schema for every error, short stable operationIds,
hand-written summaries, the headers clients read; and /docs works without internet access."""
from __future__ import annotations

import json
import re
from html.parser import HTMLParser

from tests.helpers.http import SEARCH

PROBLEM_CONTENT = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


async def _spec(client) -> dict:
    resp = await client.get("/openapi.json")
    assert resp.status_code == 200, resp.text
    return resp.json()


def _operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield f"{method.upper()} {path}", op


async def test_every_error_answer_is_documented_as_the_one_problem_schema(client):
    spec = await _spec(client)
    text = json.dumps(spec)
    assert "HTTPValidationError" not in text and "ValidationError" not in text
    for name, op in _operations(spec):
        errors = {status: r for status, r in op["responses"].items() if status[0] in "45"}
        assert errors, name
        for status, response in errors.items():
            assert response["content"] == PROBLEM_CONTENT, (name, status, response)
            assert response.get("description"), (name, status)
    problem = spec["components"]["schemas"]["Problem"]
    assert {"type", "code", "title", "status", "detail"} <= set(problem["required"])
    assert {"instance", "errors", "more_errors"} <= set(problem["properties"])
    # The codes the schema allows are the ones the API documents (GET /problems, the README's table).
    kinds = (await client.get("/problems")).json()
    assert problem["properties"]["code"]["enum"] == [kind["code"] for kind in kinds]


async def test_every_operation_lists_the_errors_it_can_answer(client):
    spec = await _spec(client)
    for name, op in _operations(spec):
        statuses = set(op["responses"])
        assert "422" in statuses, name  # the input guard checks every path and query string
        if "requestBody" in op:
            assert "413" in statuses, name
        if op.get("security"):
            assert "401" in statuses and "WWW-Authenticate" in op["responses"]["401"]["headers"], name
        if "health" not in op["tags"]:
            assert "503" in statuses, name  # database unreachable
        for status in ("429", "503"):
            if status in statuses:
                assert "Retry-After" in op["responses"][status]["headers"], (name, status)
    ops = {op["operationId"]: op for _, op in _operations(spec)}
    # A few the rules answer, beyond what every operation of a kind can.
    expected = {"auth-login": {"400", "401", "403", "415", "429"}, "auth-signup-verify-otp": {"400", "409", "429"},
                "projects-update": {"403", "404", "409"}, "applications-apply": {"403", "404", "409"},
                "team-list-members": {"403", "404"}, "skills-create": {"409"}, "search-users": {"429"},
                "dm-send": {"403", "404", "429"}, "uploads-put-photo": {"400", "404", "413", "415"},
                "search-recommended": {"404"}, "health-readyz": {"503"}}
    for operation_id, statuses in expected.items():
        assert statuses <= set(ops[operation_id]["responses"]), (operation_id, set(ops[operation_id]["responses"]))


async def test_operation_ids_are_short_unique_and_start_with_their_tag(client):
    spec = await _spec(client)
    declared_tags = {tag["name"]: tag for tag in spec["tags"]}
    seen = set()
    for name, op in _operations(spec):
        operation_id = op["operationId"]
        assert re.fullmatch(r"[a-z]+(-[a-z0-9]+)+", operation_id), (name, operation_id)
        assert len(operation_id) <= 40, (name, operation_id)
        assert operation_id not in seen, (name, operation_id)
        seen.add(operation_id)
        assert len(op["tags"]) == 1 and operation_id.startswith(op["tags"][0] + "-"), (name, operation_id)
        assert declared_tags[op["tags"][0]]["description"], op["tags"][0]
    assert {"auth-signup-send-otp", "auth-login", "projects-create", "search-projects"} <= seen


async def test_summaries_are_written_by_hand(client):
    """FastAPI's default summary is the function name in Title Case ("Signup Send Otp"): every one is a
    sentence, and not the operation's name."""
    spec = await _spec(client)
    for name, op in _operations(spec):
        summary = op.get("summary", "")
        assert summary, name
        words = summary.split()
        assert summary != " ".join(w.capitalize() for w in words), (name, summary)
        generated = op["operationId"].split("-", 1)[1].replace("-", " ")
        assert summary.lower() != generated, (name, summary)


async def test_search_operations_document_headers_descriptions_and_examples(client):
    spec = await _spec(client)
    paths = spec["paths"]
    for path in ("/api/v1/search/projects", "/api/v1/search/users"):
        op = paths[path]["get"]
        headers = op["responses"]["200"]["headers"]
        assert {"X-Total-Count", "X-Next-Cursor", "X-Total-Relation", "X-Search-Engine"} <= set(headers), path
        assert all(h["description"] and h["schema"] for h in headers.values()), path
        assert "examples" in op["responses"]["200"]["content"]["application/json"], path
        assert any("examples" in p for p in op["parameters"]), path
    for path in ("/api/v1/search/projects/clusters", "/api/v1/search/suggest", "/api/v1/search/projects/recommended"):
        assert "X-Search-Engine" in paths[path]["get"]["responses"]["200"]["headers"], path
    for path in paths:
        if path.startswith("/api/v1/search/"):
            assert len(paths[path]["get"].get("description", "")) > 80, path
    for path in ("/api/v1/skills/list", "/api/v1/projects/my/projects", "/api/v1/applications/my-applications",
                 "/api/v1/management/project/{project_id}/members"):
        assert "X-Total-Count" in paths[path]["get"]["responses"]["200"]["headers"], path
    assert paths["/api/v1/auth/login"]["post"]["responses"]["429"]["headers"]["Retry-After"]["required"] is True


async def test_the_headers_a_search_sends_are_the_documented_ones(client):
    spec = await _spec(client)
    documented = set(spec["paths"]["/api/v1/search/projects"]["get"]["responses"]["200"]["headers"])
    resp = await client.get(f"{SEARCH}/projects", params={"limit": 1})
    assert resp.status_code == 200, resp.text
    sent = {name for name in resp.headers if name.lower().startswith("x-")}
    assert {"x-total-count", "x-search-engine"} <= sent
    assert sent <= {h.lower() for h in documented}, (sent, documented)


class _Assets(HTMLParser):
    """Every URL a page loads: script src, link href, img src."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for attr in ("src", "href"):
            if attrs.get(attr):
                self.urls.append(attrs[attr])


async def test_docs_pages_load_everything_from_the_app_itself(client):
    """/docs and /redoc must not depend on a CDN: every asset they reference is served by this app."""
    for page in ("/docs", "/redoc"):
        resp = await client.get(page)
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html"), page
        assert "http://" not in resp.text and "https://" not in resp.text, page
        parser = _Assets()
        parser.feed(resp.text)
        assert any(url.endswith(".js") for url in parser.urls), (page, parser.urls)
        for url in parser.urls:
            assert url.startswith("/") and not url.startswith("//"), (page, url)
            asset = await client.get(url)
            assert asset.status_code == 200 and len(asset.content) > 100, (page, url, asset.status_code)
    assert "swagger" in (await client.get("/docs")).text.lower()
    assert (await client.get("/docs/oauth2-redirect")).status_code == 200
    spec_url = re.search(r"url: '([^']+)'", (await client.get("/docs")).text).group(1)
    assert (await client.get(spec_url)).json()["openapi"].startswith("3.")
