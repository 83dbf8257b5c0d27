//! Routes laid out for reading. A route is the kitchen's shortest-path tree
//! read from its root down to a customer node; walking the predecessor array
//! up from the customer costs one dependent load per node, for routes of ~100
//! nodes, which made pickup geometry and pings the hottest loops of a run.
//! Here the tree is cut into heavy paths (a node continues the path of its
//! child with the largest subtree) and nodes are stored path by path, top
//! down. Any root path then crosses at most log2(n) light edges: it is a few
//! contiguous runs: copied slice by slice, or searched by distance run by
//! run. Positions replace node ids inside the layout.

use super::graph::RoadGraph;
use super::tree::ShortestPathTree;

const NONE: u32 = u32::MAX;

#[derive(Clone, Debug)]
pub struct RouteLayout {
    /// Position of each node; `NONE` where the tree does not reach.
    pos: Vec<u32>,
    /// Per position: where its heavy path starts.
    head: Vec<u32>,
    /// Per position: its parent's position (`NONE` at the root, position 0).
    parent: Vec<u32>,
    /// Per position: the node's coordinates as the events table stores them.
    lat: Vec<f32>,
    lon: Vec<f32>,
    /// Per position: the node's coordinates and its distance along every
    /// route from the kitchen (snap included).
    point: Vec<[f64; 2]>,
    cumulative_m: Vec<f64>,
    kitchen: [f64; 2],
}

impl RouteLayout {
    /// Lays out the nodes `tree` reaches; `snap_m` is the kitchen's distance
    /// to the tree's root.
    pub fn new(graph: &RoadGraph, tree: &ShortestPathTree, kitchen: [f64; 2], snap_m: f64) -> RouteLayout {
        let n = graph.node_count();
        let reached: Vec<u32> = (0..n as u32).filter(|&v| tree.reaches(v)).collect();
        // Children lists (by parent, in node order), compressed.
        let mut child_start = vec![0u32; n + 1];
        for &v in &reached {
            if v != tree.root {
                child_start[tree.pred[v as usize] as usize + 1] += 1;
            }
        }
        for i in 0..n {
            child_start[i + 1] += child_start[i];
        }
        let mut children = vec![0u32; child_start[n] as usize];
        let mut fill = child_start.clone();
        for &v in &reached {
            if v != tree.root {
                let u = tree.pred[v as usize] as usize;
                children[fill[u] as usize] = v;
                fill[u] += 1;
            }
        }
        let children_of = |v: u32| &children[child_start[v as usize] as usize..child_start[v as usize + 1] as usize];
        // Subtree sizes, children before parents (a preorder reversed), and
        // each node's heavy child (the largest subtree; ties: the lowest index).
        let mut preorder = Vec::with_capacity(reached.len());
        let mut stack = vec![tree.root];
        while let Some(v) = stack.pop() {
            preorder.push(v);
            stack.extend_from_slice(children_of(v));
        }
        let mut size = vec![1u32; n];
        let mut heavy = vec![NONE; n];
        for &v in preorder.iter().rev().filter(|&&v| v != tree.root) {
            let u = tree.pred[v as usize] as usize;
            size[u] += size[v as usize];
            let h = heavy[u];
            if h == NONE || (size[v as usize], std::cmp::Reverse(v)) > (size[h as usize], std::cmp::Reverse(h)) {
                heavy[u] = v;
            }
        }
        // Positions: each heavy path in one stretch, top down; light children
        // start their own paths later.
        let mut layout = RouteLayout {
            pos: vec![NONE; n],
            head: Vec::with_capacity(reached.len()),
            parent: Vec::with_capacity(reached.len()),
            lat: Vec::with_capacity(reached.len()),
            lon: Vec::with_capacity(reached.len()),
            point: Vec::with_capacity(reached.len()),
            cumulative_m: Vec::with_capacity(reached.len()),
            kitchen,
        };
        let mut starts = vec![tree.root];
        while let Some(start) = starts.pop() {
            let head = layout.head.len() as u32;
            let mut v = start;
            loop {
                let p = graph.point(v);
                let parent = if v == tree.root { NONE } else { layout.pos[tree.pred[v as usize] as usize] };
                layout.pos[v as usize] = layout.head.len() as u32;
                layout.head.push(head);
                layout.parent.push(parent);
                layout.lat.push(p[0] as f32);
                layout.lon.push(p[1] as f32);
                layout.point.push(p);
                layout.cumulative_m.push(snap_m + tree.dist[v as usize]);
                starts.extend(children_of(v).iter().rev().filter(|&&c| c != heavy[v as usize]));
                match heavy[v as usize] {
                    NONE => break,
                    h => v = h,
                }
            }
        }
        layout
    }

    /// The position above `p` on its route (`p` is not the root).
    fn up(&self, p: usize) -> usize {
        if self.head[p] as usize != p {
            p - 1
        } else {
            self.parent[p] as usize
        }
    }

    /// Writes the road nodes of the route to `node`, root first, into `lat`
    /// and `lon`, which are exactly as long as the route has nodes; run by
    /// run, from the customer up.
    pub fn fill_route_f32(&self, node: u32, lat: &mut [f32], lon: &mut [f32]) {
        let mut p = self.pos[node as usize] as usize;
        let mut end = lat.len();
        loop {
            let head = self.head[p] as usize;
            let run = p - head + 1;
            lat[end - run..end].copy_from_slice(&self.lat[head..=p]);
            lon[end - run..end].copy_from_slice(&self.lon[head..=p]);
            end -= run;
            match self.parent[head] {
                NONE => break,
                parent => p = parent as usize,
            }
        }
        debug_assert_eq!(end, 0, "the slices hold exactly the route's nodes");
    }

    /// Calls `f(i, point)` with the position at each distance `distances_m[i]`
    /// (metres from the kitchen, descending) along the route kitchen ->
    /// `node`, interpolated along the segment it falls on (not snapped to a
    /// vertex). One upward walk serves every distance.
    pub fn points_along(&self, node: u32, distances_m: &[f64], mut f: impl FnMut(usize, [f64; 2])) {
        let mut p = self.pos[node as usize] as usize;
        for (i, &s) in distances_m.iter().enumerate() {
            // Climb to the first route vertex at or beyond `s` (distances
            // never decrease down a route): past whole runs while the vertex
            // above a run is still at or beyond `s`, then within the run.
            // Above the root (position 0) lies the kitchen itself, at distance 0.
            loop {
                let head = self.head[p] as usize;
                match self.parent[head] {
                    up if up != NONE && self.cumulative_m[up as usize] >= s => p = up as usize,
                    _ => {
                        // Pings are a few vertices apart: a backward scan
                        // (sequential reads) beats a binary search here.
                        while p > head && self.cumulative_m[p - 1] >= s {
                            p -= 1;
                        }
                        break;
                    }
                }
            }
            let (c1, b) = (self.cumulative_m[p], self.point[p]);
            let point = if s > c1 {
                b // beyond the route's end
            } else if p == 0 && s <= 0.0 {
                self.kitchen
            } else {
                // The segment starts at the kitchen above the root, else one position up.
                let (c0, a) = if p == 0 {
                    (0.0, self.kitchen)
                } else {
                    let u = self.up(p);
                    (self.cumulative_m[u], self.point[u])
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
    use super::RouteLayout;
    use crate::roads::graph::RoadGraph;
    use crate::roads::tree::tests::random_graph;
    use crate::roads::tree::{SearchScratch, ShortestPathTree};

    /// The walks the layout replaces: up the predecessor array, node by node.
    struct Naive<'a> {
        g: &'a RoadGraph,
        t: &'a ShortestPathTree,
        kitchen: [f64; 2],
        snap: f64,
    }

    impl Naive<'_> {
        fn cum(&self, v: u32) -> f64 {
            self.snap + self.t.dist[v as usize]
        }

        fn route(&self, node: u32) -> Vec<(f32, f32)> {
            let mut path = Vec::new();
            self.t.path_into(node, &mut path);
            path.iter().map(|&v| self.g.point(v)).map(|p| (p[0] as f32, p[1] as f32)).collect()
        }

        fn points_along(&self, node: u32, distances: &[f64]) -> Vec<[f64; 2]> {
            let (t, mut v, mut out) = (self.t, node, Vec::new());
            for &s in distances {
                while v != t.root && self.cum(t.pred[v as usize]) >= s {
                    v = t.pred[v as usize];
                }
                let (c1, b) = (self.cum(v), self.g.point(v));
                out.push(if s > c1 {
                    b
                } else if v == t.root && s <= 0.0 {
                    self.kitchen
                } else {
                    let (c0, a) = if v == t.root {
                        (0.0, self.kitchen)
                    } else {
                        (self.cum(t.pred[v as usize]), self.g.point(t.pred[v as usize]))
                    };
                    let f = if c1 > c0 { (s - c0) / (c1 - c0) } else { 0.0 };
                    [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f]
                });
            }
            out
        }
    }

    #[test]
    fn routes_and_pings_match_the_walk_up_the_tree() {
        let mut light_crossings = 0;
        for seed in 0..25 {
            for n in [30, 200] {
                let g = random_graph(seed, n);
                let root = (seed % n as u64) as u32;
                let t = ShortestPathTree::build(&g, root, &mut SearchScratch::default());
                let kitchen = [g.point(root)[0] - 1e-4, g.point(root)[1]];
                let naive = Naive { g: &g, t: &t, kitchen, snap: 11.0 };
                let layout = RouteLayout::new(&g, &t, kitchen, 11.0);
                for v in (0..n as u32).filter(|&v| t.reaches(v)) {
                    let want = naive.route(v);
                    let (mut lat, mut lon) = (vec![0.0; want.len()], vec![0.0; want.len()]);
                    layout.fill_route_f32(v, &mut lat, &mut lon);
                    let got: Vec<(f32, f32)> = lat.into_iter().zip(lon).collect();
                    assert_eq!(got, want, "seed {seed} n {n} node {v}");
                    let p = layout.pos[v as usize] as usize;
                    light_crossings += usize::from(p != 0 && layout.head[p] as usize == p);
                    // Distances beyond the end, on vertices, between them, at and before the kitchen.
                    let end = naive.cum(v);
                    let mut distances: Vec<f64> = vec![end + 5.0, end];
                    distances.extend((0..7).map(|k| end * (6 - k) as f64 / 7.0 + 0.3));
                    distances.extend([11.0, 5.5, 0.0, -1.0]);
                    distances.sort_by(|a, b| b.total_cmp(a));
                    let mut got = Vec::new();
                    layout.points_along(v, &distances, |i, p| got.push((i, p)));
                    let want: Vec<_> = naive.points_along(v, &distances).into_iter().enumerate().collect();
                    assert_eq!(got, want, "seed {seed} n {n} node {v}");
                }
            }
        }
        // Routes that start a heavy path of their own were exercised.
        assert!(light_crossings > 100, "{light_crossings}");
    }
}
