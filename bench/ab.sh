#!/usr/bin/env bash
# Two builds of fulcrum side by side on one command: runs OLD and NEW in
# turn (old, new, old, new, ...) N times each and prints each one's
# fastest, median and slowest wall time. On a shared 2-core machine one
# run of a sub-second command varies by a tenth of a second and the
# machine's speed drifts from hour to hour: compare builds this way, not
# against a figure measured earlier.
#
#   bench/ab.sh OLD NEW N ARGS...
#
# e.g. bench/ab.sh /tmp/fulcrum-before target/release/fulcrum 11 --db org.db \
#        --config org.toml report --team team-00 --no-knowledge --since 90.days
# (set FULCRUM_NOW for a window that does not move between runs).
set -euo pipefail
[ $# -ge 4 ] || { echo "usage: bench/ab.sh OLD NEW N ARGS..." >&2; exit 2; }
old=$1 new=$2 n=$3
shift 3
[ -x /usr/bin/time ] || { echo "bench/ab.sh needs GNU time: apt-get install time" >&2; exit 2; }
times=$(mktemp)
trap 'rm -f "$times"' EXIT
for _ in $(seq "$n"); do
  for which in old new; do
    bin=$old
    [ "$which" = new ] && bin=$new
    /usr/bin/time -f "$which %e" -a -o "$times" "$bin" "$@" >/dev/null 2>&1 || {
      echo "bench/ab.sh: $bin $* failed" >&2
      exit 1
    }
  done
done
for which in old new; do
  grep "^$which " "$times" | awk '{print $2}' | sort -n |
    awk -v w="$which" '{a[NR] = $1} END {printf "%s: fastest %.2f s, median %.2f s, slowest %.2f s (%d runs)\n", w, a[1], a[int((NR + 1) / 2)], a[NR], NR}'
done
