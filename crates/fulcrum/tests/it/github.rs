//! The GitHub connector against a local server replaying the recorded
//! responses of `panjf2000/ants` (tests/fixtures/github, MIT licence, see
//! SOURCE.md there), plus hand-written pages for what the recording lacks
//! (pull request details, deployments, rate limits, failures).

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::harness::*;
use crate::replay::{Recorded, Replay, Reply, Route, github_fixture_routes};

pub const TOKEN: &str = "ghp_fulcrumTestToken0123456789";
const REPO: &str = "/repos/panjf2000/ants";
const LIST: &str = "direction=asc&per_page=100&state=all";
/// The pull-request listing: least recently updated first.
const PULLS: &str = "sort=updated&direction=asc&per_page=100&state=all";

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/github/panjf2000-ants")
}

fn fixture(path: &str) -> Value {
    let text = std::fs::read_to_string(fixture_dir().join("repos/panjf2000/ants").join(path)).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn route(path: String, replies: Vec<Reply>) -> Route {
    Route { path, responses: replies }
}

fn ok(body: &Value) -> Reply {
    Reply::json(200, body.to_string())
}

/// Every page `sync` asks for: the recording, the pull-request list split
/// into two pages (with an ETag each), details with sizes, empty pages for
/// what the recorder did not fetch, one production deployment of #41's merge
/// commit, and the `bug` issues as incidents.
pub fn routes() -> Vec<Route> {
    let mut routes: Vec<Route> = github_fixture_routes(&fixture_dir())
        .into_iter()
        .filter(|r| !r.path.starts_with(&format!("{REPO}/pulls?")))
        .collect();
    let pulls = fixture("pulls.page1.json");
    // The recording was listed by creation; fulcrum asks for `sort=updated`.
    let mut pulls = pulls.as_array().unwrap().clone();
    pulls.sort_by(|a, b| a["updated_at"].as_str().cmp(&b["updated_at"].as_str()));
    let pulls = &pulls;
    let (first, second) = pulls.split_at(30);
    routes.push(route(
        format!("{REPO}/pulls?{PULLS}"),
        vec![
            ok(&json!(first))
                .header("ETag", "\"pulls-1\"")
                .header("Link", &format!("<{{base}}{REPO}/pulls?{PULLS}&page=2>; rel=\"next\"")),
        ],
    ));
    routes.push(route(format!("{REPO}/pulls?{PULLS}&page=2"), vec![ok(&json!(second)).header("ETag", "\"pulls-2\"")]));
    let recorded: Vec<String> = routes.iter().map(|r| r.path.clone()).collect();
    let has = |prefix: &str| recorded.iter().any(|p| p.starts_with(prefix));
    for pr in pulls {
        let n = pr["number"].as_u64().unwrap();
        let mut detail = pr.clone();
        detail["additions"] = json!(n * 10);
        detail["deletions"] = json!(5);
        routes.push(route(format!("{REPO}/pulls/{n}"), vec![ok(&detail)]));
        for what in ["commits", "reviews"] {
            if !has(&format!("{REPO}/pulls/{n}/{what}?")) {
                routes.push(route(format!("{REPO}/pulls/{n}/{what}?{LIST}"), vec![ok(&json!([]))]));
            }
        }
    }
    let runs = fixture("actions/runs.page1.json");
    for run in runs["workflow_runs"].as_array().unwrap() {
        let id = run["id"].as_u64().unwrap();
        if !has(&format!("{REPO}/actions/runs/{id}/jobs")) {
            routes.push(route(
                format!("{REPO}/actions/runs/{id}/jobs?per_page=100"),
                vec![ok(&json!({"total_count": 0, "jobs": []}))],
            ));
        }
    }
    // #41 (merge commit faef79b7…) reached production at 12:00 on its merge day.
    routes.push(route(
        format!("{REPO}/deployments?per_page=100"),
        vec![ok(&json!([{
            "id": 1001, "sha": "faef79b7d8a4876da8a215d7794cce20c710aaa2", "ref": "master",
            "environment": "production", "created_at": "2019-08-20T11:30:00Z", "updated_at": "2019-08-20T12:00:00Z"
        }]))],
    ));
    routes.push(route(
        format!("{REPO}/deployments/1001/statuses?per_page=100"),
        vec![ok(&json!([
            {"state": "success", "created_at": "2019-08-20T12:00:00Z"},
            {"state": "in_progress", "created_at": "2019-08-20T11:31:00Z"}
        ]))],
    ));
    routes.push(route(format!("{REPO}/releases?per_page=100"), vec![ok(&json!([]))]));
    let issues = fixture("issues.page1.json");
    let bugs: Vec<&Value> = issues
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["labels"].as_array().unwrap().iter().any(|l| l["name"] == "bug"))
        .collect();
    routes.push(route(format!("{REPO}/issues?labels=bug&{LIST}"), vec![ok(&json!(bugs))]));
    routes
}

pub fn config(scratch: &Scratch, replay: &Replay) -> PathBuf {
    let path = scratch.path("fulcrum.toml");
    std::fs::write(
        &path,
        format!(
            r#"[deploy]
ci_pattern = '^NoSuchWorkflow$'

[bots]
patterns = ["[bot]", "golangcibot"]

[incident]
labels = ["bug"]

[[source]]
kind = "github"
repo = "panjf2000/ants"
base_url = "{}"
service = "ants"
concurrency = 3
"#,
            replay.url()
        ),
    )
    .unwrap();
    path
}

fn sync(scratch: &Scratch, config: &Path, token: Option<&str>) -> Run {
    let db = scratch.db();
    let mut command = command(["--db", s(&db), "--config", s(config), "sync"]);
    command.current_dir(&scratch.dir).env("FULCRUM_HTTP_BACKOFF_MS", "1");
    if let Some(token) = token {
        command.env("GITHUB_TOKEN", token);
    }
    run(&mut command)
}

fn flow_json(scratch: &Scratch, config: &Path) -> Value {
    let db = scratch.db();
    let args = [
        "--db",
        s(&db),
        "--config",
        s(config),
        "flow",
        "--format",
        "json",
        "--since",
        "2018-01-01",
        "--until",
        "2023-01-01",
    ];
    run(command(args).current_dir(&scratch.dir)).ok().json()
}

/// Bytes of every file of the scratch directory (database, WAL, …).
fn everything_written(dir: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        if entry.path().is_file() {
            bytes.extend(std::fs::read(entry.path()).unwrap());
        }
    }
    bytes
}

#[test]
fn sync_from_recorded_responses_and_flow_by_hand() {
    let scratch = Scratch::new("github_sync");
    let replay = Replay::start(routes());
    let config = config(&scratch, &replay);
    let synced = sync(&scratch, &config, Some(TOKEN)).ok();
    assert!(
        synced.stderr.contains("github:panjf2000/ants: 49 pull requests, 1 deployment events, 2 incidents"),
        "{}",
        synced.stderr
    );

    // Both list pages were read, and every request carried the token.
    let requests = replay.requests();
    assert!(requests.iter().any(|r| r.path.contains("page=2")));
    assert!(
        requests.iter().all(|r| r.headers.iter().any(|(k, v)| k == "authorization" && v == &format!("Bearer {TOKEN}")))
    );
    assert_eq!(replay.unexpected_404s(&[]), Vec::<String>::new(), "no request went astray");

    let flow = flow_json(&scratch, &config);
    let rows = flow["rows"].as_array().unwrap();
    let row = |n: u64| rows.iter().find(|r| r["number"] == n).unwrap_or_else(|| panic!("#{n} in {rows:?}"));
    // #41: first commit 03:22:00, opened 03:24:27 (coding 147 s). golangcibot
    // (a bot by the configuration) comments at 03:25:26; the author reviews
    // himself; panjf2000's first review comment at 03:59:00 starts review
    // (pickup 2,073 s); merged 10:55:19 (review 24,979 s); deployed 12:00:00
    // (deploy 3,881 s); cycle 03:22:00 → 12:00:00 = 31,080 s.
    let pr41 = row(41);
    let stages = |r: &Value| ["coding", "pickup", "review", "deploy", "cycle"].map(|k| r[k].as_i64());
    assert_eq!(stages(pr41), [Some(147), Some(2073), Some(24979), Some(3881), Some(31080)]);
    assert_eq!(pr41["size"], 415);
    // #51: commit 08:39:55, opened 08:46:23, panjf2000 reviews 12:07:36, merged
    // next day 01:00:32; never deployed (only #41 was).
    assert_eq!(stages(row(51)), [Some(388), Some(12073), Some(46376), None, None]);
    // Incidents are issues labelled `bug`; sizes come from the details.
    let db = scratch.db();
    let report_args = [
        "--db",
        s(&db),
        "--config",
        s(&config),
        "report",
        "--format",
        "json",
        "--since",
        "2018-01-01",
        "--until",
        "2023-01-01",
    ];
    let report = run(command(report_args).current_dir(&scratch.dir)).ok().json();
    assert_eq!(report["event_sources"], json!(["github:panjf2000/ants"]));
    let dora = &report["dora"];
    assert_eq!(dora["deployment_frequency"]["value"]["deployments"], 1);
    // Lead time is per pull request (26 merged), but the one deployment is
    // the first of the service: a baseline, whose changes are history
    // before the data starts, so there is no lead time to give.
    assert_eq!(
        report["lead_time_source"],
        "pull requests (26 merged in the window): first commit to the deployment shipping the merge commit"
    );
    let reason = dora["lead_time"]["no_data"]["reason"].as_str().unwrap();
    assert!(reason.contains("1 baseline commit)"), "{reason}");
    // The recording has three issues labelled `bug`: #6, #7 and #8, and #8 is
    // a pull request, so two incidents. Both started in 2018, a year before
    // the only deployment: nothing to link them to, so no failure.
    let conn = open_db(&scratch.db());
    let incidents: Vec<String> = conn.column("SELECT external_id FROM incidents ORDER BY external_id");
    assert_eq!(incidents, ["#6", "#7"]);
    assert_eq!(dora["change_failure_rate"]["value"]["failed_deployments"], 0);
    assert!(
        report["warnings"].to_string().contains("2 of 2 incidents matched no deployment"),
        "{}",
        report["warnings"]
    );
    // #211 was marked ready for review at 21:31:56 (its recorded event), 26 s after it was opened.
    let ready: Option<i64> = conn.value("SELECT ready_at FROM pull_requests WHERE number = 211");
    assert_eq!(ready, Some(utc("2022-02-07 21:31") + 56));

    // The token is nowhere: not in output, not in anything written.
    for text in [&synced.stdout, &synced.stderr, &flow.to_string(), &report.to_string()] {
        assert!(!text.contains(TOKEN));
    }
    let written = everything_written(&scratch.dir);
    assert!(!written.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()), "the token reached the disk");
    // The raw payloads are kept.
    let conn = open_db(&scratch.db());
    let raw: String = conn.value("SELECT raw FROM pull_requests WHERE number = 41");
    assert!(raw.contains("\"merge_commit_sha\""));
}

#[test]
fn actions_runs_matching_ci_pattern_are_deployments() {
    let scratch = Scratch::new("github_actions");
    let replay = Replay::start(routes());
    let config = config(&scratch, &replay);
    let text = std::fs::read_to_string(&config).unwrap().replace("^NoSuchWorkflow$", "^CodeQL$");
    std::fs::write(&config, text).unwrap();
    let synced = sync(&scratch, &config, Some(TOKEN)).ok();
    // The recording's CodeQL runs: 10 scheduled and 1 pushed completed
    // successfully; the pull-request runs (of any conclusion) and the
    // in-progress one are not deployments. Plus the hand-written deployment.
    assert!(synced.stderr.contains("12 deployment events"), "{}", synced.stderr);
    let conn = open_db(&scratch.db());
    let runs: Vec<(String, String)> = conn
        .rows("SELECT status, environment FROM deployments WHERE external_id LIKE 'run-%'")
        .into_iter()
        .map(FromRow::from_row)
        .collect();
    assert_eq!(runs.len(), 11);
    assert!(runs.iter().all(|(status, environment)| status == "success" && environment == "production"), "{runs:?}");
}

#[test]
fn second_sync_is_conditional_and_incremental() {
    let scratch = Scratch::new("github_resync");
    let replay = Replay::start(routes());
    let config = config(&scratch, &replay);
    sync(&scratch, &config, Some(TOKEN)).ok();
    let before = replay.requests().len();
    let run = sync(&scratch, &config, Some(TOKEN)).ok();
    let again: Vec<_> = replay.requests().into_iter().skip(before).collect();
    // The list pages were asked for with their ETags (answered 304), and no
    // pull request was fetched again: none changed since the cursor.
    assert!(again.iter().any(|r| r.headers.iter().any(|(k, v)| k == "if-none-match" && v == "\"pulls-1\"")));
    assert!(!again.iter().any(|r| r.path.starts_with(&format!("{REPO}/pulls/41"))), "{again:?}");
    // The deployment did not change since: its statuses are not asked for again.
    assert!(!again.iter().any(|r| r.path.contains("/statuses")), "{again:?}");
    assert!(run.stderr.contains("0 pull requests"), "{}", run.stderr);
    assert!(run.stderr.contains("unchanged"), "{}", run.stderr);
    let count: i64 = open_db(&scratch.db()).count("pull_requests");
    assert_eq!(count, 49, "#4 is listed twice by the recording");
}

#[test]
fn rate_limits_and_a_bad_gateway_are_waited_out() {
    let scratch = Scratch::new("github_rate_limits");
    let mut routes = routes();
    let comments = fixture("issues/comments.page1.json");
    let review_comments = fixture("pulls/comments.page1.json");
    // The clock is fulcrum's (FULCRUM_NOW): the limit resets one second after it.
    let reset = utc(&format!("{NOW} 00:00")) + 1;
    for r in routes.iter_mut() {
        if r.path.starts_with(&format!("{REPO}/issues/comments?")) {
            // The primary limit: 403 with no requests left until `reset`.
            r.responses = vec![
                Reply::json(403, r#"{"message":"API rate limit exceeded"}"#)
                    .header("x-ratelimit-remaining", "0")
                    .header("x-ratelimit-reset", &reset.to_string()),
                ok(&comments),
            ];
        }
        if r.path.starts_with(&format!("{REPO}/pulls/comments?")) {
            // The secondary limit (429, retry-after), then a 502, then the page.
            r.responses = vec![
                Reply::json(429, r#"{"message":"secondary rate limit"}"#).header("retry-after", "0"),
                Reply::json(502, "bad gateway"),
                ok(&review_comments),
            ];
        }
    }
    let replay = Replay::start(routes);
    let config = config(&scratch, &replay);
    let started = std::time::Instant::now();
    let run = sync(&scratch, &config, Some(TOKEN)).ok();
    // Waited until the reset plus a second of slack (it is rounded down):
    // neither at once nor a default minute.
    let waited = started.elapsed().as_secs_f64();
    assert!((2.0..20.0).contains(&waited), "waited {waited} s");
    assert!(run.stderr.contains("49 pull requests"), "{}", run.stderr);
    let asked = |prefix: &str| replay.requests().iter().filter(|r| r.path.starts_with(prefix)).count();
    assert_eq!(asked(&format!("{REPO}/issues/comments?")), 2);
    assert_eq!(asked(&format!("{REPO}/pulls/comments?")), 3);
    // The waited-for review comments made it: #41 has its pickup.
    let flow = flow_json(&scratch, &config);
    let pr41 = flow["rows"].as_array().unwrap().iter().find(|r| r["number"] == 41).unwrap().clone();
    assert_eq!(pr41["pickup"], 2073);
}

#[test]
fn malformed_pages_and_refused_tokens_keep_what_is_stored() {
    let scratch = Scratch::new("github_failures");
    // Something already stored must survive.
    std::fs::write(
        scratch.path("events.jsonl"),
        r#"{"type":"deployment","id":"d1","service":"ants","commit":"abc","finished_at":"2019-01-01T00:00:00Z"}"#,
    )
    .unwrap();
    run(command(["--db", s(&scratch.db()), "import", "events.jsonl"]).current_dir(&scratch.dir)).ok();

    let mut broken = routes();
    for r in broken.iter_mut() {
        if r.path.starts_with(&format!("{REPO}/issues/events?")) {
            r.responses = vec![Reply::json(200, "<html>proxy error</html>")];
        }
    }
    let replay = Replay::start(broken);
    let config = config(&scratch, &replay);
    let run = sync(&scratch, &config, Some(TOKEN));
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("/issues/events") && run.stderr.contains("not valid JSON"), "{}", run.stderr);
    assert!(!run.stderr.contains(TOKEN));

    let refusing = Replay::start(vec![route(
        format!("{REPO}/pulls?{PULLS}"),
        vec![Reply::json(401, r#"{"message":"Bad credentials"}"#)],
    )]);
    let config = self::config(&scratch, &refusing);
    sync(&scratch, &config, Some(TOKEN)).bad_input(&["refused the token", "$GITHUB_TOKEN", "not shown"]);
    let stderr = sync(&scratch, &config, Some(TOKEN)).stderr;
    assert!(!stderr.contains(TOKEN));

    let count: i64 = open_db(&scratch.db()).count("deployments");
    assert_eq!(count, 1, "the imported deployment survived");
}

#[test]
fn an_interrupted_sync_resumes_from_its_cursor() {
    let scratch = Scratch::new("github_resume");
    let mut routes = routes();
    // #192's reviews fail for good: the sync stops in the middle.
    for r in routes.iter_mut() {
        if r.path.starts_with(&format!("{REPO}/pulls/192/reviews?")) {
            r.responses = vec![
                Reply::json(500, "{}"),
                Reply::json(500, "{}"),
                Reply::json(500, "{}"),
                Reply::json(500, "{}"),
                Reply::json(500, "{}"),
                ok(&json!([])),
            ];
        }
    }
    let replay = Replay::start(routes);
    let config = config(&scratch, &replay);
    let db = scratch.db();
    let mut first = command(["--db", s(&db), "--config", s(&config), "sync"]);
    first
        .current_dir(&scratch.dir)
        .env("FULCRUM_HTTP_BACKOFF_MS", "1")
        .env("FULCRUM_TEST_SOURCE_BATCH", "10")
        .env("GITHUB_TOKEN", TOKEN);
    let failed = run(&mut first);
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    let stored: i64 = open_db(&db).count("pull_requests");
    // Batches of 10 within each listed page: page 1 holds 29 distinct pull
    // requests (#4 twice), stored as 10 + 10 + 9; page 2's first batch of 10
    // is stored, its second holds #192 and fails.
    assert_eq!(stored, 39, "the whole batches before the failure are kept");
    let before = replay.requests().len();
    let run2 = run(&mut first).ok();
    assert!(run2.stderr.contains(&format!("{} pull requests", 49 - stored)), "{}", run2.stderr);
    // Pull requests stored by the first run were not fetched again.
    let again = replay
        .requests()
        .into_iter()
        .skip(before)
        .filter(|r| r.path.ends_with("/commits?direction=asc&per_page=100&state=all"))
        .count();
    assert_eq!(again as i64, 49 - stored);
}

/// SIGKILL during a connector sync, at points spread over it (a slow host:
/// every pull request's detail takes 15 ms): the next sync completes it, to
/// the same pull requests and the same flow as a sync never interrupted.
#[test]
fn a_killed_connector_sync_resumes() {
    let scratch = Scratch::new("github_killed");
    let slow = || {
        let mut routes = routes();
        for r in routes.iter_mut() {
            if r.path.starts_with(&format!("{REPO}/pulls/")) && !r.path.contains('?') {
                r.responses = r.responses.drain(..).map(|reply| reply.slow(15)).collect();
            }
        }
        routes
    };
    let replay = Replay::start(slow());
    let config = config(&scratch, &replay);
    let clean = scratch.other_db("clean");
    let sync_into = |db: &Path| {
        let mut command = command(["--db", s(db), "--config", s(&config), "sync"]);
        command
            .current_dir(&scratch.dir)
            .env("GITHUB_TOKEN", TOKEN)
            .env("FULCRUM_HTTP_BACKOFF_MS", "1")
            .env("FULCRUM_TEST_SOURCE_BATCH", "5");
        command
    };
    let started = std::time::Instant::now();
    run(&mut sync_into(&clean)).ok();
    let whole = started.elapsed();
    let flow_of = |db: &Path| {
        let args = ["--db", s(db), "flow", "--format", "json", "--since", "2018-01-01", "--until", "2023-01-01"];
        run(command(args).current_dir(&scratch.dir)).ok().stdout
    };
    let expected = flow_of(&clean);
    let mut interrupted = 0;
    for tenth in [3, 7] {
        let db = scratch.other_db(&format!("killed-{tenth}"));
        let mut child = sync_into(&db).spawn().unwrap();
        std::thread::sleep(whole * tenth / 10);
        let _ = child.kill();
        child.wait().unwrap();
        let stored: i64 = try_open_db(&db, true)
            .and_then(|c| c.try_rows("SELECT COUNT(*) FROM pull_requests"))
            .map_or(0, |rows| FromCell::from_cell(rows[0][0].clone()));
        interrupted += usize::from(stored < 49);
        run(&mut sync_into(&db)).ok();
        let count: i64 = open_db(&db).count("pull_requests");
        assert_eq!(count, 49, "kill at {tenth}/10");
        assert_eq!(flow_of(&db), expected, "kill at {tenth}/10");
    }
    assert!(interrupted > 0, "no kill landed inside a sync ({whole:?} per sync)");
}

/// A listing that shifts while it is paged repeats items at a page
/// boundary, as GitHub's do: each review, commit and comment is stored
/// once, by its id, so one review does not count twice in the review load.
#[test]
fn children_listed_twice_are_stored_once() {
    let rows = |scratch: &Scratch| -> (i64, i64) {
        let db = open_db(&scratch.db());
        (db.pr_commits().len() as i64, db.pr_activities().len() as i64)
    };
    let plain = Scratch::new("github_listed_once");
    let replay = Replay::start(routes());
    sync(&plain, &config(&plain, &replay), Some(TOKEN)).ok();
    let expected = rows(&plain);
    assert!(expected.0 > 0 && expected.1 > 0, "{expected:?}");

    let doubled = Scratch::new("github_listed_twice");
    let mut routes = routes();
    let twice = |items: &Value| {
        let items = items.as_array().unwrap();
        // An item repeated right after itself, as when a list shifts by one
        // between two pages.
        let mut all = items.clone();
        all.insert(1, items[0].clone());
        json!(all)
    };
    let mut changed = 0;
    for r in routes.iter_mut() {
        let source = if r.path.starts_with(&format!("{REPO}/pulls/41/reviews?")) {
            Some("pulls/41/reviews.page1.json")
        } else if r.path.starts_with(&format!("{REPO}/pulls/41/commits?")) {
            Some("pulls/41/commits.page1.json")
        } else if r.path.starts_with(&format!("{REPO}/issues/comments?")) {
            Some("issues/comments.page1.json")
        } else if r.path.starts_with(&format!("{REPO}/pulls/comments?")) {
            Some("pulls/comments.page1.json")
        } else {
            None
        };
        if let Some(file) = source {
            r.responses = vec![ok(&twice(&fixture(file)))];
            changed += 1;
        }
    }
    assert_eq!(changed, 4, "the four listings were found");
    let replay = Replay::start(routes);
    sync(&doubled, &config(&doubled, &replay), Some(TOKEN)).ok();
    assert_eq!(rows(&doubled), expected, "(commits, activities) as without the repeats");
}

/// GitHub's pagination links name the repository by id
/// (`/repositories/{id}/…`). Pages reached that way are cached under the
/// repository's name, so the next sync asks for them conditionally too
/// (before, every re-sync downloaded pages 2 and later in full).
#[test]
fn pages_linked_by_repository_id_are_asked_for_conditionally_again() {
    let scratch = Scratch::new("github_repository_id_links");
    let mut routes = routes();
    let pulls = fixture("pulls.page1.json");
    let mut pulls = pulls.as_array().unwrap().clone();
    pulls.sort_by(|a, b| a["updated_at"].as_str().cmp(&b["updated_at"].as_str()));
    let (first, second) = pulls.split_at(30);
    routes.retain(|r| !r.path.starts_with(&format!("{REPO}/pulls?")));
    routes.push(route(
        format!("{REPO}/pulls?{PULLS}"),
        vec![
            ok(&json!(first))
                .header("ETag", "\"pulls-1\"")
                .header("Link", &format!("<{{base}}/repositories/9999/pulls?{PULLS}&page=2>; rel=\"next\"")),
        ],
    ));
    routes.push(route(
        format!("/repositories/9999/pulls?{PULLS}&page=2"),
        vec![ok(&json!(second)).header("ETag", "\"pulls-2\"")],
    ));
    let replay = Replay::start(routes);
    let config = config(&scratch, &replay);
    let first_run = sync(&scratch, &config, Some(TOKEN)).ok();
    assert!(first_run.stderr.contains("49 pull requests"), "{}", first_run.stderr);
    let before = replay.requests().len();
    sync(&scratch, &config, Some(TOKEN)).ok();
    let again: Vec<_> = replay.requests().into_iter().skip(before).collect();
    let page2: Vec<_> = again.iter().filter(|r| r.path.starts_with("/repositories/9999/pulls")).collect();
    assert_eq!(page2.len(), 1, "{again:?}");
    assert!(
        page2[0].headers.iter().any(|(k, v)| k == "if-none-match" && v == "\"pulls-2\""),
        "page 2 is asked for with its ETag: {:?}",
        page2[0].headers
    );
}

/// `issues = true`: the recorded issues become work items (open when
/// created, done when closed, none of them with recorded events), and an
/// issue is linked to the pull request whose description says `Fix #22`.
#[test]
fn issues_are_work_items_linked_by_their_pull_requests() {
    let scratch = Scratch::new("github_issues");
    let replay = Replay::start(routes());
    let config = config(&scratch, &replay);
    let text = std::fs::read_to_string(&config).unwrap() + "issues = true\n";
    std::fs::write(&config, text).unwrap();
    let run = sync(&scratch, &config, Some(TOKEN)).ok();
    assert!(run.stderr.contains(", 26 work items ("), "{}", run.stderr);
    let flow = flow_json(&scratch, &config);
    let items = &flow["items"];
    assert_eq!((items["items"].as_u64(), items["done"].as_u64()), (Some(26), Some(26)));
    let rows = items["rows"].as_array().unwrap();
    let issue = rows.iter().find(|r| r["key"] == "panjf2000/ants#22").unwrap();
    assert_eq!(issue["pull_requests"], json!(["panjf2000/ants#23"]), "{issue}");
    // Opened 2019-01-21 10:06:56, closed 2019-01-22 05:41:34 when #23 merged.
    assert_eq!(issue["backlog"], 70_478);
    assert_eq!(issue["merged_at"].as_i64(), issue["done_at"].as_i64());
    // Again: the items are replaced, not added.
    sync(&scratch, &config, Some(TOKEN)).ok();
    assert_eq!(open_db(&scratch.db()).count("work_items"), 26);
    assert_eq!(flow_json(&scratch, &config)["items"], *items);
}

/// `repo = "panjf2000/*"`: the organisation's repositories are listed
/// (archived ones and forks left out) and each is synced as its own source;
/// an owner that is no organisation is listed as a user.
#[test]
fn an_organisation_is_listed_and_each_repository_synced() {
    let scratch = Scratch::new("github_org");
    let mut routes = routes();
    let listing = json!([
        {"full_name": "panjf2000/ants", "archived": false, "fork": false},
        {"full_name": "panjf2000/old-thing", "archived": true, "fork": false},
        {"full_name": "panjf2000/forked", "archived": false, "fork": true},
    ]);
    routes.push(route("/orgs/panjf2000/repos?type=all&per_page=100".to_owned(), vec![ok(&listing)]));
    routes.push(route("/users/nobody-here/repos?type=owner&per_page=100".to_owned(), vec![ok(&json!([]))]));
    let replay = Replay::start(routes);
    let config = config(&scratch, &replay);
    let text = std::fs::read_to_string(&config).unwrap().replace("repo = \"panjf2000/ants\"", "repo = \"panjf2000/*\"");
    std::fs::write(&config, &text).unwrap();
    let run = sync(&scratch, &config, Some(TOKEN)).ok();
    assert!(run.stderr.contains("github:panjf2000/ants: 49 pull requests"), "{}", run.stderr);
    let asked: Vec<String> = replay.requests().into_iter().map(|r| r.path).collect();
    assert!(asked.iter().any(|p| p.starts_with("/orgs/panjf2000/repos")), "{asked:?}");
    assert!(!asked.iter().any(|p| p.contains("old-thing") || p.contains("forked")), "{asked:?}");
    assert_eq!(open_db(&scratch.db()).count("pull_requests"), 49);

    // No organisation of that name: the user's repositories, here none: said so.
    std::fs::write(&config, text.replace("panjf2000/*", "nobody-here/*")).unwrap();
    sync(&scratch, &config, Some(TOKEN)).bad_input(&["nobody-here/*", "no repository listed"]);
}

/// The recorded pull requests as GitHub's GraphQL API gives them: each
/// REST pull request with its commits, reviews (their line comments
/// attached by `pull_request_review_id`; the comments of reviews the
/// recorder did not fetch under a pending review, which counts no review),
/// comments and last ready-for-review event, sizes as `routes()` gives.
fn graphql_nodes() -> Vec<Value> {
    let mut pulls = fixture("pulls.page1.json").as_array().unwrap().clone();
    pulls.sort_by(|a, b| a["updated_at"].as_str().cmp(&b["updated_at"].as_str()));
    let list = |path: &str| -> Vec<Value> {
        let file = fixture_dir().join("repos/panjf2000/ants").join(path);
        if file.exists() {
            serde_json::from_str::<Value>(&std::fs::read_to_string(file).unwrap()).unwrap().as_array().unwrap().clone()
        } else {
            Vec::new()
        }
    };
    let line_comments = list("pulls/comments.page1.json");
    let issue_comments = list("issues/comments.page1.json");
    let events = list("issues/events.page1.json");
    let who = |user: &Value| if user.is_null() { Value::Null } else { json!({"login": user["login"]}) };
    let number_of = |url: &Value| url.as_str().and_then(|u| u.rsplit('/').next()).and_then(|n| n.parse::<u64>().ok());
    pulls
        .iter()
        .map(|pr| {
            let n = pr["number"].as_u64().unwrap();
            let commits: Vec<Value> = list(&format!("pulls/{n}/commits.page1.json"))
                .iter()
                .map(|c| json!({"commit": {
                    "oid": c["sha"], "authoredDate": c["commit"]["author"]["date"],
                    "author": {"name": c["commit"]["author"]["name"], "user": who(&c["author"])}
                }}))
                .collect();
            let mine: Vec<&Value> =
                line_comments.iter().filter(|c| number_of(&c["pull_request_url"]) == Some(n)).collect();
            let comment = |c: &Value| json!({"id": format!("RC{}", c["id"]), "createdAt": c["created_at"], "author": who(&c["user"])});
            let mut attached = std::collections::HashSet::new();
            let mut reviews: Vec<Value> = list(&format!("pulls/{n}/reviews.page1.json"))
                .iter()
                .map(|r| {
                    let own: Vec<Value> = mine
                        .iter()
                        .filter(|c| c["pull_request_review_id"] == r["id"])
                        .map(|c| {
                            attached.insert(c["id"].as_u64());
                            comment(c)
                        })
                        .collect();
                    json!({"id": format!("R{}", r["id"]), "state": r["state"], "submittedAt": r["submitted_at"],
                           "author": who(&r["user"]), "comments": {"nodes": own}})
                })
                .collect();
            let loose: Vec<Value> = mine.iter().filter(|c| !attached.contains(&c["id"].as_u64())).map(|c| comment(c)).collect();
            if !loose.is_empty() {
                reviews.push(json!({"id": format!("PENDING{n}"), "state": "PENDING", "submittedAt": null,
                                    "author": null, "comments": {"nodes": loose}}));
            }
            let comments: Vec<Value> = issue_comments
                .iter()
                .filter(|c| number_of(&c["issue_url"]) == Some(n))
                .map(|c| json!({"id": format!("IC{}", c["id"]), "createdAt": c["created_at"], "author": who(&c["user"])}))
                .collect();
            let ready: Vec<Value> = events
                .iter()
                .filter(|e| e["event"] == "ready_for_review" && e["issue"]["number"].as_u64() == Some(n))
                .map(|e| json!({"createdAt": e["created_at"]}))
                .collect();
            let done = json!({"hasNextPage": false, "endCursor": null});
            json!({
                "id": format!("PR_{n}"), "number": n, "title": pr["title"], "url": pr["html_url"],
                "createdAt": pr["created_at"], "updatedAt": pr["updated_at"], "mergedAt": pr["merged_at"],
                "closedAt": pr["closed_at"], "isDraft": pr["draft"].as_bool().unwrap_or(false),
                "additions": n * 10, "deletions": 5, "author": who(&pr["user"]),
                "mergeCommit": if pr["merged_at"].is_null() { Value::Null } else { json!({"oid": pr["merge_commit_sha"]}) },
                "commits": {"pageInfo": done, "nodes": commits},
                "reviews": {"pageInfo": done, "nodes": reviews},
                "comments": {"pageInfo": done, "nodes": comments},
                "timelineItems": {"nodes": ready.last().cloned().into_iter().collect::<Vec<_>>()}
            })
        })
        .collect()
}

/// The requests a sync says it made (`github:…: … (N requests, …)`).
fn requests_made(stderr: &str) -> usize {
    let line = stderr.lines().find(|l| l.starts_with("github:panjf2000/ants:")).unwrap();
    line.rsplit_once('(').unwrap().1.split(' ').next().unwrap().parse().unwrap()
}

fn graphql_key(operation: &str, variables: Value) -> String {
    format!("/graphql {operation} {variables}")
}

#[test]
fn graphql_gives_what_rest_gives_at_a_fraction_of_the_requests() {
    // REST first, for the reference.
    let rest = Scratch::new("github_graphql_rest");
    let replay = Replay::start(routes());
    let config_rest = config(&rest, &replay);
    let synced = sync(&rest, &config_rest, Some(TOKEN)).ok();
    let rest_requests = requests_made(&synced.stderr);

    let scratch = Scratch::new("github_graphql");
    let mut nodes = graphql_nodes();
    assert_eq!(nodes.len(), 50);
    // One pull request's commits overflow the first answer: the rest comes
    // from a follow-up query on its node.
    let (i, overflowing) =
        nodes.iter().enumerate().find(|(_, n)| n["commits"]["nodes"].as_array().unwrap().len() >= 3).unwrap();
    let id = overflowing["id"].as_str().unwrap().to_owned();
    let rest_of: Vec<Value> = overflowing["commits"]["nodes"].as_array().unwrap()[1..].to_vec();
    nodes[i]["commits"]["nodes"].as_array_mut().unwrap().truncate(1);
    nodes[i]["commits"]["pageInfo"] = json!({"hasNextPage": true, "endCursor": "k1"});
    let rate = |remaining: u64| json!({"cost": 1, "remaining": remaining, "resetAt": "2019-01-01T00:00:00Z"});
    let vars = |after: Value, direction: &str| json!({"owner": "panjf2000", "name": "ants", "after": after, "direction": direction});
    let page = |nodes: &[Value], next: Option<&str>| {
        let info = json!({"hasNextPage": next.is_some(), "endCursor": next});
        json!({"data": {"rateLimit": rate(4990), "repository": {"pullRequests": {"pageInfo": info, "nodes": nodes}}}})
    };
    let mut newest_first = nodes.clone();
    newest_first.reverse();
    let mut routes: Vec<Route> =
        routes().into_iter().filter(|r| !r.path.starts_with(&format!("{REPO}/pulls"))).collect();
    routes.extend([
        route(graphql_key("PullRequests", vars(Value::Null, "ASC")), vec![ok(&page(&nodes[..30], Some("c30")))]),
        route(
            graphql_key("PullRequests", vars(json!("c30"), "ASC")),
            vec![
                // The primary limit, said in the body as GitHub does.
                ok(&json!({"data": null, "errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded"}]})),
                ok(&page(&nodes[30..], None)),
            ],
        ),
        route(
            graphql_key("PullRequestCommits", json!({"id": id, "after": "k1"})),
            vec![ok(&json!({"data": {"rateLimit": rate(4989), "node": {"commits": {
                "pageInfo": {"hasNextPage": false, "endCursor": "k2"}, "nodes": rest_of}}}}))],
        ),
        // The re-sync: newest first, stopping at the newest already stored.
        route(
            graphql_key("PullRequests", vars(Value::Null, "DESC")),
            vec![ok(&page(&newest_first[..30], Some("d30")))],
        ),
    ]);
    let replay = Replay::start(routes);
    let config = config(&scratch, &replay);
    let text =
        std::fs::read_to_string(&config).unwrap().replace("concurrency = 3", "concurrency = 3\napi = \"graphql\"");
    std::fs::write(&config, text).unwrap();
    let synced = sync(&scratch, &config, Some(TOKEN)).ok();
    assert_eq!(replay.unexpected_404s(&[]), Vec::<String>::new());
    let requests = replay.requests();
    let queries = requests.iter().filter(|r| r.method == "POST").count();
    // Two pages, the rate-limited retry and one follow-up.
    assert_eq!(queries, 4, "{:?}", requests.iter().map(|r| &r.path).collect::<Vec<_>>());
    assert!(
        requests.iter().all(|r| r.headers.iter().any(|(k, v)| k == "authorization" && v == &format!("Bearer {TOKEN}")))
    );
    let graphql_requests = requests_made(&synced.stderr);
    eprintln!("50 pull requests: REST {rest_requests} requests, GraphQL {graphql_requests} ({queries} queries)");
    assert!(graphql_requests * 3 < rest_requests, "REST {rest_requests}, GraphQL {graphql_requests}");

    // The same pull requests, commits, reviews, comments and stages.
    let without_path = |mut flow: Value| {
        flow.as_object_mut().unwrap().remove("config_source");
        flow
    };
    let (graphql_flow, rest_flow) =
        (without_path(flow_json(&scratch, &config)), without_path(flow_json(&rest, &config_rest)));
    if graphql_flow != rest_flow {
        std::fs::write(scratch.path("graphql.json"), serde_json::to_string_pretty(&graphql_flow).unwrap()).unwrap();
        std::fs::write(scratch.path("rest.json"), serde_json::to_string_pretty(&rest_flow).unwrap()).unwrap();
        panic!("flow differs: diff {} {}", s(&scratch.path("rest.json")), s(&scratch.path("graphql.json")));
    }

    // A re-sync with nothing new: one query.
    let before = replay.requests().len();
    sync(&scratch, &config, Some(TOKEN)).ok();
    let again: Vec<Recorded> = replay.requests().into_iter().skip(before).filter(|r| r.method == "POST").collect();
    assert_eq!(again.len(), 1, "{:?}", again.iter().map(|r| &r.path).collect::<Vec<_>>());
    assert!(again[0].path.contains("\"DESC\""));
}

#[test]
fn graphql_without_a_token_lists_through_rest() {
    let scratch = Scratch::new("github_graphql_no_token");
    let replay = Replay::start(routes());
    let config = config(&scratch, &replay);
    let text =
        std::fs::read_to_string(&config).unwrap().replace("concurrency = 3", "concurrency = 3\napi = \"graphql\"");
    std::fs::write(&config, text).unwrap();
    let synced = sync(&scratch, &config, None).ok();
    assert!(
        synced.stderr.contains("api = \"graphql\" needs a token; listing through REST instead"),
        "{}",
        synced.stderr
    );
    assert!(replay.requests().iter().all(|r| r.method == "GET"));
    // As the REST sync stores them: #4 is listed twice by the recording.
    assert_eq!(open_db(&scratch.db()).count("pull_requests"), 49);
}
