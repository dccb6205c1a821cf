"""Probes: /livez (the process answers), /readyz (it can serve traffic), /healthz (alias of /livez)."""
from __future__ import annotations

import httpx

from tests.helpers.http import API
from tests.helpers.processes import free_port


async def test_livez_and_its_healthz_alias(client):
    for path in ("/livez", "/healthz", f"{API}/livez"):
        resp = await client.get(path)
        assert resp.status_code == 200 and resp.json() == {"status": "ok"}, path


async def test_readyz_is_ready_with_every_service_up(client):
    resp = await client.get("/readyz")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["status"] == "ready" and body["degraded"] == []
    assert all(s["up"] for s in body["services"].values())


async def test_readyz_with_opensearch_down_is_ready_but_degraded(start_server, make_user):
    """Search answers from PostGIS without OpenSearch: a load balancer must keep sending traffic (200), and the
    body says what is degraded."""
    server = start_server(extra_env={"OPENSEARCH_URL": f"http://127.0.0.1:{free_port()}"})
    resp = httpx.get(f"{server.url}/readyz", timeout=10)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["status"] == "degraded"
    assert body["degraded"] == ["search: PostGIS fallback"]
    assert body["services"]["opensearch"]["up"] is False
    assert body["services"]["postgis"]["up"] and body["services"]["redis"]["up"]
    # ... and search does answer.
    user = await make_user()
    search = httpx.get(f"{server.url}{API}/search/projects", headers=user.headers, timeout=10)
    assert search.status_code == 200, search.text

