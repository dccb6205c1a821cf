"""The scheduler process: enqueues periodic actors (it never runs their work itself)."""
from __future__ import annotations

import importlib
import logging
from datetime import timezone

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from api.core.settings import get_settings
from indexer.broker import ACTOR_MODULES, broker

log = logging.getLogger("filmo.scheduler")


def periodic_jobs() -> list[tuple[str, object]]:
    """(actor name, trigger) pairs. Times are explicit UTC."""
    settings = get_settings()
    nightly = CronTrigger(hour=settings.cleanup_hour_utc, minute=0, timezone=timezone.utc)
    return [
        ("relay_search_outbox", IntervalTrigger(seconds=10, timezone=timezone.utc)),
        ("cleanup_stale_projects", nightly),
        ("cleanup_expired_auth_rows", nightly),
    ]


def run_scheduler() -> None:
    for module in ACTOR_MODULES:
        importlib.import_module(module)
    scheduler = BlockingScheduler(timezone=timezone.utc)
    for actor_name, trigger in periodic_jobs():
        actor = broker.get_actor(actor_name)
        scheduler.add_job(actor.send, trigger, id=actor_name, name=actor_name, coalesce=True, max_instances=1)
        log.info("scheduled %s (%s)", actor_name, trigger)
    scheduler.start()
