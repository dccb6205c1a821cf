"""HTTP endpoints for applications (rules live in service.py)."""
from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Query, Request, Response

from api.applications import service
from api.applications.schemas import AcceptOut, ApplicationOut, ApplyIn, RejectIn, ReviewOut
from api.auth.dependencies import CurrentUser
from api.http.deps import SessionDep
from api.http.openapi import headers, problems
from api.http.pagination import Page, page_headers
from db.models.enums import ApplicationStatus

router = APIRouter(prefix="/applications", tags=["applications"])
StatusFilter = Annotated[ApplicationStatus | None, Query(description="only applications in this status")]


@router.post("/apply", name="apply", summary="Apply to an open role", response_model=ApplicationOut,
             status_code=201,
             responses=problems(403, 404, 409, s403="Create your profile first",
                                s404="No such role (`errors` names `role_id`)"))
async def apply(body: ApplyIn, user: CurrentUser, session: SessionDep) -> ApplicationOut:
    """Apply to an open role of an active project (needs a profile; one pending application per role)."""
    application_id = await service.apply(session, user, body)
    return await service.get_view(session, application_id)


@router.get("/project/{project_id}", name="list-for-project", summary="List a project's applications",
            response_model=list[ApplicationOut], responses={**headers("X-Total-Count", "Link"), **problems(403, 404)})
async def project_applications(project_id: uuid.UUID, user: CurrentUser, session: SessionDep, request: Request,
                               response: Response,
                               page: Page, status: StatusFilter = None) -> list[ApplicationOut]:
    """A project's applications, newest first (admins and parents). Total in `X-Total-Count`."""
    items, total = await service.list_for_project(session, user, project_id, status, page)
    page_headers(request, response, page.page, page.limit, total)
    return items


@router.get("/my-applications", name="list-mine", summary="List your applications",
            response_model=list[ApplicationOut], responses=headers("X-Total-Count", "Link"))
async def my_applications(user: CurrentUser, session: SessionDep, request: Request, response: Response, page: Page,
                          status: StatusFilter = None) -> list[ApplicationOut]:
    """The caller's applications, newest first, with `status_reason` when one was closed."""
    items, total = await service.list_mine(session, user, status, page)
    page_headers(request, response, page.page, page.limit, total)
    return items


@router.post("/accept/{application_id}", name="accept", summary="Accept an application", response_model=AcceptOut,
             responses=problems(403, 404, 409))
async def accept(application_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> AcceptOut:
    """Accept: the applicant becomes a member and takes a slot (exactly one winner for the last slot)."""
    return await service.accept(session, user, application_id)


@router.post("/reject/{application_id}", name="reject", summary="Reject an application", response_model=ReviewOut,
             responses=problems(403, 404, 409))
async def reject(application_id: uuid.UUID, user: CurrentUser, session: SessionDep,
                 body: Annotated[RejectIn | None, Body()] = None) -> ReviewOut:
    """Reject, optionally with `{"reason": ...}` that the applicant will see."""
    await service.reject(session, user, application_id, body.reason if body else None)
    return ReviewOut(message="Application rejected", application_id=application_id)


@router.post("/withdraw/{application_id}", name="withdraw", summary="Withdraw your application",
             response_model=ReviewOut, responses=problems(403, 404, 409))
async def withdraw(application_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> ReviewOut:
    """The applicant takes back a pending application (they may apply again later)."""
    await service.withdraw(session, user, application_id)
    return ReviewOut(message="Application withdrawn", application_id=application_id)
