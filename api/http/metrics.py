"""`GET /metrics` (Prometheus text format) and the HTTP numbers behind it.

- `RequestMetrics` counts every answer by method, route template (`/api/v1/projects/{project_id}`, never the
  id: one series per route, not per project) and status, and times it. Paths that match no route count as
  `unmatched`.
- `watch_socketio(sio)` reports this process's Socket.IO connections and rooms at scrape time.
- Who may read it: a client on this machine (loopback) that did not come through a proxy, or anyone sending
  `Authorization: Bearer <METRICS_TOKEN>` when that setting is set. Anything else gets a 403: the numbers
  name routes and load, nothing personal, but they are not for the public.
"""
from __future__ import annotations

import hmac
import ipaddress
import time

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http.routes import template_of
from api.kernel.metrics import HTTP_REQUESTS, HTTP_SECONDS
from api.kernel.problems import forbidden
from api.kernel.settings import get_settings

router = APIRouter()
# Undocumented paths that are counted by name (anything else undocumented is `unmatched`).
_OWN_PATHS = frozenset({"/metrics", "/docs", "/redoc", "/openapi.json"})


class RequestMetrics:
    """Pure ASGI middleware: one count and one timing per HTTP answer (inside the error handling, so a
    500 or a 503 is counted with its status)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def counting_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            app = scope.get("app")
            route = (template_of(app, scope["method"], scope["path"]) if app is not None else None) or (
                scope["path"] if scope["path"] in _OWN_PATHS else "unmatched")
            HTTP_REQUESTS.labels(scope["method"], route, str(status)).inc()
            HTTP_SECONDS.labels(route).observe(time.perf_counter() - started)


def _may_read(request: Request) -> bool:
    token = get_settings().metrics_token
    sent = request.headers.get("authorization", "")
    if token and hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        return True
    if request.headers.get("x-forwarded-for") or request.client is None:
        return False  # through a proxy: the peer's address says nothing about the client
    try:
        return ipaddress.ip_address(request.client.host).is_loopback
    except ValueError:
        return False


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    if not _may_read(request):
        raise forbidden("/metrics is for this machine, or for a client sending METRICS_TOKEN as a bearer token")
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


class _SocketIO(Collector):
    def __init__(self, sio) -> None:
        self.sio = sio

    def collect(self):
        connections = GaugeMetricFamily("filmo_socketio_connections", "Socket.IO connections open on this process.")
        rooms = GaugeMetricFamily("filmo_socketio_rooms", "Socket.IO rooms with a member on this process (project "
                                                          "chats, people), by kind.", labels=["kind"])
        connections.add_metric([], len(getattr(self.sio.eio, "sockets", {})))
        counts: dict[str, int] = {}
        for namespace_rooms in dict(getattr(self.sio.manager, "rooms", {})).items():
            for name, members in dict(namespace_rooms[1]).items():
                # Every connection has a room of its own (its sid) and the None room: not rooms people join.
                if name is None or not members or name in members:
                    continue
                kind = name.split(":", 1)[0] if ":" in name else "other"
                counts[kind] = counts.get(kind, 0) + 1
        for kind, n in sorted(counts.items()):
            rooms.add_metric([kind], n)
        yield connections
        yield rooms


_watched: list[_SocketIO] = []


def watch_socketio(sio) -> None:
    """Report `sio`'s connections and rooms on /metrics (once per process)."""
    if not _watched:
        _watched.append(_SocketIO(sio))
        REGISTRY.register(_watched[0])
