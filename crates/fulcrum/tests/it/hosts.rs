//! More hosts (PagerDuty, Opsgenie, Bitbucket Cloud) against their real
//! recorded items (`tests/fixtures/devlake-raw`, Apache DevLake's e2e raw
//! tables, Apache-2.0), served by the replay server in page envelopes
//! written from each host's API reference, with a rate-limit answer, a 5xx
//! and a malformed body on the way.

use std::path::Path;

use serde_json::{Value, json};

use crate::harness::*;
use crate::replay::{Replay, Reply, Route};

/// The rows of a DevLake raw-table CSV as `(data, url, input)`: RFC 4180
/// quoting (fields in `"…"`, `""` for a quote, newlines inside quotes).
pub fn raw_rows(file: &str) -> Vec<(Value, String, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/devlake-raw").join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut records: Vec<Vec<String>> = Vec::new();
    let (mut record, mut field, mut quoted, mut chars) = (Vec::new(), String::new(), false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    let header = records.remove(0);
    let column = |name: &str| header.iter().position(|h| h == name);
    let (data, url, input) = (column("data").unwrap(), column("url"), column("input"));
    records
        .into_iter()
        .filter(|r| r.len() == header.len())
        .map(|r| {
            let get = |i: Option<usize>| i.map(|i| r[i].clone()).unwrap_or_default();
            (serde_json::from_str(&r[data]).unwrap(), get(url), get(input))
        })
        .collect()
}

fn route(path: &str, replies: Vec<Reply>) -> Route {
    Route { path: path.to_owned(), responses: replies }
}

fn ok(body: Value) -> Reply {
    Reply::json(200, body.to_string())
}

fn config(scratch: &Scratch, body: &str) -> std::path::PathBuf {
    let path = scratch.path("fulcrum.toml");
    std::fs::write(&path, body).unwrap();
    path
}

fn fulcrum_in(scratch: &Scratch, config: &Path, args: &[&str]) -> Run {
    let db = scratch.db();
    let mut all = vec!["--db", s(&db), "--config", s(config)];
    all.extend_from_slice(args);
    run(command(all)
        .current_dir(&scratch.dir)
        .env("PAGERDUTY_TOKEN", "pd-test-token-42")
        .env("OPSGENIE_TOKEN", "og-test-token-42")
        .env("BITBUCKET_TOKEN", "bb-test-token-42")
        .env("FULCRUM_HTTP_BACKOFF_MS", "1"))
}

/// Deployments of `DevService` around the recorded PagerDuty incidents
/// (#4 started 06:23:06, #5 06:44:28, #6 06:45:36 on 2022-11-03).
const DEPLOYS: &str = r#"{"type":"deployment","id":"d0","service":"DevService","commit":"a0","finished_at":"2022-11-03T06:00:00Z"}
{"type":"deployment","id":"d1","service":"DevService","commit":"a1","finished_at":"2022-11-03T06:30:00Z"}
{"type":"deployment","id":"d2","service":"DevService","commit":"a2","finished_at":"2022-11-03T06:45:00Z"}
{"type":"deployment","id":"d3","service":"DevService","commit":"a3","finished_at":"2022-11-03T07:30:00Z"}
"#;

const PD_FIRST: &str = "/incidents?service_ids%5B%5D=PIKL83L&date_range=all&sort_by=created_at%3Adesc&include%5B%5D=log_entries&limit=100&offset=0";
const PD_SECOND: &str = "/incidents?service_ids%5B%5D=PIKL83L&date_range=all&sort_by=created_at%3Adesc&include%5B%5D=log_entries&limit=100&offset=2";

#[test]
fn pagerduty_incidents_are_linked_and_a_resync_reads_only_what_was_open() {
    let scratch = Scratch::new("hosts_pagerduty");
    let mut incidents: Vec<Value> =
        raw_rows("pagerduty/_raw_pagerduty_incidents.csv").into_iter().map(|r| r.0).collect();
    incidents.sort_by(|a, b| b["created_at"].as_str().cmp(&a["created_at"].as_str()));
    assert_eq!(incidents.iter().map(|i| i["incident_number"].as_u64().unwrap()).collect::<Vec<_>>(), [6, 5, 4]);
    let page = |items: &[Value], offset: u64, more: bool| {
        ok(json!({"incidents": items, "limit": 2, "offset": offset, "more": more, "total": null}))
    };
    let replay = Replay::start(vec![
        // A 5xx, then the page.
        route(PD_FIRST, vec![Reply::json(503, "{}"), page(&incidents[..2], 0, true)]),
        // A rate limit (PagerDuty: 429 with a reset in seconds), then the page.
        route(
            PD_SECOND,
            vec![Reply::json(429, r#"{"error":{"message":"Rate Limit Exceeded"}}"#).header("retry-after", "0"), {
                page(&incidents[2..], 2, false)
            }],
        ),
    ]);
    let config = config(
        &scratch,
        &format!("[[source]]\nkind = \"pagerduty\"\nrepo = \"PIKL83L\"\nbase_url = \"{}\"\n", replay.url()),
    );
    std::fs::write(scratch.path("events.jsonl"), DEPLOYS).unwrap();
    fulcrum_in(&scratch, &config, &["import", "events.jsonl"]).ok();
    let synced = fulcrum_in(&scratch, &config, &["sync"]).ok();
    assert!(
        synced.stderr.contains("pagerduty:PIKL83L: 0 pull requests, 0 deployment events, 3 incidents"),
        "{}",
        synced.stderr
    );
    let requests = replay.requests();
    assert!(
        requests
            .iter()
            .all(|r| r.headers.iter().any(|(k, v)| k == "authorization" && v == "Token token=pd-test-token-42")),
        "{requests:?}"
    );
    // Stored under the PagerDuty service's name; #6 resolved at its
    // resolve_log_entry (06:51:44), the others open.
    let db = open_db(&scratch.db());
    let stored: Vec<(String, String, i64, Option<i64>)> = db
        .rows("SELECT service, title, started_at, resolved_at FROM incidents ORDER BY started_at")
        .into_iter()
        .map(|r| {
            let mut r = r.into_iter();
            (
                String::from_cell(r.next().unwrap()),
                String::from_cell(r.next().unwrap()),
                i64::from_cell(r.next().unwrap()),
                Option::<i64>::from_cell(r.next().unwrap()),
            )
        })
        .collect();
    assert_eq!(
        stored,
        [
            ("DevService".to_owned(), "#4 Crash reported".to_owned(), utc("2022-11-03T06:23:06Z"), None),
            ("DevService".to_owned(), "#5 Slow startup".to_owned(), utc("2022-11-03T06:44:28Z"), None),
            (
                "DevService".to_owned(),
                stored[2].1.clone(),
                utc("2022-11-03T06:45:36Z"),
                Some(utc("2022-11-03T06:51:44Z"))
            ),
        ]
    );
    // Each incident fails the deployment before it: d0, d1 and d2 failed, d2
    // recovered when #6 was resolved.
    let report = fulcrum_in(
        &scratch,
        &config,
        &[
            "report",
            "--no-sync",
            "--service",
            "DevService",
            "--since",
            "2022-11-01",
            "--until",
            "2022-11-05",
            "--format",
            "json",
        ],
    )
    .ok()
    .json();
    let rows: Vec<(String, bool, Option<i64>)> = report["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["name"].as_str().unwrap().to_owned(), d["failed"].as_bool().unwrap(), d["recovered_at"].as_i64()))
        .collect();
    assert_eq!(
        rows,
        [
            ("d3".to_owned(), false, None),
            ("d2".to_owned(), true, Some(utc("2022-11-03T06:51:44Z"))),
            ("d1".to_owned(), true, None),
            ("d0".to_owned(), true, None),
        ]
    );
    assert!(report["failures_source"].as_str().unwrap().contains("3 recorded"), "{}", report["failures_source"]);

    // The re-sync reads back to the oldest incident open at the last sync
    // (#4, on the second page) and no further.
    let before = replay.requests().len();
    fulcrum_in(&scratch, &config, &["sync"]).ok();
    let again: Vec<String> = replay.requests().into_iter().skip(before).map(|r| r.path).collect();
    assert_eq!(again.len(), 2, "{again:?}");
    assert_eq!(replay.unexpected_404s(&[]), Vec::<String>::new());
}

#[test]
fn opsgenie_incidents_page_by_the_body_and_a_malformed_page_stops_with_its_url() {
    let scratch = Scratch::new("hosts_opsgenie");
    let recorded = raw_rows("opsgenie/_raw_opsgenie_incidents.csv");
    assert!(recorded[0].1.starts_with("https://api.opsgenie.com/v1/incidents?"), "{}", recorded[0].1);
    let incidents: Vec<Value> = recorded.into_iter().map(|r| r.0).collect();
    let service = "695bce3d-4621-4630-8ae1-24eb89c22d6e";
    let query = "query=impactedServices%3A695bce3d-4621-4630-8ae1-24eb89c22d6e&sort=createdAt&order=desc&limit=100";
    let first = format!("/v1/incidents?{query}&offset=0");
    let second = format!("/v1/incidents?{query}&offset=1");
    let replay = Replay::start(vec![
        route(
            &first,
            vec![ok(json!({
                "data": [incidents[0]], "took": 0.1, "requestId": "r1",
                "paging": {"next": format!("{{base}}{second}"), "first": format!("{{base}}{first}")}
            }))],
        ),
        route(&second, vec![ok(json!({"data": [incidents[1]], "took": 0.1, "requestId": "r2", "paging": {}}))]),
    ]);
    let config = config(
        &scratch,
        &format!(
            "[[source]]\nkind = \"opsgenie\"\nrepo = \"{service}\"\nservice = \"shop\"\nbase_url = \"{}\"\n",
            replay.url()
        ),
    );
    let synced = fulcrum_in(&scratch, &config, &["sync"]).ok();
    assert!(synced.stderr.contains("2 incidents"), "{}", synced.stderr);
    assert!(
        replay
            .requests()
            .iter()
            .all(|r| r.headers.iter().any(|(k, v)| k == "authorization" && v == "GenieKey og-test-token-42"))
    );
    let db = open_db(&scratch.db());
    let resolved: Vec<(String, Option<i64>)> = db
        .rows("SELECT title, resolved_at - started_at FROM incidents WHERE service = 'shop' ORDER BY title")
        .into_iter()
        .map(|r| {
            let mut r = r.into_iter();
            (String::from_cell(r.next().unwrap()), Option::<i64>::from_cell(r.next().unwrap()))
        })
        .collect();
    // Incident#2: impact from 18:20:28.003 to 18:21:21.49.
    assert_eq!(resolved, [("#1 Incident#2".to_owned(), Some(53)), ("#3 Incident#1".to_owned(), None)]);

    // A proxy's HTML page instead of JSON: the sync stops naming the URL,
    // and what was stored stays.
    let broken = Replay::start(vec![route(&first, vec![Reply::json(200, "<html>gateway</html>")])]);
    let config = config_with_base(&scratch, &std::fs::read_to_string(&config).unwrap(), &replay.url(), &broken.url());
    let failed = fulcrum_in(&scratch, &config, &["sync"]);
    assert_ne!(failed.code, 0);
    assert!(failed.stderr.contains("not valid JSON") && failed.stderr.contains("/v1/incidents"), "{}", failed.stderr);
    assert_eq!(open_db(&scratch.db()).count("incidents"), 2);
}

fn config_with_base(scratch: &Scratch, text: &str, from: &str, to: &str) -> std::path::PathBuf {
    config(scratch, &text.replace(from, to))
}

const BB: &str = "/repositories/likyh/likyhphp";
const BB_LIST: &str = "/repositories/likyh/likyhphp/pullrequests?state=OPEN&state=MERGED&state=DECLINED&state=SUPERSEDED&sort=updated_on&pagelen=50";

/// The recorded Bitbucket repository: 57 pull requests on two pages, each
/// with its commits (recorded for #3) and its activity (the recorded
/// comments, an approval and the merge of #24 written in the shape of the
/// API reference), the short merge hashes, 27 deployments.
fn bitbucket_routes() -> Vec<Route> {
    let prs: Vec<Value> = raw_rows("bitbucket/_raw_bitbucket_api_pull_requests.csv").into_iter().map(|r| r.0).collect();
    let commits = raw_rows("bitbucket/_raw_bitbucket_api_pull_request_commits.csv");
    let comments = raw_rows("bitbucket/_raw_bitbucket_api_pullrequest_comments.csv");
    let deployments: Vec<Value> =
        raw_rows("bitbucket/_raw_bitbucket_api_deployments.csv").into_iter().map(|r| r.0).collect();
    let of = |rows: &[(Value, String, String)], id: u64| -> Vec<Value> {
        rows.iter()
            .filter(|r| serde_json::from_str::<Value>(&r.2).unwrap()["BitbucketId"] == id)
            .map(|r| r.0.clone())
            .collect()
    };
    let mut routes = vec![
        route(
            BB_LIST,
            vec![
                Reply::json(429, "{}").header("retry-after", "0"),
                ok(json!({"values": prs[..50], "pagelen": 50, "page": 1, "size": 57,
                          "next": format!("{{base}}{BB_LIST}&page=2")})),
            ],
        ),
        route(
            &format!("{BB_LIST}&page=2"),
            vec![ok(json!({"values": prs[50..], "pagelen": 50, "page": 2, "size": 57}))],
        ),
    ];
    for pr in &prs {
        let id = pr["id"].as_u64().unwrap();
        let at = format!("{BB}/pullrequests/{id}");
        let mut activity: Vec<Value> = of(&comments, id).into_iter().map(|c| json!({"comment": c})).collect();
        if id == 24 {
            activity.push(json!({"approval": {"date": "2022-08-12T15:05:00.000000+00:00",
                                              "user": {"display_name": "Bob", "nickname": "bob"}}}));
            activity.push(json!({"update": {"state": "MERGED", "date": "2022-08-12T15:10:40.000000+00:00"}}));
        }
        let commit_replies = {
            let page = ok(json!({"values": of(&commits, id), "pagelen": 100}));
            // One 5xx on the way.
            if id == 3 { vec![Reply::json(502, "bad gateway"), page] } else { vec![page] }
        };
        routes.push(route(&format!("{at}/commits?pagelen=100"), commit_replies));
        routes.push(route(&format!("{at}/activity?pagelen=50"), vec![ok(json!({"values": activity, "pagelen": 50}))]));
    }
    // The re-sync: updated since the newest update stored, nothing new.
    let newest = prs.iter().filter_map(|p| p["updated_on"].as_str()).max().unwrap();
    let since = format!("updated_on >= {}Z", &newest[..19])
        .replace(' ', "%20")
        .replace('>', "%3E")
        .replace('=', "%3D")
        .replace(':', "%3A");
    routes.push(route(&format!("{BB_LIST}&q={since}"), vec![ok(json!({"values": [], "pagelen": 50}))]));
    for short in ["c0e12b61e44b", "983edbf06740"] {
        let full = format!("{short}{}", "0".repeat(28));
        routes.push(route(&format!("{BB}/commit/{short}?fields=hash"), vec![ok(json!({ "hash": full }))]));
    }
    let fields = "values.uuid%2Cvalues.environment.name%2Cvalues.environment.environment_type.name%2Cvalues.release.name%2Cvalues.release.commit.hash%2Cvalues.state.name%2Cvalues.state.status.name%2Cvalues.state.completed_on%2Cvalues.last_update_time%2Cnext";
    routes.push(route(
        &format!("{BB}/deployments/?pagelen=50&fields={fields}"),
        vec![ok(json!({"values": deployments, "pagelen": 50, "page": 1, "size": 27}))],
    ));
    routes
}

#[test]
fn bitbucket_pull_requests_activity_and_deployments() {
    let scratch = Scratch::new("hosts_bitbucket");
    let replay = Replay::start(bitbucket_routes());
    let config = config(
        &scratch,
        &format!(
            "[[source]]\nkind = \"bitbucket\"\nrepo = \"likyh/likyhphp\"\nservice = \"php\"\nbase_url = \"{}\"\n",
            replay.url()
        ),
    );
    let synced = fulcrum_in(&scratch, &config, &["sync"]).ok();
    assert!(
        synced.stderr.contains("bitbucket:likyh/likyhphp: 57 pull requests, 21 deployment events, 0 incidents"),
        "{}",
        synced.stderr
    );
    assert_eq!(replay.unexpected_404s(&[]), Vec::<String>::new());
    assert!(
        replay
            .requests()
            .iter()
            .all(|r| r.headers.iter().any(|(k, v)| k == "authorization" && v == "Bearer bb-test-token-42"))
    );
    let db = open_db(&scratch.db());
    assert_eq!(db.value::<i64>("SELECT COUNT(*) FROM pull_requests WHERE merged_at IS NOT NULL"), 27);
    // Short merge hashes were asked for in full.
    assert_eq!(
        db.column::<String>(
            "SELECT DISTINCT merge_commit FROM pull_requests WHERE merge_commit IS NOT NULL ORDER BY 1"
        ),
        [format!("983edbf06740{}", "0".repeat(28)), format!("c0e12b61e44b{}", "0".repeat(28))]
    );
    assert_eq!(db.pr_commits().len(), 8);
    // 18 recorded inline comments and the approval.
    let kinds = |kind: &str| db.pr_activities().iter().filter(|a| a.kind == kind).count();
    assert_eq!(kinds("review_comment"), 18);
    assert_eq!(kinds("review"), 1);
    // #24 merged when its activity says, not at its last update.
    assert_eq!(db.value::<i64>("SELECT merged_at FROM pull_requests WHERE number = 24"), utc("2022-08-12T15:10:40Z"));
    // Three undeployed deployments carry no time at all: left out, counted.
    assert!(synced.stderr.contains("3 listed items left out: no id, or no time"), "{}", synced.stderr);
    // Production: 5 completed, 1 successful and 1 since undeployed.
    assert_eq!(
        db.value::<i64>(
            "SELECT COUNT(*) FROM deployments WHERE environment = 'production' AND status = 'success' AND service = 'php'"
        ),
        7
    );

    // A re-sync asks for the pull requests updated since the newest stored.
    let before = replay.requests().len();
    fulcrum_in(&scratch, &config, &["sync"]).ok();
    let again: Vec<String> = replay.requests().into_iter().skip(before).map(|r| r.path).collect();
    assert!(again[0].contains("&q=updated_on%20%3E%3D%202022-08-14T"), "{again:?}");
    assert_eq!(again.len(), 2, "the listing and the deployments: {again:?}");
    assert_eq!(replay.unexpected_404s(&[]), Vec::<String>::new());
}

#[test]
fn bitbucket_pipelines_stand_in_when_no_deployment_is_recorded() {
    let scratch = Scratch::new("hosts_bitbucket_pipelines");
    let pipelines: Vec<Value> =
        raw_rows("bitbucket/_raw_bitbucket_api_pipelines.csv").into_iter().map(|r| r.0).collect();
    let fields = "values.uuid%2Cvalues.environment.name%2Cvalues.environment.environment_type.name%2Cvalues.release.name%2Cvalues.release.commit.hash%2Cvalues.state.name%2Cvalues.state.status.name%2Cvalues.state.completed_on%2Cvalues.last_update_time%2Cnext";
    let replay = Replay::start(vec![
        route(BB_LIST, vec![ok(json!({"values": [], "pagelen": 50}))]),
        route(&format!("{BB}/deployments/?pagelen=50&fields={fields}"), vec![ok(json!({"values": [], "pagelen": 50}))]),
        route(
            &format!("{BB}/pipelines/?pagelen=50&sort=-created_on"),
            vec![ok(json!({"values": pipelines, "pagelen": 50, "page": 1, "size": pipelines.len()}))],
        ),
    ]);
    let config = config(
        &scratch,
        &format!(
            "[[source]]\nkind = \"bitbucket\"\nrepo = \"likyh/likyhphp\"\nuser = \"ann\"\nbase_url = \"{}\"\n",
            replay.url()
        ),
    );
    let synced = fulcrum_in(&scratch, &config, &["sync"]).ok();
    // On `main` (the default refs): one successful, one failed.
    assert!(synced.stderr.contains("0 pull requests, 2 deployment events"), "{}", synced.stderr);
    let db = open_db(&scratch.db());
    assert_eq!(
        db.column::<String>("SELECT status FROM deployments WHERE service = 'likyhphp' ORDER BY status"),
        ["failure", "success"]
    );
    // An app password: basic authentication with the user.
    let basic = "Basic YW5uOmJiLXRlc3QtdG9rZW4tNDI=";
    assert!(replay.requests().iter().all(|r| r.headers.iter().any(|(k, v)| k == "authorization" && v == basic)));
    assert_eq!(replay.unexpected_404s(&[]), Vec::<String>::new());
}

const AZ: &str = "/johndoe/test-project/_apis";

#[test]
fn azure_devops_pull_requests_votes_and_builds_that_deploy() {
    let scratch = Scratch::new("hosts_azure");
    let pr = raw_rows("azuredevops_go/_raw_azuredevops_go_api_pull_requests.csv").remove(0).0;
    let commits: Vec<Value> =
        raw_rows("azuredevops_go/_raw_azuredevops_go_api_pull_request_commits.csv").into_iter().map(|r| r.0).collect();
    let builds: Vec<Value> =
        raw_rows("azuredevops_go/_raw_azuredevops_go_api_builds.csv").into_iter().map(|r| r.0).collect();
    let records = raw_rows("azuredevops_go/_raw_azuredevops_go_api_timeline_records.csv");
    let deploy_job = records.iter().find(|r| r.0["name"] == "deploy production").unwrap().0.clone();
    let repository = pr["repository"].clone();
    let repo_id = repository["id"].as_str().unwrap().to_owned();
    // Threads, written in the shape of the API reference: JohnDoe's vote
    // and an inline comment.
    let threads = json!({"count": 2, "value": [
        {"id": 1, "properties": {"CodeReviewThreadType": {"$type": "System.String", "$value": "VoteUpdate"},
                                 "CodeReviewVoteResult": {"$type": "System.Int32", "$value": "10"}},
         "comments": [{"id": 1, "author": {"displayName": "JohnDoe", "uniqueName": "john.doe@merico.dev"},
                       "publishedDate": "2023-02-07T05:00:00Z", "commentType": "system", "content": "JohnDoe voted 10"}]},
        {"id": 2, "threadContext": {"filePath": "/main.java"}, "isDeleted": false,
         "comments": [{"id": 1, "author": {"displayName": "Ann", "uniqueName": "ann@merico.dev"},
                       "publishedDate": "2023-02-07T04:55:00Z", "commentType": "text", "content": "why?"}]}
    ]});
    let list = format!(
        "{AZ}/build/builds?repositoryId={repo_id}&repositoryType=TfsGit&statusFilter=completed&queryOrder=finishTimeDescending&%24top=100"
    );
    let replay = Replay::start(vec![
        route(
            &format!(
                "{AZ}/git/repositories/test-repo2/pullrequests?searchCriteria.status=all&%24top=100&%24skip=0&api-version=7.1"
            ),
            vec![ok(json!({"value": [pr], "count": 1}))],
        ),
        route(
            &format!("{AZ}/git/repositories/test-repo2/pullRequests/1/commits?api-version=7.1"),
            vec![Reply::json(500, "{}"), ok(json!({"value": commits, "count": 1}))],
        ),
        route(&format!("{AZ}/git/repositories/test-repo2/pullRequests/1/threads?api-version=7.1"), vec![ok(threads)]),
        route(&format!("{AZ}/git/repositories/test-repo2?api-version=7.1"), vec![ok(repository)]),
        // Two pages, the second reached by the continuation token.
        route(
            &format!("{list}&api-version=7.1"),
            vec![ok(json!({"value": builds[..4], "count": 4})).header("x-ms-continuationtoken", "page two")],
        ),
        route(
            &format!("{list}&api-version=7.1&continuationToken=page%20two"),
            vec![ok(json!({"value": builds[4..], "count": 3}))],
        ),
        // label_regex_test (14) deploys in a job of its timeline; 15 does not.
        route(&format!("{AZ}/build/builds/14/timeline?api-version=7.1"), vec![ok(json!({"records": [deploy_job]}))]),
        route(&format!("{AZ}/build/builds/15/timeline?api-version=7.1"), vec![ok(json!({"records": []}))]),
    ]);
    let config = config(
        &scratch,
        &format!(
            "[[source]]\nkind = \"azure\"\nrepo = \"johndoe/test-project/test-repo2\"\nbase_url = \"{}\"\n",
            replay.url()
        ),
    );
    let synced = run(command(["--db", s(&scratch.db()), "--config", s(&config), "sync"])
        .current_dir(&scratch.dir)
        .env("AZURE_DEVOPS_TOKEN", "az-test-token-42")
        .env("FULCRUM_HTTP_BACKOFF_MS", "1"))
    .ok();
    assert!(
        synced.stderr.contains("azure:johndoe/test-project/test-repo2: 1 pull requests, 3 deployment events"),
        "{}",
        synced.stderr
    );
    assert_eq!(replay.unexpected_404s(&[]), Vec::<String>::new());
    assert!(replay.requests().iter().any(|r| r.path.ends_with("continuationToken=page%20two")));
    // A personal access token: basic authentication with an empty user.
    let basic = "Basic OmF6LXRlc3QtdG9rZW4tNDI=";
    assert!(replay.requests().iter().all(|r| r.headers.iter().any(|(k, v)| k == "authorization" && v == basic)));
    let db = open_db(&scratch.db());
    let mut activities = db.pr_activities();
    activities.sort_by_key(|a| a.at);
    assert_eq!(activities.into_iter().map(|a| a.kind).collect::<Vec<_>>(), ["review_comment", "review"]);
    assert_eq!(
        db.pr_commits().into_iter().map(|c| c.sha).collect::<Vec<_>>(),
        ["85ede91717145a1e6e2bdab4cab689ac8f2fa3a2"]
    );
    let deployed: Vec<(String, i64)> = db
        .rows("SELECT external_id, finished_at FROM deployments WHERE service = 'test-repo2' ORDER BY external_id")
        .into_iter()
        .map(|r| {
            let mut r = r.into_iter();
            (String::from_cell(r.next().unwrap()), i64::from_cell(r.next().unwrap()))
        })
        .collect();
    assert_eq!(
        deployed,
        [
            ("build-12".to_owned(), utc("2023-02-25T06:23:04Z")),
            ("build-13".to_owned(), utc("2023-02-25T06:23:04Z")),
            // At the deploying job's finish.
            ("build-14".to_owned(), utc("2023-02-25T06:22:43Z")),
        ]
    );
}

/// Percent-encoding as the connectors write it (all but `A-Za-z0-9-_.~`).
fn encoded(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn jenkins_tree() -> String {
    encoded(
        "allBuilds[number,timestamp,duration,result,building,fullDisplayName,_class,actions[lastBuiltRevision[SHA1]]]{0,100}",
    )
}

#[test]
fn jenkins_builds_of_a_deploying_job_and_stages_of_a_pipeline() {
    let scratch = Scratch::new("hosts_jenkins");
    let rows = raw_rows("jenkins/_raw_jenkins_api_builds.csv");
    let of_job = |job: &str| -> Vec<Value> {
        let mut builds: Vec<Value> = rows
            .iter()
            .filter(|r| serde_json::from_str::<Value>(&r.2).unwrap()["Name"] == job)
            .map(|r| r.0.clone())
            .collect();
        builds.sort_by_key(|b| std::cmp::Reverse(b["number"].as_u64()));
        builds
    };
    let stages: Vec<Value> = raw_rows("jenkins/_raw_jenkins_api_stages.csv")
        .into_iter()
        .filter(|r| r.1.ends_with("/job/pipeline-test2/1/wfapi/describe"))
        .map(|r| r.0)
        .collect();
    assert!(!stages.is_empty());
    let deep = "/job/Test-jenkins-dir/job/test-jenkins-sub-dir/job/test-sub-sub-dir/job/devlake";
    let replay = Replay::start(vec![
        route(&format!("{deep}/api/json?tree={}", jenkins_tree()), vec![ok(json!({"allBuilds": of_job("devlake")}))]),
        route(
            &format!("/job/pipeline-test2/api/json?tree={}", jenkins_tree()),
            vec![ok(json!({"allBuilds": of_job("pipeline-test2")}))],
        ),
        route(
            "/job/pipeline-test2/1/wfapi/describe",
            vec![ok(json!({"id": "1", "name": "#1", "status": "SUCCESS", "stages": stages}))],
        ),
    ]);
    let config = config(
        &scratch,
        &format!(
            "[deploy]\nci_pattern = \"(?i)^(devlake|hello)$\"\n\
             [[source]]\nkind = \"jenkins\"\nrepo = \"Test-jenkins-dir/test-jenkins-sub-dir/test-sub-sub-dir/devlake\"\n\
             base_url = \"{0}\"\nuser = \"merico\"\nservice = \"lake\"\n\
             [[source]]\nkind = \"jenkins\"\nrepo = \"pipeline-test2\"\nbase_url = \"{0}\"\nuser = \"merico\"\n",
            replay.url()
        ),
    );
    let sync = || {
        run(command(["--db", s(&scratch.db()), "--config", s(&config), "sync"])
            .current_dir(&scratch.dir)
            .env("JENKINS_TOKEN", "jk-test-token-42"))
        .ok()
    };
    let synced = sync();
    // Of 13 builds, the three the git plugin recorded a revision for; 6
    // finished builds without one are counted. Three say they are still
    // building (27, 10001, 10002: read again next time) and NOT_BUILT is no
    // build.
    assert!(synced.stderr.contains("devlake: 0 pull requests, 3 deployment events"), "{}", synced.stderr);
    assert!(synced.stderr.contains("6 listed items left out"), "{}", synced.stderr);
    // The pipeline's stage "Hello" deploys, but its build names no commit.
    assert!(
        synced.stderr.contains("jenkins:pipeline-test2: 0 pull requests, 0 deployment events"),
        "{}",
        synced.stderr
    );
    assert!(replay.requests().iter().any(|r| r.path == "/job/pipeline-test2/1/wfapi/describe"));
    assert_eq!(replay.unexpected_404s(&[]), Vec::<String>::new());
    let basic = "Basic bWVyaWNvOmprLXRlc3QtdG9rZW4tNDI=";
    assert!(replay.requests().iter().all(|r| r.headers.iter().any(|(k, v)| k == "authorization" && v == basic)));
    let db = open_db(&scratch.db());
    let deployed: Vec<(String, i64)> = db
        .rows("SELECT external_id, finished_at FROM deployments WHERE service = 'lake' ORDER BY finished_at")
        .into_iter()
        .map(|r| {
            let mut r = r.into_iter();
            (String::from_cell(r.next().unwrap()), i64::from_cell(r.next().unwrap()))
        })
        .collect();
    // Started at `timestamp` (ms), finished `duration` ms later.
    assert_eq!(
        deployed,
        [
            ("build-11".to_owned(), (1_650_017_416_514 + 14_820) / 1000),
            ("build-21".to_owned(), (1_650_022_548_450 + 2_121) / 1000),
            ("build-31".to_owned(), (1_650_024_049_161 + 1_587) / 1000),
        ]
    );
    // A re-sync reads down to the oldest build still running (one page).
    let before = replay.requests().len();
    sync();
    assert_eq!(replay.requests().len() - before, 2, "one listing request per job");
}

#[test]
fn circleci_workflows_and_jobs_that_deploy() {
    let scratch = Scratch::new("hosts_circleci");
    let pipelines: Vec<Value> = raw_rows("circleci/_raw_circleci_api_pipelines.csv").into_iter().map(|r| r.0).collect();
    let workflows: Vec<Value> = raw_rows("circleci/_raw_circleci_api_workflows.csv").into_iter().map(|r| r.0).collect();
    let jobs = raw_rows("circleci/_raw_circleci_api_jobs.csv");
    let slug = "/project/gh/coldgust/coldgust.github.io/pipeline";
    let mut routes = vec![
        route(slug, vec![ok(json!({"items": pipelines[..5], "next_page_token": "AARLwwV"}))]),
        route(
            &format!("{slug}?page-token=AARLwwV"),
            vec![ok(json!({"items": pipelines[5..], "next_page_token": null}))],
        ),
    ];
    for pipeline in &pipelines {
        let id = pipeline["id"].as_str().unwrap();
        let own: Vec<&Value> = workflows.iter().filter(|w| w["pipeline_id"] == id).collect();
        let answer = ok(json!({"items": own, "next_page_token": null}));
        // Pipeline 5's workflow is still `failing` at the first sync (no
        // stop yet), `failed` at the second.
        let replies = if pipeline["number"] == 5 {
            let mut running: Vec<Value> = own.iter().map(|w| (*w).clone()).collect();
            running[0]["status"] = json!("failing");
            running[0]["stopped_at"] = Value::Null;
            vec![ok(json!({"items": running, "next_page_token": null})), answer]
        } else {
            vec![answer]
        };
        routes.push(route(&format!("/pipeline/{id}/workflow"), replies));
    }
    for workflow in &workflows {
        let id = workflow["id"].as_str().unwrap();
        let own: Vec<&Value> =
            jobs.iter().filter(|j| j.1.contains(&format!("/workflow/{id}/job"))).map(|j| &j.0).collect();
        routes.push(route(&format!("/workflow/{id}/job"), vec![ok(json!({"items": own, "next_page_token": null}))]));
    }
    let replay = Replay::start(routes);
    let config = config(
        &scratch,
        &format!(
            "[deploy]\nci_pattern = \"(?i)^(say-hello|workflow)$\"\n\
             [[source]]\nkind = \"circleci\"\nrepo = \"gh/coldgust/coldgust.github.io\"\nbase_url = \"{}\"\n",
            replay.url()
        ),
    );
    let sync = || {
        run(command(["--db", s(&scratch.db()), "--config", s(&config), "sync"])
            .current_dir(&scratch.dir)
            .env("CIRCLECI_TOKEN", "cc-test-token-42"))
        .ok()
    };
    // Six workflows named `workflow`, and three `say-hello-workflow`s whose
    // `say-hello` job deploys; pipeline 5's still runs.
    let synced = sync();
    assert!(synced.stderr.contains("0 pull requests, 8 deployment events"), "{}", synced.stderr);
    // The next sync reads back to pipeline 5 and stores its failure.
    let again = sync();
    assert!(again.stderr.contains("deployment events"), "{}", again.stderr);
    assert_eq!(open_db(&scratch.db()).count("deployments"), 9);
    assert_eq!(replay.unexpected_404s(&[]), Vec::<String>::new());
    assert!(
        replay.requests().iter().all(|r| r.headers.iter().any(|(k, v)| k == "circle-token" && v == "cc-test-token-42"))
    );
    let db = open_db(&scratch.db());
    assert_eq!(
        db.value::<i64>("SELECT COUNT(*) FROM deployments WHERE service = 'coldgust.github.io' AND status = 'success'"),
        4
    );
    // Pipeline 9 (49874a6a…) deployed at its workflow's stop.
    assert_eq!(
        db.value::<i64>(
            "SELECT finished_at FROM deployments WHERE commit_sha = '49874a6ac988e2b3434501d4a4554c54583e6820'"
        ),
        utc("2023-03-25T18:13:38Z")
    );
}
