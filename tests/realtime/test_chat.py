"""Socket.IO chat against a real uvicorn process: auth, rooms, messages, typing, receipts, bad frames."""
from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from sqlalchemy import func, select, update

from api.auth.tokens import create_access_token
from db.models import Message, Project, User
from tests.helpers.accounts import people
from tests.helpers.processes import ServerProcess
from tests.helpers.projects import insert_project
from tests.helpers.realtime import connect, try_connect
from tests.helpers.waiting import eventually


def _token(user, ttl_seconds: int) -> str:
    """An access token with its own lifetime, bound to the user's sign-in session."""
    return create_access_token(user.id, session_id=user.session_id, ttl_seconds=ttl_seconds)


@pytest.fixture(scope="module")
def server():
    # One process for this module: every test makes its own users and projects.
    proc = ServerProcess(extra_env={"CHAT_TYPING_INTERVAL_S": "2", "PRESENCE_HEARTBEAT_S": "1",
                                    "PRESENCE_EXPIRY_S": "5", "REALTIME_REVALIDATE_S": "1",
                                    "CHAT_MESSAGES_PER_MINUTE": "1000"})  # the burst test sends 120
    yield proc
    proc.stop()


@pytest.fixture
async def clients():
    opened = []

    async def _open(url, token, **kw):
        rec = await connect(url, token, **kw)
        opened.append(rec)
        return rec

    yield _open
    for rec in opened:
        await rec.close()


# ----------------------------------------------------------------- connecting


async def test_connect_refuses_missing_expired_tampered_and_deactivated(server, make_user, db):
    (alice,) = await people(make_user, "Alice")
    missing = await try_connect(server.url, {})
    assert missing["data"]["code"] == "missing_token" and "token" in missing["message"]
    not_a_dict = await try_connect(server.url, "just-a-string")
    assert not_a_dict["data"]["code"] == "missing_token"

    expired = await try_connect(server.url, {"token": _token(alice, -5)})
    assert expired["data"]["code"] == "token_expired" and "expired" in expired["message"]

    head, payload, sig = alice.token.split(".")
    tampered = await try_connect(server.url, {"token": f"{head}.{payload}.{sig[::-1]}"})
    assert tampered["data"]["code"] == "invalid_token"

    await db.execute(update(User).where(User.id == alice.id).values(is_active=False))
    await db.commit()
    inactive = await try_connect(server.url, {"token": alice.token})
    assert inactive["data"]["code"] == "account_inactive"


async def test_tokens_without_a_session_id_are_refused(server, make_user, clients):
    """A token not bound to a sign-in (no `sid`) could never be revoked by logout: refused on connect and on renewal."""
    import time

    import jwt

    from api.kernel.settings import get_settings

    (alice,) = await people(make_user, "Alice")
    now = time.time()
    unbound = jwt.encode({"sub": str(alice.id), "iat": now, "exp": now + 600, "jti": uuid.uuid4().hex,
                          "type": "access"}, get_settings().secret_key, algorithm=get_settings().algorithm)
    refused = await try_connect(server.url, {"token": unbound})
    assert refused["data"]["code"] == "invalid_token"
    live = await clients(server.url, alice.token)
    ack = await live.call("auth", {"token": unbound})
    assert ack["ok"] is False and ack["error"]["code"] == "invalid_token"


async def test_expired_token_ends_session_unless_renewed(server, make_user, clients):
    alice, bob = await people(make_user, "Alice", "Bob")
    project_id = await insert_project(alice, bob)
    short = await clients(server.url, _token(alice, 3))
    renewed = await clients(server.url, _token(bob, 3))
    assert (await short.call("join_project", {"project_id": str(project_id)}))["ok"]
    ack = await renewed.call("auth", {"token": _token(bob, 600)})
    assert ack["ok"] and ack["expires_at"] > 0
    # A token of another account cannot take over the connection.
    wrong = await renewed.call("refresh_token", {"token": alice.token})
    assert wrong["ok"] is False and wrong["error"]["code"] == "invalid_token"

    await asyncio.sleep(3.5)
    ack = await renewed.call("join_project", {"project_id": str(project_id)})
    assert ack["ok"], ack
    # The expired one is told why and disconnected (on its next event, or by the heartbeat).
    await short.wait_for("error", lambda d: d["code"] == "token_expired", timeout=10)
    await eventually(lambda: not short.client.connected, timeout=10)


async def test_open_connections_end_when_account_is_deactivated_or_password_reset(server, make_user, clients, db):
    alice, bob, carol = await people(make_user, "Alice", "Bob", "Carol")
    a, b, c = [await clients(server.url, u.token) for u in (alice, bob, carol)]
    await db.execute(update(User).where(User.id == alice.id).values(is_active=False))
    await db.execute(update(User).where(User.id == bob.id).values(password_changed_at=func.now()))
    await db.commit()
    assert (await a.wait_for("error", timeout=15))["code"] == "account_inactive"
    assert (await b.wait_for("error", timeout=15))["code"] == "session_ended"
    await eventually(lambda: not a.client.connected and not b.client.connected, timeout=10)
    assert c.client.connected and c.of("error") == []


# ----------------------------------------------------------------- project chat


async def test_members_join_and_receive_each_message_once_in_order(server, make_user, clients):
    alice, bob, carol, mallory = await people(make_user, "Alice", "Bob", "Carol", "Mallory")
    project_id = await insert_project(alice, bob, carol)
    pid = str(project_id)
    # Carol long-polls and Bob upgrades from polling: broadcasts reach them through Engine.IO's queue,
    # WebSocket-only Alice gets them written directly (realtime/fanout.py); all must see the same.
    a = await clients(server.url, alice.token)
    b = await clients(server.url, bob.token, transports=("polling", "websocket"))
    c = await clients(server.url, carol.token, transports=("polling",))
    m = await clients(server.url, mallory.token)

    joined = await a.call("join_project", {"project_id": pid})
    assert joined["ok"] and joined["unread_count"] == 0
    assert [u["name"] for u in joined["online_users"]] == ["Alice"]
    for rec in (b, c):
        assert (await rec.call("join_project", {"project_id": pid}))["ok"]
    joined_event = await a.wait_for("user_joined", lambda d: d["user_name"] == "Carol")
    assert {u["name"] for u in joined_event["online_users"]} == {"Alice", "Bob", "Carol"}

    refused = await m.call("join_project", {"project_id": pid})
    assert refused == {"ok": False, "error": {"code": "forbidden",
                                              "reason": "Only members of this project can use its chat"}}
    unknown = await m.call("join_project", {"project_id": str(uuid.uuid4())})
    assert unknown["error"]["code"] == "not_found"
    not_member_send = await m.call("send_message", {"project_id": pid, "content": "let me in"})
    assert not_member_send["error"]["code"] == "forbidden"
    unknown_send = await m.call("send_message", {"project_id": str(uuid.uuid4()), "content": "anyone?"})
    assert unknown_send["error"]["code"] == "not_found"

    sent = []
    for i in range(20):
        ack = await (a if i % 2 == 0 else b).call("send_message", {"project_id": pid, "content": f"take {i}"})
        assert ack["ok"], ack
        sent.append(ack["message"])
    first = sent[0]
    assert first["sender_name"] == "Alice" and first["project_id"] == pid and first["sender_id"] == str(alice.id)
    assert first["is_deleted"] is False and first["edited_at"] is None and first["sent_at"]

    for rec in (a, b, c):
        await eventually(lambda rec=rec: len(rec.of("message")) >= 20, timeout=10)
    await asyncio.sleep(0.3)
    for rec in (a, b, c):
        got = rec.of("message")
        assert [g["id"] for g in got] == [s["id"] for s in sent]  # each once, in order
        assert [g["content"] for g in got] == [f"take {i}" for i in range(20)]
    assert m.of("message") == []


async def test_a_burst_of_large_messages_arrives_in_order_while_members_drop_out(server, make_user, clients):
    """Big frames fill socket buffers, so deliveries switch between the direct write and Engine.IO's
    queue (realtime/fanout.py); sockets closing mid-burst must not disturb anyone else's stream."""
    sender, *members = await people(make_user, "Sender", *[f"Member {i}" for i in range(10)])
    pid = str(await insert_project(sender, *members))
    s = await clients(server.url, sender.token)
    recs = [await clients(server.url, u.token) for u in members]
    for rec in (s, *recs):
        assert (await rec.call("join_project", {"project_id": pid}))["ok"]
    staying, leaving = recs[:5], recs[5:]
    ids = []
    for i in range(120):
        ack = await s.call("send_message", {"project_id": pid, "content": f"{i:03d} " + "x" * 4500})
        assert ack["ok"], ack
        ids.append(ack["message"]["id"])
        if i == 40:  # half the room goes away in the middle of the burst
            await asyncio.gather(*(rec.client.disconnect() for rec in leaving))
    for rec in (s, *staying):
        await eventually(lambda rec=rec: len(rec.of("message")) >= 120, timeout=20)
    await asyncio.sleep(0.3)
    for rec in (s, *staying):
        assert [m["id"] for m in rec.of("message")] == ids  # all of them, once, in order
    # The server is still healthy for newcomers.
    late = await clients(server.url, members[-1].token)
    assert (await late.call("join_project", {"project_id": pid}))["ok"]


async def test_message_floods_are_refused_per_person_across_sockets_and_rest(start_server, make_user, clients, db):
    srv = start_server(extra_env={"CHAT_MESSAGES_PER_MINUTE": "5"})
    alice, bob = await people(make_user, "Alice", "Bob")
    pid = str(await insert_project(alice, bob))
    tab1, tab2 = [await clients(srv.url, alice.token) for _ in range(2)]
    b = await clients(srv.url, bob.token)
    for rec in (tab1, tab2, b):
        assert (await rec.call("join_project", {"project_id": pid}))["ok"]
    # Five messages a minute between both tabs; a sixth is refused with the wait, not stored.
    for i in range(5):
        assert (await (tab1, tab2)[i % 2].call("send_message", {"project_id": pid, "content": f"m{i}"}))["ok"]
    refused = await tab2.call("send_message", {"project_id": pid, "content": "one too many"})
    assert refused["ok"] is False and refused["error"]["code"] == "rate_limited"
    assert refused["error"]["reason"].startswith("You are sending messages too fast (retry after ")
    await tab2.wait_for("error", lambda e: e["event"] == "send_message" and e["code"] == "rate_limited")
    # Direct messages over REST share the budget; Bob's own budget is untouched.
    async with httpx.AsyncClient(base_url=srv.url) as http:  # that server's limit, not this process's
        resp = await http.post("/api/v1/dm/send", json={"recipient_id": str(bob.id), "content": "psst"},
                               headers=alice.headers)
    assert resp.status_code == 429 and resp.headers["content-type"].startswith("application/problem+json")
    assert int(resp.headers["retry-after"]) >= 1
    assert (await b.call("send_message", {"project_id": pid, "content": "I can still talk"}))["ok"]
    stored = (await db.execute(select(Message.content).where(Message.project_id == uuid.UUID(pid))
                               .order_by(Message.id))).scalars().all()
    assert stored == ["m0", "m1", "m2", "m3", "m4", "I can still talk"]
    assert tab1.client.connected and tab2.client.connected


async def test_the_flood_limit_holds_for_sends_fired_at_once_over_two_processes(start_server, make_user, clients, db):
    """Each process counts the sends waiting in it in one Redis call per batch: a burst from four tabs on two
    processes, fired without waiting for acks, still stores exactly the limit and refuses the rest."""
    limit = 5
    servers = [start_server(extra_env={"CHAT_MESSAGES_PER_MINUTE": str(limit)}) for _ in range(2)]
    alice, bob = await people(make_user, "Alice", "Bob")
    pid = str(await insert_project(alice, bob))
    tabs = [await clients(servers[i % 2].url, alice.token) for i in range(4)]
    for tab in tabs:
        assert (await tab.call("join_project", {"project_id": pid}))["ok"]
    acks = await asyncio.gather(*(tab.call("send_message", {"project_id": pid, "content": f"t{i}.{n}"})
                                  for i, tab in enumerate(tabs) for n in range(3)))
    accepted = [ack["message"]["content"] for ack in acks if ack["ok"]]
    assert len(accepted) == limit
    assert {ack["error"]["code"] for ack in acks if not ack["ok"]} == {"rate_limited"}
    stored = (await db.execute(select(Message.content).where(Message.project_id == uuid.UUID(pid)))).scalars().all()
    assert sorted(stored) == sorted(accepted)


async def test_messages_are_stored_before_broadcast(server, make_user, clients, db):
    alice, bob = await people(make_user, "Alice", "Bob")
    project_id = await insert_project(alice, bob)
    a, b = [await clients(server.url, u.token) for u in (alice, bob)]
    for rec in (a, b):
        await rec.call("join_project", {"project_id": str(project_id)})
    # A quiet project: the message bumps its activity (the 30-day "dead" rule counts from it).
    await db.execute(update(Project).where(Project.id == project_id)
                     .values(last_activity_at=func.now() - func.make_interval(0, 0, 0, 10)))
    await db.commit()
    await a.call("send_message", {"project_id": str(project_id), "content": "rolling"})
    received = await b.wait_for("message")
    row = await db.get(Message, received["id"])
    assert row is not None and row.content == "rolling" and row.sender_id == alice.id
    assert row.sent_at.isoformat().replace("+00:00", "Z")[:19] == received["sent_at"][:19]
    bumped = await db.scalar(select(func.now() - Project.last_activity_at).where(Project.id == project_id))
    assert bumped.total_seconds() < 60
    # A busy room does not rewrite the project row for every message (at most once a minute).
    await db.execute(update(Project).where(Project.id == project_id)
                     .values(last_activity_at=func.now() - func.make_interval(0, 0, 0, 0, 0, 0, 30)))
    await db.commit()
    await a.call("send_message", {"project_id": str(project_id), "content": "still rolling"})
    db.expire_all()
    kept = await db.scalar(select(func.now() - Project.last_activity_at).where(Project.id == project_id))
    assert kept.total_seconds() >= 30


async def test_content_rules_and_bad_frames_leave_connection_and_others_unaffected(server, make_user, clients):
    alice, bob = await people(make_user, "Alice", "Bob")
    project_id = await insert_project(alice, bob)
    pid = str(project_id)
    a, b = [await clients(server.url, u.token) for u in (alice, bob)]
    for rec in (a, b):
        await rec.call("join_project", {"project_id": pid})

    cases = [
        ({"project_id": pid, "content": ""}, "content"),
        ({"project_id": pid, "content": "   \n\t "}, "content"),
        ({"project_id": pid, "content": "x" * 5001}, "content"),
        ({"project_id": pid, "content": 42}, "content"),
        ({"project_id": "not-a-uuid", "content": "hi"}, "project_id"),
        ({"content": "hi"}, "project_id"),
    ]
    for body, bad_field in cases:
        ack = await a.call("send_message", body)
        assert ack["ok"] is False and ack["error"]["code"] == "invalid_payload", (body, ack)
        assert bad_field in {e["field"] for e in ack["error"]["errors"]}, ack
    for frame in ("a string", 17, ["list"], None):
        ack = await a.call("send_message", frame) if frame is not None else await a.call("send_message")
        assert ack["ok"] is False and ack["error"]["code"] == "invalid_payload"
    ack = await a.call("mark_read", {"project_id": pid, "message_id": "5"})
    assert ack["error"]["code"] == "invalid_payload"

    unknown = await a.call("drop_database", {"now": True})
    assert unknown["error"]["code"] == "unknown_event"
    await a.wait_for("error", lambda d: d["code"] == "unknown_event" and d["event"] == "drop_database")
    # Without an ack the reason arrives as an `error` event.
    await a.client.emit("send_message", {"project_id": pid, "content": ""})
    await a.wait_for("error", lambda d: d["event"] == "send_message" and d["code"] == "invalid_payload")

    exactly_max = await a.call("send_message", {"project_id": pid, "content": "y" * 5000})
    assert exactly_max["ok"]
    # Oversized frames (beyond the Engine.IO limit) cost only that connection, never the others.
    huge = await clients(server.url, alice.token)
    await huge.client.emit("send_message", {"project_id": pid, "content": "z" * 200_000})
    await eventually(lambda: not huge.client.connected, timeout=10)
    ok = await a.call("send_message", {"project_id": pid, "content": "still here"})
    assert ok["ok"] and a.client.connected and b.client.connected
    await b.wait_for("message", lambda d: d["content"] == "still here")
    assert not [m for m in b.of("message") if m["content"].startswith("z")]


async def test_edit_and_delete_are_broadcast_with_permissions(server, make_user, clients, client):
    alice, bob, carol = await people(make_user, "Alice", "Bob", "Carol")
    project_id = await insert_project(alice, bob, carol)
    pid = str(project_id)
    a, b, c = [await clients(server.url, u.token) for u in (alice, bob, carol)]
    for rec in (a, b, c):
        await rec.call("join_project", {"project_id": pid})
    bob_msg = (await b.call("send_message", {"project_id": pid, "content": "typo hre"}))["message"]

    not_author = await c.call("edit_message", {"message_id": bob_msg["id"], "content": "hijack"})
    assert not_author["error"]["code"] == "forbidden"
    edited = await b.call("edit_message", {"message_id": bob_msg["id"], "content": "typo here"})
    assert edited["ok"] and edited["message"]["edited_at"] and edited["message"]["content"] == "typo here"
    got = await c.wait_for("message_edited")
    assert got["id"] == bob_msg["id"] and got["content"] == "typo here"

    # A child cannot delete someone else's message; the admin can.
    assert (await c.call("delete_message", {"message_id": bob_msg["id"]}))["error"]["code"] == "forbidden"
    assert (await a.call("delete_message", {"message_id": bob_msg["id"]}))["ok"]
    deleted = await c.wait_for("message_deleted")
    assert deleted == {"project_id": pid, "message_id": bob_msg["id"]}
    gone = await b.call("edit_message", {"message_id": bob_msg["id"], "content": "again"})
    assert gone["error"]["code"] == "conflict"

    # Deleting over REST reaches connected clients too.
    carol_msg = (await c.call("send_message", {"project_id": pid, "content": "oops"}))["message"]
    resp = await client.delete(f"/api/v1/chat/message/{carol_msg['id']}", headers=carol.headers)
    assert resp.status_code == 200 and resp.json()["is_deleted"] is True and resp.json()["content"] == ""
    await a.wait_for("message_deleted", lambda d: d["message_id"] == carol_msg["id"])


async def test_typing_is_throttled_and_not_echoed(server, make_user, clients):
    alice, bob = await people(make_user, "Alice", "Bob")
    project_id = await insert_project(alice, bob)
    pid = str(project_id)
    a, b = [await clients(server.url, u.token) for u in (alice, bob)]
    not_joined = await a.call("typing", {"project_id": pid})
    assert not_joined["error"]["code"] == "not_joined"
    for rec in (a, b):
        await rec.call("join_project", {"project_id": pid})
    acks = [await a.call("typing", {"project_id": pid}) for _ in range(5)]
    assert [x["throttled"] for x in acks] == [False, True, True, True, True]
    got = await b.wait_for("typing")
    assert got == {"project_id": pid, "user_id": str(alice.id), "user_name": "Alice"}
    await asyncio.sleep(2.2)
    assert (await a.call("typing", {"project_id": pid}))["throttled"] is False
    await eventually(lambda: len(b.of("typing")) == 2)
    assert a.of("typing") == []


async def test_read_receipts_and_unread_counts(server, make_user, clients, client):
    alice, bob = await people(make_user, "Alice", "Bob")
    project_id = await insert_project(alice, bob)
    pid = str(project_id)
    a, b = [await clients(server.url, u.token) for u in (alice, bob)]
    await a.call("join_project", {"project_id": pid})
    ids = [(await a.call("send_message", {"project_id": pid, "content": f"m{i}"}))["message"]["id"] for i in range(5)]

    joined = await b.call("join_project", {"project_id": pid})
    assert joined["unread_count"] == 5 and joined["last_read_message_id"] is None
    resp = await client.get("/api/v1/chat/unread", headers=bob.headers)
    assert resp.json()["projects"] == [{"project_id": pid, "last_read_message_id": None, "unread_count": 5}]

    state = await b.call("mark_read", {"project_id": pid, "message_id": ids[2]})
    assert state["ok"] and state["unread_count"] == 2 and state["last_read_message_id"] == ids[2]
    receipt = await a.wait_for("read_receipt")
    assert receipt == {"project_id": pid, "user_id": str(bob.id), "last_read_message_id": ids[2]}
    # The mark never moves back.
    back = await b.call("mark_read", {"project_id": pid, "message_id": ids[0]})
    assert back["last_read_message_id"] == ids[2]
    missing = await b.call("mark_read", {"project_id": pid, "message_id": 10**12})
    assert missing["error"]["code"] == "not_found"

    counts = await b.call("unread_counts")
    assert counts["projects"][0]["unread_count"] == 2
    receipts = (await client.get(f"/api/v1/chat/read-receipts/{pid}", headers=alice.headers)).json()
    assert receipts["receipts"] == [{"user_id": str(bob.id), "name": "Bob", "last_read_message_id": ids[2]}]
    resp = await client.post(f"/api/v1/chat/mark-read/{pid}", json={"message_id": ids[4]}, headers=bob.headers)
    assert resp.status_code == 200 and resp.json()["unread_count"] == 0


async def test_presence_counts_tabs_once_and_announces_leaving(server, make_user, clients, client):
    alice, bob = await people(make_user, "Alice", "Bob")
    project_id = await insert_project(alice, bob)
    pid = str(project_id)
    a = await clients(server.url, alice.token)
    await a.call("join_project", {"project_id": pid})
    tab1, tab2 = [await clients(server.url, bob.token) for _ in range(2)]
    await tab1.call("join_project", {"project_id": pid})
    await tab2.call("join_project", {"project_id": pid})
    await a.wait_for("user_joined", lambda d: d["user_name"] == "Bob")
    await asyncio.sleep(0.3)
    assert len([e for e in a.of("user_joined") if e["user_name"] == "Bob"]) == 1

    resp = await client.get(f"/api/v1/chat/online-users/{pid}", headers=alice.headers)
    assert resp.status_code == 200
    assert sorted(u["name"] for u in resp.json()["online_users"]) == ["Alice", "Bob"]

    await tab1.close()
    await asyncio.sleep(0.5)
    assert a.of("user_left") == []  # one tab is still open
    await tab2.close()
    left = await a.wait_for("user_left")
    assert left["user_id"] == str(bob.id) and left["user_name"] == "Bob"
    assert [u["name"] for u in left["online_users"]] == ["Alice"]
    resp = await client.get(f"/api/v1/chat/online-users/{pid}", headers=alice.headers)
    assert [u["name"] for u in resp.json()["online_users"]] == ["Alice"]
