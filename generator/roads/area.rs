//! A kitchen's delivery area: the road nodes within the delivery radius that
//! the kitchen can reach and come back from, with the kitchen's shortest-path
//! tree and route geometry.

use super::geo::haversine_m;
use super::graph::RoadGraph;
use super::layout::RouteLayout;
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
    /// The tree laid out for reading routes.
    routes: RouteLayout,
    /// Whether the kitchen sits on its road node (in stored float32
    /// precision): then a route starts at that node, not with a
    /// zero-length step from the kitchen to it.
    kitchen_on_node: bool,
    /// The longest route to a customer node, in metres.
    longest_route_m: f64,
}

/// Where a kitchen joins the road network: the node nearest to it within the
/// largest strongly connected component (never an isolated one-way
/// fragment), its distance, and the searches from that node.
pub struct Snapped {
    pub node: u32,
    pub snap_m: f64,
    pub tree: ShortestPathTree,
    /// Which nodes can reach `node`.
    pub back: Vec<bool>,
}

/// Snaps `p` to the road network (see [`Snapped`]); `None` without nodes.
pub fn snap(graph: &RoadGraph, p: [f64; 2]) -> Option<Snapped> {
    // Independent searches: run side by side, as the last area to load
    // otherwise keeps one core alone.
    let searches = |node| {
        rayon::join(|| ShortestPathTree::build(graph, node, &mut SearchScratch::default()), || can_reach(graph, node))
    };
    let (node, snap_m) = graph.nearest_of(p, 0..graph.node_count() as u32)?;
    let (tree, back) = searches(node);
    // The nodes reachable both ways form the node's component. One with more
    // than half the nodes is the largest, and then the nearest node overall is
    // the nearest in it: the full component decomposition, which costs as
    // much as both searches, is only needed otherwise.
    let component = (0..graph.node_count()).filter(|&v| tree.reaches(v as u32) && back[v]).count();
    if component * 2 > graph.node_count() {
        return Some(Snapped { node, snap_m, tree, back });
    }
    match graph.nearest_node(p)? {
        (largest, _) if largest == node => Some(Snapped { node, snap_m, tree, back }),
        (node, snap_m) => {
            let (tree, back) = searches(node);
            Some(Snapped { node, snap_m, tree, back })
        }
    }
}

impl DeliveryArea {
    pub fn build(spec: &AreaSpec, graph: RoadGraph, source: RoadSource) -> Result<DeliveryArea, String> {
        let Snapped { node, snap_m, tree, back } = snap(&graph, spec.kitchen)
            .ok_or_else(|| format!("location `{}`: the road network has no drivable roads", spec.code))?;
        let nodes: Vec<u32> = (0..graph.node_count() as u32)
            .filter(|&n| tree.reaches(n) && back[n as usize] && n != node)
            .filter(|&n| haversine_m(spec.kitchen, graph.point(n)) <= spec.radius_m)
            .collect();
        DeliveryArea::assemble(spec, graph, source, (node, snap_m), tree, nodes)
    }

    /// The area from its parts (built, or read from the road cache): the
    /// kitchen's node and snap distance, its tree and the customer nodes,
    /// checked against the spec's limits.
    pub fn assemble(
        spec: &AreaSpec,
        graph: RoadGraph,
        source: RoadSource,
        (kitchen_node, snap): (u32, f64),
        tree: ShortestPathTree,
        nodes: Vec<u32>,
    ) -> Result<DeliveryArea, String> {
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
        let routes = RouteLayout::new(&graph, &tree, spec.kitchen, snap);
        let kitchen_on_node = spec.kitchen.map(|c| c as f32) == graph.point(kitchen_node).map(|c| c as f32);
        let longest_route_m = snap + nodes.iter().map(|&n| tree.dist[n as usize]).fold(0.0, f64::max);
        Ok(DeliveryArea {
            graph,
            source,
            kitchen: spec.kitchen,
            kitchen_node,
            kitchen_snap_m: snap,
            nodes,
            tree,
            routes,
            kitchen_on_node,
            longest_route_m,
        })
    }

    /// Route length in metres from the kitchen to `node` (kitchen snap included).
    pub fn route_length_m(&self, node: u32) -> f64 {
        self.kitchen_snap_m + self.tree.dist[node as usize]
    }

    /// The longest route to a customer node, in metres.
    pub fn longest_route_m(&self) -> f64 {
        self.longest_route_m
    }

    /// Points of the route kitchen -> `node`: the kitchen (unless it sits
    /// on its road node), then every road node passed.
    pub fn route_points(&self, node: u32) -> usize {
        self.tree.depth[node as usize] as usize + 1 + usize::from(!self.kitchen_on_node)
    }

    /// Appends the route kitchen -> `node` as float32 coordinates (see
    /// [`Self::route_points`]).
    pub fn append_route_f32(&self, node: u32, lat: &mut Vec<f32>, lon: &mut Vec<f32>) {
        let start = lat.len();
        let end = start + self.route_points(node);
        lat.resize(end, 0.0);
        lon.resize(end, 0.0);
        let first = start + usize::from(!self.kitchen_on_node);
        if first > start {
            [lat[start], lon[start]] = self.kitchen.map(|c| c as f32);
        }
        self.routes.fill_route_f32(node, &mut lat[first..], &mut lon[first..]);
    }

    /// Calls `f(i, point)` with the position at each distance `distances_m[i]`
    /// (metres from the kitchen, descending) along the route kitchen -> `node`,
    /// interpolated along the segment it falls on (not snapped to a vertex).
    pub fn points_along(&self, node: u32, distances_m: &[f64], f: impl FnMut(usize, [f64; 2])) {
        self.routes.points_along(node, distances_m, f);
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
    fn a_kitchen_on_its_road_node_starts_the_route_there() {
        let data = RoadData {
            nodes: vec![[0.0, 0.0], [0.0, 0.001], [0.0, 0.003]],
            ways: vec![Way { nodes: vec![0, 1, 2], name: None, class: "primary".into(), oneway: Oneway::Both }],
        };
        let spec = AreaSpec { code: "t".into(), kitchen: [0.0, 0.0], radius_m: 1e4, max_snap_m: 1e3, min_nodes: 1 };
        let area = load_area(&spec, data, RoadSource::Synthetic { seed: 0 }).unwrap();
        let (mut lat, mut lon) = (Vec::new(), Vec::new());
        area.append_route_f32(2, &mut lat, &mut lon);
        assert_eq!(lon, vec![0.0, 0.001, 0.003], "no zero-length first segment");
        assert_eq!(area.route_points(2), 3);
        assert!((area.longest_route_m() - area.route_length_m(2)).abs() < 1e-9);
    }

    #[test]
    fn kitchens_snap_to_the_nearest_node_of_the_largest_component() {
        use super::snap;
        use crate::roads::tree::tests::random_graph;
        use crate::roads::tree::{can_reach, SearchScratch, ShortestPathTree};
        let (mut shortcut, mut elsewhere) = (0, 0);
        for seed in 0..30 {
            for n in [14, 40] {
                let g = random_graph(seed, n);
                for p in [[0.0, 0.0], [0.002, 0.003], [0.004, 0.006], [0.0051, 0.0012]] {
                    let got = snap(&g, p).unwrap();
                    assert_eq!(Some((got.node, got.snap_m)), g.nearest_node(p), "seed {seed} n {n} {p:?}");
                    let tree = ShortestPathTree::build(&g, got.node, &mut SearchScratch::default());
                    assert_eq!((&got.tree.dist, &got.tree.pred), (&tree.dist, &tree.pred));
                    assert_eq!(got.back, can_reach(&g, got.node));
                    let nearest = g.nearest_of(p, 0..n as u32).unwrap().0;
                    let component = (0..n).filter(|&v| got.tree.reaches(v as u32) && got.back[v]).count();
                    shortcut += usize::from(nearest == got.node && component * 2 > n);
                    elsewhere += usize::from(nearest != got.node);
                }
            }
        }
        // Both ways through `snap` were taken.
        assert!(shortcut > 0 && elsewhere > 0, "{shortcut} {elsewhere}");
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
