# Sourced by the infra/*.sh scripts: repo root, .env, ports, small helpers.
# The repo root is derived from this file's location (CI runs from a fresh clone elsewhere).
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# FILMO_DATA_DIR: where the services keep their data, logs and pid files (another dir: other services).
DATA="$(realpath -m "${FILMO_DATA_DIR:-$ROOT/.data}")"
LOGS="$DATA/logs"

# Optional .env in the repo root (KEY=VALUE lines, as for docker compose / pydantic-settings).
# Variables already set in the environment win over the file (`FILMO_PG_PORT=5999 bash ...`).
if [[ -f "$ROOT/.env" ]]; then
  _keep=()
  for _k in $(sed -nE 's/^[[:space:]]*(export[[:space:]]+)?([A-Za-z_][A-Za-z0-9_]*)=.*/\2/p' "$ROOT/.env"); do
    [[ -n "${!_k+x}" ]] && _keep+=("$_k=${!_k}")
  done
  set -a; . "$ROOT/.env"; set +a
  for _kv in "${_keep[@]}"; do export "$_kv"; done
  unset _keep _k _kv
fi

export FILMO_PG_PORT="${FILMO_PG_PORT:-5433}"
export FILMO_REDIS_PORT="${FILMO_REDIS_PORT:-6380}"
export FILMO_OPENSEARCH_PORT="${FILMO_OPENSEARCH_PORT:-9201}"
export FILMO_OPENSEARCH_TRANSPORT_PORT="${FILMO_OPENSEARCH_TRANSPORT_PORT:-auto}"
export FILMO_API_PORT="${FILMO_API_PORT:-8000}"
# The app reads these URLs (api/kernel/settings.py); derive them from the ports unless the caller set them.
# A port may still be `auto` here: services.sh picks the number, and run.sh calls derive_urls again with it.
_URLS_GIVEN="${DATABASE_URL:+db}${REDIS_URL:+redis}${OPENSEARCH_URL+os}"
derive_urls() {
  [[ $_URLS_GIVEN == *db* ]] || export DATABASE_URL="postgresql+asyncpg://filmo:filmo@127.0.0.1:$FILMO_PG_PORT/filmo"
  [[ $_URLS_GIVEN == *redis* ]] || export REDIS_URL="redis://127.0.0.1:$FILMO_REDIS_PORT/0"
  [[ $_URLS_GIVEN == *os* ]] || export OPENSEARCH_URL="http://127.0.0.1:$FILMO_OPENSEARCH_PORT"
}
derive_urls

say()  { printf '\033[1m[filmo]\033[0m %s\n' "$*"; }
warn() { printf '\033[33m[filmo] %s\033[0m\n' "$*" >&2; }
die()  { printf '\033[31m[filmo] ERROR: %s\033[0m\n' "$*" >&2; exit 1; }

# pid_alive FILE: true when FILE holds the pid of a running process.
pid_alive() { [[ -s "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

# tail_log FILE: last lines of a log, for error messages.
tail_log() { [[ -f "$1" ]] && { echo "----- last lines of $1 -----" >&2; tail -n 40 "$1" >&2; echo "-----" >&2; } || true; }

# stop_pid NAME PIDFILE: SIGTERM to the process (it stops its own children: dramatiq forwards the signal,
# and a second SIGTERM would make its worker process abandon the graceful stop), wait up to 30 s, then
# SIGKILL the whole process group.
stop_pid() {
  local name=$1 pidfile=$2 pid target
  if ! pid_alive "$pidfile"; then say "$name: not running"; rm -f "$pidfile"; return 0; fi
  pid=$(cat "$pidfile"); target=$pid
  [[ "$(ps -o pgid= -p "$pid" | tr -d ' ')" == "$pid" ]] && target=-$pid
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 30; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  if kill -0 "$pid" 2>/dev/null; then warn "$name: still alive after 30 s, killing"; kill -KILL -- "$target" 2>/dev/null || true; fi
  rm -f "$pidfile"; say "$name: stopped"
}
