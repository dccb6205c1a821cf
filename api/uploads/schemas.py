"""Response shapes for uploads (the original API's {url, filename, file_type} plus what clients need next)."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from db.models import StoredFile


class StoredFileOut(BaseModel):
    id: uuid.UUID
    url: str
    filename: str = Field(description="Server-generated storage name (never the client's file name)")
    original_filename: str | None = Field(None, description="The name the client sent, for display only")
    file_type: Literal["image", "video", "pdf"]
    content_type: str = Field(description="Detected from the file's bytes")
    size_bytes: int
    thumbnails: dict[str, str] = Field(default_factory=dict, description='Thumbnail URLs by size: {"128": url, "512": url}')
    created_at: datetime

    @classmethod
    def from_row(cls, row: StoredFile) -> "StoredFileOut":
        return cls(id=row.id, url=row.url, filename=row.storage_key.rsplit("/", 1)[-1],
                   original_filename=row.original_filename, file_type=row.file_type, content_type=row.content_type,
                   size_bytes=row.size_bytes, thumbnails={size: t["url"] for size, t in (row.thumbnails or {}).items()},
                   created_at=row.created_at)


class PortfolioList(BaseModel):
    items: list[StoredFileOut]
    total: int


class MessageOut(BaseModel):
    message: str
