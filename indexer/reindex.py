"""Zero-downtime reindex, verify/repair and status (the logic behind `filmo reindex` and `filmo index`).

Reindex: new versioned index (refresh off) ← bulk load from PostGIS ← catch-up (diff of versions, repeated
until clean) ← count check ← one atomic `_aliases` swap ← post-swap catch-up (changes the worker wrote to the
old index between the last catch-up and the swap) ← delete indexes older than the previous one.
Searches always hit the alias, which points at a complete index at every moment.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from opensearchpy import AsyncOpenSearch
from sqlalchemy import text

from db.session import get_sessionmaker
from indexer.bulk import BulkResult, write_docs
from indexer.client import alias_name
from indexer.documents import bump_versions, count_searchable, load_docs, scan_docs, searchable_versions
from indexer.indexes import (admin_client, alias_targets, concrete_indexes, create_index, delete_old_indexes,
                             finish_bulk_load, redis_lock, scan_versions, swap_alias)
from indexer.mappings import mapping_version, version_of_index

Progress = Callable[[str, int], None]  # (event "total"|"advance", n)


class ReindexFailed(RuntimeError):
    pass


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
    """Rebuild these documents from PostGIS (a missing or unsearchable row becomes a versioned delete)."""
    total = BulkResult()
    for start in range(0, len(ids), batch_size):
        async with get_sessionmaker()() as session:
            docs = await load_docs(session, kind, ids[start:start + batch_size])
        result = await write_docs(client, index, docs, require_alias=require_alias)
        total.written += result.written
        total.deleted += result.deleted
        total.conflicts += result.conflicts
        total.conflict_versions.update(result.conflict_versions)
        total.failed.update(result.failed)
    if total.failed:
        doc_id, reason = next(iter(total.failed.items()))
        raise ReindexFailed(f"{len(total.failed)} document(s) could not be written to {index}, e.g. {doc_id}: {reason}")
    return total


async def catch_up(client: AsyncOpenSearch, kind: str, index: str, *, require_alias: bool, passes: int = 3) -> int:
    """Diff and repair until a pass finds nothing (or `passes` runs out). Returns documents rewritten."""
    fixed = 0
    for _ in range(passes):
        await client.indices.refresh(index=index)
        diff = await diff_index(client, kind, index)
        if not diff.ids:
            break
        await rewrite(client, kind, index, diff.ids, require_alias=require_alias)
        fixed += len(diff.ids)
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

    def as_dict(self) -> dict:
        return asdict(self)


async def _bulk_load(client: AsyncOpenSearch, kind: str, index: str, batch_size: int, progress: Progress | None,
                     lock) -> int:
    """PostGIS → new index, with reading the next batch overlapping the writes of the previous ones."""
    queue: asyncio.Queue = asyncio.Queue(maxsize=4)
    loaded = 0

    async def produce() -> None:
        async with get_sessionmaker()() as session:
            async for docs in scan_docs(session, kind, batch_size):
                await queue.put(docs)
        for _ in range(writers):
            await queue.put(None)

    async def consume() -> None:
        nonlocal loaded
        while (docs := await queue.get()) is not None:
            result = await write_docs(client, index, docs, require_alias=False)
            if result.failed:
                doc_id, reason = next(iter(result.failed.items()))
                raise ReindexFailed(f"bulk load into {index} failed for {doc_id}: {reason}")
            loaded += len(docs)
            if progress:
                progress("advance", len(docs))
            await lock.extend()

    writers = 2
    tasks = [asyncio.create_task(produce()), *(asyncio.create_task(consume()) for _ in range(writers))]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    return loaded


async def reindex(kind: str, *, batch_size: int = 1000, progress: Progress | None = None,
                  count_tolerance: float = 0.001) -> ReindexReport:
    async with admin_client() as client:
        return await _reindex(client, kind, batch_size, progress, count_tolerance)


async def _reindex(client: AsyncOpenSearch, kind: str, batch_size: int, progress: Progress | None,
                   count_tolerance: float) -> ReindexReport:
    started = time.monotonic()
    async with redis_lock(f"reindex:{alias_name(kind)}", ttl_s=300, wait_s=0) as lock:
        async with get_sessionmaker()() as session:
            expected = await count_searchable(session, kind)
        if progress:
            progress("total", expected)
        index = await create_index(client, kind, bulk_load=True)
        try:
            await _bulk_load(client, kind, index, batch_size, progress, lock)
            load_seconds = time.monotonic() - started
            await finish_bulk_load(client, kind, index)
            # Changes committed during the load went to the old index through the alias: copy them over.
            caught_up = await catch_up(client, kind, index, require_alias=False)
            await client.indices.refresh(index=index)
            documents = int((await client.count(index=index))["count"])
            async with get_sessionmaker()() as session:
                postgis_count = await count_searchable(session, kind)
            # Writes still in flight may move either count a little; anything more means a broken load.
            if abs(documents - postgis_count) > max(10, int(postgis_count * count_tolerance)):
                raise ReindexFailed(f"{index} holds {documents} documents but PostGIS has {postgis_count} "
                                    f"searchable {kind}; the alias was not switched")
        except BaseException:
            await client.indices.delete(index=index, params={"ignore_unavailable": "true"})
            raise
        previous = await swap_alias(client, kind, index)
        # Between the last catch-up and the swap, the worker wrote to the old index: repeat once on the new one.
        caught_up += await catch_up(client, kind, alias_name(kind), require_alias=True, passes=2)
        deleted = await delete_old_indexes(client, kind, keep={index, *previous[-1:]})
    return ReindexReport(kind=kind, index=index, previous=previous, deleted=deleted, documents=documents,
                         postgis_count=postgis_count, caught_up=caught_up,
                         seconds=round(time.monotonic() - started, 2), load_seconds=round(load_seconds, 2))


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
        report["repaired"] = {"written": result.written, "deleted": result.deleted, "conflicts": result.conflicts}
        report["after_repair"] = after.summary()
        report["ok"] = not after.ids
    return report


async def status(kinds: tuple[str, ...], failing_attempts: int = 3) -> dict:
    async with admin_client(timeout_s=10) as client:
        return await _status(client, kinds, failing_attempts)


async def _status(client: AsyncOpenSearch, kinds: tuple[str, ...], failing_attempts: int) -> dict:
    out: dict = {"indexes": [], "outbox": {}}
    from indexer.indexes import cluster_up

    usable, why = await cluster_up(client)
    out["opensearch"] = {"usable": usable, "detail": why}
    async with get_sessionmaker()() as session:
        for kind in kinds:
            entry: dict = {"kind": kind, "alias": alias_name(kind), "mapping_version": mapping_version(kind),
                           "postgis_count": await count_searchable(session, kind)}
            if usable:
                targets = await alias_targets(client, kind)
                entry["index"] = targets[0] if len(targets) == 1 else targets or None
                entry["index_mapping_version"] = version_of_index(kind, targets[0]) if targets else None
                entry["doc_count"] = int((await client.count(index=alias_name(kind)))["count"]) if targets else None
                entry["other_indexes"] = [i for i in await concrete_indexes(client, kind) if i not in targets]
                entry["reindex_needed"] = entry["index_mapping_version"] != entry["mapping_version"]
            out["indexes"].append(entry)
        row = (await session.execute(text(
            "SELECT count(*), EXTRACT(EPOCH FROM now() - min(created_at)), "
            "count(*) FILTER (WHERE attempts >= :n) FROM search_outbox"), {"n": failing_attempts})).one()
        out["outbox"] = {"backlog": int(row[0]), "oldest_age_s": round(float(row[1]), 1) if row[1] is not None else None,
                         "failing": int(row[2]), "failing_threshold": failing_attempts}
        by_entity = await session.execute(text("SELECT entity, count(*) FROM search_outbox GROUP BY entity"))
        out["outbox"]["by_entity"] = {entity: int(n) for entity, n in by_entity}
        failing = await session.execute(text(
            "SELECT id, entity, entity_id::text, attempts, last_error, last_attempt_at, created_at FROM search_outbox "
            "WHERE attempts >= :n ORDER BY attempts DESC, id LIMIT 20"), {"n": failing_attempts})
        out["outbox"]["failing_rows"] = [
            {"id": r[0], "entity": r[1], "entity_id": r[2], "attempts": r[3], "last_error": r[4],
             "last_attempt_at": r[5].isoformat() if r[5] else None, "created_at": r[6].isoformat()}
            for r in failing]
    return out


async def rollback(kind: str) -> dict:
    """Point the alias back at the index kept by the last reindex, then bring it up to date from PostGIS.

    Only within one mapping version: documents of the current code would not fit an older (strict) mapping,
    so rolling back a mapping change means rolling back the code as well.
    """
    async with admin_client() as client, redis_lock(f"reindex:{alias_name(kind)}", ttl_s=300, wait_s=0):
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
