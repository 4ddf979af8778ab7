//! Sync: reads what is new in a git repository and stores it. Incremental
//! (only commits not yet stored are read), idempotent (deterministic keys,
//! `ON CONFLICT DO NOTHING`), and resumable (an interrupted sync leaves
//! stored commits whose parents are missing; the next sync walks from them).

use std::time::Instant;

use anyhow::Context as _;

use crate::progress::Progress;
use crate::sources::git::{CommitRecord, GitError, GitRepo, Read};
use crate::store::{Imported, Store, SyncFinish};

/// Knobs of a sync.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Threads that diff commits.
    pub threads: usize,
    /// Commits per database transaction (a transaction also ends at
    /// [`BATCH_FILES`] file changes).
    pub batch_size: usize,
    /// Pause after each stored batch (lets the crash test kill a sync midway).
    pub batch_delay_ms: u64,
}

impl Default for SyncOptions {
    fn default() -> SyncOptions {
        SyncOptions {
            threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            batch_size: BATCH_COMMITS,
            batch_delay_ms: 0,
        }
    }
}

/// Commits stored in one transaction by default. Each transaction writes
/// every page it touched to the write-ahead log again, and the `(repo_id,
/// sha)` index takes its keys at random places: at 1,000 commits a batch,
/// 600,000 generated commits wrote most of that index's 7,400 pages in each
/// of 600 transactions. 8,000 took their sync from 31.2-31.8 s to 29.0-29.6 s
/// (`fulcrum sync --batch-size N`, runs alternating).
pub const BATCH_COMMITS: usize = 8000;

/// File changes after which a transaction ends whatever its commits: a
/// batch of commits that each touch thousands of files stays a few tens
/// of megabytes in memory.
pub const BATCH_FILES: usize = 100_000;

/// What a sync did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SyncSummary {
    /// Nothing had changed since the last finished sync.
    pub up_to_date: bool,
    /// Commits read and stored by this sync.
    pub new_commits: usize,
    /// Commits deleted because history was rewritten.
    pub pruned_commits: usize,
    /// Blobs that could not be read in this sync.
    pub missing_blobs: u64,
    /// The previous sync had been interrupted and this one resumed it.
    pub resumed: bool,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// Compacts the database after a large import, when
/// [`Store::should_compact`] says so. What was imported is stored either
/// way: a database left as it was is slower to read, not wrong, so a
/// failure is a warning.
pub(crate) fn compact_after(store: &Store, imported: Imported) {
    let compacted = store.should_compact(imported).and_then(|compact| {
        if compact {
            let mut progress = Progress::new("compacting the database");
            progress.start("compacting the database", None);
            let done = store.compact();
            progress.finish();
            done?;
        }
        Ok(())
    });
    if let Err(e) = compacted {
        eprintln!("warning: the database was not compacted after the import ({e}); it stays as it was");
    }
}

/// Syncs `repo` into `store` under `key` (the canonical repository path).
pub fn sync(
    store: &mut Store,
    repo: &GitRepo,
    key: &str,
    name: &str,
    now: i64,
    options: &SyncOptions,
) -> anyhow::Result<SyncSummary> {
    let started = Instant::now();
    let _lock = store.lock_for_sync(key)?;
    let state = store.repo_state(key, name)?;
    let refs = repo.refs()?;
    if refs.is_empty() {
        return Err(GitError::Empty { path: repo.path().to_owned() }.into());
    }
    let mut summary = SyncSummary::default();
    let head_branch = repo.head_branch();
    let mailmap = repo.mailmap_text();
    let shallow = repo.is_shallow();
    // History that was cut (shallow) and is no longer: its missing parents are now there to read.
    let unshallowed = state.shallow && !shallow;
    let finish = |prune| SyncFinish {
        refs: &refs,
        head_branch: head_branch.as_deref(),
        shallow,
        mailmap: mailmap.as_deref(),
        now,
        prune,
    };
    if state.sync_complete && state.refs == refs && !unshallowed {
        if state.head_branch != head_branch || state.mailmap != mailmap || state.shallow != shallow {
            // Nothing new to read, but HEAD or the .mailmap changed: record them.
            store.finish_sync(state.id, &finish(false))?;
        } else {
            // Commits stored before schema 12 get their graph by row id.
            store.resolve_parent_rows(state.id)?;
        }
        summary.up_to_date = true;
        summary.seconds = started.elapsed().as_secs_f64();
        return Ok(summary);
    }
    store.begin_sync(state.id)?;
    let known: gix::hashtable::HashSet<gix::ObjectId> =
        store.known_commits(state.id)?.iter().filter_map(|sha| gix::ObjectId::from_hex(sha.as_bytes()).ok()).collect();
    // Commits stored without a finished sync: an earlier sync was interrupted.
    summary.resumed = !state.sync_complete && !known.is_empty();
    let mut tips: Vec<String> = refs.iter().map(|r| r.commit.clone()).collect();
    if !state.sync_complete || unshallowed {
        // Where an interrupted sync stopped (or a shallow clone was cut). History rewritten and collected
        // since then may have removed some of them: those are not errors, the
        // prune at the end removes what they leave unreachable.
        tips.extend(store.dangling_parents(state.id)?.into_iter().filter(|sha| repo.has_commit(sha)));
    }
    let mut progress = Progress::new("walking history");
    // The total is known once the walk, which runs beside the diffs, ends.
    progress.start(&format!("syncing {name}"), None);
    let mut batch: Vec<CommitRecord> = Vec::with_capacity(options.batch_size.min(BATCH_COMMITS));
    let mut stored = 0usize;
    let mut batch_files = 0usize;
    let mut walk_seconds = 0.0;
    let result = repo.read_commits(
        &tips,
        move |id| known.contains(id),
        options.threads,
        |read| {
            let record = match read {
                Read::Walked { commits, seconds } => {
                    progress.set_total(commits as u64);
                    walk_seconds = seconds;
                    return Ok(());
                }
                Read::Commit(record) => record,
            };
            summary.missing_blobs += u64::from(record.missing_blobs);
            batch_files += record.files.len();
            batch.push(record);
            if batch.len() >= options.batch_size || batch_files >= BATCH_FILES {
                store.insert_commits(state.id, &batch).context("while storing commits")?;
                stored += batch.len();
                progress.advance(batch.len() as u64);
                batch.clear();
                batch_files = 0;
                if options.batch_delay_ms > 0 {
                    std::thread::sleep(std::time::Duration::from_millis(options.batch_delay_ms));
                }
            }
            Ok(())
        },
    );
    result?;
    if std::env::var_os("FULCRUM_TIMING").is_some() {
        eprintln!(
            "timing: walk {walk_seconds:.2} s (beside the diffs), walk, diffs and storing {:.2} s",
            started.elapsed().as_secs_f64()
        );
    }
    store.insert_commits(state.id, &batch).context("while storing commits")?;
    stored += batch.len();
    progress.finish();
    // Any ref removed or moved may have left commits unreachable (a rewrite).
    // An interrupted sync stored no refs: what it stored may have been rewritten
    // since. (A first sync into an empty store has nothing to prune.)
    let prune = summary.resumed
        || state.refs.iter().any(|old| !refs.iter().any(|new| new.name == old.name && new.commit == old.commit));
    let finishing = Instant::now();
    summary.pruned_commits = store.finish_sync(state.id, &finish(prune))?;
    summary.new_commits = stored;
    let compacting = Instant::now();
    compact_after(store, Imported::Commits(stored));
    if std::env::var_os("FULCRUM_TIMING").is_some() {
        eprintln!(
            "timing: finish (refs, graph by row id) {:.2} s, compaction {:.2} s",
            (compacting - finishing).as_secs_f64(),
            compacting.elapsed().as_secs_f64()
        );
    }
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}
