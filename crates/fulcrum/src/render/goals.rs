//! Goals as terminal text: the list (one line each) and one goal whole
//! (its SMART check, progress and values, with a text chart).

use fulcrum_core::goals::Status;

use crate::analyses::goals::{self, GoalView};

fn status_word(status: Status) -> &'static str {
    match status {
        Status::OnTrack => "on track",
        Status::AtRisk => "at risk",
        Status::OffTrack => "off track",
        Status::Achieved => "achieved",
        Status::Missed => "missed",
        Status::Pending => "no trend yet (measured again after each sync)",
    }
}

fn metric_of(view: &GoalView) -> Option<&'static goals::GoalMetric> {
    view.goal.metric.as_deref().and_then(|m| goals::metric(m).ok())
}

/// The progress of a goal in a few words.
pub fn progress_words(view: &GoalView) -> String {
    let metric = metric_of(view);
    match &view.progress {
        Some(p) => format!(
            "{} now ({} at the start), {:.0}% of the way, {}",
            goals::show(metric, p.current),
            goals::show(metric, p.baseline),
            p.share * 100.0,
            status_word(p.status)
        ),
        None if view.goal.metric.is_none() => "manual: updated in check-ins".to_owned(),
        None => match view.values.last().and_then(|v| v.note.clone()) {
            Some(why) => format!("no value: {why}"),
            None => "not measured yet".to_owned(),
        },
    }
}

/// One line per goal.
pub fn list(views: &[GoalView]) -> String {
    if views.is_empty() {
        return "no goals: `fulcrum goal add` sets one\n".to_owned();
    }
    let mut out = String::new();
    for v in views {
        let what = match (&v.goal.metric, &v.target_shown) {
            (Some(metric), Some(target)) => format!("{metric} {target}"),
            _ => "manual".to_owned(),
        };
        let closed = v.goal.outcome.as_deref().map(|o| format!(" [closed: {o}]")).unwrap_or_default();
        out.push_str(&format!(
            "#{:<3} {} ({} {}), {what} by {}{closed}\n     {}\n",
            v.goal.id,
            v.goal.title,
            v.goal.owner_kind,
            v.goal.owner,
            v.due,
            progress_words(v)
        ));
    }
    out
}

/// One goal whole.
pub fn show(view: &GoalView) -> String {
    let g = &view.goal;
    let metric = metric_of(view);
    let mut out = format!("Goal #{}: {}\n", g.id, g.title);
    out.push_str(&format!("  owner       {} {}\n", g.owner_kind, g.owner));
    if let (Some(m), Some(scope)) = (&g.metric, &g.scope) {
        let directory = g.directory.as_deref().map(|d| format!(" directory {d}")).unwrap_or_default();
        let over = match metric.map(|m| m.source) {
            Some(goals::Source::Knowledge) => "at each measurement".to_owned(),
            _ => format!("over the last {} days", g.window_days),
        };
        out.push_str(&format!("  measured by {m} in {scope}{directory}, {over}\n"));
    }
    if let Some(target) = &view.target_shown {
        out.push_str(&format!("  target      {target} by {}\n", view.due));
    } else {
        out.push_str(&format!("  due         {}\n", view.due));
    }
    if let Some(parent) = g.parent_id {
        out.push_str(&format!("  serves      goal #{parent}\n"));
    }
    if let Some(reason) = &g.reason {
        out.push_str(&format!("  because     {reason}\n"));
    }
    out.push_str(&format!(
        "  visible to  {}\n",
        match g.visibility.as_str() {
            "private" => "the owner and their lead",
            "team" => "the team",
            _ => "everyone",
        }
    ));
    if let Some(outcome) = &g.outcome {
        out.push_str(&format!("  closed      {outcome}\n"));
    }
    out.push_str("SMART check (when set)\n");
    for letter in &view.smart {
        let mark = match letter.get("passed").and_then(|p| p.as_bool()) {
            Some(true) => "ok  ",
            Some(false) => "WARN",
            None => "?   ",
        };
        out.push_str(&format!(
            "  {mark} {:<11} {}\n",
            letter.get("letter").and_then(|l| l.as_str()).unwrap_or(""),
            letter.get("detail").and_then(|l| l.as_str()).unwrap_or("")
        ));
    }
    out.push_str(&format!("Progress: {}\n", progress_words(view)));
    if let Some(p) = &view.progress {
        out.push_str(&format!("  projected at the due date: {}\n", goals::show(metric, p.projected)));
    }
    let measured: Vec<(i64, f64)> = view.values.iter().filter_map(|v| v.value.map(|x| (v.day, x))).collect();
    if !measured.is_empty() {
        out.push_str("Values\n");
        let top = measured.iter().map(|m| m.1).chain(g.target).fold(f64::MIN, f64::max).max(f64::MIN_POSITIVE);
        for v in &view.values {
            let bar = v.value.map(|x| "#".repeat(((x / top) * 30.0).round() as usize)).unwrap_or_default();
            let shown = v.value.map(|x| goals::show(metric, x)).unwrap_or_else(|| "no data".to_owned());
            let note = v.note.as_deref().map(|n| format!("  {n}")).unwrap_or_default();
            out.push_str(&format!("  {}  {:<30} {shown}{note}\n", fulcrum_core::time::format_date(v.day), bar));
        }
        if let Some(target) = g.target {
            out.push_str(&format!(
                "  target      {:<30} {}\n",
                "|".repeat(((target / top) * 30.0).round() as usize),
                goals::show(metric, target)
            ));
        }
    }
    out
}
