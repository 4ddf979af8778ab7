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
use crate::connector::{
    Cursor, Names, Session, SourceError, SourceSummary, batch_size, cursor_update, encode, incident, latest_by_update,
    time, token,
};
use crate::http::{Auth, Client, HttpError};
use crate::progress::Progress;
use crate::store::{DeploymentEvent, EventBatch, Store};

/// Pull requests per transaction.
const BATCH: usize = 100;

/// Syncs one GitHub source into the store.
pub fn sync(
    store: &mut Store,
    source: &SourceFile,
    config: &Config,
    progress: &mut Progress,
) -> anyhow::Result<SourceSummary> {
    let names = Names::of(source, "github", "https://api.github.com");
    let (repo, name, service) = (names.repo, names.name.clone(), names.service.clone());
    let (token, hint) = token(source, "GITHUB_TOKEN")?;
    let client = Client::new(token, Auth::Bearer, &hint);
    let root = format!("{}/repos/{repo}", names.base);
    client.load_cache(store.http_cache_under(&root)?);
    let mut summary = SourceSummary { source: name.clone(), ..SourceSummary::default() };
    let session = Session::new(client, progress);
    let get_all = |url: &str| session.get_all(url);
    let list = "direction=asc&per_page=100&state=all";

    // Pull requests and what hangs off them at repository level.
    session.stage(format!("{name}: listing pull requests"));
    let cursor = names.cursor(store, "pulls", source)?;
    let pulls: Vec<Value> = get_all(&format!("{root}/pulls?{list}"))?
        .into_iter()
        .filter(|p| cursor.is_none_or(|c| c.is_before(p, "number")))
        .collect();
    let pulls = latest_by_update(pulls, "number");
    let mut issue_comments: HashMap<u64, Vec<ReviewActivity>> = HashMap::new();
    let mut review_comments: HashMap<u64, Vec<ReviewActivity>> = HashMap::new();
    let mut ready: HashMap<u64, i64> = HashMap::new();
    if !pulls.is_empty() {
        session.stage(format!("{name}: comments and events"));
        for c in get_all(&format!("{root}/issues/comments?{list}"))? {
            if let (Some(n), Some(a)) =
                (trailing_number(&c["issue_url"]), activity(&c, "created_at", ActivityKind::Comment))
            {
                issue_comments.entry(n).or_default().push(a);
            }
        }
        for c in get_all(&format!("{root}/pulls/comments?direction=asc&per_page=100"))? {
            if let (Some(n), Some(a)) =
                (trailing_number(&c["pull_request_url"]), activity(&c, "created_at", ActivityKind::ReviewComment))
            {
                review_comments.entry(n).or_default().push(a);
            }
        }
        for e in get_all(&format!("{root}/issues/events?{list}"))? {
            if e["event"] == "ready_for_review"
                && let (Some(n), Some(at)) = (e["issue"]["number"].as_u64(), time(&e, "created_at"))
            {
                let entry = ready.entry(n).or_insert(at);
                *entry = (*entry).max(at);
            }
        }
    }

    // Details of each changed pull request, a bounded number in flight.
    let total = pulls.len();
    let workers = source.concurrency.unwrap_or(4);
    for chunk in pulls.chunks(batch_size(BATCH)) {
        session.stage(format!("{name}: pull requests {}/{total}", summary.pull_requests));
        let fetch = |item: &Value| pull_request(item, &root, repo, &session, &ready, &issue_comments, &review_comments);
        let fetched = session.fetch_each(chunk, workers, &fetch)?;
        let mut batch = EventBatch::default();
        for (item, pr) in chunk.iter().zip(fetched) {
            batch.pull_requests.push((pr, name.clone(), Some(item.to_string())));
        }
        let reached = chunk.last().and_then(|p| Cursor::of(p, "number")).map(|c| c.format());
        store.write_events(&batch, &cursor_update(&name, "pulls", reached.as_deref()))?;
        store.cache_http(&session.client.take_fresh_cache())?;
        summary.pull_requests += chunk.len();
    }

    // Deployments: host deployments with their statuses, and CI runs.
    session.stage(format!("{name}: deployments"));
    let mut batch = EventBatch::default();
    // A deployment's `updated_at` moves when a status is added: statuses are
    // fetched again only for deployments updated since the last sync.
    let deployments_cursor = store.cursor(&name, "deployments")?.and_then(|c| Cursor::parse(&c)).map(|c| c.at);
    let mut newest_deployment = deployments_cursor;
    for d in get_all(&format!("{root}/deployments?per_page=100"))? {
        let Some(id) = d["id"].as_u64() else { continue };
        let updated = time(&d, "updated_at");
        if deployments_cursor.is_some_and(|c| updated.is_none_or(|u| u <= c)) {
            continue;
        }
        newest_deployment = newest_deployment.max(updated);
        let statuses = get_all(&format!("{root}/deployments/{id}/statuses?per_page=100"))?;
        // Statuses come newest first; the deployment is what its latest final state says.
        let Some(last) =
            statuses.iter().find(|s| matches!(s["state"].as_str(), Some("success" | "failure" | "error" | "inactive")))
        else {
            continue;
        };
        let state = match last["state"].as_str() {
            // "inactive" is a success superseded by a later deployment.
            Some("inactive") => "success",
            Some(other) => other,
            None => continue,
        };
        let (Some(commit), Some(finished_at)) = (d["sha"].as_str(), time(last, "created_at")) else { continue };
        batch.deployments.push((
            DeploymentEvent {
                source: name.clone(),
                external_id: format!("deployment-{id}"),
                repo: Some(repo.to_owned()),
                service: service.clone(),
                environment: d["environment"].as_str().unwrap_or("production").to_owned(),
                commit: commit.to_owned(),
                finished_at,
                status: state.to_owned(),
                name: d["ref"].as_str().map(str::to_owned),
                commits: None,
            },
            Some(d.to_string()),
        ));
    }
    // Releases are stored as deployments to the environment `release`: they
    // count only when `deploy.env_pattern` includes it (a release is often
    // not a deployment, and its tag is in git for tag mode anyway).
    session.stage(format!("{name}: releases"));
    for release in get_all(&format!("{root}/releases?per_page=100"))? {
        let (Some(id), Some(tag)) = (release["id"].as_u64(), release["tag_name"].as_str()) else { continue };
        if release["draft"] == true {
            continue;
        }
        let Some(published) = time(&release, "published_at").or_else(|| time(&release, "created_at")) else { continue };
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
    session.stage(format!("{name}: workflow runs"));
    let runs_cursor = store.cursor(&name, "runs")?.and_then(|c| parse_rfc3339(&c));
    let mut newest_run = runs_cursor;
    for run in get_all(&format!("{root}/actions/runs?per_page=100"))? {
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
            let jobs = get_all(&format!("{root}/actions/runs/{id}/jobs?per_page=100"))?;
            let deploying: Vec<&Value> =
                jobs.iter().filter(|j| j["name"].as_str().is_some_and(|n| config.ci_regex.is_match(n))).collect();
            if let Some(done) = deploying.iter().filter_map(|j| time(j, "completed_at")).max() {
                finished_at = Some(done);
            }
            !deploying.is_empty()
        } else {
            false
        };
        let (true, Some(commit), Some(finished_at)) = (matched, run["head_sha"].as_str(), finished_at) else {
            continue;
        };
        batch.deployments.push((
            DeploymentEvent {
                source: name.clone(),
                external_id: format!("run-{id}"),
                repo: Some(repo.to_owned()),
                service: service.clone(),
                environment: "production".to_owned(),
                commit: commit.to_owned(),
                finished_at,
                status: run["conclusion"].as_str().unwrap_or("unknown").to_owned(),
                name: Some(format!("{workflow} #{}", run["run_number"].as_u64().unwrap_or(0))),
                commits: None,
            },
            Some(run.to_string()),
        ));
    }

    // Incidents: issues carrying an incident label.
    session.stage(format!("{name}: incidents"));
    let mut seen = std::collections::HashSet::new();
    for label in &config.incident_labels {
        for issue in get_all(&format!("{root}/issues?labels={}&{list}", encode(label)))? {
            let Some(number) = issue["number"].as_u64() else { continue };
            if issue.get("pull_request").is_some() || !seen.insert(number) {
                continue;
            }
            batch.incidents.extend(incident(&name, &service, number, &issue));
        }
    }
    summary.deployments = batch.deployments.len();
    summary.incidents = batch.incidents.len();
    let runs_reached = newest_run.map(fulcrum_core::time::format_datetime);
    let deployments_reached = newest_deployment.map(fulcrum_core::time::format_datetime);
    let mut cursors = cursor_update(&name, "runs", runs_reached.as_deref());
    cursors.extend(cursor_update(&name, "deployments", deployments_reached.as_deref()));
    store.write_events(&batch, &cursors)?;
    store.cache_http(&session.client.take_fresh_cache())?;
    session.finish(&mut summary);
    Ok(summary)
}

/// One pull request with its details.
fn pull_request(
    item: &Value,
    root: &str,
    repo: &str,
    session: &Session<'_>,
    ready: &HashMap<u64, i64>,
    issue_comments: &HashMap<u64, Vec<ReviewActivity>>,
    review_comments: &HashMap<u64, Vec<ReviewActivity>>,
) -> Result<PullRequest, HttpError> {
    let number = item["number"].as_u64().unwrap_or(0);
    let list = "direction=asc&per_page=100&state=all";
    // The list omits sizes; the pull request itself has them.
    let detail = session.get_one(&format!("{root}/pulls/{number}"))?;
    let commits = session
        .get_all(&format!("{root}/pulls/{number}/commits?{list}"))?
        .iter()
        .filter_map(|c| {
            Some(PrCommit {
                sha: c["sha"].as_str()?.to_owned(),
                author: login(&c["author"]).or_else(|| c["commit"]["author"]["name"].as_str())?.to_owned(),
                authored_at: parse_rfc3339(c["commit"]["author"]["date"].as_str()?)?,
            })
        })
        .collect();
    let mut activities: Vec<ReviewActivity> = session
        .get_all(&format!("{root}/pulls/{number}/reviews?{list}"))?
        .iter()
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
        author: login(&item["user"]).unwrap_or("ghost").to_owned(),
        created_at: time(item, "created_at").unwrap_or(0),
        ready_at: ready.get(&number).copied(),
        draft,
        merged_at,
        closed_at: time(item, "closed_at"),
        merge_commit: merged_at.and(item["merge_commit_sha"].as_str().map(str::to_owned)),
        additions: detail["additions"].as_u64().unwrap_or(0),
        deletions: detail["deletions"].as_u64().unwrap_or(0),
        commits,
        activities,
        updated_at: time(item, "updated_at"),
    })
}

fn login(user: &Value) -> Option<&str> {
    user["login"].as_str()
}

fn activity(value: &Value, key: &str, kind: ActivityKind) -> Option<ReviewActivity> {
    Some(ReviewActivity { author: login(&value["user"])?.to_owned(), at: time(value, key)?, kind })
}

/// The number at the end of an API URL (`…/issues/12`).
fn trailing_number(url: &Value) -> Option<u64> {
    url.as_str()?.rsplit('/').next()?.parse().ok()
}

/// Syncs every `[[source]]` of the configuration.
pub fn sync_all(store: &mut Store, config: &Config, progress: &mut Progress) -> anyhow::Result<Vec<SourceSummary>> {
    let mut summaries = Vec::new();
    for source in &config.sources {
        let summary = match source.kind.as_str() {
            "github" => sync(store, source, config, progress),
            "gitlab" => crate::gitlab::sync(store, source, config, progress),
            other => Err(SourceError(format!("source kind `{other}` is not known; use github or gitlab")).into()),
        }
        .with_context(|| format!("while syncing {} source {}", source.kind, source.repo))?;
        summaries.push(summary);
    }
    Ok(summaries)
}
