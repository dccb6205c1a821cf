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


def opensearch_hosts() -> list[str]:
    """OPENSEARCH_URL is one node's URL or a comma-separated list of a cluster's nodes (any of them coordinates)."""
    return [url.strip() for url in get_settings().opensearch_url.split(",") if url.strip()]


# A node that died (connection refused/reset) or that answers 502/503/504 while its cluster fails over is marked
# dead for a while and the request goes to the next node; searches never wait for their own timeout to retry.
RETRY_ON_STATUS = (502, 503, 504)


def connect(timeout_s: float, *, retries: int = 0) -> AsyncOpenSearch:
    """A new client (the caller closes it); `retries` also retries timeouts. The API uses `get_client`."""
    return AsyncOpenSearch(hosts=opensearch_hosts(), timeout=timeout_s, max_retries=retries,
                           retry_on_timeout=retries > 0, retry_on_status=RETRY_ON_STATUS,
                           serializer=OrjsonSerializer())


def _shared_client() -> AsyncOpenSearch:
    """The API's and the worker's client: with several nodes, a request that meets a dead node is sent once to
    each other node (bench/cluster: 0 failed searches with a node killed); timeouts are not retried (a search
    that timed out falls back to PostGIS rather than wait twice). One node: nothing to retry on."""
    hosts = opensearch_hosts()
    return AsyncOpenSearch(hosts=hosts, timeout=get_settings().opensearch_timeout_s, max_retries=len(hosts) - 1,
                           retry_on_timeout=False, retry_on_status=RETRY_ON_STATUS, serializer=OrjsonSerializer())


_clients: LoopLocal[AsyncOpenSearch] = LoopLocal(_shared_client, close=lambda client: client.close())


def get_client() -> AsyncOpenSearch:
    return _clients.get()


async def close_client() -> None:
    await _clients.close()
