//! CI servers as sources of deployments: Jenkins builds and CircleCI
//! workflows whose name (or the name of a stage or job inside them)
//! matches `deploy.ci_pattern`, with the commit they built.
//!
//! Jenkins (`kind = "jenkins"`, `base_url` = the server, `repo` = the job's
//! path, folders included: `team/deploy-shop`; `user` with an API token in
//! `JENKINS_TOKEN`, basic authentication): `api/json?tree=allBuilds[…]{M,N}`,
//! 100 builds a request, newest first, down to the newest build finished at
//! the last sync (a build still running then is read again). A job whose
//! name matches counts every build; otherwise a pipeline build counts when
//! a stage of its `wfapi/describe` matches, at that stage's end. The commit
//! is the git plugin's `lastBuiltRevision`; builds without one are left out
//! and counted.
//!
//! CircleCI (`kind = "circleci"`, `repo` = the project slug, `gh/org/repo`;
//! a personal API token in `CIRCLECI_TOKEN` as `Circle-Token`):
//! `/project/{slug}/pipeline` newest first (`next_page_token`), each new
//! pipeline's workflows, and a successful workflow's jobs when the
//! workflow's own name does not match.

use serde_json::Value;

use crate::config::SourceFile;
use crate::progress::Progress;
use crate::sources::connector::{Session, SourceError, SourceSummary, cursor_update, encode, time};
use crate::sources::github::SyncContext;
use crate::sources::http::Auth;
use crate::store::{DeploymentEvent, EventBatch, Store};

/// Builds asked for per request.
const PAGE: usize = 100;

/// The commit a Jenkins build built (the git plugin's `BuildData`).
fn jenkins_commit(build: &Value) -> Option<String> {
    build["actions"].as_array()?.iter().find_map(|a| a["lastBuiltRevision"]["SHA1"].as_str()).map(str::to_owned)
}

/// A Jenkins result as a deployment status; `None` while it runs or when
/// it never built.
fn jenkins_status(result: &Value) -> Option<&'static str> {
    match result.as_str()? {
        "SUCCESS" => Some("success"),
        "FAILURE" | "UNSTABLE" => Some("failure"),
        "ABORTED" => Some("canceled"),
        _ => None,
    }
}

/// A deployment event of a CI source.
struct Deploy<'a> {
    source: &'a str,
    service: &'a str,
    id: String,
    commit: String,
    finished_at: i64,
    status: &'a str,
    name: String,
}

impl Deploy<'_> {
    fn event(self, raw: &Value) -> (DeploymentEvent, Option<String>) {
        let event = DeploymentEvent {
            source: self.source.to_owned(),
            external_id: self.id,
            repo: None,
            service: self.service.to_owned(),
            environment: "production".to_owned(),
            commit: self.commit,
            finished_at: self.finished_at,
            status: self.status.to_owned(),
            name: Some(self.name),
            commits: None,
        };
        (event, Some(raw.to_string()))
    }
}

/// Syncs a Jenkins job's builds.
pub fn sync_jenkins(
    store: &mut Store,
    source: &SourceFile,
    context: &SyncContext<'_>,
    progress: &mut Progress,
) -> anyhow::Result<SourceSummary> {
    let base = source.base_url.as_deref().unwrap_or_default().trim_end_matches('/').to_owned();
    let job = source.repo.trim_matches('/');
    let name = format!("jenkins:{job}");
    let leaf = job.rsplit('/').next().unwrap_or(job);
    let service = source.service.clone().unwrap_or_else(|| leaf.to_owned());
    let client = crate::sources::connector::client(source, &base, Auth::Basic, "JENKINS_TOKEN", context.clock)?
        .with_user(source.user.clone());
    let session = Session::new(client, progress);
    session.stage(format!("{name}: builds"));
    let root = format!("{base}/{}", job.split('/').map(|p| format!("job/{}", encode(p))).collect::<Vec<_>>().join("/"));
    let ci = &context.config.ci_regex;
    let whole_job = ci.is_match(leaf);
    let cursor = store.cursor(&name, "builds")?.and_then(|c| c.parse::<u64>().ok());
    let mut summary = SourceSummary { source: name.clone(), ..SourceSummary::default() };
    let tree = "allBuilds[number,timestamp,duration,result,building,fullDisplayName,_class,\
                actions[lastBuiltRevision[SHA1]]]";
    let (mut from, mut newest, mut oldest_running) = (0, cursor, None::<u64>);
    let max_pages = source.max_pages.unwrap_or(crate::sources::http::DEFAULT_MAX_PAGES);
    'pages: for page in 1.. {
        if page > max_pages {
            return Err(SourceError(format!("{name}: more than {max_pages} pages of builds; raise max_pages")).into());
        }
        let url = format!("{root}/api/json?tree={}", encode(&format!("{tree}{{{from},{}}}", from + PAGE)));
        let body = session.get_one(&url)?;
        let Some(builds) = body["allBuilds"].as_array() else {
            return Err(SourceError(format!("{name}: the answer has no `allBuilds`; is repo the job's path?")).into());
        };
        let mut batch = EventBatch::default();
        let mut reached_cursor = false;
        for build in builds {
            let Some(number) = build["number"].as_u64() else { continue };
            if cursor.is_some_and(|c| number <= c) {
                reached_cursor = true;
                break;
            }
            newest = newest.max(Some(number));
            if build["building"] == true || build["result"].is_null() {
                oldest_running = Some(oldest_running.map_or(number, |o| o.min(number)));
                continue;
            }
            let Some(status) = jenkins_status(&build["result"]) else { continue };
            let Some(start_ms) = build["timestamp"].as_i64() else { continue };
            let finished_at = if whole_job {
                Some((start_ms + build["duration"].as_i64().unwrap_or(0)) / 1000)
            } else if build["_class"].as_str().is_some_and(|c| c.ends_with("WorkflowRun")) && status == "success" {
                let described = session.get_one(&format!("{root}/{number}/wfapi/describe"))?;
                described["stages"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|s| s["status"] == "SUCCESS" && s["name"].as_str().is_some_and(|n| ci.is_match(n)))
                    .filter_map(|s| Some((s["startTimeMillis"].as_i64()? + s["durationMillis"].as_i64()?) / 1000))
                    .max()
            } else {
                None
            };
            let Some(finished_at) = finished_at else { continue };
            let Some(commit) = jenkins_commit(build) else {
                summary.skipped += 1;
                continue;
            };
            let display = build["fullDisplayName"].as_str().map_or_else(|| format!("{leaf} #{number}"), str::to_owned);
            let deploy = Deploy {
                source: &name,
                service: &service,
                id: format!("build-{number}"),
                commit,
                finished_at,
                status,
                name: display,
            };
            batch.deployments.push(deploy.event(build));
        }
        summary.deployments += batch.deployments.len();
        store.write_events(&batch, &[])?;
        if reached_cursor || builds.len() < PAGE {
            break 'pages;
        }
        from += PAGE;
    }
    let reached = oldest_running.map(|n| n - 1).or(newest).map(|n| n.to_string());
    store.write_events(&EventBatch::default(), &cursor_update(&name, "builds", reached.as_deref()))?;
    session.finish(&mut summary);
    Ok(summary)
}

/// Every item of a CircleCI listing, following `next_page_token`.
fn all_items(session: &Session<'_>, url: &str) -> Result<Vec<Value>, crate::sources::http::HttpError> {
    let first = url.to_owned();
    let next = move |body: &Value, _: &str| -> Option<String> {
        body["next_page_token"].as_str().map(|t| format!("{first}?page-token={}", encode(t)))
    };
    let mut items = Vec::new();
    session.each_page_linked(url, &next, &mut |mut body: Value| -> Result<(), crate::sources::http::HttpError> {
        if let Some(Value::Array(page)) = body.get_mut("items").map(Value::take) {
            items.extend(page);
        }
        Ok(())
    })?;
    Ok(items)
}

/// Syncs a CircleCI project's workflows.
pub fn sync_circleci(
    store: &mut Store,
    source: &SourceFile,
    context: &SyncContext<'_>,
    progress: &mut Progress,
) -> anyhow::Result<SourceSummary> {
    let base = source.base_url.as_deref().unwrap_or("https://circleci.com/api/v2").trim_end_matches('/').to_owned();
    let slug = source.repo.trim_matches('/');
    let name = format!("circleci:{slug}");
    let service = source.service.clone().unwrap_or_else(|| slug.rsplit('/').next().unwrap_or(slug).to_owned());
    let client = crate::sources::connector::client(
        source,
        &base,
        Auth::Header("Circle-Token"),
        "CIRCLECI_TOKEN",
        context.clock,
    )?;
    let session = Session::new(client, progress);
    session.stage(format!("{name}: pipelines"));
    let ci = &context.config.ci_regex;
    let cursor = store.cursor(&name, "pipelines")?.and_then(|c| fulcrum_core::time::parse_rfc3339(&c));
    let mut summary = SourceSummary { source: name.clone(), ..SourceSummary::default() };
    let (mut newest, mut oldest_running) = (cursor, None::<i64>);
    let path: String = slug.split('/').map(encode).collect::<Vec<_>>().join("/");
    let first = format!("{base}/project/{path}/pipeline");
    let next = |body: &Value, _: &str| -> Option<String> {
        let last = body["items"].as_array().and_then(|i| i.last()).and_then(|p| time(p, "created_at"));
        if cursor.is_some_and(|c| last.is_some_and(|l| l < c)) {
            return None;
        }
        body["next_page_token"].as_str().map(|t| format!("{first}?page-token={}", encode(t)))
    };
    session.each_page_linked(&first, &next, &mut |body| -> anyhow::Result<()> {
        let mut batch = EventBatch::default();
        for pipeline in body["items"].as_array().into_iter().flatten() {
            let (Some(id), Some(created)) = (pipeline["id"].as_str(), time(pipeline, "created_at")) else {
                summary.skipped += 1;
                continue;
            };
            if cursor.is_some_and(|c| created < c) {
                break;
            }
            newest = newest.max(Some(created));
            let commit = pipeline["vcs"]["revision"]
                .as_str()
                .or_else(|| pipeline["trigger_parameters"]["git"]["checkout_sha"].as_str())
                .map(str::to_owned);
            let workflows = all_items(&session, &format!("{base}/pipeline/{}/workflow", encode(id)))?;
            // Being set up (within a day, not errored): its workflows come
            // later. An errored pipeline, or one that never got any, must
            // not hold the cursor back for ever.
            if workflows.is_empty() && pipeline["state"] != "errored" && context.now - created < 86_400 {
                oldest_running = Some(oldest_running.map_or(created, |o| o.min(created)));
            }
            for workflow in &workflows {
                let status = match workflow["status"].as_str() {
                    Some("success") => "success",
                    Some("failed" | "error") => "failure",
                    Some("canceled" | "not_run" | "unauthorized") => "canceled",
                    // `failing` and `on_hold` still run: read again next time.
                    _ => {
                        // Running or on hold: read again next time.
                        oldest_running = Some(oldest_running.map_or(created, |o| o.min(created)));
                        continue;
                    }
                };
                let Some(workflow_id) = workflow["id"].as_str() else { continue };
                let label = workflow["name"].as_str().unwrap_or("workflow");
                let finished_at = if ci.is_match(label) {
                    time(workflow, "stopped_at")
                } else if status == "success" {
                    let jobs = all_items(&session, &format!("{base}/workflow/{}/job", encode(workflow_id)))?;
                    jobs.iter()
                        .filter(|j| j["status"] == "success" && j["name"].as_str().is_some_and(|n| ci.is_match(n)))
                        .filter_map(|j| time(j, "stopped_at"))
                        .max()
                } else {
                    None
                };
                let Some(finished_at) = finished_at else { continue };
                let Some(commit) = commit.clone() else {
                    summary.skipped += 1;
                    continue;
                };
                let number = pipeline["number"].as_u64().map(|n| format!(" #{n}")).unwrap_or_default();
                let deploy = Deploy {
                    source: &name,
                    service: &service,
                    id: format!("workflow-{workflow_id}"),
                    commit,
                    finished_at,
                    status,
                    name: format!("{label}{number}"),
                };
                batch.deployments.push(deploy.event(workflow));
            }
        }
        summary.deployments += batch.deployments.len();
        store.write_events(&batch, &[])?;
        Ok(())
    })?;
    let reached = oldest_running.or(newest).map(fulcrum_core::time::format_datetime);
    store.write_events(&EventBatch::default(), &cursor_update(&name, "pipelines", reached.as_deref()))?;
    session.finish(&mut summary);
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn jenkins_results_and_revisions() {
        assert_eq!(jenkins_status(&json!("UNSTABLE")), Some("failure"));
        assert_eq!(jenkins_status(&json!("NOT_BUILT")), None);
        assert_eq!(jenkins_status(&Value::Null), None);
        let build = json!({"actions": [{"causes": []}, {"lastBuiltRevision": {"SHA1": "0f88"}}, {}]});
        assert_eq!(jenkins_commit(&build).as_deref(), Some("0f88"));
        assert_eq!(jenkins_commit(&json!({"actions": [{}]})), None);
    }
}
