//! `fulcrum flow`: the pull-request value stream over what the store holds.
//! Deployments are found as for the delivery report (events first, else the
//! git repository's tags or trunk); a pull request is deployed by the first
//! deployment shipping its merge (or squash) commit.

use fulcrum_core::flow::{self, FlowInput, FlowOptions, FlowReport, WorkingAgreements};
use fulcrum_core::time::Window;
use serde::Serialize;

use std::collections::HashMap;

use crate::analysis::{AnalysisError, Scope, describe_filter, event_deployments_text, history};
use crate::config::Config;
use crate::delivery::{Events, deployed_at, tolerate_clock};
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
    /// The report.
    #[serde(flatten)]
    pub report: FlowReport,
}

/// Computes the flow report of `scope`.
pub fn analyze(
    store: &Store,
    scope: &Scope<'_>,
    config: &Config,
    window: Window,
    now: i64,
) -> anyhow::Result<FlowAnalysis> {
    let events = Events::load(store, &scope.filter, config)?;
    // With a repository, deployments ship what the commit graph says; without
    // one, what they list (or their own commit).
    let (deployments, deployments_source, repository, deployed) = if scope.repo_key.is_none() {
        if events.is_empty() {
            return Err(AnalysisError::NoData {
                db: store.path().display().to_string(),
                filter: describe_filter(&scope.filter),
            }
            .into());
        }
        let shipped = events.shipped_at();
        let deployed: HashMap<String, i64> = events
            .prs
            .iter()
            .filter_map(|pr| {
                let merge = pr.merge_commit.as_deref()?;
                Some((merge.to_owned(), tolerate_clock(*shipped.get(merge)?, pr.merged_at)))
            })
            .collect();
        (events.deployments.clone(), event_deployments_text(&events), None, deployed)
    } else {
        let history = history(store, scope, &events, config)?;
        let attribution = fulcrum_core::deployments::attribute(&history.commits, &history.deployments);
        let deployed = deployed_at(&events.prs, &history.commits, &history.deployments, &attribution);
        (history.deployments, history.deployments_source, history.git.map(|(key, _)| key), deployed)
    };
    let deployed_at = |commit: &str| deployed.get(commit).copied();
    let is_bot = |login: &str| config.is_bot(login, "");
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
    };
    let mut report = flow::flow(&input, window, now, &options);
    if events.prs.is_empty() {
        report.warnings.insert(
            0,
            "no pull requests stored: import them (`fulcrum import FILE`) or add a GitHub or GitLab [[source]] \
             and run `fulcrum sync`"
                .to_owned(),
        );
    }
    Ok(FlowAnalysis {
        scope: scope.service.to_owned(),
        repository,
        deployments_source,
        event_sources: events.sources,
        config_source: config.source.clone(),
        report,
    })
}
