"""Running infra/*.sh as a subprocess against throw-away services: their own data dir and ports.

The shared services of the test run (and a developer's platform in .data/) are never touched: every call
names its own FILMO_DATA_DIR and ports.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.helpers.run import REPO

# Settings from the run's environment that must not leak into a throw-away instance.
_DROP = ("FILMO_PG_FAST", "FILMO_DATA_DIR", "DATABASE_URL", "REDIS_URL", "OPENSEARCH_URL")
# Ports a caller does not name are free ones (set here, so neither this run's nor a .env file's apply).
_AUTO = ("FILMO_OPENSEARCH_TRANSPORT_PORT", "FILMO_TEST_PG_PORT", "FILMO_TEST_REDIS_PORT", "FILMO_TEST_OPENSEARCH_PORT",
         "FILMO_TEST_OPENSEARCH_TRANSPORT_PORT")


def script_env(**env: str) -> dict[str, str]:
    """The environment for an infra script: this process's, minus what would point it at other services."""
    base = {k: v for k, v in os.environ.items() if k not in _DROP and not k.startswith("FILMO_TEST_")}
    return {**base, **{var: "auto" for var in _AUTO}, **env}


def run_script(name: str, *args: str, env: dict[str, str], timeout: float = 300,
               prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """`bash infra/<name> args...` (after `prefix`, e.g. a `flock` the caller holds), output captured as text."""
    return subprocess.run([*prefix, "bash", str(REPO / "infra" / name), *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


def ports_file(data_dir: Path) -> dict[str, int]:
    """The ports services.sh says it uses for a data dir (it writes them to ports.env there)."""
    lines = (data_dir / "ports.env").read_text().splitlines()
    return {key: int(value) for key, value in (line.split("=", 1) for line in lines if "=" in line)}


async def pg_durability(port: int) -> dict[str, str]:
    """fsync, synchronous_commit and full_page_writes as the running Postgres on `port` has them now."""
    import asyncpg

    conn = await asyncpg.connect(host="127.0.0.1", port=port, user="filmo", password="filmo", database="filmo",
                                 timeout=10)
    try:
        return {name: await conn.fetchval(f"SHOW {name}") for name in ("fsync", "synchronous_commit",
                                                                       "full_page_writes")}
    finally:
        await conn.close()


def open_paths(pid: int) -> set[str]:
    """What the process's open descriptors point at (files, sockets, pipes)."""
    fds = Path(f"/proc/{pid}/fd")
    out = set()
    for fd in fds.iterdir():
        try:
            out.add(os.readlink(fd))
        except OSError:  # closed meanwhile
            pass
    return out
