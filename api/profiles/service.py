"""Profile rules. Every write goes through here and tells the search index (outbox) in the same transaction."""
from __future__ import annotations

import uuid
from typing import Any

from geoalchemy2.elements import WKTElement
from geoalchemy2.shape import to_shape
from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.kernel.location import snap
from api.kernel.problems import Problem, conflict, field_error, not_found
from api.profiles.schemas import ProfileCreate, ProfileUpdate
from api.skills.service import require_skills, skills_by_ids
from db.models import Profile, ProfileSkill
from indexer.outbox import record_change

def point(latitude: float, longitude: float) -> WKTElement:
    # WKT order is (x y) = (longitude latitude).
    return WKTElement(f"POINT({float(longitude)!r} {float(latitude)!r})", srid=4326)


def coordinates(profile: Profile) -> tuple[float | None, float | None]:
    if profile.location is None:
        return None, None
    shape = to_shape(profile.location)
    return shape.y, shape.x


def _check_point(body: ProfileCreate | ProfileUpdate) -> None:
    problem = body.point_problem()
    if problem:
        raise field_error(*problem)


def _check_actor(is_actor: bool, age: int | None, gender: Any) -> None:
    # The original's rule: actors are cast by age and gender, so an actor profile needs both.
    if is_actor:
        missing = [name for name, value in (("age", age), ("gender", gender)) if value is None]
        if missing:
            raise Problem(422, f"is_actor: an actor profile needs {' and '.join(missing)}",
                          errors=[{"field": f, "reason": "required when is_actor is true"} for f in missing])


async def _set_skills(session: AsyncSession, profile: Profile, skill_ids: list[int]) -> None:
    """profile_skills and the skill_ids array are written together, so search and joins agree."""
    await session.execute(delete(ProfileSkill).where(ProfileSkill.profile_id == profile.id))
    if skill_ids:
        await session.execute(insert(ProfileSkill), [{"profile_id": profile.id, "skill_id": s} for s in skill_ids])
    profile.skill_ids = list(skill_ids)


async def get_by_user(session: AsyncSession, user_id: uuid.UUID) -> Profile | None:
    return await session.scalar(select(Profile).where(Profile.user_id == user_id))


async def require_by_user(session: AsyncSession, user_id: uuid.UUID, *, own: bool = False) -> Profile:
    profile = await get_by_user(session, user_id)
    if profile is None:
        if own:
            raise Problem(404, "You have no profile yet: create it with POST /api/v1/profile/create")
        raise not_found("Profile")
    return profile


async def create_profile(session: AsyncSession, user_id: uuid.UUID, body: ProfileCreate) -> Profile:
    _check_point(body)
    _check_actor(body.is_actor, body.age, body.gender)
    if await get_by_user(session, user_id) is not None:
        raise conflict("You already have a profile: change it with PUT /api/v1/profile/update")
    await require_skills(session, body.skill_ids)
    fields = body.model_dump(exclude={"latitude", "longitude", "skill_ids"})
    profile = Profile(user_id=user_id, **fields)
    if body.latitude is not None and body.longitude is not None:
        profile.location = point(body.latitude, body.longitude)
    try:
        async with session.begin_nested():  # two parallel creates: the second gets 409, not 500
            session.add(profile)
            await session.flush()
    except IntegrityError:
        raise conflict("You already have a profile: change it with PUT /api/v1/profile/update") from None
    await _set_skills(session, profile, body.skill_ids)
    await record_change(session, "profile", profile.id)
    await session.refresh(profile)
    return profile


async def update_profile(session: AsyncSession, user_id: uuid.UUID, body: ProfileUpdate) -> Profile:
    _check_point(body)
    profile = await require_by_user(session, user_id, own=True)
    changes = body.model_dump(exclude_unset=True)
    skill_ids = changes.pop("skill_ids", None)
    has_point = "latitude" in changes
    latitude, longitude = changes.pop("latitude", None), changes.pop("longitude", None)
    _check_actor(changes.get("is_actor", profile.is_actor), changes.get("age", profile.age),
                 changes.get("gender", profile.gender))
    if skill_ids is not None:
        await require_skills(session, skill_ids)
    for name, value in changes.items():
        setattr(profile, name, value)
    if has_point:
        profile.location = point(latitude, longitude) if latitude is not None else None
    if skill_ids is not None:
        await _set_skills(session, profile, skill_ids)
    profile.updated_at = func.now()
    await session.flush()
    await record_change(session, "profile", profile.id)
    await session.refresh(profile)
    return profile


async def set_photo_url(session: AsyncSession, user_id: uuid.UUID, url: str | None) -> Profile:
    """For the uploads domain: point the profile at a new photo (or none) and tell the index."""
    profile = await require_by_user(session, user_id, own=True)
    profile.profile_photo_url = url
    profile.updated_at = func.now()
    await session.flush()
    await record_change(session, "profile", profile.id)
    await session.refresh(profile)
    return profile


async def to_view(session: AsyncSession, profile: Profile, *, viewer_id: uuid.UUID | None) -> dict:
    """The response body. Only the owner sees the exact point; everyone else gets it snapped to the
    privacy grid (api.kernel.location), the same point people search measures from."""
    owner = viewer_id is not None and viewer_id == profile.user_id
    latitude, longitude = coordinates(profile)
    if not owner and latitude is not None and longitude is not None:
        latitude, longitude = snap(latitude), snap(longitude)
    found = await skills_by_ids(session, profile.skill_ids)
    return {
        "id": profile.id, "user_id": profile.user_id, "name": profile.name, "age": profile.age,
        "gender": profile.gender, "profession": profile.profession, "bio": profile.bio, "is_actor": profile.is_actor,
        "profile_photo_url": profile.profile_photo_url, "city": profile.city, "state": profile.state,
        "country": profile.country, "latitude": latitude, "longitude": longitude,
        "location_precision": "exact" if owner else "approximate",
        "years_of_experience": profile.years_of_experience, "previous_projects": profile.previous_projects,
        "portfolio_url": profile.portfolio_url, "skill_ids": list(profile.skill_ids),
        "skills": [found[i] for i in profile.skill_ids if i in found],
        "created_at": profile.created_at, "updated_at": profile.updated_at,
    }
