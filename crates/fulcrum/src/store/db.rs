//! The two backends under the store: SQLite (rusqlite) and PostgreSQL
//! (postgres). The store's SQL is written once, in the subset both speak:
//! `?N` parameters (rewritten to `$N` for PostgreSQL), `ON CONFLICT`,
//! `RETURNING`, integers for times and flags. Values cross this module as
//! [`Param`]s and [`Cell`]s, so neither driver's types leak into the store.
//!
//! Part of the store: nothing outside `store` sees these types.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;

use postgres::types::{FromSql, IsNull, ToSql, Type};

/// A value bound to a parameter.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Param<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(&'a str),
    /// A PostgreSQL `text[]`, sent in the binary format: no literal to
    /// build and parse, and a value the planner sees as a constant (an
    /// `= ANY (…)` over it is then hashed). SQLite has no arrays.
    TextList(&'a [&'a str]),
}

/// What can be bound to a parameter.
pub(crate) trait ToParam {
    fn param(&self) -> Param<'_>;
}

impl ToParam for i64 {
    fn param(&self) -> Param<'_> {
        Param::Int(*self)
    }
}
impl ToParam for i32 {
    fn param(&self) -> Param<'_> {
        Param::Int(i64::from(*self))
    }
}
impl ToParam for u32 {
    fn param(&self) -> Param<'_> {
        Param::Int(i64::from(*self))
    }
}
impl ToParam for bool {
    fn param(&self) -> Param<'_> {
        Param::Int(i64::from(*self))
    }
}
impl ToParam for f64 {
    fn param(&self) -> Param<'_> {
        Param::Real(*self)
    }
}
impl ToParam for str {
    fn param(&self) -> Param<'_> {
        Param::Text(self)
    }
}
impl ToParam for String {
    fn param(&self) -> Param<'_> {
        Param::Text(self)
    }
}
impl ToParam for std::sync::Arc<str> {
    fn param(&self) -> Param<'_> {
        Param::Text(self)
    }
}
impl ToParam for [&str] {
    fn param(&self) -> Param<'_> {
        Param::TextList(self)
    }
}
impl<T: ToParam + ?Sized> ToParam for &T {
    fn param(&self) -> Param<'_> {
        (**self).param()
    }
}
impl<T: ToParam> ToParam for Option<T> {
    fn param(&self) -> Param<'_> {
        self.as_ref().map_or(Param::Null, ToParam::param)
    }
}

/// `params![a, b, …]`: a slice of parameters, as rusqlite's macro of that name.
macro_rules! params {
    () => { &[] as &[&dyn $crate::store::db::ToParam] };
    ($($value:expr),+ $(,)?) => { &[$(&$value as &dyn $crate::store::db::ToParam),+] as &[&dyn $crate::store::db::ToParam] };
}
pub(crate) use params;

impl rusqlite::ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match *self {
            Param::Null => ValueRef::Null,
            Param::Int(v) => ValueRef::Integer(v),
            Param::Real(v) => ValueRef::Real(v),
            Param::Text(s) if s.contains('\0') => return Ok(ToSqlOutput::from(without_nul(s))),
            Param::Text(s) => ValueRef::Text(s.as_bytes()),
            Param::TextList(_) => {
                return Err(rusqlite::Error::ToSqlConversionFailure("SQLite has no array parameters".into()));
            }
        }))
    }
}

type BoxError = Box<dyn std::error::Error + Sync + Send>;

/// Text with its NUL characters as U+FFFD: PostgreSQL's text cannot hold
/// NUL (hosts send it: a Jira summary ending in one), and both backends
/// store the same.
fn without_nul(text: &str) -> String {
    text.replace('\0', "\u{FFFD}")
}

/// Bound as the type PostgreSQL inferred for the parameter: an integer goes
/// to a `bigint`, `integer` or `boolean` alike, as SQLite would take it.
impl ToSql for Param<'_> {
    fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, BoxError> {
        match *self {
            Param::Null => Ok(IsNull::Yes),
            Param::Int(v) => match *ty {
                Type::INT8 => v.to_sql(ty, out),
                Type::INT4 => i32::try_from(v)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(v)?.to_sql(ty, out),
                Type::BOOL => (v != 0).to_sql(ty, out),
                Type::FLOAT8 => (v as f64).to_sql(ty, out),
                Type::FLOAT4 => (v as f32).to_sql(ty, out),
                Type::TEXT | Type::VARCHAR | Type::UNKNOWN => v.to_string().as_str().to_sql(&Type::TEXT, out),
                _ => Err(format!("an integer cannot be bound to a parameter of type {ty}").into()),
            },
            Param::Real(v) => match *ty {
                Type::FLOAT8 => v.to_sql(ty, out),
                Type::FLOAT4 => (v as f32).to_sql(ty, out),
                _ => Err(format!("a real number cannot be bound to a parameter of type {ty}").into()),
            },
            Param::Text(s) => match *ty {
                Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN if s.contains('\0') => {
                    without_nul(s).as_str().to_sql(&Type::TEXT, out)
                }
                Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => s.to_sql(&Type::TEXT, out),
                _ => Err(format!("text cannot be bound to a parameter of type {ty}").into()),
            },
            Param::TextList(items) => match *ty {
                // Stored text holds no NUL (see `without_nul`): an item with
                // one is compared as stored.
                Type::TEXT_ARRAY if items.iter().any(|s| s.contains('\0')) => {
                    let items: Vec<String> = items.iter().map(|s| without_nul(s)).collect();
                    items.to_sql(ty, out)
                }
                Type::TEXT_ARRAY => items.to_sql(ty, out),
                _ => Err(format!("a list of text cannot be bound to a parameter of type {ty}").into()),
            },
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

/// A value read from a column.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Cell<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(&'a str),
}

impl<'a> FromSql<'a> for Cell<'a> {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        Ok(match *ty {
            Type::INT8 => Cell::Int(i64::from_sql(ty, raw)?),
            Type::INT4 => Cell::Int(i64::from(i32::from_sql(ty, raw)?)),
            Type::INT2 => Cell::Int(i64::from(i16::from_sql(ty, raw)?)),
            Type::BOOL => Cell::Int(i64::from(bool::from_sql(ty, raw)?)),
            Type::FLOAT8 => Cell::Real(f64::from_sql(ty, raw)?),
            Type::FLOAT4 => Cell::Real(f64::from(f32::from_sql(ty, raw)?)),
            Type::NUMERIC => return Err("a NUMERIC column: CAST it to BIGINT or DOUBLE PRECISION in the query".into()),
            _ => Cell::Text(<&str>::from_sql(&Type::TEXT, raw)?),
        })
    }

    fn from_sql_null(_: &Type) -> Result<Self, BoxError> {
        Ok(Cell::Null)
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// What a column can be read as.
pub(crate) trait FromCell: Sized {
    fn from_cell(cell: Cell<'_>) -> Result<Self, String>;
}

impl FromCell for i64 {
    fn from_cell(cell: Cell<'_>) -> Result<Self, String> {
        match cell {
            Cell::Int(v) => Ok(v),
            Cell::Real(v) if v.fract() == 0.0 && v.abs() < 9.0e15 => Ok(v as i64),
            other => Err(format!("expected an integer, found {other:?}")),
        }
    }
}
impl FromCell for i32 {
    fn from_cell(cell: Cell<'_>) -> Result<Self, String> {
        let v = i64::from_cell(cell)?;
        i32::try_from(v).map_err(|_| format!("{v} is out of range"))
    }
}
impl FromCell for bool {
    fn from_cell(cell: Cell<'_>) -> Result<Self, String> {
        Ok(i64::from_cell(cell)? != 0)
    }
}
impl FromCell for f64 {
    fn from_cell(cell: Cell<'_>) -> Result<Self, String> {
        match cell {
            Cell::Int(v) => Ok(v as f64),
            Cell::Real(v) => Ok(v),
            other => Err(format!("expected a number, found {other:?}")),
        }
    }
}
impl FromCell for String {
    fn from_cell(cell: Cell<'_>) -> Result<Self, String> {
        match cell {
            Cell::Text(s) => Ok(s.to_owned()),
            Cell::Int(v) => Ok(v.to_string()),
            other => Err(format!("expected text, found {other:?}")),
        }
    }
}
impl<T: FromCell> FromCell for Option<T> {
    fn from_cell(cell: Cell<'_>) -> Result<Self, String> {
        match cell {
            Cell::Null => Ok(None),
            other => T::from_cell(other).map(Some),
        }
    }
}

/// A failure of either backend.
#[derive(Debug)]
pub(crate) enum DbError {
    Sqlite(rusqlite::Error),
    Postgres(postgres::Error),
    /// A query that must return a row returned none.
    NoRows,
    /// A column could not be read as asked.
    Column {
        index: usize,
        message: String,
    },
    /// A limit of the store's layout was reached (what, and what to do).
    Limit(String),
}

impl DbError {
    /// Whether a row broke a unique key (PostgreSQL's SQLSTATE 23505).
    pub(crate) fn is_unique_violation(&self) -> bool {
        matches!(self, DbError::Postgres(e) if e.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION))
    }
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbError::Sqlite(e) => e.fmt(f),
            DbError::Postgres(e) => match e.as_db_error() {
                Some(db) => write!(f, "{} ({})", db.message(), db.code().code()),
                None => e.fmt(f),
            },
            DbError::NoRows => f.write_str("the query returned no rows"),
            DbError::Column { index, message } => write!(f, "column {index}: {message}"),
            DbError::Limit(message) => f.write_str(message),
        }
    }
}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        DbError::Sqlite(e)
    }
}
impl From<postgres::Error> for DbError {
    fn from(e: postgres::Error) -> Self {
        DbError::Postgres(e)
    }
}

/// A row being read.
pub(crate) enum Row<'r, 's> {
    Sqlite(&'r rusqlite::Row<'s>),
    Postgres(&'r postgres::Row),
}

impl Row<'_, '_> {
    /// Column `index` as `T`.
    pub(crate) fn get<T: FromCell>(&self, index: usize) -> Result<T, DbError> {
        let column = |message: String| DbError::Column { index, message };
        match self {
            Row::Sqlite(row) => {
                use rusqlite::types::ValueRef;
                let cell = match row.get_ref(index)? {
                    ValueRef::Null => Cell::Null,
                    ValueRef::Integer(v) => Cell::Int(v),
                    ValueRef::Real(v) => Cell::Real(v),
                    ValueRef::Text(t) => Cell::Text(std::str::from_utf8(t).map_err(|e| column(e.to_string()))?),
                    ValueRef::Blob(_) => return Err(column("a blob where text or a number was expected".to_owned())),
                };
                T::from_cell(cell).map_err(column)
            }
            Row::Postgres(row) => T::from_cell(row.try_get::<_, Cell<'_>>(index)?).map_err(column),
        }
    }
}

impl Row<'_, '_> {
    /// Whether column `index` is NULL.
    pub(crate) fn is_null(&self, index: usize) -> Result<bool, DbError> {
        Ok(match self {
            Row::Sqlite(row) => matches!(row.get_ref(index)?, rusqlite::types::ValueRef::Null),
            Row::Postgres(row) => matches!(row.try_get::<_, Cell<'_>>(index)?, Cell::Null),
        })
    }

    /// Text column `index`, borrowed (no copy), handed to `read`.
    pub(crate) fn with_text<R>(&self, index: usize, read: impl FnOnce(&str) -> R) -> Result<R, DbError> {
        let column = |message: String| DbError::Column { index, message };
        let text = |cell: Cell<'_>| match cell {
            Cell::Text(t) => Ok(read(t)),
            _ => Err(column("not text".to_owned())),
        };
        match self {
            Row::Sqlite(row) => match row.get_ref(index)? {
                rusqlite::types::ValueRef::Text(t) => {
                    text(Cell::Text(std::str::from_utf8(t).map_err(|e| column(e.to_string()))?))
                }
                _ => Err(column("not text".to_owned())),
            },
            Row::Postgres(row) => text(row.try_get::<_, Cell<'_>>(index)?),
        }
    }
}

/// A PostgreSQL connection with its prepared statements.
pub(crate) struct Pg {
    client: postgres::Client,
    statements: HashMap<String, postgres::Statement>,
    /// The connection's settings, for a second connection.
    config: postgres::Config,
    /// How it is secured, for a second connection.
    tls: Tls,
}

/// A connection to either backend.
pub(crate) enum Db {
    Sqlite(rusqlite::Connection),
    Postgres(Box<RefCell<Pg>>),
}

/// Held while a SQLite connection is opened, while a write transaction
/// takes the file's write lock, and while a store's connection is readied
/// for closing. SQLite 3.51's unix VFS takes its global mutex and then a
/// file's lock mutex when it opens the file (`findReusableFd`), but the
/// file's lock mutex and then the global one when a connection asks for a
/// write or exclusive lock (`unixLock`, `unixIsSharingShmNode`): two
/// threads of one process doing both at once wait for each other forever
/// (seen in the organisation view, whose rows open and close read-only
/// connections on several threads). Serialising those steps in fulcrum
/// keeps them apart.
static SQLITE_FILES: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn sqlite_files() -> std::sync::MutexGuard<'static, ()> {
    // Nothing is left half-done under this lock: a panic elsewhere while it
    // was held leaves it usable.
    SQLITE_FILES.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Opens a SQLite connection with `flags`, serialised with the other steps
/// that take SQLite's file locks (see [`SQLITE_FILES`]). A read-only
/// connection never checkpoints when it closes (it cannot write the file;
/// trying takes the exclusive lock).
pub(crate) fn open_sqlite(
    path: impl AsRef<std::path::Path>,
    flags: rusqlite::OpenFlags,
) -> rusqlite::Result<rusqlite::Connection> {
    let _files = sqlite_files();
    let conn = rusqlite::Connection::open_with_flags(path, flags)?;
    if flags.contains(rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY) {
        conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)?;
    }
    Ok(conn)
}

/// `BEGIN IMMEDIATE` on `conn` (a write transaction, the file's write lock
/// taken now), serialised as [`open_sqlite`] is. While another connection
/// writes, it retries without holding the lock between tries, for as long
/// as `busy` allows; then it fails as SQLite's own wait would.
pub(crate) fn begin_immediate(conn: &rusqlite::Connection, busy: std::time::Duration) -> rusqlite::Result<()> {
    let started = std::time::Instant::now();
    loop {
        let tried = {
            let _files = sqlite_files();
            conn.busy_timeout(std::time::Duration::ZERO)?;
            let tried = conn.execute_batch("BEGIN IMMEDIATE");
            conn.busy_timeout(busy)?;
            tried
        };
        match tried {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy && started.elapsed() < busy =>
            {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            other => return other,
        }
    }
}

/// Readies `conn` for closing: what it wrote is checkpointed into the file
/// now, serialised as [`open_sqlite`] is, and its close then takes no lock
/// (a close's own checkpoint asks for the exclusive lock). The WAL file
/// stays beside the database, truncated to nothing when no reader is using
/// it (else as long as it is, to be emptied by a later writer): a WAL left
/// at its size is read through by every process that opens the database
/// after (at 2,000,000 pull requests an import left 381 MiB, and a team's
/// report took 0.29-0.32 s against 0.19-0.25 s after a truncation). Never
/// waits for readers: the process-wide lock is held.
pub(crate) fn ready_to_close(conn: &rusqlite::Connection) {
    let _files = sqlite_files();
    if !conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(true) {
        let _ = conn.busy_timeout(std::time::Duration::ZERO);
        let _ = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)");
    }
    let _ = conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true);
}

/// `?N` → `$N`, outside quoted text.
pub(crate) fn postgres_sql(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) => {
                out.push('$');
                continue;
            }
            None => {}
        }
        out.push(c);
    }
    out
}

/// A migration written for SQLite, in PostgreSQL's types: row ids are
/// identity columns, integers are 64-bit. The children of pull requests
/// and deployments carry no foreign key there: neither is ever deleted, their
/// children are written with them in one transaction, and the per-row
/// check made `COPY` four times slower. SQLite's `WITHOUT ROWID` tables
/// are ordinary tables with their primary key. Text compares byte by byte
/// (`COLLATE "C"`), as SQLite's does: both backends order alike and
/// `lower` folds ASCII letters only on both (nothing matches names with
/// it: `forget_person` compares them in Rust), and an import's indexes
/// build in half the time (2,000,000 merge commits: 0.88 s against 1.79 s
/// in the database's `C.UTF-8`; the whole import 35.6–36.4 s against
/// 40.7–43.8 s). A database made before schema 18 keeps its columns'
/// collation.
pub(crate) fn postgres_ddl(sql: &str) -> String {
    sql.replace(" TEXT", " TEXT COLLATE \"C\"")
        .replace(" REFERENCES pull_requests (id) ON DELETE CASCADE", "")
        .replace(") WITHOUT ROWID;", ");")
        .replace(" REFERENCES deployments (id) ON DELETE CASCADE", "")
        .replace("INTEGER PRIMARY KEY", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY")
        .replace("INTEGER", "BIGINT")
        .replace("BLOB", "BYTEA")
        .replace("REAL", "DOUBLE PRECISION")
}

/// How connections to PostgreSQL are made: in the clear (`sslmode`
/// absent or `disable`), or over TLS whose certificate is verified.
#[derive(Clone)]
pub(crate) enum Tls {
    /// No TLS.
    Off,
    /// TLS with rustls, against the roots given.
    Rustls(tokio_postgres_rustls::MakeRustlsConnect),
}

impl Tls {
    /// A client on `config`'s server, secured as `self` says.
    pub(crate) fn connect(&self, config: &postgres::Config) -> Result<postgres::Client, postgres::Error> {
        match self {
            Tls::Off => config.connect(postgres::NoTls),
            Tls::Rustls(tls) => config.connect(tls.clone()),
        }
    }
}

impl Pg {
    pub(crate) fn connect(config: postgres::Config, tls: Tls) -> Result<Pg, postgres::Error> {
        let client = tls.connect(&config)?;
        Ok(Pg { client, statements: HashMap::new(), config, tls })
    }

    /// Another client on the same server, secured the same way.
    pub(crate) fn another(&self) -> Result<postgres::Client, postgres::Error> {
        self.tls.connect(&self.config)
    }

    fn statement(&mut self, sql: &str) -> Result<postgres::Statement, postgres::Error> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(&postgres_sql(sql))?;
        self.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }
}

fn values<'a>(params: &'a [&'a dyn ToParam]) -> Vec<Param<'a>> {
    params.iter().map(|p| p.param()).collect()
}

fn pg_refs<'a>(values: &'a [Param<'a>]) -> Vec<&'a (dyn ToSql + Sync)> {
    values.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

impl Db {
    /// Whether this is PostgreSQL.
    pub(crate) fn is_postgres(&self) -> bool {
        matches!(self, Db::Postgres(_))
    }

    /// Runs statements without parameters (DDL, `BEGIN`, …).
    pub(crate) fn batch(&self, sql: &str) -> Result<(), DbError> {
        match self {
            Db::Sqlite(conn) => Ok(conn.execute_batch(sql)?),
            Db::Postgres(pg) => Ok(pg.borrow_mut().client.batch_execute(sql)?),
        }
    }

    /// Runs one statement; the number of rows it changed.
    pub(crate) fn execute(&self, sql: &str, params: &[&dyn ToParam]) -> Result<usize, DbError> {
        let values = values(params);
        match self {
            Db::Sqlite(conn) => Ok(conn.prepare_cached(sql)?.execute(rusqlite::params_from_iter(values.iter()))?),
            Db::Postgres(pg) => {
                let mut pg = pg.borrow_mut();
                let statement = pg.statement(sql)?;
                Ok(pg.client.execute(&statement, &pg_refs(&values))? as usize)
            }
        }
    }

    /// The first row of a query, if any, read by `read`.
    pub(crate) fn query_opt<T>(
        &self,
        sql: &str,
        params: &[&dyn ToParam],
        read: impl FnOnce(&Row<'_, '_>) -> Result<T, DbError>,
    ) -> Result<Option<T>, DbError> {
        let values = values(params);
        match self {
            Db::Sqlite(conn) => {
                let mut statement = conn.prepare_cached(sql)?;
                let mut rows = statement.query(rusqlite::params_from_iter(values.iter()))?;
                match rows.next()? {
                    Some(row) => read(&Row::Sqlite(row)).map(Some),
                    None => Ok(None),
                }
            }
            Db::Postgres(pg) => {
                let mut pg = pg.borrow_mut();
                let statement = pg.statement(sql)?;
                let rows = pg.client.query(&statement, &pg_refs(&values))?;
                rows.first().map(|row| read(&Row::Postgres(row))).transpose()
            }
        }
    }

    /// The first row of a query, which must return one.
    pub(crate) fn query_row<T>(
        &self,
        sql: &str,
        params: &[&dyn ToParam],
        read: impl FnOnce(&Row<'_, '_>) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        self.query_opt(sql, params, read)?.ok_or(DbError::NoRows)
    }

    /// Every row of a query, handed to `each` as it is read (PostgreSQL
    /// streams them too: a large table is never held twice).
    pub(crate) fn for_each(
        &self,
        sql: &str,
        params: &[&dyn ToParam],
        mut each: impl FnMut(&Row<'_, '_>) -> Result<(), DbError>,
    ) -> Result<(), DbError> {
        let values = values(params);
        match self {
            Db::Sqlite(conn) => {
                let mut statement = conn.prepare_cached(sql)?;
                let mut rows = statement.query(rusqlite::params_from_iter(values.iter()))?;
                while let Some(row) = rows.next()? {
                    each(&Row::Sqlite(row))?;
                }
                Ok(())
            }
            Db::Postgres(pg) => {
                use postgres::fallible_iterator::FallibleIterator;
                let mut pg = pg.borrow_mut();
                let statement = pg.statement(sql)?;
                let mut rows = pg.client.query_raw(&statement, pg_refs(&values))?;
                while let Some(row) = rows.next()? {
                    each(&Row::Postgres(&row))?;
                }
                Ok(())
            }
        }
    }

    /// Every row of a query, each read by `read`.
    pub(crate) fn query_map<T>(
        &self,
        sql: &str,
        params: &[&dyn ToParam],
        mut read: impl FnMut(&Row<'_, '_>) -> Result<T, DbError>,
    ) -> Result<Vec<T>, DbError> {
        let mut out = Vec::new();
        self.for_each(sql, params, |row| {
            out.push(read(row)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// Appends rows to `target` (`table (column, …)`), `columns` values per
    /// row: PostgreSQL's `COPY … FROM STDIN` (text format), many times
    /// faster than inserts there; `None` on SQLite, whose multi-row inserts
    /// are as fast (the caller inserts instead).
    ///
    /// The rows go out in chunks of [`COPY_CHUNK`] bytes as they are
    /// written, so that the server stores one chunk while the next is
    /// written (the whole text written first, then sent, left the server
    /// idle meanwhile, and the client idle while it stored: see README,
    /// "Organisation").
    pub(crate) fn copy_in(&self, target: &str, columns: usize, values: &[&dyn ToParam]) -> Option<Result<(), DbError>> {
        use std::io::Write as _;
        let Db::Postgres(pg) = self else { return None };
        let mut pg = pg.borrow_mut();
        let mut copy = || -> Result<(), DbError> {
            let sent = |e: std::io::Error| DbError::Column { index: 0, message: e.to_string() };
            let mut writer = pg.client.copy_in(&format!("COPY {target} FROM STDIN"))?;
            let mut text = String::with_capacity(COPY_CHUNK + COPY_CHUNK / 8);
            for (i, value) in values.iter().enumerate() {
                push_copy_value(&mut text, value.param());
                let last = (i + 1) % columns == 0;
                text.push(if last { '\n' } else { '\t' });
                if last && text.len() >= COPY_CHUNK {
                    writer.write_all(text.as_bytes()).map_err(sent)?;
                    text.clear();
                }
            }
            writer.write_all(text.as_bytes()).map_err(sent)?;
            writer.finish()?;
            Ok(())
        };
        Some(copy())
    }

    /// A second connection to the same database for reading alongside this
    /// one (on another thread).
    pub(crate) fn reader(&self, path: &std::path::Path) -> Result<Db, DbError> {
        match self {
            Db::Sqlite(_) => Ok(Db::Sqlite(open_sqlite(
                path,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?)),
            Db::Postgres(pg) => {
                let (config, tls) = (pg.borrow().config.clone(), pg.borrow().tls.clone());
                Ok(Db::Postgres(Box::new(RefCell::new(Pg::connect(config, tls)?))))
            }
        }
    }
}

/// Bytes of `COPY` text sent at a time (see [`Db::copy_in`]).
const COPY_CHUNK: usize = 1 << 18;

/// One value in `COPY`'s text format onto `out`.
fn push_copy_value(out: &mut String, value: Param<'_>) {
    match value {
        Param::Null => out.push_str("\\N"),
        Param::Int(v) => push_i64(out, v),
        Param::Real(v) => out.push_str(&v.to_string()),
        Param::TextList(_) => unreachable!("no column copied in is an array"),
        // Most text has nothing to escape: copied whole.
        Param::Text(s) if !s.bytes().any(|b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r' | 0)) => out.push_str(s),
        Param::Text(s) => {
            for c in s.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\t' => out.push_str("\\t"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\0' => out.push('\u{FFFD}'),
                    c => out.push(c),
                }
            }
        }
    }
}

/// `v` in decimal onto `out`, without the formatting machinery (an
/// import writes tens of millions of numbers).
pub(crate) fn push_i64(out: &mut String, v: i64) {
    let mut digits = [0u8; 20];
    let mut n = v.unsigned_abs();
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        out.push('-');
    }
    out.push_str(std::str::from_utf8(&digits[at..]).expect("ASCII digits"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_as_rust_writes_them() {
        for v in [0, 7, -7, 10, 1_700_000_000, -1_700_000_001, i64::MAX, i64::MIN] {
            let mut out = String::from("x");
            push_i64(&mut out, v);
            assert_eq!(out, format!("x{v}"));
        }
    }

    #[test]
    fn parameters_are_renumbered_outside_quotes() {
        assert_eq!(
            postgres_sql("SELECT ?1, '?2', \"a?3\" FROM t WHERE x = ?12"),
            "SELECT $1, '?2', \"a?3\" FROM t WHERE x = $12"
        );
        assert_eq!(postgres_sql("a ? b"), "a ? b");
    }

    #[test]
    fn migrations_take_postgres_types() {
        assert_eq!(
            postgres_ddl("id INTEGER PRIMARY KEY, n INTEGER NOT NULL, b BLOB, r REAL"),
            "id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, n BIGINT NOT NULL, b BYTEA, r DOUBLE PRECISION"
        );
        assert_eq!(
            postgres_ddl("CREATE TABLE t (a INTEGER, b INTEGER, PRIMARY KEY (a, b)) WITHOUT ROWID;"),
            "CREATE TABLE t (a BIGINT, b BIGINT, PRIMARY KEY (a, b));"
        );
        assert_eq!(
            postgres_ddl("CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT NOT NULL); ALTER TABLE t ADD COLUMN w TEXT;"),
            "CREATE TABLE t (k TEXT COLLATE \"C\" PRIMARY KEY, v TEXT COLLATE \"C\" NOT NULL); \
             ALTER TABLE t ADD COLUMN w TEXT COLLATE \"C\";"
        );
    }
}
