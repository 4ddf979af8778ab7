//! Accounts of the team server and their sessions (schema 6).

use super::db::{DbError, Row, params};
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

fn user(r: &Row<'_, '_>) -> Result<User, DbError> {
    Ok(User { id: r.get(0)?, name: r.get(1)?, role: r.get(2)?, created_at: r.get(3)? })
}

impl Store {
    /// Whether the table `name` exists (a database opened read-only may
    /// predate it).
    pub fn has_table(&self, name: &str) -> Result<bool, StoreError> {
        let catalog = if self.is_postgres() {
            "SELECT EXISTS (SELECT 1 FROM information_schema.tables
                            WHERE table_schema = current_schema() AND table_name = ?1)"
        } else {
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)"
        };
        self.db.query_row(catalog, params![name], |r| r.get(0)).map_err(self.sql())
    }

    /// Whether any account exists (the server then requires a login).
    /// A database opened read-only may predate accounts (schema 6): none.
    pub fn has_users(&self) -> Result<bool, StoreError> {
        let catalog = if self.is_postgres() {
            "SELECT EXISTS (SELECT 1 FROM information_schema.tables
                            WHERE table_schema = current_schema() AND table_name = 'users')"
        } else {
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'users')"
        };
        let table: bool = self.db.query_row(catalog, params![], |r| r.get(0)).map_err(self.sql())?;
        if !table {
            return Ok(false);
        }
        self.db.query_row("SELECT EXISTS (SELECT 1 FROM users)", params![], |r| r.get(0)).map_err(self.sql())
    }

    /// Adds an account; `false` when the name is taken.
    pub fn add_user(&self, name: &str, role: &str, password_hash: &str, now: i64) -> Result<bool, StoreError> {
        let added = self.write(|db| {
            db.execute(
                "INSERT INTO users (name, role, password_hash, created_at) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (name) DO NOTHING",
                params![name, role, password_hash, now],
            )
        })?;
        Ok(added > 0)
    }

    /// Every account, by name.
    pub fn users(&self) -> Result<Vec<User>, StoreError> {
        self.db
            .query_map("SELECT id, name, role, created_at FROM users ORDER BY name", params![], user)
            .map_err(self.sql())
    }

    /// The account `name` with its password hash.
    pub fn user_with_password(&self, name: &str) -> Result<Option<(User, String)>, StoreError> {
        self.db
            .query_opt(
                "SELECT id, name, role, created_at, password_hash FROM users WHERE name = ?1",
                params![name],
                |r| Ok((user(r)?, r.get(4)?)),
            )
            .map_err(self.sql())
    }

    /// Sets the password of `name` and ends its sessions but `keep`
    /// (a session hash); whether the account exists.
    pub fn set_password(&mut self, name: &str, password_hash: &str, keep: Option<&str>) -> Result<bool, StoreError> {
        let changed = self.write(|db| {
            let changed =
                db.execute("UPDATE users SET password_hash = ?2 WHERE name = ?1", params![name, password_hash])?;
            db.execute(
                "DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE name = ?1)
                 AND hash IS DISTINCT FROM ?2",
                params![name, keep],
            )?;
            Ok(changed)
        })?;
        Ok(changed > 0)
    }

    /// Gives the account `name` the role `role` (its sessions read the role
    /// at each request, so it applies at once); whether it existed.
    pub fn set_role(&self, name: &str, role: &str) -> Result<bool, StoreError> {
        let changed = self.write(|db| db.execute("UPDATE users SET role = ?2 WHERE name = ?1", params![name, role]))?;
        Ok(changed > 0)
    }

    /// Removes the account `name` and its sessions; whether it existed.
    pub fn remove_user(&mut self, name: &str) -> Result<bool, StoreError> {
        let removed = self.write(|db| {
            db.execute("DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE name = ?1)", params![name])?;
            db.execute("DELETE FROM users WHERE name = ?1", params![name])
        })?;
        Ok(removed > 0)
    }

    /// Records a session (the SHA-256 of its cookie).
    pub fn add_session(&self, hash: &str, user: i64, csrf: &str, now: i64, expires_at: i64) -> Result<(), StoreError> {
        self.write(|db| {
            db.execute("DELETE FROM sessions WHERE expires_at <= ?1", params![now])?;
            db.execute(
                "INSERT INTO sessions (hash, user_id, csrf, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![hash, user, csrf, now, expires_at],
            )
        })?;
        Ok(())
    }

    /// The live session whose cookie hashes to `hash`.
    pub fn session(&self, hash: &str, now: i64) -> Result<Option<SessionRow>, StoreError> {
        self.db
            .query_opt(
                "SELECT u.id, u.name, u.role, u.created_at, s.csrf FROM sessions s JOIN users u ON u.id = s.user_id \
                 WHERE s.hash = ?1 AND s.expires_at > ?2",
                params![hash, now],
                |r| Ok(SessionRow { user: user(r)?, csrf: r.get(4)? }),
            )
            .map_err(self.sql())
    }

    /// Ends the session whose cookie hashes to `hash`.
    pub fn end_session(&self, hash: &str) -> Result<(), StoreError> {
        self.write(|db| db.execute("DELETE FROM sessions WHERE hash = ?1", params![hash]))?;
        Ok(())
    }
}
