//! `fulcrum org` as text, Markdown and JSON: one row per team and the
//! organisation's total. Teams are compared; no person is named or ranked.

use std::fmt::Write as _;

use super::{Format, duration, to_json};
use crate::analyses::org::{OrgRow, OrgView};

/// The organisation view in `format`.
pub fn org(view: &OrgView, format: Format) -> String {
    if format == Format::Json {
        return to_json(view);
    }
    let md = format == Format::Markdown;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}Organisation: {} teams, {} – {} ({})\n",
        if md { "## " } else { "" },
        view.teams.len(),
        fulcrum_core::time::format_date(view.window.0),
        fulcrum_core::time::format_date(view.window.1 - 1),
        view.config_source
    );
    let header =
        ["team", "deploys/week", "lead time", "failure rate", "recovery", "rework", "bottleneck", "truck factor"];
    let rows: Vec<[String; 8]> = view.teams.iter().chain(std::iter::once(&view.organisation)).map(cells).collect();
    if md {
        let _ = writeln!(out, "| {} |", header.join(" | "));
        let _ = writeln!(out, "|{}", "---|".repeat(header.len()));
        for row in &rows {
            let _ = writeln!(out, "| {} |", row.join(" | "));
        }
    } else {
        let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: &[String]| -> String {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(i, (c, w))| if i == 0 { format!("{c:<w$}") } else { format!("{c:>w$}") })
                .collect();
            format!("  {}", padded.join("  ").trim_end())
        };
        let _ = writeln!(out, "{}", line(&header.map(str::to_owned)));
        for (i, row) in rows.iter().enumerate() {
            if i == rows.len() - 1 {
                let _ = writeln!(out, "  {}", "-".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1)));
            }
            let _ = writeln!(out, "{}", line(row));
        }
    }
    let notes: Vec<String> = view
        .teams
        .iter()
        .chain(std::iter::once(&view.organisation))
        .flat_map(|row| row.notes.iter().map(move |n| format!("{}: {n}", row.team)))
        .collect();
    if !notes.is_empty() {
        out.push('\n');
        for note in notes {
            let _ = writeln!(out, "{}{note}", if md { "- " } else { "  note: " });
        }
    }
    let _ = writeln!(
        out,
        "\nSorted by {}. Lead time, recovery and the bottleneck are medians; the truck factor is the lowest of a \
         team's repositories. Figures are per team: nothing here names or ranks a person.",
        serde_json::to_value(view.sort).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
    );
    out
}

fn cells(row: &OrgRow) -> [String; 8] {
    let dash = || "–".to_owned();
    let percent = |v: Option<f64>, lower: bool| {
        v.map_or_else(dash, |v| format!("{}{:.0}%", if lower { "≥" } else { "" }, v * 100.0))
    };
    [
        row.team.clone(),
        row.deployments_per_week.map_or_else(dash, |v| format!("{v:.1}")),
        row.lead_time.map_or_else(dash, duration),
        percent(row.change_failure_rate, row.change_failure_rate_lower_bound),
        row.recovery_time.map_or_else(dash, duration),
        percent(row.rework_rate, false),
        row.bottleneck.as_ref().map_or_else(dash, |(stage, share)| format!("{stage} {:.0}%", share * 100.0)),
        row.truck_factor.as_ref().map_or_else(dash, |(n, repo)| format!("{n} ({repo})")),
    ]
}
