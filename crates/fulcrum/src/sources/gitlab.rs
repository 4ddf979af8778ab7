//! The GitLab connector (REST API v4; `base_url` for self-hosted GitLab):
//! merge requests with their commits, notes, approvals and diffs;
//! deployments to production-tier environments; pipelines whose jobs match
//! `deploy.ci_pattern` (when the project records no deployments); issues of
//! type incident and issues labelled as incidents.
//!
//! Incremental by `updated_after` cursors kept in the store, written with
//! each batch in one transaction, as the GitHub connector does.
//!
//! Choices, where GitLab's API leaves gaps:
//! - **Ready for review**: the system note "marked this merge request as
//!   ready" (GitLab 15+; "unmarked as a Work In Progress" before). A merge
//!   request that was never a draft has none and is ready at creation.
//! - **Approvals**: the system note "approved this merge request" gives the
//!   time; an approver listed by `/approvals` without such a note (older
//!   GitLab) counts as a review at the merge (or last update): the latest it
//!   can have happened, so pickup is never understated.
//! - **Size**: GitLab's merge request API has no line counts: they are
//!   counted from `/diffs` (GitLab 15.7+). Where that endpoint is missing or
//!   answers nothing the size is unknown (no size bucket; counted apart).
//! - **Which commit landed**: `merge_commit_sha` when set (a merge commit,
//!   squashed or not), else `squash_commit_sha` (fast-forward squash), else
//!   `sha` (fast-forward): that commit links the merge request to its
//!   deployment.
//! - **Pipelines** stand in for deployments only on the deploying refs: the
//!   project's default branch, or the source's `refs`.

use std::collections::HashSet;

use fulcrum_core::flow::{ActivityKind, PrCommit, PullRequest, ReviewActivity};
use fulcrum_core::time::format_datetime;
use serde_json::Value;

use crate::config::SourceFile;
use crate::progress::Progress;
use crate::sources::connector::{
    Names, PullBatches, Session, SourceSummary, cursor_update, encode, fresh_items, incident, store_pull_requests, time,
};
use crate::sources::github::SyncContext;
use crate::sources::http::{Auth, HttpError};
use crate::store::{DeploymentEvent, EventBatch, Store};

/// Merge requests per transaction.
const BATCH: usize = 100;

/// Syncs one GitLab source into the store, one listed page at a time (each
/// written with the cursor it reached before the next is asked for).
pub fn sync(
    store: &mut Store,
    source: &SourceFile,
    context: &SyncContext<'_>,
    progress: &mut Progress,
) -> anyhow::Result<SourceSummary> {
    let config = context.config;
    let names = Names::of(source, "gitlab", "https://gitlab.com/api/v4");
    let (repo, name, service) = (names.repo, names.name.clone(), names.service.clone());
    let client =
        crate::sources::connector::client(source, &names.base, Auth::PrivateToken, "GITLAB_TOKEN", context.clock)?;
    let root = format!("{}/projects/{}", names.base, encode(repo));
    client.load_cache(store.http_cache_under(&root)?);
    let mut summary = SourceSummary { source: name.clone(), ..SourceSummary::default() };
    let session = Session::new(client, progress);
    let since = |store: &Store, resource: &str| -> anyhow::Result<String> {
        let cursor = names.cursor(store, resource, source, context.now)?;
        Ok(cursor.map(|c| format!("&updated_after={}", encode(&c.time_text()))).unwrap_or_default())
    };

    // Merge requests, oldest update first, in batches with their cursor.
    session.stage(format!("{name}: listing merge requests"));
    let after = since(store, "merge_requests")?;
    let position = names.cursor(store, "merge_requests", source, context.now)?;
    let mut reached = position;
    let mut seen = std::collections::HashMap::new();
    let mut skipped = 0;
    let batches = PullBatches {
        source: &name,
        resource: "merge_requests",
        key: "iid",
        label: "merge requests",
        workers: source.concurrency.unwrap_or(4),
        batch: BATCH,
    };
    // GraphQL answers no one without a token: REST then, as the warning says.
    let graphql = source.api.as_deref() == Some("graphql") && session.client.has_token();
    if source.api.as_deref() == Some("graphql") && !graphql {
        eprintln!("warning: {name}: api = \"graphql\" needs a token; listing through REST instead");
    }
    if graphql {
        crate::sources::graphql::sync_merge_requests(store, &session, &names, source, context, &mut summary)?;
    } else {
        let url = format!("{root}/merge_requests?state=all&order_by=updated_at&sort=asc&per_page=100{after}");
        session.each_page(&url, &mut |page| -> anyhow::Result<()> {
            let requests = fresh_items(page, "iid", position, &mut seen, &mut skipped);
            let fetch = |item: &Value| merge_request(item, &root, repo, &session);
            store_pull_requests(store, &session, &batches, &requests, &mut reached, &mut summary, &fetch)
        })?;
    }

    // Deployments, oldest update first: each page with the cursor it reached.
    session.stage(format!("{name}: deployments"));
    let after = since(store, "deployments")?;
    let mut newest = None;
    let mut listed_deployments = 0;
    let url = format!("{root}/deployments?order_by=updated_at&sort=asc&per_page=100{after}");
    session.each_page(&url, &mut |page| -> anyhow::Result<()> {
        listed_deployments += page.len();
        let mut batch = EventBatch::default();
        for d in &page {
            newest = newest.max(time(d, "updated_at"));
            let (Some(id), Some(sha), Some(status)) = (d["id"].as_u64(), d["sha"].as_str(), d["status"].as_str())
            else {
                continue;
            };
            if !matches!(status, "success" | "failed" | "canceled") {
                continue;
            }
            let environment = &d["environment"];
            let environment = if environment["tier"] == "production" {
                "production".to_owned()
            } else {
                environment["name"].as_str().unwrap_or("unknown").to_owned()
            };
            let Some(finished_at) = time(d, "finished_at")
                .or_else(|| time(&d["deployable"], "finished_at"))
                .or_else(|| time(d, "updated_at"))
            else {
                continue;
            };
            batch.deployments.push((
                DeploymentEvent {
                    source: name.clone(),
                    external_id: format!("deployment-{id}"),
                    repo: Some(repo.to_owned()),
                    service: service.clone(),
                    environment,
                    commit: sha.to_owned(),
                    finished_at,
                    status: if status == "failed" { "failure".to_owned() } else { status.to_owned() },
                    name: d["ref"].as_str().map(str::to_owned),
                    commits: None,
                },
                Some(d.to_string()),
            ));
        }
        summary.deployments += batch.deployments.len();
        let text = newest.map(format_datetime);
        store.write_events(&batch, &cursor_update(&name, "deployments", text.as_deref()))?;
        Ok(())
    })?;

    // Pipelines stand in when the project records no deployments: only
    // those of the deploying refs (the default branch unless `refs` says
    // otherwise), never merge-request or feature-branch pipelines.
    let has_deployments = listed_deployments > 0 || store.cursor(&name, "deployments")?.is_some();
    if !has_deployments {
        session.stage(format!("{name}: pipelines"));
        let refs = match &source.refs {
            Some(refs) => refs.clone(),
            None => {
                let project = session.get_one(&root)?;
                project["default_branch"].as_str().map(|b| vec![b.to_owned()]).unwrap_or_default()
            }
        };
        let after = since(store, "pipelines")?;
        let mut newest = None;
        for git_ref in &refs {
            let url = format!("{root}/pipelines?status=success&ref={}&per_page=100{after}", encode(git_ref));
            session.each_page(&url, &mut |page| -> anyhow::Result<()> {
                let mut batch = EventBatch::default();
                for pipeline in page {
                    let (Some(id), Some(sha)) = (pipeline["id"].as_u64(), pipeline["sha"].as_str()) else { continue };
                    // The host filters by ref; a host that does not is not trusted to.
                    if pipeline["ref"].as_str() != Some(git_ref.as_str()) {
                        continue;
                    }
                    newest = newest.max(time(&pipeline, "updated_at"));
                    let jobs = session.get_all(&format!("{root}/pipelines/{id}/jobs?per_page=100"))?;
                    let finished_at = jobs
                        .iter()
                        .filter(|j| {
                            j["status"] == "success"
                                && [&j["name"], &j["stage"]]
                                    .iter()
                                    .any(|v| v.as_str().is_some_and(|n| config.ci_regex.is_match(n)))
                        })
                        .filter_map(|j| time(j, "finished_at"))
                        .max();
                    let Some(finished_at) = finished_at else { continue };
                    batch.deployments.push((
                        DeploymentEvent {
                            source: name.clone(),
                            external_id: format!("pipeline-{id}"),
                            repo: Some(repo.to_owned()),
                            service: service.clone(),
                            environment: "production".to_owned(),
                            commit: sha.to_owned(),
                            finished_at,
                            status: "success".to_owned(),
                            name: Some(format!("pipeline {id}")),
                            commits: None,
                        },
                        Some(pipeline.to_string()),
                    ));
                }
                summary.deployments += batch.deployments.len();
                store.write_events(&batch, &[])?;
                Ok(())
            })?;
        }
        let text = newest.map(format_datetime);
        store.write_events(&EventBatch::default(), &cursor_update(&name, "pipelines", text.as_deref()))?;
    }

    // Incidents: issues of type incident, and issues carrying an incident label.
    session.stage(format!("{name}: incidents"));
    let mut seen = HashSet::new();
    let mut queries = vec!["issue_type=incident".to_owned()];
    queries.extend(config.incident_labels.iter().map(|l| format!("labels={}", encode(l))));
    for query in queries {
        session.each_page(
            &format!("{root}/issues?{query}&state=all&per_page=100"),
            &mut |page| -> anyhow::Result<()> {
                let mut batch = EventBatch::default();
                for issue in page {
                    let Some(iid) = issue["iid"].as_u64() else {
                        skipped += 1;
                        continue;
                    };
                    if seen.insert(iid) {
                        batch.incidents.extend(incident(&name, &service, iid, &issue));
                    }
                }
                summary.incidents += batch.incidents.len();
                store.write_events(&batch, &[])?;
                Ok(())
            },
        )?;
    }
    // Work items: the project's issues with their state and label events,
    // fetched for the issues updated since the last sync only.
    if source.issues == Some(true) {
        session.stage(format!("{name}: issues"));
        let after = since(store, "issues")?;
        let position = names.cursor(store, "issues", source, context.now)?;
        let mut reached = position;
        let mut seen = std::collections::HashMap::new();
        session.each_page(
            &format!("{root}/issues?state=all&order_by=updated_at&sort=asc&per_page=100{after}"),
            &mut |page| -> anyhow::Result<()> {
                let mut batch = EventBatch::default();
                for issue in fresh_items(page, "iid", position, &mut seen, &mut skipped) {
                    let Some(iid) = issue["iid"].as_u64() else { continue };
                    let mut events: Vec<(i64, String, Option<String>)> = Vec::new();
                    for e in session.get_all(&format!("{root}/issues/{iid}/resource_state_events?per_page=100"))? {
                        if let (Some(at), Some(state @ ("closed" | "reopened"))) =
                            (time(&e, "created_at"), e["state"].as_str())
                        {
                            events.push((at, state.to_owned(), None));
                        }
                    }
                    for e in session.get_all(&format!("{root}/issues/{iid}/resource_label_events?per_page=100"))? {
                        if let (Some(at), "add", Some(label)) =
                            (time(&e, "created_at"), e["action"].as_str().unwrap_or(""), e["label"]["name"].as_str())
                        {
                            events.push((at, "labeled".to_owned(), Some(label.to_owned())));
                        }
                    }
                    match crate::sources::github::work_item(&name, repo, &service, config, iid, &issue, &events) {
                        Some(item) => batch.items.push((item, Some(issue.to_string()))),
                        None => skipped += 1,
                    }
                    reached = reached.max(crate::sources::connector::Cursor::of(&issue, "iid"));
                }
                summary.items += batch.items.len();
                let text = reached.map(|c| c.format());
                store.write_events(&batch, &cursor_update(&name, "issues", text.as_deref()))?;
                Ok(())
            },
        )?;
    }
    store.cache_http(&session.client.take_fresh_cache())?;
    summary.skipped = skipped;
    session.finish(&mut summary);
    Ok(summary)
}

/// One merge request with its commits, notes, approvals and size.
fn merge_request(item: &Value, root: &str, repo: &str, session: &Session<'_>) -> Result<PullRequest, HttpError> {
    // Listed items without an iid were left out before.
    let iid = item["iid"].as_u64().unwrap_or_default();
    let at = format!("{root}/merge_requests/{iid}");
    // Children listed twice (a list that shifted while paged) are taken once, by id.
    let mut ids = HashSet::new();
    let commits: Vec<PrCommit> = session
        .get_all(&format!("{at}/commits?per_page=100"))?
        .iter()
        .filter(|c| c["id"].as_str().is_none_or(|id| ids.insert(id.to_owned())))
        .filter_map(|c| {
            Some(PrCommit {
                sha: c["id"].as_str()?.to_owned(),
                author: c["author_name"].as_str()?.to_owned(),
                authored_at: time(c, "authored_date")?,
            })
        })
        .collect();
    let author = item["author"]["username"].as_str().unwrap_or("ghost").to_owned();
    let mut activities = Vec::new();
    let mut ready_at = None;
    let mut approved_with_note = HashSet::new();
    let mut note_ids = HashSet::new();
    for note in session.get_all(&format!("{at}/notes?sort=asc&order_by=created_at&per_page=100"))? {
        if !note["id"].as_u64().is_none_or(|id| note_ids.insert(id)) {
            continue;
        }
        let (Some(who), Some(when)) = (note["author"]["username"].as_str(), time(&note, "created_at")) else {
            continue;
        };
        let body = note["body"].as_str().unwrap_or("");
        if note["system"] == true {
            if body.starts_with("marked this merge request as **ready**")
                || body.starts_with("marked this merge request as ready")
                || body.starts_with("unmarked as a **Work In Progress**")
            {
                ready_at = Some(ready_at.map_or(when, |r: i64| r.max(when)));
            } else if body.starts_with("approved this merge request") {
                approved_with_note.insert(who.to_owned());
                activities.push(ReviewActivity { author: who.into(), at: when, kind: ActivityKind::Review });
            }
            continue;
        }
        let kind = if note["type"] == "DiffNote" { ActivityKind::ReviewComment } else { ActivityKind::Comment };
        activities.push(ReviewActivity { author: who.into(), at: when, kind });
    }
    let merged_at = time(item, "merged_at");
    let approvals = session.get_one(&format!("{at}/approvals"))?;
    let fallback = merged_at.or_else(|| time(item, "updated_at"));
    for approver in approvals["approved_by"].as_array().into_iter().flatten() {
        if let (Some(who), Some(when)) = (approver["user"]["username"].as_str(), fallback)
            && !approved_with_note.contains(who)
        {
            activities.push(ReviewActivity { author: who.into(), at: when, kind: ActivityKind::Review });
        }
    }
    // No diffs endpoint (before GitLab 15.7), or an empty answer: the size is unknown, not 0.
    let (additions, deletions, size_unknown) = match session.get_all(&format!("{at}/diffs?per_page=100")) {
        Ok(diffs) if diffs.iter().any(|d| d["diff"].is_string()) => {
            let (a, d) = diffs
                .iter()
                .filter_map(|d| d["diff"].as_str())
                .map(count_lines)
                .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
            (a, d, false)
        }
        Ok(_) | Err(HttpError::NotFound { .. }) => (0, 0, true),
        Err(e) => return Err(e),
    };
    let merge_commit = landed_commit(item);
    Ok(PullRequest {
        id: format!("gitlab:pr:{repo}#{iid}"),
        repo: repo.to_owned(),
        number: iid,
        author,
        // Listed items without a creation time were left out before.
        created_at: time(item, "created_at").unwrap_or_default(),
        ready_at,
        draft: item["draft"] == true || item["work_in_progress"] == true,
        merged_at,
        closed_at: time(item, "closed_at").or(merged_at),
        merge_commit: merged_at.and(merge_commit),
        additions,
        deletions,
        size_unknown,
        commits,
        activities,
        updated_at: time(item, "updated_at"),
    })
}

/// The commit a merged merge request put on the target branch: its merge
/// commit when there is one (a squash merge with a merge commit lands the
/// squash commit *behind* the merge commit, which is what the branch then
/// points at); else its squash commit (a fast-forward squash); else its head
/// (a fast-forward merge).
fn landed_commit(item: &Value) -> Option<String> {
    ["merge_commit_sha", "squash_commit_sha", "sha"].iter().find_map(|key| item[*key].as_str()).map(str::to_owned)
}

/// Lines added and removed in a diff as GitLab gives it: hunks only, no
/// file headers (so a removed `-- comment` line is a removal).
fn count_lines(diff: &str) -> (u64, u64) {
    let mut counts = (0, 0);
    for line in diff.lines() {
        match line.as_bytes().first() {
            Some(b'+') => counts.0 += 1,
            Some(b'-') => counts.1 += 1,
            _ => {}
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_lines() {
        assert_eq!(count_lines("@@ -1,3 +1,4 @@\n a\n-b\n+c\n+d\n--- removed SQL comment\n"), (2, 2));
    }
}
