//! Configuration: `fulcrum.toml` (in the repository, or `--config`), every
//! key optional with the defaults documented in the README. Command-line
//! flags override it; the result is [`Config`], which the rest of the code
//! reads.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// An invalid configuration file or value. The message names the file, the
/// key and (for syntax errors) the line.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: cannot read the configuration ({reason})")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        reason: String,
    },
    /// TOML syntax error, unknown key or wrong type.
    #[error("{path}: invalid configuration: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// toml's message, with line and column.
        message: String,
    },
    /// A value parsed but is not acceptable.
    #[error("{source_name}: invalid value for `{key}`: {message}")]
    Value {
        /// The file, or `command line`.
        source_name: String,
        /// The key, e.g. `deploy.tag_pattern`.
        key: String,
        /// Why.
        message: String,
    },
}

/// The file's shape. Every field is optional; defaults live in [`Config`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    deploy: DeployFile,
    #[serde(default)]
    failure: FailureFile,
    #[serde(default)]
    report: ReportFile,
    #[serde(default)]
    bots: BotsFile,
    #[serde(default)]
    agents: AgentsFile,
    #[serde(default)]
    check: CheckFile,
    #[serde(default)]
    identities: IdentitiesFile,
    #[serde(default)]
    knowledge: KnowledgeFile,
    #[serde(default)]
    hotspots: HotspotsFile,
    #[serde(default)]
    incident: IncidentFile,
    #[serde(default)]
    flow: FlowFile,
    #[serde(default)]
    source: Vec<SourceFile>,
    #[serde(default)]
    sync: SyncFile,
    #[serde(default)]
    brief: BriefFile,
    #[serde(default)]
    person: Vec<PersonFile>,
    #[serde(default)]
    focus: FocusFile,
    #[serde(default)]
    team: Vec<TeamFile>,
    #[serde(default)]
    repository: Vec<RepositoryFile>,
    #[serde(default)]
    pulse: PulseFile,
    #[serde(default)]
    items: ItemsFile,
}

/// `[[repository]]`: a git repository to keep synced, by path or by a
/// clone URL fulcrum clones and fetches into its data directory.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct RepositoryFile {
    path: Option<String>,
    url: Option<String>,
}

/// A repository fulcrum clones (bare) into its data directory and fetches.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Mirror {
    /// Where it is cloned from.
    pub url: String,
    /// The bare clone's directory.
    pub path: PathBuf,
}

/// fulcrum's data directory: `$XDG_DATA_HOME/fulcrum`, else
/// `~/.local/share/fulcrum`.
pub fn data_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .map(|d| d.join("fulcrum"))
}

/// Whether `text` is a clone URL fulcrum accepts: `https://`, `ssh://`,
/// `git@host:path` or `file:///path` (no `ext::` or other transports, which
/// run commands).
pub fn is_clone_url(text: &str) -> bool {
    let t = text.trim();
    t.starts_with("https://")
        || t.starts_with("ssh://")
        || t.starts_with("file:///")
        || t.split_once(':').is_some_and(|(user_host, path)| {
            user_host.contains('@')
                && !user_host.contains('/')
                && !path.starts_with("//")
                && !path.is_empty()
                && !t.contains("::")
        })
}

/// Whether `text` is meant as a URL (so a refused one is an error, not a path).
fn looks_like_url(text: &str) -> bool {
    text.contains("://") || text.contains("::") || (text.contains('@') && text.contains(':'))
}

/// The bare clone of `url` in the data directory: `repos/HOST/PATH.git`,
/// with any credentials left out of the name.
pub fn mirror_path(url: &str) -> Option<PathBuf> {
    let without_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let without_user = without_scheme.rsplit_once('@').map_or(without_scheme, |(_, rest)| rest);
    let cleaned: String = without_user
        .trim_end_matches('/')
        .trim_end_matches(".git")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/') { c } else { '_' })
        .collect();
    let parts: Vec<&str> = cleaned.split('/').filter(|p| !p.is_empty() && *p != "." && *p != "..").collect();
    if parts.is_empty() {
        return None;
    }
    Some(data_dir()?.join("repos").join(format!("{}.git", parts.join("/"))))
}

/// A URL as shown: its password or token replaced by `***`.
pub fn redact_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('@') {
            Some((user, host)) if !host.contains('@') => {
                let name = user.split(':').next().unwrap_or("");
                format!("{scheme}://{name}:***@{host}")
            }
            _ => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemsFile {
    todo: Option<Vec<String>>,
    in_progress: Option<Vec<String>>,
    done: Option<Vec<String>>,
}

/// Status names every tracker uses, in their category (after the
/// configuration's own `[items]` lists).
const ITEM_STATUSES: &[(&str, fulcrum_core::items::Category)] = {
    use fulcrum_core::items::Category::{Done, InProgress, Todo};
    &[
        ("to do", Todo),
        ("todo", Todo),
        ("open", Todo),
        ("opened", Todo),
        ("backlog", Todo),
        ("new", Todo),
        ("ready", Todo),
        ("selected for development", Todo),
        ("reopened", Todo),
        ("in progress", InProgress),
        ("assigned", InProgress),
        ("doing", InProgress),
        ("in development", InProgress),
        ("in review", InProgress),
        ("review", InProgress),
        ("code review", InProgress),
        ("testing", InProgress),
        ("qa", InProgress),
        ("blocked", InProgress),
        ("done", Done),
        ("closed", Done),
        ("resolved", Done),
        ("released", Done),
        ("complete", Done),
        ("completed", Done),
    ]
};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PulseFile {
    min_group: Option<usize>,
}

/// `[[team]]`: a team of the organisation, what it owns and who is in it.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct TeamFile {
    name: String,
    #[serde(default)]
    repositories: Vec<String>,
    #[serde(default)]
    services: Vec<String>,
    #[serde(default)]
    members: Vec<String>,
    #[serde(default)]
    leads: Vec<String>,
}

/// A team: its git repositories, the services whose deployments,
/// incidents and pull requests are its own, and its members (names,
/// e-mails or logins; a person or a repository may be in several teams).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Team {
    /// Its name (`--team NAME`).
    pub name: String,
    /// Its git repositories, relative paths resolved against the
    /// configuration file's directory.
    pub repositories: Vec<PathBuf>,
    /// Services (deployments, incidents; pull requests of repositories so named).
    pub services: Vec<String>,
    /// Members' identities (an account of the team server is a member when
    /// its name is one of them).
    pub members: Vec<String>,
    /// The accounts that lead the team: they hold its members' check-ins,
    /// see their private goals and open its pulse surveys.
    pub leads: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FocusFile {
    min_group: Option<usize>,
}

/// `[[person]]`: someone whose calendars `fulcrum focus` reads.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PersonFile {
    /// Their name, as reports show it.
    pub name: String,
    /// Their e-mail addresses (to find their own answer to an invitation).
    #[serde(default)]
    pub emails: Vec<String>,
    /// ICS files or feed addresses (a feed's private address is a secret,
    /// a path any file: honoured only from a trusted configuration).
    #[serde(default)]
    pub calendars: Vec<String>,
    /// IANA time zone (default UTC).
    pub time_zone: Option<String>,
    /// `09:00-17:00` (the default).
    pub working_hours: Option<String>,
    /// Days worked: `mon` … `sun` (default Monday to Friday).
    pub working_days: Option<Vec<String>>,
    /// The team's lead: `fulcrum focus --repo` shows their balance.
    #[serde(default)]
    pub lead: bool,
    /// Their logins on the hosts (pull requests and reviews).
    #[serde(default)]
    pub logins: Vec<String>,
    /// The hands-on share of their activity they aim for (0 to 1, e.g. 0.3).
    pub hands_on_target: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct BriefFile {
    post_every_days: Option<u32>,
    hourly_rate: Option<f64>,
    currency: Option<String>,
    hours_per_day: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SyncFile {
    interval: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct IncidentFile {
    labels: Option<Vec<String>>,
    link_window: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FlowFile {
    working_hours: Option<String>,
    working_days: Option<Vec<String>>,
    utc_offset: Option<String>,
    holidays: Option<Vec<String>>,
    stale_days: Option<u32>,
    pickup_target: Option<String>,
    review_target: Option<String>,
    max_size: Option<u64>,
}

/// A `[[source]]` entry: a host to sync pull requests, deployments, CI runs
/// and incidents from.
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SourceFile {
    /// `github`, `gitlab`, `bitbucket`, `azure`, `jenkins`, `circleci`,
    /// `jira`, `pagerduty` or `opsgenie`.
    pub kind: String,
    /// `owner/name` on GitHub, `group/project` on GitLab,
    /// `workspace/repository` on Bitbucket, `organization/project/repository`
    /// on Azure DevOps, a job path on Jenkins, a project slug on CircleCI,
    /// a project key on Jira, a
    /// service id on PagerDuty and Opsgenie.
    pub repo: String,
    /// API base URL [default: https://api.github.com, https://gitlab.com/api/v4].
    pub base_url: Option<String>,
    /// Environment variable holding the token [default: GITHUB_TOKEN, GITLAB_TOKEN].
    pub token_env: Option<String>,
    /// A command printing the token (run when the variable is unset).
    pub token_command: Option<String>,
    /// Service its deployments and incidents belong to [default: the repository name].
    pub service: Option<String>,
    /// First sync fetches items updated since this time [default: everything].
    pub since: Option<String>,
    /// Requests in flight at once [default: 4].
    pub concurrency: Option<usize>,
    /// GitLab: the refs whose pipelines stand in for deployments when the project records none
    /// [default: the project's default branch].
    pub refs: Option<Vec<String>>,
    /// Pages one listing may have before the sync stops with an error [default: 10000].
    pub max_pages: Option<usize>,
    /// Allow a plain `http://` base_url on a host other than this machine (the token then travels
    /// in clear text; a warning is printed on every sync) [default: false].
    pub allow_insecure_http: Option<bool>,
    /// The repository's issues as work items, their status moves from
    /// issue events (opened, assigned, labels mapped by `[items]`, closed,
    /// reopened) [default: false].
    #[serde(default)]
    pub issues: Option<bool>,
    /// Jira: the JQL choosing the items [default: `project = REPO`].
    #[serde(default)]
    pub jql: Option<String>,
    /// Jira Cloud: the account's e-mail, sent with the API token (basic
    /// authentication); without it the token is a bearer token (Data Center).
    #[serde(default)]
    pub user: Option<String>,
    /// Jira: `cloud` or `datacenter` [default: cloud for *.atlassian.net].
    /// GitHub and GitLab: `graphql` reads pull (merge) requests through the
    /// GraphQL API (about one request per 50) [default: `rest`].
    #[serde(default)]
    pub api: Option<String>,
}

/// Keys of a `[[source]]` that choose where credentials go or run a
/// command: honoured only from a trusted configuration file.
const SECRET_KEYS: [&str; 3] = ["token_command", "token_env", "base_url"];

impl SourceFile {
    /// The keys of [`SECRET_KEYS`] this source sets.
    fn secret_keys(&self) -> Vec<&'static str> {
        let set = [self.token_command.is_some(), self.token_env.is_some(), self.base_url.is_some()];
        SECRET_KEYS.iter().zip(set).filter(|(_, set)| *set).map(|(key, _)| *key).collect()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentitiesFile {
    aliases: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct KnowledgeFile {
    require_language: Option<bool>,
    inactive_after: Option<String>,
    exclude: Option<Vec<String>>,
    include: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct HotspotsFile {
    window: Option<String>,
    min_shared: Option<usize>,
    max_changeset: Option<usize>,
    limit: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeployFile {
    mode: Option<String>,
    tag_pattern: Option<String>,
    branch: Option<String>,
    service: Option<String>,
    env_pattern: Option<String>,
    ci_pattern: Option<String>,
    release_line: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FailureFile {
    hotfix_pattern: Option<String>,
    patch_window: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportFile {
    window: Option<String>,
    average: Option<String>,
    benchmark: Option<String>,
    min_deployments: Option<usize>,
    min_changes: Option<usize>,
    min_recoveries: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct BotsFile {
    patterns: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckFile {
    fail_if: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AgentsFile {
    names: Option<Vec<String>>,
    emails: Option<Vec<String>>,
}

/// How deployments are found in git.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeployMode {
    /// Release tags matching `deploy.tag_pattern`.
    Tags,
    /// Every first-parent commit of the default branch.
    Trunk,
}

impl std::str::FromStr for DeployMode {
    type Err = String;
    fn from_str(s: &str) -> Result<DeployMode, String> {
        match s {
            "tags" => Ok(DeployMode::Tags),
            "trunk" => Ok(DeployMode::Trunk),
            other => Err(format!("`{other}` is not a deployment mode; use `tags` or `trunk`")),
        }
    }
}

/// The team's working time from `flow.working_hours` (`"09:00-17:00"`),
/// `working_days` (default Monday to Friday), `utc_offset` (`"+01:00"`,
/// default UTC) and `holidays` (`"2025-12-25"`); errors name the key.
fn work_calendar(
    hours: &str,
    days: Option<&[String]>,
    offset: Option<&str>,
    holidays: Option<&[String]>,
) -> Result<fulcrum_core::calendar::WorkCalendar, (&'static str, String)> {
    let clock = |text: &str| -> Option<i64> {
        let (h, m) = text.trim().split_once(':')?;
        let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
        ((0..=24).contains(&h) && (0..60).contains(&m) && h * 60 + m <= 24 * 60).then_some(h * 3600 + m * 60)
    };
    let bad_hours = || ("flow.working_hours", format!("`{hours}`: write HH:MM-HH:MM, e.g. \"09:00-17:00\""));
    let (from, to) = hours.split_once('-').ok_or_else(bad_hours)?;
    let (day_start, day_end) = (clock(from).ok_or_else(bad_hours)?, clock(to).ok_or_else(bad_hours)?);
    if day_end <= day_start {
        return Err(bad_hours());
    }
    const NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let mut weekdays = [false; 7];
    match days {
        None => weekdays[..5].fill(true),
        Some(days) => {
            for day in days {
                let name = day.trim().to_lowercase();
                let index = NAMES.iter().position(|n| name.starts_with(n)).ok_or_else(|| {
                    ("flow.working_days", format!("`{day}` is not a weekday; use mon, tue, wed, thu, fri, sat, sun"))
                })?;
                weekdays[index] = true;
            }
        }
    }
    let utc_offset = match offset.map(str::trim) {
        None | Some("") | Some("Z") => 0,
        Some(text) => {
            let bad = || ("flow.utc_offset", format!("`{text}`: write +HH:MM or -HH:MM, e.g. \"+01:00\""));
            let (sign, rest) = match text.as_bytes().first() {
                Some(b'+') => (1, &text[1..]),
                Some(b'-') => (-1, &text[1..]),
                _ => return Err(bad()),
            };
            let seconds = clock(rest).filter(|s| *s <= 14 * 3600).ok_or_else(bad)?;
            sign * seconds
        }
    };
    let mut days_off = Vec::new();
    for day in holidays.unwrap_or_default() {
        let at = fulcrum_core::time::parse_instant(day, 0)
            .ok()
            .filter(|_| day.len() == 10)
            .ok_or_else(|| ("flow.holidays", format!("`{day}` is not a date (YYYY-MM-DD)")))?;
        days_off.push(at.div_euclid(86_400));
    }
    days_off.sort_unstable();
    days_off.dedup();
    Ok(fulcrum_core::calendar::WorkCalendar { utc_offset, day_start, day_end, weekdays, holidays: days_off })
}

/// Which release tags count as deployments of the main line
/// (`deploy.release_line`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleaseLine {
    /// Every release tag.
    All,
    /// Releases of the newest major version released so far: `8.3.1` after
    /// `9.0.0` is a backport to a maintenance line, not a deployment.
    Major,
    /// Releases of the newest `major.minor` released so far.
    Minor,
}

impl std::str::FromStr for ReleaseLine {
    type Err = String;
    fn from_str(s: &str) -> Result<ReleaseLine, String> {
        match s {
            "all" => Ok(ReleaseLine::All),
            "major" => Ok(ReleaseLine::Major),
            "minor" => Ok(ReleaseLine::Minor),
            other => Err(format!("`{other}` is not a release line; use `all`, `major` or `minor`")),
        }
    }
}

/// Default `deploy.tag_pattern`: plain versions (`v1.2.3`, `1.2`), no pre-release suffix.
pub const DEFAULT_TAG_PATTERN: &str = r"^v?[0-9]+(\.[0-9]+)+$";
/// Default `failure.hotfix_pattern`, matched against commit subjects.
pub const DEFAULT_HOTFIX_PATTERN: &str = r"(?i)\bhot-?fix";
/// Default bot patterns: case-insensitive substrings of an author's name or
/// e-mail, or, when they start with `-` or `_`, suffixes of the name or of
/// the e-mail's local part (`ci-bot`, `Jenkins_Bot`, `deploy_bot`).
pub const DEFAULT_BOT_PATTERNS: &[&str] = &["[bot]", "dependabot", "renovate", "github-actions", "-bot", "_bot"];

/// Default `agents.names`: author names (compared whole, case-insensitive)
/// of coding agents.
pub const DEFAULT_AGENT_NAMES: &[&str] = &[
    "claude",
    "claude code",
    "copilot",
    "github copilot",
    "jules",
    "devin",
    "codex",
    "openai codex",
    "aider",
    "cursor agent",
];
/// Default `agents.emails`: substrings of coding agents' e-mails.
pub const DEFAULT_AGENT_EMAILS: &[&str] = &[
    "noreply@anthropic.com",
    "+copilot@users.noreply.github.com",
    "copilot-swe-agent",
    "jules[bot]",
    "google-labs-jules",
    "devin-ai-integration",
    "codex@openai.com",
    "chatgpt-codex-connector",
    "cursoragent@cursor.com",
];

/// Default `report.min_deployments`: a change failure rate over fewer deployments gets no tier.
pub const DEFAULT_MIN_DEPLOYMENTS: usize = 10;
/// Default `report.min_changes`: lead time over fewer changes gets no tier.
pub const DEFAULT_MIN_CHANGES: usize = 10;
/// Default `report.min_recoveries`: recovery time over fewer recoveries gets no tier.
pub const DEFAULT_MIN_RECOVERIES: usize = 5;

/// Default `deploy.env_pattern`: production environments.
pub const DEFAULT_ENV_PATTERN: &str = r"(?i)^(prod|production|live)$";
/// Default `deploy.ci_pattern`: CI workflows and jobs that deploy.
pub const DEFAULT_CI_PATTERN: &str = r"(?i)\bdeploy";

/// The effective configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the configuration came from (a file, or `defaults`).
    pub source: String,
    /// `deploy.mode`.
    pub deploy_mode: DeployMode,
    /// `deploy.tag_pattern`, as written.
    pub tag_pattern: String,
    /// Compiled `deploy.tag_pattern`.
    pub tag_regex: regex::Regex,
    /// `deploy.branch`: trunk mode's branch; `None` means the branch `HEAD` names.
    pub branch: Option<String>,
    /// `deploy.service`: `None` means the repository's directory name.
    pub service: Option<String>,
    /// `failure.hotfix_pattern`, as written.
    pub hotfix_pattern: String,
    /// Compiled `failure.hotfix_pattern`.
    pub hotfix_regex: regex::Regex,
    /// `failure.patch_window`, seconds: a patch release this soon after the release it patches marks
    /// that release as a likely failure; `None` when off (`"0"`).
    pub patch_window: Option<i64>,
    /// `deploy.release_line`: which release tags are deployments of the main line.
    pub release_line: ReleaseLine,
    /// `report.window`: the default `--since`.
    pub window: String,
    /// `report.average`.
    pub average: fulcrum_core::stats::Average,
    /// `report.benchmark`.
    pub benchmark: fulcrum_core::tiers::BenchmarkYear,
    /// `report.min_deployments`: fewest deployments for the change failure rate to get a tier.
    pub min_deployments: usize,
    /// `report.min_changes`: fewest changes for lead time to get a tier.
    pub min_changes: usize,
    /// `report.min_recoveries`: fewest recoveries for recovery time to get a tier.
    pub min_recoveries: usize,
    /// `bots.patterns`, lower-cased.
    pub bot_patterns: Vec<String>,
    /// `identities.aliases`: e-mail (lower-cased) → the e-mail it merges into.
    pub aliases: std::collections::BTreeMap<String, String>,
    /// `knowledge.require_language`: only files of a recognised programming or markup language count.
    pub require_language: bool,
    /// `knowledge.inactive_after`, seconds: people with no commit for longer count as gone in the
    /// active truck factor; `None` when switched off (`"0"`).
    pub inactive_after: Option<i64>,
    /// `agents.names`, lower-cased: author names (whole) of coding agents.
    pub agent_names: Vec<String>,
    /// `agents.emails`, lower-cased: substrings of coding agents' e-mails.
    pub agent_emails: Vec<String>,
    /// `knowledge.exclude`: extra globs left out of knowledge analysis.
    pub knowledge_exclude: Vec<String>,
    /// `knowledge.include`: globs kept even when a default rule leaves them out.
    pub knowledge_include: Vec<String>,
    /// `hotspots.window`: default `--since` of `hotspots`.
    pub hotspots_window: String,
    /// `[brief]`: hours per engineer-day, the hourly rate and its currency.
    pub brief: crate::analyses::brief::BriefSettings,
    /// `brief.post_every_days`: the server posts the digest (the brief over
    /// that many days) to `FULCRUM_BRIEF_WEBHOOK` this often (default 7).
    pub brief_every_days: u32,
    /// `sync.interval`: minutes between the team server's background
    /// syncs (default 15; 0: only at start and when asked).
    pub sync_interval: u64,
    /// `hotspots.min_shared`: commits two files must share to be coupled.
    pub min_shared: usize,
    /// `hotspots.max_changeset`: commits touching more files are left out of coupling.
    pub max_changeset: usize,
    /// `hotspots.limit`: rows shown.
    pub hotspots_limit: usize,
    /// `deploy.env_pattern`, as written.
    pub env_pattern: String,
    /// Compiled `deploy.env_pattern`: environments that are production.
    pub env_regex: regex::Regex,
    /// Compiled `deploy.ci_pattern`: CI workflow or job names that deploy.
    pub ci_regex: regex::Regex,
    /// `incident.labels`: issue labels that mark an incident (lower-cased).
    pub incident_labels: Vec<String>,
    /// `incident.link_window`, seconds.
    pub link_window: i64,
    /// `flow.stale_days`.
    pub stale_days: u32,
    /// `flow.working_hours` (with `working_days`, `utc_offset`, `holidays`):
    /// working agreements in working time; `None`: calendar time.
    pub calendar: Option<fulcrum_core::calendar::WorkCalendar>,
    /// `flow.pickup_target`, seconds.
    pub pickup_target: i64,
    /// `flow.review_target`, seconds, if any.
    pub review_target: Option<i64>,
    /// `flow.max_size`, changed lines.
    pub max_size: u64,
    /// `check.fail_if`: the rules `fulcrum check` fails on, validated.
    pub check_rules: Vec<String>,
    /// `[[source]]` entries (those an untrusted file may run).
    pub sources: Vec<SourceFile>,
    /// `focus.min_group`: team figures about people (the pace) are shown
    /// only for weeks with at least this many people (default 5, never below 3).
    pub min_group: usize,
    /// `[[person]]` entries: calendars for `fulcrum focus`.
    pub people: Vec<PersonFile>,
    /// Work items' status names and their category: `[items]` first, then
    /// the names every tracker uses; lower-cased.
    pub item_statuses: Vec<(String, fulcrum_core::items::Category)>,
    /// `pulse.min_group`: a survey's results (and the team's learning
    /// hours) are shown only with at least this many people (default 5,
    /// never below 3).
    pub pulse_min_group: usize,
    /// `[[team]]` entries, in the file's order.
    pub teams: Vec<Team>,
    /// `[[repository]]` paths (and clones' directories): repositories the
    /// sync workers keep synced.
    pub repositories: Vec<PathBuf>,
    /// Repositories cloned from a URL (`[[repository]] url`, or a URL in a
    /// `[[team]]`'s repositories).
    pub mirrors: Vec<Mirror>,
    /// What was ignored of the file and why (an untrusted repository file's
    /// `token_command`, `token_env` or `base_url`); printed by commands that sync.
    pub ignored: Vec<String>,
}

/// Values given on the command line, which win over the file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--deploy-mode`.
    pub deploy_mode: Option<String>,
    /// `--tag-pattern`.
    pub tag_pattern: Option<String>,
    /// `--hotfix-pattern`.
    pub hotfix_pattern: Option<String>,
    /// `--benchmark`.
    pub benchmark: Option<String>,
    /// `--average`.
    pub average: Option<String>,
}

/// `[[team]]` entries checked (a name, unique; something to report on) and
/// their repository paths resolved against the file's directory.
fn resolve_teams(teams: &[TeamFile], source: &str) -> Result<Vec<Team>, ConfigError> {
    let error = |key: String, message: String| ConfigError::Value { source_name: source.to_owned(), key, message };
    let base = Path::new(source).parent().filter(|_| source != "defaults").unwrap_or(Path::new(""));
    let mut out: Vec<Team> = Vec::new();
    for team in teams {
        let name = team.name.trim();
        if name.is_empty() {
            return Err(error("team.name".into(), "a [[team]] needs a name".into()));
        }
        if out.iter().any(|t| t.name == name) {
            return Err(error(format!("team.{name}"), "two [[team]] entries have this name; give each its own".into()));
        }
        if team.repositories.is_empty() && team.services.is_empty() {
            return Err(error(
                format!("team.{name}"),
                "a team needs `repositories` (git paths) or `services` (stored events) to report on".into(),
            ));
        }
        out.push(Team {
            name: name.to_owned(),
            repositories: team
                .repositories
                .iter()
                .map(|r| {
                    if looks_like_url(r) {
                        mirror_path(r).ok_or_else(|| {
                            error(format!("team.{name}.repositories"), format!("`{r}`: no directory to clone it into"))
                        })
                    } else if Path::new(r).is_absolute() {
                        Ok(PathBuf::from(r))
                    } else {
                        Ok(base.join(r))
                    }
                })
                .collect::<Result<_, _>>()?,
            services: team.services.clone(),
            members: team.members.clone(),
            leads: team.leads.clone(),
        });
    }
    Ok(out)
}

/// `[[repository]]` entries as paths (clones: their directory).
fn resolve_repositories(entries: &[RepositoryFile], source: &str) -> Result<Vec<PathBuf>, ConfigError> {
    let base = Path::new(source).parent().filter(|_| source != "defaults").unwrap_or(Path::new(""));
    let mut out = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let key = format!("repository[{i}]");
        let error = |message: String| ConfigError::Value { source_name: source.to_owned(), key: key.clone(), message };
        let path = match (&entry.path, &entry.url) {
            (Some(path), None) if !path.trim().is_empty() => {
                if Path::new(path).is_absolute() {
                    PathBuf::from(path)
                } else {
                    base.join(path)
                }
            }
            (None, Some(url)) => {
                mirror_path(url).ok_or_else(|| error(format!("`{url}`: no directory to clone it into")))?
            }
            _ => return Err(error("give a `path` (a local repository) or a `url` (to clone), one of the two".into())),
        };
        out.push(path);
    }
    Ok(out)
}

/// The clones a configuration asks for: `[[repository]] url`s and URLs
/// among `[[team]]` repositories; each URL checked.
fn mirrors_of(entries: &[RepositoryFile], teams: &[TeamFile], source: &str) -> Result<Vec<Mirror>, ConfigError> {
    let mut urls: Vec<(String, String)> = entries
        .iter()
        .enumerate()
        .filter_map(|(i, e)| Some((format!("repository[{i}].url"), e.url.clone()?)))
        .collect();
    for team in teams {
        for r in team.repositories.iter().filter(|r| looks_like_url(r)) {
            urls.push((format!("team.{}.repositories", team.name.trim()), r.clone()));
        }
    }
    let mut out: Vec<Mirror> = Vec::new();
    for (key, url) in urls {
        let url = url.trim().to_owned();
        if !is_clone_url(&url) {
            return Err(ConfigError::Value {
                source_name: source.to_owned(),
                key,
                message: format!(
                    "`{}`: not a clone URL fulcrum uses; write https://HOST/PATH, ssh://HOST/PATH, git@HOST:PATH or \
                     file:///PATH",
                    redact_url(&url)
                ),
            });
        }
        let path = mirror_path(&url).ok_or_else(|| ConfigError::Value {
            source_name: source.to_owned(),
            key: key.clone(),
            message: format!("`{}`: no data directory to clone it into (set HOME or XDG_DATA_HOME)", redact_url(&url)),
        })?;
        if !out.iter().any(|m| m.url == url) {
            out.push(Mirror { url, path });
        }
    }
    Ok(out)
}

impl Config {
    /// The team `name`, or an error naming the teams there are.
    pub fn team(&self, name: &str) -> Result<&Team, ConfigError> {
        self.teams.iter().find(|t| t.name == name).ok_or_else(|| ConfigError::Value {
            source_name: self.source.clone(),
            key: "team".to_owned(),
            message: if self.teams.is_empty() {
                format!("no team `{name}`: this configuration has no [[team]] entries (pass --config with the organisation's file)")
            } else {
                format!(
                    "no team `{name}`; the teams are {}",
                    self.teams.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ")
                )
            },
        })
    }

    /// Loads `explicit` if given, else `<repo>/fulcrum.toml` if it exists,
    /// else the defaults; then applies `overrides`.
    ///
    /// Trust: a file named with `--config` is the user's own and trusted. A
    /// repository's `fulcrum.toml` may come from anyone who can push to it:
    /// its metric settings apply, but a `[[source]]` that sets
    /// `token_command`, `token_env` or `base_url` (which run a command or
    /// choose where a token goes) is left out, and said so in
    /// [`Config::ignored`], unless the user trusted the file as it is now
    /// (`fulcrum trust`).
    pub fn load(explicit: Option<&Path>, repo: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
        let candidate = match explicit {
            Some(path) => Some((path.to_owned(), true)),
            None => repo.map(|r| r.join("fulcrum.toml")).filter(|p| p.is_file()).map(|p| (p, false)),
        };
        let (file, source) = match candidate {
            Some((path, explicit)) => {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| ConfigError::Read { path: path.clone(), reason: e.to_string() })?;
                let mut file: File = toml::from_str(&text)
                    .map_err(|e| ConfigError::Parse { path: path.clone(), message: e.to_string().trim().to_owned() })?;
                let mut ignored = Vec::new();
                // A calendar is read from where the file says: a feed's address is a
                // secret, a path any file the user can read. Only a trusted file chooses.
                if !explicit
                    && file.person.iter().any(|p| !p.calendars.is_empty())
                    && crate::trust::check(&path, text.as_bytes()) != crate::trust::Verdict::Trusted
                {
                    for person in file.person.iter_mut().filter(|p| !p.calendars.is_empty()) {
                        ignored.push(format!(
                            "{}: the calendars of [[person]] {} left out: this repository's configuration is not \
                             trusted to choose files or feeds to read; review the file, then run `fulcrum trust {}` \
                             (or pass it with --config)",
                            path.display(),
                            person.name,
                            path.display()
                        ));
                        person.calendars.clear();
                    }
                }
                // A URL to clone from makes fulcrum fetch from anywhere: only a trusted file chooses.
                let clones = file.repository.iter().any(|r| r.url.is_some())
                    || file.team.iter().any(|t| t.repositories.iter().any(|r| looks_like_url(r)));
                if !explicit && clones && crate::trust::check(&path, text.as_bytes()) != crate::trust::Verdict::Trusted
                {
                    ignored.push(format!(
                        "{}: clone URLs left out ([[repository]] url, URLs in [[team]] repositories): this \
                         repository's configuration is not trusted to choose what to fetch; review the file, then run \
                         `fulcrum trust {}` (or pass it with --config)",
                        path.display(),
                        path.display()
                    ));
                    file.repository.retain(|r| r.url.is_none());
                    for team in &mut file.team {
                        team.repositories.retain(|r| !looks_like_url(r));
                    }
                }
                if !explicit && file.source.iter().any(|s| !s.secret_keys().is_empty()) {
                    match crate::trust::check(&path, text.as_bytes()) {
                        crate::trust::Verdict::Trusted => {}
                        verdict => {
                            file.source.retain(|source| {
                                let keys = source.secret_keys();
                                if !keys.is_empty() {
                                    ignored.push(format!(
                                        "{}: [[source]] {} {} left out: it sets {}, and this repository's \
                                         configuration is {}; review the file, then run `fulcrum trust {}` \
                                         (or pass it with --config)",
                                        path.display(),
                                        source.kind,
                                        source.repo,
                                        keys.join(", "),
                                        verdict.describe(),
                                        path.display()
                                    ));
                                }
                                keys.is_empty()
                            });
                        }
                    }
                }
                let mut config = Config::resolve(file, path.display().to_string(), overrides)?;
                config.ignored = ignored;
                return Ok(config);
            }
            None => (File::default(), "defaults".to_owned()),
        };
        Config::resolve(file, source, overrides)
    }

    fn resolve(file: File, source: String, overrides: &Overrides) -> Result<Config, ConfigError> {
        let value_error = |from_cli: bool, key: &str, message: String| ConfigError::Value {
            source_name: if from_cli { "command line".to_owned() } else { source.clone() },
            key: key.to_owned(),
            message,
        };
        let pick = |cli: &Option<String>, file: Option<String>| match cli {
            Some(v) => (true, Some(v.clone())),
            None => (false, file),
        };
        let (cli, mode) = pick(&overrides.deploy_mode, file.deploy.mode);
        let deploy_mode = match mode {
            Some(m) => m.parse().map_err(|e| value_error(cli, "deploy.mode", e))?,
            None => DeployMode::Tags,
        };
        let (cli, pattern) = pick(&overrides.tag_pattern, file.deploy.tag_pattern);
        let tag_pattern = pattern.unwrap_or_else(|| DEFAULT_TAG_PATTERN.to_owned());
        let tag_regex = regex::Regex::new(&tag_pattern)
            .map_err(|e| value_error(cli, "deploy.tag_pattern", format!("not a valid regular expression: {e}")))?;
        let (cli, pattern) = pick(&overrides.hotfix_pattern, file.failure.hotfix_pattern);
        let hotfix_pattern = pattern.unwrap_or_else(|| DEFAULT_HOTFIX_PATTERN.to_owned());
        let hotfix_regex = regex::Regex::new(&hotfix_pattern)
            .map_err(|e| value_error(cli, "failure.hotfix_pattern", format!("not a valid regular expression: {e}")))?;
        let (cli, average) = pick(&overrides.average, file.report.average);
        let average = match average {
            Some(a) => a.parse().map_err(|e| value_error(cli, "report.average", format!("{e}")))?,
            None => fulcrum_core::stats::Average::default(),
        };
        let (cli, benchmark) = pick(&overrides.benchmark, file.report.benchmark);
        let benchmark = match benchmark {
            Some(b) => b.parse().map_err(|e| value_error(cli, "report.benchmark", format!("{e}")))?,
            None => fulcrum_core::tiers::BenchmarkYear::default(),
        };
        let window = file.report.window.unwrap_or_else(|| "90.days".to_owned());
        fulcrum_core::time::parse_instant(&window, 0)
            .map_err(|e| value_error(false, "report.window", e.to_string()))?;
        let bot_patterns = file
            .bots
            .patterns
            .unwrap_or_else(|| DEFAULT_BOT_PATTERNS.iter().map(|s| (*s).to_owned()).collect())
            .into_iter()
            .map(|p| p.to_lowercase())
            .collect();
        let hotspots_window = file.hotspots.window.unwrap_or_else(|| "12.months".to_owned());
        fulcrum_core::time::parse_instant(&hotspots_window, 0)
            .map_err(|e| value_error(false, "hotspots.window", e.to_string()))?;
        let min_shared = file.hotspots.min_shared.unwrap_or(5);
        if min_shared == 0 {
            return Err(value_error(false, "hotspots.min_shared", "must be at least 1".to_owned()));
        }
        let hours_per_day = file.brief.hours_per_day.unwrap_or(8.0);
        if !(hours_per_day > 0.0 && hours_per_day <= 24.0) {
            return Err(value_error(false, "brief.hours_per_day", "must be more than 0 and at most 24".to_owned()));
        }
        if let Some(rate) = file.brief.hourly_rate
            && !(rate.is_finite() && rate > 0.0)
        {
            return Err(value_error(false, "brief.hourly_rate", "must be a positive amount".to_owned()));
        }
        let brief_every_days = file.brief.post_every_days.unwrap_or(7);
        if brief_every_days == 0 {
            return Err(value_error(false, "brief.post_every_days", "must be 1 or more".to_owned()));
        }
        let brief = crate::analyses::brief::BriefSettings {
            hours_per_day,
            hourly_rate: file.brief.hourly_rate,
            currency: file.brief.currency.clone().unwrap_or_else(|| "EUR".to_owned()),
        };
        let knowledge_exclude = file.knowledge.exclude.unwrap_or_default();
        let knowledge_include = file.knowledge.include.unwrap_or_default();
        fulcrum_core::file_filter::FileFilter::new(&knowledge_exclude, &knowledge_include)
            .map_err(|e| value_error(false, "knowledge.exclude / knowledge.include", e.to_string()))?;
        let aliases = file
            .identities
            .aliases
            .unwrap_or_default()
            .into_iter()
            .map(|(from, to)| (from.to_lowercase(), to.to_lowercase()))
            .collect();
        let regex = |key: &str, pattern: &str| {
            regex::Regex::new(pattern)
                .map_err(|e| value_error(false, key, format!("not a valid regular expression: {e}")))
        };
        let env_pattern = file.deploy.env_pattern.unwrap_or_else(|| DEFAULT_ENV_PATTERN.to_owned());
        let env_regex = regex("deploy.env_pattern", &env_pattern)?;
        let ci_pattern = file.deploy.ci_pattern.unwrap_or_else(|| DEFAULT_CI_PATTERN.to_owned());
        let ci_regex = regex("deploy.ci_pattern", &ci_pattern)?;
        let span = |key: &str, text: &str| -> Result<i64, ConfigError> {
            match fulcrum_core::time::parse_instant(text, 0) {
                Ok(t) if t < 0 && !text.contains('-') => Ok(-t),
                Ok(_) => Err(value_error(false, key, format!("`{text}` is not a span such as 7.days or 12.hours"))),
                Err(e) => Err(value_error(false, key, e.to_string())),
            }
        };
        let inactive_after = match file.knowledge.inactive_after.as_deref().unwrap_or("12.months").trim() {
            "0" | "off" => None,
            text => Some(span("knowledge.inactive_after", text)?),
        };
        let patch_window = match file.failure.patch_window.as_deref().unwrap_or("7.days").trim() {
            "0" | "off" => None,
            text => Some(span("failure.patch_window", text)?),
        };
        let release_line = match file.deploy.release_line.as_deref() {
            Some(text) => text.parse().map_err(|e| value_error(false, "deploy.release_line", e))?,
            None => ReleaseLine::Major,
        };
        let calendar = match &file.flow.working_hours {
            None => {
                for (key, set) in [
                    ("flow.working_days", file.flow.working_days.is_some()),
                    ("flow.utc_offset", file.flow.utc_offset.is_some()),
                    ("flow.holidays", file.flow.holidays.is_some()),
                ] {
                    if set {
                        return Err(value_error(
                            false,
                            key,
                            "needs flow.working_hours (e.g. \"09:00-17:00\")".to_owned(),
                        ));
                    }
                }
                None
            }
            Some(hours) => Some(
                work_calendar(
                    hours,
                    file.flow.working_days.as_deref(),
                    file.flow.utc_offset.as_deref(),
                    file.flow.holidays.as_deref(),
                )
                .map_err(|(key, message)| value_error(false, key, message))?,
            ),
        };
        let link_window = span("incident.link_window", file.incident.link_window.as_deref().unwrap_or("7.days"))?;
        let pickup_target = span("flow.pickup_target", file.flow.pickup_target.as_deref().unwrap_or("1.day"))?;
        let review_target = file.flow.review_target.as_deref().map(|t| span("flow.review_target", t)).transpose()?;
        for (i, source) in file.source.iter().enumerate() {
            let key = format!("source[{i}]");
            let repo_error =
                |what: &str| value_error(false, &format!("{key}.repo"), format!("`{}`: {what}", source.repo));
            let parts = source.repo.split('/').filter(|p| !p.is_empty()).count();
            let blank = source.repo.trim().is_empty() || source.repo.contains(char::is_whitespace);
            if source.repo.ends_with("/*") && !matches!(source.kind.as_str(), "github" | "gitlab") {
                return Err(repo_error("`/*` (every repository of an owner) works for github and gitlab sources only"));
            }
            match source.kind.as_str() {
                "github" | "gitlab" | "bitbucket" if parts < 2 => {
                    return Err(repo_error(
                        "expected `owner/name` (GitHub), `group/project` (GitLab) or `workspace/repository` (Bitbucket)",
                    ));
                }
                "github" | "gitlab" | "bitbucket" => {
                    let allowed: &[&str] = if source.kind == "bitbucket" { &[] } else { &["rest", "graphql"] };
                    if let Some(api) = &source.api
                        && !allowed.contains(&api.as_str())
                    {
                        return Err(value_error(
                            false,
                            &format!("{key}.api"),
                            if allowed.is_empty() {
                                format!("`{api}`: api is for github and gitlab (rest, graphql) and jira sources")
                            } else {
                                format!("`{api}`: use rest or graphql")
                            },
                        ));
                    }
                }
                "jira" => {
                    if blank || source.repo.contains('/') {
                        return Err(repo_error("a Jira source's repo is its project key (`SHOP`)"));
                    }
                    if source.base_url.is_none() {
                        return Err(value_error(
                            false,
                            &format!("{key}.base_url"),
                            "a Jira source needs the site's address (https://acme.atlassian.net, or the Data Center \
                             URL)"
                                .to_owned(),
                        ));
                    }
                    if let Some(api) = &source.api
                        && !matches!(api.as_str(), "cloud" | "datacenter")
                    {
                        return Err(value_error(
                            false,
                            &format!("{key}.api"),
                            format!("`{api}`: use cloud or datacenter"),
                        ));
                    }
                }
                "circleci" if parts != 3 || blank => {
                    return Err(repo_error("expected the project slug `gh/organization/repository` (CircleCI)"));
                }
                "circleci" => {}
                "jenkins" if blank => {
                    return Err(repo_error("expected the job's path, folders included (`team/deploy`)"));
                }
                "jenkins" if source.base_url.is_none() => {
                    return Err(value_error(
                        false,
                        &format!("{key}.base_url"),
                        "a Jenkins source needs the server's address (https://ci.example.com)".to_owned(),
                    ));
                }
                "jenkins" => {}
                "azure" if parts != 3 || blank => {
                    return Err(repo_error("expected `organization/project/repository` (Azure DevOps)"));
                }
                "azure" => {}
                "pagerduty" | "opsgenie" if blank || source.repo.contains('/') => {
                    return Err(repo_error(
                        "a PagerDuty or Opsgenie source's repo is the id of the service whose incidents count \
                         (`PIKL83L`, or an Opsgenie service's UUID)",
                    ));
                }
                "pagerduty" | "opsgenie" => {}
                other => {
                    return Err(value_error(
                        false,
                        &format!("{key}.kind"),
                        format!(
                            "`{other}`: use `github`, `gitlab`, `bitbucket`, `azure`, `jenkins`, `circleci`, `jira`, \
                             `pagerduty` or `opsgenie`"
                        ),
                    ));
                }
            }
            if let Some(since) = &source.since {
                fulcrum_core::time::parse_instant(since, 0)
                    .map_err(|e| value_error(false, &format!("{key}.since"), e.to_string()))?;
            }
            if let Some(base) = &source.base_url {
                let Some((scheme, host, _)) = crate::sources::http::origin(base) else {
                    return Err(value_error(
                        false,
                        &format!("{key}.base_url"),
                        format!("`{base}` is not an http:// or https:// URL (without user:password@)"),
                    ));
                };
                if scheme == "http"
                    && !crate::sources::http::is_loopback(&host)
                    && source.allow_insecure_http != Some(true)
                {
                    return Err(value_error(
                        false,
                        &format!("{key}.base_url"),
                        format!(
                            "`{base}` is plain http: the token would travel in clear text to {host}; use https, \
                             or set allow_insecure_http = true in this [[source]] if you accept that"
                        ),
                    ));
                }
            }
            if source.max_pages == Some(0) {
                return Err(value_error(false, &format!("{key}.max_pages"), "must be at least 1".to_owned()));
            }
        }
        Ok(Config {
            env_pattern,
            env_regex,
            ci_regex,
            incident_labels: file
                .incident
                .labels
                .unwrap_or_else(|| vec!["incident".to_owned()])
                .into_iter()
                .map(|l| l.to_lowercase())
                .collect(),
            link_window,
            stale_days: file.flow.stale_days.unwrap_or(fulcrum_core::flow::DEFAULT_STALE_DAYS),
            calendar,
            pickup_target,
            review_target,
            max_size: file.flow.max_size.unwrap_or(fulcrum_core::flow::DEFAULT_MAX_SIZE),
            check_rules: {
                let rules = file.check.fail_if.unwrap_or_default();
                for rule in &rules {
                    crate::analyses::check::parse(rule)
                        .map_err(|e| value_error(false, "check.fail_if", e.to_string()))?;
                }
                rules
            },
            sources: file.source,
            ignored: Vec::new(),
            aliases,
            require_language: file.knowledge.require_language.unwrap_or(true),
            inactive_after,
            agent_names: file
                .agents
                .names
                .unwrap_or_else(|| DEFAULT_AGENT_NAMES.iter().map(|s| (*s).to_owned()).collect())
                .into_iter()
                .map(|n| n.trim().to_lowercase())
                .collect(),
            agent_emails: file
                .agents
                .emails
                .unwrap_or_else(|| DEFAULT_AGENT_EMAILS.iter().map(|s| (*s).to_owned()).collect())
                .into_iter()
                .map(|e| e.trim().to_lowercase())
                .collect(),
            knowledge_exclude,
            knowledge_include,
            hotspots_window,
            teams: resolve_teams(&file.team, &source)?,
            repositories: resolve_repositories(&file.repository, &source)?,
            mirrors: mirrors_of(&file.repository, &file.team, &source)?,
            people: file.person.clone(),
            min_group: file.focus.min_group.unwrap_or(5).max(3),
            item_statuses: {
                use fulcrum_core::items::Category;
                let mut statuses = Vec::new();
                for (names, category) in [
                    (&file.items.todo, Category::Todo),
                    (&file.items.in_progress, Category::InProgress),
                    (&file.items.done, Category::Done),
                ] {
                    statuses.extend(names.iter().flatten().map(|n| (n.trim().to_lowercase(), category)));
                }
                statuses.extend(ITEM_STATUSES.iter().map(|(n, c)| ((*n).to_owned(), *c)));
                statuses
            },
            pulse_min_group: match file.pulse.min_group {
                None => fulcrum_core::pulse::MIN_GROUP_DEFAULT,
                Some(n) if n >= fulcrum_core::pulse::MIN_GROUP_FLOOR => n,
                Some(n) => {
                    return Err(ConfigError::Value {
                        source_name: source.clone(),
                        key: "pulse.min_group".into(),
                        message: format!("{n}: anonymity needs at least 3 people"),
                    });
                }
            },
            sync_interval: file.sync.interval.unwrap_or(15),
            brief_every_days,
            brief,
            min_shared,
            max_changeset: file.hotspots.max_changeset.unwrap_or(50).max(2),
            hotspots_limit: file.hotspots.limit.unwrap_or(20).max(1),
            source,
            deploy_mode,
            tag_pattern,
            tag_regex,
            branch: file.deploy.branch.filter(|b| !b.is_empty()),
            service: file.deploy.service.filter(|s| !s.is_empty()),
            hotfix_pattern,
            hotfix_regex,
            patch_window,
            release_line,
            window,
            average,
            benchmark,
            min_deployments: file.report.min_deployments.unwrap_or(DEFAULT_MIN_DEPLOYMENTS),
            min_changes: file.report.min_changes.unwrap_or(DEFAULT_MIN_CHANGES),
            min_recoveries: file.report.min_recoveries.unwrap_or(DEFAULT_MIN_RECOVERIES),
            bot_patterns,
        })
    }

    /// Whether a person is a coding agent (Claude, Copilot, Jules, Devin,
    /// Codex, …): their name is one of `agents.names`, or their e-mail
    /// contains one of `agents.emails`. Agents author nobody's knowledge.
    pub fn is_agent(&self, name: &str, email: &str) -> bool {
        let (name, email) = (name.trim().to_lowercase(), email.to_lowercase());
        self.agent_names.contains(&name) || (!email.is_empty() && self.agent_emails.iter().any(|e| email.contains(e)))
    }

    /// Whether a person is a bot by the configured patterns: a pattern is a
    /// substring of the name or e-mail, except one starting with `-` or `_`,
    /// which must end the name or the e-mail's local part (so `-bot` matches
    /// `ci-bot` but not `ci-botany`).
    pub fn is_bot(&self, name: &str, email: &str) -> bool {
        let (name, email) = (name.to_lowercase(), email.to_lowercase());
        let local = email.split('@').next().unwrap_or("");
        self.bot_patterns.iter().any(|p| {
            if p.starts_with(['-', '_']) {
                name.trim().ends_with(p.as_str()) || local.ends_with(p.as_str())
            } else {
                name.contains(p.as_str()) || email.contains(p.as_str())
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bot_suffixes_name_bots_and_only_bots() {
        let config = Config::resolve(File::default(), "defaults".into(), &Overrides::default()).unwrap();
        for (name, email) in [
            ("Jenkins_Bot", ""),
            ("ci-bot", ""),
            ("deploy_bot", ""),
            ("Release Runner", "deploy-bot@example.com"),
            ("renovate[bot]", ""),
        ] {
            assert!(config.is_bot(name, email), "{name} <{email}> is a bot");
        }
        for (name, email) in [("Abbot", ""), ("ci-botany", ""), ("Dana", "dana@bot-hosting.example"), ("sabot_age", "")]
        {
            assert!(!config.is_bot(name, email), "{name} <{email}> is a person");
        }
    }

    #[test]
    fn the_sync_interval_defaults_to_fifteen_minutes() {
        let config = Config::resolve(File::default(), "defaults".into(), &Overrides::default()).unwrap();
        assert_eq!(config.sync_interval, 15);
        let file: File = toml::from_str("[sync]\ninterval = 0\n").unwrap();
        let config = Config::resolve(file, "file".into(), &Overrides::default()).unwrap();
        assert_eq!(config.sync_interval, 0);
        assert!(toml::from_str::<File>("[sync]\nevery = 5\n").is_err(), "unknown keys are refused");
    }
}
