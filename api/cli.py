"""`filmo`: the one command operators run (serve, worker, scheduler, migrate, seed, cleanup, reindex, index)."""
from __future__ import annotations

import asyncio
import os
import sys

import typer

from api.core.settings import get_settings

app = typer.Typer(help="Filmo operator commands.", no_args_is_help=True, add_completion=False)


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1, reload: bool = False) -> None:
    """Run the API with Socket.IO (uvicorn)."""
    import uvicorn

    # No per-message deflate: compressing every small chat frame cost more CPU than it saved (bench/realtime).
    uvicorn.run("api.main:app", host=host, port=port, workers=workers, reload=reload, proxy_headers=True,
                ws_per_message_deflate=False, log_config=None)


@app.command()
def worker(processes: int = 1, threads: int = 4) -> None:
    """Run the Dramatiq worker (indexer and maintenance actors)."""
    from indexer.broker import ACTOR_MODULES

    args = ["dramatiq", "indexer.broker", *ACTOR_MODULES, "--processes", str(processes), "--threads", str(threads)]
    os.execvp(sys.executable, [sys.executable, "-m", *args])


@app.command()
def scheduler() -> None:
    """Run the scheduler that enqueues periodic jobs (outbox relay, nightly cleanup at 02:00 UTC)."""
    from api.core.logging import configure_logging
    from indexer.scheduler import run_scheduler

    configure_logging()
    run_scheduler()


@app.command()
def migrate(revision: str = typer.Argument("head")) -> None:
    """Apply database migrations (Alembic)."""
    from db.migrate import upgrade

    upgrade(revision=revision)
    typer.echo(f"database migrated to {revision}")


@app.command()
def seed(demo: bool = typer.Option(False, help="Also load a small demo data set (idempotent).")) -> None:
    """Load the skill catalogue (and optionally demo people and projects)."""
    from db.seed import seed_all

    summary = asyncio.run(seed_all(demo=demo))
    typer.echo(summary)


def _register_subcommands() -> None:
    # Domain packages add their own commands (cleanup, reindex, index ...).
    from api.maintenance.cli import register as register_maintenance
    from indexer.cli import register as register_indexer

    register_maintenance(app)
    register_indexer(app)


_register_subcommands()

if __name__ == "__main__":
    app()
