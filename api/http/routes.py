"""The documented path templates of the app, compiled once: which template a request path is, and which
methods a path answers. Used for the 405's `Allow` (errors.py) and the route label of the metrics (metrics.py),
so both speak of `/api/v1/projects/{project_id}`, never of one project's id."""
from __future__ import annotations

import re
from functools import lru_cache

from fastapi import FastAPI
from starlette.routing import compile_path

Template = tuple[re.Pattern, str, frozenset[str]]


def path_templates(app: FastAPI) -> list[Template]:
    """(regex, template, methods) of every documented path, literal templates first (`/profile/create` before
    `/profile/{user_id}`); built once per app."""
    table = getattr(app.state, "path_templates", None)
    if table is None:
        paths = sorted(app.openapi()["paths"].items(), key=lambda item: (item[0].count("{"), item[0]))
        table = [(compile_path(path)[0], path, frozenset(method.upper() for method in operations))
                 for path, operations in paths]
        app.state.path_templates = table
    return table


def template_of(app: FastAPI, method: str, path: str) -> str | None:
    """The documented template a request answers under (the method's own route first), None if undocumented.
    Cached per (method, path): ~85 regexes per new path, nothing for a path seen before."""
    return _template_of(app, method, path)


@lru_cache(maxsize=8192)
def _template_of(app: FastAPI, method: str, path: str) -> str | None:
    fallback = None
    for pattern, template, methods in path_templates(app):
        if pattern.match(path):
            if method in methods or (method == "HEAD" and "GET" in methods):
                return template
            fallback = fallback or template
    return fallback
