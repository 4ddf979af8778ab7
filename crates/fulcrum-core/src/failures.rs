//! Failed deployments inferred from git alone (METRICS.md, Change failure
//! rate, recovery time and rework rate in git-only mode): a later commit
//! reverts one of a deployment's commits, or a hotfix follows it. Reports
//! label these failures "inferred".

use std::collections::HashMap;

use serde::Serialize;

use crate::deployments::Attribution;
use crate::model::Commit;

/// A deployment that failed, and the deployment that recovered from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// Index of the failed deployment.
    pub deployment: usize,
    /// Index of the deployment that shipped the fix; `None` while the fix is
    /// not deployed.
    pub recovered_by: Option<usize>,
    /// When recovery is known as a time rather than a deployment (an
    /// incident's resolution); `None` with `recovered_by` also `None` means
    /// not recovered yet.
    pub recovered_at: Option<crate::model::Instant>,
    /// The evidence.
    pub cause: FailureCause,
}

/// Why a deployment is considered failed. Indices point into `commits`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FailureCause {
    /// `commit` reverts `reverted`, which the failed deployment shipped.
    Revert {
        /// The reverting commit.
        commit: usize,
        /// The commit it reverts.
        reverted: usize,
    },
    /// `commit` is a hotfix shipped by the deployment after the failed one.
    Hotfix {
        /// The hotfix commit.
        commit: usize,
    },
    /// An incident (index into the incidents given to
    /// [`crate::incidents::link`]) is linked to the deployment.
    Incident {
        /// The incident.
        incident: usize,
    },
    /// A quick patch release of the same line followed it (see
    /// [`patch_releases`]): likely, not certain.
    PatchRelease {
        /// Index of the patch release's deployment.
        release: usize,
    },
}

impl FailureCause {
    /// The fixing commit (the revert or the hotfix); `None` for incidents.
    pub fn commit(&self) -> Option<usize> {
        match *self {
            FailureCause::Revert { commit, .. } | FailureCause::Hotfix { commit } => Some(commit),
            FailureCause::Incident { .. } | FailureCause::PatchRelease { .. } => None,
        }
    }
}

/// A release version `(major, minor, patch)` read from a tag name: `1.2.3`,
/// `v1.2.3`, `1.2` (patch 0); `None` for anything else (pre-release
/// suffixes included).
pub fn parse_version(name: &str) -> Option<(u64, u64, u64)> {
    let text = name.strip_prefix('v').unwrap_or(name);
    let mut parts = text.split('.');
    let number =
        |part: Option<&str>| part.filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))?.parse().ok();
    let major = number(parts.next())?;
    let minor = number(parts.next())?;
    let patch = match parts.next() {
        Some(part) => number(Some(part))?,
        None => 0,
    };
    parts.next().is_none().then_some((major, minor, patch))
}

/// Quick patch releases: a release `a.b.c` (c > 0) that finished within
/// `window` seconds after the latest earlier release of the same `a.b`
/// line with a lower patch number marks that release as a likely failure,
/// recovered by the patch. `versions[i]` is deployment `i`'s version.
/// Returns `(failed, patch)` pairs, at most one per failed deployment (the
/// earliest patch), ordered by the failed deployment.
pub fn patch_releases(
    deployments: &[crate::model::Deployment],
    versions: &[Option<(u64, u64, u64)>],
    window: i64,
) -> Vec<(usize, usize)> {
    let mut order: Vec<usize> = (0..deployments.len()).filter(|&d| versions[d].is_some()).collect();
    order.sort_by_key(|&d| (deployments[d].finished_at, versions[d]));
    let mut pairs: HashMap<usize, usize> = HashMap::new();
    for (position, &fix) in order.iter().enumerate() {
        let Some((major, minor, patch)) = versions[fix] else { continue };
        if patch == 0 {
            continue;
        }
        let patched = order[..position]
            .iter()
            .rev()
            .copied()
            .find(|&d| versions[d].is_some_and(|(a, b, c)| a == major && b == minor && c < patch));
        if let Some(failed) = patched
            && deployments[fix].finished_at - deployments[failed].finished_at <= window
        {
            pairs.entry(failed).or_insert(fix);
        }
    }
    let mut pairs: Vec<(usize, usize)> = pairs.into_iter().collect();
    pairs.sort_unstable();
    pairs
}

/// What [`infer`] found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Inference {
    /// At most one failure per deployment, ordered by deployment index.
    pub failures: Vec<Failure>,
    /// Per deployment: it is rework, an unplanned deployment that ships a
    /// revert or hotfix fixing an earlier deployment of its group.
    pub rework: Vec<bool>,
}

/// Infers failed deployments from reverts and hotfixes, group by group
/// (service, environment) as [`Attribution`] formed them.
///
/// - **Revert**: commit R reverts commit S (exact id match). In each group,
///   the earliest deployment D shipping S failed, fixed by the earliest
///   deployment F of the group shipping R. When F is D the change was
///   reverted before release: no failure. When R is not deployed yet, D
///   failed and is unrecovered. When S is unknown or never shipped, nothing
///   is inferred. (A revert of a commit that only ever lived on an unmerged
///   branch is still counted if S shipped, since R exists in the history we
///   were given.)
/// - **Hotfix**: a commit H with `is_hotfix(H)` first shipped by deployment F
///   marks the deployment just before F in its group as failed, recovered by
///   F. A hotfix in the first deployment of a group blames nothing.
///
/// A deployment fails at most once: of several candidates the one with the
/// earliest recovery wins (unrecovered last, then lowest fixing commit
/// index). Rework: a deployment is rework when it is the fix of any candidate
/// (whether or not that candidate was the one kept), so a revert shipped with
/// the very change it reverts, or a hotfix in a group's first deployment, is
/// not rework: it fixed nothing users had received.
pub fn infer(commits: &[Commit], attribution: &Attribution, is_hotfix: &dyn Fn(&Commit) -> bool) -> Inference {
    // Only the reverted commits need finding: index those (few), not the history.
    let named: std::collections::HashSet<&str> = commits.iter().filter_map(|c| c.reverts.as_deref()).collect();
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(named.len());
    if !named.is_empty() {
        for (i, commit) in commits.iter().enumerate() {
            if named.contains(commit.id.as_str()) {
                index.entry(commit.id.as_str()).or_insert(i);
            }
        }
    }
    let mut rework = vec![false; attribution.shipped.len()];
    let mut candidates = Vec::new();
    for (c, commit) in commits.iter().enumerate() {
        if let Some(&reverted) = commit.reverts.as_deref().and_then(|id| index.get(id)) {
            for failed in first_per_group(attribution, reverted) {
                let group = attribution.group_of[failed];
                let fix = attribution.shipping_in_group(c, group);
                match fix {
                    Some(fix) if fix == failed => continue,
                    // The revert shipped before the reverted commit: the data
                    // contradicts itself, infer nothing.
                    Some(fix) if attribution.position_in_group(fix) < attribution.position_in_group(failed) => {
                        continue;
                    }
                    Some(fix) => rework[fix] = true,
                    None => {}
                }
                candidates.push(Failure {
                    deployment: failed,
                    recovered_by: fix,
                    recovered_at: None,
                    cause: FailureCause::Revert { commit: c, reverted },
                });
            }
        }
        if is_hotfix(commit) {
            for fix in first_per_group(attribution, c) {
                if let Some(failed) = attribution.previous_in_group(fix) {
                    rework[fix] = true;
                    candidates.push(Failure {
                        deployment: failed,
                        recovered_by: Some(fix),
                        recovered_at: None,
                        cause: FailureCause::Hotfix { commit: c },
                    });
                }
            }
        }
    }
    candidates.sort_by_key(|failure| {
        let recovery = match failure.recovered_by {
            Some(fix) => (0, attribution.position_in_group(fix)),
            None => (1, 0),
        };
        (failure.deployment, recovery, failure.cause.commit())
    });
    candidates.dedup_by_key(|failure| failure.deployment);
    Inference { failures: candidates, rework }
}

/// The earliest deployment of each group that ships `commit`.
fn first_per_group(attribution: &Attribution, commit: usize) -> Vec<usize> {
    let mut seen_groups = Vec::new();
    let mut firsts = Vec::new();
    for d in attribution.deployments_shipping(commit) {
        let group = attribution.group_of[d];
        if !seen_groups.contains(&group) {
            seen_groups.push(group);
            firsts.push(d);
        }
    }
    firsts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deployments::attribute;
    use crate::model::Deployment;
    use crate::testing::{commit, deployment};

    const DAY: i64 = 86_400;

    fn reverting(id: &str, parent: &str, time: i64, reverted: &str) -> Commit {
        let mut revert = commit(id, &[parent], time);
        revert.reverts = Some(reverted.to_string());
        revert
    }

    fn hotfix(id: &str, parent: &str, time: i64) -> Commit {
        let mut fix = commit(id, &[parent], time);
        fix.subject = format!("hotfix: {id}");
        fix
    }

    /// Failures as `(failed, recovered_by, fixing commit)` names, and the
    /// names of rework deployments.
    fn check(
        commits: &[Commit],
        deployments: &[Deployment],
        expected_failures: &[(&str, Option<&str>, &str)],
        expected_rework: &[&str],
    ) {
        let attribution = attribute(commits, deployments);
        let is_hotfix = |c: &Commit| c.subject.starts_with("hotfix");
        let inference = infer(commits, &attribution, &is_hotfix);
        let name = |d: usize| deployments[d].name.as_str();
        let failures: Vec<_> = inference
            .failures
            .iter()
            .map(|f| (name(f.deployment), f.recovered_by.map(name), commits[f.cause.commit().unwrap()].id.as_str()))
            .collect();
        assert_eq!(failures, expected_failures);
        let rework: Vec<_> = (0..deployments.len()).filter(|&d| inference.rework[d]).map(name).collect();
        assert_eq!(rework, expected_rework);
    }

    #[test]
    fn revert_in_a_later_deployment_recovers() {
        let commits = [commit("c1", &[], DAY), commit("bad", &["c1"], 2 * DAY), reverting("r", "bad", 3 * DAY, "bad")];
        let deployments =
            [deployment("v1", "c1", DAY), deployment("v2", "bad", 2 * DAY), deployment("v3", "r", 3 * DAY)];
        check(&commits, &deployments, &[("v2", Some("v3"), "r")], &["v3"]);
        let attribution = attribute(&commits, &deployments);
        let inference = infer(&commits, &attribution, &|_| false);
        assert_eq!(inference.failures[0].cause, FailureCause::Revert { commit: 2, reverted: 1 });
    }

    #[test]
    fn revert_before_release_is_no_failure() {
        let commits = [commit("c1", &[], DAY), commit("bad", &["c1"], 2 * DAY), reverting("r", "bad", 3 * DAY, "bad")];
        let deployments = [deployment("v1", "c1", DAY), deployment("v2", "r", 3 * DAY)];
        check(&commits, &deployments, &[], &[]);
    }

    #[test]
    fn undeployed_revert_leaves_the_failure_unrecovered() {
        let commits = [commit("c1", &[], DAY), commit("bad", &["c1"], 2 * DAY), reverting("r", "bad", 3 * DAY, "bad")];
        let deployments = [deployment("v1", "c1", DAY), deployment("v2", "bad", 2 * DAY)];
        check(&commits, &deployments, &[("v2", None, "r")], &[]);
    }

    #[test]
    fn revert_of_an_unknown_commit_is_ignored() {
        let commits = [commit("c1", &[], DAY), reverting("r", "c1", 2 * DAY, "ffff")];
        let deployments = [deployment("v1", "c1", DAY), deployment("v2", "r", 2 * DAY)];
        check(&commits, &deployments, &[], &[]);
    }

    #[test]
    fn hotfix_fails_the_previous_deployment() {
        let commits = [commit("c1", &[], DAY), commit("c2", &["c1"], 2 * DAY), hotfix("h", "c2", 3 * DAY)];
        let deployments =
            [deployment("v1", "c1", DAY), deployment("v2", "c2", 2 * DAY), deployment("v3", "h", 3 * DAY)];
        check(&commits, &deployments, &[("v2", Some("v3"), "h")], &["v3"]);
    }

    #[test]
    fn hotfix_in_the_first_deployment_blames_nothing() {
        let commits = [commit("c1", &[], DAY), hotfix("h", "c1", 2 * DAY)];
        let deployments = [deployment("v1", "h", 2 * DAY)];
        check(&commits, &deployments, &[], &[]);
    }

    #[test]
    fn a_deployment_fails_once_with_its_earliest_fix() {
        // v2 ships bad1 and bad2; r2 (reverting bad2) is deployed by v4,
        // hotfix h by v3, r1 (reverting bad1) never: v3 is the recovery.
        let commits = [
            commit("c1", &[], DAY),
            commit("bad1", &["c1"], 2 * DAY),
            commit("bad2", &["bad1"], 2 * DAY),
            hotfix("h", "bad2", 3 * DAY),
            reverting("r2", "h", 4 * DAY, "bad2"),
            reverting("r1", "r2", 5 * DAY, "bad1"),
        ];
        let deployments = [
            deployment("v1", "c1", DAY),
            deployment("v2", "bad2", 2 * DAY),
            deployment("v3", "h", 3 * DAY),
            deployment("v4", "r2", 4 * DAY),
        ];
        check(&commits, &deployments, &[("v2", Some("v3"), "h")], &["v3", "v4"]);
    }

    #[test]
    fn versions_and_quick_patch_releases() {
        use crate::testing::deployment;
        assert_eq!(parse_version("v9.16.1"), Some((9, 16, 1)));
        assert_eq!(parse_version("1.2"), Some((1, 2, 0)));
        for not in ["v1.2.3-rc1", "1", "release-1.2", "1.2.3.4", "v1..2"] {
            assert_eq!(parse_version(not), None, "{not}");
        }
        const DAY: i64 = 86_400;
        let names = ["9.16.0", "9.16.1", "9.17.0", "8.37.1", "9.17.1", "9.17.2"];
        let at = [0, 3 * DAY, 20 * DAY, 21 * DAY, 40 * DAY, 41 * DAY];
        let deployments: Vec<_> = names.iter().zip(at).map(|(n, t)| deployment(n, "c", t)).collect();
        let versions: Vec<_> = names.iter().map(|n| parse_version(n)).collect();
        // 9.16.1 three days after 9.16.0: 9.16.0 likely failed. 8.37.1 has no
        // earlier 8.37 release here. 9.17.1 twenty days after 9.17.0: too
        // late. 9.17.2 one day after 9.17.1: 9.17.1 likely failed.
        assert_eq!(patch_releases(&deployments, &versions, 7 * DAY), vec![(0, 1), (4, 5)]);
        assert_eq!(patch_releases(&deployments, &versions, 30 * DAY), vec![(0, 1), (2, 4), (4, 5)]);
    }
}
