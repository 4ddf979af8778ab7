//! `/admin`: accounts and API tokens from the browser, for the `admin`
//! role (and for the person at the keyboard in single-user mode, who may
//! make the first account there). The same rules as `fulcrum user` and
//! `fulcrum token`: they call the same functions. A token is shown once, on
//! the answer that made it, which no cache keeps; an admin cannot remove or
//! demote the last admin.

use std::fmt::Write as _;

use axum::extract::{Form, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use super::accounts::{self, Role};
use super::session::{Viewer, banner, form_refusal, page};
use super::{ApiError, ServerState, blocking, escape};
use crate::error::{ErrorKind, kind};
use crate::store::Store;

const ROLES: [Role; 4] = [Role::Viewer, Role::Member, Role::Lead, Role::Admin];

/// A hidden CSRF field (none in single-user mode).
fn csrf_field(viewer: Option<&Viewer>) -> String {
    viewer.map(|v| format!("<input type=\"hidden\" name=\"csrf\" value=\"{}\">", escape(&v.csrf))).unwrap_or_default()
}

fn role_select(selected: Option<Role>) -> String {
    let mut out = String::from("<select name=\"role\">");
    for role in ROLES {
        let chosen = if Some(role) == selected { " selected" } else { "" };
        let _ = write!(out, "<option value=\"{0}\"{chosen}>{0}</option>", role.as_str());
    }
    out.push_str("</select>");
    out
}

/// The page: the accounts, the tokens and their forms, with `message` (and
/// a new token, shown once) on top.
fn admin_page(
    store: &Store,
    viewer: Option<&Viewer>,
    message: Option<&str>,
    new_token: Option<&str>,
) -> anyhow::Result<String> {
    let csrf = csrf_field(viewer);
    let mut body = banner(viewer);
    body.push_str("<nav><a href=\"/\">Delivery</a></nav>\n<h1>Administration</h1>\n");
    if let Some(message) = message {
        let _ = writeln!(body, "<p role=\"alert\">{}</p>", escape(message));
    }
    if let Some(token) = new_token {
        let _ = writeln!(
            body,
            "<p role=\"status\">Copy the token now: it is shown this once, and only its hash is kept.<br><code data-token>{}</code></p>",
            escape(token)
        );
    }
    let users = store.users()?;
    let _ = writeln!(body, "<h2>Accounts ({})</h2>", users.len());
    if users.is_empty() {
        body.push_str(
            "<p>No accounts: this server is in single-user mode and listens on this machine only. \
             The first account (an admin, to manage the others here) switches sign-in on.</p>\n",
        );
    }
    body.push_str("<table><thead><tr><th>Name</th><th>Role</th><th>Since</th><th></th></tr></thead><tbody>\n");
    for user in &users {
        let role = Role::parse(&user.role).ok();
        let _ = writeln!(
            body,
            "<tr data-account=\"{0}\"><td>{0}</td><td><form method=\"post\" action=\"/admin/accounts\">{csrf}\
             <input type=\"hidden\" name=\"action\" value=\"role\"><input type=\"hidden\" name=\"name\" value=\"{0}\">{1}\
             <button>Change</button></form></td><td>{2}</td><td><form method=\"post\" action=\"/admin/accounts\">{csrf}\
             <input type=\"hidden\" name=\"action\" value=\"remove\"><input type=\"hidden\" name=\"name\" value=\"{0}\">\
             <button>Remove</button></form></td></tr>",
            escape(&user.name),
            role_select(role),
            fulcrum_core::time::format_date(user.created_at)
        );
    }
    let _ = writeln!(
        body,
        "</tbody></table>\n<h3>New account</h3><form method=\"post\" action=\"/admin/accounts\">{csrf}\
         <input type=\"hidden\" name=\"action\" value=\"add\">\
         <label>Name <input name=\"name\" required></label> <label>Role {}</label> \
         <label>Password ({} characters at least) <input name=\"password\" type=\"password\" autocomplete=\"new-password\" required></label> \
         <button>Make the account</button></form>",
        role_select(Some(if users.is_empty() { Role::Admin } else { Role::Member })),
        accounts::MIN_PASSWORD
    );
    let tokens = store.tokens()?;
    let _ = writeln!(
        body,
        "<h2>API tokens ({})</h2>\n<p>For scripts (<code>read</code>) and for CI and incident tools pushing events (<code>events:write</code>).</p>\
         <table><thead><tr><th>Name</th><th>Scopes</th><th>Since</th><th>Revoked</th><th></th></tr></thead><tbody>",
        tokens.len()
    );
    for token in &tokens {
        let revoke = match token.revoked_at {
            Some(_) => String::new(),
            None => format!(
                "<form method=\"post\" action=\"/admin/tokens\">{csrf}<input type=\"hidden\" name=\"action\" value=\"revoke\">\
                 <input type=\"hidden\" name=\"name\" value=\"{}\"><button>Revoke</button></form>",
                escape(&token.name)
            ),
        };
        let _ = writeln!(
            body,
            "<tr data-token-name=\"{0}\"><td>{0}</td><td>{1}</td><td>{2}</td><td>{3}</td><td>{revoke}</td></tr>",
            escape(&token.name),
            escape(&token.scopes.join(" ")),
            fulcrum_core::time::format_date(token.created_at),
            token.revoked_at.map(fulcrum_core::time::format_date).unwrap_or_default()
        );
    }
    let _ = writeln!(
        body,
        "</tbody></table>\n<h3>New token</h3><form method=\"post\" action=\"/admin/tokens\">{csrf}\
         <input type=\"hidden\" name=\"action\" value=\"add\"><label>Name <input name=\"name\" required></label> \
         <label><input type=\"checkbox\" name=\"read\" value=\"on\"> read</label> \
         <label><input type=\"checkbox\" name=\"events_write\" value=\"on\"> events:write</label> \
         <button>Make the token</button></form>"
    );
    Ok(page("fulcrum · administration", &body))
}

/// An admin page answer: never kept by a cache (it may hold a new token).
fn answer(status: StatusCode, html: String) -> Response {
    let mut response = (status, Html(html)).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The page after a form: what was done (and a new token, shown once), or
/// why not with 400; bad input is told on the page, anything else is an
/// error.
fn after(
    store: &Store,
    viewer: Option<&Viewer>,
    outcome: anyhow::Result<Result<(String, Option<String>), String>>,
) -> anyhow::Result<(StatusCode, String)> {
    let outcome = match outcome {
        Err(e) if kind(&e) == ErrorKind::Input => Err(format!("{e:#}")),
        other => other?,
    };
    Ok(match outcome {
        Ok((done, token)) => (StatusCode::OK, admin_page(store, viewer, Some(&done), token.as_deref())?),
        Err(why) => (StatusCode::BAD_REQUEST, admin_page(store, viewer, Some(&why), None)?),
    })
}

/// `GET /admin`.
pub async fn admin(
    State(state): State<ServerState>,
    viewer: Option<axum::Extension<Viewer>>,
) -> Result<Response, ApiError> {
    let context = (state.context)();
    let viewer = viewer.map(|v| v.0);
    let html = blocking(move || admin_page(&Store::open(&context.db)?, viewer.as_ref(), None, None)).await?;
    Ok(answer(StatusCode::OK, html))
}

/// The accounts form.
#[derive(Debug, Deserialize)]
pub struct AccountForm {
    #[serde(default)]
    csrf: String,
    /// `add`, `role` or `remove`.
    action: String,
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
}

/// Refuses what would leave no admin: demoting or removing the last one.
fn keeps_an_admin(store: &Store, name: &str) -> anyhow::Result<Result<(), String>> {
    let users = store.users()?;
    let admins: Vec<&str> = users.iter().filter(|u| u.role == "admin").map(|u| u.name.as_str()).collect();
    Ok(if admins == [name] { Err(format!("`{name}` is the last admin: make another admin first")) } else { Ok(()) })
}

/// `POST /admin/accounts`: make an account, change a role, remove one.
pub async fn accounts_post(
    State(state): State<ServerState>,
    viewer: Option<axum::Extension<Viewer>>,
    headers: HeaderMap,
    Form(form): Form<AccountForm>,
) -> Result<Response, ApiError> {
    let viewer = viewer.map(|v| v.0);
    if let Some(refused) = form_refusal(viewer.as_ref(), &headers, &form.csrf) {
        return Ok(refused);
    }
    let context = (state.context)();
    let (status, html) = blocking(move || {
        let mut store = Store::open(&context.db)?;
        let name = form.name.trim().to_owned();
        let outcome: anyhow::Result<Result<String, String>> = (|| match form.action.as_str() {
            "add" => {
                let role = Role::parse(&form.role)?;
                accounts::add_user(&store, &name, role, &form.password, context.now)?;
                Ok(Ok(format!("Account `{name}` ({}) made.", role.as_str())))
            }
            "role" => {
                let role = Role::parse(&form.role)?;
                if role != Role::Admin
                    && let Err(why) = keeps_an_admin(&store, &name)?
                {
                    return Ok(Err(why));
                }
                Ok(if store.set_role(&name, role.as_str())? {
                    Ok(format!("`{name}` is now {}.", role.as_str()))
                } else {
                    Err(format!("no account named `{name}`"))
                })
            }
            "remove" => {
                if let Err(why) = keeps_an_admin(&store, &name)? {
                    return Ok(Err(why));
                }
                Ok(if store.remove_user(&name)? {
                    Ok(format!("Account `{name}` removed; its sessions ended."))
                } else {
                    Err(format!("no account named `{name}`"))
                })
            }
            other => Ok(Err(format!("`{other}` is not an action on accounts"))),
        })();
        after(&store, viewer.as_ref(), outcome.map(|done| done.map(|message| (message, None))))
    })
    .await?;
    Ok(answer(status, html))
}

/// The tokens form.
#[derive(Debug, Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    csrf: String,
    /// `add` or `revoke`.
    action: String,
    name: String,
    /// The `read` scope's checkbox.
    #[serde(default)]
    read: Option<String>,
    /// The `events:write` scope's checkbox.
    #[serde(default)]
    events_write: Option<String>,
}

/// `POST /admin/tokens`: make a token (shown once) or revoke one.
pub async fn tokens_post(
    State(state): State<ServerState>,
    viewer: Option<axum::Extension<Viewer>>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Result<Response, ApiError> {
    let viewer = viewer.map(|v| v.0);
    if let Some(refused) = form_refusal(viewer.as_ref(), &headers, &form.csrf) {
        return Ok(refused);
    }
    let context = (state.context)();
    let (status, html) = blocking(move || {
        let store = Store::open(&context.db)?;
        let name = form.name.trim().to_owned();
        let outcome: anyhow::Result<Result<(String, Option<String>), String>> = (|| match form.action.as_str() {
            "add" => {
                let scopes: Vec<String> =
                    [(form.read.is_some(), "read"), (form.events_write.is_some(), "events:write")]
                        .into_iter()
                        .filter(|(on, _)| *on)
                        .map(|(_, scope)| scope.to_owned())
                        .collect();
                let token = super::tokens::add(&store, &name, &scopes, context.now)?;
                Ok(Ok((format!("Token `{name}` ({}) made.", scopes.join(", ")), Some(token))))
            }
            "revoke" => Ok(if store.revoke_token(&name, context.now)? {
                Ok((format!("Token `{name}` revoked."), None))
            } else {
                Err(format!("no live token named `{name}`"))
            }),
            other => Ok(Err(format!("`{other}` is not an action on tokens"))),
        })();
        // The command line's words for the form's: `--scope` is the checkboxes.
        let outcome = outcome.map_err(|e| match kind(&e) {
            ErrorKind::Input => crate::error::UsageError(format!("{e:#}").replace("--scope", "scope")).into(),
            ErrorKind::Internal => e,
        });
        after(&store, viewer.as_ref(), outcome)
    })
    .await?;
    Ok(answer(status, html))
}
