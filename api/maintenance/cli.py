"""Operator commands for data upkeep: `filmo seed` (skill catalogue, demo data) and `filmo cleanup`
(the nightly cleanup on demand: the same code the scheduled actors run)."""
from __future__ import annotations

import asyncio
from enum import Enum

import typer


class Job(str, Enum):
    all = "all"
    projects = "projects"
    auth = "auth"


def register(app: typer.Typer) -> None:
    @app.command()
    def seed(demo: bool = typer.Option(False, help="Also load a small demo data set (idempotent).")) -> None:
        """Load the skill catalogue (and optionally demo people and projects)."""
        from api.maintenance.demo import seed_demo
        from db.seed import seed_skills
        from db.session import dispose_engine

        async def run() -> str:
            try:
                summary = f"skills: {await seed_skills()} added"
                if demo:
                    summary += "; " + await seed_demo()
                return summary
            finally:
                await dispose_engine()

        typer.echo(asyncio.run(run()))

    @app.command()
    def cleanup(only: Job = typer.Option(Job.all, help="Run one job: projects (stale -> dead) or auth "
                                                        "(expired codes and tokens).")) -> None:
        """Mark projects idle for 30 days dead; delete expired one-time codes and old refresh tokens."""
        from api.maintenance import service
        from db.session import dispose_engine

        async def run() -> list[str]:
            lines = []
            try:
                if only in (Job.all, Job.projects):
                    lines.append(f"stale projects marked dead: {await service.cleanup_stale_projects()}")
                if only in (Job.all, Job.auth):
                    otps, tokens = await service.cleanup_expired_auth_rows()
                    lines.append(f"one-time codes deleted: {otps}")
                    lines.append(f"refresh tokens deleted: {tokens}")
            finally:
                await dispose_engine()
            return lines

        for line in asyncio.run(run()):
            typer.echo(line)
