"""Enums shared by models and schemas (values as in the original product)."""
from __future__ import annotations

import enum


class Gender(str, enum.Enum):
    male = "male"
    female = "female"
    other = "other"
    prefer_not_to_say = "prefer_not_to_say"


class ProjectType(str, enum.Enum):
    short_film = "short_film"
    feature_film = "feature_film"
    series = "series"
    documentary = "documentary"
    music_video = "music_video"
    commercial = "commercial"
    other = "other"


class ProjectStatus(str, enum.Enum):
    active = "active"
    completed = "completed"
    shelved = "shelved"
    disposed = "disposed"
    dead = "dead"


class PaymentType(str, enum.Enum):
    paid = "paid"
    unpaid = "unpaid"
    negotiable = "negotiable"


class ApplicationStatus(str, enum.Enum):
    pending = "pending"
    accepted = "accepted"
    rejected = "rejected"
    withdrawn = "withdrawn"


class MemberRole(str, enum.Enum):
    admin = "admin"
    parent = "parent"
    child = "child"


class OtpPurpose(str, enum.Enum):
    signup = "signup"
    reset = "reset"


def enum_values(e: type[enum.Enum]) -> list[str]:
    return [m.value for m in e]
