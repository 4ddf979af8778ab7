//! Flow: the pull-request value stream (METRICS.md, "Flow: the pull-request
//! value stream"): per merged pull request the coding, pickup, review, deploy
//! and cycle stages, and over a window their summaries, the bottleneck,
//! working-agreement breaches, WIP, stale pull requests, review load, size
//! distribution and weekly throughput.
//!
//! Conventions (METRICS.md, "Conventions"):
//!
//! - **Window**: a pull request belongs to the window in which it was
//!   *merged*: merging completes it. Its deploy stage may end after the
//!   window (or not yet), which is why a deploy time can be missing.
//! - **Empty is not zero**: a stage that did not happen (no review, not
//!   deployed) is `None` in the row and counted as missing in the summary,
//!   never 0; a summary with no values is [`Metric::NoData`] with a reason.
//! - **Bots**: pull requests authored by bots are left out of every number
//!   (they are not human flow), and bot review activity neither starts
//!   pickup, nor counts as review load, nor keeps a pull request from going
//!   stale. The report counts what it left out.
//! - **Identities** are merged by the caller: `author` fields are logins
//!   compared as plain strings.
//! - **Business hours** are off (METRICS.md default): a business day is
//!   24 hours, so a pull request opened on a Friday evening and picked up on
//!   Monday morning breaches the default pickup agreement of one business
//!   day. Callers wanting otherwise pass a larger target.
//!
//! Privacy (METRICS.md, "Privacy rules"): the report is team-level. Rows
//! name pull requests, never their authors; review load serializes only
//! anonymous counts, and keeps per-reviewer counts out of serialization
//! ([`ReviewLoad::per_reviewer`]) so that the application decides whether
//! and to whom to show them.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::dora::count;

use crate::dora::Metric;
use crate::model::{Deployment, Instant};
use crate::stats::{self, Average, Summary};
use crate::time::{self, SECONDS_PER_DAY, Window};

/// One business day, in seconds. Business hours are off by default
/// (METRICS.md, "Conventions"), so a business day is simply 24 hours.
pub const BUSINESS_DAY: i64 = SECONDS_PER_DAY;
/// Default working agreement on pull-request size: changed lines
/// (additions + deletions).
pub const DEFAULT_MAX_SIZE: u64 = 400;
/// Default `flow.stale_days`: an open pull request with no activity for this
/// many days is stale.
pub const DEFAULT_STALE_DAYS: u32 = 7;
/// Upper bounds (inclusive) of the size buckets, in changed lines; a last
/// bucket holds everything above the largest bound. 400 is the default size
/// agreement, so "within the agreement" is the sum of the first three.
pub const SIZE_BUCKET_BOUNDS: [u64; 4] = [50, 200, 400, 1000];

/// The reason given when no deployment is known at all.
const NO_DEPLOYMENTS: &str = "no deployments found: configure `deploy.tag_pattern` or \
`deploy.ci_pattern`, or use trunk mode";

/// One commit of a pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrCommit {
    /// Hex object id.
    pub sha: String,
    /// Author login (or merged identity), as the caller names people.
    pub author: String,
    /// Author time, UTC. The first commit's author time starts the coding
    /// stage: a commit keeps it through rebases, unlike the committer time.
    pub authored_at: Instant,
}

/// What kind of review activity an entry of [`PullRequest::activities`] is.
/// All three start pickup (METRICS.md); only submitted reviews count as
/// review load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    /// A submitted review (approval, change request or review comment batch).
    Review,
    /// A comment on a line of the diff.
    ReviewComment,
    /// A comment on the conversation.
    Comment,
}

/// One review activity on a pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewActivity {
    /// Who did it (login, identities merged by the caller). Shared: a
    /// window of an organisation holds millions of activities by a few
    /// thousand people, and a reader hands out one copy of each login.
    pub author: std::sync::Arc<str>,
    /// When, UTC.
    pub at: Instant,
    /// What it was.
    pub kind: ActivityKind,
}

/// A pull (or merge) request as the host reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    /// Deterministic id, e.g. `github:pr:owner/repo#12`.
    pub id: String,
    /// Repository, e.g. `owner/repo`.
    pub repo: String,
    /// Number within the repository.
    pub number: u64,
    /// Author login (identities merged by the caller).
    pub author: String,
    /// When it was opened, UTC.
    pub created_at: Instant,
    /// The ready-for-review event of a pull request opened as a draft (the
    /// last one when it went back and forth); `None` when it was never a
    /// draft, or is one still.
    pub ready_at: Option<Instant>,
    /// Whether it is a draft *now* (at fetch time).
    pub draft: bool,
    /// When it was merged; `None` when it was not (yet).
    pub merged_at: Option<Instant>,
    /// When it was closed (merged or not); `None` while open.
    pub closed_at: Option<Instant>,
    /// The merge, squash or rebased head commit the host recorded on merge:
    /// what links the pull request to the deployment that shipped it.
    pub merge_commit: Option<String>,
    /// Lines added.
    pub additions: u64,
    /// Lines deleted.
    pub deletions: u64,
    /// The host did not give its size (`additions` and `deletions` are then 0
    /// and mean nothing).
    pub size_unknown: bool,
    /// Its commits, in any order.
    pub commits: Vec<PrCommit>,
    /// Reviews and comments, in any order, by anyone (author and bots too).
    pub activities: Vec<ReviewActivity>,
    /// The host's last-update time, when known.
    pub updated_at: Option<Instant>,
}

impl PullRequest {
    /// When it became ready for review: the ready-for-review event of a
    /// draft, else its creation. (DevLake starts pickup at creation even for
    /// drafts, charging draft time to the reviewers; we do not.)
    pub fn ready_for_review(&self) -> Instant {
        self.ready_at.unwrap_or(self.created_at)
    }

    /// Changed lines: additions + deletions (saturating); `None` when the
    /// host did not give them. Generated files count as the host counts them.
    pub fn size(&self) -> Option<u64> {
        (!self.size_unknown).then(|| self.additions.saturating_add(self.deletions))
    }

    /// Whether it was open at `now`: created at or before it, and neither
    /// merged nor closed at or before it. Works for a `now` in the past too.
    pub fn is_open_at(&self, now: Instant) -> bool {
        let after = |t: Option<Instant>| t.is_none_or(|t| t > now);
        self.created_at <= now && after(self.merged_at) && after(self.closed_at)
    }

    /// Whether it was a draft at `now`: it is one now, or its
    /// ready-for-review event came after `now`. (A pull request turned back
    /// into a draft after `now` reads as a draft: hosts do not give the
    /// history needed to tell.)
    pub fn is_draft_at(&self, now: Instant) -> bool {
        self.draft || self.ready_at.is_some_and(|ready| ready > now)
    }

    /// The latest sign of life at or before `now`: creation, ready for
    /// review, commits' author times, activities by non-bots, and the host's
    /// update time. Bot activity is left out so that a bot's "this is stale"
    /// comment does not make the pull request look alive; `updated_at` is
    /// kept although a bot may have caused it, since the host does not say.
    pub fn last_activity(&self, now: Instant, is_bot: &dyn Fn(&str) -> bool) -> Instant {
        let commits = self.commits.iter().map(|c| c.authored_at);
        let activities = self.activities.iter().filter(|a| !is_bot(&a.author)).map(|a| a.at);
        let others = [self.ready_at, self.updated_at].into_iter().flatten();
        commits.chain(activities).chain(others).filter(|&t| t <= now).fold(self.created_at, Instant::max)
    }
}

/// Everything [`flow`] and [`stages`] read.
pub struct FlowInput<'a> {
    /// Pull requests of any state and age; the window and `now` select.
    pub prs: &'a [PullRequest],
    /// Successful production deployments (any time). Only two things are
    /// read: whether there are any (else cycle time ends at merge), and
    /// their finish times for weekly throughput.
    pub deployments: &'a [Deployment],
    /// For a merge (or squash) commit, the finish of the first successful
    /// production deployment containing it (the application derives it from
    /// [`crate::deployments::attribute`]); `None` when none does yet.
    pub deployed_at: &'a dyn Fn(&str) -> Option<Instant>,
    /// Whether a login is a bot.
    pub is_bot: &'a dyn Fn(&str) -> bool,
}

/// A stage of the value stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// First commit's author time → ready for review.
    Coding,
    /// Ready for review → first review activity by someone else.
    Pickup,
    /// First review activity → merge.
    Review,
    /// Merge → deployed.
    Deploy,
    /// First commit's author time → deployed (or merged; see [`CycleEnd`]).
    Cycle,
}

impl Stage {
    /// The stages that make up the cycle, in order. When all four are
    /// present they add up to the cycle exactly.
    pub const PARTS: [Stage; 4] = [Stage::Coding, Stage::Pickup, Stage::Review, Stage::Deploy];
    /// Every stage, cycle last.
    pub const ALL: [Stage; 5] = [Stage::Coding, Stage::Pickup, Stage::Review, Stage::Deploy, Stage::Cycle];

    /// Lower-case name, as in the report keys.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Coding => "coding",
            Stage::Pickup => "pickup",
            Stage::Review => "review",
            Stage::Deploy => "deploy",
            Stage::Cycle => "cycle",
        }
    }
}

/// Where cycle time ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CycleEnd {
    /// At the first production deployment containing the merge commit.
    Deployed,
    /// At the merge: no deployment is known at all, so cycle time stops
    /// short of production (the report warns).
    Merged,
}

/// The stages of one merged pull request. Durations are seconds; `None`
/// means the stage did not happen (no review, not deployed yet), has no
/// start (no commits), or had a negative span that was dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrStages {
    /// [`PullRequest::id`].
    pub id: String,
    /// [`PullRequest::repo`].
    pub repo: String,
    /// [`PullRequest::number`].
    pub number: u64,
    /// Merge time.
    pub merged_at: Instant,
    /// Earliest author time of its commits; `None` without commits.
    pub first_commit_at: Option<Instant>,
    /// [`PullRequest::ready_for_review`].
    pub ready_at: Instant,
    /// First review activity by someone other than the author and not a
    /// bot, dated between ready for review and merge (both included).
    pub first_review_at: Option<Instant>,
    /// Finish of the first production deployment containing the merge
    /// commit; `None` when not deployed (yet), or when that deployment is
    /// dated before the merge (see `deployed_before_merge`).
    pub deployed_at: Option<Instant>,
    /// Coding time.
    pub coding: Option<i64>,
    /// Pickup time.
    pub pickup: Option<i64>,
    /// Review time.
    pub review: Option<i64>,
    /// Deploy time.
    pub deploy: Option<i64>,
    /// Cycle time, ending as `cycle_end` says.
    pub cycle: Option<i64>,
    /// Where `cycle` ends.
    pub cycle_end: CycleEnd,
    /// Changed lines.
    pub size: Option<u64>,
    /// Stages whose span was negative (clock skew, rewritten commits) and
    /// were dropped to `None`.
    pub negative_spans_dropped: Vec<Stage>,
    /// The deployment said to contain the merge commit finished before the
    /// merge: a data error, so the pull request counts as not deployed.
    pub deployed_before_merge: bool,
    /// Activities by bots, ignored.
    pub bot_activities_ignored: usize,
    /// Activities by the author (self-reviews, replies), ignored.
    pub self_activities_ignored: usize,
    /// Activities by others dated before ready for review or after the
    /// merge (clock skew, imports, post-merge remarks), ignored.
    pub activities_outside_review: usize,
}

impl PrStages {
    /// The duration of `stage`, seconds.
    pub fn get(&self, stage: Stage) -> Option<i64> {
        match stage {
            Stage::Coding => self.coding,
            Stage::Pickup => self.pickup,
            Stage::Review => self.review,
            Stage::Deploy => self.deploy,
            Stage::Cycle => self.cycle,
        }
    }
}

/// The stages of `pr` (METRICS.md, the Flow table); `None` when it was not
/// merged, since stages are defined for merged pull requests only.
///
/// - Pickup and review start at the first activity of any kind by someone
///   other than the author and not a bot, dated within
///   `[ready for review, merge]`; earlier or later activity is ignored and
///   counted, so neither can be negative.
/// - Deploy and cycle end at `input.deployed_at(merge commit)`. A pull
///   request without a recorded merge commit cannot be linked and counts as
///   not deployed. A deployment finishing before the merge is a data error:
///   not deployed, `deployed_before_merge` set.
/// - When `input.deployments` is empty no deployment is known at all:
///   `input.deployed_at` is not consulted, there is no deploy stage, and
///   cycle time ends at the merge instead ([`CycleEnd::Merged`]).
/// - Any other negative span (a first commit dated after ready for review,
///   or after the end of the cycle) is dropped to `None` and recorded.
pub fn stages(pr: &PullRequest, input: &FlowInput<'_>) -> Option<PrStages> {
    let merged_at = pr.merged_at?;
    let ready_at = pr.ready_for_review();
    let first_commit_at = pr.commits.iter().map(|c| c.authored_at).min();

    let (mut bots, mut own, mut outside) = (0, 0, 0);
    let mut first_review_at: Option<Instant> = None;
    for activity in &pr.activities {
        if (input.is_bot)(&activity.author) {
            bots += 1;
        } else if *activity.author == *pr.author {
            own += 1;
        } else if activity.at < ready_at || activity.at > merged_at {
            outside += 1;
        } else {
            first_review_at = Some(first_review_at.map_or(activity.at, |first| first.min(activity.at)));
        }
    }

    // With no deployment known at all, whatever `deployed_at` says is not
    // trusted: the report is consistently "ends at merge".
    let cycle_end = if input.deployments.is_empty() { CycleEnd::Merged } else { CycleEnd::Deployed };
    let mut deployed_before_merge = false;
    let deployed_at = match pr.merge_commit.as_deref().filter(|_| cycle_end == CycleEnd::Deployed) {
        None => None,
        Some(sha) => match (input.deployed_at)(sha) {
            Some(finished) if finished < merged_at => {
                deployed_before_merge = true;
                None
            }
            other => other,
        },
    };
    let cycle_to = match cycle_end {
        CycleEnd::Deployed => deployed_at,
        CycleEnd::Merged => Some(merged_at),
    };

    let mut negative = Vec::new();
    let mut span = |stage: Stage, from: Option<Instant>, to: Option<Instant>| {
        let seconds = to? - from?;
        if seconds < 0 {
            negative.push(stage);
            return None;
        }
        Some(seconds)
    };
    let coding = span(Stage::Coding, first_commit_at, Some(ready_at));
    let pickup = span(Stage::Pickup, Some(ready_at), first_review_at);
    let review = span(Stage::Review, first_review_at, Some(merged_at));
    let deploy = span(Stage::Deploy, Some(merged_at), deployed_at);
    let cycle = span(Stage::Cycle, first_commit_at, cycle_to);

    Some(PrStages {
        id: pr.id.clone(),
        repo: pr.repo.clone(),
        number: pr.number,
        merged_at,
        first_commit_at,
        ready_at,
        first_review_at,
        deployed_at,
        coding,
        pickup,
        review,
        deploy,
        cycle,
        cycle_end,
        size: pr.size(),
        negative_spans_dropped: negative,
        deployed_before_merge,
        bot_activities_ignored: bots,
        self_activities_ignored: own,
        activities_outside_review: outside,
    })
}

/// Per-stage targets and the size limit. A stage breaches its target when
/// its duration is strictly greater (a pickup of exactly one business day
/// meets "≤ 1 business day").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct WorkingAgreements {
    /// Coding target, seconds.
    pub coding: Option<i64>,
    /// Pickup target, seconds; one [`BUSINESS_DAY`] by default.
    pub pickup: Option<i64>,
    /// Review target, seconds.
    pub review: Option<i64>,
    /// Deploy target, seconds.
    pub deploy: Option<i64>,
    /// Cycle target, seconds.
    pub cycle: Option<i64>,
    /// Largest size, changed lines; [`DEFAULT_MAX_SIZE`] by default.
    pub max_size: Option<u64>,
}

impl Default for WorkingAgreements {
    fn default() -> Self {
        WorkingAgreements {
            coding: None,
            pickup: Some(BUSINESS_DAY),
            review: None,
            deploy: None,
            cycle: None,
            max_size: Some(DEFAULT_MAX_SIZE),
        }
    }
}

impl WorkingAgreements {
    /// The target of `stage`, seconds.
    pub fn target(&self, stage: Stage) -> Option<i64> {
        match stage {
            Stage::Coding => self.coding,
            Stage::Pickup => self.pickup,
            Stage::Review => self.review,
            Stage::Deploy => self.deploy,
            Stage::Cycle => self.cycle,
        }
    }
}

/// The instants a stage of `row` runs between, when it was measured.
fn stage_span(row: &PrStages, stage: Stage) -> Option<(Instant, Instant)> {
    row.get(stage)?;
    let end_of_cycle = row.deployed_at.unwrap_or(row.merged_at);
    match stage {
        Stage::Coding => Some((row.first_commit_at?, row.ready_at)),
        Stage::Pickup => Some((row.ready_at, row.first_review_at?)),
        Stage::Review => Some((row.first_review_at?, row.merged_at)),
        Stage::Deploy => Some((row.merged_at, row.deployed_at?)),
        Stage::Cycle => Some((row.first_commit_at?, end_of_cycle)),
    }
}

/// Knobs of [`flow`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowOptions {
    /// Averaging convention of every summary (and of the bottleneck's
    /// median shares).
    pub average: Average,
    /// Working agreements.
    pub agreements: WorkingAgreements,
    /// `flow.stale_days`.
    pub stale_days: u32,
    /// The team's working time: when given, working agreements compare
    /// working time (a target of one day is one working day); stages are
    /// still reported in calendar time.
    pub calendar: Option<crate::calendar::WorkCalendar>,
}

impl Default for FlowOptions {
    fn default() -> Self {
        FlowOptions {
            average: Average::default(),
            agreements: WorkingAgreements::default(),
            stale_days: DEFAULT_STALE_DAYS,
            calendar: None,
        }
    }
}

/// The flow report of one window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlowReport {
    /// The window: pull requests merged in `[start, end)` are measured.
    pub window: Window,
    /// The instant WIP and staleness are measured at.
    pub now: Instant,
    /// Averaging convention of every summary.
    pub average: Average,
    /// Where cycle time ends for this report.
    pub cycle_end: CycleEnd,
    /// The working agreements checked.
    pub agreements: WorkingAgreements,
    /// The clock working agreements are measured on: `calendar time`, or
    /// the working hours (`working hours 09:00–17:00 Mon–Fri, UTC+00:00`).
    pub agreement_clock: String,
    /// `flow.stale_days` used.
    pub stale_days: u32,
    /// Coding time.
    pub coding: Metric<StageStats>,
    /// Pickup time.
    pub pickup: Metric<StageStats>,
    /// Review time.
    pub review: Metric<StageStats>,
    /// Deploy time.
    pub deploy: Metric<StageStats>,
    /// Cycle time.
    pub cycle: Metric<StageStats>,
    /// The stage taking the largest share of cycle time.
    pub bottleneck: Metric<Bottleneck>,
    /// Working-agreement breaches of the window's merged pull requests, in
    /// row order, stages before size.
    pub breaches: Vec<Breach>,
    /// Work in progress at `now`.
    pub wip: Metric<Wip>,
    /// Pull requests open at `now` with no activity for `stale_days`, idlest
    /// first.
    pub stale: Vec<StalePr>,
    /// Reviews given in the window.
    pub review_load: Metric<ReviewLoad>,
    /// Sizes of the window's merged pull requests.
    pub size: Metric<SizeDistribution>,
    /// One row per ISO week overlapping the window, in order.
    pub weekly: Vec<WeekThroughput>,
    /// One row per pull request merged in the window (bots' excluded), by
    /// merge time then id.
    pub rows: Vec<PrStages>,
    /// What was ignored or could not be measured, as counts.
    pub data: DataIssues,
    /// Things the reader should know about the numbers.
    pub warnings: Vec<String>,
    /// What the stages and the bottleneck were computed from
    /// ([`FlowSamples::stages`]): scopes that partition a larger one pool
    /// theirs ([`FlowSamples::pool`]). Not reported.
    #[serde(skip)]
    pub samples: FlowSamples,
}

/// What a window's stages and bottleneck are made of: each stage's
/// durations and share of the cycle over the merged pull requests.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FlowSamples {
    /// The window.
    pub window: Window,
    /// The averaging convention.
    pub average: Average,
    /// The working agreements (the bottleneck's target).
    pub agreements: WorkingAgreements,
    /// Whether any deployment is known (else cycle time ends at the merge).
    pub deployments_known: bool,
    /// Pull requests merged in the window (bots' left out).
    pub rows: usize,
    /// Per stage of [`Stage::ALL`]: the durations measured, seconds.
    pub durations: [Vec<f64>; 5],
    /// Per stage of [`Stage::ALL`]: rows whose span was negative.
    pub dropped: [usize; 5],
    /// Per stage of [`Stage::PARTS`]: `stage / cycle` over the rows with
    /// both and a positive cycle.
    pub shares: [Vec<f64>; 4],
}

impl FlowSamples {
    /// The samples of `rows`.
    pub fn of(rows: &[PrStages], window: Window, options: &FlowOptions, deployments_known: bool) -> FlowSamples {
        let mut samples = FlowSamples {
            window,
            average: options.average,
            agreements: options.agreements,
            deployments_known,
            rows: rows.len(),
            ..FlowSamples::default()
        };
        for row in rows {
            for (at, stage) in Stage::ALL.into_iter().enumerate() {
                if let Some(value) = row.get(stage) {
                    samples.durations[at].push(value as f64);
                }
            }
            for stage in &row.negative_spans_dropped {
                samples.dropped[Stage::ALL.iter().position(|s| s == stage).expect("a stage")] += 1;
            }
            if let Some(cycle) = row.cycle.filter(|&cycle| cycle > 0) {
                for (at, stage) in Stage::PARTS.into_iter().enumerate() {
                    if let Some(value) = row.get(stage) {
                        samples.shares[at].push(value as f64 / cycle as f64);
                    }
                }
            }
        }
        samples
    }

    /// The samples of scopes that partition a larger one (each pull request
    /// and deployment in exactly one), as that one's; `None` when measured
    /// over different windows or options, or when some know deployments
    /// and others none (their cycles end at different points).
    pub fn pool<'a>(parts: impl IntoIterator<Item = &'a FlowSamples>) -> Option<FlowSamples> {
        let mut parts = parts.into_iter();
        let mut pooled = parts.next()?.clone();
        for part in parts {
            if part.window != pooled.window
                || part.average != pooled.average
                || part.agreements != pooled.agreements
                || part.deployments_known != pooled.deployments_known
            {
                return None;
            }
            pooled.rows += part.rows;
            for (into, from) in pooled.durations.iter_mut().zip(&part.durations) {
                into.extend_from_slice(from);
            }
            for (into, from) in pooled.dropped.iter_mut().zip(&part.dropped) {
                *into += from;
            }
            for (into, from) in pooled.shares.iter_mut().zip(&part.shares) {
                into.extend_from_slice(from);
            }
        }
        Some(pooled)
    }

    /// Each stage's figures (in [`Stage::ALL`] order) and the bottleneck,
    /// as [`flow`] reports them.
    pub fn stages(&self) -> ([Metric<StageStats>; 5], Metric<Bottleneck>) {
        let stats = Stage::ALL.map(|stage| stage_stats(self, stage));
        let bottleneck = bottleneck(self, |stage| {
            stats[Stage::ALL.iter().position(|s| *s == stage).expect("a stage")].value().map(|s| s.summary.median)
        });
        (stats, bottleneck)
    }
}

/// A stage over the window's merged pull requests. `summary.count + missing
/// + negative_spans_dropped` is the number of rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageStats {
    /// Seconds.
    pub summary: Summary,
    /// Rows without this stage (no review, not deployed, no commits).
    pub missing: usize,
    /// Rows whose span was negative, dropped.
    pub negative_spans_dropped: usize,
}

/// One stage's share of cycle time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageShare {
    /// The stage.
    pub stage: Stage,
    /// Median (under the report's convention) of `stage / cycle` over the
    /// rows having both and a positive cycle; `None` when there are none.
    pub median_share: Option<f64>,
    /// How many rows that median is over.
    pub prs: usize,
}

/// The bottleneck: the stage with the largest median share of cycle time.
///
/// Shares are computed per pull request (`stage / cycle`) and then their
/// median taken per stage, so one huge pull request cannot make its slow
/// stage the bottleneck (as a ratio of summed times would). A pull request
/// lacking a stage (no review) does not enter that stage's median rather
/// than counting as a 0 share. Ties go to the earlier stage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bottleneck {
    /// The stage.
    pub stage: Stage,
    /// Its median share of cycle time, 0..1.
    pub median_share: f64,
    /// The stage's median duration, seconds (from its [`StageStats`]).
    pub median: f64,
    /// The stage's working-agreement target, seconds.
    pub target: Option<i64>,
    /// Whether `median` exceeds `target`; `None` without a target.
    pub breaches_agreement: Option<bool>,
    /// Every part of the cycle, in stage order.
    pub shares: Vec<StageShare>,
}

/// Which working agreement a [`Breach`] breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Agreement {
    /// Coding time target.
    Coding,
    /// Pickup time target.
    Pickup,
    /// Review time target.
    Review,
    /// Deploy time target.
    Deploy,
    /// Cycle time target.
    Cycle,
    /// Size limit.
    Size,
}

impl From<Stage> for Agreement {
    fn from(stage: Stage) -> Self {
        match stage {
            Stage::Coding => Agreement::Coding,
            Stage::Pickup => Agreement::Pickup,
            Stage::Review => Agreement::Review,
            Stage::Deploy => Agreement::Deploy,
            Stage::Cycle => Agreement::Cycle,
        }
    }
}

/// A merged pull request that broke a working agreement. Only measured
/// values can breach: a pull request merged without review has no pickup
/// time and so no pickup breach.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Breach {
    /// [`PullRequest::id`].
    pub pr: String,
    /// [`PullRequest::number`].
    pub number: u64,
    /// The agreement.
    pub agreement: Agreement,
    /// The measured value: seconds, or changed lines for size.
    pub value: i64,
    /// The agreement's limit, in the same unit.
    pub limit: i64,
}

/// Open pull requests per active author at `now`. Bots' pull requests are
/// left out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Wip {
    /// Open, non-draft pull requests.
    pub open_prs: usize,
    /// Open drafts (not work in review, so not WIP; their authors are
    /// still active).
    pub draft_prs: usize,
    /// Authors of at least one open pull request, draft or not.
    pub active_authors: usize,
    /// `open_prs / active_authors`.
    pub per_author: f64,
}

/// An open pull request with no activity for `stale_days`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StalePr {
    /// [`PullRequest::id`].
    pub pr: String,
    /// [`PullRequest::number`].
    pub number: u64,
    /// Whether it is a draft at `now` (stale drafts are listed too).
    pub draft: bool,
    /// [`PullRequest::last_activity`].
    pub last_activity: Instant,
    /// `now − last_activity`, seconds.
    pub idle: i64,
}

/// Submitted reviews (kind [`ActivityKind::Review`]) dated in the window,
/// on any pull request (open, merged or closed), by someone other than its
/// author and not a bot. Each submitted review counts, so rounds of
/// re-review count as the load they are; comments do not (they belong to a
/// review, or are conversation).
///
/// The Gini coefficient is over the people who reviewed at least once:
/// teammates who never reviewed are unknown here, so it understates
/// concentration in a team where few review.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewLoad {
    /// Reviews counted.
    pub reviews: usize,
    /// Distinct reviewers.
    pub reviewers: usize,
    /// Gini coefficient of reviews per reviewer: 0 = even.
    pub gini: f64,
    /// Share of `reviews` given by the busiest reviewer, 0..1.
    pub top_share: f64,
    /// Reviews per reviewer, largest first, without names.
    pub counts: Vec<usize>,
    /// Reviews per reviewer by login (alphabetical, not ranked). Not
    /// serialized: team-level by default, the application decides who sees
    /// names.
    #[serde(skip)]
    pub per_reviewer: Vec<(String, usize)>,
    /// Reviews in the window by the pull request's own author, left out.
    pub self_reviews_excluded: usize,
    /// Reviews in the window by bots, left out.
    pub bot_reviews_excluded: usize,
}

/// A range of pull-request sizes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SizeBucket {
    /// `0-50`, `51-200`, …, `1001+`.
    pub label: String,
    /// Smallest size in the bucket, changed lines.
    pub min: u64,
    /// Largest, inclusive; `None` for the last bucket.
    pub max: Option<u64>,
    /// Merged pull requests in it.
    pub prs: usize,
}

/// Sizes (changed lines) of the pull requests merged in the window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SizeDistribution {
    /// Changed lines.
    pub summary: Summary,
    /// Buckets bounded by [`SIZE_BUCKET_BOUNDS`], in order, empty ones too.
    pub buckets: Vec<SizeBucket>,
    /// Merged pull requests whose size the host did not give (in no bucket).
    pub unknown: usize,
}

/// Throughput of one ISO week (only events inside the window count), and
/// where the time of that week's merged pull requests went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeekThroughput {
    /// `2025-W05`.
    pub week: String,
    /// Monday 00:00 UTC.
    pub start: Instant,
    /// Pull requests merged (bots' excluded).
    pub merged_prs: usize,
    /// Deployments finished; `None` when no deployment is known at all
    /// (empty is not zero).
    pub deployments: Option<usize>,
    /// The median (under the report's convention) of each stage over the
    /// pull requests merged this week, seconds; `None` for a stage none of
    /// them has. Stacked, they draw the week's value stream: medians do
    /// not add up to the median cycle, so the stack is a picture of where
    /// time goes, not a cycle time.
    pub stages: WeekStages,
}

/// Median stage durations of one week's merged pull requests, seconds.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct WeekStages {
    /// Coding time.
    pub coding: Option<f64>,
    /// Pickup time.
    pub pickup: Option<f64>,
    /// Review time.
    pub review: Option<f64>,
    /// Deploy time.
    pub deploy: Option<f64>,
}

/// Counts of what the report ignored or could not measure, over the rows
/// unless said otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct DataIssues {
    /// Pull requests by bots merged in the window, left out of the rows.
    pub bot_prs_excluded: usize,
    /// Rows without commits: no coding or cycle time.
    pub prs_without_commits: usize,
    /// Rows without a recorded merge commit: cannot be linked to a
    /// deployment.
    pub prs_without_merge_commit: usize,
    /// Rows whose deployment finished before the merge (data error).
    pub deployed_before_merge: usize,
    /// Rows not deployed (including the two cases above); 0 when no
    /// deployment is known at all.
    pub not_deployed: usize,
    /// Negative stage spans dropped, over all stages.
    pub negative_spans_dropped: usize,
    /// Review activities by bots ignored.
    pub bot_activities_ignored: usize,
    /// Activities by the pull request's author ignored.
    pub self_activities_ignored: usize,
    /// Activities dated before ready for review or after the merge ignored.
    pub activities_outside_review: usize,
}

/// Computes the flow report: pull requests merged in `window`, WIP and
/// staleness at `now`.
pub fn flow(input: &FlowInput<'_>, window: Window, now: Instant, options: &FlowOptions) -> FlowReport {
    let is_bot = input.is_bot;
    let deployments_known = !input.deployments.is_empty();
    let cycle_end = if deployments_known { CycleEnd::Deployed } else { CycleEnd::Merged };
    let mut data = DataIssues::default();

    // Rows: merged in the window, not by a bot.
    let mut rows = Vec::new();
    for pr in input.prs {
        if !pr.merged_at.is_some_and(|t| window.contains(t)) {
            continue;
        }
        if is_bot(&pr.author) {
            data.bot_prs_excluded += 1;
            continue;
        }
        let Some(row) = stages(pr, input) else { continue };
        data.prs_without_commits += usize::from(pr.commits.is_empty());
        data.prs_without_merge_commit += usize::from(pr.merge_commit.is_none());
        rows.push(row);
    }
    rows.sort_by(|a, b| (a.merged_at, &a.id).cmp(&(b.merged_at, &b.id)));
    for row in &rows {
        data.deployed_before_merge += usize::from(row.deployed_before_merge);
        data.not_deployed += usize::from(deployments_known && row.deployed_at.is_none());
        data.negative_spans_dropped += row.negative_spans_dropped.len();
        data.bot_activities_ignored += row.bot_activities_ignored;
        data.self_activities_ignored += row.self_activities_ignored;
        data.activities_outside_review += row.activities_outside_review;
    }

    // Stages.
    let samples = FlowSamples::of(&rows, window, options, deployments_known);
    let ([coding, pickup, review, deploy, cycle], bottleneck) = samples.stages();

    // Working agreements.
    let mut breaches = Vec::new();
    for row in &rows {
        for stage in Stage::ALL {
            let (Some(value), Some(limit)) = (row.get(stage), options.agreements.target(stage)) else { continue };
            // In working time when the team has a calendar: the stage's span
            // counted in working hours, the target in working days.
            let (value, limit) = match (&options.calendar, stage_span(row, stage)) {
                (Some(calendar), Some((from, to))) => (calendar.working_seconds(from, to), calendar.as_working(limit)),
                _ => (value, limit),
            };
            if value > limit {
                breaches.push(Breach { pr: row.id.clone(), number: row.number, agreement: stage.into(), value, limit });
            }
        }
        if let (Some(size), Some(limit)) = (row.size, options.agreements.max_size)
            && size > limit
        {
            let lines = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
            breaches.push(Breach {
                pr: row.id.clone(),
                number: row.number,
                agreement: Agreement::Size,
                value: lines(size),
                limit: lines(limit),
            });
        }
    }

    let (wip, stale) = wip_and_stale(input, now, options.stale_days);
    let review_load = review_load(input, window);
    let size = size_distribution(&rows, options.average);

    // Weekly throughput.
    let weeks = window.weeks();
    let mut weekly: Vec<WeekThroughput> = weeks
        .iter()
        .map(|&start| WeekThroughput {
            week: time::iso_week_label(start),
            start,
            merged_prs: 0,
            deployments: deployments_known.then_some(0),
            stages: WeekStages::default(),
        })
        .collect();
    let week_of = |t: Instant| weeks.binary_search(&time::week_start(t)).ok();
    let mut merged_in: Vec<Vec<&PrStages>> = vec![Vec::new(); weeks.len()];
    for row in &rows {
        if let Some(week) = week_of(row.merged_at) {
            weekly[week].merged_prs += 1;
            merged_in[week].push(row);
        }
    }
    for (week, merged) in weekly.iter_mut().zip(&merged_in) {
        let median_of = |stage: Stage| {
            let values: Vec<f64> = merged.iter().filter_map(|row| row.get(stage)).map(|v| v as f64).collect();
            stats::median(&values, options.average)
        };
        week.stages = WeekStages {
            coding: median_of(Stage::Coding),
            pickup: median_of(Stage::Pickup),
            review: median_of(Stage::Review),
            deploy: median_of(Stage::Deploy),
        };
    }
    for deployment in input.deployments.iter().filter(|d| window.contains(d.finished_at)) {
        if let Some(n) = week_of(deployment.finished_at).and_then(|week| weekly[week].deployments.as_mut()) {
            *n += 1;
        }
    }

    let warnings = warnings(&rows, &data, deployments_known);
    FlowReport {
        window,
        now,
        average: options.average,
        cycle_end,
        agreements: options.agreements,
        agreement_clock: match &options.calendar {
            Some(calendar) => format!("working hours {}", calendar.describe()),
            None => "calendar time".to_string(),
        },
        stale_days: options.stale_days,
        coding,
        pickup,
        review,
        deploy,
        cycle,
        bottleneck,
        breaches,
        wip,
        stale,
        review_load,
        size,
        weekly,
        rows,
        data,
        warnings,
        samples,
    }
}

/// The summary of one stage over the rows, or why there is none.
fn stage_stats(samples: &FlowSamples, stage: Stage) -> Metric<StageStats> {
    let at = Stage::ALL.iter().position(|s| *s == stage).expect("a stage");
    let values = &samples.durations[at];
    let dropped = samples.dropped[at];
    let missing = samples.rows - values.len() - dropped;
    if let Some(summary) = stats::summarize(values, samples.average) {
        return Metric::Value(StageStats { summary, missing, negative_spans_dropped: dropped });
    }
    let reason = if samples.rows == 0 {
        "no pull request merged in the window".to_string()
    } else if stage == Stage::Deploy && !samples.deployments_known {
        NO_DEPLOYMENTS.to_string()
    } else {
        let why = match stage {
            Stage::Coding => "no commits",
            Stage::Pickup | Stage::Review => "no review activity by someone other than the author before the merge",
            Stage::Deploy => "not deployed yet, no merge commit, or a deployment dated before the merge",
            Stage::Cycle if samples.deployments_known => "no commits, or not deployed yet",
            Stage::Cycle => "no commits",
        };
        format!(
            "no {} time: of {} merged in the window, {missing} had none ({why}) and {} dropped",
            stage.name(),
            count(samples.rows, "pull request", "pull requests"),
            count(dropped, "negative span was", "negative spans were"),
        )
    };
    Metric::NoData { reason }
}

/// See [`Bottleneck`]. `median` gives each stage's median duration.
fn bottleneck(samples: &FlowSamples, median: impl Fn(Stage) -> Option<f64>) -> Metric<Bottleneck> {
    let shares: Vec<StageShare> = Stage::PARTS
        .iter()
        .zip(&samples.shares)
        .map(|(&stage, values)| StageShare {
            stage,
            median_share: stats::median(values, samples.average),
            prs: values.len(),
        })
        .collect();
    let mut best: Option<(Stage, f64)> = None;
    for share in &shares {
        if let Some(value) = share.median_share
            && best.is_none_or(|(_, top)| value > top)
        {
            best = Some((share.stage, value));
        }
    }
    let Some((stage, median_share)) = best else {
        return Metric::NoData {
            reason: if samples.rows == 0 {
                "no pull request merged in the window".to_string()
            } else {
                "no merged pull request of the window has a positive cycle time".to_string()
            },
        };
    };
    // A stage with a share has at least one value, hence a median.
    let median = median(stage).unwrap_or(f64::NAN);
    let target = samples.agreements.target(stage);
    Metric::Value(Bottleneck {
        stage,
        median_share,
        median,
        target,
        breaches_agreement: target.map(|target| median > target as f64),
        shares,
    })
}

/// WIP and stale pull requests at `now`; bots' pull requests left out.
fn wip_and_stale(input: &FlowInput<'_>, now: Instant, stale_days: u32) -> (Metric<Wip>, Vec<StalePr>) {
    let open: Vec<&PullRequest> =
        input.prs.iter().filter(|pr| pr.is_open_at(now) && !(input.is_bot)(&pr.author)).collect();
    let authors: BTreeSet<&str> = open.iter().map(|pr| pr.author.as_str()).collect();
    let drafts = open.iter().filter(|pr| pr.is_draft_at(now)).count();
    let wip = if authors.is_empty() {
        Metric::NoData { reason: format!("no pull request open at {}", time::format_datetime(now)) }
    } else {
        let open_prs = open.len() - drafts;
        Metric::Value(Wip {
            open_prs,
            draft_prs: drafts,
            active_authors: authors.len(),
            per_author: open_prs as f64 / authors.len() as f64,
        })
    };
    let threshold = i64::from(stale_days) * SECONDS_PER_DAY;
    let mut stale: Vec<StalePr> = open
        .iter()
        .filter_map(|pr| {
            let last_activity = pr.last_activity(now, input.is_bot);
            let idle = now - last_activity;
            (idle >= threshold).then(|| StalePr {
                pr: pr.id.clone(),
                number: pr.number,
                draft: pr.is_draft_at(now),
                last_activity,
                idle,
            })
        })
        .collect();
    stale.sort_by(|a, b| b.idle.cmp(&a.idle).then_with(|| a.pr.cmp(&b.pr)));
    (wip, stale)
}

/// See [`ReviewLoad`].
fn review_load(input: &FlowInput<'_>, window: Window) -> Metric<ReviewLoad> {
    let mut per_reviewer: BTreeMap<&str, usize> = BTreeMap::new();
    let (mut own, mut bots) = (0, 0);
    for pr in input.prs {
        for activity in &pr.activities {
            if activity.kind != ActivityKind::Review || !window.contains(activity.at) {
                continue;
            }
            if (input.is_bot)(&activity.author) {
                bots += 1;
            } else if *activity.author == *pr.author {
                own += 1;
            } else {
                *per_reviewer.entry(&activity.author).or_default() += 1;
            }
        }
    }
    let mut counts: Vec<usize> = per_reviewer.values().copied().collect();
    counts.sort_unstable_by(|a, b| b.cmp(a));
    let reviews: usize = counts.iter().sum();
    let values: Vec<f64> = counts.iter().map(|&n| n as f64).collect();
    let Some(gini) = stats::gini(&values) else {
        return Metric::NoData {
            reason: format!(
                "no review submitted in the window by someone other than the author \
                 ({own} self-reviews, {bots} bot reviews left out)"
            ),
        };
    };
    Metric::Value(ReviewLoad {
        reviews,
        reviewers: counts.len(),
        gini,
        top_share: counts.first().map_or(0.0, |&top| top as f64 / reviews as f64),
        counts,
        per_reviewer: per_reviewer.into_iter().map(|(login, n)| (login.to_string(), n)).collect(),
        self_reviews_excluded: own,
        bot_reviews_excluded: bots,
    })
}

/// See [`SizeDistribution`].
fn size_distribution(rows: &[PrStages], average: Average) -> Metric<SizeDistribution> {
    let known: Vec<u64> = rows.iter().filter_map(|row| row.size).collect();
    let unknown = rows.len() - known.len();
    let sizes: Vec<f64> = known.iter().map(|&size| size as f64).collect();
    let Some(summary) = stats::summarize(&sizes, average) else {
        let reason = if rows.is_empty() {
            "no pull request merged in the window".to_string()
        } else {
            format!(
                "the host gave no size for the {} merged in the window",
                count(unknown, "pull request", "pull requests")
            )
        };
        return Metric::NoData { reason };
    };
    let mut buckets = Vec::with_capacity(SIZE_BUCKET_BOUNDS.len() + 1);
    let mut min = 0;
    for max in SIZE_BUCKET_BOUNDS.iter().copied().map(Some).chain([None]) {
        let label = match max {
            Some(max) => format!("{min}-{max}"),
            None => format!("{min}+"),
        };
        let prs = known.iter().filter(|&&size| size >= min && max.is_none_or(|max| size <= max)).count();
        buckets.push(SizeBucket { label, min, max, prs });
        min = max.map_or(min, |max| max + 1);
    }
    Metric::Value(SizeDistribution { summary, buckets, unknown })
}

fn warnings(rows: &[PrStages], data: &DataIssues, deployments_known: bool) -> Vec<String> {
    let mut warnings = Vec::new();
    let prs = |n| count(n, "pull request", "pull requests");
    if !deployments_known {
        warnings.push(format!(
            "{NO_DEPLOYMENTS}; cycle time ends at the merge instead of the deployment \
             and there is no deploy time"
        ));
    }
    if data.bot_prs_excluded > 0 {
        warnings.push(format!("{} by bots merged in the window left out", prs(data.bot_prs_excluded)));
    }
    if data.negative_spans_dropped > 0 {
        let per_stage: Vec<String> = Stage::ALL
            .iter()
            .filter_map(|&stage| {
                let n = rows.iter().filter(|row| row.negative_spans_dropped.contains(&stage)).count();
                (n > 0).then(|| format!("{} {n}", stage.name()))
            })
            .collect();
        warnings.push(format!(
            "{} dropped (a first commit dated after the pull request was ready, clock skew): {}",
            count(data.negative_spans_dropped, "negative stage span", "negative stage spans"),
            per_stage.join(", ")
        ));
    }
    if data.deployed_before_merge > 0 {
        warnings.push(format!(
            "{} linked to a deployment that finished before the merge (data error): \
             counted as not deployed",
            prs(data.deployed_before_merge)
        ));
    }
    if data.prs_without_commits > 0 {
        warnings.push(format!("{} without commits: no coding or cycle time", prs(data.prs_without_commits)));
    }
    if deployments_known && data.prs_without_merge_commit > 0 {
        warnings.push(format!(
            "{} without a recorded merge commit: cannot be linked to a deployment",
            prs(data.prs_without_merge_commit)
        ));
    }
    if data.bot_activities_ignored > 0 {
        warnings.push(format!(
            "{} by bots ignored",
            count(data.bot_activities_ignored, "review activity", "review activities")
        ));
    }
    warnings
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::testing::deployment;
    use crate::time::days_from_civil;

    const H: i64 = 3600;
    const DAY: i64 = 86_400;

    /// Monday 2025-01-06 00:00 UTC, the first day of 2025-W02.
    fn t0() -> Instant {
        days_from_civil(2025, 1, 6) * DAY
    }

    fn is_bot(login: &str) -> bool {
        login.ends_with("[bot]")
    }

    /// An open, non-draft pull request `#number` by `author` opened at
    /// `created` (absolute), with no commits, activity or size.
    fn pr(number: u64, author: &str, created: Instant) -> PullRequest {
        PullRequest {
            id: format!("github:pr:acme/app#{number}"),
            repo: "acme/app".to_string(),
            number,
            author: author.to_string(),
            created_at: created,
            ready_at: None,
            draft: false,
            merged_at: None,
            closed_at: None,
            merge_commit: None,
            additions: 0,
            deletions: 0,
            size_unknown: false,
            commits: Vec::new(),
            activities: Vec::new(),
            updated_at: None,
        }
    }

    impl PullRequest {
        fn merged(mut self, at: Instant, commit: Option<&str>) -> Self {
            self.merged_at = Some(at);
            self.closed_at = Some(at);
            self.merge_commit = commit.map(str::to_string);
            self
        }
        fn commit(mut self, authored_at: Instant) -> Self {
            let sha = format!("c{}-{}", self.number, self.commits.len());
            self.commits.push(PrCommit { sha, author: self.author.clone(), authored_at });
            self
        }
        fn activity(mut self, author: &str, at: Instant, kind: ActivityKind) -> Self {
            self.activities.push(ReviewActivity { author: author.into(), at, kind });
            self
        }
        fn lines(mut self, additions: u64, deletions: u64) -> Self {
            (self.additions, self.deletions) = (additions, deletions);
            self
        }
    }

    use ActivityKind::{Comment, Review};

    /// Two weeks (2025-W02, W03) of a small team; `h(n)` is n hours after
    /// Monday 6 January 00:00, and every stage below is worked out by hand.
    ///
    /// | PR | author | first commit | ready      | 1st review | merged | deployed          |
    /// |----|--------|--------------|------------|------------|--------|-------------------|
    /// | #1 | alice  | 9            | 14 (draft) | 18 bob     | 34     | 36                |
    /// | #2 | bob    | 33           | 34         | —          | 36     | 57                |
    /// | #3 | carol  | 57           | 58         | 88 dave    | 89     | 105 (squash s3)   |
    /// | #4 | dave   | 178          | 177        | 180 alice  | 181    | 179: before merge |
    /// | #5 | alice  | — (none)     | 201        | 203 bob    | 204    | no merge commit   |
    ///
    /// #1 also has bob's comment at 12 (before ready), alice's self-review
    /// and a bot review at 15, carol's comment at 40 (after merge): all
    /// ignored. #2 has only its author's comment. #6 (dependabot) is merged
    /// in the window and left out; #7 was merged before the window. #8–#12
    /// are open or closed unmerged at `now` (the window's end, 14 days in).
    fn prs() -> Vec<PullRequest> {
        let t = t0();
        let h = |n: i64| t + n * H;
        let d = |n: i64| t + n * DAY;
        vec![
            PullRequest { ready_at: Some(h(14)), ..pr(1, "alice", h(10)) }
                .commit(h(9))
                .merged(h(34), Some("m1"))
                .activity("bob", h(12), Comment)
                .activity("alice", h(15), Review)
                .activity("ci-bot[bot]", h(15), Review)
                .activity("bob", h(18), Review)
                .activity("carol", h(40), Comment)
                .lines(30, 10),
            pr(2, "bob", h(34)).commit(h(33)).merged(h(36), Some("m2")).activity("bob", h(35), Comment).lines(150, 50),
            pr(3, "carol", h(58))
                .commit(h(80))
                .commit(h(57))
                .merged(h(89), Some("s3"))
                .activity("dave", h(88), Review)
                .lines(300, 200),
            pr(4, "dave", h(177))
                .commit(h(178))
                .merged(h(181), Some("m4"))
                .activity("alice", h(180), Review)
                .lines(1000, 500),
            pr(5, "alice", h(201)).merged(h(204), None).activity("bob", h(203), Review),
            pr(6, "dependabot[bot]", h(100)).commit(h(99)).merged(h(101), Some("m6")).lines(5, 5),
            pr(7, "alice", d(-5)).commit(d(-6)).merged(d(-2), Some("m7")).activity("dave", d(-3), Review),
            pr(8, "alice", d(12)).commit(d(12) - H).activity("carol", d(13), Review),
            PullRequest { draft: true, updated_at: Some(d(3)), ..pr(9, "bob", d(2)) }.commit(d(2) - H),
            pr(10, "carol", d(5)).commit(d(5) - 2 * H).activity("ci-bot[bot]", d(13), Comment),
            PullRequest { closed_at: Some(d(10)), ..pr(11, "alice", d(1)) },
            pr(12, "renovate[bot]", d(1)),
        ]
    }

    /// Deployments finishing at h(36), h(57), h(105), h(179), plus one the
    /// day before the window.
    fn deployments() -> Vec<Deployment> {
        let h = |n: i64| t0() + n * H;
        vec![
            deployment("v0", "old", t0() - DAY),
            deployment("v1", "m1", h(36)),
            deployment("v2", "m2", h(57)),
            deployment("v3", "s3", h(105)),
            deployment("v4", "m4", h(179)),
        ]
    }

    /// What `deployments::attribute` would say: the first deployment
    /// containing each merge commit. `m4` is listed as shipped by v4, which
    /// finished two hours before #4 was merged (a data error).
    fn deployed_map() -> HashMap<&'static str, Instant> {
        let h = |n: i64| t0() + n * H;
        HashMap::from([("m1", h(36)), ("m2", h(57)), ("s3", h(105)), ("m4", h(179)), ("m6", h(105))])
    }

    fn window() -> Window {
        Window { start: t0(), end: t0() + 14 * DAY }
    }

    fn report_with(deployments: &[Deployment], options: &FlowOptions) -> FlowReport {
        let prs = prs();
        let map = deployed_map();
        let deployed_at = |sha: &str| map.get(sha).copied();
        let input = FlowInput { prs: &prs, deployments, deployed_at: &deployed_at, is_bot: &is_bot };
        flow(&input, window(), window().end, options)
    }

    fn hours(seconds: Option<i64>) -> Option<f64> {
        seconds.map(|s| s as f64 / H as f64)
    }

    /// `(count, median, p75, p90)` in hours, plus `(missing, dropped)`.
    fn stage(metric: &Metric<StageStats>) -> ((usize, f64, f64, f64), (usize, usize)) {
        let stats = metric.value().expect("measured");
        let s = &stats.summary;
        let h = |v: f64| (v / H as f64 * 1e6).round() / 1e6;
        ((s.count, h(s.median), h(s.p75), h(s.p90)), (stats.missing, stats.negative_spans_dropped))
    }

    #[test]
    fn the_samples_of_scopes_that_partition_a_larger_one_pool_into_its_stages() {
        let options = FlowOptions::default();
        let report = report_with(&deployments(), &options);
        let (stats, bottleneck) = report.samples.stages();
        assert_eq!(
            stats,
            [&report.coding, &report.pickup, &report.review, &report.deploy, &report.cycle].map(Clone::clone)
        );
        assert_eq!(bottleneck, report.bottleneck);
        // Every way of splitting the rows in two pools back into the whole's figures.
        for cut in 0..=report.rows.len() {
            let (first, second) = report.rows.split_at(cut);
            let parts = [first, second].map(|rows| FlowSamples::of(rows, window(), &options, true));
            let pooled = FlowSamples::pool([&parts[1], &parts[0]]).expect("measured alike");
            assert_eq!(pooled.rows, report.samples.rows);
            assert_eq!(pooled.stages(), report.samples.stages(), "cut at {cut}");
        }
        // Cycles ending at different points do not pool.
        let merged_only = FlowSamples::of(&report.rows, window(), &options, false);
        assert!(FlowSamples::pool([&report.samples, &merged_only]).is_none());
    }

    #[test]
    fn stages_per_pull_request() {
        let report = report_with(&deployments(), &FlowOptions::default());
        assert_eq!(report.cycle_end, CycleEnd::Deployed);
        let rows: Vec<_> = report
            .rows
            .iter()
            .map(|r| (r.number, hours(r.coding), hours(r.pickup), hours(r.review), hours(r.deploy), hours(r.cycle)))
            .collect();
        assert_eq!(
            rows,
            vec![
                // Draft: coding 9 → 14 (ready_at, not creation at 10) = 5;
                // pickup 14 → 18 (bob's review; his comment at 12 predates
                // ready, alice's own and the bot's reviews at 15 do not
                // count) = 4; review 18 → 34 = 16; deploy 34 → 36 = 2;
                // cycle 9 → 36 = 27 = 5 + 4 + 16 + 2.
                (1, Some(5.0), Some(4.0), Some(16.0), Some(2.0), Some(27.0)),
                // Merged by its author without review: no pickup, no
                // review (not 0). Coding 33 → 34, deploy 36 → 57, cycle 33 → 57.
                (2, Some(1.0), None, None, Some(21.0), Some(24.0)),
                // Squash merge: s3 links it to v3. First commit is the
                // earliest (57, listed second). 57 → 58 → 88 → 89 → 105.
                (3, Some(1.0), Some(30.0), Some(1.0), Some(16.0), Some(48.0)),
                // First commit (178) after ready (177): coding −1 dropped.
                // v4 finished at 179, before the merge at 181: not deployed.
                (4, None, Some(3.0), Some(1.0), None, None),
                // No commits: no coding, no cycle; no merge commit: no deploy.
                (5, None, Some(2.0), Some(1.0), None, None),
            ]
        );
        let first = &report.rows[0];
        assert_eq!(
            (first.bot_activities_ignored, first.self_activities_ignored, first.activities_outside_review),
            (1, 1, 2)
        );
        assert_eq!(first.first_review_at, Some(t0() + 18 * H));
        assert_eq!(report.rows[3].negative_spans_dropped, vec![Stage::Coding]);
        assert!(report.rows[3].deployed_before_merge);
        assert!(report.rows.iter().all(|r| r.cycle_end == CycleEnd::Deployed));
        assert_eq!(
            report.data,
            DataIssues {
                bot_prs_excluded: 1,
                prs_without_commits: 1,
                prs_without_merge_commit: 1,
                deployed_before_merge: 1,
                not_deployed: 2,
                negative_spans_dropped: 1,
                bot_activities_ignored: 1,
                self_activities_ignored: 2,
                activities_outside_review: 2,
            }
        );
        // Bot PR, negative span, deployment before merge, no commits, no
        // merge commit, bot activity.
        assert_eq!(report.warnings.len(), 6, "{:#?}", report.warnings);
        assert!(report.warnings.iter().any(|w| w.contains("before the merge (data error)")), "{:?}", report.warnings);
        assert!(report.warnings.iter().any(|w| w.contains("1 negative stage span dropped") && w.contains("coding 1")));
    }

    #[test]
    fn stage_summaries() {
        let report = report_with(&deployments(), &FlowOptions::default());
        // Coding 1 1 5 h: median 1; p75 h = 1.5 → 1 + .5·4 = 3; p90 h = 1.8
        // → 1 + .8·4 = 4.2. #5 missing, #4 dropped.
        assert_eq!(stage(&report.coding), ((3, 1.0, 3.0, 4.2), (1, 1)));
        // Pickup 2 3 4 30 h: h = 1.5 → 3.5; h = 2.25 → 4 + .25·26 = 10.5;
        // h = 2.7 → 4 + .7·26 = 22.2. #2 missing.
        assert_eq!(stage(&report.pickup), ((4, 3.5, 10.5, 22.2), (1, 0)));
        // Review 1 1 1 16 h: 1; 1 + .25·15 = 4.75; 1 + .7·15 = 11.5.
        assert_eq!(stage(&report.review), ((4, 1.0, 4.75, 11.5), (1, 0)));
        // Deploy 2 16 21 h: 16; 16 + .5·5 = 18.5; 16 + .8·5 = 20. #4, #5 missing.
        assert_eq!(stage(&report.deploy), ((3, 16.0, 18.5, 20.0), (2, 0)));
        // Cycle 24 27 48 h: 27; 27 + .5·21 = 37.5; 27 + .8·21 = 43.8.
        assert_eq!(stage(&report.cycle), ((3, 27.0, 37.5, 43.8), (2, 0)));
    }

    #[test]
    fn bottleneck_is_the_largest_median_share() {
        let report = report_with(&deployments(), &FlowOptions::default());
        let bottleneck = report.bottleneck.value().expect("cycles");
        // Shares over #1 (cycle 27), #2 (24), #3 (48):
        // coding 5/27, 1/24, 1/48 → median 1/24;
        // pickup 4/27, 30/48 → median (4/27 + 30/48) / 2 ≈ 0.387;
        // review 16/27, 1/48 → median ≈ 0.307;
        // deploy 2/27, 21/24, 16/48 → median 1/3.
        let shares: Vec<_> = bottleneck.shares.iter().map(|s| (s.stage, s.median_share, s.prs)).collect();
        let close = |a: Option<f64>, b: f64| a.is_some_and(|a| (a - b).abs() < 1e-12);
        assert!(close(shares[0].1, 1.0 / 24.0) && shares[0].2 == 3, "{shares:?}");
        assert!(close(shares[1].1, (4.0 / 27.0 + 30.0 / 48.0) / 2.0) && shares[1].2 == 2, "{shares:?}");
        assert!(close(shares[2].1, (16.0 / 27.0 + 1.0 / 48.0) / 2.0) && shares[2].2 == 2, "{shares:?}");
        assert!(close(shares[3].1, 1.0 / 3.0) && shares[3].2 == 3, "{shares:?}");
        assert_eq!(bottleneck.stage, Stage::Pickup);
        // Its median is 3.5 h, within the default 24 h agreement.
        assert_eq!(bottleneck.median, 3.5 * H as f64);
        assert_eq!(bottleneck.target, Some(BUSINESS_DAY));
        assert_eq!(bottleneck.breaches_agreement, Some(false));
    }

    #[test]
    fn working_agreements_and_sizes() {
        let report = report_with(&deployments(), &FlowOptions::default());
        let breaches: Vec<_> = report.breaches.iter().map(|b| (b.number, b.agreement, b.value, b.limit)).collect();
        // #3 waited 30 h > 24 h for pickup and changed 500 lines; #4 1500 lines.
        // #1 (40), #2 (200, at most 400) and #5 (0) are within.
        assert_eq!(
            breaches,
            vec![(3, Agreement::Pickup, 30 * H, DAY), (3, Agreement::Size, 500, 400), (4, Agreement::Size, 1500, 400)]
        );
        let size = report.size.value().expect("merged PRs");
        // Sizes 0 40 200 500 1500: median 200; p75 h = 3 → 500; p90 h = 3.6
        // → 500 + .6·1000 = 1100.
        assert_eq!((size.summary.median, size.summary.p75, size.summary.p90), (200.0, 500.0, 1100.0));
        let buckets: Vec<_> = size.buckets.iter().map(|b| (b.label.as_str(), b.prs)).collect();
        // 0 and 40; 200 (bounds inclusive); none; 500; 1500.
        assert_eq!(buckets, vec![("0-50", 2), ("51-200", 1), ("201-400", 0), ("401-1000", 1), ("1001+", 1)]);
        assert_eq!(size.buckets[4].max, None);
    }

    #[test]
    fn wip_and_stale_at_now() {
        let report = report_with(&deployments(), &FlowOptions::default());
        // Open at day 14: #8 alice, #9 bob (draft), #10 carol; #11 closed,
        // #12 a bot's. 2 non-draft PRs over 3 active authors.
        let wip = report.wip.value().expect("open PRs");
        assert_eq!((wip.open_prs, wip.draft_prs, wip.active_authors), (2, 1, 3));
        assert_eq!(wip.per_author, 2.0 / 3.0);
        // #9: last activity its update at day 3 → 11 days idle. #10: created
        // day 5, the bot's comment at day 13 does not count → 9 days. #8:
        // carol's review at day 13 → 1 day, not stale.
        let stale: Vec<_> = report.stale.iter().map(|s| (s.number, s.draft, s.idle / DAY)).collect();
        assert_eq!(stale, vec![(9, true, 11), (10, false, 9)]);
        // Ten days: only #9.
        let options = FlowOptions { stale_days: 10, ..FlowOptions::default() };
        let stale: Vec<_> = report_with(&deployments(), &options).stale.iter().map(|s| s.number).collect();
        assert_eq!(stale, vec![9]);
    }

    #[test]
    fn review_load_and_its_gini() {
        let report = report_with(&deployments(), &FlowOptions::default());
        let load = report.review_load.value().expect("reviews");
        // Submitted reviews in the window by non-authors: bob on #1 and #5,
        // dave on #3, alice on #4, carol on #8. dave's review of #7 predates
        // the window; alice's self-review and the bot's are left out;
        // comments are not reviews.
        assert_eq!(
            load.per_reviewer,
            vec![("alice".into(), 1), ("bob".into(), 2), ("carol".into(), 1), ("dave".into(), 1)]
        );
        assert_eq!((load.reviews, load.reviewers), (5, 4));
        assert_eq!(load.counts, vec![2, 1, 1, 1]);
        // Sorted 1 1 1 2: 2·(1 + 2 + 3 + 8) / (4·5) − 5/4 = 1.4 − 1.25 = 0.15.
        assert!((load.gini - 0.15).abs() < 1e-12, "{}", load.gini);
        assert_eq!(load.top_share, 0.4);
        assert_eq!((load.self_reviews_excluded, load.bot_reviews_excluded), (1, 1));
    }

    #[test]
    fn weekly_throughput() {
        let report = report_with(&deployments(), &FlowOptions::default());
        let weeks: Vec<_> = report.weekly.iter().map(|w| (w.week.as_str(), w.merged_prs, w.deployments)).collect();
        // W02: #1 (Tue), #2 (Tue), #3 (Thu) merged; v1, v2, v3 finished.
        // W03: #4 (Mon), #5 (Tue); v4. The bot's #6 and v0 do not count.
        assert_eq!(weeks, vec![("2025-W02", 3, Some(3)), ("2025-W03", 2, Some(1))]);
        // Each week's stage medians, over the pull requests merged in it.
        // W02: coding 5, 1, 1 h → 1 h; pickup 4, 30 h (#2 has none) → 17 h;
        // review 16, 1 h → 8.5 h; deploy 2, 21, 16 h → 16 h.
        // W03: no commits (coding none); pickup 3, 2 h → 2.5 h; review 1 h;
        // not deployed.
        let h = |hours: f64| Some(hours * 3600.0);
        assert_eq!(
            report.weekly[0].stages,
            WeekStages { coding: h(1.0), pickup: h(17.0), review: h(8.5), deploy: h(16.0) }
        );
        assert_eq!(report.weekly[1].stages, WeekStages { coding: None, pickup: h(2.5), review: h(1.0), deploy: None });
    }

    #[test]
    fn without_deployments_cycle_ends_at_merge() {
        let report = report_with(&[], &FlowOptions::default());
        assert_eq!(report.cycle_end, CycleEnd::Merged);
        let cycles: Vec<_> = report.rows.iter().map(|r| (r.number, hours(r.cycle), r.deploy)).collect();
        // 9 → 34, 33 → 36, 57 → 89, 178 → 181 (the negative coding does not
        // touch the cycle), #5 has no commits. The deployed_at map is not
        // consulted when no deployment is known.
        assert_eq!(
            cycles,
            vec![
                (1, Some(25.0), None),
                (2, Some(3.0), None),
                (3, Some(32.0), None),
                (4, Some(3.0), None),
                (5, None, None)
            ]
        );
        assert!(report.rows.iter().all(|r| r.cycle_end == CycleEnd::Merged && !r.deployed_before_merge));
        // Cycle 3 3 25 32 h: median 14; #5 missing.
        assert_eq!(stage(&report.cycle).0.1, 14.0);
        assert_eq!(stage(&report.cycle).1, (1, 0));
        match &report.deploy {
            Metric::NoData { reason } => assert!(reason.contains("deploy.tag_pattern"), "{reason}"),
            Metric::Value(value) => panic!("deploy time without deployments: {value:?}"),
        }
        assert!(report.warnings[0].contains("cycle time ends at the merge"), "{:?}", report.warnings);
        // Not "deployed before merge", not "no merge commit": deployments are unknown.
        assert_eq!((report.data.not_deployed, report.data.deployed_before_merge), (0, 0));
        assert_eq!(report.warnings.len(), 5, "{:#?}", report.warnings);
        assert!(report.weekly.iter().all(|w| w.deployments.is_none()));
        // Shares of cycle: pickup 4/25, 30/32, 3/3 → median 0.9375, the
        // largest (coding: 5/25, 1/3, 1/32 → 0.2; review 16/25, 1/32, 1/3 → 1/3).
        let bottleneck = report.bottleneck.value().expect("cycles");
        assert_eq!((bottleneck.stage, bottleneck.median_share), (Stage::Pickup, 0.9375));
    }

    /// Two PRs, both deployed: first commit at 0, then
    /// Q1: ready 1, review 2, merged 3, deployed 30 → 1 1 1 27, cycle 30;
    /// Q2: ready 2, review 3, merged 4, deployed 14 → 2 1 1 10, cycle 14.
    /// Deploy shares .9 and 10/14 → median ≈ 0.807, by far the largest.
    #[test]
    fn bottleneck_breaching_its_agreement() {
        let h = |n: i64| t0() + n * H;
        let prs = [
            pr(1, "alice", h(1)).commit(h(0)).activity("bob", h(2), Review).merged(h(3), Some("q1")),
            pr(2, "bob", h(2)).commit(h(0)).activity("alice", h(3), Comment).merged(h(4), Some("q2")),
        ];
        let deployments = [deployment("v1", "q2", h(14)), deployment("v2", "q1", h(30))];
        let deployed_at = |sha: &str| match sha {
            "q1" => Some(h(30)),
            "q2" => Some(h(14)),
            _ => None,
        };
        let input = FlowInput { prs: &prs, deployments: &deployments, deployed_at: &deployed_at, is_bot: &is_bot };
        let agreements = WorkingAgreements { deploy: Some(12 * H), ..WorkingAgreements::default() };
        let options = FlowOptions { agreements, ..FlowOptions::default() };
        let report = flow(&input, window(), window().end, &options);
        let bottleneck = report.bottleneck.value().expect("cycles");
        assert_eq!(bottleneck.stage, Stage::Deploy);
        assert!((bottleneck.median_share - (0.9 + 10.0 / 14.0) / 2.0).abs() < 1e-12);
        // Median deploy time (27 + 10) / 2 = 18.5 h > 12 h.
        assert_eq!((bottleneck.median, bottleneck.breaches_agreement), (18.5 * H as f64, Some(true)));
        let breaches: Vec<_> = report.breaches.iter().map(|b| (b.number, b.agreement)).collect();
        assert_eq!(breaches, vec![(1, Agreement::Deploy)]);
        // Without a deploy target there is nothing to breach.
        let report = flow(&input, window(), window().end, &FlowOptions::default());
        assert_eq!(report.bottleneck.value().map(|b| b.breaches_agreement), Some(None));
        assert!(report.breaches.is_empty());
    }

    #[test]
    fn ties_go_to_the_earlier_stage_and_bounds_are_inclusive() {
        // Ready at 2; alice's review exactly at ready (pickup 0) and the
        // merge and deployment at 4: coding 2, pickup 0, review 2, deploy 0
        // of a 4 h cycle. Coding and review tie at 0.5: coding wins.
        let h = |n: i64| t0() + n * H;
        let prs = [pr(1, "bob", h(2)).commit(h(0)).activity("alice", h(2), Review).merged(h(4), Some("m"))];
        let deployments = [deployment("v1", "m", h(4))];
        let deployed_at = |_: &str| Some(h(4));
        let input = FlowInput { prs: &prs, deployments: &deployments, deployed_at: &deployed_at, is_bot: &is_bot };
        let row = stages(&prs[0], &input).expect("merged");
        assert_eq!(
            (row.coding, row.pickup, row.review, row.deploy, row.cycle),
            (Some(2 * H), Some(0), Some(2 * H), Some(0), Some(4 * H))
        );
        let report = flow(&input, window(), window().end, &FlowOptions::default());
        let bottleneck = report.bottleneck.value().expect("cycle");
        assert_eq!((bottleneck.stage, bottleneck.median_share), (Stage::Coding, 0.5));
        assert_eq!(bottleneck.breaches_agreement, None);
    }

    #[test]
    fn unmerged_pull_requests_have_no_stages() {
        let deployed_at = |_: &str| None;
        let input = FlowInput { prs: &[], deployments: &[], deployed_at: &deployed_at, is_bot: &is_bot };
        assert_eq!(stages(&pr(1, "alice", t0()), &input), None);
    }

    #[test]
    fn empty_is_not_zero() {
        let deployed_at = |_: &str| None;
        let input = FlowInput { prs: &[], deployments: &[], deployed_at: &deployed_at, is_bot: &is_bot };
        let report = flow(&input, window(), window().end, &FlowOptions::default());
        for metric in [&report.coding, &report.pickup, &report.review, &report.cycle] {
            match metric {
                Metric::NoData { reason } => assert_eq!(reason, "no pull request merged in the window"),
                Metric::Value(value) => panic!("measured nothing as {value:?}"),
            }
        }
        assert!(report.deploy.value().is_none());
        assert!(report.bottleneck.value().is_none());
        assert!(report.wip.value().is_none());
        assert!(report.review_load.value().is_none());
        assert!(report.size.value().is_none());
        assert!(report.rows.is_empty() && report.stale.is_empty() && report.breaches.is_empty());
        let weeks: Vec<_> = report.weekly.iter().map(|w| (w.merged_prs, w.deployments)).collect();
        assert_eq!(weeks, vec![(0, None), (0, None)]);
    }

    #[test]
    fn no_review_reason_names_the_cause() {
        // One PR merged by its author, never reviewed by anyone else.
        let h = |n: i64| t0() + n * H;
        let prs = [pr(1, "bob", h(2)).commit(h(0)).activity("bob", h(3), Review).merged(h(4), Some("m"))];
        let deployments = [deployment("v1", "m", h(5))];
        let deployed_at = |_: &str| Some(h(5));
        let input = FlowInput { prs: &prs, deployments: &deployments, deployed_at: &deployed_at, is_bot: &is_bot };
        let report = flow(&input, window(), window().end, &FlowOptions::default());
        match &report.pickup {
            Metric::NoData { reason } => assert_eq!(
                reason,
                "no pickup time: of 1 pull request merged in the window, 1 had none (no review \
                 activity by someone other than the author before the merge) and 0 negative spans were dropped"
            ),
            Metric::Value(value) => panic!("{value:?}"),
        }
        assert_eq!(stage(&report.cycle), ((1, 5.0, 5.0, 5.0), (0, 0)));
        let load = &report.review_load;
        assert!(matches!(load, Metric::NoData { reason } if reason.contains("1 self-reviews")), "{load:?}");
    }
}
