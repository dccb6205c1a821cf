"""HTTP endpoints for team management under /management (rules live in service.py)."""
from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response

from api.auth.dependencies import CurrentUser
from api.http.deps import SessionDep
from api.http.openapi import headers, problems
from api.http.pagination import Page, page_headers
from api.team import service
from api.team.schemas import LeaveOut, MemberOut, PromoteIn, PromoteOut, RemoveOut, StatsOut, StatusIn, StatusOut

router = APIRouter(prefix="/management", tags=["team"])


@router.put("/project/{project_id}/status", name="set-status", summary="Change a project's status",
            response_model=StatusOut, responses=problems(403, 404, 409))
async def update_status(project_id: uuid.UUID, body: StatusIn, user: CurrentUser, session: SessionDep) -> StatusOut:
    """Admins and parents set active/completed/shelved; only admins archive (`disposed`); `dead` is automatic."""
    old = await service.change_status(session, user, project_id, body.status)
    return StatusOut(message="Project status updated", project_id=project_id, old_status=old,
                     new_status=body.status)


@router.put("/project/{project_id}/member/{user_id}/promote", name="promote",
            summary="Change a member's role (admins)", response_model=PromoteOut,
            responses=problems(403, 404, 409))
async def promote(project_id: uuid.UUID, user_id: uuid.UUID, body: PromoteIn, user: CurrentUser,
                  session: SessionDep) -> PromoteOut:
    """Admins change a member's role (admin/parent/child); the last admin cannot be demoted."""
    old = await service.promote(session, user, project_id, user_id, body.member_role)
    return PromoteOut(message="Member role updated", user_id=user_id, old_role=old, new_role=body.member_role)


@router.get("/project/{project_id}/members", name="list-members", summary="List a project's members",
            response_model=list[MemberOut], responses={**headers("X-Total-Count", "Link"), **problems(403, 404)})
async def members(project_id: uuid.UUID, user: CurrentUser, session: SessionDep, request: Request,
                  response: Response, page: Page) -> list[MemberOut]:
    """Members (admins, then parents, then children; by join date). Members only. Total in `X-Total-Count`."""
    items, total = await service.list_members(session, user, project_id, page)
    page_headers(request, response, page.page, page.limit, total)
    return items


@router.delete("/project/{project_id}/member/{user_id}", name="remove-member", summary="Remove a member",
               response_model=RemoveOut, responses=problems(403, 404, 409))
async def remove_member(project_id: uuid.UUID, user_id: uuid.UUID, user: CurrentUser,
                        session: SessionDep) -> RemoveOut:
    """Admins remove anyone else; parents remove children. The slot is freed; the person may apply again."""
    role_title, role_id = await service.remove_member(session, user, project_id, user_id)
    return RemoveOut(message="Member removed", user_id=user_id, role_freed=role_title, role_id=role_id)


@router.post("/project/{project_id}/leave", name="leave", summary="Leave a project", response_model=LeaveOut,
             responses=problems(403, 404, 409))
async def leave(project_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> LeaveOut:
    """Leave the project (an only admin must hand admin over first)."""
    role_title = await service.leave(session, user, project_id)
    return LeaveOut(message="You left the project", project_id=project_id, role_freed=role_title)


@router.get("/project/{project_id}/stats", name="stats", summary="Read a project's statistics",
            response_model=StatsOut, responses=problems(403, 404))
async def stats(project_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> StatsOut:
    """Members by role, applications by status, slots filled/total, messages, last activity (members only)."""
    return await service.stats(session, user, project_id)
