"""Search indexer actors (run by the worker: api/worker)."""
from __future__ import annotations

import asyncio
import logging
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

# The worker logs through Dramatiq's set-up (stderr, INFO). The OpenSearch client would log every failed request
# with its traceback, one per outbox message and retry during an outage; the indexer reports an outage itself,
# once when it starts and once when it ends (indexer.sync.availability).
logging.getLogger("opensearch").setLevel(logging.ERROR)


def outage_backoff_ms(attempts: int) -> int | None:
    """The delay before attempt `attempts + 1` of rows the cluster could not take, or None after the last."""
    if attempts > INDEX_RETRIES["max_retries"]:
        return None
    return min(INDEX_RETRIES["min_backoff"] * 2 ** (attempts - 1), INDEX_RETRIES["max_backoff"])


@dramatiq.actor(actor_name=INDEX_TASK, queue_name=INDEX_QUEUE, **INDEX_RETRIES)
async def index_outbox(outbox_ids: list[int]) -> None:
    """Index the entities behind these outbox rows (ids only: documents are rebuilt from PostGIS).

    Other failures are Dramatiq's retries (logged with their traceback: they are not expected). OpenSearch
    unreachable is an outage, logged once: the message ends quietly and is sent again with the same backoff,
    as often as a retry would be; after that the rows wait for the relay, which resumes when the cluster is back.
    """
    try:
        await sync.process_outbox(outbox_ids)
    except sync.SearchUnavailable as outage:
        delay = outage_backoff_ms(outage.attempts)
        if delay is not None:
            await asyncio.to_thread(index_outbox.send_with_options, args=(outbox_ids,), delay=delay)


@periodic(IntervalTrigger(seconds=10, timezone=timezone.utc))
@dramatiq.actor(queue_name=INDEX_QUEUE, max_retries=0)
async def relay_search_outbox() -> None:
    """Every 10 s: re-enqueue outbox rows left behind; waits while OpenSearch is unhealthy."""
    await sync.relay(index_outbox.send)
