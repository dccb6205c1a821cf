"""The transactional outbox: the one place domain services tell the search index that something changed.

Call `record_change(session, "project" | "profile" | "saved_search", entity_id)` inside the same transaction as the
change. It bumps the row's `search_version` (the external version its document is written with) and
adds an outbox row; after commit the ids are enqueued for the indexer (by task name: the outbox does
not import the actors, which live in indexer/tasks.py). If Redis is down at that moment, the
periodic relay re-enqueues the rows left behind, so nothing is lost.
"""
from __future__ import annotations

import logging
import uuid
from typing import Literal

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from api.kernel.after_commit import after_commit
from api.worker.registry import enqueue
from db.models import Profile, Project, SavedSearch, SearchOutbox

log = logging.getLogger("filmo.outbox")
# The actor that indexes outbox rows (indexer/tasks.py) and its queue.
INDEX_TASK = "index_outbox"
INDEX_QUEUE = "search"
Entity = Literal["project", "profile", "saved_search"]
_MODELS = {"project": Project, "profile": Profile, "saved_search": SavedSearch}


async def record_change(session: AsyncSession, entity: Entity, entity_id: uuid.UUID) -> None:
    model = _MODELS[entity]
    await session.execute(update(model).where(model.id == entity_id)
                          .values(search_version=model.search_version + 1))
    row = SearchOutbox(entity=entity, entity_id=entity_id)
    session.add(row)
    await session.flush()
    pending = session.info.setdefault("outbox_ids", [])
    if not pending:
        after_commit(session, lambda: _enqueue(session))
    pending.append(row.id)


async def _enqueue(session: AsyncSession) -> None:
    ids = session.info.pop("outbox_ids", [])
    if not ids:
        return
    try:
        await enqueue(INDEX_TASK, INDEX_QUEUE, ids)
    except Exception:  # Redis down: the relay will pick these rows up
        log.warning("could not enqueue outbox rows %s; the relay will retry", ids, exc_info=True)
