//! Pull requests, deployment events and incidents from hosts, CI and event
//! files, and the sync state of host sources (cursors, HTTP cache). Part of
//! the store: the only place that runs SQL.
//!
//! Upserts are keyed by what the source calls the item (`(repo, number)` for
//! a pull request, `(source, id)` for a deployment or incident), so a second
//! import or sync of the same item replaces it instead of duplicating it.

use std::collections::{HashMap, HashSet};

use super::db::{ToParam, params};
use super::{Store, StoreError, sql_error};
use fulcrum_core::flow::{ActivityKind, PrCommit, PullRequest, ReviewActivity};

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
    pub commits: Option<Vec<String>>,
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
        self.db
            .execute(
                "UPDATE incidents SET resolved_at = ?3 WHERE source = ?1 AND external_id = ?2 AND resolved_at IS NULL",
                params![source, external_id, at],
            )
            .map_err(&sql)?;
        Ok(exists)
    }

    /// Title and web address of the pull requests `keys` (`(repo, number)`)
    /// that are stored.
    pub fn pr_labels(&self, keys: &[(String, u64)]) -> Result<HashMap<(String, u64), PrLabel>, StoreError> {
        let sql = self.sql();
        let mut labels = HashMap::new();
        for (repo, number) in keys {
            let found = self
                .db
                .query_opt(
                    "SELECT title, url FROM pull_requests WHERE repo = ?1 AND number = ?2",
                    params![repo, *number as i64],
                    |r| Ok(PrLabel { title: r.get(0)?, url: r.get(1)? }),
                )
                .map_err(&sql)?;
            if let Some(found) = found {
                labels.insert((repo.clone(), *number), found);
            }
        }
        Ok(labels)
    }
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
}

/// One batch of items to write in one transaction. `raw` is the payload as
/// received, kept for replay and debugging (`None` when the source keeps it,
/// as an event file does).
#[derive(Debug, Default)]
pub struct EventBatch {
    /// Pull requests with their source, raw payload, title and web address.
    pub pull_requests: Vec<(PullRequest, String, Option<String>, PrLabel)>,
    /// Deployments with their raw payload.
    pub deployments: Vec<(DeploymentEvent, Option<String>)>,
    /// Incidents with their raw payload.
    pub incidents: Vec<(IncidentEvent, Option<String>)>,
}

impl EventBatch {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.pull_requests.is_empty() && self.deployments.is_empty() && self.incidents.is_empty()
    }
}

/// Which stored items a report reads.
#[derive(Debug, Clone, Default)]
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
    fn keeps_repo(&self, repo: &str) -> bool {
        let name = repo.rsplit('/').next().unwrap_or(repo);
        self.repos.is_empty()
            || self
                .repos
                .iter()
                .any(|r| if r.contains('/') { r.eq_ignore_ascii_case(repo) } else { r.eq_ignore_ascii_case(name) })
    }

    fn keeps_deployment(&self, repo: Option<&str>, service: &str) -> bool {
        if self.repos.is_empty() && self.services.is_empty() {
            return true;
        }
        self.services.iter().any(|s| s == service) || repo.is_some_and(|r| !self.repos.is_empty() && self.keeps_repo(r))
    }
}

/// Rows per multi-row insert of pull-request children.
const ROWS_PER_INSERT: usize = 64;

/// `(?1, ?2, ?3, ?4), (?5, …)`: [`ROWS_PER_INSERT`] rows of `columns` numbered parameters.
fn placeholders(columns: usize) -> String {
    (0..ROWS_PER_INSERT)
        .map(|row| {
            let cells: Vec<String> = (1..=columns).map(|c| format!("?{}", row * columns + c)).collect();
            format!("({})", cells.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The position stored for a row id, if any.
fn position(index: &[u32], row_id: i64) -> Option<usize> {
    let i = *index.get(usize::try_from(row_id).ok()?)?;
    (i != u32::MAX).then_some(i as usize)
}

fn kind_name(kind: ActivityKind) -> &'static str {
    match kind {
        ActivityKind::Review => "review",
        ActivityKind::ReviewComment => "review_comment",
        ActivityKind::Comment => "comment",
    }
}

fn kind_from_name(name: &str) -> ActivityKind {
    match name {
        "review" => ActivityKind::Review,
        "review_comment" => ActivityKind::ReviewComment,
        _ => ActivityKind::Comment,
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
        self.write(|db| {
            // Rows with ids above these are new in this transaction: they have no children to clear.
            let last_pr: i64 =
                db.query_row("SELECT COALESCE(MAX(id), 0) FROM pull_requests", params![], |r| r.get(0))?;
            let last_deployment: i64 =
                db.query_row("SELECT COALESCE(MAX(id), 0) FROM deployments", params![], |r| r.get(0))?;
            let insert_commits =
                format!("INSERT INTO pr_commits (pr_id, sha, author, authored_at) VALUES {}", placeholders(4));
            let insert_activities =
                format!("INSERT INTO pr_activities (pr_id, author, at, kind) VALUES {}", placeholders(4));
            let mut commit_rows: Vec<(i64, &PrCommit)> = Vec::new();
            let mut activity_rows: Vec<(i64, &ReviewActivity)> = Vec::new();
            // Rows written earlier in this batch: an item listed twice keeps only its last children.
            let mut written: HashSet<i64> = HashSet::new();
            for (pr, source, raw, label) in &batch.pull_requests {
                let id: i64 = db.query_row(
                    "INSERT INTO pull_requests (repo, number, source, author, created_at, ready_at, merged_at,
                         closed_at, merge_commit, draft, additions, deletions, updated_at, raw, size_known, title, url)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
                     ON CONFLICT (repo, number) DO UPDATE SET source = excluded.source, author = excluded.author,
                         created_at = excluded.created_at, ready_at = excluded.ready_at,
                         merged_at = excluded.merged_at, closed_at = excluded.closed_at,
                         merge_commit = excluded.merge_commit, draft = excluded.draft,
                         additions = excluded.additions, deletions = excluded.deletions,
                         updated_at = excluded.updated_at, raw = excluded.raw, size_known = excluded.size_known,
                         title = excluded.title, url = excluded.url
                     RETURNING id",
                    params![
                        pr.repo,
                        pr.number as i64,
                        source,
                        pr.author,
                        pr.created_at,
                        pr.ready_at,
                        pr.merged_at,
                        pr.closed_at,
                        pr.merge_commit,
                        pr.draft,
                        i64::try_from(pr.additions).unwrap_or(i64::MAX),
                        i64::try_from(pr.deletions).unwrap_or(i64::MAX),
                        pr.updated_at,
                        raw,
                        !pr.size_unknown,
                        label.title,
                        label.url
                    ],
                    |r| r.get(0),
                )?;
                if !written.insert(id) {
                    commit_rows.retain(|(pr, _)| *pr != id);
                    activity_rows.retain(|(pr, _)| *pr != id);
                }
                if id <= last_pr {
                    db.execute("DELETE FROM pr_commits WHERE pr_id = ?1", params![id])?;
                    db.execute("DELETE FROM pr_activities WHERE pr_id = ?1", params![id])?;
                }
                for c in &pr.commits {
                    commit_rows.push((id, c));
                }
                for a in &pr.activities {
                    activity_rows.push((id, a));
                }
            }
            // Children go in many rows per statement: one step per row costs
            // more than the row itself.
            for chunk in commit_rows.chunks(ROWS_PER_INSERT) {
                if chunk.len() == ROWS_PER_INSERT {
                    let mut values: Vec<&dyn ToParam> = Vec::with_capacity(4 * chunk.len());
                    for (id, c) in chunk {
                        values.extend([id as &dyn ToParam, &c.sha, &c.author, &c.authored_at]);
                    }
                    db.execute(&insert_commits, &values)?;
                } else {
                    for (id, c) in chunk {
                        db.execute(
                            "INSERT INTO pr_commits (pr_id, sha, author, authored_at) VALUES (?1, ?2, ?3, ?4)",
                            params![id, c.sha, c.author, c.authored_at],
                        )?;
                    }
                }
            }
            for chunk in activity_rows.chunks(ROWS_PER_INSERT) {
                if chunk.len() == ROWS_PER_INSERT {
                    let kinds: Vec<&str> = chunk.iter().map(|(_, a)| kind_name(a.kind)).collect();
                    let mut values: Vec<&dyn ToParam> = Vec::with_capacity(4 * chunk.len());
                    for ((id, a), kind) in chunk.iter().zip(&kinds) {
                        values.extend([id as &dyn ToParam, &a.author, &a.at, kind]);
                    }
                    db.execute(&insert_activities, &values)?;
                } else {
                    for (id, a) in chunk {
                        db.execute(
                            "INSERT INTO pr_activities (pr_id, author, at, kind) VALUES (?1, ?2, ?3, ?4)",
                            params![id, a.author, a.at, kind_name(a.kind)],
                        )?;
                    }
                }
            }
            let mut written_deployments: HashSet<i64> = HashSet::new();
            for (d, raw) in &batch.deployments {
                let id: i64 = db.query_row(
                    "INSERT INTO deployments (source, external_id, repo, service, environment, commit_sha,
                         finished_at, status, name, has_commit_list, raw)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                     ON CONFLICT (source, external_id) DO UPDATE SET repo = excluded.repo,
                         service = excluded.service, environment = excluded.environment,
                         commit_sha = excluded.commit_sha, finished_at = excluded.finished_at,
                         status = excluded.status, name = excluded.name,
                         has_commit_list = excluded.has_commit_list, raw = excluded.raw
                     RETURNING id",
                    params![
                        d.source,
                        d.external_id,
                        d.repo,
                        d.service,
                        d.environment,
                        d.commit,
                        d.finished_at,
                        d.status,
                        d.name,
                        d.commits.is_some(),
                        raw
                    ],
                    |r| r.get(0),
                )?;
                if id <= last_deployment || !written_deployments.insert(id) {
                    db.execute("DELETE FROM deployment_commits WHERE deployment_id = ?1", params![id])?;
                }
                for sha in d.commits.iter().flatten() {
                    db.execute(
                        "INSERT INTO deployment_commits (deployment_id, sha) VALUES (?1, ?2)",
                        params![id, sha],
                    )?;
                }
            }
            for (i, raw) in &batch.incidents {
                db.execute(
                    "INSERT INTO incidents (source, external_id, service, title, started_at, resolved_at,
                         deployment, commit_sha, pull_request, raw)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                     ON CONFLICT (source, external_id) DO UPDATE SET service = excluded.service,
                         title = excluded.title, started_at = excluded.started_at,
                         resolved_at = excluded.resolved_at, deployment = excluded.deployment,
                         commit_sha = excluded.commit_sha, pull_request = excluded.pull_request,
                         raw = excluded.raw",
                    params![
                        i.source,
                        i.external_id,
                        i.service,
                        i.title,
                        i.started_at,
                        i.resolved_at,
                        i.deployment,
                        i.commit,
                        i.pull_request,
                        raw
                    ],
                )?;
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
        })
    }

    /// Stored pull requests (with commits and activities) that `filter` keeps.
    pub fn load_pull_requests(&self, filter: &EventFilter) -> Result<Vec<PullRequest>, StoreError> {
        let sql = self.sql();
        // Activities are the largest table: a second connection reads them
        // on the other core while this one reads pull requests and commits
        // (WAL lets SQLite readers run side by side).
        let reader = self.db.reader(&self.path).map_err(&sql)?;
        let path = self.path.clone();
        let activities = std::thread::spawn(move || -> Result<Vec<(i64, ReviewActivity)>, StoreError> {
            let mut out = Vec::new();
            reader
                .for_each("SELECT pr_id, author, at, kind FROM pr_activities", params![], |row| {
                    let kind: String = row.get(3)?;
                    out.push((
                        row.get(0)?,
                        ReviewActivity { author: row.get(1)?, at: row.get(2)?, kind: kind_from_name(&kind) },
                    ));
                    Ok(())
                })
                .map_err(|e| sql_error(&path, e))?;
            Ok(out)
        });
        let mut prs: Vec<PullRequest> = Vec::new();
        // Row id → position in `prs`; ids are dense, so a vector beats a map.
        let mut index: Vec<u32> = Vec::new();
        self.db
            .for_each(
                "SELECT id, repo, number, source, author, created_at, ready_at, merged_at, closed_at, merge_commit,
                        draft, additions, deletions, updated_at, size_known
                 FROM pull_requests ORDER BY id",
                params![],
                |row| {
                    let repo: String = row.get(1)?;
                    if !filter.keeps_repo(&repo) {
                        return Ok(());
                    }
                    let row_id: i64 = row.get(0)?;
                    let number: i64 = row.get(2)?;
                    let source: String = row.get(3)?;
                    let kind = source.split(':').next().unwrap_or("import").to_owned();
                    let slot = usize::try_from(row_id).unwrap_or(0);
                    if index.len() <= slot {
                        index.resize(slot + 1, u32::MAX);
                    }
                    index[slot] = prs.len() as u32;
                    prs.push(PullRequest {
                        id: format!("{kind}:pr:{repo}#{number}"),
                        repo,
                        number: number as u64,
                        author: row.get(4)?,
                        created_at: row.get(5)?,
                        ready_at: row.get(6)?,
                        merged_at: row.get(7)?,
                        closed_at: row.get(8)?,
                        merge_commit: row.get(9)?,
                        draft: row.get(10)?,
                        additions: row.get::<i64>(11)?.max(0) as u64,
                        deletions: row.get::<i64>(12)?.max(0) as u64,
                        size_unknown: !row.get::<bool>(14)?,
                        commits: Vec::new(),
                        activities: Vec::new(),
                        updated_at: row.get(13)?,
                    });
                    Ok(())
                },
            )
            .map_err(&sql)?;
        self.db
            .for_each("SELECT pr_id, sha, author, authored_at FROM pr_commits", params![], |row| {
                if let Some(i) = position(&index, row.get(0)?) {
                    prs[i].commits.push(PrCommit { sha: row.get(1)?, author: row.get(2)?, authored_at: row.get(3)? });
                }
                Ok(())
            })
            .map_err(&sql)?;
        let activities = activities.join().expect("the activity reader does not panic")?;
        for (row_id, activity) in activities {
            if let Some(i) = position(&index, row_id) {
                prs[i].activities.push(activity);
            }
        }
        Ok(prs)
    }

    /// Stored deployment events (every status) that `filter` keeps, with the
    /// commits they listed.
    pub fn load_deployments(&self, filter: &EventFilter) -> Result<Vec<DeploymentEvent>, StoreError> {
        let sql = self.sql();
        let mut deployments = Vec::new();
        let mut index: HashMap<i64, usize> = HashMap::new();
        self.db
            .for_each(
                "SELECT id, source, external_id, repo, service, environment, commit_sha, finished_at, status, name,
                        has_commit_list
                 FROM deployments ORDER BY finished_at, id",
                params![],
                |row| {
                    let repo: Option<String> = row.get(3)?;
                    let service: String = row.get(4)?;
                    if !filter.keeps_deployment(repo.as_deref(), &service) {
                        return Ok(());
                    }
                    let listed: bool = row.get(10)?;
                    index.insert(row.get(0)?, deployments.len());
                    deployments.push(DeploymentEvent {
                        source: row.get(1)?,
                        external_id: row.get(2)?,
                        repo,
                        service,
                        environment: row.get(5)?,
                        commit: row.get(6)?,
                        finished_at: row.get(7)?,
                        status: row.get(8)?,
                        name: row.get(9)?,
                        commits: listed.then(Vec::new),
                    });
                    Ok(())
                },
            )
            .map_err(&sql)?;
        self.db
            .for_each("SELECT deployment_id, sha FROM deployment_commits", params![], |row| {
                if let Some(&i) = index.get(&row.get::<i64>(0)?)
                    && let Some(list) = deployments[i].commits.as_mut()
                {
                    list.push(row.get(1)?);
                }
                Ok(())
            })
            .map_err(&sql)?;
        Ok(deployments)
    }

    /// Stored incidents of the services `filter` keeps.
    pub fn load_incidents(&self, filter: &EventFilter) -> Result<Vec<IncidentEvent>, StoreError> {
        let mut incidents = Vec::new();
        self.db
            .for_each(
                "SELECT source, external_id, service, title, started_at, resolved_at, deployment, commit_sha,
                        pull_request
                 FROM incidents ORDER BY started_at, id",
                params![],
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
