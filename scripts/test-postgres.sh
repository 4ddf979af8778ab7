#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the test suite.
#
#   scripts/test-postgres.sh start DIR   # initdb in DIR, start on a free loopback port (TLS on,
#                                        # its CA in DIR/ca.pem, when openssl is there),
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
    # TLS: a certificate authority of this run and the server's certificate
    # for 127.0.0.1 and localhost (the CA is $DIR/ca.pem, for sslrootcert).
    tls=()
    if command -v openssl >/dev/null; then
      (
        cd "$dir"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=fulcrum test CA" \
          -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
          -keyout ca.key -out ca.pem 2>/dev/null
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=127.0.0.1" \
          -keyout server.key -out server.csr 2>/dev/null
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >server.ext
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext \
          -out server.crt 2>/dev/null
        chmod 600 server.key
        [ "$(id -u)" = 0 ] && chown nobody:nogroup server.key server.crt
        true
      )
      tls=(-c ssl=on -c "ssl_cert_file=$dir/server.crt" -c "ssl_key_file=$dir/server.key")
    fi
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 ${tls[*]:-}" \
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
