"""`filmo`: the one command operators run (serve, worker, scheduler, migrate, seed, cleanup, reindex, index)."""
from __future__ import annotations

import os
import sys

import typer

app = typer.Typer(help="Filmo operator commands.", no_args_is_help=True, add_completion=False)


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1, reload: bool = False) -> None:
    """Run the API with Socket.IO (uvicorn)."""
    import uvicorn

    from api.kernel.settings import get_settings

    # Forwarded headers only from the proxies listed in FORWARDED_ALLOW_IPS (default none): otherwise any
    # process that can reach the port names its own client address and walks around the per-address limits.
    trusted = get_settings().forwarded_allow_ips.strip()
    # No per-message deflate: compressing every small chat frame cost more CPU than it saved (bench/realtime).
    uvicorn.run("api.main:app", host=host, port=port, workers=workers, reload=reload,
                proxy_headers=bool(trusted), forwarded_allow_ips=trusted,
                ws_per_message_deflate=False, log_config=None)


@app.command()
def worker(processes: int = 1, threads: int = 4) -> None:
    """Run the Dramatiq worker (every task module: search indexer, maintenance)."""
    from api.worker.registry import TASK_MODULES

    args = ["dramatiq", "api.worker.broker", *TASK_MODULES, "--processes", str(processes), "--threads", str(threads)]
    os.execvp(sys.executable, [sys.executable, "-m", *args])


@app.command()
def scheduler() -> None:
    """Run the scheduler that enqueues periodic jobs (outbox relay, nightly cleanup at 02:00 UTC)."""
    from api.kernel.logging import configure_logging
    from api.worker.scheduler import run_scheduler

    configure_logging()
    run_scheduler()


@app.command()
def migrate(revision: str = typer.Argument("head")) -> None:
    """Apply database migrations (Alembic)."""
    from db.migrate import upgrade

    upgrade(revision=revision)
    typer.echo(f"database migrated to {revision}")


def _register_subcommands() -> None:
    # Packages add their own commands (seed, cleanup, reindex, index ...).
    from api.maintenance.cli import register as register_maintenance
    from indexer.cli import register as register_indexer

    register_maintenance(app)
    register_indexer(app)


_register_subcommands()

if __name__ == "__main__":
    app()
