//! `fulcrum brief`: the delivery, flow and knowledge reports translated for
//! people outside engineering: findings in terms of cost, risk and
//! opportunity, each with its figure, the formula and where the figure
//! comes from (the command and the JSON field), and the wins against the
//! previous period of the same length.
//!
//! Composition only: every number is read from the reports the other
//! commands print, never computed anew from the store, so a brief cannot
//! disagree with `report`, `flow` or `knowledge`. It names no person: risk
//! is "one person", not who.

use serde::{Deserialize, Serialize};

use crate::analyses::analysis::Analysis;
use crate::analyses::flow::FlowAnalysis;
use crate::analyses::knowledge::{HotspotsReport, KnowledgeReport};

/// What the brief needs to put money on time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BriefSettings {
    /// `brief.hours_per_day`: hours in an engineer-day (default 8).
    pub hours_per_day: f64,
    /// `brief.hourly_rate`: the loaded cost of an engineer-hour; `None`: no money.
    pub hourly_rate: Option<f64>,
    /// `brief.currency` (default `EUR`).
    pub currency: String,
}

/// Which kind of finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Time (and money) spent waiting.
    Cost,
    /// What could go wrong or already did.
    Risk,
    /// What an improvement would be worth.
    Opportunity,
}

/// One finding: a sentence for people, and how to check it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Cost, risk or opportunity.
    pub kind: Kind,
    /// A short title.
    pub title: String,
    /// The finding in plain words.
    pub sentence: String,
    /// The figure it rests on.
    pub figure: f64,
    /// Its unit.
    pub unit: String,
    /// How the figure is computed.
    pub formula: String,
    /// Where the inputs are: the command and its JSON fields.
    pub source: String,
    /// The page with the detail.
    pub link: String,
}

/// Something that improved against the previous period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Win {
    /// What improved.
    pub what: String,
    /// In words: "lead time fell from 3.1 to 1.8 days".
    pub sentence: String,
    /// The value before.
    pub before: f64,
    /// The value now.
    pub now: f64,
    /// Where both are.
    pub source: String,
}

/// One key of the delivery headline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyLine {
    /// The key's name in words.
    pub name: String,
    /// Its value in words, or why there is none.
    pub value: String,
    /// Its tier, when rated.
    pub tier: Option<String>,
}

/// The brief.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Brief {
    /// What it covers: a service, a repository or everything stored.
    pub scope: String,
    /// First day of the window.
    pub since: String,
    /// Last day of the window.
    pub until: String,
    /// Days in the window.
    pub days: f64,
    /// The delivery report's headline, when it has one.
    pub headline: Option<String>,
    /// The five keys in words.
    pub keys: Vec<KeyLine>,
    /// Deployments per week (ISO week, count), for the chart.
    pub weekly_deployments: Vec<(String, u64)>,
    /// Findings: cost, then risk, then opportunity.
    pub findings: Vec<Finding>,
    /// What improved.
    pub wins: Vec<Win>,
    /// The settings used.
    pub settings: BriefSettings,
    /// What the reader should know about the numbers.
    pub caveats: Vec<String>,
}

/// Everything a brief is made of.
pub struct BriefInputs<'a> {
    /// `fulcrum report` for the window.
    pub report: &'a Analysis,
    /// `fulcrum flow` for the window.
    pub flow: &'a FlowAnalysis,
    /// `fulcrum flow` for the previous window of the same length.
    pub previous_flow: Option<&'a FlowAnalysis>,
    /// `fulcrum knowledge` with the person it rests on most leaving; `None`
    /// without a repository.
    pub knowledge: Option<&'a KnowledgeReport>,
    /// `fulcrum hotspots` for the window.
    pub hotspots: Option<&'a HotspotsReport>,
    /// Money and days.
    pub settings: &'a BriefSettings,
    /// The scope as asked (services named), when the reports have none.
    pub scope: Option<String>,
}

fn hours(seconds: f64) -> f64 {
    seconds / 3600.0
}

/// A number of days or hours in words: "1.8 days", "20 h".
fn span(seconds: f64) -> String {
    let h = hours(seconds);
    if h >= 48.0 { format!("{:.1} days", h / 24.0) } else { format!("{h:.0} h") }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

fn money(amount: f64, currency: &str) -> String {
    let whole = amount.round() as i64;
    format!("{}{} {currency}", if whole < 0 { "-" } else { "" }, crate::render::thousands(whole.unsigned_abs()))
}

/// The brief of `inputs`.
pub fn compose(inputs: &BriefInputs<'_>) -> Brief {
    let BriefInputs { report, flow, previous_flow, knowledge, hotspots, settings, scope } = inputs;
    let window = report.dora.window;
    let days = window.duration() as f64 / 86_400.0;
    let mut findings = Vec::new();
    let mut caveats = Vec::new();
    let day = |t: i64| fulcrum_core::time::format_date(t);
    let per_day = settings.hours_per_day;
    let rows = &flow.report.rows;

    // Cost of waiting: for a first review, and for deployment.
    for (stage, title, waited_for, field) in [
        (fulcrum_core::flow::Stage::Pickup, "Waiting for review", "a first review", "pickup"),
        (fulcrum_core::flow::Stage::Deploy, "Waiting for deployment", "deployment after merging", "deploy"),
    ] {
        let spans: Vec<i64> = rows.iter().filter_map(|r| r.get(stage)).collect();
        if spans.is_empty() {
            continue;
        }
        let total = hours(spans.iter().sum::<i64>() as f64);
        let engineer_days = total / per_day;
        let mut sentence = format!(
            "In the {days:.0} days, {} merged changes waited {total:.0} hours in all for {waited_for}: {engineer_days:.1} engineer-days",
            spans.len()
        );
        let mut formula =
            format!("Σ {field} time over {} merged pull requests ÷ {per_day} h per engineer-day", spans.len());
        if let Some(rate) = settings.hourly_rate {
            sentence.push_str(&format!(
                ", {} at {} an hour",
                money(total * rate, &settings.currency),
                money(rate, &settings.currency)
            ));
            formula.push_str(&format!("; × {rate} {} per hour", settings.currency));
        }
        sentence.push_str(". This is time work waited, not time people worked: the cost is the delay.");
        findings.push(Finding {
            kind: Kind::Cost,
            title: title.into(),
            sentence,
            figure: (engineer_days * 10.0).round() / 10.0,
            unit: "engineer-days".into(),
            formula,
            source: format!("fulcrum flow --format json: rows[].{field}"),
            link: "/flow".into(),
        });
    }
    if settings.hourly_rate.is_none() {
        caveats.push(
            "No hourly rate is configured (brief.hourly_rate), so waiting is shown in engineer-days, not money.".into(),
        );
    }

    // Risk: knowledge held by one person.
    match knowledge.and_then(|k| k.departure.as_ref().map(|d| (k, d))) {
        Some((k, departure)) => {
            // The directory that would lose most (at least 3 files), else the whole.
            let worst = departure
                .directories
                .iter()
                .filter(|(_, _, total)| *total >= 3)
                .max_by(|a, b| (a.1 * b.2).cmp(&(b.1 * a.2)).then(b.0.cmp(&a.0)));
            let (place, orphaned, total) = match worst {
                Some((dir, orphaned, total)) => (format!("`{dir}/`"), *orphaned, *total),
                None => ("the code".to_owned(), departure.orphaned, departure.files),
            };
            let share = if total > 0 { orphaned as f64 / total as f64 } else { 0.0 };
            findings.push(Finding {
                kind: Kind::Risk,
                title: "Knowledge in one head".into(),
                sentence: format!(
                    "If one person leaves, {:.0}% of {place} ({orphaned} of {total} files) has no remaining author; \
                     across the repository {:.0}% of files would. The truck factor is {}: that many people leaving \
                     would leave most files without anyone who knows them.",
                    share * 100.0,
                    departure.share * 100.0,
                    k.truck_factor
                ),
                figure: (share * 1000.0).round() / 10.0,
                unit: "% of files".into(),
                formula:
                    "files whose every author is the person the truck factor rests on most (or inactive) ÷ files, \
                          per top-level directory"
                        .into(),
                source: "fulcrum knowledge --leaving <that person> --format json: departure.directories".into(),
                link: "/knowledge".into(),
            });
        }
        None => caveats.push("Knowledge risk needs a git repository (--repo).".into()),
    }

    // Risk: failed deployments and degraded hours.
    let failed: Vec<_> = report.deployments.iter().filter(|d| d.failed).collect();
    if let Some(cfr) = report.dora.change_failure_rate.value() {
        let recovered: Vec<f64> =
            failed.iter().filter_map(|d| d.recovered_at.map(|at| hours((at - d.finished_at).max(0) as f64))).collect();
        let degraded: f64 = recovered.iter().sum();
        let open = failed.len() - recovered.len();
        findings.push(Finding {
            kind: Kind::Risk,
            title: "Failed deployments".into(),
            sentence: format!(
                "{}{} of {} deployments failed ({:.0}%); service was degraded for {degraded:.0} hours until each was fixed{}.",
                if cfr.lower_bound { "At least " } else { "" },
                cfr.failed_deployments,
                cfr.deployments,
                cfr.rate * 100.0,
                if open > 0 { format!(", and {open} failure(s) are not recovered yet") } else { String::new() }
            ),
            figure: (degraded * 10.0).round() / 10.0,
            unit: "hours degraded".into(),
            formula: "Σ (recovered_at − finished_at) over failed deployments of the window".into(),
            source: "fulcrum report --format json: deployments[].failed, deployments[].recovered_at".into(),
            link: "/deployments".into(),
        });
    }

    // Risk: hotspots.
    if let Some(h) = hotspots
        && !h.hotspots.is_empty()
    {
        let top: Vec<String> =
            h.hotspots.iter().take(3).map(|s| format!("`{}` ({} changes)", s.path, s.changes)).collect();
        findings.push(Finding {
            kind: Kind::Risk,
            title: "Code that changes most".into(),
            sentence: format!(
                "The most changed large files were {}: where changes concentrate, defects and slow reviews do too.",
                top.join(", ")
            ),
            figure: h.hotspots[0].score as f64,
            unit: "changes × lines".into(),
            formula: "changes in the window × lines of the file".into(),
            source: "fulcrum hotspots --format json: hotspots[]".into(),
            link: "/knowledge".into(),
        });
    }

    // Opportunity: halving the bottleneck.
    if let Some(b) = flow.report.bottleneck.value() {
        let median = b.median;
        let saved = median / 2.0;
        let merged = rows.len() as f64;
        let per_quarter = if days > 0.0 { merged * 91.0 / days } else { 0.0 };
        let engineer_days = hours(saved) * per_quarter / per_day;
        let stage = serde_json::to_value(b.stage).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        findings.push(Finding {
            kind: Kind::Opportunity,
            title: format!("Halve {stage} time"),
            sentence: format!(
                "{} is where changes wait longest ({:.0}% of a typical change's time). Halving it from {} to {} \
                 would ship each change about {} sooner: about {engineer_days:.0} engineer-days of waiting a quarter \
                 at the current pace ({per_quarter:.0} changes). An estimate, not a promise.",
                capitalized(&stage),
                b.median_share * 100.0,
                span(median),
                span(saved),
                span(saved)
            ),
            figure: engineer_days.round(),
            unit: "engineer-days a quarter".into(),
            formula: format!(
                "median {stage} ÷ 2 × merged pull requests per 91 days ({merged:.0} in {days:.0} days) ÷ {per_day} h"
            ),
            source: "fulcrum flow --format json: bottleneck.value.median, rows".into(),
            link: "/flow".into(),
        });
    }

    // Wins against the previous period.
    let mut wins = Vec::new();
    let dora = &report.dora;
    let previous = &report.previous;
    let key_win =
        |what: &str, now: Option<f64>, before: Option<f64>, lower_is_better: bool, words: &dyn Fn(f64) -> String| {
            let (now, before) = (now?, before?);
            let better = if lower_is_better { now < before } else { now > before };
            better.then(|| Win {
                what: what.to_owned(),
                sentence: format!(
                    "{what} {} from {} to {}",
                    if now < before { "fell" } else { "rose" },
                    words(before),
                    words(now)
                ),
                before,
                now,
                source: "fulcrum report --format json: dora and previous".into(),
            })
        };
    let per_week = |v: f64| format!("{v:.1} a week");
    let percent = |v: f64| format!("{:.0}%", v * 100.0);
    let duration = |v: f64| span(v);
    wins.extend(key_win(
        "Deployment frequency",
        dora.deployment_frequency.value().map(|f| f.per_week),
        previous.deployment_frequency.previous,
        false,
        &per_week,
    ));
    wins.extend(key_win(
        "Lead time",
        dora.lead_time.value().map(|l| l.summary.median),
        previous.lead_time.previous,
        true,
        &duration,
    ));
    wins.extend(key_win(
        "Change failure rate",
        dora.change_failure_rate.value().map(|c| c.rate),
        previous.change_failure_rate.previous,
        true,
        &percent,
    ));
    wins.extend(key_win(
        "Recovery time",
        dora.recovery_time.value().map(|r| r.summary.median),
        previous.recovery_time.previous,
        true,
        &duration,
    ));
    if let Some(before) = previous_flow {
        for (name, now, then) in [
            ("Pickup time", &flow.report.pickup, &before.report.pickup),
            ("Review time", &flow.report.review, &before.report.review),
            ("Cycle time", &flow.report.cycle, &before.report.cycle),
        ] {
            let median =
                |m: &fulcrum_core::dora::Metric<fulcrum_core::flow::StageStats>| m.value().map(|s| s.summary.median);
            if let Some(mut win) = key_win(name, median(now), median(then), true, &duration) {
                win.source = "fulcrum flow --format json, this window and the previous one: median of the stage".into();
                wins.push(win);
            }
        }
    }
    caveats.push("Goals met are not listed: goals are not built yet.".into());

    let keys = vec![
        KeyLine {
            name: "Deployments".into(),
            value: dora.deployment_frequency.value().map_or_else(
                || "no data".to_owned(),
                |f| format!("{:.1} a week ({} in all)", f.per_week, f.deployments),
            ),
            tier: dora.deployment_frequency.value().map(|f| f.tier.to_string()),
        },
        KeyLine {
            name: "Time from change to production (median)".into(),
            value: dora.lead_time.value().map_or_else(|| "no data".to_owned(), |l| span(l.summary.median)),
            tier: dora.lead_time.value().and_then(|l| l.tier.map(|t| t.to_string())),
        },
        KeyLine {
            name: "Deployments that failed".into(),
            value: dora.change_failure_rate.value().map_or_else(
                || "no data".to_owned(),
                |c| format!("{}{:.0}%", if c.lower_bound { "at least " } else { "" }, c.rate * 100.0),
            ),
            tier: dora.change_failure_rate.value().and_then(|c| c.tier.map(|t| t.to_string())),
        },
        KeyLine {
            name: "Time to recover from a failure (median)".into(),
            value: dora.recovery_time.value().map_or_else(|| "no data".to_owned(), |r| span(r.summary.median)),
            tier: dora.recovery_time.value().and_then(|r| r.tier.map(|t| t.to_string())),
        },
    ];
    Brief {
        scope: [scope.clone().unwrap_or_default(), report.repository.service.clone(), flow.scope.clone()]
            .into_iter()
            .find(|s| !s.is_empty())
            .unwrap_or_else(|| "everything stored".to_owned()),
        since: day(window.start),
        until: day(window.end - 1),
        days,
        headline: report.headline.clone(),
        keys,
        weekly_deployments: dora.weekly.iter().map(|w| (w.week.clone(), w.deployments as u64)).collect(),
        findings,
        wins,
        settings: (*settings).clone(),
        caveats,
    }
}

/// The deadline's odds as a finding, from a forecast with `--deadline`.
pub fn deadline_finding(forecast: &fulcrum_core::forecast::Forecast) -> Option<Finding> {
    let deadline = forecast.deadline.as_ref()?;
    let fulcrum_core::forecast::Question::When { items, .. } = forecast.question else { return None };
    Some(Finding {
        kind: Kind::Risk,
        title: "The date asked for".into(),
        sentence: format!(
            "Merging {items} more pull requests by {} has a {:.0}% chance at the pace of the last {} days; \
             85% needs until {}.",
            deadline.date,
            deadline.probability * 100.0,
            forecast.sample_days,
            deadline.date_for_85.as_deref().unwrap_or("later than 20 years from now")
        ),
        figure: (deadline.probability * 1000.0).round() / 10.0,
        unit: "% chance".into(),
        formula: format!(
            "share of {} simulations, each day drawing the merges of a random day of {} – {}, that reach {items} by then",
            forecast.trials, forecast.sample_first_day, forecast.sample_last_day
        ),
        source: format!("fulcrum forecast --items {items} --deadline {} --format json: deadline", deadline.date),
        link: "/brief".into(),
    })
}
