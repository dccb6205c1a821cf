"""No message missed after a reconnect: rejoin with the last message id seen and get the gap (realtime/README.md)."""
from __future__ import annotations

import asyncio
import json
import os
import shutil

import pytest

from tests.helpers.accounts import people
from tests.helpers.projects import insert_project
from tests.helpers.realtime import connect
from tests.helpers.run import REPO

JS_DIR = REPO / "tests" / "js"
BOUND = 5


@pytest.fixture(scope="module")
def small_bound_server():
    from tests.helpers.processes import ServerProcess

    proc = ServerProcess(extra_env={"CHAT_RECOVERY_MAX_MESSAGES": str(BOUND), "CHAT_MESSAGES_PER_MINUTE": "1000"})
    yield proc
    proc.stop()


async def _send(rec, project_id, content: str) -> dict:
    ack = await rec.call("send_message", {"project_id": str(project_id), "content": content})
    assert ack["ok"], ack
    return ack["message"]


async def test_rejoin_gets_the_gap_in_order_and_beyond_the_bound_is_told_to_page(small_bound_server, make_user):
    alice, bob = await people(make_user, "Alice", "Bob")
    project_id = await insert_project(alice, bob)
    a = await connect(small_bound_server.url, alice.token)
    b = await connect(small_bound_server.url, bob.token)
    try:
        sent = [await _send(a, project_id, f"m{i}") for i in range(8)]

        # Fewer than the bound missed: all of them, oldest first, and complete.
        last = sent[4]["id"]
        ack = await b.call("join_project", {"project_id": str(project_id), "last_message_id": last})
        assert ack["ok"], ack
        missed = ack["missed"]
        assert missed["complete"] is True
        after = [m for m in missed["messages"] if m["id"] > last]
        assert [m["content"] for m in after] == ["m5", "m6", "m7"]
        assert after[0]["sender_name"] == "Alice"
        ids = [m["id"] for m in missed["messages"]]
        assert ids == sorted(ids) and last not in ids
        # What comes before `last` is only the short overlap the client drops by id (messages sent just before it).
        assert {m["id"] for m in missed["messages"] if m["id"] < last} <= {m["id"] for m in sent[:4]}

        # More than the bound missed: the newest BOUND, oldest first, and complete=false (page the history).
        ack = await b.call("join_project", {"project_id": str(project_id), "last_message_id": sent[0]["id"]})
        assert ack["missed"]["complete"] is False
        assert [m["content"] for m in ack["missed"]["messages"]] == ["m3", "m4", "m5", "m6", "m7"]
        # 0: "I saw nothing yet" -> the newest BOUND as well.
        ack = await b.call("join_project", {"project_id": str(project_id), "last_message_id": 0})
        assert ack["missed"]["complete"] is False and len(ack["missed"]["messages"]) == BOUND

        # Nothing missed: an empty, complete gap; and no last id: no `missed` at all (a first join).
        ack = await b.call("join_project", {"project_id": str(project_id), "last_message_id": sent[-1]["id"]})
        assert [m for m in ack["missed"]["messages"] if m["id"] > sent[-1]["id"]] == []
        assert ack["missed"]["complete"] is True
        ack = await b.call("join_project", {"project_id": str(project_id)})
        assert ack["ok"] and "missed" not in ack
    finally:
        await a.close()
        await b.close()


async def test_no_gap_from_a_project_you_are_not_a_member_of(small_bound_server, make_user):
    alice, bob, mallory = await people(make_user, "Alice", "Bob", "Mallory")
    secret_project = await insert_project(alice, bob)
    mallorys_project = await insert_project(mallory)
    a = await connect(small_bound_server.url, alice.token)
    m = await connect(small_bound_server.url, mallory.token)
    try:
        first = await _send(a, secret_project, "secret plans")
        await _send(a, secret_project, "more secret plans")
        ack = await m.call("join_project", {"project_id": str(secret_project), "last_message_id": 0})
        assert ack["ok"] is False and ack["error"]["code"] == "forbidden" and "missed" not in ack
        # A message id of another project only selects the caller's own project's messages.
        ack = await m.call("join_project", {"project_id": str(mallorys_project), "last_message_id": first["id"] - 1})
        assert ack["ok"] and ack["missed"] == {"messages": [], "complete": True}
        assert not [e for e in m.events if e[0] == "message"]
        # Direct messages: only one's own conversations.
        assert (await a.call("send_dm", {"to_user_id": str(bob.id), "content": "for Bob only"}))["ok"]
        ack = await m.call("dm_resume", {"last_message_id": 0})
        assert ack["ok"] and ack["missed"] == {"messages": [], "complete": True}
        # Bad ids are refused with the field named, not coerced.
        for bad in ("5", -1, 1.5, None):
            ack = await m.call("join_project", {"project_id": str(mallorys_project), "last_message_id": bad}) \
                if bad is not None else await m.call("dm_resume", {})
            assert ack["ok"] is False and ack["error"]["code"] == "invalid_payload", (bad, ack)
            assert ack["error"]["errors"][0]["field"] == "last_message_id"
    finally:
        await a.close()
        await m.close()


async def test_dm_resume_returns_both_directions_bounded(small_bound_server, make_user):
    alice, bob, carol = await people(make_user, "Alice", "Bob", "Carol")
    a = await connect(small_bound_server.url, alice.token)
    b = await connect(small_bound_server.url, bob.token)
    c = await connect(small_bound_server.url, carol.token)
    try:
        seen = (await a.call("send_dm", {"to_user_id": str(bob.id), "content": "seen"}))["message"]
        await c.call("send_dm", {"to_user_id": str(alice.id), "content": "carol to alice"})
        later = []
        for i in range(3):
            later.append((await a.call("send_dm", {"to_user_id": str(bob.id), "content": f"a{i}"}))["message"])
            later.append((await b.call("send_dm", {"to_user_id": str(alice.id), "content": f"b{i}"}))["message"])
        ack = await b.call("dm_resume", {"last_message_id": seen["id"]})
        assert ack["ok"], ack
        # Bob's conversations only (not Carol's message to Alice), both directions, oldest first; 6 > BOUND.
        assert ack["missed"]["complete"] is False
        assert [m["content"] for m in ack["missed"]["messages"]] == ["b0", "a1", "b1", "a2", "b2"]
        ack = await b.call("dm_resume", {"last_message_id": later[2]["id"]})
        assert ack["missed"]["complete"] is True
        assert [m["content"] for m in ack["missed"]["messages"] if m["id"] > later[2]["id"]] == ["b1", "a2", "b2"]
    finally:
        for rec in (a, b, c):
            await rec.close()


async def test_official_js_client_recovers_what_it_missed_while_disconnected(start_server, make_user):
    """The JS client's connection drops mid-burst; it reconnects by itself, rejoins with the last id it saw, and ends
    with exactly what was sent, in order, although part of it never reached it live."""
    node = shutil.which("node")
    assert node, "node is required for the JavaScript client test (install Node.js >= 18)"
    assert (JS_DIR / "node_modules" / "socket.io-client").is_dir(), "run `npm ci --prefix tests/js` first"
    server = start_server(extra_env={"CHAT_MESSAGES_PER_MINUTE": "1000"})
    alice, bob = await people(make_user, "Alice", "Bob")
    project_id = await insert_project(alice, bob)
    count, dm_count = 60, 20
    proc = await asyncio.create_subprocess_exec(
        node, str(JS_DIR / "reconnect_client.mjs"), cwd=JS_DIR, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "FILMO_URL": server.url, "FILMO_TOKEN": bob.token, "FILMO_PROJECT_ID": str(project_id),
             "FILMO_EXPECT_MESSAGES": str(count), "FILMO_EXPECT_DMS": str(dm_count), "FILMO_DROP_AFTER": "10"})
    sender = await connect(server.url, alice.token)
    sent, sent_dms = [], []
    try:
        assert (await asyncio.wait_for(proc.stdout.readline(), 20)).strip() == b"ready"
        for i in range(count):
            sent.append(await _send(sender, project_id, f"burst {i}"))
            if i % 3 == 0 and len(sent_dms) < dm_count:
                ack = await sender.call("send_dm", {"to_user_id": str(bob.id), "content": f"dm {len(sent_dms)}"})
                sent_dms.append(ack["message"])
            await asyncio.sleep(0.02)  # a burst that lasts past the reconnect (~0.2-0.4 s)
        while len(sent_dms) < dm_count:
            ack = await sender.call("send_dm", {"to_user_id": str(bob.id), "content": f"dm {len(sent_dms)}"})
            sent_dms.append(ack["message"])
        out, err = await asyncio.wait_for(proc.communicate(), timeout=40)
    finally:
        await sender.close()
        if proc.returncode is None:
            proc.kill()
    assert proc.returncode == 0, (out.decode()[-3000:], err.decode()[-3000:])
    result = json.loads(out.decode().strip().splitlines()[-1])

    # The drop really happened, mid-burst, and the client came back by itself.
    assert result["disconnects"] == ["transport close"] and result["connects"] == 2
    rejoin = result["joins"][1]
    assert rejoin["ok"] and rejoin["last_message_id"] == max(result["live"][:10]) and rejoin["missed"]["complete"]
    assert result["resumes"] == [{"ok": True, "complete": True}]
    # Part of the burst reached the client only through the recovery: it was sent while it was away.
    only_recovered = set(result["recovered"]) - set(result["live"])
    assert only_recovered, result
    # In the end: exactly what was sent, once, in order.
    assert result["messages"] == [{"id": m["id"], "content": m["content"]} for m in sent]
    assert result["dms"] == [{"id": m["id"], "content": m["content"]} for m in sent_dms]
