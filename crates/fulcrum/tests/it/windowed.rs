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

/// Seconds since the epoch of day `n` of 2024 at `hour`.
fn at(n: i64, hour: i64) -> i64 {
    1_704_067_200 + n * 86_400 + hour * 3_600
}

/// A year of three services' events built to reach outside any window:
/// pull requests merged, closed, open and reviewed after their merge (up
/// to 100 days later), deployments listing what they ship or only their
/// own commit, a deployment shipping pull requests merged four months
/// before it, failures, and incidents naming deployments, commits and old
/// pull requests.
fn organisation_events() -> String {
    let services = ["shop", "api", "web"];
    let mut lines = Vec::new();
    // (service, merged day, merge commit) of each merged pull request.
    let mut merged: Vec<(usize, i64, String)> = Vec::new();
    for i in 0..360i64 {
        let service = (i % 3) as usize;
        let created = i * 300 / 360;
        let author = if i % 17 == 0 { "renovate[bot]".to_owned() } else { format!("dev{}", i % 5) };
        let reviewer = format!("dev{}", (i + 1) % 5);
        let mut pr = serde_json::json!({
            "type": "pull_request", "repo": format!("acme/{}", services[service]), "number": i + 1,
            "author": author, "created_at": at(created, 9), "additions": 10 + i % 90, "deletions": i % 40,
            "commits": [
                {"sha": format!("c{i}a"), "author": author, "authored_at": at(created - 1, 15)},
                {"sha": format!("c{i}b"), "author": author, "authored_at": at(created, 8)},
            ],
            "reviews": [{"author": reviewer, "submitted_at": at(created + 1, 11), "state": "approved"}],
            "comments": [{"author": reviewer, "created_at": at(created, 14), "kind": "review"}],
        });
        match i % 10 {
            0 => {}
            1 => pr["closed_at"] = at(created + 2, 10).into(),
            _ => {
                let day = created + 1 + i % 7;
                pr["merged_at"] = at(day, 16).into();
                // Some merge commits hold what quoting must keep: a list of
                // them looked up in one statement finds each.
                let commit = if i % 2 == 1 { format!("m{i}\"\\,{{x}} y") } else { format!("m{i}") };
                pr["merge_commit"] = commit.clone().into();
                if i % 13 == 0 {
                    // Reviewed long after its merge: counted where the review falls.
                    pr["reviews"].as_array_mut().unwrap().push(serde_json::json!(
                        {"author": format!("dev{}", (i + 2) % 5), "submitted_at": at(day + 100, 10), "state": "commented"}
                    ));
                }
                merged.push((service, day, commit));
            }
        }
        lines.push(pr.to_string());
    }
    // Every third day each service deploys what was merged since; pull
    // requests numbered 5 modulo 23 wait for one deployment 120 days later.
    let late = |commit: &str| {
        commit[1..].chars().take_while(char::is_ascii_digit).collect::<String>().parse::<i64>().unwrap() % 23 == 5
    };
    for (service, name) in services.iter().enumerate() {
        let mut last = -1;
        for k in 0..110i64 {
            let day = k * 3;
            let shipped: Vec<&String> = merged
                .iter()
                .filter(|(s, d, c)| *s == service && *d > last && *d <= day && !late(c))
                .map(|(_, _, c)| c)
                .collect();
            last = day;
            let Some(head) = shipped.last() else { continue };
            let id = format!("{name}-{k}");
            let mut deployment = serde_json::json!({
                "type": "deployment", "id": id, "repo": format!("acme/{name}"), "service": name,
                "environment": "production", "commit": head, "finished_at": at(day, 18),
                "status": if k % 11 == 7 { "failure" } else { "success" },
            });
            // Some deployments name only their own commit.
            if k % 4 != 0 {
                deployment["commits"] = shipped.iter().map(|c| (*c).clone()).collect::<Vec<String>>().into();
            }
            lines.push(deployment.to_string());
        }
        let waiting: Vec<(i64, &String)> =
            merged.iter().filter(|(s, _, c)| *s == service && late(c)).map(|(_, d, c)| (*d, c)).collect();
        for (n, (day, commit)) in waiting.iter().enumerate() {
            let day = (day + 120).min(330);
            lines.push(
                serde_json::json!({
                    "type": "deployment", "id": format!("{name}-late-{n}"), "repo": format!("acme/{name}"),
                    "service": name, "environment": "production", "commit": commit, "finished_at": at(day, 20),
                    "commits": [commit],
                })
                .to_string(),
            );
        }
        for k in 0..15i64 {
            let day = 10 + k * 20 + service as i64;
            let mut incident = serde_json::json!({
                "type": "incident", "id": format!("INC-{name}-{k}"), "service": name, "title": "down",
                "started_at": at(day, 20), "resolved_at": at(day + k % 3, 23),
            });
            match k % 4 {
                0 => incident["deployment"] = format!("{name}-{}", (day / 3).max(1)).into(),
                // An old pull request, merged months before.
                1 => incident["pull_request"] = format!("acme/{name}#{}", 3 + service).into(),
                2 => {
                    incident["commit"] = merged
                        .iter()
                        .find(|(s, d, _)| *s == service && *d >= day - 5)
                        .map_or(serde_json::Value::Null, |(_, _, c)| c.clone().into())
                }
                _ => {}
            }
            lines.push(incident.to_string());
        }
    }
    lines.join("\n") + "\n"
}

#[test]
fn windowed_event_reads_match_full_reads() {
    let scratch = Scratch::new("windowed_events");
    std::fs::write(scratch.path("org.jsonl"), organisation_events()).unwrap();
    let config = scratch.path("org.toml");
    std::fs::write(
        &config,
        "[[team]]\nname = \"sales\"\nservices = [\"shop\", \"web\"]\n\n[[team]]\nname = \"platform\"\nservices = [\"api\"]\n",
    )
    .unwrap();
    let db = scratch.db();
    let run_in = |args: &[&str], full: bool| {
        let mut all = vec!["--db", s(&db), "--config", s(&config)];
        all.extend_from_slice(args);
        let mut command = command(&all);
        command.current_dir(&scratch.dir).env("FULCRUM_TIMING", "1").env("FULCRUM_NOW", "2025-06-01");
        if full {
            command.env("FULCRUM_FULL_HISTORY", "1");
        }
        let run = run(&mut command).ok();
        (run.json(), run.stderr)
    };
    let mut import = command(["--db", s(&db), "import", s(&scratch.path("org.jsonl"))]);
    run(import.current_dir(&scratch.dir)).ok();
    let mut narrowed = false;
    for (since, until) in [
        ("2024-02-01", "2024-03-01"),
        ("2024-04-15", "2024-07-15"),
        ("2024-06-01", "2024-07-01"),
        ("2024-09-01", "2024-10-01"),
        ("2024-10-01", "2024-12-31"),
        // After every merge: the quiet-window headline counts them all.
        ("2025-03-01", "2025-04-01"),
    ] {
        let window = ["--since", since, "--until", until, "--format", "json"];
        for scope in [
            vec!["report", "--no-knowledge"],
            vec!["report", "--no-knowledge", "--service", "api"],
            vec!["report", "--no-knowledge", "--team", "sales"],
            vec!["flow"],
            vec!["flow", "--service", "shop"],
            vec!["flow", "--team", "sales"],
            vec!["org", "--no-sync"],
        ] {
            let mut args = scope.clone();
            args.extend_from_slice(&window);
            let (mut full, _) = run_in(&args, true);
            let (mut windowed, stderr) = run_in(&args, false);
            for value in [&mut full, &mut windowed] {
                if let Some(object) = value.as_object_mut() {
                    object.remove("now");
                }
            }
            assert_eq!(windowed, full, "{scope:?} {since}..{until}");
            if let Some(read) = stderr.lines().find_map(|l| l.strip_prefix("events: ")) {
                let (part, whole) = read.split_once(" of ").unwrap();
                let whole: usize = whole.split(' ').next().unwrap().parse().unwrap();
                narrowed |= part.parse::<usize>().unwrap() < whole;
            }
        }
    }
    assert!(narrowed, "some window reads fewer pull requests than are stored");
}

/// Teams that partition the organisation (each pull request, deployment
/// and incident in one team, no commit or deployment named by two): the
/// organisation's row is its teams' samples pooled, and says exactly what
/// measuring the organisation whole says (`FULCRUM_ORG_POOL=0`). Teams
/// that overlap, or whose events name each other's commits, are measured
/// whole; the rows are the same either way.
#[test]
fn an_organisation_of_teams_that_partition_it_pools_their_samples() {
    let events = organisation_events();
    let imported = |name: &str, events: &str| {
        let scratch = Scratch::new(name);
        std::fs::write(scratch.path("org.jsonl"), events).unwrap();
        let mut import = command(["--db", s(&scratch.db()), "import", s(&scratch.path("org.jsonl"))]);
        run(import.current_dir(&scratch.dir)).ok();
        scratch
    };
    let scratch = imported("org_pooled", &events);
    let configs = [
        (
            "partition",
            "[[team]]\nname = \"sales\"\nservices = [\"shop\", \"web\"]\n\n[[team]]\nname = \"platform\"\nservices = [\"api\"]\n",
            true,
        ),
        (
            "one team each",
            "[[team]]\nname = \"a\"\nservices = [\"shop\"]\n[[team]]\nname = \"b\"\nservices = [\"web\"]\n\
             [[team]]\nname = \"c\"\nservices = [\"api\"]\n",
            true,
        ),
        (
            "overlapping",
            "[[team]]\nname = \"sales\"\nservices = [\"shop\", \"web\"]\n\n[[team]]\nname = \"all\"\nservices = [\"api\", \"shop\"]\n",
            false,
        ),
    ];
    let org = |scratch: &Scratch, config: &Path, since: &str, until: &str, pool: bool| {
        let db = scratch.db();
        let window = ["org", "--no-sync", "--since", since, "--until", until, "--format", "json"];
        let mut command = command([["--db", s(&db), "--config", s(config)].as_slice(), &window].concat());
        command.current_dir(&scratch.dir).env("FULCRUM_TIMING", "1").env("FULCRUM_NOW", "2025-06-01");
        if !pool {
            command.env("FULCRUM_ORG_POOL", "0");
        }
        let run = run(&mut command).ok();
        let pooled = run.stderr.contains(", pooled");
        (run.json(), pooled)
    };
    let windows = [("2024-02-01", "2024-03-01"), ("2024-04-15", "2024-07-15"), ("2024-01-01", "2024-12-31")];
    for (name, text, partitions) in configs {
        let config = scratch.path(&format!("{}.toml", name.replace(' ', "-")));
        std::fs::write(&config, text).unwrap();
        for (since, until) in windows {
            let (pooled, was_pooled) = org(&scratch, &config, since, until, true);
            let (whole, was_whole) = org(&scratch, &config, since, until, false);
            assert!(!was_whole, "FULCRUM_ORG_POOL=0 measures the organisation whole");
            assert_eq!(was_pooled, partitions, "{name} {since}..{until}");
            assert_eq!(pooled, whole, "{name} {since}..{until}");
            assert!(pooled["organisation"]["deployments"].as_u64().unwrap() > 0, "{pooled}");
            assert!(pooled["organisation"]["lead_time"].as_f64().is_some(), "{pooled}");
        }
    }
    // Teams naming each other's events: a deployment of `api` listing the
    // commit a `shop` pull request merged (the organisation's first
    // deployment of it may be another team's), an incident of `api`
    // naming a deployment of `shop`, or one naming a pull request of
    // `shop`. Each alone makes the organisation measured whole.
    let commit = events.lines().find_map(|line| {
        let value: Value = serde_json::from_str(line).unwrap();
        (value["repo"] == "acme/shop" && value["type"] == "pull_request")
            .then(|| value["merge_commit"].as_str().map(str::to_owned))
            .flatten()
    });
    let commit = commit.expect("a merged shop pull request");
    let borrowings = [
        serde_json::json!({
            "type": "deployment", "id": "api-borrowed", "repo": "acme/api", "service": "api",
            "environment": "production", "commit": "api-own", "finished_at": at(2, 18), "commits": [commit],
        }),
        serde_json::json!({
            "type": "incident", "id": "INC-api-named", "service": "api", "title": "down",
            "started_at": at(40, 20), "resolved_at": at(41, 1), "deployment": "shop-12",
        }),
        serde_json::json!({
            "type": "incident", "id": "INC-api-pr", "service": "api", "title": "down",
            "started_at": at(40, 20), "resolved_at": at(41, 1), "pull_request": "acme/shop#4",
        }),
    ];
    for (n, borrowing) in borrowings.iter().enumerate() {
        let scratch = imported(&format!("org_pooled_{n}"), &format!("{events}{borrowing}\n"));
        let config = scratch.path("partition.toml");
        std::fs::write(&config, configs[0].1).unwrap();
        for (since, until) in windows {
            let (pooled, was_pooled) = org(&scratch, &config, since, until, true);
            let (whole, _) = org(&scratch, &config, since, until, false);
            assert!(!was_pooled, "{borrowing}: teams naming each other's events are not pooled ({since}..{until})");
            assert_eq!(pooled, whole, "{borrowing} {since}..{until}");
        }
    }
}

/// Events for [`an_organisation_reads_the_deployments_its_window_needs`]:
/// three services (teams alpha, beta, gamma) whose deployments are all
/// listed, with what reaches from a window of 2024-10-01..2024-12-31 (days
/// 274..365) to deployments long before it:
/// - alpha: 30 pull requests shipped on day 101 and shipped again on day
///   300 (a change belongs to the earliest deployment listing it); an
///   incident naming the deployment of day 200 and one naming a commit
///   shipped on day 152, both resolved in the window;
/// - beta (a deployment every 10 days): an incident started before the
///   window, resolved in it, linked by time to the deployment of day 262;
///   a deployment of day 102 named by an incident resolved in the window,
///   and one of day 105 that an incident still open is linked to by time;
/// - gamma: deployments in its first 100 days only, pull requests merged
///   in the window (its cycle still ends at a deployment);
/// - delta: three failed deployments in its first month, nothing else (it
///   has data to report on, none of it in the window);
/// - epsilon: pull requests merged in its first months, never deployed,
///   and deployments from day 293 on (in the window, which its data starts
///   before: every week of the window counts);
/// - zeta: one deployment, in the window, of a merge commit that two pull
///   requests name (merged on days 290 and 200), and a pull request merged
///   on day 10 that no deployment ships: its data starts before the window.
fn reaching_events() -> String {
    let mut lines = Vec::new();
    let pr = |service: &str, number: i64, merged: i64, commit: &str| {
        serde_json::json!({
            "type": "pull_request", "repo": format!("acme/{service}"), "number": number,
            "author": format!("dev{}", number % 4), "created_at": at(merged - 1, 9),
            "commits": [{"sha": format!("{commit}-c"), "author": format!("dev{}", number % 4),
                         "authored_at": at(merged - 1, 8)}],
            "reviews": [{"author": format!("dev{}", (number + 1) % 4), "submitted_at": at(merged - 1, 15),
                         "state": "approved"}],
            "merged_at": at(merged, 10), "merge_commit": commit,
        })
        .to_string()
    };
    let deployment = |service: &str, id: &str, day: i64, hour: i64, commits: &[String]| {
        serde_json::json!({
            "type": "deployment", "id": id, "repo": format!("acme/{service}"), "service": service,
            "environment": "production", "commit": commits.last().unwrap(), "finished_at": at(day, hour),
            "commits": commits,
        })
        .to_string()
    };
    let incident = |service: &str, id: &str, started: (i64, i64), resolved: Option<(i64, i64)>| {
        serde_json::json!({
            "type": "incident", "id": id, "service": service, "title": "down",
            "started_at": at(started.0, started.1), "resolved_at": resolved.map(|(d, h)| at(d, h)),
        })
    };
    // alpha: a pull request merged every other day, deployed every 4 days.
    let mut number = 0;
    let mut pending: Vec<String> = Vec::new();
    for day in 1..362i64 {
        if day % 2 == 1 {
            number += 1;
            let commit = format!("a{number}");
            lines.push(pr("a", number, day, &commit));
            pending.push(commit);
        }
        if day == 100 {
            for k in 0..30 {
                let commit = format!("a-again-{k}");
                lines.push(pr("a", 1000 + k, day, &commit));
                pending.push(commit);
            }
        }
        if day % 4 == 1 && !pending.is_empty() {
            lines.push(deployment("a", &format!("a-{day}"), day, 12, &pending));
            pending.clear();
        }
    }
    let again: Vec<String> = (0..30).map(|k| format!("a-again-{k}")).collect();
    lines.push(deployment("a", "a-redeploy", 300, 18, &again));
    let mut named = incident("a", "INC-a-named", (230, 9), Some((280, 9)));
    named["deployment"] = "a-201".into();
    lines.push(named.to_string());
    let mut by_commit = incident("a", "INC-a-commit", (240, 9), Some((285, 9)));
    by_commit["commit"] = "a75".into();
    lines.push(by_commit.to_string());
    lines.push(incident("a", "INC-a-window", (310, 9), Some((311, 9))).to_string());
    // beta: a pull request every 5 days, deployed every 10 days.
    let mut pending: Vec<String> = Vec::new();
    for day in 1..362i64 {
        if day % 5 == 0 {
            let commit = format!("b{day}");
            lines.push(pr("b", day, day, &commit));
            pending.push(commit);
        }
        if day % 10 == 2 && !pending.is_empty() {
            lines.push(deployment("b", &format!("b-{day}"), day, 12, &pending));
            pending.clear();
        }
    }
    lines.push(pr("b", 1105, 104, "b-extra"));
    lines.push(deployment("b", "b-extra", 105, 12, &["b-extra".to_owned()]));
    lines.push(incident("b", "INC-b-before", (266, 12), Some((276, 9))).to_string());
    let mut named = incident("b", "INC-b-named", (103, 9), Some((290, 9)));
    named["deployment"] = "b-102".into();
    lines.push(named.to_string());
    lines.push(incident("b", "INC-b-open", (108, 9), None).to_string());
    // gamma: deployed in its first 100 days only.
    for n in 0..60i64 {
        let day = if n < 30 { 1 + n * 3 } else { 280 + (n - 30) };
        let commit = format!("g{n}");
        lines.push(pr("g", n + 1, day, &commit));
        if day < 100 {
            lines.push(deployment("g", &format!("g-{day}"), day + 1, 12, &[commit]));
        }
    }
    for n in 0..20i64 {
        lines.push(pr("e", n + 1, 10 + 2 * n, &format!("e-old-{n}")));
    }
    let mut shipped: Vec<String> = Vec::new();
    for n in 0..12i64 {
        let day = 290 + n;
        let commit = format!("e-new-{n}");
        lines.push(pr("e", 100 + n, day, &commit));
        shipped.push(commit);
        if day % 4 == 1 {
            lines.push(deployment("e", &format!("e-{day}"), day, 18, &shipped));
            shipped.clear();
        }
    }
    lines.push(pr("z", 1, 10, "z-old"));
    lines.push(pr("z", 2, 290, "z-m"));
    lines.push(pr("z", 3, 200, "z-m"));
    lines.push(deployment("z", "z-295", 295, 12, &["z-m".to_owned()]));
    for day in [10, 20, 30] {
        let mut failed: Value =
            serde_json::from_str(&deployment("f", &format!("f-{day}"), day, 12, &[format!("f{day}")])).unwrap();
        failed["status"] = "failure".into();
        lines.push(failed.to_string());
    }
    lines.join("\n") + "\n"
}

/// An organisation's view reads the deployments of its window (from the
/// longest incident link window before it), the pinned ones (a commit
/// listed twice, a group's first), and the older ones its incidents need,
/// and its rows say exactly what reading every deployment says.
#[test]
fn an_organisation_reads_the_deployments_its_window_needs() {
    let scratch = Scratch::new("org_windowed_deployments");
    std::fs::write(scratch.path("org.jsonl"), reaching_events()).unwrap();
    let config = scratch.path("org.toml");
    std::fs::write(
        &config,
        "[[team]]\nname = \"alpha\"\nservices = [\"a\"]\n\n[[team]]\nname = \"beta\"\nservices = [\"b\"]\n\n\
         [[team]]\nname = \"gamma\"\nservices = [\"g\"]\n\n[[team]]\nname = \"delta\"\nservices = [\"f\"]\n\n[[team]]\nname = \"epsilon\"\nservices = [\"e\"]\n\n[[team]]\nname = \"zeta\"\nservices = [\"z\"]\n",
    )
    .unwrap();
    let db = scratch.db();
    let mut import = command(["--db", s(&db), "import", s(&scratch.path("org.jsonl"))]);
    run(import.current_dir(&scratch.dir)).ok();
    // Another source's failed deployment in the window with the id alpha's
    // incident names (which names the counted one, of day 201).
    let failed = serde_json::json!({
        "type": "deployment", "id": "a-201", "repo": "acme/a", "service": "a", "environment": "production",
        "commit": "a-ci", "finished_at": at(300, 9), "status": "failure", "commits": ["a-ci"],
    });
    std::fs::write(scratch.path("ci.jsonl"), format!("{failed}\n")).unwrap();
    let mut import = command(["--db", s(&db), "import", "--source", "ci", s(&scratch.path("ci.jsonl"))]);
    run(import.current_dir(&scratch.dir)).ok();
    let org = |full: bool| {
        let mut command = command([
            "--db",
            s(&db),
            "--config",
            s(&config),
            "org",
            "--no-sync",
            "--since",
            "2024-10-01",
            "--until",
            "2024-12-31",
            "--format",
            "json",
        ]);
        command.current_dir(&scratch.dir).env("FULCRUM_TIMING", "1").env("FULCRUM_NOW", "2025-06-01");
        if full {
            command.env("FULCRUM_FULL_HISTORY", "1");
        }
        let run = run(&mut command).ok();
        (run.json(), run.stderr)
    };
    let (full, _) = org(true);
    let (windowed, stderr) = org(false);
    assert_eq!(windowed, full);
    // The read was narrowed: from a week before the window, and fewer
    // deployments than the 166 stored.
    let line = stderr.lines().find(|l| l.contains("deployments: from")).expect("a windowed read of deployments");
    assert!(line.contains("deployments: from 2024-09-24T00:00:00Z"), "{line}");
    let read: usize = line.split(" deployments: from").next().unwrap().rsplit('(').next().unwrap().parse().unwrap();
    assert!(read < 80, "{line}");
    // What each rule keeps shows in the rows.
    let team = |name: &str| full["teams"].as_array().unwrap().iter().find(|t| t["team"] == name).unwrap().clone();
    let (alpha, beta, gamma, delta) = (team("alpha"), team("beta"), team("gamma"), team("delta"));
    let days = |value: &Value| value.as_f64().unwrap() / 86_400.0;
    // Alpha's changes shipped again on day 300 belong to day 101: its lead
    // time is days, not months; its recoveries end in the window.
    assert!(days(&alpha["lead_time"]) < 5.0, "{alpha}");
    assert!(days(&alpha["recovery_time"]) > 30.0, "{alpha}");
    // Beta's recoveries: 13.9 days (linked by time to day 262, before the
    // window) and 187.9 days (the deployment of day 102, which the open
    // incident is not linked to: it started after day 105's).
    assert!((days(&beta["recovery_time"]) - (13.875 + 187.875) / 2.0).abs() < 0.001, "{beta}");
    // Gamma's pull requests merged in the window wait for a deployment.
    assert_eq!(gamma["merged_pull_requests"], Value::Null, "{gamma}");
    // Epsilon's data starts before the window: its deployments per week
    // count every week of the window (13 weeks from Monday 2024-09-30).
    let epsilon = team("epsilon");
    assert_eq!(epsilon["deployments"], 3, "{epsilon}");
    assert!((epsilon["deployments_per_week"].as_f64().unwrap() - 3.0 / 13.0).abs() < 1e-9, "{epsilon}");
    let zeta = team("zeta");
    assert!((zeta["deployments_per_week"].as_f64().unwrap() - 1.0 / 13.0).abs() < 1e-9, "{zeta}");
    // Delta has nothing in the window to measure, and data to say so.
    assert_eq!(delta["deployments"], Value::Null, "{delta}");
    assert_eq!(delta["notes"], serde_json::json!([]), "{delta}");
}
