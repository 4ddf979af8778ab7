//! API tokens of the team server: for scripts and webhooks. A token is 32
//! random bytes, shown once when made; the store keeps only its SHA-256.
//! Each has scopes: `read` (the API's reports) and `events:write`
//! (`POST /api/v1/events`).

use crate::error::UsageError;
use crate::store::Store;

/// The scopes a token can have.
pub const SCOPES: [&str; 2] = ["read", "events:write"];

/// What a token starts with, so it is recognisable in a secret scanner.
const PREFIX: &str = "fulcrum_";

/// SHA-256 of `token`, in hex: what the store keeps.
pub fn hash(token: &str) -> String {
    ring::digest::digest(&ring::digest::SHA256, token.trim().as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Makes a token named `name` with `scopes`, stores its hash and returns it
/// (the only time it is seen).
pub fn add(store: &Store, name: &str, scopes: &[String], now: i64) -> anyhow::Result<String> {
    if name.trim().is_empty() {
        return Err(UsageError("a token needs a name".into()).into());
    }
    if scopes.is_empty() {
        return Err(UsageError(format!("a token needs a --scope: {}", SCOPES.join(" or "))).into());
    }
    for scope in scopes {
        if !SCOPES.contains(&scope.as_str()) {
            return Err(UsageError(format!("`{scope}` is not a scope; use {}", SCOPES.join(" or "))).into());
        }
    }
    if store.tokens()?.iter().any(|t| t.name == name) {
        return Err(UsageError(format!("a token named `{name}` exists; revoke it or choose another name")).into());
    }
    let mut bytes = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .map_err(|_| anyhow::anyhow!("the system's random number generator failed"))?;
    let token: String =
        PREFIX.chars().chain(bytes.iter().flat_map(|b| format!("{b:02x}").chars().collect::<Vec<_>>())).collect();
    store.add_token(name, scopes, &hash(&token), now)?;
    Ok(token)
}

/// Whether the live token `presented` has `scope`: `Ok(None)` when no live
/// token matches, `Ok(Some(false))` when it lacks the scope.
pub fn allows(store: &Store, presented: &str, scope: &str) -> anyhow::Result<Option<(String, bool)>> {
    Ok(store.token_by_hash(&hash(presented))?.map(|t| (t.name.clone(), t.scopes.iter().any(|s| s == scope))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_sha256_of_the_trimmed_token() {
        assert_eq!(hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(hash(" abc\n"), hash("abc"));
    }
}
