"""Several API processes behind HAProxy (infra/lb.sh): long-polling Socket.IO clients work.

A polling session lives in the process that opened it; every later request of the session must reach
that process. infra/lb.sh balances round-robin and pins each client with a cookie. Without the pin,
a polling client's second request lands on the other process and the connection fails ("Invalid
session"), which is why `uvicorn --workers N` cannot serve polling clients.
"""
from __future__ import annotations

import asyncio
import subprocess

import httpx
import pytest

from tests.helpers.processes import free_port
from tests.helpers.projects import insert_project
from tests.helpers.realtime import connect
from tests.helpers.run import REPO, TMP


@pytest.fixture
def load_balancer():
    """Factory: `bash infra/lb.sh up PORT BACKENDS...`; every balancer started is taken down after the test."""
    started: list[int] = []
    env = {"FILMO_LB_DIR": str(TMP / "lb"), "PATH": "/usr/sbin:/usr/bin:/bin"}

    def _up(*backends: int) -> int:
        port = free_port()
        subprocess.run(["bash", "infra/lb.sh", "up", str(port), *map(str, backends)], cwd=REPO, env=env,
                       check=True, capture_output=True, timeout=30)
        started.append(port)
        return port

    yield _up
    for port in started:
        subprocess.run(["bash", "infra/lb.sh", "down", str(port)], cwd=REPO, env=env, capture_output=True, timeout=60)


def _backend_of(rec) -> str:
    """Which API process HAProxy pinned this client to (its FILMO_API cookie)."""
    cookies = {c.key: c.value for c in rec.client.eio.http.cookie_jar}
    return cookies["FILMO_API"]


async def test_polling_clients_through_the_balancer_to_two_processes_exchange_messages(
        start_server, load_balancer, make_user):
    extra = {"FORWARDED_ALLOW_IPS": "127.0.0.1"}
    a, b = start_server(extra_env=extra), start_server(extra_env=extra)
    port = load_balancer(a.port, b.port)
    # A host name, not an IP: aiohttp's cookie jar (under python-socketio's client) ignores cookies of bare IPs.
    url = f"http://localhost:{port}"
    async with httpx.AsyncClient() as http:
        assert (await http.get(f"{url}/readyz", timeout=10)).status_code == 200

    people = [await make_user() for _ in range(6)]
    project_id = str(await insert_project(people[0], *people[1:]))
    clients = [await connect(url, p.token, transports=("polling",)) for p in people]
    try:
        assert {_backend_of(c) for c in clients} == {"api1", "api2"}  # both processes hold sessions
        for c in clients:
            ack = await c.call("join_project", {"project_id": project_id})
            assert ack["ok"], ack
        sent = []
        for i, c in enumerate(clients):
            ack = await c.call("send_message", {"project_id": project_id, "content": f"hello {i}"})
            assert ack["ok"], ack
            sent.append(ack["message"]["id"])
        for c in clients:  # every member, on either process, gets every message, in one order
            await c.wait_for("message", lambda d: d["id"] == sent[-1], timeout=15)
            assert [m["id"] for m in c.of("message") if m["id"] in sent] == sent
        await asyncio.sleep(0.5)
        assert all(c.client.connected for c in clients)  # still on polling, still connected
        assert all(c.client.transport() == "polling" for c in clients)
    finally:
        for c in clients:
            await c.close()
