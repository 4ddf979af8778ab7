//! fulcrum as a library: the store, the sources (git, GitHub, GitLab,
//! events files), the analyses and the renderers, for the front ends (the
//! `fulcrum` command line and the team server, `fulcrum serve`) to call.

pub mod accounts;
pub mod analysis;
pub mod app;
pub mod check;
pub mod config;
pub mod connector;
pub mod delivery;
pub mod devlake;
pub mod error;
pub mod explain;
pub mod flow;
pub mod git;
pub mod github;
pub mod gitlab;
pub mod hooks;
pub mod http;
pub mod import;
pub mod init;
pub mod knowledge;
pub mod progress;
pub mod render;
pub mod server;
pub mod store;
pub mod sync;
pub mod tokens;
pub mod trust;
