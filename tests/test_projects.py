"""Projects over HTTP: create, read, edit (roles by id), archive, admin hand-over, my lists."""
from __future__ import annotations

from tests.test_projects_support import API, assert_problem, create_project, get_project, project_body


async def test_create_and_read_project(client, make_user):
    owner = await make_user(profile=True)
    project = await create_project(client, owner)
    assert project["creator_id"] == str(owner.id)
    assert project["status"] == "active" and project["is_fully_staffed"] is False
    assert project["latitude"] == 34.0522 and project["longitude"] == -118.2437
    assert [r["role_title"] for r in project["roles"]] == ["Director of Photography", "Gaffer"]
    dp = project["roles"][0]
    assert dp["payment_amount"] == 500.0 and isinstance(dp["payment_amount"], float)
    assert dp["slots_filled"] == 0 and dp["is_filled"] is False
    assert sorted(project["open_skill_ids"]) == [5, 6]
    again = await get_project(client, project["id"])
    assert again == project
