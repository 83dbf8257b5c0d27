//! Roads: from a road source (OSM extract or synthetic city) to a delivery
//! area with one shortest-path tree per kitchen.
//!
//! Flow: a source yields [`RoadData`] (drivable ways only, dense node ids) ->
//! [`graph::RoadGraph`] (petgraph, edge lengths in metres) -> [`area::DeliveryArea`]
//! (nodes within the radius that the kitchen can reach and return from, plus
//! the kitchen's shortest-path tree). Every route is read off that one tree.
//! The entry point is [`load_area`].

pub mod area;
pub mod drive;
pub mod fetch;
pub mod geo;
pub mod graph;
pub mod layout;
pub mod osm;
pub mod synthetic;
pub mod tree;

use std::path::PathBuf;

pub use area::DeliveryArea;

/// Direction of travel allowed on a way, relative to its node order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Oneway {
    Both,
    Forward,
    Backward,
}

/// One drivable way: its nodes (dense indices into [`RoadData::nodes`]), name and class.
#[derive(Clone, Debug)]
pub struct Way {
    pub nodes: Vec<u32>,
    pub name: Option<String>,
    /// The OSM highway class (`primary`, `residential`, ...).
    pub class: String,
    pub oneway: Oneway,
}

/// A drivable road network before graph building: coordinates and ways.
#[derive(Clone, Debug, Default)]
pub struct RoadData {
    /// `[lat, lon]` in degrees, indexed by dense node id.
    pub nodes: Vec<[f64; 2]>,
    pub ways: Vec<Way>,
}

/// Where a location's roads came from (recorded in the manifest).
#[derive(Clone, Debug, PartialEq)]
pub enum RoadSource {
    Extract { path: PathBuf, sha256: String },
    Synthetic { seed: u64 },
}

impl RoadSource {
    pub fn kind(&self) -> &'static str {
        match self {
            RoadSource::Extract { .. } => "extract",
            RoadSource::Synthetic { .. } => "synthetic",
        }
    }

    pub fn describe(&self) -> String {
        match self {
            RoadSource::Extract { path, sha256 } => format!("{} (sha256 {})", path.display(), &sha256[..12]),
            RoadSource::Synthetic { seed } => format!("synthetic (seed {seed})"),
        }
    }
}

/// What is needed to build one location's delivery area.
#[derive(Clone, Debug)]
pub struct AreaSpec {
    pub code: String,
    pub kitchen: [f64; 2],
    pub radius_m: f64,
    /// Kitchens farther than this from every road node are an error.
    pub max_snap_m: f64,
    /// Fewest reachable road nodes a delivery area may have.
    pub min_nodes: usize,
}

/// Builds a delivery area from road data already loaded (from an extract or
/// synthesised). The stage's single entry point for callers.
pub fn load_area(spec: &AreaSpec, data: RoadData, source: RoadSource) -> Result<DeliveryArea, String> {
    let graph = graph::RoadGraph::build(data);
    DeliveryArea::build(spec, graph, source)
}
