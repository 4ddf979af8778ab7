//! `fulcrum flow`: the pull-request value stream over what the store holds.
//! Deployments are found as for the delivery report (events first, else the
//! git repository's tags or trunk); a pull request is deployed by the first
//! deployment shipping its merge (or squash) commit.

use fulcrum_core::flow::{self, FlowInput, FlowOptions, FlowReport, WorkingAgreements};
use fulcrum_core::time::Window;
use serde::Serialize;

use std::collections::HashMap;

use crate::analyses::analysis::{
    AnalysisError, Scope, describe_filter, event_deployments_text, history, interrupted_sync_warning, no_data_reason,
    no_deployments_advice, quiet_window_headline, retell_no_deployments,
};
use crate::analyses::delivery::{Events, deployed_at, tolerate_clock};
use crate::config::Config;
use crate::store::Store;

/// The flow report with where its data came from.
#[derive(Debug, Clone, Serialize)]
pub struct FlowAnalysis {
    /// The service or repository reported on (empty: everything stored).
    pub scope: String,
    /// The git repository, when one was used for deployments.
    pub repository: Option<String>,
    /// How deployments were found, in words.
    pub deployments_source: String,
    /// Event sources of the pull requests and deployments.
    pub event_sources: Vec<String>,
    /// Where the configuration came from.
    pub config_source: String,
    /// What the reader should see first when there is nothing to measure.
    pub headline: Option<String>,
    /// Pull requests stored for the scope (any state, any time).
    pub stored_pull_requests: usize,
    /// The pull requests the report names (breaches, stale), by id: number,
    /// title, author and link, so a reader can act on them.
    pub named: std::collections::BTreeMap<String, NamedPr>,
    /// The feature value stream of the work items stored for the scope
    /// (absent when there are none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<fulcrum_core::items::ItemStream>,
    /// The report.
    #[serde(flatten)]
    pub report: FlowReport,
}

/// A pull request as a report names it.
#[derive(Debug, Clone, Serialize)]
pub struct NamedPr {
    /// Repository.
    pub repo: String,
    /// Number.
    pub number: u64,
    /// Title, when the source gave one.
    pub title: Option<String>,
    /// Author's login.
    pub author: String,
    /// Web address, when the source gave one.
    pub url: Option<String>,
}

/// Computes the flow report of `scope`.
pub fn analyze(
    store: &Store,
    scope: &Scope<'_>,
    config: &Config,
    window: Window,
    now: i64,
) -> anyhow::Result<FlowAnalysis> {
    let started = std::time::Instant::now();
    let since = crate::analyses::delivery::reach(scope.repo_key.is_some(), store.has_work_items()?, window.start);
    let events = Events::load_named(store, &scope.filter, config, since)?;
    let analysis = analyze_loaded(store, scope, config, window, now, &events, started, true);
    crate::analyses::delivery::free_aside(events);
    analysis
}

/// [`analyze`] with the scope's events already loaded (the organisation
/// view loads them once for a team's report and flow); `started` is when
/// the loading began, for `FULCRUM_TIMING`. Without `name` the pull
/// requests the report lists (breaches, stale work) are not named: their
/// titles are not read and `named` stays empty (the organisation's rows
/// show figures alone, and a whole organisation lists hundreds of
/// thousands).
#[allow(clippy::too_many_arguments)]
pub fn analyze_loaded(
    store: &Store,
    scope: &Scope<'_>,
    config: &Config,
    window: Window,
    now: i64,
    events: &Events,
    started: std::time::Instant,
    name: bool,
) -> anyhow::Result<FlowAnalysis> {
    let timing = std::env::var_os("FULCRUM_TIMING").is_some();
    let loaded = started.elapsed();
    let mut unfinished = None;
    // With a repository, deployments ship what the commit graph says; without
    // one, what they list (or their own commit).
    let (deployments, deployments_source, repository, deployed) = if scope.repo_key.is_none() {
        // Work items alone (a Jira source) still have a value stream.
        if events.is_empty() && store.load_items(&scope.filter)?.is_empty() {
            return Err(AnalysisError::NoData {
                db: store.path().display().to_string(),
                filter: describe_filter(&scope.filter),
            }
            .into());
        }
        let shipped = events.shipped_at(events.prs.iter().filter_map(|pr| pr.merge_commit.as_deref()));
        let deployed: fulcrum_core::model::IdMap<&str, i64> = events
            .prs
            .iter()
            .filter_map(|pr| {
                let merge = pr.merge_commit.as_deref()?;
                Some((merge, tolerate_clock(*shipped.get(merge)?, pr.merged_at)))
            })
            .collect();
        // Borrowed: an organisation's row has hundreds of thousands, each with its commit list.
        (std::borrow::Cow::Borrowed(events.deployments.as_slice()), event_deployments_text(events), None, deployed)
    } else {
        let mut history = history(store, scope, events, config, Some(window.start))?;
        let attribution = history.attribution();
        let mut deployed = deployed_at(&events.prs, &history.commits, &history.deployments, &attribution);
        // A team's services beside its repositories: their pull requests are
        // deployed by the events that list their merge commits.
        if !scope.extra_services.is_empty() {
            let shipped = events.shipped_at(
                events.prs.iter().filter_map(|pr| pr.merge_commit.as_deref()).filter(|m| !deployed.contains_key(m)),
            );
            for pr in &events.prs {
                if let Some(merge) = pr.merge_commit.as_deref()
                    && !deployed.contains_key(merge)
                    && let Some(&at) = shipped.get(merge)
                {
                    deployed.insert(merge, tolerate_clock(at, pr.merged_at));
                }
            }
        }
        if let Some((key, state)) = &history.git
            && !state.sync_complete
        {
            unfinished = Some(interrupted_sync_warning(key, store.totals(state.id)?.commits));
        }
        (history.deployments, history.deployments_source, history.git.map(|(key, _)| key), deployed)
    };
    let deployed_at = |commit: &str| deployed.get(commit).copied();
    // A team has a few dozen logins and a window hundreds of thousands of
    // activities: decide each login once. Looked up millions of times (an
    // organisation's window: 2.6 million activities, each looked up here
    // and again by the flow), so with the ids' hash, not SipHash, and a
    // login repeated from the row before is not looked up again.
    let mut bots: fulcrum_core::model::IdMap<&str, bool> = fulcrum_core::model::IdMap::default();
    let mut last: &str = "";
    for pr in &events.prs {
        let logins = std::iter::once(pr.author.as_str())
            .chain(pr.activities.iter().map(|a| &*a.author))
            .chain(pr.commits.iter().map(|c| c.author.as_str()));
        for login in logins {
            if std::ptr::eq(login, last) {
                continue;
            }
            last = login;
            if !bots.contains_key(login) {
                bots.insert(login, config.is_bot(login, ""));
            }
        }
    }
    let is_bot = |login: &str| bots.get(login).copied().unwrap_or_else(|| config.is_bot(login, ""));
    let input = FlowInput { prs: &events.prs, deployments: &deployments, deployed_at: &deployed_at, is_bot: &is_bot };
    let options = FlowOptions {
        average: config.average,
        agreements: WorkingAgreements {
            pickup: Some(config.pickup_target),
            review: config.review_target,
            max_size: Some(config.max_size),
            ..WorkingAgreements::default()
        },
        stale_days: config.stale_days,
        calendar: config.calendar.clone(),
    };
    let linked = started.elapsed();
    let mut report = flow::flow(&input, window, now, &options);
    if timing {
        eprintln!(
            "flow: load {:.3} s, link deployments {:.3} s, compute {:.3} s",
            loaded.as_secs_f64(),
            (linked - loaded).as_secs_f64(),
            (started.elapsed() - linked).as_secs_f64()
        );
    }
    if deployments.is_empty()
        && let Some(advice) = no_deployments_advice(events, config, repository.is_some())
    {
        let reasons = [
            no_data_reason(&mut report.coding),
            no_data_reason(&mut report.pickup),
            no_data_reason(&mut report.review),
            no_data_reason(&mut report.deploy),
            no_data_reason(&mut report.cycle),
        ];
        for reason in reasons.into_iter().flatten().chain(report.warnings.iter_mut()) {
            retell_no_deployments(reason, &advice);
        }
    }
    report.warnings.extend(unfinished);
    let headline = if events.pr_totals.stored == 0 {
        Some(
            "No pull requests stored: import them (`fulcrum import FILE`) or add a GitHub or GitLab [[source]] \
             and run `fulcrum sync`"
                .to_owned(),
        )
    } else {
        let read = || events.prs.iter().filter_map(|pr| Some((pr.merged_at?, pr.repo.clone(), pr.number))).collect();
        // A quiet window of a windowed read: every merge counts (the last
        // one, and how many a longer window would hold).
        let merges: Vec<(i64, String, u64)> = match events.prs_since {
            Some(_) if !events.prs.iter().any(|pr| pr.merged_at.is_some_and(|t| window.contains(t))) => {
                store.pr_merges(&scope.filter)?
            }
            _ => read(),
        };
        let times: Vec<i64> = merges.iter().map(|(t, ..)| *t).collect();
        // The headline names the last merge before the window ends (the
        // one whose date it gives), not a later one.
        let last = merges.iter().filter(|(t, ..)| *t < window.end).max_by_key(|(t, _, number)| (*t, *number));
        quiet_window_headline(&times, window, "merged pull request", "merged pull requests").map(|text| match last {
            Some((_, repo, number)) => text.replacen("{last}", &format!("{repo}#{number}"), 1),
            None => text,
        })
    };
    let wanted: std::collections::BTreeSet<&str> = if name {
        report.breaches.iter().map(|b| b.pr.as_str()).chain(report.stale.iter().map(|s| s.pr.as_str())).collect()
    } else {
        Default::default()
    };
    let keys: Vec<(String, u64)> =
        events.prs.iter().filter(|pr| wanted.contains(pr.id.as_str())).map(|pr| (pr.repo.clone(), pr.number)).collect();
    // Read with the pull requests, or else looked up one by one.
    let labels = match &events.labels {
        Some(read) => keys.iter().filter_map(|key| Some((key.clone(), read.get(key)?.clone()))).collect(),
        None => store.pr_labels(&keys)?,
    };
    let named = events
        .prs
        .iter()
        .filter(|pr| wanted.contains(pr.id.as_str()))
        .map(|pr| {
            let label = labels.get(&(pr.repo.clone(), pr.number)).cloned().unwrap_or_default();
            let named = NamedPr {
                repo: pr.repo.clone(),
                number: pr.number,
                title: label.title,
                author: pr.author.clone(),
                url: label.url,
            };
            (pr.id.clone(), named)
        })
        .collect();
    let items = item_stream(store, scope, config, window, events, &deployed_at, &mut report.warnings)?;
    Ok(FlowAnalysis {
        items,
        named,
        scope: scope.service.to_owned(),
        repository,
        deployments_source,
        event_sources: events.sources.clone(),
        config_source: config.source.clone(),
        headline,
        stored_pull_requests: events.pr_totals.stored,
        report,
    })
}

/// The feature value stream of the scope's work items over `window`, their
/// statuses put in categories by the configuration; `None` when no item is
/// stored. Statuses in no category count as in progress, and are named in a
/// warning.
fn item_stream(
    store: &Store,
    scope: &Scope<'_>,
    config: &Config,
    window: Window,
    events: &Events,
    deployed_at: &dyn Fn(&str) -> Option<i64>,
    warnings: &mut Vec<String>,
) -> anyhow::Result<Option<fulcrum_core::items::ItemStream>> {
    use fulcrum_core::items::{Category, Transition, WorkItem};
    let stored = store.load_items(&scope.filter)?;
    if stored.is_empty() {
        return Ok(None);
    }
    let mut unknown: std::collections::BTreeMap<String, usize> = Default::default();
    let items: Vec<WorkItem> = stored
        .into_iter()
        .map(|item| {
            let transitions = item
                .transitions
                .into_iter()
                .map(|(at, status, category)| {
                    let named = status.trim().to_lowercase();
                    let category = category
                        .as_deref()
                        .and_then(Category::parse)
                        .or_else(|| config.item_statuses.iter().find(|(n, _)| *n == named).map(|(_, c)| *c))
                        .unwrap_or_else(|| {
                            *unknown.entry(status.clone()).or_default() += 1;
                            Category::InProgress
                        });
                    Transition { at, status, category }
                })
                .collect();
            WorkItem {
                key: item.external_id,
                title: item.title,
                kind: item.kind,
                created_at: item.created_at,
                transitions,
                links: item.links,
                points: item.points,
                sprint: item.sprint,
            }
        })
        .collect();
    if !unknown.is_empty() {
        let names: Vec<String> = unknown.iter().map(|(s, n)| format!("`{s}` ({n})")).collect();
        warnings.push(format!(
            "work-item statuses in no category, counted as in progress: {}; map them under [items] (todo, \
             in_progress, done)",
            names.join(", ")
        ));
    }
    let texts = store.pr_texts(&scope.filter)?;
    let pr_texts: Vec<Option<String>> =
        events.prs.iter().map(|pr| texts.get(&(pr.repo.clone(), pr.number)).cloned()).collect();
    let mut links = fulcrum_core::items::link(&items, &events.prs, &pr_texts);
    let keys: Vec<&str> = items.iter().map(|i| i.key.as_str()).collect();
    let unknown = fulcrum_core::items::unknown_keys(pr_texts.iter().flatten().map(String::as_str), &keys);
    if !unknown.is_empty() {
        let shown: Vec<&str> = unknown.iter().take(8).map(String::as_str).collect();
        let more = if unknown.len() > shown.len() {
            format!(" and {} more", unknown.len() - shown.len())
        } else {
            String::new()
        };
        warnings.push(format!(
            "pull requests name {} of no stored work item: {}{more}; sync the tracker, or widen its jql",
            if unknown.len() == 1 { "a key".to_owned() } else { format!("{} keys", unknown.len()) },
            shown.join(", ")
        ));
    }
    // Keys in commit messages: a pull request carrying (or merged as) a
    // commit whose subject names an item's key belongs to it.
    let repositories: Vec<&str> =
        scope.repo_key.into_iter().chain(scope.team.iter().map(|(key, _)| key.as_str())).collect();
    if !repositories.is_empty() {
        let keys: Vec<&str> =
            items.iter().map(|i| i.key.as_str()).filter(|k| k.contains('-') && !k.contains('#')).collect();
        let named = |subject: &str| keys.iter().any(|k| fulcrum_core::items::names(subject, k));
        let mut shas_of: HashMap<&str, std::collections::HashSet<String>> = HashMap::new();
        for repository in repositories {
            for (sha, subject) in store.commit_subjects(repository, &named)? {
                for key in keys.iter().filter(|k| fulcrum_core::items::names(&subject, k)) {
                    shas_of.entry(key).or_default().insert(sha.clone());
                }
            }
        }
        for (item, linked) in items.iter().zip(links.iter_mut()) {
            let Some(shas) = shas_of.get(item.key.as_str()) else { continue };
            for (i, pr) in events.prs.iter().enumerate() {
                let carries = pr.commits.iter().any(|c| shas.contains(&c.sha))
                    || pr.merge_commit.as_ref().is_some_and(|m| shas.contains(m));
                if carries && !linked.contains(&i) {
                    linked.push(i);
                }
            }
            linked.sort_unstable();
        }
    }
    Ok(Some(fulcrum_core::items::stream(&items, &links, &events.prs, deployed_at, window, config.average)))
}
