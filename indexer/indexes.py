"""Concrete indexes behind the aliases: create, ensure, swap, clean up, scan.

The alias `<prefix><kind>` always points at exactly one concrete index `<prefix><kind>_v<version>_<time>`.
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from opensearchpy import AsyncOpenSearch, NotFoundError
from redis.asyncio.lock import Lock
from redis.exceptions import LockError

from api.kernel.redis import get_redis
from api.kernel.settings import get_settings
from indexer.client import INDEXES, alias_name, connect, get_client
from indexer.mappings import index_body, index_pattern, new_index_name

log = logging.getLogger("filmo.indexer")
_ensured: set[str] = set()
_HOST = socket.gethostname()


class LockBusy(RuntimeError):
    pass


def lock_key(name: str) -> str:
    return f"filmo:{get_settings().queue_namespace}:lock:{name}"


def _holder_died(token: str | None) -> bool:
    """The token names its holder (`host:pid:uuid`): a holder on this host whose process is gone died without
    releasing (SIGKILL, OOM), and waiting out its TTL would only delay the operator's retry."""
    if not token or token.count(":") < 2:
        return False
    host, pid, _ = token.split(":", 2)
    if host != _HOST or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


@asynccontextmanager
async def redis_lock(name: str, ttl_s: float = 30, wait_s: float = 30.0) -> AsyncIterator[Lock]:
    """A cross-process lock: redis-py's own `Lock` (acquire, atomic `extend` and owner-only release are Lua).

    The TTL stays short so a crashed holder frees it soon, and a heartbeat task extends it every ttl/3 while the
    body runs, however long one step takes (a bulk load with backoff, a refresh). A holder on this host that
    is no longer running is recognised at once and its lock taken over. Raises LockBusy after `wait_s`.
    """
    redis = get_redis()
    key = lock_key(name)
    lock = Lock(redis, key, timeout=ttl_s, sleep=0.2, blocking_timeout=wait_s, thread_local=False)
    token = f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex}"
    if not await lock.acquire(blocking=False, token=token):
        held = await redis.get(key)
        if _holder_died(held):
            dead = Lock(redis, key, thread_local=False, raise_on_release_error=False)
            dead.local.token = held.encode()
            await dead.release()  # compare-and-delete: only if that dead holder's token is still there
            log.warning("took over %s from %s, which is no longer running", key, held)
        if not await lock.acquire(token=token):
            raise LockBusy(f"another process holds {key} ({held or 'just released'})")

    async def heartbeat() -> None:
        while True:
            await asyncio.sleep(ttl_s / 3)
            await lock.extend(ttl_s, replace_ttl=True)

    beat = asyncio.create_task(heartbeat())
    try:
        yield lock
    finally:
        beat.cancel()
        with suppress(asyncio.CancelledError, LockError):
            await beat
        with suppress(LockError):  # expired and taken over meanwhile: not ours to delete
            await lock.release()


@asynccontextmanager
async def admin_client(timeout_s: float = 120.0) -> AsyncIterator[AsyncOpenSearch]:
    """A client for operator work (reindex, verify): long timeouts, since a bulk load, a refresh or a scroll on a
    busy 2-core node can take far longer than the API's per-request budget."""
    client = connect(timeout_s, retries=2)
    try:
        yield client
    finally:
        await client.close()


async def alias_targets(client: AsyncOpenSearch, kind: str) -> list[str]:
    try:
        response = await client.indices.get_alias(name=alias_name(kind))
    except NotFoundError:
        return []
    return sorted(response)


async def concrete_indexes(client: AsyncOpenSearch, kind: str) -> list[str]:
    """Every concrete index of this kind, oldest first (names sort by version then creation time)."""
    try:
        response = await client.indices.get(index=index_pattern(kind), params={"expand_wildcards": "open"})
    except NotFoundError:
        return []
    return sorted(response, key=lambda name: (int(name.rsplit("_v", 1)[1].split("_")[0]), name))


async def create_index(client: AsyncOpenSearch, kind: str, *, bulk_load: bool = False,
                       with_alias: bool = False) -> str:
    """A new empty concrete index from search_mappings/. `bulk_load` turns refresh off until `finish_bulk_load`."""
    name = new_index_name(kind)
    body = index_body(kind)
    if bulk_load:
        body["settings"]["index"]["refresh_interval"] = "-1"
    if with_alias:
        body["aliases"] = {alias_name(kind): {}}
    await client.indices.create(index=name, body=body)
    return name


async def finish_bulk_load(client: AsyncOpenSearch, kind: str, index: str) -> None:
    refresh = index_body(kind)["settings"]["index"].get("refresh_interval", "1s")
    await client.indices.put_settings(index=index, body={"index": {"refresh_interval": refresh}})
    await client.indices.refresh(index=index)


async def _drop_auto_created(client: AsyncOpenSearch, kind: str) -> bool:
    """A `_bulk` delete against a missing alias makes OpenSearch auto-create a plain index with the alias's name.
    It holds nothing of value (deletes only) and blocks the alias, so it goes."""
    alias = alias_name(kind)
    if await client.indices.exists(index=alias) and not await client.indices.exists_alias(name=alias):
        log.warning("deleting auto-created index %s that blocks the alias", alias)
        await client.indices.delete(index=alias)
        return True
    return False


async def ensure_indexes(kinds: tuple[str, ...] = INDEXES) -> list[str]:
    """Make sure every alias exists (an empty index for a fresh install). Cheap after the first call per process.

    Returns the aliases it had to create. Fill a fresh install with `filmo reindex all`.
    """
    client = get_client()
    created: list[str] = []
    for kind in kinds:
        alias = alias_name(kind)
        if alias in _ensured:
            continue
        if not await alias_targets(client, kind):
            async with redis_lock(f"ensure:{alias}", ttl_s=60):
                if not await alias_targets(client, kind):
                    await _drop_auto_created(client, kind)
                    index = await create_index(client, kind, with_alias=True)
                    log.info("created index %s behind alias %s", index, alias)
                    created.append(alias)
        _ensured.add(alias)
    return created


def forget_ensured(kind: str) -> None:
    """Called when a write finds the alias gone: the next `ensure_indexes` checks again."""
    _ensured.discard(alias_name(kind))


async def swap_alias(client: AsyncOpenSearch, kind: str, new_index: str) -> list[str]:
    """Point the alias at `new_index` in ONE `_aliases` request (searches never see no index). Returns the old ones."""
    alias = alias_name(kind)
    old = await alias_targets(client, kind)
    actions: list[dict] = [{"remove": {"index": index, "alias": alias}} for index in old if index != new_index]
    if not old and await client.indices.exists(index=alias):
        actions.append({"remove_index": {"index": alias}})
    actions.append({"add": {"index": new_index, "alias": alias}})
    await client.indices.update_aliases(body={"actions": actions})
    _ensured.add(alias)
    return [index for index in old if index != new_index]


async def delete_old_indexes(client: AsyncOpenSearch, kind: str, keep: set[str]) -> list[str]:
    deleted = []
    for index in await concrete_indexes(client, kind):
        if index not in keep:
            await client.indices.delete(index=index, params={"ignore_unavailable": "true"})
            deleted.append(index)
    return deleted


# What a version scan reads of each page: ids and versions only. Without it every hit also carries its index
# name, score and sort value, about twice the JSON to encode and parse per document.
_VERSION_PATHS = "_scroll_id,hits.hits._id,hits.hits._version"


async def scan_versions(client: AsyncOpenSearch, index: str, page: int = 10_000) -> dict[str, int]:
    """id -> external version of every document (no sources fetched), in pages of the largest size a
    scroll allows (index.max_result_window). At 1M: 2.8 s against 3.7-3.9 s with 5,000-hit pages and whole
    hits (the reindex runs this at least twice: its catch-up before and after the alias swap)."""
    versions: dict[str, int] = {}
    response = await client.search(index=index, scroll="2m", size=page, filter_path=_VERSION_PATHS,
                                   body={"query": {"match_all": {}}, "_source": False, "version": True,
                                         "sort": ["_doc"]})
    scroll_id = response.get("_scroll_id")
    try:
        while hits := response.get("hits", {}).get("hits"):  # filter_path drops an empty list
            for hit in hits:
                versions[hit["_id"]] = int(hit["_version"])
            response = await client.scroll(scroll_id=scroll_id, scroll="2m", filter_path=_VERSION_PATHS)
            scroll_id = response.get("_scroll_id", scroll_id)
    finally:
        if scroll_id:
            try:
                await client.clear_scroll(scroll_id=scroll_id)
            except NotFoundError:
                pass
    return versions


async def cluster_up(client: AsyncOpenSearch | None = None) -> tuple[bool, str]:
    """(usable, why) from a quick health call: red or unreachable means wait."""
    client = client or get_client()
    try:
        health = await client.cluster.health(params={"request_timeout": 2})
    except Exception as exc:  # any failure to reach the cluster means: not now
        return False, f"{type(exc).__name__}: {exc}"[:300]
    status = health.get("status")
    return status in ("green", "yellow"), f"cluster status {status}"
