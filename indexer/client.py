"""OpenSearch access shared by the indexer and the search API: one async client per event loop, alias names."""
from __future__ import annotations

import asyncio

from opensearchpy import AsyncOpenSearch

from api.core.settings import get_settings

INDEXES = ("projects", "profiles")
_clients: dict[int, AsyncOpenSearch] = {}


def alias_name(kind: str) -> str:
    """Reads and writes always go through the alias `<prefix><kind>`, never a concrete index."""
    return f"{get_settings().opensearch_index_prefix}{kind}"


def opensearch_configured() -> bool:
    return bool(get_settings().opensearch_url)


def get_client() -> AsyncOpenSearch:
    try:
        key = id(asyncio.get_running_loop())
    except RuntimeError:
        key = 0
    if key not in _clients:
        settings = get_settings()
        _clients[key] = AsyncOpenSearch(hosts=[settings.opensearch_url], timeout=settings.opensearch_timeout_s,
                                        max_retries=0, retry_on_timeout=False)
    return _clients[key]


async def close_client() -> None:
    try:
        key = id(asyncio.get_running_loop())
    except RuntimeError:
        key = 0
    client = _clients.pop(key, None)
    if client is not None:
        await client.close()
