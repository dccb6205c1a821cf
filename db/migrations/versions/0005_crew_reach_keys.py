"""Crew reach keys: a GIN expression index for "who can work my shoot" (skill + whose own reach holds a point)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30

`filmo_reach_keys(skill_ids, location_grid, willing_to_travel_km)` lists, per skill, the grid cells a person's
reach disc (radius greatest(travel, 30) km around the ~1 km grid point) may touch, at the finest of four levels
(0.5°, 2°, 9°, 36° cells) where the disc's box spans at most 16 cells, else "anywhere" (level 4). A shoot
asks for its own cell at every level plus "anywhere" (api/kernel/reach_cells.shoot_keys, which describes the
keys and writes the same arithmetic in Python for the OpenSearch document): `&&` on this index returns the
people with the skill whose disc box touches the shoot's cell, a few thousand at 1M instead of every person
with the skill (~30,000 for a common one), and the exact distance check runs on those only. Written out here
as it is on this date (a migration is history).
"""
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

REACH_KEYS = """
CREATE FUNCTION filmo_reach_keys(skills integer[], grid geography, travel_km integer) RETURNS bigint[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  sizes CONSTANT float8[] := ARRAY[0.5, 2, 9, 36];  -- each divides 180 and 360
  lat float8; lon float8; d float8; margin float8; dlat float8; s float8; dlon float8; size float8;
  lvl integer := 4; r0 integer; r1 integer; c0 integer; c1 integer; ncols integer;
  cells bigint[] := '{}'; keys bigint[] := '{}'; sk integer; c bigint;
BEGIN
  IF grid IS NULL OR skills IS NULL OR cardinality(skills) = 0 THEN
    RETURN keys;
  END IF;
  lat := ST_Y(grid::geometry);
  lon := ST_X(grid::geometry);
  d := greatest(coalesce(travel_km, 0), 30)::float8 / 6371.0087714::float8;
  margin := 1e-4::float8 + d * 1e-3::float8;
  dlat := degrees(d + margin);
  IF abs(lat) + dlat < 90 THEN
    s := sin(d) / cos(radians(lat));
    IF s < 1 THEN
      dlon := degrees(asin(s) + margin / cos(radians(lat)));
      FOR i IN 1..4 LOOP
        size := sizes[i];
        r0 := floor((lat - dlat + 90) / size)::integer;
        r1 := floor((lat + dlat + 90) / size)::integer;
        c0 := floor((lon - dlon + 180) / size)::integer;
        c1 := floor((lon + dlon + 180) / size)::integer;
        IF (r1 - r0 + 1) * (c1 - c0 + 1) <= 16 THEN
          lvl := i - 1;
          EXIT;
        END IF;
      END LOOP;
    END IF;
  END IF;
  IF lvl = 4 THEN
    cells := ARRAY[4::bigint * 268435456];
  ELSE
    ncols := round(360 / size)::integer;
    FOR r IN r0..r1 LOOP
      FOR cc IN c0..c1 LOOP
        cells := cells || (lvl::bigint * 268435456 + r::bigint * ncols + ((cc % ncols) + ncols) % ncols);
      END LOOP;
    END LOOP;
  END IF;
  FOREACH sk IN ARRAY coalesce((SELECT array_agg(DISTINCT x) FROM unnest(skills) x WHERE x IS NOT NULL), '{}') LOOP
    FOREACH c IN ARRAY cells LOOP
      keys := keys || (sk::bigint * 2147483648 + c);
    END LOOP;
  END LOOP;
  RETURN keys;
END $$
"""


def upgrade() -> None:
    op.execute(REACH_KEYS)
    op.execute("CREATE INDEX ix_user_profiles_reach_keys ON user_profiles "
               "USING gin (filmo_reach_keys(skill_ids, location_grid, willing_to_travel_km))")
    # Deactivated accounts (a few %): "is this candidate's account inactive?" probes this small index instead
    # of the whole users table (the crew search checks a few thousand candidates).
    op.execute("CREATE INDEX ix_users_inactive ON users (id) WHERE NOT is_active")


def downgrade() -> None:
    op.execute("DROP INDEX ix_users_inactive")
    op.execute("DROP INDEX ix_user_profiles_reach_keys")
    op.execute("DROP FUNCTION filmo_reach_keys(integer[], geography, integer)")
