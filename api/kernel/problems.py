"""The error type of every layer: a `Problem` raised by a service, a job or a socket handler.

It carries what an RFC 9457 problem+json body needs (status, detail, field errors, headers) and
nothing of FastAPI: the HTTP layer renders it (api.http.errors), the Socket.IO layer turns it into
an ack code (realtime.handlers), and a worker can raise it without loading the web framework.

Every problem has a machine `code` (`CODES`: one vocabulary for REST bodies and Socket.IO acks, the
table in api/http/README.md): derived from the status, or given where a status has several kinds
(a 401 says which: `token_expired` means "refresh", `session_ended` means "sign in again").
"""
from __future__ import annotations

from typing import Any, NamedTuple

PROBLEM = "application/problem+json"


class Kind(NamedTuple):
    """One kind of problem: its HTTP status and what it means to a client (and what the client does)."""

    status: int
    meaning: str


# Every code a problem can carry. A client branches on `code` (or on the `type` URI made from it), never
# on the English `detail`. Adding one is an API change: api/http/README.md has this table (a test checks
# it), GET /problems serves it and the OpenAPI lists the codes in the Problem schema.
CODES: dict[str, Kind] = {
    "bad_request": Kind(400, "The request cannot be read: a body that is not JSON, a malformed multipart body or "
                             "header, or a one-time code that is wrong, used up or expired (`errors` names `otp`). "
                             "Fix the request or ask for a new code."),
    "unauthorized": Kind(401, "Wrong e-mail or password, a refresh token that is invalid, already used or expired, "
                              "or a sign-out that names no session. Sign in again."),
    "missing_token": Kind(401, "The operation needs `Authorization: Bearer <access token>` and none was sent. "
                               "Sign in."),
    "invalid_token": Kind(401, "The access token is malformed, forged or not an access token. Sign in again."),
    "token_expired": Kind(401, "The access token has expired. Trade the refresh token for a new pair "
                               "(`POST /api/v1/auth/refresh`) and retry."),
    "account_inactive": Kind(401, "The account behind the token was deactivated. Do not retry."),
    "session_ended": Kind(401, "The session ended (signed out, password changed, or a refresh token was reused). "
                               "Sign in again."),
    "forbidden": Kind(403, "Signed in but not allowed: not a member, a role that may not do this, a block, a "
                           "deactivated account at sign-in. Do not retry."),
    "not_found": Kind(404, "No such resource, or one you may not see; `errors` may name the field that points "
                           "nowhere."),
    "method_not_allowed": Kind(405, "The path exists, but not with this method."),
    "conflict": Kind(409, "The current state does not allow it (already a member, role filled, last admin, "
                          "archived project, duplicate name). Reload and decide."),
    "payload_too_large": Kind(413, "The body is over `REQUEST_MAX_BODY_BYTES` (2 MB) or holds over 10,000 JSON keys "
                                   "and values; an upload is over its own limit."),
    "unsupported_media_type": Kind(415, "The body's type is not accepted (sign-in: JSON or a form; uploads: the "
                                        "detected file type is named)."),
    "invalid_payload": Kind(422, "Input breaks a rule: `errors: [{field, reason}]` (the first 20; `more_errors` "
                                 "counts the rest). Fix those fields."),
    "rate_limited": Kind(429, "Too many requests: wait `Retry-After` seconds (also `retry_after` in the body)."),
    "internal": Kind(500, "A bug on our side, logged with its traceback. Retry later."),
    "unavailable": Kind(503, "A service this needs (database, Redis, e-mail, file storage) cannot be reached right "
                             "now: retry after `Retry-After` seconds when given, else in a few seconds."),
    "overloaded": Kind(503, "The server is past its capacity and refused this new work at once (nothing was stored): "
                            "retry after `retry_after` seconds (Socket.IO chat sends; realtime/README.md)."),
}
# The code of a status when the raiser names none (the Socket.IO acks use the same words).
_STATUS_CODES: dict[int, str] = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                                 405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
                                 415: "unsupported_media_type", 422: "invalid_payload", 429: "rate_limited",
                                 500: "internal", 503: "unavailable"}


def code_for_status(status: int) -> str:
    """The default code of a status; any other 4xx is `bad_request`, any other 5xx `internal`."""
    return _STATUS_CODES.get(status) or ("bad_request" if status < 500 else "internal")


class Problem(Exception):
    """Raise from services and routers: becomes a problem+json response."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        code: str | None = None,
        **extra: Any,
    ) -> None:
        if code is not None and CODES.get(code, Kind(0, "")).status != status:
            raise ValueError(f"problem code {code!r} is not one of CODES for status {status}")
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title
        self.errors = errors
        self.headers = headers
        self.code = code or code_for_status(status)
        self.extra = extra


def field_error(field: str, reason: str, status: int = 422) -> Problem:
    return Problem(status, f"{field}: {reason}", errors=[{"field": field, "reason": reason}])


def not_found(what: str) -> Problem:
    return Problem(404, f"{what} not found")


def forbidden(reason: str = "You are not allowed to do this") -> Problem:
    return Problem(403, reason)


def conflict(reason: str, **extra: Any) -> Problem:
    return Problem(409, reason, **extra)
