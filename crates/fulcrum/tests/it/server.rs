//! The team server: its router driven in process (tower's `oneshot`, as
//! axum's examples do), every answer checked against the command line's
//! JSON for the same request; and one real process serving over loopback.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt;

use crate::harness::*;

pub(crate) fn state(db: &Path, repos: &[&Path]) -> fulcrum::server::ServerState {
    let db = PathBuf::from(database(db));
    fulcrum::server::ServerState {
        context: Arc::new(move || fulcrum::app::Context {
            db: db.clone(),
            config: None,
            now: utc(&format!("{NOW} 00:00")),
        }),
        repos: Arc::new(repos.iter().map(|p| p.to_path_buf()).collect()),
        syncs: Default::default(),
        secrets: Arc::new(fulcrum::sources::hooks::Secrets::default()),
        failures: Default::default(),
        beyond_loopback: false,
        observer: Arc::new(fulcrum::server::observe::Observer::new(false)),
        cache: Default::default(),
        writer: Default::default(),
    }
}

/// `GET uri`: status, headers' CSP, body.
pub(crate) fn get(state: &fulcrum::server::ServerState, uri: &str) -> (StatusCode, Option<String>, String) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let request = Request::builder().uri(uri).body(Body::empty()).unwrap();
        let response = fulcrum::server::router(state.clone()).oneshot(request).await.unwrap();
        let status = response.status();
        let csp = response.headers().get("content-security-policy").map(|v| v.to_str().unwrap().to_owned());
        let body = axum::body::to_bytes(response.into_body(), 1 << 24).await.unwrap();
        (status, csp, String::from_utf8(body.to_vec()).unwrap())
    })
}

#[test]
fn the_api_answers_what_the_command_line_prints() {
    let scratch = Scratch::new("server_api");
    let (delivery, team, db) = (repo("delivery"), repo("team"), scratch.db());
    sync(&delivery, &db);
    sync(&team, &db);
    let state = state(&db, &[&delivery, &team]);
    let cli = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--db", s(&db), "--no-sync", "--format", "json"]);
        fulcrum(all).ok().stdout
    };

    // The OpenAPI document (checked against the routes in the unit tests);
    // an unknown path is a JSON refusal pointing to it.
    let (status, _, body) = get(&state, "/api/v1/openapi.json");
    assert_eq!(status, StatusCode::OK);
    let document: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(document["paths"]["/api/v1/report"]["get"].is_object(), "{body}");
    let (status, _, body) = get(&state, "/api/v2/report");
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("openapi.json"), "{body}");
    // Every answer is counted by route (never the raw path) and timed.
    let (status, _, metrics) = get(&state, "/metrics");
    assert_eq!(status, StatusCode::OK);
    for line in [
        "fulcrum_http_requests_total{route=\"/api/v1/openapi.json\",method=\"GET\",status=\"200\"} 1\n",
        "fulcrum_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"} 1\n",
        "fulcrum_http_request_duration_seconds_count{route=\"/api/v1/openapi.json\"} 1\n",
    ] {
        assert!(metrics.contains(line), "{line} in\n{metrics}");
    }

    let (status, _, body) = get(&state, "/healthz");
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ok\n"));

    // The same objects as the command line's JSON, the same flags as parameters.
    let (status, csp, body) = get(&state, "/api/v1/report?since=2024-12-01");
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(csp.is_some_and(|c| c.contains("frame-ancestors 'none'")));
    assert_eq!(body, cli(&["report", "--repo", s(&delivery), "--since", "2024-12-01"]));
    let (_, _, body) = get(&state, "/api/v1/knowledge?repo=team");
    assert_eq!(body, cli(&["knowledge", "--repo", s(&team)]));
    let (_, _, body) = get(&state, "/api/v1/hotspots?repo=team&since=2024-01-01");
    assert_eq!(body, cli(&["hotspots", "--repo", s(&team), "--since", "2024-01-01"]));
    let (_, _, body) = get(&state, "/api/v1/flow?since=2024-12-01");
    assert_eq!(body, cli(&["flow", "--repo", s(&delivery), "--since", "2024-12-01"]));

    // Refusals: 400 with the error named, as the command line's exit code 2.
    let (status, _, body) = get(&state, "/api/v1/report?since=soon");
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("--since soon"), "{body}");
    let (status, _, body) = get(&state, "/api/v1/report?repo=elsewhere");
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("not served here"), "{body}");
    let (status, _, _) = get(&state, "/api/v1/report?colour=red");
    assert_eq!(status, StatusCode::BAD_REQUEST, "unknown parameters are refused");
    let (status, _, _) = get(&state, "/api/v1/nothing");
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[test]
fn the_delivery_page_shows_the_keys_without_javascript() {
    let scratch = Scratch::new("server_page");
    let (delivery, db) = (repo("delivery"), scratch.db());
    sync(&delivery, &db);
    let state = state(&db, &[&delivery]);
    let (status, csp, page) = get(&state, "/?since=2024-12-01");
    assert_eq!(status, StatusCode::OK);
    assert!(csp.is_some_and(|c| c.contains("script-src 'self'")));
    assert!(!page.contains("<script"), "the page works without JavaScript");
    assert!(page.contains("Single-user mode"), "{page}");
    // The figures of the API's report (numbers worked by hand in dora.rs).
    assert!(page.contains("<tr data-key=\"deployment_frequency\"><th>Deployment frequency</th><td>0.78/week (6 deployments)</td><td>medium</td><td>"), "{page}");
    assert!(page.contains("median 3h 30m (p75 1d 1h, p90 1d 2h; 8 measured)"), "{page}");
    assert!(page.contains("at least 33.3% of 6 deployments"), "{page}");
    // A weekly trend chart per key, a bar per week of the report.
    let (_, _, api) = get(&state, "/api/v1/report?since=2024-12-01");
    let weeks = serde_json::from_str::<serde_json::Value>(&api).unwrap()["dora"]["weekly"].as_array().unwrap().len();
    assert!(weeks > 0);
    assert_eq!(page.matches(&format!("data-bars=\"{weeks}\"")).count(), 3, "{page}");
}

/// A real server process on loopback: it refuses other addresses without
/// accounts, syncs at start, answers over HTTP and stops on SIGTERM.
#[test]
fn fulcrum_serve_answers_over_loopback_and_stops_on_sigterm() {
    let scratch = Scratch::new("server_process");
    let (delivery, db) = (repo("delivery"), scratch.db());
    fulcrum(["serve", "--repo", s(&delivery), "--db", s(&db), "--listen", "0.0.0.0:7878"])
        .bad_input(&["without accounts"]);
    assert!(!db.exists(), "nothing is created for bad input");

    let mut child =
        command(["serve", "--repo", s(&delivery), "--db", s(&db), "--listen", "127.0.0.1:0", "--sync-every", "0"])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut address = String::new();
    for _ in 0..5 {
        let mut line = String::new();
        stderr.read_line(&mut line).unwrap();
        if let Some(rest) = line.strip_prefix("fulcrum serves http://") {
            address = rest.split('/').next().unwrap().to_owned();
            break;
        }
    }
    assert!(!address.is_empty(), "no address announced");
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200") && answer.ends_with("ok\n"), "{answer}");
    let status = std::process::Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "a clean shutdown on SIGTERM: {exit:?}");
    assert_eq!(counts(&db).commits, 15, "synced at start");
    // Each answer has a request id, and its JSON log line on stderr.
    assert!(answer.to_lowercase().contains("x-request-id: 00000001"), "{answer}");
    let mut log = String::new();
    stderr.read_to_string(&mut log).unwrap();
    let line: serde_json::Value = serde_json::from_str(log.lines().find(|l| l.starts_with('{')).unwrap()).unwrap();
    assert_eq!((line["route"].as_str(), line["status"].as_u64()), (Some("/healthz"), Some(200)), "{log}");
    assert_eq!(line["request_id"], "00000001");
}

/// `POST uri` with a bearer token (if any) and a body.
fn post(state: &fulcrum::server::ServerState, uri: &str, token: Option<&str>, body: Vec<u8>) -> (StatusCode, String) {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = bearer.iter().map(|b| ("authorization", b.as_str())).collect();
    send(state, uri, &headers, body)
}

/// `POST uri` with `headers`: status and body.
fn send(
    state: &fulcrum::server::ServerState,
    uri: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> (StatusCode, String) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let mut request = Request::builder().method("POST").uri(uri);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response =
            fulcrum::server::router(state.clone()).oneshot(request.body(Body::from(body)).unwrap()).await.unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 24).await.unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    })
}

fn count(db: &Path, table: &str) -> i64 {
    open_db(db).count(table)
}

const EVENTS: &str = "{\"type\":\"deployment\",\"id\":\"d1\",\"name\":\"deploy d1\",\"service\":\"shop\",\"commit\":\"a1\",\"finished_at\":\"2025-02-03T10:00:00Z\",\"commits\":[\"a1\"]}\n\
{\"type\":\"deployment\",\"id\":\"d2\",\"name\":\"deploy d2\",\"service\":\"shop\",\"commit\":\"a2\",\"finished_at\":\"2025-02-05T10:00:00Z\",\"commits\":[\"a2\"]}\n\
{\"type\":\"incident\",\"id\":\"i1\",\"service\":\"shop\",\"started_at\":\"2025-02-05T11:00:00Z\",\"resolved_at\":\"2025-02-05T13:00:00Z\"}\n";

/// Events pushed to the server: a token of scope events:write, the import's
/// validation, nothing stored from a refused request, idempotent by id, and
/// the same report as the same events imported from a file.
#[test]
fn events_are_pushed_with_a_scoped_token() {
    let scratch = Scratch::new("server_events");
    let db = scratch.db();
    let token = |name: &str, scope: &str| {
        fulcrum(["token", "add", name, "--scope", scope, "--db", s(&db)]).ok().stdout.trim().to_owned()
    };
    let writer = token("ci", "events:write");
    let reader = token("dashboard", "read");
    assert!(writer.starts_with("fulcrum_") && writer.len() == 8 + 64, "{writer}");
    let stored: String = open_db(&db).column::<String>("SELECT hash FROM api_tokens").join(",");
    assert!(!stored.contains(&writer[8..]), "only the hash is stored");
    let state = state(&db, &[]);
    // Answered (and kept) before any event: a push must not leave it stale.
    let deployments = |state: &fulcrum::server::ServerState| {
        let (_, _, body) = get(state, "/api/v1/report?service=shop&since=2025-01-01");
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["dora"]["deployment_frequency"]["value"]
            ["deployments"]
            .as_u64()
    };
    let before = deployments(&state);
    let body = || EVENTS.as_bytes().to_vec();

    assert_eq!(post(&state, "/api/v1/events", None, body()).0, StatusCode::UNAUTHORIZED);
    assert_eq!(post(&state, "/api/v1/events", Some("fulcrum_nothing"), body()).0, StatusCode::UNAUTHORIZED);
    let (status, answer) = post(&state, "/api/v1/events", Some(&reader), body());
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(answer.contains("lacks the scope events:write"), "{answer}");

    // One invalid item refuses the whole request: nothing stored.
    let mut bad = EVENTS.to_owned();
    bad.push_str("{\"type\":\"deployment\",\"id\":\"d3\",\"service\":\"shop\",\"commit\":\"a3\"}\n");
    let (status, answer) = post(&state, "/api/v1/events", Some(&writer), bad.into_bytes());
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(answer.contains("\"line\":4") && answer.contains("finished_at"), "{answer}");
    assert_eq!(count(&db, "deployments"), 0);

    let (status, answer) = post(&state, "/api/v1/events?source=import", Some(&writer), body());
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert!(answer.contains("\"deployments\":2") && answer.contains("\"incidents\":1"), "{answer}");
    assert_ne!(deployments(&state), before, "the kept answer was dropped by the write");
    assert_eq!(deployments(&state), Some(2));
    // Again, and as an array: replaced by id, not duplicated.
    let array = format!("[{}]", EVENTS.trim().replace('\n', ","));
    assert_eq!(post(&state, "/api/v1/events?source=import", Some(&writer), array.into_bytes()).0, StatusCode::OK);
    assert_eq!((count(&db, "deployments"), count(&db, "incidents")), (2, 1));
    // Too large a body: 413.
    let huge = vec![b' '; fulcrum::server::EVENTS_BODY_LIMIT + 1];
    assert_eq!(post(&state, "/api/v1/events", Some(&writer), huge).0, StatusCode::PAYLOAD_TOO_LARGE);
    // Revoked: refused at once.
    fulcrum(["token", "revoke", "ci", "--db", s(&db)]).ok();
    assert_eq!(post(&state, "/api/v1/events", Some(&writer), body()).0, StatusCode::UNAUTHORIZED);

    // The same events imported from a file give the same report.
    let imported = scratch.other_db("imported");
    std::fs::write(scratch.path("events.jsonl"), EVENTS).unwrap();
    fulcrum(["import", s(&scratch.path("events.jsonl")), "--db", s(&imported)]).ok();
    let report = |db: &Path| {
        fulcrum(["report", "--service", "shop", "--since", "2025-01-01", "--format", "json", "--db", s(db)]).ok().stdout
    };
    assert_eq!(report(&db), report(&imported));
}

/// DevLake's webhook payloads on DevLake's paths give the same report as
/// the same events imported from a file; a token is needed; a non-incident
/// issue is ignored; closing resolves the incident now.
#[test]
fn devlake_webhooks_give_the_same_report_as_an_import() {
    let scratch = Scratch::new("server_devlake");
    let db = scratch.db();
    let writer =
        fulcrum(["token", "add", "devlake", "--scope", "events:write", "--db", s(&db)]).ok().stdout.trim().to_owned();
    let state = state(&db, &[]);
    let base = "/api/rest/plugins/webhook/connections/1";
    let deployment = |id: &str, sha: &str, at: &str| {
        format!(
            r#"{{"id":"{id}","result":"SUCCESS","environment":"PRODUCTION","displayTitle":"deploy {id}","startedDate":"{at}","finishedDate":"{at}","deploymentCommits":[{{"repoUrl":"https://github.com/acme/shop.git","commitSha":"{sha}","startedDate":"{at}","finishedDate":"{at}"}}]}}"#
        )
    };
    let one = deployment("d1", "a1", "2025-02-03T10:00:00Z");
    assert_eq!(
        post(&state, &format!("{base}/deployments"), None, one.clone().into_bytes()).0,
        StatusCode::UNAUTHORIZED
    );
    for body in [one, deployment("d2", "a2", "2025-02-05T10:00:00Z")] {
        let (status, answer) = post(&state, &format!("{base}/deployments"), Some(&writer), body.into_bytes());
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    let issue = |key: &str, kind: &str| {
        format!(
            r#"{{"issueKey":"{key}","title":"checkout down","type":"{kind}","status":"IN_PROGRESS","originalStatus":"open","createdDate":"2025-02-05T11:00:00Z","component":"shop"}}"#
        )
    };
    assert_eq!(
        post(&state, &format!("{base}/issues"), Some(&writer), issue("INC-1", "INCIDENT").into_bytes()).0,
        StatusCode::OK
    );
    assert_eq!(
        post(&state, &format!("{base}/issues"), Some(&writer), issue("BUG-2", "BUG").into_bytes()).0,
        StatusCode::OK
    );
    assert_eq!(count(&db, "incidents"), 1, "only incidents are kept");
    assert_eq!(post(&state, &format!("{base}/issue/INC-1/close"), Some(&writer), Vec::new()).0, StatusCode::OK);
    assert_eq!(post(&state, &format!("{base}/issue/NOPE/close"), Some(&writer), Vec::new()).0, StatusCode::NOT_FOUND);
    let (status, answer) =
        post(&state, &format!("{base}/deployments"), Some(&writer), br#"{"id":"d3","deploymentCommits":[]}"#.to_vec());
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(answer.contains("deploymentCommits"), "{answer}");

    // The same, imported under the same source; the incident closed at now.
    let imported = scratch.other_db("imported");
    let lines = "{\"type\":\"deployment\",\"id\":\"d1\",\"name\":\"deploy d1\",\"repo\":\"acme/shop\",\"service\":\"shop\",\"commit\":\"a1\",\"finished_at\":\"2025-02-03T10:00:00Z\",\"commits\":[\"a1\"]}\n\
                 {\"type\":\"deployment\",\"id\":\"d2\",\"name\":\"deploy d2\",\"repo\":\"acme/shop\",\"service\":\"shop\",\"commit\":\"a2\",\"finished_at\":\"2025-02-05T10:00:00Z\",\"commits\":[\"a2\"]}\n\
                 {\"type\":\"incident\",\"id\":\"INC-1\",\"service\":\"shop\",\"title\":\"checkout down\",\"started_at\":\"2025-02-05T11:00:00Z\",\"resolved_at\":\"2025-03-01T00:00:00Z\"}\n";
    std::fs::write(scratch.path("events.jsonl"), lines).unwrap();
    fulcrum(["import", s(&scratch.path("events.jsonl")), "--source", "devlake:1", "--db", s(&imported)]).ok();
    let report = |db: &Path| {
        fulcrum(["report", "--service", "shop", "--since", "2025-01-01", "--format", "json", "--db", s(db)]).ok().stdout
    };
    let pushed = report(&db);
    assert!(pushed.contains("\"failed_deployments\": 1"), "{pushed}");
    assert_eq!(pushed, report(&imported));
}

/// GitHub's and GitLab's webhooks: off without a secret, refused unsigned
/// or mis-signed, matched to the configured `[[source]]` by repository,
/// and stored at once under the ids and service its sync would use (so a
/// later sync replaces them); events fulcrum has no use for are accepted
/// and ignored.
#[test]
fn signed_host_webhooks_store_what_the_sync_would() {
    let scratch = Scratch::new("server_hooks");
    let db = scratch.db();
    let config = scratch.path("fulcrum.toml");
    std::fs::write(
        &config,
        "[[source]]\nkind = \"github\"\nrepo = \"acme/shop\"\n\n\
         [[source]]\nkind = \"gitlab\"\nrepo = \"acme/tools/api\"\nservice = \"api\"\n",
    )
    .unwrap();
    let with = |secrets: fulcrum::sources::hooks::Secrets| {
        let mut state = state(&db, &[]);
        let (db, config) = (PathBuf::from(database(&db)), config.clone());
        state.context = Arc::new(move || fulcrum::app::Context {
            db: db.clone(),
            config: Some(config.clone()),
            now: utc(&format!("{NOW} 00:00")),
        });
        state.secrets = Arc::new(secrets);
        state
    };
    let github = "/api/v1/webhooks/github";
    let gitlab = "/api/v1/webhooks/gitlab";
    let deployment = br#"{"action":"created","deployment_status":{"state":"success","created_at":"2025-02-03T10:05:00Z"},"deployment":{"id":77,"sha":"a1b2c3","ref":"v1.2.0","environment":"production"},"repository":{"full_name":"acme/shop"}}"#.to_vec();

    // Off without a secret.
    let off = with(fulcrum::sources::hooks::Secrets::default());
    let signed = fulcrum::sources::hooks::github_signature("s3cret", &deployment);
    let (status, answer) = send(
        &off,
        github,
        &[("x-github-event", "deployment_status"), ("x-hub-signature-256", &signed)],
        deployment.clone(),
    );
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    assert!(answer.contains("FULCRUM_GITHUB_WEBHOOK_SECRET"), "{answer}");

    let state = with(fulcrum::sources::hooks::Secrets { github: Some("s3cret".into()), gitlab: Some("t0ken".into()) });
    // Unsigned, mis-signed, signed over another body: 401, nothing stored.
    let wrong = fulcrum::sources::hooks::github_signature("guess", &deployment);
    let other = fulcrum::sources::hooks::github_signature("s3cret", b"{}");
    for headers in [
        vec![("x-github-event", "deployment_status")],
        vec![("x-github-event", "deployment_status"), ("x-hub-signature-256", wrong.as_str())],
        vec![("x-github-event", "deployment_status"), ("x-hub-signature-256", other.as_str())],
    ] {
        let (status, answer) = send(&state, github, &headers, deployment.clone());
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
        assert!(!answer.contains("s3cret"), "{answer}");
    }
    assert!(!db.exists() || count(&db, "deployments") == 0, "nothing stored");
    // No event name: 400.
    assert_eq!(
        send(&state, github, &[("x-hub-signature-256", &signed)], deployment.clone()).0,
        StatusCode::BAD_REQUEST
    );

    // Signed: stored as sync stores GitHub deployments.
    let headers = [("x-github-event", "deployment_status"), ("x-hub-signature-256", signed.as_str())];
    let (status, answer) = send(&state, github, &headers, deployment.clone());
    assert_eq!(status, StatusCode::OK, "{answer}");
    // Twice: replaced by id.
    assert_eq!(send(&state, github, &headers, deployment.clone()).0, StatusCode::OK);
    let row: (String, String, String, String, String, i64, String) = open_db(&db)
        .row("SELECT source, external_id, service, environment, status, finished_at, commit_sha FROM deployments");
    assert_eq!(
        row,
        (
            "github:acme/shop".into(),
            "deployment-77".into(),
            "shop".into(),
            "production".into(),
            "success".into(),
            utc("2025-02-03 10:05"),
            "a1b2c3".into()
        )
    );

    // A deployment still in progress, a pull request, a ping: accepted, nothing stored.
    let pending = String::from_utf8(deployment.clone()).unwrap().replace("\"success\"", "\"in_progress\"").into_bytes();
    for (event, body) in
        [("deployment_status", pending), ("pull_request", deployment.clone()), ("ping", b"{}".to_vec())]
    {
        let signature = fulcrum::sources::hooks::github_signature("s3cret", &body);
        let (status, answer) =
            send(&state, github, &[("x-github-event", event), ("x-hub-signature-256", &signature)], body);
        assert_eq!(status, StatusCode::ACCEPTED, "{event}: {answer}");
        assert!(answer.contains("ignored"), "{answer}");
    }
    // A repository without a [[source]]: 422, named.
    let stranger = String::from_utf8(deployment.clone()).unwrap().replace("acme/shop", "evil/repo").into_bytes();
    let signature = fulcrum::sources::hooks::github_signature("s3cret", &stranger);
    let (status, answer) =
        send(&state, github, &[("x-github-event", "deployment_status"), ("x-hub-signature-256", &signature)], stranger);
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(answer.contains("evil/repo"), "{answer}");
    // Signed but not JSON: 400.
    let signature = fulcrum::sources::hooks::github_signature("s3cret", b"{not json");
    let (status, _) = send(
        &state,
        github,
        &[("x-github-event", "issues"), ("x-hub-signature-256", &signature)],
        b"{not json".to_vec(),
    );
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // An issue with the incident label: an incident, closed when closed.
    let issue = br#"{"action":"closed","issue":{"number":12,"title":"checkout down","created_at":"2025-02-03T11:00:00Z","closed_at":"2025-02-03T12:30:00Z","labels":[{"name":"Incident"}]},"repository":{"full_name":"acme/shop"}}"#.to_vec();
    let signature = fulcrum::sources::hooks::github_signature("s3cret", &issue);
    let (status, answer) =
        send(&state, github, &[("x-github-event", "issues"), ("x-hub-signature-256", &signature)], issue);
    assert_eq!(status, StatusCode::OK, "{answer}");
    let incident: (String, String, i64, Option<i64>) =
        open_db(&db).row("SELECT external_id, service, started_at, resolved_at FROM incidents");
    assert_eq!(incident, ("#12".into(), "shop".into(), utc("2025-02-03 11:00"), Some(utc("2025-02-03 12:30"))));

    // GitLab: the secret token, GitLab's time spelling, the configured service.
    let finished = br#"{"object_kind":"deployment","status":"failed","status_changed_at":"2025-02-04 11:00:00 +0100","deployment_id":15,"environment":"prod-eu","environment_tier":"production","sha":"d4e5f6","ref":"main","project":{"path_with_namespace":"acme/tools/api"}}"#.to_vec();
    assert_eq!(send(&state, gitlab, &[], finished.clone()).0, StatusCode::UNAUTHORIZED);
    assert_eq!(send(&state, gitlab, &[("x-gitlab-token", "t0ke")], finished.clone()).0, StatusCode::UNAUTHORIZED);
    let (status, answer) = send(&state, gitlab, &[("x-gitlab-token", "t0ken")], finished);
    assert_eq!(status, StatusCode::OK, "{answer}");
    let row: (String, String, String, String, i64) = open_db(&db).row(
        "SELECT external_id, service, environment, status, finished_at FROM deployments WHERE source = 'gitlab:acme/tools/api'",
    );
    assert_eq!(
        row,
        ("deployment-15".into(), "api".into(), "production".into(), "failure".into(), utc("2025-02-04 10:00"))
    );
    let incident = br#"{"object_kind":"issue","object_attributes":{"iid":3,"title":"api 500s","type":"Incident","created_at":"2025-02-04 10:30:00 UTC"},"labels":[],"project":{"path_with_namespace":"acme/tools/api"}}"#.to_vec();
    let (status, answer) = send(&state, gitlab, &[("x-gitlab-token", "t0ken")], incident);
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(count(&db, "incidents"), 2);
    let (status, answer) = send(
        &state,
        gitlab,
        &[("x-gitlab-token", "t0ken")],
        br#"{"object_kind":"merge_request","project":{"path_with_namespace":"acme/tools/api"}}"#.to_vec(),
    );
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    assert_eq!((count(&db, "deployments"), count(&db, "incidents")), (2, 2));
}

/// `fulcrum user add NAME --role ROLE` with `password` on standard input.
pub(crate) fn user_add(db: &Path, name: &str, role: &str, password: &str) -> Run {
    let mut child = command(["user", "add", name, "--role", role, "--db", s(db)])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(format!("{password}\n").as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    Run {
        code: output.status.code().unwrap(),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// One request: status, headers, body.
pub(crate) fn call(
    state: &fulcrum::server::ServerState,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let mut request = Request::builder().method(method).uri(uri);
        if method == "POST" {
            request = request.header("content-type", "application/x-www-form-urlencoded");
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = fulcrum::server::router(state.clone())
            .oneshot(request.body(Body::from(body.to_owned())).unwrap())
            .await
            .unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        let body = axum::body::to_bytes(response.into_body(), 1 << 24).await.unwrap();
        (status, headers, String::from_utf8(body.to_vec()).unwrap())
    })
}

/// `name=value` of a Set-Cookie header named `name`.
pub(crate) fn set_cookie(headers: &axum::http::HeaderMap, name: &str) -> Option<(String, String)> {
    headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).find_map(|v| {
        let (pair, attributes) = v.split_once(';').unwrap_or((v, ""));
        let (key, value) = pair.split_once('=')?;
        (key == name).then(|| (value.to_owned(), attributes.to_owned()))
    })
}

/// The value of the hidden `csrf` field of a page.
pub(crate) fn csrf_of(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a form with a CSRF token") + 19;
    page[at..].split('"').next().unwrap().to_owned()
}

/// Signs in: the session cookie header, and the Set-Cookie attributes.
pub(crate) fn login(
    state: &fulcrum::server::ServerState,
    name: &str,
    password: &str,
    extra: &[(&str, &str)],
) -> (String, String) {
    let (_, headers, page) = call(state, "GET", "/login", &[], "");
    let (token, _) = set_cookie(&headers, "fulcrum_login").expect("the login cookie");
    assert_eq!(csrf_of(&page), token);
    let cookie = format!("fulcrum_login={token}");
    let mut all = vec![("cookie", cookie.as_str())];
    all.extend_from_slice(extra);
    let (status, headers, body) = call(
        state,
        "POST",
        "/login",
        &all,
        &format!("name={name}&password={}&csrf={token}", password.replace(' ', "+")),
    );
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let (session, attributes) = set_cookie(&headers, "fulcrum_session").expect("a session cookie");
    (format!("fulcrum_session={session}"), attributes)
}

/// Accounts: once one exists every page and API answer needs a session (or
/// a read token), roles hold, forms need their CSRF token, failed sign-ins
/// are limited, and logout and a password change end sessions.
#[test]
fn accounts_guard_the_pages_and_the_api() {
    let scratch = Scratch::new("server_accounts");
    let (delivery, db) = (repo("delivery"), scratch.db());
    sync(&delivery, &db);
    let state = state(&db, &[&delivery]);
    // Single-user mode: open.
    let (status, _, open_flow) = get(&state, "/api/v1/flow");
    assert_eq!(status, StatusCode::OK);

    // Accounts from the command line; passwords from standard input.
    user_add(&db, "ada", "admin", "short").bad_input(&["12 characters"]);
    user_add(&db, "ada", "root", "correct horse battery").bad_input(&["`root` is not a role"]);
    user_add(&db, "ada", "admin", "correct horse battery").ok();
    user_add(&db, "ada", "member", "another long password").bad_input(&["exists"]);
    user_add(&db, "viv", "viewer", "stakeholder password").ok();
    let listed = fulcrum(["user", "list", "--db", s(&db)]).ok().stdout;
    assert!(listed.contains("ada  admin") && listed.contains("viv  viewer"), "{listed}");
    assert!(!listed.contains("argon2"), "{listed}");

    // Now nothing without signing in: pages go to /login, the API says 401.
    let (status, headers, _) = call(&state, "GET", "/", &[], "");
    assert_eq!((status, headers.get("location").unwrap().to_str().unwrap()), (StatusCode::SEE_OTHER, "/login"));
    let (status, _, body) = get(&state, "/api/v1/report");
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(get(&state, "/healthz").0, StatusCode::OK);

    // The login form's CSRF token is bound to its cookie.
    let (_, headers, _) = call(&state, "GET", "/login", &[], "");
    let (token, _) = set_cookie(&headers, "fulcrum_login").unwrap();
    let forged = format!("name=ada&password=correct+horse+battery&csrf={}", "0".repeat(64));
    let (status, _, _) = call(&state, "POST", "/login", &[("cookie", &format!("fulcrum_login={token}"))], &forged);
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Signed in: HttpOnly, SameSite=Lax, Secure behind a TLS proxy.
    let (ada, attributes) = login(&state, "ada", "correct horse battery", &[("x-forwarded-proto", "https")]);
    assert!(attributes.contains("HttpOnly") && attributes.contains("SameSite=Lax") && attributes.contains("Secure"));
    let (_, plain) = login(&state, "ada", "correct horse battery", &[]);
    assert!(!plain.contains("Secure"), "{plain}");
    let (status, _, page) = call(&state, "GET", "/", &[("cookie", &ada)], "");
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Signed in as ada (admin)"), "{page}");
    let (status, _, flow) = call(&state, "GET", "/api/v1/flow", &[("cookie", &ada)], "");
    assert_eq!((status, flow), (StatusCode::OK, open_flow.clone()));

    // A viewer sees the delivery overview only.
    let (viv, _) = login(&state, "viv", "stakeholder password", &[]);
    assert_eq!(call(&state, "GET", "/", &[("cookie", &viv)], "").0, StatusCode::OK);
    assert_eq!(call(&state, "GET", "/api/v1/report", &[("cookie", &viv)], "").0, StatusCode::OK);
    let (status, _, body) = call(&state, "GET", "/api/v1/flow", &[("cookie", &viv)], "");
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("viewer"), "{body}");

    // Scripts: a read token reads the API; an events:write token does not.
    let reader = fulcrum(["token", "add", "dash", "--scope", "read", "--db", s(&db)]).ok().stdout.trim().to_owned();
    let writer =
        fulcrum(["token", "add", "ci", "--scope", "events:write", "--db", s(&db)]).ok().stdout.trim().to_owned();
    let bearer = |t: &str| format!("Bearer {t}");
    let (status, _, flow) = call(&state, "GET", "/api/v1/flow", &[("authorization", &bearer(&reader))], "");
    assert_eq!((status, flow), (StatusCode::OK, open_flow));
    assert_eq!(
        call(&state, "GET", "/api/v1/flow", &[("authorization", &bearer(&writer))], "").0,
        StatusCode::UNAUTHORIZED
    );

    // Failed sign-ins are limited per name: the sixth is refused even when right.
    let (_, headers, _) = call(&state, "GET", "/login", &[], "");
    let (token, _) = set_cookie(&headers, "fulcrum_login").unwrap();
    let cookie = format!("fulcrum_login={token}");
    for _ in 0..fulcrum::server::session::MAX_FAILURES {
        let form = format!("name=viv&password=guess&csrf={token}");
        assert_eq!(call(&state, "POST", "/login", &[("cookie", &cookie)], &form).0, StatusCode::UNAUTHORIZED);
    }
    let form = format!("name=viv&password=stakeholder+password&csrf={token}");
    assert_eq!(call(&state, "POST", "/login", &[("cookie", &cookie)], &form).0, StatusCode::TOO_MANY_REQUESTS);

    // Logout needs the session's CSRF token, then the cookie is dead.
    let (_, _, page) = call(&state, "GET", "/", &[("cookie", &ada)], "");
    let csrf = csrf_of(&page);
    assert_eq!(call(&state, "POST", "/logout", &[("cookie", &ada)], "csrf=forged").0, StatusCode::FORBIDDEN);
    let (status, _, _) = call(&state, "POST", "/logout", &[("cookie", &ada)], &format!("csrf={csrf}"));
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(call(&state, "GET", "/", &[("cookie", &ada)], "").0, StatusCode::SEE_OTHER);

    // A password change wants the current one and ends the other sessions.
    let (first, _) = login(&state, "ada", "correct horse battery", &[]);
    let (second, _) = login(&state, "ada", "correct horse battery", &[]);
    let (_, _, page) = call(&state, "GET", "/account", &[("cookie", &first)], "");
    let csrf = csrf_of(&page);
    let change = |current: &str| format!("csrf={csrf}&current={current}&new=a+brand+new+password");
    assert_eq!(
        call(&state, "POST", "/account/password", &[("cookie", &first)], &change("wrong")).0,
        StatusCode::BAD_REQUEST
    );
    let (status, _, page) =
        call(&state, "POST", "/account/password", &[("cookie", &first)], &change("correct+horse+battery"));
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(call(&state, "GET", "/", &[("cookie", &first)], "").0, StatusCode::OK, "this session goes on");
    assert_eq!(call(&state, "GET", "/", &[("cookie", &second)], "").0, StatusCode::SEE_OTHER, "the other ended");
    login(&state, "ada", "a brand new password", &[]);

    // Removed: its sessions end at once.
    fulcrum(["user", "remove", "viv", "--db", s(&db)]).ok();
    assert_eq!(call(&state, "GET", "/", &[("cookie", &viv)], "").0, StatusCode::SEE_OTHER);
    fulcrum(["user", "remove", "viv", "--db", s(&db)]).bad_input(&["no account named `viv`"]);

    // Every account removed: single-user mode again on loopback, but never
    // for a server that listens beyond this machine.
    fulcrum(["user", "remove", "ada", "--db", s(&db)]).ok();
    assert_eq!(get(&state, "/api/v1/flow").0, StatusCode::OK);
    let mut network = state.clone();
    network.beyond_loopback = true;
    assert_eq!(get(&network, "/api/v1/flow").0, StatusCode::UNAUTHORIZED);
    assert_eq!(call(&network, "GET", "/", &[], "").0, StatusCode::SEE_OTHER);
}

/// The flow, knowledge and deployments pages show the API's figures, draw
/// a chart for each series, keep the filters in the URL (blank fields are
/// no filter) and download their tables as CSV.
#[test]
fn the_pages_show_the_api_figures_with_charts_and_csv() {
    let scratch = Scratch::new("server_pages");
    let db = scratch.db();
    std::fs::write(scratch.path("events.jsonl"), crate::events::EVENTS).unwrap();
    fulcrum(["import", s(&scratch.path("events.jsonl")), "--db", s(&db)]).ok();
    let team = repo("team");
    sync(&team, &db);
    let state = state(&db, &[&team]);
    let json = |uri: &str| -> serde_json::Value {
        let (status, _, body) = get(&state, uri);
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
        serde_json::from_str(&body).unwrap()
    };
    let filters = "service=shop&since=2025-01-01&until=2025-02-01";

    // Flow: each stage's median as the API has it; the bottleneck; the stale pull request.
    let api = json(&format!("/api/v1/flow?{filters}"));
    let (status, _, page) = get(&state, &format!("/flow?{filters}&repo="));
    assert_eq!(status, StatusCode::OK, "{page}");
    for stage in ["coding", "pickup", "review", "deploy", "cycle"] {
        let median = &api[stage]["value"]["summary"]["median"];
        assert!(median.is_number(), "{stage}: {api}");
        assert!(page.contains(&format!("data-stage=\"{stage}\" data-median=\"{median}\"")), "{stage} in {page}");
    }
    let bottleneck = api["bottleneck"]["value"]["stage"].as_str().unwrap();
    assert!(page.contains(&format!("data-bottleneck=\"{bottleneck}\"")), "{page}");
    assert!(page.contains("#4"), "the stale pull request is listed: {page}");
    let weeks = api["weekly"].as_array().unwrap().len();
    assert!(page.contains(&format!("data-bars=\"{weeks}\"")), "a bar per week: {page}");
    assert!(!page.contains("<script") && !page.contains("style="), "no script, no inline style");
    // The filters are in the page's links and form.
    assert!(page.contains("href=\"/deployments?since=2025-01-01&amp;until=2025-02-01&amp;service=shop\""), "{page}");
    assert!(page.contains("name=\"since\" value=\"2025-01-01\""), "{page}");
    // CSV: a header and a row per pull request of the API.
    let (status, _, csv) = get(&state, &format!("/download/flow/pull-requests.csv?{filters}"));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(csv.lines().count(), api["rows"].as_array().unwrap().len() + 1, "{csv}");
    assert!(csv.lines().next().unwrap().contains("number"), "{csv}");
    // Every table the page offers downloads, as CSV and as the API's rows in JSON.
    for table in ["pull-requests", "weekly", "breaches", "stale", "sizes"] {
        assert!(page.contains(&format!("href=\"/download/flow/{table}.csv?since=2025-01-01")), "{table}: {page}");
        let (status, _, rows) = get(&state, &format!("/download/flow/{table}.json?{filters}"));
        assert_eq!(status, StatusCode::OK, "{table}: {rows}");
        let rows: serde_json::Value = serde_json::from_str(&rows).unwrap();
        let pointer = match table {
            "pull-requests" => "/rows",
            "sizes" => "/size/value/buckets",
            other => &format!("/{other}"),
        };
        assert_eq!(Some(&rows), api.pointer(pointer), "{table}");
        let (_, _, csv) = get(&state, &format!("/download/flow/{table}.csv?{filters}"));
        assert_eq!(csv.lines().count(), rows.as_array().unwrap().len() + 1, "{table}: {csv}");
    }
    // The weekly stages: a stacked chart with a column per week that has a stage.
    let staged = api["weekly"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["stages"].as_object().unwrap().values().any(|v| v.as_f64().is_some_and(|v| v > 0.0)))
        .count();
    assert!(staged > 0, "{api}");
    assert!(page.contains(&format!("aria-label=\"median stage time per week\" viewBox=\"0 0 640 180\" width=\"640\" height=\"180\" data-bars=\"{staged}\"")), "{page}");
    let (status, _, refusal) = get(&state, "/download/flow/salaries.csv");
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(refusal.contains("no table flow/salaries") && refusal.contains("flow/stale"), "{refusal}");
    let (status, _, _) = get(&state, "/download/flow/stale.xlsx");
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Deployments: a point per deployment of the report, and its CSV.
    let report = json(&format!("/api/v1/report?{filters}"));
    let deployments = report["deployments"].as_array().unwrap();
    assert!(!deployments.is_empty());
    let (_, _, page) = get(&state, &format!("/deployments?{filters}"));
    assert!(page.contains(&format!("data-points=\"{}\"", deployments.len())), "{page}");
    assert_eq!(page.matches("<circle").count(), deployments.len());
    let failed = deployments.iter().filter(|d| d["failed"] == true).count();
    assert_eq!(page.matches("(failed)</title>").count(), failed);
    let (_, _, csv) = get(&state, &format!("/download/deployments/deployments.csv?{filters}"));
    assert_eq!(csv.lines().count(), deployments.len() + 1, "{csv}");
    assert!(csv.starts_with("baseline,commit,commits,failed,finished_at,name,recovered_at,rework\n"), "{csv}");
    // Each failure is a band to its recovery (or to the window's end).
    let recovered = deployments.iter().filter(|d| d["failed"] == true && d["recovered_at"].is_i64()).count();
    assert!(failed > 0 && recovered > 0, "the fixture has a failure and a recovery");
    assert_eq!(page.matches("data-recovery=\"recovered\"").count(), recovered, "{page}");
    assert_eq!(page.matches("data-recovery=").count(), failed, "{page}");

    // Knowledge: the truck factor and the hotspots of the API.
    let knowledge = json("/api/v1/knowledge");
    let hotspots = json("/api/v1/hotspots");
    let (status, _, page) = get(&state, "/knowledge");
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains(&format!("data-truck-factor=\"{}\"", knowledge["truck_factor"])), "{page}");
    let spots = hotspots["hotspots"].as_array().unwrap();
    assert!(!spots.is_empty());
    assert!(page.contains(&format!("data-bars=\"{}\"", spots.len())), "{page}");
    for spot in spots {
        assert!(page.contains(spot["path"].as_str().unwrap()), "{page}");
    }
    // The directory treemap: a cell per directory of the API's answer
    // (`depth` alone implies `by_directory`; the page asks for one level).
    assert!(knowledge["directories"].is_null(), "only when asked: {knowledge}");
    let by_directory = json("/api/v1/knowledge?by_directory=true");
    assert_eq!(by_directory, json("/api/v1/knowledge?depth=1"));
    let directories = by_directory["directories"].as_array().unwrap();
    assert!(directories.len() >= 2, "{by_directory}");
    assert!(page.contains(&format!("data-cells=\"{}\"", directories.len())), "{page}");
    for d in directories {
        let (name, tf) = (d["directory"].as_str().unwrap(), &d["truck_factor"]);
        assert!(
            page.contains(&format!("<title>{name}: {} files, truck factor {tf}</title>", d["files"])),
            "{name}: {page}"
        );
        assert!(page.contains(&format!("<tr data-directory=\"{name}\">")), "{page}");
    }
    for (query, why) in [
        ("depth=0", "levels, 1 or more"),
        ("depth=deep", "levels, 1 or more"),
        ("by_directory=maybe", "expected true or false"),
    ] {
        let (status, _, body) = get(&state, &format!("/api/v1/knowledge?{query}"));
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert!(body.contains(why), "{query}: {body}");
    }
    let (_, _, rows) = get(&state, "/download/knowledge/directories.json");
    assert_eq!(&serde_json::from_str::<serde_json::Value>(&rows).unwrap(), &by_directory["directories"]);
    // The departure simulation: the API's figures, on a page that can be linked.
    let leaving = "leaving=carol%40team.example";
    let api = json(&format!("/api/v1/knowledge?{leaving}"));
    let orphaned = &api["departure"]["orphaned"];
    assert!(orphaned.as_u64().is_some_and(|n| n > 0), "{api}");
    let (status, _, page) = get(&state, &format!("/knowledge?{leaving}"));
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains(&format!("data-orphaned=\"{orphaned}\"")), "{page}");
    assert!(page.contains("If Carol Chen left"), "{page}");
    for file in api["departure"]["orphaned_files"].as_array().unwrap() {
        assert!(page.contains(file.as_str().unwrap()), "{file} in {page}");
    }
    // Bad input on a page: the error, not a crash.
    let (status, _, body) = get(&state, "/flow?since=someday");
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("--since someday"), "{body}");
}

/// A `fulcrum serve` process, stopped with SIGTERM when dropped (a failing
/// test leaves no server behind).
struct Served(std::process::Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill").arg("-TERM").arg(self.0.id().to_string()).status();
        let _ = self.0.wait();
    }
}

/// Starts `fulcrum serve` on a free loopback port: the process, its
/// address and its stderr (request log).
fn serve_process(args: &[&str]) -> (Served, String, BufReader<std::process::ChildStderr>) {
    let mut all = vec!["serve", "--listen", "127.0.0.1:0", "--sync-every", "0"];
    all.extend_from_slice(args);
    let mut child =
        command(all).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let child = Served(child);
    for _ in 0..20 {
        let mut line = String::new();
        stderr.read_line(&mut line).unwrap();
        if let Some(rest) = line.strip_prefix("fulcrum serves http://") {
            let address = rest.split('/').next().unwrap().to_owned();
            return (child, address, stderr);
        }
    }
    panic!("fulcrum serve announced no address");
}

/// Debian's `chromium`, headless, loads `url`: the DOM after load and what
/// the browser logged (console messages, CSP violations).
fn chromium(scratch: &Scratch, url: &str) -> (String, String) {
    let profile = scratch.path("chromium-profile");
    let output = std::process::Command::new("chromium")
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--enable-logging=stderr", "--v=0"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(["--dump-dom", url])
        .env("HOME", &scratch.dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("chromium is needed for the browser tests (apt-get install chromium; .ci/run does): {e}")
        });
    assert!(output.status.success(), "chromium failed on {url}: {}", String::from_utf8_lossy(&output.stderr));
    (String::from_utf8(output.stdout).unwrap(), String::from_utf8_lossy(&output.stderr).into_owned())
}

/// A real browser opens every page of a real server: the figures shown are
/// the API's (the command line's JSON, which the API equals), each chart
/// drew with data, and the browser logged no console message or
/// Content-Security-Policy violation.
#[test]
fn a_real_browser_shows_every_page_with_the_api_figures() {
    let scratch = Scratch::new("server_browser");
    let (delivery, team, db) = (repo("delivery"), repo("team"), scratch.db());
    sync(&team, &db);
    std::fs::write(scratch.path("events.jsonl"), crate::events::EVENTS).unwrap();
    fulcrum(["import", s(&scratch.path("events.jsonl")), "--db", s(&db)]).ok();
    let (served, address, _log) = serve_process(&["--repo", s(&delivery), "--repo", s(&team), "--db", s(&db)]);
    let cli = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--db", s(&db), "--format", "json"]);
        fulcrum(all).ok().json()
    };
    let filters = "service=shop&since=2025-01-01&until=2025-02-01";
    let quiet = |log: &str, url: &str| {
        for needle in ["CONSOLE", "Content Security Policy", "Content-Security-Policy"] {
            assert!(!log.contains(needle), "{url}: the browser logged {needle}:\n{log}");
        }
    };

    let report = cli(&["report", "--repo", s(&delivery), "--no-sync"]);
    let url = format!("http://{address}/");
    let (dom, log) = chromium(&scratch, &url);
    quiet(&log, &url);
    let frequency = &report["dora"]["deployment_frequency"]["value"];
    assert!(dom.contains(&format!("{:.2}/week", frequency["per_week"].as_f64().unwrap())), "{dom}");

    let flow = cli(&["flow", "--service", "shop", "--since", "2025-01-01", "--until", "2025-02-01"]);
    let url = format!("http://{address}/flow?{filters}");
    let (dom, log) = chromium(&scratch, &url);
    quiet(&log, &url);
    for stage in ["coding", "pickup", "review"] {
        let median = &flow[stage]["value"]["summary"]["median"];
        assert!(dom.contains(&format!("data-median=\"{median}\"")), "{stage}: {dom}");
    }
    assert!(dom.contains("<svg") && dom.matches("<rect").count() >= 1, "the weekly chart drew: {dom}");

    let deployments = cli(&["report", "--service", "shop", "--since", "2025-01-01", "--until", "2025-02-01"]);
    let url = format!("http://{address}/deployments?{filters}");
    let (dom, log) = chromium(&scratch, &url);
    quiet(&log, &url);
    let n = deployments["deployments"].as_array().unwrap().len();
    assert!(n > 0 && dom.matches("<circle").count() == n, "a point per deployment ({n}): {dom}");

    let knowledge = cli(&["knowledge", "--repo", s(&team), "--no-sync"]);
    let url = format!("http://{address}/knowledge?repo=team");
    let (dom, log) = chromium(&scratch, &url);
    quiet(&log, &url);
    assert!(dom.contains(&format!("data-truck-factor=\"{}\"", knowledge["truck_factor"])), "{dom}");
    assert!(dom.matches("<rect").count() >= 1, "the hotspots chart drew: {dom}");

    // The people pages: a goal set from the command line, with its chart.
    let goal = cli(&[
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
        "2025-06-01",
        "--owner",
        "ann",
        "--window",
        "90",
        "--reason",
        "reviews wait",
    ]);
    let url = format!("http://{address}/goals/{}", goal["id"]);
    let (dom, log) = chromium(&scratch, &url);
    quiet(&log, &url);
    assert!(dom.contains("Pickup under two hours") && dom.contains("data-target"), "{dom}");
    for page in ["/goals", "/checkins", "/surveys"] {
        let url = format!("http://{address}{page}");
        let (dom, log) = chromium(&scratch, &url);
        quiet(&log, &url);
        assert!(dom.contains("<form"), "{url}: {dom}");
    }

    drop(served);
}

/// The background sync keeps the configured `[[source]]`s synced too
/// (recorded GitHub responses on a local replay server), records each
/// round for `/metrics` and the page, and stops when told.
#[test]
fn the_server_keeps_host_sources_synced_in_the_background() {
    let scratch = Scratch::new("server_sources");
    let db = scratch.db();
    let replay = crate::replay::Replay::start(crate::github::routes());
    let config = crate::github::config(&scratch, &replay);
    // A trusted (explicit) configuration may name a token command.
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!("token_command = \"echo {}\"\n", crate::github::TOKEN));
    std::fs::write(&config, text).unwrap();
    let mut state = state(&db, &[]);
    let (db_path, config_path) = (PathBuf::from(database(&db)), config.clone());
    state.context = Arc::new(move || fulcrum::app::Context {
        db: db_path.clone(),
        config: Some(config_path.clone()),
        now: utc(&format!("{NOW} 00:00")),
    });
    let now = || Ok(utc(&format!("{NOW} 00:00")));
    let stop = fulcrum::server::keep_synced(
        &state,
        std::time::Duration::from_millis(20),
        now,
        fulcrum::sources::http::Clock::Fixed(utc(&format!("{NOW} 00:00"))),
    );
    let done = wait_for_round(&state, None);
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(done.expect("a background round finished within 10 s").error, None);
    assert_eq!(count(&db, "pull_requests"), 49, "the recorded pull requests are stored");
    let (_, _, metrics) = get(&state, "/metrics");
    assert!(metrics.contains("fulcrum_sync_failures_total{repository=\"sources\"} 0"), "{metrics}");
}

/// Waits (10 s at most) for a background round that ends after `after`.
fn wait_for_round(
    state: &fulcrum::server::ServerState,
    after: Option<&fulcrum::server::syncing::Round>,
) -> Option<fulcrum::server::syncing::Round> {
    for _ in 0..500 {
        let status = state.syncs.status();
        if let Some(last) = status.last
            && Some(&last) != after
            && status.running.is_none()
        {
            return Some(last);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    None
}

/// "Sync now" on a page: the background sync runs a round at once (not
/// at its hourly time), the page shows it, a failed round shows its error
/// and is tried again sooner (backing off); a request from another site
/// is refused.
#[test]
fn sync_now_runs_a_round_and_the_page_shows_how_it_went() {
    let scratch = Scratch::new("server_sync_now");
    let (repo, db) = (scratch.copy_repo("delivery"), scratch.db());
    sync(&repo, &db);
    let before = count(&db, "commits");
    git(&repo, "2025-03-01T10:00", &["commit", "--allow-empty", "-m", "a change after the last sync"]);
    let state = state(&db, &[&repo]);
    let now = || Ok(utc(&format!("{NOW} 00:00")));
    let stop = fulcrum::server::keep_synced(
        &state,
        std::time::Duration::from_secs(3600),
        now,
        fulcrum::sources::http::Clock::Fixed(utc(&format!("{NOW} 00:00"))),
    );
    let (_, _, page) = get(&state, "/flow");
    assert!(
        page.contains(
            "<form method=\"post\" action=\"/sync\"><input type=\"hidden\" name=\"back\" value=\"/flow\"><button>Sync now</button></form>"
        ),
        "{page}"
    );
    assert!(!page.contains("data-sync="), "no round yet: {page}");

    // Another site cannot start one (single-user mode has no CSRF token).
    let (status, _, body) = call(&state, "POST", "/sync", &[("sec-fetch-site", "cross-site")], "");
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(state.syncs.status().last.is_none() && !state.syncs.status().requested);

    // The button: a round now, and back to the page it was on.
    let (status, headers, _) = call(&state, "POST", "/sync", &[], "back=%2Fflow%3Fsince%3D90d");
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers["location"], "/flow?since=90d");
    let first = wait_for_round(&state, None).expect("the asked-for round ran within 10 s, not in an hour");
    assert_eq!(first.error, None);
    assert_eq!(count(&db, "commits"), before + 1, "the new commit is stored");
    let status: serde_json::Value = serde_json::from_str(&get(&state, "/api/v1/sync").2).unwrap();
    assert_eq!(status["failures_in_a_row"], 0, "{status}");
    assert_eq!(status["next_at"], utc(&format!("{NOW} 00:00")) + 3600, "the interval after a good round: {status}");
    let (_, _, page) = get(&state, "/");
    assert!(page.contains("data-sync=\"ok\""), "{page}");

    // A failing round: its error on the page, and the next one sooner.
    std::fs::rename(&repo, scratch.path("moved")).unwrap();
    assert!(state.syncs.request());
    let failed = wait_for_round(&state, Some(&first)).expect("the second round ran");
    let error = failed.error.expect("the repository is gone");
    assert!(error.starts_with("delivery: "), "the repository is named: {error}");
    let status: serde_json::Value = serde_json::from_str(&get(&state, "/api/v1/sync").2).unwrap();
    assert_eq!(status["failures_in_a_row"], 1, "{status}");
    assert_eq!(status["next_at"], utc(&format!("{NOW} 00:00")) + 60, "backing off from a minute: {status}");
    // The pages need the repository back; the failure stays shown until the next round.
    std::fs::rename(scratch.path("moved"), &repo).unwrap();
    let (_, _, page) = get(&state, "/knowledge");
    assert!(page.contains("data-sync=\"failed\" role=\"alert\">Last sync"), "{page}");
    assert!(page.contains("(1 in a row): delivery: "), "{page}");
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// People sign in with a real browser (chromium over the DevTools
/// protocol): a lead fills the login form, sees every page with the
/// figures of the command line and charts that drew, presses "Sync now"
/// and signs out; a viewer sees the delivery overview and is refused the
/// rest. Nothing is logged to the console, no script fails and no
/// Content-Security-Policy violation is reported.
#[test]
fn a_real_browser_signs_in_and_sees_what_each_role_may() {
    let scratch = Scratch::new("server_browser_login");
    let (delivery, team, db) = (repo("delivery"), repo("team"), scratch.db());
    sync(&team, &db);
    std::fs::write(scratch.path("events.jsonl"), crate::events::EVENTS).unwrap();
    fulcrum(["import", s(&scratch.path("events.jsonl")), "--db", s(&db)]).ok();
    user_add(&db, "lee", "lead", "a lead's long password");
    user_add(&db, "vic", "viewer", "a viewer's long password");
    let (served, address, _log) = serve_process(&["--repo", s(&delivery), "--repo", s(&team), "--db", s(&db)]);
    let cli = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--db", s(&db), "--no-sync", "--format", "json"]);
        fulcrum(all).ok().json()
    };
    let base = format!("http://{address}");
    let mut browser = crate::browser::Browser::start(&scratch);
    let sign_in = |browser: &mut crate::browser::Browser, name: &str, password: &str| {
        browser.open(&format!("{base}/flow"));
        assert_eq!(browser.eval("location.pathname"), "/login", "signed out, a page leads to the login");
        // JSON string literals are JavaScript string literals.
        let (name, password) = (serde_json::json!(name), serde_json::json!(password));
        browser.submit(&format!(
            "document.querySelector('[name=name]').value = {name};\
             document.querySelector('[name=password]').value = {password};\
             document.querySelector('form[action=\"/login\"]').submit()"
        ));
        assert_eq!(browser.eval("location.pathname"), "/", "signed in, on to the overview: {}", browser.dom());
    };

    sign_in(&mut browser, "lee", "a lead's long password");
    let dom = browser.dom();
    assert!(dom.contains("Signed in as lee (lead)"), "{dom}");
    let report = cli(&["report", "--repo", s(&delivery)]);
    let frequency = &report["dora"]["deployment_frequency"]["value"];
    assert!(dom.contains(&format!("{:.2}/week", frequency["per_week"].as_f64().unwrap())), "{dom}");
    let drawn = |browser: &mut crate::browser::Browser, selector: &str| {
        browser.eval(&format!("document.querySelectorAll({}).length", serde_json::json!(selector))).as_u64().unwrap()
    };
    assert!(drawn(&mut browser, "svg rect") > 0, "the weekly charts drew");

    let filters = "service=shop&since=2025-01-01&until=2025-02-01";
    browser.open(&format!("{base}/flow?{filters}"));
    let flow = cli(&["flow", "--service", "shop", "--since", "2025-01-01", "--until", "2025-02-01"]);
    for stage in ["coding", "pickup", "review"] {
        let median = &flow[stage]["value"]["summary"]["median"];
        let shown = browser.eval(&format!("document.querySelector('tr[data-stage={stage}]').dataset.median"));
        assert_eq!(shown.as_str().unwrap(), median.to_string(), "{stage}");
    }
    assert!(drawn(&mut browser, "svg[aria-label='median stage time per week'] rect") > 4, "the stages stacked");

    browser.open(&format!("{base}/knowledge?repo=team"));
    let knowledge = cli(&["knowledge", "--repo", s(&team), "--by-directory"]);
    let shown = browser.eval("document.querySelector('[data-truck-factor]').dataset.truckFactor");
    assert_eq!(shown.as_str().unwrap(), knowledge["truck_factor"].to_string());
    let directories = knowledge["directories"].as_array().unwrap().len() as u64;
    assert_eq!(drawn(&mut browser, "svg[data-cells] rect"), directories, "a treemap cell per directory");

    browser.open(&format!("{base}/deployments?{filters}"));
    let deployments = cli(&["report", "--service", "shop", "--since", "2025-01-01", "--until", "2025-02-01"]);
    let n = deployments["deployments"].as_array().unwrap().len() as u64;
    assert!(n > 0);
    assert_eq!(drawn(&mut browser, "svg circle"), n, "a point per deployment");

    // Sync now: back on the same page, the round shown.
    browser.submit("document.querySelector('form[action=\"/sync\"]').submit()");
    // The filters in the page's own order.
    assert_eq!(
        browser.eval("location.pathname + location.search"),
        "/deployments?since=2025-01-01&until=2025-02-01&service=shop"
    );
    assert!(drawn(&mut browser, "[data-sync]") > 0, "{}", browser.dom());

    browser.submit("document.querySelector('form[action=\"/logout\"]').submit()");
    assert_eq!(browser.eval("location.pathname"), "/login");

    // A viewer: the overview, no flow in the navigation, the flow page refused.
    sign_in(&mut browser, "vic", "a viewer's long password");
    assert_eq!(drawn(&mut browser, "nav a[href^='/flow']"), 0);
    assert_eq!(drawn(&mut browser, "form[action='/sync']"), 0, "no sync button for a viewer");
    browser.open(&format!("{base}/flow"));
    assert!(browser.dom().contains("sees the delivery overview only"));

    // The log is listened to: a message of the test's own is caught.
    browser.eval("console.error('probe from the test')");
    browser.eval("1");
    assert!(browser.logged.iter().any(|l| l.contains("probe from the test")), "{:?}", browser.logged);
    // A refused page is not an error of the page: the browser logs a failed
    // load (403) for it, and nothing else.
    let logged: Vec<&String> = browser
        .logged
        .iter()
        .filter(|l| !l.contains("the server responded with a status of 403") && !l.contains("probe from the test"))
        .collect();
    assert!(logged.is_empty(), "the browser logged: {logged:#?}");
    drop(served);
}

/// A second login page (another tab, or one the browser fetched on its
/// own) keeps the first one's form valid; the icon browsers ask for is no
/// login page.
#[test]
fn a_second_login_page_does_not_expire_the_first() {
    let scratch = Scratch::new("server_login_twice");
    let db = scratch.db();
    user_add(&db, "lee", "lead", "a lead's long password");
    let state = state(&db, &[]);
    let (_, headers, first) = call(&state, "GET", "/login", &[], "");
    let (token, _) = set_cookie(&headers, "fulcrum_login").unwrap();
    assert_eq!(csrf_of(&first), token);
    let cookie = format!("fulcrum_login={token}");
    let (_, headers, second) = call(&state, "GET", "/login", &[("cookie", &cookie)], "");
    assert_eq!(csrf_of(&second), token, "the same token");
    assert_eq!(set_cookie(&headers, "fulcrum_login").unwrap().0, token);
    // A cookie that is not one of ours is replaced.
    let (_, _, third) = call(&state, "GET", "/login", &[("cookie", "fulcrum_login=chosen-by-someone")], "");
    assert_ne!(csrf_of(&third), "chosen-by-someone");
    let (status, _, body) = call(&state, "GET", "/favicon.ico", &[], "");
    assert_eq!((status, body.as_str()), (StatusCode::NO_CONTENT, ""));
}

/// `/admin`: accounts and tokens from the browser. In single-user mode the
/// person at this machine makes a token (shown once, working at once,
/// revocable) and the first account; then only an admin may, with the
/// session's CSRF token, and never leaving the server without an admin.
#[test]
fn admins_manage_accounts_and_tokens_from_the_page() {
    let scratch = Scratch::new("server_admin");
    let db = scratch.db();
    let state = state(&db, &[]);
    let form = |cookie: &str, path: &str, body: &str| {
        let headers: Vec<(&str, &str)> = if cookie.is_empty() { vec![] } else { vec![("cookie", cookie)] };
        call(&state, "POST", path, &headers, body)
    };

    // Single-user mode: a token for a CI job pushing events.
    let (status, _, page) = call(&state, "GET", "/admin", &[], "");
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("No accounts: this server is in single-user mode"), "{page}");
    let (status, _, _) = call(
        &state,
        "POST",
        "/admin/tokens",
        &[("sec-fetch-site", "cross-site")],
        "action=add&name=ci&events_write=on",
    );
    assert_eq!(status, StatusCode::FORBIDDEN, "another site cannot make a token");
    let (status, headers, page) = form("", "/admin/tokens", "action=add&name=ci&events_write=on");
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(headers["cache-control"], "no-store");
    let at = page.find("<code data-token>").expect("the token, shown once") + 17;
    let token = page[at..].split('<').next().unwrap().to_owned();
    let (status, _) = post(&state, "/api/v1/events", Some(&token), EVENTS.as_bytes().to_vec());
    assert_eq!(status, StatusCode::OK, "the new token pushes events");
    let (_, _, page) = call(&state, "GET", "/admin", &[], "");
    assert!(!page.contains(&token), "shown once only");
    assert!(page.contains("<tr data-token-name=\"ci\"><td>ci</td><td>events:write</td>"), "{page}");
    let (status, _, page) = form("", "/admin/tokens", "action=add&name=nothing");
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("a token needs a scope: read or events:write"), "{page}");
    let (status, _, _) = form("", "/admin/tokens", "action=revoke&name=ci");
    assert_eq!(status, StatusCode::OK);
    let (status, _) = post(&state, "/api/v1/events", Some(&token), EVENTS.as_bytes().to_vec());
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a revoked token works no more");

    // The first account switches sign-in on.
    let (status, _, page) = form("", "/admin/accounts", "action=add&name=ada&role=admin&password=short");
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("a password needs at least 12 characters"), "{page}");
    let (status, _, page) =
        form("", "/admin/accounts", "action=add&name=ada&role=admin&password=ada%27s+long+password");
    assert_eq!(status, StatusCode::OK, "{page}");
    let (status, _, _) = call(&state, "GET", "/admin", &[], "");
    assert_eq!(status, StatusCode::SEE_OTHER, "now a sign-in is needed");

    let (ada, _) = login(&state, "ada", "ada's long password", &[]);
    let (_, _, page) = call(&state, "GET", "/admin", &[("cookie", &ada)], "");
    let csrf = csrf_of(&page);
    let (status, _, _) = form(&ada, "/admin/accounts", "action=add&name=mel&role=member&password=mel+s+long+password");
    assert_eq!(status, StatusCode::FORBIDDEN, "no CSRF token");
    let (status, _, page) = form(
        &ada,
        "/admin/accounts",
        &format!("csrf={csrf}&action=add&name=mel&role=member&password=mel+s+long+password"),
    );
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Account `mel` (member) made."), "{page}");
    for (body, why) in [
        ("action=role&name=ada&role=lead", "`ada` is the last admin"),
        ("action=remove&name=ada", "`ada` is the last admin"),
        ("action=role&name=nobody&role=lead", "no account named `nobody`"),
        ("action=add&name=mel&role=member&password=another+long+password", "an account named `mel` exists"),
        ("action=role&name=mel&role=king", "king"),
    ] {
        let (status, _, page) = form(&ada, "/admin/accounts", &format!("csrf={csrf}&{body}"));
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {page}");
        assert!(page.contains(why), "{body}: {page}");
    }
    let (mel, _) = login(&state, "mel", "mel s long password", &[]);
    let (status, _, _) = call(&state, "GET", "/admin", &[("cookie", &mel)], "");
    assert_eq!(status, StatusCode::FORBIDDEN, "a member is no admin");
    let (status, _, _) = form(&ada, "/admin/accounts", &format!("csrf={csrf}&action=role&name=mel&role=admin"));
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = call(&state, "GET", "/admin", &[("cookie", &mel)], "");
    assert_eq!(status, StatusCode::OK, "the new role applies to the open session");
    let (status, _, page) = form(&ada, "/admin/accounts", &format!("csrf={csrf}&action=remove&name=ada"));
    assert_eq!(status, StatusCode::OK, "another admin exists now: {page}");
    let (status, _, _) = call(&state, "GET", "/admin", &[("cookie", &ada)], "");
    assert_eq!(status, StatusCode::SEE_OTHER, "a removed account's session ended");
}

/// The brief on the server: `/api/v1/brief` is `fulcrum brief --format
/// json`, `/brief` shows it to a viewer, and the digest is posted as
/// Slack-compatible JSON to a webhook (a local receiver here).
#[test]
fn the_brief_is_served_and_posted_to_a_chat_webhook() {
    let scratch = Scratch::new("server_brief");
    let (delivery, db) = (repo("delivery"), scratch.db());
    sync(&delivery, &db);
    let state = state(&db, &[&delivery]);
    let window = "since=2025-01-01&until=2025-03-01";
    let cli = fulcrum([
        "brief",
        "--repo",
        s(&delivery),
        "--db",
        s(&db),
        "--no-sync",
        "--since",
        "2025-01-01",
        "--until",
        "2025-03-01",
        "--format",
        "json",
    ])
    .ok()
    .stdout;
    let (status, _, api) = get(&state, &format!("/api/v1/brief?{window}"));
    assert_eq!(status, StatusCode::OK, "{api}");
    assert_eq!(api, cli, "the API answers what the command line prints");
    let (status, _, page) = get(&state, &format!("/brief?{window}"));
    assert_eq!(status, StatusCode::OK, "{page}");
    let brief: serde_json::Value = serde_json::from_str(&api).unwrap();
    for finding in brief["findings"].as_array().unwrap() {
        let title = finding["title"].as_str().unwrap();
        let figure = finding["figure"].as_f64().unwrap();
        assert!(page.contains(&format!("data-finding=\"{title}\" data-figure=\"{figure}\"")), "{title}: {page}");
    }
    assert!(!page.contains("<script") && !page.contains("style="), "the server's page keeps its CSP");

    // A receiver on this machine takes one POST and keeps its body.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let received = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
        let mut data = Vec::new();
        let mut buffer = [0u8; 8192];
        loop {
            let n = stream.read(&mut buffer).unwrap();
            data.extend_from_slice(&buffer[..n]);
            let text = String::from_utf8_lossy(&data);
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap())
                    })
                    .unwrap_or(0);
                if body.len() >= length {
                    stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok").unwrap();
                    return (head.to_owned(), body[..length].to_owned());
                }
            }
            if n == 0 {
                panic!("the connection closed early: {text}");
            }
        }
    });
    let hook = fulcrum::server::digest::Webhook::parse(&format!("http://{address}/services/T0/B0/secret")).unwrap();
    let stop = fulcrum::server::digest::keep_posting(&state, hook, std::time::Duration::from_millis(50), 90);
    let (head, body) = received.join().unwrap();
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(head.starts_with("POST /services/T0/B0/secret HTTP/1.1"), "{head}");
    assert!(head.to_ascii_lowercase().contains("content-type: application/json"), "{head}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    let text = json["text"].as_str().expect("Slack's {\"text\": …}");
    assert!(text.starts_with("# Delivery brief: delivery, 2024-12-01 – 2025-03-01"), "{text}");
    assert!(text.contains("## Wins"), "{text}");
}

/// `/focus` and `/api/v1/focus`: the team's figures from the server's
/// `[[person]]` calendars, the same as `fulcrum focus --format json` less
/// each person's own, and less the weeks and meetings of fewer than
/// `focus.min_group` people.
#[test]
fn the_focus_page_shows_team_figures_only() {
    let scratch = Scratch::new("server_focus");
    std::fs::write(scratch.path("ann.ics"), crate::calendar::ANN).unwrap();
    std::fs::write(scratch.path("bob.ics"), crate::calendar::BOB).unwrap();
    // Cy has the stand-up only: three people share it, two the review.
    let standup_only =
        crate::calendar::BOB.split("BEGIN:VEVENT\nUID:review").next().unwrap().to_owned() + "END:VCALENDAR\n";
    std::fs::write(scratch.path("cy.ics"), standup_only).unwrap();
    let person = |name: &str, file: &str| {
        format!(
            "[[person]]\nname = \"{name}\"\ncalendars = [{:?}]\ntime_zone = \"Europe/Berlin\"\n",
            s(&scratch.path(file))
        )
    };
    let config = scratch.path("people.toml");
    let people = [person("Ann", "ann.ics"), person("Bob", "bob.ics"), person("Cy", "cy.ics")].join("\n");
    std::fs::write(&config, format!("[focus]\nmin_group = 3\n\n{people}")).unwrap();
    let db = scratch.db();
    let serve = |config: &std::path::Path| {
        let mut state = state(&db, &[]);
        let (db_path, config_path) = (PathBuf::from(database(&db)), config.to_owned());
        state.context = Arc::new(move || fulcrum::app::Context {
            db: db_path.clone(),
            config: Some(config_path.clone()),
            now: utc(&format!("{NOW} 00:00")),
        });
        state
    };
    let state = serve(&config);
    let window = "since=2025-01-06&until=2025-01-13";
    let (status, _, api) = get(&state, &format!("/api/v1/focus?{window}"));
    assert_eq!(status, StatusCode::OK, "{api}");
    let api: serde_json::Value = serde_json::from_str(&api).unwrap();
    let mut cli = fulcrum([
        "focus",
        "--config",
        s(&config),
        "--db",
        s(&db),
        "--since",
        "2025-01-06",
        "--until",
        "2025-01-13",
        "--format",
        "json",
    ])
    .ok()
    .json();
    let object = cli.as_object_mut().unwrap();
    assert!(object.remove("people").is_some());
    object.remove("leads");
    // The review (two people) and Ann's all-hands (one: without her
    // address her answer is not known) are under the threshold.
    let meetings = object["costly_meetings"].as_array_mut().unwrap();
    assert_eq!(meetings.iter().map(|m| m["people"].as_u64().unwrap()).collect::<Vec<_>>(), vec![3, 2, 1]);
    meetings.retain(|m| m["people"] == 3);
    assert_eq!(api, cli, "the command line's figures, less each person's and the groups too small");
    let (status, _, page) = get(&state, &format!("/focus?{window}"));
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("<tr data-week=\"2025-W02\"><td>2025-W02</td><td>3</td>"), "{page}");
    assert!(page.contains("<td>Stand-up</td><td>15</td><td>3</td>"), "{page}");
    assert!(
        !page.contains("Secret project review") && !page.contains("All hands"),
        "small meetings are not shown: {page}"
    );
    assert!(!page.contains("Ann") && !page.contains("Bob"), "no one person's figures: {page}");

    // With the default threshold (5), three people are too few for anything.
    let config = scratch.path("default.toml");
    std::fs::write(&config, &people).unwrap();
    let (_, _, api) = get(&serve(&config), &format!("/api/v1/focus?{window}"));
    let api: serde_json::Value = serde_json::from_str(&api).unwrap();
    assert_eq!(
        (api["team"].as_array().unwrap().len(), api["costly_meetings"].as_array().unwrap().len()),
        (0, 0),
        "{api}"
    );
}
