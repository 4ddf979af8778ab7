//! People: goals measured by fulcrum's metrics from the command line (the
//! SMART check, baseline, progress after a later sync, closing), what bad
//! goals are told, a goal's history through `migrate`, and `person forget`.

use crate::events::EVENTS;
use crate::harness::*;

const HOUR: f64 = 3600.0;

/// Runs the binary in the scratch directory at `now` (a UTC time).
fn at(scratch: &Scratch, now: &str, args: &[&str]) -> Run {
    let db = scratch.db();
    let mut all = vec!["--db", s(&db)];
    all.extend_from_slice(args);
    run(command(all).current_dir(&scratch.dir).env("FULCRUM_NOW", now))
}

/// A pull request merged on 2025-02-10: opened 09:00, reviewed 10:00
/// (pickup 1 h), merged 12:00.
const LATER: &str = r#"{"type":"pull_request","repo":"acme/shop","number":5,"author":"ann","created_at":"2025-02-10T09:00:00Z","merged_at":"2025-02-10T12:00:00Z","merge_commit":"m5","commits":[{"sha":"c5","author":"ann","authored_at":"2025-02-10T08:00:00Z"}],"reviews":[{"author":"bob","submitted_at":"2025-02-10T10:00:00Z","state":"approved"}]}
"#;

const GOAL: [&str; 16] = [
    "goal",
    "add",
    "--title",
    "Pickup under two hours",
    "--metric",
    "pickup.p75",
    "--scope",
    "service:shop",
    "--target",
    "2h",
    "--due",
    "2025-04-01",
    "--owner",
    "ann",
    "--window",
    "31",
];

#[test]
fn a_goal_is_measured_by_the_flow_and_tracked_after_each_sync() {
    let scratch = Scratch::new("goal_measured");
    std::fs::write(scratch.path("events.jsonl"), EVENTS).unwrap();
    at(&scratch, "2025-01-31T00:00:00Z", &["import", "events.jsonl"]).ok();

    // Bad goals: each named, exit 2, nothing stored.
    let mut unknown = GOAL.to_vec();
    unknown[5] = "velocity";
    at(&scratch, "2025-01-31T00:00:00Z", &unknown).bad_input(&["--metric velocity", "pickup.p75"]);
    let mut past = GOAL.to_vec();
    past[11] = "2025-01-01";
    at(&scratch, "2025-01-31T00:00:00Z", &past).bad_input(&["--due 2025-01-01", "not in the future"]);
    let mut met = GOAL.to_vec();
    met[9] = "5h";
    at(&scratch, "2025-01-31T00:00:00Z", &met).bad_input(&["already met", "pickup.p75 is 3h 45m"]);
    let mut empty = GOAL.to_vec();
    empty[7] = "service:nothing-here";
    at(&scratch, "2025-01-31T00:00:00Z", &empty).bad_input(&["no data in service:nothing-here", "--anyway"]);
    at(&scratch, "2025-01-31T00:00:00Z", &["goal", "list"]).ok().stdout.contains("no goals");

    // Pickup over [2024-12-31, 2025-01-31): #1 4 h, #2 3 h (#3 has none): p75 3.75 h.
    let mut args = GOAL.to_vec();
    args.extend(["--format", "json"]);
    let set = at(&scratch, "2025-01-31T00:00:00Z", &args).ok();
    assert!(set.stderr.contains("warning: relevant: no parent goal and no reason"), "{}", set.stderr);
    let goal = set.json();
    assert_eq!(goal["id"], 1);
    assert_eq!(goal["baseline"].as_f64(), Some(3.75 * HOUR));
    assert_eq!(goal["target"].as_f64(), Some(2.0 * HOUR));
    assert_eq!(goal["direction"], "at_most");
    assert_eq!(goal["visibility"], "private");
    let letters: Vec<(&str, Option<bool>)> = goal["smart"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["letter"].as_str().unwrap(), l["passed"].as_bool()))
        .collect();
    assert_eq!(
        letters,
        [
            ("specific", Some(true)),
            ("measurable", Some(true)),
            // No comparable window of 2024 had a merged pull request.
            ("achievable", None),
            ("relevant", Some(false)),
            ("time_bound", Some(true)),
        ]
    );
    assert_eq!(goal["progress"]["status"], "pending");

    // A later pull request and a sync: over [2025-01-12, 2025-02-12) only #5 (pickup 1 h) was merged.
    std::fs::write(scratch.path("later.jsonl"), LATER).unwrap();
    at(&scratch, "2025-02-12T00:00:00Z", &["import", "later.jsonl"]).ok();
    let measured = at(&scratch, "2025-02-12T00:00:00Z", &["goal", "measure", "--format", "json"]).ok();
    assert!(measured.stderr.contains("1 goals measured"), "{}", measured.stderr);
    let goal = &measured.json()[0];
    let progress = &goal["progress"];
    assert_eq!(progress["current"].as_f64(), Some(HOUR));
    // From 3.75 h to 1 h against a target of 2 h: (1 - 3.75) / (2 - 3.75) of the way.
    assert!((progress["share"].as_f64().unwrap() - 2.75 / 1.75).abs() < 1e-9, "{progress}");
    assert_eq!(progress["status"], "on_track");
    assert_eq!(goal["values"].as_array().unwrap().len(), 2);

    let shown = at(&scratch, "2025-02-12T00:00:00Z", &["goal", "show", "1"]).ok().stdout;
    assert!(shown.contains("target      <= 2h 0m by 2025-04-01"), "{shown}");
    assert!(shown.contains("WARN relevant"), "{shown}");
    assert!(shown.contains("2025-02-12"), "{shown}");

    // A goal's history survives a migration into another database.
    if postgres().is_none() {
        let copy = scratch.other_db("copy");
        fulcrum(["migrate", "--from", s(&scratch.db()), "--to", s(&copy)]).ok();
        let copied = run(command(["--db", s(&copy), "goal", "show", "1", "--format", "json"])
            .env("FULCRUM_NOW", "2025-02-12T00:00:00Z"))
        .ok()
        .json();
        assert_eq!(copied, goal.clone(), "the copy shows the same goal, values and progress");
    }

    let closed = at(&scratch, "2025-02-13T00:00:00Z", &["goal", "close", "1"]).ok().stdout;
    assert!(closed.contains("closed      achieved"), "{closed}");
    at(&scratch, "2025-02-13T00:00:00Z", &["goal", "close", "1"]).bad_input(&["already closed"]);
    assert!(at(&scratch, "2025-02-13T00:00:00Z", &["goal", "list"]).ok().stdout.contains("no goals"));
    let all = at(&scratch, "2025-02-13T00:00:00Z", &["goal", "list", "--all"]).ok().stdout;
    assert!(all.contains("[closed: achieved]"), "{all}");
}

#[test]
fn a_manual_goal_takes_reported_values() {
    let scratch = Scratch::new("goal_manual");
    let now = "2025-03-01T00:00:00Z";
    let set = at(
        &scratch,
        now,
        &[
            "goal",
            "add",
            "--title",
            "Finish the Rust course",
            "--owner",
            "bob",
            "--due",
            "2025-06-01",
            "--target",
            "12",
        ],
    )
    .ok();
    assert!(set.stdout.contains("manual: updated in check-ins"), "{}", set.stdout);
    assert!(set.stderr.contains("specific: no metric"), "{}", set.stderr);
    at(&scratch, "2025-03-10T00:00:00Z", &["goal", "record", "1", "--value", "3", "--note", "chapter 3"]).ok();
    let shown = at(&scratch, "2025-04-01T00:00:00Z", &["goal", "record", "1", "--value", "6"]).ok().stdout;
    // First value 3 (the baseline), then 6 of 12 three weeks later.
    assert!(shown.contains("6 now (3 at the start), 33% of the way"), "{shown}");
    at(&scratch, now, &["goal", "show", "7"]).bad_input(&["no goal 7"]);
}

#[test]
fn forgetting_a_person_erases_them_and_keeps_them_out() {
    let scratch = Scratch::new("person_forget");
    std::fs::write(scratch.path("events.jsonl"), EVENTS).unwrap();
    let now = "2025-01-31T00:00:00Z";
    at(&scratch, now, &["import", "events.jsonl"]).ok();
    let mut args = GOAL.to_vec();
    args.extend(["--reason", "reviews wait"]);
    at(&scratch, now, &args).ok();

    let dry = at(&scratch, now, &["person", "forget", "ann"]).ok();
    assert!(dry.stderr.contains("pass --yes"), "{}", dry.stderr);
    let forgotten = at(&scratch, now, &["person", "forget", "ann", "--yes"]).ok().json();
    assert_eq!(forgotten["goals"], 1);
    assert_eq!(forgotten["pull_request_rows"], 2, "#1 and its commit");
    // A reviewer too: her review is an activity row.
    at(&scratch, now, &["person", "forget", "bob", "--yes"]).ok();

    let stored = |sql: &str| open_db(&scratch.db()).column::<String>(sql);
    let names = || {
        let db = open_db(&scratch.db());
        let mut names = db.column::<String>("SELECT author FROM pull_requests");
        names.extend(db.pr_commits().into_iter().map(|c| c.author));
        names.extend(db.pr_activities().into_iter().map(|a| a.author));
        names
    };
    let before = names();
    assert!(!before.iter().any(|a| a == "ann"), "{before:?}");
    assert!(before.iter().any(|a| a.starts_with("forgotten-")), "{before:?}");
    assert_eq!(stored("SELECT COALESCE(raw, '') FROM pull_requests WHERE number = 1"), [""]);
    // Importing her pull request again brings in the pseudonym, not the name.
    at(&scratch, now, &["import", "events.jsonl"]).ok();
    let after = names();
    assert!(!after.iter().any(|a| a == "ann" || a == "bob"), "{after:?}");
    let reviewers: Vec<String> = open_db(&scratch.db()).pr_activities().into_iter().map(|a| a.author).collect();
    assert!(reviewers.iter().any(|a| a.starts_with("forgotten-")), "{reviewers:?}");
    assert_eq!(after.len(), before.len());
    let goals = at(&scratch, now, &["goal", "list", "--all", "--format", "json"]).ok().json();
    assert_eq!(goals, serde_json::json!([]));
}

/// A name is forgotten in any case, letters beyond ASCII too (SQL's
/// `lower` folds only ASCII letters on SQLite and in PostgreSQL's "C"
/// collation): the pull request's author, its commit's and its review's.
#[test]
fn forgetting_matches_a_name_in_any_case() {
    let scratch = Scratch::new("person_forget_case");
    let line = r#"{"type":"pull_request","repo":"acme/shop","number":7,"author":"Émile","created_at":"2025-01-06T09:00:00Z","merged_at":"2025-01-06T17:00:00Z","merge_commit":"m7","commits":[{"sha":"c7","author":"ÉMILE","authored_at":"2025-01-06T08:00:00Z"}],"reviews":[{"author":"Émile","submitted_at":"2025-01-06T13:00:00Z","state":"commented"},{"author":"zoé","submitted_at":"2025-01-06T14:00:00Z","state":"approved"}]}"#;
    std::fs::write(scratch.path("events.jsonl"), format!("{line}\n")).unwrap();
    let now = "2025-01-31T00:00:00Z";
    at(&scratch, now, &["import", "events.jsonl"]).ok();
    let forgotten = at(&scratch, now, &["person", "forget", "émile", "--yes"]).ok().json();
    assert_eq!(forgotten["pull_request_rows"], 3, "#7, its commit and its review");
    let db = open_db(&scratch.db());
    let authors = db.column::<String>("SELECT author FROM pull_requests");
    let commits: Vec<String> = db.pr_commits().into_iter().map(|c| c.author).collect();
    let reviews: Vec<String> = db.pr_activities().into_iter().map(|a| a.author).collect();
    for name in authors.iter().chain(&commits).chain(&reviews) {
        assert!(name.starts_with("forgotten-") || name == "zoé", "{authors:?} {commits:?} {reviews:?}");
    }
    assert!(reviews.iter().any(|a| a == "zoé"), "someone else keeps her name: {reviews:?}");
}

// ---------------------------------------------------------------- the team server

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::http::StatusCode;

use crate::server::{call, csrf_of, login, user_add};

/// The organisation of the server tests: team `shop` (five members, led by
/// lee) owns the events' service; team `other` has one member.
const ORG: &str = r#"
[pulse]
min_group = 3

[[team]]
name = "shop"
services = ["shop"]
members = ["ann", "bob", "cat", "dan", "eve"]
leads = ["lee"]

[[team]]
name = "other"
services = ["other"]
members = ["oz"]
leads = ["olga"]
"#;

const PASSWORD: &str = "a long enough password";

/// A server on the events of `EVENTS`, at `now`, with the organisation's
/// configuration and accounts `names` (name, role).
fn people_server(scratch: &Scratch, now: &str, names: &[(&str, &str)]) -> fulcrum::server::ServerState {
    std::fs::write(scratch.path("events.jsonl"), EVENTS).unwrap();
    std::fs::write(scratch.path("org.toml"), ORG).unwrap();
    at(scratch, now, &["import", "events.jsonl"]).ok();
    for (name, role) in names {
        user_add(&scratch.db(), name, role, PASSWORD).ok();
    }
    let mut state = crate::server::state(&scratch.db(), &[]);
    let db = PathBuf::from(database(&scratch.db()));
    let config = scratch.path("org.toml");
    let now = utc(now);
    state.context = Arc::new(move || fulcrum::app::Context { db: db.clone(), config: Some(config.clone()), now });
    state
}

/// A signed-in person: their cookie and the CSRF token of their forms.
struct Session {
    cookie: String,
    csrf: String,
}

fn session(state: &fulcrum::server::ServerState, name: &str) -> Session {
    let (cookie, _) = login(state, name, PASSWORD, &[]);
    let (_, _, page) = call(state, "GET", "/goals", &[("cookie", &cookie)], "");
    Session { csrf: csrf_of(&page), cookie }
}

impl Session {
    fn get(&self, state: &fulcrum::server::ServerState, uri: &str) -> (StatusCode, String) {
        let (status, _, body) = call(state, "GET", uri, &[("cookie", &self.cookie)], "");
        (status, body)
    }

    fn form(&self, state: &fulcrum::server::ServerState, uri: &str, fields: &str) -> (StatusCode, String) {
        let body = format!("csrf={}&{fields}", self.csrf);
        let (status, _, body) = call(state, "POST", uri, &[("cookie", &self.cookie)], &body);
        (status, body)
    }

    fn json(&self, state: &fulcrum::server::ServerState, uri: &str, body: serde_json::Value) -> (StatusCode, String) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            use tower::ServiceExt;
            let request = axum::http::Request::builder()
                .method("POST")
                .uri(uri)
                .header("content-type", "application/json")
                .header("cookie", &self.cookie)
                .body(axum::body::Body::from(body.to_string()))
                .unwrap();
            let response = fulcrum::server::router(state.clone()).oneshot(request).await.unwrap();
            let status = response.status();
            let bytes = axum::body::to_bytes(response.into_body(), 1 << 24).await.unwrap();
            (status, String::from_utf8(bytes.to_vec()).unwrap())
        })
    }
}

#[test]
fn goals_on_the_server_are_seen_by_whom_they_concern() {
    let scratch = Scratch::new("people_goals");
    let now = "2025-01-31T00:00:00Z";
    let state = people_server(
        &scratch,
        now,
        &[("ada", "admin"), ("lee", "lead"), ("olga", "lead"), ("ann", "member"), ("bob", "member")],
    );
    let ann = session(&state, "ann");
    let goal = |scope: &str, due: &str, owner: &str| {
        serde_json::json!({
            "title": "Pickup under two hours", "metric": "pickup.p75", "scope": scope, "target": "2h",
            "due": due, "window_days": 31, "reason": "reviews wait", "owner": owner,
        })
    };
    // Bad input names the field.
    let (status, body) = ann.json(&state, "/api/v1/goals", goal("service:nothing", "2025-04-01", "ann"));
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&body).unwrap()["field"], "scope");
    let (status, body) = ann.json(&state, "/api/v1/goals", goal("service:shop", "2025-01-01", "ann"));
    assert_eq!(
        (status, serde_json::from_str::<serde_json::Value>(&body).unwrap()["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, "due".into())
    );
    let (status, body) = ann.json(
        &state,
        "/api/v1/goals",
        serde_json::json!({"title": "x", "metric": "velocity", "target": "3", "due": "2025-04-01"}),
    );
    assert_eq!(
        (status, serde_json::from_str::<serde_json::Value>(&body).unwrap()["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, "metric".into())
    );
    // bob may not set ann's goals.
    let bob = session(&state, "bob");
    let (status, body) = bob.json(&state, "/api/v1/goals", goal("service:shop", "2025-04-01", "ann"));
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("\"field\":\"owner\""), "{body}");

    let (status, body) = ann.json(&state, "/api/v1/goals", goal("service:shop", "2025-04-01", "ann"));
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let created: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!((created["visibility"].as_str(), created["baseline"].as_f64()), (Some("private"), Some(3.75 * HOUR)));
    let id = created["id"].as_i64().unwrap();

    // Private: ann and her lead; not bob, another team's lead, or an admin.
    let sees = |who: &Session| {
        let (_, list) = who.get(&state, "/api/v1/goals");
        let (status, _) = who.get(&state, &format!("/api/v1/goals/{id}"));
        let (page, _) = who.get(&state, &format!("/goals/{id}"));
        let listed = list.contains("Pickup under two hours");
        assert_eq!(listed, status == StatusCode::OK, "the list and the goal agree");
        assert_eq!(listed, page == StatusCode::OK, "the page and the API agree");
        listed
    };
    let (lee, olga, ada) = (session(&state, "lee"), session(&state, "olga"), session(&state, "ada"));
    assert!(sees(&ann) && sees(&lee));
    assert!(!sees(&bob) && !sees(&olga) && !sees(&ada));
    let (_, page) = ann.get(&state, &format!("/goals/{id}"));
    assert!(page.contains("data-target") && page.contains("data-points=\"1\""), "the chart with its target line");

    // A private goal is no parent to someone who cannot see it (nor does its title show).
    let (status, body) = bob.json(
        &state,
        "/api/v1/goals",
        serde_json::json!({
            "title": "Mine", "due": "2025-06-01", "reason": "r", "parent": id,
        }),
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body.contains("no such goal") && body.contains("\"field\":\"parent\"") && !body.contains("Pickup"),
        "{body}"
    );

    // A team goal of the team: its members see it, others do not.
    let (status, body) = lee.json(
        &state,
        "/api/v1/goals",
        serde_json::json!({
            "title": "Faster reviews", "metric": "review.p75", "scope": "team:shop", "target": "1h",
            "due": "2025-05-01", "window_days": 31, "parent": id,
        }),
    );
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let team_goal: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!((team_goal["owner_kind"].as_str(), team_goal["visibility"].as_str()), (Some("team"), Some("team")));
    assert!(bob.get(&state, "/api/v1/goals").1.contains("Faster reviews"));
    assert!(!olga.get(&state, "/api/v1/goals").1.contains("Faster reviews"));

    // The form sets a manual goal; it then appears in ann's check-in form.
    let (status, body) = ann.form(&state, "/goals", "title=Finish+the+Rust+course&due=2025-06-01&reason=growth");
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let (status, body) = ann.form(&state, "/goals", "title=&due=2025-06-01");
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("a goal needs a title"), "{body}");
    assert_eq!(lee.form(&state, "/checkins/pairs", "member=ann").0, StatusCode::SEE_OTHER);
    let (_, page) = lee.get(&state, "/checkins/1");
    assert!(page.contains("Finish the Rust course") && page.contains("Pickup under two hours"), "{page}");

    // A token reads the delivery, never people's goals.
    let made = fulcrum(["token", "add", "script", "--scope", "read", "--db", s(&scratch.db())]).ok();
    let token = made.stdout.trim().to_owned();
    let (status, _, body) = call(&state, "GET", "/api/v1/goals", &[("authorization", &format!("Bearer {token}"))], "");
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
}

#[test]
fn check_ins_are_private_to_the_pair() {
    let scratch = Scratch::new("people_checkins");
    let now = "2025-01-31T00:00:00Z";
    let state = people_server(
        &scratch,
        now,
        &[("ada", "admin"), ("lee", "lead"), ("olga", "lead"), ("ann", "member"), ("bob", "member")],
    );
    let (ann, lee, olga, ada, bob) = (
        session(&state, "ann"),
        session(&state, "lee"),
        session(&state, "olga"),
        session(&state, "ada"),
        session(&state, "bob"),
    );
    user_add(&scratch.db(), "viv", "viewer", PASSWORD).ok();
    let (viv_cookie, _) = login(&state, "viv", PASSWORD, &[]);
    // Members do not make pairs; a lead pairs with a member.
    assert_eq!(bob.form(&state, "/checkins/pairs", "member=ann").0, StatusCode::FORBIDDEN);
    assert_eq!(lee.form(&state, "/checkins/pairs", "member=nobody").0, StatusCode::UNPROCESSABLE_ENTITY);
    // Only a lead of a team the member is in (a pair grants nothing the teams do not).
    let (status, body) = olga.form(&state, "/checkins/pairs", "member=ann");
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("olga leads no [[team]] that ann is in"), "{body}");
    assert_eq!(lee.form(&state, "/checkins/pairs", "member=ann&cadence=weekly").0, StatusCode::SEE_OTHER);
    let (_, pairs) = ann.get(&state, "/api/v1/checkins");
    let pairs: serde_json::Value = serde_json::from_str(&pairs).unwrap();
    assert_eq!((pairs[0]["lead"].as_str(), pairs[0]["due"].as_str()), (Some("lee"), Some("2025-02-07")));
    let pair = pairs[0]["id"].as_i64().unwrap();

    let (status, body) = ann.form(
        &state,
        &format!("/checkins/{pair}"),
        "feeling=4&wins=shipped+the+export&blockers=flaky+CI&help_wanted=&learning_hours=3\
         &talking_point=career+path%0Aon-call+load&action=fix+CI&action_owner=lee&action_due=2025-02-07",
    );
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(ann.form(&state, &format!("/checkins/{pair}"), "feeling=9").0, StatusCode::UNPROCESSABLE_ENTITY);

    // The pair reads it; an admin, another lead and a teammate get what a missing pair gets.
    for who in [&ann, &lee] {
        let (status, body) = who.get(&state, &format!("/api/v1/checkins/{pair}"));
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("shipped the export") && body.contains("on-call load"), "{body}");
        assert_eq!(who.get(&state, &format!("/checkins/{pair}")).0, StatusCode::OK);
    }
    for who in [&ada, &olga, &bob] {
        for uri in [format!("/api/v1/checkins/{pair}"), format!("/checkins/{pair}")] {
            let (status, body) = who.get(&state, &uri);
            assert_eq!(status, StatusCode::NOT_FOUND, "{uri}: {body}");
            assert!(!body.contains("shipped"));
        }
        assert!(!who.get(&state, "/api/v1/checkins").1.contains("shipped"));
        assert!(!who.get(&state, "/api/v1/checkins/export").1.contains("shipped"));
        assert_eq!(who.form(&state, &format!("/checkins/{pair}"), "wins=forged").0, StatusCode::NOT_FOUND);
    }
    for uri in [format!("/api/v1/checkins/{pair}"), format!("/checkins/{pair}"), "/api/v1/checkins/export".to_owned()] {
        let (status, _, body) = call(&state, "GET", &uri, &[("cookie", &viv_cookie)], "");
        assert_eq!(status, StatusCode::FORBIDDEN, "a viewer: {uri}");
        assert!(!body.contains("shipped"));
    }
    let made = fulcrum(["token", "add", "script", "--scope", "read", "--db", s(&scratch.db())]).ok();
    let bearer = format!("Bearer {}", made.stdout.trim());
    let (status, _, _) = call(&state, "GET", &format!("/api/v1/checkins/{pair}"), &[("authorization", &bearer)], "");
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A check-in's comment on a goal stays in the check-in; a manual goal's new value joins the goal.
    let (status, body) = ann.json(
        &state,
        "/api/v1/goals",
        serde_json::json!({
            "title": "Rust course", "due": "2025-06-01", "target": "12", "visibility": "team", "reason": "growth",
        }),
    );
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let goal: serde_json::Value = serde_json::from_str(&body).unwrap();
    let id = goal["id"].as_i64().unwrap();
    let (status, _) =
        ann.form(&state, &format!("/checkins/{pair}"), &format!("goal_{id}=secret+comment&goal_value_{id}=3"));
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, seen) = bob.get(&state, "/api/v1/goals");
    assert!(seen.contains("Rust course") && !seen.contains("secret comment"), "{seen}");
    let seen: serde_json::Value = serde_json::from_str(&seen).unwrap();
    assert_eq!(seen[0]["values"][0]["value"].as_f64(), Some(3.0));
    assert!(ann.get(&state, &format!("/api/v1/checkins/{pair}")).1.contains("secret comment"));

    // Talking points carry over until ticked off; the member exports hers.
    let (_, data) = lee.get(&state, &format!("/api/v1/checkins/{pair}"));
    let data: serde_json::Value = serde_json::from_str(&data).unwrap();
    let point = data["talking_points"][0]["id"].as_i64().unwrap();
    let action = data["action_items"][0]["id"].as_i64().unwrap();
    assert_eq!(data["action_items"][0]["due_at"].as_i64(), Some(utc("2025-02-07 00:00")));
    let (status, _) =
        lee.form(&state, &format!("/checkins/{pair}"), &format!("wins=&point_done={point}&action_done={action}"));
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, data) = ann.get(&state, &format!("/api/v1/checkins/{pair}"));
    let data: serde_json::Value = serde_json::from_str(&data).unwrap();
    let open: Vec<&str> = data["talking_points"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["done"].is_null())
        .map(|p| p["text"].as_str().unwrap())
        .collect();
    assert_eq!(open, ["on-call load"]);
    assert!(!data["action_items"][0]["done"].is_null());
    let (_, export) = ann.get(&state, "/api/v1/checkins/export");
    let export: serde_json::Value = serde_json::from_str(&export).unwrap();
    assert_eq!(export["member"], "ann");
    assert_eq!(export["pairs"][0]["checkins"].as_array().unwrap().len(), 3);
    assert!(lee.get(&state, "/api/v1/checkins/export").1.contains("\"pairs\":[]"), "the lead is no member here");
}

/// The survey's answers as stored, and every column of the answers' table.
fn stored_answers(db: &Path) -> (String, Vec<String>) {
    let store = open_db(db);
    let answers = store.value::<String>("SELECT answers FROM survey_answers WHERE survey_id = 1");
    let columns = if postgres().is_some() {
        store.column::<String>("SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'survey_answers' ORDER BY ordinal_position")
    } else {
        store.column::<String>("SELECT name FROM pragma_table_info('survey_answers') ORDER BY cid")
    };
    (answers, columns)
}

#[test]
fn the_pulse_is_anonymous_and_cannot_be_differenced() {
    let scratch = Scratch::new("people_pulse");
    let now = "2025-01-31T00:00:00Z";
    let state = people_server(
        &scratch,
        now,
        &[("ada", "admin"), ("lee", "lead"), ("olga", "lead"), ("ann", "member"), ("bob", "member"), ("oz", "member")],
    );
    let (ann, lee, olga, bob, oz) = (
        session(&state, "ann"),
        session(&state, "lee"),
        session(&state, "olga"),
        session(&state, "bob"),
        session(&state, "oz"),
    );
    // Refusals: a member opens nothing; a lead opens their own team's surveys only; too small a team.
    assert_eq!(ann.form(&state, "/surveys", "team=shop&closes=2025-02-15").0, StatusCode::FORBIDDEN);
    let (status, body) = olga.form(&state, "/surveys", "team=shop&closes=2025-02-15");
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = olga.form(&state, "/surveys", "team=other&closes=2025-02-15");
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("fewer than the anonymity threshold of 3"), "{body}");
    assert!(lee.form(&state, "/surveys", "team=shop&closes=2025-02-15&min_group=2").1.contains("at least 3"));

    let (status, page) = lee.form(&state, "/surveys", "team=shop&title=January+pulse&closes=2025-02-15");
    assert_eq!(status, StatusCode::CREATED, "{page}");
    let links: Vec<(String, String)> = page
        .lines()
        .filter_map(|l| {
            let (person, rest) = l.strip_prefix("<li>")?.split_once(": <code>/pulse/")?;
            Some((person.to_owned(), rest.split('<').next()?.to_owned()))
        })
        .collect();
    // Links only for the invitees without an account; ann and bob answer on the page.
    assert_eq!(links.iter().map(|l| l.0.as_str()).collect::<Vec<_>>(), ["cat", "dan", "eve"]);
    let link = |name: &str| links.iter().find(|l| l.0 == name).unwrap().1.clone();

    let answer = "q_clarity=4&q_safety=5&q_failure=3&q_focus=2&q_growth=4&q_recognition=3&q_availability=5&q_pressure=4&q_recommend=9&text=secret+words";
    assert!(ann.get(&state, "/surveys/1").1.contains("Send my answer"));
    let (status, body) = ann.form(&state, "/surveys/1/answer", answer);
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(ann.form(&state, "/surveys/1/answer", answer).0, StatusCode::CONFLICT, "one answer each");
    assert_eq!(
        bob.form(&state, "/surveys/1/answer", "q_clarity=9").0,
        StatusCode::UNPROCESSABLE_ENTITY,
        "out of scale"
    );
    assert_eq!(bob.form(&state, "/surveys/1/answer", "q_clarity=2&q_recommend=6").0, StatusCode::OK);
    assert_eq!(oz.form(&state, "/surveys/1/answer", answer).0, StatusCode::NOT_FOUND, "not of the team");
    // One-time links: no account, used once.
    let (status, _, form) = call(&state, "GET", &format!("/pulse/{}", link("dan")), &[], "");
    assert_eq!(status, StatusCode::OK, "{form}");
    assert_eq!(
        call(&state, "POST", &format!("/pulse/{}", link("dan")), &[], "q_clarity=3&q_recommend=10").0,
        StatusCode::OK
    );
    assert_eq!(call(&state, "POST", &format!("/pulse/{}", link("dan")), &[], "q_clarity=3").0, StatusCode::NOT_FOUND);
    assert_eq!(call(&state, "GET", &format!("/pulse/{}", link("dan")), &[], "").0, StatusCode::NOT_FOUND);
    assert_eq!(call(&state, "GET", "/pulse/not-a-link", &[], "").0, StatusCode::NOT_FOUND);

    // Open: no results, however many answered.
    let (_, surveys) = lee.get(&state, "/api/v1/surveys");
    let surveys: serde_json::Value = serde_json::from_str(&surveys).unwrap();
    assert_eq!(
        (surveys[0]["answered"].as_i64(), surveys[0]["outcome"]["withheld"]["reason"].as_str()),
        (None, Some("open")),
        "no count while open: a count that moves times each answer"
    );

    // Stored: no respondent, account, link or time; free text was off, so not kept.
    let (answers, columns) = stored_answers(&scratch.db());
    assert_eq!(columns, ["survey_id", "answers"]);
    for name in ["ann", "bob", "dan", "secret", &link("eve")] {
        assert!(!answers.contains(name), "{name} in {answers}");
    }
    assert!(
        !open_db(&scratch.db())
            .column::<String>("SELECT COALESCE(token_hash, '') FROM survey_invitees")
            .contains(&crate::people::sha(&link("dan")))
    );

    assert_eq!(ann.form(&state, "/surveys/1/close", "").0, StatusCode::FORBIDDEN);
    assert_eq!(lee.form(&state, "/surveys/1/close", "").0, StatusCode::SEE_OTHER);
    assert_eq!(call(&state, "POST", &format!("/pulse/{}", link("eve")), &[], "q_clarity=3").0, StatusCode::CONFLICT);
    let (_, surveys) = ann.get(&state, "/api/v1/surveys");
    let surveys: serde_json::Value = serde_json::from_str(&surveys).unwrap();
    let results = &surveys[0]["outcome"]["results"];
    assert_eq!(results["respondents"], 3);
    // clarity 4, 2, 3: mean 3; recommend 9, 6, 10: one detractor, two promoters.
    assert_eq!(results["questions"][0]["mean"].as_f64(), Some(3.0));
    assert!((results["questions"][8]["net_score"].as_f64().unwrap() - 100.0 / 3.0).abs() < 1e-9);
    assert_eq!(results["comments"], serde_json::json!([]));
    let (_, page) = lee.get(&state, "/surveys/1");
    assert!(page.contains("data-figures") && page.contains("pickup.median"), "{page}");
    assert!(olga.get(&state, "/api/v1/surveys").1 == "[]", "another team's lead sees nothing");

    // The same team again with one more person: subtracting would give cat's answers.
    let (status, page) = lee.form(&state, "/surveys", "team=shop&title=February&closes=2025-02-20");
    assert_eq!(status, StatusCode::CREATED);
    let token_of = |page: &str, name: &str| {
        page.lines()
            .find_map(|l| l.strip_prefix(&format!("<li>{name}: <code>/pulse/")))
            .unwrap()
            .split('<')
            .next()
            .unwrap()
            .to_owned()
    };
    for who in [&ann, &bob] {
        assert_eq!(who.form(&state, "/surveys/2/answer", "q_clarity=1").0, StatusCode::OK);
    }
    for name in ["cat", "dan"] {
        let token = token_of(&page, name);
        assert_eq!(call(&state, "POST", &format!("/pulse/{token}"), &[], "q_clarity=1").0, StatusCode::OK);
    }
    lee.form(&state, "/surveys/2/close", "");
    let (_, surveys) = lee.get(&state, "/api/v1/surveys");
    let surveys: serde_json::Value = serde_json::from_str(&surveys).unwrap();
    assert_eq!(surveys[1]["outcome"]["withheld"], serde_json::json!({"reason": "differencing", "with": 1}));
    assert!(surveys[1]["outcome"].get("results").is_none());
    assert!(lee.get(&state, "/surveys/2").1.contains("differ from survey #1 by too few people"));
    // Forgetting a person changes no decision already made.
    fulcrum(["person", "forget", "cat", "--yes", "--db", s(&scratch.db())]).ok();
    let (_, again) = lee.get(&state, "/api/v1/surveys");
    let again: serde_json::Value = serde_json::from_str(&again).unwrap();
    assert_eq!(again[1]["outcome"]["withheld"], serde_json::json!({"reason": "differencing", "with": 1}));
    assert_eq!(again[0]["outcome"]["released"], true);

    // The same three people as the first: nothing to subtract. Free text on: shown, shuffled, among three.
    let (_, page) = lee.form(&state, "/surveys", "team=shop&title=March&closes=2025-02-25&free_text=on");
    for (who, name) in [(&ann, "ann"), (&bob, "bob")] {
        let body = format!("q_clarity=5&text=note+from+{name}");
        assert_eq!(who.form(&state, "/surveys/3/answer", &body).0, StatusCode::OK);
    }
    let token = token_of(&page, "dan");
    assert_eq!(
        call(&state, "POST", &format!("/pulse/{token}"), &[], "q_clarity=5&text=note+from+dan").0,
        StatusCode::OK
    );
    lee.form(&state, "/surveys/3/close", "");
    let (_, surveys) = lee.get(&state, "/api/v1/surveys");
    let surveys: serde_json::Value = serde_json::from_str(&surveys).unwrap();
    let third = &surveys[2]["outcome"];
    assert_eq!(third["released"], true, "{third}");
    assert_eq!(third["results"]["comments"].as_array().unwrap().len(), 3);
    assert_eq!(third["results"]["questions"][0]["mean"].as_f64(), Some(5.0));
    let (_, list) = lee.get(&state, "/surveys");
    assert!(list.contains("clarity 3.0") && list.contains("clarity 5.0"), "the trend across surveys: {list}");
}

/// SHA-256 in hex, as the server keeps a link.
pub fn sha(text: &str) -> String {
    use std::fmt::Write as _;
    ring::digest::digest(&ring::digest::SHA256, text.as_bytes()).as_ref().iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

// ---------------------------------------------------------------- respect

const PERSON_KEYS: [&str; 9] = ["name", "email", "author", "person", "login", "reviewer", "member", "owner", "who"];
const OUTPUT_WORDS: [&str; 8] =
    ["commit", "line", "addition", "deletion", "pull_request", "prs", "review", "pull request"];

/// Whether `values` (two or more, not all equal) never rise: a ranking.
fn ranked(values: &[f64]) -> bool {
    values.len() >= 2 && values.windows(2).all(|w| w[0] >= w[1]) && values.first() != values.last()
}

fn is_output(key: &str) -> bool {
    let key = key.to_lowercase();
    OUTPUT_WORDS.iter().any(|w| key.contains(w))
}

/// Lists of people ordered by a count of output, anywhere in `value`.
fn rankings_in_json(value: &serde_json::Value, path: &str, found: &mut Vec<String>) {
    match value {
        serde_json::Value::Array(items) => {
            let objects: Vec<&serde_json::Map<String, serde_json::Value>> =
                items.iter().filter_map(|i| i.as_object()).collect();
            if objects.len() == items.len() && objects.len() >= 2 {
                let names_people = objects.iter().all(|o| PERSON_KEYS.iter().any(|k| o.contains_key(*k)));
                if names_people {
                    for key in objects[0].keys().filter(|k| is_output(k)) {
                        let values: Vec<f64> =
                            objects.iter().filter_map(|o| o.get(key).and_then(|v| v.as_f64())).collect();
                        if values.len() == objects.len() && ranked(&values) {
                            found.push(format!("{path}: people ordered by `{key}`"));
                        }
                    }
                }
            }
            for (i, item) in items.iter().enumerate() {
                rankings_in_json(item, &format!("{path}[{i}]"), found);
            }
        }
        serde_json::Value::Object(map) => {
            for (key, item) in map {
                rankings_in_json(item, &format!("{path}.{key}"), found);
            }
        }
        _ => {}
    }
}

/// Tables (HTML or CSV rows) with a person column ordered by an output column.
fn rankings_in_table(header: &[String], rows: &[Vec<String>], what: &str, found: &mut Vec<String>) {
    let person = header.iter().any(|h| PERSON_KEYS.iter().any(|k| h.to_lowercase().contains(k)));
    if !person {
        return;
    }
    for (column, name) in header.iter().enumerate().filter(|(_, h)| is_output(h)) {
        let values: Vec<f64> = rows.iter().filter_map(|r| r.get(column)?.trim().parse().ok()).collect();
        if values.len() == rows.len() && ranked(&values) {
            found.push(format!("{what}: people ordered by `{name}`"));
        }
    }
}

fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in html.chars() {
        match c {
            '<' => inside = true,
            '>' => inside = false,
            c if !inside => out.push(c),
            _ => {}
        }
    }
    out.trim().to_owned()
}

fn rankings_in_html(page: &str, what: &str, found: &mut Vec<String>) {
    for table in page.split("<table").skip(1) {
        let table = table.split("</table>").next().unwrap_or("");
        let header: Vec<String> = table
            .split("<th")
            .skip(1)
            .map(|c| strip_tags(&format!("<th{}", c.split("</th>").next().unwrap_or(""))))
            .collect();
        let rows: Vec<Vec<String>> = table
            .split("<tr")
            .skip(1)
            .filter(|r| r.contains("<td"))
            .map(|r| {
                r.split("<td")
                    .skip(1)
                    .map(|c| strip_tags(&format!("<td{}", c.split("</td>").next().unwrap_or(""))))
                    .collect()
            })
            .collect();
        rankings_in_table(&header, &rows, what, found);
    }
}

#[test]
fn no_route_ranks_people_by_output() {
    // The detector finds what it looks for.
    let mut found = Vec::new();
    rankings_in_json(
        &serde_json::json!({"top": [{"author": "a", "commits": 9}, {"author": "b", "commits": 3}]}),
        "x",
        &mut found,
    );
    rankings_in_html(
        "<table><tr><th>Reviewer</th><th>Reviews</th></tr><tr><td>a</td><td>5</td></tr><tr><td>b</td><td>2</td></tr></table>",
        "y",
        &mut found,
    );
    assert_eq!(found.len(), 2, "{found:?}");
    found.clear();

    let scratch = Scratch::new("people_respect");
    let now = "2025-01-31T00:00:00Z";
    let delivery = scratch.copy_repo("delivery");
    let state = people_server(&scratch, now, &[("ada", "admin"), ("lee", "lead"), ("ann", "member")]);
    at(&scratch, now, &["sync", "--repo", s(&delivery)]).ok();
    let mut state = state;
    state.repos = Arc::new(vec![delivery.clone()]);
    let (ada, lee, ann) = (session(&state, "ada"), session(&state, "lee"), session(&state, "ann"));
    lee.form(&state, "/checkins/pairs", "member=ann");
    ann.form(&state, "/checkins/1", "wins=w&learning_hours=2");
    ann.json(&state, "/api/v1/goals", serde_json::json!({"title": "g", "metric": "pickup.p75", "scope": "service:shop", "target": "2h", "due": "2025-04-01", "window_days": 31}));
    lee.form(&state, "/surveys", "team=shop&closes=2025-02-15");

    let mut visited = 0;
    for who in [&ada, &lee, &ann] {
        let mut downloads = Vec::new();
        for (method, path, _) in fulcrum::server::routes() {
            if method != "get" || path.contains("{page}") {
                continue;
            }
            let uri = path.replace("{id}", "1").replace("{pair}", "1").replace("{token}", "none");
            let (status, body) = who.get(&state, &uri);
            if !status.is_success() {
                continue;
            }
            visited += 1;
            match serde_json::from_str::<serde_json::Value>(&body) {
                Ok(json) => rankings_in_json(&json, &uri, &mut found),
                Err(_) => rankings_in_html(&body, &uri, &mut found),
            }
            downloads.extend(
                body.split("href=\"/download/")
                    .skip(1)
                    .filter_map(|l| l.split('"').next())
                    .map(|l| format!("/download/{}", l.replace("&amp;", "&"))),
            );
        }
        for uri in downloads {
            let (status, body) = who.get(&state, &uri);
            assert_eq!(status, StatusCode::OK, "{uri}");
            visited += 1;
            match serde_json::from_str::<serde_json::Value>(&body) {
                Ok(json) => rankings_in_json(&json, &uri, &mut found),
                Err(_) => {
                    let mut lines = body.lines().map(|l| l.split(',').map(str::to_owned).collect::<Vec<_>>());
                    let header = lines.next().unwrap_or_default();
                    rankings_in_table(&header, &lines.collect::<Vec<_>>(), &uri, &mut found);
                }
            }
        }
    }
    assert!(visited > 60, "{visited} answers walked");
    assert!(found.is_empty(), "rankings of people: {found:#?}");
}
