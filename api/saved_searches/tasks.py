"""The alert actor: the indexer hands it the saved searches a changed project matched (by name, see
indexer/percolator.ALERT_TASK); it decides who may be told and notifies them once."""
from __future__ import annotations

import logging
import uuid

import dramatiq

import api.worker.broker  # noqa: F401  (binds the actors below to the Redis broker)
from api.saved_searches import service
from db.session import unit_of_work
from indexer.percolator import ALERT_QUEUE, ALERT_TASK

log = logging.getLogger("filmo.alerts")


@dramatiq.actor(actor_name=ALERT_TASK, queue_name=ALERT_QUEUE, max_retries=5, min_backoff=1_000, max_backoff=30_000)
async def deliver_saved_search_alerts(project_id: str, saved_search_ids: list[str] | None, engine: str) -> None:
    """`saved_search_ids` from the percolator (engine `opensearch`), or None: match in SQL (engine `postgis`).
    The people connected now are told first, in a transaction of their own; then everyone else. A retry after
    a partial failure is safe: the alert table keeps every pair to one notification."""
    pid = uuid.UUID(project_id)
    async with unit_of_work() as session:
        ids = (await service.postgis_matches(session, pid) if saved_search_ids is None
               else [uuid.UUID(i) for i in saved_search_ids])
        batches = await service.connected_first(session, ids) if ids else []
    made = 0
    for batch in batches:
        if batch:
            async with unit_of_work() as session:
                made += await service.deliver(session, pid, batch)
    if made:
        log.info("project %s: %d saved-search notification(s) (%s)", project_id, made, engine)
