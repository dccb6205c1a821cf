"""Alert latency: from the commit of a matching project to the `notification` event on a connected socket.

    .venv/bin/python -m bench.alerts.percolate      # leaves 100k saved searches (rows and percolator index)
    .venv/bin/python -m bench.alerts.latency [--runs 30]

A real API process (uvicorn) and a real worker (`filmo worker`) on the bench database; a watcher with one
saved search (short films within 50 km of Los Angeles) listens on Socket.IO; an owner creates matching
projects through HTTP, one at a time. The clock starts when the create answers 201 (the transaction is
committed before the answer) and stops when the watcher's socket receives the notification. Reference, same
project, same run: commit → the project is searchable in OpenSearch (polled every 20 ms), the freshness the
indexer already had. Target (issue 17): p95 <= 2 s at 100k saved searches. Every project also alerts the
bench's other matching saved searches (stored, pushed to their rooms), as it would in production.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import uuid

from bench.alerts.common import REPO, RESULTS, configure, machine, save_result, summary

LA = (34.0522, -118.2437)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _user(email: str):
    from api.auth.passwords import hash_password
    from api.auth.service import issue_tokens
    from db.models import User
    from db.session import get_sessionmaker

    async with get_sessionmaker()() as session:
        user = User(email=email, password_hash=hash_password("bench password 123"), is_verified=True)
        session.add(user)
        await session.flush()
        pair = await issue_tokens(session, user, "bench")
        await session.commit()
        return user.id, pair.access_token


async def main(runs: int) -> dict:
    import httpx
    import socketio

    from indexer.client import alias_name, close_client, get_client
    from db.session import dispose_engine

    port = _port()
    env = dict(os.environ)
    logs = RESULTS.parent / "data"
    logs.mkdir(exist_ok=True)
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "api.main:app", "--port", str(port), "--log-level",
                               "warning"], cwd=REPO, env=env, stdout=open(logs / "alerts-server.log", "w"),
                              stderr=subprocess.STDOUT)
    worker = subprocess.Popen([sys.executable, "-m", "api.cli", "worker", "--processes", "1", "--threads", "2"],
                              cwd=REPO, env=env, stdout=open(logs / "alerts-worker.log", "w"),
                              stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    out: dict = {"machine_before": machine()}
    try:
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            for _ in range(150):
                try:
                    if (await http.get("/healthz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
            tag = uuid.uuid4().hex[:6]
            watcher_id, watcher_token = await _user(f"watcher-{tag}@bench.local")
            owner_id, owner_token = await _user(f"owner-{tag}@bench.local")
            owner = {"Authorization": f"Bearer {owner_token}"}
            watcher = {"Authorization": f"Bearer {watcher_token}"}
            resp = await http.post("/api/v1/profile/create", headers=owner, json={
                "name": "Bench Owner", "city": "Los Angeles", "latitude": LA[0], "longitude": LA[1]})
            assert resp.status_code in (200, 201), resp.text
            resp = await http.post("/api/v1/saved-searches", headers=watcher, json={
                "name": "LA shorts", "filters": {"project_type": ["short_film"], "latitude": LA[0],
                                                 "longitude": LA[1], "max_distance_km": 50}})
            assert resp.status_code == 201, resp.text
            saved_id = resp.json()["id"]
            client = get_client()
            from indexer.indexes import ensure_indexes

            await ensure_indexes()  # a bench database loaded by COPY has no search aliases yet
            for _ in range(300):
                if (await client.exists(index=alias_name("saved_searches"), id=saved_id)):
                    break
                await asyncio.sleep(0.1)
            out["saved_searches_in_index"] = (await client.count(index=alias_name("saved_searches")))["count"]

            sio = socketio.AsyncClient(reconnection=False)
            arrived: dict[str, float] = {}

            @sio.on("notification")
            async def _note(data):
                if data.get("project_id"):
                    arrived[data["project_id"]] = time.perf_counter()

            await sio.connect(base, auth={"token": watcher_token}, transports=["websocket"], wait_timeout=10)
            alert, searchable = [], []
            for i in range(runs + 3):
                body = {"name": f"Bench short {i}", "project_type": "short_film", "city": "Los Angeles",
                        "latitude": LA[0] + 0.01 * (i % 7), "longitude": LA[1], "roles": [
                            {"skill_id": 5, "role_title": "DP", "slots_available": 1, "payment_type": "paid"}]}
                resp = await http.post("/api/v1/projects/create", headers=owner, json=body)
                committed = time.perf_counter()
                assert resp.status_code == 201, resp.text
                pid = resp.json()["id"]
                seen = None
                deadline = committed + 60
                while time.perf_counter() < deadline and (seen is None or pid not in arrived):
                    if seen is None:
                        res = await client.search(index=alias_name("projects"),
                                                  body={"query": {"ids": {"values": [pid]}}, "size": 0})
                        if res["hits"]["total"]["value"]:
                            seen = time.perf_counter()
                    await asyncio.sleep(0.02)
                if pid not in arrived:
                    raise AssertionError(f"no notification for project {pid} within 60 s")
                if i >= 3:  # warm-up
                    alert.append((arrived[pid] - committed) * 1000)
                    searchable.append(((seen or arrived[pid]) - committed) * 1000)
            await sio.disconnect()
        out["commit_to_socket"] = summary(alert)
        out["commit_to_searchable_reference"] = summary(searchable)
        out["ratio_p95_alert_over_searchable"] = round(out["commit_to_socket"]["p95_ms"]
                                                       / out["commit_to_searchable_reference"]["p95_ms"], 2)
        out["machine_after"] = machine()
    finally:
        server.terminate()
        try:
            os.killpg(worker.pid, 15)
        except ProcessLookupError:
            pass
        server.wait(20)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, 9)
            worker.wait(10)
        await close_client()
        await dispose_engine()
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    configure()
    result = asyncio.run(main(args.runs))
    print(json.dumps(result, indent=2))
    save_result("latency", result)
