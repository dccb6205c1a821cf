"""Paging over HTTP: `?page=&limit=` as a query dependency, and the RFC 8288 `Link: <...>; rel="next"` header.

One rule for every list (README "Pagination"): a `Link` header with `rel="next"` is sent exactly when a next
page exists, and never on the last page, so a client follows it until it is absent. The target is this
request's own path and query with the paging parameters moved on (`page`, `cursor` or `before_id`), as a
relative reference (resolved against the request's URL, it lands on this server whatever host name the
client used, as the problems' `type` does).
"""
from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import Query, Request, Response

from api.kernel.paging import PageParams

Page = Annotated[PageParams, Query()]


def next_link(request: Request, **params: str | int | None) -> str:
    """`<path?query>; rel="next"`: the request's query with `params` set (None removes a parameter)."""
    items = [(k, v) for k, v in request.query_params.multi_items() if k not in params]
    items += [(k, str(v)) for k, v in params.items() if v is not None]
    target = request.url.path + (f"?{urlencode(items)}" if items else "")
    return f'<{target}>; rel="next"'


def set_next_link(request: Request, response: Response, **params: str | int | None) -> None:
    response.headers["Link"] = next_link(request, **params)


def page_headers(request: Request, response: Response, page: int, limit: int, total: int) -> None:
    """`X-Total-Count`, and `Link` to page + 1 when there are items after this page."""
    response.headers["X-Total-Count"] = str(total)
    if page * limit < total:
        set_next_link(request, response, page=page + 1, limit=limit)
