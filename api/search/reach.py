"""The "fits my availability" project filter (`/search/projects?fits_my_availability=true`), for both engines.

A signed-in person's reach: projects whose location is within their travel radius (at least LOCAL_KM) of
their ~1 km grid point, and whose shoot days (if planned) meet none of the days they are booked or
unavailable. Kept apart from the engines' own filter code; each engine adds these clauses.
"""
from __future__ import annotations

from typing import Any

# LOCAL_KM: below it, a travel radius (0 = "local only") still reaches the person's own area (one definition,
# in the kernel: the indexer's reach keys use it too).
from api.kernel.reach_cells import LOCAL_KM  # noqa: F401  (imported from here by the engines)
from api.search.schemas import Reach

REACH_POINT = "ST_SetSRID(ST_MakePoint(:reach_lon, :reach_lat), 4326)::geography"


def postgis_where(reach: Reach, params: dict[str, Any]) -> list[str]:
    params.update(reach_lat=reach.lat, reach_lon=reach.lon, reach_m=reach.km * 1000.0)
    where = ["p.location IS NOT NULL", f"ST_DWithin(p.location, {REACH_POINT}, :reach_m, false)"]
    if reach.busy:
        params["reach_busy"] = "{" + ",".join(f"[{s},{e}]" for s, e in reach.busy) + "}"
        where.append("(p.shoot_dates IS NULL OR NOT (p.shoot_dates && CAST(CAST(:reach_busy AS text) AS datemultirange)))")
    return where


def opensearch_clauses(reach: Reach) -> tuple[list[dict], list[dict]]:
    """(filter, must_not) clauses."""
    flt = [{"geo_distance": {"distance": f"{reach.km}km", "distance_type": "arc",
                             "location": {"lat": reach.lat, "lon": reach.lon}}}]
    must_not = [{"range": {"shoot_dates": {"gte": s, "lte": e, "relation": "intersects"}}} for s, e in reach.busy]
    return flt, must_not



_PERSON = """
SELECT ST_Y(u.location_grid::geometry) AS lat, ST_X(u.location_grid::geometry) AS lon, u.willing_to_travel_km,
       (SELECT json_agg(json_build_array(lower(d), upper(d) - 1) ORDER BY lower(d)) FROM unnest(u.unavailable) d) AS busy
FROM user_profiles u WHERE u.user_id = :uid
"""


async def of_person(session, user) -> Reach:
    """The signed-in person's reach, from their grid point (never the exact one)."""
    from sqlalchemy import text

    from api.kernel.problems import Problem, field_error

    if user is None:
        raise Problem(401, "Sign in to filter by your own availability",
                      errors=[{"field": "fits_my_availability", "reason": "needs a signed-in person"}])
    row = (await session.execute(text(_PERSON), {"uid": user.id})).one_or_none()
    if row is None or row.lat is None:
        raise field_error("fits_my_availability", "needs your profile with a location (POST /api/v1/profile/create)")
    return Reach(lat=row.lat, lon=row.lon, km=float(max(row.willing_to_travel_km, LOCAL_KM)),
                 busy=tuple((str(s), str(e)) for s, e in row.busy or []))
