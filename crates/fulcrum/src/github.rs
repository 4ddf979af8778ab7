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
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Context as _;
use fulcrum_core::flow::{ActivityKind, PrCommit, PullRequest, ReviewActivity};
use fulcrum_core::time::parse_rfc3339;
use serde_json::Value;

use crate::config::{Config, SourceFile};
use crate::http::{Auth, Client, HttpError, Token};
use crate::progress::Progress;
use crate::store::{DeploymentEvent, EventBatch, IncidentEvent, Store};

/// Pull requests per transaction.
const BATCH: usize = 100;

/// What a source sync did.
#[derive(Debug, Default, serde::Serialize)]
pub struct SourceSummary {
    /// `github:owner/name`.
    pub source: String,
    /// Pull requests fetched and stored (new or updated).
    pub pull_requests: usize,
    /// Deployment events stored (host deployments and CI runs).
    pub deployments: usize,
    /// Incidents stored.
    pub incidents: usize,
    /// Requests answered 304 (served from the cache, no rate limit spent).
    pub not_modified: usize,
    /// Requests made.
    pub requests: usize,
}

/// Bad source settings (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SourceError(pub String);

/// The token of a source: its environment variable, else its command.
/// Returns the token (if any) and a description of where it came from.
pub fn token(source: &SourceFile, default_env: &str) -> anyhow::Result<(Option<Token>, String)> {
    let env = source.token_env.clone().unwrap_or_else(|| default_env.to_owned());
    if let Ok(value) = std::env::var(&env)
        && !value.trim().is_empty()
    {
        return Ok((Some(Token::new(&value)), format!("${env}")));
    }
    if let Some(command) = &source.token_command {
        let output = std::process::Command::new("sh")
            .arg("-c")
            .arg(command)
            .output()
            .map_err(|e| SourceError(format!("token_command of {}: cannot run it ({e})", source.repo)))?;
        if !output.status.success() {
            // The command's output may hold the secret: say only that it failed.
            return Err(SourceError(format!(
                "token_command of {} failed ({}); run it yourself to see why",
                source.repo, output.status
            ))
            .into());
        }
        let text = String::from_utf8_lossy(&output.stdout);
        return Ok((Some(Token::new(&text)), "the configured token_command".to_owned()));
    }
    Ok((None, format!("${env} (unset: requests are unauthenticated and limited to 60 an hour)")))
}

/// Syncs one GitHub source into the store.
pub fn sync(
    store: &mut Store,
    source: &SourceFile,
    config: &Config,
    progress: &mut Progress,
) -> anyhow::Result<SourceSummary> {
    let base = source.base_url.clone().unwrap_or_else(|| "https://api.github.com".to_owned());
    let base = base.trim_end_matches('/');
    let repo = source.repo.trim_matches('/');
    let name = format!("github:{repo}");
    let service = source.service.clone().unwrap_or_else(|| repo.rsplit('/').next().unwrap_or(repo).to_owned());
    let (token, hint) = token(source, "GITHUB_TOKEN")?;
    let client = Client::new(token, Auth::Bearer, &hint);
    let root = format!("{base}/repos/{repo}");
    client.load_cache(store.http_cache_under(&root)?);
    let mut summary = SourceSummary { source: name.clone(), ..SourceSummary::default() };
    let requests = AtomicUsize::new(0);
    let not_modified = AtomicUsize::new(0);
    progress.start(&format!("{name}: listing pull requests"), None);
    let progress_line = Mutex::new(progress);
    let label = Mutex::new(String::new());
    let notify = |message: &str| {
        let base = label.lock().expect("label lock").clone();
        let text = if message.is_empty() { base } else { format!("{base} ({message})") };
        progress_line.lock().expect("progress lock").relabel(&text);
    };
    let set_label = |text: String| {
        *label.lock().expect("label lock") = text.clone();
        progress_line.lock().expect("progress lock").relabel(&text);
    };
    let get_all = |url: &str| -> Result<Vec<Value>, HttpError> {
        let pages = client.get_all(url, &notify)?;
        requests.fetch_add(pages.len(), Ordering::Relaxed);
        not_modified.fetch_add(pages.iter().filter(|p| p.not_modified).count(), Ordering::Relaxed);
        Ok(pages.into_iter().flat_map(|p| into_items(p.body)).collect())
    };
    let list = "direction=asc&per_page=100&state=all";

    // Pull requests and what hangs off them at repository level.
    set_label(format!("{name}: listing pull requests"));
    let cursor = store.cursor(&name, "pulls")?.and_then(|c| parse_rfc3339(&c));
    let mut pulls: Vec<Value> = get_all(&format!("{root}/pulls?{list}"))?
        .into_iter()
        .filter(|p| cursor.is_none_or(|c| time(p, "updated_at").is_some_and(|u| u > c)))
        .collect();
    pulls.sort_by_key(|p| (time(p, "updated_at"), p["number"].as_u64()));
    // A pull request updated while the list was paged through can appear twice: keep its latest state.
    let mut latest: HashMap<u64, usize> = HashMap::new();
    for (i, p) in pulls.iter().enumerate() {
        latest.insert(p["number"].as_u64().unwrap_or(0), i);
    }
    let mut position = 0;
    pulls.retain(|p| {
        position += 1;
        latest.get(&p["number"].as_u64().unwrap_or(0)) == Some(&(position - 1))
    });
    let mut issue_comments: HashMap<u64, Vec<ReviewActivity>> = HashMap::new();
    let mut review_comments: HashMap<u64, Vec<ReviewActivity>> = HashMap::new();
    let mut ready: HashMap<u64, i64> = HashMap::new();
    if !pulls.is_empty() {
        set_label(format!("{name}: comments and events"));
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
    let workers = source.concurrency.unwrap_or(4).clamp(1, 16);
    // Tests shrink the batch to interrupt a sync between two of them.
    let batch_size =
        std::env::var("FULCRUM_TEST_SOURCE_BATCH").ok().and_then(|v| v.parse().ok()).unwrap_or(BATCH).max(1);
    for chunk in pulls.chunks(batch_size) {
        set_label(format!("{name}: pull requests {}/{total}", summary.pull_requests));
        let next = AtomicUsize::new(0);
        let results: Mutex<Vec<Option<Result<PullRequest, HttpError>>>> =
            Mutex::new((0..chunk.len()).map(|_| None).collect());
        std::thread::scope(|scope| {
            for _ in 0..workers.min(chunk.len()) {
                scope.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = chunk.get(i) else { break };
                        let result =
                            pull_request(item, &root, repo, &get_all, &ready, &issue_comments, &review_comments);
                        results.lock().expect("results lock")[i] = Some(result);
                    }
                });
            }
        });
        let mut batch = EventBatch::default();
        for (item, result) in chunk.iter().zip(results.into_inner().expect("results lock")) {
            let pr = result.expect("every item was processed")?;
            batch.pull_requests.push((pr, name.clone(), Some(item.to_string())));
        }
        let reached = chunk.last().and_then(|p| p["updated_at"].as_str()).map(str::to_owned);
        store.write_events(&batch, reached.as_deref().map(|r| (name.as_str(), "pulls", r)))?;
        store.cache_http(&client.take_fresh_cache())?;
        summary.pull_requests += chunk.len();
    }

    // Deployments: host deployments with their statuses, and CI runs.
    set_label(format!("{name}: deployments"));
    let mut batch = EventBatch::default();
    for d in get_all(&format!("{root}/deployments?per_page=100"))? {
        let Some(id) = d["id"].as_u64() else { continue };
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
    set_label(format!("{name}: releases"));
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
    set_label(format!("{name}: workflow runs"));
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
    set_label(format!("{name}: incidents"));
    let mut seen = std::collections::HashSet::new();
    for label in &config.incident_labels {
        for issue in get_all(&format!("{root}/issues?labels={}&{list}", encode(label)))? {
            let Some(number) = issue["number"].as_u64() else { continue };
            if issue.get("pull_request").is_some() || !seen.insert(number) {
                continue;
            }
            let Some(started_at) = time(&issue, "created_at") else { continue };
            batch.incidents.push((
                IncidentEvent {
                    source: name.clone(),
                    external_id: format!("#{number}"),
                    service: service.clone(),
                    title: issue["title"].as_str().map(str::to_owned),
                    started_at,
                    resolved_at: time(&issue, "closed_at"),
                    deployment: None,
                    commit: None,
                    pull_request: None,
                },
                Some(issue.to_string()),
            ));
        }
    }
    summary.deployments = batch.deployments.len();
    summary.incidents = batch.incidents.len();
    let runs_reached = newest_run.map(fulcrum_core::time::format_datetime);
    store.write_events(&batch, runs_reached.as_deref().map(|r| (name.as_str(), "runs", r)))?;
    store.cache_http(&client.take_fresh_cache())?;
    summary.requests = requests.load(Ordering::Relaxed);
    summary.not_modified = not_modified.load(Ordering::Relaxed);
    progress_line.into_inner().expect("progress lock").finish();
    Ok(summary)
}

/// One pull request with its details.
fn pull_request(
    item: &Value,
    root: &str,
    repo: &str,
    get_all: &(dyn Fn(&str) -> Result<Vec<Value>, HttpError> + Sync),
    ready: &HashMap<u64, i64>,
    issue_comments: &HashMap<u64, Vec<ReviewActivity>>,
    review_comments: &HashMap<u64, Vec<ReviewActivity>>,
) -> Result<PullRequest, HttpError> {
    let number = item["number"].as_u64().unwrap_or(0);
    let list = "direction=asc&per_page=100&state=all";
    // The list omits sizes; the pull request itself has them.
    let detail = get_all(&format!("{root}/pulls/{number}"))?.into_iter().next().unwrap_or(Value::Null);
    let commits = get_all(&format!("{root}/pulls/{number}/commits?{list}"))?
        .iter()
        .filter_map(|c| {
            Some(PrCommit {
                sha: c["sha"].as_str()?.to_owned(),
                author: login(&c["author"]).or_else(|| c["commit"]["author"]["name"].as_str())?.to_owned(),
                authored_at: parse_rfc3339(c["commit"]["author"]["date"].as_str()?)?,
            })
        })
        .collect();
    let mut activities: Vec<ReviewActivity> = get_all(&format!("{root}/pulls/{number}/reviews?{list}"))?
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

/// The items of a page: its array, or the array inside an object
/// (`{"workflow_runs": [...]}`), or the object itself.
fn into_items(body: Value) -> Vec<Value> {
    match body {
        Value::Array(items) => items,
        Value::Object(mut map) => {
            for key in ["workflow_runs", "jobs", "items"] {
                if let Some(Value::Array(items)) = map.remove(key) {
                    return items;
                }
            }
            vec![Value::Object(map)]
        }
        _ => Vec::new(),
    }
}

fn time(value: &Value, key: &str) -> Option<i64> {
    value[key].as_str().and_then(parse_rfc3339)
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

/// Percent-encodes a query value.
fn encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
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
