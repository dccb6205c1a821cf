"""Project and role bodies. Field names and types follow the original product; limits are Filmo's."""
from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import (BaseModel, ConfigDict, Field, PlainSerializer, StringConstraints, ValidationInfo, field_validator,
                      model_validator)

from api.kernel.bodies import Body
from db.models.enums import MemberRole, PaymentType, ProjectStatus, ProjectType

MAX_ROLES = 50
MAX_SLOTS = 1000

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, max_length=120)]
Platform = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=10000)]
Details = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
SkillId = Annotated[int, Field(ge=1, le=2_147_483_647)]
Slots = Annotated[int, Field(ge=1, le=MAX_SLOTS)]
# numeric(12, 2) in the database: never a float on the way in.
MoneyIn = Annotated[Decimal, Field(ge=0, le=Decimal("9999999999.99"), max_digits=12, decimal_places=2,
                                   allow_inf_nan=False)]
# ... and a JSON number on the way out, as the original returned it.
MoneyOut = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]


# What a client reads (ProjectOut, MembershipOut, RoleOut) but cannot write: sent back, it is ignored.
ROLE_READ_ONLY = frozenset({"project_id", "skill_name", "slots_filled", "is_filled", "created_at"})
PROJECT_READ_ONLY = frozenset({"id", "creator_id", "is_fully_staffed", "open_skill_ids", "created_at", "updated_at",
                               "last_activity_at", "member_role", "member_role_id", "member_role_title", "joined_at"})


def _not_null(value):
    # Runs only for fields the client sent: an explicit null for a required field is an error.
    if value is None:
        raise ValueError("cannot be null")
    return value


def _amount_fits_type(amount: Decimal | None, info: ValidationInfo) -> Decimal | None:
    if info.data.get("payment_type") == PaymentType.unpaid and amount not in (None, Decimal(0)):
        raise ValueError("must be empty or 0 for an unpaid role")
    return amount


class RoleCreate(Body):
    model_config = ConfigDict(extra="forbid")
    READ_ONLY = ROLE_READ_ONLY | {"id"}

    skill_id: SkillId
    role_title: Name
    description: LongText | None = None
    slots_available: Slots = 1
    payment_type: PaymentType
    payment_amount: MoneyIn | None = None
    payment_details: Details | None = None

    _amount = field_validator("payment_amount")(_amount_fits_type)


class RoleEdit(Body):
    """A role in `PUT /projects/{id}`: with `id` it is edited in place (given fields only), without it is added."""

    model_config = ConfigDict(extra="forbid")
    READ_ONLY = ROLE_READ_ONLY

    id: uuid.UUID | None = None
    skill_id: SkillId | None = None
    role_title: Name | None = None
    description: LongText | None = None
    slots_available: Slots | None = None
    payment_type: PaymentType | None = None
    payment_amount: MoneyIn | None = None
    payment_details: Details | None = None

    _required = field_validator("skill_id", "role_title", "slots_available", "payment_type", mode="before")(_not_null)
    _amount = field_validator("payment_amount")(_amount_fits_type)

    @model_validator(mode="after")
    def _new_role_complete(self) -> "RoleEdit":
        if self.id is None:
            missing = [f for f in ("skill_id", "role_title", "payment_type") if getattr(self, f) is None]
            if missing:
                raise ValueError(f"a new role (no id) needs {', '.join(missing)}")
        return self


class _Location(Body):
    @model_validator(mode="after")
    def _pair(self):
        given = {"latitude", "longitude"} & self.model_fields_set
        if len(given) == 1:
            raise ValueError("latitude and longitude must be given together")
        if given and (self.latitude is None) != (self.longitude is None):
            raise ValueError("latitude and longitude must both be numbers or both be null")
        return self


class ProjectCreate(_Location):
    model_config = ConfigDict(extra="forbid")
    # A new project is active: a status sent back from another project is ignored too.
    READ_ONLY = PROJECT_READ_ONLY | {"status"}

    name: Name
    description: LongText | None = None
    project_type: ProjectType
    release_platform: Platform | None = None
    estimated_completion: date | None = None
    city: Short | None = None
    state: Short | None = None
    country: Short | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    roles: Annotated[list[RoleCreate], Field(max_length=MAX_ROLES)] = []


class ProjectUpdate(_Location):
    """Every field optional. `roles`, when given, is the full list of live roles (see service.update_project)."""

    model_config = ConfigDict(extra="forbid")
    READ_ONLY = PROJECT_READ_ONLY

    name: Name | None = None
    description: LongText | None = None
    project_type: ProjectType | None = None
    release_platform: Platform | None = None
    estimated_completion: date | None = None
    status: ProjectStatus | None = None
    city: Short | None = None
    state: Short | None = None
    country: Short | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    roles: Annotated[list[RoleEdit], Field(max_length=MAX_ROLES)] | None = None

    _required = field_validator("name", "project_type", "status", "roles", mode="before")(_not_null)


class TransferIn(Body):
    model_config = ConfigDict(extra="forbid")
    # A member as the members list shows them (api.team.schemas.MemberOut) may be sent as it is.
    READ_ONLY = frozenset({"name", "profession", "profile_photo_url", "member_role", "role_id", "role_title",
                           "joined_at"})

    user_id: uuid.UUID


class RoleOut(BaseModel):
    id: uuid.UUID
    project_id: uuid.UUID
    skill_id: int
    skill_name: str | None = None
    role_title: str
    description: str | None
    slots_available: int
    slots_filled: int
    is_filled: bool
    payment_type: PaymentType
    payment_amount: MoneyOut | None
    payment_details: str | None
    created_at: datetime


class ProjectOut(BaseModel):
    id: uuid.UUID
    creator_id: uuid.UUID
    name: str
    description: str | None
    project_type: ProjectType
    release_platform: str | None
    estimated_completion: date | None
    status: ProjectStatus
    is_fully_staffed: bool
    open_skill_ids: list[int]
    city: str | None
    state: str | None
    country: str | None
    latitude: float | None
    longitude: float | None
    created_at: datetime
    updated_at: datetime
    last_activity_at: datetime
    roles: list[RoleOut]


class MembershipOut(ProjectOut):
    """A project the caller belongs to, with the caller's place in it."""

    member_role: MemberRole
    member_role_id: uuid.UUID | None
    member_role_title: str | None
    joined_at: datetime


class DisposeOut(BaseModel):
    message: str
    project_id: uuid.UUID
    old_status: ProjectStatus
    new_status: ProjectStatus
    applications_closed: int


class TransferOut(BaseModel):
    message: str
    project_id: uuid.UUID
    new_admin_id: uuid.UUID
    previous_admin_id: uuid.UUID
    previous_admin_new_role: MemberRole
