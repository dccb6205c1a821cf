"""The one clock for stored timestamps: timezone-aware UTC (columns are `timestamptz`)."""
from __future__ import annotations

from datetime import datetime, timezone


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
