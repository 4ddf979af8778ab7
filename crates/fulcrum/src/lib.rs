//! fulcrum as a library: the store, the sources (git, GitHub, GitLab,
//! events files, webhooks), the analyses and the renderers, for the front
//! ends (the `fulcrum` command line and the team server, `fulcrum serve`)
//! to call. The folders are the architecture: `sources/` bring data in,
//! `store/` owns all SQL, `analyses/` turn stored data into the core's
//! inputs and reports, `render/` prints them, `server/` is the second
//! front end; `app` is what both front ends call.

pub mod analyses;
pub mod app;
pub mod config;
pub mod error;
pub mod init;
pub mod progress;
pub mod render;
pub mod server;
pub mod sources;
pub mod store;
pub mod trust;
