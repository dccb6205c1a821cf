"""Indexing benchmark: bulk indexing throughput, full reindex time, freshness (commit → searchable).

    .venv/bin/python -m bench.indexing.run [--projects 100000 --profiles 100000] [--reuse-data]
        [--write-rate 20 --freshness-seconds 30]

1. Generates the data set (bench/data_gen.py) into its own database (default filmo_bench_indexing).
2. `filmo reindex all --json` as an operator runs it (a subprocess): full reindex time per index, and the bulk
   indexing throughput of its load phase (documents / load seconds).
3. Freshness: a real `filmo worker` runs; this process commits steady updates (project renames through
   `record_change`, as the API does) and polls the alias with a search; commit → first search that finds the
   new name, p50/p95/p99.
Results: bench/results/indexing.json and bench/results/indexing.md. Indexes it created are deleted at the end
(they would otherwise sit in the shared node's 1 GB heap).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "bench" / "results"
DEFAULT_DB = "postgresql+asyncpg://filmo:filmo@127.0.0.1:5433/filmo_bench_indexing"
PREFIX = "bench_indexing_"
TARGET_REINDEX_S = 60.0
TARGET_FRESHNESS_P95_S = 1.5


def _env(database_url: str) -> dict:
    return {**os.environ, "DATABASE_URL": database_url, "OPENSEARCH_INDEX_PREFIX": PREFIX,
            "QUEUE_NAMESPACE": "bench-indexing", "LOG_JSON": "false", "LOG_LEVEL": "WARNING", "FILMO_ENV": "dev"}


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1)))))
    return ordered[k]


def run_reindex(env: dict) -> dict:
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "api.cli", "reindex", "all", "--json", "--batch-size", "1000"],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        raise SystemExit(f"reindex failed:\n{result.stdout}\n{result.stderr[-3000:]}")
    reports = json.loads(result.stdout)
    return {"wall_seconds": round(time.monotonic() - started, 2),
            "indexes": {r["kind"]: {"documents": r["documents"], "seconds": r["seconds"],
                                    "load_seconds": r["load_seconds"],
                                    "docs_per_second": round(r["documents"] / max(r["load_seconds"], 1e-6)),
                                    "index": r["index"]} for r in reports}}


async def measure_freshness(rate: float, seconds: float) -> dict:
    """Steady renames at `rate`/s for `seconds`; one poller search every 50 ms over the pending ids."""
    from sqlalchemy import text

    from db.session import dispose_engine, unit_of_work
    from indexer.client import alias_name, close_client, get_client
    from indexer.outbox import record_change

    client = get_client()
    alias = alias_name("projects")
    async with unit_of_work() as session:
        ids = [row[0] for row in await session.execute(text(
            "SELECT id FROM projects WHERE status <> 'disposed' ORDER BY md5(id::text) LIMIT 5000"))]
    pending: dict[str, tuple[str, float]] = {}
    latencies: list[float] = []
    done = asyncio.Event()
    rng = random.Random(7)

    async def writer() -> None:
        interval = 1.0 / rate
        next_at = time.monotonic()
        for n in range(int(rate * seconds)):
            project_id = rng.choice(ids)
            token = f"fresh{n}x{rng.randrange(10**6)}"
            async with unit_of_work() as session:
                await session.execute(text("UPDATE projects SET name = :name, updated_at = now() WHERE id = :id"),
                                      {"name": f"Bench {token}", "id": project_id})
                await record_change(session, "project", project_id)
                committed = time.monotonic()  # just before the commit: a conservative start
            pending[str(project_id)] = (token, committed)
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        done.set()

    async def poller() -> None:
        deadline = None
        while True:
            if done.is_set():
                deadline = deadline or time.monotonic() + 15
                if not pending or time.monotonic() > deadline:
                    return
            if pending:
                snapshot = dict(pending)
                resp = await client.search(index=alias, body={
                    "size": len(snapshot), "_source": ["name"],
                    "query": {"ids": {"values": list(snapshot)}}})
                now = time.monotonic()
                for hit in resp["hits"]["hits"]:
                    token, committed = snapshot[hit["_id"]]
                    if token in hit["_source"]["name"] and pending.get(hit["_id"], (None,))[0] == token:
                        latencies.append(now - committed)
                        del pending[hit["_id"]]
            await asyncio.sleep(0.05)

    await asyncio.gather(writer(), poller())
    lost = len(pending)
    await close_client()
    await dispose_engine()
    return {"writes_per_second": rate, "seconds": seconds, "samples": len(latencies), "not_seen": lost,
            "p50_s": round(_pct(latencies, 50), 3), "p95_s": round(_pct(latencies, 95), 3),
            "p99_s": round(_pct(latencies, 99), 3), "max_s": round(max(latencies), 3),
            "mean_s": round(statistics.mean(latencies), 3)}


def opensearch_heap() -> dict:
    import httpx

    url = os.environ.get("OPENSEARCH_URL", "http://127.0.0.1:9201")
    nodes = httpx.get(f"{url}/_nodes/stats/jvm", timeout=10).json()["nodes"]
    jvm = next(iter(nodes.values()))["jvm"]["mem"]
    return {"heap_max_mb": round(jvm["heap_max_in_bytes"] / 2**20), "heap_used_percent": jvm["heap_used_percent"]}


def delete_bench_indexes() -> None:
    import httpx

    url = os.environ.get("OPENSEARCH_URL", "http://127.0.0.1:9201")
    httpx.delete(f"{url}/{PREFIX}*", timeout=60)


def write_results(data: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "indexing.json").write_text(json.dumps(data, indent=2) + "\n")
    r, f = data["reindex"], data["freshness"]
    lines = [
        "# Indexing benchmark", "",
        f"Run {data['run_at']} on {data['machine']['cpus']} CPUs ({data['machine']['platform']}); OpenSearch heap "
        f"{data['opensearch']['heap_max_mb']} MB; load average (1/5/15 min) at start "
        f"{'/'.join(f'{x:.1f}' for x in data['machine']['load_average_at_start'])}, at end "
        f"{'/'.join(f'{x:.1f}' for x in data['machine']['load_average_at_end'])}. Data: {data['data']['projects']:,} projects "
        f"({data['data'].get('roles', 0):,} roles), {data['data']['profiles']:,} profiles, clustered around "
        "film cities (bench/data_gen.py).", "",
        "| measure | value | target |", "|---|---|---|",
    ]
    for kind, idx in r["indexes"].items():
        lines.append(f"| bulk indexing throughput, {kind} | {idx['docs_per_second']:,} docs/s "
                     f"({idx['documents']:,} docs in {idx['load_seconds']} s) | |")
    for kind, idx in r["indexes"].items():
        ok = "✅" if idx["seconds"] <= TARGET_REINDEX_S else "❌"
        lines.append(f"| full reindex `filmo reindex {kind}` | {idx['seconds']} s | ≤ {TARGET_REINDEX_S:.0f} s {ok} |")
    lines.append(f"| full reindex `filmo reindex all` (wall, incl. process start) | {r['wall_seconds']} s | |")
    ok = "✅" if f["p95_s"] < TARGET_FRESHNESS_P95_S else "❌"
    lines += [
        f"| freshness commit → searchable p50 | {f['p50_s']} s | |",
        f"| freshness commit → searchable p95 | {f['p95_s']} s | < {TARGET_FRESHNESS_P95_S} s {ok} |",
        f"| freshness p99 / max | {f['p99_s']} s / {f['max_s']} s | |",
        f"| freshness samples (steady {f['writes_per_second']} writes/s for {f['seconds']} s) | {f['samples']} "
        f"(not seen: {f['not_seen']}) | |",
        "",
        "Reindex = new versioned index with refresh off, bulk load from PostGIS (batches of 1,000, reads overlapped "
        "with two concurrent `_bulk` writers), catch-up diff, count check, atomic alias swap, post-swap catch-up. "
        "Freshness = from just before the commit of an update (with its outbox row) to the first `_search` on the "
        "alias that returns the new value; a real `filmo worker` indexes, the index refreshes every 500 ms.",
    ]
    (RESULTS / "indexing.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=DEFAULT_DB)
    parser.add_argument("--projects", type=int, default=100_000)
    parser.add_argument("--profiles", type=int, default=100_000)
    parser.add_argument("--reuse-data", action="store_true", help="Skip generation (the database is already filled).")
    parser.add_argument("--write-rate", type=float, default=20.0)
    parser.add_argument("--freshness-seconds", type=float, default=30.0)
    parser.add_argument("--keep-indexes", action="store_true")
    args = parser.parse_args()

    load_at_start = list(os.getloadavg())
    env = _env(args.database_url)
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "OPENSEARCH_INDEX_PREFIX", "QUEUE_NAMESPACE", "LOG_JSON",
                                           "LOG_LEVEL", "FILMO_ENV")})
    sys.path.insert(0, str(REPO))
    from bench.data_gen import generate

    if args.reuse_data:
        import asyncpg

        async def counts():
            conn = await asyncpg.connect(args.database_url.replace("+asyncpg", ""))
            try:
                return {"projects": await conn.fetchval("SELECT count(*) FROM projects"),
                        "roles": await conn.fetchval("SELECT count(*) FROM project_roles"),
                        "profiles": await conn.fetchval("SELECT count(*) FROM user_profiles")}
            finally:
                await conn.close()

        data = asyncio.run(counts())
    else:
        started = time.monotonic()
        data = generate(args.database_url, projects=args.projects, profiles=args.profiles)
        data["generate_seconds"] = round(time.monotonic() - started, 2)
    print(f"data: {data}", flush=True)

    delete_bench_indexes()
    reindex = run_reindex(env)
    print(f"reindex: {reindex}", flush=True)

    worker = subprocess.Popen([sys.executable, "-m", "api.cli", "worker", "--processes", "1", "--threads", "4"],
                              cwd=REPO, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        time.sleep(3)  # worker boot
        freshness = asyncio.run(measure_freshness(args.write_rate, args.freshness_seconds))
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
    print(f"freshness: {freshness}", flush=True)

    results = {
        "run_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    # The machine is shared: a busy box (other test runs) slows every number here.
                    "load_average_at_start": load_at_start, "load_average_at_end": list(os.getloadavg())},
        "opensearch": opensearch_heap(), "data": data, "reindex": reindex, "freshness": freshness,
        "targets": {"reindex_seconds": TARGET_REINDEX_S, "freshness_p95_seconds": TARGET_FRESHNESS_P95_S},
    }
    write_results(results)
    if not args.keep_indexes:
        delete_bench_indexes()
    print((RESULTS / "indexing.md").read_text())


if __name__ == "__main__":
    main()
