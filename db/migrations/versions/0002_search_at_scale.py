"""Search at scale: projects.search_text, a stored, GIN-indexed tsvector; an index on projects.created_at

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29

The PostGIS search engine matched text with to_tsvector(translate(lower(name || description))) computed
per row inside the other filters: ~75 µs a row, 70k rows for a 30 km radius around London at 1M
projects, twice per request (page and total): 10.5 s. PostgreSQL now keeps that vector itself (a
generated column: every insert or update of name/description recomputes it) and a GIN index serves
`search_text @@ plainto_tsquery(...)`. The b-tree on created_at lets "newest first" walk an index
(api/search/postgis_engine._page_edge) instead of sorting every match.

The folding table is written out here as it was on this date (api/search/textmatch.FOLD_FROM/FOLD_TO,
what OpenSearch's asciifolding does to Latin letters): a migration is history and must not change
when the code does. tests/api/search/test_text_vector.py fails if the code's table and this column
drift apart; a change to the table needs a new migration.
"""
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

FOLD_FROM = "àáâãäåçèéêëìíîïñòóôõöùúûüýÿāăąćĉċčďēĕėęěĝğġģĥĩīĭįĵķĺļľńņňōŏőŕŗřśŝşšţťũūŭůűųŵŷźżžſơưǎǐǒǔǖǘǚǜǟǡǧǩǫǭǰǵǹǻȁȃȅȇȉȋȍȏȑȓȕȗșțȟȧȩȫȭȯȱȳøđłıħŧ"
FOLD_TO = "aaaaaaceeeeiiiinooooouuuuyyaaaccccdeeeeegggghiiiijklllnnnooorrrssssttuuuuuuwyzzzsouaiouuuuuaagkoojgnaaaeeiioorruusthaeooooyodliht"
SEARCH_TEXT = ("to_tsvector('simple'::regconfig, translate(lower(coalesce(name, '') || ' ' || coalesce(description, '')), "
               f"'{FOLD_FROM}', '{FOLD_TO}'))")


def upgrade() -> None:
    op.execute(f"ALTER TABLE projects ADD COLUMN search_text tsvector GENERATED ALWAYS AS ({SEARCH_TEXT}) STORED")
    op.execute("CREATE INDEX ix_projects_search_text ON projects USING gin (search_text)")
    op.execute("CREATE INDEX ix_projects_created_at ON projects (created_at)")


def downgrade() -> None:
    op.execute("DROP INDEX ix_projects_created_at")
    op.execute("DROP INDEX ix_projects_search_text")
    op.execute("ALTER TABLE projects DROP COLUMN search_text")
