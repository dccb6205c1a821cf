"""A mailbox for a real SMTP server (aiosmtpd) inside the test process, and the messages it received."""
from __future__ import annotations

import re
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage

from tests.helpers.waiting import eventually

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
