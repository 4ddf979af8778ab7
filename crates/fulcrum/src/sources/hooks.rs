//! GitHub's and GitLab's webhooks: a signed delivery is checked, matched
//! to its configured `[[source]]` by repository, and what it says is
//! stored at once, as that source's sync stores it (same source name,
//! service and ids, so the next sync replaces rather than duplicates).
//!
//! Stored at once: GitHub `deployment_status` (a final state), completed
//! `workflow_run`s whose name matches `deploy.ci_pattern`, and `issues`
//! carrying an incident label; GitLab `deployment` events (a final status)
//! and issues of type incident or with an incident label. Pull and merge
//! requests need their commits and reviews, which a delivery does not
//! carry: they are acknowledged and left to the source's next sync.
//!
//! The shared secrets come from the server's environment
//! (`FULCRUM_GITHUB_WEBHOOK_SECRET`, `FULCRUM_GITLAB_WEBHOOK_TOKEN`), never
//! from a configuration file.

use fulcrum_core::time::parse_rfc3339;
use serde_json::Value;

use crate::config::{Config, SourceFile};
use crate::sources::connector::{Names, incident};
use crate::store::{DeploymentEvent, EventBatch};

/// The environment variable holding GitHub's webhook secret.
pub const GITHUB_SECRET_ENV: &str = "FULCRUM_GITHUB_WEBHOOK_SECRET";
/// The environment variable holding GitLab's webhook secret token.
pub const GITLAB_SECRET_ENV: &str = "FULCRUM_GITLAB_WEBHOOK_TOKEN";

/// The webhook secrets a server was started with.
#[derive(Clone, Default)]
pub struct Secrets {
    /// GitHub's: the key of `X-Hub-Signature-256`.
    pub github: Option<String>,
    /// GitLab's: the value of `X-Gitlab-Token`.
    pub gitlab: Option<String>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the values.
        f.debug_struct("Secrets")
            .field("github", &self.github.as_ref().map(|_| "…"))
            .field("gitlab", &self.gitlab.as_ref().map(|_| "…"))
            .finish()
    }
}

impl Secrets {
    /// The secrets in the process environment (empty values are unset).
    pub fn from_env() -> Secrets {
        let var = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
        Secrets { github: var(GITHUB_SECRET_ENV), gitlab: var(GITLAB_SECRET_ENV) }
    }
}

/// Why a delivery is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// This host's webhooks are not enabled (no secret): 404.
    Off(String),
    /// Missing or wrong signature or token: 401.
    Unsigned(String),
    /// Not JSON, or not the shape of its event: 400.
    Malformed(String),
    /// No `[[source]]` of the repository: 422.
    UnknownRepository(String),
}

/// What a delivery came to.
#[derive(Debug, Default)]
pub struct Delivery {
    /// What to store (may be empty).
    pub batch: EventBatch,
    /// Why nothing is stored, when nothing is.
    pub ignored: Option<String>,
}

impl Delivery {
    fn ignored(why: impl Into<String>) -> Delivery {
        Delivery { batch: EventBatch::default(), ignored: Some(why.into()) }
    }
}

/// Whether `signature` (`sha256=HEX`) is GitHub's HMAC-SHA256 of `body`
/// under `secret`, compared in constant time.
pub fn github_signature_holds(secret: &str, body: &[u8], signature: &str) -> bool {
    let Some(hex) = signature.strip_prefix("sha256=") else { return false };
    let Some(tag) = decode_hex(hex) else { return false };
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    ring::hmac::verify(&key, body, &tag).is_ok()
}

/// GitHub's signature of `body` under `secret` (for tests and tools).
pub fn github_signature(secret: &str, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = ring::hmac::sign(&key, body);
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

/// Equality that takes as long whatever the first difference.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The configured source of `kind` for repository `repo` (`owner/name`):
/// its own `[[source]]`, else an `owner/*` one (as that repository).
fn source(config: &Config, kind: &str, repo: &str) -> Result<SourceFile, Refusal> {
    let named = config.sources.iter().find(|s| s.kind == kind && s.repo.trim_matches('/').eq_ignore_ascii_case(repo));
    if let Some(source) = named {
        return Ok(source.clone());
    }
    let owner = |s: &SourceFile| s.repo.strip_suffix("/*").map(|o| o.trim_matches('/').to_lowercase());
    let lower = repo.to_lowercase();
    config
        .sources
        .iter()
        .find(|s| {
            s.kind == kind && owner(s).is_some_and(|o| lower.strip_prefix(&o).is_some_and(|r| r.starts_with('/')))
        })
        .map(|s| SourceFile { repo: repo.to_owned(), service: None, ..s.clone() })
        .ok_or_else(|| {
            Refusal::UnknownRepository(format!(
                "no [[source]] with kind = \"{kind}\" and repo = \"{repo}\" (or its owner's `/*`) in the \
                 configuration; add one so its events have a service"
            ))
        })
}

fn parse(body: &[u8]) -> Result<Value, Refusal> {
    serde_json::from_slice(body).map_err(|e| Refusal::Malformed(format!("the body is not JSON: {e}")))
}

/// A GitHub delivery of `event` (`X-GitHub-Event`) signed `signature`.
pub fn github(
    secrets: &Secrets,
    config: &Config,
    event: &str,
    signature: Option<&str>,
    body: &[u8],
) -> Result<Delivery, Refusal> {
    let secret = secrets.github.as_deref().ok_or_else(|| {
        Refusal::Off(format!("GitHub webhooks are off: start `fulcrum serve` with {GITHUB_SECRET_ENV} set"))
    })?;
    let signature = signature.ok_or_else(|| Refusal::Unsigned("X-Hub-Signature-256 is missing".to_owned()))?;
    if !github_signature_holds(secret, body, signature) {
        return Err(Refusal::Unsigned("X-Hub-Signature-256 does not match the body and the secret".to_owned()));
    }
    let payload = parse(body)?;
    if event == "ping" {
        return Ok(Delivery::ignored("ping"));
    }
    let repo = payload["repository"]["full_name"]
        .as_str()
        .ok_or_else(|| Refusal::Malformed("`repository.full_name` is missing".to_owned()))?;
    let source = source(config, "github", repo)?;
    let names = Names::of(&source, "github", "https://api.github.com");
    let mut batch = EventBatch::default();
    match event {
        "deployment_status" => {
            let (deployment, status) = (&payload["deployment"], &payload["deployment_status"]);
            if crate::sources::github::final_state(status).is_none() {
                return Ok(Delivery::ignored("the deployment has not finished"));
            }
            let event = crate::sources::github::deployment_event(&names, deployment, status).ok_or_else(|| {
                Refusal::Malformed("`deployment` needs `id` and `sha`, `deployment_status` `created_at`".to_owned())
            })?;
            batch.deployments.push(event);
        }
        "workflow_run" => {
            let run = &payload["workflow_run"];
            if run["status"] != "completed" {
                return Ok(Delivery::ignored("the run has not completed"));
            }
            if run["event"].as_str().is_some_and(|e| e.starts_with("pull_request")) {
                return Ok(Delivery::ignored("runs for pull requests do not deploy"));
            }
            if !config.ci_regex.is_match(run["name"].as_str().unwrap_or("")) {
                // Sync also looks at the jobs of a successful run; a
                // delivery does not carry them.
                return Ok(Delivery::ignored(
                    "the workflow's name does not match deploy.ci_pattern (its jobs are looked at by the next sync)",
                ));
            }
            let finished_at = time(run, "updated_at")?;
            let event = crate::sources::github::run_event(&names, run, finished_at)
                .ok_or_else(|| Refusal::Malformed("`workflow_run` needs `id` and `head_sha`".to_owned()))?;
            batch.deployments.push(event);
        }
        "issues" => {
            let issue = &payload["issue"];
            if !labelled(config, &issue["labels"], "name") {
                return Ok(Delivery::ignored("the issue carries no incident label"));
            }
            let number =
                issue["number"].as_u64().ok_or_else(|| Refusal::Malformed("`issue.number` is missing".to_owned()))?;
            batch.incidents.extend(incident(&names.name, &names.service, number, issue));
        }
        "pull_request" | "pull_request_review" => {
            return Ok(Delivery::ignored("pull requests are stored with their commits and reviews by the next sync"));
        }
        other => return Ok(Delivery::ignored(format!("fulcrum has no use for `{other}` events"))),
    }
    if batch.deployments.is_empty() && batch.incidents.is_empty() {
        return Err(Refusal::Malformed(format!("the `{event}` event lacks the fields fulcrum needs")));
    }
    Ok(Delivery { batch, ignored: None })
}

/// A GitLab delivery with the token `token` (`X-Gitlab-Token`).
pub fn gitlab(secrets: &Secrets, config: &Config, token: Option<&str>, body: &[u8]) -> Result<Delivery, Refusal> {
    let secret = secrets.gitlab.as_deref().ok_or_else(|| {
        Refusal::Off(format!("GitLab webhooks are off: start `fulcrum serve` with {GITLAB_SECRET_ENV} set"))
    })?;
    let token = token.ok_or_else(|| Refusal::Unsigned("X-Gitlab-Token is missing".to_owned()))?;
    if !same(token.as_bytes(), secret.as_bytes()) {
        return Err(Refusal::Unsigned("X-Gitlab-Token is not the configured secret token".to_owned()));
    }
    let payload = parse(body)?;
    let repo = payload["project"]["path_with_namespace"]
        .as_str()
        .ok_or_else(|| Refusal::Malformed("`project.path_with_namespace` is missing".to_owned()))?;
    let source = source(config, "gitlab", repo)?;
    let names = Names::of(&source, "gitlab", "https://gitlab.com/api/v4");
    let mut batch = EventBatch::default();
    match payload["object_kind"].as_str().unwrap_or("") {
        "deployment" => {
            let status = payload["status"].as_str().unwrap_or("");
            if !matches!(status, "success" | "failed" | "canceled") {
                return Ok(Delivery::ignored("the deployment has not finished"));
            }
            let id = payload["deployment_id"]
                .as_u64()
                .ok_or_else(|| Refusal::Malformed("`deployment_id` is missing".to_owned()))?;
            let sha = payload["sha"].as_str().ok_or_else(|| Refusal::Malformed("`sha` is missing".to_owned()))?;
            let environment = if payload["environment_tier"] == "production" {
                "production".to_owned()
            } else {
                payload["environment"].as_str().unwrap_or("unknown").to_owned()
            };
            batch.deployments.push((
                DeploymentEvent {
                    source: names.name.clone(),
                    external_id: format!("deployment-{id}"),
                    repo: Some(names.repo.to_owned()),
                    service: names.service.clone(),
                    environment,
                    commit: sha.to_owned(),
                    finished_at: gitlab_time(&payload, "status_changed_at")?,
                    status: if status == "failed" { "failure".to_owned() } else { status.to_owned() },
                    name: payload["ref"].as_str().map(str::to_owned),
                    commits: None,
                },
                Some(payload.to_string()),
            ));
        }
        "issue" | "work_item" => {
            let issue = &payload["object_attributes"];
            let kind = issue["type"].as_str().or(issue["issue_type"].as_str()).unwrap_or("");
            if !kind.eq_ignore_ascii_case("incident") && !labelled(config, &payload["labels"], "title") {
                return Ok(Delivery::ignored("the issue is not an incident and carries no incident label"));
            }
            let iid = issue["iid"]
                .as_u64()
                .ok_or_else(|| Refusal::Malformed("`object_attributes.iid` is missing".to_owned()))?;
            // The REST shape the connectors read: RFC 3339 times.
            let mut rest = serde_json::json!({ "title": issue["title"] });
            rest["created_at"] = Value::from(fulcrum_core::time::format_datetime(gitlab_time(issue, "created_at")?));
            if issue["closed_at"].is_string() {
                rest["closed_at"] = Value::from(fulcrum_core::time::format_datetime(gitlab_time(issue, "closed_at")?));
            }
            batch.incidents.extend(incident(&names.name, &names.service, iid, &rest));
        }
        "merge_request" | "pipeline" => {
            return Ok(Delivery::ignored(
                "merge requests and pipelines are stored with their commits and jobs by the next sync",
            ));
        }
        other => return Ok(Delivery::ignored(format!("fulcrum has no use for `{other}` events"))),
    }
    Ok(Delivery { batch, ignored: None })
}

/// Whether `labels` (objects with a `key`) include a configured incident label.
fn labelled(config: &Config, labels: &Value, key: &str) -> bool {
    labels.as_array().is_some_and(|labels| {
        labels.iter().any(|l| l[key].as_str().is_some_and(|n| config.incident_labels.contains(&n.to_lowercase())))
    })
}

fn time(value: &Value, key: &str) -> Result<i64, Refusal> {
    value[key]
        .as_str()
        .and_then(parse_rfc3339)
        .ok_or_else(|| Refusal::Malformed(format!("`{key}` is missing or not an RFC 3339 time")))
}

/// A GitLab webhook time: RFC 3339, `2021-04-28 21:50:00 +0200` or
/// `2013-12-03 17:23:34 UTC`.
fn gitlab_time(value: &Value, key: &str) -> Result<i64, Refusal> {
    let text = value[key].as_str().unwrap_or("");
    parse_gitlab_time(text).ok_or_else(|| Refusal::Malformed(format!("`{key}` is `{text}`, not a time")))
}

fn parse_gitlab_time(text: &str) -> Option<i64> {
    if let Some(at) = parse_rfc3339(text) {
        return Some(at);
    }
    let (date, rest) = text.split_once(' ')?;
    let (clock, zone) = rest.split_once(' ')?;
    let zone = match zone {
        "UTC" | "Z" => "Z".to_owned(),
        z if z.len() == 5 && (z.starts_with('+') || z.starts_with('-')) => format!("{}:{}", &z[..3], &z[3..]),
        _ => return None,
    };
    parse_rfc3339(&format!("{date}T{clock}{zone}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_signatures_are_checked() {
        let signed = github_signature("s3cret", b"{}");
        assert!(github_signature_holds("s3cret", b"{}", &signed));
        assert!(!github_signature_holds("other", b"{}", &signed));
        assert!(!github_signature_holds("s3cret", b"{ }", &signed));
        assert!(!github_signature_holds("s3cret", b"{}", "sha256=zz"));
        assert!(!github_signature_holds("s3cret", b"{}", &signed.replace("sha256=", "sha1=")));
        // RFC 4231 test case 2.
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"Jefe");
        let tag = ring::hmac::sign(&key, b"what do ya want for nothing?");
        assert_eq!(
            github_signature("Jefe", b"what do ya want for nothing?"),
            format!("sha256={}", tag.as_ref().iter().map(|b| format!("{b:02x}")).collect::<String>())
        );
        assert!(
            github_signature("Jefe", b"what do ya want for nothing?")
                .ends_with("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        );
    }

    #[test]
    fn a_delivery_finds_its_repository_or_its_owner_wildcard() {
        let dir = std::env::temp_dir().join(format!("fulcrum-hooks-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("fulcrum.toml");
        std::fs::write(
            &file,
            "[[source]]\nkind = \"github\"\nrepo = \"acme/shop\"\nservice = \"checkout\"\n\n\
             [[source]]\nkind = \"github\"\nrepo = \"acme/*\"\nservice = \"ignored\"\n",
        )
        .unwrap();
        let config = Config::load(Some(&file), None, &Default::default()).unwrap();
        assert_eq!(source(&config, "github", "acme/shop").unwrap().service.as_deref(), Some("checkout"));
        let other = source(&config, "github", "Acme/Web").unwrap();
        assert_eq!((other.repo.as_str(), other.service), ("Acme/Web", None), "each repository its own service");
        assert!(source(&config, "github", "acmecorp/web").is_err(), "an owner is matched whole");
        assert!(source(&config, "gitlab", "acme/web").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn gitlab_times_in_their_three_spellings() {
        let utc = parse_rfc3339("2021-04-28T19:50:00Z");
        assert_eq!(parse_gitlab_time("2021-04-28 21:50:00 +0200"), utc);
        assert_eq!(parse_gitlab_time("2021-04-28 19:50:00 UTC"), utc);
        assert_eq!(parse_gitlab_time("2021-04-28T19:50:00Z"), utc);
        assert_eq!(parse_gitlab_time("yesterday"), None);
    }

    #[test]
    fn secrets_never_print() {
        let secrets = Secrets { github: Some("s3cret".into()), gitlab: Some("t0ken".into()) };
        let shown = format!("{secrets:?}");
        assert!(!shown.contains("s3cret") && !shown.contains("t0ken"), "{shown}");
    }
}
