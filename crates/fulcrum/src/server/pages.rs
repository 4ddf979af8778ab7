//! The flow, knowledge and deployments pages, and their CSV downloads.
//!
//! Every figure comes from the same JSON the API answers (the page parses
//! it), so a page cannot disagree with `/api/v1/…` or the command line.
//! Pages are plain HTML: tables that work without JavaScript, and charts
//! drawn on the server as SVG (no script, nothing loaded from elsewhere;
//! each chart has its table beside it). The filters are a GET form, so the
//! state is in the URL and a link can be shared.

use std::fmt::Write as _;

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde_json::Value;

use super::session::{Viewer, banner, page};
use super::{AnalysisQuery, ApiError, ServerState, escape};
use crate::render::duration;
use crate::server::accounts::Role;

/// The query string of the filters, to carry from page to page.
fn query_string(query: &AnalysisQuery) -> String {
    let pairs: Vec<String> = [
        ("repo", &query.repo),
        ("since", &query.since),
        ("until", &query.until),
        ("service", &query.service),
        ("team", &query.team),
    ]
    .into_iter()
    .filter_map(|(key, value)| value.as_ref().map(|v| format!("{key}={}", crate::sources::connector::encode(v))))
    .collect();
    if pairs.is_empty() { String::new() } else { format!("?{}", pairs.join("&")) }
}

/// The banner, the sync panel, the navigation (what the role may see) and
/// the filters.
pub fn chrome(state: &ServerState, viewer: Option<&Viewer>, query: &AnalysisQuery, current: &str) -> String {
    let mut out = banner(viewer);
    let q = query_string(query);
    out.push_str(&super::syncing::panel(state, viewer, &format!("{current}{q}")));
    let member = viewer.is_none_or(|v| v.role >= Role::Member);
    out.push_str("<nav>");
    for (path, name, all) in [
        ("/", "Delivery", true),
        ("/deployments", "Deployments", true),
        ("/brief", "Brief", true),
        ("/flow", "Flow", false),
        ("/knowledge", "Knowledge", false),
        ("/focus", "Focus", false),
        ("/org", "Organisation", false),
        ("/goals", "Goals", false),
        ("/checkins", "Check-ins", false),
        ("/surveys", "Pulse", false),
    ] {
        if all || member {
            if path == current {
                let _ = write!(out, "<strong>{name}</strong> ");
            } else {
                let _ = write!(out, "<a href=\"{path}{}\">{name}</a> ", escape(&q));
            }
        }
    }
    if viewer.is_none_or(|v| v.role >= Role::Admin) {
        out.push_str("<a href=\"/admin\">Admin</a> ");
    }
    out.push_str("</nav>\n");
    let field = |name: &str, value: &Option<String>, hint: &str| {
        format!(
            "<label>{name} <input name=\"{name}\" value=\"{}\" placeholder=\"{hint}\"></label> ",
            escape(value.as_deref().unwrap_or(""))
        )
    };
    // The teams of the configuration, when it has any: a team replaces repo and service.
    let teams = crate::app::organisation_config(&(state.context)()).map(|c| c.teams).unwrap_or_default();
    let team = if teams.is_empty() {
        String::new()
    } else {
        let mut select = String::from("<label>team <select name=\"team\"><option value=\"\">(none)</option>");
        for t in &teams {
            let selected = if query.team.as_deref() == Some(t.name.as_str()) { " selected" } else { "" };
            let _ = write!(select, "<option{selected}>{}</option>", escape(&t.name));
        }
        select.push_str("</select></label> ");
        select
    };
    let _ = writeln!(
        out,
        "<form method=\"get\" action=\"{current}\">{}{}{}{}{team}<button>Show</button></form>",
        field("since", &query.since, "90d or 2025-01-31"),
        field("until", &query.until, "now"),
        field("repo", &query.repo, "the first served"),
        field("service", &query.service, "stored events of a service")
    );
    out
}

/// `GET /org`: every team side by side, sortable by any column (a link
/// per heading), the organisation's total last. Teams, never people.
pub async fn org_page(
    State(state): State<ServerState>,
    viewer: Option<axum::Extension<Viewer>>,
    Query(query): Query<AnalysisQuery>,
) -> Result<Response, ApiError> {
    let core = state.cache.get(format!("org page {query:?}"), org_core(&state, &query)).await?;
    let mut body = chrome(&state, viewer.as_ref().map(|v| &v.0), &query, "/org");
    body.push_str(&core);
    Ok(html("fulcrum · organisation", body))
}

async fn org_core(state: &ServerState, query: &AnalysisQuery) -> Result<String, ApiError> {
    let view: Value = serde_json::from_str(&super::org_json(state, query).await?).map_err(anyhow::Error::from)?;
    let mut body = String::from("<h1>Organisation</h1>\n<table data-table=\"org\"><thead><tr>");
    let window = [("since", &query.since), ("until", &query.until)]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("&{k}={}", crate::sources::connector::encode(v))))
        .collect::<String>();
    for (key, title) in [
        ("team", "Team"),
        ("deployment_frequency", "Deploys / week"),
        ("lead_time", "Lead time"),
        ("change_failure_rate", "Failure rate"),
        ("recovery_time", "Recovery"),
        ("rework_rate", "Rework"),
        ("", "Bottleneck"),
        ("truck_factor", "Truck factor"),
    ] {
        if key.is_empty() || view["sort"] == key {
            let _ = write!(body, "<th>{title}</th>");
        } else {
            let _ = write!(body, "<th><a href=\"/org?sort={key}{}\">{title}</a></th>", escape(&window));
        }
    }
    body.push_str("</tr></thead><tbody>\n");
    let percent = |v: &Value| v.as_f64().map_or_else(|| "–".to_owned(), |v| format!("{:.0}%", v * 100.0));
    let rows = view["teams"].as_array().cloned().unwrap_or_default();
    for (i, row) in rows.iter().chain(std::iter::once(&view["organisation"])).enumerate() {
        let name = row["team"].as_str().unwrap_or("");
        let team = if i < rows.len() {
            format!(
                "<a href=\"/?team={}{}\">{}</a>",
                crate::sources::connector::encode(name),
                escape(&window),
                escape(name)
            )
        } else {
            format!("<strong>{}</strong>", escape(name))
        };
        let bottleneck = row["bottleneck"]
            .as_array()
            .map_or_else(|| "–".to_owned(), |b| format!("{} {}", b[0].as_str().unwrap_or(""), percent(&b[1])));
        let truck = row["truck_factor"]
            .as_array()
            .map_or_else(|| "–".to_owned(), |t| format!("{} ({})", t[0], t[1].as_str().unwrap_or("")));
        let _ = writeln!(
            body,
            "<tr data-team=\"{}\"><td>{team}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(name),
            row["deployments_per_week"].as_f64().map_or_else(|| "–".to_owned(), |v| format!("{v:.1}")),
            seconds(&row["lead_time"]),
            percent(&row["change_failure_rate"]),
            seconds(&row["recovery_time"]),
            percent(&row["rework_rate"]),
            escape(&bottleneck),
            escape(&truck),
        );
    }
    body.push_str("</tbody></table>\n");
    for row in rows.iter().chain(std::iter::once(&view["organisation"])) {
        for note in row["notes"].as_array().into_iter().flatten() {
            let _ = writeln!(
                body,
                "<p class=\"note\">{}: {}</p>",
                escape(row["team"].as_str().unwrap_or("")),
                escape(note.as_str().unwrap_or(""))
            );
        }
    }
    body.push_str(
        "<p>Lead time, recovery and the bottleneck are medians; the truck factor is the lowest of a team's \
         repositories. Teams are compared here; no page ranks people.</p>\n",
    );
    Ok(body)
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

/// The colours of the flow stages, in stage order.
const STAGE_COLOURS: [(&str, &str); 4] =
    [("coding", "#4a6fa5"), ("pickup", "#e0a030"), ("review", "#8e5ea2"), ("deploy", "#3c9d5d")];

/// A stacked bar chart as SVG: one column per row, one segment per series
/// (a missing value draws no segment), a legend, and a title on each
/// segment.
pub fn stacked_chart(caption: &str, series: &[(&str, &str)], rows: &[(String, Vec<Option<f64>>)]) -> String {
    let (width, height, legend, gap) = (640.0, 180.0, 20.0, 2.0);
    let total = |values: &[Option<f64>]| values.iter().flatten().sum::<f64>();
    let max = rows.iter().map(|(_, v)| total(v)).fold(0.0_f64, f64::max);
    let step = if rows.is_empty() { width } else { width / rows.len() as f64 };
    let plot = height - legend;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"{}\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" data-bars=\"{}\">",
        escape(caption),
        rows.iter().filter(|(_, v)| total(v) > 0.0).count()
    );
    for (i, (name, colour)) in series.iter().enumerate() {
        let x = i as f64 * 110.0;
        let _ = write!(
            svg,
            "<rect x=\"{x}\" y=\"2\" width=\"12\" height=\"12\" fill=\"{colour}\"/><text x=\"{}\" y=\"13\" font-size=\"12\">{}</text>",
            x + 16.0,
            escape(name)
        );
    }
    for (i, (label, values)) in rows.iter().enumerate() {
        let mut top = height;
        for ((name, colour), value) in series.iter().zip(values) {
            let Some(value) = value.filter(|v| *v > 0.0) else { continue };
            let h = if max > 0.0 { value / max * (plot - 4.0) } else { 0.0 };
            top -= h;
            let _ = write!(
                svg,
                "<rect x=\"{:.1}\" y=\"{top:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{colour}\"><title>{} {}: {}</title></rect>",
                i as f64 * step + gap / 2.0,
                (step - gap).max(1.0),
                escape(label),
                escape(name),
                duration(value)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// A rectangle of a chart.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Rect {
    /// Left.
    pub x: f64,
    /// Top.
    pub y: f64,
    /// Width.
    pub w: f64,
    /// Height.
    pub h: f64,
}

/// A squarified treemap (Bruls, Huizing and van Wijk): a rectangle for
/// each value, in the order given, with area in proportion to the value
/// and sides as near square as the greedy rows allow. A value that is not
/// positive gets an empty rectangle.
pub fn treemap(values: &[f64], bounds: Rect) -> Vec<Rect> {
    let mut out = vec![Rect::default(); values.len()];
    let total: f64 = values.iter().filter(|v| **v > 0.0).sum();
    if total <= 0.0 || bounds.w <= 0.0 || bounds.h <= 0.0 {
        return out;
    }
    let scale = bounds.w * bounds.h / total;
    let area = |i: usize| values[i] * scale;
    let mut order: Vec<usize> = (0..values.len()).filter(|&i| values[i] > 0.0).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));
    // The worst aspect ratio of a row of `areas` laid along `side`.
    let worst = |areas: &[f64], side: f64| {
        let sum: f64 = areas.iter().sum();
        let (max, min) = areas.iter().fold((0.0_f64, f64::MAX), |(hi, lo), a| (hi.max(*a), lo.min(*a)));
        f64::max(side * side * max / (sum * sum), sum * sum / (side * side * min))
    };
    let mut free = bounds;
    let mut row: Vec<usize> = Vec::new();
    let mut next = 0;
    while next < order.len() || !row.is_empty() {
        let side = free.w.min(free.h);
        let current: Vec<f64> = row.iter().map(|&i| area(i)).collect();
        let grows = next < order.len() && {
            let mut with = current.clone();
            with.push(area(order[next]));
            row.is_empty() || worst(&with, side) <= worst(&current, side)
        };
        if grows {
            row.push(order[next]);
            next += 1;
            continue;
        }
        // Lay the row along the shorter side and take it off the free space.
        let sum: f64 = current.iter().sum();
        if free.w >= free.h {
            let w = sum / free.h;
            let mut y = free.y;
            for &i in &row {
                let h = area(i) / w;
                out[i] = Rect { x: free.x, y, w, h };
                y += h;
            }
            free = Rect { x: free.x + w, w: (free.w - w).max(0.0), ..free };
        } else {
            let h = sum / free.w;
            let mut x = free.x;
            for &i in &row {
                let w = area(i) / h;
                out[i] = Rect { x, y: free.y, w, h };
                x += w;
            }
            free = Rect { y: free.y + h, h: (free.h - h).max(0.0), ..free };
        }
        row.clear();
    }
    out
}

/// The colour of a truck factor: red for one person, amber for two,
/// green from three; grey when nobody is an author.
fn truck_factor_colour(truck_factor: u64) -> &'static str {
    match truck_factor {
        0 => "#9e9e9e",
        1 => "#c0392b",
        2 => "#e08e0b",
        _ => "#2e7d32",
    }
}

/// The directories as a treemap: area = files, colour = truck factor.
fn directory_treemap(directories: &[Value]) -> String {
    let (width, height) = (640.0, 320.0);
    let files: Vec<f64> = directories.iter().map(|d| d["files"].as_f64().unwrap_or(0.0)).collect();
    let cells = treemap(&files, Rect { x: 0.0, y: 0.0, w: width, h: height });
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"directories: area is files, colour is truck factor\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" data-cells=\"{}\">",
        cells.iter().filter(|c| c.w > 0.0).count()
    );
    for (d, cell) in directories.iter().zip(&cells).filter(|(_, c)| c.w > 0.0) {
        let name = d["directory"].as_str().unwrap_or("");
        let truck_factor = d["truck_factor"].as_u64().unwrap_or(0);
        let _ = write!(
            svg,
            "<g><rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\" stroke=\"#fff\"><title>{}: {} files, truck factor {}</title></rect>",
            cell.x,
            cell.y,
            cell.w,
            cell.h,
            truck_factor_colour(truck_factor),
            escape(name),
            d["files"],
            truck_factor
        );
        // A label where it fits (about 7 px a character at 12 px).
        if cell.h >= 16.0 && cell.w >= 7.0 * name.chars().count().min(30) as f64 + 6.0 {
            let label: String = name.chars().take(30).collect();
            let _ = write!(
                svg,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" fill=\"#fff\">{}</text>",
                cell.x + 3.0,
                cell.y + 13.0,
                escape(&label)
            );
        }
        svg.push_str("</g>");
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
    let mut body = chrome(&state, viewer.as_ref().map(|v| &v.0), &query, "/flow");
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
    let stages: Vec<(String, Vec<Option<f64>>)> = flow["weekly"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|w| {
            let week = w["week"].as_str().unwrap_or("").to_owned();
            (week, STAGE_COLOURS.iter().map(|(stage, _)| w["stages"][*stage].as_f64()).collect())
        })
        .collect();
    body.push_str("<h2>Stages per week</h2>\n<p>The median of each stage over the pull requests merged that week, stacked: where the week's time went (medians do not add up to a cycle time).</p>\n");
    body.push_str(&stacked_chart("median stage time per week", &STAGE_COLOURS, &stages));
    body.push_str("<h2>Merged pull requests per week</h2>\n");
    body.push_str(&bar_chart("merged pull requests per week", &weekly));
    body.push_str(
        "\n<table><thead><tr><th>Week</th><th>Merged</th><th>Coding</th><th>Pickup</th><th>Review</th><th>Deploy</th></tr></thead><tbody>",
    );
    for ((week, n), (_, medians)) in weekly.iter().zip(&stages) {
        let _ = write!(body, "<tr><td>{}</td><td>{n}</td>", escape(week));
        for median in medians {
            let _ = write!(body, "<td>{}</td>", median.map_or_else(|| "–".to_owned(), duration));
        }
        body.push_str("</tr>");
    }
    body.push_str("</tbody></table>\n");

    if let Some(items) = flow.get("items") {
        let _ = writeln!(
            body,
            "<h2>Work items</h2><p data-items-done=\"{0}\">{0} done in the window{4} ({1} without a pull request), {2} in progress, {3} stored: from created to done, through their pull requests.</p>",
            items["done"],
            items["without_pull_requests"],
            items["in_progress"],
            items["items"],
            items["points_done"].as_f64().map(|p| format!(", {p} points")).unwrap_or_default()
        );
        body.push_str(
            "<table><thead><tr><th>Step</th><th>Median</th><th>p75</th><th>p90</th><th>Items</th></tr></thead><tbody>",
        );
        for step in items["steps"].as_array().into_iter().flatten() {
            let name = match step["step"].as_str().unwrap_or("") {
                "backlog" => "created → started",
                "to_first_commit" => "started → first commit",
                "to_ready" => "first commit → pull request ready",
                "to_merged" => "ready → merged",
                "to_deployed" => "merged → deployed",
                "cycle" => "started → done",
                _ => "waiting (back in to do)",
            };
            match step["summary"].get("value") {
                Some(v) => {
                    let _ = write!(
                        body,
                        "<tr><td>{name}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                        seconds(&v["median"]),
                        seconds(&v["p75"]),
                        seconds(&v["p90"]),
                        v["count"]
                    );
                }
                None => {
                    let _ = write!(
                        body,
                        "<tr><td>{name}</td><td colspan=\"4\">no data: {}</td></tr>",
                        escape(step["summary"]["no_data"]["reason"].as_str().unwrap_or(""))
                    );
                }
            }
        }
        body.push_str("</tbody></table>\n");
    }

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
    body.push_str(&downloads("flow", query));
    Ok(body)
}

/// `query` as the knowledge page asks it: always with directories (the
/// treemap), one level deep unless asked for more.
fn with_directories(query: &AnalysisQuery) -> Result<AnalysisQuery, ApiError> {
    let depth = query.directory_depth().map_err(|e| ApiError(e.into()))?.unwrap_or(1);
    Ok(AnalysisQuery { by_directory: None, depth: Some(depth.to_string()), ..query.clone() })
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
    let mut body = chrome(&state, viewer.as_ref().map(|v| &v.0), &query, "/knowledge");
    body.push_str(&core);
    Ok(html("fulcrum · knowledge", body))
}

async fn knowledge_core(state: &ServerState, query: &AnalysisQuery) -> Result<String, ApiError> {
    let query = &with_directories(query)?;
    let depth = query.depth.as_deref().unwrap_or("1");
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
         <label>If they left (e-mails or names, comma-separated) <input name=\"leaving\" value=\"{}\"></label> \
         <label>Directory depth <input name=\"depth\" value=\"{depth}\" size=\"2\"></label> \
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
    let directories = knowledge["directories"].as_array().cloned().unwrap_or_default();
    let _ = writeln!(
        body,
        "</tbody></table>\n<h2>Directories ({})</h2>\n<p>Area: files; colour: truck factor \
         (<span class=\"tf1\">1</span>, <span class=\"tf2\">2</span>, <span class=\"tf3\">3 or more</span>).</p>",
        directories.len()
    );
    body.push_str(&directory_treemap(&directories));
    body.push_str("\n<table><thead><tr><th>Directory</th><th>Files</th><th>Truck factor</th><th>Rests on</th><th>Files with one author or none</th></tr></thead><tbody>\n");
    for d in &directories {
        let people: Vec<&str> =
            d["key_people"].as_array().into_iter().flatten().filter_map(|p| p["name"].as_str()).collect();
        let _ = writeln!(
            body,
            "<tr data-directory=\"{0}\"><td>{0}</td><td>{1}</td><td>{2}</td><td>{3}</td><td>{4}</td></tr>",
            escape(d["directory"].as_str().unwrap_or("")),
            d["files"],
            d["truck_factor"],
            escape(&people.join(", ")),
            d["files_at_risk"]
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
    body.push_str(&downloads("knowledge", query));
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
    let mut body = chrome(&state, viewer.as_ref().map(|v| &v.0), &query, "/deployments");
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
    let x = |at: f64| ((at - start) / span * 640.0).clamp(0.0, 640.0);
    // Time to recover first, under the points: a band from the failure to its fix.
    for d in deployments.iter().filter(|d| d["failed"] == true) {
        let failed_at = d["finished_at"].as_f64().unwrap_or(start);
        let (until, recovered) = match d["recovered_at"].as_f64() {
            Some(at) => (at, true),
            None => (end, false),
        };
        let _ = write!(
            svg,
            "<rect x=\"{:.1}\" y=\"24\" width=\"{:.1}\" height=\"12\" fill=\"#f4c7c3\" data-recovery=\"{}\"><title>{} failed {}; {}</title></rect>",
            x(failed_at),
            (x(until) - x(failed_at)).max(1.0),
            if recovered { "recovered" } else { "open" },
            escape(d["name"].as_str().unwrap_or("")),
            fulcrum_core::time::format_datetime(failed_at as i64),
            if recovered {
                format!(
                    "recovered {} ({} later)",
                    fulcrum_core::time::format_datetime(until as i64),
                    duration(until - failed_at)
                )
            } else {
                "not recovered yet".to_owned()
            }
        );
        if recovered {
            let _ = write!(
                svg,
                "<path d=\"M{0:.1} 20 l5 10 l-5 10 l-5 -10 z\" fill=\"#2e7d32\"><title>recovered {1}</title></path>",
                x(until),
                fulcrum_core::time::format_datetime(until as i64)
            );
        }
    }
    for d in &deployments {
        let at = d["finished_at"].as_f64().unwrap_or(start);
        let failed = d["failed"] == true;
        let _ = write!(
            svg,
            "<circle cx=\"{:.1}\" cy=\"30\" r=\"{}\" fill=\"{}\"><title>{} {}{}</title></circle>",
            x(at),
            if failed { 7 } else { 5 },
            if failed { "#c0392b" } else { "#4a6fa5" },
            escape(d["name"].as_str().unwrap_or("")),
            fulcrum_core::time::format_datetime(at as i64),
            if failed { " (failed)" } else { "" }
        );
    }
    svg.push_str("</svg>");
    body.push_str(&svg);
    body.push_str("\n<table><thead><tr><th>Finished</th><th>Deployment</th><th>Commit</th><th>Changes</th><th>Failed</th><th>Recovered</th><th>Rework</th></tr></thead><tbody>\n");
    for d in &deployments {
        let recovered = match (d["failed"] == true, d["recovered_at"].as_i64()) {
            (true, Some(at)) => fulcrum_core::time::format_datetime(at),
            (true, None) => "not yet".to_owned(),
            (false, _) => String::new(),
        };
        let _ = writeln!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{recovered}</td><td>{}</td></tr>",
            fulcrum_core::time::format_datetime(d["finished_at"].as_i64().unwrap_or(0)),
            escape(d["name"].as_str().unwrap_or("")),
            escape(&d["commit"].as_str().unwrap_or("").chars().take(12).collect::<String>()),
            d["commits"],
            if d["failed"] == true { "yes" } else { "" },
            if d["rework"] == true { "yes" } else { "" }
        );
    }
    body.push_str("</tbody></table>\n");
    body.push_str(&downloads("deployments", query));
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

/// The tables a page offers for download: `(page, table, answer, where in
/// it)`. The answer is the API's JSON for the same filters.
const TABLES: &[(&str, &str, Answer, &str)] = &[
    ("delivery", "weekly", Answer::Report, "/dora/weekly"),
    ("delivery", "monthly", Answer::Report, "/dora/monthly"),
    ("deployments", "deployments", Answer::Report, "/deployments"),
    ("flow", "pull-requests", Answer::Flow, "/rows"),
    ("flow", "weekly", Answer::Flow, "/weekly"),
    ("flow", "breaches", Answer::Flow, "/breaches"),
    ("flow", "stale", Answer::Flow, "/stale"),
    ("flow", "sizes", Answer::Flow, "/size/value/buckets"),
    ("knowledge", "key-people", Answer::Knowledge, "/key_people"),
    ("knowledge", "directories", Answer::Knowledge, "/directories"),
    ("knowledge", "files", Answer::Knowledge, "/files"),
    ("knowledge", "single-author-files", Answer::Knowledge, "/single_author_files"),
    ("knowledge", "hotspots", Answer::Hotspots, "/hotspots"),
    ("knowledge", "coupling", Answer::Hotspots, "/coupling"),
];

/// Which API answer a table is part of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Report,
    Flow,
    Knowledge,
    Hotspots,
}

/// The download links of a page's tables.
pub fn downloads(page: &str, query: &AnalysisQuery) -> String {
    let q = escape(&query_string(query));
    let links: Vec<String> = TABLES
        .iter()
        .filter(|(p, ..)| *p == page)
        .map(|(_, table, ..)| {
            format!(
                "{table} (<a href=\"/download/{page}/{table}.csv{q}\">CSV</a>, <a href=\"/download/{page}/{table}.json{q}\">JSON</a>)"
            )
        })
        .collect();
    format!("<p class=\"downloads\">Download: {}</p>\n", links.join(" · "))
}

/// A table's rows flattened for CSV: nested objects become `a.b` columns,
/// lists are joined with `; ` (a person by name).
fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(fields) => {
            for (key, v) in fields {
                let name = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                flatten(&name, v, out);
            }
        }
        Value::Array(items) => {
            let parts: Vec<String> = items
                .iter()
                .map(|item| match item {
                    Value::String(s) => s.clone(),
                    Value::Object(o) => {
                        o.get("name").and_then(Value::as_str).map_or_else(|| item.to_string(), str::to_owned)
                    }
                    other => other.to_string(),
                })
                .collect();
            out.push((prefix.to_owned(), Value::String(parts.join("; "))));
        }
        scalar => out.push((prefix.to_owned(), scalar.clone())),
    }
}

/// Rows as CSV: the columns are every flattened field, in order of first
/// appearance.
fn csv(rows: &[Value]) -> String {
    let flat: Vec<Vec<(String, Value)>> = rows
        .iter()
        .map(|row| {
            let mut fields = Vec::new();
            flatten("", row, &mut fields);
            fields
        })
        .collect();
    let mut columns: Vec<&str> = Vec::new();
    for (name, _) in flat.iter().flatten() {
        if !columns.contains(&name.as_str()) {
            columns.push(name);
        }
    }
    let mut out = columns.join(",");
    out.push('\n');
    for row in &flat {
        let fields: Vec<String> = columns
            .iter()
            .map(|c| row.iter().find(|(name, _)| name == c).map_or_else(String::new, |(_, v)| csv_field(v)))
            .collect();
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

/// `GET /download/{page}/{table}.csv` or `.json`: one table of a page,
/// for the page's filters, cut from the API's answer.
pub async fn download(
    State(state): State<ServerState>,
    Path((page, file)): Path<(String, String)>,
    Query(query): Query<AnalysisQuery>,
) -> Result<Response, ApiError> {
    let (table, format) = file.rsplit_once('.').unwrap_or((&file, ""));
    let Some(&(_, _, answer, pointer)) = TABLES.iter().find(|(p, t, ..)| *p == page && *t == table) else {
        let known: Vec<String> = TABLES.iter().map(|(p, t, ..)| format!("{p}/{t}")).collect();
        return Ok(super::refusal(
            StatusCode::NOT_FOUND,
            &format!("no table {page}/{table}: the tables are {}", known.join(", ")),
        ));
    };
    if format != "csv" && format != "json" {
        return Ok(super::refusal(StatusCode::NOT_FOUND, &format!("{file}: ask for {table}.csv or {table}.json")));
    }
    let text = match answer {
        Answer::Report => super::report_json(&state, &query).await?,
        Answer::Flow => super::flow_json(&state, &query).await?,
        Answer::Knowledge => super::knowledge_json(&state, &with_directories(&query)?).await?,
        Answer::Hotspots => super::hotspots_json(&state, &query).await?,
    };
    let whole: Value = serde_json::from_str(&text).map_err(anyhow::Error::from)?;
    // A table the analysis had no data for (no size buckets) is empty.
    let rows = whole.pointer(pointer).and_then(Value::as_array).cloned().unwrap_or_default();
    let disposition = format!("attachment; filename=\"fulcrum-{page}-{table}.{format}\"");
    Ok(if format == "csv" {
        (
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, disposition)],
            csv(&rows),
        )
            .into_response()
    } else {
        let body = serde_json::to_string_pretty(&rows).map_err(anyhow::Error::from)?;
        ([(header::CONTENT_TYPE, "application/json".to_owned()), (header::CONTENT_DISPOSITION, disposition)], body)
            .into_response()
    })
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
    fn stacked_charts_draw_a_segment_per_known_value() {
        let rows = vec![
            ("W1".to_owned(), vec![Some(3600.0), None, Some(7200.0), Some(0.0)]),
            ("W2".to_owned(), vec![None, None, None, None]),
        ];
        let svg = stacked_chart("x", &STAGE_COLOURS, &rows);
        // Four legend swatches, then two segments for W1 and none for W2.
        assert_eq!(svg.matches("<rect").count(), 4 + 2);
        assert!(svg.contains("data-bars=\"1\""), "{svg}");
        assert!(svg.contains("<title>W1 review: 2h 0m</title>"), "{svg}");
    }

    #[test]
    fn treemap_cells_have_the_area_of_their_value_and_do_not_overlap() {
        let values = [6.0, 6.0, 4.0, 3.0, 2.0, 2.0, 1.0, 0.0, -1.0];
        let bounds = Rect { x: 0.0, y: 0.0, w: 6.0, h: 4.0 };
        let cells = treemap(&values, bounds);
        // Total 24 on 6 × 4: each cell's area is its value.
        for (value, cell) in values.iter().zip(&cells) {
            assert!((cell.w * cell.h - value.max(0.0)).abs() < 1e-9, "{value}: {cell:?}");
            assert!(cell.x >= -1e-9 && cell.y >= -1e-9, "{cell:?}");
            assert!(cell.x + cell.w <= 6.0 + 1e-9 && cell.y + cell.h <= 4.0 + 1e-9, "{cell:?}");
        }
        for (i, a) in cells.iter().enumerate() {
            for b in &cells[i + 1..] {
                let overlap_w = (a.x + a.w).min(b.x + b.w) - a.x.max(b.x);
                let overlap_h = (a.y + a.h).min(b.y + b.h) - a.y.max(b.y);
                assert!(overlap_w <= 1e-9 || overlap_h <= 1e-9, "{a:?} overlaps {b:?}");
            }
        }
        // The worked example of Bruls et al.: the first row is the two 6s,
        // stacked along the short side (height 4), 3 wide.
        assert_eq!((cells[0].w, cells[0].h, cells[1].y), (3.0, 2.0, 2.0));
        assert!(treemap(&[], bounds).is_empty());
        assert_eq!(treemap(&[0.0], bounds), vec![Rect::default()]);
    }

    #[test]
    fn treemaps_colour_by_truck_factor_and_name_each_directory() {
        let dirs = vec![
            serde_json::json!({"directory": "src", "files": 30, "truck_factor": 1}),
            serde_json::json!({"directory": "<docs>", "files": 10, "truck_factor": 3}),
            serde_json::json!({"directory": "empty", "files": 0, "truck_factor": 0}),
        ];
        let svg = directory_treemap(&dirs);
        assert!(svg.contains("data-cells=\"2\""), "{svg}");
        assert!(svg.contains("fill=\"#c0392b\" stroke=\"#fff\"><title>src: 30 files, truck factor 1</title>"), "{svg}");
        assert!(svg.contains("&lt;docs&gt;: 10 files, truck factor 3"), "{svg}");
        assert!(!svg.contains("empty"), "{svg}");
    }

    #[test]
    fn charts_have_a_bar_per_value() {
        let svg = bar_chart("x", &[("a".into(), 1.0), ("b".into(), 2.0)]);
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(svg.contains("<title>b: 2</title>"), "{svg}");
        assert!(!bar_chart("empty", &[]).contains("<rect"));
    }
}
