//! `fulcrum forecast` as text, Markdown and JSON.

use std::fmt::Write as _;

use fulcrum_core::forecast::Question;

use super::{Format, to_json};
use crate::app::ForecastOutcome;

/// The forecast in `format`.
pub fn forecast(outcome: &ForecastOutcome, format: Format) -> String {
    if format == Format::Json {
        return to_json(outcome);
    }
    let md = format == Format::Markdown;
    let f = &outcome.forecast;
    let scope = if outcome.scope.is_empty() { "everything stored".to_owned() } else { outcome.scope.clone() };
    let mut out = String::new();
    let (what, done) = if outcome.throughput_of.starts_with("work items") {
        ("work items", "done")
    } else {
        ("pull requests", "merged")
    };
    let heading = match f.question {
        Question::When { items, .. } => {
            format!("When will {items} {what} be {done}? ({scope}, from {})", f.first_day)
        }
        Question::HowMany { day } => format!(
            "How many {what} will be {done} by {}? ({scope}, from {})",
            fulcrum_core::time::format_date(day * fulcrum_core::time::SECONDS_PER_DAY),
            f.first_day
        ),
    };
    let _ = writeln!(out, "{}{heading}\n", if md { "## " } else { "" });
    if md {
        out.push_str("| confidence | answer |\n|---|---|\n");
    }
    for row in &f.percentiles {
        let answer = match (&row.date, row.days, row.items) {
            (Some(date), Some(days), _) => format!("{date} ({days} days)"),
            (_, _, Some(items)) => format!("at least {items}"),
            _ => "not within 20 years".to_owned(),
        };
        if md {
            let _ = writeln!(out, "| {}% | {answer} |", row.percentile);
        } else {
            let _ = writeln!(out, "  {:>3}%  {answer}", row.percentile);
        }
    }
    out.push('\n');
    if let Some(d) = &f.deadline {
        let _ = writeln!(
            out,
            "The date asked for, {}, has a {:.0}% chance; 85% needs until {}.\n",
            d.date,
            d.probability * 100.0,
            d.date_for_85.as_deref().unwrap_or("later than 20 years")
        );
    }
    let unit = if matches!(f.question, Question::When { .. }) { "day" } else { "item" };
    let _ = writeln!(
        out,
        "Sampled {} – {} ({} days, {} {done}), {} trials, seed {}; the 85% answer moves by {} {unit}{} across {} seeds.",
        f.sample_first_day,
        f.sample_last_day,
        f.sample_days,
        f.sample_items,
        super::thousands(f.trials as u64),
        f.seed,
        f.seed_spread.spread,
        if f.seed_spread.spread == 1 { "" } else { "s" },
        f.seed_spread.seeds.len()
    );
    let s = &f.stability;
    let _ = writeln!(
        out,
        "Weekly throughput: mean {:.1}, natural limits {:.1} – {:.1}: {}.",
        s.mean,
        s.lower_limit,
        s.upper_limit,
        if s.signals.is_empty() { "stable".to_owned() } else { s.signals.join("; ") }
    );
    for b in &f.backtest {
        let error = b.error.map_or_else(String::new, |e| format!(" ({:+.0}%)", e * 100.0));
        let _ = writeln!(
            out,
            "Backtest {} weeks ago: expected {} (at least {} at 85%), {} happened{error}.",
            b.weeks_ago, b.forecast_p50, b.forecast_p85, b.actual
        );
    }
    if !f.warnings.is_empty() {
        let _ = writeln!(out, "\n{}Warnings", if md { "### " } else { "" });
        for w in &f.warnings {
            let _ = writeln!(out, "- {w}");
        }
    }
    out
}
