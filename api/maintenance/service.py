"""Nightly cleanup rules (run by the Dramatiq actors in jobs.py and by `filmo cleanup`)."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_
from sqlalchemy.ext.asyncio import AsyncSession

from api.kernel.clock import utcnow
from api.projects import service as projects
from db.models import OtpCode, RefreshToken
from db.session import unit_of_work

OTP_MAX_AGE = timedelta(days=1)
# Expired refresh tokens stay a day so a late refresh still gets "expired", not "unknown".
REFRESH_EXPIRED_GRACE = timedelta(days=1)
REVOKED_KEEP = timedelta(days=30)


async def cleanup_stale_projects(*, now: datetime | None = None, batch: int = 500) -> int:
    """Mark every active project idle for 30 days `dead`, through the project service (so the search
    outbox is written in the same transaction); one transaction per batch keeps locks short."""
    total = 0
    while True:
        async with unit_of_work() as session:
            ids = await projects.mark_stale_projects_dead(session, now=now, batch=batch)
        total += len(ids)
        if len(ids) < batch:
            return total


async def delete_expired_auth_rows(session: AsyncSession, *, now: datetime | None = None) -> tuple[int, int]:
    """Delete one-time codes that expired (or are older than a day) and refresh tokens long expired or revoked."""
    now = now or utcnow()
    otps = await session.execute(delete(OtpCode).where(
        or_(OtpCode.expires_at < now, OtpCode.created_at < now - OTP_MAX_AGE)))
    tokens = await session.execute(delete(RefreshToken).where(
        or_(RefreshToken.expires_at < now - REFRESH_EXPIRED_GRACE, RefreshToken.revoked_at < now - REVOKED_KEEP)))
    return otps.rowcount or 0, tokens.rowcount or 0


async def cleanup_expired_auth_rows(*, now: datetime | None = None) -> tuple[int, int]:
    async with unit_of_work() as session:
        return await delete_expired_auth_rows(session, now=now)
