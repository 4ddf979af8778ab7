//! People: goals measured by fulcrum's metrics from the command line (the
//! SMART check, baseline, progress after a later sync, closing), what bad
//! goals are told, a goal's history through `migrate`, and `person forget`.

use crate::events::EVENTS;
use crate::harness::*;

const HOUR: f64 = 3600.0;

/// Runs the binary in the scratch directory at `now` (a UTC time).
fn at(scratch: &Scratch, now: &str, args: &[&str]) -> Run {
    let db = scratch.db();
    let mut all = vec!["--db", s(&db)];
    all.extend_from_slice(args);
    run(command(all).current_dir(&scratch.dir).env("FULCRUM_NOW", now))
}

/// A pull request merged on 2025-02-10: opened 09:00, reviewed 10:00
/// (pickup 1 h), merged 12:00.
const LATER: &str = r#"{"type":"pull_request","repo":"acme/shop","number":5,"author":"ann","created_at":"2025-02-10T09:00:00Z","merged_at":"2025-02-10T12:00:00Z","merge_commit":"m5","commits":[{"sha":"c5","author":"ann","authored_at":"2025-02-10T08:00:00Z"}],"reviews":[{"author":"bob","submitted_at":"2025-02-10T10:00:00Z","state":"approved"}]}
"#;

const GOAL: [&str; 16] = [
    "goal",
    "add",
    "--title",
    "Pickup under two hours",
    "--metric",
    "pickup.p75",
    "--scope",
    "service:shop",
    "--target",
    "2h",
    "--due",
    "2025-04-01",
    "--owner",
    "ann",
    "--window",
    "31",
];

#[test]
fn a_goal_is_measured_by_the_flow_and_tracked_after_each_sync() {
    let scratch = Scratch::new("goal_measured");
    std::fs::write(scratch.path("events.jsonl"), EVENTS).unwrap();
    at(&scratch, "2025-01-31T00:00:00Z", &["import", "events.jsonl"]).ok();

    // Bad goals: each named, exit 2, nothing stored.
    let mut unknown = GOAL.to_vec();
    unknown[5] = "velocity";
    at(&scratch, "2025-01-31T00:00:00Z", &unknown).bad_input(&["--metric velocity", "pickup.p75"]);
    let mut past = GOAL.to_vec();
    past[11] = "2025-01-01";
    at(&scratch, "2025-01-31T00:00:00Z", &past).bad_input(&["--due 2025-01-01", "not in the future"]);
    let mut met = GOAL.to_vec();
    met[9] = "5h";
    at(&scratch, "2025-01-31T00:00:00Z", &met).bad_input(&["already met", "pickup.p75 is 3h 45m"]);
    let mut empty = GOAL.to_vec();
    empty[7] = "service:nothing-here";
    at(&scratch, "2025-01-31T00:00:00Z", &empty).bad_input(&["no data in service:nothing-here", "--anyway"]);
    at(&scratch, "2025-01-31T00:00:00Z", &["goal", "list"]).ok().stdout.contains("no goals");

    // Pickup over [2024-12-31, 2025-01-31): #1 4 h, #2 3 h (#3 has none): p75 3.75 h.
    let mut args = GOAL.to_vec();
    args.extend(["--format", "json"]);
    let set = at(&scratch, "2025-01-31T00:00:00Z", &args).ok();
    assert!(set.stderr.contains("warning: relevant: no parent goal and no reason"), "{}", set.stderr);
    let goal = set.json();
    assert_eq!(goal["id"], 1);
    assert_eq!(goal["baseline"].as_f64(), Some(3.75 * HOUR));
    assert_eq!(goal["target"].as_f64(), Some(2.0 * HOUR));
    assert_eq!(goal["direction"], "at_most");
    assert_eq!(goal["visibility"], "private");
    let letters: Vec<(&str, Option<bool>)> = goal["smart"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["letter"].as_str().unwrap(), l["passed"].as_bool()))
        .collect();
    assert_eq!(
        letters,
        [
            ("specific", Some(true)),
            ("measurable", Some(true)),
            // No comparable window of 2024 had a merged pull request.
            ("achievable", None),
            ("relevant", Some(false)),
            ("time_bound", Some(true)),
        ]
    );
    assert_eq!(goal["progress"]["status"], "pending");

    // A later pull request and a sync: over [2025-01-12, 2025-02-12) only #5 (pickup 1 h) was merged.
    std::fs::write(scratch.path("later.jsonl"), LATER).unwrap();
    at(&scratch, "2025-02-12T00:00:00Z", &["import", "later.jsonl"]).ok();
    let measured = at(&scratch, "2025-02-12T00:00:00Z", &["goal", "measure", "--format", "json"]).ok();
    assert!(measured.stderr.contains("1 goals measured"), "{}", measured.stderr);
    let goal = &measured.json()[0];
    let progress = &goal["progress"];
    assert_eq!(progress["current"].as_f64(), Some(HOUR));
    // From 3.75 h to 1 h against a target of 2 h: (1 - 3.75) / (2 - 3.75) of the way.
    assert!((progress["share"].as_f64().unwrap() - 2.75 / 1.75).abs() < 1e-9, "{progress}");
    assert_eq!(progress["status"], "on_track");
    assert_eq!(goal["values"].as_array().unwrap().len(), 2);

    let shown = at(&scratch, "2025-02-12T00:00:00Z", &["goal", "show", "1"]).ok().stdout;
    assert!(shown.contains("target      <= 2h 0m by 2025-04-01"), "{shown}");
    assert!(shown.contains("WARN relevant"), "{shown}");
    assert!(shown.contains("2025-02-12"), "{shown}");

    // A goal's history survives a migration into another database.
    if postgres().is_none() {
        let copy = scratch.other_db("copy");
        fulcrum(["migrate", "--from", s(&scratch.db()), "--to", s(&copy)]).ok();
        let copied = run(command(["--db", s(&copy), "goal", "show", "1", "--format", "json"])
            .env("FULCRUM_NOW", "2025-02-12T00:00:00Z"))
        .ok()
        .json();
        assert_eq!(copied, goal.clone(), "the copy shows the same goal, values and progress");
    }

    let closed = at(&scratch, "2025-02-13T00:00:00Z", &["goal", "close", "1"]).ok().stdout;
    assert!(closed.contains("closed      achieved"), "{closed}");
    at(&scratch, "2025-02-13T00:00:00Z", &["goal", "close", "1"]).bad_input(&["already closed"]);
    assert!(at(&scratch, "2025-02-13T00:00:00Z", &["goal", "list"]).ok().stdout.contains("no goals"));
    let all = at(&scratch, "2025-02-13T00:00:00Z", &["goal", "list", "--all"]).ok().stdout;
    assert!(all.contains("[closed: achieved]"), "{all}");
}

#[test]
fn a_manual_goal_takes_reported_values() {
    let scratch = Scratch::new("goal_manual");
    let now = "2025-03-01T00:00:00Z";
    let set = at(
        &scratch,
        now,
        &[
            "goal",
            "add",
            "--title",
            "Finish the Rust course",
            "--owner",
            "bob",
            "--due",
            "2025-06-01",
            "--target",
            "12",
        ],
    )
    .ok();
    assert!(set.stdout.contains("manual: updated in check-ins"), "{}", set.stdout);
    assert!(set.stderr.contains("specific: no metric"), "{}", set.stderr);
    at(&scratch, "2025-03-10T00:00:00Z", &["goal", "record", "1", "--value", "3", "--note", "chapter 3"]).ok();
    let shown = at(&scratch, "2025-04-01T00:00:00Z", &["goal", "record", "1", "--value", "6"]).ok().stdout;
    // First value 3 (the baseline), then 6 of 12 three weeks later.
    assert!(shown.contains("6 now (3 at the start), 33% of the way"), "{shown}");
    at(&scratch, now, &["goal", "show", "7"]).bad_input(&["no goal 7"]);
}

#[test]
fn forgetting_a_person_erases_them_and_keeps_them_out() {
    let scratch = Scratch::new("person_forget");
    std::fs::write(scratch.path("events.jsonl"), EVENTS).unwrap();
    let now = "2025-01-31T00:00:00Z";
    at(&scratch, now, &["import", "events.jsonl"]).ok();
    let mut args = GOAL.to_vec();
    args.extend(["--reason", "reviews wait"]);
    at(&scratch, now, &args).ok();

    let dry = at(&scratch, now, &["person", "forget", "ann"]).ok();
    assert!(dry.stderr.contains("pass --yes"), "{}", dry.stderr);
    let forgotten = at(&scratch, now, &["person", "forget", "ann", "--yes"]).ok().json();
    assert_eq!(forgotten["goals"], 1);
    assert_eq!(forgotten["pull_request_rows"], 2, "#1 and its commit");

    let stored = |sql: &str| open_db(&scratch.db()).column::<String>(sql);
    let names = "SELECT author FROM pull_requests UNION ALL SELECT author FROM pr_commits \
                 UNION ALL SELECT author FROM pr_activities";
    let before = stored(names);
    assert!(!before.iter().any(|a| a == "ann"), "{before:?}");
    assert!(before.iter().any(|a| a.starts_with("forgotten-")), "{before:?}");
    assert_eq!(stored("SELECT COALESCE(raw, '') FROM pull_requests WHERE number = 1"), [""]);
    // Importing her pull request again brings in the pseudonym, not the name.
    at(&scratch, now, &["import", "events.jsonl"]).ok();
    let after = stored(names);
    assert!(!after.iter().any(|a| a == "ann"), "{after:?}");
    assert_eq!(after.len(), before.len());
    let goals = at(&scratch, now, &["goal", "list", "--all", "--format", "json"]).ok().json();
    assert_eq!(goals, serde_json::json!([]));
}
