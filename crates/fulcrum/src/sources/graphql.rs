//! GitHub pull requests through the GraphQL API (`[[source]] api =
//! "graphql"`): one query returns 50 pull requests with their size, merge
//! commit, commits, reviews with their line comments, comments and last
//! ready-for-review event, where REST needs three requests per pull request
//! and repository-wide listings besides. A nested list longer than one
//! query holds (over 100 commits or comments, 50 reviews) is completed with
//! follow-up queries on the pull request's node.
//!
//! Order and resumption: the first sync reads oldest update first and
//! stores, with every page, both the update cursor and GraphQL's page
//! cursor (`pulls_after`), so a killed first sync resumes where it stopped.
//! Later syncs read newest update first and stop at the first pull request
//! not updated since the last sync: a sync that finds nothing new costs one
//! query.
//!
//! Rate limits: every query asks for `rateLimit { cost remaining resetAt }`;
//! when fewer points remain than two queries cost, the sync waits for the
//! reset (on the progress line). A `RATE_LIMITED` error waits the same way
//! and retries; secondary limits (403/429 with `retry-after`) are the HTTP
//! client's.

use std::collections::HashSet;

use fulcrum_core::flow::{ActivityKind, PrCommit, PullRequest, ReviewActivity};
use fulcrum_core::time::parse_rfc3339;
use serde_json::{Value, json};

use crate::config::SourceFile;
use crate::sources::connector::{Cursor, Names, Session, SourceError, SourceSummary};
use crate::sources::github::SyncContext;
use crate::store::{EventBatch, PrLabel, Store};

/// Pull requests per query.
const PAGE: usize = 50;

/// The fields of a pull request, nested lists included.
const PR_FIELDS: &str = "id number title body headRefName url createdAt updatedAt mergedAt closedAt isDraft additions deletions \
    author { login } mergeCommit { oid } \
    commits(first: 100) { pageInfo { hasNextPage endCursor } nodes { commit { oid authoredDate author { name user { login } } } } } \
    reviews(first: 50) { pageInfo { hasNextPage endCursor } nodes { id state submittedAt author { login } \
      comments(first: 100) { nodes { id createdAt author { login } } } } } \
    comments(first: 100) { pageInfo { hasNextPage endCursor } nodes { id createdAt author { login } } } \
    timelineItems(itemTypes: [READY_FOR_REVIEW_EVENT], last: 1) { nodes { ... on ReadyForReviewEvent { createdAt } } }";

/// The rate-limit fields asked for with every query.
const RATE: &str = "rateLimit { cost remaining resetAt }";

/// The query listing pull requests.
fn list_query() -> String {
    format!(
        "query PullRequests($owner: String!, $name: String!, $after: String, $direction: OrderDirection!) {{ {RATE} \
         repository(owner: $owner, name: $name) {{ pullRequests(first: {PAGE}, after: $after, \
         orderBy: {{field: UPDATED_AT, direction: $direction}}) {{ pageInfo {{ hasNextPage endCursor }} \
         nodes {{ {PR_FIELDS} }} }} }} }}"
    )
}

/// The follow-up query of one nested list of a pull request, and its
/// operation name.
fn more_query(list: &str) -> (String, String) {
    let (name, fields) = match list {
        "commits" => (
            "PullRequestCommits",
            "commits(first: 100, after: $after) { pageInfo { hasNextPage endCursor } nodes { commit { oid authoredDate author { name user { login } } } } }",
        ),
        "reviews" => (
            "PullRequestReviews",
            "reviews(first: 50, after: $after) { pageInfo { hasNextPage endCursor } nodes { id state submittedAt author { login } comments(first: 100) { nodes { id createdAt author { login } } } } }",
        ),
        _ => (
            "PullRequestComments",
            "comments(first: 100, after: $after) { pageInfo { hasNextPage endCursor } nodes { id createdAt author { login } } }",
        ),
    };
    let query = format!(
        "query {name}($id: ID!, $after: String) {{ {RATE} node(id: $id) {{ ... on PullRequest {{ {fields} }} }} }}"
    );
    (query, name.to_owned())
}

/// The GraphQL endpoint of a REST base: `https://api.github.com/graphql`,
/// or GitHub Enterprise's `https://HOST/api/graphql` for `…/api/v3`.
pub fn endpoint(base: &str) -> String {
    let base = base.trim_end_matches('/');
    match base.strip_suffix("/v3") {
        Some(api) => format!("{api}/graphql"),
        None => format!("{base}/graphql"),
    }
}

fn at(value: &Value, key: &str) -> Option<i64> {
    value[key].as_str().and_then(parse_rfc3339)
}

fn login(value: &Value) -> Option<String> {
    value["author"]["login"].as_str().map(str::to_owned)
}

/// A pull request node (its nested lists completed) as a pull request.
pub fn pull_request(repo: &str, node: &Value) -> Option<PullRequest> {
    let number = node["number"].as_u64()?;
    let created_at = at(node, "createdAt")?;
    let mut shas = HashSet::new();
    let commits = node["commits"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| {
            let commit = &c["commit"];
            let sha = commit["oid"].as_str()?;
            shas.insert(sha.to_owned()).then_some(())?;
            let author = commit["author"]["user"]["login"].as_str().or_else(|| commit["author"]["name"].as_str())?;
            Some(PrCommit { sha: sha.to_owned(), author: author.to_owned(), authored_at: at(commit, "authoredDate")? })
        })
        .collect();
    let mut ids = HashSet::new();
    let mut fresh = |item: &Value| item["id"].as_str().is_none_or(|id| ids.insert(id.to_owned()));
    let mut activities = Vec::new();
    for review in node["reviews"]["nodes"].as_array().into_iter().flatten() {
        if !fresh(review) {
            continue;
        }
        if review["state"] != "PENDING"
            && let (Some(author), Some(when)) = (login(review), at(review, "submittedAt"))
        {
            activities.push(ReviewActivity { author: author.into(), at: when, kind: ActivityKind::Review });
        }
        for comment in review["comments"]["nodes"].as_array().into_iter().flatten() {
            if fresh(comment)
                && let (Some(author), Some(when)) = (login(comment), at(comment, "createdAt"))
            {
                activities.push(ReviewActivity { author: author.into(), at: when, kind: ActivityKind::ReviewComment });
            }
        }
    }
    for comment in node["comments"]["nodes"].as_array().into_iter().flatten() {
        if fresh(comment)
            && let (Some(author), Some(when)) = (login(comment), at(comment, "createdAt"))
        {
            activities.push(ReviewActivity { author: author.into(), at: when, kind: ActivityKind::Comment });
        }
    }
    let ready_at =
        node["timelineItems"]["nodes"].as_array().into_iter().flatten().filter_map(|e| at(e, "createdAt")).max();
    let merged_at = at(node, "mergedAt");
    let size_unknown = node["additions"].as_u64().is_none() && node["deletions"].as_u64().is_none();
    Some(PullRequest {
        id: format!("github:pr:{repo}#{number}"),
        repo: repo.to_owned(),
        number,
        // GitHub's name for a deleted account.
        author: login(node).unwrap_or_else(|| "ghost".to_owned()),
        created_at,
        ready_at,
        draft: node["isDraft"].as_bool().unwrap_or(false),
        merged_at,
        closed_at: at(node, "closedAt"),
        merge_commit: merged_at.and(node["mergeCommit"]["oid"].as_str().map(str::to_owned)),
        additions: node["additions"].as_u64().unwrap_or(0),
        deletions: node["deletions"].as_u64().unwrap_or(0),
        size_unknown,
        commits,
        activities,
        updated_at: at(node, "updatedAt"),
    })
}

/// The guard of one paged GraphQL list: a page cursor seen twice, or more
/// than `max_pages` pages, stops the sync (a host answering `hasNextPage`
/// for ever must not loop or grow a list without end).
struct Pages {
    seen: HashSet<String>,
    max: usize,
    what: String,
}

impl Pages {
    fn new(max: usize, what: String) -> Pages {
        Pages { seen: HashSet::new(), max, what }
    }

    /// Admits the page after `cursor`.
    fn admit(&mut self, cursor: Option<&str>) -> Result<(), crate::sources::http::HttpError> {
        let cursor = cursor.unwrap_or_default().to_owned();
        let why = if !self.seen.insert(cursor) {
            "gave a page cursor twice".to_owned()
        } else if self.seen.len() > self.max {
            format!("has more than max_pages = {} pages", self.max)
        } else {
            return Ok(());
        };
        Err(crate::sources::http::HttpError::Unbounded { url: self.what.clone(), why, pages: self.seen.len() })
    }
}

/// One GraphQL session: the endpoint, and what the last answer said of the
/// rate limit.
struct Graph<'s, 'p> {
    session: &'s Session<'p>,
    url: String,
    source: String,
    /// A query's cost, the points left and when they come back (epoch
    /// seconds), as last said.
    limit: std::cell::Cell<Option<(u64, u64, i64)>>,
    /// Pages one list may have.
    max_pages: usize,
}

impl Graph<'_, '_> {
    /// Runs `query` and returns its `data`, waiting out rate limits.
    fn run(&self, name: &str, query: &str, variables: Value) -> anyhow::Result<Value> {
        let body = json!({"query": query, "operationName": name, "variables": variables});
        for attempt in 1..=4 {
            self.wait_if_spent();
            let answer = self.session.post(&self.url, &body)?;
            if let Some(rate) = answer["data"]["rateLimit"].as_object() {
                let reset = rate.get("resetAt").and_then(Value::as_str).and_then(parse_rfc3339).unwrap_or(0);
                let cost = rate.get("cost").and_then(Value::as_u64).unwrap_or(1);
                let remaining = rate.get("remaining").and_then(Value::as_u64).unwrap_or(u64::MAX);
                self.limit.set(Some((cost, remaining, reset)));
            }
            let errors: Vec<&Value> = answer["errors"].as_array().map(|e| e.iter().collect()).unwrap_or_default();
            if errors.is_empty() {
                return Ok(answer["data"].clone());
            }
            let said = errors.iter().filter_map(|e| e["message"].as_str()).collect::<Vec<_>>().join("; ");
            if errors.iter().any(|e| e["type"] == "RATE_LIMITED") && attempt < 4 {
                let wait = self.limit.get().map_or(60, |(_, _, reset)| self.until(reset));
                self.pause(wait);
                continue;
            }
            if errors.iter().any(|e| e["type"] == "NOT_FOUND") {
                return Err(SourceError(format!(
                    "{}: not found through GraphQL ({said}); check the repository name and that the token can read it",
                    self.source
                ))
                .into());
            }
            anyhow::bail!("{}: the GraphQL API answered with errors: {said}", self.source);
        }
        anyhow::bail!("{}: still rate limited after 4 attempts", self.source)
    }

    /// Waits for the reset when fewer points remain than two queries cost.
    fn wait_if_spent(&self) {
        if let Some((cost, remaining, reset)) = self.limit.get()
            && remaining < cost.saturating_mul(2)
        {
            self.pause(self.until(reset));
            self.limit.set(None);
        }
    }

    /// Seconds until `reset` by the client's clock (one of slack: resets
    /// are rounded down), at most an hour; 0 when it has passed.
    fn until(&self, reset: i64) -> i64 {
        let now = self.session.client.clock_now();
        if reset > now { (reset - now + 1).min(3600) } else { 0 }
    }

    fn pause(&self, seconds: i64) {
        if seconds <= 0 {
            return;
        }
        self.session.note(&format!("GraphQL rate limit: waiting {seconds} s"));
        std::thread::sleep(std::time::Duration::from_secs(seconds as u64));
        self.session.note("");
    }

    /// `node` with its nested lists completed by follow-up queries.
    fn complete(&self, mut node: Value) -> anyhow::Result<Value> {
        for list in ["commits", "reviews", "comments"] {
            let Some(id) = node["id"].as_str().map(str::to_owned) else { continue };
            let (query, name) = more_query(list);
            let what = format!("{} {id} {list}", self.url);
            complete_list(&mut node, list, Pages::new(self.max_pages, what), &mut |after| {
                Ok(self.run(&name, &query, json!({"id": id, "after": after}))?["node"][list].take())
            })?;
        }
        Ok(node)
    }
}

/// Appends to `node[list]["nodes"]` the rest of a nested list, asking
/// `more(after)` for the list's connection after each page cursor, while
/// its `pageInfo` says there is a next page (guarded by `pages`).
fn complete_list(
    node: &mut Value,
    list: &str,
    mut pages: Pages,
    more: &mut dyn FnMut(&Value) -> anyhow::Result<Value>,
) -> anyhow::Result<()> {
    let mut page_info = node[list]["pageInfo"].clone();
    while page_info["hasNextPage"] == true {
        pages.admit(page_info["endCursor"].as_str())?;
        let mut connection = more(&page_info["endCursor"])?;
        let nodes = connection["nodes"].as_array_mut().map(std::mem::take).unwrap_or_default();
        if nodes.is_empty() {
            break;
        }
        if let Some(all) = node[list]["nodes"].as_array_mut() {
            all.extend(nodes);
        }
        page_info = connection["pageInfo"].take();
    }
    Ok(())
}

/// Syncs the pull requests of one GitHub repository through GraphQL.
pub fn sync_pull_requests(
    store: &mut Store,
    session: &Session<'_>,
    names: &Names<'_>,
    source: &SourceFile,
    context: &SyncContext<'_>,
    summary: &mut SourceSummary,
) -> anyhow::Result<()> {
    let (owner, repo_name) = names.repo.split_once('/').unwrap_or((names.repo, ""));
    let graph = Graph {
        session,
        url: endpoint(&names.base),
        source: names.name.clone(),
        limit: std::cell::Cell::new(None),
        max_pages: source.max_pages.unwrap_or(crate::sources::http::DEFAULT_MAX_PAGES),
    };
    let stored = store.cursor(&names.name, "pulls")?;
    let pending = store.cursor(&names.name, "pulls_after")?.filter(|a| !a.is_empty());
    let cursor = names.cursor(store, "pulls", source, context.now)?;
    let ascending = pending.is_some() || (stored.is_none() && cursor.is_none());
    let query = list_query();
    let mut after = if ascending { pending } else { None };
    let mut reached = cursor;
    let mut seen: HashSet<(u64, Option<i64>)> = HashSet::new();
    let max_pages = source.max_pages.unwrap_or(crate::sources::http::DEFAULT_MAX_PAGES);
    let mut pages = Pages::new(max_pages, format!("{} pull requests of {}", graph.url, names.repo));
    pages.admit(after.as_deref())?;
    loop {
        session.stage(format!("{}: pull requests ({} stored)", names.name, summary.pull_requests));
        let variables = json!({
            "owner": owner, "name": repo_name, "after": after,
            "direction": if ascending { "ASC" } else { "DESC" },
        });
        let data = graph.run("PullRequests", &query, variables)?;
        let list = &data["repository"]["pullRequests"];
        if data["repository"].is_null() {
            return Err(SourceError(format!("{}: the repository was not found through GraphQL", names.name)).into());
        }
        let mut batch = EventBatch::default();
        let mut done = false;
        for node in list["nodes"].as_array().into_iter().flatten() {
            let (Some(number), updated) = (node["number"].as_u64(), at(node, "updatedAt")) else {
                summary.skipped += 1;
                continue;
            };
            let position = updated.map(|at| Cursor { at, number });
            if !ascending && cursor.is_some_and(|c| position.is_none_or(|p| p <= c)) {
                done = true;
                break;
            }
            if !seen.insert((number, updated)) {
                continue;
            }
            let node = graph.complete(node.clone())?;
            let Some(pr) = pull_request(names.repo, &node) else {
                summary.skipped += 1;
                continue;
            };
            summary.unknown_sizes += usize::from(pr.size_unknown);
            reached = reached.max(position);
            let label = PrLabel {
                title: node["title"].as_str().map(str::to_owned),
                url: node["url"].as_str().map(str::to_owned),
            };
            batch.pull_requests.push((pr, names.name.clone(), Some(node.to_string()), label));
        }
        summary.pull_requests += batch.pull_requests.len();
        let has_next = list["pageInfo"]["hasNextPage"] == true;
        let end = list["pageInfo"]["endCursor"].as_str().map(str::to_owned);
        let reached_text = reached.map(|c| c.format());
        let mut cursors: Vec<(&str, &str, &str)> = Vec::new();
        if ascending {
            // Oldest first: what was reached so far is safe to resume from.
            cursors.extend(reached_text.as_deref().map(|r| (names.name.as_str(), "pulls", r)));
            let resume = if has_next { end.as_deref().unwrap_or("") } else { "" };
            cursors.push((names.name.as_str(), "pulls_after", resume));
        }
        store.write_events(&batch, &cursors)?;
        if done || !has_next || end.is_none() {
            break;
        }
        pages.admit(end.as_deref())?;
        after = end;
    }
    if !ascending && let Some(reached) = reached.map(|c| c.format()) {
        // Newest first: the cursor moves once the list is read down to it.
        store.write_events(&EventBatch::default(), &[(names.name.as_str(), "pulls", reached.as_str())])?;
    }
    Ok(())
}

/// The fields of a GitLab merge request, nested lists included.
const MR_FIELDS: &str = "iid title webUrl description sourceBranch createdAt updatedAt mergedAt closedAt draft \
    author { username } mergeCommitSha squashCommitSha diffHeadSha diffStatsSummary { additions deletions } \
    commits(first: 100) { pageInfo { hasNextPage endCursor } nodes { sha authoredDate authorName } } \
    notes(first: 100) { pageInfo { hasNextPage endCursor } nodes { id system body createdAt author { username } position { positionType } } } \
    approvedBy { nodes { username } }";

/// GitLab's GraphQL endpoint for a REST base (`…/api/v4` → `…/api/graphql`).
pub fn gitlab_endpoint(base: &str) -> String {
    let base = base.trim_end_matches('/');
    match base.strip_suffix("/v4") {
        Some(api) => format!("{api}/graphql"),
        None => format!("{base}/graphql"),
    }
}

/// A GitLab merge request node (its lists completed) as a pull request,
/// read as the REST connector reads the same merge request: system notes
/// for ready and approvals, diff notes as review comments, approvals
/// without a note at the merge (else last update) time, size unknown
/// without diff statistics.
pub fn merge_request(repo: &str, node: &Value) -> Option<PullRequest> {
    let iid: u64 = node["iid"].as_str().and_then(|i| i.parse().ok()).or_else(|| node["iid"].as_u64())?;
    let created_at = at(node, "createdAt")?;
    let commits = node["commits"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| {
            Some(PrCommit {
                sha: c["sha"].as_str()?.to_owned(),
                author: c["authorName"].as_str()?.to_owned(),
                authored_at: at(c, "authoredDate")?,
            })
        })
        .collect();
    let (mut activities, mut ready_at, mut approved_with_note) = (Vec::new(), None::<i64>, HashSet::new());
    let mut ids = HashSet::new();
    for note in node["notes"]["nodes"].as_array().into_iter().flatten() {
        if !note["id"].as_str().is_none_or(|id| ids.insert(id.to_owned())) {
            continue;
        }
        let (Some(who), Some(when)) = (note["author"]["username"].as_str(), at(note, "createdAt")) else { continue };
        let body = note["body"].as_str().unwrap_or("");
        if note["system"] == true {
            if body.starts_with("marked this merge request as **ready**")
                || body.starts_with("marked this merge request as ready")
                || body.starts_with("unmarked as a **Work In Progress**")
            {
                ready_at = Some(ready_at.map_or(when, |r| r.max(when)));
            } else if body.starts_with("approved this merge request") {
                approved_with_note.insert(who.to_owned());
                activities.push(ReviewActivity { author: who.into(), at: when, kind: ActivityKind::Review });
            }
            continue;
        }
        let kind = if note["position"].is_object() { ActivityKind::ReviewComment } else { ActivityKind::Comment };
        activities.push(ReviewActivity { author: who.into(), at: when, kind });
    }
    let merged_at = at(node, "mergedAt");
    let fallback = merged_at.or_else(|| at(node, "updatedAt"));
    for approver in node["approvedBy"]["nodes"].as_array().into_iter().flatten() {
        if let (Some(who), Some(when)) = (approver["username"].as_str(), fallback)
            && !approved_with_note.contains(who)
        {
            activities.push(ReviewActivity { author: who.into(), at: when, kind: ActivityKind::Review });
        }
    }
    let stats = &node["diffStatsSummary"];
    let size_unknown = stats["additions"].as_u64().is_none() && stats["deletions"].as_u64().is_none();
    let landed = ["mergeCommitSha", "squashCommitSha", "diffHeadSha"].iter().find_map(|k| node[*k].as_str());
    Some(PullRequest {
        id: format!("gitlab:pr:{repo}#{iid}"),
        repo: repo.to_owned(),
        number: iid,
        author: node["author"]["username"].as_str().unwrap_or("ghost").to_owned(),
        created_at,
        ready_at,
        draft: node["draft"] == true,
        merged_at,
        closed_at: at(node, "closedAt").or(merged_at),
        merge_commit: merged_at.and(landed.map(str::to_owned)),
        additions: stats["additions"].as_u64().unwrap_or(0),
        deletions: stats["deletions"].as_u64().unwrap_or(0),
        size_unknown,
        commits,
        activities,
        updated_at: at(node, "updatedAt"),
    })
}

/// Syncs the merge requests of one GitLab project through GraphQL: least
/// recently updated first from the cursor (`updatedAfter`), 50 a query,
/// each page written with the cursor it reached.
pub fn sync_merge_requests(
    store: &mut Store,
    session: &Session<'_>,
    names: &Names<'_>,
    source: &SourceFile,
    context: &SyncContext<'_>,
    summary: &mut SourceSummary,
) -> anyhow::Result<()> {
    let graph = Graph {
        session,
        url: gitlab_endpoint(&names.base),
        source: names.name.clone(),
        limit: std::cell::Cell::new(None),
        max_pages: source.max_pages.unwrap_or(crate::sources::http::DEFAULT_MAX_PAGES),
    };
    let query = format!(
        "query MergeRequests($project: ID!, $after: String, $updatedAfter: Time) {{ project(fullPath: $project) {{ \
         mergeRequests(sort: UPDATED_ASC, first: {PAGE}, after: $after, updatedAfter: $updatedAfter) {{ \
         pageInfo {{ hasNextPage endCursor }} nodes {{ {MR_FIELDS} }} }} }} }}"
    );
    let cursor = names.cursor(store, "merge_requests", source, context.now)?;
    let updated_after = cursor.map(|c| c.time_text());
    let (mut after, mut reached) = (None::<String>, cursor);
    let mut seen: HashSet<(u64, Option<i64>)> = HashSet::new();
    let max_pages = source.max_pages.unwrap_or(crate::sources::http::DEFAULT_MAX_PAGES);
    let mut pages = Pages::new(max_pages, format!("{} merge requests of {}", graph.url, names.repo));
    pages.admit(None)?;
    loop {
        session.stage(format!("{}: merge requests ({} stored)", names.name, summary.pull_requests));
        let variables = json!({"project": names.repo, "after": after, "updatedAfter": updated_after});
        let data = graph.run("MergeRequests", &query, variables)?;
        if data["project"].is_null() {
            return Err(SourceError(format!(
                "{}: the project was not found through GraphQL; check the name and that the token can read it",
                names.name
            ))
            .into());
        }
        let list = &data["project"]["mergeRequests"];
        let mut batch = EventBatch::default();
        for node in list["nodes"].as_array().into_iter().flatten() {
            let number = node["iid"].as_str().and_then(|i| i.parse::<u64>().ok());
            let updated = at(node, "updatedAt");
            let (Some(number), Some(position)) =
                (number, updated.zip(number).map(|(at, number)| Cursor { at, number }))
            else {
                summary.skipped += 1;
                continue;
            };
            // `updatedAfter` is inclusive: the tie at the cursor was stored.
            if cursor.is_some_and(|c| position <= c) || !seen.insert((number, updated)) {
                continue;
            }
            let node = complete_gitlab(&graph, names.repo, node.clone())?;
            let Some(pr) = merge_request(names.repo, &node) else {
                summary.skipped += 1;
                continue;
            };
            summary.unknown_sizes += usize::from(pr.size_unknown);
            reached = reached.max(Some(position));
            let label = PrLabel {
                title: node["title"].as_str().map(str::to_owned),
                url: node["webUrl"].as_str().map(str::to_owned),
            };
            batch.pull_requests.push((pr, names.name.clone(), Some(gitlab_payload(&node)), label));
        }
        summary.pull_requests += batch.pull_requests.len();
        let reached_text = reached.map(|c| c.format());
        let cursors: Vec<(&str, &str, &str)> =
            reached_text.as_deref().map(|r| (names.name.as_str(), "merge_requests", r)).into_iter().collect();
        store.write_events(&batch, &cursors)?;
        let end = list["pageInfo"]["endCursor"].as_str().map(str::to_owned);
        if list["pageInfo"]["hasNextPage"] != true || end.is_none() {
            break;
        }
        pages.admit(end.as_deref())?;
        after = end;
    }
    Ok(())
}

/// The stored payload of a merge request node, with REST's names for what
/// links work items (`description`, `source_branch`).
fn gitlab_payload(node: &Value) -> String {
    let mut payload = node.clone();
    payload["source_branch"] = node["sourceBranch"].clone();
    payload.to_string()
}

/// `node` with its commits and notes completed by follow-up queries.
fn complete_gitlab(graph: &Graph<'_, '_>, project: &str, mut node: Value) -> anyhow::Result<Value> {
    let iid = node["iid"].clone();
    for (list, fields) in [
        ("commits", "pageInfo { hasNextPage endCursor } nodes { sha authoredDate authorName }"),
        (
            "notes",
            "pageInfo { hasNextPage endCursor } nodes { id system body createdAt author { username } position { positionType } }",
        ),
    ] {
        let name = if list == "commits" { "MergeRequestCommits" } else { "MergeRequestNotes" };
        let query = format!(
            "query {name}($project: ID!, $iid: String!, $after: String) {{ project(fullPath: $project) {{ \
             mergeRequest(iid: $iid) {{ {list}(first: 100, after: $after) {{ {fields} }} }} }} }}"
        );
        let what = format!("{} !{iid} {list}", graph.url);
        complete_list(&mut node, list, Pages::new(graph.max_pages, what), &mut |after| {
            let variables = json!({"project": project, "iid": iid, "after": after});
            Ok(graph.run(name, &query, variables)?["project"]["mergeRequest"][list].take())
        })?;
    }
    Ok(node)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_given_twice_or_too_many_pages_stop_the_list() {
        let mut pages = Pages::new(3, "list".into());
        assert!(pages.admit(None).is_ok() && pages.admit(Some("a")).is_ok());
        assert!(pages.admit(Some("a")).unwrap_err().to_string().contains("gave a page cursor twice"));
        assert!(pages.admit(Some("b")).is_ok());
        assert!(pages.admit(Some("c")).unwrap_err().to_string().contains("more than max_pages = 3"));
    }

    #[test]
    fn endpoints_of_github_and_enterprise() {
        assert_eq!(endpoint("https://api.github.com"), "https://api.github.com/graphql");
        assert_eq!(endpoint("https://ghe.example.com/api/v3/"), "https://ghe.example.com/api/graphql");
    }

    #[test]
    fn a_node_becomes_a_pull_request_with_each_activity_once() {
        let node = json!({
            "id": "PR_1", "number": 7, "createdAt": "2025-01-06T09:00:00Z", "updatedAt": "2025-01-07T09:00:00Z",
            "mergedAt": "2025-01-06T17:00:00Z", "closedAt": "2025-01-06T17:00:00Z", "isDraft": false,
            "additions": 30, "deletions": 10, "author": {"login": "ann"}, "mergeCommit": {"oid": "m1"},
            "commits": {"nodes": [
                {"commit": {"oid": "c1", "authoredDate": "2025-01-06T08:00:00Z", "author": {"name": "Ann", "user": {"login": "ann"}}}},
                {"commit": {"oid": "c1", "authoredDate": "2025-01-06T08:00:00Z", "author": {"name": "Ann", "user": null}}}
            ]},
            "reviews": {"nodes": [
                {"id": "R1", "state": "APPROVED", "submittedAt": "2025-01-06T13:00:00Z", "author": {"login": "bob"},
                 "comments": {"nodes": [{"id": "C1", "createdAt": "2025-01-06T12:59:00Z", "author": {"login": "bob"}}]}},
                {"id": "R2", "state": "PENDING", "submittedAt": null, "author": {"login": "eve"}, "comments": {"nodes": []}}
            ]},
            "comments": {"nodes": [{"id": "C2", "createdAt": "2025-01-06T10:00:00Z", "author": {"login": "carol"}}]},
            "timelineItems": {"nodes": [{"createdAt": "2025-01-06T09:30:00Z"}]}
        });
        let pr = pull_request("o/r", &node).unwrap();
        assert_eq!(pr.commits.len(), 1);
        let kinds: Vec<ActivityKind> = pr.activities.iter().map(|a| a.kind).collect();
        assert_eq!(kinds, [ActivityKind::Review, ActivityKind::ReviewComment, ActivityKind::Comment]);
        assert_eq!(pr.ready_at, parse_rfc3339("2025-01-06T09:30:00Z"));
        assert_eq!(pr.merge_commit.as_deref(), Some("m1"));
        assert!(!pr.size_unknown);
    }
}
