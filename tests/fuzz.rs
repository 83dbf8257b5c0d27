//! Fuzzing on stable Rust: every parser of user input gets mutated copies
//! of real inputs — the shipped scenarios (with random `--set` overrides),
//! the CSV tables, small OSM PBF and XML extracts encoded here, a manifest
//! and a checkpoint from a real run — and must answer each with a value or
//! an error, never a panic. Mutations: bit flips, bytes, deletions,
//! duplications, splices between seeds, truncation, and tokens that break
//! parsers (`nan`, `1e300`, `[[x]]`, `-1`, deep nesting, ...).
//!
//! A smoke pass of `SIMKIT_FUZZ_INPUTS` inputs per target (default 2,000)
//! runs with the tests; `bash bench/fuzz.sh` runs a million per target and
//! reports the counts. A panicking input is saved to `target/fuzz-<target>.bin`.

mod common;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use common::*;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use simkit::replay::checkpoint;
use simkit::scenario::document::Document;
use simkit::scenario::kitchen::tables::RawTables;
use simkit::scenario::{self, csv};
use simkit::sinks::manifest::Manifest;

fn inputs_per_target() -> usize {
    std::env::var("SIMKIT_FUZZ_INPUTS").ok().and_then(|v| v.parse().ok()).unwrap_or(2_000)
}

/// Tokens that tend to break parsers of TOML, CSV, JSON and XML.
const TOKENS: &[&[u8]] = &[
    b"nan",
    b"inf",
    b"-inf",
    b"1e300",
    b"-1e300",
    b"-1",
    b"0",
    b"-0.0",
    b"1e-320",
    b"9223372036854775808",
    b"18446744073709551616",
    b"\"\"",
    b"[]",
    b"{}",
    b"[[x]]",
    b"[x]",
    b"=",
    b",",
    b"\"",
    b"'",
    b"\n",
    b"\\",
    b"{ a = 1 }",
    b"[1, 2]",
    b"true",
    b"null",
    b"24:00",
    b"99:99",
    b"2024-02-30",
    b"../x",
    b"\xff\xfe",
    b"\0",
    b"{{{{{{{{{{{{{{{{",
    b"[[[[[[[[[[[[[[[[",
    b"<node id='1' lat='nan' lon='0'/>",
    b"</way>",
    b"&amp;",
    b"]]>",
];

/// Mutates a seed with 1..=8 random edits.
fn mutate(rng: &mut Xoshiro256PlusPlus, seed: &[u8], others: &[Vec<u8>]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..rng.random_range(1..=8) {
        let at = if v.is_empty() { 0 } else { rng.random_range(0..v.len()) };
        match rng.random_range(0..8) {
            0 if !v.is_empty() => v[at] ^= 1 << rng.random_range(0..8),
            1 if !v.is_empty() => v[at] = rng.random(),
            2 => {
                let end = (at + rng.random_range(1..32)).min(v.len());
                v.drain(at..end);
            }
            3 => {
                let end = (at + rng.random_range(1..64)).min(v.len());
                let copy = v[at..end].to_vec();
                v.splice(at..at, copy);
            }
            4 | 5 => {
                let token = TOKENS[rng.random_range(0..TOKENS.len())];
                // 5: overwrite up to the next delimiter, as a value would be.
                let end = if rng.random_bool(0.5) {
                    v[at..].iter().position(|b| b" ,\n}]\"".contains(b)).map_or(v.len(), |p| at + p)
                } else {
                    at
                };
                v.splice(at..end, token.iter().copied());
            }
            6 if !others.is_empty() => {
                let o = &others[rng.random_range(0..others.len())];
                if !o.is_empty() {
                    let a = rng.random_range(0..o.len());
                    let b = (a + rng.random_range(1..256)).min(o.len());
                    v.splice(at..at, o[a..b].iter().copied());
                }
            }
            _ => v.truncate(at),
        }
    }
    v
}

thread_local! {
    /// The message of the last panic on this thread (set by the hook).
    static PANIC: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Runs `target` (true: accepted) on the seeds and mutations of them,
/// `inputs_per_target()` in all, and fails on any panic.
fn fuzz(name: &str, seeds: &[Vec<u8>], target: impl Fn(&[u8]) -> bool) {
    static HOOK: OnceLock<()> = OnceLock::new();
    HOOK.get_or_init(|| {
        std::panic::set_hook(Box::new(|info| PANIC.with(|p| *p.borrow_mut() = Some(info.to_string()))))
    });
    let n = inputs_per_target();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(0x5eed ^ name.len() as u64);
    let (mut accepted, mut panics) = (0usize, 0usize);
    let mut first: Option<(Vec<u8>, String)> = None;
    for i in 0..n {
        let seed = &seeds[i % seeds.len()];
        let input = if i < seeds.len() { seed.clone() } else { mutate(&mut rng, seed, seeds) };
        PANIC.with(|p| p.borrow_mut().take());
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| target(&input)));
        // Panics caught inside the target (a decoder run under catch_unwind) count too.
        let message = PANIC.with(|p| p.borrow_mut().take());
        match (result, message) {
            (Ok(ok), None) => accepted += usize::from(ok),
            (_, message) => {
                panics += 1;
                first.get_or_insert((input, message.unwrap_or_default()));
            }
        }
    }
    println!(
        "fuzz {name}: {n} inputs, {accepted} accepted, {} refused with an error, {panics} panics",
        n - accepted - panics
    );
    if let Some((input, message)) = first {
        let path = root().join(format!("target/fuzz-{name}.bin"));
        let _ = std::fs::File::create(&path).and_then(|mut f| f.write_all(&input));
        // The hook keeps panic messages to itself: say it here.
        println!("fuzz {name}: {panics} inputs panicked; the first ({message}) is saved in {}", path.display());
        panic!("fuzz {name}: {panics} inputs panicked");
    }
}

/// A one-day dataset (manifest and checkpoint seeds), made once.
fn dataset() -> &'static (tempfile::TempDir, PathBuf) {
    static DS: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    DS.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("ds");
        generate(&dir, &["--days", "1"]);
        let ckpt = tmp.path().join("ck");
        let sink = format!("dir:{}", tmp.path().join("out").display());
        let (d, c) = (dir.to_str().unwrap(), ckpt.to_str().unwrap());
        simkit_ok(&["replay", d, "--checkpoint", c, "--sink", &sink, "--catch-up-to", "2024-01-01T20:00:00Z", "-q"]);
        (tmp, dir)
    })
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

#[test]
fn fuzz_scenario_and_set_overrides() {
    let path = root().join("scenarios/caspers.toml");
    let seeds = vec![
        read(&path),
        read(&root().join("tests/fixtures/reno.toml")).replace_dir(),
        read(&root().join("scenarios/weather.toml")),
        read(&root().join("scenarios/smoothie.toml")),
        read(&root().join("scenarios/clickstream.toml")),
    ];
    let keys = [
        "seed",
        "time.days",
        "time.start",
        "demand.noise",
        "locations.sf.kitchen",
        "locations.sv.timezone",
        "locations.sf.base_orders_per_day",
        "basket.quantity",
        "lifecycle.ready_to_pickup",
        "driving.speed_mph",
        "demand.profiles.standard.peaks",
        "locations.x",
        "output.zstd_level",
        "name",
        "kind",
        "stations.count",
        "stations.offset_f",
        "temperature.monthly_means_f",
        "temperature.persistence",
        "rain.start_probability",
        "rain.stop_probability",
        "rain.min_temp_f",
        "hours.sun",
        "demand.anomalies",
        "basket.items",
        "inventory.restock_delay_min",
        "product_events",
    ];
    let rng = Mutex::new(Xoshiro256PlusPlus::seed_from_u64(11));
    fuzz("scenario", &seeds, |bytes| {
        let Ok(mut text) = String::from_utf8(bytes.to_vec()) else { return false };
        let mut rng = rng.lock().unwrap_or_else(|p| p.into_inner());
        // Half the inputs stay valid TOML: one value swapped for a hostile one.
        if rng.random_bool(0.5) {
            text = swap_a_value(&mut rng, &text).unwrap_or(text);
        }
        let sets: Vec<String> = (0..rng.random_range(0..3))
            .map(|_| {
                let token = TOKENS[rng.random_range(0..TOKENS.len())];
                format!("{}={}", keys[rng.random_range(0..keys.len())], String::from_utf8_lossy(token))
            })
            .collect();
        drop(rng);
        let Ok(doc) = Document::parse(&path, text) else { return false };
        let Ok(s) = scenario::from_document(doc, &scenario::Overrides::sets(&sets)) else { return false };
        if let simkit::kinds::Model::Retail(r) = &s.model {
            // A few days of the shop.
            let mut short = r.clone();
            short.calendar.days = short.calendar.days.min(3);
            simkit::kinds::retail::model::simulate(&short);
            return true;
        }
        if let simkit::kinds::Model::Weather(w) = &s.model {
            // The stations and a few days of every station's series.
            let mut short = w.clone();
            short.calendar.days = short.calendar.days.min(3);
            let stations = simkit::kinds::weather::model::stations(&short);
            simkit::kinds::weather::model::simulate(&short, &stations);
            return true;
        }
        // What the scenario drives before any roads: each location's first and last day of demand.
        let Ok(k) = s.kitchen("fuzzing") else { return true };
        for (i, l) in k.locations.iter().enumerate() {
            let demand = simkit::demand::Demand {
                volume: &l.volume,
                clock: &l.clock,
                profile: &l.minute_weights,
                multiplier: 1.0,
            };
            for day in [0, k.calendar.days - 1] {
                simkit::demand::arrivals(k.seed, i as u32, day, &k.calendar, &demand);
            }
        }
        true
    });
}

/// Values that stress validation rather than the TOML parser.
fn hostile_value(rng: &mut Xoshiro256PlusPlus) -> toml::Value {
    use toml::Value as V;
    match rng.random_range(0..10) {
        0 => V::Float([f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e300, -1e300, 1e-320][rng.random_range(0..6)]),
        1 => V::Integer([0, -1, i64::MAX, i64::MIN, 65_537, 36_501][rng.random_range(0..6)]),
        2 => V::Float(rng.random_range(-1e6..1e6)),
        3 => V::String(["", "../x", "nan", "24:00", "America/Nowhere", "sin2"][rng.random_range(0..6)].into()),
        4 => V::Array(vec![V::Float(1.0), V::Float(2.0)]),
        5 => V::Array(vec![V::Table(Default::default())]),
        6 => V::Table(Default::default()),
        7 => V::Boolean(true),
        8 => "{ normal = { mean = 1e300, std = 1e300 } }"
            .parse::<toml::Table>()
            .map(V::Table)
            .unwrap_or(V::Boolean(false)),
        _ => V::Integer(rng.random_range(-5..200)),
    }
}

/// `text` with one value (at any depth) replaced by a hostile one.
fn swap_a_value(rng: &mut Xoshiro256PlusPlus, text: &str) -> Option<String> {
    let mut doc: toml::Table = text.parse().ok()?;
    let mut table = &mut doc;
    loop {
        let keys: Vec<String> = table.keys().cloned().collect();
        let key = keys.get(rng.random_range(0..keys.len().max(1)))?.clone();
        let descend = rng.random_bool(0.7) && matches!(table.get(&key), Some(toml::Value::Table(_)));
        if !descend {
            table.insert(key, hostile_value(rng));
            return toml::to_string(&doc).ok();
        }
        let Some(toml::Value::Table(inner)) = table.get_mut(&key) else { return None };
        table = inner;
    }
}

/// The reno fixture names its tables relative to tests/fixtures; the fuzzer
/// parses every seed as if it were scenarios/caspers.toml.
trait ReplaceDir {
    fn replace_dir(self) -> Vec<u8>;
}

impl ReplaceDir for Vec<u8> {
    fn replace_dir(self) -> Vec<u8> {
        String::from_utf8(self).unwrap().replace("../../data/caspers", "../data/caspers").into_bytes()
    }
}

#[test]
fn fuzz_csv_tables() {
    let dir = root().join("data/caspers");
    let names = ["brands.csv", "menus.csv", "categories.csv", "items.csv", "brand_locations.csv"];
    let tables: Vec<Vec<u8>> = names.iter().map(|n| read(&dir.join(n))).collect();
    let locations = scenario::load(&root().join("scenarios/caspers.toml"), &Default::default())
        .unwrap()
        .kitchen("fuzzing")
        .unwrap()
        .locations
        .clone();
    // Each seed is one table, tagged by its index in the first byte.
    let seeds: Vec<Vec<u8>> = tables.iter().enumerate().map(|(i, t)| [&[i as u8][..], t].concat()).collect();
    fuzz("csv", &seeds, |bytes| {
        let Some((&which, text)) = bytes.split_first() else { return false };
        let pick = |i: usize| if i == which as usize % 5 { text } else { &tables[i][..] };
        let path = |i: usize| dir.join(names[i]);
        let raw = (|| {
            Ok::<_, simkit::error::Error>(RawTables {
                brands: csv::read_from(&path(0), pick(0))?,
                menus: csv::read_from(&path(1), pick(1))?,
                categories: csv::read_from(&path(2), pick(2))?,
                items: csv::read_from(&path(3), pick(3))?,
                presence: csv::read_from(&path(4), pick(4))?,
            })
        })();
        raw.and_then(|r| r.check(&locations)).is_ok()
    });
}

#[test]
fn fuzz_osm_pbf() {
    let seeds: Vec<Vec<u8>> = (0..6).map(|i| pbf::extract(i, i % 2 == 0)).collect();
    for s in &seeds {
        simkit::roads::osm::parse_bytes(s, true).expect("the encoded seeds are valid extracts");
    }
    fuzz("pbf", &seeds, |bytes| simkit::roads::osm::parse_bytes(bytes, true).is_ok());
}

#[test]
fn fuzz_osm_xml() {
    let seeds: Vec<Vec<u8>> = (0..6).map(pbf::xml).collect();
    for s in &seeds {
        simkit::roads::osm::parse_bytes(s, false).expect("the written seeds are valid extracts");
    }
    fuzz("xml", &seeds, |bytes| simkit::roads::osm::parse_bytes(bytes, false).is_ok());
}

#[test]
fn fuzz_manifest() {
    let (_, dir) = dataset();
    let seeds = vec![read(&dir.join("manifest.json"))];
    let path = dir.join("manifest.json");
    fuzz("manifest", &seeds, |bytes| {
        let Ok(text) = std::str::from_utf8(bytes) else { return false };
        match Manifest::parse(text, &path) {
            Ok(m) => {
                let _ = m.compute_fingerprint();
                simkit::verify::manifest_problems(&m).is_empty()
            }
            Err(_) => false,
        }
    });
}

#[test]
fn fuzz_checkpoint() {
    let (tmp, dir) = dataset();
    let ckpt = tmp.path().join("ck/checkpoint.json");
    let seeds = vec![read(&ckpt)];
    let opts = simkit::replay::Options {
        dataset: dir.clone(),
        sink: format!("dir:{}", tmp.path().join("out").display()),
        ..Default::default()
    };
    let check = simkit::replay::checkpoint_checker(&opts).unwrap();
    fuzz("checkpoint", &seeds, |bytes| {
        let Ok(text) = std::str::from_utf8(bytes) else { return false };
        checkpoint::parse(text, "checkpoint.json").and_then(|c| check(&c)).is_ok()
    });
}

/// Small OSM extracts written here (no ODbL data involved): a PBF encoder
/// for the few messages a reader needs, and the same network as OSM XML.
mod pbf {
    use std::io::Write as _;

    fn varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push(v as u8 | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    fn zigzag(v: i64) -> u64 {
        ((v << 1) ^ (v >> 63)) as u64
    }

    fn bytes_field(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
        varint(out, field << 3 | 2);
        varint(out, bytes.len() as u64);
        out.extend_from_slice(bytes);
    }

    fn int_field(out: &mut Vec<u8>, field: u64, v: u64) {
        varint(out, field << 3);
        varint(out, v);
    }

    fn packed(out: &mut Vec<u8>, field: u64, values: impl Iterator<Item = u64>) {
        let mut body = Vec::new();
        values.for_each(|v| varint(&mut body, v));
        bytes_field(out, field, &body);
    }

    /// A grid of `n` x `n` nodes near Reno joined by named residential
    /// streets (plus a one-way primary), as plain coordinates and ways.
    /// A node (id, lat, lon) and a way (id, node ids, tags).
    type Node = (i64, f64, f64);
    type Way = (i64, Vec<i64>, Vec<(&'static str, &'static str)>);

    pub fn network(variant: usize) -> (Vec<Node>, Vec<Way>) {
        let n = 4 + variant as i64;
        let nodes: Vec<(i64, f64, f64)> =
            (0..n * n).map(|i| (1000 + i, 39.52 + (i / n) as f64 * 0.001, -119.75 + (i % n) as f64 * 0.0012)).collect();
        let mut ways = Vec::new();
        for r in 0..n {
            let row: Vec<i64> = (0..n).map(|c| 1000 + r * n + c).collect();
            ways.push((500 + r, row, vec![("highway", "residential"), ("name", "Elm Street")]));
            let col: Vec<i64> = (0..n).map(|c| 1000 + c * n + r).collect();
            ways.push((600 + r, col, vec![("highway", "primary"), ("oneway", "yes")]));
        }
        (nodes, ways)
    }

    fn blob(kind: &str, block: &[u8], zlib: bool) -> Vec<u8> {
        let mut body = Vec::new();
        if zlib {
            let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            let _ = z.write_all(block);
            int_field(&mut body, 2, block.len() as u64);
            bytes_field(&mut body, 3, &z.finish().unwrap_or_default());
        } else {
            bytes_field(&mut body, 1, block);
        }
        let mut header = Vec::new();
        bytes_field(&mut header, 1, kind.as_bytes());
        int_field(&mut header, 3, body.len() as u64);
        let mut out = (header.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(&header);
        out.extend_from_slice(&body);
        out
    }

    /// An `.osm.pbf` of [`network`]: a header block, then one data block
    /// with dense nodes and ways; blobs raw or zlib-compressed.
    pub fn extract(variant: usize, zlib: bool) -> Vec<u8> {
        let (nodes, ways) = network(variant);
        let mut header = Vec::new();
        bytes_field(&mut header, 4, b"OsmSchema-V0.6");
        bytes_field(&mut header, 4, b"DenseNodes");
        let mut strings: Vec<&str> = vec![""];
        let index = |s: &'static str, strings: &mut Vec<&'static str>| {
            strings.iter().position(|x| *x == s).unwrap_or_else(|| {
                strings.push(s);
                strings.len() - 1
            }) as u64
        };
        let mut dense = Vec::new();
        let deltas = |xs: Vec<i64>| -> Vec<u64> {
            let mut prev = 0;
            xs.into_iter()
                .map(|x| {
                    let d = zigzag(x - prev);
                    prev = x;
                    d
                })
                .collect()
        };
        packed(&mut dense, 1, deltas(nodes.iter().map(|n| n.0).collect()).into_iter());
        packed(&mut dense, 8, deltas(nodes.iter().map(|n| (n.1 * 1e7).round() as i64).collect()).into_iter());
        packed(&mut dense, 9, deltas(nodes.iter().map(|n| (n.2 * 1e7).round() as i64).collect()).into_iter());
        let mut group = Vec::new();
        bytes_field(&mut group, 2, &dense);
        for (id, refs, tags) in &ways {
            let mut way = Vec::new();
            int_field(&mut way, 1, *id as u64);
            let keys: Vec<u64> = tags.iter().map(|(k, _)| index(k, &mut strings)).collect();
            let vals: Vec<u64> = tags.iter().map(|(_, v)| index(v, &mut strings)).collect();
            packed(&mut way, 2, keys.into_iter());
            packed(&mut way, 3, vals.into_iter());
            packed(&mut way, 8, deltas(refs.clone()).into_iter());
            bytes_field(&mut group, 3, &way);
        }
        let mut table = Vec::new();
        for s in &strings {
            bytes_field(&mut table, 1, s.as_bytes());
        }
        let mut block = Vec::new();
        bytes_field(&mut block, 1, &table);
        bytes_field(&mut block, 2, &group);
        let mut out = blob("OSMHeader", &header, zlib);
        out.extend(blob("OSMData", &block, zlib));
        out
    }

    /// [`network`] as OSM XML.
    pub fn xml(variant: usize) -> Vec<u8> {
        let (nodes, ways) = network(variant);
        let mut out = Vec::new();
        let _ = writeln!(out, "<?xml version='1.0' encoding='UTF-8'?>\n<osm version='0.6'>");
        for (id, lat, lon) in nodes {
            let _ = writeln!(out, "  <node id='{id}' lat='{lat:.7}' lon='{lon:.7}'/>");
        }
        for (id, refs, tags) in ways {
            let _ = writeln!(out, "  <way id='{id}'>");
            for r in refs {
                let _ = writeln!(out, "    <nd ref='{r}'/>");
            }
            for (k, v) in tags {
                let _ = writeln!(out, "    <tag k='{k}' v='{v}'/>");
            }
            let _ = writeln!(out, "  </way>");
        }
        let _ = writeln!(out, "</osm>");
        out
    }
}
