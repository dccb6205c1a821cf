"""OpenSearch access shared by the indexer and the search API: one async client per event loop, alias names."""
from __future__ import annotations

import orjson
from opensearchpy import AsyncOpenSearch
from opensearchpy.serializer import JSONSerializer

from api.kernel.loop_local import LoopLocal
from api.kernel.settings import get_settings

INDEXES = ("projects", "profiles")


def alias_name(kind: str) -> str:
    """Reads and writes always go through the alias `<prefix><kind>`, never a concrete index."""
    return f"{get_settings().opensearch_index_prefix}{kind}"


def opensearch_configured() -> bool:
    return bool(get_settings().opensearch_url)


class OrjsonSerializer(JSONSerializer):
    """orjson for request and response bodies: parsing a search answer with the stdlib json module was
    ~6 % of a search request's CPU under load (py-spy, bench/throughput). Anything orjson does not know
    natively (Decimal, ...) goes through the stock serializer's `default`."""

    def dumps(self, data):
        if isinstance(data, (str, bytes)):
            return data
        return orjson.dumps(data, default=self.default).decode()

    def loads(self, s):
        return orjson.loads(s)


def connect(timeout_s: float, *, retries: int = 0) -> AsyncOpenSearch:
    """A new client (the caller closes it); `retries` also retries timeouts. The API uses `get_client`."""
    return AsyncOpenSearch(hosts=[get_settings().opensearch_url], timeout=timeout_s, max_retries=retries,
                           retry_on_timeout=retries > 0, serializer=OrjsonSerializer())


_clients: LoopLocal[AsyncOpenSearch] = LoopLocal(lambda: connect(get_settings().opensearch_timeout_s),
                                                 close=lambda client: client.close())


def get_client() -> AsyncOpenSearch:
    return _clients.get()


async def close_client() -> None:
    await _clients.close()
