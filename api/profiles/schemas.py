"""Profile bodies. Field names and types follow the original product; limits are Filmo's."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from api.skills.schemas import SkillOut
from db.models.enums import Gender

MAX_SKILLS = 50


def _http_url(value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http(s) URL")
    return value


def _unique_ids(value: list[int] | None) -> list[int] | None:
    if value is None:
        return None
    return list(dict.fromkeys(value))  # drop repeats, keep the given order


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, max_length=120)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)]
Url = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2048), AfterValidator(_http_url)]
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
SkillIds = Annotated[list[Annotated[int, Field(ge=1, le=2_147_483_647)]], Field(max_length=MAX_SKILLS),
                     AfterValidator(_unique_ids)]


class _ProfileFields(BaseModel):
    model_config = ConfigDict(extra="ignore")

    age: Annotated[int, Field(ge=13, le=120)] | None = None
    gender: Gender | None = None
    profession: Short | None = None
    bio: LongText | None = None
    is_actor: bool | None = None
    profile_photo_url: Url | None = None
    city: Short | None = None
    state: Short | None = None
    country: Short | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    years_of_experience: Annotated[int, Field(ge=0, le=80)] | None = None
    previous_projects: LongText | None = None
    portfolio_url: Url | None = None
    skill_ids: SkillIds | None = None

    def point_problem(self) -> tuple[str, str] | None:
        """(field, reason) when only half a point was sent. 0.0 is a real coordinate: "missing" is only None."""
        sent = self.model_fields_set
        lat_sent, lon_sent = "latitude" in sent, "longitude" in sent
        if not lat_sent and not lon_sent:
            return None
        if not lon_sent or (self.latitude is not None and self.longitude is None):
            return "longitude", "latitude and longitude go together: send both, or both as null"
        if not lat_sent or (self.longitude is not None and self.latitude is None):
            return "latitude", "latitude and longitude go together: send both, or both as null"
        return None


class ProfileCreate(_ProfileFields):
    name: Name
    is_actor: bool = False
    skill_ids: SkillIds = Field(default_factory=list)


class ProfileUpdate(_ProfileFields):
    """Partial: only the fields sent change. Send null to clear an optional field."""

    name: Name | None = None

    @field_validator("name", "is_actor", "skill_ids")
    @classmethod
    def _not_null(cls, value):
        # Runs only for fields that were sent: these may be changed but never cleared.
        if value is None:
            raise ValueError("cannot be null")
        return value


class ProfileOut(BaseModel):
    id: uuid.UUID
    user_id: uuid.UUID
    name: str
    age: int | None
    gender: Gender | None
    profession: str | None
    bio: str | None
    is_actor: bool
    profile_photo_url: str | None
    city: str | None
    state: str | None
    country: str | None
    latitude: float | None = Field(description="exact for the owner; rounded to 2 decimals (~1 km) for others")
    longitude: float | None = Field(description="exact for the owner; rounded to 2 decimals (~1 km) for others")
    location_precision: str = Field(description="'exact' (owner) or 'approximate' (everyone else)")
    years_of_experience: int | None
    previous_projects: str | None
    portfolio_url: str | None
    skill_ids: list[int]
    skills: list[SkillOut]
    created_at: datetime
    updated_at: datetime
