//! Hotspots and change coupling over a window of history.
//!
//! A hotspot is a file that is both large and often changed: Adam
//! Tornhill's "Your Code as a Crime Scene" ranking, with lines of code as
//! the complexity proxy (score = changes × lines). Change coupling is Code
//! Maat's `coupling` analysis: files that keep changing in the same commits.
//!
//! The caller follows renames, filters files and maps people; inputs here
//! are plain paths and person indices. Hotspots name a file's main author
//! (who knows it), never rank people.

use std::collections::HashMap;

use serde::Serialize;

/// A file ranked by changes × lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hotspot {
    /// Path at the analysed commit.
    pub path: String,
    /// Changes in the window (commits that touched it).
    pub changes: usize,
    /// Current lines.
    pub lines: u64,
    /// `changes × lines` (saturating).
    pub score: u64,
    /// Distinct people who changed it in the window (bots and coding agents
    /// not counted).
    pub authors: usize,
    /// The person with most changes in the window (ties: lowest index);
    /// never a bot or a coding agent.
    pub main_author: Option<usize>,
}

/// Ranks the files of `sizes` changed in the window by `changes × lines`,
/// highest first, ties by path; at most `limit` rows. Each entry of
/// `changes_in_window` is one change of `path` by `person`; paths absent
/// from `sizes` (deleted, renamed away, filtered) are ignored, and so are
/// files of `sizes` with no change in the window. A path repeated in
/// `sizes` keeps its first size. Every change counts; only people for whom
/// `may_author` holds (not bots, not coding agents) count as its authors
/// and can be its main author.
pub fn hotspots(
    changes_in_window: &[(String, usize)],
    sizes: &[(String, u64)],
    limit: usize,
    may_author: &dyn Fn(usize) -> bool,
) -> Vec<Hotspot> {
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(sizes.len());
    for (i, (path, _)) in sizes.iter().enumerate() {
        index.entry(path.as_str()).or_insert(i);
    }
    // Per entry of `sizes`: (changes, per-person changes).
    let mut counts: Vec<(usize, Vec<(usize, usize)>)> = vec![(0, Vec::new()); sizes.len()];
    for (path, person) in changes_in_window {
        let Some(&i) = index.get(path.as_str()) else { continue };
        let (changes, people) = &mut counts[i];
        *changes += 1;
        if !may_author(*person) {
            continue;
        }
        match people.iter_mut().find(|(p, _)| p == person) {
            Some((_, n)) => *n += 1,
            None => people.push((*person, 1)),
        }
    }
    let mut ranked: Vec<Hotspot> = counts
        .into_iter()
        .zip(sizes)
        .filter(|((changes, _), _)| *changes > 0)
        .map(|((changes, people), (path, lines))| Hotspot {
            path: path.clone(),
            changes,
            lines: *lines,
            score: (changes as u64).saturating_mul(*lines),
            authors: people.len(),
            main_author: people.iter().max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0))).map(|(p, _)| *p),
        })
        .collect();
    ranked.sort_by(|a, b| b.score.cmp(&a.score).then_with(|| a.path.cmp(&b.path)));
    ranked.truncate(limit);
    ranked
}

/// Two files that change together.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coupling {
    /// One file (`a < b`).
    pub a: String,
    /// The other file.
    pub b: String,
    /// Commits that changed both.
    pub shared: usize,
    /// Commits that changed `a`.
    pub changes_a: usize,
    /// Commits that changed `b`.
    pub changes_b: usize,
    /// `shared / ((changes_a + changes_b) / 2)`, as Code Maat's degree of
    /// coupling: 1 when the files only ever change together.
    pub degree: f64,
}

/// Change coupling over the commits of a window, each given as the paths it
/// changed. Commits touching more than `max_changeset` files are left out
/// entirely, from both the shared and the per-file counts, as Code Maat's
/// `max-changeset-size`: mass refactors, formatting runs and licence-header
/// updates change everything together and say nothing about design (and
/// their pairs grow quadratically). Pairs shared by fewer than `min_shared`
/// commits (at least 1) are dropped. Sorted by degree, then shared commits,
/// highest first, then by names. A path listed twice in one commit counts
/// once.
///
/// Cost: one hash lookup per path and one per pair within each kept commit,
/// so bounded by `commits × max_changeset²`, independent of the number of
/// files.
pub fn coupling(commits_in_window: &[Vec<String>], min_shared: usize, max_changeset: usize) -> Vec<Coupling> {
    let mut id_of: HashMap<&str, u32> = HashMap::new();
    let mut names: Vec<&str> = Vec::new();
    let mut revisions: Vec<usize> = Vec::new();
    let mut pairs: HashMap<(u32, u32), usize> = HashMap::new();
    let mut paths: Vec<&str> = Vec::new();
    let mut ids: Vec<u32> = Vec::new();
    for commit in commits_in_window {
        paths.clear();
        paths.extend(commit.iter().map(String::as_str));
        paths.sort_unstable();
        paths.dedup();
        if paths.len() > max_changeset {
            continue;
        }
        ids.clear();
        for &path in &paths {
            let id = *id_of.entry(path).or_insert_with(|| {
                names.push(path);
                revisions.push(0);
                (names.len() - 1) as u32
            });
            revisions[id as usize] += 1;
            ids.push(id);
        }
        // Paths are sorted, so ids[i] names a smaller path than ids[j].
        for (i, &first) in ids.iter().enumerate() {
            for &second in &ids[i + 1..] {
                *pairs.entry((first, second)).or_default() += 1;
            }
        }
    }
    let min_shared = min_shared.max(1);
    let mut coupled: Vec<Coupling> = pairs
        .into_iter()
        .filter(|(_, shared)| *shared >= min_shared)
        .map(|((a, b), shared)| {
            let (changes_a, changes_b) = (revisions[a as usize], revisions[b as usize]);
            Coupling {
                a: names[a as usize].to_string(),
                b: names[b as usize].to_string(),
                shared,
                changes_a,
                changes_b,
                degree: 2.0 * shared as f64 / (changes_a + changes_b) as f64,
            }
        })
        .collect();
    coupled.sort_by(|x, y| {
        y.degree
            .total_cmp(&x.degree)
            .then(y.shared.cmp(&x.shared))
            .then_with(|| x.a.cmp(&y.a))
            .then_with(|| x.b.cmp(&y.b))
    });
    coupled
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changes(list: &[(&str, usize)]) -> Vec<(String, usize)> {
        list.iter().map(|(p, who)| (p.to_string(), *who)).collect()
    }
    fn sizes(list: &[(&str, u64)]) -> Vec<(String, u64)> {
        list.iter().map(|(p, n)| (p.to_string(), *n)).collect()
    }
    fn commits(list: &[&[&str]]) -> Vec<Vec<String>> {
        list.iter().map(|c| c.iter().map(|p| p.to_string()).collect()).collect()
    }

    #[test]
    fn hotspots_ranked_by_changes_times_lines() {
        let window = changes(&[
            ("a.rs", 1),
            ("a.rs", 2),
            ("a.rs", 2),
            ("b.rs", 0),
            ("b.rs", 0),
            ("c.rs", 3),
            ("gone.rs", 0),
            ("d.rs", 4),
            ("d.rs", 3),
        ]);
        let sizes = sizes(&[("a.rs", 100), ("b.rs", 150), ("c.rs", 300), ("d.rs", 150), ("quiet.rs", 9999)]);
        let ranked = hotspots(&window, &sizes, 10, &|_| true);
        // a 3×100 = 300, b 2×150 = 300, c 1×300 = 300, d 2×150 = 300: all
        // tie, by path. quiet.rs has no change, gone.rs no size.
        let rows: Vec<_> =
            ranked.iter().map(|h| (h.path.as_str(), h.changes, h.score, h.authors, h.main_author)).collect();
        assert_eq!(
            rows,
            vec![
                ("a.rs", 3, 300, 2, Some(2)),
                ("b.rs", 2, 300, 1, Some(0)),
                ("c.rs", 1, 300, 1, Some(3)),
                // 3 and 4 once each: lowest index.
                ("d.rs", 2, 300, 2, Some(3)),
            ]
        );
        let sizes = self::sizes(&[("a.rs", 100), ("b.rs", 151), ("c.rs", 1)]);
        let top: Vec<_> = hotspots(&window, &sizes, 2, &|_| true).into_iter().map(|h| (h.path, h.score)).collect();
        assert_eq!(top, vec![("b.rs".to_string(), 302), ("a.rs".to_string(), 300)]);
        assert!(hotspots(&[], &sizes, 10, &|_| true).is_empty());
        // Person 3 a coding agent: c.rs and d.rs still count its changes,
        // but it authors nothing: c.rs has no author, d.rs only person 4.
        let sizes = self::sizes(&[("c.rs", 300), ("d.rs", 150)]);
        let rows: Vec<_> = hotspots(&window, &sizes, 10, &|p| p != 3)
            .into_iter()
            .map(|h| (h.path, h.changes, h.authors, h.main_author))
            .collect();
        assert_eq!(rows, vec![("c.rs".to_string(), 1, 0, None), ("d.rs".to_string(), 2, 1, Some(4))]);
    }

    #[test]
    fn coupling_degrees() {
        let window = commits(&[
            &["a", "b"],
            &["b", "a"],
            &["a", "b", "c"],
            &["a"],
            &["c", "d"],
            &["c", "d", "d"],
            // A mass change: left out entirely.
            &["a", "b", "c", "d", "e"],
        ]);
        let pairs = coupling(&window, 1, 4);
        let rows: Vec<_> =
            pairs.iter().map(|c| (c.a.as_str(), c.b.as_str(), c.shared, c.changes_a, c.changes_b)).collect();
        // a 4, b 3, c 3, d 2. (c, d): 2 / 2.5 = 0.8; (a, b): 3 / 3.5 = 0.857;
        // (b, c): 1 / 3 = 0.333; (a, c): 1 / 3.5 = 0.286.
        assert_eq!(rows, vec![("a", "b", 3, 4, 3), ("c", "d", 2, 3, 2), ("b", "c", 1, 3, 3), ("a", "c", 1, 4, 3)]);
        assert!((pairs[0].degree - 3.0 / 3.5).abs() < 1e-12);
        assert!((pairs[1].degree - 0.8).abs() < 1e-12);
        let strong = coupling(&window, 2, 4);
        assert_eq!(strong.len(), 2);
        // Raising the cap lets the mass change in: (a, b) 4 of 4.5 and 4.
        let all = coupling(&window, 2, 5);
        assert_eq!((all[0].a.as_str(), all[0].shared, all[0].changes_a, all[0].changes_b), ("a", 4, 5, 4));
        assert!(coupling(&[], 1, 10).is_empty());
    }

    #[test]
    fn coupling_ties_by_shared_then_name() {
        // (x, y) and (p, q) both 1.0; (p, q) shares more.
        let window = commits(&[&["x", "y"], &["p", "q"], &["q", "p"]]);
        let names: Vec<_> = coupling(&window, 1, 10).into_iter().map(|c| (c.a, c.b)).collect();
        assert_eq!(names, vec![("p".into(), "q".into()), ("x".into(), "y".into())]);
        let window = commits(&[&["m", "n"], &["k", "l"]]);
        let names: Vec<_> = coupling(&window, 1, 10).into_iter().map(|c| c.a).collect();
        assert_eq!(names, vec!["k".to_string(), "m".to_string()]);
    }

    #[test]
    fn coupling_scales() {
        // 100k commits of up to 4 files among 20k files.
        let window: Vec<Vec<String>> = (0..100_000usize)
            .map(|i| (0..1 + i % 4).map(|k| format!("f{}", (i * 31 + k * 7) % 20_000)).collect())
            .collect();
        let pairs = coupling(&window, 2, 10);
        assert!(pairs.iter().all(|c| c.a < c.b && c.shared >= 2 && c.degree <= 1.0));
    }
}
