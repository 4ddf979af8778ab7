//! The GitLab connector against a local server replaying hand-written
//! responses in the shape of GitLab's REST API v4 (no public recording is
//! available to the project): pagination, a squash merge, a draft marked
//! ready by a system note, a bot and a self-comment, an approval without a
//! note, a production-tier deployment, a failed one, a staging one, and an
//! incident issue found twice.

use serde_json::{Value, json};

use crate::harness::*;
use crate::replay::{Replay, Reply, Route};

const TOKEN: &str = "glpat-fulcrumTestToken987";
const PROJECT: &str = "/api/v4/projects/acme%2Fshop";

fn ok(body: Value) -> Vec<Reply> {
    vec![Reply::json(200, body.to_string())]
}

fn route(path: &str, responses: Vec<Reply>) -> Route {
    Route { path: format!("{PROJECT}{path}"), responses }
}

fn mr(iid: u64, author: &str, created: &str, merged: Option<&str>, updated: &str) -> Value {
    json!({
        "id": 1000 + iid, "iid": iid, "project_id": 7, "title": format!("change {iid}"),
        "state": if merged.is_some() { "merged" } else { "opened" },
        "author": {"id": iid, "username": author, "name": author},
        "created_at": created, "updated_at": updated, "merged_at": merged, "closed_at": null,
        "draft": false, "work_in_progress": false, "squash": false,
        "merge_commit_sha": null, "squash_commit_sha": null, "sha": format!("head{iid}")
    })
}

fn note(author: &str, at: &str, body: &str, system: bool, kind: Option<&str>) -> Value {
    // Each note's id from its time (unique in these pages).
    json!({"id": utc(at), "body": body, "author": {"username": author}, "created_at": at, "system": system, "type": kind})
}

fn routes() -> Vec<Route> {
    let mut one =
        mr(1, "ann", "2025-01-06T09:00:00.000Z", Some("2025-01-06T17:00:00.000Z"), "2025-01-06T18:00:00.000Z");
    one["squash"] = json!(true);
    // A fast-forward squash: no merge commit, the squash commit lands.
    one["squash_commit_sha"] = json!("s1");
    let mut two =
        mr(2, "bob", "2025-01-07T09:00:00.000Z", Some("2025-01-08T14:00:00.000Z"), "2025-01-08T15:00:00.000Z");
    two["merge_commit_sha"] = json!("m2");
    let three = mr(3, "carol", "2025-01-09T09:00:00.000Z", None, "2025-01-09T10:00:00.000Z");
    let list = "/merge_requests?state=all&order_by=updated_at&sort=asc&per_page=100";
    vec![
        route(
            list,
            vec![
                Reply::json(200, json!([one]).to_string())
                    .header("ETag", "W/\"mrs-1\"")
                    .header("Link", &format!("<{{base}}{PROJECT}{list}&page=2>; rel=\"next\"")),
            ],
        ),
        route(&format!("{list}&page=2"), ok(json!([two, three]))),
        // What the next sync asks for: changes since the cursors.
        route(&format!("{list}&updated_after=2025-01-09T10%3A00%3A00Z"), ok(json!([]))),
        route(
            "/deployments?order_by=updated_at&sort=asc&per_page=100&updated_after=2025-01-08T16%3A31%3A00Z",
            ok(json!([])),
        ),
        route(
            "/merge_requests/1/commits?per_page=100",
            ok(json!([{"id": "c1", "author_name": "ann", "authored_date": "2025-01-06T08:00:00.000+00:00"}])),
        ),
        route(
            "/merge_requests/2/commits?per_page=100",
            ok(json!([{"id": "c2", "author_name": "bob", "authored_date": "2025-01-07T08:00:00.000+01:00"}])),
        ),
        route("/merge_requests/3/commits?per_page=100", ok(json!([]))),
        route(
            "/merge_requests/1/notes?sort=asc&order_by=created_at&per_page=100",
            ok(json!([
                note("renovate-bot", "2025-01-06T10:00:00.000Z", "bump", false, None),
                note("bob", "2025-01-06T13:00:00.000Z", "nit", false, Some("DiffNote")),
                // Listed twice, as a list that shifts while paged does: counted once.
                note("bob", "2025-01-06T13:00:00.000Z", "nit", false, Some("DiffNote")),
                note("bob", "2025-01-06T15:00:00.000Z", "approved this merge request", true, None),
            ])),
        ),
        route(
            "/merge_requests/2/notes?sort=asc&order_by=created_at&per_page=100",
            ok(json!([
                note("bob", "2025-01-08T09:00:00.000Z", "marked this merge request as **ready**", true, None),
                note("bob", "2025-01-08T09:30:00.000Z", "ready!", false, None),
                note("carol", "2025-01-08T12:00:00.000Z", "looks good", false, Some("DiscussionNote")),
            ])),
        ),
        route("/merge_requests/3/notes?sort=asc&order_by=created_at&per_page=100", ok(json!([]))),
        // GitLab's rate limit (429, retry-after) once, then the answer.
        route(
            "/merge_requests/1/approvals",
            vec![
                Reply::json(429, r#"{"message":"Retry later"}"#).header("retry-after", "0"),
                Reply::json(200, json!({"approved_by": [{"user": {"username": "bob"}}]}).to_string()),
            ],
        ),
        route("/merge_requests/2/approvals", ok(json!({"approved_by": [{"user": {"username": "dave"}}]}))),
        route("/merge_requests/3/approvals", ok(json!({"approved_by": []}))),
        route("/merge_requests/1/diffs?per_page=100", ok(json!([{"diff": "@@ -1 +1,2 @@\n-a\n+b\n+c\n"}]))),
        // !2 and !3: no diffs endpoint (older GitLab): 404, size unknown.
        route(
            "/deployments?order_by=updated_at&sort=asc&per_page=100",
            ok(json!([
                {"id": 11, "sha": "s1", "ref": "main", "status": "success", "environment": {"name": "prod-eu", "tier": "production"},
                 "finished_at": "2025-01-06T19:00:00.000Z", "updated_at": "2025-01-06T19:00:01.000Z"},
                {"id": 12, "sha": "m2", "ref": "main", "status": "failed", "environment": {"name": "production", "tier": "production"},
                 "finished_at": "2025-01-08T15:30:00.000Z", "updated_at": "2025-01-08T15:30:00.000Z"},
                {"id": 13, "sha": "m2", "ref": "main", "status": "success", "environment": {"name": "staging", "tier": "staging"},
                 "finished_at": "2025-01-08T15:00:00.000Z", "updated_at": "2025-01-08T15:00:00.000Z"},
                {"id": 14, "sha": "m2", "ref": "main", "status": "success", "environment": {"name": "production", "tier": "production"},
                 "deployable": {"finished_at": "2025-01-08T16:30:00.000Z"}, "updated_at": "2025-01-08T16:31:00.000Z"}
            ])),
        ),
        route(
            "/issues?issue_type=incident&state=all&per_page=100",
            ok(
                json!([{"iid": 5, "title": "checkout down", "created_at": "2025-01-08T17:00:00.000Z", "closed_at": "2025-01-08T19:00:00.000Z"}]),
            ),
        ),
        route(
            "/issues?labels=incident&state=all&per_page=100",
            ok(
                json!([{"iid": 5, "title": "checkout down", "created_at": "2025-01-08T17:00:00.000Z", "closed_at": "2025-01-08T19:00:00.000Z"}]),
            ),
        ),
    ]
}

fn setup(scratch: &Scratch, replay: &Replay) -> std::path::PathBuf {
    let path = scratch.path("fulcrum.toml");
    let toml = format!("[[source]]\nkind = \"gitlab\"\nrepo = \"acme/shop\"\nbase_url = \"{}/api/v4\"\n", replay.url());
    std::fs::write(&path, toml).unwrap();
    path
}

fn fulcrum_in(scratch: &Scratch, config: &std::path::Path, args: &[&str]) -> Run {
    let db = scratch.db();
    let mut all = vec!["--db", s(&db), "--config", s(config)];
    all.extend_from_slice(args);
    run(command(all).current_dir(&scratch.dir).env("GITLAB_TOKEN", TOKEN).env("FULCRUM_HTTP_BACKOFF_MS", "1"))
}

#[test]
fn merge_requests_deployments_and_incidents() {
    let scratch = Scratch::new("gitlab_sync");
    let replay = Replay::start(routes());
    let config = setup(&scratch, &replay);
    let synced = fulcrum_in(&scratch, &config, &["sync"]).ok();
    assert!(
        synced.stderr.contains("gitlab:acme/shop: 3 pull requests, 4 deployment events, 1 incidents"),
        "{}",
        synced.stderr
    );
    let requests = replay.requests();
    assert!(requests.iter().all(|r| r.headers.iter().any(|(k, v)| k == "private-token" && v == TOKEN)));
    assert!(requests.iter().any(|r| r.path.ends_with("&page=2")), "the second page was followed");
    let approvals = requests.iter().filter(|r| r.path == format!("{PROJECT}/merge_requests/1/approvals")).count();
    assert_eq!(approvals, 2, "the rate-limited request was asked again");
    // The only 404s are the missing diffs of !2 and !3 (tolerated: size unknown).
    let tolerated = [format!("{PROJECT}/merge_requests/2/diffs"), format!("{PROJECT}/merge_requests/3/diffs")];
    let tolerated: Vec<&str> = tolerated.iter().map(String::as_str).collect();
    assert_eq!(replay.unexpected_404s(&tolerated), Vec::<String>::new());
    assert!(synced.stderr.contains("no size for 2 pull requests"), "{}", synced.stderr);

    let window = ["--since", "2025-01-01", "--until", "2025-02-01"];
    let flow = fulcrum_in(&scratch, &config, &[&["flow", "--format", "json"][..], &window].concat()).ok().json();
    let rows = flow["rows"].as_array().unwrap();
    let stages =
        |r: &Value| ["coding", "pickup", "review", "deploy", "cycle"].map(|k| r[k].as_i64().map(|v| v as f64 / 3600.0));
    // !1: commit 08:00, opened 09:00; the bot's note is ignored; bob's diff
    // note at 13:00 starts review; merged 17:00 as squash commit s1, which
    // the prod-eu (production tier) deployment shipped at 19:00.
    assert_eq!(stages(&rows[0]), [Some(1.0), Some(4.0), Some(4.0), Some(2.0), Some(11.0)]);
    assert_eq!(rows[0]["size"], 3);
    // !2: commit 7th 07:00 UTC, ready 8th 09:00 (system note), bob's own note
    // ignored, carol 12:00, merged 14:00; the failed and the staging
    // deployments do not count, the production one finished 16:30.
    assert_eq!(stages(&rows[1]), [Some(26.0), Some(3.0), Some(2.0), Some(2.5), Some(33.5)]);
    assert_eq!(rows.len(), 2, "!3 is open");
    assert_eq!(rows[1]["size"], Value::Null, "!2's size is unknown, not 0");
    assert_eq!(flow["size"]["value"]["unknown"], 1);
    // !1 (3 changed lines) is in the 0-50 bucket; !2 in none.
    let in_buckets: Vec<u64> =
        flow["size"]["value"]["buckets"].as_array().unwrap().iter().map(|b| b["prs"].as_u64().unwrap()).collect();
    assert_eq!(in_buckets, [1, 0, 0, 0, 0]);
    // bob's approval (with its note) and dave's (at the merge): two reviews.
    assert_eq!(flow["review_load"]["value"]["reviews"], 2);

    let report = fulcrum_in(&scratch, &config, &[&["report", "--format", "json"][..], &window].concat()).ok().json();
    let dora = &report["dora"];
    assert_eq!(dora["deployment_frequency"]["value"]["deployments"], 2);
    // The incident starts 30 min after deployment 14 and is resolved 2 h later.
    assert_eq!(dora["change_failure_rate"]["value"]["failed_deployments"], 1);
    assert_eq!(dora["recovery_time"]["value"]["summary"]["median"], 9000.0);

    for text in [&synced.stderr, &flow.to_string(), &report.to_string()] {
        assert!(!text.contains(TOKEN));
    }
    let mut written = Vec::new();
    for entry in std::fs::read_dir(&scratch.dir).unwrap().flatten() {
        written.extend(std::fs::read(entry.path()).unwrap_or_default());
    }
    assert!(!written.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()), "the token reached the disk");

    // The next sync asks only for what changed since the cursors.
    let before = replay.requests().len();
    let resynced = fulcrum_in(&scratch, &config, &["sync"]).ok();
    assert!(resynced.stderr.contains("0 pull requests"), "{}", resynced.stderr);
    let again: Vec<String> = replay.requests().into_iter().skip(before).map(|r| r.path).collect();
    assert!(again.iter().all(|p| !p.contains("/merge_requests/")), "no merge request fetched again: {again:?}");
    assert!(again.iter().any(|p| p.contains("updated_after=2025-01-09T10%3A00%3A00Z")), "{again:?}");
    assert!(again.iter().any(|p| p.contains("updated_after=2025-01-08T16%3A31%3A00Z")), "{again:?}");
}

/// `repo = "acme/*"`: the group's projects (and its subgroups'), archived
/// ones left out, each synced as its own source.
#[test]
fn a_group_is_listed_and_each_project_synced() {
    let scratch = Scratch::new("gitlab_group");
    let mut routes = routes();
    routes.push(Route {
        path: "/api/v4/groups/acme/projects?include_subgroups=true&archived=false&per_page=100".to_owned(),
        responses: ok(json!([
            {"id": 1, "path_with_namespace": "acme/shop", "archived": false},
            {"id": 2, "path_with_namespace": "acme/attic", "archived": true},
        ])),
    });
    let replay = Replay::start(routes);
    let config = setup(&scratch, &replay);
    let text = std::fs::read_to_string(&config).unwrap().replace("repo = \"acme/shop\"", "repo = \"acme/*\"");
    std::fs::write(&config, text).unwrap();
    let synced = fulcrum_in(&scratch, &config, &["sync"]).ok();
    assert!(synced.stderr.contains("gitlab:acme/shop: 3 pull requests, 4 deployment events"), "{}", synced.stderr);
    assert!(!replay.requests().iter().any(|r| r.path.contains("attic")), "archived projects are left out");
}

/// `issues = true`: the project's issues as work items, moved by their
/// state and label events (a label `[items]` puts in progress); the next
/// sync lists only issues updated since, and fetches no event again.
#[test]
fn issues_are_work_items_moved_by_their_events() {
    let scratch = Scratch::new("gitlab_issues");
    let mut routes = routes();
    let issue = json!({
        "id": 70, "iid": 7, "project_id": 7, "title": "Checkout is slow", "state": "closed",
        "created_at": "2025-01-02T09:00:00.000Z", "updated_at": "2025-01-07T10:00:00.000Z",
        "closed_at": "2025-01-07T10:00:00.000Z", "labels": ["performance"]
    });
    let list = "/issues?state=all&order_by=updated_at&sort=asc&per_page=100";
    routes.push(route(list, ok(json!([issue]))));
    routes.push(route(&format!("{list}&updated_after=2025-01-07T10%3A00%3A00Z"), ok(json!([]))));
    routes.push(route(
        "/issues/7/resource_state_events?per_page=100",
        ok(json!([{"id": 1, "state": "closed", "created_at": "2025-01-07T10:00:00.000Z"}])),
    ));
    routes.push(route(
        "/issues/7/resource_label_events?per_page=100",
        ok(json!([
            {"id": 1, "action": "add", "label": {"name": "performance"}, "created_at": "2025-01-02T09:00:00.000Z"},
            {"id": 2, "action": "add", "label": {"name": "Doing"}, "created_at": "2025-01-06T08:00:00.000Z"}
        ])),
    ));
    let replay = Replay::start(routes);
    let config = setup(&scratch, &replay);
    let text = std::fs::read_to_string(&config).unwrap() + "issues = true\n\n[items]\nin_progress = [\"Doing\"]\n";
    std::fs::write(&config, text).unwrap();
    let synced = fulcrum_in(&scratch, &config, &["sync"]).ok();
    assert!(synced.stderr.contains(", 1 work items ("), "{}", synced.stderr);
    let window = ["flow", "--format", "json", "--since", "2025-01-01", "--until", "2025-02-01"];
    let flow = fulcrum_in(&scratch, &config, &window).ok().json();
    let row = &flow["items"]["rows"][0];
    assert_eq!(row["key"], "acme/shop#7");
    // Created 2nd 09:00, Doing 6th 08:00 (in progress), closed 7th 10:00; `performance` is no status.
    assert_eq!((row["backlog"].as_i64(), row["cycle"].as_i64()), (Some(95 * 3600), Some(26 * 3600)));
    let before = replay.requests().len();
    fulcrum_in(&scratch, &config, &["sync"]).ok();
    let again: Vec<String> = replay.requests().into_iter().skip(before).map(|r| r.path).collect();
    assert!(
        again.iter().any(|p| p.contains("/issues?") && p.contains("updated_after=2025-01-07T10%3A00%3A00Z")),
        "{again:?}"
    );
    assert!(!again.iter().any(|p| p.contains("resource_")), "no event fetched again: {again:?}");
}

/// The merge requests of `routes()` as GitLab's GraphQL API gives them.
fn graphql_nodes() -> Vec<Value> {
    let note = |id: u64, author: &str, at: &str, body: &str, system: bool, diff: bool| {
        json!({"id": format!("gid://gitlab/Note/{id}"), "system": system, "body": body, "createdAt": at,
               "author": {"username": author}, "position": if diff { json!({"positionType": "text"}) } else { Value::Null }})
    };
    let done = json!({"hasNextPage": false, "endCursor": null});
    let node = |iid: u64, author: &str, created: &str, merged: Option<&str>, updated: &str| {
        json!({
            "iid": iid.to_string(), "title": format!("change {iid}"), "webUrl": null, "description": null,
            "sourceBranch": format!("topic-{iid}"), "createdAt": created, "updatedAt": updated, "mergedAt": merged,
            "closedAt": null, "draft": false, "author": {"username": author}, "mergeCommitSha": null,
            "squashCommitSha": null, "diffHeadSha": format!("head{iid}"), "diffStatsSummary": null,
            "commits": {"pageInfo": done, "nodes": []}, "notes": {"pageInfo": done, "nodes": []},
            "approvedBy": {"nodes": []}
        })
    };
    let mut one =
        node(1, "ann", "2025-01-06T09:00:00.000Z", Some("2025-01-06T17:00:00.000Z"), "2025-01-06T18:00:00.000Z");
    one["squashCommitSha"] = json!("s1");
    one["diffStatsSummary"] = json!({"additions": 2, "deletions": 1});
    one["commits"]["nodes"] =
        json!([{"sha": "c1", "authorName": "ann", "authoredDate": "2025-01-06T08:00:00.000+00:00"}]);
    one["notes"]["nodes"] = json!([
        note(1, "renovate-bot", "2025-01-06T10:00:00.000Z", "bump", false, false),
        note(2, "bob", "2025-01-06T13:00:00.000Z", "nit", false, true),
        note(3, "bob", "2025-01-06T15:00:00.000Z", "approved this merge request", true, false),
    ]);
    one["approvedBy"]["nodes"] = json!([{"username": "bob"}]);
    let mut two =
        node(2, "bob", "2025-01-07T09:00:00.000Z", Some("2025-01-08T14:00:00.000Z"), "2025-01-08T15:00:00.000Z");
    two["mergeCommitSha"] = json!("m2");
    two["commits"]["nodes"] =
        json!([{"sha": "c2", "authorName": "bob", "authoredDate": "2025-01-07T08:00:00.000+01:00"}]);
    // Its notes overflow the first answer: the rest comes from a follow-up.
    two["notes"] = json!({"pageInfo": {"hasNextPage": true, "endCursor": "n1"}, "nodes": [
        note(4, "bob", "2025-01-08T09:00:00.000Z", "marked this merge request as **ready**", true, false)
    ]});
    two["approvedBy"]["nodes"] = json!([{"username": "dave"}]);
    let three = node(3, "carol", "2025-01-09T09:00:00.000Z", None, "2025-01-09T10:00:00.000Z");
    vec![one, two, three]
}

#[test]
fn graphql_merge_requests_match_rest_in_fewer_requests() {
    let rest = Scratch::new("gitlab_graphql_rest");
    let replay = Replay::start(routes());
    let rest_config = setup(&rest, &replay);
    let synced = fulcrum_in(&rest, &rest_config, &["sync"]).ok();
    let count = |stderr: &str| -> usize {
        let line = stderr.lines().find(|l| l.starts_with("gitlab:acme/shop:")).unwrap();
        line.rsplit_once('(').unwrap().1.split(' ').next().unwrap().parse().unwrap()
    };
    let rest_requests = count(&synced.stderr);
    // Bob's diff note, listed twice, is stored once.
    let activities = open_db(&rest.db()).pr_activities();
    assert_eq!(activities.iter().filter(|a| a.kind == "review_comment").count(), 1);

    let scratch = Scratch::new("gitlab_graphql");
    let nodes = graphql_nodes();
    let key = |operation: &str, variables: Value| format!("/api/graphql {operation} {variables}");
    let page = |nodes: &[Value], next: Option<&str>| {
        json!({"data": {"project": {"mergeRequests": {
            "pageInfo": {"hasNextPage": next.is_some(), "endCursor": next}, "nodes": nodes}}}})
    };
    let vars = |after: Value, since: Value| json!({"project": "acme/shop", "after": after, "updatedAfter": since});
    let mut routes: Vec<Route> = routes().into_iter().filter(|r| !r.path.contains("/merge_requests")).collect();
    routes.extend([
        Route { path: key("MergeRequests", vars(Value::Null, Value::Null)), responses: ok(page(&nodes[..1], Some("g1"))) },
        Route { path: key("MergeRequests", vars(json!("g1"), Value::Null)), responses: ok(page(&nodes[1..], None)) },
        Route {
            path: key("MergeRequestNotes", json!({"project": "acme/shop", "iid": "2", "after": "n1"})),
            responses: ok(json!({"data": {"project": {"mergeRequest": {"notes": {
                "pageInfo": {"hasNextPage": false, "endCursor": "n3"}, "nodes": [
                    {"id": "gid://gitlab/Note/5", "system": false, "body": "ready!", "createdAt": "2025-01-08T09:30:00.000Z",
                     "author": {"username": "bob"}, "position": null},
                    {"id": "gid://gitlab/Note/6", "system": false, "body": "looks good", "createdAt": "2025-01-08T12:00:00.000Z",
                     "author": {"username": "carol"}, "position": null}
                ]}}}}})),
        },
        // The re-sync: updated since the newest stored, nothing new.
        Route {
            path: key("MergeRequests", vars(Value::Null, json!("2025-01-09T10:00:00Z"))),
            responses: ok(page(&[], None)),
        },
    ]);
    let replay = Replay::start(routes);
    let config = setup(&scratch, &replay);
    let text = std::fs::read_to_string(&config).unwrap() + "api = \"graphql\"\n";
    std::fs::write(&config, text).unwrap();
    let synced = fulcrum_in(&scratch, &config, &["sync"]).ok();
    assert_eq!(replay.unexpected_404s(&[]), Vec::<String>::new());
    let graphql_requests = count(&synced.stderr);
    let queries = replay.requests().iter().filter(|r| r.method == "POST").count();
    assert_eq!(queries, 3, "two pages and a follow-up");
    eprintln!("3 merge requests: REST {rest_requests} requests, GraphQL {graphql_requests} ({queries} queries)");
    assert!(replay.requests().iter().all(|r| r.headers.iter().any(|(k, v)| k == "private-token" && v == TOKEN)));
    let flow = |scratch: &Scratch, config: &std::path::Path| {
        let mut flow = fulcrum_in(
            scratch,
            config,
            &["flow", "--since", "2025-01-01", "--until", "2025-02-01", "--format", "json"],
        )
        .ok()
        .json();
        flow.as_object_mut().unwrap().remove("config_source");
        flow
    };
    assert_eq!(flow(&scratch, &config), flow(&rest, &rest_config));
    // Nothing new: one query for the merge requests.
    let before = replay.requests().len();
    fulcrum_in(&scratch, &config, &["sync"]).ok();
    let again = replay.requests().into_iter().skip(before).filter(|r| r.method == "POST").count();
    assert_eq!(again, 1);
}
