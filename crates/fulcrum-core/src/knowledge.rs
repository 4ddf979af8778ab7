//! Knowledge concentration (METRICS.md, "Knowledge: truck factor and
//! concentration"): degree of authorship, truck factor, per-directory
//! knowledge, the knowledge map, fragmentation and departure impact.
//!
//! The degree-of-authorship model and the greedy truck-factor algorithm are
//! Avelino et al., "A novel approach for estimating truck factors" (ICPC
//! 2016), as published: no later trimming of developers with few files.
//!
//! People are indices chosen by the caller, who has already merged
//! identities and removed bots and merge commits. Everything here is about
//! knowledge (who could maintain a file), never volume: nothing ranks people
//! by commits or lines (METRICS.md, "Privacy rules").

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

/// Intercept of the DOA model; also the minimum DOA of an author.
pub const DOA_BASE: f64 = 3.293;
/// Weight of first authorship (FA).
pub const DOA_FIRST_AUTHORSHIP: f64 = 1.098;
/// Weight of each delivery (DL).
pub const DOA_DELIVERY: f64 = 0.164;
/// Weight of `ln(1 + AC)`, the other people's changes (acceptances).
pub const DOA_ACCEPTANCE: f64 = 0.321;
/// An author's DOA is more than this fraction of the file's highest DOA.
pub const AUTHOR_RELATIVE_DOA: f64 = 0.75;
/// The truck factor stops once fewer than this share of files has an author.
pub const TRUCK_FACTOR_COVERAGE: f64 = 0.5;

/// A path interned in a [`ChangeLog`]: an index into its names.
pub type PathId = u32;

/// One file changed by a commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileChange {
    /// Path after the commit (the new name of a rename).
    pub path: PathId,
    /// What happened to it.
    pub kind: ChangeKind,
}

/// How a commit changed a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// Created.
    Added,
    /// Changed in place.
    Modified,
    /// Removed.
    Deleted,
    /// Moved from `from` (possibly changed too).
    Renamed {
        /// Path before the commit.
        from: PathId,
    },
}

/// The non-merge commits of a history, oldest first (topological order),
/// as far as knowledge needs them: each one's author (a person index:
/// identities merged by the caller) and the files it changed, from the diff
/// against its only parent.
///
/// Compact for histories of millions of commits: paths are interned once
/// (a change is 8 bytes, not a string), and the changes of all commits sit
/// in one vector, not one allocation per commit.
#[derive(Debug, Clone, Default)]
pub struct ChangeLog {
    names: Vec<Box<str>>,
    /// Interning map, by the name's bytes. SipHash (the default): paths
    /// come from the repository, and a hostile one could choose them to
    /// collide under a weaker hash.
    ids: HashMap<Box<[u8]>, PathId>,
    authors: Vec<u32>,
    /// Per commit, the end of its changes in `changes`.
    ends: Vec<u32>,
    changes: Vec<FileChange>,
}

impl ChangeLog {
    /// The id of `name`, interned on first sight.
    pub fn intern(&mut self, name: &str) -> PathId {
        self.intern_bytes(name.as_bytes())
    }

    /// The id of the path whose name is `bytes` (as read from a store):
    /// UTF-8 is checked only when a name is first seen (an invalid one is
    /// kept with replacement characters).
    pub fn intern_bytes(&mut self, bytes: &[u8]) -> PathId {
        if let Some(&id) = self.ids.get(bytes) {
            return id;
        }
        let id = PathId::try_from(self.names.len()).expect("fewer than 2^32 paths");
        self.names.push(String::from_utf8_lossy(bytes).into());
        self.ids.insert(bytes.into(), id);
        id
    }

    /// The id of `name`, if any change names it.
    pub fn id(&self, name: &str) -> Option<PathId> {
        self.ids.get(name.as_bytes()).copied()
    }

    /// The name of path `id`.
    pub fn name(&self, id: PathId) -> &str {
        &self.names[id as usize]
    }

    /// How many paths are interned.
    pub fn path_count(&self) -> usize {
        self.names.len()
    }

    /// Appends a commit by `author` (the next in topological order).
    pub fn push(&mut self, author: usize, changes: impl IntoIterator<Item = FileChange>) {
        self.changes.extend(changes);
        self.authors.push(u32::try_from(author).expect("fewer than 2^32 people"));
        self.ends.push(u32::try_from(self.changes.len()).expect("fewer than 2^32 changes"));
    }

    /// Commits.
    pub fn len(&self) -> usize {
        self.authors.len()
    }

    /// Whether there are no commits.
    pub fn is_empty(&self) -> bool {
        self.authors.is_empty()
    }

    /// The commits in order: author and changes.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (usize, &[FileChange])> + '_ {
        (0..self.len()).map(|i| {
            let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
            (self.authors[i] as usize, &self.changes[start..self.ends[i] as usize])
        })
    }
}

/// Who knows one file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileAuthorship {
    /// Path at the analysed commit.
    pub path: String,
    /// Who created it; `None` when its creation is not in the history (a
    /// shallow clone) or it has no history at all.
    pub creator: Option<usize>,
    /// Per person (ascending), commits that changed the file after its
    /// creation. The creating commit is not counted (it is FA).
    pub changes: Vec<(usize, u32)>,
    /// Per person (ascending), the absolute degree of authorship of everyone
    /// who created or changed the file.
    pub doa: Vec<(usize, f64)>,
    /// The authors: DOA above 0.75 of the highest and at least 3.293, highest
    /// DOA first (ties: lowest person index first).
    pub authors: Vec<usize>,
}

/// The degree of authorship:
/// `3.293 + 1.098·FA + 0.164·DL − 0.321·ln(1 + AC)`, where FA says the
/// person created the file, DL (`deliveries`) counts their changes after the
/// creation and AC (`acceptances`) the other people's changes after it.
pub fn degree_of_authorship(first_authorship: bool, deliveries: u32, acceptances: u32) -> f64 {
    let fa = if first_authorship { 1.0 } else { 0.0 };
    DOA_BASE + DOA_FIRST_AUTHORSHIP * fa + DOA_DELIVERY * f64::from(deliveries)
        - DOA_ACCEPTANCE * f64::from(acceptances).ln_1p()
}

/// Whether an absolute `doa` makes an author of a file whose highest DOA is
/// `max_doa`: `doa / max_doa > 0.75 && doa >= 3.293`.
pub fn is_author(doa: f64, max_doa: f64) -> bool {
    doa >= DOA_BASE && doa / max_doa > AUTHOR_RELATIVE_DOA
}

/// The live state of one file during the replay.
#[derive(Debug, Clone)]
struct Record {
    creator: Option<usize>,
    /// Per person, changes after creation (few people per file: a vector,
    /// compact so that a long one is scanned quickly).
    changes: Vec<(u32, u32)>,
    /// The last commit (index) counted for this record, so a commit counts
    /// at most once per file and the creating commit not at all.
    last_commit: usize,
}

/// Not a commit index: a record made from a change with no prior record.
const NO_COMMIT: usize = usize::MAX;

impl Record {
    fn count(&mut self, person: usize, commit: usize) {
        if self.last_commit == commit {
            return;
        }
        self.last_commit = commit;
        let person = person as u32;
        match self.changes.iter_mut().find(|(p, _)| *p == person) {
            Some((_, n)) => *n += 1,
            None => self.changes.push((person, 1)),
        }
    }
}

/// Records, reusing the slots of deleted files.
#[derive(Default)]
struct Records {
    records: Vec<Record>,
    free: Vec<usize>,
}

impl Records {
    fn create(&mut self, creator: Option<usize>, commit: usize) -> usize {
        match self.free.pop() {
            Some(slot) => {
                let record = &mut self.records[slot];
                record.creator = creator;
                record.changes.clear();
                record.last_commit = commit;
                slot
            }
            None => {
                self.records.push(Record { creator, changes: Vec::new(), last_commit: commit });
                self.records.len() - 1
            }
        }
    }
}

/// Replays `history` (topological order, oldest first, no merges) and
/// returns, for each of `files` in order, who created it, who changed it,
/// everyone's DOA and the authors.
///
/// Replay rules, one record per live path:
/// - `Added` starts a fresh record created by the author, also over a path
///   that still has one (the history misses a deletion, e.g. in a merge).
/// - `Modified` counts one change by the author.
/// - `Deleted` drops the record: a later `Added` of the same path starts
///   afresh (deleted files contribute nothing).
/// - `Renamed` moves the record from `from` to `path` and counts one change
///   by the author: the rename is a commit that touched the file, as
///   `git log --follow` lists it, and renaming is maintenance work. Within
///   one commit all sources are detached before any destination is attached
///   (a diff compares two trees), so swaps (`a→b`, `b→a`) and chains work
///   and nothing loops.
/// - A `Modified` or `Renamed` of a path with no record (history cut by a
///   shallow clone) starts a record with no creator and counts the change.
/// - A commit counts at most once per file, and the creating commit never
///   counts as a change (its author gets FA instead).
///
/// Linear in the number of changes: paths are interned, so a path's
/// record slot is one array index away.
pub fn authorship(history: &ChangeLog, files: &[String]) -> Vec<FileAuthorship> {
    const NONE: usize = usize::MAX;
    let mut slot_of: Vec<usize> = vec![NONE; history.path_count()];
    let mut records = Records::default();
    let mut detached: Vec<usize> = Vec::new();
    for (index, (author, changes)) in history.iter().enumerate() {
        // Phase 1: detach the sources of deletions and renames.
        detached.clear();
        for change in changes {
            match change.kind {
                ChangeKind::Deleted => {
                    let slot = std::mem::replace(&mut slot_of[change.path as usize], NONE);
                    if slot != NONE {
                        records.free.push(slot);
                    }
                }
                ChangeKind::Renamed { from } => detached.push(std::mem::replace(&mut slot_of[from as usize], NONE)),
                ChangeKind::Added | ChangeKind::Modified => {}
            }
        }
        // Phase 2: attach destinations, create and count.
        let mut renames = detached.iter();
        for change in changes {
            let path = change.path as usize;
            match change.kind {
                ChangeKind::Deleted => {}
                ChangeKind::Added => {
                    let slot = records.create(Some(author), index);
                    let old = std::mem::replace(&mut slot_of[path], slot);
                    if old != NONE {
                        records.free.push(old);
                    }
                }
                ChangeKind::Modified => match slot_of[path] {
                    NONE => {
                        let slot = records.create(None, NO_COMMIT);
                        records.records[slot].count(author, index);
                        slot_of[path] = slot;
                    }
                    slot => records.records[slot].count(author, index),
                },
                ChangeKind::Renamed { .. } => {
                    let slot = match renames.next().copied() {
                        Some(slot) if slot != NONE => slot,
                        _ => records.create(None, NO_COMMIT),
                    };
                    records.records[slot].count(author, index);
                    let old = std::mem::replace(&mut slot_of[path], slot);
                    if old != NONE {
                        records.free.push(old);
                    }
                }
            }
        }
    }
    files
        .iter()
        .map(|path| match history.id(path).map(|id| slot_of[id as usize]) {
            Some(slot) if slot != NONE => file_authorship(path, &records.records[slot]),
            _ => FileAuthorship {
                path: path.clone(),
                creator: None,
                changes: Vec::new(),
                doa: Vec::new(),
                authors: Vec::new(),
            },
        })
        .collect()
}

fn file_authorship(path: &str, record: &Record) -> FileAuthorship {
    let mut changes: Vec<(usize, u32)> = record.changes.iter().map(|&(p, n)| (p as usize, n)).collect();
    changes.sort_unstable();
    let total: u32 = changes.iter().map(|(_, n)| n).sum();
    let mut people: Vec<(usize, u32)> = changes.clone();
    if let Some(creator) = record.creator
        && !people.iter().any(|(p, _)| *p == creator)
    {
        people.push((creator, 0));
        people.sort_unstable();
    }
    let doa: Vec<(usize, f64)> = people
        .iter()
        .map(|&(person, own)| (person, degree_of_authorship(record.creator == Some(person), own, total - own)))
        .collect();
    let max = doa.iter().map(|(_, d)| *d).fold(f64::NEG_INFINITY, f64::max);
    let mut ranked: Vec<(usize, f64)> = doa.iter().copied().filter(|(_, d)| is_author(*d, max)).collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    FileAuthorship {
        path: path.to_string(),
        creator: record.creator,
        changes,
        doa,
        authors: ranked.into_iter().map(|(p, _)| p).collect(),
    }
}

/// Someone the truck factor rests on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyPerson {
    /// Person index.
    pub person: usize,
    /// Files they author.
    pub files_authored: usize,
    /// `files_authored` over all files analysed (counted before any removal).
    pub share: f64,
}

/// The truck factor of a set of files.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TruckFactor {
    /// How many people had to be removed before fewer than half the files
    /// had an author. 0 when there are no files, or when fewer than half
    /// had an author to begin with.
    pub value: usize,
    /// Files analysed.
    pub files: usize,
    /// No files to analyse: `value` 0 means nothing, say so instead.
    pub no_files: bool,
    /// The people removed, in removal order.
    pub removed: Vec<KeyPerson>,
    /// Files with exactly one author, in input order.
    pub single_author_files: Vec<String>,
    /// Files with no author at all (no history, or history cut).
    pub files_without_author: usize,
}

/// The truck factor, greedy as published: repeatedly remove the person who
/// authors the most files until fewer than 50% of the files have an author
/// left. A person's count is of all the files they author (as the paper's
/// algorithm ranks authors), so this is the people in descending order of
/// files authored; ties go to the lowest person index, which makes the
/// result deterministic (the paper leaves ties open). Exactly 50% covered
/// is not yet "fewer", so removal continues.
pub fn truck_factor(files: &[FileAuthorship]) -> TruckFactor {
    let refs: Vec<&FileAuthorship> = files.iter().collect();
    truck_factor_of(&refs)
}

fn truck_factor_of(files: &[&FileAuthorship]) -> TruckFactor {
    let total = files.len();
    // Per person, the files they author (authors deduplicated per file).
    let mut authored: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut remaining: Vec<usize> = Vec::with_capacity(total);
    for (index, file) in files.iter().enumerate() {
        let mut count = 0;
        for (i, &person) in file.authors.iter().enumerate() {
            if !file.authors[..i].contains(&person) {
                authored.entry(person).or_default().push(index);
                count += 1;
            }
        }
        remaining.push(count);
    }
    let mut covered = remaining.iter().filter(|&&n| n > 0).count();
    let mut order: Vec<(usize, Vec<usize>)> = authored.into_iter().collect();
    order.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
    let mut removed = Vec::new();
    for (person, indices) in &order {
        if (covered as f64) < TRUCK_FACTOR_COVERAGE * total as f64 {
            break;
        }
        for &index in indices {
            remaining[index] -= 1;
            if remaining[index] == 0 {
                covered -= 1;
            }
        }
        removed.push(KeyPerson {
            person: *person,
            files_authored: indices.len(),
            share: indices.len() as f64 / total as f64,
        });
    }
    TruckFactor {
        value: removed.len(),
        files: total,
        no_files: total == 0,
        removed,
        single_author_files: files.iter().filter(|f| f.authors.len() == 1).map(|f| f.path.clone()).collect(),
        files_without_author: files.iter().filter(|f| f.authors.is_empty()).count(),
    }
}

/// Change counts per person for fragmentation: changes after creation plus
/// one for the creation itself (creating a file is work on it, even though
/// DOA counts it through FA instead).
fn fragmentation_counts(file: &FileAuthorship, into: &mut BTreeMap<usize, u64>) {
    for &(person, n) in &file.changes {
        *into.entry(person).or_default() += u64::from(n);
    }
    if let Some(creator) = file.creator {
        *into.entry(creator).or_default() += 1;
    }
}

/// `1 − Σ share²` over people's change counts: 0 when one person made every
/// change, approaching 1 as changes spread over many people. 0 when there
/// are no changes (nothing to fragment).
pub fn fragmentation(counts: &[u32]) -> f64 {
    fragmentation_u64(counts.iter().map(|&n| u64::from(n)))
}

fn fragmentation_u64(counts: impl Iterator<Item = u64> + Clone) -> f64 {
    let total: u64 = counts.clone().sum();
    if total == 0 {
        return 0.0;
    }
    let total = total as f64;
    1.0 - counts.map(|n| (n as f64 / total).powi(2)).sum::<f64>()
}

/// Knowledge of one directory.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DirectoryKnowledge {
    /// Directory (its first `depth` components), `.` for the root.
    pub directory: String,
    /// Files analysed in it (at any depth below).
    pub files: usize,
    /// Truck factor of its files alone.
    pub truck_factor: usize,
    /// The people that truck factor removed, in order.
    pub key_people: Vec<usize>,
    /// Who authors most of its files (ties: lowest index); `None` when no
    /// file has an author.
    pub main_author: Option<usize>,
    /// `(person, files authored)`, most files first, ties by person index.
    pub authors: Vec<(usize, usize)>,
    /// [`fragmentation`] of people's change counts over all its files
    /// (creation counts as a change).
    pub fragmentation: f64,
    /// Every file with an author has the same single author (false when no
    /// file has an author).
    pub single_author: bool,
}

/// The directory of `path` for grouping: its first `depth` directory
/// components; files with fewer go to their parent; top-level files (and
/// `depth` 0) to `.`.
/// The directory of `path` at `depth` (its first `depth` directory
/// components), `.` for files above that depth.
pub fn directory_of(path: &str, depth: usize) -> &str {
    if depth == 0 {
        return ".";
    }
    let mut end = None;
    for (seen, (position, _)) in path.match_indices('/').enumerate() {
        end = Some(position);
        if seen + 1 == depth {
            break;
        }
    }
    match end {
        Some(position) if position > 0 => &path[..position],
        _ => ".",
    }
}

/// Knowledge per directory at `depth` (1 = top-level directories), sorted by
/// directory name. Uses each file's `authors` as given (the caller may have
/// pruned them).
pub fn by_directory(files: &[FileAuthorship], depth: usize) -> Vec<DirectoryKnowledge> {
    let mut groups: BTreeMap<&str, Vec<&FileAuthorship>> = BTreeMap::new();
    for file in files {
        groups.entry(directory_of(&file.path, depth)).or_default().push(file);
    }
    groups
        .into_iter()
        .map(|(directory, members)| {
            let tf = truck_factor_of(&members);
            let mut counts: HashMap<usize, usize> = HashMap::new();
            // Ordered: a float sum over a hash map's order would differ between runs.
            let mut changes: BTreeMap<usize, u64> = BTreeMap::new();
            for file in &members {
                for (i, &person) in file.authors.iter().enumerate() {
                    if !file.authors[..i].contains(&person) {
                        *counts.entry(person).or_default() += 1;
                    }
                }
                fragmentation_counts(file, &mut changes);
            }
            let mut authors: Vec<(usize, usize)> = counts.into_iter().collect();
            authors.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            let mut authored = members.iter().filter(|f| !f.authors.is_empty()).peekable();
            let single_author = match authored.peek().map(|f| f.authors[0]) {
                Some(first) => authored.all(|f| f.authors.iter().all(|&p| p == first)),
                None => false,
            };
            DirectoryKnowledge {
                directory: directory.to_string(),
                files: members.len(),
                truck_factor: tf.value,
                key_people: tf.removed.iter().map(|k| k.person).collect(),
                main_author: authors.first().map(|(p, _)| *p),
                authors,
                fragmentation: fragmentation_u64(changes.values().copied()),
                single_author,
            }
        })
        .collect()
}

/// One file of the knowledge map.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileMapRow {
    /// Path.
    pub path: String,
    /// The author with the highest DOA (ties: lowest index); `None` without
    /// authors.
    pub main_author: Option<usize>,
    /// All authors, as in the input.
    pub authors: Vec<usize>,
    /// [`fragmentation`] of people's change counts on the file (creation
    /// counts as a change).
    pub fragmentation: f64,
}

/// The knowledge map: main author and fragmentation per file, in input order.
pub fn knowledge_map(files: &[FileAuthorship]) -> Vec<FileMapRow> {
    files
        .iter()
        .map(|file| {
            let doa_of =
                |person: usize| file.doa.iter().find(|(p, _)| *p == person).map_or(f64::NEG_INFINITY, |(_, d)| *d);
            let main_author = file
                .authors
                .iter()
                .map(|&p| (p, doa_of(p)))
                .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
                .map(|(p, _)| p);
            let mut changes = BTreeMap::new();
            fragmentation_counts(file, &mut changes);
            FileMapRow {
                path: file.path.clone(),
                main_author,
                authors: file.authors.clone(),
                fragmentation: fragmentation_u64(changes.values().copied()),
            }
        })
        .collect()
}

/// What is left without an author if some people leave.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Departure {
    /// Files that had at least one author, all of them leaving, in input
    /// order.
    pub orphaned_files: Vec<String>,
    /// `orphaned_files.len()`.
    pub orphaned: usize,
    /// Files analysed.
    pub files: usize,
    /// `orphaned / files`; 0 without files.
    pub share: f64,
    /// `(top-level directory, orphaned, files)` for directories with
    /// orphaned files, most orphaned first, then by name; top-level files
    /// are in `.`.
    pub directories: Vec<(String, usize, usize)>,
}

/// Departure impact of `leaving`: the files that had an author and would
/// have none. Files without an author to begin with are not counted (they
/// are orphaned already, see [`TruckFactor::files_without_author`]).
pub fn departure(files: &[FileAuthorship], leaving: &[usize]) -> Departure {
    // Who leaves, by person index: a lookup per author, not a scan of
    // `leaving` (an old project has thousands of inactive people).
    let mut gone = vec![false; leaving.iter().max().map_or(0, |&p| p + 1)];
    for &p in leaving {
        gone[p] = true;
    }
    let mut per_directory: HashMap<&str, (usize, usize)> = HashMap::new();
    let mut orphaned_files = Vec::new();
    for file in files {
        let entry = per_directory.entry(directory_of(&file.path, 1)).or_default();
        entry.1 += 1;
        if !file.authors.is_empty() && file.authors.iter().all(|&p| gone.get(p).copied().unwrap_or(false)) {
            entry.0 += 1;
            orphaned_files.push(file.path.clone());
        }
    }
    let mut directories: Vec<(String, usize, usize)> = per_directory
        .into_iter()
        .filter(|(_, (orphaned, _))| *orphaned > 0)
        .map(|(directory, (orphaned, total))| (directory.to_string(), orphaned, total))
        .collect();
    directories.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let orphaned = orphaned_files.len();
    Departure {
        orphaned_files,
        orphaned,
        files: files.len(),
        share: if files.is_empty() { 0.0 } else { orphaned as f64 / files.len() as f64 },
        directories,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: usize = 0;
    const B: usize = 1;
    const C: usize = 2;

    /// A change as the tests write it: kind, path, renamed-from.
    type Change = (char, String, String);

    fn add(path: &str) -> Change {
        ('A', path.to_string(), String::new())
    }
    fn modify(path: &str) -> Change {
        ('M', path.to_string(), String::new())
    }
    fn delete(path: &str) -> Change {
        ('D', path.to_string(), String::new())
    }
    fn rename(from: &str, to: &str) -> Change {
        ('R', to.to_string(), from.to_string())
    }
    fn commit(author: usize, changes: Vec<Change>) -> (usize, Vec<Change>) {
        (author, changes)
    }
    /// The history interned.
    fn log(history: &[(usize, Vec<Change>)]) -> ChangeLog {
        let mut log = ChangeLog::default();
        for (author, changes) in history {
            let changes: Vec<FileChange> = changes
                .iter()
                .map(|(kind, path, from)| {
                    let kind = match kind {
                        'A' => ChangeKind::Added,
                        'M' => ChangeKind::Modified,
                        'D' => ChangeKind::Deleted,
                        _ => ChangeKind::Renamed { from: log.intern(from) },
                    };
                    FileChange { path: log.intern(path), kind }
                })
                .collect();
            log.push(*author, changes);
        }
        log
    }
    fn paths(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }
    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 5e-5
    }
    /// A file with the given authors and no history details.
    fn authored(path: &str, authors: &[usize]) -> FileAuthorship {
        FileAuthorship {
            path: path.to_string(),
            creator: None,
            changes: Vec::new(),
            doa: Vec::new(),
            authors: authors.to_vec(),
        }
    }

    #[test]
    fn paths_are_interned_once_by_their_bytes() {
        let mut log = ChangeLog::default();
        let a = log.intern("src/a.rs");
        assert_eq!(log.intern_bytes(b"src/a.rs"), a);
        let b = log.intern_bytes(b"src/\xff.rs");
        assert_ne!(a, b);
        assert_eq!(log.intern_bytes(b"src/\xff.rs"), b);
        assert_eq!((log.name(a), log.name(b)), ("src/a.rs", "src/\u{fffd}.rs"));
        assert_eq!((log.id("src/a.rs"), log.id("src/b.rs"), log.path_count()), (Some(a), None, 2));
        log.push(0, [FileChange { path: a, kind: ChangeKind::Added }]);
        log.push(1, []);
        log.push(0, [FileChange { path: b, kind: ChangeKind::Renamed { from: a } }]);
        let commits: Vec<(usize, usize)> = log.iter().map(|(author, changes)| (author, changes.len())).collect();
        assert_eq!(commits, [(0, 1), (1, 0), (0, 1)]);
    }

    #[test]
    fn doa_formula() {
        // (FA, DL, AC, DOA)
        let cases = [
            (false, 0, 0, 3.293),
            (true, 0, 0, 4.391),
            (false, 1, 0, 3.457),
            // 3.293 + 1.098 + 0.328 − 0.321·ln 2
            (true, 2, 1, 4.4965),
            // 3.293 + 0.164 − 0.321·ln 3
            (false, 1, 2, 3.1043),
            // 3.293 + 1.098 − 0.321·ln 11
            (true, 0, 10, 3.6213),
            // 3.293 + 1.64
            (false, 10, 0, 4.933),
        ];
        for (fa, dl, ac, expected) in cases {
            let doa = degree_of_authorship(fa, dl, ac);
            assert!(close(doa, expected), "FA {fa} DL {dl} AC {ac}: {doa}");
        }
        assert!(is_author(3.293, 3.293));
        assert!(!is_author(3.29, 3.29));
        assert!(!is_author(3.6213, 4.933)); // 0.734 of the maximum
        assert!(is_author(4.0, 5.0)); // 0.8
    }

    #[test]
    fn worked_check_one_author() {
        // A creates and changes twice, B changes once.
        let history = vec![
            commit(A, vec![add("f.rs")]),
            commit(A, vec![modify("f.rs")]),
            commit(B, vec![modify("f.rs")]),
            commit(A, vec![modify("f.rs")]),
        ];
        let [file] = authorship(&log(&history), &paths(&["f.rs"])).try_into().expect("one file");
        assert_eq!(file.creator, Some(A));
        assert_eq!(file.changes, vec![(A, 2), (B, 1)]);
        assert!(close(file.doa[0].1, 4.4965) && close(file.doa[1].1, 3.1043), "{:?}", file.doa);
        assert_eq!(file.authors, vec![A]);
    }

    #[test]
    fn worked_check_creator_loses_authorship() {
        let mut history = vec![commit(A, vec![add("f.rs")])];
        history.extend((0..10).map(|_| commit(B, vec![modify("f.rs")])));
        let [file] = authorship(&log(&history), &paths(&["f.rs"])).try_into().expect("one file");
        assert_eq!(file.changes, vec![(B, 10)]);
        assert!(close(file.doa[0].1, 3.6213) && close(file.doa[1].1, 4.933), "{:?}", file.doa);
        assert_eq!(file.authors, vec![B]);
    }

    #[test]
    fn authors_ranked_by_doa() {
        // A creates; B changes twice, C once: A 4.391 − .321 ln 4 = 3.946,
        // B 3.293 + .328 − .321 ln 2 = 3.3985, C 3.457 − .321 ln 3 = 3.104.
        // max 3.946: B 0.861 is an author, C below 3.293 is not.
        let history = vec![
            commit(A, vec![add("f")]),
            commit(C, vec![modify("f")]),
            commit(B, vec![modify("f")]),
            commit(B, vec![modify("f")]),
        ];
        let files = authorship(&log(&history), &paths(&["f"]));
        assert_eq!(files[0].authors, vec![A, B]);
        // Equal DOA (shallow, three changes each: 3.293 + .492 − .321 ln 4
        // = 3.340 for both): lowest index first.
        let history: Vec<_> = (0..6).map(|i| commit(if i % 2 == 0 { C } else { B }, vec![modify("g")])).collect();
        let files = authorship(&log(&history), &paths(&["g"]));
        assert_eq!(files[0].authors, vec![B, C]);
    }

    #[test]
    fn creating_commit_counts_only_as_first_authorship() {
        // A duplicate entry in the creating commit, and a commit listing a
        // file twice, count once at most.
        let history = vec![commit(A, vec![add("f"), modify("f")]), commit(B, vec![modify("f"), modify("f")])];
        let files = authorship(&log(&history), &paths(&["f"]));
        assert_eq!(files[0].changes, vec![(B, 1)]);
    }

    #[test]
    fn renames_are_followed_including_cycles() {
        let history = vec![
            commit(A, vec![add("a"), add("b")]),
            commit(B, vec![modify("a")]),
            // Swap in one commit: a→b and b→a.
            commit(C, vec![rename("a", "b"), rename("b", "a")]),
            // Chain back and forth across commits.
            commit(B, vec![rename("b", "c")]),
            commit(B, vec![rename("c", "b")]),
        ];
        let files = authorship(&log(&history), &paths(&["a", "b"]));
        // "b" is the old "a": A created it, B modified and renamed it twice,
        // C renamed it once.
        assert_eq!(files[1].creator, Some(A));
        assert_eq!(files[1].changes, vec![(B, 3), (C, 1)]);
        // "a" is the old "b": created by A, renamed by C.
        assert_eq!(files[0].creator, Some(A));
        assert_eq!(files[0].changes, vec![(C, 1)]);
        // A: 4.391 − .321 ln 2 = 4.1685; C: 3.457: 0.829 → both authors.
        assert_eq!(files[0].authors, vec![A, C]);
    }

    #[test]
    fn readd_after_delete_starts_afresh() {
        let history = vec![
            commit(A, vec![add("f")]),
            commit(A, vec![modify("f")]),
            commit(B, vec![delete("f")]),
            commit(C, vec![add("f")]),
            commit(B, vec![modify("f")]),
        ];
        let files = authorship(&log(&history), &paths(&["f"]));
        assert_eq!(files[0].creator, Some(C));
        assert_eq!(files[0].changes, vec![(B, 1)]);
        assert_eq!(files[0].doa.iter().map(|(p, _)| *p).collect::<Vec<_>>(), vec![B, C]);
        // Deleted and never re-added: not in `files`, no trace.
        let history = vec![commit(A, vec![add("g")]), commit(A, vec![delete("g")])];
        assert_eq!(authorship(&log(&history), &paths(&["g"]))[0].doa, vec![]);
    }

    #[test]
    fn shallow_history_has_no_creator() {
        let history = vec![
            commit(A, vec![modify("m")]),
            commit(B, vec![modify("m")]),
            commit(B, vec![rename("old", "r")]),
            commit(A, vec![add("new")]),
        ];
        let files = authorship(&log(&history), &paths(&["m", "r", "new", "untouched"]));
        assert_eq!((files[0].creator, files[0].changes.clone()), (None, vec![(A, 1), (B, 1)]));
        // Both 3.457 − .321 ln 2 = 3.2345 < 3.293: nobody is an author.
        assert!(files[0].authors.is_empty());
        assert_eq!(
            (files[1].creator, files[1].changes.clone(), files[1].authors.clone()),
            (None, vec![(B, 1)], vec![B])
        );
        assert_eq!(files[2].authors, vec![A]);
        assert_eq!(files[3], authored("untouched", &[]));
    }

    #[test]
    fn truck_factor_greedy() {
        // A authors 4 files, B 3, C 1; 6 files.
        let files = vec![
            authored("f1", &[A]),
            authored("f2", &[A, B]),
            authored("f3", &[A]),
            authored("f4", &[A, C]),
            authored("f5", &[B]),
            authored("f6", &[B]),
        ];
        // Remove A: f2 f4 f5 f6 covered (4/6 ≥ 50%); remove B: f4 (1/6) → 2.
        let tf = truck_factor(&files);
        assert_eq!(tf.value, 2);
        assert_eq!(tf.files, 6);
        assert!(!tf.no_files);
        assert_eq!(
            tf.removed,
            vec![
                KeyPerson { person: A, files_authored: 4, share: 4.0 / 6.0 },
                KeyPerson { person: B, files_authored: 3, share: 0.5 },
            ]
        );
        assert_eq!(tf.single_author_files, paths(&["f1", "f3", "f5", "f6"]));
        assert_eq!(tf.files_without_author, 0);
    }

    #[test]
    fn truck_factor_ties_and_exactly_half() {
        // B and A author 2 files each: A (lower index) goes first. After A,
        // 2/4 covered is exactly 50%: not fewer, so B goes too.
        let files = vec![authored("1", &[B]), authored("2", &[A]), authored("3", &[B]), authored("4", &[A])];
        let tf = truck_factor(&files);
        assert_eq!(tf.removed.iter().map(|k| k.person).collect::<Vec<_>>(), vec![A, B]);
        assert_eq!(tf.value, 2);
    }

    #[test]
    fn truck_factor_edges() {
        let empty = truck_factor(&[]);
        assert_eq!((empty.value, empty.files, empty.no_files), (0, 0, true));
        // 1 of 3 files has an author: below 50% already.
        let files = vec![authored("a", &[A]), authored("b", &[]), authored("c", &[])];
        let tf = truck_factor(&files);
        assert_eq!((tf.value, tf.files_without_author, tf.no_files), (0, 2, false));
        // Nobody authors anything.
        let tf = truck_factor(&[authored("a", &[])]);
        assert_eq!(tf.value, 0);
    }

    #[test]
    fn fragmentation_values() {
        assert_eq!(fragmentation(&[]), 0.0);
        assert_eq!(fragmentation(&[0, 0]), 0.0);
        assert_eq!(fragmentation(&[7]), 0.0);
        assert_eq!(fragmentation(&[1, 1]), 0.5);
        // Shares 1/2, 1/4, 1/4: 1 − (1/4 + 1/16 + 1/16) = 0.625.
        assert_eq!(fragmentation(&[2, 1, 1]), 0.625);
    }

    #[test]
    fn directory_grouping() {
        let cases = [
            ("src/a/b/c.rs", 1, "src"),
            ("src/a/b/c.rs", 2, "src/a"),
            ("src/a/b/c.rs", 9, "src/a/b"),
            ("src/c.rs", 2, "src"),
            ("c.rs", 1, "."),
            ("src/c.rs", 0, "."),
        ];
        for (path, depth, expected) in cases {
            assert_eq!(directory_of(path, depth), expected, "{path} at {depth}");
        }
    }

    #[test]
    fn knowledge_by_directory_and_map() {
        let history = vec![
            commit(A, vec![add("src/a.rs"), add("src/b.rs"), add("lib/x.rs"), add("build.rs")]),
            commit(B, vec![modify("src/a.rs")]),
            commit(B, vec![modify("src/a.rs")]),
            commit(B, vec![modify("src/a.rs")]),
            commit(B, vec![modify("lib/x.rs")]),
        ];
        let files = authorship(&log(&history), &paths(&["src/a.rs", "src/b.rs", "lib/x.rs", "build.rs"]));
        // src/a.rs: A 4.391 − .321 ln 4 = 3.946, B 3.785 (0.959): both.
        // lib/x.rs: A 4.391 − .321 ln 2 = 4.1685, B 3.457 (0.829): both.
        assert_eq!(files[0].authors, vec![A, B]);
        assert_eq!(files[2].authors, vec![A, B]);
        let directories = by_directory(&files, 1);
        let summary: Vec<_> = directories
            .iter()
            .map(|d| (d.directory.as_str(), d.files, d.truck_factor, d.main_author, d.single_author))
            .collect();
        assert_eq!(
            summary,
            vec![(".", 1, 1, Some(A), true), ("lib", 1, 2, Some(A), false), ("src", 2, 2, Some(A), false)]
        );
        // src: removing A leaves src/a.rs with B, 1 of 2 = 50%, not fewer:
        // B goes too.
        let src = &directories[2];
        assert_eq!(src.authors, vec![(A, 2), (B, 1)]);
        assert_eq!(src.key_people, vec![A, B]);
        // Changes with creation: A 2 (two creations), B 3 → 1 − (.16 + .36).
        assert!((src.fragmentation - 0.48).abs() < 1e-12);
        let lib = &directories[1];
        // A 1, B 1.
        assert_eq!(lib.fragmentation, 0.5);

        let map = knowledge_map(&files);
        assert_eq!(map[0].main_author, Some(A));
        // A 1 (creation), B 3: 1 − (1/16 + 9/16) = 0.375.
        assert_eq!(map[0].fragmentation, 0.375);
        assert_eq!((map[1].main_author, map[1].fragmentation), (Some(A), 0.0));
        // The map uses the authors as given: drop A (say, a bot).
        let mut pruned = files.clone();
        pruned[0].authors.retain(|&p| p != A);
        assert_eq!(knowledge_map(&pruned)[0].main_author, Some(B));
    }

    #[test]
    fn single_author_directories() {
        let files = vec![authored("d/1", &[B]), authored("d/2", &[B]), authored("d/3", &[])];
        let directories = by_directory(&files, 1);
        assert!(directories[0].single_author);
        assert_eq!(directories[0].main_author, Some(B));
        let files = vec![authored("e/1", &[]), authored("f/1", &[A]), authored("f/2", &[B])];
        let directories = by_directory(&files, 1);
        assert_eq!((directories[0].single_author, directories[0].main_author), (false, None));
        // A tie on files authored: lowest index.
        assert_eq!(directories[1].main_author, Some(A));
        assert!(!directories[1].single_author);
    }

    #[test]
    fn departure_impact() {
        let files = vec![
            authored("src/a", &[A]),
            authored("src/b", &[A, B]),
            authored("src/c", &[B]),
            authored("lib/d", &[A]),
            authored("e", &[A]),
            authored("src/f", &[]),
        ];
        let gone = departure(&files, &[A]);
        assert_eq!(gone.orphaned_files, paths(&["src/a", "lib/d", "e"]));
        assert_eq!((gone.orphaned, gone.files), (3, 6));
        assert_eq!(gone.share, 0.5);
        assert_eq!(
            gone.directories,
            vec![(".".to_string(), 1, 1), ("lib".to_string(), 1, 1), ("src".to_string(), 1, 4)]
        );
        let both = departure(&files, &[A, B]);
        assert_eq!(both.orphaned, 5);
        assert_eq!(both.directories[0], ("src".to_string(), 3, 4));
        let nobody = departure(&files, &[]);
        assert_eq!((nobody.orphaned, nobody.directories.len()), (0, 0));
        let empty = departure(&[], &[A]);
        assert_eq!((empty.files, empty.share), (0, 0.0));
    }

    #[test]
    fn zero_files() {
        let history = vec![commit(A, vec![add("README.md")])];
        let files = authorship(&log(&history), &[]);
        assert!(files.is_empty());
        assert!(truck_factor(&files).no_files);
        assert!(by_directory(&files, 1).is_empty());
        assert!(knowledge_map(&files).is_empty());
    }

    #[test]
    fn large_history_is_linear() {
        // 100k commits over 5k files with renames and deletions: must finish
        // quickly even unoptimised (a quadratic replay would not).
        let mut history = Vec::with_capacity(100_000);
        for i in 0..5_000 {
            history.push(commit(i % 50, vec![add(&format!("d{}/f{i}.rs", i % 20))]));
        }
        for i in 0..95_000usize {
            let file = i * 7919 % 5_000;
            let path = format!("d{}/f{file}.rs", file % 20);
            let change = if i % 1000 == 999 {
                // Rename to itself through a temporary name, across two
                // commits (the second below).
                rename(&path, &format!("{path}.tmp"))
            } else {
                modify(&path)
            };
            let back = change.0 == 'R';
            history.push(commit(i % 37, vec![change, modify("d0/shared.rs")]));
            if back {
                history.push(commit(i % 37, vec![rename(&format!("{path}.tmp"), &path)]));
            }
        }
        let files: Vec<String> = (0..5_000).map(|i| format!("d{}/f{i}.rs", i % 20)).collect();
        let result = authorship(&log(&history), &files);
        assert_eq!(result.len(), 5_000);
        assert!(result.iter().all(|f| f.creator.is_some()));
        let tf = truck_factor(&result);
        assert!(tf.value > 0);
    }
}
