"""Nightly cleanup: stale projects become dead, expired auth rows go. Run through `filmo cleanup` (a real
subprocess), through the Dramatiq actors on a real worker, and scheduled by the scheduler at 02:00 UTC."""
from __future__ import annotations

import asyncio
import os
import sys
import uuid
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select, update

from tests.helpers.http import API
from tests.helpers.projects import create_project, get_project
from tests.helpers.run import REPO
from tests.helpers.waiting import eventually

NOW = datetime.now(timezone.utc)


async def _cli(*args: str) -> str:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "api.cli", "cleanup", *args, cwd=REPO,
                                                env=dict(os.environ), stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode == 0, err.decode()
    return out.decode()


async def _stale_world(client, make_user, db) -> dict[str, str]:
    """Projects with crafted activity times; returns name -> id."""
    from db.models import Message, Project

    owner = await make_user(profile=True)
    ages = {"idle 31 days": 31, "idle 29 days": 29, "idle 40 days, chat 2 days ago": 40,
            "shelved 60 days": 60, "idle 45 days, chat 35 days ago": 45}
    ids = {}
    for name, days in ages.items():
        project = await create_project(client, owner, name=name)
        ids[name] = project["id"]
        values = {"last_activity_at": NOW - timedelta(days=days)}
        if name.startswith("shelved"):
            values["status"] = "shelved"
        await db.execute(update(Project).where(Project.id == uuid.UUID(project["id"])).values(**values))
    for name, days in (("idle 40 days, chat 2 days ago", 2), ("idle 45 days, chat 35 days ago", 35)):
        db.add(Message(project_id=uuid.UUID(ids[name]), sender_id=owner.id, content="still here?",
                       sent_at=NOW - timedelta(days=days)))
    await db.commit()
    return ids


EXPECTED_STATUS = {"idle 31 days": "dead", "idle 29 days": "active", "idle 40 days, chat 2 days ago": "active",
                   "shelved 60 days": "shelved", "idle 45 days, chat 35 days ago": "dead"}


async def _search_state(db, project_id: str) -> tuple[int, int]:
    from db.models import Project, SearchOutbox

    db.expire_all()
    version = await db.scalar(select(Project.search_version).where(Project.id == uuid.UUID(project_id)))
    rows = await db.scalar(select(func.count()).select_from(SearchOutbox).where(
        SearchOutbox.entity_id == uuid.UUID(project_id)))
    return version, rows


async def test_cli_marks_stale_projects_dead_through_the_service(client, make_user, db):
    ids = await _stale_world(client, make_user, db)
    before = {name: await _search_state(db, pid) for name, pid in ids.items()}

    out = await _cli("--only", "projects")
    assert "stale projects marked dead: 2" in out
    for name, pid in ids.items():
        project = await get_project(client, pid)
        assert project["status"] == EXPECTED_STATUS[name], name
        version, rows = await _search_state(db, pid)
        if EXPECTED_STATUS[name] == "dead":  # the search index hears about it in the same transaction
            assert (version, rows) == (before[name][0] + 1, before[name][1] + 1), name
        else:
            assert (version, rows) == before[name], name
        # The job does not invent activity.
        assert datetime.fromisoformat(project["last_activity_at"]) < NOW - timedelta(days=28)

    assert "stale projects marked dead: 0" in await _cli("--only", "projects")


async def test_dead_projects_refuse_applications_until_revived(client, make_user, db):
    ids = await _stale_world(client, make_user, db)
    await _cli("--only", "projects")
    project = await get_project(client, ids["idle 31 days"])
    person = await make_user(profile=True)
    resp = await client.post(f"{API}/applications/apply", json={"role_id": project["roles"][0]["id"]},
                             headers=person.headers)
    assert resp.status_code == 409 and "dead" in resp.json()["detail"]


async def _auth_world(db, make_user) -> dict[str, object]:
    from db.models import OtpCode, RefreshToken

    user = await make_user()
    otps = {
        "fresh": OtpCode(email="a@example.com", purpose="signup", code_hash="h", expires_at=NOW + timedelta(minutes=5)),
        "expired": OtpCode(email="b@example.com", purpose="signup", code_hash="h",
                           expires_at=NOW - timedelta(minutes=1), created_at=NOW - timedelta(minutes=6)),
        "older than a day": OtpCode(email="c@example.com", purpose="reset", code_hash="h",
                                    expires_at=NOW + timedelta(minutes=5), created_at=NOW - timedelta(days=2)),
    }

    def token(**kw) -> RefreshToken:
        return RefreshToken(user_id=user.id, family_id=uuid.uuid4(), token_hash=uuid.uuid4().hex, **kw)

    tokens = {
        "live": token(expires_at=NOW + timedelta(days=10)),
        "expired an hour ago": token(expires_at=NOW - timedelta(hours=1)),
        "expired 2 days ago": token(expires_at=NOW - timedelta(days=2)),
        "revoked yesterday": token(expires_at=NOW + timedelta(days=10), revoked_at=NOW - timedelta(days=1)),
        "revoked 31 days ago": token(expires_at=NOW + timedelta(days=1), revoked_at=NOW - timedelta(days=31)),
    }
    db.add_all([*otps.values(), *tokens.values()])
    await db.commit()
    ids = {k: v.id for k, v in tokens.items()}
    # make_user signed the user in: that session's token is live too.
    ids["sign-in"] = await db.scalar(select(RefreshToken.id).where(RefreshToken.family_id == user.session_id))
    return {"otp": {k: v.id for k, v in otps.items()}, "token": ids, "user": user.id}


async def _remaining(db, user_id) -> tuple[set, set]:
    """Every one-time code left, and the refresh tokens left of `user_id` (other users made by a test are signed in)."""
    from db.models import OtpCode, RefreshToken

    db.expire_all()
    return (set((await db.scalars(select(OtpCode.id))).all()),
            set((await db.scalars(select(RefreshToken.id).where(RefreshToken.user_id == user_id))).all()))


async def _assert_auth_cleaned(db, world) -> None:
    otps, tokens = await _remaining(db, world["user"])
    assert otps == {world["otp"]["fresh"]}
    assert tokens == {world["token"][k] for k in ("live", "sign-in", "expired an hour ago", "revoked yesterday")}


async def test_cli_deletes_expired_auth_rows(db, make_user):
    world = await _auth_world(db, make_user)
    out = await _cli("--only", "auth")
    assert "one-time codes deleted: 2" in out and "refresh tokens deleted: 2" in out
    await _assert_auth_cleaned(db, world)


async def test_cli_runs_both_jobs_by_default(client, make_user, db):
    ids = await _stale_world(client, make_user, db)
    world = await _auth_world(db, make_user)
    out = await _cli()
    assert "stale projects marked dead: 2" in out and "one-time codes deleted: 2" in out
    await _assert_auth_cleaned(db, world)
    assert (await get_project(client, ids["idle 31 days"]))["status"] == "dead"


async def test_actors_run_on_a_real_worker(client, make_user, db, start_worker):
    import api.maintenance.tasks  # noqa: F401  (registers the actors with the broker)
    from api.worker.broker import broker

    ids = await _stale_world(client, make_user, db)
    world = await _auth_world(db, make_user)
    start_worker()
    broker.get_actor("cleanup_stale_projects").send()
    broker.get_actor("cleanup_expired_auth_rows").send()

    async def dead() -> bool:
        return (await get_project(client, ids["idle 31 days"]))["status"] == "dead"

    await eventually(dead, timeout=60, interval=0.5)

    async def auth_cleaned() -> bool:
        otps, _ = await _remaining(db, world["user"])
        return otps == {world["otp"]["fresh"]}

    await eventually(auth_cleaned, timeout=60, interval=0.5)
    await _assert_auth_cleaned(db, world)
    for name, pid in ids.items():
        assert (await get_project(client, pid))["status"] == EXPECTED_STATUS[name], name


def test_scheduler_enqueues_both_jobs_at_two_utc():
    import api.maintenance.tasks  # noqa: F401
    from api.worker.broker import broker
    from api.worker.scheduler import periodic_jobs

    jobs = dict(periodic_jobs())
    for name in ("cleanup_stale_projects", "cleanup_expired_auth_rows"):
        trigger = jobs[name]
        assert broker.get_actor(name).actor_name == name
        assert trigger.timezone == timezone.utc
        # Next run from just after midnight (UTC) is 02:00 UTC the same day, then 02:00 the next day.
        start = datetime(2030, 3, 9, 0, 30, tzinfo=timezone.utc)
        first = trigger.get_next_fire_time(None, start)
        assert first == datetime(2030, 3, 9, 2, 0, tzinfo=timezone.utc)
        assert trigger.get_next_fire_time(first, first + timedelta(seconds=1)) == \
            datetime(2030, 3, 10, 2, 0, tzinfo=timezone.utc)


def test_cli_help_lists_cleanup():
    import subprocess

    result = subprocess.run([sys.executable, "-m", "api.cli", "cleanup", "--help"], cwd=REPO, capture_output=True,
                            text=True)
    assert result.returncode == 0 and "--only" in result.stdout
