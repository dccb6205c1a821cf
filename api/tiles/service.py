"""Vector tiles of projects: pins from PostGIS (the source of truth) on the zoom-24 quadtree key, clusters
counted by OpenSearch's geotile aggregation when it can answer (as Elasticsearch's _mvt does), else by PostGIS.

Rules:
- The projects of tile z/x/y are one range of projects.map_key (migration 0004): a b-tree range scan at
  every zoom, under the same filters as /search/projects (api/search/postgis_engine.project_where).
- Below POINT_ZOOM, and wherever a tile holds more than MAX_POINTS projects, the tile carries clusters:
  the geotile cells at zoom z+2 (as /search/projects/clusters); a cell holding one project is that
  project's pin (its properties always read from PostGIS). A cluster's expansion_zoom is exact: the first
  zoom whose z+2 cells part its members (from PostGIS: their smallest and largest keys, Morton order; from
  OpenSearch: the corners of their bounds).
- Counting: the default map (no filter) at zoom <= 6 reads the pre-aggregated project_map_grid (zoom-12
  cells) instead of up to ~190k index entries (a zoom-2 tile at 1M: 86 ms index-only; the grid: a few ms),
  refreshed by the first such request that finds it older than MAP_GRID_MAX_AGE_S. Other cluster tiles:
  OpenSearch (breaker and fallback shared with search), else a GROUP BY over the key range in PostGIS.
- The ETag is a hash of the bytes, so it follows whatever the tile shows, whichever engine counted.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import replace
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from api.kernel.settings import get_settings
from api.search import service as search_service
from api.search.geojson import abbreviated, cluster_feature_id, deinterleave, interleave, project_feature_id
from api.search.opensearch_engine import EngineUnavailable, OpenSearchEngine
from api.search.postgis_engine import project_where
from api.search.schemas import BBox, ClusterQuery, ProjectFilters
from api.tiles.mvt import EXTENT, PointLayer
from api.tiles.schemas import (CELL_ZOOMS_FINER, CENTROID_ZOOMS_FINER, GRID_ZOOM, KEY_ZOOM, LAYER, MAX_POINTS,
                               POINT_ZOOM, TileQuery)
from indexer.client import opensearch_configured

_MERC_LAT = 85.0511287798066
# Tiles are computed from the bytes up; the ETag is a hash of them, prefixed with this format version.
TILE_FORMAT = "t1"


def key_range(z: int, x: int, y: int) -> tuple[int, int]:
    """[lo, hi) of map_key for tile z/x/y."""
    shift = 2 * (KEY_ZOOM - z)
    prefix = interleave(x, y)
    return prefix << shift, (prefix + 1) << shift


def _mercator(lon: float, lat: float) -> tuple[float, float]:
    """Web-Mercator position in [0, 1) x [0, 1), y down (as tiles count rows)."""
    s = math.sin(math.radians(max(-_MERC_LAT, min(_MERC_LAT, lat))))
    return (lon + 180.0) / 360.0, 0.5 - math.log((1 + s) / (1 - s)) / (4 * math.pi)


def _pixel(mx: float, my: float, q: TileQuery) -> tuple[int, int]:
    scale = 2 ** q.z
    px = int(math.floor((mx * scale - q.x) * EXTENT + 0.5))
    py = int(math.floor((my * scale - q.y) * EXTENT + 0.5))
    return min(max(px, 0), EXTENT - 1), min(max(py, 0), EXTENT - 1)


def _is_default(filters: ProjectFilters) -> bool:
    return filters == ProjectFilters()


_POINT_COLUMNS = """
    p.id, p.name, p.project_type, ST_X(p.location::geometry) AS lon, ST_Y(p.location::geometry) AS lat,
    (SELECT count(*) FROM project_roles r WHERE r.project_id = p.id AND r.removed_at IS NULL
       AND r.slots_filled < r.slots_available) AS open_roles,
    (SELECT string_agg(t.name, ',' ORDER BY t.free DESC, t.name) FROM (
        SELECT s.name, sum(r.slots_available - r.slots_filled) AS free FROM project_roles r
        JOIN skills s ON s.id = r.skill_id
        WHERE r.project_id = p.id AND r.removed_at IS NULL AND r.slots_filled < r.slots_available
        GROUP BY s.name ORDER BY free DESC, s.name LIMIT 3) AS t) AS skills
"""


def _point_props(row: Any) -> dict[str, Any]:
    return {"cluster": False, "project_id": str(row["id"]), "name": row["name"], "type": row["project_type"],
            "open_roles": int(row["open_roles"]), "skills": row["skills"] or ""}


async def _rows(session: AsyncSession, sql: str, params: dict[str, Any]) -> list[Any]:
    return list((await session.execute(text(sql), params)).mappings().all())


async def _points(session: AsyncSession, q: TileQuery, cond: str, params: dict[str, Any]) -> list[Any] | None:
    """The projects of the tile, or None when there are more than MAX_POINTS."""
    rows = await _rows(session, f"SELECT {_POINT_COLUMNS} FROM projects p WHERE {cond} "
                                f"ORDER BY p.map_key, p.id LIMIT {MAX_POINTS + 1}", params)
    return None if len(rows) > MAX_POINTS else rows


async def _refresh_grid_if_stale(session: AsyncSession) -> None:
    """One refresh at a time (advisory lock; the others read the grid as it is): ~0.2 s at 1M projects.
    It commits with the request's transaction (SessionDep), like every write."""
    max_age = get_settings().map_grid_max_age_s
    stale = (await session.execute(text(
        "SELECT refreshed_at < now() - make_interval(secs => :age) FROM map_grid_state WHERE id = 1"),
        {"age": max_age})).scalar()
    if not stale:
        return
    if not (await session.execute(text("SELECT pg_try_advisory_xact_lock(hashtext('project_map_grid'))"))).scalar():
        return
    await session.execute(text("REFRESH MATERIALIZED VIEW CONCURRENTLY project_map_grid"))
    await session.execute(text("UPDATE map_grid_state SET refreshed_at = now() WHERE id = 1"))


async def _fine_cells(session: AsyncSession, q: TileQuery, cond: str, params: dict[str, Any],
                      fine_zoom: int) -> list[Any]:
    """(fine cell, count, smallest key, largest key) of the tile's matches, fine_zoom being the zoom of the
    sub-cells cluster positions are weighted from."""
    if _is_default(q.filters) and fine_zoom <= GRID_ZOOM:
        await _refresh_grid_if_stale(session)
        params["grid_shift"] = 2 * (GRID_ZOOM - fine_zoom)
        params["grid_lo"], params["grid_hi"] = params["lo"] >> 2 * (KEY_ZOOM - GRID_ZOOM), \
            params["hi"] >> 2 * (KEY_ZOOM - GRID_ZOOM)
        return await _rows(session, "SELECT g.cell >> :grid_shift AS fine, sum(g.n) AS n, min(g.kmin) AS kmin, "
                                    "max(g.kmax) AS kmax FROM project_map_grid g "
                                    "WHERE g.cell >= :grid_lo AND g.cell < :grid_hi GROUP BY 1", params)
    params["fine_shift"] = 2 * (KEY_ZOOM - fine_zoom)
    return await _rows(session, f"SELECT p.map_key >> :fine_shift AS fine, count(*) AS n, min(p.map_key) AS kmin, "
                                f"max(p.map_key) AS kmax FROM projects p WHERE {cond} GROUP BY 1", params)


def _split_zoom(xa: int, xb: int, ya: int, yb: int) -> int:
    """The first zoom whose cells part zoom-24 columns xa, xb or rows ya, yb (25: never)."""
    return KEY_ZOOM - max((xa ^ xb).bit_length(), (ya ^ yb).bit_length()) + 1


def _expansion(split_cell_zoom: int, cell_zoom: int) -> int:
    """expansion_zoom from the first cell zoom that parts a cluster: that zoom's tiles show it parted, and
    from POINT_ZOOM on projects are shown anyway; always past the current zoom."""
    return max(cell_zoom - CELL_ZOOMS_FINER + 1, min(split_cell_zoom - CELL_ZOOMS_FINER, POINT_ZOOM))


def expansion_zoom(kmin: int, kmax: int, cell_zoom: int) -> int:
    """From the smallest and largest quadtree keys of a cluster (Morton order: every key between shares
    the top bits both share)."""
    if kmin == kmax:
        return POINT_ZOOM
    (xa, ya), (xb, yb) = deinterleave(kmin), deinterleave(kmax)
    return _expansion(_split_zoom(xa, xb, ya, yb), cell_zoom)


def _zoom24(lon: float, lat: float) -> tuple[int, int]:
    mx, my = _mercator(lon, lat)
    top = 2 ** KEY_ZOOM - 1
    return min(top, max(0, int(math.floor(mx * 2 ** KEY_ZOOM)))), min(top, max(0, int(math.floor(my * 2 ** KEY_ZOOM))))


def _tile_bbox(q: TileQuery) -> BBox:
    n = 2 ** q.z

    def lat(row: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return BBox(q.x / n * 360 - 180, lat(q.y + 1), (q.x + 1) / n * 360 - 180, lat(q.y))


async def _opensearch_cells(q: TileQuery, cell_zoom: int) -> list[dict[str, Any]] | None:
    """The tile's clusters from OpenSearch's geotile_grid (what Elasticsearch's _mvt aggregates), or None when
    it cannot answer (not configured, breaker open, failing): then PostGIS does, on the key index. Counting a
    skill's ~8k matches in a zoom-2 tile at 1M projects: ~16 ms here against ~90 ms index-only in PostGIS
    (bench/results/tiles.md)."""
    if not opensearch_configured() or not search_service.breaker().allow():
        return None
    query = ClusterQuery(filters=replace(q.filters, bbox=_tile_bbox(q)), precision=cell_zoom)
    try:
        page = await OpenSearchEngine().project_clusters(query)
    except EngineUnavailable as exc:
        if exc.trip:
            search_service.breaker().failure()
        return None
    search_service.breaker().success()
    inside = []
    for hit in page.hits:
        # The bbox is closed: points on the tile's east or south edge belong to the next tile's cells.
        _, cx, cy = (int(v) for v in hit.doc["key"].split("/"))
        if cx >> (cell_zoom - q.z) == q.x and cy >> (cell_zoom - q.z) == q.y:
            inside.append(hit.doc)
    return inside


async def _clusters(session: AsyncSession, q: TileQuery, cond: str, params: dict[str, Any], layer: PointLayer
                    ) -> str:
    """Cluster features (and the pins of single-project cells); returns the engine that counted them."""
    cell_zoom = min(q.z + CELL_ZOOMS_FINER, KEY_ZOOM)
    fine_zoom = min(cell_zoom + CENTROID_ZOOMS_FINER, KEY_ZOOM)
    # cell -> (count, mercator x, mercator y, expansion zoom, the project of a single-project cell)
    cells: dict[int, tuple[int, float, float, int, Any]] = {}
    grid = _is_default(q.filters) and fine_zoom <= GRID_ZOOM
    docs = None if grid else await _opensearch_cells(q, cell_zoom)
    if docs is not None:
        engine = "opensearch"
        for d in docs:
            _, cx, cy = (int(v) for v in d["key"].split("/"))
            b = d["bounds"]
            (xa, ya), (xb, yb) = _zoom24(b["min_lon"], b["max_lat"]), _zoom24(b["max_lon"], b["min_lat"])
            split = _split_zoom(xa, xb, ya, yb) if (xa, ya) != (xb, yb) else POINT_ZOOM + CELL_ZOOMS_FINER
            cells[interleave(cx, cy)] = (d["count"], *_mercator(d["centroid"]["lon"], d["centroid"]["lat"]),
                                         _expansion(split, cell_zoom),
                                         d["project_ids"][0] if d["count"] == 1 else None)
    else:
        engine = "postgis"
        sums: dict[int, list] = {}
        for r in await _fine_cells(session, q, cond, params, fine_zoom):
            fine, n = int(r["fine"]), int(r["n"])
            fx, fy = deinterleave(fine)
            c = sums.setdefault(fine >> 2 * (fine_zoom - cell_zoom), [0, 0.0, 0.0, int(r["kmin"]), int(r["kmax"])])
            c[0] += n
            c[1] += n * (fx + 0.5)
            c[2] += n * (fy + 0.5)
            c[3], c[4] = min(c[3], int(r["kmin"])), max(c[4], int(r["kmax"]))
        size = 2 ** fine_zoom
        for cell, (n, sx, sy, kmin, kmax) in sums.items():
            cells[cell] = (n, sx / n / size, sy / n / size, expansion_zoom(kmin, kmax, cell_zoom),
                           kmin if n == 1 else None)
    singles = [c[4] for c in cells.values() if c[0] == 1]
    if singles:
        # The pins' properties come from PostGIS, under the same filters (a project OpenSearch has not caught
        # up with yet, or one that no longer matches, is left out).
        params["singles"] = singles
        match = "p.id = ANY(CAST(:singles AS uuid[]))" if engine == "opensearch" else "p.map_key = ANY(:singles)"
        for row in await _rows(session, f"SELECT {_POINT_COLUMNS} FROM projects p WHERE {cond} AND {match}", params):
            layer.add(project_feature_id(row["id"]), *_pixel(*_mercator(row["lon"], row["lat"]), q), _point_props(row))
    for cell, (n, mx, my, expansion, _) in sorted(cells.items()):
        if n == 1:
            continue
        cx, cy = deinterleave(cell)
        feature_id = cluster_feature_id(cell_zoom, cx, cy)
        layer.add(feature_id, *_pixel(mx, my, q),
                  {"cluster": True, "cluster_id": feature_id, "point_count": n,
                   "point_count_abbreviated": abbreviated(n), "expansion_zoom": expansion})
    return engine


async def project_tile(session: AsyncSession, q: TileQuery) -> tuple[bytes, str]:
    """The tile's bytes (empty: no feature) and the engine that counted its clusters (postgis for pins)."""
    params: dict[str, Any] = {}
    where = project_where(q.filters, params)
    params["lo"], params["hi"] = key_range(q.z, q.x, q.y)
    where.append("p.map_key >= :lo AND p.map_key < :hi")
    cond = " AND ".join(where)
    layer = PointLayer(LAYER)
    points = await _points(session, q, cond, params) if q.z >= POINT_ZOOM else None
    engine = "postgis"
    if points is not None:
        for row in points:
            layer.add(project_feature_id(row["id"]), *_pixel(*_mercator(row["lon"], row["lat"]), q), _point_props(row))
    else:
        engine = await _clusters(session, q, cond, params, layer)
    return (layer.encode() if layer.features else b""), engine


def etag(body: bytes) -> str:
    return f'"{TILE_FORMAT}-{hashlib.sha256(body).hexdigest()[:32]}"'
