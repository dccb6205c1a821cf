"""HTTP endpoints for projects (rules live in service.py)."""
from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response

from api.auth.dependencies import CurrentUser, OptionalUser
from api.http.deps import SessionDep
from api.http.openapi import headers, problems
from api.http.pagination import Page, page_headers
from api.projects import service
from api.projects.schemas import (DisposeOut, MembershipOut, ProjectCreate, ProjectOut, ProjectUpdate,
                                  TransferIn, TransferOut)

router = APIRouter(prefix="/projects", tags=["projects"])


@router.post("/create", name="create", summary="Create a project with its roles", response_model=ProjectOut,
             status_code=201)
async def create_project(body: ProjectCreate, user: CurrentUser, session: SessionDep) -> ProjectOut:
    """Create a project with its roles; the caller becomes its admin."""
    project_id = await service.create_project(session, user, body)
    return await service.get_project_view(session, project_id, user)


@router.get("/my/projects", name="list-mine", summary="List the projects you run", response_model=list[ProjectOut],
            responses=headers("X-Total-Count", "Link"))
async def my_projects(user: CurrentUser, session: SessionDep, request: Request, response: Response,
                      page: Page) -> list[ProjectOut]:
    """Projects the caller runs (is an admin of), newest first. Total in `X-Total-Count`."""
    items, total = await service.list_admin_projects(session, user, page)
    page_headers(request, response, page.page, page.limit, total)
    return items


@router.get("/my/memberships", name="list-memberships", summary="List the projects you belong to",
            response_model=list[MembershipOut], responses=headers("X-Total-Count", "Link"))
async def my_memberships(user: CurrentUser, session: SessionDep, request: Request, response: Response,
                         page: Page) -> list[MembershipOut]:
    """Every project the caller belongs to (any member role), most recently joined first."""
    items, total = await service.list_memberships(session, user, page)
    page_headers(request, response, page.page, page.limit, total)
    return items


@router.get("/{project_id}", name="get", summary="Read a project", response_model=ProjectOut,
            responses=problems(404))
async def get_project(project_id: uuid.UUID, user: OptionalUser, session: SessionDep) -> ProjectOut:
    """Public project details (archived projects: members only)."""
    return await service.get_project_view(session, project_id, user)


@router.put("/{project_id}", name="update", summary="Edit a project and its roles (admins)",
            response_model=ProjectOut, responses=problems(403, 404, 409))
async def update_project(project_id: uuid.UUID, body: ProjectUpdate, user: CurrentUser,
                         session: SessionDep) -> ProjectOut:
    """Admins edit any field. `roles`, when sent, lists the live roles: with `id` edited in place, without `id`
    added, left out removed (kept for history) unless they still have accepted members (409)."""
    await service.update_project(session, project_id, user, body)
    return await service.get_project_view(session, project_id, user)


@router.delete("/{project_id}", name="archive", summary="Archive a project (admins)", response_model=DisposeOut,
               responses=problems(403, 404, 409))
async def delete_project(project_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> DisposeOut:
    """Archive the project (status `disposed`): nothing is deleted, pending applications are closed."""
    old, closed = await service.dispose_project(session, project_id, user)
    return DisposeOut(message="Project archived", project_id=project_id, old_status=old,
                      new_status="disposed", applications_closed=closed)


@router.post("/{project_id}/transfer", name="transfer", summary="Hand admin to another member",
             response_model=TransferOut, responses=problems(403, 404, 409))
async def transfer_project(project_id: uuid.UUID, body: TransferIn, user: CurrentUser,
                           session: SessionDep) -> TransferOut:
    """Hand admin to another member; the caller becomes a parent (and may then leave)."""
    new_role = await service.transfer_admin(session, project_id, user, body.user_id)
    return TransferOut(message="Admin handed over", project_id=project_id, new_admin_id=body.user_id,
                       previous_admin_id=user.id, previous_admin_new_role=new_role)
