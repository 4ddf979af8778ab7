//! From the store to the core: each analysis reads stored records, builds
//! the pure core's inputs with the configuration applied, runs the core and
//! returns a report for the renderers (and the server's JSON).

pub mod analysis;
pub mod brief;
pub mod check;
pub mod delivery;
pub mod explain;
pub mod flow;
pub mod goals;
pub mod knowledge;
pub mod org;
