"""Shoot dates, availability and "who can work my shoot" shapes. Day ranges are inclusive: {start, end}."""
from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.search.reach import LOCAL_KM  # a travel radius below it (0 = "local only") reaches this far

__all__ = ["LOCAL_KM"]
MAX_RANGES = 100
MAX_TRAVEL_KM = 20000
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)


class DayRange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: date
    end: date = Field(description="Inclusive: a one-day shoot has start == end")

    @model_validator(mode="after")
    def _ordered(self) -> "DayRange":
        if self.end < self.start:
            raise ValueError("end must not be before start")
        if self.start < FIRST_DAY or self.end > LAST_DAY:
            raise ValueError(f"days must be within {FIRST_DAY} and {LAST_DAY}")
        return self


Ranges = Annotated[list[DayRange], Field(max_length=MAX_RANGES)]


class RoleShootDates(BaseModel):
    role_id: uuid.UUID
    role_title: str
    shoot_dates: list[DayRange] | None = Field(description="null: the project's dates apply")


class ShootDatesOut(BaseModel):
    project_id: uuid.UUID
    shoot_dates: list[DayRange] | None = Field(description="The project's shoot days; null when not planned yet")
    roles: list[RoleShootDates]


class ShootDatesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shoot_dates: Ranges | None = Field(None, description="The project's shoot days (several ranges allowed); "
                                                         "null or omitted: unchanged; [] clears them")
    roles: dict[uuid.UUID, Ranges | None] = Field(
        default_factory=dict, description="role id -> its own shoot days ([] or null: the project's apply)")


class AvailabilityOut(BaseModel):
    unavailable: list[DayRange] = Field(description="Days you are booked or unavailable")
    willing_to_travel_km: int = Field(description=f"How far you travel for a shoot; below {LOCAL_KM} km "
                                                  f"(0 = local only) counts as {LOCAL_KM} km")


class AvailabilityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unavailable: Ranges | None = None
    willing_to_travel_km: Annotated[int, Field(ge=0, le=MAX_TRAVEL_KM)] | None = None


class SkillOut(BaseModel):
    id: int
    name: str
    category: str | None = None


class CrewHit(BaseModel):
    profile_id: uuid.UUID
    user_id: uuid.UUID
    name: str
    profession: str | None = None
    city: str | None = None
    country: str | None = None
    years_of_experience: int | None = None
    profile_photo_url: str | None = None
    skills: list[SkillOut]
    willing_to_travel_km: int
    distance_km: int = Field(description="Whole km, at least 1, from the person's ~1 km grid point")
    score: float = Field(description="(1 + extra skills matched) x distance decay (gauss: 5 km offset, "
                                     "half at 50 km)")
