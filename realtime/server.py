"""The Socket.IO server object, shared by every API process through Redis.

`AsyncRedisManager` (here its in-process fan-out, realtime/fanout.py) lets any process emit to rooms
whose sockets live in other processes, and lets realtime.publish's write-only manager do the same.
The event handlers register themselves on `sio` in realtime/handlers.py, which the ASGI app imports.
"""
from __future__ import annotations

from urllib.parse import urlsplit

import socketio

from api.kernel.redis import connection_options
from api.kernel.settings import get_settings
from realtime.fanout import FanoutRedisManager, install
from realtime.overload import monitor
from realtime.publish import channel


def _manager() -> socketio.AsyncRedisManager:
    # Its subscription and its publishing connection reconnect after a Redis restart (the manager also
    # resubscribes on its own, with a backoff of 1 s doubling to 60 s, when a read fails outright).
    manager = FanoutRedisManager(get_settings().redis_url, channel=channel(), redis_options=connection_options())
    manager.on_delivery_age = monitor.note_delivery_age
    return manager


def _cors_origins() -> list[str]:
    return [o.strip() for o in get_settings().cors_origins.split(",") if o.strip()]


def _origin_allowed(origin: str, environ: dict) -> bool:
    """CORS_ORIGINS, and the app's own pages (the discovery page at /discover): a browser connecting from
    a page of the very host it connects to. A list alone would refuse those (python-engineio only adds
    the same origin when no list is given); another site's page never has this host as its origin."""
    if origin in _cors_origins():
        return True
    host = environ.get("HTTP_HOST", "").lower()
    return bool(host) and urlsplit(origin).netloc.lower() == host


sio = socketio.AsyncServer(
    async_mode="asgi",
    client_manager=_manager(),
    cors_allowed_origins=_origin_allowed,
    # Refuse giant frames before they are parsed (a chat message is at most 5,000 characters).
    max_http_buffer_size=get_settings().realtime_max_payload_bytes,
    # One client's events are handled one after another, so a sender's messages keep their order;
    # different clients still run concurrently.
    async_handlers=False,
)
install(sio)
