"""The search sync as the indexer and reindex tests see it: stored documents, outbox rows, row versions."""
from __future__ import annotations

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
