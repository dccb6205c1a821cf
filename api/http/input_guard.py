"""What no route should have to parse: refused before routing, the same way on every route.

`InputGuard` is a pure ASGI middleware. In this order:

1. The path and the query string are decoded as the routes see them; a parameter (or the path) whose
   text breaks the text rule (api.kernel.text: no control characters but tab/LF/CR, no unpaired
   surrogates) is refused with 422 naming it.
2. Routes under `streamed_prefixes` (the uploads) are passed on as they are: they stream their body
   and enforce their own, larger limits (UPLOAD_PHOTO_MAX_BYTES, UPLOAD_PORTFOLIO_MAX_BYTES).
3. The body may hold at most REQUEST_MAX_BODY_BYTES: a larger Content-Length is refused with 413 at
   once, without reading; a body without one is counted as it arrives and refused as soon as it
   passes the limit. So no route ever parses (or builds errors for) more than that.
4. A JSON body with more than MAX_JSON_ITEMS keys and values is refused with 413 (validating it
   would cost the event loop seconds, and the error list would be as long as the body).
5. A JSON or URL-encoded form body whose strings (keys and values, at any depth) break the text
   rule is refused with 422 naming each field ("roles.0.description"), at most MAX_ERRORS of them.

JSON can only carry a forbidden character as an escape (or a raw DEL), and MAX_JSON_ITEMS need
20 KB at least, so most bodies skip the second parse. The buffered body is then handed to the app
unchanged.
"""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http.errors import MAX_ERRORS, capped_errors, problem_response
from api.kernel.settings import get_settings
from api.kernel.text import text_problem

# More keys and values than any request needs (a project with 50 roles has under 1,000): a larger JSON
# body is refused before validation, which costs ~7 us per item and error (a 2 MB body of unknown keys
# used to take pydantic 1.7 s of one CPU).
MAX_JSON_ITEMS = 10_000


def _size(n: int) -> str:
    if n % (1024 * 1024) == 0:
        return f"{n // (1024 * 1024)} MB"
    if n % 1024 == 0:
        return f"{n // 1024} KB"
    return f"{n} bytes"


class _Found:
    """Field errors collected up to MAX_ERRORS, and how many there were in all."""

    def __init__(self) -> None:
        self.errors: list[dict[str, str]] = []
        self.total = 0

    def check(self, field: str, value: str) -> None:
        reason = text_problem(value)
        if reason is not None:
            self.total += 1
            if len(self.errors) < MAX_ERRORS:
                self.errors.append({"field": field, "reason": reason})


def _pairs(encoded: str, found: _Found) -> None:
    # Decoded as Starlette decodes query strings and URL-encoded forms (UTF-8, undecodable bytes replaced).
    for name, value in parse_qsl(encoded, keep_blank_values=True):
        found.check(name, name)
        found.check(name, value)


def _json_strings(document: Any, found: _Found) -> int:
    """Check every string of a JSON document, keys included, with its field path; return how many keys
    and values it holds. Iterative (no recursion limit); stops counting past MAX_JSON_ITEMS."""
    items = 0
    stack: list[tuple[str, Any]] = [("", document)]
    while stack and items <= MAX_JSON_ITEMS:
        path, value = stack.pop()
        items += 1
        if isinstance(value, str):
            found.check(path or "body", value)
        elif isinstance(value, dict):
            items += len(value)
            for key, item in reversed(list(value.items())):
                field = f"{path}.{key}" if path else key
                found.check(field, key)
                stack.append((field, item))
        elif isinstance(value, list):
            stack.extend((f"{path}.{i}" if path else str(i), item) for i, item in reversed(list(enumerate(value))))
    return items


def _body_problems(content_type: str, body: bytes, found: _Found) -> bool:
    """Check the strings of a JSON or URL-encoded form body; False if a JSON body holds too many items."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json" or media_type.endswith("+json"):
        # A forbidden character needs an escape (or a raw DEL); MAX_JSON_ITEMS need 2 bytes each at least.
        if b"\\" not in body and b"\x7f" not in body and len(body) < 2 * MAX_JSON_ITEMS:
            return True
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            return True  # not JSON: the route answers that, as before
        return _json_strings(document, found) <= MAX_JSON_ITEMS
    if media_type == "application/x-www-form-urlencoded":
        _pairs(body.decode("latin-1"), found)
    return True


class InputGuard:
    """The checks of the module docstring, in that order; the app then gets the buffered body."""

    def __init__(self, app: ASGIApp, *, streamed_prefixes: tuple[str, ...] = ()) -> None:
        self.app = app
        self.streamed_prefixes = streamed_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        found = _Found()
        found.check("path", path)
        _pairs(scope.get("query_string", b"").decode("latin-1"), found)
        if found.total:
            await _refuse_text(found, scope, receive, send)
            return
        if path.startswith(self.streamed_prefixes):
            await self.app(scope, receive, send)
            return

        limit = get_settings().request_max_body_bytes
        headers = Headers(scope=scope)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await _too_large(f"larger than the {_size(limit)} limit", scope, receive, send)
            return
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away before sending it all
                return
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > limit:
                await _too_large(f"larger than the {_size(limit)} limit", scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)

        if not _body_problems(headers.get("content-type", ""), body, found):
            await _too_large(f"more than {MAX_JSON_ITEMS} JSON keys and values", scope, receive, send)
            return
        if found.total:
            await _refuse_text(found, scope, receive, send)
            return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: http.disconnect, when it comes

        await self.app(scope, replay, send)


async def _too_large(reason: str, scope: Scope, receive: Receive, send: Send) -> None:
    response = problem_response(413, f"body: {reason}", instance=scope["path"],
                                errors=[{"field": "body", "reason": reason}])
    await response(scope, receive, send)


async def _refuse_text(found: _Found, scope: Scope, receive: Receive, send: Send) -> None:
    capped = capped_errors(found.errors, total=found.total)
    response = problem_response(422, capped.pop("detail"), instance=scope["path"], **capped)
    await response(scope, receive, send)
