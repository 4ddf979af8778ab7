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

    /// `text` with every occurrence of the secret replaced by `***` (a host
    /// may echo the request in an error or a payload). Secrets shorter than
    /// 6 characters are not searched for: replacing them would mangle text
    /// without protecting anything.
    pub fn redact(&self, text: &str) -> String {
        if self.0.len() >= 6 && text.contains(&self.0) { text.replace(&self.0, "***") } else { text.to_owned() }
    }
}

/// Longest part of a host's message that is repeated in an error.
const ECHO_LIMIT: usize = 300;

/// `text` cut to `limit` characters, with an ellipsis when cut.
pub fn cut(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// The scheme, host and port of an `http(s)` URL, lower-cased, with the
/// default port made explicit; `None` when it is not such a URL.
pub fn origin(url: &str) -> Option<(String, String, u16)> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => 443,
        "http" => 80,
        _ => return None,
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    // Credentials in the authority (`user:pass@host`) are not allowed.
    if authority.contains('@') || authority.is_empty() {
        return None;
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        (format!("[{host}]"), after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host.to_owned(), Some(port)),
            None => (authority.to_owned(), None),
        }
    };
    let port = match port {
        Some(p) => p.parse().ok()?,
        None => default_port,
    };
    Some((scheme, host.to_ascii_lowercase(), port))
}

/// An HTTP agent as fulcrum makes every one: no redirect followed (a
/// redirect could carry a credential elsewhere, or lead to an internal
/// host or plain http), a status never an error (the caller reads it),
/// fulcrum's user agent, and at most `timeout` for a whole request.
pub fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(timeout))
        .user_agent(concat!("fulcrum/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

/// Whether `host` (from [`origin`]) is a loopback address or `localhost`.
pub fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare == "localhost" || bare.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// `scheme://host:port` of an origin, for messages.
fn origin_text((scheme, host, port): &(String, String, u16)) -> String {
    format!("{scheme}://{host}:{port}")
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
    /// `Authorization: Basic base64(USER:token)` (Jira Cloud: an e-mail and
    /// an API token), the user set with [`Client::with_user`].
    Basic,
    /// `Authorization: <prefix><token>` (PagerDuty's `Token token=`,
    /// Opsgenie's `GenieKey `).
    Prefixed(&'static str),
    /// The token alone in a header of its own (CircleCI's `Circle-Token`).
    Header(&'static str),
}

/// Standard base64 of `bytes`, with padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(chunk.get(1).copied().unwrap_or(0)) << 8)
            | u32::from(chunk.get(2).copied().unwrap_or(0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
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
    /// A link or a request pointing away from the configured host: the
    /// credentials are not sent there, and the listing stops.
    #[error(
        "{url}: refused: the host at {configured} sent a link to {other}; fulcrum sends requests (and credentials) \
         only to the configured base_url's host"
    )]
    ForeignHost {
        /// The refused URL (as the host sent it, without query).
        url: String,
        /// The configured origin.
        configured: String,
        /// The origin it pointed to.
        other: String,
    },
    /// A listing that does not end.
    #[error(
        "{url}: the listing {why}; stopped after {pages} pages (raise max_pages of the [[source]] if it is really this long)"
    )]
    Unbounded {
        /// The listing's first URL.
        url: String,
        /// `links back to a page already fetched`, or `exceeds max_pages`.
        why: String,
        /// Pages fetched.
        pages: usize,
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
        matches!(self, HttpError::Unauthorized { .. } | HttpError::NotFound { .. } | HttpError::Unbounded { .. })
            // The host refused what was asked (a JQL naming an unknown field, a bad filter).
            || matches!(self, HttpError::Status { status: 400, .. })
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
    /// Scheme, host and port of the configured base URL: the only place
    /// credentials are sent.
    origin: (String, String, u16),
    token: Option<Token>,
    auth: Auth,
    /// The user of [`Auth::Basic`].
    user: Option<String>,
    token_hint: String,
    /// Pages per URL, loaded from the store before and saved after.
    cache: Mutex<HashMap<String, CachedPage>>,
    /// GitHub's pagination links name a repository by id
    /// (`/repositories/123/…`): pages reached that way are cached under
    /// this root (`…/repos/owner/name`) instead, where the next sync's
    /// cache load finds them.
    repository_root: Option<String>,
    /// Entries added during this run.
    fresh: Mutex<Vec<(String, CachedPage)>>,
    backoff: Duration,
    max_attempts: u32,
    max_wait: u64,
    max_pages: usize,
    clock: Clock,
}

/// Where "now" comes from: the system clock, or a fixed instant that moves
/// forward with the time slept (`FULCRUM_NOW`), so tests control rate-limit
/// arithmetic.
#[derive(Debug, Clone, Copy)]
pub enum Clock {
    /// The system clock.
    System,
    /// A fixed start; time advances only by what the client slept.
    Fixed(i64),
}

/// Pages a listing may have before it is stopped [default of `max_pages`].
pub const DEFAULT_MAX_PAGES: usize = 10_000;

/// Redirects followed for one request.
const MAX_REDIRECTS: u32 = 5;

impl Client {
    /// A client for the host of `base_url` sending `token` as `auth`;
    /// `token_hint` names where the token came from for error messages.
    /// Requests go only to that host; redirects elsewhere carry no
    /// credentials.
    pub fn new(base_url: &str, token: Option<Token>, auth: Auth, token_hint: &str) -> Result<Client, HttpError> {
        let origin = origin(base_url).ok_or_else(|| HttpError::Malformed {
            url: base_url.to_owned(),
            reason: "not an http(s) URL without credentials".to_owned(),
        })?;
        // Redirects are followed by hand, so credentials stay on their host.
        let agent = self::agent(Duration::from_secs(60));
        // Tests shorten the backoff; real runs start at half a second.
        let backoff_ms = std::env::var("FULCRUM_HTTP_BACKOFF_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(500);
        Ok(Client {
            agent,
            origin,
            token,
            auth,
            user: None,
            token_hint: token_hint.to_owned(),
            cache: Mutex::new(HashMap::new()),
            repository_root: None,
            fresh: Mutex::new(Vec::new()),
            backoff: Duration::from_millis(backoff_ms),
            max_attempts: 5,
            max_wait: 3600,
            max_pages: DEFAULT_MAX_PAGES,
            clock: Clock::System,
        })
    }

    /// The user of [`Auth::Basic`].
    pub fn with_user(mut self, user: Option<String>) -> Client {
        self.user = user;
        self
    }

    /// Sets the most pages one listing may have.
    pub fn with_max_pages(mut self, max_pages: usize) -> Client {
        self.max_pages = max_pages.max(1);
        self
    }

    /// Sets the clock rate limits are measured against.
    pub fn with_clock(mut self, clock: Clock) -> Client {
        self.clock = clock;
        self
    }

    /// Whether a token is sent.
    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    /// Epoch seconds now, by the client's clock (rate-limit resets are
    /// measured against it).
    pub fn clock_now(&self) -> i64 {
        self.now(0) as i64
    }

    /// Epoch seconds now, by the client's clock.
    fn now(&self, slept: u64) -> u64 {
        match self.clock {
            Clock::System => {
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
            }
            Clock::Fixed(at) => (at.max(0) as u64).saturating_add(slept),
        }
    }

    /// `text` without the token in it.
    fn redact(&self, text: &str) -> String {
        match &self.token {
            Some(token) => token.redact(text),
            None => text.to_owned(),
        }
    }

    /// Refuses a URL away from the configured origin.
    fn check_origin(&self, url: &str) -> Result<(), HttpError> {
        let target = origin(url);
        if target.as_ref() == Some(&self.origin) {
            return Ok(());
        }
        Err(HttpError::ForeignHost {
            url: cut(url.split('?').next().unwrap_or(url), ECHO_LIMIT),
            configured: origin_text(&self.origin),
            other: target.as_ref().map(origin_text).unwrap_or_else(|| "an unparseable URL".to_owned()),
        })
    }

    /// Caches pages of `{base}/repositories/{id}/…` under `root` (the
    /// repository this client syncs), as the same pages by name.
    #[must_use]
    pub fn with_repository_root(mut self, root: String) -> Client {
        self.repository_root = Some(root);
        self
    }

    /// The key `url`'s page is cached under.
    fn cache_key(&self, url: &str) -> String {
        let Some(root) = &self.repository_root else { return url.to_owned() };
        let Some(at) = url.find("/repositories/") else { return url.to_owned() };
        let rest = &url[at + "/repositories/".len()..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        match rest[digits..].strip_prefix('/') {
            Some(tail) if digits > 0 && url[..at].eq_ignore_ascii_case(root.split("/repos/").next().unwrap_or("")) => {
                format!("{root}/{tail}")
            }
            _ => url.to_owned(),
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

    /// GETs `url` (on the configured host) as JSON, retrying and waiting as
    /// the host asks.
    pub fn get(&self, url: &str, notify: Notify<'_>) -> Result<Page, HttpError> {
        self.send(url, None, notify)
    }

    /// POSTs the JSON `body` to `url` (on the configured host) and reads the
    /// JSON answer, retrying and waiting as [`Client::get`] does (GraphQL:
    /// each query is a POST). Answers are not cached.
    pub fn post(&self, url: &str, body: &str, notify: Notify<'_>) -> Result<Page, HttpError> {
        self.send(url, Some(body), notify)
    }

    fn send(&self, url: &str, post: Option<&str>, notify: Notify<'_>) -> Result<Page, HttpError> {
        self.check_origin(url)?;
        let key = self.cache_key(url);
        let cached = if post.is_some() { None } else { self.cache.lock().expect("cache lock").get(&key).cloned() };
        let mut attempt = 0;
        let (mut waited, mut limited) = (0, 0);
        loop {
            attempt += 1;
            let mut response = match self.call(url, cached.as_ref().map(|c| c.etag.as_str()), post) {
                Ok(response) => response,
                Err(e) => {
                    let reason = self.redact(&e.to_string());
                    if attempt >= self.max_attempts || matches!(e, CallError::Redirect(_)) {
                        return Err(HttpError::Network { url: url.to_owned(), attempts: attempt, reason });
                    }
                    self.pause(attempt, url, &format!("network error ({reason})"), notify);
                    continue;
                }
            };
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = response.body_mut().read_to_string().map(|body| self.redact(&body));
            if status == 304
                && let Some(page) = &cached
            {
                let mut parsed = self.parse(url, page.body.clone(), &headers, true)?;
                parsed.next = parsed.next.or_else(|| page.next.clone());
                return Ok(parsed);
            }
            if let Some(wait) = rate_limit_wait(status, &headers, self.now(waited)) {
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
                    let reason = self.redact(&e.to_string());
                    self.pause(attempt, url, &format!("reading the body failed ({reason})"), notify);
                    continue;
                }
                Err(e) => {
                    let reason = self.redact(&e.to_string());
                    return Err(HttpError::Network { url: url.to_owned(), attempts: attempt, reason });
                }
            };
            match status {
                200..=299 => {
                    let parsed = self.parse(url, body.clone(), &headers, false)?;
                    if let Some(etag) = headers.get("etag").and_then(|v| v.to_str().ok()).filter(|_| post.is_none()) {
                        let page = CachedPage { etag: etag.to_owned(), body, next: parsed.next.clone() };
                        self.cache.lock().expect("cache lock").insert(key.clone(), page.clone());
                        self.fresh.lock().expect("cache lock").push((key, page));
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
                        .and_then(|v| host_message(&v))
                        .map(|m| format!(": {}", cut(&m, ECHO_LIMIT)))
                        .unwrap_or_default();
                    return Err(HttpError::Status { url: url.to_owned(), status, message });
                }
            }
        }
    }

    /// The header carrying the credentials, when there is a token.
    fn credentials(&self) -> Option<(&'static str, String)> {
        let token = self.token.as_ref()?;
        Some(match self.auth {
            Auth::Bearer => ("Authorization", format!("Bearer {}", token.0)),
            Auth::PrivateToken => ("PRIVATE-TOKEN", token.0.clone()),
            Auth::Basic => {
                let user = self.user.as_deref().unwrap_or("");
                ("Authorization", format!("Basic {}", base64(format!("{user}:{}", token.0).as_bytes())))
            }
            Auth::Prefixed(prefix) => ("Authorization", format!("{prefix}{}", token.0)),
            Auth::Header(name) => (name, token.0.clone()),
        })
    }

    /// One request, following redirects by hand: on the configured host
    /// with the credentials, elsewhere with none. A POST (`post` is its
    /// body) goes to the configured host only and follows no redirect.
    fn call(
        &self,
        url: &str,
        etag: Option<&str>,
        post: Option<&str>,
    ) -> Result<ureq::http::Response<ureq::Body>, CallError> {
        if let Some(body) = post {
            let mut request =
                self.agent.post(url).header("Accept", "application/json").header("Content-Type", "application/json");
            if let Some((name, value)) = self.credentials() {
                request = request.header(name, &value);
            }
            return request.send(body).map_err(CallError::Http);
        }
        let mut target = url.to_owned();
        for _ in 0..=MAX_REDIRECTS {
            let home = origin(&target).as_ref() == Some(&self.origin);
            let mut request = self.agent.get(&target).header("Accept", "application/json");
            if home {
                if let Some((name, value)) = self.credentials() {
                    request = request.header(name, &value);
                }
                if let Some(etag) = etag {
                    request = request.header("If-None-Match", etag);
                }
            }
            let response = request.call().map_err(CallError::Http)?;
            let status = response.status().as_u16();
            let location = response.headers().get("location").and_then(|v| v.to_str().ok());
            match (status, location) {
                (301 | 302 | 303 | 307 | 308, Some(location)) => {
                    target = resolve(&target, location)
                        .ok_or_else(|| CallError::Redirect(format!("redirect to an unusable location {location:?}")))?;
                }
                _ => return Ok(response),
            }
        }
        Err(CallError::Redirect(format!("more than {MAX_REDIRECTS} redirects")))
    }

    /// Calls `each` with every page from `url` on, following `rel="next"`,
    /// one page in memory at a time. Stops with an error on a link back to
    /// a page already fetched, and after `max_pages` pages.
    pub fn each_page<E: From<HttpError>>(
        &self,
        url: &str,
        notify: Notify<'_>,
        each: &mut dyn FnMut(Page) -> Result<(), E>,
    ) -> Result<usize, E> {
        self.each_page_linked(url, notify, &|_, _| None, each)
    }

    /// [`Client::each_page`] for hosts that put the next page in the body
    /// (`next`, `paging.next`, `more` and `offset`): `next_in_body(body,
    /// url)` gives it when the `Link` header does not. A link in the body
    /// to another host is refused as a `Link` header's would be.
    pub fn each_page_linked<E: From<HttpError>>(
        &self,
        url: &str,
        notify: Notify<'_>,
        next_in_body: &dyn Fn(&serde_json::Value, &str) -> Option<String>,
        each: &mut dyn FnMut(Page) -> Result<(), E>,
    ) -> Result<usize, E> {
        let mut seen = std::collections::HashSet::new();
        let mut next = Some(url.to_owned());
        let mut pages = 0;
        while let Some(page_url) = next {
            if !seen.insert(page_url.clone()) {
                let why = "links back to a page already fetched".to_owned();
                return Err(HttpError::Unbounded { url: url.to_owned(), why, pages }.into());
            }
            if pages >= self.max_pages {
                let why = format!("has more than max_pages = {} pages", self.max_pages);
                return Err(HttpError::Unbounded { url: url.to_owned(), why, pages }.into());
            }
            let mut page = self.get(&page_url, notify)?;
            pages += 1;
            if page.next.is_none()
                && let Some(link) = next_in_body(&page.body, &page_url)
            {
                let link = resolve(&page_url, &link).unwrap_or(link);
                self.check_origin(&link)?;
                page.next = Some(link);
            }
            next = page.next.clone();
            each(page)?;
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

impl Client {
    fn parse(&self, url: &str, raw: String, headers: &HeaderMap, not_modified: bool) -> Result<Page, HttpError> {
        let body = serde_json::from_str(&raw)
            .map_err(|e| HttpError::Malformed { url: url.to_owned(), reason: self.redact(&e.to_string()) })?;
        let next = headers.get("link").and_then(|v| v.to_str().ok()).and_then(next_link).or_else(|| {
            // Azure DevOps: a continuation token for the same request.
            let token = headers.get("x-ms-continuationtoken").and_then(|v| v.to_str().ok())?.trim();
            (!token.is_empty()).then(|| with_query(url, "continuationToken", token))
        });
        if let Some(next) = &next {
            self.check_origin(next)?;
        }
        Ok(Page { body, next, not_modified })
    }
}

/// Why one request failed before a response.
#[derive(Debug)]
enum CallError {
    /// The transport failed.
    Http(ureq::Error),
    /// A redirect could not be followed.
    Redirect(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Http(e) => write!(f, "{e}"),
            CallError::Redirect(why) => f.write_str(why),
        }
    }
}

/// A `Location` against the URL it answered: absolute, or an absolute path.
fn resolve(base: &str, location: &str) -> Option<String> {
    if origin(location).is_some() {
        return Some(location.to_owned());
    }
    if location.starts_with('/') && !location.starts_with("//") {
        let (scheme, rest) = base.split_once("://")?;
        let authority = rest.split(['/', '?', '#']).next()?;
        return Some(format!("{scheme}://{authority}{location}"));
    }
    None
}

/// What a host says went wrong, from the shapes hosts use: `message`
/// (GitHub, GitLab, Opsgenie), `errorMessages` and `errors` (Jira),
/// `error.message` (PagerDuty, Bitbucket), `error` as text.
fn host_message(body: &serde_json::Value) -> Option<String> {
    if let Some(message) = body["message"].as_str() {
        return Some(message.to_owned());
    }
    let mut said: Vec<String> =
        body["errorMessages"].as_array().into_iter().flatten().filter_map(|m| m.as_str()).map(str::to_owned).collect();
    if let Some(errors) = body["errors"].as_object() {
        said.extend(errors.iter().filter_map(|(field, m)| Some(format!("{field}: {}", m.as_str()?))));
    }
    if !said.is_empty() {
        return Some(said.join("; "));
    }
    body["error"]["message"].as_str().or_else(|| body["error"].as_str()).map(str::to_owned)
}

/// `url` with the query parameter `key` set to `value` (percent-encoded),
/// replacing any earlier value.
fn with_query(url: &str, key: &str, value: &str) -> String {
    let (head, query) = url.split_once('?').unwrap_or((url, ""));
    let prefix = format!("{key}=");
    let mut kept: Vec<String> =
        query.split('&').filter(|p| !p.is_empty() && !p.starts_with(&prefix)).map(str::to_owned).collect();
    kept.push(format!("{prefix}{}", crate::sources::connector::encode(value)));
    format!("{head}?{}", kept.join("&"))
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
fn rate_limit_wait(status: u16, headers: &HeaderMap, now: u64) -> Option<u64> {
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
    // One second of slack: the reset instant is rounded down.
    Some(reset.map(|r| r.saturating_sub(now) + 1).unwrap_or(60))
}

#[cfg(test)]
mod base64_tests {
    #[test]
    fn base64_of_rfc4648_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(super::base64(plain.as_bytes()), encoded);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_named_by_repository_id_are_cached_under_the_name() {
        let client = Client::new("https://ghe.example.com/api/v3", None, Auth::Bearer, "")
            .unwrap()
            .with_repository_root("https://ghe.example.com/api/v3/repos/o/r".into());
        assert_eq!(
            client.cache_key("https://ghe.example.com/api/v3/repositories/42/pulls?page=2"),
            "https://ghe.example.com/api/v3/repos/o/r/pulls?page=2"
        );
        for other in [
            "https://ghe.example.com/api/v3/repos/o/r/pulls?page=2",
            "https://ghe.example.com/api/v3/repositories/x/pulls",
            "https://elsewhere.example/repositories/42/pulls",
        ] {
            assert_eq!(client.cache_key(other), other);
        }
    }

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
