"""Team management: status, member roles, removal, leaving, members list and stats.

Hierarchy (full matrix in api/team/permissions.md): admins do everything; parents change the status,
review applications and remove children; children are members. There is always at least one admin.
"""
from __future__ import annotations

import uuid

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.chat import service as chat
from api.kernel.paging import PageParams
from api.kernel.problems import conflict, field_error, forbidden, not_found
from api.notifications import service as notifications
from api.projects import service as projects
from api.team.schemas import MemberOut, StatsOut
from db.models import Application, Message, Profile, Project, ProjectMember, ProjectRole, User
from db.models.enums import ApplicationStatus, MemberRole, ProjectStatus


async def _project(session: AsyncSession, project_id: uuid.UUID) -> Project:
    project = await session.get(Project, project_id)
    if project is None:
        raise not_found("Project")
    return project


async def _admin_count(session: AsyncSession, project_id: uuid.UUID) -> int:
    return await session.scalar(select(func.count()).select_from(ProjectMember).where(
        ProjectMember.project_id == project_id, ProjectMember.member_role == MemberRole.admin)) or 0


async def change_status(session: AsyncSession, user: User, project_id: uuid.UUID,
                        new_status: ProjectStatus) -> ProjectStatus:
    project = await projects.lock_project(session, project_id)
    me = await projects.require_member(session, project, user.id, projects.MANAGERS, "change the project status")
    old, _ = await projects.set_status(session, project, new_status, me.member_role, user.id)
    return old


async def promote(session: AsyncSession, user: User, project_id: uuid.UUID, target_id: uuid.UUID,
                  new_role: MemberRole) -> MemberRole:
    project = await projects.lock_project(session, project_id)
    await projects.require_member(session, project, user.id, projects.ADMINS, "change member roles")
    projects.ensure_not_archived(project)
    target = await projects.get_membership(session, project.id, target_id, lock=True)
    if target is None:
        raise not_found("Member")
    old = target.member_role
    if old == MemberRole.admin and new_role != MemberRole.admin and await _admin_count(session, project.id) <= 1:
        raise conflict("This is the project's last admin: make another member admin first")
    target.member_role = new_role
    projects.touch(project)
    return old


async def _free_membership(session: AsyncSession, project: Project, member: ProjectMember) -> str | None:
    """Delete the membership, give its role slot back and tell live sockets; returns the freed role's title."""
    role_title = None
    if member.role_id is not None:
        role_title = await session.scalar(
            update(ProjectRole).where(ProjectRole.id == member.role_id, ProjectRole.slots_filled > 0)
            .values(slots_filled=ProjectRole.slots_filled - 1).returning(ProjectRole.role_title)
            .execution_options(synchronize_session=False))
    await session.execute(delete(ProjectMember).where(ProjectMember.id == member.id)
                          .execution_options(synchronize_session=False))
    session.expunge(member)
    chat.member_removed(session, project.id, member.user_id)
    projects.touch(project)
    await projects.searchable_change(session, project)
    return role_title


async def remove_member(session: AsyncSession, user: User, project_id: uuid.UUID,
                        target_id: uuid.UUID) -> tuple[str | None, uuid.UUID | None]:
    project = await projects.lock_project(session, project_id)
    me = await projects.require_member(session, project, user.id, projects.MANAGERS, "remove members")
    projects.ensure_not_archived(project)
    target = await projects.get_membership(session, project.id, target_id, lock=True)
    if target is None:
        raise not_found("Member")
    if me.member_role == MemberRole.parent and target.member_role != MemberRole.child:
        raise forbidden(f"Parents can only remove children (this member is a {target.member_role.value})")
    if target_id == user.id:
        raise field_error("user_id", "you cannot remove yourself; use POST .../leave")
    # An admin removing another admin always leaves at least one (the caller).
    role_id = target.role_id
    role_title = await _free_membership(session, project, target)
    await notifications.notify(session, target_id, "member_removed", f"You were removed from {project.name}",
                               body=f"Your place as {role_title} is free again." if role_title else None,
                               project_id=project.id, data={"role_id": str(role_id) if role_id else None})
    return role_title, role_id


async def leave(session: AsyncSession, user: User, project_id: uuid.UUID) -> str | None:
    project = await projects.lock_project(session, project_id)
    me = await projects.require_member(session, project, user.id, projects.EVERY_MEMBER, "leave it", lock=True)
    projects.ensure_not_archived(project)
    if me.member_role == MemberRole.admin and await _admin_count(session, project.id) <= 1:
        raise conflict("You are the project's only admin: hand admin to another member first "
                       "(POST /api/v1/projects/{id}/transfer), or archive the project (DELETE /api/v1/projects/{id})")
    return await _free_membership(session, project, me)


_ROLE_ORDER = case({MemberRole.admin: 0, MemberRole.parent: 1}, value=ProjectMember.member_role, else_=2)


async def list_members(session: AsyncSession, user: User, project_id: uuid.UUID,
                       page: PageParams) -> tuple[list[MemberOut], int]:
    project = await _project(session, project_id)
    await projects.require_member(session, project, user.id, projects.EVERY_MEMBER, "see its members")
    total = await session.scalar(select(func.count()).select_from(ProjectMember)
                                 .where(ProjectMember.project_id == project_id))
    rows = (await session.execute(
        select(ProjectMember.user_id, Profile.name, Profile.profession, Profile.profile_photo_url,
               ProjectMember.member_role, ProjectMember.role_id, ProjectRole.role_title, ProjectMember.joined_at)
        .outerjoin(Profile, Profile.user_id == ProjectMember.user_id)
        .outerjoin(ProjectRole, ProjectRole.id == ProjectMember.role_id)
        .where(ProjectMember.project_id == project_id)
        .order_by(_ROLE_ORDER, ProjectMember.joined_at, ProjectMember.user_id)
        .offset(page.offset).limit(page.limit))).all()
    return [MemberOut(**row._mapping) for row in rows], total or 0


async def stats(session: AsyncSession, user: User, project_id: uuid.UUID) -> StatsOut:
    project = await _project(session, project_id)
    await projects.require_member(session, project, user.id, projects.EVERY_MEMBER, "see its stats")
    by_role = {MemberRole(r): n for r, n in (await session.execute(
        select(ProjectMember.member_role, func.count()).where(ProjectMember.project_id == project_id)
        .group_by(ProjectMember.member_role))).all()}
    by_status = {ApplicationStatus(s): n for s, n in (await session.execute(
        select(Application.status, func.count()).where(Application.project_id == project_id)
        .group_by(Application.status))).all()}
    roles, slots, filled = (await session.execute(
        select(func.count(), func.coalesce(func.sum(ProjectRole.slots_available), 0),
               func.coalesce(func.sum(ProjectRole.slots_filled), 0))
        .where(ProjectRole.project_id == project_id, ProjectRole.removed_at.is_(None)))).one()
    messages = await session.scalar(select(func.count()).select_from(Message).where(
        Message.project_id == project_id, Message.is_deleted.is_(False))) or 0
    return StatsOut(
        project_id=project.id, status=project.status, total_members=sum(by_role.values()), total_roles=roles,
        total_slots=slots, filled_slots=filled,
        completion_percentage=round(100.0 * filled / slots, 1) if slots else 0.0, message_count=messages,
        pending_applications=by_status.get(ApplicationStatus.pending, 0),
        members_by_role={r: by_role.get(r, 0) for r in MemberRole},
        applications_by_status={s: by_status.get(s, 0) for s in ApplicationStatus},
        last_activity_at=project.last_activity_at)
