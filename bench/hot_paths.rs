//! Criterion benchmarks of the hot paths, each apart from the rest of a run:
//! road loading (a synthetic city, and the real sf-north extract when
//! SIMKIT_OSM_DIR holds it, parsed or from the road cache), one kitchen's shortest-path tree, a week of
//! lifecycles for the canonical locations, the Parquet encoding of that
//! week's events, and replay's JSON encoding of a dataset's events on one
//! core.
//!   cargo bench --bench hot_paths [-- FILTER]

use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

use simkit::events::{merge, Dataset};
use simkit::lifecycles::Simulator;
use simkit::replay::encoded::Encoded;
use simkit::replay::merge::Sources;
use simkit::replay::WireFormat;
use simkit::roads::cache::RoadCache;
use simkit::roads::tree::{SearchScratch, ShortestPathTree};
use simkit::roads::{self, synthetic, AreaSpec, DeliveryArea, RoadSource};
use simkit::scenario::{self, KitchenScenario, Overrides};
use simkit::sinks::manifest::Manifest;
use simkit::sinks::parquet::{write_table, Encoding};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The canonical scenario over its first `days` days.
fn canonical(days: u32) -> KitchenScenario {
    let over = Overrides::sets(&[format!("time.days={days}")]);
    let loaded = scenario::load(&root().join("scenarios/caspers.toml"), &over).expect("the canonical scenario");
    loaded.kitchen("benchmarks").expect("a ghost-kitchen scenario").clone()
}

fn spec(scn: &KitchenScenario, i: usize) -> AreaSpec {
    let loc = &scn.locations[i];
    AreaSpec {
        code: loc.code.clone(),
        kitchen: loc.kitchen,
        radius_m: loc.radius_m,
        max_snap_m: scn.max_snap_m,
        min_nodes: scn.min_area_nodes,
    }
}

/// Every location's delivery area on a synthetic city.
fn synthetic_areas(scn: &KitchenScenario) -> Vec<DeliveryArea> {
    (0..scn.locations.len())
        .map(|i| {
            let loc = &scn.locations[i];
            let data = synthetic::city(i as u64 + 1, loc.kitchen, loc.radius_m);
            roads::load_area(&spec(scn, i), data, RoadSource::Synthetic { seed: i as u64 + 1 }).expect("an area")
        })
        .collect()
}

fn road_loading(c: &mut Criterion) {
    let scn = canonical(1);
    let sf = &scn.locations[0];
    c.bench_function("roads: synthetic city + delivery area (sf)", |b| {
        b.iter(|| {
            let data = synthetic::city(1, sf.kitchen, sf.radius_m);
            roads::load_area(&spec(&scn, 0), data, RoadSource::Synthetic { seed: 1 }).expect("an area")
        })
    });
    let extract = std::env::var_os("SIMKIT_OSM_DIR").map(|d| Path::new(&d).join("sf-north.osm.pbf"));
    match extract.filter(|p| p.exists()) {
        Some(path) => {
            let spec = spec(&scn, 0);
            c.bench_function("roads: sf-north.osm.pbf read + delivery area", |b| {
                b.iter(|| roads::load_extract_area(&spec, &path, None).expect("an area"))
            });
            let dir = tempfile::tempdir().expect("a temp folder");
            let cache = RoadCache::at(dir.path());
            roads::load_extract_area(&spec, &path, Some(&cache)).expect("an area");
            c.bench_function("roads: sf-north.osm.pbf hashed + delivery area from the road cache", |b| {
                b.iter(|| {
                    let loaded = roads::load_extract_area(&spec, &path, Some(&cache)).expect("an area");
                    assert!(loaded.cached);
                    loaded
                })
            });
        }
        None => eprintln!("skipped the sf-north extract: set SIMKIT_OSM_DIR to the folder of sf-north.osm.pbf"),
    }
}

fn shortest_path_tree(c: &mut Criterion) {
    let scn = canonical(1);
    let area = &synthetic_areas(&scn)[0];
    let mut scratch = SearchScratch::default();
    let mut group = c.benchmark_group("shortest-path tree");
    group.throughput(Throughput::Elements(area.graph.node_count() as u64));
    group.bench_function("one kitchen, synthetic sf (nodes/s)", |b| {
        b.iter(|| ShortestPathTree::build(&area.graph, area.kitchen_node, &mut scratch))
    });
    group.finish();
}

fn lifecycles_and_parquet(c: &mut Criterion) {
    let scn = canonical(7);
    let areas = synthetic_areas(&scn);
    let simulator = Simulator::new(&scn, &areas, simkit::limits::MAX_EVENTS).expect("within the limits");
    let parts = simulator.days(0..7, &|| ()).expect("a week");
    let events: usize = parts.iter().map(|p| p.events.len()).sum();
    let mut group = c.benchmark_group("week of the canonical scenario");
    group.throughput(Throughput::Elements(events as u64)).sample_size(10);
    group.bench_function("lifecycles: simulate 4 locations x 7 days (events/s)", |b| {
        b.iter(|| simulator.days(0..7, &|| ()).expect("a week"))
    });
    let ds = Dataset { scenario: &scn, areas: &areas, sim: merge(parts, &[]) };
    let dir = tempfile::tempdir().expect("a scratch directory");
    let enc = Encoding { row_group_rows: scn.row_group_rows, zstd_level: scn.zstd_level };
    group.bench_function("parquet: encode and write the events (events/s)", |b| {
        b.iter(|| {
            let path = dir.path().join("events.parquet");
            write_table(&path, simkit::events::events_schema(), events, enc, &[], |r| ds.events_batch(r))
                .expect("written")
        })
    });
    group.finish();
}

fn replay_json(c: &mut Criterion) {
    let tmp = tempfile::tempdir().expect("a scratch directory");
    let out = tmp.path().join("ds");
    let opts = simkit::generate::Options {
        scenario: root().join("scenarios/caspers.toml"),
        days: Some(7),
        out: Some(out.clone()),
        quiet: true,
        data_dir: root(),
        ..Default::default()
    };
    simkit::generate::run(&opts).expect("a week's dataset");
    let m = Manifest::read(&out).expect("its manifest");
    let specs = simkit::sinks::kitchen_streams();
    let mut src = Sources::open(&out, &specs, WireFormat::Json, &m.fingerprint).expect("its events");
    src.set_lap_ms(1);
    let stream = &src.streams[0];
    let decoded: Vec<_> = (0..stream.file.row_groups().min(4))
        .map(|g| {
            let (a, b) = stream.file.group_rows(g);
            let batch = stream.file.read(g, a, b).expect("a row group");
            stream.codec.decode(&stream.file, a, &batch).expect("decoded")
        })
        .collect();
    let rows: usize = decoded.iter().map(|d| d.ts.len()).sum();
    let mut codec = stream.codec.clone();
    let mut group = c.benchmark_group("replay");
    group.throughput(Throughput::Elements(rows as u64));
    group.bench_function("JSON encoding of event records, one core (records/s)", |b| {
        b.iter_batched_ref(
            || Encoded::with_capacity(64 << 20),
            |out| {
                for d in &decoded {
                    for idx in d.first..d.first + d.ts.len() as u64 {
                        codec.encode(d, idx, 0, 0, out);
                    }
                }
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group! {
    name = hot_paths;
    config = Criterion::default().measurement_time(Duration::from_secs(5)).warm_up_time(Duration::from_secs(1));
    targets = road_loading, shortest_path_tree, lifecycles_and_parquet, replay_json
}
criterion_main!(hot_paths);
