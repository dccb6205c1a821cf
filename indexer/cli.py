"""`filmo reindex` and `filmo index` (status, verify, rollback, ensure).

Failures are raised, not printed: `api/cli.py` turns each into one line on stderr and an exit code
(api/kernel/exit_codes.py). A command that finishes but finds something wrong exits with PROBLEM (1).
"""
from __future__ import annotations

import asyncio
import json
import sys
from enum import Enum

import typer
from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn,
                           TimeRemainingColumn)
from rich.table import Table

from api.kernel.exit_codes import ExitCode
from indexer.client import INDEXES


class Target(str, Enum):
    projects = "projects"
    profiles = "profiles"
    saved_searches = "saved_searches"  # the percolator index of saved searches (indexer/percolator.py)
    all = "all"


def _kinds(target: Target | None) -> tuple[str, ...]:
    """The search indexes of a target (the saved-search percolator index is rebuilt by `reindex` alone)."""
    if target == Target.saved_searches:
        return ()
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


def _problem(message: str, code: ExitCode = ExitCode.PROBLEM) -> None:
    """The command finished but something is wrong: one line on stderr, a non-zero exit code."""
    typer.echo(f"filmo: {message}", err=True)
    raise typer.Exit(int(code))


def register(app: typer.Typer) -> None:
    index_app = typer.Typer(help="Inspect and repair the search indexes.", no_args_is_help=True)
    app.add_typer(index_app, name="index")

    @app.command()
    def reindex(target: Target = typer.Argument(..., help="projects, profiles, saved_searches or all"),
                batch_size: int = typer.Option(
                    1000, min=50, max=10_000,
                    help="Rows per PostGIS query and per _bulk request (default: measured, see indexer/reindex.py)."),
                concurrency: int = typer.Option(
                    2, min=1, max=16, help="_bulk requests in flight at once (default: measured on 2 cores)."),
                if_needed: bool = typer.Option(False, "--if-needed",
                                               help="Skip an index that already matches (alias on the current "
                                                    "mapping version, same count as PostGIS): safe at every start."),
                restart: bool = typer.Option(False, "--restart",
                                             help="Drop an interrupted run's index and checkpoint; start over."),
                wait_lock: float = typer.Option(0, "--wait-lock", min=0,
                                                help="Seconds to wait for another reindex of the same index."),
                as_json: bool = typer.Option(False, "--json", help="Print the reports as JSON.")) -> None:
        """Build a new versioned index from search_mappings/, load it from PostGIS, swap the alias atomically.

        Resumable: after a crash or Ctrl-C, the same command carries on from its checkpoint."""
        from indexer.reindex import progress as read_progress
        from indexer.reindex import reindex as do_reindex
        from indexer.reindex import up_to_date

        console = _console(stderr=as_json)
        reports = []
        if target == Target.saved_searches:  # `all` is the search indexes; the percolator is rebuilt on its own
            from indexer.percolator import rebuild

            saved = _run(rebuild(batch_size))
            reports.append(saved)
            if not as_json:
                console.print(f"saved_searches: {saved['documents']} documents in {saved['index']}; "
                              f"deleted: {', '.join(saved['deleted']) or '-'}")
        for kind in _kinds(target):
            if if_needed:
                current, why = _run(up_to_date(kind))
                if current:
                    reports.append({"kind": kind, "skipped": True, "reason": why})
                    if not as_json:
                        console.print(f"{kind}: up to date ({why}), skipped")
                    continue
            if not restart:
                unfinished = _run(read_progress(kind))
                if unfinished and unfinished.get("state") in ("running", "interrupted") and not as_json:
                    console.print(f"{kind}: resuming {unfinished['index']} after {unfinished.get('loaded', 0)} "
                                  f"of {unfinished.get('total')} rows (--restart starts over)")
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

                report = _run(do_reindex(kind, batch_size=batch_size, concurrency=concurrency, progress=progress,
                                         restart=restart, wait_lock_s=wait_lock))
            reports.append(report.as_dict())
            if not as_json:
                console.print(f"{kind}: {report.documents} documents in {report.index} "
                              f"(PostGIS {report.postgis_count}), {report.caught_up} caught up, {report.seconds}s"
                              + (f", resumed after {report.resumed_from} rows" if report.resumed_from else "")
                              + (f", {report.retries} retried requests" if report.retries else "")
                              + f"; previous kept: {', '.join(report.previous) or '-'}; "
                              f"deleted: {', '.join(report.deleted) or '-'}")
                for doc_id, reason in report.failed_sample.items():
                    console.print(f"  refused {doc_id}: {reason}")
        if as_json:
            typer.echo(json.dumps(reports, indent=2))
        failed = {r["kind"]: r["failed"] for r in reports if r.get("failed")}
        if failed:
            _problem("reindex done, but OpenSearch refused "
                     + ", ".join(f"{n} {kind} document(s)" for kind, n in failed.items())
                     + " (listed in the report; fix them and run `filmo index verify --repair`)")

    @index_app.command("status")
    def index_status(target: Target = typer.Argument(Target.all),
                     failing_after: int = typer.Option(3, min=1, help="Show outbox rows with at least this many attempts."),
                     as_json: bool = typer.Option(False, "--json")) -> None:
        """Aliases and their indexes, document counts against PostGIS, the outbox backlog and what keeps failing,
        and the last reindex of each index. A service that cannot be asked shows "unknown" and sets the exit code."""
        from indexer.reindex import status

        data = _run(status(_kinds(target), failing_attempts=failing_after))
        if as_json:
            typer.echo(json.dumps(data, indent=2, default=str))
        else:
            _print_status(data)
        # Everything that could be asked is printed; the exit code says what could not (database first).
        for service, code in (("database", ExitCode.DATABASE_DOWN), ("opensearch", ExitCode.OPENSEARCH_DOWN),
                              ("redis", ExitCode.REDIS_DOWN)):
            if not data[service]["usable"]:
                _problem(f"index status: {service} unavailable ({data[service]['detail']}); "
                         "what it would tell is shown as unknown", code)

    @index_app.command("verify")
    def index_verify(target: Target = typer.Argument(Target.all),
                     repair: bool = typer.Option(False, "--repair", help="Rewrite missing/stale docs, delete extras."),
                     as_json: bool = typer.Option(False, "--json")) -> None:
        """Compare every index with PostGIS: documents missing, extra or stale (older version). Exit 1 on any."""
        from indexer.reindex import verify

        async def run_all():
            return [await verify(kind, repair=repair) for kind in _kinds(target)]

        reports = _run(run_all())
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
        missing = [f"{r['kind']}: {r['error']}" for r in reports if "error" in r]
        different = [r["kind"] for r in reports if "error" not in r and not r["ok"]]
        if missing or different:
            _problem("index verify: " + "; ".join(missing + ([f"differences in {', '.join(different)}"
                                                              + ("" if repair else " (`--repair` rewrites them)")]
                                                             if different else [])))

    @index_app.command("rollback")
    def index_rollback(target: Target = typer.Argument(..., help="projects, profiles or all"),
                       as_json: bool = typer.Option(False, "--json")) -> None:
        """Point the alias back at the index kept by the previous reindex and catch it up with PostGIS."""
        from indexer.reindex import rollback

        console = _console(stderr=as_json)
        reports = []
        for kind in _kinds(target):
            report = _run(rollback(kind))
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


def _print_status(data: dict) -> None:
    console = _console()
    unknown = "[yellow]unknown[/]"
    for service, label in (("opensearch", "OpenSearch"), ("database", "PostgreSQL"), ("redis", "Redis")):
        state = data[service]
        if service == "opensearch" or not state["usable"]:
            console.print(f"{label}: {'[green]usable' if state['usable'] else '[red]NOT usable'}[/] ({state['detail']})")
    table = Table("alias", "index", "docs", "PostGIS", "mapping", "older indexes", "last reindex")
    for entry in data["indexes"]:
        docs, pg = entry.get("doc_count"), entry["postgis_count"]
        if entry["state"] == "unknown":
            index_cell, docs_cell, mapping, older = unknown, unknown, f"{unknown} (file v{entry['mapping_version']})", unknown
        else:
            index_cell = str(entry["index"]) if entry["index"] else "[red]missing[/]"
            docs_cell = "-" if docs is None else (f"{docs}" if docs == pg else f"[yellow]{docs}[/]")
            mapping = (f"v{entry['index_mapping_version']}" if entry["index_mapping_version"] is not None else "-")
            mapping += f" (file v{entry['mapping_version']})"
            if entry["reindex_needed"]:
                mapping += " [yellow]reindex needed[/]"
            older = ", ".join(entry["other_indexes"] or []) or "-"
        table.add_row(entry["alias"], index_cell, docs_cell, unknown if pg is None else str(pg), mapping, older,
                      _reindex_cell(entry.get("reindex"), data["redis"]["usable"]))
    console.print(table)
    outbox = data["outbox"]
    if outbox is None:
        console.print(f"outbox backlog: {unknown} (PostgreSQL not reachable)")
        return
    age = "-" if outbox["oldest_age_s"] is None else f"{outbox['oldest_age_s']}s"
    console.print(f"outbox backlog: {outbox['backlog']} {outbox['by_entity'] or ''}, oldest: {age}, "
                  f"failing (attempts >= {outbox['failing_threshold']}): {outbox['failing']}")
    if outbox["failing_rows"]:
        failing = Table("outbox id", "entity", "entity id", "attempts", "last attempt", "last error")
        for row in outbox["failing_rows"]:
            failing.add_row(str(row["id"]), row["entity"], row["entity_id"], str(row["attempts"]),
                            str(row["last_attempt_at"]), (row["last_error"] or "")[:120])
        console.print(failing)


def _reindex_cell(run: dict | None, redis_usable: bool) -> str:
    if run is None:
        return "-" if redis_usable else "[yellow]unknown[/]"
    text = f"{run['state']} {run.get('loaded', 0)}/{run.get('total', '?')}"
    if run.get("failed"):
        text += f", {run['failed']} refused"
    if run["state"] in ("running", "interrupted"):
        text += " (run `filmo reindex` again to resume)" if run["state"] == "interrupted" else ""
    return text
