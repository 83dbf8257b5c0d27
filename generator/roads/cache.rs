//! The road cache: a location's road graph and shortest-path tree, built from
//! an OSM extract once per machine and kept on disk, so later runs (and every
//! shard of a run) skip parsing the extract and searching it again.
//!
//! An entry is keyed by the extract's sha256, the kitchen, the delivery radius
//! and [`ROADS_VERSION`], and lives in `<cache dir>/roads/<key>.bin`. The cache
//! directory is `$SIMKIT_CACHE_DIR`, else `$XDG_CACHE_HOME/simkit`, else
//! `~/.cache/simkit`; `SIMKIT_CACHE_DIR=off` turns the cache off. An entry ends
//! with the sha256 of its bytes and is checked index by index when read: a
//! damaged entry is a miss (rebuilt and replaced), never a wrong area. Entries
//! are written to a unique temp file and renamed, so shards that build the
//! same entry at once cannot tear it.

use std::io::Write;
use std::path::{Path, PathBuf};

use petgraph::graph::{DiGraph, NodeIndex};
use sha2::{Digest, Sha256};

use super::area::DeliveryArea;
use super::graph::{RoadEdge, RoadGraph, WayInfo, NO_WAY};
use super::tree::{ShortestPathTree, UNREACHED};
use super::{AreaSpec, RoadSource};

/// Bump when reading extracts, the drive filter, graph building or the tree
/// search change what they produce: entries of other versions are never read.
pub const ROADS_VERSION: u32 = 1;

const MAGIC: &[u8; 12] = b"simkit-roads";

/// The cache directory in use.
#[derive(Clone, Debug)]
pub struct RoadCache {
    dir: PathBuf,
}

impl RoadCache {
    /// The cache named by the environment (see the module docs); `None` when off
    /// or when no directory can be named.
    pub fn from_env() -> Option<RoadCache> {
        let var = |name| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        let dir = match var("SIMKIT_CACHE_DIR") {
            Some(dir) if dir.as_os_str() == "off" => return None,
            Some(dir) => dir,
            None => var("XDG_CACHE_HOME").or_else(|| var("HOME").map(|h| h.join(".cache")))?.join("simkit"),
        };
        Some(RoadCache { dir })
    }

    pub fn at(dir: &Path) -> RoadCache {
        RoadCache { dir: dir.to_path_buf() }
    }

    /// Where the entry for an extract's area lives.
    pub fn entry(&self, extract_sha256: &str, spec: &AreaSpec) -> PathBuf {
        let mut h = Sha256::new();
        h.update(ROADS_VERSION.to_le_bytes());
        h.update(env!("CARGO_PKG_VERSION").as_bytes());
        h.update(extract_sha256.as_bytes());
        for x in [spec.kitchen[0], spec.kitchen[1], spec.radius_m] {
            h.update(x.to_bits().to_le_bytes());
        }
        self.dir.join("roads").join(format!("{}.bin", &crate::scenario::hex(&h.finalize())[..32]))
    }

    /// The cached area, checked against `spec` like a fresh build; `Ok(None)`
    /// when there is no usable entry.
    pub fn load(&self, entry: &Path, spec: &AreaSpec, source: RoadSource) -> Result<Option<DeliveryArea>, String> {
        let Ok(bytes) = std::fs::read(entry) else { return Ok(None) };
        match decode(&bytes) {
            Some(parts) => parts.assemble(spec, source).map(Some),
            None => Ok(None),
        }
    }

    /// Stores `area` as `entry` (temp file + rename).
    pub fn store(&self, entry: &Path, area: &DeliveryArea) -> std::io::Result<()> {
        let dir = entry.parent().unwrap_or(&self.dir);
        std::fs::create_dir_all(dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        tmp.write_all(&encode(area))?;
        tmp.as_file().sync_all()?;
        tmp.persist(entry).map_err(|e| e.error)?;
        Ok(())
    }
}

/// What an entry holds: everything a delivery area is assembled from.
struct Parts {
    graph: RoadGraph,
    tree: ShortestPathTree,
    kitchen_node: u32,
    snap_m: f64,
    nodes: Vec<u32>,
}

impl Parts {
    fn assemble(self, spec: &AreaSpec, source: RoadSource) -> Result<DeliveryArea, String> {
        DeliveryArea::assemble(spec, self.graph, source, (self.kitchen_node, self.snap_m), self.tree, self.nodes)
    }
}

fn encode(area: &DeliveryArea) -> Vec<u8> {
    let g = &area.graph;
    let mut out = Encoder(MAGIC.to_vec());
    out.u32(ROADS_VERSION);
    let points: Vec<f64> = g.graph.node_weights().flat_map(|p| *p).collect();
    out.f64s(&points);
    let edges = g.graph.raw_edges();
    out.u32s(
        &edges
            .iter()
            .flat_map(|e| [e.source().index() as u32, e.target().index() as u32, e.weight.way])
            .collect::<Vec<_>>(),
    );
    out.f64s(&edges.iter().map(|e| e.weight.length_m).collect::<Vec<_>>());
    out.u64(g.ways.len() as u64);
    for way in &g.ways {
        out.text(&way.class);
        out.u32(u32::from(way.name.is_some()));
        out.text(way.name.as_deref().unwrap_or(""));
    }
    out.u32s(&g.node_way);
    let t = &area.tree;
    out.u32(t.root);
    out.f64s(&t.dist);
    out.u32s(&t.pred);
    out.u32s(&t.depth);
    out.u32(area.kitchen_node);
    out.f64s(&[area.kitchen_snap_m]);
    out.u32s(&area.nodes);
    let sum = Sha256::digest(&out.0);
    out.0.extend_from_slice(&sum);
    out.0
}

struct Encoder(Vec<u8>);

impl Encoder {
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u32s(&mut self, vs: &[u32]) {
        self.u64(vs.len() as u64);
        vs.iter().for_each(|&v| self.u32(v));
    }
    fn f64s(&mut self, vs: &[f64]) {
        self.u64(vs.len() as u64);
        vs.iter().for_each(|&v| self.u64(v.to_bits()));
    }
    fn text(&mut self, s: &str) {
        self.u64(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
    }
}

/// Reads an entry back; `None` unless its checksum, version and every index hold.
fn decode(bytes: &[u8]) -> Option<Parts> {
    let (body, sum) = bytes.split_at_checked(bytes.len().checked_sub(32)?)?;
    if Sha256::digest(body).as_slice() != sum || !body.starts_with(MAGIC) {
        return None;
    }
    let mut r = Decoder { rest: &body[MAGIC.len()..] };
    if r.u32()? != ROADS_VERSION {
        return None;
    }
    let graph = read_graph(&mut r)?;
    let tree = ShortestPathTree { root: r.u32()?, dist: r.f64s()?, pred: r.u32s()?, depth: r.u32s()? };
    let (kitchen_node, snap_m, nodes) = (r.u32()?, *r.f64s()?.first()?, r.u32s()?);
    let parts = Parts { graph, tree, kitchen_node, snap_m, nodes };
    (r.rest.is_empty() && parts.is_consistent()).then_some(parts)
}

fn read_graph(r: &mut Decoder) -> Option<RoadGraph> {
    let points = r.f64s()?;
    let ends = r.u32s()?;
    let lengths = r.f64s()?;
    let ways = (0..r.u64()?)
        .map(|_| {
            let class = r.text()?;
            let named = r.u32()? == 1;
            let name = r.text()?;
            Some(WayInfo { class, name: named.then_some(name) })
        })
        .collect::<Option<Vec<_>>>()?;
    let node_way = r.u32s()?;
    let n = points.len() / 2;
    let in_range = |e: &[u32]| (e[0] as usize) < n && (e[1] as usize) < n && (e[2] as usize) < ways.len();
    let shaped = points.len() % 2 == 0 && ends.len() == 3 * lengths.len() && node_way.len() == n;
    if !shaped || !ends.chunks(3).all(in_range) || !node_way.iter().all(|&w| w == NO_WAY || (w as usize) < ways.len()) {
        return None;
    }
    let mut graph = DiGraph::with_capacity(n, lengths.len());
    points.chunks(2).for_each(|p| _ = graph.add_node([p[0], p[1]]));
    for (e, &length_m) in ends.chunks(3).zip(&lengths) {
        let (a, b) = (NodeIndex::new(e[0] as usize), NodeIndex::new(e[1] as usize));
        graph.add_edge(a, b, RoadEdge { length_m, way: e[2] });
    }
    Some(RoadGraph { graph, ways, node_way })
}

impl Parts {
    /// Every index in range and the tree a tree: each reached node's
    /// predecessor is reached and one step shallower, so every path ends at
    /// the root.
    fn is_consistent(&self) -> bool {
        let (t, n) = (&self.tree, self.graph.node_count());
        let sized = t.dist.len() == n && t.pred.len() == n && t.depth.len() == n && (t.root as usize) < n;
        if !sized || self.kitchen_node != t.root || t.depth[t.root as usize] != 0 {
            return false;
        }
        let reached = |v: u32| (v as usize) < n && t.reaches(v);
        let linked = |v: usize| {
            let p = t.pred[v];
            !t.reaches(v as u32) || v == t.root as usize || (reached(p) && t.depth[v] == t.depth[p as usize] + 1)
        };
        let pred_in_range = t.pred.iter().all(|&p| p == UNREACHED || (p as usize) < n);
        pred_in_range && (0..n).all(linked) && self.nodes.iter().all(|&v| reached(v))
    }
}

struct Decoder<'a> {
    rest: &'a [u8],
}

impl<'a> Decoder<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.rest.split_at_checked(n)?;
        self.rest = rest;
        Some(head)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4).map(|b| u32::from_le_bytes(b.try_into().unwrap_or_default()))
    }
    fn u64(&mut self) -> Option<u64> {
        self.take(8).map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default()))
    }
    /// A length-prefixed array of `size`-byte items, the length checked
    /// against the bytes left before anything is allocated.
    fn array(&mut self, size: usize) -> Option<&'a [u8]> {
        let len = usize::try_from(self.u64()?).ok()?;
        self.take(len.checked_mul(size)?)
    }
    fn u32s(&mut self) -> Option<Vec<u32>> {
        Some(self.array(4)?.chunks(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
    }
    fn f64s(&mut self) -> Option<Vec<f64>> {
        let word = |b: &[u8]| f64::from_bits(u64::from_le_bytes(b.try_into().unwrap_or_default()));
        Some(self.array(8)?.chunks(8).map(word).collect())
    }
    fn text(&mut self) -> Option<String> {
        String::from_utf8(self.array(1)?.to_vec()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roads::{load_area, synthetic};
    use petgraph::visit::EdgeRef;

    fn area() -> (AreaSpec, DeliveryArea) {
        let spec = AreaSpec {
            code: "t".into(),
            kitchen: [41.88, -87.63],
            radius_m: 1500.0,
            max_snap_m: 1000.0,
            min_nodes: 10,
        };
        let area = load_area(&spec, synthetic::city(5, spec.kitchen, spec.radius_m), RoadSource::Synthetic { seed: 5 });
        (spec, area.unwrap())
    }

    #[test]
    fn an_entry_reads_back_as_the_same_area() {
        let (spec, built) = area();
        let bytes = encode(&built);
        let read = decode(&bytes).expect("decodes").assemble(&spec, built.source.clone()).unwrap();
        assert_eq!(encode(&read), bytes);
        assert_eq!(read.nodes, built.nodes);
        assert_eq!(read.longest_route_m().to_bits(), built.longest_route_m().to_bits());
        let (mut a, mut b) = ((Vec::new(), Vec::new()), (Vec::new(), Vec::new()));
        for &node in built.nodes.iter().step_by(7) {
            built.append_route_f32(node, &mut a.0, &mut a.1);
            read.append_route_f32(node, &mut b.0, &mut b.1);
        }
        assert_eq!(a, b);
        let out: Vec<_> = built.graph.graph.edges(NodeIndex::new(3)).map(|e| e.id()).collect();
        assert_eq!(out, read.graph.graph.edges(NodeIndex::new(3)).map(|e| e.id()).collect::<Vec<_>>());
    }

    #[test]
    fn damaged_entries_are_misses_never_panics() {
        let (_, built) = area();
        let bytes = encode(&built);
        for cut in (0..bytes.len()).step_by(97) {
            assert!(decode(&bytes[..cut]).is_none(), "cut at {cut}");
        }
        for at in (0..bytes.len()).step_by(89) {
            let mut bad = bytes.clone();
            bad[at] ^= 0x20;
            assert!(decode(&bad).is_none(), "byte {at} flipped");
        }
    }

    #[test]
    fn an_entry_with_a_valid_checksum_but_a_broken_tree_is_refused() {
        let (_, built) = area();
        let mut cyclic = built.clone();
        let v = cyclic.nodes[0] as usize;
        cyclic.tree.pred[v] = v as u32;
        assert!(decode(&encode(&cyclic)).is_none(), "a node its own predecessor");
        let mut outside = built.clone();
        outside.nodes.push(outside.graph.node_count() as u32);
        assert!(decode(&encode(&outside)).is_none(), "a customer node past the graph");
        assert!(decode(&encode(&built)).is_some());
    }
}
