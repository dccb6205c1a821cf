"""The search-indexing numbers an operator alerts on, read at scrape time (served on the worker's /metrics).

Read from where they live, so any worker process tells the same (except the relay, which is this process's):
- outbox backlog, age of its oldest row, rows failing (attempts >= 3): the `search_outbox` table;
- relay paused: this process met an unreachable cluster and waits for it (indexer.sync.availability);
- index drift: documents behind each alias minus searchable rows in PostGIS, at this scrape (0 when in
  step; `filmo index verify` finds which, and stale documents too);
- reindex progress: the checkpoint `filmo reindex` writes to Redis after every batch (indexer.reindex.progress);
- Dramatiq queue depths: messages waiting, delayed (retries with backoff) and dead-lettered, per queue.
A scrape costs a few small queries (~10 ms); a service that cannot be asked leaves its numbers out and sets
`filmo_metrics_source_up{source}` to 0.
"""
from __future__ import annotations

import asyncio
import time

from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import text

from api.worker.broker import broker
from indexer.client import alias_name, opensearch_configured
from indexer.documents import count_searchable
from indexer.sync import availability

KINDS = ("projects", "profiles")
FAILING_ATTEMPTS = 3
REINDEX_STATES = ("running", "interrupted", "failed", "done")


async def _database(out: dict) -> None:
    from db.session import get_sessionmaker

    async with get_sessionmaker()() as session:
        row = (await session.execute(text(
            "SELECT count(*), EXTRACT(EPOCH FROM now() - min(created_at)), count(*) FILTER (WHERE attempts >= :n) "
            "FROM search_outbox"), {"n": FAILING_ATTEMPTS})).one()
        out["outbox"] = (int(row[0]), float(row[1] or 0.0), int(row[2]))
        out["searchable"] = {kind: await count_searchable(session, kind) for kind in KINDS}


async def _opensearch(out: dict) -> None:
    from indexer.indexes import admin_client

    async with admin_client(timeout_s=5) as client:
        out["documents"] = {}
        for kind in KINDS:
            if await client.indices.exists_alias(name=alias_name(kind)):
                out["documents"][kind] = int((await client.count(index=alias_name(kind)))["count"])


async def _redis(out: dict) -> None:
    from api.kernel.redis import get_redis
    from indexer.reindex import progress

    redis = get_redis()
    out["reindex"] = {kind: await progress(kind) for kind in KINDS}
    queues = {}
    for queue in sorted(q for q in broker.get_declared_queues() if not q.endswith((".DQ", ".XQ"))):
        key = f"{broker.namespace}:{queue}"
        queues[queue] = (await redis.llen(key), await redis.hlen(f"{key}.DQ.msgs"), await redis.hlen(f"{key}.XQ.msgs"))
    out["queues"] = queues


async def _read() -> dict:
    """Every source on its own: one that fails is marked down, the others still count."""
    from api.kernel.redis import close_redis
    from db.session import dispose_engine

    out: dict = {"up": {}}
    sources = [("database", _database), ("redis", _redis)]
    if opensearch_configured():
        sources.append(("opensearch", _opensearch))
    try:
        for name, read in sources:
            try:
                await asyncio.wait_for(read(out), timeout=10)
                out["up"][name] = 1
            except Exception:  # noqa: BLE001 - a scrape reports a source down, never fails
                out["up"][name] = 0
    finally:
        # This scrape's own event loop ends here: close its connections (engines and clients are per loop).
        await dispose_engine()
        await close_redis()
    return out


def _gauge(name: str, doc: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=labels)


class IndexingCollector(Collector):
    def collect(self):
        data = asyncio.run(_read())  # the scrape thread has no event loop of its own
        up = _gauge("filmo_metrics_source_up", "1 when this scrape could read the source.", ["source"])
        for source, value in sorted(data["up"].items()):
            up.add_metric([source], value)
        yield up
        paused = _gauge("filmo_search_relay_paused", "1 while this worker waits for an unreachable search cluster "
                                                     "(outbox rows wait, nothing is lost).")
        paused.add_metric([], 1 if availability.down_since is not None else 0)
        yield paused
        if "outbox" in data:
            backlog, oldest, failing = data["outbox"]
            for name, doc, value in (
                    ("filmo_outbox_backlog", "Search outbox rows not yet written to the index.", backlog),
                    ("filmo_outbox_oldest_age_seconds", "Age of the oldest unpublished change (0 when none).", oldest),
                    ("filmo_outbox_failing", f"Outbox rows tried {FAILING_ATTEMPTS} times or more.", failing)):
                gauge = _gauge(name, doc)
                gauge.add_metric([], value)
                yield gauge
        if "documents" in data and "searchable" in data:
            drift = _gauge("filmo_search_index_drift", "Documents behind the alias minus searchable rows in PostGIS "
                                                       "(0 = in step).", ["kind"])
            for kind, documents in sorted(data["documents"].items()):
                drift.add_metric([kind], documents - data["searchable"][kind])
            yield drift
        if "reindex" in data:
            loaded = _gauge("filmo_reindex_documents", "Documents of the last or running reindex: loaded and total.",
                            ["kind", "what"])
            state = _gauge("filmo_reindex_state", "1 for the state of the last or running reindex.", ["kind", "state"])
            age = _gauge("filmo_reindex_updated_age_seconds", "Seconds since the reindex last wrote its checkpoint.",
                         ["kind"])
            for kind, progress in sorted(data["reindex"].items()):
                if not progress:
                    continue
                loaded.add_metric([kind, "loaded"], progress.get("loaded") or 0)
                loaded.add_metric([kind, "total"], progress.get("total") or 0)
                for name in REINDEX_STATES:
                    state.add_metric([kind, name], 1 if progress.get("state") == name else 0)
                if progress.get("updated_at"):
                    age.add_metric([kind], max(0.0, time.time() - float(progress["updated_at"])))
            yield from (loaded, state, age)
        if "queues" in data:
            depth = _gauge("filmo_queue_messages", "Dramatiq messages per queue: waiting, delayed (retries with "
                                                   "backoff) and dead (gave up).", ["queue", "state"])
            for queue, counts in data["queues"].items():
                for state_name, value in zip(("waiting", "delayed", "dead"), counts):
                    depth.add_metric([queue, state_name], value)
            yield depth


_registered: list[IndexingCollector] = []


def register() -> None:
    """Add the indexing numbers to this process's /metrics (the worker's; once per process)."""
    if not _registered:
        _registered.append(IndexingCollector())
        REGISTRY.register(_registered[0])
