//! The organisation view: every `[[team]]` side by side (the five keys,
//! the flow bottleneck, the truck factor of its repositories) and the
//! organisation's total. Teams are compared; people never are.

use fulcrum_core::dora::{Keys, Metric};
use fulcrum_core::flow::{Bottleneck, StageStats};
use serde::Serialize;

use super::analysis::Analysis;
use super::flow::FlowAnalysis;

/// One team's row (or the organisation's total).
#[derive(Debug, Clone, Default, Serialize)]
pub struct OrgRow {
    /// The team (`organisation` for the total).
    pub team: String,
    /// Its git repositories, by directory name.
    pub repositories: Vec<String>,
    /// Its services.
    pub services: Vec<String>,
    /// How many members the team lists (names are not shown here).
    pub members: usize,
    /// Deployments in the window.
    pub deployments: Option<usize>,
    /// Deployments per week.
    pub deployments_per_week: Option<f64>,
    /// Lead time for changes, median seconds.
    pub lead_time: Option<f64>,
    /// Change failure rate, 0..1.
    pub change_failure_rate: Option<f64>,
    /// The change failure rate counts inferred failures only (a lower bound).
    pub change_failure_rate_lower_bound: bool,
    /// Failed-deployment recovery time, median seconds.
    pub recovery_time: Option<f64>,
    /// Rework rate, 0..1.
    pub rework_rate: Option<f64>,
    /// The stage where pull requests wait longest, and its share of the cycle.
    pub bottleneck: Option<(String, f64)>,
    /// Pull requests merged in the window.
    pub merged_pull_requests: Option<usize>,
    /// The lowest truck factor of its repositories, and which one.
    pub truck_factor: Option<(usize, String)>,
    /// What could not be measured, and why.
    pub notes: Vec<String>,
}

impl OrgRow {
    /// The row's delivery figures from a report of its scope.
    pub fn set_delivery(&mut self, analysis: &Analysis) {
        let dora = &analysis.dora;
        self.set_keys(&Keys {
            deployment_frequency: dora.deployment_frequency.clone(),
            lead_time: dora.lead_time.clone(),
            change_failure_rate: dora.change_failure_rate.clone(),
            recovery_time: dora.recovery_time.clone(),
            rework_rate: dora.rework_rate.clone(),
        });
    }

    /// The row's delivery figures from the five keys of its scope.
    pub fn set_keys(&mut self, keys: &Keys) {
        if let Metric::Value(f) = &keys.deployment_frequency {
            self.deployments = Some(f.deployments);
            self.deployments_per_week = Some(f.per_week);
        }
        if let Metric::Value(l) = &keys.lead_time {
            self.lead_time = Some(l.summary.median);
        }
        if let Metric::Value(c) = &keys.change_failure_rate {
            self.change_failure_rate = Some(c.rate);
            self.change_failure_rate_lower_bound = c.lower_bound;
        }
        if let Metric::Value(r) = &keys.recovery_time {
            self.recovery_time = Some(r.summary.median);
        }
        if let Metric::Value(r) = &keys.rework_rate {
            self.rework_rate = Some(r.rate);
        }
    }

    /// The row's flow figures from a flow report of its scope.
    pub fn set_flow(&mut self, flow: &FlowAnalysis) {
        self.set_stages(&flow.report.cycle, &flow.report.bottleneck);
    }

    /// The row's flow figures from its scope's cycle time and bottleneck.
    pub fn set_stages(&mut self, cycle: &Metric<StageStats>, bottleneck: &Metric<Bottleneck>) {
        if let Metric::Value(b) = bottleneck {
            self.bottleneck = Some((b.stage.name().to_owned(), b.median_share));
        }
        if let Metric::Value(c) = cycle {
            self.merged_pull_requests = Some(c.summary.count);
        }
    }
}

/// How the organisation view orders its teams.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgSort {
    /// By name.
    #[default]
    Team,
    /// Most deployments per week first.
    DeploymentFrequency,
    /// Shortest lead time first.
    LeadTime,
    /// Lowest change failure rate first.
    ChangeFailureRate,
    /// Shortest recovery first.
    RecoveryTime,
    /// Lowest rework rate first.
    ReworkRate,
    /// Lowest truck factor (most at risk) first.
    TruckFactor,
}

impl std::str::FromStr for OrgSort {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "team" => OrgSort::Team,
            "deployment_frequency" => OrgSort::DeploymentFrequency,
            "lead_time" => OrgSort::LeadTime,
            "change_failure_rate" => OrgSort::ChangeFailureRate,
            "recovery_time" => OrgSort::RecoveryTime,
            "rework_rate" => OrgSort::ReworkRate,
            "truck_factor" => OrgSort::TruckFactor,
            other => {
                return Err(format!(
                    "`{other}` is not a column to sort by; use team, deployment_frequency, lead_time, \
                     change_failure_rate, recovery_time, rework_rate or truck_factor"
                ));
            }
        })
    }
}

/// Sorts `rows` by `key`; rows without the figure go last, ties by name.
pub fn sort(rows: &mut [OrgRow], key: OrgSort) {
    let figure = |row: &OrgRow| -> Option<f64> {
        match key {
            OrgSort::Team => None,
            // Descending: more is better.
            OrgSort::DeploymentFrequency => row.deployments_per_week.map(|v| -v),
            OrgSort::LeadTime => row.lead_time,
            OrgSort::ChangeFailureRate => row.change_failure_rate,
            OrgSort::RecoveryTime => row.recovery_time,
            OrgSort::ReworkRate => row.rework_rate,
            OrgSort::TruckFactor => row.truck_factor.as_ref().map(|(n, _)| *n as f64),
        }
    };
    rows.sort_by(|a, b| {
        let by_figure = match (figure(a), figure(b)) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        };
        by_figure.then_with(|| a.team.cmp(&b.team))
    });
}

/// The organisation view.
#[derive(Debug, Clone, Serialize)]
pub struct OrgView {
    /// The window, `[start, end)` UTC seconds.
    pub window: (i64, i64),
    /// How the rows are ordered.
    pub sort: OrgSort,
    /// One row per team.
    pub teams: Vec<OrgRow>,
    /// Every team's repositories and services together.
    pub organisation: OrgRow,
    /// Where the teams were read from.
    pub config_source: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(team: &str, per_week: Option<f64>, truck: Option<usize>) -> OrgRow {
        OrgRow {
            team: team.into(),
            deployments_per_week: per_week,
            truck_factor: truck.map(|n| (n, "r".into())),
            ..OrgRow::default()
        }
    }

    #[test]
    fn sorting_puts_missing_figures_last_and_breaks_ties_by_name() {
        let mut rows = vec![row("c", Some(1.0), None), row("a", None, Some(2)), row("b", Some(3.0), Some(1))];
        sort(&mut rows, OrgSort::DeploymentFrequency);
        assert_eq!(rows.iter().map(|r| r.team.as_str()).collect::<Vec<_>>(), ["b", "c", "a"]);
        sort(&mut rows, OrgSort::TruckFactor);
        assert_eq!(rows.iter().map(|r| r.team.as_str()).collect::<Vec<_>>(), ["b", "a", "c"]);
        sort(&mut rows, OrgSort::Team);
        assert_eq!(rows.iter().map(|r| r.team.as_str()).collect::<Vec<_>>(), ["a", "b", "c"]);
        assert!("people".parse::<OrgSort>().unwrap_err().contains("truck_factor"));
    }
}
