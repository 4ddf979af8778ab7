//! The HTTP client of the host connectors: JSON pages over HTTPS with
//! pagination (`Link: <…>; rel="next"`), conditional requests (ETag /
//! If-None-Match: an unchanged page costs no rate limit), primary and
//! secondary rate limits (waits for `x-ratelimit-reset` or `retry-after`,
//! shown on the progress line), and retries with exponential backoff on 5xx
//! and network errors.
//!
//! The token lives in [`Token`], whose `Debug` and `Display` print `***`; it
//! is only ever written into the authorization header, never into a URL, a
//! message or the store.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use ureq::http::HeaderMap;

use crate::store::CachedPage;

/// Rate-limit answers to one request before giving up (a host answering
/// `retry-after: 0` forever must not spin forever).
const MAX_RATE_LIMITED: u32 = 100;

/// A secret: printed as `***`.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    /// Wraps a secret, trimmed of surrounding white space.
    pub fn new(secret: &str) -> Token {
        Token(secret.trim().to_owned())
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// How the token is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// `Authorization: Bearer <token>` (GitHub).
    Bearer,
    /// `PRIVATE-TOKEN: <token>` (GitLab).
    PrivateToken,
}

/// Failures talking to a host. None carries the token.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The host refused the credentials (exit code 2).
    #[error("{url}: the host refused the token (HTTP {status}); check {hint} (the token is not shown) and its scopes")]
    Unauthorized {
        /// The URL.
        url: String,
        /// 401 or 403.
        status: u16,
        /// Where the token came from.
        hint: String,
    },
    /// Not found (exit code 2: usually a mistyped repository).
    #[error(
        "{url}: not found (HTTP 404); check the repository name and base_url in fulcrum.toml, and that the token can read it"
    )]
    NotFound {
        /// The URL.
        url: String,
    },
    /// Any other error status, after retries where they apply.
    #[error("{url}: HTTP {status}{message}")]
    Status {
        /// The URL.
        url: String,
        /// The status.
        status: u16,
        /// The host's message, when it sent one.
        message: String,
    },
    /// The body is not the JSON expected.
    #[error("{url}: the response is not valid JSON ({reason}); the host or a proxy sent something else")]
    Malformed {
        /// The URL.
        url: String,
        /// What the parser said.
        reason: String,
    },
    /// Network failure after retries.
    #[error("{url}: network error after {attempts} attempts: {reason}")]
    Network {
        /// The URL.
        url: String,
        /// Attempts made.
        attempts: u32,
        /// What failed.
        reason: String,
    },
    /// The rate limit would keep us waiting too long.
    #[error("{url}: rate limited for {seconds} s more, over the {limit} s fulcrum waits; run sync again later")]
    RateLimited {
        /// The URL.
        url: String,
        /// Seconds to wait.
        seconds: u64,
        /// The longest wait accepted.
        limit: u64,
    },
}

impl HttpError {
    /// Whether the user can fix it (exit code 2).
    pub fn is_input_error(&self) -> bool {
        matches!(self, HttpError::Unauthorized { .. } | HttpError::NotFound { .. })
    }
}

/// One fetched page.
#[derive(Debug)]
pub struct Page {
    /// The parsed body.
    pub body: serde_json::Value,
    /// The next page's URL (`Link: rel="next"`).
    pub next: Option<String>,
    /// Whether the host answered 304 and the cached body was used.
    pub not_modified: bool,
}

/// What the client reports while it works, e.g. a rate-limit wait.
pub type Notify<'a> = &'a (dyn Fn(&str) + Sync);

/// A JSON client for one host.
pub struct Client {
    agent: ureq::Agent,
    token: Option<Token>,
    auth: Auth,
    token_hint: String,
    /// Pages per URL, loaded from the store before and saved after.
    cache: Mutex<HashMap<String, CachedPage>>,
    /// Entries added during this run.
    fresh: Mutex<Vec<(String, CachedPage)>>,
    backoff: Duration,
    max_attempts: u32,
    max_wait: u64,
}

impl Client {
    /// A client sending `token` as `auth`; `token_hint` names where the token
    /// came from for error messages.
    pub fn new(token: Option<Token>, auth: Auth, token_hint: &str) -> Client {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .user_agent(concat!("fulcrum/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        // Tests shorten the backoff; real runs start at half a second.
        let backoff_ms = std::env::var("FULCRUM_HTTP_BACKOFF_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(500);
        Client {
            agent,
            token,
            auth,
            token_hint: token_hint.to_owned(),
            cache: Mutex::new(HashMap::new()),
            fresh: Mutex::new(Vec::new()),
            backoff: Duration::from_millis(backoff_ms),
            max_attempts: 5,
            max_wait: 3600,
        }
    }

    /// Seeds the conditional-request cache.
    pub fn load_cache(&self, entries: HashMap<String, CachedPage>) {
        self.cache.lock().expect("cache lock").extend(entries);
    }

    /// Cache entries added since the last call, for the store.
    pub fn take_fresh_cache(&self) -> Vec<(String, CachedPage)> {
        std::mem::take(&mut *self.fresh.lock().expect("cache lock"))
    }

    /// GETs `url` as JSON, retrying and waiting as the host asks.
    pub fn get(&self, url: &str, notify: Notify<'_>) -> Result<Page, HttpError> {
        let cached = self.cache.lock().expect("cache lock").get(url).cloned();
        let mut attempt = 0;
        let (mut waited, mut limited) = (0, 0);
        loop {
            attempt += 1;
            let mut request = self.agent.get(url).header("Accept", "application/json");
            if let Some(token) = &self.token {
                request = match self.auth {
                    Auth::Bearer => request.header("Authorization", &format!("Bearer {}", token.0)),
                    Auth::PrivateToken => request.header("PRIVATE-TOKEN", &token.0),
                };
            }
            if let Some(page) = &cached {
                request = request.header("If-None-Match", &page.etag);
            }
            let mut response = match request.call() {
                Ok(response) => response,
                Err(e) => {
                    if attempt >= self.max_attempts {
                        return Err(HttpError::Network {
                            url: url.to_owned(),
                            attempts: attempt,
                            reason: e.to_string(),
                        });
                    }
                    self.pause(attempt, url, &format!("network error ({e})"), notify);
                    continue;
                }
            };
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = response.body_mut().read_to_string();
            if status == 304
                && let Some(page) = &cached
            {
                let mut parsed = parse(url, page.body.clone(), &headers, true)?;
                parsed.next = parsed.next.or_else(|| page.next.clone());
                return Ok(parsed);
            }
            if let Some(wait) = rate_limit_wait(status, &headers) {
                // A host that keeps limiting (or a reset that never comes) ends
                // the sync once the waits add up to the limit.
                if waited + wait > self.max_wait || limited >= MAX_RATE_LIMITED {
                    return Err(HttpError::RateLimited { url: url.to_owned(), seconds: wait, limit: self.max_wait });
                }
                waited += wait;
                limited += 1;
                notify(&format!("rate limited: waiting {wait} s"));
                std::thread::sleep(Duration::from_secs(wait));
                notify("");
                attempt = 0;
                continue;
            }
            let body = match body {
                Ok(body) => body,
                Err(e) if attempt < self.max_attempts => {
                    self.pause(attempt, url, &format!("reading the body failed ({e})"), notify);
                    continue;
                }
                Err(e) => {
                    return Err(HttpError::Network { url: url.to_owned(), attempts: attempt, reason: e.to_string() });
                }
            };
            match status {
                200..=299 => {
                    let parsed = parse(url, body.clone(), &headers, false)?;
                    if let Some(etag) = headers.get("etag").and_then(|v| v.to_str().ok()) {
                        let page = CachedPage { etag: etag.to_owned(), body, next: parsed.next.clone() };
                        self.cache.lock().expect("cache lock").insert(url.to_owned(), page.clone());
                        self.fresh.lock().expect("cache lock").push((url.to_owned(), page));
                    }
                    return Ok(parsed);
                }
                401 | 403 => {
                    return Err(HttpError::Unauthorized { url: url.to_owned(), status, hint: self.token_hint.clone() });
                }
                404 => return Err(HttpError::NotFound { url: url.to_owned() }),
                500..=599 if attempt < self.max_attempts => {
                    self.pause(attempt, url, &format!("HTTP {status}"), notify);
                }
                _ => {
                    let message = serde_json::from_str::<serde_json::Value>(&body)
                        .ok()
                        .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(|m| format!(": {m}")))
                        .unwrap_or_default();
                    return Err(HttpError::Status { url: url.to_owned(), status, message });
                }
            }
        }
    }

    /// GETs every page from `url` on, following `rel="next"`.
    pub fn get_all(&self, url: &str, notify: Notify<'_>) -> Result<Vec<Page>, HttpError> {
        let mut pages = Vec::new();
        let mut next = Some(url.to_owned());
        while let Some(url) = next {
            let page = self.get(&url, notify)?;
            next = page.next.clone();
            pages.push(page);
        }
        Ok(pages)
    }

    fn pause(&self, attempt: u32, url: &str, why: &str, notify: Notify<'_>) {
        let wait = self.backoff * 2u32.pow(attempt - 1);
        notify(&format!("{why} on {}: retrying in {:.1} s", short(url), wait.as_secs_f64()));
        std::thread::sleep(wait);
        notify("");
    }
}

/// The path of a URL, for progress messages.
fn short(url: &str) -> &str {
    url.split_once("://").and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..])).unwrap_or(url)
}

fn parse(url: &str, raw: String, headers: &HeaderMap, not_modified: bool) -> Result<Page, HttpError> {
    let body =
        serde_json::from_str(&raw).map_err(|e| HttpError::Malformed { url: url.to_owned(), reason: e.to_string() })?;
    let next = headers.get("link").and_then(|v| v.to_str().ok()).and_then(next_link);
    Ok(Page { body, next, not_modified })
}

/// The `rel="next"` target of a `Link` header.
pub fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim();
            p == "rel=\"next\"" || p == "rel=next"
        });
        is_next.then(|| target.trim().trim_start_matches('<').trim_end_matches('>').to_owned())
    })
}

/// Seconds to wait when the response is a rate limit: 429, or 403 with
/// `retry-after` or `x-ratelimit-remaining: 0` (GitHub's primary and
/// secondary limits; GitLab sends 429 with `retry-after` / `ratelimit-reset`).
fn rate_limit_wait(status: u16, headers: &HeaderMap) -> Option<u64> {
    if status != 429 && status != 403 {
        return None;
    }
    let number =
        |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(seconds) = number("retry-after") {
        return Some(seconds);
    }
    let exhausted = number("x-ratelimit-remaining") == Some(0) || number("ratelimit-remaining") == Some(0);
    if !exhausted && status == 403 {
        return None;
    }
    let reset = number("x-ratelimit-reset").or_else(|| number("ratelimit-reset"));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    // One second of slack: the reset instant is rounded down.
    Some(reset.map(|r| r.saturating_sub(now) + 1).unwrap_or(60))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_headers() {
        let header = r#"<https://api.github.com/repositories/1/pulls?page=2>; rel="next", <https://api.github.com/repositories/1/pulls?page=5>; rel="last""#;
        assert_eq!(next_link(header).as_deref(), Some("https://api.github.com/repositories/1/pulls?page=2"));
        assert_eq!(next_link(r#"<https://x/?page=1>; rel="prev""#), None);
    }

    #[test]
    fn the_token_never_prints() {
        let token = Token::new("ghp_secret");
        assert_eq!(format!("{token:?}"), "***");
    }
}
