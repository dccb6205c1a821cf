"""RFC 9457 problem+json responses. Nothing internal (stack, SQL, exception text) ever reaches a client.

`install_error_handlers` renders what routes raise (Problem, validation errors, HTTP errors);
`ErrorBoundary` answers every other exception: 503 with Retry-After when the database cannot be
reached, else 500, and in both cases the connection stays open for the client's next request.
"""
from __future__ import annotations

import logging
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http.routes import path_templates
from api.kernel.problems import PROBLEM, Problem, code_for_status
from db.unavailable import is_database_unavailable

log = logging.getLogger("filmo.errors")

# A validation answer names at most this many errors (and counts the rest): a body with 100,000
# mistakes gets a small answer, cheap to build and to send.
MAX_ERRORS = 20
_MAX_FIELD_CHARS = 200  # an unknown key can be as long as the body: only its start is echoed
# Seconds a client should wait before retrying while the database is unreachable (restarts take ~5-30 s).
DATABASE_RETRY_AFTER_S = 5
# While the database is unreachable every request fails alike: one warning per this many seconds, not per request.
_OUTAGE_LOG_INTERVAL_S = 10.0
_last_outage_log = 0.0

# Each kind of problem's `type` is this path plus its code: a relative reference with the full path (as RFC
# 9457 3.1.1 advises when relative), the same string on every deployment, and resolved against the API's
# own address it lands on a page this app serves (GET /problems/{code}, api.http.docs).
PROBLEM_TYPE_PREFIX = "/problems/"


def problem_type(code: str) -> str:
    return PROBLEM_TYPE_PREFIX + code


_TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
           409: "Conflict", 413: "Content Too Large", 415: "Unsupported Media Type", 422: "Unprocessable Content",
           429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}


def title_of(status: int) -> str:
    return _TITLES.get(status, "Error")


def problem_response(status: int, detail: str, *, title: str | None = None, errors=None, headers=None,
                     instance: str | None = None, code: str | None = None, **extra: Any) -> JSONResponse:
    """A problem+json answer; `code` defaults to the status's (api.kernel.problems.CODES)."""
    code = code or code_for_status(status)
    body: dict[str, Any] = {"type": problem_type(code), "code": code, "title": title or title_of(status),
                            "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    body.update(extra)
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM)


def _loc_to_field(loc: tuple | list) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "form", "cookie")]
    field = ".".join(parts) or str(loc[0] if loc else "request")
    return field if len(field) <= _MAX_FIELD_CHARS else field[:_MAX_FIELD_CHARS] + "…"


def capped_errors(errors: list[dict[str, Any]], total: int | None = None) -> dict[str, Any]:
    """The problem fields for a list of field errors: the first MAX_ERRORS, a detail naming the first
    five, and `more_errors` (how many were left out) when there were more."""
    total = len(errors) if total is None else total
    shown = errors[:MAX_ERRORS]
    detail = "; ".join(f"{e['field']}: {e['reason']}" for e in shown[:5])
    if total > 5:
        detail += f"; and {total - 5} more"
    out: dict[str, Any] = {"detail": detail or "Invalid request", "errors": shown}
    if total > len(shown):
        out["more_errors"] = total - len(shown)
    return out


def database_unavailable_response(instance: str | None = None) -> JSONResponse:
    return problem_response(503, "The database is unavailable right now; please try again shortly.",
                            headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)}, instance=instance)


def unexpected_error_response(method: str, path: str, exc: Exception) -> JSONResponse:
    """The answer to an exception no handler took (logged here; the client only learns that it failed)."""
    global _last_outage_log
    if is_database_unavailable(exc):
        now = time.monotonic()
        if now - _last_outage_log >= _OUTAGE_LOG_INTERVAL_S:
            _last_outage_log = now
            log.warning("database unavailable (%s), answering 503 (%s %s; logged at most every %gs)",
                        type(exc).__name__, method, path, _OUTAGE_LOG_INTERVAL_S)
        return database_unavailable_response(path)
    log.error("unhandled error on %s %s", method, path, exc_info=exc)
    return problem_response(500, "An unexpected error occurred. It has been logged.", instance=path)


def _allowed_methods(request: Request, fallback: str | None) -> str | None:
    """Every documented method of the path's template (the most literal one that matches: `/projects/create`,
    not `/projects/{project_id}`). Starlette's 405 names only the methods of the first route whose path
    matched, but one path often has several routes (GET, PUT and DELETE /projects/{id}). Undocumented paths
    (the docs pages) keep Starlette's answer."""
    path = request.url.path
    methods = next((set(allowed) for pattern, _, allowed in path_templates(request.app) if pattern.match(path)), None)
    if not methods:
        return fallback
    if "GET" in methods:
        methods.add("HEAD")  # api/http/head.py
    return ", ".join(sorted(methods))


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem):
        return problem_response(exc.status, exc.detail, title=exc.title, errors=exc.errors, headers=exc.headers,
                                instance=request.url.path, code=exc.code, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        all_errors = exc.errors()
        errors = []
        for err in all_errors[:MAX_ERRORS]:
            reason = err.get("msg", "invalid")
            if reason.startswith("Value error, "):
                reason = reason[len("Value error, "):]
            errors.append({"field": _loc_to_field(err.get("loc", ())), "reason": reason})
        capped = capped_errors(errors, total=len(all_errors))
        return problem_response(422, capped.pop("detail"), instance=request.url.path, **capped)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "Error")
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            allowed = _allowed_methods(request, (headers or {}).get("Allow"))
            if allowed:
                headers = {**(headers or {}), "Allow": allowed}
        return problem_response(exc.status_code, detail, headers=headers, instance=request.url.path)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        # Only for exceptions outside ErrorBoundary (from a middleware around it): Starlette re-raises
        # after this answer, so that connection closes.
        return unexpected_error_response(request.method, request.url.path, exc)


class ErrorBoundary:
    """Pure ASGI middleware: answers any exception the routes and handlers left, and ends there.

    Starlette's ServerErrorMiddleware answers 500 and then re-raises (so that test clients see the
    error), and uvicorn closes the connection of an app that raised: a keep-alive client's next
    request then fails with a reset. Here the exception is answered and not re-raised, so the
    connection is kept. Database unreachable: 503 + Retry-After (a warning, no traceback: an outage,
    not a bug); anything else: 500 (logged with its traceback). Once a response has started nothing
    else can be sent: if it was incomplete the exception is re-raised so the server cuts the
    connection (the client must not take a truncated body for a whole one); if it was complete (a
    failure after the answer) it is only logged.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = finished = False

        async def tracked_send(message: Message) -> None:
            nonlocal started, finished
            if message["type"] == "http.response.start":
                started = True
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                finished = True
            await send(message)

        try:
            await self.app(scope, receive, tracked_send)
        except Exception as exc:
            method, path = scope.get("method", ""), scope.get("path", "")
            if finished:
                log.error("error after the response to %s %s was sent", method, path, exc_info=exc)
                return
            if started:
                log.error("error while sending the response to %s %s", method, path, exc_info=exc)
                raise
            await unexpected_error_response(method, path, exc)(scope, receive, send)
