//! Who is asking: the access guard in front of every route, and the login,
//! logout and password pages.
//!
//! Without accounts the server is in single-user mode (loopback only) and
//! every route is open. Once an account exists, every page and API answer
//! needs a session cookie (or, for `GET /api/v1/…`, a token of scope
//! `read`), and the role decides: `viewer` sees the delivery overview
//! only. The webhook endpoints check their own tokens and signatures.
//!
//! Sessions: a random cookie (`HttpOnly`, `SameSite=Lax`, `Secure` behind a
//! TLS proxy that says `X-Forwarded-Proto: https`) whose SHA-256 the store
//! keeps. Every form carries a CSRF token: the session's, or for the login
//! form one bound to a short-lived cookie. Failed logins are limited per
//! account name.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{ApiError, ServerState, blocking, escape, refusal};
use crate::server::accounts::{self, Role};

/// The session cookie.
const SESSION_COOKIE: &str = "fulcrum_session";
/// The cookie the login form's CSRF token is bound to.
const LOGIN_COOKIE: &str = "fulcrum_login";
/// Failed logins of one account name allowed per window.
pub const MAX_FAILURES: usize = 5;
/// The window of failed logins, seconds.
const FAILURE_WINDOW: i64 = 15 * 60;

/// Failed logins per account name: their times.
pub type Failures = Arc<Mutex<HashMap<String, Vec<i64>>>>;

/// The signed-in account of a request (absent in single-user mode).
#[derive(Debug, Clone)]
pub struct Viewer {
    /// Its name.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// The CSRF token of its forms.
    pub csrf: String,
    /// The SHA-256 of its session cookie.
    pub session: String,
}

/// What a path needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    /// Nothing (or its own token or signature).
    Nothing,
    /// Any account.
    Account(Role),
}

fn need(path: &str) -> Need {
    match path {
        "/healthz" | "/login" | "/favicon.ico" | "/static/fulcrum.css" | "/api/v1/openapi.json" | "/api/v1/events" => {
            Need::Nothing
        }
        p if p.starts_with("/api/v1/webhooks/") || p.starts_with("/api/rest/plugins/webhook/") => Need::Nothing,
        // A one-time survey link is its own credential.
        p if p.starts_with("/pulse/") => Need::Nothing,
        "/" | "/deployments" | "/brief" | "/api/v1/report" | "/api/v1/brief" | "/logout" | "/account"
        | "/account/password" => Need::Account(Role::Viewer),
        p if p == "/admin" || p.starts_with("/admin/") => Need::Account(Role::Admin),
        p if p.starts_with("/download/delivery/") || p.starts_with("/download/deployments/") => {
            Need::Account(Role::Viewer)
        }
        _ => Need::Account(Role::Member),
    }
}

/// Routes about people: never answered to a token.
fn personal(path: &str) -> bool {
    ["/api/v1/goals", "/api/v1/checkins", "/api/v1/surveys"].iter().any(|p| path.starts_with(p))
}

fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// A refusal as a browser or a script should see it.
fn refused(api: bool, status: StatusCode, why: &str) -> Response {
    if api {
        refusal(status, why)
    } else {
        (status, Html(page("fulcrum", &format!("<p>{}</p><p><a href=\"/\">Back</a></p>", escape(why))))).into_response()
    }
}

/// A browser says the request comes from another site.
pub(super) fn cross_site(headers: &HeaderMap) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        return !matches!(site, "same-origin" | "none");
    }
    match (header("origin"), header("host")) {
        (Some(origin), Some(host)) => origin.split_once("://").map(|(_, h)| h) != Some(host),
        (Some(_), None) => true,
        _ => false,
    }
}

/// The refusal of a posted form that may not act (`None`: it may): with
/// accounts its CSRF token must be the session's; in single-user mode (no
/// session, no token) a browser must not say the request comes from
/// another site.
pub(super) fn form_refusal(viewer: Option<&Viewer>, headers: &HeaderMap, csrf: &str) -> Option<Response> {
    match viewer {
        Some(viewer) if !same(&viewer.csrf, csrf) => {
            Some(refusal(StatusCode::FORBIDDEN, "the form expired; reload the page and try again"))
        }
        None if cross_site(headers) => {
            Some(refusal(StatusCode::FORBIDDEN, "this form is accepted from fulcrum's own pages only"))
        }
        _ => None,
    }
}

/// Whether the request's `Host` names this machine (or there is none, as
/// from a test client): `localhost`, a loopback address, with any port.
fn addressed_to_loopback(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST) else { return true };
    let Ok(host) = host.to_str() else { return false };
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    crate::sources::http::is_loopback(name)
}

/// The guard in front of every route.
pub async fn guard(State(state): State<ServerState>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let Need::Account(role) = need(&path) else { return next.run(request).await };
    // Answers for scripts: JSON refusals, and a read token is enough.
    let api = path.starts_with("/api/") || path == "/metrics";
    let cookie = cookie(request.headers(), SESSION_COOKIE).map(str::to_owned);
    let bearer = super::bearer(request.headers());
    let reading = request.method() == axum::http::Method::GET;
    let context = (state.context)();
    let beyond_loopback = state.beyond_loopback;
    let who = blocking(move || {
        let store = crate::store::Store::open(&context.db)?;
        if !store.has_users()? {
            return Ok(if beyond_loopback { Who::Nobody } else { Who::SingleUser });
        }
        if let Some(cookie) = cookie
            && let Some(row) = accounts::session(&store, &cookie, context.now)?
        {
            let role = Role::parse(&row.user.role)?;
            let session = crate::server::tokens::hash(&cookie);
            return Ok(Who::Account(Viewer { name: row.user.name, role, csrf: row.csrf, session }));
        }
        if let Some(token) = bearer
            && api
            && reading
            && let Some((_, true)) = crate::server::tokens::allows(&store, &token, "read")?
        {
            return Ok(Who::Token);
        }
        Ok(Who::Nobody)
    })
    .await;
    match who {
        Err(error) => error.into_response(),
        // Single-user mode answers requests addressed to this machine only: a
        // page on another site whose name was made to point here (DNS
        // rebinding) sends its own name as the Host.
        Ok(Who::SingleUser) if !addressed_to_loopback(request.headers()) => refused(
            api,
            StatusCode::FORBIDDEN,
            "single-user mode answers requests to localhost or 127.0.0.1 only; make an account to serve other names",
        ),
        Ok(Who::SingleUser) => next.run(request).await,
        // People's goals, check-ins and surveys are for signed-in people only.
        Ok(Who::Token) if personal(&path) => {
            refused(api, StatusCode::FORBIDDEN, "a token cannot read goals, check-ins or surveys; sign in")
        }
        Ok(Who::Token) if role <= Role::Member => next.run(request).await,
        Ok(Who::Token) => refused(api, StatusCode::FORBIDDEN, "a token cannot do this; sign in"),
        Ok(Who::Nobody) if api => refused(
            true,
            StatusCode::UNAUTHORIZED,
            "sign in, or send a token of scope read: Authorization: Bearer TOKEN",
        ),
        Ok(Who::Nobody) => Redirect::to("/login").into_response(),
        Ok(Who::Account(viewer)) if viewer.role < role => refused(
            api,
            StatusCode::FORBIDDEN,
            &format!("the {} role sees the delivery overview only; ask an admin for more", viewer.role.as_str()),
        ),
        Ok(Who::Account(viewer)) => {
            request.extensions_mut().insert(viewer);
            next.run(request).await
        }
    }
}

enum Who {
    SingleUser,
    Account(Viewer),
    Token,
    Nobody,
}

/// The stylesheet link of every page (`/static/fulcrum.css`, same origin).
pub const STYLESHEET: &str = "<link rel=\"stylesheet\" href=\"/static/fulcrum.css\">";

/// A page of the server's plain layout.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>{STYLESHEET}</head><body>\n{body}</body></html>\n",
        escape(title)
    )
}

fn secure(headers: &HeaderMap) -> &'static str {
    let https = headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) == Some("https");
    if https { "; Secure" } else { "" }
}

fn login_page(csrf: &str, message: Option<&str>) -> String {
    let mut body = String::from("<h1>fulcrum · sign in</h1>\n");
    if let Some(message) = message {
        let _ = writeln!(body, "<p role=\"alert\">{}</p>", escape(message));
    }
    let _ = writeln!(
        body,
        "<form method=\"post\" action=\"/login\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <label>Name <input name=\"name\" autocomplete=\"username\" required></label>\
         <label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\" required></label>\
         <button>Sign in</button></form>",
        escape(csrf)
    );
    page("fulcrum · sign in", &body)
}

/// A login form with a CSRF token bound to a cookie: the token of the
/// browser's login cookie when it has one (a second login page, in
/// another tab or fetched by the browser on its own, must not make the
/// first one's form expire), else a fresh one.
fn login_form(headers: &HeaderMap, status: StatusCode, message: Option<&str>) -> Result<Response, ApiError> {
    let csrf = match cookie(headers, LOGIN_COOKIE) {
        Some(token) if token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit()) => token.to_owned(),
        _ => accounts::random_token()?,
    };
    let cookie =
        format!("{LOGIN_COOKIE}={csrf}; HttpOnly; SameSite=Strict; Path=/login; Max-Age=3600{}", secure(headers));
    let mut response = (status, Html(login_page(&csrf, message))).into_response();
    response.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&cookie)?);
    Ok(response)
}

/// `GET /login`.
pub async fn login_get(headers: HeaderMap) -> Result<Response, ApiError> {
    login_form(&headers, StatusCode::OK, None)
}

/// The login form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    name: String,
    password: String,
    csrf: String,
}

pub(super) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `POST /login`.
pub async fn login_post(
    State(state): State<ServerState>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, ApiError> {
    if !cookie(&headers, LOGIN_COOKIE).is_some_and(|c| same(c, &form.csrf)) {
        return login_form(&headers, StatusCode::FORBIDDEN, Some("The form expired; sign in again."));
    }
    let context = (state.context)();
    let now = context.now;
    {
        let mut failures = state.failures.lock().map_err(|_| anyhow::anyhow!("the login limiter failed"))?;
        // Names come from strangers: forget the expired ones before the map grows large.
        if failures.len() > 10_000 {
            failures.retain(|_, times| times.iter().any(|&at| at > now - FAILURE_WINDOW));
        }
        let recent = failures.entry(form.name.clone()).or_default();
        recent.retain(|&at| at > now - FAILURE_WINDOW);
        if recent.len() >= MAX_FAILURES {
            return login_form(
                &headers,
                StatusCode::TOO_MANY_REQUESTS,
                Some("Too many failed sign-ins for this name; wait 15 minutes."),
            );
        }
    }
    let (name, password) = (form.name.clone(), form.password);
    let session = blocking(move || {
        let store = crate::store::Store::open(&context.db)?;
        match accounts::authenticate(&store, &name, &password)? {
            Some(user) => Ok(Some(accounts::start_session(&store, &user, context.now)?)),
            None => Ok(None),
        }
    })
    .await?;
    let Some((cookie, _csrf)) = session else {
        if let Ok(mut failures) = state.failures.lock() {
            failures.entry(form.name).or_default().push(now);
        }
        return login_form(&headers, StatusCode::UNAUTHORIZED, Some("Wrong name or password."));
    };
    if let Ok(mut failures) = state.failures.lock() {
        failures.remove(&form.name);
    }
    let mut response = Redirect::to("/").into_response();
    let value = format!(
        "{SESSION_COOKIE}={cookie}; HttpOnly; SameSite=Lax; Path=/; Max-Age={}{}",
        accounts::SESSION_SECONDS,
        secure(&headers)
    );
    response.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&value)?);
    Ok(response)
}

/// A form that carries only its CSRF token.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

/// `POST /logout`.
pub async fn logout(
    State(state): State<ServerState>,
    viewer: Option<axum::Extension<Viewer>>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    let Some(axum::Extension(viewer)) = viewer else { return Ok(Redirect::to("/").into_response()) };
    if !same(&viewer.csrf, &form.csrf) {
        return Ok(refused(false, StatusCode::FORBIDDEN, "the form expired; reload the page and try again"));
    }
    let context = (state.context)();
    blocking(move || Ok(crate::store::Store::open(&context.db)?.end_session(&viewer.session)?)).await?;
    let mut response = Redirect::to("/login").into_response();
    let clear = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0");
    response.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&clear)?);
    Ok(response)
}

/// The banner of a page: who is signed in, with the logout form.
pub fn banner(viewer: Option<&Viewer>) -> String {
    match viewer {
        None => "<p>Single-user mode: no accounts; this server listens on this machine only.</p>\n".to_owned(),
        Some(v) => format!(
            "<form method=\"post\" action=\"/logout\"><p>Signed in as {} ({}) · <a href=\"/account\">Account</a> \
             <input type=\"hidden\" name=\"csrf\" value=\"{}\"><button>Sign out</button></p></form>\n",
            escape(&v.name),
            v.role.as_str(),
            escape(&v.csrf)
        ),
    }
}

fn account_page(viewer: &Viewer, message: Option<&str>) -> String {
    let mut body = banner(Some(viewer));
    body.push_str("<h1>Your account</h1>\n");
    if let Some(message) = message {
        let _ = writeln!(body, "<p role=\"alert\">{}</p>", escape(message));
    }
    let _ = writeln!(
        body,
        "<form method=\"post\" action=\"/account/password\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <label>Current password <input name=\"current\" type=\"password\" autocomplete=\"current-password\" required></label>\
         <label>New password ({} characters at least) <input name=\"new\" type=\"password\" autocomplete=\"new-password\" required></label>\
         <button>Change password</button></form>",
        escape(&viewer.csrf),
        accounts::MIN_PASSWORD
    );
    page("fulcrum · account", &body)
}

/// `GET /account`.
pub async fn account(viewer: Option<axum::Extension<Viewer>>) -> Response {
    match viewer {
        Some(axum::Extension(viewer)) => Html(account_page(&viewer, None)).into_response(),
        None => refused(false, StatusCode::NOT_FOUND, "single-user mode has no accounts; see `fulcrum user add`"),
    }
}

/// The password form.
#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    csrf: String,
    current: String,
    new: String,
}

/// `POST /account/password`: the current password again, then the new one;
/// the account's other sessions end.
pub async fn change_password(
    State(state): State<ServerState>,
    viewer: Option<axum::Extension<Viewer>>,
    Form(form): Form<PasswordForm>,
) -> Result<Response, ApiError> {
    let Some(axum::Extension(viewer)) = viewer else {
        return Ok(refused(false, StatusCode::NOT_FOUND, "single-user mode has no accounts"));
    };
    if !same(&viewer.csrf, &form.csrf) {
        return Ok(refused(false, StatusCode::FORBIDDEN, "the form expired; reload the page and try again"));
    }
    let context = (state.context)();
    let who = viewer.clone();
    let outcome = blocking(move || {
        let mut store = crate::store::Store::open(&context.db)?;
        if accounts::authenticate(&store, &who.name, &form.current)?.is_none() {
            return Ok(Err("The current password is wrong."));
        }
        match accounts::set_password(&mut store, &who.name, &form.new, Some(&who.session)) {
            Ok(()) => Ok(Ok(())),
            Err(e) if crate::error::kind(&e) == crate::error::ErrorKind::Input => {
                Ok(Err("The new password is too short."))
            }
            Err(e) => Err(e),
        }
    })
    .await?;
    Ok(match outcome {
        Ok(()) => Html(account_page(&viewer, Some("Password changed; your other sessions ended."))).into_response(),
        Err(why) => (StatusCode::BAD_REQUEST, Html(account_page(&viewer, Some(why)))).into_response(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_each_path_needs() {
        assert_eq!(need("/healthz"), Need::Nothing);
        assert_eq!(need("/api/v1/webhooks/github"), Need::Nothing);
        assert_eq!(need("/"), Need::Account(Role::Viewer));
        assert_eq!(need("/api/v1/report"), Need::Account(Role::Viewer));
        assert_eq!(need("/brief"), Need::Account(Role::Viewer));
        assert_eq!(need("/api/v1/brief"), Need::Account(Role::Viewer));
        assert_eq!(need("/api/v1/flow"), Need::Account(Role::Member));
        assert_eq!(need("/download/deployments/deployments.csv"), Need::Account(Role::Viewer));
        assert_eq!(need("/admin"), Need::Account(Role::Admin));
        assert_eq!(need("/admin/tokens"), Need::Account(Role::Admin));
        assert_eq!(need("/administrivia"), Need::Account(Role::Member));
        assert_eq!(need("/download/flow/stale.csv"), Need::Account(Role::Member));
        assert_eq!(need("/download/knowledge/files.json"), Need::Account(Role::Member));
        assert_eq!(need("/api/v1/knowledge"), Need::Account(Role::Member));
        assert_eq!(need("/anything/else"), Need::Account(Role::Member));
    }

    #[test]
    fn requests_from_other_sites_are_told_apart() {
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut map = HeaderMap::new();
            for (k, v) in pairs {
                map.insert(*k, v.parse().unwrap());
            }
            map
        };
        assert!(!cross_site(&headers(&[])), "a script on this machine");
        assert!(!cross_site(&headers(&[("sec-fetch-site", "same-origin")])));
        assert!(cross_site(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(!cross_site(&headers(&[("origin", "http://127.0.0.1:7878"), ("host", "127.0.0.1:7878")])));
        assert!(cross_site(&headers(&[("origin", "https://evil.example"), ("host", "127.0.0.1:7878")])));
    }

    #[test]
    fn only_requests_to_this_machine_pass_in_single_user_mode() {
        let host = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::HOST, HeaderValue::from_static(value));
            addressed_to_loopback(&headers)
        };
        assert!(host("127.0.0.1:7878") && host("localhost:7878") && host("[::1]:7878") && host("localhost"));
        assert!(!host("attacker.example:7878") && !host("attacker.example") && !host("10.0.0.5:7878"));
        assert!(addressed_to_loopback(&HeaderMap::new()), "a client without Host (tests)");
    }

    #[test]
    fn cookies_are_found_by_name() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; fulcrum_session=abc; b=2"));
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, "fulcrum"), None);
    }
}
