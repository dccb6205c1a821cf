"""Two engines, one behaviour: a real server on the PostGIS engine (OPENSEARCH_URL empty) against the
in-process app on OpenSearch, over one seeded data set; and the circuit breaker of a real server whose
OpenSearch goes away and comes back (through a TCP proxy the test controls).
"""
from __future__ import annotations

import asyncio

import httpx

from tests.helpers.http import SEARCH
from tests.helpers.processes import free_port
from tests.helpers.run import OS_PORT
from tests.helpers.search import LA, answering, enveloped, index_pending, reset_index, seed

NY = (40.7306, -73.9866)

# (path, params, ordered): ordered=False compares relevance-sorted hits as sets.
PARITY_QUERIES = [
    ("/projects", {}, True),
    ("/projects", {"sort": "newest", "status": ["active", "completed", "dead", "shelved"]}, True),
    ("/projects", {"latitude": LA[0], "longitude": LA[1], "max_distance_km": 50, "skill_ids": [1, 2, 3]}, True),
    ("/projects", {"latitude": LA[0], "longitude": LA[1], "max_distance_km": 80, "skill_ids": [1, 5], "match": "all"},
     True),
    ("/projects", {"latitude": NY[0], "longitude": NY[1], "payment_type": ["paid", "negotiable"]}, True),
    ("/projects", {"latitude": NY[0], "longitude": NY[1], "sort": "newest", "project_type": ["series", "short_film"]},
     True),
    ("/projects", {"bbox": "-119.0,33.4,-117.5,34.7", "city": "los angeles"}, True),
    # RFC 7946 §5.2 boxes: west > east crosses the antimeridian (everything but Los Angeles), wrapped longitudes.
    ("/projects", {"bbox": "-100,20,-120,60", "sort": "newest"}, True),
    ("/projects", {"bbox": "-250,-85,250,85", "sort": "newest", "skill_id": 2}, True),
    ("/projects/clusters", {"bbox": "-100,20,-120,60", "zoom": 2}, True),
    ("/projects", {"query": "night river"}, False),
    ("/projects", {"query": "cafe", "sort": "newest"}, True),
    ("/projects", {"query": "glass", "sort": "newest", "skill_id": 2}, True),
    ("/projects", {"query": "echo", "latitude": LA[0], "longitude": LA[1], "sort": "distance"}, True),
    ("/projects", {"query": "echo", "latitude": LA[0], "longitude": LA[1]}, False),
    ("/users", {}, True),
    ("/users", {"name": "ana", "sort": "newest"}, True),
    ("/users", {"profession": "editor"}, False),
    ("/users", {"skill_ids": [1, 2], "min_experience": 3, "max_experience": 15}, True),
    ("/users", {"is_actor": "true", "city": "New York"}, True),
    ("/users", {"latitude": LA[0], "longitude": LA[1], "max_distance_km": 40}, True),
    ("/users", {"latitude": NY[0], "longitude": NY[1], "skill_id": 3}, True),
    ("/projects/clusters", {"bbox": "-125,24,-66,50", "zoom": 3}, True),
    ("/projects/clusters", {"bbox": "-119.0,33.4,-117.5,34.7", "zoom": 8, "skill_ids": [1, 2]}, True),
    ("/suggest", {"q": "ni", "size": 10}, True),
    ("/suggest", {"q": "ben ok"}, True),
    ("/suggest", {"q": "chlo"}, True),
    ("/users", {"name": "Chloe", "sort": "newest"}, True),
]


def _strip(body: dict) -> dict:
    """Cursors encode each engine's own sort values (distances differ in the last bits): compared by walking."""
    return {k: v for k, v in body.items() if k != "next_cursor"}


async def _walk(client, path, params, engine) -> list[dict]:
    hits, cursor = [], None
    while True:
        resp = await client.get(SEARCH + path, params={**params, "limit": 15, "envelope": "true",
                                                    **({"cursor": cursor} if cursor else {})})
        assert resp.status_code == 200, resp.text
        assert resp.headers["x-search-engine"] == engine
        body = resp.json()
        hits += body["results"]
        cursor = body["next_cursor"]
        if not cursor:
            return hits


async def test_opensearch_and_postgis_give_the_same_answers(client, start_server, make_user, monkeypatch):
    from api.kernel.settings import get_settings
    from api.search import service

    service._breaker = None
    monkeypatch.setattr(get_settings(), "search_users_per_minute", 10_000)
    await reset_index()
    await seed(n_projects=120, n_profiles=60, rng_seed=11)
    me = await make_user(profile={"name": "Parity Person", "latitude": LA[0] + 0.05, "longitude": LA[1],
                                  "skill_ids": [1, 2, 5]})
    await index_pending()
    server = start_server(extra_env={"OPENSEARCH_URL": "", "SEARCH_USERS_PER_MINUTE": "10000"})
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as pg:
        for path, params, ordered in PARITY_QUERIES:
            params = enveloped(path, params)
            os_resp = await client.get(SEARCH + path, params=params)
            pg_resp = await pg.get(SEARCH + path, params=params)
            assert os_resp.status_code == pg_resp.status_code == 200, (params, os_resp.text, pg_resp.text)
            assert os_resp.headers["x-search-engine"] == answering("opensearch", path, params)
            assert pg_resp.headers["x-search-engine"] == "postgis"
            os_body, pg_body = os_resp.json(), pg_resp.json()
            if path in ("/projects/clusters", "/suggest"):
                assert os_body == _approx(pg_body, os_body), (path, params)
                continue
            assert os_body["total"] == pg_body["total"], params
            assert os_body["facets"] == pg_body["facets"], params
            if ordered:
                assert _strip(os_body) == _strip(pg_body), params
                os_all = await _walk(client, path, params, answering("opensearch", path, params))
                pg_all = await _walk(pg, path, params, "postgis")
                assert os_all == pg_all, params
                assert len(os_all) == os_body["total"]
            else:
                # Relevance scores differ by engine (BM25 vs ts_rank): the same hits, walked to the end.
                os_all = await _walk(client, path, params, answering("opensearch", path, params))
                pg_all = await _walk(pg, path, params, "postgis")
                assert len(os_all) == len(pg_all) == os_body["total"], params
                assert {h["id"] for h in os_all} == {h["id"] for h in pg_all}, params
        # Recommendations: same hits, same order, same scores (to float precision).
        os_rec = (await client.get(f"{SEARCH}/projects/recommended", headers=me.headers)).json()
        pg_rec = (await pg.get(f"{SEARCH}/projects/recommended", headers=me.headers)).json()
        assert os_rec["total"] == pg_rec["total"] > 0
        assert [h["id"] for h in os_rec["results"]] == [h["id"] for h in pg_rec["results"]]
        for a, b in zip(os_rec["results"], pg_rec["results"]):
            assert abs(a["score"] - b["score"]) <= 1e-4 * max(1.0, b["score"])


def _approx(pg_body, os_body):
    """Clusters: centroids/bounds agree to ~1 cm (OpenSearch stores points quantised to ~1e-7 degrees)."""
    if isinstance(pg_body, dict):
        return {k: _approx(v, os_body.get(k) if isinstance(os_body, dict) else None) for k, v in pg_body.items()}
    if isinstance(pg_body, list):
        return [_approx(v, os_body[i] if isinstance(os_body, list) and i < len(os_body) else None)
                for i, v in enumerate(pg_body)]
    # Coordinates are rounded to 6 decimals: values a hair apart may round either side (1e-6 apart).
    if isinstance(pg_body, float) and isinstance(os_body, float) and abs(pg_body - os_body) <= 1.5e-6:
        return os_body
    return pg_body


class Proxy:
    """A TCP proxy in front of OpenSearch: `refuse` drops every connection (a dead cluster), `forward` relays."""

    def __init__(self) -> None:
        self.mode = "refuse"
        self.connections = 0
        self.port = free_port()
        self.server: asyncio.base_events.Server | None = None
        self.open: list = []

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self.server:
            self.server.close()

    def refuse(self) -> None:
        """Go down like a crashed cluster: drop the open connections too."""
        self.mode = "refuse"
        for writer in self.open:
            writer.close()
        self.open.clear()

    async def _handle(self, reader, writer) -> None:
        self.connections += 1
        if self.mode == "refuse":
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", OS_PORT)
        self.open += [writer, up_writer]

        async def pipe(src, dst):
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer), return_exceptions=True)


BOUNDED_QUERIES = [
    ("/projects", {"latitude": LA[0], "longitude": LA[1], "max_distance_km": 50}),
    ("/projects", {"skill_ids": [1, 2, 3], "facets": "false"}),
    ("/projects", {"query": "night", "latitude": LA[0], "longitude": LA[1], "max_distance_km": 300}),
    ("/users", {"latitude": LA[0], "longitude": LA[1], "max_distance_km": 80, "facets": "false"}),
    ("/users", {}),
]


async def test_totals_are_exact_up_to_the_bound_then_at_least_in_both_engines(client, start_server, monkeypatch):
    """Beyond SEARCH_TOTAL_EXACT_UP_TO matches both engines say "at least the bound" (OpenSearch's
    track_total_hits; a LIMITed count in PostGIS instead of counting a whole radius on every page), the same
    way; facets still count every match, and the pages go on past the bound."""
    from api.kernel.settings import get_settings
    from api.search import service

    service._breaker = None
    monkeypatch.setattr(get_settings(), "search_users_per_minute", 10_000)
    monkeypatch.setattr(get_settings(), "search_total_exact_up_to", 7)
    await reset_index()
    await seed(n_projects=120, n_profiles=60, rng_seed=11)
    await index_pending()
    server = start_server(extra_env={"OPENSEARCH_URL": "", "SEARCH_USERS_PER_MINUTE": "10000",
                                     "SEARCH_TOTAL_EXACT_UP_TO": "7"})
    relations = set()
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as pg:
        for path, params in BOUNDED_QUERIES:
            params = {**params, "envelope": "true"}
            os_resp, pg_resp = await client.get(SEARCH + path, params=params), await pg.get(SEARCH + path, params=params)
            assert os_resp.status_code == pg_resp.status_code == 200, (params, os_resp.text, pg_resp.text)
            assert pg_resp.headers["x-search-engine"] == "postgis"
            os_body, pg_body = os_resp.json(), pg_resp.json()
            assert (os_body["total"], os_body["total_relation"]) == (pg_body["total"], pg_body["total_relation"]), params
            assert os_body.get("facets") == pg_body.get("facets"), params
            os_all = await _walk(client, path, params, answering("opensearch", path, params))
            pg_all = await _walk(pg, path, params, "postgis")
            assert [h["id"] for h in os_all] == [h["id"] for h in pg_all], params
            if len(pg_all) > 7:
                assert (pg_body["total"], pg_body["total_relation"]) == (7, "gte"), params
                assert pg_resp.headers["x-total-count"] == "7" and pg_resp.headers["x-total-relation"] == "gte"
            else:
                assert (pg_body["total"], pg_body["total_relation"]) == (len(pg_all), "eq"), params
                assert "x-total-relation" not in pg_resp.headers
            relations.add(pg_body["total_relation"])
    assert relations == {"eq", "gte"}  # the queries cover both sides of the bound


async def test_dead_opensearch_costs_one_failure_then_postgis_answers_until_it_is_back(start_server):
    await reset_index()
    data = await seed(n_projects=30, n_profiles=5)
    await index_pending()
    expected_total = len([p for p in data.projects if p["status"] == "active" and not p["is_fully_staffed"]])
    proxy = Proxy()
    await proxy.start()
    try:
        server = start_server(extra_env={"OPENSEARCH_URL": f"http://127.0.0.1:{proxy.port}",
                                         "SEARCH_BREAKER_COOLDOWN_S": "2"})
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            async def search() -> tuple[str, int]:
                resp = await http.get(f"{SEARCH}/projects")
                assert resp.status_code == 200, resp.text
                return resp.headers["x-search-engine"], int(resp.headers["x-total-count"])

            # Cluster down: the first search tries it once, then the breaker keeps everyone off it.
            for _ in range(6):
                assert await search() == ("postgis", expected_total)
            assert proxy.connections == 1
            # It comes back: still skipped until the cooldown ends, then used again.
            proxy.mode = "forward"
            assert await search() == ("postgis", expected_total)
            assert proxy.connections == 1
            await asyncio.sleep(2.3)
            assert await search() == ("opensearch", expected_total)
            assert await search() == ("opensearch", expected_total)
            # Down again: one more failure, then PostGIS.
            proxy.refuse()
            before = proxy.connections
            for _ in range(4):
                engine, total = await search()
                assert total == expected_total
            assert engine == "postgis"
            assert proxy.connections - before <= 2  # at most the pooled connection plus one new attempt
    finally:
        await proxy.stop()


async def test_postgis_facets_are_exact_up_to_their_bound_then_counted_within_it(start_server):
    """Counting facets over every match of a 50 km radius at 1M projects read all ~96k rows (0.5 s p95): the
    PostGIS engine now counts them over at most SEARCH_FACETS_EXACT_UP_TO + 1 matches. Up to the bound they are
    exact (the parity tests above compare them with OpenSearch's); beyond it each count is within that sample,
    a lower bound, like the "at least" total read from the same rows."""
    from collections import Counter

    await reset_index()
    data = await seed(n_projects=120, n_profiles=60, rng_seed=11)
    server = start_server(extra_env={"OPENSEARCH_URL": "", "SEARCH_USERS_PER_MINUTE": "10000",
                                     "SEARCH_TOTAL_EXACT_UP_TO": "9", "SEARCH_FACETS_EXACT_UP_TO": "9"})
    open_projects = [p for p in data.projects if p["status"] == "active" and not p["is_fully_staffed"]]
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as pg:
        many = (await pg.get(f"{SEARCH}/projects", params={"envelope": "true"})).json()
        assert (many["total"], many["total_relation"]) == (9, "gte")
        types = {b["key"]: b["count"] for b in many["facets"]["project_types"]}
        assert sum(types.values()) == 10  # every match has one type: 10 matches were counted
        exact_types = Counter(p["project_type"] for p in open_projects)
        assert all(n <= exact_types[key] for key, n in types.items()), (types, exact_types)

        few = (await pg.get(f"{SEARCH}/projects", params={"envelope": "true", "project_type": "series",
                                                            "city": "London"})).json()
        expected = [p for p in open_projects if p["project_type"] == "series" and p["city"] == "London"]
        assert 0 < len(expected) <= 9
        assert (few["total"], few["total_relation"]) == (len(expected), "eq")
        assert {b["key"]: b["count"] for b in few["facets"]["project_types"]} == {"series": len(expected)}

        people = (await pg.get(f"{SEARCH}/users", params={"envelope": "true"})).json()
        assert people["total_relation"] == "gte"
        assert sum(b["count"] for b in people["facets"]["is_actor"]) == 10
