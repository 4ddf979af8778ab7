#!/usr/bin/env bash
# Reads every .ics file under DIR with `fulcrum focus --calendar` over a
# wide window (1995–2030) and reports how many were read, how many gave
# warnings, and any that failed (a crash or an error exit): a robustness
# check on real calendars, such as the test suites of iCalendar libraries.
#
#   bench/ics-sweep.sh DIR
set -euo pipefail
dir=${1:?usage: bench/ics-sweep.sh DIR}
here=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release -q -p fulcrum --manifest-path "$here/Cargo.toml"
target=$(cd "$here" && cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
bin="$target/release/fulcrum"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
files=0; warned=0; failed=0
while IFS= read -r -d '' file; do
  files=$((files + 1))
  if FULCRUM_NOW=2030-01-01 timeout 60 "$bin" focus --calendar "$file" --since 1995-01-01 --db "$work/none.db" \
      --format json >"$work/out.json" 2>"$work/err"; then
    if python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["warnings"] else 1)' "$work/out.json"; then
      warned=$((warned + 1))
    fi
  else
    failed=$((failed + 1)); echo "failed: $file: $(tail -1 "$work/err")"
  fi
done < <(find "$dir" -name '*.ics' -print0 | sort -z)
echo "$files calendars: $((files - failed)) read ($warned with warnings), $failed failed"
