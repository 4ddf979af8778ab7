//! The store: the only module that runs SQL, on an embedded SQLite database
//! or on PostgreSQL (`--db postgres://…`), with the same versioned
//! migrations (`store/NNNN_*.sql`, given PostgreSQL's types by
//! [`db::postgres_ddl`]).
//!
//! SQL is written once, in what both speak (`?N` numbered parameters, which
//! the PostgreSQL backend rewrites to `$N`; `ON CONFLICT`, `RETURNING`,
//! integer epoch seconds), and [`db`] binds and reads values for either.
//!
//! Writes are transactional: a batch of commits lands with all of its file
//! changes or not at all, so a sync killed at any point leaves a consistent
//! database that the next sync completes.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};

use std::cell::RefCell;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension};

use crate::sources::git::{CommitRecord, RefKind, RefRecord};
use db::{Db, DbError, Pg, params};

mod accounts;
mod copy;
mod db;
mod events;
mod graph;
mod jobs;
mod packed;
mod people;

pub use accounts::{SessionRow, User};
pub use copy::{Copied, CopyError};
pub use events::{
    CachedPage, DeploymentEvent, EventBatch, EventCounts, EventFilter, IncidentEvent, ItemEvent, PrCount, PrLabel,
    PrReach, Window as EventWindow,
};
pub use graph::{StoredAuthors, StoredGraph, position};
pub use jobs::Job;
pub use people::{
    AnswerRefusal, CheckinRow, Forgotten, GoalRow, GoalValue, ItemRow, NewCheckin, PairRow, Respondent, SurveyRow,
};

/// Pages of write-ahead log (4 KiB each) after which SQLite copies them
/// back into the database file.
const WAL_CHECKPOINT_PAGES: i64 = 16_384;

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
    include_str!("store/0007_views.sql"),
    include_str!("store/0008_sync_jobs.sql"),
    include_str!("store/0009_people.sql"),
    include_str!("store/0010_items.sql"),
    include_str!("store/0011_item_estimates.sql"),
    include_str!("store/0012_commit_graph.sql"),
    include_str!("store/0013_activity_times.sql"),
    include_str!("store/0014_path_ids.sql"),
    include_str!("store/0015_signature_ids.sql"),
    include_str!("store/0016_clustered_children.sql"),
    include_str!("store/0017_id_blocks.sql"),
    include_str!("store/0018_packed_children.sql"),
    include_str!("store/0019_packed_deployment_lists.sql"),
    include_str!("store/0020_pinned_deployments.sql"),
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
    /// A PostgreSQL database (or schema) without fulcrum's tables, opened to read.
    #[error(
        "{path}: no database here (no fulcrum tables); run `fulcrum sync` or `fulcrum import` first, or pass --db with the database's URL"
    )]
    Empty {
        /// The URL, without its password.
        path: PathBuf,
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
    /// The PostgreSQL server cannot be reached, refused the login, or the
    /// connection was lost.
    #[error("{path}: {reason}; {advice}")]
    Connect {
        /// The database URL, without its password.
        path: PathBuf,
        /// What failed.
        reason: String,
        /// What to do.
        advice: &'static str,
    },
    /// Any other database failure.
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

/// A database failure on `path`, classified: read-only, damaged and busy
/// databases, and PostgreSQL servers that cannot be reached, are the user's
/// to fix (exit code 2); the rest are failures.
pub(crate) fn sql_error(path: &Path, error: impl Into<DbError>) -> StoreError {
    use rusqlite::ErrorCode;
    let path = path.to_owned();
    let error = error.into();
    let reason = error.to_string();
    match &error {
        DbError::Sqlite(rusqlite::Error::SqliteFailure(failure, _)) => match failure.code {
            ErrorCode::ReadOnly | ErrorCode::CannotOpen | ErrorCode::PermissionDenied => {
                StoreError::ReadOnly { path, reason }
            }
            ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase => StoreError::Corrupt { path, reason },
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
                StoreError::Busy { path, seconds: BUSY_TIMEOUT_SECONDS }
            }
            _ => StoreError::Sql { path, message: reason },
        },
        DbError::Postgres(e) => postgres_error(path, e, reason),
        _ => StoreError::Sql { path, message: reason },
    }
}

/// The URL without the TLS parameters fulcrum reads itself, and how to
/// connect: `sslmode` absent or `disable` in the clear; `require`,
/// `verify-ca` or `verify-full` over TLS whose certificate is always
/// verified (name and chain), against `sslrootcert` (a PEM file) when given,
/// else Mozilla's roots. `prefer` and `allow` (TLS perhaps, unverified) are
/// refused: say which one is meant.
fn tls_of(url: &str, path: &Path) -> Result<(String, db::Tls), StoreError> {
    let refuse = |reason: String, advice: &'static str| StoreError::Connect { path: path.to_owned(), reason, advice };
    let Some((base, query)) = url.split_once('?') else { return Ok((url.to_owned(), db::Tls::Off)) };
    let mut kept = Vec::new();
    let (mut mode, mut root) = (None, None);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("sslmode", value)) => mode = Some(value.to_owned()),
            Some(("sslrootcert", value)) => root = Some(value.replace("%2F", "/").replace("%2f", "/")),
            _ => kept.push(pair.to_owned()),
        }
    }
    let tls = match mode.as_deref() {
        None | Some("disable") => {
            if root.is_some() {
                return Err(refuse(
                    "sslrootcert is given without sslmode=require".into(),
                    "add sslmode=require to connect over TLS, or drop sslrootcert",
                ));
            }
            None
        }
        Some("require" | "verify-ca" | "verify-full") => Some(root),
        Some(other) => {
            return Err(refuse(
                format!("sslmode={other} would fall back to an unverified or clear connection"),
                "write sslmode=require (TLS, the certificate verified; sslrootcert=PATH for your own CA) or \
                 sslmode=disable (in the clear, for loopback or a private network)",
            ));
        }
    };
    let Some(root) = tls else {
        let url = if kept.is_empty() { base.to_owned() } else { format!("{base}?{}", kept.join("&")) };
        return Ok((url, db::Tls::Off));
    };
    let mut roots = rustls::RootCertStore::empty();
    match &root {
        Some(file) => {
            use rustls::pki_types::pem::PemObject as _;
            let certs: Vec<rustls::pki_types::CertificateDer<'static>> =
                rustls::pki_types::CertificateDer::pem_file_iter(file)
                    .and_then(|certs| certs.collect::<Result<_, _>>())
                    .map_err(|e| {
                        refuse(
                            format!("sslrootcert={file}: cannot read it as PEM certificates ({e})"),
                            "pass the path of the PEM file of the certificate authority that signed the server's certificate",
                        )
                    })?;
            if certs.is_empty() {
                return Err(refuse(
                    format!("sslrootcert={file}: no certificate in it"),
                    "pass the path of the PEM file of the certificate authority that signed the server's certificate",
                ));
            }
            for cert in certs {
                roots.add(cert).map_err(|e| {
                    refuse(format!("sslrootcert={file}: {e}"), "pass a valid certificate authority's certificate")
                })?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| refuse(format!("TLS: {e}"), "report this as a bug"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    kept.push("sslmode=require".to_owned());
    let url = format!("{base}?{}", kept.join("&"));
    Ok((url, db::Tls::Rustls(tokio_postgres_rustls::MakeRustlsConnect::new(config))))
}

/// A PostgreSQL failure, classified by its SQLSTATE.
fn postgres_error(path: PathBuf, error: &postgres::Error, reason: String) -> StoreError {
    let Some(db) = error.as_db_error() else {
        if reason.contains("TLS handshake") {
            // The handshake's own words (an unknown issuer, a name mismatch) are in the causes.
            let mut causes = Vec::new();
            let mut source = std::error::Error::source(error);
            while let Some(cause) = source {
                causes.push(cause.to_string());
                source = cause.source();
            }
            causes.dedup();
            let reason = if causes.is_empty() { reason } else { format!("{reason}: {}", causes.join(": ")) };
            return StoreError::Connect {
                path,
                reason,
                advice: "the server's certificate is not one fulcrum can verify: pass sslrootcert=PATH (the PEM file \
                         of the authority that signed it) in the URL, and name the host the certificate names",
            };
        }
        if reason.contains("server does not support TLS") {
            return StoreError::Connect {
                path,
                reason,
                advice: "turn on ssl in the server's postgresql.conf, or drop sslmode=require on a trusted network",
            };
        }
        // No answer from the server: never reached, or the connection dropped.
        let advice = if error.is_closed() || reason.contains("connection") && !reason.contains("error connecting") {
            "the connection was lost; run the command again (a sync resumes where it stopped)"
        } else {
            "check that PostgreSQL runs and that the URL names its host and port"
        };
        return StoreError::Connect { path, reason, advice };
    };
    let code = db.code().code();
    let connect = |advice| StoreError::Connect { path: path.clone(), reason: reason.clone(), advice };
    match code {
        "28P01" | "28000" => connect("check the user and password in the URL"),
        "3D000" => connect("create the database first (`createdb NAME`), or name an existing one in the URL"),
        "25006" | "42501" => StoreError::ReadOnly { path, reason },
        "55P03" | "40P01" | "57014" => StoreError::Busy { path, seconds: BUSY_TIMEOUT_SECONDS },
        _ if code.starts_with("08") || code.starts_with("57P") => {
            connect("the connection was lost; run the command again (a sync resumes where it stopped)")
        }
        _ => StoreError::Sql { path, message: reason },
    }
}

/// Whether `--db` names a PostgreSQL database (`postgres://…` or
/// `postgresql://…`) rather than an SQLite file.
pub fn is_postgres(location: &Path) -> bool {
    location.to_str().is_some_and(|s| s.starts_with("postgres://") || s.starts_with("postgresql://"))
}

/// A database URL as shown in messages: its password replaced by `***`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let mut out = format!("{scheme}://");
    match authority.rsplit_once('@') {
        Some((user, host)) => {
            let name = user.split_once(':').map_or(user, |(name, _)| name);
            out.push_str(name);
            if user.contains(':') {
                out.push_str(":***");
            }
            out.push('@');
            out.push_str(host);
        }
        None => out.push_str(authority),
    }
    // A password may also come as a query parameter.
    let mut first = true;
    for (i, part) in tail.split(['?', '&']).enumerate() {
        if i > 0 {
            out.push(if first { '?' } else { '&' });
            first = false;
        }
        if i > 0 && part.to_ascii_lowercase().starts_with("password=") {
            out.push_str("password=***");
        } else {
            out.push_str(part);
        }
    }
    out
}

/// The first lock key (`pg_advisory_lock(key, schema)`) of a PostgreSQL
/// store's writers; the second is its schema's, so that stores in two
/// schemas of one database do not wait for each other.
const WRITE_LOCK: i32 = APPLICATION_ID as i32;
/// The first lock key of its sync.
const SYNC_LOCK: i32 = APPLICATION_ID as i32 + 1;

/// A handle on the database.
pub struct Store {
    db: Db,
    /// The database file, or the URL without its password.
    path: PathBuf,
    /// Path and signature ids of the repository last written by
    /// [`Store::insert_commits`] (a sync writes one repository in many
    /// batches).
    known_ids: Option<KnownIds>,
    /// An import into an empty table takes its pull requests as new (see
    /// [`Store::assume_new_pull_requests`]).
    fresh_pull_requests: bool,
}

impl Drop for Store {
    fn drop(&mut self) {
        // Its close takes no lock another thread's open could wait on (see
        // `db::SQLITE_FILES`).
        if let Db::Sqlite(conn) = &self.db {
            db::ready_to_close(conn);
        }
    }
}

/// A repository's stored paths and author signatures with their ids
/// (`paths`, `signatures`), as far as known.
#[derive(Default)]
struct KnownIds {
    repo_id: i64,
    paths: HashMap<String, i64>,
    signatures: HashMap<(String, String), i64>,
}

impl KnownIds {
    fn extend(&mut self, other: KnownIds) {
        self.paths.extend(other.paths);
        self.signatures.extend(other.signatures);
    }
}

/// The id `known` or `added` holds for `key`; else the one `insert`
/// stores, remembered in `added`.
fn remembered<K, Q>(
    known: &HashMap<K, i64>,
    added: &mut HashMap<K, i64>,
    key: &Q,
    insert: impl FnOnce() -> Result<i64, DbError>,
) -> Result<i64, DbError>
where
    K: std::borrow::Borrow<Q> + std::hash::Hash + Eq,
    Q: ToOwned<Owned = K> + std::hash::Hash + Eq + ?Sized,
{
    if let Some(&id) = known.get(key).or_else(|| added.get(key)) {
        return Ok(id);
    }
    let id = insert()?;
    added.insert(key.to_owned(), id);
    Ok(id)
}

/// The index definitions a bulk import dropped and has not built again
/// (`meta`'s [`DEFERRED_INDEXES`]), as stored.
fn deferred_indexes(db: &Db) -> Result<Option<String>, DbError> {
    db.query_opt("SELECT value FROM meta WHERE key = ?1", params![DEFERRED_INDEXES], |r| r.get::<String>(0))
}

/// The schema version that pins deployments (`0020_pinned_deployments.sql`).
const PINS_FROM: i64 = 20;

/// `meta` key of the index definitions a bulk import dropped
/// ([`Store::defer_event_indexes`]): a JSON list of `CREATE INDEX` statements.
const DEFERRED_INDEXES: &str = "deferred_indexes";

/// Tables whose secondary indexes a bulk import builds at its end. Their
/// unique keys stay: the import's upserts find stored rows by them.
const DEFERRED_TABLES: [&str; 3] = ["pull_requests", "deployments", "deployment_commits"];

/// Fewest incoming rows for which an import defers indexes.
pub(crate) const DEFER_INDEXES_FROM: usize = 10_000;

/// Builds the indexes whose definitions `meta` keeps under
/// [`DEFERRED_INDEXES`] and forgets them; inside a write transaction.
/// Only `CREATE INDEX` statements are run: `meta` is fulcrum's own, but the
/// file may not be.
fn rebuild_deferred(db: &Db) -> Result<usize, DbError> {
    let Some(value) = deferred_indexes(db)? else { return Ok(0) };
    let definitions: Vec<String> = serde_json::from_str(&value).unwrap_or_default();
    let mut built = 0;
    for sql in &definitions {
        let Some(rest) = sql.strip_prefix("CREATE INDEX ") else { continue };
        if sql.contains(';') {
            continue;
        }
        db.batch(&format!("CREATE INDEX IF NOT EXISTS {rest}"))?;
        built += 1;
    }
    // The import left the deployments' pins to its end (its batches had no
    // index to find shared commits by). A database from before schema 20
    // (an import killed there, opened by this version) has no pins yet:
    // its migration pins every row.
    let version: i64 = db
        .query_opt("SELECT value FROM meta WHERE key = 'schema_version'", params![], |r| r.get::<String>(0))?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if version >= PINS_FROM {
        db.batch(events::PIN_ALL)?;
    }
    db.execute("DELETE FROM meta WHERE key = ?1", params![DEFERRED_INDEXES])?;
    Ok(built)
}

/// Rows one import stored, for [`Store::should_compact`].
#[derive(Debug, Clone, Copy)]
pub enum Imported {
    /// Commits of a git sync.
    Commits(usize),
    /// Pull requests of an events import.
    PullRequests(usize),
}

/// Bytes of an SQLite database read through memory mapping (whole-table
/// reads then avoid a system call per page).
const MMAP_SIZE: i64 = 1 << 30;

/// The page size of a new SQLite file. Read through SQLite's cache (the
/// organisation's view does not map the file), every page is a system call:
/// at 2,000,000 pull requests the view read 283,851 pages of 4 KiB; with
/// 16 KiB pages it took 5.5-5.9 s against 6.2-6.7 s, and a team's report
/// the same 0.18 s (`bench/org.sh`).
const PAGE_SIZE: i64 = 16_384;

/// Rows one import must store before the database is compacted.
const COMPACT_FROM: usize = 100_000;

/// Held while a sync writes; dropped (and released) when it ends or the
/// process dies: a lock file for SQLite, a session-level advisory lock on
/// a connection of its own for PostgreSQL.
pub struct SyncLock {
    _file: Option<File>,
    _postgres: Option<postgres::Client>,
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

/// The columns [`StoredCommit::read`] reads, in its order.
const STORED_COMMIT: &str =
    "sha, parents, author_name, author_email, author_time, author_offset, committer_time, subject, reverts, id";

impl StoredCommit {
    /// One row of `SELECT {STORED_COMMIT}`.
    fn read(r: &db::Row<'_, '_>) -> Result<StoredCommit, DbError> {
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
    }
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

/// Totals shown in the report's header.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RepoTotals {
    /// Commits stored.
    pub commits: u64,
    /// Blobs that could not be read during syncs.
    pub missing_blobs: u64,
}

impl Store {
    /// Opens (creating if needed) the database at `path`, an SQLite file or a
    /// `postgres://` URL, and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if is_postgres(path) {
            return Store::open_postgres(path, false);
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::CreateDir { path: dir.to_owned(), reason: e.to_string() })?;
        }
        let unreadable = |e: rusqlite::Error| StoreError::Unreadable { path: path.to_owned(), reason: e.to_string() };
        let conn = db::open_sqlite(path, rusqlite::OpenFlags::default()).map_err(unreadable)?;
        conn.busy_timeout(std::time::Duration::from_secs(BUSY_TIMEOUT_SECONDS)).map_err(unreadable)?;
        conn.set_prepared_statement_cache_capacity(64);

        conn.pragma_update(None, "foreign_keys", "ON").map_err(unreadable)?;
        // A new file's pages are 16 KiB, not SQLite's 4 KiB: reads of whole
        // tables (an organisation's window) make a quarter of the system
        // calls (see `PAGE_SIZE`). An existing file keeps its own size.
        conn.pragma_update(None, "page_size", PAGE_SIZE).map_err(unreadable)?;
        // Reports read whole tables: a larger cache and memory-mapped reads
        // avoid a system call per page.
        conn.pragma_update(None, "cache_size", -65_536).map_err(unreadable)?;
        conn.pragma_update(None, "mmap_size", MMAP_SIZE).map_err(unreadable)?;
        let mut store =
            Store { db: Db::Sqlite(conn), path: path.to_owned(), known_ids: None, fresh_pull_requests: false };
        store.migrate()?;
        // WAL keeps readers going during a sync and survives kill -9
        // consistently. Set only once the file is known to be fulcrum's.
        let Db::Sqlite(conn) = &store.db else { unreachable!("opened as SQLite") };
        conn.pragma_update(None, "journal_mode", "WAL").map_err(unreadable)?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(unreadable)?;
        // Pages go back from the log to the file every 64 MiB of log, not
        // every 4 MiB: an import rewrites the same index pages in every
        // batch, and each checkpoint wrote them again.
        conn.pragma_update(None, "wal_autocheckpoint", WAL_CHECKPOINT_PAGES).map_err(unreadable)?;
        // Statement journals (every multi-row insert that may fail midway
        // keeps one) and the upserts' staging tables in memory, not in
        // temporary files: an import wrote each page it changed there too.
        conn.pragma_update(None, "temp_store", "MEMORY").map_err(unreadable)?;
        Ok(store)
    }

    /// Opens an existing database for reading only: nothing is migrated or
    /// written, so it works on a read-only file or in a read-only directory.
    /// A database of an older schema is upgraded first (by [`Store::open`]),
    /// which needs write access.
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        if is_postgres(path) {
            return Store::open_postgres(path, true);
        }
        use rusqlite::OpenFlags;
        let unreadable = |e: rusqlite::Error| StoreError::Unreadable { path: path.to_owned(), reason: e.to_string() };
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
        let open = |uri: String| -> Result<(Connection, i64, i64), rusqlite::Error> {
            let conn = db::open_sqlite(uri, flags)?;
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
        conn.pragma_update(None, "mmap_size", MMAP_SIZE).map_err(unreadable)?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(Store { db: Db::Sqlite(conn), path: path.to_owned(), known_ids: None, fresh_pull_requests: false })
    }

    /// Connects to PostgreSQL. A reader of a database with fulcrum's
    /// current schema migrates nothing; otherwise the schema is brought up to
    /// date as for SQLite (one migrating process at a time).
    fn open_postgres(url: &Path, read_only: bool) -> Result<Store, StoreError> {
        let url = url.to_str().unwrap_or_default();
        let path = PathBuf::from(redact(url));
        let (url, tls) = tls_of(url, &path)?;
        let mut config: postgres::Config = url.parse().map_err(|e: postgres::Error| StoreError::Unreadable {
            path: path.clone(),
            reason: format!("not a PostgreSQL URL ({e}); write it as postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE"),
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        config.application_name("fulcrum");
        // A writer waits for another as long as SQLite's busy timeout: set
        // as the connection starts (a statement after it was a round trip
        // of every open), after any options the URL gives.
        let timeout = format!("-c lock_timeout={BUSY_TIMEOUT_SECONDS}s");
        let options = match config.get_options() {
            Some(given) if !given.trim().is_empty() => format!("{given} {timeout}"),
            _ => timeout,
        };
        config.options(&options);
        let pg = Pg::connect(config, tls).map_err(|e| sql_error(&path, e))?;
        let mut store =
            Store { db: Db::Postgres(Box::new(RefCell::new(pg))), path, known_ids: None, fresh_pull_requests: false };
        // A schema already up to date is used as it is (the team server opens
        // a store per request: no write transaction for that).
        match store.postgres_version()? {
            None if read_only => return Err(StoreError::Empty { path: store.path.clone() }),
            Some(v) if v == MIGRATIONS.len() as i64 => {
                // Indexes a killed import left out (see `defer_event_indexes`).
                if !read_only && deferred_indexes(&store.db).map_err(store.sql())?.is_some() {
                    store.write(rebuild_deferred)?;
                }
                return Ok(store);
            }
            _ => {}
        }
        store.migrate()?;
        Ok(store)
    }

    /// The schema version of a PostgreSQL database, `None` without fulcrum's
    /// `meta` table.
    fn postgres_version(&self) -> Result<Option<i64>, StoreError> {
        // From the catalog directly: `information_schema.tables` took 6 ms
        // of every open (the team server and an organisation view open many).
        let has_meta: bool = self
            .db
            .query_row(
                "SELECT current_schema() IS NOT NULL
                        AND to_regclass(quote_ident(current_schema()) || '.meta') IS NOT NULL",
                params![],
                |r| r.get(0),
            )
            .map_err(self.sql())?;
        if !has_meta {
            return Ok(None);
        }
        let version = self
            .db
            .query_opt("SELECT value FROM meta WHERE key = 'schema_version'", params![], |r| r.get::<String>(0))
            .map_err(self.sql())?;
        Ok(Some(version.and_then(|v| v.parse().ok()).unwrap_or(0)))
    }

    /// The database file, or the PostgreSQL URL without its password.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A second connection to the same database, for reading on another
    /// thread alongside this one.
    pub fn reader(&self) -> Result<Store, StoreError> {
        Ok(Store {
            db: self.db.reader(&self.path).map_err(self.sql())?,
            path: self.path.clone(),
            known_ids: None,
            fresh_pull_requests: false,
        })
    }

    /// Whether the store is on PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.db.is_postgres()
    }

    fn sql(&self) -> impl Fn(DbError) -> StoreError + '_ {
        |source| sql_error(&self.path, source)
    }

    /// Runs `write` in one write transaction: all of it lands or none. One
    /// writer at a time, on both backends (SQLite's `BEGIN IMMEDIATE`, a
    /// transaction-level advisory lock on PostgreSQL), so a batch sees the
    /// rows that earlier batches left and nothing half-written.
    fn write<T>(&self, write: impl FnOnce(&Db) -> Result<T, DbError>) -> Result<T, StoreError> {
        match &self.db {
            Db::Sqlite(conn) => {
                db::begin_immediate(conn, std::time::Duration::from_secs(BUSY_TIMEOUT_SECONDS))
                    .map_err(|e| sql_error(&self.path, DbError::Sqlite(e)))?;
            }
            Db::Postgres(_) => {
                let begin = format!("BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK}, hashtext(current_schema()))");
                self.db.batch(&begin).map_err(self.sql())?;
            }
        }
        match write(&self.db) {
            Ok(value) => {
                self.db.batch("COMMIT").map_err(self.sql())?;
                Ok(value)
            }
            Err(e) => {
                let _ = self.db.batch("ROLLBACK");
                Err(sql_error(&self.path, e))
            }
        }
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let path = self.path.clone();
        let foreign = |reason: &str| StoreError::Unreadable { path: path.clone(), reason: reason.to_owned() };
        let known = MIGRATIONS.len() as i64;
        let postgres = self.db.is_postgres();
        // One writer at a time: a second process opening a new database waits
        // here and then sees the schema the first one made.
        let outcome = self.write(|db| {
            let (application_ok, has_meta, other_tables) = if postgres {
                let count = |condition: &str| -> Result<i64, DbError> {
                    db.query_row(
                        &format!(
                            "SELECT COUNT(*) FROM information_schema.tables
                             WHERE table_schema = current_schema() AND {condition}"
                        ),
                        params![],
                        |r| r.get(0),
                    )
                };
                let has_meta = count("table_name = 'meta'")? > 0;
                let application_ok = !has_meta
                    || db
                        .query_opt("SELECT value FROM meta WHERE key = 'application'", params![], |r| {
                            r.get::<String>(0)
                        })?
                        .is_some_and(|v| v == "fulcrum");
                (application_ok, has_meta, count("table_name <> 'meta'")?)
            } else {
                let application_id: i64 = db.query_row("PRAGMA application_id", params![], |r| r.get(0))?;
                let has_meta = db.query_row(
                    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
                    params![],
                    |r| r.get::<i64>(0),
                )? > 0;
                let others = db.query_row(
                    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name <> 'meta'",
                    params![],
                    |r| r.get(0),
                )?;
                (application_id == 0 || application_id == APPLICATION_ID, has_meta, others)
            };
            if !application_ok {
                return Ok(Err(foreign(if postgres {
                    "another application's tables (a `meta` table that is not fulcrum's)"
                } else {
                    "another application's SQLite database"
                })));
            }
            if !has_meta && other_tables > 0 {
                return Ok(Err(foreign(if postgres {
                    "a PostgreSQL schema with tables that are not fulcrum's; name an empty database in the URL"
                } else {
                    "an SQLite database with tables that are not fulcrum's"
                })));
            }
            db.batch("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")?;
            if postgres {
                db.execute(
                    "INSERT INTO meta (key, value) VALUES ('application', 'fulcrum') ON CONFLICT (key) DO NOTHING",
                    params![],
                )?;
            }
            let version: i64 = db
                .query_opt("SELECT value FROM meta WHERE key = 'schema_version'", params![], |r| r.get::<String>(0))?
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            if version > known {
                return Ok(Err(StoreError::TooNew { path: path.clone(), found: version, known }));
            }
            // Indexes an import dropped and did not live to build again
            // come back before anything else reads or migrates the tables.
            if has_meta {
                rebuild_deferred(db)?;
            }
            for (index, migration) in MIGRATIONS.iter().enumerate().skip(version as usize) {
                if postgres {
                    db.batch(&db::postgres_ddl(migration))?;
                } else {
                    db.batch(migration)?;
                }
                db.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', ?1)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    params![(index + 1).to_string()],
                )?;
            }
            if !postgres {
                db.batch(&format!("PRAGMA application_id = {APPLICATION_ID}"))?;
            }
            Ok(Ok(()))
        });
        match outcome {
            // A refusal found inside the transaction: it was committed with
            // nothing written, which is as good as rolled back.
            Ok(refused) => refused,
            Err(StoreError::Sql { message, .. }) => {
                Err(StoreError::Unreadable { path: self.path.clone(), reason: message })
            }
            Err(other) => Err(other),
        }
    }

    /// Takes the exclusive sync lock: a lock file beside an SQLite database;
    /// a session-level advisory lock on its own connection for PostgreSQL,
    /// released when the connection closes (also when the process dies).
    ///
    /// `scope` names what is synced (a repository's key, `sources`): on
    /// PostgreSQL syncs of different scopes run side by side (workers on
    /// several machines), on SQLite one sync at a time per database.
    pub fn lock_for_sync(&self, scope: &str) -> Result<SyncLock, StoreError> {
        if let Db::Postgres(pg) = &self.db {
            let mut client = pg.borrow().another().map_err(self.sql_pg())?;
            let taken: bool = client
                .query_one(
                    "SELECT pg_try_advisory_lock($1, hashtext(current_schema() || ':' || $2))",
                    &[&SYNC_LOCK, &scope],
                )
                .map_err(self.sql_pg())?
                .get(0);
            if !taken {
                return Err(StoreError::Locked { path: self.path.clone() });
            }
            return Ok(SyncLock { _file: None, _postgres: Some(client) });
        }
        let mut lock_path = self.path.clone().into_os_string();
        lock_path.push(".lock");
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| StoreError::LockFile { path: PathBuf::from(&lock_path), reason: e.to_string() })?;
        match file.try_lock() {
            Ok(()) => Ok(SyncLock { _file: Some(file), _postgres: None }),
            Err(_) => Err(StoreError::Locked { path: self.path.clone() }),
        }
    }

    fn sql_pg(&self) -> impl Fn(postgres::Error) -> StoreError + '_ {
        |source| sql_error(&self.path, source)
    }

    /// The repository row for `path`, created when new.
    pub fn repo_state(&self, path: &str, name: &str) -> Result<RepoState, StoreError> {
        self.write(|db| {
            db.execute(
                "INSERT INTO repos (path, name) VALUES (?1, ?2) ON CONFLICT (path) DO NOTHING",
                params![path, name],
            )
        })?;
        self.find_repo(path)?.ok_or_else(|| sql_error(&self.path, DbError::NoRows))
    }

    /// The commits of repository `path` (its key) whose subject `keep`s, as
    /// (sha, subject).
    pub fn commit_subjects(
        &self,
        path: &str,
        keep: &dyn Fn(&str) -> bool,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let mut out = Vec::new();
        self.db
            .for_each(
                "SELECT c.sha, c.subject FROM commits c JOIN repos r ON r.id = c.repo_id WHERE r.path = ?1",
                params![path],
                |row| {
                    let subject: String = row.get(1)?;
                    if keep(&subject) {
                        out.push((row.get(0)?, subject));
                    }
                    Ok(())
                },
            )
            .map_err(self.sql())?;
        Ok(out)
    }

    /// The repository row for `path`, if it was ever synced.
    pub fn find_repo(&self, path: &str) -> Result<Option<RepoState>, StoreError> {
        let row = self
            .db
            .query_opt(
                "SELECT id, sync_complete, head_branch, shallow, mailmap, last_sync_at FROM repos WHERE path = ?1",
                params![path],
                |r| {
                    Ok(RepoState {
                        id: r.get(0)?,
                        sync_complete: r.get(1)?,
                        head_branch: r.get(2)?,
                        shallow: r.get(3)?,
                        mailmap: r.get(4)?,
                        last_sync_at: r.get(5)?,
                        refs: Vec::new(),
                    })
                },
            )
            .map_err(self.sql())?;
        let Some(mut state) = row else { return Ok(None) };
        state.refs = self.refs(state.id)?;
        Ok(Some(state))
    }

    fn refs(&self, repo_id: i64) -> Result<Vec<RefRecord>, StoreError> {
        self.db
            .query_map(
                "SELECT name, kind, commit_sha, tagged_at FROM refs WHERE repo_id = ?1 ORDER BY name",
                params![repo_id],
                |r| {
                    let kind: String = r.get(1)?;
                    Ok(RefRecord {
                        name: r.get(0)?,
                        kind: RefKind::parse(&kind).unwrap_or(RefKind::Branch),
                        commit: r.get(2)?,
                        tagged_at: r.get(3)?,
                    })
                },
            )
            .map_err(self.sql())
    }

    /// The ids of every commit stored for the repository.
    pub fn known_commits(&self, repo_id: i64) -> Result<HashSet<String>, StoreError> {
        let mut known = HashSet::new();
        self.db
            .for_each("SELECT sha FROM commits WHERE repo_id = ?1", params![repo_id], |r| {
                known.insert(r.get(0)?);
                Ok(())
            })
            .map_err(self.sql())?;
        Ok(known)
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
        self.db
            .query_map("SELECT id, sha, parents FROM commits WHERE repo_id + 0 = ?1", params![repo_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .map_err(self.sql())
    }

    /// Marks a sync as under way (cleared by [`Store::finish_sync`]).
    pub fn begin_sync(&self, repo_id: i64) -> Result<(), StoreError> {
        self.write(|db| db.execute("UPDATE repos SET sync_complete = 0 WHERE id = ?1", params![repo_id]))?;
        Ok(())
    }

    /// Stores a batch of commits with their file changes in one transaction.
    /// Commits already stored are left as they are (idempotent).
    pub fn insert_commits(&mut self, repo_id: i64, batch: &[CommitRecord]) -> Result<(), StoreError> {
        // People erased with `fulcrum person forget` come in under their pseudonym.
        let forgotten = self.forgotten()?;
        let renamed = |name: &str, email: &str| -> Option<(String, String)> {
            if forgotten.is_empty() {
                return None;
            }
            [name, email].iter().find_map(|who| {
                forgotten
                    .get(&crate::trust::sha256_hex(who.to_lowercase().as_bytes()))
                    .map(|pseudonym| (pseudonym.clone(), format!("{pseudonym}@forgotten.invalid")))
            })
        };
        // The repository's path and signature ids, read once a sync; those
        // first seen are stored in the batch's transaction and known here
        // only once that commits (a rolled-back id is never reused).
        let mut known = match self.known_ids.take() {
            Some(known) if known.repo_id == repo_id => known,
            _ => self.known_ids(repo_id)?,
        };
        let mut added = KnownIds::default();
        let written = self.write(|db| {
            // The sync lock keeps other writers of this repository away: a
            // path or signature not known here is not stored yet.
            let mut path_id = |path: &str| {
                remembered(&known.paths, &mut added.paths, path, || {
                    db.query_row(
                        "INSERT INTO paths (repo_id, path) VALUES (?1, ?2) RETURNING id",
                        params![repo_id, path],
                        |r| r.get(0),
                    )
                })
            };
            let mut signature_id = |signature: &(String, String)| {
                remembered(&known.signatures, &mut added.signatures, signature, || {
                    db.query_row(
                        "INSERT INTO signatures (repo_id, name, email) VALUES (?1, ?2, ?3) RETURNING id",
                        params![repo_id, signature.0, signature.1],
                        |r| r.get(0),
                    )
                })
            };
            for record in batch {
                let author = renamed(&record.author.name, &record.author.email)
                    .unwrap_or_else(|| (record.author.name.clone(), record.author.email.clone()));
                let committer = renamed(&record.committer.name, &record.committer.email)
                    .unwrap_or_else(|| (record.committer.name.clone(), record.committer.email.clone()));
                let author_id = signature_id(&author)?;
                let id: Option<i64> = db.query_opt(
                    "INSERT INTO commits (repo_id, sha, author_name, author_email, author_time, author_offset,
                        committer_name, committer_email, committer_time, committer_offset, subject, reverts,
                        parents, missing_blobs, author_id)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
                     ON CONFLICT (repo_id, sha) DO NOTHING RETURNING id",
                    params![
                        repo_id,
                        record.id,
                        author.0,
                        author.1,
                        record.author.time,
                        record.author.offset_minutes,
                        committer.0,
                        committer.1,
                        record.committer.time,
                        record.committer.offset_minutes,
                        record.subject,
                        record.reverts,
                        record.parents.join(" "),
                        record.missing_blobs,
                        author_id,
                    ],
                    |r| r.get(0),
                )?;
                let Some(id) = id else { continue };
                for change in &record.files {
                    let path = path_id(&change.path)?;
                    let old_path = change.old_path.as_deref().map(&mut path_id).transpose()?;
                    db.execute(
                        "INSERT INTO file_changes (repo_id, commit_id, path_id, old_path_id, kind, added, removed)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                        params![repo_id, id, path, old_path, change.kind.code(), change.added, change.removed],
                    )?;
                }
                for (key, value) in &record.trailers {
                    db.execute(
                        "INSERT INTO commit_trailers (commit_id, key, value) VALUES (?1, ?2, ?3)",
                        params![id, key, value],
                    )?;
                }
            }
            Ok(())
        });
        if written.is_ok() {
            known.extend(added);
            self.known_ids = Some(known);
        }
        written
    }

    /// The repository's stored paths and signatures with their ids.
    fn known_ids(&self, repo_id: i64) -> Result<KnownIds, StoreError> {
        let mut known = KnownIds { repo_id, ..KnownIds::default() };
        self.db
            .for_each("SELECT path, id FROM paths WHERE repo_id = ?1", params![repo_id], |r| {
                known.paths.insert(r.get(0)?, r.get(1)?);
                Ok(())
            })
            .map_err(self.sql())?;
        self.db
            .for_each("SELECT name, email, id FROM signatures WHERE repo_id = ?1", params![repo_id], |r| {
                known.signatures.insert((r.get(0)?, r.get(1)?), r.get(2)?);
                Ok(())
            })
            .map_err(self.sql())?;
        Ok(known)
    }

    /// After a large import, PostgreSQL's planner statistics of the events
    /// tables are brought up to date (`ANALYZE`, about a second at
    /// 2,000,000 pull requests). Until autovacuum got to them, a team's
    /// report right after importing 2,000,000 pull requests took 10–14 s
    /// against 1.1 s after. Nothing on SQLite, whose plans fulcrum chooses
    /// without statistics.
    pub fn analyze_events(&self) -> Result<(), StoreError> {
        if !self.db.is_postgres() {
            return Ok(());
        }
        self.db
            .batch("ANALYZE pull_requests, pr_children, pr_commit_ids, deployments, deployment_commits, incidents")
            .map_err(self.sql())
    }

    /// Reads pages through SQLite's cache, not a memory map, from now on
    /// (until [`Store::restore_indexes`] or [`Store::compact`] map them
    /// again). For reads and writes that go through most of the file once
    /// (a bulk import, the organisation view): mapped, every page read, up
    /// to the map's gigabyte, counts towards the process's memory (a 2M
    /// pull request import peaked at 905 MiB mapped, 454 MiB unmapped, in
    /// the same time). Nothing on PostgreSQL.
    pub fn unmap_pages(&self) -> Result<(), StoreError> {
        if self.db.is_postgres() {
            return Ok(());
        }
        self.db.batch("PRAGMA mmap_size = 0").map_err(self.sql())
    }

    /// Whether an import that stored `imported` should compact the database
    /// ([`Store::compact`]): on SQLite, when it stored at least 100,000
    /// rows, and at least half of the table's. A team database of many
    /// repositories is not rewritten after each one.
    pub fn should_compact(&self, imported: Imported) -> Result<bool, StoreError> {
        let (stored, table) = match imported {
            Imported::Commits(n) => (n, "commits"),
            Imported::PullRequests(n) => (n, "pull_requests"),
        };
        if self.db.is_postgres() || stored < COMPACT_FROM {
            return Ok(false);
        }
        let rows: i64 =
            self.db.query_row(&format!("SELECT COUNT(*) FROM {table}"), params![], |r| r.get(0)).map_err(self.sql())?;
        Ok(stored as i64 * 2 >= rows)
    }

    /// Rewrites an SQLite database in order (`VACUUM`). An import's batches
    /// interleave the pages of its tables and indexes through the file;
    /// whole-history reads then fault in their neighbours too (at 1.2
    /// million commits a report mapped 230 MiB of the file, 46 MiB once
    /// compacted; a team's report at 2 million pull requests 1,220 MiB,
    /// 918 MiB) and the file keeps the space of what was rewritten.
    ///
    /// The file is read without memory-mapping it meanwhile: mapped, every
    /// page of it would count towards the process's resident memory (at 2
    /// million pull requests, a gigabyte), where read through SQLite's page
    /// cache it stays within that cache.
    pub fn compact(&self) -> Result<(), StoreError> {
        // The copy VACUUM builds goes to a temporary file: in memory it
        // would hold the whole database.
        self.db.batch("PRAGMA mmap_size = 0; PRAGMA temp_store = FILE").map_err(self.sql())?;
        let compacted = self.db.batch("VACUUM").map_err(self.sql());
        self.db.batch(&format!("PRAGMA mmap_size = {MMAP_SIZE}; PRAGMA temp_store = MEMORY")).map_err(self.sql())?;
        compacted
    }

    /// Before a bulk import: drops the secondary indexes of the events
    /// tables that the import does not read ([`DEFERRED_TABLES`]), and
    /// keeps their definitions in `meta` in the same transaction, so that
    /// [`Store::restore_indexes`] (or, after a killed import, the next
    /// opening for writing) builds them again. An import into a large table
    /// inserted into these indexes at random places (a merge commit's or a
    /// listed commit's sha), faulting in a page per row once they outgrew
    /// the cache; building an index sorts its keys once. Another process
    /// opening the database for writing meanwhile builds them then: the
    /// import goes on, with indexes, slower.
    ///
    /// Does nothing, and returns false, for fewer than
    /// [`DEFER_INDEXES_FROM`] rows to come, when another import already
    /// deferred them, or when the tables hold at least `incoming` rows
    /// (rebuilding what is stored would cost more than it saves).
    pub fn defer_event_indexes(&self, incoming: usize) -> Result<bool, StoreError> {
        if incoming < DEFER_INDEXES_FROM {
            return Ok(false);
        }
        let postgres = self.db.is_postgres();
        self.write(|db| {
            if deferred_indexes(db)?.is_some() {
                return Ok(false);
            }
            let stored: i64 = db.query_row(
                "SELECT (SELECT COUNT(*) FROM pull_requests) + (SELECT COUNT(*) FROM deployments)",
                params![],
                |r| r.get(0),
            )?;
            if stored >= incoming as i64 {
                return Ok(false);
            }
            let tables = DEFERRED_TABLES.iter().map(|t| format!("'{t}'")).collect::<Vec<_>>().join(", ");
            let indexes: Vec<(String, String)> = db.query_map(
                &if postgres {
                    format!(
                        "SELECT indexname, indexdef FROM pg_indexes
                         WHERE schemaname = current_schema() AND indexdef LIKE 'CREATE INDEX %'
                         AND tablename IN ({tables}) ORDER BY indexname"
                    )
                } else {
                    format!(
                        "SELECT name, sql FROM sqlite_master
                         WHERE type = 'index' AND sql LIKE 'CREATE INDEX %' AND tbl_name IN ({tables})
                         ORDER BY name"
                    )
                },
                params![],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            if indexes.is_empty() {
                return Ok(false);
            }
            let definitions: Vec<&str> = indexes.iter().map(|(_, sql)| sql.as_str()).collect();
            db.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)",
                params![DEFERRED_INDEXES, serde_json::to_string(&definitions).unwrap_or_default()],
            )?;
            for (name, _) in &indexes {
                db.batch(&format!("DROP INDEX \"{}\"", name.replace('"', "\"\"")))?;
            }
            Ok(true)
        })
    }

    /// Builds the indexes [`Store::defer_event_indexes`] dropped, if any
    /// are missing, in one transaction, and maps pages again (after
    /// [`Store::unmap_pages`]). Returns how many it built.
    pub fn restore_indexes(&self) -> Result<usize, StoreError> {
        if self.db.is_postgres() {
            return self.write(rebuild_deferred);
        }
        // The keys are sorted in temporary files, not in memory, and the
        // tables read through SQLite's cache: mapped, every page read would
        // count towards the process's memory (as in `compact`).
        self.db.batch("PRAGMA temp_store = FILE; PRAGMA mmap_size = 0").map_err(self.sql())?;
        let built = self.write(rebuild_deferred);
        self.db.batch(&format!("PRAGMA temp_store = MEMORY; PRAGMA mmap_size = {MMAP_SIZE}")).map_err(self.sql())?;
        built
    }

    /// Ends a sync: replaces the refs, records repository facts and, when
    /// `prune` is set, deletes commits no longer reachable from any ref
    /// (history was rewritten). Returns the number of commits pruned.
    pub fn finish_sync(&mut self, repo_id: i64, finish: &SyncFinish<'_>) -> Result<usize, StoreError> {
        let unreachable = if finish.prune { self.unreachable_commits(repo_id, finish.refs)? } else { Vec::new() };
        self.write(|db| {
            db.execute("DELETE FROM refs WHERE repo_id = ?1", params![repo_id])?;
            for r in finish.refs {
                db.execute(
                    "INSERT INTO refs (repo_id, name, kind, commit_sha, tagged_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![repo_id, r.name, r.kind.as_str(), r.commit, r.tagged_at],
                )?;
            }
            for id in &unreachable {
                db.execute("DELETE FROM commits WHERE id = ?1", params![id])?;
            }
            db.execute(
                "UPDATE repos SET sync_complete = 1, head_branch = ?2, shallow = ?3, mailmap = ?4, last_sync_at = ?5
                 WHERE id = ?1",
                params![repo_id, finish.head_branch, finish.shallow, finish.mailmap, finish.now],
            )?;
            Ok(unreachable.len())
        })
        .and_then(|pruned| {
            self.resolve_parent_rows(repo_id)?;
            Ok(pruned)
        })
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
        self.db
            .query_map(
                &format!("SELECT {STORED_COMMIT} FROM commits WHERE repo_id + 0 = ?1 ORDER BY id"),
                params![repo_id],
                StoredCommit::read,
            )
            .map_err(self.sql())
    }

    /// `Co-authored-by` trailers of the repository's commits: `(commit row
    /// id, value)`, the value as written (`Name <e-mail>`).
    pub fn load_coauthors(&self, repo_id: i64) -> Result<Vec<(i64, String)>, StoreError> {
        self.db
            .query_map(
                // Trailers first, each commit looked up by its key (CROSS
                // JOIN keeps SQLite's join order): the other way round probed
                // the trailers of every commit of the repository (0.2 s at
                // 1.2M commits with none).
                "SELECT t.commit_id, t.value FROM commit_trailers t CROSS JOIN commits c
                 WHERE c.id = t.commit_id AND c.repo_id = ?1 AND lower(t.key) = 'co-authored-by' ORDER BY t.commit_id",
                params![repo_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(self.sql())
    }

    /// Every path of the repository's file changes with its id, in id
    /// order: `each(id, path)`.
    pub fn each_path(&self, repo_id: i64, mut each: impl FnMut(i64, &str)) -> Result<(), StoreError> {
        self.db
            .for_each("SELECT id, path FROM paths WHERE repo_id = ?1 ORDER BY id", params![repo_id], |r| {
                let id = r.get(0)?;
                r.with_text(1, |path| each(id, path))
            })
            .map_err(self.sql())
    }

    /// Every file change of the repository's commits, handed to `each` as
    /// it is read (no list of them all): the change's commit row id, its
    /// path's id (see [`Store::each_path`]), the id of the path before a
    /// rename, and its kind (`A`, `M`, `D`, `R`).
    pub fn each_file_change(
        &self,
        repo_id: i64,
        mut each: impl FnMut(i64, i64, Option<i64>, u8),
    ) -> Result<(), StoreError> {
        self.db
            .for_each(
                "SELECT commit_id, path_id, old_path_id, kind FROM file_changes WHERE repo_id + 0 = ?1",
                params![repo_id],
                |r| {
                    let kind = r.with_text(3, |k| k.bytes().next().unwrap_or(b'M'))?;
                    let old_path = if kind == b'R' { r.get(2)? } else { None };
                    each(r.get(0)?, r.get(1)?, old_path, kind);
                    Ok(())
                },
            )
            .map_err(self.sql())
    }

    /// Counts shown in the report header.
    pub fn totals(&self, repo_id: i64) -> Result<RepoTotals, StoreError> {
        self.db
            .query_row(
                // The covering `commits_graph` index holds both: a scan of
                // it, not of the table (2x faster at 600k commits).
                "SELECT COUNT(*), CAST(COALESCE(SUM(missing_blobs), 0) AS BIGINT) FROM commits WHERE repo_id = ?1",
                params![repo_id],
                |r| Ok(RepoTotals { commits: r.get::<i64>(0)? as u64, missing_blobs: r.get::<i64>(1)? as u64 }),
            )
            .map_err(self.sql())
    }
}

impl Store {
    /// Replaces the stored teams (`team_services`, which the SQL views
    /// group by) with `teams`: `(team, services)`.
    pub fn set_teams(&mut self, teams: &[(String, Vec<String>)]) -> Result<(), StoreError> {
        self.write(|db| {
            db.execute("DELETE FROM team_services", params![])?;
            for (team, services) in teams {
                for service in services {
                    db.execute(
                        "INSERT INTO team_services (team, service) VALUES (?1, ?2) ON CONFLICT (team, service) DO NOTHING",
                        params![team, service],
                    )?;
                }
            }
            Ok(())
        })
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
        self.write(|db| {
            db.execute(
                "INSERT INTO api_tokens (name, scopes, hash, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![name, scopes.join(" "), hash, now],
            )
        })?;
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

    fn tokens_matching(&self, condition: &str, values: &[&dyn db::ToParam]) -> Result<Vec<ApiToken>, StoreError> {
        self.db
            .query_map(
                &format!("SELECT name, scopes, created_at, revoked_at FROM api_tokens WHERE {condition}"),
                values,
                |r| {
                    let scopes: String = r.get(1)?;
                    Ok(ApiToken {
                        name: r.get(0)?,
                        scopes: scopes.split_whitespace().map(str::to_owned).collect(),
                        created_at: r.get(2)?,
                        revoked_at: r.get(3)?,
                    })
                },
            )
            .map_err(self.sql())
    }

    /// Revokes the token `name`; whether there was a live one.
    pub fn revoke_token(&self, name: &str, now: i64) -> Result<bool, StoreError> {
        let changed = self.write(|db| {
            db.execute(
                "UPDATE api_tokens SET revoked_at = ?2 WHERE name = ?1 AND revoked_at IS NULL",
                params![name, now],
            )
        })?;
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::sources::git::{ChangeKind, CommitRecord, FileChange, Signature};

    /// An empty directory of its own under the system's temporary one.
    pub(crate) fn scratch_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("fulcrum-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// A database file at `path` as schema `version` made it (the
    /// migrations before, `meta` marking the version, fulcrum's file id),
    /// with `rows` then run on it.
    fn database_at(path: &Path, version: usize, rows: &str) {
        let conn = Connection::open(path).unwrap();
        conn.execute_batch("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)").unwrap();
        for migration in &MIGRATIONS[..version] {
            conn.execute_batch(migration).unwrap();
        }
        conn.execute_batch(&format!(
            "INSERT INTO meta (key, value) VALUES ('schema_version', '{version}');
             PRAGMA application_id = {APPLICATION_ID};"
        ))
        .unwrap();
        conn.execute_batch(rows).unwrap();
    }

    /// Every index definition of the database, by name.
    pub(crate) fn index_definitions(store: &Store) -> Vec<String> {
        store
            .db
            .query_map(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name",
                params![],
                |r| r.get(0),
            )
            .unwrap()
    }

    /// A new file takes `PAGE_SIZE` pages (and keeps them through a
    /// compaction); an existing file keeps the size it was made with.
    #[test]
    fn a_new_file_has_large_pages_and_an_old_one_keeps_its_own() {
        let dir = scratch_dir("page-size");
        let page_size =
            |store: &Store| -> i64 { store.db.query_row("PRAGMA page_size", params![], |r| r.get(0)).unwrap() };
        let path = dir.join("new.sqlite");
        let store = Store::open(&path).unwrap();
        assert_eq!(page_size(&store), PAGE_SIZE);
        store.compact().unwrap();
        assert_eq!(page_size(&store), PAGE_SIZE);
        drop(store);
        assert_eq!(page_size(&Store::open_read_only(&path).unwrap()), PAGE_SIZE);

        let old = dir.join("old.sqlite");
        let conn = Connection::open(&old).unwrap();
        conn.execute_batch("PRAGMA page_size = 4096; CREATE TABLE t (x INTEGER); DROP TABLE t;").unwrap();
        drop(conn);
        let store = Store::open(&old).unwrap();
        assert_eq!(page_size(&store), 4096);
        assert!(store.db.query_row("SELECT COUNT(*) FROM meta", params![], |r| r.get::<i64>(0)).unwrap() > 0);
    }

    /// Writes pin the deployments a windowed read takes whatever their age
    /// (schema 20): those listing a commit another lists, the first of each
    /// group and status (again when a rewrite moves it, in time or to
    /// another group), those without a list; a pin stays. `PIN_ALL`, which a bulk import and the
    /// migration run, pins the same rows.
    #[test]
    fn writes_pin_what_a_windowed_read_needs_as_a_bulk_import_does() {
        let dir = scratch_dir("pins");
        let mut store = Store::open(&dir.join("db.sqlite")).unwrap();
        let deployment = |id: &str, service: &str, environment: &str, at: i64, status: &str, list: Option<&[&str]>| {
            let event = DeploymentEvent {
                source: "import".to_owned(),
                external_id: id.to_owned(),
                repo: None,
                service: service.to_owned(),
                environment: environment.to_owned(),
                commit: list.map_or("u1", |l| l[0]).to_owned(),
                finished_at: at,
                status: status.to_owned(),
                name: None,
                commits: list.map(|l| l.iter().map(|c| (*c).to_owned()).collect()),
            };
            (event, None)
        };
        let mut write = |deployments| {
            store.write_events(&EventBatch { deployments, ..EventBatch::default() }, &[]).unwrap();
        };
        write(vec![
            deployment("a", "s1", "production", 100, "success", Some(&["x1"])),
            deployment("b", "s1", "production", 200, "success", Some(&["x2"])),
            deployment("f", "s1", "production", 50, "failure", Some(&["x0"])),
            deployment("e", "s1", "staging", 300, "success", Some(&["x5"])),
            deployment("d", "s2", "production", 10, "success", Some(&["y1"])),
            deployment("d2", "s2", "production", 20, "success", Some(&["y2"])),
            deployment("u", "s3", "production", 150, "success", None),
        ]);
        let pinned = |store: &Store| -> Vec<String> {
            store
                .db
                .query_map(
                    "SELECT external_id FROM deployments WHERE pinned <> 0 ORDER BY external_id",
                    params![],
                    |r| r.get(0),
                )
                .unwrap()
        };
        assert_eq!(pinned(&store), ["a", "d", "e", "f", "u"]);
        // Another deployment lists x1: both are pinned. Then `a` moves after
        // `b`, which becomes its group's first; `a` stays pinned.
        let mut write = |deployments| {
            store.write_events(&EventBatch { deployments, ..EventBatch::default() }, &[]).unwrap();
        };
        write(vec![deployment("c", "s1", "production", 300, "success", Some(&["x3", "x1"]))]);
        write(vec![deployment("a", "s1", "production", 400, "success", Some(&["x1"]))]);
        assert_eq!(pinned(&store), ["a", "b", "c", "d", "e", "f", "u"]);
        // `d` moves to another environment: `d2` is its old group's first.
        let mut write = |deployments| {
            store.write_events(&EventBatch { deployments, ..EventBatch::default() }, &[]).unwrap();
        };
        write(vec![deployment("d", "s2", "staging", 10, "success", Some(&["y1"]))]);
        assert_eq!(pinned(&store), ["a", "b", "c", "d", "d2", "e", "f", "u"]);
        store.db.batch("UPDATE deployments SET pinned = 0").unwrap();
        store.db.batch(events::PIN_ALL).unwrap();
        assert_eq!(pinned(&store), ["a", "b", "c", "d", "d2", "e", "f", "u"]);
        // A read from a time takes every row while one has no list, or
        // while an import's pins are pending.
        let from = |store: &Store| store.read_deployments(&EventFilter::default(), Some(250)).unwrap().2;
        assert_eq!(from(&store), None);
        store.db.batch("UPDATE deployments SET commit_list = '' WHERE commit_list IS NULL").unwrap();
        assert_eq!(from(&store), Some(250));
        store.db.execute("INSERT INTO meta (key, value) VALUES (?1, '[]')", params![DEFERRED_INDEXES]).unwrap();
        assert_eq!(from(&store), None);
    }

    /// A repository's earliest merge before a time, of a pull request with
    /// a merge commit: by its index, or by one pass while an import's
    /// indexes are deferred; the same either way.
    #[test]
    fn the_earliest_merge_left_out_is_the_same_with_indexes_deferred() {
        let dir = scratch_dir("first-merges");
        let mut store = Store::open(&dir.join("db.sqlite")).unwrap();
        let pr = |repo: &str, number: u64, merged: Option<i64>, commit: Option<&str>| {
            window_pr(repo, number, merged, merged, commit.map(str::to_owned))
        };
        let batch = EventBatch {
            pull_requests: [
                pr("o/a", 1, Some(300), Some("a1")),
                pr("o/a", 2, Some(200), None),
                pr("o/a", 3, Some(250), Some("a3")),
                pr("o/a", 4, None, None),
                pr("o/b", 1, Some(900), Some("b1")),
                pr("o/c", 1, Some(100), Some("c1")),
            ]
            .into_iter()
            .map(|p| (p, "import".to_owned(), None, PrLabel::default()))
            .collect(),
            ..EventBatch::default()
        };
        store.write_events(&batch, &[]).unwrap();
        let firsts = |store: &Store| {
            let mut counts = store.pr_counts(&EventFilter::default()).unwrap();
            let covered: std::collections::HashSet<&str> = ["o/c"].into_iter().collect();
            store.first_merges_before(&mut counts, &covered, 500).unwrap();
            counts.into_iter().map(|c| (c.repo, c.left_out_merge)).collect::<Vec<_>>()
        };
        let expected = vec![("o/a".to_owned(), Some(250)), ("o/b".to_owned(), None), ("o/c".to_owned(), None)];
        assert_eq!(firsts(&store), expected);
        store.db.execute("INSERT INTO meta (key, value) VALUES (?1, '[]')", params![DEFERRED_INDEXES]).unwrap();
        assert_eq!(firsts(&store), expected);
    }

    /// A database of schema 19 whose import was killed with its indexes
    /// deferred opens with this version: the indexes come back, then
    /// schema 20 pins its deployments (the rebuild does not pin rows that
    /// have no pin column yet).
    #[test]
    fn schema_20_migrates_a_database_whose_import_was_killed() {
        let dir = scratch_dir("schema-20-killed");
        let path = dir.join("db.sqlite");
        database_at(
            &path,
            19,
            &format!(
                "INSERT INTO deployments (id, source, external_id, repo, service, environment, commit_sha,
                     finished_at, status, has_commit_list, commit_list)
                 VALUES (1, 'import', 'd1', NULL, 's1', 'production', 'x1', 400, 'success', 1, '2:x1'),
                        (2, 'import', 'd2', NULL, 's1', 'production', 'x2', 500, 'success', 1, '2:x2');
                 INSERT INTO deployment_commits (deployment_id, seq, sha) VALUES (1, 0, 'x1'), (2, 0, 'x2');
                 DROP INDEX deployment_commits_sha;
                 INSERT INTO meta (key, value) VALUES ('{DEFERRED_INDEXES}',
                     '[\"CREATE INDEX deployment_commits_sha ON deployment_commits (sha)\"]');"
            ),
        );
        let store = Store::open(&path).unwrap();
        let pinned: Vec<String> = store
            .db
            .query_map("SELECT external_id FROM deployments WHERE pinned <> 0", params![], |r| r.get(0))
            .unwrap();
        assert_eq!(pinned, ["d1"]);
        assert!(index_definitions(&store).iter().any(|sql| sql.contains("deployment_commits_sha")));
        assert_eq!(deferred_indexes(&store.db).unwrap(), None);
    }

    /// A bulk import drops the events tables' secondary indexes (keeping
    /// their unique keys) and builds the same ones at its end; one killed
    /// in between has them built when the database is next opened; a
    /// definition in `meta` that is not a lone `CREATE INDEX` is not run.
    #[test]
    fn deferred_indexes_come_back_at_the_end_or_at_the_next_open() {
        let dir = scratch_dir("deferred");
        let path = dir.join("db.sqlite");
        let store = Store::open(&path).unwrap();
        let all = index_definitions(&store);
        assert!(all.iter().any(|sql| sql.contains("pull_requests_merge_commit")), "{all:?}");
        assert!(!store.defer_event_indexes(DEFER_INDEXES_FROM - 1).unwrap(), "a small import defers nothing");
        assert_eq!(index_definitions(&store), all);

        assert!(store.defer_event_indexes(DEFER_INDEXES_FROM).unwrap());
        let left = index_definitions(&store);
        for gone in
            ["pull_requests_merge_commit", "pull_requests_reach", "deployments_service", "deployment_commits_sha"]
        {
            assert!(!left.iter().any(|sql| sql.contains(gone)), "{gone} is still there: {left:?}");
        }
        assert!(left.iter().any(|sql| sql.contains("ON commits")), "other tables keep theirs: {left:?}");
        let unique: i64 = store
            .db
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'pull_requests'
                 AND sql IS NULL",
                params![],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(unique, 1, "the key the upserts find rows by stays");
        assert!(!store.defer_event_indexes(DEFER_INDEXES_FROM).unwrap(), "a second import defers nothing more");
        assert_eq!(store.restore_indexes().unwrap(), all.len() - left.len());
        assert_eq!(index_definitions(&store), all);
        assert_eq!(store.restore_indexes().unwrap(), 0, "nothing is left to build");

        // Killed between the two: the next open builds them.
        assert!(store.defer_event_indexes(DEFER_INDEXES_FROM).unwrap());
        drop(store);
        let store = Store::open(&path).unwrap();
        assert_eq!(index_definitions(&store), all);

        // A hostile file's `meta`: only lone `CREATE INDEX` statements run.
        let hostile = r#"["CREATE TABLE evil (x)", "CREATE INDEX e ON pull_requests (repo); DROP TABLE pull_requests", "CREATE INDEX fine ON pull_requests (author)"]"#;
        store.db.execute("INSERT INTO meta (key, value) VALUES (?1, ?2)", params![DEFERRED_INDEXES, hostile]).unwrap();
        drop(store);
        let store = Store::open(&path).unwrap();
        let tables: Vec<String> =
            store.db.query_map("SELECT name FROM sqlite_master WHERE type = 'table'", params![], |r| r.get(0)).unwrap();
        assert!(!tables.contains(&"evil".to_owned()) && tables.contains(&"pull_requests".to_owned()), "{tables:?}");
        let now = index_definitions(&store);
        assert!(now.iter().any(|sql| sql.contains("fine")) && !now.iter().any(|sql| sql.contains("INDEX e ")));
        let kept: Option<String> = store
            .db
            .query_opt("SELECT value FROM meta WHERE key = ?1", params![DEFERRED_INDEXES], |r| r.get(0))
            .unwrap();
        assert_eq!(kept, None);
        drop(store);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A pull request by "ann", created at 100, with no children, for the
    /// window reads' tests.
    fn window_pr(
        repo: &str,
        number: u64,
        merged: Option<i64>,
        closed: Option<i64>,
        merge_commit: Option<String>,
    ) -> fulcrum_core::flow::PullRequest {
        fulcrum_core::flow::PullRequest {
            id: String::new(),
            repo: repo.to_owned(),
            number,
            author: "ann".to_owned(),
            created_at: 100,
            ready_at: None,
            merged_at: merged,
            closed_at: closed,
            merge_commit,
            draft: false,
            additions: 0,
            deletions: 0,
            size_unknown: false,
            commits: Vec::new(),
            activities: Vec::new(),
            updated_at: None,
        }
    }

    /// A windowed read counts the pull requests it goes by as
    /// `pr_counts` does, for a team and for everything (read in halves).
    #[test]
    fn a_window_counts_the_pull_requests_it_reads() {
        let dir = scratch_dir("window-counts");
        let mut store = Store::open(&dir.join("db.sqlite")).unwrap();
        // Merged (with or without a merge commit), open and closed, old and
        // new, in three repositories and two sources.
        let pr = |repo: &str, number: u64, merged: Option<i64>, commit: bool| {
            let closed = merged.or(number.is_multiple_of(3).then_some(200));
            let merge_commit = (merged.is_some() && commit).then(|| format!("m{repo}{number}"));
            window_pr(repo, number, merged, closed, merge_commit)
        };
        let mut pull_requests = Vec::new();
        for (repo, source) in [("o/a", "import"), ("o/b", "import"), ("o/b", "github:o/b"), ("o/c", "import")] {
            for number in 0..12_u64 {
                let merged = match number % 4 {
                    0 => None,
                    1 => Some(300),
                    _ => Some(5000 + number as i64),
                };
                let number = if source == "import" { number } else { number + 100 };
                // Some with a title, some with a web address, some with neither.
                let label = PrLabel {
                    title: number.is_multiple_of(2).then(|| format!("title {repo}#{number}")),
                    url: (number % 3 == 1).then(|| format!("https://example.com/{repo}/{number}")),
                };
                pull_requests.push((pr(repo, number, merged, number % 5 != 2), source.to_owned(), None, label));
            }
        }
        store.write_events(&EventBatch { pull_requests, ..EventBatch::default() }, &[]).unwrap();
        assert!(store.counts_in_window().unwrap());
        let team = EventFilter { repos: vec!["o/b".to_owned(), "o/c".to_owned()], services: vec!["s".to_owned()] };
        for filter in [team, EventFilter::default()] {
            let window = store.load_window(&filter, 3000, true).unwrap();
            let counts = store.pr_counts(&filter).unwrap();
            assert!(counts.iter().any(|c| c.merged_without_commit > 0), "{counts:?}");
            assert_eq!(window.counts, Some(counts));
            // The labels read with the rows are what the store gives for them.
            let keys: Vec<(String, u64)> = window.prs.iter().map(|pr| (pr.repo.clone(), pr.number)).collect();
            let mut labels = store.pr_labels(&keys).unwrap();
            labels.retain(|_, label| label.title.is_some() || label.url.is_some());
            assert!(labels.len() > 10 && labels.len() < keys.len(), "{} of {}", labels.len(), keys.len());
            assert_eq!(window.labels, Some(labels));
            assert_eq!(store.load_window(&filter, 3000, false).unwrap().labels, None);
        }
        drop(store);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Rows before a window wait for the deployments by their merge
    /// commit's hash: a row whose merge commit shares the hash of a shipped
    /// one (a hostile import can make one) is read again, and left out.
    #[test]
    fn a_window_reaches_rows_shipped_since_its_start_by_merge_commit_not_by_its_hash() {
        // Two merge commits of one hash: nine bytes against eight (the
        // hasher takes eight at a time, each step invertible).
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut inverse = K;
        for _ in 0..6 {
            inverse = inverse.wrapping_mul(2_u64.wrapping_sub(K.wrapping_mul(inverse)));
        }
        let (shipped, twin) = (0_u64..)
            .find_map(|n| {
                let long = format!("m{:07}x", n % 10_000_000);
                let word = u64::from_le_bytes(long.as_bytes()[..8].try_into().unwrap());
                let state = (word.wrapping_mul(K).rotate_left(5) ^ u64::from(long.as_bytes()[8])).wrapping_mul(K);
                let short = state.wrapping_mul(inverse).to_le_bytes();
                short
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric())
                    .then(|| (long, String::from_utf8(short.to_vec()).unwrap()))
            })
            .unwrap();
        assert_ne!(shipped, twin);
        assert_eq!(events::merge_hash(&shipped), events::merge_hash(&twin), "{shipped} {twin}");

        let dir = scratch_dir("window-hash");
        let mut store = Store::open(&dir.join("db.sqlite")).unwrap();
        let pr = |number: u64, merged: i64, merge: &str| {
            window_pr("o/a", number, Some(merged), Some(merged), Some(merge.to_owned()))
        };
        let label = |number: u64| PrLabel { title: Some(format!("#{number}")), url: None };
        let pull_requests = vec![
            (pr(1, 300, &shipped), "import".to_owned(), None, label(1)),
            (pr(2, 300, &twin), "import".to_owned(), None, label(2)),
            (pr(3, 400, "never-shipped"), "import".to_owned(), None, label(3)),
            (pr(4, 5000, "in-the-window"), "import".to_owned(), None, label(4)),
        ];
        let deployment = DeploymentEvent {
            source: "import".to_owned(),
            external_id: "d1".to_owned(),
            repo: Some("o/a".to_owned()),
            service: "a".to_owned(),
            environment: "production".to_owned(),
            commit: "in-the-window".to_owned(),
            finished_at: 6000,
            status: "success".to_owned(),
            name: None,
            commits: Some([shipped.as_str(), "in-the-window"].into_iter().collect()),
        };
        store
            .write_events(
                &EventBatch { pull_requests, deployments: vec![(deployment, None)], ..EventBatch::default() },
                &[],
            )
            .unwrap();
        let team = EventFilter { repos: vec!["o/a".to_owned()], services: vec!["a".to_owned()] };
        for filter in [EventFilter::default(), team] {
            let window = store.load_window(&filter, 3000, true).unwrap();
            let numbers: Vec<u64> = window.prs.iter().map(|pr| pr.number).collect();
            assert_eq!(numbers, [1, 4], "{filter:?}");
            let labelled: Vec<u64> = window
                .labels
                .unwrap()
                .into_keys()
                .map(|(_, n)| n)
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            assert_eq!(labelled, [1, 4], "{filter:?}");
        }
        drop(store);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// `(commit sha, path, path before a rename, kind)` of every change of
    /// `repo_id`, as the store hands them out (ids turned back into names).
    fn changes(store: &Store, repo_id: i64) -> Vec<(String, String, Option<String>, char)> {
        let mut names = HashMap::new();
        store.each_path(repo_id, |id, path| drop(names.insert(id, path.to_owned()))).unwrap();
        let shas: HashMap<i64, String> =
            store.graph(repo_id).unwrap().into_iter().map(|(id, sha, _)| (id, sha)).collect();
        let mut out = Vec::new();
        store
            .each_file_change(repo_id, |commit, path, old, kind| {
                out.push((shas[&commit].clone(), names[&path].clone(), old.map(|o| names[&o].clone()), kind as char))
            })
            .unwrap();
        out.sort();
        out
    }

    /// A database of schema 13 (paths and signatures as text in every row)
    /// comes out of schemas 14 and 15 with every change, rename, author and
    /// repository kept, each repository's paths and signatures stored once;
    /// later syncs reuse the ids, and forgetting a person renames theirs.
    #[test]
    fn schemas_14_and_15_store_paths_and_signatures_once_and_keep_every_change() {
        let dir = std::env::temp_dir().join(format!("fulcrum-path-ids-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("db.sqlite");
        database_at(
            &path,
            13,
            "INSERT INTO repos (id, path, name) VALUES (1, '/one', 'one'), (2, '/two', 'two');
                 INSERT INTO commits (id, repo_id, sha, author_name, author_email, author_time, author_offset,
                     committer_name, committer_email, committer_time, committer_offset, subject, parents)
                 VALUES (10, 1, 'c1', 'a', 'a@x', 1, 0, 'a', 'a@x', 1, 0, 's', ''),
                        (11, 1, 'c2', 'a', 'a@x', 2, 0, 'a', 'a@x', 2, 0, 's', 'c1'),
                        (12, 2, 'd1', 'b', 'b@x', 3, 0, 'b', 'b@x', 3, 0, 's', '');
                 INSERT INTO file_changes (repo_id, commit_id, path, old_path, kind, added, removed)
                 VALUES (1, 10, 'src/a.rs', NULL, 'A', 3, 0), (1, 10, 'b.rs', NULL, 'A', 1, 0),
                        (1, 11, 'src/c.rs', 'src/a.rs', 'R', 0, 0), (1, 11, 'b.rs', NULL, 'M', 2, 1),
                        (2, 12, 'src/a.rs', NULL, 'A', 5, 0);",
        );
        let mut store = Store::open(&path).unwrap();
        let owned = |sha: &str, path: &str, old: Option<&str>, kind: char| {
            (sha.to_owned(), path.to_owned(), old.map(str::to_owned), kind)
        };
        assert_eq!(
            changes(&store, 1),
            vec![
                owned("c1", "b.rs", None, 'A'),
                owned("c1", "src/a.rs", None, 'A'),
                owned("c2", "b.rs", None, 'M'),
                owned("c2", "src/c.rs", Some("src/a.rs"), 'R'),
            ]
        );
        assert_eq!(changes(&store, 2), vec![owned("d1", "src/a.rs", None, 'A')]);
        let paths = |store: &Store| -> i64 {
            store.db.query_row("SELECT COUNT(*) FROM paths", params![], |r| r.get(0)).unwrap()
        };
        assert_eq!(paths(&store), 4, "three paths of one repository, one of the other");
        // A later sync names a known path by its id and stores a new one once.
        let signature = Signature { name: "a".into(), email: "a@x".into(), time: 4, offset_minutes: 0 };
        let change = |path: &str, kind| FileChange {
            path: path.to_owned(),
            old_path: None,
            kind,
            added: Some(1),
            removed: Some(0),
        };
        let record = |id: &str, files| CommitRecord {
            id: id.to_owned(),
            parents: vec!["c2".to_owned()],
            author: signature.clone(),
            committer: signature.clone(),
            subject: String::new(),
            reverts: None,
            trailers: Vec::new(),
            files,
            missing_blobs: 0,
        };
        store
            .insert_commits(
                1,
                &[record("c3", vec![change("b.rs", ChangeKind::Modified), change("new.rs", ChangeKind::Added)])],
            )
            .unwrap();
        store.insert_commits(1, &[record("c4", vec![change("new.rs", ChangeKind::Modified)])]).unwrap();
        assert_eq!(paths(&store), 5);
        let after = changes(&store, 1);
        assert_eq!(after.len(), 7);
        assert!(after.contains(&owned("c3", "b.rs", None, 'M')) && after.contains(&owned("c4", "new.rs", None, 'M')));
        // Authors: one signature a repository, each commit naming its own.
        let authors = |store: &Store, repo_id: i64| -> Vec<(String, String)> {
            store.resolve_parent_rows(repo_id).unwrap();
            let (graph, authors) = store.load_graph_with_authors(repo_id).unwrap().expect("complete");
            assert_eq!(authors.signature.len(), graph.rows.len());
            authors.signature.iter().map(|&i| authors.signatures[i as usize].clone()).collect()
        };
        let pair = |name: &str, email: &str| (name.to_owned(), email.to_owned());
        assert_eq!(authors(&store, 1), vec![pair("a", "a@x"); 4]);
        assert_eq!(authors(&store, 2), vec![pair("b", "b@x")]);
        let count = |store: &Store, table: &str| -> i64 {
            store.db.query_row(&format!("SELECT COUNT(*) FROM {table}"), params![], |r| r.get(0)).unwrap()
        };
        assert_eq!(count(&store, "signatures"), 2);
        store.forget_person(&["a@x".to_owned()], "forgotten-1").unwrap();
        assert_eq!(authors(&store, 1), vec![pair("forgotten-1", "forgotten-1@forgotten.invalid"); 4]);
        let names: i64 = store
            .db
            .query_row("SELECT COUNT(*) FROM signatures WHERE name = 'a' OR email = 'a@x'", params![], |r| r.get(0))
            .unwrap();
        assert_eq!(names, 0, "the forgotten signature is renamed, not kept");
        // Their next commit comes in under the pseudonym's signature.
        store.insert_commits(1, &[record("c5", vec![change("b.rs", ChangeKind::Modified)])]).unwrap();
        assert_eq!(authors(&store, 1), vec![pair("forgotten-1", "forgotten-1@forgotten.invalid"); 5]);
        assert_eq!(count(&store, "signatures"), 2, "the renamed row, reused");
        // Compacting after that import (every commit new): the file keeps
        // no free page, and everything stored reads back the same.
        let before = changes(&store, 1);
        let free =
            |store: &Store| -> i64 { store.db.query_row("PRAGMA freelist_count", params![], |r| r.get(0)).unwrap() };
        // Pages a rewrite left free (as schema 14's dropped table does in a
        // large database).
        store
            .db
            .batch(
                "CREATE TABLE scratch (x TEXT);
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500)
                 INSERT INTO scratch SELECT printf('%.1000c', 'x') FROM n;
                 DROP TABLE scratch;",
            )
            .unwrap();
        assert!(free(&store) > 100, "{}", free(&store));
        assert!(!store.should_compact(Imported::Commits(6)).unwrap(), "below 100,000 rows");
        store.compact().unwrap();
        assert_eq!(free(&store), 0);
        assert_eq!(changes(&store, 1), before);
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Each packed list stored by `sql` (`pr_id, text`), read by `entries`
    /// (calling back with each entry's text), as `PR:SEQ:ENTRY` (`SEQ`: its
    /// place in its pull request's list), in order.
    fn stored(
        store: &Store,
        sql: &str,
        entries: impl Fn(&str, &mut dyn FnMut(String)) -> Result<(), String>,
    ) -> Vec<String> {
        let rows: Vec<(i64, String)> = store.db.query_map(sql, params![], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
        let mut out = Vec::new();
        for (id, text) in rows {
            let mut seq = 0;
            entries(&text, &mut |entry| {
                out.push(format!("{id}:{seq}:{entry}"));
                seq += 1;
            })
            .unwrap();
        }
        out
    }

    /// Every commit stored, as `PR:SEQ:SHA`.
    fn stored_commits(store: &Store) -> Vec<String> {
        stored(store, "SELECT pr_id, commit_ids FROM pr_commit_ids ORDER BY pr_id", |text, each| {
            packed::commit_ids(text, |sha, _| each(sha.to_owned()))
        })
    }

    /// Every activity stored, as `PR:SEQ:AT:KIND`.
    fn stored_activities(store: &Store) -> Vec<String> {
        stored(store, "SELECT pr_id, activities FROM pr_children ORDER BY pr_id", |text, each| {
            packed::activities(text, |at, kind, _| each(format!("{at}:{kind}")))
        })
    }

    /// A database of schema 15 comes out of schema 16 with every commit and
    /// activity of every pull request (each numbered in its pull request),
    /// and each pull request's last event: a windowed read finds those open,
    /// those with an event since its start (an activity alone is enough)
    /// and those a deployment ships, and no other. A later write of a pull
    /// request replaces its children and moves its last event.
    #[test]
    fn schema_16_keeps_children_together_and_reads_a_window_by_last_event() {
        use fulcrum_core::flow::{ActivityKind, PrCommit, PullRequest, ReviewActivity};
        let dir = std::env::temp_dir().join(format!("fulcrum-schema-16-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("db.sqlite");
        // 1: open. 2: merged long ago, reviewed lately. 3: closed long
        // ago. 4: merged long ago, shipped lately. 5: merged lately.
        // Children interleaved, as batches of several pull requests are.
        database_at(
            &path,
            15,
            "INSERT INTO pull_requests (id, repo, number, source, author, created_at, merged_at, closed_at,
                     merge_commit)
                 VALUES (1, 'o/a', 1, 'import', 'ann', 100, NULL, NULL, NULL),
                        (2, 'o/a', 2, 'import', 'ann', 100, 200, NULL, 'm2'),
                        (3, 'o/b', 3, 'import', 'bob', 100, NULL, 300, NULL),
                        (4, 'o/b', 4, 'import', 'bob', 100, 400, NULL, 'm4'),
                        (5, 'o/b', 5, 'import', 'bob', 100, 5000, NULL, 'm5');
                 INSERT INTO pr_commits (pr_id, sha, author, authored_at)
                 VALUES (2, 'c2b', 'ann', 90), (1, 'c1', 'ann', 50), (2, 'c2a', 'ann', 80), (5, 'c5', 'bob', 60);
                 INSERT INTO pr_activities (pr_id, author, at, kind)
                 VALUES (2, 'cid', 150, 'review'), (3, 'cid', 250, 'comment'), (2, 'cid', 4000, 'comment'),
                        (2, 'cid', 4000, 'comment'), (4, 'dan', 300, 'review');",
        );
        let mut store = Store::open(&path).unwrap();
        let list = |store: &Store, sql: &str| -> Vec<String> {
            store.db.query_map(sql, params![], |r| r.get::<String>(0)).unwrap()
        };
        assert_eq!(stored_commits(&store), ["1:0:c1", "2:0:c2a", "2:1:c2b", "5:0:c5"]);
        assert_eq!(
            stored_activities(&store),
            ["2:0:150:review", "2:1:4000:comment", "2:2:4000:comment", "3:0:250:comment", "4:0:300:review"]
        );
        assert_eq!(
            list(&store, "SELECT id || ':' || COALESCE(last_event_at, -1) FROM pull_requests ORDER BY id"),
            ["1:-1", "2:4000", "3:300", "4:400", "5:5000"]
        );
        // Schema 18's text, as its migration builds it; and the figures the
        // public views read (the first review: anyone's but the author's).
        assert_eq!(
            list(
                &store,
                "SELECT c.pr_id || '|' || COALESCE(first_commit_at, -1) || '|' || COALESCE(first_review_at, -1) || '|'
                        || commit_times || '|' || activities || '|' || COALESCE(commit_ids, '-')
                 FROM pr_children c LEFT JOIN pr_commit_ids i ON i.pr_id = c.pr_id ORDER BY c.pr_id"
            ),
            [
                "1|50|-1|50||2:c13:ann",
                "2|80|150|80,90|150,review,3:cid4000,comment,3:cid4000,comment,3:cid|3:c2a3:ann3:c2b3:ann",
                "3|-1|250||250,comment,3:cid|-",
                "4|-1|300||300,review,3:dan|-",
                "5|60|-1|60||2:c53:bob",
            ]
        );
        assert_eq!(
            list(&store, "SELECT number || ':' || COALESCE(first_review_at, -1) FROM pull_requests_v1 ORDER BY number"),
            ["1:-1", "2:150", "3:250", "4:300", "5:-1"]
        );
        let filter = EventFilter::default();
        let numbers = |store: &Store, reach: Option<&PrReach<'_>>| -> Vec<(u64, usize, usize)> {
            let prs = store.load_pull_requests(&filter, reach).unwrap();
            prs.iter().map(|pr| (pr.number, pr.commits.len(), pr.activities.len())).collect()
        };
        assert_eq!(numbers(&store, None), [(1, 1, 0), (2, 2, 3), (3, 0, 1), (4, 0, 1), (5, 1, 0)]);
        let since = PrReach { at: 3000, shipped: vec!["m4"] };
        assert_eq!(numbers(&store, Some(&since)), [(1, 1, 0), (2, 2, 3), (4, 0, 1), (5, 1, 0)]);
        let since = PrReach { at: 3000, shipped: Vec::new() };
        assert_eq!(numbers(&store, Some(&since)), [(1, 1, 0), (2, 2, 3), (5, 1, 0)]);
        // Pull request 1 merges, with a review after it; 2 loses its late comments.
        let pr = |number: u64, merged: Option<i64>, activities: Vec<ReviewActivity>| PullRequest {
            id: format!("import:pr:o/a#{number}"),
            repo: "o/a".to_owned(),
            number,
            author: "ann".to_owned(),
            created_at: 100,
            ready_at: None,
            merged_at: merged,
            closed_at: None,
            merge_commit: None,
            draft: false,
            additions: 0,
            deletions: 0,
            size_unknown: false,
            commits: vec![PrCommit { sha: format!("n{number}"), author: "ann".to_owned(), authored_at: 70 }],
            activities,
            updated_at: None,
        };
        let review = |at| ReviewActivity { author: "cid".into(), at, kind: ActivityKind::Review };
        let batch = EventBatch {
            pull_requests: vec![
                (pr(1, Some(6000), vec![review(6500), review(6100)]), "import".to_owned(), None, PrLabel::default()),
                (pr(2, Some(200), vec![review(150)]), "import".to_owned(), None, PrLabel::default()),
            ],
            ..EventBatch::default()
        };
        store.write_events(&batch, &[]).unwrap();
        assert_eq!(
            list(&store, "SELECT id || ':' || COALESCE(last_event_at, -1) FROM pull_requests ORDER BY id"),
            ["1:6500", "2:200", "3:300", "4:400", "5:5000"]
        );
        assert_eq!(stored_commits(&store), ["1:0:n1", "2:0:n2", "5:0:c5"]);
        let since = PrReach { at: 3000, shipped: Vec::new() };
        assert_eq!(numbers(&store, Some(&since)), [(1, 1, 2), (5, 1, 0)]);
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn schema_17_numbers_ids_in_blocks_and_reads_a_team_by_its_blocks() {
        use fulcrum_core::flow::{ActivityKind, PrCommit, PullRequest, ReviewActivity};
        let dir = std::env::temp_dir().join(format!("fulcrum-schema-17-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("db.sqlite");
        // o/a: 1 open, 2–6 closed long ago. o/b: 7 merged long ago.
        // Deployment 1 of s1 lists two commits, 2 of s2 one.
        database_at(
            &path,
            16,
            "INSERT INTO pull_requests (id, repo, number, source, author, created_at, merged_at, closed_at,
                     merge_commit, last_event_at)
                 VALUES (1, 'o/a', 1, 'import', 'ann', 100, NULL, NULL, NULL, NULL),
                        (2, 'o/a', 2, 'import', 'ann', 100, NULL, 200, NULL, 200),
                        (3, 'o/a', 3, 'import', 'ann', 100, NULL, 200, NULL, 200),
                        (4, 'o/a', 4, 'import', 'ann', 100, NULL, 200, NULL, 200),
                        (5, 'o/a', 5, 'import', 'ann', 100, NULL, 200, NULL, 200),
                        (6, 'o/a', 6, 'import', 'ann', 100, NULL, 200, NULL, 200),
                        (7, 'o/b', 7, 'import', 'bob', 100, 300, 300, 'm7', 300);
                 INSERT INTO pr_commits (pr_id, seq, sha, author, authored_at)
                 VALUES (1, 0, 'c1', 'ann', 50), (7, 0, 'c7', 'bob', 60);
                 INSERT INTO deployments (id, source, external_id, repo, service, environment, commit_sha,
                     finished_at, status, has_commit_list)
                 VALUES (1, 'import', 'd1', NULL, 's1', 'production', 'x2', 400, 'success', 1),
                        (2, 'import', 'd2', NULL, 's2', 'production', 'y1', 500, 'success', 1);
                 INSERT INTO deployment_commits (deployment_id, sha) VALUES (1, 'x2'), (2, 'y1'), (1, 'x1');",
        );
        let mut store = Store::open(&path).unwrap();
        let list = |store: &Store, sql: &str| -> Vec<String> {
            store.db.query_map(sql, params![], |r| r.get::<String>(0)).unwrap()
        };
        // Every repository and service stored has a block; the lists are numbered.
        assert_eq!(
            list(&store, "SELECT kind || ':' || key || ':' || block FROM id_blocks ORDER BY kind, block"),
            ["deployment:s1:1", "deployment:s2:2", "pull_request:o/a:1", "pull_request:o/b:2"]
        );
        assert_eq!(
            list(&store, "SELECT deployment_id || ':' || seq || ':' || sha FROM deployment_commits ORDER BY 1"),
            ["1:0:x1", "1:1:x2", "2:0:y1"]
        );
        // Each list packed into its deployment's row as well (schema 19), in order.
        assert_eq!(
            list(&store, "SELECT id || '=' || commit_list FROM deployments ORDER BY id"),
            ["1=2:x12:x2", "2=2:y1"]
        );
        let pr = |repo: &str, number: u64, merged: Option<i64>, commits: &[&str]| PullRequest {
            id: format!("import:pr:{repo}#{number}"),
            repo: repo.to_owned(),
            number,
            author: "ann".to_owned(),
            created_at: 100,
            ready_at: None,
            merged_at: merged,
            closed_at: merged,
            merge_commit: merged.map(|_| format!("m{number}")),
            draft: false,
            additions: 0,
            deletions: 0,
            size_unknown: false,
            commits: commits
                .iter()
                .map(|sha| PrCommit { sha: (*sha).to_owned(), author: "ann".to_owned(), authored_at: 70 })
                .collect(),
            activities: vec![ReviewActivity { author: "cid".into(), at: 90, kind: ActivityKind::Review }],
            updated_at: None,
        };
        let deployment = |id: &str, service: &str, commits: &[&str]| DeploymentEvent {
            source: "import".to_owned(),
            external_id: id.to_owned(),
            repo: None,
            service: service.to_owned(),
            environment: "production".to_owned(),
            commit: commits[0].to_owned(),
            finished_at: 6000,
            status: "success".to_owned(),
            name: None,
            commits: Some(commits.iter().map(|c| (*c).to_owned()).collect()),
        };
        let label = PrLabel::default;
        // New rows of known keys go to their blocks, of new keys to new
        // blocks; a row stored before keeps its id and gets its new children.
        let batch = EventBatch {
            pull_requests: vec![
                (pr("o/c", 1, Some(5000), &["k1"]), "import".to_owned(), None, label()),
                (pr("o/a", 10, Some(5000), &["a10", "b10"]), "import".to_owned(), None, label()),
                (pr("o/b", 7, Some(300), &["c7b"]), "import".to_owned(), None, label()),
            ],
            deployments: vec![
                (deployment("d3", "s3", &["z1"]), None),
                (deployment("d1", "s1", &["x3"]), None),
                (deployment("d4", "s2", &["y3", "y2"]), None),
            ],
            ..EventBatch::default()
        };
        store.write_events(&batch, &[]).unwrap();
        let batch = EventBatch {
            pull_requests: vec![(pr("o/a", 11, Some(5000), &["a11"]), "import".to_owned(), None, label())],
            ..EventBatch::default()
        };
        store.write_events(&batch, &[]).unwrap();
        let block = |b: i64, n: i64| ((b << 32) + n).to_string();
        assert_eq!(
            list(&store, "SELECT id || ':' || repo || '#' || number FROM pull_requests ORDER BY id"),
            [
                "1:o/a#1".to_owned(),
                "2:o/a#2".to_owned(),
                "3:o/a#3".to_owned(),
                "4:o/a#4".to_owned(),
                "5:o/a#5".to_owned(),
                "6:o/a#6".to_owned(),
                "7:o/b#7".to_owned(),
                format!("{}:o/a#10", block(1, 0)),
                format!("{}:o/a#11", block(1, 1)),
                format!("{}:o/c#1", block(3, 0)),
            ]
        );
        assert_eq!(
            stored_commits(&store),
            [
                "1:0:c1".to_owned(),
                "7:0:c7b".to_owned(),
                format!("{}:0:a10", block(1, 0)),
                format!("{}:1:b10", block(1, 0)),
                format!("{}:0:a11", block(1, 1)),
                format!("{}:0:k1", block(3, 0)),
            ]
        );
        assert_eq!(
            list(
                &store,
                "SELECT deployment_id || ':' || seq || ':' || sha FROM deployment_commits ORDER BY deployment_id, seq"
            ),
            [
                "1:0:x3".to_owned(),
                "2:0:y1".to_owned(),
                format!("{}:0:y3", block(2, 0)),
                format!("{}:1:y2", block(2, 0)),
                format!("{}:0:z1", block(3, 0)),
            ]
        );
        // A team of o/a: its window (the open 1, and 10 and 11) from two
        // ranges of ids, with their children; one of 3 of its 8 rows, so
        // the children are read by id ranges.
        let team = EventFilter { repos: vec!["o/a".to_owned()], services: vec!["s2".to_owned()] };
        let since = PrReach { at: 3000, shipped: Vec::new() };
        let prs = store.load_pull_requests(&team, Some(&since)).unwrap();
        let read: Vec<(u64, Vec<&str>, usize)> = prs
            .iter()
            .map(|pr| (pr.number, pr.commits.iter().map(|c| c.sha.as_str()).collect(), pr.activities.len()))
            .collect();
        assert_eq!(read, [(1, vec!["c1"], 0), (10, vec!["a10", "b10"], 1), (11, vec!["a11"], 1)]);
        let all = store.load_pull_requests(&EventFilter::default(), None).unwrap();
        assert_eq!(all.len(), 10);
        assert_eq!(all.iter().map(|pr| pr.commits.len()).sum::<usize>(), 6);
        // The organisation's window: the table read in two halves (blocks
        // 1 and below, then 2 and above), in id order with their children;
        // o/b#7 reached by its shipped merge commit.
        let since = PrReach { at: 3000, shipped: vec!["m7"] };
        let prs = store.load_pull_requests(&EventFilter::default(), Some(&since)).unwrap();
        let read: Vec<(String, Vec<&str>, usize)> = prs
            .iter()
            .map(|pr| (pr.id.clone(), pr.commits.iter().map(|c| c.sha.as_str()).collect(), pr.activities.len()))
            .collect();
        let expected: Vec<(String, Vec<&str>, usize)> = [
            ("o/a#1", vec!["c1"], 0),
            ("o/b#7", vec!["c7b"], 1),
            ("o/a#10", vec!["a10", "b10"], 1),
            ("o/a#11", vec!["a11"], 1),
            ("o/c#1", vec!["k1"], 1),
        ]
        .into_iter()
        .map(|(id, commits, activities)| (format!("import:pr:{id}"), commits, activities))
        .collect();
        assert_eq!(read, expected);
        let deployments = store.load_deployments(&team).unwrap();
        let read: Vec<(&str, Option<Vec<&str>>)> = deployments
            .iter()
            .map(|d| (d.external_id.as_str(), d.commits.as_ref().map(|l| l.iter().collect())))
            .collect();
        assert_eq!(read, [("d2", Some(vec!["y1"])), ("d4", Some(vec!["y3", "y2"]))]);
        // Deployments read beside the pull requests: the organisation's
        // rows merged before the window wait for them (o/b#7, shipped by
        // d9, is read again by id and put back in id order); a team with
        // rows before blocks knows them before its read. Each the same as
        // the reads one after the other.
        let batch = EventBatch { deployments: vec![(deployment("d9", "s9", &["m7"]), None)], ..EventBatch::default() };
        store.write_events(&batch, &[]).unwrap();
        // o/b's only row is from before blocks: its window is read in SQL by
        // time, and o/b#7 found by its merge commit once d9 is read.
        let team_b = EventFilter { repos: vec!["o/b".to_owned()], services: vec!["s9".to_owned()] };
        let window = store.load_window(&team_b, 3000, true).unwrap();
        assert_eq!(window.prs.iter().map(|pr| pr.id.as_str()).collect::<Vec<_>>(), ["import:pr:o/b#7"]);
        for filter in [EventFilter::default(), team, team_b] {
            let window = store.load_window(&filter, 3000, false).unwrap();
            let (deployments, prs) = (window.deployments, window.prs);
            assert_eq!(window.counts, None, "rows before blocks are not all read: not counted");
            let alone = store.load_deployments(&filter).unwrap();
            assert_eq!(deployments, alone);
            let reach = PrReach::shipped_by(3000, &alone);
            // A window's commits come with their times only.
            let mut full = store.load_pull_requests(&filter, Some(&reach)).unwrap();
            assert!(full.iter().flat_map(|pr| &pr.commits).any(|c| !c.sha.is_empty() && !c.author.is_empty()));
            for commit in full.iter_mut().flat_map(|pr| &mut pr.commits) {
                (commit.sha, commit.author) = (String::new(), String::new());
            }
            assert_eq!(prs, full);
            if filter.repos.is_empty() {
                let ids: Vec<&str> = prs.iter().map(|pr| pr.id.as_str()).collect();
                assert_eq!(ids, expected.iter().map(|(id, ..)| id.as_str()).collect::<Vec<_>>());
            }
        }
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
