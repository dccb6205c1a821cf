"""Round trips (issue 16, section 3): a front end reads a resource, changes one field and sends the object back.

Read-only fields sent back (ids, timestamps, counters, joined names) are ignored on every write endpoint; an
unknown field keeps each body's rule (projects, team, applications: a misspelt field is a 422 naming it).
Auth bodies (sign-up, sign-in, codes, refresh) are never read from the server and ignore unknown fields;
uploads are multipart files.
"""
from __future__ import annotations

from tests.helpers.http import API, CHAT, DM, assert_problem
from tests.helpers.projects import add_member, apply, create_project, get_project, insert_project


async def test_project_sent_back_as_a_new_project(client, make_user):
    owner = await make_user(profile=True)
    read = await get_project(client, (await create_project(client, owner))["id"], owner)
    copy = await client.post(f"{API}/projects/create", json={**read, "name": "The Sequel"}, headers=owner.headers)
    assert copy.status_code == 201, copy.text
    body = copy.json()
    assert body["id"] != read["id"] and body["name"] == "The Sequel" and body["status"] == "active"
    assert [(r["role_title"], r["slots_available"], r["slots_filled"]) for r in body["roles"]] == [
        (r["role_title"], r["slots_available"], 0) for r in read["roles"]]
    # Someone else sending it back makes a project of their own: creator_id is not theirs to set.
    other = await make_user(profile=True)
    theirs = await client.post(f"{API}/projects/create", json=read, headers=other.headers)
    assert theirs.status_code == 201 and theirs.json()["creator_id"] == str(other.id), theirs.text


async def test_project_sent_back_with_one_role_changed(client, make_user):
    owner = await make_user(profile=True)
    project = await create_project(client, owner)
    await add_member(client, make_user, owner, project, role_index=1)  # slots_filled 1 on the gaffer role
    read = await get_project(client, project["id"], owner)
    read["roles"][1]["slots_available"] = 3
    read["description"] = "Now with more gaffers"
    resp = await client.put(f"{API}/projects/{project['id']}", json=read, headers=owner.headers)
    assert resp.status_code == 200, resp.text
    after = resp.json()
    assert after["description"] == "Now with more gaffers"
    assert [(r["id"], r["slots_available"], r["slots_filled"]) for r in after["roles"]] == [
        (read["roles"][0]["id"], 1, 0), (read["roles"][1]["id"], 3, 1)]
    assert after["created_at"] == read["created_at"] and after["creator_id"] == read["creator_id"]
    # A misspelt field is still named, not silently lost.
    assert_problem(await client.put(f"{API}/projects/{project['id']}", json={**read, "descripton": "x"},
                                    headers=owner.headers), 422, field="descripton")
    assert_problem(await client.put(f"{API}/projects/{project['id']}",
                                    json={"roles": [{**read["roles"][0], "slots_avilable": 2}]},
                                    headers=owner.headers), 422, field="roles.0.slots_avilable")


async def test_member_sent_back_to_transfer_and_promote(client, make_user):
    owner = await make_user(profile=True)
    project = await create_project(client, owner)
    member = await add_member(client, make_user, owner, project)
    members = (await client.get(f"{API}/management/project/{project['id']}/members", headers=owner.headers)).json()
    listed = next(m for m in members if m["user_id"] == str(member.id))
    resp = await client.put(f"{API}/management/project/{project['id']}/member/{member.id}/promote",
                            json={**listed, "member_role": "parent"}, headers=owner.headers)
    assert resp.status_code == 200 and resp.json()["new_role"] == "parent", resp.text
    assert_problem(await client.put(f"{API}/management/project/{project['id']}/member/{member.id}/promote",
                                    json={**listed, "member_rol": "child"}, headers=owner.headers),
                   422, field="member_rol")
    resp = await client.post(f"{API}/projects/{project['id']}/transfer", json=listed, headers=owner.headers)
    assert resp.status_code == 200 and resp.json()["new_admin_id"] == str(member.id), resp.text


async def test_project_and_stats_sent_back_to_change_the_status(client, make_user):
    owner = await make_user(profile=True)
    project = await create_project(client, owner)
    url = f"{API}/management/project/{project['id']}/status"
    read = await get_project(client, project["id"], owner)
    resp = await client.put(url, json={**read, "status": "shelved"}, headers=owner.headers)
    assert resp.status_code == 200 and resp.json()["new_status"] == "shelved", resp.text
    stats = (await client.get(f"{API}/management/project/{project['id']}/stats", headers=owner.headers)).json()
    resp = await client.put(url, json={**stats, "status": "active"}, headers=owner.headers)
    assert resp.status_code == 200 and resp.json()["new_status"] == "active", resp.text


async def test_application_sent_back_to_apply_again_and_to_reject(client, make_user):
    owner = await make_user(profile=True)
    project = await create_project(client, owner)
    applicant = await make_user(profile=True)
    first = await apply(client, applicant, project["roles"][0]["id"], "first try")
    withdrawn = await client.post(f"{API}/applications/withdraw/{first['id']}", headers=applicant.headers)
    assert withdrawn.status_code == 200, withdrawn.text
    read = (await client.get(f"{API}/applications/my-applications", headers=applicant.headers)).json()[0]
    assert read["status"] == "withdrawn"
    again = await client.post(f"{API}/applications/apply", json={**read, "cover_letter": "second try"},
                              headers=applicant.headers)
    assert again.status_code == 201, again.text
    second = again.json()
    assert second["id"] != read["id"] and second["status"] == "pending" and second["cover_letter"] == "second try"
    listed = (await client.get(f"{API}/applications/project/{project['id']}", params={"status": "pending"},
                               headers=owner.headers)).json()[0]
    rejected = await client.post(f"{API}/applications/reject/{second['id']}", json={**listed, "reason": "cast"},
                                 headers=owner.headers)
    assert rejected.status_code == 200, rejected.text
    mine = (await client.get(f"{API}/applications/my-applications", params={"status": "rejected"},
                             headers=applicant.headers)).json()
    assert [a["status_reason"] for a in mine] == ["cast"]


async def test_profile_sent_back_with_one_field_changed(client, make_user):
    user = await make_user(profile={"skill_ids": [5, 6]})
    read = (await client.get(f"{API}/profile/me", headers=user.headers)).json()
    resp = await client.put(f"{API}/profile/update", json={**read, "bio": "Twenty years of night shoots"},
                            headers=user.headers)
    assert resp.status_code == 200, resp.text
    after = resp.json()
    assert after["bio"] == "Twenty years of night shoots" and after["skill_ids"] == [5, 6]
    assert after["id"] == read["id"] and after["latitude"] == read["latitude"]
    # Creating a profile from one read elsewhere (another account's public view) works as well.
    other = await make_user()
    public = (await client.get(f"{API}/profile/{user.id}", headers=other.headers)).json()
    created = await client.post(f"{API}/profile/create", json=public, headers=other.headers)
    assert created.status_code in (200, 201), created.text
    assert created.json()["user_id"] == str(other.id)


async def test_skill_sent_back_as_a_new_skill(client, make_user):
    user = await make_user()
    read = (await client.get(f"{API}/skills/5")).json()
    resp = await client.post(f"{API}/skills/create", json={**read, "name": "Second Unit Director"},
                             headers=user.headers)
    assert resp.status_code == 201 and resp.json()["id"] != read["id"], resp.text


async def test_messages_sent_back_to_mark_read_and_to_forward(client, make_user):
    alice, bob = await make_user(profile=True), await make_user(profile=True)
    sent = await client.post(f"{DM}/send", json={"recipient_id": str(bob.id), "content": "hi"}, headers=alice.headers)
    assert sent.status_code == 201, sent.text
    read = (await client.get(f"{DM}/messages/{alice.id}", headers=bob.headers)).json()["messages"][0]
    forwarded = await client.post(f"{DM}/send", json={**read, "recipient_id": str(alice.id), "content": "hi back"},
                                  headers=bob.headers)
    assert forwarded.status_code == 201, forwarded.text
    assert forwarded.json()["sender_id"] == str(bob.id) and forwarded.json()["id"] != read["id"]
    project_id = await insert_project(alice, bob)
    from api.chat import service

    await service.send_message(project_id, alice.id, "in the project chat", "Alice")  # as the socket handler does
    message = (await client.get(f"{CHAT}/messages/{project_id}", headers=bob.headers)).json()["messages"][0]
    resp = await client.post(f"{CHAT}/mark-read/{project_id}", json={**message, "message_id": message["id"]},
                             headers=bob.headers)
    assert resp.status_code == 200 and resp.json()["last_read_message_id"] == message["id"], resp.text
