"""Outbox → index: the work behind the `index_outbox` and `relay_search_outbox` actors.

Outbox rows are deleted only after their documents are in the index, so a crash anywhere (Redis down at
commit, a worker killed mid-batch, OpenSearch down) leaves rows behind for a retry or the relay.

An outage is one state, not an error per message: while the cluster cannot be reached, the process logs
"search index unavailable" once, and "search index available again" once it answers (`availability`);
the failed rows record each attempt (`filmo index status` shows them) and are retried without a log line.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

from opensearchpy.exceptions import ConnectionError as SearchConnectionError
from opensearchpy.exceptions import TransportError
from sqlalchemy import delete, func, select, text, update

from db.models import SearchOutbox
from db.session import get_sessionmaker
from indexer.bulk import write_docs
from indexer import percolator
from indexer.client import alias_name, get_client, opensearch_configured
from indexer.documents import Doc, load_docs
from indexer.indexes import cluster_up, ensure_indexes, forget_ensured
from indexer.mappings import KIND_OF_ENTITY

log = logging.getLogger("filmo.indexer")

BATCH = 500            # documents per `_bulk` request (and per PostGIS query)
RELAY_MIN_AGE_S = 5    # rows younger than this are still on their way through the queue
RELAY_RESEND_AFTER_S = 30  # a row tried (or relayed) this recently is left to its retry
RELAY_MAX_ROWS = 10_000  # per relay run; the next run (10 s later) takes the rest
RELAY_MESSAGE_IDS = 200  # outbox ids per re-enqueued message


class IndexingFailed(RuntimeError):
    """Raised so Dramatiq retries with backoff; the outbox rows stay until they are indexed."""


class SearchUnavailable(IndexingFailed):
    """The cluster could not be reached: an outage, already logged once (`availability`). `attempts` is the
    highest attempt count among the rows left, for the caller's backoff."""

    def __init__(self, message: str, attempts: int) -> None:
        super().__init__(message)
        self.attempts = attempts


class Availability:
    """Whether this process reaches the search cluster; logged only when that changes (several threads share it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.down_since: float | None = None

    def down(self, reason: str) -> None:
        with self._lock:
            if self.down_since is not None:
                return
            self.down_since = time.monotonic()
        log.warning("search index unavailable (%s): outbox rows wait and are retried quietly, relay paused "
                    "until it is back", reason)

    def up(self) -> None:
        with self._lock:
            if self.down_since is None:
                return
            seconds, self.down_since = time.monotonic() - self.down_since, None
        log.warning("search index available again after %.0f s: indexing resumes", seconds)


availability = Availability()


def _unreachable(exc: Exception) -> bool:
    """The request never reached a working cluster: refused, reset, timed out, or a gateway's 502/503/504."""
    if isinstance(exc, SearchConnectionError):  # ConnectionTimeout and SSLError included
        return True
    return isinstance(exc, TransportError) and exc.status_code in (502, 503, 504)


@dataclass
class SyncReport:
    rows: int = 0
    written: int = 0
    deleted: int = 0
    conflicts: int = 0
    alerts: int = 0  # (project, saved search) matches handed to the alert job
    failed: dict[str, str] = field(default_factory=dict)


async def process_outbox(outbox_ids: list[int]) -> SyncReport:
    report = SyncReport()
    sessionmaker = get_sessionmaker()
    # 1. Read the rows and rebuild their documents; the transaction ends before any network call.
    async with sessionmaker() as session:
        rows = (await session.execute(select(SearchOutbox.id, SearchOutbox.entity, SearchOutbox.entity_id,
                                             SearchOutbox.attempts)
                                      .where(SearchOutbox.id.in_(outbox_ids)))).all()
        if not rows:
            return report  # already processed by a duplicate message
        report.rows = len(rows)
        if not opensearch_configured():
            return await _without_opensearch(session, rows, report)
        rows_of: dict[tuple[str, str], list[int]] = defaultdict(list)
        attempts_of: dict[int, int] = {}
        for row_id, entity, entity_id, attempts in rows:
            rows_of[(KIND_OF_ENTITY.get(entity, percolator.KIND), str(entity_id))].append(row_id)
            attempts_of[row_id] = attempts
        docs: dict[str, list[Doc]] = defaultdict(list)
        for kind in sorted({kind for kind, _ in rows_of}):
            ids = sorted(entity_id for k, entity_id in rows_of if k == kind)
            for start in range(0, len(ids), BATCH):
                if kind == percolator.KIND:
                    docs[kind].extend(await percolator.load_docs(session, ids[start:start + BATCH]))
                else:
                    docs[kind].extend(await load_docs(session, kind, ids[start:start + BATCH]))

    # 2. Write them. Per-document failures and a failed request both leave those rows in the outbox.
    failed_keys: dict[tuple[str, str], str] = {}
    unreachable: str | None = None  # why the cluster could not be reached, if it could not
    client = get_client()
    for kind, kind_docs in docs.items():
        for start in range(0, len(kind_docs), BATCH):
            chunk = kind_docs[start:start + BATCH]
            try:
                if kind == percolator.KIND:
                    if not await percolator.ensure_index(client):
                        continue  # no percolator module: alerts are matched in PostGIS, nothing to write
                else:
                    await ensure_indexes((kind,))
                # Saved searches are refreshed at once: a project created right after must meet them.
                result = await write_docs(client, alias_name(kind), chunk, require_alias=True,
                                          refresh=kind == percolator.KIND)
                if kind == "projects":  # saved-search alerts: after the write, before the rows go
                    report.alerts += await percolator.alert_matches(client, chunk)
            except Exception as exc:  # unreachable cluster, timeout, 5xx, 429: all retried later
                reason = f"{type(exc).__name__}: {exc}"[:500]
                failed_keys.update({(kind, d.id): reason for d in chunk})
                if _unreachable(exc):
                    unreachable = reason
                continue
            availability.up()
            if result.alias_missing:
                forget_ensured(kind)
            report.written += result.written
            report.deleted += result.deleted
            report.conflicts += result.conflicts
            failed_keys.update({(kind, doc_id): reason for doc_id, reason in result.failed.items()})

    # 3. Settle the rows: done ones go, failed ones record the attempt for operators (`filmo index status`).
    done = [row_id for key, ids in rows_of.items() if key not in failed_keys for row_id in ids]
    async with sessionmaker() as session:
        if done:
            await session.execute(delete(SearchOutbox).where(SearchOutbox.id.in_(done)))
        by_reason: dict[str, list[int]] = defaultdict(list)
        for key, reason in failed_keys.items():
            by_reason[reason].extend(rows_of[key])
        for reason, ids in by_reason.items():
            await session.execute(update(SearchOutbox).where(SearchOutbox.id.in_(ids))
                                  .values(attempts=SearchOutbox.attempts + 1, last_error=reason,
                                          last_attempt_at=func.now()))
        await session.commit()
    if failed_keys:
        report.failed = {f"{kind}/{doc_id}": reason for (kind, doc_id), reason in failed_keys.items()}
        sample = next(iter(failed_keys.values()))
        message = f"{len(failed_keys)} document(s) not indexed, e.g. {sample}"
        if unreachable is not None:
            availability.down(unreachable)
            attempts = 1 + max(attempts_of[row_id] for key in failed_keys for row_id in rows_of[key])
            raise SearchUnavailable(message, attempts)
        raise IndexingFailed(message)
    return report


async def _without_opensearch(session, rows, report: SyncReport) -> SyncReport:
    """No OpenSearch configured (PostGIS answers every search): nothing to index, but changed projects still
    alert: the alert job matches them in SQL. The rows are done once the jobs are enqueued."""
    await percolator.alert_without_opensearch(sorted({str(entity_id) for _, entity, entity_id, _ in rows
                                                       if entity == "project"}))
    await session.execute(delete(SearchOutbox).where(SearchOutbox.id.in_([row[0] for row in rows])))
    await session.commit()
    return report


async def relay(send) -> int:
    """Re-enqueue outbox rows left behind. `send(ids)` enqueues one `index_outbox` message.

    Skips entirely while OpenSearch is unhealthy: the backlog waits in PostGIS instead of spinning
    through retries. Returns how many rows were re-enqueued.
    """
    usable, why = await cluster_up()
    if not usable:
        availability.down(why)  # logged once per outage, not once per run
        return 0
    availability.up()
    async with get_sessionmaker()() as session:
        # Claim the rows by stamping last_attempt_at so the next run (and other relays) leave them to this one.
        ids = list(await session.scalars(text("""
            UPDATE search_outbox SET last_attempt_at = now()
            WHERE id IN (
                SELECT id FROM search_outbox
                WHERE created_at < now() - make_interval(secs => :min_age)
                  AND (last_attempt_at IS NULL OR last_attempt_at < now() - make_interval(secs => :resend))
                ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED)
            RETURNING id"""), {"min_age": RELAY_MIN_AGE_S, "resend": RELAY_RESEND_AFTER_S, "limit": RELAY_MAX_ROWS}))
        await session.commit()
    ids.sort()
    for start in range(0, len(ids), RELAY_MESSAGE_IDS):
        send(ids[start:start + RELAY_MESSAGE_IDS])
    if ids:
        log.info("search outbox relay re-enqueued %d row(s)", len(ids))
    return len(ids)
