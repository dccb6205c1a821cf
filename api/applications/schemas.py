"""Application bodies, as the original shaped them (plus `status_reason`, visible to the applicant)."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from db.models.enums import ApplicationStatus

CoverLetter = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class ApplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role_id: uuid.UUID
    cover_letter: CoverLetter | None = None


class RejectIn(BaseModel):
    """Optional body of a rejection: a reason the applicant will see."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason | None = None


class ApplicationOut(BaseModel):
    id: uuid.UUID
    project_id: uuid.UUID
    project_name: str
    role_id: uuid.UUID
    role_title: str
    applicant_id: uuid.UUID
    applicant_name: str | None
    cover_letter: str | None
    status: ApplicationStatus
    status_reason: str | None
    applied_at: datetime
    reviewed_at: datetime | None


class AcceptOut(BaseModel):
    message: str
    application_id: uuid.UUID
    member_id: uuid.UUID
    user_id: uuid.UUID
    role_id: uuid.UUID
    role_filled: bool
    applications_closed: int


class ReviewOut(BaseModel):
    message: str
    application_id: uuid.UUID
