//! Which commits each deployment shipped (METRICS.md, "Commits in a
//! deployment"): git's `previous..current` for every deployment at once, in
//! one pass over the commit graph per service and environment.

use std::collections::BTreeMap;

use crate::model::{Commit, Deployment};

/// The commits each deployment shipped. Deployment indices refer to the
/// `deployments` slice given to [`attribute`], commit indices to its
/// `commits` slice.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Attribution {
    /// Per deployment (input order): indices of the commits it shipped, in
    /// ascending index order.
    pub shipped: Vec<Vec<usize>>,
    /// Per deployment: it is the baseline of its group, the first deployment
    /// derived from the graph with no earlier deployment before it. Its
    /// commits are the history before the data starts and do not count toward
    /// lead time.
    pub is_baseline: Vec<bool>,
    /// Deployments derived from the graph whose commit is not in `commits`
    /// (shallow clone, force-pushed tag): they ship nothing.
    pub unknown_commit: Vec<usize>,
    /// How many ids in explicit `shipped` lists are not in `commits` (skipped).
    pub unknown_shipped: usize,
    /// The (service, environment) groups, sorted by service then environment.
    pub groups: Vec<DeploymentGroup>,
    /// Per deployment: the index of its group in `groups`.
    pub group_of: Vec<usize>,
    /// Per deployment: its position in its group's finish order.
    position: Vec<usize>,
    /// `(commit, deployment)` for every shipped commit, sorted by commit, then
    /// by deployment finish order (time, then id).
    shipping: Vec<(usize, usize)>,
}

/// The deployments of one service to one environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentGroup {
    /// Service deployed.
    pub service: String,
    /// Environment deployed to.
    pub environment: String,
    /// Its deployments in finish order (time, then id).
    pub deployments: Vec<usize>,
}

/// Attributes commits to deployments.
///
/// Deployments are grouped by (service, environment) and each group is taken
/// in finish order (ties broken by id). A deployment derived from the graph
/// ships every commit reachable from its commit over all parents that no
/// earlier deployment of its group reached, so a change belongs to the
/// *earliest* deployment that ships it even when releases are not linear
/// (a patch tag on a maintenance branch). A deployment with an explicit
/// `shipped` list ships exactly the listed commits that are known (even one
/// an earlier deployment shipped) and is never a baseline; its commit's
/// history still counts as reached, so the next graph deployment ships
/// `explicit..next` as git would.
///
/// Parents missing from `commits` (shallow history) are skipped. Runs in
/// O(commits + parent edges) per group, iteratively (no recursion on long
/// histories).
pub fn attribute(commits: &[Commit], deployments: &[Deployment]) -> Attribution {
    let mut index: crate::model::IdMap<&str, usize> =
        crate::model::IdMap::with_capacity_and_hasher(commits.len(), Default::default());
    for (i, commit) in commits.iter().enumerate() {
        index.entry(commit.id.as_str()).or_insert(i);
    }
    attribute_indexed(commits, &index, deployments)
}

/// [`attribute`] with the commits' index already made: `index` maps each
/// commit id to its first position in `commits` (a caller that built the
/// commits keeps the map it deduplicated them with).
pub fn attribute_indexed(
    commits: &[Commit],
    index: &crate::model::IdMap<&str, usize>,
    deployments: &[Deployment],
) -> Attribution {
    let graph = CommitGraph::from_parents(
        commits.iter().map(|c| c.parents.iter().filter_map(|p| index.get(p.as_str()).copied())),
    );
    let targets: Vec<Target> = deployments
        .iter()
        .map(|d| Target {
            commit: index.get(d.commit.as_str()).copied(),
            listed: d.shipped.as_ref().map(|list| list.iter().map(|id| index.get(id).copied()).collect()),
        })
        .collect();
    attribute_graph(&graph, deployments, &targets)
}

/// A commit graph by index: the parents of commit `c` are
/// `parents[parent_start[c]..parent_start[c + 1]]`, first parent first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommitGraph {
    parent_start: Vec<usize>,
    parents: Vec<usize>,
}

impl CommitGraph {
    /// The graph of commits `0..n`, each given by its parents' indices
    /// (parents outside the history left out).
    pub fn from_parents<I, P>(commits: I) -> CommitGraph
    where
        I: IntoIterator<Item = P>,
        P: IntoIterator<Item = usize>,
    {
        let mut graph = CommitGraph { parent_start: vec![0], parents: Vec::new() };
        for parents in commits {
            graph.parents.extend(parents);
            graph.parent_start.push(graph.parents.len());
        }
        graph
    }

    /// Number of commits.
    pub fn len(&self) -> usize {
        self.parent_start.len() - 1
    }

    /// No commits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The parents of commit `c`.
    pub fn parents(&self, c: usize) -> &[usize] {
        &self.parents[self.parent_start[c]..self.parent_start[c + 1]]
    }
}

/// Where a deployment points in a [`CommitGraph`]: its commit's index
/// (`None` when the commit is not in the history) and, for a deployment
/// with an explicit `shipped` list, each listed commit's index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    /// The deployed commit.
    pub commit: Option<usize>,
    /// The explicit list (`None` entries: not in the history).
    pub listed: Option<Vec<Option<usize>>>,
}

/// [`attribute`] over a graph of indices: `targets[d]` says where
/// `deployments[d]` points. The same result as [`attribute`] on the commits
/// the graph was built from.
pub fn attribute_graph(graph: &CommitGraph, deployments: &[Deployment], targets: &[Target]) -> Attribution {
    let finish_key = |d: usize| (deployments[d].finished_at, deployments[d].id.as_str(), d);
    let mut by_group: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
    for (d, deployment) in deployments.iter().enumerate() {
        by_group.entry((&deployment.service, &deployment.environment)).or_default().push(d);
    }

    let mut result = Attribution {
        shipped: vec![Vec::new(); deployments.len()],
        is_baseline: vec![false; deployments.len()],
        group_of: vec![0; deployments.len()],
        position: vec![0; deployments.len()],
        ..Attribution::default()
    };
    // `reached[c] == stamp` when a deployment of the current group reached
    // commit c; a fresh stamp per group avoids clearing the array.
    let mut reached = vec![0u32; graph.len()];
    let mut stack = Vec::new();
    for (g, ((service, environment), mut members)) in by_group.into_iter().enumerate() {
        // Events come in finish order, all but their ties: checked first (a
        // sort compared ids on every step).
        if !members.is_sorted_by_key(|&d| finish_key(d)) {
            members.sort_by_key(|&d| finish_key(d));
        }
        let stamp = u32::try_from(g + 1).expect("fewer than 2^32 deployment groups");
        let mut group_reached_any = false;
        for (position, &d) in members.iter().enumerate() {
            result.group_of[d] = g;
            result.position[d] = position;
            let start = targets[d].commit;
            let mut walked = Vec::new();
            if let Some(start) = start.filter(|&s| reached[s] != stamp) {
                reached[start] = stamp;
                stack.push(start);
                while let Some(c) = stack.pop() {
                    walked.push(c);
                    for &p in graph.parents(c) {
                        if reached[p] != stamp {
                            reached[p] = stamp;
                            stack.push(p);
                        }
                    }
                }
            }
            let shipped = match &targets[d].listed {
                Some(list) => {
                    let mut listed = Vec::with_capacity(list.len());
                    for id in list {
                        match *id {
                            Some(c) => {
                                reached[c] = stamp;
                                listed.push(c);
                            }
                            None => result.unknown_shipped += 1,
                        }
                    }
                    group_reached_any |= start.is_some() || !listed.is_empty();
                    listed
                }
                None if start.is_none() => {
                    result.unknown_commit.push(d);
                    Vec::new()
                }
                None => {
                    result.is_baseline[d] = !group_reached_any;
                    group_reached_any = true;
                    walked
                }
            };
            let mut shipped = shipped;
            shipped.sort_unstable();
            shipped.dedup();
            result.shipped[d] = shipped;
        }
        result.groups.push(DeploymentGroup {
            service: service.to_string(),
            environment: environment.to_string(),
            deployments: members,
        });
    }

    let mut order: Vec<usize> = (0..deployments.len()).collect();
    if !order.is_sorted_by_key(|&d| finish_key(d)) {
        order.sort_by_key(|&d| finish_key(d));
    }
    // Sorted by commit, then rank: a counting sort over the commits (the
    // pairs number about the commits; a comparison sort was a tenth of a
    // long history's report).
    let mut start = vec![0usize; graph.len() + 1];
    for shipped in &result.shipped {
        for &c in shipped {
            start[c + 1] += 1;
        }
    }
    for c in 0..graph.len() {
        start[c + 1] += start[c];
    }
    result.shipping = vec![(0, 0); start[graph.len()]];
    for &d in &order {
        for &c in &result.shipped[d] {
            result.shipping[start[c]] = (c, d);
            start[c] += 1;
        }
    }
    result
}

impl Attribution {
    /// The attribution seen through part of the history: `keep` lists the
    /// commit indices kept, ascending, and commit `keep[i]` becomes commit
    /// `i`. Shipped lists keep their kept commits; groups, baselines and
    /// unknown counts are those of the whole history. A report reading only
    /// the commits its window needs attributes the whole graph and then
    /// keeps those.
    pub fn restrict(mut self, keep: &[usize]) -> Attribution {
        debug_assert!(keep.windows(2).all(|w| w[0] < w[1]), "keep is ascending");
        let mut new_index = vec![u32::MAX; keep.last().map_or(0, |&c| c + 1)];
        for (i, &c) in keep.iter().enumerate() {
            new_index[c] = u32::try_from(i).expect("fewer than 2^32 commits");
        }
        let map = |c: usize| new_index.get(c).copied().filter(|&i| i != u32::MAX).map(|i| i as usize);
        for shipped in &mut self.shipped {
            // Ascending stays ascending: the map keeps the order.
            *shipped = shipped.iter().filter_map(|&c| map(c)).collect();
        }
        self.shipping = self.shipping.iter().filter_map(|&(c, d)| Some((map(c)?, d))).collect();
        self
    }

    /// The deployments that ship commit `commit`, earliest finish first,
    /// across all groups.
    pub fn deployments_shipping(&self, commit: usize) -> impl Iterator<Item = usize> + '_ {
        let from = self.shipping.partition_point(|&(c, _)| c < commit);
        self.shipping[from..].iter().take_while(move |&&(c, _)| c == commit).map(|&(_, d)| d)
    }

    /// The earliest-finishing deployment, of any group, that ships `commit`.
    pub fn first_shipping(&self, commit: usize) -> Option<usize> {
        self.deployments_shipping(commit).next()
    }

    /// The earliest deployment of group `group` that ships `commit`.
    pub fn shipping_in_group(&self, commit: usize, group: usize) -> Option<usize> {
        self.deployments_shipping(commit).find(|&d| self.group_of[d] == group)
    }

    /// The deployment of the same group that finished just before
    /// `deployment`; `None` for the first of its group.
    pub fn previous_in_group(&self, deployment: usize) -> Option<usize> {
        let position = self.position[deployment].checked_sub(1)?;
        Some(self.groups[self.group_of[deployment]].deployments[position])
    }

    /// The position of `deployment` in its group's finish order (0 = first).
    pub fn position_in_group(&self, deployment: usize) -> usize {
        self.position[deployment]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{commit, deployment};

    const DAY: i64 = 86_400;

    /// Runs `attribute` and compares, per deployment name, the shipped commit
    /// ids and the baseline flag (`*` after the name marks a baseline).
    fn check(commits: &[Commit], deployments: &[Deployment], expected: &[(&str, &[&str])]) {
        let attribution = attribute(commits, deployments);
        let actual: Vec<(String, Vec<&str>)> = deployments
            .iter()
            .enumerate()
            .map(|(d, deployment)| {
                let baseline = if attribution.is_baseline[d] { "*" } else { "" };
                let ids = attribution.shipped[d].iter().map(|&c| commits[c].id.as_str()).collect();
                (format!("{}{baseline}", deployment.name), ids)
            })
            .collect();
        let expected: Vec<(String, Vec<&str>)> =
            expected.iter().map(|(name, ids)| (name.to_string(), ids.to_vec())).collect();
        assert_eq!(actual, expected);
    }

    /// c1 ← c2 ← … a straight line of `n` commits, one a day.
    fn line(n: usize) -> Vec<Commit> {
        (1..=n)
            .map(|i| {
                let id = format!("c{i}");
                let parent = format!("c{}", i - 1);
                let parents: &[&str] = if i == 1 { &[] } else { &[parent.as_str()] };
                commit(&id, parents, i as i64 * DAY)
            })
            .collect()
    }

    #[test]
    fn linear_history_with_three_tags() {
        // Given out of order: the result stays in input order.
        let deployments =
            [deployment("v3", "c6", 7 * DAY), deployment("v1", "c2", 3 * DAY), deployment("v2", "c4", 5 * DAY)];
        check(&line(6), &deployments, &[("v3", &["c5", "c6"]), ("v1*", &["c1", "c2"]), ("v2", &["c3", "c4"])]);
        let attribution = attribute(&line(6), &deployments);
        assert_eq!(attribution.groups[0].deployments, vec![1, 2, 0]);
        assert_eq!(attribution.previous_in_group(0), Some(2));
        assert_eq!(attribution.previous_in_group(1), None);
        assert_eq!(attribution.first_shipping(2), Some(2)); // c3 → v2
    }

    #[test]
    fn restricted_attribution_answers_as_the_whole() {
        let commits = line(8);
        let deployments =
            [deployment("v1", "c2", 3 * DAY), deployment("v2", "c5", 6 * DAY), deployment("v3", "c8", 9 * DAY)];
        let whole = attribute(&commits, &deployments);
        // Keep c4, c6 and c8 (indices 3, 5, 7): they become 0, 1, 2.
        let part = whole.clone().restrict(&[3, 5, 7]);
        assert_eq!(part.shipped, vec![vec![], vec![0], vec![1, 2]]);
        assert_eq!(part.is_baseline, whole.is_baseline);
        assert_eq!(part.groups, whole.groups);
        for (new, old) in [3, 5, 7].into_iter().enumerate() {
            assert_eq!(part.first_shipping(new), whole.first_shipping(old));
            assert_eq!(
                part.deployments_shipping(new).collect::<Vec<_>>(),
                whole.deployments_shipping(old).collect::<Vec<_>>()
            );
        }
        assert_eq!(part.previous_in_group(2), Some(1));
        assert_eq!(whole.clone().restrict(&[]).shipped, vec![Vec::<usize>::new(); 3]);
    }

    #[test]
    fn merge_brings_in_the_side_branch() {
        // c1 ← c2 ← m, c1 ← s1 ← s2 ← m.
        let commits = [
            commit("c1", &[], DAY),
            commit("c2", &["c1"], 2 * DAY),
            commit("s1", &["c1"], 2 * DAY),
            commit("s2", &["s1"], 3 * DAY),
            commit("m", &["c2", "s2"], 4 * DAY),
        ];
        let deployments = [deployment("v1", "c1", DAY), deployment("v2", "m", 5 * DAY)];
        check(&commits, &deployments, &[("v1*", &["c1"]), ("v2", &["c2", "s1", "s2", "m"])]);
    }

    #[test]
    fn maintenance_patch_belongs_to_the_earliest_deployment() {
        // main: c1 ← c2 (v1.0) ← c3 ← c4 (v2.0) ← c5 (v2.1, merges p1)
        // maintenance: c2 ← p1 (v1.0.1, tagged after v2.0)
        let commits = [
            commit("c1", &[], DAY),
            commit("c2", &["c1"], 2 * DAY),
            commit("c3", &["c2"], 3 * DAY),
            commit("c4", &["c3"], 4 * DAY),
            commit("p1", &["c2"], 5 * DAY),
            commit("c5", &["c4", "p1"], 6 * DAY),
        ];
        let deployments = [
            deployment("v2.1", "c5", 7 * DAY),
            deployment("v1.0.1", "p1", 5 * DAY),
            deployment("v2.0", "c4", 4 * DAY),
            deployment("v1.0", "c2", 2 * DAY),
        ];
        check(
            &commits,
            &deployments,
            &[("v2.1", &["c5"]), ("v1.0.1", &["p1"]), ("v2.0", &["c3", "c4"]), ("v1.0*", &["c1", "c2"])],
        );
    }

    #[test]
    fn explicit_lists_are_taken_as_given() {
        let commits = line(5);
        let mut event = deployment("e1", "c4", 3 * DAY);
        // c2 was already shipped by v1 but is listed: kept; `zz` is unknown.
        event.shipped = Some(["c4", "c2", "zz"].into_iter().collect());
        let deployments = [
            deployment("v1", "c2", 2 * DAY),
            event,
            // e1 reached c3 through its commit's history, so v3 ships c5 only.
            deployment("v3", "c5", 6 * DAY),
        ];
        check(&commits, &deployments, &[("v1*", &["c1", "c2"]), ("e1", &["c2", "c4"]), ("v3", &["c5"])]);
        let attribution = attribute(&commits, &deployments);
        assert_eq!(attribution.unknown_shipped, 1);
        // c2 is shipped twice; the earliest counts.
        assert_eq!(attribution.deployments_shipping(1).collect::<Vec<_>>(), vec![0, 1]);
    }

    #[test]
    fn an_explicit_first_deployment_is_no_baseline() {
        let commits = line(3);
        let mut event = deployment("e1", "c1", DAY);
        event.shipped = Some(["c1"].into_iter().collect());
        let deployments = [event, deployment("v2", "c3", 3 * DAY)];
        check(&commits, &deployments, &[("e1", &["c1"]), ("v2", &["c2", "c3"])]);
    }

    #[test]
    fn groups_are_independent_and_unknown_commits_ship_nothing() {
        let commits = line(4);
        let mut staging = deployment("s1", "c3", 2 * DAY);
        staging.environment = "staging".into();
        let deployments = [
            deployment("gone", "deadbeef", DAY),
            deployment("v1", "c2", 2 * DAY),
            staging,
            deployment("v2", "c4", 4 * DAY),
            // Redeploying an already shipped commit ships nothing new.
            deployment("v2-again", "c4", 5 * DAY),
        ];
        check(
            &commits,
            &deployments,
            &[
                ("gone", &[]),
                ("v1*", &["c1", "c2"]),
                ("s1*", &["c1", "c2", "c3"]),
                ("v2", &["c3", "c4"]),
                ("v2-again", &[]),
            ],
        );
        let attribution = attribute(&commits, &deployments);
        assert_eq!(attribution.unknown_commit, vec![0]);
        assert_eq!(attribution.groups.len(), 2);
        // c3: staging s1 (day 2) first, then production v2 (day 4).
        assert_eq!(attribution.deployments_shipping(2).collect::<Vec<_>>(), vec![2, 3]);
        assert_eq!(attribution.shipping_in_group(2, attribution.group_of[3]), Some(3));
    }

    #[test]
    fn missing_parents_are_skipped() {
        // Shallow history: c2's parent c1 is absent.
        let commits = [commit("c2", &["c1"], 2 * DAY), commit("c3", &["c2"], 3 * DAY)];
        let deployments = [deployment("v1", "c3", 3 * DAY)];
        check(&commits, &deployments, &[("v1*", &["c2", "c3"])]);
    }

    #[test]
    fn long_chains_do_not_overflow_the_stack() {
        let commits = line(200_000);
        let deployments = [deployment("v1", "c100000", DAY), deployment("v2", "c200000", 2 * DAY)];
        let attribution = attribute(&commits, &deployments);
        assert_eq!(attribution.shipped[0].len(), 100_000);
        assert_eq!(attribution.shipped[1].len(), 100_000);
        assert_eq!(attribution.shipped[1][0], 100_000);
    }
}
