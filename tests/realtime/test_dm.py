"""Direct messages over Socket.IO against a real server: delivery, tabs, typing, read, blocks, presence."""
from __future__ import annotations

import asyncio

import httpx

from tests.helpers.http import DM
from tests.helpers.realtime import connect
from tests.helpers.waiting import eventually


async def test_direct_messages_live(start_server, make_user):
    server = start_server()
    me, ann, troll = [await make_user(profile={"name": n}) for n in ("Me", "Ann", "Troll")]
    m1, m2 = await connect(server.url, me.token), await connect(server.url, me.token)  # two tabs
    a, t = await connect(server.url, ann.token), await connect(server.url, troll.token)
    http = httpx.AsyncClient(base_url=server.url)
    try:
        online = await http.get(f"{DM}/online/{me.id}", headers=ann.headers)
        assert online.json() == {"user_id": str(me.id), "is_online": True}

        ack = await m1.call("send_dm", {"to_user_id": str(ann.id), "content": "lunch?"})
        assert ack["ok"] and ack["message"]["recipient_id"] == str(ann.id)
        got = await a.wait_for("dm")
        assert got["content"] == "lunch?" and got["sender_id"] == str(me.id) and got["id"] == ack["message"]["id"]
        await m2.wait_for("dm", lambda d: d["id"] == ack["message"]["id"])  # my other tab stays in sync
        await asyncio.sleep(0.2)
        assert m1.of("dm") == []  # not echoed to the sending socket

        assert (await a.call("dm_typing", {"to_user_id": str(me.id)}))["throttled"] is False
        assert (await a.call("dm_typing", {"to_user_id": str(me.id)}))["throttled"] is True
        assert (await m1.wait_for("dm_typing")) == {"user_id": str(ann.id), "user_name": "Ann"}

        read = await a.call("dm_mark_read", {"other_user_id": str(me.id)})
        assert read == {"ok": True, "marked": 1}
        assert (await m1.wait_for("dm_read")) == {"reader_id": str(ann.id), "other_user_id": str(me.id)}
        convs = (await http.get(f"{DM}/conversations", headers=ann.headers)).json()["conversations"]
        assert convs[0]["unread_count"] == 0 and convs[0]["last_message"]["read_at"]

        bad = await m1.call("send_dm", {"to_user_id": "nope", "content": "x"})
        assert bad["error"]["code"] == "invalid_payload" and bad["error"]["errors"][0]["field"] == "to_user_id"

        # Blocking: no messages either way, no typing, and the blocker looks offline to the blocked person.
        assert (await http.post(f"{DM}/block/{troll.id}", headers=me.headers)).status_code == 200
        refused = await t.call("send_dm", {"to_user_id": str(me.id), "content": "hey"})
        assert refused["ok"] is False and refused["error"]["code"] == "forbidden"
        assert (await t.call("dm_typing", {"to_user_id": str(me.id)}))["error"]["code"] == "forbidden"
        assert (await m1.call("send_dm", {"to_user_id": str(troll.id), "content": "x"}))["error"]["code"] == "forbidden"
        hidden = await http.get(f"{DM}/online/{me.id}", headers=troll.headers)
        assert hidden.json()["is_online"] is False
        assert (await http.get(f"{DM}/online/{me.id}", headers=ann.headers)).json()["is_online"] is True
        await asyncio.sleep(0.3)
        assert m1.of("dm_typing") == [{"user_id": str(ann.id), "user_name": "Ann"}]

        # Deleting over REST reaches both sides.
        await http.delete(f"{DM}/messages/{ack['message']['id']}", headers=me.headers)
        assert (await a.wait_for("dm_deleted"))["message_id"] == ack["message"]["id"]

        for tab in (m1, m2):
            await tab.close()

        async def offline():
            resp = await http.get(f"{DM}/online/{me.id}", headers=ann.headers)
            return resp.json()["is_online"] is False

        await eventually(offline, timeout=10)
    finally:
        await http.aclose()
        for rec in (m1, m2, a, t):
            await rec.close()
