//! Jira (Cloud and Data Center) as a source of work items: the issues a
//! JQL chooses (default `project = KEY`), with their status changes from
//! the changelog, least recently updated first, a page at a time, each page
//! written with the `updated` it reached (the next sync asks for what was
//! updated since, a day early: JQL dates are in the account's time zone).
//!
//! Cloud (`*.atlassian.net`, or `api = "cloud"`): `GET /rest/api/3/search/jql`
//! paged by `nextPageToken`, basic authentication with `user` (an e-mail)
//! and an API token. Data Center: `GET /rest/api/2/search` paged by
//! `startAt`, a personal access token as a bearer token.

use serde_json::Value;

use crate::config::SourceFile;
use crate::progress::Progress;
use crate::sources::connector::{Session, SourceError, SourceSummary, cursor_update, encode};
use crate::sources::github::SyncContext;
use crate::sources::http::Auth;
use crate::store::{EventBatch, ItemEvent, Store};

/// The fields asked for (and the site's story-points and sprint fields,
/// when it has them).
const FIELDS: &str = "summary,created,updated,issuetype,status";

/// The ids of the site's story-points field (named `Story Points` or
/// `Story point estimate`) and sprint field (Jira Software's
/// `gh-sprint`), from `/rest/api/N/field`.
#[derive(Debug, Default, Clone)]
pub struct EstimateFields {
    /// Story points.
    pub points: Option<String>,
    /// Sprint.
    pub sprint: Option<String>,
}

impl EstimateFields {
    /// The fields of a `/field` answer.
    pub fn of(listed: &[Value]) -> EstimateFields {
        let id = |f: &Value| f["id"].as_str().map(str::to_owned);
        let named = |f: &Value, names: &[&str]| {
            f["name"].as_str().is_some_and(|n| names.iter().any(|w| n.eq_ignore_ascii_case(w)))
        };
        EstimateFields {
            points: listed.iter().find(|f| named(f, &["Story Points", "Story point estimate"])).and_then(id),
            sprint: listed
                .iter()
                .find(|f| f["schema"]["custom"] == "com.pyxis.greenhopper.jira:gh-sprint")
                .or_else(|| listed.iter().find(|f| named(f, &["Sprint"])))
                .and_then(id),
        }
    }

    /// The `fields` parameter.
    fn parameter(&self) -> String {
        let mut fields = FIELDS.to_owned();
        for id in [&self.points, &self.sprint].into_iter().flatten() {
            fields.push(',');
            fields.push_str(id);
        }
        fields
    }
}

/// The last sprint of a sprint field: Cloud's objects (`name`), or Data
/// Center's strings (`…[id=1,state=CLOSED,name=Sprint 7,…]`).
fn last_sprint(value: &Value) -> Option<String> {
    let last = value.as_array()?.last()?;
    if let Some(name) = last["name"].as_str() {
        return Some(name.to_owned());
    }
    let text = last.as_str()?;
    let start = text.find("name=")? + "name=".len();
    let rest = &text[start..];
    let end = rest.find(",startDate=").or_else(|| rest.find(',')).unwrap_or(rest.len());
    Some(rest[..end].trim_end_matches(']').to_owned())
}

/// A Jira time (`2025-01-02T09:00:00.000+0000`, the offset without a colon).
fn jira_time(value: &Value) -> Option<i64> {
    let text = value.as_str()?;
    let fixed = match text.len().checked_sub(5).filter(|&i| text.is_char_boundary(i)).map(|i| text.split_at(i)) {
        Some((head, offset))
            if (offset.starts_with('+') || offset.starts_with('-'))
                && offset[1..].bytes().all(|b| b.is_ascii_digit()) =>
        {
            format!("{head}{}:{}", &offset[..3], &offset[3..])
        }
        _ => text.to_owned(),
    };
    fulcrum_core::time::parse_rfc3339(&fixed)
}

/// A JQL date: `yyyy/MM/dd HH:mm`.
fn jql_date(at: i64) -> String {
    let text = fulcrum_core::time::format_datetime(at);
    format!("{} {}", text[..10].replace('-', "/"), &text[11..16])
}

/// The category of a status category key (`new`, `indeterminate`, `done`).
fn category(key: &str) -> Option<String> {
    match key {
        "new" => Some("todo".into()),
        "indeterminate" => Some("in_progress".into()),
        "done" => Some("done".into()),
        _ => None,
    }
}

/// The site's statuses: id → category (`todo`, `in_progress`, `done`), from
/// `/rest/api/N/status`. A status's name is localised and may be renamed;
/// its id and category are not.
pub type Statuses = std::collections::HashMap<String, String>;

/// The statuses of a `/status` answer.
pub fn statuses(listed: &[Value]) -> Statuses {
    listed
        .iter()
        .filter_map(|s| Some((s["id"].as_str()?.to_owned(), category(s["statusCategory"]["key"].as_str()?)?)))
        .collect()
}

/// An issue as a work item: its status when created (the first change's
/// `from`, else today's), then each status change, each status put in its
/// category by its id (`statuses`), else, for the current status, by the
/// issue's own `statusCategory`; the others by `[items]` and the usual
/// names when read. `histories` are the issue's changelog entries (the
/// embedded page, completed by the caller when Jira cut it). Moves dated
/// before the issue was created are left out and said in `warnings`.
pub fn work_item(
    source: &str,
    service: &str,
    issue: &Value,
    histories: &[Value],
    statuses: &Statuses,
    estimates: &EstimateFields,
    warnings: &mut Vec<String>,
) -> Option<ItemEvent> {
    let key = issue["key"].as_str()?;
    let fields = &issue["fields"];
    let created_at = jira_time(&fields["created"])?;
    let current = fields["status"]["name"].as_str().unwrap_or("");
    let current_id = fields["status"]["id"].as_str();
    let current_category = current_id
        .and_then(|id| statuses.get(id).cloned())
        .or_else(|| fields["status"]["statusCategory"]["key"].as_str().and_then(category));
    let category_of = |id: Option<&str>, name: &str| -> Option<String> {
        id.and_then(|id| statuses.get(id).cloned())
            .or_else(|| (name == current).then(|| current_category.clone()).flatten())
    };
    // (time, (from id, from name), (to id, to name))
    type Side = (Option<String>, String);
    let mut changes: Vec<(i64, Side, Side)> = Vec::new();
    let mut early = 0;
    for history in histories {
        let Some(at) = jira_time(&history["created"]) else { continue };
        for item in history["items"].as_array().into_iter().flatten() {
            if item["field"] == "status" {
                if at < created_at {
                    early += 1;
                    continue;
                }
                let side = |id: &str, name: &str| {
                    (item[id].as_str().map(str::to_owned), item[name].as_str().unwrap_or("").to_owned())
                };
                changes.push((at, side("from", "fromString"), side("to", "toString")));
            }
        }
    }
    if early > 0 {
        warnings.push(format!(
            "{key}: {early} status changes dated before the issue was created ({}); left out",
            fulcrum_core::time::format_datetime(created_at)
        ));
    }
    changes.sort_by_key(|c| c.0);
    let first = changes.first().map_or((current_id.map(str::to_owned), current.to_owned()), |c| c.1.clone());
    let mut transitions = vec![(created_at, first.1.clone(), category_of(first.0.as_deref(), &first.1))];
    transitions.extend(changes.into_iter().map(|(at, _, (id, to))| {
        let category = category_of(id.as_deref(), &to);
        (at, to, category)
    }));
    transitions.retain(|t| !t.1.is_empty());
    Some(ItemEvent {
        source: source.to_owned(),
        external_id: key.to_owned(),
        title: fields["summary"].as_str().map(str::to_owned),
        kind: fields["issuetype"]["name"].as_str().map(str::to_owned),
        project: Some(service.to_owned()),
        created_at,
        transitions,
        links: Vec::new(),
        points: estimates.points.as_ref().and_then(|id| fields[id].as_f64()).filter(|p| p.is_finite() && *p >= 0.0),
        sprint: estimates.sprint.as_ref().and_then(|id| last_sprint(&fields[id])),
    })
}

/// The whole changelog of `issue`: the page embedded in the search
/// answer, completed from `/rest/api/3/issue/{key}/changelog` when Jira
/// cut it (it embeds at most 100 entries; Data Center embeds all).
fn changelog(
    session: &Session<'_>,
    base: &str,
    cloud: bool,
    issue: &Value,
) -> Result<Vec<Value>, crate::sources::http::HttpError> {
    let log = &issue["changelog"];
    let mut histories = log["histories"].as_array().cloned().unwrap_or_default();
    let total = log["total"].as_u64().unwrap_or(0) as usize;
    let Some(key) = issue["key"].as_str().filter(|_| cloud && histories.len() < total) else {
        return Ok(histories);
    };
    let mut seen: std::collections::HashSet<String> =
        histories.iter().filter_map(|h| h["id"].as_str().map(str::to_owned)).collect();
    let mut start = 0;
    loop {
        let page = session
            .get_one(&format!("{base}/rest/api/3/issue/{}/changelog?startAt={start}&maxResults=100", encode(key)))?;
        let values = page["values"].as_array().cloned().unwrap_or_default();
        if values.is_empty() {
            return Ok(histories);
        }
        start += values.len();
        for history in values {
            // The embedded page and the full listing overlap.
            if history["id"].as_str().is_none_or(|id| seen.insert(id.to_owned())) {
                histories.push(history);
            }
        }
        if page["isLast"] != false || start >= page["total"].as_u64().unwrap_or(0) as usize {
            return Ok(histories);
        }
    }
}

/// Syncs one Jira source's items into the store.
pub fn sync(
    store: &mut Store,
    source: &SourceFile,
    context: &SyncContext<'_>,
    progress: &mut Progress,
) -> anyhow::Result<SourceSummary> {
    let base = source.base_url.as_deref().unwrap_or_default().trim_end_matches('/').to_owned();
    let project = source.repo.trim();
    let name = format!("jira:{project}");
    let service = source.service.clone().unwrap_or_else(|| project.to_owned());
    let cloud = match source.api.as_deref() {
        Some(api) => api == "cloud",
        None => crate::sources::http::origin(&base).is_some_and(|(_, host, _)| host.ends_with(".atlassian.net")),
    };
    let auth = if source.user.is_some() { Auth::Basic } else { Auth::Bearer };
    let client = crate::sources::connector::client(source, &base, auth, "JIRA_TOKEN", context.clock)?
        .with_user(source.user.clone());
    let session = Session::new(client, progress);
    session.stage(format!("{name}: issues"));
    let mut summary = SourceSummary { source: name.clone(), ..SourceSummary::default() };
    let cursor = store.cursor(&name, "issues")?.and_then(|c| fulcrum_core::time::parse_rfc3339(&c));
    let chosen = source.jql.clone().unwrap_or_else(|| format!("project = {project}"));
    let jql = match cursor {
        Some(at) => format!("({chosen}) AND updated >= \"{}\" ORDER BY updated ASC", jql_date(at - 86_400)),
        None => format!("({chosen}) ORDER BY updated ASC"),
    };
    let version = if cloud { 3 } else { 2 };
    let statuses = statuses(&session.get_all(&format!("{base}/rest/api/{version}/status"))?);
    let estimates = EstimateFields::of(&session.get_all(&format!("{base}/rest/api/{version}/field"))?);
    let fields = estimates.parameter();
    let max_pages = source.max_pages.unwrap_or(crate::sources::http::DEFAULT_MAX_PAGES);
    let (mut start_at, mut token, mut newest, mut pages) = (0_usize, None::<String>, cursor, 0_usize);
    loop {
        pages += 1;
        if pages > max_pages {
            return Err(SourceError(format!(
                "{name}: more than {max_pages} pages of issues; narrow the jql or raise max_pages"
            ))
            .into());
        }
        let url = if cloud {
            let next = token.as_deref().map(|t| format!("&nextPageToken={}", encode(t))).unwrap_or_default();
            format!(
                "{base}/rest/api/3/search/jql?jql={}&fields={fields}&expand=changelog&maxResults=100{next}",
                encode(&jql)
            )
        } else {
            format!(
                "{base}/rest/api/2/search?jql={}&fields={fields}&expand=changelog&maxResults=100&startAt={start_at}",
                encode(&jql)
            )
        };
        let page = session.get_one(&url)?;
        let issues = page["issues"].as_array().cloned().unwrap_or_default();
        let mut batch = EventBatch::default();
        for issue in &issues {
            let histories = changelog(&session, &base, cloud, issue)?;
            match work_item(&name, &service, issue, &histories, &statuses, &estimates, &mut summary.warnings) {
                Some(item) => {
                    newest = newest.max(jira_time(&issue["fields"]["updated"]));
                    batch.items.push((item, Some(issue.to_string())));
                }
                None => summary.skipped += 1,
            }
        }
        summary.items += batch.items.len();
        let reached = newest.map(fulcrum_core::time::format_datetime);
        store.write_events(&batch, &cursor_update(&name, "issues", reached.as_deref()))?;
        if cloud {
            match page["nextPageToken"].as_str() {
                // The same token again would ask for the same page for ever.
                Some(next) if token.as_deref() == Some(next) => {
                    return Err(
                        SourceError(format!("{name}: the site gave the same next page token twice; stopped")).into()
                    );
                }
                Some(next) if page["isLast"] != true && !issues.is_empty() => token = Some(next.to_owned()),
                _ => break,
            }
        } else {
            start_at += issues.len();
            let total = page["total"].as_u64().unwrap_or(0) as usize;
            if issues.is_empty() || start_at >= total {
                break;
            }
        }
    }
    session.finish(&mut summary);
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sprints_of_cloud_and_data_center_and_the_estimate_fields() {
        let cloud = serde_json::json!([{"id": 6, "name": "EE Sprint 6"}, {"id": 7, "name": "EE Sprint 7"}]);
        assert_eq!(last_sprint(&cloud).as_deref(), Some("EE Sprint 7"));
        let dc = serde_json::json!([
            "com.atlassian.greenhopper.service.sprint.Sprint@1a2b[id=3,rapidViewId=1,state=CLOSED,name=Sprint 3,startDate=2025-01-01T00:00:00.000Z,endDate=<null>]"
        ]);
        assert_eq!(last_sprint(&dc).as_deref(), Some("Sprint 3"));
        let fields = EstimateFields::of(&[
            serde_json::json!({"id": "customfield_10016", "name": "Story point estimate"}),
            serde_json::json!({"id": "customfield_10020", "name": "Sprint",
                               "schema": {"custom": "com.pyxis.greenhopper.jira:gh-sprint"}}),
        ]);
        assert_eq!(fields.parameter(), "summary,created,updated,issuetype,status,customfield_10016,customfield_10020");
    }

    #[test]
    fn a_time_ending_in_a_wide_character_is_no_time() {
        assert_eq!(jira_time(&Value::from("2025-01-02T10:00:00.000+01é0")), None);
    }

    #[test]
    fn jira_times_and_jql_dates() {
        assert_eq!(
            jira_time(&Value::from("2025-01-02T10:00:00.000+0100")),
            fulcrum_core::time::parse_rfc3339("2025-01-02T09:00:00Z")
        );
        assert_eq!(jql_date(fulcrum_core::time::parse_rfc3339("2025-01-02T09:05:00Z").unwrap()), "2025/01/02 09:05");
    }

    #[test]
    fn status_changes_become_moves_with_the_current_category() {
        let issue = serde_json::json!({
            "key": "SHOP-1",
            "fields": {
                "summary": "One-click checkout", "created": "2025-01-02T09:00:00.000+0000",
                "issuetype": {"name": "Story"},
                "status": {"name": "Shipped", "statusCategory": {"key": "done"}}
            },
            "changelog": {"histories": [
                {"created": "2025-01-07T10:00:00.000+0000", "items": [{"field": "status", "fromString": "In Progress", "toString": "Shipped"}]},
                {"created": "2025-01-06T07:00:00.000+0000", "items": [
                    {"field": "assignee", "fromString": null, "toString": "Ann"},
                    {"field": "status", "fromString": "To Do", "toString": "In Progress"}
                ]}
            ]}
        });
        let histories = issue["changelog"]["histories"].as_array().unwrap().clone();
        let mut warnings = Vec::new();
        let estimates = EstimateFields::default();
        let item =
            work_item("jira:SHOP", "shop", &issue, &histories, &Statuses::new(), &estimates, &mut warnings).unwrap();
        assert!(warnings.is_empty());
        let moves: Vec<(&str, Option<&str>)> =
            item.transitions.iter().map(|t| (t.1.as_str(), t.2.as_deref())).collect();
        assert_eq!(moves, [("To Do", None), ("In Progress", None), ("Shipped", Some("done"))]);
        assert_eq!(item.kind.as_deref(), Some("Story"));
    }
}
