"""One node of a 3-node OpenSearch cluster killed (SIGKILL) under a search load and an indexing load, through Filmo.

    .venv/bin/python -m bench.cluster.run [--nodes 3] [--duration 100] [--kill-at 15] [--down-for 20]

A real cluster: `bash infra/cluster.sh up 3` (one JVM per node, in .data/cluster, free ports of its own; the dev
services and the dev node are never touched), the indexes built by `filmo reindex all` from search_mappings/
(1 shard, `auto_expand_replicas: 0-1`: one replica on a cluster). Filmo runs as deployed: one `filmo serve`, one
worker, the scheduler, with OPENSEARCH_URL listing the three nodes; a fresh database on the dev Postgres
(bench.data_gen, 20k projects) and a queue namespace of its own on the dev Redis.

Two loads at once for `--duration` seconds:
  searches  4 clients, ~20 searches/s in all: radius + skill, text, newest (GET /search/projects)
  writes    ~10 writes/s through the API (create/rename projects, rename profiles: bench/faults' write load),
            indexed by the worker through the outbox
At `--kill-at` the node holding the projects index's primary shard is SIGKILLed (as a crashed machine: no
shutdown); `--down-for` seconds later `infra/cluster.sh up` starts it again on its data and it recovers.

Counted: a failed search is any answer that is not a 200 from the OpenSearch engine (an error, or the PostGIS
fallback: X-Search-Engine), target 0; a lost write is an acknowledged write missing or stale in OpenSearch once
the outbox has drained (bench/faults' checks, `filmo index verify`), target 0. Results: bench/results/cluster.json
and .md. Stop the cluster afterwards with `bash infra/cluster.sh down` (the script does it unless --keep).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import subprocess
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

from bench.faults import common

REPO = common.REPO
CLUSTER_DIR = Path(os.environ.get("FILMO_CLUSTER_DIR", REPO / ".data" / "cluster"))
LOGS = REPO / ".data" / "bench-cluster" / "logs"
RESULTS = REPO / "bench" / "results"
PG_PORT = int(os.environ.get("FILMO_PG_PORT", "5433"))
REDIS_PORT = int(os.environ.get("FILMO_REDIS_PORT", "6380"))
SEARCHES = [  # (weight, params): the shapes a list and a map client send
    (5, lambda rng, c: {"latitude": c[0], "longitude": c[1], "max_distance_km": 50, "skill_id": rng.randint(1, 30)}),
    (2, lambda rng, c: {"query": rng.choice(["night", "river", "dream", "glass", "echo"]), "latitude": c[0],
                        "longitude": c[1], "max_distance_km": 30}),
    (2, lambda rng, c: {"sort": "newest", "skill_id": rng.randint(1, 30)}),
    (1, lambda rng, c: {"latitude": c[0], "longitude": c[1], "max_distance_km": 50, "envelope": "true"}),
]
CENTRES = [(34.0522, -118.2437), (40.7128, -74.0060), (51.5074, -0.1278), (19.0760, 72.8777), (33.7490, -84.3880)]


def cluster(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "FILMO_CLUSTER_DIR": str(CLUSTER_DIR)}
    res = subprocess.run(["bash", str(REPO / "infra" / "cluster.sh"), *args], cwd=REPO, env=env, text=True,
                         capture_output=True, timeout=300, stdin=subprocess.DEVNULL, check=False)
    if res.returncode != 0:
        raise RuntimeError(f"cluster.sh {' '.join(args)} failed:\n{res.stdout}\n{res.stderr}")
    return res


def node_urls() -> dict[int, str]:
    ports = dict(line.split("=", 1) for line in (CLUSTER_DIR / "ports.env").read_text().splitlines())
    return {int(m.group(1)): f"http://127.0.0.1:{v}" for k, v in ports.items() if (m := re.match(r"NODE_(\d+)_HTTP", k))}


class ClusterStack(common.Stack):
    """bench/faults' stack (app processes, CLI, checks) on a fresh bench database on the dev Postgres and Redis,
    with OpenSearch = the cluster."""

    def __init__(self, opensearch_url: str):
        self.name = "cluster"
        self.tag = f"{time.strftime('%H%M%S')}_{uuid.uuid4().hex[:4]}"
        self.db = f"bench_cluster_{self.tag}"
        self.admin_url = f"postgresql://filmo:filmo@127.0.0.1:{PG_PORT}/filmo"
        self.env = {
            "DATABASE_URL": f"postgresql+asyncpg://filmo:filmo@127.0.0.1:{PG_PORT}/{self.db}",
            "REDIS_URL": f"redis://127.0.0.1:{REDIS_PORT}/0",
            "OPENSEARCH_URL": opensearch_url,
            "OPENSEARCH_INDEX_PREFIX": f"{self.db}_",
            "QUEUE_NAMESPACE": self.db,
            "SECRET_KEY": "bench-cluster-" + "k" * 40,
            "FILMO_ENV": "dev",
            "LOG_LEVEL": "WARNING",
            "MAIL_DIR": str(LOGS.parent / "mail"),
            "MEDIA_ROOT": str(LOGS.parent / "media"),
        }
        os.environ.update(self.env)
        self.procs = {}
        LOGS.mkdir(parents=True, exist_ok=True)
        common.LOGS = LOGS  # the app processes' logs (Stack._start)

    def prepare(self) -> dict:
        from bench.data_gen import generate

        data = generate(self.env["DATABASE_URL"], projects=20_000, profiles=5_000)
        started = time.monotonic()
        res = self.cli("reindex", "all", timeout=600)
        if res.returncode != 0:
            raise RuntimeError(f"filmo reindex all failed:\n{res.stdout[-2000:]}\n{res.stderr[-3000:]}")
        return {**data, "reindex_s": round(time.monotonic() - started, 1)}

    def drop(self) -> None:
        try:
            asyncio.run(self._admin(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)'))
        except Exception as exc:  # noqa: BLE001 - best effort
            common.log(f"drop database: {exc}")


async def search_load(base_url: str, *, duration: float, rate: float, clients: int, t0: float) -> list:
    """(t, status or error name, engine, latency s) per search; `clients` closed loops paced to `rate` in all."""
    import httpx

    out: list = []
    interval = clients / rate
    weights = [w for w, _ in SEARCHES]

    async with httpx.AsyncClient(base_url=base_url, timeout=15) as http:
        async def one(k: int) -> None:
            rng = random.Random(k)
            await asyncio.sleep(k * interval / clients)
            while time.monotonic() - t0 < duration:
                started = time.monotonic()
                params = rng.choices(SEARCHES, weights=weights)[0][1](rng, rng.choice(CENTRES))
                try:
                    resp = await http.get(f"{common.API}/search/projects", params=params)
                    out.append((started - t0, resp.status_code, resp.headers.get("X-Search-Engine"),
                                time.monotonic() - started))
                except httpx.HTTPError as exc:
                    out.append((started - t0, type(exc).__name__, None, time.monotonic() - started))
                await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))

        await asyncio.gather(*(one(k) for k in range(clients)))
    return out


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(len(values) * q))] * 1000, 1)


def search_summary(rows: list, lo: float, hi: float) -> dict:
    part = [r for r in rows if lo <= r[0] < hi]
    failed = [r for r in part if r[1] != 200 or r[2] != "opensearch"]
    kinds: dict[str, int] = {}
    for r in failed:
        key = f"{r[1]} {r[2] or ''}".strip()
        kinds[key] = kinds.get(key, 0) + 1
    return {"searches": len(part), "failed": len(failed), "failed_by_answer": kinds,
            "p50_ms": _pct([r[3] for r in part], 0.5), "p99_ms": _pct([r[3] for r in part], 0.99),
            "max_ms": _pct([r[3] for r in part], 1.0)}


def retries_logged(path: Path) -> int:
    """Requests to OpenSearch that failed on one node (opensearch-py logs each, status N/A, before it tries the
    next node): evidence that the loads did meet the dead node and went on elsewhere."""
    try:
        return sum("[status:N/A" in line for line in path.read_text(errors="replace").splitlines())
    except OSError:
        return 0


async def warm_up(base_url: str) -> None:
    """A few searches of every shape before the clock starts: a fresh index's first searches load its data
    structures (seconds on a loaded machine, past the engine's timeout), which is start-up, not failover."""
    import httpx

    rng = random.Random(0)
    engines = set()
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        for _ in range(3):
            for _, shape in SEARCHES:
                for centre in CENTRES:
                    resp = await http.get(f"{common.API}/search/projects", params=shape(rng, centre))
                    engines.add(resp.headers.get("X-Search-Engine"))
    if engines != {"opensearch"}:
        common.log(f"warm-up answered by {engines}: waiting for the circuit breaker to close")
        await asyncio.sleep(31)  # SEARCH_BREAKER_COOLDOWN_S


async def primary_node(url: str, index_alias: str) -> tuple[int, str]:
    import httpx

    async with httpx.AsyncClient(timeout=10) as http:
        shards = (await http.get(f"{url}/_cat/shards/{index_alias}?format=json&h=prirep,node,state")).json()
        manager = (await http.get(f"{url}/_cat/cluster_manager?format=json")).json()[0]["node"]
    node = next(s["node"] for s in shards if s["prirep"] == "p" and s["state"] == "STARTED")
    return int(node.rsplit("-", 1)[1]), manager


async def wait_green(url: str, timeout: float) -> float | None:
    import httpx

    started = time.monotonic()
    async with httpx.AsyncClient(timeout=timeout + 5) as http:
        r = (await http.get(f"{url}/_cluster/health?wait_for_status=green&timeout={int(timeout)}s")).json()
    return round(time.monotonic() - started, 1) if r.get("status") == "green" else None


async def body(stack: ClusterStack, args) -> dict:
    stack.api_url = stack.start_api()
    stack.start_worker()
    stack.start_scheduler()
    users = await common.make_users(8)
    await common.create_profiles(stack.api_url, users)
    load = common.LoadResult()
    for u in users:
        load.profiles[str(u.id)] = common.Item("profile", str(u.id), u.profile_name)
    urls = node_urls()
    victim, manager = await primary_node(urls[1], f"{stack.env['OPENSEARCH_INDEX_PREFIX']}projects")
    survivor = urls[next(k for k in urls if k != victim)]
    common.log(f"projects primary on filmo-{victim}; cluster manager {manager}")

    await warm_up(stack.api_url)
    load.t0 = t0 = time.monotonic()
    writes = asyncio.create_task(common.run_load(stack.api_url, users, duration=args.duration, rate=10,
                                                 max_writes=10_000, res=load))
    searches = asyncio.create_task(search_load(stack.api_url, duration=args.duration, rate=20, clients=4, t0=t0))
    await asyncio.sleep(args.kill_at)
    t_kill = time.monotonic() - t0
    os.kill(int((CLUSTER_DIR / f"node-{victim}.pid").read_text()), signal.SIGKILL)
    common.log(f"killed filmo-{victim} at {t_kill:.1f}s")
    await asyncio.sleep(args.down_for)
    t_restart = time.monotonic() - t0
    await asyncio.to_thread(cluster, "up")
    t_rejoined = time.monotonic() - t0
    common.log(f"filmo-{victim} restarted at {t_restart:.1f}s, rejoined at {t_rejoined:.1f}s")
    green_after = await wait_green(survivor, 120)
    t_green = time.monotonic() - t0
    rows = await searches
    await writes
    common.log(f"loads done: {len(rows)} searches, {load.attempted} writes {dict(load.statuses)}")
    drained = await common.wait_outbox_empty(stack, 120)
    stack.env["OPENSEARCH_URL"] = survivor  # the checks read through one node (all are back by now)
    checks = await common.check(stack, load)
    retried = retries_logged(LOGS / f"{stack.tag}-api.log"), retries_logged(LOGS / f"{stack.tag}-worker.log")
    lost = len(checks["lost_in_opensearch"]) + len(checks["lost_in_postgis"])
    stale = len(checks["stale_in_opensearch"]) + len(checks["stale_in_postgis"])
    failed = search_summary(rows, 0, 1e9)["failed"]
    failures = []
    if failed:
        failures.append(f"{failed} failed searches")
    if lost or stale:
        failures.append(f"{lost} lost and {stale} stale writes")
    if drained is None:
        failures.append("outbox not drained 120 s after the load")
    if not checks["index_verify_ok"]:
        failures.append(f"filmo index verify: {checks['index_verify']}")
    if load.unexpected_5xx:
        failures.append(f"{len(load.unexpected_5xx)} unexpected 5xx on writes")
    return {
        "killed_node": f"filmo-{victim}", "killed_node_was_cluster_manager": manager == f"filmo-{victim}",
        "killed_node_held": "the projects primary shard",
        "timeline_s": {"killed_at": round(t_kill, 1), "restart_at": round(t_restart, 1),
                       "rejoined_at": round(t_rejoined, 1), "green_at": round(t_green, 1),
                       "green_wait_s": green_after, "load_ends_at": args.duration},
        "requests_that_met_a_dead_node": {"api": retried[0], "worker": retried[1]},
        "searches": {"all": search_summary(rows, 0, 1e9), "before_kill": search_summary(rows, 0, t_kill),
                     "node_down": search_summary(rows, t_kill, t_rejoined),
                     "after_rejoin": search_summary(rows, t_rejoined, 1e9)},
        "writes": {"attempted": load.attempted, "acked": load.acked,
                   "statuses": {str(k): v for k, v in sorted(load.statuses.items())},
                   "transport_errors": dict(load.transport_errors), "unexpected_5xx": len(load.unexpected_5xx),
                   "latency_ms": common._latency(load.timeline),
                   "latency_ms_node_down": common._latency([x for x in load.timeline if t_kill <= x[0] <= t_rejoined]),
                   "lost": lost, "stale": stale, "outbox_drained": drained is not None},
        "checks": {k: (v[:20] if isinstance(v, list) else v) for k, v in checks.items()},
        "failures": failures, "ok": not failures,
    }


def markdown(r: dict) -> str:
    m, s, w, t = r["machine"], r["searches"], r["writes"], r["timeline_s"]
    lines = [
        "# One node of a 3-node OpenSearch cluster killed under load (bench/cluster/run.py)", "",
        f"{r['when']} at {r['commit']}, {m['cpus']} × {m['cpu']}, load average before {r['load_average']['before']}, "
        f"after {r['load_average']['after']} (the machine is shared: other runs were using it).", "",
        f"Cluster: {r['nodes']} nodes (infra/cluster.sh, one JVM each, heap {r['heap']}), projects index 1 shard + 1 "
        f"replica (`auto_expand_replicas: 0-1`). Data: {r['data']['projects']} projects, {r['data']['profiles']} "
        f"profiles (bench.data_gen), `filmo reindex all` {r['data']['reindex_s']} s. Filmo: 1 API process, 1 worker, "
        f"scheduler; OPENSEARCH_URL lists the {r['nodes']} nodes.", "",
        f"Killed (SIGKILL) **{r['killed_node']}** ({r['killed_node_held']}"
        f"{', and the elected cluster manager' if r['killed_node_was_cluster_manager'] else ''}) at {t['killed_at']} s; "
        f"started again at {t['restart_at']} s, back in the cluster at {t['rejoined_at']} s, green at {t['green_at']} s; "
        f"loads ran {t['load_ends_at']} s.", "",
        "| searches | count | failed | p50 ms | p99 ms | max ms |", "|---|---|---|---|---|---|",
    ]
    for key, label in (("before_kill", "before the kill"), ("node_down", "node down"), ("after_rejoin", "after it rejoined"),
                       ("all", "**all**")):
        x = s[key]
        lines.append(f"| {label} | {x['searches']} | {x['failed']} {x['failed_by_answer'] or ''} | {x['p50_ms']} | "
                     f"{x['p99_ms']} | {x['max_ms']} |")
    lines += [
        "", "A failed search = anything but a 200 answered by the OpenSearch engine (an error or the PostGIS fallback). "
        f"Requests to OpenSearch that met the dead node and were sent on to another one (opensearch-py's log): "
        f"{r['requests_that_met_a_dead_node']['api']} from the API process, "
        f"{r['requests_that_met_a_dead_node']['worker']} from the worker.", "",
        "| writes through the API | |", "|---|---|",
        f"| attempted / acknowledged | {w['attempted']} / {w['acked']} |",
        f"| answers | {w['statuses']} |",
        f"| latency p50 / p99 ms (all) | {w['latency_ms'].get('p50')} / {w['latency_ms'].get('p99')} |",
        f"| latency p50 / p99 ms (node down) | {w['latency_ms_node_down'].get('p50')} / {w['latency_ms_node_down'].get('p99')} |",
        f"| **lost / stale in OpenSearch after recovery** | **{w['lost']} / {w['stale']}** |",
        f"| outbox rows left after the load | {r['checks']['counts']['outbox_left']} |",
        f"| `filmo index verify` | {r['checks']['index_verify']} |", "",
        f"Result: {'**ok**: 0 failed searches, 0 lost writes' if r['ok'] else '**FAILED**: ' + '; '.join(r['failures'])}.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--duration", type=float, default=100)
    parser.add_argument("--kill-at", type=float, default=15)
    parser.add_argument("--down-for", type=float, default=20)
    parser.add_argument("--heap", default="512m")
    parser.add_argument("--keep", action="store_true", help="leave the cluster and the database")
    args = parser.parse_args()
    os.environ["FILMO_CLUSTER_HEAP"] = args.heap
    load_before = [round(x, 2) for x in os.getloadavg()]
    cluster("down")
    up = cluster("up", str(args.nodes))
    url = re.search(r"OPENSEARCH_URL=(\S+)", up.stdout).group(1)
    stack = ClusterStack(url)
    from bench.faults.run import git_describe, machine

    result = {"benchmark": "one OpenSearch node killed under a search load and an indexing load through Filmo",
              "when": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "commit": git_describe(),
              "machine": machine(), "nodes": args.nodes, "heap": args.heap}
    try:
        common.log(f"preparing {stack.db} (20k projects) and indexing it into the cluster")
        result["data"] = stack.prepare()
        result.update(asyncio.run(body(stack, args)))
    finally:
        stack.stop_all()
        if not args.keep:
            stack.drop()
            cluster("down")
    result["load_average"] = {"before": load_before, "after": [round(x, 2) for x in os.getloadavg()]}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "cluster.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    (RESULTS / "cluster.md").write_text(markdown(result))
    print(markdown(result))
    raise SystemExit(0 if result["ok"] else 1)


if __name__ == "__main__":
    main()
