//! Rendering an [`Analysis`] as a terminal report, Markdown or JSON.
//! Pure string building: the caller decides where it goes.

use std::fmt::Write as _;

use fulcrum_core::dora::{Metric, WeekTrend, count};
use fulcrum_core::stats::{Average, Summary};
use fulcrum_core::time::{format_date, format_datetime};

use crate::analyses::analysis::Analysis;
use crate::analyses::knowledge::KnowledgeSection;
use crate::sources::sync::SyncSummary;

pub mod brief;
mod flow;
mod focus;
mod forecast;
pub mod goals;
mod org;

pub use flow::flow;
pub use focus::focus;
pub use forecast::forecast;
pub use org::org;

/// Thousands with commas: 10000 → "10,000".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Text for HTML: `& < > "` escaped (pages, attributes, the brief's file).
pub fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

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
    knowledge: Option<&'a KnowledgeSection>,
    #[serde(flatten)]
    analysis: &'a Analysis,
}

/// Renders the report.
pub fn report(
    analysis: &Analysis,
    sync: Option<&SyncSummary>,
    knowledge: Option<&KnowledgeSection>,
    format: Format,
    colour: bool,
) -> String {
    match format {
        Format::Json => {
            let doc = JsonReport { fulcrum_version: env!("CARGO_PKG_VERSION"), sync, knowledge, analysis };
            json(&doc)
        }
        Format::Markdown => markdown(analysis, knowledge),
        Format::Terminal => terminal(analysis, knowledge, colour),
    }
}

/// The knowledge lines of the delivery report.
fn knowledge_lines(k: &KnowledgeSection) -> Vec<String> {
    if k.files_analysed == 0 {
        return vec![format!(
            "no files to analyse at {}: the file filter leaves every file out (see knowledge.require_language and knowledge.include)",
            &k.commit[..k.commit.len().min(10)]
        )];
    }
    let mut lines = vec![format!(
        "Truck factor {} at {} ({} files; {} with a single author)",
        k.truck_factor,
        &k.commit[..k.commit.len().min(10)],
        k.files_analysed,
        k.single_author_files
    )];
    for key in &k.key_people {
        lines.push(format!(
            "{} <{}> authors {} files ({:.1}%), last commit {}",
            key.person.name,
            key.person.email,
            key.files_authored,
            key.share * 100.0,
            format_date(key.last_active)
        ));
    }
    if let Some(active) = &k.active {
        lines.push(active_line(active));
    }
    if k.agent_share > 0.0 {
        lines.push(format!(
            "{:.1}% of file changes were made or co-authored by coding agents (code nobody on the team wrote)",
            k.agent_share * 100.0
        ));
    }
    lines
}

/// A key person on one line (wrapped to the width).
fn key_person_line(key: &crate::analyses::knowledge::KeyPersonRow) -> String {
    let text = format!(
        "{} <{}> · {} ({:.1}%) · last commit {}",
        key.person.name,
        key.person.email,
        count(key.files_authored, "file", "files"),
        key.share * 100.0,
        format_date(key.last_active)
    );
    wrap(&text, width(), "  ", "    ")
}

/// The active truck factor in one sentence.
fn active_line(a: &crate::analyses::knowledge::ActiveRow) -> String {
    let gone: Vec<String> = a
        .counted_as_gone
        .iter()
        .take(5)
        .map(|g| format!("{} (last commit {})", g.person.name, format_date(g.last_active)))
        .collect();
    let more = a.counted_as_gone.len().saturating_sub(gone.len());
    if a.counted_as_gone.is_empty() {
        return format!(
            "Active truck factor {}: every author committed in the last {} days",
            a.truck_factor, a.inactive_after_days
        );
    }
    format!(
        "Active truck factor {}, counting as gone {} with no commit in {} days: {}{} ({} already without an active author)",
        a.truck_factor,
        count(a.counted_as_gone.len(), "author", "authors"),
        a.inactive_after_days,
        gone.join(", "),
        if more > 0 { format!(" and {more} more") } else { String::new() },
        count(a.orphaned_files, "file", "files")
    )
}

/// What coding agents changed, in one sentence.
fn agents_line(a: &crate::analyses::knowledge::AgentRow) -> String {
    if a.changes == 0 {
        return "Coding agents: no file change made or co-authored by one".to_owned();
    }
    let names: Vec<&str> = a.agents.iter().map(|p| p.name.as_str()).collect();
    format!(
        "Coding agents ({}) made or co-authored {} of {} file changes ({:.1}%): code nobody on the team wrote; \
         agents are never authors",
        names.join(", "),
        a.changes,
        a.total_changes,
        a.share * 100.0
    )
}

/// Who else a departure counted as gone.
fn inactive_note(d: &crate::analyses::knowledge::DepartureRow) -> String {
    let names: Vec<&str> = d.inactive_counted_as_gone.iter().map(|p| p.name.as_str()).collect();
    format!(
        "counting as gone too, with no commit within knowledge.inactive_after: {} ({} already without an active \
         author before anyone leaves)",
        names.join(", "),
        count(d.orphaned_by_inactivity, "file", "files")
    )
}

/// Colours a terminal report line by line: the title and the headline
/// figures bold, "no data" and warnings yellow, failures and breaches red,
/// passes green. Plain text in, the same text with ANSI codes out.
pub fn paint_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 256);
    let mut in_warnings = false;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        in_warnings = in_warnings && (line.starts_with("  ") || line.is_empty());
        if trimmed.starts_with("Warnings") || trimmed.starts_with("warnings:") {
            in_warnings = true;
        }
        let code = if i == 0
            || ["Truck factor", "Active truck factor", "Bottleneck:"].iter().any(|p| trimmed.starts_with(p))
        {
            Some("1")
        } else if trimmed.starts_with("FAIL")
            || trimmed.starts_with("check failed")
            || trimmed.starts_with("Working agreements") && !trimmed.contains("no breaches")
        {
            Some("31")
        } else if trimmed.starts_with("ok ") || trimmed.starts_with("check passed") {
            Some("32")
        } else if in_warnings
            || trimmed.starts_with("warning")
            || trimmed.contains("no data")
            || trimmed.starts_with("skip")
        {
            Some("33")
        } else {
            None
        };
        match code {
            Some(code) if !line.is_empty() => out.push_str(&format!("\x1b[{code}m{line}\x1b[0m")),
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// The width terminal output is fitted to: `COLUMNS` when set, else 80
/// (also when piped), never under 40.
pub fn width() -> usize {
    std::env::var("COLUMNS").ok().and_then(|v| v.trim().parse().ok()).unwrap_or(80).max(40)
}

/// `text` wrapped at `width` columns on spaces: the first line starts with
/// `first`, the others with `rest` (both count towards the width). A word
/// longer than a line stands alone on its line.
pub fn wrap(text: &str, width: usize, first: &str, rest: &str) -> String {
    let mut out = String::new();
    let mut line = first.to_owned();
    let mut empty = true;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let needed = if empty { word.chars().count() } else { word.chars().count() + 1 };
        if !empty && line.chars().count() + needed > width {
            out.push_str(line.trim_end());
            out.push('\n');
            line = rest.to_owned();
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    out.push_str(line.trim_end());
    out
}

/// Pretty JSON with a final newline (for other modules' reports).
pub fn to_json<T: serde::Serialize>(value: &T) -> String {
    json(value)
}

/// Pretty JSON with a final newline.
fn json<T: serde::Serialize>(value: &T) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("report types serialise");
    text.push('\n');
    text
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
    let rated = |t: Option<fulcrum_core::tiers::Tier>, note: &Option<String>| match (t, note) {
        (Some(t), _) => tier(t),
        (None, Some(note)) => note.clone(),
        (None, None) => String::new(),
    };
    let interval = |i: [f64; 2]| format!("95% CI {:.0}–{:.0}%", i[0] * 100.0, i[1] * 100.0);
    let no_data = |reason: &str| (format!("no data: {reason}"), String::new(), String::new());
    let (value, detail, t) = match &d.deployment_frequency {
        Metric::Value(f) => (
            format!("{:.2}/week", f.per_week),
            format!(
                "{}, {:.2}/day; deployment days per week: {} {:.1}",
                count(f.deployments, "deployment", "deployments"),
                f.per_day,
                average_name(d.average),
                f.deployment_days_per_week
            ),
            tier(f.tier),
        ),
        Metric::NoData { reason } => no_data(reason),
    };
    let p = &a.previous;
    let days = (p.window.end - p.window.start + 43_199) / 86_400;
    let percent = |x: f64| format!("{:.1}%", x * 100.0);
    let per_week = |x: f64| format!("{x:.2}/week");
    let value = value + &versus(&p.deployment_frequency, days, &per_week);
    let mut out = vec![Row { key: "Deployment frequency", value, detail, tier: t }];
    let (value, detail, t) = match &d.lead_time {
        Metric::Value(l) => (
            summary_text(&l.summary),
            format!("{}{}", count(l.summary.count, "change", "changes"), baseline_note(l.baseline_commits)),
            rated(l.tier, &l.tier_note),
        ),
        Metric::NoData { reason } => no_data(reason),
    };
    let value = value + &versus(&p.lead_time, days, &duration);
    out.push(Row { key: "Lead time for changes", value, detail, tier: t });
    let (value, detail, t) = match &d.change_failure_rate {
        Metric::Value(c) => (
            format!("{}{:.1}%", if c.lower_bound { "at least " } else { "" }, c.rate * 100.0),
            format!(
                "{} of {} failed ({}); {}",
                c.failed_deployments,
                count(c.deployments, "deployment", "deployments"),
                match c.failure_source {
                    fulcrum_core::dora::FailureSource::Inferred => "inferred",
                    fulcrum_core::dora::FailureSource::Incidents => "incidents",
                },
                interval(c.interval)
            ),
            rated(c.tier, &c.tier_note),
        ),
        Metric::NoData { reason } => no_data(reason),
    };
    let value = value + &versus(&p.change_failure_rate, days, &percent);
    out.push(Row { key: "Change failure rate", value, detail, tier: t });
    let (value, detail, t) = match &d.recovery_time {
        Metric::Value(r) => (
            summary_text(&r.summary),
            format!(
                "{}, {} unrecovered; from the failed deployment to its fix",
                count(r.summary.count, "recovery", "recoveries"),
                r.unrecovered
            ),
            rated(r.tier, &r.tier_note),
        ),
        Metric::NoData { reason } => no_data(reason),
    };
    let value = value + &versus(&p.recovery_time, days, &duration);
    out.push(Row { key: "Recovery time", value, detail, tier: t });
    let (value, detail, t) = match &d.rework_rate {
        Metric::Value(r) => (
            format!("{}{:.1}%", if r.lower_bound { "at least " } else { "" }, r.rate * 100.0),
            format!(
                "{} of {} shipped a revert or fix; {}",
                r.rework_deployments,
                count(r.deployments, "deployment", "deployments"),
                interval(r.interval)
            ),
            "no published tier".to_owned(),
        ),
        Metric::NoData { reason } => no_data(reason),
    };
    let value = value + &versus(&p.rework_rate, days, &percent);
    out.push(Row { key: "Rework rate", value, detail, tier: t });
    out
}

/// ` · ▲ 12% on the previous 90 days (3h 10m)` when a value has data now
/// and then; empty otherwise (and for a metric without data now, whose
/// value text is its reason).
fn versus(v: &crate::analyses::analysis::Versus, days: i64, show: &dyn Fn(f64) -> String) -> String {
    let Some(before) = v.previous else { return String::new() };
    let change = match v.change {
        Some(c) if c.abs() < 0.005 => "= ".to_owned(),
        Some(c) if c > 0.0 => format!("▲ {:.0}% ", c * 100.0),
        Some(c) => format!("▼ {:.0}% ", -c * 100.0),
        None => String::new(),
    };
    format!(" · {change}vs the previous {days} days ({})", show(before))
}

fn baseline_note(baseline: usize) -> String {
    if baseline == 0 {
        String::new()
    } else {
        format!("; {} not counted", count(baseline, "baseline commit", "baseline commits"))
    }
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
    // Each line scales to its own highest week: say what the top bar is.
    let top = |values: &[Option<f64>], show: &dyn Fn(f64) -> String| {
        let max = values.iter().flatten().fold(0.0_f64, |m, &v| m.max(v));
        if values.iter().flatten().next().is_none() { String::new() } else { format!("  (top: {})", show(max)) }
    };
    let whole = |v: f64| format!("{v:.0}");
    vec![
        ("deployments", sparkline(&deployments) + &top(&deployments, &whole)),
        ("median lead time", sparkline(&lead) + &top(&lead, &duration)),
        ("failed deployments", sparkline(&failed) + &top(&failed, &whole)),
    ]
}

fn window_text(a: &Analysis) -> String {
    let w = &a.dora.window;
    format!("{} → {} ({} days)", format_date(w.start), format_date(w.end - 1), (w.end - w.start + 43_199) / 86_400)
}

fn repository_text(a: &Analysis) -> &str {
    if a.repository.path.is_empty() { "none (stored events only)" } else { &a.repository.path }
}

/// What each key tells a leader, in a sentence (`fulcrum explain` says more).
const SO_WHAT: [(&str, &str); 5] = [
    ("Frequency means", "how often users get the team's work; smaller, more frequent deployments carry less risk each"),
    ("Lead time means", "how long a change waits between being written and running in production"),
    ("Failure rate means", "how often a deployment hurts users: the price of speed"),
    ("Recovery means", "how long users live with a failed deployment"),
    ("Rework means", "how much of the delivery is repair rather than new value"),
];

/// Windows of more weeks than this show their trend by month in Markdown.
const MARKDOWN_WEEKS: usize = 13;

/// Weeks shown in the terminal's sparklines.
const TERMINAL_WEEKS: usize = 26;

fn terminal(a: &Analysis, knowledge: Option<&KnowledgeSection>, colour: bool) -> String {
    let paint = |code: &str, text: &str| {
        if colour { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_owned() }
    };
    let mut out = String::new();
    let service = if a.repository.service.is_empty() { "all stored events" } else { a.repository.service.as_str() };
    let _ = writeln!(out, "{}", paint("1", &format!("fulcrum · {service} · {}", window_text(a))));
    if let Some(headline) = &a.headline {
        let _ = writeln!(out, "\n{}\n", paint("33", &wrap(headline, width(), "", "")));
    }
    let label = |name: &str, text: &str| wrap(text, width(), &format!("{name:<13}"), &" ".repeat(13));
    let _ = writeln!(out, "{}", label("repository", repository_text(a)));
    let _ = writeln!(out, "{}", label("deployments", &a.deployments_source));
    let _ = writeln!(out, "{}", label("failures", &a.failures_source));
    if !a.event_sources.is_empty() {
        let _ = writeln!(out, "{}", label("changes", &a.lead_time_source));
        let _ = writeln!(out, "{}", label("events from", &a.event_sources.join(", ")));
    }
    let _ = writeln!(out, "{}", label("config", &a.config_source));
    if !a.repository.path.is_empty() {
        let _ = writeln!(
            out,
            "history      {} commits stored{}",
            a.repository.totals.commits,
            a.repository.last_sync_at.map(|t| format!(", synced {}", format_datetime(t))).unwrap_or_default()
        );
    }
    let _ = writeln!(out);
    let rows = rows(a);
    for row in &rows {
        let text = wrap(&row.value, width(), &format!("{:<23}", row.key), &" ".repeat(23));
        let (head, rest) = text.split_at(23.min(text.len()));
        let painted = if row.value.starts_with("no data") { paint("33", rest) } else { paint("1", rest) };
        let _ = writeln!(out, "{head}{painted}");
        if !row.detail.is_empty() || !row.tier.is_empty() {
            let tier = if row.tier.is_empty() { String::new() } else { format!("tier: {}", row.tier) };
            let sep = if row.detail.is_empty() || tier.is_empty() { "" } else { " · " };
            let detail = wrap(&format!("{}{sep}{tier}", row.detail), width(), &" ".repeat(23), &" ".repeat(23));
            let _ = writeln!(out, "{}", paint("2", &detail));
        }
    }
    let _ = writeln!(out);
    for (key, meaning) in SO_WHAT {
        let _ = writeln!(out, "{}", paint("2", &wrap(meaning, width(), &format!("{key:<23}"), &" ".repeat(23))));
    }
    if !a.dora.weekly.is_empty() {
        let _ = writeln!(out);
        // A terminal line holds about half a year of weeks; JSON and Markdown have them all.
        let weeks = &a.dora.weekly[a.dora.weekly.len().saturating_sub(TERMINAL_WEEKS)..];
        let first = weeks.first().map(|w| w.week.as_str()).unwrap_or("");
        let last = weeks.last().map(|w| w.week.as_str()).unwrap_or("");
        let all = a.dora.weekly.len() + a.dora.monthly.iter().map(|m| m.weeks).sum::<usize>();
        let shown = if weeks.len() < all { format!(" (last {} of {all} weeks)", weeks.len()) } else { String::new() };
        let _ = writeln!(out, "Weekly trend {first} … {last}{shown}");
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
                "  {}  {:<20} {:>5} {}  {}",
                format_date(d.finished_at),
                d.name,
                d.commits,
                if d.commits == 1 { "commit " } else { "commits" },
                flags.join(", ")
            );
        }
    }
    if let Some(k) = knowledge {
        let lines = knowledge_lines(k);
        let _ = writeln!(out);
        let _ = writeln!(out, "{}", wrap(&lines[0], width(), "Knowledge  ", "  "));
        for line in &lines[1..] {
            let _ = writeln!(out, "{}", wrap(line, width(), "  ", "    "));
        }
        let _ = writeln!(out, "  (details: fulcrum knowledge)");
    }
    if !a.warnings.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "{}", paint("33", "Warnings"));
        for w in &a.warnings {
            let _ = writeln!(out, "{}", wrap(w, width(), "  - ", "    "));
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "{}", paint("2", &wrap(&format!("Tiers: {}", a.dora.benchmark_source), width(), "", "  ")));
    out
}

fn markdown(a: &Analysis, knowledge: Option<&KnowledgeSection>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Delivery report: {}\n", a.repository.service);
    if let Some(headline) = &a.headline {
        let _ = writeln!(out, "> **{headline}**\n");
    }
    let _ = writeln!(out, "- Window: {}", window_text(a));
    let _ = writeln!(out, "- Repository: `{}`", repository_text(a));
    let _ = writeln!(out, "- Deployments: {}", a.deployments_source);
    let _ = writeln!(out, "- Failures: {}", a.failures_source);
    if !a.event_sources.is_empty() {
        let _ = writeln!(out, "- Changes: {}", a.lead_time_source);
        let _ = writeln!(out, "- Events from: {}", a.event_sources.join(", "));
    }
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
    let _ = writeln!(out);
    for (key, meaning) in SO_WHAT {
        let _ = writeln!(out, "- *{}* {meaning}.", key.replace(" means", ""));
    }
    if a.dora.weekly.len() + a.dora.monthly.iter().map(|m| m.weeks).sum::<usize>() > MARKDOWN_WEEKS {
        // A long window reads better by month than as rows of empty weeks.
        let _ = writeln!(
            out,
            "\n## Monthly trend\n\n| Month | Weeks | Deployments | Changes | Median lead time | Failed | Rework |\n|---|---|---|---|---|---|---|"
        );
        for m in &a.dora.by_month {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                m.month,
                m.weeks,
                m.deployments,
                m.changes,
                m.median_lead_time.map(duration).unwrap_or_else(|| "–".to_owned()),
                m.failed_deployments,
                m.rework_deployments
            );
        }
    } else if !a.dora.weekly.is_empty() {
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
    if let Some(k) = knowledge {
        let lines = knowledge_lines(k);
        let _ = writeln!(out, "\n## Knowledge\n\n{}", lines[0]);
        if lines.len() > 1 {
            let _ = writeln!(out);
        }
        for line in &lines[1..] {
            let _ = writeln!(out, "- {line}");
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

/// `text` cut to its last `width` characters, with `…` in front when cut
/// (a path's end names the file).
fn left_cut(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count <= width {
        return text.to_owned();
    }
    let tail: String = text.chars().skip(count - width + 1).collect();
    format!("…{tail}")
}

/// What the hotspot columns mean.
const HOTSPOT_LEGEND: &str = "  score = changes in the window × lines now: large files that keep changing, where \
                              defects and slow work gather; files changed once are left out; authors: people who \
                              changed it (bots and coding agents not counted)";

/// What the coupling degree means.
const COUPLING_LEGEND: &str = "  degree = shared commits ÷ the average of the two files' commits: 100% when they only \
                               ever change together, a hidden dependency worth a look";

/// Renders the knowledge report.
pub fn knowledge(k: &crate::analyses::knowledge::KnowledgeReport, format: Format) -> String {
    let person = |p: &crate::analyses::knowledge::PersonRow| format!("{} <{}>", p.name, p.email);
    let mut out = String::new();
    match format {
        Format::Json => return json(k),
        Format::Terminal => {
            let title = format!("fulcrum knowledge · {} at {}", k.repository, &k.commit[..k.commit.len().min(12)]);
            let _ = writeln!(out, "{}", wrap(&title, width(), "", "  "));
            let files = format!(
                "{} analysed of {} in the tree{}",
                k.files_analysed,
                k.files_in_tree,
                excluded_text(&k.files_excluded)
            );
            let _ = writeln!(out, "{}", wrap(&files, width(), "files        ", &" ".repeat(13)));
            let _ = writeln!(out, "\nTruck factor {} (as published: everyone in the history counts)", k.truck_factor);
            for key in &k.key_people {
                let _ = writeln!(out, "{}", key_person_line(key));
            }
            if k.key_people.iter().map(|p| p.share).sum::<f64>() > 1.0 {
                let _ = writeln!(out, "  (shares add up past 100%: a file can have several authors)");
            }
            if let Some(active) = &k.active {
                let _ = writeln!(out, "\n{}", wrap(&active_line(active), width(), "", "  "));
                for key in &active.key_people {
                    let _ = writeln!(out, "{}", key_person_line(key));
                }
            }
            let _ = writeln!(out, "\n{}", wrap(&agents_line(&k.agents), width(), "", "  "));
            let _ = writeln!(
                out,
                "\n{} have a single author (most changed first); {} no author in the history",
                count(k.single_author_files.len(), "file", "files"),
                k.files_without_author
            );
            let single: Vec<String> = k
                .single_author_files
                .iter()
                .map(|f| format!("{} · {} ({})", f.path, f.author.name, count(f.changes as usize, "change", "changes")))
                .collect();
            for line in capped_list(&single, LIST_CAP) {
                let _ = writeln!(out, "    {line}");
            }
            if let Some(dirs) = &k.directories {
                let _ = writeln!(out, "\nBy directory (most files at risk first)");
                let _ = writeln!(
                    out,
                    "  {:<32} {:>6} {:>8} {:>4} {:>7}  main author",
                    "directory", "files", "at risk", "TF", "fragm."
                );
                for d in dirs {
                    let _ = writeln!(
                        out,
                        "  {:<32} {:>6} {:>8} {:>4} {:>7.2}  {}{}",
                        d.directory,
                        d.files,
                        d.files_at_risk,
                        d.truck_factor,
                        d.fragmentation,
                        d.main_author.as_ref().map(|p| p.name.clone()).unwrap_or_else(|| "–".to_owned()),
                        if d.single_author { " *" } else { "" }
                    );
                }
                let legend = "at risk: files with at most one author · TF: the directory's truck factor · fragm.: \
                              1 − Σ share² of people's changes (0: one person made them all; towards 1: spread over \
                              many) · *: one person authors every file";
                let _ = writeln!(out, "{}", wrap(legend, width(), "  ", "  "));
            }
            if let Some(d) = &k.departure {
                let names: Vec<String> = d.leaving.iter().map(person).collect();
                let _ = writeln!(out, "\nIf {} left", names.join(", "));
                let _ = writeln!(
                    out,
                    "  {} of {} files ({:.1}%) would have no author left",
                    d.orphaned,
                    d.files,
                    d.share * 100.0
                );
                if !d.inactive_counted_as_gone.is_empty() {
                    let _ = writeln!(out, "{}", wrap(&inactive_note(d), width(), "  ", "  "));
                }
                for (dir, orphaned, total) in d.directories.iter().take(10) {
                    let _ = writeln!(out, "  {dir:<40} {orphaned:>5} of {total:>5} files");
                }
                for line in capped_list(&d.orphaned_files, LIST_CAP) {
                    let _ = writeln!(out, "    {line}");
                }
            }
            let _ =
                writeln!(out, "\n{}", wrap(&format!("Review knowledge: {}", k.review_knowledge), width(), "", "  "));
            for w in &k.warnings {
                let _ = writeln!(out, "{}", wrap(&format!("warning: {w}"), width(), "", "  "));
            }
            let _ = writeln!(out, "\n{}", wrap(&format!("Method: {}", k.method), width(), "", "  "));
        }
        Format::Markdown => {
            let _ = writeln!(out, "# Knowledge risk: {}\n", k.repository);
            let _ = writeln!(out, "- Commit: `{}`", k.commit);
            let _ = writeln!(
                out,
                "- Files: {} analysed of {}{}",
                k.files_analysed,
                k.files_in_tree,
                excluded_text(&k.files_excluded)
            );
            let _ =
                writeln!(out, "- **Truck factor: {}** (as published: everyone in the history counts)", k.truck_factor);
            if let Some(active) = &k.active {
                let _ = writeln!(out, "- {}", active_line(active));
            }
            let _ = writeln!(out, "- {}\n", agents_line(&k.agents));
            let _ = writeln!(out, "| Person | Files authored | Share | Last commit |\n|---|---|---|---|");
            for key in &k.key_people {
                let _ = writeln!(
                    out,
                    "| {} | {} | {:.1}% | {} |",
                    person(&key.person),
                    key.files_authored,
                    key.share * 100.0,
                    format_date(key.last_active)
                );
            }
            if let Some(dirs) = &k.directories {
                let _ = writeln!(
                    out,
                    "\n## By directory\n\nMost files at risk (at most one author) first. Fragmentation is 1 − Σ share² of \
                     people's changes: 0 when one person made them all.\n\n| Directory | Files | At risk | Truck factor | \
                     Fragmentation | Main author |\n|---|---|---|---|---|---|"
                );
                for d in dirs {
                    let _ = writeln!(
                        out,
                        "| {} | {} | {} | {} | {:.2} | {} |",
                        d.directory,
                        d.files,
                        d.files_at_risk,
                        d.truck_factor,
                        d.fragmentation,
                        d.main_author.as_ref().map(person).unwrap_or_default()
                    );
                }
            }
            if let Some(d) = &k.departure {
                let names: Vec<String> = d.leaving.iter().map(person).collect();
                let _ = writeln!(
                    out,
                    "\n## Departure impact\n\nIf {} left, {} of {} files ({:.1}%) would have no author.\n",
                    names.join(", "),
                    d.orphaned,
                    d.files,
                    d.share * 100.0
                );
                if !d.inactive_counted_as_gone.is_empty() {
                    let _ = writeln!(out, "{}\n", inactive_note(d));
                }
                for line in capped_list(&d.orphaned_files, LIST_CAP) {
                    let _ = writeln!(out, "- {line}");
                }
            }
            for w in &k.warnings {
                let _ = writeln!(out, "\n> warning: {w}");
            }
            let _ = writeln!(out, "\n_Method: {}_", k.method);
        }
    }
    out
}

/// Files listed in text reports before "… and N more" (JSON lists them all).
const LIST_CAP: usize = 20;

fn capped_list(items: &[String], cap: usize) -> Vec<String> {
    let mut lines: Vec<String> = items.iter().take(cap).cloned().collect();
    if items.len() > cap {
        lines.push(format!("… and {} more (all of them with --format json)", items.len() - cap));
    }
    lines
}

fn excluded_text(excluded: &[(String, usize)]) -> String {
    if excluded.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = excluded.iter().map(|(reason, n)| format!("{n} {reason}")).collect();
    format!(" (left out: {})", parts.join(", "))
}

/// Renders hotspots and change coupling.
pub fn hotspots(h: &crate::analyses::knowledge::HotspotsReport, format: Format) -> String {
    let mut out = String::new();
    let name =
        |p: &Option<crate::analyses::knowledge::PersonRow>| p.as_ref().map(|p| p.name.clone()).unwrap_or_default();
    let window = format!("{} → {}", format_date(h.window.start), format_date(h.window.end - 1));
    match format {
        Format::Json => return json(h),
        Format::Terminal => {
            let title = format!("fulcrum hotspots · {} · {window}", h.repository);
            let _ = writeln!(out, "{}", wrap(&title, width(), "", "  "));
            // The path column takes what the numbers and a name leave of the width.
            let longest = h.hotspots.iter().map(|s| s.path.chars().count()).max().unwrap_or(4);
            let column = longest.clamp(4, width().saturating_sub(52).max(20));
            let _ = writeln!(
                out,
                "\n{:<column$} {:>7} {:>6} {:>8} {:>7}  main author",
                "file", "changes", "lines", "score", "authors"
            );
            for s in &h.hotspots {
                let _ = writeln!(
                    out,
                    "{:<column$} {:>7} {:>6} {:>8} {:>7}  {}",
                    left_cut(&s.path, column),
                    s.changes,
                    s.lines,
                    s.score,
                    s.authors,
                    name(&s.main_author)
                );
            }
            if h.hotspots.is_empty() {
                let _ = writeln!(out, "  none: no file was changed twice in the window");
            }
            let _ = writeln!(out, "{}", wrap(HOTSPOT_LEGEND.trim(), width(), "  ", "  "));
            let _ = writeln!(
                out,
                "\nChange coupling (shared commits ≥ {}, commits touching > {} files left out)",
                h.min_shared, h.max_changeset
            );
            for c in &h.coupling {
                let _ = writeln!(out, "  {:.0}%  {:>4} shared  {}  ↔  {}", c.degree * 100.0, c.shared, c.a, c.b);
            }
            if h.coupling.is_empty() {
                let _ = writeln!(out, "  none");
            }
            let _ = writeln!(out, "{}", wrap(COUPLING_LEGEND.trim(), width(), "  ", "  "));
        }
        Format::Markdown => {
            let _ = writeln!(out, "# Hotspots: {}\n\nWindow: {window}\n", h.repository);
            let _ =
                writeln!(out, "| File | Changes | Lines | Score | Authors | Main author |\n|---|---|---|---|---|---|");
            for s in &h.hotspots {
                let _ = writeln!(
                    out,
                    "| `{}` | {} | {} | {} | {} | {} |",
                    s.path,
                    s.changes,
                    s.lines,
                    s.score,
                    s.authors,
                    name(&s.main_author)
                );
            }
            let _ = writeln!(out, "\n{}", HOTSPOT_LEGEND.trim());
            let _ = writeln!(out, "\n## Change coupling\n\n| Degree | Shared | File | File |\n|---|---|---|---|");
            for c in &h.coupling {
                let _ = writeln!(out, "| {:.0}% | {} | `{}` | `{}` |", c.degree * 100.0, c.shared, c.a, c.b);
            }
            let _ = writeln!(out, "\n{}", COUPLING_LEGEND.trim());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(10_000), "10,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
