#!/usr/bin/env bash
# Installs (from Debian's packages, if missing) and starts a PostgreSQL for the gateway's tests and
# for local runs: its own cluster on 127.0.0.1:${KMSGW_PG_PORT:-55432}, kept apart from any system
# cluster. Idempotent: a running cluster is left as it is.
#   deploy/postgres.sh start   install if needed, start, create the database
#   deploy/postgres.sh env     the same, then print `export DATABASE_URL=…` for eval
#   deploy/postgres.sh stop
set -euo pipefail
. "$(dirname "$0")/debian.sh"

PORT=${KMSGW_PG_PORT:-55432}
PGDATA=${KMSGW_PG_DATA:-/tmp/kmsgw-postgres-$PORT}
DB=kmsgw
URL="postgres://postgres@127.0.0.1:$PORT/$DB"

log() { echo "postgres.sh: $*" >&2; }

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

install() {
  [ -n "$(pg_bin)" ] && return
  debian_install postgresql PostgreSQL
}

# PostgreSQL refuses to run as root: as root, run its tools as the 'postgres' user.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
  install
  local bin; bin=$(pg_bin)
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    mkdir -p "$PGDATA"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$PGDATA"
    chmod 700 "$PGDATA"
    as_pg "$bin/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 >/dev/null
  fi
  if ! as_pg "$bin/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
    as_pg "$bin/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w -t 60 \
      -o "-p $PORT -c listen_addresses=127.0.0.1 -k /tmp -c max_connections=200" start >/dev/null
    log "started on 127.0.0.1:$PORT (data $PGDATA)"
  fi
  as_pg "$bin/psql" -h 127.0.0.1 -p "$PORT" -U postgres -tAc "select 1 from pg_database where datname = '$DB'" | grep -q 1 \
    || as_pg "$bin/createdb" -h 127.0.0.1 -p "$PORT" -U postgres "$DB"
}

case "${1:-start}" in
  start) start; echo "$URL" ;;
  env) start; echo "export DATABASE_URL=$URL" ;;
  stop) as_pg "$(pg_bin)/pg_ctl" -D "$PGDATA" stop -m fast ;;
  *) echo "usage: $0 start|env|stop" >&2; exit 2 ;;
esac
