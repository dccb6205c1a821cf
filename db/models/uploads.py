"""Stored files: portfolio items (the profile photo lives on the profile row)."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, created_at_column


class StoredFile(Base):
    """Every object the server stored, so deletes and replacements know exactly what to remove."""

    __tablename__ = "stored_files"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()"))
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    # "profile_photo" or "portfolio"
    purpose: Mapped[str] = mapped_column(String(32), nullable=False)
    # image | video | pdf
    file_type: Mapped[str] = mapped_column(String(16), nullable=False)
    content_type: Mapped[str] = mapped_column(String(100), nullable=False)
    storage_key: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    url: Mapped[str] = mapped_column(Text, nullable=False)
    size_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False)
    # Display only; never used to build a storage path.
    original_filename: Mapped[str | None] = mapped_column(String(255))
    # {"128": {"key":..., "url":...}, "512": {...}}
    thumbnails: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = created_at_column()
