//! `fulcrum init`: a commented `fulcrum.toml` for a repository, from what it
//! already says: the host and repository of its `origin` remote (GitHub,
//! GitLab, self-hosted ones too), the deploy mode its tags suggest, and
//! where a token can come from. The file is shown, then written (never over
//! an existing one) and trusted: the user made it.

use std::path::Path;

use crate::config::DEFAULT_TAG_PATTERN;
use crate::sources::git::{GitRepo, RefKind};

/// A host repository read from a remote URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    /// `github` or `gitlab`.
    pub kind: &'static str,
    /// `owner/name`, `group/sub/project`.
    pub repo: String,
    /// The API base for a self-hosted host; `None` for github.com, gitlab.com.
    pub base_url: Option<String>,
    /// The host name.
    pub host: String,
}

/// Reads `https://host/owner/name(.git)`, `git@host:owner/name.git` and
/// `ssh://git@host[:port]/owner/name.git`. The host decides the kind:
/// github.com and gitlab.com, else a name containing `github` or `gitlab`
/// (GitHub Enterprise's API at `/api/v3`, GitLab's at `/api/v4`); other
/// hosts are not known.
pub fn parse_remote(url: &str) -> Option<Remote> {
    let url = url.trim();
    let (host, path) = if let Some(rest) = url.split_once("://").map(|(_, rest)| rest) {
        let rest = rest.rsplit_once('@').map_or(rest, |(_, after)| after);
        let (authority, path) = rest.split_once('/')?;
        (authority.split(':').next()?.to_owned(), path.to_owned())
    } else {
        // scp-like: [user@]host:path
        let (authority, path) = url.split_once(':')?;
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        (host.to_owned(), path.to_owned())
    };
    let host = host.to_lowercase();
    let repo = path.trim_matches('/').trim_end_matches(".git").to_owned();
    if repo.split('/').filter(|p| !p.is_empty()).count() < 2 {
        return None;
    }
    let (kind, base_url) = match host.as_str() {
        "github.com" => ("github", None),
        "gitlab.com" => ("gitlab", None),
        h if h.contains("gitlab") => ("gitlab", Some(format!("https://{h}/api/v4"))),
        h if h.contains("github") => ("github", Some(format!("https://{h}/api/v3"))),
        _ => return None,
    };
    Some(Remote { kind, repo, base_url, host })
}

/// Where the token of `remote` will come from, as `fulcrum.toml` lines and
/// a sentence for the user.
fn token_lines(remote: &Remote, env: &dyn Fn(&str) -> Option<String>, has: &dyn Fn(&str) -> bool) -> (String, String) {
    let variable = if remote.kind == "github" { "GITHUB_TOKEN" } else { "GITLAB_TOKEN" };
    if env(variable).is_some_and(|v| !v.trim().is_empty()) {
        return (String::new(), format!("the token comes from ${variable} (set now)"));
    }
    let (tool, command) = if remote.kind == "github" {
        ("gh", format!("gh auth token --hostname {}", remote.host))
    } else {
        ("glab", format!("glab config get token --host {}", remote.host))
    };
    if has(tool) {
        return (
            format!("token_command = \"{command}\"      # used when ${variable} is unset\n"),
            format!("the token comes from ${variable}, else `{command}` ({tool} is installed)"),
        );
    }
    (
        String::new(),
        format!(
            "warning: no token: ${variable} is unset and {tool} is not installed; requests will be unauthenticated \
             and tightly rate limited (set ${variable} before `fulcrum sync`)"
        ),
    )
}

/// What `fulcrum init` proposes.
pub struct Proposal {
    /// The file's text.
    pub text: String,
    /// What was found, one sentence each.
    pub notes: Vec<String>,
}

/// The `fulcrum.toml` for `repo`.
pub fn propose(
    repo: &GitRepo,
    env: &dyn Fn(&str) -> Option<String>,
    has: &dyn Fn(&str) -> bool,
) -> anyhow::Result<Proposal> {
    let mut notes = Vec::new();
    let pattern = regex::Regex::new(DEFAULT_TAG_PATTERN).expect("the default pattern compiles");
    let tags = repo.refs()?.into_iter().filter(|r| r.kind == RefKind::Tag).collect::<Vec<_>>();
    let releases = tags.iter().filter(|t| pattern.is_match(t.name.trim_start_matches("refs/tags/"))).count();
    let mode = if releases >= 2 { "tags" } else { "trunk" };
    notes.push(if mode == "tags" {
        format!("{releases} release tags match {DEFAULT_TAG_PATTERN}: each is a deployment (deploy.mode = \"tags\")")
    } else {
        format!(
            "{releases} of {} tags look like releases: every first-parent commit of the default branch is taken as \
             a deployment (deploy.mode = \"trunk\"); switch to tags once you tag releases",
            tags.len()
        )
    });
    let mut text = format!(
        "# fulcrum configuration, written by `fulcrum init`. Every key is optional; see the README,\n\
         # \"Configuration reference\", and `fulcrum explain METRIC` for what each number means.\n\n\
         [deploy]\nmode = \"{mode}\"                       # \"tags\": release tags are deployments; \"trunk\": every merge to the default branch\n\
         # tag_pattern = '{DEFAULT_TAG_PATTERN}'\n\
         # env_pattern = '(?i)^(prod|production|live)$'   # environments of host deployments that are production\n\n\
         [report]\nwindow = \"90.days\"                   # the default --since\n\n\
         [check]\n# fail_if = [\"truck_factor < 2\", \"lead_time > 2d\"]   # rules `fulcrum check` fails on in CI\n"
    );
    match repo.origin_url().as_deref().map(|url| (url, parse_remote(url))) {
        Some((_, Some(remote))) => {
            let (token, note) = token_lines(&remote, env, has);
            text.push_str(&format!(
                "\n[[source]]                            # pull requests, deployments and incidents from the host\n\
                 kind = \"{}\"\nrepo = \"{}\"\n",
                remote.kind, remote.repo
            ));
            if let Some(base) = &remote.base_url {
                text.push_str(&format!("base_url = \"{base}\"\n"));
            }
            text.push_str(&token);
            // GraphQL: about 20 requests per 1,000 pull requests instead of 3,000 or more.
            text.push_str(
                "api = \"graphql\"                       # pull requests 50 a query; \"rest\" without a token\n",
            );
            notes.push(format!("origin is {} {} on {}", remote.kind, remote.repo, remote.host));
            notes.push(note);
        }
        Some((url, None)) => notes.push(format!(
            "origin ({url}) is on a host fulcrum has no connector for: git alone is analysed; import pull requests \
             and deployments with `fulcrum import`"
        )),
        None => notes.push("no origin remote: git alone is analysed".to_owned()),
    }
    Ok(Proposal { text, notes })
}

/// Whether `tool` runs from the `PATH`.
pub fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| Path::new(&dir).join(tool).is_file()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remotes_of_every_shape() {
        let gh = |repo: &str| Remote { kind: "github", repo: repo.into(), base_url: None, host: "github.com".into() };
        assert_eq!(parse_remote("https://github.com/pallets/flask.git"), Some(gh("pallets/flask")));
        assert_eq!(parse_remote("git@github.com:pallets/flask.git"), Some(gh("pallets/flask")));
        assert_eq!(parse_remote("ssh://git@github.com/pallets/flask"), Some(gh("pallets/flask")));
        let lab = parse_remote("git@gitlab.example.org:group/sub/project.git").unwrap();
        assert_eq!((lab.kind, lab.repo.as_str()), ("gitlab", "group/sub/project"));
        assert_eq!(lab.base_url.as_deref(), Some("https://gitlab.example.org/api/v4"));
        let ghe = parse_remote("https://user@github.acme.com:8443/team/app").unwrap();
        assert_eq!((ghe.kind, ghe.base_url.as_deref()), ("github", Some("https://github.acme.com/api/v3")));
        assert_eq!(parse_remote("https://bitbucket.org/team/app.git"), None);
        assert_eq!(parse_remote("/srv/git/app.git"), None);
    }

    #[test]
    fn tokens_from_the_variable_the_cli_or_a_warning() {
        let remote = parse_remote("git@github.com:o/r.git").unwrap();
        let (lines, note) = token_lines(&remote, &|v| (v == "GITHUB_TOKEN").then(|| "x".into()), &|_| true);
        assert_eq!(lines, "");
        assert!(note.contains("$GITHUB_TOKEN (set now)"));
        let (lines, _) = token_lines(&remote, &|_| None, &|tool| tool == "gh");
        assert!(lines.contains("token_command = \"gh auth token --hostname github.com\""), "{lines}");
        let (lines, note) = token_lines(&remote, &|_| None, &|_| false);
        assert_eq!(lines, "");
        assert!(note.starts_with("warning: no token"), "{note}");
    }
}
