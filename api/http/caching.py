"""Conditional GETs for public data that rarely changes (the skill catalogue): `ETag`, `Cache-Control`, 304.

The ETag is a hash of the answer's bytes, so it changes exactly when the answer does (a new skill, another
page) and every API process computes the same one without sharing anything. A client (or a cache) that sends
it back in `If-None-Match` gets a 304 without a body. The query still runs: what is saved is the transfer and
the client's parsing (the catalogue's first page is ~6 KB; the whole catalogue, 94 skills, ~7 KB).
"""
from __future__ import annotations

import hashlib

from fastapi import Request, Response

# New skills are rare and may take this long to show in a cache; after that the client revalidates (a 304).
CATALOGUE_MAX_AGE_S = 300


def _matches(if_none_match: str, etag: str) -> bool:
    if if_none_match.strip() == "*":
        return True
    # Weak comparison (RFC 9110 13.1.2): W/"x" matches "x".
    return any(tag.strip().removeprefix("W/") == etag for tag in if_none_match.split(","))


def cached_json(request: Request, body: bytes, headers: dict[str, str] | None = None,
                max_age: int = CATALOGUE_MAX_AGE_S) -> Response:
    """A JSON answer with `ETag` and `Cache-Control: public, max-age`; a 304 when `If-None-Match` names it."""
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    headers = {**(headers or {}), "ETag": etag, "Cache-Control": f"public, max-age={max_age}"}
    if _matches(request.headers.get("if-none-match", ""), etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)
