"""Skill bodies: `{id: int, name, category}` as in the original."""
from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

SkillName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=100)]
Category = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=60)]


class SkillCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: SkillName
    category: Category


class SkillOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    category: str
