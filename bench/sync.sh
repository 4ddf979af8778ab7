#!/usr/bin/env bash
# Benchmark of issues 2 and 4: a full `fulcrum sync` from an empty database against
# `git log --numstat` over the same commits (branches and tags), measured side
# by side in one run; then a no-change re-sync and a `report` on the synced
# database, and `knowledge` / `hotspots` on it. Prints each figure, the ratio
# to git, and peak memory.
#
#   bench/sync.sh PATH-TO-REPO [RUNS]
#
# RUNS (default 1) repeats each timing and keeps the median.
# GIT_LOG_EXCLUDE="path ..." leaves paths out of the git baseline: git stops at
# a missing blob (stripped mirrors), fulcrum counts and skips it. For the
# u-boot mirror: GIT_LOG_EXCLUDE=tests/suites/test_suite_psa_crypto_op_fail.generated.data
set -euo pipefail
repo=${1:?usage: bench/sync.sh PATH-TO-REPO [RUNS]}
runs=${2:-1}
here=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release -q -p fulcrum --manifest-path "$here/Cargo.toml"
target=$(cd "$here" && cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
bin="$target/release/fulcrum"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Wall seconds and peak RSS (KiB) of a command, via GNU time when present.
measure() {
  local out="$work/time.txt"
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f '%e %M' -o "$out" "$@" >/dev/null 2>"$work/stderr" || { cat "$work/stderr" >&2; return 1; }
    cat "$out"
  else
    local start end
    start=$(date +%s.%N)
    "$@" >/dev/null 2>"$work/stderr" || { cat "$work/stderr" >&2; return 1; }
    end=$(date +%s.%N)
    echo "$(echo "$end - $start" | bc) 0"
  fi
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

commits=$(git --git-dir="$(git -C "$repo" rev-parse --git-dir 2>/dev/null || echo "$repo")" rev-list --branches --tags 2>/dev/null | wc -l || true)
[ "$commits" -gt 0 ] || commits=$(git -C "$repo" rev-list --branches --tags | wc -l)
echo "repository: $repo ($commits commits reachable from branches and tags)"

git_times=(); sync_times=(); sync_mem=0
for _ in $(seq "$runs"); do
  excludes=()
  for path in ${GIT_LOG_EXCLUDE:-}; do excludes+=(":(exclude)$path"); done
  if [ ${#excludes[@]} -gt 0 ]; then excludes=(-- . "${excludes[@]}"); fi
  read -r t _ < <(measure git -C "$repo" log --branches --tags --numstat "${excludes[@]}")
  git_times+=("$t")
  rm -f "$work"/db*
  read -r t m < <(measure "$bin" sync --repo "$repo" --db "$work/db")
  sync_times+=("$t"); [ "$m" -gt "$sync_mem" ] && sync_mem=$m
done
git_s=$(printf '%s\n' "${git_times[@]}" | median)
sync_s=$(printf '%s\n' "${sync_times[@]}" | median)
read -r resync_s _ < <(measure "$bin" sync --repo "$repo" --db "$work/db")
read -r report_s report_mem < <(measure "$bin" report --no-sync --no-knowledge --repo "$repo" --db "$work/db" --since 10.years)
read -r full_s full_mem < <(measure "$bin" report --no-sync --repo "$repo" --db "$work/db" --since 10.years)
read -r knowledge_s knowledge_mem < <(measure "$bin" knowledge --no-sync --repo "$repo" --db "$work/db")
read -r hotspots_s hotspots_mem < <(measure "$bin" hotspots --no-sync --repo "$repo" --db "$work/db")

printf 'git log --numstat     %8.2f s\n' "$git_s"
printf 'fulcrum sync (full)   %8.2f s   ratio to git: %.2fx   (target <= 0.60x)   peak %d MiB\n' \
  "$sync_s" "$(echo "$sync_s / $git_s" | bc -l)" "$((sync_mem / 1024))"
printf 'fulcrum sync (again)  %8.2f s   (target < 1 s)\n' "$resync_s"
printf 'fulcrum report        %8.2f s   (target < 1 s; DORA only, --no-knowledge)   peak %d MiB\n' "$report_s" "$((report_mem / 1024))"
printf 'fulcrum report (full) %8.2f s   (with the knowledge section)   peak %d MiB\n' "$full_s" "$((full_mem / 1024))"
printf 'fulcrum knowledge     %8.2f s   (target < 5 s)   peak %d MiB\n' "$knowledge_s" "$((knowledge_mem / 1024))"
printf 'fulcrum hotspots      %8.2f s   peak %d MiB\n' "$hotspots_s" "$((hotspots_mem / 1024))"
