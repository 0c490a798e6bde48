#!/usr/bin/env bash
# Make a Docker engine answer, installing and starting one when needed, and print the
# DOCKER_HOST to use:   eval "$(ci/docker-engine.sh)"
#
# Reuse comes first: a daemon already answering (at $DOCKER_HOST, at ours, or at the default
# socket) is used as is, so a second call is cheap and never starts a second daemon. Otherwise
# dockerd is started the way that works on a machine without a registry or a firewall we may
# change: vfs storage, its own data/exec roots and socket under $DUALSYNC_DOCKER_DIR, no bridge,
# no iptables (containers use host networking and serve on loopback only).
#
# stdout carries only the `export DOCKER_HOST=...` line; progress and errors go to stderr.
# Exit status: 0 with a daemon answering, 1 when no engine could be installed or started.
set -euo pipefail

DIR="${DUALSYNC_DOCKER_DIR:-/tmp/dualsync-docker}"
SOCK="$DIR/docker.sock"
OURS="unix://$SOCK"
WAIT_SECONDS="${DUALSYNC_DOCKER_WAIT:-60}"

say()  { echo "docker-engine: $*" >&2; }
fail() { say "error: $*"; exit 1; }

answers() {  # does a daemon at $1 answer within a few seconds?
  DOCKER_HOST="$1" timeout 5 docker info >/dev/null 2>&1
}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo -n "$@"
  else fail "need root (or passwordless sudo) to run: $*"
  fi
}

reuse_running() {
  local host
  for host in "${DOCKER_HOST:-}" "$OURS" "unix:///var/run/docker.sock"; do
    [ -n "$host" ] || continue
    if command -v docker >/dev/null && answers "$host"; then
      say "reusing the daemon answering at $host"
      echo "export DOCKER_HOST=$host"
      exit 0
    fi
  done
}

install_engine() {
  command -v dockerd >/dev/null && command -v docker >/dev/null && return 0
  command -v apt-get >/dev/null || fail "no dockerd and no apt-get to install docker.io; install Docker yourself"
  mkdir -p "$DIR"
  local log="$DIR/apt.log"
  say "installing docker.io with apt-get (about 20 s; log: $log)"
  as_root apt-get update -qq >"$log" 2>&1 \
    || { tail -n 5 "$log" >&2; fail "apt-get update failed (no Debian mirror reachable?)"; }
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq docker.io >>"$log" 2>&1 \
    || { tail -n 10 "$log" >&2; fail "apt-get install docker.io failed"; }
  command -v dockerd >/dev/null || fail "docker.io installed but dockerd is not on PATH"
}

start_daemon() {
  as_root mkdir -p "$DIR/data" "$DIR/exec"
  # A stale socket or pid file from a daemon that died would make dockerd refuse to start.
  if [ -f "$DIR/dockerd.pid" ] && ! kill -0 "$(cat "$DIR/dockerd.pid")" 2>/dev/null; then
    as_root rm -f "$DIR/dockerd.pid" "$SOCK"
  fi
  say "starting dockerd (log: $DIR/dockerd.log)"
  as_root setsid nohup dockerd \
    --storage-driver=vfs --data-root "$DIR/data" --exec-root "$DIR/exec" \
    --pidfile "$DIR/dockerd.pid" -H "$OURS" \
    --bridge=none --iptables=false --ip-forward=false --ip-masq=false \
    >"$DIR/dockerd.log" 2>&1 </dev/null &
}

wait_for_daemon() {
  local deadline=$((SECONDS + WAIT_SECONDS))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if answers "$OURS"; then
      say "daemon ready at $OURS"
      echo "export DOCKER_HOST=$OURS"
      exit 0
    fi
    if [ -f "$DIR/dockerd.pid" ] && ! kill -0 "$(cat "$DIR/dockerd.pid")" 2>/dev/null; then
      break  # it died; no point waiting out the deadline
    fi
    sleep 0.5
  done
  say "dockerd log (last lines):"
  tail -n 15 "$DIR/dockerd.log" >&2 2>/dev/null || true
  fail "dockerd did not answer at $OURS within ${WAIT_SECONDS} s (see the log above)"
}

reuse_running
install_engine
start_daemon
wait_for_daemon
