"""Run Alembic programmatically (used by `filmo migrate` and the test harness)."""
from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext

# Package data of the wheel (tests/infra/test_wheel_install.py runs `filmo migrate` from an installed wheel).
ALEMBIC_INI = resources.files("db").joinpath("alembic.ini")


def alembic_config(database_url: str | None = None) -> Config:
    cfg = Config(str(ALEMBIC_INI))
    if database_url:
        cfg.attributes["database_url"] = database_url
    return cfg


def current_revision(database_url: str | None = None) -> str | None:
    """The revision the database is at (None: empty database)."""
    import asyncio

    from sqlalchemy.ext.asyncio import create_async_engine

    from api.kernel.settings import get_settings

    async def read() -> str | None:
        engine = create_async_engine(database_url or get_settings().database_url)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())
        finally:
            await engine.dispose()

    return asyncio.run(read())


def upgrade(database_url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str | None = None, revision: str = "-1") -> None:
    command.downgrade(alembic_config(database_url), revision)
