//! fulcrum's integration tests: one binary (STYLE.md, habit 9) that drives
//! the real `fulcrum` against fixture repositories built by
//! `tests/fixtures/make-repos.sh` with real git and fixed dates.
//!
//! Snapshots live in `tests/snapshots`; `UPDATE_SNAPSHOTS=1 cargo test -p
//! fulcrum --test it` rewrites them for review.

#![allow(clippy::unwrap_used, missing_docs)]

mod backends;
mod brief;
mod browser;
mod calendar;
mod dora;
mod edges;
mod events;
mod forecast;
mod formats;
mod github;
mod gitlab;
mod hardening;
mod harness;
mod hosts;
mod inputs;
mod items;
mod jira;
mod knowledge;
mod org;
mod people;
mod replay;
mod server;
mod snapshot;
mod sql;
mod sync;
mod windowed;
