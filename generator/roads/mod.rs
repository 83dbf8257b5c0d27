//! Roads: from a road source (OSM extract or synthetic city) to a delivery
//! area with one shortest-path tree per kitchen.
//!
//! Flow: a source yields [`RoadData`] (drivable ways only, dense node ids) ->
//! [`graph::RoadGraph`] (petgraph, edge lengths in metres) -> [`area::DeliveryArea`]
//! (nodes within the radius that the kitchen can reach and return from, plus
//! the kitchen's shortest-path tree). Every route is read off that one tree.
//! The entry points are [`load_area`] and, for an extract through the road
//! cache, [`load_extract_area`].

pub mod area;
pub mod cache;
pub mod drive;
pub mod fetch;
pub mod geo;
pub mod graph;
pub mod layout;
pub mod osm;
pub mod synthetic;
pub mod tree;

use std::path::{Path, PathBuf};

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

/// A delivery area read from an extract, and how it was obtained.
pub struct Loaded {
    pub area: DeliveryArea,
    /// Whether the graph and tree came from the road cache.
    pub cached: bool,
    /// A problem with the cache that did not stop the load (it could not be written).
    pub warning: Option<String>,
}

/// Builds the delivery area of an extract: from the road cache when it holds
/// this extract's area (by its sha256), else parsed and searched, then cached.
pub fn load_extract_area(spec: &AreaSpec, path: &Path, cache: Option<&cache::RoadCache>) -> Result<Loaded, String> {
    let (bytes, sha256) = osm::read_hashed(path)?;
    let entry = cache.map(|c| (c, c.entry(&sha256, spec)));
    let source = RoadSource::Extract { path: path.to_path_buf(), sha256 };
    if let Some((cache, entry)) = &entry {
        if let Some(area) = cache.load(entry, spec, source.clone())? {
            return Ok(Loaded { area, cached: true, warning: None });
        }
    }
    let data = osm::parse_file(path, &bytes)?;
    drop(bytes);
    let area = load_area(spec, data, source)?;
    let warning = entry.and_then(|(cache, entry)| {
        let failed = cache.store(&entry, &area).err()?;
        Some(format!(
            "road cache: cannot write {}: {failed} (set SIMKIT_CACHE_DIR to a writable folder, or to `off`)",
            entry.display()
        ))
    });
    Ok(Loaded { area, cached: false, warning })
}
