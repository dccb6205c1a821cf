"""The official JavaScript client (socket.io-client from npm, run with node) against a real server."""
from __future__ import annotations

import asyncio
import json
import os
import shutil

from tests.helpers.projects import insert_project
from tests.helpers.realtime import connect
from tests.helpers.run import REPO

JS_DIR = REPO / "tests" / "js"


async def test_official_js_client_connects_joins_sends_and_receives(start_server, make_user):
    node = shutil.which("node")
    assert node, "node is required for the JavaScript client test (install Node.js >= 18)"
    assert (JS_DIR / "node_modules" / "socket.io-client").is_dir(), "run `npm ci --prefix tests/js` first"
    server = start_server()
    alice = await make_user(profile={"name": "Alice"})
    bob = await make_user(profile={"name": "Bob"})
    project_id = await insert_project(alice, bob)
    py = await connect(server.url, bob.token)
    try:
        assert (await py.call("join_project", {"project_id": str(project_id)}))["ok"]
        proc = await asyncio.create_subprocess_exec(
            node, str(JS_DIR / "chat_client.mjs"), cwd=JS_DIR, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "FILMO_URL": server.url, "FILMO_TOKEN": alice.token,
                 "FILMO_PROJECT_ID": str(project_id), "FILMO_EXPECT": "hello from python"})
        await py.wait_for("message", lambda m: m["content"] == "hello from js", timeout=20)
        assert (await py.call("send_message", {"project_id": str(project_id), "content": "hello from python"}))["ok"]
        out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    finally:
        await py.close()
    assert proc.returncode == 0, (out.decode(), err.decode())
    result = json.loads(out.decode().strip().splitlines()[-1])

    assert result["refused"]["data"]["code"] == "invalid_token"
    assert result["joined"]["ok"] is True and result["joined"]["project_id"] == str(project_id)
    assert {u["name"] for u in result["joined"]["online_users"]} == {"Alice", "Bob"}
    sent = result["sent"]["message"]
    assert result["sent"]["ok"] and sent["sender_name"] == "Alice" and sent["content"] == "hello from js"
    assert result["bad"]["ok"] is False and result["bad"]["error"]["code"] == "invalid_payload"
    contents = [m["content"] for m in result["received"]]
    assert contents == ["hello from js", "hello from python"]
    assert result["transport"] == "websocket"  # upgraded from polling
