//! The generator end to end: determinism across threads, `--days` prefixes,
//! the canonical run's volumes against MODEL.md, basket and brand rules, and
//! golden fingerprints.

mod common;

use std::collections::{HashMap, HashSet};

use common::*;
use simkit::verify::Golden;

const DAY_MS: i64 = 86_400_000;
const EPOCH_2024_MS: i64 = 1_704_067_200_000;

#[test]
fn output_is_identical_for_any_thread_count_and_run() {
    let tmp = tempfile::tempdir().unwrap();
    let a = generate(&tmp.path().join("t1"), &["--days", "4", "--threads", "1"]);
    let b = generate(&tmp.path().join("t2"), &["--days", "4", "--threads", "2"]);
    let c = generate(&tmp.path().join("t2b"), &["--days", "4", "--threads", "2"]);
    assert_eq!(a.files, b.files, "file hashes differ between 1 and 2 threads");
    assert_eq!(b.files, c.files, "file hashes differ between two runs");
    assert_eq!(a.fingerprint, c.fingerprint);
    for name in a.files.keys() {
        let x = std::fs::read(tmp.path().join("t1").join(name)).unwrap();
        let y = std::fs::read(tmp.path().join("t2").join(name)).unwrap();
        assert!(x == y, "{name} differs byte for byte");
    }
}

/// Many small row groups, encoded over the sliding window by more threads
/// than cores, finish out of order: they must still land in order, with the
/// same bytes and the same rows as one large group written by one thread.
#[test]
fn small_row_groups_land_in_order_whatever_the_threads() {
    let tmp = tempfile::tempdir().unwrap();
    let small = ["--days", "2", "--set", "output.row_group_rows=499"];
    let a = generate(&tmp.path().join("a"), &[&small[..], &["--threads", "1"]].concat());
    let b = generate(&tmp.path().join("b"), &[&small[..], &["--threads", "5"]].concat());
    assert_eq!(a.files, b.files, "file hashes differ between 1 and 5 threads");
    let events = a.tables["events"] as usize;
    let file = std::fs::File::open(tmp.path().join("b/events.parquet")).unwrap();
    let groups = parquet::file::reader::FileReader::metadata(
        &parquet::file::serialized_reader::SerializedFileReader::new(file).unwrap(),
    )
    .num_row_groups();
    assert_eq!(groups, events.div_ceil(499), "{events} events");
    assert!(groups > 20, "more groups than the window (4 per thread: 20) holds: {groups}");
    let big = generate(&tmp.path().join("c"), &["--days", "2"]);
    assert_ne!(big.files["events.parquet"], b.files["events.parquet"]);
    assert_eq!(read_events(&tmp.path().join("b")), read_events(&tmp.path().join("c")));
    simkit_ok(&["verify", tmp.path().join("b").to_str().unwrap()]);
}

/// `output.zstd_level` trades time for size only: the rows stay the same.
#[test]
fn a_higher_zstd_level_gives_smaller_files_with_the_same_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let (fast, small) = (tmp.path().join("fast"), tmp.path().join("small"));
    generate(&fast, &["--days", "2"]);
    generate(&small, &["--days", "2", "--set", "output.zstd_level=10"]);
    let (small_bytes, fast_bytes) = (events_bytes(&small), events_bytes(&fast));
    assert!(small_bytes < fast_bytes, "level 10: {small_bytes} bytes, level 3: {fast_bytes} bytes");
    assert_eq!(read_events(&small), read_events(&fast));
    assert_eq!(read_orders(&small), read_orders(&fast));
    simkit_ok(&["verify", small.to_str().unwrap()]);
}

#[test]
fn a_days_run_is_a_prefix_of_a_longer_run() {
    let tmp = tempfile::tempdir().unwrap();
    generate(&tmp.path().join("d3"), &["--days", "3"]);
    generate(&tmp.path().join("d6"), &["--days", "6"]);
    let (short, long) = (read_orders(&tmp.path().join("d3")), read_orders(&tmp.path().join("d6")));
    assert!(!short.is_empty() && long.len() > short.len());
    assert_eq!(short[..], long[..short.len()], "orders of the first 3 days differ");
    assert!(long[short.len()..].iter().all(|o| o.created_ms >= EPOCH_2024_MS + 3 * DAY_MS));
    let ids: HashSet<&str> = short.iter().map(|o| o.order_id.as_str()).collect();
    let ev_short = read_events(&tmp.path().join("d3"));
    let ev_long: Vec<EventRow> =
        read_events(&tmp.path().join("d6")).into_iter().filter(|e| ids.contains(e.order_id.as_str())).collect();
    assert_eq!(ev_short, ev_long, "events of the first 3 days' orders differ");
}

/// The canonical 90-day run against MODEL.md: 75,780 orders, 1,014,290
/// events, and per-city volumes in the first and last week.
#[test]
fn canonical_run_matches_the_reference_volumes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("caspers");
    let m = generate(&dir, &[]);
    let orders = m.tables["orders"] as f64;
    let events = m.tables["events"] as f64;
    assert!((orders / 75_780.0 - 1.0).abs() < 0.02, "orders {orders} vs 75,780");
    assert!((events / 1_014_290.0 - 1.0).abs() < 0.05, "events {events} vs 1,014,290");
    let per_order = events / orders;
    assert!((12.9..=13.9).contains(&per_order), "events per order {per_order} (reference 13.4)");
    // The reference stores the same ~1M events in 34.5 MB; the default
    // encoding takes at most half of that.
    let size = events_bytes(&dir);
    assert!(size <= 34_500_000 / 2, "events.parquet {size} bytes: expected at most half of the reference's 34.5 MB");

    // Orders per day in the first and last week, per city (MODEL.md's narrative).
    let reference = [(1, 171.0, 297.0), (2, 53.0, 155.0), (3, 230.0, 234.0), (4, 318.0, 240.0)];
    let rows = read_orders(&dir);
    for (loc, first, last) in reference {
        let day = |o: &OrderRow| (o.created_ms - EPOCH_2024_MS) / DAY_MS;
        let week = |lo: i64| {
            rows.iter().filter(|o| o.location_id == loc && (lo..lo + 7).contains(&day(o))).count() as f64 / 7.0
        };
        let (f, l) = (week(0), week(83));
        assert!((f / first - 1.0).abs() < 0.08, "location {loc}: first week {f:.1}/day vs {first}");
        assert!((l / last - 1.0).abs() < 0.08, "location {loc}: last week {l:.1}/day vs {last}");
    }

    // Basket: 70 % single-brand orders; 1..=3 brands; 1..=3 items per brand.
    let single = rows.iter().filter(|o| o.brands.len() == 1).count() as f64 / rows.len() as f64;
    assert!((single - 0.70).abs() < 0.01, "single-brand share {single}");
    assert!(rows.iter().all(|o| (1..=3).contains(&o.brands.len())));
    assert!(rows
        .iter()
        .all(|o| o.item_count as usize >= o.brands.len() && o.item_count as usize <= 3 * o.brands.len()));
    let mean_items = rows.iter().map(|o| o.item_count as f64 / o.brands.len() as f64).sum::<f64>() / rows.len() as f64;
    assert!((mean_items - 2.0).abs() < 0.05, "mean items per brand {mean_items}");

    // Brand windows: Five Gals (14) leaves Chicago at day 60; NootroNourish (19) opens in SV at day 45.
    let day = |o: &OrderRow| (o.created_ms - EPOCH_2024_MS) / DAY_MS;
    let has = |o: &OrderRow, b: i8| o.brands.contains(&b);
    assert!(rows.iter().any(|o| o.location_id == 4 && has(o, 14) && day(o) == 59));
    assert!(!rows.iter().any(|o| o.location_id == 4 && has(o, 14) && day(o) >= 60));
    assert!(!rows.iter().any(|o| o.location_id == 2 && has(o, 19) && day(o) < 45));
    assert!(rows.iter().any(|o| o.location_id == 2 && has(o, 19) && day(o) == 45));

    // Weekday pattern: Saturdays busier than Mondays in SF, not in SV (no pattern).
    let per_weekday =
        |loc: i8, wd: i64| rows.iter().filter(|o| o.location_id == loc && day(o) % 7 == wd).count() as f64;
    assert!(per_weekday(1, 5) / per_weekday(1, 0) > 1.25, "SF Saturday/Monday");
    let sv = per_weekday(2, 5) / per_weekday(2, 0);
    assert!((0.9..1.15).contains(&sv), "SV Saturday/Monday {sv} (growth only)");

    // Pings per order near the reference's 6.4 on the synthetic networks.
    let pings = rows.iter().map(|o| o.pings as f64).sum::<f64>() / rows.len() as f64;
    assert!((5.9..=6.9).contains(&pings), "pings per order {pings}");

    let verified = simkit_ok(&["verify", dir.to_str().unwrap()]);
    assert!(verified.contains(": ok"));
}

#[test]
fn intraday_profile_peaks_at_lunch_and_dinner() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    generate(&dir, &["--days", "14"]);
    let rows = read_orders(&dir);
    let mut per_hour: HashMap<(i8, i64), usize> = HashMap::new();
    for o in &rows {
        *per_hour.entry((o.location_id, (o.created_ms % DAY_MS) / 3_600_000)).or_default() += 1;
    }
    let h = |l: i8, hour: i64| per_hour.get(&(l, hour)).copied().unwrap_or(0) as f64;
    // Expected ratios are ~2.6 (lunch hour vs 9:00) and ~3.0 (18:00 vs 15:00);
    // thresholds leave room for Poisson noise at the smallest location.
    for loc in 1..=4 {
        assert!(h(loc, 12) > 1.6 * h(loc, 9), "location {loc}: lunch vs morning");
        assert!(h(loc, 18) > 2.0 * h(loc, 15), "location {loc}: dinner vs afternoon");
    }
    // Silicon Valley's late-night spike (~1.8x) and after-midnight bump (2x).
    assert!(h(2, 22) > 1.3 * h(2, 15) && h(2, 0) > 1.4 * h(2, 3));
    assert!(h(1, 22) < 1.3 * h(1, 15));
}

/// Golden fingerprints: a small synthetic-roads run must match the committed
/// golden file exactly (update it deliberately with `verify --write-golden`).
#[test]
fn small_synthetic_run_matches_its_golden_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("g");
    generate(&dir, &["--days", "2"]);
    let golden = root().join("tests/golden/caspers-2days-synthetic.json");
    if std::env::var_os("SIMKIT_UPDATE_GOLDEN").is_some() {
        simkit_ok(&["verify", dir.to_str().unwrap(), "--write-golden", golden.to_str().unwrap()]);
    }
    let out = simkit_ok(&["verify", dir.to_str().unwrap(), "--golden", golden.to_str().unwrap()]);
    assert!(out.contains("matches the golden file"), "{out}");
    // A golden file that differs is a failure naming what differs.
    let mut g: Golden = serde_json::from_str(&std::fs::read_to_string(&golden).unwrap()).unwrap();
    g.tables.insert("orders".into(), 1);
    let wrong = tmp.path().join("wrong.json");
    std::fs::write(&wrong, serde_json::to_string(&g).unwrap()).unwrap();
    let out = simkit(&["verify", dir.to_str().unwrap(), "--golden", wrong.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("tables: golden"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn reno_run_on_real_roads_matches_its_golden_file() {
    let Some(reno) = osm_extract("reno.osm.pbf") else { return };
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

#[test]
fn verify_detects_a_tampered_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("t");
    generate(&dir, &["--days", "1"]);
    let path = dir.join("orders.parquet");
    let mut bytes = std::fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();
    let out = simkit(&["verify", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("orders.parquet: sha256"));
}

#[test]
fn set_overrides_change_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let a = generate(&tmp.path().join("a"), &["--days", "2"]);
    let b = generate(
        &tmp.path().join("b"),
        &["--days", "2", "--set", "seed=7", "--set", "locations.sv.base_orders_per_day=500"],
    );
    assert_ne!(a.scenario.hash, b.scenario.hash);
    assert_eq!(b.scenario.seed, 7);
    let sv = |m: &simkit::sinks::manifest::Manifest| m.locations.iter().find(|l| l.code == "sv").unwrap().orders;
    assert!(sv(&b) > 5 * sv(&a), "sv orders {} vs {}", sv(&b), sv(&a));
}
