"""`HEAD` wherever `GET` exists (RFC 9110 9.3.2): the GET's status and headers, without the body.

One ASGI middleware instead of a HEAD route beside every GET: the request runs as a GET (same checks,
same headers, `Content-Length` of the body it would send) and the body is dropped on the way out.
It wraps the FastAPI app only: Socket.IO (Engine.IO) answers its own paths before it.
"""
from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_without_body)
