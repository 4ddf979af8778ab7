#!/usr/bin/env bash
# The whole test suite: every test on SQLite, then the integration suite
# again on PostgreSQL (a throwaway cluster started here and stopped at the
# end, also when tests fail; or the server named by FULCRUM_TEST_POSTGRES).
# Both cargo runs use the committed Cargo.lock (--locked); extra arguments go
# to both.
set -uo pipefail
cd "$(dirname "$0")/.."

echo "== tests on SQLite"
cargo test --workspace --locked "$@"
sqlite=$?

echo "== the integration suite on PostgreSQL"
cluster=""
if [ -z "${FULCRUM_TEST_POSTGRES:-}" ]; then
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    echo "error: PostgreSQL's server is not installed (Debian: apt-get install postgresql); .ci/run installs it" >&2
    exit 1
  fi
  cluster=$(mktemp -d /tmp/fulcrum-pg.XXXXXX)
  trap 'scripts/test-postgres.sh stop "$cluster"; rm -rf "$cluster"' EXIT
  FULCRUM_TEST_POSTGRES=$(scripts/test-postgres.sh start "$cluster") || exit 1
  export FULCRUM_TEST_POSTGRES
  # The TLS test connects with sslmode=require against the cluster's own CA.
  [ -f "$cluster/ca.pem" ] && export FULCRUM_TEST_POSTGRES_CA="$cluster/ca.pem"
fi
cargo test -p fulcrum --test it --locked "$@"
postgres=$?

[ "$sqlite" = 0 ] && [ "$postgres" = 0 ]
