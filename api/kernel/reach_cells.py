"""Reach cells: an index key for "whose own travel radius reaches this point, with this skill".

"Who can work my shoot" asks for people whose home (the ~1 km grid point) is within *their own* travel
radius of the shoot. A per-person radius cannot use a spatial index around the shoot, so both engines first
read every person with the skill (~30,000 of 1M for a common one) and then measure each one: 80-1,600 ms at
1M profiles (bench/results/alerts.md). Instead each person carries keys for the grid cells their reach disc
may touch, one per skill: `skill * 2^31 + level * 2^28 + cell`. A level is a grid of 0.5°, 2°, 9° or 36°
cells; a person uses the finest level at which the bounding box of their disc spans at most MAX_CELLS cells,
or level 4 ("anywhere": a disc around a pole, across half the globe). A shoot asks for its own cell at every
level plus "anywhere" (`shoot_keys`, five keys): a person whose disc holds the shoot point has the shoot's
cell at their level among their keys, so the keys never miss anyone; the exact distance check stays (the
keys only narrow the candidates to people whose disc box touches the shoot's cell).

The disc's box is `degree_box` (sphere, plus a margin of ~0.6 km + 0.1 %), as for saved searches' areas. The
same arithmetic is written for PostgreSQL in migration 0005 (`filmo_reach_keys`, a GIN expression index),
and here for the OpenSearch document (`reach_keys`) and for the query keys of both engines. Changing the
levels, MAX_CELLS or LOCAL_KM needs a new migration and `filmo reindex profiles`.
"""
from __future__ import annotations

import math

LOCAL_KM = 30  # a radius below this (0 = "local only") reaches this far: api/search/reach.py
LEVEL_DEG = (0.5, 2.0, 9.0, 36.0)  # each divides 180 and 360: whole rows and columns (the wrap at ±180° is exact)
ANYWHERE = len(LEVEL_DEG)
MAX_CELLS = 16
EARTH_KM = 6371.0087714
SKILL_FACTOR = 2 ** 31
LEVEL_FACTOR = 2 ** 28


def degree_box(lat: float, lon: float, km: float) -> tuple[float, float] | None:
    """(dlat, dlon) in degrees of a box that surely holds every point within `km` (sphere) of the centre, with a
    margin of ~0.6 km + 0.1 % so rounding never drops a point on the circle; None when it would cover a pole.
    Also the saved searches' area (indexer/percolator.area_of_circle)."""
    d = km / EARTH_KM
    margin = 1e-4 + d * 1e-3
    dlat = math.degrees(d + margin)
    if abs(lat) + dlat >= 90:
        return None
    s = math.sin(d) / math.cos(math.radians(lat))
    if s >= 1:
        return None
    return dlat, math.degrees(math.asin(s) + margin / math.cos(math.radians(lat)))


def cells(lat: float, lon: float, travel_km: int) -> list[int]:
    """The level-tagged cells (without skill) the person's reach may touch."""
    box = degree_box(lat, lon, max(travel_km, LOCAL_KM))
    if box is not None:
        dlat, dlon = box
        for level, size in enumerate(LEVEL_DEG):
            r0, r1 = math.floor((lat - dlat + 90) / size), math.floor((lat + dlat + 90) / size)
            c0, c1 = math.floor((lon - dlon + 180) / size), math.floor((lon + dlon + 180) / size)
            if (r1 - r0 + 1) * (c1 - c0 + 1) <= MAX_CELLS:
                ncols = round(360 / size)
                return [level * LEVEL_FACTOR + r * ncols + c % ncols for r in range(r0, r1 + 1)
                        for c in range(c0, c1 + 1)]
    return [ANYWHERE * LEVEL_FACTOR]


def person_keys(skill_ids: list[int], lat: float | None, lon: float | None, travel_km: int) -> list[int]:
    if lat is None or lon is None or not skill_ids:
        return []
    own = cells(lat, lon, travel_km)
    return sorted({s * SKILL_FACTOR + c for s in set(skill_ids) for c in own})


def shoot_keys(skill_id: int, lat: float, lon: float) -> list[int]:
    """The shoot's cell at every level, and "anywhere", for this skill."""
    keys = []
    for level, size in enumerate(LEVEL_DEG):
        nrows, ncols = round(180 / size), round(360 / size)
        row = min(math.floor((lat + 90) / size), nrows - 1)
        keys.append(skill_id * SKILL_FACTOR + level * LEVEL_FACTOR + row * ncols + math.floor((lon + 180) / size) % ncols)
    return keys + [skill_id * SKILL_FACTOR + ANYWHERE * LEVEL_FACTOR]
