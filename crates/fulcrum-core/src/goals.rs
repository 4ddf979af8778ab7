//! Goals measured by fulcrum's own metrics: the SMART check made when a
//! goal is set, and its progress (the share of the way from the baseline to
//! the target, and a status from a trend projection to the due date).
//!
//! Pure: the caller measures the metric (over the window before the goal was
//! set, now, and over comparable windows of the last 12 months) and passes
//! the values in.

use serde::Serialize;

use crate::model::Instant;

/// Which way is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// The target is reached when the value is at most the target
    /// (lead time, failure rate).
    AtMost,
    /// The target is reached when the value is at least the target
    /// (deployment frequency, truck factor).
    AtLeast,
}

impl Direction {
    /// Whether `value` meets `target`.
    pub fn meets(self, value: f64, target: f64) -> bool {
        match self {
            Direction::AtMost => value <= target,
            Direction::AtLeast => value >= target,
        }
    }

    /// Whether `a` is better than `b`.
    pub fn better(self, a: f64, b: f64) -> bool {
        match self {
            Direction::AtMost => a < b,
            Direction::AtLeast => a > b,
        }
    }

    /// `<=` or `>=`.
    pub fn symbol(self) -> &'static str {
        match self {
            Direction::AtMost => "<=",
            Direction::AtLeast => ">=",
        }
    }
}

/// One letter of the SMART check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Letter {
    /// `specific`, `measurable`, `achievable`, `relevant` or `time_bound`.
    pub letter: &'static str,
    /// Whether it passed; `None` when it could not be judged.
    pub passed: Option<bool>,
    /// What was found.
    pub detail: String,
}

/// What the SMART check is judged from.
#[derive(Debug, Clone, Default)]
pub struct SmartInputs {
    /// The goal names a metric.
    pub metric: Option<String>,
    /// The scope the metric is measured in, as written.
    pub scope: Option<String>,
    /// The metric's value in that scope now, or why there is none.
    pub current: Option<Result<f64, String>>,
    /// The target and its direction.
    pub target: Option<(f64, Direction)>,
    /// The metric over comparable windows of the last 12 months (each
    /// `Some` when it had data).
    pub history: Vec<Option<f64>>,
    /// Whether history could be measured at all (knowledge is measured at
    /// one instant only).
    pub history_measurable: bool,
    /// A parent goal's title, or a stated reason.
    pub parent: Option<String>,
    /// The reason given.
    pub reason: Option<String>,
    /// The due date and now.
    pub due: Instant,
    /// Now.
    pub now: Instant,
}

/// The SMART check: one [`Letter`] per letter, in order. `show` renders a
/// value of the metric for the details.
pub fn smart(inputs: &SmartInputs, show: &dyn Fn(f64) -> String) -> Vec<Letter> {
    let manual = inputs.metric.is_none();
    let specific = match (&inputs.metric, &inputs.scope) {
        (Some(metric), Some(scope)) => {
            Letter { letter: "specific", passed: Some(true), detail: format!("{metric} in {scope}") }
        }
        (Some(metric), None) => {
            Letter { letter: "specific", passed: Some(false), detail: format!("{metric} names no scope") }
        }
        (None, _) => Letter {
            letter: "specific",
            passed: Some(false),
            detail: "no metric: a manual goal, updated in check-ins".into(),
        },
    };
    let measurable = match &inputs.current {
        _ if manual => Letter { letter: "measurable", passed: Some(false), detail: "no metric measures it".into() },
        Some(Ok(value)) => {
            Letter { letter: "measurable", passed: Some(true), detail: format!("measured now: {}", show(*value)) }
        }
        Some(Err(why)) => {
            Letter { letter: "measurable", passed: Some(false), detail: format!("no data in the scope now: {why}") }
        }
        None => Letter { letter: "measurable", passed: None, detail: "not measured".into() },
    };
    let achievable = achievable(inputs, show);
    let relevant = match (&inputs.parent, &inputs.reason) {
        (Some(parent), _) => Letter { letter: "relevant", passed: Some(true), detail: format!("serves {parent}") },
        (None, Some(reason)) if !reason.trim().is_empty() => {
            Letter { letter: "relevant", passed: Some(true), detail: format!("because {}", reason.trim()) }
        }
        _ => Letter {
            letter: "relevant",
            passed: Some(false),
            detail: "no parent goal and no reason: say why it matters (--parent or --reason)".into(),
        },
    };
    let days = (inputs.due - inputs.now) as f64 / 86_400.0;
    let time_bound = if inputs.due > inputs.now {
        Letter { letter: "time_bound", passed: Some(true), detail: format!("due in {days:.0} days") }
    } else {
        Letter { letter: "time_bound", passed: Some(false), detail: "the due date is not in the future".into() }
    };
    vec![specific, measurable, achievable, relevant, time_bound]
}

fn achievable(inputs: &SmartInputs, show: &dyn Fn(f64) -> String) -> Letter {
    let letter = "achievable";
    let Some((target, direction)) = inputs.target else {
        return Letter { letter, passed: None, detail: "no target to judge".into() };
    };
    if !inputs.history_measurable {
        return Letter {
            letter,
            passed: None,
            detail: "not judged: this metric is measured at one instant, with no history of windows".into(),
        };
    }
    let seen: Vec<f64> = inputs.history.iter().flatten().copied().collect();
    let Some(best) = seen.iter().copied().reduce(|a, b| if direction.better(a, b) { a } else { b }) else {
        return Letter { letter, passed: None, detail: "no comparable window of the last 12 months had data".into() };
    };
    let reached = seen.iter().filter(|v| direction.meets(**v, target)).count();
    if reached > 0 {
        return Letter {
            letter,
            passed: Some(true),
            detail: format!(
                "reached in {reached} of {} comparable windows of the last 12 months (best {})",
                seen.len(),
                show(best)
            ),
        };
    }
    let beyond = if best == 0.0 { f64::INFINITY } else { ((target - best) / best).abs() };
    Letter {
        letter,
        passed: Some(false),
        detail: format!(
            "never reached in {} comparable windows of the last 12 months: the target {} is {} beyond the best seen ({})",
            seen.len(),
            show(target),
            if beyond.is_finite() { format!("{:.0}%", beyond * 100.0) } else { "far".to_owned() },
            show(best)
        ),
    }
}

/// On track, at risk or off track.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Met now, or the trend reaches the target by the due date.
    OnTrack,
    /// The trend reaches at least half of the remaining way by the due date.
    AtRisk,
    /// The trend reaches less than half of it, or goes the wrong way.
    OffTrack,
    /// The due date passed with the target met at the last value.
    Achieved,
    /// The due date passed without the target met.
    Missed,
    /// No value measured since it was set: no trend yet.
    Pending,
}

/// A goal's progress.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Progress {
    /// The value over the window before the goal was set.
    pub baseline: f64,
    /// The latest value.
    pub current: f64,
    /// The share of the way from baseline to target covered (can be
    /// negative, and above 1 when overshot); 1 when baseline already met it.
    pub share: f64,
    /// The value the trend projects at the due date.
    pub projected: f64,
    /// From the projection.
    pub status: Status,
}

/// Progress from the `series` of (instant, value) recorded since the goal
/// was set (the baseline at `created` first). The trend is the least-squares
/// line through the series (two points: the straight line from baseline to
/// current); `None` without a current value.
pub fn progress(
    series: &[(Instant, f64)],
    created: Instant,
    baseline: f64,
    target: f64,
    direction: Direction,
    due: Instant,
    now: Instant,
) -> Option<Progress> {
    let &(_, current) = series.last()?;
    let mut points: Vec<(f64, f64)> = vec![(created as f64, baseline)];
    points.extend(series.iter().filter(|(t, _)| *t > created).map(|(t, v)| (*t as f64, *v)));
    let projected = if points.len() < 2 {
        current
    } else {
        let n = points.len() as f64;
        let mean_t = points.iter().map(|p| p.0).sum::<f64>() / n;
        let mean_v = points.iter().map(|p| p.1).sum::<f64>() / n;
        let var = points.iter().map(|p| (p.0 - mean_t).powi(2)).sum::<f64>();
        if var == 0.0 {
            current
        } else {
            let slope = points.iter().map(|p| (p.0 - mean_t) * (p.1 - mean_v)).sum::<f64>() / var;
            mean_v + slope * (due as f64 - mean_t)
        }
    };
    let way = target - baseline;
    let share_of = |v: f64| if way == 0.0 { 1.0 } else { (v - baseline) / way };
    let share = if direction.meets(baseline, target) && way == 0.0 { 1.0 } else { share_of(current) };
    let status = if points.len() < 2 && now < due && !direction.meets(current, target) {
        Status::Pending
    } else if now >= due {
        if direction.meets(current, target) { Status::Achieved } else { Status::Missed }
    } else if direction.meets(current, target) || direction.meets(projected, target) {
        Status::OnTrack
    } else {
        // How much of the way still left from now is covered by the due date.
        let left = target - current;
        let covered = if left == 0.0 { 1.0 } else { (projected - current) / left };
        if covered >= 0.5 { Status::AtRisk } else { Status::OffTrack }
    };
    Some(Progress { baseline, current, share, projected, status })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;

    fn hours(v: f64) -> String {
        format!("{:.1}h", v / 3600.0)
    }

    #[test]
    fn smart_letters_name_what_they_found() {
        let inputs = SmartInputs {
            metric: Some("pickup.p75".into()),
            scope: Some("team:core".into()),
            current: Some(Ok(20.0 * 3600.0)),
            target: Some((8.0 * 3600.0, Direction::AtMost)),
            history: vec![Some(30.0 * 3600.0), None, Some(12.0 * 3600.0)],
            history_measurable: true,
            parent: None,
            reason: Some("reviews wait too long".into()),
            due: 90 * DAY,
            now: 0,
        };
        let letters = smart(&inputs, &hours);
        let passed: Vec<Option<bool>> = letters.iter().map(|l| l.passed).collect();
        assert_eq!(passed, [Some(true), Some(true), Some(false), Some(true), Some(true)]);
        assert_eq!(
            letters[2].detail,
            "never reached in 2 comparable windows of the last 12 months: the target 8.0h is 33% beyond the best seen (12.0h)"
        );
        assert_eq!(letters[4].detail, "due in 90 days");

        let reached = SmartInputs { history: vec![Some(7.0 * 3600.0), Some(9.0 * 3600.0)], ..inputs.clone() };
        assert_eq!(smart(&reached, &hours)[2].passed, Some(true));
        let past = SmartInputs { due: 0, now: DAY, ..inputs.clone() };
        assert_eq!(smart(&past, &hours)[4].passed, Some(false));
        let manual = SmartInputs { metric: None, current: None, target: None, ..inputs };
        let letters = smart(&manual, &hours);
        assert_eq!(letters[0].passed, Some(false));
        assert_eq!(letters[2].passed, None);
    }

    #[test]
    fn progress_projects_the_trend_to_the_due_date() {
        // Baseline 20 h, target 8 h, due in 100 days; after 50 days 14 h: half way, on the line.
        let at = |d: i64, h: f64| (d * DAY, h * 3600.0);
        let p =
            progress(&[at(50, 14.0)], 0, 20.0 * 3600.0, 8.0 * 3600.0, Direction::AtMost, 100 * DAY, 50 * DAY).unwrap();
        assert!((p.share - 0.5).abs() < 1e-9);
        assert!((p.projected - 8.0 * 3600.0).abs() < 1e-6);
        assert_eq!(p.status, Status::OnTrack);

        // 17 h after 50 days: the line reaches 14 h by the due date, half the 9 h left.
        let p =
            progress(&[at(50, 17.0)], 0, 20.0 * 3600.0, 8.0 * 3600.0, Direction::AtMost, 100 * DAY, 50 * DAY).unwrap();
        assert_eq!(p.status, Status::OffTrack, "{p:?}");
        let p =
            progress(&[at(50, 15.0)], 0, 20.0 * 3600.0, 8.0 * 3600.0, Direction::AtMost, 100 * DAY, 50 * DAY).unwrap();
        assert_eq!(p.status, Status::AtRisk, "{p:?}");

        // Going the wrong way.
        let p =
            progress(&[at(50, 25.0)], 0, 20.0 * 3600.0, 8.0 * 3600.0, Direction::AtMost, 100 * DAY, 50 * DAY).unwrap();
        assert!(p.share < 0.0);
        assert_eq!(p.status, Status::OffTrack);

        // Higher is better; met now.
        let p = progress(&[(10 * DAY, 3.0)], 0, 1.0, 2.0, Direction::AtLeast, 100 * DAY, 10 * DAY).unwrap();
        assert_eq!(p.status, Status::OnTrack);
        assert!((p.share - 2.0).abs() < 1e-9);

        // Past the due date.
        let p = progress(&[(10 * DAY, 3.0)], 0, 1.0, 4.0, Direction::AtLeast, 5 * DAY, 10 * DAY).unwrap();
        assert_eq!(p.status, Status::Missed);
        assert_eq!(progress(&[], 0, 1.0, 4.0, Direction::AtLeast, 5 * DAY, 10 * DAY), None);
        // Only the value of the day it was set: no trend yet.
        let p = progress(&[(0, 1.0)], 0, 1.0, 4.0, Direction::AtLeast, 50 * DAY, 0).unwrap();
        assert_eq!(p.status, Status::Pending);
    }

    #[test]
    fn least_squares_uses_every_point() {
        // Noisy but falling: 20 (baseline), 18, 19, 15, 14 h at days 0..40; due at day 80.
        let series: Vec<(i64, f64)> =
            [(10, 18.0), (20, 19.0), (30, 15.0), (40, 14.0)].iter().map(|(d, h)| (d * DAY, h * 3600.0)).collect();
        let p = progress(&series, 0, 20.0 * 3600.0, 8.0 * 3600.0, Direction::AtMost, 80 * DAY, 40 * DAY).unwrap();
        // slope = -150 / 1000 = -0.15 h/day through the mean (day 20, 17.2 h): 17.2 - 0.15 * 60 = 8.2 h at day 80.
        assert!((p.projected / 3600.0 - 8.2).abs() < 1e-9, "{}", p.projected / 3600.0);
        assert_eq!(p.status, Status::AtRisk);
    }
}
