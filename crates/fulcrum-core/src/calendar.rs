//! Working time: the hours of the working days of a team, at its UTC
//! offset, without its holidays. Working agreements measured in working
//! time do not count a weekend or a night against a reviewer: a pull
//! request opened on Friday evening and picked up on Monday morning waited
//! minutes of working time, not days.

use serde::Serialize;

use crate::model::Instant;
use crate::time::{SECONDS_PER_DAY, day_number};

/// A team's working time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkCalendar {
    /// Local time = UTC + this, seconds.
    pub utc_offset: i64,
    /// Start of the working day, seconds after local midnight.
    pub day_start: i64,
    /// End of the working day, seconds after local midnight (after `day_start`).
    pub day_end: i64,
    /// Working weekdays, Monday first.
    pub weekdays: [bool; 7],
    /// Holidays: local day numbers (days since 1970-01-01), sorted.
    pub holidays: Vec<i64>,
}

impl WorkCalendar {
    /// Seconds of one working day.
    pub fn day_length(&self) -> i64 {
        self.day_end - self.day_start
    }

    /// Whether the local day `day` (days since 1970-01-01) is worked.
    fn works(&self, day: i64) -> bool {
        // 1970-01-01 was a Thursday: Monday-first index 3.
        let weekday = (day + 3).rem_euclid(7) as usize;
        self.weekdays[weekday] && self.holidays.binary_search(&day).is_err()
    }

    /// Working seconds between `start` and `end` (0 when `end` is not after
    /// `start`).
    pub fn working_seconds(&self, start: Instant, end: Instant) -> i64 {
        if end <= start {
            return 0;
        }
        let (start, end) = (start + self.utc_offset, end + self.utc_offset);
        let (first, last) = (day_number(start), day_number(end));
        let mut total = 0;
        for day in first..=last {
            if !self.works(day) {
                continue;
            }
            let midnight = day * SECONDS_PER_DAY;
            let open = (midnight + self.day_start).max(start);
            let close = (midnight + self.day_end).min(end);
            total += (close - open).max(0);
        }
        total
    }

    /// `target` seconds of calendar time read as working time: a day is one
    /// working day, an hour one working hour (`1.day` → 8 h of a 09–17 day).
    pub fn as_working(&self, target: i64) -> i64 {
        let days = target / SECONDS_PER_DAY;
        days * self.day_length() + (target % SECONDS_PER_DAY).min(self.day_length())
    }

    /// In words: `09:00–17:00 Mon–Fri, UTC+01:00, 2 holidays`.
    pub fn describe(&self) -> String {
        let hm = |s: i64| format!("{:02}:{:02}", s / 3600, (s % 3600) / 60);
        const NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        let days: Vec<&str> = NAMES.iter().zip(self.weekdays).filter(|(_, on)| *on).map(|(n, _)| *n).collect();
        let days = if self.weekdays == [true, true, true, true, true, false, false] {
            "Mon–Fri".to_owned()
        } else {
            days.join(", ")
        };
        let offset = self.utc_offset.abs();
        format!(
            "{}–{} {days}, UTC{}{:02}:{:02}{}",
            hm(self.day_start),
            hm(self.day_end),
            if self.utc_offset < 0 { '-' } else { '+' },
            offset / 3600,
            (offset % 3600) / 60,
            match self.holidays.len() {
                0 => String::new(),
                1 => ", 1 holiday".to_owned(),
                n => format!(", {n} holidays"),
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::days_from_civil;

    const H: i64 = 3600;

    fn nine_to_five() -> WorkCalendar {
        WorkCalendar {
            utc_offset: 0,
            day_start: 9 * H,
            day_end: 17 * H,
            weekdays: [true, true, true, true, true, false, false],
            holidays: Vec::new(),
        }
    }

    fn at(y: i64, m: u32, d: u32, hour: i64) -> Instant {
        days_from_civil(y, m, d) * SECONDS_PER_DAY + hour * H
    }

    #[test]
    fn friday_evening_to_monday_morning_is_an_hour() {
        let calendar = nine_to_five();
        // Friday 2025-01-10 16:00 → Monday 2025-01-13 10:00: 1 h Friday, 1 h Monday.
        assert_eq!(calendar.working_seconds(at(2025, 1, 10, 16), at(2025, 1, 13, 10)), 2 * H);
        // Within one day, before opening: nothing.
        assert_eq!(calendar.working_seconds(at(2025, 1, 13, 6), at(2025, 1, 13, 8)), 0);
        // A whole week: five days of 8 h.
        assert_eq!(calendar.working_seconds(at(2025, 1, 13, 0), at(2025, 1, 20, 0)), 40 * H);
        assert_eq!(calendar.working_seconds(at(2025, 1, 13, 10), at(2025, 1, 13, 9)), 0);
    }

    #[test]
    fn holidays_offsets_and_targets() {
        let mut calendar = nine_to_five();
        calendar.holidays = vec![days_from_civil(2025, 1, 13)];
        // Monday a holiday: Friday 16:00 → Tuesday 10:00 is 1 h + 1 h.
        assert_eq!(calendar.working_seconds(at(2025, 1, 10, 16), at(2025, 1, 14, 10)), 2 * H);
        // UTC+02:00: 07:00 UTC is 09:00 local, opening time.
        calendar.utc_offset = 2 * H;
        assert_eq!(calendar.working_seconds(at(2025, 1, 14, 7), at(2025, 1, 14, 8)), H);
        assert_eq!(calendar.as_working(86_400), 8 * H, "one day of target is one working day");
        assert_eq!(calendar.as_working(2 * 86_400 + 4 * H), 20 * H);
        assert_eq!(calendar.describe(), "09:00–17:00 Mon–Fri, UTC+02:00, 1 holiday");
    }
}
