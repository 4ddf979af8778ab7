//! Sync: idempotent, incremental, pruning rewritten history, resumable
//! after `kill -9`, and storing the same per-file stats as git.
//!
//! `delivery` by hand: 15 commits (c1–c12, f1, f2, M); 15 parent links (c1
//! has none, M two, the others one); 17 file changes (c1 adds 4 files, M
//! carries none, the 13 others change one file each); 1 trailer
//! (Co-authored-by on f2); 9 refs (main, feature, 7 tags).

use std::path::Path;
use std::time::Duration;

use crate::harness::{
    Cell, Counts, FromRow, Scratch, TestDb, command, counts, dump, git, git_read, open_db, repo, run, s, stored_report,
    sync, try_open_db, wait_for_stored_commits,
};

const DELIVERY: Counts = Counts { commits: 15, parents: 15, file_changes: 17, trailers: 1, refs: 9 };

#[test]
fn second_sync_is_up_to_date_and_changes_nothing() {
    let scratch = Scratch::new("second_sync");
    let (delivery, db) = (repo("delivery"), scratch.db());
    let first = sync(&delivery, &db);
    assert!(first.starts_with("delivery: synced 15 new commits in "), "{first}");
    assert_eq!(counts(&db), DELIVERY);
    let rows = dump(&db);
    let second = sync(&delivery, &db);
    assert!(second.starts_with("delivery: up to date ("), "{second}");
    assert_eq!(counts(&db), DELIVERY);
    assert_eq!(dump(&db), rows);
}

#[test]
fn new_commit_and_tag_sync_incrementally() {
    let scratch = Scratch::new("incremental");
    let (copy, db) = (scratch.copy_repo("delivery"), scratch.db());
    sync(&copy, &db);
    std::fs::write(copy.join("src/dashboard.txt"), "dashboard\n  charts\n  legend\n  export\n").unwrap();
    git(&copy, "2025-01-20 09:00", &["commit", "-q", "-am", "Dashboard: export charts"]);
    git(&copy, "2025-01-20 12:00", &["tag", "-a", "v1.5.0", "-m", "Release 1.5.0"]);
    let summary = sync(&copy, &db);
    assert!(summary.starts_with("delivery: synced 1 new commits in "), "{summary}");
    assert_eq!(
        counts(&db),
        Counts { commits: 16, parents: 16, file_changes: 18, refs: 10, ..DELIVERY },
        "one commit with one parent and one changed file, one tag"
    );
    // v1.5.0 ships c11, c12 and the new commit.
    let report = stored_report(&copy, &db);
    assert_eq!(report["deployments"][0]["name"], "v1.5.0");
    assert_eq!(report["deployments"][0]["commits"], 3);
}

#[test]
fn rewritten_history_is_pruned_like_a_fresh_sync() {
    let scratch = Scratch::new("rewrite");
    let (copy, db) = (scratch.copy_repo("delivery"), scratch.db());
    sync(&copy, &db);
    // main goes back to c10 (tagged v1.4.1); c11 and c12 are reachable from nothing.
    git(&copy, "2025-01-20 09:00", &["reset", "-q", "--hard", "HEAD~2"]);
    std::fs::write(copy.join("src/export.txt"), "export csv\n  header\n  if empty: stop\n  rows\n  footer\n").unwrap();
    git(&copy, "2025-01-20 09:00", &["commit", "-q", "-am", "Export a footer"]);
    let summary = sync(&copy, &db);
    assert!(
        summary.contains("synced 1 new commits, removed 2 commits no longer reachable (history rewritten)"),
        "{summary}"
    );
    assert_eq!(counts(&db), Counts { commits: 14, parents: 14, file_changes: 16, ..DELIVERY });

    let fresh = scratch.other_db("fresh");
    sync(&copy, &fresh);
    assert_eq!(dump(&db), dump(&fresh));
    assert_eq!(stored_report(&copy, &db), stored_report(&copy, &fresh));
}

#[test]
fn sync_killed_midway_resumes_to_the_same_database() {
    let scratch = Scratch::new("killed");
    let (delivery, db) = (repo("delivery"), scratch.db());
    // 15 commits in batches of 2, each followed by 200 ms: about 1.6 s of sync.
    let mut child = command(["sync", "--repo", s(&delivery), "--db", s(&db), "--batch-size", "2", "--threads", "1"])
        .env("FULCRUM_TEST_BATCH_DELAY_MS", "200")
        .spawn()
        .unwrap();
    assert!(wait_for_stored_commits(&db, 0, Duration::from_secs(30)), "the sync stored nothing");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let (stored, complete): (i64, i64) =
        open_db(&db).row("SELECT (SELECT COUNT(*) FROM commits), (SELECT sync_complete FROM repos)");
    assert!(stored > 0 && stored < 15 && stored % 2 == 0, "killed after whole batches only: {stored} stored");
    assert_eq!(complete, 0, "the killed sync did not finish");

    let resumed = sync(&delivery, &db);
    assert!(resumed.starts_with(&format!("delivery: synced {} new commits", 15 - stored)), "{resumed}");
    assert!(resumed.contains("(resumed an interrupted sync)"), "{resumed}");
    let uninterrupted = scratch.other_db("uninterrupted");
    sync(&delivery, &uninterrupted);
    assert_eq!(counts(&db), DELIVERY);
    assert_eq!(dump(&db), dump(&uninterrupted));
    assert_eq!(stored_report(&delivery, &db), stored_report(&delivery, &uninterrupted));
}

/// path, old_path, kind, added, removed.
type FileRow = (String, Option<String>, String, Option<i64>, Option<i64>);

/// The stored file changes of commit `sha`.
fn file_rows(db: &std::path::Path, sha: &str) -> Vec<FileRow> {
    open_db(db)
        .rows(&format!(
            "SELECT p.path, o.path, f.kind, f.added, f.removed FROM file_changes f
             JOIN commits c ON c.id = f.commit_id JOIN paths p ON p.id = f.path_id LEFT JOIN paths o ON o.id = f.old_path_id WHERE c.sha = '{sha}'"
        ))
        .into_iter()
        .map(FromRow::from_row)
        .collect()
}

#[test]
fn rename_is_one_change_of_kind_r() {
    let scratch = Scratch::new("rename");
    let (delivery, db) = (repo("delivery"), scratch.db());
    sync(&delivery, &db);
    // c5 is tagged v1.1.0; git sees the same rename.
    let c5 = git_read(&delivery, &["rev-parse", "v1.1.0^{commit}"]);
    assert_eq!(
        git_read(&delivery, &["show", "-M", "--format=", "--name-status", &c5]),
        "R100\tsrc/app.txt\tsrc/main.txt"
    );
    let rows: Vec<FileRow> = file_rows(&db, &c5);
    assert_eq!(rows, [("src/main.txt".to_owned(), Some("src/app.txt".to_owned()), "R".to_owned(), Some(0), Some(0))]);
}

#[test]
fn file_stats_match_git_log_numstat() {
    let scratch = Scratch::new("numstat");
    let (delivery, db) = (repo("delivery"), scratch.db());
    sync(&delivery, &db);
    // git: "ADDED\tREMOVED\tPATH" per file, "-" for binary files, renames as
    // `src/{app.txt => main.txt}`; merges carry no stats (no -m).
    let mut expected = Vec::new();
    let mut sha = String::new();
    for line in git_read(&delivery, &["log", "--all", "-M", "--numstat", "--format=%H"]).lines() {
        if line.len() == 40 && !line.contains('\t') {
            sha = line.to_owned();
        } else if !line.is_empty() {
            expected.push(format!("{sha} {}", line.replace('\t', " ")));
        }
    }
    let mut actual: Vec<String> = open_db(&db)
        .rows(
            "SELECT c.sha, p.path, o.path, f.added, f.removed FROM file_changes f
             JOIN commits c ON c.id = f.commit_id JOIN paths p ON p.id = f.path_id LEFT JOIN paths o ON o.id = f.old_path_id",
        )
        .into_iter()
        .map(|r| {
            let (sha, path, old_path, added, removed): (String, String, Option<String>, Option<i64>, Option<i64>) =
                FromRow::from_row(r);
            let count = |n: Option<i64>| n.map_or("-".to_owned(), |n| n.to_string());
            let path = match old_path {
                Some(old) => git_rename(&old, &path),
                None => path,
            };
            format!("{sha} {} {} {path}", count(added), count(removed))
        })
        .collect();
    expected.sort();
    actual.sort();
    assert_eq!(actual.len(), DELIVERY.file_changes as usize);
    assert!(actual.iter().any(|l| l.ends_with(" - - logo.bin")), "the binary file has no line counts");
    assert_eq!(actual, expected);
}

/// A rename as `git log --numstat` prints it: the common directory prefix
/// and suffix outside braces, `src/{app.txt => main.txt}`.
fn git_rename(old: &str, new: &str) -> String {
    let common = old.bytes().zip(new.bytes()).take_while(|(a, b)| a == b).count();
    let prefix = old[..common].rfind('/').map_or(0, |i| i + 1);
    let (o, n) = (&old[prefix..], &new[prefix..]);
    let common = o.bytes().rev().zip(n.bytes().rev()).take_while(|(a, b)| a == b).count();
    let tail = &o[o.len() - common..];
    let suffix = tail.find('/').map_or(0, |i| tail.len() - i);
    if prefix == 0 && suffix == 0 {
        return format!("{old} => {new}");
    }
    format!("{}{{{} => {}}}{}", &old[..prefix], &o[..o.len() - suffix], &n[..n.len() - suffix], &o[o.len() - suffix..])
}

#[test]
fn git_rename_formats_like_git() {
    assert_eq!(git_rename("src/app.txt", "src/main.txt"), "src/{app.txt => main.txt}");
    assert_eq!(git_rename("a.txt", "b.txt"), "a.txt => b.txt");
    assert_eq!(git_rename("old/x.txt", "new/x.txt"), "{old => new}/x.txt");
}

#[test]
fn trailers_and_mailmap_are_stored_raw() {
    let scratch = Scratch::new("trailers");
    let (delivery, db) = (repo("delivery"), scratch.db());
    sync(&delivery, &db);
    let conn = open_db(&db);
    let trailer: (String, String, String) =
        conn.row("SELECT c.subject, t.key, t.value FROM commit_trailers t JOIN commits c ON c.id = t.commit_id");
    assert_eq!(
        trailer,
        ("Test the widget".to_owned(), "Co-authored-by".to_owned(), "Bob Builder <bob@new.example>".to_owned())
    );
    let mailmap: String = conn.value("SELECT mailmap FROM repos");
    assert_eq!(mailmap, "Bob Builder <bob@new.example> <bob@old.example>\n");
    // Identities are stored as written; the .mailmap merges them at analysis.
    let bobs: Vec<String> =
        conn.column("SELECT DISTINCT author_email FROM commits WHERE author_email LIKE 'bob@%' ORDER BY 1");
    assert_eq!(bobs, ["bob@new.example", "bob@old.example"]);
}

#[test]
fn unshallow_completes_the_stored_history() {
    // A shallow clone keeps 5 of delivery's 15 commits... then `git fetch --unshallow`.
    let scratch = Scratch::new("unshallow");
    let (source, db) = (repo("delivery"), scratch.db());
    let clone = scratch.path("clone");
    let url = format!("file://{}", s(&source));
    git(&scratch.path(""), "2025-03-01 00:00", &["clone", "-q", "--depth", "5", &url, s(&clone)]);
    sync(&clone, &db);
    let shallow = counts(&db).commits;
    assert!(shallow < 15, "the clone is shallow: {shallow} commits");
    git(&clone, "2025-03-01 00:00", &["fetch", "-q", "--unshallow"]);
    let summary = sync(&clone, &db);
    assert!(summary.starts_with(&format!("clone: synced {} new commits", 15 - shallow)), "{summary}");
    assert_eq!(counts(&db).commits, 15);
}

/// A rename with edits (similarity, as git's `-M50%`): stored as one change
/// of kind R with its line counts, exactly as `git log -M --numstat`, and
/// the file's authorship follows it: Alice wrote the engine, Bob moved it
/// and changed two of its twenty lines, so Alice is still its main author.
#[test]
fn similarity_rename_with_edits_matches_git_and_keeps_authorship() {
    let scratch = Scratch::new("similarity_rename");
    let dir = scratch.path("moved");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    git(&dir, "2025-01-06 09:00", &["-c", "init.defaultBranch=main", "init", "-q"]);
    let lines: Vec<String> = (1..=20).map(|i| format!("fn step_{i}() {{ run({i}); }}")).collect();
    std::fs::write(dir.join("src/engine.rs"), lines.join("\n") + "\n").unwrap();
    git(&dir, "2025-01-06 09:00", &["add", "-A"]);
    git(&dir, "2025-01-06 09:00", &["commit", "-q", "-m", "Engine", "--author", "Alice <alice@x.example>"]);
    let mut edited = lines.clone();
    edited[3] = "fn step_4() { run_twice(4); }".to_owned();
    edited[10] = "fn step_11() { run_twice(11); }".to_owned();
    std::fs::remove_file(dir.join("src/engine.rs")).unwrap();
    std::fs::write(dir.join("src/core.rs"), edited.join("\n") + "\n").unwrap();
    git(&dir, "2025-01-07 09:00", &["add", "-A"]);
    git(&dir, "2025-01-07 09:00", &["commit", "-q", "-m", "Move the engine", "--author", "Bob <bob@x.example>"]);
    let head = git_read(&dir, &["rev-parse", "HEAD"]);
    // git: R090, 2 added and 2 removed lines.
    assert_eq!(git_read(&dir, &["show", "-M", "--format=", "--numstat", &head]), "2\t2\tsrc/{engine.rs => core.rs}");
    let db = scratch.db();
    sync(&dir, &db);
    let rows: Vec<FileRow> = file_rows(&db, &head);
    assert_eq!(rows, [("src/core.rs".to_owned(), Some("src/engine.rs".to_owned()), "R".to_owned(), Some(2), Some(2))]);

    let knowledge =
        crate::harness::fulcrum(["knowledge", "--repo", s(&dir), "--db", s(&db), "--no-sync", "--format", "json"])
            .ok()
            .json();
    let file = knowledge["files"].as_array().unwrap().iter().find(|f| f["path"] == "src/core.rs").unwrap().clone();
    assert_eq!(file["main_author"]["email"], "alice@x.example", "{file}");
    // Bob made one change (DOA 3.293 + 0.164 = 3.457) against Alice's first
    // authorship (3.293 + 1.098 − 0.321·ln 2 = 4.168): 0.83 of the maximum,
    // above the 0.75 author threshold, so both are authors.
    let authors: Vec<&str> = file["authors"].as_array().unwrap().iter().map(|a| a["email"].as_str().unwrap()).collect();
    assert_eq!(authors, ["alice@x.example", "bob@x.example"]);
}

/// SIGKILL at points spread over a whole sync (no test pause: inside
/// transactions, between them, while diffing): every time the database is
/// intact, every stored commit has exactly its file changes and trailers,
/// and the next sync completes it to what an uninterrupted sync stores.
#[test]
fn sync_killed_at_any_point_leaves_whole_commits_and_resumes() {
    let scratch = Scratch::new("killed_anywhere");
    let delivery = repo("delivery");
    let uninterrupted = scratch.other_db("uninterrupted");
    let args = |db: &std::path::Path| {
        command(["sync", "--repo", s(&delivery), "--db", s(db), "--batch-size", "1", "--threads", "1"])
    };
    let started = std::time::Instant::now();
    assert!(args(&uninterrupted).output().unwrap().status.success());
    let whole = started.elapsed();
    let expected = dump(&uninterrupted);
    let mut interrupted_runs = 0;
    for (i, tenth) in (1..=9).enumerate() {
        let db = scratch.other_db(&format!("killed-{i}"));
        let mut child = args(&db).spawn().unwrap();
        std::thread::sleep(whole * tenth / 10);
        let _ = child.kill();
        child.wait().unwrap();
        // Read-write: a kill before the switch to WAL leaves a hot journal to roll back.
        let Ok(conn) = try_open_db(&db, true) else { continue };
        if let TestDb::Sqlite(_) = conn {
            let integrity: String = conn.value("PRAGMA integrity_check");
            assert_eq!(integrity, "ok", "kill at {tenth}/10");
        }
        // Before its first batch the schema may not be there yet: nothing stored.
        let stored: Vec<String> = conn
            .try_rows("SELECT sha FROM commits")
            .map(|rows| rows.into_iter().map(|r| r[0].to_string()).collect())
            .unwrap_or_default();
        drop(conn);
        if stored.len() < 15 {
            interrupted_runs += 1;
        }
        // Per stored commit: its rows equal the uninterrupted sync's.
        let of_stored = |lines: &[String]| -> Vec<String> {
            lines
                .iter()
                .filter(|l| ["commit | ", "file | ", "trailer | "].iter().any(|k| l.starts_with(k)))
                .filter(|l| stored.iter().any(|sha| l.contains(sha.as_str())))
                .cloned()
                .collect()
        };
        if !stored.is_empty() {
            assert_eq!(of_stored(&dump(&db)), of_stored(&expected), "kill at {tenth}/10: a commit is partial");
        }
        assert!(args(&db).output().unwrap().status.success());
        assert_eq!(
            dump(&db).iter().filter(|l| !l.starts_with("repo | ")).collect::<Vec<_>>(),
            expected.iter().filter(|l| !l.starts_with("repo | ")).collect::<Vec<_>>(),
            "kill at {tenth}/10: resumed differs"
        );
    }
    assert!(interrupted_runs > 0, "no kill landed inside a sync ({whole:?} per sync)");
}

/// Workers share the registered repositories; one killed with `kill -9`
/// mid-sync loses nothing: its lease runs out, another worker takes the job
/// over and resumes it, and the database ends as plain syncs leave it.
#[test]
fn workers_share_the_jobs_and_take_over_a_killed_ones() {
    let scratch = Scratch::new("sync_workers");
    let root = scratch.path("repos");
    std::fs::create_dir_all(&root).unwrap();
    for name in ["alpha", "beta", "gamma"] {
        let status = std::process::Command::new("cp").arg("-R").arg(repo("delivery")).arg(root.join(name)).status();
        assert!(status.unwrap().success());
    }
    let db = scratch.db();
    let added = crate::harness::fulcrum(["repos", "add", s(&root), "--db", s(&db)]).ok();
    assert!(added.stderr.contains("3 repositories found, 3 new"), "{}", added.stderr);
    let worker = |name: &str, delay: &str| {
        command([
            "sync",
            "--worker",
            "--once",
            "--lease",
            "3",
            "--name",
            name,
            "--batch-size",
            "2",
            "--threads",
            "1",
            "--db",
            s(&db),
        ])
        .env("FULCRUM_TEST_BATCH_DELAY_MS", delay)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
    };
    let jobs = || -> Vec<serde_json::Value> {
        let run = crate::harness::fulcrum(["repos", "list", "--format", "json", "--db", s(&db)]);
        serde_json::from_str::<serde_json::Value>(&run.stdout)
            .map(|v| v.as_array().unwrap().clone())
            .unwrap_or_default()
    };
    // The first worker is killed once it has stored part of its first repository.
    let mut first = worker("first", "300");
    let started = std::time::Instant::now();
    let held = loop {
        let held =
            jobs().into_iter().find(|j| j["worker"] == "first").map(|j| j["target"].as_str().unwrap().to_owned());
        let stored = try_open_db(&db, false)
            .and_then(|c| c.try_rows("SELECT COUNT(*) FROM commits"))
            .is_ok_and(|rows| matches!(rows[0][0], Cell::Int(n) if n > 0));
        if let (Some(held), true) = (held, stored) {
            break held;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the first worker took no job");
        std::thread::sleep(Duration::from_millis(20));
    };
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    let partial: i64 = open_db(&db).value("SELECT COUNT(*) FROM commits");
    assert!(partial < 45, "killed mid-sync: {partial} of 45 commits");
    // Two more workers finish everything, the killed worker's job included once its lease ran out.
    let (second, third) = (worker("second", "0"), worker("third", "0"));
    let mut said = String::new();
    for child in [second, third] {
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(output.status.success(), "{stderr}");
        said.push_str(&stderr);
    }
    assert!(said.contains(&format!("synced repository {held}")), "nobody took over {held}:\n{said}");
    for job in jobs() {
        assert_eq!(job["worker"], serde_json::Value::Null, "{job}");
        assert_eq!(job["last_error"], serde_json::Value::Null, "{job}");
        assert!(job["runs"].as_i64().unwrap() >= 1, "{job}");
    }
    // The same rows as plain, uninterrupted syncs of the three.
    let plain = scratch.other_db("plain");
    for name in ["alpha", "beta", "gamma"] {
        sync(&root.join(name), &plain);
    }
    let rows =
        |db: &std::path::Path| -> Vec<String> { dump(db).into_iter().filter(|l| !l.starts_with("repo | ")).collect() };
    assert_eq!(rows(&db), rows(&plain));
}

/// `[[repository]] url`: a sync worker clones the repository (bare) into
/// the data directory, fetches it on later rounds and syncs it; a URL that
/// would run a command is refused, and a repository's own file may not
/// choose what to clone.
#[test]
fn clone_urls_are_cloned_fetched_and_synced_by_workers() {
    let scratch = Scratch::new("worker_clone");
    let origin = scratch.copy_repo("delivery");
    let data = scratch.path("data");
    let config = scratch.path("org.toml");
    std::fs::write(&config, format!("[[repository]]\nurl = \"file://{}\"\n", origin.display())).unwrap();
    let db = scratch.db();
    let worker = || {
        run(command(["--db", s(&db), "--config", s(&config), "sync", "--worker", "--once"]).env("XDG_DATA_HOME", &data))
    };
    let first = worker().ok();
    assert!(first.stderr.contains("synced clone file://"), "{}", first.stderr);
    let mirror =
        data.join("fulcrum/repos").join(format!("{}.git", origin.display().to_string().trim_start_matches('/')));
    assert!(mirror.join("HEAD").exists(), "a bare clone at {}", mirror.display());
    let commits = |db: &Path| open_db(db).count("commits");
    let before = commits(&db);
    assert_eq!(before.to_string(), git_read(&origin, &["rev-list", "--count", "--all"]));

    // A new commit upstream: the next round fetches and syncs it.
    std::fs::write(origin.join("NEWS.md"), "news\n").unwrap();
    git(&origin, "2025-01-20 09:00", &["add", "NEWS.md"]);
    git(&origin, "2025-01-20 09:00", &["commit", "-q", "-m", "Add news"]);
    // `--once` runs the jobs not finished since it started (times in whole seconds).
    std::thread::sleep(Duration::from_millis(1100));
    let second = worker().ok();
    assert_eq!(commits(&db), before + 1, "{}", second.stderr);
    let listed = run(&mut command(["--db", s(&db), "repos", "list"])).ok().stdout;
    assert!(listed.contains("clone") && listed.contains("2 runs, ok"), "{listed}");

    // A transport that runs a command is no clone URL.
    std::fs::write(&config, "[[repository]]\nurl = \"ext::sh -c touch% /tmp/fulcrum-pwned\"\n").unwrap();
    worker().bad_input(&["repository[0].url", "not a clone URL"]);
    assert!(!Path::new("/tmp/fulcrum-pwned").exists());

    // A repository's own fulcrum.toml does not choose what to clone.
    std::fs::write(origin.join("fulcrum.toml"), "[[repository]]\nurl = \"https://example.com/evil.git\"\n").unwrap();
    let synced = run(command(["--db", s(&db), "sync", "--repo", s(&origin)]).env("XDG_DATA_HOME", &data)).ok();
    assert!(synced.stderr.contains("clone URLs left out"), "{}", synced.stderr);
}

/// Writes `stream` into the bare repository `dir` with `git fast-import`.
fn fast_import(dir: &Path, stream: &str) {
    let mut import = std::process::Command::new("git")
        .current_dir(dir)
        .args(["fast-import", "--quiet"])
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(import.stdin.as_mut().unwrap(), stream.as_bytes()).unwrap();
    drop(import.stdin.take());
    assert!(import.wait().unwrap().success());
}

/// The pack file of a bare repository holding one.
fn pack_file(dir: &Path) -> std::path::PathBuf {
    std::fs::read_dir(dir.join("objects/pack"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "pack"))
        .unwrap()
}

/// Syncs `repo` into a database of its own for each `(threads, order)`
/// (`FULCRUM_SYNC_ORDER`; "" lets the sync decide), with `FULCRUM_TIMING`:
/// the dump and the standard error of each.
fn sync_each(scratch: &Scratch, repo: &Path, runs: &[(&str, &str)]) -> Vec<(Vec<String>, String)> {
    runs.iter()
        .map(|&(threads, order)| {
            let db = scratch.other_db(&format!("sync-{threads}-{order}"));
            let mut sync = command(["sync", "--repo", s(repo), "--db", s(&db), "--threads", threads]);
            sync.env("FULCRUM_TIMING", "1");
            if !order.is_empty() {
                sync.env("FULCRUM_SYNC_ORDER", order);
            }
            let stderr = run(&mut sync).ok().stderr;
            (dump(&db), stderr)
        })
        .collect()
}

/// A pack written by `git fast-import` stores each version as a delta
/// against the one before; the sync then diffs oldest first (so each base is
/// in the pack cache) and caches the other side of each diff. Both orders,
/// and the order found from the pack, store the same rows.
#[test]
fn diff_order_follows_the_pack_and_stores_the_same() {
    let scratch = Scratch::new("diff_order");
    let imported = scratch.path("imported.git");
    git(&scratch.path(""), "2025-01-01 00:00", &["init", "-q", "--bare", s(&imported)]);
    // 60 commits: the first adds 300 files in one directory, each next one
    // changes a file (a line added) and every tenth renames one.
    let mut stream = String::new();
    for n in 0..60u32 {
        let time = 1_735_000_000 + i64::from(n) * 3600;
        stream.push_str(&format!(
            "commit refs/heads/main\ncommitter Dana <dana@fulcrum.example> {time} +0000\ndata 9\nchange {n:02}\n"
        ));
        if n == 0 {
            for f in 0..300 {
                let body = format!("file {f}\n");
                stream.push_str(&format!("M 100644 inline src/f{f:03}.txt\ndata {}\n{body}\n", body.len()));
            }
        } else if n % 10 == 0 {
            stream.push_str(&format!("R src/f{:03}.txt src/renamed{n}.txt\n", n + 100));
        } else {
            let f = (n * 7) % 300;
            let body = format!("file {f}\nchanged in {n}\n");
            stream.push_str(&format!("M 100644 inline src/f{f:03}.txt\ndata {}\n{body}\n", body.len()));
        }
    }
    fast_import(&imported, &stream);
    let synced = sync_each(&scratch, &imported, &[("1", "oldest"), ("1", "newest"), ("1", "")]);
    assert!(synced[2].1.contains("sync: diffing oldest first"), "a fast-import pack: {}", synced[2].1);
    let dumps: Vec<Vec<String>> = synced.into_iter().map(|(dump, _)| dump).collect();
    assert!(dumps[0].iter().any(|l| l.starts_with("file")), "changes stored");
    assert_eq!(dumps[0], dumps[1]);
    assert_eq!(dumps[0], dumps[2]);
}

/// A history longer than the walk reads before deciding the diff order
/// (4,096 commits), with a branch whose commits interleave main's by time:
/// the walk hands out many runs while the diffs go on, and one thread or
/// two, either order, store the same rows.
#[test]
fn a_long_history_walked_beside_the_diffs_stores_the_same_rows() {
    let scratch = Scratch::new("walk_beside");
    let imported = scratch.path("imported.git");
    git(&scratch.path(""), "2025-01-01 00:00", &["init", "-q", "--bare", s(&imported)]);
    let mut stream = String::new();
    let commit = |stream: &mut String, branch: &str, mark: u32, time: i64, from: Option<u32>, merge: Option<u32>| {
        stream.push_str(&format!(
            "commit refs/heads/{branch}\nmark :{mark}\ncommitter Dana <dana@fulcrum.example> {time} +0000\ndata 12\nchange {mark:05}\n"
        ));
        if let Some(from) = from {
            stream.push_str(&format!("from :{from}\n"));
        }
        if let Some(merge) = merge {
            stream.push_str(&format!("merge :{merge}\n"));
        }
        let f = mark % 50;
        let body = format!("file {f}\nchanged by {mark}\n");
        stream.push_str(&format!("M 100644 inline d/f{f:02}.txt\ndata {}\n{body}\n", body.len()));
    };
    // main: 6,000 commits an hour apart; side: 150 commits branched from
    // main's 3,000th, 20 minutes after each of main's next ones, merged at 3,200.
    for n in 1..=6000u32 {
        let time = 1_700_000_000 + i64::from(n) * 3600;
        let merge = (n == 3200).then_some(10_150);
        commit(&mut stream, "main", n, time, None, merge);
        if (3000..3150).contains(&n) {
            let side = 10_001 + (n - 3000);
            let from = (n == 3000).then_some(3000);
            commit(&mut stream, "side", side, time + 1200, from, None);
        }
    }
    fast_import(&imported, &stream);
    let synced = sync_each(&scratch, &imported, &[("2", ""), ("1", ""), ("2", "oldest")]);
    for (_, stderr) in &synced {
        assert!(stderr.contains("(beside the diffs)"), "{stderr}");
    }
    let dumps: Vec<Vec<String>> = synced.into_iter().map(|(dump, _)| dump).collect();
    let commits = dumps[0].iter().filter(|l| l.starts_with("commit")).count();
    let files = dumps[0].iter().filter(|l| l.starts_with("file")).count();
    assert_eq!(commits, 6150);
    // Every commit but the merge changes one file.
    assert_eq!(files, 6149);
    assert_eq!(dumps[0], dumps[1]);
    assert_eq!(dumps[0], dumps[2]);
}

/// A commit missing deep in a long history (a broken copy) is found by the
/// walk while the diffs of newer commits are already being stored: the
/// sync stops with exit 2 naming the repository and what to do. Once the
/// history is cut there (made shallow), the next sync resumes and stores
/// what a clean sync stores.
#[test]
fn a_commit_missing_deep_in_a_long_history_stops_the_sync_and_the_next_resumes() {
    let scratch = Scratch::new("walk_missing");
    let broken = scratch.path("broken.git");
    git(&scratch.path(""), "2025-01-01 00:00", &["init", "-q", "--bare", s(&broken)]);
    let write = |kind: &str, body: &str| -> String {
        let mut hash = std::process::Command::new("git")
            .current_dir(&broken)
            .args(["hash-object", "--literally", "-t", kind, "-w", "--stdin"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(hash.stdin.as_mut().unwrap(), body.as_bytes()).unwrap();
        drop(hash.stdin.take());
        let out = hash.wait_with_output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    // A commit whose parent was never written, under 4,400 newer ones: the
    // walk meets the gap after the 4,096 it reads before the diffs start.
    let empty = write("tree", "");
    let root = write(
        "commit",
        &format!(
            "tree {empty}\nparent {}\nauthor Dana <dana@fulcrum.example> 1699990000 +0000\n\
             committer Dana <dana@fulcrum.example> 1699990000 +0000\n\nits parent is missing\n",
            "1".repeat(40)
        ),
    );
    let mut stream = String::new();
    for n in 1..=4400u32 {
        let time = 1_700_000_000 + i64::from(n) * 3600;
        let f = n % 40;
        let body = format!("file {f}\nchanged by {n}\n");
        stream.push_str(&format!(
            "commit refs/heads/main\ncommitter Dana <dana@fulcrum.example> {time} +0000\ndata 11\nchange {n:04}\n"
        ));
        if n == 1 {
            stream.push_str(&format!("from {root}\n"));
        }
        stream.push_str(&format!("M 100644 inline f{f:02}.txt\ndata {}\n{body}\n", body.len()));
    }
    fast_import(&broken, &stream);

    let db = scratch.other_db("resumed");
    let sync = || command(["sync", "--repo", s(&broken), "--db", s(&db), "--batch-size", "100"]);
    let stopped = run(&mut sync());
    assert_eq!(stopped.code, 2, "{}", stopped.stderr);
    assert!(
        stopped.stderr.contains("broken.git")
            && stopped.stderr.contains(&"1".repeat(40))
            && stopped.stderr.contains("git fsck"),
        "{}",
        stopped.stderr
    );
    assert!(!stopped.stderr.contains("panicked"), "{}", stopped.stderr);
    let complete: i64 = open_db(&db).value("SELECT sync_complete FROM repos");
    assert_eq!(complete, 0, "no sync recorded as complete");

    std::fs::write(broken.join("shallow"), format!("{root}\n")).unwrap();
    run(&mut sync()).ok();
    let clean = scratch.other_db("clean");
    run(&mut command(["sync", "--repo", s(&broken), "--db", s(&clean)])).ok();
    let resumed = dump(&db);
    assert_eq!(resumed.iter().filter(|l| l.starts_with("commit")).count(), 4401);
    assert_eq!(resumed, dump(&clean));
}

/// The sync reads trees and blobs straight out of the pack files, resolving
/// each delta chain through a cache of everything it produced. Whatever the
/// pack's shape (as `git fast-import` wrote it, repacked deep with offset
/// deltas, repacked with deltas naming their base by id) or none (loose
/// objects, read through gix), the same rows are stored.
#[test]
fn packed_and_loose_objects_store_the_same() {
    let scratch = Scratch::new("pack_shapes");
    let imported = scratch.path("imported.git");
    let bare = |dir: &Path| git(&scratch.path(""), "2025-01-01 00:00", &["init", "-q", "--bare", s(dir)]);
    bare(&imported);
    // 120 commits: a file that grows by a line each time (long delta
    // chains), others edited now and then, a binary, renames and a delete.
    let mut stream = String::new();
    let mut grown = String::new();
    for n in 0..120u32 {
        let time = 1_735_000_000 + i64::from(n) * 3600;
        stream.push_str(&format!(
            "commit refs/heads/main\ncommitter Dana <dana@fulcrum.example> {time} +0000\ndata 10\nchange {n:03}\n"
        ));
        grown.push_str(&format!("line {n} of the growing file, long enough to be worth a delta\n"));
        stream.push_str(&format!("M 100644 inline src/grown.txt\ndata {}\n{grown}\n", grown.len()));
        if n % 7 == 0 {
            let body = format!("edited in {n}\n{}", "same line\n".repeat(40));
            stream.push_str(&format!("M 100644 inline src/sometimes.txt\ndata {}\n{body}\n", body.len()));
        }
        if n % 30 == 5 {
            let bytes: String = (0..64).map(|i| char::from(((i * n) % 26) as u8 + b'a')).collect();
            stream.push_str(&format!("M 100644 inline assets/logo.bin\ndata {}\n\0{bytes}\n", bytes.len() + 1));
        }
        if n == 50 {
            stream.push_str("R src/sometimes.txt src/renamed.txt\n");
        }
        if n == 90 {
            stream.push_str("D assets/logo.bin\n");
        }
    }
    fast_import(&imported, &stream);
    let head = git_read(&imported, &["rev-parse", "refs/heads/main"]);

    // Loose: every object of the pack unpacked into an empty repository.
    let loose = scratch.path("loose.git");
    bare(&loose);
    let pack = pack_file(&imported);
    let unpacked = std::process::Command::new("git")
        .current_dir(&loose)
        .args(["unpack-objects", "-q"])
        .stdin(std::fs::File::open(&pack).unwrap())
        .status()
        .unwrap();
    assert!(unpacked.success());
    git(&loose, "2025-01-01 00:00", &["update-ref", "refs/heads/main", head.trim()]);

    let synced = |repo: &Path, name: &str| {
        let db = scratch.other_db(name);
        let mut sync = command(["sync", "--repo", s(repo), "--db", s(&db)]);
        let run = run(sync.env("FULCRUM_TIMING", "1")).ok();
        let line = run.stderr.lines().find(|l| l.contains("trees and blobs read from")).unwrap_or_default().to_owned();
        // Everything but the repository's own row (its path and name).
        (dump(&db).into_iter().filter(|l| !l.starts_with("repo |")).collect::<Vec<_>>(), line)
    };
    let (expected, from_gix) = synced(&loose, "loose");
    assert!(from_gix.starts_with("sync: 0 trees and blobs read from 0 packs"), "{from_gix}");
    assert!(expected.iter().any(|l| l.starts_with("file") && l.contains("src/renamed.txt")), "{expected:?}");

    let (as_imported, read) = synced(&imported, "imported");
    assert!(read.contains("from 1 packs") && !read.contains(" 0 deltas applied"), "{read}");
    assert_eq!(as_imported, expected, "as fast-import wrote it");

    let repacked = scratch.path("repacked.git");
    git(&scratch.path(""), "2025-01-01 00:00", &["clone", "-q", "--bare", "--no-local", s(&imported), s(&repacked)]);
    git(&repacked, "2025-01-01 00:00", &["repack", "-a", "-d", "-f", "-q", "--depth=250", "--window=50"]);
    let (deep, read) = synced(&repacked, "deep");
    assert!(!read.contains(" 0 deltas applied"), "{read}");
    assert_eq!(deep, expected, "repacked with offset deltas");

    git(&repacked, "2025-01-01 00:00", &["-c", "repack.useDeltaBaseOffset=false", "repack", "-a", "-d", "-f", "-q"]);
    let (by_id, read) = synced(&repacked, "by_id");
    assert!(read.contains("from 1 packs") && !read.contains(" 0 deltas applied"), "{read}");
    assert_eq!(by_id, expected, "repacked with deltas naming their base");

    // A pack damaged in its middle (a hostile or broken clone): the sync
    // stops with an error naming the repository, or counts the blobs it
    // could not read; it never panics.
    let pack = pack_file(&repacked);
    let mut bytes = std::fs::read(&pack).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle..middle + 256].fill(0xa5);
    std::fs::write(&pack, bytes).unwrap();
    let db = scratch.other_db("damaged");
    let damaged = run(&mut command(["sync", "--repo", s(&repacked), "--db", s(&db)]));
    assert!(!damaged.stderr.contains("panicked"), "{}", damaged.stderr);
    if damaged.code != 0 {
        assert_eq!(damaged.code, 2, "{}", damaged.stderr);
        assert!(
            damaged.stderr.contains("repacked.git") && damaged.stderr.contains("git fsck"),
            "the error names the repository and what to do: {}",
            damaged.stderr
        );
    }
}

/// A loose object whose header states a size of a tebibyte (a damaged or
/// hostile clone; git writes what it is given): the sync neither makes room
/// for what it states nor dies for want of memory. The blob is counted as
/// unreadable, or the sync stops naming the repository (a damaged pack's
/// entry stating terabytes once took all of this machine's memory).
#[test]
fn an_object_stating_a_huge_size_is_not_allocated() {
    let scratch = Scratch::new("sync_huge_object");
    let dir = scratch.path("huge");
    std::fs::create_dir_all(&dir).unwrap();
    let git = |date: &str, args: &[&str]| git(&dir, date, args);
    git("2025-01-06 09:00", &["-c", "init.defaultBranch=main", "init", "-q"]);
    std::fs::write(dir.join("a.txt"), "one\n").unwrap();
    git("2025-01-06 09:00", &["add", "a.txt"]);
    git("2025-01-06 09:00", &["commit", "-q", "-m", "one"]);
    std::fs::write(dir.join("a.txt"), "one\ntwo\n").unwrap();
    git("2025-01-07 09:00", &["add", "a.txt"]);
    git("2025-01-07 09:00", &["commit", "-q", "-m", "two"]);
    let blob = git_read(&dir, &["rev-parse", "HEAD:a.txt"]);
    let blob = blob.trim();
    // zlib of "blob 1099511627776\0one\ntwo\n" in one stored block.
    let content = b"blob 1099511627776\0one\ntwo\n";
    let mut zlib = vec![0x78, 0x01, 0x01];
    let len = content.len() as u16;
    zlib.extend_from_slice(&len.to_le_bytes());
    zlib.extend_from_slice(&(!len).to_le_bytes());
    zlib.extend_from_slice(content);
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in content {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    zlib.extend_from_slice(&((b << 16) | a).to_be_bytes());
    let object = dir.join(".git/objects").join(&blob[..2]).join(&blob[2..]);
    std::fs::remove_file(&object).unwrap();
    std::fs::write(&object, zlib).unwrap();

    let db = scratch.db();
    // (`run` fails the test if the sync was killed by a signal.)
    let synced = run(command(["sync", "--repo", s(&dir), "--db", s(&db)]).env("FULCRUM_TIMING", "1"));
    assert!(!synced.stderr.contains("panicked"), "{}", synced.stderr);
    assert!(synced.stderr.contains(", 1 refused (stating more than 268435456 bytes)"), "{}", synced.stderr);
    assert!(matches!(synced.code, 0 | 2), "{}", synced.stderr);
    if synced.code == 2 {
        assert!(synced.stderr.contains("huge") && synced.stderr.contains("git fsck"), "{}", synced.stderr);
    }

    // The same in a pack: the blob's entry header rewritten to state a
    // tebibyte (a build reading it through gix allocated what a 4 GiB
    // header stated: 4.2 GB at its peak, against 22 MB refusing it).
    let packed = scratch.path("packed");
    std::fs::create_dir_all(&packed).unwrap();
    let git = |date: &str, args: &[&str]| crate::harness::git(&packed, date, args);
    git("2025-01-06 09:00", &["-c", "init.defaultBranch=main", "init", "-q"]);
    std::fs::write(packed.join("a.txt"), "one\n").unwrap();
    git("2025-01-06 09:00", &["add", "a.txt"]);
    git("2025-01-06 09:00", &["commit", "-q", "-m", "one"]);
    let lines: String = (1..=2000).map(|n| format!("{n}\n")).collect();
    std::fs::write(packed.join("a.txt"), lines).unwrap();
    git("2025-01-07 09:00", &["add", "a.txt"]);
    git("2025-01-07 09:00", &["commit", "-q", "-m", "two"]);
    git("2025-01-07 09:00", &["repack", "-a", "-d", "-q"]);
    let blob = git_read(&packed, &["rev-parse", "HEAD:a.txt"]);
    let pack_dir = packed.join(".git/objects/pack");
    let pack = std::fs::read_dir(&pack_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "pack"))
        .unwrap();
    let listing = git_read(&packed, &["verify-pack", "-v", s(&pack.with_extension("idx"))]);
    let offset: usize = listing
        .lines()
        .find(|l| l.starts_with(blob.trim()))
        .and_then(|l| l.split_whitespace().nth(4))
        .unwrap()
        .parse()
        .unwrap();
    let mut bytes = std::fs::read(&pack).unwrap();
    // A blob (type 3) of 2^40 bytes: the low four bits, then seven at a time.
    let mut size: u64 = 1 << 40;
    let mut header = vec![0x80 | (3 << 4) | (size & 0x0f) as u8];
    size >>= 4;
    while size > 0 {
        let more = if size >> 7 > 0 { 0x80 } else { 0 };
        header.push((size & 0x7f) as u8 | more);
        size >>= 7;
    }
    bytes[offset..offset + header.len()].copy_from_slice(&header);
    std::fs::remove_file(&pack).unwrap();
    std::fs::write(&pack, bytes).unwrap();
    let db = scratch.other_db("packed");
    let synced = run(command(["sync", "--repo", s(&packed), "--db", s(&db)]).env("FULCRUM_TIMING", "1"));
    assert!(!synced.stderr.contains("panicked"), "{}", synced.stderr);
    assert!(synced.stderr.contains(", 1 refused (stating more than 268435456 bytes)"), "{}", synced.stderr);
    assert!(matches!(synced.code, 0 | 2), "{}", synced.stderr);
}

/// An octopus merge of 400 branches (git makes them of any size): its
/// parents' row ids, about 1,500 bytes, stay out of the graph's index,
/// which PostgreSQL limits to about a third of a page an entry (a merge of
/// 1,500 branches failed the sync there), and every branch's commit still
/// reaches production through it.
#[test]
fn an_octopus_merge_of_hundreds_of_branches_syncs_and_ships_them_all() {
    let scratch = Scratch::new("sync_octopus");
    let dir = scratch.path("octopus");
    std::fs::create_dir_all(&dir).unwrap();
    let git = |date: &str, args: &[&str]| git(&dir, date, args);
    git("2025-01-06 09:00", &["-c", "init.defaultBranch=main", "init", "-q"]);
    let tree = git("2025-01-06 09:00", &["write-tree"]);
    let base = git("2025-01-06 09:00", &["commit-tree", &tree, "-m", "base"]);
    let mut args = vec!["commit-tree".to_owned(), tree.clone(), "-m".to_owned(), "merge".to_owned()];
    args.extend(["-p".to_owned(), base.clone()]);
    for i in 0..400 {
        let branch = git("2025-01-07 09:00", &["commit-tree", &tree, "-p", &base, "-m", &format!("branch {i}")]);
        args.extend(["-p".to_owned(), branch]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let merge = git("2025-01-08 09:00", &args);
    git("2025-01-08 09:00", &["update-ref", "refs/heads/main", &merge]);

    let db = scratch.db();
    sync(&dir, &db);
    let report = crate::harness::report_json(
        &dir,
        &db,
        &["--no-sync", "--deploy-mode", "trunk", "--since", "2025-01-01", "--until", "2025-02-01"],
    );
    assert_eq!(report["dora"]["lead_time"]["value"]["summary"]["count"], 400, "{}", report["dora"]["lead_time"]);
    let wide = open_db(&db).value::<i64>("SELECT COUNT(*) FROM commits WHERE parent_rows = '*'");
    assert_eq!(wide, 1);
}
