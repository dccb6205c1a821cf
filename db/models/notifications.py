"""Notifications, their e-mail preferences, and saved searches with the record of what they alerted (issue 17)."""
from __future__ import annotations

import uuid
from datetime import date, datetime

from geoalchemy2 import Geometry
from sqlalchemy import (BigInteger, Boolean, CheckConstraint, Date, DateTime, ForeignKey, Identity, Index, SmallInteger,
                        String, Text, func, text)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, created_at_column


class Notification(Base):
    """Something a person is told. `email`: instant (sent at once), daily (in the morning digest) or none."""

    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint("email IN ('instant', 'daily', 'none')", name="email_mode"),
        Index("ix_notifications_user_id_id", "user_id", "id"),
        Index("ix_notifications_unread", "user_id", postgresql_where=text("read_at IS NULL")),
        Index("ix_notifications_digest_due", "user_id", "id",
              postgresql_where=text("email = 'daily' AND emailed_at IS NULL")),
        Index("ix_notifications_project_id", "project_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    body: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    project_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(16), nullable=False, server_default="instant")
    emailed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at_column()


class NotificationPreference(Base):
    """A person's e-mail settings; no row means the defaults (e-mail on, UTC, digest at 08:00)."""

    __tablename__ = "notification_preferences"
    __table_args__ = (CheckConstraint("digest_hour >= 0 AND digest_hour <= 23", name="digest_hour"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    email_enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    timezone: Mapped[str] = mapped_column(String(64), nullable=False, server_default="UTC")
    digest_hour: Mapped[int] = mapped_column(SmallInteger, nullable=False, server_default=text("8"))
    last_digest_on: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class SavedSearch(Base):
    """A person's project search (the /search/projects filters as JSON) that alerts on new matches."""

    __tablename__ = "saved_searches"
    __table_args__ = (
        CheckConstraint("frequency IN ('instant', 'daily')", name="frequency"),
        Index("ix_saved_searches_user_id", "user_id"),
        Index("ix_saved_searches_area", "area", postgresql_using="gist"),
        Index("ix_saved_searches_project_types", "project_types", postgresql_using="gin"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    filters: Mapped[dict] = mapped_column(JSONB, nullable=False)
    # The OpenSearch query of those filters (api.search builds it; the indexer copies it into the percolator index).
    query: Mapped[dict] = mapped_column(JSONB, nullable=False)
    frequency: Mapped[str] = mapped_column(String(16), nullable=False, server_default="instant")
    # Pre-filter copies for the PostGIS path (the percolator index carries the same two).
    project_types: Mapped[list[str]] = mapped_column(ARRAY(String(32)), nullable=False, server_default=text("'{}'"))
    area = mapped_column(Geometry(geometry_type="POLYGON", srid=4326, spatial_index=False), nullable=True)
    fits_my_availability: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    search_version: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default=text("1"))


class SavedSearchAlert(Base):
    """One row per (saved search, project) ever alerted: the primary key is the "never twice" rule."""

    __tablename__ = "saved_search_alerts"
    __table_args__ = (Index("ix_saved_search_alerts_project_id", "project_id"),)

    saved_search_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("saved_searches.id", ondelete="CASCADE"),
                                                       primary_key=True)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    notification_id: Mapped[int | None] = mapped_column(ForeignKey("notifications.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at_column()
