"""/metrics (issue 16, section 4): the numbers move when what they count moves, on the API and on the worker;
only this machine (or METRICS_TOKEN) may read them."""
from __future__ import annotations

import asyncio
import re
import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers.http import API, SEARCH
from tests.helpers.processes import free_port
from tests.helpers.projects import create_project
from tests.helpers.realtime import connect

pytestmark = pytest.mark.usefixtures("close_opensearch_client")


def samples(text: str) -> dict[tuple, float]:
    """{(sample name, frozenset of labels): value}"""
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def value(found: dict, name: str, **labels) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


async def scrape(client) -> dict:
    resp = await client.get("/metrics")
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/plain; version=")
    return samples(resp.text)


async def test_http_answers_are_counted_by_route_template_and_status(client, make_user):
    before = await scrape(client)
    for _ in range(3):
        assert (await client.get(f"{API}/skills/list")).status_code == 200
    missing = "00000000-0000-4000-8000-000000000000"
    assert (await client.get(f"{API}/projects/{missing}")).status_code == 404
    assert (await client.get(f"{API}/no/such/path")).status_code == 404
    after = await scrape(client)

    def moved(route, status, method="GET"):
        name = "filmo_http_requests_total"
        labels = {"method": method, "route": route, "status": status}
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("/api/v1/skills/list", "200") == 3
    assert moved("/api/v1/projects/{project_id}", "404") == 1  # the template, never the id
    assert moved("unmatched", "404") == 1
    assert not any(missing in str(key) for key in after)
    count = "filmo_http_request_seconds_count"
    assert value(after, count, route="/api/v1/skills/list") - value(before, count, route="/api/v1/skills/list") == 3


async def test_search_latency_is_counted_per_engine(client, settings_env):
    settings_env(OPENSEARCH_URL="")
    before = await scrape(client)
    assert (await client.get(f"{SEARCH}/projects")).headers["x-search-engine"] == "postgis"
    assert (await client.get(f"{SEARCH}/suggest", params={"q": "gaf"})).status_code == 200
    after = await scrape(client)
    name = "filmo_search_seconds_count"
    for operation in ("search_projects", "suggest"):
        labels = {"engine": "postgis", "operation": operation, "outcome": "ok"}
        assert value(after, name, **labels) - value(before, name, **labels) == 1, operation


async def test_only_this_machine_or_the_token_may_read(client_at, settings_env):
    outsider = client_at("203.0.113.9")
    resp = await outsider.get("/metrics")
    assert resp.status_code == 403 and resp.headers["content-type"].startswith("application/problem+json")
    local = client_at("127.0.0.1")
    assert (await local.get("/metrics")).status_code == 200
    # Through a proxy the peer is the proxy: loopback alone is not enough.
    assert (await local.get("/metrics", headers={"X-Forwarded-For": "198.51.100.7"})).status_code == 403
    settings_env(METRICS_TOKEN="a-long-random-metrics-token")
    assert (await outsider.get("/metrics", headers={"Authorization": "Bearer wrong"})).status_code == 403
    resp = await outsider.get("/metrics", headers={"Authorization": "Bearer a-long-random-metrics-token"})
    assert resp.status_code == 200 and "filmo_http_requests_total" in resp.text


async def test_socketio_connections_and_rooms_per_process(start_server, make_user, client):
    server = start_server()
    owner = await make_user(profile=True)
    project = await create_project(client, owner)

    def now() -> dict:
        return samples(httpx.get(f"{server.url}/metrics", timeout=10).text)

    assert value(now(), "filmo_socketio_connections") == 0
    socket = await connect(server.url, owner.token)
    try:
        assert value(now(), "filmo_socketio_connections") == 1
        rooms_before = value(now(), "filmo_socketio_rooms", kind="project")
        assert (await socket.call("join_project", {"project_id": project["id"]}))["ok"]
        assert value(now(), "filmo_socketio_rooms", kind="project") == rooms_before + 1
    finally:
        await socket.close()
    deadline = time.monotonic() + 10
    while value(now(), "filmo_socketio_connections") != 0:
        assert time.monotonic() < deadline, "the closed connection is still counted"
        await asyncio.sleep(0.1)
    assert value(now(), "filmo_socketio_rooms", kind="project") == 0


def _worker_metrics(port: int, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return samples(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text)
        except httpx.HTTPError:
            assert time.monotonic() < deadline, "the worker's metrics port did not answer"
            time.sleep(0.2)


async def _until(read, predicate, what: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while True:
        found = await asyncio.to_thread(read)
        if predicate(found):
            return found
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.3)


async def test_worker_reports_outbox_relay_and_queues_while_search_is_down(start_worker, client, make_user):
    """OpenSearch unreachable for this worker: writes wait in the outbox (backlog and age grow), the relay
    pauses, index_outbox retries wait in the delayed queue."""
    port, dead = free_port(), free_port()
    start_worker(extra_env={"WORKER_METRICS_PORT": str(port), "OPENSEARCH_URL": f"http://127.0.0.1:{dead}"})
    read = lambda: _worker_metrics(port)  # noqa: E731
    first = await asyncio.to_thread(read)
    assert value(first, "filmo_metrics_source_up", source="database") == 1
    assert value(first, "filmo_outbox_backlog") == 0 and value(first, "filmo_search_relay_paused") == 0
    owner = await make_user(profile=True)
    for i in range(3):
        await create_project(client, owner, name=f"Waiting {i}")
    # A profile and three projects wait for the index.
    found = await _until(read, lambda m: value(m, "filmo_outbox_backlog") == 4, "backlog did not reach 4")
    later = await _until(read, lambda m: value(m, "filmo_search_relay_paused") == 1, "the relay did not pause")
    assert value(later, "filmo_outbox_oldest_age_seconds") >= value(found, "filmo_outbox_oldest_age_seconds") > 0
    queues = {dict(labels)["queue"] for (name, labels) in later if name == "filmo_queue_messages"}
    assert any(q.endswith("search") for q in queues), queues
    await _until(read, lambda m: sum(v for (n, labels), v in m.items() if n == "filmo_queue_messages"
                                     and dict(labels)["state"] == "delayed") >= 1, "no retry waits in a delayed queue")


async def test_worker_reports_index_drift_and_reindex_progress(start_worker, client, make_user):
    from indexer.client import alias_name
    from indexer.indexes import admin_client
    from indexer.reindex import reindex
    from tests.helpers.search import index_pending, reset_index, seed

    await reset_index()
    await seed(n_projects=6, n_profiles=4)
    await index_pending()
    report = await reindex("projects")
    port = free_port()
    start_worker(extra_env={"WORKER_METRICS_PORT": str(port)})
    read = lambda: _worker_metrics(port)  # noqa: E731
    found = await asyncio.to_thread(read)
    assert value(found, "filmo_search_index_drift", kind="projects") == 0
    assert value(found, "filmo_reindex_state", kind="projects", state="done") == 1
    loaded = value(found, "filmo_reindex_documents", kind="projects", what="loaded")
    assert loaded == value(found, "filmo_reindex_documents", kind="projects", what="total") > 0, report
    # A document removed behind the indexer's back: drift -1 until a verify repairs it.
    async with admin_client() as os_client:
        hits = await os_client.search(index=alias_name("projects"), body={"size": 1, "query": {"match_all": {}}})
        await os_client.delete(index=alias_name("projects"), id=hits["hits"]["hits"][0]["_id"], refresh=True)
    found = await asyncio.to_thread(read)
    assert value(found, "filmo_search_index_drift", kind="projects") == -1


def test_metric_names_are_documented():
    """Every number named in README's metrics table exists in the code, and the other way round."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    documented = set(re.findall(r"`(filmo_[a-z_]+?)(?:_total)?`", readme.split("## Metrics", 1)[1].split("\n## ", 1)[0]))
    sources = "".join((Path(__file__).resolve().parents[2] / p).read_text()
                      for p in ("api/kernel/metrics.py", "api/http/metrics.py", "indexer/metrics.py"))
    defined = set(re.findall(r'"(filmo_[a-z_]+)"', sources))
    assert documented == defined
