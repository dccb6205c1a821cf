"""Team management bodies, as the original shaped them (fields added, none removed)."""
from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from db.models.enums import ApplicationStatus, MemberRole, ProjectStatus


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: ProjectStatus


class StatusOut(BaseModel):
    message: str
    project_id: uuid.UUID
    old_status: ProjectStatus
    new_status: ProjectStatus


class PromoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

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
