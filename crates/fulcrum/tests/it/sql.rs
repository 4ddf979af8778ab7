//! The SQL interface: every query of the Grafana dashboard in the
//! repository (`grafana/fulcrum.json`) runs on the suite's backend, agrees
//! with `fulcrum report` and `fulcrum flow` where they measure the same
//! thing, and (on a PostgreSQL run) gives the same rows on SQLite.

use serde_json::Value;

use crate::harness::*;

/// `(refId, SQL)` of every panel's target.
fn dashboard_queries() -> Vec<(String, String)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../grafana/fulcrum.json");
    let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut out = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            out.push((target["refId"].as_str().unwrap().to_owned(), target["rawSql"].as_str().unwrap().to_owned()));
        }
    }
    out
}

/// A query with Grafana's time-range macros replaced by `[from, to)`.
fn bind(sql: &str, from: i64, to: i64) -> String {
    sql.replace("$__unixEpochFrom()", &from.to_string()).replace("$__unixEpochTo()", &to.to_string())
}

/// The imported events and a `shop` team, on `db` (a `--db` path, or a
/// `FULCRUM_DB` value when `env` is set).
fn fill(scratch: &Scratch, args_db: &[&str], env_db: Option<&str>) {
    let events = scratch.path("events.jsonl");
    std::fs::write(&events, crate::events::EVENTS).unwrap();
    let config = scratch.path("teams.toml");
    std::fs::write(&config, "[[team]]\nname = \"shop-team\"\nservices = [\"shop\"]\n").unwrap();
    for args in [vec!["import", s(&events)], vec!["org", "--config", s(&config), "--since", "2025-01-01"]] {
        let mut all: Vec<&str> = args_db.to_vec();
        all.extend(args);
        let mut command = command(all);
        if let Some(db) = env_db {
            command.env("FULCRUM_DB", db);
        }
        let run = run(&mut command);
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
}

#[test]
fn the_dashboard_queries_agree_with_the_reports() {
    let scratch = Scratch::new("sql_dashboard");
    let db = scratch.db();
    fill(&scratch, &["--db", s(&db)], None);
    let (from, to) = (utc("2025-01-01 00:00"), utc("2025-03-01 00:00"));
    let conn = open_db(&db);
    let queries = dashboard_queries();
    assert!(queries.len() >= 8, "{queries:?}");
    let results: Vec<(String, Vec<Vec<Cell>>)> =
        queries.iter().map(|(id, sql)| (id.clone(), conn.rows(&bind(sql, from, to)))).collect();
    let result = |id: &str| &results.iter().find(|(r, _)| r == id).unwrap().1;
    let one = |id: &str| match &result(id)[0][0] {
        Cell::Int(n) => *n,
        other => panic!("{id}: {other:?}"),
    };
    let window = ["--since", "2025-01-01", "--until", "2025-03-01", "--format", "json"];
    let report = fulcrum([&["report", "--db", s(&db)][..], &window].concat()).ok().json();
    let flow = fulcrum([&["flow", "--db", s(&db)][..], &window].concat()).ok().json();
    // Deployments: the successful production ones the report counts (3 of 5 events).
    assert_eq!(one("deployments"), report["dora"]["deployment_frequency"]["value"]["deployments"].as_i64().unwrap());
    assert_eq!(one("deployments"), 3);
    let weekly: i64 = result("weekly").iter().map(|row| if let Cell::Int(n) = row[1] { n } else { 0 }).sum();
    assert_eq!(weekly, 3);
    // Pull requests merged in the window: flow's rows.
    let rows = flow["rows"].as_array().unwrap();
    assert_eq!(one("merged"), rows.len() as i64);
    // Lead times: each deployed pull request's cycle in flow (first commit to deployment).
    let mut cycles: Vec<i64> = rows.iter().filter_map(|r| r["cycle"].as_f64()).map(|c| c as i64).collect();
    cycles.sort_unstable();
    let lead: Vec<i64> = result("lead_time").iter().map(|r| if let Cell::Int(n) = r[2] { n } else { -1 }).collect();
    assert_eq!(lead, cycles, "changes_v1 against flow");
    assert!(!lead.is_empty());
    // INC-1, 17:00 to 20:00; the shop team's three deployments.
    assert_eq!(one("incidents"), 1);
    assert_eq!(result("restore")[0][3], Cell::Int(3 * 3600));
    let team: i64 = result("teams")
        .iter()
        .map(|row| {
            assert_eq!(row[1], Cell::Text("shop-team".into()));
            if let Cell::Int(n) = row[2] { n } else { 0 }
        })
        .sum();
    assert_eq!(team, 3);
    // No panel shows a person.
    for (id, rows) in &results {
        for row in rows {
            for cell in row {
                for person in ["ann", "bob", "carol", "dave"] {
                    assert_ne!(cell, &Cell::Text(person.into()), "{id} shows {person}");
                }
            }
        }
    }
    // On a PostgreSQL run, the same queries on an SQLite file give the same rows.
    if postgres().is_some() {
        let sqlite = scratch.path("same.sqlite");
        fill(&scratch, &[], Some(s(&sqlite)));
        let file = TestDb::Sqlite(
            rusqlite::Connection::open_with_flags(&sqlite, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap(),
        );
        for (id, sql) in &queries {
            assert_eq!(&file.rows(&bind(sql, from, to)), result(id), "{id} differs between the backends");
        }
    }
}
