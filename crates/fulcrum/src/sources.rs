//! Where data comes from: a git repository (gix); GitHub, GitLab,
//! Bitbucket, Azure DevOps, Jenkins, CircleCI, Jira, PagerDuty and Opsgenie
//! over HTTP; events files; and webhooks pushed to the team server. Each
//! source fetches and converts to store records; none computes a metric.

pub mod azure;
pub mod bitbucket;
pub mod calendar;
pub mod ci;
pub mod connector;
pub mod devlake;
pub mod git;
pub mod github;
pub mod gitlab;
pub mod graphql;
pub mod hooks;
pub mod http;
pub mod import;
pub mod jira;
pub mod oncall;
pub(crate) mod pack;
pub mod sync;
pub mod worker;
