#!/usr/bin/env bash
# The README's first command: install, start the services, migrate, seed demo data, start the app.
#   bash infra/run.sh         start everything (idempotent: running pieces are left alone)
#   bash infra/run.sh stop    stop the app processes, then the services
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/_common.sh"
FILMO="$ROOT/.venv/bin/filmo"
APPS=(scheduler worker api)   # start order; stopped in reverse

app_args() {
  case $1 in
    api) echo "serve --host 127.0.0.1 --port $FILMO_API_PORT" ;;
    worker) echo worker ;;
    scheduler) echo scheduler ;;
  esac
}

if [[ "${1:-}" == stop ]]; then
  for ((k = ${#APPS[@]} - 1; k >= 0; k--)); do stop_pid "${APPS[k]}" "$DATA/${APPS[k]}.pid"; done
  exec bash "$ROOT/infra/services.sh" down
fi
[[ $# -eq 0 ]] || { echo "usage: bash infra/run.sh [stop]" >&2; exit 2; }

bash "$ROOT/infra/install.sh"
bash "$ROOT/infra/services.sh" up
[[ -x "$FILMO" ]] || die "$FILMO not found: is the package (pyproject.toml, [project.scripts] filmo) installed?"

cd "$ROOT"   # the app resolves .data/ etc. relative to the repo root
say "filmo migrate"; "$FILMO" migrate
say "filmo seed --demo"; "$FILMO" seed --demo
# Builds the search indexes on a fresh install; a no-op when they are already in sync.
say "filmo reindex all --if-needed"; "$FILMO" reindex all --if-needed

mkdir -p "$LOGS"
for app in "${APPS[@]}"; do
  pidfile="$DATA/$app.pid"
  if pid_alive "$pidfile"; then say "$app: already running (pid $(cat "$pidfile"))"; continue; fi
  if [[ $app == api ]] && (exec 3<>"/dev/tcp/127.0.0.1/$FILMO_API_PORT") 2>/dev/null; then
    die "api: port $FILMO_API_PORT is taken by another process (set FILMO_API_PORT)"
  fi
  echo "=== $(date -Is) start ===" >>"$LOGS/$app.log"
  # setsid: own process group (stop_pid signals the whole group); survives closing the terminal.
  # shellcheck disable=SC2046
  nohup setsid "$FILMO" $(app_args "$app") >>"$LOGS/$app.log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  say "$app: started (pid $!, log .data/logs/$app.log)"
done

# Wait for the API to be ready (it checks its own dependencies behind /readyz).
url="http://127.0.0.1:$FILMO_API_PORT"
for ((i = 0; i < 60; i++)); do
  [[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/readyz")" == 200 ]] && break
  pid_alive "$DATA/api.pid" || { tail_log "$LOGS/api.log"; die "api exited during start-up"; }
  sleep 1
done
((i < 60)) || { tail_log "$LOGS/api.log"; die "api: $url/readyz did not answer 200 within 60 s"; }
for app in worker scheduler; do
  pid_alive "$DATA/$app.pid" || { tail_log "$LOGS/$app.log"; die "$app is not running"; }
done

cat <<EOF

  Filmo is running.
    API:          $url
    API docs:     $url/docs
    OTP e-mails:  $ROOT/.data/mail/   (dev mode writes each outgoing mail there)
    Logs:         $LOGS/{api,worker,scheduler}.log
    Stop:         bash infra/run.sh stop

EOF
