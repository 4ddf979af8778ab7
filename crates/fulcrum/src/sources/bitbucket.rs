//! Bitbucket Cloud (API 2.0): pull requests with their commits, comments
//! and approvals, deployments, and pipelines standing in for deployments
//! when the repository records none.
//!
//! Pages are `{"values": [...], "next": URL}`. Pull requests are listed
//! least recently updated first from the cursor (`q=updated_on>=…`); each
//! costs two more requests, its commits and its activity (approvals,
//! comments, state changes, which give the merge time), and a third when
//! the listing gives the merge commit as a short hash (the full hash is
//! asked for, so it matches the git history). The diff size is not asked
//! for (one more request per pull request): sizes are unknown, counted
//! apart by `flow`.
//!
//! Authentication: `BITBUCKET_TOKEN` as a bearer token (a repository,
//! project or workspace access token), or with `user` set, an app password
//! with basic authentication.

use std::collections::HashSet;

use fulcrum_core::flow::{ActivityKind, PrCommit, PullRequest, ReviewActivity};
use serde_json::Value;

use crate::config::SourceFile;
use crate::progress::Progress;
use crate::sources::connector::{
    Names, PullBatches, Session, SourceSummary, cursor_update, encode, fresh_items, store_pull_requests, time,
};
use crate::sources::github::SyncContext;
use crate::sources::http::{Auth, HttpError};
use crate::store::{DeploymentEvent, EventBatch, Store};

/// Pull requests per transaction.
const BATCH: usize = 50;

/// The next page of a Bitbucket listing.
fn next(body: &Value, _: &str) -> Option<String> {
    body["next"].as_str().map(str::to_owned)
}

/// A listed pull request with the field names the shared helpers read
/// (`number`, `created_at`, `updated_at`, `html_url`).
fn normalized(mut pr: Value) -> Value {
    if let Some(map) = pr.as_object_mut() {
        let copy = |map: &mut serde_json::Map<String, Value>, from: &str, to: &str| {
            if let Some(value) = map.get(from).cloned() {
                map.insert(to.to_owned(), value);
            }
        };
        copy(map, "id", "number");
        copy(map, "created_on", "created_at");
        copy(map, "updated_on", "updated_at");
        let html = map.get("links").and_then(|l| l["html"]["href"].as_str()).map(str::to_owned);
        if let Some(html) = html {
            map.insert("html_url".to_owned(), Value::from(html));
        }
    }
    pr
}

/// Who a Bitbucket user is, for fulcrum: the nickname, else the display
/// name, else the account id.
fn who(user: &Value) -> Option<String> {
    ["nickname", "display_name", "account_id"].iter().find_map(|k| user[*k].as_str()).map(str::to_owned)
}

/// Whether `text` is a hexadecimal commit id shorter than a full one.
fn is_short_hash(text: &str) -> bool {
    (4..40).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A pull request from its listing, its commits and its activity.
pub fn pull_request(repo: &str, item: &Value, commits: &[Value], activity: &[Value]) -> PullRequest {
    let number = item["id"].as_u64().unwrap_or_default();
    let author = who(&item["author"]).unwrap_or_else(|| "ghost".to_owned());
    let commits: Vec<PrCommit> = commits
        .iter()
        .filter_map(|c| {
            let raw = c["author"]["raw"].as_str().unwrap_or("");
            let name = raw.split(" <").next().unwrap_or(raw).trim();
            let author = c["author"]["user"]["nickname"].as_str().unwrap_or(name);
            Some(PrCommit {
                sha: c["hash"].as_str()?.to_owned(),
                author: author.to_owned(),
                authored_at: time(c, "date")?,
            })
        })
        .collect();
    let (mut activities, mut merged_at, mut closed_at) = (Vec::new(), None, None);
    let mut seen = HashSet::new();
    for entry in activity {
        if let Some(approval) = entry.get("approval") {
            if let (Some(user), Some(at)) = (who(&approval["user"]), time(approval, "date"))
                && seen.insert(("approval", user.clone(), at))
            {
                activities.push(ReviewActivity { author: user.into(), at, kind: ActivityKind::Review });
            }
        } else if let Some(changes) = entry.get("changes_requested") {
            if let (Some(user), Some(at)) = (who(&changes["user"]), time(changes, "date"))
                && seen.insert(("changes", user.clone(), at))
            {
                activities.push(ReviewActivity { author: user.into(), at, kind: ActivityKind::Review });
            }
        } else if let Some(comment) = entry.get("comment") {
            if comment["deleted"] == true {
                continue;
            }
            let Some(id) = comment["id"].as_u64() else { continue };
            if let (Some(user), Some(at)) = (who(&comment["user"]), time(comment, "created_on"))
                && seen.insert(("comment", id.to_string(), 0))
            {
                let inline = comment["inline"].is_object();
                let kind = if inline { ActivityKind::ReviewComment } else { ActivityKind::Comment };
                activities.push(ReviewActivity { author: user.into(), at, kind });
            }
        } else if let Some(update) = entry.get("update") {
            let at = time(update, "date");
            match update["state"].as_str() {
                Some("MERGED") => merged_at = merged_at.max(at),
                Some("DECLINED" | "SUPERSEDED") => closed_at = closed_at.max(at),
                _ => {}
            }
        }
    }
    let state = item["state"].as_str().unwrap_or("");
    let updated = time(item, "updated_on");
    let merged_at = (state == "MERGED").then(|| merged_at.or(updated)).flatten();
    let closed_at = match state {
        "MERGED" => merged_at,
        "DECLINED" | "SUPERSEDED" => closed_at.or(updated),
        _ => None,
    };
    activities.sort_by_key(|a| a.at);
    PullRequest {
        id: format!("bitbucket:pr:{repo}#{number}"),
        repo: repo.to_owned(),
        number,
        author,
        created_at: time(item, "created_on").unwrap_or_default(),
        ready_at: None,
        draft: item["draft"] == true,
        merged_at,
        closed_at,
        merge_commit: merged_at.and(item["merge_commit"]["hash"].as_str().map(str::to_owned)),
        additions: 0,
        deletions: 0,
        size_unknown: true,
        commits,
        activities,
        updated_at: updated,
    }
}

/// A deployment as a deployment event; `None` while it runs.
pub fn deployment(names: &Names<'_>, d: &Value) -> Option<(DeploymentEvent, Option<String>)> {
    let id = d["uuid"].as_str()?;
    let state = &d["state"];
    let status = match (state["name"].as_str()?, state["status"]["name"].as_str()) {
        ("COMPLETED", None | Some("SUCCESSFUL")) | ("SUCCESSFUL" | "UNDEPLOYED", _) => "success",
        ("COMPLETED", Some("FAILED")) | ("FAILED" | "ERROR", _) => "failure",
        ("COMPLETED", Some(_)) | ("STOPPED" | "CANCELLED", _) => "canceled",
        ("ROLLED_BACK", _) => "rolled_back",
        _ => return None,
    };
    let finished_at = time(state, "completed_on").or_else(|| time(d, "last_update_time"))?;
    let environment = &d["environment"];
    let environment = if environment["environment_type"]["name"] == "Production" {
        "production".to_owned()
    } else {
        environment["name"].as_str().unwrap_or("unknown").to_lowercase()
    };
    let event = DeploymentEvent {
        source: names.name.clone(),
        external_id: id.to_owned(),
        repo: Some(names.repo.to_owned()),
        service: names.service.clone(),
        environment,
        commit: d["release"]["commit"]["hash"].as_str()?.to_owned(),
        finished_at,
        status: status.to_owned(),
        name: d["release"]["name"].as_str().map(str::to_owned),
        commits: None,
    };
    Some((event, Some(d.to_string())))
}

/// A finished pipeline as a deployment event, when it deploys: it ran on
/// one of `refs`, or its custom selector matches `deploy.ci_pattern`.
pub fn pipeline(
    names: &Names<'_>,
    p: &Value,
    refs: &[String],
    ci: &regex::Regex,
) -> Option<(DeploymentEvent, Option<String>)> {
    let id = p["uuid"].as_str()?;
    let target = &p["target"];
    let on_ref = target["ref_name"].as_str().is_some_and(|r| refs.iter().any(|x| x == r));
    let custom = target["selector"]["type"] == "custom"
        && target["selector"]["pattern"].as_str().is_some_and(|pattern| ci.is_match(pattern));
    if !on_ref && !custom {
        return None;
    }
    // The result of a completed pipeline (some answers put it in the state's name).
    let result = p["state"]["result"]["name"].as_str().or_else(|| p["state"]["name"].as_str());
    let status = match result? {
        "SUCCESSFUL" | "PASSED" => "success",
        "FAILED" | "ERROR" => "failure",
        "STOPPED" | "EXPIRED" => "canceled",
        _ => return None,
    };
    let event = DeploymentEvent {
        source: names.name.clone(),
        external_id: format!("pipeline-{id}"),
        repo: Some(names.repo.to_owned()),
        service: names.service.clone(),
        environment: "production".to_owned(),
        commit: target["commit"]["hash"].as_str()?.to_owned(),
        finished_at: time(p, "completed_on")?,
        status: status.to_owned(),
        name: p["build_number"].as_u64().map(|n| format!("#{n}")),
        commits: None,
    };
    Some((event, Some(p.to_string())))
}

/// Syncs one Bitbucket Cloud repository.
pub fn sync(
    store: &mut Store,
    source: &SourceFile,
    context: &SyncContext<'_>,
    progress: &mut Progress,
) -> anyhow::Result<SourceSummary> {
    let names = Names::of(source, "bitbucket", "https://api.bitbucket.org/2.0");
    let (repo, name) = (names.repo, names.name.clone());
    let auth = if source.user.is_some() { Auth::Basic } else { Auth::Bearer };
    let client = crate::sources::connector::client(source, &names.base, auth, "BITBUCKET_TOKEN", context.clock)?
        .with_user(source.user.clone());
    let (workspace, slug) = repo.split_once('/').unwrap_or((repo, ""));
    let root = format!("{}/repositories/{}/{}", names.base, encode(workspace), encode(slug));
    client.load_cache(store.http_cache_under(&root)?);
    let mut summary = SourceSummary { source: name.clone(), ..SourceSummary::default() };
    let session = Session::new(client, progress);

    session.stage(format!("{name}: listing pull requests"));
    let position = names.cursor(store, "pulls", source, context.now)?;
    let mut reached = position;
    let filter =
        position.map(|c| format!("&q={}", encode(&format!("updated_on >= {}", c.time_text())))).unwrap_or_default();
    let url = format!(
        "{root}/pullrequests?state=OPEN&state=MERGED&state=DECLINED&state=SUPERSEDED&sort=updated_on&pagelen=50{filter}"
    );
    let batches = PullBatches {
        source: &name,
        resource: "pulls",
        key: "number",
        label: "pull requests",
        workers: source.concurrency.unwrap_or(4),
        batch: BATCH,
    };
    let mut seen = std::collections::HashMap::new();
    let mut skipped = 0;
    let fetch = |item: &Value| -> Result<PullRequest, HttpError> {
        let number = item["id"].as_u64().unwrap_or_default();
        let at = format!("{root}/pullrequests/{number}");
        let commits = session.get_all_linked(&format!("{at}/commits?pagelen=100"), &next)?;
        let activity = session.get_all_linked(&format!("{at}/activity?pagelen=50"), &next)?;
        let mut pr = pull_request(repo, item, &commits, &activity);
        if let Some(short) = pr.merge_commit.clone().filter(|c| is_short_hash(c)) {
            let found = session.get_one(&format!("{root}/commit/{short}?fields=hash"))?;
            pr.merge_commit = found["hash"].as_str().map(str::to_owned).or(Some(short));
        }
        Ok(pr)
    };
    session.each_page_linked(&url, &next, &mut |body| -> anyhow::Result<()> {
        let listed: Vec<Value> = body["values"].as_array().cloned().unwrap_or_default();
        let listed = listed.into_iter().map(normalized).collect();
        let fresh = fresh_items(listed, "number", position, &mut seen, &mut skipped);
        store_pull_requests(store, &session, &batches, &fresh, &mut reached, &mut summary, &fetch)
    })?;

    // Deployments: all of them each sync (a repository has few; the
    // listing has no documented order to stop early by, and unchanged
    // pages are answered 304).
    session.stage(format!("{name}: deployments"));
    let mut any_deployment = false;
    let fields = "values.uuid,values.environment.name,values.environment.environment_type.name,values.release.name,\
                  values.release.commit.hash,values.state.name,values.state.status.name,values.state.completed_on,\
                  values.last_update_time,next";
    let url = format!("{root}/deployments/?pagelen=50&fields={}", encode(fields));
    session.each_page_linked(&url, &next, &mut |body| -> anyhow::Result<()> {
        let mut batch = EventBatch::default();
        for d in body["values"].as_array().into_iter().flatten() {
            any_deployment = true;
            match deployment(&names, d) {
                Some(event) => batch.deployments.push(event),
                // Finished, but without a time or a commit (recorded for
                // undeployed ones): nothing to place it by.
                None if !matches!(d["state"]["name"].as_str(), Some("IN_PROGRESS" | "PENDING" | "UNKNOWN")) => {
                    skipped += 1
                }
                None => {}
            }
        }
        summary.deployments += batch.deployments.len();
        store.write_events(&batch, &[])?;
        Ok(())
    })?;

    // Pipelines stand in when the repository records no deployments.
    let mut pipelines_reached = None;
    if !any_deployment {
        session.stage(format!("{name}: pipelines"));
        let refs = source.refs.clone().unwrap_or_else(|| vec!["main".to_owned(), "master".to_owned()]);
        let cursor = store.cursor(&name, "pipelines")?.and_then(|c| fulcrum_core::time::parse_rfc3339(&c));
        let (mut oldest_running, mut newest_created) = (None::<i64>, cursor);
        let url = format!("{root}/pipelines/?pagelen=50&sort=-created_on");
        let stop = |body: &Value, url: &str| -> Option<String> {
            let last = body["values"].as_array().and_then(|v| v.last()).and_then(|p| time(p, "created_on"));
            if cursor.is_some_and(|c| last.is_some_and(|l| l < c)) { None } else { next(body, url) }
        };
        session.each_page_linked(&url, &stop, &mut |body| -> anyhow::Result<()> {
            let mut batch = EventBatch::default();
            for p in body["values"].as_array().into_iter().flatten() {
                let Some(created) = time(p, "created_on") else { continue };
                if cursor.is_some_and(|c| created < c) {
                    continue;
                }
                newest_created = newest_created.max(Some(created));
                if matches!(p["state"]["name"].as_str(), Some("IN_PROGRESS" | "PENDING" | "RUNNING" | "PAUSED")) {
                    oldest_running = Some(oldest_running.map_or(created, |o| o.min(created)));
                }
                batch.deployments.extend(pipeline(&names, p, &refs, &context.config.ci_regex));
            }
            summary.deployments += batch.deployments.len();
            store.write_events(&batch, &[])?;
            Ok(())
        })?;
        pipelines_reached = oldest_running.or(newest_created).map(fulcrum_core::time::format_datetime);
    }
    store.write_events(&EventBatch::default(), &cursor_update(&name, "pipelines", pipelines_reached.as_deref()))?;
    store.cache_http(&session.client.take_fresh_cache())?;
    summary.skipped = skipped;
    session.finish(&mut summary);
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_time_from_the_activity_and_reviews_once_each() {
        let item = json!({
            "id": 7, "state": "MERGED", "author": {"nickname": "ann"},
            "created_on": "2025-01-06T09:00:00.000000+00:00", "updated_on": "2025-01-07T12:00:00.000000+00:00",
            "merge_commit": {"hash": "c0e12b61e44b"}
        });
        let approval = json!({"approval": {"date": "2025-01-06T13:00:00+00:00", "user": {"nickname": "bob"}}});
        let comment = json!({"comment": {"id": 1, "created_on": "2025-01-06T12:00:00+00:00",
                                         "user": {"display_name": "Carol"}, "inline": {"path": "a.rs"}}});
        let merged = json!({"update": {"state": "MERGED", "date": "2025-01-06T17:00:00+00:00"}});
        let commit = json!({"hash": "a1", "date": "2025-01-06T08:00:00+00:00",
                            "author": {"raw": "Ann Lee <ann@example.com>"}});
        let pr = pull_request("ws/shop", &item, &[commit], &[approval.clone(), approval, comment, merged]);
        assert_eq!(pr.merged_at, fulcrum_core::time::parse_rfc3339("2025-01-06T17:00:00Z"));
        assert_eq!(pr.merge_commit.as_deref(), Some("c0e12b61e44b"));
        assert_eq!(pr.activities.len(), 2, "{:?}", pr.activities);
        assert_eq!(pr.activities[0].kind, ActivityKind::ReviewComment);
        assert_eq!(pr.commits[0].author, "Ann Lee");
        assert!(pr.size_unknown);
        assert!(is_short_hash("c0e12b61e44b") && !is_short_hash("2b1cd7db35f3cf67d6d124e08b13272a1901707a"));
    }
}
