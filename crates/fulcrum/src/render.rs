//! Rendering an [`Analysis`] as a terminal report, Markdown or JSON.
//! Pure string building: the caller decides where it goes.

use std::fmt::Write as _;

use fulcrum_core::dora::{Metric, WeekTrend};
use fulcrum_core::stats::{Average, Summary};
use fulcrum_core::time::{format_date, format_datetime};

use crate::analysis::Analysis;
use crate::sync::SyncSummary;

/// Output format of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Readable text; colour only on a terminal.
    Terminal,
    /// JSON with stable keys (see README).
    Json,
    /// Markdown, for pasting into documents.
    Markdown,
}

/// The JSON document `report --format json` prints.
#[derive(serde::Serialize)]
struct JsonReport<'a> {
    fulcrum_version: &'static str,
    sync: Option<&'a SyncSummary>,
    #[serde(flatten)]
    analysis: &'a Analysis,
}

/// Renders the report.
pub fn report(analysis: &Analysis, sync: Option<&SyncSummary>, format: Format, colour: bool) -> String {
    match format {
        Format::Json => {
            let doc = JsonReport { fulcrum_version: env!("CARGO_PKG_VERSION"), sync, analysis };
            let mut text = serde_json::to_string_pretty(&doc).expect("report types serialise");
            text.push('\n');
            text
        }
        Format::Markdown => markdown(analysis),
        Format::Terminal => terminal(analysis, colour),
    }
}

/// One row of the key table: name, value, detail, tier.
struct Row {
    key: &'static str,
    value: String,
    detail: String,
    tier: String,
}

fn rows(a: &Analysis) -> Vec<Row> {
    let d = &a.dora;
    let year = d.benchmark_year;
    let tier = |t: fulcrum_core::tiers::Tier| format!("{t} (DORA {year})");
    let no_data = |reason: &str| (format!("no data: {reason}"), String::new(), String::new());
    let (value, detail, t) = match &d.deployment_frequency {
        Metric::Value(f) => (
            format!("{:.2}/week", f.per_week),
            format!(
                "{} deployments, {:.2}/day; deployment days per week: {} {:.1}",
                f.deployments,
                f.per_day,
                average_name(d.average),
                f.deployment_days_per_week
            ),
            tier(f.tier),
        ),
        Metric::NoData { reason } => no_data(reason),
    };
    let mut out = vec![Row { key: "Deployment frequency", value, detail, tier: t }];
    let (value, detail, t) = match &d.lead_time {
        Metric::Value(l) => (
            summary_text(&l.summary),
            format!("{} changes{}", l.summary.count, baseline_note(l.baseline_commits)),
            tier(l.tier),
        ),
        Metric::NoData { reason } => no_data(reason),
    };
    out.push(Row { key: "Lead time for changes", value, detail, tier: t });
    let (value, detail, t) = match &d.change_failure_rate {
        Metric::Value(c) => (
            format!("{:.1}%", c.rate * 100.0),
            format!("{} of {} deployments failed (inferred)", c.failed_deployments, c.deployments),
            tier(c.tier),
        ),
        Metric::NoData { reason } => no_data(reason),
    };
    out.push(Row { key: "Change failure rate", value, detail, tier: t });
    let (value, detail, t) = match &d.recovery_time {
        Metric::Value(r) => (
            summary_text(&r.summary),
            format!("{} recoveries, {} unrecovered", r.summary.count, r.unrecovered),
            tier(r.tier),
        ),
        Metric::NoData { reason } => no_data(reason),
    };
    out.push(Row { key: "Recovery time", value, detail, tier: t });
    let (value, detail, t) = match &d.rework_rate {
        Metric::Value(r) => (
            format!("{:.1}%", r.rate * 100.0),
            format!("{} of {} deployments ship a revert or hotfix", r.rework_deployments, r.deployments),
            "no published tier".to_owned(),
        ),
        Metric::NoData { reason } => no_data(reason),
    };
    out.push(Row { key: "Rework rate", value, detail, tier: t });
    out
}

fn baseline_note(baseline: usize) -> String {
    if baseline == 0 { String::new() } else { format!("; {baseline} baseline commits not counted") }
}

fn average_name(average: Average) -> &'static str {
    match average {
        Average::Interpolated => "median",
        Average::LowerMedian => "lower median",
        Average::Mean => "mean",
    }
}

fn summary_text(s: &Summary) -> String {
    format!("{} {}, p75 {}, p90 {}", average_name(s.convention), duration(s.median), duration(s.p75), duration(s.p90))
}

/// A duration in seconds as `3d 4h`, `5h 12m`, `42m`, `30s`.
pub fn duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as i64;
    let (d, h, m) = (s / 86_400, (s % 86_400) / 3_600, (s % 3_600) / 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m")
    } else {
        format!("{s}s")
    }
}

/// A sparkline of `values` (`None` shows as a space).
pub fn sparkline(values: &[Option<f64>]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = values.iter().flatten().fold(0.0_f64, |m, &v| m.max(v));
    values
        .iter()
        .map(|v| match v {
            None => ' ',
            Some(_) if max <= 0.0 => BARS[0],
            Some(v) => BARS[((v / max) * 7.0).round().clamp(0.0, 7.0) as usize],
        })
        .collect()
}

fn trend_lines(weeks: &[WeekTrend]) -> Vec<(&'static str, String)> {
    let deployments: Vec<Option<f64>> = weeks.iter().map(|w| Some(w.deployments as f64)).collect();
    let lead: Vec<Option<f64>> = weeks.iter().map(|w| w.median_lead_time).collect();
    let failed: Vec<Option<f64>> = weeks.iter().map(|w| Some(w.failed_deployments as f64)).collect();
    vec![
        ("deployments", sparkline(&deployments)),
        ("median lead time", sparkline(&lead)),
        ("failed deployments", sparkline(&failed)),
    ]
}

fn window_text(a: &Analysis) -> String {
    let w = &a.dora.window;
    format!("{} → {} ({} days)", format_date(w.start), format_date(w.end - 1), (w.end - w.start + 43_199) / 86_400)
}

/// Weeks shown in the terminal's sparklines.
const TERMINAL_WEEKS: usize = 26;

fn terminal(a: &Analysis, colour: bool) -> String {
    let paint = |code: &str, text: &str| {
        if colour { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_owned() }
    };
    let mut out = String::new();
    let _ = writeln!(out, "{}", paint("1", &format!("fulcrum · {} · {}", a.repository.service, window_text(a))));
    let _ = writeln!(out, "repository   {}", a.repository.path);
    let _ = writeln!(out, "deployments  {}", a.deployments_source);
    let _ = writeln!(out, "failures     {}", a.failures_source);
    let _ = writeln!(out, "config       {}", a.config_source);
    let _ = writeln!(
        out,
        "history      {} commits stored{}",
        a.repository.totals.commits,
        a.repository.last_sync_at.map(|t| format!(", synced {}", format_datetime(t))).unwrap_or_default()
    );
    let _ = writeln!(out);
    let rows = rows(a);
    for row in &rows {
        let value = if row.value.starts_with("no data") { paint("33", &row.value) } else { paint("1", &row.value) };
        let _ = writeln!(out, "{:<22} {}", row.key, value);
        if !row.detail.is_empty() || !row.tier.is_empty() {
            let tier = if row.tier.is_empty() { String::new() } else { format!("tier: {}", row.tier) };
            let sep = if row.detail.is_empty() || tier.is_empty() { "" } else { " · " };
            let _ = writeln!(out, "{:<22} {}{sep}{tier}", "", paint("2", &row.detail));
        }
    }
    if !a.dora.weekly.is_empty() {
        let _ = writeln!(out);
        // A terminal line holds about half a year of weeks; JSON and Markdown have them all.
        let weeks = &a.dora.weekly[a.dora.weekly.len().saturating_sub(TERMINAL_WEEKS)..];
        let first = weeks.first().map(|w| w.week.as_str()).unwrap_or("");
        let last = weeks.last().map(|w| w.week.as_str()).unwrap_or("");
        let _ = writeln!(out, "Weekly trend {first} … {last}");
        for (name, line) in trend_lines(weeks) {
            let _ = writeln!(out, "  {name:<20} {line}");
        }
    }
    if !a.deployments.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "Recent deployments ({} in window)", a.deployments.len());
        for d in a.deployments.iter().take(8) {
            let mut flags = Vec::new();
            if d.baseline {
                flags.push("baseline");
            }
            if d.failed {
                flags.push("failed");
            }
            if d.rework {
                flags.push("rework");
            }
            let _ = writeln!(
                out,
                "  {}  {:<20} {:>5} commits  {}",
                format_date(d.finished_at),
                d.name,
                d.commits,
                flags.join(", ")
            );
        }
    }
    if !a.warnings.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "{}", paint("33", "Warnings"));
        for w in &a.warnings {
            let _ = writeln!(out, "  - {w}");
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "{}", paint("2", &format!("Tiers: {}", a.dora.benchmark_source)));
    out
}

fn markdown(a: &Analysis) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Delivery report: {}\n", a.repository.service);
    let _ = writeln!(out, "- Window: {}", window_text(a));
    let _ = writeln!(out, "- Repository: `{}`", a.repository.path);
    let _ = writeln!(out, "- Deployments: {}", a.deployments_source);
    let _ = writeln!(out, "- Failures: {}", a.failures_source);
    let _ = writeln!(out, "\n| Key | Value | Detail | Tier |\n|---|---|---|---|");
    for row in rows(a) {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            row.key,
            row.value.replace('|', "\\|"),
            row.detail.replace('|', "\\|"),
            row.tier
        );
    }
    if !a.dora.weekly.is_empty() {
        let _ = writeln!(
            out,
            "\n## Weekly trend\n\n| Week | Deployments | Changes | Median lead time | Failed | Rework |\n|---|---|---|---|---|---|"
        );
        for w in &a.dora.weekly {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                w.week,
                w.deployments,
                w.changes,
                w.median_lead_time.map(duration).unwrap_or_else(|| "–".to_owned()),
                w.failed_deployments,
                w.rework_deployments
            );
        }
    }
    if !a.warnings.is_empty() {
        let _ = writeln!(out, "\n## Warnings\n");
        for w in &a.warnings {
            let _ = writeln!(out, "- {w}");
        }
    }
    let _ = writeln!(out, "\n_Tiers: {}_", a.dora.benchmark_source);
    out
}
