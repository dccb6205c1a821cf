"""Where an alert's time goes: each stage of one changed project's delivery, timed apart (in one process).

    .venv/bin/python -m bench.alerts.percolate      # leaves 100k saved searches (rows and percolator index)
    .venv/bin/python -m bench.alerts.stages [--runs 10]

For active short films with an open role in Los Angeles (the densest city of the bench: ~5 % of all saved
searches match one), in the order the indexer and the alert job run them:

- document: the project document rebuilt from PostGIS (indexer.documents.load_docs);
- percolate: every page of the percolation (indexer.percolator.percolate);
- (since the split) connected first: which matches belong to people with a socket open (one of the owners is
  registered as connected, like the watcher of latency.py);
- per batch (all at once before the split; the connected people, then everyone else after it): verify + store,
  api/saved_searches/service.deliver up to the commit (the rules in SQL, the alert rows, the notifications),
  and commit + push, the commit and its after-commit work (the Socket.IO events through Redis, the mail job).

Each run's alert rows and notifications are deleted afterwards, so every run delivers the same matches
again. What the watcher of bench/alerts/latency.py waits for is the sum, plus the queue hops (outbox ->
index job -> alert job, 100 ms polling each) and the Socket.IO server's own delivery of the events.
Results: bench/results/alerts.json (key "stages") and alerts.md.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid

from bench.alerts.common import configure, machine, save_result, summary


async def main(runs: int) -> dict:
    from sqlalchemy import text

    from api.saved_searches import service
    from db.session import commit, dispose_engine, get_sessionmaker
    from indexer.client import close_client, get_client
    from indexer.documents import load_docs
    from indexer.percolator import ensure_index, percolate
    from realtime import presence

    out: dict = {"machine_before": machine()}
    client = get_client()
    await ensure_index(client)
    stages: dict[str, list[float]] = {}
    made_counts: list[int] = []
    async with get_sessionmaker()() as session:
        pids = list(await session.scalars(text(
            "SELECT id FROM projects WHERE status = 'active' AND city = 'Los Angeles' AND project_type = 'short_film' "
            "AND cardinality(open_skill_ids) > 0 ORDER BY id LIMIT :n"), {"n": runs + 2}))
    for i, pid in enumerate(pids):
        async with get_sessionmaker()() as session:
            await session.execute(text("DELETE FROM saved_search_alerts WHERE project_id = :p"), {"p": pid})
            await session.execute(text("DELETE FROM notifications WHERE project_id = :p AND kind = :k"),
                                  {"p": pid, "k": service.KIND})
            await session.commit()
        timings = {}
        t = time.perf_counter()
        async with get_sessionmaker()() as session:
            (doc,) = await load_docs(session, "projects", [str(pid)])
        timings["document"] = time.perf_counter() - t
        t = time.perf_counter()
        ids = [uuid.UUID(x) for x in await percolate(client, doc.source)]
        timings["percolate"] = time.perf_counter() - t
        async with get_sessionmaker()() as session:
            # The watcher: the owner of one matching saved search has a socket open (as in latency.py).
            watcher = str(await session.scalar(text("SELECT user_id FROM saved_searches WHERE id = :i"),
                                               {"i": ids[len(ids) // 2]}))
        sid = f"bench-{uuid.uuid4().hex}"
        await presence.register_connection(watcher, sid)
        made = 0
        try:
            if hasattr(service, "connected_first"):  # the alert job's order (api/saved_searches/tasks.py)
                t = time.perf_counter()
                async with get_sessionmaker()() as session:
                    batches = await service.connected_first(session, ids)
                    await session.rollback()
                timings["split_connected_first"] = time.perf_counter() - t
                names = ("connected", "everyone_else")
            else:  # the code before it: one transaction for all
                batches, names = [ids], ("all",)
            for name, batch in zip(names, batches):
                async with get_sessionmaker()() as session:
                    t = time.perf_counter()
                    made += await service.deliver(session, pid, batch)
                    timings[f"{name}_verify_and_store"] = time.perf_counter() - t
                    t = time.perf_counter()
                    await commit(session)
                    timings[f"{name}_commit_and_push"] = time.perf_counter() - t
        finally:
            await presence.unregister_connection(watcher, sid)
        print(f"project {pid}: {len(ids)} matches, {made} notifications, "
              + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in timings.items()), flush=True)
        if i >= 2:  # warm-up
            for k, v in timings.items():
                stages.setdefault(k, []).append(v * 1000)
            made_counts.append(made)
    out["stages"] = {k: summary(v) for k, v in stages.items()}
    out["notifications_per_project_mean"] = round(sum(made_counts) / len(made_counts), 1)
    out["machine_after"] = machine()
    await close_client()
    await dispose_engine()
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--label", default="stages", help="the key in alerts.json (e.g. stages_before)")
    args = parser.parse_args()
    configure()
    result = asyncio.run(main(args.runs))
    print(json.dumps(result, indent=2))
    save_result(args.label, result)
