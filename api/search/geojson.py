"""GeoJSON as map libraries take it (RFC 7946): bboxes they send, numeric feature ids, rounded coordinates.

- Bounding boxes: MapLibre and Leaflet send the viewport as it is on screen: west > east when it crosses
  the antimeridian (`170,-10,-170,10`), longitudes past ±180 when the world is wrapped
  (`-250,-85,250,85`). RFC 7946 §5.2 says such a box crosses the antimeridian; it is normalised, never
  refused: longitudes are wrapped into -180..180, a span of 360° or more is the whole world, and
  min_lon > max_lon afterwards means "from min_lon east across 180 to max_lon" (both engines filter so).
- Feature ids are integers (MapLibre's feature-state needs them): a project's id is 2^52 + the first 52
  bits of SHA-256 of its UUID (stable, below 2^53 so JavaScript reads it exactly; the UUID travels as the
  `project_id` property); a cluster's is 2^(2p) + the Morton code of its cell x/y at zoom p (< 2^50, so
  never a project's), the same number in /search/projects/clusters and in vector tiles.
- Coordinates are rounded to 6 decimals (~11 cm): what a map needs, without float noise.
"""
from __future__ import annotations

import hashlib
import math
import uuid
from typing import Any, Iterable

from api.kernel.problems import field_error

COORD_DECIMALS = 6
GEOJSON_MEDIA_TYPE = "application/geo+json"
_PROJECT_ID_BASE = 1 << 52


def coord(value: float) -> float:
    """A coordinate rounded to 6 decimals (0.0 for -0.0)."""
    return round(value, COORD_DECIMALS) + 0.0


def project_feature_id(project_id: uuid.UUID | str) -> int:
    digest = hashlib.sha256(uuid.UUID(str(project_id)).bytes).digest()
    return _PROJECT_ID_BASE + (int.from_bytes(digest[:7], "big") >> 4)


def interleave(x: int, y: int) -> int:
    """Morton code: bits of x at even positions, bits of y at odd ones (projects.map_key, migration 0004)."""
    return _spread(x) | (_spread(y) << 1)


def deinterleave(key: int) -> tuple[int, int]:
    return _compact(key), _compact(key >> 1)


def _spread(v: int) -> int:
    v &= 0xFFFFFFFF
    v = (v | (v << 16)) & 0x0000FFFF0000FFFF
    v = (v | (v << 8)) & 0x00FF00FF00FF00FF
    v = (v | (v << 4)) & 0x0F0F0F0F0F0F0F0F
    v = (v | (v << 2)) & 0x3333333333333333
    return (v | (v << 1)) & 0x5555555555555555


def _compact(v: int) -> int:
    v &= 0x5555555555555555
    v = (v | (v >> 1)) & 0x3333333333333333
    v = (v | (v >> 2)) & 0x0F0F0F0F0F0F0F0F
    v = (v | (v >> 4)) & 0x00FF00FF00FF00FF
    v = (v | (v >> 8)) & 0x0000FFFF0000FFFF
    return (v | (v >> 16)) & 0x00000000FFFFFFFF


def cluster_feature_id(zoom: int, x: int, y: int) -> int:
    return (1 << (2 * zoom)) | interleave(x, y)


def cluster_key_id(key: str) -> int:
    """The numeric id of a geotile key "zoom/x/y"."""
    zoom, x, y = (int(part) for part in key.split("/"))
    return cluster_feature_id(zoom, x, y)


def abbreviated(count: int) -> str:
    """A count for a cluster label, as supercluster writes it: 950, 1.2k, 35k."""
    if count >= 10000:
        return f"{round(count / 1000)}k"
    if count >= 1000:
        return f"{math.floor(count / 100 + 0.5) / 10:g}k"
    return str(count)


def _wrap(lon: float) -> float:
    return lon if -180 <= lon <= 180 else ((lon + 180) % 360) - 180


def normalise_bbox(values: list[float]) -> tuple[float, float, float, float]:
    """min_lon,min_lat,max_lon,max_lat as a map sends it -> the RFC 7946 box (west may exceed east)."""
    min_lon, min_lat, max_lon, max_lat = values
    if not (-90 <= min_lat <= 90 and -90 <= max_lat <= 90):
        raise field_error("bbox", "latitudes must be within -90..90")
    if min_lat > max_lat:
        raise field_error("bbox", "inverted box: min_lat must be <= max_lat")
    if max_lon - min_lon >= 360:
        return -180.0, min_lat, 180.0, max_lat
    return _wrap(min_lon), min_lat, _wrap(max_lon), max_lat


def point_feature(feature_id: int, lon: float | None, lat: float | None, properties: dict[str, Any]
                  ) -> dict[str, Any]:
    geometry = None if lon is None or lat is None else {"type": "Point", "coordinates": [coord(lon), coord(lat)]}
    return {"type": "Feature", "id": feature_id, "geometry": geometry, "properties": properties}


def projects_collection(hits: Iterable[dict[str, Any]], **members: Any) -> dict[str, Any]:
    """Project hits as a FeatureCollection: a Point at [lon, lat] (null without a place), the hit's other
    fields as properties, `project_id` = its UUID."""
    features = []
    for hit in hits:
        props = {k: v for k, v in hit.items() if k not in ("latitude", "longitude")}
        props["project_id"] = props.pop("id")
        features.append(point_feature(project_feature_id(props["project_id"]), hit.get("longitude"),
                                      hit.get("latitude"), props))
    return {"type": "FeatureCollection", "features": features, **members}
