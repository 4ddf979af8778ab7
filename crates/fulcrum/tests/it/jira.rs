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
        route("/rest/api/2/status".to_owned(), json!([])),
        route("/rest/api/2/field".to_owned(), json!([])),
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
    assert_eq!(again.len(), 3, "the statuses, the fields, and one request for the updates since: {again:?}");
    assert!(again[2].contains(AGAIN), "{again:?}");
    assert_eq!(replay.unexpected_404s(&[]), Vec::<String>::new());
}

#[test]
fn cloud_pages_by_token_with_an_email_and_an_api_token() {
    let scratch = Scratch::new("jira_cloud");
    let (one, two) = issues();
    let search = "/rest/api/3/search/jql";
    let replay = Replay::start(vec![
        route("/rest/api/3/status".to_owned(), json!([])),
        route("/rest/api/3/field".to_owned(), json!([])),
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

/// The recorded issues of board 8 (project EE, statuses and types named in
/// Chinese), from Apache DevLake's e2e raw tables (Apache-2.0,
/// `tests/fixtures/devlake-raw`), served as Jira Cloud's search would.
#[test]
fn recorded_issues_with_localised_statuses_and_a_changelog_jira_cut() {
    let scratch = Scratch::new("jira_recorded");
    let rows = crate::hosts::raw_rows("jira/_raw_jira_api_issues.csv");
    let mut issues: Vec<Value> =
        rows.into_iter().filter(|r| r.0["key"].as_str().is_some_and(|k| k.starts_with("EE-"))).map(|r| r.0).collect();
    assert_eq!(issues.len(), 30);
    let statuses: Vec<Value> =
        crate::hosts::raw_rows("jira/_raw_jira_api_status.csv").into_iter().map(|r| r.0).collect();
    // EE-1's changelog cut to its 10 oldest entries, as Jira cuts a long
    // one; the rest is read from the issue's changelog.
    let full: Vec<Value> = issues[0]["changelog"]["histories"].as_array().unwrap().clone();
    let mut oldest = full.clone();
    oldest.sort_by(|a, b| a["created"].as_str().cmp(&b["created"].as_str()));
    issues[0]["changelog"] = json!({"startAt": 0, "maxResults": 10, "total": full.len(), "histories": oldest[..10]});
    // EE-1 estimated at 3 points (the recording has no estimates).
    issues[0]["fields"]["customfield_10016"] = json!(3.0);
    // A move dated before EE-2 was created (a clock gone wrong).
    issues[1]["changelog"]["histories"].as_array_mut().unwrap().push(json!({
        "id": "1", "created": "2019-01-01T00:00:00.000+0800",
        "items": [{"field": "status", "fromString": "Open", "toString": "Closed", "from": "1", "to": "6"}]
    }));
    let query = "jql=%28project%20%3D%20EE%29%20ORDER%20BY%20updated%20ASC&fields=summary,created,updated,issuetype,status,customfield_10016,customfield_10020&expand=changelog&maxResults=100";
    let replay = Replay::start(vec![
        route("/rest/api/3/status".to_owned(), Value::Array(statuses)),
        // The site's estimate fields, in the shape of Jira's `/field`.
        route(
            "/rest/api/3/field".to_owned(),
            json!([
                {"id": "summary", "name": "Summary", "custom": false},
                {"id": "customfield_10016", "name": "Story point estimate", "custom": true,
                 "schema": {"type": "number", "custom": "com.pyxis.greenhopper.jira:jsw-story-points"}},
                {"id": "customfield_10020", "name": "Sprint", "custom": true,
                 "schema": {"type": "array", "items": "json", "custom": "com.pyxis.greenhopper.jira:gh-sprint"}}
            ]),
        ),
        route(format!("/rest/api/3/search/jql?{query}"), json!({"issues": issues[..20], "nextPageToken": "t2"})),
        route(
            format!("/rest/api/3/search/jql?{query}&nextPageToken=t2"),
            json!({"issues": issues[20..], "isLast": true}),
        ),
        route(
            "/rest/api/3/issue/EE-1/changelog?startAt=0&maxResults=100".to_owned(),
            json!({"startAt": 0, "maxResults": 100, "total": full.len(), "isLast": true, "values": full}),
        ),
    ]);
    // Inbox and Ready for Dev are no longer statuses of the site: the team
    // says where they belong.
    let toml = format!(
        "[items]\ntodo = [\"Inbox\", \"Ready for Dev\"]\n\
         [[source]]\nkind = \"jira\"\nrepo = \"EE\"\nbase_url = \"{}\"\napi = \"cloud\"\nuser = \"ann@example.com\"\n",
        replay.url()
    );
    let config = scratch.path("fulcrum.toml");
    std::fs::write(&config, toml).unwrap();
    let synced = fulcrum_in(&scratch, &config, &["sync"]).ok();
    assert!(
        synced.stderr.contains("jira:EE: 0 pull requests, 0 deployment events, 0 incidents, 30 work items"),
        "{}",
        synced.stderr
    );
    assert!(
        synced
            .stderr
            .contains("EE-2: 1 status changes dated before the issue was created (2020-06-12T00:15:36Z); left out"),
        "{}",
        synced.stderr
    );
    assert_eq!(replay.unexpected_404s(&[]), Vec::<String>::new());
    // EE-4's summary ends in a NUL, which PostgreSQL's text cannot hold:
    // stored as U+FFFD on both backends.
    let title: String =
        crate::harness::open_db(&scratch.db()).value("SELECT title FROM work_items WHERE external_id = 'EE-4'");
    assert!(title.ends_with('\u{FFFD}') && !title.contains('\0'), "{title:?}");
    let flow =
        fulcrum_in(&scratch, &config, &["flow", "--since", "2020-06-01", "--until", "2020-08-01", "--format", "json"])
            .ok()
            .json();
    let rows = flow["items"]["rows"].as_array().unwrap_or_else(|| panic!("{flow:#}"));
    let one = rows.iter().find(|r| r["key"] == "EE-1").unwrap_or_else(|| panic!("{:#}", flow["items"]));
    // Created 00:13:13Z; In Development (status 3, in progress) 03:38:39Z;
    // back to Open (to do) 06:22:49Z; Closed (done) on the 19th 06:31:18Z;
    // 已完成 (done) in 2021 keeps it done since the 19th.
    assert_eq!(one["backlog"].as_i64(), Some(3 * 3600 + 25 * 60 + 26));
    assert_eq!(one["cycle"].as_i64(), Some(7 * 86_400 + 2 * 3600 + 52 * 60 + 39));
    assert_eq!(one["waiting"].as_i64(), Some(7 * 86_400 + 8 * 60 + 29));
    assert_eq!(one["done_at"].as_i64(), Some(crate::harness::utc("2020-06-19T06:31:18Z")));
    // Its estimate, and its sprint from the recorded sprint field.
    assert_eq!((one["points"].as_f64(), one["sprint"].as_str()), (Some(3.0), Some("EE Sprint 7")));
    assert_eq!(flow["items"]["points_done"].as_f64(), Some(3.0));
    // Every issue ends in 已完成, a done status by its id: all 30 done.
    assert_eq!(flow["items"]["done"].as_u64(), Some(30), "{}", flow["items"]);
}

#[test]
fn a_jql_naming_an_unknown_field_fails_its_source_and_the_others_sync() {
    let scratch = Scratch::new("jira_bad_jql");
    let query = "jql=%28project%20%3D%20EE%20AND%20foo%20%3D%201%29%20ORDER%20BY%20updated%20ASC&fields=summary,created,updated,issuetype,status&expand=changelog&maxResults=100";
    let incidents: Vec<Value> =
        crate::hosts::raw_rows("pagerduty/_raw_pagerduty_incidents.csv").into_iter().map(|r| r.0).collect();
    let replay = Replay::start(vec![
        route("/rest/api/3/status".to_owned(), json!([])),
        route("/rest/api/3/field".to_owned(), json!([])),
        Route {
            path: format!("/rest/api/3/search/jql?{query}"),
            responses: vec![Reply::json(
                400,
                r#"{"errorMessages":["Field 'foo' does not exist or you do not have permission to view it."],"errors":{}}"#,
            )],
        },
        route(
            "/incidents?service_ids%5B%5D=PIKL83L&date_range=all&sort_by=created_at%3Adesc&include%5B%5D=log_entries&limit=100&offset=0".to_owned(),
            json!({"incidents": incidents, "limit": 100, "offset": 0, "more": false}),
        ),
    ]);
    let toml = format!(
        "[[source]]\nkind = \"jira\"\nrepo = \"EE\"\nbase_url = \"{0}\"\napi = \"cloud\"\njql = \"project = EE AND foo = 1\"\n\
         [[source]]\nkind = \"pagerduty\"\nrepo = \"PIKL83L\"\nbase_url = \"{0}\"\n",
        replay.url()
    );
    let config = scratch.path("fulcrum.toml");
    std::fs::write(&config, toml).unwrap();
    // Exit 2 (the JQL is the user's to fix) after the other source synced.
    let failed = fulcrum_in(&scratch, &config, &["sync"]);
    assert_eq!(failed.code, 2, "{}", failed.stderr);
    for needle in ["1 of 2 sources failed", "while syncing jira source EE", "HTTP 400: Field 'foo' does not exist"] {
        assert!(failed.stderr.contains(needle), "{needle:?} in {}", failed.stderr);
    }
    assert!(
        failed.stderr.contains("pagerduty:PIKL83L: 0 pull requests, 0 deployment events, 3 incidents"),
        "{}",
        failed.stderr
    );
    assert_eq!(crate::harness::open_db(&scratch.db()).count("incidents"), 3);
}
