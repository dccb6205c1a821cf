"""Search test data (seeded rows, the run's index) and which engine must answer a search.

Rows are written through the ORM in one unit of work, with `record_change` for every searchable row
exactly as the domain services do, so the indexer picks them up like any other change.
"""
from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from geoalchemy2.elements import WKTElement

CITIES = {
    "Los Angeles": ("California", "United States", 34.0522, -118.2437),
    "New York": ("New York", "United States", 40.7128, -74.0060),
    "Atlanta": ("Georgia", "United States", 33.7490, -84.3880),
    "London": ("England", "United Kingdom", 51.5074, -0.1278),
}
WORDS = ["night", "harbor", "silent", "river", "neon", "dream", "glass", "summer", "echo", "winter", "shadow", "city",
         "Café", "Señor"]
PROJECT_TYPES = ["short_film", "feature_film", "series", "documentary", "music_video", "commercial"]
PAYMENTS = ["paid", "unpaid", "negotiable"]
SKILLS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 21]  # ids past 9: facet ties must order as numbers


def point(lat: float, lon: float) -> WKTElement:
    return WKTElement(f"POINT({lon} {lat})", srid=4326)


@dataclass
class Seeded:
    projects: list[dict] = field(default_factory=list)
    profiles: list[dict] = field(default_factory=list)
    users: list[uuid.UUID] = field(default_factory=list)


async def seed(n_projects: int = 60, n_profiles: int = 40, rng_seed: int = 7) -> Seeded:
    from db.models import Profile, ProfileSkill, Project, ProjectRole, User
    from db.session import unit_of_work
    from indexer.outbox import record_change

    rng = random.Random(rng_seed)
    out = Seeded()
    base = datetime(2026, 1, 1, tzinfo=timezone.utc)
    async with unit_of_work() as session:
        creators = []
        for i in range(n_profiles):
            user = User(email=f"seed-{i}-{uuid.uuid4().hex[:6]}@example.com", password_hash="x", is_verified=True,
                        is_active=(i % 13 != 5))
            session.add(user)
            creators.append(user)
        await session.flush()
        out.users = [u.id for u in creators]
        for i, user in enumerate(creators):
            city = rng.choice(list(CITIES))
            state, country, lat, lon = CITIES[city]
            skills = sorted(rng.sample(SKILLS, rng.randint(0, 3)))
            loc = None if i % 11 == 4 else (lat + rng.uniform(-0.4, 0.4), lon + rng.uniform(-0.4, 0.4))
            prof = Profile(user_id=user.id, name=f"{rng.choice(['Ana', 'Ben', 'Cleo', 'Dev', 'Eli', 'Chloé', 'Zoë'])} "
                                                 f"{rng.choice(['Stone', 'Rivera', 'Kim', 'Okafor'])} {i}",
                           profession=rng.choice(["Director of Photography", "Gaffer", "Editor", "Actor"]),
                           is_actor=(i % 3 == 0), city=city, state=state, country=country,
                           location=point(*loc) if loc else None,
                           years_of_experience=rng.randint(0, 20), skill_ids=skills,
                           created_at=base + timedelta(hours=i, milliseconds=rng.randint(0, 999)))
            session.add(prof)
            await session.flush()
            for s in skills:
                session.add(ProfileSkill(profile_id=prof.id, skill_id=s))
            await record_change(session, "profile", prof.id)
            out.profiles.append({"id": str(prof.id), "user_id": str(user.id), "skill_ids": skills,
                                 "active": user.is_active, "name": prof.name, "profession": prof.profession,
                                 "is_actor": prof.is_actor, "city": city, "loc": loc,
                                 "years": prof.years_of_experience, "created_at": prof.created_at})
        for i in range(n_projects):
            city = rng.choice(list(CITIES))
            state, country, lat, lon = CITIES[city]
            status = "active" if i % 9 else ["completed", "shelved", "dead", "disposed"][(i // 9) % 4]
            roles = []
            for j in range(rng.randint(0, 4)):
                slots = rng.randint(1, 3)
                roles.append(dict(skill_id=rng.choice(SKILLS), role_title=f"Role {j}", slots_available=slots,
                                  slots_filled=rng.randint(0, slots), payment_type=rng.choice(PAYMENTS),
                                  payment_amount=Decimal(rng.randint(0, 900)) if rng.random() < 0.7 else None))
            open_skills = sorted({r["skill_id"] for r in roles if r["slots_filled"] < r["slots_available"]})
            open_payments = sorted({r["payment_type"] for r in roles if r["slots_filled"] < r["slots_available"]})
            title = " ".join(rng.sample(WORDS, 2)).title()
            loc = None if i % 17 == 3 else (lat + rng.uniform(-0.6, 0.6), lon + rng.uniform(-0.6, 0.6))
            project = Project(creator_id=rng.choice(creators).id, name=f"{title} {i}",
                              description=f"A {rng.choice(WORDS)} story about {rng.choice(WORDS)}",
                              project_type=rng.choice(PROJECT_TYPES), status=status,
                              is_fully_staffed=bool(roles) and not open_skills, city=city, state=state,
                              country=country, open_skill_ids=open_skills, open_payment_types=open_payments,
                              location=point(*loc) if loc else None,
                              created_at=base + timedelta(minutes=7 * i, milliseconds=rng.randint(0, 999)))
            session.add(project)
            await session.flush()
            for j, r in enumerate(roles):
                session.add(ProjectRole(project_id=project.id, created_at=base + timedelta(seconds=j), **r))
            await record_change(session, "project", project.id)
            out.projects.append({
                "id": str(project.id), "creator_id": str(project.creator_id), "status": status,
                "open_skill_ids": open_skills, "is_fully_staffed": project.is_fully_staffed, "city": city,
                "name": project.name, "description": project.description, "project_type": project.project_type,
                "loc": loc, "created_at": project.created_at,
                "payment_types": open_payments})
    return out


def visible(p: dict) -> bool:
    """The default project filter: active and not fully staffed."""
    return p["status"] == "active" and not p["is_fully_staffed"]


async def reset_index() -> None:
    """Empty the run's aliases (tables are truncated after every test; documents would outlive them)."""
    from indexer.client import alias_name, get_client

    import json

    client = get_client()
    for kind in ("projects", "profiles"):
        alias = alias_name(kind)
        if not await client.indices.exists_alias(name=alias):
            continue
        res = await client.search(index=alias, body={"size": 10000, "_source": False,
                                                     "query": {"match_all": {}}})
        ids = [h["_id"] for h in res["hits"]["hits"]]
        if ids:
            body = "".join(json.dumps({"delete": {"_id": i}}) + "\n" for i in ids)
            await client.bulk(body=body, index=alias, params={"refresh": "true"})


async def index_pending() -> None:
    """Drain the outbox through the indexer's own sync path (what the worker runs), then refresh."""
    from sqlalchemy import select

    from db.models import SearchOutbox
    from db.session import get_sessionmaker
    from indexer.client import alias_name, get_client
    from indexer.sync import process_outbox

    async with get_sessionmaker()() as session:
        ids = list((await session.execute(select(SearchOutbox.id).order_by(SearchOutbox.id))).scalars())
    for start in range(0, len(ids), 500):
        await process_outbox(ids[start:start + 500])
    client = get_client()
    for kind in ("projects", "profiles"):
        await client.indices.refresh(index=alias_name(kind))


LA = (34.0537, -118.2421)  # off the 0.01° grid on purpose (no exact ties between grid points)


def answering(engine: str, path: str, params) -> str:
    """Which engine must answer. Located people searches need the snapped point in the people index;
    while its mapping lacks it, PostGIS answers them (and says so)."""
    from api.search.opensearch_engine import people_grid_indexed

    if engine == "opensearch" and path == "/users" and "latitude" in (params or {}) and not people_grid_indexed():
        return "postgis"
    return engine


def enveloped(path: str, params: dict | None) -> dict | None:
    """Ask hit lists for the full envelope (total, facets, next_cursor); the default is the original bare list."""
    return {**(params or {}), "envelope": "true"} if path in ("/projects", "/users") else params
