"""The discovery page at `/discover` (and `/` → `/discover`) and its built bundle at `/discover/static/`.

The bundle is built from web/ by `infra/install.sh` (npm ci + esbuild) into static/ (git-ignored); nothing
is fetched from another origin at run time, and the page's Content-Security-Policy says so to the browser
(scripts, styles, workers, images and connections: this origin only). The HTML is read per request, so
a rebuild needs no restart; the hashed script and stylesheet are cached for a year, the rest revalidates.
"""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

from api.kernel.problems import Problem

STATIC = Path(__file__).resolve().parent / "static"
PAGE_URL = "/discover"
STATIC_URL = "/discover/static"

# blob: workers and data:/blob: images are MapLibre's own (its worker bootstrap, canvas-made images).
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "worker-src 'self' blob:; child-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; "
       "base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
_TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css", ".map": "application/json"}
_IMMUTABLE = "public, max-age=31536000, immutable"

router = APIRouter(include_in_schema=False)


def _not_built() -> Problem:
    return Problem(503, "The discovery page is not built: run `bash infra/install.sh` (npm ci + esbuild in "
                        "api/discover/web)", headers={"Retry-After": "60"})


@router.get("/")
async def root() -> RedirectResponse:
    return RedirectResponse(PAGE_URL, status_code=307)


@router.get(PAGE_URL)
async def page() -> HTMLResponse:
    index = STATIC / "index.html"
    if not index.is_file():
        raise _not_built()
    html = index.read_text(encoding="utf-8")
    return HTMLResponse(html, headers={"Content-Security-Policy": CSP, "Cache-Control": "no-cache",
                                       "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"})


@router.get(STATIC_URL + "/{name}")
async def asset(name: str) -> FileResponse:
    # Only the flat files the build wrote: a name is looked up among them, never joined into a path.
    files = {p.name: p for p in STATIC.iterdir() if p.is_file()} if STATIC.is_dir() else {}
    path = files.get(name)
    if path is None or path.suffix not in _TYPES:
        if not files:
            raise _not_built()
        raise Problem(404, f"No such file in the discovery bundle: {name[:80]}")
    hashed = name.startswith("discover-")
    return FileResponse(path, media_type=_TYPES[path.suffix],
                        headers={"Cache-Control": _IMMUTABLE if hashed else "no-cache",
                                 "X-Content-Type-Options": "nosniff"})
