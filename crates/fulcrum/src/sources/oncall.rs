//! PagerDuty and Opsgenie as sources of incidents: one service's incidents
//! (`repo` is the service's id), with their start and resolution, stored
//! under the configured `service` and linked to deployments as every
//! incident is (by time within `incident.link_window`).
//!
//! Both list newest first and stop at the first incident created before
//! the cursor. The cursor is the creation time of the oldest incident
//! still open at the last sync (it will be read again, to learn when it was
//! resolved), else of the newest incident seen: a re-sync reads only what
//! is new or was open.
//!
//! PagerDuty: `GET /incidents?service_ids[]=ID&date_range=all&sort_by=created_at:desc`
//! paged by `offset` while the body says `more` (the API stops classic
//! paging at offset 10,000), `Authorization: Token token=…` from
//! `PAGERDUTY_TOKEN`. Resolution: `resolved_at`, else the
//! `resolve_log_entry` when log entries are included, else
//! `last_status_change_at` of a resolved incident.
//!
//! Opsgenie: `GET /v1/incidents?query=impactedServices:ID&sort=createdAt&order=desc`
//! paged by the body's `paging.next`, `Authorization: GenieKey …` from
//! `OPSGENIE_TOKEN` (set `base_url = "https://api.eu.opsgenie.com"` for the
//! EU instance). Start: `impactStartDate`, else `createdAt`; resolution:
//! `impactEndDate`, else `updatedAt` of a resolved or closed incident.

use serde_json::Value;

use crate::config::SourceFile;
use crate::progress::Progress;
use crate::sources::connector::{Session, SourceError, SourceSummary, cursor_update, encode, time};
use crate::sources::github::SyncContext;
use crate::sources::http::Auth;
use crate::store::{EventBatch, IncidentEvent, Store};

/// The two on-call hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Host {
    PagerDuty,
    Opsgenie,
}

/// Incidents written per transaction.
const BATCH: usize = 100;

/// Where PagerDuty's classic (offset) pagination ends.
const PAGERDUTY_MAX_OFFSET: u64 = 10_000;

/// A PagerDuty incident as an incident of `service`.
pub fn pagerduty_incident(source: &str, service: &str, incident: &Value) -> Option<IncidentEvent> {
    let id = incident["id"].as_str()?;
    let started_at = time(incident, "created_at")?;
    let resolved = incident["status"] == "resolved";
    let logged = incident["log_entries"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["type"] == "resolve_log_entry")
        .filter_map(|e| time(e, "created_at"))
        .max();
    let resolved_at = time(incident, "resolved_at")
        .or(logged)
        .or_else(|| resolved.then(|| time(incident, "last_status_change_at")).flatten())
        .filter(|_| resolved);
    let number = incident["incident_number"].as_u64().map(|n| format!("#{n} ")).unwrap_or_default();
    Some(IncidentEvent {
        source: source.to_owned(),
        external_id: id.to_owned(),
        service: service.to_owned(),
        title: incident["title"].as_str().map(|t| format!("{number}{t}")),
        started_at,
        resolved_at: resolved_at.map(|at| at.max(started_at)),
        deployment: None,
        commit: None,
        pull_request: None,
    })
}

/// An Opsgenie incident as an incident of `service`.
pub fn opsgenie_incident(source: &str, service: &str, incident: &Value) -> Option<IncidentEvent> {
    let id = incident["id"].as_str()?;
    let started_at = time(incident, "impactStartDate").or_else(|| time(incident, "createdAt"))?;
    let resolved = matches!(incident["status"].as_str(), Some("resolved" | "closed"));
    let resolved_at = time(incident, "impactEndDate").or_else(|| time(incident, "updatedAt")).filter(|_| resolved);
    let number = incident["tinyId"].as_str().map(|n| format!("#{n} ")).unwrap_or_default();
    Some(IncidentEvent {
        source: source.to_owned(),
        external_id: id.to_owned(),
        service: service.to_owned(),
        title: incident["message"].as_str().map(|t| format!("{number}{t}")),
        started_at,
        resolved_at: resolved_at.map(|at| at.max(started_at)),
        deployment: None,
        commit: None,
        pull_request: None,
    })
}

/// The next page of a PagerDuty listing: the same URL at the next offset
/// while the body says `more`.
fn pagerduty_next(body: &Value, url: &str) -> Option<String> {
    if body["more"] != true {
        return None;
    }
    let listed = body["incidents"].as_array().map_or(0, Vec::len) as u64;
    let offset = body["offset"].as_u64().unwrap_or(0) + body["limit"].as_u64().unwrap_or(listed).max(listed);
    // Classic pagination ends at offset 10,000 (PagerDuty answers 400
    // beyond): the newest 10,000 incidents are read, and the cursor keeps
    // later syncs to what is new.
    if offset >= PAGERDUTY_MAX_OFFSET {
        return None;
    }
    let (head, query) = url.split_once('?').unwrap_or((url, ""));
    let kept: Vec<&str> = query.split('&').filter(|p| !p.starts_with("offset=") && !p.is_empty()).collect();
    (listed > 0).then(|| format!("{head}?{}&offset={offset}", kept.join("&")))
}

/// Syncs a PagerDuty source's incidents.
pub fn sync_pagerduty(
    store: &mut Store,
    source: &SourceFile,
    context: &SyncContext<'_>,
    progress: &mut Progress,
) -> anyhow::Result<SourceSummary> {
    sync(store, source, context, progress, Host::PagerDuty)
}

/// Syncs an Opsgenie source's incidents.
pub fn sync_opsgenie(
    store: &mut Store,
    source: &SourceFile,
    context: &SyncContext<'_>,
    progress: &mut Progress,
) -> anyhow::Result<SourceSummary> {
    sync(store, source, context, progress, Host::Opsgenie)
}

fn sync(
    store: &mut Store,
    source: &SourceFile,
    context: &SyncContext<'_>,
    progress: &mut Progress,
    host: Host,
) -> anyhow::Result<SourceSummary> {
    let id = source.repo.trim();
    let (kind, default_base, auth, env) = match host {
        Host::PagerDuty => {
            ("pagerduty", "https://api.pagerduty.com", Auth::Prefixed("Token token="), "PAGERDUTY_TOKEN")
        }
        Host::Opsgenie => ("opsgenie", "https://api.opsgenie.com", Auth::Prefixed("GenieKey "), "OPSGENIE_TOKEN"),
    };
    let base = source.base_url.as_deref().unwrap_or(default_base).trim_end_matches('/').to_owned();
    let name = format!("{kind}:{id}");
    let client = crate::sources::connector::client(source, &base, auth, env, context.clock)?;
    let session = Session::new(client, progress);
    session.stage(format!("{name}: incidents"));
    let mut summary = SourceSummary { source: name.clone(), ..SourceSummary::default() };
    let since = source.since.as_deref().and_then(|s| crate::sources::connector::since_time(s, context.now));
    let cursor = store.cursor(&name, "incidents")?.and_then(|c| fulcrum_core::time::parse_rfc3339(&c)).or(since);
    let url = match host {
        Host::PagerDuty => format!(
            "{base}/incidents?service_ids%5B%5D={}&date_range=all&sort_by=created_at%3Adesc&include%5B%5D=log_entries&limit=100&offset=0",
            encode(id)
        ),
        Host::Opsgenie => format!(
            "{base}/v1/incidents?query={}&sort=createdAt&order=desc&limit=100&offset=0",
            encode(&format!("impactedServices:{id}"))
        ),
    };
    let service = source.service.clone();
    // Newest first: the listing ends at the first incident created before the cursor.
    let (mut done, mut oldest_open, mut newest) = (false, None::<i64>, None::<i64>);
    let mut seen = std::collections::HashSet::new();
    let mut pending = EventBatch::default();
    let (list_key, created_key) = match host {
        Host::PagerDuty => ("incidents", "created_at"),
        Host::Opsgenie => ("data", "createdAt"),
    };
    // No page after one reaching back past the cursor.
    let next = |body: &Value, url: &str| -> Option<String> {
        let last = body[list_key].as_array().and_then(|l| l.last()).and_then(|i| time(i, created_key));
        if cursor.is_some_and(|c| last.is_some_and(|l| l < c)) {
            return None;
        }
        match host {
            Host::PagerDuty => pagerduty_next(body, url),
            Host::Opsgenie => body["paging"]["next"].as_str().map(str::to_owned),
        }
    };
    let result = session.each_page_linked(&url, &next, &mut |body| -> anyhow::Result<()> {
        if done {
            return Ok(());
        }
        let Some(listed) = body[list_key].as_array() else {
            return Err(SourceError(format!(
                "{name}: a page of incidents without the `{list_key}` list; is base_url the {kind} API?"
            ))
            .into());
        };
        for incident in listed {
            let service = service.clone().unwrap_or_else(|| match host {
                Host::PagerDuty => incident["service"]["summary"].as_str().unwrap_or(id).to_owned(),
                Host::Opsgenie => id.to_owned(),
            });
            let event = match host {
                Host::PagerDuty => pagerduty_incident(&name, &service, incident),
                Host::Opsgenie => opsgenie_incident(&name, &service, incident),
            };
            let Some(event) = event else {
                summary.skipped += 1;
                continue;
            };
            let created = time(incident, created_key).unwrap_or(event.started_at);
            if cursor.is_some_and(|c| created < c) {
                done = true;
                break;
            }
            // A list that shifts while it is paged repeats an incident.
            if !seen.insert(event.external_id.clone()) {
                continue;
            }
            newest = newest.max(Some(created));
            if event.resolved_at.is_none() {
                oldest_open = Some(oldest_open.map_or(created, |o| o.min(created)));
            }
            pending.incidents.push((event, Some(incident.to_string())));
        }
        if pending.incidents.len() >= BATCH {
            summary.incidents += pending.incidents.len();
            store.write_events(&std::mem::take(&mut pending), &[])?;
        }
        Ok(())
    });
    result?;
    summary.incidents += pending.incidents.len();
    // Written last, with the incidents still in hand: a killed sync reads
    // them all again next time.
    let reached = oldest_open.or(newest).or(cursor).map(fulcrum_core::time::format_datetime);
    store.write_events(&pending, &cursor_update(&name, "incidents", reached.as_deref()))?;
    session.finish(&mut summary);
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pagerduty_resolution_from_the_field_the_log_or_the_last_change() {
        let at = |t: &str| fulcrum_core::time::parse_rfc3339(t);
        let mut incident = json!({
            "id": "Q1", "incident_number": 6, "title": "Slow", "status": "resolved",
            "created_at": "2022-11-03T06:45:36.000000Z", "last_status_change_at": "2022-11-03T06:51:44.000000Z",
            "log_entries": [{"type": "resolve_log_entry", "created_at": "2022-11-03T06:51:40Z"}]
        });
        let event = pagerduty_incident("pagerduty:P", "shop", &incident).unwrap();
        assert_eq!(event.resolved_at, at("2022-11-03T06:51:40Z"));
        assert_eq!(event.title.as_deref(), Some("#6 Slow"));
        incident["resolved_at"] = json!("2022-11-03T06:51:42Z");
        assert_eq!(pagerduty_incident("p", "s", &incident).unwrap().resolved_at, at("2022-11-03T06:51:42Z"));
        incident.as_object_mut().unwrap().remove("resolved_at");
        incident.as_object_mut().unwrap().remove("log_entries");
        assert_eq!(pagerduty_incident("p", "s", &incident).unwrap().resolved_at, at("2022-11-03T06:51:44Z"));
        incident["status"] = json!("acknowledged");
        assert_eq!(pagerduty_incident("p", "s", &incident).unwrap().resolved_at, None);
    }

    #[test]
    fn pagerduty_pages_by_offset_while_there_is_more() {
        let url = "https://api.pagerduty.com/incidents?service_ids%5B%5D=P&limit=2&offset=0";
        let body = json!({"incidents": [{}, {}], "limit": 2, "offset": 0, "more": true});
        assert_eq!(
            pagerduty_next(&body, url).as_deref(),
            Some("https://api.pagerduty.com/incidents?service_ids%5B%5D=P&limit=2&offset=2")
        );
        assert_eq!(pagerduty_next(&json!({"incidents": [{}], "more": false}), url), None);
        // `more` with an empty page would ask for the same page for ever.
        assert_eq!(pagerduty_next(&json!({"incidents": [], "more": true}), url), None);
        // Classic pagination stops at offset 10,000.
        let last = json!({"incidents": [{}, {}], "limit": 100, "offset": 9_900, "more": true});
        assert_eq!(pagerduty_next(&last, url), None);
    }

    #[test]
    fn opsgenie_impact_dates_and_open_incidents() {
        let incident = json!({
            "id": "3f84", "tinyId": "1", "message": "Incident#2", "status": "resolved",
            "createdAt": "2023-09-05T18:20:28.003Z", "updatedAt": "2023-09-05T18:21:21.49Z",
            "impactStartDate": "2023-09-05T18:20:28.003Z", "impactEndDate": "2023-09-05T18:21:21.49Z"
        });
        let event = opsgenie_incident("opsgenie:S", "shop", &incident).unwrap();
        assert_eq!(event.resolved_at.unwrap() - event.started_at, 53);
        assert_eq!(event.title.as_deref(), Some("#1 Incident#2"));
        let open = json!({"id": "3a74", "status": "open", "createdAt": "2023-09-06T14:30:56.346Z",
                          "updatedAt": "2023-09-06T14:30:57.035Z"});
        assert_eq!(opsgenie_incident("o", "s", &open).unwrap().resolved_at, None);
    }
}
