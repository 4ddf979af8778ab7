//! People on the team server: goals (`/goals`), check-ins between a member
//! and their lead (`/checkins`), and the anonymous pulse (`/surveys`,
//! `/pulse/TOKEN`), as pages and as JSON under `/api/v1/`.
//!
//! Who sees what (single-user mode: the person at the keyboard sees all):
//! - a goal: its owner; `private` also the owner's lead (a lead of a
//!   `[[team]]` the owner is in, or of a check-in pair); `team` the people
//!   of the owner's teams; `everyone` every account;
//! - a check-in pair: its member and its lead, nobody else (admins and
//!   other leads get the same 404 as for a pair that does not exist);
//! - a survey: the team's members and leads, and admins; its results only
//!   when `fulcrum_core::pulse` releases them.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use axum::Json;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use fulcrum_core::pulse::{self, Answers, Question, Respondents, Withheld};
use serde::Deserialize;
use serde_json::json;

use super::accounts::Role;
use super::session::{Viewer, banner, form_refusal, page};
use super::{ApiError, ServerState, blocking, escape, refusal};
use crate::analyses::goals::{self as goal_metrics, GoalView};
use crate::app::{self, Context, goals};
use crate::config::Config;
use crate::error::UsageError;
use crate::store::{AnswerRefusal, NewCheckin, PairRow, Respondent, Store, SurveyRow};

const DAY: i64 = 86_400;

/// Who asks: the person at the keyboard (single-user mode) or an account.
#[derive(Debug, Clone)]
pub enum Me {
    /// Single-user mode: sees and does everything.
    Keyboard,
    /// A signed-in account.
    Account(Viewer),
}

impl Me {
    fn from(viewer: Option<axum::Extension<Viewer>>) -> Me {
        viewer.map_or(Me::Keyboard, |v| Me::Account(v.0))
    }

    fn name(&self) -> Option<&str> {
        match self {
            Me::Keyboard => None,
            Me::Account(v) => Some(&v.name),
        }
    }

    fn viewer(&self) -> Option<&Viewer> {
        match self {
            Me::Keyboard => None,
            Me::Account(v) => Some(v),
        }
    }

    fn is(&self, name: &str) -> bool {
        self.name() == Some(name)
    }

    fn admin(&self) -> bool {
        match self {
            Me::Keyboard => true,
            Me::Account(v) => v.role >= Role::Admin,
        }
    }
}

/// Who leads whom: the teams of the configuration and the check-in pairs.
pub struct Relations {
    /// The configuration's teams.
    pub config: Config,
    /// Every check-in pair.
    pub pairs: Vec<PairRow>,
}

impl Relations {
    fn load(context: &Context, store: &Store) -> anyhow::Result<Relations> {
        Ok(Relations { config: app::organisation_config(context)?, pairs: store.pairs()? })
    }

    /// Whether `lead` leads `person`.
    pub fn leads(&self, lead: &str, person: &str) -> bool {
        self.pairs.iter().any(|p| p.lead == lead && p.member == person)
            || self
                .config
                .teams
                .iter()
                .any(|t| t.leads.iter().any(|l| l == lead) && t.members.iter().any(|m| m == person))
    }

    /// The teams `person` is a member or a lead of.
    pub fn teams_of(&self, person: &str) -> BTreeSet<&str> {
        self.config
            .teams
            .iter()
            .filter(|t| t.members.iter().chain(&t.leads).any(|m| m == person))
            .map(|t| t.name.as_str())
            .collect()
    }

    fn leads_team(&self, person: &str, team: &str) -> bool {
        self.config.teams.iter().any(|t| t.name == team && t.leads.iter().any(|l| l == person))
    }
}

/// Whether `me` may see goal `g`.
fn sees_goal(me: &Me, relations: &Relations, g: &GoalView) -> bool {
    let Some(name) = me.name() else { return true };
    let goal = &g.goal;
    if goal.visibility == "everyone" {
        return true;
    }
    match goal.owner_kind.as_str() {
        "person" if goal.owner == name => true,
        "person" if goal.visibility == "private" => relations.leads(name, &goal.owner),
        "person" => !relations.teams_of(name).is_disjoint(&relations.teams_of(&goal.owner)),
        _ if goal.visibility == "private" => relations.leads_team(name, &goal.owner),
        _ => relations.teams_of(name).contains(goal.owner.as_str()),
    }
}

/// Whether `me` may set a goal for `owner` (`team:NAME` or a person).
fn may_set_goal(me: &Me, relations: &Relations, owner: &str) -> bool {
    let Some(name) = me.name() else { return true };
    match owner.strip_prefix("team:") {
        Some(team) => relations.leads_team(name, team) || me.admin(),
        None => owner == name || relations.leads(name, owner),
    }
}

/// The field an input error is about, from the flag its message names.
fn field_of(message: &str) -> &'static str {
    for field in
        ["title", "metric", "scope", "directory", "target", "due", "owner", "parent", "reason", "visibility", "window"]
    {
        if message.contains(&format!("--{field}")) {
            return field;
        }
    }
    if message.contains("already met") {
        "target"
    } else if message.contains("has no data") {
        "scope"
    } else if message.contains("title") {
        "title"
    } else {
        "request"
    }
}

/// A 4xx naming the field, or the error as the API answers it.
fn input_error(error: anyhow::Error) -> Response {
    match crate::error::kind(&error) {
        crate::error::ErrorKind::Input => {
            let message = format!("{error:#}");
            let field = field_of(&message);
            unprocessable(message, field)
        }
        crate::error::ErrorKind::Internal => ApiError::from(error).into_response(),
    }
}

/// A 422 naming the field at fault.
fn unprocessable(message: impl Into<String>, field: &str) -> Response {
    (StatusCode::UNPROCESSABLE_ENTITY, Json(json!({ "error": message.into(), "field": field }))).into_response()
}

fn not_found(what: &str) -> Response {
    refusal(StatusCode::NOT_FOUND, &format!("no such {what}"))
}

fn csrf_field(me: &Me) -> String {
    me.viewer()
        .map(|v| format!("<input type=\"hidden\" name=\"csrf\" value=\"{}\">", escape(&v.csrf)))
        .unwrap_or_default()
}

fn nav(current: &str) -> String {
    let mut out = String::from("<nav><a href=\"/\">Delivery</a> ");
    for (path, name) in [("/goals", "Goals"), ("/checkins", "Check-ins"), ("/surveys", "Pulse")] {
        if path == current {
            let _ = write!(out, "<strong>{name}</strong> ");
        } else {
            let _ = write!(out, "<a href=\"{path}\">{name}</a> ");
        }
    }
    out.push_str("</nav>\n");
    out
}

fn private_html(title: &str, body: String) -> Response {
    let mut response = Html(page(title, &body)).into_response();
    // Pages about people are never kept by a shared cache.
    response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("private, no-store"));
    response
}

// ---------------------------------------------------------------- goals

/// The goals `me` may see.
fn visible_goals(context: &Context, me: &Me, closed: bool) -> anyhow::Result<Vec<GoalView>> {
    let store = app::open_store(&context.db, false)?;
    let relations = Relations::load(context, &store)?;
    let all = goals::list(context, closed)?;
    Ok(all.into_iter().filter(|g| sees_goal(me, &relations, g)).collect())
}

/// `GET /api/v1/goals`: the goals the caller may see, open and closed.
pub async fn goals_api(
    State(state): State<ServerState>,
    viewer: Option<axum::Extension<Viewer>>,
) -> Result<Response, ApiError> {
    let me = Me::from(viewer);
    let context = (state.context)();
    let goals = blocking(move || visible_goals(&context, &me, true)).await?;
    Ok(Json(goals).into_response())
}

/// `GET /api/v1/goals/{id}`.
pub async fn goal_api(
    State(state): State<ServerState>,
    viewer: Option<axum::Extension<Viewer>>,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let me = Me::from(viewer);
    let context = (state.context)();
    let goal = blocking(move || find_goal(&context, &me, id)).await?;
    Ok(match goal {
        Some(goal) => Json(goal).into_response(),
        None => not_found("goal"),
    })
}

fn find_goal(context: &Context, me: &Me, id: i64) -> anyhow::Result<Option<GoalView>> {
    let store = app::open_store(&context.db, false)?;
    let relations = Relations::load(context, &store)?;
    let Some(row) = store.goal(id)? else { return Ok(None) };
    let view = goal_metrics::view(&row, store.goal_values(id)?, context.now);
    Ok(sees_goal(me, &relations, &view).then_some(view))
}

/// A goal as the API and the form send it.
#[derive(Debug, Default, Deserialize)]
pub struct GoalInput {
    title: String,
    #[serde(default)]
    metric: Option<String>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    directory: Option<String>,
    #[serde(default)]
    target: Option<String>,
    due: String,
    #[serde(default)]
    owner: Option<String>,
    #[serde(default)]
    parent: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    visibility: Option<String>,
    #[serde(default)]
    window_days: Option<String>,
    #[serde(default)]
    anyway: Option<String>,
    #[serde(default)]
    csrf: String,
}

fn blank(value: &Option<String>) -> Option<String> {
    value.as_ref().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn set_goal(state: &ServerState, context: &Context, me: &Me, input: &GoalInput) -> anyhow::Result<GoalView> {
    let store = app::open_store(&context.db, false)?;
    let relations = Relations::load(context, &store)?;
    drop(store);
    // Default: the scope's team when the scope is a team, else the person asking.
    let owner = blank(&input.owner)
        .or_else(|| blank(&input.scope).filter(|s| s.starts_with("team:")))
        .or_else(|| me.name().map(str::to_owned));
    let owner_text = owner.clone().unwrap_or_default();
    if owner.is_some() && !may_set_goal(me, &relations, &owner_text) {
        return Err(UsageError(format!(
            "--owner {owner_text}: you may set goals for yourself, for people you lead and for teams you lead"
        ))
        .into());
    }
    let number = |value: &Option<String>, flag: &str| -> anyhow::Result<Option<i64>> {
        blank(value)
            .map(|v| v.parse::<i64>().map_err(|_| UsageError(format!("--{flag} {v}: a whole number")).into()))
            .transpose()
    };
    // A parent goal the caller may not see is no goal at all to them.
    if let Some(parent) = number(&input.parent, "parent")?
        && find_goal(context, me, parent)?.is_none()
    {
        return Err(UsageError(format!("--parent {parent}: no such goal")).into());
    }
    let scope = blank(&input.scope)
        .or_else(|| blank(&input.metric).and(state.repos.first().map(|repo| format!("repo:{}", repo.display()))));
    let request = goals::GoalRequest {
        owner,
        title: input.title.clone(),
        metric: blank(&input.metric),
        scope,
        directory: blank(&input.directory),
        target: blank(&input.target),
        due: input.due.clone(),
        parent: number(&input.parent, "parent")?,
        reason: blank(&input.reason),
        visibility: blank(&input.visibility),
        window_days: number(&input.window_days, "window")?,
        created_by: me.name().map(str::to_owned),
        anyway: matches!(input.anyway.as_deref(), Some("on" | "true" | "1")),
    };
    goals::add(context, &request)
}

/// `POST /api/v1/goals` (JSON): 201 with the goal, or 422 naming the field.
pub async fn goals_post_api(
    State(state): State<ServerState>,
    viewer: Option<axum::Extension<Viewer>>,
    headers: HeaderMap,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, ApiError> {
    if super::session::cross_site(&headers) {
        return Ok(refusal(
            StatusCode::FORBIDDEN,
            "this request is accepted from fulcrum's own pages and scripts only",
        ));
    }
    let me = Me::from(viewer);
    // Numbers and booleans are taken as the form takes them: as text.
    let mut body = body;
    if let Some(object) = body.as_object_mut() {
        for value in object.values_mut() {
            if value.is_number() || value.is_boolean() {
                *value = serde_json::Value::String(value.to_string());
            }
        }
    }
    let input: GoalInput = match serde_json::from_value(body) {
        Ok(input) => input,
        Err(e) => {
            return Ok(unprocessable(e.to_string(), "request"));
        }
    };
    let context = (state.context)();
    let cache = state.cache.clone();
    let outcome = blocking(move || Ok(set_goal(&state, &context, &me, &input))).await?;
    cache.invalidate();
    Ok(match outcome {
        Ok(goal) => (StatusCode::CREATED, Json(goal)).into_response(),
        Err(e) => input_error(e),
    })
}

/// `POST /goals` (the form): to the goal's page, or the list with the reason.
pub async fn goals_post(
    State(state): State<ServerState>,
    viewer: Option<axum::Extension<Viewer>>,
    headers: HeaderMap,
    Form(input): Form<GoalInput>,
) -> Result<Response, ApiError> {
    let me = Me::from(viewer);
    if let Some(refused) = form_refusal(me.viewer(), &headers, &input.csrf) {
        return Ok(refused);
    }
    let context = (state.context)();
    let cache = state.cache.clone();
    let for_page = state.clone();
    let me2 = me.clone();
    let outcome = blocking(move || Ok(set_goal(&state, &context, &me2, &input))).await?;
    cache.invalidate();
    match outcome {
        Ok(goal) => Ok(Redirect::to(&format!("/goals/{}", goal.goal.id)).into_response()),
        Err(e) if crate::error::kind(&e) == crate::error::ErrorKind::Input => {
            let message = format!("{e:#}");
            let context = (for_page.context)();
            let body = blocking(move || goals_body(&context, &me, Some(&message))).await?;
            let mut response = private_html("fulcrum · goals", body);
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
        Err(e) => Err(e.into()),
    }
}

fn status_cell(g: &GoalView) -> String {
    match &g.progress {
        Some(p) => format!("{:?}", p.status)
            .to_lowercase()
            .replace("ontrack", "on track")
            .replace("atrisk", "at risk")
            .replace("offtrack", "off track"),
        None if g.goal.metric.is_none() => "manual".to_owned(),
        None => "no value".to_owned(),
    }
}

fn goals_body(context: &Context, me: &Me, message: Option<&str>) -> anyhow::Result<String> {
    let goals = visible_goals(context, me, true)?;
    let mut body = banner(me.viewer());
    body.push_str(&nav("/goals"));
    body.push_str("<h1>Goals</h1>\n");
    if let Some(message) = message {
        let _ = writeln!(body, "<p role=\"alert\">{}</p>", escape(message));
    }
    body.push_str(
        "<table data-table=\"goals\"><thead><tr><th>Goal</th><th>Owner</th><th>Measured by</th><th>Target</th>\
         <th>Due</th><th>Progress</th><th>Status</th></tr></thead><tbody>\n",
    );
    for g in &goals {
        let _ = writeln!(
            body,
            "<tr data-goal=\"{0}\"><td><a href=\"/goals/{0}\">{1}</a></td><td>{2} {3}</td><td>{4}</td><td>{5}</td><td>{6}</td><td>{7}</td><td>{8}</td></tr>",
            g.goal.id,
            escape(&g.goal.title),
            escape(&g.goal.owner_kind),
            escape(&g.goal.owner),
            escape(g.goal.metric.as_deref().unwrap_or("manual")),
            escape(g.target_shown.as_deref().unwrap_or("")),
            escape(&g.due),
            g.progress.as_ref().map(|p| format!("{:.0}%", p.share * 100.0)).unwrap_or_default(),
            escape(g.goal.outcome.as_deref().unwrap_or(&status_cell(g)))
        );
    }
    body.push_str("</tbody></table>\n");
    if goals.is_empty() {
        body.push_str("<p>No goals you can see yet.</p>\n");
    }
    let metrics: String =
        goal_metrics::METRICS.iter().map(|m| format!("<option value=\"{0}\">{0}</option>", m.name)).collect();
    let _ = writeln!(
        body,
        "<h2>Set a goal</h2><form method=\"post\" action=\"/goals\">{}\
         <label>Title <input name=\"title\" required></label> \
         <label>Metric <select name=\"metric\"><option value=\"\">none (manual)</option>{metrics}</select></label> \
         <label>Scope <input name=\"scope\" placeholder=\"team:NAME, repo:PATH or service:NAME\"></label> \
         <label>Target <input name=\"target\" placeholder=\"&lt;= 8h\"></label> \
         <label>Due <input name=\"due\" type=\"date\" required></label> \
         <label>Owner <input name=\"owner\" placeholder=\"you, a person you lead, or team:NAME\"></label> \
         <label>Serves goal <input name=\"parent\" inputmode=\"numeric\"></label> \
         <label>Why <input name=\"reason\"></label> \
         <label>Visible to <select name=\"visibility\"><option value=\"\">default</option><option>private</option><option>team</option><option>everyone</option></select></label> \
         <label><input type=\"checkbox\" name=\"anyway\" value=\"on\"> save even without data or when already met</label> \
         <button>Set the goal</button></form>",
        csrf_field(me)
    );
    Ok(body)
}

/// `GET /goals`.
pub async fn goals_page(
    State(state): State<ServerState>,
    viewer: Option<axum::Extension<Viewer>>,
) -> Result<Response, ApiError> {
    let me = Me::from(viewer);
    let context = (state.context)();
    let body = blocking(move || goals_body(&context, &me, None)).await?;
    Ok(private_html("fulcrum · goals", body))
}

/// A line chart of a goal's values with its target line, as SVG.
pub fn goal_chart(g: &GoalView) -> String {
    let points: Vec<(i64, f64)> = g.values.iter().filter_map(|v| v.value.map(|x| (v.day, x))).collect();
    let (width, height) = (640.0, 180.0);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"values of goal {}\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" data-points=\"{}\">",
        g.goal.id,
        points.len()
    );
    let start = g.goal.created_at.min(points.first().map_or(i64::MAX, |p| p.0));
    let end = g.goal.due_at.max(points.last().map_or(0, |p| p.0)).max(start + 1);
    let top = points.iter().map(|p| p.1).chain(g.goal.target).fold(0.0_f64, f64::max).max(f64::MIN_POSITIVE) * 1.1;
    let x = |t: i64| (t - start) as f64 / (end - start) as f64 * (width - 20.0) + 10.0;
    let y = |v: f64| height - 10.0 - v / top * (height - 20.0);
    if let Some(target) = g.goal.target {
        let _ = write!(
            svg,
            "<line data-target x1=\"10\" x2=\"{:.1}\" y1=\"{1:.1}\" y2=\"{1:.1}\" stroke=\"#3c9d5d\" stroke-dasharray=\"6 4\"><title>target {2}</title></line>",
            width - 10.0,
            y(target),
            escape(g.target_shown.as_deref().unwrap_or(""))
        );
    }
    if points.len() > 1 {
        let path: Vec<String> = points.iter().map(|(t, v)| format!("{:.1},{:.1}", x(*t), y(*v))).collect();
        let _ = write!(
            svg,
            "<polyline fill=\"none\" stroke=\"#4a6fa5\" stroke-width=\"2\" points=\"{}\"/>",
            path.join(" ")
        );
    }
    let metric = g.goal.metric.as_deref().and_then(|m| goal_metrics::metric(m).ok());
    for (t, v) in &points {
        let _ = write!(
            svg,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"#4a6fa5\"><title>{}: {}</title></circle>",
            x(*t),
            y(*v),
            fulcrum_core::time::format_date(*t),
            escape(&goal_metrics::show(metric, *v))
        );
    }
    svg.push_str("</svg>");
    svg
}

/// `GET /goals/{id}`.
pub async fn goal_page(
    State(state): State<ServerState>,
    viewer: Option<axum::Extension<Viewer>>,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let me = Me::from(viewer);
    let context = (state.context)();
    let me2 = me.clone();
    let Some(goal) = blocking(move || find_goal(&context, &me2, id)).await? else {
        return Ok(not_found("goal"));
    };
    let mut body = banner(me.viewer());
    body.push_str(&nav("/goals"));
    let _ = writeln!(body, "<h1>Goal #{} · {}</h1>", goal.goal.id, escape(&goal.goal.title));
    let _ = writeln!(body, "<pre>{}</pre>", escape(&crate::render::goals::show(&goal)));
    body.push_str(&goal_chart(&goal));
    if goal.goal.closed_at.is_none() {
        let _ = writeln!(
            body,
            "<form method=\"post\" action=\"/goals/{}/close\">{}<label>Outcome <input name=\"outcome\" placeholder=\"achieved, missed, dropped\"></label> <button>Close the goal</button></form>",
            goal.goal.id,
            csrf_field(&me)
        );
    }
    Ok(private_html("fulcrum · goal", body))
}

/// The close form.
#[derive(Debug, Deserialize)]
pub struct CloseForm {
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /goals/{id}/close`: by whoever may set a goal for its owner.
pub async fn goal_close(
    State(state): State<ServerState>,
    viewer: Option<axum::Extension<Viewer>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<CloseForm>,
) -> Result<Response, ApiError> {
    let me = Me::from(viewer);
    if let Some(refused) = form_refusal(me.viewer(), &headers, &form.csrf) {
        return Ok(refused);
    }
    let context = (state.context)();
    state.cache.invalidate();
    let outcome = blocking(move || {
        let Some(goal) = find_goal(&context, &me, id)? else { return Ok(None) };
        let store = app::open_store(&context.db, false)?;
        let relations = Relations::load(&context, &store)?;
        let owner = match goal.goal.owner_kind.as_str() {
            "team" => format!("team:{}", goal.goal.owner),
            _ => goal.goal.owner.clone(),
        };
        if !may_set_goal(&me, &relations, &owner) {
            return Ok(Some(Err(())));
        }
        Ok(Some(Ok(goals::close(&context, id, Some(form.outcome.as_str()).filter(|o| !o.trim().is_empty()))?)))
    })
    .await?;
    Ok(match outcome {
        None => not_found("goal"),
        Some(Err(())) => refusal(StatusCode::FORBIDDEN, "only the owner, their lead or the team's lead closes a goal"),
        Some(Ok(_)) => Redirect::to(&format!("/goals/{id}")).into_response(),
    })
}

// ---------------------------------------------------------------- check-ins

/// The pair `id` if `me` is its member or its lead (single-user: any).
fn my_pair(store: &Store, me: &Me, id: i64) -> anyhow::Result<Option<PairRow>> {
    Ok(store
        .pairs()?
        .into_iter()
        .find(|p| p.id == id && (matches!(me, Me::Keyboard) || me.is(&p.member) || me.is(&p.lead))))
}

fn pair_json(store: &Store, pair: &PairRow, now: i64) -> anyhow::Result<serde_json::Value> {
    let checkins: Vec<serde_json::Value> = store
        .checkins(pair.id)?
        .into_iter()
        .map(|c| {
            let goals: serde_json::Value = serde_json::from_str(&c.goals).unwrap_or_default();
            json!({
                "id": c.id, "held_at": c.held_at, "date": fulcrum_core::time::format_date(c.held_at),
                "written_by": c.written_by, "feeling": c.feeling, "goals": goals, "wins": c.wins,
                "blockers": c.blockers, "help_wanted": c.help_wanted, "learning_hours": c.learning_hours,
            })
        })
        .collect();
    Ok(json!({
        "pair": pair_summary(pair, now),
        "checkins": checkins,
        "talking_points": store.pair_items(pair.id, false)?,
        "action_items": store.pair_items(pair.id, true)?,
    }))
}

fn pair_summary(pair: &PairRow, now: i64) -> serde_json::Value {
    let due_at = pair.last_checkin_at.unwrap_or(pair.created_at) + pair.cadence_days * DAY;
    json!({
        "id": pair.id, "member": pair.member, "lead": pair.lead, "cadence_days": pair.cadence_days,
        "last_checkin_at": pair.last_checkin_at, "due_at": due_at,
        "due": fulcrum_core::time::format_date(due_at), "overdue": due_at < now,
    })
}

/// `GET /api/v1/checkins`: the caller's pairs (as member and as lead), with when each is due.
pub async fn checkins_api(
    State(state): State<ServerState>,
    viewer: Option<axum::Extension<Viewer>>,
) -> Result<Response, ApiError> {
    let me = Me::from(viewer);
    let context = (state.context)();
    let pairs = blocking(move || {
        let store = app::open_store(&context.db, false)?;
        Ok(store
            .pairs()?
            .iter()
            .filter(|p| matches!(me, Me::Keyboard) || me.is(&p.member) || me.is(&p.lead))
            .map(|p| pair_summary(p, context.now))
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(Json(pairs).into_response())
}

/// `GET /api/v1/checkins/{pair}`: the pair's check-ins, talking points and
/// action items, for its member and its lead only.
pub async fn checkin_api(
    State(state): State<ServerState>,
    viewer: Option<axum::Extension<Viewer>>,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let me = Me::from(viewer);
    let context = (state.context)();
    let answer = blocking(move || {
        let store = app::open_store(&context.db, false)?;
        match my_pair(&store, &me, id)? {
            Some(pair) => Ok(Some(pair_json(&store, &pair, context.now)?)),
            None => Ok(None),
        }
    })
    .await?;
    Ok(answer.map_or_else(|| not_found("check-in pair"), |json| Json(json).into_response()))
}

/// `GET /api/v1/checkins/export`: every check-in of the caller as a member,
/// as a JSON download.
pub async fn checkins_export(
    State(state): State<ServerState>,
    viewer: Option<axum::Extension<Viewer>>,
) -> Result<Response, ApiError> {
    let me = Me::from(viewer);
    let context = (state.context)();
    let export = blocking(move || {
        let store = app::open_store(&context.db, false)?;
        let mut pairs = Vec::new();
        for pair in store.pairs()?.iter().filter(|p| matches!(me, Me::Keyboard) || me.is(&p.member)) {
            pairs.push(pair_json(&store, pair, context.now)?);
        }
        Ok(json!({ "member": me.name(), "pairs": pairs }))
    })
    .await?;
    let mut response = Json(export).into_response();
    response.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        header::HeaderValue::from_static("attachment; filename=\"checkins.json\""),
    );
    response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("private, no-store"));
    Ok(response)
}

/// What a check-in posts (form fields or JSON).
#[derive(Debug, Default)]
struct CheckinInput {
    feeling: Option<i64>,
    wins: String,
    blockers: String,
    help_wanted: String,
    learning_hours: Option<f64>,
    goal_comments: Vec<(i64, String)>,
    /// New values of manual goals (`goal_value_ID`).
    goal_values: Vec<(i64, f64)>,
    talking_points: Vec<String>,
    points_done: Vec<i64>,
    action: Option<(String, String, Option<i64>)>,
    actions_done: Vec<i64>,
}

fn checkin_input(fields: &[(String, String)], now: i64) -> Result<CheckinInput, (String, &'static str)> {
    let mut input = CheckinInput::default();
    let mut action_text = String::new();
    let mut action_owner = String::new();
    let mut action_due = String::new();
    for (key, value) in fields {
        let value = value.trim();
        match key.as_str() {
            "feeling" if !value.is_empty() => match value.parse::<i64>() {
                Ok(v) if (1..=5).contains(&v) => input.feeling = Some(v),
                _ => return Err((format!("feeling {value}: 1 to 5, or empty"), "feeling")),
            },
            "wins" => input.wins = value.to_owned(),
            "blockers" => input.blockers = value.to_owned(),
            "help_wanted" => input.help_wanted = value.to_owned(),
            "learning_hours" if !value.is_empty() => match value.parse::<f64>() {
                Ok(v) if (0.0..=168.0).contains(&v) => input.learning_hours = Some(v),
                _ => return Err((format!("learning_hours {value}: hours, 0 to 168"), "learning_hours")),
            },
            "talking_point" => {
                input.talking_points.extend(value.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned))
            }
            "point_done" => input.points_done.extend(value.parse::<i64>().ok()),
            "action_done" => input.actions_done.extend(value.parse::<i64>().ok()),
            "action" => action_text = value.to_owned(),
            "action_owner" => action_owner = value.to_owned(),
            "action_due" => action_due = value.to_owned(),
            k if k.starts_with("goal_value_") && !value.is_empty() => {
                let Ok(id) = k["goal_value_".len()..].parse::<i64>() else { continue };
                match value.parse::<f64>() {
                    Ok(v) if v.is_finite() => input.goal_values.push((id, v)),
                    _ => return Err((format!("{k} {value}: a number"), "goal_value")),
                }
            }
            k if k.starts_with("goal_") && !value.is_empty() => {
                if let Ok(id) = k["goal_".len()..].parse::<i64>() {
                    input.goal_comments.push((id, value.to_owned()));
                }
            }
            _ => {}
        }
    }
    if !action_text.is_empty() {
        let due = if action_due.is_empty() {
            None
        } else {
            match fulcrum_core::time::parse_instant(&action_due, now) {
                Ok(t) if action_due.len() == 10 => Some(t),
                _ => return Err((format!("action_due {action_due}: a date, YYYY-MM-DD"), "action_due")),
            }
        };
        if action_owner.is_empty() {
            return Err(("an action item needs an owner".into(), "action_owner"));
        }
        input.action = Some((action_text, action_owner, due));
    }
    Ok(input)
}

/// Writes a check-in of `pair` by `me`: the member's goals filled in from
/// their latest values, with the comments given. A manual goal's new value
/// joins its history (without the comment: a goal may be seen by more
/// people than the pair, its comment stays in the check-in).
fn write_checkin(context: &Context, me: &Me, pair: &PairRow, input: CheckinInput) -> anyhow::Result<i64> {
    let mine = |g: &GoalView| g.goal.owner_kind == "person" && g.goal.owner == pair.member;
    if !input.goal_values.is_empty() {
        let open = goals::list(context, false)?;
        for (id, value) in &input.goal_values {
            if open.iter().any(|g| g.goal.id == *id && mine(g) && g.goal.metric.is_none()) {
                goals::record(context, *id, Some(*value), None)?;
            }
        }
    }
    let goals = goals::list(context, false)?;
    let progress: Vec<serde_json::Value> = goals
        .iter()
        .filter(|g| mine(g))
        .map(|g| {
            let comment = input.goal_comments.iter().find(|(id, _)| *id == g.goal.id).map(|(_, c)| c.clone());
            json!({
                "goal": g.goal.id, "title": g.goal.title,
                "value": g.progress.as_ref().map(|p| p.current),
                "share": g.progress.as_ref().map(|p| p.share),
                "status": g.progress.as_ref().map(|p| p.status),
                "comment": comment,
            })
        })
        .collect();
    let writer = me.name().map_or_else(|| "single-user".to_owned(), str::to_owned);
    let checkin = NewCheckin {
        held_at: context.now,
        written_by: writer,
        feeling: input.feeling,
        goals: serde_json::to_string(&progress)?,
        wins: input.wins,
        blockers: input.blockers,
        help_wanted: input.help_wanted,
        learning_hours: input.learning_hours,
        talking_points: input.talking_points,
        points_done: input.points_done,
        actions: input.action.into_iter().collect(),
        actions_done: input.actions_done,
    };
    Ok(app::open_store(&context.db, true)?.add_checkin(pair.id, &checkin)?)
}

/// Writes a check-in of pair `id` from posted `fields`: `None` when `me`
/// is not of the pair, else the check-in's id or the field at fault.
fn checkin_from(
    context: &Context,
    me: &Me,
    id: i64,
    fields: &[(String, String)],
) -> anyhow::Result<Option<Result<i64, Refused>>> {
    let store = app::open_store(&context.db, false)?;
    let Some(pair) = my_pair(&store, me, id)? else { return Ok(None) };
    drop(store);
    Ok(Some(match checkin_input(fields, context.now) {
        Ok(input) => Ok(write_checkin(context, me, &pair, input)?),
        Err(refused) => Err(refused),
    }))
}

fn form_csrf(fields: &[(String, String)]) -> &str {
    fields.iter().find(|(k, _)| k == "csrf").map_or("", |(_, v)| v.as_str())
}

/// `POST /checkins/{pair}` (the form) and, with JSON, `POST /api/v1/checkins/{pair}`.
pub async fn checkin_post(
    State(state): State<ServerState>,
    viewer: Option<axum::Extension<Viewer>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let me = Me::from(viewer);
    if let Some(refused) = form_refusal(me.viewer(), &headers, form_csrf(&fields)) {
        return Ok(refused);
    }
    let context = (state.context)();
    let outcome = blocking(move || checkin_from(&context, &me, id, &fields)).await?;
    Ok(match outcome {
        None => not_found("check-in pair"),
        Some(Err((message, field))) => unprocessable(message, field),
        Some(Ok(_)) => Redirect::to(&format!("/checkins/{id}")).into_response(),
    })
}

/// `POST /api/v1/checkins/{pair}` (JSON object of the form's fields).
pub async fn checkin_post_api(
    State(state): State<ServerState>,
    viewer: Option<axum::Extension<Viewer>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Json(body): Json<serde_json::Map<String, serde_json::Value>>,
) -> Result<Response, ApiError> {
    if super::session::cross_site(&headers) {
        return Ok(refusal(
            StatusCode::FORBIDDEN,
            "this request is accepted from fulcrum's own pages and scripts only",
        ));
    }
    let me = Me::from(viewer);
    let mut fields = Vec::new();
    for (key, value) in body {
        let items = match value {
            serde_json::Value::Array(items) => items,
            other => vec![other],
        };
        for item in items {
            let text = match item {
                serde_json::Value::String(s) => s,
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            };
            fields.push((key.clone(), text));
        }
    }
    let context = (state.context)();
    let outcome = blocking(move || checkin_from(&context, &me, id, &fields)).await?;
    Ok(match outcome {
        None => not_found("check-in pair"),
        Some(Err((message, field))) => unprocessable(message, field),
        Some(Ok(checkin)) => (StatusCode::CREATED, Json(json!({"id": checkin}))).into_response(),
    })
}

/// The pair form.
#[derive(Debug, Deserialize)]
pub struct PairForm {
    member: String,
    #[serde(default)]
    lead: String,
    #[serde(default)]
    cadence: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /checkins/pairs`: a lead pairs with a member (an admin may name the lead).
pub async fn pair_post(
    State(state): State<ServerState>,
    viewer: Option<axum::Extension<Viewer>>,
    headers: HeaderMap,
    Form(form): Form<PairForm>,
) -> Result<Response, ApiError> {
    let me = Me::from(viewer);
    if let Some(refused) = form_refusal(me.viewer(), &headers, &form.csrf) {
        return Ok(refused);
    }
    let lead = match (me.name(), form.lead.trim()) {
        (Some(name), "") => name.to_owned(),
        (Some(name), lead) if lead == name || me.admin() => lead.to_owned(),
        (Some(_), _) => {
            return Ok(refusal(
                StatusCode::FORBIDDEN,
                "a lead pairs with their own members; an admin may name the lead",
            ));
        }
        (None, "") => return Ok(unprocessable("name the lead", "lead")),
        (None, lead) => lead.to_owned(),
    };
    if let Me::Account(v) = &me
        && v.role < Role::Lead
    {
        return Ok(refusal(StatusCode::FORBIDDEN, "leads and admins make check-in pairs"));
    }
    let cadence = match form.cadence.trim() {
        "" | "weekly" | "7" => 7,
        "biweekly" | "every two weeks" | "14" => 14,
        other => {
            return Ok(unprocessable(format!("cadence {other}: weekly or biweekly"), "cadence"));
        }
    };
    let member = form.member.trim().to_owned();
    if member.is_empty() || member == lead {
        return Ok(unprocessable("name the member (not the lead)", "member"));
    }
    let context = (state.context)();
    let made = blocking(move || {
        let store = app::open_store(&context.db, true)?;
        let known: BTreeSet<String> = store.users()?.into_iter().map(|u| u.name).collect();
        if !known.is_empty() && (!known.contains(&member) || !known.contains(&lead)) {
            return Ok(Err(format!("{member} and {lead} both need accounts")));
        }
        // A pair follows the organisation: the lead leads a [[team]] the
        // member is in (so a pair never grants anyone more than the teams do).
        let config = app::organisation_config(&context)?;
        let leads = config.teams.iter().any(|t| t.leads.contains(&lead) && t.members.contains(&member));
        if !known.is_empty() && !leads {
            return Ok(Err(format!(
                "{lead} leads no [[team]] that {member} is in: add {lead} to that team's `leads` in the configuration"
            )));
        }
        Ok(Ok(store.add_pair(&member, &lead, cadence, context.now)?))
    })
    .await?;
    Ok(match made {
        Err(why) => unprocessable(why, "member"),
        Ok(_) => Redirect::to("/checkins").into_response(),
    })
}

/// Learning hours of `team`'s members per month: a month is shown only
/// when at least `min_group` people reported hours in it. The check-ins of
/// `viewer`'s own pairs are left out: they read those already, and could
/// subtract them from the total.
pub fn learning_trend(
    store: &Store,
    members: &[String],
    min_group: usize,
    viewer: Option<&str>,
) -> anyhow::Result<Vec<serde_json::Value>> {
    let rows = store.learning_hours(members, viewer)?;
    let mut months: std::collections::BTreeMap<String, (f64, BTreeSet<String>)> = Default::default();
    for (member, at, hours) in rows {
        let month = fulcrum_core::time::format_date(at)[..7].to_owned();
        let entry = months.entry(month).or_default();
        entry.0 += hours;
        entry.1.insert(member);
    }
    Ok(months
        .into_iter()
        .map(|(month, (hours, people))| {
            if people.len() >= min_group {
                json!({"month": month, "hours": hours, "people": people.len()})
            } else {
                json!({"month": month, "hours": null, "withheld": format!("fewer than {min_group} people reported")})
            }
        })
        .collect())
}

/// `GET /checkins`: the caller's pairs and when each is due; for leads, the
/// team's learning hours (no one's own).
pub async fn checkins_page(
    State(state): State<ServerState>,
    viewer: Option<axum::Extension<Viewer>>,
) -> Result<Response, ApiError> {
    let me = Me::from(viewer);
    let context = (state.context)();
    let body = blocking(move || {
        let store = app::open_store(&context.db, false)?;
        let relations = Relations::load(&context, &store)?;
        let mut body = banner(me.viewer());
        body.push_str(&nav("/checkins"));
        body.push_str("<h1>Check-ins</h1>\n<p>Private to each member and their lead.</p>\n");
        let pairs: Vec<PairRow> = store
            .pairs()?
            .into_iter()
            .filter(|p| matches!(me, Me::Keyboard) || me.is(&p.member) || me.is(&p.lead))
            .collect();
        body.push_str("<table data-table=\"pairs\"><thead><tr><th>Member</th><th>Lead</th><th>Every</th><th>Last</th><th>Due</th></tr></thead><tbody>\n");
        for pair in &pairs {
            let summary = pair_summary(pair, context.now);
            let _ = writeln!(
                body,
                "<tr data-pair=\"{0}\"><td><a href=\"/checkins/{0}\">{1}</a></td><td>{2}</td><td>{3} days</td><td>{4}</td><td>{5}{6}</td></tr>",
                pair.id,
                escape(&pair.member),
                escape(&pair.lead),
                pair.cadence_days,
                pair.last_checkin_at.map(fulcrum_core::time::format_date).unwrap_or_else(|| "never".into()),
                summary["due"].as_str().unwrap_or(""),
                if summary["overdue"] == true { " (overdue)" } else { "" }
            );
        }
        body.push_str("</tbody></table>\n");
        if me.viewer().is_none_or(|v| v.role >= Role::Lead) {
            let _ = writeln!(
                body,
                "<h2>Pair with a member</h2><form method=\"post\" action=\"/checkins/pairs\">{}\
                 <label>Member <input name=\"member\" required></label> \
                 <label>Lead <input name=\"lead\" placeholder=\"you\"></label> \
                 <label>Every <select name=\"cadence\"><option value=\"weekly\">week</option><option value=\"biweekly\">two weeks</option></select></label> \
                 <button>Pair</button></form>",
                csrf_field(&me)
            );
            for team in &relations.config.teams {
                let leads = me.name().is_none_or(|n| team.leads.iter().any(|l| l == n));
                if !leads {
                    continue;
                }
                let trend = learning_trend(&store, &team.members, relations.config.pulse_min_group, me.name())?;
                let _ = writeln!(body, "<h2>Learning hours · {}</h2><ul data-learning=\"{}\">", escape(&team.name), escape(&team.name));
                for month in &trend {
                    let _ = writeln!(
                        body,
                        "<li>{}: {}</li>",
                        month["month"].as_str().unwrap_or(""),
                        match month["hours"].as_f64() {
                            Some(h) => format!("{h:.1} hours, {} people", month["people"]),
                            None => escape(month["withheld"].as_str().unwrap_or("")),
                        }
                    );
                }
                body.push_str("</ul>\n");
            }
        }
        Ok(body)
    })
    .await?;
    Ok(private_html("fulcrum · check-ins", body))
}

/// `GET /checkins/{pair}`: the pair's page, for its member and its lead.
pub async fn checkin_page(
    State(state): State<ServerState>,
    viewer: Option<axum::Extension<Viewer>>,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let me = Me::from(viewer);
    let context = (state.context)();
    let body = blocking(move || {
        let store = app::open_store(&context.db, false)?;
        let Some(pair) = my_pair(&store, &me, id)? else { return Ok(None) };
        let data = pair_json(&store, &pair, context.now)?;
        let goals: Vec<GoalView> = goals::list(&context, false)?
            .into_iter()
            .filter(|g| g.goal.owner_kind == "person" && g.goal.owner == pair.member)
            .collect();
        let mut body = banner(me.viewer());
        body.push_str(&nav("/checkins"));
        let _ = writeln!(
            body,
            "<h1>Check-ins · {} with {}</h1>\n<p><a href=\"/api/v1/checkins/export\">Export my check-ins (JSON)</a></p>",
            escape(&pair.member),
            escape(&pair.lead)
        );
        let open = |items: &serde_json::Value| -> Vec<serde_json::Value> {
            items.as_array().map(|a| a.iter().filter(|i| i["done"].is_null()).cloned().collect()).unwrap_or_default()
        };
        let points = open(&data["talking_points"]);
        let actions = open(&data["action_items"]);
        let mut form = format!("<h2>New check-in</h2><form method=\"post\" action=\"/checkins/{id}\">{}", csrf_field(&me));
        form.push_str("<label>How do you feel (1–5) <input name=\"feeling\" type=\"number\" min=\"1\" max=\"5\"></label>");
        for g in &goals {
            let _ = write!(
                form,
                "<label>{} ({}) <input name=\"goal_{}\" placeholder=\"comment\"></label>",
                escape(&g.goal.title),
                escape(&crate::render::goals::progress_words(g)),
                g.goal.id
            );
            if g.goal.metric.is_none() {
                let _ = write!(
                    form,
                    "<label>its value now <input name=\"goal_value_{}\" inputmode=\"decimal\"></label>",
                    g.goal.id
                );
            }
        }
        form.push_str(
            "<label>Wins <textarea name=\"wins\"></textarea></label><label>Blockers <textarea name=\"blockers\"></textarea></label>\
             <label>Help wanted <textarea name=\"help_wanted\"></textarea></label>\
             <label>Hours spent learning <input name=\"learning_hours\" inputmode=\"decimal\"></label>\
             <label>New talking points (one per line) <textarea name=\"talking_point\"></textarea></label>",
        );
        for point in &points {
            let _ = write!(
                form,
                "<label><input type=\"checkbox\" name=\"point_done\" value=\"{}\"> {}</label>",
                point["id"],
                escape(point["text"].as_str().unwrap_or(""))
            );
        }
        for action in &actions {
            let _ = write!(
                form,
                "<label><input type=\"checkbox\" name=\"action_done\" value=\"{}\"> done: {} ({})</label>",
                action["id"],
                escape(action["text"].as_str().unwrap_or("")),
                escape(action["owner"].as_str().unwrap_or(""))
            );
        }
        form.push_str(
            "<label>Action item <input name=\"action\"></label><label>Owner <input name=\"action_owner\"></label>\
             <label>Due <input name=\"action_due\" type=\"date\"></label><button>Save the check-in</button></form>\n",
        );
        body.push_str(&form);
        body.push_str("<h2>History</h2>\n");
        for c in data["checkins"].as_array().into_iter().flatten() {
            let _ = writeln!(
                body,
                "<section data-checkin=\"{}\"><h3>{} · by {}</h3><p>Feeling: {} · learning: {} h</p><p>Wins: {}</p><p>Blockers: {}</p><p>Help wanted: {}</p></section>",
                c["id"],
                c["date"].as_str().unwrap_or(""),
                escape(c["written_by"].as_str().unwrap_or("")),
                c["feeling"].as_i64().map_or("–".to_owned(), |f| f.to_string()),
                c["learning_hours"].as_f64().map_or("–".to_owned(), |h| format!("{h}")),
                escape(c["wins"].as_str().unwrap_or("")),
                escape(c["blockers"].as_str().unwrap_or("")),
                escape(c["help_wanted"].as_str().unwrap_or(""))
            );
        }
        Ok(Some(body))
    })
    .await?;
    Ok(match body {
        Some(body) => private_html("fulcrum · check-in", body),
        None => not_found("check-in pair"),
    })
}

// ---------------------------------------------------------------- pulse

fn survey_closed(s: &SurveyRow, now: i64) -> bool {
    s.closed_at.is_some() || s.closes_at <= now
}

/// Whether `me` may see survey `s` (its team's people and admins).
fn sees_survey(me: &Me, relations: &Relations, s: &SurveyRow) -> bool {
    match me.name() {
        None => true,
        Some(name) => me.admin() || relations.teams_of(name).contains(s.team.as_str()),
    }
}

/// The verdict on every survey: released or why not (oldest closed first).
fn releases(
    store: &Store,
    surveys: &[SurveyRow],
    now: i64,
    min_group: usize,
) -> anyhow::Result<Vec<(i64, Result<(), Withheld>)>> {
    let mut ordered: Vec<&SurveyRow> = surveys.iter().collect();
    ordered.sort_by_key(|s| (if survey_closed(s, now) { s.closed_at.unwrap_or(s.closes_at) } else { i64::MAX }, s.id));
    let mut respondents = Vec::new();
    for s in ordered {
        let people: BTreeSet<String> =
            store.survey_invitees(s.id)?.into_iter().filter(|(_, answered)| *answered).map(|(p, _)| p).collect();
        // A decision once made stays: `Ok` as `{"released":true}`, else why withheld.
        let decided = s.verdict.as_deref().and_then(|v| {
            let value: serde_json::Value = serde_json::from_str(v).ok()?;
            if value["released"] == true { Some(Ok(())) } else { serde_json::from_value(value).ok().map(Err) }
        });
        respondents.push(Respondents {
            id: s.id,
            people,
            answers: store.survey_answers(s.id)?.len(),
            closed: survey_closed(s, now),
            min_group: usize::try_from(s.min_group).unwrap_or(usize::MAX),
            decided,
        });
    }
    let verdicts = pulse::release(&respondents, min_group);
    // Keep the decisions on closed surveys made now.
    for (survey, verdict) in respondents.iter().zip(&verdicts) {
        if survey.closed && survey.decided.is_none() {
            let text = match &verdict.1 {
                Ok(()) => serde_json::json!({"released": true}).to_string(),
                Err(withheld) => serde_json::to_string(withheld)?,
            };
            store.set_survey_verdict(survey.id, &text)?;
        }
    }
    Ok(verdicts)
}

fn questions_of(s: &SurveyRow) -> Vec<Question> {
    serde_json::from_str(&s.questions).unwrap_or_default()
}

/// A survey's JSON: its fields, and its results or why they are withheld.
fn survey_json(
    store: &Store,
    s: &SurveyRow,
    verdict: Option<&Result<(), Withheld>>,
    now: i64,
) -> anyhow::Result<serde_json::Value> {
    let questions = questions_of(s);
    let results = match verdict {
        Some(Ok(())) => {
            let answers: Vec<Answers> =
                store.survey_answers(s.id)?.into_iter().filter_map(|a| serde_json::from_value(a).ok()).collect();
            let seed = u64::from_le_bytes(ring_random()?);
            match pulse::summarize(&questions, &answers, s.min_group as usize, seed) {
                Ok(mut results) => {
                    if !s.free_text {
                        results.comments.clear();
                    }
                    json!({"released": true, "results": results})
                }
                Err(withheld) => json!({"released": false, "withheld": withheld}),
            }
        }
        Some(Err(withheld)) => json!({"released": false, "withheld": withheld}),
        None => json!({"released": false}),
    };
    Ok(json!({
        "id": s.id, "team": s.team, "title": s.title, "period": s.period, "opened_by": s.opened_by,
        "closes": fulcrum_core::time::format_date(s.closes_at), "closed": survey_closed(s, now),
        "min_group": s.min_group, "free_text": s.free_text, "invited": s.invited,
        // Counted only once closed: a count moving while it is open times each answer.
        "answered": survey_closed(s, now).then_some(s.answered),
        "questions": questions, "outcome": results,
    }))
}

fn ring_random() -> anyhow::Result<[u8; 8]> {
    let mut bytes = [0u8; 8];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .map_err(|_| anyhow::anyhow!("the system's random number generator failed"))?;
    Ok(bytes)
}

fn surveys_for(context: &Context, me: &Me) -> anyhow::Result<Vec<serde_json::Value>> {
    // Writable: the release decision of a survey that closed is kept the first time it is seen.
    let store = app::open_store(&context.db, true)?;
    let relations = Relations::load(context, &store)?;
    let surveys = store.surveys()?;
    let verdicts = releases(&store, &surveys, context.now, relations.config.pulse_min_group)?;
    let mut out = Vec::new();
    for s in surveys.iter().filter(|s| sees_survey(me, &relations, s)) {
        let verdict = verdicts.iter().find(|(id, _)| *id == s.id).map(|(_, v)| v);
        let mut value = survey_json(&store, s, verdict, context.now)?;
        if let Some(name) = me.name() {
            let invited = store.survey_invitees(s.id)?.into_iter().find(|(p, _)| p == name);
            value["you"] = json!({"invited": invited.is_some(), "answered": invited.is_some_and(|(_, a)| a)});
        }
        out.push(value);
    }
    Ok(out)
}

/// `GET /api/v1/surveys`: the surveys of the caller's teams, each with its
/// results when released.
pub async fn surveys_api(
    State(state): State<ServerState>,
    viewer: Option<axum::Extension<Viewer>>,
) -> Result<Response, ApiError> {
    let me = Me::from(viewer);
    let context = (state.context)();
    Ok(Json(blocking(move || surveys_for(&context, &me)).await?).into_response())
}

/// The survey form.
#[derive(Debug, Deserialize)]
pub struct SurveyForm {
    team: String,
    #[serde(default)]
    title: String,
    closes: String,
    #[serde(default)]
    min_group: String,
    #[serde(default)]
    free_text: Option<String>,
    #[serde(default)]
    csrf: String,
}

/// A survey opened: its id and each invitee's one-time link.
type Opened = (i64, Vec<(String, String)>);
/// Input refused: why, and the field.
type Refused = (String, &'static str);

fn open_survey(context: &Context, me: &Me, form: &SurveyForm) -> anyhow::Result<Result<Opened, Refused>> {
    let store = app::open_store(&context.db, false)?;
    let relations = Relations::load(context, &store)?;
    drop(store);
    let Some(team) = relations.config.teams.iter().find(|t| t.name == form.team.trim()) else {
        return Ok(Err((format!("team {}: no such [[team]]", form.team.trim()), "team")));
    };
    if let Some(name) = me.name()
        && !me.admin()
        && !team.leads.iter().any(|l| l == name)
    {
        return Ok(Err((format!("you do not lead {}: its leads and admins open its surveys", team.name), "team")));
    }
    let floor = relations.config.pulse_min_group;
    let min_group = match form.min_group.trim() {
        "" => floor,
        text => match text.parse::<usize>() {
            Ok(n) if n >= floor => n,
            _ => {
                return Ok(Err((
                    format!("min_group {text}: a whole number, at least {floor} (pulse.min_group)"),
                    "min_group",
                )));
            }
        },
    };
    let invitees: Vec<String> =
        team.members.iter().filter(|m| !team.leads.contains(m)).cloned().collect::<BTreeSet<_>>().into_iter().collect();
    if invitees.len() < min_group {
        return Ok(Err((
            format!(
                "team {} has {} members to ask, fewer than the anonymity threshold of {min_group}: no results could ever be shown",
                team.name,
                invitees.len()
            ),
            "team",
        )));
    }
    let closes_at = match fulcrum_core::time::parse_instant(form.closes.trim(), context.now) {
        Ok(t) if form.closes.trim().len() == 10 && t > context.now => t,
        _ => return Ok(Err((format!("closes {}: a future date, YYYY-MM-DD", form.closes.trim()), "closes"))),
    };
    // One-time links only for invitees without an account (who answer on
    // the survey's page): a link is held by whoever hands it out.
    let accounts: BTreeSet<String> =
        app::open_store(&context.db, false)?.users()?.into_iter().map(|u| u.name).collect();
    let mut links = Vec::new();
    let mut rows = Vec::new();
    for person in &invitees {
        if accounts.contains(person) {
            rows.push((person.clone(), None));
            continue;
        }
        let token = super::accounts::random_token()?;
        rows.push((person.clone(), Some(crate::server::tokens::hash(&token))));
        links.push((person.clone(), token));
    }
    let survey = SurveyRow {
        id: 0,
        team: team.name.clone(),
        title: if form.title.trim().is_empty() { format!("{} pulse", team.name) } else { form.title.trim().to_owned() },
        opened_by: me.name().unwrap_or("single-user").to_owned(),
        period: fulcrum_core::time::format_date(context.now)[..7].to_owned(),
        opened_at: context.now,
        closes_at,
        closed_at: None,
        min_group: min_group as i64,
        free_text: form.free_text.as_deref().is_some_and(|v| matches!(v, "on" | "true" | "1")),
        questions: serde_json::to_string(&pulse::builtin())?,
        invited: 0,
        answered: 0,
        verdict: None,
    };
    let id = app::open_store(&context.db, true)?.add_survey(&survey, &rows)?;
    Ok(Ok((id, links)))
}

/// `POST /surveys`: opens a survey of a team; the answer shows each
/// invitee's one-time link once.
pub async fn surveys_post(
    State(state): State<ServerState>,
    viewer: Option<axum::Extension<Viewer>>,
    headers: HeaderMap,
    Form(form): Form<SurveyForm>,
) -> Result<Response, ApiError> {
    let me = Me::from(viewer);
    if let Some(refused) = form_refusal(me.viewer(), &headers, &form.csrf) {
        return Ok(refused);
    }
    if let Me::Account(v) = &me
        && v.role < Role::Lead
    {
        return Ok(refusal(StatusCode::FORBIDDEN, "leads and admins open surveys"));
    }
    let context = (state.context)();
    let me2 = me.clone();
    let outcome = blocking(move || open_survey(&context, &me2, &form)).await?;
    Ok(match outcome {
        Err((message, field)) => unprocessable(message, field),
        Ok((id, links)) => {
            let mut body = banner(me.viewer());
            body.push_str(&nav("/surveys"));
            let _ = writeln!(
                body,
                "<h1>Survey #{id} is open</h1><p>Members with an account answer on <a href=\"/surveys/{id}\">its page</a>. \
                 For the others, send each their one-time link now: they are shown this once, and only their hashes are kept. \
                 A link answers once; nothing ties the answer to it.</p><ul data-links>"
            );
            for (person, token) in &links {
                let _ = writeln!(body, "<li>{}: <code>/pulse/{}</code></li>", escape(person), escape(token));
            }
            body.push_str("</ul>\n");
            let mut response = private_html("fulcrum · survey opened", body);
            *response.status_mut() = StatusCode::CREATED;
            response
        }
    })
}

fn answers_from(fields: &[(String, String)], questions: &[Question], free_text: bool) -> Result<Answers, String> {
    let values = questions
        .iter()
        .map(|q| {
            let value = fields.iter().find(|(k, _)| *k == format!("q_{}", q.key)).map(|(_, v)| v.trim());
            match value {
                None | Some("") => Ok(None),
                Some(v) => v.parse::<u8>().map(Some).map_err(|_| format!("`{}`: {v} is not a number", q.key)),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    let text = fields
        .iter()
        .find(|(k, _)| k == "text")
        .map(|(_, v)| v.trim().to_owned())
        .filter(|t| !t.is_empty() && free_text);
    let answers = Answers { values, text: text.map(|t| t.chars().take(2000).collect()) };
    pulse::validate(questions, &answers)?;
    Ok(answers)
}

fn store_answer(
    context: &Context,
    survey: i64,
    who: Respondent<'_>,
    fields: &[(String, String)],
) -> anyhow::Result<Result<(), (StatusCode, String)>> {
    let mut store = app::open_store(&context.db, true)?;
    let Some(s) = store.surveys()?.into_iter().find(|s| s.id == survey) else {
        return Ok(Err((StatusCode::NOT_FOUND, "no such survey".into())));
    };
    // Who may answer first: nothing about a survey is told to someone not invited to it.
    let invited = match who {
        Respondent::Person(person) => store.survey_invitees(survey)?.iter().any(|(p, _)| p == person),
        Respondent::Link(_) => true,
    };
    if !invited {
        return Ok(Err((StatusCode::NOT_FOUND, "no such survey".into())));
    }
    let answers = match answers_from(fields, &questions_of(&s), s.free_text) {
        Ok(a) => a,
        Err(why) => return Ok(Err((StatusCode::UNPROCESSABLE_ENTITY, why))),
    };
    let slot = u64::from_le_bytes(ring_random()?);
    Ok(match store.answer_survey(survey, who, serde_json::to_value(&answers)?, slot, context.now)? {
        Ok(()) => Ok(()),
        Err(AnswerRefusal::NotInvited) => Err((StatusCode::FORBIDDEN, "you are not invited to this survey".into())),
        Err(AnswerRefusal::AlreadyAnswered) => Err((StatusCode::CONFLICT, "already answered: one answer each".into())),
        Err(AnswerRefusal::Closed) => Err((StatusCode::CONFLICT, "the survey is closed".into())),
    })
}

fn thanks() -> Response {
    private_html(
        "fulcrum · thank you",
        "<h1>Thank you</h1><p>Your answer is stored with no name, no account, no link and no time; \
         results appear only when the survey closes with enough answers.</p>"
            .to_owned(),
    )
}

/// `POST /surveys/{id}/answer`: an invited member answers through their account.
pub async fn survey_answer(
    State(state): State<ServerState>,
    viewer: Option<axum::Extension<Viewer>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let me = Me::from(viewer);
    if let Some(refused) = form_refusal(me.viewer(), &headers, form_csrf(&fields)) {
        return Ok(refused);
    }
    let Some(name) = me.name().map(str::to_owned) else {
        return Ok(refusal(StatusCode::FORBIDDEN, "single-user mode has no members: answer through a one-time link"));
    };
    let context = (state.context)();
    let outcome = blocking(move || store_answer(&context, id, Respondent::Person(&name), &fields)).await?;
    Ok(match outcome {
        Ok(()) => thanks(),
        Err((status, why)) => refusal(status, &why),
    })
}

fn survey_form(s: &SurveyRow, action: &str, csrf: &str) -> String {
    let mut form = format!("<form method=\"post\" action=\"{action}\">{csrf}");
    for q in questions_of(s) {
        let (low, high) = q.scale.range();
        let options: String = (low..=high).map(|v| format!("<option>{v}</option>")).collect();
        let _ = write!(
            form,
            "<label>{} <select name=\"q_{}\"><option value=\"\">skip</option>{options}</select></label>",
            escape(&q.text),
            escape(&q.key)
        );
    }
    if s.free_text {
        form.push_str("<label>Anything else (shown only among enough other answers, shuffled) <textarea name=\"text\"></textarea></label>");
    }
    form.push_str("<button>Send my answer</button></form>\n");
    form
}

/// `GET /pulse/{token}`: the form of a one-time link (no account needed).
pub async fn pulse_link_page(
    State(state): State<ServerState>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let context = (state.context)();
    let page_body = blocking(move || {
        let store = app::open_store(&context.db, false)?;
        let Some((survey, answered)) = store.survey_of_link(&crate::server::tokens::hash(&token))? else {
            return Ok(None);
        };
        let Some(s) = store.surveys()?.into_iter().find(|s| s.id == survey) else { return Ok(None) };
        if answered || survey_closed(&s, context.now) {
            return Ok(None);
        }
        let mut body = format!(
            "<h1>{}</h1><p>Anonymous: no name, account or time is kept with your answer.</p>",
            escape(&s.title)
        );
        body.push_str(&survey_form(&s, &format!("/pulse/{}", escape(&token)), ""));
        Ok(Some(body))
    })
    .await?;
    Ok(match page_body {
        Some(body) => private_html("fulcrum · pulse", body),
        None => refusal(StatusCode::NOT_FOUND, "this link is unknown, used, or its survey closed"),
    })
}

/// `POST /pulse/{token}`: a one-time link's answer; the link is spent.
pub async fn pulse_link_post(
    State(state): State<ServerState>,
    headers: HeaderMap,
    Path(token): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    if super::session::cross_site(&headers) {
        return Ok(refusal(StatusCode::FORBIDDEN, "this form is accepted from fulcrum's own pages only"));
    }
    let context = (state.context)();
    let outcome = blocking(move || {
        let hash = crate::server::tokens::hash(&token);
        let store = app::open_store(&context.db, false)?;
        let Some((survey, _)) = store.survey_of_link(&hash)? else {
            return Ok(Err((StatusCode::NOT_FOUND, "this link is unknown or used".to_owned())));
        };
        drop(store);
        store_answer(&context, survey, Respondent::Link(&hash), &fields)
    })
    .await?;
    Ok(match outcome {
        Ok(()) => thanks(),
        Err((status, why)) => refusal(status, &why),
    })
}

/// The close form of a survey.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /surveys/{id}/close`: by the team's lead or an admin.
pub async fn survey_close(
    State(state): State<ServerState>,
    viewer: Option<axum::Extension<Viewer>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    let me = Me::from(viewer);
    if let Some(refused) = form_refusal(me.viewer(), &headers, &form.csrf) {
        return Ok(refused);
    }
    let context = (state.context)();
    let outcome = blocking(move || {
        let store = app::open_store(&context.db, true)?;
        let relations = Relations::load(&context, &store)?;
        let Some(s) = store.surveys()?.into_iter().find(|s| s.id == id && sees_survey(&me, &relations, s)) else {
            return Ok(None);
        };
        let allowed = me.name().is_none_or(|n| me.admin() || relations.leads_team(n, &s.team));
        if !allowed {
            return Ok(Some(false));
        }
        store.close_survey(id, context.now)?;
        Ok(Some(true))
    })
    .await?;
    Ok(match outcome {
        None => not_found("survey"),
        Some(false) => refusal(StatusCode::FORBIDDEN, "the team's leads and admins close its surveys"),
        Some(true) => Redirect::to(&format!("/surveys/{id}")).into_response(),
    })
}

/// The team's delivery beside what it says: the report and flow of the
/// survey's team over the survey's 30 days before it closed.
fn team_figures(context: &Context, s: &SurveyRow) -> String {
    let end = s.closed_at.unwrap_or(s.closes_at).min(context.now);
    let window = app::WindowRequest {
        since: Some(fulcrum_core::time::format_datetime(end - 30 * DAY)),
        until: Some(fulcrum_core::time::format_datetime(end)),
    };
    let report = app::report(
        context,
        &app::ReportRequest { team: Some(s.team.clone()), window: window.clone(), ..Default::default() },
    );
    let flow = app::flow(context, &app::FlowRequest { team: Some(s.team.clone()), window, ..Default::default() });
    let mut out = String::from("<h2>What the delivery data says (30 days before it closed)</h2><ul data-figures>");
    match report {
        Ok(outcome) => {
            let dora = serde_json::to_value(&outcome.analysis.dora).unwrap_or_default();
            for (name, path) in [
                ("deployment_frequency.per_week", &["deployment_frequency", "per_week"][..]),
                ("lead_time.median", &["lead_time", "summary", "median"][..]),
                ("change_failure_rate", &["change_failure_rate", "rate"][..]),
            ] {
                let metric = goal_metrics::metric(name).ok();
                let value = goal_metrics::resolve(&dora, path)
                    .map(|v| goal_metrics::show(metric, v))
                    .unwrap_or_else(|why| format!("no data ({why})"));
                let _ = write!(out, "<li>{name}: {}</li>", escape(&value));
            }
        }
        Err(e) => {
            let _ = write!(out, "<li>delivery: {}</li>", escape(&format!("{e:#}")));
        }
    }
    if let Ok(flow) = flow {
        let report = serde_json::to_value(&flow.report).unwrap_or_default();
        for (name, path) in
            [("pickup.median", &["pickup", "summary", "median"][..]), ("agreement_breaches", &["breaches"][..])]
        {
            let metric = goal_metrics::metric(name).ok();
            let value = goal_metrics::resolve(&report, path)
                .map(|v| goal_metrics::show(metric, v))
                .unwrap_or_else(|why| format!("no data ({why})"));
            let _ = write!(out, "<li>{name}: {}</li>", escape(&value));
        }
    }
    out.push_str("<li>focus: see <a href=\"/focus\">Focus</a> (from calendars)</li></ul>\n");
    out
}

/// `GET /surveys/{id}`: the form for an invitee who has not answered; the
/// count of answers; the results when released, beside the team's figures.
pub async fn survey_page(
    State(state): State<ServerState>,
    viewer: Option<axum::Extension<Viewer>>,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let me = Me::from(viewer);
    let context = (state.context)();
    let body = blocking(move || {
        let store = app::open_store(&context.db, false)?;
        let relations = Relations::load(&context, &store)?;
        let Some(s) = store.surveys()?.into_iter().find(|s| s.id == id && sees_survey(&me, &relations, s)) else {
            return Ok(None);
        };
        let json = surveys_for(&context, &me)?.into_iter().find(|v| v["id"] == id).unwrap_or_default();
        let mut body = banner(me.viewer());
        body.push_str(&nav("/surveys"));
        let closed = survey_closed(&s, context.now);
        let _ = writeln!(
            body,
            "<h1>{} · {}</h1><p>{} · closes {}{}</p>",
            escape(&s.title),
            escape(&s.team),
            if closed {
                format!("{} of {} answered", s.answered, s.invited)
            } else {
                format!("{} invited; how many answered is shown when it closes", s.invited)
            },
            fulcrum_core::time::format_date(s.closes_at),
            if closed { " · closed" } else { "" }
        );
        if json["you"]["invited"] == true && json["you"]["answered"] == false && !survey_closed(&s, context.now) {
            body.push_str(&survey_form(&s, &format!("/surveys/{id}/answer"), &csrf_field(&me)));
        }
        let outcome = &json["outcome"];
        if outcome["released"] == true {
            body.push_str("<h2>Results</h2><table data-table=\"results\"><thead><tr><th>Question</th><th>Answers</th><th>Mean</th><th>Net score</th></tr></thead><tbody>");
            for q in outcome["results"]["questions"].as_array().into_iter().flatten() {
                let _ = write!(
                    body,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    escape(q["text"].as_str().unwrap_or("")),
                    q["answered"],
                    q["mean"].as_f64().map_or("–".to_owned(), |m| format!("{m:.2}")),
                    q["net_score"].as_f64().map_or(String::new(), |n| format!("{n:+.0}"))
                );
            }
            body.push_str("</tbody></table>\n");
            let comments = outcome["results"]["comments"].as_array().cloned().unwrap_or_default();
            if !comments.is_empty() {
                body.push_str("<h2>In their words (shuffled)</h2><ul>");
                for c in comments {
                    let _ = write!(body, "<li>{}</li>", escape(c.as_str().unwrap_or("")));
                }
                body.push_str("</ul>\n");
            }
            body.push_str(&team_figures(&context, &s));
        } else {
            let why = match outcome["withheld"]["reason"].as_str() {
                Some("open") => "Results appear when the survey closes: watching them change as answers arrive would single out the latest.".to_owned(),
                Some("too_few") => format!("Fewer than {} answered: results are not shown.", outcome["withheld"]["min_group"]),
                Some("differencing") => format!(
                    "Not shown: its respondents differ from survey #{} by too few people, and comparing the two would single them out.",
                    outcome["withheld"]["with"]
                ),
                _ => "No results.".to_owned(),
            };
            let _ = writeln!(body, "<p data-withheld>{}</p>", escape(&why));
        }
        let may_close = me.name().is_none_or(|n| me.admin() || relations.leads_team(n, &s.team));
        if may_close && !survey_closed(&s, context.now) {
            let _ = writeln!(
                body,
                "<form method=\"post\" action=\"/surveys/{id}/close\">{}<button>Close the survey</button></form>",
                csrf_field(&me)
            );
        }
        Ok(Some(body))
    })
    .await?;
    Ok(match body {
        Some(body) => private_html("fulcrum · survey", body),
        None => not_found("survey"),
    })
}

/// `GET /surveys`: the surveys of the caller's teams, trends across the
/// released ones, and the form to open one.
pub async fn surveys_page(
    State(state): State<ServerState>,
    viewer: Option<axum::Extension<Viewer>>,
) -> Result<Response, ApiError> {
    let me = Me::from(viewer);
    let context = (state.context)();
    let body = blocking(move || {
        let surveys = surveys_for(&context, &me)?;
        let mut body = banner(me.viewer());
        body.push_str(&nav("/surveys"));
        body.push_str("<h1>Pulse</h1>\n<p>Anonymous: answers keep no name, account, link or time; results need enough answers and never allow subtracting one survey from another.</p>\n");
        body.push_str("<table data-table=\"surveys\"><thead><tr><th>Survey</th><th>Team</th><th>Period</th><th>Answered</th><th>Results</th></tr></thead><tbody>");
        for s in &surveys {
            let results = if s["outcome"]["released"] == true {
                let q = s["outcome"]["results"]["questions"].as_array().cloned().unwrap_or_default();
                q.iter()
                    .filter_map(|q| q["mean"].as_f64().map(|m| format!("{} {m:.1}", q["key"].as_str().unwrap_or(""))))
                    .collect::<Vec<_>>()
                    .join(", ")
            } else {
                "withheld".to_owned()
            };
            let _ = write!(
                body,
                "<tr data-survey=\"{0}\"><td><a href=\"/surveys/{0}\">{1}</a></td><td>{2}</td><td>{3}</td><td>{4}</td><td>{5}</td></tr>",
                s["id"],
                escape(s["title"].as_str().unwrap_or("")),
                escape(s["team"].as_str().unwrap_or("")),
                escape(s["period"].as_str().unwrap_or("")),
                match s["answered"].as_i64() {
                    Some(n) => format!("{n} of {}", s["invited"]),
                    None => format!("open, {} invited", s["invited"]),
                },
                escape(&results)
            );
        }
        body.push_str("</tbody></table>\n");
        if me.viewer().is_none_or(|v| v.role >= Role::Lead) {
            let _ = writeln!(
                body,
                "<h2>Ask a team</h2><form method=\"post\" action=\"/surveys\">{}\
                 <label>Team <input name=\"team\" required></label> <label>Title <input name=\"title\"></label> \
                 <label>Closes <input name=\"closes\" type=\"date\" required></label> \
                 <label>Anonymity threshold <input name=\"min_group\" inputmode=\"numeric\" placeholder=\"5\"></label> \
                 <label><input type=\"checkbox\" name=\"free_text\" value=\"on\"> take free text</label> \
                 <button>Open the survey</button></form>",
                csrf_field(&me)
            );
        }
        Ok(body)
    })
    .await?;
    Ok(private_html("fulcrum · pulse", body))
}
