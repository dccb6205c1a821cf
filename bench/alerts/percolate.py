"""Percolation cost per changed project at 10k and 100k saved searches (p50/p95), in one run.

    .venv/bin/python -m bench.data_gen --projects 2000 --profiles 100000 \
        --database-url postgresql+asyncpg://filmo:filmo@127.0.0.1:5433/filmo_bench17
    .venv/bin/python -m bench.alerts.percolate

Saved searches are written as rows (as the API writes them: api/saved_searches/service builds the stored query
and the pre-filter columns) for the bench database's people, then the percolator index is rebuilt from them
(`indexer.percolator.rebuild`, what `filmo reindex saved_searches` runs). The mix: 75 % a centre + radius
(10-150 km) around a film city, 10 % a city-sized bbox, 15 % anywhere; 40 % one or two project types; half
one to three skills; some payment types and words.

For each size, 200 changed projects (film cities, a type, open skills) are percolated the way the indexer
does (`percolate_body`: type + area pre-filter, then the stored queries), and, as the reference in the same
run, without the pre-filter (the percolator's own term extraction only; every 10th project, it runs every stored query). The PostGIS path (candidates by
the same pre-filter in SQL, then each one's filter on the project) is measured at 10k. Results:
bench/results/alerts.json and alerts.md (the other parts of this bench add to them).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
import uuid

from bench.alerts.common import configure, load_results, machine, save_results, summary

TYPES = ["short_film", "feature_film", "series", "documentary", "music_video", "commercial", "other"]
WORDS = ["night", "harbor", "summer", "echo", "river", "signal", "golden", "jazz"]


def _filters(rng: random.Random, cities) -> dict:
    from bench.data_gen import _point, _weighted

    f: dict = {}
    roll = rng.random()
    city = _weighted(rng, [(c, c[5]) for c in cities])
    if roll < 0.75:
        lat, lon = _point(rng, city)
        f.update(latitude=round(lat, 4), longitude=round(lon, 4), max_distance_km=rng.choice([10, 25, 50, 100, 150]))
    elif roll < 0.85:
        lat, lon = _point(rng, city)
        f["bbox"] = f"{lon - 0.3:.4f},{lat - 0.2:.4f},{lon + 0.3:.4f},{lat + 0.2:.4f}"
    if rng.random() < 0.4:
        f["project_type"] = rng.sample(TYPES, rng.choice([1, 2]))
    if rng.random() < 0.5:
        f["skill_ids"] = rng.sample(range(1, 95), rng.choice([1, 2, 3]))
    if rng.random() < 0.2:
        f["payment_type"] = [rng.choice(["paid", "unpaid", "negotiable"])]
    if rng.random() < 0.1:
        f["query"] = rng.choice(WORDS)
    return f


async def add_saved_searches(n: int, rng: random.Random) -> None:
    from sqlalchemy import text

    from api.saved_searches.schemas import SearchFilters
    from api.saved_searches.service import _area, percolator_query, to_filters
    from bench.data_gen import CITIES
    from db.session import get_sessionmaker

    async with get_sessionmaker()() as session:
        users = list(await session.scalars(text("SELECT id FROM users ORDER BY id LIMIT 20000")))
        rows = []
        for _ in range(n):
            raw = _filters(rng, CITIES)
            body = SearchFilters.model_validate(raw)
            f = to_filters(body)
            area = _area(f)
            rows.append({"id": uuid.uuid4(), "user_id": rng.choice(users), "name": "bench",
                         "filters": json.dumps(body.model_dump(mode="json", exclude_defaults=True)),
                         "query": json.dumps(percolator_query(f)), "types": list(f.project_types),
                         "area": area.desc if area is not None else None})
        for start in range(0, len(rows), 5000):
            await session.execute(text(
                "INSERT INTO saved_searches (id, user_id, name, filters, query, frequency, project_types, area) "
                "VALUES (:id, :user_id, :name, CAST(:filters AS jsonb), CAST(:query AS jsonb), 'daily', "
                "CAST(:types AS varchar[]), ST_GeomFromText(:area, 4326))"), rows[start:start + 5000])
        await session.commit()


def _project(rng: random.Random) -> dict:
    from bench.data_gen import CITIES, _point, _weighted

    city = _weighted(rng, [(c, c[5]) for c in CITIES])
    lat, lon = _point(rng, city)
    skills = sorted(rng.sample(range(1, 95), rng.choice([1, 2, 3])))
    return {"id": str(uuid.uuid4()), "creator_id": str(uuid.uuid4()), "name": f"{rng.choice(WORDS)} story",
            "description": "a bench project", "project_type": rng.choice(TYPES), "status": "active",
            "is_fully_staffed": False, "city": city[0], "location": {"lat": lat, "lon": lon},
            "open_skill_ids": skills, "payment_types": [rng.choice(["paid", "unpaid", "negotiable"])]}


async def measure(projects: list[dict], reference_every: int = 10) -> dict:
    from indexer.client import get_client
    from indexer.percolator import alias, percolate_body, percolated_document

    client = get_client()
    with_filter, without, matches = [], [], []
    for i, p in enumerate(projects):  # interleaved: both see the same cache state and load
        body = percolate_body(p)
        t = time.perf_counter()
        res = await client.search(index=alias(), body=body)
        with_filter.append((time.perf_counter() - t) * 1000)
        matches.append(len(res["aggregations"]["ids"]["buckets"]))
        if i % reference_every:
            continue  # the reference is slow (every stored query runs): every `reference_every`-th project
        bare = {"query": {"bool": {"filter": [{"percolate": {"field": "query",
                                                             "document": percolated_document(p)}}]}},
                "size": 0, "track_total_hits": False, "aggs": body["aggs"]}
        t = time.perf_counter()
        res2 = await client.search(index=alias(), body=bare)
        without.append((time.perf_counter() - t) * 1000)
        assert len(res2["aggregations"]["ids"]["buckets"]) == matches[-1], "the pre-filter changed the matches"
    return {"with_prefilter": summary(with_filter), "without_prefilter_reference": summary(without),
            "ratio_p95_with_over_without": round(summary(with_filter)["p95_ms"] / summary(without)["p95_ms"], 3),
            "matches_per_project_mean": round(sum(matches) / len(matches), 2)}


async def measure_postgis(projects: list[dict]) -> dict:
    """The SQL path: the projects must exist as rows; a sample of the bench's own projects is used."""
    from sqlalchemy import text

    from api.saved_searches.service import postgis_matches
    from db.session import get_sessionmaker

    async with get_sessionmaker()() as session:
        ids = list(await session.scalars(text("SELECT id FROM projects WHERE status = 'active' ORDER BY random() "
                                              "LIMIT :n"), {"n": len(projects)}))
        times = []
        for pid in ids:
            t = time.perf_counter()
            await postgis_matches(session, pid)
            times.append((time.perf_counter() - t) * 1000)
    return summary(times)


async def main(runs: int, sizes: list[int], reference_every: int, postgis_runs: int) -> dict:
    from indexer.client import close_client
    from indexer.percolator import rebuild
    from sqlalchemy import text

    from db.session import dispose_engine, get_sessionmaker

    rng = random.Random(17)
    async with get_sessionmaker()() as session:
        await session.execute(text("DELETE FROM saved_searches"))
        await session.commit()
    out: dict = {"machine_before": machine(), "sizes": {}}
    have = 0
    for size in sizes:
        t = time.perf_counter()
        await add_saved_searches(size - have, rng)
        have = size
        report = await rebuild()
        loaded_s = time.perf_counter() - t
        projects = [_project(random.Random(1000 + i)) for i in range(runs)]
        await measure(projects[:20], reference_every=20)  # warm-up
        result = await measure(projects, reference_every)
        result["rows_and_rebuild_s"] = round(loaded_s, 1)
        result["indexed"] = report["documents"]
        if postgis_runs:
            result["postgis_path"] = await measure_postgis(projects[:postgis_runs])
        out["sizes"][str(size)] = result
        print(size, json.dumps(result))
    out["machine_after"] = machine()
    await close_client()
    await dispose_engine()
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--reference-every", type=int, default=10, help="the reference on every n-th project")
    parser.add_argument("--postgis-runs", type=int, default=50)
    args = parser.parse_args()
    configure()
    result = asyncio.run(main(args.runs, [int(s) for s in args.sizes.split(",")], args.reference_every,
                              args.postgis_runs))
    existing = load_results()
    # Sizes run separately (a 100k run takes long on a loaded machine) are merged, each with its own machine line.
    merged = existing.get("percolation", {"sizes": {}})
    for size, r in result["sizes"].items():
        merged["sizes"][size] = {**r, "machine_before": result["machine_before"], "machine_after": result["machine_after"],
                                 "runs": args.runs, "reference_every": args.reference_every}
    merged["machine_before"], merged["machine_after"] = result["machine_before"], result["machine_after"]
    existing["percolation"] = merged
    save_results(existing)
