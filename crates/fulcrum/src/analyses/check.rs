//! `fulcrum check`: the team's own agreements as a gate for CI. Each rule
//! is `METRIC OP VALUE` (`truck_factor < 2`, `lead_time > 2d`,
//! `change_failure_rate > 0.15`), from `check.fail_if` in fulcrum.toml or
//! `--fail-if`; a rule that holds fails the check. The command prints every
//! rule with the measured value and exits 1 when one failed.

use serde::Serialize;

/// A rule that cannot be read (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error(
    "check rule `{rule}`: {why}; write METRIC OP VALUE, e.g. \"truck_factor < 2\" or \"lead_time > 2d\" (metrics: {metrics})"
)]
pub struct RuleError {
    /// The rule as written.
    pub rule: String,
    /// What is wrong.
    pub why: String,
    /// The metrics known.
    pub metrics: String,
}

/// The metrics a rule can name, with their unit.
pub const METRICS: &[(&str, Unit)] = &[
    ("deployment_frequency", Unit::PerWeek),
    ("lead_time", Unit::Seconds),
    ("change_failure_rate", Unit::Rate),
    ("recovery_time", Unit::Seconds),
    ("rework_rate", Unit::Rate),
    ("truck_factor", Unit::Count),
    ("active_truck_factor", Unit::Count),
    ("single_author_files", Unit::Count),
    ("single_author_hotspots", Unit::Count),
    ("agreement_breaches", Unit::Count),
    ("stale_pull_requests", Unit::Count),
    ("cycle_time", Unit::Seconds),
];

/// How a metric's value reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Deployments per week.
    PerWeek,
    /// A duration: values take `s`, `m`, `h`, `d` or `w` (hours when bare).
    Seconds,
    /// A share: `0.15` or `15%`.
    Rate,
    /// A count.
    Count,
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Op {
    /// `<`
    #[serde(rename = "<")]
    Less,
    /// `<=`
    #[serde(rename = "<=")]
    AtMost,
    /// `>`
    #[serde(rename = ">")]
    Greater,
    /// `>=`
    #[serde(rename = ">=")]
    AtLeast,
}

impl Op {
    fn holds(self, value: f64, limit: f64) -> bool {
        match self {
            Op::Less => value < limit,
            Op::AtMost => value <= limit,
            Op::Greater => value > limit,
            Op::AtLeast => value >= limit,
        }
    }

    fn text(self) -> &'static str {
        match self {
            Op::Less => "<",
            Op::AtMost => "<=",
            Op::Greater => ">",
            Op::AtLeast => ">=",
        }
    }
}

/// A parsed rule: the check fails when `metric op limit` holds.
#[derive(Debug, Clone, Serialize)]
pub struct Rule {
    /// As written.
    pub text: String,
    /// The metric.
    pub metric: &'static str,
    /// The comparison.
    pub op: Op,
    /// The limit, in the metric's base unit (seconds, a share, a count, per week).
    pub limit: f64,
}

/// Parses `METRIC OP VALUE`.
pub fn parse(text: &str) -> Result<Rule, RuleError> {
    let error = |why: &str| RuleError {
        rule: text.to_owned(),
        why: why.to_owned(),
        metrics: METRICS.iter().map(|(m, _)| *m).collect::<Vec<_>>().join(", "),
    };
    let (position, op, width) = ["<=", ">=", "<", ">"]
        .iter()
        .find_map(|o| text.find(o).map(|p| (p, *o, o.len())))
        .ok_or_else(|| error("no comparison (<, <=, >, >=)"))?;
    let name = text[..position].trim().to_lowercase().replace(['-', ' '], "_");
    let (metric, unit) = METRICS.iter().find(|(m, _)| *m == name).ok_or_else(|| error("unknown metric"))?;
    let op = match op {
        "<=" => Op::AtMost,
        ">=" => Op::AtLeast,
        "<" => Op::Less,
        _ => Op::Greater,
    };
    let value = text[position + width..].trim().to_lowercase();
    let number = |s: &str| s.trim().parse::<f64>().ok().filter(|v| v.is_finite());
    let limit = match unit {
        Unit::Seconds => {
            let (digits, factor) = match value.char_indices().last() {
                Some((i, 's')) => (&value[..i], 1.0),
                Some((i, 'm')) => (&value[..i], 60.0),
                Some((i, 'h')) => (&value[..i], 3600.0),
                Some((i, 'd')) => (&value[..i], 86_400.0),
                Some((i, 'w')) => (&value[..i], 604_800.0),
                _ => (value.as_str(), 3600.0),
            };
            number(digits).map(|v| v * factor)
        }
        Unit::Rate => match value.strip_suffix('%') {
            Some(percent) => number(percent).map(|v| v / 100.0),
            None => number(&value),
        },
        Unit::PerWeek | Unit::Count => number(&value),
    }
    .ok_or_else(|| error("the value is not a number (durations take s, m, h, d or w)"))?;
    Ok(Rule { text: text.trim().to_owned(), metric, op, limit })
}

/// One rule's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// The rule.
    pub rule: Rule,
    /// The value measured (base unit), or `None` with `no_data`.
    pub value: Option<f64>,
    /// Why there is no value.
    pub no_data: Option<String>,
    /// The rule holds: the check fails.
    pub failed: bool,
}

/// Judges `rules` against `measure` (metric → value or why not).
pub fn judge(rules: &[Rule], measure: &dyn Fn(&str) -> Result<f64, String>) -> Vec<Verdict> {
    rules
        .iter()
        .map(|rule| match measure(rule.metric) {
            Ok(value) => Verdict {
                rule: rule.clone(),
                value: Some(value),
                no_data: None,
                failed: rule.op.holds(value, rule.limit),
            },
            Err(why) => Verdict { rule: rule.clone(), value: None, no_data: Some(why), failed: false },
        })
        .collect()
}

/// A value in the metric's own terms.
pub fn show(metric: &str, value: f64) -> String {
    match METRICS.iter().find(|(m, _)| *m == metric).map(|(_, u)| *u) {
        Some(Unit::Seconds) => crate::render::duration(value),
        Some(Unit::Rate) => format!("{:.1}%", value * 100.0),
        Some(Unit::PerWeek) => format!("{value:.2}/week"),
        _ => format!("{value}"),
    }
}

/// The verdicts as text: one line each, `FAIL` first.
pub fn render(verdicts: &[Verdict]) -> String {
    let mut out = String::new();
    for v in verdicts {
        let (status, detail) = match (&v.value, &v.no_data) {
            (Some(value), _) => (
                if v.failed { "FAIL" } else { "ok" },
                format!(
                    "{} = {} (fails when {} {})",
                    v.rule.metric,
                    show(v.rule.metric, *value),
                    v.rule.op.text(),
                    show(v.rule.metric, v.rule.limit)
                ),
            ),
            (None, why) => ("skip", format!("{}: no data ({})", v.rule.metric, why.as_deref().unwrap_or(""))),
        };
        out.push_str(&crate::render::wrap(&detail, crate::render::width(), &format!("{status:<5} "), "      "));
        out.push('\n');
    }
    let failed = verdicts.iter().filter(|v| v.failed).count();
    out.push_str(&format!(
        "{}: {} of {} failed\n",
        if failed > 0 { "check failed" } else { "check passed" },
        failed,
        verdicts.len()
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_read_units_and_comparisons() {
        let rule = parse("lead_time > 2d").unwrap();
        assert_eq!((rule.metric, rule.op, rule.limit), ("lead_time", Op::Greater, 172_800.0));
        assert_eq!(parse("lead-time >= 36").unwrap().limit, 36.0 * 3600.0, "bare durations are hours");
        assert_eq!(parse("change_failure_rate > 15%").unwrap().limit, 0.15);
        assert_eq!(parse("change_failure_rate > 0.15").unwrap().limit, 0.15);
        assert_eq!(parse("truck_factor < 2").unwrap().op, Op::Less);
        assert_eq!(parse("truck_factor <= 2").unwrap().op, Op::AtMost);
        assert!(parse("velocity > 3").unwrap_err().to_string().contains("unknown metric"));
        assert!(parse("truck_factor 2").unwrap_err().to_string().contains("no comparison"));
        assert!(parse("truck_factor < two").unwrap_err().to_string().contains("not a number"));
    }

    #[test]
    fn rules_that_hold_fail_and_missing_data_skips() {
        let rules =
            [parse("truck_factor < 2").unwrap(), parse("lead_time > 1d").unwrap(), parse("rework_rate > 0.5").unwrap()];
        let verdicts = judge(&rules, &|m| match m {
            "truck_factor" => Ok(1.0),
            "lead_time" => Ok(3600.0),
            _ => Err("no deployments".into()),
        });
        let failed: Vec<bool> = verdicts.iter().map(|v| v.failed).collect();
        assert_eq!(failed, [true, false, false]);
        let text = render(&verdicts);
        assert!(text.contains("FAIL  truck_factor = 1 (fails when < 2)"), "{text}");
        assert!(text.contains("skip  rework_rate: no data (no deployments)"), "{text}");
        assert!(text.ends_with("check failed: 1 of 3 failed\n"), "{text}");
    }
}
