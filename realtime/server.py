"""Socket.IO server shared by every API process through Redis.

`AsyncRedisManager` lets any process emit to rooms whose sockets live in other processes (and
lets a write-only manager elsewhere do the same). Event handlers live in realtime/handlers.py.
"""
from __future__ import annotations

import socketio

from api.core.settings import get_settings
from realtime.config import get_realtime_settings
from realtime.emitter import channel
from realtime.fanout import FanoutRedisManager, install


def _manager() -> socketio.AsyncRedisManager:
    return FanoutRedisManager(get_settings().redis_url, channel=channel())


def _cors_origins() -> list[str]:
    return [o.strip() for o in get_settings().cors_origins.split(",") if o.strip()]


sio = socketio.AsyncServer(
    async_mode="asgi",
    client_manager=_manager(),
    cors_allowed_origins=_cors_origins(),
    # Refuse giant frames before they are parsed (a chat message is at most 5,000 characters).
    max_http_buffer_size=get_realtime_settings().realtime_max_payload_bytes,
    # One client's events are handled one after another, so a sender's messages keep their order;
    # different clients still run concurrently.
    async_handlers=False,
)
install(sio)

from realtime import handlers  # noqa: E402,F401  (registers the event handlers on `sio`)
