"""Applications: apply, review (accept/reject), withdraw, and the lists.

Accepting is race-free: the project row is locked first (the house locking order, see projects.service),
then the slot is taken with a conditional UPDATE (`slots_filled < slots_available`), so any number of
concurrent accepts for a role's last slot yield exactly one member; the database CHECK is the last guard.
"""
from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from api.applications.schemas import AcceptOut, ApplicationOut, ApplyIn
from api.kernel.clock import utcnow
from api.kernel.paging import PageParams
from api.kernel.problems import conflict, field_error, forbidden, not_found
from api.notifications import service as notifications
from api.projects import service as projects
from db.models import Application, Profile, Project, ProjectMember, ProjectRole, User
from db.models.enums import ApplicationStatus, MemberRole, ProjectStatus


async def _application(session: AsyncSession, application_id: uuid.UUID, *, lock: bool = False) -> Application:
    stmt = select(Application).where(Application.id == application_id)
    if lock:
        stmt = stmt.with_for_update()
    app = await session.scalar(stmt.execution_options(populate_existing=True))
    if app is None:
        raise not_found("Application")
    return app


def _ensure_pending(app: Application) -> None:
    if app.status != ApplicationStatus.pending:
        why = f" ({app.status_reason})" if app.status_reason else ""
        raise conflict(f"This application is already {app.status.value}{why}")


async def apply(session: AsyncSession, user: User, body: ApplyIn) -> uuid.UUID:
    project_id = await session.scalar(select(ProjectRole.project_id).where(ProjectRole.id == body.role_id))
    if project_id is None:
        raise field_error("role_id", "no such role", status=404)
    project = await projects.lock_project(session, project_id)
    if await session.scalar(select(Profile.id).where(Profile.user_id == user.id)) is None:
        raise forbidden("Create your profile first (POST /api/v1/profile/create): applications show it to the team")
    if project.creator_id == user.id:
        raise conflict("You cannot apply to your own project")
    if await projects.get_membership(session, project.id, user.id) is not None:
        raise conflict("You are already a member of this project")
    if project.status != ProjectStatus.active:
        raise conflict(f"This project is {project.status.value} and does not take applications")
    role = await session.scalar(select(ProjectRole).where(ProjectRole.id == body.role_id)
                                .execution_options(populate_existing=True))
    if role.removed_at is not None:
        raise conflict("This role was removed from the project")
    if role.is_filled:
        raise conflict("This role is already filled")
    # The partial unique index (one pending application per role and person) decides; no exception path.
    app_id = await session.scalar(
        insert(Application).values(project_id=project.id, role_id=role.id, applicant_id=user.id,
                                   cover_letter=body.cover_letter or None, status=ApplicationStatus.pending)
        .on_conflict_do_nothing(index_elements=["role_id", "applicant_id"], index_where=text("status = 'pending'"))
        .returning(Application.id))
    if app_id is None:
        raise conflict("You already have a pending application for this role")
    projects.touch(project)
    return app_id


async def accept(session: AsyncSession, user: User, application_id: uuid.UUID) -> AcceptOut:
    project_id = (await _application(session, application_id)).project_id
    project = await projects.lock_project(session, project_id)
    await projects.require_member(session, project, user.id, projects.MANAGERS, "review applications")
    projects.ensure_not_archived(project)
    app = await _application(session, application_id, lock=True)
    _ensure_pending(app)
    if project.status != ProjectStatus.active:
        raise conflict(f"This project is {project.status.value}: make it active again before accepting applications")
    if await projects.get_membership(session, project.id, app.applicant_id) is not None:
        raise conflict("The applicant is already a member of this project")
    # Take the slot only if one is free (the row is re-checked after any concurrent update commits).
    slot = (await session.execute(
        update(ProjectRole)
        .where(ProjectRole.id == app.role_id, ProjectRole.removed_at.is_(None),
               ProjectRole.slots_filled < ProjectRole.slots_available)
        .values(slots_filled=ProjectRole.slots_filled + 1)
        .returning(ProjectRole.slots_filled, ProjectRole.slots_available)
        .execution_options(synchronize_session=False))).first()
    if slot is None:
        raise conflict("This role has no free slot left")
    member_id = await session.scalar(
        insert(ProjectMember).values(project_id=project.id, user_id=app.applicant_id, role_id=app.role_id,
                                     member_role=MemberRole.child)
        .on_conflict_do_nothing(index_elements=["project_id", "user_id"]).returning(ProjectMember.id))
    if member_id is None:  # the whole transaction (including the slot) rolls back
        raise conflict("The applicant is already a member of this project")
    now = utcnow()
    app.status, app.status_reason, app.reviewed_at, app.reviewed_by = ApplicationStatus.accepted, None, now, user.id
    await session.flush()
    role_filled = slot.slots_filled >= slot.slots_available
    closed = 0
    if role_filled:
        closed += await projects.close_pending(session, Application.role_id == app.role_id,
                                               projects.REASON_ROLE_FILLED, user.id)
    closed += await projects.close_pending(
        session, (Application.project_id == project.id) & (Application.applicant_id == app.applicant_id),
        projects.REASON_ALREADY_MEMBER, user.id)
    projects.touch(project)
    await projects.searchable_change(session, project)
    await _tell_applicant(session, app, project, "application_accepted", "You were accepted on {project}",
                          "Your application for {role} was accepted: welcome to the team.")
    return AcceptOut(message="Application accepted", application_id=app.id, member_id=member_id,
                     user_id=app.applicant_id, role_id=app.role_id, role_filled=role_filled,
                     applications_closed=closed)


async def reject(session: AsyncSession, user: User, application_id: uuid.UUID, reason: str | None) -> None:
    project_id = (await _application(session, application_id)).project_id
    project = await projects.lock_project(session, project_id)
    await projects.require_member(session, project, user.id, projects.MANAGERS, "review applications")
    app = await _application(session, application_id, lock=True)
    _ensure_pending(app)
    app.status, app.status_reason = ApplicationStatus.rejected, reason
    app.reviewed_at, app.reviewed_by = utcnow(), user.id
    projects.touch(project)
    await _tell_applicant(session, app, project, "application_rejected", "Your application to {project} was declined",
                          "Your application for {role} was declined." + (f" Reason: {reason}" if reason else ""))


async def _tell_applicant(session: AsyncSession, app: Application, project: Project, kind: str, title: str,
                          body: str) -> None:
    """A decision on an application is a notification to the applicant (pushed live, e-mailed at once)."""
    role = await session.scalar(select(ProjectRole.role_title).where(ProjectRole.id == app.role_id)) or "the role"
    await notifications.notify(session, app.applicant_id, kind, title.format(project=project.name),
                               body=body.format(role=role), project_id=project.id,
                               data={"application_id": str(app.id), "role_id": str(app.role_id)})


async def withdraw(session: AsyncSession, user: User, application_id: uuid.UUID) -> None:
    first = await _application(session, application_id)
    if first.applicant_id != user.id:
        raise forbidden("Only the applicant can withdraw an application")
    project = await projects.lock_project(session, first.project_id)
    app = await _application(session, application_id, lock=True)
    _ensure_pending(app)
    app.status, app.status_reason = ApplicationStatus.withdrawn, "withdrawn by the applicant"
    projects.touch(project)


# ------------------------------------------------------------------ reading


def _view_query():
    return (select(Application, Project.name, ProjectRole.role_title, Profile.name)
            .join(Project, Project.id == Application.project_id)
            .join(ProjectRole, ProjectRole.id == Application.role_id)
            .outerjoin(Profile, Profile.user_id == Application.applicant_id)
            .execution_options(populate_existing=True))


def _out(row) -> ApplicationOut:
    app, project_name, role_title, applicant_name = row
    return ApplicationOut(id=app.id, project_id=app.project_id, project_name=project_name, role_id=app.role_id,
                          role_title=role_title, applicant_id=app.applicant_id, applicant_name=applicant_name,
                          cover_letter=app.cover_letter, status=app.status, status_reason=app.status_reason,
                          applied_at=app.applied_at, reviewed_at=app.reviewed_at)


async def get_view(session: AsyncSession, application_id: uuid.UUID) -> ApplicationOut:
    await session.flush()
    row = (await session.execute(_view_query().where(Application.id == application_id))).one()
    return _out(row)


async def _page(session: AsyncSession, condition: ColumnElement[bool],
                page: PageParams) -> tuple[list[ApplicationOut], int]:
    total = await session.scalar(select(func.count()).select_from(Application).where(condition))
    rows = (await session.execute(_view_query().where(condition)
                                  .order_by(Application.applied_at.desc(), Application.id.desc())
                                  .offset(page.offset).limit(page.limit))).all()
    return [_out(r) for r in rows], total or 0


async def list_for_project(session: AsyncSession, user: User, project_id: uuid.UUID, status: ApplicationStatus | None,
                           page: PageParams) -> tuple[list[ApplicationOut], int]:
    project = await session.get(Project, project_id)
    if project is None:
        raise not_found("Project")
    await projects.require_member(session, project, user.id, projects.MANAGERS, "see the project's applications")
    condition = Application.project_id == project_id
    if status is not None:
        condition = condition & (Application.status == status)
    return await _page(session, condition, page)


async def list_mine(session: AsyncSession, user: User, status: ApplicationStatus | None,
                    page: PageParams) -> tuple[list[ApplicationOut], int]:
    condition = Application.applicant_id == user.id
    if status is not None:
        condition = condition & (Application.status == status)
    return await _page(session, condition, page)
