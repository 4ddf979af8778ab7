//! A local HTTP/1.1 server replaying recorded API responses, for testing the
//! real HTTP client of the connectors. Standard library (and serde_json to
//! read GraphQL queries).
//!
//! Routes match the request's path and query exactly (a POSTed GraphQL
//! query: the path, its operation name and its variables), else with the
//! query parameters as an unordered set, else with `page=1` added (a first
//! page asked for without a page number). The Nth request to a route gets its
//! Nth reply, the last one repeating. A reply with an `ETag` answers 304 to
//! a request carrying that ETag in `If-None-Match`. `{base}` in headers and
//! bodies becomes the server's URL. Every request is recorded.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// One reply.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Headers (besides Content-Length).
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
    /// Wait before answering (a slow host).
    pub delay: std::time::Duration,
}

impl Reply {
    /// A JSON reply.
    pub fn json(status: u16, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.into(),
            delay: std::time::Duration::ZERO,
        }
    }

    /// Answers after `millis` ms.
    pub fn slow(mut self, millis: u64) -> Reply {
        self.delay = std::time::Duration::from_millis(millis);
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

/// The replies to one path and query.
#[derive(Debug, Clone)]
pub struct Route {
    /// Path and query as requested, e.g. `/repos/o/r/pulls?state=all`.
    pub path: String,
    /// Replies in order; the last one repeats.
    pub responses: Vec<Reply>,
}

/// A request as received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `GET`, …
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The status answered (404 when no route matched).
    pub status: u16,
}

struct State {
    routes: Vec<(Route, usize)>,
    log: Vec<Recorded>,
}

/// The running server; dropping it stops it.
pub struct Replay {
    url: String,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

impl Replay {
    /// Starts serving `routes` on a free port of 127.0.0.1.
    pub fn start(routes: Vec<Route>) -> Replay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state =
            Arc::new(Mutex::new(State { routes: routes.into_iter().map(|r| (r, 0)).collect(), log: Vec::new() }));
        let stop = Arc::new(AtomicBool::new(false));
        let (thread_state, thread_stop, base) = (state.clone(), stop.clone(), url.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if thread_stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (state, base) = (thread_state.clone(), base.clone());
                std::thread::spawn(move || serve(stream, &state, &base));
            }
        });
        Replay { url, state, stop }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().log.clone()
    }

    /// Requests answered 404 whose path starts with none of `tolerated`:
    /// a request the test did not expect (no route) or a deliberate 404 the
    /// client was not meant to hit.
    pub fn unexpected_404s(&self, tolerated: &[&str]) -> Vec<String> {
        self.requests()
            .into_iter()
            .filter(|r| r.status == 404 && !tolerated.iter().any(|t| r.path.starts_with(t)))
            .map(|r| r.path)
            .collect()
    }
}

impl Drop for Replay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.url.trim_start_matches("http://"));
    }
}

fn serve(stream: TcpStream, state: &Mutex<State>, base: &str) {
    // Headers and body are written separately: without this, Nagle's
    // algorithm and delayed ACKs add 40 ms to every reply.
    let _ = stream.set_nodelay(true);
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, path) = (parts.next().unwrap_or("").to_owned(), parts.next().unwrap_or("").to_owned());
        let mut headers = Vec::new();
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                headers.push((name.trim().to_lowercase(), value.trim().to_owned()));
            }
        }
        let header = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let length: usize = header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let close = header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
        // A GraphQL query (a POST) is matched by its operation and variables:
        // `/graphql PullRequests {"after":null,…}` (keys sorted).
        let path = match serde_json::from_slice::<serde_json::Value>(&body) {
            Ok(query) if method == "POST" => {
                let operation = query["operationName"].as_str().unwrap_or("").to_owned();
                format!("{path} {operation} {}", query["variables"])
            }
            _ => path,
        };
        let reply = {
            let mut state = state.lock().unwrap();
            match find(&state.routes, &path) {
                Some(i) => {
                    let (route, served) = &mut state.routes[i];
                    let reply = route.responses[(*served).min(route.responses.len() - 1)].clone();
                    *served += 1;
                    reply
                }
                None => Reply::json(404, format!(r#"{{"message":"Not Found (replay: no route for {path})"}}"#)),
            }
        };
        std::thread::sleep(reply.delay);
        let etag = reply.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("etag")).map(|(_, v)| v.clone());
        let not_modified = etag.is_some() && header("if-none-match") == etag;
        let (status, reason) = if not_modified { (304, "Not Modified") } else { (reply.status, "Replayed") };
        state.lock().unwrap().log.push(Recorded { method, path: path.clone(), headers: headers.clone(), status });
        let mut out = format!("HTTP/1.1 {status} {reason}\r\n");
        let body = if not_modified { Vec::new() } else { substitute(&reply.body, base) };
        for (name, value) in &reply.headers {
            if !not_modified || name.eq_ignore_ascii_case("etag") {
                out.push_str(&format!("{name}: {}\r\n", value.replace("{base}", base)));
            }
        }
        out.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        if writer
            .write_all(out.as_bytes())
            .and_then(|()| writer.write_all(&body))
            .and_then(|()| writer.flush())
            .is_err()
        {
            return;
        }
        if close {
            return;
        }
    }
}

fn substitute(body: &[u8], base: &str) -> Vec<u8> {
    match std::str::from_utf8(body) {
        Ok(text) if text.contains("{base}") => text.replace("{base}", base).into_bytes(),
        _ => body.to_vec(),
    }
}

/// The path and the query parameters as a set.
fn split(path: &str) -> (&str, BTreeSet<&str>) {
    match path.split_once('?') {
        Some((p, q)) => (p, q.split('&').filter(|s| !s.is_empty()).collect()),
        None => (path, BTreeSet::new()),
    }
}

fn find(routes: &[(Route, usize)], path: &str) -> Option<usize> {
    if let Some(i) = routes.iter().position(|(r, _)| r.path == path) {
        return Some(i);
    }
    let (p, mut query) = split(path);
    let matching = |query: &BTreeSet<&str>| routes.iter().position(|(r, _)| split(&r.path) == (p, query.clone()));
    matching(&query).or_else(|| {
        if query.iter().any(|q| q.starts_with("page=")) {
            return None;
        }
        query.insert("page=1");
        matching(&query)
    })
}

/// One 200 JSON route per entry of a recording's `MANIFEST.json`
/// (`[{"request": "/repos/…?…", "file": "repos/….json"}]`).
pub fn github_fixture_routes(dir: &Path) -> Vec<Route> {
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("MANIFEST.json")).unwrap()).unwrap();
    manifest
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| Route {
            path: entry["request"].as_str().unwrap().to_owned(),
            responses: vec![Reply::json(200, std::fs::read(dir.join(entry["file"].as_str().unwrap())).unwrap())],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal client: GET with headers, returns status, headers and body.
    fn get(url: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String, String) {
        let mut stream = TcpStream::connect(url.trim_start_matches("http://")).unwrap();
        let mut request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
        for (k, v) in headers {
            request.push_str(&format!("{k}: {v}\r\n"));
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes()).unwrap();
        let mut text = String::new();
        stream.read_to_string(&mut text).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
        (status, head.to_owned(), body.to_owned())
    }

    #[test]
    fn replies_in_order_etags_and_placeholders() {
        let replay = Replay::start(vec![Route {
            path: "/a?x=1&y=2".into(),
            responses: vec![
                Reply::json(502, "{}"),
                Reply::json(200, "[\"{base}\"]")
                    .header("ETag", "\"e1\"")
                    .header("Link", "<{base}/a?page=2>; rel=\"next\""),
            ],
        }]);
        let url = replay.url();
        assert_eq!(get(&url, "/a?x=1&y=2", &[]).0, 502);
        let (status, head, body) = get(&url, "/a?y=2&x=1", &[]);
        assert_eq!(status, 200);
        assert!(head.contains(&format!("Link: <{url}/a?page=2>")), "{head}");
        assert_eq!(body, format!("[\"{url}\"]"));
        let (status, _, body) = get(&url, "/a?x=1&y=2", &[("If-None-Match", "\"e1\"")]);
        assert_eq!((status, body.as_str()), (304, ""));
        assert_eq!(get(&url, "/nowhere", &[]).0, 404);
        let requests = replay.requests();
        assert_eq!(requests.len(), 4);
        assert!(requests.iter().all(|r| r.method == "GET"));
        assert_eq!(requests[2].headers.iter().find(|(k, _)| k == "if-none-match").unwrap().1, "\"e1\"");
    }

    #[test]
    fn the_recording_answers_a_first_page_without_its_number() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/github/panjf2000-ants");
        let replay = Replay::start(github_fixture_routes(&dir));
        let (status, _, body) =
            get(&replay.url(), "/repos/panjf2000/ants/pulls?state=all&per_page=100&direction=asc", &[]);
        assert_eq!(status, 200);
        let items: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(items.as_array().unwrap().len(), 50);
    }
}
