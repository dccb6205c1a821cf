"""Page-number paging shared by every list (the HTTP query form is api.http.pagination.Page)."""
from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field


class PageParams(BaseModel):
    """`?page=&limit=` for every list (1-based pages)."""

    page: Annotated[int, Field(ge=1, le=100_000)] = 1
    limit: Annotated[int, Field(ge=1, le=100)] = 20

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit
