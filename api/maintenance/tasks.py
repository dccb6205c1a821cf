"""Maintenance actors: the nightly cleanup, enqueued by the scheduler at CLEANUP_HOUR_UTC (02:00 UTC)."""
from __future__ import annotations

import logging
from datetime import timezone

import dramatiq
from apscheduler.triggers.cron import CronTrigger

import api.worker.broker  # noqa: F401  (binds the actors below to the Redis broker)
from api.kernel.settings import get_settings
from api.maintenance import service
from api.worker.registry import periodic

log = logging.getLogger("filmo.maintenance")
NIGHTLY = CronTrigger(hour=get_settings().cleanup_hour_utc, minute=0, timezone=timezone.utc)


@periodic(NIGHTLY)
@dramatiq.actor(max_retries=3, min_backoff=60_000, max_backoff=600_000, time_limit=30 * 60_000)
async def cleanup_stale_projects() -> None:
    """Active projects without activity for 30 days become `dead`."""
    count = await service.cleanup_stale_projects()
    log.info("stale projects marked dead: %d", count)


@periodic(NIGHTLY)
@dramatiq.actor(max_retries=3, min_backoff=60_000, max_backoff=600_000, time_limit=10 * 60_000)
async def cleanup_expired_auth_rows() -> None:
    """Expired one-time codes and old expired/revoked refresh tokens are deleted."""
    otps, tokens = await service.cleanup_expired_auth_rows()
    log.info("deleted %d one-time codes and %d refresh tokens", otps, tokens)
