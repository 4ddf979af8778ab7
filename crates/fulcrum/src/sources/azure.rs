//! Azure DevOps (Services, `dev.azure.com`, or a Server's collection URL
//! as `base_url`): pull requests with their commits, reviewer votes and
//! comments, and builds as deployments when they match
//! `deploy.ci_pattern` (by the pipeline's name, else by a stage or job of
//! their timeline).
//!
//! `repo` is `organization/project/repository`. A personal access token in
//! `AZURE_DEVOPS_TOKEN` goes as basic authentication with an empty user.
//!
//! Pull requests are listed `$top`/`$skip` (the listing has no update time
//! to resume from): each sync lists them all (100 to a request) and fetches
//! the commits and threads (2 requests) only of those active, new, or
//! closed since the last sync. A vote's time is its `VoteUpdate` thread's;
//! a vote without one counts at the closing time. Sizes are not fetched.
//! Builds are listed newest finished first from the last sync's newest
//! (`minTime`), paged by the `x-ms-continuationtoken` header.

use fulcrum_core::flow::{ActivityKind, PrCommit, PullRequest, ReviewActivity};
use serde_json::Value;

use crate::config::SourceFile;
use crate::progress::Progress;
use crate::sources::connector::{Session, SourceError, SourceSummary, cursor_update, encode, time};
use crate::sources::github::SyncContext;
use crate::sources::http::{Auth, HttpError};
use crate::store::{DeploymentEvent, EventBatch, PrLabel, Store};

/// Items per page.
const TOP: usize = 100;

/// Who someone is: the unique name (an e-mail or `DOMAIN\user`), else the
/// display name.
fn who(identity: &Value) -> Option<String> {
    identity["uniqueName"].as_str().or_else(|| identity["displayName"].as_str()).map(str::to_owned)
}

/// A pull request from its listing, its commits and its threads.
pub fn pull_request(repo: &str, item: &Value, commits: &[Value], threads: &[Value]) -> Option<PullRequest> {
    let number = item["pullRequestId"].as_u64()?;
    let created_at = time(item, "creationDate")?;
    let status = item["status"].as_str().unwrap_or("");
    let closed = time(item, "closedDate");
    let merged_at = (status == "completed").then_some(closed).flatten();
    let mut activities = Vec::new();
    let mut voted = std::collections::HashSet::new();
    for thread in threads {
        if thread["isDeleted"] == true {
            continue;
        }
        let kind = thread["properties"]["CodeReviewThreadType"]["$value"].as_str();
        let inline = thread["threadContext"].is_object();
        for comment in thread["comments"].as_array().into_iter().flatten() {
            let (Some(author), Some(at)) = (who(&comment["author"]), time(comment, "publishedDate")) else {
                continue;
            };
            if kind == Some("VoteUpdate") {
                voted.insert(author.clone());
                activities.push(ReviewActivity { author: author.into(), at, kind: ActivityKind::Review });
            } else if comment["commentType"] == "text" && comment["isDeleted"] != true {
                let kind = if inline { ActivityKind::ReviewComment } else { ActivityKind::Comment };
                activities.push(ReviewActivity { author: author.into(), at, kind });
            }
        }
    }
    // Votes the threads did not date: at the closing time, when there is one.
    for reviewer in item["reviewers"].as_array().into_iter().flatten() {
        if reviewer["vote"].as_i64().unwrap_or(0) != 0
            && let (Some(author), Some(at)) = (who(reviewer), closed)
            && !voted.contains(&author)
        {
            activities.push(ReviewActivity { author: author.into(), at, kind: ActivityKind::Review });
        }
    }
    activities.sort_by_key(|a| a.at);
    let commits = commits
        .iter()
        .filter_map(|c| {
            let author = &c["author"];
            Some(PrCommit {
                sha: c["commitId"].as_str()?.to_owned(),
                author: author["email"].as_str().or_else(|| author["name"].as_str())?.to_owned(),
                authored_at: time(author, "date")?,
            })
        })
        .collect();
    Some(PullRequest {
        id: format!("azure:pr:{repo}#{number}"),
        repo: repo.to_owned(),
        number,
        author: who(&item["createdBy"]).unwrap_or_else(|| "ghost".to_owned()),
        created_at,
        ready_at: None,
        draft: item["isDraft"] == true,
        merged_at,
        closed_at: if matches!(status, "completed" | "abandoned") { closed } else { None },
        merge_commit: merged_at.and(item["lastMergeCommit"]["commitId"].as_str().map(str::to_owned)),
        additions: 0,
        deletions: 0,
        size_unknown: true,
        commits,
        activities,
        updated_at: closed.or(Some(created_at)),
    })
}

/// A finished build as a deployment event (`finished_at` may come from
/// the deploying record of its timeline).
fn build_event(source: &str, repo: &str, service: &str, build: &Value, finished_at: i64) -> Option<DeploymentEvent> {
    let status = match build["result"].as_str()? {
        "succeeded" => "success",
        "failed" | "partiallySucceeded" => "failure",
        _ => "canceled",
    };
    Some(DeploymentEvent {
        source: source.to_owned(),
        external_id: format!("build-{}", build["id"].as_u64()?),
        repo: Some(repo.to_owned()),
        service: service.to_owned(),
        environment: "production".to_owned(),
        commit: build["sourceVersion"].as_str()?.to_owned(),
        finished_at,
        status: status.to_owned(),
        name: build["definition"]["name"]
            .as_str()
            .map(|n| format!("{n} {}", build["buildNumber"].as_str().unwrap_or(""))),
        commits: None,
    })
}

/// Syncs one Azure DevOps repository.
pub fn sync(
    store: &mut Store,
    source: &SourceFile,
    context: &SyncContext<'_>,
    progress: &mut Progress,
) -> anyhow::Result<SourceSummary> {
    let base = source.base_url.as_deref().unwrap_or("https://dev.azure.com").trim_end_matches('/').to_owned();
    let repo = source.repo.trim_matches('/');
    let parts: Vec<&str> = repo.split('/').collect();
    let [organization, project, repository] = parts[..] else {
        return Err(SourceError(format!("azure {repo}: expected organization/project/repository")).into());
    };
    let name = format!("azure:{repo}");
    let service = source.service.clone().unwrap_or_else(|| repository.to_owned());
    let client = crate::sources::connector::client(source, &base, Auth::Basic, "AZURE_DEVOPS_TOKEN", context.clock)?
        .with_user(Some(String::new()));
    let project_root = format!("{base}/{}/{}/_apis", encode(organization), encode(project));
    let root = format!("{project_root}/git/repositories/{}", encode(repository));
    let session = Session::new(client, progress);
    let mut summary = SourceSummary { source: name.clone(), ..SourceSummary::default() };
    let values = |body: &Value| body["value"].as_array().cloned().unwrap_or_default();

    // Pull requests: the whole listing; details for what may have changed.
    session.stage(format!("{name}: pull requests"));
    let last_sync = store.cursor(&name, "pulls")?.and_then(|c| fulcrum_core::time::parse_rfc3339(&c));
    let since = source.since.as_deref().and_then(|s| crate::sources::connector::since_time(s, context.now));
    let (mut skip, mut pages) = (0, 0);
    let max_pages = source.max_pages.unwrap_or(crate::sources::http::DEFAULT_MAX_PAGES);
    loop {
        pages += 1;
        if pages > max_pages {
            return Err(SourceError(format!(
                "{name}: more than {max_pages} pages of pull requests; raise max_pages if that is right"
            ))
            .into());
        }
        let url = format!("{root}/pullrequests?searchCriteria.status=all&%24top={TOP}&%24skip={skip}&api-version=7.1");
        let page = values(&session.get_one(&url)?);
        skip += page.len();
        let wanted: Vec<Value> = page
            .iter()
            .filter(|pr| {
                let created = time(pr, "creationDate");
                let closed = time(pr, "closedDate");
                if since.is_some_and(|s| closed.or(created).is_some_and(|t| t < s)) {
                    return false;
                }
                match last_sync {
                    None => true,
                    Some(at) => {
                        pr["status"] == "active" || created.is_some_and(|t| t >= at) || closed.is_some_and(|t| t >= at)
                    }
                }
            })
            .cloned()
            .collect();
        let fetched = session.fetch_each(&wanted, source.concurrency.unwrap_or(4), &|pr: &Value| {
            let number = pr["pullRequestId"].as_u64().unwrap_or_default();
            let at = format!("{root}/pullRequests/{number}");
            // Every page (a continuation token beyond the first).
            let none = |_: &Value, _: &str| None;
            let commits = session.get_all_linked(&format!("{at}/commits?api-version=7.1"), &none)?;
            let threads = session.get_all_linked(&format!("{at}/threads?api-version=7.1"), &none)?;
            Ok::<_, HttpError>((commits, threads))
        })?;
        let mut batch = EventBatch::default();
        for (pr, (commits, threads)) in wanted.iter().zip(fetched) {
            match pull_request(repo, pr, &commits, &threads) {
                Some(parsed) => {
                    let label = PrLabel { title: pr["title"].as_str().map(str::to_owned), url: None };
                    batch.pull_requests.push((parsed, name.clone(), Some(pr.to_string()), label));
                }
                None => summary.skipped += 1,
            }
        }
        summary.pull_requests += batch.pull_requests.len();
        store.write_events(&batch, &[])?;
        if page.len() < TOP {
            break;
        }
    }

    // Builds finished since the newest seen, deploying by name or timeline.
    session.stage(format!("{name}: builds"));
    // The build listing filters by the repository's id, not its name.
    let repository_id = session.get_one(&format!("{root}?api-version=7.1"))?["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| SourceError(format!("{name}: the repository's answer has no id; is base_url Azure DevOps?")))?;
    let builds_cursor = store.cursor(&name, "builds")?;
    let min_time = builds_cursor.as_deref().map(|c| format!("&minTime={}", encode(c))).unwrap_or_default();
    let url = format!(
        "{project_root}/build/builds?repositoryId={}&repositoryType=TfsGit&statusFilter=completed\
         &queryOrder=finishTimeDescending&%24top={TOP}{min_time}&api-version=7.1",
        encode(&repository_id)
    );
    let ci = &context.config.ci_regex;
    let mut newest = builds_cursor.as_deref().and_then(fulcrum_core::time::parse_rfc3339);
    session.each_page_linked(&url, &|_, _| None, &mut |body| -> anyhow::Result<()> {
        let mut batch = EventBatch::default();
        for build in values(&body) {
            let Some(finished) = time(&build, "finishTime").filter(|_| build["status"] == "completed") else {
                continue;
            };
            newest = newest.max(Some(finished));
            let by_name = build["definition"]["name"].as_str().is_some_and(|n| ci.is_match(n));
            let finished_at = if by_name {
                Some(finished)
            } else if build["result"] == "succeeded" {
                let id = build["id"].as_u64().unwrap_or_default();
                let timeline =
                    session.get_one(&format!("{project_root}/build/builds/{id}/timeline?api-version=7.1"))?;
                timeline["records"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|r| matches!(r["type"].as_str(), Some("Stage" | "Job" | "Phase")))
                    .filter(|r| r["state"] == "completed" && r["result"] == "succeeded")
                    .filter(|r| r["name"].as_str().is_some_and(|n| ci.is_match(n)))
                    .filter_map(|r| time(r, "finishTime"))
                    .max()
            } else {
                None
            };
            if let Some(at) = finished_at {
                batch.deployments.extend(
                    build_event(&name, repo, &service, &build, at).map(|event| (event, Some(build.to_string()))),
                );
            }
        }
        summary.deployments += batch.deployments.len();
        store.write_events(&batch, &[])?;
        Ok(())
    })?;
    let now = fulcrum_core::time::format_datetime(context.now);
    let reached = newest.map(fulcrum_core::time::format_datetime);
    let mut cursors = cursor_update(&name, "pulls", Some(&now));
    cursors.extend(cursor_update(&name, "builds", reached.as_deref()));
    store.write_events(&EventBatch::default(), &cursors)?;
    session.finish(&mut summary);
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn votes_are_dated_by_their_thread_else_at_the_close() {
        let item = json!({
            "pullRequestId": 1, "status": "completed", "creationDate": "2023-02-07T04:41:26.6424314Z",
            "closedDate": "2023-02-08T10:00:00Z", "createdBy": {"uniqueName": "john@example.com"},
            "lastMergeCommit": {"commitId": "ebc6"},
            "reviewers": [{"uniqueName": "ann@example.com", "vote": 10}, {"uniqueName": "bob@example.com", "vote": -5},
                          {"uniqueName": "eve@example.com", "vote": 0}]
        });
        let threads = [
            json!({"properties": {"CodeReviewThreadType": {"$type": "System.String", "$value": "VoteUpdate"}},
                   "comments": [{"author": {"uniqueName": "ann@example.com"}, "publishedDate": "2023-02-07T09:00:00Z",
                                 "commentType": "system"}]}),
            json!({"threadContext": {"filePath": "/main.java"},
                   "comments": [{"author": {"uniqueName": "bob@example.com"}, "publishedDate": "2023-02-07T08:00:00Z",
                                 "commentType": "text"}]}),
        ];
        let pr = pull_request("o/p/r", &item, &[], &threads).unwrap();
        let seen: Vec<(&str, ActivityKind)> = pr.activities.iter().map(|a| (&*a.author, a.kind)).collect();
        assert_eq!(
            seen,
            [
                ("bob@example.com", ActivityKind::ReviewComment),
                ("ann@example.com", ActivityKind::Review),
                ("bob@example.com", ActivityKind::Review)
            ]
        );
        assert_eq!(pr.merge_commit.as_deref(), Some("ebc6"));
        assert_eq!(pr.merged_at, fulcrum_core::time::parse_rfc3339("2023-02-08T10:00:00Z"));
    }
}
