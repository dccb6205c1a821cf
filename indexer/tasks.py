"""Search indexer actors (run by the worker: api/worker)."""
from __future__ import annotations

from datetime import timezone

import dramatiq
from apscheduler.triggers.interval import IntervalTrigger

import api.worker.broker  # noqa: F401  (binds the actors below to the Redis broker)
from api.worker.registry import periodic
from indexer import sync
from indexer.outbox import INDEX_QUEUE, INDEX_TASK

# Bounded retries with exponential backoff (1 s, 2 s, 4 s ... capped at 30 s); after the last one the
# outbox rows are still there and the relay sends them again once OpenSearch is healthy.
INDEX_RETRIES = dict(max_retries=5, min_backoff=1_000, max_backoff=30_000)


@dramatiq.actor(actor_name=INDEX_TASK, queue_name=INDEX_QUEUE, **INDEX_RETRIES)
async def index_outbox(outbox_ids: list[int]) -> None:
    """Index the entities behind these outbox rows (ids only: documents are rebuilt from PostGIS)."""
    await sync.process_outbox(outbox_ids)


@periodic(IntervalTrigger(seconds=10, timezone=timezone.utc))
@dramatiq.actor(queue_name=INDEX_QUEUE, max_retries=0)
async def relay_search_outbox() -> None:
    """Every 10 s: re-enqueue outbox rows left behind; waits while OpenSearch is unhealthy."""
    await sync.relay(index_outbox.send)
