//! Disorder: the delivered streams follow the scenario's shares and delays
//! (read back from the Parquet here, not with simkit's code), the clean
//! tables are untouched, the runs are deterministic whatever the thread
//! count, replay emits every delivery once in arrival order, verify
//! recomputes the truth and catches a forged count, bad sections are
//! refused where they are written.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{Int16Type, TimestampMillisecondType};
use common::*;

fn clickstream() -> PathBuf {
    root().join("scenarios/clickstream.toml")
}

/// The shipped clickstream scenario without its `[disorder.events]` section.
fn clean_clickstream(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(clickstream()).unwrap();
    let start = text.find("[disorder.events]").expect("the scenario has disorder");
    let end = text.find("[output]").unwrap();
    let path = dir.join("clean.toml");
    std::fs::write(&path, format!("{}{}", &text[..start], &text[end..])).unwrap();
    path
}

fn gen(scenario: &Path, out: &Path, extra: &[&str]) {
    simkit_ok(&[&["generate", scenario.to_str().unwrap(), "--out", out.to_str().unwrap(), "-q"], extra].concat());
}

fn all(dir: &Path, table: &str) -> Vec<RecordBatch> {
    batches(&dir.join(format!("{table}.parquet")))
}

fn times(b: &[RecordBatch], col: &str) -> Vec<i64> {
    b.iter()
        .flat_map(|b| b.column_by_name(col).unwrap().as_primitive::<TimestampMillisecondType>().values().to_vec())
        .collect()
}

fn texts(b: &[RecordBatch], col: &str) -> Vec<Option<String>> {
    b.iter()
        .flat_map(|b| {
            b.column_by_name(col).unwrap().as_string::<i32>().iter().map(|v| v.map(String::from)).collect::<Vec<_>>()
        })
        .collect()
}

fn flags(b: &[RecordBatch], col: &str) -> Vec<bool> {
    b.iter()
        .flat_map(|b| b.column_by_name(col).unwrap().as_boolean().iter().map(|v| v.unwrap()).collect::<Vec<_>>())
        .collect()
}

#[test]
fn clickstream_deliveries_follow_the_scenario_and_leave_the_clean_table_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let (dirty, dirty2, clean) = (tmp.path().join("d"), tmp.path().join("d2"), tmp.path().join("c"));
    gen(&clickstream(), &dirty, &["--days", "3", "--threads", "1"]);
    gen(&clickstream(), &dirty2, &["--days", "3", "--threads", "2"]);
    gen(&clean_clickstream(tmp.path()), &clean, &["--days", "3"]);
    for f in ["events.parquet", "events_delivered.parquet", "truth/windows.parquet", "truth/watermarks.parquet"] {
        assert_eq!(std::fs::read(dirty.join(f)).unwrap(), std::fs::read(dirty2.join(f)).unwrap(), "{f}: threads");
    }
    for f in ["events.parquet", "impressions.parquet", "clicks.parquet"] {
        assert_eq!(
            std::fs::read(dirty.join(f)).unwrap(),
            std::fs::read(clean.join(f)).unwrap(),
            "{f}: disorder changed it"
        );
    }
    assert!(!clean.join("events_delivered.parquet").exists() && !clean.join("truth").exists());

    let d = all(&dirty, "events_delivered");
    let (arrival, event) = (times(&d, "arrival_time"), times(&d, "event_time"));
    let (late, dup_of, ids) = (flags(&d, "late"), texts(&d, "duplicate_of"), texts(&d, "event_id"));
    assert!(arrival.windows(2).all(|w| w[0] <= w[1]), "arrival order");
    let first_arrival: HashMap<&String, i64> = ids
        .iter()
        .zip(&dup_of)
        .zip(&arrival)
        .filter(|((_, dup), _)| dup.is_none())
        .map(|((id, _), &a)| (id.as_ref().unwrap(), a))
        .collect();
    let originals = first_arrival.len() as f64;
    let clean_rows = all(&clean, "events").iter().map(|b| b.num_rows()).sum::<usize>() as f64;
    assert_eq!(originals, clean_rows, "no drops declared: every record delivered once");
    let (mut late_n, mut dups) = (0.0, 0.0);
    for i in 0..d.iter().map(|b| b.num_rows()).sum() {
        let lag = arrival[i] - event[i];
        match (&dup_of[i], late[i]) {
            (Some(of), false) => {
                dups += 1.0;
                assert_eq!(Some(of), ids[i].as_ref(), "a duplicate names its own id");
                let again = arrival[i] - first_arrival[of];
                assert!((1_000..=120_000).contains(&again), "duplicate {again} ms after the first copy");
            }
            (None, true) => {
                late_n += 1.0;
                assert!((300_000..=1_800_000).contains(&lag), "late by {lag} ms");
            }
            (None, false) => assert!((0..=300_000).contains(&lag), "on time but {lag} ms after"),
            (Some(_), true) => panic!("a duplicate flagged late"),
        }
    }
    let late_share = late_n / originals;
    assert!((late_share - 0.1).abs() < 0.01, "late share {late_share}");
    let dup_share = dups / originals;
    assert!((dup_share - 0.01).abs() < 0.003, "duplicate share {dup_share}");
    assert!(simkit_ok(&["verify", dirty.to_str().unwrap()]).contains("truth recomputed"));
    let said = simkit_ok(&["validate", clickstream().to_str().unwrap()]);
    assert!(
        said.contains("disordered streams: events (out of order by up to 300 s, 10 % late, 1 % duplicated)"),
        "{said}"
    );
}

/// A copy of the canonical scenario with disorder on its events.
fn kitchen_disorder(dir: &Path) -> PathBuf {
    scenario(dir, |t| {
        format!(
            "{t}\n[disorder.events]\nout_of_order_s = 900\nlate = {{ share = 0.05, delay_s = {{ uniform = {{ min = 600.0, max = 3600.0 }} }} }}\n\
             duplicates = {{ share = 0.02, delay_s = {{ constant = {{ value = 30.0 }} }} }}\ndrop_share = 0.01\nnulls = {{ lat = 0.2 }}\n\
             truth = {{ keys = [\"location_id\", \"event_type\"], window_s = [300, 3600], watermark_s = [0, 600] }}\n"
        )
    })
}

/// `(order_id, sequence)` of every row of a kitchen events table.
fn event_keys(b: &[RecordBatch]) -> Vec<(String, i16)> {
    let ids = texts(b, "order_id").into_iter().map(Option::unwrap);
    let seqs =
        b.iter().flat_map(|b| b.column_by_name("sequence").unwrap().as_primitive::<Int16Type>().values().to_vec());
    ids.zip(seqs).collect()
}

#[test]
fn kitchen_disorder_changes_the_delivered_order_not_the_clean_table_and_replays_in_arrival_order() {
    let tmp = tempfile::tempdir().unwrap();
    let (dirty, clean) = (tmp.path().join("d"), tmp.path().join("c"));
    gen(&kitchen_disorder(tmp.path()), &dirty, &["--days", "2"]);
    gen(&scenario(tmp.path(), |t| t), &clean, &["--days", "2"]);
    assert_eq!(
        std::fs::read(dirty.join("events.parquet")).unwrap(),
        std::fs::read(clean.join("events.parquet")).unwrap()
    );
    let delivered = all(&dirty, "events_delivered");
    let ts = times(&delivered, "ts");
    assert!(ts.windows(2).any(|w| w[0] > w[1]), "deliveries out of event-time order");
    let m = simkit::sinks::manifest::Manifest::read(&dirty).unwrap();
    let c = &m.disorder["events"].counts;
    assert!(c.dropped > 0 && c.duplicates > 0 && c.late > 0, "{c:?}");
    assert_eq!(c.delivered, c.records - c.dropped + c.duplicates);
    simkit_ok(&["verify", dirty.to_str().unwrap()]);

    // Replay to files in two runs (a catch-up, then to the end): every
    // delivery once, in the delivered table's order.
    let (out, ckpt) = (tmp.path().join("out"), tmp.path().join("ckpt"));
    let sink = format!("dir:{}", out.display());
    let base = ["replay", dirty.to_str().unwrap(), "--sink", &sink, "--checkpoint", ckpt.to_str().unwrap(), "-q"];
    simkit_ok(&[&base[..], &["--start-day", "1", "--catch-up-to", "2024-01-01T12:00:00Z"]].concat());
    simkit_ok(&[&base[..], &["--speed", "1e12"]].concat());
    let mut files: Vec<PathBuf> = std::fs::read_dir(out.join("events")).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let (mut emitted, mut bodies, mut stamps) = (Vec::new(), Vec::new(), Vec::new());
    for f in files {
        for line in std::fs::read_to_string(f).unwrap().lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            emitted.push((v["order_id"].as_str().unwrap().to_string(), v["sequence"].as_i64().unwrap() as i16));
            bodies.push(v["body"].as_str().unwrap().to_string());
            stamps.push(v["ts"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(emitted, event_keys(&delivered), "replay emits the delivered table in order, once");
    // Due at its arrival, a record still says when the event happened.
    let event_times: Vec<String> = ts
        .iter()
        .map(|&t| chrono::DateTime::from_timestamp_millis(t).unwrap().format("%Y-%m-%d %H:%M:%S%.3f").to_string())
        .collect();
    assert_eq!(stamps, event_times, "a record's ts is its event time");
    // `lat` nulled in a fifth of the pings (the rows with a progress), null in their records' bodies.
    let pings: Vec<bool> = delivered
        .iter()
        .flat_map(|b| {
            let (lat, progress) = (b.column_by_name("lat").unwrap(), b.column_by_name("progress_pct").unwrap());
            (0..b.num_rows()).filter(|&i| progress.is_valid(i)).map(|i| lat.is_null(i)).collect::<Vec<_>>()
        })
        .collect();
    let share = pings.iter().filter(|&&n| n).count() as f64 / pings.len() as f64;
    assert!((share - 0.2).abs() < 0.02, "null lat share {share}");
    assert!(bodies.iter().any(|b| b.contains("\"loc_lat\":null")), "a ping without its latitude");
}

#[test]
fn verify_recomputes_the_truth_and_catches_a_forged_count() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    gen(&clickstream(), &dir, &["--days", "1"]);
    let mut m = simkit::sinks::manifest::Manifest::read(&dir).unwrap();
    m.disorder.get_mut("events").unwrap().counts.late += 1;
    m.fingerprint = m.compute_fingerprint();
    std::fs::write(dir.join("manifest.json"), serde_json::to_string_pretty(&m).unwrap()).unwrap();
    assert_fails_with(&simkit(&["verify", dir.to_str().unwrap()]), "counts differ from the manifest's");
}

#[test]
fn bad_disorder_sections_are_refused_where_they_are_written() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: [(&str, &str); 6] = [
        (
            "[disorder.evnts]\ndrop_share = 0.1\n",
            "disorder.evnts: expected a stream of this ghost_kitchen scenario (did you mean `events`?)",
        ),
        ("[disorder.events]\ndrop_share = 1.5\n", "disorder.events.drop_share: expected a share in 0 ..= 1, found 1.5"),
        ("[disorder.events]\nnulls = { customer_addr = 0.1 }\n", "expected a field that is not the time, key, id or a truth key (customer_lat, customer_lon, items, route, lat, lon, progress_pct)"),
        (
            "[disorder.events]\nlate = { share = 0.1, delay_s = { uniform = { min = 1.0, max = 100000.0 } } }\n",
            "disorder.events.late.delay_s.uniform",
        ),
        (
            "[disorder.events]\ntruth = { keys = [\"nope\"] }\n",
            "disorder.events.truth.keys.0: expected a column of the record",
        ),
        ("[disorder.events]\nlat = 0.1\n", "disorder.events.lat"),
    ];
    for (section, message) in cases {
        let s = scenario(tmp.path(), |t| format!("{t}\n{section}"));
        let err = fails(tmp.path(), &s, &[]);
        assert!(err.contains(message), "{section}: {err}");
        let line =
            std::fs::read_to_string(&s).unwrap().lines().position(|l| l == section.lines().next().unwrap()).unwrap()
                + 1;
        assert!(
            err.contains(&format!("scenario.toml:{line}:")) || err.contains(&format!("scenario.toml:{}:", line + 1)),
            "{section}: {err}"
        );
    }
    // Nulls on a clickstream key are refused; on a plain field they are fine.
    let text = std::fs::read_to_string(clickstream()).unwrap();
    let s = tmp.path().join("c.toml");
    std::fs::write(&s, text.replace("[output]", "[disorder.clicks]\nnulls = { impression_id = 0.1 }\n\n[output]"))
        .unwrap();
    assert!(fails(tmp.path(), &s, &[]).contains(
        "disorder.clicks.nulls.impression_id: expected a field that is not the time, key, id or a truth key"
    ));
}

#[test]
fn nulls_and_drops_are_labelled_in_the_delivered_table() {
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(clickstream()).unwrap();
    let s = tmp.path().join("c.toml");
    let section = "[disorder.impressions]\ndrop_share = 0.05\nnulls = { ad_id = 0.1 }\ntruth = { distinct = \"ad_id\" }\n\n[output]";
    std::fs::write(&s, text.replace("[output]", section)).unwrap();
    let dir = tmp.path().join("d");
    gen(&s, &dir, &["--days", "2"]);
    let d = all(&dir, "impressions_delivered");
    let ads = texts(&d, "ad_id");
    let null_share = ads.iter().filter(|a| a.is_none()).count() as f64 / ads.len() as f64;
    assert!((null_share - 0.1).abs() < 0.02, "null share {null_share}");
    let records = all(&dir, "impressions").iter().map(|b| b.num_rows()).sum::<usize>() as f64;
    let drop_share = 1.0 - ads.len() as f64 / records;
    assert!((drop_share - 0.05).abs() < 0.015, "drop share {drop_share}");
    assert!(d[0].schema().field_with_name("ad_id").unwrap().is_nullable());
    assert!(!d[0].schema().field_with_name("impression_id").unwrap().is_nullable());
    simkit_ok(&["verify", dir.to_str().unwrap()]);
    // The record says null where the table does.
    let out = tmp.path().join("out");
    let sink = format!("dir:{}", out.display());
    simkit_ok(&[
        "replay",
        dir.to_str().unwrap(),
        "--sink",
        &sink,
        "--stream",
        "impressions",
        "--start-day",
        "1",
        "--catch-up-to",
        "2024-01-01T23:00:00Z",
        "-q",
    ]);
    let text: String = std::fs::read_dir(out.join("impressions"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    let nulls = text.lines().filter(|l| l.contains("\"ad_id\":null")).count();
    let emitted = text.lines().count();
    assert_eq!(nulls, ads[..emitted].iter().filter(|a| a.is_none()).count(), "null records");
}
