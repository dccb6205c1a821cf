"""Project rules: creation, edits (roles by id, never destroying history), staffing, status, disposal,
admin hand-over, and the helpers the applications and team services share.

Locking order, followed by every write in every domain so concurrent writers never deadlock:
the project row first (`lock_project`), then role rows, then application/member rows.
Holding the project row also keeps the derived staffing fields (`is_fully_staffed`,
`open_skill_ids`, `open_payment_types`) consistent when several roles of one project change at once.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from geoalchemy2.elements import WKTElement
from geoalchemy2.shape import to_shape
from sqlalchemy import ColumnElement, and_, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.kernel.clock import utcnow
from api.kernel.paging import PageParams
from api.kernel.problems import Problem, conflict, field_error, forbidden, not_found
from api.projects.schemas import MembershipOut, ProjectCreate, ProjectOut, ProjectUpdate, RoleEdit, RoleOut
from db.models import Application, Message, Project, ProjectMember, ProjectRole, Skill, User
from db.models.enums import ApplicationStatus, MemberRole, PaymentType, ProjectStatus
from indexer import outbox

STALE_AFTER = timedelta(days=30)
MANAGERS = frozenset({MemberRole.admin, MemberRole.parent})
ADMINS = frozenset({MemberRole.admin})
EVERY_MEMBER = frozenset(MemberRole)

REASON_ROLE_FILLED = "role filled"
REASON_ROLE_REMOVED = "role removed"
REASON_PROJECT_DISPOSED = "project disposed"
REASON_ALREADY_MEMBER = "accepted for another role in this project"


# ------------------------------------------------------------------ access


async def lock_project(session: AsyncSession, project_id: uuid.UUID) -> Project:
    """Load the project with a row lock (SELECT ... FOR UPDATE); the first step of every write."""
    project = await session.scalar(select(Project).where(Project.id == project_id).with_for_update()
                                   .execution_options(populate_existing=True))
    if project is None:
        raise not_found("Project")
    return project


async def get_membership(session: AsyncSession, project_id: uuid.UUID, user_id: uuid.UUID,
                         *, lock: bool = False) -> ProjectMember | None:
    stmt = select(ProjectMember).where(ProjectMember.project_id == project_id, ProjectMember.user_id == user_id)
    if lock:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt.execution_options(populate_existing=True))


def _who(allowed: Iterable[MemberRole]) -> str:
    names = [r.value for r in MemberRole if r in set(allowed)]
    return " or ".join(f"{n}s" for n in names)


async def require_member(session: AsyncSession, project: Project, user_id: uuid.UUID,
                         allowed: frozenset[MemberRole], action: str, *, lock: bool = False) -> ProjectMember:
    """The caller's membership, if their member role may do `action`; 403 otherwise."""
    member = await get_membership(session, project.id, user_id, lock=lock)
    if member is None:
        raise forbidden(f"Only members of this project can {action}")
    if member.member_role not in allowed:
        raise forbidden(f"Only project {_who(allowed)} can {action} (you are a {member.member_role.value})")
    return member


def ensure_not_archived(project: Project) -> None:
    if project.status == ProjectStatus.disposed:
        raise conflict("This project is archived (disposed) and can no longer be changed")


def touch(project: Project) -> None:
    """Record activity (edits, status and membership changes, applications) for the 30-day rule."""
    project.last_activity_at = utcnow()


async def refresh_staffing(session: AsyncSession, project: Project) -> None:
    """Recompute the derived staffing fields from the live roles (call with the project locked)."""
    await session.flush()
    rows = (await session.execute(
        select(ProjectRole.skill_id, ProjectRole.payment_type, ProjectRole.slots_filled, ProjectRole.slots_available)
        .where(ProjectRole.project_id == project.id, ProjectRole.removed_at.is_(None)))).all()
    open_rows = [r for r in rows if r.slots_filled < r.slots_available]
    project.open_skill_ids = sorted({r.skill_id for r in open_rows})
    project.open_payment_types = sorted({PaymentType(r.payment_type).value for r in open_rows})
    # A project without roles is not "fully staffed": it has nothing to staff yet.
    project.is_fully_staffed = bool(rows) and all(r.slots_filled >= r.slots_available for r in rows)


async def searchable_change(session: AsyncSession, project: Project) -> None:
    """Staffing recomputed and the search index told, in this transaction."""
    await refresh_staffing(session, project)
    await session.flush()
    await outbox.record_change(session, "project", project.id)


async def close_pending(session: AsyncSession, condition: ColumnElement[bool], reason: str,
                        reviewer_id: uuid.UUID | None = None) -> int:
    """Close pending applications matching `condition` (never delete them); the reason is shown to applicants."""
    result = await session.execute(
        update(Application)
        .where(Application.status == ApplicationStatus.pending, condition)
        .values(status=ApplicationStatus.rejected, status_reason=reason, reviewed_at=utcnow(), reviewed_by=reviewer_id)
        .execution_options(synchronize_session=False))
    return result.rowcount or 0


async def _check_skills(session: AsyncSession, skill_ids: dict[str, int]) -> None:
    """`skill_ids` maps a field path to a skill id; unknown ids become 422 errors naming the field."""
    if not skill_ids:
        return
    known = set((await session.scalars(select(Skill.id).where(Skill.id.in_(set(skill_ids.values()))))).all())
    errors = [{"field": f, "reason": f"no skill with id {sid}"} for f, sid in skill_ids.items() if sid not in known]
    if errors:
        raise Problem(422, "; ".join(f"{e['field']}: {e['reason']}" for e in errors), errors=errors)


def _point(latitude: float, longitude: float) -> WKTElement:
    return WKTElement(f"POINT({longitude!r} {latitude!r})", srid=4326)


# ------------------------------------------------------------------ create / edit


async def create_project(session: AsyncSession, user: User, body: ProjectCreate) -> uuid.UUID:
    await _check_skills(session, {f"roles.{i}.skill_id": r.skill_id for i, r in enumerate(body.roles)})
    now = utcnow()
    project = Project(creator_id=user.id, name=body.name, description=body.description,
                      project_type=body.project_type, release_platform=body.release_platform,
                      estimated_completion=body.estimated_completion, city=body.city, state=body.state,
                      country=body.country, status=ProjectStatus.active, is_fully_staffed=False,
                      open_skill_ids=[], open_payment_types=[], last_activity_at=now, updated_at=now)
    if body.latitude is not None and body.longitude is not None:
        project.location = _point(body.latitude, body.longitude)
    session.add(project)
    await session.flush()
    for i, role in enumerate(body.roles):
        # Microsecond steps keep the given order (roles are listed by created_at).
        session.add(ProjectRole(project_id=project.id, slots_filled=0, created_at=now + timedelta(microseconds=i),
                                **role.model_dump()))
    # The creator starts as the admin.
    session.add(ProjectMember(project_id=project.id, user_id=user.id, member_role=MemberRole.admin, joined_at=now))
    await searchable_change(session, project)
    return project.id


_PLAIN_FIELDS = ("name", "description", "project_type", "release_platform", "estimated_completion",
                 "city", "state", "country")


async def update_project(session: AsyncSession, project_id: uuid.UUID, user: User, body: ProjectUpdate) -> None:
    project = await lock_project(session, project_id)
    await require_member(session, project, user.id, ADMINS, "edit the project")
    ensure_not_archived(project)
    given = body.model_fields_set
    for field in _PLAIN_FIELDS:
        if field in given:
            setattr(project, field, getattr(body, field))
    if "latitude" in given:
        project.location = (None if body.latitude is None or body.longitude is None
                            else _point(body.latitude, body.longitude))
    if "roles" in given and body.roles is not None:
        await _edit_roles(session, project, body.roles, user.id)
    if "status" in given and body.status is not None and body.status != project.status:
        await set_status(session, project, body.status, MemberRole.admin, user.id, record=False)
    project.updated_at = utcnow()
    touch(project)
    await searchable_change(session, project)


async def _edit_roles(session: AsyncSession, project: Project, roles: Sequence[RoleEdit],
                      user_id: uuid.UUID) -> None:
    """Roles with `id` are edited in place, roles without `id` are added, live roles left out are removed
    (soft: `removed_at`), but never one that still has accepted members."""
    live = {r.id: r for r in (await session.scalars(
        select(ProjectRole).where(ProjectRole.project_id == project.id, ProjectRole.removed_at.is_(None))
        .order_by(ProjectRole.created_at, ProjectRole.id).with_for_update()
        .execution_options(populate_existing=True))).all()}
    errors: list[dict[str, str]] = []
    seen: set[uuid.UUID] = set()
    for i, edit in enumerate(roles):
        if edit.id is None:
            continue
        if edit.id in seen:
            errors.append({"field": f"roles.{i}.id", "reason": "this role is listed twice"})
        elif edit.id not in live:
            errors.append({"field": f"roles.{i}.id", "reason": "no live role with this id in this project"})
        seen.add(edit.id)
    for i, edit in enumerate(roles):
        current = live.get(edit.id) if edit.id else None
        payment_type = edit.payment_type or (current.payment_type if current else None)
        amount = edit.payment_amount if "payment_amount" in edit.model_fields_set else (
            current.payment_amount if current else None)
        if payment_type == PaymentType.unpaid and amount not in (None, 0):
            errors.append({"field": f"roles.{i}.payment_amount",
                           "reason": "payment_amount must be empty or 0 for an unpaid role"})
    if errors:
        raise Problem(422, "; ".join(f"{e['field']}: {e['reason']}" for e in errors), errors=errors)
    await _check_skills(session, {f"roles.{i}.skill_id": e.skill_id for i, e in enumerate(roles)
                                  if e.skill_id is not None})

    blocked = [r for rid, r in live.items() if rid not in seen and r.slots_filled > 0]
    if blocked:
        names = ", ".join(f"'{r.role_title}' ({r.slots_filled} accepted member(s))" for r in blocked)
        raise conflict(f"Cannot remove role(s) {names}: remove those members first, or keep the role in `roles` "
                       f"(with its id)",
                       errors=[{"field": "roles", "reason": f"role {r.id} has accepted members"} for r in blocked])
    for i, edit in enumerate(roles):
        if edit.id and edit.slots_available is not None and edit.slots_available < live[edit.id].slots_filled:
            current = live[edit.id]
            raise conflict(f"Role '{current.role_title}' already has {current.slots_filled} accepted member(s); "
                           f"slots_available cannot go below that",
                           errors=[{"field": f"roles.{i}.slots_available",
                                    "reason": f"must be at least {current.slots_filled} (slots already filled)"}])

    now = utcnow()
    for i, edit in enumerate(roles):
        values = edit.model_dump(exclude={"id"}, exclude_unset=True)
        if edit.id is None:
            values.setdefault("slots_available", 1)
            session.add(ProjectRole(project_id=project.id, slots_filled=0, created_at=now + timedelta(microseconds=i),
                                    **values))
        else:
            for field, value in values.items():
                setattr(live[edit.id], field, value)
    removed = [rid for rid in live if rid not in seen]
    if removed:
        for rid in removed:
            live[rid].removed_at = now
        await close_pending(session, Application.role_id.in_(removed), REASON_ROLE_REMOVED, user_id)
    await session.flush()
    # Roles that became full by lowering their slots close their queue like an accept would.
    filled = [r.id for r in live.values() if r.removed_at is None and r.slots_filled >= r.slots_available]
    if filled:
        await close_pending(session, Application.role_id.in_(filled), REASON_ROLE_FILLED, user_id)


async def set_status(session: AsyncSession, project: Project, new_status: ProjectStatus, actor_role: MemberRole,
                     actor_id: uuid.UUID | None, *, record: bool = True) -> tuple[ProjectStatus, int]:
    """Change the status (caller has locked the project and checked membership). Returns (old status, closed)."""
    ensure_not_archived(project)
    if new_status == ProjectStatus.dead:
        raise field_error("status", "'dead' is set automatically after 30 days without activity")
    if new_status == ProjectStatus.disposed and actor_role != MemberRole.admin:
        raise forbidden("Only project admins can dispose (archive) a project")
    old = project.status
    closed = 0
    if new_status == ProjectStatus.disposed:
        closed = await close_pending(session, Application.project_id == project.id, REASON_PROJECT_DISPOSED, actor_id)
    project.status = new_status
    project.updated_at = utcnow()
    touch(project)
    if record:
        await searchable_change(session, project)
    return old, closed


async def dispose_project(session: AsyncSession, project_id: uuid.UUID, user: User) -> tuple[ProjectStatus, int]:
    project = await lock_project(session, project_id)
    await require_member(session, project, user.id, ADMINS, "delete (archive) the project")
    return await set_status(session, project, ProjectStatus.disposed, MemberRole.admin, user.id)


async def transfer_admin(session: AsyncSession, project_id: uuid.UUID, user: User,
                         target_id: uuid.UUID) -> MemberRole:
    """Hand admin to another member; the caller stays on as a parent."""
    project = await lock_project(session, project_id)
    me = await require_member(session, project, user.id, ADMINS, "transfer the project", lock=True)
    ensure_not_archived(project)
    if target_id == user.id:
        raise field_error("user_id", "you are already an admin; choose another member")
    target = await get_membership(session, project.id, target_id, lock=True)
    if target is None:
        raise field_error("user_id", "not a member of this project")
    target.member_role = MemberRole.admin
    me.member_role = MemberRole.parent
    touch(project)
    return me.member_role


async def mark_stale_projects_dead(session: AsyncSession, *, now: datetime | None = None,
                                   idle: timedelta = STALE_AFTER, batch: int = 500) -> list[uuid.UUID]:
    """Active projects without activity (incl. chat messages) for `idle` become `dead`; one batch per call."""
    cutoff = (now or utcnow()) - idle
    recent_message = exists().where(Message.project_id == Project.id, Message.sent_at >= cutoff)
    ids = list((await session.scalars(
        select(Project.id).where(Project.status == ProjectStatus.active, Project.last_activity_at < cutoff,
                                 ~recent_message)
        .order_by(Project.last_activity_at, Project.id).limit(batch)
        .with_for_update(skip_locked=True))).all())
    if not ids:
        return []
    await session.execute(update(Project).where(Project.id.in_(ids))
                          .values(status=ProjectStatus.dead, updated_at=utcnow())
                          .execution_options(synchronize_session=False))
    for project_id in ids:
        await outbox.record_change(session, "project", project_id)
    return ids


# ------------------------------------------------------------------ reading


def _coords(project: Project) -> tuple[float | None, float | None]:
    if project.location is None:
        return None, None
    point = to_shape(project.location)
    return point.y, point.x


async def _roles_by_project(session: AsyncSession, project_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[RoleOut]]:
    """Live roles of many projects in one query (no N+1)."""
    out: dict[uuid.UUID, list[RoleOut]] = {pid: [] for pid in project_ids}
    if not project_ids:
        return out
    rows = (await session.execute(
        select(ProjectRole, Skill.name).join(Skill, Skill.id == ProjectRole.skill_id)
        .where(ProjectRole.project_id.in_(project_ids), ProjectRole.removed_at.is_(None))
        .order_by(ProjectRole.project_id, ProjectRole.created_at, ProjectRole.id)
        .execution_options(populate_existing=True))).all()
    for role, skill_name in rows:
        out[role.project_id].append(RoleOut(
            id=role.id, project_id=role.project_id, skill_id=role.skill_id, skill_name=skill_name,
            role_title=role.role_title, description=role.description, slots_available=role.slots_available,
            slots_filled=role.slots_filled, is_filled=role.is_filled, payment_type=role.payment_type,
            payment_amount=role.payment_amount, payment_details=role.payment_details, created_at=role.created_at))
    return out


def _project_fields(project: Project, roles: list[RoleOut]) -> dict:
    latitude, longitude = _coords(project)
    return dict(id=project.id, creator_id=project.creator_id, name=project.name, description=project.description,
                project_type=project.project_type, release_platform=project.release_platform,
                estimated_completion=project.estimated_completion, status=project.status,
                is_fully_staffed=project.is_fully_staffed, open_skill_ids=list(project.open_skill_ids or []),
                city=project.city, state=project.state, country=project.country, latitude=latitude,
                longitude=longitude, created_at=project.created_at, updated_at=project.updated_at,
                last_activity_at=project.last_activity_at, roles=roles)


async def project_views(session: AsyncSession, projects: Sequence[Project]) -> list[ProjectOut]:
    roles = await _roles_by_project(session, [p.id for p in projects])
    return [ProjectOut(**_project_fields(p, roles[p.id])) for p in projects]


async def get_project_view(session: AsyncSession, project_id: uuid.UUID, viewer: User | None) -> ProjectOut:
    await session.flush()
    project = await session.scalar(select(Project).where(Project.id == project_id)
                                   .execution_options(populate_existing=True))
    if project is None:
        raise not_found("Project")
    # Archived projects stay readable for their members only.
    if project.status == ProjectStatus.disposed and (
            viewer is None or await get_membership(session, project.id, viewer.id) is None):
        raise not_found("Project")
    return (await project_views(session, [project]))[0]


async def list_admin_projects(session: AsyncSession, user: User, page: PageParams) -> tuple[list[ProjectOut], int]:
    """`my/projects`: projects the caller runs (is an admin of); the creator is one until they hand it over."""
    mine = and_(ProjectMember.project_id == Project.id, ProjectMember.user_id == user.id,
                ProjectMember.member_role == MemberRole.admin)
    total = await session.scalar(select(func.count()).select_from(Project).join(ProjectMember, mine))
    projects = (await session.scalars(
        select(Project).join(ProjectMember, mine).order_by(Project.created_at.desc(), Project.id.desc())
        .offset(page.offset).limit(page.limit).execution_options(populate_existing=True))).all()
    return await project_views(session, projects), total or 0


async def list_memberships(session: AsyncSession, user: User, page: PageParams) -> tuple[list[MembershipOut], int]:
    """`my/memberships`: every project the caller belongs to, with their member role and role title."""
    mine = and_(ProjectMember.project_id == Project.id, ProjectMember.user_id == user.id)
    total = await session.scalar(select(func.count()).select_from(Project).join(ProjectMember, mine))
    rows = (await session.execute(
        select(Project, ProjectMember, ProjectRole.role_title).join(ProjectMember, mine)
        .outerjoin(ProjectRole, ProjectRole.id == ProjectMember.role_id)
        .order_by(ProjectMember.joined_at.desc(), Project.id.desc())
        .offset(page.offset).limit(page.limit).execution_options(populate_existing=True))).all()
    roles = await _roles_by_project(session, [p.id for p, _, _ in rows])
    return [MembershipOut(**_project_fields(p, roles[p.id]), member_role=m.member_role, member_role_id=m.role_id,
                          member_role_title=title, joined_at=m.joined_at) for p, m, title in rows], total or 0
