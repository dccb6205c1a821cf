"""Which pages may open a Socket.IO connection: CORS_ORIGINS, and the app's own pages (the discovery page
at /discover connects from the host it talks to); a page of another site may not."""
from __future__ import annotations

import httpx

HANDSHAKE = {"EIO": "4", "transport": "polling"}


async def test_the_apps_own_pages_and_configured_origins_connect_other_sites_do_not(live_server):
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as http:
        own = await http.get("/socket.io/", params=HANDSHAKE, headers={"Origin": live_server.url})
        assert own.status_code == 200 and own.text.startswith("0{"), own.text
        configured = await http.get("/socket.io/", params=HANDSHAKE, headers={"Origin": "http://localhost:3000"})
        assert configured.status_code == 200, configured.text
        for other in ("http://evil.example", f"http://127.0.0.1.evil.example:{live_server.port}",
                      "http://127.0.0.1:1"):
            refused = await http.get("/socket.io/", params=HANDSHAKE, headers={"Origin": other})
            assert refused.status_code == 400 and "not an accepted origin" in refused.text, (other, refused.text)
