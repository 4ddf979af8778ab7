//! Knowledge and hotspot analysis: the stored history plus the tree of the
//! analysed commit, turned into the core's inputs (identities merged, bots
//! marked, files filtered), and the core's results turned into named rows.

use std::collections::HashMap;

use fulcrum_core::deployments::CommitGraph;
use fulcrum_core::file_filter::FileFilter;
use fulcrum_core::hotspots::{self, Coupling, Hotspot};
use fulcrum_core::knowledge::{self, ChangeKind, ChangeLog, FileChange, PathId};
use fulcrum_core::time::Window;
use serde::Serialize;

use crate::analyses::analysis::{AnalysisError, resolve_person};
use crate::config::Config;
use crate::sources::git::GitRepo;
use crate::store::{RepoState, Store, StoredCommit, position};

/// Input errors of knowledge analysis (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum KnowledgeError {
    /// `--at` names nothing stored.
    #[error("{path}: no commit or ref named `{rev}`; pass --at with a branch, tag or commit id of this repository")]
    UnknownRevision {
        /// Repository.
        path: String,
        /// What was asked for.
        rev: String,
    },
    /// A short id matches several commits.
    #[error("{path}: `{rev}` matches {count} commits; pass more characters of the commit id")]
    AmbiguousRevision {
        /// Repository.
        path: String,
        /// What was asked for.
        rev: String,
        /// Matches.
        count: usize,
    },
    /// `--leaving` names nobody in the history.
    #[error(
        "{path}: nobody named `{who}` authored commits here; pass --leaving with an e-mail (or name) from `git log`"
    )]
    UnknownPerson {
        /// Repository.
        path: String,
        /// What was asked for.
        who: String,
    },
    /// A glob in `knowledge.exclude` / `knowledge.include` is invalid.
    #[error("invalid glob in knowledge.exclude or knowledge.include: {0}")]
    Glob(String),
}

/// Knobs of `fulcrum knowledge`.
#[derive(Debug, Clone, Default)]
pub struct KnowledgeOptions {
    /// Commit, branch or tag to analyse (default `HEAD`).
    pub at: Option<String>,
    /// Per-directory truck factors at this depth.
    pub depth: Option<usize>,
    /// People whose departure to simulate (e-mails or names).
    pub leaving: Vec<String>,
    /// "Now", epoch seconds: inactivity is measured to it when the analysed
    /// commit is `HEAD`, else to the analysed commit's time.
    pub now: i64,
}

/// A person as reports show them.
#[derive(Debug, Clone, Serialize)]
pub struct PersonRow {
    /// Display name.
    pub name: String,
    /// Canonical e-mail.
    pub email: String,
}

/// Someone the truck factor rests on.
#[derive(Debug, Clone, Serialize)]
pub struct KeyPersonRow {
    /// Who.
    pub person: PersonRow,
    /// Files they author.
    pub files_authored: usize,
    /// Share of the analysed files they author.
    pub share: f64,
    /// Author time of their last commit in the history analysed.
    pub last_active: i64,
}

/// A file with exactly one author.
#[derive(Debug, Clone, Serialize)]
pub struct SingleAuthorRow {
    /// Path at the analysed commit.
    pub path: String,
    /// Its only author.
    pub author: PersonRow,
    /// Commits that created or changed it (renames followed).
    pub changes: u32,
}

/// Someone counted as gone: no commit for longer than `knowledge.inactive_after`.
#[derive(Debug, Clone, Serialize)]
pub struct GoneRow {
    /// Who.
    pub person: PersonRow,
    /// Author time of their last commit.
    pub last_active: i64,
    /// Files they author (before anyone is removed).
    pub files_authored: usize,
}

/// The truck factor of the people still active.
#[derive(Debug, Clone, Serialize)]
pub struct ActiveRow {
    /// `knowledge.inactive_after`, days.
    pub inactive_after_days: i64,
    /// Inactivity is measured to this time (now, or the analysed commit's).
    pub measured_to: i64,
    /// The truck factor once the inactive are gone.
    pub truck_factor: usize,
    /// The active people it rests on.
    pub key_people: Vec<KeyPersonRow>,
    /// Authors counted as gone, most files first.
    pub counted_as_gone: Vec<GoneRow>,
    /// Files whose every author is gone: already orphaned.
    pub orphaned_files: usize,
}

/// What coding agents (Claude, Copilot, Jules, Devin, Codex, …) changed:
/// code nobody on the team wrote. Agents are never authors.
#[derive(Debug, Clone, Serialize)]
pub struct AgentRow {
    /// File changes (additions, edits, renames) of analysed files made by
    /// an agent or co-authored by one.
    pub changes: usize,
    /// All file changes of analysed files (bots left out).
    pub total_changes: usize,
    /// `changes / total_changes`; 0 without changes.
    pub share: f64,
    /// The agents seen, as authors or co-authors.
    pub agents: Vec<PersonRow>,
}

/// Knowledge of one directory.
#[derive(Debug, Clone, Serialize)]
pub struct DirectoryRow {
    /// Directory (`.` for the root).
    pub directory: String,
    /// Files analysed in it.
    pub files: usize,
    /// Its truck factor.
    pub truck_factor: usize,
    /// Who it rests on.
    pub key_people: Vec<PersonRow>,
    /// Who authors most of its files.
    pub main_author: Option<PersonRow>,
    /// Number of people who author at least one of its files.
    pub authors: usize,
    /// `1 − Σ share²` over people's change counts.
    pub fragmentation: f64,
    /// Every authored file in it has the same single author.
    pub single_author: bool,
    /// Share of its file changes made or co-authored by coding agents.
    pub agent_share: f64,
    /// Files with at most one author (one departure from no author).
    pub files_at_risk: usize,
}

/// One file of the knowledge map.
#[derive(Debug, Clone, Serialize)]
pub struct FileRow {
    /// Path at the analysed commit.
    pub path: String,
    /// Main author (highest degree of authorship among authors).
    pub main_author: Option<PersonRow>,
    /// Everyone who counts as an author.
    pub authors: Vec<PersonRow>,
    /// `1 − Σ share²` over people's change counts.
    pub fragmentation: f64,
}

/// What is left without an author if some people leave.
#[derive(Debug, Clone, Serialize)]
pub struct DepartureRow {
    /// Who leaves.
    pub leaving: Vec<PersonRow>,
    /// Files left without any author.
    pub orphaned: usize,
    /// Files analysed.
    pub files: usize,
    /// `orphaned / files`.
    pub share: f64,
    /// The orphaned files.
    pub orphaned_files: Vec<String>,
    /// Top-level directories with orphaned files: (directory, orphaned, total).
    pub directories: Vec<(String, usize, usize)>,
    /// People inactive for longer than `knowledge.inactive_after`, counted
    /// as gone as well (they no longer cover a file).
    pub inactive_counted_as_gone: Vec<PersonRow>,
    /// Files orphaned by the inactive alone, before anyone leaves.
    pub orphaned_by_inactivity: usize,
}

/// The knowledge report.
#[derive(Debug, Clone, Serialize)]
pub struct KnowledgeReport {
    /// Repository path.
    pub repository: String,
    /// Commit analysed.
    pub commit: String,
    /// Files in the tree at that commit.
    pub files_in_tree: usize,
    /// Files analysed after the filter.
    pub files_analysed: usize,
    /// Files left out, per reason.
    pub files_excluded: Vec<(String, usize)>,
    /// Algorithm and conventions, in words.
    pub method: String,
    /// Truck factor of the whole repository, as published (everyone in the
    /// history counts, however long gone).
    pub truck_factor: usize,
    /// The people it rests on, in removal order.
    pub key_people: Vec<KeyPersonRow>,
    /// The truck factor of the people still active (`None` when
    /// `knowledge.inactive_after` is 0).
    pub active: Option<ActiveRow>,
    /// What coding agents changed.
    pub agents: AgentRow,
    /// Files with exactly one author, most changed first: the knowledge most
    /// at risk.
    pub single_author_files: Vec<SingleAuthorRow>,
    /// Files nobody counts as an author of (history cut, or no changes).
    pub files_without_author: usize,
    /// Per-directory knowledge (with `--by-directory`).
    pub directories: Option<Vec<DirectoryRow>>,
    /// Per-file knowledge map.
    pub files: Vec<FileRow>,
    /// Departure impact (with `--leaving`).
    pub departure: Option<DepartureRow>,
    /// Review-adjusted knowledge: needs pull-request data.
    pub review_knowledge: String,
    /// Things the reader should know.
    pub warnings: Vec<String>,
}

/// The knowledge summary the delivery report carries.
#[derive(Debug, Clone, Serialize)]
pub struct KnowledgeSection {
    /// Commit analysed.
    pub commit: String,
    /// Truck factor (as published).
    pub truck_factor: usize,
    /// Files analysed.
    pub files_analysed: usize,
    /// The people it rests on.
    pub key_people: Vec<KeyPersonRow>,
    /// Files with exactly one author.
    pub single_author_files: usize,
    /// The truck factor of the people still active.
    pub active: Option<ActiveRow>,
    /// Share of file changes made or co-authored by coding agents.
    pub agent_share: f64,
}

impl From<KnowledgeReport> for KnowledgeSection {
    fn from(k: KnowledgeReport) -> KnowledgeSection {
        KnowledgeSection {
            commit: k.commit,
            truck_factor: k.truck_factor,
            files_analysed: k.files_analysed,
            key_people: k.key_people,
            single_author_files: k.single_author_files.len(),
            active: k.active,
            agent_share: k.agents.share,
        }
    }
}

/// Hotspots and change coupling.
#[derive(Debug, Clone, Serialize)]
pub struct HotspotsReport {
    /// Repository path.
    pub repository: String,
    /// Commit whose tree gives sizes.
    pub commit: String,
    /// Window of the changes counted.
    pub window: Window,
    /// Files ranked by changes × lines.
    pub hotspots: Vec<HotspotRow>,
    /// Pairs of files that change together.
    pub coupling: Vec<Coupling>,
    /// Commits that touch more than this many files are left out of coupling.
    pub max_changeset: usize,
    /// Commits two files must share to be listed.
    pub min_shared: usize,
}

/// A hotspot with the main author named.
#[derive(Debug, Clone, Serialize)]
pub struct HotspotRow {
    /// Path at the analysed commit.
    pub path: String,
    /// Changes in the window (renames followed).
    pub changes: usize,
    /// Lines at the analysed commit.
    pub lines: u64,
    /// `changes × lines`.
    pub score: u64,
    /// People who changed it in the window (bots and coding agents not counted).
    pub authors: usize,
    /// Who changed it most in the window (never a bot or a coding agent).
    pub main_author: Option<PersonRow>,
}

/// The history of one repository, loaded once for both analyses.
struct History {
    people: Vec<PersonRow>,
    bots: Vec<bool>,
    /// Per person: a coding agent.
    agents: Vec<bool>,
    /// Per person: author time of their last commit.
    last_active: Vec<i64>,
    /// Agents seen only as co-authors (they are not in `people`).
    coauthor_agents: Vec<PersonRow>,
    /// Committer time of the analysed commit.
    commit_time: i64,
    /// Commits that are ancestors of the analysed commit, oldest first, merges left out.
    commits: ChangeLog,
    /// Commit time of each entry of `commits`.
    times: Vec<i64>,
    /// Per path: its changes other than deletions by people other than
    /// bots, and how many of them were made by or with a coding agent.
    path_changes: Vec<(u32, u32)>,
    /// Agents (people) and the paths they changed (not deleted), once each.
    agent_paths: Vec<(usize, knowledge::PathId)>,
    /// The analysed commit.
    commit: String,
}

/// Computes the knowledge report.
pub fn knowledge(
    store: &Store,
    repo: &GitRepo,
    key: &str,
    config: &Config,
    options: &KnowledgeOptions,
) -> anyhow::Result<KnowledgeReport> {
    let state = synced_state(store, key)?;
    let history = load_history(store, &state, key, config, options.at.as_deref())?;
    let filter = FileFilter::new(&config.knowledge_exclude, &config.knowledge_include)
        .map_err(|e| KnowledgeError::Glob(e.to_string()))?
        .require_language(config.require_language);
    let tree = repo.tree_files(&history.commit)?;
    let mut excluded: HashMap<String, usize> = HashMap::new();
    let files: Vec<String> = tree
        .iter()
        .filter_map(|(path, _)| match filter.classify(path) {
            Some(reason) => {
                *excluded.entry(reason.as_str().to_owned()).or_default() += 1;
                None
            }
            None => Some(path.clone()),
        })
        .collect();
    let replay = std::time::Instant::now();
    let mut authorship = knowledge::authorship(&history.commits, &files);
    if std::env::var_os("FULCRUM_TIMING").is_some() {
        eprintln!("knowledge: replayed in {:.3} s", replay.elapsed().as_secs_f64());
    }
    // Bots and coding agents take part in the replay (their changes shape
    // the files) but are nobody's knowledge: they are never authors.
    for file in &mut authorship {
        file.authors.retain(|&p| !history.bots[p] && !history.agents[p]);
    }
    let tf = knowledge::truck_factor(&authorship);
    let person = |p: usize| history.people[p].clone();
    let key_row = |k: &knowledge::KeyPerson| KeyPersonRow {
        person: person(k.person),
        files_authored: k.files_authored,
        share: k.share,
        last_active: history.last_active[k.person],
    };
    // Who is gone: no commit for longer than `knowledge.inactive_after`.
    let measured_to = match options.at.as_deref() {
        None | Some("HEAD") => options.now.max(history.commit_time),
        Some(_) => history.commit_time,
    };
    let inactive: Vec<usize> = match config.inactive_after {
        Some(after) => (0..history.people.len())
            .filter(|&p| !history.bots[p] && !history.agents[p] && history.last_active[p] < measured_to - after)
            .collect(),
        None => Vec::new(),
    };
    let mut is_inactive = vec![false; history.people.len()];
    for &p in &inactive {
        is_inactive[p] = true;
    }
    // Per person, the files they author (one pass, not one per person).
    let mut authored = vec![0usize; history.people.len()];
    for file in &authorship {
        for &p in &file.authors {
            authored[p] += 1;
        }
    }
    let active = config.inactive_after.map(|after| {
        let mut remaining = authorship.clone();
        for file in &mut remaining {
            file.authors.retain(|&p| !is_inactive[p]);
        }
        let active_tf = knowledge::truck_factor(&remaining);
        let mut gone: Vec<GoneRow> = inactive
            .iter()
            .map(|&p| GoneRow { person: person(p), last_active: history.last_active[p], files_authored: authored[p] })
            .filter(|g| g.files_authored > 0)
            .collect();
        gone.sort_by(|a, b| b.files_authored.cmp(&a.files_authored).then(a.last_active.cmp(&b.last_active)));
        ActiveRow {
            inactive_after_days: after / 86_400,
            measured_to,
            truck_factor: active_tf.value,
            key_people: active_tf.removed.iter().map(key_row).collect(),
            counted_as_gone: gone,
            orphaned_files: knowledge::departure(&authorship, &inactive).orphaned,
        }
    });
    // Each path classified once: a long history changes the same files over
    // and over (1,200,000 commits, some 60,000 paths).
    let kept: Vec<bool> = (0..history.commits.path_count())
        .map(|p| history.path_changes[p] != (0, 0) && filter.classify(history.commits.name(p as u32)).is_none())
        .collect();
    let agents = agent_share(&history, &kept, None);
    let mut warnings = Vec::new();
    if files.is_empty() {
        warnings.push(format!(
            "no files to analyse: all {} files at {} are left out by the file filter; adjust knowledge.include",
            tree.len(),
            &history.commit[..10.min(history.commit.len())]
        ));
    }
    if state.shallow {
        warnings.push("shallow clone: files created before the cut have no known creator".to_owned());
    }
    let directories = options.depth.map(|depth| {
        let depth = depth.max(1);
        let dirs = knowledge::by_directory(&authorship, depth);
        let at_risk = |directory: &str| {
            authorship
                .iter()
                .filter(|f| f.authors.len() <= 1 && knowledge::directory_of(&f.path, depth) == directory)
                .count()
        };
        let mut dirs: Vec<(usize, knowledge::DirectoryKnowledge)> =
            dirs.into_iter().map(|d| (at_risk(&d.directory), d)).collect();
        // Riskiest first: the most files one departure (or none) from no
        // author, then the lowest truck factor, then the name.
        dirs.sort_by(|(ra, a), (rb, b)| {
            rb.cmp(ra).then(a.truck_factor.cmp(&b.truck_factor)).then(a.directory.cmp(&b.directory))
        });
        dirs.into_iter()
            .map(|(files_at_risk, d)| DirectoryRow {
                files_at_risk,
                agent_share: agent_share(&history, &kept, Some((&d.directory, depth))).share,
                directory: d.directory,
                files: d.files,
                truck_factor: d.truck_factor,
                key_people: d.key_people.iter().map(|&p| person(p)).collect(),
                main_author: d.main_author.map(person),
                authors: d.authors.len(),
                fragmentation: d.fragmentation,
                single_author: d.single_author,
            })
            .collect()
    });
    let departure = if options.leaving.is_empty() {
        None
    } else {
        let mut leaving = Vec::new();
        let mailmap = state.mailmap.as_deref().map(|text| gix::mailmap::Snapshot::from_bytes(text.as_bytes()));
        for who in &options.leaving {
            let needle = who.trim().to_lowercase();
            if needle.is_empty() {
                return Err(KnowledgeError::UnknownPerson { path: key.to_owned(), who: who.clone() }.into());
            }
            // An e-mail goes through the same merging as the history's: .mailmap, then aliases.
            let merged = canonical_email(mailmap.as_ref(), &config.aliases, "", &needle);
            let found: Vec<usize> = (0..history.people.len())
                .filter(|&p| {
                    let person = &history.people[p];
                    (!person.email.is_empty() && (person.email == needle || person.email == merged))
                        || person.name.to_lowercase() == needle
                })
                .collect();
            if found.is_empty() {
                return Err(KnowledgeError::UnknownPerson { path: key.to_owned(), who: who.clone() }.into());
            }
            leaving.extend(found);
        }
        leaving.sort_unstable();
        leaving.dedup();
        // The inactive no longer cover a file: they are gone as well.
        let mut gone = leaving.clone();
        gone.extend(inactive.iter().filter(|p| !leaving.contains(p)));
        let d = knowledge::departure(&authorship, &gone);
        Some(DepartureRow {
            leaving: leaving.iter().map(|&p| person(p)).collect(),
            orphaned: d.orphaned,
            files: d.files,
            share: d.share,
            orphaned_files: d.orphaned_files,
            directories: d.directories,
            inactive_counted_as_gone: inactive
                .iter()
                .filter(|&&p| !leaving.contains(&p) && authored[p] > 0)
                .map(|&p| person(p))
                .collect(),
            orphaned_by_inactivity: knowledge::departure(&authorship, &inactive).orphaned,
        })
    };
    let map = knowledge::knowledge_map(&authorship);
    let mut excluded: Vec<(String, usize)> = excluded.into_iter().collect();
    excluded.sort();
    Ok(KnowledgeReport {
        repository: key.to_owned(),
        commit: history.commit.clone(),
        files_in_tree: tree.len(),
        files_analysed: files.len(),
        files_excluded: excluded,
        method: "Avelino et al. 2016 (ICPC), as published: DOA = 3.293 + 1.098·FA + 0.164·DL − 0.321·ln(1 + AC); \
                 author when DOA/max > 0.75 and DOA ≥ 3.293; greedy removal until under 50% of files have an author; \
                 renames followed, merges and deleted files ignored, identities merged (mailmap, e-mail, aliases), bots and \
                 coding agents never authors"
            .to_owned(),
        truck_factor: tf.value,
        key_people: tf.removed.iter().map(key_row).collect(),
        active,
        agents,
        single_author_files: {
            let mut rows: Vec<SingleAuthorRow> = authorship
                .iter()
                .filter(|f| f.authors.len() == 1)
                .map(|f| SingleAuthorRow {
                    path: f.path.clone(),
                    author: person(f.authors[0]),
                    changes: f.changes.iter().map(|(_, n)| n).sum::<u32>() + u32::from(f.creator.is_some()),
                })
                .collect();
            rows.sort_by(|a, b| b.changes.cmp(&a.changes).then_with(|| a.path.cmp(&b.path)));
            rows
        },
        files_without_author: tf.files_without_author,
        directories,
        files: map
            .into_iter()
            .map(|row| FileRow {
                path: row.path,
                main_author: row.main_author.map(person),
                authors: row.authors.iter().map(|&p| person(p)).collect(),
                fragmentation: row.fragmentation,
            })
            .collect(),
        departure,
        review_knowledge: "not shown: the store holds no pull-request reviews for this repository".to_owned(),
        warnings,
    })
}

/// Computes hotspots and change coupling over `window`.
pub fn hotspots(
    store: &Store,
    repo: &GitRepo,
    key: &str,
    config: &Config,
    window: Window,
) -> anyhow::Result<HotspotsReport> {
    let state = synced_state(store, key)?;
    let history = load_history(store, &state, key, config, None)?;
    let filter = FileFilter::new(&config.knowledge_exclude, &config.knowledge_include)
        .map_err(|e| KnowledgeError::Glob(e.to_string()))?
        .require_language(config.require_language);
    let tree = repo.tree_files(&history.commit)?;
    let present: HashMap<&str, &gix::ObjectId> = tree.iter().map(|(p, id)| (p.as_str(), id)).collect();
    // Replay renames so that changes made under an older name count for the
    // file's name at the analysed commit.
    const NONE: usize = usize::MAX;
    let names = &history.commits;
    let mut slot_of: Vec<usize> = vec![NONE; names.path_count()];
    let mut slot_path: Vec<knowledge::PathId> = Vec::new();
    let mut touched: Vec<(usize, usize)> = Vec::new(); // (slot, person) in window
    let mut per_commit: Vec<Vec<usize>> = Vec::new();
    for ((author, changes), &time) in history.commits.iter().zip(&history.times) {
        let in_window = window.contains(time) && !history.bots[author];
        let mut slots = Vec::new();
        for change in changes {
            let path = change.path as usize;
            let mut new_slot = || {
                slot_path.push(change.path);
                slot_path.len() - 1
            };
            let slot = match change.kind {
                ChangeKind::Renamed { from } => match std::mem::replace(&mut slot_of[from as usize], NONE) {
                    NONE => new_slot(),
                    slot => slot,
                },
                ChangeKind::Added => new_slot(),
                ChangeKind::Modified => match slot_of[path] {
                    NONE => new_slot(),
                    slot => slot,
                },
                ChangeKind::Deleted => {
                    slot_of[path] = NONE;
                    continue;
                }
            };
            slot_of[path] = slot;
            slot_path[slot] = change.path;
            if in_window {
                touched.push((slot, author));
                slots.push(slot);
            }
        }
        if in_window && !slots.is_empty() {
            per_commit.push(slots);
        }
    }
    let name = |slot: usize| names.name(slot_path[slot]);
    let keep = |slot: usize| {
        let path = slot_path[slot];
        slot_of[path as usize] == slot && present.contains_key(name(slot)) && filter.classify(name(slot)).is_none()
    };
    // A file changed once in the window is no hotspot, however large.
    let mut per_slot: HashMap<usize, usize> = HashMap::new();
    for (slot, _) in &touched {
        *per_slot.entry(*slot).or_default() += 1;
    }
    let changes: Vec<(String, usize)> =
        touched.iter().filter(|(s, _)| keep(*s) && per_slot[s] >= 2).map(|(s, p)| (name(*s).to_owned(), *p)).collect();
    let mut sizes: HashMap<&str, u64> = HashMap::new();
    for (path, _) in &changes {
        if !sizes.contains_key(path.as_str()) {
            let lines = present.get(path.as_str()).and_then(|id| repo.blob_lines(id)).unwrap_or(0);
            sizes.insert(path.as_str(), u64::from(lines));
        }
    }
    let sizes: Vec<(String, u64)> = sizes.into_iter().map(|(p, l)| (p.to_owned(), l)).collect();
    let may_author = |p: usize| !history.bots[p] && !history.agents[p];
    let ranked = hotspots::hotspots(&changes, &sizes, config.hotspots_limit, &may_author);
    let commits: Vec<Vec<String>> = per_commit
        .iter()
        .map(|slots| slots.iter().filter(|&&s| keep(s)).map(|&s| name(s).to_owned()).collect::<Vec<_>>())
        .filter(|paths| !paths.is_empty())
        .collect();
    let mut coupling = hotspots::coupling(&commits, config.min_shared, config.max_changeset);
    coupling.truncate(config.hotspots_limit);
    Ok(HotspotsReport {
        repository: key.to_owned(),
        commit: history.commit.clone(),
        window,
        hotspots: ranked
            .into_iter()
            .map(|h: Hotspot| HotspotRow {
                main_author: h.main_author.map(|p| history.people[p].clone()),
                path: h.path,
                changes: h.changes,
                lines: h.lines,
                score: h.score,
                authors: h.authors,
            })
            .collect(),
        coupling,
        max_changeset: config.max_changeset,
        min_shared: config.min_shared,
    })
}

/// File changes (additions, edits, renames) by or with coding agents, of
/// files the filter keeps (`kept`, per path), over all such changes (bots
/// left out); within `directory` (name, depth) when given.
fn agent_share(history: &History, kept: &[bool], directory: Option<(&str, usize)>) -> AgentRow {
    let names = &history.commits;
    let counts = |path: usize| {
        kept[path] && directory.is_none_or(|(d, depth)| knowledge::directory_of(names.name(path as u32), depth) == d)
    };
    let (mut changes, mut total) = (0, 0);
    for (path, &(all, by_agent)) in history.path_changes.iter().enumerate() {
        if (all, by_agent) != (0, 0) && counts(path) {
            total += all as usize;
            changes += by_agent as usize;
        }
    }
    let mut seen = vec![false; history.people.len()];
    for &(person, path) in &history.agent_paths {
        if counts(path as usize) {
            seen[person] = true;
        }
    }
    let mut agents: Vec<PersonRow> = (0..history.people.len())
        .filter(|&p| seen[p] && history.agents[p])
        .map(|p| history.people[p].clone())
        .collect();
    if changes > 0 {
        agents.extend(history.coauthor_agents.iter().cloned());
    }
    // One row per agent: its e-mail (`noreply@anthropic.com`) across the
    // names its versions sign with (`Claude Opus 4.8`, `Claude Sonnet 5`).
    agents.sort_by(|a, b| (&a.email, a.name.len(), &a.name).cmp(&(&b.email, b.name.len(), &b.name)));
    agents.dedup_by(|a, b| if a.email.is_empty() { a.name == b.name } else { a.email == b.email });
    AgentRow {
        changes,
        total_changes: total,
        share: if total == 0 { 0.0 } else { changes as f64 / total as f64 },
        agents,
    }
}

fn synced_state(store: &Store, key: &str) -> anyhow::Result<RepoState> {
    Ok(store
        .find_repo(key)?
        .filter(|s| s.last_sync_at.is_some())
        .ok_or_else(|| AnalysisError::NotSynced { path: key.to_owned(), db: store.path().display().to_string() })?)
}

/// Loads the history up to `at` (default `HEAD`) in topological order.
fn load_history(
    store: &Store,
    state: &RepoState,
    key: &str,
    config: &Config,
    at: Option<&str>,
) -> anyhow::Result<History> {
    let started = std::time::Instant::now();
    // The graph and authors, and the file changes, are read side by side
    // on two connections (WAL lets SQLite readers run together); in turn
    // when a second connection cannot be had.
    let (skeleton, changes) = match store.reader() {
        Ok(reader) => std::thread::scope(|scope| {
            let changes = scope.spawn(move || timed(|| read_changes(&reader, state.id)));
            (timed(|| Skeleton::load(store, state)), changes.join().expect("reading file changes does not panic"))
        }),
        Err(_) => (timed(|| Skeleton::load(store, state)), timed(|| read_changes(store, state.id))),
    };
    let ((skeleton, skeleton_read), ((mut commits, changes), changes_alone)) = (skeleton?, changes?);
    let changes_read = started.elapsed();
    let target = resolve(state, key, at.unwrap_or("HEAD"), &|prefix| skeleton.with_prefix(store, state.id, prefix))?;
    let Some(tip) = skeleton.index_of(store, state.id, &target)? else {
        return Err(
            KnowledgeError::UnknownRevision { path: key.to_owned(), rev: at.unwrap_or("HEAD").to_owned() }.into()
        );
    };
    let order = topological_ancestors(&skeleton.graph, tip);
    // Each change with its commit's index, then grouped by commit (a
    // stable sort: the store's order within a commit is kept, and rows
    // mostly come in commit order already).
    let rows = &skeleton.rows;
    // In place: the commit's row id becomes its index (no second vector of
    // millions of changes).
    let mut read = changes;
    read.retain_mut(|(commit, _)| match position(rows, *commit) {
        Some(index) => {
            *commit = index as i64;
            true
        }
        None => false,
    });
    read.sort_by_key(|&(index, _)| index);
    // Where each commit's changes start in `read`.
    let mut starts = vec![0u32; skeleton.rows.len() + 1];
    for &(index, _) in &read {
        starts[index as usize + 1] += 1;
    }
    for i in 1..starts.len() {
        starts[i] += starts[i - 1];
    }
    let changes_of = |i: usize| read[starts[i] as usize..starts[i + 1] as usize].iter().map(|&(_, c)| c);
    let mailmap = state.mailmap.as_deref().map(|text| gix::mailmap::Snapshot::from_bytes(text.as_bytes()));
    // Commits co-authored by a coding agent (`Co-authored-by: Claude <noreply@anthropic.com>`).
    let mut agent_coauthored: std::collections::HashSet<i64> = std::collections::HashSet::new();
    let mut coauthor_agents: Vec<PersonRow> = Vec::new();
    for (commit, value) in store.load_coauthors(state.id)? {
        let (name, email) = match value.split_once('<') {
            Some((name, rest)) => (name.trim(), rest.trim_end_matches('>').trim()),
            None => (value.trim(), ""),
        };
        if config.is_agent(name, email) {
            agent_coauthored.insert(commit);
            let row = PersonRow { name: name.to_owned(), email: email.to_lowercase() };
            if !coauthor_agents.iter().any(|a| a.email == row.email && a.name == row.name) {
                coauthor_agents.push(row);
            }
        }
    }
    let mut people: Vec<PersonRow> = Vec::new();
    let mut bots: Vec<bool> = Vec::new();
    let mut agents: Vec<bool> = Vec::new();
    let mut last_active: Vec<i64> = Vec::new();
    let mut by_key: HashMap<String, usize> = HashMap::new();
    let mut times = Vec::with_capacity(order.len());
    let mut path_changes = vec![(0u32, 0u32); commits.path_count()];
    let mut agent_paths = Vec::new();
    // Each signature resolved once (`.mailmap`, aliases), not once per commit.
    let mut author_of: Vec<Option<usize>> = vec![None; skeleton.signatures.len()];
    for i in order {
        if skeleton.parent_count[i] > 1 {
            continue;
        }
        let signature = skeleton.signature[i] as usize;
        let author = match author_of[signature] {
            Some(author) => author,
            None => {
                let (name, email) = &skeleton.signatures[signature];
                let resolved = resolve_person(mailmap.as_ref(), name, email);
                let email = canonical_email(None, &config.aliases, &resolved.name, &resolved.email);
                let identity =
                    if email.is_empty() { format!("name:{}", resolved.name.to_lowercase()) } else { email.clone() };
                let author = *by_key.entry(identity).or_insert_with(|| {
                    bots.push(config.is_bot(&resolved.name, &email));
                    agents.push(config.is_agent(&resolved.name, &email));
                    last_active.push(i64::MIN);
                    people.push(PersonRow { name: resolved.name.clone(), email: email.clone() });
                    people.len() - 1
                });
                author_of[signature] = Some(author);
                author
            }
        };
        last_active[author] = last_active[author].max(skeleton.author_times[i]);
        let row = skeleton.rows[i];
        let with_agent = agents[author] || agent_coauthored.contains(&row);
        // Bots are nobody's knowledge: their edits neither count for them
        // nor against others (AC, fragmentation). Their additions,
        // deletions and renames still shape which file is which.
        let bot = bots[author];
        if !bot {
            for change in changes_of(i).filter(|c| !matches!(c.kind, ChangeKind::Deleted)) {
                let counts = &mut path_changes[change.path as usize];
                counts.0 += 1;
                counts.1 += u32::from(with_agent);
                if agents[author] {
                    agent_paths.push((author, change.path));
                }
            }
        }
        commits.push(author, changes_of(i).filter(|c| !(bot && matches!(c.kind, ChangeKind::Modified))));
        times.push(skeleton.committer_times[i]);
    }
    agent_paths.sort_unstable();
    agent_paths.dedup();
    let commit_time = skeleton.committer_times[tip];
    if std::env::var_os("FULCRUM_TIMING").is_some() {
        eprintln!(
            "history: graph, authors and the changes of {} commits ({} paths) read in {:.3} s \
             (graph and authors {:.3} s, changes {:.3} s), ordered in {:.3} s",
            commits.len(),
            commits.path_count(),
            changes_read.as_secs_f64(),
            skeleton_read.as_secs_f64(),
            changes_alone.as_secs_f64(),
            (started.elapsed() - changes_read).as_secs_f64()
        );
    }
    Ok(History {
        people,
        bots,
        agents,
        last_active,
        coauthor_agents,
        commit_time,
        commits,
        times,
        path_changes,
        agent_paths,
        commit: target,
    })
}

/// The e-mail identities merge under: `.mailmap` (when given), lower-cased,
/// then the configured aliases.
fn canonical_email(
    mailmap: Option<&gix::mailmap::Snapshot>,
    aliases: &std::collections::BTreeMap<String, String>,
    name: &str,
    email: &str,
) -> String {
    let email = resolve_person(mailmap, name, email).email;
    aliases.get(&email).cloned().unwrap_or(email)
}

/// `HEAD`, a ref name (full or short), or a commit id (full or a unique prefix).
fn resolve(
    state: &RepoState,
    key: &str,
    rev: &str,
    with_prefix: &dyn Fn(&str) -> anyhow::Result<Vec<String>>,
) -> anyhow::Result<String> {
    let unknown = || KnowledgeError::UnknownRevision { path: key.to_owned(), rev: rev.to_owned() };
    if rev == "HEAD" {
        let head =
            state.refs.iter().find(|r| r.name == "HEAD").or_else(|| {
                state.head_branch.as_deref().and_then(|branch| state.refs.iter().find(|r| r.name == branch))
            });
        if let Some(r) = head {
            return Ok(r.commit.clone());
        }
    }
    for candidate in
        [rev.to_owned(), format!("refs/heads/{rev}"), format!("refs/tags/{rev}"), format!("refs/remotes/{rev}")]
    {
        if let Some(r) = state.refs.iter().find(|r| r.name == candidate) {
            return Ok(r.commit.clone());
        }
    }
    let prefix = rev.to_lowercase();
    if prefix.len() >= 4 && prefix.chars().all(|c| c.is_ascii_hexdigit()) {
        let matches = with_prefix(&prefix)?;
        return match matches.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(unknown().into()),
            many => {
                Err(KnowledgeError::AmbiguousRevision { path: key.to_owned(), rev: rev.to_owned(), count: many.len() }
                    .into())
            }
        };
    }
    Err(unknown().into())
}

/// What `read` returns, and how long it took.
fn timed<T>(read: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<(T, std::time::Duration)> {
    let started = std::time::Instant::now();
    read().map(|value| (value, started.elapsed()))
}

/// Every file change of the repository: its commit's row id and the
/// change, paths interned into the returned log (which holds no commits
/// yet).
fn read_changes(store: &Store, repo_id: i64) -> anyhow::Result<(ChangeLog, Vec<(i64, FileChange)>)> {
    let mut paths = ChangeLog::default();
    // The store's path ids, ascending, and the log's id of each.
    let mut stored: Vec<i64> = Vec::new();
    let mut local: Vec<PathId> = Vec::new();
    store.each_path(repo_id, |id, path| {
        stored.push(id);
        local.push(paths.intern(path));
    })?;
    let path = |id: i64| position(&stored, id).map(|at| local[at]);
    let mut changes = Vec::new();
    store.each_file_change(repo_id, |commit, path_id, old_path, kind| {
        // Every change names a stored path (a foreign key); one that did not
        // could not be attributed to a file, and is left out.
        let Some(id) = path(path_id) else { return };
        let kind = match (kind, old_path.and_then(path)) {
            (b'A', _) => ChangeKind::Added,
            (b'D', _) => ChangeKind::Deleted,
            (b'R', Some(from)) => ChangeKind::Renamed { from },
            _ => ChangeKind::Modified,
        };
        changes.push((commit, FileChange { path: id, kind }));
    })?;
    Ok((paths, changes))
}

/// Ancestors of `tip` (inclusive), parents before children.
fn topological_ancestors(graph: &CommitGraph, tip: usize) -> Vec<usize> {
    let mut order = Vec::new();
    let mut state = vec![0u8; graph.len()]; // 0 new, 1 on stack, 2 done
    let mut stack = vec![(tip, 0usize)];
    state[tip] = 1;
    while let Some((node, next)) = stack.pop() {
        let parents = graph.parents(node);
        if next < parents.len() {
            stack.push((node, next + 1));
            let parent = parents[next];
            if state[parent] == 0 {
                state[parent] = 1;
                stack.push((parent, 0));
            }
        } else {
            state[node] = 2;
            order.push(node);
        }
    }
    order
}

/// What knowledge needs of every commit: the graph, who wrote it and when.
/// Read from the graph by row id and the authors alone when the graph is
/// complete (and `FULCRUM_FULL_HISTORY` is not set); else from every
/// stored commit.
struct Skeleton {
    rows: Vec<i64>,
    graph: CommitGraph,
    /// Parents recorded (a merge has more than one), stored or not.
    parent_count: Vec<usize>,
    signatures: Vec<(String, String)>,
    signature: Vec<u32>,
    author_times: Vec<i64>,
    committer_times: Vec<i64>,
    /// Commit ids, only when read from every stored commit.
    shas: Option<Vec<String>>,
}

impl Skeleton {
    fn load(store: &Store, state: &RepoState) -> anyhow::Result<Skeleton> {
        let graph = if std::env::var_os("FULCRUM_FULL_HISTORY").is_none() {
            store.load_graph_with_authors(state.id)?
        } else {
            None
        };
        if let Some((graph, authors)) = graph {
            let parents = |i: usize| &graph.parents[graph.parent_start[i]..graph.parent_start[i + 1]];
            let core = CommitGraph::from_parents(
                (0..graph.rows.len()).map(|i| parents(i).iter().filter_map(|&p| graph.index_of(p))),
            );
            return Ok(Skeleton {
                parent_count: (0..graph.rows.len()).map(|i| parents(i).len()).collect(),
                graph: core,
                rows: graph.rows,
                signatures: authors.signatures,
                signature: authors.signature,
                author_times: authors.author_times,
                committer_times: graph.committer_times,
                shas: None,
            });
        }
        let commits: Vec<StoredCommit> = store.load_commits(state.id)?;
        let index: fulcrum_core::model::IdMap<&str, usize> =
            commits.iter().enumerate().map(|(i, c)| (c.sha.as_str(), i)).collect();
        let graph = CommitGraph::from_parents(
            commits.iter().map(|c| c.parents.iter().filter_map(|p| index.get(p.as_str()).copied())),
        );
        let mut known: HashMap<(&str, &str), u32> = HashMap::new();
        let mut signatures = Vec::new();
        let signature = commits
            .iter()
            .map(|c| {
                *known.entry((c.author_name.as_str(), c.author_email.as_str())).or_insert_with(|| {
                    signatures.push((c.author_name.clone(), c.author_email.clone()));
                    (signatures.len() - 1) as u32
                })
            })
            .collect();
        Ok(Skeleton {
            rows: commits.iter().map(|c| c.row_id).collect(),
            parent_count: commits.iter().map(|c| c.parents.len()).collect(),
            graph,
            signature,
            signatures,
            author_times: commits.iter().map(|c| c.author_time).collect(),
            committer_times: commits.iter().map(|c| c.committer_time).collect(),
            shas: Some(commits.iter().map(|c| c.sha.clone()).collect()),
        })
    }

    /// Ids of stored commits starting with `prefix`.
    fn with_prefix(&self, store: &Store, repo_id: i64, prefix: &str) -> anyhow::Result<Vec<String>> {
        Ok(match &self.shas {
            Some(shas) => shas.iter().filter(|s| s.starts_with(prefix)).cloned().collect(),
            None => store.commits_with_prefix(repo_id, prefix)?,
        })
    }

    /// The index of commit `sha`, if stored.
    fn index_of(&self, store: &Store, repo_id: i64, sha: &str) -> anyhow::Result<Option<usize>> {
        Ok(match &self.shas {
            Some(shas) => shas.iter().position(|s| s == sha),
            None => store.commit_rows(repo_id, &[sha])?.get(sha).and_then(|row| self.rows.binary_search(row).ok()),
        })
    }
}
