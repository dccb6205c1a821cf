"""Deliver a broadcast to this process's sockets: encoded once, written without a task per recipient.

python-socketio's `AsyncManager.emit` encodes a broadcast once, then starts one task per recipient.
Each task walks Engine.IO's send path: the ping check, the socket's queue, and its writer task, woken
through `asyncio.wait_for`, before the ASGI send. At chat load (500 messages/s into rooms of 50) that
per-recipient machinery took most of a server's CPU (bench/results/realtime.md).

Here a WebSocket recipient whose writer is idle gets the frame written at once, inside the emit loop,
through uvicorn's WebSocket connection, the same two calls its ASGI `send` makes. Every other recipient
gets the packet on its Engine.IO queue, the library's own path. That covers polling clients, upgrades
in progress, writers with packets in hand and sockets under back-pressure. A socket's packets therefore
leave in the order they were emitted on either path. Broadcasts with callbacks or binary attachments
use the library's code unchanged.
"""
from __future__ import annotations

from collections.abc import Callable

import socketio
from engineio import packet as eio_packet
from engineio.async_drivers import asgi as eio_asgi
from socketio import packet as sio_packet
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState

from realtime.publish import StampedRedisManager, delivery_age


class TrackedWebSocket(eio_asgi.WebSocket):
    """Engine.IO's ASGI WebSocket, made known to its socket and counting sends in progress."""

    def __init__(self, handler, server):
        super().__init__(handler, server)
        self.sending = 0
        # `handler` is the bound `_websocket_handler` of the Engine.IO socket being upgraded.
        handler.__self__.tracked_ws = self

    def connection(self) -> WebSocketsSansIOProtocol | None:
        """uvicorn's connection behind the ASGI send, when it is one we know how to write to."""
        protocol = getattr(self.asgi_send, "__self__", None)
        return protocol if isinstance(protocol, WebSocketsSansIOProtocol) else None

    async def send(self, message):
        self.sending += 1
        try:
            await super().send(message)
        finally:
            self.sending -= 1


def _write_now(socket, payload: bytes) -> bool:
    """Write a text frame to the socket at once if nothing could be ahead of it; False to queue instead."""
    ws = getattr(socket, "tracked_ws", None)
    if ws is None or not socket.upgraded or socket.upgrading or ws.sending:
        return False
    # The writer task may have taken packets off the queue without having written them yet: Engine.IO
    # marks each taken packet done just before writing it, so unfinished work means "not idle".
    if not socket.queue.empty() or socket.queue._unfinished_tasks:
        return False
    connection = ws.connection()
    if (connection is None or not connection.writable.is_set() or connection.close_sent or connection.disconnected
            or connection.transport.is_closing()):
        return False  # no such connection, paused by back-pressure, or closing: the writer handles it
    try:
        connection.conn.send_text(payload)
    except InvalidState:
        return False
    connection.transport.write(b"".join(connection.conn.data_to_send()))
    return True


class LocalFanout(socketio.AsyncManager):
    async def emit(self, event, data, namespace, room=None, skip_sid=None, callback=None, to=None, **kwargs):
        room = to or room
        if callback is not None or namespace not in self.rooms:
            return await super().emit(event, data, namespace, room=room, skip_sid=skip_sid, callback=callback,
                                      **kwargs)
        args = list(data) if isinstance(data, tuple) else [] if data is None else [data]
        encoded = self.server.packet_class(sio_packet.EVENT, namespace=namespace, data=[event, *args]).encode()
        if isinstance(encoded, list):  # binary attachments: several Engine.IO packets per message
            return await super().emit(event, data, namespace, room=room, skip_sid=skip_sid, **kwargs)
        skip = set(skip_sid) if isinstance(skip_sid, list) else {skip_sid}
        pkt = eio_packet.Packet(eio_packet.MESSAGE, encoded)
        payload = pkt.encode().encode()
        sockets = self.server.eio.sockets
        for sid, eio_sid in self.get_participants(namespace, room):
            if sid in skip:
                continue
            socket = sockets.get(eio_sid)
            if socket is None or socket.closed:
                continue
            if not _write_now(socket, payload):
                socket.queue.put_nowait(pkt)


class FanoutRedisManager(StampedRedisManager, LocalFanout):
    """The Redis manager (bounded pool, stamped publishes: realtime/publish.py) whose local delivery is LocalFanout's.

    After delivering a broadcast this process published itself, `on_delivery_age` hears how late that was
    (seconds from publish to written or queued here, on this process's own clock), an overload sign
    (realtime/overload.py).
    """

    on_delivery_age: Callable[[float], None] | None = None

    async def _handle_emit(self, message):
        await super()._handle_emit(message)
        if self.on_delivery_age is not None and (age := delivery_age(message)) is not None:
            self.on_delivery_age(age)


def install(sio: socketio.AsyncServer) -> None:
    """Use TrackedWebSocket for this server's WebSocket connections (a copy: the driver table is shared)."""
    sio.eio._async = {**sio.eio._async, "websocket": TrackedWebSocket}
