"""The location-privacy rule: where anyone but its owner may see a person.

A person's exact point never leaves the server. Everywhere else (a public profile, the people
search document in OpenSearch, the PostGIS people search) the point is snapped to a grid of
GRID_DEG (0.01°, ~1.1 km of latitude): enough for "near me", too coarse to find a door, and
distances are measured from the snapped point only.

One rule, one arithmetic: round half up, floor(x * 100 + 0.5) / 100, in IEEE doubles. `snap` is
the Python form; `snap_sql` writes the same arithmetic for PostgreSQL (float8 throughout, so both
give bit-identical results; tests/ check profile, document and engine agree on edge values such
as 34.125 and -118.245, where Python's round() — banker's rounding — would differ).
"""
from __future__ import annotations

import math

GRID_DEG = 0.01
GRID_STEPS = 100  # grid cells per degree (1 / GRID_DEG)


def snap(degrees: float) -> float:
    """A latitude or longitude snapped to the privacy grid."""
    return math.floor(degrees * GRID_STEPS + 0.5) / GRID_STEPS


def snap_sql(degrees_sql: str) -> str:
    """The same rule as a PostgreSQL expression over `degrees_sql` (a float8 expression)."""
    return f"floor(({degrees_sql})::float8 * {GRID_STEPS}::float8 + 0.5::float8) / {GRID_STEPS}::float8"
