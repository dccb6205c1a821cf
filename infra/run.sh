#!/usr/bin/env bash
# The README's first command: install, start the services, migrate, seed demo data, start the app.
#   bash infra/run.sh         start everything (idempotent: running pieces are left alone)
#   bash infra/run.sh stop    stop the app processes, then the services
# FILMO_API_PROCESSES=N (default 1): N API processes on FILMO_API_PORT+1.. behind HAProxy on FILMO_API_PORT,
# with sticky sessions for long-polling Socket.IO clients (infra/lb.sh).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/_common.sh"
FILMO="$ROOT/.venv/bin/filmo"
N_API="${FILMO_API_PROCESSES:-1}"
[[ "$N_API" =~ ^[1-9][0-9]*$ ]] || die "FILMO_API_PROCESSES must be a whole number >= 1"
APPS=(scheduler worker)   # start order; stopped in reverse
if ((N_API == 1)); then APPS+=(api); else for ((n = 1; n <= N_API; n++)); do APPS+=("api$n"); done; fi

app_args() {
  case $1 in
    api) echo "serve --host 127.0.0.1 --port $FILMO_API_PORT" ;;
    api*) echo "serve --host 127.0.0.1 --port $((FILMO_API_PORT + ${1#api}))" ;;
    worker) echo worker ;;
    scheduler) echo scheduler ;;
  esac
}

if [[ "${1:-}" == stop ]]; then
  bash "$ROOT/infra/lb.sh" down "$FILMO_API_PORT"
  for pidfile in "$DATA"/api*.pid; do [[ -e "$pidfile" ]] && stop_pid "$(basename "$pidfile" .pid)" "$pidfile"; done
  for app in worker scheduler; do stop_pid "$app" "$DATA/$app.pid"; done
  exec bash "$ROOT/infra/services.sh" down
fi
[[ $# -eq 0 ]] || { echo "usage: bash infra/run.sh [stop]" >&2; exit 2; }

bash "$ROOT/infra/install.sh"
bash "$ROOT/infra/services.sh" up
# The ports services.sh settled on (`auto` ones included), and the URLs the app derives from them.
set -a; . "$DATA/ports.env"; set +a
derive_urls
[[ -x "$FILMO" ]] || die "$FILMO not found: is the package (pyproject.toml, [project.scripts] filmo) installed?"

cd "$ROOT"   # the app resolves .data/ etc. relative to the repo root
say "filmo migrate"; "$FILMO" migrate
say "filmo seed --demo"; "$FILMO" seed --demo
# Builds the search indexes on a fresh install; a no-op when they are already in sync.
say "filmo reindex all --if-needed"; "$FILMO" reindex all --if-needed

# One signing key for every process and restart (several API processes must share it; an empty
# SECRET_KEY would give each its own): made once, kept in .data/secret_key (mode 600), never printed.
if [[ -z "${SECRET_KEY:-}" ]]; then
  [[ -s "$DATA/secret_key" ]] || (umask 077; head -c 48 /dev/urandom | base64 | tr -d '\n/+=' >"$DATA/secret_key")
  SECRET_KEY="$(cat "$DATA/secret_key")"; export SECRET_KEY
fi
# Behind the balancer the API processes believe its X-Forwarded-For (rate limits by the real client).
((N_API == 1)) || export FORWARDED_ALLOW_IPS="${FORWARDED_ALLOW_IPS:-127.0.0.1}"

mkdir -p "$LOGS"
for app in "${APPS[@]}"; do
  pidfile="$DATA/$app.pid"
  if pid_alive "$pidfile"; then say "$app: already running (pid $(cat "$pidfile"))"; continue; fi
  if [[ $app == api* ]]; then
    app_port=$(app_args "$app"); app_port=${app_port##* }
    if (exec 3<>"/dev/tcp/127.0.0.1/$app_port") 2>/dev/null; then
      die "$app: port $app_port is taken by another process (set FILMO_API_PORT)"
    fi
  fi
  echo "=== $(date -Is) start ===" >>"$LOGS/$app.log"
  # setsid: own process group (stop_pid signals the whole group); survives closing the terminal.
  # shellcheck disable=SC2046
  nohup setsid "$FILMO" $(app_args "$app") >>"$LOGS/$app.log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  say "$app: started (pid $!, log .data/logs/$app.log)"
done

# Wait for every API process to be ready (each checks its own dependencies behind /readyz).
for app in "${APPS[@]}"; do
  [[ $app == api* ]] || continue
  app_port=$(app_args "$app"); app_port=${app_port##* }
  for ((i = 0; i < 60; i++)); do
    [[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$app_port/readyz")" == 200 ]] && break
    pid_alive "$DATA/$app.pid" || { tail_log "$LOGS/$app.log"; die "$app exited during start-up"; }
    sleep 1
  done
  ((i < 60)) || { tail_log "$LOGS/$app.log"; die "$app: /readyz on port $app_port did not answer 200 within 60 s"; }
done
if ((N_API > 1)); then
  ports=(); for ((n = 1; n <= N_API; n++)); do ports+=($((FILMO_API_PORT + n))); done
  bash "$ROOT/infra/lb.sh" up "$FILMO_API_PORT" "${ports[@]}"
fi
url="http://127.0.0.1:$FILMO_API_PORT"
for app in worker scheduler; do
  pid_alive "$DATA/$app.pid" || { tail_log "$LOGS/$app.log"; die "$app is not running"; }
done

cat <<EOF

  Filmo is running.
    API:          $url
    API docs:     $url/docs
    Map page:     $url/discover   (the reference discovery page: map, list, filters, apply, chat)
    OTP e-mails:  $ROOT/.data/mail/   (dev mode writes each outgoing mail there)
    Logs:         $LOGS/{api*,worker,scheduler}.log   ($N_API API process(es))
    Stop:         bash infra/run.sh stop

EOF
