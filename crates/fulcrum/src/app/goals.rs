//! `fulcrum goal`: goals set, measured and closed. A goal's metric is
//! measured by running the same report, flow or knowledge analysis the
//! commands run, over the goal's trailing window, with no sync: the value
//! a goal shows is the value `fulcrum report --since … --until …` prints.

use std::path::PathBuf;

use fulcrum_core::goals::{Direction, SmartInputs};
use fulcrum_core::time::{Window, format_datetime, parse_instant};

use super::{Context, FlowRequest, KnowledgeRequest, ReportRequest, WindowRequest};
use crate::analyses::goals::{self, GoalMetric, GoalView, Source};
use crate::analyses::knowledge::KnowledgeOptions;
use crate::error::UsageError;
use crate::store::{GoalRow, GoalValue};

const DAY: i64 = 86_400;

/// What `fulcrum goal add` (or the goal form) asks for.
#[derive(Debug, Clone, Default)]
pub struct GoalRequest {
    /// `NAME` (a person's account) or `team:NAME`; default the scope's team.
    pub owner: Option<String>,
    /// The title.
    pub title: String,
    /// The metric; `None` for a manual goal.
    pub metric: Option<String>,
    /// `repo:PATH`, `team:NAME` or `service:NAME`; default the current
    /// directory's repository.
    pub scope: Option<String>,
    /// A directory of the repository (`truck_factor` only).
    pub directory: Option<String>,
    /// The target as written (`8h`, `<= 8h`, `>= 5`, `10%`).
    pub target: Option<String>,
    /// The due date, `YYYY-MM-DD`.
    pub due: String,
    /// The goal this one serves.
    pub parent: Option<i64>,
    /// Why it matters.
    pub reason: Option<String>,
    /// `private`, `team` or `everyone`; default `private` for a person's
    /// goal, `team` for a team's.
    pub visibility: Option<String>,
    /// The trailing window, days (default 28).
    pub window_days: Option<i64>,
    /// Who sets it (an account, on the server).
    pub created_by: Option<String>,
    /// Save it even when the scope has no data or the target is already met.
    pub anyway: bool,
}

/// Where a goal is measured.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Scope {
    Repo(PathBuf),
    Team(String),
    Service(String),
}

impl Scope {
    fn parse(context: &Context, text: &str) -> anyhow::Result<Scope> {
        let bad = |why: &str| UsageError(format!("--scope {text}: {why}; write repo:PATH, team:NAME or service:NAME"));
        let (kind, value) = text.split_once(':').ok_or_else(|| bad("no kind"))?;
        let value = value.trim();
        if value.is_empty() {
            return Err(bad("no name").into());
        }
        Ok(match kind.trim() {
            "repo" => {
                let path = PathBuf::from(value);
                let path = path.canonicalize().map_err(|_| bad("no such directory"))?;
                if !path.join(".git").exists() && crate::sources::git::GitRepo::open(&path).is_err() {
                    return Err(bad("not a git repository").into());
                }
                Scope::Repo(path)
            }
            "team" => {
                let config = super::organisation_config(context)?;
                config.team(value)?;
                Scope::Team(value.to_owned())
            }
            "service" => Scope::Service(value.to_owned()),
            _ => return Err(bad("unknown kind").into()),
        })
    }

    fn text(&self) -> String {
        match self {
            Scope::Repo(path) => format!("repo:{}", path.display()),
            Scope::Team(name) => format!("team:{name}"),
            Scope::Service(name) => format!("service:{name}"),
        }
    }
}

fn window_request(window: Window) -> WindowRequest {
    WindowRequest { since: Some(format_datetime(window.start)), until: Some(format_datetime(window.end)) }
}

/// The value of `metric` in `scope` over `window` (knowledge: at now).
fn measure(
    context: &Context,
    metric: &GoalMetric,
    scope: &Scope,
    directory: Option<&str>,
    window: Window,
) -> Result<f64, String> {
    let (repos, services, team) = match scope {
        Scope::Repo(path) => (vec![path.clone()], Vec::new(), None),
        Scope::Team(name) => (Vec::new(), Vec::new(), Some(name.clone())),
        Scope::Service(name) => (Vec::new(), vec![name.clone()], None),
    };
    let answer = match metric.source {
        Source::Report => {
            let request = ReportRequest {
                repos,
                services,
                team,
                window: window_request(window),
                knowledge: false,
                ..Default::default()
            };
            super::report(context, &request).and_then(|outcome| Ok(serde_json::to_value(&outcome.analysis.dora)?))
        }
        Source::Flow => {
            let request = FlowRequest {
                repo: repos.first().cloned(),
                services,
                team,
                window: window_request(window),
                ..Default::default()
            };
            super::flow(context, &request).and_then(|flow| Ok(serde_json::to_value(&flow.report)?))
        }
        Source::Knowledge => {
            let Scope::Repo(repo) = scope else {
                return Err("the truck factor is measured in one repository: use --scope repo:PATH".to_owned());
            };
            let depth = directory.map(|d| d.trim_matches('/').split('/').filter(|p| !p.is_empty()).count());
            let request = KnowledgeRequest {
                repo: repo.clone(),
                sync: None,
                options: KnowledgeOptions { depth, now: context.now, ..Default::default() },
            };
            let report = super::knowledge(context, &request).map_err(|e| format!("{e:#}"))?;
            return match directory {
                None => Ok(report.truck_factor as f64),
                Some(dir) => {
                    let wanted = dir.trim_matches('/');
                    report
                        .directories
                        .unwrap_or_default()
                        .iter()
                        .find(|row| row.directory.trim_matches('/') == wanted)
                        .map(|row| row.truck_factor as f64)
                        .ok_or_else(|| format!("no analysed files under {wanted}/"))
                }
            };
        }
    };
    let json = answer.map_err(|e| format!("{e:#}"))?;
    goals::resolve(&json, metric.path)
}

fn due_at(text: &str, now: i64) -> anyhow::Result<i64> {
    let text = text.trim();
    let at = if text.len() >= 5 && text.as_bytes()[4] == b'-' { parse_instant(text, now).ok() } else { None };
    at.ok_or_else(|| UsageError(format!("--due {text}: not a date; write YYYY-MM-DD")).into())
}

/// Sets a goal: checks it (SMART), measures its baseline, stores it.
pub fn add(context: &Context, request: &GoalRequest) -> anyhow::Result<GoalView> {
    let now = context.now;
    if request.title.trim().is_empty() {
        return Err(UsageError("a goal needs a title".into()).into());
    }
    let metric = request.metric.as_deref().map(goals::metric).transpose()?;
    let due = due_at(&request.due, now)?;
    if due <= now {
        return Err(UsageError(format!(
            "--due {}: the date is not in the future; a goal is due after today",
            request.due.trim()
        ))
        .into());
    }
    let window_days = request.window_days.unwrap_or(28);
    if !(1..=365).contains(&window_days) {
        return Err(UsageError(format!("--window {window_days}: between 1 and 365 days")).into());
    }
    let scope = match (&request.scope, metric) {
        (Some(text), _) => Some(Scope::parse(context, text)?),
        (None, Some(_)) => match crate::sources::git::GitRepo::open(std::path::Path::new(".")) {
            Ok(_) => Some(Scope::Repo(std::env::current_dir()?.canonicalize()?)),
            Err(_) => {
                return Err(UsageError(
                    "no --scope and the current directory is not a git repository: pass --scope repo:PATH, \
                     team:NAME or service:NAME"
                        .into(),
                )
                .into());
            }
        },
        (None, None) => None,
    };
    if request.directory.is_some() && metric.is_none_or(|m| m.source != Source::Knowledge) {
        return Err(UsageError("--directory applies to truck_factor only".into()).into());
    }
    let target = match (metric, &request.target) {
        (Some(m), Some(text)) => Some(goals::target(m, text)?),
        (Some(m), None) => {
            return Err(UsageError(format!("--metric {} needs a --target (e.g. \"<= 8h\")", m.name)).into());
        }
        (None, Some(text)) => {
            // A manual goal may have a numeric target, reported in check-ins.
            let value: f64 = text
                .trim()
                .parse()
                .map_err(|_| UsageError(format!("--target {text}: a manual goal's target is a plain number")))?;
            Some((value, Direction::AtLeast))
        }
        (None, None) => None,
    };
    let (owner_kind, owner) = match (&request.owner, &scope) {
        (Some(text), _) => match text.strip_prefix("team:") {
            Some(team) => {
                super::organisation_config(context)?.team(team)?;
                ("team", team.to_owned())
            }
            None if text.trim().is_empty() => return Err(UsageError("--owner is empty".into()).into()),
            None => ("person", text.trim().to_owned()),
        },
        (None, Some(Scope::Team(team))) => ("team", team.clone()),
        (None, _) => {
            return Err(UsageError("name the goal's owner: --owner NAME (a person) or --owner team:NAME".into()).into());
        }
    };
    let visibility = request
        .visibility
        .clone()
        .unwrap_or_else(|| if owner_kind == "team" { "team".to_owned() } else { "private".to_owned() });
    if !["private", "team", "everyone"].contains(&visibility.as_str()) {
        return Err(UsageError(format!("--visibility {visibility}: use private, team or everyone")).into());
    }
    let store = super::open_store(&context.db, true)?;
    let parent = match request.parent {
        Some(id) => Some(store.goal(id)?.ok_or_else(|| UsageError(format!("--parent {id}: no such goal")))?),
        None => None,
    };
    drop(store);
    let window = |end: i64| Window { start: end - window_days * DAY, end };
    let current = match (metric, &scope) {
        (Some(m), Some(s)) => Some(measure(context, m, s, request.directory.as_deref(), window(now + 1))),
        _ => None,
    };
    let history_measurable = metric.is_some_and(|m| m.source != Source::Knowledge);
    let history: Vec<Option<f64>> = match (metric, &scope) {
        (Some(m), Some(s)) if history_measurable => (1..=(365 / window_days))
            .map(|k| measure(context, m, s, None, window(now + 1 - k * window_days * DAY)).ok())
            .collect(),
        _ => Vec::new(),
    };
    let scope_text = scope.as_ref().map(|s| match &request.directory {
        Some(dir) => format!("{} directory {}", s.text(), dir.trim_matches('/')),
        None => s.text(),
    });
    let show = |v: f64| goals::show(metric, v);
    let letters = fulcrum_core::goals::smart(
        &SmartInputs {
            metric: metric.map(|m| m.name.to_owned()),
            scope: scope_text,
            current: current.clone(),
            target,
            history,
            history_measurable,
            parent: parent.as_ref().map(|p| format!("goal {} ({})", p.id, p.title)),
            reason: request.reason.clone(),
            due,
            now,
        },
        &show,
    );
    if let (Some(m), Some(current)) = (metric, &current) {
        match current {
            Err(why) if !request.anyway => {
                return Err(UsageError(format!(
                    "{} has no data in {} now ({why}); check the scope, or pass --anyway to save the goal with \
                     this warning",
                    m.name,
                    scope.as_ref().map(Scope::text).unwrap_or_default()
                ))
                .into());
            }
            Ok(value) if target.is_some_and(|(t, d)| d.meets(*value, t)) && !request.anyway => {
                return Err(UsageError(format!(
                    "the target is already met: {} is {} now; set a more ambitious --target, or pass --anyway",
                    m.name,
                    show(*value)
                ))
                .into());
            }
            _ => {}
        }
    }
    let row = GoalRow {
        id: 0,
        owner_kind: owner_kind.to_owned(),
        owner,
        title: request.title.trim().to_owned(),
        metric: metric.map(|m| m.name.to_owned()),
        scope: scope.as_ref().map(Scope::text),
        directory: request.directory.as_ref().map(|d| d.trim_matches('/').to_owned()),
        target: target.map(|t| t.0),
        direction: target.map(|t| goals::direction_name(t.1).to_owned()),
        window_days,
        due_at: due,
        parent_id: parent.map(|p| p.id),
        reason: request.reason.clone().filter(|r| !r.trim().is_empty()),
        visibility,
        created_at: now,
        created_by: request.created_by.clone(),
        baseline: current.as_ref().and_then(|c| c.as_ref().ok().copied()),
        smart: serde_json::to_string(&letters)?,
        closed_at: None,
        outcome: None,
    };
    let mut store = super::open_store(&context.db, true)?;
    let id = store.add_goal(&row)?;
    if let Some(current) = &current {
        store.record_goal_values(&[(id, value_of(current, now))])?;
    }
    show_goal(context, id)
}

fn value_of(measured: &Result<f64, String>, now: i64) -> GoalValue {
    GoalValue {
        day: now - now.rem_euclid(DAY),
        value: measured.as_ref().ok().copied(),
        note: measured.as_ref().err().cloned(),
    }
}

/// The goal `id` with its values and progress.
pub fn show_goal(context: &Context, id: i64) -> anyhow::Result<GoalView> {
    let store = super::open_store(&context.db, false)?;
    let goal = store.goal(id)?.ok_or_else(|| UsageError(format!("no goal {id}; `fulcrum goal list` lists them")))?;
    Ok(goals::view(&goal, store.goal_values(id)?, context.now))
}

/// Every goal (closed ones too with `closed`).
pub fn list(context: &Context, closed: bool) -> anyhow::Result<Vec<GoalView>> {
    let store = super::open_store(&context.db, false)?;
    store.goals(closed)?.iter().map(|g| Ok(goals::view(g, store.goal_values(g.id)?, context.now))).collect()
}

/// Closes goal `id` with `outcome` (default from its status: achieved or missed).
pub fn close(context: &Context, id: i64, outcome: Option<&str>) -> anyhow::Result<GoalView> {
    let view = show_goal(context, id)?;
    if view.goal.closed_at.is_some() {
        return Err(UsageError(format!("goal {id} is already closed")).into());
    }
    let outcome = match outcome {
        Some(text) if !text.trim().is_empty() => text.trim().to_owned(),
        _ => match &view.progress {
            Some(p)
                if goals::direction(view.goal.direction.as_deref())
                    .is_some_and(|d| d.meets(p.current, view.goal.target.unwrap_or(f64::NAN))) =>
            {
                "achieved".to_owned()
            }
            Some(_) => "missed".to_owned(),
            None => "closed".to_owned(),
        },
    };
    super::open_store(&context.db, true)?.close_goal(id, &outcome, context.now)?;
    show_goal(context, id)
}

/// Records a value of a manual goal (from a check-in or `goal record`).
pub fn record(context: &Context, id: i64, value: Option<f64>, note: Option<String>) -> anyhow::Result<GoalView> {
    let view = show_goal(context, id)?;
    if view.goal.metric.is_some() && value.is_some() {
        return Err(UsageError(format!(
            "goal {id} is measured by {}: its value comes from the data; record a note only",
            view.goal.metric.as_deref().unwrap_or_default()
        ))
        .into());
    }
    let day = context.now - context.now.rem_euclid(DAY);
    let value = value.or_else(|| view.values.iter().find(|v| v.day == day).and_then(|v| v.value));
    super::open_store(&context.db, true)?.record_goal_values(&[(id, GoalValue { day, value, note })])?;
    show_goal(context, id)
}

/// Measures every open goal with a metric at now and records the values:
/// run after every sync. A goal that cannot be measured records why; it
/// never fails the sync. Returns the goals measured.
pub fn measure_open(context: &Context) -> anyhow::Result<usize> {
    let store = super::open_store(&context.db, false)?;
    let open = store.goals(false)?;
    drop(store);
    let mut values = Vec::new();
    for goal in open {
        let (Some(metric), Some(scope)) = (goal.metric.as_deref(), goal.scope.as_deref()) else { continue };
        let Ok(metric) = goals::metric(metric) else { continue };
        let measured = match Scope::parse(context, scope) {
            Ok(scope) => measure(
                context,
                metric,
                &scope,
                goal.directory.as_deref(),
                Window { start: context.now + 1 - goal.window_days * DAY, end: context.now + 1 },
            ),
            Err(e) => Err(format!("{e:#}")),
        };
        values.push((goal.id, value_of(&measured, context.now)));
    }
    let count = values.len();
    if count > 0 {
        super::open_store(&context.db, true)?.record_goal_values(&values)?;
    }
    Ok(count)
}
