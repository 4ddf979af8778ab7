//! `fulcrum sync --worker`: syncing spread over any number of processes, on
//! one machine or many, sharing one database (PostgreSQL for many
//! machines). Repositories (and the configuration's sources) are jobs in
//! the store; a worker claims one with a lease, renews the lease from a
//! second thread while it syncs, and records how the run ended. A worker
//! killed mid-sync (even `kill -9`) stops renewing: when its lease runs out
//! another worker takes the job over, and the sync resumes where the
//! killed one stopped, as any interrupted sync does.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::config::Config;
use crate::progress::Progress;
use crate::sources::sync::{self, SyncOptions};
use crate::store::{Job, Store};

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Its name in the jobs table (`host:pid` by default).
    pub name: String,
    /// Seconds a claim holds without renewal.
    pub lease: i64,
    /// Sync every job once (those not finished since the worker started),
    /// then exit; otherwise run until stopped, taking jobs not synced for
    /// `interval` seconds.
    pub once: bool,
    /// Seconds between syncs of one job when not `once`.
    pub interval: i64,
    /// How each repository is synced.
    pub sync: SyncOptions,
    /// The hosts' clock (`since` spans, rate limits) for the sources job.
    pub host_clock: crate::sources::http::Clock,
}

/// What a worker did.
#[derive(Debug, Clone, Default)]
pub struct WorkerSummary {
    /// Jobs it finished, `(kind, target, error)`.
    pub runs: Vec<(String, String, Option<String>)>,
}

/// The wall clock, for leases (never the reports' clock: a lease is about
/// whether a process is alive).
fn wall() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// Every git repository at or under `dir` (a work tree with `.git`, or a
/// bare repository), at most `depth` directories down, not looking inside
/// the repositories found; sorted.
pub fn find_repositories(dir: &Path, depth: usize) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut stack = vec![(dir.canonicalize()?, 0)];
    while let Some((path, level)) = stack.pop() {
        let bare = path.join("HEAD").is_file() && path.join("objects").is_dir() && path.join("refs").is_dir();
        if path.join(".git").exists() || bare {
            found.push(path);
            continue;
        }
        if level == depth {
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&path) else { continue };
        for entry in entries.flatten() {
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            if !hidden && entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push((entry.path(), level + 1));
            }
        }
    }
    found.sort();
    Ok(found)
}

/// The jobs a configuration names: its `[[repository]]` entries and
/// `[[team]]` repositories (a `clone` job for each one cloned from a URL),
/// and one `sources` job when it has `[[source]]`s.
pub fn configured_jobs(config: &Config) -> Vec<(&'static str, String)> {
    let mut jobs: Vec<(&'static str, String)> = Vec::new();
    for mirror in &config.mirrors {
        jobs.push(("clone", mirror.url.clone()));
    }
    let repositories = config.repositories.iter().chain(config.teams.iter().flat_map(|t| t.repositories.iter()));
    for repo in repositories {
        if config.mirrors.iter().any(|m| m.path == *repo) {
            continue;
        }
        let path = repo.canonicalize().unwrap_or_else(|_| repo.clone()).display().to_string();
        if !jobs.iter().any(|(_, p)| *p == path) {
            jobs.push(("repository", path));
        }
    }
    if !config.sources.is_empty() {
        jobs.push(("sources", "all".to_owned()));
    }
    jobs
}

/// Runs a worker on the database at `db` until it is done (`once`) or
/// stopped. `now` is the reports' clock, recorded as the sync time; `say`
/// hears each job as it ends.
pub fn run(
    db: &Path,
    config: &Config,
    options: &WorkerOptions,
    now: i64,
    mut say: impl FnMut(&Job, Option<&str>, f64),
) -> anyhow::Result<WorkerSummary> {
    let mut summary = WorkerSummary::default();
    let started = wall();
    let mut store = Store::open(db)?;
    for kind in ["clone", "repository", "sources"] {
        let wanted: Vec<String> =
            configured_jobs(config).into_iter().filter(|(k, _)| *k == kind).map(|(_, t)| t).collect();
        store.add_jobs(kind, &wanted)?;
    }
    loop {
        let clock = wall();
        let due_before = if options.once { started } else { clock - options.interval };
        let Some(job) = store.claim_job(&options.name, clock, options.lease, due_before)? else {
            if options.once {
                // Done when every job has finished since the start; a job
                // another worker holds may still come back (its worker killed).
                let waiting = store.jobs()?.iter().any(|j| j.last_finished_at.is_none_or(|t| t < started));
                if !waiting {
                    return Ok(summary);
                }
            }
            std::thread::sleep(Duration::from_millis(if options.once { 500 } else { 5000 }));
            continue;
        };
        let stop = Arc::new(AtomicBool::new(false));
        let heartbeat = {
            let (stop, db, job, name, lease) =
                (stop.clone(), db.to_owned(), job.clone(), options.name.clone(), options.lease);
            std::thread::spawn(move || -> anyhow::Result<()> {
                let mut store = Store::open(&db)?;
                let every = Duration::from_millis((lease.max(1) as u64 * 1000) / 3);
                let mut waited = Duration::ZERO;
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(50));
                    waited += Duration::from_millis(50);
                    if waited >= every {
                        waited = Duration::ZERO;
                        store.renew_lease(&job.kind, &job.target, &name, wall() + lease)?;
                    }
                }
                Ok(())
            })
        };
        let begun = std::time::Instant::now();
        let result = run_job(&mut store, config, &job, options, now);
        stop.store(true, Ordering::Relaxed);
        let _ = heartbeat.join();
        let error = result.err().map(|e| format!("{e:#}"));
        store.finish_job(&job.kind, &job.target, &options.name, wall(), error.as_deref())?;
        say(&job, error.as_deref(), begun.elapsed().as_secs_f64());
        summary.runs.push((job.kind.clone(), job.target.clone(), error));
    }
}

/// Syncs the repository at `path`. On SQLite one sync runs at a time per
/// database: wait for it (the lease is renewed meanwhile); PostgreSQL locks
/// per repository.
fn sync_waiting(store: &mut Store, path: &Path, options: &WorkerOptions, now: i64) -> anyhow::Result<()> {
    let (repo, key, name) = crate::app::open_repo(path)?;
    loop {
        match sync::sync(store, &repo, &key, &name, now, &options.sync) {
            Err(e) if e.chain().any(|c| matches!(c.downcast_ref(), Some(crate::store::StoreError::Locked { .. }))) => {
                std::thread::sleep(Duration::from_millis(200));
            }
            result => return result.map(|_| ()),
        }
    }
}

fn run_job(store: &mut Store, config: &Config, job: &Job, options: &WorkerOptions, now: i64) -> anyhow::Result<()> {
    match job.kind.as_str() {
        "repository" => sync_waiting(store, Path::new(&job.target), options, now),
        "clone" => {
            let url = job.target.as_str();
            let path = config
                .mirrors
                .iter()
                .find(|m| m.url == url)
                .map(|m| m.path.clone())
                .or_else(|| crate::config::mirror_path(url))
                .ok_or_else(|| {
                    anyhow::anyhow!("{}: no data directory to clone into", crate::config::redact_url(url))
                })?;
            clone_or_fetch(url, &path)?;
            sync_waiting(store, &path, options, now)
        }
        "sources" => {
            let _lock = store.lock_for_sync("sources")?;
            let mut progress = Progress::new("sources");
            let context = crate::sources::github::SyncContext { config, clock: options.host_clock, now };
            crate::sources::github::sync_all(store, &context, &mut progress)?;
            Ok(())
        }
        other => anyhow::bail!("unknown job kind `{other}`"),
    }
}

/// A clone or a fetch that failed: git's words, the URL's credentials hidden.
#[derive(Debug, thiserror::Error)]
#[error("{url}: {action} failed: {reason}")]
pub struct MirrorError {
    /// The URL, redacted.
    pub url: String,
    /// `git clone` or `git fetch`.
    pub action: &'static str,
    /// What git said (its last lines).
    pub reason: String,
}

/// Clones `url` (bare) into `path`, or fetches it there when it is cloned
/// already: branches and tags, pruned. Runs the system's `git` with no
/// prompt and only the https, ssh and file transports; a clone lands
/// whole or not at all (it is made beside `path` and renamed).
pub fn clone_or_fetch(url: &str, path: &Path) -> Result<(), MirrorError> {
    let shown = crate::config::redact_url(url);
    let git = |args: &[&std::ffi::OsStr], action: &'static str| -> Result<(), MirrorError> {
        let output = std::process::Command::new("git")
            .args(args)
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_ALLOW_PROTOCOL", "https:ssh:file")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| MirrorError {
                url: shown.clone(),
                action,
                reason: format!("cannot run git ({e}); install git"),
            })?;
        if output.status.success() {
            return Ok(());
        }
        let said = String::from_utf8_lossy(&output.stderr);
        let reason: Vec<&str> = said.lines().filter(|l| !l.trim().is_empty()).rev().take(3).collect();
        let reason = reason.into_iter().rev().collect::<Vec<_>>().join(" / ").replace(url, &shown);
        Err(MirrorError { url: shown.clone(), action, reason })
    };
    let os = |s: &str| std::ffi::OsStr::new(s).to_owned();
    if path.join("HEAD").exists() {
        let git_dir = path.as_os_str().to_owned();
        let args = [
            os("--git-dir"),
            git_dir,
            os("fetch"),
            os("--quiet"),
            os("--prune"),
            os("--no-write-fetch-head"),
            os("--"),
            os(url),
            os("+refs/heads/*:refs/heads/*"),
            os("+refs/tags/*:refs/tags/*"),
        ];
        let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
        return git(&refs, "git fetch");
    }
    let parent = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| MirrorError {
        url: shown.clone(),
        action: "git clone",
        reason: format!("cannot make {} ({e})", parent.display()),
    })?;
    let partial = path.with_extension("git.partial");
    let _ = std::fs::remove_dir_all(&partial);
    let args = [os("clone"), os("--bare"), os("--quiet"), os("--"), os(url), partial.as_os_str().to_owned()];
    let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    git(&refs, "git clone")?;
    std::fs::rename(&partial, path).map_err(|e| MirrorError {
        url: shown.clone(),
        action: "git clone",
        reason: format!("cannot move the clone to {} ({e})", path.display()),
    })
}
