#!/usr/bin/env bash
# Benchmark of the work-items-and-hosts issue, "fewer requests": a GitHub
# repository of PRS generated pull requests (default 10,000; each with 2
# commits, a review with a line comment, a comment) served by a local
# server (bench/requests-server.py) through both the REST API and the
# GraphQL API. Syncs it with the REST connector and with `api = "graphql"`
# side by side, then syncs each again with nothing changed, and prints the
# requests made, the requests per 1,000 pull requests, the GraphQL/REST
# ratio and the wall times. Target: at most 40 requests per 1,000 pull
# requests.
#
#   bench/requests.sh [PRS]
set -euo pipefail
prs=${1:-10000}
here=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release -q -p fulcrum --manifest-path "$here/Cargo.toml"
target=$(cd "$here" && cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
bin="$target/release/fulcrum"
work=$(mktemp -d)
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

python3 "$here/bench/requests-server.py" "$prs" "$work/port" &
server=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
port=$(cat "$work/port")
for api in rest graphql; do
  cat > "$work/$api.toml" <<TOML
[[source]]
kind = "github"
repo = "bench/requests"
base_url = "http://127.0.0.1:$port"
api = "$api"
TOML
done
# Prints "REQUESTS SECONDS" of one sync.
sync() {
  local start end
  start=$(date +%s.%N)
  GITHUB_TOKEN=bench-token "$bin" --db "$work/$1.sqlite" --config "$work/$1.toml" sync 2>"$work/stderr" >/dev/null \
    || { cat "$work/stderr" >&2; exit 1; }
  end=$(date +%s.%N)
  local requests
  requests=$(grep -o '([0-9]* requests' "$work/stderr" | tr -dc '0-9')
  echo "$requests $(python3 -c "print(f'{$end - $start:.1f}')")"
}
read -r rest_first rest_first_s < <(sync rest)
read -r graphql_first graphql_first_s < <(sync graphql)
read -r rest_again rest_again_s < <(sync rest)
read -r graphql_again graphql_again_s < <(sync graphql)
stored=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT COUNT(*) FROM pull_requests').fetchone()[0])" "$work/graphql.sqlite")
python3 - "$prs" "$stored" "$rest_first" "$rest_first_s" "$graphql_first" "$graphql_first_s" "$rest_again" "$graphql_again" <<'PY'
import sys
prs, stored, rest, rest_s, gql, gql_s, rest_again, gql_again = sys.argv[1:]
prs, stored, rest, gql, rest_again, gql_again = map(int, (prs, stored, rest, gql, rest_again, gql_again))
per = lambda n: n * 1000 / prs
print(f"{prs:,} generated pull requests ({stored:,} stored through GraphQL)")
print(f"first sync  REST    {rest:6,} requests = {per(rest):7.1f} per 1,000 PRs, {rest_s} s")
print(f"first sync  GraphQL {gql:6,} requests = {per(gql):7.1f} per 1,000 PRs, {gql_s} s  (target <= 40 per 1,000: {per(gql) / 40:.2f}x)")
print(f"GraphQL/REST requests: {gql / rest:.3f}")
print(f"re-sync, nothing changed: REST {rest_again} requests, GraphQL {gql_again}")
PY
