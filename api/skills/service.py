"""The skill catalogue: seeded by `filmo seed`, grown by signed-in users' proposals."""
from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.kernel.problems import Problem, conflict, not_found
from db.models import Skill


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def create_skill(session: AsyncSession, user_id: uuid.UUID, name: str, category: str) -> Skill:
    clash = await session.scalar(select(Skill).where(func.lower(Skill.name) == name.lower()))
    if clash is not None:
        raise conflict(f"A skill named '{clash.name}' already exists", existing_id=clash.id)
    skill = Skill(name=name, category=category, created_by=user_id)
    try:
        async with session.begin_nested():  # a parallel proposal of the same name loses cleanly
            session.add(skill)
            await session.flush()
    except IntegrityError:
        raise conflict(f"A skill named '{name}' already exists") from None
    return skill


async def list_skills(session: AsyncSession, *, category: str | None, search: str | None, page: int,
                      limit: int) -> tuple[list[Skill], int]:
    query = select(Skill)
    if category:
        query = query.where(func.lower(Skill.category) == category.strip().lower())
    if search and search.strip():
        query = query.where(Skill.name.ilike(f"%{_escape_like(search.strip())}%", escape="\\"))
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(query.order_by(Skill.category, Skill.name, Skill.id)
                                 .offset((page - 1) * limit).limit(limit))
    return list(rows), int(total or 0)


async def categories(session: AsyncSession) -> list[str]:
    return list(await session.scalars(select(Skill.category).distinct().order_by(Skill.category)))


async def get_skill(session: AsyncSession, skill_id: int) -> Skill:
    skill = await session.get(Skill, skill_id)
    if skill is None:
        raise not_found("Skill")
    return skill


async def skills_by_ids(session: AsyncSession, ids: Iterable[int]) -> dict[int, Skill]:
    ids = list(ids)
    if not ids:
        return {}
    return {s.id: s for s in await session.scalars(select(Skill).where(Skill.id.in_(ids)))}


async def require_skills(session: AsyncSession, ids: list[int], field: str = "skill_ids") -> dict[int, Skill]:
    """The skills for `ids`, or 422 naming every id that does not exist."""
    found = await skills_by_ids(session, ids)
    unknown = [i for i in ids if i not in found]
    if unknown:
        listed = ", ".join(str(i) for i in unknown)
        raise Problem(422, f"{field}: unknown skill ids: {listed}",
                      errors=[{"field": field, "reason": f"unknown skill ids: {listed}", "unknown_ids": unknown}])
    return found
