"""HTTP endpoints for saved searches (rules in service.py). Their alerts arrive as notifications."""
from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from api.auth.dependencies import CurrentUser
from api.http.deps import SessionDep
from api.http.openapi import headers, problems
from api.http.pagination import Page
from api.saved_searches import service
from api.saved_searches.schemas import SavedSearchIn, SavedSearchOut, SavedSearchUpdate

router = APIRouter(prefix="/saved-searches", tags=["saved-searches"])


@router.post("", name="create", summary="Save a project search", status_code=201, response_model=SavedSearchOut,
             responses=problems(409))
async def create(body: SavedSearchIn, user: CurrentUser, session: SessionDep):
    """Any search you can run on GET /search/projects (same filter names, incl. centre + radius or a bbox),
    named, with `instant` or `daily` alerts. From now on, each project that starts matching it (created,
    reopened, a new open role) is a `saved_search_match` notification, once per project; never for your
    own projects, projects you belong to or applied to. At most 50 per person (409 beyond)."""
    return await service.create(session, user, body)


@router.get("", name="list", summary="List my saved searches", response_model=list[SavedSearchOut],
            responses=headers("X-Total-Count"))
async def list_mine(user: CurrentUser, session: SessionDep, response: Response, page: Page):
    items, total = await service.list_mine(session, user, page)
    response.headers["X-Total-Count"] = str(total)
    return items


@router.get("/{saved_search_id}", name="get", summary="Read one of my saved searches", response_model=SavedSearchOut,
            responses=problems(404))
async def get_one(saved_search_id: uuid.UUID, user: CurrentUser, session: SessionDep):
    return await service.get(session, user, saved_search_id)


@router.patch("/{saved_search_id}", name="update", summary="Rename, refilter or retime a saved search",
              response_model=SavedSearchOut, responses=problems(404))
async def update(saved_search_id: uuid.UUID, body: SavedSearchUpdate, user: CurrentUser, session: SessionDep):
    """Omitted fields stay. New filters apply to projects that change from now on."""
    return await service.update(session, user, saved_search_id, body)


@router.delete("/{saved_search_id}", name="delete", summary="Delete a saved search", status_code=204,
               responses=problems(404))
async def delete(saved_search_id: uuid.UUID, user: CurrentUser, session: SessionDep):
    await service.remove(session, user, saved_search_id)
    return Response(status_code=204)
