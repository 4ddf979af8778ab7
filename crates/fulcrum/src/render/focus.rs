//! `fulcrum focus` as text, Markdown and JSON.

use std::fmt::Write as _;

use super::{Format, to_json};
use crate::app::FocusOutcome;

fn clock(seconds: i64) -> String {
    format!("{:02}:{:02}", seconds / 3600, seconds % 3600 / 60)
}

/// The focus report in `format`.
pub fn focus(outcome: &FocusOutcome, format: Format) -> String {
    if format == Format::Json {
        return to_json(outcome);
    }
    let md = format == Format::Markdown;
    let r = &outcome.report;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}Focus, {} – {} ({} calendars, {} meetings)\n",
        if md { "## " } else { "" },
        outcome.since,
        outcome.until,
        outcome.calendars_read,
        outcome.meetings
    );
    let _ = writeln!(out, "{}Team, week by week (the mark: 20 focus hours a week)", if md { "### " } else { "" });
    if md {
        out.push_str("\n| week | people | median focus h | under 10 h | meeting-free days |\n|---|---|---|---|---|\n");
    }
    for w in &r.team {
        if md {
            let _ = writeln!(
                out,
                "| {} | {} | {:.1} | {:.0}% | {} |",
                w.week,
                w.people,
                w.median_focus_hours,
                w.under_10_share * 100.0,
                w.meeting_free_days
            );
        } else {
            let _ = writeln!(
                out,
                "  {}  median {:>5.1} focus h {}  {:>3.0}% under 10 h  {} meeting-free days  ({} people)",
                w.week,
                w.median_focus_hours,
                if w.median_focus_hours >= 20.0 { "✓" } else { "✗" },
                w.under_10_share * 100.0,
                w.meeting_free_days,
                w.people
            );
        }
    }
    let _ = writeln!(out, "\n{}Each person", if md { "### " } else { "" });
    for p in &r.people {
        let _ = writeln!(out, "{}{}", if md { "- **" } else { "  " }, p.name.clone() + if md { "**" } else { "" });
        for w in &p.weeks {
            let _ = writeln!(
                out,
                "    {}  focus {:.1} h, meetings {:.1} h, fragmented {:.1} h, {} switches, {} meeting-free days",
                w.week, w.focus_hours, w.meeting_hours, w.fragmented_hours, w.switches, w.meeting_free_days
            );
        }
    }
    let _ = writeln!(out, "\n{}The meetings that cost the most focus", if md { "### " } else { "" });
    if r.costly_meetings.is_empty() {
        out.push_str("  none: no meeting splits a block of focus\n");
    }
    for (i, m) in r.costly_meetings.iter().take(10).enumerate() {
        let better = if m.focus_hours_lost_at_best < m.focus_hours_lost {
            format!("; at {} it would cost {:.1} h", clock(m.best_start), m.focus_hours_lost_at_best)
        } else {
            "; no other time costs less".to_owned()
        };
        let _ = writeln!(
            out,
            "  {}. {} ({}{} occurrences, {} people): {:.1} focus hours lost{better}",
            i + 1,
            m.label,
            if m.series.is_some() { "recurring, " } else { "" },
            m.occurrences,
            m.people,
            m.focus_hours_lost
        );
    }
    if let Some(pace) = &outcome.pace {
        let _ = writeln!(out, "\n{}Pace: the team's work outside working hours", if md { "### " } else { "" });
        for w in pace {
            match (w.outside_hours_share, w.weekend_share) {
                (Some(outside), Some(weekend)) => {
                    let _ = writeln!(
                        out,
                        "  {}  {:.0}% outside hours, {:.0}% on days off  ({} commits and meetings, {} people)",
                        w.week,
                        outside * 100.0,
                        weekend * 100.0,
                        w.work,
                        w.people
                    );
                }
                _ => {
                    let _ = writeln!(out, "  {}  not shown: {} people, fewer than focus.min_group", w.week, w.people);
                }
            }
        }
    }
    for lead in &outcome.leads {
        let target = lead.hands_on_target.map_or_else(String::new, |t| format!(" (target {:.0}% hands-on)", t * 100.0));
        let _ = writeln!(out, "\n{}{}'s balance as lead{target}", if md { "### " } else { "" }, lead.name);
        for w in &lead.weeks {
            let share = |v: Option<f64>| v.map_or_else(|| "–".to_owned(), |v| format!("{:.0}%", v * 100.0));
            let hours = |v: Option<f64>| v.map_or_else(|| "–".to_owned(), |v| format!("{v:.1} h"));
            let _ = writeln!(
                out,
                "  {}  {} commits, {} pull requests, {} reviews: {} hands-on; sole reviewer of {} of the reviewed merges; meetings {}, focus {}",
                w.week,
                w.commits,
                w.pull_requests,
                w.reviews,
                share(w.hands_on_share),
                share(w.sole_reviewer_share),
                hours(w.meeting_hours),
                hours(w.focus_hours)
            );
        }
        if let Some(share) = lead.truck_factor_share {
            let _ = writeln!(
                out,
                "  Knowledge not handed on yet: {:.0}% of the files rest on {}.",
                share * 100.0,
                lead.name
            );
        }
    }
    let _ = writeln!(out, "\n{}Definitions", if md { "### " } else { "" });
    for d in &outcome.definitions {
        let _ = writeln!(out, "- {d}");
    }
    if !outcome.warnings.is_empty() {
        let _ = writeln!(out, "\n{}Warnings", if md { "### " } else { "" });
        for w in &outcome.warnings {
            let _ = writeln!(out, "- {w}");
        }
    }
    out
}
