//! Apache DevLake's webhook payloads, so a team moving from DevLake only
//! changes the host name of its CI and incident scripts: a deployment with
//! its commits, an issue (an incident when its `type` is `INCIDENT`), and
//! the close-issue call. Shapes from DevLake's webhook plugin
//! (`backend/plugins/webhook/api/deployments.go`, `issues.go`); fields
//! fulcrum has no use for are accepted and ignored, as DevLake does.
//!
//! Items are stored under the source `devlake:CONNECTION`. A deployment's
//! service is its first commit's repository name (the last part of
//! `repoUrl`), as a git repository's service is its directory name; an
//! incident's is its `component`, else the `service` query parameter.

use fulcrum_core::time::parse_rfc3339;
use serde::Deserialize;

use crate::store::{DeploymentEvent, EventBatch, IncidentEvent};

/// A deployment as DevLake's webhook takes it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    id: String,
    #[serde(default)]
    display_title: Option<String>,
    #[serde(default)]
    result: Option<String>,
    #[serde(default)]
    environment: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    started_date: Option<String>,
    #[serde(default)]
    finished_date: Option<String>,
    #[serde(default)]
    deployment_commits: Vec<DeploymentCommit>,
}

/// One commit of a DevLake deployment.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentCommit {
    repo_url: String,
    commit_sha: String,
}

/// An issue as DevLake's webhook takes it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Issue {
    issue_key: String,
    title: String,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    status: Option<String>,
    created_date: String,
    #[serde(default)]
    resolution_date: Option<String>,
    #[serde(default)]
    updated_date: Option<String>,
    #[serde(default)]
    component: Option<String>,
}

/// `owner/name` and `name` of a repository URL (`https://host/owner/name.git`).
fn repository(url: &str) -> (String, String) {
    let path = url.split_once("://").map_or(url, |(_, rest)| rest.split_once('/').map_or("", |(_, p)| p));
    let path = path.trim_matches('/').trim_end_matches(".git");
    let name = path.rsplit('/').next().unwrap_or(path).to_owned();
    (path.to_owned(), name)
}

fn time(field: &str, value: Option<&str>) -> Result<i64, String> {
    let value = value.ok_or_else(|| format!("`{field}` is required"))?;
    parse_rfc3339(value).ok_or_else(|| format!("`{field}` is `{value}`, not an RFC 3339 time"))
}

/// The deployment event of a DevLake deployment.
pub fn deployment(source: &str, body: &[u8]) -> Result<EventBatch, String> {
    let d: Deployment = serde_json::from_slice(body).map_err(|e| format!("not a DevLake deployment: {e}"))?;
    let first = d.deployment_commits.first().ok_or("`deploymentCommits` is empty")?;
    // DevLake requires both dates; a finish before the start is a data error.
    let started = time("startedDate", d.started_date.as_deref())?;
    let finished = time("finishedDate", d.finished_date.as_deref())?;
    if finished < started {
        return Err("`finishedDate` is before `startedDate`".to_owned());
    }
    let (repo, service) = repository(&first.repo_url);
    let mut commits: Vec<String> = Vec::new();
    for c in &d.deployment_commits {
        if !commits.contains(&c.commit_sha) {
            commits.push(c.commit_sha.clone());
        }
    }
    let event = DeploymentEvent {
        source: source.to_owned(),
        external_id: d.id,
        repo: Some(repo),
        service,
        environment: d.environment.unwrap_or_else(|| "PRODUCTION".to_owned()).to_lowercase(),
        commit: first.commit_sha.clone(),
        finished_at: finished,
        status: d.result.unwrap_or_else(|| "SUCCESS".to_owned()).to_lowercase(),
        name: d.name.or(d.display_title),
        commits: Some(commits.into_iter().collect()),
    };
    Ok(EventBatch {
        deployments: vec![(event, Some(String::from_utf8_lossy(body).into_owned()))],
        ..Default::default()
    })
}

/// The incident of a DevLake issue of type `INCIDENT` (other issues are not
/// fulcrum's business: an empty batch).
pub fn issue(source: &str, service: Option<&str>, body: &[u8]) -> Result<EventBatch, String> {
    let issue: Issue = serde_json::from_slice(body).map_err(|e| format!("not a DevLake issue: {e}"))?;
    if !issue.kind.as_deref().is_some_and(|k| k.eq_ignore_ascii_case("INCIDENT")) {
        return Ok(EventBatch::default());
    }
    let started_at = time("createdDate", Some(&issue.created_date))?;
    let done = issue.status.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("DONE"));
    let resolved_at = match (issue.resolution_date.as_deref(), done) {
        (Some(at), _) => Some(time("resolutionDate", Some(at))?),
        (None, true) => issue.updated_date.as_deref().and_then(parse_rfc3339),
        (None, false) => None,
    };
    let service = issue
        .component
        .filter(|c| !c.trim().is_empty())
        .or_else(|| service.map(str::to_owned))
        .ok_or("an incident needs a `component` naming its service, or ?service=NAME")?;
    let event = IncidentEvent {
        source: source.to_owned(),
        external_id: issue.issue_key,
        service,
        title: Some(issue.title),
        started_at,
        resolved_at: resolved_at.map(|r| r.max(started_at)),
        deployment: None,
        commit: None,
        pull_request: None,
    };
    Ok(EventBatch { incidents: vec![(event, Some(String::from_utf8_lossy(body).into_owned()))], ..Default::default() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repositories_from_urls() {
        assert_eq!(repository("https://github.com/acme/shop.git"), ("acme/shop".into(), "shop".into()));
        assert_eq!(repository("https://gitlab.example/group/sub/api"), ("group/sub/api".into(), "api".into()));
    }
}
