//! Bad input: each case exits with 2 and an `error:` message naming the
//! input and what to do, and leaves the database as it was (a finished sync
//! of `delivery` made before still reports identically). Also the inputs
//! that are odd but fine: a shallow clone, unreadable blobs.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::harness::{
    Scratch, command, database, fulcrum, git_read, open_db, postgres, repo, report_json, s, skip_on_postgres,
    stored_report, try_open_db, wait_for_stored_commits,
};

/// A test's scratch directory with a database holding a finished sync of
/// `delivery`, and that sync's report.
struct Synced {
    scratch: Scratch,
    db: PathBuf,
    before: Value,
}

impl Synced {
    fn new(test: &str) -> Synced {
        let scratch = Scratch::new(test);
        let db = scratch.db();
        fulcrum(["sync", "--repo", s(&repo("delivery")), "--db", s(&db)]).ok();
        let before = stored_report(&repo("delivery"), &db);
        Synced { scratch, db, before }
    }

    /// Runs `fulcrum ARGS --db DB`.
    fn fulcrum(&self, args: &[&str]) -> crate::harness::Run {
        let mut all = args.to_vec();
        all.extend(["--db", s(&self.db)]);
        fulcrum(all)
    }

    /// The earlier sync still reports the same.
    #[track_caller]
    fn assert_intact(&self) {
        assert_eq!(stored_report(&repo("delivery"), &self.db), self.before, "the database changed");
    }
}

#[test]
fn repository_path_that_does_not_exist() {
    let t = Synced::new("no_such_path");
    let path = t.scratch.path("nowhere");
    t.fulcrum(&["report", "--repo", s(&path)]).bad_input(&[s(&path), "no such directory", "--repo"]);
    t.fulcrum(&["sync", "--repo", s(&path)]).bad_input(&[s(&path), "no such directory"]);
    t.assert_intact();
}

#[test]
fn directory_that_is_not_a_repository() {
    let t = Synced::new("not_a_repository");
    let path = t.scratch.path("plain");
    std::fs::create_dir_all(&path).unwrap();
    std::fs::write(path.join("notes.txt"), "just a file\n").unwrap();
    t.fulcrum(&["report", "--repo", s(&path)]).bad_input(&[s(&path), "not a git repository", "--repo"]);
    t.assert_intact();
}

#[test]
fn repository_without_commits() {
    let t = Synced::new("empty_repository");
    let empty = repo("empty");
    t.fulcrum(&["sync", "--repo", s(&empty)]).bad_input(&[s(&empty), "no commits yet"]);
    t.fulcrum(&["report", "--repo", s(&empty)]).bad_input(&[s(&empty), "no commits yet"]);
    t.assert_intact();
}

#[test]
fn repository_without_release_tags_needs_trunk_mode() {
    let t = Synced::new("no_tags");
    let notags = repo("notags");
    t.fulcrum(&["report", "--repo", s(&notags)]).bad_input(&[
        &notags.canonicalize().unwrap().display().to_string(),
        "no tag matches deploy.tag_pattern",
        "0 tags in the repository",
        "--deploy-mode trunk",
    ]);
    let trunk = t.fulcrum(&["report", "--repo", s(&notags), "--deploy-mode", "trunk", "--format", "json"]).ok().json();
    assert_eq!(trunk["deployments"].as_array().unwrap().len(), 3);
    assert_eq!(trunk["deployments_source"], "trunk mode: every first-parent commit of `main`");
    t.assert_intact();
}

#[test]
fn shallow_clone_reports_with_a_warning() {
    let t = Synced::new("shallow");
    let shallow = repo("shallow");
    let report = t.fulcrum(&["report", "--repo", s(&shallow), "--format", "json"]).ok().json();
    // The clone holds c12, c11 and c10 (the boundary, tagged v1.4.1): one
    // deployment, the baseline, so no lead time.
    assert_eq!(report["repository"]["shallow"], true);
    assert_eq!(report["repository"]["totals"]["commits"], 3);
    assert_eq!(report["deployments"].as_array().unwrap().len(), 1);
    assert_eq!(report["deployments"][0]["name"], "v1.4.1");
    assert_eq!(report["deployments"][0]["baseline"], true);
    let warnings = report["warnings"].to_string();
    assert!(warnings.contains("shallow clone: history is cut"), "{warnings}");
    assert!(warnings.contains("git fetch --unshallow"), "{warnings}");
    t.assert_intact();
}

/// Writes `text` as a configuration file in the test's directory.
fn config(t: &Synced, text: &str) -> PathBuf {
    let path = t.scratch.path("fulcrum.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn configuration_with_an_unknown_key() {
    let t = Synced::new("config_unknown_key");
    let path = config(&t, "[deploy]\nmode = \"tags\"\n\n[report]\nwindw = \"30.days\"\n");
    let delivery = repo("delivery");
    for command in ["report", "sync"] {
        t.fulcrum(&[command, "--repo", s(&delivery), "--config", s(&path)]).bad_input(&[
            s(&path),
            "unknown field `windw`",
            "line 5",
        ]);
    }
    t.assert_intact();
}

#[test]
fn configuration_with_an_invalid_tag_pattern() {
    let t = Synced::new("config_bad_regex");
    let path = config(&t, "[deploy]\ntag_pattern = \"^v(1\"\n");
    let delivery = repo("delivery");
    t.fulcrum(&["report", "--repo", s(&delivery), "--config", s(&path)]).bad_input(&[
        s(&path),
        "invalid value for `deploy.tag_pattern`",
        "not a valid regular expression",
    ]);
    t.fulcrum(&["report", "--repo", s(&delivery), "--tag-pattern", "^v(1"])
        .bad_input(&["command line: invalid value for `deploy.tag_pattern`"]);
    t.assert_intact();
}

#[test]
fn configuration_file_in_the_repository_root() {
    let t = Synced::new("config_in_repository");
    let notags = t.scratch.copy_repo("notags");
    let file = notags.join("fulcrum.toml");
    std::fs::write(&file, "[deploy]\nmode = \"trunk\"\n").unwrap();
    let report = t.fulcrum(&["report", "--repo", s(&notags), "--format", "json"]).ok().json();
    assert_eq!(report["config_source"], s(&file));
    assert_eq!(report["deployments"].as_array().unwrap().len(), 3);
    // `sync` validates it too, before any work.
    std::fs::write(&file, "[deploy]\nmode = \"weekly\"\n").unwrap();
    t.fulcrum(&["sync", "--repo", s(&notags)]).bad_input(&[s(&file), "`deploy.mode`", "`weekly`"]);
    t.assert_intact();
}

#[test]
fn database_that_is_not_sqlite() {
    if skip_on_postgres("database_that_is_not_sqlite") {
        return;
    }
    let scratch = Scratch::new("db_not_sqlite");
    let db = scratch.path("garbage.db");
    let garbage: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    std::fs::write(&db, &garbage).unwrap();
    fulcrum(["report", "--repo", s(&repo("delivery")), "--db", s(&db)]).bad_input(&[
        s(&db),
        "not a fulcrum database",
        "pass --db with another path",
    ]);
    assert_eq!(std::fs::read(&db).unwrap(), garbage, "the file is left as it was");
}

#[test]
fn database_of_another_application() {
    let scratch = Scratch::new("db_foreign");
    let db = scratch.path("notes.db");
    if postgres().is_none() {
        rusqlite::Connection::open(&db).unwrap();
    }
    let conn = try_open_db(&db, true).unwrap();
    conn.execute("CREATE TABLE notes (x TEXT); INSERT INTO notes VALUES ('keep me');");
    let before = conn.rows("SELECT * FROM notes");
    fulcrum(["sync", "--repo", s(&repo("delivery")), "--db", s(&db)]).bad_input(&[
        &database(&db),
        "tables that are not fulcrum's",
        "pass --db with another path",
    ]);
    assert_eq!(conn.rows("SELECT * FROM notes"), before, "the notes are left as they were");
    assert!(conn.try_rows("SELECT * FROM meta").is_err(), "nothing of fulcrum's was made");
}

#[test]
fn database_from_a_newer_fulcrum() {
    let t = Synced::new("db_too_new");
    let current: String = open_db(&t.db).value("SELECT value FROM meta WHERE key = 'schema_version'");
    let set_version = |version: &str| {
        try_open_db(&t.db, true)
            .unwrap()
            .execute(&format!("UPDATE meta SET value = '{version}' WHERE key = 'schema_version'"));
    };
    set_version("999");
    let delivery = repo("delivery");
    for args in [&["report", "--repo", s(&delivery)][..], &["sync", "--repo", s(&delivery)]] {
        t.fulcrum(args).bad_input(&[
            &database(&t.db),
            "written by a newer fulcrum (schema version 999",
            "upgrade fulcrum",
        ]);
    }
    // Nothing was touched: back at the real version, the data reports as before.
    set_version(&current);
    t.assert_intact();
}

#[test]
fn second_fulcrum_syncing_the_same_database() {
    let t = Synced::new("db_locked");
    // A slow sync of a copy of delivery (another repository for the store):
    // 15 commits in batches of 2, 200 ms after each.
    let copy = t.scratch.copy_repo("delivery");
    let slow = command(["sync", "--repo", s(&copy), "--db", s(&t.db), "--batch-size", "2", "--threads", "1"])
        .env("FULCRUM_TEST_BATCH_DELAY_MS", "200")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Once it stored a batch it holds the lock (taken before any write).
    assert!(wait_for_stored_commits(&t.db, 15, Duration::from_secs(30)), "the slow sync stored nothing");
    // The same repository (on PostgreSQL, syncs of different repositories run side by side).
    t.fulcrum(&["sync", "--repo", s(&copy)]).bad_input(&[&database(&t.db), "another fulcrum is syncing this database"]);
    let slow = slow.wait_with_output().unwrap();
    assert!(slow.status.success(), "{}", String::from_utf8_lossy(&slow.stderr));
    t.assert_intact();
    // The slow sync finished its own work.
    assert_eq!(stored_report(&copy, &t.db)["repository"]["totals"]["commits"], 15);
}

/// The loose object file of `id` in `repo`, asserted present.
fn loose_object(repo: &Path, id: &str) -> PathBuf {
    let path = repo.join(".git/objects").join(&id[..2]).join(&id[2..]);
    assert!(path.is_file(), "{id} is not a loose object in {}", repo.display());
    path
}

/// Replaces a (read-only) loose object file with bytes that are not zlib.
fn corrupt(path: &Path) {
    std::fs::remove_file(path).unwrap();
    std::fs::write(path, b"this is not a zlib stream\n").unwrap();
}

#[test]
fn corrupt_tree_object() {
    let t = Synced::new("corrupt_tree");
    let copy = t.scratch.copy_repo("delivery");
    // The `src` tree of c6 ("Add caching", the parent of v1.2.0): the diffs
    // of c6 and c8 must read it.
    let tree = git_read(&copy, &["rev-parse", "v1.2.0~1:src"]);
    corrupt(&loose_object(&copy, &tree));
    t.fulcrum(&["sync", "--repo", s(&copy)]).bad_input(&[
        s(&copy),
        &format!("object {tree} is corrupt or unreadable"),
        "git fsck",
    ]);
    t.assert_intact();
}

/// Reports a copy of delivery whose blob `spec` was damaged by `damage`;
/// checks that the sync finished, counted `missing` unreadable file
/// versions and warned, and that the DORA keys are those of the intact repository.
fn check_unreadable_blob(test: &str, spec: &str, damage: fn(&Path), missing: u64) {
    let t = Synced::new(test);
    let copy = t.scratch.copy_repo("delivery");
    let blob = git_read(&copy, &["rev-parse", spec]);
    damage(&loose_object(&copy, &blob));
    let report = report_json(&copy, &t.db, &[]);
    assert_eq!(report["sync"]["missing_blobs"], missing);
    assert_eq!(report["repository"]["totals"]["missing_blobs"], missing);
    assert_eq!(report["repository"]["totals"]["commits"], 15);
    let warning = format!(
        "{missing} file versions could not be read (partial clone or stripped mirror); their line counts are unknown"
    );
    assert!(report["warnings"].as_array().unwrap().iter().any(|w| w == &warning[..]), "{}", report["warnings"]);
    assert_eq!(report["dora"], t.before["dora"]);
    t.assert_intact();
}

#[test]
fn corrupt_blob_is_counted_as_unreadable() {
    // deps.txt "lib 1.1", written by c4 (tagged v1.1.0-rc1) and changed by
    // no later commit: one diff cannot read it. The code's documented choice
    // (git.rs, `CommitReader::blob`): an unreadable blob is counted like a
    // missing one rather than aborting the sync.
    check_unreadable_blob("corrupt_blob", "v1.1.0-rc1:deps.txt", corrupt, 1);
}

#[test]
fn missing_blob_is_counted_as_unreadable() {
    // deps.txt "lib 1.0", added by c1 and replaced by c4: two diffs need it.
    check_unreadable_blob("missing_blob", "v1.0.0:deps.txt", |path| std::fs::remove_file(path).unwrap(), 2);
}

#[test]
fn window_that_ends_before_it_starts() {
    let t = Synced::new("empty_window");
    t.fulcrum(&["report", "--repo", s(&repo("delivery")), "--since", "2025-02-01", "--until", "2025-01-01"])
        .bad_input(&["the window is empty", "--since 2025-02-01T00:00:00Z is not before --until 2025-01-01T00:00:00Z"]);
    t.fulcrum(&["report", "--repo", s(&repo("delivery")), "--since", "2025-02-30"]).bad_input(&["2025-02-30"]);
    t.assert_intact();
}

#[test]
fn window_flags_where_they_do_not_apply() {
    let scratch = Scratch::new("window_flags_misplaced");
    let delivery = repo("delivery");
    let db = scratch.db();
    // Only report, flow and hotspots have a window: the others neither
    // advertise --since/--until in their help nor accept them.
    for (args, flag) in [
        (&["sync", "--repo", s(&delivery), "--since", "1.year"][..], "'--since'"),
        (&["knowledge", "--repo", s(&delivery), "--until", "2025-01-01"], "'--until'"),
        (&["import", "x.jsonl", "--since", "90.days"], "'--since'"),
    ] {
        let mut all = vec!["--db", s(&db)];
        all.extend_from_slice(args);
        fulcrum(all).bad_input(&["unexpected argument", flag]);
        let help = fulcrum([args[0], "--help"]).ok().stdout;
        assert!(!help.contains("--since") && !help.contains("--until"), "{} --help:\n{help}", args[0]);
    }
    for command in ["report", "flow", "hotspots"] {
        assert!(fulcrum([command, "--help"]).ok().stdout.contains("--since <WHEN>"), "{command}");
    }
    // --depth means nothing without --by-directory.
    fulcrum(["knowledge", "--repo", s(&delivery), "--db", s(&db), "--depth", "2"]).bad_input(&["--by-directory"]);
}

/// A host answering every request with `status` (and `retry-after` 0 for 429).
fn answering(status: u16) -> crate::replay::Replay {
    use crate::replay::{Replay, Reply, Route};
    let reply = Reply::json(status, r#"{"message":"refused"}"#);
    // Every listing of a GitLab project `g/p` and a GitHub repository `o/r`.
    let paths = [
        "/api/v4/projects/g%2Fp/merge_requests?state=all&order_by=updated_at&sort=asc&per_page=100",
        "/repos/o/r/pulls?sort=updated&direction=asc&per_page=100&state=all",
    ];
    Replay::start(paths.iter().map(|p| Route { path: (*p).to_owned(), responses: vec![reply.clone()] }).collect())
}

/// Each command × each bad input: exit 2, a message naming the input and
/// what to do, nothing on stdout, and the database as it was.
#[test]
fn bad_input_per_command() {
    let t = Synced::new("bad_input_table");
    let delivery = repo("delivery");
    let plain = t.scratch.path("plain");
    std::fs::create_dir_all(&plain).unwrap();
    let refusing = answering(401);
    let source = |kind: &str, repo: &str, extra: &str| {
        let base = match kind {
            "gitlab" => format!("{}/api/v4", refusing.url()),
            _ => refusing.url(),
        };
        let path = t.scratch.path(&format!("{kind}-{}.toml", extra.len()));
        std::fs::write(
            &path,
            format!("[[source]]\nkind = \"{kind}\"\nrepo = \"{repo}\"\nbase_url = \"{base}\"\n{extra}"),
        )
        .unwrap();
        path
    };
    let gitlab = source("gitlab", "g/p", "");
    let github_unset = source("github", "o/r", "token_env = \"FULCRUM_TEST_UNSET_TOKEN\"\n");
    let failing_command =
        source("github", "o/r", "token_env = \"FULCRUM_TEST_UNSET_TOKEN\"\ntoken_command = \"exit 3\"\n");
    let cases: Vec<(&str, Vec<&str>, Vec<&str>)> = vec![
        ("hotspots: not a repository", vec!["hotspots", "--repo", s(&plain)], vec![s(&plain), "not a git repository"]),
        ("hotspots: bad --since", vec!["hotspots", "--repo", s(&delivery), "--since", "soon"], vec!["--since soon"]),
        (
            "hotspots: a window before 1970",
            vec!["hotspots", "--repo", s(&delivery), "--until", "1969-01-01"],
            vec!["1970"],
        ),
        ("flow: not a repository", vec!["flow", "--repo", s(&plain)], vec![s(&plain), "not a git repository"]),
        ("flow: empty window", vec!["flow", "--since", "2025-02-01", "--until", "2025-01-01"], vec!["window is empty"]),
        ("flow: --repo with --service", vec!["flow", "--repo", s(&delivery), "--service", "x"], vec!["--service"]),
        ("report: unknown benchmark", vec!["report", "--repo", s(&delivery), "--benchmark", "1999"], vec!["1999"]),
        ("knowledge: unknown revision", vec!["knowledge", "--repo", s(&delivery), "--at", "v9.9.9"], vec!["v9.9.9"]),
        ("import: no such file", vec!["import", "nowhere.jsonl"], vec!["nowhere.jsonl", "cannot read"]),
        (
            "sync: GitLab refuses the token",
            vec!["--config", s(&gitlab), "sync"],
            vec!["refused the token", "$GITLAB_TOKEN"],
        ),
        ("sync: no token", vec!["--config", s(&github_unset), "sync"], vec!["$FULCRUM_TEST_UNSET_TOKEN", "unset"]),
        (
            "sync: token_command fails",
            vec!["--config", s(&failing_command), "sync"],
            vec!["token_command of o/r failed"],
        ),
    ];
    for (name, args, needles) in cases {
        let mut command = command(args.iter().chain(["--db", s(&t.db)].iter()));
        command.current_dir(&plain).env("GITLAB_TOKEN", "glpat-not-accepted").env("FULCRUM_HTTP_BACKOFF_MS", "1");
        let run = crate::harness::run(&mut command);
        assert_eq!(run.code, 2, "{name}: exit {}\n{}", run.code, run.stderr);
        // Warnings (a source without a token) may come first; the error ends it.
        assert!(run.stderr.lines().any(|l| l.starts_with("error: ")), "{name}: {}", run.stderr);
        for needle in needles {
            assert!(run.stderr.contains(needle), "{name}: stderr lacks {needle:?}:\n{}", run.stderr);
        }
        assert_eq!(run.stdout, "", "{name}: nothing on stdout");
    }
    t.assert_intact();
}
