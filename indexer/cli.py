"""`filmo reindex` and `filmo index` (status, verify, ensure)."""
from __future__ import annotations

import asyncio
import json
import sys
from enum import Enum

import typer
from opensearchpy.exceptions import OpenSearchException
from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn,
                           TimeRemainingColumn)
from rich.table import Table

from indexer.client import INDEXES


class Target(str, Enum):
    projects = "projects"
    profiles = "profiles"
    all = "all"


def _kinds(target: Target | None) -> tuple[str, ...]:
    return INDEXES if target in (None, Target.all) else (target.value,)


def _run(coro):
    """Run one command's coroutine and close this loop's clients (so no 'unclosed' warnings)."""
    async def wrapper():
        from api.kernel.redis import close_redis
        from db.session import dispose_engine
        from indexer.client import close_client

        try:
            return await coro
        finally:
            await close_client()
            await close_redis()
            await dispose_engine()

    return asyncio.run(wrapper())


def _console(stderr: bool = False) -> Console:
    """Rich console; wide when piped (logs, scripts) so tables are not folded to 80 columns."""
    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, width=None if stream.isatty() else 200)


def _fail(console: Console, message: str) -> None:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    index_app = typer.Typer(help="Inspect and repair the search indexes.", no_args_is_help=True)
    app.add_typer(index_app, name="index")

    @app.command()
    def reindex(target: Target = typer.Argument(..., help="projects, profiles or all"),
                batch_size: int = typer.Option(1000, min=50, max=10_000, help="Rows per PostGIS query and _bulk."),
                if_needed: bool = typer.Option(False, "--if-needed",
                                               help="Skip an index that already matches (alias on the current "
                                                    "mapping version, same count as PostGIS): safe at every start."),
                as_json: bool = typer.Option(False, "--json", help="Print the reports as JSON.")) -> None:
        """Build a new versioned index from search_mappings/, load it from PostGIS, swap the alias atomically."""
        from indexer.indexes import LockBusy
        from indexer.reindex import ReindexFailed, reindex as do_reindex, up_to_date

        console = _console(stderr=as_json)
        reports = []
        for kind in _kinds(target):
            if if_needed:
                try:
                    current, why = _run(up_to_date(kind))
                except OpenSearchException as exc:
                    _fail(console, f"OpenSearch: {type(exc).__name__}: {exc}")
                if current:
                    reports.append({"kind": kind, "skipped": True, "reason": why})
                    if not as_json:
                        console.print(f"{kind}: up to date ({why}), skipped")
                    continue
            columns = (TextColumn(f"[bold]{kind}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
                       TextColumn("{task.fields[rate]} docs/s"), TimeElapsedColumn(), TextColumn("ETA"),
                       TimeRemainingColumn())
            with Progress(*columns, console=console, transient=as_json) as bar:
                task = bar.add_task(kind, total=None, rate="-")

                def progress(event: str, n: int, task=task, bar=bar) -> None:
                    if event == "total":
                        bar.update(task, total=n)
                    else:
                        bar.advance(task, n)
                        speed = bar.tasks[task].speed
                        bar.update(task, rate=f"{speed:,.0f}" if speed else "-")

                try:
                    report = _run(do_reindex(kind, batch_size=batch_size, progress=progress))
                except LockBusy:
                    _fail(console, f"another reindex of {kind} is running")
                except ReindexFailed as exc:
                    _fail(console, str(exc))
                except OpenSearchException as exc:
                    _fail(console, f"OpenSearch: {type(exc).__name__}: {exc} (the alias was not switched)")
            reports.append(report.as_dict())
            if not as_json:
                console.print(f"{kind}: {report.documents} documents in {report.index} "
                              f"(PostGIS {report.postgis_count}), {report.caught_up} caught up, {report.seconds}s; "
                              f"previous kept: {', '.join(report.previous) or '-'}; "
                              f"deleted: {', '.join(report.deleted) or '-'}")
        if as_json:
            typer.echo(json.dumps(reports, indent=2))

    @index_app.command("status")
    def index_status(target: Target = typer.Argument(Target.all),
                     failing_after: int = typer.Option(3, min=1, help="Show outbox rows with at least this many attempts."),
                     as_json: bool = typer.Option(False, "--json")) -> None:
        """Aliases and their indexes, document counts against PostGIS, the outbox backlog and what keeps failing."""
        from indexer.reindex import status

        data = _run(status(_kinds(target), failing_attempts=failing_after))
        if as_json:
            typer.echo(json.dumps(data, indent=2, default=str))
            return
        console = _console()
        os_state = data["opensearch"]
        console.print(f"OpenSearch: {'[green]usable' if os_state['usable'] else '[red]NOT usable'}[/] "
                      f"({os_state['detail']})")
        table = Table("alias", "index", "docs", "PostGIS", "mapping", "older indexes")
        for entry in data["indexes"]:
            docs, pg = entry.get("doc_count"), entry["postgis_count"]
            docs_cell = "-" if docs is None else (f"{docs}" if docs == pg else f"[yellow]{docs}[/]")
            mapping = f"v{entry.get('index_mapping_version')} (file v{entry['mapping_version']})"
            if entry.get("reindex_needed"):
                mapping += " [yellow]reindex needed[/]"
            table.add_row(entry["alias"], str(entry.get("index") or "[red]missing[/]"), docs_cell, str(pg), mapping,
                          ", ".join(entry.get("other_indexes") or []) or "-")
        console.print(table)
        outbox = data["outbox"]
        age = "-" if outbox["oldest_age_s"] is None else f"{outbox['oldest_age_s']}s"
        console.print(f"outbox backlog: {outbox['backlog']} {outbox['by_entity'] or ''}, oldest: {age}, "
                      f"failing (attempts >= {outbox['failing_threshold']}): {outbox['failing']}")
        if outbox["failing_rows"]:
            failing = Table("outbox id", "entity", "entity id", "attempts", "last attempt", "last error")
            for row in outbox["failing_rows"]:
                failing.add_row(str(row["id"]), row["entity"], row["entity_id"], str(row["attempts"]),
                                str(row["last_attempt_at"]), (row["last_error"] or "")[:120])
            console.print(failing)

    @index_app.command("verify")
    def index_verify(target: Target = typer.Argument(Target.all),
                     repair: bool = typer.Option(False, "--repair", help="Rewrite missing/stale docs, delete extras."),
                     as_json: bool = typer.Option(False, "--json")) -> None:
        """Compare every index with PostGIS: documents missing, extra or stale (older version)."""
        from indexer.reindex import verify

        async def run_all():
            return [await verify(kind, repair=repair) for kind in _kinds(target)]

        try:
            reports = _run(run_all())
        except OpenSearchException as exc:
            _fail(_console(), f"OpenSearch: {type(exc).__name__}: {exc}")
        if as_json:
            typer.echo(json.dumps(reports, indent=2))
        else:
            console = _console()
            for report in reports:
                if "error" in report:
                    console.print(f"[red]{report['kind']}: {report['error']}")
                    continue
                line = ", ".join(f"{name} {report[name]['count']}" for name in ("missing", "extra", "stale"))
                console.print(f"{report['kind']} ({report['alias']}): {line}")
                for name in ("missing", "extra", "stale"):
                    if report[name]["sample"]:
                        console.print(f"  {name}: {' '.join(report[name]['sample'])}")
                if "repaired" in report:
                    after = report["after_repair"]
                    console.print(f"  repaired: {report['repaired']}; after repair: "
                                  + ", ".join(f"{n} {after[n]['count']}" for n in ("missing", "extra", "stale")))
                console.print("  [green]OK" if report["ok"] else "  [yellow]DIFFERENCES")
        if not all(r.get("ok") for r in reports):
            raise typer.Exit(1)

    @index_app.command("rollback")
    def index_rollback(target: Target = typer.Argument(..., help="projects, profiles or all"),
                       as_json: bool = typer.Option(False, "--json")) -> None:
        """Point the alias back at the index kept by the previous reindex and catch it up with PostGIS."""
        from indexer.indexes import LockBusy
        from indexer.reindex import ReindexFailed, rollback

        console = _console(stderr=as_json)
        reports = []
        for kind in _kinds(target):
            try:
                report = _run(rollback(kind))
            except LockBusy:
                _fail(console, f"a reindex of {kind} is running")
            except ReindexFailed as exc:
                _fail(console, str(exc))
            reports.append(report)
            if not as_json:
                console.print(f"{kind}: alias now on {report['index']} (was {', '.join(report['replaced']) or '-'}), "
                              f"{report['caught_up']} documents caught up")
        if as_json:
            typer.echo(json.dumps(reports, indent=2))

    @index_app.command("ensure")
    def index_ensure() -> None:
        """Create any missing alias with an empty index (what workers and the API do on first use)."""
        from indexer.indexes import ensure_indexes

        created = _run(ensure_indexes())
        typer.echo(f"created: {', '.join(created)}" if created else "all aliases exist")
