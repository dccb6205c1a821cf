"""Fixtures for the accounts tests: a real SMTP server (aiosmtpd) inside the test process.

Import the fixtures into a test module (`from tests.fixtures_accounts import smtp, ...`); pytest only
auto-loads conftest.py.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage

import httpx
import pytest
from aiosmtpd.controller import Controller

from tests.conftest import eventually, free_port

API = "/api/v1"
PASSWORD = "a long enough password"
CODE = re.compile(r"\b(\d{6})\b")


@dataclass
class Received:
    to: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        return self.message.get_body(("plain",)).get_content()

    @property
    def html(self) -> str:
        return self.message.get_body(("html",)).get_content()

    @property
    def code(self) -> str | None:
        found = CODE.search(self.text)
        return found.group(1) if found else None


class Mailbox:
    """The aiosmtpd handler: keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[Received] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        msg = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        self.messages.append(Received(to=[a.lower() for a in envelope.rcpt_tos], message=msg))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Received]:
        return [m for m in self.messages if address.lower() in m.to]

    async def last_to(self, address: str) -> Received:
        async def check():
            found = self.to(address)
            return found[-1] if found else None

        return await eventually(check, timeout=10)

    async def code_for(self, address: str) -> str:
        received = await self.last_to(address)
        assert received.code, f"no code in the message to {address}: {received.text!r}"
        return received.code


def _use_settings(mp: pytest.MonkeyPatch, **env: str) -> None:
    from api.core.settings import get_settings

    for key, value in env.items():
        mp.setenv(key, value)
    get_settings.cache_clear()


@pytest.fixture
def smtp(monkeypatch):
    """A running SMTP server (no TLS, no auth) the app sends to; yields its Mailbox."""
    from api.core.settings import get_settings

    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    with monkeypatch.context() as mp:
        _use_settings(mp, SMTP_SERVER="127.0.0.1", SMTP_PORT=str(port), SMTP_SECURITY="none",
                      SMTP_USERNAME="", SMTP_PASSWORD="")
        try:
            yield box
        finally:
            controller.stop()
    get_settings.cache_clear()


@pytest.fixture
def settings_env(monkeypatch):
    """Change settings through environment variables for one test (restored afterwards)."""
    from api.core.settings import get_settings

    with monkeypatch.context() as mp:
        yield lambda **env: _use_settings(mp, **env)
    get_settings.cache_clear()


@pytest.fixture
async def client_at(app):
    """Factory: an HTTP client to the same app that appears to come from another network address."""
    clients: list[httpx.AsyncClient] = []

    def _make(host: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(host, 40000))
        c = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        clients.append(c)
        return c

    yield _make
    for c in clients:
        await c.aclose()


def new_email() -> str:
    return f"person-{uuid.uuid4().hex[:10]}@example.com"


async def sign_up(client: httpx.AsyncClient, mailbox: Mailbox, email: str | None = None,
                  password: str = PASSWORD) -> dict:
    """The whole sign-up through HTTP and the received email; returns the token response plus email/password."""
    email = email or new_email()
    resp = await client.post(f"{API}/auth/signup/send-otp", json={"email": email, "password": password})
    assert resp.status_code == 200, resp.text
    code = await mailbox.code_for(email)
    resp = await client.post(f"{API}/auth/signup/verify-otp/{email}", json={"otp": code})
    assert resp.status_code == 200, resp.text
    return {**resp.json(), "email": email, "password": password}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}
