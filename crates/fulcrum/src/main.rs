//! fulcrum: one honest instrument panel for technical leaders.
//!
//! `main` parses flags, builds the effective settings, runs one command and
//! turns errors into exit codes: 0 ok, 1 failure, 2 bad input or usage.

use fulcrum::analyses::{check, explain, knowledge};
use fulcrum::sources::{git, github, http, import, sync};
use fulcrum::{app, config, init, progress, render, store, trust};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use fulcrum::error::UsageError;
use fulcrum_core::time::parse_instant;

/// mimalloc, not the system's allocator: reports build and drop millions of
/// small rows (an organisation's window at 2,000,000 pull requests: 6.9 s
/// and a peak of 1,275,948 KiB against 7.4-7.5 s and 1,348,652-1,407,516
/// KiB with glibc's).
/// Built without transparent huge pages (`no_thp`): with them, each 2 MiB
/// page faulted in is zeroed whole, and memory given back and taken again
/// was zeroed again (the same view 7.2-7.3 s, 3.6-3.9 s of it in the
/// kernel; without, 6.1 s, 1.2-1.4 s).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// DORA metrics and more from the data your team already has.
#[derive(Parser, Debug)]
#[command(name = "fulcrum", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    global: GlobalArgs,
}

#[derive(Args, Debug)]
struct GlobalArgs {
    /// Database file [default: $FULCRUM_DB, else $XDG_DATA_HOME/fulcrum/fulcrum.db,
    /// else ~/.local/share/fulcrum/fulcrum.db].
    #[arg(long, global = true, value_name = "PATH")]
    db: Option<PathBuf>,
    /// Configuration file [default: fulcrum.toml in the repository, if present].
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
}

/// The window of the commands that measure one.
#[derive(Args, Debug, Default)]
struct WindowArgs {
    /// Start of the window: a date (2025-01-31), a UTC time (2025-01-31T12:00:00Z)
    /// or a span before now (90.days, 12.weeks, 6.months, 1.year) [default: report.window,
    /// for hotspots hotspots.window].
    #[arg(long, value_name = "WHEN")]
    since: Option<String>,
    /// End of the window (exclusive), same forms as --since; never later than now [default: now].
    #[arg(long, value_name = "WHEN")]
    until: Option<String>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The delivery report (DORA): syncs the repository first; without one, reports the stored events.
    Report(ReportArgs),
    /// Sync the repository and every [[source]] of fulcrum.toml into the database (incremental; safe to interrupt).
    Sync(SyncCommandArgs),
    /// Knowledge risk: truck factor, who it rests on, knowledge map, departure impact.
    Knowledge(KnowledgeArgs),
    /// Hotspots (changes × size) and change coupling over the window [default --since: hotspots.window].
    Hotspots(HotspotsArgs),
    /// Import deployments, incidents and pull requests from a JSON Lines file (see README, "Events file").
    Import(ImportArgs),
    /// The pull-request value stream: coding, pickup, review and deploy times, bottleneck, WIP, review load.
    Flow(FlowArgs),
    /// A one-page brief for stakeholders: cost, risk, opportunity and wins, each figure with its formula.
    Brief(BriefArgs),
    /// Focus time from calendars: meeting, focus and fragmented hours, and the meetings that cost most.
    Focus(FocusArgs),
    /// When will N pull requests be merged, or how many by a date: Monte Carlo over the daily throughput.
    Forecast(ForecastArgs),
    /// Trust a repository's fulcrum.toml to choose token commands, token variables and base URLs.
    Trust(TrustArgs),
    /// What a metric means, how it is computed, the settings that change it and where its data comes from.
    Explain(ExplainArgs),
    /// Gate CI on the team's agreements: exits 1 when a rule of check.fail_if or --fail-if holds.
    Check(CheckArgs),
    /// Write a commented fulcrum.toml for a repository: host and repository from origin, deploy mode from its tags.
    Init(InitArgs),
    /// The team server: the JSON API and the delivery page, the repositories kept synced (this machine only).
    Serve(ServeArgs),
    /// API tokens of the team server, for scripts and webhooks: add (shown once), list, revoke.
    Token(TokenArgs),
    /// Accounts of the team server: add, list, passwd, remove (passwords are read from standard input).
    User(UserArgs),
    /// Repositories kept synced by `fulcrum sync --worker`: add DIR (every git repository under it), list.
    Repos(ReposArgs),
    /// Every [[team]] side by side: the five keys, the flow bottleneck and the truck factor, with the organisation's total.
    Org(OrgArgs),
    /// Copy a whole database into an empty one: an SQLite file into PostgreSQL (or back), history and all.
    Migrate(MigrateArgs),
    /// Goals measured by fulcrum's metrics: add (with a SMART check), list, show, record, close.
    Goal(GoalArgs),
    /// What is stored about a person: forget erases their identities, goals, check-ins and survey invitations.
    Person(PersonArgs),
}

#[derive(Args, Debug)]
struct GoalArgs {
    #[command(subcommand)]
    action: GoalAction,
}

#[derive(Subcommand, Debug)]
enum GoalAction {
    /// Set a goal: its metric's value now is the baseline; the SMART check is shown and kept.
    Add {
        /// What the goal is, in words.
        #[arg(long)]
        title: String,
        /// The metric measuring it (lead_time.p75, pickup.p75, deployment_frequency.per_week, truck_factor, ...);
        /// leave out for a manual goal, updated in check-ins.
        #[arg(long)]
        metric: Option<String>,
        /// Where it is measured: repo:PATH, team:NAME or service:NAME [default: the current directory's repository].
        #[arg(long)]
        scope: Option<String>,
        /// A directory of the repository (truck_factor only).
        #[arg(long)]
        directory: Option<String>,
        /// The target in the metric's unit: 8h, "<= 8h", ">= 5", 10% (the metric's better direction when bare).
        #[arg(long)]
        target: Option<String>,
        /// The due date, YYYY-MM-DD.
        #[arg(long)]
        due: String,
        /// Who owns it: a person's name, or team:NAME [default: the scope's team].
        #[arg(long)]
        owner: Option<String>,
        /// The goal (id) it serves.
        #[arg(long)]
        parent: Option<i64>,
        /// Why it matters (the R of SMART, when there is no parent goal).
        #[arg(long)]
        reason: Option<String>,
        /// private (owner and their lead), team or everyone [default: private for a person, team for a team].
        #[arg(long)]
        visibility: Option<String>,
        /// The trailing window the metric is measured over, in days.
        #[arg(long = "window", value_name = "DAYS", default_value_t = 28)]
        window_days: i64,
        /// Save it even when the scope has no data now or the target is already met.
        #[arg(long)]
        anyway: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = render::Format::Terminal)]
        format: render::Format,
    },
    /// The open goals (with --all the closed ones too), with their progress.
    List {
        /// Closed goals too.
        #[arg(long)]
        all: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = render::Format::Terminal)]
        format: render::Format,
    },
    /// One goal: SMART check, baseline, values, progress and projection.
    Show {
        /// The goal's id.
        id: i64,
        /// Output format.
        #[arg(long, value_enum, default_value_t = render::Format::Terminal)]
        format: render::Format,
    },
    /// Measure every open goal now (done after every sync) and print them.
    Measure {
        /// Output format.
        #[arg(long, value_enum, default_value_t = render::Format::Terminal)]
        format: render::Format,
    },
    /// Record today's value of a manual goal (and a note), or a note on a measured one.
    Record {
        /// The goal's id.
        id: i64,
        /// The value (manual goals only).
        #[arg(long)]
        value: Option<f64>,
        /// A comment.
        #[arg(long)]
        note: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = render::Format::Terminal)]
        format: render::Format,
    },
    /// Close a goal: achieved or missed from its last value, or the outcome you give.
    Close {
        /// The goal's id.
        id: i64,
        /// How it ended (achieved, missed, dropped, or words).
        #[arg(long)]
        outcome: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = render::Format::Terminal)]
        format: render::Format,
    },
}

#[derive(Args, Debug)]
struct PersonArgs {
    #[command(subcommand)]
    action: PersonAction,
}

#[derive(Subcommand, Debug)]
enum PersonAction {
    /// Erase a person: their names and e-mails in the history become a pseudonym (also in later syncs); their
    /// goals, check-ins, survey invitations and account are deleted. Anonymous survey answers stay anonymous.
    Forget {
        /// Every identity of the person: account name, e-mails, names, host logins.
        #[arg(required = true)]
        identities: Vec<String>,
        /// Do it (without it, only says what would be erased).
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Args, Debug)]
struct SyncCommandArgs {
    #[command(flatten)]
    sync: SyncArgs,
    /// Work as a sync worker: take jobs (repositories registered with `fulcrum repos add`, [[team]] repositories,
    /// the [[source]]s) from the database, with any number of other workers on this machine or others.
    #[arg(long)]
    worker: bool,
    /// With --worker: sync every job once, then exit.
    #[arg(long, requires = "worker")]
    once: bool,
    /// With --worker: seconds a claimed job stays this worker's without renewal (renewed every third of it).
    #[arg(long, value_name = "SECONDS", default_value_t = 60, requires = "worker")]
    lease: u32,
    /// With --worker: its name in the jobs table [default: HOST:PID].
    #[arg(long, value_name = "NAME", requires = "worker")]
    name: Option<String>,
}

#[derive(Args, Debug)]
struct ReposArgs {
    #[command(subcommand)]
    action: ReposAction,
}

#[derive(Subcommand, Debug)]
enum ReposAction {
    /// Register every git repository under a directory as a sync job (for `fulcrum sync --worker`), or a clone URL
    /// (https://, ssh://, git@host:path, file:///) that the workers clone into the data directory and fetch.
    Add {
        /// The directory.
        dir: PathBuf,
        /// How many directories down to look.
        #[arg(long, default_value_t = 3)]
        depth: usize,
    },
    /// The registered jobs: when each was last synced, by which worker, and how it ended.
    List {
        /// Output format (terminal or json).
        #[arg(long, value_enum, default_value = "terminal")]
        format: render::Format,
    },
}

#[derive(Args, Debug)]
struct OrgArgs {
    #[command(flatten)]
    window: WindowArgs,
    /// Order of the teams: team, deployment_frequency, lead_time, change_failure_rate, recovery_time, rework_rate or truck_factor.
    #[arg(long, value_name = "COLUMN", default_value = "team")]
    sort: String,
    /// Report the stored history without syncing the teams' repositories first.
    #[arg(long)]
    no_sync: bool,
    /// Deployments from tags or trunk (overrides deploy.mode).
    #[arg(long, value_name = "MODE")]
    deploy_mode: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = render::Format::Terminal)]
    format: render::Format,
}

#[derive(Args, Debug)]
struct MigrateArgs {
    /// The database to copy: an SQLite file or a postgres:// URL (left as it is, but for a schema upgrade).
    #[arg(long, value_name = "DB")]
    from: PathBuf,
    /// The database to fill: a postgres:// URL or an SQLite file, holding no fulcrum data yet.
    #[arg(long, value_name = "DB")]
    to: PathBuf,
}

#[derive(Args, Debug)]
struct UserArgs {
    #[command(subcommand)]
    action: UserAction,
}

#[derive(Subcommand, Debug)]
enum UserAction {
    /// Make an account; its password is the first line of standard input (12 characters at least).
    Add {
        /// The name it logs in with.
        name: String,
        /// admin (accounts, tokens, configuration), lead, member (the team's pages) or viewer (the delivery overview).
        #[arg(long, value_name = "ROLE", required = true)]
        role: String,
    },
    /// The accounts and their roles.
    List,
    /// Set an account's password (the first line of standard input); its sessions end.
    Passwd {
        /// The account.
        name: String,
    },
    /// Remove an account; its sessions end at once.
    Remove {
        /// The account.
        name: String,
    },
}

#[derive(Args, Debug)]
struct TokenArgs {
    #[command(subcommand)]
    action: TokenAction,
}

#[derive(Subcommand, Debug)]
enum TokenAction {
    /// Make a token; it is printed once and only its hash is kept.
    Add {
        /// A name for it (the script or tool that uses it).
        name: String,
        /// What it may do: read, events:write (repeatable).
        #[arg(long, value_name = "SCOPE", required = true)]
        scope: Vec<String>,
    },
    /// The tokens, their scopes and whether they are revoked.
    List,
    /// Revoke a token: it stops working at once.
    Revoke {
        /// Its name.
        name: String,
    },
}

#[derive(Args, Debug)]
struct ServeArgs {
    #[command(flatten)]
    repo: RepoArgs,
    /// The address to listen on (loopback only until accounts exist).
    #[arg(long, default_value = "127.0.0.1:7878", value_name = "ADDR")]
    listen: std::net::SocketAddr,
    /// Minutes between background syncs of the repositories and sources
    /// [default: `sync.interval`, else 15]; 0: only at start and on "Sync now".
    #[arg(long, value_name = "MINUTES")]
    sync_every: Option<u64>,
}

#[derive(Args, Debug)]
struct InitArgs {
    #[command(flatten)]
    repo: RepoArgs,
    /// Show the file without writing it.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Args, Debug)]
struct CheckArgs {
    #[command(flatten)]
    sync: SyncArgs,
    #[command(flatten)]
    window: WindowArgs,
    /// Check what is stored without syncing first.
    #[arg(long)]
    no_sync: bool,
    /// A rule that fails the check when it holds: METRIC OP VALUE, e.g. "truck_factor < 2",
    /// "lead_time > 2d", "change_failure_rate > 15%" (repeatable; added to check.fail_if).
    #[arg(long, value_name = "RULE")]
    fail_if: Vec<String>,
    /// Output format (terminal or json).
    #[arg(long, value_enum, default_value = "terminal")]
    format: render::Format,
}

/// Rules of `fulcrum check` held (exit code 1).
#[derive(Debug, thiserror::Error)]
#[error("check failed: {failed} of {rules} rules hold")]
struct CheckFailed {
    failed: usize,
    rules: usize,
}

#[derive(Args, Debug)]
struct ExplainArgs {
    /// The metric: deployment-frequency, lead-time, change-failure-rate, recovery-time, rework-rate,
    /// truck-factor, fragmentation, hotspots, coupling, cycle-time, review-load, wip.
    #[arg(value_name = "METRIC")]
    metric: String,
    /// The repository whose fulcrum.toml gives the effective settings [default: .].
    #[arg(long, value_name = "PATH")]
    repo: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct TrustArgs {
    /// The fulcrum.toml to trust, or the repository holding it.
    #[arg(value_name = "PATH")]
    path: PathBuf,
}

#[derive(Args, Debug)]
struct ImportArgs {
    /// The JSON Lines file, or - for standard input.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Source name stored with the items; re-importing with the same name replaces them by id.
    #[arg(long, default_value = "import", value_name = "NAME")]
    source: String,
    /// After a large import (100,000 pull requests or more, at least half of those stored), rewrite an
    /// SQLite file in order (VACUUM): a little less memory for later reads, about a third more time.
    #[arg(long)]
    compact: bool,
}

#[derive(Args, Debug)]
struct FlowArgs {
    #[command(flatten)]
    window: WindowArgs,
    /// A git repository to find deployments in (tags or trunk) when no deployment events are stored,
    /// and whose pull requests to report [default: the current directory if it is one, else everything stored].
    #[arg(long, value_name = "PATH")]
    repo: Option<PathBuf>,
    /// Only these services (deployments, incidents) and repositories (pull requests); repeatable.
    #[arg(long, value_name = "NAME")]
    service: Vec<String>,
    /// A [[team]] of the configuration: its repositories (rolled up) and services instead of --repo and --service.
    #[arg(long, value_name = "NAME", conflicts_with = "service")]
    team: Option<String>,
    /// Use what is stored without syncing the repository first.
    #[arg(long)]
    no_sync: bool,
    /// Output format (`json` includes one row per merged pull request, stages in seconds).
    #[arg(long, value_enum, default_value = "terminal")]
    format: render::Format,
    /// How deployments are found in git: `tags` or `trunk` (overrides deploy.mode).
    #[arg(long, value_name = "MODE")]
    deploy_mode: Option<String>,
}

/// The brief's formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum BriefFormat {
    /// For chat and e-mail.
    Markdown,
    /// One self-contained file (inline styles and chart, no script).
    Html,
    /// The HTML printed by headless Chromium (needs `chromium`); with --output.
    Pdf,
    /// Every figure with its formula and source.
    Json,
}

#[derive(Args, Debug)]
struct BriefArgs {
    #[command(flatten)]
    window: WindowArgs,
    /// A git repository (knowledge and hotspots need one) [default: the current directory if it is one, else everything stored].
    #[arg(long, value_name = "PATH")]
    repo: Option<PathBuf>,
    /// Only these services and repositories of the stored events; repeatable.
    #[arg(long, value_name = "NAME")]
    service: Vec<String>,
    /// A [[team]] of the configuration: its repositories (rolled up) and services instead of --repo and --service.
    #[arg(long, value_name = "NAME", conflicts_with = "service")]
    team: Option<String>,
    /// Use what is stored without syncing the repository first.
    #[arg(long)]
    no_sync: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "markdown")]
    format: BriefFormat,
    /// How deployments are found in git: `tags` or `trunk` (overrides deploy.mode).
    #[arg(long, value_name = "MODE")]
    deploy_mode: Option<String>,
    /// With --deadline: the brief carries the chance of merging this many pull requests by then.
    #[arg(long, value_name = "N", requires = "deadline")]
    items: Option<u64>,
    /// With --items: the date asked for.
    #[arg(long, value_name = "DATE", requires = "items")]
    deadline: Option<String>,
    /// Write to this file instead of standard output (required for pdf).
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct FocusArgs {
    #[command(flatten)]
    window: WindowArgs,
    /// An ICS file or feed address, analysed as one person's calendar (repeatable; no configuration needed).
    #[arg(long, value_name = "FILE_OR_URL")]
    calendar: Vec<String>,
    /// With --calendar: your e-mail address (to leave out invitations you declined); repeatable.
    #[arg(long, value_name = "ADDRESS")]
    email: Vec<String>,
    /// With --calendar: your IANA time zone.
    #[arg(long, value_name = "ZONE", default_value = "UTC")]
    tz: String,
    /// With --calendar: your working hours.
    #[arg(long, value_name = "HH:MM-HH:MM", default_value = "09:00-17:00")]
    hours: String,
    /// Only these [[person]]s of fulcrum.toml (default all); repeatable.
    #[arg(long, value_name = "NAME", conflicts_with = "calendar")]
    person: Vec<String>,
    /// A repository whose fulcrum.toml names the people.
    #[arg(long, value_name = "PATH")]
    repo: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "terminal")]
    format: render::Format,
}

#[derive(Args, Debug)]
struct ForecastArgs {
    /// When will this many pull requests be merged?
    #[arg(long, value_name = "N", conflicts_with = "by", required_unless_present = "by")]
    items: Option<u64>,
    /// With --items: the date asked for; prints the chance of making it and the date for 85%.
    #[arg(long, value_name = "DATE", requires = "items")]
    deadline: Option<String>,
    /// How many pull requests will be merged by this date (inclusive)?
    #[arg(long, value_name = "DATE")]
    by: Option<String>,
    /// The sampling window: the days before today whose throughput is drawn from.
    #[arg(long, value_name = "SPAN", default_value = "12.weeks")]
    window: String,
    /// Simulations to run.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    trials: usize,
    /// The random generator's seed (the same seed, the same answer).
    #[arg(long, value_name = "N", default_value_t = 1)]
    seed: u64,
    /// Work that grows once started: each item counts as this many (1 to 3).
    #[arg(long, value_name = "FACTOR", default_value_t = 1.0)]
    split: f64,
    /// What to count: items (work items done, when any are stored) or prs (merged pull requests) [default: items
    /// when work items are stored, else prs].
    #[arg(long, value_name = "WHAT")]
    count: Option<String>,
    /// A git repository whose pull requests to count [default: the current directory if it is one, else everything stored].
    #[arg(long, value_name = "PATH")]
    repo: Option<PathBuf>,
    /// Only these services and repositories; repeatable.
    #[arg(long, value_name = "NAME")]
    service: Vec<String>,
    /// A [[team]] of the configuration: its repositories (rolled up) and services instead of --repo and --service.
    #[arg(long, value_name = "NAME", conflicts_with = "service")]
    team: Option<String>,
    /// Use what is stored without syncing the repository first.
    #[arg(long)]
    no_sync: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "terminal")]
    format: render::Format,
}

#[derive(Args, Debug)]
struct KnowledgeArgs {
    #[command(flatten)]
    common: AnalysisArgs,
    /// Commit, branch or tag to analyse.
    #[arg(long, value_name = "REV", default_value = "HEAD")]
    at: String,
    /// Also compute a truck factor per directory.
    #[arg(long)]
    by_directory: bool,
    /// Directory depth for --by-directory.
    #[arg(long, default_value_t = 1, value_name = "N", requires = "by_directory")]
    depth: usize,
    /// Simulate these people leaving (e-mail or name; repeatable).
    #[arg(long, value_name = "WHO")]
    leaving: Vec<String>,
}

#[derive(Args, Debug)]
struct HotspotsArgs {
    #[command(flatten)]
    common: AnalysisArgs,
    #[command(flatten)]
    window: WindowArgs,
}

/// What every analysis command takes: the repository, sync and output.
#[derive(Args, Debug)]
struct AnalysisArgs {
    #[command(flatten)]
    sync: SyncArgs,
    /// Analyse what is stored without syncing first.
    #[arg(long)]
    no_sync: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "terminal")]
    format: render::Format,
}

#[derive(Args, Debug)]
struct RepoArgs {
    /// The git repository (a work tree or a bare repository) [default: .]; `report` takes several
    /// (repeat --repo) and rolls them up as one team.
    #[arg(long, value_name = "PATH")]
    repo: Vec<PathBuf>,
}

impl RepoArgs {
    /// The repository path, `.` when not given.
    fn path(&self) -> &Path {
        self.repo.first().map(PathBuf::as_path).unwrap_or(Path::new("."))
    }

    /// The one repository of a command that takes one.
    fn single(&self, command: &str) -> Result<&Path, UsageError> {
        if self.repo.len() > 1 {
            return Err(UsageError(format!(
                "{command} takes one --repo ({} given); only `report` rolls several up",
                self.repo.len()
            )));
        }
        Ok(self.path())
    }
}

#[derive(Args, Debug)]
struct SyncArgs {
    #[command(flatten)]
    repo: RepoArgs,
    /// Threads that diff commits [default: number of cores].
    #[arg(long)]
    threads: Option<usize>,
    /// Commits per database transaction.
    #[arg(long, default_value_t = sync::BATCH_COMMITS, hide = true)]
    batch_size: usize,
}

#[derive(Args, Debug)]
struct ReportArgs {
    #[command(flatten)]
    sync: SyncArgs,
    #[command(flatten)]
    window: WindowArgs,
    /// Report what is stored without syncing first.
    #[arg(long)]
    no_sync: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "terminal")]
    format: render::Format,
    /// How deployments are found: `tags` or `trunk` (overrides deploy.mode).
    #[arg(long, value_name = "MODE")]
    deploy_mode: Option<String>,
    /// Release tag pattern, a regular expression (overrides deploy.tag_pattern).
    #[arg(long, value_name = "REGEX")]
    tag_pattern: Option<String>,
    /// Hotfix commit subject pattern (overrides failure.hotfix_pattern).
    #[arg(long, value_name = "REGEX")]
    hotfix_pattern: Option<String>,
    /// Benchmark report year for tiers: 2021, 2023 or 2024 (overrides report.benchmark).
    #[arg(long, value_name = "YEAR")]
    benchmark: Option<String>,
    /// Averaging convention: interpolated, lower-median or mean (overrides report.average).
    #[arg(long, value_name = "CONVENTION")]
    average: Option<String>,
    /// Leave out the knowledge section (truck factor at HEAD).
    #[arg(long)]
    no_knowledge: bool,
    /// Without a repository: only these services and repositories of the stored events; repeatable.
    #[arg(long, value_name = "NAME")]
    service: Vec<String>,
    /// A [[team]] of the configuration: its repositories (rolled up) and services instead of --repo and --service.
    #[arg(long, value_name = "NAME", conflicts_with = "service")]
    team: Option<String>,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {e:#}");
            ExitCode::from(match fulcrum::error::kind(&e) {
                fulcrum::error::ErrorKind::Input => 2,
                fulcrum::error::ErrorKind::Internal => 1,
            })
        }
    }
}

fn goal_command(context: &app::Context, action: GoalAction) -> anyhow::Result<()> {
    use fulcrum::app::goals;
    let one = |view: &fulcrum::analyses::goals::GoalView, format: render::Format| match format {
        render::Format::Json => print(&render::to_json(view)),
        _ => print(&render::goals::show(view)),
    };
    match action {
        GoalAction::Add {
            title,
            metric,
            scope,
            directory,
            target,
            due,
            owner,
            parent,
            reason,
            visibility,
            window_days,
            anyway,
            format,
        } => {
            let request = goals::GoalRequest {
                owner,
                title,
                metric,
                scope,
                directory,
                target,
                due,
                parent,
                reason,
                visibility,
                window_days: Some(window_days),
                created_by: None,
                anyway,
            };
            let view = goals::add(context, &request)?;
            for warning in &view.warnings {
                eprintln!("warning: {warning} (kept on the goal)");
            }
            one(&view, format)
        }
        GoalAction::List { all, format } => {
            let views = goals::list(context, all)?;
            match format {
                render::Format::Json => print(&render::to_json(&views)),
                _ => print(&render::goals::list(&views)),
            }
        }
        GoalAction::Show { id, format } => one(&goals::show_goal(context, id)?, format),
        GoalAction::Measure { format } => {
            let measured = goals::measure_open(context)?;
            eprintln!("{measured} goals measured");
            let views = goals::list(context, false)?;
            match format {
                render::Format::Json => print(&render::to_json(&views)),
                _ => print(&render::goals::list(&views)),
            }
        }
        GoalAction::Record { id, value, note, format } => one(&goals::record(context, id, value, note)?, format),
        GoalAction::Close { id, outcome, format } => one(&goals::close(context, id, outcome.as_deref())?, format),
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let now = now()?;
    let context = app::Context { db: db_path(cli.global.db.as_deref())?, config: cli.global.config.clone(), now };
    match cli.command {
        Command::Sync(command) if command.worker => {
            let config = config::Config::load(cli.global.config.as_deref(), None, &Default::default())?;
            let host = std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_owned()).unwrap_or_default();
            let options = fulcrum::sources::worker::WorkerOptions {
                name: command.name.clone().unwrap_or_else(|| format!("{host}:{}", std::process::id())),
                lease: i64::from(command.lease.max(3)),
                once: command.once,
                interval: config.sync_interval.max(1) as i64 * 60,
                sync: sync_options(&command.sync),
                host_clock: clock(now),
            };
            let db = db_path(cli.global.db.as_deref())?;
            let summary =
                fulcrum::sources::worker::run(&db, &config, &options, now, |job, error, seconds| match error {
                    None => eprintln!("{}: synced {} {} in {seconds:.2} s", options.name, job.kind, job.target),
                    Some(e) => {
                        eprintln!("{}: {} {} failed after {seconds:.2} s: {e}", options.name, job.kind, job.target)
                    }
                })?;
            let failed = summary.runs.iter().filter(|(_, _, e)| e.is_some()).count();
            eprintln!("{}: {} jobs run, {failed} failed", options.name, summary.runs.len());
            Ok(())
        }
        Command::Repos(args) => match args.action {
            ReposAction::Add { dir, depth } => {
                let text = dir.to_string_lossy().into_owned();
                if config::is_clone_url(&text) {
                    // A URL: cloned into the data directory and fetched by the workers.
                    let mut store = store::Store::open(&context.db)?;
                    let added = store.add_jobs("clone", std::slice::from_ref(&text))?;
                    println!("{}", config::redact_url(&text));
                    eprintln!(
                        "{} clone job; `fulcrum sync --worker` clones it into {} and keeps it synced",
                        if added > 0 { "a new" } else { "already a" },
                        config::mirror_path(&text).map(|p| p.display().to_string()).unwrap_or_default()
                    );
                    return Ok(());
                }
                let found = fulcrum::sources::worker::find_repositories(&dir, depth)
                    .map_err(|e| UsageError(format!("{}: cannot read the directory ({e})", dir.display())))?;
                if found.is_empty() {
                    return Err(UsageError(format!(
                        "{}: no git repository at or under it (looked {depth} directories down; pass --depth to look deeper)",
                        dir.display()
                    ))
                    .into());
                }
                let targets: Vec<String> = found.iter().map(|p| p.display().to_string()).collect();
                let mut store = store::Store::open(&context.db)?;
                let added = store.add_jobs("repository", &targets)?;
                for target in &targets {
                    println!("{target}");
                }
                eprintln!(
                    "{} repositories found, {added} new; `fulcrum sync --worker` keeps them synced",
                    targets.len()
                );
                Ok(())
            }
            ReposAction::List { format } => {
                let jobs = app::open_store(&context.db, false)?.jobs()?;
                if format == render::Format::Json {
                    return print(&render::to_json(&jobs));
                }
                let mut out = String::new();
                for job in &jobs {
                    let when = job.last_finished_at.map_or("never".to_owned(), fulcrum_core::time::format_datetime);
                    let state = match (&job.worker, &job.last_error) {
                        (Some(worker), _) => format!("syncing ({worker})"),
                        (None, Some(error)) => format!("failed: {error}"),
                        (None, None) if job.runs > 0 => "ok".to_owned(),
                        _ => "waiting".to_owned(),
                    };
                    out.push_str(&format!(
                        "{:<10} {}  last {when}, {} runs, {state}\n",
                        job.kind,
                        config::redact_url(&job.target),
                        job.runs
                    ));
                }
                if jobs.is_empty() {
                    out.push_str("no jobs: `fulcrum repos add DIR` registers repositories\n");
                }
                print(&out)
            }
        },
        Command::Goal(args) => goal_command(&context, args.action),
        Command::Person(args) => match args.action {
            PersonAction::Forget { identities, yes } => {
                let identities: Vec<String> =
                    identities.iter().map(|i| i.trim().to_owned()).filter(|i| !i.is_empty()).collect();
                if !yes {
                    eprintln!(
                        "would erase {} from {}: pass --yes to do it",
                        identities.join(", "),
                        store::redact(&context.db.display().to_string())
                    );
                    return Ok(());
                }
                let forgotten = app::forget_person(&context, &identities)?;
                print(&render::to_json(&forgotten))
            }
        },
        Command::Sync(command) => {
            let args = command.sync;
            let repo_path = args.repo.single("sync")?;
            // Validate the configuration early, so a typo is reported before a long sync.
            let config = config::Config::load(cli.global.config.as_deref(), Some(repo_path), &Default::default())?;
            // Without --repo, a directory that is not a git repository is fine when sources are configured.
            // Decided before the database is opened: a command that fails on its input creates nothing.
            let git_repo = match app::open_repo(repo_path) {
                Ok(opened) => Some(opened),
                Err(e) if args.repo.repo.is_empty() && !config.sources.is_empty() => {
                    let _ = e;
                    None
                }
                Err(e) => return Err(e),
            };
            for ignored in &config.ignored {
                eprintln!("warning: {ignored}");
            }
            let mut store = store::Store::open(&db_path(cli.global.db.as_deref())?)?;
            if !config.teams.is_empty() {
                // The SQL views group by team: they see the teams of this configuration.
                store.set_teams(&app::team_services(&config))?;
            }
            if let Some((repo, key, name)) = git_repo {
                let summary = sync::sync(&mut store, &repo, &key, &name, now, &sync_options(&args))?;
                print_sync_summary(&name, &summary);
            }
            let _lock = store.lock_for_sync("sources")?;
            let mut progress = progress::Progress::new("sources");
            let sync_context = github::SyncContext { config: &config, clock: clock(now), now };
            let (summaries, failed) = match github::sync_all(&mut store, &sync_context, &mut progress) {
                Ok(summaries) => (summaries, None),
                Err(e) => match e.downcast::<github::SourcesFailed>() {
                    Ok(mut failed) => (std::mem::take(&mut failed.summaries), Some(failed)),
                    Err(e) => return Err(e),
                },
            };
            for summary in summaries {
                let items = if summary.items > 0 { format!(", {} work items", summary.items) } else { String::new() };
                eprintln!(
                    "{}: {} pull requests, {} deployment events, {} incidents{items} ({} requests, {} unchanged)",
                    summary.source,
                    summary.pull_requests,
                    summary.deployments,
                    summary.incidents,
                    summary.requests,
                    summary.not_modified
                );
                if summary.skipped > 0 {
                    eprintln!(
                        "warning: {}: {} left out: no id, or no time to place it by",
                        summary.source,
                        fulcrum_core::dora::count(summary.skipped, "listed item", "listed items")
                    );
                }
                for warning in &summary.warnings {
                    eprintln!("warning: {}: {warning}", summary.source);
                }
                if summary.unknown_sizes > 0 {
                    eprintln!(
                        "warning: {}: the host gave no size for {} (in no size bucket)",
                        summary.source,
                        fulcrum_core::dora::count(summary.unknown_sizes, "pull request", "pull requests")
                    );
                }
            }
            drop(_lock);
            drop(store);
            // Goals are measured after every sync; a goal that cannot be measured records why.
            let measured = app::goals::measure_open(&context)?;
            if measured > 0 {
                eprintln!("{measured} goals measured: `fulcrum goal list`");
            }
            match failed {
                Some(failed) => Err(failed.into()),
                None => Ok(()),
            }
        }
        Command::Check(args) => {
            let request = app::CheckRequest {
                repo: args.sync.repo.single("check")?.to_owned(),
                sync: (!args.no_sync).then(|| sync_options(&args.sync)),
                window: window_request(&args.window),
                rules: args.fail_if.clone(),
            };
            let verdicts = app::check(&context, &request)?;
            let failed = verdicts.iter().filter(|v| v.failed).count();
            match args.format {
                render::Format::Json => print(&render::to_json(&verdicts))?,
                _ => print(&painted(check::render(&verdicts), args.format))?,
            }
            if failed > 0 {
                return Err(CheckFailed { failed, rules: verdicts.len() }.into());
            }
            Ok(())
        }
        Command::Init(args) => {
            let path = args.repo.single("init")?;
            let repo = git::GitRepo::open(path)?;
            let env = |name: &str| std::env::var(name).ok();
            let proposal = init::propose(&repo, &env, &init::on_path)?;
            let target = path.join("fulcrum.toml");
            let mut out = format!("{}\n", proposal.text);
            for note in &proposal.notes {
                out.push_str(&render::wrap(note, render::width(), "# ", "#   "));
                out.push('\n');
            }
            if args.dry_run {
                return print(&out);
            }
            if target.exists() {
                return Err(UsageError(format!(
                    "{}: a configuration exists already; move it away, or see the proposal with --dry-run",
                    target.display()
                ))
                .into());
            }
            std::fs::write(&target, &proposal.text)
                .map_err(|e| UsageError(format!("{}: cannot write it ({e})", target.display())))?;
            // The user made this file: its token_command and base_url may apply.
            let trusted = trust::trust(&target)?;
            out.push_str(&format!(
                "# written to {} and trusted (recorded in {}); next: `fulcrum sync --repo {}` then `fulcrum report`\n",
                trusted.path.display(),
                trusted.list.display(),
                path.display()
            ));
            print(&out)
        }
        Command::Serve(args) => {
            // Looked at without making a database: bad input creates nothing.
            let accounts = if store::is_postgres(&context.db) {
                store::Store::open(&context.db)?.has_users()?
            } else {
                context.db.exists() && store::Store::open_read_only(&context.db)?.has_users()?
            };
            fulcrum::server::check_listen(&args.listen, accounts)?;
            let repos: Vec<PathBuf> =
                if args.repo.repo.is_empty() { vec![PathBuf::from(".")] } else { args.repo.repo.clone() };
            // Every repository is opened (and synced once) before serving: bad input fails at start.
            let mut store = store::Store::open(&context.db)?;
            for path in &repos {
                let (repo, key, name) = app::open_repo(path)?;
                let summary = sync::sync(&mut store, &repo, &key, &name, now, &sync::SyncOptions::default())?;
                print_sync_summary(&name, &summary);
            }
            drop(store);
            let syncs = fulcrum::server::syncing::Syncer::after(fulcrum::server::syncing::Round {
                finished_at: now,
                error: None,
            });
            let config = cli.global.config.clone();
            let db = context.db.clone();
            let state = fulcrum::server::ServerState {
                context: std::sync::Arc::new(move || app::Context {
                    db: db.clone(),
                    config: config.clone(),
                    now: self::now().unwrap_or(now),
                }),
                repos: std::sync::Arc::new(repos),
                syncs: std::sync::Arc::new(syncs),
                secrets: std::sync::Arc::new(fulcrum::sources::hooks::Secrets::from_env()),
                failures: Default::default(),
                beyond_loopback: !args.listen.ip().is_loopback(),
                observer: std::sync::Arc::new(fulcrum::server::observe::Observer::new(true)),
                cache: Default::default(),
                writer: Default::default(),
            };
            // Runs as long as the server does; with `--sync-every 0` only "Sync now" starts a round.
            let config = fulcrum::config::Config::load(
                cli.global.config.as_deref(),
                state.repos.first().map(PathBuf::as_path),
                &Default::default(),
            )?;
            let interval = args.sync_every.unwrap_or(config.sync_interval);
            // The digest: the brief posted to a chat webhook named in the environment only.
            if let Some(webhook) = fulcrum::server::digest::Webhook::from_env()? {
                let days = config.brief_every_days;
                eprintln!("fulcrum posts the brief of the last {days} days to {webhook:?} every {days} days");
                let every = std::time::Duration::from_secs(u64::from(days) * 86_400);
                let _posts = fulcrum::server::digest::keep_posting(&state, webhook, every, days);
            }
            let every = match interval {
                0 => std::time::Duration::MAX,
                minutes => std::time::Duration::from_secs(minutes.saturating_mul(60)),
            };
            let _runs = fulcrum::server::keep_synced(&state, every, self::now, clock(now));
            fulcrum::server::serve(state, args.listen, accounts, |address| {
                if accounts {
                    eprintln!("fulcrum serves http://{address}/ (accounts: sign in at /login)");
                } else {
                    eprintln!("fulcrum serves http://{address}/ (single-user mode: no accounts, this machine only)");
                }
            })
        }
        Command::Token(args) => {
            let store = store::Store::open(&context.db)?;
            match args.action {
                TokenAction::Add { name, scope } => {
                    let token = fulcrum::server::tokens::add(&store, &name, &scope, now)?;
                    print(&format!("{token}\n"))?;
                    eprintln!("token `{name}` ({}): shown this once; only its hash is stored", scope.join(", "));
                    Ok(())
                }
                TokenAction::List => {
                    let mut out = String::new();
                    for t in store.tokens()? {
                        out.push_str(&format!(
                            "{}  {}  made {}{}\n",
                            t.name,
                            t.scopes.join(","),
                            fulcrum_core::time::format_date(t.created_at),
                            t.revoked_at
                                .map(|r| format!(", revoked {}", fulcrum_core::time::format_date(r)))
                                .unwrap_or_default()
                        ));
                    }
                    print(&out)
                }
                TokenAction::Revoke { name } => {
                    if !store.revoke_token(&name, now)? {
                        return Err(
                            UsageError(format!("no live token named `{name}`; see `fulcrum token list`")).into()
                        );
                    }
                    eprintln!("token `{name}` revoked");
                    Ok(())
                }
            }
        }
        Command::User(args) => {
            let mut store = store::Store::open(&context.db)?;
            let password = || -> anyhow::Result<String> {
                let mut line = String::new();
                std::io::stdin()
                    .read_line(&mut line)
                    .map_err(|e| UsageError(format!("standard input: cannot read the password ({e})")))?;
                Ok(line.trim_end_matches(['\n', '\r']).to_owned())
            };
            match args.action {
                UserAction::Add { name, role } => {
                    let role = fulcrum::server::accounts::Role::parse(&role)?;
                    fulcrum::server::accounts::add_user(&store, &name, role, &password()?, now)?;
                    eprintln!("account `{name}` ({}) made", role.as_str());
                    Ok(())
                }
                UserAction::List => {
                    let mut out = String::new();
                    for u in store.users()? {
                        out.push_str(&format!(
                            "{}  {}  made {}\n",
                            u.name,
                            u.role,
                            fulcrum_core::time::format_date(u.created_at)
                        ));
                    }
                    print(&out)
                }
                UserAction::Passwd { name } => {
                    fulcrum::server::accounts::set_password(&mut store, &name, &password()?, None)?;
                    eprintln!("password of `{name}` set; its sessions ended");
                    Ok(())
                }
                UserAction::Remove { name } => {
                    if !store.remove_user(&name)? {
                        return Err(UsageError(format!("no account named `{name}`; see `fulcrum user list`")).into());
                    }
                    eprintln!("account `{name}` removed");
                    Ok(())
                }
            }
        }
        Command::Explain(args) => {
            let repo = args.repo.as_deref().unwrap_or(Path::new("."));
            let config = config::Config::load(cli.global.config.as_deref(), Some(repo), &Default::default())?;
            print(&explain::explain(&args.metric, &config)?)
        }
        Command::Org(args) => {
            let sort = args.sort.parse().map_err(|e: String| UsageError(format!("--sort: {e}")))?;
            let request = app::OrgRequest {
                window: window_request(&args.window),
                sync: (!args.no_sync).then(sync::SyncOptions::default),
                sort,
                deploy_mode: args.deploy_mode.clone(),
            };
            let view = app::organisation(&context, &request)?;
            print(&painted(render::org(&view, args.format), args.format))
        }
        Command::Migrate(args) => {
            if args.from == args.to {
                return Err(UsageError(format!(
                    "--from and --to both name {}; name another target",
                    args.from.display()
                ))
                .into());
            }
            let source = app::open_store(&args.from, false)?;
            let target = store::Store::open(&args.to)?;
            let started = std::time::Instant::now();
            let copied = source.copy_into(&target, |table, rows| eprintln!("{table}: {rows} rows"))?;
            eprintln!(
                "copied {} rows of {} tables from {} to {} in {:.2} s",
                copied.rows(),
                copied.tables.len(),
                source.path().display(),
                target.path().display(),
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Trust(args) => {
            let trusted = trust::trust(&args.path)?;
            print(&format!(
                "{}\n---\ntrusted {} as shown above (recorded in {}); its token_command, token_env and base_url \
                 now apply. Changing the file withdraws the trust.\n",
                trusted.content.trim_end(),
                trusted.path.display(),
                trusted.list.display()
            ))
        }
        Command::Knowledge(args) => {
            let request = app::KnowledgeRequest {
                repo: args.common.sync.repo.single("knowledge")?.to_owned(),
                sync: (!args.common.no_sync).then(|| sync_options(&args.common.sync)),
                options: knowledge::KnowledgeOptions {
                    at: Some(args.at.clone()),
                    depth: args.by_directory.then_some(args.depth),
                    leaving: args.leaving.clone(),
                    now,
                },
            };
            let report = app::knowledge(&context, &request)?;
            print(&painted(render::knowledge(&report, args.common.format), args.common.format))
        }
        Command::Hotspots(args) => {
            let request = app::HotspotsRequest {
                repo: args.common.sync.repo.single("hotspots")?.to_owned(),
                sync: (!args.common.no_sync).then(|| sync_options(&args.common.sync)),
                window: window_request(&args.window),
            };
            let report = app::hotspots(&context, &request)?;
            print(&painted(render::hotspots(&report, args.common.format), args.common.format))
        }
        Command::Report(args) => {
            let request = app::ReportRequest {
                repos: args.sync.repo.repo.clone(),
                services: args.service.clone(),
                window: window_request(&args.window),
                sync: (!args.no_sync).then(|| sync_options(&args.sync)),
                overrides: config::Overrides {
                    deploy_mode: args.deploy_mode.clone(),
                    tag_pattern: args.tag_pattern.clone(),
                    hotfix_pattern: args.hotfix_pattern.clone(),
                    benchmark: args.benchmark.clone(),
                    average: args.average.clone(),
                },
                knowledge: !args.no_knowledge,
                team: args.team.clone(),
            };
            let outcome = app::report(&context, &request)?;
            for (name, summary) in &outcome.team_syncs {
                print_sync_summary(name, summary);
            }
            let colour = colour(args.format);
            let text = render::report(
                &outcome.analysis,
                outcome.sync.as_ref(),
                outcome.knowledge.as_ref(),
                args.format,
                colour,
            );
            print(&text)
        }
        Command::Import(args) => {
            let mut store = store::Store::open(&db_path(cli.global.db.as_deref())?)?;
            let mut progress = progress::Progress::new("importing");
            let started = std::time::Instant::now();
            let summary = import::import(&mut store, &args.file, &args.source, args.compact, &mut progress)?;
            if let Some(e) = summary.invalid_lines_error(&args.file) {
                return Err(e.into());
            }
            let stored = summary.stored;
            let items = if stored.items > 0 { format!(", {} work items", stored.items) } else { String::new() };
            eprintln!(
                "{}: stored {} pull requests, {} deployments, {} incidents{items} from {} lines in {:.2} s",
                args.file.display(),
                stored.pull_requests,
                stored.deployments,
                stored.incidents,
                summary.lines,
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Brief(args) => {
            if args.format == BriefFormat::Pdf && args.output.is_none() {
                return Err(UsageError("--format pdf needs --output FILE.pdf".into()).into());
            }
            let request = app::BriefRequest {
                repo: args.repo.clone(),
                services: args.service.clone(),
                window: window_request(&args.window),
                sync: (!args.no_sync).then(sync::SyncOptions::default),
                deploy_mode: args.deploy_mode.clone(),
                deadline: args.items.zip(args.deadline.clone()),
                team: args.team.clone(),
            };
            let brief = app::brief(&context, &request)?;
            let bytes = match args.format {
                BriefFormat::Markdown => render::brief::markdown(&brief).into_bytes(),
                BriefFormat::Html => render::brief::html(&brief).into_bytes(),
                BriefFormat::Pdf => render::brief::pdf(&render::brief::html(&brief))?,
                BriefFormat::Json => render::to_json(&brief).into_bytes(),
            };
            match &args.output {
                Some(path) => std::fs::write(path, &bytes)
                    .with_context(|| format!("--output {}: cannot write the brief", path.display())),
                None => print(&String::from_utf8_lossy(&bytes)),
            }
        }
        Command::Focus(args) => {
            let request = app::FocusRequest {
                repo: args.repo.clone(),
                people: args.person.clone(),
                calendars: args.calendar.clone(),
                emails: args.email.clone(),
                time_zone: Some(args.tz.clone()),
                working_hours: Some(args.hours.clone()),
                window: window_request(&args.window),
            };
            let outcome = app::focus(&context, &request)?;
            print(&painted(render::focus(&outcome, args.format), args.format))
        }
        Command::Forecast(args) => {
            let request = app::ForecastRequest {
                flow: app::FlowRequest {
                    repo: args.repo.clone(),
                    services: args.service.clone(),
                    window: app::WindowRequest { since: None, until: None },
                    sync: (!args.no_sync).then(sync::SyncOptions::default),
                    deploy_mode: None,
                    team: args.team.clone(),
                },
                items: args.items,
                deadline: args.deadline.clone(),
                by: args.by.clone(),
                window: args.window.clone(),
                trials: args.trials,
                seed: args.seed,
                count: args.count.clone(),
                split: args.split,
            };
            let outcome = app::forecast(&context, &request)?;
            print(&painted(render::forecast(&outcome, args.format), args.format))
        }
        Command::Flow(args) => {
            let request = app::FlowRequest {
                repo: args.repo.clone(),
                services: args.service.clone(),
                window: window_request(&args.window),
                sync: (!args.no_sync).then(sync::SyncOptions::default),
                deploy_mode: args.deploy_mode.clone(),
                team: args.team.clone(),
            };
            let analysis = app::flow(&context, &request)?;
            print(&painted(render::flow(&analysis, args.format), args.format))
        }
    }
}

/// Colour on a terminal (or when `CLICOLOR_FORCE` asks for it), never with
/// `NO_COLOR` or in JSON and Markdown.
fn colour(format: render::Format) -> bool {
    let forced = std::env::var("CLICOLOR_FORCE").is_ok_and(|v| !v.is_empty() && v != "0");
    format == render::Format::Terminal
        && (forced || std::io::stdout().is_terminal())
        && std::env::var_os("NO_COLOR").is_none()
}

/// `text` painted line by line when `colour` says so.
fn painted(text: String, format: render::Format) -> String {
    if colour(format) { render::paint_lines(&text) } else { text }
}

/// Writes a rendered report to stdout (a closed pipe is not an error: see `main`).
fn print(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    Ok(())
}

fn sync_options(args: &SyncArgs) -> sync::SyncOptions {
    let mut options = sync::SyncOptions::default();
    if let Some(threads) = args.threads {
        options.threads = threads.max(1);
    }
    options.batch_size = args.batch_size.max(1);
    // For the crash-and-resume test: slow each batch down so a kill lands mid-sync.
    options.batch_delay_ms =
        std::env::var("FULCRUM_TEST_BATCH_DELAY_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    options
}

fn print_sync_summary(name: &str, summary: &sync::SyncSummary) {
    let mut err = std::io::stderr().lock();
    let _ = if summary.up_to_date {
        writeln!(err, "{name}: up to date ({:.2} s)", summary.seconds)
    } else {
        writeln!(
            err,
            "{name}: synced {} new commits{}{}{} in {:.2} s",
            summary.new_commits,
            if summary.resumed { " (resumed an interrupted sync)" } else { "" },
            if summary.pruned_commits > 0 {
                format!(", removed {} commits no longer reachable (history rewritten)", summary.pruned_commits)
            } else {
                String::new()
            },
            if summary.missing_blobs > 0 {
                format!(", {} unreadable file versions skipped", summary.missing_blobs)
            } else {
                String::new()
            },
            summary.seconds
        )
    };
}

/// The clock of host requests: fixed at `now` (moving only by what the client
/// sleeps) when `FULCRUM_NOW` fixes it, else the system's.
fn clock(now: i64) -> http::Clock {
    if std::env::var_os("FULCRUM_NOW").is_some() { http::Clock::Fixed(now) } else { http::Clock::System }
}

/// The window flags as a request.
fn window_request(args: &WindowArgs) -> app::WindowRequest {
    app::WindowRequest { since: args.since.clone(), until: args.until.clone() }
}

/// The current time, or `FULCRUM_NOW` (a date or UTC time) for reproducible runs.
fn now() -> anyhow::Result<i64> {
    if let Ok(fixed) = std::env::var("FULCRUM_NOW") {
        return parse_instant(&fixed, 0).context("while reading FULCRUM_NOW");
    }
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .context("the system clock is before 1970")?;
    Ok(since_epoch.as_secs() as i64)
}

/// The database path: `--db`, `$FULCRUM_DB`, or the per-user data directory.
fn db_path(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(path) = explicit {
        return Ok(path.to_owned());
    }
    if let Some(path) = std::env::var_os("FULCRUM_DB") {
        return Ok(PathBuf::from(path));
    }
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .ok_or_else(|| UsageError("cannot find a data directory: set HOME or pass --db PATH".into()))?;
    Ok(data.join("fulcrum").join("fulcrum.db"))
}
