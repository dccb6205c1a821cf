"""Shoot dates, availability, and "who can work my shoot".

- Projects and roles have optional shoot days (`datemultirange`: one range or several; a role without its
  own takes the project's). Admins and parents set them; everyone who may see the project reads them.
- A person keeps the days they are booked or unavailable (`user_profiles.unavailable`, GiST) and how far
  they travel (`willing_to_travel_km`; below LOCAL_KM, 0 = "local only", reaches LOCAL_KM).
- "Who can work my shoot" (a role's admins and parents only): people with the role's skill, free on every
  shoot day of the role (no unavailable day intersects them), whose home is within *their own* reach of
  the shoot location, measured from their privacy-snapped point (~1 km grid, `location_grid`) and shown in
  whole km; ranked by (1 + extra skills matched) x a gauss distance decay, then profile id. Members of the
  project are left out. OpenSearch answers when configured (api/availability/engines.py), PostGIS otherwise
  or when it fails; both give the same people in the same order (tests/api/availability).
"""
from __future__ import annotations

import logging
import uuid
from datetime import date

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from api.availability import engines
from api.availability.schemas import (AvailabilityIn, AvailabilityOut, CrewHit, DayRange, RoleShootDates,
                                      ShootDatesIn, ShootDatesOut)
from api.kernel.problems import conflict, field_error, not_found
from api.projects import service as projects
from api.saved_searches import service as saved_searches
from db.models import Profile, Project, ProjectRole, User
from db.models.enums import ProjectStatus
from indexer.outbox import record_change

log = logging.getLogger("filmo.availability")


# ------------------------------------------------------------------ day ranges <-> datemultirange


def to_multirange(ranges: list[DayRange] | None) -> str | None:
    """'{[2026-05-01,2026-05-03]}' (inclusive days; PostgreSQL stores them as [start, end + 1) and merges overlaps)."""
    if ranges is None:
        return None
    return "{" + ",".join(f"[{r.start.isoformat()},{r.end.isoformat()}]" for r in ranges) + "}"


_RANGES_SQL = ("SELECT coalesce(json_agg(json_build_object('start', lower(d), 'end', upper(d) - 1) ORDER BY lower(d)), "
               "'[]'::json) FROM unnest({col}) d")


def _ranges(raw) -> list[DayRange]:
    return [DayRange(start=date.fromisoformat(r["start"]), end=date.fromisoformat(r["end"])) for r in raw or []]


def day_pairs(ranges: list[DayRange]) -> list[tuple[str, str]]:
    return [(r.start.isoformat(), r.end.isoformat()) for r in ranges]


# ------------------------------------------------------------------ shoot dates


async def _visible_project(session: AsyncSession, project_id: uuid.UUID, viewer: User | None) -> Project:
    project = await session.get(Project, project_id)
    if project is None or (project.status == ProjectStatus.disposed and (
            viewer is None or await projects.get_membership(session, project.id, viewer.id) is None)):
        raise not_found("Project")
    return project


async def shoot_dates(session: AsyncSession, project_id: uuid.UUID, viewer: User | None) -> ShootDatesOut:
    await _visible_project(session, project_id, viewer)
    project_days = (await session.execute(text(
        f"SELECT p.shoot_dates IS NULL AS unset, ({_RANGES_SQL.format(col='p.shoot_dates')}) AS days "
        "FROM projects p WHERE p.id = :id"), {"id": project_id})).one()
    rows = (await session.execute(text(
        f"SELECT r.id, r.role_title, r.shoot_dates IS NULL AS unset, ({_RANGES_SQL.format(col='r.shoot_dates')}) "
        "AS days FROM project_roles r WHERE r.project_id = :id AND r.removed_at IS NULL ORDER BY r.created_at, r.id"),
        {"id": project_id})).all()
    return ShootDatesOut(project_id=project_id, shoot_dates=None if project_days.unset else _ranges(project_days.days),
                         roles=[RoleShootDates(role_id=r.id, role_title=r.role_title,
                                               shoot_dates=None if r.unset else _ranges(r.days)) for r in rows])


async def set_shoot_dates(session: AsyncSession, project_id: uuid.UUID, user: User, body: ShootDatesIn) -> ShootDatesOut:
    project = await projects.lock_project(session, project_id)
    await projects.require_member(session, project, user.id, projects.MANAGERS, "plan the shoot dates")
    projects.ensure_not_archived(project)
    if "shoot_dates" in body.model_fields_set and body.shoot_dates is not None:
        await session.execute(text("UPDATE projects SET shoot_dates = CAST(CAST(:d AS text) AS datemultirange) WHERE id = :id"),
                              {"d": to_multirange(body.shoot_dates) if body.shoot_dates else None, "id": project.id})
    if body.roles:
        live = set(await session.scalars(select(ProjectRole.id).where(ProjectRole.project_id == project.id,
                                                                      ProjectRole.removed_at.is_(None))))
        for role_id, ranges in body.roles.items():
            if role_id not in live:
                raise field_error(f"roles.{role_id}", "not a role of this project")
            await session.execute(text("UPDATE project_roles SET shoot_dates = CAST(CAST(:d AS text) AS datemultirange) WHERE id = :id"),
                                  {"d": to_multirange(ranges) if ranges else None, "id": role_id})
    projects.touch(project)
    await projects.searchable_change(session, project)
    return await shoot_dates(session, project.id, user)


# ------------------------------------------------------------------ availability


async def _profile_id(session: AsyncSession, user: User) -> uuid.UUID:
    profile_id = await session.scalar(select(Profile.id).where(Profile.user_id == user.id))
    if profile_id is None:
        raise not_found("Profile")
    return profile_id


async def availability(session: AsyncSession, user: User) -> AvailabilityOut:
    row = (await session.execute(text(
        f"SELECT u.willing_to_travel_km, ({_RANGES_SQL.format(col='u.unavailable')}) AS days "
        "FROM user_profiles u WHERE u.user_id = :uid"), {"uid": user.id})).one_or_none()
    if row is None:
        raise not_found("Profile")
    return AvailabilityOut(unavailable=_ranges(row.days), willing_to_travel_km=row.willing_to_travel_km)


async def set_availability(session: AsyncSession, user: User, body: AvailabilityIn) -> AvailabilityOut:
    profile_id = await _profile_id(session, user)
    if body.unavailable is not None:
        await session.execute(text("UPDATE user_profiles SET unavailable = CAST(CAST(:d AS text) AS datemultirange) WHERE id = :id"),
                              {"d": to_multirange(body.unavailable), "id": profile_id})
    if body.willing_to_travel_km is not None:
        await session.execute(text("UPDATE user_profiles SET willing_to_travel_km = :km WHERE id = :id"),
                              {"km": body.willing_to_travel_km, "id": profile_id})
    await record_change(session, "profile", profile_id)
    await saved_searches.follow_availability(session, user)  # searches that "fit my availability" follow
    return await availability(session, user)


# ------------------------------------------------------------------ who can work my shoot


async def role_shoot(session: AsyncSession, project_id: uuid.UUID, role_id: uuid.UUID, user: User) -> engines.Shoot:
    project = await session.get(Project, project_id)
    if project is None:
        raise not_found("Project")
    await projects.require_member(session, project, user.id, projects.MANAGERS, "look for crew")
    row = (await session.execute(text(
        "SELECT r.skill_id, ST_Y(p.location::geometry) AS lat, ST_X(p.location::geometry) AS lon, "
        f"coalesce(r.shoot_dates, p.shoot_dates) IS NULL AS unset, "
        f"({_RANGES_SQL.format(col='coalesce(r.shoot_dates, p.shoot_dates)')}) AS days "
        "FROM project_roles r JOIN projects p ON p.id = r.project_id "
        "WHERE r.id = :rid AND r.project_id = :pid AND r.removed_at IS NULL"), {"rid": role_id, "pid": project_id})
           ).one_or_none()
    if row is None:
        raise not_found("Role")
    if row.lat is None:
        raise conflict("The project has no location: set one (PUT /api/v1/projects/{id}) to find crew near it")
    members = [str(m) for m in await session.scalars(text("SELECT user_id FROM project_members WHERE project_id = :p"),
                                                     {"p": project_id})]
    return engines.Shoot(skill_id=row.skill_id, lat=row.lat, lon=row.lon,
                         days=None if row.unset else day_pairs(_ranges(row.days)), exclude_user_ids=members)


async def available_crew(session: AsyncSession, project_id: uuid.UUID, role_id: uuid.UUID, user: User,
                         extra_skill_ids: list[int], limit: int, offset: int) -> tuple[list[CrewHit], int, str]:
    shoot = await role_shoot(session, project_id, role_id, user)
    shoot.extra_skill_ids = sorted(set(extra_skill_ids) - {shoot.skill_id})
    return await engines.run(session, shoot, limit, offset)

