//! Focus time from calendars: per person and week, the hours in meetings,
//! the hours of deep work (free working time in blocks of at least
//! `min_focus`, 2 hours by default), the hours fragmented into shorter
//! pieces, the switches from a meeting back to work, and the meeting-free
//! days; per team the median focus hours against the 20-hour mark and the
//! share of people under 10; and the meetings that cost the most focus,
//! with the shift of their time that would cost least.
//!
//! Pure: instants are each person's **local wall-clock seconds** (UTC plus
//! the offset in force then, which the caller works out from the person's
//! time zone), so days and working hours are plain arithmetic here.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::time::SECONDS_PER_DAY;

/// A meeting on a person's calendar (already filtered: not declined, not
/// transparent, two attendees or more, shorter than 12 hours, not all-day,
/// not cancelled), in the person's local seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meeting {
    /// Start.
    pub start: i64,
    /// End (after `start`).
    pub end: i64,
    /// The recurring series it belongs to (its UID), if any.
    pub series: Option<String>,
    /// A name for people to recognise it by (the caller decides what).
    pub label: String,
}

/// A person's working week.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkingHours {
    /// Days worked, ISO numbering (1 = Monday … 7 = Sunday).
    pub days: Vec<u32>,
    /// Start of the working day, seconds after midnight.
    pub start: i64,
    /// End of the working day, seconds after midnight.
    pub end: i64,
}

impl Default for WorkingHours {
    fn default() -> Self {
        WorkingHours { days: vec![1, 2, 3, 4, 5], start: 9 * 3600, end: 17 * 3600 }
    }
}

/// One person's calendar over the window.
#[derive(Debug, Clone)]
pub struct PersonCalendar {
    /// Who.
    pub name: String,
    /// Their working hours.
    pub hours: WorkingHours,
    /// Their meetings.
    pub meetings: Vec<Meeting>,
    /// Days off (local day numbers): not working days.
    pub days_off: Vec<i64>,
}

/// The settings of the analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FocusOptions {
    /// The shortest free block that counts as focus, seconds (2 hours).
    pub min_focus: i64,
    /// First local day of the window (day number).
    pub first_day: i64,
    /// Last local day of the window, inclusive.
    pub last_day: i64,
}

/// One person's week.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PersonWeek {
    /// `2025-W05`.
    pub week: String,
    /// Working days in it (in the window).
    pub working_days: u32,
    /// Hours of meetings within working hours.
    pub meeting_hours: f64,
    /// Hours of free working time in blocks of at least `min_focus`.
    pub focus_hours: f64,
    /// Hours of free working time in shorter blocks.
    pub fragmented_hours: f64,
    /// Meetings (merged) followed by free working time: switches back to work.
    pub switches: u32,
    /// Working days without a meeting.
    pub meeting_free_days: u32,
}

/// A person's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PersonFocus {
    /// Who.
    pub name: String,
    /// Week by week.
    pub weeks: Vec<PersonWeek>,
}

/// The team's week.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TeamWeek {
    /// `2025-W05`.
    pub week: String,
    /// People with working days that week.
    pub people: usize,
    /// Median focus hours (lower median) against the 20-hour mark.
    pub median_focus_hours: f64,
    /// Share of people under 10 focus hours.
    pub under_10_share: f64,
    /// Meeting-free days, all people together.
    pub meeting_free_days: u32,
}

/// A meeting (a series, or a one-off) and the focus it costs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostlyMeeting {
    /// Its label.
    pub label: String,
    /// Its series (UID), if recurring.
    pub series: Option<String>,
    /// Occurrences on the calendars analysed (one per person and time).
    pub occurrences: usize,
    /// People whose calendars have it.
    pub people: usize,
    /// Focus hours it destroys: the focus everyone would have without it,
    /// minus the focus with it.
    pub focus_hours_lost: f64,
    /// The shift of its time (seconds, within ±4 hours in half-hours,
    /// staying inside the working day and off everyone's other meetings)
    /// that would cost least; ties keep the smaller move.
    pub best_shift: i64,
    /// Focus hours lost at the best shift.
    pub focus_hours_lost_at_best: f64,
    /// Its usual local start time (seconds after midnight) shifted by
    /// `best_shift`: where to move it.
    pub best_start: i64,
}

/// The focus report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FocusReport {
    /// The settings.
    pub options: FocusOptions,
    /// Each person.
    pub people: Vec<PersonFocus>,
    /// The team, week by week.
    pub team: Vec<TeamWeek>,
    /// Meetings by the focus they destroy, most first (those that cost any).
    pub costly_meetings: Vec<CostlyMeeting>,
}

/// Merges overlapping or touching intervals (sorted output).
fn merge(mut spans: Vec<(i64, i64)>) -> Vec<(i64, i64)> {
    spans.sort_unstable();
    let mut out: Vec<(i64, i64)> = Vec::with_capacity(spans.len());
    for (start, end) in spans {
        match out.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => out.push((start, end)),
        }
    }
    out
}

/// One working day: (meeting seconds, focus seconds, fragmented seconds,
/// switches), given the merged meetings clipped to it.
fn day_figures(work: (i64, i64), meetings: &[(i64, i64)], min_focus: i64) -> (i64, i64, i64, u32) {
    let (mut meeting, mut focus, mut fragmented, mut switches) = (0, 0, 0, 0);
    let mut cursor = work.0;
    let mut free = |from: i64, to: i64| {
        let length = to - from;
        if length >= min_focus {
            focus += length;
        } else if length > 0 {
            fragmented += length;
        }
    };
    for &(start, end) in meetings {
        let (start, end) = (start.max(work.0), end.min(work.1));
        if end <= start {
            continue;
        }
        free(cursor, start);
        meeting += end - start;
        if end < work.1 {
            switches += 1;
        }
        cursor = end;
    }
    free(cursor, work.1);
    (meeting, focus, fragmented, switches)
}

/// The working interval of local day `day`, if it is a working day.
fn working_day(person: &PersonCalendar, day: i64) -> Option<(i64, i64)> {
    let weekday = (day + 3).rem_euclid(7) as u32 + 1; // 1970-01-01 was a Thursday
    (person.hours.days.contains(&weekday) && !person.days_off.contains(&day))
        .then(|| (day * SECONDS_PER_DAY + person.hours.start, day * SECONDS_PER_DAY + person.hours.end))
}

/// Focus seconds of one person's day with `meetings` (any order).
fn day_focus(work: (i64, i64), meetings: Vec<(i64, i64)>, min_focus: i64) -> i64 {
    day_figures(work, &merge(meetings), min_focus).1
}

/// Meetings by local day (a meeting spanning midnight belongs to both).
fn by_day(meetings: &[Meeting]) -> BTreeMap<i64, Vec<(i64, i64)>> {
    let mut days: BTreeMap<i64, Vec<(i64, i64)>> = BTreeMap::new();
    for m in meetings.iter().filter(|m| m.end > m.start) {
        for day in m.start.div_euclid(SECONDS_PER_DAY)..=(m.end - 1).div_euclid(SECONDS_PER_DAY) {
            days.entry(day).or_default().push((m.start, m.end));
        }
    }
    days
}

fn hours(seconds: i64) -> f64 {
    seconds as f64 / 3600.0
}

/// The focus report of `people` over the window of `options`.
pub fn analyze(people: &[PersonCalendar], options: &FocusOptions) -> FocusReport {
    let mut persons = Vec::new();
    let mut team_weeks: BTreeMap<String, Vec<(f64, u32)>> = BTreeMap::new();
    for person in people {
        let days = by_day(&person.meetings);
        let mut weeks: BTreeMap<String, PersonWeek> = BTreeMap::new();
        for day in options.first_day..=options.last_day {
            let Some(work) = working_day(person, day) else { continue };
            let merged = merge(days.get(&day).cloned().unwrap_or_default());
            let (meeting, focus, fragmented, switches) = day_figures(work, &merged, options.min_focus);
            let label = crate::time::iso_week_label(day * SECONDS_PER_DAY);
            let week = weeks.entry(label.clone()).or_insert_with(|| PersonWeek {
                week: label,
                working_days: 0,
                meeting_hours: 0.0,
                focus_hours: 0.0,
                fragmented_hours: 0.0,
                switches: 0,
                meeting_free_days: 0,
            });
            week.working_days += 1;
            week.meeting_hours += hours(meeting);
            week.focus_hours += hours(focus);
            week.fragmented_hours += hours(fragmented);
            week.switches += switches;
            week.meeting_free_days += u32::from(meeting == 0);
        }
        for week in weeks.values() {
            team_weeks.entry(week.week.clone()).or_default().push((week.focus_hours, week.meeting_free_days));
        }
        persons.push(PersonFocus { name: person.name.clone(), weeks: weeks.into_values().collect() });
    }
    let team = team_weeks
        .into_iter()
        .map(|(week, mut values)| {
            values.sort_by(|a, b| a.0.total_cmp(&b.0));
            let n = values.len();
            TeamWeek {
                week,
                people: n,
                median_focus_hours: values[(n - 1) / 2].0,
                under_10_share: values.iter().filter(|v| v.0 < 10.0).count() as f64 / n as f64,
                meeting_free_days: values.iter().map(|v| v.1).sum(),
            }
        })
        .collect();
    FocusReport { options: *options, people: persons, team, costly_meetings: costly(people, options) }
}

/// A meeting's occurrences: (person index, meeting index), by (one-off
/// key, series).
type Groups = BTreeMap<(String, Option<String>), Vec<(usize, usize)>>;

/// The occurrences a shift touches, per (person, day): original span and
/// moved span.
type Touched = BTreeMap<(usize, i64), Vec<(i64, i64, Option<(i64, i64)>)>>;

/// The focus each meeting (series, else one-off by label and start)
/// destroys, and the half-hour shift within ±4 hours that would cost least.
fn costly(people: &[PersonCalendar], options: &FocusOptions) -> Vec<CostlyMeeting> {
    // Occurrences of a meeting: (person index, meeting index).
    let mut groups: Groups = BTreeMap::new();
    for (p, person) in people.iter().enumerate() {
        for (m, meeting) in person.meetings.iter().enumerate() {
            let day = meeting.start.div_euclid(SECONDS_PER_DAY);
            if day < options.first_day || day > options.last_day {
                continue;
            }
            let key = match &meeting.series {
                Some(series) => (String::new(), Some(series.clone())),
                None => (format!("{}@{}", meeting.label, meeting.start), None),
            };
            groups.entry(key).or_default().push((p, m));
        }
    }
    let days: Vec<BTreeMap<i64, Vec<(i64, i64)>>> = people.iter().map(|p| by_day(&p.meetings)).collect();
    // Focus lost on the days of `occurrences` when each is moved by `shift`
    // (`None`: where it is), against the focus without them; `None` when a
    // moved occurrence would leave its working day.
    let lost = |occurrences: &[(usize, usize)], shift: Option<i64>| -> Option<i64> {
        let mut touched: Touched = BTreeMap::new();
        for &(p, m) in occurrences {
            let meeting = &people[p].meetings[m];
            let day = meeting.start.div_euclid(SECONDS_PER_DAY);
            let moved = shift.map(|s| (meeting.start + s, meeting.end + s));
            touched.entry((p, day)).or_default().push((meeting.start, meeting.end, moved));
        }
        let mut total = 0;
        for ((p, day), changes) in touched {
            let Some(work) = working_day(&people[p], day) else { continue };
            if changes.iter().any(|(_, _, moved)| moved.is_some_and(|(s, e)| s < work.0 || e > work.1)) {
                return None;
            }
            let others: Vec<(i64, i64)> = days[p]
                .get(&day)
                .map(|spans| {
                    let mut rest = spans.clone();
                    for (start, end, _) in &changes {
                        if let Some(i) = rest.iter().position(|s| *s == (*start, *end)) {
                            rest.remove(i);
                        }
                    }
                    rest
                })
                .unwrap_or_default();
            // A move onto another meeting would double-book the person.
            let clash = changes
                .iter()
                .any(|(_, _, moved)| moved.is_some_and(|(s, e)| others.iter().any(|&(a, b)| s < b && a < e)));
            if clash {
                return None;
            }
            let without = day_focus(work, others.clone(), options.min_focus);
            let mut with = others;
            with.extend(changes.iter().map(|(start, end, moved)| moved.unwrap_or((*start, *end))));
            total += without - day_focus(work, with, options.min_focus);
        }
        Some(total)
    };
    let mut out: Vec<CostlyMeeting> = groups
        .into_iter()
        .filter_map(|((_, series), occurrences)| {
            let cost = lost(&occurrences, None).unwrap_or(0);
            if cost <= 0 {
                return None;
            }
            // Half-hour shifts within ±4 hours that keep it inside the working day.
            // Where it is now is always a candidate, even if it sits partly
            // outside the working day or on another meeting.
            let (best_shift, best_cost) = (-8..=8)
                .filter(|k| *k != 0)
                .map(|k| k * 1800)
                .filter_map(|shift| Some((shift, lost(&occurrences, Some(shift))?)))
                .chain(std::iter::once((0, cost)))
                .min_by_key(|&(shift, cost)| (cost, shift.abs(), shift))
                .unwrap_or((0, cost));
            let first = &people[occurrences[0].0].meetings[occurrences[0].1];
            let mut persons: Vec<usize> = occurrences.iter().map(|o| o.0).collect();
            persons.dedup();
            Some(CostlyMeeting {
                label: first.label.clone(),
                series,
                occurrences: occurrences.len(),
                people: persons.len(),
                focus_hours_lost: hours(cost),
                best_shift,
                focus_hours_lost_at_best: hours(best_cost),
                best_start: (first.start + best_shift).rem_euclid(SECONDS_PER_DAY),
            })
        })
        .collect();
    out.sort_by(|a, b| b.focus_hours_lost.total_cmp(&a.focus_hours_lost).then(a.label.cmp(&b.label)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3600;
    /// Monday 2025-01-06 as a local day number.
    const MONDAY: i64 = 20_094;

    fn at(day: i64, hour: f64) -> i64 {
        day * SECONDS_PER_DAY + (hour * H as f64) as i64
    }

    fn meeting(day: i64, from: f64, to: f64, series: Option<&str>) -> Meeting {
        Meeting { start: at(day, from), end: at(day, to), series: series.map(str::to_owned), label: format!("m{from}") }
    }

    fn person(name: &str, meetings: Vec<Meeting>) -> PersonCalendar {
        PersonCalendar { name: name.into(), hours: WorkingHours::default(), meetings, days_off: vec![] }
    }

    fn week() -> FocusOptions {
        FocusOptions { min_focus: 2 * H, first_day: MONDAY, last_day: MONDAY + 6 }
    }

    #[test]
    fn a_meeting_that_splits_a_block_costs_more_than_its_length() {
        // Monday: a one-hour meeting at 11:00 splits 9–17 into 2 h and 5 h:
        // all focus (7 h). At 12:30 it leaves 3.5 and 3.5. At 10:30 it
        // leaves 1.5 (fragmented) and 5.5.
        let monday = |from: f64| {
            let report = analyze(&[person("ann", vec![meeting(MONDAY, from, from + 1.0, None)])], &week());
            let w = &report.people[0].weeks[0];
            (w.meeting_hours, w.focus_hours, w.fragmented_hours, w.switches, w.meeting_free_days)
        };
        // Four free days of 8 h, plus Monday.
        assert_eq!(monday(11.0), (1.0, 32.0 + 7.0, 0.0, 1, 4));
        assert_eq!(monday(10.5), (1.0, 32.0 + 5.5, 1.5, 1, 4));
        // A meeting at the end of the day switches back to nothing.
        assert_eq!(monday(16.0), (1.0, 32.0 + 7.0, 0.0, 0, 4));
    }

    #[test]
    fn overlapping_meetings_merge_and_weekends_do_not_count() {
        let meetings = vec![
            meeting(MONDAY, 10.0, 11.0, None),
            meeting(MONDAY, 10.5, 12.0, None),
            meeting(MONDAY + 5, 10.0, 11.0, None), // Saturday
        ];
        let report = analyze(&[person("ann", meetings)], &week());
        let w = &report.people[0].weeks[0];
        // 10:00–12:00 merged: 2 h of meetings; 9–10 fragmented, 12–17 focus.
        assert_eq!((w.working_days, w.meeting_hours, w.fragmented_hours, w.switches), (5, 2.0, 1.0, 1));
        assert_eq!(w.focus_hours, 5.0 + 32.0);
    }

    #[test]
    fn the_team_median_and_the_share_under_ten_hours() {
        // Ann: meetings 11–12 and 14:30–15:30 every day → 9–11 (2 h) and
        // 12–14:30 (2.5 h) focus, 15:30–17 (1.5) fragmented: 4.5 h a day,
        // 22.5 a week. Bob: a meeting every other hour → no focus at all.
        // Cy: nothing → 40.
        let daily = |f: &dyn Fn(i64) -> Vec<Meeting>| (0..5).flat_map(|d| f(MONDAY + d)).collect::<Vec<_>>();
        let ann = daily(&|d| vec![meeting(d, 11.0, 12.0, Some("standup")), meeting(d, 14.5, 15.5, None)]);
        let bob = daily(&|d| (0..4).map(|k| meeting(d, 10.0 + 2.0 * k as f64, 11.0 + 2.0 * k as f64, None)).collect());
        let report = analyze(&[person("ann", ann), person("bob", bob), person("cy", vec![])], &week());
        let focus: Vec<f64> = report.people.iter().map(|p| p.weeks[0].focus_hours).collect();
        assert_eq!(focus, vec![22.5, 0.0, 40.0]);
        let team = &report.team[0];
        assert_eq!((team.people, team.median_focus_hours), (3, 22.5));
        assert!((team.under_10_share - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(team.meeting_free_days, 5, "Cy's five days");
    }

    #[test]
    fn the_costliest_meeting_and_where_to_move_it() {
        // A daily 1-hour meeting at 12:30 splits each day into 3.5 + 3.5:
        // it costs 1 h of focus a day (8 → 7). Moved to 9:00 (−3.5 h) or
        // to 16:00 it would cost its own hour only... which is still 1 h:
        // every placement of a 1 h meeting costs at least 1 h. At 10:30 it
        // would cost 2.5 h (1.5 fragmented).
        let daily: Vec<Meeting> = (0..5).map(|d| meeting(MONDAY + d, 12.5, 13.5, Some("sync"))).collect();
        let report = analyze(&[person("ann", daily)], &week());
        let sync = &report.costly_meetings[0];
        assert_eq!((sync.occurrences, sync.people, sync.focus_hours_lost), (5, 1, 5.0));
        assert_eq!(sync.focus_hours_lost_at_best, 5.0, "no placement costs less than the hour");
        assert_eq!(sync.best_shift, 0, "ties keep the time");

        // With a standing 9:00–10:00 meeting, a 1-hour meeting at 11:30
        // leaves 10–11:30 (1.5 h, fragmented) and 12:30–17: it costs 2.5 h a
        // day. At 12:00 (+30 min) it leaves 10–12 and 13–17, both focus: it
        // costs its hour only, as at 10:00 or 16:00; the smallest move wins.
        // 9:00 would double-book the standup and is never proposed.
        let mut meetings: Vec<Meeting> = (0..5).map(|d| meeting(MONDAY + d, 9.0, 10.0, Some("standup"))).collect();
        meetings.extend((0..5).map(|d| meeting(MONDAY + d, 11.5, 12.5, Some("review"))));
        let report = analyze(&[person("ann", meetings)], &week());
        let review = report.costly_meetings.iter().find(|m| m.series.as_deref() == Some("review")).unwrap();
        assert_eq!(review.focus_hours_lost, 5.0 * 2.5);
        assert_eq!((review.best_shift, review.focus_hours_lost_at_best), (1800, 5.0));
        assert_eq!(review.best_start, 12 * H, "move it to 12:00");
        assert_eq!(report.costly_meetings[0].series.as_deref(), Some("review"), "the costliest first");
    }

    #[test]
    fn a_move_is_proposed_only_when_it_costs_less_than_staying() {
        // 08:30–09:30 with a day from 09:00: it costs half an hour of the
        // day; moving it inside (09:00) would cost a whole hour.
        let early: Vec<Meeting> = (0..5).map(|d| meeting(MONDAY + d, 8.5, 9.5, Some("early"))).collect();
        let report = analyze(&[person("ann", early)], &week());
        let m = &report.costly_meetings[0];
        assert_eq!((m.focus_hours_lost, m.best_shift, m.focus_hours_lost_at_best), (2.5, 0, 2.5));
    }

    #[test]
    fn days_off_are_not_working_days() {
        let mut ann = person("ann", vec![]);
        ann.days_off = vec![MONDAY];
        let report = analyze(&[ann], &week());
        assert_eq!((report.people[0].weeks[0].working_days, report.people[0].weeks[0].focus_hours), (4, 32.0));
    }
}

/// One piece of work for the sustainable-pace figures: who, and when in
/// their own local seconds (a commit in its author's offset, a meeting in
/// the person's zone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkAt {
    /// Who (an identity key; never shown).
    pub who: String,
    /// Local seconds.
    pub at: i64,
}

/// The team's pace in one ISO week.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PaceWeek {
    /// `2025-W05`.
    pub week: String,
    /// People with work that week.
    pub people: usize,
    /// Pieces of work (commits, meetings).
    pub work: usize,
    /// Share of it outside working hours on working days; `None` when
    /// fewer than `min_group` people worked that week (too few to hide who).
    pub outside_hours_share: Option<f64>,
    /// Share of it on days off (weekends); `None` as above.
    pub weekend_share: Option<f64>,
}

/// Sustainable pace: per ISO week, the share of the team's work done
/// outside working hours and on days off, shown only for weeks with at
/// least `min_group` people. `hours_of` gives a person's working week.
pub fn pace(
    work: &[WorkAt],
    hours_of: &dyn Fn(&str) -> WorkingHours,
    options: &FocusOptions,
    min_group: usize,
) -> Vec<PaceWeek> {
    let mut weeks: BTreeMap<String, (std::collections::BTreeSet<&str>, usize, usize, usize)> = BTreeMap::new();
    for w in work {
        let day = w.at.div_euclid(SECONDS_PER_DAY);
        if day < options.first_day || day > options.last_day {
            continue;
        }
        let hours = hours_of(&w.who);
        let weekday = (day + 3).rem_euclid(7) as u32 + 1;
        let second = w.at.rem_euclid(SECONDS_PER_DAY);
        let entry = weeks.entry(crate::time::iso_week_label(day * SECONDS_PER_DAY)).or_default();
        entry.0.insert(&w.who);
        entry.1 += 1;
        if !hours.days.contains(&weekday) {
            entry.3 += 1;
        } else if second < hours.start || second >= hours.end {
            entry.2 += 1;
        }
    }
    weeks
        .into_iter()
        .map(|(week, (people, work, outside, weekend))| {
            let shown = people.len() >= min_group;
            PaceWeek {
                week,
                people: people.len(),
                work,
                outside_hours_share: shown.then(|| outside as f64 / work as f64),
                weekend_share: shown.then(|| weekend as f64 / work as f64),
            }
        })
        .collect()
}

#[cfg(test)]
mod pace_tests {
    use super::*;

    #[test]
    fn a_leads_balance_week_by_week() {
        const MONDAY: i64 = 20_094; // 2025-01-06
        let at = |day: i64, hour: i64| day * SECONDS_PER_DAY + hour * 3600;
        let activity = LeadActivity {
            commits: vec![at(MONDAY, 10), at(MONDAY + 1, 10), at(MONDAY + 9, 10)],
            pull_requests: vec![at(MONDAY, 11)],
            reviews: vec![at(MONDAY, 12), at(MONDAY + 2, 12), at(MONDAY + 3, 12), at(MONDAY + 4, 12)],
            reviewed_merges: vec![(at(MONDAY, 15), true), (at(MONDAY + 1, 15), false), (at(MONDAY + 2, 15), true)],
        };
        let options = FocusOptions { min_focus: 7200, first_day: MONDAY, last_day: MONDAY + 13 };
        let calendar = vec![PersonWeek {
            week: "2025-W02".into(),
            working_days: 5,
            meeting_hours: 12.0,
            focus_hours: 14.0,
            fragmented_hours: 14.0,
            switches: 9,
            meeting_free_days: 0,
        }];
        let weeks = balance(&activity, &calendar, &options);
        assert_eq!(weeks.len(), 2);
        // Week 2: 2 commits + 1 pull request against 4 reviews: 3/7 hands-on;
        // 2 of 3 reviewed merges had the lead as the only reviewer.
        let w = &weeks[0];
        assert_eq!((w.commits, w.pull_requests, w.reviews), (2, 1, 4));
        assert_eq!(w.hands_on_share, Some(3.0 / 7.0));
        assert_eq!(w.sole_reviewer_share, Some(2.0 / 3.0));
        assert_eq!((w.meeting_hours, w.focus_hours), (Some(12.0), Some(14.0)));
        // Week 3: one commit, nothing else known.
        assert_eq!(
            (weeks[1].hands_on_share, weeks[1].sole_reviewer_share, weeks[1].meeting_hours),
            (Some(1.0), None, None)
        );
    }

    #[test]
    fn work_outside_hours_and_on_weekends_per_week_for_groups_large_enough() {
        const MONDAY: i64 = 20_094; // 2025-01-06
        let at = |day: i64, hour: i64| day * SECONDS_PER_DAY + hour * 3600;
        let mut work = Vec::new();
        // Five people, each two commits on Monday at 10:00 and one at 21:00;
        // one of them also on Saturday.
        for p in 0..5 {
            let who = format!("p{p}");
            work.push(WorkAt { who: who.clone(), at: at(MONDAY, 10) });
            work.push(WorkAt { who: who.clone(), at: at(MONDAY, 11) });
            work.push(WorkAt { who, at: at(MONDAY, 21) });
        }
        work.push(WorkAt { who: "p0".into(), at: at(MONDAY + 5, 12) });
        // The next week: two people only.
        work.push(WorkAt { who: "p0".into(), at: at(MONDAY + 7, 22) });
        work.push(WorkAt { who: "p1".into(), at: at(MONDAY + 7, 10) });
        let options = FocusOptions { min_focus: 7200, first_day: MONDAY, last_day: MONDAY + 13 };
        let weeks = pace(&work, &|_| WorkingHours::default(), &options, 5);
        assert_eq!(weeks.len(), 2);
        // 16 pieces: 5 at 21:00 outside hours, 1 on Saturday.
        assert_eq!((weeks[0].people, weeks[0].work), (5, 16));
        assert_eq!(weeks[0].outside_hours_share, Some(5.0 / 16.0));
        assert_eq!(weeks[0].weekend_share, Some(1.0 / 16.0));
        // Two people: too few to show without showing who.
        assert_eq!((weeks[1].people, weeks[1].outside_hours_share, weekends(&weeks[1])), (2, None, None));
    }

    fn weekends(week: &PaceWeek) -> Option<f64> {
        week.weekend_share
    }
}

/// What a lead did, each item at its UTC time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeadActivity {
    /// Their commits.
    pub commits: Vec<i64>,
    /// Pull requests they opened.
    pub pull_requests: Vec<i64>,
    /// Reviews they submitted on others' pull requests.
    pub reviews: Vec<i64>,
    /// The team's merged pull requests (merge times) that someone reviewed,
    /// and whether the lead was the only reviewer.
    pub reviewed_merges: Vec<(i64, bool)>,
}

/// A lead's week.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BalanceWeek {
    /// `2025-W05`.
    pub week: String,
    /// Commits.
    pub commits: usize,
    /// Pull requests opened.
    pub pull_requests: usize,
    /// Reviews given.
    pub reviews: usize,
    /// Hands-on share of that activity: `(commits + pull requests) ÷
    /// (commits + pull requests + reviews)`; `None` without any.
    pub hands_on_share: Option<f64>,
    /// Share of the team's reviewed merges that only the lead reviewed: a
    /// delegation signal; `None` without reviewed merges.
    pub sole_reviewer_share: Option<f64>,
    /// Meeting hours (from their calendars), when they have one.
    pub meeting_hours: Option<f64>,
    /// Focus hours, likewise.
    pub focus_hours: Option<f64>,
}

/// A lead's balance week by week over the window of `options`, their
/// calendar's weeks (`weeks`) joined in.
pub fn balance(activity: &LeadActivity, weeks: &[PersonWeek], options: &FocusOptions) -> Vec<BalanceWeek> {
    let label = |t: i64| {
        let day = t.div_euclid(SECONDS_PER_DAY);
        (day >= options.first_day && day <= options.last_day).then(|| crate::time::iso_week_label(t))
    };
    let mut out: BTreeMap<String, BalanceWeek> = BTreeMap::new();
    for day in options.first_day..=options.last_day {
        let week = crate::time::iso_week_label(day * SECONDS_PER_DAY);
        out.entry(week.clone()).or_insert(BalanceWeek {
            week,
            commits: 0,
            pull_requests: 0,
            reviews: 0,
            hands_on_share: None,
            sole_reviewer_share: None,
            meeting_hours: None,
            focus_hours: None,
        });
    }
    let mut merges: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (times, field) in [(&activity.commits, 0), (&activity.pull_requests, 1), (&activity.reviews, 2)] {
        for week in times.iter().filter_map(|&t| label(t)) {
            if let Some(w) = out.get_mut(&week) {
                match field {
                    0 => w.commits += 1,
                    1 => w.pull_requests += 1,
                    _ => w.reviews += 1,
                }
            }
        }
    }
    for &(t, sole) in &activity.reviewed_merges {
        if let Some(week) = label(t) {
            let m = merges.entry(week).or_default();
            m.0 += 1;
            m.1 += usize::from(sole);
        }
    }
    for w in out.values_mut() {
        let hands_on = w.commits + w.pull_requests;
        let all = hands_on + w.reviews;
        w.hands_on_share = (all > 0).then(|| hands_on as f64 / all as f64);
        w.sole_reviewer_share = merges.get(&w.week).filter(|m| m.0 > 0).map(|m| m.1 as f64 / m.0 as f64);
        if let Some(p) = weeks.iter().find(|p| p.week == w.week) {
            (w.meeting_hours, w.focus_hours) = (Some(p.meeting_hours), Some(p.focus_hours));
        }
    }
    out.into_values().collect()
}
