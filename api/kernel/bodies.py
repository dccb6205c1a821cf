"""Request bodies that take back what the client read.

A front end reads a resource, changes a field and sends the object back. Fields the server owns (ids,
timestamps, counters, names it joins in) are in the response but cannot be written: a body lists them in
`READ_ONLY` and they are dropped before validation, whatever their value, so the round trip works. Any
other field the body does not know keeps the body's own rule (`extra="forbid"` on projects, team and
applications: a misspelt field is a 422 naming it, rather than an edit silently lost).
"""
from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, model_validator


class Body(BaseModel):
    READ_ONLY: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _drop_read_only(cls, data: Any) -> Any:
        if isinstance(data, dict) and cls.READ_ONLY:
            return {key: value for key, value in data.items() if key not in cls.READ_ONLY}
        return data

