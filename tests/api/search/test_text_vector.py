"""projects.search_text: the stored, GIN-indexed tsvector the PostGIS engine matches text against.

It must hold exactly what the engine used to compute per row, to_tsvector('simple', fold(name + description)),
with the same folding as api/search/textmatch (what OpenSearch's asciifolding does); the table is written
out in migration 0002 (db/migrations/versions/0002_search_at_scale.py), so a change to the code's table without a new migration fails here.
"""
from __future__ import annotations

from sqlalchemy import text

from api.search.textmatch import fold_params, fold_sql
from tests.helpers.http import API, SEARCH
from tests.helpers.projects import create_project

TEXTS = [
    ("Chloé's Ærø Night", "Łódź, São Paulo; ĦAL ŧest — Straße, façade, ÅNGSTRÖM, ıiİ"),
    ("plain name", None),
    ("Ünïcödé ÿ ǅ", "ﬁ ligature, ½, Ω and 東京 stay as they are"),
]


async def test_stored_vector_is_the_folded_text_of_name_and_description(client, make_user, db):
    owner = await make_user(profile=True)
    for name, description in TEXTS:
        project = await create_project(client, owner, name=name, description=description)
        # The code's folding table, applied by PostgreSQL to the same words (what the engine computed per row).
        row = (await db.execute(text(
            f"SELECT search_text::text = to_tsvector('simple', {fold_sql(':raw')})::text AS same, "
            "search_text::text AS stored FROM projects WHERE id = :id"),
            {"id": project["id"], "raw": f"{name} {description or ''}", **fold_params()})).one()
        assert row.same, (name, description, row.stored)


async def test_edits_refresh_the_vector_and_text_search_uses_it(client, make_user, monkeypatch):
    from api.kernel.settings import get_settings

    monkeypatch.setattr(get_settings(), "opensearch_url", "")  # the PostGIS engine answers
    owner = await make_user(profile=True)
    project = await create_project(client, owner, name="Chloé goes north")
    found = await client.get(f"{SEARCH}/projects", params={"query": "chloe"})
    assert found.headers["x-search-engine"] == "postgis"
    assert [p["id"] for p in found.json()] == [project["id"]]
    resp = await client.put(f"{API}/projects/{project['id']}", json={"name": "Renamed"}, headers=owner.headers)
    assert resp.status_code == 200, resp.text
    assert (await client.get(f"{SEARCH}/projects", params={"query": "chloe"})).json() == []
    assert [p["id"] for p in (await client.get(f"{SEARCH}/projects", params={"query": "renamed"})).json()] \
        == [project["id"]]
