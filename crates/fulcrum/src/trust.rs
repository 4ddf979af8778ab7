//! Trusted configuration files (as git's `safe.directory` or direnv's
//! `allow`): a repository's `fulcrum.toml` may say where tokens go and which
//! command prints one only once the user has trusted that file, as it is
//! now. The trust list lives outside every repository, in the user's
//! configuration directory, one line per file: the SHA-256 of its content
//! and its canonical path. Changing the file withdraws the trust.

use std::path::{Path, PathBuf};

/// What the trust list says of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Trusted as it is.
    Trusted,
    /// Trusted once, but it has changed since.
    Changed,
    /// Never trusted.
    Unknown,
}

impl Verdict {
    /// In words, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Verdict::Trusted => "trusted",
            Verdict::Changed => "changed since you trusted it",
            Verdict::Unknown => "not trusted",
        }
    }
}

/// Failures of `fulcrum trust` (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// The file to trust cannot be read.
    #[error("{path}: cannot read it ({reason}); pass the path of a fulcrum.toml or of a repository holding one")]
    Read {
        /// The path given.
        path: PathBuf,
        /// What the OS said.
        reason: String,
    },
    /// The trust list cannot be written.
    #[error("{path}: cannot write the trust list ({reason}); check the permissions of that directory")]
    Write {
        /// The trust list.
        path: PathBuf,
        /// What the OS said.
        reason: String,
    },
    /// No configuration directory.
    #[error("cannot find a configuration directory for the trust list: set HOME or XDG_CONFIG_HOME")]
    NoDirectory,
}

/// The trust list: `$XDG_CONFIG_HOME/fulcrum/trusted`, else `~/.config/fulcrum/trusted`.
pub fn list_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("fulcrum").join("trusted"))
}

/// SHA-256 of `content`, in hex.
pub(crate) fn sha256_hex(content: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, content).as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_owned())
}

/// `(digest, path)` lines of the trust list (none when it does not exist).
fn entries(list: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(list).unwrap_or_default();
    text.lines()
        .filter_map(|line| line.split_once(' '))
        .map(|(digest, path)| (digest.to_owned(), path.to_owned()))
        .collect()
}

/// Whether the file at `path`, whose content is `content`, is trusted.
pub fn check(path: &Path, content: &[u8]) -> Verdict {
    let Some(list) = list_path() else { return Verdict::Unknown };
    let path = canonical(path).display().to_string();
    let digest = sha256_hex(content);
    let mine: Vec<(String, String)> = entries(&list).into_iter().filter(|(_, p)| *p == path).collect();
    if mine.iter().any(|(d, _)| *d == digest) {
        Verdict::Trusted
    } else if mine.is_empty() {
        Verdict::Unknown
    } else {
        Verdict::Changed
    }
}

/// What `fulcrum trust` recorded.
#[derive(Debug)]
pub struct Trusted {
    /// The file trusted (canonical).
    pub path: PathBuf,
    /// The trust list written.
    pub list: PathBuf,
    /// Its content, shown to the user.
    pub content: String,
}

/// Trusts the configuration at `target` (a `fulcrum.toml`, or a directory
/// holding one) as it is now, replacing any earlier entry for the file.
pub fn trust(target: &Path) -> Result<Trusted, TrustError> {
    let file = if target.is_dir() { target.join("fulcrum.toml") } else { target.to_owned() };
    let content =
        std::fs::read_to_string(&file).map_err(|e| TrustError::Read { path: file.clone(), reason: e.to_string() })?;
    let path = canonical(&file);
    let list = list_path().ok_or(TrustError::NoDirectory)?;
    let shown = path.display().to_string();
    let mut lines: Vec<String> =
        entries(&list).into_iter().filter(|(_, p)| *p != shown).map(|(d, p)| format!("{d} {p}")).collect();
    lines.push(format!("{} {shown}", sha256_hex(content.as_bytes())));
    let write = |e: std::io::Error| TrustError::Write { path: list.clone(), reason: e.to_string() };
    if let Some(dir) = list.parent() {
        std::fs::create_dir_all(dir).map_err(write)?;
    }
    // Write a sibling and rename it over the list: a crash leaves the old list whole.
    let temporary = list.with_extension("tmp");
    std::fs::write(&temporary, lines.join("\n") + "\n").map_err(write)?;
    std::fs::rename(&temporary, &list).map_err(write)?;
    Ok(Trusted { path, list, content })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_a_known_text() {
        // FIPS 180-2, appendix B.1.
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
