//! The pure core of fulcrum: domain types and metric computations.
//!
//! Everything here takes slices and returns values: no I/O, no clock (callers
//! pass `now`), no async. The application crate fetches data, calls these
//! functions and renders their results.
//!
//! Pipeline for the DORA keys: [`deployments::attribute`] maps commits to the
//! deployments that shipped them, [`failures::infer`] finds failed deployments
//! from reverts and hotfixes, and [`dora::compute`] turns both into a
//! [`dora::DoraReport`] over a [`time::Window`], classified by [`tiers`].

pub mod calendar;
pub mod deployments;
pub mod dora;
pub mod failures;
pub mod file_filter;
pub mod flow;
pub mod focus;
pub mod forecast;
pub mod goals;
pub mod hotspots;
pub mod incidents;
pub mod items;
pub mod knowledge;
pub mod model;
pub mod pulse;
pub mod stats;
pub mod tiers;
pub mod time;

#[cfg(test)]
mod properties;
#[cfg(test)]
mod testing;
