"""Profiles through HTTP: create, read, partial update, the public (rounded) view, bad input, authorization."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from db.models import Profile, ProfileSkill, SearchOutbox
from tests.helpers.http import API

FULL = {
    "name": "Maya Okafor", "age": 31, "gender": "female", "profession": "Cinematographer",
    "bio": "Indie features and music videos.", "is_actor": False,
    "profile_photo_url": "https://cdn.example.com/maya.jpg", "city": "Los Angeles", "state": "California",
    "country": "United States", "latitude": 34.052235, "longitude": -118.243683, "years_of_experience": 9,
    "previous_projects": "Night Bus (2022)", "portfolio_url": "https://maya.example.com", "skill_ids": [5, 1, 3],
}


async def _create(client, user, **fields):
    resp = await client.post(f"{API}/profile/create", json={**FULL, **fields}, headers=user.headers)
    assert resp.status_code == 201, resp.text
    return resp.json()


async def _stored_point(db, profile_id):
    row = (await db.execute(text("SELECT ST_Y(location::geometry) AS lat, ST_X(location::geometry) AS lon, "
                                 "GeometryType(location::geometry) AS kind, ST_SRID(location::geometry) AS srid "
                                 "FROM user_profiles WHERE id = :id"), {"id": profile_id})).one()
    return row


async def _outbox_count(db, profile_id) -> int:
    return await db.scalar(select(func.count()).select_from(SearchOutbox)
                           .where(SearchOutbox.entity == "profile", SearchOutbox.entity_id == profile_id))


async def test_create_and_read_own_profile(client, make_user, db):
    user = await make_user()
    body = await _create(client, user)
    for key, value in FULL.items():
        assert body[key] == value, key
    assert body["user_id"] == str(user.id) and body["id"] and body["created_at"]
    assert body["location_precision"] == "exact"
    assert [s["id"] for s in body["skills"]] == [5, 1, 3]
    assert all(set(s) == {"id", "name", "category"} for s in body["skills"])

    me = await client.get(f"{API}/profile/me", headers=user.headers)
    assert me.status_code == 200 and me.json() == body

    # Stored as a geography point (lon, lat) with SRID 4326; skills both as rows and as the array.
    point = await _stored_point(db, body["id"])
    assert point.kind == "POINT" and point.srid == 4326
    assert point.lat == pytest.approx(34.052235) and point.lon == pytest.approx(-118.243683)
    rows = set(await db.scalars(select(ProfileSkill.skill_id).where(ProfileSkill.profile_id == body["id"])))
    assert rows == {1, 3, 5}
    assert await db.scalar(select(Profile.skill_ids).where(Profile.id == body["id"])) == [5, 1, 3]
    # The search index was told, in the same transaction.
    assert await _outbox_count(db, body["id"]) == 1


async def test_minimal_profile_and_zero_coordinates(client, make_user, db):
    user = await make_user()
    resp = await client.post(f"{API}/profile/create", json={"name": "Null Island", "latitude": 0.0, "longitude": 0.0},
                             headers=user.headers)
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["latitude"] == 0.0 and body["longitude"] == 0.0 and body["is_actor"] is False
    assert body["skill_ids"] == [] and body["skills"] == []
    point = await _stored_point(db, body["id"])
    assert point.lat == 0.0 and point.lon == 0.0
    # Without a point there is no location at all.
    other = await make_user()
    resp = await client.post(f"{API}/profile/create", json={"name": "Nowhere"}, headers=other.headers)
    assert resp.status_code == 201 and resp.json()["latitude"] is None
    assert (await _stored_point(db, resp.json()["id"])).kind is None


async def test_second_create_is_409(client, make_user, db):
    user = await make_user()
    await _create(client, user)
    resp = await client.post(f"{API}/profile/create", json={"name": "Again"}, headers=user.headers)
    assert resp.status_code == 409
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert await db.scalar(select(func.count()).select_from(Profile).where(Profile.user_id == user.id)) == 1


async def test_partial_update_changes_only_what_is_sent(client, make_user, db):
    user = await make_user()
    before = await _create(client, user)
    resp = await client.put(f"{API}/profile/update", json={"bio": "Now mostly documentaries.", "skill_ids": [2]},
                            headers=user.headers)
    assert resp.status_code == 200, resp.text
    after = resp.json()
    assert after["bio"] == "Now mostly documentaries."
    assert after["skill_ids"] == [2] and [s["id"] for s in after["skills"]] == [2]
    for key in FULL:
        if key not in ("bio", "skill_ids"):
            assert after[key] == before[key], key
    rows = set(await db.scalars(select(ProfileSkill.skill_id).where(ProfileSkill.profile_id == before["id"])))
    assert rows == {2}
    assert await _outbox_count(db, before["id"]) == 2

    # An empty body changes nothing (but is still a valid update).
    same = await client.put(f"{API}/profile/update", json={}, headers=user.headers)
    assert same.status_code == 200
    assert {k: v for k, v in same.json().items() if k != "updated_at"} == \
        {k: v for k, v in after.items() if k != "updated_at"}


async def test_update_clears_optional_fields_with_null(client, make_user, db):
    user = await make_user()
    before = await _create(client, user)
    resp = await client.put(f"{API}/profile/update",
                            json={"bio": None, "latitude": None, "longitude": None, "skill_ids": []},
                            headers=user.headers)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["bio"] is None and body["latitude"] is None and body["longitude"] is None
    assert body["skills"] == [] and body["city"] == before["city"]
    assert (await _stored_point(db, before["id"])).kind is None
    # Moving the point keeps everything else.
    moved = await client.put(f"{API}/profile/update", json={"latitude": -33.8688, "longitude": 151.2093},
                             headers=user.headers)
    assert moved.json()["latitude"] == -33.8688 and moved.json()["bio"] is None


async def test_actor_rule(client, make_user):
    user = await make_user()
    resp = await client.post(f"{API}/profile/create", json={"name": "Actor", "is_actor": True, "age": 30},
                             headers=user.headers)
    assert resp.status_code == 422
    assert [e["field"] for e in resp.json()["errors"]] == ["gender"]
    resp = await client.post(f"{API}/profile/create", json={"name": "Actor", "is_actor": True}, headers=user.headers)
    assert {e["field"] for e in resp.json()["errors"]} == {"age", "gender"}

    ok = await client.post(f"{API}/profile/create", json={"name": "Actor", "is_actor": True, "age": 30,
                                                          "gender": "other"}, headers=user.headers)
    assert ok.status_code == 201
    # The rule holds on the merged state of an update as well.
    resp = await client.put(f"{API}/profile/update", json={"age": None}, headers=user.headers)
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "age"
    resp = await client.put(f"{API}/profile/update", json={"age": None, "is_actor": False}, headers=user.headers)
    assert resp.status_code == 200 and resp.json()["age"] is None

    other = await make_user()
    await client.post(f"{API}/profile/create", json={"name": "Crew", "age": 40, "gender": "male"},
                      headers=other.headers)
    resp = await client.put(f"{API}/profile/update", json={"is_actor": True}, headers=other.headers)
    assert resp.status_code == 200 and resp.json()["is_actor"] is True


async def test_unknown_skill_ids_are_named_and_nothing_is_written(client, make_user, db):
    user = await make_user()
    resp = await client.post(f"{API}/profile/create", json={**FULL, "skill_ids": [1, 99999, 88888]},
                             headers=user.headers)
    assert resp.status_code == 422
    error = resp.json()["errors"][0]
    assert error["field"] == "skill_ids" and "99999" in error["reason"] and "88888" in error["reason"]
    assert await db.scalar(select(func.count()).select_from(Profile)) == 0
    assert await db.scalar(select(func.count()).select_from(SearchOutbox)) == 0

    await _create(client, user)
    resp = await client.put(f"{API}/profile/update", json={"skill_ids": [2, 77777]}, headers=user.headers)
    assert resp.status_code == 422 and "77777" in resp.json()["detail"]
    assert (await client.get(f"{API}/profile/me", headers=user.headers)).json()["skill_ids"] == [5, 1, 3]


async def test_duplicate_skill_ids_are_kept_once(client, make_user):
    user = await make_user()
    body = await _create(client, user, skill_ids=[4, 4, 2, 4])
    assert body["skill_ids"] == [4, 2]


# ---------------------------------------------------------------- privacy


async def test_others_see_a_rounded_point_the_owner_the_exact_one(client, make_user):
    owner = await make_user()
    created = await _create(client, owner)
    viewer = await make_user()

    public = await client.get(f"{API}/profile/{owner.id}", headers=viewer.headers)
    assert public.status_code == 200, public.text
    body = public.json()
    assert body["latitude"] == 34.05 and body["longitude"] == -118.24
    assert body["location_precision"] == "approximate"
    assert body["city"] == "Los Angeles" and body["name"] == created["name"]
    assert "34.052235" not in public.text and "118.243683" not in public.text

    own = await client.get(f"{API}/profile/{owner.id}", headers=owner.headers)
    assert own.json()["latitude"] == 34.052235 and own.json()["location_precision"] == "exact"


async def test_rounding_at_the_edges(client, make_user):
    owner = await make_user()
    await _create(client, owner, latitude=-89.99999, longitude=179.996)
    viewer = await make_user()
    body = (await client.get(f"{API}/profile/{owner.id}", headers=viewer.headers)).json()
    assert body["latitude"] == -90.0 and body["longitude"] == 180.0


async def test_public_view_of_someone_without_a_profile_is_404(client, make_user):
    viewer, nobody = await make_user(), await make_user()
    assert (await client.get(f"{API}/profile/{nobody.id}", headers=viewer.headers)).status_code == 404
    assert (await client.get(f"{API}/profile/not-a-uuid", headers=viewer.headers)).status_code == 422


# ---------------------------------------------------------------- authorization


ENDPOINTS = [
    ("post", "/profile/create", {"name": "X"}),
    ("get", "/profile/me", None),
    ("put", "/profile/update", {"bio": "x"}),
    ("get", "/profile/{owner}", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
async def test_anonymous_callers_get_401(client, make_user, method, path, body):
    owner = await make_user(profile=True)
    kwargs = {"json": body} if body is not None else {}
    resp = await client.request(method.upper(), f"{API}{path.format(owner=owner.id)}", **kwargs)
    assert resp.status_code == 401
    assert resp.headers["content-type"].startswith("application/problem+json")


async def test_another_user_cannot_change_my_profile(client, make_user):
    owner = await make_user(profile=True)
    other = await make_user()
    # Update acts on the caller's own profile only: the other user has none.
    resp = await client.put(f"{API}/profile/update", json={"name": "Hijacked", "user_id": str(other.id)},
                            headers=other.headers)
    assert resp.status_code == 404
    assert (await client.get(f"{API}/profile/me", headers=other.headers)).status_code == 404
    mine = (await client.get(f"{API}/profile/me", headers=owner.headers)).json()
    assert mine["name"] == "Test Person" and mine["user_id"] == str(owner.id)
    # A body naming someone else's user id cannot create a profile for them.
    resp = await client.post(f"{API}/profile/create", json={"name": "Mine", "user_id": str(owner.id)},
                             headers=other.headers)
    assert resp.status_code == 201 and resp.json()["user_id"] == str(other.id)


# ---------------------------------------------------------------- malformed bodies

MALFORMED = [
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "x" * 121}, "name"),
    ({"age": 30}, "name"),
    ({"name": "A", "latitude": 90.5, "longitude": 0}, "latitude"),
    ({"name": "A", "latitude": -91, "longitude": 0}, "latitude"),
    ({"name": "A", "latitude": 10, "longitude": 180.01}, "longitude"),
    ({"name": "A", "latitude": 10, "longitude": -181}, "longitude"),
    ({"name": "A", "latitude": "north", "longitude": 3}, "latitude"),
    ({"name": "A", "latitude": 10}, "longitude"),
    ({"name": "A", "longitude": 10}, "latitude"),
    ({"name": "A", "latitude": 10, "longitude": None}, "longitude"),
    ({"name": "A", "age": 5}, "age"),
    ({"name": "A", "age": 200}, "age"),
    ({"name": "A", "age": "thirty"}, "age"),
    ({"name": "A", "gender": "robot"}, "gender"),
    ({"name": "A", "years_of_experience": -1}, "years_of_experience"),
    ({"name": "A", "years_of_experience": 81}, "years_of_experience"),
    ({"name": "A", "skill_ids": "1,2"}, "skill_ids"),
    ({"name": "A", "skill_ids": [0]}, "skill_ids.0"),
    ({"name": "A", "skill_ids": [1, "x"]}, "skill_ids.1"),
    ({"name": "A", "skill_ids": list(range(1, 60))}, "skill_ids"),
    ({"name": "A", "skill_ids": [2 ** 40]}, "skill_ids.0"),
    ({"name": "A", "portfolio_url": "javascript:alert(1)"}, "portfolio_url"),
    ({"name": "A", "profile_photo_url": "ftp://example.com/x.jpg"}, "profile_photo_url"),
    ({"name": "A", "bio": "b" * 5001}, "bio"),
    ({"name": "A", "is_actor": "sometimes"}, "is_actor"),
    ({"name": "A", "is_actor": None}, "is_actor"),
]


@pytest.mark.parametrize(("body", "field"), MALFORMED)
async def test_malformed_create_bodies(client, make_user, db, body, field):
    user = await make_user()
    resp = await client.post(f"{API}/profile/create", json=body, headers=user.headers)
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in resp.json()["errors"]], resp.json()
    assert await db.scalar(select(func.count()).select_from(Profile)) == 0


UPDATE_MALFORMED = [
    ({"name": None}, "name"),
    ({"skill_ids": None}, "skill_ids"),
    ({"is_actor": None}, "is_actor"),
    ({"latitude": 45.0}, "longitude"),
    ({"latitude": None}, "longitude"),
    ({"longitude": 200}, "longitude"),
    ({"gender": "unknown"}, "gender"),
]


@pytest.mark.parametrize(("body", "field"), UPDATE_MALFORMED)
async def test_malformed_update_bodies(client, make_user, body, field):
    user = await make_user(profile=True)
    resp = await client.put(f"{API}/profile/update", json=body, headers=user.headers)
    assert resp.status_code == 422, resp.text
    assert field in [e["field"] for e in resp.json()["errors"]], resp.json()
    assert (await client.get(f"{API}/profile/me", headers=user.headers)).json()["latitude"] == 34.0522


async def test_body_that_is_not_an_object(client, make_user):
    user = await make_user()
    resp = await client.post(f"{API}/profile/create", json=["name"], headers=user.headers)
    assert resp.status_code == 422
    resp = await client.post(f"{API}/profile/create", content=b"{oops", headers={**user.headers,
                                                                                  "content-type": "application/json"})
    assert resp.status_code == 422
