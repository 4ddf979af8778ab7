#!/usr/bin/env bash
# Benchmark of issue 17 (scale): generated repositories of N commits
# (bench/gen-repo.py: a 2,000-file directory, deep paths, small and large
# changes, merges, release tags) and any real repositories given, each
# measured side by side in one run:
#
#   git log --branches --tags --numstat   the baseline
#   fulcrum sync (empty database)         wall, ratio to git, peak RSS, peak anonymous memory
#   fulcrum sync (again, nothing new)
#   fulcrum report --no-sync --no-knowledge --since 90.days
#   fulcrum flow --no-sync --since 90.days
#   fulcrum knowledge --no-sync
#   fulcrum hotspots --no-sync --since 90.days
#   database size
#
#   bench/scale.sh [SIZES] [REPO ...]
#
# SIZES is a comma-separated list of commit counts (default 100000; the
# issue's table is 100000,600000,1200000; "" for real repositories alone). Generated repositories are kept in
# $FULCRUM_BENCH_CACHE (default ~/.cache/fulcrum-bench) and reused: making
# one costs about 1.2 ms a commit (git fast-import rewriting the wide tree)
# and repacking it (`git repack -a -d -f`, as a clone or gc leaves a
# repository) 0.6 ms; both forms are measured.
# REPO arguments (git/git, u-boot clones) are measured in the same table.
# FULCRUM_BENCH_RUNS=N alternates git log and the full sync N times and
# keeps the fastest of each (this machine's runs move by up to 20%).
# Targets (issue 17): sync <= 0.5x git log on generated repositories and
# <= 0.35x on git/git and u-boot; report and flow < 1 s and < 300 MiB at
# 1.2M commits; knowledge < 2 s; anonymous memory during sync < 1 GiB.
set -euo pipefail
sizes=${1-100000}
shift || true
here=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release -q -p fulcrum --manifest-path "$here/Cargo.toml"
target=$(cd "$here" && cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
bin="$target/release/fulcrum"
cache=${FULCRUM_BENCH_CACHE:-$HOME/.cache/fulcrum-bench}
mkdir -p "$cache"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Runs a command; prints wall seconds, peak RSS (GNU time) and peak
# anonymous memory (MiB; RssAnon sampled from /proc every 50 ms, so a run
# shorter than that shows 0).
measure() {
  local start end pid child anon=0 a
  start=$(date +%s.%N)
  /usr/bin/time -f '%M' -o "$work/rss" "$@" >/dev/null 2>"$work/stderr" &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    child=$(pgrep -P "$pid" | head -1 || true)
    if [ -n "$child" ] && [ -r "/proc/$child/status" ]; then
      a=$(awk '/^RssAnon:/ {print $2}' "/proc/$child/status" 2>/dev/null || true)
      [ -n "$a" ] && [ "$a" -gt "$anon" ] && anon=$a
    fi
    sleep 0.05
  done
  wait "$pid" || { cat "$work/stderr" >&2; return 1; }
  end=$(date +%s.%N)
  echo "$(echo "$end - $start" | bc) $(( $(tail -1 "$work/rss") / 1024 )) $((anon / 1024))"
}

repos=()
IFS=, read -r -a counts <<< "$sizes"
for n in "${counts[@]}"; do
  dir="$cache/gen-$n.git"
  if [ ! -d "$dir" ]; then
    echo "generating $n commits into $dir (once)" >&2
    git init -q --bare "$dir.tmp"
    python3 "$here/bench/gen-repo.py" --commits "$n" | git -C "$dir.tmp" fast-import --quiet
    git -C "$dir.tmp" symbolic-ref HEAD refs/heads/main
    mv "$dir.tmp" "$dir"
  fi
  # As fast-import wrote it (each version a delta against the one before),
  # and repacked as a clone or `git gc` leaves it (newer versions as bases).
  # FULCRUM_BENCH_FORMS=fast-import measures the first form only (repacking
  # 1.2M commits takes about 15 minutes).
  if [ "${FULCRUM_BENCH_FORMS:-both}" = fast-import ]; then
    repos+=("$dir")
    continue
  fi
  if [ ! -d "$dir.repacked" ]; then
    echo "repacking $dir (once)" >&2
    cp -r "$dir" "$dir.repacked.tmp"
    git -C "$dir.repacked.tmp" repack -a -d -f -q
    mv "$dir.repacked.tmp" "$dir.repacked"
  fi
  repos+=("$dir" "$dir.repacked")
done
repos+=("$@")

printf '%-28s %9s %9s %7s %10s %10s %9s %9s %9s %9s %9s %8s\n' \
  repository commits "git log" sync ratio "sync RSS" "sync anon" again report flow knowledge db
for repo in "${repos[@]}"; do
  gitdir=$(git -C "$repo" rev-parse --absolute-git-dir)
  # A bare mirror named .../NAME/repo reads better as NAME.
  name=$(basename "$repo")
  case $name in repo | .git) name=$(basename "$(dirname "$repo")") ;; esac
  commits=$(git --git-dir="$gitdir" rev-list --branches --tags | wc -l)
  # git log and the full sync alternate FULCRUM_BENCH_RUNS times (default
  # 1); the fastest of each counts: on a shared 2-core machine one run
  # moves by up to 20%.
  git_s=; sync_s=
  for _ in $(seq "${FULCRUM_BENCH_RUNS:-1}"); do
    rm -f "$work"/db*
    read -r g _ _ < <(measure git --git-dir="$gitdir" log --branches --tags --numstat)
    read -r s rss anon < <(measure "$bin" sync --repo "$repo" --db "$work/db")
    if [ -z "$git_s" ] || [ "$(echo "$g < $git_s" | bc)" = 1 ]; then git_s=$g; fi
    if [ -z "$sync_s" ] || [ "$(echo "$s < $sync_s" | bc)" = 1 ]; then sync_s=$s; sync_rss=$rss; sync_anon=$anon; fi
  done
  read -r again_s _ _ < <(measure "$bin" sync --repo "$repo" --db "$work/db")
  # The window ends at the repository's last commit, so a generated history reads as recent.
  last=$(git --git-dir="$gitdir" log -1 --format=%cI --branches --tags)
  now=$(date -u -d "$last + 1 day" +%Y-%m-%dT%H:%M:%SZ)
  read -r report_s report_rss report_anon < <(FULCRUM_NOW=$now measure "$bin" report --no-sync --no-knowledge --repo "$repo" --db "$work/db" --since 90.days)
  read -r flow_s flow_rss flow_anon < <(FULCRUM_NOW=$now measure "$bin" flow --no-sync --repo "$repo" --db "$work/db" --since 90.days)
  read -r knowledge_s knowledge_rss knowledge_anon < <(FULCRUM_NOW=$now measure "$bin" knowledge --no-sync --repo "$repo" --db "$work/db")
  read -r hotspots_s _ _ < <(FULCRUM_NOW=$now measure "$bin" hotspots --no-sync --repo "$repo" --db "$work/db" --since 90.days)
  size=$(du -sm "$work" | awk '{print $1}')
  printf '%-28s %9d %8.2fs %6.2fs %9.2fx %7d MiB %7d MiB %8.2fs %8.2fs %8.2fs %8.2fs %5d MiB\n' \
    "$name" "$commits" "$git_s" "$sync_s" "$(echo "$sync_s / $git_s" | bc -l)" "$sync_rss" "$sync_anon" \
    "$again_s" "$report_s" "$flow_s" "$knowledge_s" "$size"
  # Peak RSS counts the database pages SQLite maps (shared, reclaimable);
  # anonymous memory is what the process itself holds.
  printf '%-28s peak RSS / anonymous: report %d / %d MiB, flow %d / %d MiB, knowledge %d / %d MiB; hotspots %.2f s\n' \
    "" "$report_rss" "$report_anon" "$flow_rss" "$flow_anon" "$knowledge_rss" "$knowledge_anon" "$hotspots_s"
done
