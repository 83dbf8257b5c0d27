//! Helpers shared by the integration tests: running the built binary,
//! locating the shared OSM extracts, and reading datasets back.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{Float32Type, Int16Type, Int8Type, TimestampMillisecondType};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use simkit::sinks::manifest::Manifest;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The built binary with `args` and extra environment, run from the repository root.
pub fn simkit_command<S: AsRef<OsStr>>(args: &[S], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_simkit"));
    // No road cache unless a test names one: runs stay independent of each other and of the machine.
    cmd.env("SIMKIT_CACHE_DIR", "off");
    cmd.args(args).envs(env.iter().copied()).current_dir(root());
    cmd
}

pub fn simkit(args: &[&str]) -> Output {
    simkit_command(args, &[]).output().expect("run simkit")
}

/// Spawns `cmd` (stdout discarded) and SIGKILLs it after `after` unless it
/// exits first, which must be a success. Returns whether it was killed, and
/// its stderr.
pub fn run_and_kill(mut cmd: Command, after: Duration) -> (bool, String) {
    let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn simkit");
    let started = Instant::now();
    let killed = loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "simkit failed: {}", stderr_of(&mut child));
            break false;
        }
        if started.elapsed() >= after {
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            break true;
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    (killed, stderr_of(&mut child))
}

/// What an exited child wrote to its piped stderr.
pub fn stderr_of(child: &mut std::process::Child) -> String {
    let mut err = String::new();
    child.stderr.take().map(|mut e| e.read_to_string(&mut err));
    err
}

/// Asserts that a run failed with exit status 2 and a message containing `message`.
pub fn assert_fails_with(out: &Output, message: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(message), "expected {message:?} in: {err}");
}

/// Runs simkit and asserts success, returning stdout.
pub fn simkit_ok(args: &[&str]) -> String {
    let out = simkit(args);
    assert!(out.status.success(), "simkit {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// The folder of the real OSM extracts: `$SIMKIT_OSM_DIR`.
pub fn osm_dir() -> std::result::Result<PathBuf, String> {
    let dir = std::env::var_os("SIMKIT_OSM_DIR")
        .map(PathBuf::from)
        .ok_or("SIMKIT_OSM_DIR is not set (the folder of the OSM extracts: reno.osm.pbf, sf-north.osm.pbf, seattle-triangle.osm)")?;
    for name in ["reno.osm.pbf", "sf-north.osm.pbf", "seattle-triangle.osm"] {
        if !dir.join(name).exists() {
            return Err(format!("SIMKIT_OSM_DIR={}: {name} not found", dir.display()));
        }
    }
    Ok(dir)
}

/// A real OSM extract from `$SIMKIT_OSM_DIR` (the suites that use it check
/// that the folder is there before they run).
pub fn osm_extract(name: &str) -> PathBuf {
    osm_dir().expect("SIMKIT_OSM_DIR").join(name)
}

/// Runs a suite of tests that need something outside the repository (a
/// broker, Spark, Python readers, OSM extracts): with `needs` met they run;
/// without it they show as *ignored*, the reason printed once, so a summary
/// never counts them as passed; with `required` (CI) they fail instead.
pub fn external_suite(
    needs: std::result::Result<(), String>,
    required: bool,
    tests: &[(&'static str, fn())],
) -> std::process::ExitCode {
    use libtest_mimic::{Arguments, Trial};
    let args = Arguments::from_args();
    if let Err(why) = &needs {
        let what = if required { "FAILING (required)" } else { "SKIPPED" };
        println!("{what}: {} tests: {why}", tests.len());
    }
    let trials = tests
        .iter()
        .map(|&(name, test)| match &needs {
            Ok(()) => Trial::test(name, move || {
                test();
                Ok(())
            }),
            Err(why) => {
                let why = why.clone();
                let trial = Trial::test(name, move || Err(why.into()));
                if required {
                    trial
                } else {
                    trial.with_ignored_flag(true).with_kind("skipped")
                }
            }
        })
        .collect();
    libtest_mimic::run(&args, trials).exit_code()
}

/// Whether an environment variable is set to 1.
pub fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v == "1")
}

/// A copy of the canonical scenario with `edit` applied, in `dir`, reading the repo's tables.
pub fn scenario(dir: &Path, edit: impl Fn(String) -> String) -> PathBuf {
    let text = std::fs::read_to_string(root().join("scenarios/caspers.toml")).unwrap();
    let tables = root().join("data/caspers");
    let text = text.replace("dir = \"../data/caspers\"", &format!("dir = {:?}", tables.to_str().unwrap()));
    let path = dir.join("scenario.toml");
    std::fs::write(&path, edit(text)).unwrap();
    path
}

/// 1-based line of the first line of the canonical scenario containing `needle`.
pub fn line_of(needle: &str) -> usize {
    let text = std::fs::read_to_string(root().join("scenarios/caspers.toml")).unwrap();
    text.lines().position(|l| l.contains(needle)).expect("needle in the scenario") + 1
}

/// Runs `generate` expecting failure; returns stderr after checking exit 2 and no output.
pub fn fails(dir: &Path, scenario: &Path, extra: &[&str]) -> String {
    let out_dir = dir.join("out");
    let mut args = vec!["generate", scenario.to_str().unwrap(), "-q", "--out", out_dir.to_str().unwrap()];
    if !extra.contains(&"--days") {
        args.extend(["--days", "1"]);
    }
    args.extend_from_slice(extra);
    let out = simkit(&args);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "expected exit 2, got {:?}; stderr: {stderr}", out.status.code());
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    assert!(stderr.starts_with("simkit: "), "{stderr}");
    assert!(!out_dir.exists(), "output directory left behind");
    assert!(leftovers(dir, ".out.partial-").is_empty(), "temporary output left behind");
    stderr
}

/// Generates `scenarios/caspers.toml` (plus `extra` args) into `out`.
pub fn generate(out: &Path, extra: &[&str]) -> Manifest {
    let mut args = vec!["generate", "scenarios/caspers.toml", "--quiet", "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    simkit_ok(&args);
    Manifest::read(out).expect("manifest")
}

pub fn batches(path: &Path) -> Vec<RecordBatch> {
    let f = File::open(path).expect("open parquet");
    ParquetRecordBatchReaderBuilder::try_new(f).unwrap().build().unwrap().map(|b| b.unwrap()).collect()
}

#[derive(Clone, Debug, PartialEq)]
pub struct EventRow {
    pub ts: i64,
    pub order_id: String,
    pub location_id: i8,
    pub kind: i8,
    pub sequence: i16,
    pub lat: Option<f32>,
    pub lon: Option<f32>,
    pub route_len: usize,
}

pub fn read_events(dir: &Path) -> Vec<EventRow> {
    let mut out = Vec::new();
    for b in batches(&dir.join("events.parquet")) {
        let ts = b.column_by_name("ts").unwrap().as_primitive::<TimestampMillisecondType>().clone();
        let id = b.column_by_name("order_id").unwrap().as_string::<i32>().clone();
        let loc = b.column_by_name("location_id").unwrap().as_primitive::<Int8Type>().clone();
        let kind = b.column_by_name("event_type_id").unwrap().as_primitive::<Int8Type>().clone();
        let seq = b.column_by_name("sequence").unwrap().as_primitive::<Int16Type>().clone();
        let lat = b.column_by_name("lat").unwrap().as_primitive::<Float32Type>().clone();
        let lon = b.column_by_name("lon").unwrap().as_primitive::<Float32Type>().clone();
        let route = b.column_by_name("route").unwrap().as_list::<i32>().clone();
        for i in 0..b.num_rows() {
            out.push(EventRow {
                ts: ts.value(i),
                order_id: id.value(i).to_string(),
                location_id: loc.value(i),
                kind: kind.value(i),
                sequence: seq.value(i),
                lat: lat.is_valid(i).then(|| lat.value(i)),
                lon: lon.is_valid(i).then(|| lon.value(i)),
                route_len: if route.is_valid(i) { route.value(i).len() } else { 0 },
            });
        }
    }
    out
}

#[derive(Clone, Debug, PartialEq)]
pub struct OrderRow {
    pub order_id: String,
    pub location_id: i8,
    pub created_ms: i64,
    pub brands: Vec<i8>,
    pub item_count: i16,
    pub pings: i16,
}

pub fn read_orders(dir: &Path) -> Vec<OrderRow> {
    let mut out = Vec::new();
    for b in batches(&dir.join("orders.parquet")) {
        let id = b.column_by_name("order_id").unwrap().as_string::<i32>().clone();
        let loc = b.column_by_name("location_id").unwrap().as_primitive::<Int8Type>().clone();
        let created = b.column_by_name("created_at").unwrap().as_primitive::<TimestampMillisecondType>().clone();
        let brands = b.column_by_name("brand_ids").unwrap().as_list::<i32>().clone();
        let items = b.column_by_name("item_count").unwrap().as_primitive::<Int16Type>().clone();
        let pings = b.column_by_name("pings").unwrap().as_primitive::<Int16Type>().clone();
        for i in 0..b.num_rows() {
            let bl = brands.value(i);
            out.push(OrderRow {
                order_id: id.value(i).to_string(),
                location_id: loc.value(i),
                created_ms: created.value(i),
                brands: bl.as_primitive::<Int8Type>().values().to_vec(),
                item_count: items.value(i),
                pings: pings.value(i),
            });
        }
    }
    out
}

/// Size in bytes of a dataset's events.parquet.
pub fn events_bytes(dir: &Path) -> u64 {
    std::fs::metadata(dir.join("events.parquet")).expect("events.parquet").len()
}

/// Entries in `dir` whose name starts with `prefix` (leftover temp dirs).
pub fn leftovers(dir: &Path, prefix: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().to_string())
                .filter(|n| n.starts_with(prefix))
                .collect()
        })
        .unwrap_or_default()
}

/// An OSM XML extract of an `n` x `n` grid of named two-way streets, 0.002
/// degrees apart, with its south-west corner at `corner` (lat, lon).
pub fn grid_extract(corner: [f64; 2], n: usize) -> String {
    use std::fmt::Write;
    let mut xml = String::from("<?xml version='1.0' encoding='UTF-8'?>\n<osm version='0.6'>\n");
    let id = |r: usize, c: usize| 1 + r * n + c;
    for r in 0..n {
        for c in 0..n {
            let (lat, lon) = (corner[0] + r as f64 * 0.002, corner[1] + c as f64 * 0.002);
            let _ = writeln!(xml, "  <node id='{}' lat='{lat:.6}' lon='{lon:.6}'/>", id(r, c));
        }
    }
    for (way, (class, name)) in [("residential", "Row"), ("tertiary", "Avenue")].iter().enumerate() {
        for k in 0..n {
            let _ = write!(xml, "  <way id='{}'>", 1 + way * n + k);
            for j in 0..n {
                let node = if way == 0 { id(k, j) } else { id(j, k) };
                let _ = write!(xml, "<nd ref='{node}'/>");
            }
            let _ = writeln!(xml, "<tag k='highway' v='{class}'/><tag k='name' v='{name} {k}'/></way>");
        }
    }
    xml.push_str("</osm>\n");
    xml
}

/// Every file under `dir` (relative path -> bytes), to compare runs byte for byte.
pub fn dir_files(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut std::collections::BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).expect("read dataset folder") {
            let path = entry.expect("dataset entry").path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                let name = path.strip_prefix(base).unwrap().display().to_string();
                out.insert(name, std::fs::read(&path).expect("read dataset file"));
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Generates `scenario` with `run` args whole into `tmp/whole`, then as `n`
/// shards, merges them (given in reverse order) and asserts the merged
/// dataset is the whole run byte for byte, fingerprint included, and
/// verifies. Returns the shard directories, by index.
pub fn assert_shards_merge_into_the_whole_run(tmp: &Path, scenario: &str, run: &[&str], n: u32) -> Vec<PathBuf> {
    let whole_dir = tmp.join("whole");
    let generate_into = |dir: &Path, extra: &[&str]| {
        let mut args = vec!["generate", scenario, "--quiet", "--out", dir.to_str().unwrap()];
        args.extend_from_slice(run);
        args.extend_from_slice(extra);
        simkit_ok(&args);
    };
    if !whole_dir.exists() {
        generate_into(&whole_dir, &[]);
    }
    let whole = Manifest::read(&whole_dir).expect("manifest");
    let dirs: Vec<PathBuf> = (1..=n)
        .map(|i| {
            let dir = tmp.join(format!("n{n}-{i}"));
            generate_into(&dir, &["--shard", &format!("{i}/{n}")]);
            dir
        })
        .collect();
    let out = tmp.join(format!("merged-{n}"));
    let mut args = vec!["merge".to_string()];
    args.extend(dirs.iter().rev().map(|d| d.display().to_string()));
    args.extend(["--out".to_string(), out.display().to_string(), "-q".to_string()]);
    simkit_ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let merged = Manifest::read(&out).unwrap();
    assert_eq!(merged.fingerprint, whole.fingerprint, "{scenario}: {n} shards");
    let (merged_files, whole_files) = (dir_files(&out), dir_files(&whole_dir));
    assert!(merged_files.keys().eq(whole_files.keys()), "{scenario}: the files after merging {n} shards");
    for (name, bytes) in &whole_files {
        assert!(merged_files[name] == *bytes, "{scenario}: {name} differs after merging {n} shards");
    }
    simkit_ok(&["verify", out.to_str().unwrap()]);
    dirs
}

/// Small runs of every kind that `simkit report` is tested on: (scenario under scenarios/, generate arguments).
pub const REPORTED: [(&str, &[&str]); 4] = [
    ("caspers.toml", &["--days", "21"]),
    ("smoothie.toml", &["--days", "30"]),
    ("weather.toml", &["--days", "400", "--set", "stations.count=8"]),
    ("clickstream.toml", &["--days", "4"]),
];

/// Generates `scenario` (under scenarios/) with `run` into `dir` and writes its report;
/// returns the generate arguments (to run it again).
pub fn generate_and_report(dir: &Path, scenario: &str, run: &[&str]) -> Vec<String> {
    let file = root().join("scenarios").join(scenario);
    let mut args: Vec<String> =
        ["generate", file.to_str().unwrap(), "--out", dir.to_str().unwrap(), "-q"].map(String::from).to_vec();
    args.extend(run.iter().map(|a| a.to_string()));
    simkit_ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    simkit_ok(&["report", dir.to_str().unwrap(), "-q"]);
    args
}
