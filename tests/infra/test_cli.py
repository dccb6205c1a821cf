"""`filmo` as an operator scripts it: a subprocess against the real services and against closed ports.

Every failure is ONE line on stderr and the exit code documented in README.md ("Operator CLI",
api/kernel/exit_codes.py); a service that cannot be asked is "unknown", never "missing".
"""
from __future__ import annotations

import json
import re

import pytest

from tests.helpers.processes import cli, free_port
from tests.helpers.run import RUN_ID
from tests.helpers.waiting import eventually

pytestmark = pytest.mark.usefixtures("close_opensearch_client")

OK, PROBLEM, USAGE, BUSY, DATABASE_DOWN, OPENSEARCH_DOWN, REDIS_DOWN = 0, 1, 2, 3, 4, 5, 6


def one_line(result) -> str:
    """The failure's stderr: exactly one line, no traceback."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def closed_port() -> int:
    return free_port()  # bound and released: nothing listens there


def test_version_and_bad_arguments():
    version = cli("--version")
    assert version.returncode == OK
    assert re.fullmatch(r"filmo \S+ \(migrations head \w+; mappings projects v\d+, profiles v\d+\)\n", version.stdout)

    for args in (["reindex", "bogus"], ["reindex"], ["index", "nothing"], ["reindex", "all", "--batch-size", "1"],
                 ["no-such-command"]):
        result = cli(*args)
        assert result.returncode == USAGE, (args, result.stderr)
        assert one_line(result).startswith("filmo: ")


def test_opensearch_down_is_one_line_exit_5_and_unknown_in_status():
    env = {"OPENSEARCH_URL": f"http://127.0.0.1:{closed_port()}", "OPENSEARCH_INDEX_PREFIX": f"test_{RUN_ID}_down_"}
    status = cli("index", "status", env=env)
    assert status.returncode == OPENSEARCH_DOWN
    assert "opensearch unavailable" in one_line(status)
    assert "unknown" in status.stdout and "missing" not in status.stdout and "vNone" not in status.stdout
    data = json.loads(cli("index", "status", "--json", env=env).stdout)
    assert data["opensearch"]["usable"] is False and data["database"]["usable"] is True
    assert {entry["state"] for entry in data["indexes"]} == {"unknown"}
    assert all(entry["postgis_count"] is not None for entry in data["indexes"])  # PostGIS was asked

    for args in (["index", "ensure"], ["index", "verify"], ["reindex", "projects"], ["reindex", "all", "--if-needed"],
                 ["index", "rollback", "projects"]):
        result = cli(*args, env=env)
        assert result.returncode == OPENSEARCH_DOWN, (args, result.stdout, result.stderr)
        assert "OpenSearch unavailable at http://127.0.0.1:" in one_line(result)


def test_database_down_is_one_line_exit_4_and_never_prints_the_password():
    env = {"DATABASE_URL": f"postgresql+asyncpg://filmo:s3cret-pw@127.0.0.1:{closed_port()}/filmo"}
    status = cli("index", "status", env=env)
    assert status.returncode == DATABASE_DOWN
    assert "database unavailable" in one_line(status)
    assert "unknown" in status.stdout  # PostGIS counts and the outbox
    for args in (["migrate"], ["seed"], ["cleanup"], ["reindex", "projects"]):
        result = cli(*args, env=env)
        assert result.returncode == DATABASE_DOWN, (args, result.stdout, result.stderr)
        line = one_line(result)
        assert "PostgreSQL unavailable at 127.0.0.1:" in line and "s3cret-pw" not in result.stdout + result.stderr


def test_redis_down_is_exit_6():
    env = {"REDIS_URL": f"redis://127.0.0.1:{closed_port()}/0"}
    result = cli("reindex", "projects", env=env)
    assert result.returncode == REDIS_DOWN
    assert "Redis unavailable" in one_line(result)
    status = cli("index", "status", "--json", env=env)
    assert status.returncode == REDIS_DOWN and json.loads(status.stdout)["redis"]["usable"] is False


async def test_a_running_reindex_makes_another_exit_3_busy():
    from indexer.client import alias_name
    from indexer.indexes import redis_lock

    async with redis_lock(f"reindex:{alias_name('projects')}", ttl_s=30, wait_s=0):
        result = cli("reindex", "projects")
    assert result.returncode == BUSY
    assert one_line(result).startswith("filmo reindex: busy: another process holds")


def test_with_every_service_up_status_is_0(live_server):
    assert cli("index", "ensure").returncode == OK
    status = cli("index", "status", "--json")
    assert status.returncode == OK, status.stderr
    data = json.loads(status.stdout)
    assert all(data[s]["usable"] for s in ("opensearch", "database", "redis"))
    assert {entry["state"] for entry in data["indexes"]} == {"ok"}

    assert cli("health", "api", "--url", live_server.url).returncode == OK
    down = cli("health", "api", "--url", f"http://127.0.0.1:{closed_port()}")
    assert down.returncode == PROBLEM and "does not answer" in one_line(down)


async def test_health_worker_follows_the_dramatiq_heartbeat(start_worker):
    env = {"QUEUE_NAMESPACE": f"test-{RUN_ID}-health"}
    missing = cli("health", "worker", env=env)
    assert missing.returncode == PROBLEM and "no Dramatiq heartbeat" in one_line(missing)
    start_worker(extra_env=env)
    await eventually(lambda: cli("health", "worker", env=env).returncode == OK, timeout=60, interval=1)
