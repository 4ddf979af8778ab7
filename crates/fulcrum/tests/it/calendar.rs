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

use crate::harness::*;

/// A week of a two-person team, written by hand (Europe/Berlin, UTC+1 in
/// January): Ann has a daily stand-up 09:30–09:45 (recurring, with Bob), a
/// review Tuesday 11:00–12:00 (with Bob) and a meeting Wednesday she
/// declined; Bob also has a transparent "focus" block, an all-day offsite
/// and a one-person "lunch" event, none of them meetings.
pub const ANN: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:standup\r\nSUMMARY:Stand-up\r\n\
DTSTART;TZID=Europe/Berlin:20250106T093000\r\nDTEND;TZID=Europe/Berlin:20250106T094500\r\n\
RRULE:FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR\r\nORGANIZER:mailto:ann@team.example\r\nATTENDEE:mailto:bob@team.example\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:review\r\nSUMMARY:Secret project review\r\nDTSTART;TZID=Europe/Berlin:20250107T110000\r\n\
DURATION:PT1H\r\nATTENDEE:mailto:ann@team.example\r\nATTENDEE:mailto:bob@team.example\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:declined\r\nSUMMARY:All hands\r\nDTSTART:20250108T130000Z\r\nDTEND:20250108T150000Z\r\n\
ATTENDEE;PARTSTAT=DECLINED:mailto:ann@team.example\r\nATTENDEE:mailto:cy@team.example\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

pub const BOB: &str = "BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nUID:standup\nSUMMARY:Stand-up\n\
DTSTART;TZID=Europe/Berlin:20250106T093000\nDTEND;TZID=Europe/Berlin:20250106T094500\n\
RRULE:FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR\nORGANIZER:mailto:ann@team.example\nATTENDEE:mailto:bob@team.example\nEND:VEVENT\n\
BEGIN:VEVENT\nUID:review\nSUMMARY:Secret project review\nDTSTART;TZID=Europe/Berlin:20250107T110000\nDURATION:PT1H\n\
ATTENDEE:mailto:ann@team.example\nATTENDEE:mailto:bob@team.example\nEND:VEVENT\n\
BEGIN:VEVENT\nUID:block\nSUMMARY:Focus\nTRANSP:TRANSPARENT\nDTSTART:20250109T090000Z\nDTEND:20250109T120000Z\n\
ATTENDEE:mailto:bob@team.example\nATTENDEE:mailto:x@team.example\nEND:VEVENT\n\
BEGIN:VEVENT\nUID:offsite\nSUMMARY:Offsite\nDTSTART;VALUE=DATE:20250110\nATTENDEE:mailto:bob@team.example\nATTENDEE:mailto:x@team.example\nEND:VEVENT\n\
BEGIN:VEVENT\nUID:lunch\nSUMMARY:Lunch\nDTSTART:20250106T113000Z\nDTEND:20250106T123000Z\nEND:VEVENT\nEND:VCALENDAR\n";

#[test]
fn a_team_week_of_focus_from_calendars() {
    let scratch = Scratch::new("focus_team");
    std::fs::write(scratch.path("ann.ics"), ANN).unwrap();
    std::fs::write(scratch.path("bob.ics"), BOB).unwrap();
    let config = scratch.path("people.toml");
    std::fs::write(
        &config,
        format!(
            "[[person]]\nname = \"Ann\"\nemails = [\"ann@team.example\"]\ncalendars = [{:?}]\ntime_zone = \"Europe/Berlin\"\n\n\
             [[person]]\nname = \"Bob\"\nemails = [\"bob@team.example\"]\ncalendars = [{:?}]\ntime_zone = \"Europe/Berlin\"\n\
             working_hours = \"08:00-16:00\"\n",
            s(&scratch.path("ann.ics")),
            s(&scratch.path("bob.ics"))
        ),
    )
    .unwrap();
    let db = scratch.db();
    let run = fulcrum([
        "focus",
        "--config",
        s(&config),
        "--db",
        s(&db),
        "--since",
        "2025-01-06",
        "--until",
        "2025-01-13",
        "--format",
        "json",
    ])
    .ok();
    let json = run.json();
    let week = |who: usize| &json["people"][who]["weeks"][0];
    // Ann (09–17): stand-ups split 9–17 into 0.5 h (fragmented) and 7.25 h
    // every day; Tuesday the review 11–12 leaves 9:45–11 (1.25 h,
    // fragmented) and 12–17. Focus: 4 × 7.25 + 5 = 34; fragmented: 5 × 0.5
    // + 1.25 = 3.75; meetings 5 × 0.25 + 1 = 2.25. The declined all-hands
    // does not count.
    assert_eq!(week(0)["week"], "2025-W02");
    assert_eq!(
        (week(0)["focus_hours"].as_f64(), week(0)["fragmented_hours"].as_f64(), week(0)["meeting_hours"].as_f64()),
        (Some(34.0), Some(3.75), Some(2.25))
    );
    assert_eq!((week(0)["switches"].as_u64(), week(0)["meeting_free_days"].as_u64()), (Some(6), Some(0)));
    // Bob (08–16): stand-ups leave 8–9:30 (1.5, fragmented) and 9:45–16
    // (6.25); Tuesday 9:45–11 (1.25 fragmented) and 12–16 (4). Focus: 4 ×
    // 6.25 + 4 = 29. Transparent, all-day and one-person events are no meetings.
    assert_eq!(week(1)["focus_hours"].as_f64(), Some(29.0));
    assert_eq!(week(1)["fragmented_hours"].as_f64(), Some(5.0 * 1.5 + 1.25));
    assert_eq!(json["meetings"], 12, "5 + 1 for each: no declined, transparent, all-day or solo event");
    let team = &json["team"][0];
    assert_eq!((team["people"].as_u64(), team["median_focus_hours"].as_f64()), (Some(2), Some(29.0)));
    // The costliest: the stand-up. Without it Ann's days are 8 h of focus,
    // with it 7.25 (9:00–9:30 is fragmented); Tuesday, beside the review,
    // 7 → 5. Ann: 4 × 0.75 + 2 = 5 h. Bob (from 8:00): 8 → 6.25, Tuesday
    // 7 → 4: 4 × 1.75 + 3 = 10 h. 15 h in all. The review: Tuesday 7.25 → 5
    // for Ann, 6.25 → 4 for Bob: 4.5 h.
    let costly = json["costly_meetings"].as_array().unwrap();
    let cost = |i: usize| (costly[i]["label"].as_str().unwrap(), costly[i]["focus_hours_lost"].as_f64().unwrap());
    assert_eq!((cost(0), cost(1)), (("Stand-up", 15.0), ("Secret project review", 4.5)));
    assert_eq!((costly[0]["occurrences"].as_u64(), costly[0]["people"].as_u64()), (Some(10), Some(2)));
    assert!(costly[0]["focus_hours_lost_at_best"].as_f64().unwrap() < 15.0, "a better time exists: {costly:?}");
    // Nothing of the calendars is stored: no database is even made.
    assert!(!db.exists() || !std::fs::read(&db).unwrap().windows(6).any(|w| w == b"Secret"), "titles are never stored");

    // The terminal report says the same in words.
    let text =
        fulcrum(["focus", "--config", s(&config), "--db", s(&db), "--since", "2025-01-06", "--until", "2025-01-13"])
            .ok()
            .stdout;
    assert!(text.contains("2025-W02  median  29.0 focus h ✓"), "{text}");
    assert!(text.contains("1. Stand-up (recurring, 10 occurrences, 2 people): 15.0 focus hours lost; at "), "{text}");
    assert!(text.contains("2. Secret project review (2 occurrences, 2 people): 4.5 focus hours lost"), "{text}");
}

#[test]
fn an_exchange_invitation_in_a_windows_time_zone() {
    let scratch = Scratch::new("focus_o365");
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/ics/o365_meeting.ics");
    let json = fulcrum([
        "focus",
        "--calendar",
        file,
        "--tz",
        "Europe/Berlin",
        "--since",
        "2020-11-23",
        "--until",
        "2020-11-30",
        "--db",
        s(&scratch.db()),
        "--format",
        "json",
    ])
    .ok()
    .json();
    // Every second day from Tuesday 11:00 in "W. Europe Standard Time" until
    // Thursday 10:00 UTC (11:00 in Berlin): Tuesday and Thursday, 30 minutes each.
    assert_eq!(json["meetings"], 2, "{json}");
    let week = &json["people"][0]["weeks"][0];
    assert_eq!((week["meeting_hours"].as_f64(), week["focus_hours"].as_f64()), (Some(1.0), Some(39.0)));
    assert!(json["warnings"].as_array().unwrap().is_empty(), "{json}");
}

#[test]
fn calendars_that_cannot_be_read_are_named_and_the_rest_is_reported() {
    let scratch = Scratch::new("focus_bad");
    std::fs::write(scratch.path("ann.ics"), ANN).unwrap();
    std::fs::write(scratch.path("page.ics"), "<!doctype html><p>Sign in</p>").unwrap();
    let db = scratch.db();
    let args = |extra: &[&str]| {
        let mut all = vec!["focus", "--db", s(&db), "--since", "2025-01-06", "--until", "2025-01-13"];
        all.extend_from_slice(extra);
        all.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let ann = scratch.path("ann.ics");
    let page = scratch.path("page.ics");
    let missing = scratch.path("missing.ics");
    let json = fulcrum(args(&[
        "--calendar",
        s(&ann),
        "--calendar",
        s(&page),
        "--calendar",
        s(&missing),
        "--tz",
        "Europe/Berlin",
        "--email",
        "ann@team.example",
        "--format",
        "json",
    ]))
    .ok()
    .json();
    let warnings = json["warnings"].to_string();
    assert!(warnings.contains("page.ics: not an iCalendar file"), "{warnings}");
    assert!(warnings.contains("missing.ics: cannot read the calendar"), "{warnings}");
    assert_eq!(json["calendars_read"], 2);
    assert_eq!(json["people"][0]["weeks"][0]["focus_hours"].as_f64(), Some(34.0));
    fulcrum(args(&["--calendar", s(&ann), "--tz", "Mars/Olympus"])).bad_input(&["unknown time zone \"Mars/Olympus\""]);
    fulcrum(args(&["--calendar", s(&ann), "--hours", "17:00-09:00"])).bad_input(&["write them as 09:00-17:00"]);
    fulcrum(args(&[])).bad_input(&["no calendars: pass --calendar"]);
    fulcrum(args(&["--calendar", "http://calendar.example/private/secret-token/basic.ics"]))
        .ok()
        .stdout
        .contains("http://calendar.example/…: a calendar feed must be https://")
        .then_some(())
        .expect("a plain-http feed is refused, its path not shown");
}

/// The pace of a repository's commits, each in its author's own offset:
/// the share outside working hours and on days off, for weeks with enough
/// people to hide who (and a bot's commits left out).
#[test]
fn the_pace_of_commits_outside_working_hours() {
    let scratch = Scratch::new("focus_pace");
    let repo = scratch.path("pace");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, "2025-01-06T08:00", &["init", "-q", "-b", "main"]);
    let commit = |who: &str, date: &str, file: &str| {
        std::fs::write(repo.join(file), date).unwrap();
        git(&repo, "2025-01-06T08:00", &["add", file]);
        git(
            &repo,
            "2025-01-06T08:00",
            &["commit", "-q", "-m", file, &format!("--author={who} <{who}@pace.example>"), &format!("--date={date}")],
        );
    };
    // Monday 10:00 in each author's zone; Erin again at 22:30 (+01:00), Ann
    // on Saturday, and a bot at 03:00.
    for (who, offset) in [("ann", "+0100"), ("bob", "-0500"), ("cy", "+0900"), ("dee", "+0000"), ("erin", "+0100")] {
        commit(who, &format!("2025-01-06T10:00:00{offset}"), &format!("{who}.txt"));
    }
    commit("erin", "2025-01-06T22:30:00+0100", "late.txt");
    commit("ann", "2025-01-11T12:00:00+0100", "saturday.txt");
    commit("renovate[bot]", "2025-01-07T03:00:00+0000", "deps.txt");
    let db = scratch.db();
    sync(&repo, &db);
    let run = |extra: &[&str]| {
        let mut args = vec![
            "focus",
            "--repo",
            s(&repo),
            "--db",
            s(&db),
            "--since",
            "2025-01-06",
            "--until",
            "2025-01-13",
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        fulcrum(args).ok().json()
    };
    let json = run(&[]);
    let week = &json["pace"][0];
    assert_eq!(
        (week["week"].as_str(), week["people"].as_u64(), week["work"].as_u64()),
        (Some("2025-W02"), Some(5), Some(7))
    );
    assert_eq!(week["outside_hours_share"].as_f64(), Some(1.0 / 7.0), "Erin's 22:30");
    assert_eq!(week["weekend_share"].as_f64(), Some(1.0 / 7.0), "Ann's Saturday");
    // Six people needed: the week is not shown.
    let config = scratch.path("strict.toml");
    std::fs::write(&config, "[focus]\nmin_group = 6\n").unwrap();
    let json = run(&["--config", s(&config)]);
    assert!(json["pace"][0]["outside_hours_share"].is_null(), "{json}");
    assert_eq!(json["pace"][0]["people"], 5);

    // Ann leads: her balance from her commits, her pull requests and her
    // reviews. Bob's #1 was reviewed by Ann alone, Cy's #2 by Ann and Dee,
    // Ann's #3 by Bob.
    let pr = |n: u32, author: &str, reviewers: &[&str]| {
        let reviews: Vec<String> = reviewers
            .iter()
            .map(|r| format!(r#"{{"author":"{r}","submitted_at":"2025-01-07T1{n}:00:00Z","state":"approved"}}"#))
            .collect();
        format!(
            r#"{{"type":"pull_request","repo":"pace","number":{n},"author":"{author}","created_at":"2025-01-06T09:00:00Z","merged_at":"2025-01-08T10:00:00Z","merge_commit":"m{n}","commits":[],"reviews":[{}]}}"#,
            reviews.join(",")
        )
    };
    let events = [pr(1, "bob", &["ann"]), pr(2, "cy", &["ann", "dee"]), pr(3, "ann", &["bob"])].join("\n");
    std::fs::write(scratch.path("prs.jsonl"), events + "\n").unwrap();
    fulcrum(["import", s(&scratch.path("prs.jsonl")), "--db", s(&db)]).ok();
    let config = scratch.path("lead.toml");
    std::fs::write(
        &config,
        "[[person]]\nname = \"Ann\"\nemails = [\"ann@pace.example\"]\nlogins = [\"ann\"]\nlead = true\nhands_on_target = 0.3\n",
    )
    .unwrap();
    let json = run(&["--config", s(&config)]);
    let lead = &json["leads"][0];
    assert_eq!((lead["name"].as_str(), lead["hands_on_target"].as_f64()), (Some("Ann"), Some(0.3)));
    let week = &lead["weeks"][0];
    // Two commits and one pull request against two reviews: 3/5 hands-on;
    // sole reviewer of one of the three reviewed merges.
    assert_eq!(
        (week["commits"].as_u64(), week["pull_requests"].as_u64(), week["reviews"].as_u64()),
        (Some(2), Some(1), Some(2))
    );
    assert_eq!(week["hands_on_share"].as_f64(), Some(0.6));
    assert_eq!(week["sole_reviewer_share"].as_f64(), Some(1.0 / 3.0));
}

/// A calendar feed served on this machine: read like a file; a feed that
/// answers HTML or an error, or does not answer, is named by its host only
/// (its path is a secret) and the rest is still reported.
#[test]
fn calendar_feeds_are_fetched_and_their_failures_named_without_their_path() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        for _ in 0..3 {
            let (mut stream, _) = listener.accept().unwrap();
            let mut buffer = [0u8; 4096];
            let n = stream.read(&mut buffer).unwrap();
            let request = String::from_utf8_lossy(&buffer[..n]).to_string();
            let (status, body) = if request.starts_with("GET /secret-token/ann.ics") {
                ("200 OK", ANN.to_owned())
            } else if request.starts_with("GET /secret-token/login") {
                ("200 OK", "<!doctype html><title>Sign in</title>".to_owned())
            } else {
                ("404 Not Found", "no".to_owned())
            };
            let _ = stream.write_all(
                format!("HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len())
                    .as_bytes(),
            );
        }
    });
    let scratch = Scratch::new("focus_feeds");
    let feed = |path: &str| format!("http://{address}/secret-token/{path}");
    let json = fulcrum([
        "focus",
        "--calendar",
        &feed("ann.ics"),
        "--calendar",
        &feed("login"),
        "--calendar",
        &feed("gone.ics"),
        "--tz",
        "Europe/Berlin",
        "--email",
        "ann@team.example",
        "--since",
        "2025-01-06",
        "--until",
        "2025-01-13",
        "--db",
        s(&scratch.db()),
        "--format",
        "json",
    ])
    .ok()
    .json();
    server.join().unwrap();
    assert_eq!(json["people"][0]["weeks"][0]["focus_hours"].as_f64(), Some(34.0), "the feed read as the file is");
    let warnings = json["warnings"].to_string();
    assert!(warnings.contains("http://127.0.0.1/…: not an iCalendar file"), "{warnings}");
    assert!(warnings.contains("http://127.0.0.1/…: the calendar feed answered 404"), "{warnings}");
    assert!(!json.to_string().contains("secret-token"), "a feed's path is never shown: {json}");
}

/// A cloned repository's fulcrum.toml cannot choose files or feeds for
/// `fulcrum focus` to read: its `[[person]]` calendars are left out, with
/// a warning, until the file is trusted.
#[test]
fn a_cloned_repository_cannot_choose_calendars_to_read() {
    let scratch = Scratch::new("focus_untrusted");
    let repo = scratch.copy_repo("team");
    std::fs::write(
        repo.join("fulcrum.toml"),
        "[[person]]\nname = \"x\"\ncalendars = [\"/etc/passwd\", \"https://cal.example/secret\"]\n",
    )
    .unwrap();
    let db = scratch.db();
    sync(&repo, &db);
    let json =
        fulcrum(["focus", "--repo", s(&repo), "--db", s(&db), "--since", "2025-01-06", "--format", "json"]).ok().json();
    let warnings = json["warnings"].to_string();
    assert!(warnings.contains("the calendars of [[person]] x left out"), "{warnings}");
    assert!(warnings.contains("x has no calendar"), "{warnings}");
    assert_eq!(json["calendars_read"], 0, "nothing was read: {json}");
}

/// A calendar with thousands of meetings on one day (no real one has):
/// the first 100 are counted, the rest said and left out, so the
/// costliest-meeting search stays small.
#[test]
fn a_crowded_day_is_cut_at_a_hundred_meetings() {
    let scratch = Scratch::new("focus_crowded");
    let mut ics = String::from("BEGIN:VCALENDAR\r\n");
    for i in 0..3000 {
        ics.push_str(&format!(
            "BEGIN:VEVENT\r\nUID:m{i}\r\nDTSTART:20250107T{:02}{:02}00Z\r\nDURATION:PT5M\r\nATTENDEE:mailto:a@x.example\r\nATTENDEE:mailto:b@x.example\r\nEND:VEVENT\r\n",
            9 + (i % 480) / 60,
            i % 60
        ));
    }
    ics.push_str("END:VCALENDAR\r\n");
    std::fs::write(scratch.path("crowded.ics"), ics).unwrap();
    let json = fulcrum([
        "focus",
        "--calendar",
        s(&scratch.path("crowded.ics")),
        "--since",
        "2025-01-06",
        "--until",
        "2025-01-13",
        "--db",
        s(&scratch.db()),
        "--format",
        "json",
    ])
    .ok()
    .json();
    assert_eq!(json["meetings"], 100, "{}", json["warnings"]);
    assert!(json["warnings"].to_string().contains("you: over 100 meetings on 2025-01-07"), "{}", json["warnings"]);
}
