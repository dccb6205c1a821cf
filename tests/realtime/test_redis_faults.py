"""Redis restarted or stopped under a running API process: chat heals by itself, and every refusal is a
documented code.

The API process runs against a throw-away redis-server of this test (tests/helpers/redis_server.py); the
shared Redis is never touched.
"""
from __future__ import annotations

import asyncio
import re

from api.kernel.problems import CODES
from tests.helpers.accounts import people
from tests.helpers.projects import insert_project
from tests.helpers.realtime import connect
from tests.helpers.redis_server import RedisServer
from tests.helpers.run import REPO
from tests.helpers.waiting import eventually


def _documented_codes() -> set[str]:
    return set(re.findall(r"`([a-z_]+)`", (REPO / "realtime" / "README.md").read_text()))


async def test_chat_heals_after_redis_restarts_and_says_unavailable_while_it_is_down(start_server, make_user):
    """After a Redis restart every pooled connection is dead. Health checks and retry on connection errors
    replace them, so the next sends succeed and broadcasts resume; they used to fail with the undocumented
    code `error` until each stale connection had failed once. While Redis is down, the ack is `unavailable`
    (documented), and chat works again as soon as Redis is back, without restarting the API."""
    redis = RedisServer()
    recs = []
    try:
        server = start_server(extra_env={"REDIS_URL": redis.url})
        alice, bob, carol = await people(make_user, "Alice", "Bob", "Carol")
        pid = str(await insert_project(alice, bob, carol))
        recs = [await connect(server.url, user.token) for user in (alice, bob, carol)]
        for rec in recs:
            assert (await rec.call("join_project", {"project_id": pid}))["ok"]

        async def send(rec, content: str) -> dict:
            return await rec.call("send_message", {"project_id": pid, "content": content})

        async def burst(tag: str) -> None:
            # Three senders at once: the server's pools hold several connections, each of which goes stale.
            acks = await asyncio.gather(*(send(rec, f"{tag} {n}") for n, rec in enumerate(recs) for _ in range(2)))
            assert all(ack["ok"] for ack in acks), acks

        async def delivered(tag: str) -> None:
            # Pub/sub drops what is published while a subscriber reconnects: send until one arrives.
            async def arrived() -> bool:
                assert (await send(recs[0], tag))["ok"]
                return any(m["content"] == tag for m in recs[1].of("message"))

            await eventually(arrived, timeout=15, interval=0.3)

        await burst("before")
        await delivered("first")

        redis.restart()
        for n in range(6):
            ack = await send(recs[n % 3], f"after restart {n}")
            assert ack["ok"], ack
        await burst("after restart")
        await delivered("delivered after restart")

        redis.stop()
        ack = await send(recs[0], "while down")
        assert ack["ok"] is False and ack["error"]["code"] == "unavailable", ack
        assert "unavailable" in _documented_codes()

        redis.start()
        await burst("back")
        await delivered("delivered when back")
    finally:
        for rec in recs:
            await rec.close()
        redis.stop()


def test_every_code_an_event_can_answer_is_documented():
    """A client can only act on codes it knows: every code realtime/handlers.py (or the session rule it uses)
    can put in an ack or an `error` event is listed in realtime/README.md."""
    handlers = (REPO / "realtime" / "handlers.py").read_text()
    sessions = (REPO / "api" / "auth" / "sessions.py").read_text()
    codes = set(re.findall(r"(?:EventError|_error)\(\s*\"([a-z_]+)\"", handlers))
    codes |= set(re.findall(r"code: str = \"([a-z_]+)\"", handlers))  # _end_session's default
    assert "EventError(problem.code" in handlers, "a Problem's ack code moved: update this test"
    codes |= set(CODES)  # a Problem carries any code of the kernel's table
    codes |= set(re.findall(r"SessionRefused\(\"([a-z_]+)\"", sessions))  # connect refusals, also on `auth`
    assert {"invalid_payload", "forbidden", "internal", "rate_limited", "invalid_token"} <= codes, codes
    assert codes - _documented_codes() == set()
