//! Rules of the metric definitions that had no test: event deployments in
//! a repository with tags, the merge clock tolerance at its boundary,
//! incidents linked by pull request and by a configured window with the
//! recovery clamp, and the report's knowledge section on a fixture whose
//! truck factor is known. Every value is worked by hand in the comments.

use serde_json::{Value, json};

use crate::harness::*;

const HOUR: f64 = 3600.0;

fn import(scratch: &Scratch, db: &std::path::Path, lines: &str) {
    let file = scratch.path("events.jsonl");
    std::fs::write(&file, lines).unwrap();
    fulcrum(["--db", s(db), "import", s(&file)]).ok();
}

/// Event deployments of the repository's service replace its release tags,
/// and an event may name its commit by a tag.
///
/// delivery: c1 (Jan 6 09:00) and c2 (10:00) are shipped by e1, which names
/// the tag `v1.0.0` and is the baseline. e2 names c5's id and finishes Jan 8
/// 14:00; it ships c3 (Jan 7 09:00: 29 h), f1 (10:00: 28 h), f2 (11:00:
/// 27 h), the merge M (not a change), c4 (dependabot: excluded) and c5
/// (Jan 8 09:00: 5 h). Median of 5, 27, 28, 29 h = 27.5 h.
#[test]
fn event_deployments_replace_tags_in_a_repository() {
    let scratch = Scratch::new("edges_event_deployments");
    let delivery = repo("delivery");
    let db = scratch.db();
    let c5 = git_read(&delivery, &["rev-parse", "v1.1.0^{commit}"]);
    import(
        &scratch,
        &db,
        &format!(
            "{{\"type\":\"deployment\",\"id\":\"e1\",\"service\":\"delivery\",\"commit\":\"v1.0.0\",\"finished_at\":\"2025-01-06T12:30:00Z\"}}\n\
             {{\"type\":\"deployment\",\"id\":\"e2\",\"service\":\"delivery\",\"commit\":\"{c5}\",\"finished_at\":\"2025-01-08T14:00:00Z\"}}\n"
        ),
    );
    let report = report_json(&delivery, &db, &["--since", "2025-01-01", "--until", "2025-03-01"]);
    let source = report["deployments_source"].as_str().unwrap();
    assert!(source.starts_with("deployment events (2 successful to production, from import)"), "{source}");
    let names: Vec<&str> =
        report["deployments"].as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["e2", "e1"], "no tag is a deployment");
    let commits: Vec<u64> =
        report["deployments"].as_array().unwrap().iter().map(|d| d["commits"].as_u64().unwrap()).collect();
    assert_eq!(commits, [6, 2], "e1 resolved v1.0.0 through the refs");
    let lead = &report["dora"]["lead_time"]["value"];
    assert_eq!(lead["summary"]["count"], 4);
    assert_eq!(lead["summary"]["median"], 27.5 * HOUR);
    assert_eq!(lead["bot_commits_excluded"], 1);
    assert_eq!(lead["baseline_commits"], 2);
    assert_eq!(report["dora"]["deployment_frequency"]["value"]["deployments"], 2);
}

/// The merge clock tolerance (300 s): a deployment finishing 299 s before
/// the merge is taken as finishing at the merge; 301 s before, it cannot
/// contain the merge.
///
/// d0 (Jan 5) is the baseline. #1 (first commit Jan 6 08:00) merged 12:00 as
/// m1; d1 lists m1 and finished 11:55:01 (299 s early): deploy 0, lead time
/// 08:00 → 11:55:01 = 14,101 s. #2 merged Jan 7 12:00 as m2; d2 finished
/// 11:54:59 (301 s early): deployed before the merge, so not deployed and
/// no lead time (a negative span).
#[test]
fn merge_clock_tolerance_at_its_boundary() {
    let scratch = Scratch::new("edges_tolerance");
    let db = scratch.db();
    let pr = |n: u32, day: u32| {
        format!(
            "{{\"type\":\"pull_request\",\"repo\":\"acme/shop\",\"number\":{n},\"author\":\"ann\",\"created_at\":\"2025-01-0{day}T09:00:00Z\",\
             \"merged_at\":\"2025-01-0{day}T12:00:00Z\",\"merge_commit\":\"m{n}\",\"commits\":[{{\"sha\":\"c{n}\",\"author\":\"ann\",\"authored_at\":\"2025-01-0{day}T08:00:00Z\"}}]}}\n"
        )
    };
    let deployment = |n: u32, at: &str| {
        format!(
            "{{\"type\":\"deployment\",\"id\":\"d{n}\",\"service\":\"shop\",\"commit\":\"m{n}\",\"finished_at\":\"{at}\",\"commits\":[\"m{n}\"]}}\n"
        )
    };
    let lines = [
        pr(1, 6),
        pr(2, 7),
        deployment(0, "2025-01-05T12:00:00Z"),
        deployment(1, "2025-01-06T11:55:01Z"),
        deployment(2, "2025-01-07T11:54:59Z"),
    ]
    .concat();
    import(&scratch, &db, &lines);
    let window = ["--since", "2025-01-01", "--until", "2025-02-01", "--format", "json"];
    let flow =
        fulcrum([&["--db", s(&db), "flow", "--service", "shop", "--service", "acme/shop"][..], &window].concat())
            .ok()
            .json();
    let row = |n: u64| flow["rows"].as_array().unwrap().iter().find(|r| r["number"] == n).unwrap().clone();
    assert_eq!((row(1)["deploy"].clone(), row(1)["deployed_before_merge"].clone()), (json!(0), json!(false)));
    assert_eq!((row(2)["deploy"].clone(), row(2)["deployed_before_merge"].clone()), (Value::Null, json!(true)));
    let report =
        fulcrum([&["--db", s(&db), "report", "--service", "shop", "--service", "acme/shop"][..], &window].concat())
            .ok()
            .json();
    let lead = &report["dora"]["lead_time"]["value"];
    assert_eq!((lead["summary"]["count"].clone(), lead["summary"]["median"].clone()), (json!(1), json!(14101.0)));
    assert_eq!(lead["negative_spans_dropped"], 1);
}

/// Trunk mode with pull requests: the host records `merged_at` a little
/// after the merge commit's committer time, the trunk deployment's time.
///
/// notags: commits authored 09:00, committed 11:00 on Feb 3, 4 and 5; the
/// first is the baseline. #7 (first commit Feb 4 08:00) merged as the Feb 4
/// commit at 11:02 (120 s after): deploy 0 by the tolerance, cycle 08:00 →
/// 11:02 = 3 h 2 min, lead time 08:00 → 11:00 = 3 h. #8 merged as the Feb 5
/// commit at 11:05:01 (301 s after): deployed before its merge, dropped.
#[test]
fn trunk_mode_with_pull_requests_tolerates_the_merge_clock() {
    let scratch = Scratch::new("edges_trunk");
    let notags = repo("notags");
    let db = scratch.db();
    let ids = git_read(&notags, &["rev-list", "--reverse", "HEAD"]);
    let ids: Vec<&str> = ids.lines().collect();
    let pr = |n: u32, merge: &str, day: u32, merged: &str| {
        format!(
            "{{\"type\":\"pull_request\",\"repo\":\"notags\",\"number\":{n},\"author\":\"ann\",\"created_at\":\"2025-02-0{day}T08:30:00Z\",\
             \"merged_at\":\"2025-02-0{day}T{merged}Z\",\"merge_commit\":\"{merge}\",\"commits\":[{{\"sha\":\"p{n}\",\"author\":\"ann\",\"authored_at\":\"2025-02-0{day}T08:00:00Z\"}}]}}\n"
        )
    };
    import(&scratch, &db, &[pr(7, ids[1], 4, "11:02:00"), pr(8, ids[2], 5, "11:05:01")].concat());
    let args =
        ["--repo", s(&notags), "--db", s(&db), "--deploy-mode", "trunk", "--since", "2025-02-01", "--format", "json"];
    let flow = fulcrum([&["flow"][..], &args].concat()).ok().json();
    let row = |n: u64| flow["rows"].as_array().unwrap().iter().find(|r| r["number"] == n).unwrap().clone();
    assert_eq!(row(7)["deploy"], 0);
    assert_eq!(row(7)["cycle"], 3 * 3600 + 120);
    assert_eq!(row(8)["deployed_before_merge"], true);
    let report = fulcrum([&["report", "--no-sync"][..], &args].concat()).ok().json();
    let lead = &report["dora"]["lead_time"]["value"];
    assert_eq!(lead["basis"], "pull_requests");
    assert_eq!((lead["summary"]["count"].clone(), lead["summary"]["median"].clone()), (json!(1), json!(3.0 * HOUR)));
    assert_eq!(lead["negative_spans_dropped"], 1);
}

/// Incidents: one names a pull request, one names nothing (linked by time
/// within `incident.link_window`), one names a deployment and was resolved
/// before that deployment finished (recovery clamped to 0).
///
/// d0 Jan 5 (baseline), d1 Jan 6 12:00 ships #1's m1, d2 Jan 8 12:00 ships
/// #2's m2, d3 Jan 12 12:00.
/// - INC-1 names `acme/shop#1`, starts Jan 9 10:00 (after d2, which time
///   would pick), resolved Jan 9 12:00: d1 failed, recovery 72 h.
/// - INC-2 names nothing, starts Jan 10 12:00, two days after d2: linked to
///   d2 with the default 7-day window (recovery to Jan 10 13:00: 49 h), not
///   with `link_window = "1.day"`.
/// - INC-3 names d3, starts Jan 12 11:00 and is resolved 11:30, before d3
///   finished: recovery 0, not negative.
///
/// Default window: 3 of 4 deployments failed; recoveries 0, 49, 72 h,
/// median 49 h. One day: 2 of 4; recoveries 0, 72 h, median 36 h.
#[test]
fn incidents_by_pull_request_by_window_and_clamped() {
    let scratch = Scratch::new("edges_incidents");
    let db = scratch.db();
    let deployment = |n: u32, at: &str| {
        format!(
            "{{\"type\":\"deployment\",\"id\":\"d{n}\",\"service\":\"shop\",\"commit\":\"m{n}\",\"finished_at\":\"{at}\",\"commits\":[\"m{n}\"]}}\n"
        )
    };
    let pr = |n: u32, day: u32| {
        format!(
            "{{\"type\":\"pull_request\",\"repo\":\"acme/shop\",\"number\":{n},\"author\":\"ann\",\"created_at\":\"2025-01-0{day}T08:00:00Z\",\
             \"merged_at\":\"2025-01-0{day}T10:00:00Z\",\"merge_commit\":\"m{n}\"}}\n"
        )
    };
    let lines = [
        deployment(0, "2025-01-05T12:00:00Z"),
        deployment(1, "2025-01-06T12:00:00Z"),
        deployment(2, "2025-01-08T12:00:00Z"),
        deployment(3, "2025-01-12T12:00:00Z"),
        pr(1, 6),
        pr(2, 8),
        r#"{"type":"incident","id":"INC-1","service":"shop","started_at":"2025-01-09T10:00:00Z","resolved_at":"2025-01-09T12:00:00Z","pull_request":"acme/shop#1"}"#.to_owned() + "\n",
        r#"{"type":"incident","id":"INC-2","service":"shop","started_at":"2025-01-10T12:00:00Z","resolved_at":"2025-01-10T13:00:00Z"}"#.to_owned() + "\n",
        r#"{"type":"incident","id":"INC-3","service":"shop","started_at":"2025-01-12T11:00:00Z","resolved_at":"2025-01-12T11:30:00Z","deployment":"d3"}"#.to_owned() + "\n",
    ]
    .concat();
    import(&scratch, &db, &lines);
    let report = |config: Option<&str>| {
        let mut args = vec!["--db", s(&db), "report", "--service", "shop", "--since", "2025-01-01", "--format", "json"];
        let path = scratch.path("fulcrum.toml");
        if let Some(text) = config {
            std::fs::write(&path, text).unwrap();
            args.extend(["--config", s(&path)]);
        }
        fulcrum(&args).ok().json()
    };
    let failed = |r: &Value| {
        let rows = r["deployments"].as_array().unwrap();
        let mut names: Vec<&str> =
            rows.iter().filter(|d| d["failed"] == true).map(|d| d["name"].as_str().unwrap()).collect();
        names.sort_unstable();
        names.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let default = report(None);
    assert_eq!(failed(&default), ["d1", "d2", "d3"]);
    let cfr = &default["dora"]["change_failure_rate"]["value"];
    assert_eq!((cfr["failed_deployments"].clone(), cfr["deployments"].clone()), (json!(3), json!(4)));
    let recovery = &default["dora"]["recovery_time"]["value"]["summary"];
    assert_eq!((recovery["count"].clone(), recovery["median"].clone()), (json!(3), json!(49.0 * HOUR)));

    let narrow = report(Some("[incident]\nlink_window = \"1.day\"\n"));
    assert_eq!(failed(&narrow), ["d1", "d3"]);
    let recovery = &narrow["dora"]["recovery_time"]["value"]["summary"];
    assert_eq!((recovery["count"].clone(), recovery["median"].clone()), (json!(2), json!(36.0 * HOUR)));
    assert!(
        narrow["warnings"].to_string().contains("1 of 3 incidents matched no deployment"),
        "{}",
        narrow["warnings"]
    );
}

/// The report's knowledge section on `team`, whose truck factor (3) and key
/// people the knowledge tests work out by hand.
#[test]
fn report_carries_the_knowledge_section() {
    let scratch = Scratch::new("edges_report_knowledge");
    let team = repo("team");
    let report = report_json(&team, &scratch.db(), &["--deploy-mode", "trunk", "--since", "2000-01-01"]);
    let knowledge = &report["knowledge"];
    assert_eq!(knowledge["truck_factor"], 3);
    assert_eq!(knowledge["files_analysed"], 10);
    let people: Vec<(String, u64)> = knowledge["key_people"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| (k["person"]["email"].as_str().unwrap().to_owned(), k["files_authored"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        people,
        [
            ("carol@team.example".to_owned(), 5),
            ("alice@team.example".to_owned(), 4),
            ("bob@team.example".to_owned(), 4)
        ]
    );
    assert_eq!(knowledge["single_author_files"], 6);
    let terminal = fulcrum([
        "report",
        "--repo",
        s(&team),
        "--db",
        s(&scratch.db()),
        "--no-sync",
        "--deploy-mode",
        "trunk",
        "--since",
        "2000-01-01",
    ])
    .ok()
    .stdout;
    assert!(
        terminal.contains("Knowledge  Truck factor 3 at ")
            && terminal.contains("Carol Chen <carol@team.example> authors 5 files (50.0%)"),
        "{terminal}"
    );
}

/// Release lines and quick patch releases. main: 1.0.0 (Jan 1), 2.0.0
/// (Jan 10), 2.0.1 (Jan 12); a maintenance branch from 1.0.0: 1.0.1 (Jan
/// 13, a backport). With `deploy.release_line = "major"` (the default)
/// 1.0.1 is not a deployment of the main line; 2.0.1 two days after 2.0.0
/// marks 2.0.0 as a likely failure (a lower bound, not rated), recovered in
/// 2 days, and 2.0.1 as rework. With "all", 1.0.1 is a deployment too (13
/// days after 1.0.0: no failure).
#[test]
fn release_lines_and_quick_patch_releases() {
    let scratch = Scratch::new("edges_release_lines");
    let dir = scratch.path("lines");
    std::fs::create_dir_all(&dir).unwrap();
    let commit = |date: &str, file: &str, tag: &str| {
        std::fs::write(dir.join(file), date).unwrap();
        git(&dir, date, &["add", "-A"]);
        git(&dir, date, &["commit", "-q", "-m", tag]);
        git(&dir, date, &["tag", "-a", tag, "-m", tag]);
    };
    git(&dir, "2025-01-01 09:00", &["-c", "init.defaultBranch=main", "init", "-q"]);
    commit("2025-01-01 09:00", "a.rs", "1.0.0");
    commit("2025-01-10 09:00", "b.rs", "2.0.0");
    commit("2025-01-12 09:00", "c.rs", "2.0.1");
    git(&dir, "2025-01-13 09:00", &["checkout", "-q", "-b", "maint-1", "1.0.0"]);
    commit("2025-01-13 09:00", "d.rs", "1.0.1");
    git(&dir, "2025-01-13 09:00", &["checkout", "-q", "main"]);

    let db = scratch.db();
    let report = report_json(&dir, &db, &["--since", "2024-12-01"]);
    let names: Vec<&str> =
        report["deployments"].as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["2.0.1", "2.0.0", "1.0.0"]);
    let source = report["deployments_source"].as_str().unwrap();
    assert!(source.contains("1 of older lines left out as backports, e.g. 1.0.1"), "{source}");
    let failed: Vec<&str> = report["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["failed"] == true)
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["2.0.0"]);
    let cfr = &report["dora"]["change_failure_rate"]["value"];
    assert_eq!((cfr["failed_deployments"].clone(), cfr["lower_bound"].clone()), (json!(1), json!(true)));
    assert_eq!(report["dora"]["recovery_time"]["value"]["summary"]["median"], 2.0 * 86_400.0);
    assert!(report["failures_source"].as_str().unwrap().contains("1 by a patch release within 7 days"));
    let terminal =
        fulcrum(["report", "--repo", s(&dir), "--db", s(&db), "--no-sync", "--since", "2024-12-01"]).ok().stdout;
    assert!(terminal.contains("at least 33.3%"), "{terminal}");

    let config = scratch.path("all.toml");
    std::fs::write(&config, "[deploy]\nrelease_line = \"all\"\n").unwrap();
    let all = report_json(&dir, &db, &["--no-sync", "--since", "2024-12-01", "--config", s(&config)]);
    assert_eq!(all["dora"]["deployment_frequency"]["value"]["deployments"], 4);
    assert_eq!(all["dora"]["change_failure_rate"]["value"]["failed_deployments"], 1, "1.0.1 came 12 days late");
}

/// A window with nothing in it leads with the cause, the latest activity
/// and a window that has data.
#[test]
fn quiet_windows_lead_with_the_cause() {
    let scratch = Scratch::new("edges_headline");
    let delivery = repo("delivery");
    let db = scratch.db();
    // The last release, v1.4.1, finished 2025-01-14 11:00: 45 days and 13
    // hours before now (2025-03-01); the 6 months back hold all 6 releases.
    let report = report_json(&delivery, &db, &["--since", "2025-02-01"]);
    assert_eq!(
        report["headline"],
        "No deployment in this window: the last was v1.4.1 on 2025-01-14 (45 days before the window ends); \
         --since 6.months covers 6 deployments"
    );
    let terminal =
        fulcrum(["report", "--repo", s(&delivery), "--db", s(&db), "--no-sync", "--since", "2025-02-01"]).ok().stdout;
    let lines: Vec<&str> = terminal.lines().collect();
    assert!(lines[2].starts_with("No deployment in this window"), "the cause comes first:\n{terminal}");

    // Flow: three merged pull requests, the last #3 on 2025-01-09; fewer than
    // five in any span, so the suggestion starts at it.
    import(
        &scratch,
        &db,
        &(1..=3)
            .map(|n| {
                format!(
                    "{{\"type\":\"pull_request\",\"repo\":\"acme/shop\",\"number\":{n},\"author\":\"ann\",\
                     \"created_at\":\"2025-01-0{n}T08:00:00Z\",\"merged_at\":\"2025-01-0{}T09:00:00Z\"}}\n",
                    n * 3
                )
            })
            .collect::<String>(),
    );
    let flow = fulcrum(["--db", s(&db), "flow", "--service", "acme/shop", "--since", "2025-02-01", "--format", "json"])
        .ok()
        .json();
    assert_eq!(
        flow["headline"],
        "No merged pull request in this window: the last was acme/shop#3 on 2025-01-09 (50 days before the window \
         ends); --since 2025-01-09 starts at it"
    );
    // A quiet window with merges after it: the last before it ends (#2,
    // 2025-01-06) is named, not the latest of all (#3).
    let flow = fulcrum([
        "--db",
        s(&db),
        "flow",
        "--service",
        "acme/shop",
        "--since",
        "2025-01-07",
        "--until",
        "2025-01-08",
        "--format",
        "json",
    ])
    .ok()
    .json();
    assert_eq!(
        flow["headline"],
        "No merged pull request in this window: the last was acme/shop#2 on 2025-01-06 (1 day before the window \
         ends); --since 2025-01-06 starts at it"
    );
}

/// Every key beside its value over the previous window of the same length.
/// Window Jan 10–17: v1.3.0, v1.4.0, v1.4.1 in 7 days = 3/week. Before it,
/// Jan 3–10: v1.0.0, v1.1.0, v1.2.0, measured from Monday Jan 6 when the
/// data starts: 3 in 4 days = 5.25/week. Change (3 − 5.25) ÷ 5.25 = −42.9%.
#[test]
fn keys_are_compared_with_the_previous_window() {
    let scratch = Scratch::new("edges_previous");
    let delivery = repo("delivery");
    let db = scratch.db();
    let report = report_json(&delivery, &db, &["--since", "2025-01-10", "--until", "2025-01-17"]);
    let previous = &report["previous"];
    assert_eq!(previous["window"]["start"], utc("2025-01-03 00:00"));
    let frequency = &previous["deployment_frequency"];
    assert_eq!(frequency["previous"], 5.25);
    assert!((frequency["change"].as_f64().unwrap() + 3.0 / 7.0).abs() < 1e-9, "{frequency}");
    let terminal = fulcrum([
        "report",
        "--repo",
        s(&delivery),
        "--db",
        s(&db),
        "--no-sync",
        "--since",
        "2025-01-10",
        "--until",
        "2025-01-17",
    ])
    .ok()
    .stdout;
    assert!(terminal.contains("3.00/week · ▼ 43% vs the previous 7 days (5.25/week)"), "{terminal}");
}

/// `fulcrum check` fails (exit 1) when a rule holds, passes (exit 0)
/// otherwise, skips a metric without data, and refuses a rule it cannot
/// read (exit 2). delivery over its default window: 6 deployments, median
/// lead time 3h 30m, truck factor 0 (no analysable files).
#[test]
fn check_gates_on_the_team_agreements() {
    let scratch = Scratch::new("edges_check");
    let delivery = repo("delivery");
    let db = scratch.db();
    let check = |rules: &[&str]| {
        let mut args = vec!["check", "--repo", s(&delivery), "--db", s(&db)];
        for rule in rules {
            args.extend(["--fail-if", rule]);
        }
        fulcrum(&args)
    };
    let failed = check(&["lead_time > 2h", "deployment_frequency < 0.5", "stale_pull_requests > 0"]);
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    assert!(failed.stdout.contains("FAIL  lead_time = 3h 30m (fails when > 2h 0m)"), "{}", failed.stdout);
    assert!(failed.stdout.contains("ok    deployment_frequency = 0.78/week"), "{}", failed.stdout);
    assert!(failed.stdout.contains("skip  stale_pull_requests: no data"), "{}", failed.stdout);
    assert!(failed.stderr.contains("check failed: 1 of 3 rules hold"), "{}", failed.stderr);
    let passed = check(&["lead_time > 1d", "change_failure_rate > 50%"]);
    assert_eq!(passed.code, 0, "{}{}", passed.stdout, passed.stderr);
    assert!(passed.stdout.ends_with("check passed: 0 of 2 failed\n"), "{}", passed.stdout);
    check(&["velocity > 1"]).bad_input(&["velocity", "unknown metric"]);
    fulcrum(["check", "--repo", s(&delivery), "--db", s(&db)]).bad_input(&["no rules to check"]);
    // Rules from the configuration.
    let config = scratch.path("fulcrum.toml");
    std::fs::write(&config, "[check]\nfail_if = [\"truck_factor < 1\"]\n").unwrap();
    let from_config =
        fulcrum(["check", "--repo", s(&delivery), "--db", s(&db), "--config", s(&config), "--format", "json"]);
    assert_eq!(from_config.code, 1);
    assert_eq!(from_config.json()[0]["rule"]["metric"], "truck_factor");
}

/// `fulcrum init` proposes a commented configuration from the repository:
/// its origin's host and repository, tags mode when release tags exist
/// (trunk otherwise), a warning without a token; it writes and trusts it,
/// and never overwrites one.
#[test]
fn init_writes_a_configuration_from_the_repository() {
    let scratch = Scratch::new("edges_init");
    let delivery = scratch.copy_repo("delivery");
    git(&delivery, "2025-01-01 00:00", &["remote", "add", "origin", "git@gitlab.acme.example:shop/backend.git"]);
    let config_home = scratch.path("config");
    let init = |repo: &std::path::Path, extra: &[&str]| {
        let mut args = vec!["init", "--repo", s(repo)];
        args.extend_from_slice(extra);
        crate::harness::run(command(&args).env("XDG_CONFIG_HOME", &config_home))
    };
    let dry = init(&delivery, &["--dry-run"]).ok();
    assert!(!delivery.join("fulcrum.toml").exists(), "--dry-run writes nothing");
    for needle in [
        "mode = \"tags\"",
        "kind = \"gitlab\"\nrepo = \"shop/backend\"\nbase_url = \"https://gitlab.acme.example/api/v4\"",
        "# 6 release tags match",
        "# warning: no token: $GITLAB_TOKEN is unset",
    ] {
        assert!(dry.stdout.contains(needle), "lacks {needle:?}:\n{}", dry.stdout);
    }
    let written = init(&delivery, &[]).ok();
    assert!(written.stdout.contains("and trusted"), "{}", written.stdout);
    let text = std::fs::read_to_string(delivery.join("fulcrum.toml")).unwrap();
    assert!(text.starts_with("# fulcrum configuration, written by `fulcrum init`"), "{text}");
    let trusted = std::fs::read_to_string(config_home.join("fulcrum/trusted")).unwrap();
    assert!(trusted.contains(s(&delivery.join("fulcrum.toml").canonicalize().unwrap())), "{trusted}");
    // The written file is a valid configuration.
    fulcrum(["explain", "lead-time", "--repo", s(&delivery)]).ok();
    init(&delivery, &[]).bad_input(&["exists already"]);

    let notags = scratch.copy_repo("notags");
    let trunk = init(&notags, &["--dry-run"]).ok();
    assert!(trunk.stdout.contains("mode = \"trunk\""), "{}", trunk.stdout);
    assert!(trunk.stdout.contains("# no origin remote"), "{}", trunk.stdout);
}

/// Breaches and stale pull requests are named: number, title, author and
/// link, from what the source gave (here an events file).
#[test]
fn breaches_and_stale_pull_requests_are_named() {
    let scratch = Scratch::new("edges_named");
    let db = scratch.db();
    import(
        &scratch,
        &db,
        "{\"type\":\"pull_request\",\"repo\":\"acme/shop\",\"number\":5,\"author\":\"ann\",\"title\":\"Big refactor\",\
         \"url\":\"https://git.example/acme/shop/pull/5\",\"created_at\":\"2025-02-03T09:00:00Z\",\
         \"merged_at\":\"2025-02-03T12:00:00Z\",\"additions\":800,\"deletions\":100}\n\
         {\"type\":\"pull_request\",\"repo\":\"acme/shop\",\"number\":6,\"author\":\"bob\",\"title\":\"Forgotten\",\
         \"created_at\":\"2025-02-01T09:00:00Z\"}\n",
    );
    let flow = fulcrum(["--db", s(&db), "flow", "--service", "acme/shop", "--since", "2025-02-01"]).ok().stdout;
    assert!(
        flow.contains("  #5 \"Big refactor\" by ann https://git.example/acme/shop/pull/5 · size 900 lines"),
        "{flow}"
    );
    // Idle since it was opened, 2025-02-01 09:00, until now (2025-03-01).
    assert!(flow.contains("  #6 \"Forgotten\" by bob · idle 27d 15h"), "{flow}");
    let json = fulcrum(["--db", s(&db), "flow", "--service", "acme/shop", "--since", "2025-02-01", "--format", "json"])
        .ok()
        .json();
    assert_eq!(json["named"]["import:pr:acme/shop#5"]["title"], "Big refactor");
}

/// Working agreements in working time: a pull request ready on Friday
/// 16:00 and picked up on Monday 10:00 waited 66 calendar hours (a breach
/// of the one-day pickup target) but 2 working hours of a 09:00–17:00 week
/// (no breach); the report says which clock it used.
#[test]
fn working_agreements_in_working_hours() {
    let scratch = Scratch::new("edges_working_hours");
    let db = scratch.db();
    import(
        &scratch,
        &db,
        "{\"type\":\"pull_request\",\"repo\":\"acme/shop\",\"number\":1,\"author\":\"ann\",\
         \"created_at\":\"2025-01-10T16:00:00Z\",\"merged_at\":\"2025-01-13T12:00:00Z\",\
         \"reviews\":[{\"author\":\"bob\",\"submitted_at\":\"2025-01-13T10:00:00Z\"}]}\n",
    );
    let flow = |config: Option<&str>| {
        let mut args =
            vec!["--db", s(&db), "flow", "--service", "acme/shop", "--since", "2025-01-01", "--format", "json"];
        let path = scratch.path("fulcrum.toml");
        if let Some(text) = config {
            std::fs::write(&path, text).unwrap();
            args.extend(["--config", s(&path)]);
        }
        fulcrum(&args).ok().json()
    };
    let calendar = flow(None);
    assert_eq!(calendar["agreement_clock"], "calendar time");
    assert_eq!(calendar["breaches"][0]["agreement"], "pickup");
    assert_eq!(calendar["breaches"][0]["value"], 66 * 3600);
    let working = flow(Some("[flow]\nworking_hours = \"09:00-17:00\"\nholidays = [\"2025-12-25\"]\n"));
    assert_eq!(working["agreement_clock"], "working hours 09:00–17:00 Mon–Fri, UTC+00:00, 1 holiday");
    assert_eq!(working["breaches"], serde_json::json!([]));
    // Stages stay in calendar time.
    assert_eq!(working["rows"][0]["pickup"], 66 * 3600);
    let bad = scratch.path("bad.toml");
    std::fs::write(&bad, "[flow]\nworking_hours = \"9 to 5\"\n").unwrap();
    fulcrum(["--db", s(&db), "--config", s(&bad), "flow", "--service", "acme/shop"])
        .bad_input(&["flow.working_hours", "HH:MM-HH:MM"]);
}

/// `report --repo A --repo B` rolls two repositories up as one team, each
/// deploying its own commits: delivery in trunk mode has 13 deployments
/// and 11 changes (nine at 0, 7200, 10800 s), notags 3 deployments and 2
/// changes (7200 s each). Together 16 deployments and 13 changes, median 0.
#[test]
fn report_rolls_several_repositories_up_as_a_team() {
    let scratch = Scratch::new("edges_team");
    let (delivery, notags, db) = (repo("delivery"), repo("notags"), scratch.db());
    let report = fulcrum([
        "report",
        "--repo",
        s(&delivery),
        "--repo",
        s(&notags),
        "--db",
        s(&db),
        "--deploy-mode",
        "trunk",
        "--since",
        "2025-01-01",
        "--format",
        "json",
    ])
    .ok()
    .json();
    let dora = &report["dora"];
    assert_eq!(dora["deployment_frequency"]["value"]["deployments"], 16);
    let lead = &dora["lead_time"]["value"]["summary"];
    assert_eq!((lead["count"].clone(), lead["median"].clone()), (json!(13), json!(0.0)));
    assert!(report["repository"]["path"].as_str().unwrap().contains("notags"), "{}", report["repository"]);
    assert_eq!(report["repository"]["totals"]["commits"], 15 + 3);
    assert!(report["deployments_source"].as_str().unwrap().contains("; notags: trunk mode"));
    assert!(report["warnings"].to_string().contains("knowledge section left out of a team roll-up"));
    fulcrum(["knowledge", "--repo", s(&delivery), "--repo", s(&notags), "--db", s(&db)])
        .bad_input(&["takes one --repo"]);
}
