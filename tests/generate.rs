//! The generator end to end: determinism across threads, `--days` prefixes,
//! the canonical run's volumes against MODEL.md, basket and brand rules, and
//! golden fingerprints.

mod common;

use std::collections::{HashMap, HashSet};

use common::*;
use simkit::model::clock::LocalClock;
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

/// A run of several blocks of days (generated and written a block at a
/// time, in flat memory) writes the files the whole-run path writes: a
/// disordered stream takes that path, and its clean tables are the clean
/// run's. Small row groups put many group boundaries inside blocks and
/// some across them; 3 threads against 1 changes nothing.
#[test]
fn blocks_of_days_write_the_whole_runs_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    // ~176,000 orders: at least four blocks of at most 40,000 expected orders.
    let run = ["--days", "9", "--scale", "25", "--set", "output.row_group_rows=30011"];
    let streamed = generate(&tmp.path().join("s"), &[&run[..], &["--threads", "3"]].concat());
    let orders: u64 = streamed.locations.iter().map(|l| l.orders).sum();
    assert!(orders > 3 * 40_000, "{orders} orders");
    let disorder = ["--set", "disorder.events.out_of_order_s=1", "--threads", "1"];
    let whole = generate(&tmp.path().join("w"), &[&run[..], &disorder].concat());
    for name in ["events.parquet", "orders.parquet", "locations.parquet", "items.parquet"] {
        let x = std::fs::read(tmp.path().join("s").join(name)).unwrap();
        let y = std::fs::read(tmp.path().join("w").join(name)).unwrap();
        assert!(x == y, "{name} differs byte for byte between the blocks and the whole run");
    }
    assert_eq!(streamed.locations, whole.locations);
    assert_eq!(streamed.event_types, whole.event_types);
    assert_eq!(streamed.tables["events"], whole.tables["events"]);
    simkit_ok(&["verify", tmp.path().join("s").to_str().unwrap()]);
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
    assert!(groups > 20, "more groups than the window (2 per thread: 10) holds: {groups}");
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

    // Orders per day in the first and last week, per city (MODEL.md's narrative),
    // counted by each kitchen's local day.
    let reference = [(1, 171.0, 297.0), (2, 53.0, 155.0), (3, 230.0, 234.0), (4, 318.0, 240.0)];
    let rows = read_orders(&dir);
    let clocks = clocks(&m);
    let day = |o: &OrderRow| local_day(&clocks, o);
    for (loc, first, last) in reference {
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

/// Each location's local clock, by location id.
fn clocks(m: &simkit::sinks::manifest::Manifest) -> HashMap<i8, LocalClock> {
    m.locations.iter().map(|l| (l.id, LocalClock::parse(&l.timezone).unwrap())).collect()
}

/// The local day (0-based from 2024-01-01) an order was created on.
fn local_day(clocks: &HashMap<i8, LocalClock>, o: &OrderRow) -> i64 {
    let start = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    (clocks[&o.location_id].local_date(o.created_ms).unwrap() - start).num_days()
}

/// Orders per (location, local hour) over `days` of the canonical scenario.
fn orders_per_local_hour(
    dir: &std::path::Path,
    m: &simkit::sinks::manifest::Manifest,
    days: std::ops::Range<i64>,
) -> HashMap<(i8, usize), usize> {
    let clocks = clocks(m);
    let mut per_hour = HashMap::new();
    for o in read_orders(dir).iter().filter(|o| days.contains(&local_day(&clocks, o))) {
        let hour = clocks[&o.location_id].minute_of_day(o.created_ms) / 60;
        *per_hour.entry((o.location_id, hour)).or_default() += 1;
    }
    per_hour
}

#[test]
fn orders_peak_at_local_lunch_and_dinner_in_every_city() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    let m = generate(&dir, &["--days", "14"]);
    assert_eq!(
        m.locations.iter().map(|l| l.timezone.as_str()).collect::<Vec<_>>(),
        ["America/Los_Angeles", "America/Los_Angeles", "America/Los_Angeles", "America/Chicago"]
    );
    let per_hour = orders_per_local_hour(&dir, &m, 0..14);
    let h = |l: i8, hour: usize| per_hour.get(&(l, hour)).copied().unwrap_or(0) as f64;
    // Expected ratios are ~2.6 (lunch hour vs 9:00) and ~3.0 (18:00 vs 15:00)
    // on each kitchen's own clock; thresholds leave room for Poisson noise.
    for loc in 1..=4 {
        assert!(h(loc, 12) > 1.6 * h(loc, 9), "location {loc}: lunch vs morning");
        assert!(h(loc, 18) > 2.0 * h(loc, 15), "location {loc}: dinner vs afternoon");
        assert!(h(loc, 4) < 0.6 * h(loc, 12), "location {loc}: 4 am is quiet");
    }
    // Silicon Valley's late-night spike (~1.8x) and after-midnight bump (2x).
    assert!(h(2, 22) > 1.3 * h(2, 15) && h(2, 0) > 1.4 * h(2, 3));
    assert!(h(1, 22) < 1.3 * h(1, 15));
}

/// Daylight saving starts on 2024-03-10 (day 69): the peaks stay at local
/// noon and 18:00 on both sides, and the 23-hour day has its orders.
#[test]
fn peaks_keep_the_local_clock_across_daylight_saving() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("dst");
    let m = generate(&dir, &["--days", "80"]);
    let clocks = clocks(&m);
    for (days, label) in [(55..69, "before"), (70..80, "after")] {
        let per_hour = orders_per_local_hour(&dir, &m, days);
        for loc in [1i8, 3, 4] {
            let peak = (0..24).max_by_key(|&h| per_hour.get(&(loc, h)).copied().unwrap_or(0)).unwrap();
            assert_eq!(peak, 18, "location {loc} {label} 2024-03-10: busiest local hour");
            let lunch = (10..15).max_by_key(|&h| per_hour.get(&(loc, h)).copied().unwrap_or(0)).unwrap();
            assert_eq!(lunch, 12, "location {loc} {label} 2024-03-10: lunch hour");
        }
    }
    let dst_day = read_orders(&dir).iter().filter(|o| o.location_id == 1 && local_day(&clocks, o) == 69).count();
    assert!(dst_day > 150, "San Francisco on its 23-hour day: {dst_day} orders");
}

/// The reference's sequence numbers: an order's events in lifecycle order
/// from 0 (the driver's arrival is step 4 even when it comes earlier), and
/// the table still ordered by (ts, order_id, sequence).
#[test]
fn sequences_follow_the_reference_lifecycle() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("s");
    generate(&dir, &["--days", "2"]);
    let events = read_events(&dir);
    assert!(events
        .windows(2)
        .all(|w| (w[0].ts, &w[0].order_id, w[0].sequence) < (w[1].ts, &w[1].order_id, w[1].sequence)));
    let mut by_order: HashMap<&str, Vec<&EventRow>> = HashMap::new();
    for e in &events {
        by_order.entry(e.order_id.as_str()).or_default().push(e);
    }
    let mut early_arrivals = 0;
    for (id, mut ev) in by_order {
        ev.sort_by_key(|e| e.sequence);
        let kinds: Vec<i8> = ev.iter().map(|e| e.kind).collect();
        assert_eq!(&kinds[..6], &[1, 2, 3, 4, 5, 6], "order {id}");
        assert!(
            kinds[6..kinds.len() - 1].iter().all(|&k| k == 7) && kinds[kinds.len() - 1] == 8,
            "order {id}: {kinds:?}"
        );
        assert!(ev.iter().enumerate().all(|(i, e)| e.sequence as usize == i), "order {id}: 0-based");
        early_arrivals += usize::from(ev[4].ts < ev[2].ts);
        // The route starts with a real step, never the kitchen twice.
        assert!(ev[5].route_len >= 2);
    }
    assert!(early_arrivals > 100, "drivers arriving before the kitchen finishes keep sequence 4: {early_arrivals}");
}

#[test]
fn quiet_prints_nothing_on_success() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("q");
    let o = simkit(&["generate", "scenarios/caspers.toml", "--days", "1", "-q", "--out", out.to_str().unwrap()]);
    assert!(o.status.success());
    assert_eq!((o.stdout.len(), String::from_utf8_lossy(&o.stderr).to_string()), (0, String::new()));
    // Without -q: the summary on stdout and the synthetic-roads warning saying how to get real roads.
    let o = simkit(&["generate", "scenarios/caspers.toml", "--days", "1", "--out", out.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("done in"));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(
            "synthetic city; for real roads run `simkit roads fetch scenarios/caspers.toml` or pass --osm sf=PATH"
        ),
        "{err}"
    );
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
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("orders.parquet: its size or sha256 differs from the manifest's"), "{err}");
    // A missing file too is reported with the rest, not as a decoding error.
    std::fs::remove_file(dir.join("events.parquet")).unwrap();
    let err = String::from_utf8_lossy(&simkit(&["verify", dir.to_str().unwrap()]).stderr).to_string();
    assert!(
        err.contains("events.parquet: listed in the manifest but missing") && err.contains("orders.parquet: its size"),
        "{err}"
    );
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

/// Verify recomputes what the manifest claims: an edit that keeps the
/// fingerprint consistent is still caught by the data.
#[test]
fn verify_recomputes_every_manifest_field() {
    use simkit::sinks::manifest::Manifest;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("v");
    let m = generate(&dir, &["--days", "1"]);
    let edit = |change: &dyn Fn(&mut Manifest)| -> String {
        let mut e = m.clone();
        change(&mut e);
        e.fingerprint = e.compute_fingerprint();
        std::fs::write(dir.join("manifest.json"), serde_json::to_string_pretty(&e).unwrap()).unwrap();
        let out = simkit(&["verify", dir.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "an edited manifest must fail");
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    // Another seed: the synthetic roads and every order id give it away; problems are capped.
    let err = edit(&|e| e.scenario.seed = 43);
    assert!(err.contains("synthetic road seed"), "{err}");
    assert!(err.contains("its id is not one seed 43 gives an order of its location and day"), "{err}");
    assert!(err.contains("... and ") && err.contains(" more problems"), "{err}");
    assert!(err.lines().count() < 30, "the first 20 problems in full, then a count: {err}");
    // Another window.
    let err = edit(&|e| e.scenario.days = 5);
    assert!(err.contains("does not follow from start 2024-01-01 + 5 days"), "{err}");
    // A table the manifest no longer lists: an error, never a panic.
    let err = edit(&|e| {
        e.tables.remove("orders");
    });
    assert!(err.contains("orders.parquet has") && err.contains("the manifest lists no table `orders`"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // A count.
    let err = edit(&|e| e.locations[0].events += 1);
    assert!(err.contains("location `sf` has"), "{err}");
    // Without a consistent fingerprint any edit is named as such.
    let text = std::fs::read_to_string(dir.join("manifest.json")).unwrap();
    std::fs::write(dir.join("manifest.json"), text.replace("\"seed\": 42", "\"seed\": 44")).unwrap();
    let out = simkit(&["verify", dir.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("the manifest was edited"));
}

/// On a terminal (a pseudo-terminal from util-linux's `script`): one bar per
/// stage counting what it names, and each warning printed whole on a line of
/// its own above the bars, never glued into one.
#[test]
fn progress_bars_count_their_units_and_warnings_keep_their_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("tty");
    let cmd =
        format!("{} generate scenarios/caspers.toml --days 30 --out {}", env!("CARGO_BIN_EXE_simkit"), out.display());
    let run = std::process::Command::new("script").args(["-qec", &cmd, "/dev/null"]).current_dir(root()).output();
    let run = run.expect("`script` (util-linux) runs a command in a pseudo-terminal");
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{text}");
    for unit in ["/4 locations", "/120 location-days"] {
        assert!(text.contains(unit), "a bar counting {unit:?}: {text}");
    }
    assert!(text.contains("4/4 locations"), "{text}");
    for code in ["sf", "sv", "bellevue", "chicago"] {
        let warning = format!("warning: location `{code}`: no OSM extract found, so its roads are a synthetic city; for real roads run `simkit roads fetch scenarios/caspers.toml` or pass --osm {code}=PATH (an .osm.pbf or .osm extract)");
        let at = text.find(&warning).unwrap_or_else(|| panic!("the whole warning for {code} in one piece: {text}"));
        // What precedes it clears the bar's line (ESC [2K) or ends a line.
        let before = &text[..at];
        assert!(
            before.is_empty() || before.ends_with("\x1b[2K") || before.ends_with('\n'),
            "{code}: {:?}",
            &before[before.len().saturating_sub(40)..]
        );
    }
}

/// Rewrites `file` of a dataset with the rows `keep` picks from it, and the
/// manifest to match (size, sha256, fingerprint): only the data can tell.
fn forge(dir: &std::path::Path, file: &str, keep: impl Fn(usize) -> Vec<u32>) {
    use simkit::sinks::manifest::{sha256_file, FileInfo, Manifest};
    let path = dir.join(file);
    let all = batches(&path);
    let whole = arrow::compute::concat_batches(&all[0].schema(), &all).unwrap();
    let picked = arrow::array::UInt32Array::from(keep(whole.num_rows()));
    let forged = arrow::compute::take_record_batch(&whole, &picked).unwrap();
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), forged.schema(), None).unwrap();
    writer.write(&forged).unwrap();
    writer.close().unwrap();
    let mut m = Manifest::read(dir).unwrap();
    let info = FileInfo { bytes: std::fs::metadata(&path).unwrap().len(), sha256: sha256_file(&path).unwrap() };
    let mut files = m.files.clone();
    files.insert(file.to_string(), info);
    m.set_files(files);
    std::fs::write(dir.join("manifest.json"), serde_json::to_string_pretty(&m).unwrap()).unwrap();
}

/// verify checks the rows themselves in its one pass: an order listed twice
/// (in place of another), or one whose delivery is missing, is named even
/// when every hash and the fingerprint agree.
#[test]
fn verify_catches_forged_rows_with_consistent_hashes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    generate(&dir, &["--days", "2"]);
    let orders = read_orders(&dir);
    forge(&dir, "orders.parquet", |n| (0..n as u32).map(|i| if i == 5 { 4 } else { i }).collect());
    let out = simkit(&["verify", dir.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("order {}: listed twice, or out of partition order", orders[4].order_id)), "{err}");
    assert!(err.contains(&format!("order {}: has events but no row in orders.parquet", orders[5].order_id)), "{err}");
    assert!(!err.contains("manifest was edited"), "{err}");

    let dir = tmp.path().join("e");
    generate(&dir, &["--days", "2"]);
    let events = read_events(&dir);
    let last = events.iter().rposition(|e| e.kind == 8).unwrap(); // the last delivery
    let id = events[last].order_id.clone();
    forge(&dir, "events.parquet", |n| (0..n as u32).filter(|&i| i as usize != last).collect());
    let out = simkit(&["verify", dir.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(err.contains(&format!("order {id}: the steps are not the lifecycle's in sequence order")), "{err}");
}

/// Shards of whole days merge into the run generated whole, byte for byte:
/// every file, and so the manifest's fingerprint, for N = 1, 3 and 7 (small
/// row groups put group boundaries inside and across parts). merge refuses
/// a missing, repeated or foreign shard; verify and replay refuse a shard.
#[test]
fn shards_merge_into_the_whole_run() {
    let tmp = tempfile::tempdir().unwrap();
    let run = ["--days", "9", "--set", "output.row_group_rows=7001"];
    let mut sevens = Vec::new();
    for n in [1, 3, 7] {
        sevens = assert_shards_merge_into_the_whole_run(tmp.path(), "scenarios/caspers.toml", &run, n);
    }
    let shard = |n: u32, i: u32, extra: &[&str]| {
        let dir = tmp.path().join(format!("n{n}-{i}{}", extra.len()));
        let spec = format!("{i}/{n}");
        generate(&dir, &[&run[..], &["--shard", &spec], extra].concat());
        dir
    };
    let merge = |dirs: &[&std::path::PathBuf]| {
        let out = tmp.path().join("refused");
        let mut args = vec!["merge".to_string()];
        args.extend(dirs.iter().map(|d| d.display().to_string()));
        args.extend(["--out".to_string(), out.display().to_string()]);
        simkit(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let without_4: Vec<&std::path::PathBuf> = sevens.iter().filter(|d| !d.ends_with("n7-4")).collect();
    assert_fails_with(&merge(&without_4), "shard 4 of 7 is missing");
    let twice: Vec<&std::path::PathBuf> = sevens.iter().chain(&sevens[..1]).collect();
    assert_fails_with(&merge(&twice), "is given twice");
    let foreign = shard(7, 4, &["--set", "seed=7"]);
    let mixed: Vec<&std::path::PathBuf> = without_4.iter().copied().chain([&foreign]).collect();
    assert_fails_with(&merge(&mixed), "a shard of another run");
    assert!(!tmp.path().join("refused").exists(), "a refused merge leaves nothing");
    let one = sevens[0].to_str().unwrap();
    assert_fails_with(&simkit(&["verify", one]), "not a dataset: assemble the shards with `simkit merge");
    assert_fails_with(&simkit(&["replay", one, "--sink", "stdout"]), "not a dataset");
    for bad in ["0/3", "4/3", "x/3", "3"] {
        let out = simkit(&["generate", "scenarios/caspers.toml", "--days", "9", "--shard", bad, "--out", "/tmp/x"]);
        assert_fails_with(&out, "expected i/N with 1 <= i <= N");
    }
    let out = simkit(&["generate", "scenarios/caspers.toml", "--days", "2", "--shard", "1/3", "--out", "/tmp/x"]);
    assert_fails_with(&out, "2 days cannot make 3 shards of whole days");
}

/// The road cache: a run on an extract stores its graph and tree once
/// (keyed by the extract's hash), later runs read them and write the same
/// bytes, a damaged entry is rebuilt, an unwritable cache only warns, and
/// `SIMKIT_CACHE_DIR=off` writes nothing anywhere.
#[test]
fn the_road_cache_is_reused_repaired_and_optional() {
    use std::os::unix::fs::MetadataExt;
    let tmp = tempfile::tempdir().unwrap();
    let extract = tmp.path().join("grid.osm");
    std::fs::write(&extract, grid_extract([39.50, -119.775], 25)).unwrap();
    let osm = format!("reno={}", extract.display());
    let (home, cache) = (tmp.path().join("home"), tmp.path().join("cache"));
    let run = |name: &str, env: &[(&str, &str)]| {
        let dir = tmp.path().join(name);
        let args =
            ["generate", "tests/fixtures/reno.toml", "--require-osm", "--osm", &osm, "--out", dir.to_str().unwrap()];
        let mut cmd = simkit_command(&args, env);
        cmd.env("HOME", &home).env_remove("XDG_CACHE_HOME");
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        (dir_files(&dir), String::from_utf8_lossy(&out.stderr).to_string())
    };
    let (uncached, _) = run("off", &[("SIMKIT_CACHE_DIR", "off")]);
    assert!(!home.exists() && !cache.exists(), "the cache is off: nothing written");
    let cache_env = [("SIMKIT_CACHE_DIR", cache.to_str().unwrap())];
    assert_eq!(run("first", &cache_env).0, uncached, "a run that fills the cache writes the same bytes");
    let entries: Vec<_> = std::fs::read_dir(cache.join("roads")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    let entry = &entries[0];
    let (bytes, inode) = (std::fs::read(entry).unwrap(), std::fs::metadata(entry).unwrap().ino());
    assert_eq!(run("hit", &cache_env).0, uncached, "a run from the cache writes the same bytes");
    assert_eq!(std::fs::metadata(entry).unwrap().ino(), inode, "a hit leaves the entry alone");
    let mut damaged = bytes.clone();
    damaged[bytes.len() / 2] ^= 0x40;
    std::fs::write(entry, &damaged).unwrap();
    assert_eq!(run("repaired", &cache_env).0, uncached, "a damaged entry is rebuilt, not used");
    assert_eq!(std::fs::read(entry).unwrap(), bytes, "and replaced by a sound one");
    // Unset (or empty), the cache lives under the home folder.
    run("default", &[("SIMKIT_CACHE_DIR", "")]);
    assert_eq!(std::fs::read_dir(home.join(".cache/simkit/roads")).unwrap().count(), 1);
    // A cache that cannot be written warns and the run goes on.
    let blocked = tmp.path().join("a-file");
    std::fs::write(&blocked, "").unwrap();
    let (hashes, stderr) = run("blocked", &[("SIMKIT_CACHE_DIR", blocked.to_str().unwrap())]);
    assert_eq!(hashes, uncached);
    assert!(stderr.contains("warning: road cache: cannot write"), "{stderr}");
}
