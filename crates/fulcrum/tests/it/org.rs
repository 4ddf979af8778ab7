//! Teams and the organisation: `[[team]]`, `--team NAME` on `report` and
//! `flow`, and `fulcrum org`, each team's row the same as its own report,
//! the total the sum of its parts, and nobody named.

use serde_json::Value;

use crate::harness::*;

/// Three teams: two own a git repository each (trunk mode, so both
/// deploy), one owns the `shop` service of the imported events.
fn organisation(test: &str) -> (Scratch, std::path::PathBuf) {
    let scratch = Scratch::new(test);
    std::fs::write(scratch.path("events.jsonl"), crate::events::EVENTS).unwrap();
    fulcrum(["import", s(&scratch.path("events.jsonl")), "--db", s(&scratch.db())]).ok();
    let config = scratch.path("org.toml");
    std::fs::write(
        &config,
        format!(
            "[deploy]\nmode = \"trunk\"\n\n\
             [[team]]\nname = \"delivery-team\"\nrepositories = [\"{}\"]\nmembers = [\"alice@fulcrum.example\", \"bob\"]\n\n\
             [[team]]\nname = \"platform\"\nrepositories = [\"{}\"]\nmembers = [\"carol\"]\n\n\
             [[team]]\nname = \"shop\"\nservices = [\"shop\"]\nmembers = [\"ann\", \"bob\"]\n",
            s(&repo("delivery")),
            s(&repo("team"))
        ),
    )
    .unwrap();
    (scratch, config)
}

const WINDOW: [&str; 4] = ["--since", "2025-01-01", "--until", "2025-03-01"];

fn json(scratch: &Scratch, config: &std::path::Path, args: &[&str]) -> Value {
    let db = scratch.db();
    let mut all = vec!["--db", s(&db), "--config", s(config)];
    all.extend_from_slice(args);
    all.extend_from_slice(&WINDOW);
    all.extend_from_slice(&["--format", "json"]);
    fulcrum(all).ok().json()
}

fn row<'a>(view: &'a Value, team: &str) -> &'a Value {
    view["teams"].as_array().unwrap().iter().find(|r| r["team"] == team).unwrap()
}

/// Every figure of an organisation row against the report and the flow of
/// the same scope (the view reads its events once and selects each row's
/// share in memory: the share must be what the scope's own read gives).
fn assert_row_is(row: &Value, report: &Value, flow: &Value, what: &str) {
    let dora = &report["dora"];
    let value = |key: &str, field: &[&str]| {
        let mut v = &dora[key]["value"];
        for f in field {
            v = &v[*f];
        }
        v.clone()
    };
    assert_eq!(row["deployments"], value("deployment_frequency", &["deployments"]), "{what}: {row}");
    assert_eq!(row["deployments_per_week"], value("deployment_frequency", &["per_week"]), "{what}");
    assert_eq!(row["lead_time"], value("lead_time", &["summary", "median"]), "{what}");
    assert_eq!(row["change_failure_rate"], value("change_failure_rate", &["rate"]), "{what}");
    assert_eq!(row["recovery_time"], value("recovery_time", &["summary", "median"]), "{what}");
    assert_eq!(row["rework_rate"], value("rework_rate", &["rate"]), "{what}");
    let bottleneck = &flow["bottleneck"]["value"];
    if bottleneck.is_null() {
        assert!(row["bottleneck"].is_null(), "{what}: {row}");
    } else {
        assert_eq!(row["bottleneck"][0], bottleneck["stage"], "{what}");
        assert_eq!(row["bottleneck"][1], bottleneck["median_share"], "{what}");
    }
    assert_eq!(row["merged_pull_requests"], flow["cycle"]["value"]["summary"]["count"], "{what}: {flow}");
}

#[test]
fn each_team_row_is_its_own_report_and_the_total_adds_up() {
    let (scratch, config) = organisation("org_rows");
    let view = json(&scratch, &config, &["org"]);
    assert_eq!(view["teams"].as_array().unwrap().len(), 3, "{view}");
    let mut sum = 0;
    for team in ["delivery-team", "platform", "shop"] {
        let report = json(&scratch, &config, &["report", "--team", team, "--no-knowledge"]);
        let flow = json(&scratch, &config, &["flow", "--team", team]);
        let row = row(&view, team);
        assert_row_is(row, &report, &flow, team);
        sum += row["deployments"].as_u64().unwrap();
    }
    assert!(sum > 0);
    assert_eq!(view["organisation"]["deployments"], sum, "{}", view["organisation"]);
    // The organisation's row is the report of one team holding everything.
    let everyone = scratch.path("everyone.toml");
    std::fs::write(
        &everyone,
        format!(
            "[deploy]\nmode = \"trunk\"\n\n[[team]]\nname = \"everyone\"\nrepositories = [\"{}\", \"{}\"]\n\
             services = [\"shop\"]\n",
            s(&repo("delivery")),
            s(&repo("team"))
        ),
    )
    .unwrap();
    let report = json(&scratch, &everyone, &["report", "--team", "everyone", "--no-knowledge"]);
    let flow = json(&scratch, &everyone, &["flow", "--team", "everyone"]);
    assert_row_is(&view["organisation"], &report, &flow, "organisation");
    // A team of one repository reports as that repository does.
    let platform = json(&scratch, &config, &["report", "--team", "platform", "--no-knowledge"]);
    let plain = json(&scratch, &config, &["report", "--repo", s(&repo("team")), "--no-knowledge"]);
    assert_eq!(platform["dora"], plain["dora"]);
    // The truck factor of a team is its repository's.
    let db = scratch.db();
    let knowledge =
        fulcrum(["knowledge", "--db", s(&db), "--repo", s(&repo("team")), "--no-sync", "--format", "json"]).ok().json();
    assert_eq!(row(&view, "platform")["truck_factor"][0], knowledge["truck_factor"]);
    // The shop's flow: its pull requests and their bottleneck.
    let flow = json(&scratch, &config, &["flow", "--team", "shop"]);
    let by_service = json(&scratch, &config, &["flow", "--service", "shop"]);
    assert_eq!(flow["cycle"], by_service["cycle"]);
    assert_eq!(row(&view, "shop")["bottleneck"][0], flow["bottleneck"]["value"]["stage"]);
    // A forecast of the team says whose it is.
    let forecast = fulcrum([
        "forecast",
        "--db",
        s(&db),
        "--config",
        s(&config),
        "--team",
        "shop",
        "--items",
        "5",
        "--no-sync",
        "--format",
        "json",
    ])
    .ok()
    .json();
    assert_eq!(forecast["scope"], "team shop", "{forecast}");
    // The brief of a team: its figures, and knowledge where it has one repository.
    let brief = |team: &str| {
        fulcrum([
            "brief",
            "--db",
            s(&db),
            "--config",
            s(&config),
            "--team",
            team,
            "--no-sync",
            "--since",
            "2025-01-01",
            "--format",
            "json",
        ])
        .ok()
        .json()
    };
    let (shop, platform) = (brief("shop"), brief("platform"));
    assert_eq!(shop["scope"], "team shop", "{shop}");
    assert_eq!(platform["scope"], "team platform");
    assert!(platform.to_string().contains("truck factor"), "{platform}");
    // The shop's pull requests are the only ones: the organisation's flow is theirs.
    assert_eq!(view["organisation"]["bottleneck"], row(&view, "shop")["bottleneck"]);
    assert_eq!(view["organisation"]["merged_pull_requests"], row(&view, "shop")["merged_pull_requests"]);
}

/// Teams of services only: the view converts the organisation's events
/// once and each team selects its own from them (the organisation's row
/// keeps everything a team keeps); the rows are still each team's report
/// and flow, and the organisation's that of one team of every service.
#[test]
fn teams_of_services_select_from_the_organisations_events() {
    let scratch = Scratch::new("org_services");
    std::fs::write(scratch.path("events.jsonl"), crate::events::EVENTS).unwrap();
    fulcrum(["import", s(&scratch.path("events.jsonl")), "--db", s(&scratch.db())]).ok();
    let config = scratch.path("org.toml");
    std::fs::write(
        &config,
        "[[team]]\nname = \"shop\"\nservices = [\"shop\"]\n\n\
         [[team]]\nname = \"others\"\nservices = [\"api\", \"b\"]\n\n\
         [[team]]\nname = \"everyone\"\nservices = [\"shop\", \"api\", \"b\"]\n",
    )
    .unwrap();
    let view = json(&scratch, &config, &["org"]);
    for team in ["shop", "everyone"] {
        let report = json(&scratch, &config, &["report", "--team", team, "--no-knowledge"]);
        let flow = json(&scratch, &config, &["flow", "--team", team]);
        assert_row_is(row(&view, team), &report, &flow, team);
        assert!(row(&view, team)["deployments"].as_u64().unwrap() > 0, "{view}");
    }
    // A team with nothing stored keeps its row, with why (as its report says).
    let others = row(&view, "others");
    assert!(others["deployments"].is_null(), "{others}");
    assert!(others["notes"].to_string().contains("nothing to report"), "{others}");
    let report = json(&scratch, &config, &["report", "--team", "everyone", "--no-knowledge"]);
    let flow = json(&scratch, &config, &["flow", "--team", "everyone"]);
    assert_row_is(&view["organisation"], &report, &flow, "organisation");
    let mut organisation = view["organisation"].clone();
    let mut everyone = row(&view, "everyone").clone();
    for row in [&mut organisation, &mut everyone] {
        row.as_object_mut().unwrap().remove("team");
        row.as_object_mut().unwrap().remove("members");
    }
    assert_eq!(organisation, everyone);
}

#[test]
fn teams_sort_by_any_key_and_nobody_is_named() {
    let (scratch, config) = organisation("org_sort");
    let view = json(&scratch, &config, &["org", "--sort", "deployment_frequency"]);
    let figures: Vec<f64> =
        view["teams"].as_array().unwrap().iter().filter_map(|r| r["deployments_per_week"].as_f64()).collect();
    assert!(figures.len() >= 2 && figures.windows(2).all(|w| w[0] >= w[1]), "{figures:?}");
    let names: Vec<&str> = view["teams"].as_array().unwrap().iter().map(|r| r["team"].as_str().unwrap()).collect();
    let by_name = json(&scratch, &config, &["org"]);
    let sorted: Vec<&str> = by_name["teams"].as_array().unwrap().iter().map(|r| r["team"].as_str().unwrap()).collect();
    assert_eq!(sorted, ["delivery-team", "platform", "shop"]);
    assert_eq!(names.len(), 3);
    for format in ["terminal", "markdown", "json"] {
        let db = scratch.db();
        let out = fulcrum(["org", "--db", s(&db), "--config", s(&config), "--since", "2025-01-01", "--format", format])
            .ok()
            .stdout;
        for person in ["alice", "bob", "carol", "ann", "Dana"] {
            assert!(!out.contains(person), "{format} names {person}:\n{out}");
        }
        assert!(out.contains("organisation"), "{out}");
    }
}

#[test]
fn unknown_teams_and_keys_are_bad_input() {
    let (scratch, config) = organisation("org_bad");
    let db = scratch.db();
    fulcrum(["report", "--db", s(&db), "--config", s(&config), "--team", "nope"])
        .bad_input(&["no team `nope`", "the teams are delivery-team, platform, shop"]);
    fulcrum(["report", "--db", s(&db), "--config", s(&config), "--team", "shop", "--repo", s(&repo("delivery"))])
        .bad_input(&["--team chooses", "drop --repo"]);
    fulcrum(["org", "--db", s(&db), "--config", s(&config), "--sort", "commits"])
        .bad_input(&["--sort", "`commits` is not a column"]);
    let empty = scratch.path("empty.toml");
    std::fs::write(&empty, "[deploy]\nmode = \"trunk\"\n").unwrap();
    fulcrum(["org", "--db", s(&db), "--config", s(&empty)]).bad_input(&["no [[team]] entries"]);
    let twice = scratch.path("twice.toml");
    std::fs::write(&twice, "[[team]]\nname = \"a\"\nservices = [\"x\"]\n[[team]]\nname = \"a\"\nservices = [\"y\"]\n")
        .unwrap();
    fulcrum(["org", "--db", s(&db), "--config", s(&twice)]).bad_input(&["team.a", "two [[team]] entries"]);
    let hollow = scratch.path("hollow.toml");
    std::fs::write(&hollow, "[[team]]\nname = \"a\"\nmembers = [\"x\"]\n").unwrap();
    fulcrum(["org", "--db", s(&db), "--config", s(&hollow)]).bad_input(&["team.a", "needs `repositories`"]);
}

#[test]
fn the_server_answers_the_organisation_and_each_team() {
    use std::sync::Arc;
    let (scratch, config) = organisation("org_server");
    let mut state = crate::server::state(&scratch.db(), &[]);
    let (db, file) = (std::path::PathBuf::from(database(&scratch.db())), config.clone());
    state.context = Arc::new(move || fulcrum::app::Context {
        db: db.clone(),
        config: Some(file.clone()),
        now: utc(&format!("{NOW} 00:00")),
    });
    let db = scratch.db();
    let cli = |args: &[&str]| {
        let mut all = vec!["--db", s(&db), "--config", s(&config)];
        all.extend_from_slice(args);
        fulcrum(all).ok().json()
    };
    let (status, _, body) = crate::server::get(&state, "/api/v1/org?since=2025-01-01&sort=truck_factor");
    assert_eq!(status, 200, "{body}");
    let api: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(api, cli(&["org", "--no-sync", "--since", "2025-01-01", "--sort", "truck_factor", "--format", "json"]));
    let (status, _, body) = crate::server::get(&state, "/api/v1/report?team=shop&since=2025-01-01");
    assert_eq!(status, 200, "{body}");
    let api: Value = serde_json::from_str(&body).unwrap();
    let report = cli(&["report", "--team", "shop", "--since", "2025-01-01", "--format", "json", "--no-sync"]);
    assert_eq!(api["dora"], report["dora"]);
    let (status, _, page) = crate::server::get(&state, "/org?since=2025-01-01&sort=lead_time");
    assert_eq!(status, 200, "{page}");
    for team in ["delivery-team", "platform", "shop", "organisation"] {
        assert!(page.contains(&format!("data-team=\"{team}\"")), "{team} missing:\n{page}");
    }
    assert!(
        page.contains("<option selected>") || page.contains("<option>shop</option>"),
        "the team filter lists the teams"
    );
    for person in ["alice", "bob", "carol", "ann"] {
        assert!(!page.contains(person), "the page names {person}");
    }
    let (status, _, body) = crate::server::get(&state, "/api/v1/org?sort=people");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("sort"), "{body}");
}
