//! simkit: deterministic synthetic event datasets, generated as typed Parquet
//! and replayed as live streams.
//!
//! The pipeline runs one way through these stages, each with one small entry point:
//! `scenario` (parse + validate) -> `roads` (delivery areas and routing trees) ->
//! `demand` (arrivals) -> `lifecycles` (orders and their events) -> `events`
//! (sorted event table) -> `sinks` (Parquet, manifest, atomic output directory).
//! `replay` streams a finished dataset. `model` holds the generic building blocks
//! and `seed` builds every random stream. See ARCHITECTURE.md.

pub mod error;
pub mod model;
pub mod roads;
pub mod scenario;
pub mod seed;
