//! The road graph: a petgraph directed graph over dense node indices, one
//! edge per way segment and allowed direction, weighted by its haversine length.
//!
//! Ways are not simplified, so every OSM node stays a graph node and a path
//! through the graph carries the full street geometry.

use petgraph::graph::{DiGraph, NodeIndex};

use super::geo::haversine_m;
use super::{Oneway, RoadData};

/// An edge: one segment of a way.
#[derive(Clone, Copy, Debug)]
pub struct RoadEdge {
    pub length_m: f64,
    /// Index into [`RoadGraph::ways`].
    pub way: u32,
}

/// Per-way attributes kept after graph building.
#[derive(Clone, Debug)]
pub struct WayInfo {
    pub name: Option<String>,
    pub class: String,
}

#[derive(Clone, Debug)]
pub struct RoadGraph {
    pub graph: DiGraph<[f64; 2], RoadEdge, u32>,
    pub ways: Vec<WayInfo>,
    /// For each node, a way it lies on that has a name (if any), else any way.
    pub node_way: Vec<u32>,
}

pub const NO_WAY: u32 = u32::MAX;

impl RoadGraph {
    pub fn build(data: RoadData) -> RoadGraph {
        let mut graph = DiGraph::with_capacity(data.nodes.len(), data.ways.len() * 4);
        for p in &data.nodes {
            graph.add_node(*p);
        }
        let mut node_way = vec![NO_WAY; data.nodes.len()];
        let mut ways = Vec::with_capacity(data.ways.len());
        for (wi, way) in data.ways.into_iter().enumerate() {
            let wi = wi as u32;
            for pair in way.nodes.windows(2) {
                let (a, b) = (pair[0], pair[1]);
                if a == b {
                    continue;
                }
                let length_m = haversine_m(data.nodes[a as usize], data.nodes[b as usize]);
                let edge = RoadEdge { length_m, way: wi };
                if way.oneway != Oneway::Backward {
                    graph.add_edge(NodeIndex::new(a as usize), NodeIndex::new(b as usize), edge);
                }
                if way.oneway != Oneway::Forward {
                    graph.add_edge(NodeIndex::new(b as usize), NodeIndex::new(a as usize), edge);
                }
            }
            for &n in &way.nodes {
                let slot = &mut node_way[n as usize];
                if *slot == NO_WAY || (way.name.is_some() && ways_name_missing(&ways, *slot)) {
                    *slot = wi;
                }
            }
            ways.push(WayInfo { name: way.name, class: way.class });
        }
        RoadGraph { graph, ways, node_way }
    }

    pub fn node_count(&self) -> usize {
        self.graph.node_count()
    }

    pub fn point(&self, node: u32) -> [f64; 2] {
        self.graph[NodeIndex::new(node as usize)]
    }

    /// The name of a street the node lies on, if any way through it is named.
    pub fn street_name(&self, node: u32) -> Option<&str> {
        let w = self.node_way[node as usize];
        (w != NO_WAY).then(|| self.ways[w as usize].name.as_deref()).flatten()
    }

    /// The node nearest to `p` within the largest strongly connected
    /// component (so a kitchen never snaps onto an isolated one-way fragment),
    /// and its distance in metres.
    pub fn nearest_node(&self, p: [f64; 2]) -> Option<(u32, f64)> {
        // kosaraju_scc is iterative; petgraph's tarjan_scc recurses once per node on the
        // DFS path, which can overflow a thread stack on a large extract.
        let sccs = petgraph::algo::kosaraju_scc(&self.graph);
        let largest = sccs.iter().max_by_key(|c| (c.len(), std::cmp::Reverse(c.iter().min().copied())))?;
        self.nearest_of(p, largest.iter().map(|n| n.index() as u32))
    }

    /// The node of `nodes` nearest to `p` (ties: the lowest index), and its distance in metres.
    pub fn nearest_of(&self, p: [f64; 2], nodes: impl Iterator<Item = u32>) -> Option<(u32, f64)> {
        nodes.map(|n| (n, haversine_m(p, self.point(n)))).min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)))
    }
}

fn ways_name_missing(ways: &[WayInfo], w: u32) -> bool {
    // `w` may be the way being added right now (not pushed yet): treat as named.
    ways.get(w as usize).is_some_and(|info| info.name.is_none())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roads::Way;

    fn way(nodes: &[u32], name: Option<&str>, oneway: Oneway) -> Way {
        Way { nodes: nodes.to_vec(), name: name.map(str::to_string), class: "residential".into(), oneway }
    }

    #[test]
    fn oneway_directions_and_names() {
        let data = RoadData {
            nodes: vec![[0.0, 0.0], [0.0, 0.001], [0.0, 0.002], [0.001, 0.002]],
            ways: vec![
                way(&[0, 1], None, Oneway::Both),
                way(&[1, 2], Some("Main St"), Oneway::Forward),
                way(&[3, 2], Some("Oak Ave"), Oneway::Backward),
            ],
        };
        let g = RoadGraph::build(data);
        assert_eq!(g.graph.edge_count(), 2 + 1 + 1);
        let has = |a: u32, b: u32| g.graph.find_edge(NodeIndex::new(a as usize), NodeIndex::new(b as usize)).is_some();
        assert!(has(0, 1) && has(1, 0) && has(1, 2) && !has(2, 1) && has(2, 3) && !has(3, 2));
        assert_eq!(g.street_name(1), Some("Main St")); // named way preferred over the unnamed one
        assert_eq!(g.street_name(0), None);
        let len = g.graph.edge_weights().next().unwrap().length_m;
        assert!((len - 111.2).abs() < 0.5, "{len}");
        // Node 2 is nearest, but only {0, 1} is strongly connected (2 and 3 are
        // one-way dead ends): a kitchen snaps into the largest component.
        assert_eq!(g.nearest_node([0.0, 0.0019]).unwrap().0, 1);
    }
}
