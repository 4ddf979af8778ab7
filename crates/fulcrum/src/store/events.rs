//! Pull requests, deployment events and incidents from hosts, CI and event
//! files, and the sync state of host sources (cursors, HTTP cache). Part of
//! the store: the only place that runs SQL.
//!
//! Upserts are keyed by what the source calls the item (`(repo, number)` for
//! a pull request, `(source, id)` for a deployment or incident), so a second
//! import or sync of the same item replaces it instead of duplicating it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::db::{ToParam, params};
use super::{Store, StoreError, sql_error};
use fulcrum_core::flow::{ActivityKind, PrCommit, PullRequest, ReviewActivity};
use fulcrum_core::model::CommitList;

/// A deployment event as a source reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentEvent {
    /// `import`, `github:owner/repo`, …
    pub source: String,
    /// The source's id of the deployment.
    pub external_id: String,
    /// Host repository slug, when known.
    pub repo: Option<String>,
    /// Service deployed.
    pub service: String,
    /// Environment deployed to.
    pub environment: String,
    /// Commit deployed.
    pub commit: String,
    /// Finish time, UTC seconds.
    pub finished_at: i64,
    /// `success`, `failure`, …
    pub status: String,
    /// Human label (release name, run name), when any.
    pub name: Option<String>,
    /// The commits it shipped, when the source knows them.
    pub commits: Option<CommitList>,
}

/// An incident as a source reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentEvent {
    /// `import`, `github:owner/repo`, …
    pub source: String,
    /// The source's id.
    pub external_id: String,
    /// The service affected.
    pub service: String,
    /// Title, when any.
    pub title: Option<String>,
    /// Start, UTC seconds.
    pub started_at: i64,
    /// Resolution, UTC seconds; `None` while open.
    pub resolved_at: Option<i64>,
    /// The deployment it is blamed on (the source's id).
    pub deployment: Option<String>,
    /// The commit it is blamed on.
    pub commit: Option<String>,
    /// The pull request it is blamed on, `owner/name#number`.
    pub pull_request: Option<String>,
}

/// What names a pull request for a reader.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrLabel {
    /// Its title.
    pub title: Option<String>,
    /// Its web address.
    pub url: Option<String>,
}

impl Store {
    /// Marks the incident `external_id` of `source` resolved at `at`, unless
    /// it is resolved already; whether it is stored.
    pub fn resolve_incident(&self, source: &str, external_id: &str, at: i64) -> Result<bool, StoreError> {
        let sql = self.sql();
        let exists: bool = self
            .db
            .query_row(
                "SELECT COUNT(*) FROM incidents WHERE source = ?1 AND external_id = ?2",
                params![source, external_id],
                |r| r.get::<i64>(0),
            )
            .map_err(&sql)?
            > 0;
        self.write(|db| {
            db.execute(
                "UPDATE incidents SET resolved_at = ?3 WHERE source = ?1 AND external_id = ?2 AND resolved_at IS NULL",
                params![source, external_id, at],
            )
        })?;
        Ok(exists)
    }

    /// Title and web address of the pull requests `keys` (`(repo, number)`)
    /// that are stored.
    pub fn pr_labels(&self, keys: &[(String, u64)]) -> Result<HashMap<(String, u64), PrLabel>, StoreError> {
        let mut labels = HashMap::new();
        self.each_pr_of(keys, "title, url", |repo, number, r| {
            labels.insert((repo.to_owned(), number), PrLabel { title: r.get(1)?, url: r.get(2)? });
            Ok(())
        })?;
        Ok(labels)
    }

    /// The merge commits (`None`: not merged, or none recorded) of the pull
    /// requests `keys` that are stored.
    pub fn pr_merge_commits(
        &self,
        keys: &[(String, u64)],
    ) -> Result<HashMap<(String, u64), Option<String>>, StoreError> {
        let mut found = HashMap::new();
        self.each_pr_of(keys, "merge_commit", |repo, number, r| {
            found.insert((repo.to_owned(), number), r.get(1)?);
            Ok(())
        })?;
        Ok(found)
    }

    /// Hands `each` the row (`number, columns…`) of every stored pull
    /// request of `keys`: one statement per repository and few hundred
    /// numbers, not one per pull request.
    fn each_pr_of(
        &self,
        keys: &[(String, u64)],
        columns: &str,
        mut each: impl FnMut(&str, u64, &super::db::Row<'_, '_>) -> Result<(), super::db::DbError>,
    ) -> Result<(), StoreError> {
        let mut by_repo: std::collections::BTreeMap<&str, Vec<i64>> = std::collections::BTreeMap::new();
        for (repo, number) in keys {
            by_repo.entry(repo.as_str()).or_default().push(*number as i64);
        }
        for (repo, numbers) in by_repo {
            for chunk in numbers.chunks(500) {
                let list: Vec<String> = (0..chunk.len()).map(|i| format!("?{}", i + 2)).collect();
                let mut values: Vec<&dyn ToParam> = vec![&repo];
                values.extend(chunk.iter().map(|n| n as &dyn ToParam));
                self.db
                    .for_each(
                        &format!(
                            "SELECT number, {columns} FROM pull_requests WHERE repo = ?1 AND number IN ({})",
                            list.join(", ")
                        ),
                        &values,
                        |r| each(repo, r.get::<i64>(0)? as u64, r),
                    )
                    .map_err(self.sql())?;
            }
        }
        Ok(())
    }

    /// How many pull requests each repository and source `filter` keeps
    /// holds (the caller checks each repository again): all, merged,
    /// merged without a recorded merge commit (what a windowed read of the
    /// pull requests adds up over all of them).
    pub fn pr_counts(&self, filter: &EventFilter) -> Result<Vec<PrCount>, StoreError> {
        let (condition, values, _) = self.pull_request_sql(filter)?;
        let bound: Vec<&dyn ToParam> = values.iter().map(|v| v as &dyn ToParam).collect();
        let glue = if condition.is_empty() { " WHERE" } else { " AND" };
        let mut counts = self
            .db
            .query_map(
                &format!(
                    "SELECT p.repo, p.source, COUNT(*), COUNT(p.merged_at) FROM pull_requests p{condition}
                     GROUP BY p.repo, p.source ORDER BY p.repo, p.source"
                ),
                &bound,
                |r| {
                    Ok(PrCount {
                        repo: r.get(0)?,
                        source: r.get(1)?,
                        stored: usize::try_from(r.get::<i64>(2)?).unwrap_or(0),
                        merged: usize::try_from(r.get::<i64>(3)?).unwrap_or(0),
                        merged_without_commit: 0,
                        left_out_merge: None,
                    })
                },
            )
            .map_err(self.sql())?;
        // A partial index holds just these. SQLite is told so: it knows no
        // better than that `merge_commit IS NULL` is one row of the merge
        // commits' index, where it is every open or closed pull request, each
        // looked up in the table (a fifth of a team's report at 2,000,000).
        // PostgreSQL's statistics count the nulls.
        let indexed = if self.db.is_postgres() { "" } else { " INDEXED BY pull_requests_merged_without_commit" };
        self.db
            .for_each(
                &format!(
                    "SELECT p.repo, p.source, COUNT(*) FROM pull_requests p{indexed}{condition}{glue} \
                     p.merged_at IS NOT NULL AND p.merge_commit IS NULL GROUP BY p.repo, p.source"
                ),
                &bound,
                |r| {
                    let (repo, source): (String, String) = (r.get(0)?, r.get(1)?);
                    if let Some(count) = counts.iter_mut().find(|c| c.repo == repo && c.source == source) {
                        count.merged_without_commit = usize::try_from(r.get::<i64>(2)?).unwrap_or(0);
                    }
                    Ok(())
                },
            )
            .map_err(self.sql())?;
        Ok(counts)
    }

    /// For each of `counts` (a repository's pull requests from one source)
    /// with merge commits, whose repository is not in `covered`: the
    /// earliest merge of one with a merge commit, when before `before`
    /// (`PrCount::left_out_merge`). One index seek each (`pull_requests_counts`);
    /// one pass over the rows while an import's indexes are deferred.
    pub fn first_merges_before(
        &self,
        counts: &mut [PrCount],
        covered: &HashSet<&str>,
        before: i64,
    ) -> Result<(), StoreError> {
        let wanted =
            |count: &PrCount| count.merged > count.merged_without_commit && !covered.contains(count.repo.as_str());
        if super::deferred_indexes(&self.db).map_err(self.sql())?.is_some() {
            // While an import's indexes are deferred (under way, or killed
            // before its end): one pass over the rows, not one per count.
            let mut first: HashMap<(String, String), i64> = HashMap::new();
            self.db
                .for_each(
                    "SELECT p.repo, p.source, MIN(p.merged_at) FROM pull_requests p
                     WHERE p.merged_at < ?1 AND p.merge_commit IS NOT NULL GROUP BY p.repo, p.source",
                    params![before],
                    |r| {
                        first.insert((r.get(0)?, r.get(1)?), r.get(2)?);
                        Ok(())
                    },
                )
                .map_err(self.sql())?;
            for count in counts.iter_mut().filter(|c| wanted(c)) {
                count.left_out_merge = first.get(&(count.repo.clone(), count.source.clone())).copied();
            }
            return Ok(());
        }
        for count in counts.iter_mut() {
            if !wanted(count) {
                continue;
            }
            count.left_out_merge = self
                .db
                .query_opt(
                    "SELECT p.merged_at FROM pull_requests p
                     WHERE p.repo = ?1 AND p.source = ?2 AND p.merged_at < ?3 AND p.merge_commit IS NOT NULL
                     ORDER BY p.merged_at LIMIT 1",
                    params![count.repo, count.source, before],
                    |r| r.get(0),
                )
                .map_err(self.sql())?;
        }
        Ok(())
    }

    /// `(merged_at, repo, number)` of every merged pull request `filter`
    /// keeps, in storage order.
    pub fn pr_merges(&self, filter: &EventFilter) -> Result<Vec<(i64, String, u64)>, StoreError> {
        let (condition, values, _) = self.pull_request_sql(filter)?;
        let bound: Vec<&dyn ToParam> = values.iter().map(|v| v as &dyn ToParam).collect();
        let glue = if condition.is_empty() { " WHERE" } else { " AND" };
        let mut merges = Vec::new();
        self.db
            .for_each(
                &format!(
                    "SELECT p.merged_at, p.repo, p.number FROM pull_requests p{condition}{glue} p.merged_at IS NOT NULL \
                     ORDER BY p.id"
                ),
                &bound,
                |r| {
                    let repo: String = r.get(1)?;
                    if filter.keeps_repo(&repo) {
                        merges.push((r.get(0)?, repo, r.get::<i64>(2)? as u64));
                    }
                    Ok(())
                },
            )
            .map_err(self.sql())?;
        Ok(merges)
    }
}

/// A windowed read of deployments and pull requests ([`Store::load_window`]).
pub struct Window {
    /// What [`Store::load_deployments`] reads.
    pub deployments: Vec<DeploymentEvent>,
    /// What [`Store::load_pull_requests`] reads, except that each commit
    /// of a pull request comes with its author time only (`sha` and
    /// `author` empty): a window's reports and flows read nothing else of
    /// them (work items, which link by commit id, read every pull request).
    pub prs: Vec<PullRequest>,
    /// What [`Store::pr_counts`] reads, when counted on the way.
    pub counts: Option<Vec<PrCount>>,
    /// When asked for: the title and web address of each pull request read
    /// that has either (what [`Store::pr_labels`] gives for them).
    pub labels: Option<HashMap<(String, u64), PrLabel>>,
    /// How long the deployments took.
    pub deployments_in: std::time::Duration,
    /// The row id of each of `deployments`.
    pub deployment_ids: Vec<i64>,
    /// Whence the deployments were read ([`Store::read_deployments`]):
    /// `None`, every one.
    pub deployments_from: Option<i64>,
}

/// How far a windowed read of pull requests reaches (see
/// [`Store::load_pull_requests`]).
#[derive(Debug, Clone, Default)]
pub struct PrReach<'a> {
    /// The earliest time a report of the read looks at.
    pub at: i64,
    /// The commits the scope's deployments finishing at or after `at` ship
    /// (their listed commits, else their own).
    pub shipped: Vec<&'a str>,
}

impl<'a> PrReach<'a> {
    /// The reach of windows starting at `at`, for a scope whose
    /// deployments are `deployments`.
    pub fn shipped_by(at: i64, deployments: &'a [DeploymentEvent]) -> PrReach<'a> {
        let mut shipped: Vec<&str> = Vec::new();
        for d in deployments.iter().filter(|d| d.finished_at >= at) {
            match &d.commits {
                Some(list) => shipped.extend(list.iter()),
                None => shipped.push(&d.commit),
            }
        }
        shipped.sort_unstable();
        shipped.dedup();
        PrReach { at, shipped }
    }
}

/// How a read of pull requests reads what a filter keeps: by the filter's
/// condition in SQL (`condition`, bound to `values`; empty: every row,
/// each checked in Rust), and how many rows it keeps of about how many.
#[derive(Clone)]
struct Plan {
    condition: String,
    values: Vec<String>,
    kept: usize,
    all: usize,
}

/// How a read of pull requests decides which rows the windows reach.
enum Reach<'r, 'd> {
    /// Every row.
    All,
    /// By a reach known before the read.
    Now(&'r PrReach<'d>),
    /// Since a time; the deployments (which decide the rows merged before
    /// it) come from `deployments` once the rows are read, with the rows
    /// they ship when those were looked up beside them ([`Store::shipped_rows`]).
    /// `None` from it: they could not be read (the caller has the error),
    /// and the read ends with no rows.
    Later(i64, &'r dyn Fn() -> Option<Shipped<'d>>),
}

/// The deployments a window's read waits for, and the rows before the
/// window they ship when already looked up.
type Shipped<'d> = (&'d [DeploymentEvent], Option<&'d [i64]>);

/// What reaches a window by time, beside the rows its deployments ship.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReachBy {
    /// An event since its start, or being open (every report).
    LastEvent,
    /// A merge since its start: a read for figures of the window alone
    /// (the five keys, the flow's stages), which count no open pull
    /// request and only merged ones' merge commits.
    Merge,
}

impl ReachBy {
    /// The column read for it, as `read_pull_requests` selects them.
    fn column(self) -> usize {
        match self {
            ReachBy::LastEvent => 15,
            ReachBy::Merge => 7,
        }
    }

    /// Whether a row whose column holds `value` is reached from `at`.
    fn reaches(self, value: Option<i64>, at: i64) -> bool {
        match self {
            ReachBy::LastEvent => value.is_none_or(|last| last >= at),
            ReachBy::Merge => value.is_some_and(|merged| merged >= at),
        }
    }

    /// The SQL condition (on `p`) of [`ReachBy::reaches`] (`at` an
    /// integer, formatted in).
    fn sql(self, at: i64) -> String {
        match self {
            ReachBy::LastEvent => format!("(p.last_event_at IS NULL OR p.last_event_at >= {at})"),
            ReachBy::Merge => format!("p.merged_at >= {at}"),
        }
    }

    /// The rows it does not reach that a deployment may ship (on `p`).
    fn before_sql(self, at: i64) -> String {
        match self {
            ReachBy::LastEvent => format!("p.last_event_at < {at}"),
            ReachBy::Merge => format!("p.merged_at < {at}"),
        }
    }

    /// Its column in SQL.
    fn column_sql(self) -> &'static str {
        match self {
            ReachBy::LastEvent => "p.last_event_at",
            ReachBy::Merge => "p.merged_at",
        }
    }
}

/// [`PrCount`]s of pull request rows as a read goes by them (columns as
/// `read_pull_requests` selects them: 1 repository, 3 source, 7 merge
/// time, 9 merge commit). Rows come grouped by repository, so the last
/// group is tried first, its names compared where they lie.
#[derive(Default)]
struct Tally {
    counts: Vec<PrCount>,
    last: usize,
}

impl Tally {
    fn add(&mut self, row: &super::db::Row<'_, '_>) -> Result<(), super::db::DbError> {
        let merged = !row.is_null(7)?;
        let without_commit = merged && row.is_null(9)?;
        let same = match self.counts.get(self.last) {
            Some(c) => row.with_text(1, |repo| repo == c.repo)? && row.with_text(3, |source| source == c.source)?,
            None => false,
        };
        if !same {
            let (repo, source): (String, String) = (row.get(1)?, row.get(3)?);
            self.last = match self.counts.iter().position(|c| c.repo == repo && c.source == source) {
                Some(i) => i,
                None => {
                    self.counts.push(PrCount {
                        repo,
                        source,
                        stored: 0,
                        merged: 0,
                        merged_without_commit: 0,
                        left_out_merge: None,
                    });
                    self.counts.len() - 1
                }
            };
        }
        let count = &mut self.counts[self.last];
        count.stored += 1;
        count.merged += usize::from(merged);
        count.merged_without_commit += usize::from(without_commit);
        Ok(())
    }

    fn merge(&mut self, other: Tally) {
        for theirs in other.counts {
            match self.counts.iter_mut().find(|c| c.repo == theirs.repo && c.source == theirs.source) {
                Some(ours) => {
                    ours.stored += theirs.stored;
                    ours.merged += theirs.merged;
                    ours.merged_without_commit += theirs.merged_without_commit;
                }
                None => self.counts.push(theirs),
            }
        }
    }

    /// The counts of the repositories `filter` keeps (a read may have gone
    /// by every row), in [`Store::pr_counts`]'s order.
    fn into_counts(mut self, filter: &EventFilter) -> Vec<PrCount> {
        self.counts.retain(|c| filter.keeps_repo(&c.repo));
        self.counts.sort_by(|a, b| (&a.repo, &a.source).cmp(&(&b.repo, &b.source)));
        self.counts
    }
}

/// What `Store::read_pull_requests` read.
struct PrRead {
    prs: Vec<PullRequest>,
    counts: Option<Vec<PrCount>>,
    labels: Option<HashMap<(String, u64), PrLabel>>,
}

/// Pull requests read, in id order: their row ids and the rows.
struct Read {
    ids: Vec<i64>,
    prs: Vec<PullRequest>,
}

impl Read {
    /// Into id order, in place: a window's rows are hundreds of
    /// megabytes, which a sorted copy would hold twice.
    fn sort(&mut self) {
        if self.ids.is_sorted() {
            return;
        }
        let mut order: Vec<usize> = (0..self.ids.len()).collect();
        order.sort_unstable_by_key(|&i| self.ids[i]);
        reorder(order, |a, b| {
            self.ids.swap(a, b);
            self.prs.swap(a, b);
        });
    }
}

/// Moves what is at `order[k]` to `k`, for every `k`, by swaps (`swap(a,
/// b)` exchanges two positions of every vector so ordered): no copy of
/// the items. `order` must be a permutation of its positions.
fn reorder(mut order: Vec<usize>, mut swap: impl FnMut(usize, usize)) {
    for start in 0..order.len() {
        // Each cycle of the permutation once: its places are marked done
        // (`order[k] == k`) as they are filled.
        let mut at = start;
        loop {
            let from = order[at];
            order[at] = at;
            if from == start || from == at {
                break;
            }
            swap(at, from);
            at = from;
        }
    }
}

/// What a read decided of one pull request row.
#[allow(clippy::large_enum_variant)] // returned for each row and taken apart at once
enum Decided {
    Kept(i64, PullRequest),
    /// Reached only if its merge commit (`.1`, its [`merge_hash`]) was
    /// shipped since the window's start: decided once the deployments are
    /// known.
    Pending(i64, u64),
    Dropped,
}

/// A merge commit's hash, which stands for it among the rows pending the
/// deployments (an organisation's window on SQLite leaves 1.5 million
/// pending: an owned copy of each was 0.3 s of allocations). A row whose
/// hash matches a shipped commit's is read again and checked by its merge
/// commit itself, so two ids of one hash cost a read, never a wrong row.
pub(super) fn merge_hash(merge_commit: &str) -> u64 {
    use std::hash::BuildHasher;
    std::hash::BuildHasherDefault::<fulcrum_core::model::IdHasher>::default().hash_one(merge_commit)
}

/// The pull requests of one repository and source, counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrCount {
    /// The repository slug.
    pub repo: String,
    /// `import`, `github:owner/repo`, …
    pub source: String,
    /// Pull requests stored.
    pub stored: usize,
    /// Of those, merged.
    pub merged: usize,
    /// Merged without a recorded merge commit.
    pub merged_without_commit: usize,
    /// Set by a windowed read ([`Store::first_merges_before`]): the
    /// earliest merge of these pull requests with a merge commit, when
    /// before the read's reach and none read was merged before it.
    pub left_out_merge: Option<i64>,
}

/// A page kept for conditional requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedPage {
    /// Its ETag.
    pub etag: String,
    /// Its body.
    pub body: String,
    /// Its `rel="next"` link (a 304 need not repeat it).
    pub next: Option<String>,
}

/// Counts of what a batch wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct EventCounts {
    /// Pull requests inserted or replaced.
    pub pull_requests: usize,
    /// Deployments inserted or replaced.
    pub deployments: usize,
    /// Incidents inserted or replaced.
    pub incidents: usize,
    /// Work items inserted or replaced.
    #[serde(skip_serializing_if = "is_zero")]
    pub items: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// A work item as a source gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemEvent {
    /// Where it came from.
    pub source: String,
    /// The tracker's key.
    pub external_id: String,
    /// Its title.
    pub title: Option<String>,
    /// Story, bug, task, …
    pub kind: Option<String>,
    /// Its project or service.
    pub project: Option<String>,
    /// Created.
    pub created_at: i64,
    /// Status moves: time, status name, category (`todo`, `in_progress`,
    /// `done`) when the source says.
    pub transitions: Vec<(i64, String, Option<String>)>,
    /// Pull requests it names (`owner/name#number`).
    pub links: Vec<String>,
    /// Its estimate (story points).
    pub points: Option<f64>,
    /// The last sprint it was in.
    pub sprint: Option<String>,
}

/// One batch of items to write in one transaction. `raw` is the payload as
/// received, kept for replay and debugging (`None` when the source keeps it,
/// as an event file does).
#[derive(Debug, Clone, Default)]
pub struct EventBatch {
    /// Pull requests with their source, raw payload, title and web address.
    pub pull_requests: Vec<(PullRequest, String, Option<String>, PrLabel)>,
    /// Deployments with their raw payload.
    pub deployments: Vec<(DeploymentEvent, Option<String>)>,
    /// Incidents with their raw payload.
    pub incidents: Vec<(IncidentEvent, Option<String>)>,
    /// Work items with their raw payload.
    pub items: Vec<(ItemEvent, Option<String>)>,
}

/// `batch` with every forgotten identity (by the SHA-256 of its lower-cased
/// text) replaced by its pseudonym; a pull request naming one loses its raw
/// payload.
fn pseudonymize(batch: &EventBatch, forgotten: &HashMap<String, String>) -> EventBatch {
    let mut out = batch.clone();
    let pseudonym = |who: &str| forgotten.get(&crate::trust::sha256_hex(who.to_lowercase().as_bytes()));
    let swap = |who: &mut String| -> bool {
        match pseudonym(who) {
            Some(pseudonym) => {
                *who = pseudonym.clone();
                true
            }
            None => false,
        }
    };
    for (pr, _, raw, _) in &mut out.pull_requests {
        let mut named = swap(&mut pr.author);
        for commit in &mut pr.commits {
            named |= swap(&mut commit.author);
        }
        for activity in &mut pr.activities {
            if let Some(pseudonym) = pseudonym(&activity.author) {
                activity.author = pseudonym.as_str().into();
                named = true;
            }
        }
        if named {
            *raw = None;
        }
    }
    out
}

impl EventBatch {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.pull_requests.is_empty()
            && self.deployments.is_empty()
            && self.incidents.is_empty()
            && self.items.is_empty()
    }
}

/// Which stored items a report reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Pull requests of these repositories (slugs) and deployments whose
    /// `repo` is one of them; empty means all.
    pub repos: Vec<String>,
    /// Deployments and incidents of these services; empty means all.
    pub services: Vec<String>,
}

impl EventFilter {
    /// An entry `owner/name` matches that slug; an entry without `/` matches
    /// any slug whose last part it is (a git repository's directory name).
    pub fn keeps_repo(&self, repo: &str) -> bool {
        let name = repo.rsplit('/').next().unwrap_or(repo);
        self.repos.is_empty()
            || self
                .repos
                .iter()
                .any(|r| if r.contains('/') { r.eq_ignore_ascii_case(repo) } else { r.eq_ignore_ascii_case(name) })
    }

    /// A deployment of `service` (from `repo`, when known): one of the
    /// filter's services, or one of its repositories.
    pub fn keeps_deployment(&self, repo: Option<&str>, service: &str) -> bool {
        if self.repos.is_empty() && self.services.is_empty() {
            return true;
        }
        self.services.iter().any(|s| s == service) || repo.is_some_and(|r| !self.repos.is_empty() && self.keeps_repo(r))
    }
}

impl EventFilter {
    /// [`EventFilter::keeps_deployment`] for many rows: the services in a
    /// set, each repository decided once (an organisation's filter names
    /// hundreds of each).
    pub fn deployment_keeper(&self) -> impl FnMut(Option<&str>, &str) -> bool + '_ {
        let services: std::collections::HashSet<&str> = self.services.iter().map(String::as_str).collect();
        let mut repos: HashMap<String, bool> = HashMap::new();
        move |repo, service| {
            if self.repos.is_empty() && self.services.is_empty() || services.contains(service) {
                return true;
            }
            let Some(repo) = repo.filter(|_| !self.repos.is_empty()) else { return false };
            match repos.get(repo) {
                Some(&kept) => kept,
                None => *repos.entry(repo.to_owned()).or_insert_with(|| self.keeps_repo(repo)),
            }
        }
    }

    /// An incident of `service`: one of the filter's services (any without).
    pub fn keeps_incident(&self, service: &str) -> bool {
        self.services.is_empty() || self.services.iter().any(|s| s == service)
    }

    /// A condition on `column` (a service) for the filter's services.
    fn service_condition(&self, column: &str, values: &mut Vec<String>) -> Option<String> {
        if self.services.is_empty() {
            return None;
        }
        let mut parts = Vec::new();
        for service in &self.services {
            values.push(service.clone());
            parts.push(format!("?{}", values.len()));
        }
        Some(format!("{column} IN ({})", parts.join(", ")))
    }
}

/// `column IN (?…)` over `repos` (slugs as stored), `1 = 0` for none.
fn repo_list(column: &str, repos: &[String], values: &mut Vec<String>) -> String {
    if repos.is_empty() {
        return "1 = 0".to_owned();
    }
    let mut parts = Vec::new();
    for repo in repos {
        values.push(repo.clone());
        parts.push(format!("?{}", values.len()));
    }
    format!("{column} IN ({})", parts.join(", "))
}

impl Store {
    /// The stored repository slugs of `table` that `filter` keeps: the
    /// filter's names (any owner, any case) resolved to exact values once,
    /// so the reads after it compare by equality (and use the index); and
    /// how many distinct slugs are stored.
    fn kept_repos(&self, table: &str, filter: &EventFilter) -> Result<(Vec<String>, usize), StoreError> {
        let mut kept = Vec::new();
        let mut stored = 0;
        self.each_distinct(table, "repo", |repo| {
            stored += 1;
            if filter.keeps_repo(&repo) {
                kept.push(repo);
            }
        })?;
        Ok((kept, stored))
    }

    /// Each distinct value of `column` (indexed) in `table` but NULL, in
    /// order: one index seek each (a loose index scan), not a pass over
    /// millions of rows.
    fn each_distinct(&self, table: &str, column: &str, mut each: impl FnMut(String)) -> Result<(), StoreError> {
        let distinct = format!(
            "WITH RECURSIVE r(v) AS (
                 SELECT MIN({column}) FROM {table}
                 UNION ALL
                 SELECT (SELECT MIN(t.{column}) FROM {table} t WHERE t.{column} > r.v) FROM r WHERE r.v IS NOT NULL
             ) SELECT v FROM r WHERE v IS NOT NULL"
        );
        self.db
            .for_each(&distinct, params![], |r| {
                each(r.get(0)?);
                Ok(())
            })
            .map_err(self.sql())
    }

    /// Whether `filter` keeps every deployment stored by its services
    /// alone: it names each service stored (an organisation's teams').
    fn keeps_every_service(&self, filter: &EventFilter) -> Result<bool, StoreError> {
        if filter.services.is_empty() {
            return Ok(false);
        }
        let named: HashSet<&str> = filter.services.iter().map(String::as_str).collect();
        let mut every = true;
        self.each_distinct("deployments", "service", |service| every &= named.contains(service.as_str()))?;
        Ok(every)
    }

    /// `WHERE …` for pull requests (aliased `p`), with its parameters, and
    /// how many repositories have pull requests stored (0 without a filter:
    /// not counted).
    fn pull_request_sql(&self, filter: &EventFilter) -> Result<(String, Vec<String>, usize), StoreError> {
        let mut values = Vec::new();
        if filter.repos.is_empty() {
            return Ok((String::new(), values, 0));
        }
        let (kept, stored) = self.kept_repos("pull_requests", filter)?;
        Ok((format!(" WHERE {}", repo_list("p.repo", &kept, &mut values)), values, stored))
    }

    /// `WHERE …` for deployments (aliased `d`): their service, or their repository.
    fn deployment_sql(&self, filter: &EventFilter) -> Result<(String, Vec<String>), StoreError> {
        let mut values = Vec::new();
        if filter.repos.is_empty() && filter.services.is_empty() {
            return Ok((String::new(), values));
        }
        let mut parts: Vec<String> = filter.service_condition("d.service", &mut values).into_iter().collect();
        if !filter.repos.is_empty() {
            let (kept, _) = self.kept_repos("deployments", filter)?;
            parts.push(repo_list("d.repo", &kept, &mut values));
        }
        Ok((format!(" WHERE {}", parts.join(" OR ")), values))
    }
}

/// How many rows of a filter's a read before a window may go by for each
/// commit shipped since its start it would otherwise look up by index (on
/// PostgreSQL a lookup cost about 5 µs, a row read 0.6 µs: a team's 90
/// days at 2,000,000 pull requests looked 27,000 commits up in 130 ms, and
/// reads its 64,000 rows before them in 40 ms).
const ROWS_PER_LOOKUP: usize = 8;

/// Rows per multi-row statement: one statement per row costs more than the
/// row itself (a step on SQLite, a round trip on PostgreSQL). 256 rows of
/// the widest table (19 columns) stay far below both parameter limits.
const ROWS_PER_STATEMENT: usize = 256;

/// Pins every deployment a windowed read must take whatever its age (see
/// `0020_pinned_deployments.sql`, which runs the same statement): without
/// a commit list; listing a commit another deployment lists; the first of
/// its repository, service, environment and status.
pub(super) const PIN_ALL: &str = "UPDATE deployments SET pinned = 1
WHERE pinned = 0 AND (commit_list IS NULL
   OR id IN (SELECT c.deployment_id FROM deployment_commits c
             WHERE c.sha IN (SELECT sha FROM deployment_commits GROUP BY sha HAVING COUNT(*) > 1))
   OR id IN (SELECT f.id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY repo, service, environment, status
                                                            ORDER BY finished_at, id) AS n
                               FROM deployments) f
             WHERE f.n = 1))";

/// [`PIN_ALL`] for the deployments a batch wrote (`{ids}`: their ids as
/// parameters): those without a list; every deployment listing a commit
/// that one of them lists and another deployment lists too; the first
/// deployment of each group they belong to (which a rewritten finish time
/// may have changed). A pin is never taken back: the upsert
/// leaves `pinned` as it was.
const PIN_BATCH: [&str; 3] = [
    "UPDATE deployments SET pinned = 1 WHERE pinned = 0 AND commit_list IS NULL AND id IN ({ids})",
    "UPDATE deployments SET pinned = 1 WHERE pinned = 0 AND id IN (
         SELECT o.deployment_id FROM deployment_commits n JOIN deployment_commits o ON o.sha = n.sha
         WHERE n.deployment_id IN ({ids})
           AND EXISTS (SELECT 1 FROM deployment_commits x WHERE x.sha = n.sha AND x.deployment_id <> n.deployment_id))",
    "UPDATE deployments SET pinned = 1 WHERE pinned = 0 AND id IN (
         SELECT (SELECT o.id FROM deployments o
                 WHERE o.service = b.service AND o.environment = b.environment AND o.status = b.status
                   AND (o.repo = b.repo OR (o.repo IS NULL AND b.repo IS NULL))
                 ORDER BY o.finished_at, o.id LIMIT 1)
         FROM deployments b WHERE b.id IN ({ids}))",
];

/// Deployments [`Store::read_deployments`] read, their row ids, and
/// whence they were read (`None`: every one).
pub type ReadDeployments = (Vec<DeploymentEvent>, Vec<i64>, Option<i64>);

/// The columns [`deployment_row`] reads, in its order (the row id first).
const DEPLOYMENT_COLUMNS: &str = "d.id, d.source, d.external_id, d.repo, d.service, d.environment, d.commit_sha,
    d.finished_at, d.status, d.name, d.commit_list";

/// A deployment of `SELECT {DEPLOYMENT_COLUMNS}`, its repository and
/// service already read.
fn deployment_row(
    row: &super::db::Row<'_, '_>,
    repo: Option<String>,
    service: String,
) -> Result<DeploymentEvent, super::db::DbError> {
    // The list packed in the row (schema 19), when it has one.
    let commits = if row.is_null(10)? {
        None
    } else {
        let mut list = CommitList::new();
        row.with_text(10, |text| super::packed::listed_ids(text, |sha| list.push(sha)))?
            .map_err(|message| super::db::DbError::Column { index: 10, message })?;
        Some(list)
    };
    Ok(DeploymentEvent {
        source: row.get(1)?,
        external_id: row.get(2)?,
        repo,
        service,
        environment: row.get(5)?,
        commit: row.get(6)?,
        finished_at: row.get(7)?,
        status: row.get(8)?,
        name: row.get(9)?,
        commits,
    })
}

/// Puts deployments (and their row ids, `ids`) in time order, ties by id:
/// rows come in storage order, cheaper to sort here than in SQL's sorter
/// over every column.
fn sort_deployments(deployments: &mut [DeploymentEvent], ids: &mut [i64]) {
    let mut order: Vec<usize> = (0..deployments.len()).collect();
    order.sort_unstable_by_key(|&i| (deployments[i].finished_at, ids[i]));
    reorder(order, |a, b| {
        deployments.swap(a, b);
        ids.swap(a, b);
    });
}

/// `(?1, ?2, ?3), (?4, …)`: `rows` rows of `columns` numbered parameters.
fn placeholders(rows: usize, columns: usize) -> String {
    let mut out = String::with_capacity(rows * columns * 6);
    for row in 0..rows {
        if row > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for c in 1..=columns {
            if c > 1 {
                out.push_str(", ");
            }
            out.push('?');
            out.push_str(&(row * columns + c).to_string());
        }
        out.push(')');
    }
    out
}

/// `DELETE FROM table WHERE column IN (?1, …)` for `n` ids.
fn delete_in(table: &str, column: &str, n: usize) -> String {
    let list: Vec<String> = (1..=n).map(|i| format!("?{i}")).collect();
    format!("DELETE FROM {table} WHERE {column} IN ({})", list.join(", "))
}

/// Appends rows to `target` (`table (column, …)`): one `COPY` on
/// PostgreSQL, multi-row inserts on SQLite.
fn append_rows(
    db: &super::db::Db,
    target: &str,
    values: &[&dyn ToParam],
    columns: usize,
) -> Result<(), super::db::DbError> {
    if values.is_empty() {
        return Ok(());
    }
    if let Some(copied) = db.copy_in(target, columns, values) {
        return copied;
    }
    insert_rows(db, values, columns, |rows| format!("INSERT INTO {target} VALUES {}", placeholders(rows, columns)))
}

/// Runs `sql(rows)` over `values` (`columns` per row) in statements of
/// [`ROWS_PER_STATEMENT`] rows; the statement of a full chunk is prepared
/// once and reused.
fn insert_rows(
    db: &super::db::Db,
    values: &[&dyn ToParam],
    columns: usize,
    sql: impl Fn(usize) -> String,
) -> Result<(), super::db::DbError> {
    let full = sql(ROWS_PER_STATEMENT);
    for chunk in values.chunks(ROWS_PER_STATEMENT * columns) {
        let rows = chunk.len() / columns;
        if rows == ROWS_PER_STATEMENT {
            db.execute(&full, chunk)?;
        } else {
            db.execute(&sql(rows), chunk)?;
        }
    }
    Ok(())
}

/// A table upserted by [`upsert_rows`]: its columns (with their types, for
/// PostgreSQL's staging table), its key, and what each row returns.
struct Upsert {
    table: &'static str,
    columns: &'static [(&'static str, &'static str)],
    key: &'static str,
    returning: &'static str,
}

const PULL_REQUESTS: Upsert = Upsert {
    table: "pull_requests",
    columns: &[
        ("id", "BIGINT"),
        ("repo", "TEXT"),
        ("number", "BIGINT"),
        ("source", "TEXT"),
        ("author", "TEXT"),
        ("created_at", "BIGINT"),
        ("ready_at", "BIGINT"),
        ("merged_at", "BIGINT"),
        ("closed_at", "BIGINT"),
        ("merge_commit", "TEXT"),
        ("draft", "BIGINT"),
        ("additions", "BIGINT"),
        ("deletions", "BIGINT"),
        ("updated_at", "BIGINT"),
        ("raw", "TEXT"),
        ("size_known", "BIGINT"),
        ("title", "TEXT"),
        ("url", "TEXT"),
        ("last_event_at", "BIGINT"),
    ],
    key: "repo, number",
    returning: "id, repo, number",
};

const DEPLOYMENTS: Upsert = Upsert {
    table: "deployments",
    columns: &[
        ("id", "BIGINT"),
        ("source", "TEXT"),
        ("external_id", "TEXT"),
        ("repo", "TEXT"),
        ("service", "TEXT"),
        ("environment", "TEXT"),
        ("commit_sha", "TEXT"),
        ("finished_at", "BIGINT"),
        ("status", "TEXT"),
        ("name", "TEXT"),
        ("has_commit_list", "BIGINT"),
        ("raw", "TEXT"),
        ("commit_list", "TEXT"),
    ],
    key: "source, external_id",
    returning: "id, source, external_id",
};

const INCIDENTS: Upsert = Upsert {
    table: "incidents",
    columns: &[
        ("source", "TEXT"),
        ("external_id", "TEXT"),
        ("service", "TEXT"),
        ("title", "TEXT"),
        ("started_at", "BIGINT"),
        ("resolved_at", "BIGINT"),
        ("deployment", "TEXT"),
        ("commit_sha", "TEXT"),
        ("pull_request", "TEXT"),
        ("raw", "TEXT"),
    ],
    key: "source, external_id",
    returning: "id",
};

/// Inserts or replaces (by `spec.key`) rows of `values`, handing each
/// returned row to `each`. Rows must be unique by key. SQLite: multi-row
/// upserts. PostgreSQL: the rows are `COPY`ed into a staging table (emptied
/// at commit) and upserted from it in one statement; with `proposed` (the
/// run of ids `propose_ids` took from the table's sequence, first and
/// last), only the rows stored before (whose id is outside the run: a row
/// keeps its id) are returned, so a batch of new rows sends nothing back
/// (every row of 2,000,000 pull requests was returned, its repository as a
/// string).
fn upsert_rows(
    db: &super::db::Db,
    spec: &Upsert,
    values: &[&dyn ToParam],
    proposed: Option<(i64, i64)>,
    mut each: impl FnMut(&super::db::Row<'_, '_>) -> Result<(), super::db::DbError>,
) -> Result<(), super::db::DbError> {
    if values.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = spec.columns.iter().map(|(name, _)| *name).collect();
    let list = names.join(", ");
    let keys: Vec<&str> = spec.key.split(", ").collect();
    // A row stored before keeps its id (an `id` column proposes one for a new row).
    let update: Vec<String> =
        names.iter().filter(|n| !keys.contains(n) && **n != "id").map(|n| format!("{n} = excluded.{n}")).collect();
    let tail = format!("ON CONFLICT ({}) DO UPDATE SET {} RETURNING {}", spec.key, update.join(", "), spec.returning);
    let width = names.len();
    if db.is_postgres() {
        let staging = format!("incoming_{}", spec.table);
        let typed: Vec<String> = spec.columns.iter().map(|(n, t)| format!("{n} {t}")).collect();
        db.batch(&format!("CREATE TEMP TABLE IF NOT EXISTS {staging} ({}) ON COMMIT DELETE ROWS", typed.join(", ")))?;
        if let Some(copied) = db.copy_in(&format!("{staging} ({list})"), width, values) {
            copied?;
        }
        let upsert = format!("INSERT INTO {} ({list}) SELECT {list} FROM {staging} {tail}", spec.table);
        // (Integers from the sequence: formatted into the statement.)
        let statement = match proposed {
            Some((first, last)) => format!(
                "WITH up AS ({upsert}) SELECT {} FROM up WHERE up.id NOT BETWEEN {first} AND {last}",
                spec.returning
            ),
            None => upsert,
        };
        return db.for_each(&statement, params![], each);
    }
    let statement =
        |rows: usize| format!("INSERT INTO {} ({list}) VALUES {} {tail}", spec.table, placeholders(rows, width));
    let full = statement(ROWS_PER_STATEMENT);
    for chunk in values.chunks(ROWS_PER_STATEMENT * width) {
        let rows = chunk.len() / width;
        let sql = if rows == ROWS_PER_STATEMENT { full.clone() } else { statement(rows) };
        db.for_each(&sql, chunk, &mut each)?;
    }
    Ok(())
}

/// `pull_requests.last_event_at`: the latest of the pull request's creation,
/// merge, close and activities; `None` while it is open (it reaches every
/// window). What a windowed read selects by (see [`Store::load_pull_requests`]).
fn last_event_at(pr: &PullRequest) -> Option<i64> {
    if pr.merged_at.is_none() && pr.closed_at.is_none() {
        return None;
    }
    let activities = pr.activities.iter().map(|a| a.at);
    [Some(pr.created_at), pr.merged_at, pr.closed_at].into_iter().flatten().chain(activities).max()
}

/// Ids per block (schema 17, `id_blocks`): a pull request's id is its
/// repository's block times 2^32 plus a count within it, a deployment's by
/// its service; rows stored before schema 17 are in block 0.
const BLOCK_BITS: u32 = 32;

/// The next free id in each key's block of `table` (`kind` in
/// `id_blocks`), making a block for each key that has none. Runs inside the
/// write transaction (one writer at a time), so no other writer takes them.
fn next_ids<'a>(
    db: &super::db::Db,
    kind: &str,
    table: &str,
    keys: impl IntoIterator<Item = &'a str>,
) -> Result<HashMap<&'a str, i64>, super::db::DbError> {
    let mut blocks: HashMap<String, i64> = HashMap::new();
    let mut last = 0;
    db.for_each("SELECT key, block FROM id_blocks WHERE kind = ?1", params![kind], |r| {
        let block: i64 = r.get(1)?;
        last = last.max(block);
        blocks.insert(r.get(0)?, block);
        Ok(())
    })?;
    let mut next = HashMap::new();
    for key in keys {
        if next.contains_key(key) {
            continue;
        }
        let block = match blocks.get(key) {
            Some(&block) => block,
            None => {
                last += 1;
                if last >= 1 << (63 - BLOCK_BITS) {
                    return Err(super::db::DbError::Limit(format!("no {kind} id block is left for {key:?}")));
                }
                db.execute("INSERT INTO id_blocks (kind, key, block) VALUES (?1, ?2, ?3)", params![kind, key, &last])?;
                blocks.insert(key.to_owned(), last);
                last
            }
        };
        let base = block << BLOCK_BITS;
        let end = (block + 1) << BLOCK_BITS;
        let max: Option<i64> = db.query_row(
            &format!("SELECT MAX(id) FROM {table} WHERE id >= ?1 AND id < ?2"),
            params![&base, &end],
            |r| r.get(0),
        )?;
        next.insert(key, max.map_or(base, |m| m + 1));
    }
    Ok(next)
}

/// An id for each row of `table` whose key (repository or service) is
/// `keys`, in order; a row stored before keeps its own. SQLite: the next
/// of its key's block (see [`BLOCK_BITS`]), so a key's rows lie together.
/// PostgreSQL keeps rows in the order they arrive whatever their ids, and
/// hashes a bigint by the exclusive or of its halves (block ids would
/// collide by the hundred in its hash joins): the table's own sequence.
fn propose_ids<'a>(
    db: &super::db::Db,
    kind: &str,
    table: &str,
    keys: impl Iterator<Item = &'a str> + Clone,
) -> Result<Vec<i64>, super::db::DbError> {
    if db.is_postgres() {
        let n = keys.count() as i64;
        if n == 0 {
            return Ok(Vec::new());
        }
        // A run of `n` ids taken at once (one `nextval` per row took 830 ms
        // of 330,000 rows): the caller holds `Store::write`'s lock, which
        // every writer takes, so no other row takes an id meanwhile.
        let last: i64 = db.query_row(
            &format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'),
                               nextval(pg_get_serial_sequence('{table}', 'id')) + ?1::bigint - 1)"
            ),
            params![&n],
            |r| r.get(0),
        )?;
        return Ok((last - n + 1..=last).collect());
    }
    let mut next = next_ids(db, kind, table, keys.clone())?;
    keys.map(|key| take_id(&mut next, kind, key)).collect()
}

/// On PostgreSQL, which of the pull requests `keys` (repository, number)
/// are stored, by repository (one statement: an index probe per key);
/// `None` on SQLite, whose multi-row upserts need no such split. Called
/// inside `Store::write`'s lock: no other writer stores a row meanwhile.
fn stored_keys<'a>(
    db: &super::db::Db,
    keys: impl Iterator<Item = (&'a str, i64)>,
) -> Result<Option<HashMap<String, HashSet<i64>>>, super::db::DbError> {
    if !db.is_postgres() {
        return Ok(None);
    }
    let (repos, numbers): (Vec<&str>, Vec<String>) = keys.map(|(repo, n)| (repo, n.to_string())).unzip();
    let mut stored: HashMap<String, HashSet<i64>> = HashMap::new();
    if repos.is_empty() {
        return Ok(Some(stored));
    }
    db.for_each(
        "SELECT p.repo, p.number
         FROM unnest((?1::text)::text[], string_to_array(?2, ',')::bigint[]) AS k(repo, number)
         JOIN pull_requests p ON p.repo = k.repo AND p.number = k.number",
        params![postgres_text_array(&repos), numbers.join(",")],
        |row| {
            stored.entry(row.get(0)?).or_default().insert(row.get(1)?);
            Ok(())
        },
    )?;
    Ok(Some(stored))
}

/// Takes the next id of `key`'s block from `next` (see [`next_ids`]).
fn take_id(next: &mut HashMap<&str, i64>, kind: &str, key: &str) -> Result<i64, super::db::DbError> {
    let id = next.get_mut(key).ok_or(super::db::DbError::NoRows)?;
    let taken = *id;
    if (taken + 1) >> BLOCK_BITS != taken >> BLOCK_BITS {
        return Err(super::db::DbError::Limit(format!(
            "the {} ids of {key:?} are used up (2^{BLOCK_BITS} in its block)",
            kind.replace('_', " ")
        )));
    }
    *id += 1;
    Ok(taken)
}

/// Row id → position among the rows read, for ids in blocks (see
/// [`BLOCK_BITS`]): a dense vector per block, so that a lookup costs an
/// index, not a hash of every child row.
#[derive(Default)]
struct Positions {
    /// `(block, positions by id within the block, u32::MAX for none)`, in
    /// the order blocks were first seen.
    blocks: Vec<(i64, Vec<u32>)>,
}

impl Positions {
    fn insert(&mut self, id: i64, position: usize) {
        let (block, low) = (id >> BLOCK_BITS, (id & ((1 << BLOCK_BITS) - 1)) as usize);
        let slot = match self.blocks.iter().rposition(|(b, _)| *b == block) {
            Some(slot) => slot,
            None => {
                self.blocks.push((block, Vec::new()));
                self.blocks.len() - 1
            }
        };
        let positions = &mut self.blocks[slot].1;
        if positions.len() <= low {
            positions.resize(low + 1, u32::MAX);
        }
        positions[low] = position as u32;
    }

    /// The position of `id`; `hint` remembers the last block found (rows
    /// come in id order, block after block).
    fn get(&self, id: i64, hint: &mut usize) -> Option<usize> {
        let (block, low) = (id >> BLOCK_BITS, usize::try_from(id & ((1 << BLOCK_BITS) - 1)).ok()?);
        if self.blocks.get(*hint).is_none_or(|(b, _)| *b != block) {
            *hint = self.blocks.iter().position(|(b, _)| *b == block)?;
        }
        let i = *self.blocks[*hint].1.get(low)?;
        (i != u32::MAX).then_some(i as usize)
    }
}

/// Fewest pull requests in a batch whose children are packed on a thread
/// of their own while the rows are stored (an import's batches; a sync's
/// few are packed in place).
const PACK_BESIDE_FROM: usize = 1_000;

/// Ranges of children's keys above which PostgreSQL reads a window's
/// children by lists of ids ([`IDS_PER_LIST`] each) instead.
const PG_RANGES: usize = 16;

/// Ids in one list of children's keys read on PostgreSQL.
const IDS_PER_LIST: usize = 10_000;

/// `items` as a PostgreSQL array literal of text (`{"a","b\\"c"}`): each
/// element quoted, its `\\` and `"` escaped, NUL left out (PostgreSQL's
/// text cannot hold it, and a bound parameter loses it the same way), so
/// any text is one element and matches itself.
fn postgres_text_array(items: &[&str]) -> String {
    let mut out = String::with_capacity(items.iter().map(|i| i.len() + 3).sum::<usize>() + 2);
    out.push('{');
    for (n, item) in items.iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        out.push('"');
        for c in item.chars() {
            match c {
                '\\' | '"' => {
                    out.push('\\');
                    out.push(c);
                }
                '\0' => {}
                c => out.push(c),
            }
        }
        out.push('"');
    }
    out.push('}');
    out
}

/// Fewest pull requests whose children two connections read, a half each
/// (below, a second connection costs more than it saves).
const CHILDREN_ON_ONE_CORE: usize = 20_000;

/// [`CHILDREN_ON_ONE_CORE`] on PostgreSQL, whose second connection is a
/// server process of its own on the same cores (a team's 90 days at
/// 2,000,000 pull requests, 32,000 pull requests: its report took a median
/// 0.31 s on one connection against 0.32-0.34 s on two, 11 runs each).
const PG_CHILDREN_ON_ONE_CONNECTION: usize = 60_000;

/// Ascending `ids` as inclusive ranges, joining runs whose gap is small
/// (reading a few rows not asked for costs less than another seek).
fn id_ranges(ids: &[i64]) -> Vec<(i64, i64)> {
    const GAP: i64 = 64;
    let mut ranges: Vec<(i64, i64)> = Vec::new();
    for &id in ids {
        match ranges.last_mut() {
            Some((_, last)) if id - *last <= GAP => *last = id,
            _ => ranges.push((id, id)),
        }
    }
    ranges
}

/// Activity kinds as stored, by [`kind_index`].
const KIND_NAMES: [&str; 3] = ["review", "review_comment", "comment"];

fn kind_index(kind: ActivityKind) -> usize {
    match kind {
        ActivityKind::Review => 0,
        ActivityKind::ReviewComment => 1,
        ActivityKind::Comment => 2,
    }
}

fn kind_from_name(name: &str) -> ActivityKind {
    match name {
        "review" => ActivityKind::Review,
        "review_comment" => ActivityKind::ReviewComment,
        _ => ActivityKind::Comment,
    }
}

/// A pull request's row of `pr_children` (see `store/packed.rs`).
struct Children {
    first_commit_at: Option<i64>,
    first_review_at: Option<i64>,
    commit_times: String,
    activities: String,
    commit_ids: String,
}

impl Children {
    fn of(pr: &PullRequest) -> Children {
        // Room for each at once: times of up to 11 digits and their
        // separators, lengths of up to 3 digits.
        let ids: usize = pr.commits.iter().map(|c| c.sha.len() + c.author.len() + 8).sum();
        let activities: usize = pr.activities.iter().map(|a| a.author.len() + 32).sum();
        let mut children = Children {
            first_commit_at: pr.commits.iter().map(|c| c.authored_at).min(),
            // As the public views have always counted a first review: by
            // anyone but the author, bots too.
            first_review_at: pr.activities.iter().filter(|a| *a.author != *pr.author).map(|a| a.at).min(),
            commit_times: String::with_capacity(pr.commits.len() * 12),
            activities: String::with_capacity(activities),
            commit_ids: String::with_capacity(ids),
        };
        for c in &pr.commits {
            super::packed::push_commit_time(&mut children.commit_times, c.authored_at);
            super::packed::push_commit_id(&mut children.commit_ids, &c.sha, &c.author);
        }
        for a in &pr.activities {
            super::packed::push_activity(&mut children.activities, a.at, KIND_NAMES[kind_index(a.kind)], &a.author);
        }
        children
    }

    fn is_empty(&self) -> bool {
        self.commit_times.is_empty() && self.activities.is_empty()
    }
}

impl Store {
    /// Writes a batch, and advances sources' cursors `(source, resource,
    /// value)`, in one transaction: all of it lands or none, so a sync
    /// killed at any point resumes from the last batch that landed.
    pub fn write_events(
        &mut self,
        batch: &EventBatch,
        cursors: &[(&str, &str, &str)],
    ) -> Result<EventCounts, StoreError> {
        // People erased with `fulcrum person forget` come in under their
        // pseudonym, and the raw payload naming them is not kept.
        let forgotten = self.forgotten()?;
        let renamed;
        let batch = if forgotten.is_empty() {
            batch
        } else {
            renamed = pseudonymize(batch, &forgotten);
            &renamed
        };
        if !self.fresh_pull_requests {
            return self.write_events_once(batch, cursors, false, &std::cell::Cell::new(false));
        }
        // Into a table that was empty when the import began, the batch's
        // pull requests are taken as new without looking them up; one stored
        // since (a line repeated further down the file, another writer) makes
        // the copy fail on its key, and the batch is written again, looked
        // up (nothing of the failed attempt stays: one transaction).
        let conflicted = std::cell::Cell::new(false);
        match self.write_events_once(batch, cursors, true, &conflicted) {
            Err(_) if conflicted.get() => {
                self.fresh_pull_requests = false;
                self.write_events_once(batch, cursors, false, &std::cell::Cell::new(false))
            }
            written => written,
        }
    }

    /// Takes the pull requests an import writes as new, without looking each
    /// key up first, while the table holds none (PostgreSQL: the lookups took
    /// 3.2 s of a 2,000,000-pull-request import; SQLite's upserts need none).
    /// Whether it does; it stops at the first key found stored after all.
    pub fn assume_new_pull_requests(&mut self) -> Result<bool, StoreError> {
        if !self.db.is_postgres() {
            return Ok(false);
        }
        let empty: bool = self
            .db
            .query_row("SELECT NOT EXISTS (SELECT 1 FROM pull_requests)", params![], |r| r.get(0))
            .map_err(self.sql())?;
        self.fresh_pull_requests = empty;
        Ok(empty)
    }

    /// Stops [`Store::assume_new_pull_requests`].
    pub fn look_up_pull_requests(&mut self) {
        self.fresh_pull_requests = false;
    }

    /// One attempt at [`Store::write_events`]; `assume_new`: the pull
    /// requests are copied in without a lookup, and `conflicted` is set when
    /// one of them was stored already.
    fn write_events_once(
        &mut self,
        batch: &EventBatch,
        cursors: &[(&str, &str, &str)],
        assume_new: bool,
        conflicted: &std::cell::Cell<bool>,
    ) -> Result<EventCounts, StoreError> {
        self.write(|db| {
            // An item listed twice keeps only its last version (one statement
            // may not upsert a row twice on PostgreSQL).
            let mut latest: HashMap<(&str, u64), usize> = HashMap::new();
            for (i, (pr, ..)) in batch.pull_requests.iter().enumerate() {
                latest.insert((pr.repo.as_str(), pr.number), i);
            }
            let mut prs: Vec<_> = batch
                .pull_requests
                .iter()
                .enumerate()
                .filter(|(i, (pr, ..))| latest[&(pr.repo.as_str(), pr.number)] == *i)
                .map(|(_, item)| item)
                .collect();
            // Grouped by repository (in batch order within one), so that the
            // rows of each id block are inserted one after another.
            prs.sort_by(|(a, ..), (b, ..)| a.repo.cmp(&b.repo));
            // Figures computed from the item, bound by reference below.
            let numbers: Vec<[i64; 3]> = prs
                .iter()
                .map(|(pr, ..)| {
                    [
                        pr.number as i64,
                        i64::try_from(pr.additions).unwrap_or(i64::MAX),
                        i64::try_from(pr.deletions).unwrap_or(i64::MAX),
                    ]
                })
                .collect();
            let known: Vec<bool> = prs.iter().map(|(pr, ..)| !pr.size_unknown).collect();
            let last_events: Vec<Option<i64>> = prs.iter().map(|(pr, ..)| last_event_at(pr)).collect();
            // Each row proposes the next id of its repository's block; one
            // stored before keeps its own (and has children to clear).
            let proposed =
                propose_ids(db, "pull_request", "pull_requests", prs.iter().map(|(pr, ..)| pr.repo.as_str()))?;
            // Each pull request's children packed into one row (schema 18):
            // a large batch's on a core of their own while its rows are
            // stored (an import's batches: see `PACK_BESIDE_FROM`).
            let pack = || prs.iter().map(|(pr, ..)| Children::of(pr)).collect::<Vec<Children>>();
            std::thread::scope(|threads| {
                let packing = (prs.len() >= PACK_BESIDE_FROM).then(|| threads.spawn(pack));
                // repo → number → row id, of the rows the upsert returned (on
                // PostgreSQL those stored before only: see `upsert_rows`).
                let mut ids: HashMap<String, HashMap<i64, i64>> = HashMap::new();
                // On PostgreSQL a row whose key is not stored yet is copied into
                // the table as it is, without the staging table and the upsert
                // (which took 11 of 39 s importing 2,000,000 pull requests).
                let stored = if assume_new && db.is_postgres() {
                    Some(HashMap::new())
                } else {
                    stored_keys(db, prs.iter().map(|(pr, ..)| (pr.repo.as_str(), pr.number as i64)))?
                };
                let is_new = |pr: &PullRequest| {
                    stored.as_ref().is_some_and(|stored| {
                        stored.get(pr.repo.as_str()).is_none_or(|numbers| !numbers.contains(&(pr.number as i64)))
                    })
                };
                let mut fresh: Vec<&dyn ToParam> = Vec::new();
                let mut values: Vec<&dyn ToParam> = Vec::with_capacity(PULL_REQUESTS.columns.len() * prs.len());
                for (n, (pr, source, raw, label)) in prs.iter().enumerate() {
                    let [number, additions, deletions] = &numbers[n];
                    let values = if is_new(pr) { &mut fresh } else { &mut values };
                    values.extend([
                        &proposed[n] as &dyn ToParam,
                        &pr.repo,
                        number,
                        source,
                        &pr.author,
                        &pr.created_at,
                        &pr.ready_at,
                        &pr.merged_at,
                        &pr.closed_at,
                        &pr.merge_commit,
                        &pr.draft,
                        additions,
                        deletions,
                        &pr.updated_at,
                        raw,
                        &known[n],
                        &label.title,
                        &label.url,
                        &last_events[n],
                    ]);
                }
                let columns: Vec<&str> = PULL_REQUESTS.columns.iter().map(|(name, _)| *name).collect();
                append_rows(db, &format!("pull_requests ({})", columns.join(", ")), &fresh, columns.len())
                    .inspect_err(|e| conflicted.set(assume_new && e.is_unique_violation()))?;
                upsert_rows(
                    db,
                    &PULL_REQUESTS,
                    &values,
                    proposed.first().zip(proposed.last()).map(|(a, b)| (*a, *b)),
                    |r| {
                        ids.entry(r.get(1)?).or_default().insert(r.get(2)?, r.get(0)?);
                        Ok(())
                    },
                )?;
                // Each row's id: the one it had, else the one proposed.
                let pr_ids: Vec<i64> = prs
                    .iter()
                    .zip(&proposed)
                    .map(|((pr, ..), proposed)| {
                        ids.get(pr.repo.as_str()).and_then(|n| n.get(&(pr.number as i64))).copied().unwrap_or(*proposed)
                    })
                    .collect();
                // Pull requests stored before this batch lose their old children.
                let existing: Vec<i64> =
                    pr_ids.iter().zip(&proposed).filter(|(id, proposed)| id != proposed).map(|(id, _)| *id).collect();
                for chunk in existing.chunks(ROWS_PER_STATEMENT) {
                    let values: Vec<&dyn ToParam> = chunk.iter().map(|id| id as &dyn ToParam).collect();
                    db.execute(&delete_in("pr_children", "pr_id", chunk.len()), &values)?;
                    db.execute(&delete_in("pr_commit_ids", "pr_id", chunk.len()), &values)?;
                }
                let packed = match packing {
                    Some(packing) => packing.join().expect("packing a pull request's children does not panic"),
                    None => pack(),
                };
                let children: Vec<(i64, Children)> =
                    packed.into_iter().zip(&pr_ids).filter(|(c, _)| !c.is_empty()).map(|(c, id)| (*id, c)).collect();
                let mut values: Vec<&dyn ToParam> = Vec::with_capacity(children.len() * 5);
                for (id, c) in &children {
                    values.extend([
                        id as &dyn ToParam,
                        &c.first_commit_at,
                        &c.first_review_at,
                        &c.commit_times,
                        &c.activities,
                    ]);
                }
                append_rows(
                    db,
                    "pr_children (pr_id, first_commit_at, first_review_at, commit_times, activities)",
                    &values,
                    5,
                )?;
                let mut values: Vec<&dyn ToParam> = Vec::with_capacity(children.len() * 2);
                for (id, c) in children.iter().filter(|(_, c)| !c.commit_ids.is_empty()) {
                    values.extend([id as &dyn ToParam, &c.commit_ids]);
                }
                append_rows(db, "pr_commit_ids (pr_id, commit_ids)", &values, 2)
            })?;
            // Deployments: the last version of each, upserted in multi-row statements.
            let mut latest: HashMap<(&str, &str), usize> = HashMap::new();
            for (i, (d, _)) in batch.deployments.iter().enumerate() {
                latest.insert((d.source.as_str(), d.external_id.as_str()), i);
            }
            let mut deployments: Vec<_> = batch
                .deployments
                .iter()
                .enumerate()
                .filter(|(i, (d, _))| latest[&(d.source.as_str(), d.external_id.as_str())] == *i)
                .map(|(_, item)| item)
                .collect();
            deployments.sort_by(|(a, _), (b, _)| a.service.cmp(&b.service));
            let listed: Vec<bool> = deployments.iter().map(|(d, _)| d.commits.is_some()).collect();
            // Each list packed into the row as well (schema 19).
            let packed: Vec<Option<String>> = deployments
                .iter()
                .map(|(d, _)| {
                    d.commits.as_ref().map(|list| {
                        let mut text = String::with_capacity(list.iter().map(|id| id.len() + 3).sum());
                        for id in list.iter() {
                            super::packed::push_listed_id(&mut text, id);
                        }
                        text
                    })
                })
                .collect();
            let mut deployment_ids: HashMap<(String, String), i64> = HashMap::with_capacity(deployments.len());
            let proposed =
                propose_ids(db, "deployment", "deployments", deployments.iter().map(|(d, _)| d.service.as_str()))?;
            let mut values: Vec<&dyn ToParam> = Vec::with_capacity(DEPLOYMENTS.columns.len() * deployments.len());
            for (n, (d, raw)) in deployments.iter().enumerate() {
                values.extend([
                    &proposed[n] as &dyn ToParam,
                    &d.source,
                    &d.external_id,
                    &d.repo,
                    &d.service,
                    &d.environment,
                    &d.commit,
                    &d.finished_at,
                    &d.status,
                    &d.name,
                    &listed[n],
                    raw,
                    &packed[n],
                ]);
            }
            // The batch's pins (schema 20), unless an import deferred the
            // indexes they look shared commits up by: it pins every row at
            // its end (`PIN_ALL`). A rewrite may take its group's first
            // deployment to another group: the groups of the rows stored
            // before, read first, have their first pinned after.
            let pin = !deployments.is_empty() && super::deferred_indexes(db)?.is_none();
            let mut left: Vec<(Option<String>, String, String, String)> = Vec::new();
            if pin {
                let mut by_source: HashMap<&str, Vec<&str>> = HashMap::new();
                for (d, _) in &deployments {
                    by_source.entry(d.source.as_str()).or_default().push(d.external_id.as_str());
                }
                for (source, names) in &by_source {
                    for chunk in names.chunks(ROWS_PER_STATEMENT) {
                        let list: Vec<String> = (2..chunk.len() + 2).map(|i| format!("?{i}")).collect();
                        let mut values: Vec<&dyn ToParam> = vec![source];
                        values.extend(chunk.iter().map(|name| name as &dyn ToParam));
                        left.extend(db.query_map(
                            &format!(
                                "SELECT repo, service, environment, status FROM deployments
                                 WHERE source = ?1 AND external_id IN ({})",
                                list.join(", ")
                            ),
                            &values,
                            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                        )?);
                    }
                }
                left.sort();
                left.dedup();
            }
            upsert_rows(
                db,
                &DEPLOYMENTS,
                &values,
                proposed.first().zip(proposed.last()).map(|(a, b)| (*a, *b)),
                |r| {
                    deployment_ids.insert((r.get(1)?, r.get(2)?), r.get(0)?);
                    Ok(())
                },
            )?;
            let ids: Vec<i64> = deployments
                .iter()
                .zip(&proposed)
                .map(|((d, _), proposed)| {
                    deployment_ids.get(&(d.source.clone(), d.external_id.clone())).copied().unwrap_or(*proposed)
                })
                .collect();
            let existing: Vec<i64> = ids.iter().zip(&proposed).filter(|(id, p)| id != p).map(|(id, _)| *id).collect();
            for chunk in existing.chunks(ROWS_PER_STATEMENT) {
                let values: Vec<&dyn ToParam> = chunk.iter().map(|id| id as &dyn ToParam).collect();
                db.execute(&delete_in("deployment_commits", "deployment_id", chunk.len()), &values)?;
            }
            // Each commit's place in its list (the key with the deployment's id).
            let most =
                deployments.iter().map(|(d, _)| d.commits.as_ref().map_or(0, CommitList::len)).max().unwrap_or(0);
            let seqs: Vec<i64> = (0..most as i64).collect();
            // The ids held as parameters (a list keeps them in one text).
            let shas: Vec<Vec<&str>> = deployments.iter().map(|(d, _)| d.commits.iter().flatten().collect()).collect();
            let mut values: Vec<&dyn ToParam> = Vec::new();
            for (shas, id) in shas.iter().zip(&ids) {
                for (sha, seq) in shas.iter().zip(&seqs) {
                    values.extend([id as &dyn ToParam, seq, sha]);
                }
            }
            append_rows(db, "deployment_commits (deployment_id, seq, sha)", &values, 3)?;
            if pin {
                for chunk in ids.chunks(ROWS_PER_STATEMENT) {
                    let list: Vec<String> = (1..=chunk.len()).map(|i| format!("?{i}")).collect();
                    let list = list.join(", ");
                    let values: Vec<&dyn ToParam> = chunk.iter().map(|id| id as &dyn ToParam).collect();
                    for pin in PIN_BATCH {
                        db.execute(&pin.replace("{ids}", &list), &values)?;
                    }
                }
                for (repo, service, environment, status) in &left {
                    let repo_is = if repo.is_some() { "o.repo = ?4" } else { "o.repo IS NULL" };
                    let mut values: Vec<&dyn ToParam> = vec![service, environment, status];
                    if let Some(repo) = repo {
                        values.push(repo);
                    }
                    db.execute(
                        &format!(
                            "UPDATE deployments SET pinned = 1 WHERE pinned = 0 AND id = (
                                 SELECT o.id FROM deployments o
                                 WHERE o.service = ?1 AND o.environment = ?2 AND o.status = ?3 AND {repo_is}
                                 ORDER BY o.finished_at, o.id LIMIT 1)"
                        ),
                        &values,
                    )?;
                }
            }
            let mut latest: HashMap<(&str, &str), usize> = HashMap::new();
            for (n, (i, _)) in batch.incidents.iter().enumerate() {
                latest.insert((i.source.as_str(), i.external_id.as_str()), n);
            }
            let mut values: Vec<&dyn ToParam> = Vec::new();
            for (n, (i, raw)) in batch.incidents.iter().enumerate() {
                if latest[&(i.source.as_str(), i.external_id.as_str())] != n {
                    continue;
                }
                values.extend([
                    &i.source as &dyn ToParam,
                    &i.external_id,
                    &i.service,
                    &i.title,
                    &i.started_at,
                    &i.resolved_at,
                    &i.deployment,
                    &i.commit,
                    &i.pull_request,
                    raw,
                ]);
            }
            upsert_rows(db, &INCIDENTS, &values, None, |_| Ok(()))?;
            // Work items are few beside pull requests: one upsert each, their moves replaced.
            for (item, raw) in &batch.items {
                let links = serde_json::to_string(&item.links).unwrap_or_else(|_| "[]".to_owned());
                let id: i64 = db.query_row(
                    "INSERT INTO work_items (source, external_id, title, kind, project, created_at, links, raw,
                        points, sprint)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                     ON CONFLICT (source, external_id) DO UPDATE SET title = excluded.title, kind = excluded.kind,
                        project = excluded.project, created_at = excluded.created_at, links = excluded.links,
                        raw = excluded.raw, points = excluded.points, sprint = excluded.sprint
                     RETURNING id",
                    params![
                        item.source,
                        item.external_id,
                        item.title,
                        item.kind,
                        item.project,
                        item.created_at,
                        links,
                        raw,
                        item.points,
                        item.sprint
                    ],
                    |r| r.get(0),
                )?;
                db.execute("DELETE FROM item_transitions WHERE item_id = ?1", params![id])?;
                for (at, status, category) in &item.transitions {
                    db.execute(
                        "INSERT INTO item_transitions (item_id, at, status, category) VALUES (?1, ?2, ?3, ?4)",
                        params![id, at, status, category],
                    )?;
                }
            }
            for (source, resource, value) in cursors {
                db.execute(
                    "INSERT INTO source_cursors (source, resource, value) VALUES (?1, ?2, ?3)
                     ON CONFLICT (source, resource) DO UPDATE SET value = excluded.value",
                    params![source, resource, value],
                )?;
            }
            Ok(())
        })?;
        Ok(EventCounts {
            pull_requests: batch.pull_requests.len(),
            deployments: batch.deployments.len(),
            incidents: batch.incidents.len(),
            items: batch.items.len(),
        })
    }

    /// Whether any work item is stored.
    pub fn has_work_items(&self) -> Result<bool, StoreError> {
        if !self.has_table("work_items")? {
            return Ok(false);
        }
        self.db
            .query_row("SELECT EXISTS (SELECT 1 FROM work_items)", params![], |r| r.get::<bool>(0))
            .map_err(self.sql())
    }

    /// Stored work items with their moves (time order) that `filter` keeps:
    /// all without a filter, else those whose project is one of its
    /// services or repositories. Also whether any is stored at all.
    pub fn load_items(&self, filter: &EventFilter) -> Result<Vec<ItemEvent>, StoreError> {
        let sql = self.sql();
        if !self.has_table("work_items")? {
            return Ok(Vec::new());
        }
        let mut items: Vec<ItemEvent> = Vec::new();
        let mut index: HashMap<i64, usize> = HashMap::new();
        self.db
            .for_each(
                "SELECT id, source, external_id, title, kind, project, created_at, links, points, sprint FROM work_items \
                 ORDER BY id",
                params![],
                |row| {
                    let project: Option<String> = row.get(5)?;
                    let kept = (filter.repos.is_empty() && filter.services.is_empty())
                        || project.as_deref().is_some_and(|p| {
                            filter.services.iter().any(|s| s.eq_ignore_ascii_case(p)) || filter.keeps_repo(p)
                        });
                    if !kept {
                        return Ok(());
                    }
                    let links: String = row.get(7)?;
                    index.insert(row.get(0)?, items.len());
                    items.push(ItemEvent {
                        source: row.get(1)?,
                        external_id: row.get(2)?,
                        title: row.get(3)?,
                        kind: row.get(4)?,
                        project,
                        created_at: row.get(6)?,
                        transitions: Vec::new(),
                        links: serde_json::from_str(&links).unwrap_or_default(),
                        points: row.get(8)?,
                        sprint: row.get(9)?,
                    });
                    Ok(())
                },
            )
            .map_err(&sql)?;
        if items.is_empty() {
            return Ok(items);
        }
        self.db
            .for_each(
                "SELECT item_id, at, status, category FROM item_transitions ORDER BY item_id, at",
                params![],
                |row| {
                    if let Some(&i) = index.get(&row.get::<i64>(0)?) {
                        items[i].transitions.push((row.get(1)?, row.get(2)?, row.get(3)?));
                    }
                    Ok(())
                },
            )
            .map_err(&sql)?;
        Ok(items)
    }

    /// The text of stored pull requests, by repository and number: the
    /// title, the description a host's payload carries (GitHub's `body`,
    /// GitLab's, Bitbucket's and Azure DevOps' `description`) and the source
    /// branch's name (GitHub's `head.ref` or `headRefName`, GitLab's
    /// `source_branch`, Bitbucket's `source.branch.name`, Azure DevOps'
    /// `sourceRefName`, an events file's `branch`), for linking work items.
    pub fn pr_texts(&self, filter: &EventFilter) -> Result<HashMap<(String, u64), String>, StoreError> {
        let mut texts = HashMap::new();
        self.db
            .for_each(
                "SELECT repo, number, title, raw FROM pull_requests WHERE title IS NOT NULL OR raw IS NOT NULL",
                params![],
                |row| {
                    let repo: String = row.get(0)?;
                    if !filter.keeps_repo(&repo) {
                        return Ok(());
                    }
                    let mut text: String = row.get::<Option<String>>(2)?.unwrap_or_default();
                    if let Some(raw) = row.get::<Option<String>>(3)?
                        && let Ok(payload) = serde_json::from_str::<serde_json::Value>(&raw)
                    {
                        let body = payload["body"].as_str().or(payload["description"].as_str());
                        let branch = [
                            &payload["head"]["ref"],
                            &payload["headRefName"],
                            &payload["source_branch"],
                            &payload["source"]["branch"]["name"],
                            &payload["sourceRefName"],
                            &payload["branch"],
                        ]
                        .into_iter()
                        .find_map(|v| v.as_str());
                        for part in [body, branch].into_iter().flatten() {
                            text.push('\n');
                            text.push_str(part.trim_start_matches("refs/heads/"));
                        }
                    }
                    texts.insert((repo, row.get::<i64>(1)? as u64), text);
                    Ok(())
                },
            )
            .map_err(self.sql())?;
        Ok(texts)
    }

    /// The SQL condition (on `p`) selecting the pull requests `reach`
    /// reaches: open ones, those with an event since its time, and older
    /// ones a deployment since then ships, found by their merge commits
    /// (indexed) and kept by id.
    fn reach_sql(&self, filter: &EventFilter, reach: &PrReach<'_>) -> Result<String, StoreError> {
        let t = reach.at;
        let shipped = self.shipped_rows(filter, reach, None, ReachBy::LastEvent)?;
        // Integers (the time, row ids read from the store), not text:
        // formatted into the statement.
        let ids: Vec<String> = shipped.iter().map(i64::to_string).collect();
        let shipped = if ids.is_empty() { String::new() } else { format!(" OR p.id IN ({})", ids.join(", ")) };
        Ok(format!("(p.last_event_at IS NULL OR p.last_event_at >= {t}{shipped})"))
    }

    /// Row ids of the pull requests `filter` keeps that `reach` reaches only
    /// by their merge commit (their last event is before its time), in order.
    /// With `plan` (how a read of the filter's rows goes), on PostgreSQL,
    /// when the filter's rows are few against the commits shipped: those
    /// rows before the reach's time read whole and checked here, instead of
    /// each shipped commit looked up by the index.
    fn shipped_rows(
        &self,
        filter: &EventFilter,
        reach: &PrReach<'_>,
        plan: Option<&Plan>,
        by: ReachBy,
    ) -> Result<Vec<i64>, StoreError> {
        let t = reach.at;
        if let Some(plan) = plan.filter(|plan| {
            self.db.is_postgres()
                && !plan.condition.is_empty()
                && plan.kept < reach.shipped.len().saturating_mul(ROWS_PER_LOOKUP)
        }) {
            let shipped: HashSet<&str> = reach.shipped.iter().copied().collect();
            let bound: Vec<&dyn ToParam> = plan.values.iter().map(|v| v as &dyn ToParam).collect();
            let mut rows = Vec::new();
            // The time is an integer: formatted into the statement.
            self.db
                .for_each(
                    &format!(
                        "SELECT p.id, p.repo, p.merge_commit FROM pull_requests p{} AND {}
                         AND p.merge_commit IS NOT NULL",
                        plan.condition,
                        by.before_sql(t)
                    ),
                    &bound,
                    |r| {
                        if r.with_text(2, |merge| shipped.contains(merge))? && filter.keeps_repo(&r.get::<String>(1)?) {
                            rows.push(r.get(0)?);
                        }
                        Ok(())
                    },
                )
                .map_err(self.sql())?;
            rows.sort_unstable();
            return Ok(rows);
        }
        let mut shipped: Vec<i64> = Vec::new();
        let whole = plan.is_some_and(|plan| plan.condition.is_empty());
        let mut each = |r: &super::db::Row<'_, '_>| {
            let reached = by.reaches(r.get::<Option<i64>>(2)?, t);
            if !reached && filter.keeps_repo(&r.get::<String>(1)?) {
                shipped.push(r.get(0)?);
            }
            Ok(())
        };
        let columns = format!("SELECT p.id, p.repo, {} FROM pull_requests p", by.column_sql());
        // Only rows the window does not reach by time: most shipped rows are
        // the window's own, read already (an integer, formatted in).
        let before = by.before_sql(t);
        if self.db.is_postgres() && whole {
            // Every repository's (an organisation's): one pass over the rows
            // before the window, each merge commit looked up in the commits
            // shipped, which the server hashes once (a binary array is a
            // constant to its planner). At 2,000,000 pull requests, 211,000
            // commits: 0.40 s; their index looked up one by one 0.8 s; a hash
            // join 0.67-0.87 s, and 0.22 s more to parse the array as text.
            self.db
                .batch(
                    "SET enable_indexscan = off; SET enable_bitmapscan = off; \
                     SET max_parallel_workers_per_gather = 0",
                )
                .map_err(self.sql())?;
            let found = self.db.for_each(
                &format!("{columns} WHERE {before} AND p.merge_commit = ANY(?1::text[])"),
                &[&reach.shipped.as_slice() as &dyn ToParam],
                &mut each,
            );
            self.db
                .batch("RESET enable_indexscan; RESET enable_bitmapscan; RESET max_parallel_workers_per_gather")
                .map_err(self.sql())?;
            found.map_err(self.sql())?;
        } else if self.db.is_postgres() {
            // One statement per list of 10,000 (a team's 90 days at
            // 2,000,000 pull requests: 21,000 merge commits, which took 43
            // statements of 500 parameters, 130 ms).
            for chunk in reach.shipped.chunks(IDS_PER_LIST) {
                self.db
                    .for_each(
                        &format!("{columns} WHERE p.merge_commit = ANY(?1::text[]) AND {before}"),
                        &[&chunk as &dyn ToParam],
                        &mut each,
                    )
                    .map_err(self.sql())?;
            }
        } else {
            for chunk in reach.shipped.chunks(500) {
                let list: Vec<String> = (1..=chunk.len()).map(|i| format!("?{i}")).collect();
                let bound: Vec<&dyn ToParam> = chunk.iter().map(|c| c as &dyn ToParam).collect();
                self.db
                    .for_each(
                        &format!("{columns} WHERE p.merge_commit IN ({}) AND {before}", list.join(", ")),
                        &bound,
                        &mut each,
                    )
                    .map_err(self.sql())?;
            }
        }
        shipped.sort_unstable();
        shipped.dedup();
        Ok(shipped)
    }

    /// Stored pull requests (with commits and activities) that `filter` keeps.
    /// With `since`, only those that reach its time: open ones, those
    /// created, merged, closed or reviewed at or after it, and those whose
    /// merge commit is one of `since.shipped` (what the scope's deployments
    /// finishing at or after it ship): a report of windows starting there
    /// needs no other (see `delivery::Events`).
    pub fn load_pull_requests(
        &self,
        filter: &EventFilter,
        since: Option<&PrReach<'_>>,
    ) -> Result<Vec<PullRequest>, StoreError> {
        let reach = since.map_or(Reach::All, Reach::Now);
        Ok(self.read_pull_requests(filter, reach, false, false, None, ReachBy::LastEvent)?.prs)
    }

    /// Whether [`Store::load_window`] counts the pull requests it reads
    /// ([`Store::pr_counts`] of its filter): on SQLite when every row has
    /// an id block (its reads of a filter's rows are then every row of the
    /// filter's repositories).
    pub fn counts_in_window(&self) -> Result<bool, StoreError> {
        if self.db.is_postgres() {
            return Ok(false);
        }
        Ok(!self.has_rows_before_blocks()?)
    }

    /// Whether pull requests stored before id blocks (block 0, see
    /// `BLOCK_BITS`) remain.
    fn has_rows_before_blocks(&self) -> Result<bool, StoreError> {
        self.db
            .query_row(
                &format!("SELECT EXISTS (SELECT 1 FROM pull_requests WHERE id < {})", 1_i64 << BLOCK_BITS),
                params![],
                |r| r.get(0),
            )
            .map_err(self.sql())
    }

    /// The deployments `filter` keeps ([`Store::load_deployments`]) and the
    /// pull requests they and `since` reach ([`Store::load_pull_requests`]
    /// with [`PrReach::shipped_by`]), with how long the deployments took.
    ///
    /// A second connection reads the deployments while this one reads the
    /// pull request rows; the few rows merged before `since` wait for the
    /// deployments to decide them (rows a window in SQL left out are then
    /// looked up by merge commit). The two reads may see
    /// different commits of the database, as the children of pull requests
    /// read on two connections may: a deployment and a pull request written
    /// meanwhile show as written in two batches.
    ///
    /// When [`Store::counts_in_window`] says so, the pull requests' counts
    /// ([`Store::pr_counts`]) come along, counted as the rows go by; with
    /// `labels`, their titles and web addresses, read from the same rows.
    pub fn load_window(&self, filter: &EventFilter, since: i64, labels: bool) -> Result<Window, StoreError> {
        self.load_window_from(filter, since, labels, None)
    }

    /// [`Store::load_window`]; with `figures_from`, a read for figures of
    /// the window alone (the five keys, the flow's stages: an
    /// organisation's rows): the deployments [`Store::read_deployments`]
    /// reads from then (the window's and the pinned), with their row ids in
    /// [`Window::deployment_ids`], and of the pull requests those merged
    /// since `since` and those its deployments ship (not those open, or
    /// with only an event since).
    pub fn load_window_from(
        &self,
        filter: &EventFilter,
        since: i64,
        labels: bool,
        figures_from: Option<i64>,
    ) -> Result<Window, StoreError> {
        let deployments_from = figures_from;
        let by = if figures_from.is_some() { ReachBy::Merge } else { ReachBy::LastEvent };
        let started = std::time::Instant::now();
        let count = self.counts_in_window()?;
        // On PostgreSQL a window (a team's, an organisation's) is selected
        // in SQL and the rows before it that its deployments ship are looked
        // up by merge commit: beside, as soon as the deployments are read,
        // while this connection reads the window (a team's report at
        // 2,000,000 pull requests: the lookup took 110 ms after both).
        let plan = if self.db.is_postgres() { Some(self.pull_request_plan(filter)?) } else { None };
        let look_up = plan.is_some();
        let beside_plan = plan.clone();
        let beside = self.reader()?;
        type Read = (Result<ReadDeployments, StoreError>, Option<Result<Vec<i64>, StoreError>>, std::time::Duration);
        std::thread::scope(|threads| {
            let reading = threads.spawn(move || {
                let deployments = beside.read_deployments(filter, deployments_from);
                let deployments_in = started.elapsed();
                let shipped = match &deployments {
                    Ok((deployments, ..)) if look_up => Some(beside.shipped_rows(
                        filter,
                        &PrReach::shipped_by(since, deployments),
                        beside_plan.as_ref(),
                        by,
                    )),
                    _ => None,
                };
                (deployments, shipped, deployments_in)
            });
            let reading = std::cell::RefCell::new(Some(reading));
            let read: std::cell::OnceCell<Read> = std::cell::OnceCell::new();
            let deployments = || -> Option<Shipped<'_>> {
                let (deployments, shipped, _) = read.get_or_init(|| {
                    let handle = reading.borrow_mut().take().expect("the deployments are read once");
                    handle.join().expect("the deployment reader does not panic")
                });
                let shipped = match shipped {
                    Some(Ok(rows)) => Some(rows.as_slice()),
                    Some(Err(_)) => return None,
                    None => None,
                };
                Some((deployments.as_ref().ok()?.0.as_slice(), shipped))
            };
            let prs = self.read_pull_requests(filter, Reach::Later(since, &deployments), count, labels, plan, by);
            deployments();
            let (deployments, shipped, deployments_in) = read.into_inner().expect("the deployments were read");
            let (deployments, deployment_ids, deployments_from) = deployments?;
            shipped.transpose()?;
            let PrRead { prs, counts, labels } = prs?;
            Ok(Window { deployments, deployment_ids, deployments_from, prs, counts, labels, deployments_in })
        })
    }

    /// How [`Store::read_pull_requests`] reads what `filter` keeps.
    fn pull_request_plan(&self, filter: &EventFilter) -> Result<Plan, StoreError> {
        // A filter narrows every read in SQL: a team reads its own pull
        // requests and their children only (and Rust checks each row again).
        let (condition, values, stored_repos) = self.pull_request_sql(filter)?;
        // How many pull requests the filter keeps (index ranges), and about
        // how many there are: this only chooses how to read, so a filter's
        // share of the repositories stands in for a count of every row.
        let (kept, all) = if condition.is_empty() || (stored_repos > 0 && values.len() >= stored_repos) {
            // No filter, or one keeping every repository stored (an
            // organisation's): every row, without a count (of 2,000,000
            // rows on PostgreSQL, 0.48 s before the organisation's read).
            let all = usize::try_from(self.estimated_rows("pull_requests")?).unwrap_or(0);
            (all, all)
        } else if self.db.is_postgres() && stored_repos > 0 {
            // PostgreSQL: the table's statistics and the filter's share of
            // the repositories, not a count (one on the way to a team's
            // read, 8-15 ms of its report's 0.3 s at 2,000,000 rows).
            let all = usize::try_from(self.estimated_rows("pull_requests")?).unwrap_or(0);
            (all * values.len().min(stored_repos) / stored_repos, all)
        } else {
            let bound: Vec<&dyn ToParam> = values.iter().map(|v| v as &dyn ToParam).collect();
            let kept: i64 = self
                .db
                .query_row(&format!("SELECT COUNT(*) FROM pull_requests p{condition}"), &bound, |r| r.get(0))
                .map_err(self.sql())?;
            let kept = usize::try_from(kept).unwrap_or(0);
            let repos = stored_repos.max(values.len());
            (kept, kept * repos / values.len().max(1))
        };
        // When the filter keeps most of them (an organisation's teams),
        // reading every row in storage order and skipping the few not kept
        // beats looking each kept one up by index.
        let (condition, values) = if kept * 2 > all { (String::new(), Vec::new()) } else { (condition, values) };
        Ok(Plan { condition, values, kept, all })
    }

    /// The pull requests `filter` keeps and `reach` reaches; with `tally_rows`,
    /// also their counts when every row of the filter's repositories went
    /// by (none read by the window's condition in SQL); with `labels`, the
    /// titles and web addresses of those that have them. `plan`: how, when
    /// already decided ([`Store::pull_request_plan`] of `filter`). `by`:
    /// what reaches a window by time (a reach known before the read is
    /// always by the last event).
    fn read_pull_requests(
        &self,
        filter: &EventFilter,
        reach: Reach<'_, '_>,
        tally_rows: bool,
        labels: bool,
        plan: Option<Plan>,
        by: ReachBy,
    ) -> Result<PrRead, StoreError> {
        let sql = self.sql();
        let Plan { condition, values, kept, all } = match plan {
            Some(plan) => plan,
            None => self.pull_request_plan(filter)?,
        };
        let bound: Vec<&dyn ToParam> = values.iter().map(|v| v as &dyn ToParam).collect();
        // Rows stored before id blocks (block 0, see `BLOCK_BITS`), read by
        // the filter's condition.
        let legacy = !condition.is_empty() && !self.db.is_postgres() && self.has_rows_before_blocks()?;
        // PostgreSQL's reads, and SQLite's of rows from before id blocks,
        // select the window in SQL: with a reach known later, by time alone,
        // and the rows shipped are looked up after.
        let in_sql = self.db.is_postgres() || legacy;
        let (since, late) = match reach {
            Reach::All => (None, None),
            Reach::Now(reach) => (Some(reach), None),
            Reach::Later(at, deployments) => (None, Some((at, deployments))),
        };
        let windowed = since.is_some() || late.is_some();
        // A row the windows reach: open, or with an event since `at`, or
        // shipped by a deployment since then (see `PrReach`). Checked here
        // for rows read in ranges; rows read by an index are selected by
        // the same rule in SQL.
        let shipped: std::collections::HashSet<&str> =
            since.map(|reach| reach.shipped.iter().copied().collect()).unwrap_or_default();
        let late_at = late.map(|(at, _)| at);
        // Whether a row is reached by its last event: yes; no; or only if
        // its merge commit was shipped since the window's start (known now,
        // or pending the deployments).
        enum ByTime {
            Reached,
            IfShipped,
            Pending,
        }
        let by = if since.is_some() { ReachBy::LastEvent } else { by };
        let by_time = |value: Option<i64>| -> ByTime {
            let Some(at) = since.map(|reach| reach.at).or(late_at) else { return ByTime::Reached };
            if by.reaches(value, at) {
                ByTime::Reached
            } else if late_at.is_some() {
                ByTime::Pending
            } else {
                ByTime::IfShipped
            }
        };
        // The rows: all of them in id order; or a filter's by the id blocks
        // of its repositories (on SQLite each a range of the table, in id
        // order), and the rows stored before blocks (block 0, see
        // `BLOCK_BITS`) by the filter's condition.
        // Titles and web addresses only when asked for (PostgreSQL sends
        // every column selected, read or not).
        let columns = format!(
            "SELECT p.id, p.repo, p.number, p.source, p.author, p.created_at, p.ready_at, p.merged_at,
                    p.closed_at, p.merge_commit, p.draft, p.additions, p.deletions, p.updated_at,
                    p.size_known, p.last_event_at, {}
             FROM pull_requests p",
            if labels { "p.title, p.url" } else { "NULL, NULL" }
        );
        // Rows read by an index: the window's rule in SQL (see `reach_sql`).
        let window_sql = || -> Result<String, StoreError> {
            match (since, late_at) {
                (Some(reach), _) => Ok(format!(" AND {}", self.reach_sql(filter, reach)?)),
                // An integer: formatted into the statement.
                (None, Some(at)) => Ok(format!(" AND {}", by.sql(at))),
                (None, None) => Ok(String::new()),
            }
        };
        let mut statements: Vec<(String, Vec<&dyn ToParam>)> = Vec::new();
        let mut ranges: Vec<[i64; 2]> = Vec::new();
        // A read of every row on SQLite (an organisation's): the table in two
        // halves, each on its own core (blocks are repositories of about
        // equal size).
        let mut halves: Option<i64> = None;
        if condition.is_empty() && !self.db.is_postgres() {
            let blocks: Vec<i64> = self
                .db
                .query_map("SELECT block FROM id_blocks WHERE kind = 'pull_request' ORDER BY block", params![], |r| {
                    r.get(0)
                })
                .map_err(&sql)?;
            halves = blocks.get(blocks.len() / 2).filter(|_| blocks.len() >= 2).map(|b| b << BLOCK_BITS);
        }
        if let Some(middle) = &halves {
            statements.push((format!("{columns} WHERE p.id < ?1 ORDER BY p.id"), vec![middle as &dyn ToParam]));
        } else if let Some(at) = late_at.filter(|_| condition.is_empty() && self.db.is_postgres()) {
            // An organisation's window on PostgreSQL, which sends every
            // column of every row selected: the rows with an event since the
            // window's start; those before it that the deployments ship are
            // found beside, as soon as the deployments are read (see
            // `Store::shipped_rows`). In storage order, put in id order
            // below: the table's scan filtered took 0.23 s of 2,000,000 rows,
            // its primary key's scan in id order 0.56 s. (An integer:
            // formatted into the statement.)
            statements.push((format!("{columns} WHERE {}", by.sql(at)), Vec::new()));
        } else if condition.is_empty() {
            statements.push((format!("{columns} ORDER BY p.id"), Vec::new()));
        } else if self.db.is_postgres() {
            // PostgreSQL keeps rows in the order they arrived whatever their
            // ids, so a block's range is spread through the table: the
            // index on (repo, last_event_at) reads the window alone, put in
            // id order below.
            let time = window_sql()?;
            statements.push((format!("{columns}{condition}{time}"), bound.clone()));
        } else {
            if legacy {
                let time = window_sql()?;
                statements.push((
                    format!("{columns}{condition} AND p.id < {}{time} ORDER BY p.id", 1_i64 << BLOCK_BITS),
                    bound.clone(),
                ));
            }
            let list: Vec<String> = (2..values.len() + 2).map(|i| format!("?{i}")).collect();
            let mut query: Vec<&dyn ToParam> = vec![&"pull_request"];
            query.extend(bound.iter().copied());
            // No repository kept, no block (and PostgreSQL refuses `IN ()`).
            let mut blocks: Vec<i64> = if values.is_empty() {
                Vec::new()
            } else {
                self.db
                    .query_map(
                        &format!("SELECT block FROM id_blocks WHERE kind = ?1 AND key IN ({})", list.join(", ")),
                        &query,
                        |r| r.get(0),
                    )
                    .map_err(&sql)?
            };
            blocks.sort_unstable();
            ranges = blocks.iter().map(|b| [b << BLOCK_BITS, (b + 1) << BLOCK_BITS]).collect();
        }
        let range_sql = format!("{columns} WHERE p.id >= ?1 AND p.id < ?2 ORDER BY p.id");
        for [start, end] in &ranges {
            statements.push((range_sql.clone(), vec![start as &dyn ToParam, end]));
        }
        // One row, when the window reaches it and the filter keeps its
        // repository (a few hundred repositories against millions of rows:
        // each decided once, in `kept_repos`).
        // (`decided`: a row found shipped once the deployments were known.)
        let pr_row = |row: &super::db::Row<'_, '_>,
                      kept_repos: &mut HashMap<String, bool>,
                      decided: bool|
         -> Result<Decided, super::db::DbError> {
            // (A merge commit is copied out only for the rows kept.)
            let merge_commit: Option<String> = if decided {
                row.get(9)?
            } else {
                match by_time(row.get(by.column())?) {
                    ByTime::Reached => row.get(9)?,
                    _ if row.is_null(9)? => return Ok(Decided::Dropped),
                    ByTime::Pending => return Ok(Decided::Pending(row.get(0)?, row.with_text(9, merge_hash)?)),
                    ByTime::IfShipped => match row.with_text(9, |m| shipped.contains(m).then(|| m.to_owned()))? {
                        Some(merge_commit) => Some(merge_commit),
                        None => return Ok(Decided::Dropped),
                    },
                }
            };
            let repo: String = row.get(1)?;
            let kept = match kept_repos.get(&repo) {
                Some(&kept) => kept,
                None => *kept_repos.entry(repo.clone()).or_insert_with(|| filter.keeps_repo(&repo)),
            };
            if !kept {
                return Ok(Decided::Dropped);
            }
            let number: i64 = row.get(2)?;
            let source: String = row.get(3)?;
            let kind = source.split(':').next().unwrap_or("import").to_owned();
            Ok(Decided::Kept(
                row.get(0)?,
                PullRequest {
                    id: format!("{kind}:pr:{repo}#{number}"),
                    repo,
                    number: number as u64,
                    author: row.get(4)?,
                    created_at: row.get(5)?,
                    ready_at: row.get(6)?,
                    merged_at: row.get(7)?,
                    closed_at: row.get(8)?,
                    merge_commit,
                    draft: row.get(10)?,
                    additions: row.get::<i64>(11)?.max(0) as u64,
                    deletions: row.get::<i64>(12)?.max(0) as u64,
                    size_unknown: !row.get::<bool>(14)?,
                    commits: Vec::new(),
                    activities: Vec::new(),
                    updated_at: row.get(13)?,
                },
            ))
        };
        let path = &self.path;
        // The rows kept, and those pending, in id order.
        type Pending = Vec<(i64, u64)>;
        // Every row of the filter's repositories goes by when none is
        // selected in SQL: counted on the way, when asked.
        let tally_rows = tally_rows && !in_sql;
        // (`room`: how many rows to make room for at once; growing a
        // vector of hundreds of megabytes copied it and faulted in fresh
        // pages each time.)
        let read_all = |db: &super::db::Db, statements: &[(String, Vec<&dyn ToParam>)], decided: bool, room: usize| {
            let mut kept_repos: HashMap<String, bool> = HashMap::new();
            let mut read = Read { ids: Vec::with_capacity(room), prs: Vec::with_capacity(room) };
            let mut pending: Pending = Vec::new();
            let mut tally = Tally::default();
            let mut found: Vec<((String, u64), PrLabel)> = Vec::new();
            for (statement, bound) in statements {
                db.for_each(statement, bound, |row| {
                    if tally_rows && !decided {
                        tally.add(row)?;
                    }
                    match pr_row(row, &mut kept_repos, decided)? {
                        Decided::Kept(id, pr) => {
                            if labels {
                                let label = PrLabel { title: row.get(16)?, url: row.get(17)? };
                                if label.title.is_some() || label.url.is_some() {
                                    found.push(((pr.repo.clone(), pr.number), label));
                                }
                            }
                            read.ids.push(id);
                            read.prs.push(pr);
                        }
                        Decided::Pending(id, merge_commit) => pending.push((id, merge_commit)),
                        Decided::Dropped => {}
                    }
                    Ok(())
                })
                .map_err(|e| sql_error(path, e))?;
            }
            Ok::<_, StoreError>((read, pending, tally, found))
        };
        let (mut read, pending, tally, mut found) = match halves {
            Some(middle) => {
                let reader = self.db.reader(&self.path).map_err(&sql)?;
                let statement = format!("{columns} WHERE p.id >= ?1 ORDER BY p.id");
                std::thread::scope(|threads| {
                    let read_all = &read_all;
                    // The lower half makes room for both (the upper half is
                    // appended to it), the upper for its own.
                    let upper = threads.spawn(move || {
                        read_all(&reader, &[(statement, vec![&middle as &dyn ToParam])], false, kept / 2)
                    });
                    let (mut read, mut pending, mut tally, mut found) = read_all(&self.db, &statements, false, kept)?;
                    let (upper, upper_pending, upper_tally, upper_found) =
                        upper.join().expect("a pull request reader does not panic")?;
                    read.ids.extend(upper.ids);
                    read.prs.extend(upper.prs);
                    pending.extend(upper_pending);
                    tally.merge(upper_tally);
                    found.extend(upper_found);
                    Ok::<_, StoreError>((read, pending, tally, found))
                })?
            }
            None => read_all(&self.db, &statements, false, kept)?,
        };
        // Rows in id order (each statement's are; the halves and the ranges
        // are put in order): the children's halves below split both at one
        // place.
        read.sort();
        // The children (one row per pull request, schema 18): of a few pull
        // requests (a team's window) by their ids; of most (an
        // organisation) every row in the ids' span, skipping those of pull
        // requests not read; else by the filter's condition, evaluated once
        // per pull request.
        let postgres = self.db.is_postgres();
        let by_list = move |ids: &[i64]| {
            windowed && postgres && (ids.len() * 4 < all && id_ranges(ids).len() > PG_RANGES || ids.len() * 2 < all)
        };
        let by_ranges = move |ids: &[i64]| windowed && ids.len() * 4 < all;
        // A window's reports read a commit's time only (the first starts
        // the coding stage, the last is a sign of life): its id and author
        // are left out, as are their allocations, two for each of millions
        // of commits (an organisation's window at 2,000,000 pull requests:
        // 2.3 million commits).
        let commit_ids = late.is_none();
        // (Commit ids have a table of their own, which a window's read
        // leaves alone: see schema 18.)
        let child_columns = if commit_ids {
            "c.pr_id, c.commit_times, c.activities, COALESCE(i.commit_ids, '')
             FROM pr_children c LEFT JOIN pr_commit_ids i ON i.pr_id = c.pr_id"
        } else {
            "c.pr_id, c.commit_times, c.activities FROM pr_children c"
        };
        // The statements reading the children of `ids` (ascending); ids
        // read from the store are integers, formatted into them.
        type Bound = Vec<Box<dyn ToParam + Send>>;
        let statements_for = |ids: &[i64]| -> Vec<(String, Bound)> {
            let (Some(first), Some(last)) = (ids.first(), ids.last()) else { return Vec::new() };
            let columns = child_columns;
            if by_list(ids) {
                // PostgreSQL numbers rows from one sequence: a team's ids
                // are scattered over many short ranges (1,480 for one team
                // of twenty's 90 days at 2,000,000 pull requests), a round
                // trip each. Lists of ids instead: one index scan each.
                let statement = format!("SELECT {columns} WHERE c.pr_id = ANY(string_to_array(?1, ',')::bigint[])");
                return ids
                    .chunks(IDS_PER_LIST)
                    .map(|chunk| {
                        let list = chunk.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
                        (statement.clone(), vec![Box::new(list) as Box<dyn ToParam + Send>])
                    })
                    .collect();
            }
            if by_ranges(ids) {
                // Row ids in a block are a repository's in the order stored:
                // a window's are a few runs, each one range of the key.
                let statement = format!("SELECT {columns} WHERE c.pr_id >= ?1 AND c.pr_id <= ?2");
                return id_ranges(ids)
                    .iter()
                    .map(|&(first, last)| {
                        (statement.clone(), vec![Box::new(first) as Box<dyn ToParam + Send>, Box::new(last)])
                    })
                    .collect();
            }
            let span = format!("c.pr_id >= {first} AND c.pr_id <= {last}");
            if condition.is_empty() || windowed {
                vec![(format!("SELECT {columns} WHERE {span}"), Vec::new())]
            } else {
                vec![(
                    format!(
                        "SELECT {columns}
                         WHERE {span} AND c.pr_id IN (SELECT p.id FROM pull_requests p{condition})"
                    ),
                    values.iter().map(|v| Box::new(v.clone()) as Box<dyn ToParam + Send>).collect(),
                )]
            }
        };
        // Each half of the rows' children read on its own core, by its own
        // connection (WAL lets SQLite readers run side by side), into its
        // own half of the pull requests; a few hundred on one.
        let path = &self.path;
        let fill = |db: &super::db::Db, index: &Positions, ids: &[i64], prs: &mut [PullRequest], offset: usize| {
            let mut hint = 0;
            // One copy of each login, shared by its activities.
            let mut logins: HashSet<Arc<str>> = HashSet::new();
            let mut activities: Vec<ReviewActivity> = Vec::new();
            let damaged = |index: usize| move |message: String| super::db::DbError::Column { index, message };
            for (statement, values) in statements_for(ids) {
                let bound: Vec<&dyn ToParam> = values.iter().map(|v| v.as_ref() as &dyn ToParam).collect();
                db.for_each(&statement, &bound, |row| {
                    let Some(pr) = index.get(row.get(0)?, &mut hint).and_then(|i| i.checked_sub(offset)) else {
                        return Ok(());
                    };
                    let Some(pr) = prs.get_mut(pr) else { return Ok(()) };
                    let mut commits = Vec::new();
                    row.with_text(1, |text| {
                        commits.reserve_exact(super::packed::commit_count(text));
                        super::packed::commit_times(text, |authored_at| {
                            commits.push(PrCommit { sha: String::new(), author: String::new(), authored_at })
                        })
                    })?
                    .map_err(damaged(1))?;
                    if commit_ids {
                        let mut k = 0;
                        row.with_text(3, |text| {
                            super::packed::commit_ids(text, |sha, author| {
                                if let Some(c) = commits.get_mut(k) {
                                    c.sha = sha.to_owned();
                                    c.author = author.to_owned();
                                }
                                k += 1;
                            })
                        })?
                        .map_err(damaged(3))?;
                        if k != commits.len() {
                            return Err(damaged(3)(format!("{k} commit ids for {} commit times", commits.len())));
                        }
                    }
                    row.with_text(2, |text| {
                        super::packed::activities(text, |at, kind, login| {
                            let author = match logins.get(login) {
                                Some(shared) => Arc::clone(shared),
                                None => {
                                    let shared: Arc<str> = login.into();
                                    logins.insert(Arc::clone(&shared));
                                    shared
                                }
                            };
                            activities.push(ReviewActivity { author, at, kind: kind_from_name(kind) });
                        })
                    })?
                    .map_err(damaged(2))?;
                    pr.commits = commits;
                    // Of its exact length.
                    pr.activities = Vec::with_capacity(activities.len());
                    pr.activities.append(&mut activities);
                    Ok(())
                })
                .map_err(|e| sql_error(path, e))?;
            }
            Ok::<_, StoreError>(())
        };
        // The children of `prs` (rows `ids`, ascending).
        let children = |ids: &[i64], prs: &mut [PullRequest]| -> Result<(), StoreError> {
            let mut index = Positions::default();
            for (position, &row_id) in ids.iter().enumerate() {
                index.insert(row_id, position);
            }
            let one = if self.db.is_postgres() { PG_CHILDREN_ON_ONE_CONNECTION } else { CHILDREN_ON_ONE_CORE };
            if ids.len() < one {
                return fill(&self.db, &index, ids, prs, 0);
            }
            let reader = self.db.reader(&self.path).map_err(&sql)?;
            let middle = ids.len() / 2;
            let (lower_ids, upper_ids) = ids.split_at(middle);
            let (lower, upper) = prs.split_at_mut(middle);
            std::thread::scope(|threads| {
                let (fill, index) = (&fill, &index);
                let upper = threads.spawn(move || fill(&reader, index, upper_ids, upper, middle));
                let lower = fill(&self.db, index, lower_ids, lower, 0);
                let upper = upper.join().expect("a children reader does not panic");
                lower.and(upper)
            })
        };
        // The window's rows' children first: on PostgreSQL they are read
        // while the deployments and the rows they ship are looked up beside.
        children(&read.ids, &mut read.prs)?;
        // Rows merged before the window: reached if a deployment since its
        // start shipped them, read again by id (a few): those the scans
        // left pending, and those a window in SQL left out, looked up by
        // merge commit.
        if let Some((at, deployments)) = late.filter(|_| in_sql || !pending.is_empty()) {
            let Some((deployments, looked_up)) = deployments() else {
                return Ok(PrRead { prs: Vec::new(), counts: None, labels: None });
            };
            let reach = PrReach::shipped_by(at, deployments);
            let shipped: std::collections::HashSet<&str> = reach.shipped.iter().copied().collect();
            let hashes: std::collections::HashSet<u64> = reach.shipped.iter().map(|m| merge_hash(m)).collect();
            let mut ids: Vec<i64> =
                pending.iter().filter(|(_, merge)| hashes.contains(merge)).map(|(id, _)| *id).collect();
            if in_sql {
                // Looked up beside the read already, or now.
                match looked_up {
                    Some(rows) => ids.extend_from_slice(rows),
                    None => ids.extend(self.shipped_rows(filter, &reach, None, by)?),
                }
                ids.sort_unstable();
                ids.dedup();
            }
            // Integers read from the store: formatted into the statements.
            let statements: Vec<(String, Vec<&dyn ToParam>)> = ids
                .chunks(ROWS_PER_STATEMENT)
                .map(|chunk| {
                    let list: Vec<String> = chunk.iter().map(i64::to_string).collect();
                    (format!("{columns} WHERE p.id IN ({})", list.join(", ")), Vec::new())
                })
                .collect();
            let (mut shipped_rows, _, _, mut shipped_found) = read_all(&self.db, &statements, true, ids.len())?;
            // Found by a hash (or by merge commit, in SQL): the rows whose
            // merge commit was shipped indeed.
            let is_shipped = |pr: &PullRequest| pr.merge_commit.as_deref().is_some_and(|m| shipped.contains(m));
            if !shipped_rows.prs.iter().all(is_shipped) {
                let wrong: HashSet<(String, u64)> = shipped_rows
                    .prs
                    .iter()
                    .filter(|pr| !is_shipped(pr))
                    .map(|pr| (pr.repo.clone(), pr.number))
                    .collect();
                shipped_found.retain(|(key, _)| !wrong.contains(key));
                let mut keep = shipped_rows.prs.iter().map(is_shipped).collect::<Vec<_>>().into_iter();
                shipped_rows.ids.retain(|_| keep.next().unwrap_or(false));
                shipped_rows.prs.retain(is_shipped);
            }
            let mut shipped = shipped_rows;
            found.extend(shipped_found);
            shipped.sort();
            children(&shipped.ids, &mut shipped.prs)?;
            read.ids.extend(shipped.ids);
            read.prs.extend(shipped.prs);
            read.sort();
        }
        let prs = read.prs;

        Ok(PrRead {
            prs,
            counts: tally_rows.then(|| tally.into_counts(filter)),
            labels: labels.then(|| found.into_iter().collect()),
        })
    }

    /// Stored deployment events (every status) that `filter` keeps, with the
    /// commits they listed.
    pub fn load_deployments(&self, filter: &EventFilter) -> Result<Vec<DeploymentEvent>, StoreError> {
        Ok(self.read_deployments(filter, None)?.0)
    }

    /// [`Store::load_deployments`] with their row ids, in the same order;
    /// with `from`, only those finishing at or after it and the pinned ones
    /// before it (schema 20: the rows a window's figures may need whatever
    /// their age; see [`Store::deployments_before`] for the others), and
    /// `from` again. Every deployment, and `None`, when one stored has no
    /// commit list (what it shipped comes from the history, which a
    /// listed deployment's commit reaches too), or while an import's pins
    /// are pending (it deferred the indexes).
    pub fn read_deployments(&self, filter: &EventFilter, from: Option<i64>) -> Result<ReadDeployments, StoreError> {
        let sql = self.sql();
        // (Every deployment without a list is pinned: found among the few.)
        // An import that deferred the indexes (under way, or killed before
        // its end) pins its rows at its end: until then, every row.
        let unlisted = "SELECT EXISTS (SELECT 1 FROM deployments WHERE pinned <> 0 AND commit_list IS NULL)";
        let from = match from {
            Some(_) if self.db.query_row(unlisted, params![], |r| r.get::<bool>(0)).map_err(&sql)? => None,
            Some(_) if super::deferred_indexes(&self.db).map_err(&sql)?.is_some() => None,
            from => from,
        };
        let mut deployments = Vec::new();
        let mut ids: Vec<i64> = Vec::new();
        // A filter naming every stored service keeps every row: no
        // condition, and no count (of 400,000 deployments on PostgreSQL,
        // 55 ms on the way to an organisation's read).
        let (condition, values) =
            if self.keeps_every_service(filter)? { (String::new(), Vec::new()) } else { self.deployment_sql(filter)? };
        // When the filter keeps most of them (an organisation's teams), every
        // row in storage order (each checked below) beats an index lookup a
        // row. Each row holds its commit list (schema 19): a team's report on
        // PostgreSQL at 400,000 deployments read them in 230 ms joined with
        // `deployment_commits`, in 120 ms packed.
        let (condition, values) = if condition.is_empty() {
            (condition, values)
        } else {
            let bound: Vec<&dyn ToParam> = values.iter().map(|v| v as &dyn ToParam).collect();
            let kept: i64 = self
                .db
                .query_row(&format!("SELECT COUNT(*) FROM deployments d{condition}"), &bound, |r| r.get(0))
                .map_err(&sql)?;
            let all = self.estimated_rows("deployments")?;
            if kept * 2 > all { (String::new(), Vec::new()) } else { (condition, values) }
        };
        let bound: Vec<&dyn ToParam> = values.iter().map(|v| v as &dyn ToParam).collect();
        // With `from` (an integer: formatted into the statements), the
        // window's rows by their finish, the pinned before it by theirs.
        let and = |more: String| {
            if condition.is_empty() { format!(" WHERE {more}") } else { format!("{condition} AND {more}") }
        };
        let statements: Vec<String> = match from {
            None => vec![condition.clone()],
            Some(from) => {
                vec![and(format!("d.finished_at >= {from}")), and(format!("d.pinned <> 0 AND d.finished_at < {from}"))]
            }
        };
        let mut keeps = filter.deployment_keeper();
        for condition in statements {
            let statement = format!("SELECT {DEPLOYMENT_COLUMNS} FROM deployments d{condition}");
            self.read_deployment_rows(&statement, &bound, &mut keeps, &mut deployments, &mut ids)?;
        }
        sort_deployments(&mut deployments, &mut ids);
        Ok((deployments, ids, from))
    }

    /// Deployments `filter` keeps that finished before `before` and that a
    /// window's figures need although [`Store::read_deployments`] from
    /// `before` did not read them: those listing one of `shas`, those with
    /// one of `names` as their source's id, and those of a service
    /// finishing within one of `spans` (`(service, first, last)`, both
    /// ends included). With their row ids, in time order.
    pub fn deployments_before(
        &self,
        filter: &EventFilter,
        before: i64,
        shas: &[&str],
        names: &[&str],
        spans: &[(&str, i64, i64)],
    ) -> Result<(Vec<DeploymentEvent>, Vec<i64>), StoreError> {
        let sql = self.sql();
        let mut wanted: Vec<i64> = Vec::new();
        let list = |n: usize, first: usize| (first..first + n).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
        for chunk in shas.chunks(ROWS_PER_STATEMENT) {
            let values: Vec<&dyn ToParam> = chunk.iter().map(|sha| sha as &dyn ToParam).collect();
            let found: Vec<i64> = self
                .db
                .query_map(
                    &format!("SELECT deployment_id FROM deployment_commits WHERE sha IN ({})", list(chunk.len(), 1)),
                    &values,
                    |r| r.get(0),
                )
                .map_err(&sql)?;
            wanted.extend(found);
        }
        if !names.is_empty() {
            // By the unique key (source, external id), each source in turn.
            let mut sources = Vec::new();
            self.each_distinct("deployments", "source", |source| sources.push(source))?;
            for source in &sources {
                for chunk in names.chunks(ROWS_PER_STATEMENT) {
                    let mut values: Vec<&dyn ToParam> = vec![source];
                    values.extend(chunk.iter().map(|name| name as &dyn ToParam));
                    let found: Vec<i64> = self
                        .db
                        .query_map(
                            &format!(
                                "SELECT id FROM deployments WHERE source = ?1 AND external_id IN ({})",
                                list(chunk.len(), 2)
                            ),
                            &values,
                            |r| r.get(0),
                        )
                        .map_err(&sql)?;
                    wanted.extend(found);
                }
            }
        }
        for (service, first, last) in spans {
            let found: Vec<i64> = self
                .db
                .query_map(
                    "SELECT id FROM deployments WHERE service = ?1 AND finished_at >= ?2 AND finished_at <= ?3",
                    params![service, first, last],
                    |r| r.get(0),
                )
                .map_err(&sql)?;
            wanted.extend(found);
        }
        wanted.sort_unstable();
        wanted.dedup();
        let mut deployments = Vec::new();
        let mut ids = Vec::new();
        let mut keeps = filter.deployment_keeper();
        for chunk in wanted.chunks(ROWS_PER_STATEMENT) {
            let mut values: Vec<&dyn ToParam> = vec![&before];
            values.extend(chunk.iter().map(|id| id as &dyn ToParam));
            let statement = format!(
                "SELECT {DEPLOYMENT_COLUMNS} FROM deployments d WHERE d.finished_at < ?1 AND d.id IN ({})",
                list(chunk.len(), 2)
            );
            self.read_deployment_rows(&statement, &values, &mut keeps, &mut deployments, &mut ids)?;
        }
        sort_deployments(&mut deployments, &mut ids);
        Ok((deployments, ids))
    }

    /// The rows of `statement` (`SELECT {DEPLOYMENT_COLUMNS}`) that `keeps`
    /// keeps, appended to `deployments` with their row ids to `ids`.
    fn read_deployment_rows(
        &self,
        statement: &str,
        values: &[&dyn ToParam],
        keeps: &mut impl FnMut(Option<&str>, &str) -> bool,
        deployments: &mut Vec<DeploymentEvent>,
        ids: &mut Vec<i64>,
    ) -> Result<(), StoreError> {
        self.db
            .for_each(statement, values, |row| {
                let repo: Option<String> = row.get(3)?;
                let service: String = row.get(4)?;
                if !keeps(repo.as_deref(), &service) {
                    return Ok(());
                }
                ids.push(row.get(0)?);
                deployments.push(deployment_row(row, repo, service)?);
                Ok(())
            })
            .map_err(self.sql())
    }

    /// About how many rows `table` holds, to choose how to read it: on
    /// PostgreSQL its statistics once it has any (a count of 400,000
    /// deployments took 27 ms of a team's report), else a count. Either
    /// way of reading gives the same rows; only their cost differs.
    fn estimated_rows(&self, table: &str) -> Result<i64, StoreError> {
        if self.db.is_postgres() {
            let estimate: Option<f64> = self
                .db
                .query_opt("SELECT reltuples::float8 FROM pg_class WHERE oid = to_regclass(?1)", params![table], |r| {
                    r.get(0)
                })
                .map_err(self.sql())?;
            if let Some(rows) = estimate.filter(|rows| *rows >= 0.0) {
                return Ok(rows as i64);
            }
        }
        self.db.query_row(&format!("SELECT COUNT(*) FROM {table}"), params![], |r| r.get(0)).map_err(self.sql())
    }

    /// Stored incidents of the services `filter` keeps.
    pub fn load_incidents(&self, filter: &EventFilter) -> Result<Vec<IncidentEvent>, StoreError> {
        let mut incidents = Vec::new();
        let mut values = Vec::new();
        let condition =
            filter.service_condition("service", &mut values).map(|c| format!(" WHERE {c}")).unwrap_or_default();
        let bound: Vec<&dyn ToParam> = values.iter().map(|v| v as &dyn ToParam).collect();
        self.db
            .for_each(
                &format!(
                    "SELECT source, external_id, service, title, started_at, resolved_at, deployment, commit_sha,
                            pull_request
                     FROM incidents{condition} ORDER BY started_at, id"
                ),
                &bound,
                |row| {
                    let incident = IncidentEvent {
                        source: row.get(0)?,
                        external_id: row.get(1)?,
                        service: row.get(2)?,
                        title: row.get(3)?,
                        started_at: row.get(4)?,
                        resolved_at: row.get(5)?,
                        deployment: row.get(6)?,
                        commit: row.get(7)?,
                        pull_request: row.get(8)?,
                    };
                    if filter.services.is_empty() || filter.services.contains(&incident.service) {
                        incidents.push(incident);
                    }
                    Ok(())
                },
            )
            .map_err(self.sql())?;
        Ok(incidents)
    }

    /// A sync cursor of a host source (e.g. the newest `updated_at` seen).
    pub fn cursor(&self, source: &str, resource: &str) -> Result<Option<String>, StoreError> {
        self.db
            .query_opt(
                "SELECT value FROM source_cursors WHERE source = ?1 AND resource = ?2",
                params![source, resource],
                |r| r.get(0),
            )
            .map_err(self.sql())
    }

    /// Cached pages (ETag, body, next page) of the URLs starting with `prefix`.
    pub fn http_cache_under(&self, prefix: &str) -> Result<HashMap<String, CachedPage>, StoreError> {
        let mut pages = HashMap::new();
        self.db
            .for_each(
                "SELECT url, etag, body, next_url FROM http_cache WHERE substr(url, 1, length(?1)) = ?1",
                params![prefix],
                |r| {
                    pages.insert(r.get::<String>(0)?, CachedPage { etag: r.get(1)?, body: r.get(2)?, next: r.get(3)? });
                    Ok(())
                },
            )
            .map_err(self.sql())?;
        Ok(pages)
    }

    /// Remembers pages by URL.
    pub fn cache_http(&mut self, entries: &[(String, CachedPage)]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        self.write(|db| {
            for (url, page) in entries {
                db.execute(
                    "INSERT INTO http_cache (url, etag, body, next_url) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (url) DO UPDATE SET etag = excluded.etag, body = excluded.body,
                         next_url = excluded.next_url",
                    params![url, page.etag, page.body, page.next],
                )?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::reorder;

    #[test]
    fn reorder_moves_each_item_where_the_order_says() {
        // Every permutation of five, and longer ones shuffled.
        let mut orders: Vec<Vec<usize>> = Vec::new();
        let mut permutation = vec![0usize; 5];
        for n in 0..5usize.pow(5) {
            let mut k = n;
            for slot in &mut permutation {
                *slot = k % 5;
                k /= 5;
            }
            let mut seen = permutation.clone();
            seen.sort_unstable();
            if seen == [0, 1, 2, 3, 4] {
                orders.push(permutation.clone());
            }
        }
        assert_eq!(orders.len(), 120);
        let mut state = 7u64;
        for len in [0, 1, 2, 1000] {
            let mut order: Vec<usize> = (0..len).collect();
            for i in (1..len).rev() {
                state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                order.swap(i, (state >> 33) as usize % (i + 1));
            }
            orders.push(order);
        }
        for order in orders {
            let items: Vec<String> = (0..order.len()).map(|i| format!("item {i}")).collect();
            let expected: Vec<String> = order.iter().map(|&i| items[i].clone()).collect();
            let (mut items, mut twins) = (items.clone(), items);
            reorder(order.clone(), |a, b| {
                items.swap(a, b);
                twins.swap(a, b);
            });
            assert_eq!(items, expected, "{order:?}");
            assert_eq!(twins, expected, "{order:?}");
        }
    }
}
