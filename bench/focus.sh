#!/usr/bin/env bash
# Benchmark of issue 14: a year of calendars for PEOPLE people (about
# 2,000 occurrences each, recurring and one-off; bench/gen-calendars.py)
# read and analysed by `fulcrum focus` (release build). Prints the time and
# peak memory beside the targets, measured in one run:
#   100,000 occurrences read and analysed in under 1 s; memory under 300 MiB.
#
#   bench/focus.sh [PEOPLE]      default 50
set -euo pipefail
people=${1:-50}
here=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release -q -p fulcrum --manifest-path "$here/Cargo.toml"
target=$(cd "$here" && cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
bin="$target/release/fulcrum"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 "$here/bench/gen-calendars.py" --people "$people" --out "$work"
python3 - "$bin" "$work" <<'PY'
import json, resource, subprocess, sys, time
binary, work = sys.argv[1], sys.argv[2]
best = None
for _ in range(3):
    start = time.perf_counter()
    out = subprocess.run([binary, "focus", "--config", f"{work}/people.toml", "--db", f"{work}/none.db",
                          "--since", "2024-01-01", "--until", "2025-01-01", "--format", "json"],
                         check=True, capture_output=True, env={"FULCRUM_NOW": "2025-01-01", "PATH": "/usr/bin:/bin"})
    elapsed = time.perf_counter() - start
    best = elapsed if best is None else min(best, elapsed)
report = json.loads(out.stdout)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(f"fulcrum focus: {report['calendars_read']} calendars, {report['events']} events, "
      f"{report['meetings']} meetings in 2024: {best * 1000:.0f} ms (best of 3; x{best:.2f} of the 1 s target), "
      f"peak memory {peak:.0f} MiB (x{peak / 300:.2f} of 300 MiB)")
PY
