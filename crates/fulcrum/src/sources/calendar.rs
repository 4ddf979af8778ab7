//! Calendars for `fulcrum focus`: iCalendar (RFC 5545) files and feeds read
//! into the occurrences of their events within a window, in UTC.
//!
//! The content lines are read here (unfolded, with the number of the line
//! each starts on, so a bad event is skipped with a warning naming the file
//! and the line while the rest is read); recurrence rules are expanded by
//! the `rrule` crate in IANA time zones (`chrono-tz`). Time zones are taken
//! as IANA names, as the IANA suffix of a vendor's `TZID`
//! (`/mozilla.org/20050126_1/Europe/Berlin`), as Windows names ("W. Europe
//! Standard Time"), or else from the file's own `VTIMEZONE` as a fixed
//! offset (with a warning). Handled: `RRULE` with `EXDATE` and `RDATE`,
//! moved and cancelled occurrences (`RECURRENCE-ID`), all-day and floating
//! events, `DURATION`, `STATUS:CANCELLED`, the person's own `PARTSTAT`,
//! `TRANSP:TRANSPARENT`.
//!
//! Nothing of a calendar is stored: the occurrences live as long as the
//! analysis. Titles are kept only to name the costliest meetings in the
//! output; descriptions, locations and attendee addresses are dropped as
//! they are read (only their count is kept).

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use chrono::{NaiveDate, NaiveDateTime, TimeZone};

/// A time zone an event's times are in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Zone {
    /// An IANA zone.
    Iana(chrono_tz::Tz),
    /// A fixed offset from UTC, seconds (a `VTIMEZONE` no name resolved).
    Fixed(i32),
}

impl Zone {
    /// UTC seconds of a wall-clock time in this zone (the earlier of an
    /// ambiguous time; a time in a daylight-saving gap is read an hour
    /// later, which is the gap's length in all but a few zones).
    pub fn to_utc(self, local: NaiveDateTime) -> i64 {
        match self {
            Zone::Fixed(offset) => local.and_utc().timestamp() - i64::from(offset),
            Zone::Iana(tz) => match tz.from_local_datetime(&local) {
                chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => t.timestamp(),
                chrono::LocalResult::None => {
                    let later = local + chrono::Duration::hours(1);
                    tz.from_local_datetime(&later).earliest().map_or(local.and_utc().timestamp(), |t| t.timestamp())
                }
            },
        }
    }

    /// The offset from UTC in force at UTC second `t`.
    pub fn offset_at(self, t: i64) -> i64 {
        use chrono::Offset;
        match self {
            Zone::Fixed(offset) => i64::from(offset),
            Zone::Iana(tz) => {
                let utc = chrono::DateTime::from_timestamp(t, 0).unwrap_or_default().naive_utc();
                i64::from(tz.offset_from_utc_datetime(&utc).fix().local_minus_utc())
            }
        }
    }
}

/// Windows time zone names and their IANA zones (CLDR's windowsZones,
/// territory 001), the ones calendars from Outlook and Exchange use.
const WINDOWS_ZONES: &[(&str, &str)] = &[
    ("Dateline Standard Time", "Etc/GMT+12"),
    ("Hawaiian Standard Time", "Pacific/Honolulu"),
    ("Alaskan Standard Time", "America/Anchorage"),
    ("Pacific Standard Time", "America/Los_Angeles"),
    ("Pacific Standard Time (Mexico)", "America/Tijuana"),
    ("US Mountain Standard Time", "America/Phoenix"),
    ("Mountain Standard Time", "America/Denver"),
    ("Central America Standard Time", "America/Guatemala"),
    ("Central Standard Time", "America/Chicago"),
    ("Central Standard Time (Mexico)", "America/Mexico_City"),
    ("Canada Central Standard Time", "America/Regina"),
    ("SA Pacific Standard Time", "America/Bogota"),
    ("Eastern Standard Time", "America/New_York"),
    ("US Eastern Standard Time", "America/Indianapolis"),
    ("Venezuela Standard Time", "America/Caracas"),
    ("Atlantic Standard Time", "America/Halifax"),
    ("SA Western Standard Time", "America/La_Paz"),
    ("Pacific SA Standard Time", "America/Santiago"),
    ("Newfoundland Standard Time", "America/St_Johns"),
    ("E. South America Standard Time", "America/Sao_Paulo"),
    ("Argentina Standard Time", "America/Buenos_Aires"),
    ("SA Eastern Standard Time", "America/Cayenne"),
    ("Greenland Standard Time", "America/Godthab"),
    ("UTC-02", "Etc/GMT+2"),
    ("Azores Standard Time", "Atlantic/Azores"),
    ("Cape Verde Standard Time", "Atlantic/Cape_Verde"),
    ("UTC", "Etc/UTC"),
    ("GMT Standard Time", "Europe/London"),
    ("Greenwich Standard Time", "Atlantic/Reykjavik"),
    ("W. Europe Standard Time", "Europe/Berlin"),
    ("Central Europe Standard Time", "Europe/Budapest"),
    ("Romance Standard Time", "Europe/Paris"),
    ("Central European Standard Time", "Europe/Warsaw"),
    ("W. Central Africa Standard Time", "Africa/Lagos"),
    ("GTB Standard Time", "Europe/Bucharest"),
    ("E. Europe Standard Time", "Europe/Chisinau"),
    ("Egypt Standard Time", "Africa/Cairo"),
    ("FLE Standard Time", "Europe/Kiev"),
    ("Israel Standard Time", "Asia/Jerusalem"),
    ("South Africa Standard Time", "Africa/Johannesburg"),
    ("Turkey Standard Time", "Europe/Istanbul"),
    ("Arabic Standard Time", "Asia/Baghdad"),
    ("Arab Standard Time", "Asia/Riyadh"),
    ("Russian Standard Time", "Europe/Moscow"),
    ("E. Africa Standard Time", "Africa/Nairobi"),
    ("Iran Standard Time", "Asia/Tehran"),
    ("Arabian Standard Time", "Asia/Dubai"),
    ("Afghanistan Standard Time", "Asia/Kabul"),
    ("Pakistan Standard Time", "Asia/Karachi"),
    ("West Asia Standard Time", "Asia/Tashkent"),
    ("India Standard Time", "Asia/Calcutta"),
    ("Sri Lanka Standard Time", "Asia/Colombo"),
    ("Nepal Standard Time", "Asia/Katmandu"),
    ("Central Asia Standard Time", "Asia/Almaty"),
    ("Bangladesh Standard Time", "Asia/Dhaka"),
    ("Myanmar Standard Time", "Asia/Rangoon"),
    ("SE Asia Standard Time", "Asia/Bangkok"),
    ("China Standard Time", "Asia/Shanghai"),
    ("Singapore Standard Time", "Asia/Singapore"),
    ("Taipei Standard Time", "Asia/Taipei"),
    ("W. Australia Standard Time", "Australia/Perth"),
    ("Korea Standard Time", "Asia/Seoul"),
    ("Tokyo Standard Time", "Asia/Tokyo"),
    ("Cen. Australia Standard Time", "Australia/Adelaide"),
    ("AUS Central Standard Time", "Australia/Darwin"),
    ("E. Australia Standard Time", "Australia/Brisbane"),
    ("AUS Eastern Standard Time", "Australia/Sydney"),
    ("West Pacific Standard Time", "Pacific/Port_Moresby"),
    ("Tasmania Standard Time", "Australia/Hobart"),
    ("New Zealand Standard Time", "Pacific/Auckland"),
    ("Fiji Standard Time", "Pacific/Fiji"),
    ("Tonga Standard Time", "Pacific/Tongatapu"),
];

/// The IANA zone of a `TZID`: an IANA name, its IANA suffix, or a Windows name.
pub fn iana(tzid: &str) -> Option<chrono_tz::Tz> {
    let tzid = tzid.trim().trim_matches('"');
    // No zone name is long: a hostile one is not looked up.
    if tzid.len() > 128 {
        return None;
    }
    if let Ok(tz) = chrono_tz::Tz::from_str(tzid) {
        return Some(tz);
    }
    // Vendor prefixes: the longest IANA suffix of the path (three parts at most).
    let parts: Vec<&str> = tzid.split('/').filter(|p| !p.is_empty()).collect();
    for start in parts.len().saturating_sub(3)..parts.len() {
        if let Ok(tz) = chrono_tz::Tz::from_str(&parts[start..].join("/")) {
            return Some(tz);
        }
    }
    let name = tzid.trim_start_matches('(').split(')').next_back().unwrap_or(tzid).trim();
    WINDOWS_ZONES
        .iter()
        .find(|(windows, _)| windows.eq_ignore_ascii_case(tzid) || windows.eq_ignore_ascii_case(name))
        .and_then(|(_, iana)| chrono_tz::Tz::from_str(iana).ok())
}

/// A content line: its name, parameters and value, and where it starts.
#[derive(Debug, Clone)]
struct Line {
    number: usize,
    name: String,
    params: Vec<(String, String)>,
    value: String,
}

impl Line {
    fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Unfolds and splits the content lines of `text`.
fn lines(text: &str) -> Vec<Line> {
    let mut out: Vec<Line> = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, raw) in text.split('\n').enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some(rest) = raw.strip_prefix([' ', '\t']) {
            if let Some((_, text)) = current.as_mut() {
                text.push_str(rest);
            }
            continue;
        }
        if let Some((number, text)) = current.take() {
            out.extend(parse_line(number, &text));
        }
        if !raw.trim().is_empty() {
            current = Some((i + 1, raw.to_owned()));
        }
    }
    if let Some((number, text)) = current {
        out.extend(parse_line(number, &text));
    }
    out
}

/// `NAME;PARAM=VALUE;PARAM="QUOTED":VALUE`; `None` when there is no colon.
fn parse_line(number: usize, text: &str) -> Option<Line> {
    let mut in_quotes = false;
    let colon = text.char_indices().find(|&(_, c)| {
        if c == '"' {
            in_quotes = !in_quotes;
        }
        c == ':' && !in_quotes
    })?;
    let (head, value) = (&text[..colon.0], &text[colon.0 + 1..]);
    let mut parts = head.split(';');
    let name = parts.next().unwrap_or("").trim().to_ascii_uppercase();
    let params = parts
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.trim().to_ascii_uppercase(), v.trim().trim_matches('"').to_owned()))
        .collect();
    Some(Line { number, name, params, value: value.to_owned() })
}

/// A time as written: a date, a floating time, a UTC time, or a time in a zone.
#[derive(Debug, Clone, PartialEq)]
enum Written {
    Date(NaiveDate),
    Floating(NaiveDateTime),
    Utc(NaiveDateTime),
    Zoned(NaiveDateTime, String),
}

fn written(line: &Line) -> Result<Written, String> {
    parse_time(line.value.trim(), line.param("TZID"), line.param("VALUE"))
}

fn parse_time(value: &str, tzid: Option<&str>, kind: Option<&str>) -> Result<Written, String> {
    if kind.is_some_and(|k| k.eq_ignore_ascii_case("DATE")) || value.len() == 8 {
        return NaiveDate::parse_from_str(value, "%Y%m%d")
            .map(Written::Date)
            .map_err(|_| format!("not a date: {value}"));
    }
    let (text, utc) = match value.strip_suffix(['Z', 'z']) {
        Some(text) => (text, true),
        None => (value, false),
    };
    let time = NaiveDateTime::parse_from_str(text, "%Y%m%dT%H%M%S").map_err(|_| format!("not a date-time: {value}"))?;
    Ok(match (utc, tzid) {
        (true, _) => Written::Utc(time),
        (false, Some(tzid)) => Written::Zoned(time, tzid.to_owned()),
        (false, None) => Written::Floating(time),
    })
}

/// `DURATION`: `P1W`, `PT1H30M`, `P1DT2H`, `-PT15M`; seconds.
fn duration(text: &str) -> Option<i64> {
    let (sign, rest) = match text.trim().strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, text.trim().trim_start_matches('+')),
    };
    let rest = rest.strip_prefix('P')?;
    let (mut total, mut number, mut in_time, mut any) = (0i64, String::new(), false, false);
    for c in rest.chars() {
        match c {
            'T' => in_time = true,
            '0'..='9' => number.push(c),
            unit => {
                let n: i64 = number.parse().ok()?;
                number.clear();
                any = true;
                let unit = match (unit, in_time) {
                    ('W', false) => 7 * 86_400,
                    ('D', false) => 86_400,
                    ('H', true) => 3_600,
                    ('M', true) => 60,
                    ('S', true) => 1,
                    _ => return None,
                };
                total = total.checked_add(n.checked_mul(unit)?)?;
            }
        }
    }
    // Over ten years is no event's length: a hostile or broken file.
    (any && number.is_empty() && total <= 10 * 366 * 86_400).then_some(sign * total)
}

/// An event as read.
#[derive(Debug, Clone)]
struct Event {
    line: usize,
    uid: Option<String>,
    summary: Option<String>,
    start: Option<Written>,
    end: Option<Written>,
    duration: Option<i64>,
    rrule: Option<String>,
    rdates: Vec<Written>,
    exdates: Vec<Written>,
    recurrence_id: Option<Written>,
    cancelled: bool,
    transparent: bool,
    /// Lower-cased attendee addresses and their participation.
    attendees: Vec<(String, String)>,
    organizer: Option<String>,
}

/// One occurrence of an event, in UTC seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occurrence {
    /// Start.
    pub start: i64,
    /// End.
    pub end: i64,
    /// All-day (a date, not a time).
    pub all_day: bool,
    /// The series' UID when it recurs.
    pub series: Option<String>,
    /// Its title, for the output only.
    pub label: String,
    /// Distinct people invited, the organizer included.
    pub attendees: usize,
    /// The person's own participation (`ACCEPTED`, `DECLINED`, …), when
    /// their address is on it.
    pub partstat: Option<String>,
    /// `TRANSP:TRANSPARENT`: it does not block time.
    pub transparent: bool,
}

/// What a calendar gave, and what the reader should know.
#[derive(Debug, Default)]
pub struct Read {
    /// Occurrences overlapping the window, by start.
    pub occurrences: Vec<Occurrence>,
    /// Skipped events and other notes, each naming the file and line.
    pub warnings: Vec<String>,
    /// Events read (masters and overrides).
    pub events: usize,
    /// Recurrence rules that could not be expanded.
    pub unsupported_rules: usize,
}

fn mailto(value: &str) -> String {
    let lower = value.trim().to_ascii_lowercase();
    lower.strip_prefix("mailto:").unwrap_or(&lower).to_owned()
}

/// Reads `text` (named `name` in warnings) into the occurrences overlapping
/// `[from, to)` (UTC seconds). Floating times are in `local`; `me` are the
/// person's own addresses (lower case), to find their participation.
pub fn read(name: &str, text: &str, from: i64, to: i64, local: Zone, me: &[String]) -> Read {
    let mut read = Read::default();
    let head: String = text.trim_start_matches('\u{feff}').trim_start().chars().take(15).collect();
    if !head.to_ascii_uppercase().starts_with("BEGIN:VCALENDAR") {
        // What it holds is not repeated: it may be anything.
        read.warnings.push(format!("{name}: not an iCalendar file (it does not start with BEGIN:VCALENDAR)"));
        return read;
    }
    let lines = lines(text.trim_start_matches('\u{feff}'));
    // Time zones the file defines: TZID → a fixed offset (the standard one).
    let mut defined: BTreeMap<String, i32> = BTreeMap::new();
    let mut events: Vec<Event> = Vec::new();
    let mut stack: Vec<String> = Vec::new();
    let mut tzid: Option<String> = None;
    let mut current: Option<Event> = None;
    let mut bad: Option<(usize, String)> = None;
    for line in &lines {
        match line.name.as_str() {
            "BEGIN" => {
                let component = line.value.trim().to_ascii_uppercase();
                if component == "VEVENT" && stack.last().is_some_and(|c| c == "VCALENDAR") {
                    current = Some(Event {
                        line: line.number,
                        uid: None,
                        summary: None,
                        start: None,
                        end: None,
                        duration: None,
                        rrule: None,
                        rdates: vec![],
                        exdates: vec![],
                        recurrence_id: None,
                        cancelled: false,
                        transparent: false,
                        attendees: vec![],
                        organizer: None,
                    });
                    bad = None;
                }
                stack.push(component);
                continue;
            }
            "END" => {
                let component = line.value.trim().to_ascii_uppercase();
                if stack.last() == Some(&component) {
                    stack.pop();
                }
                if component == "VEVENT" {
                    match (current.take(), bad.take()) {
                        (Some(event), None) => events.push(event),
                        (Some(event), Some((at, why))) => {
                            read.warnings
                                .push(format!("{name}:{at}: {why}; the event of line {} is skipped", event.line));
                        }
                        (None, _) => {}
                    }
                }
                if component == "VTIMEZONE" {
                    tzid = None;
                }
                continue;
            }
            _ => {}
        }
        match stack.last().map(String::as_str) {
            Some("VTIMEZONE") if line.name == "TZID" => tzid = Some(line.value.trim().to_owned()),
            Some("STANDARD") if line.name == "TZOFFSETTO" => {
                if let (Some(id), Some(offset)) = (&tzid, utc_offset(&line.value)) {
                    defined.insert(id.clone(), offset);
                }
            }
            Some("VEVENT") => {
                let Some(event) = current.as_mut() else { continue };
                let mut time = |line: &Line| match written(line) {
                    Ok(t) => Some(t),
                    Err(why) => {
                        bad.get_or_insert((line.number, format!("{}: {why}", line.name)));
                        None
                    }
                };
                match line.name.as_str() {
                    "UID" => event.uid = Some(line.value.trim().to_owned()),
                    "SUMMARY" => event.summary = Some(unescape(&line.value)),
                    "DTSTART" => event.start = time(line),
                    "DTEND" => event.end = time(line),
                    "DURATION" => match duration(&line.value) {
                        Some(d) => event.duration = Some(d),
                        None => {
                            bad.get_or_insert((
                                line.number,
                                format!("DURATION {} is not a duration", line.value.trim()),
                            ));
                        }
                    },
                    "RRULE" => event.rrule = Some(line.value.trim().to_owned()),
                    "RDATE" | "EXDATE" => {
                        for value in line.value.split(',').filter(|v| !v.trim().is_empty()) {
                            // RDATE;VALUE=PERIOD: the start of each period.
                            let value = value.split('/').next().unwrap_or(value).trim();
                            match parse_time(value, line.param("TZID"), line.param("VALUE").filter(|v| *v != "PERIOD"))
                            {
                                Ok(t) if line.name == "RDATE" => event.rdates.push(t),
                                Ok(t) => event.exdates.push(t),
                                Err(why) => {
                                    bad.get_or_insert((line.number, format!("{}: {why}", line.name)));
                                }
                            }
                        }
                    }
                    "RECURRENCE-ID" => event.recurrence_id = time(line),
                    "STATUS" => event.cancelled = line.value.trim().eq_ignore_ascii_case("CANCELLED"),
                    "TRANSP" => event.transparent = line.value.trim().eq_ignore_ascii_case("TRANSPARENT"),
                    "ATTENDEE" => event.attendees.push((
                        mailto(&line.value),
                        line.param("PARTSTAT").unwrap_or("NEEDS-ACTION").to_ascii_uppercase(),
                    )),
                    "ORGANIZER" => event.organizer = Some(mailto(&line.value)),
                    _ => {}
                }
            }
            _ => {}
        }
    }
    read.events = events.len();
    let zone_of = |written: &Written, line: usize, warnings: &mut Vec<String>| -> Option<(NaiveDateTime, Zone, bool)> {
        Some(match written {
            Written::Date(d) => (d.and_hms_opt(0, 0, 0)?, local, true),
            Written::Floating(t) => (*t, local, false),
            Written::Utc(t) => (*t, Zone::Iana(chrono_tz::UTC), false),
            Written::Zoned(t, id) => match iana(id) {
                Some(tz) => (*t, Zone::Iana(tz), false),
                None => match defined.get(id) {
                    Some(offset) => {
                        warnings.push(format!(
                            "{name}:{line}: time zone {id:?} is not an IANA or Windows name: its VTIMEZONE's standard offset is used, without daylight saving"
                        ));
                        (*t, Zone::Fixed(*offset), false)
                    }
                    None => {
                        warnings.push(format!("{name}:{line}: unknown time zone {id:?}; the event is skipped"));
                        return None;
                    }
                },
            },
        })
    };
    let instant = |written: &Written, line: usize, warnings: &mut Vec<String>| {
        zone_of(written, line, warnings).map(|(t, zone, _)| zone.to_utc(t))
    };
    // Overrides of recurring events: (UID, original start) → the override.
    let mut overridden: BTreeSet<(String, i64)> = BTreeSet::new();
    for event in &events {
        if let (Some(uid), Some(id)) = (&event.uid, &event.recurrence_id)
            && let Some(at) = instant(id, event.line, &mut read.warnings)
        {
            overridden.insert((uid.clone(), at));
        }
    }
    for event in &events {
        let Some(start_written) = &event.start else {
            read.warnings.push(format!("{name}:{}: an event without DTSTART is skipped", event.line));
            continue;
        };
        let Some((start_local, zone, all_day)) = zone_of(start_written, event.line, &mut read.warnings) else {
            continue;
        };
        let start = zone.to_utc(start_local);
        let length = match (&event.end, event.duration) {
            (Some(end), _) => match instant(end, event.line, &mut read.warnings) {
                Some(end) => end - start,
                None => continue,
            },
            (None, Some(d)) => d,
            (None, None) if all_day => 86_400,
            (None, None) => 0,
        };
        if length < 0 {
            read.warnings.push(format!("{name}:{}: the event ends before it starts; it is skipped", event.line));
            continue;
        }
        if event.cancelled {
            continue;
        }
        let attendees: BTreeSet<&str> =
            event.attendees.iter().map(|(a, _)| a.as_str()).chain(event.organizer.as_deref()).collect();
        let partstat = event.attendees.iter().find(|(a, _)| me.contains(a)).map(|(_, p)| p.clone());
        let occurrence = |start: i64| Occurrence {
            start,
            end: start + length,
            all_day,
            series: event.rrule.as_ref().and(event.uid.clone()),
            label: event.summary.clone().unwrap_or_else(|| "(untitled)".to_owned()),
            attendees: attendees.len(),
            partstat: partstat.clone(),
            transparent: event.transparent,
        };
        let mut starts: Vec<i64> = Vec::new();
        match &event.rrule {
            None => starts.push(start),
            Some(rule) if event.recurrence_id.is_none() => {
                match expand(rule, start_local, all_day, zone, from - length, to) {
                    Ok(found) => starts.extend(found),
                    Err(why) => {
                        read.unsupported_rules += 1;
                        read.warnings.push(format!(
                            "{name}:{}: RRULE {rule} is not expanded ({why}); only its first occurrence is counted",
                            event.line
                        ));
                        starts.push(start);
                    }
                }
            }
            Some(_) => starts.push(start),
        }
        if event.recurrence_id.is_none() {
            for rdate in &event.rdates {
                starts.extend(instant(rdate, event.line, &mut read.warnings));
            }
            let excluded: BTreeSet<i64> =
                event.exdates.iter().filter_map(|e| instant(e, event.line, &mut read.warnings)).collect();
            starts.retain(|s| !excluded.contains(s));
            if let Some(uid) = &event.uid {
                starts.retain(|s| !overridden.contains(&(uid.clone(), *s)));
            }
        }
        starts.sort_unstable();
        starts.dedup();
        read.occurrences.extend(starts.into_iter().map(occurrence).filter(|o| o.end > from && o.start < to));
        if read.occurrences.len() > MAX_OCCURRENCES {
            read.occurrences.truncate(MAX_OCCURRENCES);
            read.warnings.push(format!(
                "{name}: more than {MAX_OCCURRENCES} occurrences in the window; the rest of the calendar is not read"
            ));
            break;
        }
    }
    read.occurrences.sort_by(|a, b| a.start.cmp(&b.start).then(a.end.cmp(&b.end)));
    read
}

/// `TZOFFSETTO:+0100` → 3600.
fn utc_offset(text: &str) -> Option<i32> {
    let text = text.trim();
    let (sign, digits) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => (1, text),
    };
    if digits.len() < 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hours: i32 = digits[..2].parse().ok()?;
    let minutes: i32 = digits[2..4].parse().ok()?;
    let seconds: i32 = if digits.len() >= 6 { digits[4..6].parse().ok()? } else { 0 };
    Some(sign * (hours * 3600 + minutes * 60 + seconds))
}

fn unescape(text: &str) -> String {
    text.replace("\\n", " ").replace("\\N", " ").replace("\\,", ",").replace("\\;", ";").replace("\\\\", "\\")
}

/// The most steps a rule may take from its start to the window's end.
const MAX_STEPS: i64 = 200_000;

/// The most occurrences one calendar may give in a window.
const MAX_OCCURRENCES: usize = 1_000_000;

/// Rule shapes fulcrum refuses rather than risk expanding them wrongly:
/// where the expanding crate and libical's table of expected occurrences
/// disagree (none is a meeting's usual rule).
fn unsupported(parts: &BTreeMap<String, String>, date_only: bool) -> Option<&'static str> {
    let freq = parts.get("FREQ").map(String::as_str).unwrap_or("");
    let interval = parts.get("INTERVAL").map_or("1", String::as_str);
    if parts.contains_key("BYWEEKNO") && (!parts.contains_key("BYDAY") || interval != "1") {
        return Some("BYWEEKNO without BYDAY, or with an INTERVAL, is not supported");
    }
    if freq == "WEEKLY" && parts.contains_key("BYSETPOS") {
        return Some("BYSETPOS in a weekly rule is not supported");
    }
    if freq == "YEARLY" && parts.contains_key("BYMONTHDAY") && !parts.contains_key("BYMONTH") {
        return Some("a yearly BYMONTHDAY without BYMONTH is not supported");
    }
    if date_only && ["BYHOUR", "BYMINUTE", "BYSECOND"].iter().any(|k| parts.contains_key(*k)) {
        return Some("BYHOUR, BYMINUTE and BYSECOND with an all-day start are not supported");
    }
    if parts.contains_key("RSCALE") {
        return Some("RSCALE (non-Gregorian calendars) is not supported");
    }
    None
}

/// The starts (UTC) of `rule` from `start` (wall-clock time in `zone`)
/// that fall in `[from, to)` (`date_only`: the start is a date, all-day);
/// an error for a rule fulcrum does not expand.
pub fn expand(
    rule: &str,
    start: NaiveDateTime,
    date_only: bool,
    zone: Zone,
    from: i64,
    to: i64,
) -> Result<Vec<i64>, String> {
    let parts: BTreeMap<String, String> = rule
        .split(';')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.trim().to_ascii_uppercase(), v.trim().to_ascii_uppercase()))
        .collect();
    if let Some(why) = unsupported(&parts, date_only) {
        return Err(why.to_owned());
    }
    // The crate walks every step from DTSTART: a rule whose steps before
    // the window's end would be too many is refused, not walked.
    let period = match parts.get("FREQ").map(String::as_str) {
        Some("YEARLY") => 366 * 86_400,
        Some("MONTHLY") => 28 * 86_400,
        Some("WEEKLY") => 7 * 86_400,
        Some("DAILY") => 86_400,
        Some("HOURLY") => 3_600,
        Some("MINUTELY") => 60,
        Some("SECONDLY") => 1,
        _ => return Err("a rule without a known FREQ is not expanded".into()),
    };
    let interval: i64 = parts.get("INTERVAL").and_then(|i| i.parse().ok()).unwrap_or(1).max(1);
    let start_utc = zone.to_utc(start);
    // COUNT and UNTIL end the walk sooner.
    let until = parts
        .get("UNTIL")
        .and_then(|u| NaiveDateTime::parse_from_str(u.trim_end_matches('Z'), "%Y%m%dT%H%M%S").ok())
        .map_or(to, |u| u.and_utc().timestamp().min(to));
    let mut steps = (until - start_utc).max(0) / (period * interval);
    if let Some(count) = parts.get("COUNT").and_then(|c| c.parse::<i64>().ok()) {
        steps = steps.min(count);
    }
    if steps > MAX_STEPS {
        return Err(format!("it would take more than {MAX_STEPS} steps from its start to the window"));
    }
    // A fixed offset has no DST: expand in UTC.
    let (tz, local) = match zone {
        Zone::Iana(tz) => (rrule::Tz::Tz(tz), start),
        Zone::Fixed(offset) => (rrule::Tz::UTC, start - chrono::Duration::seconds(i64::from(offset))),
    };
    let dt_start = match tz.from_local_datetime(&local) {
        chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => t,
        chrono::LocalResult::None => return Err("DTSTART falls in a daylight-saving gap".into()),
    };
    // A rule's UNTIL in UTC with a floating or zoned start: the crate wants
    // UNTIL in DTSTART's zone; converted here.
    let rule = normalise_until(rule, tz);
    let parsed: rrule::RRule<rrule::Unvalidated> = rule.parse().map_err(|e: rrule::RRuleError| e.to_string())?;
    let set = parsed.build(dt_start).map_err(|e| e.to_string())?;
    let at = |t: i64| {
        let utc = chrono::DateTime::from_timestamp(t, 0).unwrap_or_default();
        utc.with_timezone(&tz)
    };
    let result = set.after(at(from)).before(at(to)).all(u16::MAX);
    if result.limited {
        return Err(format!("more than {} occurrences in the window", u16::MAX));
    }
    Ok(result.dates.iter().map(|d| d.timestamp()).filter(|&t| t >= from && t < to).collect())
}

/// `UNTIL=…Z` rewritten in `tz` when DTSTART is not in UTC, and a date-only
/// UNTIL made the end of that day, as the crate validates them.
fn normalise_until(rule: &str, tz: rrule::Tz) -> String {
    rule.split(';')
        .map(|part| match part.split_once('=') {
            Some((key, value)) if key.eq_ignore_ascii_case("UNTIL") => {
                let value = value.trim();
                let until = if value.len() == 8 {
                    NaiveDate::parse_from_str(value, "%Y%m%d")
                        .ok()
                        .and_then(|d| d.and_hms_opt(23, 59, 59))
                        .and_then(|t| tz.from_local_datetime(&t).earliest())
                } else if let Some(text) = value.strip_suffix('Z') {
                    NaiveDateTime::parse_from_str(text, "%Y%m%dT%H%M%S").ok().map(|t| t.and_utc().with_timezone(&tz))
                } else {
                    NaiveDateTime::parse_from_str(value, "%Y%m%dT%H%M%S")
                        .ok()
                        .and_then(|t| tz.from_local_datetime(&t).earliest())
                };
                match until {
                    Some(t) => format!("UNTIL={}", t.with_timezone(&chrono::Utc).format("%Y%m%dT%H%M%SZ")),
                    None => part.to_owned(),
                }
            }
            _ => part.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(";")
}

#[cfg(test)]
mod tests {
    use super::*;

    const BERLIN: Zone = Zone::Iana(chrono_tz::Europe::Berlin);

    fn utc(text: &str) -> i64 {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap().and_utc().timestamp()
    }

    #[test]
    fn time_zones_are_found_by_iana_suffix_and_windows_name() {
        assert_eq!(iana("Europe/Berlin"), Some(chrono_tz::Europe::Berlin));
        assert_eq!(iana("/mozilla.org/20050126_1/Europe/Berlin"), Some(chrono_tz::Europe::Berlin));
        assert_eq!(iana("W. Europe Standard Time"), Some(chrono_tz::Europe::Berlin));
        assert_eq!(iana("\"Eastern Standard Time\""), Some(chrono_tz::America::New_York));
        assert_eq!(iana("Mars/Olympus_Mons"), None);
    }

    #[test]
    fn durations_are_read() {
        assert_eq!(duration("PT1H30M"), Some(5400));
        assert_eq!(duration("P1W"), Some(604_800));
        assert_eq!(duration("P1DT2H"), Some(93_600));
        assert_eq!(duration("-PT15M"), Some(-900));
        assert_eq!(duration("PT"), None);
        assert_eq!(duration("1H"), None);
        assert_eq!(duration("P999999999999999999W"), None, "no overflow");
        assert_eq!(duration("P99999W"), None, "no event lasts two thousand years");
    }

    const WEEKLY: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:standup-1\r\nSUMMARY:Stand-up\r\n\
DTSTART;TZID=Europe/Berlin:20250303T093000\r\nDURATION:PT15M\r\nRRULE:FREQ=WEEKLY;BYDAY=MO,WE;COUNT=6\r\n\
EXDATE;TZID=Europe/Berlin:20250305T093000\r\nATTENDEE;PARTSTAT=ACCEPTED:mailto:ann@x.example\r\n\
ATTENDEE;PARTSTAT=ACCEPTED:mailto:bob@x.example\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:standup-1\r\nRECURRENCE-ID;TZID=Europe/Berlin:20250310T093000\r\nSUMMARY:Stand-up (moved)\r\n\
DTSTART;TZID=Europe/Berlin:20250310T140000\r\nDTEND;TZID=Europe/Berlin:20250310T141500\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:standup-1\r\nRECURRENCE-ID;TZID=Europe/Berlin:20250312T093000\r\nSTATUS:CANCELLED\r\n\
DTSTART;TZID=Europe/Berlin:20250312T093000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

    #[test]
    fn a_weekly_series_with_an_exception_a_move_and_a_cancellation() {
        let read = read("w.ics", WEEKLY, utc("2025-03-01 00:00"), utc("2025-04-01 00:00"), BERLIN, &[]);
        assert!(read.warnings.is_empty(), "{:?}", read.warnings);
        let starts: Vec<(i64, &str)> = read.occurrences.iter().map(|o| (o.start, o.label.as_str())).collect();
        // 6 occurrences: Mon 3, Wed 5 (excluded), Mon 10 (moved to 14:00),
        // Wed 12 (cancelled), Mon 17, Wed 19. Berlin is UTC+1 in March
        // (DST starts on the 30th).
        assert_eq!(
            starts,
            vec![
                (utc("2025-03-03 08:30"), "Stand-up"),
                (utc("2025-03-10 13:00"), "Stand-up (moved)"),
                (utc("2025-03-17 08:30"), "Stand-up"),
                (utc("2025-03-19 08:30"), "Stand-up"),
            ]
        );
        assert!(read.occurrences.iter().all(|o| o.end - o.start == 900));
        assert_eq!(read.occurrences[0].attendees, 2);
        assert_eq!(read.occurrences[0].series.as_deref(), Some("standup-1"));
    }

    #[test]
    fn daylight_saving_keeps_the_wall_clock_time() {
        let text = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:a\nDTSTART;TZID=W. Europe Standard Time:20250324T100000\n\
DTEND;TZID=W. Europe Standard Time:20250324T110000\nRRULE:FREQ=WEEKLY;UNTIL=20250407T235959Z\nEND:VEVENT\nEND:VCALENDAR\n";
        let read =
            read("dst.ics", text, utc("2025-03-01 00:00"), utc("2025-05-01 00:00"), Zone::Iana(chrono_tz::UTC), &[]);
        let starts: Vec<i64> = read.occurrences.iter().map(|o| o.start).collect();
        assert_eq!(starts, vec![utc("2025-03-24 09:00"), utc("2025-03-31 08:00"), utc("2025-04-07 08:00")]);
    }

    #[test]
    fn a_bad_event_is_skipped_with_its_line_and_the_rest_is_read() {
        let text = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:bad\nDTSTART:2025031\nEND:VEVENT\nBEGIN:VEVENT\nUID:ok\n\
DTSTART:20250303T100000Z\nDTEND:20250303T090000Z\nEND:VEVENT\nBEGIN:VEVENT\nUID:fine\nDTSTART:20250303T100000Z\n\
DURATION:PT1H\nATTENDEE;PARTSTAT=DECLINED:mailto:Me@X.example\nEND:VEVENT\nBEGIN:VEVENT\nUID:zone\n\
DTSTART;TZID=Nowhere/Special:20250303T100000\nEND:VEVENT\nEND:VCALENDAR\n";
        let me = vec!["me@x.example".to_owned()];
        let read = read("bad.ics", text, utc("2025-03-01 00:00"), utc("2025-04-01 00:00"), BERLIN, &me);
        assert_eq!(read.occurrences.len(), 1);
        assert_eq!(read.occurrences[0].partstat.as_deref(), Some("DECLINED"));
        let warnings = read.warnings.join("\n");
        assert!(
            warnings.contains("bad.ics:4: DTSTART: not a date-time: 2025031; the event of line 2 is skipped"),
            "{warnings}"
        );
        assert!(warnings.contains("bad.ics:6: the event ends before it starts"), "{warnings}");
        assert!(warnings.contains("bad.ics:17: unknown time zone \"Nowhere/Special\""), "{warnings}");
        let html = read_html();
        assert!(html.warnings[0].contains("not an iCalendar file"), "{:?}", html.warnings);
        assert!(!html.warnings[0].contains("doctype"), "what a non-calendar holds is not repeated");
    }

    fn read_html() -> Read {
        read("https://cal.example", "<!doctype html><html>", 0, 1, BERLIN, &[])
    }

    #[test]
    fn hostile_calendars_cost_little_and_crash_nothing() {
        let window = (utc("2025-03-01 00:00"), utc("2025-04-01 00:00"));
        let calendar = |body: &str| format!("\u{feff}BEGIN:VCALENDAR\r\n{body}END:VCALENDAR\r\n");
        // Every second since year 1: refused, not walked.
        let fast =
            calendar("BEGIN:VEVENT\r\nUID:a\r\nDTSTART:00010101T000000Z\r\nRRULE:FREQ=SECONDLY\r\nEND:VEVENT\r\n");
        let got = super::read("fast.ics", &fast, window.0, window.1, BERLIN, &[]);
        assert!(got.warnings[0].contains("more than 200000 steps"), "{:?}", got.warnings);
        // Daily since year 1: too many steps.
        let old = calendar("BEGIN:VEVENT\r\nUID:b\r\nDTSTART:00010101T100000Z\r\nRRULE:FREQ=HOURLY\r\nEND:VEVENT\r\n");
        let got = super::read("old.ics", &old, window.0, window.1, BERLIN, &[]);
        assert!(got.warnings[0].contains("more than 200000 steps"), "{:?}", got.warnings);
        // A non-ASCII offset, a huge zone name, a MAILTO in capitals, and a BOM.
        let odd = calendar(&format!(
            "BEGIN:VTIMEZONE\r\nTZID:X\r\nBEGIN:STANDARD\r\nTZOFFSETTO:+0é0\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n\
             BEGIN:VEVENT\r\nUID:c\r\nDTSTART;TZID={}:20250303T100000\r\nEND:VEVENT\r\n\
             BEGIN:VEVENT\r\nUID:d\r\nDTSTART:20250303T100000Z\r\nDURATION:PT1H\r\nATTENDEE;PARTSTAT=DECLINED:MailTo:Me@X.example\r\nEND:VEVENT\r\n",
            "a/".repeat(100_000)
        ));
        let got = super::read("odd.ics", &odd, window.0, window.1, BERLIN, &["me@x.example".to_owned()]);
        assert_eq!(got.events, 2, "the byte-order mark does not hide the calendar");
        assert_eq!(got.occurrences.len(), 1);
        assert_eq!(got.occurrences[0].partstat.as_deref(), Some("DECLINED"));
        assert!(got.warnings.iter().any(|w| w.contains("unknown time zone")), "{:?}", got.warnings);
    }

    #[test]
    fn folded_lines_and_quoted_parameters_are_read() {
        let text = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:f\r\nSUMMARY:A long\r\n  title\r\nDTSTART;TZID=\"Europe/Berlin\":20250303T100000\r\n\
DTEND;TZID=\"Europe/Berlin\":20250303T110000\r\nATTENDEE;CN=\"Doe: Jane\";PARTSTAT=TENTATIVE:mailto:jane@x.example\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let read =
            read("f.ics", text, utc("2025-03-01 00:00"), utc("2025-04-01 00:00"), BERLIN, &["jane@x.example".into()]);
        assert_eq!(read.occurrences[0].label, "A long title");
        assert_eq!(read.occurrences[0].start, utc("2025-03-03 09:00"));
        assert_eq!(read.occurrences[0].partstat.as_deref(), Some("TENTATIVE"));
    }
}
