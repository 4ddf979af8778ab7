//! `fulcrum explain METRIC`: what a number means, how it is computed, the
//! settings that change it (with their effective values) and where its data
//! comes from, for a reader who has the report in front of them and not the
//! documentation (docs/metrics.md holds the long form).

use crate::config::Config;

/// One metric's explanation.
struct Entry {
    /// Names it answers to (the first is shown).
    names: &'static [&'static str],
    /// What it tells a leader, in a sentence.
    meaning: &'static str,
    /// How it is computed.
    formula: &'static str,
    /// Where its data comes from.
    sources: &'static str,
    /// Settings that change it: `(key, what it does)`.
    settings: &'static [(&'static str, &'static str)],
}

const ENTRIES: &[Entry] = &[
    Entry {
        names: &["deployment-frequency", "frequency", "df"],
        meaning: "How often the team ships to production: the rhythm of delivery. More, smaller deployments mean \
                  less risk each.",
        formula: "deployments finished in the window ÷ days measured (from the week the data starts) → per day, \
                  week, month; deployment days per week = the median, over the ISO weeks, of the distinct UTC days \
                  with a deployment. The tier uses the deployment days per week.",
        sources: "deployment events of the service (GitHub deployments, Actions runs matching deploy.ci_pattern, \
                  GitLab production deployments, imported records), else release tags, else trunk mode",
        settings: &[
            ("deploy.mode", "tags or trunk"),
            ("deploy.tag_pattern", "which tags are releases"),
            ("deploy.release_line", "whether backports to older lines count"),
            ("deploy.env_pattern", "which environments are production"),
            ("report.benchmark", "the DORA year behind the tier"),
        ],
    },
    Entry {
        names: &["lead-time", "lead-time-for-changes", "lt"],
        meaning: "How long a change waits between being written and running in production: the speed of the \
                  whole pipeline, review and release included.",
        formula: "per change, deployment finish − author time of its first commit; median, p75, p90. A change is a \
                  merged pull request where a deployment ships one, else a non-merge commit. The first deployment \
                  is a baseline; bots and negative spans are left out and counted.",
        sources: "git history (commits, tags), pull requests (GitHub, GitLab, imported)",
        settings: &[
            ("report.average", "interpolated median, lower median or mean"),
            ("report.min_changes", "fewest changes for a tier"),
            ("bots.patterns", "whose changes are left out"),
        ],
    },
    Entry {
        names: &["change-failure-rate", "cfr", "failure-rate"],
        meaning: "How often a deployment hurts users: the price of speed. Read it beside deployment frequency.",
        formula: "failed deployments ÷ deployments finished in the window, with a 95% Wilson interval. Failures \
                  come from incidents linked to deployments; without incidents they are inferred from git \
                  (reverts, hotfixes, quick patch releases) and the rate is a lower bound, never rated.",
        sources: "incidents (GitHub/GitLab issues with incident.labels, GitLab incidents, imported), else git",
        settings: &[
            ("incident.labels", "which issues are incidents"),
            ("incident.link_window", "how far back an incident looks for its deployment"),
            ("failure.hotfix_pattern", "commit subjects that mark a hotfix"),
            ("failure.patch_window", "how soon a patch release marks the release it patches as failed"),
            ("report.min_deployments", "fewest deployments for a tier"),
        ],
    },
    Entry {
        names: &["recovery-time", "failed-deployment-recovery-time", "mttr"],
        meaning: "How long users live with a failed deployment: the team's ability to recover.",
        formula: "per failed deployment, from its finish to its recovery (the deployment shipping the fix, or the \
                  incident's resolution; never before the deployment); median, p75, p90 over recoveries in the \
                  window.",
        sources: "incidents, else the fixing deployment found in git",
        settings: &[
            ("incident.link_window", "which incidents belong to a deployment"),
            ("report.min_recoveries", "fewest recoveries for a tier"),
        ],
    },
    Entry {
        names: &["rework-rate", "rework"],
        meaning: "How much of the delivery is unplanned repair rather than new value.",
        formula: "deployments that ship a fix (a revert, a hotfix, a patch release, or the one that ended an \
                  incident) ÷ deployments in the window. No published tier.",
        sources: "the same signals as the change failure rate: no signal, no data",
        settings: &[("failure.hotfix_pattern", "hotfix commits"), ("failure.patch_window", "patch releases")],
    },
    Entry {
        names: &["truck-factor", "bus-factor", "tf"],
        meaning: "How many people could leave before most of the code has no one who knows it.",
        formula: "degree of authorship per person and file (Avelino et al., ICPC 2016: 3.293 + 1.098·FA + \
                  0.164·DL − 0.321·ln(1 + AC)); an author has DOA ≥ 3.293 and > 75% of the file's highest; remove \
                  the person authoring most files until fewer than half the files have an author. The active \
                  truck factor first removes everyone idle for longer than knowledge.inactive_after.",
        sources: "git history at --at (renames followed, merges ignored, identities merged)",
        settings: &[
            ("knowledge.inactive_after", "who counts as gone in the active truck factor"),
            ("knowledge.require_language / exclude / include", "which files count"),
            ("identities.aliases", "which e-mails are one person"),
            ("agents.names / agents.emails", "coding agents, never authors"),
        ],
    },
    Entry {
        names: &["fragmentation"],
        meaning: "How spread the work on a file or directory is: 0 when one person made every change.",
        formula: "1 − Σ share², the shares being each person's fraction of the commits that touched it (creation \
                  counting as one)",
        sources: "git history",
        settings: &[],
    },
    Entry {
        names: &["hotspots", "hotspot", "score"],
        meaning: "Large files that keep changing: where defects and slow work gather.",
        formula: "score = changes in the window × lines now; files changed once are left out",
        sources: "git history and the tree at HEAD",
        settings: &[("hotspots.window", "the default window"), ("hotspots.limit", "rows shown")],
    },
    Entry {
        names: &["coupling", "change-coupling"],
        meaning: "Files that keep changing together: a hidden dependency.",
        formula: "degree = shared commits ÷ the average of the two files' commits (Code Maat); commits touching \
                  more than hotspots.max_changeset files are left out",
        sources: "git history",
        settings: &[
            ("hotspots.min_shared", "fewest shared commits listed"),
            ("hotspots.max_changeset", "largest commit counted"),
        ],
    },
    Entry {
        names: &["cycle-time", "cycle", "coding", "pickup", "review", "deploy"],
        meaning: "Where a pull request spends its time, and so where the team waits: the bottleneck stage.",
        formula: "coding = first commit → ready for review; pickup = ready → first review activity by someone else \
                  (bots and the author left out); review = first review → merge; deploy = merge → first deployment \
                  shipping the merge commit; cycle = first commit → deployment (or merge when no deployment is \
                  known). Calendar time.",
        sources: "pull requests with commits, reviews and comments; deployments as for the DORA keys",
        settings: &[
            ("flow.pickup_target / flow.review_target", "working agreements"),
            ("flow.max_size", "the size agreement"),
            ("bots.patterns", "whose activity is not a review"),
        ],
    },
    Entry {
        names: &["review-load", "gini"],
        meaning: "Whether reviewing rests on a few shoulders.",
        formula: "reviews and comments per reviewer in the window; Gini coefficient (0 even, towards 1 one person \
                  does all) and the busiest reviewer's share. No names.",
        sources: "pull-request reviews and comments",
        settings: &[("bots.patterns", "whose reviews are left out")],
    },
    Entry {
        names: &["wip", "stale"],
        meaning: "How much is started but not finished, and what is forgotten.",
        formula: "WIP = open pull requests at now, per active author; stale = open and idle for longer than \
                  flow.stale_days",
        sources: "pull requests",
        settings: &[("flow.stale_days", "idle days before stale")],
    },
    Entry {
        names: &["work-items", "feature-value-stream", "items"],
        meaning: "How long an idea waits and travels, from the tracker to production: the value stream a \
                  stakeholder sees, not only the pull request's part of it.",
        formula: "per work item done in the window: created → started (first move into progress) → first commit \
                  of its pull requests → first pull request ready → last merge → its deployment → done (last move \
                  into done); time back in to-do after starting is waiting. Median, p75, p90 per step; negative \
                  spans left out.",
        sources: "work items (events-file `item` lines, GitHub issues with `issues = true`), linked to pull \
                  requests by explicit links, keys in titles and descriptions, and `#N` for issues",
        settings: &[("items.todo, items.in_progress, items.done", "which status names are in which category")],
    },
    Entry {
        names: &["goal-progress", "goals", "goal"],
        meaning: "Whether a goal set on one of these metrics will be met by its date.",
        formula: "baseline = the metric when the goal was set; share = (now − baseline) ÷ (target − baseline); \
                  on track when the value or the least-squares projection of every recorded value to the due \
                  date meets the target, at risk when the projection covers half of what is left, else off track. \
                  Values are recorded after every sync.",
        sources: "the report, flow or knowledge analysis the commands run, over the goal's trailing window",
        settings: &[],
    },
];

/// Failures of `fulcrum explain` (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("no metric named `{0}`; try one of: {1}")]
pub struct UnknownMetric(pub String, pub String);

/// The explanation of `metric`, with the effective settings of `config`.
pub fn explain(metric: &str, config: &Config) -> Result<String, UnknownMetric> {
    let wanted = metric.trim().to_lowercase().replace([' ', '_'], "-");
    let Some(entry) = ENTRIES.iter().find(|e| e.names.contains(&wanted.as_str())) else {
        let names: Vec<&str> = ENTRIES.iter().map(|e| e.names[0]).collect();
        return Err(UnknownMetric(metric.to_owned(), names.join(", ")));
    };
    let width = crate::render::width();
    let wrap = |text: &str, first: &str, rest: &str| crate::render::wrap(text, width, first, rest) + "\n";
    let mut out = format!("{}\n\n", entry.names[0]);
    out.push_str(&wrap(entry.meaning, "", ""));
    out.push('\n');
    out.push_str(&wrap(&format!("How: {}", entry.formula), "", "  "));
    out.push('\n');
    out.push_str(&wrap(&format!("Data: {}", entry.sources), "", "  "));
    if !entry.settings.is_empty() {
        out.push_str(&format!("\nSettings (effective values from {}):\n", config.source));
        for (key, what) in entry.settings {
            let value = effective(config, key).map(|v| format!(" = {v}")).unwrap_or_default();
            out.push_str(&wrap(&format!("{key}{value}: {what}"), "  ", "      "));
        }
    }
    out.push('\n');
    out.push_str(&wrap("The full definitions, and the choices made where sources disagree: docs/metrics.md", "", ""));
    Ok(out)
}

/// The effective value of a setting, where one value says it.
fn effective(config: &Config, key: &str) -> Option<String> {
    let days = |seconds: i64| format!("{} days", seconds / 86_400);
    Some(match key {
        "deploy.mode" => format!("{:?}", config.deploy_mode).to_lowercase(),
        "deploy.tag_pattern" => format!("'{}'", config.tag_pattern),
        "deploy.release_line" => format!("{:?}", config.release_line).to_lowercase(),
        "deploy.env_pattern" => format!("'{}'", config.env_pattern),
        "report.benchmark" => config.benchmark.to_string(),
        "report.average" => format!("{:?}", config.average).to_lowercase(),
        "report.min_changes" => config.min_changes.to_string(),
        "report.min_deployments" => config.min_deployments.to_string(),
        "report.min_recoveries" => config.min_recoveries.to_string(),
        "bots.patterns" => format!("{:?}", config.bot_patterns),
        "incident.labels" => format!("{:?}", config.incident_labels),
        "incident.link_window" => days(config.link_window),
        "failure.hotfix_pattern" => format!("'{}'", config.hotfix_pattern),
        "failure.patch_window" => config.patch_window.map_or_else(|| "off".to_owned(), days),
        "knowledge.inactive_after" => config.inactive_after.map_or_else(|| "off".to_owned(), days),
        "hotspots.window" => config.hotspots_window.clone(),
        "hotspots.limit" => config.hotspots_limit.to_string(),
        "hotspots.min_shared" => config.min_shared.to_string(),
        "hotspots.max_changeset" => config.max_changeset.to_string(),
        "flow.stale_days" => config.stale_days.to_string(),
        "flow.max_size" => config.max_size.to_string(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_answers_to_its_names_and_unknown_names_list_them() {
        let config = Config::load(None, None, &Default::default()).unwrap();
        for entry in ENTRIES {
            for name in entry.names {
                assert!(explain(name, &config).unwrap().starts_with(entry.names[0]), "{name}");
            }
        }
        let text = explain("Change Failure Rate", &config).unwrap();
        assert!(text.contains("failure.patch_window = 7 days"), "{text}");
        assert!(text.contains("lower bound"), "{text}");
        let e = explain("velocity", &config).unwrap_err();
        assert!(e.to_string().contains("deployment-frequency, lead-time"), "{e}");
    }
}
