"""Saved-search shapes. `SearchFilters` holds the same filters as GET /search/projects, as JSON."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from api.search.schemas import Match
from db.models.enums import PaymentType, ProjectType

Frequency = Literal["instant", "daily"]
SearchableStatus = Literal["active", "completed", "shelved", "dead"]
MAX_SAVED_SEARCHES = 50  # per person: alerts are for a handful of searches, not a crawler


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value.strip()


class SearchFilters(BaseModel):
    """The filters of GET /search/projects (same names, same meaning); sorting and paging do not apply."""

    model_config = ConfigDict(extra="forbid")

    query: Annotated[str, Field(max_length=200)] | None = Field(
        None, description="Words that must all occur in name or description")
    city: Annotated[str, Field(max_length=120)] | None = Field(None, description="Exact city, case-insensitive")
    project_type: Annotated[list[ProjectType], Field(max_length=10)] = []
    skill_ids: Annotated[list[Annotated[int, Field(ge=1)]], Field(max_length=50)] = []
    match: Match = "any"
    payment_type: Annotated[list[PaymentType], Field(max_length=5)] = []
    status: Annotated[list[SearchableStatus], Field(max_length=4)] = Field(
        [], description="Empty: active and not fully staffed (the search default)")
    latitude: Annotated[float, Field(ge=-90, le=90)] | None = None
    longitude: Annotated[float, Field(ge=-180, le=180)] | None = None
    max_distance_km: Annotated[float, Field(gt=0, le=20000)] | None = None
    bbox: Annotated[str, Field(max_length=200)] | None = Field(None, description="min_lon,min_lat,max_lon,max_lat")
    fits_my_availability: bool = Field(False, description="Only projects within your travel radius whose shoot days "
                                                          "miss your unavailable days (kept up to date when you "
                                                          "change your availability)")


class SavedSearchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=120), AfterValidator(_not_blank)]
    filters: SearchFilters
    frequency: Frequency = Field("instant", description="instant: told (and e-mailed) at once; daily: in the "
                                                        "morning digest (still listed and pushed live at once)")


class SavedSearchUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=120), AfterValidator(_not_blank)] | None = None
    filters: SearchFilters | None = None
    frequency: Frequency | None = None


class SavedSearchOut(BaseModel):
    id: uuid.UUID
    name: str
    filters: SearchFilters
    frequency: Frequency
    created_at: datetime
    updated_at: datetime
