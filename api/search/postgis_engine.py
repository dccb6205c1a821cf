"""The PostGIS-native search engine: the embedded default without OpenSearch and the fallback when it is down.

It answers exactly like the OpenSearch engine (same filters, same ordering, same counts):
- distances on the sphere (`use_spheroid => false`, mean radius 6 371 008.8 m), like OpenSearch's
  `arc` distance; radius filters use `ST_DWithin` on geography (GiST index);
- skills through `projects.open_skill_ids` / `user_profiles.skill_ids` (GIN: `&&` any, `@>` all);
- payment types through `projects.open_payment_types` (GIN, `&&`), the same copy the index documents carry;
- text as words: every word of the query must occur in the searched fields (`simple` text search
  configuration, no stemming, like the index's analysed text); relevance is `ts_rank`;
- "newest" compares creation times truncated to milliseconds, the precision of OpenSearch dates.
SQL text is assembled only from fixed fragments; every value a client sends is a bound parameter.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from api.kernel.location import snap_sql
from api.kernel.settings import get_settings
from api.search.schemas import (CLUSTER_IDS_MAX, FACET_SIZES, ClusterQuery, EngineHit, EnginePage,
                                ProjectFilters, ProjectSearch, RecommendQuery, UserFilters, UserSearch)
from api.search import reach
from api.search.textmatch import fold_params, fold_sql, words

NAME = "postgis"
CENTRE = "ST_SetSRID(ST_MakePoint(:c_lon, :c_lat), 4326)::geography"
# to_tsvector('simple', folded name + description), kept by PostgreSQL (a generated column, migration 0002)
# with a GIN index: computing it per row inside a 30 km London radius at 1M projects took 10 s.
PROJECT_TEXT = "p.search_text"
_PERSON_PROFESSION = "coalesce(u.profession, '')"
_PERSON_WORDS = "u.name || ' ' || coalesce(u.profession, '')"
# People: the point snapped to the ~1 km grid is the only one distances are computed from.
# (The OpenSearch documents carry the same snapped point as `location_grid`.)
GRID_LAT = snap_sql("ST_Y(u.location::geometry)")
GRID_LON = snap_sql("ST_X(u.location::geometry)")
SNAPPED = f"ST_SetSRID(ST_MakePoint({GRID_LON}, {GRID_LAT}), 4326)::geography"
# Snapping moves a point by at most ~790 m, so this wider radius is an index-friendly superset.
SNAP_SLACK_M = 1000.0


def _project_where(f: ProjectFilters, params: dict[str, Any]) -> list[str]:
    where = ["p.status <> 'disposed'"]
    if f.statuses is None:
        where += ["p.status = 'active'", "NOT p.is_fully_staffed"]
    else:
        where.append("p.status = ANY(:statuses)")
        params["statuses"] = list(f.statuses)
    if f.project_types:
        where.append("p.project_type = ANY(:project_types)")
        params["project_types"] = list(f.project_types)
    if f.skill_ids:
        op = "@>" if f.match == "all" else "&&"
        where.append(f"p.open_skill_ids {op} CAST(:skill_ids AS integer[])")
        params["skill_ids"] = list(f.skill_ids)
    if f.payment_types:
        where.append("p.open_payment_types && CAST(:payment_types AS varchar[])")
        params["payment_types"] = list(f.payment_types)
    if f.city:
        where.append("lower(p.city) = lower(:city)")
        params["city"] = f.city
    if f.query:
        where.append(f"{PROJECT_TEXT} @@ plainto_tsquery('simple', :q)")
        params["q"] = " ".join(words(f.query))
    if f.centre is not None:
        params["c_lat"], params["c_lon"] = f.centre.lat, f.centre.lon
        where.append("p.location IS NOT NULL")
        if f.radius_km is not None:
            where.append(f"ST_DWithin(p.location, {CENTRE}, :radius_m, false)")
            params["radius_m"] = f.radius_km * 1000.0
    if f.bbox is not None:
        # RFC 7946 §5.2: west > east crosses the antimeridian (api/search/geojson.normalise_bbox).
        lon = ("ST_X(p.location::geometry) BETWEEN :bb_min_lon AND :bb_max_lon" if f.bbox.min_lon <= f.bbox.max_lon
               else "(ST_X(p.location::geometry) >= :bb_min_lon OR ST_X(p.location::geometry) <= :bb_max_lon)")
        where.append("p.location IS NOT NULL AND ST_Y(p.location::geometry) BETWEEN :bb_min_lat AND :bb_max_lat "
                     f"AND {lon}")
        params.update(bb_min_lat=f.bbox.min_lat, bb_max_lat=f.bbox.max_lat, bb_min_lon=f.bbox.min_lon,
                      bb_max_lon=f.bbox.max_lon)
    if f.exclude_creator is not None:
        where.append("p.creator_id <> :exclude_creator")
        params["exclude_creator"] = f.exclude_creator
    if f.reach is not None:
        where += reach.postgis_where(f.reach, params)
    return where


# Nearest first by the GiST index. For geography `<->` is the sphere distance, ST_Distance(a, b, false),
# which OpenSearch's arc distance sort matches. See _page_edge for how the index serves it.
KNN = f"p.location <-> {CENTRE}"
_PROJECT_SORTS = {
    # (sort key expression, direction): ties always broken by id ascending.
    "distance": (f"({KNN}) / 1000.0", "ASC"),
    "newest": "(floor(extract(epoch FROM p.created_at) * 1000))::bigint",
    "relevance": (f"ts_rank({PROJECT_TEXT}, plainto_tsquery('simple', :q))", "DESC"),
}


def _sort_parts(sort: str, exprs: dict) -> tuple[str, str]:
    spec = exprs[sort]
    if isinstance(spec, str):
        spec = (spec, "DESC")
    return spec


def _page_edge(sort: str, cond: str) -> str | None:
    """A condition that keeps a page's candidates to the rows up to its last one, found by an index walk.

    The page is ordered by (sort key, id); the planner cannot walk an index in that order (a KNN scan or
    a created_at scan has no id tie-break), and asked for it directly it took every match and sorted it:
    its estimate for a 50 km radius is ~100 rows where there are 128k around Los Angeles at 1M projects
    (0.4-1 s), and a skill matches ~16k rows to sort by date (0.2 s). So an index walk in the indexable
    order (`ORDER BY location <-> centre` on the GiST index, `created_at DESC` on its b-tree) finds the
    n = offset + limit first matches and stops; the page is then sorted exactly among the matches up to
    that edge, ties with it included (plus 1 cm for the two sphere-distance computations; the whole
    millisecond of the edge's creation time, the unit both engines sort by): a few dozen rows.
    """
    if sort == "distance":
        return (f"ST_DWithin(p.location, {CENTRE}, (SELECT max(k.d) FROM (SELECT {KNN} AS d FROM projects p "
                f"WHERE {cond} ORDER BY {KNN} LIMIT :edge_n) AS k) + 0.01, false)")
    if sort == "newest":
        return ("p.created_at >= (SELECT date_trunc('milliseconds', min(k.c)) FROM (SELECT p.created_at AS c "
                f"FROM projects p WHERE {cond} ORDER BY p.created_at DESC LIMIT :edge_n) AS k)")
    return None


async def _bounded_count(session: AsyncSession, from_: str, cond: str, params: dict[str, Any]) -> tuple[int, str]:
    """(total, relation): exact up to SEARCH_TOTAL_EXACT_UP_TO, else (that bound, "gte"), like OpenSearch's
    track_total_hits; reads at most one row more than the bound."""
    bound = get_settings().search_total_exact_up_to
    n = (await session.execute(text(f"SELECT count(*) FROM (SELECT 1 FROM {from_} WHERE {cond} "
                                    f"LIMIT {bound + 1}) AS bounded"), params)).scalar()
    return _bounded(int(n or 0))


def _bounded(n: int) -> tuple[int, str]:
    bound = get_settings().search_total_exact_up_to
    return (bound, "gte") if n > bound else (n, "eq")


def _facet_sample() -> int:
    """How many matches the facet queries read at most: facets are exact up to SEARCH_FACETS_EXACT_UP_TO
    matches and counted within the first ones beyond (the total, from the same rows, is bounded as usual)."""
    settings = get_settings()
    return max(settings.search_total_exact_up_to, settings.search_facets_exact_up_to) + 1


def _keyset(expr: str, direction: str, table: str, after: tuple, params: dict[str, Any]) -> str:
    params["after_k"], params["after_id"] = after[0], after[1]
    cmp = ">" if direction == "ASC" else "<"
    return f"(({expr}) {cmp} :after_k OR (({expr}) = :after_k AND {table}.id > CAST(:after_id AS uuid)))"


def _hits(rows: list[Any], list_field: str, lists: dict[Any, list[dict[str, Any]]], sort: str) -> list[EngineHit]:
    """Page rows as hits: each gets its attached list (roles, skills), and its sort key becomes the
    keyset cursor (key, id): epoch milliseconds for "newest", a float (distance, rank) otherwise."""
    hits = []
    for r in rows:
        doc = dict(r)
        key = doc.pop("sort_key")
        doc[list_field] = lists.get(doc["id"], [])
        hits.append(EngineHit(doc=doc, sort=(int(key) if sort == "newest" else float(key), str(doc["id"]))))
    return hits


class PostgisEngine:
    name = NAME

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _rows(self, sql: str, params: dict[str, Any]) -> list[Any]:
        return list((await self.session.execute(text(sql), params)).mappings().all())

    # ------------------------------------------------------------------ projects

    async def _roles(self, project_ids: list) -> dict[Any, list[dict[str, Any]]]:
        if not project_ids:
            return {}
        rows = await self._rows(
            "SELECT r.id, r.project_id, r.skill_id, r.role_title, r.description, r.slots_available, r.slots_filled, "
            "r.payment_type, r.payment_amount, r.payment_details FROM project_roles r "
            "WHERE r.project_id = ANY(:ids) AND r.removed_at IS NULL ORDER BY r.created_at, r.id",
            {"ids": project_ids})
        roles: dict[Any, list[dict[str, Any]]] = {}
        for r in rows:
            role = dict(r)
            project_id = role.pop("project_id")
            role["is_filled"] = role["slots_filled"] >= role["slots_available"]
            role["payment_amount"] = float(role["payment_amount"]) if role["payment_amount"] is not None else None
            roles.setdefault(project_id, []).append(role)
        return roles

    async def search_projects(self, q: ProjectSearch) -> EnginePage:
        params: dict[str, Any] = {}
        where = _project_where(q.filters, params)
        expr, direction = _sort_parts(q.sort, _PROJECT_SORTS)
        page_where = list(where)
        if q.after is not None:
            page_where.append(_keyset(expr, direction, "p", q.after, params))
        edge = _page_edge(q.sort, " AND ".join(page_where))
        if edge is not None:
            page_where.append(edge)
            params["edge_n"] = q.offset + q.limit
        params.update(limit=q.limit, offset=q.offset)
        rows = await self._rows(
            "SELECT p.id, p.creator_id, p.name, p.description, p.project_type, p.status, p.is_fully_staffed, "
            "p.city, p.state, p.country, ST_Y(p.location::geometry) AS latitude, "
            "ST_X(p.location::geometry) AS longitude, p.created_at, "
            f"({expr}) AS sort_key FROM projects p WHERE {' AND '.join(page_where)} "
            f"ORDER BY sort_key {direction}, p.id ASC LIMIT :limit OFFSET :offset", params)
        hits = _hits(rows, "roles", await self._roles([r["id"] for r in rows]), q.sort)
        (total, relation), facets = await self._project_counts(where, params, q.facets)
        return EnginePage(hits=hits, total=total, total_relation=relation, facets=facets)

    async def _project_counts(self, where: list[str], params: dict[str, Any], with_facets: bool):
        cond = " AND ".join(where)
        if not with_facets:
            return await _bounded_count(self.session, "projects p", cond, params), None
        # One round trip: the filtered set is materialised once and every facet groups over it. The open_*
        # arrays hold each value once (the project service writes them as sets), so count(*) counts projects:
        # a hash aggregate instead of sorting every (project, skill) pair for count(DISTINCT), 140 ms -> ~30 ms
        # for a 50 km radius around Los Angeles at 1M projects. The set is capped (_facet_sample): counting all
        # ~96k matches of that radius read every one of their rows, 0.5 s p95; 10,001 rows is what a bounded
        # total reads anyway.
        sql = f"""
        WITH m AS MATERIALIZED (SELECT p.id, p.project_type, p.city, p.open_skill_ids, p.open_payment_types
                                FROM projects p WHERE {cond} LIMIT {_facet_sample()})
        SELECT 'total' AS facet, NULL AS key, count(*) AS n FROM m
        UNION ALL (SELECT 'skills', sk::text AS k, count(*) FROM m, unnest(m.open_skill_ids) AS sk
                   GROUP BY sk ORDER BY 3 DESC, sk LIMIT {FACET_SIZES['skills']})
        UNION ALL (SELECT 'project_types', m.project_type, count(*) FROM m GROUP BY m.project_type
                   ORDER BY 3 DESC, m.project_type COLLATE "C" LIMIT {FACET_SIZES['project_types']})
        UNION ALL (SELECT 'payment_types', pt::text, count(*) FROM m, unnest(m.open_payment_types) AS pt
                   GROUP BY pt ORDER BY 3 DESC, pt COLLATE "C" LIMIT {FACET_SIZES['payment_types']})
        UNION ALL (SELECT 'cities', m.city, count(*) FROM m WHERE m.city IS NOT NULL GROUP BY m.city
                   ORDER BY 3 DESC, m.city COLLATE "C" LIMIT {FACET_SIZES['cities']})
        """
        total, facets = self._split_facets(await self._rows(sql, params), int_keys={"skills"})
        return _bounded(total), facets

    @staticmethod
    def _split_facets(rows, int_keys=frozenset(), bool_keys=frozenset()):
        total = 0
        facets: dict[str, list[tuple[Any, int]]] = {}
        for r in rows:
            if r["facet"] == "total":
                total = int(r["n"])
                continue
            key: Any = r["key"]
            if r["facet"] in int_keys:
                key = int(key)
            elif r["facet"] in bool_keys:
                key = key == "true"
            facets.setdefault(r["facet"], []).append((key, int(r["n"])))
        return total, facets

    # ------------------------------------------------------------------ people

    @staticmethod
    def _user_where(f: UserFilters, params: dict[str, Any]) -> list[str]:
        where = ["usr.is_active"]
        if f.name or f.profession:
            params.update(fold_params())
        if f.name:
            where.append(f"to_tsvector('simple', {fold_sql('u.name')}) @@ plainto_tsquery('simple', :name)")
            params["name"] = " ".join(words(f.name))
        if f.profession:
            where.append(f"to_tsvector('simple', {fold_sql(_PERSON_PROFESSION)}) "
                         "@@ plainto_tsquery('simple', :profession)")
            params["profession"] = " ".join(words(f.profession))
        if f.city:
            where.append("lower(u.city) = lower(:city)")
            params["city"] = f.city
        if f.is_actor is not None:
            where.append("u.is_actor = :is_actor")
            params["is_actor"] = f.is_actor
        if f.skill_ids:
            op = "@>" if f.match == "all" else "&&"
            where.append(f"u.skill_ids {op} CAST(:skill_ids AS integer[])")
            params["skill_ids"] = list(f.skill_ids)
        if f.min_experience is not None:
            where.append("u.years_of_experience >= :min_exp")
            params["min_exp"] = f.min_experience
        if f.max_experience is not None:
            where.append("u.years_of_experience <= :max_exp")
            params["max_exp"] = f.max_experience
        if f.centre is not None:
            params["c_lat"], params["c_lon"] = f.centre.lat, f.centre.lon
            where.append("u.location IS NOT NULL")
            if f.radius_km is not None:
                params["radius_m"] = f.radius_km * 1000.0
                params["radius_slack_m"] = f.radius_km * 1000.0 + SNAP_SLACK_M
                where.append(f"ST_DWithin(u.location, {CENTRE}, :radius_slack_m, false)")
                where.append(f"ST_DWithin({SNAPPED}, {CENTRE}, :radius_m, false)")
        return where

    _USER_SORTS = {
        "distance": (f"ST_Distance({SNAPPED}, {CENTRE}, false) / 1000.0", "ASC"),
        "newest": "(floor(extract(epoch FROM u.created_at) * 1000))::bigint",
        "relevance": (f"ts_rank(to_tsvector('simple', {fold_sql(_PERSON_WORDS)}), "
                      "plainto_tsquery('simple', :rel_q))", "DESC"),
    }

    async def search_users(self, q: UserSearch) -> EnginePage:
        params: dict[str, Any] = {}
        where = self._user_where(q.filters, params)
        if q.sort == "relevance":
            params["rel_q"] = " ".join(words(" ".join(x for x in (q.filters.name, q.filters.profession) if x)))
        expr, direction = _sort_parts(q.sort, self._USER_SORTS)
        page_where = list(where)
        if q.after is not None:
            page_where.append(_keyset(expr, direction, "u", q.after, params))
        params.update(limit=q.limit, offset=q.offset)
        from_ = "user_profiles u JOIN users usr ON usr.id = u.user_id"
        rows = await self._rows(
            "SELECT u.id, u.user_id, u.name, u.profession, u.is_actor, u.city, u.state, u.country, "
            "u.years_of_experience, u.profile_photo_url, u.created_at, "
            # Never the point itself: only the snapped grid point is read.
            f"{GRID_LAT} AS grid_lat, {GRID_LON} AS grid_lon, "
            f"({expr}) AS sort_key FROM {from_} WHERE {' AND '.join(page_where)} "
            f"ORDER BY sort_key {direction}, u.id ASC LIMIT :limit OFFSET :offset", params)
        hits = _hits(rows, "skills", await self._skills_of([r["id"] for r in rows]), q.sort)
        cond = " AND ".join(where)
        if not q.facets:
            total, relation = await _bounded_count(self.session, from_, cond, params)
            return EnginePage(hits=hits, total=total, total_relation=relation)
        sql = f"""
        WITH m AS MATERIALIZED (SELECT u.id, u.city, u.profession, u.is_actor, u.skill_ids FROM {from_} WHERE {cond}
                                LIMIT {_facet_sample()})
        SELECT 'total' AS facet, NULL AS key, count(*) AS n FROM m
        UNION ALL (SELECT 'skills', sk::text AS k, count(DISTINCT m.id) FROM m, unnest(m.skill_ids) AS sk
                   GROUP BY sk ORDER BY 3 DESC, sk LIMIT {FACET_SIZES['skills']})
        UNION ALL (SELECT 'cities', m.city, count(*) FROM m WHERE m.city IS NOT NULL GROUP BY m.city
                   ORDER BY 3 DESC, m.city COLLATE "C" LIMIT {FACET_SIZES['cities']})
        UNION ALL (SELECT 'professions', m.profession, count(*) FROM m WHERE m.profession IS NOT NULL
                   GROUP BY m.profession ORDER BY 3 DESC, m.profession COLLATE "C" LIMIT {FACET_SIZES['cities']})
        UNION ALL (SELECT 'is_actor', m.is_actor::text, count(*) FROM m GROUP BY m.is_actor
                   ORDER BY 3 DESC, m.is_actor::text COLLATE "C")
        """
        total, facets = self._split_facets(await self._rows(sql, params), int_keys={"skills"}, bool_keys={"is_actor"})
        total, relation = _bounded(total)
        return EnginePage(hits=hits, total=total, total_relation=relation, facets=facets)

    async def _skills_of(self, profile_ids: list) -> dict[Any, list[dict[str, Any]]]:
        if not profile_ids:
            return {}
        rows = await self._rows(
            "SELECT ps.profile_id, s.id, s.name, s.category FROM profile_skills ps JOIN skills s ON s.id = ps.skill_id "
            "WHERE ps.profile_id = ANY(:ids) ORDER BY s.name, s.id", {"ids": profile_ids})
        out: dict[Any, list[dict[str, Any]]] = {}
        for r in rows:
            out.setdefault(r["profile_id"], []).append({"id": r["id"], "name": r["name"], "category": r["category"]})
        return out

    # ------------------------------------------------------------------ map clusters

    async def project_clusters(self, q: ClusterQuery) -> EnginePage:
        params: dict[str, Any] = {"tiles": float(2 ** q.precision), "zoom": str(q.precision)}
        where = _project_where(q.filters, params)
        # Web-Mercator tile of each point, computed like OpenSearch's GeoTileUtils (clipped to the grid).
        sql = f"""
        WITH m AS (SELECT p.id, ST_Y(p.location::geometry) AS lat, ST_X(p.location::geometry) AS lon
                   FROM projects p WHERE {' AND '.join(where)} AND p.location IS NOT NULL),
        s AS (SELECT m.*, sin(radians(GREATEST(-85.0511287798066, LEAST(85.0511287798066, m.lat)))) AS lat_sin
              FROM m),
        t AS (SELECT s.*,
                GREATEST(0, LEAST(:tiles - 1, floor((s.lon + 180.0) / 360.0 * :tiles)))::bigint AS x,
                GREATEST(0, LEAST(:tiles - 1, floor((0.5 - ln((1 + s.lat_sin) / (1 - s.lat_sin)) / (4 * pi()))
                                                    * :tiles)))::bigint AS y
              FROM s),
        c AS (SELECT :zoom || '/' || x || '/' || y AS key, count(*) AS n, avg(lat) AS c_lat,
                     avg(lon) AS c_lon, min(lat) AS min_lat, max(lat) AS max_lat, min(lon) AS min_lon,
                     max(lon) AS max_lon,
                     CASE WHEN count(*) <= {CLUSTER_IDS_MAX} THEN array_agg(id ORDER BY id) END AS ids
              FROM t GROUP BY x, y)
        SELECT * FROM c ORDER BY n DESC, key COLLATE "C"
        """
        rows = await self._rows(sql, params)
        hits = [EngineHit(doc={
            "key": r["key"], "count": int(r["n"]),
            "centroid": {"lat": float(r["c_lat"]), "lon": float(r["c_lon"])},
            "bounds": {"min_lat": float(r["min_lat"]), "min_lon": float(r["min_lon"]),
                       "max_lat": float(r["max_lat"]), "max_lon": float(r["max_lon"])},
            "project_ids": [str(i) for i in r["ids"]] if r["ids"] is not None else None}, sort=())
            for r in rows]
        return EnginePage(hits=hits, total=sum(h.doc["count"] for h in hits))

    # ------------------------------------------------------------------ suggestions

    async def suggest(self, q: str, size: int) -> dict[str, list[dict[str, Any]]]:
        """Every word of `q` must start a word of the name (the last one may be partial), as bool_prefix does."""
        tokens = words(q)
        if not tokens:
            return {"projects": [], "people": []}
        # Each token is \\w-only (see textmatch.words), so it carries no regex syntax.
        params: dict[str, Any] = {"size": size, **fold_params()}
        conds_p, conds_u = [], []
        for i, token in enumerate(tokens):
            last = i == len(tokens) - 1
            params[f"t{i}"] = "\\m" + token + ("" if last else "\\M")
            conds_p.append(f"{fold_sql('p.name')} ~ :t{i}")
            conds_u.append(f"{fold_sql('u.name')} ~ :t{i}")
        projects = await self._rows(
            "SELECT p.id, p.name, p.city FROM projects p WHERE p.status = 'active' AND NOT p.is_fully_staffed AND "
            f"{' AND '.join(conds_p)} ORDER BY p.name COLLATE \"C\", p.id LIMIT :size", params)
        people = await self._rows(
            "SELECT u.id, u.user_id, u.name, u.profession, u.profile_photo_url FROM user_profiles u "
            f"JOIN users usr ON usr.id = u.user_id WHERE usr.is_active AND {' AND '.join(conds_u)} "
            "ORDER BY u.name COLLATE \"C\", u.id LIMIT :size", params)
        return {"projects": [dict(r) for r in projects], "people": [dict(r) for r in people]}

    # ------------------------------------------------------------------ recommendations

    async def recommended(self, q: RecommendQuery, decay: dict[str, float]) -> EnginePage:
        filters = ProjectFilters(skill_ids=q.skill_ids, match="any", exclude_creator=q.user_id,
                                 centre=q.origin, radius_km=q.radius_km if q.origin else None)
        params: dict[str, Any] = {"mine": list(q.skill_ids), "limit": q.limit, "offset": q.offset}
        where = _project_where(filters, params)
        overlap = ("cardinality(ARRAY(SELECT DISTINCT s FROM unnest(p.open_skill_ids) AS s "
                   "WHERE s = ANY(CAST(:mine AS integer[]))))")
        if q.origin is not None:
            # OpenSearch's gauss decay: exp(-max(0, d - offset)^2 / (2 sigma^2)), sigma^2 = -scale^2 / (2 ln decay).
            params.update(scale_m=decay["scale_km"] * 1000, offset_m=decay["offset_km"] * 1000, decay=decay["decay"])
            gauss = (f"exp(-power(GREATEST(0, ST_Distance(p.location, {CENTRE}, false) - :offset_m), 2) "
                     "/ (2 * (-power(:scale_m, 2) / (2 * ln(:decay)))))")
            score = f"({overlap} * {gauss})"
        else:
            score = f"({overlap})::float8"
        cond = " AND ".join(where)
        rows = await self._rows(
            "SELECT p.id, p.creator_id, p.name, p.description, p.project_type, p.status, p.is_fully_staffed, "
            "p.city, p.state, p.country, ST_Y(p.location::geometry) AS latitude, "
            "ST_X(p.location::geometry) AS longitude, p.created_at, "
            f"{score} AS score FROM projects p WHERE {cond} ORDER BY score DESC, p.id ASC LIMIT :limit OFFSET :offset",
            params)
        total = (await self.session.execute(text(f"SELECT count(*) FROM projects p WHERE {cond}"), params)).scalar()
        roles = await self._roles([r["id"] for r in rows])
        hits = []
        for r in rows:
            doc = dict(r)
            score_value = float(doc.pop("score"))
            doc["roles"] = roles.get(doc["id"], [])
            hits.append(EngineHit(doc=doc, sort=(), score=score_value))
        return EnginePage(hits=hits, total=int(total or 0))


# The project filters as SQL, shared with the map tiles (api/tiles/service.py).
project_where = _project_where
