"""HEAD wherever GET exists, and conditional GETs (ETag, Cache-Control, 304) on the skill catalogue."""
from __future__ import annotations

import pytest

from tests.helpers.http import API
from tests.helpers.projects import create_project

pytestmark = pytest.mark.usefixtures("close_opensearch_client")

CATALOGUE = [f"{API}/skills/list", f"{API}/skills/list?category=Camera&limit=3", f"{API}/skills/categories",
             f"{API}/skills/5"]


async def test_head_answers_like_get_without_a_body(app, client, make_user):
    owner = await make_user(profile=True)
    project = await create_project(client, owner)
    documented = app.openapi()["paths"]
    paths = [path for path, ops in documented.items() if "get" in ops and "{" not in path] + [
        f"{API}/projects/{project['id']}", f"{API}/profile/{owner.id}", f"{API}/skills/5",
        f"{API}/management/project/{project['id']}/members", "/openapi.json", "/problems/not_found"]
    assert len(paths) > 15
    for path in paths:
        get = await client.get(path, headers=owner.headers)
        head = await client.head(path, headers=owner.headers)
        assert head.status_code == get.status_code, (path, head.status_code, get.status_code)
        assert head.content == b"", path
        assert head.headers.get("content-type") == get.headers.get("content-type"), path
        if "x-total-count" in get.headers:
            assert head.headers["x-total-count"] == get.headers["x-total-count"], path
    # Errors too: no token, a missing project.
    assert (await client.head(f"{API}/profile/me")).status_code == 401
    assert (await client.head(f"{API}/projects/00000000-0000-4000-8000-000000000000")).status_code == 404


@pytest.mark.parametrize("url", CATALOGUE)
async def test_catalogue_answers_304_to_its_own_etag(client, url):
    first = await client.get(url)
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert etag.startswith('"') and first.headers["cache-control"] == "public, max-age=300"
    again = await client.get(url)
    assert again.headers["etag"] == etag and again.content == first.content
    for sent in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        cached = await client.get(url, headers={"If-None-Match": sent})
        assert cached.status_code == 304 and cached.content == b"", sent
        assert cached.headers["etag"] == etag and cached.headers["cache-control"] == "public, max-age=300"
    stale = await client.get(url, headers={"If-None-Match": '"something-else"'})
    assert stale.status_code == 200 and stale.content == first.content


async def test_catalogue_etag_changes_when_the_catalogue_does(client, make_user):
    user = await make_user()
    before = await client.get(f"{API}/skills/list", params={"category": "Foley"})
    resp = await client.post(f"{API}/skills/create", json={"name": "Foley Walker", "category": "Foley"},
                             headers=user.headers)
    assert resp.status_code == 201, resp.text
    after = await client.get(f"{API}/skills/list", params={"category": "Foley"},
                             headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200 and after.headers["etag"] != before.headers["etag"]
    assert [s["name"] for s in after.json()] == ["Foley Walker"]
    categories = await client.get(f"{API}/skills/categories")
    assert "Foley" in categories.json()


async def test_405_allow_names_every_method_of_the_path(client):
    """One path, several routes (GET, PUT, DELETE /projects/{id}): `Allow` lists them all (Starlette named only
    the first route's; found by tests/api/test_schema_fuzz.py)."""
    resp = await client.request("PATCH", f"{API}/projects/00000000-0000-4000-8000-000000000000")
    assert resp.status_code == 405 and resp.headers["allow"] == "DELETE, GET, HEAD, PUT"
    resp = await client.request("OPTIONS", f"{API}/dm/block/00000000-0000-4000-8000-000000000000")
    assert resp.status_code == 405 and resp.headers["allow"] == "DELETE, POST"
