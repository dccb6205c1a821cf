"""HTTP endpoints for the skill catalogue (rules live in service.py)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from api.auth.dependencies import CurrentUser
from api.http.deps import SessionDep
from api.http.openapi import headers, problems
from api.skills import service
from api.skills.schemas import SkillCreate, SkillOut

router = APIRouter(prefix="/skills", tags=["skills"])


@router.post("/create", name="create", summary="Propose a new skill", response_model=SkillOut, status_code=201,
             responses=problems(409, s409="A skill with this name exists (`existing_id` names it)"))
async def create_skill(body: SkillCreate, user: CurrentUser, session: SessionDep):
    """Propose a skill (any signed-in user). Names are unique regardless of letter case."""
    return await service.create_skill(session, user.id, body.name, body.category)


@router.get("/list", name="list", summary="List the skill catalogue", response_model=list[SkillOut],
            responses=headers("X-Total-Count", "X-Page", "X-Limit"))
async def list_skills(session: SessionDep, response: Response,
                      category: Annotated[str | None, Query(max_length=60)] = None,
                      search: Annotated[str | None, Query(max_length=100, description="part of the name")] = None,
                      page: Annotated[int, Query(ge=1, le=10_000)] = 1,
                      limit: Annotated[int, Query(ge=1, le=500)] = 100):
    """Public. A JSON list (as in the original); X-Total-Count, X-Page and X-Limit headers tell the rest."""
    rows, total = await service.list_skills(session, category=category, search=search, page=page, limit=limit)
    response.headers["X-Total-Count"] = str(total)
    response.headers["X-Page"] = str(page)
    response.headers["X-Limit"] = str(limit)
    return rows


@router.get("/categories", name="categories", summary="List the skill categories", response_model=list[str])
async def categories(session: SessionDep):
    """Public. Every category in use, alphabetically."""
    return await service.categories(session)


@router.get("/{skill_id}", name="get", summary="Read one skill", response_model=SkillOut, responses=problems(404))
async def get_skill(session: SessionDep, skill_id: Annotated[int, Path(ge=1, le=2_147_483_647)]):
    """Public."""
    return await service.get_skill(session, skill_id)
