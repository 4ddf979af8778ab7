//! The flow, knowledge and deployments pages, and their CSV downloads.
//!
//! Every figure comes from the same JSON the API answers (the page parses
//! it), so a page cannot disagree with `/api/v1/…` or the command line.
//! Pages are plain HTML: tables that work without JavaScript, and charts
//! drawn on the server as SVG (no script, nothing loaded from elsewhere;
//! each chart has its table beside it). The filters are a GET form, so the
//! state is in the URL and a link can be shared.

use std::fmt::Write as _;

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use serde_json::Value;

use super::session::{Viewer, banner, page};
use super::{AnalysisQuery, ApiError, ServerState, escape};
use crate::accounts::Role;
use crate::render::duration;

/// The query string of the filters, to carry from page to page.
fn query_string(query: &AnalysisQuery) -> String {
    let pairs: Vec<String> =
        [("repo", &query.repo), ("since", &query.since), ("until", &query.until), ("service", &query.service)]
            .into_iter()
            .filter_map(|(key, value)| value.as_ref().map(|v| format!("{key}={}", crate::connector::encode(v))))
            .collect();
    if pairs.is_empty() { String::new() } else { format!("?{}", pairs.join("&")) }
}

/// The banner, the navigation (what the role may see) and the filters.
pub fn chrome(viewer: Option<&Viewer>, query: &AnalysisQuery, current: &str) -> String {
    let mut out = banner(viewer);
    let member = viewer.is_none_or(|v| v.role >= Role::Member);
    let q = query_string(query);
    out.push_str("<nav>");
    for (path, name, all) in [
        ("/", "Delivery", true),
        ("/deployments", "Deployments", true),
        ("/flow", "Flow", false),
        ("/knowledge", "Knowledge", false),
    ] {
        if all || member {
            if path == current {
                let _ = write!(out, "<strong>{name}</strong> ");
            } else {
                let _ = write!(out, "<a href=\"{path}{}\">{name}</a> ", escape(&q));
            }
        }
    }
    out.push_str("</nav>\n");
    let field = |name: &str, value: &Option<String>, hint: &str| {
        format!(
            "<label>{name} <input name=\"{name}\" value=\"{}\" placeholder=\"{hint}\"></label> ",
            escape(value.as_deref().unwrap_or(""))
        )
    };
    let _ = writeln!(
        out,
        "<form method=\"get\" action=\"{current}\">{}{}{}{}<button>Show</button></form>",
        field("since", &query.since, "90d or 2025-01-31"),
        field("until", &query.until, "now"),
        field("repo", &query.repo, "the first served"),
        field("service", &query.service, "stored events of a service")
    );
    out
}

/// A bar chart as SVG: one bar per `(label, value)`, each with its title.
pub fn bar_chart(caption: &str, bars: &[(String, f64)]) -> String {
    let (width, height, gap) = (640.0, 160.0, 2.0);
    let max = bars.iter().map(|(_, v)| *v).fold(0.0_f64, f64::max);
    let step = if bars.is_empty() { width } else { width / bars.len() as f64 };
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"{}\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" data-bars=\"{}\">",
        escape(caption),
        bars.len()
    );
    for (i, (label, value)) in bars.iter().enumerate() {
        let h = if max > 0.0 { value / max * (height - 10.0) } else { 0.0 };
        let _ = write!(
            svg,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"#4a6fa5\"><title>{}: {}</title></rect>",
            i as f64 * step + gap / 2.0,
            height - h,
            (step - gap).max(1.0),
            escape(label),
            value
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A link to a host page: only `https://` and `http://` addresses.
fn link(url: &Value, text: &str) -> String {
    match url.as_str() {
        Some(u) if u.starts_with("https://") || u.starts_with("http://") => {
            format!("<a href=\"{}\">{}</a>", escape(u), escape(text))
        }
        _ => escape(text),
    }
}

fn seconds(value: &Value) -> String {
    value.as_f64().map_or_else(|| "–".to_owned(), duration)
}

fn html(title: &str, body: String) -> Response {
    Html(page(title, &body)).into_response()
}

/// `GET /flow`: the stages, the bottleneck, breaches, WIP and stale work,
/// review load (a histogram, no names) and sizes.
pub async fn flow_page(
    State(state): State<ServerState>,
    viewer: Option<axum::Extension<Viewer>>,
    Query(query): Query<AnalysisQuery>,
) -> Result<Response, ApiError> {
    // The page without its banner (which names the viewer) is kept with the analyses.
    let core = state.cache.get(format!("flow page {query:?}"), flow_core(&state, &query)).await?;
    let mut body = chrome(viewer.as_ref().map(|v| &v.0), &query, "/flow");
    body.push_str(&core);
    Ok(html("fulcrum · flow", body))
}

async fn flow_core(state: &ServerState, query: &AnalysisQuery) -> Result<String, ApiError> {
    let flow: Value = serde_json::from_str(&super::flow_json(state, query).await?).map_err(anyhow::Error::from)?;
    let mut body = String::new();
    body.push_str("<h1>Flow</h1>\n");
    if let Some(b) = flow["bottleneck"].get("value") {
        let _ = writeln!(
            body,
            "<p data-bottleneck=\"{}\">Bottleneck: <strong>{}</strong> ({:.0}% of the median pull request's time)</p>",
            escape(b["stage"].as_str().unwrap_or("")),
            escape(b["stage"].as_str().unwrap_or("")),
            b["median_share"].as_f64().unwrap_or(0.0) * 100.0
        );
    }
    body.push_str("<table><thead><tr><th>Stage</th><th>Median</th><th>p75</th><th>p90</th><th>Pull requests</th></tr></thead><tbody>\n");
    for stage in ["coding", "pickup", "review", "deploy", "cycle"] {
        let metric = &flow[stage];
        match metric.get("value") {
            Some(v) => {
                let summary = &v["summary"];
                let _ = writeln!(
                    body,
                    "<tr data-stage=\"{stage}\" data-median=\"{}\"><th>{stage}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    summary["median"],
                    seconds(&summary["median"]),
                    seconds(&summary["p75"]),
                    seconds(&summary["p90"]),
                    summary["count"]
                );
            }
            None => {
                let _ = writeln!(
                    body,
                    "<tr data-stage=\"{stage}\"><th>{stage}</th><td colspan=\"4\">no data: {}</td></tr>",
                    escape(metric["no_data"]["reason"].as_str().unwrap_or(""))
                );
            }
        }
    }
    body.push_str("</tbody></table>\n");

    let weekly: Vec<(String, f64)> = flow["weekly"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|w| (w["week"].as_str().unwrap_or("").to_owned(), w["merged_prs"].as_f64().unwrap_or(0.0)))
        .collect();
    body.push_str("<h2>Merged pull requests per week</h2>\n");
    body.push_str(&bar_chart("merged pull requests per week", &weekly));
    body.push_str("\n<table><thead><tr><th>Week</th><th>Merged</th></tr></thead><tbody>");
    for (week, n) in &weekly {
        let _ = write!(body, "<tr><td>{}</td><td>{n}</td></tr>", escape(week));
    }
    body.push_str("</tbody></table>\n");

    let breaches = flow["breaches"].as_array().cloned().unwrap_or_default();
    let _ = writeln!(body, "<h2>Working-agreement breaches ({})</h2>", breaches.len());
    body.push_str(
        "<table><thead><tr><th>Pull request</th><th>Agreement</th><th>Took</th><th>Limit</th></tr></thead><tbody>\n",
    );
    for b in &breaches {
        let title = format!("{} {}", b["pr"].as_str().unwrap_or(""), b["title"].as_str().unwrap_or(""));
        let agreement = b["agreement"].as_str().unwrap_or("");
        // Sizes are in changed lines, the rest in seconds.
        let amount = |v: &Value| if agreement == "size" { format!("{v} lines") } else { seconds(v) };
        let _ = writeln!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            link(&b["url"], title.trim()),
            escape(agreement),
            amount(&b["value"]),
            amount(&b["limit"])
        );
    }
    body.push_str("</tbody></table>\n");

    if let Some(wip) = flow["wip"].get("value") {
        let _ = writeln!(
            body,
            "<h2>Work in progress</h2><p data-open=\"{}\">{} open pull requests ({} drafts), {:.1} per active author</p>",
            wip["open_prs"],
            wip["open_prs"],
            wip["draft_prs"],
            wip["per_author"].as_f64().unwrap_or(0.0)
        );
    }
    let stale = flow["stale"].as_array().cloned().unwrap_or_default();
    let _ = writeln!(body, "<h2>Stale pull requests ({})</h2>", stale.len());
    body.push_str("<table><thead><tr><th>Pull request</th><th>Idle</th></tr></thead><tbody>\n");
    for p in &stale {
        let title = format!("{} {}", p["pr"].as_str().unwrap_or(""), p["title"].as_str().unwrap_or(""));
        let _ = writeln!(body, "<tr><td>{}</td><td>{}</td></tr>", link(&p["url"], title.trim()), seconds(&p["idle"]));
    }
    body.push_str("</tbody></table>\n");

    if let Some(load) = flow["review_load"].get("value") {
        // How many reviewers did how many reviews: a histogram, no names.
        let mut histogram: std::collections::BTreeMap<u64, usize> = Default::default();
        for count in load["counts"].as_array().into_iter().flatten().filter_map(Value::as_u64) {
            *histogram.entry(count).or_default() += 1;
        }
        let bars: Vec<(String, f64)> =
            histogram.iter().map(|(reviews, n)| (format!("{reviews} reviews"), *n as f64)).collect();
        let _ = writeln!(
            body,
            "<h2>Review load</h2><p>{} reviews by {} reviewers; Gini {:.2}; the busiest reviewer did {:.0}%</p>",
            load["reviews"],
            load["reviewers"],
            load["gini"].as_f64().unwrap_or(0.0),
            load["top_share"].as_f64().unwrap_or(0.0) * 100.0
        );
        body.push_str(&bar_chart("reviewers by number of reviews", &bars));
        body.push_str("\n<table><thead><tr><th>Reviews</th><th>Reviewers</th></tr></thead><tbody>");
        for (reviews, n) in &histogram {
            let _ = write!(body, "<tr><td>{reviews}</td><td>{n}</td></tr>");
        }
        body.push_str("</tbody></table>\n");
    }
    if let Some(size) = flow["size"].get("value") {
        body.push_str(
            "<h2>Size</h2><table><thead><tr><th>Changed lines</th><th>Pull requests</th></tr></thead><tbody>",
        );
        for bucket in size["buckets"].as_array().into_iter().flatten() {
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td></tr>",
                escape(bucket["label"].as_str().unwrap_or("")),
                bucket["prs"]
            );
        }
        body.push_str("</tbody></table>\n");
    }
    let _ = writeln!(body, "<p><a href=\"/flow.csv{}\">Pull requests as CSV</a></p>", escape(&query_string(query)));
    Ok(body)
}

/// `GET /knowledge`: the truck factor, the people it rests on, files held
/// by one person, and hotspots with change coupling.
pub async fn knowledge_page(
    State(state): State<ServerState>,
    viewer: Option<axum::Extension<Viewer>>,
    Query(query): Query<AnalysisQuery>,
) -> Result<Response, ApiError> {
    // The page without its banner (which names the viewer) is kept with the analyses.
    let core = state.cache.get(format!("knowledge page {query:?}"), knowledge_core(&state, &query)).await?;
    let mut body = chrome(viewer.as_ref().map(|v| &v.0), &query, "/knowledge");
    body.push_str(&core);
    Ok(html("fulcrum · knowledge", body))
}

async fn knowledge_core(state: &ServerState, query: &AnalysisQuery) -> Result<String, ApiError> {
    let knowledge: Value =
        serde_json::from_str(&super::knowledge_json(state, query).await?).map_err(anyhow::Error::from)?;
    let hotspots: Value =
        serde_json::from_str(&super::hotspots_json(state, query).await?).map_err(anyhow::Error::from)?;
    let mut body = String::new();
    body.push_str("<h1>Knowledge</h1>\n");
    let _ = writeln!(
        body,
        "<p data-truck-factor=\"{}\">Truck factor <strong>{}</strong> over {} files ({} with people active in the last {} days)</p>",
        knowledge["truck_factor"],
        knowledge["truck_factor"],
        knowledge["files_analysed"],
        knowledge["active"]["truck_factor"],
        knowledge["active"]["inactive_after_days"]
    );
    // What a departure would cost: a GET form, so the answer has a link.
    let _ = writeln!(
        body,
        "<form method=\"get\" action=\"/knowledge\"><input type=\"hidden\" name=\"repo\" value=\"{}\">\
         <label>If they left (e-mails or names, comma-separated) <input name=\"leaving\" value=\"{}\"></label>\
         <button>Simulate</button></form>",
        escape(query.repo.as_deref().unwrap_or("")),
        escape(query.leaving.as_deref().unwrap_or(""))
    );
    if let Some(d) = knowledge["departure"].as_object() {
        let names: Vec<&str> =
            d["leaving"].as_array().into_iter().flatten().filter_map(|p| p["name"].as_str()).collect();
        let _ = writeln!(
            body,
            "<p data-orphaned=\"{}\">If {} left, <strong>{} of {} files ({:.0}%)</strong> would have no author who knows them.</p>",
            d["orphaned"],
            escape(&names.join(", ")),
            d["orphaned"],
            d["files"],
            d["share"].as_f64().unwrap_or(0.0) * 100.0
        );
        body.push_str("<table><thead><tr><th>Files left without an author</th></tr></thead><tbody>");
        for path in d["orphaned_files"].as_array().into_iter().flatten().take(50) {
            let _ = write!(body, "<tr><td>{}</td></tr>", escape(path.as_str().unwrap_or("")));
        }
        body.push_str("</tbody></table>\n");
    }
    body.push_str("<h2>The people it rests on</h2><table><thead><tr><th>Person</th><th>Files authored</th><th>Share</th></tr></thead><tbody>\n");
    for p in knowledge["key_people"].as_array().into_iter().flatten() {
        let _ = writeln!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{:.0}%</td></tr>",
            escape(p["person"]["name"].as_str().unwrap_or("")),
            p["files_authored"],
            p["share"].as_f64().unwrap_or(0.0) * 100.0
        );
    }
    body.push_str("</tbody></table>\n<h2>Files one person holds</h2><table><thead><tr><th>File</th><th>Author</th><th>Changes</th></tr></thead><tbody>\n");
    for f in knowledge["single_author_files"].as_array().into_iter().flatten() {
        let _ = writeln!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(f["path"].as_str().unwrap_or("")),
            escape(f["author"]["name"].as_str().unwrap_or("")),
            f["changes"]
        );
    }
    body.push_str("</tbody></table>\n<h2>Hotspots</h2>\n");
    let spots: Vec<&Value> = hotspots["hotspots"].as_array().into_iter().flatten().collect();
    let bars: Vec<(String, f64)> = spots
        .iter()
        .map(|h| (h["path"].as_str().unwrap_or("").to_owned(), h["score"].as_f64().unwrap_or(0.0)))
        .collect();
    body.push_str(&bar_chart("hotspot score (changes × lines) per file", &bars));
    body.push_str("\n<table><thead><tr><th>File</th><th>Changes</th><th>Lines</th><th>Score</th><th>Authors</th></tr></thead><tbody>\n");
    for h in &spots {
        let _ = writeln!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(h["path"].as_str().unwrap_or("")),
            h["changes"],
            h["lines"],
            h["score"],
            h["authors"]
        );
    }
    body.push_str("</tbody></table>\n<h2>Change coupling</h2><table><thead><tr><th>File</th><th>Changes with</th><th>Together</th><th>Degree</th></tr></thead><tbody>\n");
    for c in hotspots["coupling"].as_array().into_iter().flatten() {
        let _ = writeln!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.0}%</td></tr>",
            escape(c["a"].as_str().unwrap_or("")),
            escape(c["b"].as_str().unwrap_or("")),
            c["shared"],
            c["degree"].as_f64().unwrap_or(0.0) * 100.0
        );
    }
    body.push_str("</tbody></table>\n");
    Ok(body)
}

/// `GET /deployments`: the deployments of the window on a timeline, the
/// failed ones marked, and the table.
pub async fn deployments_page(
    State(state): State<ServerState>,
    viewer: Option<axum::Extension<Viewer>>,
    Query(query): Query<AnalysisQuery>,
) -> Result<Response, ApiError> {
    // The page without its banner (which names the viewer) is kept with the analyses.
    let core = state.cache.get(format!("deployments page {query:?}"), deployments_core(&state, &query)).await?;
    let mut body = chrome(viewer.as_ref().map(|v| &v.0), &query, "/deployments");
    body.push_str(&core);
    Ok(html("fulcrum · deployments", body))
}

async fn deployments_core(state: &ServerState, query: &AnalysisQuery) -> Result<String, ApiError> {
    let report: Value = serde_json::from_str(&super::report_json(state, query).await?).map_err(anyhow::Error::from)?;
    let mut body = String::new();
    let deployments = report["deployments"].as_array().cloned().unwrap_or_default();
    let _ = writeln!(body, "<h1>Deployments ({})</h1>", deployments.len());
    let (start, end) = (
        report["dora"]["window"]["start"].as_f64().unwrap_or(0.0),
        report["dora"]["window"]["end"].as_f64().unwrap_or(1.0),
    );
    let span = (end - start).max(1.0);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"deployments over the window\" viewBox=\"0 0 640 60\" width=\"640\" height=\"60\" data-points=\"{}\"><line x1=\"0\" y1=\"30\" x2=\"640\" y2=\"30\" stroke=\"#888\"/>",
        deployments.len()
    );
    for d in &deployments {
        let at = d["finished_at"].as_f64().unwrap_or(start);
        let failed = d["failed"] == true;
        let _ = write!(
            svg,
            "<circle cx=\"{:.1}\" cy=\"30\" r=\"{}\" fill=\"{}\"><title>{} {}{}</title></circle>",
            (at - start) / span * 640.0,
            if failed { 7 } else { 5 },
            if failed { "#c0392b" } else { "#2e7d32" },
            escape(d["name"].as_str().unwrap_or("")),
            fulcrum_core::time::format_datetime(at as i64),
            if failed { " (failed)" } else { "" }
        );
    }
    svg.push_str("</svg>");
    body.push_str(&svg);
    body.push_str("\n<table><thead><tr><th>Finished</th><th>Deployment</th><th>Commit</th><th>Changes</th><th>Failed</th><th>Rework</th></tr></thead><tbody>\n");
    for d in &deployments {
        let _ = writeln!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            fulcrum_core::time::format_datetime(d["finished_at"].as_i64().unwrap_or(0)),
            escape(d["name"].as_str().unwrap_or("")),
            escape(&d["commit"].as_str().unwrap_or("").chars().take(12).collect::<String>()),
            d["commits"],
            if d["failed"] == true { "yes" } else { "" },
            if d["rework"] == true { "yes" } else { "" }
        );
    }
    body.push_str("</tbody></table>\n");
    let _ = writeln!(body, "<p><a href=\"/deployments.csv{}\">As CSV</a></p>", escape(&query_string(query)));
    Ok(body)
}

/// A CSV field, quoted when it must be; a leading `=`, `+`, `-` or `@` is
/// prefixed with `'` so a spreadsheet does not run it as a formula.
fn csv_field(value: &Value) -> String {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let text = if text.starts_with(['=', '+', '-', '@']) && value.is_string() { format!("'{text}") } else { text };
    if text.contains([',', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text }
}

fn csv(rows: &[Value], columns: &[&str]) -> Response {
    let mut out = columns.join(",");
    out.push('\n');
    for row in rows {
        let fields: Vec<String> = columns.iter().map(|c| csv_field(&row[*c])).collect();
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], out).into_response()
}

/// `GET /deployments.csv`.
pub async fn deployments_csv(
    State(state): State<ServerState>,
    Query(query): Query<AnalysisQuery>,
) -> Result<Response, ApiError> {
    let report: Value =
        serde_json::from_str(&super::report_json(&state, &query).await?).map_err(anyhow::Error::from)?;
    let rows = report["deployments"].as_array().cloned().unwrap_or_default();
    Ok(csv(&rows, &["finished_at", "name", "commit", "commits", "failed", "rework", "baseline"]))
}

/// `GET /flow.csv`: one row per pull request with each stage in seconds.
pub async fn flow_csv(
    State(state): State<ServerState>,
    Query(query): Query<AnalysisQuery>,
) -> Result<Response, ApiError> {
    let flow: Value = serde_json::from_str(&super::flow_json(&state, &query).await?).map_err(anyhow::Error::from)?;
    let rows = flow["rows"].as_array().cloned().unwrap_or_default();
    let columns: Vec<String> = rows
        .first()
        .and_then(Value::as_object)
        .map(|o| o.iter().filter(|(_, v)| !v.is_object() && !v.is_array()).map(|(k, _)| k.clone()).collect())
        .unwrap_or_default();
    let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
    Ok(csv(&rows, &columns))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(csv_field(&Value::from("plain")), "plain");
        assert_eq!(csv_field(&Value::from("a,b")), "\"a,b\"");
        assert_eq!(csv_field(&Value::from("say \"hi\"")), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field(&Value::from("=HYPERLINK(\"x\")")), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field(&Value::from(-3)), "-3");
        assert_eq!(csv_field(&Value::Null), "");
    }

    #[test]
    fn links_are_only_to_web_addresses() {
        assert_eq!(link(&Value::from("javascript:alert(1)"), "x"), "x");
        assert_eq!(
            link(&Value::from("https://h/p?a=1&b=2"), "<t>"),
            "<a href=\"https://h/p?a=1&amp;b=2\">&lt;t&gt;</a>"
        );
    }

    #[test]
    fn charts_have_a_bar_per_value() {
        let svg = bar_chart("x", &[("a".into(), 1.0), ("b".into(), 2.0)]);
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(svg.contains("<title>b: 2</title>"), "{svg}");
        assert!(!bar_chart("empty", &[]).contains("<rect"));
    }
}
