//! Routing on real extracts: the kitchen's shortest-path tree against an
//! independent shortest-path computation (petgraph's Dijkstra), and the OSM
//! readers on the shared extracts.

mod common;

use common::*;
use petgraph::graph::NodeIndex;
use simkit::roads::graph::RoadGraph;
use simkit::roads::osm::read_extract;
use simkit::roads::tree::{SearchScratch, ShortestPathTree};
use simkit::roads::{load_area, AreaSpec, RoadSource};

#[test]
fn tree_distances_equal_petgraph_dijkstra_on_real_extracts() {
    for (name, center) in [("reno.osm.pbf", [39.5235, -119.7520]), ("sf-north.osm.pbf", [37.791024, -122.392865])] {
        let Some(path) = osm_extract(name) else { return };
        let g = RoadGraph::build(read_extract(&path).unwrap());
        let (root, _) = g.nearest_node(center).unwrap();
        let tree = ShortestPathTree::build(&g, root, &mut SearchScratch::default());
        let reference =
            petgraph::algo::dijkstra(&g.graph, NodeIndex::new(root as usize), None, |e| e.weight().length_m);
        let mut reached = 0;
        for n in 0..g.node_count() {
            match reference.get(&NodeIndex::new(n)) {
                Some(d) => {
                    reached += 1;
                    assert!((tree.dist[n] - d).abs() < 1e-6, "{name} node {n}: {} vs {d}", tree.dist[n]);
                }
                None => assert!(!tree.reaches(n as u32)),
            }
        }
        assert!(reached > 1000, "{name}: only {reached} nodes reached");
    }
}

#[test]
fn sf_north_delivery_area_and_routes() {
    let Some(path) = osm_extract("sf-north.osm.pbf") else { return };
    let data = read_extract(&path).unwrap();
    let spec = AreaSpec {
        code: "sf".into(),
        kitchen: [37.7910243, -122.3928646],
        radius_m: 6437.376,
        max_snap_m: 1000.0,
        min_nodes: 50,
    };
    let area = load_area(&spec, data, RoadSource::Synthetic { seed: 0 }).unwrap();
    // The README of the extracts: 9,006 road nodes within 4 miles, nearest 107 m
    // (before restricting to the strongly connected part the kitchen can use).
    assert!((8000..=9006).contains(&area.nodes.len()), "{} nodes", area.nodes.len());
    assert!(area.kitchen_snap_m < 200.0, "snap {}", area.kitchen_snap_m);
    let (mut path, mut lat, mut lon) = (Vec::new(), Vec::new(), Vec::new());
    for &n in area.nodes.iter().step_by(97) {
        area.tree.path_into(n, &mut path);
        lat.clear();
        lon.clear();
        area.append_route_f32(n, &mut lat, &mut lon);
        // The kitchen, then every node of the tree path, in order.
        assert_eq!(lat.len(), path.len() + 1);
        assert_eq!([lat[0], lon[0]], spec.kitchen.map(|c| c as f32));
        for (i, &v) in path.iter().enumerate() {
            assert_eq!([lat[i + 1], lon[i + 1]], area.graph.point(v).map(|c| c as f32));
        }
        // Consecutive nodes are joined by real (directed) edges, whose lengths add up to the route's.
        let mut length = area.kitchen_snap_m;
        for w in path.windows(2) {
            let (a, b) = (NodeIndex::new(w[0] as usize), NodeIndex::new(w[1] as usize));
            let shortest =
                area.graph.graph.edges_connecting(a, b).map(|e| e.weight().length_m).fold(f64::INFINITY, f64::min);
            assert!(shortest.is_finite(), "no directed edge joins consecutive route nodes");
            length += shortest;
        }
        assert!((length - area.route_length_m(n)).abs() < 1e-6);
    }
    // Customer addresses use real street names.
    let named = area.nodes.iter().filter(|&&n| area.graph.street_name(n).is_some()).count();
    assert!(named as f64 > 0.95 * area.nodes.len() as f64);
}

#[test]
fn xml_reader_reads_the_seattle_fixture() {
    let Some(path) = osm_extract("seattle-triangle.osm") else { return };
    let data = read_extract(&path).unwrap();
    assert!(!data.ways.is_empty() && data.ways.len() < 71, "{} drivable ways", data.ways.len());
    assert!(data.ways.iter().all(|w| !["footway", "service", "steps"].contains(&w.class.as_str())));
}

#[test]
fn roads_inspect_reports_the_delivery_area() {
    let Some(path) = osm_extract("sf-north.osm.pbf") else { return };
    let out =
        simkit_ok(&["roads", "inspect", path.to_str().unwrap(), "--center", "37.791,-122.393", "--radius-mi", "4"]);
    assert!(out.contains("drivable ways") && out.contains("delivery area (reachable both ways)"), "{out}");
}
