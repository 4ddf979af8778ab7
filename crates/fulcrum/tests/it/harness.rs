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
    // On PostgreSQL, every `--db PATH` names a schema of its own instead.
    let mut args: Vec<std::ffi::OsString> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    if postgres().is_some() {
        for i in 1..args.len() {
            if args[i - 1] == "--db" {
                args[i] = database(Path::new(&args[i])).into();
            }
        }
    }
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

/// The PostgreSQL server the suite runs against (`FULCRUM_TEST_POSTGRES`, a
/// URL such as `postgres://fulcrum@127.0.0.1:5432/postgres`), or `None` for
/// SQLite. `.ci/run` runs the suite once each way.
pub fn postgres() -> Option<&'static str> {
    static URL: OnceLock<Option<String>> = OnceLock::new();
    URL.get_or_init(|| std::env::var("FULCRUM_TEST_POSTGRES").ok().filter(|u| !u.is_empty())).as_deref()
}

/// What a test's `--db PATH` becomes: the path itself on SQLite; on
/// PostgreSQL a URL whose search path is a schema named after the path
/// (made on first use), so tests stay apart as their files do.
pub fn database(path: &Path) -> String {
    let Some(base) = postgres() else { return s(path).to_owned() };
    static MADE: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    // FNV-1a of the path: short, stable, and unique enough for one run.
    let hash = path
        .as_os_str()
        .as_encoded_bytes()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    let schema = format!("t{hash:016x}");
    let mut made = MADE.lock().unwrap();
    if !made.contains(&schema) {
        let mut client = postgres::Client::connect(base, postgres::NoTls).expect("the test PostgreSQL server");
        client.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}")).unwrap();
        made.push(schema.clone());
    }
    let separator = if base.contains('?') { '&' } else { '?' };
    format!("{base}{separator}options=-csearch_path%3D{schema}")
}

/// Whether to skip a test that looks at SQLite itself (its file, its locks,
/// its errors): on PostgreSQL it is skipped, and says so.
pub fn skip_on_postgres(test: &str) -> bool {
    let skip = postgres().is_some();
    if skip {
        eprintln!("{test}: about SQLite's file itself; not run on PostgreSQL");
    }
    skip
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

/// Seconds since the epoch of a UTC time "YYYY-MM-DD HH:MM", or with
/// seconds "YYYY-MM-DDTHH:MM:SS" (proleptic Gregorian; Howard Hinnant's
/// `days_from_civil`).
pub fn utc(text: &str) -> i64 {
    let number = |range: std::ops::Range<usize>| text[range].parse::<i64>().unwrap();
    let (y, m, d, hh, mm) = (number(0..4), number(5..7), number(8..10), number(11..13), number(14..16));
    let ss = if text.len() >= 19 && &text[16..17] == ":" { number(17..19) } else { 0 };
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + hh * 3600 + mm * 60 + ss
}

/// A value read by [`TestDb`].
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// `NULL`.
    Null,
    /// An integer (or a boolean, on PostgreSQL).
    Int(i64),
    /// A real number.
    Real(f64),
    /// Text.
    Text(String),
}

impl std::fmt::Display for Cell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cell::Null => f.write_str("NULL"),
            Cell::Int(v) => write!(f, "{v}"),
            Cell::Real(v) => write!(f, "{v}"),
            Cell::Text(t) => f.write_str(t),
        }
    }
}

/// What a column is read as.
pub trait FromCell: Sized {
    /// The value, or a panic naming what was found.
    fn from_cell(cell: Cell) -> Self;
}
impl FromCell for i64 {
    fn from_cell(cell: Cell) -> Self {
        match cell {
            Cell::Int(v) => v,
            other => panic!("expected an integer, found {other:?}"),
        }
    }
}
impl FromCell for String {
    fn from_cell(cell: Cell) -> Self {
        match cell {
            Cell::Text(t) => t,
            other => panic!("expected text, found {other:?}"),
        }
    }
}
impl<T: FromCell> FromCell for Option<T> {
    fn from_cell(cell: Cell) -> Self {
        match cell {
            Cell::Null => None,
            other => Some(T::from_cell(other)),
        }
    }
}

/// What a row is read as: a tuple of columns.
pub trait FromRow: Sized {
    /// The tuple.
    fn from_row(row: Vec<Cell>) -> Self;
}
macro_rules! from_row {
    ($($t:ident),+) => {
        impl<$($t: FromCell),+> FromRow for ($($t,)+) {
            fn from_row(row: Vec<Cell>) -> Self {
                let mut cells = row.into_iter();
                ($($t::from_cell(cells.next().expect("a column per tuple field")),)+)
            }
        }
    };
}
from_row!(A);
from_row!(A, B);
from_row!(A, B, C);
from_row!(A, B, C, D);
from_row!(A, B, C, D, E);
from_row!(A, B, C, D, E, F);
from_row!(A, B, C, D, E, F, G);

/// A look into a test's database, on either backend. Queries are written in
/// SQL both speak, values inlined (tests hold no untrusted text).
pub enum TestDb {
    /// The SQLite file.
    Sqlite(rusqlite::Connection),
    /// The test's PostgreSQL schema.
    Postgres(std::cell::RefCell<postgres::Client>),
}

impl TestDb {
    /// Every row of `sql`, or the error.
    pub fn try_rows(&self, sql: &str) -> Result<Vec<Vec<Cell>>, String> {
        match self {
            TestDb::Sqlite(conn) => {
                let mut statement = conn.prepare(sql).map_err(|e| e.to_string())?;
                let columns = statement.column_count();
                let rows = statement
                    .query_map([], |row| {
                        (0..columns)
                            .map(|i| {
                                Ok(match row.get_ref(i)? {
                                    rusqlite::types::ValueRef::Null => Cell::Null,
                                    rusqlite::types::ValueRef::Integer(n) => Cell::Int(n),
                                    rusqlite::types::ValueRef::Real(v) => Cell::Real(v),
                                    rusqlite::types::ValueRef::Text(t) => {
                                        Cell::Text(String::from_utf8_lossy(t).into_owned())
                                    }
                                    other => Cell::Text(format!("{other:?}")),
                                })
                            })
                            .collect::<Result<Vec<_>, rusqlite::Error>>()
                    })
                    .map_err(|e| e.to_string())?;
                rows.collect::<Result<_, _>>().map_err(|e| e.to_string())
            }
            TestDb::Postgres(client) => {
                use postgres::types::Type;
                // Each value read as its column's type says.
                let rows = client.borrow_mut().query(sql, &[]).map_err(|e| e.to_string())?;
                Ok(rows
                    .iter()
                    .map(|row| {
                        (0..row.len())
                            .map(|i| match *row.columns()[i].type_() {
                                Type::INT8 => row.get::<_, Option<i64>>(i).map_or(Cell::Null, Cell::Int),
                                Type::INT4 => row.get::<_, Option<i32>>(i).map_or(Cell::Null, |v| Cell::Int(v.into())),
                                Type::BOOL => row.get::<_, Option<bool>>(i).map_or(Cell::Null, |v| Cell::Int(v.into())),
                                Type::FLOAT8 => row.get::<_, Option<f64>>(i).map_or(Cell::Null, Cell::Real),
                                _ => row.get::<_, Option<String>>(i).map_or(Cell::Null, Cell::Text),
                            })
                            .collect()
                    })
                    .collect())
            }
        }
    }

    /// Every row of `sql`.
    #[track_caller]
    pub fn rows(&self, sql: &str) -> Vec<Vec<Cell>> {
        self.try_rows(sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// The first row of `sql` as a tuple.
    #[track_caller]
    pub fn row<T: FromRow>(&self, sql: &str) -> T {
        T::from_row(self.rows(sql).into_iter().next().unwrap_or_else(|| panic!("{sql}: no rows")))
    }

    /// The first column of every row of `sql`.
    #[track_caller]
    pub fn column<T: FromCell>(&self, sql: &str) -> Vec<T> {
        self.rows(sql).into_iter().map(|row| T::from_cell(row.into_iter().next().unwrap())).collect()
    }

    /// The one value of `sql`.
    #[track_caller]
    pub fn value<T: FromCell>(&self, sql: &str) -> T {
        self.row::<(T,)>(sql).0
    }

    /// `SELECT COUNT(*) FROM table`.
    #[track_caller]
    pub fn count(&self, table: &str) -> i64 {
        self.value(&format!("SELECT COUNT(*) FROM {table}"))
    }

    /// Every pull request's commits as stored (schema 18 packs them into
    /// `pr_children`), read by this suite's own reading of the layout.
    #[track_caller]
    pub fn pr_commits(&self) -> Vec<StoredCommit> {
        let mut out = Vec::new();
        for (pr_id, times, ids) in self.rows_of::<(i64, String, String)>(
            "SELECT c.pr_id, c.commit_times, COALESCE(i.commit_ids, '') FROM pr_children c
             LEFT JOIN pr_commit_ids i ON i.pr_id = c.pr_id ORDER BY c.pr_id",
        ) {
            let times: Vec<i64> =
                if times.is_empty() { Vec::new() } else { times.split(',').map(|t| t.parse().unwrap()).collect() };
            let mut rest = ids.as_str();
            for authored_at in times {
                let sha = sized(&mut rest);
                let author = sized(&mut rest);
                out.push(StoredCommit { pr_id, sha, author, authored_at });
            }
            assert!(rest.is_empty(), "pull request {pr_id}: commit ids left over: {rest:?}");
        }
        out
    }

    /// Every pull request's activities as stored (in `pr_children`).
    #[track_caller]
    pub fn pr_activities(&self) -> Vec<StoredActivity> {
        let mut out = Vec::new();
        for (pr_id, text) in self.rows_of::<(i64, String)>("SELECT pr_id, activities FROM pr_children ORDER BY pr_id") {
            let mut rest = text.as_str();
            while !rest.is_empty() {
                let (at, after) = rest.split_once(',').unwrap();
                let (kind, mut after) = after.split_once(',').unwrap();
                let author = sized(&mut after);
                out.push(StoredActivity { pr_id, author, at: at.parse().unwrap(), kind: kind.to_owned() });
                rest = after;
            }
        }
        out
    }

    fn rows_of<T: FromRow>(&self, sql: &str) -> Vec<T> {
        self.rows(sql).into_iter().map(T::from_row).collect()
    }

    /// Runs statements that change the database.
    #[track_caller]
    pub fn execute(&self, sql: &str) {
        match self {
            TestDb::Sqlite(conn) => conn.execute_batch(sql).unwrap_or_else(|e| panic!("{sql}: {e}")),
            TestDb::Postgres(client) => client.borrow_mut().batch_execute(sql).unwrap_or_else(|e| panic!("{sql}: {e}")),
        }
    }
}

/// A commit of a pull request, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCommit {
    pub pr_id: i64,
    pub sha: String,
    pub author: String,
    pub authored_at: i64,
}

/// A review or comment on a pull request, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredActivity {
    pub pr_id: i64,
    pub author: String,
    pub at: i64,
    pub kind: String,
}

/// `LEN:TEXT` off the front of `rest` (`LEN` in bytes).
fn sized(rest: &mut &str) -> String {
    let (len, after) = rest.split_once(':').expect("a length");
    let len: usize = len.parse().expect("a length in bytes");
    let (value, after) = after.split_at(len);
    *rest = after;
    value.to_owned()
}

/// Opens the test's database (`--db PATH` of its commands) on the backend
/// the suite runs on: the SQLite file read-only, or its PostgreSQL schema.
pub fn open_db(db: &Path) -> TestDb {
    try_open_db(db, false).unwrap_or_else(|e| panic!("{}: {e}", db.display()))
}

/// [`open_db`], writable when `writes`; an error when there is no database yet.
pub fn try_open_db(db: &Path, writes: bool) -> Result<TestDb, String> {
    if postgres().is_some() {
        let client = postgres::Client::connect(&database(db), postgres::NoTls).map_err(|e| e.to_string())?;
        return Ok(TestDb::Postgres(std::cell::RefCell::new(client)));
    }
    if !db.exists() {
        return Err("no database".to_owned());
    }
    let flags =
        if writes { rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE } else { rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY };
    rusqlite::Connection::open_with_flags(db, flags).map(TestDb::Sqlite).map_err(|e| e.to_string())
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
    Counts {
        commits: conn.count("commits"),
        parents: conn
            .column::<String>("SELECT parents FROM commits")
            .iter()
            .map(|list| list.split_ascii_whitespace().count() as i64)
            .sum(),
        file_changes: conn.count("file_changes"),
        trailers: conn.count("commit_trailers"),
        refs: conn.count("refs"),
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
        "SELECT 'file', c.sha, p.path, o.path, f.kind, f.added, f.removed
         FROM file_changes f JOIN commits c ON c.id = f.commit_id JOIN paths p ON p.id = f.path_id LEFT JOIN paths o ON o.id = f.old_path_id",
        "SELECT 'trailer', c.sha, t.key, t.value FROM commit_trailers t JOIN commits c ON c.id = t.commit_id",
        "SELECT 'ref', name, kind, commit_sha, tagged_at FROM refs",
        "SELECT 'repo', path, name, head_branch, shallow, mailmap, sync_complete, last_sync_at FROM repos",
    ];
    let mut lines = Vec::new();
    for sql in queries {
        for row in conn.rows(sql) {
            lines.push(row.iter().map(ToString::to_string).collect::<Vec<_>>().join(" | "));
        }
    }
    lines.sort();
    lines
}

/// Polls `db` (read-only) until more than `already` commits are stored;
/// `false` on timeout.
pub fn wait_for_stored_commits(db: &Path, already: i64, timeout: Duration) -> bool {
    let started = std::time::Instant::now();
    while started.elapsed() < timeout {
        if let Ok(conn) = try_open_db(db, false)
            && conn
                .try_rows("SELECT COUNT(*) FROM commits")
                .is_ok_and(|rows| matches!(rows[0][0], Cell::Int(n) if n > already))
        {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}
