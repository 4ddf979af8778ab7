//! The commands as a front end calls them: a request in, a report out.
//! Which repository, which window, whether to sync first, which stored
//! events belong to the report: decided here, so the command line and the
//! team server give the same numbers for the same request. Front ends read
//! the process (flags, the clock, the terminal) and print; nothing here
//! does.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use fulcrum_core::dora::Metric;
use fulcrum_core::time::{Window, parse_instant};

use crate::analyses::analysis::{self, Analysis};
use crate::analyses::check;
use crate::analyses::delivery;
use crate::analyses::flow::{self, FlowAnalysis};
use crate::analyses::knowledge::{self, HotspotsReport, KnowledgeOptions, KnowledgeReport, KnowledgeSection};
use crate::config::{self, Config};
use crate::error::UsageError;
use crate::sources::git::{self, GitRepo};
use crate::sources::sync::{self, SyncOptions, SyncSummary};
use crate::store::{self, Store};

use anyhow::Context as _;

pub mod goals;

/// What every request runs in.
#[derive(Debug, Clone)]
pub struct Context {
    /// The database file.
    pub db: PathBuf,
    /// A configuration file given by the user (trusted), else the
    /// repository's `fulcrum.toml`.
    pub config: Option<PathBuf>,
    /// "Now", epoch seconds.
    pub now: i64,
}

/// A window as the user wrote it (`--since`, `--until`).
#[derive(Debug, Clone, Default)]
pub struct WindowRequest {
    /// Start: a date, a UTC time or a span before now; `None`: the
    /// configured default.
    pub since: Option<String>,
    /// End, exclusive; `None`: now. Never later than now.
    pub until: Option<String>,
}

impl WindowRequest {
    /// The window, with `default_since` when no start was given.
    pub fn resolve(&self, default_since: &str, now: i64) -> anyhow::Result<Window> {
        let start = match &self.since {
            Some(since) => parse_instant(since, now).with_context(|| format!("--since {since}"))?,
            None => {
                parse_instant(default_since, now).with_context(|| format!("the default window `{default_since}`"))?
            }
        };
        // The window ends now at the latest: weeks that have not happened yet
        // are not weeks without deployments (and `--until 9999-12-31` would be
        // 416,000 of them).
        let end = match &self.until {
            Some(until) => parse_instant(until, now).with_context(|| format!("--until {until}"))?.min(now + 1),
            None => now + 1,
        };
        if start < 0 || end < 0 {
            return Err(UsageError(format!(
                "the window starts before 1970 ({}); pass a later --since",
                fulcrum_core::time::format_datetime(start.min(end))
            ))
            .into());
        }
        if start >= end {
            return Err(UsageError(format!(
                "the window is empty: --since {} is not before --until {}; pass an earlier --since",
                fulcrum_core::time::format_datetime(start),
                fulcrum_core::time::format_datetime(end)
            ))
            .into());
        }
        Ok(Window { start, end })
    }

    /// Said when `until` lies in the future and the window was cut at now.
    fn future_note(&self, now: i64) -> Option<String> {
        let until = self.until.as_deref()?;
        let end = parse_instant(until, now).ok()?;
        (end > now + 1).then(|| {
            format!(
                "--until {until} is in the future: the window ends now ({})",
                fulcrum_core::time::format_datetime(now)
            )
        })
    }
}

/// Erases a person from the store (`fulcrum person forget`): `identities`
/// (account name, e-mails, names, logins) become one pseudonym in the
/// history, now and in later syncs; their goals, check-ins, survey
/// invitations and account are deleted.
pub fn forget_person(context: &Context, identities: &[String]) -> anyhow::Result<store::Forgotten> {
    let Some(first) = identities.first() else {
        return Err(UsageError("name the person: their account name, e-mails, names or logins".into()).into());
    };
    let digest = crate::trust::sha256_hex(first.to_lowercase().as_bytes());
    let pseudonym = format!("forgotten-{}", &digest[..8]);
    Ok(open_store(&context.db, true)?.forget_person(identities, &pseudonym)?)
}

/// The delivery report.
#[derive(Debug, Clone, Default)]
pub struct ReportRequest {
    /// Repositories: none (the current directory when it is one, else the
    /// stored events), one, or several rolled up as one team.
    pub repos: Vec<PathBuf>,
    /// Without a repository: only these services and repositories of the
    /// stored events.
    pub services: Vec<String>,
    /// The window.
    pub window: WindowRequest,
    /// Sync the repositories first, with these options.
    pub sync: Option<SyncOptions>,
    /// Settings given on the command line.
    pub overrides: config::Overrides,
    /// Include the knowledge summary.
    pub knowledge: bool,
    /// `--team NAME`: the team's repositories and services instead of
    /// `repos` and `services`.
    pub team: Option<String>,
}

/// What a team's report reads: its repositories (rolled up), the services
/// of its stored events, or both.
#[derive(Debug, Clone, Default)]
struct Reach {
    repos: Vec<PathBuf>,
    /// Without repositories: the stored events of these services only.
    services: Vec<String>,
    /// With repositories: stored events of these services too.
    also: Vec<String>,
}

/// The configuration the organisation's teams are read from: `--config`,
/// else the current directory's `fulcrum.toml`.
pub fn organisation_config(context: &Context) -> anyhow::Result<Config> {
    Ok(Config::load(context.config.as_deref(), Some(Path::new(".")), &Default::default())?)
}

/// What `--team` (or `--repo`/`--service`) asks to read.
fn reach(context: &Context, team: Option<&str>, repos: &[PathBuf], services: &[String]) -> anyhow::Result<Reach> {
    let Some(name) = team else {
        return Ok(Reach { repos: repos.to_vec(), services: services.to_vec(), also: Vec::new() });
    };
    if !repos.is_empty() || !services.is_empty() {
        return Err(UsageError(
            "--team chooses the repositories and services from [[team]]; drop --repo and --service".into(),
        )
        .into());
    }
    let config = organisation_config(context)?;
    let team = config.team(name)?;
    Ok(if team.repositories.is_empty() {
        Reach { repos: Vec::new(), services: team.services.clone(), also: Vec::new() }
    } else {
        Reach { repos: team.repositories.clone(), services: Vec::new(), also: team.services.clone() }
    })
}

/// What [`report`] produced.
#[derive(Debug)]
pub struct ReportOutcome {
    /// The report.
    pub analysis: Analysis,
    /// The sync of the (first) repository, when it ran.
    pub sync: Option<SyncSummary>,
    /// The syncs of the other repositories of a team roll-up: name, summary.
    pub team_syncs: Vec<(String, SyncSummary)>,
    /// The knowledge summary.
    pub knowledge: Option<KnowledgeSection>,
}

/// The delivery report of `request`.
pub fn report(context: &Context, request: &ReportRequest) -> anyhow::Result<ReportOutcome> {
    let reach = reach(context, request.team.as_deref(), &request.repos, &request.services)?;
    report_with(context, request, &reach)
}

/// The delivery report of what `reach` names; `request.team` only says
/// that a team chose it (no implied repository, no refusal of
/// repositories with services).
fn report_with(context: &Context, request: &ReportRequest, reach: &Reach) -> anyhow::Result<ReportOutcome> {
    let now = context.now;
    let chosen = request.team.is_some() || !reach.also.is_empty();
    let implied = reach.repos.is_empty() && !chosen;
    let repo_path = match chosen {
        true => reach.repos.first().cloned(),
        false => use_repository(reach.repos.first().map(PathBuf::as_path), &reach.services)?,
    };
    let config = Config::load(context.config.as_deref(), repo_path.as_deref(), &request.overrides)?;
    let window = request.window.resolve(&config.window, now)?;
    let syncing = request.sync.as_ref();
    // Every repository is opened before the database: bad input creates nothing.
    let opened = match (&repo_path, syncing) {
        (Some(path), Some(_)) => Some(open_repo(path)?),
        _ => None,
    };
    let team = reach.repos.iter().skip(1).map(|path| match syncing {
        Some(_) => open_repo(path).map(|o| (Some(o), path.clone())),
        None => Ok((None, path.clone())),
    });
    let team = team.collect::<anyhow::Result<Vec<_>>>()?;
    let mut store = open_store(&context.db, repo_path.is_some() && syncing.is_some())?;
    let mut members: Vec<(String, String)> = Vec::new();
    let mut team_syncs = Vec::new();
    for (opened, path) in team {
        let (key, name) = match (opened, syncing) {
            (Some((repo, key, name)), Some(options)) => {
                team_syncs.push((name.clone(), sync::sync(&mut store, &repo, &key, &name, now, options)?));
                (key, name)
            }
            _ => repo_key(&path)?,
        };
        members.push((key, name));
    }
    let outcome = |analysis| ReportOutcome { analysis, sync: None, team_syncs: Vec::new(), knowledge: None };
    let Some(repo_path) = repo_path else {
        return Ok(outcome(analysis::analyze(&store, &store_scope(&reach.services), &config, window)?));
    };
    let (key, name, summary) = match (opened, syncing) {
        (Some((repo, key, name)), Some(options)) => {
            let summary = sync::sync(&mut store, &repo, &key, &name, now, options)?;
            (key, name, Some(summary))
        }
        _ => {
            let (key, name) = repo_key(&repo_path)?;
            (key, name, None)
        }
    };
    let service = config.service.clone().unwrap_or_else(|| name.clone());
    let mut scope = repo_scope(&key, &name, &service, &config);
    roll_up(&mut scope, &members, &reach.also);
    let mut analysis = match analysis::analyze(&store, &scope, &config, window) {
        Ok(mut analysis) => {
            analysis.warnings.extend(request.window.future_note(now));
            analysis
        }
        Err(e) if implied && gives_no_deployments(&e) && holds_events(&store, &config)? => {
            let mut analysis = analysis::analyze(&store, &store_scope(&[]), &config, window)?;
            analysis.warnings.insert(0, implied_repository_note(&name, &e));
            return Ok(outcome(analysis));
        }
        Err(e) => return Err(e),
    };
    let knowledge = if !request.knowledge {
        None
    } else if !members.is_empty() {
        analysis.warnings.push(
            "knowledge section left out of a team roll-up: run `fulcrum knowledge --repo PATH` per repository"
                .to_owned(),
        );
        None
    } else {
        // The delivery report stands on its own: a knowledge failure is a warning.
        let result = GitRepo::open(&repo_path).map_err(anyhow::Error::from).and_then(|repo| {
            let options = KnowledgeOptions { now, ..Default::default() };
            knowledge::knowledge(&store, &repo, &key, &config, &options)
        });
        match result {
            Ok(report) => Some(KnowledgeSection::from(report)),
            Err(e) => {
                analysis.warnings.push(format!("knowledge section left out: {e:#}"));
                None
            }
        }
    };
    Ok(ReportOutcome { analysis, sync: summary, team_syncs, knowledge })
}

/// The pull-request value stream.
#[derive(Debug, Clone, Default)]
pub struct FlowRequest {
    /// The repository: `None` for the current directory when it is one,
    /// else the stored events.
    pub repo: Option<PathBuf>,
    /// Without a repository: only these services and repositories.
    pub services: Vec<String>,
    /// The window.
    pub window: WindowRequest,
    /// Sync the repository first, with these options.
    pub sync: Option<SyncOptions>,
    /// `--deploy-mode`.
    pub deploy_mode: Option<String>,
    /// `--team NAME`: the team's repositories (rolled up) and services
    /// instead of `repo` and `services`.
    pub team: Option<String>,
}

/// The flow report of `request`.
pub fn flow(context: &Context, request: &FlowRequest) -> anyhow::Result<FlowAnalysis> {
    let now = context.now;
    let overrides = config::Overrides { deploy_mode: request.deploy_mode.clone(), ..Default::default() };
    let reach = reach(context, request.team.as_deref(), request.repo.as_slice(), &request.services)?;
    if request.team.is_some() {
        return team_flow(context, request, &reach, &overrides);
    }
    let implied = request.repo.is_none();
    let repo_path = use_repository(request.repo.as_deref(), &request.services)?;
    let config = Config::load(context.config.as_deref(), repo_path.as_deref(), &overrides)?;
    let window = request.window.resolve(&config.window, now)?;
    // The repository is opened before the database: bad input creates nothing.
    let opened = match (&repo_path, &request.sync) {
        (Some(path), Some(_)) => Some(GitRepo::open(path)?),
        _ => None,
    };
    let mut store = open_store(&context.db, repo_path.is_some() && request.sync.is_some())?;
    let Some(repo_path) = repo_path else {
        return flow::analyze(&store, &store_scope(&request.services), &config, window, now);
    };
    let (key, name) = repo_key(&repo_path)?;
    if let (Some(repo), Some(options)) = (opened, &request.sync) {
        sync::sync(&mut store, &repo, &key, &name, now, options)?;
    }
    let service = config.service.clone().unwrap_or_else(|| name.clone());
    let scope = repo_scope(&key, &name, &service, &config);
    match flow::analyze(&store, &scope, &config, window, now) {
        Err(e) if implied && gives_no_deployments(&e) && holds_events(&store, &config)? => {
            let mut analysis = flow::analyze(&store, &store_scope(&[]), &config, window, now)?;
            analysis.report.warnings.insert(0, implied_repository_note(&name, &e));
            Ok(analysis)
        }
        result => result,
    }
}

/// The flow of a team: its repositories rolled up as `report` does, with
/// the stored events of its services.
fn team_flow(
    context: &Context,
    request: &FlowRequest,
    reach: &Reach,
    overrides: &config::Overrides,
) -> anyhow::Result<FlowAnalysis> {
    let now = context.now;
    let config = Config::load(context.config.as_deref(), reach.repos.first().map(PathBuf::as_path), overrides)?;
    let window = request.window.resolve(&config.window, now)?;
    let opened = match &request.sync {
        Some(_) => reach.repos.iter().map(|p| open_repo(p).map(Some)).collect::<anyhow::Result<Vec<_>>>()?,
        None => reach.repos.iter().map(|_| None).collect(),
    };
    let mut store = open_store(&context.db, request.sync.is_some() && !reach.repos.is_empty())?;
    let mut keys: Vec<(String, String)> = Vec::new();
    for (path, opened) in reach.repos.iter().zip(opened) {
        match (opened, &request.sync) {
            (Some((repo, key, name)), Some(options)) => {
                sync::sync(&mut store, &repo, &key, &name, now, options)?;
                keys.push((key, name));
            }
            _ => keys.push(repo_key(path)?),
        }
    }
    let Some(((key, name), members)) = keys.split_first() else {
        return flow::analyze(&store, &store_scope(&reach.services), &config, window, now);
    };
    let service = config.service.clone().unwrap_or_else(|| name.clone());
    let mut scope = repo_scope(key, name, &service, &config);
    roll_up(&mut scope, members, &reach.also);
    flow::analyze(&store, &scope, &config, window, now)
}

/// Calls `f` with the configuration and the scope `report --team` and
/// `flow --team` would build for `reach`.
fn with_team_scope<R>(
    context: &Context,
    reach: &Reach,
    overrides: &config::Overrides,
    f: impl FnOnce(&Config, &analysis::Scope<'_>) -> anyhow::Result<R>,
) -> anyhow::Result<R> {
    let config = Config::load(context.config.as_deref(), reach.repos.first().map(PathBuf::as_path), overrides)?;
    let keys = reach.repos.iter().map(|p| repo_key(p)).collect::<anyhow::Result<Vec<_>>>()?;
    let service: String;
    let scope = match keys.split_first() {
        None => store_scope(&reach.services),
        Some(((key, name), members)) => {
            service = config.service.clone().unwrap_or_else(|| name.clone());
            let mut scope = repo_scope(key, name, &service, &config);
            roll_up(&mut scope, members, &reach.also);
            scope
        }
    };
    f(&config, &scope)
}

/// A team's delivery report and flow from its events, selected from the
/// organisation's (read once for every row; `stored` must keep at least
/// what the team's filter keeps) or, given by value, the organisation's own.
fn team_figures(
    context: &Context,
    reach: &Reach,
    window: &WindowRequest,
    overrides: &config::Overrides,
    stored: Stored<'_>,
) -> anyhow::Result<(anyhow::Result<Analysis>, anyhow::Result<FlowAnalysis>)> {
    with_team_scope(context, reach, overrides, |config, scope| {
        let window = window.resolve(&config.window, context.now)?;
        let store = open_store(&context.db, false)?;
        let started = std::time::Instant::now();
        let events = match stored {
            Stored::Shared(stored) => stored.select(&scope.filter, config),
            Stored::Owned(stored) => stored.into_events(&scope.filter, config),
            Stored::Converted(shared) => shared.select(&scope.filter, config),
        };
        // The report and the flow of one scope are independent: the
        // organisation's row (the largest) runs them side by side.
        let (delivery, flow) = std::thread::scope(|threads| {
            let flow = threads.spawn(|| -> anyhow::Result<FlowAnalysis> {
                let store = open_store(&context.db, false)?;
                // A row shows figures: the pull requests behind them go unnamed.
                flow::analyze_loaded(&store, scope, config, window, context.now, &events, started, false)
            });
            let delivery = analysis::analyze_loaded(&store, scope, config, window, &events, COMPARE);
            (delivery, flow.join().expect("a flow analysis does not panic"))
        });
        delivery::free_aside(events);
        Ok((delivery, flow))
    })
}

/// The organisation view shows each row's window alone: no comparison with
/// the window before, whose events it then neither reads nor measures (at
/// 2,000,000 pull requests, 424,428 read instead of 646,402; see README).
const COMPARE: analysis::Compare = analysis::Compare::Alone;

/// The organisation's events for a row: shared (a team selects its own),
/// or the organisation's row's own, taken whole; or converted once and
/// shared (a team selects its own, which every row's configuration counts
/// alike: see `SharedEvents::serves`).
enum Stored<'a> {
    Shared(&'a delivery::StoredEvents),
    Owned(Box<delivery::StoredEvents>),
    Converted(&'a delivery::SharedEvents),
}

/// Whether `narrow` keeps no row that `wide` does not: each of its lists
/// is empty in `wide` (all) or names only entries `wide` names too.
fn keeps_no_more(narrow: &store::EventFilter, wide: &store::EventFilter) -> bool {
    let within = |narrow: &[String], wide: &[String]| {
        wide.is_empty() || (!narrow.is_empty() && narrow.iter().all(|entry| wide.contains(entry)))
    };
    within(&narrow.repos, &wide.repos) && within(&narrow.services, &wide.services)
}

/// `fulcrum org`: every team of the configuration side by side.
#[derive(Debug, Clone, Default)]
pub struct OrgRequest {
    /// The window.
    pub window: WindowRequest,
    /// Sync every team's repositories first (each once).
    pub sync: Option<SyncOptions>,
    /// How to order the teams.
    pub sort: crate::analyses::org::OrgSort,
    /// `--deploy-mode`.
    pub deploy_mode: Option<String>,
}

/// The organisation view: for each `[[team]]` its report, its flow and the
/// truck factor of its repositories, and the same over all teams together.
/// A team whose figures cannot be measured keeps its row, with the reason.
pub fn organisation(context: &Context, request: &OrgRequest) -> anyhow::Result<crate::analyses::org::OrgView> {
    use crate::analyses::org::{OrgRow, OrgView, sort};
    let config = organisation_config(context)?;
    if config.teams.is_empty() {
        return Err(UsageError(format!(
            "{}: no [[team]] entries; add them (a name, repositories and/or services, members) or pass --config with \
             the organisation's file",
            config.source
        ))
        .into());
    }
    let window = request.window.resolve(&config.window, context.now)?;
    let at = |t: i64| fulcrum_core::time::format_datetime(t);
    let window_request = WindowRequest { since: Some(at(window.start)), until: Some(at(window.end)) };
    // Every repository once: opened before the database (bad input creates nothing), synced when asked.
    let mut repositories: Vec<PathBuf> = Vec::new();
    for team in &config.teams {
        for repo in &team.repositories {
            if !repositories.contains(repo) {
                repositories.push(repo.clone());
            }
        }
    }
    if let Some(options) = &request.sync {
        let opened = repositories.iter().map(|p| open_repo(p)).collect::<anyhow::Result<Vec<_>>>()?;
        let mut store = open_store(&context.db, true)?;
        // The SQL views group by team: they see the teams as this run does.
        store.set_teams(&team_services(&config))?;
        for (repo, key, name) in opened {
            sync::sync(&mut store, &repo, &key, &name, context.now, options)?;
        }
    }
    let mut truck: std::collections::HashMap<PathBuf, Result<usize, String>> = std::collections::HashMap::new();
    for repo in &repositories {
        let result = self::knowledge(
            context,
            &KnowledgeRequest { repo: repo.clone(), sync: None, options: KnowledgeOptions::default() },
        );
        truck.insert(repo.clone(), result.map(|k| k.truck_factor).map_err(|e| format!("{e:#}")));
    }
    let overrides = config::Overrides { deploy_mode: request.deploy_mode.clone(), ..Default::default() };
    // A row's figures: its report and flow (or why its scope has none).
    type Figures = anyhow::Result<(anyhow::Result<Analysis>, anyhow::Result<FlowAnalysis>)>;
    // A row: its figures set by `figures`, then its repositories' truck factors.
    let row_with = |name: &str, reach: &Reach, members: usize, figures: &dyn Fn(&mut OrgRow)| -> OrgRow {
        let mut row = OrgRow {
            team: name.to_owned(),
            repositories: reach.repos.iter().map(|p| repo_key(p).map(|(_, n)| n).unwrap_or_default()).collect(),
            services: if reach.repos.is_empty() { reach.services.clone() } else { reach.also.clone() },
            members,
            ..OrgRow::default()
        };
        figures(&mut row);
        for repo in &reach.repos {
            match &truck[repo] {
                Ok(n) => {
                    let name = repo_key(repo).map(|(_, n)| n).unwrap_or_default();
                    if row.truck_factor.as_ref().is_none_or(|(best, _)| n < best) {
                        row.truck_factor = Some((*n, name));
                    }
                }
                Err(e) => row.notes.push(format!("knowledge: {e}")),
            }
        }
        row
    };
    let row_of = |name: &str, reach: &Reach, members: usize, figures: Figures| -> OrgRow {
        row_with(name, reach, members, &|row| match &figures {
            Ok((delivery, flow)) => {
                match delivery {
                    Ok(analysis) => row.set_delivery(analysis),
                    Err(e) => row.notes.push(format!("delivery: {e:#}")),
                }
                match flow {
                    Ok(flow) => row.set_flow(flow),
                    Err(e) => row.notes.push(format!("flow: {e:#}")),
                }
            }
            Err(e) => row.notes.push(format!("{e:#}")),
        })
    };
    let reach_of = |team: &config::Team| {
        if team.repositories.is_empty() {
            Reach { repos: Vec::new(), services: team.services.clone(), also: Vec::new() }
        } else {
            Reach { repos: team.repositories.clone(), services: Vec::new(), also: team.services.clone() }
        }
    };
    let mut services: Vec<String> = Vec::new();
    for team in &config.teams {
        for service in &team.services {
            if !services.contains(service) {
                services.push(service.clone());
            }
        }
    }
    let whole = if repositories.is_empty() {
        Reach { repos: Vec::new(), services, also: Vec::new() }
    } else {
        Reach { repos: repositories, services: Vec::new(), also: services }
    };
    let mut members: Vec<&String> = config.teams.iter().flat_map(|t| &t.members).collect();
    members.sort();
    members.dedup();
    // The events every row needs, read once. Converted once when every row
    // can share them (below): the organisation's report and flow measure
    // them, one after the other, while the other cores select and measure
    // each team's. Else each team selects its own from the rows read, then
    // the organisation's row takes them whole.
    let jobs: Vec<(&str, Reach, usize)> =
        config.teams.iter().map(|team| (team.name.as_str(), reach_of(team), team.members.len())).collect();
    // A row whose scope cannot be built says why in its own row (below).
    // Pull requests are read as far back as the earliest row's report needs.
    let store = open_store(&context.db, false)?;
    let items = store.has_work_items()?;
    let scope_of = |reach: &Reach| {
        with_team_scope(context, reach, &overrides, |config, scope| {
            let window = window_request.resolve(&config.window, context.now)?;
            let since = delivery::reach(scope.repo_key.is_some(), items, COMPARE.reach(window));
            Ok((scope.filter.clone(), since, config.env_pattern.clone(), config.link_window))
        })
    };
    // Each row's filter, reach, environments counted and incident link window.
    type RowScope = (store::EventFilter, Option<i64>, String, i64);
    let scopes: Vec<Option<RowScope>> =
        jobs.iter().map(|(_, reach, _)| reach).chain([&whole]).map(|reach| scope_of(reach).ok()).collect();
    let filters: Vec<store::EventFilter> = scopes.iter().flatten().map(|(filter, ..)| filter.clone()).collect();
    let since = scopes.iter().flatten().map(|(_, since, ..)| *since).min().flatten();
    // Incidents link by time within the longest window of any row.
    let link_window = scopes.iter().flatten().map(|(.., link_window)| *link_window).max().unwrap_or(0);
    let union = delivery::StoredEvents::union(&filters);
    // Converted once and shared by every row when the organisation's row
    // keeps all that the teams' keep and every row counts the same
    // environments (else each row converts its own, as `report --team`
    // would).
    let shared_by = match scopes.last() {
        Some(Some((filter, _, pattern, _)))
            if scopes
                .iter()
                .flatten()
                .all(|(other, _, other_pattern, _)| keeps_no_more(other, filter) && other_pattern == pattern) =>
        {
            Some(filter.clone())
        }
        _ => None,
    };
    let started = std::time::Instant::now();
    // Most of every table is read once: through SQLite's cache, not mapped
    // into the process's memory (at 2,000,000 pull requests a peak of
    // 2,004 MiB, unmapped 1,727-1,778 MiB, in the same time).
    store.unmap_pages()?;
    // The rows show the five keys and the flow's stages of the window alone:
    // the deployments it needs, not every one recorded.
    let stored = delivery::StoredEvents::load_for_windows(&store, &union, since, link_window)?;
    drop(store);
    let timing = std::env::var_os("FULCRUM_TIMING").is_some();
    if timing {
        eprintln!("org: events read in {:.3} s{}", started.elapsed().as_secs_f64(), memory_now());
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 4);
    // Rows (and halves of the organisation's) on `threads` cores, in the
    // order given: each core takes the next job when done with its last.
    fn on_cores<J: Sync, R: Send>(threads: usize, jobs: &[J], run: impl Fn(&J) -> R + Sync) -> Vec<R> {
        let next = std::sync::atomic::AtomicUsize::new(0);
        let mut done: Vec<(usize, R)> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads.min(jobs.len()).max(1))
                .map(|_| {
                    scope.spawn(|| {
                        let mut done = Vec::new();
                        loop {
                            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let Some(job) = jobs.get(i) else { return done };
                            done.push((i, run(job)));
                        }
                    })
                })
                .collect();
            workers.into_iter().flat_map(|w| w.join().expect("an organisation row does not panic")).collect()
        });
        done.sort_by_key(|(i, _)| *i);
        done.into_iter().map(|(_, r)| r).collect()
    }
    let mut rows: Vec<(usize, OrgRow)> = if let Some(filter) = shared_by {
        let config = with_team_scope(context, &whole, &overrides, |config, _| Ok(config.clone()))?;
        let shared = stored.share(&filter, &config);
        if timing {
            eprintln!("org: events converted in {:.3} s{}", started.elapsed().as_secs_f64(), memory_now());
        }
        // When the teams partition the organisation (see
        // `SharedEvents::partitioned_by`), its keys and stages are the
        // teams' samples pooled: the teams' rows are the only work, and a
        // check beside them says whether the pool may stand for the
        // organisation. Else (or when a team's figures are missing) the
        // organisation's report and flow measure it whole.
        let team_filters: Option<Vec<store::EventFilter>> =
            scopes[..jobs.len()].iter().map(|scope| scope.as_ref().map(|(filter, ..)| filter.clone())).collect();
        let poolable = whole.repos.is_empty() && team_filters.is_some() && !jobs.is_empty() && pool_enabled();
        // The organisation's report first (the longest), its flow last: the
        // two largest analyses do not hold their memory at the same time
        // while the teams' rows fill the other cores.
        enum Job {
            Report,
            Team(usize),
            Flow,
            Partition,
        }
        // (Outer results: whether the organisation's scope could be built.)
        enum Done {
            Report(Box<anyhow::Result<anyhow::Result<Analysis>>>),
            Team(Box<OrgRow>, Option<Box<Pooled>>),
            Flow(Box<anyhow::Result<anyhow::Result<FlowAnalysis>>>),
            Partition(bool),
        }
        let order: Vec<Job> = if poolable {
            std::iter::once(Job::Partition).chain((0..jobs.len()).map(Job::Team)).collect()
        } else {
            std::iter::once(Job::Report).chain((0..jobs.len()).map(Job::Team)).chain([Job::Flow]).collect()
        };
        let run = |job: &Job| match job {
            Job::Report => Done::Report(Box::new(with_team_scope(context, &whole, &overrides, |config, scope| {
                let window = window_request.resolve(&config.window, context.now)?;
                let store = open_store(&context.db, false)?;
                Ok(analysis::analyze_loaded(&store, scope, config, window, &shared.all, COMPARE))
            }))),
            Job::Team(i) => {
                let (name, reach, members) = &jobs[*i];
                let mut figures = team_figures(context, reach, &window_request, &overrides, Stored::Converted(&shared));
                let samples = match &mut figures {
                    Ok((Ok(report), Ok(flow))) if poolable => Some(Box::new(Pooled {
                        keys: std::mem::take(&mut report.dora.samples),
                        stages: std::mem::take(&mut flow.report.samples),
                    })),
                    _ => None,
                };
                Done::Team(Box::new(row_of(name, reach, *members, figures)), samples)
            }
            Job::Flow => Done::Flow(Box::new(with_team_scope(context, &whole, &overrides, |config, scope| {
                let window = window_request.resolve(&config.window, context.now)?;
                let store = open_store(&context.db, false)?;
                let started = std::time::Instant::now();
                Ok(flow::analyze_loaded(&store, scope, config, window, context.now, &shared.all, started, false))
            }))),
            Job::Partition => {
                let started = std::time::Instant::now();
                let yes = team_filters.as_deref().is_some_and(|filters| shared.partitioned_by(filters));
                if timing {
                    eprintln!(
                        "org: the teams partition the organisation: {yes} ({:.3} s)",
                        started.elapsed().as_secs_f64()
                    );
                }
                Done::Partition(yes)
            }
        };
        let done = on_cores(threads, &order, run);
        let mut rows = Vec::new();
        let mut report = None;
        let mut flow = None;
        let mut partitioned = false;
        let mut samples = Vec::new();
        for (i, done) in done.into_iter().enumerate() {
            match done {
                Done::Team(row, pooled) => {
                    rows.push((i, *row));
                    samples.push(pooled);
                }
                Done::Report(figures) => report = Some(*figures),
                Done::Flow(figures) => flow = Some(*figures),
                Done::Partition(yes) => partitioned = yes,
            }
        }
        let pooled = match samples.into_iter().collect::<Option<Vec<Box<Pooled>>>>() {
            Some(parts) if partitioned => Pooled::pool(&parts),
            _ => None,
        };
        if timing {
            let how = if pooled.is_some() { "pooled" } else { "not pooled" };
            eprintln!("org: teams' rows in {:.3} s, {how}{}", started.elapsed().as_secs_f64(), memory_now());
        }
        let organisation = match pooled {
            Some(pooled) => {
                let keys = fulcrum_core::dora::keys(&pooled.keys);
                let (stages, bottleneck) = pooled.stages.stages();
                row_with("organisation", &whole, members.len(), &|row| {
                    row.set_keys(&keys);
                    row.set_stages(&stages[4], &bottleneck);
                })
            }
            None => {
                if poolable {
                    // Measured whole after all: the check or a team said no.
                    for done in on_cores(threads, &[Job::Report, Job::Flow], run) {
                        match done {
                            Done::Report(figures) => report = Some(*figures),
                            Done::Flow(figures) => flow = Some(*figures),
                            Done::Team(..) | Done::Partition(_) => unreachable!("only the organisation's jobs"),
                        }
                    }
                }
                let figures = match (report, flow) {
                    (Some(Ok(report)), Some(Ok(flow))) => Ok((report, flow)),
                    (Some(Err(e)), _) | (_, Some(Err(e))) => Err(e),
                    _ => unreachable!("the organisation's report and flow are jobs"),
                };
                row_of("organisation", &whole, members.len(), figures)
            }
        };
        delivery::free_aside(shared);
        rows.push((0, organisation));
        rows
    } else {
        let mut rows: Vec<(usize, OrgRow)> = on_cores(threads, &jobs, |(name, reach, members)| {
            let figures = team_figures(context, reach, &window_request, &overrides, Stored::Shared(&stored));
            row_of(name, reach, *members, figures)
        })
        .into_iter()
        .enumerate()
        .map(|(i, row)| (i + 1, row))
        .collect();
        if timing {
            eprintln!("org: teams' rows in {:.3} s{}", started.elapsed().as_secs_f64(), memory_now());
        }
        let figures = team_figures(context, &whole, &window_request, &overrides, Stored::Owned(Box::new(stored)));
        rows.push((0, row_of("organisation", &whole, members.len(), figures)));
        rows
    };
    if timing {
        eprintln!("org: every row in {:.3} s{}", started.elapsed().as_secs_f64(), memory_now());
    }
    rows.sort_by_key(|(i, _)| *i);
    let mut rows = rows.into_iter().map(|(_, row)| row);
    let organisation = rows.next().expect("the organisation's row");
    let mut teams: Vec<OrgRow> = rows.collect();
    sort(&mut teams, request.sort);
    Ok(OrgView {
        window: (window.start, window.end),
        sort: request.sort,
        teams,
        organisation,
        config_source: config.source,
    })
}

/// A team's samples, which the organisation's row pools when the teams
/// partition it.
struct Pooled {
    keys: fulcrum_core::dora::Samples,
    stages: fulcrum_core::flow::FlowSamples,
}

impl Pooled {
    /// The teams' samples as the organisation's; `None` when they were not
    /// measured alike (other windows or options), so cannot be pooled.
    fn pool(parts: &[Box<Pooled>]) -> Option<Pooled> {
        Some(Pooled {
            keys: fulcrum_core::dora::Samples::pool(parts.iter().map(|p| &p.keys))?,
            stages: fulcrum_core::flow::FlowSamples::pool(parts.iter().map(|p| &p.stages))?,
        })
    }
}

/// Whether the organisation's row may pool its teams' samples:
/// `FULCRUM_ORG_POOL=0` measures it whole always (to compare the two).
fn pool_enabled() -> bool {
    std::env::var_os("FULCRUM_ORG_POOL").is_none_or(|v| v != "0")
}

/// For `FULCRUM_TIMING`: the process's resident memory now and at its
/// peak, as Linux reports them (`/proc/self/status`); empty elsewhere.
fn memory_now() -> String {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else { return String::new() };
    let field = |name: &str| {
        status.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.trim().trim_end_matches(" kB").trim().to_owned())
    };
    match (field("VmRSS:"), field("VmHWM:")) {
        (Some(now), Some(peak)) => format!(" (resident {now} KiB, peak {peak} KiB)"),
        _ => String::new(),
    }
}

/// `(team, services)` of the configuration's teams, for the store's
/// `team_services` (a team's repositories count under their directory names,
/// the service their deployments take).
pub fn team_services(config: &Config) -> Vec<(String, Vec<String>)> {
    config
        .teams
        .iter()
        .map(|team| {
            let mut services = team.services.clone();
            for repo in &team.repositories {
                if let Ok((_, name)) = repo_key(repo)
                    && !services.contains(&name)
                {
                    services.push(name);
                }
            }
            (team.name.clone(), services)
        })
        .collect()
}

/// Knowledge risk of one repository.
#[derive(Debug, Clone)]
pub struct KnowledgeRequest {
    /// The repository.
    pub repo: PathBuf,
    /// Sync it first, with these options.
    pub sync: Option<SyncOptions>,
    /// What to analyse (`now` is taken from the context).
    pub options: KnowledgeOptions,
}

/// Opens the repository (before the database: bad input creates nothing),
/// loads its configuration and syncs it when asked.
fn prepared(
    context: &Context,
    repo: &Path,
    sync: Option<&SyncOptions>,
) -> anyhow::Result<(Config, GitRepo, String, Store)> {
    let config = Config::load(context.config.as_deref(), Some(repo), &Default::default())?;
    let (opened, key, name) = open_repo(repo)?;
    let mut store = open_store(&context.db, sync.is_some())?;
    if let Some(options) = sync {
        sync::sync(&mut store, &opened, &key, &name, context.now, options)?;
    }
    Ok((config, opened, key, store))
}

/// The knowledge report of `request`.
pub fn knowledge(context: &Context, request: &KnowledgeRequest) -> anyhow::Result<KnowledgeReport> {
    let (config, repo, key, store) = prepared(context, &request.repo, request.sync.as_ref())?;
    let options = KnowledgeOptions { now: context.now, ..request.options.clone() };
    knowledge::knowledge(&store, &repo, &key, &config, &options)
}

/// Hotspots and change coupling of one repository.
#[derive(Debug, Clone)]
pub struct HotspotsRequest {
    /// The repository.
    pub repo: PathBuf,
    /// Sync it first, with these options.
    pub sync: Option<SyncOptions>,
    /// The window (default `hotspots.window`).
    pub window: WindowRequest,
}

/// The hotspots report of `request`.
pub fn hotspots(context: &Context, request: &HotspotsRequest) -> anyhow::Result<HotspotsReport> {
    // The window is checked before anything is opened.
    let config = Config::load(context.config.as_deref(), Some(&request.repo), &Default::default())?;
    let window = request.window.resolve(&config.hotspots_window, context.now)?;
    let (config, repo, key, store) = prepared(context, &request.repo, request.sync.as_ref())?;
    knowledge::hotspots(&store, &repo, &key, &config, window)
}

/// The team's agreements checked.
#[derive(Debug, Clone)]
pub struct CheckRequest {
    /// The repository.
    pub repo: PathBuf,
    /// Sync it first, with these options.
    pub sync: Option<SyncOptions>,
    /// The window.
    pub window: WindowRequest,
    /// Rules given on the command line, added to `check.fail_if`.
    pub rules: Vec<String>,
}

/// Each rule of `request` judged.
pub fn check(context: &Context, request: &CheckRequest) -> anyhow::Result<Vec<check::Verdict>> {
    let now = context.now;
    let config = Config::load(context.config.as_deref(), Some(&request.repo), &Default::default())?;
    let mut texts = config.check_rules.clone();
    texts.extend(request.rules.iter().cloned());
    if texts.is_empty() {
        return Err(UsageError(
            "no rules to check: add check.fail_if to fulcrum.toml or pass --fail-if \"truck_factor < 2\"".into(),
        )
        .into());
    }
    let rules = texts.iter().map(|t| check::parse(t)).collect::<Result<Vec<_>, _>>()?;
    let window = request.window.resolve(&config.window, now)?;
    let (config, repo, key, store) = prepared(context, &request.repo, request.sync.as_ref())?;
    let name = repo_key(&request.repo)?.1;
    let service = config.service.clone().unwrap_or_else(|| name.clone());
    let scope = repo_scope(&key, &name, &service, &config);
    let wants = |metrics: &[&str]| rules.iter().any(|r| metrics.contains(&r.metric));
    let dora = analysis::analyze(&store, &scope, &config, window).map_err(|e| format!("{e:#}"));
    let knowledge = wants(&["truck_factor", "active_truck_factor", "single_author_files"]).then(|| {
        let options = KnowledgeOptions { now, ..Default::default() };
        knowledge::knowledge(&store, &repo, &key, &config, &options).map_err(|e| format!("{e:#}"))
    });
    let hotspots = wants(&["single_author_hotspots"])
        .then(|| knowledge::hotspots(&store, &repo, &key, &config, window).map_err(|e| format!("{e:#}")));
    let flow = wants(&["agreement_breaches", "stale_pull_requests", "cycle_time"])
        .then(|| flow::analyze(&store, &scope, &config, window, now).map_err(|e| format!("{e:#}")));
    let value = |m: Metric<f64>| match m {
        Metric::Value(v) => Ok(v),
        Metric::NoData { reason } => Err(reason),
    };
    let measure = |metric: &str| -> Result<f64, String> {
        let d = || dora.as_ref().map(|a| &a.dora).map_err(Clone::clone);
        match metric {
            "deployment_frequency" => value(map(&d()?.deployment_frequency, |f| f.per_week)),
            "lead_time" => value(map(&d()?.lead_time, |l| l.summary.median)),
            "change_failure_rate" => value(map(&d()?.change_failure_rate, |c| c.rate)),
            "recovery_time" => value(map(&d()?.recovery_time, |r| r.summary.median)),
            "rework_rate" => value(map(&d()?.rework_rate, |r| r.rate)),
            "truck_factor" | "active_truck_factor" | "single_author_files" => {
                let k = knowledge.as_ref().expect("computed when asked for").as_ref().map_err(Clone::clone)?;
                match metric {
                    "truck_factor" => Ok(k.truck_factor as f64),
                    "single_author_files" => Ok(k.single_author_files.len() as f64),
                    _ => k
                        .active
                        .as_ref()
                        .map(|a| a.truck_factor as f64)
                        .ok_or_else(|| "knowledge.inactive_after is 0".to_owned()),
                }
            }
            "single_author_hotspots" => {
                let h = hotspots.as_ref().expect("computed when asked for").as_ref().map_err(Clone::clone)?;
                Ok(h.hotspots.iter().filter(|s| s.authors == 1).count() as f64)
            }
            _ => {
                let f = flow.as_ref().expect("computed when asked for").as_ref().map_err(Clone::clone)?;
                if f.stored_pull_requests == 0 {
                    return Err("no pull requests stored".to_owned());
                }
                match metric {
                    "agreement_breaches" => Ok(f.report.breaches.len() as f64),
                    "stale_pull_requests" => Ok(f.report.stale.len() as f64),
                    _ => value(map(&f.report.cycle, |c| c.summary.median)),
                }
            }
        }
    };
    Ok(check::judge(&rules, &measure))
}

/// A metric's value mapped (no data stays no data).
fn map<T>(metric: &Metric<T>, f: impl Fn(&T) -> f64) -> Metric<f64> {
    match metric {
        Metric::Value(v) => Metric::Value(f(v)),
        Metric::NoData { reason } => Metric::NoData { reason: reason.clone() },
    }
}

/// Opens the database; a request that only reads refuses a path where none
/// exists (a mistyped `--db`) instead of creating an empty one, and opens
/// it read-only.
pub fn open_store(path: &Path, writes: bool) -> anyhow::Result<Store> {
    if !writes && !store::is_postgres(path) && !path.exists() {
        return Err(UsageError(format!(
            "{}: no database here; run `fulcrum sync` or `fulcrum import` first, or pass --db with the database's path",
            path.display()
        ))
        .into());
    }
    Ok(if writes { Store::open(path)? } else { Store::open_read_only(path)? })
}

/// The repository `report` and `flow` use: the one given; else the current
/// directory when it is a git repository and no service narrows the stored
/// events; else none (stored events only).
fn use_repository(explicit: Option<&Path>, services: &[String]) -> anyhow::Result<Option<PathBuf>> {
    match explicit {
        Some(path) => {
            if !services.is_empty() {
                return Err(UsageError(
                    "--service selects stored events without a repository; drop --repo or --service".into(),
                )
                .into());
            }
            Ok(Some(path.to_owned()))
        }
        None if services.is_empty() && GitRepo::open(Path::new(".")).is_ok() => Ok(Some(PathBuf::from("."))),
        None => Ok(None),
    }
}

/// Whether `e` says the repository gives no deployments (no release tag
/// matches, no trunk branch).
fn gives_no_deployments(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        matches!(
            c.downcast_ref::<analysis::AnalysisError>(),
            Some(analysis::AnalysisError::NoMatchingTags { .. } | analysis::AnalysisError::NoBranch { .. })
        )
    })
}

/// Whether the store holds any pull requests, deployments or incidents.
fn holds_events(store: &Store, config: &Config) -> anyhow::Result<bool> {
    // Whether any is stored: pull requests counted, not read.
    Ok(!delivery::Events::load_since(store, &store::EventFilter::default(), config, Some(i64::MAX))?.is_empty())
}

/// Said when the current directory was a repository nobody asked for and
/// the stored events were reported instead.
fn implied_repository_note(name: &str, e: &anyhow::Error) -> String {
    let why = e
        .chain()
        .find_map(|c| match c.downcast_ref::<analysis::AnalysisError>() {
            Some(analysis::AnalysisError::NoMatchingTags { pattern, .. }) => {
                Some(format!("no tag matches deploy.tag_pattern `{pattern}`"))
            }
            Some(analysis::AnalysisError::NoBranch { branch, .. }) => Some(format!("no branch `{branch}`")),
            _ => None,
        })
        .unwrap_or_default();
    format!(
        "the current directory ({name}) is a git repository without deployments of its own ({why}): the stored \
         events are reported instead; pass --repo . to report on the repository, or --service NAME to choose events"
    )
}

/// Adds a team roll-up to a repository's scope: the other repositories
/// `(store key, name)` with their git deployments, and services whose
/// stored events count beside them.
fn roll_up(scope: &mut analysis::Scope<'_>, members: &[(String, String)], also: &[String]) {
    for (key, name) in members {
        scope.filter.repos.push(name.clone());
        scope.filter.services.push(name.clone());
        scope.team.push((key.clone(), name.clone()));
    }
    for service in also {
        scope.filter.repos.push(service.clone());
        scope.filter.services.push(service.clone());
        scope.extra_services.push(service.clone());
    }
}

/// Stored events only, narrowed to `services` (deployments and incidents by
/// service, pull requests by repository name) when any are given.
fn store_scope(services: &[String]) -> analysis::Scope<'static> {
    analysis::Scope {
        team: Vec::new(),
        extra_services: Vec::new(),
        repo_key: None,
        service: "",
        filter: store::EventFilter { repos: services.to_vec(), services: services.to_vec() },
    }
}

/// A git repository with the events of its service and of its `[[source]]`s.
fn repo_scope<'a>(key: &'a str, name: &str, service: &'a str, config: &Config) -> analysis::Scope<'a> {
    let mut repos: Vec<String> = config.sources.iter().map(|s| s.repo.clone()).collect();
    repos.push(name.to_owned());
    repos.push(service.to_owned());
    let mut services = vec![service.to_owned()];
    services.extend(config.sources.iter().filter_map(|s| s.service.clone()));
    analysis::Scope {
        repo_key: Some(key),
        service,
        filter: store::EventFilter { repos, services },
        team: Vec::new(),
        extra_services: Vec::new(),
    }
}

/// The key a repository is stored under (its canonical path) and its name.
pub fn repo_key(path: &Path) -> anyhow::Result<(String, String)> {
    let canonical = path.canonicalize().map_err(|_| git::GitError::NotFound { path: path.to_owned() })?;
    let name = canonical
        .file_name()
        .map(|n| n.to_string_lossy().trim_end_matches(".git").to_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "repository".to_owned());
    Ok((canonical.display().to_string(), name))
}

/// Opens the repository at `path` with its store key and name.
pub fn open_repo(path: &Path) -> anyhow::Result<(GitRepo, String, String)> {
    let repo = GitRepo::open(path)?;
    let (key, name) = repo_key(path)?;
    Ok((repo, key, name))
}

/// `fulcrum forecast`: what is asked, of which scope.
#[derive(Debug, Clone)]
pub struct ForecastRequest {
    /// The scope, as for `flow`: a repository, or stored events of services.
    pub flow: FlowRequest,
    /// `--items N`: when will N be done.
    pub items: Option<u64>,
    /// `--deadline DATE` (with `--items`).
    pub deadline: Option<String>,
    /// `--by DATE`: how many by then.
    pub by: Option<String>,
    /// `--window`: the sampling window, a span before today (`12.weeks`).
    pub window: String,
    /// `--trials`.
    pub trials: usize,
    /// `--seed`.
    pub seed: u64,
    /// `--split`.
    pub split: f64,
    /// `--count items|prs`: work items done or merged pull requests;
    /// `None`: items when any are stored for the scope.
    pub count: Option<String>,
}

/// A forecast and where its throughput came from.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ForecastOutcome {
    /// The scope, as `flow` names it.
    pub scope: String,
    /// What was counted.
    pub throughput_of: String,
    /// The pull requests' sources.
    pub event_sources: Vec<String>,
    /// The forecast.
    #[serde(flatten)]
    pub forecast: fulcrum_core::forecast::Forecast,
}

/// The forecast of `request`: daily merged pull requests (bots' left out,
/// as in `flow`) over the sampling window and the 12 weeks before it (for
/// the backtests), simulated from today.
pub fn forecast(context: &Context, request: &ForecastRequest) -> anyhow::Result<ForecastOutcome> {
    use fulcrum_core::forecast::{ForecastInput, Question};
    use fulcrum_core::time::{SECONDS_PER_DAY, day_number, format_date};
    let now = context.now;
    let today = day_number(now);
    let day_of = |flag: &str, text: &str| -> anyhow::Result<i64> {
        let at = parse_instant(text, now).map_err(|e| UsageError(format!("{flag} {text}: {e}")))?;
        Ok(day_number(at))
    };
    let question = match (request.items, &request.by) {
        (Some(items), None) => Question::When {
            items,
            deadline: request.deadline.as_deref().map(|d| day_of("--deadline", d)).transpose()?,
        },
        (None, Some(by)) if request.deadline.is_none() => Question::HowMany { day: day_of("--by", by)? },
        (None, Some(_)) => return Err(UsageError("--deadline goes with --items, not --by".into()).into()),
        (Some(_), Some(_)) => return Err(UsageError("ask one question: --items N or --by DATE".into()).into()),
        (None, None) => {
            return Err(UsageError(
                "ask a question: --items N (when will N pull requests be merged?) or --by DATE (how many by then?)"
                    .into(),
            )
            .into());
        }
    };
    let window_start = parse_instant(&request.window, now)
        .map_err(|e| UsageError(format!("--window {}: {e} (a span before today, such as 12.weeks)", request.window)))?;
    let sample_days = usize::try_from(today - day_number(window_start)).unwrap_or(0);
    // Ten years of days at most: a pace older than that says nothing, and
    // the days are held in memory.
    if sample_days > 3660 {
        return Err(UsageError(format!(
            "--window {}: {sample_days} days is longer than 10 years; sample the recent pace (12.weeks is the default)",
            request.window
        ))
        .into());
    }
    let backtest_days = 7 * *fulcrum_core::forecast::BACKTEST_WEEKS.iter().max().unwrap_or(&0) as usize;
    let history_days = sample_days + backtest_days;
    let first = today - history_days as i64;
    let mut flow_request = request.flow.clone();
    flow_request.window = WindowRequest {
        since: Some(format_date(first * SECONDS_PER_DAY)),
        until: Some(format_date(today * SECONDS_PER_DAY)),
    };
    let analysis = flow(context, &flow_request)?;
    let items_stored = analysis.items.as_ref().is_some_and(|i| i.items > 0);
    let count_items = match request.count.as_deref().map(str::trim) {
        None => items_stored,
        Some("items") if items_stored => true,
        Some("items") => {
            return Err(UsageError(
                "--count items: no work items are stored for this scope; import them (an events file's `item` \
                 lines) or count pull requests (--count prs)"
                    .into(),
            )
            .into());
        }
        Some("prs" | "pull_requests") => false,
        Some(other) => return Err(UsageError(format!("--count {other}: use items or prs")).into()),
    };
    let mut daily = vec![0u32; history_days];
    let done_days: Vec<i64> = if count_items {
        analysis.items.iter().flat_map(|i| i.rows.iter().map(|r| r.done_at)).collect()
    } else {
        analysis.report.rows.iter().map(|row| row.merged_at).collect()
    };
    for at in done_days {
        let day = day_number(at) - first;
        if let Some(count) = usize::try_from(day).ok().and_then(|d| daily.get_mut(d)) {
            *count += 1;
        }
    }
    let input = ForecastInput {
        daily: &daily,
        today,
        sample_days,
        question,
        trials: request.trials,
        seed: request.seed,
        split: request.split,
    };
    let started = std::time::Instant::now();
    let mut forecast = match fulcrum_core::forecast::forecast(&input) {
        Ok(forecast) => forecast,
        Err(fulcrum_core::forecast::ForecastError::NoThroughput) => {
            if count_items {
                return Err(UsageError(format!(
                    "no work item was done in the sampling window ({} – {}): choose a longer --window, or count \
                     merged pull requests (--count prs)",
                    format_date((today - sample_days as i64) * SECONDS_PER_DAY),
                    format_date((today - 1) * SECONDS_PER_DAY),
                ))
                .into());
            }
            let stored = analysis.stored_pull_requests;
            let advice = if stored == 0 {
                "no pull requests are stored: import them (`fulcrum import`) or add a [[source]] and sync".to_owned()
            } else {
                format!("{stored} pull requests are stored, none merged then: choose a longer --window")
            };
            return Err(UsageError(format!(
                "no pull request was merged in the sampling window ({} – {}) of {}: {advice}",
                format_date((today - sample_days as i64) * SECONDS_PER_DAY),
                format_date((today - 1) * SECONDS_PER_DAY),
                match (&request.flow.services[..], analysis.scope.as_str()) {
                    _ if request.flow.team.is_some() => format!("team {}", request.flow.team.as_deref().unwrap_or("")),
                    ([], "") => "the store".to_owned(),
                    ([], scope) => scope.to_owned(),
                    (services, _) => services.join(", "),
                }
            ))
            .into());
        }
        Err(e) => return Err(UsageError(e.to_string()).into()),
    };
    if std::env::var_os("FULCRUM_TIMINGS").is_some() {
        eprintln!("forecast: simulation {:.1} ms", started.elapsed().as_secs_f64() * 1000.0);
    }
    // History that starts inside the window: its first days are zeros.
    let sample_start = history_days - sample_days;
    if let Some(first_merge) = daily.iter().position(|&n| n > 0).filter(|&i| i > sample_start) {
        let day = first + first_merge as i64;
        forecast.warnings.insert(
            0,
            format!(
                "the first merge in the history is on {}, {} days into the sampling window: the days before it count                  as days without merges; if the history simply starts there, use --window {}.days",
                format_date(day * SECONDS_PER_DAY),
                first_merge - sample_start,
                history_days - first_merge
            ),
        );
    }
    // The scope as asked: the services named, else the flow's.
    let scope = match (&request.flow.team, request.flow.services.is_empty()) {
        (Some(team), _) => format!("team {team}"),
        (None, true) => analysis.scope,
        (None, false) => request.flow.services.join(", "),
    };
    Ok(ForecastOutcome {
        scope,
        throughput_of: if count_items {
            "work items done per day".into()
        } else {
            "pull requests merged per day (bots' left out)".into()
        },
        event_sources: analysis.event_sources,
        forecast,
    })
}

/// `fulcrum brief`: the scope and window, as for `report`.
#[derive(Debug, Clone)]
pub struct BriefRequest {
    /// A repository (knowledge and hotspots need one), or none: the current
    /// directory when it is one, else the stored events.
    pub repo: Option<PathBuf>,
    /// Without a repository: only these services and repositories.
    pub services: Vec<String>,
    /// The window.
    pub window: WindowRequest,
    /// Sync the repository first.
    pub sync: Option<SyncOptions>,
    /// `--deploy-mode`.
    pub deploy_mode: Option<String>,
    /// `--items N --deadline DATE`: carry the deadline's odds.
    pub deadline: Option<(u64, String)>,
    /// `--team NAME`: the team's repositories and services instead of
    /// `repo` and `services` (knowledge and hotspots when it has one
    /// repository).
    pub team: Option<String>,
}

/// The stakeholder brief of `request`, composed from the reports of
/// `report`, `flow` (this window and the previous one), `knowledge` (the
/// person it rests on most leaving) and `hotspots`.
pub fn brief(context: &Context, request: &BriefRequest) -> anyhow::Result<crate::analyses::brief::Brief> {
    use crate::analyses::brief::{BriefInputs, compose};
    let team = match &request.team {
        Some(name) => {
            reach(context, Some(name), request.repo.as_slice(), &request.services)?;
            Some(organisation_config(context)?.team(name)?.clone())
        }
        None => None,
    };
    let repo_path = match &team {
        // Knowledge and hotspots are of one repository.
        Some(team) => (team.repositories.len() == 1).then(|| team.repositories[0].clone()),
        None => use_repository(request.repo.as_deref(), &request.services)?,
    };
    let overrides = config::Overrides { deploy_mode: request.deploy_mode.clone(), ..Default::default() };
    let config = Config::load(context.config.as_deref(), repo_path.as_deref(), &overrides)?;
    let window = request.window.resolve(&config.window, context.now)?;
    let outcome = report(
        context,
        &ReportRequest {
            repos: if team.is_some() { Vec::new() } else { repo_path.iter().cloned().collect() },
            services: request.services.clone(),
            window: request.window.clone(),
            sync: request.sync.clone(),
            overrides,
            knowledge: false,
            team: request.team.clone(),
        },
    )?;
    let flow_of = |window: WindowRequest| {
        flow(
            context,
            &FlowRequest {
                repo: if team.is_some() { None } else { repo_path.clone() },
                services: request.services.clone(),
                window,
                sync: None,
                deploy_mode: request.deploy_mode.clone(),
                team: request.team.clone(),
            },
        )
    };
    let at = |t: i64| fulcrum_core::time::format_datetime(t);
    let this_flow = flow_of(WindowRequest { since: Some(at(window.start)), until: Some(at(window.end)) })?;
    let length = window.end - window.start;
    let previous_flow =
        flow_of(WindowRequest { since: Some(at(window.start - length)), until: Some(at(window.start)) }).ok();
    let (knowledge, hotspots) = match &repo_path {
        Some(repo) => {
            let whole = self::knowledge(
                context,
                &KnowledgeRequest { repo: repo.clone(), sync: None, options: KnowledgeOptions::default() },
            )?;
            let leaving: Vec<String> = whole.key_people.iter().take(1).map(|p| p.person.email.clone()).collect();
            let knowledge = if leaving.is_empty() {
                whole
            } else {
                self::knowledge(
                    context,
                    &KnowledgeRequest {
                        repo: repo.clone(),
                        sync: None,
                        options: KnowledgeOptions { leaving, ..KnowledgeOptions::default() },
                    },
                )?
            };
            let hotspots = hotspots(
                context,
                &HotspotsRequest {
                    repo: repo.clone(),
                    sync: None,
                    window: WindowRequest { since: Some(at(window.start)), until: Some(at(window.end)) },
                },
            )?;
            (Some(knowledge), Some(hotspots))
        }
        None => (None, None),
    };
    let mut brief = compose(&BriefInputs {
        report: &outcome.analysis,
        flow: &this_flow,
        previous_flow: previous_flow.as_ref(),
        knowledge: knowledge.as_ref(),
        hotspots: hotspots.as_ref(),
        settings: &config.brief,
        scope: match &request.team {
            Some(name) => Some(format!("team {name}")),
            None => (!request.services.is_empty()).then(|| request.services.join(", ")),
        },
    });
    if let Some((items, deadline)) = &request.deadline {
        let outcome = forecast(
            context,
            &ForecastRequest {
                flow: FlowRequest {
                    repo: if team.is_some() { None } else { repo_path.clone() },
                    services: request.services.clone(),
                    window: WindowRequest::default(),
                    sync: None,
                    deploy_mode: request.deploy_mode.clone(),
                    team: request.team.clone(),
                },
                items: Some(*items),
                deadline: Some(deadline.clone()),
                by: None,
                count: Some("prs".into()),
                window: "12.weeks".into(),
                trials: 10_000,
                seed: 1,
                split: 1.0,
            },
        )?;
        brief.findings.extend(crate::analyses::brief::deadline_finding(&outcome.forecast));
        // Cost, then risk, then opportunity, as the brief's findings are ordered.
        brief.findings.sort_by_key(|f| f.kind as u8);
    }
    Ok(brief)
}

/// `fulcrum focus`: whose calendars, over which window.
#[derive(Debug, Clone, Default)]
pub struct FocusRequest {
    /// A repository whose `fulcrum.toml` names the people (`--repo`).
    pub repo: Option<PathBuf>,
    /// `--person NAME`: these configured people only (default all).
    pub people: Vec<String>,
    /// `--calendar FILE_OR_URL`: analyse these as one person's, without configuration.
    pub calendars: Vec<String>,
    /// `--email`: that person's addresses.
    pub emails: Vec<String>,
    /// `--tz`: their IANA time zone.
    pub time_zone: Option<String>,
    /// `--hours 09:00-17:00`.
    pub working_hours: Option<String>,
    /// The window (default the last 4 weeks).
    pub window: WindowRequest,
}

/// A focus report and what was read for it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FocusOutcome {
    /// First day of the window.
    pub since: String,
    /// Last day of the window.
    pub until: String,
    /// The definitions used, in words.
    pub definitions: Vec<String>,
    /// Calendars read, events in them, occurrences in the window, meetings counted.
    pub calendars_read: usize,
    /// Events read (masters and moved occurrences).
    pub events: usize,
    /// Meetings counted (occurrences that block time with two people or more).
    pub meetings: usize,
    /// Recurrence rules refused (their first occurrence counted only).
    pub unsupported_rules: usize,
    /// The figures.
    #[serde(flatten)]
    pub report: fulcrum_core::focus::FocusReport,
    /// Sustainable pace, with `--repo`: the team's commits (in their
    /// authors' own offsets) and meetings outside working hours and on days
    /// off, per week, for weeks of at least `focus.min_group` people.
    pub pace: Option<Vec<fulcrum_core::focus::PaceWeek>>,
    /// With `--repo`: each `[[person]]` marked `lead`, their balance.
    pub leads: Vec<LeadBalance>,
    /// `focus.min_group`: the fewest people a figure about people is shown
    /// for where it could single someone out (the pace here; on the
    /// server, team weeks and meetings too).
    pub min_group: usize,
    /// Skipped events, unreadable calendars and other notes, each named.
    pub warnings: Vec<String>,
}

/// A lead's balance: hands-on against reviewing, meetings and focus, the
/// delegation signal, and the knowledge they have not handed on yet.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LeadBalance {
    /// Who.
    pub name: String,
    /// The hands-on share they aim for.
    pub hands_on_target: Option<f64>,
    /// Week by week.
    pub weeks: Vec<fulcrum_core::focus::BalanceWeek>,
    /// Their share of the files in the truck-factor set: files whose
    /// knowledge rests on them (`None`: they are not in the set).
    pub truck_factor_share: Option<f64>,
}

/// The most meetings of one person's day that `focus` counts.
const MAX_MEETINGS_A_DAY: usize = 100;

/// `09:00-17:00` → seconds after midnight.
fn working_hours(text: &str) -> Result<(i64, i64), UsageError> {
    let bad = || UsageError(format!("working hours {text:?}: write them as 09:00-17:00"));
    let (from, to) = text.split_once('-').ok_or_else(bad)?;
    let clock = |t: &str| -> Option<i64> {
        let (h, m) = t.trim().split_once(':')?;
        let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
        ((0..=24).contains(&h) && (0..60).contains(&m) && h * 60 + m <= 24 * 60).then_some(h * 3600 + m * 60)
    };
    let (from, to) = (clock(from).ok_or_else(bad)?, clock(to).ok_or_else(bad)?);
    if to <= from {
        return Err(bad());
    }
    Ok((from, to))
}

/// A calendar's text: a file, or a feed (`https://`, or `http://` on this
/// machine). Its name in messages never shows a feed's path (a secret).
fn calendar_text(source: &str) -> Result<(String, String), String> {
    if !source.contains("://") {
        use std::io::Read as _;
        let file = std::fs::File::open(source).map_err(|e| format!("{source}: cannot read the calendar: {e}"))?;
        let mut text = String::new();
        file.take(64 * 1024 * 1024 + 1)
            .read_to_string(&mut text)
            .map_err(|e| format!("{source}: cannot read the calendar: {e}"))?;
        if text.len() > 64 * 1024 * 1024 {
            return Err(format!("{source}: over 64 MiB, not a calendar to read"));
        }
        return Ok((source.to_owned(), text));
    }
    let Some((scheme, host, _)) = crate::sources::http::origin(source) else {
        return Err("a calendar address is not an http(s) address without credentials".into());
    };
    let name = format!("{scheme}://{host}/…");
    if scheme != "https" && !crate::sources::http::is_loopback(&host) {
        return Err(format!("{name}: a calendar feed must be https:// (its address is a secret)"));
    }
    let agent = crate::sources::http::agent(std::time::Duration::from_secs(30));
    let mut response = agent.get(source).call().map_err(|_| format!("{name}: the calendar feed did not answer"))?;
    let status = response.status().as_u16();
    if status != 200 {
        return Err(format!("{name}: the calendar feed answered {status}"));
    }
    let text = response
        .body_mut()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_to_string()
        .map_err(|_| format!("{name}: the calendar feed's answer could not be read (not text, or over 64 MiB)"))?;
    Ok((name, text))
}

/// The focus report of `request`.
pub fn focus(context: &Context, request: &FocusRequest) -> anyhow::Result<FocusOutcome> {
    use crate::sources::calendar::{self, Zone};
    use fulcrum_core::focus::{FocusOptions, Meeting, PersonCalendar, WorkingHours, analyze};
    use fulcrum_core::time::{SECONDS_PER_DAY, day_number, format_date};
    let config = Config::load(context.config.as_deref(), request.repo.as_deref(), &Default::default())?;
    let window = WindowRequest {
        since: Some(request.window.since.clone().unwrap_or_else(|| "28.days".into())),
        until: request.window.until.clone(),
    }
    .resolve("28.days", context.now)?;
    let mut warnings: Vec<String> = config.ignored.clone();
    let people: Vec<crate::config::PersonFile> = if !request.calendars.is_empty() {
        vec![crate::config::PersonFile {
            name: "you".into(),
            emails: request.emails.clone(),
            calendars: request.calendars.clone(),
            time_zone: request.time_zone.clone(),
            working_hours: request.working_hours.clone(),
            working_days: None,
            ..Default::default()
        }]
    } else {
        for name in &request.people {
            if !config.people.iter().any(|p| &p.name == name) {
                return Err(UsageError(format!(
                    "--person {name}: no [[person]] of that name in {}; add one or pass --calendar FILE",
                    config.source
                ))
                .into());
            }
        }
        config
            .people
            .iter()
            .filter(|p| request.people.is_empty() || request.people.contains(&p.name))
            .cloned()
            .collect()
    };
    if people.is_empty() && request.repo.is_none() {
        return Err(UsageError(
            "no calendars: pass --calendar FILE_OR_URL, or add [[person]] entries with calendars to fulcrum.toml \
             (or --repo PATH for the pace of its commits alone)"
                .into(),
        )
        .into());
    }
    let (mut calendars_read, mut events, mut meetings_counted, mut unsupported) = (0, 0, 0, 0);
    let mut calendars = Vec::new();
    let mut work: Vec<fulcrum_core::focus::WorkAt> = Vec::new();
    let mut hours_by_email: BTreeMap<String, WorkingHours> = BTreeMap::new();
    for person in &people {
        let zone_name = person.time_zone.clone().unwrap_or_else(|| "UTC".into());
        let zone = Zone::Iana(calendar::iana(&zone_name).ok_or_else(|| {
            UsageError(format!(
                "{}: unknown time zone {zone_name:?}; use an IANA name such as Europe/Berlin",
                person.name
            ))
        })?);
        let (start, end) = working_hours(person.working_hours.as_deref().unwrap_or("09:00-17:00"))
            .map_err(|e| UsageError(format!("{}: {}", person.name, e.0)))?;
        let days = match &person.working_days {
            None => vec![1, 2, 3, 4, 5],
            Some(names) => names
                .iter()
                .map(|d| {
                    ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
                        .iter()
                        .position(|n| d.trim().to_ascii_lowercase().starts_with(n))
                        .map(|i| i as u32 + 1)
                        .ok_or_else(|| UsageError(format!("{}: working day {d:?} is not mon … sun", person.name)))
                })
                .collect::<Result<_, _>>()?,
        };
        if person.calendars.is_empty() {
            warnings.push(format!("{} has no calendar: left out", person.name));
            continue;
        }
        let me: Vec<String> = person.emails.iter().map(|e| e.trim().to_ascii_lowercase()).collect();
        let who = me.first().cloned().unwrap_or_else(|| person.name.clone());
        for email in me.iter().chain(std::iter::once(&who)) {
            hours_by_email.insert(email.clone(), WorkingHours { days: days.clone(), start, end });
        }
        let mut meetings = Vec::new();
        // No real day has over 100 meetings: a hostile calendar could have
        // millions on one day, and the costliest-meeting search is per day.
        let mut per_day: BTreeMap<i64, usize> = BTreeMap::new();
        for source in &person.calendars {
            let (name, text) = match calendar_text(source) {
                Ok(read) => read,
                Err(why) => {
                    warnings.push(why);
                    continue;
                }
            };
            calendars_read += 1;
            let read =
                calendar::read(&name, &text, window.start - SECONDS_PER_DAY, window.end + SECONDS_PER_DAY, zone, &me);
            events += read.events;
            unsupported += read.unsupported_rules;
            warnings.extend(read.warnings);
            for o in read.occurrences {
                let length = o.end - o.start;
                let meeting = !o.all_day
                    && !o.transparent
                    && o.attendees >= 2
                    && o.partstat.as_deref() != Some("DECLINED")
                    && length > 0
                    && length < 12 * 3600;
                let day = (o.start + zone.offset_at(o.start)).div_euclid(SECONDS_PER_DAY);
                let crowded = meeting && {
                    let n = per_day.entry(day).or_default();
                    *n += 1;
                    *n > MAX_MEETINGS_A_DAY
                };
                if crowded {
                    if per_day[&day] == MAX_MEETINGS_A_DAY + 1 {
                        warnings.push(format!(
                            "{}: over {MAX_MEETINGS_A_DAY} meetings on {}; the rest of that day's are not counted",
                            person.name,
                            format_date(day * SECONDS_PER_DAY)
                        ));
                    }
                } else if meeting {
                    // Counted in UTC, in the window (read a day either side).
                    meetings_counted += usize::from(o.start >= window.start && o.start < window.end);
                    let offset = zone.offset_at(o.start);
                    meetings.push(Meeting {
                        start: o.start + offset,
                        end: o.end + offset,
                        series: o.series,
                        label: o.label,
                    });
                }
            }
        }
        work.extend(meetings.iter().map(|m| fulcrum_core::focus::WorkAt { who: who.clone(), at: m.start }));
        calendars.push(PersonCalendar {
            name: person.name.clone(),
            hours: WorkingHours { days, start, end },
            meetings,
            days_off: Vec::new(),
        });
    }
    let options =
        FocusOptions { min_focus: 2 * 3600, first_day: day_number(window.start), last_day: day_number(window.end - 1) };
    let report = analyze(&calendars, &options);
    // The repository's stored history, read once for the pace and the leads.
    let history = match &request.repo {
        None => None,
        Some(path) => {
            let (key, name) = repo_key(path)?;
            let store = open_store(&context.db, false)?;
            let Some(state) = store.find_repo(&key)? else {
                return Err(UsageError(format!(
                    "{name}: not synced into {}; run `fulcrum sync --repo {}` first",
                    store.path().display(),
                    path.display()
                ))
                .into());
            };
            let commits = store.load_commits(state.id)?;
            Some((path, key, name, store, commits))
        }
    };
    let pace = history.as_ref().map(|(_, _, _, _, commits)| {
        for commit in commits.iter().filter(|c| !config.is_bot(&c.author_name, &c.author_email)) {
            work.push(fulcrum_core::focus::WorkAt {
                who: commit.author_email.to_ascii_lowercase(),
                at: commit.author_time + i64::from(commit.author_offset) * 60,
            });
        }
        let default = WorkingHours::default();
        let hours_of = |who: &str| hours_by_email.get(who).cloned().unwrap_or_else(|| default.clone());
        fulcrum_core::focus::pace(&work, &hours_of, &options, config.min_group)
    });
    let mut leads = Vec::new();
    if let Some((path, key, name, store, commits)) = history.as_ref().filter(|_| people.iter().any(|p| p.lead)) {
        let service = config.service.clone().unwrap_or_else(|| name.clone());
        let prs = store.load_pull_requests(&repo_scope(key, name, &service, &config).filter, None)?;
        let knowledge = self::knowledge(
            context,
            &KnowledgeRequest { repo: (*path).clone(), sync: None, options: KnowledgeOptions::default() },
        )?;
        for person in people.iter().filter(|p| p.lead) {
            let emails: Vec<String> = person.emails.iter().map(|e| e.trim().to_ascii_lowercase()).collect();
            let logins: Vec<String> = person.logins.iter().map(|l| l.trim().to_ascii_lowercase()).collect();
            let mine = |login: &str| logins.contains(&login.to_ascii_lowercase());
            let mut activity = fulcrum_core::focus::LeadActivity {
                commits: commits
                    .iter()
                    .filter(|c| emails.contains(&c.author_email.to_ascii_lowercase()))
                    .map(|c| c.author_time)
                    .collect(),
                ..Default::default()
            };
            for pr in &prs {
                if mine(&pr.author) {
                    activity.pull_requests.push(pr.created_at);
                }
                let reviewers: BTreeSet<&str> = pr
                    .activities
                    .iter()
                    .filter(|a| a.kind == fulcrum_core::flow::ActivityKind::Review && *a.author != *pr.author)
                    .map(|a| &*a.author)
                    .collect();
                activity.reviews.extend(
                    pr.activities
                        .iter()
                        .filter(|a| {
                            a.kind == fulcrum_core::flow::ActivityKind::Review && mine(&a.author) && !mine(&pr.author)
                        })
                        .map(|a| a.at),
                );
                if let Some(merged) = pr.merged_at
                    && !reviewers.is_empty()
                    && !config.is_bot(&pr.author, "")
                {
                    activity.reviewed_merges.push((merged, reviewers.iter().all(|r| mine(r))));
                }
            }
            let weeks = report.people.iter().find(|p| p.name == person.name).map_or(&[][..], |p| &p.weeks[..]);
            leads.push(LeadBalance {
                name: person.name.clone(),
                hands_on_target: person.hands_on_target,
                weeks: fulcrum_core::focus::balance(&activity, weeks, &options),
                truck_factor_share: knowledge
                    .key_people
                    .iter()
                    .find(|k| emails.contains(&k.person.email.to_ascii_lowercase()))
                    .map(|k| k.share),
            });
        }
    }
    Ok(FocusOutcome {
        since: format_date(window.start),
        until: format_date(window.end - 1),
        definitions: vec![
            "working hours per person in their time zone (default Monday to Friday, 09:00-17:00)".into(),
            "a meeting: an event not declined, not transparent, with two people or more, shorter than 12 hours, \
             not all-day, not cancelled; overlapping meetings merge"
                .into(),
            "focus: free working time in blocks of 2 hours or more; fragmented: shorter free pieces".into(),
            "a switch: a meeting followed by working time".into(),
        ],
        calendars_read,
        events,
        meetings: meetings_counted,
        unsupported_rules: unsupported,
        report,
        pace,
        leads,
        min_group: config.min_group,
        warnings,
    })
}
