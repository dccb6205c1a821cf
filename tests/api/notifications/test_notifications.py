"""Notifications: application decisions and removals are stored, listed, marked read, pushed live as the
Socket.IO `notification` event (a real server process) and e-mailed through real SMTP by a real worker;
the daily digest groups a person's notifications at their local morning; unsubscribe needs no sign-in."""
from __future__ import annotations

import html
import re
from datetime import datetime, timedelta, timezone

from sqlalchemy import select, update

from tests.helpers.http import API, assert_problem
from tests.helpers.projects import apply, create_project
from tests.helpers.realtime import connect
from tests.helpers.waiting import eventually

NOTES = f"{API}/notifications"
UNSUBSCRIBE = re.compile(r"(https?://\S+/api/v1/notifications/unsubscribe\?token=(\S+))")


async def _notes(client, user, **params) -> tuple[list[dict], int]:
    resp = await client.get(NOTES, params=params, headers=user.headers)
    assert resp.status_code == 200, resp.text
    return resp.json(), int(resp.headers["x-total-count"])


async def _unread(client, user) -> int:
    resp = await client.get(f"{NOTES}/unread-count", headers=user.headers)
    assert resp.status_code == 200, resp.text
    return resp.json()["unread"]


async def test_an_accepted_application_is_stored_pushed_live_and_mailed(client, make_user, smtp, live_server,
                                                                         start_worker):
    owner = await make_user(profile=True)
    applicant = await make_user(profile=True)
    project = await create_project(client, owner, name="Harbour Lights")
    application = await apply(client, applicant, project["roles"][0]["id"])
    socket = await connect(live_server.url, applicant.token)
    owner_socket = await connect(live_server.url, owner.token)
    start_worker()
    try:
        resp = await client.post(f"{API}/applications/accept/{application['id']}", headers=owner.headers)
        assert resp.status_code == 200, resp.text

        pushed = await socket.wait_for("notification", lambda d: d["kind"] == "application_accepted")
        assert pushed["project_id"] == project["id"] and "Harbour Lights" in pushed["title"]
        assert pushed["read"] is False and pushed["data"]["application_id"] == application["id"]
        assert owner_socket.of("notification") == []  # only the applicant's sockets

        listed, total = await _notes(client, applicant)
        assert total == 1 and listed[0]["id"] == pushed["id"] and listed[0]["kind"] == "application_accepted"
        assert await _unread(client, applicant) == 1
        assert (await _notes(client, owner))[1] == 0

        mail = await smtp.last_to(applicant.email)
        assert "Harbour Lights" in mail.subject and "Director of Photography" in mail.text
        assert UNSUBSCRIBE.search(mail.text) and mail.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

        # Someone else's notification is not found; the owner marks it read once.
        resp = await client.post(f"{NOTES}/{pushed['id']}/read", headers=owner.headers)
        assert_problem(resp, 404, code="not_found")
        resp = await client.post(f"{NOTES}/{pushed['id']}/read", headers=applicant.headers)
        assert resp.status_code == 200 and resp.json()["read"] is True
        assert await _unread(client, applicant) == 0
        assert (await _notes(client, applicant, unread_only="true"))[1] == 0
    finally:
        await socket.close()
        await owner_socket.close()


async def test_rejection_and_removal_are_notifications_too(client, make_user, db):
    owner = await make_user(profile=True)
    rejected, member = await make_user(profile=True), await make_user(profile=True)
    project = await create_project(client, owner, name="Cold Open")
    app1 = await apply(client, rejected, project["roles"][0]["id"])
    resp = await client.post(f"{API}/applications/reject/{app1['id']}", json={"reason": "We went another way"},
                             headers=owner.headers)
    assert resp.status_code == 200, resp.text
    app2 = await apply(client, member, project["roles"][1]["id"])
    assert (await client.post(f"{API}/applications/accept/{app2['id']}", headers=owner.headers)).status_code == 200
    resp = await client.delete(f"{API}/management/project/{project['id']}/member/{member.id}", headers=owner.headers)
    assert resp.status_code == 200, resp.text

    (note,), _ = await _notes(client, rejected)
    assert note["kind"] == "application_rejected" and "We went another way" in note["body"]
    kinds = [n["kind"] for n in (await _notes(client, member))[0]]
    assert kinds == ["member_removed", "application_accepted"]  # newest first
    assert await _unread(client, member) == 2
    resp = await client.post(f"{NOTES}/read-all", headers=member.headers)
    assert resp.json() == {"marked": 2} and await _unread(client, member) == 0


async def test_the_list_is_paged_and_needs_a_sign_in(client, make_user):
    from api.notifications.service import notify
    from db.session import unit_of_work

    person = await make_user()
    async with unit_of_work() as session:
        for i in range(5):
            await notify(session, person.id, "member_removed", f"note {i}", email="none")
    page, total = await _notes(client, person, page=2, limit=2)
    assert total == 5 and [n["title"] for n in page] == ["note 2", "note 1"]
    assert_problem(await client.get(NOTES), 401)
    assert_problem(await client.get(NOTES, params={"limit": 0}, headers=person.headers), 422, field="limit")


async def test_unsubscribe_works_without_sign_in_and_stops_the_mail(client, make_user, smtp, db):
    from api.notifications.service import send_instant
    from db.models import Notification

    owner = await make_user(profile=True)
    applicant = await make_user(profile=True)
    project = await create_project(client, owner)
    app1 = await apply(client, applicant, project["roles"][0]["id"])
    await client.post(f"{API}/applications/reject/{app1['id']}", json={}, headers=owner.headers)
    ids = list(await db.scalars(select(Notification.id).where(Notification.user_id == applicant.id)))
    await send_instant(ids)  # what the worker's job runs
    mail = await smtp.last_to(applicant.email)
    link, token = UNSUBSCRIBE.search(mail.text).groups()

    assert_problem(await client.get(f"{NOTES}/unsubscribe", params={"token": token[:-3] + "abc"}), 400, field="token")
    # Opening the link (a person, or a mail scanner prefetching it) shows a page and changes nothing.
    resp = await client.get(f"{NOTES}/unsubscribe", params={"token": token})  # no Authorization header
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html"), resp.text
    form = re.search(r'<form method="post" action="([^"]+)"', resp.text)
    assert form, resp.text
    prefs = (await client.get(f"{NOTES}/preferences", headers=applicant.headers)).json()
    assert prefs["email_enabled"] is True
    # Its button POSTs to the same address: now the e-mails stop (a browser gets a page).
    resp = await client.post(html.unescape(form.group(1)), headers={"Accept": "text/html"})
    assert resp.status_code == 200 and "You are unsubscribed" in resp.text, resp.text
    prefs = (await client.get(f"{NOTES}/preferences", headers=applicant.headers)).json()
    assert prefs["email_enabled"] is False
    # RFC 8058 one-click (what a mail client's button sends to the List-Unsubscribe address): idempotent, JSON.
    resp = await client.post(link, content="List-Unsubscribe=One-Click",
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status_code == 200 and resp.json()["email_enabled"] is False, resp.text

    before = len(smtp.to(applicant.email))
    app2 = await apply(client, applicant, project["roles"][1]["id"])
    await client.post(f"{API}/applications/reject/{app2['id']}", json={}, headers=owner.headers)
    ids = list(await db.scalars(select(Notification.id).where(Notification.user_id == applicant.id,
                                                              Notification.emailed_at.is_(None))))
    assert len(ids) == 1
    assert await send_instant(ids) == 0
    assert len(smtp.to(applicant.email)) == before
    assert (await _notes(client, applicant))[1] == 2  # still stored


async def test_the_unsubscribe_rate_limit_is_a_setting(client, client_at, make_user, monkeypatch):
    import uuid

    from api.kernel.settings import get_settings
    from api.notifications.service import unsubscribe_token

    person = await make_user()
    monkeypatch.setattr(get_settings(), "unsubscribe_per_minute", 2)
    token = unsubscribe_token(person.id)
    scanner = client_at(f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7")  # an address of its own
    for _ in range(2):
        assert (await scanner.get(f"{NOTES}/unsubscribe", params={"token": token})).status_code == 200
    assert_problem(await scanner.post(f"{NOTES}/unsubscribe", params={"token": token}), 429)
    prefs = (await client.get(f"{NOTES}/preferences", headers=person.headers)).json()
    assert prefs["email_enabled"] is True  # the two GETs changed nothing, the refused POST neither


async def test_an_expired_unsubscribe_link_is_refused(client, make_user):
    import jwt

    from api.kernel.settings import get_settings

    person = await make_user()
    s = get_settings()
    old = jwt.encode({"sub": str(person.id), "type": "unsubscribe", "iat": 0,
                      "exp": datetime.now(timezone.utc) - timedelta(seconds=1)}, s.secret_key, algorithm=s.algorithm)
    assert_problem(await client.get(f"{NOTES}/unsubscribe", params={"token": old}), 400, "expired", field="token")
    access_token = person.token  # a sign-in token is not an unsubscribe token
    assert_problem(await client.get(f"{NOTES}/unsubscribe", params={"token": access_token}), 400, field="token")


async def test_the_daily_digest_groups_a_persons_notifications_at_their_local_morning(client, make_user, smtp, db):
    from api.notifications.service import notify, send_due_digests
    from db.models import Notification
    from db.session import unit_of_work

    person, other = await make_user(), await make_user()
    resp = await client.put(f"{NOTES}/preferences", json={"timezone": "Asia/Kolkata", "digest_hour": 9},
                            headers=person.headers)
    assert resp.status_code == 200 and resp.json()["timezone"] == "Asia/Kolkata"
    assert_problem(await client.put(f"{NOTES}/preferences", json={"timezone": "Mars/Olympus"},
                                    headers=person.headers), 422, field="timezone")
    # 2026-03-02 in Kolkata (UTC+5:30): the digest moment is 09:00 local = 03:30 UTC.
    yesterday = datetime(2026, 3, 1, 18, 0, tzinfo=timezone.utc)
    async with unit_of_work() as session:
        for i in range(3):
            await notify(session, person.id, "saved_search_match", f"Project {i}", email="daily")
        await notify(session, other.id, "saved_search_match", "Other person's", email="daily")
    await db.execute(update(Notification).values(created_at=yesterday))
    await db.commit()

    # 08:59 in Kolkata, 03:29 in UTC (the other person's default zone, digest at 08:00): nobody yet.
    assert await send_due_digests(datetime(2026, 3, 2, 3, 29, tzinfo=timezone.utc)) == 0
    assert smtp.to(person.email) == []
    assert await send_due_digests(datetime(2026, 3, 2, 3, 31, tzinfo=timezone.utc)) == 1
    assert smtp.to(other.email) == []
    mails = smtp.to(person.email)
    assert len(mails) == 1
    assert "3 updates" in mails[0].subject
    assert all(f"Project {i}" in mails[0].text for i in range(3)) and "Other person's" not in mails[0].text

    # One digest a local day: a notification after today's digest moment waits for tomorrow's.
    async with unit_of_work() as session:
        late = await notify(session, person.id, "saved_search_match", "Late one", email="daily")
    await db.execute(update(Notification).where(Notification.id == late.id)
                     .values(created_at=datetime(2026, 3, 2, 5, 0, tzinfo=timezone.utc)))
    await db.commit()
    # 12:00 UTC: the other person's morning (08:00 UTC, default) has come; ours was sent already.
    assert await send_due_digests(datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)) == 1
    assert len(smtp.to(person.email)) == 1 and len(smtp.to(other.email)) == 1
    await send_due_digests(datetime(2026, 3, 3, 3, 35, tzinfo=timezone.utc))
    mails = smtp.to(person.email)
    assert len(mails) == 2 and "Late one" in mails[1].text and "1 update" in mails[1].subject
    assert "Project 0" not in mails[1].text
