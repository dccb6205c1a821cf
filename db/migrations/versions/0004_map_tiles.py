"""Map tiles: projects.map_key, a Web-Mercator quadtree key (Morton order) with b-tree indexes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30

`map_key` interleaves the bits of a project's Web-Mercator tile column and row at zoom 24 (the same
formula as OpenSearch's GeoTileUtils: latitudes clipped to ±85.0511°, x and y clipped to the grid), so:
- the projects of map tile z/x/y are ONE key range, `map_key >= (x⋈y) << 2(24-z) AND < ((x⋈y)+1) << 2(24-z)`,
  a b-tree range scan at every zoom (api/tiles/service.py);
- the cell of a project at zoom p <= 24 is `map_key >> 2(24-p)` (clusters group by it), and a cluster
  splits at the first zoom where its smallest and largest keys differ in their top bits (expansion_zoom).
PostgreSQL keeps the column itself (a stored generated column, from an IMMUTABLE function written out
here as it is on this date: a migration is history). ix_projects_map_key_open is partial on the default
search filter (active, not fully staffed) and covers what a cluster needs and the skill, type and payment
filters, so clusters of the default statuses are index-only scans, filtered or not (a skill at zoom 2 at 1M:
~8k matches spread over ~18k heap pages, 275 ms through the heap, 100 ms index-only, on a loaded machine);
ix_projects_map_key serves every other filter.

project_map_grid pre-aggregates the default map (active, not fully staffed) into zoom-12 cells (count,
smallest and largest key): a zoom-2 tile holds ~190k such projects at 1M, 86 ms to count even
index-only, but a few thousand grid rows. It is a materialized view, refreshed (CONCURRENTLY, one
process at a time) by the first low-zoom tile request that finds it older than MAP_GRID_MAX_AGE_S;
map_grid_state holds when that was.
"""
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

# Bits of v (< 2^24) spread to the even positions: the classic "part 1 by 1" magic numbers.
SPREAD = """
CREATE FUNCTION filmo_spread_bits(v bigint) RETURNS bigint LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
  v := (v | (v << 16)) & x'0000FFFF0000FFFF'::bigint;
  v := (v | (v << 8)) & x'00FF00FF00FF00FF'::bigint;
  v := (v | (v << 4)) & x'0F0F0F0F0F0F0F0F'::bigint;
  v := (v | (v << 2)) & x'3333333333333333'::bigint;
  v := (v | (v << 1)) & x'5555555555555555'::bigint;
  RETURN v;
END $$
"""
MAP_KEY = """
CREATE FUNCTION filmo_map_key(lon float8, lat float8) RETURNS bigint LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
AS $$
DECLARE
  tiles CONSTANT float8 := 16777216.0;  -- 2^24
  s float8 := sin(radians(GREATEST(-85.0511287798066, LEAST(85.0511287798066, lat))));
  x bigint := GREATEST(0, LEAST(tiles - 1, floor((lon + 180.0) / 360.0 * tiles)))::bigint;
  y bigint := GREATEST(0, LEAST(tiles - 1, floor((0.5 - ln((1 + s) / (1 - s)) / (4 * pi())) * tiles)))::bigint;
BEGIN
  RETURN filmo_spread_bits(x) | (filmo_spread_bits(y) << 1);
END $$
"""

# Zoom-12 cells (map_key >> 24) of the default map.
GRID_SELECT = ("SELECT map_key >> 24 AS cell, count(*)::int AS n, min(map_key) AS kmin, max(map_key) AS kmax "
               "FROM projects WHERE status = 'active' AND NOT is_fully_staffed AND map_key IS NOT NULL GROUP BY 1")


def upgrade() -> None:
    op.execute(SPREAD)
    op.execute(MAP_KEY)
    op.execute("ALTER TABLE projects ADD COLUMN map_key bigint GENERATED ALWAYS AS "
               "(filmo_map_key(ST_X(location::geometry), ST_Y(location::geometry))) STORED")
    op.execute("CREATE INDEX ix_projects_map_key ON projects (map_key)")
    op.execute("CREATE INDEX ix_projects_map_key_open ON projects (map_key) "
               "INCLUDE (open_skill_ids, project_type, open_payment_types) "
               "WHERE status = 'active' AND NOT is_fully_staffed AND map_key IS NOT NULL")
    op.execute(f"CREATE MATERIALIZED VIEW project_map_grid AS {GRID_SELECT}")
    op.execute("CREATE UNIQUE INDEX ix_project_map_grid_cell ON project_map_grid (cell)")
    op.execute("CREATE TABLE map_grid_state (id int PRIMARY KEY CHECK (id = 1), refreshed_at timestamptz NOT NULL)")
    op.execute("INSERT INTO map_grid_state VALUES (1, now())")


def downgrade() -> None:
    op.execute("DROP TABLE map_grid_state")
    op.execute("DROP MATERIALIZED VIEW project_map_grid")
    op.execute("DROP INDEX ix_projects_map_key_open")
    op.execute("DROP INDEX ix_projects_map_key")
    op.execute("ALTER TABLE projects DROP COLUMN map_key")
    op.execute("DROP FUNCTION filmo_map_key(float8, float8)")
    op.execute("DROP FUNCTION filmo_spread_bits(bigint)")
