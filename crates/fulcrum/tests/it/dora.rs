//! The DORA keys of the fixture repositories, worked out by hand from the
//! dates in `tests/fixtures/make-repos.sh`. All times UTC.
//!
//! `delivery`, release tags (default pattern; `v1.1.0-rc1` does not match):
//!
//! | deployment | finished           | ships                      | notes |
//! |------------|--------------------|----------------------------|-------|
//! | v1.0.0     | 01-06 12:00 (tag)  | c1, c2                     | baseline: 2 commits not counted |
//! | v1.1.0     | 01-08 12:00 (tag)  | c3, f1, f2, M, c4, c5      | c4 is dependabot's (excluded), M a merge |
//! | v1.2.0     | 01-09 10:00 (c7 committed; lightweight) | c6, c7 | c7 authored 14:00: −4 h, dropped |
//! | v1.3.0     | 01-10 12:00 (tag)  | c8 (reverts c6)            | v1.2.0 failed; recovery 26 h |
//! | v1.4.0     | 01-13 12:00 (tag)  | c9                         | failed: hotfix in the next release |
//! | v1.4.1     | 01-14 11:00 (tag)  | c10 (hotfix)               | recovery of v1.4.0: 23 h |
//!
//! Lead times (deployment − author time): c3 27 h = 97200, f1 26 h = 93600,
//! f2 25 h = 90000, c5 3 h = 10800, c6 1 h = 3600, c8 3 h = 10800,
//! c9 4 h = 14400, c10 2 h = 7200. Sorted: 3600, 7200, 10800, 10800, 14400,
//! 90000, 93600, 97200 (n = 8). Interpolated (rank (n − 1)·p):
//! median at 3.5 = 10800 + 0.5·3600 = 12600; p75 at 5.25 = 90000 + 0.25·3600
//! = 90900; p90 at 6.3 = 93600 + 0.3·3600 = 94680.
//! Recoveries: 82800, 93600 → median 88200, p75 82800 + 0.75·10800 = 90900,
//! p90 82800 + 0.9·10800 = 92520.

use serde_json::Value;

use crate::harness::{Scratch, git_read, repo, report_json, s, utc};

/// The numbers of a report the tables below pin down.
#[derive(Debug, PartialEq)]
struct Keys {
    /// Deployments finished in the window.
    deployments: u64,
    /// Lead time (count, median, p75, p90) in seconds; `None` for no data.
    lead_time: Option<(u64, f64, f64, f64)>,
    /// Bot commits excluded, negative spans dropped, baseline commits.
    excluded: (u64, u64, u64),
    /// Failed deployments of the window.
    failed: u64,
    /// Recovery time (count, median, p75, p90); `None` for no data.
    recovery: Option<(u64, f64, f64, f64)>,
    /// Failed deployments without a fix deployed.
    unrecovered: u64,
    /// Deployments shipping a revert or hotfix.
    rework: u64,
}

fn keys(report: &Value) -> Keys {
    let dora = &report["dora"];
    let summary = |metric: &Value| {
        let s = &metric["value"]["summary"];
        (!s.is_null()).then(|| (s["count"].as_u64().unwrap(), f(&s["median"]), f(&s["p75"]), f(&s["p90"])))
    };
    let lead = &dora["lead_time"]["value"];
    let cfr = &dora["change_failure_rate"]["value"];
    let rework = &dora["rework_rate"]["value"];
    let deployments = dora["deployment_frequency"]["value"]["deployments"].as_u64().unwrap();
    // Every rate is its count over the deployments of the window.
    // (serde_json parses floats to within an ulp, hence the tolerance.)
    assert_eq!(cfr["deployments"].as_u64(), Some(deployments));
    let ratio = |count: &Value| count.as_u64().unwrap() as f64 / deployments as f64;
    assert!((f(&cfr["rate"]) - ratio(&cfr["failed_deployments"])).abs() < 1e-12, "{cfr}");
    assert!((f(&rework["rate"]) - ratio(&rework["rework_deployments"])).abs() < 1e-12, "{rework}");
    Keys {
        deployments,
        lead_time: summary(&dora["lead_time"]),
        excluded: (
            lead["bot_commits_excluded"].as_u64().unwrap_or(0),
            lead["negative_spans_dropped"].as_u64().unwrap_or(0),
            lead["baseline_commits"].as_u64().unwrap_or(0),
        ),
        failed: cfr["failed_deployments"].as_u64().unwrap(),
        recovery: summary(&dora["recovery_time"]),
        unrecovered: dora["recovery_time"]["value"]["unrecovered"].as_u64().unwrap_or(0),
        rework: rework["rework_deployments"].as_u64().unwrap(),
    }
}

fn f(value: &Value) -> f64 {
    value.as_f64().unwrap_or_else(|| panic!("not a number: {value}"))
}

/// `delivery` with the default settings and window (90 days before 2025-03-01).
const DELIVERY: Keys = Keys {
    deployments: 6,
    lead_time: Some((8, 12600.0, 90900.0, 94680.0)),
    excluded: (1, 1, 2),
    failed: 2,
    recovery: Some((2, 88200.0, 90900.0, 92520.0)),
    unrecovered: 0,
    rework: 2,
};

#[test]
fn dora_keys_follow_mode_window_and_conventions() {
    let scratch = Scratch::new("dora_keys");
    let db = scratch.db();
    let check = |name: &str, extra: &[&str], expected: Keys| {
        let report = report_json(&repo(name), &db, extra);
        assert_eq!(keys(&report), expected, "{name} {extra:?}");
    };
    check("delivery", &[], DELIVERY);
    // Only v1.4.0 and v1.4.1 finish on or after 01-13. Lead: c9 14400, c10
    // 7200 → median 10800, p75 7200 + 0.75·7200 = 12600, p90 7200 + 0.9·7200
    // = 13680. v1.4.0's failure and recovery (82800) count; v1.2.0's do not.
    check(
        "delivery",
        &["--since", "2025-01-13"],
        Keys {
            deployments: 2,
            lead_time: Some((2, 10800.0, 12600.0, 13680.0)),
            excluded: (0, 0, 0),
            failed: 1,
            recovery: Some((1, 82800.0, 82800.0, 82800.0)),
            unrecovered: 0,
            rework: 1,
        },
    );
    // --until is exclusive: v1.0.0, v1.1.0, v1.2.0. Lead: 3600, 10800, 90000,
    // 93600, 97200 → median 90000, p75 (rank 3) 93600, p90 (rank 3.6) 93600 +
    // 0.6·3600 = 95760. v1.2.0 failed, but its fix (v1.3.0, 01-10 12:00)
    // finishes after the window: no recovery in the window, and it is not
    // unrecovered either (a fix exists).
    check(
        "delivery",
        &["--until", "2025-01-10"],
        Keys {
            deployments: 3,
            lead_time: Some((5, 90000.0, 93600.0, 95760.0)),
            excluded: (1, 1, 2),
            failed: 1,
            recovery: None,
            unrecovered: 0,
            rework: 0,
        },
    );
    // Lower median: rank floor((n − 1)·p). Lead: [3] 10800, [5] 90000, [6]
    // 93600. Recovery (n = 2): [0] 82800 for all three.
    check(
        "delivery",
        &["--average", "lower-median"],
        Keys {
            lead_time: Some((8, 10800.0, 90000.0, 93600.0)),
            recovery: Some((2, 82800.0, 82800.0, 82800.0)),
            ..DELIVERY
        },
    );
    // Mean: lead 327600 / 8 = 40950, recovery 176400 / 2 = 88200;
    // percentiles stay interpolated.
    check(
        "delivery",
        &["--average", "mean"],
        Keys {
            lead_time: Some((8, 40950.0, 90900.0, 94680.0)),
            recovery: Some((2, 88200.0, 90900.0, 92520.0)),
            ..DELIVERY
        },
    );
    // Without hotfixes, v1.4.0 still fails: v1.4.1 is a quick patch release
    // (23 h later, within failure.patch_window), recovering it in the same
    // 82800 s; the numbers stay the default's.
    check("delivery", &["--hotfix-pattern", "^never$"], DELIVERY);
    // Without patch releases either, only the revert remains: v1.2.0 failed,
    // v1.3.0 is rework.
    let config = scratch.path("no-patches.toml");
    std::fs::write(&config, "[failure]\nhotfix_pattern = '^never$'\npatch_window = \"0\"\n").unwrap();
    check(
        "delivery",
        &["--config", s(&config)],
        Keys { failed: 1, recovery: Some((1, 93600.0, 93600.0, 93600.0)), rework: 1, ..DELIVERY },
    );
    // Trunk mode: every first-parent commit of main is a deployment finished
    // at its committer time: c1, c2, c3, M, c4, c5, c6, c7, c8, c9, c10, c11,
    // c12 (13). c1 is the baseline (1 commit). M ships f1 (13:00 − 10:00 =
    // 10800) and f2 (7200); c4 is the bot's; c7 (committed 10:00, authored
    // 14:00) is dropped; the nine other commits deploy at their author time
    // (0). Sorted: nine 0, 7200, 10800 → median 0, p75 (rank 7.5) 0, p90
    // (rank 9) 7200. Failures: deployment c6, reverted by c8 (01-10 09:00 −
    // 01-09 09:00 = 86400), and deployment c9, hotfixed by c10 (01-14 09:00 −
    // 01-13 08:00 = 90000): median 88200, p75 86400 + 0.75·3600 = 89100, p90
    // 86400 + 0.9·3600 = 89640. Rework: deployments c8 and c10.
    check(
        "delivery",
        &["--deploy-mode", "trunk"],
        Keys {
            deployments: 13,
            lead_time: Some((11, 0.0, 0.0, 7200.0)),
            excluded: (1, 1, 1),
            failed: 2,
            recovery: Some((2, 88200.0, 89100.0, 89640.0)),
            unrecovered: 0,
            rework: 2,
        },
    );
    // notags in trunk mode: three commits authored 09:00, committed 11:00;
    // the first is the baseline, the other two wait 2 h each.
    check(
        "notags",
        &["--deploy-mode", "trunk"],
        Keys {
            deployments: 3,
            lead_time: Some((2, 7200.0, 7200.0, 7200.0)),
            excluded: (0, 0, 1),
            failed: 0,
            recovery: None,
            unrecovered: 0,
            rework: 0,
        },
    );
}

#[test]
fn delivery_report_in_json() {
    let scratch = Scratch::new("delivery_report_in_json");
    let delivery = repo("delivery");
    let report = report_json(&delivery, &scratch.db(), &["--since", "2024-12-01", "--until", "2025-03-01"]);

    let mut top: Vec<&str> = report.as_object().unwrap().keys().map(String::as_str).collect();
    top.sort_unstable();
    assert_eq!(
        top,
        [
            "config_source",
            "deployments",
            "deployments_source",
            "dora",
            "event_sources",
            "failures_source",
            "fulcrum_version",
            "headline",
            "knowledge",
            "lead_time_source",
            "previous",
            "repository",
            "sync",
            "warnings"
        ]
    );
    // The knowledge section joins the report; its numbers are tested in `knowledge`.
    assert!(report["knowledge"]["truck_factor"].is_u64(), "{}", report["knowledge"]);
    assert_eq!(report["fulcrum_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(report["headline"], Value::Null, "deployments in the window: nothing to lead with");
    assert_eq!(report["config_source"], "defaults");
    assert_eq!(report["sync"]["new_commits"], 15);
    assert_eq!(report["sync"]["up_to_date"], false);
    assert_eq!(report["repository"]["path"], s(&delivery.canonicalize().unwrap()));
    assert_eq!(report["repository"]["service"], "delivery");
    assert_eq!(report["repository"]["totals"]["commits"], 15);
    assert_eq!(report["repository"]["totals"]["missing_blobs"], 0);
    assert_eq!(report["repository"]["last_sync_at"], utc("2025-03-01 00:00"));
    assert_eq!(report["repository"]["shallow"], false);

    let dora = &report["dora"];
    assert_eq!(dora["window"]["start"], utc("2024-12-01 00:00"));
    assert_eq!(dora["window"]["end"], utc("2025-03-01 00:00"));
    assert_eq!(dora["average"], "interpolated");
    assert_eq!(dora["benchmark_year"], 2023);
    assert_eq!(keys(&report), DELIVERY);
    // The history starts with c1 on Monday 2025-01-06, so frequency is
    // measured over the 54 days from that week's start to the window's end,
    // not its 90: 6 deployments. Deployment days: 4 in 2025-W02 (Mon 6, Wed 8, Thu 9, Fri
    // 10), 2 in W03, 0 in the other 6 of the 8 ISO weeks W02–W09 → median 0.
    let frequency = &dora["deployment_frequency"]["value"];
    assert!((f(&frequency["per_day"]) - 6.0 / 54.0).abs() < 1e-12);
    assert!((f(&frequency["per_week"]) - 42.0 / 54.0).abs() < 1e-12);
    assert_eq!(f(&frequency["deployment_days_per_week"]), 0.0);
    // Tiers of DORA 2023: ≥ 1 deployment a month but not weekly is medium;
    // a 3.5 h median lead time (< 1 day) is elite; 33% failures is low
    // (> 15%); a 24.5 h median recovery (1 day to 1 week) is medium.
    // With the default minimum samples (10 deployments, 10 changes, 5
    // recoveries) only deployment frequency gets a tier; the rest say why.
    assert_eq!(frequency["tier"], "medium");
    let note = |key: &str| (dora[key]["value"]["tier"].clone(), dora[key]["value"]["tier_note"].clone());
    assert_eq!(note("lead_time"), (Value::Null, "too few to rate (8 changes; at least 10 needed)".into()));
    // Inferred from git: a lower bound, never rated.
    let cfr = &dora["change_failure_rate"]["value"];
    assert_eq!(cfr["lower_bound"], true);
    assert!(cfr["tier_note"].as_str().unwrap().starts_with("not rated: a lower bound inferred from git"));
    assert_eq!(note("recovery_time"), (Value::Null, "too few to rate (2 recoveries; at least 5 needed)".into()));
    assert_eq!(dora["change_failure_rate"]["value"]["failure_source"], "inferred");
    assert_eq!(dora["rework_rate"]["value"]["tier"], Value::Null);
    // 2 of 6: Wilson 95 % interval 9.7 %–70.0 %.
    let interval = &dora["change_failure_rate"]["value"]["interval"];
    assert!((f(&interval[0]) - 0.0968).abs() < 1e-4 && (f(&interval[1]) - 0.7000).abs() < 1e-4, "{interval}");
    // With the minimums lowered to 1 the hand-worked tiers show.
    let config = scratch.path("fulcrum.toml");
    std::fs::write(&config, "[report]\nmin_deployments = 1\nmin_changes = 1\nmin_recoveries = 1\n").unwrap();
    let rated = report_json(
        &delivery,
        &scratch.db(),
        &["--since", "2024-12-01", "--until", "2025-03-01", "--config", s(&config), "--no-sync"],
    );
    let tier = |key: &str| rated["dora"][key]["value"]["tier"].clone();
    assert_eq!(tier("lead_time"), "elite");
    assert_eq!(tier("change_failure_rate"), Value::Null, "a lower bound is never rated");
    assert_eq!(tier("recovery_time"), "medium");

    // Weekly trend: W02 has v1.0.0–v1.3.0 with 6 changes (3600, 10800,
    // 10800, 90000, 93600, 97200 → median 50400), v1.2.0 failed, v1.3.0 is
    // rework; W03 has v1.4.0 (failed) and v1.4.1 (rework) with 14400, 7200.
    let weekly = dora["weekly"].as_array().unwrap();
    assert_eq!(weekly.len(), 14);
    let week = |label: &str| weekly.iter().find(|w| w["week"] == label).unwrap();
    let row = |w: &Value| {
        (
            w["deployments"].as_u64().unwrap(),
            w["changes"].as_u64().unwrap(),
            w["median_lead_time"].as_f64(),
            w["failed_deployments"].as_u64().unwrap(),
            w["rework_deployments"].as_u64().unwrap(),
        )
    };
    assert_eq!(weekly[0]["week"], "2024-W48");
    assert_eq!(weekly[13]["week"], "2025-W09");
    assert_eq!(week("2025-W02")["start"], utc("2025-01-06 00:00"));
    assert_eq!(row(week("2025-W02")), (4, 6, Some(50400.0), 1, 1));
    assert_eq!(row(week("2025-W03")), (2, 2, Some(10800.0), 1, 1));
    assert_eq!(row(week("2025-W04")), (0, 0, None, 0, 0));

    assert_eq!(
        report["warnings"],
        serde_json::json!([
            "the data starts on 2025-01-06: deployment frequency is measured over the 8 weeks since, not the 14 weeks of the window",
            "deployment v1.0.0 is the first of delivery/production: its 2 commits are a baseline, not counted toward lead time",
            "1 commit by bots excluded from lead time",
            "1 change authored after its deployment finished (clock skew) dropped from lead time"
        ])
    );
}

#[test]
fn delivery_deployments_are_the_release_tags() {
    let scratch = Scratch::new("delivery_deployments");
    let delivery = repo("delivery");
    let report = report_json(&delivery, &scratch.db(), &[]);
    let rows: Vec<(String, i64, u64, bool, bool, bool)> = report["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let name = d["name"].as_str().unwrap().to_owned();
            // Each deployment names the commit its tag peels to.
            assert_eq!(d["commit"], git_read(&delivery, &["rev-parse", &format!("{name}^{{commit}}")]));
            (
                name,
                d["finished_at"].as_i64().unwrap(),
                d["commits"].as_u64().unwrap(),
                d["baseline"].as_bool().unwrap(),
                d["failed"].as_bool().unwrap(),
                d["rework"].as_bool().unwrap(),
            )
        })
        .collect();
    let row = |name: &str, at: &str, commits, baseline, failed, rework| {
        (name.to_owned(), utc(at), commits, baseline, failed, rework)
    };
    assert_eq!(
        rows,
        [
            // name, finished (tagger time, or the commit's for lightweight v1.2.0), commits, baseline, failed, rework
            row("v1.4.1", "2025-01-14 11:00", 1, false, false, true),
            row("v1.4.0", "2025-01-13 12:00", 1, false, true, false),
            row("v1.3.0", "2025-01-10 12:00", 1, false, false, true),
            row("v1.2.0", "2025-01-09 10:00", 2, false, true, false),
            row("v1.1.0", "2025-01-08 12:00", 6, false, false, false),
            row("v1.0.0", "2025-01-06 12:00", 2, true, false, false),
        ]
    );
}
