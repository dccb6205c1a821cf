"""The Dramatiq broker: Redis, with the AsyncIO middleware so actors can be `async def`.

Every tasks module imports this module first, so its actors bind to this broker.
Queues are namespaced (QUEUE_NAMESPACE) so concurrent test runs never share work.
Its Redis connections heal like every other of ours (api.kernel.redis.connection_options): after a Redis
restart a stale connection reconnects and the command is sent again, instead of failing an enqueue or
making the worker restart its consumers.
"""
from __future__ import annotations

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import AsyncIO

from api.kernel.redis import connection_options
from api.kernel.settings import get_settings
from api.worker.metrics import MetricsPort

settings = get_settings()
# Queues whose idle consumers poll Redis at least every LATENCY_SENSITIVE_POLL_MS (instead of backing off to the
# worker's 1 s timeout): commit → searchable has a 1.5 s budget, and a 1 s idle poll would spend most of it.
LATENCY_SENSITIVE_QUEUES = ("search",)
LATENCY_SENSITIVE_POLL_MS = 100


class FilmoRedisBroker(RedisBroker):
    def consume(self, queue_name: str, prefetch: int = 1, timeout: int = 5000):
        if queue_name.split(".")[0] in LATENCY_SENSITIVE_QUEUES:
            timeout = min(timeout, LATENCY_SENSITIVE_POLL_MS)
        return super().consume(queue_name, prefetch, timeout)


_client = redis.Redis(connection_pool=redis.ConnectionPool.from_url(settings.redis_url,
                                                                   **connection_options(asyncio=False)))
broker = FilmoRedisBroker(client=_client, namespace=f"{settings.queue_namespace}-dramatiq")
broker.add_middleware(AsyncIO())
broker.add_middleware(MetricsPort())  # the worker's /metrics port (api/worker/metrics.py)
dramatiq.set_broker(broker)
