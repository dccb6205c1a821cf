"""HTTP endpoints for map tiles (rules live in service.py): Mapbox Vector Tiles of projects and their TileJSON.

Public, like project search: the same filters, the same projects. No people layer: see README.md.
"""
from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from api.http.deps import SessionDep
from api.http.openapi import HEADERS
from api.kernel.problems import field_error
from api.search.router import SearchableStatus, SkillIds, _project_filters
from api.search.schemas import Match, ProjectFilters
from api.tiles import service
from api.tiles.schemas import (CACHE_CONTROL, FIELDS, LAYER, MAX_ZOOM, MVT_MEDIA_TYPE, POINT_ZOOM,
                               TILEJSON_MAXZOOM, TileJSON, TileQuery, VectorLayer)
from db.models.enums import PaymentType, ProjectType

router = APIRouter(prefix="/tiles", tags=["tiles"])

# The query parameters a tile URL carries: the filters of /search/projects (no place, no paging).
FILTER_PARAMS = ("query", "city", "project_type", "skill_id", "skill_ids", "match", "payment_type", "status")
_TILE_HEADERS = {
    "ETag": {"description": "A hash of the tile's bytes: it changes exactly when what the tile shows changes.",
             "schema": {"type": "string"}},
    "Cache-Control": {"description": f"`{CACHE_CONTROL}`: revalidate with If-None-Match after that.",
                      "schema": {"type": "string"}},
    "X-Search-Engine": {**HEADERS["X-Search-Engine"],
                        "description": "Which engine counted the clusters: `opensearch` (geotile aggregation), or "
                                       "`postgis` (the quadtree key index; pins always come from PostGIS)."},
}


def tile_filters(
    query: Annotated[str | None, Query(max_length=200, description="Words that must all occur in name or "
                                                                   "description")] = None,
    city: Annotated[str | None, Query(max_length=120, description="Exact city, case-insensitive")] = None,
    project_type: Annotated[list[ProjectType] | None, Query(description="Repeatable")] = None,
    skill_id: Annotated[int | None, Query(ge=1, openapi_examples={"gaffer": {"summary": "A skill",
                                                                              "value": 12}})] = None,
    skill_ids: SkillIds = None,
    match: Annotated[Match, Query(description="Skills: any (default) or all must be open")] = "any",
    payment_type: Annotated[list[PaymentType] | None, Query(description="Open roles paying so; repeatable")] = None,
    status: Annotated[list[SearchableStatus] | None,
                      Query(description="Default: active and not fully staffed; repeatable")] = None,
) -> ProjectFilters:
    """The filters of /search/projects, parsed by the same code."""
    return _project_filters(query, city, project_type, skill_id, skill_ids, match, payment_type, status, None, None,
                            None, None)


Filters = Annotated[ProjectFilters, Depends(tile_filters)]


@router.get("/projects/{z}/{x}/{y}.mvt", name="projects", summary="Vector tile of projects (MVT)",
            response_class=Response,
            responses={200: {"content": {MVT_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
                             "description": f"A Mapbox Vector Tile with one layer, `{LAYER}`",
                             "headers": _TILE_HEADERS},
                       204: {"description": "No project in this tile (an empty tile)", "headers": _TILE_HEADERS},
                       304: {"description": "Unchanged since the ETag in If-None-Match", "headers": _TILE_HEADERS}})
async def project_tile(
    session: SessionDep, request: Request, filters: Filters,
    z: Annotated[int, Path(ge=0, le=MAX_ZOOM, description="Zoom", openapi_examples={"city": {"summary": "A city",
                                                                                             "value": 10}})],
    x: Annotated[int, Path(ge=0, description="Column, 0 .. 2^z - 1", openapi_examples={"la": {"summary": "LA",
                                                                                              "value": 175}})],
    y: Annotated[int, Path(ge=0, description="Row from the north, 0 .. 2^z - 1",
                           openapi_examples={"la": {"summary": "LA", "value": 408}})],
) -> Response:
    """Public. The projects of Web-Mercator tile z/x/y (XYZ scheme) under the filters of `/search/projects`,
    as a Mapbox Vector Tile with one layer, `projects`. Below zoom 14 (and in tiles holding more than
    2,000 projects) a tile carries clusters: `cluster=true`, `point_count`, `point_count_abbreviated`,
    `expansion_zoom` (the zoom at which it splits) and a numeric id; a project is a point with a numeric id
    and `project_id`, `name`, `type`, `open_roles`, `skills` (up to three, comma-joined), `cluster=false`.
    An empty tile is a 204. Cacheable: `ETag` (304 on If-None-Match) and `Cache-Control`."""
    if x >= 2 ** z:
        raise field_error("x", f"must be below 2^z ({2 ** z}) at zoom {z}")
    if y >= 2 ** z:
        raise field_error("y", f"must be below 2^z ({2 ** z}) at zoom {z}")
    body, engine = await service.project_tile(session, TileQuery(z=z, x=x, y=y, filters=filters))
    tag = service.etag(body)
    headers = {"ETag": tag, "Cache-Control": CACHE_CONTROL, "X-Search-Engine": engine}
    if tag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    if not body:
        return Response(status_code=204, headers=headers)
    return Response(body, media_type=MVT_MEDIA_TYPE, headers=headers)


@router.get("/projects.json", name="tilejson", response_model=TileJSON, summary="TileJSON of the project tiles")
async def project_tilejson(request: Request, filters: Filters) -> TileJSON:
    """Public. A TileJSON 3.0.0 document for MapLibre (`map.addSource(id, {type: "vector", url})`): the
    tile URL template is absolute and carries this request's filters, so one URL adds a filtered source."""
    carried = [(k, v) for k, v in request.query_params.multi_items() if k in FILTER_PARAMS]
    base = str(request.base_url).rstrip("/") + request.url.path.removesuffix("/projects.json")
    template = f"{base}/projects/{{z}}/{{x}}/{{y}}.mvt" + (f"?{urlencode(carried)}" if carried else "")
    return TileJSON(
        name="Filmo projects", description="Film projects looking for crew: clusters below zoom "
                                           f"{POINT_ZOOM}, projects from there on.",
        tiles=[template], minzoom=0, maxzoom=TILEJSON_MAXZOOM, bounds=[-180.0, -85.051129, 180.0, 85.051129],
        center=[0.0, 20.0, 2.0],
        vector_layers=[VectorLayer(id=LAYER, description="Projects and clusters of projects", minzoom=0,
                                   maxzoom=TILEJSON_MAXZOOM, fields=FIELDS)])
