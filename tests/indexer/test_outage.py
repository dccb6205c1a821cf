"""An OpenSearch outage as the worker's log shows it: one line when it goes, one when it is back.

The worker reaches the shared OpenSearch through a TCP proxy of this test (tests/helpers/proxy.py), so cutting
the proxy is an outage for that worker alone; the shared node is never touched.
"""
from __future__ import annotations

import asyncio

import pytest

from tests.helpers.indexing import ensure_aliases, os_doc, outbox_rows
from tests.helpers.proxy import TcpProxy
from tests.helpers.run import OS_PORT
from tests.helpers.waiting import eventually

pytestmark = pytest.mark.usefixtures("close_opensearch_client")


async def _write_projects(owner, count: int) -> list:
    """Projects written as the services write them: the row and its outbox row in one transaction."""
    from db.models import Project
    from db.session import unit_of_work
    from indexer.outbox import record_change

    ids = []
    for i in range(count):
        async with unit_of_work() as session:
            project = Project(creator_id=owner.id, name=f"Outage {i}", project_type="short_film", open_skill_ids=[])
            session.add(project)
            await session.flush()
            await record_change(session, "project", project.id)
            ids.append(project.id)
    return ids


async def test_an_opensearch_outage_is_logged_once_when_it_goes_and_once_when_it_is_back(make_user, start_worker):
    """Every outbox message and every retry used to log a traceback while OpenSearch was down (12.9 MB for a
    2-minute outage): the outage is one state, so the worker says so once each way. The rows wait and are
    retried quietly, and nothing is lost: every project is indexed once the cluster is back."""
    from indexer.tasks import relay_search_outbox

    await ensure_aliases()
    proxy = TcpProxy(OS_PORT)
    try:
        worker = start_worker(extra_env={"OPENSEARCH_URL": f"http://127.0.0.1:{proxy.port}"})
        owner = await make_user()
        proxy.cut()
        ids = await _write_projects(owner, 12)

        async def retried_while_down() -> bool:
            rows = await outbox_rows()
            return len(rows) == len(ids) and all(row.attempts >= 2 for row in rows)

        await eventually(retried_while_down, timeout=30, interval=0.3)
        for _ in range(2):  # the relay (every 10 s from the scheduler) sees the outage too
            relay_search_outbox.send()
        await asyncio.sleep(1.5)
        proxy.restore()

        async def all_indexed() -> bool:
            return all([await os_doc("projects", project_id) for project_id in ids])

        await eventually(all_indexed, timeout=60, interval=0.5)
        await eventually(lambda: _outbox_empty(), timeout=30)

        log = worker.log.read_text()
        assert log.count("search index unavailable") == 1, log[-3000:]
        assert log.count("search index available again") == 1, log[-3000:]
        for noise in ("Traceback", "Failed to process message", "Retrying message", "Retries exceeded"):
            assert noise not in log, log[-3000:]
        assert len(log.encode()) < 20_000, f"{len(log.encode())} bytes of log for a short outage"
    finally:
        proxy.close()


async def _outbox_empty() -> bool:
    return not await outbox_rows()
