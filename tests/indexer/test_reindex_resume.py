"""`filmo reindex` survives what operators do to it: Ctrl-C, a kill -9, a document OpenSearch refuses.

Through the real CLI (subprocesses) on the real services. Each test uses its own index prefix, so its alias
starts empty.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
from sqlalchemy import text

from tests.helpers.indexing import seed_rows
from tests.helpers.processes import cli
from tests.helpers.run import REPO, RUN_ID, TMP

pytestmark = pytest.mark.usefixtures("close_opensearch_client")


def progress_of(prefix: str) -> dict | None:
    """The reindex checkpoint as the CLI writes it: Redis key filmo:<QUEUE_NAMESPACE>:reindex:<alias>."""
    import redis

    raw = redis.Redis.from_url(os.environ["REDIS_URL"]).get(
        f"filmo:{os.environ['QUEUE_NAMESPACE']}:reindex:{prefix}projects")
    return json.loads(raw) if raw else None


def start_reindex(env: dict, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "api.cli", "reindex", "projects", *args], cwd=REPO,
                            env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_loaded(prefix: str, proc: subprocess.Popen, at_least: int, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = progress_of(prefix)
        if state and state["state"] == "running" and state["loaded"] >= at_least:
            return state
        assert proc.poll() is None, f"reindex ended before {at_least} rows: {proc.communicate()}"
        time.sleep(0.02)
    raise AssertionError(f"reindex did not reach {at_least} rows in {timeout}s: {progress_of(prefix)}")


async def index_contents(index: str) -> dict[str, tuple[int, dict]]:
    from opensearchpy.helpers import async_scan

    from indexer.client import get_client

    return {hit["_id"]: (hit["_version"], hit["_source"])
            async for hit in async_scan(get_client(), index=index, query={"query": {"match_all": {}}, "version": True},
                                        size=2000)}


async def postgis_documents() -> dict[str, tuple[int, dict]]:
    from db.session import get_sessionmaker
    from indexer.documents import load_docs

    async with get_sessionmaker()() as session:
        ids = [str(row[0]) for row in await session.execute(text("SELECT id FROM projects"))]
        docs = await load_docs(session, "projects", ids)
    return {doc.id: (doc.version, doc.source) for doc in docs if doc.source is not None}


async def test_a_reindex_stopped_with_ctrl_c_then_killed_resumes_and_ends_with_the_same_documents():
    total = 12_000
    await seed_rows(total)
    prefix = f"test_{RUN_ID}_resume{uuid.uuid4().hex[:4]}_"
    env = {"OPENSEARCH_INDEX_PREFIX": prefix}
    knobs = ("--batch-size", "100", "--concurrency", "1")

    # Ctrl-C half way: exit 130, one line, the index and the checkpoint stay.
    first = start_reindex(env, *knobs)
    wait_for_loaded(prefix, first, 2000)
    first.send_signal(signal.SIGINT)
    _, err = first.communicate(timeout=60)
    assert first.returncode == 130, err
    assert err.strip().splitlines()[-1] == "filmo reindex: interrupted"
    interrupted = progress_of(prefix)
    assert interrupted["state"] == "interrupted" and 2000 <= interrupted["loaded"] < total
    index = interrupted["index"]

    # Resumed, then killed without a chance to clean up (SIGKILL): the lock of a dead holder does not block.
    second = start_reindex(env, *knobs)
    wait_for_loaded(prefix, second, interrupted["loaded"] + 2000)
    second.kill()
    second.wait(30)
    killed = progress_of(prefix)
    assert killed["state"] == "running" and killed["index"] == index and killed["loaded"] < total
    # `filmo index status` knows better: its process is gone.
    status = json.loads(cli("index", "status", "projects", "--json", env=env).stdout)
    assert status["indexes"][0]["reindex"]["state"] == "interrupted"

    # Finishes where it stopped: the same index, not a new one, and not from row 0.
    result = cli("reindex", "projects", *knobs, "--json", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)[0]
    assert report["index"] == index and report["resumed_from"] == killed["loaded"]
    assert report["documents"] == report["postgis_count"] == total and report["failed"] == 0
    assert progress_of(prefix)["state"] == "done"

    # Exactly the documents PostGIS describes, at their versions.
    assert await index_contents(f"{prefix}projects") == await postgis_documents()
    verify = cli("index", "verify", "projects", "--json", env=env)
    assert verify.returncode == 0 and json.loads(verify.stdout)[0]["ok"], verify.stdout


@pytest.fixture
def mapping_that_refuses_one_city():
    """The CLI run with a search_mappings package of its own (first on its path), in which a project's `city` is an
    integer: a document with a city that is not a number is refused by OpenSearch (mapper_parsing_exception, a real
    per-document 400 inside an otherwise good `_bulk`), as after a mapping change some rows do not fit."""
    import shutil

    from indexer.mappings import mappings_dir

    root = TMP / f"poison-{uuid.uuid4().hex[:6]}"
    package = root / "search_mappings"
    shutil.copytree(str(mappings_dir()), package, ignore=shutil.ignore_patterns("__pycache__"))
    projects = json.loads((package / "projects.json").read_text())
    projects["mappings"]["properties"]["city"] = {"type": "integer"}
    (package / "projects.json").write_text(json.dumps(projects))
    prefix = f"test_{RUN_ID}_poison{uuid.uuid4().hex[:4]}_"

    def run(*args: str) -> subprocess.CompletedProcess:
        # Working directory and PYTHONPATH = that folder: its search_mappings shadows the checkout's.
        return subprocess.run([sys.executable, "-m", "api.cli", *args], cwd=root, capture_output=True, text=True,
                              env={**os.environ, "OPENSEARCH_INDEX_PREFIX": prefix, "PYTHONPATH": str(root)},
                              timeout=300)

    yield run
    import httpx

    from tests.helpers.run import OS_PORT

    httpx.delete(f"http://127.0.0.1:{OS_PORT}/{prefix}*", timeout=30)


async def test_a_refused_document_is_reported_and_does_not_stop_the_run(mapping_that_refuses_one_city):
    run = mapping_that_refuses_one_city
    await seed_rows(600, poison=417)
    from db.session import unit_of_work

    async with unit_of_work() as session:
        await session.execute(text("UPDATE projects SET city = CASE WHEN name = 'Poison pill' THEN 'Los Angeles' "
                                   "ELSE '90210' END"))
        poison_id = str((await session.execute(text("SELECT id FROM projects WHERE name = 'Poison pill'"))).scalar())

    result = run("reindex", "projects", "--batch-size", "100", "--json")
    assert result.returncode == 1, result.stdout + result.stderr  # done, with a problem to look at
    report = json.loads(result.stdout)[0]
    assert report["failed"] == 1 and list(report["failed_sample"]) == [poison_id]
    assert "mapper_parsing_exception" in report["failed_sample"][poison_id]
    # Every other document is there and the alias serves the new index.
    assert report["documents"] == 599 and report["postgis_count"] == 600
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("filmo: reindex done, but OpenSearch refused 1 projects document(s)")
    status = run("index", "status", "--json")
    assert status.returncode == 0, status.stderr
    projects = next(e for e in json.loads(status.stdout)["indexes"] if e["kind"] == "projects")
    assert projects["index"] == report["index"] and projects["doc_count"] == 599
    assert projects["reindex"]["state"] == "done" and projects["reindex"]["failed"] == 1

    human = run("reindex", "projects")
    assert human.returncode == 1 and f"refused {poison_id}: " in human.stdout


class RefusingProxy:
    """HTTP in front of OpenSearch that answers the first `_bulk` requests with the statuses in `refuse` (429: a busy
    node, 503: a node that lost its cluster) without passing them on, then marks the first document of the next one
    429 (a rejected item) although OpenSearch wrote it."""

    def __init__(self, refuse: list[int]):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        import httpx

        from tests.helpers.run import OS_PORT

        upstream = httpx.Client(base_url=f"http://127.0.0.1:{OS_PORT}", timeout=120)
        self.bulks = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                is_bulk = self.path.split("?")[0].endswith("/_bulk")
                if is_bulk:
                    proxy.bulks += 1
                if is_bulk and proxy.bulks <= len(refuse):
                    status = refuse[proxy.bulks - 1]
                    self._answer(status, json.dumps({"error": {"type": "refused_by_test_proxy", "reason": "busy"},
                                                     "status": status}).encode())
                    return
                response = upstream.request(self.command, self.path, content=body,
                                            headers={"content-type": self.headers.get("content-type",
                                                                                      "application/json")})
                content = response.content
                if is_bulk and proxy.bulks == len(refuse) + 1:
                    answer = json.loads(content)
                    item = next(iter(answer["items"][0].values()))
                    item.update(status=429, error={"type": "es_rejected_execution_exception", "reason": "busy"})
                    answer["errors"] = True
                    content = json.dumps(answer).encode()
                self._answer(response.status_code, content)

            def _answer(self, status: int, content: bytes) -> None:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


async def test_busy_opensearch_is_retried_with_backoff_and_nothing_is_lost():
    await seed_rows(900)
    prefix = f"test_{RUN_ID}_busy{uuid.uuid4().hex[:4]}_"
    # One 429, then 503s past what the client's transport retries by itself (2): the reindex's backoff takes over.
    proxy = RefusingProxy(refuse=[429, 503, 503, 503])
    try:
        result = cli("reindex", "projects", "--batch-size", "300", "--concurrency", "1", "--json",
                     env={"OPENSEARCH_INDEX_PREFIX": prefix, "OPENSEARCH_URL": proxy.url})
    finally:
        proxy.close()
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)[0]
    # Every refused request and the rejected item were sent again (the 429s by the bulk helper, the 503s by the
    # client's transport and then the reindex's own backoff): 4 refused + 3 batches + 1 item re-sent.
    assert proxy.bulks == 4 + 3 + 1 and report["retries"] >= 3
    # The item marked 429 was re-sent by the bulk helper and found already written (409): counted, not lost.
    assert report["already"] == 1 and report["failed"] == 0
    assert report["documents"] == report["postgis_count"] == 900
    verify = cli("index", "verify", "projects", "--json", env={"OPENSEARCH_INDEX_PREFIX": prefix})
    assert verify.returncode == 0, verify.stdout
