"""`filmo`: the one command operators run (serve, worker, scheduler, migrate, seed, cleanup, reindex, index).

`main()` is the entry point: every failure becomes ONE line on stderr and an exit code from
api/kernel/exit_codes.py (README.md, "Operator CLI"), never a traceback: a service that is down is a condition
for the operator to fix or wait out, not a bug (FILMO_CLI_TRACEBACK=1 prints the traceback anyway).
"""
from __future__ import annotations

import logging
import os
import sys
import traceback
from enum import Enum

import typer

try:  # typer vendors its own click from 0.2x on; its exceptions are the ones raised
    from typer._click.exceptions import ClickException, UsageError
except ImportError:  # pragma: no cover - older typer on plain click
    from click.exceptions import ClickException, UsageError

from api.kernel.exit_codes import ExitCode

class _FilmoApp(typer.Typer):
    """`app()` with no arguments (what a console script generated before the entry point became `main` calls)
    runs `main()`, so every way of starting `filmo` reports failures the same way."""

    def __call__(self, *args, **kwargs):
        if args or kwargs:
            return super().__call__(*args, **kwargs)
        main()


app = _FilmoApp(help="Filmo operator commands. Exit codes: README.md, \"Operators\".", no_args_is_help=True,
                add_completion=False, pretty_exceptions_enable=False)


def _version_text() -> str:
    """The package version plus what it would build: the migration head and the index mapping versions."""
    from importlib.metadata import PackageNotFoundError, version

    from indexer.client import INDEXES
    from indexer.mappings import mapping_version

    try:
        package = version("filmo")
    except PackageNotFoundError:  # run from a checkout that was never installed
        package = "unknown"
    from alembic.script import ScriptDirectory

    from db.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    mappings = ", ".join(f"{kind} v{mapping_version(kind)}" for kind in INDEXES)
    return f"filmo {package} (migrations head {head}; mappings {mappings})"


def _show_version(value: bool) -> None:
    if value:
        typer.echo(_version_text())
        raise typer.Exit(0)


@app.callback()
def _root(version: bool = typer.Option(False, "--version", is_eager=True, callback=_show_version,
                                       help="Print the version (and migration head, mapping versions); exit.")) -> None:
    """Filmo operator commands."""


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
    """Apply database migrations (Alembic); nothing to do when the database is already there (safe at every start)."""
    from db.migrate import current_revision, upgrade

    before = current_revision()
    upgrade(revision=revision)
    after = current_revision()
    typer.echo(f"database already at {after}" if before == after else f"database migrated from {before} to {after}")


class Probe(str, Enum):
    api = "api"
    worker = "worker"
    scheduler = "scheduler"


@app.command()
def health(service: Probe = typer.Argument(..., help="api, worker or scheduler"),
           url: str = typer.Option("http://127.0.0.1:8000", help="The API's base URL (for `api`)."),
           max_age: float = typer.Option(60, min=1, help="Seconds: the freshest Dramatiq heartbeat must be younger.")
           ) -> None:
    """A container healthcheck (docker-compose.yml): exit 0 when healthy, 1 otherwise (one line saying why).

    api: GET /readyz answers 200. worker, scheduler: a Dramatiq process of this QUEUE_NAMESPACE wrote a heartbeat
    into Redis within MAX_AGE seconds (workers do on every fetch, the scheduler on every enqueue, every 10 s)."""
    if service is Probe.api:
        import httpx

        try:
            status = httpx.get(f"{url.rstrip('/')}/readyz", timeout=5).status_code
        except httpx.HTTPError as exc:
            _say(f"filmo health api: {url} does not answer ({type(exc).__name__})")
            raise typer.Exit(ExitCode.PROBLEM)
        if status != 200:
            _say(f"filmo health api: /readyz answered {status}")
            raise typer.Exit(ExitCode.PROBLEM)
        typer.echo("api ready")
        return
    import time

    import redis

    from api.kernel.settings import get_settings

    settings = get_settings()
    client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=3, socket_timeout=3)
    newest = client.zrevrange(f"{settings.queue_namespace}-dramatiq:__heartbeats__", 0, 0, withscores=True)
    age = time.time() - newest[0][1] / 1000 if newest else None
    if age is None or age > max_age:
        _say(f"filmo health {service.value}: no Dramatiq heartbeat in the last {max_age:.0f}s")
        raise typer.Exit(ExitCode.PROBLEM)
    typer.echo(f"{service.value}: last heartbeat {age:.1f}s ago")


def _register_subcommands() -> None:
    # Packages add their own commands (seed, cleanup, reindex, index ...).
    from api.maintenance.cli import register as register_maintenance
    from indexer.cli import register as register_indexer

    register_maintenance(app)
    register_indexer(app)


_register_subcommands()

_LONG_RUNNING = {"serve", "worker", "scheduler"}


def _command_name(argv: list[str]) -> str:
    words = [a for a in argv if not a.startswith("-")]
    return " ".join(words[:2] if words[:1] == ["index"] else words[:1]) or "filmo"


def _where_database() -> str:
    from sqlalchemy.engine import make_url

    from api.kernel.settings import get_settings

    url = make_url(get_settings().database_url)
    return f"{url.host}:{url.port or 5432}/{url.database}"  # never the password


def _where_url(raw: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(raw.split(",")[0].strip())
    return f"{parts.scheme}://{parts.hostname}:{parts.port}" if parts.hostname else raw


def _chain(exc: BaseException):
    """The exception, what it wraps (cause, context, SQLAlchemy's `orig`) and the members of exception groups."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            todo.extend(current.exceptions)
        todo.extend((current.__cause__, current.__context__, getattr(current, "orig", None)))


def describe_failure(exc: BaseException) -> tuple[ExitCode, str]:
    """(exit code, one line) for an exception that ended a command."""
    from opensearchpy.exceptions import ConnectionError as OpenSearchConnectionError
    from opensearchpy.exceptions import TransportError
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    from api.kernel.settings import get_settings
    from db.unavailable import is_database_unavailable
    from indexer.indexes import LockBusy
    from indexer.reindex import RETRY_STATUSES, ReindexFailed

    def short(error: BaseException) -> str:
        if isinstance(error, OpenSearchConnectionError) and getattr(error, "info", None) is not None:
            error = error.info  # the cause, without opensearch-py's repetition of it
        text = " ".join(str(error).split())
        return f"{type(error).__name__}: {text}"[:200]

    if is_database_unavailable(exc):
        return ExitCode.DATABASE_DOWN, f"PostgreSQL unavailable at {_where_database()} ({short(exc)})"
    for error in _chain(exc):
        if type(error).__name__ in ("UndefinedTableError", "InvalidCatalogNameError"):
            return ExitCode.PROBLEM, f"the database at {_where_database()} is not ready: {short(error)} " \
                                     "(run `filmo migrate`)"
        if isinstance(error, LockBusy):
            return ExitCode.BUSY, f"busy: {error} (--wait-lock SECONDS waits for it)"
        if isinstance(error, ReindexFailed):
            return ExitCode.PROBLEM, str(error)
        if isinstance(error, (RedisConnectionError, RedisTimeoutError)):
            return ExitCode.REDIS_DOWN, f"Redis unavailable at {_where_url(get_settings().redis_url)} ({short(error)})"
        if isinstance(error, OpenSearchConnectionError) or (
                isinstance(error, TransportError) and error.status_code in RETRY_STATUSES):
            return (ExitCode.OPENSEARCH_DOWN, f"OpenSearch unavailable at {_where_url(get_settings().opensearch_url)}"
                                              f" ({short(error)})")
        if isinstance(error, TransportError):
            return ExitCode.PROBLEM, f"OpenSearch refused a request: {short(error)}"
    return ExitCode.INTERNAL, f"unexpected error: {short(exc)} (FILMO_CLI_TRACEBACK=1 prints the traceback)"


def _quiet_libraries() -> None:
    """Operator commands report a failure in one line of ours: the clients' own per-attempt warnings (e.g.
    opensearch-py's "GET ... [status:N/A]") would repeat it several times."""
    logging.basicConfig(level=logging.ERROR, format="filmo: %(message)s", stream=sys.stderr)
    logging.getLogger("filmo.indexer").setLevel(logging.WARNING)  # e.g. "took over the lock of a dead run"
    for name in ("opensearch", "opensearchpy", "asyncio"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def _say(text: str) -> None:
    """One line on stderr, whatever the message holds (click's messages wrap choices over several lines)."""
    typer.echo(" ".join(text.split()), err=True)


def main(argv: list[str] | None = None) -> None:
    """The `filmo` console script: run a command, exit with its code (api/kernel/exit_codes.py)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    name = _command_name(argv)
    if name not in _LONG_RUNNING:
        _quiet_libraries()
    try:
        result = app(args=argv, prog_name="filmo", standalone_mode=False)
    except UsageError as exc:
        where = exc.ctx.command_path if exc.ctx else "filmo"
        _say(f"filmo: {exc.format_message()} (see `{where} --help`)")
        sys.exit(ExitCode.USAGE)
    except ClickException as exc:
        _say(f"filmo: {exc.format_message()}")
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        result = ExitCode.INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - every failure becomes one line and a documented code
        code, line = describe_failure(exc)
        if os.environ.get("FILMO_CLI_TRACEBACK") == "1":
            traceback.print_exc()
        _say(f"filmo {name}: {line}")
        sys.exit(code)
    if result == ExitCode.INTERRUPTED:  # typer turns Ctrl-C into exit code 130
        _say(f"filmo {name}: interrupted")
    sys.exit(result if isinstance(result, int) else ExitCode.OK)


if __name__ == "__main__":
    main()
