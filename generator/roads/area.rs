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
        let tree = ShortestPathTree::build(&graph, kitchen_node, &mut SearchScratch::default());
        let back = can_reach(&graph, kitchen_node);
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
        Ok(DeliveryArea { graph, source, kitchen: spec.kitchen, kitchen_node, kitchen_snap_m: snap, nodes, tree })
    }

    /// Route length in metres from the kitchen to `node` (kitchen snap included).
    pub fn route_length_m(&self, node: u32) -> f64 {
        self.kitchen_snap_m + self.tree.dist[node as usize]
    }

    /// Route geometry kitchen -> `node`: the kitchen itself, then every road
    /// node passed, with the cumulative distance (m) at each point.
    pub fn route_into(&self, node: u32, path: &mut Vec<u32>, route: &mut Route) {
        route.points.clear();
        route.cumulative_m.clear();
        self.for_each_route_point(node, path, |p, cumulative_m| {
            route.points.push(p);
            route.cumulative_m.push(cumulative_m);
        });
    }

    /// Calls `f(point, cumulative metres)` for each point of the route kitchen -> `node`.
    pub fn for_each_route_point(&self, node: u32, path: &mut Vec<u32>, mut f: impl FnMut([f64; 2], f64)) {
        self.tree.path_into(node, path);
        f(self.kitchen, 0.0);
        for &n in path.iter() {
            f(self.graph.point(n), self.kitchen_snap_m + self.tree.dist[n as usize]);
        }
    }
}

/// A route's geometry with cumulative distances, reused across orders.
#[derive(Clone, Debug, Default)]
pub struct Route {
    pub points: Vec<[f64; 2]>,
    pub cumulative_m: Vec<f64>,
}

impl Route {
    pub fn length_m(&self) -> f64 {
        self.cumulative_m.last().copied().unwrap_or(0.0)
    }

    /// The point at `fraction` (0..=1) of the route's length, interpolated
    /// along its segments by distance (not snapped to a vertex).
    pub fn point_at(&self, fraction: f64) -> [f64; 2] {
        let s = fraction.clamp(0.0, 1.0) * self.length_m();
        let i = self.cumulative_m.partition_point(|c| *c < s);
        if i == 0 {
            return self.points[0];
        }
        if i >= self.points.len() {
            return self.points[self.points.len() - 1];
        }
        let (c0, c1) = (self.cumulative_m[i - 1], self.cumulative_m[i]);
        let t = if c1 > c0 { (s - c0) / (c1 - c0) } else { 0.0 };
        let (a, b) = (self.points[i - 1], self.points[i]);
        [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolation_is_by_distance() {
        let r = Route { points: vec![[0.0, 0.0], [0.0, 1.0], [0.0, 3.0]], cumulative_m: vec![0.0, 100.0, 300.0] };
        assert_eq!(r.point_at(0.0), [0.0, 0.0]);
        assert_eq!(r.point_at(0.5), [0.0, 1.5]);
        assert_eq!(r.point_at(0.25), [0.0, 0.75]);
        assert_eq!(r.point_at(1.0), [0.0, 3.0]);
    }
}
