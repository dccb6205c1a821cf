"""Chat and direct-message REST endpoints (/api/v1/chat, /api/v1/dm) through the ASGI app."""
from __future__ import annotations

import uuid

from sqlalchemy import event

from db.models.enums import MemberRole
from db.session import get_engine
from tests.helpers.accounts import people
from tests.helpers.http import CHAT, DM
from tests.helpers.projects import insert_member, insert_project


async def _post_messages(project_id, sender, n):
    """Messages stored the way the socket handler stores them (through the process's message writer)."""
    from api.chat import service

    return [(await service.send_message(project_id, sender.id, f"line {i}", "x")).id for i in range(n)]


async def test_history_is_members_only_newest_first_with_cursor(client, make_user):
    alice, bob, eve = await people(make_user, "Alice", "Bob", "Eve")
    project_id = await insert_project(alice, bob)
    ids = await _post_messages(project_id, alice, 7)

    page1 = await client.get(f"{CHAT}/messages/{project_id}", params={"limit": 3}, headers=bob.headers)
    assert page1.status_code == 200
    body = page1.json()
    assert [m["id"] for m in body["messages"]] == ids[::-1][:3]
    assert body["messages"][0]["sender_name"] == "Alice" and body["messages"][0]["content"] == "line 6"
    page2 = (await client.get(f"{CHAT}/messages/{project_id}", params={"limit": 3, "before_id": body["next_before_id"]},
                              headers=bob.headers)).json()
    assert [m["id"] for m in page2["messages"]] == ids[::-1][3:6]
    page3 = (await client.get(f"{CHAT}/messages/{project_id}", params={"limit": 3, "before_id": page2["next_before_id"]},
                              headers=bob.headers)).json()
    assert [m["id"] for m in page3["messages"]] == ids[:1] and page3["next_before_id"] is None

    assert (await client.get(f"{CHAT}/messages/{project_id}", headers=eve.headers)).status_code == 403
    assert (await client.get(f"{CHAT}/messages/{uuid.uuid4()}", headers=eve.headers)).status_code == 404
    assert (await client.get(f"{CHAT}/messages/{project_id}")).status_code == 401
    too_many = await client.get(f"{CHAT}/messages/{project_id}", params={"limit": 201}, headers=bob.headers)
    assert too_many.status_code == 422 and too_many.headers["content-type"] == "application/problem+json"
    assert too_many.json()["errors"][0]["field"] == "limit"
    assert (await client.get(f"{CHAT}/online-users/{project_id}", headers=eve.headers)).status_code == 403
    online = await client.get(f"{CHAT}/online-users/{project_id}", headers=bob.headers)
    assert online.status_code == 200 and online.json() == {"project_id": str(project_id), "online_users": []}


async def test_delete_rules_author_admin_parent_but_not_child(client, make_user):
    admin, parent, child, other_child, outsider = await people(make_user, "Ada", "Pat", "Kit", "Kim", "Out")
    project_id = await insert_project(admin, child, other_child)
    await insert_member(project_id, parent, MemberRole.parent)
    m_child, m_child2, m_child3, m_admin = await _post_messages(project_id, child, 3) + await _post_messages(
        project_id, admin, 1)

    assert (await client.delete(f"{CHAT}/message/{m_child}", headers=other_child.headers)).status_code == 403
    assert (await client.delete(f"{CHAT}/message/{m_child}", headers=outsider.headers)).status_code == 403
    assert (await client.delete(f"{CHAT}/message/999999", headers=admin.headers)).status_code == 404
    assert (await client.delete(f"{CHAT}/message/0", headers=admin.headers)).status_code == 422
    own = await client.delete(f"{CHAT}/message/{m_child}", headers=child.headers)
    assert own.status_code == 200 and own.json()["is_deleted"] is True
    assert (await client.delete(f"{CHAT}/message/{m_child2}", headers=parent.headers)).status_code == 200
    assert (await client.delete(f"{CHAT}/message/{m_child3}", headers=admin.headers)).status_code == 200
    assert (await client.delete(f"{CHAT}/message/{m_admin}", headers=child.headers)).status_code == 403

    history = (await client.get(f"{CHAT}/messages/{project_id}", headers=child.headers)).json()["messages"]
    deleted = [m for m in history if m["is_deleted"]]
    assert len(deleted) == 3 and all(m["content"] == "" for m in deleted)  # the text is never served again


async def test_direct_messages_conversations_history_read_and_delete(client, make_user):
    me, ann, ben, cat = await people(make_user, "Me", "Ann", "Ben", "Cat")
    send = lambda who, to, text: client.post(f"{DM}/send", json={"recipient_id": str(to.id), "content": text},
                                             headers=who.headers)
    r = await send(ann, me, "hi from ann")
    assert r.status_code == 201 and r.json()["content"] == "hi from ann" and r.json()["read_at"] is None
    await send(ann, me, "are you there?")
    await send(me, ben, "hello ben")
    await send(cat, me, "cat 1")
    await send(me, cat, "me to cat")

    convs = (await client.get(f"{DM}/conversations", headers=me.headers)).json()["conversations"]
    assert [(c["other_user_name"], c["last_message"]["content"], c["unread_count"]) for c in convs] == [
        ("Cat", "me to cat", 1), ("Ben", "hello ben", 0), ("Ann", "are you there?", 2)]

    history = (await client.get(f"{DM}/messages/{ann.id}", params={"limit": 1}, headers=me.headers)).json()
    assert [m["content"] for m in history["messages"]] == ["are you there?"]
    older = (await client.get(f"{DM}/messages/{ann.id}", params={"before_id": history["next_before_id"]},
                              headers=me.headers)).json()
    assert [m["content"] for m in older["messages"]] == ["hi from ann"] and older["next_before_id"] is None

    marked = await client.post(f"{DM}/mark-read/{ann.id}", headers=me.headers)
    assert marked.status_code == 200 and marked.json() == {"message": "2 messages marked as read"}
    convs = (await client.get(f"{DM}/conversations", headers=me.headers)).json()["conversations"]
    assert {c["other_user_name"]: c["unread_count"] for c in convs} == {"Cat": 1, "Ben": 0, "Ann": 0}

    mine = (await client.get(f"{DM}/messages/{ben.id}", headers=me.headers)).json()["messages"][0]
    assert (await client.delete(f"{DM}/messages/{mine['id']}", headers=ben.headers)).status_code == 403
    assert (await client.delete(f"{DM}/messages/{mine['id']}", headers=cat.headers)).status_code == 404
    assert (await client.delete(f"{DM}/messages/{mine['id']}", headers=me.headers)).json() == {"message": "Message deleted"}
    seen_by_ben = (await client.get(f"{DM}/messages/{me.id}", headers=ben.headers)).json()["messages"][0]
    assert seen_by_ben["is_deleted"] is True and seen_by_ben["content"] == ""

    bad = await client.post(f"{DM}/send", json={"recipient_id": str(me.id), "content": "self"}, headers=me.headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "recipient_id"
    blank = await client.post(f"{DM}/send", json={"recipient_id": str(ann.id), "content": "  "}, headers=me.headers)
    assert blank.status_code == 422 and blank.json()["errors"][0]["field"] == "content"
    nobody = await client.post(f"{DM}/send", json={"recipient_id": str(uuid.uuid4()), "content": "?"},
                               headers=me.headers)
    assert nobody.status_code == 404


async def test_conversation_list_query_count_does_not_grow(client, make_user):
    me, *others = await people(make_user, "Me", "A", "B", "C", "D", "E", "F")
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    async def measure():
        statements.clear()
        event.listen(get_engine().sync_engine, "before_cursor_execute", count)
        try:
            resp = await client.get(f"{DM}/conversations", headers=me.headers)
        finally:
            event.remove(get_engine().sync_engine, "before_cursor_execute", count)
        assert resp.status_code == 200
        return len(resp.json()["conversations"]), len(statements)

    for o in others[:2]:
        await client.post(f"{DM}/send", json={"recipient_id": str(me.id), "content": "hey"}, headers=o.headers)
    two = await measure()
    for o in others[2:]:
        await client.post(f"{DM}/send", json={"recipient_id": str(me.id), "content": "hey"}, headers=o.headers)
    six = await measure()
    assert two[0] == 2 and six[0] == 6
    assert two[1] == six[1]


async def test_blocking_stops_messages_both_ways_and_hides_presence(client, make_user):
    me, troll = await people(make_user, "Me", "Troll")
    assert (await client.post(f"{DM}/block/{troll.id}", headers=me.headers)).json() == {"message": "User blocked"}
    assert (await client.post(f"{DM}/block/{troll.id}", headers=me.headers)).status_code == 200  # idempotent
    assert (await client.post(f"{DM}/block/{me.id}", headers=me.headers)).status_code == 422
    listed = (await client.get(f"{DM}/blocked", headers=me.headers)).json()["blocked"]
    assert [(b["user_id"], b["name"]) for b in listed] == [(str(troll.id), "Troll")]

    from_troll = await client.post(f"{DM}/send", json={"recipient_id": str(me.id), "content": "hi"},
                                   headers=troll.headers)
    assert from_troll.status_code == 403 and "not accepting" in from_troll.json()["detail"]
    to_troll = await client.post(f"{DM}/send", json={"recipient_id": str(troll.id), "content": "hi"},
                                 headers=me.headers)
    assert to_troll.status_code == 403 and "unblock" in to_troll.json()["detail"]
    status = await client.get(f"{DM}/online/{me.id}", headers=troll.headers)
    assert status.json() == {"user_id": str(me.id), "is_online": False}

    assert (await client.delete(f"{DM}/block/{troll.id}", headers=me.headers)).json() == {"message": "User unblocked"}
    again = await client.post(f"{DM}/send", json={"recipient_id": str(me.id), "content": "sorry"},
                              headers=troll.headers)
    assert again.status_code == 201
