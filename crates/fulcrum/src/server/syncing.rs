//! The background sync of the team server: a thread that keeps the served
//! repositories and the `[[source]]`s synced on a schedule, at once when
//! someone presses "Sync now", and after a failure again sooner, backing
//! off; its status (what runs, how far, the last round and its error) for
//! the pages and `GET /api/v1/sync`.
//!
//! One round at a time: the thread is the only one that syncs while the
//! server runs (a request only wakes it), and the store's sync lock keeps
//! a `fulcrum sync` run beside the server from writing at the same time.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::{Form, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

use super::session::Viewer;
use super::{ServerState, escape};
use crate::app;

/// What the background sync is doing and last did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SyncStatus {
    /// The round in progress.
    pub running: Option<Running>,
    /// The last finished round.
    pub last: Option<Round>,
    /// Rounds in a row that failed (0 after a good one).
    pub failures_in_a_row: u32,
    /// When the next round starts (UTC seconds), unless someone asks sooner.
    pub next_at: Option<i64>,
    /// Someone asked for a round that has not started yet.
    pub requested: bool,
}

/// A round in progress.
#[derive(Debug, Clone, Serialize)]
pub struct Running {
    /// When it started, UTC seconds.
    pub started_at: i64,
    /// What it syncs now: a repository's name, or `sources`.
    pub step: String,
    /// Steps done before this one.
    pub done: usize,
    /// Steps in the round.
    pub steps: usize,
}

/// A finished round.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Round {
    /// When it finished, UTC seconds.
    pub finished_at: i64,
    /// What failed, each named; `None` when all went well.
    pub error: Option<String>,
}

/// The status, shared by the thread and the handlers, and the bell that
/// wakes the thread.
#[derive(Debug, Default)]
pub struct Syncer {
    status: Mutex<SyncStatus>,
    bell: Condvar,
}

impl Syncer {
    /// A syncer whose last round is `round` (the sync at start).
    pub fn after(round: Round) -> Syncer {
        Syncer { status: Mutex::new(SyncStatus { last: Some(round), ..SyncStatus::default() }), bell: Condvar::new() }
    }

    /// A copy of the status.
    pub fn status(&self) -> SyncStatus {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Asks for a round now; `false` when one already runs or is asked for.
    pub fn request(&self) -> bool {
        let Ok(mut status) = self.status.lock() else { return false };
        if status.running.is_some() || status.requested {
            return false;
        }
        status.requested = true;
        self.bell.notify_all();
        true
    }

    fn update(&self, change: impl FnOnce(&mut SyncStatus)) {
        if let Ok(mut status) = self.status.lock() {
            change(&mut status);
        }
    }

    /// Waits `delay`, or less when a round is asked for or `stop` is set
    /// (checked at least every 100 ms).
    fn wait(&self, delay: Duration, stop: &AtomicBool) {
        // No schedule (`--sync-every 0`): only when asked.
        let until = std::time::Instant::now().checked_add(delay);
        let Ok(mut status) = self.status.lock() else { return };
        while !status.requested && !stop.load(Ordering::SeqCst) {
            let left = until.map_or(Duration::MAX, |u| u.saturating_duration_since(std::time::Instant::now()));
            if left.is_zero() {
                break;
            }
            match self.bell.wait_timeout(status, left.min(Duration::from_millis(100))) {
                Ok((next, _)) => status = next,
                Err(_) => return,
            }
        }
    }
}

/// The wait before the next round: the interval after a good round; after
/// `failures` failed rounds in a row, one minute doubled for each failure
/// after the first, never longer than the interval.
pub fn next_delay(every: Duration, failures: u32) -> Duration {
    if failures == 0 {
        return every;
    }
    let backoff = Duration::from_secs(60).saturating_mul(1 << failures.saturating_sub(1).min(16));
    backoff.min(every)
}

/// Keeps the served repositories and the `[[source]]`s synced: a round
/// every `every` (sooner after a failure, see [`next_delay`], or when
/// asked; `Duration::MAX` rounds only when asked), each recorded for
/// `/metrics` and in `state.syncs`. Returns the switch that stops it (at
/// the end of the round in progress).
pub fn keep_synced(
    state: &ServerState,
    every: Duration,
    clock: fn() -> anyhow::Result<i64>,
    host_clock: crate::sources::http::Clock,
) -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let (context, repos, syncs, observer, cache, stopped) = (
        state.context.clone(),
        state.repos.clone(),
        state.syncs.clone(),
        state.observer.clone(),
        state.cache.clone(),
        stop.clone(),
    );
    std::thread::spawn(move || {
        loop {
            let delay = next_delay(every, syncs.status().failures_in_a_row);
            let scheduled = i64::try_from(delay.as_secs()).ok().filter(|s| *s < 100 * 365 * 86_400);
            let next_at = scheduled.and_then(|s| Some(clock().ok()? + s));
            syncs.update(|s| s.next_at = next_at);
            syncs.wait(delay, &stopped);
            if stopped.load(Ordering::SeqCst) {
                break;
            }
            let round = run_round(&context, &repos, &syncs, &observer, &cache, clock, host_clock);
            syncs.update(|s| {
                s.failures_in_a_row = if round.error.is_some() { s.failures_in_a_row.saturating_add(1) } else { 0 };
                (s.running, s.requested, s.last) = (None, false, Some(round));
            });
        }
    });
    stop
}

/// One round: every repository, then the sources.
fn run_round(
    context: &Arc<dyn Fn() -> app::Context + Send + Sync>,
    repos: &[PathBuf],
    syncs: &Syncer,
    observer: &super::observe::Observer,
    cache: &super::cache::Cache,
    clock: fn() -> anyhow::Result<i64>,
    host_clock: crate::sources::http::Clock,
) -> Round {
    let started_at = clock().unwrap_or(0);
    let steps = repos.len() + 1;
    let step = |done: usize, name: &str| {
        syncs.update(|s| {
            s.running = Some(Running { started_at, step: name.to_owned(), done, steps });
            s.requested = false;
        });
    };
    let mut errors = Vec::new();
    for (done, path) in repos.iter().enumerate() {
        let name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
        step(done, &name);
        let started = std::time::Instant::now();
        let result = (|| -> anyhow::Result<()> {
            let mut store = crate::store::Store::open(&context().db)?;
            let (repo, key, repo_name) = app::open_repo(path)?;
            crate::sources::sync::sync(
                &mut store,
                &repo,
                &key,
                &repo_name,
                clock()?,
                &crate::sources::sync::SyncOptions::default(),
            )?;
            Ok(())
        })();
        observer.sync(&name, started.elapsed().as_secs_f64(), result.is_err());
        cache.invalidate();
        if let Err(e) = result {
            errors.push(format!("{name}: {e:#}"));
        }
    }
    step(repos.len(), "sources");
    let started = std::time::Instant::now();
    let sources = (|| -> anyhow::Result<usize> {
        let context = context();
        let first = repos.first().map(PathBuf::as_path);
        let config = crate::config::Config::load(context.config.as_deref(), first, &Default::default())?;
        if config.sources.is_empty() {
            return Ok(0);
        }
        let mut store = crate::store::Store::open(&context.db)?;
        let _lock = store.lock_for_sync("sources")?;
        let mut progress = crate::progress::Progress::new("sources");
        let sync = crate::sources::github::SyncContext { config: &config, clock: host_clock, now: clock()? };
        Ok(crate::sources::github::sync_all(&mut store, &sync, &mut progress)?.len())
    })();
    if !matches!(sources, Ok(0)) {
        observer.sync("sources", started.elapsed().as_secs_f64(), sources.is_err());
        cache.invalidate();
    }
    if let Err(e) = sources {
        errors.push(format!("sources: {e:#}"));
    }
    // Goals are measured after every round; a goal that cannot be measured records why.
    let goals = (|| -> anyhow::Result<usize> {
        let context = app::Context { now: clock()?, ..context() };
        app::goals::measure_open(&context)
    })();
    match goals {
        Ok(0) => {}
        Ok(_) => cache.invalidate(),
        Err(e) => errors.push(format!("goals: {e:#}")),
    }
    Round { finished_at: clock().unwrap_or(0), error: (!errors.is_empty()).then(|| errors.join("; ")) }
}

/// The sync panel of every page: the round in progress and how far it is,
/// the last round and its error, and the "Sync now" button. While a round
/// runs the page asks to be reloaded (`meta refresh`, no script).
pub fn panel(state: &ServerState, viewer: Option<&Viewer>, back: &str) -> String {
    let status = state.syncs.status();
    let time = |t: i64| fulcrum_core::time::format_datetime(t);
    let mut out = String::from("<section class=\"sync\" aria-label=\"sync\">");
    match &status.running {
        Some(r) => out.push_str(&format!(
            "<meta http-equiv=\"refresh\" content=\"5\"><p data-sync=\"running\">Syncing {} ({} of {}), started {}…</p>",
            escape(&r.step),
            r.done + 1,
            r.steps,
            time(r.started_at)
        )),
        None if status.requested => out.push_str("<p data-sync=\"requested\">A sync starts in a moment.</p>"),
        None => {}
    }
    match &status.last {
        Some(Round { finished_at, error: None }) => {
            out.push_str(&format!("<p data-sync=\"ok\">Last sync {}.</p>", time(*finished_at)));
        }
        Some(Round { finished_at, error: Some(error) }) => out.push_str(&format!(
            "<p data-sync=\"failed\" role=\"alert\">Last sync {} failed ({} in a row): {}</p>",
            time(*finished_at),
            status.failures_in_a_row.max(1),
            escape(error)
        )),
        None => {}
    }
    if let Some(next) = status.next_at.filter(|_| status.running.is_none() && !status.requested) {
        out.push_str(&format!("<p>Next sync {}.</p>", time(next)));
    }
    // A viewer (a stakeholder) sees the status but has no button.
    if viewer.is_none_or(|v| v.role >= crate::server::accounts::Role::Member) {
        let csrf = viewer.map(|v| format!("<input type=\"hidden\" name=\"csrf\" value=\"{}\">", escape(&v.csrf)));
        out.push_str(&format!(
            "<form method=\"post\" action=\"/sync\">{}<input type=\"hidden\" name=\"back\" value=\"{}\"><button{}>Sync now</button></form>",
            csrf.unwrap_or_default(),
            escape(back),
            if status.running.is_some() || status.requested { " disabled" } else { "" }
        ));
    }
    out.push_str("</section>\n");
    out
}

/// The "Sync now" form.
#[derive(Debug, Deserialize)]
pub struct SyncForm {
    #[serde(default)]
    csrf: String,
    /// The page to go back to: a path on this server.
    #[serde(default)]
    back: String,
}

/// `POST /sync`: asks the background sync for a round now, then back to
/// the page. With accounts the form's CSRF token must be the session's;
/// in single-user mode a request from another site is refused.
pub async fn sync_now(
    State(state): State<ServerState>,
    viewer: Option<axum::Extension<Viewer>>,
    headers: HeaderMap,
    Form(form): Form<SyncForm>,
) -> Response {
    if let Some(refused) = super::session::form_refusal(viewer.as_ref().map(|v| &v.0), &headers, &form.csrf) {
        return refused;
    }
    state.syncs.request();
    Redirect::to(local(&form.back)).into_response()
}

/// `back` when it is a path on this server, else `/` (never another site).
fn local(back: &str) -> &str {
    // Browsers drop tabs and newlines from addresses (`/\t/evil` is `//evil`): no control character at all.
    let local =
        back.starts_with('/') && !back.starts_with("//") && !back.contains('\\') && !back.chars().any(char::is_control);
    if local { back } else { "/" }
}

/// `GET /api/v1/sync`: the status as JSON.
pub async fn status(State(state): State<ServerState>) -> Json<SyncStatus> {
    Json(state.syncs.status())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_rounds_back_off_up_to_the_interval() {
        let every = Duration::from_secs(15 * 60);
        let delays: Vec<u64> = (0..7).map(|f| next_delay(every, f).as_secs()).collect();
        assert_eq!(delays, vec![900, 60, 120, 240, 480, 900, 900]);
        assert_eq!(next_delay(Duration::from_millis(20), 3), Duration::from_millis(20));
        assert_eq!(next_delay(every, u32::MAX), every);
    }

    #[test]
    fn a_request_is_taken_once_until_the_round_starts() {
        let syncer = Syncer::default();
        assert!(syncer.request());
        assert!(!syncer.request(), "already asked");
        syncer.update(|s| {
            (s.requested, s.running) = (false, Some(Running { started_at: 0, step: "x".into(), done: 0, steps: 2 }))
        });
        assert!(!syncer.request(), "a round runs");
        syncer.update(|s| s.running = None);
        assert!(syncer.request());
    }

    #[test]
    fn a_request_wakes_the_waiting_thread() {
        let syncer = Arc::new(Syncer::default());
        let stop = AtomicBool::new(false);
        let asker = syncer.clone();
        let started = std::time::Instant::now();
        let thread = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            asker.request()
        });
        syncer.wait(Duration::from_secs(30), &stop);
        assert!(thread.join().unwrap());
        assert!(started.elapsed() < Duration::from_secs(10), "woken, not timed out");
    }

    #[test]
    fn the_way_back_stays_on_this_server() {
        assert_eq!(local("/flow?since=90d"), "/flow?since=90d");
        for elsewhere in
            ["https://evil.example/", "//evil.example/", "/\\evil.example", "", "flow", "/a\r\nSet-Cookie: x"]
        {
            assert_eq!(local(elsewhere), "/", "{elsewhere:?}");
        }
    }

    #[test]
    fn without_a_schedule_only_a_request_starts_a_round() {
        let syncer = Arc::new(Syncer::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (waiter, stopper) = (syncer.clone(), stop.clone());
        let thread = std::thread::spawn(move || waiter.wait(Duration::MAX, &stopper));
        std::thread::sleep(Duration::from_millis(250));
        assert!(!thread.is_finished(), "still waiting");
        assert!(syncer.request());
        thread.join().unwrap();
        let _ = stop;
    }
}
