//! Builders shared by the unit tests.

use crate::model::{Commit, Deployment, DeploymentSource, Instant, Person};

/// A commit authored and committed at `time` by `author@example.com`.
pub fn commit(id: &str, parents: &[&str], time: Instant) -> Commit {
    Commit {
        id: id.to_string(),
        parents: parents.iter().map(|p| p.to_string()).collect(),
        author: Person { name: "author".to_string(), email: "author@example.com".to_string() },
        author_time: time,
        author_offset_minutes: 0,
        committer_time: time,
        subject: format!("change {id}"),
        reverts: None,
    }
}

/// A tag deployment of `commit` to `app`/`production`, named `name`.
pub fn deployment(name: &str, commit: &str, finished_at: Instant) -> Deployment {
    Deployment {
        id: format!("git:tag:{name}"),
        name: name.to_string(),
        service: "app".to_string(),
        environment: "production".to_string(),
        commit: commit.to_string(),
        finished_at,
        source: DeploymentSource::Tag,
        shipped: None,
    }
}
