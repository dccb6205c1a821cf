"""Shoot dates, availability and "who can work my shoot" through HTTP, on both engines: the skill, every shoot
day free (edges: a booking touching the last day excludes, one starting the day after does not), each person's
own travel radius from their ~1 km grid point (edges: just inside and just outside, the 30 km local reach),
ranking by extra skills and distance, admins and parents only, and the same answer from OpenSearch and PostGIS."""
from __future__ import annotations

import math

import pytest

from tests.helpers.http import API, assert_problem
from tests.helpers.projects import add_member, create_project
from tests.helpers.search import index_pending, reset_index

pytestmark = pytest.mark.usefixtures("close_opensearch_client")
SHOOT = (34.0522, -118.2437)
EARTH_KM = 6371.0087714
ROLE = {"skill_id": 5, "role_title": "Director of Photography", "slots_available": 1, "payment_type": "paid"}
DAYS = [{"start": "2026-06-10", "end": "2026-06-12"}]


def _snap(x: float) -> float:
    return math.floor(x * 100 + 0.5) / 100


def _km(lat1, lon1, lat2, lon2) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * EARTH_KM * math.asin(math.sqrt(a))


def north_of_shoot(km: float) -> tuple[float, float, float]:
    """A home about `km` north of the shoot; returns (lat, lon, the distance its grid point really is)."""
    lat = SHOOT[0] + math.degrees(km / EARTH_KM)
    lon = SHOOT[1]
    return lat, lon, _km(_snap(lat), _snap(lon), *SHOOT)


async def _person(client, make_user, name, km, travel=0, skills=(5,), unavailable=()):
    lat, lon, real = north_of_shoot(km)
    user = await make_user(profile=True, name=name, latitude=lat, longitude=lon, skill_ids=list(skills))
    resp = await client.put(f"{API}/profile/me/availability", headers=user.headers,
                            json={"unavailable": list(unavailable), "willing_to_travel_km": travel})
    assert resp.status_code == 200, resp.text
    user.real_km = real
    return user


@pytest.fixture
async def shoot_world(client, make_user):
    await reset_index()
    owner = await make_user(profile=True, skill_ids=[5])
    project = await create_project(client, owner, name="Night Harbor", latitude=SHOOT[0], longitude=SHOOT[1],
                                   roles=[dict(ROLE), {"skill_id": 6, "role_title": "Gaffer", "slots_available": 2,
                                                        "payment_type": "negotiable"}])
    resp = await client.put(f"{API}/projects/{project['id']}/shoot-dates", headers=owner.headers,
                            json={"shoot_dates": DAYS})
    assert resp.status_code == 200, resp.text
    people = {
        "near": await _person(client, make_user, "Near", 10),
        "local edge in": await _person(client, make_user, "Local in", 29.2),
        "local edge out": await _person(client, make_user, "Local out", 30.8),
        "travel edge in": await _person(client, make_user, "Travel in", 99.2, travel=100),
        "travel edge out": await _person(client, make_user, "Travel out", 100.8, travel=100),
        "far traveller": await _person(client, make_user, "Far", 900, travel=1000, skills=(5, 7)),
        "booked on last day": await _person(client, make_user, "Booked", 12,
                                            unavailable=[{"start": "2026-06-12", "end": "2026-06-20"}]),
        "booked from the day after": await _person(client, make_user, "After", 14,
                                                   unavailable=[{"start": "2026-06-13", "end": "2026-06-20"}]),
        "booked until the day before": await _person(client, make_user, "Before", 16,
                                                     unavailable=[{"start": "2026-06-01", "end": "2026-06-09"}]),
        "no skill": await _person(client, make_user, "Other skill", 5, skills=(6,)),
        "extra skill": await _person(client, make_user, "Extra", 20, skills=(5, 7)),
    }
    for key in ("local edge in", "local edge out", "travel edge in", "travel edge out"):
        limit = 30 if key.startswith("local") else 100
        assert abs(people[key].real_km - limit) > 0.3, (key, people[key].real_km)  # not a rounding coin flip
    member = await add_member(client, make_user, owner, project, role_index=1, latitude=SHOOT[0] + 0.05,
                              longitude=SHOOT[1], skill_ids=[5])
    return owner, project, people, member


async def _crew(client, user, project, engine, monkeypatch, **params):
    from api.kernel.settings import get_settings
    from api.search import service

    service._breaker = None
    if engine == "postgis":
        monkeypatch.setattr(get_settings(), "opensearch_url", "")
    else:
        await index_pending()
    url = f"{API}/projects/{project['id']}/roles/{project['roles'][0]['id']}/available-crew"
    resp = await client.get(url, headers=user.headers, params={"limit": 100, **params})
    monkeypatch.undo()
    assert resp.status_code == 200, resp.text
    assert resp.headers["x-search-engine"] == engine
    return resp.json(), int(resp.headers["x-total-count"])


async def test_who_can_work_my_shoot_on_both_engines(client, make_user, shoot_world, monkeypatch):
    owner, project, people, member = shoot_world
    answers = {}
    for engine in ("opensearch", "postgis"):
        hits, total = await _crew(client, owner, project, engine, monkeypatch)
        names = [h["name"] for h in hits]
        assert total == len(hits)
        assert set(names) == {"Near", "Local in", "Travel in", "Far", "After", "Before", "Extra", "Test Person"} - \
            {"Test Person"}, (engine, names)
        assert str(member.id) not in {h["user_id"] for h in hits}
        # Ranked by distance decay: nearest first, the 900 km traveller last.
        assert names[0] == "Near" and names[-1] == "Far"
        dist = {h["name"]: h["distance_km"] for h in hits}
        assert all(isinstance(d, int) and d >= 1 for d in dist.values()) and dist["Far"] in (899, 900, 901)
        assert "latitude" not in hits[0] and "location" not in hits[0]
        answers[engine] = [(h["profile_id"], round(h["score"], 4)) for h in hits]
    assert answers["opensearch"] == answers["postgis"]

    # Extra skills rank higher: "Extra" (20 km, skill 7 too) passes people nearer than it.
    for engine in ("opensearch", "postgis"):
        hits, _ = await _crew(client, owner, project, engine, monkeypatch, also_skill_ids=[7])
        assert [h["name"] for h in hits][:2] == ["Extra", "Near"], engine


async def test_role_dates_override_the_projects_and_no_dates_means_any_day(client, make_user, shoot_world,
                                                                         monkeypatch):
    owner, project, people, _ = shoot_world
    role_id = project["roles"][0]["id"]
    resp = await client.put(f"{API}/projects/{project['id']}/shoot-dates", headers=owner.headers,
                            json={"roles": {role_id: [{"start": "2026-07-01", "end": "2026-07-02"}]}})
    assert resp.status_code == 200, resp.text
    assert resp.json()["roles"][0]["shoot_dates"] == [{"start": "2026-07-01", "end": "2026-07-02"}]
    for engine in ("opensearch", "postgis"):
        names = {h["name"] for h in (await _crew(client, owner, project, engine, monkeypatch))[0]}
        assert "Booked" in names, engine  # free in July
    resp = await client.put(f"{API}/projects/{project['id']}/shoot-dates", headers=owner.headers,
                            json={"shoot_dates": [], "roles": {role_id: None}})
    assert resp.json()["shoot_dates"] is None and resp.json()["roles"][0]["shoot_dates"] is None
    for engine in ("opensearch", "postgis"):
        names = {h["name"] for h in (await _crew(client, owner, project, engine, monkeypatch))[0]}
        assert {"Booked", "After", "Before"} <= names, engine


async def test_only_admins_and_parents_may_look_for_crew(client, make_user, shoot_world, monkeypatch):
    owner, project, people, member = shoot_world
    url = f"{API}/projects/{project['id']}/roles/{project['roles'][0]['id']}/available-crew"
    assert_problem(await client.get(url, headers=people["near"].headers), 403)
    assert_problem(await client.get(url, headers=member.headers), 403)  # a child
    assert_problem(await client.get(url), 401)
    resp = await client.put(f"{API}/management/project/{project['id']}/member/{member.id}/promote",
                            json={"member_role": "parent"}, headers=owner.headers)
    assert resp.status_code == 200, resp.text
    hits, _ = await _crew(client, member, project, "postgis", monkeypatch)
    assert hits
    resp = await client.get(url, headers=owner.headers, params={"also_skill_ids": [2**31]})
    assert_problem(resp, 422, field="also_skill_ids")  # not a 500 from the database
    other = await create_project(client, owner, name="Elsewhere")
    bad = f"{API}/projects/{other['id']}/roles/{project['roles'][0]['id']}/available-crew"
    assert_problem(await client.get(bad, headers=owner.headers), 404)


async def test_shoot_dates_and_availability_validation(client, make_user):
    owner = await make_user(profile=True)
    project = await create_project(client, owner)
    url = f"{API}/projects/{project['id']}/shoot-dates"
    resp = await client.put(url, headers=owner.headers,
                            json={"shoot_dates": [{"start": "2026-05-03", "end": "2026-05-01"}]})
    assert_problem(resp, 422, "end must not be before start")
    resp = await client.put(url, headers=owner.headers, json={"roles": {owner.id.hex[:8] + "-0000-0000-0000-"
                                                                        "000000000000": []}})
    assert_problem(resp, 422, field=f"roles.{owner.id.hex[:8]}-0000-0000-0000-000000000000")
    stranger = await make_user(profile=True)
    assert_problem(await client.put(url, headers=stranger.headers, json={"shoot_dates": DAYS}), 403)
    resp = await client.put(url, headers=owner.headers, json={"shoot_dates": [
        {"start": "2026-05-01", "end": "2026-05-03"}, {"start": "2026-05-04", "end": "2026-05-04"},
        {"start": "2026-05-10", "end": "2026-05-10"}]})
    # Adjacent days merge (PostgreSQL normalises the multirange).
    assert resp.json()["shoot_dates"] == [{"start": "2026-05-01", "end": "2026-05-04"},
                                          {"start": "2026-05-10", "end": "2026-05-10"}]
    assert (await client.get(url)).json()["shoot_dates"] == resp.json()["shoot_dates"]  # public

    resp = await client.put(f"{API}/profile/me/availability", headers=owner.headers, json={"willing_to_travel_km": 20001})
    assert_problem(resp, 422, field="willing_to_travel_km")
    resp = await client.put(f"{API}/profile/me/availability", headers=owner.headers, json={"willing_to_travel_km": 50.5})
    assert_problem(resp, 422, field="willing_to_travel_km")
    nobody = await make_user()
    assert_problem(await client.get(f"{API}/profile/me/availability", headers=nobody.headers), 404)
    resp = await client.get(f"{API}/profile/me/availability", headers=owner.headers)
    assert resp.json() == {"unavailable": [], "willing_to_travel_km": 0}


async def test_projects_that_fit_my_availability_on_both_engines(client, make_user, monkeypatch):
    from api.kernel.settings import get_settings
    from api.search import service

    await reset_index()
    owner = await make_user(profile=True)
    crew = await _person(client, make_user, "Crew", 0, travel=100,
                         unavailable=[{"start": "2026-06-12", "end": "2026-06-20"}])
    home = (_snap(north_of_shoot(0)[0]), _snap(SHOOT[1]))

    async def project(name, km, days):
        lat = home[0] + math.degrees(km / EARTH_KM)
        p = await create_project(client, owner, name=name, latitude=lat, longitude=home[1])
        if days is not None:
            resp = await client.put(f"{API}/projects/{p['id']}/shoot-dates", headers=owner.headers,
                                    json={"shoot_dates": days})
            assert resp.status_code == 200, resp.text
        return p

    await project("Early June, 20 km", 20, [{"start": "2026-06-01", "end": "2026-06-05"}])
    await project("No dates yet, 99.5 km", 99.5, None)
    await project("Too far, 100.5 km", 100.5, None)
    await project("Clashes on the 12th", 5, [{"start": "2026-06-10", "end": "2026-06-12"}])
    await project("Free again on the 21st", 5, [{"start": "2026-06-21", "end": "2026-06-22"}])
    expected = {"Early June, 20 km", "No dates yet, 99.5 km", "Free again on the 21st"}
    for engine in ("opensearch", "postgis"):
        service._breaker = None
        if engine == "postgis":
            monkeypatch.setattr(get_settings(), "opensearch_url", "")
        else:
            await index_pending()
        resp = await client.get(f"{API}/search/projects", headers=crew.headers,
                                params={"fits_my_availability": "true", "limit": 50})
        monkeypatch.undo()
        assert resp.status_code == 200, resp.text
        assert resp.headers["x-search-engine"] == engine
        assert {p["name"] for p in resp.json()} == expected, engine
    assert_problem(await client.get(f"{API}/search/projects", params={"fits_my_availability": "true"}), 401)
    no_profile = await make_user()
    assert_problem(await client.get(f"{API}/search/projects", params={"fits_my_availability": "true"},
                                    headers=no_profile.headers), 422, field="fits_my_availability")


async def test_reach_across_the_antimeridian_and_from_the_pole_on_both_engines(client, make_user, monkeypatch):
    """Both engines narrow by reach keys (grid cells a person's reach may touch, api/kernel/reach_cells): a reach
    crossing ±180° or holding a pole must still find the shoot, and the exact distance still decides."""
    await reset_index()
    shoot = (-16.80, 179.90)  # Taveuni, Fiji: east of it is longitude -179.x
    owner = await make_user(profile=True, skill_ids=[5])
    project = await create_project(client, owner, name="Dateline", latitude=shoot[0], longitude=shoot[1],
                                   roles=[dict(ROLE)])

    async def person(name, lat, lon, travel):
        user = await make_user(profile=True, name=name, latitude=lat, longitude=lon, skill_ids=[5])
        resp = await client.put(f"{API}/profile/me/availability", headers=user.headers,
                                json={"willing_to_travel_km": travel})
        assert resp.status_code == 200, resp.text
        return _km(_snap(lat), _snap(lon), *shoot)

    across = await person("Across the line", -16.80, -179.75, 0)  # ~37 km: outside the 30 km local reach
    assert 31 < across < 60
    await person("Across, travels", -16.80, -179.75, 60)
    far = await person("Far across", -16.80, -178.80, 100)
    assert 100.5 < far < 200
    await person("Far across, travels further", -16.80, -178.80, 200)
    await person("Polar, anywhere", 89.5, 10.0, 20000)
    await person("Polar, stays", 89.5, 10.0, 500)
    for engine in ("opensearch", "postgis"):
        hits, total = await _crew(client, owner, project, engine, monkeypatch)
        assert {h["name"] for h in hits} == {"Across, travels", "Far across, travels further", "Polar, anywhere"}, \
            (engine, [h["name"] for h in hits])
        assert total == 3
