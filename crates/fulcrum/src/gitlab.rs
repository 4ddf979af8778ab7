//! The GitLab connector (REST API v4). Being written.

use crate::config::{Config, SourceFile};
use crate::connector::{SourceError, SourceSummary};
use crate::progress::Progress;
use crate::store::Store;

/// Syncs one GitLab source into the store.
pub fn sync(
    _store: &mut Store,
    source: &SourceFile,
    _config: &Config,
    _progress: &mut Progress,
) -> anyhow::Result<SourceSummary> {
    Err(SourceError(format!("{}: GitLab sources are not supported yet", source.repo)).into())
}
