//! Calendars: libical's recurrence table expanded and compared, and
//! `fulcrum focus` end to end.

use chrono::NaiveDateTime;
use fulcrum::sources::calendar::{Zone, expand};

fn time(text: &str) -> NaiveDateTime {
    let text = text.trim().trim_end_matches('Z');
    if text.len() == 8 {
        chrono::NaiveDate::parse_from_str(text, "%Y%m%d").unwrap().and_hms_opt(0, 0, 0).unwrap()
    } else {
        NaiveDateTime::parse_from_str(text, "%Y%m%dT%H%M%S").unwrap()
    }
}

/// Every rule of libical's table (`tests/fixtures/ics/icalrecur_test.txt`)
/// that fulcrum expands gives exactly libical's occurrences; the others are
/// refused with a reason, never expanded wrongly.
#[test]
fn libical_recurrence_rules_expand_to_libicals_occurrences() {
    let table = include_str!("../fixtures/ics/icalrecur_test.txt");
    let (mut agree, mut refused, mut wrong) = (0, Vec::new(), Vec::new());
    let mut record: Vec<(&str, &str)> = Vec::new();
    for line in table.lines().chain(std::iter::once("")) {
        if let Some((key, value)) = line.split_once(':')
            && !line.starts_with('#')
        {
            record.push((key, value));
            continue;
        }
        if record.is_empty() {
            continue;
        }
        let get = |k: &str| record.iter().find(|(key, _)| *key == k).map(|(_, v)| *v);
        let (Some(rule), Some(start), Some(instances)) = (get("RRULE"), get("DTSTART"), get("INSTANCES")) else {
            record.clear();
            continue;
        };
        // libical's own gaps ("*** UNIMPLEMENTED") have nothing to compare.
        if instances.contains("***") {
            record.clear();
            continue;
        }
        let expected: Vec<i64> =
            instances.split(',').filter(|s| !s.is_empty()).map(|s| time(s).and_utc().timestamp()).collect();
        let from = time(start).and_utc().timestamp();
        let bounded = rule.contains("COUNT=") || rule.contains("UNTIL=");
        // Up to the last expected occurrence, and for a bounded rule well past it.
        let to = expected.last().copied().unwrap_or(from) + if bounded { 400 * 86_400 } else { 1 };
        match expand(rule, time(start), start.len() == 8, Zone::Iana(chrono_tz::UTC), from, to) {
            Ok(found) if found == expected => agree += 1,
            Ok(found) => wrong.push(format!("{rule} from {start}: {} found, {} expected", found.len(), expected.len())),
            Err(why) => refused.push(format!("{rule}: {why}")),
        }
        record.clear();
    }
    eprintln!("libical's rules: {agree} agree, {} refused, {} wrong", refused.len(), wrong.len());
    assert!(wrong.is_empty(), "expanded wrongly:\n{}", wrong.join("\n"));
    // 120 of libical's 145 comparable rules agree; 25 are refused by shape.
    assert!(agree >= 120, "{agree} agree; refused:\n{}", refused.join("\n"));
}
