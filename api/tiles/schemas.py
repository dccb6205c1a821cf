"""Map tile requests and the TileJSON document."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from api.search.schemas import ProjectFilters

LAYER = "projects"
MVT_MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
# projects.map_key is a zoom-24 quadtree key (migration 0004); clusters are cells at zoom + CELL_ZOOMS_FINER
# (4 x 4 cells a tile, as /search/projects/clusters), so tiles stop at zoom 22.
KEY_ZOOM = 24
CELL_ZOOMS_FINER = 2
MAX_ZOOM = KEY_ZOOM - CELL_ZOOMS_FINER
# From this zoom on a tile carries the projects themselves, unless it holds more than MAX_POINTS (then
# clusters again: "wherever points are dense"). TileJSON's maxzoom: past it MapLibre over-zooms.
POINT_ZOOM = 14
MAX_POINTS = 2000
TILEJSON_MAXZOOM = 16
# Cluster positions: the count-weighted mean of sub-cells this many zooms finer than the cluster's cell
# (at most 16 x 16 per cell: a few thousand rows a tile), accurate to 1/32 of a cell (~4 px on a 512 px tile).
CENTROID_ZOOMS_FINER = 4
# The pre-aggregated default map (project_map_grid, migration 0004) holds zoom-12 cells: it serves tiles
# whose sub-cells are no finer than that (zoom <= 6).
GRID_ZOOM = 12
# Clients may keep a tile this long before asking again (with If-None-Match: 304 while unchanged).
CACHE_CONTROL = "public, max-age=30"


@dataclass(frozen=True)
class TileQuery:
    z: int
    x: int
    y: int
    filters: ProjectFilters


class VectorLayer(BaseModel):
    id: str
    description: str
    minzoom: int
    maxzoom: int
    fields: dict[str, str]


class TileJSON(BaseModel):
    """TileJSON 3.0.0 (https://github.com/mapbox/tilejson-spec/tree/master/3.0.0)."""

    tilejson: str = "3.0.0"
    name: str
    description: str
    scheme: str = "xyz"
    tiles: list[str] = Field(description="Tile URL template, absolute, carrying the request's filters")
    minzoom: int
    maxzoom: int
    bounds: list[float]
    center: list[float]
    vector_layers: list[VectorLayer]
    attribution: str | None = None

    model_config = {"json_schema_extra": {"example": {
        "tilejson": "3.0.0", "name": "Filmo projects", "scheme": "xyz",
        "tiles": ["http://127.0.0.1:8000/api/v1/tiles/projects/{z}/{x}/{y}.mvt?skill_id=12"]}}}


FIELDS: dict[str, Any] = {
    "cluster": "Boolean: true for a cluster, false for a project",
    "point_count": "Cluster: how many projects it holds",
    "point_count_abbreviated": "Cluster: the count for a label (1.2k, 35k)",
    "expansion_zoom": "Cluster: the zoom at which it splits",
    "cluster_id": "Cluster: its numeric id (the feature id)",
    "project_id": "Project: its id (UUID)",
    "name": "Project: its name",
    "type": "Project: its project type",
    "open_roles": "Project: how many roles have free slots",
    "skills": "Project: up to three skills of its open roles, comma-joined",
}
