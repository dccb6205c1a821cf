#!/usr/bin/env bash
# HAProxy (Debian's package) in front of several API processes, with sticky sessions.
#   bash infra/lb.sh up LISTEN_PORT BACKEND_PORT...   render .data/lb/haproxy-LISTEN_PORT.cfg and start it
#   bash infra/lb.sh down LISTEN_PORT
#
# Why sticky: Socket.IO's long-polling transport sends every request of a session to the process that
# opened it (that process holds the session; the others answer 400 "Invalid session"). HAProxy inserts
# a cookie naming the backend on the first answer and routes by it afterwards (the Socket.IO docs'
# recommendation); WebSocket connections are long-lived TCP tunnels and stay where they were upgraded.
# `uvicorn --workers N` has no such affinity, hence this. Backends are health-checked on /readyz, so a
# process that cannot serve traffic is taken out; the API processes must trust this proxy's
# X-Forwarded-For (FORWARDED_ALLOW_IPS=127.0.0.1), or every client shares one rate-limit address.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

LB_DIR="${FILMO_LB_DIR:-$DATA/lb}"
cmd=${1:-}; port=${2:-}
[[ "$cmd" =~ ^(up|down)$ && "$port" =~ ^[0-9]+$ ]] || die "usage: bash infra/lb.sh up LISTEN_PORT BACKEND_PORT... | down LISTEN_PORT"
cfg="$LB_DIR/haproxy-$port.cfg"; pidfile="$LB_DIR/haproxy-$port.pid"; log="$LB_DIR/haproxy-$port.log"

if [[ $cmd == down ]]; then
  stop_pid "haproxy :$port" "$pidfile"
  exit 0
fi

shift 2
(($# >= 1)) || die "lb up: give at least one backend port"
command -v haproxy >/dev/null || die "haproxy is not installed (infra/install.sh installs it)"
pid_alive "$pidfile" && { say "haproxy :$port: already running (pid $(cat "$pidfile"))"; exit 0; }
mkdir -p "$LB_DIR"
# Two descriptors per proxied connection: as many connections as this shell's file limit allows.
nofile=$(ulimit -n); [[ "$nofile" =~ ^[0-9]+$ ]] || nofile=65536
maxconn=$(((nofile - 64) / 2)); ((maxconn <= 50000)) || maxconn=50000
{
  cat <<EOF
# Rendered by infra/lb.sh; edit that script, not this file.
global
  maxconn $maxconn

defaults
  mode http
  option forwardfor
  timeout connect 5s
  timeout client 70s
  timeout server 70s
  # An upgraded WebSocket is a tunnel: idle chat rooms stay open (Socket.IO pings every 25 s anyway).
  timeout tunnel 1h

frontend filmo
  bind 127.0.0.1:$port
  default_backend api

backend api
  balance roundrobin
  cookie FILMO_API insert indirect nocache httponly
  option httpchk GET /readyz
  http-check expect status 200
EOF
  n=0
  for backend in "$@"; do
    n=$((n + 1))
    echo "  server api$n 127.0.0.1:$backend check inter 2s cookie api$n"
  done
} >"$cfg"
haproxy -c -q -f "$cfg" || die "haproxy refused $cfg"
# -db: stay in the foreground (setsid + nohup detach it, as for the other services); fds above 2 closed.
nohup setsid haproxy -db -f "$cfg" >>"$log" 2>&1 </dev/null 3>&- &
echo $! >"$pidfile"
for ((i = 0; i < 50; i++)); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && { say "haproxy: http://127.0.0.1:$port -> ${*/#/127.0.0.1:} (sticky)"; exit 0; }
  pid_alive "$pidfile" || break
  sleep 0.1
done
tail_log "$log"; die "haproxy did not start on 127.0.0.1:$port"
