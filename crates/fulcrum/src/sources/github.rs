//! The GitHub connector (REST API v3; `base_url` makes GitHub Enterprise
//! work): pull requests with their commits, reviews, review comments,
//! comments and ready-for-review events; deployments with their statuses;
//! Actions workflow runs and jobs whose name matches `deploy.ci_pattern`;
//! issues labelled as incidents (`incident.labels`).
//!
//! Incremental: pull requests updated since the stored `updated_at` cursor
//! get their details fetched again; list pages are conditional requests, so
//! unchanged pages cost no rate limit. Pull requests are written in batches,
//! each with the cursor it reached, in one transaction: a killed sync
//! resumes from the last batch.

use std::collections::HashMap;

use anyhow::Context as _;
use fulcrum_core::flow::{ActivityKind, PrCommit, PullRequest, ReviewActivity};
use fulcrum_core::time::parse_rfc3339;
use serde_json::Value;

use crate::config::{Config, SourceFile};
use crate::progress::Progress;
use crate::sources::connector::{
    Cursor, Names, PullBatches, Session, SourceError, SourceSummary, cursor_update, encode, fresh_items, incident,
    store_pull_requests, time,
};
use crate::sources::http::{Auth, Clock, HttpError};
use crate::store::{DeploymentEvent, EventBatch, Store};

/// Pull requests per transaction.
const BATCH: usize = 100;

/// What a sync needs besides the store and the source.
pub struct SyncContext<'a> {
    /// The configuration (patterns, labels).
    pub config: &'a Config,
    /// The front end's clock, for `since` spans and rate-limit arithmetic.
    pub clock: Clock,
    /// "Now", epoch seconds.
    pub now: i64,
}

/// Syncs one GitHub source into the store, one listed page at a time: each
/// page is written (with the cursor it reached) before the next is asked
/// for, so memory stays bounded however long a listing is.
pub fn sync(
    store: &mut Store,
    source: &SourceFile,
    context: &SyncContext<'_>,
    progress: &mut Progress,
) -> anyhow::Result<SourceSummary> {
    let config = context.config;
    let names = Names::of(source, "github", "https://api.github.com");
    let (repo, name, service) = (names.repo, names.name.clone(), names.service.clone());
    let root = format!("{}/repos/{repo}", names.base);
    let client = crate::sources::connector::client(source, &names.base, Auth::Bearer, "GITHUB_TOKEN", context.clock)?
        .with_repository_root(root.clone());
    client.load_cache(store.http_cache_under(&root)?);
    let mut summary = SourceSummary { source: name.clone(), ..SourceSummary::default() };
    let session = Session::new(client, progress);
    let list = "direction=asc&per_page=100&state=all";

    // Pull requests, least recently updated first, so the cursor only moves forward.
    session.stage(format!("{name}: listing pull requests"));
    let cursor = names.cursor(store, "pulls", source, context.now)?;
    let mut reached = cursor;
    let mut seen = HashMap::new();
    // Repository-wide comments and events, loaded once the first pull request needs them.
    let mut activity: Option<RepoActivity> = None;
    let batches = PullBatches {
        source: &name,
        resource: "pulls",
        key: "number",
        label: "pull requests",
        workers: source.concurrency.unwrap_or(4),
        batch: BATCH,
    };
    let mut skipped = 0;
    // GraphQL answers no one without a token: REST then, as the warning says.
    let graphql = source.api.as_deref() == Some("graphql") && session.client.has_token();
    if source.api.as_deref() == Some("graphql") && !graphql {
        eprintln!("warning: {name}: api = \"graphql\" needs a token; listing through REST instead");
    }
    if graphql {
        crate::sources::graphql::sync_pull_requests(store, &session, &names, source, context, &mut summary)?;
    } else {
        session.each_page(&format!("{root}/pulls?sort=updated&{list}"), &mut |page| -> anyhow::Result<()> {
            let pulls = fresh_items(page, "number", cursor, &mut seen, &mut skipped);
            if pulls.is_empty() {
                return Ok(());
            }
            if activity.is_none() {
                session.stage(format!("{name}: comments and events"));
                activity = Some(RepoActivity::fetch(&session, &root)?);
            }
            let activity = activity.as_ref().expect("loaded above");
            let fetch = |item: &Value| pull_request(item, &root, repo, &session, activity);
            store_pull_requests(store, &session, &batches, &pulls, &mut reached, &mut summary, &fetch)
        })?;
    }

    // Deployments with their statuses. A deployment's `updated_at` moves
    // when a status is added: statuses are fetched again only for
    // deployments updated since the last sync. The list is newest first, so
    // the cursor is written once the whole list is through.
    session.stage(format!("{name}: deployments"));
    let deployments_cursor = store.cursor(&name, "deployments")?.and_then(|c| Cursor::parse(&c)).map(|c| c.at);
    let mut newest_deployment = deployments_cursor;
    session.each_page(&format!("{root}/deployments?per_page=100"), &mut |page| -> anyhow::Result<()> {
        let mut batch = EventBatch::default();
        for d in page {
            let Some(id) = d["id"].as_u64() else { continue };
            let updated = time(&d, "updated_at");
            if deployments_cursor.is_some_and(|c| updated.is_none_or(|u| u <= c)) {
                continue;
            }
            newest_deployment = newest_deployment.max(updated);
            let statuses = session.get_all(&format!("{root}/deployments/{id}/statuses?per_page=100"))?;
            // Statuses come newest first; the deployment is what its latest final state says.
            let Some(last) = statuses.iter().find(|s| final_state(s).is_some()) else {
                continue;
            };
            batch.deployments.extend(deployment_event(&names, &d, last));
        }
        summary.deployments += batch.deployments.len();
        store.write_events(&batch, &[])?;
        Ok(())
    })?;

    // Releases are stored as deployments to the environment `release`: they
    // count only when `deploy.env_pattern` includes it (a release is often
    // not a deployment, and its tag is in git for tag mode anyway).
    session.stage(format!("{name}: releases"));
    session.each_page(&format!("{root}/releases?per_page=100"), &mut |page| -> anyhow::Result<()> {
        let mut batch = EventBatch::default();
        for release in page {
            let (Some(id), Some(tag)) = (release["id"].as_u64(), release["tag_name"].as_str()) else { continue };
            if release["draft"] == true {
                continue;
            }
            let Some(published) = time(&release, "published_at").or_else(|| time(&release, "created_at")) else {
                continue;
            };
            batch.deployments.push((
                DeploymentEvent {
                    source: name.clone(),
                    external_id: format!("release-{id}"),
                    repo: Some(repo.to_owned()),
                    service: service.clone(),
                    environment: "release".to_owned(),
                    // The tag: the analysis resolves it through the repository's refs.
                    commit: tag.to_owned(),
                    finished_at: published,
                    status: if release["prerelease"] == true { "prerelease" } else { "success" }.to_owned(),
                    name: Some(tag.to_owned()),
                    commits: None,
                },
                Some(release.to_string()),
            ));
        }
        summary.deployments += batch.deployments.len();
        store.write_events(&batch, &[])?;
        Ok(())
    })?;

    session.stage(format!("{name}: workflow runs"));
    let runs_cursor = store.cursor(&name, "runs")?.and_then(|c| parse_rfc3339(&c));
    let mut newest_run = runs_cursor;
    session.each_page(&format!("{root}/actions/runs?per_page=100"), &mut |page| -> anyhow::Result<()> {
        let mut batch = EventBatch::default();
        for run in page {
            let updated = time(&run, "updated_at");
            // Deployments do not run for pull requests.
            let for_pull_request = run["event"].as_str().is_some_and(|e| e.starts_with("pull_request"));
            if run["status"] != "completed"
                || for_pull_request
                || runs_cursor.is_some_and(|c| updated.is_none_or(|u| u <= c))
            {
                continue;
            }
            newest_run = newest_run.max(updated);
            let Some(id) = run["id"].as_u64() else { continue };
            let workflow = run["name"].as_str().unwrap_or("");
            let mut finished_at = updated;
            let matched = if config.ci_regex.is_match(workflow) {
                true
            } else if run["conclusion"] == "success" {
                let jobs = session.get_all(&format!("{root}/actions/runs/{id}/jobs?per_page=100"))?;
                let deploying: Vec<&Value> =
                    jobs.iter().filter(|j| j["name"].as_str().is_some_and(|n| config.ci_regex.is_match(n))).collect();
                if let Some(done) = deploying.iter().filter_map(|j| time(j, "completed_at")).max() {
                    finished_at = Some(done);
                }
                !deploying.is_empty()
            } else {
                false
            };
            if let (true, Some(finished_at)) = (matched, finished_at) {
                batch.deployments.extend(run_event(&names, &run, finished_at));
            }
        }
        summary.deployments += batch.deployments.len();
        store.write_events(&batch, &[])?;
        Ok(())
    })?;

    // Incidents: issues carrying an incident label.
    session.stage(format!("{name}: incidents"));
    let mut seen = std::collections::HashSet::new();
    for label in &config.incident_labels {
        let url = format!("{root}/issues?labels={}&{list}", encode(label));
        session.each_page(&url, &mut |page| -> anyhow::Result<()> {
            let mut batch = EventBatch::default();
            for issue in page {
                let Some(number) = issue["number"].as_u64() else {
                    skipped += 1;
                    continue;
                };
                if issue.get("pull_request").is_some() || !seen.insert(number) {
                    continue;
                }
                batch.incidents.extend(incident(&name, &service, number, &issue));
            }
            summary.incidents += batch.incidents.len();
            store.write_events(&batch, &[])?;
            Ok(())
        })?;
    }
    // Work items: the repository's issues with their status moves.
    if source.issues == Some(true) {
        session.stage(format!("{name}: issues"));
        if activity.is_none() {
            activity = Some(RepoActivity::fetch(&session, &root)?);
        }
        let events = &activity.as_ref().expect("loaded above").issue_events;
        let mut listed = std::collections::HashSet::new();
        session.each_page(&format!("{root}/issues?{list}"), &mut |page| -> anyhow::Result<()> {
            let mut batch = EventBatch::default();
            for issue in page {
                let Some(number) = issue["number"].as_u64() else {
                    skipped += 1;
                    continue;
                };
                if issue.get("pull_request").is_some() || !listed.insert(number) {
                    continue;
                }
                let empty = Vec::new();
                match work_item(&name, repo, &service, config, number, &issue, events.get(&number).unwrap_or(&empty)) {
                    Some(item) => batch.items.push((item, Some(issue.to_string()))),
                    None => skipped += 1,
                }
            }
            summary.items += batch.items.len();
            store.write_events(&batch, &[])?;
            Ok(())
        })?;
    }
    let runs_reached = newest_run.map(fulcrum_core::time::format_datetime);
    let deployments_reached = newest_deployment.map(fulcrum_core::time::format_datetime);
    let mut cursors = cursor_update(&name, "runs", runs_reached.as_deref());
    cursors.extend(cursor_update(&name, "deployments", deployments_reached.as_deref()));
    store.write_events(&EventBatch::default(), &cursors)?;
    store.cache_http(&session.client.take_fresh_cache())?;
    summary.skipped = skipped;
    session.finish(&mut summary);
    Ok(summary)
}

/// The final state of a deployment status (`inactive`, a success
/// superseded by a later deployment, is a success), or `None` while it runs.
pub fn final_state(status: &Value) -> Option<&'static str> {
    match status["state"].as_str()? {
        "success" | "inactive" => Some("success"),
        "failure" => Some("failure"),
        "error" => Some("error"),
        _ => None,
    }
}

/// A deployment with its latest final status, as sync and the
/// `deployment_status` webhook store it.
pub fn deployment_event(names: &Names<'_>, d: &Value, status: &Value) -> Option<(DeploymentEvent, Option<String>)> {
    let id = d["id"].as_u64()?;
    let event = DeploymentEvent {
        source: names.name.clone(),
        external_id: format!("deployment-{id}"),
        repo: Some(names.repo.to_owned()),
        service: names.service.clone(),
        environment: d["environment"].as_str().unwrap_or("production").to_owned(),
        commit: d["sha"].as_str()?.to_owned(),
        finished_at: time(status, "created_at")?,
        status: final_state(status)?.to_owned(),
        name: d["ref"].as_str().map(str::to_owned),
        commits: None,
    };
    Some((event, Some(d.to_string())))
}

/// A completed workflow run that deploys, finished at `finished_at`, as
/// sync and the `workflow_run` webhook store it.
pub fn run_event(names: &Names<'_>, run: &Value, finished_at: i64) -> Option<(DeploymentEvent, Option<String>)> {
    let id = run["id"].as_u64()?;
    let workflow = run["name"].as_str().unwrap_or("");
    let event = DeploymentEvent {
        source: names.name.clone(),
        external_id: format!("run-{id}"),
        repo: Some(names.repo.to_owned()),
        service: names.service.clone(),
        environment: "production".to_owned(),
        commit: run["head_sha"].as_str()?.to_owned(),
        finished_at,
        status: run["conclusion"].as_str().unwrap_or("unknown").to_owned(),
        name: Some(format!("{workflow} #{}", run["run_number"].as_u64().unwrap_or(0))),
        commits: None,
    };
    Some((event, Some(run.to_string())))
}

/// What hangs off pull requests at repository level: comments, review
/// comments and ready-for-review events, kept compact (an author and a time
/// each) however long the listings are.
#[derive(Default)]
struct RepoActivity {
    issue_comments: HashMap<u64, Vec<ReviewActivity>>,
    review_comments: HashMap<u64, Vec<ReviewActivity>>,
    ready: HashMap<u64, i64>,
    /// Issues' state events (time, event, label), for work items.
    issue_events: HashMap<u64, Vec<(i64, String, Option<String>)>>,
}

impl RepoActivity {
    fn fetch(session: &Session<'_>, root: &str) -> anyhow::Result<RepoActivity> {
        let list = "direction=asc&per_page=100&state=all";
        let mut activity = RepoActivity::default();
        // A listing that shifts while it is paged repeats items at page
        // boundaries: each comment is taken once, by its id.
        let mut seen: std::collections::HashSet<(u8, u64)> = std::collections::HashSet::new();
        let mut first = |kind: u8, item: &Value| item["id"].as_u64().is_none_or(|id| seen.insert((kind, id)));
        session.each_page(&format!("{root}/issues/comments?{list}"), &mut |page| -> anyhow::Result<()> {
            for c in page.iter().filter(|c| first(0, c)) {
                if let (Some(n), Some(a)) =
                    (trailing_number(&c["issue_url"]), self::activity(c, "created_at", ActivityKind::Comment))
                {
                    activity.issue_comments.entry(n).or_default().push(a);
                }
            }
            Ok(())
        })?;
        session.each_page(&format!("{root}/pulls/comments?direction=asc&per_page=100"), &mut |page| {
            for c in page.iter().filter(|c| first(1, c)) {
                if let (Some(n), Some(a)) = (
                    trailing_number(&c["pull_request_url"]),
                    self::activity(c, "created_at", ActivityKind::ReviewComment),
                ) {
                    activity.review_comments.entry(n).or_default().push(a);
                }
            }
            anyhow::Ok(())
        })?;
        let mut events_seen = std::collections::HashSet::new();
        session.each_page(&format!("{root}/issues/events?{list}"), &mut |page| {
            for e in page {
                if e["event"] == "ready_for_review"
                    && let (Some(n), Some(at)) = (e["issue"]["number"].as_u64(), time(&e, "created_at"))
                {
                    let entry = activity.ready.entry(n).or_insert(at);
                    *entry = (*entry).max(at);
                }
                let kind = e["event"].as_str().unwrap_or("");
                if matches!(kind, "assigned" | "labeled" | "closed" | "reopened")
                    && e["id"].as_u64().is_none_or(|id| events_seen.insert(id))
                    && let (Some(n), Some(at)) = (e["issue"]["number"].as_u64(), time(&e, "created_at"))
                {
                    let label = e["label"]["name"].as_str().map(str::to_owned);
                    activity.issue_events.entry(n).or_default().push((at, kind.to_owned(), label));
                }
            }
            anyhow::Ok(())
        })?;
        Ok(activity)
    }
}

/// One pull request with its details.
fn pull_request(
    item: &Value,
    root: &str,
    repo: &str,
    session: &Session<'_>,
    repo_activity: &RepoActivity,
) -> Result<PullRequest, HttpError> {
    let RepoActivity { issue_comments, review_comments, ready, .. } = repo_activity;
    // Listed items without a number were left out before.
    let number = item["number"].as_u64().unwrap_or_default();
    let list = "direction=asc&per_page=100&state=all";
    // The list omits sizes; the pull request itself has them.
    let detail = session.get_one(&format!("{root}/pulls/{number}"))?;
    // Children listed twice (a list that shifted while paged) are taken once.
    let mut shas = std::collections::HashSet::new();
    let commits = session
        .get_all(&format!("{root}/pulls/{number}/commits?{list}"))?
        .iter()
        .filter(|c| c["sha"].as_str().is_none_or(|sha| shas.insert(sha.to_owned())))
        .filter_map(|c| {
            Some(PrCommit {
                sha: c["sha"].as_str()?.to_owned(),
                author: login(&c["author"]).or_else(|| c["commit"]["author"]["name"].as_str())?.to_owned(),
                authored_at: parse_rfc3339(c["commit"]["author"]["date"].as_str()?)?,
            })
        })
        .collect();
    let mut review_ids = std::collections::HashSet::new();
    let mut activities: Vec<ReviewActivity> = session
        .get_all(&format!("{root}/pulls/{number}/reviews?{list}"))?
        .iter()
        .filter(|r| r["id"].as_u64().is_none_or(|id| review_ids.insert(id)))
        .filter(|r| r["state"] != "PENDING")
        .filter_map(|r| activity(r, "submitted_at", ActivityKind::Review))
        .collect();
    activities.extend(issue_comments.get(&number).into_iter().flatten().cloned());
    activities.extend(review_comments.get(&number).into_iter().flatten().cloned());
    let merged_at = time(item, "merged_at");
    let draft = item["draft"].as_bool().unwrap_or(false);
    Ok(PullRequest {
        id: format!("github:pr:{repo}#{number}"),
        repo: repo.to_owned(),
        number,
        // GitHub's name for a deleted account.
        author: login(&item["user"]).unwrap_or("ghost").to_owned(),
        // Listed items without a creation time were left out before.
        created_at: time(item, "created_at").unwrap_or_default(),
        ready_at: ready.get(&number).copied(),
        draft,
        merged_at,
        closed_at: time(item, "closed_at"),
        merge_commit: merged_at.and(item["merge_commit_sha"].as_str().map(str::to_owned)),
        additions: detail["additions"].as_u64().unwrap_or(0),
        deletions: detail["deletions"].as_u64().unwrap_or(0),
        size_unknown: detail["additions"].as_u64().is_none() && detail["deletions"].as_u64().is_none(),
        commits,
        activities,
        updated_at: time(item, "updated_at"),
    })
}

fn login(user: &Value) -> Option<&str> {
    user["login"].as_str()
}

fn activity(value: &Value, key: &str, kind: ActivityKind) -> Option<ReviewActivity> {
    Some(ReviewActivity { author: login(&value["user"])?.into(), at: time(value, key)?, kind })
}

/// The number at the end of an API URL (`…/issues/12`).
fn trailing_number(url: &Value) -> Option<u64> {
    url.as_str()?.rsplit('/').next()?.parse().ok()
}

/// Some sources failed while the others synced: what each failed with,
/// and the summaries of those that synced.
#[derive(Debug)]
pub struct SourcesFailed {
    /// The sources that synced.
    pub summaries: Vec<SourceSummary>,
    /// Each failure, with its source named (`{:#}` of the error).
    pub failures: Vec<String>,
    /// Every failure is the user's to fix (exit code 2).
    pub input: bool,
    /// Sources attempted.
    pub total: usize,
}

impl std::fmt::Display for SourcesFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} of {} sources failed (the others synced):", self.failures.len(), self.total)?;
        for failure in &self.failures {
            write!(f, "\n  - {failure}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SourcesFailed {}

/// Syncs every `[[source]]` of the configuration. A source that fails does
/// not stop the others: they all sync, then the failures are returned
/// together ([`SourcesFailed`]).
pub fn sync_all(
    store: &mut Store,
    context: &SyncContext<'_>,
    progress: &mut Progress,
) -> anyhow::Result<Vec<SourceSummary>> {
    let mut summaries = Vec::new();
    let mut failures: Vec<anyhow::Error> = Vec::new();
    for listed in &context.config.sources {
        // `owner/*` (GitHub) and `group/*` (GitLab): every repository of the
        // organisation, user or group, each a source of its own.
        let expanded = match listed.repo.strip_suffix("/*") {
            Some(owner) => match repositories_of(listed, owner, context, progress)
                .with_context(|| format!("while listing the repositories of {} {}", listed.kind, listed.repo))
            {
                Ok(repos) => {
                    repos.into_iter().map(|repo| SourceFile { repo, service: None, ..listed.clone() }).collect()
                }
                Err(e) => {
                    failures.push(e);
                    continue;
                }
            },
            None => vec![listed.clone()],
        };
        for source in &expanded {
            let synced = match source.kind.as_str() {
                "github" => sync(store, source, context, progress),
                "gitlab" => crate::sources::gitlab::sync(store, source, context, progress),
                "jira" => crate::sources::jira::sync(store, source, context, progress),
                "bitbucket" => crate::sources::bitbucket::sync(store, source, context, progress),
                "azure" => crate::sources::azure::sync(store, source, context, progress),
                "jenkins" => crate::sources::ci::sync_jenkins(store, source, context, progress),
                "circleci" => crate::sources::ci::sync_circleci(store, source, context, progress),
                "pagerduty" => crate::sources::oncall::sync_pagerduty(store, source, context, progress),
                "opsgenie" => crate::sources::oncall::sync_opsgenie(store, source, context, progress),
                other => Err(SourceError(format!("source kind `{other}` is not known")).into()),
            }
            .with_context(|| format!("while syncing {} source {}", source.kind, source.repo));
            match synced {
                Ok(summary) => summaries.push(summary),
                Err(e) => {
                    progress.finish();
                    failures.push(e);
                }
            }
        }
    }
    if failures.is_empty() {
        return Ok(summaries);
    }
    // One failure alone keeps its own error (and its kind).
    if failures.len() == 1 && summaries.is_empty() {
        return Err(failures.remove(0));
    }
    let input = failures.iter().all(|e| crate::error::kind(e) == crate::error::ErrorKind::Input);
    let total = summaries.len() + failures.len();
    let failures = failures.iter().map(|e| format!("{e:#}")).collect();
    Err(SourcesFailed { summaries, failures, input, total }.into())
}

/// The repositories of a GitHub organisation or user (`owner/*`), or of a
/// GitLab group and its subgroups (`group/*`): archived ones left out,
/// forks too on GitHub. Their names, sorted.
pub fn repositories_of(
    source: &SourceFile,
    owner: &str,
    context: &SyncContext<'_>,
    progress: &mut Progress,
) -> anyhow::Result<Vec<String>> {
    let gitlab = source.kind == "gitlab";
    let (default_base, auth, env) = if gitlab {
        ("https://gitlab.com/api/v4", Auth::PrivateToken, "GITLAB_TOKEN")
    } else {
        ("https://api.github.com", Auth::Bearer, "GITHUB_TOKEN")
    };
    let base = source.base_url.as_deref().unwrap_or(default_base).trim_end_matches('/').to_owned();
    let client = crate::sources::connector::client(source, &base, auth, env, context.clock)?;
    let session = Session::new(client, progress);
    session.stage(format!("{}: listing the repositories of {owner}", source.kind));
    let mut names = Vec::new();
    let mut take = |page: Vec<Value>| -> anyhow::Result<()> {
        for repo in page {
            let archived = repo["archived"].as_bool().unwrap_or(false);
            let fork = !gitlab && repo["fork"].as_bool().unwrap_or(false);
            let name = if gitlab { repo["path_with_namespace"].as_str() } else { repo["full_name"].as_str() };
            if let (Some(name), false, false) = (name, archived, fork) {
                names.push(name.to_owned());
            }
        }
        Ok(())
    };
    if gitlab {
        let group = encode(owner.trim_matches('/'));
        session.each_page(
            &format!("{base}/groups/{group}/projects?include_subgroups=true&archived=false&per_page=100"),
            &mut take,
        )?;
    } else {
        let owner = owner.trim_matches('/');
        match session.each_page(&format!("{base}/orgs/{owner}/repos?type=all&per_page=100"), &mut take) {
            // Not an organisation: a user.
            Err(e) if matches!(e.downcast_ref::<HttpError>(), Some(HttpError::NotFound { .. })) => {
                session.each_page(&format!("{base}/users/{owner}/repos?type=owner&per_page=100"), &mut take)?;
            }
            other => other?,
        }
    }
    let mut summary = SourceSummary::default();
    session.finish(&mut summary);
    names.sort();
    names.dedup();
    if names.is_empty() {
        return Err(SourceError(format!(
            "{} {owner}/*: no repository listed (none, all archived, or the token cannot see them); name the \
             repositories one by one, or check the token's access",
            source.kind
        ))
        .into());
    }
    Ok(names)
}

/// An issue (GitHub's or GitLab's) as a work item, `owner/name#number`: open (to do) when created,
/// then its events in time order: assigned (in progress), a label that
/// `[items]` or the usual names put in a category, closed (done), reopened
/// (to do); a closed issue whose closing event was not listed is done at
/// its `closed_at`.
pub(crate) fn work_item(
    source: &str,
    repo: &str,
    service: &str,
    config: &crate::config::Config,
    number: u64,
    issue: &Value,
    events: &[(i64, String, Option<String>)],
) -> Option<crate::store::ItemEvent> {
    use fulcrum_core::items::Category;
    let created_at = time(issue, "created_at")?;
    let name = |c: Category| match c {
        Category::Todo => "todo",
        Category::InProgress => "in_progress",
        Category::Done => "done",
    };
    let mut transitions: Vec<(i64, String, Option<String>)> = vec![(created_at, "open".into(), Some("todo".into()))];
    let mut ordered: Vec<&(i64, String, Option<String>)> = events.iter().collect();
    ordered.sort_by_key(|e| e.0);
    for (at, kind, label) in ordered {
        let moved = match (kind.as_str(), label) {
            ("assigned", _) => Some(("assigned".to_owned(), Category::InProgress)),
            ("closed", _) => Some(("closed".to_owned(), Category::Done)),
            ("reopened", _) => Some(("reopened".to_owned(), Category::Todo)),
            ("labeled", Some(label)) => {
                let wanted = label.trim().to_lowercase();
                config.item_statuses.iter().find(|(n, _)| *n == wanted).map(|(_, c)| (label.clone(), *c))
            }
            _ => None,
        };
        if let Some((status, category)) = moved {
            transitions.push((*at, status, Some(name(category).to_owned())));
        }
    }
    if issue["state"] == "closed"
        && !transitions.iter().any(|t| t.2.as_deref() == Some("done"))
        && let Some(closed) = time(issue, "closed_at")
    {
        transitions.push((closed, "closed".into(), Some("done".into())));
    }
    transitions.sort_by_key(|t| t.0);
    Some(crate::store::ItemEvent {
        source: source.to_owned(),
        external_id: format!("{repo}#{number}"),
        title: issue["title"].as_str().map(str::to_owned),
        // GitHub's labels are objects, GitLab's names.
        kind: issue["labels"][0]["name"].as_str().or(issue["labels"][0].as_str()).map(str::to_owned),
        project: Some(service.to_owned()),
        created_at,
        transitions,
        links: Vec::new(),
        points: None,
        sprint: None,
    })
}
