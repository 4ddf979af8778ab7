//! Domain types shared by every computation: commits, tags, deployments.
//!
//! Instants are UTC seconds since the Unix epoch (`i64`); a commit keeps its
//! author's UTC offset beside it. Ids are hex object ids as git prints them.

use serde::Serialize;

/// Seconds since 1970-01-01T00:00:00Z.
pub type Instant = i64;

/// A person as git records them, after identity merging (mailmap) when the
/// caller applied it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Person {
    /// Display name.
    pub name: String,
    /// E-mail, lower-cased by the source.
    pub email: String,
}

/// One commit, as much of it as the metrics need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// Hex object id.
    pub id: String,
    /// Parent ids, first parent first.
    pub parents: Vec<String>,
    /// Author (mailmap applied).
    pub author: Person,
    /// Author time, UTC.
    pub author_time: Instant,
    /// Author's UTC offset in minutes (east positive).
    pub author_offset_minutes: i32,
    /// Committer time, UTC.
    pub committer_time: Instant,
    /// First line of the message.
    pub subject: String,
    /// The commit this one reverts, from a `This reverts commit <sha>` line.
    pub reverts: Option<String>,
}

impl Commit {
    /// A merge commit has more than one parent.
    pub fn is_merge(&self) -> bool {
        self.parents.len() > 1
    }
}

/// Where a deployment record came from, strongest first (METRICS.md, Deployments).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeploymentSource {
    /// An explicit event (host deployment, CI run, imported record).
    Event,
    /// A release tag matching `deploy.tag_pattern`.
    Tag,
    /// A first-parent commit of the default branch (trunk mode).
    Trunk,
}

/// A successful release of one commit to one environment of one service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    /// Deterministic id, e.g. `git:tag:v1.2.3` or `git:trunk:<sha>`.
    pub id: String,
    /// A human label: the tag name, or the short commit id in trunk mode.
    pub name: String,
    /// Service deployed (the repository name for git-derived deployments).
    pub service: String,
    /// Environment (`production` for git-derived deployments).
    pub environment: String,
    /// The commit that was deployed.
    pub commit: String,
    /// When the deployment finished, UTC.
    pub finished_at: Instant,
    /// Where the record came from.
    pub source: DeploymentSource,
    /// The commits it shipped when the source knows them; `None` means
    /// "derive from the commit graph".
    pub shipped: Option<CommitList>,
}

/// A list of commit ids held as one text and where each id ends: two
/// allocations for a deployment's list, not one per id (an organisation's
/// 400,000 deployments list 1.7 million commits: 131 MB as strings of
/// their own). Clones share the ids (each of an organisation's teams
/// selects its deployments from the organisation's: copying their lists
/// was a tenth of the teams' rows); a push to a shared list copies it first.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct CommitList {
    ids: std::sync::Arc<ListedIds>,
}

/// The storage of a [`CommitList`].
#[derive(Clone, Default, PartialEq, Eq)]
struct ListedIds {
    text: String,
    ends: Vec<usize>,
}

impl CommitList {
    /// An empty list.
    pub fn new() -> CommitList {
        CommitList::default()
    }

    /// Adds `id` at the end.
    pub fn push(&mut self, id: &str) {
        let ids = std::sync::Arc::make_mut(&mut self.ids);
        ids.text.push_str(id);
        ids.ends.push(ids.text.len());
    }

    /// How many ids it holds.
    pub fn len(&self) -> usize {
        self.ids.ends.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.ids.ends.is_empty()
    }

    /// The ids in order.
    pub fn iter(&self) -> Ids<'_> {
        Ids { list: self, next: 0, start: 0 }
    }
}

/// The ids of a [`CommitList`], in order.
#[derive(Debug, Clone)]
pub struct Ids<'a> {
    list: &'a CommitList,
    next: usize,
    start: usize,
}

impl<'a> Iterator for Ids<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let end = *self.list.ids.ends.get(self.next)?;
        let id = &self.list.ids.text[self.start..end];
        self.next += 1;
        self.start = end;
        Some(id)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.list.ids.ends.len() - self.next;
        (left, Some(left))
    }
}

impl ExactSizeIterator for Ids<'_> {}

impl<'a> IntoIterator for &'a CommitList {
    type Item = &'a str;
    type IntoIter = Ids<'a>;

    fn into_iter(self) -> Ids<'a> {
        self.iter()
    }
}

impl std::fmt::Debug for CommitList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<S: AsRef<str>> FromIterator<S> for CommitList {
    fn from_iter<I: IntoIterator<Item = S>>(ids: I) -> CommitList {
        let mut list = CommitList::new();
        for id in ids {
            list.push(id.as_ref());
        }
        list
    }
}

/// A hasher for commit ids and other short keys: FxHash's multiply-rotate
/// over 8-byte words (rustc's), several times faster than the default
/// SipHash on 40-byte ids. Not for keys an adversary chooses to collide:
/// commit ids are hashes already.
#[derive(Debug, Default, Clone, Copy)]
pub struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let word = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
            self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(K);
        }
        for &byte in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(byte)).wrapping_mul(K);
        }
    }

    fn write_u8(&mut self, byte: u8) {
        self.write(&[byte]);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A map keyed by commit ids, hashed with [`IdHasher`].
pub type IdMap<K, V> = std::collections::HashMap<K, V, std::hash::BuildHasherDefault<IdHasher>>;

#[cfg(test)]
mod tests {
    use super::CommitList;

    #[test]
    fn a_commit_list_gives_back_each_id_in_order() {
        let list: CommitList = ["c3", "", "c1", "c3", "ü\u{0}x"].into_iter().collect();
        assert_eq!(list.len(), 5);
        assert_eq!(list.iter().len(), 5);
        assert_eq!(list.iter().collect::<Vec<_>>(), ["c3", "", "c1", "c3", "ü\u{0}x"]);
        let mut ids = list.iter();
        ids.next();
        assert_eq!(ids.size_hint(), (4, Some(4)));
        assert_eq!(format!("{list:?}"), r#"["c3", "", "c1", "c3", "ü\0x"]"#);
        assert!(CommitList::new().is_empty());
        assert_eq!(CommitList::new().iter().next(), None);
        let mut grown = CommitList::new();
        grown.push("a");
        grown.push("bc");
        assert_eq!(grown, ["a", "bc"].into_iter().collect());
        assert_ne!(grown, ["ab", "c"].into_iter().collect(), "where ids end is part of the list");
    }
}
