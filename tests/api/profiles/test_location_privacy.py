"""The location-privacy rule has one home (api/kernel/location.py) and its consumers agree with it.

Public profiles, the people search document in OpenSearch and the PostGIS people engine all place a
person at the same snapped point, including on the half-cell edges where Python's round() (banker's
rounding on binary doubles) and floor(x * 100 + 0.5) / 100 used to disagree: 34.125 showed as 34.12
on the profile but snapped to 34.13 in search, -118.245 as -118.25 against -118.24.
"""
from __future__ import annotations

import random

import pytest
from sqlalchemy import text

from api.kernel.location import snap, snap_sql
from tests.helpers.http import API
from tests.helpers.indexing import ensure_aliases, os_doc
from tests.helpers.search import index_pending, reset_index

pytestmark = pytest.mark.usefixtures("close_opensearch_client")

# (latitude, longitude) pairs on and around half-cell edges, both signs, near the poles and the antimeridian.
EDGES = [(34.125, -118.245), (-33.865, 151.205), (0.005, -0.005), (-0.005, 0.005), (51.505, -0.125),
         (12.345, 98.765), (89.995, 179.995), (-89.995, -179.995), (40.7149999, -74.0050001), (0.0, 0.0)]


def test_rule_rounds_half_up_on_the_grid():
    assert (snap(34.125), snap(-118.245)) == (34.13, -118.24)
    assert (snap(0.004999), snap(-0.005), snap(-0.005001)) == (0.0, 0.0, -0.01)
    assert snap(179.995) == 180.0


async def test_sql_form_matches_python_form_everywhere(db):
    """Every half-cell edge of the globe, a fine sweep and random points: bit-identical results."""
    rng = random.Random(11)
    values = [k / 100 + 0.005 for k in range(-18000, 18000)] + [k / 1000 for k in range(-180000, 180001, 7)]
    values += [rng.uniform(-180, 180) for _ in range(20000)]
    rows = await db.execute(text(f"SELECT v, {snap_sql('v')} AS snapped FROM unnest(CAST(:values AS float8[])) AS v"),
                            {"values": values})
    mismatches = [(v, s, snap(v)) for v, s in rows if s != snap(v)]
    assert not mismatches, mismatches[:10]


async def test_profile_search_document_and_postgis_engine_agree_on_edges(client, make_user, db):
    from api.search.postgis_engine import PostgisEngine
    from api.search.schemas import UserFilters, UserSearch

    await ensure_aliases()
    await reset_index()
    viewer = await make_user()
    people = [await make_user(profile=True, name=f"Edge {i}", latitude=lat, longitude=lon)
              for i, (lat, lon) in enumerate(EDGES)]
    await index_pending()
    engine_page = await PostgisEngine(db).search_users(UserSearch(filters=UserFilters(), sort="newest", limit=100,
                                                                  facets=False))
    engine_points = {str(h.doc["user_id"]): (h.doc["grid_lat"], h.doc["grid_lon"]) for h in engine_page.hits}

    for person, (lat, lon) in zip(people, EDGES):
        expected = (snap(lat), snap(lon))
        shown = (await client.get(f"{API}/profile/{person.id}", headers=viewer.headers)).json()
        assert (shown["latitude"], shown["longitude"]) == expected, (lat, lon, shown)
        assert shown["location_precision"] == "approximate"
        own = (await client.get(f"{API}/profile/me", headers=person.headers)).json()
        assert (own["latitude"], own["longitude"]) == (lat, lon)  # only the owner sees the exact point

        doc = await os_doc("profiles", person.profile["id"])
        assert doc is not None, person.profile["id"]
        grid = doc["_source"]["location_grid"]
        assert (grid["lat"], grid["lon"]) == expected, (lat, lon, grid)

        assert engine_points[str(person.id)] == expected, (lat, lon, engine_points[str(person.id)])
