//! The commit graph by row id (schema 12), and reads of chosen commits: a
//! report attributes the whole graph from integers, then reads in full only
//! the commits its window needs.
//! Part of the store: the only place that runs SQL.

use std::collections::HashMap;

use super::db::{ToParam, params};
use super::{Store, StoreError, StoredCommit};

/// Parameters per `IN (…)` list.
const CHUNK: usize = 500;

/// Row ids closer than this are read as one range (and the rows between
/// them dropped) rather than listed.
const GAP: i64 = 16;

/// `parent_rows` of a merge whose list of parent row ids would be longer
/// than [`WIDE_PARENT_ROWS`] bytes. The list sits in the `commits_graph`
/// index, whose entries PostgreSQL limits to about a third of a page, and a
/// repository chooses how many parents a merge has (git makes octopus
/// merges of any number): such a merge's parents are read from `parents`
/// instead.
const WIDE: &str = "*";

/// Longest `parent_rows` kept in the index.
const WIDE_PARENT_ROWS: usize = 1_000;

/// Histories spanning this many row ids or more are read in two halves.
const SPLIT_GRAPH_FROM: i64 = 100_000;

/// A repository's commits as a graph of row ids.
#[derive(Debug, Clone, Default)]
pub struct StoredGraph {
    /// Row ids, ascending.
    pub rows: Vec<i64>,
    /// Committer times, per row.
    pub committer_times: Vec<i64>,
    /// Parent row ids of row `i`: `parents[parent_start[i]..parent_start[i + 1]]`.
    pub parent_start: Vec<usize>,
    /// Parent row ids, first parent first.
    pub parents: Vec<i64>,
    /// Per row: the commit reverts another (`This reverts commit …`).
    pub reverts: Vec<bool>,
    /// File versions that could not be read, over every commit (the
    /// header's totals, read in the same pass).
    pub missing_blobs: u64,
    /// Per row, when read with the authors: author time, UTC seconds.
    author_times: Vec<i64>,
    /// Per row, when read with the authors: the author's `signatures` id.
    author_ids: Vec<i64>,
}

impl StoredGraph {
    /// Index of a row id.
    pub fn index_of(&self, row: i64) -> Option<usize> {
        position(&self.rows, row)
    }
}

/// Where `id` is in `ids` (ascending). Ids the store hands out are mostly
/// numbered without gaps (one sync writes a repository's rows): the place
/// an id would have then is tried first, a binary search otherwise.
pub fn position(ids: &[i64], id: i64) -> Option<usize> {
    let first = *ids.first()?;
    if let Some(guess) = usize::try_from(id.checked_sub(first)?).ok().filter(|&g| ids.get(g) == Some(&id)) {
        return Some(guess);
    }
    ids.binary_search(&id).ok()
}

/// Who wrote each commit of a [`StoredGraph`], signatures stored once.
#[derive(Debug, Clone, Default)]
pub struct StoredAuthors {
    /// Distinct `(name, e-mail)` as recorded.
    pub signatures: Vec<(String, String)>,
    /// Per row: its author's index in `signatures`.
    pub signature: Vec<u32>,
    /// Per row: author time, UTC seconds.
    pub author_times: Vec<i64>,
}

impl Store {
    /// The graph with every commit's author ([`Store::load_graph`] reading
    /// two more integers a commit from the same index), each distinct
    /// signature read once from `signatures` (schema 15); `None` as for the
    /// graph, or when a commit names no stored signature.
    pub fn load_graph_with_authors(&self, repo_id: i64) -> Result<Option<(StoredGraph, StoredAuthors)>, StoreError> {
        let Some(mut graph) = self.load_graph_split(repo_id, SPLIT_GRAPH_FROM, true)? else { return Ok(None) };
        // Signature ids ascending, and the index of each among the distinct
        // `(name, e-mail)`: two rows recording the same signature are one.
        let mut ids: Vec<i64> = Vec::new();
        let mut index: Vec<u32> = Vec::new();
        let mut signatures: Vec<(String, String)> = Vec::new();
        let mut known: HashMap<(String, String), u32> = HashMap::new();
        self.db
            .for_each("SELECT id, name, email FROM signatures WHERE repo_id = ?1 ORDER BY id", params![repo_id], |r| {
                let signature: (String, String) = (r.get(1)?, r.get(2)?);
                let next = u32::try_from(signatures.len()).expect("fewer than 2^32 signatures");
                let at = *known.entry(signature.clone()).or_insert_with(|| {
                    signatures.push(signature);
                    next
                });
                ids.push(r.get(0)?);
                index.push(at);
                Ok(())
            })
            .map_err(self.sql())?;
        let mut signature = Vec::with_capacity(graph.author_ids.len());
        for id in &graph.author_ids {
            match position(&ids, *id) {
                Some(at) => signature.push(index[at]),
                None => return Ok(None),
            }
        }
        let author_times = std::mem::take(&mut graph.author_times);
        graph.author_ids = Vec::new();
        Ok(Some((graph, StoredAuthors { signatures, signature, author_times })))
    }

    /// Resolves, for commits stored since the last call, their parents'
    /// row ids (`parent_rows`). A commit whose parent is not stored (the
    /// edge of a shallow clone) stays unresolved, and is tried again at the
    /// next sync. Returns how many commits remain unresolved.
    pub(crate) fn resolve_parent_rows(&self, repo_id: i64) -> Result<usize, StoreError> {
        let todo: Vec<(i64, String)> = self
            .db
            .query_map(
                "SELECT id, parents FROM commits WHERE repo_id = ?1 AND parent_rows IS NULL",
                params![repo_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(self.sql())?;
        if todo.is_empty() {
            return Ok(0);
        }
        // Many new commits (a first sync): one read of every id; a few: a
        // lookup each through the (repo_id, sha) index.
        let all: Option<HashMap<String, i64>> = if todo.len() > 2_000 {
            Some(
                self.db
                    .query_map("SELECT sha, id FROM commits WHERE repo_id + 0 = ?1", params![repo_id], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })
                    .map_err(self.sql())?
                    .into_iter()
                    .collect(),
            )
        } else {
            None
        };
        let lookup = |sha: &str| -> Result<Option<i64>, StoreError> {
            match &all {
                Some(map) => Ok(map.get(sha).copied()),
                None => self
                    .db
                    .query_opt("SELECT id FROM commits WHERE repo_id = ?1 AND sha = ?2", params![repo_id, sha], |r| {
                        r.get(0)
                    })
                    .map_err(self.sql()),
            }
        };
        let mut resolved: Vec<(i64, String)> = Vec::with_capacity(todo.len());
        let mut unresolved = 0;
        'commits: for (id, parents) in &todo {
            let mut rows = String::new();
            for parent in parents.split_ascii_whitespace() {
                let Some(row) = lookup(parent)? else {
                    unresolved += 1;
                    continue 'commits;
                };
                if !rows.is_empty() {
                    rows.push(' ');
                }
                rows.push_str(&row.to_string());
            }
            // A merge of hundreds of branches: its list stays out of the
            // index (see `WIDE`), read from `parents` when the graph is.
            if rows.len() > WIDE_PARENT_ROWS {
                rows = WIDE.to_owned();
            }
            resolved.push((*id, rows));
        }
        drop(all);
        // A hundred commits a statement (one round trip each on PostgreSQL),
        // in SQL both backends run: `CASE id WHEN … THEN … END`.
        self.write(|db| {
            for chunk in resolved.chunks(100) {
                let mut sql = String::from("UPDATE commits SET parent_rows = CASE id");
                let mut values: Vec<&dyn ToParam> = Vec::with_capacity(chunk.len() * 2);
                for (i, (id, rows)) in chunk.iter().enumerate() {
                    sql.push_str(&format!(" WHEN ?{} THEN ?{}", 2 * i + 1, 2 * i + 2));
                    values.push(id);
                    values.push(rows);
                }
                let ids = (0..chunk.len()).map(|i| format!("?{}", 2 * i + 1)).collect::<Vec<_>>().join(", ");
                sql.push_str(&format!(" END WHERE id IN ({ids})"));
                db.execute(&sql, &values)?;
            }
            Ok(())
        })?;
        Ok(unresolved)
    }

    /// The repository's commit graph by row id; `None` while any commit's
    /// parents are unresolved (a sync under way or interrupted, a shallow
    /// clone's edge, a database from before schema 12 not synced since).
    ///
    /// A long history is read in two halves by row id, side by side on two
    /// connections (WAL lets SQLite readers run together): the read is most
    /// of a report's time at a million commits.
    pub fn load_graph(&self, repo_id: i64) -> Result<Option<StoredGraph>, StoreError> {
        self.load_graph_split(repo_id, SPLIT_GRAPH_FROM, false)
    }

    /// [`Store::load_graph`], in two halves when the history spans `split`
    /// row ids or more; with each commit's author time and signature id
    /// when `authors` is set.
    fn load_graph_split(&self, repo_id: i64, split: i64, authors: bool) -> Result<Option<StoredGraph>, StoreError> {
        let (low, high): (Option<i64>, Option<i64>) = self
            .db
            // Two subqueries: each is one index seek, where `MIN(id), MAX(id)`
            // together scan the repository's commits in SQLite.
            .query_row(
                "SELECT (SELECT MIN(id) FROM commits WHERE repo_id = ?1), (SELECT MAX(id) FROM commits WHERE repo_id = ?1)",
                params![repo_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(self.sql())?;
        if let (Some(low), Some(high)) = (low, high)
            && high - low >= split
            && let Ok(reader) = self.reader()
        {
            let middle = low + (high - low) / 2;
            let (first, second) = std::thread::scope(|scope| {
                let second = scope.spawn(move || reader.load_graph_rows(repo_id, middle, i64::MAX, authors));
                let first = self.load_graph_rows(repo_id, i64::MIN, middle, authors);
                (first, second.join().expect("reading the graph does not panic"))
            });
            return Ok(match (first?, second?) {
                (Some(mut first), Some(second)) => {
                    let offset = first.parents.len();
                    first.rows.extend(second.rows);
                    first.committer_times.extend(second.committer_times);
                    first.parent_start.extend(second.parent_start[1..].iter().map(|start| start + offset));
                    first.parents.extend(second.parents);
                    first.reverts.extend(second.reverts);
                    first.missing_blobs += second.missing_blobs;
                    first.author_times.extend(second.author_times);
                    first.author_ids.extend(second.author_ids);
                    Some(first)
                }
                _ => None,
            });
        }
        self.load_graph_rows(repo_id, i64::MIN, i64::MAX, authors)
    }

    /// The graph of the commits with row ids in `from..to`.
    fn load_graph_rows(
        &self,
        repo_id: i64,
        from: i64,
        to: i64,
        authors: bool,
    ) -> Result<Option<StoredGraph>, StoreError> {
        let mut graph = StoredGraph { parent_start: vec![0], ..StoredGraph::default() };
        let mut complete = true;
        // Rows whose parents are read from their commit ids.
        let mut wide: Vec<usize> = Vec::new();
        let sql = if authors {
            "SELECT id, committer_time, parent_rows, reverts IS NOT NULL, missing_blobs, author_time, author_id
             FROM commits WHERE repo_id = ?1 AND id >= ?2 AND id < ?3 ORDER BY id"
        } else {
            "SELECT id, committer_time, parent_rows, reverts IS NOT NULL, missing_blobs FROM commits
             WHERE repo_id = ?1 AND id >= ?2 AND id < ?3 ORDER BY id"
        };
        self.db
            .for_each(sql, params![repo_id, from, to], |r| {
                // NULL: not resolved yet (the text is read in place, no
                // string made per commit), or no signature id.
                if !complete || r.is_null(2)? || (authors && r.is_null(6)?) {
                    complete = false;
                    return Ok(());
                }
                r.with_text(2, |parents| {
                    if parents == WIDE {
                        wide.push(graph.rows.len());
                    }
                    graph.parents.extend(parents.split_ascii_whitespace().filter_map(|p| p.parse::<i64>().ok()))
                })?;
                graph.parent_start.push(graph.parents.len());
                graph.rows.push(r.get(0)?);
                graph.committer_times.push(r.get(1)?);
                graph.reverts.push(r.get::<i64>(3)? != 0);
                graph.missing_blobs += r.get::<i64>(4)?.max(0) as u64;
                if authors {
                    graph.author_times.push(r.get(5)?);
                    graph.author_ids.push(r.get(6)?);
                }
                Ok(())
            })
            .map_err(self.sql())?;
        if !complete {
            return Ok(None);
        }
        if !wide.is_empty() && !self.read_wide_parents(repo_id, &mut graph, &wide)? {
            return Ok(None);
        }
        Ok(Some(graph))
    }

    /// Fills in the parents of the graph's rows `wide` (their `parent_rows`
    /// is [`WIDE`]) from their commit ids; false when one is not stored.
    fn read_wide_parents(&self, repo_id: i64, graph: &mut StoredGraph, wide: &[usize]) -> Result<bool, StoreError> {
        let mut found: HashMap<usize, Vec<i64>> = HashMap::new();
        for &at in wide {
            let shas: String = self
                .db
                .query_row("SELECT parents FROM commits WHERE id = ?1", params![graph.rows[at]], |r| r.get(0))
                .map_err(self.sql())?;
            let shas: Vec<&str> = shas.split_ascii_whitespace().collect();
            let rows = self.commit_rows(repo_id, &shas)?;
            let Some(parents) = shas.iter().map(|sha| rows.get(*sha).copied()).collect::<Option<Vec<i64>>>() else {
                return Ok(false);
            };
            found.insert(at, parents);
        }
        let mut parents = Vec::with_capacity(graph.parents.len() + found.values().map(Vec::len).sum::<usize>());
        let mut starts = Vec::with_capacity(graph.parent_start.len());
        starts.push(0);
        for at in 0..graph.rows.len() {
            match found.get(&at) {
                Some(wide) => parents.extend_from_slice(wide),
                None => parents.extend_from_slice(&graph.parents[graph.parent_start[at]..graph.parent_start[at + 1]]),
            }
            starts.push(parents.len());
        }
        graph.parents = parents;
        graph.parent_start = starts;
        Ok(true)
    }

    /// Row ids of the given commit ids (those stored).
    pub fn commit_rows(&self, repo_id: i64, shas: &[&str]) -> Result<HashMap<String, i64>, StoreError> {
        let mut found = HashMap::with_capacity(shas.len());
        for chunk in shas.chunks(CHUNK) {
            let (list, values) = in_list(&repo_id, chunk);
            self.db
                .for_each(
                    &format!("SELECT sha, id FROM commits WHERE repo_id = ?1 AND sha IN ({list})"),
                    &values,
                    |r| {
                        found.insert(r.get(0)?, r.get(1)?);
                        Ok(())
                    },
                )
                .map_err(self.sql())?;
        }
        Ok(found)
    }

    /// Full ids of the repository's commits starting with `prefix` (an
    /// abbreviated id in a revert message).
    pub fn commits_with_prefix(&self, repo_id: i64, prefix: &str) -> Result<Vec<String>, StoreError> {
        // Ids are lower-case hex: the range [prefix, prefix + "g") holds
        // exactly the ids starting with it, byte-wise; the check after it
        // guards a collation that orders otherwise.
        let end = format!("{prefix}g");
        let ids: Vec<String> = self
            .db
            .query_map(
                "SELECT sha FROM commits WHERE repo_id = ?1 AND sha >= ?2 AND sha < ?3",
                params![repo_id, prefix, end],
                |r| r.get(0),
            )
            .map_err(self.sql())?;
        Ok(ids.into_iter().filter(|id| id.starts_with(prefix)).collect())
    }

    /// The commits with the given row ids (ascending), in row order.
    pub fn load_commits_at(&self, repo_id: i64, rows: &[i64]) -> Result<Vec<StoredCommit>, StoreError> {
        let columns = format!("SELECT {} FROM commits", super::STORED_COMMIT);
        let read = StoredCommit::read;
        // Runs of near ids are read as ranges (the rows between dropped),
        // the rest listed.
        let mut out = Vec::with_capacity(rows.len());
        let mut single = Vec::new();
        let mut i = 0;
        while i < rows.len() {
            let mut j = i;
            while j + 1 < rows.len() && rows[j + 1] - rows[j] <= GAP {
                j += 1;
            }
            if j - i + 1 >= 32 {
                let wanted = &rows[i..=j];
                self.db
                    .for_each(
                        &format!("{columns} WHERE repo_id + 0 = ?1 AND id BETWEEN ?2 AND ?3"),
                        params![repo_id, rows[i], rows[j]],
                        |r| {
                            let row: i64 = r.get(9)?;
                            if wanted.binary_search(&row).is_ok() {
                                out.push(read(r)?);
                            }
                            Ok(())
                        },
                    )
                    .map_err(self.sql())?;
            } else {
                single.extend_from_slice(&rows[i..=j]);
            }
            i = j + 1;
        }
        for chunk in single.chunks(CHUNK) {
            let (list, values) = in_list(&repo_id, chunk);
            self.db
                .for_each(&format!("{columns} WHERE repo_id + 0 = ?1 AND id IN ({list})"), &values, |r| {
                    out.push(read(r)?);
                    Ok(())
                })
                .map_err(self.sql())?;
        }
        out.sort_unstable_by_key(|c| c.row_id);
        Ok(out)
    }
}

/// `?2, ?3, …` for `items` after the repository's id (`?1`), and the
/// parameters in that order.
fn in_list<'a, T: ToParam>(repo_id: &'a i64, items: &'a [T]) -> (String, Vec<&'a dyn ToParam>) {
    let mut values: Vec<&dyn ToParam> = vec![repo_id];
    values.extend(items.iter().map(|item| item as &dyn ToParam));
    let list = (2..=items.len() + 1).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
    (list, values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::git::{CommitRecord, Signature};

    /// A merge of 300 branches: its parents' row ids (over 1,000 bytes)
    /// stay out of the index, and the graph still has all of them, first
    /// parent first, read whole or in halves.
    #[test]
    fn a_merge_of_hundreds_of_branches_keeps_its_parents_out_of_the_index() {
        let dir = std::env::temp_dir().join(format!("fulcrum-graph-wide-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut store = Store::open(&dir.join("db.sqlite")).unwrap();
        let repo = store.repo_state("/repo", "repo").unwrap();
        let sha = |i: usize| format!("{i:040x}");
        let signature = |i: usize| Signature {
            name: "dev".into(),
            email: "dev@x.example".into(),
            time: i as i64,
            offset_minutes: 0,
        };
        let commit = |i: usize, parents: Vec<String>| CommitRecord {
            id: sha(i),
            parents,
            author: signature(i),
            committer: signature(i),
            subject: String::new(),
            reverts: None,
            trailers: Vec::new(),
            files: Vec::new(),
            missing_blobs: 0,
        };
        let mut commits = vec![commit(0, vec![])];
        commits.extend((1..=300).map(|i| commit(i, vec![sha(0)])));
        commits.push(commit(301, (0..=300).map(sha).collect()));
        store.insert_commits(repo.id, &commits).unwrap();
        assert_eq!(store.resolve_parent_rows(repo.id).unwrap(), 0);
        let stored: String = store
            .db
            .query_row("SELECT parent_rows FROM commits WHERE sha = ?1", params![sha(301)], |r| r.get(0))
            .unwrap();
        assert_eq!(stored, WIDE);
        for split in [i64::MAX, 1, 250] {
            let graph = store.load_graph_split(repo.id, split, true).unwrap().expect("complete");
            let merge = graph.rows.len() - 1;
            let parents = &graph.parents[graph.parent_start[merge]..graph.parent_start[merge + 1]];
            assert_eq!(parents, &graph.rows[..301], "split at {split}");
            let child = &graph.parents[graph.parent_start[5]..graph.parent_start[6]];
            assert_eq!(child, [graph.rows[0]], "split at {split}");
        }
        drop(store);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A graph read in two halves is the graph read whole: offsets of the
    /// second half's parents shifted, flags and totals joined.
    #[test]
    fn graph_read_in_halves_is_the_graph_read_whole() {
        let dir = std::env::temp_dir().join(format!("fulcrum-graph-halves-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut store = Store::open(&dir.join("db.sqlite")).unwrap();
        let repo = store.repo_state("/repo", "repo").unwrap();
        let sha = |i: usize| format!("{i:040x}");
        let signature = |i: usize| Signature {
            name: format!("dev{}", i % 3),
            email: format!("dev{}@x.example", i % 3),
            time: 1_700_000_000 + i as i64 * 60,
            offset_minutes: 0,
        };
        // A line of 41 commits with a merge every 10th (parent i-1 and i-5),
        // a revert at 7 and a missing blob at 30.
        let commits: Vec<CommitRecord> = (0..41)
            .map(|i| CommitRecord {
                id: sha(i),
                parents: match i {
                    0 => vec![],
                    i if i % 10 == 0 => vec![sha(i - 1), sha(i - 5)],
                    i => vec![sha(i - 1)],
                },
                author: signature(i),
                committer: signature(i),
                subject: format!("commit {i}"),
                reverts: (i == 7).then(|| sha(3)),
                trailers: Vec::new(),
                files: Vec::new(),
                missing_blobs: u32::from(i == 30),
            })
            .collect();
        store.insert_commits(repo.id, &commits).unwrap();
        assert_eq!(store.resolve_parent_rows(repo.id).unwrap(), 0);
        let whole = store.load_graph_split(repo.id, i64::MAX, true).unwrap().expect("complete");
        let halves = store.load_graph_split(repo.id, 1, true).unwrap().expect("complete");
        assert_eq!(whole.rows.len(), 41);
        assert_eq!(
            (&halves.rows, &halves.committer_times, &halves.parent_start, &halves.parents, &halves.reverts),
            (&whole.rows, &whole.committer_times, &whole.parent_start, &whole.parents, &whole.reverts)
        );
        assert_eq!((&halves.author_times, &halves.author_ids), (&whole.author_times, &whole.author_ids));
        assert_eq!(whole.author_times, (0..41).map(|i| signature(i).time).collect::<Vec<_>>());
        // Three signatures, each commit naming its own.
        let (_, authors) = store.load_graph_with_authors(repo.id).unwrap().expect("complete");
        assert_eq!(authors.signatures.len(), 3);
        assert_eq!(authors.signature, (0..41).map(|i| (i % 3) as u32).collect::<Vec<_>>());
        assert_eq!((halves.missing_blobs, whole.missing_blobs), (1, 1));
        assert_eq!(whole.parents.len(), 40 + 4);
        // Signatures whose bytes joined with a NUL would be the same stay two
        // people (the store keeps a NUL as U+FFFD, and the key does not rely
        // on that).
        let repo = store.repo_state("/other", "other").unwrap();
        let tricky = |i: usize, name: &str, email: &str| CommitRecord {
            id: format!("{:040x}", 1000 + i),
            parents: vec![],
            author: Signature { name: name.to_owned(), email: email.to_owned(), ..signature(i) },
            committer: signature(i),
            subject: String::new(),
            reverts: None,
            trailers: Vec::new(),
            files: Vec::new(),
            missing_blobs: 0,
        };
        store.insert_commits(repo.id, &[tricky(0, "a\0b", "c"), tricky(1, "a", "b\0c")]).unwrap();
        store.resolve_parent_rows(repo.id).unwrap();
        let (_, authors) = store.load_graph_with_authors(repo.id).unwrap().expect("complete");
        let names: Vec<(&str, &str)> = authors.signatures.iter().map(|(n, e)| (n.as_str(), e.as_str())).collect();
        assert_eq!(names, [("a\u{fffd}b", "c"), ("a", "b\u{fffd}c")]);
        assert_eq!(authors.signature, [0, 1]);
        drop(store);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
