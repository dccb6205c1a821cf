"""Outgoing mail over SMTP (plain text + HTML alternative).

SMTP_SECURITY: `starttls` (port 587), `ssl` (implicit TLS, port 465) or `none` (a plain local relay).
Credentials are used only when SMTP_PASSWORD is set (login name: SMTP_USERNAME, else SMTP_EMAIL).

With no SMTP_SERVER (the dev/test default) nothing is sent: the message is logged and written as an
.eml file to MAIL_DIR, so a person can sign up on a fresh machine. The body (which holds one-time
codes) is logged only outside production.
"""
from __future__ import annotations

import asyncio
import logging
import secrets
import smtplib
import ssl
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from api.kernel.settings import Settings, get_settings

log = logging.getLogger("filmo.email")
SMTP_TIMEOUT_S = 15


class EmailDeliveryError(Exception):
    """The mail could not be handed to the SMTP server."""


def build_message(to: str, subject: str, text: str, html: str, settings: Settings,
                  headers: dict[str, str] | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"Filmo <{settings.smtp_email}>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=settings.smtp_email.rpartition("@")[2] or "filmo.local")
    for name, value in (headers or {}).items():  # e.g. List-Unsubscribe (RFC 8058)
        msg[name] = value
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg


def _send_blocking(msg: EmailMessage, settings: Settings) -> None:
    host, port = settings.smtp_server, settings.smtp_port
    context = ssl.create_default_context(cafile=settings.smtp_ca_file or None)
    if settings.smtp_security == "ssl":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=SMTP_TIMEOUT_S, context=context)
    else:
        smtp = smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT_S)
    with smtp:
        smtp.ehlo()
        if settings.smtp_security == "starttls":
            smtp.starttls(context=context)
            smtp.ehlo()
        if settings.smtp_password:
            smtp.login(settings.smtp_username or settings.smtp_email, settings.smtp_password)
        smtp.send_message(msg)


def _write_to_folder(msg: EmailMessage, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
    safe_to = "".join(c if c.isalnum() or c in "@._-" else "_" for c in str(msg["To"]))[:80]
    path = folder / f"{stamp}-{safe_to}-{secrets.token_hex(3)}.eml"
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(msg.as_bytes())
    tmp.replace(path)  # readers never see a half-written file
    return path


async def send_email(to: str, subject: str, text: str, html: str, headers: dict[str, str] | None = None) -> None:
    """Send one message; raises EmailDeliveryError when the SMTP server cannot take it."""
    settings = get_settings()
    msg = build_message(to, subject, text, html, settings, headers)
    if not settings.smtp_server:
        path = await asyncio.to_thread(_write_to_folder, msg, settings.mail_dir)
        if settings.is_prod:
            log.warning("SMTP_SERVER is not set: mail to %s (%s) written to %s, not sent", to, subject, path)
        else:
            log.warning("mail not sent (no SMTP_SERVER); written to %s\nTo: %s\nSubject: %s\n\n%s",
                        path, to, subject, text)
        return
    try:
        # smtplib blocks; a worker thread keeps the event loop serving other requests meanwhile.
        await asyncio.to_thread(_send_blocking, msg, settings)
    except (OSError, smtplib.SMTPException) as exc:
        log.error("SMTP delivery to %s:%s failed: %s", settings.smtp_server, settings.smtp_port,
                  exc.__class__.__name__)
        raise EmailDeliveryError(str(exc)) from exc
    log.info("mail sent to %s (%s)", to, subject)
