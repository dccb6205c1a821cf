"""Foundation: health probes, problem+json errors, the operator CLI."""
from __future__ import annotations

import subprocess
import sys

from tests.helpers.processes import free_port
from tests.helpers.run import REPO


async def test_healthz(client):
    resp = await client.get("/healthz")
    assert resp.status_code == 200 and resp.json() == {"status": "ok"}


async def test_readyz_reports_every_service_up(client):
    resp = await client.get("/api/v1/readyz")
    assert resp.status_code == 200, resp.text
    services = resp.json()["services"]
    assert set(services) == {"postgis", "redis", "opensearch"}
    assert all(s["up"] for s in services.values())
    assert services["postgis"]["info"].startswith("3.")


async def test_readyz_names_what_is_down(start_server):
    # A real server pointed at a Redis port where nothing listens.
    server = start_server(extra_env={"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})
    import httpx

    resp = httpx.get(f"{server.url}/readyz", timeout=10)
    assert resp.status_code == 503
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert "redis" in body["detail"] and body["services"]["redis"]["up"] is False
    assert body["services"]["postgis"]["up"] is True


async def test_unknown_route_is_problem_json(client):
    resp = await client.get("/api/v1/nope")
    assert resp.status_code == 404
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["status"] == 404


async def test_openapi_docs_served(client):
    resp = await client.get("/docs")
    assert resp.status_code == 200 and "swagger" in resp.text.lower()
    spec = (await client.get("/openapi.json")).json()
    assert any(path.startswith("/api/v1/") for path in spec["paths"])


def test_outside_dev_mode_the_app_refuses_a_missing_or_weak_secret():
    import os

    for env, secret in (("prod", "changeme"), ("prod", ""), ("test", "short-secret-value"), ("prod", None)):
        child_env = {**os.environ, "FILMO_ENV": env}
        child_env.pop("SECRET_KEY")
        if secret is not None:
            child_env["SECRET_KEY"] = secret
        result = subprocess.run([sys.executable, "-c", "import api.main"], cwd=REPO, env=child_env,
                                capture_output=True, text=True)
        assert result.returncode != 0 and "SECRET_KEY is missing or weak" in result.stderr, (env, secret)
        # The refusal names the setting but never echoes a value.
        assert not secret or secret not in result.stderr
    # Dev mode starts without one (a key generated for the process) so a fresh machine just works.
    dev_env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"} | {"FILMO_ENV": "dev"}
    result = subprocess.run([sys.executable, "-c", "import api.main"], cwd=REPO, env=dev_env, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr


async def test_dev_mode_with_an_empty_secret_key_signs_in_with_a_generated_key(start_server, make_user):
    """An empty SECRET_KEY (as .env.example and docker-compose leave it) in dev: the process makes up its own
    key and says so, instead of failing every sign-in; the key itself is never printed."""
    import httpx

    from tests.helpers.http import API, bearer

    server = start_server(extra_env={"FILMO_ENV": "dev", "SECRET_KEY": ""})
    user = await make_user()
    resp = httpx.post(f"{server.url}{API}/auth/login", json={"email": user.email, "password": user.password},
                      timeout=30)
    assert resp.status_code == 200, resp.text
    tokens = resp.json()
    assert httpx.get(f"{server.url}{API}/profile/me", headers=bearer(tokens["access_token"]),
                     timeout=10).status_code == 404  # signed in, no profile yet
    refreshed = httpx.post(f"{server.url}{API}/auth/refresh", json={"refresh_token": tokens["refresh_token"]},
                           timeout=10)
    assert refreshed.status_code == 200, refreshed.text
    log = server.log.read_text()
    assert "SECRET_KEY is empty" in log and "generated" in log


def test_cli_lists_operator_commands():
    result = subprocess.run([sys.executable, "-m", "api.cli", "--help"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0
    for command in ("serve", "worker", "scheduler", "migrate", "seed"):
        assert command in result.stdout


def test_docker_compose_describes_the_same_stack():
    import yaml

    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgis", "opensearch", "redis", "api", "worker", "scheduler"} <= set(services)
    assert services["opensearch"]["environment"]["DISABLE_SECURITY_PLUGIN"] == "true"
    assert "postgis" in services["postgis"]["image"]
    for name in ("api", "worker", "scheduler"):
        assert services[name]["command"][:2] == ["filmo", {"api": "serve", "worker": "worker",
                                                           "scheduler": "scheduler"}[name]]


async def test_seed_demo_is_idempotent_and_goes_through_the_services(db, client):
    from sqlalchemy import func, select

    from db.models import Project, SearchOutbox, User

    def run_seed() -> str:
        result = subprocess.run([sys.executable, "-m", "api.cli", "seed", "--demo"], cwd=REPO, capture_output=True,
                                text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        return result.stdout

    first = run_seed()
    assert "6 people, 5 projects added" in first
    assert "0 people, 0 projects added" in run_seed()
    assert await db.scalar(select(func.count()).select_from(User)) == 6
    assert await db.scalar(select(func.count()).select_from(Project)) == 5
    # Every demo profile and project reached the search outbox in its own transaction.
    assert await db.scalar(select(func.count()).select_from(SearchOutbox)) >= 11
    # The demo accounts printed by the command can sign in through the /docs "Authorize" form.
    from api.maintenance.demo import DEMO_PASSWORD

    resp = await client.post("/api/v1/auth/login",
                             data={"username": "maya@demo.filmo.example.com", "password": DEMO_PASSWORD})
    assert resp.status_code == 200, resp.text
    assert resp.json()["token_type"] == "bearer"
