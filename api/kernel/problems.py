"""The error type of every layer: a `Problem` raised by a service, a job or a socket handler.

It carries what an RFC 9457 problem+json body needs (status, detail, field errors, headers) and
nothing of FastAPI: the HTTP layer renders it (api.http.errors), the Socket.IO layer turns it into
an ack code (realtime.handlers), and a worker can raise it without loading the web framework.
"""
from __future__ import annotations

from typing import Any

PROBLEM = "application/problem+json"


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
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title
        self.errors = errors
        self.headers = headers
        self.extra = extra


def field_error(field: str, reason: str, status: int = 422) -> Problem:
    return Problem(status, f"{field}: {reason}", errors=[{"field": field, "reason": reason}])


def not_found(what: str) -> Problem:
    return Problem(404, f"{what} not found")


def forbidden(reason: str = "You are not allowed to do this") -> Problem:
    return Problem(403, reason)


def conflict(reason: str, **extra: Any) -> Problem:
    return Problem(409, reason, **extra)
