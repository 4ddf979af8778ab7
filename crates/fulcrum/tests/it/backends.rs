//! PostgreSQL as a store: the same answers as SQLite for the same data, a
//! laptop's SQLite database migrated with its history, and the failures a
//! server adds (unreachable, wrong password, no such database, a
//! connection lost mid-sync) named with what to do.
//!
//! These need a server (`FULCRUM_TEST_POSTGRES`; `scripts/test.sh` starts
//! one); without it they say so and pass. SQLite's side is reached through
//! `FULCRUM_DB`, which the harness leaves alone (it maps only `--db`).

use std::path::Path;
use std::time::Duration;

use crate::harness::*;

/// A fresh database of its own on the test server, for tests that need one
/// (a schema is not enough: connections are told apart by database).
fn own_database(name: &str) -> String {
    let base = postgres().unwrap();
    let mut admin = postgres::Client::connect(base, postgres::NoTls).unwrap();
    let database = format!("{name}_{}", std::process::id());
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)")).unwrap();
    admin.batch_execute(&format!("CREATE DATABASE {database}")).unwrap();
    with_database(base, &database)
}

/// `base` with its database replaced by `database`.
fn with_database(base: &str, database: &str) -> String {
    let (address, query) = base.split_once('?').map_or((base, None), |(a, q)| (a, Some(q)));
    let (server, _) = address.rsplit_once('/').unwrap();
    match query {
        Some(query) => format!("{server}/{database}?{query}"),
        None => format!("{server}/{database}"),
    }
}

/// `fulcrum ARGS` on the database `url` (or SQLite file), named by FULCRUM_DB.
fn on(db: &str, args: &[&str]) -> Run {
    run(command(args).env("FULCRUM_DB", db))
}

/// The JSON the four analyses print for `repo` on `db`.
fn answers(db: &str, repo: &Path) -> Vec<serde_json::Value> {
    let window = ["--since", "2024-01-01", "--until", "2025-03-01"];
    let mut out = Vec::new();
    for command in [
        &["report", "--repo", s(repo), "--no-sync", "--deploy-mode", "trunk"][..],
        &["flow"],
        &["knowledge", "--repo", s(repo), "--no-sync"],
        &["hotspots", "--repo", s(repo), "--no-sync"],
    ] {
        let mut args = command.to_vec();
        if command[0] != "knowledge" {
            args.extend_from_slice(&window);
        }
        args.extend_from_slice(&["--format", "json"]);
        out.push(on(db, &args).ok().json());
    }
    out
}

/// Git history and events into `db`.
fn fill(db: &str, scratch: &Scratch, repo: &Path) {
    on(db, &["sync", "--repo", s(repo)]).ok();
    std::fs::write(scratch.path("events.jsonl"), crate::events::EVENTS).unwrap();
    on(db, &["import", s(&scratch.path("events.jsonl"))]).ok();
}

fn skip(test: &str) -> bool {
    let skip = postgres().is_none();
    if skip {
        eprintln!("{test}: needs FULCRUM_TEST_POSTGRES (scripts/test.sh starts a server); not run");
    }
    skip
}

#[test]
fn the_same_data_gives_the_same_answers_on_both_backends() {
    if skip("the_same_data_gives_the_same_answers_on_both_backends") {
        return;
    }
    let scratch = Scratch::new("postgres_same_answers");
    let team = repo("team");
    let sqlite = scratch.path("laptop.sqlite");
    let postgres = database(&scratch.db());
    fill(s(&sqlite), &scratch, &team);
    fill(&postgres, &scratch, &team);
    let (on_sqlite, on_postgres) = (answers(s(&sqlite), &team), answers(&postgres, &team));
    for (a, b) in on_sqlite.iter().zip(&on_postgres) {
        assert_eq!(a, b);
    }
    // Not vacuous: commits, deployments, pull requests and files were read.
    assert!(on_sqlite[0]["repository"]["totals"]["commits"].as_u64().unwrap() > 10, "{}", on_sqlite[0]);
    assert!(!on_sqlite[1]["rows"].as_array().unwrap().is_empty(), "{}", on_sqlite[1]);
    assert!(!on_sqlite[2]["files"].as_array().unwrap().is_empty(), "{}", on_sqlite[2]);
}

#[test]
fn a_laptop_database_migrates_with_its_history() {
    if skip("a_laptop_database_migrates_with_its_history") {
        return;
    }
    let scratch = Scratch::new("postgres_migrate");
    let team = repo("team");
    let sqlite = scratch.path("laptop.sqlite");
    fill(s(&sqlite), &scratch, &team);
    on(s(&sqlite), &["token", "add", "ci", "--scope", "events:write"]).ok();
    let target = database(&scratch.db());
    let migrated = fulcrum(["migrate", "--from", s(&sqlite), "--to", &target]).ok();
    assert!(migrated.stderr.contains("commits: "), "{}", migrated.stderr);
    assert!(migrated.stderr.contains(&format!("to {target}")), "{}", migrated.stderr);
    assert_eq!(answers(s(&sqlite), &team), answers(&target, &team));
    let tokens = |db: &str| on(db, &["token", "list"]).ok().stdout;
    assert_eq!(tokens(s(&sqlite)), tokens(&target));
    // Twice: refused, nothing changed.
    fulcrum(["migrate", "--from", s(&sqlite), "--to", &target]).bad_input(&[
        &target,
        "already holds data",
        "migrate into an empty database",
    ]);
    assert_eq!(answers(s(&sqlite), &team), answers(&target, &team));
    // The copy goes on: a sync has nothing new, and new rows take new ids.
    assert!(on(&target, &["sync", "--repo", s(&team)]).ok().stderr.contains("up to date"));
    let more = r#"{"type":"deployment","id":"after-migration","service":"shop","commit":"a9","finished_at":"2025-02-20T10:00:00Z"}"#;
    std::fs::write(scratch.path("more.jsonl"), format!("{more}\n")).unwrap();
    on(&target, &["import", s(&scratch.path("more.jsonl"))]).ok();
    assert_eq!(open_db(&scratch.db()).count("deployments"), open_db_at(&sqlite).count("deployments") + 1);
    // From nothing: refused.
    fulcrum(["migrate", "--from", s(&scratch.path("missing.sqlite")), "--to", &target])
        .bad_input(&["no database here"]);
}

/// The SQLite file itself, whichever backend the suite runs on.
fn open_db_at(path: &Path) -> TestDb {
    TestDb::Sqlite(rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap())
}

#[test]
fn servers_that_cannot_be_used_are_named_with_what_to_do() {
    if skip("servers_that_cannot_be_used_are_named_with_what_to_do") {
        return;
    }
    let delivery = repo("delivery");
    // Nothing listens on port 1.
    let nowhere = "postgres://fulcrum@127.0.0.1:1/fulcrum";
    on(nowhere, &["sync", "--repo", s(&delivery)]).bad_input(&[nowhere, "check that PostgreSQL runs"]);
    // TLS that may fall back to an unverified or clear connection: refused before connecting.
    let base = postgres().unwrap().split('?').next().unwrap().to_owned();
    on(&format!("{base}?sslmode=prefer"), &["sync", "--repo", s(&delivery)])
        .bad_input(&["sslmode=prefer would fall back", "sslmode=require"]);
    // No such database.
    let missing = with_database(postgres().unwrap(), "no_such_database");
    on(&missing, &["sync", "--repo", s(&delivery)]).bad_input(&["no_such_database", "createdb"]);
    // Not a URL it can read.
    on("postgres://fulcrum@127.0.0.1:notaport/x", &["report", "--repo", s(&delivery)])
        .bad_input(&["not a PostgreSQL URL", "postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE"]);
    // A wrong password (scripts/test-postgres.sh makes the role `fulcrum_secret`, password `right-password`).
    let mut admin = postgres::Client::connect(postgres().unwrap(), postgres::NoTls).unwrap();
    let has_role = admin
        .query_one("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'fulcrum_secret')", &[])
        .unwrap()
        .get::<_, bool>(0);
    if has_role {
        let url = postgres().unwrap().replacen("postgres://fulcrum@", "postgres://fulcrum_secret:wrong-password@", 1);
        let run = on(&url, &["sync", "--repo", s(&delivery)]).bad_input(&["check the user and password"]);
        assert!(!run.stderr.contains("wrong-password"), "the password is never shown: {}", run.stderr);
        assert!(run.stderr.contains("fulcrum_secret:***@"), "{}", run.stderr);
    } else {
        eprintln!("no role fulcrum_secret on this server: the wrong-password case is not run");
    }
}

#[test]
fn a_connection_lost_mid_sync_resumes_like_a_killed_sync() {
    if skip("a_connection_lost_mid_sync_resumes_like_a_killed_sync") {
        return;
    }
    let scratch = Scratch::new("postgres_lost");
    let delivery = scratch.copy_repo("delivery");
    let reference = database(&scratch.db());
    on(&reference, &["sync", "--repo", s(&delivery)]).ok();
    let url = own_database("fulcrum_lost");
    let database_name = url.rsplit('/').next().unwrap().split('?').next().unwrap().to_owned();
    let slow = command(["sync", "--repo", s(&delivery), "--batch-size", "2", "--threads", "1"])
        .env("FULCRUM_DB", &url)
        .env("FULCRUM_TEST_BATCH_DELAY_MS", "200")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let started = std::time::Instant::now();
    loop {
        let stored: i64 = admin
            .query_one(
                "SELECT CASE WHEN to_regclass('commits') IS NULL THEN 0 ELSE (SELECT COUNT(*) FROM commits) END",
                &[],
            )
            .map(|row| row.get(0))
            .unwrap_or(0);
        if stored > 0 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the slow sync stored nothing");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The server drops every connection of the sync (as a restart or a network cut would).
    admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            &[&database_name],
        )
        .unwrap();
    let output = slow.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("run the command again"), "{stderr}");
    let stored: i64 = admin.query_one("SELECT COUNT(*) FROM commits", &[]).unwrap().get(0);
    assert!(stored > 0 && stored < 15 && stored % 2 == 0, "whole batches only: {stored}");
    // Run again: the same database as one uninterrupted sync.
    on(&url, &["sync", "--repo", s(&delivery)]).ok();
    let rows = |db: &str| -> Vec<String> {
        let mut client = postgres::Client::connect(db, postgres::NoTls).unwrap();
        let mut rows: Vec<String> = client
            .query("SELECT sha || ' ' || parents || ' ' || subject FROM commits", &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        rows.extend(
            client
                .query(
                    "SELECT c.sha || ' ' || p.path || ' ' || f.kind FROM file_changes f
                     JOIN commits c ON c.id = f.commit_id JOIN paths p ON p.id = f.path_id",
                    &[],
                )
                .unwrap()
                .iter()
                .map(|r| r.get::<_, String>(0)),
        );
        rows.sort();
        rows
    };
    assert_eq!(rows(&url), rows(&reference));
    assert_eq!(
        on(&url, &["report", "--repo", s(&delivery), "--no-sync", "--format", "json"]).ok().json()["dora"],
        on(&reference, &["report", "--repo", s(&delivery), "--no-sync", "--format", "json"]).ok().json()["dora"]
    );
}

/// TLS to PostgreSQL: with `sslmode=require` the certificate is verified
/// against `sslrootcert` (the test cluster's own authority) or Mozilla's
/// roots, and a certificate fulcrum cannot verify is refused with what to do.
#[test]
fn tls_to_postgresql_verifies_the_server() {
    if skip("tls_to_postgresql_verifies_the_server") {
        return;
    }
    let Ok(ca) = std::env::var("FULCRUM_TEST_POSTGRES_CA") else {
        eprintln!(
            "tls_to_postgresql_verifies_the_server: needs FULCRUM_TEST_POSTGRES_CA (scripts/test.sh sets it); not run"
        );
        return;
    };
    let scratch = Scratch::new("backends_tls");
    std::fs::write(scratch.path("events.jsonl"), crate::events::EVENTS).unwrap();
    let events = scratch.path("events.jsonl");
    // A schema of its own (`database` makes it), reached over TLS.
    let plain = database(&scratch.db());
    let secured = format!("{plain}&sslmode=require&sslrootcert={ca}");
    on(&secured, &["import", s(&events)]).ok();
    let flow = on(&secured, &["flow", "--since", "2025-01-01", "--format", "json"]).ok().json();
    assert_eq!(flow["stored_pull_requests"], 4);
    // The same server in the clear gives the same answer.
    assert_eq!(on(&plain, &["flow", "--since", "2025-01-01", "--format", "json"]).ok().json(), flow);
    // Without the authority: Mozilla's roots do not know it.
    on(&format!("{plain}&sslmode=require"), &["flow"]).bad_input(&["UnknownIssuer", "sslrootcert=PATH"]);
    // Not a certificate file.
    on(&format!("{plain}&sslmode=require&sslrootcert={}", s(&events)), &["flow"]).bad_input(&["sslrootcert=", "PEM"]);
    // The authority alone, without sslmode: a mistake, said so.
    on(&format!("{plain}&sslrootcert={ca}"), &["flow"]).bad_input(&["without sslmode=require"]);
}

/// A large import into PostgreSQL drops the events tables' secondary
/// indexes and builds the same ones at its end; those a killed import left
/// out are built by the next command that opens the database for writing.
#[test]
fn a_large_import_builds_its_indexes_again_on_postgres() {
    if skip("a_large_import_builds_its_indexes_again_on_postgres") {
        return;
    }
    let scratch = Scratch::new("postgres_deferred_indexes");
    let db = database(&scratch.db());
    let small = scratch.path("small.jsonl");
    std::fs::write(&small, crate::events::EVENTS).unwrap();
    on(&db, &["import", s(&small)]).ok();
    let mut client = postgres::Client::connect(&db, postgres::NoTls).unwrap();
    let indexes = |client: &mut postgres::Client| -> Vec<String> {
        client
            .query("SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY indexname", &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    };
    let all = indexes(&mut client);
    let merge_commit: Vec<&String> = all.iter().filter(|d| d.contains("pull_requests_merge_commit")).collect();
    assert_eq!(merge_commit.len(), 1, "{all:?}");
    // The events, then 21 MiB of blanks: lines enough to come for the
    // indexes to wait (the file's size is what an import estimates by).
    let mut text = crate::events::EVENTS.to_owned();
    text.push_str(&" ".repeat(21 << 20));
    text.push('\n');
    let big = scratch.path("big.jsonl");
    std::fs::write(&big, text).unwrap();
    let imported = run(command(["import", s(&big)]).env("FULCRUM_DB", &db).env("FULCRUM_TIMING", "1")).ok();
    assert!(imported.stderr.contains("indexes built in"), "{}", imported.stderr);
    assert!(!imported.stderr.contains("none deferred"), "{}", imported.stderr);
    assert_eq!(indexes(&mut client), all);

    // Killed between the two: the definition kept, the index gone.
    let kept = serde_json::to_string(&[merge_commit[0]]).unwrap();
    client.batch_execute("DROP INDEX pull_requests_merge_commit").unwrap();
    client.execute("INSERT INTO meta (key, value) VALUES ('deferred_indexes', $1)", &[&kept]).unwrap();
    assert_eq!(indexes(&mut client).len(), all.len() - 1);
    on(&db, &["import", s(&small)]).ok();
    assert_eq!(indexes(&mut client), all);
    let left: i64 = client.query_one("SELECT COUNT(*) FROM meta WHERE key = 'deferred_indexes'", &[]).unwrap().get(0);
    assert_eq!(left, 0);
}

/// `events` imported into a fresh SQLite file and a fresh PostgreSQL
/// database, then each of `commands` run on both over January 2025 with
/// `config`: the JSON answers on SQLite, those on PostgreSQL, and the
/// PostgreSQL database's URL.
fn january_on_both(
    scratch: &Scratch,
    events: &Path,
    config: &Path,
    commands: &[&[&str]],
) -> ([Vec<serde_json::Value>; 2], String) {
    let sqlite = scratch.path("laptop.sqlite");
    let postgres = database(&scratch.db());
    let window = ["--since", "2025-01-01", "--until", "2025-02-01", "--format", "json", "--config", s(config)];
    let answers = [s(&sqlite), postgres.as_str()].map(|db| {
        on(db, &["import", s(events)]).ok();
        commands.iter().map(|command| on(db, &[*command, &window[..]].concat()).ok().json()).collect()
    });
    (answers, postgres)
}

/// A team whose pull requests lie scattered among other teams' (PostgreSQL
/// numbers every row from one sequence: a window's ids fall in many short
/// ranges, read by lists of ids there) reads the same window on both
/// backends: its report and flow agree.
#[test]
fn a_scattered_teams_window_reads_the_same_on_both_backends() {
    if skip("a_scattered_teams_window_reads_the_same_on_both_backends") {
        return;
    }
    let scratch = Scratch::new("postgres_scattered_team");
    // 120 repositories of 25 pull requests; team "a" has every sixth. An
    // import stores by repository, so "a"'s ids are 20 runs 125 apart.
    let mut lines = String::new();
    let mut deployments = 0;
    for r in 0..120 {
        for n in 1..=25 {
            let day = 1 + n % 28;
            lines.push_str(&format!(
                r#"{{"type":"pull_request","repo":"acme/r{r:03}","number":{n},"author":"dev{}","created_at":"2025-01-{day:02}T09:00:00Z","merged_at":"2025-01-{day:02}T15:00:00Z","merge_commit":"m{r}-{n}","additions":10,"deletions":2,"commits":[{{"sha":"c{r}-{n}","author":"dev","authored_at":"2025-01-{day:02}T08:00:00Z"}}],"reviews":[{{"author":"rev{}","submitted_at":"2025-01-{day:02}T12:00:00Z","state":"approved"}}]}}"#,
                n % 5,
                n % 3
            ));
            lines.push('\n');
            if n % 5 == 0 {
                deployments += 1;
                lines.push_str(&format!(
                    r#"{{"type":"deployment","id":"d{deployments}","repo":"acme/r{r:03}","service":"r{r:03}","environment":"production","commit":"m{r}-{n}","finished_at":"2025-01-{day:02}T18:00:00Z","status":"success","commits":["m{r}-{n}","m{r}-{}"]}}"#,
                    n - 1
                ));
                lines.push('\n');
            }
        }
    }
    let events = scratch.path("scattered.jsonl");
    std::fs::write(&events, lines).unwrap();
    let services = |team: usize| {
        (0..120).filter(|r| (r % 6 == 0) == (team == 0)).map(|r| format!("\"r{r:03}\"")).collect::<Vec<_>>().join(", ")
    };
    let config = scratch.path("org.toml");
    std::fs::write(
        &config,
        format!(
            "[[team]]\nname = \"a\"\nservices = [{}]\n\n[[team]]\nname = \"b\"\nservices = [{}]\n",
            services(0),
            services(1)
        ),
    )
    .unwrap();
    let commands: [&[&str]; 2] = [&["report", "--team", "a", "--no-knowledge"], &["flow", "--team", "a"]];
    let (answers, postgres) = january_on_both(&scratch, &events, &config, &commands);
    assert_eq!(answers[0], answers[1]);
    // Not vacuous: on PostgreSQL "a"'s ids lie in more runs than it reads by ranges.
    let mut client = postgres::Client::connect(&postgres, postgres::NoTls).unwrap();
    let ids: Vec<i64> = client
        .query("SELECT id FROM pull_requests WHERE (substr(repo, 7)::int % 6) = 0 ORDER BY id", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(ids.len(), 500);
    let runs = 1 + ids.windows(2).filter(|w| w[1] - w[0] > 64).count();
    assert!(runs > 16, "{runs} runs of ids");
    let (report, flow) = (&answers[0][0], &answers[0][1]);
    assert!(!flow["rows"].as_array().unwrap().is_empty(), "{flow}");
    assert!(report.to_string().contains("deploy"), "{report}");
}

/// Pull requests merged before a team's window whose merge commits a
/// deployment inside it ships count in its report on both backends: found
/// on PostgreSQL by reading the team's rows before the window (a team with
/// few rows against the commits shipped) or by looking each shipped commit
/// up (a team with many old rows and few deployments).
#[test]
fn rows_before_a_teams_window_that_its_deployments_ship_count_on_both_backends() {
    if skip("rows_before_a_teams_window_that_its_deployments_ship_count_on_both_backends") {
        return;
    }
    let scratch = Scratch::new("postgres_shipped_before");
    let pr = |repo: &str, n: usize, day: &str, merge: &str| {
        format!(
            r#"{{"type":"pull_request","repo":"acme/{repo}","number":{n},"author":"dev","created_at":"{day}T09:00:00Z","merged_at":"{day}T15:00:00Z","merge_commit":"{merge}","additions":10,"deletions":2,"commits":[{{"sha":"c-{merge}","author":"dev","authored_at":"{day}T08:00:00Z"}}]}}"#
        ) + "\n"
    };
    let deployment = |id: &str, repo: &str, day: &str, commits: &[String]| {
        let list = commits.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(",");
        format!(
            r#"{{"type":"deployment","id":"{id}","repo":"acme/{repo}","service":"{repo}","environment":"production","commit":"{}","finished_at":"{day}T18:00:00Z","status":"success","commits":[{list}]}}"#,
            commits[commits.len() - 1]
        ) + "\n"
    };
    let mut lines = String::new();
    // Team "many": four repositories, each with ten pull requests in the
    // window shipped two at a time, three merged in November shipped in
    // January, two merged in November never shipped.
    for r in 0..4 {
        let repo = format!("many{r}");
        for n in 1..=10 {
            lines += &pr(&repo, n, &format!("2025-01-{:02}", 2 + n), &format!("{repo}-{n}"));
            if n % 2 == 0 {
                let shipped = [format!("{repo}-{}", n - 1), format!("{repo}-{n}")];
                lines += &deployment(&format!("{repo}-d{n}"), &repo, &format!("2025-01-{:02}", 2 + n), &shipped);
            }
        }
        let old: Vec<String> = (1..=3).map(|k| format!("{repo}-old{k}")).collect();
        for (k, merge) in old.iter().enumerate() {
            lines += &pr(&repo, 100 + k, "2024-11-10", merge);
        }
        lines += &pr(&repo, 200, "2024-11-11", &format!("{repo}-unshipped1"));
        lines += &pr(&repo, 201, "2024-11-12", &format!("{repo}-unshipped2"));
        lines += &deployment(&format!("{repo}-late"), &repo, "2025-01-20", &old);
    }
    // Team "few": one repository of 300 old pull requests, one of them
    // shipped in January, and nothing else.
    for n in 1..=300 {
        lines += &pr("few", n, "2024-10-15", &format!("few-{n}"));
    }
    lines += &deployment("few-late", "few", "2025-01-21", &["few-7".to_owned()]);
    // Repositories of no team: a team keeps few of the repositories (so
    // PostgreSQL selects its window in SQL).
    for r in 0..12 {
        lines += &pr(&format!("other{r}"), 1, "2025-01-05", &format!("other{r}-1"));
    }
    let events = scratch.path("shipped-before.jsonl");
    std::fs::write(&events, lines).unwrap();
    let config = scratch.path("org.toml");
    std::fs::write(
        &config,
        "[[team]]\nname = \"many\"\nservices = [\"many0\", \"many1\", \"many2\", \"many3\"]\n\n\
         [[team]]\nname = \"few\"\nservices = [\"few\"]\n",
    )
    .unwrap();
    let commands: [&[&str]; 2] =
        [&["report", "--team", "many", "--no-knowledge"], &["report", "--team", "few", "--no-knowledge"]];
    let (answers, _) = january_on_both(&scratch, &events, &config, &commands);
    assert_eq!(answers[0], answers[1]);
    // Not vacuous: each team's lead times hold its November merges (two
    // months old when shipped), twelve of "many"'s 52 changes and "few"'s one.
    let lead = |report: &serde_json::Value| report["dora"]["lead_time"]["value"]["summary"].clone();
    let (many, few) = (lead(&answers[0][0]), lead(&answers[0][1]));
    let days = |value: &serde_json::Value, field: &str| value[field].as_f64().unwrap() / 86_400.0;
    assert_eq!(many["count"], 52, "{many}");
    assert!(days(&many, "p90") > 60.0, "{many}");
    assert_eq!(few["count"], 1, "{few}");
    assert!(days(&few, "median") > 90.0, "{few}");
}
