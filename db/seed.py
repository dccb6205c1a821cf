"""The skill catalogue (`filmo seed` loads it; the demo data set lives in api/maintenance/demo.py,
because it goes through the domain services)."""
from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from db.models import Skill
from db.session import unit_of_work

CATALOGUE = Path(__file__).with_name("skill_catalogue.json")


def catalogue() -> list[dict]:
    return json.loads(CATALOGUE.read_text())


async def seed_skills() -> int:
    """Insert catalogue skills that are missing (names are unique case-insensitively)."""
    async with unit_of_work() as session:
        existing = set(await session.scalars(select(func.lower(Skill.name))))
        rows = [row for row in catalogue() if row["name"].lower() not in existing]
        if rows:
            await session.execute(insert(Skill).values(rows).on_conflict_do_nothing())
        return len(rows)
