"""The search sync as the indexer and reindex tests see it: stored documents, outbox rows, row versions."""
from __future__ import annotations

import uuid

from sqlalchemy import select, text


async def os_doc(kind: str, doc_id) -> dict | None:
    """The document as stored (realtime GET: no refresh needed), or None."""
    from opensearchpy import NotFoundError

    from indexer.client import alias_name, get_client

    try:
        return await get_client().get(index=alias_name(kind), id=str(doc_id))
    except NotFoundError:
        return None


async def outbox_rows() -> list:
    from db.models import SearchOutbox
    from db.session import get_sessionmaker

    async with get_sessionmaker()() as session:
        return list((await session.scalars(select(SearchOutbox).order_by(SearchOutbox.id))).all())


async def row_version(table: str, row_id) -> int:
    from db.session import get_sessionmaker

    async with get_sessionmaker()() as session:
        return int((await session.execute(text(f"SELECT search_version FROM {table} WHERE id = :id"),
                                          {"id": row_id})).scalar())


async def ensure_aliases() -> None:
    from indexer.indexes import ensure_indexes

    await ensure_indexes()


async def seed_rows(projects: int, profiles: int = 0, poison: int | None = None) -> uuid.UUID:
    """Bulk rows straight in SQL (no outbox): what an existing database looks like before a reindex. Project
    number `poison` (if given) is named 'Poison pill'; returns the projects' owner."""
    from db.session import unit_of_work

    async with unit_of_work() as session:
        owner = (await session.execute(text(
            "INSERT INTO users (email, password_hash, is_verified) VALUES (:e, 'x', true) RETURNING id"),
            {"e": f"owner-{uuid.uuid4().hex[:8]}@example.com"})).scalar()
        await session.execute(text("""
            INSERT INTO projects (creator_id, name, description, project_type, city, location, open_skill_ids,
                                  open_payment_types)
            SELECT :owner, CASE WHEN g = :poison THEN 'Poison pill' ELSE 'Seeded project ' || g END, 'A seeded drama', 'short_film', 'Los Angeles',
                   ST_SetSRID(ST_MakePoint(-118.24 + (g % 50) * 0.01, 34.05 + (g % 37) * 0.01), 4326)::geography,
                   ARRAY[(g % 94) + 1], ARRAY['paid']
            FROM generate_series(1, :n) g"""), {"owner": owner, "n": projects, "poison": poison or -1})
        await session.execute(text("""
            INSERT INTO project_roles (project_id, skill_id, role_title, payment_type, slots_available, slots_filled)
            SELECT id, open_skill_ids[1], 'Seeded role', 'paid', 2, 0 FROM projects WHERE creator_id = :owner"""),
                              {"owner": owner})
        if profiles:
            tag = uuid.uuid4().hex[:6]
            await session.execute(text("""
                INSERT INTO users (email, password_hash, is_verified)
                SELECT 'seed-' || :tag || '-' || g || '@example.com', 'x', true FROM generate_series(1, :n) g"""),
                                  {"n": profiles, "tag": tag})
            await session.execute(text("""
                INSERT INTO user_profiles (user_id, name, city, skill_ids, location)
                SELECT id, 'Seeded person ' || id, 'London', ARRAY[18],
                       ST_SetSRID(ST_MakePoint(-0.12, 51.5), 4326)::geography
                FROM users WHERE email LIKE 'seed-' || :tag || '-%'"""), {"tag": tag})
    return owner
