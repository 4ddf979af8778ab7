//! Work items from an events file: the feature value stream in `flow`
//! (hand-worked below, on top of `events::EVENTS`), statuses mapped by the
//! configuration, items linked by explicit links and by keys in pull-request
//! titles, and the forecast counting items.

use crate::events::EVENTS;
use crate::harness::*;

const H: f64 = 3600.0;

/// A pull request whose title names SHOP-3 (commit 10th 08:00, opened 09:00,
/// merged 12:00, never deployed), and five items. Times are UTC.
///
/// - SHOP-1: created 2nd 09:00, in progress 6th 07:00, done 7th 10:00, links
///   #1 (commit 6th 08:00, opened 09:00, merged 17:00, deployed 19:00):
///   backlog 94 h, to first commit 1 h, to ready 1 h, to merged 8 h, to
///   deployed 2 h, cycle 27 h.
/// - SHOP-2: created 7th 00:00 (selected), in progress 8th 08:00, waiting for
///   QA (mapped to to-do by the configuration) 12:00–16:00, done 9th 08:00,
///   links #2 (first commit 7th 08:00, ready 8th 09:00, merged 14:00,
///   deployed 16:00): backlog 32 h, to first commit −24 h (dropped), to ready
///   25 h, to merged 5 h, to deployed 2 h, cycle 24 h, waiting 4 h.
/// - SHOP-3: started 10th 08:30 (as created), done 13th 09:00, linked to #7
///   by its title: backlog 0, to first commit −30 min (dropped), to ready
///   1 h, to merged 3 h, not deployed, cycle 72.5 h.
/// - SHOP-4: in code review since 11th: in progress.
/// - SHOP-5: "Shipped" on 25th, a status in no category: in progress, and
///   a warning.
const ITEMS: &str = r#"{"type":"pull_request","repo":"acme/shop","number":7,"author":"ann","title":"SHOP-3 fix rounding","created_at":"2025-01-10T09:00:00Z","merged_at":"2025-01-10T12:00:00Z","merge_commit":"m7","commits":[{"sha":"c7","author":"ann","authored_at":"2025-01-10T08:00:00Z"}]}
{"type":"item","id":"SHOP-1","title":"One-click checkout","created_at":"2025-01-02T09:00:00Z","transitions":[{"at":"2025-01-06T07:00:00Z","status":"In Progress"},{"at":"2025-01-07T10:00:00Z","status":"Done"}],"links":["acme/shop#1"]}
{"type":"item","id":"SHOP-2","project":"shop","created_at":"2025-01-07T00:00:00Z","transitions":[{"at":"2025-01-07T00:00:00Z","status":"Selected for Development"},{"at":"2025-01-08T08:00:00Z","status":"In Progress"},{"at":"2025-01-08T12:00:00Z","status":"Waiting for QA"},{"at":"2025-01-08T16:00:00Z","status":"In Progress"},{"at":"2025-01-09T08:00:00Z","status":"Done","category":"done"}],"links":["acme/shop#2"]}
{"type":"item","id":"SHOP-3","created_at":"2025-01-10T08:30:00Z","started_at":"2025-01-10T08:30:00Z","done_at":"2025-01-13T09:00:00Z"}
{"type":"item","id":"SHOP-4","created_at":"2025-01-10T08:00:00Z","transitions":[{"at":"2025-01-11T09:00:00Z","status":"Code Review"}]}
{"type":"item","id":"SHOP-5","created_at":"2025-01-15T08:00:00Z","transitions":[{"at":"2025-01-20T09:00:00Z","status":"In Progress"},{"at":"2025-01-25T09:00:00Z","status":"Shipped"}]}
"#;

const CONFIG: &str = "[items]\ntodo = [\"Waiting for QA\"]\n";

fn run_in(scratch: &Scratch, args: &[&str]) -> Run {
    let db = scratch.db();
    let config = scratch.path("fulcrum.toml");
    let mut all = vec!["--db", s(&db), "--config", s(&config)];
    all.extend_from_slice(args);
    run(command(all).current_dir(&scratch.dir))
}

fn imported(test: &str) -> Scratch {
    let scratch = Scratch::new(test);
    std::fs::write(scratch.path("events.jsonl"), EVENTS).unwrap();
    std::fs::write(scratch.path("items.jsonl"), ITEMS).unwrap();
    std::fs::write(scratch.path("fulcrum.toml"), CONFIG).unwrap();
    run_in(&scratch, &["import", "events.jsonl"]).ok();
    let run = run_in(&scratch, &["import", "items.jsonl"]).ok();
    assert!(run.stderr.contains("stored 1 pull requests, 0 deployments, 0 incidents, 5 work items"), "{}", run.stderr);
    scratch
}

#[test]
fn the_feature_value_stream_is_measured_through_linked_pull_requests() {
    let scratch = imported("items_stream");
    let flow =
        run_in(&scratch, &["flow", "--since", "2025-01-01", "--until", "2025-02-01", "--format", "json"]).ok().json();
    let items = &flow["items"];
    assert_eq!((items["items"].as_u64(), items["done"].as_u64()), (Some(5), Some(3)));
    assert_eq!((items["without_pull_requests"].as_u64(), items["in_progress"].as_u64()), (Some(0), Some(2)));
    let rows = items["rows"].as_array().unwrap();
    let keys: Vec<&str> = rows.iter().map(|r| r["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["SHOP-1", "SHOP-2", "SHOP-3"]);
    let hours = |row: &serde_json::Value, field: &str| row[field].as_f64().map(|v| v / H);
    assert_eq!(
        ["backlog", "to_first_commit", "to_ready", "to_merged", "to_deployed", "cycle", "waiting"]
            .map(|f| hours(&rows[1], f)),
        [Some(32.0), Some(-24.0), Some(25.0), Some(5.0), Some(2.0), Some(24.0), Some(4.0)]
    );
    assert_eq!(rows[2]["pull_requests"], serde_json::json!(["acme/shop#7"]), "linked by the key in its title");
    assert_eq!(rows[2]["to_deployed"], serde_json::Value::Null);
    let median = |step: &str| {
        let found = items["steps"].as_array().unwrap().iter().find(|s| s["step"] == step).unwrap();
        (found["summary"]["value"]["median"].as_f64().map(|v| v / H), found["summary"]["value"]["count"].as_u64())
    };
    assert_eq!(median("backlog"), (Some(32.0), Some(3)));
    assert_eq!(median("to_first_commit"), (Some(1.0), Some(1)), "negative spans dropped");
    assert_eq!(median("to_ready"), (Some(1.0), Some(3)));
    assert_eq!(median("to_merged"), (Some(5.0), Some(3)));
    assert_eq!(median("to_deployed"), (Some(2.0), Some(2)));
    assert_eq!(median("cycle"), (Some(27.0), Some(3)));
    assert_eq!(median("waiting"), (Some(0.0), Some(3)));
    let warnings = flow["warnings"].to_string();
    assert!(warnings.contains("`Shipped` (1)"), "{warnings}");

    let text = run_in(&scratch, &["flow", "--since", "2025-01-01", "--until", "2025-02-01"]).ok().stdout;
    assert!(
        text.contains("work items: 3 done in the window (0 without a pull request), 2 in progress, 5 stored"),
        "{text}"
    );
    assert!(text.contains("ready→merged"), "{text}");

    // The flow page shows the stream, from the API's answer.
    let state = crate::server::state(&scratch.db(), &[]);
    let (status, _, page) = crate::server::get(&state, "/flow?since=2025-01-01&until=2025-02-01");
    assert_eq!(status, axum::http::StatusCode::OK, "{page}");
    assert!(page.contains("data-items-done=\"3\"") && page.contains("ready → merged"), "{page}");

    // Without items the flow's JSON has no `items` at all.
    let plain = Scratch::new("items_none");
    std::fs::write(plain.path("events.jsonl"), EVENTS).unwrap();
    std::fs::write(plain.path("fulcrum.toml"), "").unwrap();
    run_in(&plain, &["import", "events.jsonl"]).ok();
    let flow = run_in(&plain, &["flow", "--since", "2025-01-01", "--format", "json"]).ok().json();
    assert!(flow.get("items").is_none());
}

#[test]
fn the_forecast_counts_items_when_they_are_stored() {
    let scratch = imported("items_forecast");
    let items = run_in(&scratch, &["forecast", "--items", "3", "--format", "json"]).ok().json();
    assert_eq!(items["throughput_of"], "work items done per day");
    assert_eq!(items["sample_items"], 3);
    let prs = run_in(&scratch, &["forecast", "--items", "3", "--count", "prs", "--format", "json"]).ok().json();
    assert_eq!(prs["throughput_of"], "pull requests merged per day (bots' left out)");
    assert_eq!(prs["sample_items"], 4);
    let text = run_in(&scratch, &["forecast", "--items", "3"]).ok().stdout;
    assert!(text.starts_with("When will 3 work items be done?"), "{text}");
    run_in(&scratch, &["forecast", "--items", "3", "--count", "stories"]).bad_input(&["--count stories"]);
}

#[test]
fn bad_item_lines_are_named() {
    let scratch = Scratch::new("items_bad");
    std::fs::write(scratch.path("fulcrum.toml"), "").unwrap();
    let lines = [
        r#"{"type":"item","id":"A-1","created_at":"2025-01-01T00:00:00Z","transitions":[{"at":"2025-01-02T00:00:00Z","status":"Go","category":"started"}]}"#,
        r#"{"type":"item","id":"A-2","created_at":"2025-01-01T00:00:00Z","links":["not a link"]}"#,
        r#"{"type":"item","id":"A-3","created_at":"2025-01-01T00:00:00Z","started_at":"2025-01-03T00:00:00Z","done_at":"2025-01-02T00:00:00Z"}"#,
        r#"{"type":"item","id":"A-4","created_at":"2025-01-01T00:00:00Z"}"#,
    ];
    std::fs::write(scratch.path("bad.jsonl"), lines.join("\n")).unwrap();
    let run = run_in(&scratch, &["import", "bad.jsonl"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    for needle in [
        "line 1: transition category `started` of status `Go`; expected todo, in_progress or done",
        "line 2: link `not a link`; expected a pull request, `owner/name#number`",
        "line 3: `done_at` is before `started_at`",
        "3 invalid lines skipped (the 1 valid ones are stored)",
    ] {
        assert!(run.stderr.contains(needle), "{needle}: {}", run.stderr);
    }
}

/// A commit whose message names an item's key links the item to the pull
/// request carrying it, with no key in the pull request's title.
#[test]
fn keys_in_commit_messages_link_items_to_their_pull_requests() {
    let scratch = Scratch::new("items_commits");
    let repo = scratch.copy_repo("delivery");
    std::fs::write(repo.join("gift.txt"), "cards\n").unwrap();
    git(&repo, "2025-01-20 09:00", &["add", "gift.txt"]);
    git(&repo, "2025-01-20 09:00", &["commit", "-q", "-m", "SHOP-9: gift cards"]);
    let sha = git_read(&repo, &["rev-parse", "HEAD"]);
    let lines = format!(
        "{{\"type\":\"pull_request\",\"repo\":\"acme/delivery\",\"number\":9,\"author\":\"ann\",\"title\":\"Gift cards\",\
         \"created_at\":\"2025-01-20T10:00:00Z\",\"merged_at\":\"2025-01-20T12:00:00Z\",\"merge_commit\":\"{sha}\",\
         \"commits\":[{{\"sha\":\"{sha}\",\"author\":\"ann\",\"authored_at\":\"2025-01-20T09:00:00Z\"}}]}}\n\
         {{\"type\":\"item\",\"id\":\"SHOP-9\",\"project\":\"delivery\",\"created_at\":\"2025-01-15T09:00:00Z\",\
         \"started_at\":\"2025-01-19T09:00:00Z\",\"done_at\":\"2025-01-21T09:00:00Z\"}}\n"
    );
    std::fs::write(scratch.path("events.jsonl"), lines).unwrap();
    std::fs::write(scratch.path("fulcrum.toml"), "").unwrap();
    run_in(&scratch, &["sync", "--repo", s(&repo)]).ok();
    run_in(&scratch, &["import", "events.jsonl"]).ok();
    let window = ["--since", "2025-01-01", "--until", "2025-02-01", "--format", "json"];
    let flow = run_in(&scratch, &[&["flow", "--repo", s(&repo), "--no-sync"][..], &window].concat()).ok().json();
    let row = &flow["items"]["rows"][0];
    assert_eq!(row["pull_requests"], serde_json::json!(["acme/delivery#9"]), "{}", flow["items"]);
    // First commit 20th 09:00, a day after the item started.
    assert_eq!(row["to_first_commit"].as_i64(), Some(24 * 3600));
}

#[test]
fn keys_in_branch_names_link_and_keys_of_no_item_are_named() {
    let scratch = imported("items_branches");
    let more = r#"{"type":"pull_request","repo":"acme/shop","number":8,"author":"ann","title":"Gift cards","branch":"feature/SHOP-6-gift-cards","description":"Also fixes SHOP-77.","created_at":"2025-01-14T09:00:00Z","merged_at":"2025-01-14T12:00:00Z","merge_commit":"m8","commits":[{"sha":"c8","author":"ann","authored_at":"2025-01-14T08:00:00Z"}]}
{"type":"item","id":"SHOP-6","created_at":"2025-01-13T08:00:00Z","started_at":"2025-01-13T09:00:00Z","done_at":"2025-01-15T09:00:00Z"}
"#;
    std::fs::write(scratch.path("more.jsonl"), more).unwrap();
    run_in(&scratch, &["import", "more.jsonl"]).ok();
    let flow =
        run_in(&scratch, &["flow", "--since", "2025-01-01", "--until", "2025-02-01", "--format", "json"]).ok().json();
    let row = flow["items"]["rows"].as_array().unwrap().iter().find(|r| r["key"] == "SHOP-6").unwrap().clone();
    assert_eq!(row["pull_requests"], serde_json::json!(["acme/shop#8"]), "{row}");
    // Started 13th 09:00, first commit 14th 08:00.
    assert_eq!(row["to_first_commit"].as_i64(), Some(23 * 3600));
    let warnings = flow["warnings"].to_string();
    assert!(warnings.contains("pull requests name a key of no stored work item: SHOP-77"), "{warnings}");
}
