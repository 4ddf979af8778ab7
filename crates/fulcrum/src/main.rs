//! fulcrum: one honest instrument panel for technical leaders.
//!
//! `main` parses flags, builds the effective settings, runs one command and
//! turns errors into exit codes: 0 ok, 1 failure, 2 bad input or usage.

use fulcrum::{
    analysis, check, config, connector, delivery, explain, flow, git, github, http, import, init, knowledge, progress,
    render, store, sync, trust,
};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use fulcrum_core::dora::Metric;
use fulcrum_core::time::{TimeError, Window, parse_instant};

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
    Sync(SyncArgs),
    /// Knowledge risk: truck factor, who it rests on, knowledge map, departure impact.
    Knowledge(KnowledgeArgs),
    /// Hotspots (changes × size) and change coupling over the window [default --since: hotspots.window].
    Hotspots(HotspotsArgs),
    /// Import deployments, incidents and pull requests from a JSON Lines file (see README, "Events file").
    Import(ImportArgs),
    /// The pull-request value stream: coding, pickup, review and deploy times, bottleneck, WIP, review load.
    Flow(FlowArgs),
    /// Trust a repository's fulcrum.toml to choose token commands, token variables and base URLs.
    Trust(TrustArgs),
    /// What a metric means, how it is computed, the settings that change it and where its data comes from.
    Explain(ExplainArgs),
    /// Gate CI on the team's agreements: exits 1 when a rule of check.fail_if or --fail-if holds.
    Check(CheckArgs),
    /// Write a commented fulcrum.toml for a repository: host and repository from origin, deploy mode from its tags.
    Init(InitArgs),
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
    #[arg(long, default_value_t = 1000, hide = true)]
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
}

/// Bad input given on the command line (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct UsageError(String);

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
            ExitCode::from(if is_input_error(&e) { 2 } else { 1 })
        }
    }
}

/// Errors the user can fix by changing what they gave us.
fn is_input_error(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.is::<git::GitError>()
            || c.is::<config::ConfigError>()
            || c.is::<analysis::AnalysisError>()
            || c.is::<knowledge::KnowledgeError>()
            || c.is::<TimeError>()
            || c.is::<UsageError>()
            || c.is::<import::ImportError>()
            || c.is::<connector::SourceError>()
            || c.is::<trust::TrustError>()
            || c.is::<explain::UnknownMetric>()
            || c.is::<check::RuleError>()
            || c.downcast_ref::<http::HttpError>().is_some_and(http::HttpError::is_input_error)
            || c.downcast_ref::<store::StoreError>().is_some_and(|s| !matches!(s, store::StoreError::Sql { .. }))
    })
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let now = now()?;
    match cli.command {
        Command::Sync(args) => {
            let repo_path = args.repo.single("sync")?;
            // Validate the configuration early, so a typo is reported before a long sync.
            let config = config::Config::load(cli.global.config.as_deref(), Some(repo_path), &Default::default())?;
            // Without --repo, a directory that is not a git repository is fine when sources are configured.
            // Decided before the database is opened: a command that fails on its input creates nothing.
            let git_repo = match open_repo(repo_path) {
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
            if let Some((repo, key, name)) = git_repo {
                let summary = sync::sync(&mut store, &repo, &key, &name, now, &sync_options(&args))?;
                print_sync_summary(&name, &summary);
            }
            let _lock = store.lock_for_sync()?;
            let mut progress = progress::Progress::new("sources");
            let context = github::SyncContext { config: &config, clock: clock(now), now };
            for summary in github::sync_all(&mut store, &context, &mut progress)? {
                eprintln!(
                    "{}: {} pull requests, {} deployment events, {} incidents ({} requests, {} unchanged)",
                    summary.source,
                    summary.pull_requests,
                    summary.deployments,
                    summary.incidents,
                    summary.requests,
                    summary.not_modified
                );
                if summary.skipped > 0 {
                    eprintln!(
                        "warning: {}: {} left out: no number or no creation time",
                        summary.source,
                        fulcrum_core::dora::count(summary.skipped, "listed item", "listed items")
                    );
                }
                if summary.unknown_sizes > 0 {
                    eprintln!(
                        "warning: {}: the host gave no size for {} (in no size bucket)",
                        summary.source,
                        fulcrum_core::dora::count(summary.unknown_sizes, "pull request", "pull requests")
                    );
                }
            }
            Ok(())
        }
        Command::Check(args) => {
            let repo_path = args.sync.repo.single("check")?;
            let config = config::Config::load(cli.global.config.as_deref(), Some(repo_path), &Default::default())?;
            let mut texts = config.check_rules.clone();
            texts.extend(args.fail_if.iter().cloned());
            if texts.is_empty() {
                return Err(UsageError(
                    "no rules to check: add check.fail_if to fulcrum.toml or pass --fail-if \"truck_factor < 2\""
                        .into(),
                )
                .into());
            }
            let rules = texts.iter().map(|t| check::parse(t)).collect::<Result<Vec<_>, _>>()?;
            let window = window(&args.window, &config, now)?;
            let (repo, key, name) = open_repo(repo_path)?;
            let mut store = open_store(&cli.global, !args.no_sync)?;
            if !args.no_sync {
                sync::sync(&mut store, &repo, &key, &name, now, &sync_options(&args.sync))?;
            }
            let service = config.service.clone().unwrap_or_else(|| name.clone());
            let scope = repo_scope(&key, &name, &service, &config);
            let wants = |metrics: &[&str]| rules.iter().any(|r| metrics.contains(&r.metric));
            let dora = analysis::analyze(&store, &scope, &config, window).map_err(|e| format!("{e:#}"));
            let knowledge = wants(&["truck_factor", "active_truck_factor", "single_author_files"]).then(|| {
                let options = knowledge::KnowledgeOptions { now, ..Default::default() };
                knowledge::knowledge(&store, &repo, &key, &config, &options).map_err(|e| format!("{e:#}"))
            });
            let hotspots = wants(&["single_author_hotspots"])
                .then(|| knowledge::hotspots(&store, &repo, &key, &config, window).map_err(|e| format!("{e:#}")));
            let flow = wants(&["agreement_breaches", "stale_pull_requests", "cycle_time"])
                .then(|| flow::analyze(&store, &scope, &config, window, now).map_err(|e| format!("{e:#}")));
            let metric_value = |m: &Metric<f64>| match m {
                Metric::Value(v) => Ok(*v),
                Metric::NoData { reason } => Err(reason.clone()),
            };
            let measure = |metric: &str| -> Result<f64, String> {
                let d = || dora.as_ref().map(|a| &a.dora).map_err(Clone::clone);
                let value = |m: Metric<f64>| metric_value(&m);
                match metric {
                    "deployment_frequency" => value(map(&d()?.deployment_frequency, |f| f.per_week)),
                    "lead_time" => value(map(&d()?.lead_time, |l| l.summary.median)),
                    "change_failure_rate" => value(map(&d()?.change_failure_rate, |c| c.rate)),
                    "recovery_time" => value(map(&d()?.recovery_time, |r| r.summary.median)),
                    "rework_rate" => value(map(&d()?.rework_rate, |r| r.rate)),
                    "truck_factor" | "active_truck_factor" | "single_author_files" => {
                        let k = knowledge.as_ref().expect("computed when asked for").as_ref().map_err(Clone::clone)?;
                        match metric {
                            "truck_factor" => Ok(k.truck_factor as f64),
                            "single_author_files" => Ok(k.single_author_files.len() as f64),
                            _ => k
                                .active
                                .as_ref()
                                .map(|a| a.truck_factor as f64)
                                .ok_or_else(|| "knowledge.inactive_after is 0".to_owned()),
                        }
                    }
                    "single_author_hotspots" => {
                        let h = hotspots.as_ref().expect("computed when asked for").as_ref().map_err(Clone::clone)?;
                        Ok(h.hotspots.iter().filter(|s| s.authors == 1).count() as f64)
                    }
                    _ => {
                        let f = flow.as_ref().expect("computed when asked for").as_ref().map_err(Clone::clone)?;
                        if f.stored_pull_requests == 0 {
                            return Err("no pull requests stored".to_owned());
                        }
                        match metric {
                            "agreement_breaches" => Ok(f.report.breaches.len() as f64),
                            "stale_pull_requests" => Ok(f.report.stale.len() as f64),
                            _ => value(map(&f.report.cycle, |c| c.summary.median)),
                        }
                    }
                }
            };
            let verdicts = check::judge(&rules, &measure);
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
        Command::Explain(args) => {
            let repo = args.repo.as_deref().unwrap_or(Path::new("."));
            let config = config::Config::load(cli.global.config.as_deref(), Some(repo), &Default::default())?;
            print(&explain::explain(&args.metric, &config)?)
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
            let repo_path = args.common.sync.repo.single("knowledge and hotspots")?;
            let config = config::Config::load(cli.global.config.as_deref(), Some(repo_path), &Default::default())?;
            // The repository is opened before the database: bad input creates nothing.
            let (repo, key, name) = open_repo(repo_path)?;
            let mut store = open_store(&cli.global, !args.common.no_sync)?;
            if !args.common.no_sync {
                sync::sync(&mut store, &repo, &key, &name, now, &sync_options(&args.common.sync))?;
            }
            let options = knowledge::KnowledgeOptions {
                at: Some(args.at.clone()),
                depth: args.by_directory.then_some(args.depth),
                leaving: args.leaving.clone(),
                now,
            };
            let report = knowledge::knowledge(&store, &repo, &key, &config, &options)?;
            print(&painted(render::knowledge(&report, args.common.format), args.common.format))
        }
        Command::Hotspots(args) => {
            let repo_path = args.common.sync.repo.single("knowledge and hotspots")?;
            let config = config::Config::load(cli.global.config.as_deref(), Some(repo_path), &Default::default())?;
            let window = window_with_default(&args.window, &config.hotspots_window, now)?;
            // The repository is opened before the database: bad input creates nothing.
            let (repo, key, name) = open_repo(repo_path)?;
            let mut store = open_store(&cli.global, !args.common.no_sync)?;
            if !args.common.no_sync {
                sync::sync(&mut store, &repo, &key, &name, now, &sync_options(&args.common.sync))?;
            }
            let report = knowledge::hotspots(&store, &repo, &key, &config, window)?;
            print(&painted(render::hotspots(&report, args.common.format), args.common.format))
        }
        Command::Report(args) => {
            let overrides = config::Overrides {
                deploy_mode: args.deploy_mode.clone(),
                tag_pattern: args.tag_pattern.clone(),
                hotfix_pattern: args.hotfix_pattern.clone(),
                benchmark: args.benchmark.clone(),
                average: args.average.clone(),
            };
            let implied = args.sync.repo.repo.is_empty();
            let repo_path = use_repository(args.sync.repo.repo.first().map(PathBuf::as_path), &args.service)?;
            let team: Vec<PathBuf> = args.sync.repo.repo.iter().skip(1).cloned().collect();
            let config = config::Config::load(cli.global.config.as_deref(), repo_path.as_deref(), &overrides)?;
            let window = window(&args.window, &config, now)?;
            // The repository is opened before the database: bad input creates nothing.
            let opened = match &repo_path {
                Some(path) if !args.no_sync => Some(open_repo(path)?),
                _ => None,
            };
            // The other repositories of a team roll-up, opened before the database too.
            let team = team
                .iter()
                .map(|path| {
                    if args.no_sync {
                        Ok((None, path.clone()))
                    } else {
                        open_repo(path).map(|o| (Some(o), path.clone()))
                    }
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let mut store = open_store(&cli.global, repo_path.is_some() && !args.no_sync)?;
            let mut members: Vec<(String, String)> = Vec::new();
            for (opened, path) in team {
                let (key, name) = match opened {
                    Some((repo, key, name)) => {
                        let summary = sync::sync(&mut store, &repo, &key, &name, now, &sync_options(&args.sync))?;
                        print_sync_summary(&name, &summary);
                        (key, name)
                    }
                    None => repo_key(&path)?,
                };
                members.push((key, name));
            }
            let Some(repo_path) = repo_path else {
                let scope = store_scope(&args.service);
                let analysis = analysis::analyze(&store, &scope, &config, window)?;
                return print(&render::report(&analysis, None, None, args.format, colour(args.format)));
            };
            let repo_path = repo_path.as_path();
            let (key, name, summary) = match opened {
                None => {
                    let (key, name) = repo_key(repo_path)?;
                    (key, name, None)
                }
                Some((repo, key, name)) => {
                    let summary = sync::sync(&mut store, &repo, &key, &name, now, &sync_options(&args.sync))?;
                    (key, name, Some(summary))
                }
            };
            let service = config.service.clone().unwrap_or_else(|| name.clone());
            let mut scope = repo_scope(&key, &name, &service, &config);
            for (key, name) in &members {
                scope.filter.repos.push(name.clone());
                scope.filter.services.push(name.clone());
                scope.team.push((key.clone(), name.clone()));
            }
            let mut analysis = match analysis::analyze(&store, &scope, &config, window) {
                Ok(mut analysis) => {
                    analysis.warnings.extend(future_until_note(&args.window, now));
                    analysis
                }
                Err(e) if implied && gives_no_deployments(&e) && holds_events(&store, &config)? => {
                    let mut analysis = analysis::analyze(&store, &store_scope(&[]), &config, window)?;
                    analysis.warnings.insert(0, implied_repository_note(&name, &e));
                    return print(&render::report(&analysis, None, None, args.format, colour(args.format)));
                }
                result => result?,
            };
            let knowledge = if args.no_knowledge {
                None
            } else if !members.is_empty() {
                analysis.warnings.push(
                    "knowledge section left out of a team roll-up: run `fulcrum knowledge --repo PATH` per repository"
                        .to_owned(),
                );
                None
            } else {
                // The delivery report stands on its own: a knowledge failure is a warning.
                let result = git::GitRepo::open(repo_path).map_err(anyhow::Error::from).and_then(|repo| {
                    let options = knowledge::KnowledgeOptions { now, ..Default::default() };
                    knowledge::knowledge(&store, &repo, &key, &config, &options)
                });
                match result {
                    Ok(report) => Some(knowledge::KnowledgeSection::from(report)),
                    Err(e) => {
                        analysis.warnings.push(format!("knowledge section left out: {e:#}"));
                        None
                    }
                }
            };
            print(&render::report(&analysis, summary.as_ref(), knowledge.as_ref(), args.format, colour(args.format)))
        }
        Command::Import(args) => {
            let mut store = store::Store::open(&db_path(cli.global.db.as_deref())?)?;
            let mut progress = progress::Progress::new("importing");
            let started = std::time::Instant::now();
            let summary = import::import(&mut store, &args.file, &args.source, &mut progress)?;
            if let Some(e) = summary.invalid_lines_error(&args.file) {
                return Err(e.into());
            }
            let stored = summary.stored;
            eprintln!(
                "{}: stored {} pull requests, {} deployments, {} incidents from {} lines in {:.2} s",
                args.file.display(),
                stored.pull_requests,
                stored.deployments,
                stored.incidents,
                summary.lines,
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Flow(args) => {
            let overrides = config::Overrides { deploy_mode: args.deploy_mode.clone(), ..Default::default() };
            let implied = args.repo.is_none();
            let repo_path = use_repository(args.repo.as_deref(), &args.service)?;
            let config = config::Config::load(cli.global.config.as_deref(), repo_path.as_deref(), &overrides)?;
            let window = window(&args.window, &config, now)?;
            // The repository is opened before the database: bad input creates nothing.
            let opened = match &repo_path {
                Some(path) if !args.no_sync => Some(git::GitRepo::open(path)?),
                _ => None,
            };
            let mut store = open_store(&cli.global, repo_path.is_some() && !args.no_sync)?;
            let analysis = match repo_path {
                None => flow::analyze(&store, &store_scope(&args.service), &config, window, now)?,
                Some(repo_path) => {
                    let (key, name) = repo_key(&repo_path)?;
                    if let Some(repo) = opened {
                        sync::sync(&mut store, &repo, &key, &name, now, &sync::SyncOptions::default())?;
                    }
                    let service = config.service.clone().unwrap_or_else(|| name.clone());
                    let scope = repo_scope(&key, &name, &service, &config);
                    match flow::analyze(&store, &scope, &config, window, now) {
                        Err(e) if implied && gives_no_deployments(&e) && holds_events(&store, &config)? => {
                            let mut analysis = flow::analyze(&store, &store_scope(&[]), &config, window, now)?;
                            analysis.report.warnings.insert(0, implied_repository_note(&name, &e));
                            analysis
                        }
                        result => result?,
                    }
                }
            };
            print(&painted(render::flow(&analysis, args.format), args.format))
        }
    }
}

/// A metric's value mapped (no data stays no data).
fn map<T>(metric: &Metric<T>, f: impl Fn(&T) -> f64) -> Metric<f64> {
    match metric {
        Metric::Value(v) => Metric::Value(f(v)),
        Metric::NoData { reason } => Metric::NoData { reason: reason.clone() },
    }
}

/// Opens the database; a command that only reads it refuses a path where
/// none exists (a mistyped `--db`) instead of creating an empty one.
fn open_store(global: &GlobalArgs, writes: bool) -> anyhow::Result<store::Store> {
    let path = db_path(global.db.as_deref())?;
    if !writes && !path.exists() {
        return Err(UsageError(format!(
            "{}: no database here; run `fulcrum sync` or `fulcrum import` first, or pass --db with the database's path",
            path.display()
        ))
        .into());
    }
    // A command that only reads opens the database read-only: it works in a
    // read-only directory and cannot change anything.
    Ok(if writes { store::Store::open(&path)? } else { store::Store::open_read_only(&path)? })
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

/// The repository `report` and `flow` use: `--repo` when given; else the
/// current directory when it is a git repository and no `--service` narrows
/// the stored events; else none (stored events only).
fn use_repository(explicit: Option<&Path>, services: &[String]) -> anyhow::Result<Option<PathBuf>> {
    match explicit {
        Some(path) => {
            if !services.is_empty() {
                return Err(UsageError(
                    "--service selects stored events without a repository; drop --repo or --service".into(),
                )
                .into());
            }
            Ok(Some(path.to_owned()))
        }
        None if services.is_empty() && git::GitRepo::open(Path::new(".")).is_ok() => Ok(Some(PathBuf::from("."))),
        None => Ok(None),
    }
}

/// Whether `e` says the repository gives no deployments (no release tag
/// matches, no trunk branch).
fn gives_no_deployments(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        matches!(
            c.downcast_ref::<analysis::AnalysisError>(),
            Some(analysis::AnalysisError::NoMatchingTags { .. } | analysis::AnalysisError::NoBranch { .. })
        )
    })
}

/// Whether the store holds any pull requests, deployments or incidents.
fn holds_events(store: &store::Store, config: &config::Config) -> anyhow::Result<bool> {
    Ok(!delivery::Events::load(store, &store::EventFilter::default(), config)?.is_empty())
}

/// Said when the current directory was a repository nobody asked for and
/// the stored events were reported instead.
fn implied_repository_note(name: &str, e: &anyhow::Error) -> String {
    let why = e
        .chain()
        .find_map(|c| match c.downcast_ref::<analysis::AnalysisError>() {
            Some(analysis::AnalysisError::NoMatchingTags { pattern, .. }) => {
                Some(format!("no tag matches deploy.tag_pattern `{pattern}`"))
            }
            Some(analysis::AnalysisError::NoBranch { branch, .. }) => Some(format!("no branch `{branch}`")),
            _ => None,
        })
        .unwrap_or_default();
    format!(
        "the current directory ({name}) is a git repository without deployments of its own ({why}): the stored \
         events are reported instead; pass --repo . to report on the repository, or --service NAME to choose events"
    )
}

/// Stored events only, narrowed to `services` (deployments and incidents by
/// service, pull requests by repository name) when any are given.
fn store_scope(services: &[String]) -> analysis::Scope<'static> {
    analysis::Scope {
        team: Vec::new(),
        repo_key: None,
        service: "",
        filter: store::EventFilter { repos: services.to_vec(), services: services.to_vec() },
    }
}

/// A git repository with the events of its service and of its `[[source]]`s.
fn repo_scope<'a>(key: &'a str, name: &str, service: &'a str, config: &config::Config) -> analysis::Scope<'a> {
    let mut repos: Vec<String> = config.sources.iter().map(|s| s.repo.clone()).collect();
    repos.push(name.to_owned());
    repos.push(service.to_owned());
    let mut services = vec![service.to_owned()];
    services.extend(config.sources.iter().filter_map(|s| s.service.clone()));
    analysis::Scope { repo_key: Some(key), service, filter: store::EventFilter { repos, services }, team: Vec::new() }
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

/// Said when `--until` lies in the future and the window was cut at now.
fn future_until_note(global: &WindowArgs, now: i64) -> Option<String> {
    let until = global.until.as_deref()?;
    let end = parse_instant(until, now).ok()?;
    (end > now + 1).then(|| {
        format!("--until {until} is in the future: the window ends now ({})", fulcrum_core::time::format_datetime(now))
    })
}

fn window(global: &WindowArgs, config: &config::Config, now: i64) -> anyhow::Result<Window> {
    window_with_default(global, &config.window, now)
}

fn window_with_default(global: &WindowArgs, default_since: &str, now: i64) -> anyhow::Result<Window> {
    let start = match &global.since {
        Some(since) => parse_instant(since, now).with_context(|| format!("--since {since}"))?,
        None => parse_instant(default_since, now).with_context(|| format!("the default window `{default_since}`"))?,
    };
    // The window ends now at the latest: weeks that have not happened yet
    // are not weeks without deployments (and `--until 9999-12-31` would be
    // 416,000 of them).
    let end = match &global.until {
        Some(until) => parse_instant(until, now).with_context(|| format!("--until {until}"))?.min(now + 1),
        None => now + 1,
    };
    if start < 0 || end < 0 {
        return Err(UsageError(format!(
            "the window starts before 1970 ({}); pass a later --since",
            fulcrum_core::time::format_datetime(start.min(end))
        ))
        .into());
    }
    if start >= end {
        return Err(UsageError(format!(
            "the window is empty: --since {} is not before --until {}; pass an earlier --since",
            fulcrum_core::time::format_datetime(start),
            fulcrum_core::time::format_datetime(end)
        ))
        .into());
    }
    Ok(Window { start, end })
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

/// The key a repository is stored under (its canonical path) and its name.
fn repo_key(path: &Path) -> anyhow::Result<(String, String)> {
    let canonical = path.canonicalize().map_err(|_| git::GitError::NotFound { path: path.to_owned() })?;
    let name = canonical
        .file_name()
        .map(|n| n.to_string_lossy().trim_end_matches(".git").to_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "repository".to_owned());
    Ok((canonical.display().to_string(), name))
}

fn open_repo(path: &Path) -> anyhow::Result<(git::GitRepo, String, String)> {
    let repo = git::GitRepo::open(path)?;
    let (key, name) = repo_key(path)?;
    Ok((repo, key, name))
}
