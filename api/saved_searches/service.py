"""Saved searches and their alerts.

A person saves any project search they can run (the filters of /search/projects), names it and chooses
instant or daily alerts. When a changed project matches (the indexer percolates every changed project
document against the saved searches, indexer/percolator.py; without OpenSearch `postgis_matches` finds
them in SQL), `deliver` tells each owner once:

- never twice for the same project and saved search (the saved_search_alerts primary key, inserted in
  the notification's transaction: concurrent deliveries of one match cannot both win);
- never about a project the person owns, belongs to or applied to;
- never someone who cannot see it: an archived (disposed) project, an inactive account, or a block
  between the person and the project's creator (either direction).

A project "appears" in a search when it is created, reopened, or gains an open role (the default
filters ask for active projects with an open role); an edit that makes it match counts the same way,
and after that the pair never alerts again. One person with several matching searches gets one
notification naming them all.
"""
from __future__ import annotations

import logging
import math
import uuid

from geoalchemy2.elements import WKTElement
from redis.exceptions import RedisError
from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from api.kernel.clock import utcnow
from api.kernel.paging import PageParams
from api.kernel.problems import Problem, conflict, field_error, not_found
from api.notifications import service as notifications
from api.saved_searches.schemas import (MAX_SAVED_SEARCHES, SavedSearchIn, SavedSearchOut, SavedSearchUpdate,
                                        SearchFilters)
from api.search.opensearch_engine import _bool, _project_filters
from api.search.postgis_engine import _project_where
from api.search import reach as person_reach
from api.search.schemas import BBox, Point, ProjectFilters, Reach
from api.search.textmatch import words
from db.models import SavedSearch, User
from indexer.outbox import record_change
from indexer.percolator import area_of_circle
from realtime import presence

KIND = "saved_search_match"
log = logging.getLogger("filmo.alerts")


# ------------------------------------------------------------------ filters


def _text(value: str | None) -> str | None:
    value = (value or "").strip()
    return value if words(value) else None


def _bbox(raw: str) -> BBox:
    field = "filters.bbox"
    try:
        values = [float(p) for p in raw.split(",")]
    except ValueError:
        values = []
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise field_error(field, "expected four numbers: min_lon,min_lat,max_lon,max_lat")
    min_lon, min_lat, max_lon, max_lat = values
    if not (-180 <= min_lon <= 180 and -180 <= max_lon <= 180):
        raise field_error(field, "longitudes must be within -180..180")
    if not (-90 <= min_lat <= 90 and -90 <= max_lat <= 90):
        raise field_error(field, "latitudes must be within -90..90")
    if min_lon > max_lon or min_lat > max_lat:
        raise field_error(field, "inverted box: min_lon must be <= max_lon and min_lat <= max_lat")
    return BBox(min_lon, min_lat, max_lon, max_lat)


def to_filters(f: SearchFilters, reach: Reach | None = None) -> ProjectFilters:
    """The search engines' filters, with the same rules as GET /search/projects (`reach`: the owner's, for
    fits_my_availability)."""
    if (f.latitude is None) != (f.longitude is None):
        missing = "longitude" if f.longitude is None else "latitude"
        raise field_error(f"filters.{missing}", "latitude and longitude must be given together")
    if f.max_distance_km is not None and f.latitude is None:
        raise field_error("filters.max_distance_km", "a radius needs a centre: give latitude and longitude")
    return ProjectFilters(
        query=_text(f.query), city=_text(f.city),
        project_types=tuple(sorted({t.value for t in f.project_type})),
        skill_ids=tuple(sorted(set(f.skill_ids))), match=f.match,
        payment_types=tuple(sorted({t.value for t in f.payment_type})),
        statuses=tuple(sorted(set(f.status))) if f.status else None,
        centre=Point(f.latitude, f.longitude) if f.latitude is not None else None, radius_km=f.max_distance_km,
        bbox=_bbox(f.bbox) if f.bbox is not None else None, reach=reach if f.fits_my_availability else None)


def _area(f: ProjectFilters) -> WKTElement | None:
    """The pre-filter box (both engines): the bbox, or a box around centre + radius; None = anywhere."""
    boxes = []
    if f.bbox is not None:
        boxes.append((f.bbox.min_lon, f.bbox.min_lat, f.bbox.max_lon, f.bbox.max_lat))
    circles = [(f.centre.lat, f.centre.lon, f.radius_km)] if f.centre is not None and f.radius_km is not None else []
    if f.reach is not None:
        circles.append((f.reach.lat, f.reach.lon, f.reach.km))
    for lat, lon, km in circles:
        circle = area_of_circle(lat, lon, km)
        if circle is not None:
            boxes.append((circle["min_lon"], circle["min_lat"], circle["max_lon"], circle["max_lat"]))
    if not boxes:
        return None
    # Both must hold: the intersection (an empty one still pre-filters correctly to "nothing").
    min_lon, min_lat = max(b[0] for b in boxes), max(b[1] for b in boxes)
    max_lon, max_lat = min(b[2] for b in boxes), min(b[3] for b in boxes)
    if min_lon > max_lon or min_lat > max_lat:
        min_lon = max_lon = min_lat = max_lat = 0.0
    return WKTElement(f"POLYGON(({min_lon} {min_lat}, {max_lon} {min_lat}, {max_lon} {max_lat}, {min_lon} {max_lat}, "
                      f"{min_lon} {min_lat}))", srid=4326)


def percolator_query(f: ProjectFilters) -> dict:
    """The OpenSearch engine's own query for these filters (one definition of a match)."""
    flt, must, must_not = _project_filters(f)
    return _bool(flt, must, must_not)


# ------------------------------------------------------------------ CRUD


def _out(s: SavedSearch) -> SavedSearchOut:
    return SavedSearchOut(id=s.id, name=s.name, filters=SearchFilters.model_validate(s.filters), frequency=s.frequency,
                          created_at=s.created_at, updated_at=s.updated_at)


async def _apply_filters(session: AsyncSession, s: SavedSearch, body: SearchFilters, user: User) -> None:
    reach = await person_reach.of_person(session, user) if body.fits_my_availability else None
    f = to_filters(body, reach)
    s.fits_my_availability = body.fits_my_availability
    s.filters = body.model_dump(mode="json", exclude_defaults=True)
    s.query = percolator_query(f)
    s.project_types = list(f.project_types)
    s.area = _area(f)


async def create(session: AsyncSession, user: User, body: SavedSearchIn) -> SavedSearchOut:
    count = await session.scalar(select(func.count()).select_from(SavedSearch).where(SavedSearch.user_id == user.id))
    if (count or 0) >= MAX_SAVED_SEARCHES:
        raise conflict(f"You have {MAX_SAVED_SEARCHES} saved searches, the most allowed: delete one first")
    now = utcnow()
    s = SavedSearch(user_id=user.id, name=body.name, frequency=body.frequency, created_at=now, updated_at=now)
    await _apply_filters(session, s, body.filters, user)
    session.add(s)
    await session.flush()
    await record_change(session, "saved_search", s.id)
    return _out(s)


async def _mine(session: AsyncSession, user: User, saved_search_id: uuid.UUID) -> SavedSearch:
    s = await session.scalar(select(SavedSearch).where(SavedSearch.id == saved_search_id,
                                                       SavedSearch.user_id == user.id))
    if s is None:  # someone else's is not found either
        raise not_found("Saved search")
    return s


async def get(session: AsyncSession, user: User, saved_search_id: uuid.UUID) -> SavedSearchOut:
    return _out(await _mine(session, user, saved_search_id))


async def list_mine(session: AsyncSession, user: User, page: PageParams) -> tuple[list[SavedSearchOut], int]:
    total = await session.scalar(select(func.count()).select_from(SavedSearch).where(SavedSearch.user_id == user.id))
    rows = await session.scalars(select(SavedSearch).where(SavedSearch.user_id == user.id)
                                 .order_by(SavedSearch.created_at.desc(), SavedSearch.id)
                                 .offset(page.offset).limit(page.limit))
    return [_out(s) for s in rows], total or 0


async def update(session: AsyncSession, user: User, saved_search_id: uuid.UUID,
                 body: SavedSearchUpdate) -> SavedSearchOut:
    s = await _mine(session, user, saved_search_id)
    if body.name is not None:
        s.name = body.name
    if body.frequency is not None:
        s.frequency = body.frequency
    if body.filters is not None:
        await _apply_filters(session, s, body.filters, user)
    s.updated_at = utcnow()
    await session.flush()
    await record_change(session, "saved_search", s.id)
    await session.refresh(s)
    return _out(s)


async def follow_availability(session: AsyncSession, user: User) -> int:
    """The person's availability or home changed: their `fits_my_availability` searches take the new reach
    (query and pre-filter rewritten, the percolator document follows through the outbox). Returns how many."""
    searches = list(await session.scalars(select(SavedSearch).where(SavedSearch.user_id == user.id,
                                                                    SavedSearch.fits_my_availability)))
    for s in searches:
        await _apply_filters(session, s, SearchFilters.model_validate(s.filters), user)
        s.updated_at = utcnow()
        await session.flush()
        await record_change(session, "saved_search", s.id)
    return len(searches)


async def remove(session: AsyncSession, user: User, saved_search_id: uuid.UUID) -> None:
    s = await _mine(session, user, saved_search_id)
    await record_change(session, "saved_search", s.id)  # the percolator document goes too
    await session.execute(delete(SavedSearch).where(SavedSearch.id == s.id).execution_options(synchronize_session=False))


# ------------------------------------------------------------------ matching without OpenSearch

_CANDIDATES = text("""
SELECT s.id, s.filters, s.user_id, s.fits_my_availability FROM saved_searches s JOIN projects p ON p.id = :pid
WHERE (cardinality(s.project_types) = 0 OR p.project_type = ANY(s.project_types))
  AND (s.area IS NULL OR (p.location IS NOT NULL AND s.area && p.location::geometry))
""")


async def postgis_matches(session: AsyncSession, project_id: uuid.UUID) -> list[uuid.UUID]:
    """The saved searches this project matches, by the PostGIS engine's own filter SQL: the same pre-filter
    as the percolator (type, area; GIN and GiST indexed), then each candidate's full filter on this one row.
    Correct and slower than the percolator: one small query per candidate."""
    matched = []
    for row in (await session.execute(_CANDIDATES, {"pid": project_id})).all():
        params: dict = {"pid": project_id}
        reach = None
        if row.fits_my_availability:
            try:  # the owner's reach now (the percolator holds the same: it is rewritten on every change)
                reach = await person_reach.of_person(session, User(id=row.user_id))
            except Problem:
                continue  # no located profile any more: nothing fits
        where = _project_where(to_filters(SearchFilters.model_validate(row.filters), reach), params)
        sql = f"SELECT EXISTS (SELECT 1 FROM projects p WHERE p.id = :pid AND {' AND '.join(where)})"
        if (await session.execute(text(sql), params)).scalar():
            matched.append(row.id)
    return matched


# ------------------------------------------------------------------ delivering alerts

_DELIVERABLE = text("""
SELECT s.id, s.user_id, s.name, s.frequency, p.name AS project_name, p.project_type, p.city
FROM saved_searches s
JOIN users u ON u.id = s.user_id AND u.is_active
JOIN projects p ON p.id = :pid
WHERE s.id = ANY(CAST(:ids AS uuid[]))
  AND p.status <> 'disposed'
  AND p.creator_id <> s.user_id
  AND NOT EXISTS (SELECT 1 FROM project_members m WHERE m.project_id = p.id AND m.user_id = s.user_id)
  AND NOT EXISTS (SELECT 1 FROM applications a WHERE a.project_id = p.id AND a.applicant_id = s.user_id)
  AND NOT EXISTS (SELECT 1 FROM user_blocks b
                  WHERE (b.blocker_id = s.user_id AND b.blocked_id = p.creator_id)
                     OR (b.blocker_id = p.creator_id AND b.blocked_id = s.user_id))
  AND NOT EXISTS (SELECT 1 FROM saved_search_alerts x WHERE x.saved_search_id = s.id AND x.project_id = p.id)
ORDER BY s.user_id, s.created_at, s.id
""")


_CLAIM = text("""
INSERT INTO saved_search_alerts (saved_search_id, project_id)
SELECT s, :pid FROM unnest(CAST(:ids AS uuid[])) AS s
ON CONFLICT (saved_search_id, project_id) DO NOTHING
RETURNING saved_search_id
""")


async def connected_first(session: AsyncSession,
                          saved_search_ids: list[uuid.UUID]) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    """These saved searches split by whether their owner has a socket open right now (all of a person's searches
    on one side: one notification per person). The alert job delivers the first part in a transaction of its
    own, so a connected person's alert never waits for the thousands of notifications of people who are not
    there to be verified and stored (~0.7 s for ~5,000 on this machine, bench/results/alerts.md)."""
    rows = (await session.execute(text("SELECT id, user_id FROM saved_searches WHERE id = ANY(CAST(:ids AS uuid[]))"),
                                  {"ids": [str(i) for i in saved_search_ids]})).all()
    try:
        online = await presence.online_among(sorted({str(r.user_id) for r in rows}))
    except RedisError:  # presence unknown: everyone in one batch (the alerts are stored all the same)
        log.warning("presence unavailable: saved-search alerts delivered without the connected first")
        online = set()
    return [r.id for r in rows if str(r.user_id) in online], [r.id for r in rows if str(r.user_id) not in online]


async def deliver(session: AsyncSession, project_id: uuid.UUID, saved_search_ids: list[uuid.UUID] | None) -> int:
    """Tell the owners of these matching saved searches (None: find them in SQL). Returns notifications made."""
    if saved_search_ids is None:
        saved_search_ids = await postgis_matches(session, project_id)
    if not saved_search_ids:
        return 0
    rows = (await session.execute(_DELIVERABLE, {"pid": project_id, "ids": [str(i) for i in saved_search_ids]})).all()
    if not rows:
        return 0
    # The primary key decides: a concurrent delivery of the same match inserts nothing here. One statement
    # for every pair, the ids as one array: a project can match thousands of saved searches.
    won = set(await session.scalars(_CLAIM, {"pid": project_id, "ids": [str(r.id) for r in rows]}))
    by_user: dict[uuid.UUID, list] = {}
    for row in rows:
        if row.id in won:
            by_user.setdefault(row.user_id, []).append(row)
    items = []
    for user_id, searches in by_user.items():
        first = searches[0]
        names = ", ".join(f"“{s.name}”" for s in searches)
        where = f" in {first.city}" if first.city else ""
        items.append({"user_id": user_id, "kind": KIND, "title": f"New project for {names}: {first.project_name}",
                      "body": f"A {first.project_type.replace('_', ' ')}{where} matches your saved search.",
                      "project_id": project_id,
                      "data": {"saved_search_ids": [str(s.id) for s in searches],
                               "saved_search_names": [s.name for s in searches]},
                      "email": "instant" if any(s.frequency == "instant" for s in searches) else "daily"})
    made = await notifications.notify_many(session, items)
    pairs = [(s.id, n.id) for n in made for s in by_user[n.user_id]]
    if pairs:
        await session.execute(text(
            "UPDATE saved_search_alerts a SET notification_id = v.nid "
            "FROM unnest(CAST(:sids AS uuid[]), CAST(:nids AS bigint[])) AS v(sid, nid) "
            "WHERE a.project_id = :pid AND a.saved_search_id = v.sid"),
            {"sids": [str(p[0]) for p in pairs], "nids": [p[1] for p in pairs], "pid": project_id})
    made = len(made)
    return made
