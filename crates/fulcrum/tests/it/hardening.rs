//! Hardening: each test reproduces a report of how fulcrum misbehaved for a
//! new user, a hostile repository or a hostile host, and checks the fix.
//! Item numbers refer to that report (the hardening issue).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::harness::*;
use crate::replay::{Replay, Reply, Route};

const TOKEN: &str = "ghp_hardeningSecret0123456789";

fn route(path: &str, replies: Vec<Reply>) -> Route {
    Route { path: path.to_owned(), responses: replies }
}

fn ok(body: &Value) -> Reply {
    Reply::json(200, body.to_string())
}

/// A GitHub source's every listing, empty, under `/repos/o/r`.
fn empty_github(extra: Vec<Route>) -> Vec<Route> {
    let mut routes = extra;
    for path in [
        "/repos/o/r/pulls?sort=updated&direction=asc&per_page=100&state=all",
        "/repos/o/r/deployments?per_page=100",
        "/repos/o/r/releases?per_page=100",
        "/repos/o/r/actions/runs?per_page=100",
        "/repos/o/r/issues?labels=incident&direction=asc&per_page=100&state=all",
    ] {
        if !routes.iter().any(|r| r.path == path) {
            routes.push(route(path, vec![ok(&json!([]))]));
        }
    }
    routes
}

fn github_config(dir: &Path, base: &str, extra: &str) -> PathBuf {
    let path = dir.join("fulcrum.toml");
    std::fs::write(&path, format!("[[source]]\nkind = \"github\"\nrepo = \"o/r\"\nbase_url = \"{base}\"\n{extra}"))
        .unwrap();
    path
}

/// `fulcrum --db DB --config CONFIG sync` in `dir` with the token set.
fn sync_with(dir: &Path, db: &Path, config: &Path) -> Run {
    let mut command = command(["--db", s(db), "--config", s(config), "sync"]);
    command.current_dir(dir).env("GITHUB_TOKEN", TOKEN).env("GITLAB_TOKEN", TOKEN).env("FULCRUM_HTTP_BACKOFF_MS", "1");
    run(&mut command)
}

fn import(db: &Path, dir: &Path, lines: &str) -> Run {
    let file = dir.join("events.jsonl");
    std::fs::write(&file, lines).unwrap();
    fulcrum(["--db", s(db), "import", s(&file)])
}

fn count(db: &Path, table: &str) -> i64 {
    open_db(db).count(table)
}

/// Item 1: a cloned repository's fulcrum.toml runs nothing and sends no
/// secret anywhere until the user trusts it; a change withdraws the trust.
#[test]
fn a_cloned_repository_configuration_runs_nothing_until_trusted() {
    let scratch = Scratch::new("hardening_trust");
    let clone = scratch.copy_repo("notags");
    let replay = Replay::start(empty_github(Vec::new()));
    let marker = scratch.path("PWNED");
    std::fs::write(
        clone.join("fulcrum.toml"),
        format!(
            "[[source]]\nkind = \"github\"\nrepo = \"o/r\"\nbase_url = \"{}\"\ntoken_env = \"VICTIM_SECRET\"\n\
             token_command = \"touch {} && echo stolen-token-value\"\n",
            replay.url(),
            marker.display()
        ),
    )
    .unwrap();
    let config_home = scratch.path("config-home");
    let fulcrum_in_clone = |args: &[&str]| {
        let mut command = command(args);
        command.env("XDG_CONFIG_HOME", &config_home).env("VICTIM_SECRET", "victim-secret-value");
        run(&mut command)
    };
    let db = scratch.db();
    let synced = fulcrum_in_clone(&["sync", "--repo", s(&clone), "--db", s(&db)]).ok();
    assert!(!marker.exists(), "the repository's token_command ran");
    assert!(replay.requests().is_empty(), "a request went to the repository's base_url: {:?}", replay.requests());
    for needle in ["left out", "token_command, token_env, base_url", "not trusted", "fulcrum trust"] {
        assert!(synced.stderr.contains(needle), "stderr lacks {needle:?}:\n{}", synced.stderr);
    }

    // Trusted: now it applies (the variable wins over the command).
    let trusted = fulcrum_in_clone(&["trust", s(&clone)]).ok();
    assert!(trusted.stdout.contains("token_command") && trusted.stdout.contains("trusted"), "{}", trusted.stdout);
    fulcrum_in_clone(&["sync", "--repo", s(&clone), "--db", s(&db)]).ok();
    let requests = replay.requests();
    assert!(!requests.is_empty());
    assert!(
        requests.iter().all(|r| r.headers.contains(&("authorization".into(), "Bearer victim-secret-value".into())))
    );

    // Changed after trusting: left out again, and said so.
    let mut text = std::fs::read_to_string(clone.join("fulcrum.toml")).unwrap();
    text.push_str("concurrency = 2\n");
    std::fs::write(clone.join("fulcrum.toml"), text).unwrap();
    let before = replay.requests().len();
    let changed = fulcrum_in_clone(&["sync", "--repo", s(&clone), "--db", s(&db)]).ok();
    assert!(changed.stderr.contains("changed since you trusted it"), "{}", changed.stderr);
    assert_eq!(replay.requests().len(), before);
    assert!(!marker.exists());
}

/// Item 2: a `next` link to another host is refused (naming both hosts),
/// and a redirect to another host carries no credential.
#[test]
fn credentials_go_only_to_their_own_host() {
    let scratch = Scratch::new("hardening_hosts");
    let other = Replay::start(vec![route("/elsewhere", vec![ok(&json!([]))])]);
    let replay = Replay::start(empty_github(vec![route(
        "/repos/o/r/pulls?sort=updated&direction=asc&per_page=100&state=all",
        vec![ok(&json!([])).header("Link", &format!("<{}/elsewhere>; rel=\"next\"", other.url()))],
    )]));
    let config = github_config(&scratch.dir, &replay.url(), "");
    let run = sync_with(&scratch.dir, &scratch.db(), &config);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let host = |url: &str| url.trim_start_matches("http://").to_owned();
    assert!(run.stderr.contains(&host(&replay.url())) && run.stderr.contains(&host(&other.url())), "{}", run.stderr);
    assert!(other.requests().is_empty(), "the other host was asked: {:?}", other.requests());

    // GitLab: a redirect to another host is followed without PRIVATE-TOKEN.
    let project = "/api/v4/projects/g%2Fp";
    let mrs = format!("{project}/merge_requests?state=all&order_by=updated_at&sort=asc&per_page=100");
    let gitlab = Replay::start(vec![
        route(&mrs, vec![Reply::json(302, "").header("Location", &format!("{}/elsewhere", other.url()))]),
        route(&format!("{project}/deployments?order_by=updated_at&sort=asc&per_page=100"), vec![ok(&json!([]))]),
        route(project, vec![ok(&json!({"default_branch": "main"}))]),
    ]);
    let config = scratch.path("gitlab.toml");
    std::fs::write(
        &config,
        format!("[[source]]\nkind = \"gitlab\"\nrepo = \"g/p\"\nbase_url = \"{}/api/v4\"\n", gitlab.url()),
    )
    .unwrap();
    sync_with(&scratch.dir, &scratch.other_db("gitlab"), &config);
    let redirected = other.requests();
    assert_eq!(redirected.len(), 1, "{redirected:?}");
    assert!(redirected[0].headers.iter().all(|(k, _)| k != "private-token" && k != "authorization"), "{redirected:?}");
    assert!(gitlab.requests()[0].headers.contains(&("private-token".into(), TOKEN.into())));
}

/// Item 3: plain http is refused off this machine unless the source allows
/// it, and then every sync warns.
#[test]
fn plain_http_is_refused_unless_allowed() {
    let scratch = Scratch::new("hardening_http");
    let replay = Replay::start(empty_github(Vec::new()));
    // The replay server, reached through an address that is not a loopback
    // name: an IPv4-mapped IPv6 address.
    let port = replay.url().rsplit(':').next().unwrap().to_owned();
    let mapped = format!("http://[::ffff:127.0.0.1]:{port}");
    let config = github_config(&scratch.dir, &mapped, "");
    sync_with(&scratch.dir, &scratch.db(), &config).bad_input(&["plain http", "allow_insecure_http", "clear text"]);
    assert!(!scratch.db().exists(), "nothing is created for bad input");
    assert!(replay.requests().is_empty());

    let config = github_config(&scratch.dir, &mapped, "allow_insecure_http = true\n");
    let run = sync_with(&scratch.dir, &scratch.db(), &config).ok();
    assert!(run.stderr.contains("warning") && run.stderr.contains("clear text"), "{}", run.stderr);
    assert!(!replay.requests().is_empty());
    // Loopback needs no permission (the other tests' replay servers).
}

/// Item 4: a host echoing the token has it redacted everywhere, and its
/// message is cut.
#[test]
fn an_echoed_token_is_redacted_and_cut() {
    let scratch = Scratch::new("hardening_echo");
    let echo = format!("you sent Bearer {TOKEN} {}", "x".repeat(50_000));
    let replay = Replay::start(empty_github(vec![route(
        "/repos/o/r/deployments?per_page=100",
        vec![Reply::json(422, json!({ "message": echo }).to_string())],
    )]));
    let config = github_config(&scratch.dir, &replay.url(), "");
    let run = sync_with(&scratch.dir, &scratch.db(), &config);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(!run.stderr.contains(TOKEN), "{}", run.stderr);
    assert!(run.stderr.contains("you sent Bearer ***"), "{}", run.stderr);
    assert!(run.stderr.len() < 2_000, "the echo is cut: {} bytes", run.stderr.len());

    // A payload echoing it is stored without it.
    let replay = Replay::start(empty_github(vec![route(
        "/repos/o/r/issues?labels=incident&direction=asc&per_page=100&state=all",
        vec![ok(
            &json!([{"number": 7, "title": format!("token {TOKEN} leaked"), "created_at": "2025-01-01T00:00:00Z"}]),
        )],
    )]));
    let config = github_config(&scratch.dir, &replay.url(), "");
    let db = scratch.other_db("payload");
    sync_with(&scratch.dir, &db, &config).ok();
    let raw: String = open_db(&db).value("SELECT raw FROM incidents");
    assert!(raw.contains("token *** leaked") && !raw.contains(TOKEN), "{raw}");
}

/// Item 5: a listing whose `next` points to itself stops at once; one longer
/// than `max_pages` stops with an error naming the listing.
#[test]
fn endless_listings_stop() {
    let scratch = Scratch::new("hardening_pages");
    let releases = "/repos/o/r/releases?per_page=100";
    let replay = Replay::start(empty_github(vec![route(
        releases,
        vec![ok(&json!([])).header("Link", &format!("<{{base}}{releases}>; rel=\"next\""))],
    )]));
    let config = github_config(&scratch.dir, &replay.url(), "");
    let started = std::time::Instant::now();
    sync_with(&scratch.dir, &scratch.db(), &config).bad_input(&["releases", "links back to a page already fetched"]);
    assert!(started.elapsed().as_secs() < 10);
    assert_eq!(replay.requests().iter().filter(|r| r.path == releases).count(), 1);

    let page = |n: u32| format!("{releases}&page={n}");
    let chain: Vec<Route> = (1..=5)
        .map(|n| {
            route(&page(n), vec![ok(&json!([])).header("Link", &format!("<{{base}}{}>; rel=\"next\"", page(n + 1)))])
        })
        .collect();
    let mut routes = empty_github(chain);
    routes.retain(|r| r.path != releases);
    routes.push(route(releases, vec![ok(&json!([])).header("Link", &format!("<{{base}}{}>; rel=\"next\"", page(2)))]));
    let replay = Replay::start(routes);
    let config = github_config(&scratch.dir, &replay.url(), "max_pages = 3\n");
    sync_with(&scratch.dir, &scratch.db(), &config).bad_input(&["releases", "more than max_pages = 3"]);
    assert_eq!(replay.requests().iter().filter(|r| r.path.contains("/releases")).count(), 3);
}

/// Item 6: data that starts after the window, and a deployment dated 2205,
/// give "no data", not a panic.
#[test]
fn windows_before_the_data_and_far_future_events_do_not_panic() {
    let scratch = Scratch::new("hardening_panic");
    let delivery = repo("delivery");
    let db = scratch.db();
    sync(&delivery, &db);
    let report = report_json(&delivery, &db, &["--no-sync", "--since", "2009-01-01", "--until", "2010-01-01"]);
    let reason = report["dora"]["deployment_frequency"]["no_data"]["reason"].as_str().unwrap();
    assert!(reason.contains("after the window ends"), "{reason}");

    let events = scratch.other_db("events");
    import(
        &events,
        &scratch.dir,
        r#"{"type":"deployment","id":"d1","service":"shop","commit":"abc","finished_at":"2205-01-01T00:00:00Z"}"#,
    )
    .ok();
    let run = fulcrum(["--db", s(&events), "report", "--service", "shop", "--format", "json"]).ok();
    assert!(run.json()["dora"]["deployment_frequency"]["no_data"].is_object(), "{}", run.stdout);
}

/// PR lines of `n` pull requests numbered from `first`, in `repo`.
fn pull_request_lines(repo: &str, first: u64, n: u64) -> String {
    (first..first + n)
        .map(|i| {
            format!(
                r#"{{"type":"pull_request","repo":"{repo}","number":{i},"author":"ann","created_at":"2025-01-01T00:00:00Z","merged_at":"2025-01-02T00:00:00Z","merge_commit":"m{i}","commits":[{{"sha":"c{i}","author":"ann","authored_at":"2024-12-31T00:00:00Z"}}]}}"#
            ) + "\n"
        })
        .collect()
}

/// Item 7: two imports at once, and an import during a git sync, both
/// finish and store everything.
#[test]
fn two_writers_wait_their_turn() {
    let scratch = Scratch::new("hardening_writers");
    let db = scratch.db();
    let (a, b) = (scratch.path("a.jsonl"), scratch.path("b.jsonl"));
    std::fs::write(&a, pull_request_lines("acme/a", 1, 20_000)).unwrap();
    std::fs::write(&b, pull_request_lines("acme/b", 1, 20_000)).unwrap();
    // An empty database first, so both start on the same schema.
    import(&db, &scratch.dir, "").ok();
    let spawn = |file: &Path| command(["--db", s(&db), "import", s(file)]).spawn().unwrap();
    let (first, second) = (spawn(&a), spawn(&b));
    for child in [first, second] {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    }
    assert_eq!(count(&db, "pull_requests"), 40_000);

    // An import while a slowed-down git sync writes its batches.
    let delivery = repo("delivery");
    let mut syncing = command(["sync", "--repo", s(&delivery), "--db", s(&db), "--batch-size", "1"]);
    let syncing = syncing.env("FULCRUM_TEST_BATCH_DELAY_MS", "40").spawn().unwrap();
    let c = scratch.path("c.jsonl");
    std::fs::write(&c, pull_request_lines("acme/c", 1, 5_000)).unwrap();
    fulcrum(["--db", s(&db), "import", s(&c)]).ok();
    assert!(syncing.wait_with_output().unwrap().status.success());
    assert_eq!(count(&db, "pull_requests"), 45_000);
    assert_eq!(count(&db, "commits"), 15);
}

/// Item 8: bytes that are not UTF-8, a byte-order mark, huge values, numbers
/// too large and repeated items.
#[test]
fn imports_name_every_bad_line_and_count_items_once() {
    let scratch = Scratch::new("hardening_import");
    let db = scratch.db();
    let good = |id: &str| {
        format!(
            r#"{{"type":"deployment","id":"{id}","service":"shop","commit":"abc","finished_at":"2025-01-02T00:00:00Z"}}"#
        )
    };
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend(good("d1").as_bytes());
    bytes.extend(b"\n{\"type\":\"deployment\",\"id\":\"bad\xff\"}\n");
    bytes.extend(format!("{}\n", good("d2")).as_bytes());
    bytes.extend(
        format!(r#"{{"type":"deployment","id":"d3","service":"{}","commit":5}}"#, "y".repeat(5_000_000)).as_bytes(),
    );
    bytes.extend(b"\n");
    bytes.extend(br#"{"type":"pull_request","repo":"a/b","number":9223372036854775808,"author":"x","created_at":5}"#);
    bytes.extend(b"\n");
    bytes.extend(br#"{"type":"pull_request","repo":"a/b","number":1,"author":"x","created_at":5,"additions":18446744073709551615}"#);
    bytes.extend(b"\n");
    bytes.extend(format!("{}\n", good("d2")).as_bytes());
    bytes.extend(
        br#"{"type":"deployment","id":"d4","service":"shop","commit":"abc","finished_at":5,"commits":["abc","abc","def"]}"#,
    );
    bytes.extend(b"\n");
    let file = scratch.path("events.jsonl");
    std::fs::write(&file, bytes).unwrap();
    let run = fulcrum(["--db", s(&db), "import", s(&file)]);
    let run = run.bad_input(&[
        "line 2: not UTF-8",
        "line 4",
        "line 5",
        "`number` is above",
        "line 6",
        "`additions` is above",
    ]);
    assert!(!run.stderr.contains("line 1"), "the byte-order mark is not an error: {}", run.stderr);
    assert!(run.stderr.len() < 4_000, "the 5 MB value is cut: {} bytes", run.stderr.len());
    // d1, d2 (twice: one item), d4: three deployments.
    assert!(run.stderr.contains("the 3 valid ones are stored"), "{}", run.stderr);
    assert_eq!(count(&db, "deployments"), 3);
    assert_eq!(count(&db, "deployment_commits"), 2, "abc once, def once");
    assert_eq!(count(&db, "pull_requests"), 0);
}

/// Copies the binary where an unprivileged user can run it.
fn unprivileged(scratch: &Scratch) -> PathBuf {
    let binary = scratch.path("fulcrum-bin");
    std::fs::copy(env!("CARGO_BIN_EXE_fulcrum"), &binary).unwrap();
    binary
}

/// Item 9: a database in a read-only directory is read by reading commands;
/// a damaged one gives exit 2, its message once, and what to do.
#[test]
fn unusable_databases_are_named_once_with_advice() {
    if skip_on_postgres("unusable_databases_are_named_once_with_advice") {
        return;
    }
    let scratch = Scratch::new("hardening_databases");
    let delivery = repo("delivery");
    let db = scratch.db();
    sync(&delivery, &db);
    let expected = stored_report(&delivery, &db);

    // Reading a database nobody may write: as `nobody`, in a directory owned by root.
    let is_root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if is_root && Path::new("/usr/bin/setpriv").exists() {
        let binary = unprivileged(&scratch);
        let readonly = |args: &[&str]| {
            let mut command = Command::new("/usr/bin/setpriv");
            command
                .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(&binary)
                .args(args)
                .env_clear()
                .env("FULCRUM_NOW", NOW)
                .env("NO_COLOR", "1")
                .env("HOME", "/nonexistent");
            run(&mut command)
        };
        let read = readonly(&["report", "--repo", s(&delivery), "--db", s(&db), "--no-sync", "--format", "json"]).ok();
        let mut got = read.json();
        let mut want = expected.clone();
        got["sync"] = Value::Null;
        want["sync"] = Value::Null;
        assert_eq!(got, want);
        // Writing is refused with exit 2 and advice.
        let events = scratch.path("one.jsonl");
        std::fs::write(
            &events,
            r#"{"type":"deployment","id":"d1","service":"shop","commit":"abc","finished_at":"2025-01-02T00:00:00Z"}"#,
        )
        .unwrap();
        let write = readonly(&["import", s(&events), "--db", s(&db)]);
        assert_eq!(write.code, 2, "{}", write.stderr);
        assert!(write.stderr.contains("read-only") && write.stderr.contains("writable"), "{}", write.stderr);
    }

    // Damaged: overwrite the middle of the file.
    let damaged = scratch.other_db("damaged");
    std::fs::copy(&db, &damaged).unwrap();
    let mut bytes = std::fs::read(&damaged).unwrap();
    let middle = bytes.len() / 2;
    bytes[4096..middle].fill(0xA5);
    std::fs::write(&damaged, bytes).unwrap();
    let run = fulcrum(["report", "--repo", s(&delivery), "--db", s(&damaged), "--no-sync"]);
    let run = run.bad_input(&["damaged", "backup"]);
    assert_eq!(run.stderr.matches("malformed").count().max(1), 1, "once: {}", run.stderr);
}

/// Item 10: every command's JSON is the same, byte for byte, run twice.
#[test]
fn json_output_is_reproducible() {
    let scratch = Scratch::new("hardening_reproducible");
    let team = repo("team");
    let db = scratch.db();
    sync(&team, &db);
    let runs: [&[&str]; 3] = [
        &["knowledge", "--by-directory", "--depth", "2", "--no-sync"],
        &["hotspots", "--no-sync", "--since", "2020-01-01"],
        &["report", "--no-sync", "--deploy-mode", "trunk", "--since", "2020-01-01"],
    ];
    for args in runs {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--repo", s(&team), "--db", s(&db), "--format", "json"]);
        let first = fulcrum(&all).ok().stdout;
        for _ in 0..3 {
            assert_eq!(fulcrum(&all).ok().stdout, first, "{args:?}");
        }
    }
}

/// Items 11 and 17: listed items without a number are skipped and counted;
/// unknown sizes are unknown, not 0.
#[test]
fn items_without_a_number_are_skipped_and_sizes_can_be_unknown() {
    let scratch = Scratch::new("hardening_ghosts");
    let pulls = "/repos/o/r/pulls?sort=updated&direction=asc&per_page=100&state=all";
    let pr = json!({"number": 3, "user": {"login": "ann"}, "created_at": "2025-01-01T00:00:00Z",
                    "updated_at": "2025-01-02T00:00:00Z", "merged_at": "2025-01-02T00:00:00Z", "merge_commit_sha": "m3"});
    let replay = Replay::start(empty_github(vec![
        route(pulls, vec![ok(&json!([{"title": "no number", "updated_at": "2025-01-01T00:00:00Z"}, pr]))]),
        route("/repos/o/r/issues/comments?direction=asc&per_page=100&state=all", vec![ok(&json!([]))]),
        route("/repos/o/r/pulls/comments?direction=asc&per_page=100", vec![ok(&json!([]))]),
        route("/repos/o/r/issues/events?direction=asc&per_page=100&state=all", vec![ok(&json!([]))]),
        // No size in the detail.
        route("/repos/o/r/pulls/3", vec![ok(&json!({"number": 3}))]),
        route("/repos/o/r/pulls/3/commits?direction=asc&per_page=100&state=all", vec![ok(&json!([]))]),
        route("/repos/o/r/pulls/3/reviews?direction=asc&per_page=100&state=all", vec![ok(&json!([]))]),
    ]));
    let config = github_config(&scratch.dir, &replay.url(), "");
    let run = sync_with(&scratch.dir, &scratch.db(), &config).ok();
    assert!(run.stderr.contains("1 listed item left out: no id, or no time to place it by"), "{}", run.stderr);
    assert!(run.stderr.contains("no size for 1 pull request"), "{}", run.stderr);
    let numbers: Vec<i64> = open_db(&scratch.db()).column("SELECT number FROM pull_requests");
    assert_eq!(numbers, [3], "no pull request #0");
    let flow = run_flow(&scratch, &config);
    assert_eq!(flow["rows"][0]["size"], Value::Null);
    let reason = flow["size"]["no_data"]["reason"].as_str().unwrap();
    assert!(reason.contains("no size for the 1 pull request"), "{reason}");
}

fn run_flow(scratch: &Scratch, config: &Path) -> Value {
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
        "2024-06-01",
        "--until",
        "2025-03-01",
    ];
    run(command(args).current_dir(&scratch.dir)).ok().json()
}

/// Item 12: a command that fails on its input creates no database.
#[test]
fn failing_commands_create_nothing() {
    let scratch = Scratch::new("hardening_nothing");
    let outside = scratch.path("not-a-repo");
    std::fs::create_dir_all(&outside).unwrap();
    for (name, args) in [
        ("sync", vec!["sync", "--db", "x.db"]),
        ("report", vec!["report", "--repo", ".", "--db", "x.db"]),
        ("knowledge", vec!["knowledge", "--repo", ".", "--db", "x.db"]),
        ("hotspots", vec!["hotspots", "--repo", ".", "--db", "x.db"]),
        ("flow", vec!["flow", "--repo", ".", "--db", "x.db"]),
    ] {
        let run = run(command(&args).current_dir(&outside));
        assert_eq!(run.code, 2, "{name}: {}", run.stderr);
        assert!(!outside.join("x.db").exists(), "{name} created the database");
    }
}

/// Item 13: figures after an interrupted sync say so.
#[test]
fn an_unfinished_sync_is_named_in_the_report() {
    let scratch = Scratch::new("hardening_unfinished");
    let delivery = repo("delivery");
    let db = scratch.db();
    sync(&delivery, &db);
    // What a sync killed after its first batches leaves: the flag cleared.
    try_open_db(&db, true).unwrap().execute("UPDATE repos SET sync_complete = 0");
    let report = stored_report(&delivery, &db);
    let warnings = report["warnings"].to_string();
    assert!(warnings.contains("did not finish") && warnings.contains("fulcrum sync"), "{warnings}");
}

/// Item 14: a window reaching 9999 gives a bounded trend.
#[test]
fn a_far_until_gives_a_bounded_trend() {
    let scratch = Scratch::new("hardening_trend");
    let notags = repo("notags");
    let run = fulcrum([
        "report",
        "--repo",
        s(&notags),
        "--db",
        s(&scratch.db()),
        "--deploy-mode",
        "trunk",
        "--until",
        "9999-12-31",
        "--since",
        "2022-01-01",
        "--format",
        "json",
    ])
    .ok();
    // It was 92 MB: 416,000 weekly rows.
    assert!(run.stdout.len() < 200_000, "{} bytes", run.stdout.len());
    let report = run.json();
    assert_eq!(report["dora"]["window"]["end"], utc(&format!("{NOW} 00:00")) + 1, "the window ends now");
    assert!(report["warnings"].to_string().contains("--until 9999-12-31 is in the future"), "{}", report["warnings"]);
    let weekly = report["dora"]["weekly"].as_array().unwrap();
    assert_eq!(weekly.len(), 52);
    assert!(report["dora"]["trend_note"].as_str().unwrap().contains("monthly"));
    let months = report["dora"]["monthly"].as_array().unwrap();
    assert_eq!(months.first().unwrap()["month"], "2021-12", "the week of 2022-01-01 starts on Monday 2021-12-27");
    let deployments: u64 = months.iter().chain(weekly).map(|m| m["deployments"].as_u64().unwrap()).sum();
    assert_eq!(deployments, 3, "every deployment is in the trend");
}

fn gitlab_recorded(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gitlab-recorded").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Items 15, 16 and 17 against GitLab's recorded responses: the merge
/// commit before the squash commit, no merge-request pipelines as
/// deployments, unknown sizes.
#[test]
fn gitlab_recorded_merge_requests_and_pipelines() {
    let scratch = Scratch::new("hardening_gitlab");
    let project = "/api/v4/projects/gitlab-data%2Fsnowflake_spend";
    let mrs = gitlab_recorded("merge_requests.json");
    let mut routes = vec![
        route(&format!("{project}/merge_requests?state=all&order_by=updated_at&sort=asc&per_page=100"), vec![ok(&mrs)]),
        route(&format!("{project}/deployments?order_by=updated_at&sort=asc&per_page=100"), vec![ok(&json!([]))]),
        route(project, vec![ok(&gitlab_recorded("project.json"))]),
        // The host ignores the ref filter: the recorded merge-request pipelines come back.
        route(
            &format!("{project}/pipelines?status=success&ref=master&per_page=100"),
            vec![ok(&gitlab_recorded("pipelines.json"))],
        ),
        route(&format!("{project}/issues?issue_type=incident&state=all&per_page=100"), vec![ok(&json!([]))]),
        route(&format!("{project}/issues?labels=incident&state=all&per_page=100"), vec![ok(&json!([]))]),
    ];
    for mr in mrs.as_array().unwrap() {
        let iid = mr["iid"].as_u64().unwrap();
        let at = format!("{project}/merge_requests/{iid}");
        let commits = match iid {
            1 => gitlab_recorded("merge_request_1_commits.json"),
            3 => gitlab_recorded("merge_request_3_commits.json"),
            _ => json!([]),
        };
        routes.push(route(&format!("{at}/commits?per_page=100"), vec![ok(&commits)]));
        routes.push(route(&format!("{at}/notes?sort=asc&order_by=created_at&per_page=100"), vec![ok(&json!([]))]));
        routes.push(route(&format!("{at}/approvals"), vec![ok(&json!({"approved_by": []}))]));
        routes.push(route(&format!("{at}/diffs?per_page=100"), vec![ok(&json!([]))]));
    }
    let replay = Replay::start(routes);
    let config = scratch.path("fulcrum.toml");
    std::fs::write(
        &config,
        format!(
            "[deploy]\nci_pattern = '(?i)deploy'\n\n[[source]]\nkind = \"gitlab\"\nrepo = \"gitlab-data/snowflake_spend\"\n\
             base_url = \"{}/api/v4\"\n",
            replay.url()
        ),
    )
    .unwrap();
    let run = sync_with(&scratch.dir, &scratch.db(), &config).ok();
    assert!(run.stderr.contains("6 pull requests, 0 deployment events"), "{}", run.stderr);
    assert!(run.stderr.contains("no size for 6 pull requests"), "{}", run.stderr);
    let conn = open_db(&scratch.db());
    let merge_commit = |iid: i64| -> Option<String> {
        conn.value(&format!("SELECT merge_commit FROM pull_requests WHERE number = {iid}"))
    };
    // !14: squash with both a merge and a squash commit: the merge commit landed.
    assert_eq!(merge_commit(14).as_deref(), Some("21840a7eadb58babe8aeae2960da851a3ed00ddc"));
    // !1: squash, merge commit only; !3: a plain merge; !13 closed, !18 open: none.
    assert_eq!(merge_commit(1).as_deref(), Some("da1d6dea48f5972ffc683da6cff30934e7d6c52c"));
    assert_eq!(merge_commit(3).as_deref(), Some("d678bea9d47b42eb13512d1c9d6a592d80b432d4"));
    assert_eq!(merge_commit(18), None);
    // No pipeline of refs/merge-requests/… or a feature branch became a deployment; no job was asked for.
    assert_eq!(count(&scratch.db(), "deployments"), 0);
    assert!(!replay.requests().iter().any(|r| r.path.contains("/jobs")));
}

/// Item 18: with only non-production deployment events, the advice is about
/// environments, not tags.
#[test]
fn no_deployment_advice_fits_the_stored_data() {
    let scratch = Scratch::new("hardening_advice");
    let db = scratch.db();
    import(
        &db,
        &scratch.dir,
        r#"{"type":"deployment","id":"d1","service":"shop","environment":"staging","commit":"abc","finished_at":"2025-02-01T00:00:00Z"}"#,
    )
    .ok();
    let report = fulcrum(["--db", s(&db), "report", "--service", "shop", "--format", "json"]).ok().json();
    let reason = report["dora"]["deployment_frequency"]["no_data"]["reason"].as_str().unwrap();
    assert!(reason.contains("deploy.env_pattern") && !reason.contains("tag_pattern"), "{reason}");
}

/// Item 19: inside a checkout without tags, stored events are reported
/// (and said so) instead of a tag error; an explicit --repo keeps the error.
#[test]
fn the_current_directory_does_not_hide_stored_events() {
    let scratch = Scratch::new("hardening_cwd");
    let checkout = scratch.copy_repo("notags");
    let db = scratch.db();
    let mut lines = pull_request_lines("acme/shop", 1, 2);
    lines.push_str(
        r#"{"type":"deployment","id":"d1","service":"shop","commit":"m1","finished_at":"2025-01-03T00:00:00Z","commits":["m1","m2"]}"#,
    );
    import(&db, &scratch.dir, &lines).ok();
    for command_name in ["flow", "report"] {
        let args = [command_name, "--db", s(&db), "--format", "json", "--since", "2024-12-01"];
        let out = run(command(args).current_dir(&checkout)).ok().json();
        let warnings = out["warnings"].to_string();
        assert!(warnings.contains("stored events are reported instead"), "{command_name}: {warnings}");
    }
    let flow =
        run(command(["flow", "--db", s(&db), "--format", "json", "--since", "2024-12-01"]).current_dir(&checkout))
            .ok()
            .json();
    assert_eq!(flow["rows"].as_array().unwrap().len(), 2);
    run(command(["flow", "--db", s(&db), "--repo", "."]).current_dir(&checkout)).bad_input(&["no tag matches"]);
}

/// Item 21: rework rate needs a failure signal.
#[test]
fn rework_rate_without_a_signal_is_no_data() {
    let scratch = Scratch::new("hardening_rework");
    let db = scratch.db();
    import(
        &db,
        &scratch.dir,
        "{\"type\":\"deployment\",\"id\":\"d1\",\"service\":\"shop\",\"commit\":\"a\",\"finished_at\":\"2025-02-01T00:00:00Z\"}\n\
         {\"type\":\"deployment\",\"id\":\"d2\",\"service\":\"shop\",\"commit\":\"b\",\"finished_at\":\"2025-02-02T00:00:00Z\"}\n",
    )
    .ok();
    let report = fulcrum(["--db", s(&db), "report", "--service", "shop", "--format", "json"]).ok().json();
    assert!(report["dora"]["rework_rate"]["no_data"]["reason"].as_str().unwrap().contains("no incidents recorded"));
    // Nor is there a lead time: the deployments' commits stand in without
    // author times (it read 0 s, "elite", before).
    let lead = report["dora"]["lead_time"]["no_data"]["reason"].as_str().unwrap();
    assert!(lead.contains("no git history and no pull requests"), "{lead}");
}

/// Item 23: messages name the flag, fit the command and count right.
#[test]
fn messages_name_the_flag_and_count_right() {
    let scratch = Scratch::new("hardening_messages");
    let notags = repo("notags");
    let db = scratch.db();
    fulcrum(["report", "--repo", s(&notags), "--db", s(&db), "--since", "yesterday"]).bad_input(&["--since yesterday"]);
    fulcrum(["report", "--repo", s(&notags), "--db", s(&db), "--until", "soon"]).bad_input(&["--until soon"]);
    let flow = fulcrum(["flow", "--repo", s(&notags), "--db", s(&db)]).bad_input(&["no tag matches"]);
    assert!(!flow.stderr.contains("(or --tag-pattern)"), "{}", flow.stderr);
    // notags in trunk mode: the first deployment's baseline is 1 commit.
    let report = report_json(&notags, &db, &["--deploy-mode", "trunk", "--since", "2025-01-01"]);
    let warnings = report["warnings"].to_string();
    assert!(warnings.contains("its 1 commit is a baseline"), "{warnings}");
}

/// Item 24: the definitions live in the project.
#[test]
fn the_readme_links_the_project_definitions() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(readme.contains("(docs/metrics.md)"));
    assert!(!readme.contains("../shared"));
    let metrics = std::fs::read_to_string(root.join("docs/metrics.md")).unwrap();
    for key in ["Deployment frequency", "Lead time", "Change failure rate", "Truck factor", "report.min_changes"] {
        assert!(metrics.contains(key), "docs/metrics.md lacks {key}");
    }
}
