"""Search latency at scale: `/search/projects` (50 km radius + skill filter + facets, nearest 20) on
OpenSearch, on the PostGIS engine, and with the original product's method, on one data set.

    .venv/bin/python -m bench.search.run                      # 100k projects + 100k profiles
    .venv/bin/python -m bench.search.run --skip-generate      # reuse the data set (and the index)

Data: bench/data_gen.py (people and projects clustered around real film cities) in its own database
(`filmo_bench_search`) and its own index prefix (`bench_search_`), loaded into OpenSearch with the
indexer's `reindex`. Latency is taken server-side: each request goes through the ASGI app in-process
(routing, validation, engine, facets, serialisation; no network), one at a time. The original's
method (bench/search/original.py) is timed on the same queries against the same database.
Results: bench/results/search.json and bench/results/search.md.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "bench" / "results"
DEFAULT_DB = "postgresql+asyncpg://filmo:filmo@127.0.0.1:5433/filmo_bench_search"
PREFIX = "bench_search_"
OPENSEARCH_URL = os.environ.get("OPENSEARCH_URL") or "http://127.0.0.1:9201"
# The busiest film cities of the generated data (bench/data_gen.py CITIES).
CENTRES = ["Los Angeles", "New York", "London", "Mumbai", "Lagos", "Atlanta", "Toronto", "Vancouver", "Berlin",
           "Paris", "Seoul", "Mexico City"]


def configure(database_url: str) -> None:
    # Before any api/indexer import: settings are read once.
    os.environ.update({"DATABASE_URL": database_url, "OPENSEARCH_INDEX_PREFIX": PREFIX, "FILMO_ENV": "dev",
                       "LOG_LEVEL": "WARNING", "LOG_JSON": "false", "QUEUE_NAMESPACE": "bench-search",
                       # The bulk load and its refresh can be slow on a busy machine (search sets its own timeout).
                       "OPENSEARCH_TIMEOUT_S": "120"})


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summary(ms: list[float]) -> dict:
    return {"n": len(ms), "p50_ms": round(pct(ms, 0.50), 2), "p95_ms": round(pct(ms, 0.95), 2),
            "mean_ms": round(statistics.fmean(ms), 2), "max_ms": round(max(ms), 2)}


async def build_queries(n: int, seed: int) -> list[dict]:
    """Centres near the busiest cities; skills drawn from those really wanted there (weighted like the data)."""
    from sqlalchemy import text

    from bench.data_gen import CITIES
    from db.session import get_sessionmaker

    rng = random.Random(seed)
    city = {c[0]: c for c in CITIES}
    async with get_sessionmaker()() as session:
        rows = (await session.execute(text(
            "SELECT s, count(*) AS n FROM projects, unnest(open_skill_ids) AS s "
            "WHERE status = 'active' AND NOT is_fully_staffed GROUP BY s ORDER BY n DESC LIMIT 40"))).all()
    skills, weights = [r[0] for r in rows], [r[1] for r in rows]
    queries = []
    for _ in range(n):
        c = city[rng.choice(CENTRES)]
        queries.append({"latitude": round(c[3] + rng.uniform(-0.1, 0.1), 5),
                        "longitude": round(c[4] + rng.uniform(-0.1, 0.1), 5),
                        "max_distance_km": 50, "skill_id": rng.choices(skills, weights=weights)[0],
                        # The envelope (total + facets) is opt-in since the bare-list default.
                        "facets": "true", "envelope": "true", "limit": 20})
    return queries


async def time_engines(queries: list[dict], warmup: int) -> dict:
    """Both engines on every query, interleaved (alternating which goes first), so that whatever else runs
    on the machine weighs on both alike."""
    import httpx

    from api.kernel.settings import get_settings
    from api.main import fastapi_app

    settings = get_settings()
    ms: dict[str, list[float]] = {"opensearch": [], "postgis": []}
    totals: dict[str, list[int]] = {"opensearch": [], "postgis": []}
    transport = httpx.ASGITransport(app=fastapi_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for i, params in enumerate(queries[:warmup] + queries):
            order = ("opensearch", "postgis") if i % 2 else ("postgis", "opensearch")
            for engine in order:
                settings.opensearch_url = OPENSEARCH_URL if engine == "opensearch" else ""
                started = time.perf_counter()
                resp = await client.get("/api/v1/search/projects", params=params)
                elapsed = (time.perf_counter() - started) * 1000
                if resp.status_code != 200 or resp.headers.get("x-search-engine") != engine:
                    raise SystemExit(f"{engine}: unexpected answer {resp.status_code} "
                                     f"{resp.headers.get('x-search-engine')}: {resp.text[:300]}")
                if i >= warmup:
                    ms[engine].append(elapsed)
                    totals[engine].append(resp.json()["total"])
    if totals["opensearch"] != totals["postgis"]:
        raise SystemExit("the engines disagree on totals")
    return {e: {**summary(ms[e]), "median_matches": statistics.median(totals[e]), "max_matches": max(totals[e])}
            for e in ms}


async def time_original(queries: list[dict]) -> dict:
    from bench.search.original import search_projects
    from db.session import get_sessionmaker

    ms, loaded = [], []
    for params in queries:
        async with get_sessionmaker()() as session:
            started = time.perf_counter()
            _, rows = await search_projects(session, skill_id=params["skill_id"], latitude=params["latitude"],
                                            longitude=params["longitude"], max_distance_km=50)
            ms.append((time.perf_counter() - started) * 1000)
            loaded.append(rows)
    return {**summary(ms), "median_rows_loaded": statistics.median(loaded), "max_rows_loaded": max(loaded)}


async def same_first_pages(queries: list[dict]) -> dict:
    """Sanity: both engines return the same first page (ids and order) for every measured query."""
    import httpx

    from api.kernel.settings import get_settings
    from api.main import fastapi_app

    pages: dict[str, list] = {}
    for engine in ("opensearch", "postgis"):
        get_settings().opensearch_url = OPENSEARCH_URL if engine == "opensearch" else ""
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fastapi_app), base_url="http://b") as c:
            pages[engine] = [[h["id"] for h in (await c.get("/api/v1/search/projects", params=q)).json()["results"]]
                             for q in queries]
    agree = sum(a == b for a, b in zip(pages["opensearch"], pages["postgis"]))
    return {"queries": len(queries), "identical_first_pages": agree}


async def run(args) -> dict:
    from db.session import dispose_engine
    from indexer.client import close_client

    out: dict = {}
    if not args.skip_index:
        from indexer.reindex import reindex

        started = time.monotonic()
        report = await reindex("projects", batch_size=2000)
        out["reindex_projects_s"] = round(time.monotonic() - started, 1)
        out["indexed_projects"] = report.documents
    queries = await build_queries(args.requests, args.seed)
    out.update(await time_engines(queries, args.warmup))
    # Context: the same centres without the skill filter (thousands of matches to count into facets).
    wide = [{k: v for k, v in q.items() if k != "skill_id"} for q in queries[:args.wide_requests]]
    out["radius_only"] = await time_engines(wide, args.warmup // 3)
    out["original"] = await time_original(queries[:args.original_requests])
    out["parity"] = await same_first_pages(queries[:50])
    await close_client()
    await dispose_engine()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=DEFAULT_DB)
    parser.add_argument("--projects", type=int, default=100_000)
    parser.add_argument("--profiles", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--original-requests", type=int, default=30)
    parser.add_argument("--wide-requests", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-generate", action="store_true")
    parser.add_argument("--skip-index", action="store_true")
    args = parser.parse_args()
    configure(args.database_url)

    result: dict = {"benchmark": "GET /api/v1/search/projects: 50 km radius + skill filter + facets, nearest 20",
                    "when": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                "loadavg_before": round(os.getloadavg()[0], 2)},
                    "method": "server-side: each request through the ASGI app in-process, one at a time, "
                              "the two engines interleaved query by query; warm-up requests not counted"}
    if not args.skip_generate:
        from bench.data_gen import generate

        started = time.monotonic()
        result["data"] = generate(args.database_url, projects=args.projects, profiles=args.profiles, seed=42)
        result["data"]["generate_s"] = round(time.monotonic() - started, 1)
    else:
        result["data"] = {"projects": args.projects, "profiles": args.profiles, "seed": 42, "reused": True}
    result.update(asyncio.run(run(args)))
    result["machine"]["loadavg_after"] = round(os.getloadavg()[0], 2)
    orig = result["original"]
    result["speedup_vs_original"] = {
        engine: {"p50": round(orig["p50_ms"] / result[engine]["p50_ms"], 1),
                 "p95": round(orig["p95_ms"] / result[engine]["p95_ms"], 1)} for engine in ("opensearch", "postgis")}
    result["targets"] = {"p95_ms_max": 50, "speedup_min": 20,
                         "met": {e: result[e]["p95_ms"] <= 50 and result["speedup_vs_original"][e]["p95"] >= 20
                                 for e in ("opensearch", "postgis")}}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "search.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "search.md").write_text(markdown(result))
    print(json.dumps(result, indent=2))


def markdown(r: dict) -> str:
    rows = []
    for key, label in (("opensearch", "OpenSearch engine"), ("postgis", "PostGIS engine"),
                       ("original", "original method (load all, Haversine in Python)")):
        s = r[key]
        speed = r["speedup_vs_original"].get(key, {}) if key != "original" else {}
        rows.append(f"| {label} | {s['n']} | {s['p50_ms']} | {s['p95_ms']} | {s['mean_ms']} | {s['max_ms']} | "
                    f"{speed.get('p50', '')}{'×' if speed else ''} | {speed.get('p95', '')}{'×' if speed else ''} |")
    data = r["data"]
    return "\n".join([
        "# Search latency: `/search/projects`, 50 km radius + skill filter + facets, nearest 20",
        "",
        f"Run {r['when']} on {r['machine']['cpus']} CPUs (load average {r['machine']['loadavg_before']} before, "
        f"{r['machine']['loadavg_after']} after; other work shared the machine). Data: "
        f"{data.get('projects')} projects, {data.get('profiles')} profiles around real film cities "
        f"(bench/data_gen.py, seed {data.get('seed')}). {r['method']}.",
        "",
        "| engine | requests | p50 ms | p95 ms | mean ms | max ms | speed-up p50 | speed-up p95 |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"Matches per query (total within 50 km with the skill open): median {r['postgis']['median_matches']}, "
        f"max {r['postgis']['max_matches']}. The original method loaded a median of "
        f"{r['original']['median_rows_loaded']} rows (max {r['original']['max_rows_loaded']}) into Python per "
        "request, and computed no facets.",
        "",
        "Context, same centres without the skill filter (radius + facets only):",
        "",
        "| engine | requests | p50 ms | p95 ms | max ms | median matches |",
        "|---|---|---|---|---|---|",
        *[f"| {e} | {r['radius_only'][e]['n']} | {r['radius_only'][e]['p50_ms']} | {r['radius_only'][e]['p95_ms']} | "
          f"{r['radius_only'][e]['max_ms']} | {r['radius_only'][e]['median_matches']} |"
          for e in ("opensearch", "postgis")],
        "",
        f"Both engines returned identical first pages for {r['parity']['identical_first_pages']} of "
        f"{r['parity']['queries']} queries checked.",
        "" if "reindex_projects_s" not in r else
        f"Index built with `reindex` in {r['reindex_projects_s']} s ({r['indexed_projects']} documents).",
        "",
        f"Targets (p95 ≤ 50 ms on both engines, ≥ 20× faster than the original): "
        f"OpenSearch {'met' if r['targets']['met']['opensearch'] else 'NOT met'}, "
        f"PostGIS {'met' if r['targets']['met']['postgis'] else 'NOT met'}.",
        "",
    ])


if __name__ == "__main__":
    main()
