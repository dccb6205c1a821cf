"""One way to page (issue 16, section 3): `Link: <...>; rel="next"` exactly when a next page exists, on every
kind of list (page/limit, search cursors, chat history); never a cursor or a link on the last page."""
from __future__ import annotations

import re

import pytest

from tests.helpers.http import API, DM, SEARCH
from tests.helpers.projects import add_member, apply, create_project
from tests.helpers.search import index_pending, reset_index, seed

LINK = re.compile(r'^<([^>]+)>; rel="next"$')


def next_target(resp) -> str | None:
    """The target of `Link: <...>; rel="next"`, or None; the link must be a relative reference to this API."""
    link = resp.headers.get("link")
    if link is None:
        return None
    match = LINK.match(link)
    assert match, link
    assert match.group(1).startswith(API + "/"), link
    return match.group(1)


async def walk(client, url: str, headers=None, items=lambda body: body, max_pages: int = 60) -> list[list]:
    """Follow `Link: rel="next"` from `url` to the end; every page followed must hold items."""
    pages = []
    while url:
        resp = await client.get(url, headers=headers)
        assert resp.status_code == 200, resp.text
        page = items(resp.json())
        assert page, f"a next link led to an empty page: {url}"
        pages.append(page)
        url = next_target(resp)
        assert len(pages) < max_pages
    return pages


def ids(pages: list[list], key: str = "id") -> list:
    found = [item[key] for page in pages for item in page]
    assert len(found) == len(set(found)), "an item came twice"
    return found


async def test_skill_catalogue_pages_to_its_end(client):
    first = await client.get(f"{API}/skills/list", params={"limit": 40})
    total = int(first.headers["x-total-count"])
    assert total > 80 and next_target(first) == f"{API}/skills/list?page=2&limit=40"
    pages = await walk(client, f"{API}/skills/list?limit=40")
    assert [len(p) for p in pages] == [40, 40, total - 80]
    assert len(ids(pages)) == total
    # Other parameters travel with the link.
    resp = await client.get(f"{API}/skills/list", params={"category": "Camera", "limit": 2})
    assert next_target(resp) == f"{API}/skills/list?category=Camera&page=2&limit=2"
    # A page that ends exactly at the total has no next link.
    last = await client.get(f"{API}/skills/list", params={"page": 2, "limit": total // 2 + total % 2})
    assert "link" not in last.headers


async def test_every_page_limit_list_links_its_next_page(client, make_user):
    owner = await make_user(profile=True)
    projects = [await create_project(client, owner, name=f"Project {i}") for i in range(3)]
    # Project 0: two members (two applications accepted); one applicant with three pending applications.
    for _ in range(2):
        await add_member(client, make_user, owner, projects[0], role_index=1)
    applicant = await make_user(profile=True)
    for project, role in ((projects[1], 0), (projects[1], 1), (projects[2], 0)):
        await apply(client, applicant, project["roles"][role]["id"])
    lists = [(f"{API}/projects/my/projects", owner, 3), (f"{API}/projects/my/memberships", owner, 3),
             (f"{API}/management/project/{projects[0]['id']}/members", owner, 3),
             (f"{API}/applications/project/{projects[0]['id']}", owner, 2),
             (f"{API}/applications/my-applications", applicant, 3)]
    for url, user, total in lists:
        first = await client.get(url, params={"limit": 2}, headers=user.headers)
        assert first.status_code == 200 and first.headers["x-total-count"] == str(total), (url, first.text)
        pages = await walk(client, f"{url}?limit=2", headers=user.headers)
        key = "user_id" if url.endswith("/members") else "id"
        assert len(ids(pages, key)) == total, url
        assert [len(p) for p in pages] == [2] * (total // 2) + ([total % 2] if total % 2 else []), url
        # One page holding everything: no link.
        whole = await client.get(url, params={"limit": total}, headers=user.headers)
        assert "link" not in whole.headers, url


@pytest.mark.usefixtures("close_opensearch_client")
@pytest.mark.parametrize("engine", ["opensearch", "postgis"])
async def test_search_cursor_pages_end_without_a_cursor(client, settings_env, engine):
    """Each page holding exactly `limit` hits (limit=1): the old code handed out a cursor on the last page,
    and following it gave []. Now the last page has neither `X-Next-Cursor` nor `Link`."""
    if engine == "postgis":
        settings_env(OPENSEARCH_URL="", SEARCH_USERS_PER_MINUTE="10000")
    else:
        settings_env(SEARCH_USERS_PER_MINUTE="10000")
        await reset_index()
    from api.search import service

    service._breaker = None
    await seed(n_projects=8, n_profiles=6)
    if engine == "opensearch":
        await index_pending()
    for kind in ("projects", "users"):
        first = await client.get(f"{SEARCH}/{kind}", params={"limit": 1})
        assert first.status_code == 200 and first.headers["x-search-engine"] == engine
        total = int(first.headers["x-total-count"])
        assert total >= 3, kind
        pages = await walk(client, f"{SEARCH}/{kind}?limit=1")
        assert len(ids(pages)) == total, kind
        last = await client.get(f"{SEARCH}/{kind}", params={"limit": 1, "page": total})
        assert "x-next-cursor" not in last.headers and "link" not in last.headers
        # The envelope agrees: next_cursor is null on the last cursor page.
        body = {"next_cursor": (await client.get(f"{SEARCH}/{kind}", params={"limit": total - 1, "envelope": True})
                                ).json()["next_cursor"]}
        end = (await client.get(f"{SEARCH}/{kind}", params={"limit": total - 1, "envelope": True,
                                                             "cursor": body["next_cursor"]})).json()
        assert len(end["results"]) == 1 and end["next_cursor"] is None, kind


async def test_direct_message_history_links_older_pages(client, make_user):
    alice, bob = await make_user(profile=True), await make_user(profile=True)
    for i in range(5):
        resp = await client.post(f"{DM}/send", json={"recipient_id": str(bob.id), "content": f"hello {i}"},
                                 headers=alice.headers)
        assert resp.status_code == 201, resp.text
    first = await client.get(f"{DM}/messages/{alice.id}", params={"limit": 2}, headers=bob.headers)
    body = first.json()
    assert next_target(first) == f"{DM}/messages/{alice.id}?before_id={body['next_before_id']}&limit=2"
    pages = await walk(client, f"{DM}/messages/{alice.id}?limit=2", headers=bob.headers,
                       items=lambda b: b["messages"])
    assert [m["content"] for page in pages for m in page] == [f"hello {i}" for i in reversed(range(5))]
    exact = await client.get(f"{DM}/messages/{alice.id}", params={"limit": 5}, headers=bob.headers)
    assert "link" not in exact.headers and exact.json()["next_before_id"] is None
