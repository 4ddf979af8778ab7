//! Jira as a source of work items, on Data Center (`startAt` pages, a
//! bearer token) and Cloud (`nextPageToken` pages, an e-mail and an API
//! token). No recorded Jira responses are at hand: these are written in the
//! shape Jira's REST reference gives (`/rest/api/2/search`,
//! `/rest/api/3/search/jql`, `expand=changelog`).

use serde_json::{Value, json};

use crate::harness::*;
use crate::replay::{Replay, Reply, Route};

const TOKEN: &str = "jira-test-token-0123";
const FIELDS: &str = "fields=summary,created,updated,issuetype,status&expand=changelog&maxResults=100";
/// `(project = SHOP) ORDER BY updated ASC`, encoded.
const FIRST: &str = "jql=%28project%20%3D%20SHOP%29%20ORDER%20BY%20updated%20ASC";
/// The next sync: updated since a day before the newest seen (8th 12:00).
const AGAIN: &str = "jql=%28project%20%3D%20SHOP%29%20AND%20updated%20%3E%3D%20%222025%2F01%2F07%2012%3A00%22%20ORDER%20BY%20updated%20ASC";

/// SHOP-1: created 2nd 09:00, in progress 6th 07:00, done 7th 10:00.
/// SHOP-2: created 3rd 09:00, in progress since 8th 12:00.
fn issues() -> (Value, Value) {
    let one = json!({
        "key": "SHOP-1",
        "fields": {
            "summary": "One-click checkout", "created": "2025-01-02T09:00:00.000+0000",
            "updated": "2025-01-07T10:00:00.000+0000", "issuetype": {"name": "Story"},
            "status": {"name": "Done", "statusCategory": {"key": "done"}}
        },
        "changelog": {"startAt": 0, "maxResults": 2, "total": 2, "histories": [
            {"id": "1", "created": "2025-01-06T07:00:00.000+0000",
             "items": [{"field": "status", "fromString": "To Do", "toString": "In Progress"}]},
            {"id": "2", "created": "2025-01-07T10:00:00.000+0000",
             "items": [{"field": "status", "fromString": "In Progress", "toString": "Done"}]}
        ]}
    });
    let two = json!({
        "key": "SHOP-2",
        "fields": {
            "summary": "Gift cards", "created": "2025-01-03T09:00:00.000+0000",
            "updated": "2025-01-08T12:00:00.000+0000", "issuetype": {"name": "Bug"},
            "status": {"name": "In Progress", "statusCategory": {"key": "indeterminate"}}
        },
        "changelog": {"histories": [
            {"id": "3", "created": "2025-01-08T12:00:00.000+0000",
             "items": [{"field": "status", "fromString": "To Do", "toString": "In Progress"}]}
        ]}
    });
    (one, two)
}

fn route(path: String, body: Value) -> Route {
    Route { path, responses: vec![Reply::json(200, body.to_string())] }
}

fn setup(scratch: &Scratch, replay: &Replay, api: &str, user: Option<&str>) -> std::path::PathBuf {
    std::fs::write(scratch.path("events.jsonl"), crate::events::EVENTS).unwrap();
    let user = user.map(|u| format!("user = \"{u}\"\n")).unwrap_or_default();
    let toml = format!(
        "[[source]]\nkind = \"jira\"\nrepo = \"SHOP\"\nbase_url = \"{}\"\napi = \"{api}\"\nservice = \"shop\"\n{user}",
        replay.url()
    );
    let path = scratch.path("fulcrum.toml");
    std::fs::write(&path, toml).unwrap();
    path
}

fn fulcrum_in(scratch: &Scratch, config: &std::path::Path, args: &[&str]) -> Run {
    let db = scratch.db();
    let mut all = vec!["--db", s(&db), "--config", s(config)];
    all.extend_from_slice(args);
    run(command(all).current_dir(&scratch.dir).env("JIRA_TOKEN", TOKEN).env("FULCRUM_HTTP_BACKOFF_MS", "1"))
}

#[test]
fn data_center_issues_are_work_items_and_the_next_sync_asks_for_updates_only() {
    let scratch = Scratch::new("jira_datacenter");
    let (one, two) = issues();
    let search = "/rest/api/2/search";
    let replay = Replay::start(vec![
        route(
            format!("{search}?{FIRST}&{FIELDS}&startAt=0"),
            json!({"startAt": 0, "maxResults": 1, "total": 2, "issues": [one]}),
        ),
        route(
            format!("{search}?{FIRST}&{FIELDS}&startAt=1"),
            json!({"startAt": 1, "maxResults": 1, "total": 2, "issues": [two]}),
        ),
        route(
            format!("{search}?{AGAIN}&{FIELDS}&startAt=0"),
            json!({"startAt": 0, "maxResults": 100, "total": 0, "issues": []}),
        ),
    ]);
    let config = setup(&scratch, &replay, "datacenter", None);
    fulcrum_in(&scratch, &config, &["import", "events.jsonl"]).ok();
    let synced = fulcrum_in(&scratch, &config, &["sync"]).ok();
    assert!(
        synced.stderr.contains("jira:SHOP: 0 pull requests, 0 deployment events, 0 incidents, 2 work items"),
        "{}",
        synced.stderr
    );
    let requests = replay.requests();
    assert!(
        requests.iter().all(|r| r.headers.iter().any(|(k, v)| k == "authorization" && v == &format!("Bearer {TOKEN}")))
    );
    let flow =
        fulcrum_in(&scratch, &config, &["flow", "--since", "2025-01-01", "--until", "2025-02-01", "--format", "json"])
            .ok()
            .json();
    let items = &flow["items"];
    assert_eq!((items["done"].as_u64(), items["in_progress"].as_u64()), (Some(1), Some(1)));
    let row = &items["rows"][0];
    assert_eq!(row["key"], "SHOP-1");
    // Created 2nd 09:00, in progress 6th 07:00, done 7th 10:00.
    assert_eq!((row["backlog"].as_i64(), row["cycle"].as_i64()), (Some(94 * 3600), Some(27 * 3600)));

    let before = replay.requests().len();
    fulcrum_in(&scratch, &config, &["sync"]).ok();
    let again: Vec<String> = replay.requests().into_iter().skip(before).map(|r| r.path).collect();
    assert_eq!(again.len(), 1, "one request for the updates since: {again:?}");
    assert!(again[0].contains(AGAIN), "{again:?}");
    assert_eq!(replay.unexpected_404s(&[]), Vec::<String>::new());
}

#[test]
fn cloud_pages_by_token_with_an_email_and_an_api_token() {
    let scratch = Scratch::new("jira_cloud");
    let (one, two) = issues();
    let search = "/rest/api/3/search/jql";
    let replay = Replay::start(vec![
        route(
            format!("{search}?{FIRST}&{FIELDS}"),
            json!({"issues": [one], "nextPageToken": "page-2", "isLast": false}),
        ),
        route(format!("{search}?{FIRST}&{FIELDS}&nextPageToken=page-2"), json!({"issues": [two], "isLast": true})),
    ]);
    let config = setup(&scratch, &replay, "cloud", Some("ann@example.com"));
    let synced = fulcrum_in(&scratch, &config, &["sync"]).ok();
    assert!(synced.stderr.contains("2 work items"), "{}", synced.stderr);
    // Basic authentication: base64 of `ann@example.com:jira-test-token-0123`.
    let basic = "Basic YW5uQGV4YW1wbGUuY29tOmppcmEtdGVzdC10b2tlbi0wMTIz";
    assert!(replay.requests().iter().all(|r| r.headers.iter().any(|(k, v)| k == "authorization" && v == basic)));
    assert_eq!(open_db(&scratch.db()).count("work_items"), 2);
    assert!(!synced.stderr.contains(TOKEN));
}

#[test]
fn a_jira_source_needs_its_site_and_a_project_key() {
    let scratch = Scratch::new("jira_config");
    std::fs::write(scratch.path("fulcrum.toml"), "[[source]]\nkind = \"jira\"\nrepo = \"SHOP\"\n").unwrap();
    let config = scratch.path("fulcrum.toml");
    fulcrum_in(&scratch, &config, &["sync"]).bad_input(&["source[0].base_url", "atlassian.net"]);
    std::fs::write(
        &config,
        "[[source]]\nkind = \"jira\"\nrepo = \"acme/shop\"\nbase_url = \"https://acme.atlassian.net\"\n",
    )
    .unwrap();
    fulcrum_in(&scratch, &config, &["sync"]).bad_input(&["source[0].repo", "project key"]);
}
