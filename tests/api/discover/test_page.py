"""The discovery page's HTTP side: the page with a same-origin-only CSP, its bundle (hashed files cached for
good, MapLibre's worker beside them), nothing else from the static folder, and a clear 503 when not built."""
from __future__ import annotations

import re

from tests.helpers.http import assert_problem


async def test_the_page_and_its_bundle_are_served_from_this_origin(client):
    resp = await client.get("/discover")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
    csp = resp.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "connect-src 'self'" in csp and "script-src 'self'" in csp
    assert resp.headers["cache-control"] == "no-cache"
    assets = re.findall(r'(?:src|href)="(/discover/static/[^"]+)"', resp.text)
    assert len(assets) == 2 and not re.search(r'(?:src|href)="(?:https?:)?//', resp.text), resp.text
    for path in assets:
        asset = await client.get(path)
        assert asset.status_code == 200, path
        assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
        kind = "text/javascript" if path.endswith(".js") else "text/css"
        assert asset.headers["content-type"].startswith(kind)
    worker = await client.get("/discover/static/maplibre-gl-worker.mjs")
    assert worker.status_code == 200 and worker.headers["content-type"].startswith("text/javascript")
    assert worker.headers["cache-control"] == "no-cache"
    root = await client.get("/", follow_redirects=False)
    assert root.status_code == 307 and root.headers["location"] == "/discover"


async def test_only_the_built_files_are_served(client):
    for name in ("..%2F..%2Fmain.py", "..%2Frouter.py", "nope.js", ".build.sha", "index.html"):
        resp = await client.get(f"/discover/static/{name}")
        assert_problem(resp, 404)


async def test_an_unbuilt_page_says_how_to_build_it(client, monkeypatch, tmp_path):
    from api.discover import router

    monkeypatch.setattr(router, "STATIC", tmp_path / "static")
    for path in ("/discover", "/discover/static/maplibre-gl-worker.mjs"):
        resp = await client.get(path)
        body = assert_problem(resp, 503, "infra/install.sh")
        assert resp.headers["retry-after"] == "60", body
