//! What operators see: `/metrics` in the Prometheus text format (requests
//! and their latencies per route, syncs and their failures per
//! repository), a request id on every answer, and one structured log line
//! (JSON) per request on standard error.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ServerState;

/// Upper bounds of the latency histogram, seconds.
const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// A latency histogram.
#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        for (bound, count) in BUCKETS.iter().zip(self.counts.iter_mut()) {
            if seconds <= *bound {
                *count += 1;
            }
        }
        self.count += 1;
        self.sum += seconds;
    }

    fn write(&self, out: &mut String, name: &str, labels: &str) {
        for (bound, count) in BUCKETS.iter().zip(self.counts) {
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {count}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", self.count);
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count);
    }
}

#[derive(Debug, Default)]
struct Counters {
    /// (route, method, status) → requests.
    requests: BTreeMap<(String, String, u16), u64>,
    /// route → latency.
    latency: BTreeMap<String, Histogram>,
    /// repository → sync durations.
    syncs: BTreeMap<String, Histogram>,
    /// repository → failed syncs.
    sync_failures: BTreeMap<String, u64>,
}

/// The server's counters and its request log.
#[derive(Debug, Default)]
pub struct Observer {
    counters: Mutex<Counters>,
    next_id: AtomicU64,
    /// Whether each request is logged on standard error.
    pub log: bool,
}

impl Observer {
    /// An observer that logs each request when `log`.
    pub fn new(log: bool) -> Observer {
        Observer { log, ..Observer::default() }
    }

    /// Records a sync of `repository` that took `seconds` and failed or not.
    pub fn sync(&self, repository: &str, seconds: f64, failed: bool) {
        if let Ok(mut c) = self.counters.lock() {
            c.syncs.entry(repository.to_owned()).or_default().observe(seconds);
            let failures = c.sync_failures.entry(repository.to_owned()).or_default();
            *failures += u64::from(failed);
        }
    }

    /// The Prometheus text exposition of the counters.
    pub fn render(&self) -> String {
        let Ok(c) = self.counters.lock() else { return String::new() };
        let mut out = String::new();
        out.push_str("# HELP fulcrum_http_requests_total Requests answered, by route, method and status.\n");
        out.push_str("# TYPE fulcrum_http_requests_total counter\n");
        for ((route, method, status), n) in &c.requests {
            let _ = writeln!(
                out,
                "fulcrum_http_requests_total{{route=\"{}\",method=\"{method}\",status=\"{status}\"}} {n}",
                label(route)
            );
        }
        out.push_str("# HELP fulcrum_http_request_duration_seconds Time to answer, by route.\n");
        out.push_str("# TYPE fulcrum_http_request_duration_seconds histogram\n");
        for (route, histogram) in &c.latency {
            histogram.write(&mut out, "fulcrum_http_request_duration_seconds", &format!("route=\"{}\"", label(route)));
        }
        out.push_str("# HELP fulcrum_sync_duration_seconds Background syncs, by repository.\n");
        out.push_str("# TYPE fulcrum_sync_duration_seconds histogram\n");
        for (repository, histogram) in &c.syncs {
            histogram.write(
                &mut out,
                "fulcrum_sync_duration_seconds",
                &format!("repository=\"{}\"", label(repository)),
            );
        }
        out.push_str("# HELP fulcrum_sync_failures_total Background syncs that failed, by repository.\n");
        out.push_str("# TYPE fulcrum_sync_failures_total counter\n");
        for (repository, n) in &c.sync_failures {
            let _ = writeln!(out, "fulcrum_sync_failures_total{{repository=\"{}\"}} {n}", label(repository));
        }
        out
    }
}

/// A label value escaped as the text format wants.
fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Counts, times and logs every request, and gives it an id
/// (`X-Request-Id`).
pub async fn record(State(state): State<ServerState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    // The route as declared, never the raw path: bounded label values.
    let route =
        request.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let id = state.observer.next_id.fetch_add(1, Ordering::Relaxed) + 1;
    let mut response = next.run(request).await;
    let seconds = started.elapsed().as_secs_f64();
    let status = response.status().as_u16();
    if let Ok(mut c) = state.observer.counters.lock() {
        *c.requests.entry((route.clone(), method.clone(), status)).or_default() += 1;
        c.latency.entry(route.clone()).or_default().observe(seconds);
    }
    let id = format!("{id:08x}");
    if state.observer.log {
        let line = serde_json::json!({
            "at": fulcrum_core::time::format_datetime((state.context)().now),
            "request_id": id,
            "method": method,
            "route": route,
            "status": status,
            "ms": (seconds * 1000.0 * 10.0).round() / 10.0,
        });
        eprintln!("{line}");
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

/// `GET /metrics`.
pub async fn metrics(State(state): State<ServerState>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.observer.render()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative() {
        let mut h = Histogram::default();
        h.observe(0.003);
        h.observe(0.2);
        h.observe(30.0);
        let mut out = String::new();
        h.write(&mut out, "x", "route=\"/\"");
        assert!(out.contains("x_bucket{route=\"/\",le=\"0.005\"} 1\n"), "{out}");
        assert!(out.contains("x_bucket{route=\"/\",le=\"0.25\"} 2\n"), "{out}");
        assert!(out.contains("x_bucket{route=\"/\",le=\"10\"} 2\n"), "{out}");
        assert!(out.contains("x_bucket{route=\"/\",le=\"+Inf\"} 3\n"), "{out}");
        assert!(out.contains("x_count{route=\"/\"} 3\n"), "{out}");
    }

    #[test]
    fn syncs_and_failures_per_repository() {
        let observer = Observer::new(false);
        observer.sync("shop", 1.5, false);
        observer.sync("shop", 0.5, true);
        observer.sync("a\"b", 0.1, false);
        let text = observer.render();
        assert!(text.contains("fulcrum_sync_duration_seconds_count{repository=\"shop\"} 2\n"), "{text}");
        assert!(text.contains("fulcrum_sync_failures_total{repository=\"shop\"} 1\n"), "{text}");
        assert!(text.contains("fulcrum_sync_failures_total{repository=\"a\\\"b\"} 0\n"), "{text}");
    }
}
