"""What every fault script shares: a throw-away service set, the app's processes, users, a bounded write
load through the API, and the checks afterwards (PostGIS, OpenSearch, `filmo index verify`).

The services are the project's own (`infra/services.sh`) in their own data dir, `.data/faults`, with ports of
their own (saved in `.data/faults/ports.env`): the shared services (PostGIS 5433, Redis 6380, OpenSearch 9201)
and the dev platform are never touched. Each fault gets a fresh database, index prefix and queue namespace.
Environment for the app processes is set before anything of `api` is imported (settings are cached).
"""
from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("FILMO_FAULTS_DATA_DIR", REPO / ".data" / "faults"))
LOGS = DATA / "logs"
PY = sys.executable
API = "/api/v1"


def log(msg: str) -> None:
    print(f"[faults {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ----------------------------------------------------------------------------------------- services
def services(cmd: str, *names: str, check: bool = True) -> subprocess.CompletedProcess:
    """`bash infra/services.sh CMD NAMES` on the fault suite's own data dir (ports: auto = the ones used last)."""
    env = {**os.environ, "FILMO_DATA_DIR": str(DATA), "FILMO_PG_PORT": "auto", "FILMO_REDIS_PORT": "auto",
           "FILMO_OPENSEARCH_PORT": "auto", "FILMO_OPENSEARCH_TRANSPORT_PORT": "auto"}
    for var in ("DATABASE_URL", "REDIS_URL", "OPENSEARCH_URL"):
        env.pop(var, None)
    res = subprocess.run(["bash", "infra/services.sh", cmd, *names], cwd=REPO, env=env, capture_output=True,
                         text=True, timeout=240, stdin=subprocess.DEVNULL, check=False)
    if check and res.returncode != 0:
        raise RuntimeError(f"services.sh {cmd} {' '.join(names)} failed:\n{res.stdout}\n{res.stderr}")
    return res


def ports() -> dict[str, int]:
    out = {}
    for line in (DATA / "ports.env").read_text().splitlines():
        k, _, v = line.partition("=")
        if v.strip().isdigit():
            out[k.strip()] = int(v)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


# ----------------------------------------------------------------------------------------- the stack
class Stack:
    """A fresh database + index prefix + queue namespace on the fault services, and the app processes."""

    def __init__(self, name: str):
        services("up")
        p = ports()
        self.name = name
        self.tag = f"{name}_{time.strftime('%H%M%S')}_{uuid.uuid4().hex[:4]}"
        self.db = f"faults_{self.tag}"
        self.pg_port, self.redis_port, self.os_port = (p["FILMO_PG_PORT"], p["FILMO_REDIS_PORT"],
                                                      p["FILMO_OPENSEARCH_PORT"])
        self.admin_url = f"postgresql://filmo:filmo@127.0.0.1:{self.pg_port}/filmo"
        self.env = {
            "DATABASE_URL": f"postgresql+asyncpg://filmo:filmo@127.0.0.1:{self.pg_port}/{self.db}",
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "OPENSEARCH_URL": f"http://127.0.0.1:{self.os_port}",
            "OPENSEARCH_INDEX_PREFIX": f"{self.db}_",
            "QUEUE_NAMESPACE": self.db,
            "SECRET_KEY": "faults-" + "k" * 40,
            "FILMO_ENV": "dev",
            "MAIL_DIR": str(DATA / "mail"),
            "MEDIA_ROOT": str(DATA / "media"),
        }
        os.environ.update(self.env)
        self.procs: dict[str, subprocess.Popen] = {}
        LOGS.mkdir(parents=True, exist_ok=True)

    # -- set-up
    async def _admin(self, sql: str) -> None:
        import asyncpg
        conn = await asyncpg.connect(self.admin_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    def prepare(self) -> None:
        asyncio.run(self._admin(f'CREATE DATABASE "{self.db}" OWNER filmo'))
        for args in (("migrate",), ("seed",), ("reindex", "all")):
            res = self.cli(*args)
            if res.returncode != 0:
                raise RuntimeError(f"filmo {' '.join(args)} failed:\n{res.stdout[-2000:]}\n{res.stderr[-3000:]}")

    def cli(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run([PY, "-m", "api.cli", *args], cwd=REPO, env={**os.environ, **self.env},
                              capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, check=False)

    # -- processes
    def _start(self, key: str, args: list[str], env: dict | None = None) -> subprocess.Popen:
        logfile = LOGS / f"{self.tag}-{key}.log"
        proc = subprocess.Popen([PY, "-m", "api.cli", *args], cwd=REPO, env={**os.environ, **self.env, **(env or {})},
                                stdout=logfile.open("a"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        self.procs[key] = proc
        return proc

    def start_api(self, key: str = "api", port: int | None = None, env: dict | None = None) -> str:
        port = port or free_port()
        self._start(key, ["serve", "--host", "127.0.0.1", "--port", str(port)], env)
        url = f"http://127.0.0.1:{port}"
        import httpx
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            if self.procs[key].poll() is not None:
                raise RuntimeError(f"{key} exited: see {LOGS / f'{self.tag}-{key}.log'}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    return url
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{key} not ready")

    def start_worker(self, key: str = "worker") -> None:
        self._start(key, ["worker", "--processes", "1", "--threads", "2"])

    def start_scheduler(self) -> None:
        self._start("scheduler", ["scheduler"])

    def kill(self, key: str) -> None:
        """SIGKILL the process group (as in a crash: no shutdown handlers)."""
        proc = self.procs.pop(key, None)
        if proc is None:
            return
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(10)

    def stop_all(self) -> None:
        for key, proc in list(self.procs.items()):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for key, proc in list(self.procs.items()):
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.procs.clear()

    def drop(self) -> None:
        """Throw the fault's database and indexes away (the services stay up for the next fault)."""
        import httpx
        try:
            httpx.delete(f"http://127.0.0.1:{self.os_port}/{self.db}_*", timeout=30)
        except httpx.HTTPError:
            pass
        try:
            asyncio.run(self._admin(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)'))
        except Exception as exc:  # noqa: BLE001 - best effort
            log(f"drop database: {exc}")


# ----------------------------------------------------------------------------------------- users
@dataclass
class User:
    id: uuid.UUID
    email: str
    token: str
    headers: dict
    profile_name: str | None = None


async def make_users(n: int) -> list[User]:
    """Verified users signed in as a login would (a session and its access token), straight in the database."""
    from api.auth.passwords import hash_password
    from api.auth.service import issue_tokens
    from db.models import User as UserRow
    from db.session import get_sessionmaker

    pw = hash_password("fault suite password")
    users = []
    async with get_sessionmaker()() as session:
        for _ in range(n):
            email = f"fault-{uuid.uuid4().hex[:10]}@example.com"
            row = UserRow(email=email, password_hash=pw, is_verified=True)
            session.add(row)
            await session.flush()
            pair = await issue_tokens(session, row, "fault suite")
            users.append(User(row.id, email, pair.access_token, {"Authorization": f"Bearer {pair.access_token}"}))
        await session.commit()
    return users


PROFILE = {"name": "Fault Person", "profession": "Gaffer", "city": "Los Angeles", "state": "California",
           "country": "United States", "latitude": 34.0522, "longitude": -118.2437, "years_of_experience": 5,
           "is_actor": False, "skill_ids": []}


def project_body(name: str) -> dict:
    return {"name": name, "description": "fault suite", "project_type": "short_film", "city": "Los Angeles",
            "state": "California", "country": "United States", "latitude": 34.05, "longitude": -118.24,
            "roles": [{"skill_id": 5, "role_title": "DP", "slots_available": 1, "payment_type": "paid",
                       "payment_amount": 100.0}]}


async def create_profiles(base_url: str, users: list[User]) -> None:
    import httpx
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        for u in users:
            resp = await http.post(f"{API}/profile/create", json={**PROFILE, "name": f"P {u.email[:12]}"},
                                   headers=u.headers)
            if resp.status_code not in (200, 201):
                raise RuntimeError(f"profile create: {resp.status_code} {resp.text}")
            u.profile_name = resp.json().get("name")


# ----------------------------------------------------------------------------------------- the load
@dataclass
class Item:
    """One entity written by the load: the name last acknowledged, and names sent later without an answer
    (their outcome is unknown: the database may hold any of them)."""
    kind: str
    id: str
    acked: str
    unknown_after: list[str] = field(default_factory=list)


@dataclass
class LoadResult:
    attempted: int = 0
    acked: int = 0
    statuses: Counter = field(default_factory=Counter)
    transport_errors: Counter = field(default_factory=Counter)
    unexpected_5xx: list = field(default_factory=list)
    projects: dict = field(default_factory=dict)   # id -> Item
    profiles: dict = field(default_factory=dict)   # user id -> Item
    timeline: list = field(default_factory=list)   # (t, ok?) per write
    t0: float = 0.0


async def run_load(base_url: str, users: list[User], *, duration: float, rate: float, max_writes: int,
                   res: LoadResult, stop: asyncio.Event | None = None) -> LoadResult:
    """`rate` writes/s in total, at most `max_writes`, spread over the users (each user writes one at a time):
    create a project (30 %), rename one of the user's projects (50 %), rename the user's profile (20 %)."""
    import httpx

    res.t0 = res.t0 or time.monotonic()
    per_user_interval = len(users) / rate
    counter = iter(range(10**9))
    limits = httpx.Limits(max_connections=len(users) + 4)

    async with httpx.AsyncClient(base_url=base_url, timeout=15, limits=limits) as http:
        async def one_user(u: User, offset: float) -> None:
            rnd = random.Random(str(u.id))
            mine: list[str] = []
            await asyncio.sleep(offset)
            while time.monotonic() - res.t0 < duration and res.attempted < max_writes \
                    and not (stop and stop.is_set()):
                started = time.monotonic()
                n = next(counter)
                roll = rnd.random()
                if not mine or roll < 0.3:
                    kind, name = "create", f"fp-{n}"
                    req = http.post(f"{API}/projects/create", json=project_body(name), headers=u.headers)
                elif roll < 0.8:
                    kind, name, pid = "project", f"fp-{n}", rnd.choice(mine)
                    req = http.put(f"{API}/projects/{pid}", json={"name": name}, headers=u.headers)
                else:
                    kind, name = "profile", f"pp-{n}"
                    req = http.put(f"{API}/profile/update", json={"name": name}, headers=u.headers)
                res.attempted += 1
                ok = False
                try:
                    resp = await req
                    res.statuses[resp.status_code] += 1
                    ok = resp.status_code in (200, 201)
                    if resp.status_code >= 500 and not (resp.status_code == 503 and "retry-after" in resp.headers):
                        res.unexpected_5xx.append({"t": round(started - res.t0, 2), "status": resp.status_code,
                                                   "kind": kind, "body": resp.text[:300]})
                except httpx.HTTPError as exc:
                    res.transport_errors[type(exc).__name__] += 1
                res.timeline.append((round(started - res.t0, 3), ok, round(time.monotonic() - started, 4)))
                if ok:
                    res.acked += 1
                    if kind == "create":
                        pid = resp.json()["id"]
                        mine.append(pid)
                        res.projects[pid] = Item("project", pid, name)
                    elif kind == "project":
                        res.projects[pid].acked, res.projects[pid].unknown_after = name, []
                    else:
                        item = res.profiles.setdefault(str(u.id), Item("profile", str(u.id), name))
                        item.acked, item.unknown_after = name, []
                elif kind == "project":
                    res.projects[pid].unknown_after.append(name)
                elif kind == "profile" and str(u.id) in res.profiles:
                    res.profiles[str(u.id)].unknown_after.append(name)
                await asyncio.sleep(max(0.0, per_user_interval - (time.monotonic() - started)))

        await asyncio.gather(*(one_user(u, i * per_user_interval / len(users)) for i, u in enumerate(users)))
    return res


# ----------------------------------------------------------------------------------------- checks
async def outbox_count(stack: Stack) -> int | None:
    import asyncpg
    try:
        conn = await asyncpg.connect(stack.env["DATABASE_URL"].replace("+asyncpg", ""), timeout=3)
    except Exception:  # noqa: BLE001 - database down
        return None
    try:
        return await conn.fetchval("SELECT count(*) FROM search_outbox")
    finally:
        await conn.close()


async def wait_outbox_empty(stack: Stack, timeout: float) -> float | None:
    """Seconds until the outbox is empty, or None on timeout."""
    t = time.monotonic()
    while time.monotonic() - t < timeout:
        if await outbox_count(stack) == 0:
            return time.monotonic() - t
        await asyncio.sleep(0.5)
    return None


async def check(stack: Stack, load: LoadResult) -> dict:
    """Every acknowledged write in PostGIS (the acked value, or a later unanswered one), then in OpenSearch with
    the row's version and value; counts on both sides; `filmo index verify --json`."""
    import asyncpg
    import httpx

    conn = await asyncpg.connect(stack.env["DATABASE_URL"].replace("+asyncpg", ""))
    try:
        prow = {str(r["id"]): r for r in await conn.fetch(
            "SELECT id, id AS doc_id, name, search_version FROM projects WHERE id = ANY($1::uuid[])", list(load.projects))}
        frow = {str(r["user_id"]): r for r in await conn.fetch(
            "SELECT user_id, id AS doc_id, name, search_version FROM user_profiles WHERE user_id = ANY($1::uuid[])",
            list(load.profiles))}
        pg_projects = await conn.fetchval("SELECT count(*) FROM projects")
        pg_profiles = await conn.fetchval("SELECT count(*) FROM user_profiles")
        outbox = await conn.fetchval("SELECT count(*) FROM search_outbox")
    finally:
        await conn.close()

    lost_pg, stale_pg, lost_os, stale_os = [], [], [], []
    prefix = stack.env["OPENSEARCH_INDEX_PREFIX"]
    os_url = stack.env["OPENSEARCH_URL"]
    async with httpx.AsyncClient(base_url=os_url, timeout=30) as http:
        await http.post(f"/{prefix}projects,{prefix}profiles/_refresh")
        counts = {}
        for kind in ("projects", "profiles"):
            counts[kind] = (await http.get(f"/{prefix}{kind}/_count")).json().get("count")
        for kind, items, rows, doc_id in (("projects", load.projects, prow, None),
                                          ("profiles", load.profiles, frow, None)):
            docs = {}
            ids = [str(r["doc_id"]) for r in rows.values()]
            for i in range(0, len(ids), 500):
                body = {"ids": ids[i:i + 500]}
                resp = await http.post(f"/{prefix}{kind}/_mget?_source_includes=name", json=body)
                resp.raise_for_status()
                r = resp.json()
                for d in r.get("docs", []):
                    if d.get("found"):
                        docs[d["_id"]] = d
            for key, item in items.items():
                row = rows.get(key)
                if row is None:
                    lost_pg.append(f"{kind[:-1]} {key}")
                    continue
                if row["name"] != item.acked and row["name"] not in item.unknown_after:
                    stale_pg.append(f"{kind[:-1]} {key}: db {row['name']!r}, acked {item.acked!r}")
                doc = docs.get(str(row["doc_id"]))
                if doc is None:
                    lost_os.append(f"{kind[:-1]} {key}")
                elif doc.get("_version") != row["search_version"] or doc["_source"].get("name") != row["name"]:
                    stale_os.append(f"{kind[:-1]} {key}: doc v{doc.get('_version')} {doc['_source'].get('name')!r},"
                                    f" db v{row['search_version']} {row['name']!r}")

    verify = stack.cli("index", "verify", "all", "--json")
    try:
        reports = json.loads(verify.stdout)
        verify_summary = {r["kind"]: {n: r[n]["count"] for n in ("missing", "extra", "stale")} | {"ok": r["ok"]}
                          for r in reports}
    except (ValueError, KeyError, TypeError):
        verify_summary = {"error": (verify.stdout + verify.stderr)[-500:]}
    verify_ok = verify.returncode == 0 and all(v.get("ok") for v in verify_summary.values() if isinstance(v, dict))
    return {
        "acked_items": {"projects": len(load.projects), "profiles": len(load.profiles)},
        "lost_in_postgis": lost_pg, "stale_in_postgis": stale_pg,
        "lost_in_opensearch": lost_os, "stale_in_opensearch": stale_os,
        "counts": {"postgis_projects": pg_projects, "opensearch_projects": counts["projects"],
                   "postgis_profiles": pg_profiles, "opensearch_profiles": counts["profiles"],
                   "outbox_left": outbox},
        "index_verify": verify_summary, "index_verify_ok": verify_ok,
    }


async def sabotage(stack: Stack, load: LoadResult) -> None:
    """FILMO_FAULTS_SABOTAGE=1: delete one acknowledged project's document behind the indexer's back, to show
    the checks (and the exit code) catch a loss."""
    import httpx
    victim = next(iter(load.projects))
    async with httpx.AsyncClient(base_url=stack.env["OPENSEARCH_URL"], timeout=30) as http:
        r = await http.get(f"/{stack.env['OPENSEARCH_INDEX_PREFIX']}projects/_doc/{victim}")
        index = r.json()["_index"]
        await http.delete(f"/{index}/_doc/{victim}?refresh=true")
    log(f"sabotage: deleted project {victim} from {index}")


def first_ok_after(load: LoadResult, t: float) -> float | None:
    """Seconds from `t` (relative to the load's start) to the first acknowledged write started after it."""
    for ts, ok, _ in load.timeline:
        if ts >= t and ok:
            return round(ts - t, 2)
    return None


def _latency(timeline: list) -> dict:
    lat = sorted(x[2] * 1000 for x in timeline)
    if not lat:
        return {}
    return {"p50": round(lat[len(lat) // 2]), "p99": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))]),
            "max": round(lat[-1])}


def summarize(name: str, load: LoadResult, checks: dict, extra: dict, allow_transport_errors: bool = False) -> dict:
    lost = (len(checks["lost_in_postgis"]) + len(checks["lost_in_opensearch"]))
    stale = (len(checks["stale_in_postgis"]) + len(checks["stale_in_opensearch"]))
    failures = []
    if lost:
        failures.append(f"{lost} acknowledged items lost")
    if stale:
        failures.append(f"{stale} acknowledged items stale")
    if not checks["index_verify_ok"]:
        failures.append(f"filmo index verify: {checks['index_verify']}")
    if checks["counts"]["postgis_projects"] != checks["counts"]["opensearch_projects"] or \
            checks["counts"]["postgis_profiles"] != checks["counts"]["opensearch_profiles"]:
        failures.append(f"counts differ: {checks['counts']}")
    if load.unexpected_5xx:
        failures.append(f"{len(load.unexpected_5xx)} unexpected 5xx")
    if load.transport_errors and not allow_transport_errors:
        failures.append(f"transport errors {dict(load.transport_errors)}")
    failures += extra.pop("failures", [])
    return {
        "fault": name,
        "writes_attempted": load.attempted, "writes_acked": load.acked,
        "statuses": {str(k): v for k, v in sorted(load.statuses.items())},
        "transport_errors": dict(load.transport_errors),
        "unexpected_5xx": load.unexpected_5xx[:20], "unexpected_5xx_count": len(load.unexpected_5xx),
        "lost": lost, "stale": stale,
        "latency_ms": _latency(load.timeline),
        **extra,
        "checks": {**checks, "lost_in_postgis": checks["lost_in_postgis"][:20],
                   "lost_in_opensearch": checks["lost_in_opensearch"][:20],
                   "stale_in_postgis": checks["stale_in_postgis"][:20],
                   "stale_in_opensearch": checks["stale_in_opensearch"][:20]},
        "failures": failures, "ok": not failures,
    }


def write_result(result: dict) -> None:
    """Printed as the last line of stdout (the runner reads it) and saved next to the logs."""
    path = LOGS / f"result-{result['fault']}.json"
    path.write_text(json.dumps(result, indent=2, default=str))
    print("RESULT " + json.dumps(result, default=str), flush=True)


async def write_fault(stack: Stack, name: str, inject, restore, *, n_users: int = 10, duration: float = 30.0,
                      rate: float = 20.0, max_writes: int = 700, fault_at: float = 8.0, fault_for: float = 12.0,
                      drain_timeout: float = 90.0, allow_transport_errors: bool = False) -> dict:
    """The shared shape of faults 1-4: load, `inject()` at `fault_at`, `restore()` `fault_for` s later
    (both may be async), wait for the outbox to drain, then check."""
    async def call(fn):  # in a thread: the load keeps running while a service stops or starts
        r = await asyncio.to_thread(fn)
        if asyncio.iscoroutine(r):
            r = await r
        return r

    users = await make_users(n_users)
    await create_profiles(stack.api_url, users)
    load = LoadResult()
    for u in users:  # the profile each user starts with counts as an acknowledged item too
        load.profiles[str(u.id)] = Item("profile", str(u.id), u.profile_name)
    load.t0 = time.monotonic()
    task = asyncio.create_task(run_load(stack.api_url, users, duration=duration, rate=rate, max_writes=max_writes,
                                        res=load))
    await asyncio.sleep(fault_at)
    t_inject = time.monotonic() - load.t0
    log(f"{name}: inject at {t_inject:.1f}s")
    await call(inject)
    await asyncio.sleep(fault_for)
    t_restore = time.monotonic() - load.t0
    log(f"{name}: restore at {t_restore:.1f}s")
    await call(restore)
    t_restored = time.monotonic() - load.t0
    log(f"{name}: restored at {t_restored:.1f}s")
    await task
    log(f"{name}: load done, {load.attempted} writes, statuses {dict(load.statuses)}")
    drained = await wait_outbox_empty(stack, drain_timeout)
    t_consistent = time.monotonic() - load.t0 if drained is not None else None
    if os.environ.get("FILMO_FAULTS_SABOTAGE") == "1":
        await sabotage(stack, load)
    checks = await check(stack, load)
    extra = {
        "fault_injected_at_s": round(t_inject, 1), "restore_started_at_s": round(t_restore, 1),
        "restore_took_s": round(t_restored - t_restore, 1),
        "first_ack_after_restore_s": first_ok_after(load, t_restored),
        "outbox_drained_after_restore_s": round(t_consistent - t_restored, 1) if t_consistent else None,
        "load_duration_s": duration,
        "latency_ms_during_fault": _latency([x for x in load.timeline if t_inject <= x[0] <= t_restored]),
    }
    if drained is None:
        extra["failures"] = [f"outbox not drained {drain_timeout}s after the load"]
    return summarize(name, load, checks, extra, allow_transport_errors)


def main(name: str, body) -> None:
    """Run one fault: a stack, `body(stack)` -> result dict; always clean up; exit 1 when not ok."""
    stack = Stack(name)
    result = None
    try:
        log(f"{name}: preparing {stack.db}")
        stack.prepare()
        result = asyncio.run(body(stack))
    except Exception as exc:  # noqa: BLE001 - reported as a failed fault
        import traceback
        traceback.print_exc()
        result = {"fault": name, "ok": False, "failures": [f"crashed: {type(exc).__name__}: {exc}"]}
    finally:
        stack.stop_all()
        try:
            services("up")  # whatever the fault took down is back for the next one
        except Exception as exc:  # noqa: BLE001
            log(f"services up after the fault: {exc}")
        if os.environ.get("FILMO_FAULTS_KEEP") != "1":
            stack.drop()
    write_result(result)
    sys.exit(0 if result.get("ok") else 1)
