"""Socket.IO server shared by every API process through Redis."""
from __future__ import annotations

import socketio

from api.core.settings import get_settings


def _manager() -> socketio.AsyncRedisManager:
    settings = get_settings()
    return socketio.AsyncRedisManager(settings.redis_url, channel=f"{settings.queue_namespace}:socketio")


sio = socketio.AsyncServer(async_mode="asgi", client_manager=_manager(), cors_allowed_origins=[])
