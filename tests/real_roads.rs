//! Everything on real OpenStreetMap extracts (ODbL data, never committed:
//! the folder named by `SIMKIT_OSM_DIR`): the kitchen's shortest-path tree
//! against an independent shortest-path computation (petgraph's Dijkstra),
//! the OSM readers, `roads inspect`, the real-roads golden run, and the
//! errors a truncated extract or a kitchen outside it give. Without the
//! folder the tests show as ignored, with the reason; `SIMKIT_REQUIRE_OSM=1`
//! makes them fail instead.

mod common;

use common::*;
use petgraph::graph::NodeIndex;
use simkit::roads::graph::RoadGraph;
use simkit::roads::osm::read_extract;
use simkit::roads::tree::{SearchScratch, ShortestPathTree};
use simkit::roads::{load_area, AreaSpec, RoadSource};

fn main() -> std::process::ExitCode {
    let tests: &[(&'static str, fn())] = &[
        (
            "tree_distances_equal_petgraph_dijkstra_on_real_extracts",
            tree_distances_equal_petgraph_dijkstra_on_real_extracts,
        ),
        ("sf_north_delivery_area_and_routes", sf_north_delivery_area_and_routes),
        ("xml_reader_reads_the_seattle_fixture", xml_reader_reads_the_seattle_fixture),
        ("roads_inspect_reports_the_delivery_area", roads_inspect_reports_the_delivery_area),
        ("reno_run_on_real_roads_matches_its_golden_file", reno_run_on_real_roads_matches_its_golden_file),
        ("a_truncated_extract_is_an_error", a_truncated_extract_is_an_error),
        ("kitchen_outside_the_extract", kitchen_outside_the_extract),
        ("radius_with_no_roads", radius_with_no_roads),
    ];
    external_suite(osm_dir().map(|_| ()), env_flag("SIMKIT_REQUIRE_OSM"), tests)
}

fn tree_distances_equal_petgraph_dijkstra_on_real_extracts() {
    for (name, center) in [("reno.osm.pbf", [39.5235, -119.7520]), ("sf-north.osm.pbf", [37.791024, -122.392865])] {
        let path = osm_extract(name);
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

/// The canonical San Francisco kitchen with a 4-mile delivery radius.
fn sf_kitchen() -> AreaSpec {
    AreaSpec {
        code: "sf".into(),
        kitchen: [37.7910243, -122.3928646],
        radius_m: 6437.376,
        max_snap_m: 1000.0,
        min_nodes: 50,
    }
}

fn sf_north_delivery_area_and_routes() {
    let path = osm_extract("sf-north.osm.pbf");
    let data = read_extract(&path).unwrap();
    let spec = sf_kitchen();
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

fn xml_reader_reads_the_seattle_fixture() {
    let path = osm_extract("seattle-triangle.osm");
    let data = read_extract(&path).unwrap();
    assert!(!data.ways.is_empty() && data.ways.len() < 71, "{} drivable ways", data.ways.len());
    assert!(data.ways.iter().all(|w| !["footway", "service", "steps"].contains(&w.class.as_str())));
}

fn roads_inspect_reports_the_delivery_area() {
    let path = osm_extract("sf-north.osm.pbf");
    let args =
        ["roads", "inspect", path.to_str().unwrap(), "--center", "37.7910243,-122.3928646", "--radius-m", "6437.376"];
    let out = simkit_ok(&args);
    assert!(out.contains("drivable ways") && out.contains("within 6437.376 m"), "{out}");
    // The same delivery area `generate` builds, with route lengths kitchen snap included.
    let spec = sf_kitchen();
    let area = load_area(&spec, read_extract(&path).unwrap(), RoadSource::Synthetic { seed: 0 }).unwrap();
    let nodes = format!("delivery area (reachable both ways) {} nodes", area.nodes.len());
    assert!(out.contains(&nodes), "{out}\nexpected {nodes}");
    let mean = area.nodes.iter().map(|&n| area.route_length_m(n)).sum::<f64>() / area.nodes.len() as f64;
    let lengths = format!("mean {mean:.0} m, longest {:.0} m", area.longest_route_m());
    assert!(out.contains(&lengths), "{out}\nexpected {lengths}");
}

fn reno_run_on_real_roads_matches_its_golden_file() {
    let reno = osm_extract("reno.osm.pbf");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("reno");
    let osm = format!("reno={}", reno.display());
    simkit_ok(&[
        "generate",
        "tests/fixtures/reno.toml",
        "-q",
        "--require-osm",
        "--osm",
        &osm,
        "--out",
        dir.to_str().unwrap(),
    ]);
    let golden = root().join("tests/golden/reno-3days.json");
    if std::env::var_os("SIMKIT_UPDATE_GOLDEN").is_some() {
        simkit_ok(&["verify", dir.to_str().unwrap(), "--write-golden", golden.to_str().unwrap()]);
    }
    let out = simkit_ok(&["verify", dir.to_str().unwrap(), "--golden", golden.to_str().unwrap()]);
    assert!(out.contains("matches the golden file"), "{out}");
    let m = simkit::sinks::manifest::Manifest::read(&dir).unwrap();
    assert_eq!(m.locations[0].road_source.kind, "extract");
    assert_eq!(m.locations[0].road_source.file.as_deref(), Some("reno.osm.pbf"));
}

fn a_truncated_extract_is_an_error() {
    let bytes = std::fs::read(osm_extract("reno.osm.pbf")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("truncated.osm.pbf");
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let s = scenario(tmp.path(), |t| t);
    let err = fails(tmp.path(), &s, &["--osm", &format!("sf={}", path.display())]);
    assert!(err.contains("truncated.osm.pbf:"), "{err}");
}

fn kitchen_outside_the_extract() {
    let reno = osm_extract("reno.osm.pbf");
    let tmp = tempfile::tempdir().unwrap();
    let s = scenario(tmp.path(), |t| t);
    let err = fails(tmp.path(), &s, &["--osm", &format!("sf={}", reno.display())]);
    assert!(err.contains("location `sf`: the kitchen (37.791024, -122.392865) is"), "{err}");
    assert!(err.contains("outside the extract"), "{err}");
}

fn radius_with_no_roads() {
    let seattle = osm_extract("seattle-triangle.osm");
    let tmp = tempfile::tempdir().unwrap();
    let s = scenario(tmp.path(), |t| t);
    let args =
        ["--osm", &format!("bellevue={}", seattle.display()), "--set", "locations.bellevue.delivery_radius_m=150"];
    let err = fails(tmp.path(), &s, &args);
    assert!(err.contains("location `bellevue`: only"), "{err}");
    assert!(err.contains("drivable road nodes within 150 m"), "{err}");
}
