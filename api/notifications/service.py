"""Notifications: what a person is told, stored, pushed live and e-mailed.

- `notify(session, ...)` stores one notification inside the caller's transaction; after the commit it
  is pushed as the Socket.IO `notification` event to the person's sockets (room `user:<id>`) and, when
  its e-mail mode is `instant`, the `send_notification_emails` job is enqueued. Nothing is announced
  for a transaction that rolls back.
- E-mail: `instant` notifications are mailed one by one by the worker (the relay catches any whose job
  was lost: Redis down at commit, a worker killed); `daily` ones wait for the person's digest, one
  mail per person and local day, at their `digest_hour` in their time zone. A notification created
  after today's digest moment waits for tomorrow's, so a digest is never sent late in the evening.
- Unsubscribe: every mail carries a signed, expiring link (a JWT of type `unsubscribe`, 60 days); it
  turns e-mail off for the person without a sign-in. Notifications are still stored and pushed live.
- A mail is claimed (emailed_at set) before it is sent, in one UPDATE, so two workers never send it
  twice; a failed send gives the claim back and the job is retried.
"""
from __future__ import annotations

import json
import logging
import uuid
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jwt
from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from api.kernel.after_commit import after_commit
from api.kernel.clock import utcnow
from api.kernel.email import EmailDeliveryError, send_email
from api.kernel.paging import PageParams
from api.kernel.problems import field_error, not_found
from api.kernel.settings import get_settings
from api.notifications import mail_templates
from api.notifications.schemas import NotificationOut, PreferencesIn, PreferencesOut
from api.worker.registry import enqueue
from db.models import Notification, NotificationPreference
from db.session import get_sessionmaker
from realtime import publish

log = logging.getLogger("filmo.notifications")
EVENT = "notification"
EMAIL_TASK, EMAIL_QUEUE = "send_notification_emails", "notifications"
UNSUBSCRIBE = "unsubscribe"
UNSUBSCRIBE_TTL = timedelta(days=60)
# An instant mail not claimed this long after its notification was stored lost its job: the relay sends it.
RELAY_AFTER = timedelta(seconds=60)
DEFAULT_PREFERENCES = PreferencesOut(email_enabled=True, timezone="UTC", digest_hour=8)


def out(n: Notification) -> NotificationOut:
    return NotificationOut(id=n.id, kind=n.kind, title=n.title, body=n.body, project_id=n.project_id,
                           data=n.data or {}, read=n.read_at is not None, created_at=n.created_at)


async def notify(session: AsyncSession, user_id: uuid.UUID, kind: str, title: str, *, body: str | None = None,
                 project_id: uuid.UUID | None = None, data: dict | None = None,
                 email: str = "instant") -> Notification:
    """Store a notification for `user_id` (in the caller's transaction); push and mail it after the commit."""
    n = Notification(user_id=user_id, kind=kind, title=title[:300], body=body, project_id=project_id,
                     data=data or {}, email=email, created_at=utcnow())
    session.add(n)
    await session.flush()
    payload = out(n).model_dump(mode="json")
    publish.after_commit(session, EVENT, payload, publish.user_room(user_id))
    if email == "instant":
        pending = session.info.setdefault("instant_notification_ids", [])
        if not pending:
            after_commit(session, lambda: _enqueue_emails(session))
        pending.append(n.id)
    return n


# One statement for any number of notifications: the columns travel as arrays (no per-row bind parameters,
# no ORM objects), and the rows come back as pushed.
_INSERT_MANY = text("""
INSERT INTO notifications (user_id, kind, title, body, project_id, data, email, created_at)
SELECT v.user_id, v.kind, v.title, v.body, v.project_id, CAST(v.data AS jsonb), v.email, CAST(:now AS timestamptz)
FROM unnest(CAST(:user_ids AS uuid[]), CAST(:kinds AS varchar[]), CAST(:titles AS varchar[]), CAST(:bodies AS text[]),
            CAST(:project_ids AS uuid[]), CAST(:data AS text[]), CAST(:emails AS varchar[]))
     AS v(user_id, kind, title, body, project_id, data, email)
RETURNING id, user_id, kind, title, body, project_id, data, email, read_at, created_at
""")


async def notify_many(session: AsyncSession, items: list[dict]) -> list:
    """`notify` for many people at once (a project matching thousands of saved searches). Each item: user_id,
    kind, title, body, project_id, data, email. Returns the stored rows (id, user_id, ...).

    One INSERT for all of them, and after the commit one pipelined push (realtime/publish.emit_many), then one
    mail job. The saved-search alert job calls this for the people connected right now first, in a transaction
    of its own (api/saved_searches/service.connected_first), so their alert never waits behind the pushes to
    people who are not there. Measured for ~5,000 notifications: bench/results/alerts.md (stages)."""
    if not items:
        return []
    full = [{"body": None, "project_id": None, "data": {}, "email": "instant", **i} for i in items]
    rows = (await session.execute(_INSERT_MANY, {
        "now": utcnow(), "user_ids": [i["user_id"] for i in full], "kinds": [i["kind"] for i in full],
        "titles": [i["title"][:300] for i in full], "bodies": [i["body"] for i in full],
        "project_ids": [i["project_id"] for i in full], "data": [json.dumps(i["data"]) for i in full],
        "emails": [i["email"] for i in full]})).all()
    payloads = [(str(n.user_id), out(n).model_dump(mode="json")) for n in rows]
    after_commit(session, lambda: _push_many(payloads))
    instant = [n.id for n in rows if n.email == "instant"]
    if instant:
        pending = session.info.setdefault("instant_notification_ids", [])
        if not pending:
            after_commit(session, lambda: _enqueue_emails(session))
        pending.extend(instant)
    return rows


async def _push_many(payloads: list[tuple[str, dict]]) -> None:
    await publish.emit_many(EVENT, [(payload, publish.user_room(user_id)) for user_id, payload in payloads])


async def _enqueue_emails(session: AsyncSession) -> None:
    ids = session.info.pop("instant_notification_ids", [])
    if ids:
        try:
            await enqueue(EMAIL_TASK, EMAIL_QUEUE, ids)
        except Exception:  # Redis down: the relay mails them within RELAY_AFTER
            log.warning("could not enqueue notification mails %s; the relay will send them", ids, exc_info=True)


# ------------------------------------------------------------------ reading and marking


async def list_page(session: AsyncSession, user_id: uuid.UUID, page: PageParams,
                    unread_only: bool) -> tuple[list[NotificationOut], int]:
    """Newest first."""
    condition = Notification.user_id == user_id
    if unread_only:
        condition = condition & Notification.read_at.is_(None)
    total = await session.scalar(select(func.count()).select_from(Notification).where(condition)) or 0
    rows = await session.scalars(select(Notification).where(condition).order_by(Notification.id.desc())
                                 .offset(page.offset).limit(page.limit))
    return [out(n) for n in rows], total


async def unread_count(session: AsyncSession, user_id: uuid.UUID) -> int:
    return await session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))) or 0


async def mark_read(session: AsyncSession, user_id: uuid.UUID, ids: list[int] | None) -> int:
    """Mark these (or, with None, all) of the person's unread notifications read; others' ids are ignored."""
    stmt = (update(Notification).where(Notification.user_id == user_id, Notification.read_at.is_(None))
            .values(read_at=utcnow()).execution_options(synchronize_session=False))
    if ids is not None:
        stmt = stmt.where(Notification.id.in_(ids))
    result = await session.execute(stmt)
    return result.rowcount or 0


async def mark_one_read(session: AsyncSession, user_id: uuid.UUID, notification_id: int) -> NotificationOut:
    n = await session.scalar(select(Notification).where(Notification.id == notification_id,
                                                        Notification.user_id == user_id))
    if n is None:  # someone else's is "not found" too: ids are not secrets, but contents are
        raise not_found("Notification")
    if n.read_at is None:
        n.read_at = utcnow()
        await session.flush()
    return out(n)


# ------------------------------------------------------------------ preferences and unsubscribe


async def preferences(session: AsyncSession, user_id: uuid.UUID) -> PreferencesOut:
    row = await session.get(NotificationPreference, user_id)
    if row is None:
        return DEFAULT_PREFERENCES
    return PreferencesOut(email_enabled=row.email_enabled, timezone=row.timezone, digest_hour=row.digest_hour)


async def update_preferences(session: AsyncSession, user_id: uuid.UUID, body: PreferencesIn) -> PreferencesOut:
    values = body.model_dump(exclude_none=True)
    if values:
        await session.execute(insert(NotificationPreference).values(user_id=user_id, **values)
                              .on_conflict_do_update(index_elements=["user_id"],
                                                     set_={**values, "updated_at": func.now()}))
    return await preferences(session, user_id)


def unsubscribe_token(user_id: uuid.UUID) -> str:
    settings = get_settings()
    now = datetime.now(timezone.utc)
    claims = {"sub": str(user_id), "type": UNSUBSCRIBE, "iat": int(now.timestamp()), "exp": now + UNSUBSCRIBE_TTL}
    return jwt.encode(claims, settings.secret_key, algorithm=settings.algorithm)


def unsubscribe_url(user_id: uuid.UUID) -> str:
    return f"{get_settings().public_base_url.rstrip('/')}/api/v1/notifications/unsubscribe?token={unsubscribe_token(user_id)}"


def _unsubscribe_user(token: str) -> uuid.UUID:
    settings = get_settings()
    try:
        claims = jwt.decode(token, settings.secret_key, algorithms=[settings.algorithm],
                            options={"require": ["sub", "exp", "type"]})
        if claims["type"] != UNSUBSCRIBE:
            raise jwt.InvalidTokenError("wrong type")
        return uuid.UUID(claims["sub"])
    except jwt.ExpiredSignatureError:
        raise field_error("token", "this unsubscribe link has expired; turn e-mails off in the app's settings",
                          status=400) from None
    except (jwt.PyJWTError, ValueError, TypeError):
        raise field_error("token", "not a valid unsubscribe link", status=400) from None


def check_unsubscribe_token(token: str) -> None:
    """400 naming `token` when the link is not a valid, unexpired unsubscribe link (changes nothing)."""
    _unsubscribe_user(token)


async def unsubscribe(session: AsyncSession, token: str) -> uuid.UUID:
    """Turn e-mail off for the token's person (idempotent). No sign-in: the signed token is the authority."""
    user_id = _unsubscribe_user(token)
    await session.execute(insert(NotificationPreference).values(user_id=user_id, email_enabled=False)
                          .on_conflict_do_update(index_elements=["user_id"],
                                                 set_={"email_enabled": False, "updated_at": func.now()}))
    return user_id


# ------------------------------------------------------------------ e-mail (run by the worker)

_CLAIM_INSTANT = text("""
UPDATE notifications n SET emailed_at = now()
FROM users u LEFT JOIN notification_preferences p ON p.user_id = u.id
WHERE n.id = ANY(:ids) AND n.email = 'instant' AND n.emailed_at IS NULL AND u.id = n.user_id
RETURNING n.id, n.user_id, n.kind, n.title, n.body, n.project_id, u.email AS address, u.is_active,
          coalesce(p.email_enabled, true) AS email_enabled
""")


def _item(row) -> dict:
    return {"title": row.title, "body": row.body, "project_id": row.project_id}


async def _release(ids: list[int]) -> None:
    async with get_sessionmaker()() as session:
        await session.execute(update(Notification).where(Notification.id.in_(ids)).values(emailed_at=None)
                              .execution_options(synchronize_session=False))
        await session.commit()


async def send_instant(ids: list[int]) -> int:
    """Mail these instant notifications (those not mailed yet). Returns how many mails were sent."""
    async with get_sessionmaker()() as session:
        rows = (await session.execute(_CLAIM_INSTANT, {"ids": list(ids)})).all()
        await session.commit()
    sent = 0
    for i, row in enumerate(rows):
        if not (row.is_active and row.email_enabled):
            continue  # claimed all the same: nobody is to be mailed for it, now or later
        subject, text_body, html = mail_templates.single(_item(row), unsubscribe_url(row.user_id))
        try:
            await send_email(row.address, subject, text_body, html, _list_unsubscribe(row.user_id))
        except EmailDeliveryError:
            await _release([r.id for r in rows[i:]])  # these go again with the job's retry
            raise
        sent += 1
    return sent


def _list_unsubscribe(user_id: uuid.UUID) -> dict[str, str]:
    # RFC 8058: mail clients show an "Unsubscribe" button that POSTs to this address.
    return {"List-Unsubscribe": f"<{unsubscribe_url(user_id)}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


async def relay_instant() -> int:
    """Instant mails whose job never ran (Redis down at commit, a lost message): send them now."""
    async with get_sessionmaker()() as session:
        ids = list(await session.scalars(select(Notification.id).where(
            Notification.email == "instant", Notification.emailed_at.is_(None),
            Notification.created_at < utcnow() - RELAY_AFTER).order_by(Notification.id).limit(1000)))
    return await send_instant(ids) if ids else 0


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def digest_moment(local_day: date, hour: int, zone: ZoneInfo) -> datetime:
    """Today's digest time for a person, in UTC."""
    return datetime.combine(local_day, time(hour), tzinfo=zone).astimezone(timezone.utc)


_DUE = text("""
SELECT d.user_id, coalesce(p.timezone, 'UTC') AS tz, coalesce(p.digest_hour, 8) AS digest_hour, p.last_digest_on
FROM (SELECT DISTINCT user_id FROM notifications WHERE email = 'daily' AND emailed_at IS NULL) d
LEFT JOIN notification_preferences p ON p.user_id = d.user_id
""")

_CLAIM_DIGEST = text("""
UPDATE notifications n SET emailed_at = now()
WHERE n.user_id = :user_id AND n.email = 'daily' AND n.emailed_at IS NULL AND n.created_at < :cutoff
RETURNING n.id, n.title, n.body, n.project_id, n.created_at
""")


async def send_due_digests(now: datetime | None = None) -> int:
    """One digest per person whose local digest hour has come today and who has daily notifications from
    before it. Run every 15 minutes (time zones with half- and quarter-hour offsets). Returns mails sent.
    Cost: one indexed scan of the unsent daily notifications (partial index) plus one transaction per person due."""
    now = now or utcnow()
    async with get_sessionmaker()() as session:
        candidates = (await session.execute(_DUE)).all()
    sent = 0
    for row in candidates:
        zone = _zone(row.tz)
        local = now.astimezone(zone)
        if local.hour < row.digest_hour or row.last_digest_on == local.date():
            continue
        cutoff = digest_moment(local.date(), row.digest_hour, zone)
        if await _send_digest(row.user_id, local.date(), cutoff):
            sent += 1
    return sent


async def _send_digest(user_id: uuid.UUID, local_day: date, cutoff: datetime) -> bool:
    async with get_sessionmaker()() as session:
        # One digest run per person at a time: the preference row is the lock (created on first digest).
        await session.execute(insert(NotificationPreference).values(user_id=user_id)
                              .on_conflict_do_nothing(index_elements=["user_id"]))
        pref = await session.scalar(select(NotificationPreference).where(NotificationPreference.user_id == user_id)
                                    .with_for_update())
        if pref.last_digest_on == local_day:
            await session.rollback()
            return False
        items = (await session.execute(_CLAIM_DIGEST, {"user_id": user_id, "cutoff": cutoff})).all()
        if not items:
            await session.rollback()
            return False
        pref.last_digest_on = local_day
        address, active = (await session.execute(text("SELECT email, is_active FROM users WHERE id = :id"),
                                                 {"id": user_id})).one()
        mailed = pref.email_enabled and active
        if mailed:
            ordered = sorted(items, key=lambda r: (r.created_at, r.id))
            subject, text_body, html = mail_templates.digest([_item(r) for r in ordered], unsubscribe_url(user_id))
            # Sent inside the transaction: a failed send rolls the claim back, and the next run tries again.
            await send_email(address, subject, text_body, html, _list_unsubscribe(user_id))
        await session.commit()
        return mailed
