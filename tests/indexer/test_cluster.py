"""Searches on an OpenSearch cluster survive one of its nodes dying (a real cluster: infra/cluster.sh, one JVM per
node, in a throw-away dir with ports of its own; the run's shared node is not touched).

With OPENSEARCH_URL listing the nodes, the API's client sends a request that meets a dead node to the next node
(indexer/client.py); the index has a replica on the other node (`auto_expand_replicas` in search_mappings/), so
the survivor holds every shard. Before, a request sent to the dead node failed: that search fell back to PostGIS
and opened the circuit breaker for every later one. bench/cluster measures the same under load with 3 nodes.
"""
from __future__ import annotations

import os
import re
import signal
from types import SimpleNamespace

import pytest

from indexer import percolator
from indexer.indexes import forget_ensured
from tests.helpers.http import SEARCH
from tests.helpers.indexing import ensure_aliases
from tests.helpers.infra import run_script, script_env
from tests.helpers.search import LA, index_pending, seed


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Two nodes: the smallest cluster that keeps a replica apart from its primary."""
    root = tmp_path_factory.mktemp("cluster")
    env = script_env(FILMO_CLUSTER_DIR=str(root), FILMO_CLUSTER_HEAP="256m")
    up = run_script("cluster.sh", "up", "2", env=env, timeout=200)
    try:
        assert up.returncode == 0, up.stdout[-2000:] + up.stderr[-3000:]
        urls = re.search(r"OPENSEARCH_URL=(\S+)", up.stdout).group(1)
        yield SimpleNamespace(dir=root, urls=urls)
    finally:
        run_script("cluster.sh", "down", env=env, timeout=120)


async def test_a_search_survives_a_node_of_the_cluster_being_killed(cluster, client, settings_env):
    from indexer.client import close_client, get_client

    settings_env(OPENSEARCH_URL=cluster.urls)
    await close_client()  # the next client is built from the cluster's node list
    for kind in ("projects", "profiles"):  # earlier tests of this process ensured them on the shared node, not here
        forget_ensured(kind)
    percolator.forget_ensured()
    try:
        await ensure_aliases()
        await seed(n_projects=40, n_profiles=10)
        await index_pending()
        os_client = get_client()
        health = await os_client.cluster.health(wait_for_status="green", params={"timeout": "60s"}, request_timeout=70)
        assert health["number_of_nodes"] == 2 and health["status"] == "green", health

        params = {"latitude": LA[0], "longitude": LA[1], "max_distance_km": 200}
        before = await client.get(f"{SEARCH}/projects", params=params)
        assert before.status_code == 200 and before.headers["X-Search-Engine"] == "opensearch", before.text
        expected = [hit["id"] for hit in before.json()]
        assert expected

        # In a 2-node cluster only the elected cluster manager votes: kill the other node, as a crash would.
        manager = (await os_client.cat.cluster_manager(format="json"))[0]["node"]
        victim = next(k for k in (1, 2) if f"filmo-{k}" != manager)
        os.kill(int((cluster.dir / f"node-{victim}.pid").read_text()), signal.SIGKILL)

        # Round robin sends one of the first two requests to the dead node: each must still be answered by
        # OpenSearch (not the PostGIS fallback), with the same hits.
        for _ in range(6):
            resp = await client.get(f"{SEARCH}/projects", params=params)
            assert resp.status_code == 200, resp.text
            assert resp.headers["X-Search-Engine"] == "opensearch"
            assert [hit["id"] for hit in resp.json()] == expected
    finally:
        await close_client()
        for kind in ("projects", "profiles"):
            forget_ensured(kind)
        percolator.forget_ensured()
