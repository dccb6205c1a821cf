"""A generated client works (issue 16, section 2): openapi-typescript types from the served /openapi.json,
tests/js/generated_client.ts compiled against them with `tsc --strict`, then run under node against a real
server: it signs up with the e-mailed code, creates a profile and a project, and reads errors' `code`."""
from __future__ import annotations

import json
import shutil
import subprocess

import httpx

from tests.helpers.run import REPO, TMP

JS = REPO / "tests" / "js"
BIN = JS / "node_modules" / ".bin"


def _run(*command: str, cwd) -> subprocess.CompletedProcess:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{' '.join(command)}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def test_typescript_client_generated_from_openapi_signs_up_creates_and_reads_error_codes(start_server):
    mail_dir = TMP / "generated-client-mail"
    server = start_server(extra_env={"MAIL_DIR": str(mail_dir)})
    work = TMP / "generated-client"
    work.mkdir(exist_ok=True)
    (work / "openapi.json").write_text(httpx.get(f"{server.url}/openapi.json", timeout=30).text)
    # --default-non-nullable false: a property with a default is optional in a request body (it is in JSON Schema).
    _run(str(BIN / "openapi-typescript"), "openapi.json", "--output", "filmo-api.d.ts", "--default-non-nullable",
         "false", cwd=work)
    assert "export interface paths" in (work / "filmo-api.d.ts").read_text()
    shutil.copy(JS / "generated_client.ts", work / "generated_client.ts")
    # node_modules (for @types/node) is found from the compiled files' folder upwards: link it in.
    (work / "node_modules").unlink(missing_ok=True)
    (work / "node_modules").symlink_to(JS / "node_modules")
    (work / "package.json").write_text('{"type": "module"}')  # ES modules, like tests/js
    _run(str(BIN / "tsc"), "--strict", "--noEmitOnError", "--target", "es2022", "--module", "nodenext",
         "--moduleResolution", "nodenext", "--types", "node", "--outDir", "out", "generated_client.ts", cwd=work)
    done = subprocess.run(["node", str(work / "out" / "generated_client.js")], capture_output=True, text=True,
                          timeout=120, env={"PATH": _path(), "FILMO_URL": server.url, "FILMO_MAIL_DIR": str(mail_dir)})
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["verify_status"] == 200 and seen["token_type"] == "bearer"
    assert seen["profile_status"] in (200, 201) and seen["created_status"] == 201
    assert seen["roles"] == ["Director of Photography"] and seen["read_name"] == "Generated Client Short"
    missing, invalid, no_token = seen["errors"]
    assert (missing["status"], missing["code"], missing["type"]) == (404, "not_found", "/problems/not_found")
    assert (invalid["status"], invalid["code"], invalid["fields"]) == (422, "invalid_payload", ["name"])
    assert (no_token["status"], no_token["code"]) == (401, "missing_token")


def _path() -> str:
    import os

    return os.environ.get("PATH", "/usr/bin:/bin")
