"""Two uvicorn processes sharing Redis: cross-process delivery, removal that bites at once, crash expiry."""
from __future__ import annotations

import asyncio
import os
import signal
import time

import httpx

from tests.helpers.projects import insert_project
from tests.helpers.realtime import connect
from tests.helpers.waiting import eventually

FAST_PRESENCE = {"PRESENCE_HEARTBEAT_S": "1", "PRESENCE_EXPIRY_S": "4"}


async def test_sender_on_one_process_receivers_on_the_other(start_server, make_user):
    a_srv, b_srv = start_server(), start_server()
    alice, bob, carol = [await make_user(profile={"name": n}) for n in ("Alice", "Bob", "Carol")]
    project_id = await insert_project(alice, bob, carol)
    pid = str(project_id)
    a = await connect(a_srv.url, alice.token)
    b, c = await connect(b_srv.url, bob.token), await connect(b_srv.url, carol.token)
    try:
        for rec in (a, b, c):
            assert (await rec.call("join_project", {"project_id": pid}))["ok"]
        joined = await a.wait_for("user_joined", lambda d: d["user_name"] == "Carol")
        assert {u["name"] for u in joined["online_users"]} == {"Alice", "Bob", "Carol"}

        # Concurrent senders on both processes: every member sees every message once, all in one order.
        async def burst(rec, tag):
            for i in range(15):
                assert (await rec.call("send_message", {"project_id": pid, "content": f"{tag}{i}"}))["ok"]

        await asyncio.gather(burst(a, "a"), burst(b, "b"))
        for rec in (a, b, c):
            await eventually(lambda rec=rec: len(rec.of("message")) >= 30, timeout=15)
        await asyncio.sleep(0.3)
        orders = [[m["id"] for m in rec.of("message")] for rec in (a, b, c)]
        assert len(set(orders[0])) == 30 and orders[0] == orders[1] == orders[2]
        for tag in ("a", "b"):  # each sender's messages keep their order
            assert [m["content"] for m in a.of("message") if m["content"][0] == tag] == [f"{tag}{i}" for i in range(15)]

        await a.call("typing", {"project_id": pid})
        assert (await c.wait_for("typing"))["user_name"] == "Alice"
        sent = await c.call("send_dm", {"to_user_id": str(alice.id), "content": "psst"})
        assert sent["ok"]
        dm = await a.wait_for("dm")
        assert dm["content"] == "psst" and dm["sender_id"] == str(carol.id)
    finally:
        for rec in (a, b, c):
            await rec.close()


async def test_removed_member_is_cut_off_on_the_other_process(start_server, make_user):
    a_srv, b_srv = start_server(), start_server()
    alice, bob, carol = [await make_user(profile={"name": n}) for n in ("Alice", "Bob", "Carol")]
    project_id = await insert_project(alice, bob, carol)
    pid = str(project_id)
    a = await connect(a_srv.url, alice.token)
    b1, b2 = await connect(b_srv.url, bob.token), await connect(a_srv.url, bob.token)  # two tabs, two processes
    c = await connect(b_srv.url, carol.token)
    try:
        for rec in (a, b1, b2, c):
            assert (await rec.call("join_project", {"project_id": pid}))["ok"]
        await a.call("send_message", {"project_id": pid, "content": "before"})
        await b1.wait_for("message", lambda m: m["content"] == "before")

        # The admin removes Bob over REST on process A (the team service calls the chat service's member_removed).
        async with httpx.AsyncClient(base_url=a_srv.url) as http:
            resp = await http.delete(f"/api/v1/management/project/{pid}/member/{bob.id}", headers=alice.headers)
        assert resp.status_code == 200, resp.text
        for tab in (b1, b2):
            assert (await tab.wait_for("membership_revoked")) == {"project_id": pid}
        left = await a.wait_for("user_left", lambda d: d["user_id"] == str(bob.id))
        assert {u["name"] for u in left["online_users"]} == {"Alice", "Carol"}

        await a.call("send_message", {"project_id": pid, "content": "after"})
        await c.wait_for("message", lambda m: m["content"] == "after")
        await asyncio.sleep(0.5)
        for tab in (b1, b2):
            assert [m["content"] for m in tab.of("message")] == ["before"]
            refused = await tab.call("send_message", {"project_id": pid, "content": "still here?"})
            assert refused["ok"] is False and refused["error"]["code"] == "forbidden"
            assert (await tab.call("typing", {"project_id": pid}))["error"]["code"] == "not_joined"
            assert (await tab.call("join_project", {"project_id": pid}))["error"]["code"] == "forbidden"
        assert b1.client.connected and b2.client.connected  # DMs and other projects keep working

        # Leaving works the same way.
        async with httpx.AsyncClient(base_url=b_srv.url) as http:
            resp = await http.post(f"/api/v1/management/project/{pid}/leave", headers=carol.headers)
        assert resp.status_code == 200, resp.text
        await c.wait_for("membership_revoked")
        await a.call("send_message", {"project_id": pid, "content": "alone now"})
        await asyncio.sleep(0.5)
        assert "alone now" not in [m["content"] for m in c.of("message")]
        async with httpx.AsyncClient(base_url=a_srv.url) as http:
            online = (await http.get(f"/api/v1/chat/online-users/{pid}", headers=alice.headers)).json()
        assert [u["name"] for u in online["online_users"]] == ["Alice"]
    finally:
        for rec in (a, b1, b2, c):
            await rec.close()


async def test_users_of_a_crashed_process_leave_presence_after_expiry(start_server, make_user):
    a_srv, b_srv = start_server(extra_env=FAST_PRESENCE), start_server(extra_env=FAST_PRESENCE)
    alice, bob, carol, dave = [await make_user(profile={"name": n}) for n in ("Alice", "Bob", "Carol", "Dave")]
    project_id = await insert_project(alice, bob, carol, dave)
    pid = str(project_id)
    watcher = await connect(b_srv.url, alice.token)
    doomed = [await connect(a_srv.url, u.token) for u in (bob, carol, dave)]
    dave_b = await connect(b_srv.url, dave.token)  # Dave also has a tab on the surviving process
    try:
        for rec in (watcher, *doomed, dave_b):
            assert (await rec.call("join_project", {"project_id": pid}))["ok"]
        async with httpx.AsyncClient(base_url=b_srv.url) as http:
            async def online_names():
                resp = await http.get(f"/api/v1/chat/online-users/{pid}", headers=alice.headers)
                return sorted(u["name"] for u in resp.json()["online_users"])

            assert await online_names() == ["Alice", "Bob", "Carol", "Dave"]
            a_srv.kill()  # SIGKILL: no disconnect handler runs
            killed_at = time.monotonic()
            await watcher.wait_for("user_left", lambda d: d["user_name"] == "Bob", timeout=30)
            await watcher.wait_for("user_left", lambda d: d["user_name"] == "Carol", timeout=30)
            elapsed = time.monotonic() - killed_at
            assert elapsed < 30, elapsed
            assert await online_names() == ["Alice", "Dave"]
            await asyncio.sleep(2)
            # Dave's live tab keeps him online; nobody is announced twice.
            assert not [e for e in watcher.of("user_left") if e["user_name"] == "Dave"]
            assert len([e for e in watcher.of("user_left") if e["user_name"] == "Bob"]) == 1
            last = watcher.of("user_left")[-1]
            assert sorted(u["name"] for u in last["online_users"]) == ["Alice", "Dave"]
    finally:
        for rec in (watcher, dave_b):
            await rec.close()


async def test_users_of_a_stalled_process_leave_and_come_back(start_server, make_user):
    """A process that stops beating (stalled, not dead) loses its users to the sweeper; its next
    heartbeat brings them back and they are announced again."""
    a_srv, b_srv = start_server(extra_env=FAST_PRESENCE), start_server(extra_env=FAST_PRESENCE)
    alice, bob = [await make_user(profile={"name": n}) for n in ("Alice", "Bob")]
    pid = str(await insert_project(alice, bob))
    watcher = await connect(b_srv.url, alice.token)
    stalled = await connect(a_srv.url, bob.token)
    try:
        for rec in (watcher, stalled):
            assert (await rec.call("join_project", {"project_id": pid}))["ok"]
        await watcher.wait_for("user_joined", lambda d: d["user_name"] == "Bob")
        joins_before = len(watcher.of("user_joined"))
        os.kill(a_srv.proc.pid, signal.SIGSTOP)
        try:
            left = await watcher.wait_for("user_left", lambda d: d["user_name"] == "Bob", timeout=30)
            assert [u["name"] for u in left["online_users"]] == ["Alice"]
        finally:
            os.kill(a_srv.proc.pid, signal.SIGCONT)
        await eventually(lambda: len(watcher.of("user_joined")) > joins_before, timeout=30)
        back = watcher.of("user_joined")[joins_before:]
        assert [(e["user_name"], e["project_id"]) for e in back] == [("Bob", pid)]
        assert sorted(u["name"] for u in back[0]["online_users"]) == ["Alice", "Bob"]
        # Bob's connection lived through the stall and still delivers.
        await stalled.call("send_message", {"project_id": pid, "content": "sorry, I froze"})
        assert (await watcher.wait_for("message", lambda m: m["content"] == "sorry, I froze"))["sender_name"] == "Bob"
    finally:
        for rec in (watcher, stalled):
            await rec.close()
