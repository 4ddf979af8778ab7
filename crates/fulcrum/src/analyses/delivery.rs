//! Delivery data: what the store holds about pull requests, deployments and
//! incidents, turned into core inputs for `report` and `flow`.
//!
//! Deployments come from the strongest source present (METRICS.md,
//! "Deployments"): explicit events (host deployments, CI runs, imported
//! records) of the service, else the git repository's release tags or trunk.
//! Without a git repository, the commits known from pull requests and
//! deployment events stand in for the history (without parent edges), so
//! that a deployment ships what it lists, or its own commit.

use std::collections::{HashMap, HashSet};

use fulcrum_core::deployments::{Attribution, Target};
use fulcrum_core::flow::PullRequest;
use fulcrum_core::incidents::Incident;
use fulcrum_core::model::{Commit, CommitList, Deployment, DeploymentSource, IdMap, Person};

use crate::config::Config;
use crate::store::{DeploymentEvent, EventFilter, EventWindow, IncidentEvent, PrCount, PrLabel, Store};

/// Event data of one report.
#[derive(Debug, Default)]
pub struct Events {
    /// Pull requests of any state.
    pub prs: Vec<PullRequest>,
    /// Successful production deployment events, in finish order.
    pub deployments: Vec<Deployment>,
    /// Deployment events left out: not successful, or not production.
    pub skipped_deployments: usize,
    /// Incidents, with pull-request blame resolved to merge commits.
    pub incidents: Vec<Incident>,
    /// Where the events came from (`import`, `github:o/r`, …), sorted.
    pub sources: Vec<String>,
    /// Every pull request of the scope counted, also those a windowed read
    /// left out.
    pub pr_totals: PrTotals,
    /// Pull requests were read only as far as they reach this time (see
    /// [`reach`]); `None`: all of them.
    pub prs_since: Option<i64>,
    /// Read with the pull requests ([`Events::load_named`]): the title and
    /// web address of each that has either; `None`: not read (ask the store).
    pub labels: Option<HashMap<(String, u64), PrLabel>>,
    /// The earliest merge of a pull request with a merge commit that a
    /// windowed read left out, when no pull request read was merged as
    /// early (in a history standing in, where the data starts).
    pub left_out_start: Option<i64>,
}

/// What the pull requests of a scope add up to, over all of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PrTotals {
    /// Pull requests stored.
    pub stored: usize,
    /// Of those, merged.
    pub merged: usize,
    /// Merged without a recorded merge commit.
    pub merged_without_commit: usize,
}

/// How far back a report or flow whose windows start at `start` must read
/// pull requests: from `start` (what reaches it, see
/// `Store::load_pull_requests`), or all of them (`None`) when a git
/// history is analysed (its reads follow every merged pull request),
/// work items are linked to pull requests (`items`), or
/// `FULCRUM_FULL_HISTORY` is set.
pub fn reach(scope_has_repo: bool, items: bool, start: i64) -> Option<i64> {
    (!scope_has_repo && !items && std::env::var_os("FULCRUM_FULL_HISTORY").is_none()).then_some(start)
}

/// Stored event rows read once, from which several scopes' [`Events`] are
/// selected in memory (the organisation view reads its events once for the
/// organisation's row and every team's).
#[derive(Debug, Default)]
pub struct StoredEvents {
    prs: Vec<PullRequest>,
    deployments: Vec<DeploymentEvent>,
    incidents: Vec<IncidentEvent>,
    /// Each pull request's repository, as a position in `repos`: a filter
    /// decides a few hundred repositories, not millions of rows.
    pr_repo: Vec<u32>,
    repos: Vec<String>,
    /// Each deployment's `(repository, service)`, as a position in `targets`.
    deployment_target: Vec<u32>,
    targets: Vec<(Option<String>, String)>,
    /// Every repository's pull requests counted.
    counts: Vec<PrCount>,
    /// The merge commits of pull requests incidents name that the read
    /// left out (a windowed read).
    named: HashMap<(String, u64), Option<String>>,
    since: Option<i64>,
    /// The pull requests' titles and web addresses, when read with them.
    labels: Option<HashMap<(String, u64), PrLabel>>,
}

impl StoredEvents {
    /// Reads what `filter` keeps; pull requests only as far as they reach
    /// `since` (see [`reach`]).
    pub fn load(store: &Store, filter: &EventFilter, since: Option<i64>) -> anyhow::Result<StoredEvents> {
        StoredEvents::read(store, filter, since, false, None)
    }

    /// [`StoredEvents::load`] for figures of windows starting at `since`
    /// or later alone (the five keys, the flow's stages: an organisation's
    /// rows), whose incidents link by time within `link_window` seconds at
    /// most: the deployments are those finishing since `link_window`
    /// before `since`, and the older ones those figures need
    /// ([`needed_before`]), not every deployment recorded. What the
    /// figures count of the deployments left out (events not successful,
    /// their sources, the incidents left unlinked) covers those read.
    pub fn load_for_windows(
        store: &Store,
        filter: &EventFilter,
        since: Option<i64>,
        link_window: i64,
    ) -> anyhow::Result<StoredEvents> {
        StoredEvents::read(store, filter, since, false, Some(link_window))
    }

    /// [`StoredEvents::load`]; with `labels`, a windowed read also keeps the
    /// pull requests' titles and web addresses from the rows it reads; with
    /// `link_window`, reads deployments as [`StoredEvents::load_for_windows`].
    fn read(
        store: &Store,
        filter: &EventFilter,
        since: Option<i64>,
        labels: bool,
        link_window: Option<i64>,
    ) -> anyhow::Result<StoredEvents> {
        let started = std::time::Instant::now();
        // A flow's read (with labels) has no data start to find.
        let for_flow = labels;
        // (A deployment up to `MERGE_CLOCK_TOLERANCE` before a merge in the
        // window ships it at the merge: read from there at least. The
        // configuration's link window is an hour or more today.)
        let from = since
            .zip(link_window)
            .map(|(since, window)| since.saturating_sub(window.max(MERGE_CLOCK_TOLERANCE).max(0)));
        // Incidents and the counts of every repository's pull requests need
        // nothing read here: a second connection reads them meanwhile, or
        // the window's read counts the pull requests as they go by.
        let counted = since.is_some() && store.counts_in_window()?;
        let beside = store.reader()?;
        let ((window, times), (incidents, counts)) = std::thread::scope(|threads| -> anyhow::Result<_> {
            let other = threads.spawn(move || -> anyhow::Result<_> {
                let incidents = beside.load_incidents(filter)?;
                Ok((incidents, if counted { None } else { Some(beside.pr_counts(filter)?) }))
            });
            let read = Self::read_prs(store, filter, since, labels, from);
            let other = other.join().expect("reading incidents does not panic")?;
            Ok((read?, other))
        })?;
        let EventWindow {
            mut deployments,
            prs,
            counts: counted,
            labels,
            deployment_ids,
            deployments_from: window_from,
            ..
        } = window;
        let mut counts = match counts.or(counted) {
            Some(counts) => counts,
            None => store.pr_counts(filter)?,
        };
        // (A read reaching nothing, `i64::MAX`, only asks whether anything
        // is stored; a flow, `labels`, has no data start.)
        if let Some(since) = since.filter(|&since| since < i64::MAX && !for_flow) {
            // Where the data starts (the stand-ins' earliest merge): a
            // repository with a pull request read that was merged before
            // `since` starts before the windows; the others' earliest merge
            // is looked up.
            let covered: HashSet<&str> = prs
                .iter()
                .filter(|pr| pr.merge_commit.is_some() && pr.merged_at.is_some_and(|at| at < since))
                .map(|pr| pr.repo.as_str())
                .collect();
            store.first_merges_before(&mut counts, &covered, since)?;
        }
        let read = started.elapsed();
        let mut named = HashMap::new();
        if since.is_some() {
            let read: HashSet<(&str, u64)> = prs.iter().map(|pr| (pr.repo.as_str(), pr.number)).collect();
            let missing: Vec<(String, u64)> = incidents
                .iter()
                .filter_map(|i| pr_reference(i.pull_request.as_deref()?))
                .filter(|(repo, number)| !read.contains(&(*repo, *number)))
                .map(|(repo, number)| (repo.to_owned(), number))
                .collect();
            named = store.pr_merge_commits(&missing)?;
        }
        let mut before = 0;
        // A read from `from` (the store reads every deployment when one has
        // no commit list: see `Store::read_deployments`).
        let from = window_from;
        if let (Some(since), Some(from), Some(link_window)) = (since, from, link_window) {
            let wanted = needed_before(since, link_window, &deployments, &prs, &incidents, &named);
            let shas: Vec<&str> = wanted.shas.iter().map(String::as_str).collect();
            let names: Vec<&str> = wanted.names.iter().map(String::as_str).collect();
            let spans: Vec<(&str, i64, i64)> = wanted.spans.iter().map(|(s, a, b)| (s.as_str(), *a, *b)).collect();
            let (older, older_ids) = store.deployments_before(filter, from, &shas, &names, &spans)?;
            before = older.len();
            deployments = merged_in_order(deployments, deployment_ids, older, older_ids);
        }
        let (pr_repo, repos) = positions(prs.iter().map(|pr| &pr.repo));
        let (deployment_target, targets) = positions(deployments.iter().map(|d| (&d.repo, &d.service)));
        let repos = repos.into_iter().cloned().collect();
        let targets = targets.into_iter().map(|(repo, service)| (repo.clone(), service.clone())).collect();
        if std::env::var_os("FULCRUM_TIMING").is_some() {
            eprintln!(
                "events read: deployments and pull requests in {:.3} s ({}), incidents and counts beside them, \
                 the rest {:.3} s{}",
                read.as_secs_f64(),
                times,
                (started.elapsed() - read).as_secs_f64(),
                match from {
                    Some(from) => format!(
                        " ({} deployments: from {}, with the pinned before it and {before} more it needs)",
                        deployments.len(),
                        fulcrum_core::time::format_datetime(from)
                    ),
                    None => String::new(),
                }
            );
        }
        Ok(StoredEvents {
            prs,
            deployments,
            incidents,
            pr_repo,
            repos,
            deployment_target,
            targets,
            counts,
            named,
            since,
            labels,
        })
    }

    /// The deployments `filter` keeps and the pull requests they and
    /// `since` reach (with their counts, when counted on the way); with how
    /// long each took, in words.
    fn read_prs(
        store: &Store,
        filter: &EventFilter,
        since: Option<i64>,
        labels: bool,
        deployments_from: Option<i64>,
    ) -> anyhow::Result<(EventWindow, String)> {
        let started = std::time::Instant::now();
        if let Some(at) = since {
            let window = store.load_window_from(filter, at, labels, deployments_from)?;
            let times = format!(
                "deployments {:.3} s beside pull requests {:.3} s{}",
                window.deployments_in.as_secs_f64(),
                started.elapsed().as_secs_f64(),
                if window.counts.is_some() { ", counted as they went by" } else { "" }
            );
            return Ok((window, times));
        }
        let (deployments, deployment_ids, _) = store.read_deployments(filter, None)?;
        let deployments_read = started.elapsed();
        let prs = store.load_pull_requests(filter, None)?;
        let times = format!(
            "deployments {:.3} s, pull requests {:.3} s",
            deployments_read.as_secs_f64(),
            (started.elapsed() - deployments_read).as_secs_f64()
        );
        let window = EventWindow {
            deployments,
            deployment_ids,
            deployments_from: None,
            prs,
            counts: None,
            labels: None,
            deployments_in: deployments_read,
        };
        Ok((window, times))
    }

    /// A filter keeping everything any of `filters` keeps (an empty list in
    /// a filter means "all", so one of them makes the whole store the union).
    pub fn union(filters: &[EventFilter]) -> EventFilter {
        if filters.is_empty() || filters.iter().any(|f| f.repos.is_empty() || f.services.is_empty()) {
            return EventFilter::default();
        }
        let mut union = EventFilter::default();
        for filter in filters {
            for repo in &filter.repos {
                if !union.repos.contains(repo) {
                    union.repos.push(repo.clone());
                }
            }
            for service in &filter.services {
                if !union.services.contains(service) {
                    union.services.push(service.clone());
                }
            }
        }
        union
    }

    /// Which rows `filter` keeps, decided as the store decides (the
    /// `EventFilter::keeps_*` checks).
    fn kept(&self, filter: &EventFilter) -> (Vec<bool>, Vec<bool>) {
        let repos: Vec<bool> = self.repos.iter().map(|repo| filter.keeps_repo(repo)).collect();
        let targets: Vec<bool> =
            self.targets.iter().map(|(repo, service)| filter.keeps_deployment(repo.as_deref(), service)).collect();
        (
            self.pr_repo.iter().map(|&r| repos[r as usize]).collect(),
            self.deployment_target.iter().map(|&t| targets[t as usize]).collect(),
        )
    }

    /// The events `filter` keeps, as the store would have read them (in its
    /// order). `self` must have been read with a filter keeping at least as
    /// much (see [`StoredEvents::union`]).
    pub fn select(&self, filter: &EventFilter, config: &Config) -> Events {
        let (prs, deployments) = self.kept(filter);
        Events::build(
            Rows {
                prs: self.prs.iter().zip(prs).filter(|(_, kept)| *kept).map(|(pr, _)| pr.clone()).collect(),
                deployments: self.deployments.iter().zip(deployments).filter(|(_, kept)| *kept).map(|(d, _)| d.clone()),
                incidents: self.incidents.iter().filter(|i| filter.keeps_incident(&i.service)).cloned(),
                counts: &self.counts,
                named: &self.named,
                since: self.since,
            },
            filter,
            config,
        )
    }

    /// The events `filter` keeps ([`StoredEvents::into_events`]), with what
    /// selects any narrower filter's from them ([`SharedEvents`]).
    pub fn share(self, filter: &EventFilter, config: &Config) -> SharedEvents {
        let (prs, deployments) = self.kept(filter);
        let StoredEvents {
            prs: mut stored_prs,
            deployments: stored_deployments,
            incidents,
            pr_repo,
            repos,
            deployment_target,
            targets,
            counts,
            named,
            since,
            labels,
        } = self;
        // In place: an organisation's pull requests are hundreds of megabytes.
        let mut kept = prs.iter();
        stored_prs.retain(|_| *kept.next().expect("a decision for each pull request"));
        let kept_repo: Vec<u32> =
            pr_repo.into_iter().zip(&prs).filter(|(_, kept)| **kept).map(|(repo, _)| repo).collect();
        let prs = stored_prs;
        let mut source_at: HashMap<String, u32> = HashMap::new();
        let mut sources: Vec<String> = Vec::new();
        let mut shared_target = Vec::with_capacity(stored_deployments.len());
        let mut shared_source = Vec::with_capacity(stored_deployments.len());
        let mut converted_at = Vec::with_capacity(stored_deployments.len());
        let mut converted_events = Vec::with_capacity(stored_deployments.len());
        let mut skipped = 0;
        for ((event, target), _) in
            stored_deployments.into_iter().zip(deployment_target).zip(deployments).filter(|(_, kept)| *kept)
        {
            let source = match source_at.get(&event.source) {
                Some(&at) => at,
                None => {
                    sources.push(event.source.clone());
                    *source_at.entry(event.source.clone()).or_insert(sources.len() as u32 - 1)
                }
            };
            shared_target.push(target);
            shared_source.push(source);
            match converted(event, config) {
                Some(deployment) => {
                    converted_at.push(Some(converted_events.len() as u32));
                    converted_events.push(deployment);
                }
                None => {
                    converted_at.push(None);
                    skipped += 1;
                }
            }
        }
        let rest = Rest {
            incidents: incidents.iter().filter(|i| filter.keeps_incident(&i.service)).cloned(),
            counts: &counts,
            named: &named,
            since,
        };
        let mut all = Events::finish(prs, converted_events, skipped, sources.iter().cloned().collect(), rest, filter);
        all.labels = labels;
        SharedEvents {
            all,
            pr_repo: kept_repo,
            repos,
            deployment_target: shared_target,
            targets,
            deployment_source: shared_source,
            sources,
            converted: converted_at,
            incidents,
            counts,
            named,
            env_pattern: config.env_pattern.clone(),
        }
    }

    /// [`StoredEvents::select`] taking the rows (and the labels read with
    /// them) instead of copying them.
    pub fn into_events(self, filter: &EventFilter, config: &Config) -> Events {
        let (prs, deployments) = self.kept(filter);
        let labels = self.labels;
        let mut events = Events::build(
            Rows {
                prs: self.prs.into_iter().zip(prs).filter(|(_, kept)| *kept).map(|(pr, _)| pr).collect(),
                deployments: self.deployments.into_iter().zip(deployments).filter(|(_, kept)| *kept).map(|(d, _)| d),
                incidents: self.incidents.into_iter().filter(|i| filter.keeps_incident(&i.service)),
                counts: &self.counts,
                named: &self.named,
                since: self.since,
            },
            filter,
            config,
        );
        events.labels = labels;
        events
    }
}

/// A stored deployment event as a deployment, if it counts (`None`: not
/// successful, or not to an environment `config` counts).
fn converted(event: DeploymentEvent, config: &Config) -> Option<Deployment> {
    if event.status != "success" || !config.env_regex.is_match(&event.environment) {
        return None;
    }
    let mut environment = event.environment;
    environment.replace_range(.., "production");
    Some(Deployment {
        name: event.name.unwrap_or_else(|| event.external_id.clone()),
        id: event.external_id,
        service: event.service,
        environment,
        commit: event.commit,
        finished_at: event.finished_at,
        source: DeploymentSource::Event,
        shipped: event.commits,
    })
}

/// What [`Events::finish`] takes beside the pull requests and deployments.
struct Rest<'a, I> {
    incidents: I,
    counts: &'a [PrCount],
    named: &'a HashMap<(String, u64), Option<String>>,
    since: Option<i64>,
}

/// An organisation's events converted once ([`StoredEvents::share`]): its
/// own, and what selects each team's from them ([`SharedEvents::select`])
/// without reading or converting them again. The organisation's row and
/// the teams' can then be measured side by side, the stored rows no longer
/// held beside the organisation's events.
#[derive(Debug)]
pub struct SharedEvents {
    /// Every row kept by the filter they were shared with, as events.
    pub all: Events,
    /// Each of `all.prs`' repository, as a position in `repos`.
    pr_repo: Vec<u32>,
    repos: Vec<String>,
    /// Each deployment event kept, in order: its `(repository, service)` as
    /// a position in `targets`, its source as a position in `sources`, and
    /// its position in `all.deployments` (`None`: left out by status or
    /// environment).
    deployment_target: Vec<u32>,
    targets: Vec<(Option<String>, String)>,
    deployment_source: Vec<u32>,
    sources: Vec<String>,
    converted: Vec<Option<u32>>,
    /// The incidents as stored (a scope resolves their pull requests among its own).
    incidents: Vec<IncidentEvent>,
    counts: Vec<PrCount>,
    named: HashMap<(String, u64), Option<String>>,
    /// The environments counted, as configured (a scope configured
    /// otherwise cannot select from these: see [`SharedEvents::serves`]).
    env_pattern: String,
}

impl SharedEvents {
    /// Whether [`SharedEvents::select`] gives what `config` counts: the
    /// deployments were converted under the same environment pattern.
    pub fn serves(&self, config: &Config) -> bool {
        config.env_pattern == self.env_pattern
    }

    /// The events `filter` keeps, the same as [`StoredEvents::select`] on
    /// the rows these were made of. `filter` must keep no more than the
    /// filter they were shared with, and `config` must be served.
    pub fn select(&self, filter: &EventFilter, config: &Config) -> Events {
        debug_assert!(self.serves(config), "deployments converted under another environment pattern");
        let repos: Vec<bool> = self.repos.iter().map(|repo| filter.keeps_repo(repo)).collect();
        let targets: Vec<bool> =
            self.targets.iter().map(|(repo, service)| filter.keeps_deployment(repo.as_deref(), service)).collect();
        let prs: Vec<PullRequest> = self
            .all
            .prs
            .iter()
            .zip(&self.pr_repo)
            .filter(|(_, repo)| repos[**repo as usize])
            .map(|(pr, _)| pr.clone())
            .collect();
        let mut sources: HashSet<String> = HashSet::new();
        let mut seen = vec![false; self.sources.len()];
        let mut skipped = 0;
        let mut deployments = Vec::new();
        for ((&target, &source), converted) in
            self.deployment_target.iter().zip(&self.deployment_source).zip(&self.converted)
        {
            if !targets[target as usize] {
                continue;
            }
            if !std::mem::replace(&mut seen[source as usize], true) {
                sources.insert(self.sources[source as usize].clone());
            }
            match converted {
                Some(at) => deployments.push(self.all.deployments[*at as usize].clone()),
                None => skipped += 1,
            }
        }
        let rest = Rest {
            incidents: self.incidents.iter().filter(|i| filter.keeps_incident(&i.service)).cloned(),
            counts: &self.counts,
            named: &self.named,
            since: self.all.prs_since,
        };
        Events::finish(prs, deployments, skipped, sources, rest, filter)
    }
}

impl SharedEvents {
    /// Whether `parts` (filters each keeping no more than these events')
    /// partition these events so that each part's measures are the whole's
    /// restricted to it: every pull request, deployment and incident kept by
    /// exactly one part, each service's deployments and incidents in one,
    /// no commit or deployment id named by two, and no incident naming a
    /// deployment, commit or pull request of another. The whole's samples
    /// are then its parts' pooled (`fulcrum_core::dora::Samples::pool`).
    ///
    /// Ids are compared by 64-bit hashes (foldhash's quality hasher, keyed
    /// per process; ids such as `deploy-100001` collide under the commit-id
    /// hasher): two ids sharing one answer "no", never a false "yes", so a
    /// collision, even a crafted one, only costs the time of measuring the
    /// whole.
    pub fn partitioned_by(&self, parts: &[EventFilter]) -> bool {
        use std::hash::BuildHasher;
        let keyed = foldhash::quality::RandomState::default();
        let hash = |id: &str| keyed.hash_one(id);
        // The one part keeping what `keeps` says, if exactly one does.
        let owner = |keeps: &dyn Fn(&EventFilter) -> bool| -> Option<u32> {
            let mut keeping = parts.iter().enumerate().filter(|(_, part)| keeps(part)).map(|(at, _)| at as u32);
            let first = keeping.next()?;
            keeping.next().is_none().then_some(first)
        };
        let mut used = vec![false; self.repos.len()];
        for &repo in &self.pr_repo {
            used[repo as usize] = true;
        }
        let repo_part: Vec<Option<u32>> = self
            .repos
            .iter()
            .zip(&used)
            .map(|(repo, used)| if *used { owner(&|part| part.keeps_repo(repo)) } else { None })
            .collect();
        if repo_part.iter().zip(&used).any(|(part, used)| *used && part.is_none()) {
            return false;
        }
        // Each service in one part, with its deployments and incidents.
        let mut service_part: HashMap<&str, u32> = HashMap::new();
        fn same_part<'s>(parts: &mut HashMap<&'s str, u32>, service: &'s str, part: u32) -> bool {
            *parts.entry(service).or_insert(part) == part
        }
        let mut target_part: Vec<Option<u32>> = vec![None; self.targets.len()];
        for &target in &self.deployment_target {
            let (repo, service) = &self.targets[target as usize];
            if target_part[target as usize].is_none() {
                let Some(part) = owner(&|part| part.keeps_deployment(repo.as_deref(), service)) else { return false };
                if !same_part(&mut service_part, service, part) {
                    return false;
                }
                target_part[target as usize] = Some(part);
            }
        }
        let mut incident_part = Vec::with_capacity(self.all.incidents.len());
        for incident in &self.all.incidents {
            let Some(part) = owner(&|part| part.keeps_incident(&incident.service)) else { return false };
            if !same_part(&mut service_part, &incident.service, part) {
                return false;
            }
            incident_part.push(part);
        }
        // Every commit and deployment id named, with its part.
        let mut commits: IdMap<u64, u32> = IdMap::default();
        let named =
            |ids: &mut IdMap<u64, u32>, id: &str, part: u32| -> bool { *ids.entry(hash(id)).or_insert(part) == part };
        for (pr, &repo) in self.all.prs.iter().zip(&self.pr_repo) {
            let part = repo_part[repo as usize].expect("decided above");
            if let (Some(merge), Some(_)) = (&pr.merge_commit, pr.merged_at)
                && !named(&mut commits, merge, part)
            {
                return false;
            }
        }
        let mut deployment_ids: IdMap<u64, u32> = IdMap::default();
        for (&target, converted) in self.deployment_target.iter().zip(&self.converted) {
            let Some(at) = converted else { continue };
            let deployment = &self.all.deployments[*at as usize];
            let part = target_part[target as usize].expect("decided above");
            if !named(&mut deployment_ids, &deployment.id, part) || !named(&mut commits, &deployment.commit, part) {
                return false;
            }
            if let Some(list) = &deployment.shipped
                && !list.iter().all(|id| named(&mut commits, id, part))
            {
                return false;
            }
        }
        // An incident names only what its own part holds (or what no part does).
        let within = |ids: &IdMap<u64, u32>, id: Option<&str>, part: u32| {
            id.is_none_or(|id| ids.get(&hash(id)).is_none_or(|&owner| owner == part))
        };
        for (incident, &part) in self.all.incidents.iter().zip(&incident_part) {
            if !within(&deployment_ids, incident.deployment.as_deref(), part)
                || !within(&commits, incident.commit.as_deref(), part)
                || !within(&commits, incident.pull_request_commit.as_deref(), part)
            {
                return false;
            }
        }
        // A pull request an incident names is looked up in its part's
        // repositories only.
        let incident_parts: HashMap<&str, u32> =
            self.all.incidents.iter().map(|i| i.service.as_str()).zip(incident_part.iter().copied()).collect();
        self.incidents.iter().all(|incident| {
            let (Some(part), Some((repo, _))) = (
                incident_parts.get(incident.service.as_str()),
                incident.pull_request.as_deref().and_then(pr_reference),
            ) else {
                return true;
            };
            !parts.iter().enumerate().any(|(at, other)| at as u32 != *part && other.keeps_repo(repo))
        })
    }
}

/// What [`Events::build`] makes events of.
struct Rows<'a, D, I> {
    prs: Vec<PullRequest>,
    deployments: D,
    incidents: I,
    counts: &'a [PrCount],
    named: &'a HashMap<(String, u64), Option<String>>,
    since: Option<i64>,
}

/// `owner/name#12` as `("owner/name", 12)`.
/// What figures of windows starting at `since` need of the deployments
/// finishing before the read's start (`link_window`, at least the merge
/// clock tolerance, before `since`), beyond the pinned ones
/// (schema 20) that a read from then took with `deployments`: for each
/// incident the windows may count (started since then, open, or resolved
/// since then), the deployments of the id it names, those listing a commit
/// it names (or its pull request's) that none read lists, and, when it
/// started before `since`, its service's deployments within `link_window`
/// before it started (linked by time).
///
/// Nothing else before then changes those figures:
/// - a change belongs to the earliest deployment listing it, and a commit
///   listed twice pins every deployment listing it; a pull request merged
///   in the window that only an older deployment lists was deployed before
///   its merge, which the flow and lead time count as not deployed, as
///   they do a pull request no deployment lists;
/// - an incident linked to an older deployment otherwise neither fails a
///   deployment of the window nor ends a recovery in it (nor makes one
///   rework: that is the last deployment of the group by its resolution).
fn needed_before(
    since: i64,
    link_window: i64,
    deployments: &[DeploymentEvent],
    prs: &[PullRequest],
    incidents: &[IncidentEvent],
    named: &HashMap<(String, u64), Option<String>>,
) -> NeededBefore {
    let mut shipped: HashSet<&str> = HashSet::with_capacity(deployments.len() * 4);
    for d in deployments {
        match &d.commits {
            Some(list) => shipped.extend(list.iter()),
            None => {
                shipped.insert(&d.commit);
            }
        }
    }
    let mut wanted = NeededBefore::default();
    let counted = |i: &&IncidentEvent| i.started_at >= since || i.resolved_at.is_none_or(|at| at >= since);
    let counted: Vec<&IncidentEvent> = incidents.iter().filter(counted).collect();
    // Pull requests' merge commits, only when an incident names one.
    let merge_commits: HashMap<(&str, u64), &str> = if counted.iter().any(|i| i.pull_request.is_some()) {
        prs.iter().filter_map(|pr| Some(((pr.repo.as_str(), pr.number), pr.merge_commit.as_deref()?))).collect()
    } else {
        HashMap::new()
    };
    for incident in counted {
        // Every deployment of that id, also when one was read: an incident
        // names the last counted one (another source's may be left out).
        if let Some(name) = incident.deployment.as_deref() {
            wanted.names.push(name.to_owned());
        }
        let pull_request = incident.pull_request.as_deref().and_then(pr_reference).and_then(|(repo, number)| {
            match merge_commits.get(&(repo, number)) {
                Some(commit) => Some(*commit),
                None => named.get(&(repo.to_owned(), number)).and_then(|c| c.as_deref()),
            }
        });
        for commit in [incident.commit.as_deref(), pull_request].into_iter().flatten() {
            if !shipped.contains(commit) {
                wanted.shas.push(commit.to_owned());
            }
        }
        if incident.started_at < since {
            wanted.spans.push((
                incident.service.clone(),
                incident.started_at.saturating_sub(link_window),
                incident.started_at,
            ));
        }
    }
    for list in [&mut wanted.shas, &mut wanted.names] {
        list.sort_unstable();
        list.dedup();
    }
    wanted
}

/// What [`needed_before`] asks the store for.
#[derive(Debug, Default)]
struct NeededBefore {
    shas: Vec<String>,
    names: Vec<String>,
    spans: Vec<(String, i64, i64)>,
}

/// Two lists of deployments in time order (ties by row id), with their row
/// ids, as one in that order, each row once.
fn merged_in_order(
    a: Vec<DeploymentEvent>,
    a_ids: Vec<i64>,
    b: Vec<DeploymentEvent>,
    b_ids: Vec<i64>,
) -> Vec<DeploymentEvent> {
    if b.is_empty() {
        return a;
    }
    let mut all: Vec<(i64, DeploymentEvent)> = a_ids.into_iter().zip(a).chain(b_ids.into_iter().zip(b)).collect();
    all.sort_by_key(|(id, d)| (d.finished_at, *id));
    all.dedup_by_key(|(id, _)| *id);
    all.into_iter().map(|(_, d)| d).collect()
}

fn pr_reference(reference: &str) -> Option<(&str, u64)> {
    let (repo, number) = reference.rsplit_once('#')?;
    Some((repo, number.parse().ok()?))
}

/// Each item's position among the distinct items, and those (first seen first).
fn positions<T: std::hash::Hash + Eq + Copy>(items: impl Iterator<Item = T>) -> (Vec<u32>, Vec<T>) {
    let mut seen: HashMap<T, u32> = HashMap::new();
    let mut distinct = Vec::new();
    let at = items
        .map(|item| {
            *seen.entry(item).or_insert_with(|| {
                distinct.push(item);
                (distinct.len() - 1) as u32
            })
        })
        .collect();
    (at, distinct)
}

impl Events {
    /// Loads what `filter` keeps, every pull request.
    pub fn load(store: &Store, filter: &EventFilter, config: &Config) -> anyhow::Result<Events> {
        Events::load_since(store, filter, config, None)
    }

    /// Loads what `filter` keeps; pull requests only as far as they reach
    /// `since` (see [`reach`]).
    pub fn load_since(
        store: &Store,
        filter: &EventFilter,
        config: &Config,
        since: Option<i64>,
    ) -> anyhow::Result<Events> {
        Ok(StoredEvents::load(store, filter, since)?.into_events(filter, config))
    }

    /// [`Events::load_since`], with the titles and web addresses of the
    /// pull requests a windowed read goes by ([`Events::labels`]).
    pub fn load_named(
        store: &Store,
        filter: &EventFilter,
        config: &Config,
        since: Option<i64>,
    ) -> anyhow::Result<Events> {
        Ok(StoredEvents::read(store, filter, since, true, None)?.into_events(filter, config))
    }

    /// The events of stored rows that `filter` keeps: deployments kept or
    /// left out by environment and status, incidents' pull requests
    /// resolved to merge commits, sources named, pull requests counted.
    fn build<D, I>(rows: Rows<'_, D, I>, filter: &EventFilter, config: &Config) -> Events
    where
        D: Iterator<Item = DeploymentEvent>,
        I: Iterator<Item = IncidentEvent>,
    {
        let Rows { prs, deployments: stored_deployments, incidents: stored_incidents, counts, named, since } = rows;
        let mut sources: HashSet<String> = HashSet::new();
        let mut skipped_deployments = 0;
        // Room for them all at once, and nothing copied that can be moved:
        // an organisation's row converts 400,000.
        let mut deployments = Vec::with_capacity(stored_deployments.size_hint().1.unwrap_or(0));
        for event in stored_deployments {
            if !sources.contains(&event.source) {
                sources.insert(event.source.clone());
            }
            match converted(event, config) {
                Some(deployment) => deployments.push(deployment),
                None => skipped_deployments += 1,
            }
        }
        let rest = Rest { incidents: stored_incidents, counts, named, since };
        Events::finish(prs, deployments, skipped_deployments, sources, rest, filter)
    }

    /// [`Events::build`] once the deployments are converted: incidents'
    /// pull requests resolved, pull requests counted, sources named.
    fn finish<I>(
        prs: Vec<PullRequest>,
        deployments: Vec<Deployment>,
        skipped_deployments: usize,
        mut sources: HashSet<String>,
        rest: Rest<'_, I>,
        filter: &EventFilter,
    ) -> Events
    where
        I: Iterator<Item = IncidentEvent>,
    {
        let Rest { incidents: stored_incidents, counts, named, since } = rest;
        let merge_commits: IdMap<(&str, u64), &str> =
            prs.iter().filter_map(|pr| Some(((pr.repo.as_str(), pr.number), pr.merge_commit.as_deref()?))).collect();
        let incidents = stored_incidents
            .map(|i| {
                sources.insert(i.source.clone());
                let pull_request_commit =
                    i.pull_request.as_deref().and_then(pr_reference).and_then(|(repo, number)| {
                        match merge_commits.get(&(repo, number)) {
                            Some(commit) => Some((*commit).to_owned()),
                            // Left out by a windowed read: looked up (in the scope only).
                            None if filter.keeps_repo(repo) => named.get(&(repo.to_owned(), number)).cloned().flatten(),
                            None => None,
                        }
                    });
                Incident {
                    id: i.external_id,
                    service: i.service,
                    started_at: i.started_at,
                    resolved_at: i.resolved_at,
                    deployment: i.deployment,
                    commit: i.commit,
                    pull_request_commit,
                }
            })
            .collect();
        // Pull requests carry no source column in the core type: named by
        // repository and source from their counts (every one, read or not).
        let mut pr_totals = PrTotals::default();
        let mut left_out_start: Option<i64> = None;
        for count in counts.iter().filter(|c| filter.keeps_repo(&c.repo)) {
            left_out_start = left_out_start.into_iter().chain(count.left_out_merge).min();
            let kind = count.source.split(':').next().unwrap_or("import");
            sources.insert(if kind == "import" { "import".to_owned() } else { format!("{kind}:{}", count.repo) });
            pr_totals.stored += count.stored;
            pr_totals.merged += count.merged;
            pr_totals.merged_without_commit += count.merged_without_commit;
        }
        let mut sources: Vec<String> = sources.into_iter().collect();
        sources.sort();
        if since.is_some() && std::env::var_os("FULCRUM_TIMING").is_some() {
            eprintln!("events: {} of {} pull requests read", prs.len(), pr_totals.stored);
        }
        Events {
            prs,
            deployments,
            skipped_deployments,
            incidents,
            sources,
            pr_totals,
            prs_since: since,
            labels: None,
            left_out_start,
        }
    }

    /// Without a git history: when the first deployment shipping each of
    /// `wanted` (commit ids) finished; an id no deployment ships is left
    /// out. A deployment ships the commits it lists, else its own commit;
    /// the earliest finish wins (as [`fulcrum_core::deployments::attribute`]
    /// does over commits without parent edges, without building them).
    ///
    /// Only the ids asked for are kept: an organisation's deployments list
    /// 1.7 million commits, its window's pull requests 646,000 merge
    /// commits (a map of every listed id took 0.75 s of its flow).
    pub fn shipped_at<'a>(&self, wanted: impl IntoIterator<Item = &'a str>) -> IdMap<&'a str, i64> {
        let wanted = wanted.into_iter();
        let mut first: IdMap<&'a str, Option<i64>> =
            IdMap::with_capacity_and_hasher(wanted.size_hint().0, Default::default());
        for id in wanted {
            first.insert(id, None);
        }
        for d in &self.deployments {
            let mut ships = |id: &str| {
                if let Some(at) = first.get_mut(id)
                    && at.is_none_or(|at| d.finished_at < at)
                {
                    *at = Some(d.finished_at);
                }
            };
            match &d.shipped {
                Some(list) => list.iter().for_each(&mut ships),
                None => ships(&d.commit),
            }
        }
        first.into_iter().filter_map(|(id, at)| Some((id, at?))).collect()
    }

    /// Whether anything at all was found.
    /// Whether nothing is stored (deployment events left out by the
    /// environment or status filter count as stored: the report says why
    /// they do not count).
    pub fn is_empty(&self) -> bool {
        self.pr_totals.stored == 0
            && self.deployments.is_empty()
            && self.skipped_deployments == 0
            && self.incidents.is_empty()
    }

    /// Commits standing in for a history when there is no git repository:
    /// every commit named by a pull request or a deployment, without parents.
    /// With each id's position among them (borrowing the events' ids) and
    /// where each deployment points among them, found as they are made.
    ///
    /// From `from` on (the earliest deployment a report shows), a listed
    /// commit of an earlier deployment stands in only when something else
    /// names it too: a pull request, an incident, a deployment's own commit,
    /// or the list of a deployment since `from`. Each of those then has
    /// every deployment that shipped it, so what the report shows is the
    /// same; only the earlier deployments' lists are cut short (the entries
    /// left out are counted: the attribution counts them as unknown, and
    /// [`StandIns::attribution`] takes them back off). An organisation's two
    /// years of deployment lists are most of its commit ids.
    pub fn stand_in_commits<'a>(&'a self, from: Option<i64>) -> StandIns<'a> {
        let since = from.unwrap_or(i64::MIN);
        let lists = |recent: bool| {
            self.deployments.iter().filter(move |d| (d.finished_at >= since) == recent).flat_map(|d| d.shipped.iter())
        };
        // Each id's position among the stand-ins; from `from` on, first every
        // id named besides the earlier deployments' lists, not yet placed
        // (one map, each id hashed once per mention: a second map of those
        // needed was a third of the organisation's stand-ins).
        const UNPLACED: usize = usize::MAX;
        let mut seen: IdMap<&str, usize> = IdMap::default();
        let room = if from.is_some() {
            let recent: usize = lists(true).map(CommitList::len).sum();
            seen.reserve(self.prs.len() + self.deployments.len() + recent);
            for pr in &self.prs {
                if let (Some(merge), Some(_)) = (&pr.merge_commit, pr.merged_at) {
                    seen.insert(merge, UNPLACED);
                }
            }
            for incident in &self.incidents {
                for id in [&incident.commit, &incident.pull_request_commit].into_iter().flatten() {
                    seen.insert(id, UNPLACED);
                }
            }
            for d in &self.deployments {
                seen.insert(&d.commit, UNPLACED);
            }
            for id in lists(true).flatten() {
                seen.insert(id, UNPLACED);
            }
            // Every stand-in is one of those (each once).
            seen.len()
        } else {
            // Sized for every id named at once: growing maps and vectors of
            // millions was a fifth of the organisation's report.
            let named = self.prs.len()
                + self.deployments.len()
                + lists(false).chain(lists(true)).map(CommitList::len).sum::<usize>();
            seen.reserve(named);
            named
        };
        let mut commits = Vec::with_capacity(room);
        let place = |commits: &mut Vec<Commit>, slot: &mut usize, id: &str, author: &str, at: i64| {
            if *slot == UNPLACED {
                *slot = commits.len();
                commits.push(Commit {
                    id: id.to_owned(),
                    parents: Vec::new(),
                    author: Person { name: author.to_owned(), email: String::new() },
                    author_time: at,
                    author_offset_minutes: 0,
                    committer_time: at,
                    subject: String::new(),
                    reverts: None,
                });
            }
            *slot
        };
        for pr in &self.prs {
            if let (Some(merge), Some(merged)) = (&pr.merge_commit, pr.merged_at) {
                let at = place(&mut commits, seen.entry(merge).or_insert(UNPLACED), merge, &pr.author, merged);
                // A merge commit two pull requests name stands in at the
                // earlier merge, whichever was read first: where the data
                // starts (the one thing a stand-in's time says) is then the
                // same for every read that has either.
                let commit = &mut commits[at];
                commit.author_time = commit.author_time.min(merged);
                commit.committer_time = commit.committer_time.min(merged);
            }
        }
        let mut left_out = 0;
        let mut targets = Vec::with_capacity(self.deployments.len());
        for d in &self.deployments {
            let commit =
                Some(place(&mut commits, seen.entry(&d.commit).or_insert(UNPLACED), &d.commit, "", d.finished_at));
            let cut = from.is_some() && d.finished_at < since;
            let listed = d.shipped.as_ref().map(|list| {
                list.iter()
                    .map(|id| {
                        let slot = if cut { seen.get_mut(id) } else { Some(seen.entry(id).or_insert(UNPLACED)) };
                        match slot {
                            Some(slot) => Some(place(&mut commits, slot, id, "", d.finished_at)),
                            None => {
                                left_out += 1;
                                None
                            }
                        }
                    })
                    .collect()
            });
            targets.push(Target { commit, listed });
        }
        // Named by an incident alone: not a stand-in.
        seen.retain(|_, at| *at != UNPLACED);
        StandIns { commits, index: seen, targets, left_out }
    }
}

/// What [`Events::stand_in_commits`] made.
pub struct StandIns<'a> {
    /// The commits standing in for a history.
    pub commits: Vec<Commit>,
    /// Each stand-in's position in `commits`.
    pub index: IdMap<&'a str, usize>,
    /// Per deployment: its commit's position and its list's (an entry left
    /// out: `None`).
    targets: Vec<Target>,
    /// How many listed entries were left out.
    left_out: usize,
}

impl StandIns<'_> {
    /// The attribution of the stand-ins to `deployments` (the events' own,
    /// those the stand-ins were made from): the entries left out are not
    /// counted as unknown.
    pub fn attribution(&self, deployments: &[Deployment]) -> fulcrum_core::deployments::Attribution {
        debug_assert_eq!(deployments.len(), self.targets.len(), "the stand-ins' deployments");
        // Stand-ins have no parents: each deployment ships its own commit or its list.
        let graph = fulcrum_core::deployments::CommitGraph::from_parents(self.commits.iter().map(|_| []));
        let mut attribution = fulcrum_core::deployments::attribute_graph(&graph, deployments, &self.targets);
        debug_assert!(attribution.unknown_shipped >= self.left_out, "each entry left out is unknown");
        attribution.unknown_shipped = attribution.unknown_shipped.saturating_sub(self.left_out);
        attribution
    }
}

/// Frees `value` on a thread of its own. A team's events are hundreds of
/// thousands of small allocations (80 ms of a 2-million-pull-request
/// organisation's team flow): the answer need not wait for them, and a
/// command that ends first hands them back to the system at once.
pub fn free_aside<T: Send + 'static>(value: T) {
    // If no thread can be made, the closure (and `value`) drops here.
    let _ = std::thread::Builder::new().name("free".to_owned()).spawn(move || drop(value));
}

/// Clock tolerance between a host's merge time and git's: a deployment that
/// finished at most this long before the merge is taken as finishing at the
/// merge. In trunk mode the deployment *is* the merge commit, whose committer
/// time a host may write a second or two before its recorded `merged_at`.
pub const MERGE_CLOCK_TOLERANCE: i64 = 300;

/// A deployment finish up to [`MERGE_CLOCK_TOLERANCE`] before the merge is
/// taken as the merge.
pub fn tolerate_clock(finished: i64, merged_at: Option<i64>) -> i64 {
    match merged_at {
        Some(merged) if finished < merged && merged - finished <= MERGE_CLOCK_TOLERANCE => merged,
        _ => finished,
    }
}

/// For each pull request's merge commit, when the first deployment shipping
/// it finished (within [`MERGE_CLOCK_TOLERANCE`] of the merge: the merge).
pub fn deployed_at<'a>(
    prs: &'a [PullRequest],
    commits: &[Commit],
    deployments: &[Deployment],
    attribution: &Attribution,
) -> IdMap<&'a str, i64> {
    let index: IdMap<&str, usize> = commits.iter().enumerate().map(|(i, c)| (c.id.as_str(), i)).collect();
    prs.iter()
        .filter_map(|pr| {
            let merge = pr.merge_commit.as_deref()?;
            let d = attribution.first_shipping(*index.get(merge)?)?;
            Some((merge, tolerate_clock(deployments[d].finished_at, pr.merged_at)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(repos: &[&str], services: &[&str]) -> EventFilter {
        EventFilter {
            repos: repos.iter().map(|r| (*r).to_owned()).collect(),
            services: services.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    /// Stored rows of two teams' repositories and services, of every kind
    /// a selection decides: deployments left out by status and environment,
    /// of several sources, without a repository; incidents naming pull
    /// requests of their own team, of another, and left out of the read.
    fn stored_rows() -> StoredEvents {
        let pr = |repo: &str, number: u64, merge: &str| PullRequest {
            id: format!("import:pr:{repo}#{number}"),
            repo: repo.to_owned(),
            number,
            author: "dev".to_owned(),
            created_at: 100 * number as i64,
            ready_at: None,
            draft: false,
            merged_at: Some(100 * number as i64 + 50),
            closed_at: Some(100 * number as i64 + 50),
            merge_commit: Some(merge.to_owned()),
            additions: 1,
            deletions: 0,
            size_unknown: false,
            commits: Vec::new(),
            activities: Vec::new(),
            updated_at: None,
        };
        let deployment =
            |id: &str, repo: Option<&str>, service: &str, env: &str, status: &str, source: &str| DeploymentEvent {
                source: source.to_owned(),
                external_id: id.to_owned(),
                repo: repo.map(str::to_owned),
                service: service.to_owned(),
                environment: env.to_owned(),
                commit: format!("c-{id}"),
                finished_at: 1000,
                status: status.to_owned(),
                name: (id == "d1").then(|| "release 1".to_owned()),
                commits: (id != "d3").then(|| [format!("c-{id}"), "shared".to_owned()].into_iter().collect()),
            };
        let incident = |id: &str, service: &str, pr: Option<&str>| IncidentEvent {
            source: "pagerduty".to_owned(),
            external_id: id.to_owned(),
            service: service.to_owned(),
            title: None,
            started_at: 2000,
            resolved_at: Some(3000),
            deployment: None,
            commit: None,
            pull_request: pr.map(str::to_owned),
        };
        let prs =
            vec![pr("acme/shop", 1, "m1"), pr("acme/web", 2, "m2"), pr("acme/shop", 3, "m3"), pr("acme/api", 4, "m4")];
        let deployments = vec![
            deployment("d1", Some("acme/shop"), "shop", "production", "success", "import"),
            deployment("d2", Some("acme/web"), "web", "production", "success", "github:acme/web"),
            deployment("d3", None, "shop", "staging", "success", "import"),
            deployment("d4", None, "web", "production", "failure", "ci"),
            deployment("d5", Some("acme/api"), "api", "prod-eu", "success", "import"),
        ];
        let incidents = vec![
            incident("i1", "shop", Some("acme/shop#3")),
            incident("i2", "web", Some("acme/shop#1")),
            incident("i3", "web", Some("acme/web#9")),
            incident("i4", "api", None),
        ];
        let (pr_repo, repos) = positions(prs.iter().map(|pr| &pr.repo));
        let (deployment_target, targets) = positions(deployments.iter().map(|d| (&d.repo, &d.service)));
        let repos = repos.into_iter().cloned().collect();
        let targets = targets.into_iter().map(|(repo, service)| (repo.clone(), service.clone())).collect();
        let count = |repo: &str, source: &str| PrCount {
            repo: repo.to_owned(),
            source: source.to_owned(),
            stored: 3,
            merged: 2,
            merged_without_commit: 1,
            left_out_merge: Some(1000),
        };
        StoredEvents {
            prs,
            deployments,
            incidents,
            pr_repo,
            repos,
            deployment_target,
            targets,
            counts: vec![
                count("acme/shop", "import"),
                count("acme/web", "github:acme/web"),
                count("acme/api", "import"),
            ],
            named: [(("acme/web".to_owned(), 9), Some("m9".to_owned()))].into_iter().collect(),
            since: Some(50),
            labels: None,
        }
    }

    #[test]
    fn a_team_selects_from_shared_events_what_it_selects_from_stored_rows() {
        let config = Config::load(None, None, &Default::default()).unwrap();
        let wide = filter(&["acme/shop", "acme/web", "acme/api"], &["shop", "web", "api"]);
        let shared = stored_rows().share(&wide, &config);
        assert!(shared.serves(&config));
        let whole = stored_rows().into_events(&wide, &config);
        assert_eq!(format!("{:?}", shared.all), format!("{whole:?}"), "the organisation's own events");
        for narrow in [
            filter(&["acme/shop"], &["shop"]),
            filter(&["acme/web"], &["web"]),
            filter(&["shop", "web"], &["web", "api"]),
            filter(&["acme/api"], &["api"]),
            filter(&["acme/none"], &["none"]),
            wide.clone(),
        ] {
            let expected = stored_rows().select(&narrow, &config);
            let selected = shared.select(&narrow, &config);
            assert_eq!(format!("{selected:?}"), format!("{expected:?}"), "{narrow:?}");
        }
        // Some of each kind were left out, kept and resolved.
        let shop = shared.select(&filter(&["acme/shop"], &["shop"]), &config);
        assert_eq!(shop.skipped_deployments, 1);
        assert_eq!(shop.deployments.iter().map(|d| d.name.as_str()).collect::<Vec<_>>(), ["release 1"]);
        let web = shared.select(&filter(&["acme/web"], &["web"]), &config);
        assert_eq!(
            web.incidents.iter().map(|i| i.pull_request_commit.as_deref()).collect::<Vec<_>>(),
            [None, Some("m9")]
        );
        assert_eq!(web.sources, ["ci", "github:acme/web", "pagerduty"]);
        // Another environment pattern is not served.
        let mut staging = config.clone();
        staging.env_pattern = "^staging$".to_owned();
        assert!(!shared.serves(&staging));
    }

    #[test]
    fn the_union_keeps_what_any_filter_keeps() {
        let a = filter(&["shop", "acme/api"], &["shop"]);
        let b = filter(&["web"], &["web", "shop"]);
        let union = StoredEvents::union(&[a.clone(), b.clone()]);
        assert_eq!(union.repos, ["shop", "acme/api", "web"]);
        assert_eq!(union.services, ["shop", "web"]);
        for repo in ["acme/shop", "acme/api", "other/web", "acme/billing"] {
            let any = a.keeps_repo(repo) || b.keeps_repo(repo);
            assert!(!any || union.keeps_repo(repo), "{repo}");
        }
        for (repo, service) in [(Some("acme/web"), "billing"), (None, "shop"), (Some("x/y"), "web"), (None, "z")] {
            let any = a.keeps_deployment(repo, service) || b.keeps_deployment(repo, service);
            assert!(!any || union.keeps_deployment(repo, service), "{repo:?} {service}");
        }
        // A filter with an empty list keeps everything of that kind: so does the union.
        assert_eq!(StoredEvents::union(&[a.clone(), filter(&[], &["web"])]), EventFilter::default());
        assert_eq!(StoredEvents::union(&[a, filter(&["web"], &[])]), EventFilter::default());
        assert_eq!(StoredEvents::union(&[]), EventFilter::default());
    }

    #[test]
    fn the_deployment_keeper_keeps_what_the_filter_keeps() {
        let filters = [
            filter(&["shop", "acme/api"], &["shop"]),
            filter(&[], &["web"]),
            filter(&["web"], &[]),
            EventFilter::default(),
        ];
        let rows = [
            (Some("acme/web"), "billing"),
            (None, "shop"),
            (Some("x/web"), "web"),
            (Some("ACME/API"), "z"),
            (Some("acme/api"), "z"),
            (None, "z"),
            (Some("x/shop"), "shop"),
        ];
        for f in &filters {
            let mut keeps = f.deployment_keeper();
            // Twice: the second pass answers from what the first decided.
            for (repo, service) in rows.iter().chain(&rows) {
                assert_eq!(keeps(*repo, service), f.keeps_deployment(*repo, service), "{f:?} {repo:?} {service}");
            }
        }
    }

    #[test]
    fn stand_in_commits_come_with_their_index_and_attribute_as_the_commits_do() {
        let pr = |number: u64, merge: Option<&str>, merged: Option<i64>| PullRequest {
            id: format!("import:pr:shop#{number}"),
            repo: "shop".to_owned(),
            number,
            author: format!("dev-{number}"),
            created_at: 0,
            ready_at: None,
            draft: false,
            merged_at: merged,
            closed_at: None,
            merge_commit: merge.map(str::to_owned),
            additions: 1,
            deletions: 0,
            size_unknown: false,
            commits: Vec::new(),
            activities: Vec::new(),
            updated_at: None,
        };
        let deployment = |id: &str, commit: &str, at: i64, listed: Option<&[&str]>| Deployment {
            id: id.to_owned(),
            name: id.to_owned(),
            service: "shop".to_owned(),
            environment: "production".to_owned(),
            commit: commit.to_owned(),
            finished_at: at,
            source: fulcrum_core::model::DeploymentSource::Event,
            shipped: listed.map(|l| l.iter().map(|c| (*c).to_owned()).collect()),
        };
        let events = Events {
            // m2 twice (a merge and a listed commit), m3 merged, never
            // deployed; d0 lists m2 before d2 does, and old1 alone.
            prs: vec![pr(1, Some("m1"), Some(10)), pr(2, Some("m2"), Some(20)), pr(3, Some("m3"), Some(30))],
            deployments: vec![
                deployment("d0", "o0", 5, Some(&["old1", "m2"])),
                deployment("d1", "m1", 15, None),
                deployment("d2", "m2", 25, Some(&["x1", "m2"])),
                deployment("d3", "m1", 40, None),
            ],
            ..Events::default()
        };
        let stand_ins = events.stand_in_commits(None);
        assert_eq!(stand_ins.left_out, 0);
        let (commits, index) = (&stand_ins.commits, &stand_ins.index);
        let ids: Vec<&str> = commits.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["m1", "m2", "m3", "o0", "old1", "x1"]);
        assert_eq!(commits[1].author.name, "dev-2");
        assert_eq!(commits[5].author_time, 25);
        assert_eq!(index.len(), commits.len());
        for (i, commit) in commits.iter().enumerate() {
            assert_eq!(index[commit.id.as_str()], i);
        }
        let whole = stand_ins.attribution(&events.deployments);
        let built = fulcrum_core::deployments::attribute(commits, &events.deployments);
        assert_eq!(whole.shipped, built.shipped);
        // A listed deployment ships its list (not its own commit).
        assert_eq!(whole.shipped, [vec![1, 4], vec![0], vec![1, 5], vec![]]);
        assert_eq!(whole.is_baseline, built.is_baseline);
        assert_eq!(whole.groups, built.groups);
        assert_eq!(whole.unknown_shipped, 0);
        // The first finish shipping each commit asked for, whatever the
        // deployments' order: a listed deployment ships its list, not its
        // own commit (o0); m3 and a commit nobody names ship nowhere.
        let asked = ["m1", "m2", "m3", "x1", "o0", "nobody"];
        let expected: IdMap<&str, i64> = [("m1", 15), ("m2", 5), ("x1", 25)].into_iter().collect();
        assert_eq!(events.shipped_at(asked), expected);
        let mut reversed = Events { deployments: events.deployments.clone(), ..Events::default() };
        reversed.deployments.reverse();
        assert_eq!(reversed.shipped_at(asked), expected);
        // From 20 on: d0's list keeps m2 (a pull request's), not old1
        // (named by nothing else); every commit left keeps its shipping.
        let cut_ins = events.stand_in_commits(Some(20));
        assert_eq!(cut_ins.left_out, 1);
        let part = &cut_ins.commits;
        assert_eq!(cut_ins.index.len(), part.len());
        let ids: Vec<&str> = part.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["m1", "m2", "m3", "o0", "x1"]);
        let cut = cut_ins.attribution(&events.deployments);
        assert_eq!(cut.unknown_shipped, 0);
        assert_eq!(cut.is_baseline, whole.is_baseline);
        assert_eq!(cut.groups, whole.groups);
        for (c, commit) in part.iter().enumerate() {
            let before = index[commit.id.as_str()];
            assert_eq!(commit.author_time, commits[before].author_time, "{}", commit.id);
            assert_eq!(
                cut.deployments_shipping(c).collect::<Vec<_>>(),
                whole.deployments_shipping(before).collect::<Vec<_>>(),
                "{}",
                commit.id
            );
        }
        for d in 1..events.deployments.len() {
            let named = |a: &fulcrum_core::deployments::Attribution, ids: &[Commit]| -> Vec<String> {
                a.shipped[d].iter().map(|&c| ids[c].id.clone()).collect()
            };
            assert_eq!(named(&cut, part), named(&whole, commits));
        }
    }

    #[test]
    fn positions_number_distinct_items_in_first_seen_order() {
        let (at, distinct) = positions(["b", "a", "b", "c", "a"].into_iter());
        assert_eq!(at, [0, 1, 0, 2, 1]);
        assert_eq!(distinct, ["b", "a", "c"]);
    }
}
