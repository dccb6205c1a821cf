"""The OpenAPI document says what the server really answers (api/http/README.md has the conventions).

- Every error answer is `application/problem+json` with the one `Problem` schema (FastAPI's own
  `HTTPValidationError` is never sent, so it is not in the document).
- Routers declare the errors of their rules (`problems(403, 404, 409)`) and the headers they send
  (`headers("X-Total-Count")`); `install_openapi` adds to every operation what any route of its kind can
  answer: 422 (the input guard checks every path and query; validation), 413 (a request body over
  REQUEST_MAX_BODY_BYTES), 401 (a bearer token is read: missing, expired, ended), 503 (every operation but
  the health probes reads the database: unreachable, it answers 503 with Retry-After).
- operationIds are `<tag>-<route name>` (`operation_id`): short and stable for generated clients. A
  route's `name` is part of the API: renaming it breaks clients.
"""
from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from api.http.errors import PROBLEM_TYPE_PREFIX
from api.kernel.problems import CODES, PROBLEM

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}

# Tag names are one word: they prefix every operationId.
TAGS: list[dict[str, str]] = [
    {"name": "auth", "description": "Sign up and reset a password with a 6-digit e-mailed code; sign in (JSON or "
                                    "the OAuth2 form of **Authorize**); rotate refresh tokens; sign out. Access "
                                    "tokens are short-lived bearer JWTs bound to a session."},
    {"name": "profile", "description": "Your profile (one per account) and other people's. Others see a city-level "
                                       "location rounded to ~1 km; only you see your exact point."},
    {"name": "skills", "description": "The film-industry skill catalogue (public), and proposing new skills."},
    {"name": "projects", "description": "Projects with their roles: create, read, edit, archive, hand admin over, "
                                        "and the projects you run or belong to."},
    {"name": "applications", "description": "Apply to an open role; project admins and parents accept or reject; "
                                            "applicants withdraw. Accepting fills a slot, race-free."},
    {"name": "team", "description": "Team management of a project: status, member roles, removing members, "
                                    "leaving, statistics. Who may do what: api/team/permissions.md."},
    {"name": "chat", "description": "Project chat over REST (history, deletes, read marks). Live messages travel "
                                    "over Socket.IO at /socket.io."},
    {"name": "dm", "description": "Direct messages between two people, blocks and presence."},
    {"name": "uploads", "description": "Profile photo and portfolio files. The bytes decide the type; images are "
                                       "re-encoded without metadata."},
    {"name": "search", "description": "Projects, people, map clusters, autocomplete and recommendations. OpenSearch "
                                      "answers, with PostGIS as default and fallback (`X-Search-Engine` says which)."},
    {"name": "notifications", "description": "What you are told (saved-search matches, application decisions, removals): "
                                             "listed, marked read, pushed live as the Socket.IO `notification` event and "
                                             "e-mailed (instant or a daily digest) with a one-click unsubscribe link."},
    {"name": "availability", "description": "Shoot days of projects and roles, the days people are unavailable and how "
                                            "far they travel, and who can work a role's shoot (admins and parents)."},
    {"name": "saved-searches", "description": "Project searches you saved (the /search/projects filters) that alert you "
                                              "when a new project matches, instantly or in the daily digest."},
    {"name": "tiles", "description": "Vector tiles (MVT) of projects and their TileJSON, for MapLibre and other map "
                                     "clients: clusters at low zooms, pins from zoom 14, the filters of project search."},
    {"name": "health", "description": "Probes for load balancers and orchestrators, at the root (no `/api/v1`)."},
]

_INTEGER = {"type": "integer", "minimum": 0}
HEADERS: dict[str, dict[str, Any]] = {
    "X-Total-Count": {"description": "How many items match in all pages (search: at least this many when "
                                     "`X-Total-Relation: gte`).", "schema": _INTEGER},
    "X-Page": {"description": "The page this answer holds (from 1).", "schema": {"type": "integer", "minimum": 1}},
    "X-Limit": {"description": "The page size used.", "schema": {"type": "integer", "minimum": 1}},
    "X-Next-Cursor": {"description": "Pass as `cursor` to read the next page; absent on the last page.",
                      "schema": {"type": "string"}},
    "Link": {"description": "RFC 8288: `<path?query>; rel=\"next\"`, the next page (a relative reference), sent "
                            "exactly when one exists: follow it until it is absent.",
             "schema": {"type": "string"}, "example": '</api/v1/projects/my/projects?page=2&limit=20>; rel="next"'},
    "ETag": {"description": "The answer's version: send it back in `If-None-Match` to get a 304 when unchanged.",
             "schema": {"type": "string"}},
    "Cache-Control": {"description": "How long a cache may reuse the answer without asking.",
                      "schema": {"type": "string"}},
    "X-Total-Relation": {"description": "`gte` when more matched than were counted exactly "
                                        "(SEARCH_TOTAL_EXACT_UP_TO): the total is a lower bound. Absent when exact.",
                         "schema": {"type": "string", "enum": ["gte"]}},
    "X-Search-Engine": {"description": "Which engine answered: `opensearch`, or `postgis` (default engine and "
                                       "fallback while OpenSearch is unavailable).",
                        "schema": {"type": "string", "enum": ["opensearch", "postgis"]}},
    "Retry-After": {"description": "Seconds to wait before trying again.", "schema": {"type": "integer", "minimum": 1}},
    "WWW-Authenticate": {"description": "`Bearer`: send an access token.", "schema": {"type": "string"}},
}

_PROBLEM_DESCRIPTIONS = {
    400: "The request cannot be read (code `bad_request`)",
    401: "No valid access token or credentials: `missing_token`, `invalid_token`, `token_expired` (refresh), "
         "`account_inactive`, `session_ended` or `unauthorized`",
    403: "Not allowed (code `forbidden`)",
    404: "Not found, or not visible to you (code `not_found`)",
    409: "The current state does not allow it (code `conflict`)",
    413: "The body is too large (code `payload_too_large`)",
    415: "The body's type is not accepted (code `unsupported_media_type`)",
    422: "Invalid input: `errors` names each field (code `invalid_payload`)",
    429: "Rate limited: wait `Retry-After` seconds (code `rate_limited`)",
    503: "A service it needs is unavailable right now, e.g. the database: retry after `Retry-After` seconds "
         "(code `unavailable`)",
}
_PROBLEM_HEADERS = {401: {"WWW-Authenticate": HEADERS["WWW-Authenticate"]},
                    429: {"Retry-After": {**HEADERS["Retry-After"], "required": True}},
                    503: {"Retry-After": HEADERS["Retry-After"]}}

# FieldError and Problem, as they are sent (api.http.errors.problem_response).
SCHEMAS: dict[str, dict[str, Any]] = {
    "FieldError": {
        "title": "FieldError", "type": "object", "required": ["field", "reason"],
        "properties": {
            "field": {"type": "string", "description": "The input at fault: a body path (`roles.0.slots_available`), "
                                                       "a query or path parameter, or `body`.",
                      "examples": ["roles.0.slots_available"]},
            "reason": {"type": "string", "description": "Why, for a person.", "examples": ["must be at least 1"]},
        },
    },
    "Problem": {
        "title": "Problem", "type": "object",
        "description": "Every error answer (RFC 9457, `application/problem+json`). Branch on `code` (or `type`), "
                       "not on `detail`; the codes: api/http/README.md, or `GET /problems`. Some problems carry "
                       "more members (e.g. `existing_id` on a duplicate skill, `services` on `/readyz`).",
        "required": ["type", "code", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string", "format": "uri-reference",
                     "description": f"`{PROBLEM_TYPE_PREFIX}<code>`, stable; resolved against this API it "
                                    "describes the kind.", "examples": [f"{PROBLEM_TYPE_PREFIX}not_found"]},
            "code": {"type": "string", "enum": list(CODES), "description": "The kind of problem, for programs."},
            "title": {"type": "string", "description": "The status's phrase.", "examples": ["Not Found"]},
            "status": {"type": "integer", "minimum": 400, "maximum": 599, "examples": [404]},
            "detail": {"type": "string", "description": "What went wrong, for a person.",
                       "examples": ["Project not found"]},
            "instance": {"type": "string", "description": "The request's path."},
            "errors": {"type": "array", "items": {"$ref": "#/components/schemas/FieldError"},
                       "description": "The fields at fault (422, some 400/404/413)."},
            "more_errors": {"type": "integer", "minimum": 1,
                            "description": "How many field errors were left out of `errors` (a 422 lists 20)."},
            "retry_after": {"type": "integer", "minimum": 1, "description": "429: the seconds in `Retry-After`."},
        },
    },
}


def operation_id(route: APIRoute) -> str:
    """`<first tag>-<route name>`, e.g. `projects-create` (FastAPI's generate_unique_id_function).
    Every documented route has a tag (a test checks); the untagged ones (the docs pages) are not documented."""
    name = route.name.replace("_", "-")
    return f"{route.tags[0]}-{name}" if route.tags else name


def problems(*statuses: int, **descriptions: str) -> dict[int | str, dict[str, Any]]:
    """The `responses` entries for errors a route's rules answer; `descriptions` by status as `s404="..."`."""
    return {status: problem_response(status, descriptions.get(f"s{status}")) for status in statuses}


def problem_response(status: int, description: str | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description or _PROBLEM_DESCRIPTIONS.get(status, "Error"),
                                "content": {PROBLEM: {"schema": PROBLEM_REF}}}
    if status in _PROBLEM_HEADERS:
        response["headers"] = dict(_PROBLEM_HEADERS[status])
    return response


def headers(*names: str, status: int = 200) -> dict[int | str, dict[str, Any]]:
    """The `responses` entry naming the headers a route sends with its success answer."""
    return {status: {"headers": {name: HEADERS[name] for name in names}}}


# The probes answer for themselves (/readyz declares its 503; /livez touches no service).
_NO_DATABASE_TAGS = {"health"}


def _document(schema: dict[str, Any]) -> None:
    for operations in schema.get("paths", {}).values():
        for op in operations.values():
            responses = op.setdefault("responses", {})
            # FastAPI's 422 (HTTPValidationError) goes: the server answers a Problem.
            if "422" in responses and "HTTPValidationError" in str(responses["422"]):
                del responses["422"]
            universal = [422]  # the input guard checks every path and query string, on every route
            if "requestBody" in op:
                universal += [400, 413]  # a body that cannot be parsed; a body too large
            if op.get("security"):
                universal.append(401)
            if not _NO_DATABASE_TAGS.intersection(op.get("tags", [])):
                universal.append(503)
            for status in universal:
                responses.setdefault(str(status), {})
            for key, response in list(responses.items()):
                if key[0] not in "45":
                    continue
                status = int(key)
                canonical = problem_response(status)
                if response.get("description") in (None, "", "Validation Error"):
                    response["description"] = canonical["description"]
                response["content"] = canonical["content"]
                if "headers" in canonical:
                    response["headers"] = {**canonical["headers"], **response.get("headers", {})}
            op["responses"] = dict(sorted(responses.items()))
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    components.update(SCHEMAS)
    schema["components"]["schemas"] = dict(sorted(components.items()))
    _no_control_characters(schema["paths"])
    # Problems echo the input at fault (a key with a control character is named as it came): not constrained.
    _no_control_characters([body for name, body in components.items() if name not in SCHEMAS])


# What the input guard (api/http/input_guard.py) refuses in every string and JSON key: control characters
# but tab, line feed and carriage return.
TEXT_PATTERN = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F]*$"


def _no_control_characters(node: Any) -> None:
    """Every free string (no format, enum or pattern of its own) gets TEXT_PATTERN, and every object that takes
    keys it does not name gets it as `propertyNames`: the document states the rule the server enforces, so
    clients and fuzzers know that such text is refused (found by tests/api/test_schema_fuzz.py)."""
    if isinstance(node, list):
        for item in node:
            _no_control_characters(item)
        return
    if not isinstance(node, dict):
        return
    if node.get("type") == "string" and not {"format", "enum", "pattern", "const", "contentMediaType"} & node.keys():
        node["pattern"] = TEXT_PATTERN
    if node.get("type") == "object" and node.get("additionalProperties") is not False:
        node.setdefault("propertyNames", {"pattern": TEXT_PATTERN})
    for key, value in node.items():
        # Uploads stream their multipart bodies past the input guard, within their own checks.
        if key not in ("example", "examples", "default", "propertyNames", "multipart/form-data"):
            _no_control_characters(value)


def install_openapi(app: FastAPI) -> None:
    """Wrap the app's OpenAPI builder so that the document it serves is the one described above."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            _document(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
