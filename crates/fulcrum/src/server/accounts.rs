//! Accounts of the team server: names, roles, argon2id password hashes,
//! and sessions (a random cookie whose SHA-256 the store keeps, with the
//! CSRF token of its forms).
//!
//! Roles, from most to least: `admin` (accounts, tokens, configuration),
//! `lead` (everything about the teams they lead), `member` (their team's
//! pages), `viewer` (the delivery overview only, for stakeholders).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::error::UsageError;
use crate::store::{SessionRow, Store, User};

/// How long a session lasts: 12 hours.
pub const SESSION_SECONDS: i64 = 12 * 3600;

/// The shortest password accepted.
pub const MIN_PASSWORD: usize = 12;

/// What an account may see and do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// The delivery overview only.
    Viewer,
    /// Their team's pages.
    Member,
    /// Everything about the teams they lead.
    Lead,
    /// Accounts, tokens, configuration.
    Admin,
}

impl Role {
    /// Every role, least first.
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Member, Role::Lead, Role::Admin];

    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Member => "member",
            Role::Lead => "lead",
            Role::Admin => "admin",
        }
    }

    /// The role named `name`.
    pub fn parse(name: &str) -> Result<Role, UsageError> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == name)
            .ok_or_else(|| UsageError(format!("`{name}` is not a role; use admin, lead, member or viewer")))
    }
}

fn random_hex(bytes: usize) -> anyhow::Result<String> {
    let mut buffer = vec![0u8; bytes];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut buffer)
        .map_err(|_| anyhow::anyhow!("the system's random number generator failed"))?;
    Ok(buffer.iter().map(|b| format!("{b:02x}")).collect())
}

/// A random token for a form (CSRF) or a cookie.
pub fn random_token() -> anyhow::Result<String> {
    random_hex(32)
}

/// The argon2id hash (PHC string) of `password`, with a fresh salt.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut salt)
        .map_err(|_| anyhow::anyhow!("the system's random number generator failed"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    let hash = argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hashing the password: {e}"))?;
    Ok(hash.to_string())
}

/// Whether `password` is the one `hash` was made from.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .is_ok_and(|parsed| argon2::Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

fn check_password(password: &str) -> Result<(), UsageError> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(UsageError(format!("a password needs at least {MIN_PASSWORD} characters")));
    }
    Ok(())
}

/// Makes the account `name` with `role` and `password`.
pub fn add_user(store: &Store, name: &str, role: Role, password: &str, now: i64) -> anyhow::Result<()> {
    let valid = !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || "._-@".contains(c));
    if !valid {
        return Err(UsageError(format!("`{name}` is not an account name: use letters, digits and . _ - @ only")).into());
    }
    check_password(password)?;
    if !store.add_user(name, role.as_str(), &hash_password(password)?, now)? {
        return Err(UsageError(format!("an account named `{name}` exists; choose another name")).into());
    }
    Ok(())
}

/// Sets the password of `name` and ends its other sessions (all of them
/// when `keep`, the hash of the session making the change, is `None`).
pub fn set_password(store: &mut Store, name: &str, password: &str, keep: Option<&str>) -> anyhow::Result<()> {
    check_password(password)?;
    if !store.set_password(name, &hash_password(password)?, keep)? {
        return Err(UsageError(format!("no account named `{name}`; see `fulcrum user list`")).into());
    }
    Ok(())
}

/// A hash that matches no password, checked when the name is unknown so
/// that a wrong name takes as long as a wrong password.
const DECOY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$JQwNqhCgKJgqNKyXDvuXHzVxcT3kYEiNIXeuxpVOAWY";

/// The account whose `name` and `password` these are.
pub fn authenticate(store: &Store, name: &str, password: &str) -> anyhow::Result<Option<User>> {
    Ok(match store.user_with_password(name)? {
        Some((user, hash)) => verify_password(password, &hash).then_some(user),
        None => {
            verify_password(password, DECOY);
            None
        }
    })
}

/// A new session of `user`: the cookie value (shown to the browser only)
/// and the CSRF token of its forms.
pub fn start_session(store: &Store, user: &User, now: i64) -> anyhow::Result<(String, String)> {
    let (cookie, csrf) = (random_token()?, random_token()?);
    store.add_session(&crate::server::tokens::hash(&cookie), user.id, &csrf, now, now + SESSION_SECONDS)?;
    Ok((cookie, csrf))
}

/// The live session of the cookie value `cookie`.
pub fn session(store: &Store, cookie: &str, now: i64) -> anyhow::Result<Option<SessionRow>> {
    Ok(store.session(&crate::server::tokens::hash(cookie), now)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_themselves() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterY", &hash));
        assert!(!verify_password("anything", "not a hash"));
        // Salted: the same password hashes differently twice.
        assert_ne!(hash, hash_password("correct horse battery").unwrap());
        // The decoy is a well-formed hash that the empty password does not match.
        assert!(PasswordHash::new(DECOY).is_ok());
        assert!(!verify_password("", DECOY));
    }

    #[test]
    fn roles_are_ordered_and_named() {
        assert!(Role::Admin > Role::Lead && Role::Lead > Role::Member && Role::Member > Role::Viewer);
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()).unwrap(), role);
        }
        assert!(Role::parse("root").unwrap_err().to_string().contains("admin, lead, member or viewer"));
    }
}
