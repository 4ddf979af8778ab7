#!/usr/bin/env bash
# Benchmark of issue 11: `fulcrum serve` over a store of PRS pull requests and
# DEPLOYMENTS deployments in 5 repositories (bench/gen-events.py), loaded on
# loopback by bench/load.py (open loop, bounded in requests and time).
# Prints p50/p99, throughput and their ratio to the issue's targets, and the
# server's peak memory, measured side by side in one run:
#   /api/v1/report and the delivery page: p99 < 50 ms at 200 requests/s
#   /flow page: p99 < 100 ms;  POST /api/v1/events: 1,000/s with p99 < 50 ms
#   server memory < 300 MiB
#
#   bench/serve.sh [PRS] [DEPLOYMENTS] [SECONDS]      defaults: 100000 20000 10
set -euo pipefail
prs=${1:-100000}
deployments=${2:-20000}
seconds=${3:-10}
here=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release -q -p fulcrum --manifest-path "$here/Cargo.toml"
target=$(cd "$here" && cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
bin="$target/release/fulcrum"
work=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
cd "$work"
export FULCRUM_NOW=2025-03-01
python3 "$here/bench/gen-events.py" --prs "$prs" --deployments "$deployments" --out events.jsonl
"$bin" import events.jsonl --db db.sqlite 2>/dev/null
token=$("$bin" token add bench --scope events:write --db db.sqlite 2>/dev/null)
printf '{"type":"deployment","id":"bench","service":"svc0","commit":"abc","finished_at":"2025-02-01T00:00:00Z"}\n' > one.jsonl

# Not a git repository: the server reports the stored events (service svc0).
"$bin" serve --db db.sqlite --listen 127.0.0.1:0 --sync-every 0 --repo "$here" 2>serve.log &
server=$!
for _ in $(seq 100); do grep -q "fulcrum serves" serve.log && break; sleep 0.2; done
address=$(sed -n 's|^fulcrum serves http://\([^/]*\)/.*|\1|p' serve.log)
[ -n "$address" ] || { cat serve.log >&2; exit 1; }
window="service=svc0&since=2025-01-01&until=2025-03-01"
echo "store: $prs pull requests, $deployments deployments, 5 repositories; $seconds s per run, loopback"

run() { # name url rate target_p99_ms [load.py options]
  local name=$1 url=$2 rate=$3 target=$4; shift 4
  local out cold=""
  if [ $# -eq 0 ]; then
    # The first answer computes the analysis; the rest are kept until a write.
    cold=$(python3 -c 'import sys, time, urllib.request as u; t = time.monotonic(); u.urlopen(sys.argv[1]).read(); print(f"{(time.monotonic() - t) * 1000:.0f}")' "$url")
    echo "$name: first answer (computed) $cold ms"
  fi
  out=$(python3 "$here/bench/load.py" --url "$url" --rate "$rate" --seconds "$seconds" "$@")
  python3 - "$name" "$rate" "$target" "$out" <<'PY'
import json, sys
name, rate, target, out = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), json.loads(sys.argv[4])
print(f"{name:<28} {out['requests']:>6} req {out['errors']:>4} err  {out['throughput']:>7.1f}/s "
      f"(x{out['throughput']/rate:.2f} of {rate:.0f}/s)  p50 {out['p50_ms']:>7.1f} ms  "
      f"p99 {out['p99_ms']:>8.1f} ms (x{out['p99_ms']/target:.2f} of the {target:.0f} ms target)")
PY
}
run "GET /api/v1/report" "http://$address/api/v1/report?$window" 200 50
run "GET / (delivery page)" "http://$address/?$window" 200 50
run "GET /flow (flow page)" "http://$address/flow?$window" 200 100
run "POST /api/v1/events" "http://$address/api/v1/events?source=bench" 1000 50 --post one.jsonl --token "$token"
peak=$(awk '/VmHWM/ {print $2}' "/proc/$server/status")
echo "server peak memory: $((peak / 1024)) MiB (x$(python3 -c "print(f'{$peak/1024/300:.2f}')") of the 300 MiB target)"
