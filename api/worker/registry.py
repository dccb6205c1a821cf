"""What the worker runs and the scheduler enqueues, and how other code sends a job without importing it.

    TASK_MODULES            every module that defines actors (`tasks.py` in its package); the
                            worker and the scheduler import exactly these
    @periodic(trigger)      on an actor: the scheduler enqueues it on this APScheduler trigger
    enqueue(name, queue, …) send a job by actor name: the sender (e.g. the search outbox, inside a
                            request) needs neither the actor's module nor its dependencies

A new job: write the actor in its package's `tasks.py`, add that module here once, and put
`@periodic(...)` on it if it runs on a clock.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

import dramatiq

from api.worker.broker import broker

TASK_MODULES = ("indexer.tasks", "api.maintenance.tasks", "api.notifications.tasks", "api.saved_searches.tasks")

A = TypeVar("A", bound=dramatiq.Actor)
_periodic: dict[str, Any] = {}


def periodic(trigger: Any) -> Callable[[A], A]:
    """Declare that the scheduler enqueues this actor on `trigger` (times explicit in UTC)."""

    def register(actor: A) -> A:
        _periodic[actor.actor_name] = trigger
        return actor

    return register


def periodic_actors() -> dict[str, Any]:
    """{actor name: trigger} declared by the modules imported so far."""
    return dict(_periodic)


async def enqueue(actor_name: str, queue_name: str, *args: Any) -> None:
    """Send a job to the actor called `actor_name` on `queue_name` (its retry policy is the actor's,
    applied by the worker that runs it). The broker's client is synchronous: the event loop stays
    free while Redis answers (or times out)."""
    message = dramatiq.Message(queue_name=queue_name, actor_name=actor_name, args=args, kwargs={}, options={})
    await asyncio.to_thread(broker.enqueue, message)
