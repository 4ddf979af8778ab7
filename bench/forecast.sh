#!/usr/bin/env bash
# Benchmark of issue 15: `fulcrum forecast`. Prints, measured side by side
# in one run:
#   one simulation of 10,000 trials over a year of days (target: < 50 ms),
#   the whole forecast in the core (5 seeds, 3 backtests, the XmR chart),
#   and `fulcrum forecast` end to end on generated events (a year's window).
#
#   bench/forecast.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cargo run --release -q -p fulcrum-core --example forecast_bench --manifest-path "$here/Cargo.toml"
cargo build --release -q -p fulcrum --manifest-path "$here/Cargo.toml"
target=$(cd "$here" && cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
bin="$target/release/fulcrum"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export FULCRUM_NOW=2025-03-01
python3 "$here/bench/gen-events.py" --prs 20000 --deployments 2000 --out "$work/events.jsonl" >/dev/null
"$bin" import "$work/events.jsonl" --db "$work/db.sqlite" 2>/dev/null
start=$(date +%s%N)
FULCRUM_TIMINGS=1 "$bin" forecast --db "$work/db.sqlite" --service svc0 --window 52.weeks --by 2026-02-28 \
  --format json >"$work/out.json" 2>"$work/timings"
end=$(date +%s%N)
echo "fulcrum forecast --by a year ahead, end to end: $(( (end - start) / 1000000 )) ms ($(cat "$work/timings"))"
