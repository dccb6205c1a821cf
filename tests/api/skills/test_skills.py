"""The skill catalogue through HTTP: public listing (paginated), categories, one skill, proposals."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from db.models import Skill
from db.seed import CATALOGUE
from tests.helpers.http import API

SEEDED = json.loads(CATALOGUE.read_text())


async def test_list_is_public_and_holds_the_seeded_catalogue(client):
    resp = await client.get(f"{API}/skills/list", params={"limit": 500})
    assert resp.status_code == 200
    skills = resp.json()
    assert isinstance(skills, list) and len(skills) == len(SEEDED) == int(resp.headers["X-Total-Count"])
    assert all(set(s) == {"id", "name", "category"} and isinstance(s["id"], int) for s in skills)
    assert {s["name"] for s in skills} == {s["name"] for s in SEEDED}
    categories = {s["category"] for s in skills}
    for expected in ("Directing", "Camera", "Lighting & Grip", "Sound", "Art Department", "Costume & Makeup",
                     "Editing & Post-Production", "VFX & Animation", "Music", "Acting", "Writing", "Production"):
        assert expected in categories


async def test_list_pages(client):
    first = await client.get(f"{API}/skills/list", params={"limit": 10, "page": 1})
    second = await client.get(f"{API}/skills/list", params={"limit": 10, "page": 2})
    assert len(first.json()) == len(second.json()) == 10
    assert not {s["id"] for s in first.json()} & {s["id"] for s in second.json()}
    assert first.headers["X-Total-Count"] == str(len(SEEDED)) and second.headers["X-Page"] == "2"
    last_page = (len(SEEDED) + 9) // 10
    tail = await client.get(f"{API}/skills/list", params={"limit": 10, "page": last_page})
    assert len(tail.json()) == len(SEEDED) - 10 * (last_page - 1)
    beyond = await client.get(f"{API}/skills/list", params={"limit": 10, "page": last_page + 1})
    assert beyond.status_code == 200 and beyond.json() == []


async def test_list_by_category_and_search(client):
    sound = (await client.get(f"{API}/skills/list", params={"category": "sound"})).json()
    expected = {s["name"] for s in SEEDED if s["category"] == "Sound"}
    assert {s["name"] for s in sound} == expected and expected
    found = (await client.get(f"{API}/skills/list", params={"search": "DIRECTOR"})).json()
    assert found and all("director" in s["name"].lower() for s in found)
    both = (await client.get(f"{API}/skills/list", params={"search": "director", "category": "Directing"})).json()
    assert both and all(s["category"] == "Directing" for s in both)
    # LIKE wildcards are matched literally.
    assert (await client.get(f"{API}/skills/list", params={"search": "%"})).json() == []
    assert (await client.get(f"{API}/skills/list", params={"category": "No Such Category"})).json() == []


async def test_categories(client):
    resp = await client.get(f"{API}/skills/categories")
    assert resp.status_code == 200
    assert resp.json() == sorted({s["category"] for s in SEEDED})


async def test_get_one_skill(client):
    resp = await client.get(f"{API}/skills/1")
    assert resp.status_code == 200 and resp.json() == {"id": 1, "name": SEEDED[0]["name"],
                                                        "category": SEEDED[0]["category"]}
    missing = await client.get(f"{API}/skills/99999")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("application/problem+json")
    assert (await client.get(f"{API}/skills/abc")).status_code == 422
    assert (await client.get(f"{API}/skills/0")).status_code == 422


async def test_signed_in_user_proposes_a_skill(client, make_user, db):
    user = await make_user()
    resp = await client.post(f"{API}/skills/create", json={"name": "  Drone Pilot ", "category": "Camera"},
                             headers=user.headers)
    assert resp.status_code == 201, resp.text
    skill = resp.json()
    assert skill["name"] == "Drone Pilot" and skill["category"] == "Camera" and isinstance(skill["id"], int)
    assert (await client.get(f"{API}/skills/{skill['id']}")).json() == skill
    assert await db.scalar(select(Skill.created_by).where(Skill.id == skill["id"])) == user.id
    # A profile can use it right away.
    prof = await client.post(f"{API}/profile/create", json={"name": "Pilot", "skill_ids": [skill["id"]]},
                             headers=user.headers)
    assert prof.status_code == 201 and prof.json()["skills"] == [skill]


@pytest.mark.parametrize("name", ["Director", "director", "DIRECTOR", "  Director  "])
async def test_names_are_unique_regardless_of_case(client, make_user, db, name):
    user = await make_user()
    resp = await client.post(f"{API}/skills/create", json={"name": name, "category": "Directing"},
                             headers=user.headers)
    assert resp.status_code == 409
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["existing_id"] == 1
    assert await db.scalar(select(func.count()).select_from(Skill)) == len(SEEDED)


async def test_anonymous_cannot_propose(client, db):
    resp = await client.post(f"{API}/skills/create", json={"name": "Anonymous Skill", "category": "Camera"})
    assert resp.status_code == 401
    assert await db.scalar(select(func.count()).select_from(Skill)) == len(SEEDED)


async def test_another_user_sees_proposals_but_cannot_duplicate_them(client, make_user):
    alice, bob = await make_user(), await make_user()
    made = await client.post(f"{API}/skills/create", json={"name": "Underwater DP", "category": "Camera"},
                             headers=alice.headers)
    assert made.status_code == 201
    listed = (await client.get(f"{API}/skills/list", params={"search": "underwater"}, headers=bob.headers)).json()
    assert listed == [made.json()]
    dup = await client.post(f"{API}/skills/create", json={"name": "UNDERWATER dp", "category": "Camera"},
                            headers=bob.headers)
    assert dup.status_code == 409


MALFORMED = [
    ({"category": "Camera"}, "name"),
    ({"name": "Drone Pilot"}, "category"),
    ({"name": "", "category": "Camera"}, "name"),
    ({"name": "x", "category": "Camera"}, "name"),
    ({"name": "n" * 101, "category": "Camera"}, "name"),
    ({"name": "Drone Pilot", "category": "c" * 61}, "category"),
    ({"name": 42, "category": "Camera"}, "name"),
    ({"name": "Drone Pilot", "category": None}, "category"),
]


@pytest.mark.parametrize(("body", "field"), MALFORMED)
async def test_malformed_create_bodies(client, make_user, body, field):
    user = await make_user()
    resp = await client.post(f"{API}/skills/create", json=body, headers=user.headers)
    assert resp.status_code == 422, resp.text
    assert field in [e["field"] for e in resp.json()["errors"]]


@pytest.mark.parametrize("params", [{"page": 0}, {"limit": 0}, {"limit": 501}, {"page": "x"},
                                   {"search": "s" * 101}])
async def test_malformed_list_parameters(client, params):
    resp = await client.get(f"{API}/skills/list", params=params)
    assert resp.status_code == 422
    assert resp.headers["content-type"].startswith("application/problem+json")


async def test_browsers_may_read_the_pagination_headers(client):
    resp = await client.get(f"{API}/skills/list", headers={"Origin": "http://localhost:3000"})
    exposed = resp.headers["access-control-expose-headers"].lower()
    assert "x-total-count" in exposed and "retry-after" in exposed
