"""Notification shapes: what the list, the Socket.IO `notification` event and the preferences carry."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

# What a notification is about; clients switch on it.
Kind = Literal["saved_search_match", "application_accepted", "application_rejected", "member_removed"]
EmailMode = Literal["instant", "daily", "none"]


class NotificationOut(BaseModel):
    """One notification, as listed and as pushed in the `notification` Socket.IO event."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    title: str
    body: str | None = None
    project_id: uuid.UUID | None = None
    data: dict = Field(default_factory=dict, description="Kind-specific ids, e.g. saved_search_id, application_id")
    read: bool
    created_at: datetime


class UnreadCount(BaseModel):
    unread: int


class MarkedRead(BaseModel):
    marked: int = Field(description="How many notifications this call marked read (already read ones are not counted)")


def _known_zone(value: str) -> str:
    if value not in _zones():
        raise ValueError("unknown time zone; use an IANA name such as Europe/Paris")
    return value


_ZONES: set[str] = set()


def _zones() -> set[str]:
    if not _ZONES:
        _ZONES.update(available_timezones())
    return _ZONES


TimeZone = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_known_zone)]


class PreferencesOut(BaseModel):
    email_enabled: bool = Field(description="false after an unsubscribe: nothing is e-mailed (notifications are "
                                            "still stored and pushed live)")
    timezone: str = Field(description="IANA time zone of the daily digest")
    digest_hour: int = Field(description="Local hour (0-23) at which the daily digest is sent")


class PreferencesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email_enabled: bool | None = None
    timezone: TimeZone | None = None
    digest_hour: Annotated[int, Field(ge=0, le=23)] | None = None


class Unsubscribed(BaseModel):
    message: str
    email_enabled: bool = False
