//! The test harness: fixture repositories (built once per run by
//! `tests/fixtures/make-repos.sh`), a scratch directory per test, the
//! `fulcrum` binary run with a fixed clock, `git` run with fixed dates, and
//! read-only looks into the database.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

/// "Now" for every run of the binary: reports and windows are reproducible.
pub const NOW: &str = "2025-03-01";

/// The fixture repositories, built once per test run.
pub struct Fixtures {
    /// Root of this run's temporary files (canonical; snapshots scrub it).
    pub root: PathBuf,
    /// `HOME` for git and fulcrum: empty, so no user configuration leaks in.
    pub home: PathBuf,
}

/// Builds the fixtures on first use.
pub fn fixtures() -> &'static Fixtures {
    static FIXTURES: OnceLock<Fixtures> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let base = std::env::temp_dir();
        remove_stale_runs(&base);
        let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().subsec_nanos();
        let root = base.join(format!("fulcrum-it-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&root).unwrap();
        let root = root.canonicalize().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/make-repos.sh");
        let output = Command::new("bash").arg(&script).arg(root.join("repos")).output().unwrap();
        assert!(
            output.status.success(),
            "{} failed:\n{}{}",
            script.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let home = root.join("repos/.home");
        Fixtures { root, home }
    })
}

/// Removes what earlier runs left in the temporary directory (older than an hour).
fn remove_stale_runs(base: &Path) {
    let Ok(entries) = std::fs::read_dir(base) else { return };
    for entry in entries.flatten() {
        let stale = entry.file_name().to_string_lossy().starts_with("fulcrum-it-")
            && entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > Duration::from_secs(3600)));
        if stale {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// A fixture repository (read-only: tests that change one work on a copy).
pub fn repo(name: &str) -> PathBuf {
    fixtures().root.join("repos").join(name)
}

/// A fresh directory for one test, with its own database.
pub struct Scratch {
    /// The directory.
    pub dir: PathBuf,
}

impl Scratch {
    /// An empty directory named after the test.
    pub fn new(test: &str) -> Scratch {
        let dir = fixtures().root.join("tests").join(test);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch { dir }
    }

    /// The test's database (`db.sqlite`).
    pub fn db(&self) -> PathBuf {
        self.dir.join("db.sqlite")
    }

    /// Another database in the test's directory.
    pub fn other_db(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.sqlite"))
    }

    /// A path in the test's directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Copies fixture repository `name` to `<dir>/<name>` (same name, so the
    /// report's service name stays the same) and returns the copy.
    pub fn copy_repo(&self, name: &str) -> PathBuf {
        let target = self.dir.join(name);
        let status = Command::new("cp").arg("-R").arg(repo(name)).arg(&target).status().unwrap();
        assert!(status.success(), "cp -R {name}");
        target
    }
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    /// Exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Asserts exit code 0.
    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(self.code, 0, "expected success\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }

    /// Asserts exit code 2 (bad input) with an `error:` message on stderr
    /// containing every one of `needles`, and nothing on stdout.
    #[track_caller]
    pub fn bad_input(self, needles: &[&str]) -> Run {
        assert_eq!(self.code, 2, "expected exit code 2\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        assert!(self.stderr.starts_with("error: "), "stderr: {}", self.stderr);
        for needle in needles {
            assert!(self.stderr.contains(needle), "stderr lacks {needle:?}:\n{}", self.stderr);
        }
        assert_eq!(self.stdout, "", "nothing on stdout after an error");
        self
    }

    /// Standard output parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", self.stdout))
    }
}

/// The `fulcrum` binary with a fixed clock, no colour and an empty environment.
pub fn command<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut command = Command::new(env!("CARGO_BIN_EXE_fulcrum"));
    // Nothing of the caller's environment (FULCRUM_DB, FULCRUM_TIMING, …) leaks in.
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("FULCRUM_NOW", NOW)
        .env("NO_COLOR", "1")
        .env("HOME", &fixtures().home)
        .stdin(Stdio::null());
    command
}

/// Runs the binary to completion.
pub fn fulcrum<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run(&mut command(args))
}

/// Runs a prepared command to completion.
pub fn run(command: &mut Command) -> Run {
    let output = command.output().unwrap();
    Run {
        code: output.status.code().expect("not killed by a signal"),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// `fulcrum report --format json` of `repo` into `db`, plus `extra` flags.
pub fn report_json(repo: &Path, db: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["report", "--repo", s(repo), "--db", s(db), "--format", "json"];
    args.extend_from_slice(extra);
    fulcrum(args).ok().json()
}

/// `report --no-sync --format json`: what the database holds, nothing else.
pub fn stored_report(repo: &Path, db: &Path) -> serde_json::Value {
    report_json(repo, db, &["--no-sync"])
}

/// `fulcrum sync` of `repo` into `db`; returns stderr (the summary line).
pub fn sync(repo: &Path, db: &Path) -> String {
    fulcrum(["sync", "--repo", s(repo), "--db", s(db)]).ok().stderr
}

/// A path as a `&str` (temporary paths are UTF-8).
pub fn s(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

/// Runs git in `dir` isolated from user configuration, with commit and tag
/// dates fixed to `date` ("YYYY-MM-DD HH:MM", UTC) and a fixed identity.
/// Returns stdout, trimmed.
pub fn git(dir: &Path, date: &str, args: &[&str]) -> String {
    let date = format!("{date}:00 +0000");
    let output = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("HOME", &fixtures().home)
        .env("TZ", "UTC")
        .env("GIT_AUTHOR_NAME", "Dana Dev")
        .env("GIT_AUTHOR_EMAIL", "dana@fulcrum.example")
        .env("GIT_COMMITTER_NAME", "Fixture CI")
        .env("GIT_COMMITTER_EMAIL", "ci@fulcrum.example")
        .env("GIT_AUTHOR_DATE", &date)
        .env("GIT_COMMITTER_DATE", &date)
        .output()
        .unwrap();
    assert!(output.status.success(), "git {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// Reads git output that does not depend on dates.
pub fn git_read(dir: &Path, args: &[&str]) -> String {
    git(dir, "2025-01-01 00:00", args)
}

/// Seconds since the epoch of a UTC time "YYYY-MM-DD HH:MM" (proleptic
/// Gregorian; Howard Hinnant's `days_from_civil`).
pub fn utc(text: &str) -> i64 {
    let number = |range: std::ops::Range<usize>| text[range].parse::<i64>().unwrap();
    let (y, m, d, hh, mm) = (number(0..4), number(5..7), number(8..10), number(11..13), number(14..16));
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + hh * 3600 + mm * 60
}

/// Opens the database read-only (never while asserting on a writer's
/// behaviour would it need more).
pub fn open_db(db: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap()
}

/// Row counts of the tables a sync writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// `commits`.
    pub commits: i64,
    /// Parent links (the ids in `commits.parents`).
    pub parents: i64,
    /// `file_changes`.
    pub file_changes: i64,
    /// `commit_trailers`.
    pub trailers: i64,
    /// `refs`.
    pub refs: i64,
}

/// Row counts of `db`.
pub fn counts(db: &Path) -> Counts {
    let conn = open_db(db);
    let count =
        |table: &str| -> i64 { conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0)).unwrap() };
    Counts {
        commits: count("commits"),
        parents: {
            let mut stmt = conn.prepare("SELECT parents FROM commits").unwrap();
            let lists = stmt.query_map([], |r| r.get::<_, String>(0)).unwrap();
            lists.map(|list| list.unwrap().split_ascii_whitespace().count() as i64).sum()
        },
        file_changes: count("file_changes"),
        trailers: count("commit_trailers"),
        refs: count("refs"),
    }
}

/// Every row a sync writes, as sorted text lines keyed by commit id rather
/// than row id, so two databases can be compared.
pub fn dump(db: &Path) -> Vec<String> {
    let conn = open_db(db);
    let queries = [
        "SELECT 'commit', sha, author_name, author_email, author_time, author_offset, committer_name,
                committer_email, committer_time, committer_offset, subject, reverts, parents, missing_blobs
         FROM commits",
        "SELECT 'file', c.sha, f.path, f.old_path, f.kind, f.added, f.removed
         FROM file_changes f JOIN commits c ON c.id = f.commit_id",
        "SELECT 'trailer', c.sha, t.key, t.value FROM commit_trailers t JOIN commits c ON c.id = t.commit_id",
        "SELECT 'ref', name, kind, commit_sha, tagged_at FROM refs",
        "SELECT 'repo', path, name, head_branch, shallow, mailmap, sync_complete, last_sync_at FROM repos",
    ];
    let mut lines = Vec::new();
    for sql in queries {
        let mut stmt = conn.prepare(sql).unwrap();
        let columns = stmt.column_count();
        let rows = stmt
            .query_map([], |row| {
                let values: Vec<String> = (0..columns)
                    .map(|i| match row.get_ref(i).unwrap() {
                        rusqlite::types::ValueRef::Null => "NULL".to_owned(),
                        rusqlite::types::ValueRef::Integer(n) => n.to_string(),
                        rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                        other => format!("{other:?}"),
                    })
                    .collect();
                Ok(values.join(" | "))
            })
            .unwrap();
        lines.extend(rows.map(Result::unwrap));
    }
    lines.sort();
    lines
}

/// Polls `db` (read-only) until more than `already` commits are stored;
/// `false` on timeout.
pub fn wait_for_stored_commits(db: &Path, already: i64, timeout: Duration) -> bool {
    let started = std::time::Instant::now();
    while started.elapsed() < timeout {
        if db.exists()
            && let Ok(conn) = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            && conn.query_row("SELECT COUNT(*) FROM commits", [], |r| r.get::<_, i64>(0)).is_ok_and(|n| n > already)
        {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}
