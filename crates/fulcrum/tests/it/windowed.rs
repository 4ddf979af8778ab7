//! Reports read for a window (the whole graph by row id, in full only the
//! commits the window needs) say exactly what reading every commit says.
//! `FULCRUM_FULL_HISTORY=1` makes the binary read every commit; the tests
//! compare the two on histories built to reach outside the window: a
//! long-lived branch merged late, a revert (by abbreviated id) of a commit
//! released long before, a hotfix and a patch release, pull requests merged
//! long ago and an incident naming an old commit.

use std::path::Path;

use serde_json::Value;

use crate::harness::{Scratch, command, fulcrum, git, run, s};

/// Day `n` of the fixture's history at `hour`, as git wants it.
fn day(n: u32, hour: u32) -> String {
    let (month, day) = if n < 31 {
        (1, n + 1)
    } else if n < 59 {
        (2, n - 30)
    } else {
        (3, n - 58)
    };
    format!("2024-{month:02}-{day:02} {hour:02}:00")
}

/// The same day as an RFC 3339 time.
fn rfc(n: u32, hour: u32) -> String {
    format!("{}:00Z", day(n, hour).replace(' ', "T"))
}

fn commit(dir: &Path, n: u32, hour: u32, file: &str, subject: &str) -> String {
    std::fs::write(dir.join(file), format!("{subject} {n} {hour}\n")).unwrap();
    git(dir, &day(n, hour), &["add", "-A"]);
    git(dir, &day(n, hour), &["commit", "-q", "-m", subject]);
    git(dir, &day(n, hour), &["rev-parse", "HEAD"])
}

/// 80 days: a commit a day on main, a release tag every week, a branch
/// from day 3 merged on day 60, a revert on day 50 of day 5's commit, a
/// hotfix and a patch release on day 64. Returns the repository and the
/// ids of its commits by name (`day N` on main, `long 1`, `long 2`, `merge`).
fn history(scratch: &Scratch) -> (std::path::PathBuf, std::collections::HashMap<String, String>) {
    let dir = scratch.path("win");
    std::fs::create_dir_all(&dir).unwrap();
    git(&dir, &day(0, 8), &["init", "-q", "-b", "main"]);
    let mut ids = std::collections::HashMap::new();
    ids.insert("day 0".to_owned(), commit(&dir, 0, 9, "README", "Start"));
    git(&dir, &day(0, 12), &["tag", "-a", "v1.0.0", "-m", "v1.0.0"]);
    for n in 1..80u32 {
        if n == 3 {
            git(&dir, &day(3, 10), &["checkout", "-q", "-b", "long"]);
            ids.insert("long 1".to_owned(), commit(&dir, 3, 11, "long.txt", "Long-lived work"));
            ids.insert("long 2".to_owned(), commit(&dir, 4, 11, "long.txt", "More long-lived work"));
            git(&dir, &day(4, 12), &["checkout", "-q", "main"]);
        }
        let id = commit(&dir, n, 9, &format!("f{}.txt", n % 7), &format!("Change {n}"));
        ids.insert(format!("day {n}"), id);
        if n == 50 {
            // Abbreviated, as people write it by hand.
            let old = &ids["day 5"][..10];
            let message = format!("Revert \"Change 5\"\n\nThis reverts commit {old}.");
            std::fs::write(dir.join("f5.txt"), "reverted\n").unwrap();
            git(&dir, &day(50, 10), &["commit", "-q", "-a", "-m", &message]);
        }
        if n == 60 {
            git(&dir, &day(60, 10), &["merge", "-q", "--no-ff", "long", "-m", "Merge branch 'long'"]);
            ids.insert("merge".to_owned(), git(&dir, &day(60, 10), &["rev-parse", "HEAD"]));
        }
        if n == 64 {
            commit(&dir, 64, 11, "f1.txt", "hotfix: crash on start");
            git(&dir, &day(64, 12), &["tag", "-a", "v1.9.1", "-m", "patch"]);
        }
        if n % 7 == 0 && n != 63 {
            let tag = format!("v1.{}.0", n / 7);
            git(&dir, &day(n, 12), &["tag", "-a", &tag, "-m", &tag]);
        }
    }
    (dir, ids)
}

/// `fulcrum ARGS` as JSON, reading every commit or only what the window needs.
fn json(args: &[&str], full: bool) -> (Value, String) {
    let mut command = command(args);
    command.env("FULCRUM_TIMING", "1");
    if full {
        command.env("FULCRUM_FULL_HISTORY", "1");
    }
    let run = run(&mut command).ok();
    (run.json(), run.stderr)
}

#[test]
fn windowed_reads_match_full_reads() {
    let scratch = Scratch::new("windowed_reads");
    let (repo, ids) = history(&scratch);
    let db = scratch.db();
    fulcrum(["sync", "--repo", s(&repo), "--db", s(&db)]).ok();
    // Pull requests merged long ago (the branch's commits) and lately, and
    // incidents: one naming a commit released on day 7, one by time.
    let pr = |n: u32, merged: u32, merge: &str, first: u32| {
        format!(
            "{{\"type\":\"pull_request\",\"repo\":\"win\",\"number\":{n},\"author\":\"ann\",\"created_at\":\"{}\",\
             \"merged_at\":\"{}\",\"merge_commit\":\"{merge}\",\"commits\":[{{\"sha\":\"p{n}\",\"author\":\"ann\",\
             \"authored_at\":\"{}\"}}],\"reviews\":[{{\"author\":\"bob\",\"submitted_at\":\"{}\",\"state\":\"approved\"}}]}}\n",
            rfc(first, 9),
            rfc(merged, 10),
            rfc(first, 8),
            rfc(merged, 9)
        )
    };
    let events = [
        pr(1, 4, &ids["long 2"], 3),
        pr(2, 60, &ids["merge"], 58),
        pr(3, 70, &ids["day 69"], 69),
        pr(4, 20, "0000000000000000000000000000000000000000", 19),
        format!(
            "{{\"type\":\"incident\",\"id\":\"INC-1\",\"service\":\"win\",\"started_at\":\"{}\",\"resolved_at\":\"{}\",\
             \"commit\":\"{}\"}}\n",
            rfc(66, 9),
            rfc(66, 15),
            ids["day 7"]
        ),
        format!(
            "{{\"type\":\"incident\",\"id\":\"INC-2\",\"service\":\"win\",\"started_at\":\"{}\",\"resolved_at\":\"{}\"}}\n",
            rfc(71, 13),
            rfc(72, 9)
        ),
    ]
    .concat();
    let file = scratch.path("events.jsonl");
    std::fs::write(&file, events).unwrap();
    let windows = [(0, 79), (40, 79), (49, 57), (55, 72), (62, 66), (10, 20), (75, 79)];
    for with_events in [false, true] {
        if with_events {
            fulcrum(["--db", s(&db), "import", s(&file)]).ok();
        }
        let mut narrowed = false;
        for (since, until) in windows {
            let (since, until) = (day(since, 0)[..10].to_owned(), day(until, 23)[..10].to_owned());
            for what in ["report", "flow"] {
                let mut args =
                    vec![what, "--repo", s(&repo), "--db", s(&db), "--no-sync", "--since", &since, "--until", &until];
                args.extend(["--format", "json"]);
                if what == "report" {
                    args.push("--no-knowledge");
                }
                let (full, _) = json(&args, true);
                let (windowed, stderr) = json(&args, false);
                assert_eq!(windowed, full, "{what} {since}..{until} (events: {with_events})");
                let read = stderr.lines().find_map(|l| l.strip_prefix("history: ")).unwrap_or_else(|| {
                    panic!("{what} {since}..{until}: the window's history was not read alone:\n{stderr}")
                });
                let (part, whole) = read.split_once(" of ").unwrap();
                let whole: usize = whole.split(' ').next().unwrap().parse().unwrap();
                narrowed |= part.parse::<usize>().unwrap() < whole;
            }
        }
        assert!(narrowed, "some window reads fewer commits than the history holds");
    }
    // Knowledge and hotspots read the graph and the authors alone.
    for args in [
        vec!["knowledge", "--repo", s(&repo), "--db", s(&db), "--no-sync", "--format", "json"],
        vec!["knowledge", "--repo", s(&repo), "--db", s(&db), "--no-sync", "--at", "v1.5.0", "--format", "json"],
        vec!["hotspots", "--repo", s(&repo), "--db", s(&db), "--no-sync", "--since", "2024-02-01", "--format", "json"],
    ] {
        let (full, _) = json(&args, true);
        let (graph, _) = json(&args, false);
        assert_eq!(graph, full, "{args:?}");
    }
}
