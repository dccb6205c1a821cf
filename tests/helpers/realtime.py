"""A recording Socket.IO client for the chat and real-time tests."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import socketio


@dataclass
class Recorder:
    """A python-socketio AsyncClient that records every event it receives."""

    client: socketio.AsyncClient
    events: list[tuple[str, object]] = field(default_factory=list)
    connect_error: object = None

    def of(self, name: str) -> list:
        return [data for event, data in self.events if event == name]

    async def wait_for(self, name: str, predicate=lambda d: True, timeout: float = 10.0):
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            for data in self.of(name):
                if predicate(data):
                    return data
            await asyncio.sleep(0.02)
        raise AssertionError(f"no {name!r} event matching within {timeout}s; got {self.events[-10:]}")

    async def call(self, event: str, data=None, timeout: float = 10.0):
        if data is None:
            return await self.client.call(event, timeout=timeout)
        return await self.client.call(event, data, timeout=timeout)

    async def close(self) -> None:
        if self.client.connected:
            await self.client.disconnect()


async def connect(url: str, token: str | None, *, auth: object = "default", transports=("websocket",)) -> Recorder:
    client = socketio.AsyncClient(reconnection=False)
    rec = Recorder(client)

    @client.on("*")
    async def _any(event, *args):
        rec.events.append((event, args[0] if len(args) == 1 else list(args)))

    @client.on("connect_error")
    async def _refused(data):
        rec.connect_error = data

    payload = {"token": token} if auth == "default" else auth
    await client.connect(url, auth=payload, transports=list(transports), wait_timeout=10)
    return rec


async def try_connect(url: str, auth: object) -> object:
    """Connect expecting a refusal; returns the server's connect_error data."""
    client = socketio.AsyncClient(reconnection=False)
    refused: dict = {}

    @client.on("connect_error")
    async def _refused(data):
        refused["data"] = data

    try:
        await client.connect(url, auth=auth, transports=["websocket"], wait_timeout=10)
    except socketio.exceptions.ConnectionError:
        return refused.get("data")
    await client.disconnect()
    raise AssertionError("the connection was accepted")
