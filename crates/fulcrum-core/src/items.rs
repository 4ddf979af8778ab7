//! Work items (Jira issues, GitHub and GitLab issues, any tracker's items)
//! and the feature value stream: created → started → first commit → pull
//! request ready → merged → deployed → done, with the wait between each
//! step, over the items done in a window.
//!
//! An item's status history is a list of transitions, each in a category:
//! to do, in progress or done. It starts at its first move into progress (or
//! straight to done), and is done at its last move into done when it ends
//! there. Time spent back in to-do after it started is waiting.

use serde::Serialize;

use crate::dora::Metric;
use crate::flow::PullRequest;
use crate::model::Instant;
use crate::stats::{Average, Summary, summarize};
use crate::time::Window;

/// A status category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Not started (backlog, open, to do).
    Todo,
    /// Being worked on (in progress, in review, blocked in progress).
    InProgress,
    /// Finished (done, closed, resolved).
    Done,
}

impl Category {
    /// The category named `name` (`todo`, `in_progress`, `done`, with the
    /// usual spellings).
    pub fn parse(name: &str) -> Option<Category> {
        match name.trim().to_lowercase().replace(['-', ' '], "_").as_str() {
            "todo" | "to_do" | "new" => Some(Category::Todo),
            "in_progress" | "indeterminate" | "doing" => Some(Category::InProgress),
            "done" | "complete" | "completed" => Some(Category::Done),
            _ => None,
        }
    }
}

/// A move of an item into a status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// When.
    pub at: Instant,
    /// The status's name as the tracker says it.
    pub status: String,
    /// Its category.
    pub category: Category,
}

/// A work item.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkItem {
    /// The tracker's key (`SHOP-12`, `acme/shop#40`).
    pub key: String,
    /// Its title.
    pub title: Option<String>,
    /// Story, bug, task, …
    pub kind: Option<String>,
    /// When it was created.
    pub created_at: Instant,
    /// Status moves, in time order.
    pub transitions: Vec<Transition>,
    /// Pull requests it names (`owner/name#number`).
    pub links: Vec<String>,
    /// Its estimate (story points), when the tracker has one.
    pub points: Option<f64>,
    /// The last sprint it was in, when the tracker says.
    pub sprint: Option<String>,
}

impl WorkItem {
    /// Its first move into progress, or straight to done.
    pub fn started_at(&self) -> Option<Instant> {
        self.transitions.iter().find(|t| t.category != Category::Todo).map(|t| t.at)
    }

    /// Its last move into done, when it ends done.
    pub fn done_at(&self) -> Option<Instant> {
        match self.transitions.last() {
            Some(last) if last.category == Category::Done => {
                let mut at = last.at;
                for t in self.transitions.iter().rev() {
                    if t.category != Category::Done {
                        break;
                    }
                    at = t.at;
                }
                Some(at)
            }
            _ => None,
        }
    }

    /// Seconds spent back in to-do after it started, up to `until`.
    pub fn waiting(&self, until: Instant) -> i64 {
        let Some(started) = self.started_at() else { return 0 };
        let mut total = 0;
        let mut since: Option<Instant> = None;
        for t in self.transitions.iter().filter(|t| t.at >= started) {
            match (t.category, since) {
                (Category::Todo, None) => since = Some(t.at),
                (Category::Todo, Some(_)) => {}
                (_, Some(from)) => {
                    total += (t.at - from).max(0);
                    since = None;
                }
                (_, None) => {}
            }
        }
        if let Some(from) = since {
            total += (until - from).max(0);
        }
        total
    }
}

/// Whether `key` appears in `text` as a whole word (not inside a longer key:
/// `SHOP-12` is not in `SHOP-123`).
pub fn names(text: &str, key: &str) -> bool {
    let key_upper = key.to_uppercase();
    let upper = text.to_uppercase();
    let bytes = upper.as_bytes();
    let mut from = 0;
    while let Some(found) = upper[from..].find(&key_upper) {
        let start = from + found;
        let end = start + key_upper.len();
        let before = start.checked_sub(1).map(|i| bytes[i]);
        let word = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !word(before) && ends_key(bytes, end) {
            return true;
        }
        from = start + 1;
    }
    false
}

/// Whether a key ending at `end` of `bytes` ends there: nothing
/// alphanumeric follows, and a `-` or `_` after it (a branch name,
/// `SHOP-12-gift-cards`) is not followed by a digit (`SHOP-12-3`).
fn ends_key(bytes: &[u8], end: usize) -> bool {
    match bytes.get(end) {
        None => true,
        Some(b) if b.is_ascii_alphanumeric() => false,
        Some(b'-' | b'_') => !bytes.get(end + 1).is_some_and(u8::is_ascii_digit),
        Some(_) => true,
    }
}

/// Keys shaped like the stored items' (`PREFIX-N` for a prefix some item's
/// key has) that `texts` name but no stored item has, upper-cased: an item
/// not synced yet, outside the source's JQL, or a typo.
pub fn unknown_keys<'a>(texts: impl IntoIterator<Item = &'a str>, keys: &[&str]) -> std::collections::BTreeSet<String> {
    let known: std::collections::HashSet<String> = keys.iter().map(|k| k.to_uppercase()).collect();
    let prefixes: std::collections::BTreeSet<String> = known
        .iter()
        .filter_map(|k| k.rsplit_once('-'))
        .filter(|(prefix, number)| !prefix.is_empty() && number.bytes().all(|b| b.is_ascii_digit()))
        .map(|(prefix, _)| format!("{prefix}-"))
        .collect();
    let mut unknown = std::collections::BTreeSet::new();
    for text in texts {
        let upper = text.to_uppercase();
        let bytes = upper.as_bytes();
        for prefix in &prefixes {
            for (start, _) in upper.match_indices(prefix.as_str()) {
                let before = start.checked_sub(1).map(|i| bytes[i]);
                if before.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
                    continue;
                }
                let digits = bytes[start + prefix.len()..].iter().take_while(|b| b.is_ascii_digit()).count();
                let end = start + prefix.len() + digits;
                if digits > 0 && ends_key(bytes, end) && !known.contains(&upper[start..end]) {
                    unknown.insert(upper[start..end].to_owned());
                }
            }
        }
    }
    unknown
}

/// Whether `text` mentions `#number` (not `#12` inside `#123`).
fn mentions_number(text: &str, number: &str) -> bool {
    let wanted = format!("#{number}");
    text.match_indices(&wanted).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + wanted.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '/') && !after.is_some_and(|c| c.is_ascii_digit())
    })
}

/// The pull requests (indexes into `prs`) each item is linked to: those it
/// names in `links`; those whose text (title and description, from
/// `texts`, by index) names its key (`SHOP-12`); and, for an issue keyed
/// `owner/name#12`, those of the same repository whose text says `#12`
/// (`fixes #12`).
pub fn link(items: &[WorkItem], prs: &[PullRequest], texts: &[Option<String>]) -> Vec<Vec<usize>> {
    items
        .iter()
        .map(|item| {
            let issue = item.key.rsplit_once('#').filter(|(repo, n)| !repo.is_empty() && n.parse::<u64>().is_ok());
            let mut linked: Vec<usize> = prs
                .iter()
                .enumerate()
                .filter(|(i, pr)| {
                    let text = texts.get(*i).and_then(Option::as_deref);
                    item.links.iter().any(|l| {
                        l.rsplit_once('#').is_some_and(|(repo, n)| {
                            repo.eq_ignore_ascii_case(&pr.repo) && n.parse::<u64>().ok() == Some(pr.number)
                        })
                    }) || match issue {
                        Some((repo, number)) => {
                            repo.eq_ignore_ascii_case(&pr.repo) && text.is_some_and(|t| mentions_number(t, number))
                        }
                        None => text.is_some_and(|t| names(t, &item.key)),
                    }
                })
                .map(|(i, _)| i)
                .collect();
            linked.sort_unstable();
            linked
        })
        .collect()
}

/// One done item's steps (seconds; `None` where a step cannot be measured).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemRow {
    /// The item's key.
    pub key: String,
    /// Its title.
    pub title: Option<String>,
    /// Created.
    pub created_at: Instant,
    /// Started.
    pub started_at: Option<Instant>,
    /// The first commit of its pull requests.
    pub first_commit_at: Option<Instant>,
    /// The first of its pull requests ready for review.
    pub ready_at: Option<Instant>,
    /// The last of its pull requests merged.
    pub merged_at: Option<Instant>,
    /// When the last of its merged pull requests was deployed.
    pub deployed_at: Option<Instant>,
    /// Done.
    pub done_at: Instant,
    /// Linked pull requests (`owner/name#number`).
    pub pull_requests: Vec<String>,
    /// Created → started.
    pub backlog: Option<i64>,
    /// Started → first commit (negative when coding began before the item moved: dropped from the summary).
    pub to_first_commit: Option<i64>,
    /// First commit → first pull request ready.
    pub to_ready: Option<i64>,
    /// Ready → last merge.
    pub to_merged: Option<i64>,
    /// Last merge → its deployment.
    pub to_deployed: Option<i64>,
    /// Started → done.
    pub cycle: Option<i64>,
    /// Back in to-do after it started.
    pub waiting: i64,
    /// Its estimate (story points), when the tracker has one.
    pub points: Option<f64>,
    /// The last sprint it was in.
    pub sprint: Option<String>,
}

/// A step of the stream over the window's done items.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// `backlog`, `to_first_commit`, `to_ready`, `to_merged`, `to_deployed`, `cycle`, `waiting`.
    pub step: &'static str,
    /// Seconds, over the items where it could be measured.
    pub summary: Metric<Summary>,
}

/// The feature value stream of a window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemStream {
    /// Items stored in the scope.
    pub items: usize,
    /// Items done in the window.
    pub done: usize,
    /// Done items with no linked pull request.
    pub without_pull_requests: usize,
    /// Items in progress at the end of the window.
    pub in_progress: usize,
    /// Story points of the items done in the window (`None` when none of
    /// them has an estimate).
    pub points_done: Option<f64>,
    /// Each step.
    pub steps: Vec<Step>,
    /// One row per done item, by done time.
    pub rows: Vec<ItemRow>,
}

/// The stream over `window`: every item done in it, its steps through its
/// linked pull requests (`links`, from [`link`]) and their deployment
/// (`deployed_at` of a merge commit).
pub fn stream(
    items: &[WorkItem],
    links: &[Vec<usize>],
    prs: &[PullRequest],
    deployed_at: &dyn Fn(&str) -> Option<Instant>,
    window: Window,
    average: Average,
) -> ItemStream {
    let mut rows = Vec::new();
    for (item, linked) in items.iter().zip(links) {
        let Some(done_at) = item.done_at() else { continue };
        if !window.contains(done_at) {
            continue;
        }
        let started_at = item.started_at();
        let linked: Vec<&PullRequest> = linked.iter().filter_map(|&i| prs.get(i)).collect();
        let first_commit_at = linked.iter().flat_map(|pr| pr.commits.iter().map(|c| c.authored_at)).min();
        let ready_at = linked.iter().map(|pr| pr.ready_at.unwrap_or(pr.created_at)).min();
        let merged: Vec<&&PullRequest> = linked.iter().filter(|pr| pr.merged_at.is_some()).collect();
        let merged_at = merged.iter().filter_map(|pr| pr.merged_at).max();
        let deployed_at = if merged.is_empty() {
            None
        } else {
            merged
                .iter()
                .map(|pr| pr.merge_commit.as_deref().and_then(deployed_at))
                .collect::<Option<Vec<Instant>>>()
                .and_then(|all| all.into_iter().max())
        };
        let span = |from: Option<Instant>, to: Option<Instant>| Some(to? - from?);
        rows.push(ItemRow {
            key: item.key.clone(),
            title: item.title.clone(),
            created_at: item.created_at,
            started_at,
            first_commit_at,
            ready_at,
            merged_at,
            deployed_at,
            done_at,
            pull_requests: linked.iter().map(|pr| format!("{}#{}", pr.repo, pr.number)).collect(),
            backlog: span(Some(item.created_at), started_at),
            to_first_commit: span(started_at, first_commit_at),
            to_ready: span(first_commit_at, ready_at),
            to_merged: span(ready_at, merged_at),
            to_deployed: span(merged_at, deployed_at),
            cycle: span(started_at, Some(done_at)),
            waiting: item.waiting(done_at),
            points: item.points,
            sprint: item.sprint.clone(),
        });
    }
    rows.sort_by(|a, b| (a.done_at, &a.key).cmp(&(b.done_at, &b.key)));
    type Get = fn(&ItemRow) -> Option<i64>;
    let getters: [(&'static str, Get); 7] = [
        ("backlog", |r| r.backlog),
        ("to_first_commit", |r| r.to_first_commit),
        ("to_ready", |r| r.to_ready),
        ("to_merged", |r| r.to_merged),
        ("to_deployed", |r| r.to_deployed),
        ("cycle", |r| r.cycle),
        ("waiting", |r| Some(r.waiting)),
    ];
    let steps = getters
        .iter()
        .map(|(step, get)| {
            let values: Vec<f64> = rows.iter().filter_map(get).filter(|v| *v >= 0).map(|v| v as f64).collect();
            let summary = match summarize(&values, average) {
                Some(summary) => Metric::Value(summary),
                None if rows.is_empty() => Metric::NoData { reason: "no work item done in the window".into() },
                None => Metric::NoData {
                    reason: "no done item of the window has this step (no linked pull request, or not deployed)".into(),
                },
            };
            Step { step, summary }
        })
        .collect();
    let in_progress = items
        .iter()
        .filter(|item| {
            let moves: Vec<&Transition> = item.transitions.iter().filter(|t| t.at < window.end).collect();
            moves.last().is_some_and(|t| t.category == Category::InProgress)
        })
        .count();
    let estimated: Vec<f64> = rows.iter().filter_map(|r| r.points).collect();
    ItemStream {
        items: items.len(),
        done: rows.len(),
        without_pull_requests: rows.iter().filter(|r| r.pull_requests.is_empty()).count(),
        in_progress,
        points_done: (!estimated.is_empty()).then(|| estimated.iter().sum()),
        steps,
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::PrCommit;

    const H: i64 = 3600;

    fn moves(list: &[(i64, Category)]) -> Vec<Transition> {
        list.iter().map(|(at, c)| Transition { at: *at, status: format!("{c:?}"), category: *c }).collect()
    }

    fn pr(number: u64, commit: i64, created: i64, merged: Option<i64>) -> PullRequest {
        PullRequest {
            id: format!("import:pr:acme/shop#{number}"),
            repo: "acme/shop".into(),
            number,
            author: "ann".into(),
            created_at: created,
            ready_at: None,
            draft: false,
            merged_at: merged,
            closed_at: merged,
            merge_commit: merged.map(|_| format!("m{number}")),
            additions: 1,
            deletions: 0,
            size_unknown: false,
            commits: vec![PrCommit { sha: format!("c{number}"), author: "ann".into(), authored_at: commit }],
            activities: Vec::new(),
            updated_at: None,
        }
    }

    #[test]
    fn keys_in_branch_names_and_keys_of_no_item() {
        assert!(names("feature/SHOP-9-gift-cards", "SHOP-9"));
        assert!(names("SHOP-9_gift", "shop-9"));
        assert!(!names("SHOP-9-2", "SHOP-9"));
        assert!(!names("SHOP-90", "SHOP-9"));
        assert!(!names("XSHOP-9", "SHOP-9"));
        let unknown = unknown_keys(
            ["Fixes SHOP-9 and SHOP-12", "feature/SHOP-13-x", "ABC-1 is another tracker"],
            &["SHOP-9", "SHOP-10"],
        );
        assert_eq!(unknown.into_iter().collect::<Vec<_>>(), ["SHOP-12", "SHOP-13"]);
    }

    #[test]
    fn started_done_and_waiting_follow_the_moves() {
        use Category::*;
        let item = WorkItem {
            key: "SHOP-1".into(),
            title: None,
            kind: None,
            created_at: 0,
            // Started at 10 h, back to to-do 12–20 h (blocked), in progress again, done at 30 h, reopened, done at 40 h.
            transitions: moves(&[
                (10 * H, InProgress),
                (12 * H, Todo),
                (20 * H, InProgress),
                (30 * H, Done),
                (35 * H, InProgress),
                (40 * H, Done),
            ]),
            links: Vec::new(),
            points: None,
            sprint: None,
        };
        assert_eq!(item.started_at(), Some(10 * H));
        assert_eq!(item.done_at(), Some(40 * H));
        assert_eq!(item.waiting(40 * H), 8 * H);
        let open = WorkItem { transitions: moves(&[(5 * H, InProgress)]), ..item.clone() };
        assert_eq!(open.done_at(), None);
    }

    #[test]
    fn keys_link_as_whole_words_and_links_by_number() {
        let items = vec![
            WorkItem {
                key: "SHOP-12".into(),
                title: None,
                kind: None,
                created_at: 0,
                transitions: vec![],
                links: vec![],
                points: None,
                sprint: None,
            },
            WorkItem {
                key: "X-1".into(),
                title: None,
                kind: None,
                created_at: 0,
                transitions: vec![],
                links: vec!["acme/shop#3".into()],
                points: None,
                sprint: None,
            },
        ];
        let prs = vec![pr(1, 0, 0, None), pr(2, 0, 0, None), pr(3, 0, 0, None)];
        let titles =
            vec![Some("SHOP-123: not this one".to_owned()), Some("[shop-12] one-click checkout".to_owned()), None];
        assert_eq!(link(&items, &prs, &titles), vec![vec![1], vec![2]]);
        // An issue of the repository: a description saying `#4` links it, `#45` does not.
        let issue = WorkItem { key: "acme/shop#4".into(), ..items[0].clone() };
        let texts = vec![Some("Fixes #4.".to_owned()), Some("see #45 and other/repo#4".to_owned()), None];
        assert_eq!(link(&[issue], &prs, &texts), vec![vec![0]]);
    }

    #[test]
    fn the_stream_measures_each_step_of_done_items() {
        use Category::*;
        // Created day 0 00:00; started 24 h; first commit 26 h; PR created 30 h; merged 40 h; deployed 42 h; done 48 h.
        let item = WorkItem {
            key: "SHOP-7".into(),
            title: Some("Checkout".into()),
            kind: None,
            created_at: 0,
            transitions: moves(&[(24 * H, InProgress), (48 * H, Done)]),
            links: vec!["acme/shop#7".into()],
            points: None,
            sprint: None,
        };
        let undone = WorkItem {
            key: "SHOP-8".into(),
            transitions: moves(&[(30 * H, InProgress)]),
            links: vec![],
            ..item.clone()
        };
        let items = vec![item, undone];
        let prs = vec![pr(7, 26 * H, 30 * H, Some(40 * H))];
        let links = link(&items, &prs, &[None]);
        let deployed = |c: &str| (c == "m7").then_some(42 * H);
        let window = Window { start: 0, end: 100 * H };
        let s = stream(&items, &links, &prs, &deployed, window, Average::Interpolated);
        assert_eq!((s.items, s.done, s.without_pull_requests, s.in_progress), (2, 1, 0, 1));
        let row = &s.rows[0];
        assert_eq!(
            (row.backlog, row.to_first_commit, row.to_ready, row.to_merged, row.to_deployed, row.cycle),
            (Some(24 * H), Some(2 * H), Some(4 * H), Some(10 * H), Some(2 * H), Some(24 * H))
        );
        let median = |step: &str| match &s.steps.iter().find(|x| x.step == step).unwrap().summary {
            Metric::Value(summary) => summary.median,
            Metric::NoData { .. } => f64::NAN,
        };
        assert_eq!(median("to_merged"), 10.0 * H as f64);
        // Out of the window: nothing done, each step says why.
        let none =
            stream(&items, &links, &prs, &deployed, Window { start: 60 * H, end: 100 * H }, Average::Interpolated);
        assert_eq!(none.done, 0);
        assert!(matches!(&none.steps[0].summary, Metric::NoData { reason } if reason.contains("no work item done")));
    }
}
