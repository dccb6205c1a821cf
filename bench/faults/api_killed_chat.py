"""Fault 5: an API process killed (SIGKILL) mid-chat.

Two API processes (A, B) share Redis. 12 members of one project chat, 6 connected to each process, every one
sending with an ack. B is killed at ~8 s; its clients reconnect to A (as a load balancer would send them) and
keep chatting. Then: every acknowledged message is stored in PostGIS, and delivered to every member connected
to the surviving process (to the moved members: every message sent after they joined again).
    .venv/bin/python -m bench.faults.api_killed_chat
"""
from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field

from bench.faults import common

N_PER_PROCESS = 6
DURATION = 25.0
KILL_AT = 8.0
RECONNECT_AFTER = 2.0      # a client notices and is sent to the other process
BURST = 5                  # sends in flight per member of B when B is killed
INTERVAL = 0.6             # per member: ~1.7 messages/s, 12 members: ~20/s
# The per-user chat limit (60/min) is raised for this run so every send is a real attempt.
API_ENV = {"CHAT_MESSAGES_PER_MINUTE": "10000"}


@dataclass
class Member:
    user: common.User
    home: str                      # "A" or "B"
    client: object = None
    received: dict = field(default_factory=dict)   # message id -> content
    joined_at: float = 0.0         # when (load clock) it last joined the room
    connected_to: str = ""


async def connect(member: Member, url: str, where: str, project_id: str, t0: float) -> None:
    import socketio
    client = socketio.AsyncClient(reconnection=False)

    @client.on("message")
    async def _message(data):
        member.received[str(data["id"])] = data.get("content")

    await client.connect(url, auth={"token": member.user.token}, transports=["websocket"], wait_timeout=10)
    ack = await client.call("join_project", {"project_id": project_id}, timeout=10)
    if not ack.get("ok"):
        raise RuntimeError(f"join refused: {ack}")
    member.client, member.connected_to, member.joined_at = client, where, time.monotonic() - t0


async def body(stack: common.Stack) -> dict:
    from db.models import Project, ProjectMember
    from db.models.enums import MemberRole, ProjectType
    from db.session import unit_of_work

    url_a = stack.start_api("api_a", env=API_ENV)
    url_b = stack.start_api("api_b", env=API_ENV)
    users = await common.make_users(2 * N_PER_PROCESS)
    await common.create_profiles(url_a, users)
    async with unit_of_work() as session:
        project = Project(creator_id=users[0].id, name="Fault chat", project_type=ProjectType.short_film)
        session.add(project)
        await session.flush()
        for i, u in enumerate(users):
            session.add(ProjectMember(project_id=project.id, user_id=u.id,
                                      member_role=MemberRole.admin if i == 0 else MemberRole.child))
        project_id = str(project.id)

    t0 = time.monotonic()
    members = [Member(u, "A" if i % 2 == 0 else "B") for i, u in enumerate(users)]
    for m in members:
        await connect(m, url_a if m.home == "A" else url_b, m.home, project_id, t0)
    t0 = time.monotonic()
    for m in members:
        m.joined_at = 0.0

    acked: dict[str, tuple[str, float]] = {}    # message id -> (content, send start)
    unknown: list[str] = []                     # contents sent without an answer
    acks: Counter = Counter()
    attempted = 0
    killed_at = None
    moved_rejoined: list[float] = []
    counter = iter(range(10**9))

    async def send(m: Member) -> None:
        nonlocal attempted
        content = f"m{next(counter)}"
        attempted += 1
        started = time.monotonic()
        try:
            ack = await m.client.call("send_message", {"project_id": project_id, "content": content}, timeout=5)
            if ack.get("ok"):
                acks["ok"] += 1
                acked[str(ack["message"]["id"])] = (content, started - t0)
            else:
                acks[ack.get("error", {}).get("code", "?")] += 1
                unknown.append(content)
        except Exception as exc:  # noqa: BLE001 - the process went away mid-call
            acks[f"transport:{type(exc).__name__}"] += 1
            unknown.append(content)

    async def sender(m: Member) -> None:
        rnd = random.Random(str(m.user.id))
        await asyncio.sleep(rnd.random() * INTERVAL)
        while time.monotonic() - t0 < DURATION:
            started = time.monotonic()
            if m.client is not None and m.client.connected:
                await send(m)
            await asyncio.sleep(max(0.0, INTERVAL - (time.monotonic() - started)))

    async def fault() -> None:
        nonlocal killed_at
        await asyncio.sleep(KILL_AT)
        # Mid-chat: B's members have sends in flight when it dies (their outcome is unknown to them).
        burst = [asyncio.create_task(send(m)) for m in members if m.home == "B" for _ in range(BURST)]
        await asyncio.sleep(0.01)
        killed_at = time.monotonic() - t0
        common.log(f"api_killed_chat: SIGKILL api_b at {killed_at:.1f}s")
        stack.kill("api_b")
        await asyncio.sleep(RECONNECT_AFTER)
        for m in members:
            if m.home == "B":
                old, m.client = m.client, None
                try:
                    await old.disconnect()
                except Exception as exc:  # noqa: BLE001 - the process is gone; the client may know already
                    common.log(f"disconnect from the dead process: {type(exc).__name__}")
                await connect(m, url_a, "A", project_id, t0)
                moved_rejoined.append(m.joined_at)
        await asyncio.gather(*burst)  # the sends that were in flight: each acked, refused or timed out

    await asyncio.gather(fault(), *(sender(m) for m in members))
    await asyncio.sleep(3)   # deliveries in flight
    for m in members:
        if m.client is not None:
            await m.client.disconnect()

    # Stored?
    import asyncpg
    conn = await asyncpg.connect(stack.env["DATABASE_URL"].replace("+asyncpg", ""))
    try:
        stored = {str(r["id"]): r["content"] for r in await conn.fetch(
            "SELECT id, content FROM messages WHERE project_id = $1::uuid", project_id)}
    finally:
        await conn.close()
    lost = [mid for mid, (content, _) in acked.items() if stored.get(mid) != content]
    acked_contents = {c for c, _ in acked.values()}
    stored_unacked = [c for c in stored.values() if c not in acked_contents]

    # Delivered to the members on the surviving process?
    undelivered = []
    for m in members:
        for mid, (content, sent_at) in acked.items():
            if (m.home == "A" or sent_at >= m.joined_at) and mid not in m.received:
                undelivered.append(f"{m.user.email[:16]}({m.home}) missed {content}")
    failures = []
    if lost:
        failures.append(f"{len(lost)} acknowledged messages not stored")
    if undelivered:
        failures.append(f"{len(undelivered)} deliveries missing on the surviving process")
    unexpected = {k: v for k, v in acks.items() if k != "ok" and not k.startswith("transport:")}
    if unexpected:
        failures.append(f"unexpected ack errors {unexpected}")
    recover = round(max(moved_rejoined) - killed_at, 2) if moved_rejoined else None
    return {
        "fault": "api_killed_chat", "writes_attempted": attempted, "writes_acked": acks["ok"],
        "statuses": dict(acks), "transport_errors": {k: v for k, v in acks.items() if k.startswith("transport:")},
        "unexpected_5xx_count": 0, "lost": len(lost), "stale": 0,
        "undelivered": len(undelivered), "undelivered_sample": undelivered[:10],
        "unacked_but_stored": len(stored_unacked), "unacked_sends": len(unknown),
        "fault_injected_at_s": round(killed_at, 1),
        "recover_s": recover, "recover_note": f"SIGKILL -> the moved members joined again on A "
                                              f"(they are sent there {RECONNECT_AFTER:.0f} s after the kill)",
        "members": len(members), "api_processes": 2, "load_duration_s": DURATION,
        "checks": {"stored_messages": len(stored), "acked_messages": len(acked), "lost_sample": lost[:10]},
        "failures": failures, "ok": not failures,
    }


if __name__ == "__main__":
    common.main("api_killed_chat", body)
