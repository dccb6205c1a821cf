"""Projects, their roles, applications and team members."""
from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from geoalchemy2 import Geography
from sqlalchemy import (BigInteger, Boolean, CheckConstraint, Date, DateTime, Enum, ForeignKey, Index, Integer,
                        Numeric, String, Text, UniqueConstraint, func, text)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, created_at_column
from db.models.enums import ApplicationStatus, MemberRole, PaymentType, ProjectStatus, ProjectType


def _enum(e, name: str):
    return Enum(e, native_enum=False, length=32, create_constraint=True, name=name)


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (
        Index("ix_projects_open_skill_ids", "open_skill_ids", postgresql_using="gin"),
        Index("ix_projects_open_payment_types", "open_payment_types", postgresql_using="gin"),
        Index("ix_projects_status_staffed", "status", "is_fully_staffed"),
        Index("ix_projects_created_at", "created_at"),
    )
    # Not mapped: `search_text`, a tsvector PostgreSQL generates from name + description (migration 0002,
    # GIN-indexed), read only by the PostGIS search engine's SQL.

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()"))
    creator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    project_type: Mapped[ProjectType] = mapped_column(_enum(ProjectType, "project_type"), nullable=False)
    release_platform: Mapped[str | None] = mapped_column(String(200))
    estimated_completion: Mapped[date | None] = mapped_column(Date)
    status: Mapped[ProjectStatus] = mapped_column(_enum(ProjectStatus, "project_status"), nullable=False,
                                                  server_default=ProjectStatus.active.value)
    is_fully_staffed: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    city: Mapped[str | None] = mapped_column(String(120))
    state: Mapped[str | None] = mapped_column(String(120))
    country: Mapped[str | None] = mapped_column(String(120))
    location = mapped_column(Geography(geometry_type="POINT", srid=4326, spatial_index=True), nullable=True)
    # Skill ids of roles that still have free slots; kept by the project service for fast search.
    open_skill_ids: Mapped[list[int]] = mapped_column(ARRAY(Integer), nullable=False, server_default=text("'{}'"))
    # Payment types of roles that still have free slots (same rule); lets search filter and facet without a join.
    open_payment_types: Mapped[list[str]] = mapped_column(ARRAY(String(16)), nullable=False,
                                                          server_default=text("'{}'"))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    # Any edit, status change, membership change, application or chat message; drives the 30-day "dead" rule.
    last_activity_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                       nullable=False, index=True)
    search_version: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default=text("1"))


class ProjectRole(Base):
    __tablename__ = "project_roles"
    __table_args__ = (
        CheckConstraint("slots_available >= 1", name="slots_available_positive"),
        CheckConstraint("slots_filled >= 0 AND slots_filled <= slots_available", name="slots_filled_within"),
        CheckConstraint("payment_amount IS NULL OR payment_amount >= 0", name="payment_amount_non_negative"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()"))
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False,
                                                  index=True)
    skill_id: Mapped[int] = mapped_column(ForeignKey("skills.id"), nullable=False, index=True)
    role_title: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    slots_available: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))
    slots_filled: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    payment_type: Mapped[PaymentType] = mapped_column(_enum(PaymentType, "payment_type"), nullable=False)
    payment_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    payment_details: Mapped[str | None] = mapped_column(Text)
    # Removed roles stay for history (their applications are closed, never deleted).
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at_column()

    @property
    def is_filled(self) -> bool:
        return self.slots_filled >= self.slots_available


class Application(Base):
    __tablename__ = "applications"
    __table_args__ = (
        # One live (pending) application per person and role.
        Index("uq_applications_live", "role_id", "applicant_id", unique=True,
              postgresql_where=text("status = 'pending'")),
        Index("ix_applications_project_status", "project_id", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()"))
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False)
    role_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("project_roles.id", ondelete="CASCADE"), nullable=False,
                                               index=True)
    applicant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False,
                                                    index=True)
    cover_letter: Mapped[str | None] = mapped_column(Text)
    status: Mapped[ApplicationStatus] = mapped_column(_enum(ApplicationStatus, "application_status"), nullable=False,
                                                      server_default=ApplicationStatus.pending.value)
    # Why it was closed, visible to the applicant (e.g. "role filled", "role removed").
    status_reason: Mapped[str | None] = mapped_column(Text)
    applied_at: Mapped[datetime] = created_at_column()
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reviewed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class ProjectMember(Base):
    __tablename__ = "project_members"
    __table_args__ = (UniqueConstraint("project_id", "user_id"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()"))
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    # The role slot this member fills; NULL for the creator and members added without a role.
    role_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("project_roles.id", ondelete="SET NULL"), index=True)
    member_role: Mapped[MemberRole] = mapped_column(_enum(MemberRole, "member_role"), nullable=False,
                                                    server_default=MemberRole.child.value)
    joined_at: Mapped[datetime] = created_at_column()
