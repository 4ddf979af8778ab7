#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the test suite.
#
#   scripts/test-postgres.sh start DIR   # initdb in DIR, start on a free loopback port,
#                                        # print the URL (postgres://fulcrum@127.0.0.1:PORT/postgres)
#   scripts/test-postgres.sh stop DIR    # stop it (the directory is left for the caller to remove)
#
# As root, the cluster runs as the unprivileged user `nobody` (PostgreSQL
# refuses to run as root). Authentication is `trust` on loopback only: the
# cluster holds nothing but test data and lives as long as the test run.
set -euo pipefail
action=${1:?start or stop}
dir=${2:?a directory}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/initdb" ] || { echo "PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }
as_owner() {
  if [ "$(id -u)" = 0 ]; then setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"; else "$@"; fi
}
case "$action" in
  start)
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown nobody:nogroup "$dir"
    as_owner "$bin/initdb" -D "$dir/data" -U fulcrum --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    # One role signs in with a password (scram), for the wrong-password test.
    printf 'host all fulcrum_secret 127.0.0.1/32 scram-sha-256\n%s\n' "$(cat "$dir/data/pg_hba.conf")" >"$dir/data/pg_hba.conf"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
      start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    "$bin/psql" -qX -h 127.0.0.1 -p "$port" -U fulcrum -d postgres \
      -c "CREATE ROLE fulcrum_secret LOGIN PASSWORD 'right-password'" >/dev/null
    echo "postgres://fulcrum@127.0.0.1:$port/postgres"
    ;;
  stop)
    [ -d "$dir/data" ] && as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    ;;
  *) echo "start or stop" >&2; exit 2 ;;
esac
