#!/usr/bin/env bash
# Takes the README's screenshots of the team server's pages with headless
# Chromium, from generated data, so the pictures stay current:
#   docs/screenshots.sh            (writes docs/screenshots/*.png)
# Data: the test fixtures' `delivery` and `team` repositories
# (crates/fulcrum/tests/fixtures/make-repos.sh) and bench/gen-events.py's
# events (2,000 pull requests, 400 deployments), at a fixed "now".
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
command -v chromium >/dev/null || { echo "docs/screenshots.sh needs chromium: apt-get install chromium" >&2; exit 2; }
cargo build --release -q -p fulcrum --manifest-path "$here/Cargo.toml"
target=$(cd "$here" && cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
bin="$target/release/fulcrum"
work=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
export FULCRUM_NOW=2025-03-01
bash "$here/crates/fulcrum/tests/fixtures/make-repos.sh" "$work/repos" >/dev/null
python3 "$here/bench/gen-events.py" --prs 2000 --deployments 400 --out "$work/events.jsonl"
"$bin" import "$work/events.jsonl" --db "$work/db.sqlite" 2>/dev/null
# Calendars of six people for the focus page (bench/gen-calendars.py, 2025).
python3 "$here/bench/gen-calendars.py" --people 6 --year 2025 --out "$work/calendars" >/dev/null
"$bin" serve --db "$work/db.sqlite" --repo "$work/repos/delivery" --repo "$work/repos/team" \
  --config "$work/calendars/people.toml" --listen 127.0.0.1:0 --sync-every 0 2>"$work/serve.log" &
server=$!
for _ in $(seq 100); do grep -q "fulcrum serves" "$work/serve.log" && break; sleep 0.2; done
address=$(sed -n 's|^fulcrum serves http://\([^/]*\)/.*|\1|p' "$work/serve.log")
mkdir -p "$here/docs/screenshots"
shot() { # name path
  HOME="$work" chromium --headless --no-sandbox --disable-gpu --no-first-run --hide-scrollbars \
    --user-data-dir="$work/profile" --window-size=1100,1800 \
    --screenshot="$here/docs/screenshots/$1.png" "http://$address$2" 2>/dev/null
  echo "docs/screenshots/$1.png"
}
window="service=svc0&since=2025-01-01&until=2025-03-01"
shot delivery "/?$window"
shot deployments "/deployments?$window"
shot flow "/flow?$window"
shot knowledge "/knowledge?repo=team"
shot brief "/brief?$window"
shot focus "/focus?since=2025-01-06&until=2025-03-01"
