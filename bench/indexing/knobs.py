"""Where `filmo reindex`'s defaults come from: load throughput for --batch-size x --concurrency, side by side.

    .venv/bin/python -m bench.indexing.knobs [--projects 50000] [--repeats 2]

Seeds its own database (filmo_bench_knobs, SQL generate_series: projects with one role each) and index prefix,
then runs `filmo reindex projects --json` as an operator does, once per setting per repeat, settings interleaved
so a change of machine load hits them all alike. Figures are RATIOS to the default (1000 rows, 2 writers) from the
same run. Results: bench/results/reindex_knobs.json and .md (machine and load average included).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "bench" / "results"
PG = os.environ.get("FILMO_PG_PORT", "5433")
DATABASE = "filmo_bench_knobs"
URL = f"postgresql+asyncpg://filmo:filmo@127.0.0.1:{PG}/{DATABASE}"
PREFIX = "bench_knobs_"
SETTINGS = [(batch, writers) for batch in (500, 1000, 2000, 4000) for writers in (1, 2, 4)]
DEFAULT = (1000, 2)


def env() -> dict:
    return {**os.environ, "DATABASE_URL": URL, "OPENSEARCH_INDEX_PREFIX": PREFIX, "QUEUE_NAMESPACE": "bench-knobs",
            "LOG_LEVEL": "WARNING", "FILMO_ENV": "dev", "SECRET_KEY": "bench-knobs-" + "x" * 40}


async def prepare(projects: int) -> None:
    import asyncpg

    admin = await asyncpg.connect(f"postgresql://filmo:filmo@127.0.0.1:{PG}/postgres")
    await admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{DATABASE}"')
    await admin.close()
    subprocess.run([sys.executable, "-m", "api.cli", "migrate"], cwd=REPO, env=env(), check=True)
    subprocess.run([sys.executable, "-m", "api.cli", "seed"], cwd=REPO, env=env(), check=True)
    conn = await asyncpg.connect(f"postgresql://filmo:filmo@127.0.0.1:{PG}/{DATABASE}")
    owner = await conn.fetchval("INSERT INTO users (email, password_hash, is_verified) "
                                "VALUES ('knobs@example.com', 'x', true) RETURNING id")
    await conn.execute("""
        INSERT INTO projects (creator_id, name, description, project_type, city, location, open_skill_ids,
                              open_payment_types)
        SELECT $1, 'Bench project ' || g, 'A drama about benchmarks, number ' || g, 'short_film', 'Los Angeles',
               ST_SetSRID(ST_MakePoint(-118.24 + (g % 500) * 0.001, 34.05 + (g % 370) * 0.001), 4326)::geography,
               ARRAY[(g % 94) + 1], ARRAY['paid']
        FROM generate_series(1, $2) g""", owner, projects)
    await conn.execute("""
        INSERT INTO project_roles (project_id, skill_id, role_title, payment_type, slots_available, slots_filled)
        SELECT id, open_skill_ids[1], 'Bench role', 'paid', 2, 0 FROM projects""")
    await conn.close()


async def drop() -> None:
    import asyncpg

    admin = await asyncpg.connect(f"postgresql://filmo:filmo@127.0.0.1:{PG}/postgres")
    await admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    await admin.close()


def reindex(batch: int, writers: int) -> dict:
    result = subprocess.run([sys.executable, "-m", "api.cli", "reindex", "projects", "--json", "--batch-size",
                             str(batch), "--concurrency", str(writers)], cwd=REPO, env=env(), capture_output=True,
                            text=True, timeout=1800)
    if result.returncode != 0:
        raise SystemExit(f"reindex failed:\n{result.stdout}\n{result.stderr[-3000:]}")
    report = json.loads(result.stdout)[0]
    return {"documents": report["documents"], "load_seconds": report["load_seconds"],
            "docs_per_s": report["documents"] / max(report["load_seconds"], 1e-6)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--projects", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    load_before = os.getloadavg()
    asyncio.run(prepare(args.projects))
    runs: dict[str, list[float]] = {f"{b}x{w}": [] for b, w in SETTINGS}
    try:
        reindex(*DEFAULT)  # warm-up: caches, JIT of the node; not counted
        for _ in range(args.repeats):
            for batch, writers in SETTINGS:
                runs[f"{batch}x{writers}"].append(reindex(batch, writers)["docs_per_s"])
    finally:
        import httpx

        httpx.delete(f"{os.environ.get('OPENSEARCH_URL', 'http://127.0.0.1:9201')}/{PREFIX}*", timeout=60)
        asyncio.run(drop())
    load_after = os.getloadavg()
    reference = statistics.median(runs[f"{DEFAULT[0]}x{DEFAULT[1]}"])
    rows = [{"batch_size": b, "concurrency": w, "docs_per_s_median": round(statistics.median(runs[f"{b}x{w}"])),
             "ratio_to_default": round(statistics.median(runs[f"{b}x{w}"]) / reference, 2),
             "runs": [round(v) for v in runs[f"{b}x{w}"]]} for b, w in SETTINGS]
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    out = {"when": datetime.now(timezone.utc).isoformat(timespec="seconds"), "projects": args.projects,
           "repeats": args.repeats, "machine": {"nproc": os.cpu_count(), "cpu": cpu},
           "load_average_before": [round(x, 2) for x in load_before],
           "load_average_after": [round(x, 2) for x in load_after], "default": list(DEFAULT), "rows": rows}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "reindex_knobs.json").write_text(json.dumps(out, indent=2) + "\n")
    lines = [f"# `filmo reindex` knobs: load throughput by --batch-size x --concurrency ({args.projects:,} projects)",
             "", f"{out['when']}; {os.cpu_count()} cores ({cpu}); load average before {out['load_average_before']}, "
             f"after {out['load_average_after']} (other work shared the machine). Median of {args.repeats} runs "
             "per setting, settings interleaved; ratio to the default (1000 rows, 2 writers) from the same run.", "",
             "| batch size | concurrency | docs/s (median) | ratio to default | runs |", "|---|---|---|---|---|"]
    lines += [f"| {r['batch_size']} | {r['concurrency']} | {r['docs_per_s_median']:,} | {r['ratio_to_default']} | "
              f"{', '.join(f'{v:,}' for v in r['runs'])} |" for r in rows]
    (RESULTS / "reindex_knobs.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
