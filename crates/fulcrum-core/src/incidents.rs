//! Failed deployments from incidents (METRICS.md, "Change failure rate"):
//! an incident is linked to a deployment explicitly (it names the deployment,
//! a commit or a pull request), else to the latest successful production
//! deployment of the same service that finished before the incident started,
//! within `incident.link_window`. Unlike DevLake, an incident with no
//! deployment inside the window is left unlinked rather than pinned on an
//! ancient deployment.
//!
//! Recovery is the incident's resolution: a failed deployment recovers when
//! the last incident linked to it is resolved. A deployment is rework when it
//! resolves an incident: the last deployment of the failed deployment's
//! service and environment finishing while the incident was open.

use std::collections::HashMap;

use serde::Serialize;

use crate::deployments::Attribution;
use crate::failures::{Failure, FailureCause};
use crate::model::{Deployment, Instant};

/// An incident as a source reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    /// The source's id.
    pub id: String,
    /// The service affected.
    pub service: String,
    /// When it started.
    pub started_at: Instant,
    /// When it was resolved; `None` while open.
    pub resolved_at: Option<Instant>,
    /// The deployment it is blamed on ([`Deployment::id`]).
    pub deployment: Option<String>,
    /// The commit it is blamed on.
    pub commit: Option<String>,
    /// The merge (or squash) commit of the pull request it is blamed on,
    /// resolved by the caller.
    pub pull_request_commit: Option<String>,
}

/// How an incident was linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Link {
    /// The incident named the deployment, or a commit or pull request it shipped.
    Explicit,
    /// The latest deployment of the service before the incident started.
    ByTime,
}

/// What [`link`] found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IncidentLinks {
    /// At most one failure per deployment, ordered by deployment index.
    pub failures: Vec<Failure>,
    /// Per deployment: it resolved an incident (rework).
    pub rework: Vec<bool>,
    /// Per incident: the failed deployment and how it was linked.
    pub linked: Vec<Option<(usize, Link)>>,
    /// Incidents naming a deployment, commit or pull request that is unknown
    /// or not deployed; they are then linked by time when possible.
    pub dangling_references: usize,
}

/// Links incidents to deployments. `commit_index` maps a commit id to its
/// index in the commits behind `attribution`. `link_window` is in seconds.
pub fn link(
    incidents: &[Incident],
    deployments: &[Deployment],
    attribution: &Attribution,
    commit_index: &dyn Fn(&str) -> Option<usize>,
    link_window: i64,
) -> IncidentLinks {
    let by_id: HashMap<&str, usize> = deployments.iter().enumerate().map(|(d, x)| (x.id.as_str(), d)).collect();
    // Deployments of each service in finish order, for linking by time.
    let mut by_service: HashMap<&str, Vec<usize>> = HashMap::new();
    for (d, deployment) in deployments.iter().enumerate() {
        by_service.entry(deployment.service.as_str()).or_default().push(d);
    }
    for members in by_service.values_mut() {
        members.sort_by_key(|&d| (deployments[d].finished_at, deployments[d].id.as_str()));
    }
    let shipping = |commit: &str| commit_index(commit).and_then(|c| attribution.first_shipping(c));

    let mut result = IncidentLinks {
        rework: vec![false; deployments.len()],
        linked: vec![None; incidents.len()],
        ..IncidentLinks::default()
    };
    // Per failed deployment: its incidents' latest resolution, `None` once any is open.
    let mut failed: HashMap<usize, (usize, Option<Instant>)> = HashMap::new();
    for (i, incident) in incidents.iter().enumerate() {
        let named =
            incident.deployment.is_some() || incident.commit.is_some() || incident.pull_request_commit.is_some();
        let explicit = incident
            .deployment
            .as_deref()
            .and_then(|id| by_id.get(id).copied())
            .or_else(|| incident.commit.as_deref().and_then(shipping))
            .or_else(|| incident.pull_request_commit.as_deref().and_then(shipping));
        if named && explicit.is_none() {
            result.dangling_references += 1;
        }
        let link = match explicit {
            Some(d) => Some((d, Link::Explicit)),
            None => by_service.get(incident.service.as_str()).and_then(|members| {
                let before = members.partition_point(|&d| deployments[d].finished_at <= incident.started_at);
                let d = *members.get(before.checked_sub(1)?)?;
                (incident.started_at - deployments[d].finished_at <= link_window).then_some((d, Link::ByTime))
            }),
        };
        let Some((d, _)) = link else { continue };
        result.linked[i] = link;
        let entry = failed.entry(d).or_insert((i, incident.resolved_at));
        entry.1 = match (entry.1, incident.resolved_at) {
            (Some(a), Some(b)) => Some(a.max(b)),
            _ => None,
        };
        // The deployment that ended the incident: the last of the group
        // finishing while it was open.
        if let Some(resolved) = incident.resolved_at {
            // A group is in finish order: the last finishing by the
            // resolution, if it finished after the start (a search, not a
            // scan: a service's group has thousands of deployments).
            let group = &attribution.groups[attribution.group_of[d]].deployments;
            let by_resolution = group.partition_point(|&x| deployments[x].finished_at <= resolved);
            if let Some(&fix) = by_resolution.checked_sub(1).and_then(|last| group.get(last))
                && deployments[fix].finished_at > incident.started_at
            {
                result.rework[fix] = true;
            }
        }
    }
    let mut failures: Vec<Failure> = failed
        .into_iter()
        .map(|(deployment, (incident, recovered_at))| Failure {
            deployment,
            recovered_by: None,
            // Recovery cannot end before the deployment it recovers.
            recovered_at: recovered_at.map(|t| t.max(deployments[deployment].finished_at)),
            cause: FailureCause::Incident { incident },
        })
        .collect();
    failures.sort_by_key(|f| f.deployment);
    result.failures = failures;
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deployments::attribute;
    use crate::model::{Commit, DeploymentSource, Person};

    const HOUR: i64 = 3600;
    const DAY: i64 = 24 * HOUR;

    fn commit(id: &str, parent: Option<&str>) -> Commit {
        Commit {
            id: id.to_owned(),
            parents: parent.map(|p| vec![p.to_owned()]).unwrap_or_default(),
            author: Person { name: "a".into(), email: "a@x".into() },
            author_time: 0,
            author_offset_minutes: 0,
            committer_time: 0,
            subject: id.to_owned(),
            reverts: None,
        }
    }

    fn deployment(id: &str, service: &str, commit: &str, at: Instant) -> Deployment {
        Deployment {
            id: id.to_owned(),
            name: id.to_owned(),
            service: service.to_owned(),
            environment: "production".to_owned(),
            commit: commit.to_owned(),
            finished_at: at,
            source: DeploymentSource::Event,
            shipped: None,
        }
    }

    fn incident(id: &str, service: &str, started: Instant, resolved: Option<Instant>) -> Incident {
        Incident {
            id: id.to_owned(),
            service: service.to_owned(),
            started_at: started,
            resolved_at: resolved,
            deployment: None,
            commit: None,
            pull_request_commit: None,
        }
    }

    #[test]
    fn explicit_by_time_window_and_recovery() {
        let commits = vec![commit("c1", None), commit("c2", Some("c1")), commit("c3", Some("c2"))];
        let deployments = vec![
            deployment("d1", "api", "c1", DAY),
            deployment("d2", "api", "c2", 2 * DAY),
            deployment("d3", "api", "c3", 3 * DAY),
            deployment("w1", "web", "c3", 3 * DAY),
        ];
        let attribution = attribute(&commits, &deployments);
        let index = |id: &str| commits.iter().position(|c| c.id == id);
        let mut by_commit = incident("i-commit", "api", 10 * DAY, Some(10 * DAY + HOUR));
        by_commit.commit = Some("c2".into());
        let mut named = incident("i-named", "api", 2 * DAY + HOUR, None);
        named.deployment = Some("d1".into());
        let incidents = vec![
            // Starts 2 h after d2: linked by time to d2, resolved 5 h later, while d3 was not yet out.
            incident("i-time", "api", 2 * DAY + 2 * HOUR, Some(2 * DAY + 7 * HOUR)),
            // Names commit c2, which d2 shipped: explicit, and the later resolution wins.
            by_commit,
            // Names d1 and is still open.
            named,
            // Web incident 8 days after w1: outside the 7-day window, unlinked.
            incident("i-late", "web", 11 * DAY, Some(11 * DAY + HOUR)),
            // A service with no deployments.
            incident("i-none", "batch", DAY, None),
        ];
        let links = link(&incidents, &deployments, &attribution, &index, 7 * DAY);
        assert_eq!(links.linked[0], Some((1, Link::ByTime)));
        assert_eq!(links.linked[1], Some((1, Link::Explicit)));
        assert_eq!(links.linked[2], Some((0, Link::Explicit)));
        assert_eq!(links.linked[3], None);
        assert_eq!(links.linked[4], None);
        assert_eq!(links.failures.len(), 2);
        assert_eq!((links.failures[0].deployment, links.failures[0].recovered_at), (0, None));
        assert_eq!((links.failures[1].deployment, links.failures[1].recovered_at), (1, Some(10 * DAY + HOUR)));
        // No deployment finished while an incident was open: no rework.
        assert_eq!(links.rework, vec![false; 4]);
        assert_eq!(links.dangling_references, 0);
    }

    #[test]
    fn a_deployment_during_the_incident_is_rework_and_unknown_names_fall_back_to_time() {
        let commits = vec![commit("c1", None), commit("c2", Some("c1"))];
        let deployments = vec![deployment("d1", "api", "c1", DAY), deployment("d2", "api", "c2", DAY + 3 * HOUR)];
        let attribution = attribute(&commits, &deployments);
        let index = |id: &str| commits.iter().position(|c| c.id == id);
        let mut unknown = incident("i1", "api", DAY + HOUR, Some(DAY + 4 * HOUR));
        unknown.deployment = Some("no-such-deployment".into());
        let links = link(&[unknown], &deployments, &attribution, &index, 7 * DAY);
        assert_eq!(links.dangling_references, 1);
        assert_eq!(links.linked[0], Some((0, Link::ByTime)));
        assert_eq!(links.rework, vec![false, true]);
        assert_eq!(links.failures[0].recovered_at, Some(DAY + 4 * HOUR));
    }

    #[test]
    fn the_fix_is_the_last_deployment_of_the_group_finishing_while_the_incident_was_open() {
        let commits: Vec<Commit> = (0..7)
            .map(|i| {
                let parent = (i > 0).then(|| format!("c{}", i - 1));
                commit(&format!("c{i}"), parent.as_deref())
            })
            .collect();
        // Given out of finish order; d4 and d5 finish at the same second
        // (ties go by id: d5 is the later), d6 after the resolution, w1 of
        // another service inside the incident.
        let deployments = vec![
            deployment("d6", "api", "c6", DAY + 9 * HOUR),
            deployment("d2", "api", "c2", DAY + 2 * HOUR),
            deployment("d0", "api", "c0", DAY),
            deployment("d5", "api", "c5", DAY + 5 * HOUR),
            deployment("d4", "api", "c4", DAY + 5 * HOUR),
            deployment("w1", "web", "c3", DAY + 6 * HOUR),
        ];
        let attribution = attribute(&commits, &deployments);
        let index = |id: &str| commits.iter().position(|c| c.id == id);
        let open = |started: Instant, resolved: Instant| {
            let links = link(&[incident("i", "api", started, Some(resolved))], &deployments, &attribution, &index, DAY);
            (0..deployments.len()).filter(|&d| links.rework[d]).map(|d| deployments[d].id.as_str()).collect::<Vec<_>>()
        };
        // Open from d0's finish to after d5's: d5 (the later of the tie).
        assert_eq!(open(DAY + HOUR, DAY + 8 * HOUR), ["d5"]);
        // Resolved at d2's finish exactly: d2.
        assert_eq!(open(DAY + HOUR, DAY + 2 * HOUR), ["d2"]);
        // Resolved before any deployment of the group finished while open.
        assert_eq!(open(DAY + 3 * HOUR, DAY + 4 * HOUR), Vec::<&str>::new());
        // Started at a finish: that deployment was before the incident.
        assert_eq!(open(DAY + 5 * HOUR, DAY + 10 * HOUR), ["d6"]);
    }
}
