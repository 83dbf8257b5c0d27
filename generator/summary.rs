//! Human-readable summaries for the CLI: the generate summary table, road
//! extract inspection and road fetching. Formatting only; the work is done
//! by the library stages.

use std::fmt::Write as _;
use std::path::Path;

use crate::error::{Error, Result};
use crate::figures::grouped;
use crate::generate::Summary;
use crate::roads::geo::haversine_m;
use crate::roads::graph::RoadGraph;
use crate::roads::{fetch, osm, AreaSpec, DeliveryArea, RoadSource};
use crate::scenario;

fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MB", b as f64 / (1 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KB", b as f64 / (1 << 10) as f64),
        b => format!("{b} B"),
    }
}

pub fn generate_summary(s: &Summary) -> String {
    let m = &s.manifest;
    let mut out = String::new();
    let _ = writeln!(out, "{} -> {}", m.scenario.name, s.out.display());
    let rows = |t: &str| m.tables.get(t).copied().unwrap_or(0);
    if !m.locations.is_empty() {
        let _ = writeln!(out, "{:<10} {:>9} {:>11}  roads", "location", "orders", "events");
        for l in &m.locations {
            let roads = match (&l.road_source.file, &l.road_source.sha256) {
                (Some(f), Some(h)) => format!("{f} (sha256 {})", &h[..16]),
                _ => format!("synthetic (seed {})", l.road_source.seed.unwrap_or_default()),
            };
            let _ = writeln!(out, "{:<10} {:>9} {:>11}  {roads}", l.code, l.orders, l.events);
        }
        let _ = writeln!(out, "{:<10} {:>9} {:>11}", "total", rows("orders"), rows("events"));
    }
    let total: u64 = m.files.values().chain(m.tools.values()).map(|f| f.bytes).sum();
    for (name, f) in m.files.iter().chain(&m.tools) {
        let table_rows =
            name.strip_suffix(".parquet").map(|t| format!("{} rows", grouped(rows(t)))).unwrap_or_default();
        let _ = writeln!(out, "  {name:<24} {:>10} {table_rows:>16}", size(f.bytes));
    }
    let _ = writeln!(out, "  {:<24} {:>10}", "all files", size(total));
    // The rate of the largest generated table (not a delivered stream or the truth): events for the ghost kitchen.
    let generated = m
        .tables
        .iter()
        .filter(|(t, _)| !t.starts_with("truth/") && !m.disorder.values().any(|d| d.truth.delivered == **t));
    let (table, n) = generated.max_by_key(|(_, n)| **n).map(|(t, n)| (t.as_str(), *n)).unwrap_or(("rows", 0));
    let _ = writeln!(out, "done in {:.2} s ({:.0} {table}/s)", s.seconds, n as f64 / s.seconds.max(1e-9));
    out
}

pub fn parse_center(s: &str) -> Result<[f64; 2]> {
    let bad = || Error(format!("--center {s}: expected LAT,LON such as 37.791,-122.393"));
    let (a, b) = s.split_once(',').ok_or_else(bad)?;
    let (lat, lon): (f64, f64) = (a.trim().parse().map_err(|_| bad())?, b.trim().parse().map_err(|_| bad())?);
    if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
        return Err(bad());
    }
    Ok([lat, lon])
}

/// Describes an extract's drive network and, with a centre, the delivery
/// area a kitchen there would have: built exactly as `generate` builds it,
/// distances in metres as in a scenario.
pub fn inspect_roads(path: &Path, center: Option<[f64; 2]>, radius_m: f64) -> Result<String> {
    if !(radius_m > 0.0 && radius_m <= 100_000.0) {
        return Err(Error(format!("--radius-m {radius_m}: expected a radius in (0, 100000] metres")));
    }
    let (data, sha256) = osm::read_extract_hashed(path)?;
    let (ways, nodes) = (data.ways.len(), data.nodes.len());
    let mut classes = std::collections::BTreeMap::<String, usize>::new();
    for w in &data.ways {
        *classes.entry(w.class.clone()).or_default() += 1;
    }
    let named = data.ways.iter().filter(|w| w.name.is_some()).count();
    let oneway = data.ways.iter().filter(|w| w.oneway != crate::roads::Oneway::Both).count();
    let (mut lat0, mut lat1, mut lon0, mut lon1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for p in &data.nodes {
        (lat0, lat1, lon0, lon1) = (lat0.min(p[0]), lat1.max(p[0]), lon0.min(p[1]), lon1.max(p[1]));
    }
    let g = RoadGraph::build(data);
    let length_km: f64 = g.graph.edge_weights().map(|e| e.length_m).sum::<f64>() / 1000.0;
    let mut out = String::new();
    let _ = writeln!(out, "{}", path.display());
    let _ = writeln!(out, "  sha256         {sha256}");
    let _ = writeln!(out, "  drivable ways  {ways} ({named} named, {oneway} one-way)");
    let _ = writeln!(out, "  road nodes     {nodes}");
    let _ = writeln!(out, "  directed edges {} ({length_km:.1} km of lanes)", g.graph.edge_count());
    let _ = writeln!(out, "  bounds         {lat0:.4}..{lat1:.4} N, {lon0:.4}..{lon1:.4} E");
    let classes: Vec<String> = classes.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let _ = writeln!(out, "  classes        {}", classes.join(", "));
    if let Some(c) = center {
        let within = (0..g.node_count() as u32).filter(|&n| haversine_m(c, g.point(n)) <= radius_m).count();
        let spec = AreaSpec { code: "inspect".into(), kitchen: c, radius_m, max_snap_m: f64::INFINITY, min_nodes: 0 };
        let source = RoadSource::Extract { path: path.to_path_buf(), sha256 };
        let area = DeliveryArea::build(&spec, g, source).map_err(Error)?;
        let lengths: Vec<f64> = area.nodes.iter().map(|&n| area.route_length_m(n)).collect();
        let mean_m = lengths.iter().sum::<f64>() / lengths.len().max(1) as f64;
        let _ = writeln!(out, "  around {:.6},{:.6} within {radius_m} m:", c[0], c[1]);
        let _ = writeln!(out, "    nearest usable road node {:.0} m away", area.kitchen_snap_m);
        let _ = writeln!(out, "    road nodes within the radius {within}");
        let _ = writeln!(out, "    delivery area (reachable both ways) {} nodes", area.nodes.len());
        let _ = writeln!(
            out,
            "    route length from the kitchen: mean {mean_m:.0} m, longest {:.0} m",
            area.longest_route_m()
        );
    }
    Ok(out)
}

/// Downloads every (or the chosen) location's drive network into `out_dir/<code>.osm`.
pub fn fetch_roads(scenario_path: &Path, url: &str, only: &[String], out_dir: &Path) -> Result<String> {
    let loaded = scenario::load(scenario_path, &Default::default())?;
    let scn = loaded.kitchen("roads fetch")?;
    for code in only {
        if !scn.locations.iter().any(|l| &l.code == code) {
            return Err(Error(format!("--location {code}: not a location of {}", scenario_path.display())));
        }
    }
    let mut out = String::new();
    for loc in scn.locations.iter().filter(|l| only.is_empty() || only.contains(&l.code)) {
        let path = out_dir.join(format!("{}.osm", loc.code));
        let r = fetch::fetch_area(url, loc.kitchen, loc.radius_m, &path)
            .map_err(|e| Error(format!("location `{}`: {e}", loc.code)))?;
        let _ = writeln!(
            out,
            "{:<10} {} ways, {} nodes, {} -> {} (sha256 {})",
            loc.code,
            r.ways,
            r.nodes,
            size(r.bytes),
            r.path.display(),
            &r.sha256[..16]
        );
    }
    Ok(out)
}
