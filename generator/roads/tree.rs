//! The shortest-path tree of one kitchen: one Dijkstra by length from the
//! kitchen's node; every route is read off the predecessor array, so routing
//! N orders costs one search plus N path walks.
//!
//! The search state lives in a reusable [`SearchScratch`] (dense arrays, no
//! hashing), as in fast_paths.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use petgraph::graph::NodeIndex;
use petgraph::visit::EdgeRef;

use super::graph::RoadGraph;

pub const UNREACHED: u32 = u32::MAX;

/// Reusable search state: distances and predecessors per node.
#[derive(Clone, Debug, Default)]
pub struct SearchScratch {
    dist: Vec<f64>,
    pred: Vec<u32>,
    heap: BinaryHeap<Reverse<(OrdF64, u32)>>,
}

/// A distance with a total order, for the heap.
#[derive(Clone, Copy, Debug)]
struct OrdF64(f64);
impl PartialEq for OrdF64 {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}
impl Eq for OrdF64 {}
impl PartialOrd for OrdF64 {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for OrdF64 {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// Distances and predecessors from one root to every reachable node.
#[derive(Clone, Debug)]
pub struct ShortestPathTree {
    pub root: u32,
    pub dist: Vec<f64>,
    pub pred: Vec<u32>,
    /// Edges from the root (0 for the root and unreached nodes).
    pub depth: Vec<u32>,
}

impl ShortestPathTree {
    /// Dijkstra from `root` over outgoing edges. Ties resolve by node index,
    /// so the tree is deterministic.
    pub fn build(graph: &RoadGraph, root: u32, scratch: &mut SearchScratch) -> ShortestPathTree {
        let n = graph.node_count();
        scratch.dist.clear();
        scratch.dist.resize(n, f64::INFINITY);
        scratch.pred.clear();
        scratch.pred.resize(n, UNREACHED);
        scratch.heap.clear();
        scratch.dist[root as usize] = 0.0;
        scratch.heap.push(Reverse((OrdF64(0.0), root)));
        let mut depth = vec![0u32; n];
        while let Some(Reverse((OrdF64(d), u))) = scratch.heap.pop() {
            if d > scratch.dist[u as usize] {
                continue;
            }
            // Settled: its predecessor is final and was settled before it.
            if u != root {
                depth[u as usize] = depth[scratch.pred[u as usize] as usize] + 1;
            }
            for e in graph.graph.edges(NodeIndex::new(u as usize)) {
                let v = e.target().index();
                let nd = d + e.weight().length_m;
                if nd < scratch.dist[v] {
                    scratch.dist[v] = nd;
                    scratch.pred[v] = u;
                    scratch.heap.push(Reverse((OrdF64(nd), v as u32)));
                }
            }
        }
        ShortestPathTree { root, dist: scratch.dist.clone(), pred: scratch.pred.clone(), depth }
    }

    pub fn reaches(&self, node: u32) -> bool {
        self.dist[node as usize].is_finite()
    }

    /// The path root -> `node` (inclusive), written into `out` (cleared first).
    /// Empty when `node` is unreachable.
    pub fn path_into(&self, node: u32, out: &mut Vec<u32>) {
        out.clear();
        if !self.reaches(node) {
            return;
        }
        let mut v = node;
        out.push(v);
        while v != self.root {
            v = self.pred[v as usize];
            out.push(v);
        }
        out.reverse();
    }
}

/// Nodes from which `target` can be reached (reverse reachability), as a mask.
pub fn can_reach(graph: &RoadGraph, target: u32) -> Vec<bool> {
    let mut seen = vec![false; graph.node_count()];
    let mut stack = vec![target];
    seen[target as usize] = true;
    while let Some(u) = stack.pop() {
        for e in graph.graph.edges_directed(NodeIndex::new(u as usize), petgraph::Direction::Incoming) {
            let s = e.source().index();
            if !seen[s] {
                seen[s] = true;
                stack.push(s as u32);
            }
        }
    }
    seen
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::roads::{Oneway, RoadData, Way};
    use crate::seed::{stream, Purpose};
    use rand::Rng;

    /// A random small graph: `n` nodes on a jittered grid with random ways.
    pub(in crate::roads) fn random_graph(seed: u64, n: usize) -> RoadGraph {
        let mut rng = stream(seed, 0, 0, Purpose::SyntheticRoads);
        let nodes =
            (0..n).map(|i| [(i / 7) as f64 * 0.001 + rng.random::<f64>() * 1e-4, (i % 7) as f64 * 0.001]).collect();
        let ways = (0..n * 2)
            .map(|_| {
                let a = rng.random_range(0..n as u32);
                let b = rng.random_range(0..n as u32);
                let oneway = [Oneway::Both, Oneway::Forward, Oneway::Backward][rng.random_range(0..3)];
                Way { nodes: vec![a, b], name: None, class: "residential".into(), oneway }
            })
            .collect();
        RoadGraph::build(RoadData { nodes, ways })
    }

    /// Bellman-Ford style brute force: relax every edge until nothing changes.
    fn brute_force(g: &RoadGraph, root: u32) -> Vec<f64> {
        let mut d = vec![f64::INFINITY; g.node_count()];
        d[root as usize] = 0.0;
        loop {
            let mut changed = false;
            for e in g.graph.edge_references() {
                let (s, t) = (e.source().index(), e.target().index());
                if d[s] + e.weight().length_m < d[t] - 1e-9 {
                    d[t] = d[s] + e.weight().length_m;
                    changed = true;
                }
            }
            if !changed {
                return d;
            }
        }
    }

    #[test]
    fn tree_matches_brute_force_and_paths_are_consistent() {
        let mut scratch = SearchScratch::default();
        for seed in 0..20 {
            let g = random_graph(seed, 40);
            let t = ShortestPathTree::build(&g, 0, &mut scratch);
            let want = brute_force(&g, 0);
            let mut path = Vec::new();
            for v in 0..g.node_count() as u32 {
                let (a, b) = (t.dist[v as usize], want[v as usize]);
                assert!(a == b || (a - b).abs() < 1e-6, "seed {seed} node {v}: {a} vs {b}");
                t.path_into(v, &mut path);
                if b.is_finite() {
                    // Walking the path over real edges adds up to the tree distance.
                    let mut len = 0.0;
                    for w in path.windows(2) {
                        let e = g.graph.find_edge(NodeIndex::new(w[0] as usize), NodeIndex::new(w[1] as usize));
                        let best = g
                            .graph
                            .edges_connecting(NodeIndex::new(w[0] as usize), NodeIndex::new(w[1] as usize))
                            .map(|e| e.weight().length_m)
                            .fold(f64::INFINITY, f64::min);
                        assert!(e.is_some(), "path uses a missing (or wrong-way) edge");
                        len += best;
                    }
                    assert!((len - a).abs() < 1e-6);
                    assert_eq!(path[0], 0);
                    assert_eq!(path.len(), t.depth[v as usize] as usize + 1);
                } else {
                    assert!(path.is_empty());
                }
            }
        }
    }

    #[test]
    fn oneway_is_honoured() {
        // 0 -> 1 -> 2 one-way; 2 -> 0 only via a long detour through 3.
        let data = RoadData {
            nodes: vec![[0.0, 0.0], [0.0, 0.001], [0.0, 0.002], [0.01, 0.001]],
            ways: vec![
                Way { nodes: vec![0, 1, 2], name: None, class: "primary".into(), oneway: Oneway::Forward },
                Way { nodes: vec![2, 3, 0], name: None, class: "primary".into(), oneway: Oneway::Forward },
            ],
        };
        let g = RoadGraph::build(data);
        let mut s = SearchScratch::default();
        let from2 = ShortestPathTree::build(&g, 2, &mut s);
        let mut p = Vec::new();
        from2.path_into(1, &mut p);
        assert_eq!(p, vec![2, 3, 0, 1]);
        assert!(can_reach(&g, 0).iter().all(|x| *x));
    }
}
