"""Maintenance actors (nightly cleanup), enqueued by the scheduler at 02:00 UTC (indexer/scheduler.py)."""
import indexer.broker  # noqa: F401  (binds actors to the Redis broker)

import logging

import dramatiq

from api.maintenance import service

log = logging.getLogger("filmo.maintenance")


@dramatiq.actor(max_retries=3, min_backoff=60_000, max_backoff=600_000, time_limit=30 * 60_000)
async def cleanup_stale_projects() -> None:
    """Active projects without activity for 30 days become `dead`."""
    count = await service.cleanup_stale_projects()
    log.info("stale projects marked dead: %d", count)


@dramatiq.actor(max_retries=3, min_backoff=60_000, max_backoff=600_000, time_limit=10 * 60_000)
async def cleanup_expired_auth_rows() -> None:
    """Expired one-time codes and old expired/revoked refresh tokens are deleted."""
    otps, tokens = await service.cleanup_expired_auth_rows()
    log.info("deleted %d one-time codes and %d refresh tokens", otps, tokens)
