"""Team management bodies, as the original shaped them (fields added, none removed)."""
from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from api.kernel.bodies import Body
from db.models.enums import ApplicationStatus, MemberRole, ProjectStatus


class StatusIn(Body):
    model_config = ConfigDict(extra="forbid")
    # The project as read (api.projects.schemas.ProjectOut) or its stats (StatsOut), with the status changed.
    READ_ONLY = frozenset({"id", "project_id", "creator_id", "name", "description", "project_type", "release_platform",
                           "estimated_completion", "is_fully_staffed", "open_skill_ids", "city", "state", "country",
                           "latitude", "longitude", "created_at", "updated_at", "last_activity_at", "roles",
                           "member_role", "member_role_id", "member_role_title", "joined_at", "total_members",
                           "total_roles", "total_slots", "filled_slots", "completion_percentage", "message_count",
                           "pending_applications", "members_by_role", "applications_by_status"})

    status: ProjectStatus


class StatusOut(BaseModel):
    message: str
    project_id: uuid.UUID
    old_status: ProjectStatus
    new_status: ProjectStatus


class PromoteIn(Body):
    model_config = ConfigDict(extra="forbid")
    # A member as listed (MemberOut), with member_role changed.
    READ_ONLY = frozenset({"user_id", "name", "profession", "profile_photo_url", "role_id", "role_title", "joined_at"})

    member_role: MemberRole


class PromoteOut(BaseModel):
    message: str
    user_id: uuid.UUID
    old_role: MemberRole
    new_role: MemberRole


class MemberOut(BaseModel):
    user_id: uuid.UUID
    name: str | None
    profession: str | None
    profile_photo_url: str | None
    member_role: MemberRole
    role_id: uuid.UUID | None
    role_title: str | None
    joined_at: datetime


class RemoveOut(BaseModel):
    message: str
    user_id: uuid.UUID
    # Title of the role whose slot was freed (null for members who held no role slot).
    role_freed: str | None
    role_id: uuid.UUID | None


class LeaveOut(BaseModel):
    message: str
    project_id: uuid.UUID
    role_freed: str | None


class StatsOut(BaseModel):
    project_id: uuid.UUID
    status: ProjectStatus
    total_members: int
    total_roles: int
    total_slots: int
    filled_slots: int
    completion_percentage: float
    message_count: int
    pending_applications: int
    members_by_role: dict[MemberRole, int]
    applications_by_status: dict[ApplicationStatus, int]
    last_activity_at: datetime
