//! What the host connectors share: a session around the HTTP client that
//! counts requests, keeps the progress line (with rate-limit waits) and
//! fetches per-item details with a bounded number of requests in flight;
//! the token lookup; JSON helpers.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use fulcrum_core::time::parse_rfc3339;
use serde_json::Value;

use crate::config::SourceFile;
use crate::progress::Progress;
use crate::sources::http::{Client, HttpError, Token};
use crate::store::{IncidentEvent, Store, StoreError};

/// What a source sync did.
#[derive(Debug, Default, serde::Serialize)]
pub struct SourceSummary {
    /// `github:owner/name`, `gitlab:group/project`.
    pub source: String,
    /// Pull (merge) requests fetched and stored (new or updated).
    pub pull_requests: usize,
    /// Deployment events stored (host deployments, CI runs, releases).
    pub deployments: usize,
    /// Incidents stored.
    pub incidents: usize,
    /// Work items (issues) stored.
    pub items: usize,
    /// Requests answered 304 (served from the cache, no rate limit spent).
    pub not_modified: usize,
    /// Requests made.
    pub requests: usize,
    /// Listed items left out because they lack what identifies them (a
    /// number, a creation time).
    pub skipped: usize,
    /// Pull requests whose size the host did not give.
    pub unknown_sizes: usize,
    /// What was odd in the data, naming the item (a changelog going back
    /// in time); the item was still stored as well as it could be.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Bad source settings (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SourceError(pub String);

/// The token of a source: its environment variable, else its command.
/// Returns the token (if any) and a description of where it came from.
pub fn token(source: &SourceFile, default_env: &str) -> anyhow::Result<(Option<Token>, String)> {
    let env = source.token_env.clone().unwrap_or_else(|| default_env.to_owned());
    if let Ok(value) = std::env::var(&env)
        && !value.trim().is_empty()
    {
        return Ok((Some(Token::new(&value)), format!("${env}")));
    }
    if let Some(command) = &source.token_command {
        let output = std::process::Command::new("sh")
            .arg("-c")
            .arg(command)
            .output()
            .map_err(|e| SourceError(format!("token_command of {}: cannot run it ({e})", source.repo)))?;
        if !output.status.success() {
            // The command's output may hold the secret: say only that it failed.
            return Err(SourceError(format!(
                "token_command of {} failed ({}); run it yourself to see why",
                source.repo, output.status
            ))
            .into());
        }
        let text = String::from_utf8_lossy(&output.stdout);
        return Ok((Some(Token::new(&text)), "the configured token_command".to_owned()));
    }
    Ok((None, format!("${env} (unset: requests are unauthenticated and tightly rate limited)")))
}

/// One source sync's HTTP session.
pub struct Session<'p> {
    /// The client.
    pub client: Client,
    requests: AtomicUsize,
    not_modified: AtomicUsize,
    progress: Mutex<&'p mut Progress>,
    label: Mutex<String>,
}

impl<'p> Session<'p> {
    /// A session showing its work on `progress`.
    pub fn new(client: Client, progress: &'p mut Progress) -> Session<'p> {
        progress.start("connecting", None);
        Session {
            client,
            requests: AtomicUsize::new(0),
            not_modified: AtomicUsize::new(0),
            progress: Mutex::new(progress),
            label: Mutex::new(String::new()),
        }
    }

    /// Shows what the sync is doing.
    pub fn stage(&self, text: String) {
        self.progress.lock().expect("progress lock").relabel(&text);
        *self.label.lock().expect("label lock") = text;
    }

    fn notify(&self, message: &str) {
        let base = self.label.lock().expect("label lock").clone();
        let text = if message.is_empty() { base } else { format!("{base} ({message})") };
        self.progress.lock().expect("progress lock").relabel(&text);
    }

    /// Every item of every page from `url` on (for listings of one item's
    /// details; long listings go through [`Session::each_page`]).
    pub fn get_all(&self, url: &str) -> Result<Vec<Value>, HttpError> {
        let mut items = Vec::new();
        self.each_page(url, &mut |page: Vec<Value>| -> Result<(), HttpError> {
            items.extend(page);
            Ok(())
        })?;
        Ok(items)
    }

    /// Every item of every page from `url` on, for hosts that put the items
    /// in `values` (Bitbucket) or `value` (Azure DevOps) and the next page
    /// in the body or a continuation header.
    pub fn get_all_linked(
        &self,
        url: &str,
        next_in_body: &dyn Fn(&Value, &str) -> Option<String>,
    ) -> Result<Vec<Value>, HttpError> {
        let mut items = Vec::new();
        self.each_page_linked(url, next_in_body, &mut |mut body: Value| -> Result<(), HttpError> {
            let key = if body.get("values").is_some() { "values" } else { "value" };
            match body.get_mut(key).map(Value::take) {
                Some(Value::Array(values)) => items.extend(values),
                _ => items.extend(into_items(body)),
            }
            Ok(())
        })?;
        Ok(items)
    }

    /// Calls `each` with the items of every page from `url` on, one page in
    /// memory at a time.
    pub fn each_page<E: From<HttpError>>(
        &self,
        url: &str,
        each: &mut dyn FnMut(Vec<Value>) -> Result<(), E>,
    ) -> Result<(), E> {
        self.each_page_linked(url, &|_, _| None, &mut |body| each(into_items(body)))
    }

    /// Calls `each` with the body of every page from `url` on, the next
    /// page from the `Link` header or, failing that, `next_in_body(body,
    /// url)` (see [`Client::each_page_linked`]).
    pub fn each_page_linked<E: From<HttpError>>(
        &self,
        url: &str,
        next_in_body: &dyn Fn(&Value, &str) -> Option<String>,
        each: &mut dyn FnMut(Value) -> Result<(), E>,
    ) -> Result<(), E> {
        let notify = |message: &str| self.notify(message);
        self.client.each_page_linked(url, &notify, next_in_body, &mut |page| {
            self.requests.fetch_add(1, Ordering::Relaxed);
            if page.not_modified {
                self.not_modified.fetch_add(1, Ordering::Relaxed);
            }
            each(page.body)
        })?;
        Ok(())
    }

    /// POSTs the JSON `body` and returns the answer (a GraphQL query).
    pub fn post(&self, url: &str, body: &Value) -> Result<Value, HttpError> {
        let notify = |message: &str| self.notify(message);
        let page = self.client.post(url, &body.to_string(), &notify)?;
        self.requests.fetch_add(1, Ordering::Relaxed);
        Ok(page.body)
    }

    /// Shows `message` beside the stage on the progress line (empty: clears it).
    pub fn note(&self, message: &str) {
        self.notify(message);
    }

    /// One object (`url` answers a single JSON object).
    pub fn get_one(&self, url: &str) -> Result<Value, HttpError> {
        Ok(self.get_all(url)?.into_iter().next().unwrap_or(Value::Null))
    }

    /// `fetch(item)` for every item, `workers` at a time, results in order;
    /// the first error (in item order) wins.
    pub fn fetch_each<T: Send>(
        &self,
        items: &[Value],
        workers: usize,
        fetch: &(dyn Fn(&Value) -> Result<T, HttpError> + Sync),
    ) -> Result<Vec<T>, HttpError> {
        let next = AtomicUsize::new(0);
        let results: Mutex<Vec<Option<Result<T, HttpError>>>> = Mutex::new((0..items.len()).map(|_| None).collect());
        std::thread::scope(|scope| {
            for _ in 0..workers.clamp(1, 16).min(items.len()) {
                scope.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        let result = fetch(item);
                        results.lock().expect("results lock")[i] = Some(result);
                    }
                });
            }
        });
        results.into_inner().expect("results lock").into_iter().map(|r| r.expect("every item was fetched")).collect()
    }

    /// Fills in the request counts and clears the progress line.
    pub fn finish(self, summary: &mut SourceSummary) {
        summary.requests = self.requests.load(Ordering::Relaxed);
        summary.not_modified = self.not_modified.load(Ordering::Relaxed);
        self.progress.into_inner().expect("progress lock").finish();
    }
}

/// The items of one listed page still to store: after `cursor`, not seen
/// earlier in this listing with the same or a later `updated_at` (a list
/// paged through while it changes can repeat an item), each once (the last
/// occurrence), sorted by `(updated_at, key)`. Items without a `key` number
/// or a `created_at` are counted in `skipped` and left out.
pub fn fresh_items(
    page: Vec<Value>,
    key: &str,
    cursor: Option<Cursor>,
    seen: &mut std::collections::HashMap<u64, Option<i64>>,
    skipped: &mut usize,
) -> Vec<Value> {
    let mut latest: std::collections::HashMap<u64, Value> = std::collections::HashMap::new();
    for item in page {
        let Some(number) = item[key].as_u64() else {
            *skipped += 1;
            continue;
        };
        if time(&item, "created_at").is_none() {
            *skipped += 1;
            continue;
        }
        if cursor.is_some_and(|c| !c.is_before(&item, key)) {
            continue;
        }
        latest.insert(number, item);
    }
    let mut items: Vec<Value> = latest
        .into_iter()
        .filter(|(number, item)| {
            let updated = time(item, "updated_at");
            match seen.get(number) {
                Some(before) if *before >= updated => false,
                _ => {
                    seen.insert(*number, updated);
                    true
                }
            }
        })
        .map(|(_, item)| item)
        .collect();
    items.sort_by_key(|p| (time(p, "updated_at"), p[key].as_u64()));
    items
}

/// The items of a page: its array, or the array inside an object
/// (`{"workflow_runs": [...]}`), or the object itself.
pub fn into_items(body: Value) -> Vec<Value> {
    match body {
        Value::Array(items) => items,
        Value::Object(mut map) => {
            for key in ["workflow_runs", "jobs", "items"] {
                if let Some(Value::Array(items)) = map.remove(key) {
                    return items;
                }
            }
            vec![Value::Object(map)]
        }
        _ => Vec::new(),
    }
}

/// An RFC 3339 field as epoch seconds.
pub fn time(value: &Value, key: &str) -> Option<i64> {
    value[key].as_str().and_then(parse_rfc3339)
}

/// Percent-encodes a path segment or query value.
pub fn encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A source's `since` setting (validated with the configuration) as an
/// instant, spans counted back from `now` (the front end's clock).
pub fn since_time(since: &str, now: i64) -> Option<i64> {
    fulcrum_core::time::parse_instant(since, now).ok()
}

/// What names a source: its API base, repository, store name and service.
pub struct Names<'a> {
    /// API base URL without a trailing slash.
    pub base: String,
    /// `owner/name` or `group/project`.
    pub repo: &'a str,
    /// `github:owner/name`: the `source` of its rows and cursors.
    pub name: String,
    /// The service of its deployments and incidents.
    pub service: String,
}

impl<'a> Names<'a> {
    /// The names of `source`, a `kind` host whose API is at `default_base` unless configured.
    pub fn of(source: &'a SourceFile, kind: &str, default_base: &str) -> Names<'a> {
        let base = source.base_url.as_deref().unwrap_or(default_base).trim_end_matches('/').to_owned();
        let repo = source.repo.trim_matches('/');
        let service = source.service.clone().unwrap_or_else(|| repo.rsplit('/').next().unwrap_or(repo).to_owned());
        Names { base, repo, name: format!("{kind}:{repo}"), service }
    }

    /// Where listing `resource` resumes: the stored cursor, else (before the
    /// first sync) the source's `since`, else from the beginning.
    pub fn cursor(
        &self,
        store: &Store,
        resource: &str,
        source: &SourceFile,
        now: i64,
    ) -> Result<Option<Cursor>, StoreError> {
        let since = || {
            source.since.as_deref().and_then(|s| since_time(s, now)).map(|at| Cursor { at: at - 1, number: u64::MAX })
        };
        Ok(store.cursor(&self.name, resource)?.and_then(|c| Cursor::parse(&c)).or_else(since))
    }
}

/// An issue (GitHub's or GitLab's: `title`, `created_at`, `closed_at`) as
/// an incident of `service`, with its raw payload.
pub fn incident(source: &str, service: &str, number: u64, issue: &Value) -> Option<(IncidentEvent, Option<String>)> {
    let event = IncidentEvent {
        source: source.to_owned(),
        external_id: format!("#{number}"),
        service: service.to_owned(),
        title: issue["title"].as_str().map(str::to_owned),
        started_at: time(issue, "created_at")?,
        resolved_at: time(issue, "closed_at"),
        deployment: None,
        commit: None,
        pull_request: None,
    };
    Some((event, Some(issue.to_string())))
}

/// Where an incremental listing stopped: the `updated_at` and number of
/// the last item stored, written `2025-01-31T12:00:00Z#42`. Comparing both
/// keeps two items updated in the same second on either side of a batch
/// boundary from being skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cursor {
    /// `updated_at`, epoch seconds.
    pub at: i64,
    /// The item's number (`number`, `iid`).
    pub number: u64,
}

impl Cursor {
    /// Reads a stored cursor (a bare time is number 0).
    pub fn parse(text: &str) -> Option<Cursor> {
        let (time, number) = text.split_once('#').unwrap_or((text, "0"));
        Some(Cursor { at: parse_rfc3339(time)?, number: number.parse().ok()? })
    }

    /// The position of an item.
    pub fn of(item: &Value, key: &str) -> Option<Cursor> {
        Some(Cursor { at: time(item, "updated_at")?, number: item[key].as_u64()? })
    }

    /// The stored form.
    pub fn format(&self) -> String {
        format!("{}#{}", fulcrum_core::time::format_datetime(self.at), self.number)
    }

    /// The time part, for a host's `updated_after` filter (inclusive, so
    /// the client filters the tie).
    pub fn time_text(&self) -> String {
        fulcrum_core::time::format_datetime(self.at)
    }

    /// Whether `item` comes after this position.
    pub fn is_before(&self, item: &Value, key: &str) -> bool {
        Cursor::of(item, key).is_some_and(|c| c > *self)
    }
}

/// The cursor to write with a batch: `resource` of `source` reached `value`
/// (none when nothing was reached).
pub fn cursor_update<'a>(
    source: &'a str,
    resource: &'a str,
    value: Option<&'a str>,
) -> Vec<(&'a str, &'a str, &'a str)> {
    value.map(|v| (source, resource, v)).into_iter().collect()
}

/// The HTTP client of `source`, for its host at `base`: pages capped by
/// `max_pages`, rate limits measured against the front end's clock.
pub fn client(
    source: &SourceFile,
    base: &str,
    auth: crate::sources::http::Auth,
    default_env: &str,
    clock: crate::sources::http::Clock,
) -> anyhow::Result<Client> {
    let (token, hint) = token(source, default_env)?;
    if token.is_none() {
        eprintln!("warning: {} {}: no token ({hint})", source.kind, source.repo);
    }
    if let Some((scheme, host, _)) = crate::sources::http::origin(base)
        && scheme == "http"
        && !crate::sources::http::is_loopback(&host)
    {
        eprintln!(
            "warning: {} {}: base_url {base} is plain http (allow_insecure_http = true): the token travels in clear text",
            source.kind, source.repo
        );
    }
    let client = Client::new(base, token, auth, &hint)?;
    Ok(client.with_max_pages(source.max_pages.unwrap_or(crate::sources::http::DEFAULT_MAX_PAGES)).with_clock(clock))
}

/// How a connector names its pull requests in batches and cursors.
pub struct PullBatches<'a> {
    /// The source's name (`github:owner/name`).
    pub source: &'a str,
    /// The cursor's resource (`pulls`, `merge_requests`).
    pub resource: &'a str,
    /// The item's number field (`number`, `iid`).
    pub key: &'a str,
    /// What the progress line calls them.
    pub label: &'a str,
    /// Details fetched at once.
    pub workers: usize,
    /// Items per transaction.
    pub batch: usize,
}

/// Fetches the details of `items` (listed in cursor order) `what.batch` at a
/// time and writes each batch with the cursor it reached, in one
/// transaction: a killed sync refetches at most one batch.
pub fn store_pull_requests(
    store: &mut Store,
    session: &Session<'_>,
    what: &PullBatches<'_>,
    items: &[Value],
    reached: &mut Option<Cursor>,
    summary: &mut SourceSummary,
    fetch: &(dyn Fn(&Value) -> Result<fulcrum_core::flow::PullRequest, HttpError> + Sync),
) -> anyhow::Result<()> {
    for chunk in items.chunks(batch_size(what.batch)) {
        session.stage(format!("{}: {} ({} stored)", what.source, what.label, summary.pull_requests));
        let fetched = session.fetch_each(chunk, what.workers, fetch)?;
        let mut batch = crate::store::EventBatch::default();
        for (item, pr) in chunk.iter().zip(fetched) {
            summary.unknown_sizes += usize::from(pr.size_unknown);
            let label = crate::store::PrLabel {
                title: item["title"].as_str().map(str::to_owned),
                url: item["html_url"].as_str().or_else(|| item["web_url"].as_str()).map(str::to_owned),
            };
            batch.pull_requests.push((pr, what.source.to_owned(), Some(item.to_string()), label));
        }
        *reached = (*reached).max(chunk.last().and_then(|p| Cursor::of(p, what.key)));
        let text = reached.map(|c| c.format());
        store.write_events(&batch, &cursor_update(what.source, what.resource, text.as_deref()))?;
        store.cache_http(&session.client.take_fresh_cache())?;
        summary.pull_requests += chunk.len();
    }
    Ok(())
}

/// A batch size: `FULCRUM_TEST_SOURCE_BATCH` (tests interrupt a sync between
/// two batches), else `default`.
pub fn batch_size(default: usize) -> usize {
    std::env::var("FULCRUM_TEST_SOURCE_BATCH").ok().and_then(|v| v.parse().ok()).unwrap_or(default).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_break_ties_by_number() {
        let cursor = Cursor::parse("2025-01-31T12:00:00Z#42").unwrap();
        assert_eq!(cursor.format(), "2025-01-31T12:00:00Z#42");
        let item = |at: &str, n: u64| serde_json::json!({"updated_at": at, "number": n});
        // Same second, a higher number: not stored yet.
        assert!(cursor.is_before(&item("2025-01-31T12:00:00Z", 43), "number"));
        assert!(!cursor.is_before(&item("2025-01-31T12:00:00Z", 42), "number"));
        assert!(!cursor.is_before(&item("2025-01-31T11:59:59Z", 99), "number"));
        // A bare time (older stores, deployment cursors) is number 0.
        assert_eq!(Cursor::parse("2025-01-31T12:00:00Z"), Some(Cursor { at: cursor.at, number: 0 }));
        assert_eq!(Cursor::parse("yesterday"), None);
    }
}
