//! Analysis: turns what the store holds into core inputs (identities merged,
//! deployments found per the configuration) and runs the core computations.
//! Reads the store only; never git, never the network.

use std::borrow::Cow;
use std::collections::HashMap;

use fulcrum_core::deployments::{Attribution, CommitGraph, Target, attribute, attribute_graph};
use fulcrum_core::dora::{self, DoraOptions, DoraReport, FailureSource, Metric, PrChange, count};
use fulcrum_core::failures::infer;
use fulcrum_core::incidents::link;
use fulcrum_core::model::{Commit, Deployment, DeploymentSource, Person};
use fulcrum_core::time::Window;
use gix::bstr::{BStr, ByteSlice};
use serde::Serialize;

use crate::analyses::delivery::Events;
use crate::config::{Config, DeployMode};
use crate::sources::git::RefKind;
use crate::store::{EventFilter, RepoState, RepoTotals, Store, StoredCommit};

/// Input errors found while analysing (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    /// The repository was never synced into this database.
    #[error("{path}: not synced into {db} yet; run `fulcrum sync --repo {path}` or drop --no-sync")]
    NotSynced {
        /// Repository path.
        path: String,
        /// Database path.
        db: String,
    },
    /// Tag mode found no tag matching the pattern.
    #[error(
        "{path}: no deployments found: no tag matches deploy.tag_pattern `{pattern}` ({tags} tags in the repository{examples}). \
         Set `deploy.tag_pattern` in fulcrum.toml (or `report --tag-pattern`) to match your release tags, \
         or use trunk mode (`deploy.mode = \"trunk\"` or --deploy-mode trunk) if every merge to the default branch deploys"
    )]
    NoMatchingTags {
        /// Repository path.
        path: String,
        /// The pattern.
        pattern: String,
        /// Number of tags present.
        tags: usize,
        /// A few tag names, formatted.
        examples: String,
    },
    /// Neither a repository nor stored events to report on.
    #[error(
        "nothing to report in {db}: no pull requests, deployments or incidents are stored{filter}; \
         run `fulcrum import FILE`, `fulcrum sync` with a [[source]] in fulcrum.toml, or pass --repo PATH"
    )]
    NoData {
        /// Database path.
        db: String,
        /// The filter in words (empty when none).
        filter: String,
    },
    /// Trunk mode could not find the branch.
    #[error(
        "{path}: trunk mode: branch `{branch}` not found; set `deploy.branch` in fulcrum.toml to an existing branch"
    )]
    NoBranch {
        /// Repository path.
        path: String,
        /// Branch looked for.
        branch: String,
    },
}

/// Everything a report shows, ready to render.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    /// The repository.
    pub repository: RepositoryInfo,
    /// Where the configuration came from (a file, or `defaults`).
    pub config_source: String,
    /// How deployments were found, in words.
    pub deployments_source: String,
    /// How failures were found, in words.
    pub failures_source: String,
    /// What a change is in lead time, in words.
    pub lead_time_source: String,
    /// Event sources the numbers drew on (`import`, `github:o/r`, …).
    pub event_sources: Vec<String>,
    /// What the reader should see first when the window holds nothing to
    /// measure: the cause, the latest activity and a window that has data.
    pub headline: Option<String>,
    /// The DORA keys.
    pub dora: DoraReport,
    /// The same keys over the window of the same length just before, and
    /// the change.
    pub previous: Previous,
    /// Deployments in the window, newest first.
    pub deployments: Vec<DeploymentRow>,
    /// Everything the reader should know about the numbers.
    pub warnings: Vec<String>,
}

/// Facts about the analysed repository.
#[derive(Debug, Clone, Serialize)]
pub struct RepositoryInfo {
    /// Path as stored (empty when reporting stored events only).
    pub path: String,
    /// Service name used for deployments.
    pub service: String,
    /// Stored totals.
    pub totals: RepoTotals,
    /// Last finished sync, UTC seconds.
    pub last_sync_at: Option<i64>,
    /// Shallow clone at the last sync.
    pub shallow: bool,
}

/// One deployment, as listed in the report.
#[derive(Debug, Clone, Serialize)]
pub struct DeploymentRow {
    /// Tag name or short commit id.
    pub name: String,
    /// Commit deployed.
    pub commit: String,
    /// Finish time, UTC seconds.
    pub finished_at: i64,
    /// Commits it shipped.
    pub commits: usize,
    /// First deployment in the data (its commits are not changes).
    pub baseline: bool,
    /// It failed (inferred, or linked to an incident).
    pub failed: bool,
    /// When a failed deployment recovered (the fixing deployment finished,
    /// or the incident was resolved), UTC seconds; `None` while it has not
    /// or when it did not fail.
    pub recovered_at: Option<i64>,
    /// It ships a revert or hotfix.
    pub rework: bool,
}

/// What to analyse: a synced git repository, or only stored events.
pub struct Scope<'a> {
    /// The repository's store key, when there is one.
    pub repo_key: Option<&'a str>,
    /// The service its deployments belong to (also the event filter's service).
    pub service: &'a str,
    /// Which stored events belong to this report.
    pub filter: EventFilter,
    /// The other repositories of a team roll-up: `(store key, service)`,
    /// their deployments found in git (tags or trunk) under their service.
    pub team: Vec<(String, String)>,
    /// Services of a team beside its repositories: their stored deployment
    /// events count beside the repositories' own deployments instead of
    /// replacing them (the strongest source wins per service).
    pub extra_services: Vec<String>,
}

/// The history a report stands on: commits (from git, or standing in from
/// events), deployments, and how they were found.
pub struct History<'a> {
    /// Commits, identities merged: every stored commit, or (when the
    /// history was read for a window) the commits the window needs.
    pub commits: Vec<Commit>,
    /// Deployments of the strongest source present (borrowed from the
    /// events when they are the events' own: an organisation's row has
    /// hundreds of thousands, each with its commit list).
    pub deployments: Cow<'a, [Deployment]>,
    /// How deployments were found, in words.
    pub deployments_source: String,
    /// The repository's store key and state, when there is one.
    pub git: Option<(String, RepoState)>,
    /// The other repositories of a team roll-up, keys and states.
    pub team: Vec<(String, RepoState)>,
    /// The attribution of `commits` to `deployments`, computed over the
    /// whole graph, when only part of the commits was read.
    pub attribution: Option<Attribution>,
    /// The repository's totals, when counted while reading its graph.
    pub totals: Option<RepoTotals>,
    /// Each commit id's position in `commits`, when it was made with them.
    pub index: Option<fulcrum_core::model::IdMap<&'a str, usize>>,
}

impl History<'_> {
    /// Which commits each deployment shipped.
    pub fn attribution(&mut self) -> Attribution {
        self.attribution.take().unwrap_or_else(|| attribute(&self.commits, &self.deployments))
    }
}

/// [`Config::is_bot`] decided once per author: it lowercases the name and
/// the e-mail (two allocations) each time, and a report asks it for every
/// merged pull request and every commit its deployments shipped (an
/// organisation's row at 2,000,000 pull requests: over a million times).
struct BotMemo<'c> {
    config: &'c Config,
    /// By name, then e-mail.
    seen: std::cell::RefCell<fulcrum_core::model::IdMap<String, fulcrum_core::model::IdMap<String, bool>>>,
}

impl BotMemo<'_> {
    fn is_bot(&self, name: &str, email: &str) -> bool {
        if let Some(&bot) = self.seen.borrow().get(name).and_then(|emails| emails.get(email)) {
            return bot;
        }
        let bot = self.config.is_bot(name, email);
        self.seen.borrow_mut().entry(name.to_owned()).or_default().insert(email.to_owned(), bot);
        bot
    }
}

/// Finds the history of `scope`: event deployments win over git-derived
/// ones. `from` is the earliest deployment finish the caller reports on:
/// commits shipped only by deployments before it, and not named by a pull
/// request or an incident, need not be read (`None`: read every commit).
pub fn history<'a>(
    store: &Store,
    scope: &Scope<'_>,
    events: &'a Events,
    config: &Config,
    from: Option<i64>,
) -> anyhow::Result<History<'a>> {
    let Some(key) = scope.repo_key else {
        if events.is_empty() {
            return Err(AnalysisError::NoData {
                db: store.path().display().to_string(),
                filter: describe_filter(&scope.filter),
            }
            .into());
        }
        // The stand-ins' index serves the attribution too (an
        // organisation's row has millions of commit ids).
        // `FULCRUM_FULL_HISTORY=1` stands in every commit named (the
        // windowed tests compare the two).
        let cut = from.filter(|_| std::env::var_os("FULCRUM_FULL_HISTORY").is_none());
        let stand_ins = events.stand_in_commits(cut);
        let attribution = stand_ins.attribution(&events.deployments);
        let crate::analyses::delivery::StandIns { commits, index, .. } = stand_ins;
        return Ok(History {
            index: Some(index),
            commits,
            deployments: Cow::Borrowed(&events.deployments),
            deployments_source: event_deployments_text(events),
            git: None,
            team: Vec::new(),
            attribution: Some(attribution),
            totals: None,
        });
    };
    let state = store
        .find_repo(key)?
        .filter(|s| s.last_sync_at.is_some())
        .ok_or_else(|| AnalysisError::NotSynced { path: key.to_owned(), db: store.path().display().to_string() })?;
    let (beside, own): (Vec<&_>, Vec<&_>) = events
        .deployments
        .iter()
        .partition(|d| d.service != scope.service && scope.extra_services.contains(&d.service));
    let windowed = match from {
        Some(from) if scope.team.is_empty() && std::env::var_os("FULCRUM_FULL_HISTORY").is_none() => {
            // A patch release fails the release before it: read from there.
            let from = from - config.patch_window.unwrap_or(0);
            windowed_history(store, &state, key, scope, events, config, &own, &beside, from)?
        }
        _ => None,
    };
    if let Some(Windowed { commits, deployments, source, attribution, totals }) = windowed {
        return Ok(History {
            commits,
            deployments: Cow::Owned(deployments),
            deployments_source: source,
            git: Some((key.to_owned(), state)),
            team: Vec::new(),
            attribution: Some(attribution),
            totals: Some(totals),
            index: None,
        });
    }
    let stored = store.load_commits(state.id)?;
    let reverts = full_reverts(&stored);
    let commits = to_core_commits(stored, reverts, state.mailmap.as_deref());
    let (mut deployments, mut deployments_source) = if own.is_empty() {
        find_deployments(&state, &commits, key, scope.service, config)?
    } else {
        (event_deployments(&state, &own), event_deployments_text(events))
    };
    add_beside(&mut deployments, &mut deployments_source, beside, scope);
    let mut history = History {
        commits,
        deployments: Cow::Owned(deployments),
        deployments_source,
        git: Some((key.to_owned(), state)),
        team: Vec::new(),
        attribution: None,
        totals: None,
        index: None,
    };
    // A team roll-up: each other repository's commits and its own deployments
    // (grouped under its service, so one repository's release never ships
    // another's commits).
    for (other, service) in &scope.team {
        let state = store
            .find_repo(other)?
            .filter(|s| s.last_sync_at.is_some())
            .ok_or_else(|| AnalysisError::NotSynced { path: other.clone(), db: store.path().display().to_string() })?;
        let stored = store.load_commits(state.id)?;
        let reverts = full_reverts(&stored);
        let commits = to_core_commits(stored, reverts, state.mailmap.as_deref());
        let (deployments, source) = find_deployments(&state, &commits, other, service, config)?;
        history.commits.extend(commits);
        history.deployments.to_mut().extend(deployments);
        history.deployments_source.push_str(&format!("; {service}: {source}"));
        history.team.push((other.clone(), state));
    }
    if !history.team.is_empty() {
        history.deployments.to_mut().sort_by(|a, b| a.finished_at.cmp(&b.finished_at).then_with(|| a.id.cmp(&b.id)));
    }
    Ok(history)
}

/// Event deployments of the repository's own service; an event may name its
/// commit by tag (a release), resolved through the refs.
fn event_deployments(state: &RepoState, own: &[&Deployment]) -> Vec<Deployment> {
    let tags: HashMap<&str, &str> = state
        .refs
        .iter()
        .filter(|r| r.kind == RefKind::Tag)
        .map(|r| (r.name.trim_start_matches("refs/tags/"), r.commit.as_str()))
        .collect();
    own.iter()
        .map(|d| {
            let mut d = (*d).clone();
            if let Some(commit) = tags.get(d.commit.as_str()) {
                d.commit = (*commit).to_owned();
            }
            d
        })
        .collect()
}

/// Adds the deployment events of a team's services beside its repository.
fn add_beside(deployments: &mut Vec<Deployment>, source: &mut String, beside: Vec<&Deployment>, scope: &Scope<'_>) {
    if !beside.is_empty() {
        deployments.extend(beside.into_iter().cloned());
        deployments.sort_by(|a, b| a.finished_at.cmp(&b.finished_at).then_with(|| a.id.cmp(&b.id)));
        source.push_str(&format!("; {}: deployment events", scope.extra_services.join(", ")));
    }
}

/// What [`windowed_history`] read and found.
struct Windowed {
    commits: Vec<Commit>,
    deployments: Vec<Deployment>,
    source: String,
    attribution: Attribution,
    totals: RepoTotals,
}

/// The history of one repository read for a window: the whole commit graph
/// by row id (integers only) attributed to every deployment, then in full
/// only the commits shipped by deployments finishing at or after `from`,
/// the merge commits of pull requests, the commits incidents name and the
/// commits those revert, and reverts no deployment ships. `None` when the graph is not complete (a sync
/// under way, a shallow clone's edge) or in trunk mode: read everything.
#[allow(clippy::too_many_arguments)]
fn windowed_history(
    store: &Store,
    state: &RepoState,
    key: &str,
    scope: &Scope<'_>,
    events: &Events,
    config: &Config,
    own: &[&Deployment],
    beside: &[&Deployment],
    from: i64,
) -> anyhow::Result<Option<Windowed>> {
    if own.is_empty() && config.deploy_mode != DeployMode::Tags {
        return Ok(None);
    }
    let Some(graph) = store.load_graph(state.id)? else { return Ok(None) };
    // Every commit id the deployments, pull requests and incidents name.
    let tags: Vec<&str> = state.refs.iter().filter(|r| r.kind == RefKind::Tag).map(|r| r.commit.as_str()).collect();
    let (mut deployments, mut source) = if own.is_empty() {
        let rows = store.commit_rows(state.id, &tags)?;
        let time = |sha: &str| rows.get(sha).and_then(|&row| graph.index_of(row)).map(|i| graph.committer_times[i]);
        tag_deployments(state, &time, key, scope.service, config)?
    } else {
        (event_deployments(state, own), event_deployments_text(events))
    };
    add_beside(&mut deployments, &mut source, beside.to_vec(), scope);
    let mut named: Vec<&str> = Vec::new();
    for d in &deployments {
        named.push(&d.commit);
        named.extend(d.shipped.iter().flatten());
    }
    named.extend(events.prs.iter().filter(|pr| pr.merged_at.is_some()).filter_map(|pr| pr.merge_commit.as_deref()));
    for incident in &events.incidents {
        named.extend(incident.commit.as_deref());
        named.extend(incident.pull_request_commit.as_deref());
    }
    named.sort_unstable();
    named.dedup();
    let rows = store.commit_rows(state.id, &named)?;
    let index = |sha: &str| rows.get(sha).and_then(|&row| graph.index_of(row));

    let core = CommitGraph::from_parents((0..graph.rows.len()).map(|i| {
        graph.parents[graph.parent_start[i]..graph.parent_start[i + 1]].iter().filter_map(|&p| graph.index_of(p))
    }));
    let targets: Vec<Target> = deployments
        .iter()
        .map(|d| Target {
            commit: index(&d.commit),
            listed: d.shipped.as_ref().map(|list| list.iter().map(&index).collect()),
        })
        .collect();
    let attribution = attribute_graph(&core, &deployments, &targets);

    let mut keep = vec![false; graph.rows.len()];
    for (d, deployment) in deployments.iter().enumerate() {
        if deployment.finished_at >= from {
            for &c in &attribution.shipped[d] {
                keep[c] = true;
            }
        }
    }
    // A revert no deployment ships still fails what it reverts.
    for (c, kept) in keep.iter_mut().enumerate() {
        if graph.reverts[c] && attribution.first_shipping(c).is_none() {
            *kept = true;
        }
    }
    for pr in events.prs.iter().filter(|pr| pr.merged_at.is_some()) {
        if let Some(c) = pr.merge_commit.as_deref().and_then(index) {
            keep[c] = true;
        }
    }
    for incident in &events.incidents {
        for c in [incident.commit.as_deref(), incident.pull_request_commit.as_deref()].into_iter().flatten() {
            if let Some(c) = index(c) {
                keep[c] = true;
            }
        }
    }
    let wanted: Vec<i64> = (0..keep.len()).filter(|&c| keep[c]).map(|c| graph.rows[c]).collect();
    let mut stored = store.load_commits_at(state.id, &wanted)?;
    // The commits those revert: read too, so a revert finds what it reverts.
    let mut reverts = Vec::with_capacity(stored.len());
    for commit in &stored {
        reverts.push(match commit.reverts.as_deref() {
            Some(r) if r.len() < 40 => {
                let ids = store.commits_with_prefix(state.id, r)?;
                Some(if ids.len() == 1 { ids[0].clone() } else { r.to_owned() })
            }
            other => other.map(str::to_owned),
        });
    }
    let reverted: Vec<&str> = reverts.iter().flatten().map(String::as_str).collect();
    let reverted_rows = store.commit_rows(state.id, &reverted)?;
    let extra: Vec<i64> = reverted_rows
        .values()
        .copied()
        .filter(|&row| graph.index_of(row).is_some_and(|c| !keep[c]))
        .collect::<std::collections::BTreeSet<i64>>()
        .into_iter()
        .collect();
    if !extra.is_empty() {
        for &row in &extra {
            if let Some(c) = graph.index_of(row) {
                keep[c] = true;
            }
        }
        let more = store.load_commits_at(state.id, &extra)?;
        for commit in &more {
            reverts.push(commit.reverts.clone());
        }
        // Reverts of reverted commits are not followed further: a revert
        // needs its target read, not the target's own target.
        stored.extend(more);
        let mut order: Vec<usize> = (0..stored.len()).collect();
        order.sort_unstable_by_key(|&i| stored[i].row_id);
        let mut slots: Vec<Option<(StoredCommit, Option<String>)>> =
            stored.into_iter().zip(reverts).map(Some).collect();
        let (sorted, sorted_reverts): (Vec<StoredCommit>, Vec<Option<String>>) =
            order.iter().map(|&i| slots[i].take().expect("each commit once")).unzip();
        stored = sorted;
        reverts = sorted_reverts;
    }
    let keep: Vec<usize> = (0..keep.len()).filter(|&c| keep[c]).collect();
    debug_assert_eq!(keep.len(), stored.len());
    if keep.len() != stored.len() {
        // A commit deleted between the two reads (a sync pruning): read everything.
        return Ok(None);
    }
    if std::env::var_os("FULCRUM_TIMING").is_some() {
        eprintln!("history: {} of {} commits read in full", keep.len(), graph.rows.len());
    }
    let commits = to_core_commits(stored, reverts, state.mailmap.as_deref());
    let totals = RepoTotals { commits: graph.rows.len() as u64, missing_blobs: graph.missing_blobs };
    Ok(Some(Windowed { commits, deployments, source, attribution: attribution.restrict(&keep), totals }))
}

/// Analyses `scope` over `window`.
pub fn analyze(store: &Store, scope: &Scope<'_>, config: &Config, window: Window) -> anyhow::Result<Analysis> {
    let before = window.start - window.duration();
    let since = crate::analyses::delivery::reach(scope.repo_key.is_some(), false, before);
    let events = Events::load_since(store, &scope.filter, config, since)?;
    let analysis = analyze_loaded(store, scope, config, window, &events, Compare::Previous);
    crate::analyses::delivery::free_aside(events);
    analysis
}

/// Whether an analysis also measures the window before its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    /// The previous window of the same length ([`Analysis::previous`]);
    /// the events must reach its start.
    Previous,
    /// The window alone: the events need reach only its start, and
    /// [`Analysis::previous`] is empty (the organisation view shows no
    /// comparison, and reads and measures half as much without one).
    Alone,
}

impl Compare {
    /// The earliest time the events of an analysis of `window` must reach.
    pub fn reach(self, window: Window) -> i64 {
        match self {
            Compare::Previous => window.start - window.duration(),
            Compare::Alone => window.start,
        }
    }
}

/// [`analyze`] with the scope's events already loaded (the organisation
/// view loads them once for a team's report and flow): they must reach
/// `compare.reach(window)`.
pub fn analyze_loaded(
    store: &Store,
    scope: &Scope<'_>,
    config: &Config,
    window: Window,
    events: &Events,
    compare: Compare,
) -> anyhow::Result<Analysis> {
    let service = scope.service;
    let before = Window { start: compare.reach(window), end: window.start };
    let mut history = history(store, scope, events, config, Some(before.start))?;
    let attribution = history.attribution();
    let History { commits, deployments, deployments_source, git, team, totals: counted, index, .. } = history;
    let mut warnings = Vec::new();
    if events.skipped_deployments > 0 {
        warnings.push(format!(
            "{} deployment events left out: not successful, or not to an environment matching `{}`",
            events.skipped_deployments, config.env_pattern
        ));
    }
    let hotfix = |c: &Commit| config.hotfix_regex.is_match(&c.subject);
    let inference = if git.is_some() { infer(&commits, &attribution, &hotfix) } else { Default::default() };
    let index: fulcrum_core::model::IdMap<&str, usize> =
        index.unwrap_or_else(|| commits.iter().enumerate().map(|(i, c)| (c.id.as_str(), i)).collect());
    let (failures, rework, failure_source, failures_source) = if !events.incidents.is_empty() {
        let links =
            link(&events.incidents, &deployments, &attribution, &|id| index.get(id).copied(), config.link_window);
        let unlinked = links.linked.iter().filter(|l| l.is_none()).count();
        if unlinked > 0 {
            warnings.push(format!(
                "{unlinked} of {} incidents matched no deployment (none named, none of their service within \
                 incident.link_window before they started)",
                events.incidents.len()
            ));
        }
        if links.dangling_references > 0 {
            warnings.push(format!(
                "{} incidents name a deployment, commit or pull request that is unknown or not deployed; \
                 linked by time instead where possible",
                links.dangling_references
            ));
        }
        let rework: Vec<bool> = links
            .rework
            .iter()
            .enumerate()
            .map(|(d, &r)| r || inference.rework.get(d).copied().unwrap_or(false))
            .collect();
        let text = format!(
            "incidents ({} recorded) linked to deployments explicitly, else by time within {} days",
            events.incidents.len(),
            config.link_window / 86_400
        );
        (links.failures, rework, FailureSource::Incidents, text)
    } else if git.is_some() {
        let mut failures = inference.failures.clone();
        let mut rework = inference.rework.clone();
        // Counted over the two windows the report compares (a report reads
        // only the history those need).
        let shown = |f: &fulcrum_core::failures::Failure| deployments[f.deployment].finished_at >= before.start;
        let by_cause = |failures: &[fulcrum_core::failures::Failure], revert: bool| {
            failures
                .iter()
                .filter(|f| shown(f))
                .filter(|f| {
                    matches!(
                        (f.cause, revert),
                        (fulcrum_core::failures::FailureCause::Revert { .. }, true)
                            | (fulcrum_core::failures::FailureCause::Hotfix { .. }, false)
                    )
                })
                .count()
        };
        let (reverts, hotfixes) = (by_cause(&failures, true), by_cause(&failures, false));
        let mut patches = 0;
        if let Some(window) = config.patch_window {
            // Release tags only: a trunk commit or an event has no version.
            let versions: Vec<Option<(u64, u64, u64)>> = deployments
                .iter()
                .map(|d| {
                    (d.source == DeploymentSource::Tag)
                        .then(|| fulcrum_core::failures::parse_version(&d.name))
                        .flatten()
                })
                .collect();
            for (failed, fix) in fulcrum_core::failures::patch_releases(&deployments, &versions, window) {
                if failures.iter().any(|f| f.deployment == failed) {
                    continue;
                }
                failures.push(fulcrum_core::failures::Failure {
                    deployment: failed,
                    recovered_by: Some(fix),
                    recovered_at: None,
                    cause: fulcrum_core::failures::FailureCause::PatchRelease { release: fix },
                });
                rework[fix] = true;
                if deployments[failed].finished_at >= before.start {
                    patches += 1;
                }
            }
            failures.sort_by_key(|f| f.deployment);
        }
        let text = format!(
            "inferred, a lower bound: {} by reverts (`This reverts commit <sha>`), {} by hotfix commits (subject \
             matching `{}`){}",
            count(reverts, "failure", "failures"),
            hotfixes,
            config.hotfix_pattern,
            match config.patch_window {
                Some(window) => format!(", {patches} by a patch release within {} days", window / 86_400),
                None => String::new(),
            }
        );
        (failures, rework, FailureSource::Inferred, text)
    } else {
        (Vec::new(), vec![false; deployments.len()], FailureSource::Incidents, "no incidents recorded".to_owned())
    };
    let bots = BotMemo { config, seen: Default::default() };
    let is_bot = |p: &Person| bots.is_bot(&p.name, &p.email);
    let changes: Vec<PrChange> = events
        .prs
        .iter()
        .filter(|pr| pr.merged_at.is_some())
        .filter_map(|pr| {
            let merge_commit = *index.get(pr.merge_commit.as_deref()?)?;
            let first_commit_at = pr.commits.iter().map(|c| c.authored_at).min().unwrap_or(pr.created_at);
            Some(PrChange {
                first_commit_at,
                merge_commit,
                merged_at: pr.merged_at? - crate::analyses::delivery::MERGE_CLOCK_TOLERANCE,
                bot: bots.is_bot(&pr.author, ""),
            })
        })
        .collect();
    // Over every merged pull request of the scope (a windowed read counts
    // those it left out in SQL: without git, every recorded merge commit
    // stands in the history).
    let merged_prs = events.pr_totals.merged;
    let pr_based = merged_prs > 0;
    // What the header counts is what the body counts: the window's merges.
    let merged_in_window = events.prs.iter().filter(|pr| pr.merged_at.is_some_and(|t| window.contains(t))).count();
    let unknown = events.pr_totals.merged_without_commit
        + events
            .prs
            .iter()
            .filter(|pr| pr.merged_at.is_some())
            .filter(|pr| pr.merge_commit.as_deref().is_some_and(|c| !index.contains_key(c)))
            .count();
    if pr_based && unknown > 0 {
        warnings.push(format!(
            "{unknown} of {merged_prs} merged pull requests have a merge commit unknown to the history and no lead time"
        ));
    }
    let mut lead_time_source = if pr_based {
        format!(
            "pull requests ({merged_in_window} merged in the window): first commit to the deployment shipping the \
             merge commit"
        )
    } else {
        "commits: author time to the deployment that first shipped the commit".to_owned()
    };
    let input = dora::DoraInput {
        commits: &commits,
        deployments: &deployments,
        attribution: &attribution,
        failures: &failures,
        rework: &rework,
        is_bot: &is_bot,
        changes: pr_based.then_some(changes.as_slice()),
        history: git.is_some(),
        left_out_start: events.left_out_start,
    };
    let options = DoraOptions {
        average: config.average,
        benchmark_year: config.benchmark,
        failure_source,
        min_deployments: config.min_deployments,
        min_changes: config.min_changes,
        min_recoveries: config.min_recoveries,
    };
    let mut report = dora::compute(&input, window, &options);
    let previous = match compare {
        Compare::Previous => Previous::of(&report, &dora::compute(&input, before, &options), before),
        Compare::Alone => Previous::none(before),
    };
    // Pull requests are used where a deployment ships one: say where they were not.
    if let (true, Metric::Value(lead)) = (pr_based, &report.lead_time) {
        match lead.basis {
            dora::ChangeBasis::Mixed => {
                lead_time_source = format!(
                    "pull requests ({merged_in_window} merged in the window) where a deployment ships one; commits \
                     (author time to \
                     deployment) for the deployments of the window that ship none"
                );
            }
            dora::ChangeBasis::Commits => {
                lead_time_source = format!(
                    "commits: author time to the deployment that first shipped the commit (none of the \
                     {merged_prs} merged pull requests stored is shipped by a deployment of the window)"
                );
            }
            dora::ChangeBasis::PullRequests => {}
        }
    }
    if git.is_none() && events.incidents.is_empty() {
        let reason = "no incidents recorded and no git history to infer failures from: import incidents \
                      or sync a source with incident.labels"
            .to_owned();
        report.change_failure_rate = Metric::NoData { reason: reason.clone() };
        // Rework needs the same signal (reverts, hotfixes or resolved incidents).
        report.rework_rate = Metric::NoData { reason: reason.clone() };
        report.recovery_time = Metric::NoData { reason };
    }
    if deployments.is_empty()
        && let Some(advice) = no_deployments_advice(events, config, git.is_some())
    {
        let reasons = [
            no_data_reason(&mut report.deployment_frequency),
            no_data_reason(&mut report.lead_time),
            no_data_reason(&mut report.change_failure_rate),
            no_data_reason(&mut report.recovery_time),
            no_data_reason(&mut report.rework_rate),
        ];
        for reason in reasons.into_iter().flatten() {
            retell_no_deployments(reason, &advice);
        }
    }
    let mut failed = vec![false; deployments.len()];
    // Several failures of one deployment: it recovered when the last did,
    // and not while any has not.
    let mut recovered_at: Vec<Option<i64>> = vec![None; deployments.len()];
    let mut unrecovered = vec![false; deployments.len()];
    for f in &failures {
        failed[f.deployment] = true;
        match f.recovered_by.map(|fix| deployments[fix].finished_at).or(f.recovered_at) {
            Some(at) => recovered_at[f.deployment] = recovered_at[f.deployment].max(Some(at)),
            None => unrecovered[f.deployment] = true,
        }
    }
    for (at, open) in recovered_at.iter_mut().zip(&unrecovered) {
        if *open {
            *at = None;
        }
    }
    let mut rows: Vec<DeploymentRow> = (0..deployments.len())
        .filter(|&d| window.contains(deployments[d].finished_at))
        .map(|d| DeploymentRow {
            name: deployments[d].name.clone(),
            commit: deployments[d].commit.clone(),
            finished_at: deployments[d].finished_at,
            commits: attribution.shipped[d].len(),
            baseline: attribution.is_baseline[d],
            failed: failed[d],
            recovered_at: recovered_at[d],
            rework: rework[d],
        })
        .collect();
    rows.sort_by(|a, b| b.finished_at.cmp(&a.finished_at).then_with(|| a.name.cmp(&b.name)));
    let (path, totals, last_sync_at, shallow) = match &git {
        Some((key, state)) => {
            let totals = match counted {
                Some(totals) => totals,
                None => store.totals(state.id)?,
            };
            if !state.sync_complete {
                warnings.push(interrupted_sync_warning(key, totals.commits));
            }
            if state.shallow {
                warnings.push(
                    "shallow clone: history is cut, so lead times of the oldest changes and the first deployments \
                     are incomplete; run `git fetch --unshallow` for full history"
                        .to_owned(),
                );
            }
            if totals.missing_blobs > 0 {
                warnings.push(format!(
                    "{} file versions could not be read (partial clone or stripped mirror); their line counts are \
                     unknown",
                    totals.missing_blobs
                ));
            }
            let mut totals = totals;
            let mut path = key.clone();
            for (other, state) in &team {
                let more = store.totals(state.id)?;
                totals.commits += more.commits;
                totals.missing_blobs += more.missing_blobs;
                path.push_str(&format!(", {other}"));
            }
            (path, totals, state.last_sync_at, state.shallow)
        }
        None => (String::new(), RepoTotals::default(), None, false),
    };
    warnings.extend(report.warnings.iter().cloned());
    let finishes: Vec<i64> = deployments.iter().map(|d| d.finished_at).collect();
    let headline = quiet_window_headline(&finishes, window, "deployment", "deployments").map(|text| {
        let last = deployments.iter().max_by_key(|d| (d.finished_at, d.name.clone()));
        match last {
            Some(d) => text.replacen("{last}", &d.name, 1),
            None => text,
        }
    });
    let previous = if git.is_none() && events.incidents.is_empty() {
        // The rates have no signal without incidents or git (see above).
        Previous { change_failure_rate: Versus::default(), rework_rate: Versus::default(), ..previous }
    } else {
        previous
    };
    Ok(Analysis {
        previous,
        headline,
        repository: RepositoryInfo { path, service: service.to_owned(), totals, last_sync_at, shallow },
        config_source: config.source.clone(),
        deployments_source,
        failures_source,
        lead_time_source,
        event_sources: events.sources.clone(),
        dora: report,
        deployments: rows,
        warnings,
    })
}

/// One key now and over the previous window.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Versus {
    /// The value over the previous window (`None`: no data then).
    pub previous: Option<f64>,
    /// `(now − previous) ÷ previous`; `None` when either is missing or the
    /// previous value is 0.
    pub change: Option<f64>,
}

impl Versus {
    fn new(now: Option<f64>, previous: Option<f64>) -> Versus {
        let change = match (now, previous) {
            (Some(now), Some(before)) if before != 0.0 => Some((now - before) / before),
            _ => None,
        };
        Versus { previous, change }
    }
}

/// The DORA keys over the previous window of the same length.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Previous {
    /// The previous window.
    pub window: Window,
    /// Deployments per week.
    pub deployment_frequency: Versus,
    /// Median lead time, seconds.
    pub lead_time: Versus,
    /// Change failure rate, 0..1.
    pub change_failure_rate: Versus,
    /// Median recovery time, seconds.
    pub recovery_time: Versus,
    /// Rework rate, 0..1.
    pub rework_rate: Versus,
}

impl Previous {
    /// No comparison: the window before is empty.
    fn none(window: Window) -> Previous {
        let none = Versus::default();
        Previous {
            window,
            deployment_frequency: none,
            lead_time: none,
            change_failure_rate: none,
            recovery_time: none,
            rework_rate: none,
        }
    }

    fn of(now: &DoraReport, before: &DoraReport, window: Window) -> Previous {
        let frequency = |r: &DoraReport| r.deployment_frequency.value().map(|f| f.per_week);
        let lead = |r: &DoraReport| r.lead_time.value().map(|l| l.summary.median);
        let cfr = |r: &DoraReport| r.change_failure_rate.value().map(|c| c.rate);
        let recovery = |r: &DoraReport| r.recovery_time.value().map(|x| x.summary.median);
        let rework = |r: &DoraReport| r.rework_rate.value().map(|x| x.rate);
        Previous {
            window,
            deployment_frequency: Versus::new(frequency(now), frequency(before)),
            lead_time: Versus::new(lead(now), lead(before)),
            change_failure_rate: Versus::new(cfr(now), cfr(before)),
            recovery_time: Versus::new(recovery(now), recovery(before)),
            rework_rate: Versus::new(rework(now), rework(before)),
        }
    }
}

/// Why there are no deployments and what to do, fitting the data at hand
/// (the core's generic advice names tag patterns, which do not help when
/// deployment events are stored and all were left out); `None` to keep it.
pub fn no_deployments_advice(events: &Events, config: &Config, has_repository: bool) -> Option<String> {
    if events.skipped_deployments > 0 {
        Some(format!(
            "no deployments found: {} stored deployment {} none successful to an environment matching \
             deploy.env_pattern `{}`; set deploy.env_pattern in fulcrum.toml to your production environment's name",
            events.skipped_deployments,
            if events.skipped_deployments == 1 { "event, and it is" } else { "events, and" },
            config.env_pattern
        ))
    } else if !has_repository {
        Some(
            "no deployments found: the stored events hold no deployment; import deployments (`fulcrum import`), \
             add a [[source]] whose host records them, or pass --repo with a repository whose release tags or \
             trunk deploy"
                .to_owned(),
        )
    } else {
        None
    }
}

/// Replaces the core's generic "no deployments found" reason with `advice`.
pub fn retell_no_deployments(reason: &mut String, advice: &str) {
    if reason.starts_with("no deployments found") {
        let rest = reason.split_once("; cycle time").map(|(_, rest)| format!("; cycle time{rest}"));
        *reason = format!("{advice}{}", rest.unwrap_or_default());
    }
}

/// When nothing happened in the window but did before it: the cause first,
/// the latest event, and the shortest window back from the window's end
/// (6 months, 1, 2 or 5 years) holding at least five events. `{last}` in
/// the text stands for the latest event's name.
pub fn quiet_window_headline(times: &[i64], window: Window, one: &str, many: &str) -> Option<String> {
    if times.is_empty() || times.iter().any(|&t| window.contains(t)) {
        return None;
    }
    let last = times.iter().copied().filter(|&t| t < window.end).max();
    let Some(last) = last else {
        return Some(format!("No {one} in this window: all {} are after it; pass a later --until", times.len()));
    };
    const DAY: i64 = 86_400;
    let spans = [("6.months", 180 * DAY), ("1.year", 365 * DAY), ("2.years", 730 * DAY), ("5.years", 1825 * DAY)];
    let within = |span: i64| times.iter().filter(|&&t| t >= window.end - span && t < window.end).count();
    let suggestion = spans
        .iter()
        .find(|(_, span)| within(*span) >= 5)
        .map(|(text, span)| format!("--since {text} covers {}", count(within(*span), one, many)))
        .unwrap_or_else(|| {
            let since = fulcrum_core::time::format_date(last);
            format!("--since {since} starts at it")
        });
    let days = (window.end - last) / DAY;
    Some(format!(
        "No {one} in this window: the last was {{last}} on {} ({days} day{} before the window ends); {suggestion}",
        fulcrum_core::time::format_date(last),
        if days == 1 { "" } else { "s" }
    ))
}

/// What an unfinished sync means for the figures.
pub fn interrupted_sync_warning(key: &str, commits: u64) -> String {
    format!(
        "the last sync of {key} did not finish: the figures include all {commits} commits stored, some from the \
         unfinished sync, but the tags and branches of the sync before it; run `fulcrum sync --repo {key}` to \
         complete it"
    )
}

/// The reason of a metric without data.
pub fn no_data_reason<T>(metric: &mut Metric<T>) -> Option<&mut String> {
    match metric {
        Metric::NoData { reason } => Some(reason),
        Metric::Value(_) => None,
    }
}

/// How event deployments were found, in words.
pub fn event_deployments_text(events: &Events) -> String {
    format!(
        "deployment events ({} successful to production, from {})",
        events.deployments.len(),
        events.sources.join(", ")
    )
}

/// The filter in words, for messages.
pub fn describe_filter(filter: &EventFilter) -> String {
    let mut parts = Vec::new();
    if !filter.repos.is_empty() {
        parts.push(format!("repositories {}", filter.repos.join(", ")));
    }
    if !filter.services.is_empty() {
        parts.push(format!("services {}", filter.services.join(", ")));
    }
    if parts.is_empty() { String::new() } else { format!(" for {}", parts.join(" and ")) }
}

/// Each stored commit's reverted commit, abbreviated ids resolved when
/// unique among `stored` (the whole history).
fn full_reverts(stored: &[StoredCommit]) -> Vec<Option<String>> {
    // `This reverts commit <sha>` may carry an abbreviated id: resolve unique
    // prefixes (the sorted ids are built only when one is abbreviated).
    let abbreviated = stored.iter().any(|c| c.reverts.as_ref().is_some_and(|r| r.len() < 40));
    let mut ids: Vec<&str> = if abbreviated { stored.iter().map(|c| c.sha.as_str()).collect() } else { Vec::new() };
    ids.sort_unstable();
    let full_id = |short: &str| -> Option<String> {
        let start = ids.partition_point(|id| *id < short);
        let mut matches = ids[start..].iter().take_while(|id| id.starts_with(short));
        match (matches.next(), matches.next()) {
            (Some(one), None) => Some((*one).to_owned()),
            _ => None,
        }
    };
    stored
        .iter()
        .map(|c| {
            c.reverts
                .as_deref()
                .map(|r| if r.len() < 40 { full_id(r).unwrap_or_else(|| r.to_owned()) } else { r.to_owned() })
        })
        .collect()
}

/// Converts stored commits, merging identities through the `.mailmap`;
/// `reverts` are their reverted commits with full ids.
fn to_core_commits(stored: Vec<StoredCommit>, reverts: Vec<Option<String>>, mailmap: Option<&str>) -> Vec<Commit> {
    let mailmap = mailmap.map(|text| gix::mailmap::Snapshot::from_bytes(text.as_bytes()));
    // Each distinct author resolved once (by name, then e-mail).
    let mut resolved: HashMap<String, HashMap<String, Person>> = HashMap::new();
    // The stored strings move into the commits: no copy of the history.
    stored
        .into_iter()
        .zip(reverts)
        .map(|(c, reverts)| {
            let known = resolved.get(c.author_name.as_str()).and_then(|m| m.get(c.author_email.as_str()));
            let author = match known {
                Some(person) => person.clone(),
                None => {
                    let person = resolve_person(mailmap.as_ref(), &c.author_name, &c.author_email);
                    resolved.entry(c.author_name.clone()).or_default().insert(c.author_email.clone(), person.clone());
                    person
                }
            };
            Commit {
                id: c.sha,
                parents: c.parents,
                author,
                author_time: c.author_time,
                author_offset_minutes: c.author_offset,
                committer_time: c.committer_time,
                subject: c.subject,
                reverts,
            }
        })
        .collect()
}

/// One person after `.mailmap`, e-mail lower-cased (merging by e-mail).
pub fn resolve_person(mailmap: Option<&gix::mailmap::Snapshot>, name: &str, email: &str) -> Person {
    if let Some(map) = mailmap {
        let signature = gix::actor::SignatureRef {
            name: BStr::new(name.as_bytes()),
            email: BStr::new(email.as_bytes()),
            time: "0 +0000",
        };
        if let Some(resolved) = map.try_resolve(signature) {
            return Person {
                name: resolved.name.to_str_lossy().into_owned(),
                email: resolved.email.to_str_lossy().to_lowercase(),
            };
        }
    }
    Person { name: name.to_owned(), email: email.to_lowercase() }
}

/// Keeps the releases of the main line (`deploy.release_line`): a release
/// whose major (or major.minor) is older than the newest released before
/// it is a backport to a maintenance line, not a deployment. Releases whose
/// tag is not a plain version are kept. `deployments` are in finish order;
/// returns the names left out.
fn main_line(deployments: &mut Vec<Deployment>, line: crate::config::ReleaseLine) -> Vec<String> {
    use crate::config::ReleaseLine;
    use fulcrum_core::failures::parse_version;
    let key = |version: (u64, u64, u64)| match line {
        ReleaseLine::All => (0, 0),
        ReleaseLine::Major => (version.0, 0),
        ReleaseLine::Minor => (version.0, version.1),
    };
    let mut newest: Option<(u64, u64)> = None;
    let mut left_out = Vec::new();
    deployments.retain(|d| {
        let Some(version) = parse_version(&d.name) else { return true };
        let line = key(version);
        if newest.is_some_and(|n| line < n) {
            left_out.push(d.name.clone());
            return false;
        }
        newest = newest.max(Some(line));
        true
    });
    left_out
}

/// Deployments per the configured mode, with a sentence saying how.
fn find_deployments(
    state: &RepoState,
    commits: &[Commit],
    key: &str,
    service: &str,
    config: &Config,
) -> anyhow::Result<(Vec<Deployment>, String)> {
    let by_id: HashMap<&str, &Commit> = commits.iter().map(|c| (c.id.as_str(), c)).collect();
    match config.deploy_mode {
        DeployMode::Tags => {
            let time = |sha: &str| by_id.get(sha).map(|c| c.committer_time);
            tag_deployments(state, &time, key, service, config)
        }
        DeployMode::Trunk => {
            let branch = config
                .branch
                .clone()
                .or_else(|| state.head_branch.clone())
                .unwrap_or_else(|| "refs/heads/main".to_owned());
            let full = if branch.starts_with("refs/") { branch.clone() } else { format!("refs/heads/{branch}") };
            let remote = format!("refs/remotes/origin/{}", branch.trim_start_matches("refs/heads/"));
            let tip = state
                .refs
                .iter()
                .find(|r| r.name == full)
                .or_else(|| state.refs.iter().find(|r| r.name == remote))
                .ok_or_else(|| AnalysisError::NoBranch { path: key.to_owned(), branch: branch.clone() })?;
            let mut deployments = Vec::new();
            let mut next = Some(tip.commit.as_str());
            while let Some(id) = next {
                let Some(commit) = by_id.get(id) else { break };
                deployments.push(Deployment {
                    id: format!("git:trunk:{id}"),
                    name: id[..id.len().min(10)].to_owned(),
                    service: service.to_owned(),
                    environment: "production".to_owned(),
                    commit: id.to_owned(),
                    finished_at: commit.committer_time,
                    source: DeploymentSource::Trunk,
                    shipped: None,
                });
                next = commit.parents.first().map(String::as_str);
            }
            deployments.reverse();
            // A commit dated before its parent (rebases, skewed clocks) cannot
            // have been deployed before it: keep finish times in chain order.
            for i in 1..deployments.len() {
                deployments[i].finished_at = deployments[i].finished_at.max(deployments[i - 1].finished_at);
            }
            let short = branch.trim_start_matches("refs/heads/");
            Ok((deployments, format!("trunk mode: every first-parent commit of `{short}`")))
        }
    }
}

/// Release tags matching the pattern as deployments (one per commit, the
/// earliest tag). `commit_time` gives a stored commit's committer time
/// (`None`: not stored, the tag is left out).
fn tag_deployments(
    state: &RepoState,
    commit_time: &dyn Fn(&str) -> Option<i64>,
    key: &str,
    service: &str,
    config: &Config,
) -> anyhow::Result<(Vec<Deployment>, String)> {
    let tags: Vec<_> = state.refs.iter().filter(|r| r.kind == RefKind::Tag).collect();
    // One deployment per commit: a second tag on the same commit ships nothing new.
    let mut earliest: HashMap<&str, Deployment> = HashMap::new();
    for tag in &tags {
        let name = tag.name.trim_start_matches("refs/tags/");
        if !config.tag_regex.is_match(name) {
            continue;
        }
        let Some(committed_at) = commit_time(tag.commit.as_str()) else { continue };
        let finished_at = tag.tagged_at.unwrap_or(committed_at);
        let deployment = Deployment {
            id: format!("git:tag:{name}"),
            name: name.to_owned(),
            service: service.to_owned(),
            environment: "production".to_owned(),
            commit: tag.commit.clone(),
            finished_at,
            source: DeploymentSource::Tag,
            shipped: None,
        };
        match earliest.get(tag.commit.as_str()) {
            Some(existing) if (existing.finished_at, &existing.name) <= (finished_at, &deployment.name) => {}
            _ => {
                earliest.insert(tag.commit.as_str(), deployment);
            }
        }
    }
    if earliest.is_empty() {
        let examples: Vec<&str> = tags.iter().rev().take(5).map(|t| t.name.trim_start_matches("refs/tags/")).collect();
        return Err(AnalysisError::NoMatchingTags {
            path: key.to_owned(),
            pattern: config.tag_pattern.clone(),
            tags: tags.len(),
            examples: if examples.is_empty() { String::new() } else { format!(", e.g. {}", examples.join(", ")) },
        }
        .into());
    }
    let mut deployments: Vec<Deployment> = earliest.into_values().collect();
    deployments.sort_by(|a, b| a.finished_at.cmp(&b.finished_at).then_with(|| a.name.cmp(&b.name)));
    let backports = main_line(&mut deployments, config.release_line);
    let text = format!(
        "release tags matching `{}` ({} tags{})",
        config.tag_pattern,
        deployments.len(),
        if backports.is_empty() {
            String::new()
        } else {
            format!(
                "; {} of older lines left out as backports, e.g. {} (deploy.release_line)",
                backports.len(),
                backports.iter().take(3).cloned().collect::<Vec<_>>().join(", ")
            )
        }
    );
    Ok((deployments, text))
}
