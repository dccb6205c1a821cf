"""The OpenSearch engine (primary). Reads only through the aliases the indexer maintains.

Queries are structured JSON only (term/terms/match/multi_match/geo_*), never `query_string`.
Ordering is defined exactly like the PostGIS engine's: the sort key, then `id` ascending, so both
give the same hits in the same order; sort values double as `search_after` keys for cursors.
"""
from __future__ import annotations

import asyncio
import logging
from functools import lru_cache
from typing import Any

from opensearchpy.exceptions import OpenSearchException, RequestError

from api.kernel.settings import get_settings
from api.search.schemas import (CLUSTER_IDS_MAX, FACET_SIZES, ClusterQuery, EngineHit, EnginePage,
                                ProjectFilters, ProjectSearch, RecommendQuery, UserFilters, UserSearch)
from api.search import reach
from api.search.textmatch import words
from indexer.client import alias_name, get_client

NAME = "opensearch"
log = logging.getLogger("filmo.search")
REQUEST_TIMEOUT_S = 3.0

# People are located by a point already snapped to the ~1 km grid (the exact one is never used).
GRID_FIELD = "location_grid"


@lru_cache
def people_grid_indexed() -> bool:
    """Does the profiles mapping carry the snapped point? Without it PostGIS answers located people searches."""
    from indexer.mappings import index_body

    return GRID_FIELD in index_body("profiles")["mappings"]["properties"]


# Alphabetical (byte order), then id: the same few suggestions from either engine.
_SUGGEST_SORT = [{"name.raw": "asc"}, {"id": "asc"}]


class EngineUnavailable(Exception):
    """OpenSearch could not answer; the caller falls back to PostGIS (and opens the breaker if `trip`)."""

    def __init__(self, reason: str, trip: bool = True) -> None:
        super().__init__(reason)
        self.trip = trip


def _terms_agg(field: str, size: int) -> dict[str, Any]:
    # shard_size well above size: exact counts even with several shards.
    return {"terms": {"field": field, "size": size, "shard_size": max(500, size * 10),
                      "order": [{"_count": "desc"}, {"_key": "asc"}]}}


def _project_filters(f: ProjectFilters) -> tuple[list[dict], list[dict], list[dict]]:
    """(filter, must, must_not) clauses."""
    flt: list[dict] = []
    must: list[dict] = []
    must_not: list[dict] = []
    if f.statuses is None:
        flt += [{"term": {"status": "active"}}, {"term": {"is_fully_staffed": False}}]
    else:
        flt.append({"terms": {"status": list(f.statuses)}})
    if f.project_types:
        flt.append({"terms": {"project_type": list(f.project_types)}})
    if f.skill_ids:
        if f.match == "all":
            flt += [{"term": {"open_skill_ids": s}} for s in f.skill_ids]
        else:
            flt.append({"terms": {"open_skill_ids": list(f.skill_ids)}})
    if f.payment_types:
        flt.append({"terms": {"payment_types": list(f.payment_types)}})
    if f.city:
        flt.append({"term": {"city": {"value": f.city, "case_insensitive": True}}})
    if f.query:
        must.append({"multi_match": {"query": " ".join(words(f.query)), "fields": ["name", "description"],
                                     "type": "cross_fields", "operator": "and"}})
    if f.centre is not None:
        flt.append({"exists": {"field": "location"}})
        if f.radius_km is not None:
            flt.append({"geo_distance": {"distance": f"{f.radius_km}km", "distance_type": "arc",
                                         "location": {"lat": f.centre.lat, "lon": f.centre.lon}}})
    if f.bbox is not None:
        flt.append({"geo_bounding_box": {"location": {
            "top_left": {"lat": f.bbox.max_lat, "lon": f.bbox.min_lon},
            "bottom_right": {"lat": f.bbox.min_lat, "lon": f.bbox.max_lon}}}})
    if f.exclude_creator is not None:
        must_not.append({"term": {"creator_id": str(f.exclude_creator)}})
    if f.reach is not None:
        reach_filter, reach_must_not = reach.opensearch_clauses(f.reach)
        flt += reach_filter
        must_not += reach_must_not
    return flt, must, must_not


def _bool(flt: list[dict], must: list[dict], must_not: list[dict]) -> dict[str, Any]:
    body: dict[str, Any] = {"filter": flt}
    if must:
        body["must"] = must
    if must_not:
        body["must_not"] = must_not
    return {"bool": body}


def _geo_sort(centre) -> dict[str, Any]:
    return {"_geo_distance": {"location": {"lat": centre.lat, "lon": centre.lon}, "order": "asc", "unit": "km",
                              "distance_type": "arc", "mode": "min", "ignore_unmapped": False}}


def _page(body: dict, q) -> None:
    """Keyset (search_after the previous page's last sort values) when a cursor came, else offset paging."""
    if q.after is not None:
        body["search_after"] = _after(q.after)
    else:
        body["from"] = q.offset


def _after(after: tuple | None) -> list | None:
    return list(after) if after is not None else None


def projects_body(q: ProjectSearch) -> dict[str, Any]:
    """The `_search` body of a project search (bench/throughput sends the same body to OpenSearch directly)."""
    flt, must, must_not = _project_filters(q.filters)
    if q.sort == "distance":
        sort: list = [_geo_sort(q.filters.centre), {"id": "asc"}]
    elif q.sort == "newest":
        sort = [{"created_at": "desc"}, {"id": "asc"}]
    else:
        sort = ["_score", {"id": "asc"}]
    body: dict[str, Any] = {"query": _bool(flt, must, must_not), "sort": sort, "size": q.limit,
                            "track_total_hits": get_settings().search_total_exact_up_to,
                            "_source": {"excludes": ["search_version", "skill_ids", "open_skill_ids"]}}
    _page(body, q)
    if q.facets:
        body["aggs"] = {"skills": _terms_agg("open_skill_ids", FACET_SIZES["skills"]),
                        "project_types": _terms_agg("project_type", FACET_SIZES["project_types"]),
                        "payment_types": _terms_agg("payment_types", FACET_SIZES["payment_types"]),
                        "cities": _terms_agg("city", FACET_SIZES["cities"])}
    return body


# What project, people and recommendation lists read from a search response (index names, document ids
# and shard statistics stay on the server: less JSON to send and parse per request).
HIT_LIST_PATHS = "took,hits.total,hits.hits._source,hits.hits.sort,hits.hits._score,aggregations"


class OpenSearchEngine:
    name = NAME

    def __init__(self) -> None:
        self.client = get_client()

    async def _search(self, kind: str, body: dict[str, Any], *, hit_list: bool = False) -> dict[str, Any]:
        """`hit_list`: only the parts a hit list reads come back (HIT_LIST_PATHS), less JSON to parse."""
        try:
            if not hit_list:
                return await self.client.search(index=alias_name(kind), body=body, request_timeout=REQUEST_TIMEOUT_S)
            res = await self.client.search(index=alias_name(kind), body=body, request_timeout=REQUEST_TIMEOUT_S,
                                           filter_path=HIT_LIST_PATHS)
            res["hits"].setdefault("hits", [])  # filter_path drops an empty list
            return res
        except RequestError as exc:
            # Our query was refused: a bug, not an outage. Answer from PostGIS but keep using OpenSearch.
            log.error("OpenSearch refused a %s query: %s", kind, exc.info if hasattr(exc, "info") else exc)
            raise EngineUnavailable("RequestError", trip=False) from exc
        except (OpenSearchException, OSError, asyncio.TimeoutError) as exc:
            raise EngineUnavailable(exc.__class__.__name__) from exc

    # ------------------------------------------------------------------ projects

    async def search_projects(self, q: ProjectSearch) -> EnginePage:
        res = await self._search("projects", projects_body(q), hit_list=True)
        hits = []
        for h in res["hits"]["hits"]:
            doc = dict(h["_source"])
            _split_location(doc)
            key = h["sort"][0]
            hits.append(EngineHit(doc=doc, sort=(float(key) if q.sort != "newest" else int(key), h["sort"][1]),
                                  score=h.get("_score")))
        return _page_of(res, hits, q.facets)

    # ------------------------------------------------------------------ people

    @staticmethod
    def _user_query(f: UserFilters) -> dict[str, Any]:
        flt: list[dict] = []
        must: list[dict] = []
        if f.name:
            must.append({"match": {"name": {"query": " ".join(words(f.name)), "operator": "and"}}})
        if f.profession:
            must.append({"match": {"profession": {"query": " ".join(words(f.profession)), "operator": "and"}}})
        if f.city:
            flt.append({"term": {"city": {"value": f.city, "case_insensitive": True}}})
        if f.is_actor is not None:
            flt.append({"term": {"is_actor": f.is_actor}})
        if f.skill_ids:
            if f.match == "all":
                flt += [{"term": {"skill_ids": s}} for s in f.skill_ids]
            else:
                flt.append({"terms": {"skill_ids": list(f.skill_ids)}})
        if f.min_experience is not None or f.max_experience is not None:
            rng: dict[str, int] = {}
            if f.min_experience is not None:
                rng["gte"] = f.min_experience
            if f.max_experience is not None:
                rng["lte"] = f.max_experience
            flt.append({"range": {"years_of_experience": rng}})
        if f.centre is not None:
            flt.append({"exists": {"field": GRID_FIELD}})
            if f.radius_km is not None:
                flt.append({"geo_distance": {"distance": f"{f.radius_km}km", "distance_type": "arc",
                                             GRID_FIELD: {"lat": f.centre.lat, "lon": f.centre.lon}}})
        return _bool(flt, must, [])

    async def search_users(self, q: UserSearch) -> EnginePage:
        f = q.filters
        if f.centre is not None and not people_grid_indexed():
            raise EngineUnavailable("the profiles index has no grid point", trip=False)
        if q.sort == "distance":
            sort: list = [{"_geo_distance": {GRID_FIELD: {"lat": f.centre.lat, "lon": f.centre.lon}, "order": "asc",
                                             "unit": "km", "distance_type": "arc"}}, {"id": "asc"}]
        elif q.sort == "newest":
            sort = [{"created_at": "desc"}, {"id": "asc"}]
        else:
            sort = ["_score", {"id": "asc"}]
        query = self._user_query(f)
        if q.sort == "relevance":
            text = " ".join(words(" ".join(x for x in (f.name, f.profession) if x)))
            query["bool"].setdefault("should", []).append(
                {"multi_match": {"query": text, "fields": ["name", "profession"]}})
        # The exact point never leaves OpenSearch: only the grid point is read back.
        body: dict[str, Any] = {"query": query, "sort": sort, "size": q.limit,
                                "track_total_hits": get_settings().search_total_exact_up_to,
                                "_source": {"excludes": ["location", "bio", "search_version"]}}
        _page(body, q)
        if q.facets:
            body["aggs"] = {"skills": _terms_agg("skill_ids", FACET_SIZES["skills"]),
                            "cities": _terms_agg("city", FACET_SIZES["cities"]),
                            "professions": _terms_agg("profession.raw", FACET_SIZES["cities"]),
                            "is_actor": _terms_agg("is_actor", 2)}
        res = await self._search("profiles", body, hit_list=True)
        hits = []
        for h in res["hits"]["hits"]:
            doc = dict(h["_source"])
            grid = doc.pop(GRID_FIELD, None) or {}
            doc["grid_lat"], doc["grid_lon"] = grid.get("lat"), grid.get("lon")
            key = h["sort"][0]
            hits.append(EngineHit(doc=doc, sort=(int(key) if q.sort == "newest" else float(key), h["sort"][1])))
        return _page_of(res, hits, q.facets)

    # ------------------------------------------------------------------ map clusters

    async def project_clusters(self, q: ClusterQuery) -> EnginePage:
        flt, must, must_not = _project_filters(q.filters)
        body = {"size": 0, "query": _bool(flt, must, must_not), "aggs": {"cells": {
            "geotile_grid": {"field": "location", "precision": q.precision, "size": 10000},
            "aggs": {"centroid": {"geo_centroid": {"field": "location"}},
                     "bounds": {"geo_bounds": {"field": "location", "wrap_longitude": False}},
                     "ids": {"top_hits": {"size": CLUSTER_IDS_MAX, "sort": [{"id": "asc"}], "_source": False,
                                          "docvalue_fields": ["id"]}}}}}}
        res = await self._search("projects", body)
        clusters = []
        for b in res["aggregations"]["cells"]["buckets"]:
            bounds = b["bounds"]["bounds"]
            ids = None
            if b["doc_count"] <= CLUSTER_IDS_MAX:
                ids = [h["fields"]["id"][0] for h in b["ids"]["hits"]["hits"]]
            clusters.append({
                "key": b["key"], "count": b["doc_count"],
                "centroid": {"lat": b["centroid"]["location"]["lat"], "lon": b["centroid"]["location"]["lon"]},
                "bounds": {"min_lat": bounds["bottom_right"]["lat"], "min_lon": bounds["top_left"]["lon"],
                           "max_lat": bounds["top_left"]["lat"], "max_lon": bounds["bottom_right"]["lon"]},
                "project_ids": ids})
        clusters.sort(key=lambda c: (-c["count"], c["key"]))
        return EnginePage(hits=[EngineHit(doc=c, sort=()) for c in clusters],
                          total=sum(c["count"] for c in clusters))

    # ------------------------------------------------------------------ suggestions

    async def suggest(self, q: str, size: int) -> dict[str, list[dict[str, Any]]]:
        text = " ".join(words(q))
        if not text:
            return {"projects": [], "people": []}
        prefix = {"multi_match": {"query": text, "type": "bool_prefix", "operator": "and",
                                  "fields": ["name.suggest", "name.suggest._2gram", "name.suggest._3gram"]}}
        projects, people = await asyncio.gather(
            self._search("projects", {"size": size, "_source": ["id", "name", "city"], "query": {"bool": {
                "must": [prefix], "filter": [{"term": {"status": "active"}}, {"term": {"is_fully_staffed": False}}]}},
                "sort": _SUGGEST_SORT}),
            self._search("profiles", {"size": size, "_source": ["id", "user_id", "name", "profession",
                                                                 "profile_photo_url"],
                                      "query": prefix, "sort": _SUGGEST_SORT}))
        return {"projects": [h["_source"] for h in projects["hits"]["hits"]],
                "people": [h["_source"] for h in people["hits"]["hits"]]}

    # ------------------------------------------------------------------ recommendations

    async def recommended(self, q: RecommendQuery, decay: dict[str, float]) -> EnginePage:
        filters = ProjectFilters(skill_ids=q.skill_ids, match="any", exclude_creator=q.user_id,
                                 centre=q.origin, radius_km=q.radius_km if q.origin else None)
        flt, _, must_not = _project_filters(filters)
        # Each shared skill scores 1: the bool score is the overlap count.
        overlap = [{"constant_score": {"filter": {"term": {"open_skill_ids": s}}, "boost": 1.0}}
                   for s in sorted(set(q.skill_ids))]
        query: dict[str, Any] = {"bool": {"filter": flt, "must_not": must_not, "should": overlap,
                                          "minimum_should_match": 1}}
        if q.origin is not None:
            query = {"function_score": {"query": query, "boost_mode": "multiply", "functions": [{"gauss": {
                "location": {"origin": {"lat": q.origin.lat, "lon": q.origin.lon},
                             "scale": f"{decay['scale_km']}km", "offset": f"{decay['offset_km']}km",
                             "decay": decay["decay"]}}}]}}
        body = {"query": query, "sort": ["_score", {"id": "asc"}], "from": q.offset, "size": q.limit,
                "track_total_hits": True, "_source": {"excludes": ["search_version", "skill_ids", "open_skill_ids"]}}
        res = await self._search("projects", body, hit_list=True)
        hits = []
        for h in res["hits"]["hits"]:
            doc = dict(h["_source"])
            _split_location(doc)
            hits.append(EngineHit(doc=doc, sort=(), score=float(h["_score"])))
        return EnginePage(hits=hits, total=res["hits"]["total"]["value"])


def _facets(res: dict[str, Any]) -> dict[str, list[tuple[Any, int]]]:
    out: dict[str, list[tuple[Any, int]]] = {}
    for name, agg in res.get("aggregations", {}).items():
        buckets = []
        for b in agg["buckets"]:
            key = b["key"]
            if name == "is_actor":
                key = b.get("key_as_string", str(key)) == "true"
            buckets.append((key, b["doc_count"]))
        out[name] = buckets
    return out


def _split_location(doc: dict[str, Any]) -> None:
    """Turn the document's geo_point (any of its JSON forms) into latitude/longitude."""
    loc = doc.pop("location", None)
    lat = lon = None
    if isinstance(loc, dict):
        lat, lon = loc.get("lat"), loc.get("lon")
    elif isinstance(loc, (list, tuple)) and len(loc) == 2:
        lon, lat = loc
    elif isinstance(loc, str) and "," in loc:
        lat_s, lon_s = loc.split(",", 1)
        lat, lon = float(lat_s), float(lon_s)
    doc["latitude"] = float(lat) if lat is not None else None
    doc["longitude"] = float(lon) if lon is not None else None


def _page_of(res: dict, hits: list[EngineHit], facets: bool) -> EnginePage:
    """A hit list's page: total exact up to SEARCH_TOTAL_EXACT_UP_TO (track_total_hits), "gte" beyond."""
    total = res["hits"]["total"]
    return EnginePage(hits=hits, total=total["value"], total_relation=total["relation"],
                      facets=_facets(res) if facets else None)
