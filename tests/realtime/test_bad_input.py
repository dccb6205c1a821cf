"""Control characters in Socket.IO chat frames: the same text rule as HTTP (api/kernel/text.py).

Socket frames do not pass the HTTP input guard, so the chat payloads check the rule themselves: a NUL
used to reach PostgreSQL and come back as an internal error; now it is `invalid_payload` naming the
field, and the connection carries on.
"""
from __future__ import annotations

from sqlalchemy import func, select

from db.models import Message
from tests.helpers.accounts import people
from tests.helpers.projects import insert_project
from tests.helpers.realtime import connect


async def test_control_characters_in_chat_frames_are_refused(live_server, make_user, db):
    alice, bob = await people(make_user, "Alice", "Bob")
    pid = str(await insert_project(alice, bob))
    a = await connect(live_server.url, alice.token)
    try:
        await a.call("join_project", {"project_id": pid})
        for event, body in (("send_message", {"project_id": pid, "content": "cut\u0000here"}),
                            ("send_message", {"project_id": pid, "content": "\u001b[2Jcleared"}),
                            ("send_dm", {"to_user_id": str(bob.id), "content": "psst\u0000"})):
            ack = await a.call(event, body)
            assert ack["ok"] is False and ack["error"]["code"] == "invalid_payload", (event, ack)
            assert [e["field"] for e in ack["error"]["errors"]] == ["content"], ack
        ok = await a.call("send_message", {"project_id": pid, "content": "tabs\tand\nnewlines stay"})
        assert ok["ok"], ok
        assert await db.scalar(select(func.count()).select_from(Message)) == 1
    finally:
        await a.close()
