"""The Dramatiq broker: Redis, with the AsyncIO middleware so actors can be `async def`.

Import this module before any actor module so every actor binds to this broker.
Queues are namespaced (QUEUE_NAMESPACE) so concurrent test runs never share work.
"""
from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import AsyncIO

from api.core.settings import get_settings

settings = get_settings()
broker = RedisBroker(url=settings.redis_url, namespace=f"{settings.queue_namespace}-dramatiq")
broker.add_middleware(AsyncIO())
dramatiq.set_broker(broker)

# Every module that defines actors; the worker imports all of them.
ACTOR_MODULES = ["indexer.actors", "api.maintenance.jobs"]
