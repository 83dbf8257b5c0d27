//! A kitchen's delivery area: the road nodes within the delivery radius that
//! the kitchen can reach and come back from, with the kitchen's shortest-path
//! tree and route geometry.

use super::geo::haversine_m;
use super::graph::RoadGraph;
use super::tree::{can_reach, SearchScratch, ShortestPathTree};
use super::{AreaSpec, RoadSource};

#[derive(Clone, Debug)]
pub struct DeliveryArea {
    pub graph: RoadGraph,
    pub source: RoadSource,
    pub kitchen: [f64; 2],
    /// The road node nearest the kitchen, where every route starts.
    pub kitchen_node: u32,
    /// Distance from the kitchen to its node, in metres.
    pub kitchen_snap_m: f64,
    /// Candidate customer nodes, ascending.
    pub nodes: Vec<u32>,
    pub tree: ShortestPathTree,
    /// Node coordinates as stored in the events table, densely packed for route walks.
    points_f32: Vec<[f32; 2]>,
}

impl DeliveryArea {
    pub fn build(spec: &AreaSpec, graph: RoadGraph, source: RoadSource) -> Result<DeliveryArea, String> {
        let (kitchen_node, snap) = graph
            .nearest_node(spec.kitchen)
            .ok_or_else(|| format!("location `{}`: the road network has no drivable roads", spec.code))?;
        if snap > spec.max_snap_m {
            return Err(format!(
                "location `{}`: the kitchen ({:.6}, {:.6}) is {:.0} m from the nearest drivable road of {}; \
                 expected at most {:.0} m (is the kitchen outside the extract?)",
                spec.code,
                spec.kitchen[0],
                spec.kitchen[1],
                snap,
                source.describe(),
                spec.max_snap_m
            ));
        }
        // Independent searches: run side by side, as the last area to load
        // otherwise keeps one core alone.
        let (tree, back) = rayon::join(
            || ShortestPathTree::build(&graph, kitchen_node, &mut SearchScratch::default()),
            || can_reach(&graph, kitchen_node),
        );
        let nodes: Vec<u32> = (0..graph.node_count() as u32)
            .filter(|&n| tree.reaches(n) && back[n as usize] && n != kitchen_node)
            .filter(|&n| haversine_m(spec.kitchen, graph.point(n)) <= spec.radius_m)
            .collect();
        if nodes.len() < spec.min_nodes {
            return Err(format!(
                "location `{}`: only {} drivable road nodes within {:.0} m of the kitchen in {}; expected at least {}",
                spec.code,
                nodes.len(),
                spec.radius_m,
                source.describe(),
                spec.min_nodes
            ));
        }
        let points_f32 = graph.graph.node_weights().map(|p| [p[0] as f32, p[1] as f32]).collect();
        Ok(DeliveryArea {
            graph,
            source,
            kitchen: spec.kitchen,
            kitchen_node,
            kitchen_snap_m: snap,
            nodes,
            tree,
            points_f32,
        })
    }

    /// Route length in metres from the kitchen to `node` (kitchen snap included).
    pub fn route_length_m(&self, node: u32) -> f64 {
        self.cumulative_m(node)
    }

    /// Distance along every route from the kitchen to tree node `node`.
    fn cumulative_m(&self, node: u32) -> f64 {
        self.kitchen_snap_m + self.tree.dist[node as usize]
    }

    /// Points of the route kitchen -> `node`: the kitchen, then every road node passed.
    pub fn route_points(&self, node: u32) -> usize {
        self.tree.depth[node as usize] as usize + 2
    }

    /// Appends the route kitchen -> `node` as float32 coordinates (see
    /// [`Self::route_points`]), filled backwards by one walk up the tree.
    pub fn append_route_f32(&self, node: u32, lat: &mut Vec<f32>, lon: &mut Vec<f32>) {
        let start = lat.len();
        let end = start + self.route_points(node);
        lat.resize(end, 0.0);
        lon.resize(end, 0.0);
        let (mut v, mut i) = (node, end - 1);
        loop {
            [lat[i], lon[i]] = self.points_f32[v as usize];
            if v == self.tree.root {
                break;
            }
            (v, i) = (self.tree.pred[v as usize], i - 1);
        }
        debug_assert_eq!(i, start + 1);
        [lat[start], lon[start]] = self.kitchen.map(|c| c as f32);
    }

    /// Calls `f(i, point)` with the position at each distance `distances_m[i]`
    /// (metres from the kitchen, descending) along the route kitchen -> `node`,
    /// interpolated along the segment it falls on (not snapped to a vertex).
    /// One upward walk of the tree serves every distance.
    pub fn points_along(&self, node: u32, distances_m: &[f64], mut f: impl FnMut(usize, [f64; 2])) {
        let mut v = node;
        for (i, &s) in distances_m.iter().enumerate() {
            // Climb to the first route vertex at or beyond `s`; above the
            // tree's root lies the kitchen itself, at distance 0.
            while v != self.tree.root && self.cumulative_m(self.tree.pred[v as usize]) >= s {
                v = self.tree.pred[v as usize];
            }
            let (c1, b) = (self.cumulative_m(v), self.graph.point(v));
            let point = if s > c1 {
                b // beyond the route's end
            } else if v == self.tree.root && s <= 0.0 {
                self.kitchen
            } else {
                // The segment starts at the kitchen above the root, else at the predecessor.
                let (c0, a) = if v == self.tree.root {
                    (0.0, self.kitchen)
                } else {
                    let u = self.tree.pred[v as usize];
                    (self.cumulative_m(u), self.graph.point(u))
                };
                let t = if c1 > c0 { (s - c0) / (c1 - c0) } else { 0.0 };
                [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t]
            };
            f(i, point);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::roads::{load_area, AreaSpec, Oneway, RoadData, RoadSource, Way};

    /// Kitchen west of node 0; one straight street 0 - 1 - 2 eastwards.
    fn line() -> super::DeliveryArea {
        let data = RoadData {
            nodes: vec![[0.0, 0.0], [0.0, 0.001], [0.0, 0.003]],
            ways: vec![Way { nodes: vec![0, 1, 2], name: None, class: "primary".into(), oneway: Oneway::Both }],
        };
        let spec = AreaSpec { code: "t".into(), kitchen: [0.0, -0.0005], radius_m: 1e4, max_snap_m: 1e3, min_nodes: 1 };
        load_area(&spec, data, RoadSource::Synthetic { seed: 0 }).unwrap()
    }

    #[test]
    fn routes_start_at_the_kitchen_and_follow_the_tree() {
        let area = line();
        let (mut lat, mut lon) = (vec![9.0], vec![9.0]);
        area.append_route_f32(2, &mut lat, &mut lon);
        assert_eq!(lon, vec![9.0, -0.0005, 0.0, 0.001, 0.003]);
        assert_eq!(lat, vec![9.0, 0.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn points_along_interpolate_by_distance() {
        let area = line();
        let snap = area.kitchen_snap_m;
        let (d1, d2) = (area.route_length_m(1), area.route_length_m(2));
        let mid = (d1 + d2) / 2.0;
        let mut got = Vec::new();
        area.points_along(2, &[d2 + 1.0, d2, mid, d1, snap / 2.0, 0.0], |i, p| got.push((i, p)));
        let lon: Vec<f64> = got.iter().map(|g| g.1[1]).collect();
        assert_eq!(got.iter().map(|g| g.0).collect::<Vec<_>>(), vec![0, 1, 2, 3, 4, 5]);
        let want = [0.003, 0.003, 0.002, 0.001, -0.00025, -0.0005];
        for (g, w) in lon.iter().zip(want) {
            assert!((g - w).abs() < 1e-9, "{lon:?}");
        }
    }
}
