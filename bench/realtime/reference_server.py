"""The reference the realtime benchmark measures Filmo against, in the same run: a minimal python-socketio server.

It speaks the same events to the same load clients (bench/realtime/load.mjs): `join_project` enters the room,
`send_message` broadcasts a message of Filmo's shape and size to the room and acks it. It uses the same Redis
manager as Filmo (realtime/fanout.py's FanoutRedisManager: python-socketio's AsyncRedisManager with the
in-process fan-out) on its own channel, with the same server options, and is served by uvicorn with the same
options. It does nothing else: no authentication, no database, no flood limit, no presence.

    uvicorn bench.realtime.reference_server:app   (env REDIS_URL, REFERENCE_CHANNEL)
"""
from __future__ import annotations

import itertools
import os
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import socketio

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from realtime.fanout import FanoutRedisManager, install

sio = socketio.AsyncServer(
    async_mode="asgi", cors_allowed_origins="*", async_handlers=False, max_http_buffer_size=64 * 1024,
    client_manager=FanoutRedisManager(os.environ.get("REDIS_URL", "redis://127.0.0.1:6380/0"),
                                      channel=os.environ.get("REFERENCE_CHANNEL", "bench-reference")))
install(sio)


async def _healthz(scope, receive, send):
    """Anything but /socket.io answers 200 (the benchmark waits for /healthz)."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


app = socketio.ASGIApp(sio, other_asgi_app=_healthz)
_ids = itertools.count(1)
_sender = str(uuid.uuid4())


@sio.event
async def join_project(sid, data):
    await sio.enter_room(sid, f"project:{data['project_id']}")
    return {"ok": True, "project_id": data["project_id"], "online_users": [], "last_read_message_id": None,
            "unread_count": 0}


@sio.event
async def send_message(sid, data):
    # The same keys and value shapes as Filmo's MessageOut, so frames have the same size.
    message = {"id": next(_ids), "project_id": data["project_id"], "sender_id": _sender,
               "sender_name": "Bench Person 1234", "content": data["content"],
               "sent_at": datetime.now(UTC).isoformat(), "edited_at": None, "is_deleted": False}
    await sio.emit("message", message, room=f"project:{data['project_id']}")
    return {"ok": True, "message": message}
