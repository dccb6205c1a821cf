"""Notification e-mail actors: instant mails (enqueued after each commit), their relay, and the daily digests."""
from __future__ import annotations

import logging
from datetime import timezone

import dramatiq
from apscheduler.triggers.interval import IntervalTrigger

import api.worker.broker  # noqa: F401  (binds the actors below to the Redis broker)
from api.notifications import service
from api.worker.registry import periodic

log = logging.getLogger("filmo.notifications")


@dramatiq.actor(actor_name=service.EMAIL_TASK, queue_name=service.EMAIL_QUEUE, max_retries=8, min_backoff=5_000,
                max_backoff=600_000)
async def send_notification_emails(notification_ids: list[int]) -> None:
    """Mail these instant notifications; an SMTP failure gives them back and Dramatiq retries with backoff."""
    await service.send_instant(notification_ids)


@periodic(IntervalTrigger(seconds=60, timezone=timezone.utc))
@dramatiq.actor(queue_name=service.EMAIL_QUEUE, max_retries=0)
async def relay_notification_emails() -> None:
    """Every minute: instant mails whose job was lost (Redis down at commit, a killed worker) are sent."""
    sent = await service.relay_instant()
    if sent:
        log.info("notification mail relay sent %d mail(s)", sent)


@periodic(IntervalTrigger(minutes=15, timezone=timezone.utc))
@dramatiq.actor(queue_name=service.EMAIL_QUEUE, max_retries=0, time_limit=30 * 60_000)
async def send_daily_digests() -> None:
    """Every 15 minutes: one digest per person whose local digest hour has come (half-hour time zones too)."""
    sent = await service.send_due_digests()
    if sent:
        log.info("daily digests sent: %d", sent)
