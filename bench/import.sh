#!/usr/bin/env bash
# Benchmark of issue 3: `fulcrum import` of a generated events file of PRS pull
# requests (with commits, reviews and comments), DEPLOYMENTS deployments and
# 400 incidents into an empty database, then `fulcrum flow` over all of them,
# measured in one run. Prints each figure, its ratio to the issue's target and
# peak memory. Targets: import >= 20,000 pull requests/s; flow < 1 s;
# memory < 1 GiB.
#
#   bench/import.sh [PRS] [DEPLOYMENTS] [RUNS]
#
# Defaults: 100000 20000 1. RUNS repeats each timing and keeps the median.
set -euo pipefail
prs=${1:-100000}
deployments=${2:-20000}
runs=${3:-1}
here=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release -q -p fulcrum --manifest-path "$here/Cargo.toml"
target=$(cd "$here" && cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
bin="$target/release/fulcrum"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ ! -x /usr/bin/time ]; then
  echo "bench/import.sh needs GNU time for peak memory: apt-get install time" >&2
  exit 2
fi

# Wall seconds and peak RSS (KiB) of a command.
measure() {
  /usr/bin/time -f '%e %M' -o "$work/time.txt" "$@" >/dev/null 2>"$work/stderr" || { cat "$work/stderr" >&2; return 1; }
  cat "$work/time.txt"
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# In a directory that is not a git repository, `flow` reports the stored events alone.
cd "$work"
events="$work/events.jsonl"
python3 "$here/bench/gen-events.py" --prs "$prs" --deployments "$deployments" --out "$events"

import_s=() import_kib=() flow_s=() flow_kib=() json_s=()
for _ in $(seq "$runs"); do
  rm -f "$work"/bench.db*
  read -r s kib < <(measure "$bin" --db "$work/bench.db" import "$events")
  import_s+=("$s"); import_kib+=("$kib")
  read -r s kib < <(FULCRUM_NOW=2025-03-01 measure "$bin" --db "$work/bench.db" flow --since 2023-03-01 --until 2025-03-01)
  flow_s+=("$s"); flow_kib+=("$kib")
  read -r s _ < <(FULCRUM_NOW=2025-03-01 measure "$bin" --db "$work/bench.db" flow --since 2023-03-01 --until 2025-03-01 --format json)
  json_s+=("$s")
done
imp=$(printf '%s\n' "${import_s[@]}" | median)
flo=$(printf '%s\n' "${flow_s[@]}" | median)
fjs=$(printf '%s\n' "${json_s[@]}" | median)
ikib=$(printf '%s\n' "${import_kib[@]}" | sort -n | tail -1)
fkib=$(printf '%s\n' "${flow_kib[@]}" | sort -n | tail -1)
rows=$(FULCRUM_NOW=2025-03-01 "$bin" --db "$work/bench.db" flow --since 2023-03-01 --until 2025-03-01 --format json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["rows"]))')

python3 - "$prs" "$deployments" "$imp" "$flo" "$fjs" "$ikib" "$fkib" "$rows" "$runs" <<'PY'
import sys
prs, deps, imp, flo, fjs, ikib, fkib, rows, runs = sys.argv[1:]
prs, deps, rows = int(prs), int(deps), int(rows)
imp, flo, fjs = float(imp), float(flo), float(fjs)
rate = prs / imp
print(f"{prs:,} pull requests, {deps:,} deployments; flow measured {rows:,} merged pull requests (median of {runs} runs)")
print(f"{'figure':<32} {'measured':>14} {'target':>14} {'ratio':>8}  ")
def line(name, value, target, ratio, ok):
    print(f"{name:<32} {value:>14} {target:>14} {ratio:>7.2f}x  {'pass' if ok else 'FAIL'}")
line("import, pull requests/s", f"{rate:,.0f}", ">= 20,000", rate / 20000, rate >= 20000)
line("import, seconds", f"{imp:.2f} s", "", imp / (prs / 20000), rate >= 20000)
line("flow (terminal), seconds", f"{flo:.2f} s", "< 1 s", flo / 1.0, flo < 1.0)
line("flow --format json, seconds", f"{fjs:.2f} s", "< 1 s", fjs / 1.0, fjs < 1.0)
gib = 1024 * 1024
line("import, peak memory", f"{int(ikib) / 1024:.0f} MiB", "< 1 GiB", int(ikib) / gib, int(ikib) < gib)
line("flow, peak memory", f"{int(fkib) / 1024:.0f} MiB", "< 1 GiB", int(fkib) / gib, int(fkib) < gib)
PY
