//! Accounts of the team server and their sessions (schema 6).

use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError};

/// An account, without its password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Its row id.
    pub id: i64,
    /// The name it logs in with.
    pub name: String,
    /// `admin`, `lead`, `member` or `viewer`.
    pub role: String,
    /// When it was made.
    pub created_at: i64,
}

/// A live session: its account and the CSRF token of its forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    /// The account.
    pub user: User,
    /// The CSRF token.
    pub csrf: String,
}

fn user(r: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    Ok(User { id: r.get(0)?, name: r.get(1)?, role: r.get(2)?, created_at: r.get(3)? })
}

impl Store {
    /// Whether any account exists (the server then requires a login).
    /// A database opened read-only may predate accounts (schema 6): none.
    pub fn has_users(&self) -> Result<bool, StoreError> {
        let table: bool = self
            .conn
            .query_row("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'users')", [], |r| {
                r.get(0)
            })
            .map_err(self.sql())?;
        if !table {
            return Ok(false);
        }
        self.conn.query_row("SELECT EXISTS (SELECT 1 FROM users)", [], |r| r.get(0)).map_err(self.sql())
    }

    /// Adds an account; `false` when the name is taken.
    pub fn add_user(&self, name: &str, role: &str, password_hash: &str, now: i64) -> Result<bool, StoreError> {
        let added = self
            .conn
            .execute(
                "INSERT INTO users (name, role, password_hash, created_at) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (name) DO NOTHING",
                params![name, role, password_hash, now],
            )
            .map_err(self.sql())?;
        Ok(added > 0)
    }

    /// Every account, by name.
    pub fn users(&self) -> Result<Vec<User>, StoreError> {
        let mut stmt =
            self.conn.prepare("SELECT id, name, role, created_at FROM users ORDER BY name").map_err(self.sql())?;
        let rows = stmt.query_map([], user).map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// The account `name` with its password hash.
    pub fn user_with_password(&self, name: &str) -> Result<Option<(User, String)>, StoreError> {
        self.conn
            .query_row(
                "SELECT id, name, role, created_at, password_hash FROM users WHERE name = ?1",
                params![name],
                |r| Ok((user(r)?, r.get(4)?)),
            )
            .optional()
            .map_err(self.sql())
    }

    /// Sets the password of `name` and ends its sessions but `keep`
    /// (a session hash); whether the account exists.
    pub fn set_password(&mut self, name: &str, password_hash: &str, keep: Option<&str>) -> Result<bool, StoreError> {
        let tx =
            self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(sql(&self.path))?;
        let changed = tx
            .execute("UPDATE users SET password_hash = ?2 WHERE name = ?1", params![name, password_hash])
            .map_err(sql(&self.path))?;
        tx.execute(
            "DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE name = ?1) AND hash IS NOT ?2",
            params![name, keep],
        )
        .map_err(sql(&self.path))?;
        tx.commit().map_err(sql(&self.path))?;
        Ok(changed > 0)
    }

    /// Gives the account `name` the role `role` (its sessions read the role
    /// at each request, so it applies at once); whether it existed.
    pub fn set_role(&self, name: &str, role: &str) -> Result<bool, StoreError> {
        let changed =
            self.conn.execute("UPDATE users SET role = ?2 WHERE name = ?1", params![name, role]).map_err(self.sql())?;
        Ok(changed > 0)
    }

    /// Removes the account `name` and its sessions; whether it existed.
    pub fn remove_user(&mut self, name: &str) -> Result<bool, StoreError> {
        let tx =
            self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(sql(&self.path))?;
        tx.execute("DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE name = ?1)", params![name])
            .map_err(sql(&self.path))?;
        let removed = tx.execute("DELETE FROM users WHERE name = ?1", params![name]).map_err(sql(&self.path))?;
        tx.commit().map_err(sql(&self.path))?;
        Ok(removed > 0)
    }

    /// Records a session (the SHA-256 of its cookie).
    pub fn add_session(&self, hash: &str, user: i64, csrf: &str, now: i64, expires_at: i64) -> Result<(), StoreError> {
        self.conn.execute("DELETE FROM sessions WHERE expires_at <= ?1", params![now]).map_err(self.sql())?;
        self.conn
            .execute(
                "INSERT INTO sessions (hash, user_id, csrf, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![hash, user, csrf, now, expires_at],
            )
            .map_err(self.sql())?;
        Ok(())
    }

    /// The live session whose cookie hashes to `hash`.
    pub fn session(&self, hash: &str, now: i64) -> Result<Option<SessionRow>, StoreError> {
        self.conn
            .query_row(
                "SELECT u.id, u.name, u.role, u.created_at, s.csrf FROM sessions s JOIN users u ON u.id = s.user_id \
                 WHERE s.hash = ?1 AND s.expires_at > ?2",
                params![hash, now],
                |r| Ok(SessionRow { user: user(r)?, csrf: r.get(4)? }),
            )
            .optional()
            .map_err(self.sql())
    }

    /// Ends the session whose cookie hashes to `hash`.
    pub fn end_session(&self, hash: &str) -> Result<(), StoreError> {
        self.conn.execute("DELETE FROM sessions WHERE hash = ?1", params![hash]).map_err(self.sql())?;
        Ok(())
    }
}

fn sql(path: &std::path::Path) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    |source| super::sql_error(path, source)
}
