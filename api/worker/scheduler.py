"""The scheduler process: enqueues periodic actors (it never runs their work itself).

What runs when is declared next to each actor (`@periodic` in a package's tasks.py); this module
only imports the task modules and turns the declarations into APScheduler jobs.
"""
from __future__ import annotations

import importlib
import logging
from datetime import timezone

from apscheduler.schedulers.blocking import BlockingScheduler

from api.worker.broker import broker
from api.worker.registry import TASK_MODULES, periodic_actors

log = logging.getLogger("filmo.scheduler")


def periodic_jobs() -> list[tuple[str, object]]:
    """(actor name, trigger) pairs of every task module."""
    for module in TASK_MODULES:
        importlib.import_module(module)
    return sorted(periodic_actors().items())


def run_scheduler() -> None:
    scheduler = BlockingScheduler(timezone=timezone.utc)
    for actor_name, trigger in periodic_jobs():
        actor = broker.get_actor(actor_name)
        scheduler.add_job(actor.send, trigger, id=actor_name, name=actor_name, coalesce=True, max_instances=1)
        log.info("scheduled %s (%s)", actor_name, trigger)
    scheduler.start()
