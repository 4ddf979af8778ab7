//! `fulcrum forecast` end to end: merged pull requests imported, the
//! throughput counted per day in the scope, the simulation's answers, and
//! bad questions refused with exit code 2.

use crate::harness::*;

/// `per_day` pull requests of `repo` merged on each of the `days` days
/// before 2025-03-01 (NOW), as an events file.
fn merged_every_day(repo: &str, days: i64, per_day: impl Fn(i64) -> u32) -> String {
    let today = utc(&format!("{NOW} 00:00")) / 86_400;
    let mut out = String::new();
    let mut number = 0;
    for day in today - days..today {
        for k in 0..per_day(day) {
            number += 1;
            let merged = day * 86_400 + 36_000 + i64::from(k) * 60;
            let at = |t: i64| format!("{}Z", fulcrum_core::time::format_datetime(t).trim_end_matches('Z'));
            out.push_str(&format!(
                r#"{{"type":"pull_request","repo":"{repo}","number":{number},"author":"ann","created_at":"{}","merged_at":"{}","merge_commit":"m{number}","commits":[{{"sha":"c{number}","author":"ann","authored_at":"{}"}}]}}"#,
                at(merged - 7_200),
                at(merged),
                at(merged - 10_800)
            ));
            out.push('\n');
        }
    }
    out
}

fn forecast(db: &std::path::Path, args: &[&str]) -> Run {
    let mut all = vec!["forecast", "--db", s(db)];
    all.extend_from_slice(args);
    fulcrum(all)
}

#[test]
fn a_steady_team_gets_one_date_and_its_deadline_odds() {
    let scratch = Scratch::new("forecast_steady");
    let db = scratch.db();
    // Two a day for 24 weeks in acme/shop; a bot-free other repository at a different pace.
    let mut events = merged_every_day("acme/shop", 168, |_| 2);
    events.push_str(
        &merged_every_day("acme/other", 168, |d| (d % 3) as u32 * 5).replace("\"number\":", "\"number\":1000"),
    );
    std::fs::write(scratch.path("events.jsonl"), events).unwrap();
    fulcrum(["import", s(&scratch.path("events.jsonl")), "--db", s(&db)]).ok();

    let run =
        forecast(&db, &["--service", "acme/shop", "--items", "30", "--deadline", "2025-03-10", "--format", "json"])
            .ok();
    let json = run.json();
    // 2 a day from 2025-03-01 (day 1): 30 items on day 15, 2025-03-15, at every percentile.
    for row in json["percentiles"].as_array().unwrap() {
        assert_eq!((row["date"].as_str(), row["days"].as_u64()), (Some("2025-03-15"), Some(15)), "{row}");
    }
    assert_eq!(json["scope"], "acme/shop");
    assert_eq!((json["sample_days"].as_u64(), json["sample_items"].as_u64()), (Some(84), Some(168)));
    assert_eq!(json["sample_first_day"], "2024-12-07");
    assert_eq!(json["deadline"]["probability"], 0.0, "10 days make 20, not 30");
    assert_eq!(json["deadline"]["date_for_85"], "2025-03-15");
    assert_eq!(json["seed_spread"]["spread"], 0);
    assert!(json["stability"]["signals"].as_array().unwrap().is_empty());
    // The backtests knew the pace: every one exact.
    let backtests: Vec<_> =
        json["backtest"].as_array().unwrap().iter().map(|b| (b["weeks_ago"].as_u64(), b["error"].as_f64())).collect();
    assert_eq!(backtests, vec![(Some(4), Some(0.0)), (Some(8), Some(0.0)), (Some(12), Some(0.0))]);

    // How many by a date: 10 days from today, inclusive.
    let json = forecast(&db, &["--service", "acme/shop", "--by", "2025-03-10", "--format", "json"]).ok().json();
    assert!(json["percentiles"].as_array().unwrap().iter().all(|r| r["items"] == 20), "{json}");
    // The terminal says the same in words.
    let text = forecast(&db, &["--service", "acme/shop", "--items", "30", "--deadline", "2025-03-10"]).ok().stdout;
    assert!(text.contains("When will 30 pull requests be merged? (acme/shop, from 2025-03-01)"), "{text}");
    assert!(text.contains("85%  2025-03-15 (15 days)"), "{text}");
    assert!(text.contains("The date asked for, 2025-03-10, has a 0% chance; 85% needs until 2025-03-15."), "{text}");

    // The uneven repository: percentiles spread out, and the same seed gives the same answer.
    let args = ["--service", "acme/other", "--items", "200", "--format", "json"];
    let first = forecast(&db, &args).ok().stdout;
    assert_eq!(first, forecast(&db, &args).ok().stdout, "reproducible");
    let json: serde_json::Value = serde_json::from_str(&first).unwrap();
    let days: Vec<u64> = json["percentiles"].as_array().unwrap().iter().map(|r| r["days"].as_u64().unwrap()).collect();
    assert!(days.windows(2).all(|w| w[0] <= w[1]) && days[0] < days[3], "{days:?}");
    let other_seed =
        forecast(&db, &["--service", "acme/other", "--items", "200", "--seed", "99", "--format", "json"]).ok();
    assert_eq!(other_seed.json()["seed"], 99);
}

#[test]
fn questions_that_cannot_be_answered_exit_2() {
    let scratch = Scratch::new("forecast_bad");
    let db = scratch.db();
    let mut events = merged_every_day("acme/shop", 30, |_| 1);
    // Nothing merged in the last 12 weeks of acme/old.
    events.push_str(
        &merged_every_day("acme/old", 200, |d| u32::from(d < 20_000)).replace("\"number\":", "\"number\":5000"),
    );
    std::fs::write(scratch.path("events.jsonl"), events).unwrap();
    fulcrum(["import", s(&scratch.path("events.jsonl")), "--db", s(&db)]).ok();
    let shop = ["--service", "acme/shop"];
    let bad = |extra: &[&str], needles: &[&str]| {
        let mut args = shop.to_vec();
        args.extend_from_slice(extra);
        forecast(&db, &args).bad_input(needles);
    };
    bad(&["--items", "0"], &["0 items"]);
    bad(&["--by", "2025-02-01"], &["2025-02-01 is in the past", "starts 2025-03-01"]);
    bad(&["--items", "5", "--deadline", "2024-12-31"], &["deadline 2024-12-31 is in the past"]);
    bad(&["--items", "5", "--window", "10.days"], &["10 days is too short", "2 weeks or more"]);
    bad(&["--items", "5", "--window", "soon"], &["--window soon"]);
    bad(&["--items", "5", "--split", "4"], &["split factor of 4 is outside 1 to 3"]);
    bad(&["--items", "5", "--window", "100000000.days"], &["longer than 10 years"]);
    bad(&["--items", "5", "--trials", "100000000000"], &["use 1,000 to 1000000"]);
    forecast(&db, &["--service", "acme/old", "--items", "5"])
        .bad_input(&["no pull request was merged in the sampling window (2024-12-07 – 2025-02-28) of acme/old"]);
    forecast(&db, &["--items", "5", "--by", "2025-04-01"]).bad_input(&["cannot be used with"]);
    // A 30-day history with the default 12-week window: the days before the first merge count as days
    // without one, which the forecast says, with the window to use; backtests need older history.
    let json = forecast(&db, &["--service", "acme/shop", "--items", "10", "--format", "json"]).ok().json();
    assert_eq!(json["sample_items"], 30);
    let warnings = json["warnings"].to_string();
    assert!(
        warnings.contains("the first merge in the history is on 2025-01-30, 54 days into the sampling window"),
        "{warnings}"
    );
    assert!(warnings.contains("use --window 30.days"), "{warnings}");
    // Only the 4-week backtest has a window with a merge in it (its last two days).
    assert_eq!(json["backtest"].as_array().unwrap().len(), 1, "{json}");
    assert!(warnings.contains("1 of 3 could be run"), "{warnings}");
    let json = forecast(&db, &["--service", "acme/shop", "--items", "10", "--window", "30.days", "--format", "json"])
        .ok()
        .json();
    assert!(!json["warnings"].to_string().contains("first merge"), "{json}");
    // Thirty days of one a day: ten items take ten days.
    assert_eq!(json["percentiles"][0]["date"], "2025-03-10");
}
