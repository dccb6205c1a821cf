"""Real-time chat capacity, measured against a reference in the same run, then overload and reconnects.

    .venv/bin/python bench/realtime/run.py [--clients 2000] [--room-size 50] [--targets reference,filmo]

What it does:
  1. creates a scratch database (migrated from scratch) with people, and projects of `room-size` members;
  2. for each target, starts two uvicorn processes sharing Redis (own channel): Filmo (api.main:app), or the
     reference (bench/realtime/reference_server.py: a minimal python-socketio server with the same Redis manager
     that only broadcasts: no auth, no database, no flood limit), with the same uvicorn options;
  3. runs node load workers (bench/realtime/load.mjs, official socket.io-client over WebSocket); every room's
     members are spread over both processes, so most deliveries cross processes through Redis;
  4. ramps the send rate (`--start-rate`, times `--factor` per step of `--step-s` seconds), alternating between
     the targets rung by rung (all are connected at once), until a rate misses twice for a target:
     p99 send -> receipt at every member > `--p99-ms`, or a message lost, refused, unanswered, or a socket dropped.
     Capacity = the highest rate that passed. The figure that travels between machines is Filmo's capacity
     divided by the reference's, both measured in this run on the same clients, rooms and message size;
  5. Filmo only, after its ramp (or with `--capacity`, instead of it): a reconnect step (at half capacity, `--drop-fraction` of the clients lose their
     connection mid-step, reconnect and rejoin with the last id seen) and an overload step at `--overload-factor` x
     capacity: disconnects caused by the server, sends answered (acked or refused) within 1 s, acked messages
     undelivered to connected members;
  6. samples CPU of the servers and the load workers and the load average; writes bench/results/realtime.json
     and realtime.md; drops the scratch database.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "bench" / "results"
DATA = REPO / "bench" / "data"
PG = os.environ.get("FILMO_PG_PORT", "5433")
REDIS = os.environ.get("FILMO_REDIS_PORT", "6380")
TICKS = os.sysconf("SC_CLK_TCK")
# --admission-cap auto: the share of the measured capacity each server admits (realtime/README.md, "Overload"). At
# 1.0 x a capacity measured at p99 140 ms, 0.4 % of the answers at 2 x took over 1 s (the refusals cost CPU too);
# at 0.8 x, none (bench/results/realtime.md).
ADMISSION_CAP_SHARE = 0.8


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clients", type=int, default=2000)
    p.add_argument("--room-size", type=int, default=50)
    p.add_argument("--targets", default="reference,filmo", help="comma-separated, run in this order")
    p.add_argument("--start-rate", type=float, default=50.0, help="messages per second of the first step")
    p.add_argument("--factor", type=float, default=1.25, help="rate multiplier from one step to the next")
    p.add_argument("--max-rate", type=float, default=5000.0)
    p.add_argument("--step-s", type=float, default=10.0, help="seconds of sending per ramp step")
    p.add_argument("--drain", type=float, default=5.0, help="seconds to wait for late deliveries after a step")
    p.add_argument("--p99-ms", type=float, default=150.0)
    p.add_argument("--settle", type=float, default=30.0,
                   help="seconds of quiet between connecting every client and the first rung (the connection storm's "
                        "garbage collections and presence refreshes are not the steady state being measured)")
    p.add_argument("--overload-factor", type=float, default=2.0, help="0: no overload step")
    p.add_argument("--overload-s", type=float, default=30.0)
    p.add_argument("--capacity", type=float, default=0.0,
                   help="skip the ramp: Filmo's capacity (msg/s) measured by an earlier ramp; runs only the reconnect "
                        "and overload steps against it (with --targets filmo)")
    p.add_argument("--admission-cap", default="",
                   help="REALTIME_MAX_SENDS_PER_S for each Filmo server: a number, or 'auto' = 0.8 x capacity / --servers "
                        "(how an operator sets it from this bench's capacity: --capacity, or else this run's ramp, after "
                        "which Filmo's servers restart with it for the overload step); empty: no cap")
    p.add_argument("--drop-fraction", type=float, default=0.1, help="0: no reconnect step")
    p.add_argument("--servers", type=int, default=2)
    p.add_argument("--load-workers", type=int, default=2, help="node processes driving the clients")
    p.add_argument("--ws", default="auto", help="uvicorn WebSocket implementation (auto, websockets-sansio, ...)")
    p.add_argument("--label", default="main", help="name of this run inside realtime.json (runs are kept)")
    p.add_argument("--py-spy", default="", help="'setup' or 'ramp': py-spy record Filmo's first server during it "
                                                "(bench/data/realtime-<phase>.svg)")
    p.add_argument("--env", action="append", default=[], help="extra KEY=VALUE for the Filmo servers")
    p.add_argument("--note", default="", help="free text stored with the results")
    return p.parse_args()


def code_version() -> str:
    """The commit the servers ran, marked dirty when the working tree had uncommitted changes."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO, capture_output=True,
                           text=True)
    return (commit.stdout.strip() or "unknown") + ("-dirty" if dirty.stdout.strip() else "")


# ----------------------------------------------------------------- setup


async def create_database(name: str, url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(f"postgresql://filmo:filmo@127.0.0.1:{PG}/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    from db.migrate import upgrade

    await asyncio.to_thread(upgrade, url)


async def drop_database(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(f"postgresql://filmo:filmo@127.0.0.1:{PG}/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def seed(dbname: str, clients: int, room_size: int) -> list[dict]:
    """People with profiles, and projects whose members are those people; returns the rooms."""
    import asyncpg

    from api.auth.tokens import create_access_token

    conn = await asyncpg.connect(f"postgresql://filmo:filmo@127.0.0.1:{PG}/{dbname}")
    try:
        users = [uuid.uuid4() for _ in range(clients)]
        await conn.executemany(
            "INSERT INTO users (id, email, password_hash, is_verified) VALUES ($1, $2, 'bench-not-a-hash', true)",
            [(u, f"bench-{i}@example.com") for i, u in enumerate(users)])
        await conn.executemany("INSERT INTO user_profiles (user_id, name) VALUES ($1, $2)",
                               [(u, f"Bench Person {i}") for i, u in enumerate(users)])
        # A sign-in session (refresh-token family) per person: access tokens must be bound to one.
        sessions = {u: uuid.uuid4() for u in users}
        await conn.executemany(
            "INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at) "
            "VALUES ($1, $2, $3, now() + interval '1 day')",
            [(u, family, secrets.token_hex(32)) for u, family in sessions.items()])
        rooms = []
        for r in range(0, clients, room_size):
            members = users[r:r + room_size]
            project_id = uuid.uuid4()
            await conn.execute("INSERT INTO projects (id, creator_id, name, project_type) VALUES ($1, $2, $3, "
                               "'short_film')", project_id, members[0], f"Bench room {r // room_size}")
            await conn.executemany(
                "INSERT INTO project_members (project_id, user_id, member_role) VALUES ($1, $2, $3)",
                [(project_id, m, "admin" if i == 0 else "child") for i, m in enumerate(members)])
            rooms.append({"project_id": str(project_id), "members": [
                {"user_id": str(m), "token": create_access_token(m, session_id=sessions[m], ttl_seconds=6 * 3600)}
                for m in members]})
        return rooms
    finally:
        await conn.close()


# ----------------------------------------------------------------- processes


def proc_sample(pid: int) -> tuple[float, int] | None:
    """(cpu seconds so far, rss bytes) of a process, from /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        cpu = (int(stat[11]) + int(stat[12])) / TICKS
        rss = int(stat[21]) * os.sysconf("SC_PAGE_SIZE")
        return cpu, rss
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def start_server(app: str, port: int, env: dict, log: Path, ws: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
                             "--log-level", "warning", "--no-access-log", "--ws", ws, "--ws-per-message-deflate",
                             "false"], cwd=REPO, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server {url} exited early")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"server {url} not ready")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(hist: dict[int, int], bucket_ms: float, q: float) -> float | None:
    total = sum(hist.values())
    if not total:
        return None
    target = q * total
    running = 0
    for bucket in sorted(hist):
        running += hist[bucket]
        if running >= target:
            return round((bucket + 1) * bucket_ms, 2)
    return None



def loadavg() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def merge_steps(parts: list[dict]) -> dict:
    """One step's result from every worker's share: sums, merged histograms, percentiles."""
    sums = ("sent", "acked", "refused", "errors", "answered_within_1s", "received", "recovered", "duplicates",
            "disconnects", "reconnects", "rejoin_failures", "expected", "lost", "connected_at_end")
    out = {k: sum(p[k] for p in parts) for k in sums}
    bucket_ms = parts[0]["histogram_bucket_ms"]
    hist: dict[int, int] = {}
    ack_hist: dict[int, int] = {}
    reasons: dict[str, int] = {}
    codes: dict[str, int] = {}
    for p in parts:
        for b, n in p["histogram"].items():
            hist[int(b)] = hist.get(int(b), 0) + n
        for b, n in p["ack_histogram"].items():
            ack_hist[int(b)] = ack_hist.get(int(b), 0) + n
        for r, n in p["disconnect_reasons"].items():
            reasons[r] = reasons.get(r, 0) + n
        for c, n in p["refused_codes"].items():
            codes[c] = codes.get(c, 0) + n
    out.update(disconnect_reasons=reasons, refused_codes=codes,
               answer_ms_max=round(max(p["answer_ms_max"] for p in parts), 1),
               latency_ms={"p50": percentile(hist, bucket_ms, 0.5), "p99": percentile(hist, bucket_ms, 0.99),
                           "max": round((max(hist) + 1) * bucket_ms, 1) if hist else None},
               ack_ms={"p50": percentile(ack_hist, bucket_ms, 0.5), "p99": percentile(ack_hist, bucket_ms, 0.99)})
    return out


class Target:
    """Two server processes of one app and the node workers driving the clients against them."""

    def __init__(self, name: str, app: str, env: dict, rooms: list[dict], args: argparse.Namespace, run_id: str):
        self.name, self.args = name, args
        self.servers: list[tuple[str, subprocess.Popen]] = []
        self.loaders: list[subprocess.Popen] = []
        for i in range(args.servers):
            port = free_port()
            proc = start_server(app, port, env, DATA / f"realtime-{name}-{i}.log", args.ws)
            self.servers.append((f"http://127.0.0.1:{port}", proc))
        for url, proc in self.servers:
            wait_ready(url, proc)
        self.plan = DATA / f"realtime-plan-{run_id}-{name}.json"
        self.plan.write_text(json.dumps({"servers": [u for u, _ in self.servers], "rooms": rooms}))
        self.step_index = 0

    def connect_clients(self) -> dict:
        spy = self.py_spy("setup")
        cpu0 = [proc_sample(p.pid) for _, p in self.servers]
        started = time.monotonic()
        load0 = loadavg()
        for w in range(self.args.load_workers):
            self.loaders.append(subprocess.Popen(
                ["node", str(REPO / "bench" / "realtime" / "load.mjs"), str(self.plan), str(w),
                 str(self.args.load_workers)], stdout=subprocess.PIPE, text=True,
                stderr=(DATA / f"realtime-load-{self.name}-{w}.log").open("w")))
        ready = []
        for loader in self.loaders:
            line = loader.stdout.readline()
            if not line:
                raise RuntimeError("a load worker exited during setup (see bench/data/realtime-load-*.log)")
            ready.append(json.loads(line))
        seconds = time.monotonic() - started
        cpu1 = [proc_sample(p.pid) for _, p in self.servers]
        self.stop_spy(spy)
        clients = sum(r["clients"] for r in ready)
        return {"clients": clients, "connect_failures": sum(r["connect_failures"] for r in ready),
                "join_failures": sum(r["join_failures"] for r in ready), "seconds": round(seconds, 1),
                # Each worker connects its rooms one after another: the phases' wall time, summed over workers.
                "connect_phase_s": round(sum(r["connect_ms"] for r in ready) / 1000, 1),
                "join_phase_s": round(sum(r["join_ms"] for r in ready) / 1000, 1),
                "ms_per_client": round(1000 * seconds / max(clients, 1), 2), "loadavg_before": load0,
                # CPU time is less at the mercy of the neighbours than wall time on a shared machine.
                "server_cpu_ms_per_client": round(1000 * sum(b[0] - a[0] for a, b in zip(cpu0, cpu1) if a and b)
                                                  / max(clients, 1), 2), "loadavg_after": loadavg()}

    def py_spy(self, phase: str) -> subprocess.Popen | None:
        if self.name != "filmo" or self.args.py_spy != phase:
            return None
        pid = self.servers[0][1].pid
        return subprocess.Popen(["py-spy" if not (REPO / ".venv/bin/py-spy").exists() else str(REPO / ".venv/bin/py-spy"),
                                 "record", "--pid", str(pid), "--rate", "200", "--nonblocking", "--format",
                                 "speedscope", "-o", str(DATA / f"realtime-{phase}.speedscope.json")],
                                stdout=subprocess.DEVNULL, stderr=(DATA / f"realtime-py-spy-{phase}.log").open("w"))

    @staticmethod
    def stop_spy(spy: subprocess.Popen | None) -> None:
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            try:
                spy.wait(60)
            except subprocess.TimeoutExpired:
                spy.kill()

    def step(self, rate: float, duration_s: float, drop_fraction: float = 0.0, drain_s: float | None = None) -> dict:
        i = self.step_index
        self.step_index += 1
        spec = {"rate": rate, "duration_s": duration_s, "drain_s": drain_s or self.args.drain,
                "drop_fraction": drop_fraction,
                "start_ms": (time.time() + 1.0) * 1000}
        Path(f"{self.plan}.step{i}").write_text(json.dumps(spec))
        cpu0 = {p.pid: proc_sample(p.pid) for _, p in self.servers + [(None, lp) for lp in self.loaders]}
        t0 = time.monotonic()
        loads = []
        files = [Path(f"{self.plan}.worker{w}.step{i}.json") for w in range(len(self.loaders))]
        while not all(f.exists() for f in files):
            if any(lp.poll() is not None for lp in self.loaders):
                raise RuntimeError("a load worker died (see bench/data/realtime-load-*.log)")
            time.sleep(0.5)
            loads.append(loadavg())
        elapsed = time.monotonic() - t0
        cpu1 = {pid: proc_sample(pid) for pid in cpu0}
        cpu = {pid: round(100 * (cpu1[pid][0] - cpu0[pid][0]) / elapsed, 1) for pid in cpu0
               if cpu0[pid] and cpu1[pid]}
        time.sleep(0.2)  # the files are written in one call; let the last one land
        result = merge_steps([json.loads(f.read_text()) for f in files])
        result.update(rate_msg_s=round(rate, 1), duration_s=duration_s, drop_fraction=drop_fraction,
                      server_cpu_percent=[cpu.get(p.pid) for _, p in self.servers],
                      load_worker_cpu_percent=[cpu.get(lp.pid) for lp in self.loaders],
                      loadavg_max=max(loads) if loads else loadavg())
        return result

    def passed(self, step: dict) -> bool:
        return (step["latency_ms"]["p99"] is not None and step["latency_ms"]["p99"] <= self.args.p99_ms
                and step["lost"] == 0 and step["refused"] == 0 and step["errors"] == 0 and step["disconnects"] == 0
                and step["acked"] == step["sent"])

    def at_rate(self, rate: float) -> list[dict]:
        """One rung of the ramp: a step at `rate`, tried once more if it misses (the machine is shared, and one
        neighbour's burst can push a p99 over the line)."""
        attempts = []
        for attempt in (1, 2):
            result = self.step(rate, self.args.step_s)
            result.update(passed=self.passed(result), attempt=attempt)
            attempts.append(result)
            print(f"[bench] {self.name:9s} {rate:7.1f} msg/s: p50 {result['latency_ms']['p50']} ms, p99 "
                  f"{result['latency_ms']['p99']} ms, lost {result['lost']}, refused {result['refused']}, "
                  f"disconnects {result['disconnects']}, server CPU {result['server_cpu_percent']}, node CPU "
                  f"{result['load_worker_cpu_percent']}, load {result['loadavg_max']} -> "
                  f"{'pass' if result['passed'] else 'MISS'}", flush=True)
            if result["passed"]:
                break
        return attempts

    def close(self) -> None:
        Path(f"{self.plan}.stop").write_text("stop")
        for loader in self.loaders:
            try:
                loader.wait(20)
            except subprocess.TimeoutExpired:
                loader.kill()
        for _, proc in self.servers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
        for f in DATA.glob(f"{self.plan.name}*"):
            f.unlink()


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def main() -> int:
    args = parse_args()
    # Stopped with SIGTERM: still stop the servers and workers and drop the scratch database (the finally blocks).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    run_id = secrets.token_hex(3)
    dbname = f"filmo_bench_rt_{run_id}"
    db_url = f"postgresql+asyncpg://filmo:filmo@127.0.0.1:{PG}/{dbname}"
    env = {**os.environ, "FILMO_ENV": "dev", "LOG_JSON": "false", "LOG_LEVEL": "WARNING", "DATABASE_URL": db_url,
           "REDIS_URL": f"redis://127.0.0.1:{REDIS}/0", "QUEUE_NAMESPACE": f"bench-rt-{run_id}",
           "SECRET_KEY": secrets.token_urlsafe(48), "OPENSEARCH_URL": "", "DB_POOL_SIZE": "10",
           # The ramp sends far more than a person may (60 a minute): the flood limit stays on, out of reach.
           "CHAT_MESSAGES_PER_MINUTE": "100000",
           "REFERENCE_CHANNEL": f"bench-rt-{run_id}:reference"}
    env.update(kv.split("=", 1) for kv in args.env)
    if args.admission_cap:
        if args.admission_cap != "auto":
            env["REALTIME_MAX_SENDS_PER_S"] = f"{float(args.admission_cap):.1f}"
        elif args.capacity:
            env["REALTIME_MAX_SENDS_PER_S"] = f"{ADMISSION_CAP_SHARE * args.capacity / args.servers:.1f}"
    admission_cap = float(env.get("REALTIME_MAX_SENDS_PER_S", 0) or 0)
    os.environ.update(env)  # tokens are minted here with the servers' secret
    sys.path.insert(0, str(REPO))
    DATA.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)

    print(f"[bench] scratch database {dbname}; seeding {args.clients} people in rooms of {args.room_size}")
    asyncio.run(create_database(dbname, db_url))
    rooms = asyncio.run(seed(dbname, args.clients, args.room_size))
    apps = {"filmo": "api.main:app", "reference": "bench.realtime.reference_server:app"}
    report = {"benchmark": "realtime chat capacity: Filmo vs a minimal python-socketio server, same run",
              "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "code": code_version(),
              "machine": {"cpus": os.cpu_count(), "cpu_model": cpu_model(), "python": platform.python_version(),
                          "loadavg_at_start": Path("/proc/loadavg").read_text().strip(),
                          "note": "shared with other work: the load average counts everyone's runnable processes"},
              "config": {"clients": args.clients, "room_size": args.room_size, "rooms": len(rooms),
                         "servers": args.servers, "load_workers": args.load_workers, "step_s": args.step_s,
                         "start_rate": args.start_rate, "factor": args.factor, "p99_ms": args.p99_ms,
                         "drain_s": args.drain, "transport": "websocket", "client": "socket.io-client (node)",
                         "extra_env": args.env, "note": args.note, "capacity_given": args.capacity or None,
                         "admission_cap_per_process": admission_cap or None},
              "targets": {}}
    names = [t.strip() for t in args.targets.split(",") if t.strip()]
    targets: dict[str, Target] = {}
    try:
        # Every target is up and connected at once, and the ramp alternates between them rung by rung, so the
        # two capacities are measured side by side under the same neighbours (the machine is shared).
        for name in names:
            targets[name] = target = Target(name, apps[name], env, rooms, args, run_id)
            setup = target.connect_clients()
            print(f"[bench] {name}: {setup['clients']} clients connected and joined in {setup['seconds']} s "
                  f"({setup['ms_per_client']} ms per client)", flush=True)
            report["targets"][name] = {"setup": setup, "capacity_msg_s": None, "ramp": []}
        time.sleep(args.settle)
        spies = {name: t.py_spy("ramp") for name, t in targets.items()}
        ramping, rate = (set() if args.capacity else set(names)), args.start_rate
        if args.capacity and "filmo" in report["targets"]:
            report["targets"]["filmo"]["capacity_msg_s"] = args.capacity
        while ramping and rate <= args.max_rate:
            for name in names:
                if name not in ramping:
                    continue
                attempts = targets[name].at_rate(rate)
                report["targets"][name]["ramp"] += attempts
                if attempts[-1]["passed"]:
                    report["targets"][name]["capacity_msg_s"] = rate
                else:
                    ramping.discard(name)
            rate = round(rate * args.factor, 1)
        for name, spy in spies.items():
            Target.stop_spy(spy)
        filmo, capacity = targets.get("filmo"), report["targets"].get("filmo", {}).get("capacity_msg_s")
        if filmo and capacity and args.drop_fraction:
            # A longer drain: 200 clients reconnecting and rejoining at once take seconds to be back in their rooms,
            # and what they missed only counts as lost if it never reaches them.
            entry = report["targets"]["filmo"]["reconnect"] = filmo.step(capacity / 2, args.step_s,
                                                                         args.drop_fraction, drain_s=30)
            print(f"[bench] reconnect step: {json.dumps(_short(entry))}", flush=True)
        if filmo and capacity and args.overload_factor and args.admission_cap == "auto" and not args.capacity:
            # The cap an operator would set from this ramp's capacity: Filmo's servers restarted with it (the
            # setting is read at start), the clients connected again, then the overload step.
            filmo.close()
            env["REALTIME_MAX_SENDS_PER_S"] = f"{ADMISSION_CAP_SHARE * capacity / args.servers:.1f}"
            admission_cap = float(env["REALTIME_MAX_SENDS_PER_S"])
            targets["filmo"] = filmo = Target("filmo", apps["filmo"], env, rooms, args, run_id)
            report["targets"]["filmo"]["setup_capped"] = filmo.connect_clients()
            time.sleep(args.settle)
        if filmo and capacity and args.overload_factor:
            entry = report["targets"]["filmo"]["overload"] = filmo.step(capacity * args.overload_factor,
                                                                        args.overload_s)
            # The cap each server admitted sends at (0: none), beside the offered rate it was measured at.
            entry.update(overload_factor=args.overload_factor, capacity_msg_s=capacity,
                         admission_cap_per_process=admission_cap, servers=args.servers)
            print(f"[bench] overload step: {json.dumps(_short(entry))}", flush=True)
    finally:
        for target in targets.values():
            target.close()
        asyncio.run(drop_database(dbname))
        import redis

        r = redis.Redis(host="127.0.0.1", port=int(REDIS), db=0)
        for key in r.scan_iter(f"bench-rt-{run_id}:*", count=1000):
            r.delete(key)

    report["machine"]["loadavg_at_end"] = Path("/proc/loadavg").read_text().strip()
    caps = {n: t["capacity_msg_s"] for n, t in report["targets"].items()}
    if caps.get("filmo") and caps.get("reference"):
        report["ratio_filmo_to_reference"] = round(caps["filmo"] / caps["reference"], 3)
    out = RESULTS / "realtime.json"
    runs = json.loads(out.read_text()).get("runs", {}) if out.exists() else {}
    runs[args.label] = report
    out.write_text(json.dumps({"runs": runs}, indent=2) + "\n")
    print(json.dumps({"capacity_msg_s": caps, "ratio": report.get("ratio_filmo_to_reference")}, indent=2))
    return 0


def _short(step: dict) -> dict:
    keys = ("rate_msg_s", "admission_cap_per_process", "sent", "acked", "refused", "refused_codes", "errors", "answered_within_1s", "answer_ms_max",
            "lost", "recovered", "reconnects", "disconnects", "disconnect_reasons", "latency_ms", "server_cpu_percent",
            "loadavg_max")
    return {k: step[k] for k in keys if k in step}


if __name__ == "__main__":
    sys.exit(main())
