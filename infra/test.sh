#!/usr/bin/env bash
# The README's second command: install, start the services (fast, non-durable Postgres), run pytest.
#   bash infra/test.sh [pytest args...]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

bash "$ROOT/infra/install.sh"
# fsync etc. off; if the cluster is already running (e.g. from run.sh) the settings are reloaded.
FILMO_PG_FAST=1 bash "$ROOT/infra/services.sh" up
[[ -x "$ROOT/.venv/bin/python" ]] || die ".venv missing: no pyproject.toml yet?"

cd "$ROOT"
export FILMO_ENV=test   # FILMO_*_PORT are exported by _common.sh
rc=0
"$ROOT/.venv/bin/python" -m pytest "$@" || rc=$?
# pytest exit 5 = "no tests collected": a test run that tests nothing must not pass.
((rc != 5)) || die "pytest collected no tests (exit 5): failing on purpose"
exit "$rc"
