"""Search indexer actors."""
import indexer.broker  # noqa: F401  (binds actors to the Redis broker)

import dramatiq

from indexer import sync

# Bounded retries with exponential backoff (1 s, 2 s, 4 s ... capped at 30 s); after the last one the
# outbox rows are still there and the relay sends them again once OpenSearch is healthy.
INDEX_RETRIES = dict(max_retries=5, min_backoff=1_000, max_backoff=30_000)


@dramatiq.actor(queue_name="search", **INDEX_RETRIES)
async def index_outbox(outbox_ids: list[int]) -> None:
    """Index the entities behind these outbox rows (ids only: documents are rebuilt from PostGIS)."""
    await sync.process_outbox(outbox_ids)


@dramatiq.actor(queue_name="search", max_retries=0)
async def relay_search_outbox() -> None:
    """Periodic (every 10 s): re-enqueue outbox rows left behind; waits while OpenSearch is unhealthy."""
    await sync.relay(index_outbox.send)
