//! Property tests of the core: arbitrary windows and arbitrary event times
//! (years before 1970's data to centuries ahead, out of order, duplicated)
//! never make a computation panic, and every duration reported is
//! non-negative and every rate lies in 0..1.
//!
//! The cases come from a seeded generator (SplitMix64), so a failure names
//! its seed and replays exactly; no dependency is needed for that.

use crate::deployments::attribute;
use crate::dora::{DoraInput, DoraOptions, DoraReport, Metric, PrChange, compute};
use crate::failures::infer;
use crate::flow::{ActivityKind, FlowInput, FlowOptions, PrCommit, PullRequest, ReviewActivity, flow};
use crate::incidents::{Incident, link};
use crate::model::{Commit, Deployment, Instant, Person};
use crate::stats::Summary;
use crate::testing::{commit, deployment};
use crate::time::Window;

/// SplitMix64: small, fast, and good enough to spread test cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// An instant: mostly near `base`, sometimes wildly far (the year 2205,
    /// before the base, exactly on it).
    fn instant(&mut self, base: Instant) -> Instant {
        const DAY: i64 = 86_400;
        match self.below(10) {
            0 => base + 80 * 365 * DAY + self.below(400 * DAY as u64) as i64,
            1 => base - self.below(3 * 365 * DAY as u64) as i64,
            2 => base,
            _ => base + self.below(400 * DAY as u64) as i64,
        }
    }
}

/// 2020-01-01 00:00 UTC.
const BASE: Instant = 1_577_836_800;

struct Case {
    commits: Vec<Commit>,
    deployments: Vec<Deployment>,
    incidents: Vec<Incident>,
    prs: Vec<PullRequest>,
    window: Window,
}

fn case(rng: &mut Rng) -> Case {
    let n = 1 + rng.below(40) as usize;
    let mut commits: Vec<Commit> = Vec::with_capacity(n);
    for i in 0..n {
        let id = format!("c{i}");
        let mut parents = Vec::new();
        if i > 0 {
            parents.push(format!("c{}", rng.below(i as u64)));
            if i > 1 && rng.chance(15) {
                parents.push(format!("c{}", rng.below(i as u64)));
            }
        }
        let parents: Vec<&str> = parents.iter().map(String::as_str).collect();
        let mut c = commit(&id, &parents, rng.instant(BASE));
        if rng.chance(10) && i > 0 {
            c.reverts = Some(format!("c{}", rng.below(i as u64)));
        }
        if rng.chance(10) {
            c.subject = "hotfix: something".into();
        }
        if rng.chance(10) {
            c.author.email = "bot[bot]@example.com".into();
        }
        commits.push(c);
    }
    let deployments: Vec<Deployment> = (0..rng.below(12))
        .map(|d| deployment(&format!("v{d}"), &format!("c{}", rng.below(n as u64 + 2)), rng.instant(BASE)))
        .collect();
    let incidents = (0..rng.below(6))
        .map(|i| {
            let started_at = rng.instant(BASE);
            Incident {
                id: format!("i{i}"),
                service: "app".into(),
                started_at,
                // Resolved before it started, sometimes: sources get that wrong.
                resolved_at: rng.chance(70).then(|| started_at + rng.below(20 * 86_400) as i64 - 86_400),
                deployment: rng.chance(20).then(|| format!("git:tag:v{}", rng.below(12))),
                commit: rng.chance(20).then(|| format!("c{}", rng.below(n as u64))),
                pull_request_commit: None,
            }
        })
        .collect();
    let mut prs = Vec::new();
    for p in 0..rng.below(10) {
        let created_at = rng.instant(BASE);
        let merged_at = rng.chance(80).then(|| rng.instant(BASE));
        prs.push(PullRequest {
            id: format!("pr{p}"),
            repo: "app".into(),
            number: p,
            author: "ann".into(),
            created_at,
            ready_at: rng.chance(30).then(|| rng.instant(BASE)),
            draft: rng.chance(20),
            merged_at,
            closed_at: merged_at,
            merge_commit: merged_at.map(|_| format!("c{}", rng.below(n as u64 + 1))),
            additions: rng.below(5000),
            deletions: 0,
            size_unknown: false,
            commits: vec![PrCommit { sha: format!("c{p}"), author: "ann".into(), authored_at: rng.instant(BASE) }],
            activities: vec![
                ReviewActivity { author: "bob".into(), at: rng.instant(BASE), kind: ActivityKind::Review },
                ReviewActivity { author: "ci-bot".into(), at: rng.instant(BASE), kind: ActivityKind::Comment },
            ],
            updated_at: None,
        });
    }
    let start = rng.instant(BASE) - 200 * 86_400;
    let length = match rng.below(6) {
        0 => 1 + rng.below(86_400) as i64,
        1 => 1 + rng.below(120 * 365 * 86_400) as i64,
        _ => 1 + rng.below(2 * 365 * 86_400) as i64,
    };
    Case { commits, deployments, incidents, prs, window: Window { start, end: start + length } }
}

fn check_summary(seed: u64, what: &str, s: &Summary) {
    for value in [s.median, s.p75, s.p90] {
        assert!(value.is_finite() && value >= 0.0, "seed {seed}: {what} summary {s:?}");
    }
}

fn check_dora(seed: u64, report: &DoraReport) {
    if let Metric::Value(f) = &report.deployment_frequency {
        assert!(f.per_day >= 0.0 && f.deployment_days_per_week >= 0.0, "seed {seed}: {f:?}");
    }
    if let Metric::Value(l) = &report.lead_time {
        check_summary(seed, "lead time", &l.summary);
    }
    if let Metric::Value(r) = &report.recovery_time {
        check_summary(seed, "recovery time", &r.summary);
    }
    for (rate, interval) in [
        report.change_failure_rate.value().map(|c| (c.rate, c.interval)),
        report.rework_rate.value().map(|r| (r.rate, r.interval)),
    ]
    .into_iter()
    .flatten()
    {
        assert!((0.0..=1.0).contains(&rate), "seed {seed}: rate {rate}");
        assert!(0.0 <= interval[0] && interval[0] <= rate + 1e-12, "seed {seed}: {interval:?} of {rate}");
        assert!(rate <= interval[1] + 1e-12 && interval[1] <= 1.0, "seed {seed}: {interval:?} of {rate}");
    }
    for week in &report.weekly {
        assert!(week.median_lead_time.is_none_or(|m| m >= 0.0), "seed {seed}: {week:?}");
    }
    assert!(report.weekly.len() <= crate::dora::TREND_WEEKS, "seed {seed}: {} weeks", report.weekly.len());
}

#[test]
fn arbitrary_windows_and_event_times_never_panic_or_go_negative() {
    for seed in 0..400 {
        let mut rng = Rng(seed);
        let Case { commits, deployments, incidents, prs, window } = case(&mut rng);
        let attribution = attribute(&commits, &deployments);
        let is_hotfix = |c: &Commit| c.subject.starts_with("hotfix");
        let inference = infer(&commits, &attribution, &is_hotfix);
        let index = |id: &str| commits.iter().position(|c| c.id == id);
        let links = link(&incidents, &deployments, &attribution, &index, 7 * 86_400);
        let is_bot = |p: &Person| p.email.contains("[bot]");
        let changes: Vec<PrChange> = prs
            .iter()
            .filter_map(|pr| {
                Some(PrChange {
                    first_commit_at: pr.commits[0].authored_at,
                    merge_commit: index(pr.merge_commit.as_deref()?)?,
                    merged_at: pr.merged_at?,
                    bot: false,
                })
            })
            .collect();
        let options = DoraOptions { min_deployments: 3, min_changes: 3, min_recoveries: 2, ..DoraOptions::default() };
        for (failures, rework, changes) in
            [(&inference.failures, &inference.rework, None), (&links.failures, &links.rework, Some(changes.as_slice()))]
        {
            let input = DoraInput {
                commits: &commits,
                deployments: &deployments,
                attribution: &attribution,
                failures,
                rework,
                is_bot: &is_bot,
                changes,
                history: true,
                left_out_start: None,
            };
            check_dora(seed, &compute(&input, window, &options));
        }

        let deployed_at = |sha: &str| {
            let c = index(sha)?;
            attribution.first_shipping(c).map(|d| deployments[d].finished_at)
        };
        let is_bot_login = |login: &str| login.ends_with("-bot");
        let input =
            FlowInput { prs: &prs, deployments: &deployments, deployed_at: &deployed_at, is_bot: &is_bot_login };
        let now = rng.instant(BASE);
        let report = flow(&input, window, now, &FlowOptions::default());
        for stage in [&report.coding, &report.pickup, &report.review, &report.deploy, &report.cycle] {
            if let Metric::Value(stats) = stage {
                check_summary(seed, "flow stage", &stats.summary);
            }
        }
        for row in &report.rows {
            for span in [row.coding, row.pickup, row.review, row.deploy, row.cycle].into_iter().flatten() {
                assert!(span >= 0, "seed {seed}: {row:?}");
            }
        }
        for stale in &report.stale {
            assert!(stale.idle >= 0, "seed {seed}: {stale:?}");
        }
    }
}

#[test]
fn data_that_starts_after_the_window_is_no_data_not_a_panic() {
    // One deployment dated 2205 and a window in 2025 (the reported crash).
    let far = BASE + 185 * 365 * 86_400;
    let commits = [commit("a", &[], far)];
    let deployments = [deployment("v1", "a", far)];
    let attribution = attribute(&commits, &deployments);
    let is_bot = |_: &Person| false;
    let input = DoraInput {
        commits: &commits,
        deployments: &deployments,
        attribution: &attribution,
        failures: &[],
        rework: &[false],
        is_bot: &is_bot,
        changes: None,
        history: true,
        left_out_start: None,
    };
    let window = Window { start: BASE, end: BASE + 90 * 86_400 };
    let report = compute(&input, window, &DoraOptions::default());
    match &report.deployment_frequency {
        Metric::NoData { reason } => assert!(reason.contains("after the window ends"), "{reason}"),
        other => panic!("measured {other:?}"),
    }
}
