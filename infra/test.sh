#!/usr/bin/env bash
# The README's second command: install, start the test services, run pytest.
#   bash infra/test.sh [pytest args...]
# The tests get services of their own, never the platform run.sh starts: their data in .data/test/
# (FILMO_TEST_DATA_DIR), their ports FILMO_TEST_PG_PORT, FILMO_TEST_REDIS_PORT, FILMO_TEST_OPENSEARCH_PORT
# (default auto: free ports, kept for the next run, printed), and a Postgres cluster of their own with
# fsync & co off for speed, so the platform's durability is never touched. They stay up for the next run;
# stop them with:  FILMO_DATA_DIR=.data/test bash infra/services.sh down
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

bash "$ROOT/infra/install.sh"
[[ -x "$ROOT/.venv/bin/python" ]] || die ".venv missing: no pyproject.toml yet?"

FILMO_DATA_DIR="$(realpath -m "${FILMO_TEST_DATA_DIR:-$ROOT/.data/test}")"
FILMO_PG_PORT="${FILMO_TEST_PG_PORT:-auto}"
FILMO_REDIS_PORT="${FILMO_TEST_REDIS_PORT:-auto}"
FILMO_OPENSEARCH_PORT="${FILMO_TEST_OPENSEARCH_PORT:-auto}"
FILMO_OPENSEARCH_TRANSPORT_PORT="${FILMO_TEST_OPENSEARCH_TRANSPORT_PORT:-auto}"
export FILMO_DATA_DIR FILMO_PG_PORT FILMO_REDIS_PORT FILMO_OPENSEARCH_PORT FILMO_OPENSEARCH_TRANSPORT_PORT
FILMO_PG_FAST=1 bash "$ROOT/infra/services.sh" up

# The ports services.sh chose (auto) and the URLs the app and pytest derive from them (not the platform's,
# whatever the environment or .env says).
set -a; . "$FILMO_DATA_DIR/ports.env"; set +a
export DATABASE_URL="postgresql+asyncpg://filmo:filmo@127.0.0.1:$FILMO_PG_PORT/filmo"
export REDIS_URL="redis://127.0.0.1:$FILMO_REDIS_PORT/0"
export OPENSEARCH_URL="http://127.0.0.1:$FILMO_OPENSEARCH_PORT"
say "tests run on postgres 127.0.0.1:$FILMO_PG_PORT, redis 127.0.0.1:$FILMO_REDIS_PORT, opensearch 127.0.0.1:$FILMO_OPENSEARCH_PORT (data: $FILMO_DATA_DIR)"

cd "$ROOT"
export FILMO_ENV=test
rc=0
"$ROOT/.venv/bin/python" -m pytest "$@" || rc=$?
# pytest exit 5 = "no tests collected": a test run that tests nothing must not pass.
((rc != 5)) || die "pytest collected no tests (exit 5): failing on purpose"
exit "$rc"
