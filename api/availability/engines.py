""""Who can work my shoot" on both engines: the same people, in the same order.

Rule (api/availability/service.py): the role's skill; no unavailable day intersecting any shoot day; home
(the ~1 km grid point) within greatest(willing_to_travel_km, LOCAL_KM) of the shoot; score = (1 + extra
skills matched) x gauss decay of the distance (OpenSearch's `gauss` semantics: offset 5 km, 0.5 at 55 km);
ties by profile id.

Both narrow first by reach keys (api/kernel/reach_cells): per skill, the grid cells a person's own reach may
touch; the shoot's five keys find the people with the skill whose reach box touches the shoot's cell (a few
thousand at 1M instead of everyone with the skill, ~30,000 for a common one), then the exact rule runs on those.
- PostGIS: the keys by the GIN expression index `filmo_reach_keys(...)` (migration 0005), then the availability
  multirange and each candidate's own radius (`ST_DWithin` on the sphere).
- OpenSearch: the keys are the `reach_keys` field; no script (the node runs none): a first request lists the
  distinct travel radii among the candidates (a terms aggregation); the query then ORs one `geo_distance` per
  radius with that radius — exact, and each clause is an index query. More than MAX_RADII distinct radii:
  PostGIS answers.
Cost at 1M profiles: bench/results/alerts.md.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

from opensearchpy.exceptions import ConnectionError as SearchConnectionError
from opensearchpy.exceptions import NotFoundError, TransportError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from api.availability.schemas import CrewHit, SkillOut
from api.kernel.reach_cells import shoot_keys
from api.search.service import breaker, person_distance_km
from api.search.reach import LOCAL_KM
from api.search.schemas import Point
from indexer.client import alias_name, get_client, opensearch_configured

log = logging.getLogger("filmo.availability")
DECAY = {"scale_km": 50.0, "offset_km": 5.0, "decay": 0.5}
MAX_RADII = 1000
# gauss: exp(-max(0, d - offset)^2 / (2 sigma^2)), with sigma^2 chosen so that the score is `decay` at offset + scale.
SIGMA2_M = -(DECAY["scale_km"] * 1000.0) ** 2 / (2.0 * math.log(DECAY["decay"]))


@dataclass
class Shoot:
    skill_id: int
    lat: float
    lon: float
    days: list[tuple[str, str]] | None  # inclusive (start, end) ISO days; None: no dates planned
    exclude_user_ids: list[str] = field(default_factory=list)
    extra_skill_ids: list[int] = field(default_factory=list)


def _hit(doc: dict, score: float, shoot: Shoot) -> CrewHit:
    grid = doc.get("location_grid") or {}
    return CrewHit(profile_id=doc["id"], user_id=doc["user_id"], name=doc["name"], profession=doc.get("profession"),
                   city=doc.get("city"), country=doc.get("country"), years_of_experience=doc.get("years_of_experience"),
                   profile_photo_url=doc.get("profile_photo_url"), skills=[SkillOut(**s) for s in doc.get("skills") or []],
                   willing_to_travel_km=doc.get("willing_to_travel_km", 0),
                   distance_km=person_distance_km(grid.get("lat"), grid.get("lon"), Point(shoot.lat, shoot.lon)),
                   score=round(score, 6))


# ------------------------------------------------------------------ PostGIS

SHOOT = "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography"
_PG = f"""
WITH c AS (
  SELECT u.id, u.user_id, u.name, u.profession, u.city, u.country, u.years_of_experience, u.profile_photo_url,
         u.skill_ids, u.willing_to_travel_km, ST_Y(u.location_grid::geometry) AS glat,
         ST_X(u.location_grid::geometry) AS glon, ST_Distance(u.location_grid, {SHOOT}, false) AS d
  FROM user_profiles u
  -- The reach keys hold the skill: `= ANY` rechecks it without a second index scan (the skill GIN index found
  -- ~30,000 people at 1M only to intersect them with the keys' ~4,000). Deactivated accounts through a partial
  -- index of them (2 % of users) instead of a look-up in the whole users table per candidate (~6 us each).
  WHERE filmo_reach_keys(u.skill_ids, u.location_grid, u.willing_to_travel_km) && CAST(:keys AS bigint[])
    AND CAST(:skill AS integer) = ANY(u.skill_ids) AND u.location_grid IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM users a WHERE a.id = u.user_id AND NOT a.is_active)
    {{days}}
    AND ST_DWithin(u.location_grid, {SHOOT}, greatest(u.willing_to_travel_km, :local_km) * 1000.0::float8, false)
    AND NOT (u.user_id = ANY(CAST(:exclude AS uuid[])))
)
SELECT c.*, (1 + (SELECT count(*) FROM unnest(c.skill_ids) s WHERE s = ANY(CAST(:extras AS integer[]))))
            * exp(greatest(-power(greatest(c.d - CAST(:offset_m AS float8), 0), 2) / (2 * CAST(:sigma2 AS float8)),
                           -700)) AS score,  -- exp() past -745 is an underflow error in PostgreSQL, not 0
       (SELECT json_agg(json_build_object('id', s.id, 'name', s.name, 'category', s.category) ORDER BY s.name, s.id)
        FROM skills s WHERE s.id = ANY(c.skill_ids)) AS skills,
       count(*) OVER () AS total
FROM c ORDER BY score DESC, c.id LIMIT :limit OFFSET :offset
"""
# Free on every shoot day. The days are parsed once (an InitPlan): a bare cast of the parameter is re-parsed for
# every candidate (the multirange input function is only STABLE); ~10 % of the query at 1M profiles.
_FREE = "AND NOT (u.unavailable && (SELECT CAST(CAST(:days AS text) AS datemultirange)))"


def _pg_sql(days: str | None) -> str:
    return _PG.replace("{days}", _FREE if days else "")


async def postgis(session: AsyncSession, shoot: Shoot, limit: int, offset: int) -> tuple[list[CrewHit], int]:
    days = "{" + ",".join(f"[{s},{e}]" for s, e in shoot.days) + "}" if shoot.days else None  # none planned: any day
    keys = shoot_keys(shoot.skill_id, shoot.lat, shoot.lon)
    # Neither parallel workers nor JIT for this query: the planner cannot estimate the per-person radius (nor the
    # reach keys' recheck) and, for a few thousand candidates, picks a parallel heap scan (on this 2-core machine
    # p50 ~57 -> ~28 ms at 1M profiles) and compiles the query (~23 ms of a ~60 ms one).
    # Transaction-local (set_config's `true`): they end with the request's transaction, of which this search is
    # the last query (engines.run), so nothing needs restoring.
    await session.execute(text("SELECT set_config('max_parallel_workers_per_gather', '0', true), "
                               "set_config('jit', 'off', true)"))
    params = {"keys": keys, "lat": shoot.lat, "lon": shoot.lon, "skill": shoot.skill_id, "days": days,
              "local_km": LOCAL_KM, "exclude": shoot.exclude_user_ids, "extras": shoot.extra_skill_ids,
              "offset_m": DECAY["offset_km"] * 1000.0, "sigma2": SIGMA2_M}
    rows = (await session.execute(text(_pg_sql(days)), {**params, "limit": limit, "offset": offset})).all()
    hits = [_hit({"id": str(r.id), "user_id": str(r.user_id), "name": r.name, "profession": r.profession,
                  "city": r.city, "country": r.country, "years_of_experience": r.years_of_experience,
                  "profile_photo_url": r.profile_photo_url, "skills": r.skills,
                  "willing_to_travel_km": r.willing_to_travel_km, "location_grid": {"lat": r.glat, "lon": r.glon}},
                 float(r.score), shoot) for r in rows]
    total = int(rows[0].total) if rows else 0
    if not rows and offset:
        total = int((await session.execute(text(f"SELECT count(*) FROM ({_pg_sql(days).replace('LIMIT :limit OFFSET :offset', '')}) x"),
                                           params)).scalar())
    return hits, total


# ------------------------------------------------------------------ OpenSearch

_SOURCE = ["id", "user_id", "name", "profession", "city", "country", "years_of_experience", "profile_photo_url",
           "skills", "willing_to_travel_km", "location_grid"]


class TooManyRadii(Exception):
    pass


def _base(shoot: Shoot) -> tuple[list[dict], list[dict]]:
    flt: list[dict] = [{"terms": {"reach_keys": shoot_keys(shoot.skill_id, shoot.lat, shoot.lon)}},
                       {"term": {"skill_ids": shoot.skill_id}}, {"exists": {"field": "location_grid"}}]
    must_not: list[dict] = [{"range": {"unavailable": {"gte": s, "lte": e, "relation": "intersects"}}}
                            for s, e in shoot.days or []]
    if shoot.exclude_user_ids:
        must_not.append({"terms": {"user_id": shoot.exclude_user_ids}})
    return flt, must_not


def _within(shoot: Shoot, km: float) -> dict:
    return {"geo_distance": {"distance": f"{km}km", "distance_type": "arc",
                             "location_grid": {"lat": shoot.lat, "lon": shoot.lon}}}


def reach_clause(shoot: Shoot, radii: list[int]) -> dict:
    """Home within the person's own reach: one geo_distance per distinct travel radius present."""
    should: list[dict] = []
    if any(r < LOCAL_KM for r in radii):
        should.append({"bool": {"filter": [{"range": {"willing_to_travel_km": {"lt": LOCAL_KM}}},
                                           _within(shoot, LOCAL_KM)]}})
    should += [{"bool": {"filter": [{"term": {"willing_to_travel_km": r}}, _within(shoot, r)]}}
               for r in sorted(set(radii)) if r >= LOCAL_KM]
    return {"bool": {"should": should, "minimum_should_match": 1}}


def query_body(shoot: Shoot, radii: list[int], limit: int, offset: int) -> dict:
    flt, must_not = _base(shoot)
    flt.append(reach_clause(shoot, radii))
    scored = {"bool": {"filter": flt, "must_not": must_not,
                       "must": [{"constant_score": {"filter": {"match_all": {}}, "boost": 1.0}}],
                       "should": [{"constant_score": {"filter": {"term": {"skill_ids": s}}, "boost": 1.0}}
                                  for s in shoot.extra_skill_ids]}}
    query = {"function_score": {"query": scored, "boost_mode": "multiply", "functions": [{"gauss": {"location_grid": {
        "origin": {"lat": shoot.lat, "lon": shoot.lon}, "scale": f"{DECAY['scale_km']}km",
        "offset": f"{DECAY['offset_km']}km", "decay": DECAY["decay"]}}}]}}
    return {"query": query, "sort": ["_score", {"id": "asc"}], "from": offset, "size": limit,
            "track_total_hits": True, "_source": _SOURCE}


async def opensearch(shoot: Shoot, limit: int, offset: int) -> tuple[list[CrewHit], int]:
    client = get_client()
    flt, must_not = _base(shoot)
    radii_res = await client.search(index=alias_name("profiles"), body={
        "size": 0, "query": {"bool": {"filter": flt, "must_not": must_not}},
        "aggs": {"radii": {"terms": {"field": "willing_to_travel_km", "size": MAX_RADII + 1}}}})
    radii = [int(b["key"]) for b in radii_res["aggregations"]["radii"]["buckets"]]
    if len(radii) > MAX_RADII:
        raise TooManyRadii(f"{len(radii)} distinct travel radii")
    if not radii:
        return [], 0
    res = await client.search(index=alias_name("profiles"), body=query_body(shoot, radii, limit, offset))
    hits = [_hit(h["_source"], float(h["_score"]), shoot) for h in res["hits"]["hits"]]
    return hits, int(res["hits"]["total"]["value"])


async def run(session: AsyncSession, shoot: Shoot, limit: int, offset: int) -> tuple[list[CrewHit], int, str]:
    """OpenSearch when configured and healthy (the search breaker), PostGIS otherwise: (hits, total, engine)."""
    if opensearch_configured() and breaker().allow():
        try:
            hits, total = await opensearch(shoot, limit, offset)
            breaker().success()
            return hits, total, "opensearch"
        except TooManyRadii as exc:
            log.info("PostGIS answers this crew search: %s", exc)
        except (SearchConnectionError, TransportError, NotFoundError) as exc:
            breaker().failure()
            log.warning("OpenSearch unavailable for a crew search (%s); PostGIS answers", type(exc).__name__)
    hits, total = await postgis(session, shoot, limit, offset)
    return hits, total, "postgis"
