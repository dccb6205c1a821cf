"""Zero-downtime, resumable reindex, verify/repair and status (the logic behind `filmo reindex` and `filmo index`).

Reindex: new versioned index (refresh off) ← bulk load from PostGIS ← catch-up (diff of versions, repeated
until clean) ← count check ← one atomic `_aliases` swap ← post-swap catch-up (changes the worker wrote to the
old index between the last catch-up and the swap) ← delete indexes older than the previous one.
Searches always hit the alias, which points at a complete index at every moment.

Resumable: the load walks PostGIS in id order and, after every batch, records in Redis the highest id below
which every batch is written (`progress_key`). A run that crashed, was killed or was stopped with Ctrl-C leaves
its index and that checkpoint; the next `filmo reindex <kind>` finds both and loads from the checkpoint on
(`--restart` starts over). Re-sending a batch is harmless: documents carry external versions, so a copy
already there is a 409, counted as "already there". The catch-up diff then repairs anything else.

Failures: a `_bulk` request that times out, cannot connect or answers 429/5xx is retried with exponential
backoff (`RETRIES`, `BACKOFF_*`); documents refused with 429 are re-sent by opensearch-py's async bulk helper;
any other per-document refusal is counted and reported (id and reason) without stopping the run.
"""
from __future__ import annotations

import asyncio
import os
import random
import socket
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import asdict, dataclass, field

import orjson
from opensearchpy import AsyncOpenSearch
from opensearchpy.exceptions import ConnectionError as OpenSearchConnectionError
from opensearchpy.exceptions import TransportError
from opensearchpy.helpers import async_streaming_bulk
from sqlalchemy import text

from api.kernel.redis import get_redis
from api.kernel.settings import get_settings
from db.session import get_sessionmaker
from indexer.bulk import BulkResult, write_docs
from indexer.client import alias_name
from indexer.documents import Doc, bump_versions, count_searchable, load_docs, scan_docs, searchable_versions
from indexer.indexes import (admin_client, alias_targets, cluster_up, concrete_indexes, create_index,
                             delete_old_indexes, finish_bulk_load, redis_lock, scan_versions, swap_alias)
from indexer.mappings import mapping_version, version_of_index

Progress = Callable[[str, int], None]  # (event "total"|"advance", n)

# Defaults of `filmo reindex` (bench/indexing/knobs.py, bench/results/reindex_knobs.md, 50k projects on the
# 2-core machine): 2 writers overlap reading PostGIS, encoding and OpenSearch's indexing; past 2, all three share
# the same 2 cores and no setting beat the default beyond run-to-run noise (up to 3x between two runs of one).
# Memory stays bounded: concurrency x 2 batches queued plus concurrency in flight, ~1 MB per 1000 projects.
DEFAULT_BATCH_SIZE = 1000
DEFAULT_CONCURRENCY = 2
# A failed `_bulk` request is retried RETRIES times, waiting BACKOFF_FIRST_S, doubling up to BACKOFF_MAX_S,
# with jitter (~90 s in all: a node restart or a GC storm passes; a cluster that stays down interrupts the
# run, which resumes from its checkpoint).
RETRIES = 8
BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 30.0
RETRY_STATUSES = (429, 500, 502, 503, 504)
FAILED_SAMPLE = 20
# The lock's TTL: short, so a crashed run's lock frees itself soon (a heartbeat extends it while a run lives).
LOCK_TTL_S = 30


class ReindexFailed(RuntimeError):
    pass


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, OpenSearchConnectionError):  # refused, reset, timed out (ConnectionTimeout)
        return True
    return isinstance(exc, TransportError) and exc.status_code in RETRY_STATUSES


def _backoff(attempt: int) -> float:
    return min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** attempt) * random.uniform(0.8, 1.2)


async def with_retries(call, what: str, on_retry: Callable[[], None] | None = None):
    """`await call()`, retried with exponential backoff on timeouts, connection errors and 429/5xx."""
    for attempt in range(RETRIES + 1):
        try:
            return await call()
        except (OpenSearchConnectionError, TransportError) as exc:
            if not _retryable(exc) or attempt == RETRIES:
                raise
            if on_retry:
                on_retry()
            await asyncio.sleep(_backoff(attempt))
    raise AssertionError(what)  # unreachable


# ---------------------------------------------------------------- progress (checkpoint) in Redis

def progress_key(kind: str) -> str:
    """Redis key (a JSON string) with the reindex of `kind`: state, index, checkpoint id, loaded/total, failed,
    retries, timestamps. Written after every batch; read by `progress()` (metrics, `filmo index status`)."""
    return f"filmo:{get_settings().queue_namespace}:reindex:{alias_name(kind)}"


async def progress(kind: str) -> dict | None:
    """The last or running reindex of `kind` as recorded in Redis (None if there never was one):
    {"state": "running"|"interrupted"|"failed"|"done", "index", "after_id", "loaded", "total", "failed",
     "retries", "started_at", "updated_at", ...}. "running" with a dead holder reads as "interrupted" on the next
    reindex, which resumes it."""
    raw = await get_redis().get(progress_key(kind))
    if not raw:
        return None
    state = orjson.loads(raw)
    if state.get("state") == "running" and state.get("host") == socket.gethostname() and not _alive(state.get("pid")):
        state["state"] = "interrupted"  # killed without a word (SIGKILL, OOM): nothing is running it any more
    return state


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def _record(kind: str, state: dict, keep_s: int | None = None) -> None:
    state["updated_at"] = time.time()
    await get_redis().set(progress_key(kind), orjson.dumps(state), ex=keep_s)


@dataclass
class LoadStats:
    loaded: int = 0       # rows read from PostGIS and sent (this run and the runs it resumes)
    written: int = 0
    already: int = 0      # 409: the same or a newer version is already in the index (a re-sent batch)
    failed_count: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # a sample: doc id -> reason
    retries: int = 0

    def fail(self, doc_id: str, reason: str) -> None:
        self.failed_count += 1
        if len(self.failed) < FAILED_SAMPLE:
            self.failed[doc_id] = reason[:300]


async def _write_batch(client: AsyncOpenSearch, index: str, docs: list[Doc], stats: LoadStats) -> None:
    """One `_bulk` request through opensearch-py's async helper: the outcome of each document from its status
    (never from error text); 429s re-sent by the helper, failed requests retried here."""
    actions = [doc for doc in docs if doc.source is not None]

    def encoded(doc: Doc) -> tuple[str, str]:
        # Action and source lines encoded here by orjson: the helper's default (dict copy, json per field) cost
        # 18 ms per 1000 documents against 6 ms this way (3 ms for a hand-built body), measured in-process.
        meta = {"_index": index, "_id": doc.id, "version": doc.version, "version_type": "external"}
        return orjson.dumps({"index": meta}).decode(), orjson.dumps(doc.source).decode()

    def retried() -> None:
        stats.retries += 1

    async def send() -> tuple[int, list[tuple[str, str]]]:
        already, failed = 0, []
        counted = _CountingClient(client)
        try:
            async for _ok, item in _stream(counted, actions, encoded):
                info = next(iter(item.values()))
                if info.get("status") == 409:
                    already += 1
                else:
                    error = info.get("error") or {}
                    reason = (f"{error.get('type', 'error')}: {error.get('reason', '')}" if isinstance(error, dict)
                              else str(error))
                    failed.append((str(info.get("_id", "")), f"HTTP {info.get('status')} {reason}"))
        finally:  # requests the helper sent again itself (a 429 for the request or for some of its documents)
            stats.retries += max(0, counted.calls - 1)
        return already, failed

    if not actions:
        return
    already, failed = await with_retries(send, f"_bulk into {index}", retried)
    stats.already += already
    stats.written += len(actions) - already - len(failed)
    for doc_id, reason in failed:
        stats.fail(doc_id, reason)


class _CountingClient:
    """What opensearch-py's bulk helper uses of a client (`bulk`, `transport`), counting the requests it sends."""

    def __init__(self, client: AsyncOpenSearch) -> None:
        self.client, self.transport, self.calls = client, client.transport, 0

    async def bulk(self, *args, **kwargs):
        self.calls += 1
        return await self.client.bulk(*args, **kwargs)


def _stream(client, actions: list[Doc], encoded):
    """opensearch-py's async_streaming_bulk, one chunk per batch: outcomes per document from their status,
    documents refused with 429 re-sent with backoff; errors yielded (raise_on_error=False), never parsed."""
    return async_streaming_bulk(
        client, actions, chunk_size=len(actions) or 1, max_chunk_bytes=100 * 1024 * 1024,
        expand_action_callback=encoded, raise_on_error=False, raise_on_exception=True, yield_ok=False,
        max_retries=RETRIES, initial_backoff=BACKOFF_FIRST_S, max_backoff=BACKOFF_MAX_S)


@dataclass
class Diff:
    missing: list[str] = field(default_factory=list)   # searchable in PostGIS, absent from the index
    extra: list[str] = field(default_factory=list)     # in the index, not (or no longer) searchable
    stale: list[str] = field(default_factory=list)     # index version lower than PostGIS search_version

    @property
    def ids(self) -> list[str]:
        return self.missing + self.extra + self.stale

    def summary(self, sample: int = 10) -> dict:
        return {name: {"count": len(ids), "sample": sorted(ids)[:sample]}
                for name, ids in (("missing", self.missing), ("extra", self.extra), ("stale", self.stale))}


async def diff_index(client: AsyncOpenSearch, kind: str, index: str) -> Diff:
    async with get_sessionmaker()() as session:
        expected = await searchable_versions(session, kind)
    actual = await scan_versions(client, index)
    diff = Diff()
    for doc_id, version in expected.items():
        have = actual.get(doc_id)
        if have is None:
            diff.missing.append(doc_id)
        elif have < version:
            diff.stale.append(doc_id)
    diff.extra = [doc_id for doc_id in actual if doc_id not in expected]
    return diff


async def rewrite(client: AsyncOpenSearch, kind: str, index: str, ids: list[str], *, require_alias: bool,
                  batch_size: int = 500) -> BulkResult:
    """Rebuild these documents from PostGIS (a missing or unsearchable row becomes a versioned delete).
    Documents OpenSearch refuses are returned in `failed`, never raised: the caller reports them."""
    total = BulkResult()
    for start in range(0, len(ids), batch_size):
        async with get_sessionmaker()() as session:
            docs = await load_docs(session, kind, ids[start:start + batch_size])
        result = await with_retries(lambda docs=docs: write_docs(client, index, docs, require_alias=require_alias),
                                    f"_bulk into {index}")
        total.written += result.written
        total.deleted += result.deleted
        total.conflicts += result.conflicts
        total.conflict_versions.update(result.conflict_versions)
        total.failed.update(result.failed)
    return total


async def catch_up(client: AsyncOpenSearch, kind: str, index: str, *, require_alias: bool, passes: int = 3,
                   stats: LoadStats | None = None) -> int:
    """Diff and repair until a pass finds nothing (or `passes` runs out). Returns documents rewritten.
    Documents refused on the last pass are recorded in `stats` (a refused document stays different)."""
    fixed = 0
    last = BulkResult()
    for _ in range(passes):
        await client.indices.refresh(index=index)
        diff = await diff_index(client, kind, index)
        if not diff.ids:
            last = BulkResult()
            break
        last = await rewrite(client, kind, index, diff.ids, require_alias=require_alias)
        fixed += len(diff.ids)
    if stats is not None:
        for doc_id, reason in last.failed.items():
            if doc_id not in stats.failed:
                stats.fail(doc_id, reason)
    return fixed


@dataclass
class ReindexReport:
    kind: str
    index: str
    previous: list[str]
    deleted: list[str]
    documents: int
    postgis_count: int
    caught_up: int
    seconds: float
    load_seconds: float
    resumed_from: int = 0          # rows an interrupted run had loaded already (0: a fresh start)
    batch_size: int = DEFAULT_BATCH_SIZE
    concurrency: int = DEFAULT_CONCURRENCY
    written: int = 0
    already: int = 0
    failed: int = 0
    failed_sample: dict[str, str] = field(default_factory=dict)
    retries: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


async def _bulk_load(client: AsyncOpenSearch, kind: str, state: dict, stats: LoadStats, batch_size: int,
                     concurrency: int, progress_cb: Progress | None, lock) -> None:
    """PostGIS → new index: one reader, `concurrency` writers, at most 2 batches per writer in memory.

    The checkpoint (`state["after_id"]`) moves to a batch's last id only once that batch and every batch before
    it are written, so a resumed run never skips a row (it may re-send a few: 409s)."""
    queue: asyncio.Queue = asyncio.Queue(maxsize=concurrency * 2)
    finished: dict[int, tuple[str, int]] = {}  # batch number -> (last id, rows), done but not yet checkpointed
    next_to_record = 0
    index = state["index"]

    async def produce() -> None:
        number = 0
        async with get_sessionmaker()() as session:
            async for docs in scan_docs(session, kind, batch_size, after=state.get("after_id")):
                await queue.put((number, docs))
                number += 1
        for _ in range(concurrency):
            await queue.put(None)

    async def consume() -> None:
        nonlocal next_to_record
        while (item := await queue.get()) is not None:
            number, docs = item
            await _write_batch(client, index, docs, stats)
            finished[number] = (docs[-1].id, len(docs))
            advanced = 0
            while next_to_record in finished:
                last_id, rows = finished.pop(next_to_record)
                state["after_id"] = last_id
                advanced += rows
                next_to_record += 1
            if advanced:
                stats.loaded += advanced
                state.update(loaded=stats.loaded, written=stats.written, already=stats.already,
                             failed=stats.failed_count, retries=stats.retries)
                if not await lock.owned():
                    raise ReindexFailed("the reindex lock was lost (Redis restarted or the process stalled "
                                        f"longer than {LOCK_TTL_S}s); run the command again to resume")
                await _record(kind, state)
            if progress_cb:
                progress_cb("advance", len(docs))

    tasks = [asyncio.create_task(produce()), *(asyncio.create_task(consume()) for _ in range(concurrency))]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def reindex(kind: str, *, batch_size: int = DEFAULT_BATCH_SIZE, concurrency: int = DEFAULT_CONCURRENCY,
                  progress: Progress | None = None, count_tolerance: float = 0.001, restart: bool = False,
                  wait_lock_s: float = 0) -> ReindexReport:
    async with admin_client() as client:
        return await _reindex(client, kind, batch_size, concurrency, progress, count_tolerance, restart,
                              wait_lock_s)


async def _resumable(client: AsyncOpenSearch, kind: str) -> dict | None:
    """The checkpoint of an unfinished run whose index still exists, is not serving, and has this mapping."""
    previous = await progress(kind)
    if not previous or previous.get("state") not in ("running", "interrupted"):
        return None
    index = previous.get("index", "")
    if version_of_index(kind, index) != mapping_version(kind) or index in await alias_targets(client, kind):
        return None
    if not await client.indices.exists(index=index):
        return None
    return previous


async def _reindex(client: AsyncOpenSearch, kind: str, batch_size: int, concurrency: int,
                   progress_cb: Progress | None, count_tolerance: float, restart: bool,
                   wait_lock_s: float) -> ReindexReport:
    started = time.monotonic()
    async with redis_lock(f"reindex:{alias_name(kind)}", ttl_s=LOCK_TTL_S, wait_s=wait_lock_s) as lock:
        async with get_sessionmaker()() as session:
            expected = await count_searchable(session, kind)
        resumed = None if restart else await _resumable(client, kind)
        if restart:
            unfinished = await progress(kind)
            if unfinished and unfinished.get("state") in ("running", "interrupted"):
                if unfinished.get("index") not in await alias_targets(client, kind):
                    await client.indices.delete(index=unfinished["index"], params={"ignore_unavailable": "true"})
        stats = LoadStats()
        if resumed:
            state = {**resumed, "state": "running", "total": expected, "pid": os.getpid(),
                     "host": socket.gethostname(), "batch_size": batch_size, "concurrency": concurrency}
            stats.loaded = int(resumed.get("loaded", 0))
            stats.retries = int(resumed.get("retries", 0))
        else:
            index = await create_index(client, kind, bulk_load=True)
            state = {"kind": kind, "index": index, "state": "running", "after_id": None, "loaded": 0,
                     "total": expected, "started_at": time.time(), "pid": os.getpid(),
                     "host": socket.gethostname(), "batch_size": batch_size, "concurrency": concurrency}
        index = state["index"]
        resumed_from = stats.loaded
        await _record(kind, state)
        if progress_cb:
            progress_cb("total", expected)
            if resumed_from:
                progress_cb("advance", resumed_from)
        try:
            await _bulk_load(client, kind, state, stats, batch_size, concurrency, progress_cb, lock)
            load_seconds = time.monotonic() - started
            await with_retries(lambda: finish_bulk_load(client, kind, index), "refresh")
            # Changes committed during the load went to the old index through the alias: copy them over.
            caught_up = await catch_up(client, kind, index, require_alias=False, stats=stats)
            await client.indices.refresh(index=index)
            documents = int((await client.count(index=index))["count"])
            async with get_sessionmaker()() as session:
                postgis_count = await count_searchable(session, kind)
            # Writes still in flight may move either count a little; anything more means a broken load.
            if abs(documents - postgis_count) > max(10, int(postgis_count * count_tolerance)):
                raise ReindexFailed(f"{index} holds {documents} documents but PostGIS has {postgis_count} "
                                    f"searchable {kind}; the alias was not switched"
                                    + (f" ({stats.failed_count} documents refused, e.g. "
                                       f"{next(iter(stats.failed.items()))})" if stats.failed else ""))
        except ReindexFailed:
            # A load that completed and is still wrong: resuming it would not help; start over next time.
            with suppress(Exception):
                await client.indices.delete(index=index, params={"ignore_unavailable": "true"})
            with suppress(Exception):
                await _record(kind, {**state, "state": "failed"}, keep_s=7 * 86400)
            raise
        except BaseException:
            # Ctrl-C, a kill that lets us run, OpenSearch or PostGIS gone past the retries: keep the index and
            # the checkpoint, the next run resumes.
            with suppress(Exception):
                await _record(kind, {**state, "state": "interrupted"})
            raise
        previous = await swap_alias(client, kind, index)
        # Between the last catch-up and the swap, the worker wrote to the old index: repeat once on the new one.
        caught_up += await catch_up(client, kind, alias_name(kind), require_alias=True, passes=2, stats=stats)
        deleted = await delete_old_indexes(client, kind, keep={index, *previous[-1:]})
        await _record(kind, {**state, "state": "done", "loaded": stats.loaded, "failed": stats.failed_count,
                             "retries": stats.retries, "documents": documents}, keep_s=7 * 86400)
    return ReindexReport(kind=kind, index=index, previous=previous, deleted=deleted, documents=documents,
                         postgis_count=postgis_count, caught_up=caught_up,
                         seconds=round(time.monotonic() - started, 2), load_seconds=round(load_seconds, 2),
                         resumed_from=resumed_from, batch_size=batch_size, concurrency=concurrency,
                         written=stats.written, already=stats.already, failed=stats.failed_count,
                         failed_sample=stats.failed, retries=stats.retries)


async def up_to_date(kind: str) -> tuple[bool, str]:
    """Cheap check for `reindex --if-needed`: the alias exists on an index of the current mapping version and
    holds as many documents as PostGIS has searchable rows (`filmo index verify` compares versions too)."""
    async with admin_client(timeout_s=30) as client:
        targets = await alias_targets(client, kind)
        if len(targets) != 1:
            return False, "no alias" if not targets else "alias on several indexes"
        if version_of_index(kind, targets[0]) != mapping_version(kind):
            return False, f"mapping version changed to v{mapping_version(kind)}"
        await client.indices.refresh(index=targets[0])
        documents = int((await client.count(index=targets[0]))["count"])
    async with get_sessionmaker()() as session:
        expected = await count_searchable(session, kind)
    if documents != expected:
        return False, f"{documents} documents, PostGIS has {expected}"
    return True, f"{documents} documents in {targets[0]}"


async def verify(kind: str, *, repair: bool = False) -> dict:
    async with admin_client() as client:
        return await _verify(client, kind, repair)


async def _verify(client: AsyncOpenSearch, kind: str, repair: bool) -> dict:
    alias = alias_name(kind)
    if not await alias_targets(client, kind):
        return {"kind": kind, "alias": alias, "error": "alias missing: run `filmo reindex " + kind + "`"}
    await client.indices.refresh(index=alias)
    diff = await diff_index(client, kind, alias)
    report = {"kind": kind, "alias": alias, **diff.summary(), "ok": not diff.ids}
    if repair and diff.ids:
        result = await rewrite(client, kind, alias, diff.ids, require_alias=True)
        # A refused write means the index holds a higher version than the row (e.g. a document or a tombstone
        # written by hand): move the row's version past it and write again.
        wanted = set(diff.ids)
        for _ in range(2):
            stuck = {doc_id: version for doc_id, version in result.conflict_versions.items() if doc_id in wanted}
            if not stuck:
                break
            async with get_sessionmaker()() as session:
                await bump_versions(session, kind, stuck)
                await session.commit()
            again = await rewrite(client, kind, alias, list(stuck), require_alias=True)
            result.written += again.written
            result.deleted += again.deleted
            result.conflict_versions = again.conflict_versions
        await client.indices.refresh(index=alias)
        after = await diff_index(client, kind, alias)
        report["repaired"] = {"written": result.written, "deleted": result.deleted, "conflicts": result.conflicts,
                              "failed": len(result.failed), "failed_sample": dict(list(result.failed.items())[:10])}
        report["after_repair"] = after.summary()
        report["ok"] = not after.ids
    return report


def _unavailable_detail(exc: BaseException) -> str:
    """One line, no secrets (a DATABASE_URL holds a password): the exception's type and first line."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first}"[:200]


async def status(kinds: tuple[str, ...], failing_attempts: int = 3) -> dict:
    async with admin_client(timeout_s=10) as client:
        return await _status(client, kinds, failing_attempts)


async def _status(client: AsyncOpenSearch, kinds: tuple[str, ...], failing_attempts: int) -> dict:
    """What can be known: each part asks its own service, and a service that cannot be asked makes its part
    "unknown" (`usable: false` at the top, null values, `state: "unknown"`), never "missing"."""
    from redis.exceptions import RedisError

    from db.unavailable import is_database_unavailable

    usable, why = await cluster_up(client)
    out: dict = {"opensearch": {"usable": usable, "detail": why}, "database": {"usable": True, "detail": "ok"},
                 "redis": {"usable": True, "detail": "ok"}, "indexes": [], "outbox": None}
    counts: dict[str, int] = {}
    try:
        async with get_sessionmaker()() as session:
            for kind in kinds:
                counts[kind] = await count_searchable(session, kind)
            out["outbox"] = await _outbox_status(session, failing_attempts)
    except Exception as exc:  # noqa: BLE001 - only an outage is reported; anything else is raised below
        if not is_database_unavailable(exc):
            raise
        out["database"] = {"usable": False, "detail": _unavailable_detail(exc)}
    for kind in kinds:
        entry: dict = {"kind": kind, "alias": alias_name(kind), "mapping_version": mapping_version(kind),
                       "postgis_count": counts.get(kind), "state": "unknown", "index": None,
                       "index_mapping_version": None, "doc_count": None, "other_indexes": None,
                       "reindex_needed": None}
        if usable:
            targets = await alias_targets(client, kind)
            entry["index"] = targets[0] if len(targets) == 1 else targets or None
            entry["index_mapping_version"] = version_of_index(kind, targets[0]) if targets else None
            entry["doc_count"] = int((await client.count(index=alias_name(kind)))["count"]) if targets else None
            entry["other_indexes"] = [i for i in await concrete_indexes(client, kind) if i not in targets]
            entry["reindex_needed"] = entry["index_mapping_version"] != entry["mapping_version"]
            entry["state"] = "missing" if not targets else "reindex_needed" if entry["reindex_needed"] else "ok"
        try:
            entry["reindex"] = await progress(kind)
        except RedisError as exc:
            entry["reindex"] = None
            out["redis"] = {"usable": False, "detail": _unavailable_detail(exc)}
        out["indexes"].append(entry)
    return out


async def _outbox_status(session, failing_attempts: int) -> dict:
    row = (await session.execute(text(
        "SELECT count(*), EXTRACT(EPOCH FROM now() - min(created_at)), "
        "count(*) FILTER (WHERE attempts >= :n) FROM search_outbox"), {"n": failing_attempts})).one()
    outbox = {"backlog": int(row[0]), "oldest_age_s": round(float(row[1]), 1) if row[1] is not None else None,
              "failing": int(row[2]), "failing_threshold": failing_attempts}
    by_entity = await session.execute(text("SELECT entity, count(*) FROM search_outbox GROUP BY entity"))
    outbox["by_entity"] = {entity: int(n) for entity, n in by_entity}
    failing = await session.execute(text(
        "SELECT id, entity, entity_id::text, attempts, last_error, last_attempt_at, created_at FROM search_outbox "
        "WHERE attempts >= :n ORDER BY attempts DESC, id LIMIT 20"), {"n": failing_attempts})
    outbox["failing_rows"] = [
        {"id": r[0], "entity": r[1], "entity_id": r[2], "attempts": r[3], "last_error": r[4],
         "last_attempt_at": r[5].isoformat() if r[5] else None, "created_at": r[6].isoformat()}
        for r in failing]
    return outbox


async def rollback(kind: str) -> dict:
    """Point the alias back at the index kept by the last reindex, then bring it up to date from PostGIS.

    Only within one mapping version: documents of the current code would not fit an older (strict) mapping,
    so rolling back a mapping change means rolling back the code as well.
    """
    async with admin_client() as client, redis_lock(f"reindex:{alias_name(kind)}", ttl_s=LOCK_TTL_S, wait_s=0):
        current = await alias_targets(client, kind)
        kept = [index for index in await concrete_indexes(client, kind) if index not in current]
        if not kept:
            raise ReindexFailed(f"no previous {kind} index is kept: nothing to roll back to")
        target = kept[-1]
        if version_of_index(kind, target) != mapping_version(kind):
            raise ReindexFailed(f"{target} has mapping v{version_of_index(kind, target)} but the code writes "
                                f"v{mapping_version(kind)}: roll back the code, then run this again")
        await swap_alias(client, kind, target)
        caught_up = await catch_up(client, kind, alias_name(kind), require_alias=True)
    return {"kind": kind, "index": target, "replaced": current, "caught_up": caught_up}
