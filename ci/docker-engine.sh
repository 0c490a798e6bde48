#!/usr/bin/env bash
# Make a Docker engine answer, installing and starting one when needed, and print the
# DOCKER_HOST to use:   eval "$(ci/docker-engine.sh)"
#
# Reuse comes first: a daemon already answering (at $DOCKER_HOST, at ours, or at the default
# socket) is used as is, so a second call is cheap and never starts a second daemon. Otherwise
# dockerd is started the way that works on a machine without a registry or a firewall we may
# change: its own data/exec roots and socket under $DUALSYNC_DOCKER_DIR, no bridge, no iptables
# (containers use host networking and serve on loopback only). Storage is overlay2 where the
# kernel offers overlayfs, else vfs (works everywhere, but copies the whole image for each
# container: ~5 s per container on a loaded 2-core machine against ~0.15 s with overlay2);
# DUALSYNC_DOCKER_STORAGE=vfs|overlay2 forces one.
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

storage_drivers() {  # candidates, best first
  if [ -n "${DUALSYNC_DOCKER_STORAGE:-}" ]; then echo "$DUALSYNC_DOCKER_STORAGE"; return; fi
  if grep -qw overlay /proc/filesystems 2>/dev/null; then echo overlay2; fi
  echo vfs
}

daemon_pid() { cat "$DIR/dockerd.pid" 2>/dev/null || true; }

start_daemon() {  # $1 = storage driver
  as_root mkdir -p "$DIR/data" "$DIR/exec"
  # A stale socket or pid file from a daemon that died would make dockerd refuse to start.
  local pid; pid="$(daemon_pid)"
  if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
    as_root rm -f "$DIR/dockerd.pid" "$SOCK"
  fi
  say "starting dockerd with $1 storage (log: $DIR/dockerd.log)"
  as_root setsid nohup dockerd \
    --storage-driver="$1" --data-root "$DIR/data" --exec-root "$DIR/exec" \
    --pidfile "$DIR/dockerd.pid" -H "$OURS" \
    --bridge=none --iptables=false --ip-forward=false --ip-masq=false \
    >"$DIR/dockerd.log" 2>&1 </dev/null &
  LAUNCHED=$!  # dockerd removes its pid file when it fails, so keep our own handle on it
}

wait_for_daemon() {  # 0 once it answers; 1 when it died or the wait ran out
  local deadline=$((SECONDS + WAIT_SECONDS)) pid
  sleep 0.2  # let dockerd write its pid file before judging whether it died
  while [ "$SECONDS" -lt "$deadline" ]; do
    answers "$OURS" && return 0
    pid="$(daemon_pid)"
    if ! kill -0 "${pid:-$LAUNCHED}" 2>/dev/null; then
      return 1  # it died; no point waiting out the deadline
    fi
    sleep 0.5
  done
  return 1
}

stop_failed_daemon() {
  local pid; pid="$(daemon_pid)"
  say "dockerd failed; from its log:"
  { grep -E 'level=(error|fatal)|failed to start' "$DIR/dockerd.log" || tail -n 5 "$DIR/dockerd.log"; } \
    2>/dev/null | tail -n 5 >&2 || true
  as_root kill "${pid:-$LAUNCHED}" 2>/dev/null || true
  sleep 1
}

reuse_running
install_engine
for driver in $(storage_drivers); do
  start_daemon "$driver"
  if wait_for_daemon; then
    say "daemon ready at $OURS ($driver storage)"
    echo "export DOCKER_HOST=$OURS"
    exit 0
  fi
  stop_failed_daemon
done
fail "dockerd did not answer at $OURS with any storage driver ($(storage_drivers | xargs)); see $DIR/dockerd.log"
