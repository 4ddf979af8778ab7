//! Rendering a [`FlowAnalysis`]: terminal, Markdown, JSON (with one row per
//! merged pull request, each stage in seconds).

use std::fmt::Write as _;

use fulcrum_core::dora::Metric;
use fulcrum_core::flow::{Agreement, CycleEnd, FlowReport, Stage, StageStats};
use fulcrum_core::time::format_date;

use super::{Format, duration, json, sparkline};
use crate::analyses::flow::FlowAnalysis;

/// Renders the flow report.
pub fn flow(a: &FlowAnalysis, format: Format) -> String {
    match format {
        Format::Json => json(&JsonFlow { fulcrum_version: env!("CARGO_PKG_VERSION"), analysis: a }),
        Format::Markdown => markdown(a),
        Format::Terminal => terminal(a),
    }
}

#[derive(serde::Serialize)]
struct JsonFlow<'a> {
    fulcrum_version: &'static str,
    #[serde(flatten)]
    analysis: &'a FlowAnalysis,
}

fn stage_metric(r: &FlowReport, stage: Stage) -> &Metric<StageStats> {
    match stage {
        Stage::Coding => &r.coding,
        Stage::Pickup => &r.pickup,
        Stage::Review => &r.review,
        Stage::Deploy => &r.deploy,
        Stage::Cycle => &r.cycle,
    }
}

fn title(a: &FlowAnalysis) -> String {
    let w = &a.report.window;
    let scope = if a.scope.is_empty() { "all stored pull requests" } else { a.scope.as_str() };
    format!("{scope} · {} → {}", format_date(w.start), format_date(w.end - 1))
}

fn cycle_end_text(r: &FlowReport) -> &'static str {
    match r.cycle_end {
        CycleEnd::Deployed => "cycle time ends at the first production deployment shipping the merge commit",
        CycleEnd::Merged => "cycle time ends at the merge: no deployment is known",
    }
}

/// `(stage, median, p75, p90, PRs, missing)` cells per stage.
fn stage_cells(r: &FlowReport) -> Vec<[String; 6]> {
    Stage::ALL
        .iter()
        .map(|&stage| match stage_metric(r, stage) {
            Metric::Value(s) => [
                stage.name().to_owned(),
                duration(s.summary.median),
                duration(s.summary.p75),
                duration(s.summary.p90),
                s.summary.count.to_string(),
                (s.missing + s.negative_spans_dropped).to_string(),
            ],
            Metric::NoData { reason } => [
                stage.name().to_owned(),
                format!("no data: {reason}"),
                String::new(),
                String::new(),
                "0".into(),
                String::new(),
            ],
        })
        .collect()
}

fn agreement_name(a: Agreement) -> &'static str {
    match a {
        Agreement::Coding => "coding",
        Agreement::Pickup => "pickup",
        Agreement::Review => "review",
        Agreement::Deploy => "deploy",
        Agreement::Cycle => "cycle",
        Agreement::Size => "size",
    }
}

/// Summary lines shared by terminal and Markdown output.
/// Pull requests named per list.
const NAMED: usize = 10;

/// `#12 "Fix login" by ann <link>`, from what the store knows of it.
fn pr_name(a: &FlowAnalysis, id: &str, number: u64) -> String {
    match a.named.get(id) {
        Some(n) => format!(
            "#{number}{} by {}{}",
            n.title.as_ref().map(|t| format!(" \"{t}\"")).unwrap_or_default(),
            n.author,
            n.url.as_ref().map(|u| format!(" {u}")).unwrap_or_default()
        ),
        None => format!("#{number}"),
    }
}

fn summary_lines(a: &FlowAnalysis, r: &FlowReport) -> Vec<String> {
    let mut lines = Vec::new();
    match &r.bottleneck {
        Metric::Value(b) => lines.push(format!(
            "Bottleneck: {} ({:.0}% of cycle time at the median, median {}){}",
            b.stage.name(),
            b.median_share * 100.0,
            duration(b.median),
            match (b.breaches_agreement, b.target) {
                (Some(true), Some(t)) => format!(", over its agreement of {}", duration(t as f64)),
                (Some(false), Some(t)) => format!(", within its agreement of {}", duration(t as f64)),
                _ => String::new(),
            }
        )),
        Metric::NoData { reason } => lines.push(format!("Bottleneck: no data: {reason}")),
    }
    if r.breaches.is_empty() {
        lines.push(format!("Working agreements ({}): no breaches", r.agreement_clock));
    } else {
        let mut counts: Vec<(Agreement, usize, i64)> = Vec::new();
        for b in &r.breaches {
            match counts.iter_mut().find(|(a, _, _)| *a == b.agreement) {
                Some(entry) => entry.1 += 1,
                None => counts.push((b.agreement, 1, b.limit)),
            }
        }
        let parts: Vec<String> = counts
            .iter()
            .map(|&(agreement, n, limit)| {
                let limit =
                    if agreement == Agreement::Size { format!("{limit} lines") } else { duration(limit as f64) };
                format!("{} > {limit}: {n} PRs", agreement_name(agreement))
            })
            .collect();
        lines.push(format!(
            "Working agreements ({}): {} breaches ({})",
            r.agreement_clock,
            r.breaches.len(),
            parts.join("; ")
        ));
        // The largest breaches first, named so someone can act on them.
        let mut worst: Vec<&fulcrum_core::flow::Breach> = r.breaches.iter().collect();
        worst.sort_by(|a, b| (b.value - b.limit).cmp(&(a.value - a.limit)).then(a.pr.cmp(&b.pr)));
        for b in worst.iter().take(NAMED) {
            let over =
                if b.agreement == Agreement::Size { format!("{} lines", b.value) } else { duration(b.value as f64) };
            lines.push(format!("  {} · {} {over}", pr_name(a, &b.pr, b.number), agreement_name(b.agreement)));
        }
        if r.breaches.len() > NAMED {
            lines.push(format!("  … and {} more (all of them with --format json)", r.breaches.len() - NAMED));
        }
    }
    match &r.wip {
        Metric::Value(w) => lines.push(format!(
            "WIP: {} open PRs (+{} drafts) by {} authors, {:.1} per author",
            w.open_prs, w.draft_prs, w.active_authors, w.per_author
        )),
        Metric::NoData { reason } => lines.push(format!("WIP: no data: {reason}")),
    }
    if r.stale.is_empty() {
        lines.push(format!("Stale: no open PR idle for {} days", r.stale_days));
    } else {
        lines.push(format!("Stale: {} open PRs idle for {} days or more", r.stale.len(), r.stale_days));
        for s in r.stale.iter().take(NAMED) {
            lines.push(format!(
                "  {} · idle {}{}",
                pr_name(a, &s.pr, s.number),
                duration(s.idle as f64),
                if s.draft { " (draft)" } else { "" }
            ));
        }
        if r.stale.len() > NAMED {
            lines.push(format!("  … and {} more (all of them with --format json)", r.stale.len() - NAMED));
        }
    }
    match &r.review_load {
        Metric::Value(l) => lines.push(format!(
            "Review load: {} reviews by {} reviewers; Gini {:.2} (0: shared evenly, towards 1: one reviewer does \
             it all); the busiest reviewer gave {:.0}%",
            l.reviews,
            l.reviewers,
            l.gini,
            l.top_share * 100.0
        )),
        Metric::NoData { reason } => lines.push(format!("Review load: no data: {reason}")),
    }
    match &r.size {
        Metric::Value(s) => {
            let buckets: Vec<String> = s.buckets.iter().map(|b| format!("{}: {}", b.label, b.prs)).collect();
            lines.push(format!(
                "Size: median {:.0} changed lines, p90 {:.0}; {}{}",
                s.summary.median,
                s.summary.p90,
                buckets.join(", "),
                if s.unknown > 0 { format!("; size unknown: {}", s.unknown) } else { String::new() }
            ));
        }
        Metric::NoData { reason } => lines.push(format!("Size: no data: {reason}")),
    }
    let merged: Vec<Option<f64>> = r.weekly.iter().map(|w| Some(w.merged_prs as f64)).collect();
    let total: usize = r.weekly.iter().map(|w| w.merged_prs).sum();
    let weeks = r.weekly.len().max(1);
    lines.push(format!(
        "Throughput: {total} PRs merged, {:.1} a week {}",
        total as f64 / weeks as f64,
        sparkline(&merged[merged.len().saturating_sub(26)..])
    ));
    if let Some(deployments) = r.weekly.iter().map(|w| w.deployments).sum::<Option<usize>>() {
        lines.push(format!("Deployments: {deployments}, {:.1} a week", deployments as f64 / weeks as f64));
    }
    lines
}

fn terminal(a: &FlowAnalysis) -> String {
    let r = &a.report;
    let mut out = String::new();
    let _ = writeln!(out, "fulcrum flow · {}", title(a));
    if let Some(headline) = &a.headline {
        let _ = writeln!(out, "\n{}\n", super::wrap(headline, super::width(), "", ""));
    }
    let label = |name: &str, text: &str| super::wrap(text, super::width(), &format!("{name:<13}"), &" ".repeat(13));
    let _ = writeln!(out, "{}", label("deployments", &a.deployments_source));
    if !a.event_sources.is_empty() {
        let _ = writeln!(out, "{}", label("events from", &a.event_sources.join(", ")));
    }
    let _ = writeln!(out, "{}", label("cycle", cycle_end_text(r)));
    let _ = writeln!(out, "{}", label("config", &a.config_source));
    let _ = writeln!(out, "\n{} merged pull requests in the window\n", r.rows.len());
    let _ = writeln!(out, "{:<8} {:>10} {:>10} {:>10} {:>6} {:>8}", "stage", "median", "p75", "p90", "PRs", "missing");
    for cells in stage_cells(r) {
        if cells[1].starts_with("no data") {
            let _ =
                writeln!(out, "{}", super::wrap(&cells[1], super::width(), &format!("{:<9}", cells[0]), "         "));
        } else {
            let _ = writeln!(
                out,
                "{:<8} {:>10} {:>10} {:>10} {:>6} {:>8}",
                cells[0], cells[1], cells[2], cells[3], cells[4], cells[5]
            );
        }
    }
    let _ = writeln!(out);
    for line in summary_lines(a, r) {
        let text = match line.strip_prefix("  ") {
            Some(item) => super::wrap(item, super::width(), "  ", "    "),
            None => super::wrap(&line, super::width(), "", "  "),
        };
        let _ = writeln!(out, "{text}");
    }
    if let Some(items) = &a.items {
        let _ = writeln!(
            out,
            "\nwork items: {} done in the window{} ({} without a pull request), {} in progress, {} stored",
            items.done,
            points_text(items.points_done),
            items.without_pull_requests,
            items.in_progress,
            items.items
        );
        let _ = writeln!(out, "{:<16} {:>10} {:>10} {:>10} {:>6}", "step", "median", "p75", "p90", "items");
        for (name, cells) in item_cells(items) {
            match cells {
                Ok([median, p75, p90, count]) => {
                    let _ = writeln!(out, "{name:<16} {median:>10} {p75:>10} {p90:>10} {count:>6}");
                }
                Err(reason) => {
                    let _ = writeln!(
                        out,
                        "{}",
                        super::wrap(&reason, super::width(), &format!("{name:<17}"), &" ".repeat(17))
                    );
                }
            }
        }
    }
    if !r.warnings.is_empty() {
        let _ = writeln!(out, "\nwarnings:");
        for w in &r.warnings {
            let _ = writeln!(out, "{}", super::wrap(w, super::width(), "  - ", "    "));
        }
    }
    out
}

fn markdown(a: &FlowAnalysis) -> String {
    let r = &a.report;
    let mut out = String::new();
    let _ = writeln!(out, "# Flow: {}\n", title(a));
    if let Some(headline) = &a.headline {
        let _ = writeln!(out, "> **{headline}**\n");
    }
    let _ = writeln!(out, "- Deployments: {}", a.deployments_source);
    if !a.event_sources.is_empty() {
        let _ = writeln!(out, "- Events from: {}", a.event_sources.join(", "));
    }
    let _ = writeln!(out, "- Cycle: {}", cycle_end_text(r));
    let _ = writeln!(out, "- Merged pull requests: {}\n", r.rows.len());
    let _ = writeln!(out, "| Stage | Median | p75 | p90 | PRs | Missing |\n|---|---|---|---|---|---|");
    for cells in stage_cells(r) {
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    let _ = writeln!(out);
    for line in summary_lines(a, r) {
        let _ = writeln!(out, "- {line}");
    }
    if let Some(items) = &a.items {
        let _ = writeln!(
            out,
            "\n## Work items\n\n{} done in the window{} ({} without a pull request), {} in progress, {} stored.\n",
            items.done,
            points_text(items.points_done),
            items.without_pull_requests,
            items.in_progress,
            items.items
        );
        let _ = writeln!(out, "| Step | Median | p75 | p90 | Items |\n|---|---|---|---|---|");
        for (name, cells) in item_cells(items) {
            match cells {
                Ok(cells) => {
                    let _ = writeln!(out, "| {name} | {} |", cells.join(" | "));
                }
                Err(reason) => {
                    let _ = writeln!(out, "| {name} | {reason} | | | |");
                }
            }
        }
    }
    if !r.warnings.is_empty() {
        let _ = writeln!(out, "\n## Warnings\n");
        for w in &r.warnings {
            let _ = writeln!(out, "- {w}");
        }
    }
    out
}

/// The feature value stream's steps in words, with median, p75, p90 and
/// count, or why there is no value.
fn item_cells(items: &fulcrum_core::items::ItemStream) -> Vec<(&'static str, Result<[String; 4], String>)> {
    items
        .steps
        .iter()
        .map(|step| {
            let name = match step.step {
                "backlog" => "created→started",
                "to_first_commit" => "started→commit",
                "to_ready" => "commit→PR ready",
                "to_merged" => "ready→merged",
                "to_deployed" => "merged→deployed",
                "cycle" => "started→done",
                _ => "waiting (to do)",
            };
            let cells = match &step.summary {
                Metric::Value(s) => {
                    Ok([super::duration(s.median), super::duration(s.p75), super::duration(s.p90), s.count.to_string()])
                }
                Metric::NoData { reason } => Err(format!("no data: {reason}")),
            };
            (name, cells)
        })
        .collect()
}

/// `, 21 points` when the done items carry estimates.
fn points_text(points: Option<f64>) -> String {
    // Points are often halves (0.5, 1.5): one decimal only when there is one.
    let text = |p: f64| if p.fract() == 0.0 { format!("{p:.0}") } else { format!("{p:.1}") };
    points.map(|p| format!(", {} points", text(p))).unwrap_or_default()
}
