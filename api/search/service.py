"""Search rules: engine choice and fallback, cursors, response shaping, the privacy rule for people.

Engine choice: OpenSearch when OPENSEARCH_URL is set and the per-process circuit breaker is closed;
otherwise (not configured, unreachable, alias missing) the PostGIS engine answers the same query.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import math
import time
import uuid
from collections.abc import Awaitable
from dataclasses import asdict, replace
from functools import lru_cache
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from api.kernel.metrics import SEARCH_SECONDS
from api.kernel.problems import field_error, not_found
from api.kernel.settings import get_settings
from api.search.breaker import CircuitBreaker
from api.search.geojson import abbreviated, cluster_key_id, coord
from api.search.opensearch_engine import EngineUnavailable, OpenSearchEngine
from api.search.postgis_engine import PostgisEngine
from api.search.schemas import (MAX_OFFSET_WINDOW, ClusterQuery, Cluster, ClustersResponse,
                                EnginePage, FacetBucket, Point, ProjectFacets, ProjectHit, ProjectSearch,
                                ProjectSearchResponse, RecommendedHit, RecommendedResponse, RecommendQuery, SkillOut,
                                SuggestResponse, UserFacets, UserHit, UserSearch, UserSearchResponse)
from db.models import Skill

log = logging.getLogger("filmo.search")
EARTH_RADIUS_KM = 6371.0087714
# Distance decay of recommendations (OpenSearch gauss semantics; the PostGIS engine uses the same formula).
RECOMMEND_DECAY = {"scale_km": 25.0, "offset_km": 2.0, "decay": 0.5}
RECOMMEND_RADIUS_KM = 100.0

_breaker: CircuitBreaker | None = None


def breaker() -> CircuitBreaker:
    global _breaker
    if _breaker is None:
        _breaker = CircuitBreaker(get_settings().search_breaker_cooldown_s)
    return _breaker


async def _timed(engine: str, op: str, call: Awaitable[Any]) -> Any:
    """Await one engine call and count its time in SEARCH_SECONDS (/metrics: latency per engine)."""
    started, outcome = time.perf_counter(), "error"
    try:
        result = await call
        outcome = "ok"
        return result
    finally:
        SEARCH_SECONDS.labels(engine, op, outcome).observe(time.perf_counter() - started)


async def _run(session: AsyncSession, op: str, *args: Any) -> tuple[Any, str]:
    """Run `op` on OpenSearch if possible, else on PostGIS. Returns (result, engine name)."""
    from indexer.client import opensearch_configured

    if opensearch_configured() and breaker().allow():
        try:
            result = await _timed(OpenSearchEngine.name, op, getattr(OpenSearchEngine(), op)(*args))
        except EngineUnavailable as exc:
            if not exc.trip:
                log.debug("PostGIS answers this %s: %s", op, exc)
                postgis = getattr(PostgisEngine(session), op)(*args)
                return await _timed(PostgisEngine.name, op, postgis), PostgisEngine.name
            breaker().failure()
            log.warning("OpenSearch unavailable (%s); PostGIS answers for the next %.0f s", exc,
                        breaker().cooldown_s)
        else:
            breaker().success()
            return result, OpenSearchEngine.name
    return await _timed(PostgisEngine.name, op, getattr(PostgisEngine(session), op)(*args)), PostgisEngine.name


# ------------------------------------------------------------------ cursors

@lru_cache(maxsize=4096)
def _fingerprint(filters: Any, sort: str) -> str:
    """Filters are frozen dataclasses: the same search (every page of it, every client sending it) hashes once
    per process (JSON + SHA-256 per request was ~2 % of a search request's CPU under load)."""
    raw = json.dumps([asdict(filters), sort], sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:12]


def encode_cursor(filters: Any, sort: str, values: tuple) -> str:
    raw = json.dumps({"f": _fingerprint(filters, sort), "k": list(values)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, filters: Any, sort: str) -> tuple:
    """The sort values of the last hit seen; 422 on anything that is not a cursor of this very search."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        values = data["k"]
        fingerprint = data["f"]
        if not (isinstance(values, list) and len(values) == 2 and isinstance(values[0], (int, float))
                and not isinstance(values[0], bool) and isinstance(values[1], str)):
            raise ValueError
        uuid.UUID(values[1])
        if not math.isfinite(values[0]):
            raise ValueError
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise field_error("cursor", "malformed cursor; use next_cursor from a previous response") from None
    if fingerprint != _fingerprint(filters, sort):
        raise field_error("cursor", "this cursor belongs to a different search (filters or sort changed)")
    return (values[0], values[1])


def check_window(offset: int, limit: int) -> None:
    if offset + limit > MAX_OFFSET_WINDOW:
        raise field_error("page", f"page * limit may not exceed {MAX_OFFSET_WINDOW}; use cursor for deeper pages")


# ------------------------------------------------------------------ distances

def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def person_distance_km(grid_lat: float | None, grid_lon: float | None, centre: Point | None) -> int | None:
    """Whole km from the person's grid point, never below 1 (so "here" and "next door" look alike)."""
    if centre is None or grid_lat is None or grid_lon is None:
        return None
    return max(1, round(haversine_km(grid_lat, grid_lon, centre.lat, centre.lon)))


def _project_distance(doc: dict[str, Any], centre: Point | None) -> float | None:
    if centre is None or doc.get("latitude") is None or doc.get("longitude") is None:
        return None
    return round(haversine_km(doc["latitude"], doc["longitude"], centre.lat, centre.lon), 2)


# ------------------------------------------------------------------ facets

# Skill id -> name for facet buckets, per process. A skill is never renamed or deleted (the API has no such
# operation) and ids are never reused, so an entry never goes stale; the catalogue is a few hundred names.
# Saves the database round trip every faceted search made.
_SKILL_NAMES: dict[int, str] = {}


async def _skill_names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    missing = ids - _SKILL_NAMES.keys()
    if missing:
        rows = await session.execute(select(Skill.id, Skill.name).where(Skill.id.in_(missing)))
        _SKILL_NAMES.update(rows.all())
    return {i: _SKILL_NAMES[i] for i in ids if i in _SKILL_NAMES}


async def _buckets(session: AsyncSession, facets: dict[str, list[tuple[Any, int]]], names: list[str]
                   ) -> dict[str, list[FacetBucket]]:
    skill_names = await _skill_names(session, {k for k, _ in facets.get("skills", [])})
    out: dict[str, list[FacetBucket]] = {}
    for name in names:
        out[name] = [FacetBucket(key=k, count=n, name=skill_names.get(k) if name == "skills" else None)
                     for k, n in facets.get(name, [])]
    return out


# ------------------------------------------------------------------ endpoints

# One pydantic-core call validates a page of hits (a call per hit cost ~10 % of a search request under load).
_PROJECT_HITS = TypeAdapter(list[ProjectHit])


def _project_hit(doc: dict[str, Any], centre: Point | None) -> dict[str, Any]:
    return {**doc, "distance_km": _project_distance(doc, centre)}


async def search_projects(session: AsyncSession, q: ProjectSearch, page: int | None
                          ) -> tuple[ProjectSearchResponse, str]:
    check_window(q.offset, q.limit)
    result, engine = await _run(session, "search_projects", _one_more(q))
    more = _drop_extra(result, q)
    facets = None
    if result.facets is not None:
        facets = ProjectFacets(**await _buckets(session, result.facets,
                                                ["skills", "project_types", "payment_types", "cities"]))
    hits = _PROJECT_HITS.validate_python([_project_hit(h.doc, q.filters.centre) for h in result.hits])
    return ProjectSearchResponse(results=hits, total=result.total, total_relation=result.total_relation, page=page,
                                 limit=q.limit, sort=q.sort, next_cursor=_next_cursor(result, q, more),
                                 facets=facets), engine


def _one_more(q: ProjectSearch | UserSearch) -> ProjectSearch | UserSearch:
    """A cursor page asks the engine for one hit more than it shows: its total counts every match, not those
    after the cursor, so only that extra hit tells whether a next page exists (a cursor handed out on the
    last page led to an empty page). Offset pages know from the total."""
    return replace(q, limit=q.limit + 1) if q.after is not None else q


def _drop_extra(result: EnginePage, q: ProjectSearch | UserSearch) -> bool | None:
    """Trim the probe hit of `_one_more`: True/False = a next page exists or not; None = not probed."""
    if q.after is None:
        return None
    more = len(result.hits) > q.limit
    del result.hits[q.limit:]
    return more


def _next_cursor(result: EnginePage, q: ProjectSearch | UserSearch, more: bool | None) -> str | None:
    if more is False or len(result.hits) < q.limit or not result.hits:
        return None
    seen = (q.offset if q.after is None else 0) + len(result.hits)
    if q.after is None and result.total_relation == "eq" and seen >= result.total:
        return None
    return encode_cursor(q.filters, q.sort, result.hits[-1].sort)


async def search_users(session: AsyncSession, q: UserSearch, page: int | None) -> tuple[UserSearchResponse, str]:
    check_window(q.offset, q.limit)
    result, engine = await _run(session, "search_users", _one_more(q))
    more = _drop_extra(result, q)
    facets = None
    if result.facets is not None:
        facets = UserFacets(**await _buckets(session, result.facets, ["skills", "cities", "professions", "is_actor"]))
    hits = []
    for h in result.hits:
        doc = h.doc
        # Engines never hand out a person's exact point, only the snapped grid point (as public as the
        # profile view's rounded coordinates); the whole-km distance is computed from it.
        distance = person_distance_km(doc.get("grid_lat"), doc.get("grid_lon"), q.filters.centre)
        hits.append(UserHit(id=doc["id"], user_id=doc["user_id"], name=doc["name"],
                            profession=doc.get("profession"), is_actor=bool(doc.get("is_actor")),
                            city=doc.get("city"), state=doc.get("state"), country=doc.get("country"),
                            years_of_experience=doc.get("years_of_experience"),
                            profile_photo_url=doc.get("profile_photo_url"),
                            skills=[SkillOut(**s) for s in doc.get("skills") or []],
                            distance_km=distance, created_at=doc["created_at"]))
    return UserSearchResponse(results=hits, total=result.total, total_relation=result.total_relation, page=page,
                              limit=q.limit, sort=q.sort, next_cursor=_next_cursor(result, q, more),
                              facets=facets), engine


async def project_clusters(session: AsyncSession, q: ClusterQuery, zoom: int) -> tuple[ClustersResponse, str]:
    result, engine = await _run(session, "project_clusters", q)
    clusters = [Cluster(**{**h.doc, "id": cluster_key_id(h.doc["key"]), "point_count": h.doc["count"],
                           "centroid": {k: coord(v) for k, v in h.doc["centroid"].items()},
                           "bounds": {k: coord(v) for k, v in h.doc["bounds"].items()}}) for h in result.hits]
    return ClustersResponse(zoom=zoom, precision=q.precision, total=result.total, clusters=clusters), engine


def clusters_geojson(resp: ClustersResponse) -> dict[str, Any]:
    """RFC 7946 FeatureCollection: one Point per cluster at its centroid ([lon, lat]), bounds as the feature bbox,
    the numeric id and supercluster's properties (cluster, cluster_id, point_count, point_count_abbreviated)
    besides `key` and `count` (what clients of the first version read)."""
    features = []
    for c in resp.clusters:
        features.append({
            "type": "Feature",
            "id": c.id,
            "bbox": [c.bounds["min_lon"], c.bounds["min_lat"], c.bounds["max_lon"], c.bounds["max_lat"]],
            "geometry": {"type": "Point", "coordinates": [c.centroid["lon"], c.centroid["lat"]]},
            "properties": {"cluster": True, "cluster_id": c.id, "point_count": c.point_count,
                           "point_count_abbreviated": abbreviated(c.point_count), "key": c.key, "count": c.count,
                           "project_ids": [str(i) for i in c.project_ids] if c.project_ids is not None else None},
        })
    return {"type": "FeatureCollection", "features": features,
            "properties": {"zoom": resp.zoom, "precision": resp.precision, "total": resp.total}}


async def suggest(session: AsyncSession, q: str, size: int) -> tuple[SuggestResponse, str]:
    result, engine = await _run(session, "suggest", q, size)
    skills = await _suggest_skills(session, q, size)
    return SuggestResponse(q=q, projects=result["projects"], people=result["people"], skills=skills), engine


async def _suggest_skills(session: AsyncSession, q: str, size: int) -> list[SkillOut]:
    # Skills live only in PostGIS: prefix matches first, then trigram similarity (pg_trgm).
    rows = await session.execute(text(
        "SELECT id, name, category FROM skills "
        "WHERE name ILIKE :contains ESCAPE '\\' OR similarity(name, :q) > 0.3 "
        "ORDER BY (name ILIKE :prefix ESCAPE '\\') DESC, similarity(name, :q) DESC, name, id LIMIT :size"),
        {"q": q, "prefix": _like_escape(q) + "%", "contains": "%" + _like_escape(q) + "%", "size": size})
    return [SkillOut(id=r.id, name=r.name, category=r.category) for r in rows]


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def recommended(session: AsyncSession, user_id: uuid.UUID, radius_km: float | None, page: int, limit: int
                      ) -> tuple[RecommendedResponse, str]:
    check_window((page - 1) * limit, limit)
    row = (await session.execute(text(
        "SELECT skill_ids, ST_Y(location::geometry) AS lat, ST_X(location::geometry) AS lon "
        "FROM user_profiles WHERE user_id = :user_id"), {"user_id": user_id})).first()
    if row is None:
        raise not_found("Profile (create one to get recommendations)")
    skill_ids = tuple(sorted(set(row.skill_ids or [])))
    origin = Point(float(row.lat), float(row.lon)) if row.lat is not None else None
    if not skill_ids:
        return RecommendedResponse(results=[], total=0, page=page, limit=limit), "none"
    q = RecommendQuery(user_id=user_id, skill_ids=skill_ids, origin=origin,
                       radius_km=radius_km if radius_km is not None else RECOMMEND_RADIUS_KM,
                       limit=limit, offset=(page - 1) * limit)
    result, engine = await _run(session, "recommended", q, RECOMMEND_DECAY)
    mine = set(skill_ids)
    hits = []
    for h in result.hits:
        doc = _project_hit(h.doc, origin)
        matching = [r for r in doc["roles"] if r["skill_id"] in mine and r["slots_filled"] < r["slots_available"]]
        hits.append(RecommendedHit.model_validate({**doc, "score": round(h.score or 0.0, 6),
                                                   "matching_roles": matching}))
    return RecommendedResponse(results=hits, total=result.total, page=page, limit=limit), engine

