//! The five DORA keys over a window (METRICS.md, "DORA: the five keys"):
//! deployment frequency, lead time for changes, change failure rate, failed
//! deployment recovery time and rework rate, with a weekly trend.
//!
//! Events count in the window of their *completion*: a deployment and its
//! changes when it finishes, a recovery when the fixing deployment finishes.
//! A metric with nothing to measure is [`Metric::NoData`] with a reason,
//! never 0.

use serde::Serialize;

use crate::deployments::Attribution;
use crate::failures::Failure;
use crate::model::{Commit, Deployment, Instant, Person};
use crate::stats::{self, Average, Summary};
use crate::tiers::{BenchmarkYear, Tier};
use crate::time::{self, SECONDS_PER_DAY, SECONDS_PER_WEEK, Window};

/// Everything [`compute`] reads. Indices in `attribution` and `failures`
/// refer to `commits` and `deployments`.
pub struct DoraInput<'a> {
    /// The commit history.
    pub commits: &'a [Commit],
    /// All known deployments (any time; the window selects).
    pub deployments: &'a [Deployment],
    /// From [`crate::deployments::attribute`].
    pub attribution: &'a Attribution,
    /// Failed deployments (from [`crate::failures::infer`] or incidents).
    pub failures: &'a [Failure],
    /// Per deployment: it is rework.
    pub rework: &'a [bool],
    /// Whether a commit author is a bot (excluded from lead time).
    pub is_bot: &'a dyn Fn(&Person) -> bool,
    /// Pull requests, when PR data is present: each is one change, and lead
    /// time is measured per pull request instead of per commit.
    pub changes: Option<&'a [PrChange]>,
    /// Whether `commits` are a real history (their author times mean
    /// something). Without one (commits standing in from events), commits
    /// are never changes: lead time comes from pull requests alone.
    pub history: bool,
    /// The earliest time of data the caller left out of `commits` and
    /// `deployments` (a read for a window), if earlier than theirs: where
    /// the data starts, which weeks before do not count (see
    /// [`Samples::data_start`]).
    pub left_out_start: Option<Instant>,
}

/// A merged pull request as a change (METRICS.md, "Lead time for changes"):
/// from its first commit's author time to the first deployment shipping its
/// merge (or squash) commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrChange {
    /// Author time of its first commit (its creation when no commit is known).
    pub first_commit_at: Instant,
    /// Index of its merge commit in [`DoraInput::commits`].
    pub merge_commit: usize,
    /// When it was merged: a deployment finishing earlier cannot contain it
    /// (a data error, dropped like a negative span).
    pub merged_at: Instant,
    /// Authored by a bot (excluded).
    pub bot: bool,
}

/// What one change is in lead time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeBasis {
    /// A non-merge commit (git only).
    #[default]
    Commits,
    /// A merged pull request.
    PullRequests,
    /// Pull requests where a deployment ships one, the commits of the
    /// deployments that ship none.
    Mixed,
}

/// Knobs of [`compute`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DoraOptions {
    /// Averaging convention of every summary.
    pub average: Average,
    /// Benchmark set used for tiers.
    pub benchmark_year: BenchmarkYear,
    /// Where failures came from, reported beside the change failure rate.
    pub failure_source: FailureSource,
    /// Fewest deployments in the window for the change failure rate to get a tier.
    pub min_deployments: usize,
    /// Fewest changes for lead time to get a tier.
    pub min_changes: usize,
    /// Fewest recoveries for recovery time to get a tier.
    pub min_recoveries: usize,
}

/// Weeks of the trend shown week by week; earlier weeks are grouped by month.
pub const TREND_WEEKS: usize = 52;

/// Evidence behind failed deployments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureSource {
    /// Inferred from git: reverts and hotfixes.
    #[default]
    Inferred,
    /// Incidents linked to deployments.
    Incidents,
}

/// A metric's value, or why there is none.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric<T> {
    /// The metric was measured.
    Value(T),
    /// Nothing to measure; `reason` says why and, where possible, what to do.
    NoData {
        /// Human-readable reason.
        reason: String,
    },
}

impl<T> Metric<T> {
    /// The value, if measured.
    pub fn value(&self) -> Option<&T> {
        match self {
            Metric::Value(value) => Some(value),
            Metric::NoData { .. } => None,
        }
    }
}

/// The DORA report of one window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DoraReport {
    /// The window measured, `[start, end)`.
    pub window: Window,
    /// Averaging convention of every summary.
    pub average: Average,
    /// Report year of the benchmarks behind every tier.
    pub benchmark_year: BenchmarkYear,
    /// Citation of those benchmarks.
    pub benchmark_source: &'static str,
    /// Deployment frequency.
    pub deployment_frequency: Metric<DeploymentFrequency>,
    /// Lead time for changes.
    pub lead_time: Metric<LeadTime>,
    /// Change failure rate.
    pub change_failure_rate: Metric<ChangeFailureRate>,
    /// Failed deployment recovery time.
    pub recovery_time: Metric<RecoveryTime>,
    /// Rework rate.
    pub rework_rate: Metric<ReworkRate>,
    /// One row per ISO week of the window's last [`TREND_WEEKS`] weeks, in order.
    pub weekly: Vec<WeekTrend>,
    /// Weeks before those, one row per calendar month of their Mondays, in
    /// order (empty for windows of up to a year).
    pub monthly: Vec<MonthTrend>,
    /// Every week of the window grouped by the month of its Monday (for
    /// readers of long or sparse windows).
    pub by_month: Vec<MonthTrend>,
    /// What the trend shows, when it is not every week of the window.
    pub trend_note: Option<String>,
    /// Things the reader should know about the numbers.
    pub warnings: Vec<String>,
    /// What the five keys were computed from ([`keys`] gives them back):
    /// scopes that partition a larger one pool theirs into its keys
    /// ([`Samples::pool`]) instead of measuring it again. Not reported.
    #[serde(skip)]
    pub samples: Samples,
}

/// What a window's five keys are made of, per change, deployment and
/// recovery ([`keys`]). When scopes partition a larger one (each
/// deployment, change and incident in exactly one, no commit shared), the
/// larger one's samples are theirs pooled ([`Samples::pool`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Samples {
    /// The window.
    pub window: Window,
    /// The options the keys are computed with.
    pub options: DoraOptions,
    /// Deployments known, in the window or not.
    pub deployments: usize,
    /// The earliest commit author time or deployment finish, any time.
    pub data_start: Option<Instant>,
    /// The UTC day ([`time::day_number`]) of each deployment finishing in the window.
    pub deployment_days: Vec<i64>,
    /// Lead time of each change counted, seconds.
    pub lead_times: Vec<f64>,
    /// Changes by bots left out.
    pub bots: usize,
    /// Changes with a negative span dropped.
    pub negative_spans: usize,
    /// Commits of baseline deployments finishing in the window.
    pub baseline_commits: usize,
    /// A deployment ships a pull request.
    pub covered: bool,
    /// Commits count as changes somewhere.
    pub commit_changes: bool,
    /// The commits are a real history.
    pub history: bool,
    /// Pull requests are the changes ([`DoraInput::changes`] given).
    pub pull_requests: bool,
    /// Failed deployments finishing in the window.
    pub failed: usize,
    /// Of those, with no fix deployed yet.
    pub unrecovered: usize,
    /// Recovery time of each recovery in the window, seconds.
    pub recoveries: Vec<f64>,
    /// Recoveries ending before their failed deployment, dropped.
    pub negative_recoveries: usize,
    /// Rework deployments finishing in the window.
    pub rework: usize,
}

impl Samples {
    /// The samples of scopes that partition a larger one, as that one's;
    /// `None` when they were measured over different windows or with
    /// different options (their pool then means nothing).
    pub fn pool<'a>(parts: impl IntoIterator<Item = &'a Samples>) -> Option<Samples> {
        let mut parts = parts.into_iter();
        let mut pooled = parts.next()?.clone();
        for part in parts {
            if part.window != pooled.window || part.options != pooled.options || part.history != pooled.history {
                return None;
            }
            pooled.deployments += part.deployments;
            pooled.data_start = match (pooled.data_start, part.data_start) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            pooled.deployment_days.extend_from_slice(&part.deployment_days);
            pooled.lead_times.extend_from_slice(&part.lead_times);
            pooled.bots += part.bots;
            pooled.negative_spans += part.negative_spans;
            pooled.baseline_commits += part.baseline_commits;
            pooled.covered |= part.covered;
            pooled.commit_changes |= part.commit_changes;
            pooled.pull_requests |= part.pull_requests;
            pooled.failed += part.failed;
            pooled.unrecovered += part.unrecovered;
            pooled.recoveries.extend_from_slice(&part.recoveries);
            pooled.negative_recoveries += part.negative_recoveries;
            pooled.rework += part.rework;
        }
        Some(pooled)
    }

    /// Why a key has nothing to measure when no deployment finished in the window.
    fn no_deployments_reason(&self) -> String {
        if self.deployments == 0 {
            "no deployments found: configure `deploy.tag_pattern` or `deploy.ci_pattern`, \
             or use trunk mode"
                .to_string()
        } else {
            format!("no deployment finished in the window ({} outside it)", self.deployments)
        }
    }
}

/// The five keys of a window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Keys {
    /// Deployment frequency.
    pub deployment_frequency: Metric<DeploymentFrequency>,
    /// Lead time for changes.
    pub lead_time: Metric<LeadTime>,
    /// Change failure rate.
    pub change_failure_rate: Metric<ChangeFailureRate>,
    /// Failed deployment recovery time.
    pub recovery_time: Metric<RecoveryTime>,
    /// Rework rate.
    pub rework_rate: Metric<ReworkRate>,
}

/// The five keys of `samples`, as [`compute`] reports them.
pub fn keys(samples: &Samples) -> Keys {
    Keys {
        deployment_frequency: deployment_frequency(samples).0,
        lead_time: lead_time(samples),
        change_failure_rate: change_failure_rate(samples),
        recovery_time: recovery_time(samples),
        rework_rate: rework_rate(samples),
    }
}

/// Deployments per unit of time, with a warning when the data starts
/// after the window does.
fn deployment_frequency(samples: &Samples) -> (Metric<DeploymentFrequency>, Option<String>) {
    let (window, options) = (samples.window, &samples.options);
    let week_starts = window.weeks();
    if samples.deployments == 0 {
        return (Metric::NoData { reason: samples.no_deployments_reason() }, None);
    }
    if week_starts.is_empty() {
        return (Metric::NoData { reason: "the window is empty".to_string() }, None);
    }
    // Weeks before the data starts (a young repository, an import that
    // begins mid-window) are not weeks without deployments: measure from
    // the week of the first commit or deployment.
    let data_start = samples.data_start.unwrap_or(window.start).max(window.start);
    let first_week = week_starts.partition_point(|&start| start + SECONDS_PER_WEEK <= data_start);
    if first_week >= week_starts.len() || data_start >= window.end {
        let reason = format!(
            "the data starts on {}, after the window ends; pass a later --until",
            time::format_date(data_start)
        );
        return (Metric::NoData { reason }, None);
    }
    let warning = (first_week > 0).then(|| {
        format!(
            "the data starts on {}: deployment frequency is measured over the {} since, not the {} of the window",
            time::format_date(data_start),
            count(week_starts.len() - first_week, "week", "weeks"),
            count(week_starts.len(), "week", "weeks"),
        )
    });
    // Every instant in the window falls in one of its weeks (a day's
    // Monday is its instants').
    let week_of = |day: i64| {
        usize::try_from((time::week_start(day * SECONDS_PER_DAY) - week_starts[0]) / SECONDS_PER_WEEK)
            .unwrap_or(0)
            .min(week_starts.len() - 1)
    };
    let mut days_by_week: Vec<Vec<i64>> = vec![Vec::new(); week_starts.len()];
    for &day in &samples.deployment_days {
        days_by_week[week_of(day)].push(day);
    }
    let days_per_week: Vec<f64> = days_by_week[first_week..]
        .iter_mut()
        .map(|days| {
            days.sort_unstable();
            days.dedup();
            days.len() as f64
        })
        .collect();
    let median_days = stats::median(&days_per_week, options.average).unwrap_or(0.0);
    // The rate is over the same weeks as the median: from the Monday the
    // data starts in (or the window's start), so a burst on a repository's
    // first afternoon is not extrapolated from a few hours.
    let measured = (window.end - window.start.max(week_starts[first_week])).max(1);
    let deployments = samples.deployment_days.len();
    let per_day = deployments as f64 * SECONDS_PER_DAY as f64 / measured as f64;
    let benchmarks = options.benchmark_year.benchmarks();
    let frequency = Metric::Value(DeploymentFrequency {
        deployments,
        per_day,
        per_week: per_day * 7.0,
        per_month: per_day * 30.0,
        deployment_days_per_week: median_days,
        tier: benchmarks.deployment_frequency(median_days, per_day * 30.0),
    });
    (frequency, warning)
}

/// Lead time for changes.
fn lead_time(samples: &Samples) -> Metric<LeadTime> {
    let options = &samples.options;
    let basis = match (samples.covered, samples.commit_changes) {
        (false, _) => ChangeBasis::Commits,
        (true, true) => ChangeBasis::Mixed,
        (true, false) => ChangeBasis::PullRequests,
    };
    match stats::summarize(&samples.lead_times, options.average) {
        Some(summary) => {
            let (one, many) = if basis == ChangeBasis::PullRequests {
                ("pull request", "pull requests")
            } else {
                ("change", "changes")
            };
            let tier = options.benchmark_year.benchmarks().lead_time(summary.median);
            let (tier, tier_note) = rated(summary.count, options.min_changes, (one, many), tier);
            Metric::Value(LeadTime {
                summary,
                basis,
                bot_commits_excluded: samples.bots,
                negative_spans_dropped: samples.negative_spans,
                baseline_commits: samples.baseline_commits,
                tier,
                tier_note,
            })
        }
        None if samples.deployment_days.is_empty() => Metric::NoData { reason: samples.no_deployments_reason() },
        None if !samples.history && !samples.pull_requests => Metric::NoData {
            reason: "no git history and no pull requests: lead time needs one of them (pass --repo, import pull \
                     requests, or sync a [[source]])"
                .to_string(),
        },
        None => Metric::NoData {
            reason: format!(
                "no changes deployed in the window ({} excluded, {} dropped, {})",
                count(samples.bots, "bot commit", "bot commits"),
                count(samples.negative_spans, "negative span", "negative spans"),
                count(samples.baseline_commits, "baseline commit", "baseline commits")
            ),
        },
    }
}

/// `n` of the window's deployments, as a rate.
fn rate_of(samples: &Samples, n: usize) -> f64 {
    n as f64 / samples.deployment_days.len() as f64
}

/// Change failure rate.
fn change_failure_rate(samples: &Samples) -> Metric<ChangeFailureRate> {
    let options = &samples.options;
    let deployments = samples.deployment_days.len();
    if deployments == 0 {
        return Metric::NoData { reason: samples.no_deployments_reason() };
    }
    let rate = rate_of(samples, samples.failed);
    let lower_bound = options.failure_source == FailureSource::Inferred;
    let (tier, tier_note) = if lower_bound {
        (None, Some("not rated: a lower bound inferred from git (record incidents for a rated rate)".to_string()))
    } else {
        let tier = options.benchmark_year.benchmarks().change_failure_rate(rate);
        rated(deployments, options.min_deployments, ("deployment", "deployments"), tier)
    };
    Metric::Value(ChangeFailureRate {
        failed_deployments: samples.failed,
        deployments,
        rate,
        interval: stats::wilson(samples.failed, deployments),
        failure_source: options.failure_source,
        lower_bound,
        tier,
        tier_note,
    })
}

/// Failed deployment recovery time.
fn recovery_time(samples: &Samples) -> Metric<RecoveryTime> {
    let options = &samples.options;
    match stats::summarize(&samples.recoveries, options.average) {
        Some(summary) => {
            let tier = options.benchmark_year.benchmarks().recovery_time(summary.median);
            let (tier, tier_note) = rated(summary.count, options.min_recoveries, ("recovery", "recoveries"), tier);
            Metric::Value(RecoveryTime {
                summary,
                unrecovered: samples.unrecovered,
                negative_spans_dropped: samples.negative_recoveries,
                tier,
                tier_note,
            })
        }
        None => Metric::NoData {
            reason: format!("no failed deployment was recovered in the window ({} unrecovered)", samples.unrecovered),
        },
    }
}

/// Rework rate.
fn rework_rate(samples: &Samples) -> Metric<ReworkRate> {
    let deployments = samples.deployment_days.len();
    if deployments == 0 {
        return Metric::NoData { reason: samples.no_deployments_reason() };
    }
    let rate = rate_of(samples, samples.rework);
    Metric::Value(ReworkRate {
        rework_deployments: samples.rework,
        deployments,
        rate,
        interval: stats::wilson(samples.rework, deployments),
        lower_bound: samples.options.failure_source == FailureSource::Inferred,
        tier: samples.options.benchmark_year.benchmarks().rework_rate(rate),
        tier_note: "no published benchmark",
    })
}

/// Deployments per unit of time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeploymentFrequency {
    /// Deployments that finished in the window.
    pub deployments: usize,
    /// Per day of the window (from the data's start when it starts later).
    pub per_day: f64,
    /// Per 7 days.
    pub per_week: f64,
    /// Per 30 days.
    pub per_month: f64,
    /// Median (under the report's convention) over the ISO weeks overlapping
    /// the window, from the week the data starts (first commit or
    /// deployment), of the number of distinct UTC days with a deployment;
    /// weeks without one count as 0. Partial weeks at the window's edges
    /// count as weeks, which biases short windows down.
    pub deployment_days_per_week: f64,
    /// Tier.
    pub tier: Tier,
}

/// Deployment finish − author time, per change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeadTime {
    /// Seconds. Changes are non-merge commits (or merged pull requests, see
    /// `basis`) first shipped by a non-baseline deployment that finished in
    /// the window.
    pub summary: Summary,
    /// What a change is.
    pub basis: ChangeBasis,
    /// Commits by bots left out.
    pub bot_commits_excluded: usize,
    /// Changes authored after their deployment finished (clock skew), left out.
    pub negative_spans_dropped: usize,
    /// Commits of baseline deployments finishing in the window (history
    /// before the data starts, not counted).
    pub baseline_commits: usize,
    /// Tier of the median; `None` below the minimum sample (`tier_note` says so).
    pub tier: Option<Tier>,
    /// Why there is no tier.
    pub tier_note: Option<String>,
}

/// Failed deployments ÷ deployments.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangeFailureRate {
    /// Deployments finishing in the window that failed.
    pub failed_deployments: usize,
    /// Deployments finishing in the window.
    pub deployments: usize,
    /// `failed_deployments / deployments`, in 0..1.
    pub rate: f64,
    /// 95 % Wilson score interval of the rate, `[low, high]`.
    pub interval: [f64; 2],
    /// Where failures came from (`inferred` in git-only mode).
    pub failure_source: FailureSource,
    /// The rate is a lower bound: failures inferred from git find only
    /// those that left a trace (a revert, a hotfix, a quick patch release).
    pub lower_bound: bool,
    /// Tier; `None` below the minimum sample, or for a lower bound
    /// (`tier_note` says so).
    pub tier: Option<Tier>,
    /// Why there is no tier.
    pub tier_note: Option<String>,
}

/// Failed deployment finish → fixing deployment finish.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecoveryTime {
    /// Seconds, over failures whose fixing deployment finished in the window.
    pub summary: Summary,
    /// Failed deployments finishing in the window with no fix deployed yet.
    pub unrecovered: usize,
    /// Recoveries left out because they end before the failed deployment finished.
    pub negative_spans_dropped: usize,
    /// Tier of the median; `None` below the minimum sample (`tier_note` says so).
    pub tier: Option<Tier>,
    /// Why there is no tier.
    pub tier_note: Option<String>,
}

/// Rework deployments ÷ deployments.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReworkRate {
    /// Deployments finishing in the window that are rework.
    pub rework_deployments: usize,
    /// Deployments finishing in the window.
    pub deployments: usize,
    /// `rework_deployments / deployments`, in 0..1.
    pub rate: f64,
    /// 95 % Wilson score interval of the rate, `[low, high]`.
    pub interval: [f64; 2],
    /// The rate is a lower bound (rework found from git traces only).
    pub lower_bound: bool,
    /// Always `None`: no report publishes rework tiers.
    pub tier: Option<Tier>,
    /// Why there is no tier.
    pub tier_note: &'static str,
}

/// One ISO week of the trend (only events inside the window count).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeekTrend {
    /// `2025-W05`.
    pub week: String,
    /// Monday 00:00 UTC.
    pub start: Instant,
    /// Deployments finished.
    pub deployments: usize,
    /// Changes deployed (counted in lead time).
    pub changes: usize,
    /// Median lead time of those changes, seconds; `None` without changes.
    pub median_lead_time: Option<f64>,
    /// Deployments finished this week that failed.
    pub failed_deployments: usize,
    /// Rework deployments finished this week.
    pub rework_deployments: usize,
}

/// One calendar month of the trend (weeks grouped by the month of their Monday).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonthTrend {
    /// `2025-01`.
    pub month: String,
    /// Monday 00:00 UTC of its first week.
    pub start: Instant,
    /// Weeks grouped into it.
    pub weeks: usize,
    /// Deployments finished.
    pub deployments: usize,
    /// Changes deployed (counted in lead time).
    pub changes: usize,
    /// Median lead time of those changes, seconds; `None` without changes.
    pub median_lead_time: Option<f64>,
    /// Deployments finished that failed.
    pub failed_deployments: usize,
    /// Rework deployments finished.
    pub rework_deployments: usize,
}

/// A tier, or none with the reason when the sample is below `min`.
fn rated(sample: usize, min: usize, what: (&str, &str), tier: Tier) -> (Option<Tier>, Option<String>) {
    if sample >= min {
        (Some(tier), None)
    } else {
        (None, Some(format!("too few to rate ({}; at least {min} needed)", count(sample, what.0, what.1))))
    }
}

/// `1 commit`, `2 commits`.
pub fn count(n: usize, singular: &str, plural: &str) -> String {
    format!("{n} {}", if n == 1 { singular } else { plural })
}

/// Computes the DORA report of `window`.
pub fn compute(input: &DoraInput<'_>, window: Window, options: &DoraOptions) -> DoraReport {
    let deployments = input.deployments;
    let attribution = input.attribution;
    let finished = |d: usize| deployments[d].finished_at;
    let in_window: Vec<usize> = (0..deployments.len()).filter(|&d| window.contains(finished(d))).collect();
    let week_starts = window.weeks();
    let first_week_start = week_starts.first().copied().unwrap_or(window.start);
    // Every instant in the window falls in one of its weeks; others are never asked.
    let week_of = |t: Instant| {
        usize::try_from((time::week_start(t) - first_week_start) / SECONDS_PER_WEEK)
            .unwrap_or(0)
            .min(week_starts.len().saturating_sub(1))
    };
    let mut weekly: Vec<WeekTrend> = week_starts
        .iter()
        .map(|&start| WeekTrend {
            week: time::iso_week_label(start),
            start,
            deployments: 0,
            changes: 0,
            median_lead_time: None,
            failed_deployments: 0,
            rework_deployments: 0,
        })
        .collect();
    let mut warnings = Vec::new();
    let mut samples = Samples {
        window,
        options: *options,
        deployments: deployments.len(),
        data_start: input
            .commits
            .iter()
            .map(|c| c.author_time)
            .chain(deployments.iter().map(|d| d.finished_at))
            .chain(input.left_out_start)
            .min(),
        deployment_days: in_window.iter().map(|&d| time::day_number(finished(d))).collect(),
        history: input.history,
        pull_requests: input.changes.is_some(),
        ..Samples::default()
    };

    // Deployment frequency.
    for &d in &in_window {
        weekly[week_of(finished(d))].deployments += 1;
    }
    let (deployment_frequency, late_data) = self::deployment_frequency(&samples);
    warnings.extend(late_data);

    // Lead time for changes.
    let mut spans_by_week: Vec<Vec<f64>> = vec![Vec::new(); week_starts.len()];
    for &d in in_window.iter().filter(|&&d| attribution.is_baseline[d]) {
        samples.baseline_commits += attribution.shipped[d].len();
        warnings.push(format!(
            "deployment {} is the first of {}/{}: its {} {} a baseline, not counted toward lead time",
            deployments[d].name,
            deployments[d].service,
            deployments[d].environment,
            count(attribution.shipped[d].len(), "commit", "commits"),
            if attribution.shipped[d].len() == 1 { "is" } else { "are" }
        ));
    }
    // (deployment, author time, by a bot) per change.
    let commit_changes = |d: usize, changes: &mut Vec<(usize, Instant, bool)>| {
        for &c in &attribution.shipped[d] {
            let commit = &input.commits[c];
            if !commit.is_merge() && attribution.first_shipping(c) == Some(d) {
                changes.push((d, commit.author_time, (input.is_bot)(&commit.author)));
            }
        }
    };
    let changes: Vec<(usize, Instant, bool)> = match input.changes {
        Some(prs) => {
            let mut changes: Vec<(usize, Instant, bool)> = prs
                .iter()
                .filter_map(|pr| {
                    let d = attribution.first_shipping(pr.merge_commit)?;
                    // Deployed before it was merged: cannot be; counted as a negative span.
                    let start =
                        if deployments[d].finished_at < pr.merged_at { Instant::MAX } else { pr.first_commit_at };
                    Some((d, start, pr.bot))
                })
                .collect();
            // Pull requests where a deployment ships one; commits elsewhere
            // (pull requests imported for part of the history, or pushed
            // straight to the branch), so a stronger source never blanks
            // what it does not cover.
            let covered: std::collections::HashSet<usize> = changes.iter().map(|c| c.0).collect();
            let before = changes.len();
            if input.history {
                for &d in in_window.iter().filter(|&&d| !covered.contains(&d) && !attribution.is_baseline[d]) {
                    commit_changes(d, &mut changes);
                }
            }
            samples.covered = !covered.is_empty();
            samples.commit_changes = changes.len() > before;
            changes
        }
        None => {
            let mut changes = Vec::new();
            for &d in in_window.iter().filter(|_| input.history) {
                commit_changes(d, &mut changes);
            }
            samples.commit_changes = !changes.is_empty();
            changes
        }
    };
    for (d, authored, bot) in changes {
        if !window.contains(finished(d)) || attribution.is_baseline[d] {
            continue;
        }
        if bot {
            samples.bots += 1;
            continue;
        }
        let span = finished(d) - authored;
        if span < 0 {
            samples.negative_spans += 1;
            continue;
        }
        samples.lead_times.push(span as f64);
        spans_by_week[week_of(finished(d))].push(span as f64);
    }
    for (week, spans) in weekly.iter_mut().zip(&spans_by_week) {
        week.changes = spans.len();
        week.median_lead_time = stats::median(spans, options.average);
    }
    if samples.bots > 0 {
        let (one, many) =
            if input.changes.is_some() { ("pull request", "pull requests") } else { ("commit", "commits") };
        warnings.push(format!("{} by bots excluded from lead time", count(samples.bots, one, many)));
    }
    if samples.negative_spans > 0 {
        warnings.push(format!(
            "{} authored after {} deployment finished (clock skew) dropped from lead time",
            count(samples.negative_spans, "change", "changes"),
            if samples.negative_spans == 1 { "its" } else { "their" }
        ));
    }
    let lead_time = self::lead_time(&samples);

    // Change failure rate and recovery time.
    for failure in input.failures {
        if window.contains(finished(failure.deployment)) {
            samples.failed += 1;
            weekly[week_of(finished(failure.deployment))].failed_deployments += 1;
            if failure.recovered_by.is_none() && failure.recovered_at.is_none() {
                samples.unrecovered += 1;
            }
        }
        let recovered = failure.recovered_at.or(failure.recovered_by.map(finished));
        if let Some(at) = recovered.filter(|&at| window.contains(at)) {
            let span = at - finished(failure.deployment);
            if span < 0 {
                samples.negative_recoveries += 1;
            } else {
                samples.recoveries.push(span as f64);
            }
        }
    }
    if samples.negative_recoveries > 0 {
        warnings.push(format!(
            "{} before the failed deployment finished dropped from recovery time",
            count(samples.negative_recoveries, "recovery ends", "recoveries end")
        ));
    }
    if samples.unrecovered > 0 {
        warnings.push(format!(
            "{} of the window {} no fix deployed yet",
            count(samples.unrecovered, "failed deployment", "failed deployments"),
            if samples.unrecovered == 1 { "has" } else { "have" }
        ));
    }
    let change_failure_rate = self::change_failure_rate(&samples);
    let recovery_time = self::recovery_time(&samples);

    // Rework rate.
    for &d in &in_window {
        if input.rework[d] {
            samples.rework += 1;
            weekly[week_of(finished(d))].rework_deployments += 1;
        }
    }
    let rework_rate = self::rework_rate(&samples);

    if !attribution.unknown_commit.is_empty() {
        warnings.push(format!(
            "{} deployments point at commits missing from the history (shallow clone?) \
             and ship nothing",
            attribution.unknown_commit.len()
        ));
    }
    if attribution.unknown_shipped > 0 {
        warnings.push(format!(
            "{} commits listed by deployment events are missing from the history",
            attribution.unknown_shipped
        ));
    }

    let (weekly, monthly, by_month, trend_note) = bound_trend(weekly, &spans_by_week, options.average);
    DoraReport {
        window,
        average: options.average,
        benchmark_year: options.benchmark_year,
        benchmark_source: options.benchmark_year.benchmarks().source,
        deployment_frequency,
        lead_time,
        change_failure_rate,
        recovery_time,
        rework_rate,
        weekly,
        monthly,
        by_month,
        trend_note,
        warnings,
        samples,
    }
}

/// Keeps the last [`TREND_WEEKS`] weeks and groups the ones before by the
/// month of their Monday, so a long window gives a trend of bounded size.
fn bound_trend(
    mut weekly: Vec<WeekTrend>,
    spans_by_week: &[Vec<f64>],
    average: Average,
) -> (Vec<WeekTrend>, Vec<MonthTrend>, Vec<MonthTrend>, Option<String>) {
    let by_month = months(&weekly, spans_by_week, average);
    if weekly.len() <= TREND_WEEKS {
        return (weekly, Vec::new(), by_month, None);
    }
    let cut = weekly.len() - TREND_WEEKS;
    let monthly = months(&weekly[..cut], &spans_by_week[..cut], average);
    weekly.drain(..cut);
    let note = format!(
        "weekly for the last {TREND_WEEKS} of {} weeks, monthly ({}) before",
        cut + TREND_WEEKS,
        count(monthly.len(), "month", "months")
    );
    (weekly, monthly, by_month, Some(note))
}

/// `weeks` grouped by the calendar month of their Monday, medians of lead
/// time over the month's changes.
fn months(weeks: &[WeekTrend], spans_by_week: &[Vec<f64>], average: Average) -> Vec<MonthTrend> {
    let mut monthly: Vec<MonthTrend> = Vec::new();
    let mut spans: Vec<Vec<f64>> = Vec::new();
    for (week, week_spans) in weeks.iter().zip(spans_by_week) {
        let (year, month, _) = time::civil_from_days(time::day_number(week.start));
        let label = format!("{year:04}-{month:02}");
        if monthly.last().is_none_or(|m| m.month != label) {
            monthly.push(MonthTrend {
                month: label,
                start: week.start,
                weeks: 0,
                deployments: 0,
                changes: 0,
                median_lead_time: None,
                failed_deployments: 0,
                rework_deployments: 0,
            });
            spans.push(Vec::new());
        }
        let (Some(month), Some(month_spans)) = (monthly.last_mut(), spans.last_mut()) else { continue };
        month.weeks += 1;
        month.deployments += week.deployments;
        month.changes += week.changes;
        month.failed_deployments += week.failed_deployments;
        month.rework_deployments += week.rework_deployments;
        month_spans.extend_from_slice(week_spans);
    }
    for (month, month_spans) in monthly.iter_mut().zip(&spans) {
        month.median_lead_time = stats::median(month_spans, average);
    }
    monthly
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deployments::attribute;
    use crate::failures::infer;
    use crate::testing::{commit, deployment};
    use crate::time::days_from_civil;

    const H: i64 = 3600;
    const DAY: i64 = 86_400;

    /// Monday 2025-01-06 00:00 UTC, the first day of 2025-W02.
    fn monday() -> Instant {
        days_from_civil(2025, 1, 6) * DAY
    }

    fn summary(s: &Summary) -> (usize, f64, f64, f64) {
        (s.count, s.median, s.p75, s.p90)
    }

    /// A two-week history, every number worked out below.
    ///
    /// | commit | author time      | shipped by | lead time            |
    /// |--------|------------------|------------|----------------------|
    /// | c0     | Dec 27           | v0 (base)  | baseline             |
    /// | c1     | Mon 6 09:00      | v1 Mon 12h | 3 h                  |
    /// | c2 bot | Mon 6 10:00      | v1         | excluded (bot)       |
    /// | c3     | Tue 7 09:00      | v2 Wed 9h  | 24 h                 |
    /// | c4 rev c3 | Wed 8 10:00   | v3 Wed 12h | 2 h                  |
    /// | c5     | Wed 8 11:00      | v3         | 1 h                  |
    /// | c6     | Mon 13 09:00     | v4 Mon 10h | 1 h                  |
    /// | c7 hotfix | Tue 14 08:00  | v5 Tue 9h  | 1 h                  |
    /// | c8 (side, c7) | Thu 16 12:00 | v6 Thu 11h | −1 h, dropped     |
    /// | c9 merge c7+c8 | Thu 16 10:00 | v6      | merge, not a change  |
    /// | c10 rev c8 | Fri 17 09:00 | —          | —                    |
    fn history() -> (Vec<Commit>, Vec<Deployment>) {
        let t = monday();
        let mut commits = vec![
            commit("c0", &[], t - 10 * DAY),
            commit("c1", &["c0"], t + 9 * H),
            commit("c2", &["c1"], t + 10 * H),
            commit("c3", &["c2"], t + DAY + 9 * H),
            commit("c4", &["c3"], t + 2 * DAY + 10 * H),
            commit("c5", &["c4"], t + 2 * DAY + 11 * H),
            commit("c6", &["c5"], t + 7 * DAY + 9 * H),
            commit("c7", &["c6"], t + 8 * DAY + 8 * H),
            commit("c8", &["c7"], t + 10 * DAY + 12 * H),
            commit("c9", &["c7", "c8"], t + 10 * DAY + 10 * H),
            commit("c10", &["c9"], t + 11 * DAY + 9 * H),
        ];
        commits[2].author.email = "dependabot[bot]@users.noreply.github.com".into();
        commits[4].reverts = Some("c3".into());
        commits[7].subject = "hotfix: crash on login".into();
        commits[10].reverts = Some("c8".into());
        // Out of finish order on purpose.
        let deployments = vec![
            deployment("v6", "c9", t + 10 * DAY + 11 * H),
            deployment("v0", "c0", t - 9 * DAY),
            deployment("v1", "c2", t + 12 * H),
            deployment("v2", "c3", t + 2 * DAY + 9 * H),
            deployment("v3", "c5", t + 2 * DAY + 12 * H),
            deployment("v4", "c6", t + 7 * DAY + 10 * H),
            deployment("v5", "c7", t + 8 * DAY + 9 * H),
        ];
        (commits, deployments)
    }

    fn report(options: &DoraOptions) -> DoraReport {
        let (commits, deployments) = history();
        measured(&commits, &deployments, options)
    }

    /// The report of `commits` and `deployments` over two ISO weeks,
    /// 2025-W02 and 2025-W03 (hotfixes by subject, bots by address).
    fn measured(commits: &[Commit], deployments: &[Deployment], options: &DoraOptions) -> DoraReport {
        let attribution = attribute(commits, deployments);
        let inference = infer(commits, &attribution, &|c: &Commit| c.subject.starts_with("hotfix"));
        let is_bot = |p: &Person| p.email.contains("[bot]");
        let input = DoraInput {
            commits,
            deployments,
            attribution: &attribution,
            failures: &inference.failures,
            rework: &inference.rework,
            is_bot: &is_bot,
            changes: None,
            history: true,
            left_out_start: None,
        };
        compute(&input, Window { start: monday(), end: monday() + 14 * DAY }, options)
    }

    #[test]
    fn the_samples_of_scopes_that_partition_a_larger_one_pool_into_its_keys() {
        // A second service with its own history: the first's, renamed, two
        // days and five hours later, starting before the window.
        let (commits, deployments) = history();
        let shift = 2 * DAY + 5 * H;
        let renamed = |id: &str| format!("b-{id}");
        let mut other_commits: Vec<Commit> = commits
            .iter()
            .map(|c| Commit {
                id: renamed(&c.id),
                parents: c.parents.iter().map(|p| renamed(p)).collect(),
                author_time: c.author_time + shift,
                committer_time: c.committer_time + shift,
                reverts: c.reverts.as_deref().map(renamed),
                ..c.clone()
            })
            .collect();
        let mut other_deployments: Vec<Deployment> = deployments
            .iter()
            .map(|d| Deployment {
                id: renamed(&d.id),
                service: "other".into(),
                commit: renamed(&d.commit),
                finished_at: d.finished_at + shift,
                ..d.clone()
            })
            .collect();
        for options in
            [DoraOptions::default(), DoraOptions { average: Average::Mean, min_changes: 3, ..DoraOptions::default() }]
        {
            let first = measured(&commits, &deployments, &options);
            let second = measured(&other_commits, &other_deployments, &options);
            let mut all_commits = commits.clone();
            all_commits.extend(other_commits.iter().cloned());
            let mut all_deployments = deployments.clone();
            all_deployments.extend(other_deployments.iter().cloned());
            let whole = measured(&all_commits, &all_deployments, &options);
            let pooled = Samples::pool([&first.samples, &second.samples]).expect("measured alike");
            let mut pooled_sorted = pooled.clone();
            let mut whole_sorted = whole.samples.clone();
            for samples in [&mut pooled_sorted, &mut whole_sorted] {
                samples.deployment_days.sort_unstable();
                samples.lead_times.sort_by(f64::total_cmp);
                samples.recoveries.sort_by(f64::total_cmp);
            }
            assert_eq!(pooled_sorted, whole_sorted);
            let keys = keys(&pooled);
            assert_eq!(keys.deployment_frequency, whole.deployment_frequency);
            assert_eq!(keys.lead_time, whole.lead_time);
            assert_eq!(keys.change_failure_rate, whole.change_failure_rate);
            assert_eq!(keys.recovery_time, whole.recovery_time);
            assert_eq!(keys.rework_rate, whole.rework_rate);
            // Not the sum of the parts' figures: medians of the pool.
            assert_ne!(keys.lead_time, first.lead_time);
            // Measured otherwise, nothing to pool.
            let longer = DoraOptions { min_changes: options.min_changes + 1, ..options };
            assert!(
                Samples::pool([&first.samples, &measured(&other_commits, &other_deployments, &longer).samples])
                    .is_none()
            );
        }
        // A part that starts later than the other: the pool starts with the earliest.
        other_commits.retain(|c| c.author_time >= monday());
        other_deployments.retain(|d| d.finished_at >= monday());
        let options = DoraOptions::default();
        let later = measured(&other_commits, &other_deployments, &options);
        let first = measured(&commits, &deployments, &options);
        let pooled = Samples::pool([&later.samples, &first.samples]).expect("measured alike");
        assert_eq!(pooled.data_start, first.samples.data_start);
        assert_eq!(
            keys(&pooled).deployment_frequency.value().unwrap().deployments,
            6 + later.samples.deployment_days.len()
        );
    }

    #[test]
    fn full_report_on_a_small_history() {
        let report = report(&DoraOptions::default());
        assert_eq!(report.benchmark_year, BenchmarkYear::Y2023);

        // v1..v6 finish in the window, v0 before it: 6 in 14 days.
        // Deployment days: W02 Mon, Wed → 2; W03 Mon, Tue, Thu → 3; median 2.5.
        let frequency = report.deployment_frequency.value().expect("deployments");
        assert_eq!(frequency.deployments, 6);
        assert!((frequency.per_day - 6.0 / 14.0).abs() < 1e-12);
        assert!((frequency.per_week - 3.0).abs() < 1e-12);
        assert!((frequency.per_month - 6.0 * 30.0 / 14.0).abs() < 1e-12);
        assert_eq!(frequency.deployment_days_per_week, 2.5);
        assert_eq!(frequency.tier, Tier::High);

        // Spans 3h, 24h, 2h, 1h, 1h, 1h → sorted 1 1 1 2 3 24 (hours).
        // Median h = 2.5 → 1.5 h; p75 h = 3.75 → 2 + .75 = 2.75 h;
        // p90 h = 4.5 → 3 + .5·21 = 13.5 h.
        let lead = report.lead_time.value().expect("changes");
        assert_eq!(summary(&lead.summary), (6, 1.5 * 3600.0, 2.75 * 3600.0, 13.5 * 3600.0));
        assert_eq!(lead.bot_commits_excluded, 1);
        assert_eq!(lead.negative_spans_dropped, 1);
        assert_eq!(lead.baseline_commits, 0);
        assert_eq!(lead.tier, Some(Tier::Elite));

        // v2 (c3 reverted), v4 (hotfix in v5), v6 (c8 reverted, undeployed): 3 / 6.
        let failure_rate = report.change_failure_rate.value().expect("deployments");
        assert_eq!((failure_rate.failed_deployments, failure_rate.deployments), (3, 6));
        assert_eq!(failure_rate.rate, 0.5);
        assert_eq!(failure_rate.failure_source, FailureSource::Inferred);
        // Inferred from git: a lower bound, not rated.
        assert!(failure_rate.lower_bound);
        assert_eq!(failure_rate.tier, None);
        assert!(failure_rate.tier_note.as_deref().is_some_and(|n| n.contains("lower bound")));

        // v2 → v3: 3 h; v4 → v5: 23 h. Median 13 h, p75 3 + .75·20 = 18 h,
        // p90 3 + .9·20 = 21 h. v6 unrecovered.
        let recovery = report.recovery_time.value().expect("recoveries");
        assert_eq!(summary(&recovery.summary), (2, 13.0 * 3600.0, 18.0 * 3600.0, 21.0 * 3600.0));
        assert_eq!(recovery.unrecovered, 1);
        assert_eq!(recovery.tier, Some(Tier::High));

        // v3 (ships the revert) and v5 (the hotfix): 2 / 6.
        let rework = report.rework_rate.value().expect("deployments");
        assert_eq!((rework.rework_deployments, rework.deployments), (2, 6));
        assert_eq!(rework.tier, None);

        // W02: v1 v2 v3, changes 3h 24h 2h 1h → median 2.5 h, v2 failed, v3 rework.
        // W03: v4 v5 v6, changes 1h 1h, v4 and v6 failed, v5 rework.
        let weeks: Vec<_> = report
            .weekly
            .iter()
            .map(|w| {
                (
                    w.week.as_str(),
                    w.deployments,
                    w.changes,
                    w.median_lead_time,
                    w.failed_deployments,
                    w.rework_deployments,
                )
            })
            .collect();
        assert_eq!(weeks, vec![("2025-W02", 3, 4, Some(2.5 * 3600.0), 1, 1), ("2025-W03", 3, 2, Some(3600.0), 2, 1),]);
        assert_eq!(report.warnings.len(), 3, "{:?}", report.warnings);
    }

    #[test]
    fn conventions_and_years_reach_the_numbers() {
        let report = report(&DoraOptions {
            average: Average::LowerMedian,
            benchmark_year: BenchmarkYear::Y2021,
            // Rated as if the failures came from incidents (inferred ones are not rated).
            failure_source: FailureSource::Incidents,
            ..DoraOptions::default()
        });
        // Lower median of 1 1 1 2 3 24 h is rank 2: 1 h. 2021: elite < 1 h, so High.
        let lead = report.lead_time.value().expect("changes");
        assert_eq!(lead.summary.median, 3600.0);
        assert_eq!(lead.tier, Some(Tier::High));
        // Lower median of 3 h, 23 h: 3 h. Deployment days: lower of 2, 3 → 2.
        let recovery = report.recovery_time.value().expect("recoveries");
        assert_eq!(recovery.summary.median, 3.0 * 3600.0);
        let frequency = report.deployment_frequency.value().expect("deployments");
        assert_eq!(frequency.deployment_days_per_week, 2.0);
        // 50 % is above 2021's 30 %.
        let failure_rate = report.change_failure_rate.value().expect("deployments");
        assert_eq!(failure_rate.tier, Some(Tier::Low));
    }

    #[test]
    fn empty_is_not_zero() {
        let attribution = attribute(&[], &[]);
        let is_bot = |_: &Person| false;
        let input = DoraInput {
            commits: &[],
            deployments: &[],
            attribution: &attribution,
            failures: &[],
            rework: &[],
            is_bot: &is_bot,
            changes: None,
            history: true,
            left_out_start: None,
        };
        let window = Window { start: monday(), end: monday() + 7 * DAY };
        let report = compute(&input, window, &DoraOptions::default());
        match &report.deployment_frequency {
            Metric::NoData { reason } => assert!(reason.contains("deploy.tag_pattern"), "{reason}"),
            Metric::Value(value) => panic!("no deployments measured as {value:?}"),
        }
        assert!(report.lead_time.value().is_none());
        assert!(report.change_failure_rate.value().is_none());
        assert!(report.recovery_time.value().is_none());
        assert!(report.rework_rate.value().is_none());
        assert_eq!(report.weekly.len(), 1);
        assert_eq!(report.weekly[0].median_lead_time, None);
    }

    #[test]
    fn baseline_in_the_window_is_reported_not_counted() {
        let t = monday();
        let commits = [commit("a", &[], t - DAY), commit("b", &["a"], t + H)];
        let deployments = [deployment("v1", "b", t + 2 * H)];
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
        let window = Window { start: t, end: t + 7 * DAY };
        let report = compute(&input, window, &DoraOptions::default());
        match &report.lead_time {
            Metric::NoData { reason } => assert!(reason.contains("2 baseline commits"), "{reason}"),
            Metric::Value(value) => panic!("baseline counted: {value:?}"),
        }
        assert!(report.warnings[0].contains("v1"), "{:?}", report.warnings);
        // One deployment day in one week: median 1 → High.
        let frequency = report.deployment_frequency.value().expect("one deployment");
        assert_eq!(frequency.tier, Tier::High);
    }
    #[test]
    fn pull_requests_as_changes_and_incident_recovery_times() {
        use crate::failures::{Failure, FailureCause};
        let t = monday();
        // A squash merge `s1` ships in v2 (v1 is the baseline); the PR's first
        // commit `p1` (not in the history: squashed away) was authored 30 h before v2.
        let commits = [commit("a", &[], t), commit("s1", &["a"], t + 10 * H), commit("s2", &["s1"], t + 11 * H)];
        let deployments = [deployment("v1", "a", t + H), deployment("v2", "s2", t + 12 * H)];
        let attribution = attribute(&commits, &deployments);
        let is_bot = |_: &Person| false;
        let changes = [
            PrChange { first_commit_at: t + 12 * H - 30 * H, merge_commit: 1, merged_at: t + 10 * H, bot: false },
            // Merged after v2 finished, yet "shipped" by it: a data error, dropped.
            PrChange { first_commit_at: t, merge_commit: 2, merged_at: t + 13 * H, bot: false },
            PrChange { first_commit_at: t, merge_commit: 1, merged_at: t + 10 * H, bot: true },
        ];
        // v2 failed; its incident was resolved 5 h after it finished.
        let failures = [Failure {
            deployment: 1,
            recovered_by: None,
            recovered_at: Some(t + 17 * H),
            cause: FailureCause::Incident { incident: 0 },
        }];
        let input = DoraInput {
            commits: &commits,
            deployments: &deployments,
            attribution: &attribution,
            failures: &failures,
            rework: &[false, false],
            is_bot: &is_bot,
            changes: Some(&changes),
            history: true,
            left_out_start: None,
        };
        let options = DoraOptions { failure_source: FailureSource::Incidents, ..DoraOptions::default() };
        let report = compute(&input, Window { start: t, end: t + 7 * DAY }, &options);
        let lead = report.lead_time.value().expect("one pull request");
        assert_eq!(
            (lead.basis, lead.summary.count, lead.summary.median),
            (ChangeBasis::PullRequests, 1, 30.0 * 3600.0)
        );
        assert_eq!((lead.bot_commits_excluded, lead.negative_spans_dropped), (1, 1));
        let recovery = report.recovery_time.value().expect("recovered");
        assert_eq!((recovery.summary.median, recovery.unrecovered), (5.0 * 3600.0, 0));
        assert_eq!(report.change_failure_rate.value().expect("rate").failure_source, FailureSource::Incidents);
    }
    #[test]
    fn weeks_before_the_data_starts_do_not_count() {
        // A repository born in the third week of a four-week window, deploying
        // on two days of each of its two weeks: two days a week (high), not a
        // median of 1 over four weeks with two empty ones.
        let t = monday();
        let start = t + 14 * DAY;
        let commits = [commit("a", &[], start), commit("b", &["a"], start + DAY)];
        let deployments = [
            deployment("v1", "a", start + H),
            deployment("v2", "b", start + DAY + H),
            deployment("v3", "b", start + 7 * DAY + H),
            deployment("v4", "b", start + 8 * DAY + H),
        ];
        let attribution = attribute(&commits, &deployments);
        let is_bot = |_: &Person| false;
        let input = DoraInput {
            commits: &commits,
            deployments: &deployments,
            attribution: &attribution,
            failures: &[],
            rework: &[false; 4],
            is_bot: &is_bot,
            changes: None,
            history: true,
            left_out_start: None,
        };
        let report = compute(&input, Window { start: t, end: t + 28 * DAY }, &DoraOptions::default());
        let frequency = report.deployment_frequency.value().expect("deployments");
        assert_eq!(frequency.deployment_days_per_week, 2.0);
        assert!((frequency.per_week - 2.0).abs() < 1e-9, "{}", frequency.per_week);
        assert!(
            report.warnings.iter().any(|w| w.contains("over the 2 weeks since, not the 4 weeks")),
            "{:?}",
            report.warnings
        );
        assert_eq!(report.weekly.len(), 4, "the trend still covers the window");
    }

    #[test]
    fn tiny_samples_get_no_tier_and_rates_an_interval() {
        // The small history: 6 deployments, 6 changes, 2 recoveries.
        let options = DoraOptions {
            min_deployments: 10,
            min_changes: 6,
            min_recoveries: 3,
            failure_source: FailureSource::Incidents,
            ..DoraOptions::default()
        };
        let report = report(&options);
        let failure_rate = report.change_failure_rate.value().expect("deployments");
        assert_eq!(failure_rate.tier, None);
        assert_eq!(failure_rate.tier_note.as_deref(), Some("too few to rate (6 deployments; at least 10 needed)"));
        // 3 of 6: centre 0.5, half = z/(1 + z²/6)·√(1/24 + z²/144) = 1.2336·0.2858 = 0.3526... → [0.1876, 0.8124].
        let [low, high] = failure_rate.interval;
        assert!((low - 0.1876).abs() < 1e-3 && (high - 0.8124).abs() < 1e-3, "{low} {high}");
        // Exactly the minimum is enough.
        let lead = report.lead_time.value().expect("changes");
        assert_eq!((lead.tier, lead.tier_note.as_deref()), (Some(Tier::Elite), None));
        let recovery = report.recovery_time.value().expect("recoveries");
        assert_eq!(recovery.tier, None);
        assert_eq!(recovery.tier_note.as_deref(), Some("too few to rate (2 recoveries; at least 3 needed)"));
        let rework = report.rework_rate.value().expect("deployments");
        assert!(rework.interval[0] < rework.rate && rework.rate < rework.interval[1]);
    }

    #[test]
    fn long_windows_show_52_weeks_and_months_before() {
        // 2 years and 2 weeks ending after the small history: the history's
        // weeks are the last two, every earlier week is grouped by month.
        let (commits, deployments) = history();
        let attribution = attribute(&commits, &deployments);
        let is_bot = |_: &Person| false;
        let no_rework = vec![false; deployments.len()];
        let input = DoraInput {
            commits: &commits,
            deployments: &deployments,
            attribution: &attribution,
            failures: &[],
            rework: &no_rework,
            is_bot: &is_bot,
            changes: None,
            history: true,
            left_out_start: None,
        };
        let window = Window { start: monday() - 104 * 7 * DAY, end: monday() + 14 * DAY };
        let report = compute(&input, window, &DoraOptions::default());
        assert_eq!(report.weekly.len(), TREND_WEEKS);
        assert_eq!(report.weekly.last().map(|w| w.week.as_str()), Some("2025-W03"));
        // 106 weeks: 54 grouped, from the Monday 2023-01-09 (W02) on.
        let grouped: usize = report.monthly.iter().map(|m| m.weeks).sum();
        assert_eq!(grouped, 54);
        assert_eq!(report.monthly.first().map(|m| m.month.as_str()), Some("2023-01"));
        // Nothing is lost in the grouping: all 7 deployments are counted.
        let total: usize = report.weekly.iter().map(|w| w.deployments).sum::<usize>()
            + report.monthly.iter().map(|m| m.deployments).sum::<usize>();
        assert_eq!(total, 7);
        assert_eq!(
            report.trend_note.as_deref(),
            Some("weekly for the last 52 of 106 weeks, monthly (13 months) before")
        );
    }
}
