//! The store: the only module that runs SQL. An embedded SQLite database
//! with versioned migrations (`store/NNNN_*.sql`).
//!
//! SQL is written to run on PostgreSQL too (`?N` numbered parameters, which a
//! PostgreSQL backend rewrites to `$N`;
//! `ON CONFLICT`, `RETURNING`, integer epoch seconds), so that a second
//! backend can sit behind the same methods with the same tests.
//!
//! Writes are transactional: a batch of commits lands with all of its file
//! changes or not at all, so a sync killed at any point leaves a consistent
//! database that the next sync completes.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};

use crate::sources::git::{CommitRecord, RefKind, RefRecord};

mod accounts;
mod events;

pub use accounts::{SessionRow, User};
pub use events::{CachedPage, DeploymentEvent, EventBatch, EventCounts, EventFilter, IncidentEvent, PrLabel};

/// `PRAGMA application_id` of a fulcrum database ("FULC").
const APPLICATION_ID: i64 = 0x4655_4C43;

/// Migrations in order; the schema version is the number applied.
const MIGRATIONS: &[&str] = &[
    include_str!("store/0001_init.sql"),
    include_str!("store/0002_events.sql"),
    include_str!("store/0003_pr_size_known.sql"),
    include_str!("store/0004_pr_title_url.sql"),
    include_str!("store/0005_api_tokens.sql"),
    include_str!("store/0006_accounts.sql"),
];

/// Failures of the store. All name the database file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file exists but is not a fulcrum database (or not SQLite at all).
    #[error(
        "{path}: not a fulcrum database or unreadable ({reason}); pass --db with another path, or move the file away"
    )]
    Unreadable {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        reason: String,
    },
    /// The schema is newer than this binary knows.
    #[error(
        "{path}: written by a newer fulcrum (schema version {found}, this one knows up to {known}); upgrade fulcrum or pass --db with another path"
    )]
    TooNew {
        /// The database file.
        path: PathBuf,
        /// Version in the file.
        found: i64,
        /// Latest version this binary knows.
        known: i64,
    },
    /// Another process holds the sync lock.
    #[error("{path}: another fulcrum is syncing this database; wait for it to finish, or pass --db with another path")]
    Locked {
        /// The database file.
        path: PathBuf,
    },
    /// The directory of the database cannot be created.
    #[error("{path}: cannot create the database directory ({reason}); pass --db with a writable path")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// What the OS said.
        reason: String,
    },
    /// The lock file beside the database cannot be opened.
    #[error("{path}: cannot open the sync lock file ({reason}); pass --db with a path in a writable directory")]
    LockFile {
        /// The lock file.
        path: PathBuf,
        /// What the OS said.
        reason: String,
    },
    /// The database (or its directory) cannot be written.
    #[error(
        "{path}: the database is read-only ({reason}); make the file and its directory writable, \
         or pass --db with a writable path"
    )]
    ReadOnly {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        reason: String,
    },
    /// The file is damaged.
    #[error(
        "{path}: the database is damaged ({reason}); restore it from a backup, or move it away and run \
         `fulcrum sync` / `fulcrum import` again to rebuild it"
    )]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        reason: String,
    },
    /// Another process held the database longer than the busy timeout.
    #[error(
        "{path}: another fulcrum kept the database busy for over {seconds} s; nothing was written by this \
         command's unfinished step; run it again when the other one has finished"
    )]
    Busy {
        /// The database file.
        path: PathBuf,
        /// The busy timeout.
        seconds: u64,
    },
    /// Any other SQLite failure.
    #[error("{path}: database error: {message}")]
    Sql {
        /// The database file.
        path: PathBuf,
        /// The underlying error, as text (once: it is not a `source`).
        message: String,
    },
}

/// `path` for an SQLite `file:` URI: absolute, percent-encoded.
fn uri_path(path: &Path) -> String {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let mut out = String::new();
    for b in absolute.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// How long a writer waits for another one before giving up.
pub const BUSY_TIMEOUT_SECONDS: u64 = 60;

/// A SQLite failure on `path`, classified: read-only, damaged and busy
/// databases are the user's to fix (exit code 2); the rest are failures.
pub(crate) fn sql_error(path: &Path, error: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode;
    let path = path.to_owned();
    let code = match &error {
        rusqlite::Error::SqliteFailure(failure, _) => Some(failure.code),
        _ => None,
    };
    let reason = error.to_string();
    match code {
        Some(ErrorCode::ReadOnly) | Some(ErrorCode::CannotOpen) | Some(ErrorCode::PermissionDenied) => {
            StoreError::ReadOnly { path, reason }
        }
        Some(ErrorCode::DatabaseCorrupt) | Some(ErrorCode::NotADatabase) => StoreError::Corrupt { path, reason },
        Some(ErrorCode::DatabaseBusy) | Some(ErrorCode::DatabaseLocked) => {
            StoreError::Busy { path, seconds: BUSY_TIMEOUT_SECONDS }
        }
        _ => StoreError::Sql { path, message: reason },
    }
}

/// A handle on the database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// Held while a sync writes; dropped (and released) when it ends or the
/// process dies.
pub struct SyncLock {
    _file: File,
}

/// What the store remembers of a repository between syncs.
#[derive(Debug, Clone, Default)]
pub struct RepoState {
    /// Database id.
    pub id: i64,
    /// Refs as of the last finished sync.
    pub refs: Vec<RefRecord>,
    /// Whether the last sync finished.
    pub sync_complete: bool,
    /// Branch named by `HEAD` at the last sync.
    pub head_branch: Option<String>,
    /// Whether the repository was a shallow clone at the last sync.
    pub shallow: bool,
    /// `.mailmap` text at the last sync.
    pub mailmap: Option<String>,
    /// When the last sync finished.
    pub last_sync_at: Option<i64>,
}

/// A commit as the report needs it.
#[derive(Debug, Clone)]
pub struct StoredCommit {
    /// Database row id (what [`StoredChange::commit`] refers to).
    pub row_id: i64,
    /// Hex id.
    pub sha: String,
    /// Parent ids in order.
    pub parents: Vec<String>,
    /// Author name as recorded.
    pub author_name: String,
    /// Author e-mail as recorded.
    pub author_email: String,
    /// Author time, UTC seconds.
    pub author_time: i64,
    /// Author offset, minutes.
    pub author_offset: i32,
    /// Committer time, UTC seconds.
    pub committer_time: i64,
    /// First line of the message.
    pub subject: String,
    /// Reverted commit, if any.
    pub reverts: Option<String>,
}

/// One stored file change.
#[derive(Debug, Clone)]
pub struct StoredChange {
    /// Row id of the commit.
    pub commit: i64,
    /// Path after the change.
    pub path: String,
    /// Path before a rename.
    pub old_path: Option<String>,
    /// `A`, `M`, `D` or `R`.
    pub kind: String,
}

/// Totals shown in the report's header.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RepoTotals {
    /// Commits stored.
    pub commits: u64,
    /// Blobs that could not be read during syncs.
    pub missing_blobs: u64,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its
    /// schema up to date.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::CreateDir { path: dir.to_owned(), reason: e.to_string() })?;
        }
        let unreadable = |e: rusqlite::Error| StoreError::Unreadable { path: path.to_owned(), reason: e.to_string() };
        let conn = Connection::open(path).map_err(unreadable)?;
        conn.busy_timeout(std::time::Duration::from_secs(BUSY_TIMEOUT_SECONDS)).map_err(unreadable)?;

        conn.pragma_update(None, "foreign_keys", "ON").map_err(unreadable)?;
        // Reports read whole tables: a larger cache and memory-mapped reads
        // avoid a system call per page.
        conn.pragma_update(None, "cache_size", -65_536).map_err(unreadable)?;
        conn.pragma_update(None, "mmap_size", 1_i64 << 30).map_err(unreadable)?;
        let mut store = Store { conn, path: path.to_owned() };
        store.migrate()?;
        // WAL keeps readers going during a sync and survives kill -9
        // consistently. Set only once the file is known to be fulcrum's.
        store.conn.pragma_update(None, "journal_mode", "WAL").map_err(unreadable)?;
        store.conn.pragma_update(None, "synchronous", "NORMAL").map_err(unreadable)?;
        Ok(store)
    }

    /// Opens an existing database for reading only: nothing is migrated or
    /// written, so it works on a read-only file or in a read-only directory.
    /// A database of an older schema is upgraded first (by [`Store::open`]),
    /// which needs write access.
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        use rusqlite::OpenFlags;
        let unreadable = |e: rusqlite::Error| StoreError::Unreadable { path: path.to_owned(), reason: e.to_string() };
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
        let open = |uri: String| -> Result<(Connection, i64, i64), rusqlite::Error> {
            let conn = Connection::open_with_flags(uri, flags)?;
            conn.busy_timeout(std::time::Duration::from_secs(BUSY_TIMEOUT_SECONDS))?;
            let application_id: i64 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
            let version: i64 = conn
                .query_row("SELECT value FROM meta WHERE key = 'schema_version'", [], |r| r.get::<_, String>(0))
                .optional()?
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            Ok((conn, application_id, version))
        };
        let uri = format!("file:{}", uri_path(path));
        let (conn, application_id, version) = match open(uri.clone()) {
            Ok(opened) => opened,
            // A WAL database whose directory cannot hold the shared-memory
            // file: nobody can be writing it, so read it as immutable.
            Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::CannotOpen => {
                open(format!("{uri}?immutable=1")).map_err(unreadable)?
            }
            Err(e @ rusqlite::Error::SqliteFailure(..)) => {
                return Err(match sql_error(path, e) {
                    StoreError::Sql { message, .. } => {
                        StoreError::Unreadable { path: path.to_owned(), reason: message }
                    }
                    other => other,
                });
            }
            Err(e) => return Err(unreadable(e)),
        };
        if application_id != APPLICATION_ID {
            return Err(StoreError::Unreadable { path: path.to_owned(), reason: "not fulcrum's database".to_owned() });
        }
        let known = MIGRATIONS.len() as i64;
        if version > known {
            return Err(StoreError::TooNew { path: path.to_owned(), found: version, known });
        }
        if version < known {
            drop(conn);
            return Store::open(path);
        }
        conn.pragma_update(None, "cache_size", -65_536).map_err(unreadable)?;
        conn.pragma_update(None, "mmap_size", 1_i64 << 30).map_err(unreadable)?;
        Ok(Store { conn, path: path.to_owned() })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn sql(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        |source| sql_error(&self.path, source)
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let path = self.path.clone();
        let unreadable = |e: rusqlite::Error| StoreError::Unreadable { path: path.clone(), reason: e.to_string() };
        let sql = |source| sql_error(&path, source);
        // One writer at a time: a second process opening a new database waits
        // here (busy timeout) and then sees the schema the first one made.
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(sql)?;
        let application_id: i64 = tx.query_row("PRAGMA application_id", [], |r| r.get(0)).map_err(unreadable)?;
        let has_meta: bool = tx
            .query_row("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'", [], |r| {
                r.get::<_, i64>(0)
            })
            .map_err(unreadable)?
            > 0;
        let other_tables: i64 = tx
            .query_row("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name <> 'meta'", [], |r| r.get(0))
            .map_err(unreadable)?;
        let foreign = |reason: &str| StoreError::Unreadable { path: path.clone(), reason: reason.to_owned() };
        if application_id != 0 && application_id != APPLICATION_ID {
            return Err(foreign("another application's SQLite database"));
        }
        if !has_meta && other_tables > 0 {
            return Err(foreign("an SQLite database with tables that are not fulcrum's"));
        }
        tx.execute_batch("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            .map_err(unreadable)?;
        let version: i64 = tx
            .query_row("SELECT value FROM meta WHERE key = 'schema_version'", [], |r| r.get::<_, String>(0))
            .optional()
            .map_err(unreadable)?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let known = MIGRATIONS.len() as i64;
        if version > known {
            return Err(StoreError::TooNew { path: path.clone(), found: version, known });
        }
        for (index, migration) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.execute_batch(migration).map_err(unreadable)?;
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![(index + 1).to_string()],
            )
            .map_err(unreadable)?;
        }
        if application_id == 0 {
            tx.pragma_update(None, "application_id", APPLICATION_ID).map_err(unreadable)?;
        }
        tx.commit().map_err(sql)
    }

    /// Takes the exclusive sync lock (a lock file beside the database).
    pub fn lock_for_sync(&self) -> Result<SyncLock, StoreError> {
        let mut lock_path = self.path.clone().into_os_string();
        lock_path.push(".lock");
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| StoreError::LockFile { path: PathBuf::from(&lock_path), reason: e.to_string() })?;
        match file.try_lock() {
            Ok(()) => Ok(SyncLock { _file: file }),
            Err(_) => Err(StoreError::Locked { path: self.path.clone() }),
        }
    }

    /// The repository row for `path`, created when new.
    pub fn repo_state(&self, path: &str, name: &str) -> Result<RepoState, StoreError> {
        self.conn
            .execute(
                "INSERT INTO repos (path, name) VALUES (?1, ?2) ON CONFLICT (path) DO NOTHING",
                params![path, name],
            )
            .map_err(self.sql())?;
        self.find_repo(path)?.ok_or_else(|| sql_error(&self.path, rusqlite::Error::QueryReturnedNoRows))
    }

    /// The repository row for `path`, if it was ever synced.
    pub fn find_repo(&self, path: &str) -> Result<Option<RepoState>, StoreError> {
        let row = self
            .conn
            .query_row(
                "SELECT id, sync_complete, head_branch, shallow, mailmap, last_sync_at FROM repos WHERE path = ?1",
                params![path],
                |r| {
                    Ok(RepoState {
                        id: r.get(0)?,
                        sync_complete: r.get::<_, i64>(1)? != 0,
                        head_branch: r.get(2)?,
                        shallow: r.get::<_, i64>(3)? != 0,
                        mailmap: r.get(4)?,
                        last_sync_at: r.get(5)?,
                        refs: Vec::new(),
                    })
                },
            )
            .optional()
            .map_err(self.sql())?;
        let Some(mut state) = row else { return Ok(None) };
        state.refs = self.refs(state.id)?;
        Ok(Some(state))
    }

    fn refs(&self, repo_id: i64) -> Result<Vec<RefRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT name, kind, commit_sha, tagged_at FROM refs WHERE repo_id = ?1 ORDER BY name")
            .map_err(self.sql())?;
        let rows = stmt
            .query_map(params![repo_id], |r| {
                let kind: String = r.get(1)?;
                Ok(RefRecord {
                    name: r.get(0)?,
                    kind: RefKind::parse(&kind).unwrap_or(RefKind::Branch),
                    commit: r.get(2)?,
                    tagged_at: r.get(3)?,
                })
            })
            .map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// The ids of every commit stored for the repository.
    pub fn known_commits(&self, repo_id: i64) -> Result<HashSet<String>, StoreError> {
        let mut stmt = self.conn.prepare("SELECT sha FROM commits WHERE repo_id = ?1").map_err(self.sql())?;
        let rows = stmt.query_map(params![repo_id], |r| r.get::<_, String>(0)).map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// Parents named by stored commits but not stored themselves: where an
    /// interrupted sync stopped (or a shallow boundary).
    pub fn dangling_parents(&self, repo_id: i64) -> Result<Vec<String>, StoreError> {
        let graph = self.graph(repo_id)?;
        let known: HashSet<&str> = graph.iter().map(|(_, sha, _)| sha.as_str()).collect();
        let mut dangling: Vec<String> = graph
            .iter()
            .flat_map(|(_, _, parents)| parents.split_ascii_whitespace())
            .filter(|p| !known.contains(p))
            .map(str::to_owned)
            .collect();
        dangling.sort_unstable();
        dangling.dedup();
        Ok(dangling)
    }

    /// `(row id, sha, parents)` of every stored commit of the repository.
    fn graph(&self, repo_id: i64) -> Result<Vec<(i64, String, String)>, StoreError> {
        // `repo_id + 0` keeps SQLite from reaching each row through the
        // (repo_id, sha) index: one sequential scan is faster for whole-repo reads.
        let mut stmt =
            self.conn.prepare("SELECT id, sha, parents FROM commits WHERE repo_id + 0 = ?1").map_err(self.sql())?;
        let rows = stmt.query_map(params![repo_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// Marks a sync as under way (cleared by [`Store::finish_sync`]).
    pub fn begin_sync(&self, repo_id: i64) -> Result<(), StoreError> {
        self.conn.execute("UPDATE repos SET sync_complete = 0 WHERE id = ?1", params![repo_id]).map_err(self.sql())?;
        Ok(())
    }

    /// Stores a batch of commits with their file changes in one transaction.
    /// Commits already stored are left as they are (idempotent).
    pub fn insert_commits(&mut self, repo_id: i64, batch: &[CommitRecord]) -> Result<(), StoreError> {
        let path = self.path.clone();
        let sql = |source| sql_error(&path, source);
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(sql)?;
        {
            let mut commit = tx
                .prepare(
                    "INSERT INTO commits (repo_id, sha, author_name, author_email, author_time, author_offset,
                        committer_name, committer_email, committer_time, committer_offset, subject, reverts,
                        parents, missing_blobs)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
                     ON CONFLICT (repo_id, sha) DO NOTHING RETURNING id",
                )
                .map_err(sql)?;
            let mut file = tx
                .prepare(
                    "INSERT INTO file_changes (repo_id, commit_id, path, old_path, kind, added, removed)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(sql)?;
            let mut trailer =
                tx.prepare("INSERT INTO commit_trailers (commit_id, key, value) VALUES (?1, ?2, ?3)").map_err(sql)?;
            for record in batch {
                let id: Option<i64> = commit
                    .query_row(
                        params![
                            repo_id,
                            record.id,
                            record.author.name,
                            record.author.email,
                            record.author.time,
                            record.author.offset_minutes,
                            record.committer.name,
                            record.committer.email,
                            record.committer.time,
                            record.committer.offset_minutes,
                            record.subject,
                            record.reverts,
                            record.parents.join(" "),
                            record.missing_blobs,
                        ],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(sql)?;
                let Some(id) = id else { continue };
                for change in &record.files {
                    file.execute(params![
                        repo_id,
                        id,
                        change.path,
                        change.old_path,
                        change.kind.code(),
                        change.added,
                        change.removed
                    ])
                    .map_err(sql)?;
                }
                for (key, value) in &record.trailers {
                    trailer.execute(params![id, key, value]).map_err(sql)?;
                }
            }
        }
        tx.commit().map_err(sql)
    }

    /// Ends a sync: replaces the refs, records repository facts and, when
    /// `prune` is set, deletes commits no longer reachable from any ref
    /// (history was rewritten). Returns the number of commits pruned.
    pub fn finish_sync(&mut self, repo_id: i64, finish: &SyncFinish<'_>) -> Result<usize, StoreError> {
        let unreachable = if finish.prune { self.unreachable_commits(repo_id, finish.refs)? } else { Vec::new() };
        let path = self.path.clone();
        let sql = |source| sql_error(&path, source);
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(sql)?;
        tx.execute("DELETE FROM refs WHERE repo_id = ?1", params![repo_id]).map_err(sql)?;
        {
            let mut insert = tx
                .prepare("INSERT INTO refs (repo_id, name, kind, commit_sha, tagged_at) VALUES (?1, ?2, ?3, ?4, ?5)")
                .map_err(sql)?;
            for r in finish.refs {
                insert.execute(params![repo_id, r.name, r.kind.as_str(), r.commit, r.tagged_at]).map_err(sql)?;
            }
            let mut delete = tx.prepare("DELETE FROM commits WHERE id = ?1").map_err(sql)?;
            for id in &unreachable {
                delete.execute(params![id]).map_err(sql)?;
            }
        }
        tx.execute(
            "UPDATE repos SET sync_complete = 1, head_branch = ?2, shallow = ?3, mailmap = ?4, last_sync_at = ?5
             WHERE id = ?1",
            params![repo_id, finish.head_branch, i64::from(finish.shallow), finish.mailmap, finish.now],
        )
        .map_err(sql)?;
        tx.commit().map_err(sql)?;
        Ok(unreachable.len())
    }

    /// Commit row ids not reachable from `refs` through stored parent links.
    fn unreachable_commits(&self, repo_id: i64, refs: &[RefRecord]) -> Result<Vec<i64>, StoreError> {
        let graph = self.graph(repo_id)?;
        let index: HashMap<&str, usize> = graph.iter().enumerate().map(|(i, (_, sha, _))| (sha.as_str(), i)).collect();
        let mut reachable = vec![false; graph.len()];
        let mut stack: Vec<usize> = refs.iter().filter_map(|r| index.get(r.commit.as_str()).copied()).collect();
        while let Some(i) = stack.pop() {
            if std::mem::replace(&mut reachable[i], true) {
                continue;
            }
            stack.extend(graph[i].2.split_ascii_whitespace().filter_map(|p| index.get(p).copied()));
        }
        Ok(graph.iter().zip(reachable).filter(|(_, r)| !r).map(|((id, _, _), _)| *id).collect())
    }

    /// Every stored commit of the repository.
    pub fn load_commits(&self, repo_id: i64) -> Result<Vec<StoredCommit>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT sha, parents, author_name, author_email, author_time, author_offset, committer_time, subject,
                        reverts, id
                 FROM commits WHERE repo_id + 0 = ?1",
            )
            .map_err(self.sql())?;
        let rows = stmt
            .query_map(params![repo_id], |r| {
                let parents: String = r.get(1)?;
                Ok(StoredCommit {
                    sha: r.get(0)?,
                    parents: parents.split_ascii_whitespace().map(str::to_owned).collect(),
                    author_name: r.get(2)?,
                    author_email: r.get(3)?,
                    author_time: r.get(4)?,
                    author_offset: r.get(5)?,
                    committer_time: r.get(6)?,
                    subject: r.get(7)?,
                    reverts: r.get(8)?,
                    row_id: r.get(9)?,
                })
            })
            .map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// `Co-authored-by` trailers of the repository's commits: `(commit row
    /// id, value)`, the value as written (`Name <e-mail>`).
    pub fn load_coauthors(&self, repo_id: i64) -> Result<Vec<(i64, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT t.commit_id, t.value FROM commit_trailers t JOIN commits c ON c.id = t.commit_id
                 WHERE c.repo_id = ?1 AND lower(t.key) = 'co-authored-by'",
            )
            .map_err(self.sql())?;
        let rows = stmt.query_map(params![repo_id], |r| Ok((r.get(0)?, r.get(1)?))).map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// Every file change of the repository's commits.
    pub fn load_file_changes(&self, repo_id: i64) -> Result<Vec<StoredChange>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT commit_id, path, old_path, kind FROM file_changes WHERE repo_id + 0 = ?1")
            .map_err(self.sql())?;
        let rows = stmt
            .query_map(params![repo_id], |r| {
                Ok(StoredChange { commit: r.get(0)?, path: r.get(1)?, old_path: r.get(2)?, kind: r.get(3)? })
            })
            .map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// Counts shown in the report header.
    pub fn totals(&self, repo_id: i64) -> Result<RepoTotals, StoreError> {
        self.conn
            .query_row(
                "SELECT COUNT(*), COALESCE(SUM(missing_blobs), 0) FROM commits WHERE repo_id = ?1",
                params![repo_id],
                |r| Ok(RepoTotals { commits: r.get::<_, i64>(0)? as u64, missing_blobs: r.get::<_, i64>(1)? as u64 }),
            )
            .map_err(self.sql())
    }
}

/// An API token as stored (its hash, never the token).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ApiToken {
    /// Its name.
    pub name: String,
    /// Its scopes.
    pub scopes: Vec<String>,
    /// When it was made.
    pub created_at: i64,
    /// When it was revoked, if it was.
    pub revoked_at: Option<i64>,
}

impl Store {
    /// Stores a new token's hash under `name` (unique).
    pub fn add_token(&self, name: &str, scopes: &[String], hash: &str, now: i64) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO api_tokens (name, scopes, hash, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![name, scopes.join(" "), hash, now],
            )
            .map_err(self.sql())?;
        Ok(())
    }

    /// Every token, by name.
    pub fn tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        self.tokens_matching("1 = 1 ORDER BY name", params![])
    }

    /// The live token whose hash is `hash`.
    pub fn token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>, StoreError> {
        Ok(self.tokens_matching("hash = ?1", params![hash])?.into_iter().find(|t| t.revoked_at.is_none()))
    }

    fn tokens_matching(&self, condition: &str, values: &[&dyn rusqlite::ToSql]) -> Result<Vec<ApiToken>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT name, scopes, created_at, revoked_at FROM api_tokens WHERE {condition}"))
            .map_err(self.sql())?;
        let rows = stmt
            .query_map(values, |r| {
                let scopes: String = r.get(1)?;
                Ok(ApiToken {
                    name: r.get(0)?,
                    scopes: scopes.split_whitespace().map(str::to_owned).collect(),
                    created_at: r.get(2)?,
                    revoked_at: r.get(3)?,
                })
            })
            .map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// Revokes the token `name`; whether there was a live one.
    pub fn revoke_token(&self, name: &str, now: i64) -> Result<bool, StoreError> {
        let changed = self
            .conn
            .execute("UPDATE api_tokens SET revoked_at = ?2 WHERE name = ?1 AND revoked_at IS NULL", params![name, now])
            .map_err(self.sql())?;
        Ok(changed > 0)
    }
}

/// What [`Store::finish_sync`] records.
pub struct SyncFinish<'a> {
    /// Current refs.
    pub refs: &'a [RefRecord],
    /// Branch named by `HEAD`.
    pub head_branch: Option<&'a str>,
    /// Shallow clone.
    pub shallow: bool,
    /// `.mailmap` text.
    pub mailmap: Option<&'a str>,
    /// Time of the sync.
    pub now: i64,
    /// Delete commits no longer reachable.
    pub prune: bool,
}
