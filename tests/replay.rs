//! `simkit replay` end to end through the built binary, on a small generated
//! dataset (2 days, small row groups so batches cross them): the JSON records
//! against an independent rendering of the Parquet values, stable event ids,
//! repeated available-now runs, exactly-once output across SIGKILLs at random
//! moments, a clean stop on SIGTERM, and exit status 2 with a message for
//! every kind of error.

mod common;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{Decimal128Type, Float32Type, Int16Type, Int8Type, TimestampMillisecondType};
use rand::{Rng, SeedableRng};
use serde_json::Value;
use uuid::Uuid;

use common::*;

/// The 2-day dataset, generated once per test binary.
fn dataset() -> &'static str {
    static DS: OnceLock<(tempfile::TempDir, String)> = OnceLock::new();
    &DS.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("ds").to_str().unwrap().to_string();
        let args = ["generate", "scenarios/caspers.toml", "--days", "2", "--quiet", "--out", &out];
        simkit_ok(&[&args[..], &["--set", "output.row_group_rows=3000"]].concat());
        (tmp, out)
    })
    .1
}

fn fingerprint() -> String {
    let text = std::fs::read_to_string(Path::new(dataset()).join("manifest.json")).unwrap();
    serde_json::from_str::<Value>(&text).unwrap()["fingerprint"].as_str().unwrap().to_string()
}

fn events() -> Vec<RecordBatch> {
    batches(&Path::new(dataset()).join("events.parquet"))
}

/// The expected record of every event, rendered from the Parquet values with
/// std formatting, serde_json escaping and the uuid crate.
fn expected_lines() -> Vec<String> {
    let ns = Uuid::new_v5(&Uuid::NAMESPACE_URL, b"https://simkit.dev/event");
    let fp = fingerprint();
    let f6 = |x: f32| format!("{:.6}", x as f64);
    let js = |s: &str| serde_json::to_string(s).unwrap();
    let mut out = Vec::new();
    for b in events() {
        let c = |n: &str| b.column_by_name(n).unwrap().clone();
        let ts = c("ts");
        let ts = ts.as_primitive::<TimestampMillisecondType>();
        let order = c("order_id");
        let order = order.as_string::<i32>();
        let loc = c("location_id");
        let loc = loc.as_primitive::<Int8Type>();
        let seq = c("sequence");
        let seq = seq.as_primitive::<Int16Type>();
        let et = arrow::compute::cast(&c("event_type"), &arrow::datatypes::DataType::Utf8).unwrap();
        let et = et.as_string::<i32>();
        let (clat, clon) = (c("customer_lat"), c("customer_lon"));
        let (clat, clon) = (clat.as_primitive::<Float32Type>(), clon.as_primitive::<Float32Type>());
        let addr = c("customer_addr");
        let addr = addr.as_string::<i32>();
        let items = c("items");
        let items = items.as_list::<i32>();
        let route = c("route");
        let route = route.as_list::<i32>();
        let (lat, lon, prog) = (c("lat"), c("lon"), c("progress_pct"));
        let (lat, lon, prog) =
            (lat.as_primitive::<Float32Type>(), lon.as_primitive::<Float32Type>(), prog.as_primitive::<Float32Type>());
        for i in 0..b.num_rows() {
            let body = match et.value(i) {
                "order_created" => {
                    let it = items.value(i);
                    let it = it.as_struct();
                    let id = it.column_by_name("item_id").unwrap().as_primitive::<Int16Type>();
                    let name = it.column_by_name("name").unwrap().as_string::<i32>();
                    let price = it.column_by_name("price").unwrap().as_primitive::<Decimal128Type>();
                    let qty = it.column_by_name("qty").unwrap().as_primitive::<Int8Type>();
                    let brand = it.column_by_name("brand_id").unwrap().as_primitive::<Int8Type>();
                    let list: Vec<String> = (0..it.len())
                        .map(|j| {
                            let cents = price.value(j);
                            format!(
                                r#"{{"id":{},"name":{},"price":{}.{:02},"qty":{},"brand_id":{}}}"#,
                                id.value(j),
                                js(name.value(j)),
                                cents / 100,
                                cents % 100,
                                qty.value(j),
                                brand.value(j)
                            )
                        })
                        .collect();
                    format!(
                        r#"{{"customer_lat":{},"customer_lon":{},"customer_addr":{},"items":[{}]}}"#,
                        f6(clat.value(i)),
                        f6(clon.value(i)),
                        js(addr.value(i)),
                        list.join(",")
                    )
                }
                "driver_picked_up" => {
                    let r = route.value(i);
                    let r = r.as_struct();
                    let la = r.column_by_name("lat").unwrap().as_primitive::<Float32Type>();
                    let lo = r.column_by_name("lon").unwrap().as_primitive::<Float32Type>();
                    let pts: Vec<String> =
                        (0..r.len()).map(|j| format!("[{},{}]", f6(la.value(j)), f6(lo.value(j)))).collect();
                    format!(r#"{{"route_points":[{}]}}"#, pts.join(","))
                }
                "driver_ping" => format!(
                    r#"{{"progress_pct":{:.2},"loc_lat":{},"loc_lon":{}}}"#,
                    prog.value(i) as f64,
                    f6(lat.value(i)),
                    f6(lon.value(i))
                ),
                "delivered" => {
                    format!(r#"{{"delivered_lat":{},"delivered_lon":{}}}"#, f6(lat.value(i)), f6(lon.value(i)))
                }
                _ => "{}".to_string(),
            };
            let id = Uuid::new_v5(&ns, format!("{fp}/{}/{}", order.value(i), seq.value(i)).as_bytes());
            let when = chrono::DateTime::from_timestamp_millis(ts.value(i)).unwrap();
            out.push(format!(
                r#"{{"event_id":"{id}","event_type":{},"ts":"{}","location_id":{},"order_id":{},"sequence":{},"body":{}}}"#,
                js(et.value(i)),
                when.format("%Y-%m-%d %H:%M:%S%.3f"),
                loc.value(i),
                js(order.value(i)),
                seq.value(i),
                js(&body)
            ));
        }
    }
    out
}

fn all_ts() -> Vec<i64> {
    events()
        .iter()
        .flat_map(|b| b.column_by_name("ts").unwrap().as_primitive::<TimestampMillisecondType>().values().to_vec())
        .collect()
}

fn ckpt(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("checkpoint.json")).unwrap()).unwrap()
}

/// All records of a `dir:` sink in offset order; the files must tile the offsets.
fn dir_lines(out: &Path) -> Vec<String> {
    let out = &out.join("events");
    let mut files: Vec<(u64, u64, PathBuf)> = std::fs::read_dir(out)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().to_string();
            let (a, b) = name.strip_prefix("events-")?.strip_suffix(".jsonl")?.split_once('-')?;
            Some((a.parse().unwrap(), b.parse().unwrap(), out.join(&name)))
        })
        .collect();
    files.sort();
    let mut next = 0;
    let mut lines = Vec::new();
    for (a, b, path) in files {
        assert_eq!(a, next, "files must tile the offsets without gaps or overlaps: {}", path.display());
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count() as u64, b - a, "{}", path.display());
        lines.extend(text.lines().map(String::from));
        next = b;
    }
    lines
}

#[test]
fn records_are_the_parquet_rows_in_the_documented_format() {
    let expected = expected_lines();
    let text = simkit_ok(&["replay", dataset(), "--start-day", "1", "--catch-up-to", "2030-01-01T23:59:59.999Z", "-q"]);
    let lines: Vec<&str> = text.lines().collect();
    let ts = all_ts();
    let start = chrono::DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z").unwrap().timestamp_millis();
    let due = ts.iter().filter(|&&t| t < start + 2 * 86_400_000 - 1).count();
    assert_eq!(lines.len(), due);
    assert!(due > 10_000 && due < ts.len(), "late deliveries after the last day are not due yet");
    for (i, (got, want)) in lines.iter().zip(&expected).enumerate() {
        assert_eq!(got, want, "record {i}");
    }
    // Keys in order, body a string of compact JSON, every type present.
    let first: Value = serde_json::from_str(lines[0]).unwrap();
    let keys = ["event_id", "event_type", "ts", "location_id", "order_id", "sequence", "body"];
    let mut at = 0;
    for k in keys {
        let p = lines[0].find(&format!("\"{k}\":")).unwrap();
        assert!(p >= at, "{k} out of order");
        at = p;
    }
    assert!(first["body"].is_string() && first["location_id"].is_i64() && first["sequence"].is_i64());
    let types: HashSet<String> = lines
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["event_type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(types.len(), 8, "{types:?}");
    for l in &lines {
        let v: Value = serde_json::from_str(l).unwrap();
        let body: Value = serde_json::from_str(v["body"].as_str().unwrap()).unwrap();
        assert!(body.is_object());
    }
}

#[test]
fn event_ids_are_stable_and_distinct() {
    let args = ["replay", dataset(), "--catch-up-to", "2024-01-01T18:00:00Z", "-q"];
    let a = simkit_ok(&args);
    let b = simkit_ok(&[&args[..], &["--threads", "1"]].concat());
    assert_eq!(a, b, "two replays give the same bytes, whatever the thread count");
    let ids: Vec<String> = a
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["event_id"].as_str().unwrap().to_string())
        .collect();
    assert!(ids.len() > 1_000);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len());
    assert!(ids.iter().all(|id| Uuid::parse_str(id).unwrap().get_version_num() == 5));
}

#[test]
fn available_now_twice_emits_only_new_events() {
    let tmp = tempfile::tempdir().unwrap();
    let (out, ck) = (tmp.path().join("out"), tmp.path().join("ck"));
    let sink = format!("dir:{}", out.display());
    let args = ["replay", dataset(), "--sink", &sink, "--checkpoint", ck.to_str().unwrap(), "--speed", "3600"];
    let first = simkit(&[&args[..], &["--catch-up-to", "2024-06-01T09:00:00Z", "--available-now"]].concat());
    let err = String::from_utf8_lossy(&first.stderr);
    assert!(first.status.success() && err.contains("events emitted"), "a summary line on stderr: {err}");
    let c1 = ckpt(&ck);
    let n1 = c1["events_emitted"].as_u64().unwrap();
    let p1 = c1["position_ms"].as_i64().unwrap();
    let ts = all_ts();
    assert_eq!(n1 as usize, ts.iter().filter(|&&t| t < p1).count());
    std::thread::sleep(Duration::from_millis(300));
    // Another --catch-up-to than the first run's is refused: it applies to a first run only.
    let other = simkit(&[&args[..], &["--catch-up-to", "2024-06-01T01:00:00Z", "-q"]].concat());
    assert_eq!(other.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&other.stderr).contains("it caught up to 2024-06-01T09:00:00Z"));
    assert_eq!(ckpt(&ck), c1, "a refused run leaves the checkpoint as it was");
    // The same one, or none, goes on: the position advances by elapsed wall time x 3600.
    simkit_ok(&[&args[..], &["--catch-up-to", "2024-06-01T09:00:00Z", "-q"]].concat());
    let c2 = ckpt(&ck);
    let (n2, p2) = (c2["events_emitted"].as_u64().unwrap(), c2["position_ms"].as_i64().unwrap());
    let elapsed = c2["wall_ms"].as_i64().unwrap() - c1["wall_ms"].as_i64().unwrap();
    assert_eq!(p2, p1 + elapsed * 3600);
    assert_eq!(n2 as usize, ts.iter().filter(|&&t| t < p2).count());
    assert!(n2 > n1, "300 ms at speed 3600 is 18 simulated minutes");
    assert_eq!(c2["pending"], Value::Null);
    let lines = dir_lines(&out);
    assert_eq!(lines.len() as u64, n2);
    let expected = expected_lines();
    assert_eq!(lines, expected[..n2 as usize]);
}

#[test]
fn sigkill_at_random_moments_loses_and_duplicates_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (out, ck) = (tmp.path().join("out"), tmp.path().join("ck"));
    let sink = format!("dir:{}", out.display());
    // --catch-up-to applies to whichever run is the first to commit a checkpoint.
    let noon = "2024-01-01T12:00:00Z";
    let base =
        ["replay", dataset(), "--sink", &sink, "--checkpoint", ck.to_str().unwrap(), "-q", "--catch-up-to", noon];
    // First run: catch up half a day; then the rest at 20,000x (about 8 s of wall time for 2 days).
    let first = [&base[..], &["--speed", "20000"]].concat();
    let follow = [&base[..], &["--speed", "20000", "--follow"]].concat();
    let now = [&base[..], &["--speed", "20000", "--available-now"]].concat();
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(20_240_101);
    let (mut kills, mut killed_while_pending) = (0, 0);
    for round in 0..40 {
        let args = match round {
            0 => &first,
            r if r % 3 == 2 => &now,
            _ => &follow,
        };
        // A publish delay widens the window between "pending" and "published".
        let delay = if round % 2 == 1 { "150" } else { "0" };
        let cmd = simkit_command(args, &[("SIMKIT_REPLAY_PUBLISH_DELAY_MS", delay)]);
        if run_and_kill(cmd, Duration::from_millis(rng.random_range(0..250))).0 {
            kills += 1;
            let c: Value = std::fs::read_to_string(ck.join("checkpoint.json"))
                .map(|t| serde_json::from_str(&t).unwrap())
                .unwrap_or(Value::Null);
            if c["pending"].is_object() {
                killed_while_pending += 1;
            }
        }
        if kills >= 25 {
            break;
        }
    }
    assert!(kills >= 20, "only {kills} runs were killed");
    eprintln!("{kills} kills, {killed_while_pending} with a pending batch");
    assert!(killed_while_pending >= 1, "no kill hit the pending window");
    // Resume to the end of the dataset.
    let finish = simkit(&[&base[..], &["--speed", "10000000", "--follow"]].concat());
    assert!(finish.status.success(), "{}", String::from_utf8_lossy(&finish.stderr));

    let lines = dir_lines(&out);
    let expected = expected_lines();
    assert_eq!(lines.len(), expected.len(), "every event once");
    let ids: HashMap<&str, usize> = lines.iter().enumerate().map(|(i, l)| (&l[13..49], i)).collect();
    assert_eq!(ids.len(), lines.len(), "no event id twice");
    assert_eq!(lines, expected, "the union of the files is exactly the dataset, in order");
    let leftovers: Vec<String> = std::fs::read_dir(out.join("events"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let c = ckpt(&ck);
    assert_eq!(c["events_emitted"].as_u64().unwrap() as usize, expected.len());
    assert_eq!(c["pending"], Value::Null);
}

#[test]
fn sigterm_stops_follow_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let (out, ck) = (tmp.path().join("out"), tmp.path().join("ck"));
    let sink = format!("dir:{}", out.display());
    let args = ["replay", dataset(), "--sink", &sink, "--checkpoint", ck.to_str().unwrap(), "--follow"];
    let mut child =
        simkit_command(&[&args[..], &["--speed", "600", "--catch-up-to", "2024-01-01T11:00:00Z"]].concat(), &[])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
    std::thread::sleep(Duration::from_millis(1_500));
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    let err = stderr_of(&mut child);
    assert!(status.success(), "exit 0 after SIGTERM: {err}");
    assert!(err.contains("stopped by signal"), "{err}");
    assert!(err.contains("sim 2024-01-01"), "status lines on stderr: {err}");
    let c = ckpt(&ck);
    assert_eq!(c["pending"], Value::Null);
    let lines = dir_lines(&out);
    assert_eq!(lines.len() as u64, c["events_emitted"].as_u64().unwrap());
    let ts = all_ts();
    let p = c["position_ms"].as_i64().unwrap();
    // Everything due by the committed position, plus at most what was due
    // within the release slack (2 ms of wall time = 1.2 s of simulated time).
    assert!(lines.len() >= ts.iter().filter(|&&t| t < p).count());
    assert!(lines.len() <= ts.iter().filter(|&&t| t < p + 1_200).count());
    assert!(lines.len() > ts.iter().filter(|&&t| t < 1_704_106_800_000).count(), "followed past the catch-up");
}

fn assert_error(args: &[&str], message: &str) {
    assert_fails_with(&simkit(args), message);
}

#[test]
fn errors_exit_2_with_a_message() {
    let tmp = tempfile::tempdir().unwrap();
    let ds = dataset();
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    assert_error(&["replay", empty.to_str().unwrap()], "not a simkit dataset");
    assert_error(&["replay", ds, "--speed", "0"], "--speed");
    assert_error(&["replay", ds, "--speed", "-3"], "--speed");
    assert_error(&["replay", ds, "--speed", "NaN"], "--speed");
    assert_error(&["replay", ds, "--speed", "fast"], "--speed");
    assert_error(&["replay", ds, "--available-now", "--follow"], "choose one");
    assert_error(&["replay", ds, "--catch-up-to", "tomorrow"], "RFC 3339");
    assert_error(&["replay", ds, "--start-day", "2"], "beyond the dataset");
    assert_error(&["replay", ds, "--sink", "kafka://127.0.0.1:9/t"], "--sink");
    let file = tmp.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    assert_error(&["replay", ds, "--sink", &format!("dir:{}/sub", file.display())], "cannot create");

    // A checkpoint made for another dataset.
    let other = tmp.path().join("other");
    let args = ["generate", "scenarios/caspers.toml", "--days", "1", "--quiet", "--set", "seed=7", "--out"];
    simkit_ok(&[&args[..], &[other.to_str().unwrap()]].concat());
    let ck = tmp.path().join("ck");
    let ck = ck.to_str().unwrap();
    let sink = format!("dir:{}", tmp.path().join("out").display());
    simkit_ok(&["replay", other.to_str().unwrap(), "--checkpoint", ck, "--sink", &sink, "-q"]);
    assert_error(&["replay", ds, "--checkpoint", ck, "--sink", &sink], "belongs to another dataset");
}

/// A copy of the 2-day dataset that a test may damage.
fn dataset_copy(dir: &Path) -> PathBuf {
    let copy = dir.join("copy");
    std::fs::create_dir_all(&copy).unwrap();
    for e in std::fs::read_dir(dataset()).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), copy.join(e.file_name())).unwrap();
    }
    copy
}

#[test]
fn a_damaged_dataset_is_refused_before_anything_is_emitted() {
    let tmp = tempfile::tempdir().unwrap();
    let ds = dataset_copy(tmp.path());
    let events = ds.join("events.parquet");
    let pristine = std::fs::read(&events).unwrap();
    let mut bytes = pristine.clone();
    bytes[pristine.len() / 3] ^= 0x10;
    std::fs::write(&events, &bytes).unwrap();
    let out = simkit(&["replay", ds.to_str().unwrap(), "--catch-up-to", "2024-01-01T12:00:00Z"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("events.parquet: its sha256 differs from manifest.json's"), "{err}");
    assert!(out.stdout.is_empty(), "nothing streamed from a damaged file");
    std::fs::write(&events, &pristine).unwrap();

    // An edited manifest field (the window's days) no longer matches the fingerprint.
    let manifest = ds.join("manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, text.replace("\"days\": 2", "\"days\": 30")).unwrap();
    let out = simkit(&["replay", ds.to_str().unwrap(), "--catch-up-to", "2024-01-01T12:00:00Z"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("manifest.json does not match its fingerprint: the manifest was edited"), "{err}");
    assert!(out.stdout.is_empty());

    // Edited so that the fingerprint agrees: the window, then the data, give it away.
    let m = simkit::sinks::manifest::Manifest::parse(&text, &manifest).unwrap();
    let write = |e: &mut simkit::sinks::manifest::Manifest| {
        e.fingerprint = e.compute_fingerprint();
        std::fs::write(&manifest, serde_json::to_string_pretty(e).unwrap()).unwrap();
        simkit(&["replay", ds.to_str().unwrap(), "--catch-up-to", "2024-01-01T12:00:00Z"])
    };
    let mut e = m.clone();
    e.scenario.days = 1;
    assert_fails_with(&write(&mut e), "window");
    let (start, end) = e.recomputed_window().unwrap();
    (e.scenario.start_ms, e.scenario.end_ms) = (start, end);
    let out = write(&mut e);
    assert_fails_with(&out, "the data does not fit manifest.json's window of 1 day from 2024-01-01");
    assert!(out.stdout.is_empty());
}

#[test]
fn broken_checkpoints_are_refused_with_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let ck = tmp.path().join("ck");
    let sink = format!("dir:{}", tmp.path().join("out").display());
    let args = [
        "replay",
        dataset(),
        "--sink",
        &sink,
        "--checkpoint",
        ck.to_str().unwrap(),
        "--catch-up-to",
        "2024-01-01T12:00:00Z",
    ];
    simkit_ok(&[&args[..], &["-q"]].concat());
    let good = ckpt(&ck);
    let start = good["position_ms"].as_i64().unwrap() - 12 * 3_600_000 - 86_400_000;
    let n = good["events_emitted"].as_u64().unwrap();
    let broken: Vec<(&str, Value)> = vec![
        ("lies before the dataset", serde_json::json!({ "position_ms": start - 86_400_000 })),
        (
            "past the dataset's end: it was made with --loop",
            serde_json::json!({ "position_ms": start + 400 * 86_400_000i64, "lap": 0 }),
        ),
        ("more than its position holds", serde_json::json!({ "events_emitted": n + 1 })),
        ("does not match its position", serde_json::json!({ "lap": 3 })),
        ("more than a day in the future", serde_json::json!({ "wall_ms": 4_000_000_000_000i64 })),
        (
            "its pending batch does not follow",
            serde_json::json!({ "pending": { "from": n + 5, "to": n + 9, "position_ms": 0, "wall_ms": 0 } }),
        ),
        ("--start-day 0 and --catch-up-to apply to a first run only", serde_json::json!({ "start_day": 1 })),
    ];
    for (why, patch) in broken {
        let mut c = good.clone();
        for (k, v) in patch.as_object().unwrap() {
            c[k] = v.clone();
        }
        let text = serde_json::to_string_pretty(&c).unwrap();
        std::fs::write(ck.join("checkpoint.json"), &text).unwrap();
        assert_error(&[&args[..], &["--start-day", "0"]].concat(), why);
        assert_eq!(std::fs::read_to_string(ck.join("checkpoint.json")).unwrap(), text, "{why}: the checkpoint is kept");
    }
    std::fs::write(ck.join("checkpoint.json"), "{ \"position_ms\": ").unwrap();
    assert_error(&args, "not a simkit replay checkpoint");
    let names: Vec<String> =
        std::fs::read_dir(&ck).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into()).collect();
    assert_eq!(names, ["checkpoint.json"], "no lock file or temp file is left behind");
}

#[test]
fn a_failed_first_run_leaves_no_checkpoint_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let ck = tmp.path().join("ck");
    let file = tmp.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let sink = format!("dir:{}/sub", file.display());
    assert_error(&["replay", dataset(), "--checkpoint", ck.to_str().unwrap(), "--sink", &sink], "cannot create");
    assert!(!ck.exists(), "the checkpoint directory this run created is gone");
    // A bad option is refused before the checkpoint is even opened.
    assert_error(&["replay", dataset(), "--checkpoint", ck.to_str().unwrap(), "--speed", "0"], "--speed");
    assert!(!ck.exists());
}

#[test]
fn a_huge_speed_with_loop_stops_at_the_lap_limit() {
    let tmp = tempfile::tempdir().unwrap();
    // A small dataset: one day of a few orders per location.
    let ds = tmp.path().join("small");
    let mut args = vec!["generate", "scenarios/caspers.toml", "--days", "1", "-q", "--out", ds.to_str().unwrap()];
    for code in ["sf", "sv", "bellevue", "chicago"] {
        args.extend(["--set", Box::leak(format!("locations.{code}.base_orders_per_day=5").into_boxed_str())]);
    }
    simkit_ok(&args);
    let n = simkit::sinks::manifest::Manifest::read(&ds).unwrap().tables["events"];
    let ck = tmp.path().join("ck");
    let run = |extra: &[&str]| {
        let base = [
            "replay",
            ds.to_str().unwrap(),
            "--checkpoint",
            ck.to_str().unwrap(),
            "--loop",
            "--catch-up-to",
            "2024-01-01T00:00:00Z",
        ];
        simkit(&[&base[..], extra].concat())
    };
    let first = run(&["-q"]);
    assert!(first.status.success());
    let limit = simkit::replay::MAX_LAPS_PER_RUN;
    for round in 1..=2u64 {
        let out = run(&["--speed", "1e15"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{err}");
        assert!(err.contains(&format!("(at most {limit} laps per run)")), "{err}");
        let c = ckpt(&ck);
        assert_eq!(c["events_emitted"].as_u64().unwrap(), round * limit * n, "round {round}");
        assert_eq!(c["lap"].as_u64().unwrap(), round * limit);
        let lines = String::from_utf8_lossy(&out.stdout).lines().count() as u64;
        let emitted_before =
            if round == 1 { String::from_utf8_lossy(&first.stdout).lines().count() as u64 } else { limit * n };
        assert_eq!(lines, round * limit * n - emitted_before, "round {round}: one run emits up to the limit");
    }
}

#[test]
fn the_default_speed_is_60() {
    let help = simkit_ok(&["replay", "--help"]);
    assert!(help.contains("[default: 60]"), "{help}");
}
