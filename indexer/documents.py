"""Search documents rebuilt from PostGIS, one query per batch (never one per row).

A `Doc` is what the index should hold for one row: `source` is the document, or None when the row is
missing or not searchable (the index must then not hold it). `version` is the row's `search_version`,
written as the external version; a missing row gets `DELETED_VERSION` so that no delayed write of an
older state can bring its document back.
"""
from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import date, datetime

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from api.kernel.location import snap
from api.kernel.reach_cells import person_keys

# Higher than any real search_version; ids are UUIDs and never come back once deleted.
DELETED_VERSION = 2**62


@dataclass(slots=True)
class Doc:
    id: str
    version: int
    source: dict | None


_PROJECT_SELECT = """
SELECT p.id, p.creator_id, p.name, p.description, p.project_type, p.status, p.is_fully_staffed,
       p.city, p.state, p.country,
       ST_Y(p.location::geometry) AS lat, ST_X(p.location::geometry) AS lon,
       p.open_skill_ids, p.open_payment_types, p.release_platform, p.estimated_completion, p.created_at, p.updated_at,
       p.search_version, r.roles, (SELECT json_agg(json_build_object('gte', lower(d), 'lte', upper(d) - 1) ORDER BY lower(d))::text
        FROM unnest(p.shoot_dates) d) AS shoot_dates
FROM projects p
LEFT JOIN LATERAL (
    SELECT json_agg(json_build_object(
               'id', pr.id, 'skill_id', pr.skill_id, 'role_title', pr.role_title, 'description', pr.description,
               'slots_available', pr.slots_available, 'slots_filled', pr.slots_filled,
               'is_filled', pr.slots_filled >= pr.slots_available, 'payment_type', pr.payment_type,
               'payment_amount', pr.payment_amount, 'payment_details', pr.payment_details,
               'shoot_dates', (SELECT json_agg(json_build_object('gte', lower(d), 'lte', upper(d) - 1) ORDER BY lower(d))
                               FROM unnest(pr.shoot_dates) d))
           ORDER BY pr.created_at, pr.id)::text AS roles
    FROM project_roles pr
    WHERE pr.project_id = p.id AND pr.removed_at IS NULL
) r ON true
"""

_PROFILE_SELECT = """
SELECT pf.id, pf.user_id, pf.name, pf.profession, pf.bio, pf.is_actor, pf.gender, pf.city, pf.state, pf.country,
       ST_Y(pf.location::geometry) AS lat, ST_X(pf.location::geometry) AS lon,
       pf.skill_ids, pf.years_of_experience, pf.profile_photo_url, pf.created_at, pf.search_version,
       pf.willing_to_travel_km, (SELECT json_agg(json_build_object('gte', lower(d), 'lte', upper(d) - 1)
                                                 ORDER BY lower(d))::text FROM unnest(pf.unavailable) d) AS unavailable,
       u.is_active,
       (SELECT json_agg(json_build_object('id', s.id, 'name', s.name, 'category', s.category)
                        ORDER BY s.name, s.id)::text
        FROM skills s WHERE s.id = ANY(pf.skill_ids)) AS skills
FROM user_profiles pf
JOIN users u ON u.id = pf.user_id
"""

# What makes a row searchable, as SQL (used by the full scan and the counts) ...
SEARCHABLE_SQL = {"projects": "p.status <> 'disposed'", "profiles": "u.is_active"}
_SELECT = {"projects": _PROJECT_SELECT, "profiles": _PROFILE_SELECT}
_ALIAS = {"projects": "p", "profiles": "pf"}


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _put(doc: dict, key: str, value) -> None:
    """Absent rather than null: keeps documents small and `exists` queries meaningful."""
    if value is not None:
        doc[key] = value


def _location(doc: dict, lat: float | None, lon: float | None) -> None:
    if lat is not None and lon is not None:
        doc["location"] = {"lat": lat, "lon": lon}


def project_source(row) -> dict | None:
    # ... and the same rule in Python for rows fetched by id.
    if row.status == "disposed":
        return None
    roles = orjson.loads(row.roles) if row.roles else []
    open_roles = [r for r in roles if not r["is_filled"]]
    amounts = [float(r["payment_amount"]) for r in open_roles if r["payment_amount"] is not None]
    doc = {
        "id": str(row.id), "creator_id": str(row.creator_id), "name": row.name,
        "project_type": row.project_type, "status": row.status, "is_fully_staffed": row.is_fully_staffed,
        "skill_ids": sorted({r["skill_id"] for r in roles}),
        # The row's own copies (kept by the project service) so both search engines filter on the same facts.
        "open_skill_ids": sorted(set(row.open_skill_ids or [])),
        "payment_types": sorted(set(row.open_payment_types or [])),
        "roles": [{**r, "payment_amount": float(r["payment_amount"]) if r["payment_amount"] is not None else None}
                  for r in roles],
        "created_at": _iso(row.created_at), "updated_at": _iso(row.updated_at),
        "search_version": row.search_version,
    }
    for key in ("description", "city", "state", "country", "release_platform"):
        _put(doc, key, getattr(row, key))
    _put(doc, "estimated_completion", _iso(row.estimated_completion))
    # Shoot dates (inclusive day ranges; a date_range field, several values): "fits my availability" filters on them.
    _put(doc, "shoot_dates", orjson.loads(row.shoot_dates) if row.shoot_dates else None)
    _put(doc, "max_payment_amount", max(amounts) if amounts else None)
    _location(doc, row.lat, row.lon)
    return doc


def profile_source(row) -> dict | None:
    if not row.is_active:
        return None
    doc = {
        "id": str(row.id), "user_id": str(row.user_id), "name": row.name, "is_actor": row.is_actor,
        "skill_ids": sorted(set(row.skill_ids or [])),
        "skills": orjson.loads(row.skills) if row.skills else [],
        "created_at": _iso(row.created_at), "search_version": row.search_version,
    }
    for key in ("profession", "bio", "gender", "city", "state", "country", "years_of_experience",
                "profile_photo_url"):
        _put(doc, key, getattr(row, key))
    # Days booked or unavailable (inclusive ranges) and how far they travel: "who can work my shoot".
    _put(doc, "unavailable", orjson.loads(row.unavailable) if row.unavailable else None)
    doc["willing_to_travel_km"] = row.willing_to_travel_km
    _location(doc, row.lat, row.lon)
    if row.lat is not None and row.lon is not None:
        # People are searched by their point snapped to the ~1 km grid, never by the exact one.
        doc["location_grid"] = {"lat": snap(row.lat), "lon": snap(row.lon)}
        # "Who can work my shoot": per skill, the cells the person's own reach may touch (api/kernel/reach_cells).
        doc["reach_keys"] = person_keys(doc["skill_ids"], doc["location_grid"]["lat"], doc["location_grid"]["lon"],
                                        row.willing_to_travel_km or 0)
    return doc


_SOURCE = {"projects": project_source, "profiles": profile_source}


async def load_docs(session: AsyncSession, kind: str, ids: Iterable[uuid.UUID | str]) -> list[Doc]:
    """The documents for these ids (one query); a missing id yields a delete."""
    wanted = {str(i) for i in ids}
    if not wanted:
        return []
    alias = _ALIAS[kind]
    rows = await session.execute(text(f"{_SELECT[kind]} WHERE {alias}.id = ANY(CAST(:ids AS uuid[]))"),
                                 {"ids": list(wanted)})
    build = _SOURCE[kind]
    docs = [Doc(str(row.id), row.search_version, build(row)) for row in rows]
    found = {d.id for d in docs}
    docs.extend(Doc(i, DELETED_VERSION, None) for i in sorted(wanted - found))
    return docs


async def scan_docs(session: AsyncSession, kind: str, batch_size: int,
                    after: str | None = None) -> AsyncIterator[list[Doc]]:
    """Every searchable row with an id above `after` (a resumed reindex's checkpoint), in id order, `batch_size`
    at a time (keyset pagination: no OFFSET)."""
    alias = _ALIAS[kind]
    build = _SOURCE[kind]
    while True:
        where = SEARCHABLE_SQL[kind] + (f" AND {alias}.id > CAST(:after AS uuid)" if after else "")
        params = {"limit": batch_size, **({"after": after} if after else {})}
        rows = (await session.execute(text(f"{_SELECT[kind]} WHERE {where} ORDER BY {alias}.id LIMIT :limit"),
                                      params)).all()
        if not rows:
            return
        yield [Doc(str(row.id), row.search_version, build(row)) for row in rows]
        after = str(rows[-1].id)
        if len(rows) < batch_size:
            return


async def count_searchable(session: AsyncSession, kind: str) -> int:
    table = {"projects": "projects p", "profiles": "user_profiles pf JOIN users u ON u.id = pf.user_id"}[kind]
    return int((await session.execute(text(f"SELECT count(*) FROM {table} WHERE {SEARCHABLE_SQL[kind]}"))).scalar())


async def searchable_versions(session: AsyncSession, kind: str) -> dict[str, int]:
    """id -> search_version of every searchable row (for verify and the reindex catch-up)."""
    table = {"projects": "projects p", "profiles": "user_profiles pf JOIN users u ON u.id = pf.user_id"}[kind]
    alias = _ALIAS[kind]
    rows = await session.execute(text(f"SELECT {alias}.id::text, {alias}.search_version FROM {table} "
                                      f"WHERE {SEARCHABLE_SQL[kind]}"))
    return {row[0]: int(row[1]) for row in rows}


_TABLE = {"projects": "projects", "profiles": "user_profiles"}


async def bump_versions(session: AsyncSession, kind: str, index_versions: dict[str, int | None]) -> None:
    """Move rows' search_version past what the index holds (a document or tombstone written outside the normal
    flow), so that a repair write can win. Versions only ever grow, exactly as `record_change` does."""
    if not index_versions:
        return
    ids = list(index_versions)
    await session.execute(text(
        f"UPDATE {_TABLE[kind]} t SET search_version = greatest(t.search_version, v.current) + 1 "
        "FROM unnest(CAST(:ids AS uuid[]), CAST(:versions AS bigint[])) AS v(id, current) WHERE t.id = v.id"),
        {"ids": ids, "versions": [index_versions[i] or 0 for i in ids]})
