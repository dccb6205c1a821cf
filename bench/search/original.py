"""The original product's search method, reproduced for comparison (not used by Filmo).

It asked the database for every project with an open role needing the skill, loaded each one (and its
roles) into Python objects, computed the Haversine distance in Python for every row, dropped the ones
outside the radius, sorted, and sliced the requested page. (Its eager load put every matched id into
one IN list, which is what failed past 32,767 matches; here the ids go in chunks so that the timing can
still be taken on large matches.)
"""
from __future__ import annotations

import math

from geoalchemy2.shape import to_shape
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Project, ProjectRole

IN_LIST_LIMIT = 30_000


def haversine(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    r = 6371.0
    dlat, dlon = math.radians(lat2 - lat1), math.radians(lon2 - lon1)
    a = (math.sin(dlat / 2) ** 2
         + math.cos(math.radians(lat1)) * math.cos(math.radians(lat2)) * math.sin(dlon / 2) ** 2)
    return 2 * r * math.asin(math.sqrt(a))


async def search_projects(session: AsyncSession, *, skill_id: int, latitude: float, longitude: float,
                          max_distance_km: float, page: int = 1, limit: int = 20) -> tuple[list[dict], int]:
    """(page of hits, number of rows loaded into Python)."""
    stmt = (select(Project)
            .join(ProjectRole, ProjectRole.project_id == Project.id)
            .where(Project.status == "active", Project.is_fully_staffed.is_(False), ProjectRole.skill_id == skill_id,
                   ProjectRole.slots_filled < ProjectRole.slots_available, ProjectRole.removed_at.is_(None))
            .distinct())
    projects = (await session.execute(stmt)).scalars().all()
    roles: dict = {}
    ids = [p.id for p in projects]
    for start in range(0, len(ids), IN_LIST_LIMIT):
        rows = await session.execute(select(ProjectRole).where(ProjectRole.project_id.in_(ids[start:start + IN_LIST_LIMIT])))
        for role in rows.scalars():
            roles.setdefault(role.project_id, []).append(role)
    results = []
    for p in projects:
        if p.location is None:
            continue
        point = to_shape(p.location)
        d = haversine(latitude, longitude, point.y, point.x)
        if d <= max_distance_km:
            results.append({"id": str(p.id), "name": p.name, "description": p.description,
                            "project_type": p.project_type, "city": p.city, "state": p.state, "country": p.country,
                            "distance_km": round(d, 2),
                            "roles": [{"id": str(r.id), "skill_id": r.skill_id, "role_title": r.role_title,
                                       "slots_available": r.slots_available, "slots_filled": r.slots_filled,
                                       "payment_type": r.payment_type} for r in roles.get(p.id, [])]})
    results.sort(key=lambda x: x["distance_km"])
    start = (page - 1) * limit
    return results[start:start + limit], len(projects)
