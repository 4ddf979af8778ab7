//! What kind an error is, for each front end to map: the command line to
//! exit codes (2 for input the user can fix, 1 otherwise), the server to
//! HTTP statuses.

use crate::analyses::{analysis, check, explain, knowledge};
use crate::sources::{connector, git, http, import};
use crate::{config, store, trust};

/// Bad input given by the user in words (a flag, a combination of flags).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The kind of an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The user can fix it by changing what they gave (a path, a flag, a
    /// configuration, a token, a database file).
    Input,
    /// Anything else: a host failing, a bug.
    Internal,
}

/// The kind of `e`, from the errors in its chain.
pub fn kind(e: &anyhow::Error) -> ErrorKind {
    let input = e.chain().any(|c| {
        c.is::<git::GitError>()
            || c.is::<config::ConfigError>()
            || c.is::<analysis::AnalysisError>()
            || c.is::<knowledge::KnowledgeError>()
            || c.is::<fulcrum_core::time::TimeError>()
            || c.is::<UsageError>()
            || c.is::<import::ImportError>()
            || c.is::<connector::SourceError>()
            || c.is::<trust::TrustError>()
            || c.is::<explain::UnknownMetric>()
            || c.is::<check::RuleError>()
            || c.downcast_ref::<http::HttpError>().is_some_and(http::HttpError::is_input_error)
            || c.is::<store::CopyError>()
            || c.downcast_ref::<crate::sources::github::SourcesFailed>().is_some_and(|f| f.input)
            || c.downcast_ref::<store::StoreError>().is_some_and(|s| !matches!(s, store::StoreError::Sql { .. }))
    });
    if input { ErrorKind::Input } else { ErrorKind::Internal }
}
