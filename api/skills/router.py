"""HTTP endpoints for the skill catalogue (rules live in service.py)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from pydantic import TypeAdapter

from api.auth.dependencies import CurrentUser
from api.http.caching import cached_json
from api.http.deps import SessionDep
from api.http.openapi import headers, problems
from api.http.pagination import next_link
from api.skills import service
from api.skills.schemas import SkillCreate, SkillOut

router = APIRouter(prefix="/skills", tags=["skills"])
_SKILLS = TypeAdapter(list[SkillOut])
_CATEGORIES = TypeAdapter(list[str])
_SKILL = TypeAdapter(SkillOut)
_CACHED = ("ETag", "Cache-Control")


@router.post("/create", name="create", summary="Propose a new skill", response_model=SkillOut, status_code=201,
             responses=problems(409, s409="A skill with this name exists (`existing_id` names it)"))
async def create_skill(body: SkillCreate, user: CurrentUser, session: SessionDep):
    """Propose a skill (any signed-in user). Names are unique regardless of letter case."""
    return await service.create_skill(session, user.id, body.name, body.category)


@router.get("/list", name="list", summary="List the skill catalogue", response_model=list[SkillOut],
            responses={**headers("X-Total-Count", "X-Page", "X-Limit", "Link", *_CACHED),
                       **headers(*_CACHED, status=304)})
async def list_skills(session: SessionDep, request: Request,
                      category: Annotated[str | None, Query(max_length=60)] = None,
                      search: Annotated[str | None, Query(max_length=100, description="part of the name")] = None,
                      page: Annotated[int, Query(ge=1, le=10_000)] = 1,
                      limit: Annotated[int, Query(ge=1, le=500)] = 100):
    """Public. A JSON list (as in the original); X-Total-Count, X-Page, X-Limit and `Link` (next page) headers
    tell the rest. Cacheable: send the `ETag` back in `If-None-Match` for a 304."""
    rows, total = await service.list_skills(session, category=category, search=search, page=page, limit=limit)
    paging = {"X-Total-Count": str(total), "X-Page": str(page), "X-Limit": str(limit)}
    if page * limit < total:
        paging["Link"] = next_link(request, page=page + 1, limit=limit)
    return cached_json(request, _SKILLS.dump_json(_SKILLS.validate_python(rows, from_attributes=True)), paging)


@router.get("/categories", name="categories", summary="List the skill categories", response_model=list[str],
            responses={**headers(*_CACHED), **headers(*_CACHED, status=304)})
async def categories(session: SessionDep, request: Request):
    """Public. Every category in use, alphabetically. Cacheable (`ETag`, 304)."""
    return cached_json(request, _CATEGORIES.dump_json(await service.categories(session)))


@router.get("/{skill_id}", name="get", summary="Read one skill", response_model=SkillOut,
            responses={**headers(*_CACHED), **headers(*_CACHED, status=304), **problems(404)})
async def get_skill(session: SessionDep, request: Request, skill_id: Annotated[int, Path(ge=1, le=2_147_483_647)]):
    """Public. Cacheable (`ETag`, 304)."""
    return cached_json(request, _SKILL.dump_json(_SKILL.validate_python(await service.get_skill(session, skill_id),
                                                                    from_attributes=True)))
