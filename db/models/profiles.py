"""Skills catalogue and people's profiles (location as geography)."""
from __future__ import annotations

import uuid
from datetime import datetime

from geoalchemy2 import Geography
from sqlalchemy import (BigInteger, Boolean, CheckConstraint, DateTime, Enum, ForeignKey, Index, Integer, String,
                        Text, func, text)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, created_at_column
from db.models.enums import Gender


class Skill(Base):
    __tablename__ = "skills"
    __table_args__ = (Index("uq_skills_name_lower", func.lower(text("name")), unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    category: Mapped[str] = mapped_column(String(60), nullable=False, index=True)
    # NULL for the seeded catalogue; the proposing user otherwise.
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at_column()


class Profile(Base):
    __tablename__ = "user_profiles"
    __table_args__ = (
        CheckConstraint("age IS NULL OR (age >= 13 AND age <= 120)", name="age_range"),
        CheckConstraint("years_of_experience IS NULL OR (years_of_experience >= 0 AND years_of_experience <= 80)",
                        name="experience_range"),
        Index("ix_user_profiles_skill_ids", "skill_ids", postgresql_using="gin"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    age: Mapped[int | None] = mapped_column(Integer)
    gender: Mapped[Gender | None] = mapped_column(Enum(Gender, native_enum=False, length=32, create_constraint=True,
                                                       name="gender"))
    profession: Mapped[str | None] = mapped_column(String(120))
    bio: Mapped[str | None] = mapped_column(Text)
    is_actor: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    profile_photo_url: Mapped[str | None] = mapped_column(Text)
    city: Mapped[str | None] = mapped_column(String(120))
    state: Mapped[str | None] = mapped_column(String(120))
    country: Mapped[str | None] = mapped_column(String(120))
    location = mapped_column(Geography(geometry_type="POINT", srid=4326, spatial_index=True), nullable=True)
    years_of_experience: Mapped[int | None] = mapped_column(Integer)
    previous_projects: Mapped[str | None] = mapped_column(Text)
    portfolio_url: Mapped[str | None] = mapped_column(Text)
    # Denormalised copy of profile_skills for GIN-indexed search; written only by the profile service.
    skill_ids: Mapped[list[int]] = mapped_column(ARRAY(Integer), nullable=False, server_default=text("'{}'"))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    # Grows with every change; the search index writes it as an external version.
    search_version: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default=text("1"))


class ProfileSkill(Base):
    __tablename__ = "profile_skills"

    profile_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_profiles.id", ondelete="CASCADE"), primary_key=True)
    skill_id: Mapped[int] = mapped_column(ForeignKey("skills.id"), primary_key=True, index=True)
