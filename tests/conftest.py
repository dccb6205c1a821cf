"""Test harness: real PostGIS, Redis and OpenSearch, started by `bash infra/test.sh`.

Each pytest run gets its own database (migrated from scratch), its own Redis database number,
its own OpenSearch index prefix and its own queue/channel namespace, so several runs can share
the services. After every test the tables are emptied (the seeded skill catalogue stays) and the
run's Redis database is flushed. A missing service stops the run with a clear message.
"""
from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
RUN_ID = secrets.token_hex(4)
PG_PORT = int(os.environ.get("FILMO_PG_PORT", "5433"))
REDIS_PORT = int(os.environ.get("FILMO_REDIS_PORT", "6380"))
OS_PORT = int(os.environ.get("FILMO_OPENSEARCH_PORT", "9201"))
PG_ADMIN_URL = f"postgresql://filmo:filmo@127.0.0.1:{PG_PORT}/postgres"
TEST_DB = f"filmo_test_{RUN_ID}"
TMP = Path(tempfile.mkdtemp(prefix=f"filmo-test-{RUN_ID}-"))


def _claim_redis_db() -> int:
    """Reserve a Redis database number for this run (several runs may share one Redis)."""
    import redis

    admin = redis.Redis(host="127.0.0.1", port=REDIS_PORT, db=0, socket_connect_timeout=2)
    for number in range(1, 64):
        if admin.set(f"filmo:test-db-claim:{number}", RUN_ID, nx=True, ex=6 * 3600):
            return number
    raise RuntimeError("no free Redis database number for this test run")


def _fail(message: str) -> None:
    pytest.exit(f"\n\nFILMO TEST SERVICES: {message}\nStart them with `bash infra/test.sh` "
                f"(or `bash infra/services.sh up`).\n", returncode=3)


def _check_services() -> None:
    for name, port in (("PostGIS", PG_PORT), ("Redis", REDIS_PORT), ("OpenSearch", OS_PORT)):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        except OSError:
            _fail(f"{name} is not reachable on 127.0.0.1:{port}")


def pytest_configure(config):
    # Environment for the app under test (settings are read from it on first use).
    if os.environ.get("FILMO_TEST_CONFIGURED") == RUN_ID:
        return
    _check_services()
    redis_db = _claim_redis_db()
    os.environ.update({
        "FILMO_TEST_CONFIGURED": RUN_ID,
        "FILMO_ENV": "test",
        "LOG_JSON": "false",
        "LOG_LEVEL": "WARNING",
        "DATABASE_URL": f"postgresql+asyncpg://filmo:filmo@127.0.0.1:{PG_PORT}/{TEST_DB}",
        "REDIS_URL": f"redis://127.0.0.1:{REDIS_PORT}/{redis_db}",
        "FILMO_TEST_REDIS_DB": str(redis_db),
        "OPENSEARCH_URL": f"http://127.0.0.1:{OS_PORT}",
        "OPENSEARCH_INDEX_PREFIX": f"test_{RUN_ID}_",
        "QUEUE_NAMESPACE": f"test-{RUN_ID}",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "SMTP_SERVER": "",
        "MAIL_DIR": str(TMP / "mail"),
        "MEDIA_ROOT": str(TMP / "media"),
    })
    asyncio.run(_create_database())
    from db.migrate import upgrade

    upgrade(os.environ["DATABASE_URL"])
    from db.seed import seed_skills

    asyncio.run(_seed())


async def _seed() -> None:
    from db.seed import seed_skills
    from db.session import dispose_engine

    await seed_skills()
    await dispose_engine()


async def _create_database() -> None:
    import asyncpg

    try:
        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    except Exception as exc:  # noqa: BLE001 - report any connection failure plainly
        _fail(f"cannot connect to PostGIS at 127.0.0.1:{PG_PORT} ({exc.__class__.__name__}: {exc})")
    try:
        await conn.execute(f'CREATE DATABASE "{TEST_DB}"')
    finally:
        await conn.close()


async def _drop_database() -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{TEST_DB}" WITH (FORCE)')
    finally:
        await conn.close()


def pytest_unconfigure(config):
    if os.environ.get("FILMO_TEST_CONFIGURED") != RUN_ID:
        return
    try:
        asyncio.run(_drop_database())
    except Exception:  # noqa: BLE001 - cleanup is best effort
        pass
    try:
        import httpx
        import redis

        httpx.delete(f"http://127.0.0.1:{OS_PORT}/{os.environ['OPENSEARCH_INDEX_PREFIX']}*", timeout=10)
        r = redis.Redis(host="127.0.0.1", port=REDIS_PORT, db=int(os.environ["FILMO_TEST_REDIS_DB"]))
        r.flushdb()
        redis.Redis(host="127.0.0.1", port=REDIS_PORT, db=0).delete(
            f"filmo:test-db-claim:{os.environ['FILMO_TEST_REDIS_DB']}")
    except Exception:  # noqa: BLE001
        pass


# ---------------------------------------------------------------- per-test isolation

KEEP_TABLES = {"alembic_version", "skills", "spatial_ref_sys"}


@pytest.fixture(autouse=True)
async def _isolate():
    yield
    from sqlalchemy import text

    from api.core.redis import get_redis
    from db.models import Base
    from db.session import get_engine

    # users is emptied with DELETE: TRUNCATE users CASCADE would also empty skills (skills.created_by
    # references users), wiping the seeded catalogue after the first test.
    tables = [t.name for t in Base.metadata.sorted_tables if t.name not in KEEP_TABLES | {"users"}]
    async with get_engine().begin() as conn:
        await conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY"))
        await conn.execute(text("DELETE FROM skills WHERE created_by IS NOT NULL"))
        await conn.execute(text("DELETE FROM users"))
    await get_redis().flushdb()


# ---------------------------------------------------------------- clients and data


@pytest.fixture(scope="session")
def app():
    from api.main import fastapi_app

    return fastapi_app


@pytest.fixture
async def client(app):
    import httpx

    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def db():
    """A session for arranging or inspecting rows directly (commit explicitly)."""
    from db.session import get_sessionmaker

    async with get_sessionmaker()() as session:
        yield session


@dataclass
class TestUser:
    id: uuid.UUID
    email: str
    password: str
    token: str
    profile: dict | None = None
    headers: dict = field(default_factory=dict)


DEFAULT_PROFILE = {
    "name": "Test Person", "profession": "Director of Photography", "city": "Los Angeles", "state": "California",
    "country": "United States", "latitude": 34.0522, "longitude": -118.2437, "years_of_experience": 5,
    "is_actor": False, "skill_ids": [],
}


_HASHES: dict[str, str] = {}


def _hash_once(password: str) -> str:
    """A real Argon2id hash, computed once per password per run: test users are many, hashing is slow on purpose."""
    from api.auth.passwords import hash_password

    if password not in _HASHES:
        _HASHES[password] = hash_password(password)
    return _HASHES[password]


@pytest.fixture
def make_user(client):
    """Create a verified, active user (directly in the DB) with an access token; optionally a profile via HTTP."""
    from api.auth.tokens import create_access_token
    from db.models import User
    from db.session import get_sessionmaker

    async def _make(email: str | None = None, password: str = "correct horse battery", profile: dict | bool = False,
                    **profile_fields) -> TestUser:
        email = email or f"user-{uuid.uuid4().hex[:10]}@example.com"
        async with get_sessionmaker()() as session:
            user = User(email=email.lower(), password_hash=_hash_once(password), is_verified=True)
            session.add(user)
            await session.commit()
            user_id = user.id
        token = create_access_token(user_id)
        tu = TestUser(id=user_id, email=email, password=password, token=token,
                      headers={"Authorization": f"Bearer {token}"})
        if profile or profile_fields:
            body = {**DEFAULT_PROFILE, **(profile if isinstance(profile, dict) else {}), **profile_fields}
            resp = await client.post("/api/v1/profile/create", json=body, headers=tu.headers)
            assert resp.status_code in (200, 201), resp.text
            tu.profile = resp.json()
        return tu

    return _make


# ---------------------------------------------------------------- real processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """A real `filmo serve` (uvicorn) process with the test environment."""

    def __init__(self, port: int | None = None, extra_env: dict | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = TMP / f"server-{self.port}.log"
        env = {**os.environ, **(extra_env or {})}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1", "--port", str(self.port),
             "--log-level", "warning"],
            cwd=REPO, env=env, stdout=self.log.open("w"), stderr=subprocess.STDOUT)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 30.0) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server not ready in {timeout}s:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """Hard kill (SIGKILL): no shutdown handlers run, as in a crash."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture
def start_server():
    """Factory: start real uvicorn servers on free ports; all are stopped after the test."""
    servers: list[ServerProcess] = []

    def _start(**kwargs) -> ServerProcess:
        server = ServerProcess(**kwargs)
        servers.append(server)
        return server

    yield _start
    for server in servers:
        server.stop()


@pytest.fixture
def live_server(start_server) -> ServerProcess:
    return start_server()


class WorkerProcess:
    """A real `filmo worker` (Dramatiq) process with the test environment (plus `extra_env`).

    Dramatiq forks worker children; the process runs in its own session so `kill()` can SIGKILL the whole
    group, as in a crash (killing only the parent would leave the children running).
    """

    def __init__(self, extra_env: dict | None = None):
        self.log = TMP / f"worker-{secrets.token_hex(3)}.log"
        env = {**os.environ, **(extra_env or {})}
        self.proc = subprocess.Popen([sys.executable, "-m", "api.cli", "worker", "--processes", "1",
                                      "--threads", "2"], cwd=REPO, env=env, start_new_session=True,
                                     stdout=self.log.open("w"), stderr=subprocess.STDOUT)

    def _kill_group(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        """Hard kill (SIGKILL) of the worker and its children: no shutdown handlers run, as in a crash."""
        self._kill_group()
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                pass
        self._kill_group()
        self.proc.wait(10)


@pytest.fixture
def start_worker():
    workers: list[WorkerProcess] = []

    def _start(**kwargs) -> WorkerProcess:
        w = WorkerProcess(**kwargs)
        workers.append(w)
        return w

    yield _start
    for w in workers:
        w.stop()


async def eventually(check, timeout: float = 10.0, interval: float = 0.1):
    """Poll an async or sync `check` until it returns a truthy value (or raise its last AssertionError)."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return result
        except AssertionError as exc:
            last = exc
        await asyncio.sleep(interval)
    if last:
        raise last
    raise AssertionError(f"condition not met within {timeout}s")
