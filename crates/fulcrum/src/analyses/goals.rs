//! Goals measured by fulcrum's own metrics: which metrics can measure a
//! goal (and where each is read in the report, flow or knowledge answer),
//! the target as written, and a goal's view (its SMART check, values and
//! progress) from what the store holds.
//!
//! The measuring itself (running the report over a window) is in
//! `app::goals`; the math (SMART, progress, projection) in the core.

use fulcrum_core::goals::{Direction, Progress};
use serde::Serialize;

use crate::analyses::check::Unit;
use crate::error::UsageError;
use crate::store::{GoalRow, GoalValue};

/// Which answer a metric is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The delivery report's DORA keys.
    Report,
    /// The pull-request flow.
    Flow,
    /// Knowledge (measured at one instant: no history of windows).
    Knowledge,
}

/// A metric a goal can be measured by.
#[derive(Debug, Clone, Copy)]
pub struct GoalMetric {
    /// Its name (`lead_time.p75`).
    pub name: &'static str,
    /// Where it is read.
    pub source: Source,
    /// The path in that answer's JSON (a `Metric`'s `value` is entered on
    /// the way; a list gives its length).
    pub path: &'static [&'static str],
    /// Its unit.
    pub unit: Unit,
    /// Which way is better, the default direction of a target.
    pub better: Direction,
}

const fn m(
    name: &'static str,
    source: Source,
    path: &'static [&'static str],
    unit: Unit,
    better: Direction,
) -> GoalMetric {
    GoalMetric { name, source, path, unit, better }
}

use Direction::{AtLeast, AtMost};
use Source::{Flow, Knowledge, Report};
use Unit::{Count, PerWeek, Rate, Seconds};

/// Every metric a goal can name.
pub const METRICS: &[GoalMetric] = &[
    m("deployment_frequency.per_week", Report, &["deployment_frequency", "per_week"], PerWeek, AtLeast),
    m(
        "deployment_frequency.deployment_days_per_week",
        Report,
        &["deployment_frequency", "deployment_days_per_week"],
        Count,
        AtLeast,
    ),
    m("lead_time.median", Report, &["lead_time", "summary", "median"], Seconds, AtMost),
    m("lead_time.p75", Report, &["lead_time", "summary", "p75"], Seconds, AtMost),
    m("lead_time.p90", Report, &["lead_time", "summary", "p90"], Seconds, AtMost),
    m("change_failure_rate", Report, &["change_failure_rate", "rate"], Rate, AtMost),
    m("recovery_time.median", Report, &["recovery_time", "summary", "median"], Seconds, AtMost),
    m("recovery_time.p75", Report, &["recovery_time", "summary", "p75"], Seconds, AtMost),
    m("rework_rate", Report, &["rework_rate", "rate"], Rate, AtMost),
    m("coding.median", Flow, &["coding", "summary", "median"], Seconds, AtMost),
    m("coding.p75", Flow, &["coding", "summary", "p75"], Seconds, AtMost),
    m("pickup.median", Flow, &["pickup", "summary", "median"], Seconds, AtMost),
    m("pickup.p75", Flow, &["pickup", "summary", "p75"], Seconds, AtMost),
    m("review.median", Flow, &["review", "summary", "median"], Seconds, AtMost),
    m("review.p75", Flow, &["review", "summary", "p75"], Seconds, AtMost),
    m("deploy.median", Flow, &["deploy", "summary", "median"], Seconds, AtMost),
    m("deploy.p75", Flow, &["deploy", "summary", "p75"], Seconds, AtMost),
    m("cycle.median", Flow, &["cycle", "summary", "median"], Seconds, AtMost),
    m("cycle.p75", Flow, &["cycle", "summary", "p75"], Seconds, AtMost),
    m("agreement_breaches", Flow, &["breaches"], Count, AtMost),
    m("review_load.top_share", Flow, &["review_load", "top_share"], Rate, AtMost),
    m("review_load.gini", Flow, &["review_load", "gini"], Rate, AtMost),
    m("wip.per_author", Flow, &["wip", "per_author"], Count, AtMost),
    m("stale_pull_requests", Flow, &["stale"], Count, AtMost),
    m("truck_factor", Knowledge, &["truck_factor"], Count, AtLeast),
];

/// The metric named `name`: an unknown name is bad input listing the known.
pub fn metric(name: &str) -> Result<&'static GoalMetric, UsageError> {
    let wanted = name.trim().to_lowercase().replace('-', "_");
    METRICS.iter().find(|m| m.name == wanted).ok_or_else(|| {
        UsageError(format!(
            "--metric {name}: not a metric fulcrum measures; use one of {} (or leave --metric out for a manual goal)",
            METRICS.iter().map(|m| m.name).collect::<Vec<_>>().join(", ")
        ))
    })
}

/// A target as written: `8h`, `<= 8h`, `>= 3`, `15%`. Without a comparison
/// the metric's better direction applies.
pub fn target(metric: &GoalMetric, text: &str) -> Result<(f64, Direction), UsageError> {
    let trimmed = text.trim();
    let (direction, value) = if let Some(rest) = trimmed.strip_prefix("<=").or_else(|| trimmed.strip_prefix('<')) {
        (AtMost, rest)
    } else if let Some(rest) = trimmed.strip_prefix(">=").or_else(|| trimmed.strip_prefix('>')) {
        (AtLeast, rest)
    } else {
        (metric.better, trimmed)
    };
    let op = match direction {
        AtMost => "<=",
        AtLeast => ">=",
    };
    // The check rules' grammar reads the value in the metric's unit.
    let probe = match metric.unit {
        Seconds => "lead_time",
        Rate => "change_failure_rate",
        PerWeek => "deployment_frequency",
        Count => "truck_factor",
    };
    let rule = crate::analyses::check::parse(&format!("{probe} {op} {}", value.trim())).map_err(|_| {
        UsageError(format!(
            "--target {text}: not a value of {} ({}); e.g. {}",
            metric.name,
            unit_words(metric.unit),
            match metric.unit {
                Seconds => "8h, 2d or \"<= 36h\"",
                Rate => "10% or 0.1",
                PerWeek => "5 (per week)",
                Count => "3",
            }
        ))
    })?;
    if rule.limit < 0.0 {
        return Err(UsageError(format!("--target {text}: a target is not negative")));
    }
    Ok((rule.limit, direction))
}

fn unit_words(unit: Unit) -> &'static str {
    match unit {
        Seconds => "a duration: s, m, h, d or w, hours when bare",
        Rate => "a share: 0.15 or 15%",
        PerWeek => "deployments per week",
        Count => "a count",
    }
}

/// A value of `metric` in its own terms.
pub fn show(metric: Option<&GoalMetric>, value: f64) -> String {
    match metric.map(|m| m.unit) {
        Some(Seconds) => crate::render::duration(value),
        Some(Rate) => format!("{:.1}%", value * 100.0),
        Some(PerWeek) => format!("{value:.2}/week"),
        _ if value.fract() == 0.0 => format!("{value}"),
        _ => format!("{value:.2}"),
    }
}

/// The value at `path` of an answer's JSON: a `Metric` without data gives
/// its reason; a list gives its length.
pub fn resolve(json: &serde_json::Value, path: &[&str]) -> Result<f64, String> {
    let mut at = json;
    for key in path {
        if let Some(reason) = at.get("no_data") {
            return Err(reason.get("reason").and_then(|r| r.as_str()).unwrap_or("no data").to_owned());
        }
        if let Some(inner) = at.get("value").filter(|v| v.is_object()) {
            at = inner;
        }
        at = at.get(*key).ok_or_else(|| format!("`{key}` is not in the answer"))?;
    }
    if let Some(reason) = at.get("no_data") {
        return Err(reason.get("reason").and_then(|r| r.as_str()).unwrap_or("no data").to_owned());
    }
    match at {
        serde_json::Value::Array(items) => Ok(items.len() as f64),
        serde_json::Value::Number(n) => n.as_f64().ok_or_else(|| "not a number".to_owned()),
        serde_json::Value::Null => Err("no value in the window".to_owned()),
        _ => Err("not a number".to_owned()),
    }
}

/// A goal as shown: its stored fields, its due date, the SMART check made
/// when it was set, its values and its progress.
#[derive(Debug, Clone, Serialize)]
pub struct GoalView {
    /// The goal as stored (its SMART text is parsed into `smart`).
    #[serde(flatten)]
    pub goal: GoalRow,
    /// The due date.
    pub due: String,
    /// The SMART check made when it was set.
    pub smart: Vec<serde_json::Value>,
    /// The letters that failed, in words: kept on the goal as warnings.
    pub warnings: Vec<String>,
    /// The target in the metric's terms (`<= 8h`).
    pub target_shown: Option<String>,
    /// Its values, oldest first.
    pub values: Vec<GoalValue>,
    /// Progress from the baseline to the target, when there is a value.
    pub progress: Option<Progress>,
}

/// Parses a stored direction.
pub fn direction(text: Option<&str>) -> Option<Direction> {
    match text? {
        "at_most" => Some(AtMost),
        "at_least" => Some(AtLeast),
        _ => None,
    }
}

/// The stored name of a direction.
pub fn direction_name(d: Direction) -> &'static str {
    match d {
        AtMost => "at_most",
        AtLeast => "at_least",
    }
}

/// The view of `goal` with its `values`, at `now`.
pub fn view(goal: &GoalRow, values: Vec<GoalValue>, now: i64) -> GoalView {
    let smart: Vec<serde_json::Value> = serde_json::from_str(&goal.smart).unwrap_or_default();
    let warnings = smart
        .iter()
        .filter(|l| l.get("passed").and_then(|p| p.as_bool()) == Some(false))
        .map(|l| {
            format!(
                "{}: {}",
                l.get("letter").and_then(|v| v.as_str()).unwrap_or("?"),
                l.get("detail").and_then(|v| v.as_str()).unwrap_or("")
            )
        })
        .collect();
    let metric = goal.metric.as_deref().and_then(|m| metric(m).ok());
    let dir = direction(goal.direction.as_deref());
    let target_shown = goal.target.zip(dir).map(|(t, d)| format!("{} {}", d.symbol(), show(metric, t)));
    let series: Vec<(i64, f64)> = values.iter().filter_map(|v| v.value.map(|x| (v.day, x))).collect();
    // A manual goal's baseline is its first reported value.
    let baseline = goal.baseline.or_else(|| series.first().map(|(_, v)| *v));
    let progress = match (baseline, goal.target, dir) {
        (Some(baseline), Some(target), Some(d)) => {
            let end = goal.closed_at.unwrap_or(now);
            fulcrum_core::goals::progress(&series, goal.created_at, baseline, target, d, goal.due_at, end)
        }
        _ => None,
    };
    GoalView {
        goal: goal.clone(),
        due: fulcrum_core::time::format_date(goal.due_at),
        smart,
        warnings,
        target_shown,
        values,
        progress,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_read_in_the_metric_unit_and_direction() {
        let pickup = metric("pickup.p75").unwrap();
        assert_eq!(target(pickup, "8h").unwrap(), (8.0 * 3600.0, AtMost));
        assert_eq!(target(pickup, "<= 2d").unwrap(), (2.0 * 86_400.0, AtMost));
        let frequency = metric("deployment-frequency.per_week").unwrap();
        assert_eq!(target(frequency, "5").unwrap(), (5.0, AtLeast));
        assert_eq!(target(metric("change_failure_rate").unwrap(), "10%").unwrap(), (0.1, AtMost));
        assert!(target(pickup, "soon").unwrap_err().0.contains("not a value of pickup.p75"));
        assert!(metric("velocity").unwrap_err().0.contains("not a metric fulcrum measures"));
    }

    #[test]
    fn values_are_read_through_metrics_and_lists() {
        let json = serde_json::json!({
            "lead_time": {"value": {"summary": {"median": 3600.0, "p75": 7200.0}}},
            "recovery_time": {"no_data": {"reason": "no failed deployment"}},
            "breaches": [1, 2, 3],
        });
        assert_eq!(resolve(&json, &["lead_time", "summary", "p75"]), Ok(7200.0));
        assert_eq!(resolve(&json, &["recovery_time", "summary", "median"]), Err("no failed deployment".into()));
        assert_eq!(resolve(&json, &["breaches"]), Ok(3.0));
    }
}
