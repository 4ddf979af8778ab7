//! The brief on the server: `GET /brief` (a page for every role, the
//! `viewer` stakeholders included), `GET /api/v1/brief` (its JSON, the
//! same object as `fulcrum brief --format json`), and the digest: the brief
//! over the last `brief.post_every_days` days posted as Slack-compatible
//! JSON (`{"text": …}`) to the webhook in `FULCRUM_BRIEF_WEBHOOK`.
//!
//! The webhook's address is a credential (whoever has it can post to the
//! channel): it comes from the server's environment only, never from a
//! repository's file, it must be `https://` (or `http://` on this machine),
//! and no log line or error shows more of it than its scheme and host.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Response};

use super::session::{Viewer, page};
use super::{AnalysisQuery, ApiError, ServerState, blocking};
use crate::app;
use crate::error::UsageError;
use crate::render;
use crate::sources::http::{is_loopback, origin};

/// The variable the digest's webhook address is read from.
pub const WEBHOOK_VARIABLE: &str = "FULCRUM_BRIEF_WEBHOOK";

/// A webhook address; it prints as its scheme and host only.
#[derive(Clone)]
pub struct Webhook {
    url: String,
    shown: String,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

impl Webhook {
    /// Checks `url`: `https://`, or `http://` on this machine.
    pub fn parse(url: &str) -> Result<Webhook, UsageError> {
        let Some((scheme, host, _)) = origin(url.trim()) else {
            return Err(UsageError(format!(
                "{WEBHOOK_VARIABLE} is not an http(s) address without credentials; set it to the webhook's https:// address"
            )));
        };
        if scheme != "https" && !is_loopback(&host) {
            return Err(UsageError(format!(
                "{WEBHOOK_VARIABLE} is http://{host}: the digest would travel in clear text; use https://"
            )));
        }
        Ok(Webhook { url: url.trim().to_owned(), shown: format!("{scheme}://{host}") })
    }

    /// The webhook of the environment, if set.
    pub fn from_env() -> Result<Option<Webhook>, UsageError> {
        match std::env::var(WEBHOOK_VARIABLE) {
            Ok(url) if !url.trim().is_empty() => Webhook::parse(&url).map(Some),
            _ => Ok(None),
        }
    }

    /// Posts `{"text": text}`; an answer other than 2xx is an error that
    /// names the host only.
    pub fn post(&self, text: &str) -> anyhow::Result<()> {
        let agent = crate::sources::http::agent(Duration::from_secs(30));
        let body = serde_json::json!({ "text": text }).to_string();
        let response =
            agent.post(&self.url).header("Content-Type", "application/json").send(body.as_bytes()).map_err(|e| {
                anyhow::anyhow!("the brief webhook at {} could not be reached: {}", self.shown, kind(&e))
            })?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            return Err(anyhow::anyhow!("the brief webhook at {} answered {status}", self.shown));
        }
        Ok(())
    }
}

/// What went wrong in a request, without the address.
fn kind(error: &ureq::Error) -> &'static str {
    match error {
        ureq::Error::Timeout(_) => "timed out",
        ureq::Error::Io(_) | ureq::Error::ConnectionFailed | ureq::Error::HostNotFound => "no connection",
        ureq::Error::Tls(_) => "TLS failed",
        _ => "the request failed",
    }
}

/// The brief of the server's first repository (or a service) for `query`.
fn request(state: &ServerState, query: &AnalysisQuery) -> Result<app::BriefRequest, ApiError> {
    let repo = match (&query.service, &query.team) {
        (None, None) => state.repo(query.repo.as_deref())?,
        _ => None,
    };
    Ok(app::BriefRequest {
        repo,
        services: query.service.iter().cloned().collect(),
        window: super::window(query),
        sync: None,
        deploy_mode: None,
        deadline: None,
        team: query.team.clone(),
    })
}

async fn brief_json(state: &ServerState, query: &AnalysisQuery) -> Result<String, ApiError> {
    let request = request(state, query)?;
    let context = (state.context)();
    let compute = async move { blocking(move || Ok(render::to_json(&app::brief(&context, &request)?))).await };
    state.cache.get(format!("brief {query:?}"), compute).await
}

/// `GET /api/v1/brief`.
pub async fn api(State(state): State<ServerState>, Query(query): Query<AnalysisQuery>) -> Result<Response, ApiError> {
    Ok(super::json_text(brief_json(&state, &query).await?))
}

/// `GET /brief`: the brief as a page (the stylesheet of the server; the
/// chart inline SVG), with a link to its JSON.
pub async fn brief_page(
    State(state): State<ServerState>,
    viewer: Option<axum::Extension<Viewer>>,
    Query(query): Query<AnalysisQuery>,
) -> Result<Response, ApiError> {
    let brief: crate::analyses::brief::Brief =
        serde_json::from_str(&brief_json(&state, &query).await?).map_err(anyhow::Error::from)?;
    let mut body = super::pages::chrome(&state, viewer.as_ref().map(|v| &v.0), &query, "/brief");
    body.push_str(&render::brief::html_body(&brief));
    Ok(Html(page("fulcrum · brief", &body)).into_response())
}

/// Markdown made safe for Slack's `text`: `&`, `<` and `>` escaped, so a
/// file named `<!channel>.rs` pings nobody and `<https://x|y>` links nowhere.
pub fn slack_text(markdown: &str) -> String {
    markdown.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Posts the digest (the brief over the last `days` days, in Markdown)
/// every `every`, the first after one interval; a failed post is logged
/// (host only) and tried at the next. Returns the switch that stops it.
pub fn keep_posting(state: &ServerState, webhook: Webhook, every: Duration, days: u32) -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let (context, repos, stopped) = (state.context.clone(), state.repos.clone(), stop.clone());
    std::thread::spawn(move || {
        loop {
            let until = std::time::Instant::now() + every;
            while std::time::Instant::now() < until && !stopped.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(20).min(every));
            }
            if stopped.load(Ordering::SeqCst) {
                break;
            }
            let request = app::BriefRequest {
                repo: repos.first().cloned(),
                services: Vec::new(),
                window: app::WindowRequest { since: Some(format!("{days}.days")), until: None },
                sync: None,
                deploy_mode: None,
                deadline: None,
                team: None,
            };
            let result =
                app::brief(&context(), &request).and_then(|brief| webhook.post(&render::brief::markdown(&brief)));
            if let Err(e) = result {
                eprintln!("{}", serde_json::json!({ "event": "brief digest", "error": format!("{e:#}") }));
            }
        }
    });
    stop
}

/// The team's focus for a query: `fulcrum focus --format json` of the
/// server's `[[person]]`s and first repository, without any one person's
/// figures (`people`, `leads`), and without the team weeks and meetings of
/// fewer than `focus.min_group` people (a "median" of one is one person's
/// figure; a meeting of one is one person's private title).
async fn focus_json(state: &ServerState, query: &AnalysisQuery) -> Result<String, ApiError> {
    let repo = state.repo(query.repo.as_deref())?;
    let context = (state.context)();
    let window = super::window(query);
    let compute = async move {
        blocking(move || {
            let request = app::FocusRequest { repo, window, ..Default::default() };
            let outcome = app::focus(&context, &request)?;
            let mut value = serde_json::to_value(&outcome)?;
            let min_group = outcome.min_group as u64;
            let enough = |v: &serde_json::Value| v["people"].as_u64().unwrap_or(0) >= min_group;
            if let Some(object) = value.as_object_mut() {
                object.remove("people");
                object.remove("leads");
                for key in ["team", "costly_meetings"] {
                    if let Some(rows) = object.get_mut(key).and_then(serde_json::Value::as_array_mut) {
                        rows.retain(enough);
                    }
                }
            }
            Ok(render::to_json(&value))
        })
        .await
    };
    state.cache.get(format!("focus {query:?}"), compute).await
}

/// `GET /api/v1/focus`: the team's focus, pace and costliest meetings.
pub async fn focus_api(
    State(state): State<ServerState>,
    Query(query): Query<AnalysisQuery>,
) -> Result<Response, ApiError> {
    Ok(super::json_text(focus_json(&state, &query).await?))
}

/// `GET /focus`: the team's focus week by week, the pace, and the meetings
/// that cost the most focus (no one person's figures).
pub async fn focus_page(
    State(state): State<ServerState>,
    viewer: Option<axum::Extension<Viewer>>,
    Query(query): Query<AnalysisQuery>,
) -> Result<Response, ApiError> {
    use std::fmt::Write as _;
    let focus: serde_json::Value =
        serde_json::from_str(&focus_json(&state, &query).await?).map_err(anyhow::Error::from)?;
    let escape = super::escape;
    let mut body = super::pages::chrome(&state, viewer.as_ref().map(|v| &v.0), &query, "/focus");
    let _ = writeln!(
        body,
        "<h1>Focus, {} – {}</h1><p>{} calendars, {} meetings. Team figures only, for weeks and meetings of at least {} people \
         (<code>focus.min_group</code>): each person sees their own with <code>fulcrum focus</code>.</p>",
        escape(focus["since"].as_str().unwrap_or("")),
        escape(focus["until"].as_str().unwrap_or("")),
        focus["calendars_read"],
        focus["meetings"],
        focus["min_group"]
    );
    let weeks: Vec<&serde_json::Value> = focus["team"].as_array().into_iter().flatten().collect();
    let bars: Vec<(String, f64)> = weeks
        .iter()
        .map(|w| (w["week"].as_str().unwrap_or("").to_owned(), w["median_focus_hours"].as_f64().unwrap_or(0.0)))
        .collect();
    body.push_str("<h2>Median focus hours a week (the mark: 20)</h2>");
    body.push_str(&super::pages::bar_chart("median focus hours per week", &bars));
    body.push_str("<table><thead><tr><th>Week</th><th>People</th><th>Median focus h</th><th>Under 10 h</th><th>Meeting-free days</th></tr></thead><tbody>");
    for w in &weeks {
        let _ = write!(
            body,
            "<tr data-week=\"{0}\"><td>{0}</td><td>{1}</td><td>{2:.1}</td><td>{3:.0}%</td><td>{4}</td></tr>",
            escape(w["week"].as_str().unwrap_or("")),
            w["people"],
            w["median_focus_hours"].as_f64().unwrap_or(0.0),
            w["under_10_share"].as_f64().unwrap_or(0.0) * 100.0,
            w["meeting_free_days"]
        );
    }
    body.push_str("</tbody></table>\n<h2>The meetings that cost the most focus</h2><table><thead><tr><th>Meeting</th><th>Occurrences</th><th>People</th><th>Focus hours lost</th><th>At its best time</th></tr></thead><tbody>");
    for m in focus["costly_meetings"].as_array().into_iter().flatten().take(20) {
        let best = m["best_start"].as_i64().unwrap_or(0);
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.1}</td><td>{:.1} at {:02}:{:02}</td></tr>",
            escape(m["label"].as_str().unwrap_or("")),
            m["occurrences"],
            m["people"],
            m["focus_hours_lost"].as_f64().unwrap_or(0.0),
            m["focus_hours_lost_at_best"].as_f64().unwrap_or(0.0),
            best / 3600,
            best % 3600 / 60
        );
    }
    body.push_str("</tbody></table>\n");
    if let Some(pace) = focus["pace"].as_array() {
        body.push_str("<h2>Pace: work outside working hours</h2><table><thead><tr><th>Week</th><th>People</th><th>Outside hours</th><th>On days off</th></tr></thead><tbody>");
        for w in pace {
            let share = |v: &serde_json::Value| {
                v.as_f64().map_or_else(|| "not shown (too few people)".to_owned(), |s| format!("{:.0}%", s * 100.0))
            };
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(w["week"].as_str().unwrap_or("")),
                w["people"],
                share(&w["outside_hours_share"]),
                share(&w["weekend_share"])
            );
        }
        body.push_str("</tbody></table>\n");
    }
    for w in focus["warnings"].as_array().into_iter().flatten() {
        let _ = write!(body, "<p class=\"warning\">{}</p>", escape(w.as_str().unwrap_or("")));
    }
    Ok(Html(page("fulcrum · focus", &body)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_addresses_are_checked_and_never_printed_whole() {
        let hook = Webhook::parse("https://hooks.example.com/services/T0/B0/secret").unwrap();
        assert_eq!(format!("{hook:?}"), "https://hooks.example.com");
        assert!(Webhook::parse("http://127.0.0.1:9/x").is_ok(), "this machine may be plain http");
        let clear = Webhook::parse("http://hooks.example.com/services/secret").unwrap_err().0;
        assert!(clear.contains("clear text") && !clear.contains("secret"), "{clear}");
        assert!(Webhook::parse("ftp://x/secret").unwrap_err().0.contains("not an http(s) address"));
        assert!(Webhook::parse("https://user:pw@hooks.example.com/").is_err(), "no credentials in the address");
    }

    #[test]
    fn chat_text_cannot_ping_or_link() {
        assert_eq!(slack_text("`<!channel>.rs` & <https://x|y>"), "`&lt;!channel&gt;.rs` &amp; &lt;https://x|y&gt;");
    }

    #[test]
    fn a_refused_post_names_the_host_only() {
        // Nothing listens on port 9 of this machine.
        let hook = Webhook::parse("http://127.0.0.1:9/services/secret").unwrap();
        let error = hook.post("hi").unwrap_err().to_string();
        assert!(error.starts_with("the brief webhook at http://127.0.0.1 could not be reached"), "{error}");
        assert!(!error.contains("secret"), "{error}");
    }
}
