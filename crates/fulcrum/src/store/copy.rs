//! `fulcrum migrate`: a whole store copied into another, SQLite to
//! PostgreSQL (or back), row ids and all, in one transaction on the target.
//! Part of the store: the only place that runs SQL.

use super::Store;
use super::db::{Cell, Db, DbError, FromCell, Param, ToParam, params};

/// Tables in an order that respects their references (parents first).
/// `meta` is not copied: the target keeps its own, at the same version.
const TABLES: &[&str] = &[
    "repos",
    "signatures",
    "commits",
    "paths",
    "file_changes",
    "commit_trailers",
    "refs",
    "pull_requests",
    "pr_children",
    "pr_commit_ids",
    "deployments",
    "deployment_commits",
    "incidents",
    "source_cursors",
    "http_cache",
    "api_tokens",
    "users",
    "sessions",
    "goals",
    "goal_values",
    "checkin_pairs",
    "checkins",
    "talking_points",
    "action_items",
    "surveys",
    "survey_answers",
    "survey_invitees",
    "forgotten",
    "work_items",
    "item_transitions",
    "id_blocks",
];

/// Tables whose `id` the target must go on numbering after.
const IDENTITIES: &[&str] = &[
    "repos",
    "commits",
    "paths",
    "signatures",
    "pull_requests",
    "deployments",
    "incidents",
    "api_tokens",
    "users",
    "goals",
    "checkin_pairs",
    "checkins",
    "talking_points",
    "action_items",
    "surveys",
    "work_items",
];

/// Rows per multi-row insert.
const ROWS_PER_INSERT: usize = 100;

/// An owned value, read from one store and written to the other.
#[derive(Debug, Clone)]
enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

impl FromCell for Value {
    fn from_cell(cell: Cell<'_>) -> Result<Self, String> {
        Ok(match cell {
            Cell::Null => Value::Null,
            Cell::Int(v) => Value::Int(v),
            Cell::Real(v) => Value::Real(v),
            Cell::Text(t) => Value::Text(t.to_owned()),
        })
    }
}

impl ToParam for Value {
    fn param(&self) -> Param<'_> {
        match self {
            Value::Null => Param::Null,
            Value::Int(v) => Param::Int(*v),
            Value::Real(v) => Param::Real(*v),
            Value::Text(t) => Param::Text(t),
        }
    }
}

/// What a migration copied: rows per table.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Copied {
    /// `(table, rows)` in copy order.
    pub tables: Vec<(String, u64)>,
}

impl Copied {
    /// Rows in all.
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|(_, n)| n).sum()
    }
}

/// Failures of a migration that are the user's to fix.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// The target already holds data.
    #[error(
        "{target}: already holds data ({rows} rows in `{table}`); migrate into an empty database, or pass another --to"
    )]
    TargetNotEmpty {
        /// The target, as shown.
        target: String,
        /// The first table found with rows.
        table: String,
        /// Its rows.
        rows: i64,
    },
    /// The source has nothing.
    #[error("{from}: holds no fulcrum data; name the database to copy with --from")]
    SourceEmpty {
        /// The source, as shown.
        from: String,
    },
}

fn columns(db: &Db, table: &str) -> Result<Vec<String>, DbError> {
    if db.is_postgres() {
        db.query_map(
            "SELECT column_name FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = ?1 ORDER BY ordinal_position",
            params![table],
            |r| r.get(0),
        )
    } else {
        db.query_map("SELECT name FROM pragma_table_info(?1) ORDER BY cid", params![table], |r| r.get(0))
    }
}

impl Store {
    /// Copies every row of `self` into `target`, which must hold none; all
    /// of it lands or none (one transaction on the target), so an
    /// interrupted migration is simply run again. `progress` hears each
    /// table as it is done.
    pub fn copy_into(&self, target: &Store, mut progress: impl FnMut(&str, u64)) -> anyhow::Result<Copied> {
        let sql = |e| super::sql_error(&self.path, e);
        let mut total = 0;
        for table in TABLES {
            total += self
                .db
                .query_row(&format!("SELECT COUNT(*) FROM {table}"), params![], |r| r.get::<i64>(0))
                .map_err(sql)?;
        }
        if total == 0 {
            return Err(CopyError::SourceEmpty { from: self.path.display().to_string() }.into());
        }
        let mut copied = Copied::default();
        let refused = target.write(|db| {
            for table in TABLES {
                let rows: i64 = db.query_row(&format!("SELECT COUNT(*) FROM {table}"), params![], |r| r.get(0))?;
                if rows > 0 {
                    return Ok(Some(CopyError::TargetNotEmpty {
                        target: target.path.display().to_string(),
                        table: (*table).to_owned(),
                        rows,
                    }));
                }
            }
            for table in TABLES {
                let names = columns(&self.db, table)?;
                let list = names.join(", ");
                let width = names.len();
                let insert = |count: usize| {
                    let rows: Vec<String> = (0..count)
                        .map(|row| {
                            let cells: Vec<String> = (1..=width).map(|c| format!("?{}", row * width + c)).collect();
                            format!("({})", cells.join(", "))
                        })
                        .collect();
                    format!("INSERT INTO {table} ({list}) VALUES {}", rows.join(", "))
                };
                let full = insert(ROWS_PER_INSERT);
                let mut pending: Vec<Value> = Vec::with_capacity(width * ROWS_PER_INSERT);
                let mut count = 0_u64;
                let flush = |pending: &mut Vec<Value>| -> Result<(), DbError> {
                    if pending.is_empty() {
                        return Ok(());
                    }
                    let rows = pending.len() / width;
                    let values: Vec<&dyn ToParam> = pending.iter().map(|v| v as &dyn ToParam).collect();
                    if rows == ROWS_PER_INSERT {
                        db.execute(&full, &values)?;
                    } else {
                        db.execute(&insert(rows), &values)?;
                    }
                    pending.clear();
                    Ok(())
                };
                // Ordered by the table's own key where it has one, so ids stay dense and in order.
                let order = if names.iter().any(|n| n == "id") { " ORDER BY id" } else { "" };
                let mut failed: Option<DbError> = None;
                self.db.for_each(&format!("SELECT {list} FROM {table}{order}"), params![], |row| {
                    for i in 0..width {
                        pending.push(row.get(i)?);
                    }
                    count += 1;
                    if pending.len() == width * ROWS_PER_INSERT
                        && let Err(e) = flush(&mut pending)
                    {
                        failed = Some(e);
                        return Err(DbError::NoRows);
                    }
                    Ok(())
                })
                .map_err(|e| failed.take().unwrap_or(e))?;
                flush(&mut pending)?;
                if db.is_postgres() && IDENTITIES.contains(table) {
                    db.query_row(
                        &format!(
                            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
                        ),
                        params![],
                        |_| Ok(()),
                    )?;
                }
                if count > 0 {
                    progress(table, count);
                }
                copied.tables.push(((*table).to_owned(), count));
            }
            Ok(None)
        })?;
        if let Some(refused) = refused {
            return Err(refused.into());
        }
        Ok(copied)
    }
}
