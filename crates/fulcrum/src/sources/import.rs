//! `fulcrum import FILE`: deployments, incidents and pull requests from any
//! other system, as JSON Lines (the format is in the README, "Events file").
//!
//! Each line is one JSON object with a `type`. Invalid lines are reported by
//! line number and skipped; valid ones are stored in batches, one
//! transaction each. A second thread parses while the first writes.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::{BufRead, BufReader, Read};

use anyhow::Context as _;
use std::path::Path;
use std::sync::mpsc;

use fulcrum_core::flow::{ActivityKind, PrCommit, PullRequest, ReviewActivity};
use fulcrum_core::time::parse_rfc3339;
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use crate::progress::Progress;
use crate::store::{DeploymentEvent, EventBatch, EventCounts, IncidentEvent, Store};

/// Lines parsed per batch (and per transaction). Each transaction writes
/// the hot pages of every table again (a pull request's rows go to its
/// repository's id block: two hundred repositories, two hundred places in
/// each table): 2,000,000 pull requests were stored in 47.8 s in batches
/// of 16,384 lines, 32.6 s in 65,536 (peak 482 MB against 708 MB). (At
/// 200,000, before packed children and id blocks: 16.4–19.2 s against
/// 17.2–18.0 s.)
const BATCH_LINES: usize = 65_536;
/// Invalid lines listed in full; the rest are counted.
const SHOWN_ERRORS: usize = 20;

/// The file cannot be read at all (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Opening or reading failed.
    #[error(
        "{path}: cannot read the events file ({reason}); pass the path of a JSON Lines file, or - for standard input"
    )]
    Read {
        /// The file.
        path: String,
        /// What the OS said.
        reason: String,
    },
    /// Some lines were invalid (the valid ones are stored).
    #[error("{path}: {invalid} invalid {lines} skipped (the {valid} valid ones are stored):\n{details}")]
    InvalidLines {
        /// The file.
        path: String,
        /// How many.
        invalid: usize,
        /// "line" or "lines".
        lines: &'static str,
        /// Valid lines stored.
        valid: usize,
        /// One line per error.
        details: String,
    },
}

/// What an import did.
#[derive(Debug, Default)]
pub struct ImportSummary {
    /// Items stored, by kind.
    pub stored: EventCounts,
    /// Lines read (blank lines included).
    pub lines: usize,
    /// `(line number, message)` of the first invalid lines.
    pub errors: Vec<(usize, String)>,
    /// Invalid lines in all.
    pub invalid: usize,
}

/// An instant in an events file: RFC 3339 text or integer epoch seconds.
#[derive(Debug, Clone, Copy)]
struct Time(i64);

impl<'de> Deserialize<'de> for Time {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Time, D::Error> {
        struct TimeVisitor;
        impl Visitor<'_> for TimeVisitor {
            type Value = Time;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 time such as \"2025-01-31T12:00:00Z\" or epoch seconds")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Time, E> {
                Ok(Time(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Time, E> {
                i64::try_from(v).map(Time).map_err(|_| E::custom("time out of range"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Time, E> {
                parse_rfc3339(v).map(Time).ok_or_else(|| {
                    E::custom(format_args!(
                        "`{v}` is not an RFC 3339 time (e.g. \"2025-01-31T12:00:00Z\" or \"2025-01-31T13:00:00+01:00\")"
                    ))
                })
            }
        }
        deserializer.deserialize_any(TimeVisitor)
    }
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Line {
    Deployment(DeploymentLine),
    Incident(IncidentLine),
    PullRequest(PullRequestLine),
    Item(ItemLine),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemLine {
    id: String,
    created_at: Time,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default, alias = "service")]
    project: Option<String>,
    #[serde(default)]
    transitions: Vec<TransitionLine>,
    #[serde(default)]
    started_at: Option<Time>,
    #[serde(default)]
    done_at: Option<Time>,
    #[serde(default)]
    links: Vec<String>,
    #[serde(default)]
    points: Option<f64>,
    #[serde(default)]
    sprint: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TransitionLine {
    at: Time,
    status: String,
    #[serde(default)]
    category: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeploymentLine {
    id: String,
    #[serde(default)]
    repo: Option<String>,
    #[serde(default)]
    service: Option<String>,
    #[serde(default)]
    environment: Option<String>,
    commit: String,
    finished_at: Time,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    commits: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IncidentLine {
    id: String,
    service: String,
    #[serde(default)]
    title: Option<String>,
    started_at: Time,
    #[serde(default)]
    resolved_at: Option<Time>,
    #[serde(default)]
    deployment: Option<String>,
    #[serde(default)]
    commit: Option<String>,
    #[serde(default)]
    pull_request: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PullRequestLine {
    repo: String,
    number: u64,
    author: String,
    created_at: Time,
    #[serde(default)]
    ready_at: Option<Time>,
    #[serde(default)]
    merged_at: Option<Time>,
    #[serde(default)]
    closed_at: Option<Time>,
    #[serde(default)]
    merge_commit: Option<String>,
    #[serde(default)]
    draft: bool,
    #[serde(default)]
    additions: Option<u64>,
    #[serde(default)]
    deletions: Option<u64>,
    #[serde(default)]
    updated_at: Option<Time>,
    #[serde(default)]
    commits: Vec<CommitLine>,
    #[serde(default)]
    reviews: Vec<ReviewLine>,
    #[serde(default)]
    comments: Vec<CommentLine>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    url: Option<String>,
    /// Its description (work-item keys in it link the item).
    #[serde(default)]
    description: Option<String>,
    /// Its source branch (work-item keys in it link the item).
    #[serde(default)]
    branch: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CommitLine {
    sha: String,
    author: String,
    authored_at: Time,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewLine {
    author: String,
    submitted_at: Time,
    #[serde(default)]
    #[allow(dead_code)]
    state: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CommentLine {
    author: String,
    created_at: Time,
    #[serde(default)]
    kind: Option<String>,
}

/// One line's items, checked.
enum Item {
    PullRequest(PullRequest, crate::store::PrLabel, Option<String>),
    Deployment(DeploymentEvent),
    Incident(IncidentEvent),
    Tracked(crate::store::ItemEvent),
}

fn non_empty(field: &str, value: &str) -> Result<(), String> {
    if value.trim().is_empty() { Err(format!("`{field}` is empty")) } else { Ok(()) }
}

/// Longest name, id or commit an event may give, in bytes. The store
/// indexes them, and a PostgreSQL index entry holds at most about a third
/// of a page (2,704 bytes): a longer value would fail there and not on
/// SQLite, so both refuse it here, with the line named.
const IDENTIFIER_LIMIT: usize = 1_000;

/// Checks the identifiers `fields` (name, value) against
/// [`IDENTIFIER_LIMIT`].
fn identifiers<'a>(fields: impl IntoIterator<Item = (&'a str, Option<&'a str>)>) -> Result<(), String> {
    for (field, value) in fields {
        if let Some(value) = value
            && value.len() > IDENTIFIER_LIMIT
        {
            return Err(format!(
                "`{field}` is {} bytes long; names, ids and commits are at most {IDENTIFIER_LIMIT} bytes",
                value.len()
            ));
        }
    }
    Ok(())
}

fn convert(line: Line, source: &str) -> Result<Item, String> {
    match line {
        Line::PullRequest(pr) => {
            non_empty("repo", &pr.repo)?;
            non_empty("author", &pr.author)?;
            identifiers([("repo", Some(pr.repo.as_str())), ("merge_commit", pr.merge_commit.as_deref())])?;
            if pr.number == 0 {
                return Err("`number` must be positive".into());
            }
            // The store keeps signed 64-bit integers: larger numbers would wrap.
            for (field, value) in
                [("number", Some(pr.number)), ("additions", pr.additions), ("deletions", pr.deletions)]
            {
                if value.is_some_and(|v| i64::try_from(v).is_err()) {
                    return Err(format!("`{field}` is above {}, the largest number fulcrum stores", i64::MAX));
                }
            }
            if let Some(merged) = pr.merged_at
                && merged.0 < pr.created_at.0
            {
                return Err("`merged_at` is before `created_at`".into());
            }
            let mut activities = Vec::with_capacity(pr.reviews.len() + pr.comments.len());
            activities.extend(pr.reviews.into_iter().map(|r| ReviewActivity {
                author: r.author.into(),
                at: r.submitted_at.0,
                kind: ActivityKind::Review,
            }));
            for c in pr.comments {
                let kind = match c.kind.as_deref() {
                    None | Some("issue" | "comment") => ActivityKind::Comment,
                    Some("review" | "review_comment") => ActivityKind::ReviewComment,
                    Some(other) => {
                        return Err(format!(
                            "comment `kind` is `{other}`; expected `review` (on the diff) or `issue` (on the conversation)"
                        ));
                    }
                };
                activities.push(ReviewActivity { author: c.author.into(), at: c.created_at.0, kind });
            }
            let kind = source.split(':').next().unwrap_or(source);
            let label = crate::store::PrLabel { title: pr.title.clone(), url: pr.url.clone() };
            // What links work items beyond the title, kept as a payload.
            let raw = (pr.description.is_some() || pr.branch.is_some())
                .then(|| serde_json::json!({"body": pr.description, "branch": pr.branch}).to_string());
            Ok(Item::PullRequest(
                PullRequest {
                    id: format!("{kind}:pr:{}#{}", pr.repo, pr.number),
                    repo: pr.repo,
                    number: pr.number,
                    author: pr.author,
                    created_at: pr.created_at.0,
                    ready_at: pr.ready_at.map(|t| t.0),
                    draft: pr.draft,
                    merged_at: pr.merged_at.map(|t| t.0),
                    closed_at: pr.closed_at.or(pr.merged_at).map(|t| t.0),
                    merge_commit: pr.merge_commit.filter(|c| !c.is_empty()),
                    additions: pr.additions.unwrap_or(0),
                    deletions: pr.deletions.unwrap_or(0),
                    size_unknown: pr.additions.is_none() && pr.deletions.is_none(),
                    commits: pr
                        .commits
                        .into_iter()
                        .map(|c| PrCommit { sha: c.sha, author: c.author, authored_at: c.authored_at.0 })
                        .collect(),
                    activities,
                    updated_at: pr.updated_at.map(|t| t.0),
                },
                label,
                raw,
            ))
        }
        Line::Deployment(d) => {
            non_empty("id", &d.id)?;
            non_empty("commit", &d.commit)?;
            identifiers(
                [("id", Some(d.id.as_str())), ("commit", Some(d.commit.as_str())), ("repo", d.repo.as_deref())]
                    .into_iter()
                    .chain([("service", d.service.as_deref())])
                    .chain(d.commits.iter().flatten().map(|c| ("commits[]", Some(c.as_str())))),
            )?;
            let service = match (d.service, &d.repo) {
                (Some(service), _) if !service.trim().is_empty() => service,
                (_, Some(repo)) if !repo.trim().is_empty() => repo.rsplit('/').next().unwrap_or(repo).to_owned(),
                _ => return Err("a deployment needs a `service` (or a `repo` to name it after)".into()),
            };
            Ok(Item::Deployment(DeploymentEvent {
                source: source.to_owned(),
                external_id: d.id,
                repo: d.repo,
                service,
                environment: d.environment.unwrap_or_else(|| "production".to_owned()),
                commit: d.commit,
                finished_at: d.finished_at.0,
                status: d.status.map(|s| s.to_ascii_lowercase()).unwrap_or_else(|| "success".to_owned()),
                name: d.name,
                // The same commit listed twice is one commit.
                commits: d.commits.map(|commits| {
                    let mut seen = std::collections::HashSet::new();
                    commits.into_iter().filter(|c| seen.insert(c.clone())).collect()
                }),
            }))
        }
        Line::Item(item) => {
            non_empty("id", &item.id)?;
            identifiers([("id", Some(item.id.as_str()))])?;
            let mut transitions: Vec<(i64, String, Option<String>)> = Vec::new();
            for t in item.transitions {
                non_empty("transitions[].status", &t.status)?;
                let category = match t.category.as_deref() {
                    None => None,
                    Some(text) => match fulcrum_core::items::Category::parse(text) {
                        Some(fulcrum_core::items::Category::Todo) => Some("todo".to_owned()),
                        Some(fulcrum_core::items::Category::InProgress) => Some("in_progress".to_owned()),
                        Some(fulcrum_core::items::Category::Done) => Some("done".to_owned()),
                        None => {
                            return Err(format!(
                                "transition category `{text}` of status `{}`; expected todo, in_progress or done",
                                t.status
                            ));
                        }
                    },
                };
                transitions.push((t.at.0, t.status, category));
            }
            if !transitions.is_empty() && (item.started_at.is_some() || item.done_at.is_some()) {
                return Err("give `transitions` or `started_at`/`done_at`, not both".into());
            }
            if let Some(started) = item.started_at {
                transitions.push((started.0, "In Progress".to_owned(), Some("in_progress".to_owned())));
            }
            if let Some(done) = item.done_at {
                if item.started_at.is_some_and(|s| s.0 > done.0) {
                    return Err("`done_at` is before `started_at`".into());
                }
                transitions.push((done.0, "Done".to_owned(), Some("done".to_owned())));
            }
            transitions.sort_by_key(|t| t.0);
            for link in &item.links {
                if !link.rsplit_once('#').is_some_and(|(repo, n)| !repo.is_empty() && n.parse::<u64>().is_ok()) {
                    return Err(format!("link `{link}`; expected a pull request, `owner/name#number`"));
                }
            }
            Ok(Item::Tracked(crate::store::ItemEvent {
                source: source.to_owned(),
                external_id: item.id,
                title: item.title,
                kind: item.kind,
                project: item.project.filter(|p| !p.trim().is_empty()),
                created_at: item.created_at.0,
                transitions,
                links: item.links,
                points: match item.points {
                    Some(p) if !p.is_finite() || p < 0.0 => return Err(format!("`points` is {p}; expected 0 or more")),
                    points => points,
                },
                sprint: item.sprint.filter(|s| !s.trim().is_empty()),
            }))
        }
        Line::Incident(i) => {
            non_empty("id", &i.id)?;
            non_empty("service", &i.service)?;
            identifiers([("id", Some(i.id.as_str())), ("service", Some(i.service.as_str()))])?;
            if let Some(resolved) = i.resolved_at
                && resolved.0 < i.started_at.0
            {
                return Err("`resolved_at` is before `started_at`".into());
            }
            if let Some(pr) = &i.pull_request
                && !pr.rsplit_once('#').is_some_and(|(repo, n)| !repo.is_empty() && n.parse::<u64>().is_ok())
            {
                return Err(format!("`pull_request` is `{pr}`; expected `owner/name#number`"));
            }
            Ok(Item::Incident(IncidentEvent {
                source: source.to_owned(),
                external_id: i.id,
                service: i.service,
                title: i.title,
                started_at: i.started_at.0,
                resolved_at: i.resolved_at.map(|t| t.0),
                deployment: i.deployment,
                commit: i.commit,
                pull_request: i.pull_request,
            }))
        }
    }
}

/// A parsed batch: the items and the errors of its lines.
struct Parsed {
    batch: EventBatch,
    errors: Vec<(usize, String)>,
    lines: usize,
    /// Number of the batch's last line.
    last_line: usize,
}

/// Longest part of a line's error message shown (a message can quote a
/// value of any length).
const MESSAGE_LIMIT: usize = 300;

fn parse_lines(lines: Vec<(usize, Vec<u8>)>, source: &str) -> Parsed {
    let last_line = lines.last().map(|(n, _)| *n).unwrap_or(0);
    let mut parsed = Parsed { batch: EventBatch::default(), errors: Vec::new(), lines: lines.len(), last_line };
    for (number, bytes) in lines {
        let mut bytes = bytes.as_slice();
        // A UTF-8 byte-order mark at the start of the file is not content.
        if number == 1 {
            bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        }
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text.trim(),
            Err(e) => {
                let message = format!("not UTF-8 text (an invalid byte at column {})", e.valid_up_to() + 1);
                parsed.errors.push((number, message));
                continue;
            }
        };
        if text.is_empty() {
            continue;
        }
        let item = serde_json::from_str::<Line>(text)
            .map_err(|e| describe(&e))
            .and_then(|l| convert(l, source))
            .map_err(|message| crate::sources::http::cut(&message, MESSAGE_LIMIT));
        match item {
            Ok(Item::PullRequest(pr, label, raw)) => {
                parsed.batch.pull_requests.push((pr, source.to_owned(), raw, label))
            }
            Ok(Item::Deployment(d)) => parsed.batch.deployments.push((d, None)),
            Ok(Item::Incident(i)) => parsed.batch.incidents.push((i, None)),
            Ok(Item::Tracked(i)) => parsed.batch.items.push((i, None)),
            Err(message) => parsed.errors.push((number, message)),
        }
    }
    parsed
}

/// A serde error without the "line 1" that every single-line parse has.
fn describe(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(at) => format!("{} (column {})", &text[..at], e.column()),
        None => text,
    }
}

/// The events of a request body (the team server's `POST /api/v1/events`):
/// one JSON object, an array of them, or JSON Lines. Returns the batch and
/// the invalid lines (numbered from 1: the line, or the array element).
pub fn parse_events(body: &[u8], source: &str) -> (EventBatch, Vec<(usize, String)>) {
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim_start_matches('\u{feff}').trim();
    let lines: Vec<(usize, Vec<u8>)> = match serde_json::from_str::<serde_json::Value>(trimmed) {
        Ok(serde_json::Value::Array(items)) => {
            items.iter().enumerate().map(|(i, item)| (i + 1, item.to_string().into_bytes())).collect()
        }
        Ok(item @ serde_json::Value::Object(_)) => vec![(1, item.to_string().into_bytes())],
        _ => body.split(|&b| b == b'\n').enumerate().map(|(i, line)| (i + 1, line.to_vec())).collect(),
    };
    let parsed = parse_lines(lines, source);
    (parsed.batch, parsed.errors)
}

/// Imports the events file at `path` (`-` for standard input) into `store`;
/// with `compact`, an SQLite file is compacted afterwards when the import
/// was large (see [`Store::should_compact`]).
///
/// Not by default: at 2,000,000 pull requests the compaction (`VACUUM`,
/// which writes every page twice more through the write-ahead log) took 30
/// of the import's 81 s, while the reads it helped were as fast without it
/// (the organisation's view the same, a team's report 0.17-0.18 s against
/// 0.16 s), with 176 MB against 138 MB of memory for a team's report.
pub fn import(
    store: &mut Store,
    path: &Path,
    source: &str,
    compact: bool,
    progress: &mut Progress,
) -> anyhow::Result<ImportSummary> {
    let shown = path.display().to_string();
    let read_error = |e: std::io::Error| ImportError::Read { path: shown.clone(), reason: e.to_string() };
    // Lines to come, estimated from the file's size (standard input: none).
    let mut incoming = 0;
    let reader: Box<dyn Read + Send> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        let file = std::fs::File::open(path).map_err(read_error)?;
        incoming = file.metadata().map_or(0, |m| m.len() / BYTES_PER_LINE) as usize;
        Box::new(file)
    };
    // A large file into a small database: the secondary indexes are built
    // once at the end (see `Store::defer_event_indexes`).
    let deferred = store.defer_event_indexes(incoming)?;
    let started = std::time::Instant::now();
    // Once the indexes are deferred, nothing returns before they are built.
    let unmapped = if deferred { store.unmap_pages().map_err(anyhow::Error::from) } else { Ok(()) };
    // Into an empty table, pull requests are copied in without looking
    // each up (PostgreSQL; see `Store::assume_new_pull_requests`).
    let imported = unmapped
        .and_then(|()| store.assume_new_pull_requests().map_err(anyhow::Error::from))
        .and_then(|_| read_and_store(store, reader, &shown, source, progress));
    store.look_up_pull_requests();
    let stored_in = started.elapsed();
    let indexed = if deferred {
        progress.start("building the indexes", None);
        let built = store.restore_indexes();
        progress.finish();
        built.map(|_| ())
    } else {
        Ok(())
    };
    let indexed_in = started.elapsed() - stored_in;
    let summary = imported?;
    indexed?;
    if deferred || summary.stored.pull_requests >= ANALYZE_FROM {
        store.analyze_events()?;
    }
    if compact {
        super::sync::compact_after(store, crate::store::Imported::PullRequests(summary.stored.pull_requests));
    }
    if std::env::var_os("FULCRUM_TIMING").is_some() {
        let compacted_in = started.elapsed() - stored_in - indexed_in;
        eprintln!(
            "import: lines stored in {stored_in:.2?}, indexes built in {indexed_in:.2?}{}, analysed or compacted in \
             {compacted_in:.2?}",
            if deferred { "" } else { " (none deferred)" }
        );
    }
    Ok(summary)
}

/// Fewest pull requests an import stores for PostgreSQL's statistics to be
/// brought up to date at its end (besides an import that deferred indexes).
const ANALYZE_FROM: usize = 100_000;

/// A line's size in an events file, on the large side (a pull request
/// with its commits and reviews takes about a kilobyte), for estimating
/// how many lines a file holds.
const BYTES_PER_LINE: u64 = 2048;

/// Parses the lines of `reader` on a thread of its own and stores them
/// batch by batch.
fn read_and_store(
    store: &mut Store,
    reader: Box<dyn Read + Send>,
    shown: &str,
    source: &str,
    progress: &mut Progress,
) -> anyhow::Result<ImportSummary> {
    let read_error = |e: std::io::Error| ImportError::Read { path: shown.to_owned(), reason: e.to_string() };
    // One batch waits while one is written and the next parsed.
    let (sender, receiver) = mpsc::sync_channel::<Result<Parsed, std::io::Error>>(1);
    let source_owned = source.to_owned();
    let parser = std::thread::spawn(move || {
        // Lines as bytes: one that is not UTF-8 is an invalid line, not the end of the file.
        let mut reader = BufReader::with_capacity(1 << 20, reader);
        let mut number = 0;
        loop {
            let mut chunk = Vec::with_capacity(BATCH_LINES);
            while chunk.len() < BATCH_LINES {
                let mut line = Vec::new();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) => break,
                    Ok(_) => {
                        number += 1;
                        chunk.push((number, line));
                    }
                    Err(e) => {
                        let _ = sender.send(Err(e));
                        return;
                    }
                }
            }
            if chunk.is_empty() {
                return;
            }
            if sender.send(Ok(parse_lines(chunk, &source_owned))).is_err() {
                return;
            }
        }
    });
    let mut summary = ImportSummary::default();
    // Items seen in this file: a line repeating one replaces it, and is not a second item.
    // (Pull requests by repository, then number: no key made per line.)
    let mut seen: HashSet<(u8, String)> = HashSet::new();
    let mut seen_prs: HashMap<String, HashSet<u64>> = HashMap::new();
    progress.start(&format!("importing {shown}: lines"), None);
    let mut stored_through = 0;
    for parsed in receiver {
        let parsed = parsed.map_err(read_error)?;
        summary.lines += parsed.lines;
        summary.invalid += parsed.errors.len();
        let room = SHOWN_ERRORS.saturating_sub(summary.errors.len());
        summary.errors.extend(parsed.errors.into_iter().take(room));
        if !parsed.batch.is_empty() {
            store.write_events(&parsed.batch, &[]).with_context(|| {
                let kept = summary.stored.pull_requests
                    + summary.stored.deployments
                    + summary.stored.incidents
                    + summary.stored.items;
                if stored_through == 0 {
                    "nothing of the file was stored".to_owned()
                } else {
                    format!(
                        "lines 1–{stored_through} ({kept} items) were stored before this failure; importing the \
                         file again replaces them"
                    )
                }
            })?;
            for (pr, _, _, _) in &parsed.batch.pull_requests {
                let numbers = match seen_prs.get_mut(&pr.repo) {
                    Some(numbers) => numbers,
                    None => seen_prs.entry(pr.repo.clone()).or_default(),
                };
                summary.stored.pull_requests += usize::from(numbers.insert(pr.number));
            }
            for (d, _) in &parsed.batch.deployments {
                summary.stored.deployments += usize::from(seen.insert((1, d.external_id.clone())));
            }
            for (i, _) in &parsed.batch.incidents {
                summary.stored.incidents += usize::from(seen.insert((2, i.external_id.clone())));
            }
            for (i, _) in &parsed.batch.items {
                summary.stored.items += usize::from(seen.insert((3, i.external_id.clone())));
            }
        }
        stored_through = parsed.last_line;
        progress.advance(parsed.lines as u64);
    }
    parser.join().map_err(|_| anyhow::anyhow!("the events parser thread panicked"))?;
    progress.finish();
    Ok(summary)
}

impl ImportSummary {
    /// The error to exit with when some lines were invalid.
    pub fn invalid_lines_error(&self, path: &Path) -> Option<ImportError> {
        if self.invalid == 0 {
            return None;
        }
        let mut details: Vec<String> =
            self.errors.iter().map(|(line, message)| format!("  line {line}: {message}")).collect();
        if self.invalid > self.errors.len() {
            details.push(format!("  … and {} more", self.invalid - self.errors.len()));
        }
        Some(ImportError::InvalidLines {
            path: path.display().to_string(),
            invalid: self.invalid,
            lines: if self.invalid == 1 { "line" } else { "lines" },
            valid: self.stored.pull_requests + self.stored.deployments + self.stored.incidents + self.stored.items,
            details: details.join("\n"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file large enough to defer the indexes (a few events and a line
    /// of blanks) is imported with every index in place at the end, and its
    /// events are found by the indexes built again.
    #[test]
    fn a_large_import_builds_the_indexes_it_deferred() {
        let dir = crate::store::tests::scratch_dir("import-deferred");
        let mut store = Store::open(&dir.join("db.sqlite")).unwrap();
        let all = crate::store::tests::index_definitions(&store);
        let mut text = String::from(
            r#"{"type":"pull_request","repo":"o/a","number":1,"author":"ann","created_at":"2024-01-01T00:00:00Z","merged_at":"2024-01-02T00:00:00Z","merge_commit":"m1"}
{"type":"deployment","id":"d1","service":"a","environment":"production","commit":"m1","finished_at":"2024-01-03T00:00:00Z","status":"success","commits":["m1"]}
"#,
        );
        text.push_str(&" ".repeat(crate::store::DEFER_INDEXES_FROM * BYTES_PER_LINE as usize));
        text.push('\n');
        let file = dir.join("events.jsonl");
        std::fs::write(&file, text).unwrap();
        let summary = import(&mut store, &file, "import", false, &mut Progress::new("import")).unwrap();
        assert_eq!((summary.stored.pull_requests, summary.stored.deployments), (1, 1));
        assert_eq!(crate::store::tests::index_definitions(&store), all);
        let merges = store.pr_merge_commits(&[("o/a".to_owned(), 1)]).unwrap();
        assert_eq!(merges[&("o/a".to_owned(), 1)].as_deref(), Some("m1"));
        drop(store);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn errors(text: &str) -> Vec<(usize, String)> {
        let lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.as_bytes().to_vec())).collect();
        parse_lines(lines, "import").errors
    }

    #[test]
    fn each_kind_parses_and_bad_lines_are_named() {
        let text = r#"{"type":"deployment","id":"d1","service":"api","commit":"abc","finished_at":"2025-01-02T10:00:00Z"}
{"type":"incident","id":"i1","service":"api","started_at":1735812000}

{"type":"pull_request","repo":"acme/api","number":3,"author":"ann","created_at":"2025-01-01T00:00:00+01:00"}
{"type":"deployment","id":"d2","commit":"abc","finished_at":"2025-01-02"}
{"type":"pull_request","repo":"acme/api","number":4,"author":"ann","created_at":"2025-01-01T00:00:00Z","comments":[{"author":"bo","created_at":"2025-01-01T00:00:00Z","kind":"emoji"}]}
{"type":"release"}
not json"#;
        let lines: Vec<_> = text.lines().enumerate().map(|(i, l)| (i + 1, l.as_bytes().to_vec())).collect();
        let parsed = parse_lines(lines, "import");
        assert_eq!(parsed.batch.deployments.len(), 1);
        assert_eq!(parsed.batch.incidents.len(), 1);
        assert_eq!(parsed.batch.pull_requests.len(), 1);
        assert_eq!(parsed.batch.pull_requests[0].0.created_at, 1_735_686_000);
        let numbers: Vec<usize> = parsed.errors.iter().map(|e| e.0).collect();
        assert_eq!(numbers, [5, 6, 7, 8]);
        assert!(parsed.errors[0].1.contains("not an RFC 3339 time"), "{}", parsed.errors[0].1);
        assert!(parsed.errors[1].1.contains("`emoji`"), "{}", parsed.errors[1].1);
        assert!(parsed.errors[2].1.contains("unknown variant `release`"), "{}", parsed.errors[2].1);
    }

    #[test]
    fn checks_beyond_the_shape() {
        let e = errors(
            r#"{"type":"pull_request","repo":"a/b","number":0,"author":"x","created_at":5}
{"type":"incident","id":"i","service":"s","started_at":10,"resolved_at":5}
{"type":"incident","id":"i","service":"s","started_at":10,"pull_request":"a/b#x"}
{"type":"deployment","id":"d","commit":"c","finished_at":5}
{"type":"deployment","id":"d","service":"s","commit":"c","finished_at":5,"colour":"red"}"#,
        );
        let messages: Vec<&str> = e.iter().map(|(_, m)| m.as_str()).collect();
        assert!(messages[0].contains("`number` must be positive"));
        assert!(messages[1].contains("before `started_at`"));
        assert!(messages[2].contains("owner/name#number"));
        assert!(messages[3].contains("needs a `service`"));
        assert!(messages[4].contains("unknown field `colour`"));
        // Identifiers longer than an index entry may be, refused on both backends.
        let long = "x".repeat(1_001);
        let lines = [
            format!(r#"{{"type":"deployment","id":"d","service":"{long}","commit":"c","finished_at":5}}"#),
            format!(r#"{{"type":"pull_request","repo":"{long}","number":1,"author":"x","created_at":5}}"#),
            format!(
                r#"{{"type":"deployment","id":"d","service":"s","commit":"c","commits":["{long}"],"finished_at":5}}"#
            ),
            format!(r#"{{"type":"incident","id":"{long}","service":"s","started_at":10}}"#),
            format!(
                r#"{{"type":"deployment","id":"d","service":"{}","commit":"c","finished_at":5}}"#,
                "x".repeat(1_000)
            ),
        ];
        let e = errors(&lines.join("\n"));
        let messages: Vec<(usize, &str)> = e.iter().map(|(n, m)| (*n, m.as_str())).collect();
        assert_eq!(messages.len(), 4, "{messages:?}");
        assert!(messages[0].1.contains("`service` is 1001 bytes long"), "{messages:?}");
        assert!(messages[1].1.contains("`repo` is 1001 bytes"), "{messages:?}");
        assert!(messages[2].1.contains("`commits[]` is 1001 bytes"), "{messages:?}");
        assert!(messages[3].1.contains("`id` is 1001 bytes"), "{messages:?}");
    }
}
