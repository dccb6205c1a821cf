"""Saved searches as percolator queries: each changed project document finds the searches it matches.

The index `<prefix>saved_searches` (search_mappings/saved_searches.json) holds one document per saved
search: its OpenSearch query (`query`, a percolator field; the search domain builds it from the same
filters as /search/projects and stores it on the row) and three pre-filter fields, `filter_project_types`,
`filter_skill_ids` and `filter_area` (the envelope of the centre + radius or of the bbox, a geo_shape). Saved searches
reach it through the search outbox like every other document (entity `saved_search`, external
versions), and `filmo reindex saved_searches` rebuilds it from PostGIS.

Percolating a changed project (`percolate`) asks only for saved searches whose pre-filter admits it (its
type, one of its open skills, a point inside the area, or no such restriction): Lucene intersects those cheap clauses first and
runs the stored queries of the remaining candidates only, so the cost follows the number of nearby
saved searches of that type, not their total (bench/alerts measures it at 10k and 100k). Matches are
handed to the `deliver_saved_search_alerts` job (api/saved_searches/tasks.py) by name: the indexer does
not decide who may be told.
"""
from __future__ import annotations

import copy
import json
import logging
import uuid
from collections.abc import Iterable
from datetime import datetime, timezone
from functools import lru_cache
from importlib import resources
from pathlib import Path

from opensearchpy import AsyncOpenSearch, NotFoundError
from opensearchpy.exceptions import RequestError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from api.kernel.reach_cells import degree_box
from api.worker.registry import enqueue
from indexer.client import alias_name
from indexer.documents import DELETED_VERSION, Doc

log = logging.getLogger("filmo.indexer")
KIND = "saved_searches"
ENTITY = "saved_search"
ALERT_TASK = "deliver_saved_search_alerts"
# The indexing queue: its consumers poll every 100 ms (api/worker/broker.py), which the alert latency needs.
ALERT_QUEUE = "search"
PAGE = 10_000  # saved searches per percolate page: every page runs the stored queries of all candidates again
# The project fields a stored query may read (everything else of a project document is left out: the
# percolator index maps only these).
PROJECT_FIELDS = ("id", "creator_id", "name", "description", "project_type", "status", "is_fully_staffed", "city",
                  "location", "open_skill_ids", "payment_types", "shoot_dates")
_ensured: set[str] = set()
_unsupported: set[str] = set()


def _mapping_text() -> str:
    try:  # the installed package data (a wheel), else the checkout's folder
        return resources.files("search_mappings").joinpath(f"{KIND}.json").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        return (Path(__file__).resolve().parents[1] / "search_mappings" / f"{KIND}.json").read_text(encoding="utf-8")


@lru_cache
def _load() -> tuple[int, dict]:
    raw = json.loads(_mapping_text())
    version = int(raw.pop("_filmo_version"))
    return version, raw


def index_body() -> dict:
    return copy.deepcopy(_load()[1])


def alias() -> str:
    return alias_name(KIND)


def new_index_name() -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S%f")
    return f"{alias()}_v{_load()[0]}_{stamp}"


async def alias_targets(client: AsyncOpenSearch) -> list[str]:
    try:
        return sorted(await client.indices.get_alias(name=alias()))
    except NotFoundError:
        return []


async def ensure_index(client: AsyncOpenSearch) -> bool:
    """Create the alias with an empty index on a fresh install (cheap after the first call per process).

    False when the cluster has no percolator module (a node started without PercolatorPlugin, see
    infra/services.sh): logged once, and alerts take the PostGIS path instead of stalling the indexer."""
    name = alias()
    if name in _unsupported:
        return False
    if name in _ensured:
        return True
    if not await alias_targets(client):
        body = index_body()
        body["aliases"] = {name: {}}
        try:
            # One fixed name for the first index: processes racing here create the same index once (the
            # loser gets resource_already_exists), never two indexes behind one alias.
            await client.indices.create(index=f"{name}_v{_load()[0]}_initial", body=body)
            log.info("created the saved-search percolator index behind %s", name)
        except RequestError as exc:
            if "[percolator]" in str(exc.info or exc):
                _unsupported.add(name)
                log.warning("the search cluster has no percolator module: saved searches are matched in PostGIS "
                            "(correct, slower); start OpenSearch with org.opensearch.percolator.PercolatorPlugin")
                return False
            if not await alias_targets(client):  # not a race with another process creating it
                raise
    _ensured.add(name)
    return True


def forget_ensured() -> None:
    """The alias was found gone (deleted by hand, or another cluster): the next ensure_index looks again."""
    _ensured.discard(alias())


# ------------------------------------------------------------------ documents


def envelope(area: dict | None) -> dict | None:
    if area is None:
        return None
    return {"type": "envelope", "coordinates": [[area["min_lon"], area["max_lat"]], [area["max_lon"], area["min_lat"]]]}


_SELECT = """
SELECT s.id, s.user_id, s.query, s.filters, s.project_types, s.search_version,
       ST_XMin(s.area) AS min_lon, ST_YMin(s.area) AS min_lat, ST_XMax(s.area) AS max_lon, ST_YMax(s.area) AS max_lat
FROM saved_searches s JOIN users u ON u.id = s.user_id AND u.is_active
"""


def source(row) -> dict:
    doc = {"query": row.query, "saved_search_id": str(row.id), "user_id": str(row.user_id),
           "search_version": row.search_version}
    if row.project_types:
        doc["filter_project_types"] = sorted(row.project_types)
    skills = (row.filters or {}).get("skill_ids") if hasattr(row, "filters") else None
    if skills:  # "any" or "all": a project without one of them cannot match
        doc["filter_skill_ids"] = sorted(set(skills))
    if row.min_lon is not None:
        doc["filter_area"] = envelope({"min_lon": row.min_lon, "min_lat": row.min_lat, "max_lon": row.max_lon,
                                       "max_lat": row.max_lat})
    return doc


async def load_docs(session: AsyncSession, ids: Iterable[uuid.UUID | str]) -> list[Doc]:
    """Documents for these saved searches; a deleted one (or one of a deactivated account) is a delete."""
    wanted = {str(i) for i in ids}
    if not wanted:
        return []
    rows = await session.execute(text(f"{_SELECT} WHERE s.id = ANY(CAST(:ids AS uuid[]))"), {"ids": list(wanted)})
    docs = [Doc(str(row.id), row.search_version, source(row)) for row in rows]
    found = {d.id for d in docs}
    docs.extend(Doc(i, DELETED_VERSION, None) for i in sorted(wanted - found))
    return docs


async def scan_docs(session: AsyncSession, batch_size: int = 1000):
    after: str | None = None
    while True:
        where = "WHERE s.id > CAST(:after AS uuid) " if after else ""
        rows = (await session.execute(text(f"{_SELECT} {where}ORDER BY s.id LIMIT :limit"),
                                      {"limit": batch_size, **({"after": after} if after else {})})).all()
        if not rows:
            return
        yield [Doc(str(row.id), row.search_version, source(row)) for row in rows]
        after = str(rows[-1].id)


# ------------------------------------------------------------------ percolating


def percolated_document(project: dict) -> dict:
    return {k: project[k] for k in PROJECT_FIELDS if k in project}


def percolate_body(project: dict) -> dict:
    """The saved searches a project document matches: pre-filter (type, area) and the stored queries."""
    flt: list[dict] = [
        {"bool": {"should": [{"bool": {"must_not": {"exists": {"field": "filter_project_types"}}}},
                             {"term": {"filter_project_types": project.get("project_type", "")}}],
                  "minimum_should_match": 1}},
    ]
    skills = project.get("open_skill_ids") or []
    flt.append({"bool": {"should": [{"bool": {"must_not": {"exists": {"field": "filter_skill_ids"}}}},
                                    *([{"terms": {"filter_skill_ids": skills}}] if skills else [])],
                         "minimum_should_match": 1}})
    loc = project.get("location")
    if loc is not None:
        flt.append({"bool": {"should": [
            {"bool": {"must_not": {"exists": {"field": "filter_area"}}}},
            {"geo_shape": {"filter_area": {"shape": {"type": "point", "coordinates": [loc["lon"], loc["lat"]]},
                                           "relation": "intersects"}}}],
            "minimum_should_match": 1}})
    else:
        flt.append({"bool": {"must_not": {"exists": {"field": "filter_area"}}}})
    flt.append({"percolate": {"field": "query", "document": percolated_document(project)}})
    # The ids come from an aggregation, not as hits: hits go through the fetch phase, where the percolator runs
    # every matching stored query again (to name the matched document slot). For a project matching ~6,000
    # of 100k saved searches that doubled the request (~1,100 ms -> ~550 ms, bench/results/alerts.md).
    return {"query": {"bool": {"filter": flt}}, "size": 0, "track_total_hits": False,
            "aggs": {"ids": {"composite": {"size": PAGE, "sources": [{"id": {"terms": {"field": "saved_search_id"}}}]}}}}


async def percolate(client: AsyncOpenSearch, project: dict) -> list[str]:
    """Ids of the saved searches this project document matches (every page)."""
    body = percolate_body(project)
    ids: list[str] = []
    while True:
        res = await client.search(index=alias(), body=body)
        page = res["aggregations"]["ids"]
        ids.extend(b["key"]["id"] for b in page["buckets"])
        if len(page["buckets"]) < PAGE or "after_key" not in page:
            return ids
        body["aggs"]["ids"]["composite"]["after"] = page["after_key"]


async def alert_matches(client: AsyncOpenSearch, projects: list[Doc]) -> int:
    """Percolate these changed project documents and hand each one's matches to the alert job. Returns how
    many (project, saved search) matches were handed over. Raises on a failed request (the caller keeps the
    outbox rows, so the project is percolated again)."""
    if not projects:
        return 0
    if not await ensure_index(client):
        await alert_without_opensearch([doc.id for doc in projects if doc.source is not None])
        return 0
    handed = 0
    for doc in projects:
        if doc.source is None:
            continue
        try:
            ids = await percolate(client, doc.source)
        except NotFoundError:
            # Without this the rows would be retried against the same missing index forever: project indexing
            # would stall. The retry recreates it (empty: `filmo reindex saved_searches` refills it from PostGIS).
            forget_ensured()
            raise
        if ids:
            await enqueue(ALERT_TASK, ALERT_QUEUE, doc.id, ids, "opensearch")
            handed += len(ids)
    return handed


async def alert_without_opensearch(project_ids: list[str]) -> None:
    """The PostGIS-only configuration: the alert job matches these projects in SQL (correct, slower)."""
    for project_id in project_ids:
        await enqueue(ALERT_TASK, ALERT_QUEUE, project_id, None, "postgis")


def area_of_circle(lat: float, lon: float, radius_km: float) -> dict | None:
    """A lat/lon box that surely holds every point within `radius_km` (sphere) of the centre, or None when
    it would wrap a pole or the antimeridian (then the search has no area pre-filter: correct, slower)."""
    box = degree_box(lat, lon, radius_km)
    if box is None:
        return None
    dlat, dlon = box
    if lon - dlon < -180 or lon + dlon > 180:
        return None
    return {"min_lon": lon - dlon, "min_lat": lat - dlat, "max_lon": lon + dlon, "max_lat": lat + dlat}


# ------------------------------------------------------------------ `filmo reindex saved_searches`


async def rebuild(batch_size: int = 1000) -> dict:
    """A new percolator index loaded from PostGIS, then the alias swapped in one request and the old index
    dropped. A saved search changed meanwhile is written again by its own outbox row (external versions:
    the newer state wins wherever it lands); one deleted meanwhile can survive in the new index until its
    owner's next change, which is harmless: the alert job skips saved searches that no longer exist."""
    from db.session import get_sessionmaker
    from indexer.bulk import write_docs
    from indexer.client import connect

    client = connect(120.0, retries=2)
    try:
        index = new_index_name()
        await client.indices.create(index=index, body=index_body())
        written = failed = 0
        async with get_sessionmaker()() as session:
            async for docs in scan_docs(session, batch_size):
                result = await write_docs(client, index, docs, require_alias=False)
                written += result.written + result.conflicts
                failed += len(result.failed)
        await client.indices.refresh(index=index)
        old = await alias_targets(client)
        actions: list[dict] = [{"remove": {"index": i, "alias": alias()}} for i in old]
        await client.indices.update_aliases(body={"actions": [*actions, {"add": {"index": index, "alias": alias()}}]})
        for i in old:
            await client.indices.delete(index=i, params={"ignore_unavailable": "true"})
        _ensured.add(alias())
        return {"kind": KIND, "index": index, "documents": written, "failed": failed, "deleted": old}
    finally:
        await client.close()
