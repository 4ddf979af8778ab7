#!/usr/bin/env bash
# Benchmark of the hardening issue, item 5: memory while syncing a host
# listing of ITEMS items (default 1,000,000), 100 per page, from a local
# server (bench/listing-server.py) that generates GitHub-shaped pages on the
# fly: every listing empty except the issues labelled `incident`. fulcrum
# must keep one page in memory at a time; the target is 1 GiB peak RSS.
# Prints the peak, its ratio to the 1 GiB target, the wall time and the
# items stored.
#
#   bench/listing.sh [ITEMS]
set -euo pipefail
items=${1:-1000000}
here=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release -q -p fulcrum --manifest-path "$here/Cargo.toml"
target=$(cd "$here" && cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
bin="$target/release/fulcrum"
if [ ! -x /usr/bin/time ]; then
  echo "bench/listing.sh needs GNU time for peak memory: apt-get install time" >&2
  exit 2
fi
work=$(mktemp -d)
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

python3 "$here/bench/listing-server.py" "$items" "$work/port" &
server=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
port=$(cat "$work/port")
cat > "$work/fulcrum.toml" <<TOML
[[source]]
kind = "github"
repo = "bench/listing"
base_url = "http://127.0.0.1:$port"
max_pages = 20000
TOML
/usr/bin/time -f '%e %M' -o "$work/time.txt" \
  env -u GITHUB_TOKEN "$bin" --db "$work/db.sqlite" --config "$work/fulcrum.toml" sync 2>"$work/stderr" >/dev/null \
  || { cat "$work/stderr" >&2; exit 1; }
read -r seconds kib < "$work/time.txt"
stored=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT COUNT(*) FROM incidents').fetchone()[0])" "$work/db.sqlite")
python3 - "$items" "$seconds" "$kib" "$stored" <<'PY'
import sys
items, seconds, kib, stored = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
target = 1024 * 1024  # KiB
print(f"listing of {items:,} items, 100 per page: stored {stored:,} incidents in {seconds:.1f} s")
print(f"peak RSS {kib / 1024:.0f} MiB = {kib / target:.3f} x the 1 GiB target")
PY
