"""docker-compose.yml and the Dockerfile, read and checked against infra/ (there is no Docker engine on this
machine or in CI: the file is parsed, and its migrate command is run for real by test_wheel_install.py)."""
from __future__ import annotations

import re
import shutil
import subprocess

import yaml

from tests.helpers.run import REPO

LONG_RUNNING = ("postgis", "redis", "opensearch", "api", "worker", "scheduler")


def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_every_long_running_service_has_a_healthcheck_and_the_api_asks_readyz():
    services = compose()["services"]
    for name in LONG_RUNNING:
        check = services[name].get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), f"{name} has no healthcheck"
    api_check = " ".join(services["api"]["healthcheck"]["test"])
    # `filmo health api` is GET /readyz (api/cli.py); tests/infra/test_cli.py drives it against a live server.
    assert "filmo health api" in api_check
    assert "filmo health worker" in " ".join(services["worker"]["healthcheck"]["test"])
    for name in ("api", "worker", "scheduler"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_the_migrate_step_is_safe_at_every_start():
    command = compose()["services"]["migrate"]["command"]
    script = command[-1] if command[:2] == ["sh", "-c"] else " ".join(command)
    steps = [step.strip() for step in script.split("&&")]
    assert steps[0] == "filmo migrate"
    assert "filmo reindex all --if-needed" in steps, steps


def test_image_versions_match_what_infra_runs_locally():
    services = compose()["services"]
    pom = (REPO / "infra/opensearch/pom.xml").read_text()
    opensearch_version = re.search(r"<opensearch.version>([\d.]+)</opensearch.version>", pom).group(1)
    assert services["opensearch"]["image"] == f"opensearchproject/opensearch:{opensearch_version}"

    install = (REPO / "infra/install.sh").read_text()
    pg_major = re.search(r"postgresql-(\d+)\b", install).group(1)
    postgis_tag = services["postgis"]["image"].split(":")[1]
    assert postgis_tag.split("-")[0] == pg_major
    # The PostGIS and Redis versions infra/install.sh installed from Debian on this machine.
    postgis = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", f"postgresql-{pg_major}-postgis-3"],
                             capture_output=True, text=True, check=True).stdout
    assert postgis_tag.split("-")[1] == ".".join(postgis.split(".")[:2]), (postgis_tag, postgis)
    redis_server = shutil.which("redis-server") or "/usr/bin/redis-server"
    redis_version = re.search(r"v=(\d+\.\d+)", subprocess.run([redis_server, "--version"], capture_output=True,
                                                               text=True, check=True).stdout).group(1)
    assert services["redis"]["image"] == f"redis:{redis_version}"


def test_the_image_installs_the_built_wheel_not_the_source_tree():
    dockerfile = (REPO / "infra/docker/Dockerfile").read_text()
    assert "pip wheel" in dockerfile and "pip install --no-cache-dir /dist/*.whl" in dockerfile
    # Every top-level package of the wheel is copied into the build stage.
    for package in ("api", "db", "indexer", "realtime", "search_mappings"):
        assert f"COPY {package} ./{package}" in dockerfile
