//! Calendar arithmetic on UTC instants: civil dates, ISO weeks, half-open
//! windows, and the time expressions users type (`2025-01-31`, `90.days`).
//!
//! Everything is UTC and proleptic Gregorian; there is no clock here, callers
//! pass `now`.

use std::fmt;

use serde::Serialize;

use crate::model::Instant;

/// Seconds in a day (UTC has no leap seconds in Unix time).
pub const SECONDS_PER_DAY: i64 = 86_400;
/// Seconds in a week.
pub const SECONDS_PER_WEEK: i64 = 7 * SECONDS_PER_DAY;
/// Seconds in the "month" of relative spans and per-month rates: 30 days.
pub const SECONDS_PER_MONTH: i64 = 30 * SECONDS_PER_DAY;
/// Seconds in the "year" of relative spans: 365 days.
pub const SECONDS_PER_YEAR: i64 = 365 * SECONDS_PER_DAY;

/// Days since 1970-01-01 of a civil date (Howard Hinnant's
/// `days_from_civil`). `month` is 1–12, `day` 1–31; no validation.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let month_from_march = (i64::from(month) + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The civil date `(year, month, day)` of a day count since 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 { month_from_march + 3 } else { month_from_march - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month as u32, day as u32)
}

/// The UTC day (days since 1970-01-01) an instant falls on.
pub fn day_number(t: Instant) -> i64 {
    t.div_euclid(SECONDS_PER_DAY)
}

/// `2025-01-31`, the UTC date of an instant.
pub fn format_date(t: Instant) -> String {
    let (year, month, day) = civil_from_days(day_number(t));
    format!("{year:04}-{month:02}-{day:02}")
}

/// `2025-01-31T12:00:00Z`, an instant in RFC 3339 UTC form.
pub fn format_datetime(t: Instant) -> String {
    let seconds = t.rem_euclid(SECONDS_PER_DAY);
    format!("{}T{:02}:{:02}:{:02}Z", format_date(t), seconds / 3600, seconds % 3600 / 60, seconds % 60)
}

/// Monday 00:00 UTC of the ISO week containing `t`.
pub fn week_start(t: Instant) -> Instant {
    let day = day_number(t);
    // 1970-01-01 was a Thursday: (day + 3) mod 7 counts days since Monday.
    (day - (day + 3).rem_euclid(7)) * SECONDS_PER_DAY
}

/// The ISO 8601 week `(year, week)` of `t`: weeks start on Monday and belong
/// to the year of their Thursday, so 2020-12-31 is 2020-W53 and 2021-01-03
/// still is.
pub fn iso_week(t: Instant) -> (i32, u32) {
    let thursday = day_number(week_start(t)) + 3;
    let (year, _, _) = civil_from_days(thursday);
    let day_of_year = thursday - days_from_civil(year, 1, 1);
    let week = day_of_year / 7 + 1;
    (year as i32, week as u32)
}

/// `2025-W05`, the ISO week label of `t`.
pub fn iso_week_label(t: Instant) -> String {
    let (year, week) = iso_week(t);
    format!("{year:04}-W{week:02}")
}

/// Reads a time expression relative to `now`:
///
/// - `YYYY-MM-DD`: midnight UTC of that date;
/// - `YYYY-MM-DDTHH:MM:SSZ`: that UTC instant;
/// - `now`;
/// - a span before now: `90.days`, `12.weeks`, `6.months`, `1.year` or the
///   short forms `90d`, `12w`, `6m`, `1y` (singular and plural both). A month
///   is 30 days and a year 365 days: spans are fixed lengths so that a window
///   always covers the same number of days whatever the calendar.
pub fn parse_instant(input: &str, now: Instant) -> Result<Instant, TimeError> {
    let text = input.trim();
    if text == "now" {
        return Ok(now);
    }
    let bytes = text.as_bytes();
    if bytes.len() >= 5 && bytes[..4].iter().all(u8::is_ascii_digit) && bytes[4] == b'-' {
        return parse_absolute(bytes).ok_or_else(|| {
            if bytes.len() == 10 || bytes.len() == 20 {
                TimeError::InvalidDate { input: input.to_string() }
            } else {
                TimeError::Unrecognized { input: input.to_string() }
            }
        });
    }
    let span = parse_span(text).ok_or_else(|| TimeError::Unrecognized { input: input.to_string() })?;
    span.and_then(|seconds| now.checked_sub(seconds))
        .ok_or_else(|| TimeError::SpanTooLarge { input: input.to_string() })
}

/// Why [`parse_instant`] rejected its input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeError {
    /// The input matches none of the accepted forms.
    Unrecognized {
        /// What the user typed.
        input: String,
    },
    /// The input looks like a date but names none (`2025-02-30`, `T24:00:00Z`).
    InvalidDate {
        /// What the user typed.
        input: String,
    },
    /// A relative span too large to subtract from now.
    SpanTooLarge {
        /// What the user typed.
        input: String,
    },
}

const ACCEPTED_FORMS: &str = "expected YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ, `now`, or a span \
before now such as 90.days, 12.weeks, 6.months, 1.year, 12.hours (or 90d, 12w, 6m, 1y, 12h; a \
month is 30 days, a year 365)";

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeError::Unrecognized { input } => {
                write!(f, "cannot read `{input}` as a time: {ACCEPTED_FORMS}")
            }
            TimeError::InvalidDate { input } => {
                write!(f, "`{input}` is not a valid date or time: {ACCEPTED_FORMS}")
            }
            TimeError::SpanTooLarge { input } => {
                write!(f, "`{input}` reaches too far before now: {ACCEPTED_FORMS}")
            }
        }
    }
}

impl std::error::Error for TimeError {}

/// A half-open interval of time `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Window {
    /// First instant inside the window.
    pub start: Instant,
    /// First instant after the window.
    pub end: Instant,
}

impl Window {
    /// Whether `t` falls in `[start, end)`.
    pub fn contains(&self, t: Instant) -> bool {
        self.start <= t && t < self.end
    }

    /// Length in seconds; 0 for an empty (or reversed) window.
    pub fn duration(&self) -> i64 {
        (self.end - self.start).max(0)
    }

    /// The Monday 00:00 UTC of every ISO week that overlaps the window, in
    /// order. The first and last weeks may be only partly inside it.
    pub fn weeks(&self) -> Vec<Instant> {
        let mut weeks = Vec::new();
        if self.duration() == 0 {
            return weeks;
        }
        let mut week = week_start(self.start);
        while week < self.end {
            weeks.push(week);
            week += SECONDS_PER_WEEK;
        }
        weeks
    }
}

/// `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SSZ`; `None` when malformed or invalid.
fn parse_absolute(bytes: &[u8]) -> Option<Instant> {
    let (date, time) = match bytes.len() {
        10 => (bytes, None),
        20 if bytes[10] == b'T' && bytes[19] == b'Z' => (&bytes[..10], Some(&bytes[11..19])),
        _ => return None,
    };
    if date[4] != b'-' || date[7] != b'-' {
        return None;
    }
    let year = number(&date[..4])?;
    let month = number(&date[5..7])?;
    let day = number(&date[8..10])?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(i64::from(year), month) {
        return None;
    }
    let mut seconds = days_from_civil(i64::from(year), month, day) * SECONDS_PER_DAY;
    if let Some(time) = time {
        if time[2] != b':' || time[5] != b':' {
            return None;
        }
        let (hour, minute, second) = (number(&time[..2])?, number(&time[3..5])?, number(&time[6..8])?);
        if hour > 23 || minute > 59 || second > 59 {
            return None;
        }
        seconds += i64::from(hour * 3600 + minute * 60 + second);
    }
    Some(seconds)
}

/// An RFC 3339 timestamp as APIs and event files write it:
/// `2025-01-31T12:00:00Z`, with optional fractional seconds (dropped) and a
/// `Z` or `±HH:MM` offset (a space may stand for the `T`). `None` when it is
/// not one.
pub fn parse_rfc3339(text: &str) -> Option<Instant> {
    let bytes = text.as_bytes();
    if bytes.len() < 20 || !matches!(bytes[10], b'T' | b't' | b' ') {
        return None;
    }
    let mut plain = [0u8; 20];
    plain[..19].copy_from_slice(&bytes[..19]);
    plain[10] = b'T';
    plain[19] = b'Z';
    let base = parse_absolute(&plain)?;
    let mut rest = &bytes[19..];
    if let Some(fraction) = rest.strip_prefix(b".") {
        let digits = fraction.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        rest = &fraction[digits..];
    }
    let offset = match rest {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let hours = number(&[*h1, *h2])?;
            let minutes = number(&[*m1, *m2])?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            let seconds = i64::from(hours * 3600 + minutes * 60);
            if *sign == b'+' { seconds } else { -seconds }
        }
        _ => return None,
    };
    Some(base - offset)
}

/// `90.days`, `90d` … → `Some(Some(seconds))`; `Some(None)` when the count
/// overflows; `None` when it is not a span at all.
fn parse_span(text: &str) -> Option<Option<i64>> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let (count, unit) = text.split_at(digits);
    let unit = unit.strip_prefix('.').unwrap_or(unit);
    let unit_seconds = match unit {
        "h" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => SECONDS_PER_DAY,
        "w" | "week" | "weeks" => SECONDS_PER_WEEK,
        "m" | "month" | "months" => SECONDS_PER_MONTH,
        "y" | "year" | "years" => SECONDS_PER_YEAR,
        _ => return None,
    };
    Some(count.parse::<i64>().ok().and_then(|count| count.checked_mul(unit_seconds)))
}

/// Decimal digits only (no sign, no spaces).
fn number(bytes: &[u8]) -> Option<u32> {
    if !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(year: i64, month: u32, day: u32) -> Instant {
        days_from_civil(year, month, day) * SECONDS_PER_DAY
    }

    #[test]
    fn civil_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(civil_from_days(11_017), (2000, 3, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        for days in [-800_000, -1, 0, 59, 60, 10_956, 19_782, 800_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
    }

    #[test]
    fn formats() {
        // 2025-01-31 is day 20119; 12:00:00 adds 43200 s.
        let t = 20_119 * SECONDS_PER_DAY + 43_200;
        assert_eq!(format_date(t), "2025-01-31");
        assert_eq!(format_datetime(t), "2025-01-31T12:00:00Z");
        assert_eq!(format_datetime(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn iso_weeks_at_year_boundaries() {
        let check = |(y, m, d): (i64, u32, u32), expected: (i32, u32), label: &str| {
            let t = at(y, m, d) + 3600;
            assert_eq!(iso_week(t), expected, "{y}-{m}-{d}");
            assert_eq!(iso_week_label(t), label);
        };
        check((2020, 12, 31), (2020, 53), "2020-W53");
        check((2021, 1, 3), (2020, 53), "2020-W53"); // Sunday
        check((2021, 1, 4), (2021, 1), "2021-W01"); // Monday
        check((2024, 12, 30), (2025, 1), "2025-W01"); // Monday of a week whose Thursday is 2025-01-02
        check((2025, 1, 31), (2025, 5), "2025-W05");
        check((2026, 1, 1), (2026, 1), "2026-W01"); // Thursday
    }

    #[test]
    fn week_start_is_monday_midnight() {
        // 2025-01-31 was a Friday; its week starts Monday 2025-01-27.
        assert_eq!(week_start(at(2025, 1, 31) + 86_399), at(2025, 1, 27));
        assert_eq!(week_start(at(2025, 1, 27)), at(2025, 1, 27));
        // 1970-01-01 was a Thursday: before the epoch still rounds down.
        assert_eq!(week_start(0), at(1969, 12, 29));
    }

    #[test]
    fn window_weeks_and_bounds() {
        // Wed 2025-01-01 .. Mon 2025-01-13: weeks of 2024-12-30 and 2025-01-06
        // only; the week of 01-13 starts at `end`, outside the window.
        let window = Window { start: at(2025, 1, 1), end: at(2025, 1, 13) };
        assert_eq!(window.weeks(), vec![at(2024, 12, 30), at(2025, 1, 6)]);
        assert_eq!(window.duration(), 12 * SECONDS_PER_DAY);
        assert!(window.contains(window.start));
        assert!(!window.contains(window.end));
        let empty = Window { start: window.end, end: window.start };
        assert_eq!(empty.duration(), 0);
        assert!(empty.weeks().is_empty());
    }

    #[test]
    fn parses_instants() {
        let now = at(2025, 6, 1) + 3600;
        let check = |input: &str, expected: Instant| {
            assert_eq!(parse_instant(input, now), Ok(expected), "{input}");
        };
        check("now", now);
        check("2025-01-31", at(2025, 1, 31));
        check("2024-02-29", at(2024, 2, 29));
        check("2025-01-31T12:34:56Z", at(2025, 1, 31) + 12 * 3600 + 34 * 60 + 56);
        check("90.days", now - 90 * SECONDS_PER_DAY);
        check("1.day", now - SECONDS_PER_DAY);
        check("90d", now - 90 * SECONDS_PER_DAY);
        check("12.weeks", now - 84 * SECONDS_PER_DAY);
        check("12w", now - 84 * SECONDS_PER_DAY);
        check("6.months", now - 180 * SECONDS_PER_DAY);
        check("1.month", now - 30 * SECONDS_PER_DAY);
        check("6m", now - 180 * SECONDS_PER_DAY);
        check("1.year", now - 365 * SECONDS_PER_DAY);
        check("2.years", now - 730 * SECONDS_PER_DAY);
        check(" 1y ", now - 365 * SECONDS_PER_DAY);
    }

    #[test]
    fn rejects_bad_instants() {
        let now = 1_700_000_000;
        let unrecognized = |input: &str| TimeError::Unrecognized { input: input.to_string() };
        let invalid = |input: &str| TimeError::InvalidDate { input: input.to_string() };
        for input in ["", "yesterday", "90", "90.fortnights", "-3d", "d", "2025-1-31", "2025-01-31 12:00"] {
            assert_eq!(parse_instant(input, now), Err(unrecognized(input)));
        }
        for input in ["2025-02-29", "2025-13-01", "2025-00-10", "2025-01-31T24:00:00Z", "2025-01-3x"] {
            assert_eq!(parse_instant(input, now), Err(invalid(input)));
        }
        assert_eq!(
            parse_instant("99999999999999.years", now),
            Err(TimeError::SpanTooLarge { input: "99999999999999.years".to_string() })
        );
        let message = unrecognized("yesterday").to_string();
        assert!(message.contains("`yesterday`"), "{message}");
        assert!(message.contains("90.days"), "{message}");
        assert!(message.contains("YYYY-MM-DD"), "{message}");
    }
    #[test]
    fn rfc3339_forms() {
        let utc = parse_rfc3339("2025-01-31T12:00:00Z").unwrap();
        assert_eq!(utc, parse_instant("2025-01-31T12:00:00Z", 0).unwrap());
        assert_eq!(parse_rfc3339("2025-01-31T12:00:00.123456Z"), Some(utc));
        assert_eq!(parse_rfc3339("2025-01-31T14:30:00+02:30"), Some(utc));
        assert_eq!(parse_rfc3339("2025-01-31T07:00:00-05:00"), Some(utc));
        assert_eq!(parse_rfc3339("2025-01-31 12:00:00.5+00:00"), Some(utc));
        for bad in ["2025-01-31", "2025-01-31T12:00:00", "2025-02-30T12:00:00Z", "2025-01-31T12:00:00.Z", "x"] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }
}
