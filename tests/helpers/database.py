"""Looking at what the app sends to PostgreSQL."""
from __future__ import annotations

import contextlib


@contextlib.contextmanager
def count_statements():
    """Count SQL statements sent by the app's engine (this loop's engine is the one the ASGI app uses)."""
    from sqlalchemy import event

    from db.session import get_engine

    engine = get_engine().sync_engine
    seen: list[str] = []

    def _before(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", _before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", _before)
