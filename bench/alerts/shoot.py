""""Who can work my shoot" at 100k or 1M profiles on both engines (p50/p95), in one run.

    .venv/bin/python -m bench.data_gen --projects 2000 --profiles 100000 \
        --database-url postgresql+asyncpg://filmo:filmo@127.0.0.1:5433/filmo_bench17
    .venv/bin/python -m bench.alerts.shoot [--runs 200] [--prepare]

    # 1M profiles: a database and an index prefix of their own
    .venv/bin/python -m bench.data_gen --projects 2000 --profiles 1000000 \
        --database-url postgresql+asyncpg://filmo:filmo@127.0.0.1:5433/filmo_bench17_1m
    export BENCH17_DATABASE_URL=postgresql+asyncpg://filmo:filmo@127.0.0.1:5433/filmo_bench17_1m BENCH17_PREFIX=bench17m_
    .venv/bin/python -m bench.alerts.shoot --prepare data --only-prepare   # ~1 min
    .venv/bin/python -m bench.alerts.shoot --prepare index --only-prepare  # ~2 min; resumable if stopped
    .venv/bin/python -m bench.alerts.shoot --runs 150 --key shoot_1m

`--prepare` gives every person a travel radius (a third local only, the rest 10-500 km) and, for 60 %, one to
three booked stretches of 3-20 days in 2026 (`data`), then rebuilds the profiles index (`index`, `filmo reindex
profiles`; both without a value).
Each run draws a shoot like the data (a film city, a skill as common as in the data, three days in 2026) and
asks both engines for the first 20 people (api/availability/engines.py, as the endpoint does), interleaved.
The reference, in the same run on the same engine: the people search for the same skill within 50 km of
the same point (api/search, the query the product already had). Target (issue 17): p95 <= 50 ms at 1M
profiles. Results: bench/results/alerts.json (key `--key`: shoot_100k, shoot_1m, shoot_1m_before) and alerts.md.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from datetime import date, timedelta

from bench.alerts.common import configure, machine, save_result, summary


async def prepare(what: str) -> None:
    from sqlalchemy import text

    from db.session import get_sessionmaker
    from indexer.reindex import reindex

    if what in ("all", "data"):
        await _prepare_data(get_sessionmaker, text)
    if what in ("all", "index"):  # resumable: a run stopped by a time limit goes on from its checkpoint
        report = await reindex("profiles")
        print("reindexed", report.documents)


async def _prepare_data(get_sessionmaker, text) -> None:
    async with get_sessionmaker()() as session:
        await session.execute(text("""
            UPDATE user_profiles SET willing_to_travel_km =
                (ARRAY[0, 0, 0, 10, 25, 50, 100, 200, 500])[1 + floor(random() * 9)::int],
              unavailable = CASE WHEN random() < 0.6 THEN (
                SELECT range_agg(daterange(d, d + (3 + floor(random() * 18))::int, '[]'))
                FROM (SELECT date '2026-01-01' + floor(random() * 360)::int AS d
                      FROM generate_series(1, 1 + floor(random() * 3)::int + (id::text < '0')::int)) s)
                ELSE '{}'::datemultirange END"""))
        await session.commit()


async def run(runs: int) -> dict:
    from sqlalchemy import text

    from api.availability import engines
    from api.search.opensearch_engine import OpenSearchEngine
    from api.search.postgis_engine import PostgisEngine
    from api.search.schemas import Point, UserFilters, UserSearch
    from bench.data_gen import CITIES, _point, _weighted
    from db.session import get_sessionmaker

    rng = random.Random(170)
    async with get_sessionmaker()() as session:
        skills = [(r.s, r.n) for r in (await session.execute(text(
            "SELECT s, count(*) AS n FROM user_profiles, unnest(skill_ids) s GROUP BY s"))).all()]
        people = await session.scalar(text("SELECT count(*) FROM user_profiles"))
        times = {"postgis": [], "opensearch": [], "postgis_reference": [], "opensearch_reference": []}
        found = {"postgis": [], "opensearch": []}
        same = 0
        for i in range(runs + 10):
            lat, lon = _point(rng, _weighted(rng, [(c, c[5]) for c in CITIES]))
            skill = _weighted(rng, skills)
            start = date(2026, 1, 1) + timedelta(days=rng.randrange(360))
            shoot = engines.Shoot(skill_id=skill, lat=lat, lon=lon,
                                  days=[(start.isoformat(), (start + timedelta(days=2)).isoformat())])
            reference = UserSearch(filters=UserFilters(skill_ids=(skill,), centre=Point(lat, lon), radius_km=50.0),
                                   sort="distance", limit=20, facets=False)
            t = time.perf_counter()
            pg, pg_total = await engines.postgis(session, shoot, 20, 0)
            t_pg = (time.perf_counter() - t) * 1000
            t = time.perf_counter()
            os_hits, os_total = await engines.opensearch(shoot, 20, 0)
            t_os = (time.perf_counter() - t) * 1000
            t = time.perf_counter()
            await PostgisEngine(session).search_users(reference)
            t_pg_ref = (time.perf_counter() - t) * 1000
            t = time.perf_counter()
            await OpenSearchEngine().search_users(reference)
            t_os_ref = (time.perf_counter() - t) * 1000
            if i < 10:
                continue  # warm-up
            times["postgis"].append(t_pg)
            times["opensearch"].append(t_os)
            times["postgis_reference"].append(t_pg_ref)
            times["opensearch_reference"].append(t_os_ref)
            found["postgis"].append(pg_total)
            found["opensearch"].append(os_total)
            same += [h.profile_id for h in pg] == [h.profile_id for h in os_hits]
    out = {name: summary(values) for name, values in times.items()}
    out["ratio_p95_postgis_over_reference"] = round(out["postgis"]["p95_ms"] / out["postgis_reference"]["p95_ms"], 2)
    out["ratio_p95_opensearch_over_reference"] = round(out["opensearch"]["p95_ms"]
                                                      / out["opensearch_reference"]["p95_ms"], 2)
    out["ratio_p95_opensearch_over_postgis"] = round(out["opensearch"]["p95_ms"] / out["postgis"]["p95_ms"], 2)
    out["people"] = people
    out["matches_mean"] = round(sum(found["postgis"]) / len(found["postgis"]), 1)
    out["same_first_page_on_both_engines"] = f"{same}/{runs}"
    return out


async def main(runs: int, do_prepare: str | None, only_prepare: bool) -> dict:
    from db.session import dispose_engine
    from indexer.client import close_client

    out = {"machine_before": machine()}
    if do_prepare:
        await prepare(do_prepare)
    if only_prepare:
        await close_client()
        await dispose_engine()
        return out
    out.update(await run(runs))
    out["machine_after"] = machine()
    await close_client()
    await dispose_engine()
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--prepare", nargs="?", const="all", choices=["all", "data", "index"],
                        help="give people availability and travel radii (data) and/or reindex the profiles (index)")
    parser.add_argument("--only-prepare", action="store_true", help="prepare, measure nothing")
    parser.add_argument("--key", default="shoot_100k", help="the key in alerts.json (shoot_1m for 1M profiles)")
    args = parser.parse_args()
    configure()
    result = asyncio.run(main(args.runs, args.prepare, args.only_prepare))
    if args.only_prepare:
        raise SystemExit(0)
    print(json.dumps(result, indent=2))
    save_result(args.key, result)
