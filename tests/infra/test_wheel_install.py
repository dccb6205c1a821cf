"""The Docker path without Docker: build the wheel, install it into a fresh venv outside the checkout, and from
another working directory run what docker-compose.yml's migrate step runs, against the test services.

This is what a `pip install .` user or the image (infra/docker/Dockerfile) gets: no source tree, every runtime
file from the wheel's package data. Not skippable: a build or an install that fails fails the test.
Dependencies come from a wheelhouse in .data/wheelhouse (filled once from the index, pinned to the versions in
this run's venv), so later runs install offline.
"""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import yaml

from tests.helpers.run import OS_PORT, PG_ADMIN_URL, PG_PORT, REPO, RUN_ID, TMP

WHEELHOUSE = REPO / ".data" / "wheelhouse"
SOURCE_PARTS = ("pyproject.toml", "README.md", "api", "db", "indexer", "realtime", "search_mappings")
SKIP = shutil.ignore_patterns("__pycache__", "node_modules", "web", "*.egg-info", "build")


def run(args: list[str], *, cwd: Path, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    return result


def ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, f"{result.args}\nstdout:\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-3000:]}"
    return result


def build_wheel(work: Path) -> Path:
    """From a copy of what the Dockerfile copies (building in place would leave build/ in the checkout)."""
    source = work / "src"
    source.mkdir()
    for part in SOURCE_PARTS:
        origin = REPO / part
        if origin.is_dir():
            shutil.copytree(origin, source / part, ignore=SKIP)
        else:
            shutil.copy2(origin, source / part)
    ok(run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(work / "dist"), str(source)],
           cwd=work))
    (wheel,) = (work / "dist").glob("filmo-*.whl")
    return wheel


def install(work: Path, wheel: Path) -> Path:
    venv = work / "venv"
    ok(run([sys.executable, "-m", "venv", str(venv)], cwd=work))
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    offline = run([*pip, "--no-index", "--find-links", str(WHEELHOUSE), str(wheel)], cwd=work)
    if offline.returncode != 0:
        # Fill the wheelhouse with this venv's versions of every dependency (the first run; later ones are offline).
        frozen = run([sys.executable, "-m", "pip", "freeze", "--exclude", "filmo"], cwd=work).stdout.splitlines()
        constraints = work / "constraints.txt"
        constraints.write_text("\n".join(line for line in frozen if " @ " not in line and not line.startswith("-e")))
        WHEELHOUSE.mkdir(parents=True, exist_ok=True)
        # `pip wheel` copies filmo's own wheel there too; a later run's would then be taken for this one ("already
        # downloaded"), with the dependencies of the day it was built (a dependency added since: never fetched).
        for stale in WHEELHOUSE.glob("filmo-*.whl"):
            stale.unlink()
        ok(run([sys.executable, "-m", "pip", "wheel", "-q", "--wheel-dir", str(WHEELHOUSE), "--find-links",
                str(WHEELHOUSE), "--constraint", str(constraints), str(wheel)], cwd=work, timeout=900))
        for built in WHEELHOUSE.glob("filmo-*.whl"):
            built.unlink()
        ok(run([*pip, "--no-index", "--find-links", str(WHEELHOUSE), str(wheel)], cwd=work))
    return venv


async def create_database(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def drop_database(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def test_the_wheel_carries_every_runtime_file_and_runs_from_anywhere():
    work = TMP / "wheel"
    work.mkdir()
    wheel = build_wheel(work)

    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {"db/alembic.ini", "db/skill_catalogue.json", "db/migrations/env.py", "db/migrations/script.py.mako"}
    expected |= {f"search_mappings/{p.name}" for p in (REPO / "search_mappings").glob("*.json")}
    expected |= {f"db/migrations/versions/{p.name}" for p in (REPO / "db/migrations/versions").glob("*.py")}
    # The discover page's bundle, built by infra/install.sh (its .build.sha stamp is the install step's, not the
    # page's): the page is part of what ships.
    static = REPO / "api/discover/static"
    bundle = {str(p.relative_to(REPO)) for p in static.rglob("*") if p.is_file() and not p.name.startswith(".")}
    assert any(name.endswith(".js") for name in bundle), "api/discover/static has no bundle: run infra/install.sh"
    expected |= bundle
    assert expected <= names, sorted(expected - names)
    assert not any("node_modules" in name for name in names)

    venv = install(work, wheel)
    elsewhere = work / "elsewhere"  # no checkout here: nothing can be found relative to the working directory
    elsewhere.mkdir()
    database = f"filmo_test_{RUN_ID}_wheel"
    prefix = f"test_{RUN_ID}_wheel_"
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update({
        "PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        "DATABASE_URL": f"postgresql+asyncpg://filmo:filmo@127.0.0.1:{PG_PORT}/{database}",
        "OPENSEARCH_INDEX_PREFIX": prefix,
        "QUEUE_NAMESPACE": f"test-{RUN_ID}-wheel",
        "MAIL_DIR": str(work / "mail"),
        "MEDIA_ROOT": str(work / "media"),
    })
    filmo = str(venv / "bin" / "filmo")
    asyncio.run(create_database(database))
    try:
        where = ok(run([str(venv / "bin" / "python"), "-c", "import indexer.mappings as m, search_mappings as s; "
                        "print(m.__file__); print(s.__file__)"], cwd=elsewhere, env=env)).stdout
        assert all(line.startswith(str(venv)) for line in where.split()), where
        version = ok(run([filmo, "--version"], cwd=elsewhere, env=env)).stdout
        assert version.startswith("filmo 0.1.0 (migrations head ") and "projects v" in version

        # Exactly what docker-compose.yml's migrate service runs, from the installed wheel.
        command = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]["migrate"]["command"]
        first = ok(run(command, cwd=elsewhere, env=env))
        assert "database migrated from None to" in first.stdout
        assert "projects:" in first.stdout and "documents in" in first.stdout, first.stdout

        # A second `up`: nothing to migrate, nothing to rebuild.
        again = ok(run([filmo, "migrate"], cwd=elsewhere, env=env))
        assert "database already at" in again.stdout
        skipped = ok(run([filmo, "reindex", "all", "--if-needed"], cwd=elsewhere, env=env))
        assert skipped.stdout.count("up to date") == 2, skipped.stdout

        status = ok(run([filmo, "index", "status", "--json"], cwd=elsewhere, env=env))
        data = json.loads(status.stdout)
        assert data["opensearch"]["usable"] and data["database"]["usable"]
        projects = next(entry for entry in data["indexes"] if entry["kind"] == "projects")
        assert projects["state"] == "ok" and projects["doc_count"] == projects["postgis_count"] > 0
        assert projects["index"].startswith(f"{prefix}projects_v")
        human = ok(run([filmo, "index", "status"], cwd=elsewhere, env=env))
        assert f"{prefix}projects" in human.stdout and "outbox backlog" in human.stdout
    finally:
        asyncio.run(drop_database(database))
        httpx.delete(f"http://127.0.0.1:{OS_PORT}/{prefix}*", timeout=30)
        shutil.rmtree(work, ignore_errors=True)
