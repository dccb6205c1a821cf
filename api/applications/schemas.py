"""Application bodies, as the original shaped them (plus `status_reason`, visible to the applicant)."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from api.kernel.bodies import Body
from db.models.enums import ApplicationStatus

CoverLetter = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class ApplyIn(Body):
    model_config = ConfigDict(extra="forbid")
    # An application as read (ApplicationOut), e.g. applying again after a withdrawal.
    READ_ONLY = frozenset({"id", "project_id", "project_name", "role_title", "applicant_id", "applicant_name",
                           "status", "status_reason", "applied_at", "reviewed_at"})

    role_id: uuid.UUID
    cover_letter: CoverLetter | None = None


class RejectIn(Body):
    """Optional body of a rejection: a reason the applicant will see."""

    model_config = ConfigDict(extra="forbid")
    # The application as read (ApplicationOut); its `status_reason` is not the rejection's `reason`.
    READ_ONLY = frozenset({"id", "project_id", "project_name", "role_id", "role_title", "applicant_id",
                           "applicant_name", "cover_letter", "status", "status_reason", "applied_at", "reviewed_at"})

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
