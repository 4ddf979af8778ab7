//! `fulcrum brief`: every figure equals what `report`, `flow`, `knowledge`
//! and `hotspots` print as JSON for the same window; the HTML renders in a
//! real browser without errors and prints to a one-page PDF.

use crate::harness::*;

const WINDOW: [&str; 4] = ["--since", "2025-01-01", "--until", "2025-02-01"];

fn json(args: &[&str], db: &std::path::Path) -> serde_json::Value {
    let mut all = args.to_vec();
    all.extend(["--db", s(db), "--format", "json"]);
    fulcrum(all).ok().json()
}

fn finding<'a>(brief: &'a serde_json::Value, title: &str) -> &'a serde_json::Value {
    brief["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["title"] == title)
        .unwrap_or_else(|| panic!("{title}: {brief}"))
}

#[test]
fn the_brief_tells_the_reports_figures_in_plain_words() {
    let scratch = Scratch::new("brief_events");
    let db = scratch.db();
    std::fs::write(scratch.path("events.jsonl"), crate::events::EVENTS).unwrap();
    fulcrum(["import", s(&scratch.path("events.jsonl")), "--db", s(&db)]).ok();
    std::fs::write(scratch.path("fulcrum.toml"), "[brief]\nhourly_rate = 100\ncurrency = \"USD\"\nhours_per_day = 6\n")
        .unwrap();
    let config = scratch.path("fulcrum.toml");
    let mut args = vec!["brief", "--service", "shop", "--config", s(&config)];
    args.extend(WINDOW);
    let brief = json(&args, &db);
    let mut flow_args = vec!["flow", "--service", "shop"];
    flow_args.extend(WINDOW);
    let flow = json(&flow_args, &db);
    let mut report_args = vec!["report", "--service", "shop"];
    report_args.extend(WINDOW);
    let report = json(&report_args, &db);
    assert_eq!(brief["scope"], "shop");
    assert_eq!((brief["since"].as_str(), brief["until"].as_str()), (Some("2025-01-01"), Some("2025-01-31")));

    // Waiting for review: the flow rows' pickup, summed, in 6-hour days, at 100 USD an hour.
    let pickups: Vec<f64> = flow["rows"].as_array().unwrap().iter().filter_map(|r| r["pickup"].as_f64()).collect();
    let hours = pickups.iter().sum::<f64>() / 3600.0;
    let review = finding(&brief, "Waiting for review");
    assert_eq!(review["kind"], "cost");
    assert_eq!(review["figure"].as_f64().unwrap(), (hours / 6.0 * 10.0).round() / 10.0);
    let sentence = review["sentence"].as_str().unwrap();
    assert!(sentence.contains(&format!("{} merged changes waited {hours:.0} hours", pickups.len())), "{sentence}");
    assert!(sentence.contains(&format!("{} USD at 100 USD an hour", (hours * 100.0).round())), "{sentence}");
    assert!(review["source"].as_str().unwrap().contains("rows[].pickup"));

    // Failed deployments: the report's, with the hours until each recovered.
    let failed: Vec<&serde_json::Value> =
        report["deployments"].as_array().unwrap().iter().filter(|d| d["failed"] == true).collect();
    let degraded: f64 = failed
        .iter()
        .filter_map(|d| Some((d["recovered_at"].as_i64()? - d["finished_at"].as_i64()?) as f64 / 3600.0))
        .sum();
    let failures = finding(&brief, "Failed deployments");
    assert_eq!(failures["figure"].as_f64().unwrap(), (degraded * 10.0).round() / 10.0);
    let cfr = &report["dora"]["change_failure_rate"]["value"];
    assert!(
        failures["sentence"]
            .as_str()
            .unwrap()
            .contains(&format!("{} of {} deployments failed", cfr["failed_deployments"], cfr["deployments"])),
        "{failures}"
    );

    // The bottleneck: halving its median, at the window's pace per quarter.
    let bottleneck = &flow["bottleneck"]["value"];
    let stage = bottleneck["stage"].as_str().unwrap();
    let halve = finding(&brief, &format!("Halve {stage} time"));
    let merged = flow["rows"].as_array().unwrap().len() as f64;
    let expected = (bottleneck["median"].as_f64().unwrap() / 2.0 / 3600.0 * merged * 91.0 / 31.0 / 6.0).round();
    assert_eq!(halve["figure"].as_f64().unwrap(), expected);
    // Without a repository there is no knowledge risk, and the brief says so.
    assert!(brief["caveats"].to_string().contains("Knowledge risk needs a git repository"), "{brief}");
    assert!(!brief.to_string().contains("ann") && !brief.to_string().contains("bob"), "no person is named");

    // A deadline asked for: the forecast's odds, carried as a finding.
    let mut with_deadline = args.clone();
    with_deadline.extend(["--items", "2", "--deadline", "2025-03-31"]);
    let brief = json(&with_deadline, &db);
    let forecast = json(&["forecast", "--service", "shop", "--items", "2", "--deadline", "2025-03-31"], &db);
    let odds = finding(&brief, "The date asked for");
    let probability = forecast["deadline"]["probability"].as_f64().unwrap();
    assert!(probability > 0.0 && probability < 1.0, "{forecast}");
    assert_eq!(odds["figure"].as_f64().unwrap(), (probability * 1000.0).round() / 10.0);
    let sentence = odds["sentence"].as_str().unwrap();
    assert!(sentence.contains(&format!("by 2025-03-31 has a {:.0}% chance", probability * 100.0)), "{sentence}");
    assert!(
        sentence.contains(&format!("85% needs until {}", forecast["deadline"]["date_for_85"].as_str().unwrap())),
        "{sentence}"
    );

    // Markdown says the same in sentences, with the formulas.
    let mut md_args = args.clone();
    md_args.extend(["--db", s(&db)]);
    let md = fulcrum(md_args).ok().stdout;
    assert!(md.starts_with("# Delivery brief: shop, 2025-01-01 – 2025-01-31\n"), "{md}");
    assert!(md.contains("## Cost of waiting") && md.contains("## Risk") && md.contains("## Opportunity"), "{md}");
    assert!(md.contains(review["sentence"].as_str().unwrap()), "{md}");
}

#[test]
fn with_a_repository_the_brief_names_the_knowledge_risk_and_the_hotspots() {
    let scratch = Scratch::new("brief_repo");
    let (team, db) = (repo("team"), scratch.db());
    sync(&team, &db);
    let brief = json(&["brief", "--repo", s(&team), "--no-sync", "--since", "2.years", "--deploy-mode", "trunk"], &db);
    let knowledge = json(&["knowledge", "--repo", s(&team), "--no-sync"], &db);
    let top = knowledge["key_people"][0]["person"]["email"].as_str().unwrap();
    let leaving = json(&["knowledge", "--repo", s(&team), "--no-sync", "--leaving", top], &db);
    let departure = &leaving["departure"];
    // The directory that loses most (of those with 3 files or more).
    let worst = departure["directories"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d[2].as_u64().unwrap() >= 3)
        .max_by(|a, b| {
            let share = |d: &serde_json::Value| d[1].as_f64().unwrap() / d[2].as_f64().unwrap();
            share(a).total_cmp(&share(b))
        })
        .unwrap();
    let risk = finding(&brief, "Knowledge in one head");
    let share = worst[1].as_f64().unwrap() / worst[2].as_f64().unwrap();
    assert_eq!(risk["figure"].as_f64().unwrap(), (share * 1000.0).round() / 10.0);
    let sentence = risk["sentence"].as_str().unwrap();
    assert!(
        sentence.contains(&format!(
            "of `{}/` ({} of {} files) has no remaining author",
            worst[0].as_str().unwrap(),
            worst[1],
            worst[2]
        )),
        "{sentence}"
    );
    assert!(sentence.contains(&format!("The truck factor is {}", leaving["truck_factor"])), "{sentence}");
    assert!(!sentence.contains(top), "the person is not named");
    let hotspots = json(&["hotspots", "--repo", s(&team), "--no-sync", "--since", "2.years"], &db);
    let spots = finding(&brief, "Code that changes most");
    assert_eq!(spots["figure"].as_f64(), hotspots["hotspots"][0]["score"].as_f64());
    assert!(spots["sentence"].as_str().unwrap().contains(hotspots["hotspots"][0]["path"].as_str().unwrap()));
}

/// The HTML file opens in a real browser without a console message, draws
/// its chart, and prints to a PDF of one page; without `--output` a PDF is
/// refused.
#[test]
fn the_html_brief_renders_and_prints_to_one_page() {
    let scratch = Scratch::new("brief_html");
    let db = scratch.db();
    std::fs::write(scratch.path("events.jsonl"), crate::events::EVENTS).unwrap();
    fulcrum(["import", s(&scratch.path("events.jsonl")), "--db", s(&db)]).ok();
    let html = scratch.path("brief.html");
    let mut args = vec!["brief", "--service", "shop", "--db", s(&db), "--format", "html", "--output", s(&html)];
    args.extend(WINDOW);
    fulcrum(args).ok();
    let mut browser = crate::browser::Browser::start(&scratch);
    browser.open(&format!("file://{}", html.display()));
    assert_eq!(browser.eval("document.querySelectorAll('svg rect').length"), 5, "a bar per week of January");
    assert_eq!(browser.eval("document.scripts.length"), 0);
    assert!(browser.eval("document.querySelectorAll('[data-finding]').length").as_u64().unwrap() >= 3);
    browser.eval("1");
    assert!(browser.logged.is_empty(), "{:?}", browser.logged);
    drop(browser);

    let pdf = scratch.path("brief.pdf");
    let mut args = vec!["brief", "--service", "shop", "--db", s(&db), "--format", "pdf", "--output", s(&pdf)];
    args.extend(WINDOW);
    fulcrum(args).ok();
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF-"), "a PDF");
    let text = String::from_utf8_lossy(&bytes);
    let pages = text.matches("/Type /Page").count() - text.matches("/Type /Pages").count();
    assert_eq!(pages, 1, "one page");
    let mut args = vec!["brief", "--service", "shop", "--db", s(&db), "--format", "pdf"];
    args.extend(WINDOW);
    fulcrum(args).bad_input(&["--format pdf needs --output FILE.pdf"]);
}
