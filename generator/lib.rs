//! simkit: deterministic synthetic event datasets, generated as typed Parquet
//! and replayed as live streams.
//!
//! The pipeline runs one way through these stages, each with one small entry point:
//! `scenario::load` (parse + validate) -> `roads::load_area` (delivery areas and
//! routing trees) -> `demand::arrivals` -> `lifecycles::Simulator` (orders and
//! their events, per partition) -> `events::Blocks` (blocks of whole days, the
//! sorted event table) -> `sinks::StreamedTables` (Parquet written piece by
//! piece, manifest, atomic output directory); `disorder` turns a kind's clean
//! tables into delivered streams and their truth, in step with the pieces.
//! `generate::run` chains them; `merge` assembles the shards of a run;
//! `verify` re-checks a dataset; `replay` streams one. `model` holds the generic building blocks and `seed` builds
//! every random stream. See ARCHITECTURE.md.

// Validation writes `!(x > 0.0)` on purpose: it rejects NaN as well.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

pub mod demand;
pub mod disorder;
pub mod error;
pub mod events;
pub mod figures;
pub mod generate;
pub mod ids;
pub mod kinds;
pub mod lifecycles;
pub mod limits;
pub mod merge;
pub mod model;
pub mod preview;
pub mod progress;
pub mod replay;
pub mod report;
pub mod roads;
pub mod scenario;
pub mod seed;
pub mod sinks;
pub mod streams;
pub mod summary;
pub mod verify;
