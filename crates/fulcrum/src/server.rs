//! `fulcrum serve`: the team server, a second front end over [`crate::app`].
//!
//! This first step serves the JSON API (`/api/v1/report`, `/flow`,
//! `/knowledge`, `/hotspots`: the same objects as the command line's JSON,
//! with query parameters named as its flags), a server-rendered delivery
//! page that works without JavaScript, and `/healthz`. Without accounts it
//! runs in single-user mode and listens on a loopback address only.
//! Repositories are synced in the background, one sync at a time.
//!
//! Work that touches the store or git runs on tokio's blocking pool: the
//! request threads never wait on SQLite or gix.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use serde::Deserialize;

pub mod accounts;
pub mod admin;
pub mod cache;
pub mod digest;
pub mod observe;
pub mod pages;
pub mod people;
pub mod session;
pub mod syncing;
pub mod tokens;

pub use syncing::keep_synced;

use crate::app::{self, Context, WindowRequest};
use crate::error::{ErrorKind, UsageError};
use crate::render;

/// What the handlers share.
#[derive(Clone)]
pub struct ServerState {
    /// The database, the configuration and the clock.
    pub context: Arc<dyn Fn() -> Context + Send + Sync>,
    /// The repositories served; the first is the default.
    pub repos: Arc<Vec<PathBuf>>,
    /// The background sync: its status, and the bell that asks for a round.
    pub syncs: Arc<syncing::Syncer>,
    /// GitHub's and GitLab's webhook secrets, from the environment.
    pub secrets: Arc<crate::sources::hooks::Secrets>,
    /// Failed logins per account name, for the limit.
    pub failures: session::Failures,
    /// Whether it listens beyond this machine: then single-user mode never
    /// applies, even if every account is removed while it runs.
    pub beyond_loopback: bool,
    /// Request and sync counters (`/metrics`) and the request log.
    pub observer: Arc<observe::Observer>,
    /// Answers of the analyses, kept until a write or for 30 s.
    pub cache: Arc<cache::Cache>,
    /// The connection that pushed events are written through.
    pub writer: Arc<Writer>,
}

/// One database connection kept open for the writes of pushed events:
/// opening the database for each small request costs more than the write.
/// Writers take turns on it (SQLite serializes them anyway).
#[derive(Default)]
pub struct Writer(Mutex<Option<(PathBuf, crate::store::Store)>>);

impl Writer {
    /// Runs `work` on the kept connection to `db`, opening it first if needed.
    fn with<T>(
        &self,
        db: &std::path::Path,
        work: impl FnOnce(&mut crate::store::Store) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let mut kept = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if kept.as_ref().is_none_or(|(path, _)| path != db) {
            *kept = Some((db.to_owned(), crate::store::Store::open(db)?));
        }
        let (_, store) = kept.as_mut().expect("opened above");
        let result = work(store);
        if result.is_err() {
            // A failed write may have left the connection in a bad state: reopen next time.
            *kept = None;
        }
        result
    }
}

/// The query of every analysis endpoint, named as the command line's flags.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalysisQuery {
    /// `--repo`: one of the served repositories (by path or name); default the first.
    #[serde(default, deserialize_with = "empty_is_none")]
    pub repo: Option<String>,
    /// `--since`.
    #[serde(default, deserialize_with = "empty_is_none")]
    pub since: Option<String>,
    /// `--until`.
    #[serde(default, deserialize_with = "empty_is_none")]
    pub until: Option<String>,
    /// `--service`: stored events of this service only (no repository).
    #[serde(default, deserialize_with = "empty_is_none")]
    pub service: Option<String>,
    /// `knowledge --leaving`: people (e-mail or name, comma-separated) whose
    /// departure to simulate; the knowledge answers only.
    #[serde(default, deserialize_with = "empty_is_none")]
    pub leaving: Option<String>,
    /// `knowledge --by-directory`: `true` (or `on`, `1`) adds each
    /// directory's truck factor.
    #[serde(default, deserialize_with = "empty_is_none")]
    pub by_directory: Option<String>,
    /// `knowledge --depth`: the directory depth (implies `by_directory`).
    #[serde(default, deserialize_with = "empty_is_none")]
    pub depth: Option<String>,
    /// `--team`: a `[[team]]` of the configuration (its repositories and
    /// services instead of `repo` and `service`).
    #[serde(default, deserialize_with = "empty_is_none")]
    pub team: Option<String>,
    /// `org --sort`: the organisation view's order.
    #[serde(default, deserialize_with = "empty_is_none")]
    pub sort: Option<String>,
}

impl AnalysisQuery {
    /// The directory depth asked for: `None` without `by_directory` or
    /// `depth`; an error names a bad value.
    pub fn directory_depth(&self) -> Result<Option<usize>, UsageError> {
        let by_directory = match self.by_directory.as_deref().map(str::trim) {
            None | Some("false" | "0" | "off") => false,
            Some("true" | "1" | "on") => true,
            Some(other) => {
                return Err(UsageError(format!("by_directory={other:?}: expected true or false")));
            }
        };
        match self.depth.as_deref().map(str::trim) {
            None => Ok(by_directory.then_some(1)),
            Some(text) => match text.parse::<usize>() {
                Ok(depth) if depth >= 1 => Ok(Some(depth)),
                _ => Err(UsageError(format!("depth={text:?}: expected a whole number of directory levels, 1 or more"))),
            },
        }
    }
}

/// A blank filter field (the page's form sends every field) is no filter.
fn empty_is_none<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let value: Option<String> = Option::deserialize(deserializer)?;
    Ok(value.filter(|v| !v.trim().is_empty()))
}

/// An error as the API answers it: 400 for input the caller can fix, 500
/// otherwise, a JSON body naming it.
pub struct ApiError(anyhow::Error);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match crate::error::kind(&self.0) {
            ErrorKind::Input => StatusCode::BAD_REQUEST,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (status, Json(serde_json::json!({ "error": format!("{:#}", self.0) }))).into_response()
    }
}

impl<E: Into<anyhow::Error>> From<E> for ApiError {
    fn from(e: E) -> ApiError {
        ApiError(e.into())
    }
}

/// The largest request body: an events request of about 100,000 lines.
pub const EVENTS_BODY_LIMIT: usize = 32 << 20;

/// The query of `POST /api/v1/events`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// The source the items are stored under (keyed by source and id, as
    /// `fulcrum import --source`); default `api`.
    pub source: Option<String>,
}

/// `POST /api/v1/events`: the events-file objects (one, an array, or JSON
/// Lines) from CI or an incident tool, with a token of scope
/// `events:write`. Validated as `fulcrum import` validates; a request with
/// an invalid item is refused whole (422, each one named) and stores
/// nothing; items are keyed by source and id, so sending again replaces.
async fn post_events(
    State(state): State<ServerState>,
    Query(query): Query<EventsQuery>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let Some(presented) = bearer(&headers) else {
        return Ok(no_token());
    };
    let cache = state.cache.clone();
    let context = (state.context)();
    let source = query.source.unwrap_or_else(|| "api".to_owned());
    let writer = state.writer.clone();
    let outcome = blocking(move || {
        writer.with(&context.db, |store| {
            if let Err(refused) = authorize(store, &presented, "events:write")? {
                return Ok(Err(refused));
            }
            let (batch, errors) = crate::sources::import::parse_events(&body, &source);
            if !errors.is_empty() {
                let errors: Vec<serde_json::Value> = errors
                    .iter()
                    .map(|(line, message)| serde_json::json!({"line": line, "message": message}))
                    .collect();
                let body = serde_json::json!({"error": "invalid items: nothing was stored", "errors": errors});
                return Ok(Err((StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()));
            }
            let counts = store.write_events(&batch, &[])?;
            cache.invalidate();
            Ok(Ok(counts))
        })
    })
    .await?;
    Ok(match outcome {
        Ok(counts) => Json(serde_json::json!({"stored": counts})).into_response(),
        Err(refused) => refused,
    })
}

/// The bearer token of a request, if it presents one.
fn bearer(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned)
}

/// The refusal to answer a request that presents no token.
fn no_token() -> Response {
    refusal(StatusCode::UNAUTHORIZED, "an API token is needed: Authorization: Bearer TOKEN")
}

/// Whether the token may `scope`: 401 when it is unknown or revoked, 403
/// when it lacks the scope.
fn authorize(store: &crate::store::Store, token: &str, scope: &str) -> anyhow::Result<Result<(), Response>> {
    Ok(match crate::server::tokens::allows(store, token, scope)? {
        None => Err(refusal(StatusCode::UNAUTHORIZED, "the token is unknown or revoked")),
        Some((name, false)) => {
            Err(refusal(StatusCode::FORBIDDEN, &format!("the token `{name}` lacks the scope {scope}")))
        }
        Some(_) => Ok(()),
    })
}

/// The query of DevLake's issue webhook: the service of incidents that name
/// no `component`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevLakeQuery {
    /// The service.
    pub service: Option<String>,
}

/// Stores what `convert` makes of a DevLake webhook body, under the source
/// `devlake:CONNECTION`, with a token of scope `events:write`.
async fn devlake_store(
    state: ServerState,
    headers: axum::http::HeaderMap,
    connection: String,
    convert: impl FnOnce(&str) -> Result<crate::store::EventBatch, String> + Send + 'static,
) -> Result<Response, ApiError> {
    let Some(presented) = bearer(&headers) else {
        return Ok(no_token());
    };
    let cache = state.cache.clone();
    let context = (state.context)();
    let outcome = blocking(move || {
        let mut store = crate::store::Store::open(&context.db)?;
        if let Err(refused) = authorize(&store, &presented, "events:write")? {
            return Ok(refused);
        }
        match convert(&format!("devlake:{connection}")) {
            Ok(batch) => {
                store.write_events(&batch, &[])?;
                cache.invalidate();
                Ok(StatusCode::OK.into_response())
            }
            Err(why) => Ok(refusal(StatusCode::BAD_REQUEST, &why)),
        }
    })
    .await?;
    Ok(outcome)
}

/// DevLake's `POST …/connections/:id/deployments`.
async fn devlake_deployment(
    State(state): State<ServerState>,
    axum::extract::Path(connection): axum::extract::Path<String>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    devlake_store(state, headers, connection, move |source| crate::sources::devlake::deployment(source, &body)).await
}

/// DevLake's `POST …/connections/:id/issues`.
async fn devlake_issue(
    State(state): State<ServerState>,
    axum::extract::Path(connection): axum::extract::Path<String>,
    Query(query): Query<DevLakeQuery>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    devlake_store(state, headers, connection, move |source| {
        crate::sources::devlake::issue(source, query.service.as_deref(), &body)
    })
    .await
}

/// DevLake's `POST …/connections/:id/issue/:key/close`: the incident is
/// resolved now (unless it was already).
async fn devlake_close(
    State(state): State<ServerState>,
    axum::extract::Path((connection, key)): axum::extract::Path<(String, String)>,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    let Some(presented) = bearer(&headers) else {
        return Ok(no_token());
    };
    let cache = state.cache.clone();
    let context = (state.context)();
    blocking(move || {
        let store = crate::store::Store::open(&context.db)?;
        if let Err(refused) = authorize(&store, &presented, "events:write")? {
            return Ok(refused);
        }
        let resolved = store.resolve_incident(&format!("devlake:{connection}"), &key, context.now)?;
        cache.invalidate();
        Ok(if resolved {
            StatusCode::OK.into_response()
        } else {
            refusal(StatusCode::NOT_FOUND, &format!("no incident `{key}` on connection {connection}"))
        })
    })
    .await
}

/// `POST /api/v1/webhooks/github`: a delivery signed with
/// `X-Hub-Signature-256`.
async fn github_hook(
    State(state): State<ServerState>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let Some(event) = text("x-github-event") else {
        return Ok(refusal(StatusCode::BAD_REQUEST, "X-GitHub-Event is missing"));
    };
    let signature = text("x-hub-signature-256");
    let secrets = state.secrets.clone();
    hook(state, move |config| crate::sources::hooks::github(&secrets, config, &event, signature.as_deref(), &body))
        .await
}

/// `POST /api/v1/webhooks/gitlab`: a delivery with `X-Gitlab-Token`.
async fn gitlab_hook(
    State(state): State<ServerState>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let token = headers.get("x-gitlab-token").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let secrets = state.secrets.clone();
    hook(state, move |config| crate::sources::hooks::gitlab(&secrets, config, token.as_deref(), &body)).await
}

/// Checks and converts a host's delivery with the configuration, and
/// stores what it says: 200 with the counts, 202 when there is nothing to
/// store (and why), else the refusal.
async fn hook(
    state: ServerState,
    convert: impl FnOnce(&crate::config::Config) -> Result<crate::sources::hooks::Delivery, crate::sources::hooks::Refusal>
    + Send
    + 'static,
) -> Result<Response, ApiError> {
    use crate::sources::hooks::Refusal;
    let cache = state.cache.clone();
    let context = (state.context)();
    let repo = state.repos.first().cloned();
    blocking(move || {
        let config = crate::config::Config::load(context.config.as_deref(), repo.as_deref(), &Default::default())?;
        let delivery = match convert(&config) {
            Ok(delivery) => delivery,
            Err(Refusal::Off(why)) => return Ok(refusal(StatusCode::NOT_FOUND, &why)),
            Err(Refusal::Unsigned(why)) => return Ok(refusal(StatusCode::UNAUTHORIZED, &why)),
            Err(Refusal::Malformed(why)) => return Ok(refusal(StatusCode::BAD_REQUEST, &why)),
            Err(Refusal::UnknownRepository(why)) => return Ok(refusal(StatusCode::UNPROCESSABLE_ENTITY, &why)),
        };
        if let Some(why) = delivery.ignored {
            return Ok((StatusCode::ACCEPTED, Json(serde_json::json!({ "ignored": why }))).into_response());
        }
        let counts = crate::store::Store::open(&context.db)?.write_events(&delivery.batch, &[])?;
        cache.invalidate();
        Ok(Json(serde_json::json!({ "stored": counts })).into_response())
    })
    .await
}

/// A refusal with its reason.
pub(crate) fn refusal(status: StatusCode, why: &str) -> Response {
    (status, Json(serde_json::json!({ "error": why }))).into_response()
}

/// The pages' stylesheet, served at `/static/fulcrum.css`.
pub const STYLESHEET: &str = include_str!("server/fulcrum.css");

/// The OpenAPI 3.1 document of the routes, served at `/api/v1/openapi.json`.
pub const OPENAPI: &str = include_str!("openapi.json");

/// Every route: its method, its path (written as the OpenAPI document
/// writes it) and its handler. A test checks the document against it.
pub fn routes() -> Vec<(&'static str, &'static str, MethodRouter<ServerState>)> {
    vec![
        ("get", "/", get(delivery_page)),
        ("get", "/healthz", get(|| async { "ok\n" })),
        // Browsers ask for it on their own: no icon, and no login redirect.
        ("get", "/favicon.ico", get(|| async { StatusCode::NO_CONTENT })),
        ("get", "/static/fulcrum.css", get(|| async { ([(header::CONTENT_TYPE, "text/css")], STYLESHEET) })),
        ("get", "/login", get(session::login_get)),
        ("post", "/login", post(session::login_post)),
        ("post", "/logout", post(session::logout)),
        ("get", "/account", get(session::account)),
        ("post", "/account/password", post(session::change_password)),
        ("get", "/deployments", get(pages::deployments_page)),
        ("get", "/flow", get(pages::flow_page)),
        ("get", "/knowledge", get(pages::knowledge_page)),
        ("get", "/brief", get(digest::brief_page)),
        ("get", "/focus", get(digest::focus_page)),
        ("post", "/sync", post(syncing::sync_now)),
        ("get", "/admin", get(admin::admin)),
        ("post", "/admin/accounts", post(admin::accounts_post)),
        ("post", "/admin/tokens", post(admin::tokens_post)),
        ("get", "/api/v1/sync", get(syncing::status)),
        ("get", "/download/{page}/{file}", get(pages::download)),
        ("get", "/metrics", get(observe::metrics)),
        ("get", "/api/v1/openapi.json", get(|| async { ([(header::CONTENT_TYPE, "application/json")], OPENAPI) })),
        ("get", "/api/v1/report", get(report)),
        ("get", "/api/v1/flow", get(flow)),
        ("get", "/api/v1/knowledge", get(knowledge)),
        ("get", "/api/v1/org", get(org)),
        ("get", "/org", get(pages::org_page)),
        ("get", "/api/v1/hotspots", get(hotspots)),
        ("get", "/api/v1/brief", get(digest::api)),
        ("get", "/api/v1/focus", get(digest::focus_api)),
        ("get", "/goals", get(people::goals_page)),
        ("post", "/goals", post(people::goals_post)),
        ("get", "/goals/{id}", get(people::goal_page)),
        ("post", "/goals/{id}/close", post(people::goal_close)),
        ("get", "/api/v1/goals", get(people::goals_api)),
        ("post", "/api/v1/goals", post(people::goals_post_api)),
        ("get", "/api/v1/goals/{id}", get(people::goal_api)),
        ("get", "/checkins", get(people::checkins_page)),
        ("post", "/checkins/pairs", post(people::pair_post)),
        ("get", "/checkins/{pair}", get(people::checkin_page)),
        ("post", "/checkins/{pair}", post(people::checkin_post)),
        ("get", "/api/v1/checkins", get(people::checkins_api)),
        ("get", "/api/v1/checkins/export", get(people::checkins_export)),
        ("get", "/api/v1/checkins/{pair}", get(people::checkin_api)),
        ("post", "/api/v1/checkins/{pair}", post(people::checkin_post_api)),
        ("get", "/surveys", get(people::surveys_page)),
        ("post", "/surveys", post(people::surveys_post)),
        ("get", "/surveys/{id}", get(people::survey_page)),
        ("post", "/surveys/{id}/answer", post(people::survey_answer)),
        ("post", "/surveys/{id}/close", post(people::survey_close)),
        ("get", "/api/v1/surveys", get(people::surveys_api)),
        ("get", "/pulse/{token}", get(people::pulse_link_page)),
        ("post", "/pulse/{token}", post(people::pulse_link_post)),
        ("post", "/api/v1/events", post(post_events)),
        ("post", "/api/v1/webhooks/github", post(github_hook)),
        ("post", "/api/v1/webhooks/gitlab", post(gitlab_hook)),
        ("post", "/api/rest/plugins/webhook/connections/{connection}/deployments", post(devlake_deployment)),
        ("post", "/api/rest/plugins/webhook/connections/{connection}/issues", post(devlake_issue)),
        ("post", "/api/rest/plugins/webhook/connections/{connection}/issue/{key}/close", post(devlake_close)),
    ]
}

/// The router of the server.
pub fn router(state: ServerState) -> Router {
    // Two routes of one path (GET and POST /login) merge into one.
    let mut table: Vec<(&str, MethodRouter<ServerState>)> = Vec::new();
    for (_, path, handler) in routes() {
        match table.iter_mut().find(|(p, _)| *p == path) {
            Some((_, existing)) => *existing = std::mem::take(existing).merge(handler),
            None => table.push((path, handler)),
        }
    }
    table
        .into_iter()
        .fold(Router::new(), |router, (path, handler)| router.route(path, handler))
        .fallback(|| async { refusal(StatusCode::NOT_FOUND, "no such page or endpoint; see /api/v1/openapi.json") })
        .layer(axum::middleware::from_fn_with_state(state.clone(), session::guard))
        .layer(axum::middleware::from_fn_with_state(state.clone(), observe::record))
        .layer(axum::extract::DefaultBodyLimit::max(EVENTS_BODY_LIMIT))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(state)
}

/// Headers on every answer: no inline script, no framing, no sniffing.
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self'; script-src 'self'; style-src 'self'; frame-ancestors 'none'"),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

impl ServerState {
    /// The served repository `name` names (a path or a directory name), or
    /// the first one.
    fn repo(&self, name: Option<&str>) -> Result<Option<PathBuf>, ApiError> {
        let Some(name) = name else { return Ok(self.repos.first().cloned()) };
        self.repos
            .iter()
            .find(|path| {
                path.to_str() == Some(name) || path.file_name().and_then(|n| n.to_str()) == Some(name.trim_matches('/'))
            })
            .cloned()
            .map(Some)
            .ok_or_else(|| ApiError(UsageError(format!("repo `{name}` is not served here")).into()))
    }
}

pub(crate) fn window(query: &AnalysisQuery) -> WindowRequest {
    WindowRequest { since: query.since.clone(), until: query.until.clone() }
}

/// Runs `work` on the blocking pool.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> anyhow::Result<T> + Send + 'static) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError(anyhow::anyhow!("the analysis stopped: {e}")))?
        .map_err(ApiError)
}

/// The report request of a query: the served repository, or the stored
/// events of a service; never a sync (the background keeps the store fresh).
fn report_request(state: &ServerState, query: &AnalysisQuery) -> Result<app::ReportRequest, ApiError> {
    if query.team.is_some() {
        return Ok(app::ReportRequest {
            window: window(query),
            knowledge: true,
            team: query.team.clone(),
            ..Default::default()
        });
    }
    let repos = match &query.service {
        Some(_) => Vec::new(),
        None => state.repo(query.repo.as_deref())?.into_iter().collect(),
    };
    Ok(app::ReportRequest {
        repos,
        services: query.service.iter().cloned().collect(),
        window: window(query),
        knowledge: true,
        ..Default::default()
    })
}

/// The report's JSON for a query: what `/api/v1/report` answers and every
/// delivery figure on the pages comes from.
async fn report_json(state: &ServerState, query: &AnalysisQuery) -> Result<String, ApiError> {
    state.cache.get(format!("report {query:?}"), report_json_now(state, query)).await
}

async fn report_json_now(state: &ServerState, query: &AnalysisQuery) -> Result<String, ApiError> {
    let request = report_request(state, query)?;
    let context = (state.context)();
    blocking(move || {
        let outcome = app::report(&context, &request)?;
        Ok(render::report(&outcome.analysis, None, outcome.knowledge.as_ref(), render::Format::Json, false))
    })
    .await
}

/// The flow report's JSON for a query.
async fn flow_json(state: &ServerState, query: &AnalysisQuery) -> Result<String, ApiError> {
    state.cache.get(format!("flow {query:?}"), flow_json_now(state, query)).await
}

async fn flow_json_now(state: &ServerState, query: &AnalysisQuery) -> Result<String, ApiError> {
    let request = match &query.team {
        Some(team) => app::FlowRequest { window: window(query), team: Some(team.clone()), ..Default::default() },
        None => app::FlowRequest {
            repo: if query.service.is_some() { None } else { state.repo(query.repo.as_deref())? },
            services: query.service.iter().cloned().collect(),
            window: window(query),
            ..Default::default()
        },
    };
    let context = (state.context)();
    blocking(move || Ok(render::flow(&app::flow(&context, &request)?, render::Format::Json))).await
}

/// The knowledge report's JSON for a query.
async fn knowledge_json(state: &ServerState, query: &AnalysisQuery) -> Result<String, ApiError> {
    state.cache.get(format!("knowledge {query:?}"), knowledge_json_now(state, query)).await
}

async fn knowledge_json_now(state: &ServerState, query: &AnalysisQuery) -> Result<String, ApiError> {
    let repo =
        state.repo(query.repo.as_deref())?.ok_or_else(|| ApiError(UsageError("no repository served".into()).into()))?;
    let context = (state.context)();
    let leaving =
        query.leaving.iter().flat_map(|l| l.split(',')).map(|p| p.trim().to_owned()).filter(|p| !p.is_empty());
    let depth = query.directory_depth().map_err(|e| ApiError(e.into()))?;
    let options =
        crate::analyses::knowledge::KnowledgeOptions { leaving: leaving.collect(), depth, ..Default::default() };
    let request = app::KnowledgeRequest { repo, sync: None, options };
    blocking(move || Ok(render::knowledge(&app::knowledge(&context, &request)?, render::Format::Json))).await
}

/// The hotspots report's JSON for a query.
async fn hotspots_json(state: &ServerState, query: &AnalysisQuery) -> Result<String, ApiError> {
    state.cache.get(format!("hotspots {query:?}"), hotspots_json_now(state, query)).await
}

async fn hotspots_json_now(state: &ServerState, query: &AnalysisQuery) -> Result<String, ApiError> {
    let repo =
        state.repo(query.repo.as_deref())?.ok_or_else(|| ApiError(UsageError("no repository served".into()).into()))?;
    let context = (state.context)();
    let request = app::HotspotsRequest { repo, sync: None, window: window(query) };
    blocking(move || Ok(render::hotspots(&app::hotspots(&context, &request)?, render::Format::Json))).await
}

async fn report(State(state): State<ServerState>, Query(query): Query<AnalysisQuery>) -> Result<Response, ApiError> {
    Ok(json_text(report_json(&state, &query).await?))
}

async fn flow(State(state): State<ServerState>, Query(query): Query<AnalysisQuery>) -> Result<Response, ApiError> {
    Ok(json_text(flow_json(&state, &query).await?))
}

/// The organisation view's JSON for a query.
pub(crate) async fn org_json(state: &ServerState, query: &AnalysisQuery) -> Result<String, ApiError> {
    state.cache.get(format!("org {query:?}"), org_json_now(state, query)).await
}

async fn org_json_now(state: &ServerState, query: &AnalysisQuery) -> Result<String, ApiError> {
    let sort = match &query.sort {
        Some(sort) => sort.parse().map_err(|e: String| ApiError(UsageError(format!("sort: {e}")).into()))?,
        None => Default::default(),
    };
    let request = app::OrgRequest { window: window(query), sort, ..Default::default() };
    let context = (state.context)();
    blocking(move || Ok(render::org(&app::organisation(&context, &request)?, render::Format::Json))).await
}

async fn org(State(state): State<ServerState>, Query(query): Query<AnalysisQuery>) -> Result<Response, ApiError> {
    Ok(json_text(org_json(&state, &query).await?))
}

async fn knowledge(State(state): State<ServerState>, Query(query): Query<AnalysisQuery>) -> Result<Response, ApiError> {
    Ok(json_text(knowledge_json(&state, &query).await?))
}

async fn hotspots(State(state): State<ServerState>, Query(query): Query<AnalysisQuery>) -> Result<Response, ApiError> {
    Ok(json_text(hotspots_json(&state, &query).await?))
}

pub(crate) fn json_text(text: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], text).into_response()
}

// Text for HTML, as the renderers escape it.
use crate::render::html_escape as escape;

/// The delivery page: the five keys with their tier, sample and source,
/// server-rendered (no JavaScript needed).
async fn delivery_page(
    State(state): State<ServerState>,
    viewer: Option<axum::Extension<session::Viewer>>,
    Query(query): Query<AnalysisQuery>,
) -> Result<Html<String>, ApiError> {
    let json = report_json(&state, &query).await?;
    let report: serde_json::Value = serde_json::from_str(&json).map_err(anyhow::Error::from)?;
    let mut page = String::from(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>fulcrum · delivery</title><link rel=\"stylesheet\" href=\"/static/fulcrum.css\"></head><body>\n",
    );
    page.push_str(&pages::chrome(&state, viewer.as_ref().map(|v| &v.0), &query, "/"));
    // Stored events of a service have no repository: the service names the page.
    let subject = report["repository"]["service"]
        .as_str()
        .filter(|s| !s.is_empty())
        .or(query.service.as_deref())
        .unwrap_or("")
        .to_owned();
    let _ = writeln!(page, "<h1>Delivery · {}</h1>", escape(&subject));
    if let Some(headline) = report["headline"].as_str() {
        let _ = writeln!(page, "<p><strong>{}</strong></p>", escape(headline));
    }
    let _ = writeln!(
        page,
        "<p>Deployments: {}<br>Failures: {}</p>",
        escape(report["deployments_source"].as_str().unwrap_or("")),
        escape(report["failures_source"].as_str().unwrap_or(""))
    );
    let _ = writeln!(
        page,
        "<table><thead><tr><th>Key</th><th>Value</th><th>Tier</th><th>Against the previous window</th></tr></thead><tbody>"
    );
    let dora = &report["dora"];
    for (key, name) in [
        ("deployment_frequency", "Deployment frequency"),
        ("lead_time", "Lead time for changes"),
        ("change_failure_rate", "Change failure rate"),
        ("recovery_time", "Recovery time"),
        ("rework_rate", "Rework rate"),
    ] {
        let metric = &dora[key];
        let (value, tier) = match metric.get("value") {
            Some(v) => (key_value(key, v), v["tier"].as_str().or(v["tier_note"].as_str()).unwrap_or("").to_owned()),
            None => (format!("no data: {}", metric["no_data"]["reason"].as_str().unwrap_or("")), String::new()),
        };
        let change = report["previous"][key]["change"]
            .as_f64()
            .map_or_else(|| "–".to_owned(), |c| format!("{:+.0}%", c * 100.0));
        let _ = writeln!(
            page,
            "<tr data-key=\"{key}\"><th>{name}</th><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&value),
            escape(&tier),
            escape(&change)
        );
    }
    let _ = writeln!(page, "</tbody></table>");
    // The weekly trend of the keys, as the report has it.
    let weeks: Vec<&serde_json::Value> = dora["weekly"].as_array().into_iter().flatten().collect();
    let series = |field: &str, scale: f64| -> Vec<(String, f64)> {
        weeks
            .iter()
            .map(|w| (w["week"].as_str().unwrap_or("").to_owned(), w[field].as_f64().unwrap_or(0.0) / scale))
            .collect()
    };
    for (title, field, scale) in [
        ("Deployments per week", "deployments", 1.0),
        ("Median lead time per week, hours", "median_lead_time", 3600.0),
        ("Failed deployments per week", "failed_deployments", 1.0),
    ] {
        let _ = writeln!(page, "<h2>{title}</h2>{}", pages::bar_chart(title, &series(field, scale)));
    }
    let _ = writeln!(
        page,
        "<table><thead><tr><th>Week</th><th>Deployments</th><th>Changes</th><th>Median lead time</th><th>Failed</th><th>Rework</th></tr></thead><tbody>"
    );
    for w in &weeks {
        let _ = writeln!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(w["week"].as_str().unwrap_or("")),
            w["deployments"],
            w["changes"],
            w["median_lead_time"].as_f64().map_or_else(|| "–".to_owned(), render::duration),
            w["failed_deployments"],
            w["rework_deployments"]
        );
    }
    let _ = writeln!(page, "</tbody></table>");
    page.push_str(&pages::downloads("delivery", &query));
    page.push_str("</body></html>\n");
    Ok(Html(page))
}

/// A key's value in words, as the terminal report gives it.
fn key_value(key: &str, value: &serde_json::Value) -> String {
    let seconds = |v: &serde_json::Value| render::duration(v.as_f64().unwrap_or(0.0));
    match key {
        "deployment_frequency" => format!(
            "{:.2}/week ({} deployments)",
            value["per_week"].as_f64().unwrap_or(0.0),
            value["deployments"].as_u64().unwrap_or(0)
        ),
        "lead_time" | "recovery_time" => format!(
            "median {} (p75 {}, p90 {}; {} measured)",
            seconds(&value["summary"]["median"]),
            seconds(&value["summary"]["p75"]),
            seconds(&value["summary"]["p90"]),
            value["summary"]["count"].as_u64().unwrap_or(0)
        ),
        _ => format!(
            "{}{:.1}% of {} deployments",
            if value["lower_bound"] == true { "at least " } else { "" },
            value["rate"].as_f64().unwrap_or(0.0) * 100.0,
            value["deployments"].as_u64().unwrap_or(0)
        ),
    }
}

/// Refuses an address other than this machine's while there are no
/// accounts (`accounts`: whether any exists).
pub fn check_listen(address: &SocketAddr, accounts: bool) -> Result<(), UsageError> {
    if address.ip().is_loopback() || accounts {
        Ok(())
    } else {
        Err(UsageError(format!(
            "{address}: without accounts fulcrum serves this machine only; listen on 127.0.0.1 or [::1], \
             or make an account first (`fulcrum user add NAME --role admin`)"
        )))
    }
}

/// Serves `state` on `address` until SIGTERM or Ctrl-C, finishing the
/// requests in flight.
pub fn serve(
    state: ServerState,
    address: SocketAddr,
    accounts: bool,
    ready: impl FnOnce(SocketAddr),
) -> anyhow::Result<()> {
    check_listen(&address, accounts)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|e| UsageError(format!("{address}: cannot listen ({e}); pass --listen with a free address")))?;
        // The signals are caught before the address is announced: a
        // supervisor may stop the server as soon as it hears of it (a
        // SIGTERM before would kill it uncleanly).
        let stop = shutdown()?;
        ready(listener.local_addr()?);
        axum::serve(listener, router(state)).with_graceful_shutdown(stop).await?;
        anyhow::Ok(())
    })
}

/// Resolves on SIGINT or SIGTERM, both caught from the call on.
fn shutdown() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {},
            _ = terminate.recv() => {},
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_without_accounts() {
        assert!(check_listen(&"127.0.0.1:7878".parse().unwrap(), false).is_ok());
        assert!(check_listen(&"[::1]:7878".parse().unwrap(), false).is_ok());
        let refused = check_listen(&"0.0.0.0:7878".parse().unwrap(), false).unwrap_err();
        assert!(refused.to_string().contains("without accounts"), "{refused}");
        assert!(check_listen(&"0.0.0.0:7878".parse().unwrap(), true).is_ok());
    }

    /// The OpenAPI document names exactly the routes the router has, each
    /// with its method, and is OpenAPI 3.1.
    #[test]
    fn the_openapi_document_is_the_routes() {
        let document: serde_json::Value = serde_json::from_str(OPENAPI).expect("openapi.json is JSON");
        assert_eq!(document["openapi"], "3.1.0");
        let mut documented: Vec<(String, String)> = Vec::new();
        for (path, item) in document["paths"].as_object().expect("paths") {
            for method in item.as_object().expect("a path item").keys() {
                documented.push((method.clone(), path.clone()));
            }
        }
        let mut served: Vec<(String, String)> =
            routes().into_iter().map(|(method, path, _)| (method.to_owned(), path.to_owned())).collect();
        documented.sort();
        served.sort();
        assert_eq!(documented, served);
        // Every reference resolves.
        let text = OPENAPI.replace(' ', "");
        for reference in text.split("\"$ref\":\"#/").skip(1) {
            let pointer = format!("/{}", reference.split('"').next().unwrap());
            assert!(document.pointer(&pointer).is_some(), "{pointer} does not resolve");
        }
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(escape("<a href=\"x\">&</a>"), "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;");
    }
}
