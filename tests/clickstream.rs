//! The clickstream kind: it generates, verifies and replays like every kind,
//! and its samples follow the scenario: users within the population, the
//! chain's first states, the click rate, the orphan share and the join
//! bound (read back from the Parquet here, not with simkit's code), days
//! independent of `--threads` and `--days N` a prefix; a broken bound in the
//! data is caught by verify.

mod common;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::TimestampMillisecondType;
use common::*;

fn scenario() -> PathBuf {
    root().join("scenarios/clickstream.toml")
}

fn generate_clicks(out: &Path, extra: &[&str]) {
    let s = scenario();
    simkit_ok(&[&["generate", s.to_str().unwrap(), "--out", out.to_str().unwrap(), "-q"], extra].concat());
}

fn column(dir: &Path, table: &str, name: &str) -> Vec<String> {
    let batches: Vec<RecordBatch> = batches(&dir.join(format!("{table}.parquet")));
    batches
        .iter()
        .flat_map(|b| {
            b.column_by_name(name)
                .unwrap()
                .as_string::<i32>()
                .iter()
                .map(|v| v.unwrap().to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

fn times(dir: &Path, table: &str, name: &str) -> Vec<i64> {
    let batches: Vec<RecordBatch> = batches(&dir.join(format!("{table}.parquet")));
    batches
        .iter()
        .flat_map(|b| b.column_by_name(name).unwrap().as_primitive::<TimestampMillisecondType>().values().to_vec())
        .collect()
}

#[test]
fn clickstream_samples_follow_the_scenario() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("c");
    generate_clicks(&dir, &["--days", "14"]);
    let out = simkit_ok(&["verify", dir.to_str().unwrap()]);
    assert!(out.contains("orphan clicks naming no impression"), "{out}");

    // Users within USER001 ..= USER100, all of them seen.
    let users: HashSet<String> = column(&dir, "events", "user_id").into_iter().collect();
    assert_eq!(users.len(), 100);
    assert!(users.iter().all(|u| u.len() == 7 && (1..=100).contains(&u[4..].parse::<u32>().unwrap())));

    // A session's first event follows the chain's start weights (0.7 page_view, 0.3 search).
    let (ids, kinds) = (column(&dir, "events", "event_id"), column(&dir, "events", "event_type"));
    let first: Vec<&String> = ids.iter().zip(&kinds).filter(|(id, _)| id.ends_with("-0001")).map(|(_, k)| k).collect();
    let views = first.iter().filter(|k| k.as_str() == "page_view").count() as f64 / first.len() as f64;
    assert!(
        first.len() > 20_000 && (views - 0.7).abs() < 0.02,
        "{views} of {} first events are page views",
        first.len()
    );
    assert!(first.iter().all(|k| k.as_str() == "page_view" || k.as_str() == "search"));

    // Clicks: 20 % of impressions, 2 % orphans, each genuine one within 600 s of its impression.
    let shown: HashMap<String, i64> = column(&dir, "impressions", "impression_id")
        .into_iter()
        .zip(times(&dir, "impressions", "impression_time"))
        .collect();
    let targets = column(&dir, "clicks", "impression_id");
    let click_times = times(&dir, "clicks", "click_time");
    let (mut genuine, mut orphans, mut max_delay) = (0usize, 0usize, 0i64);
    for (target, t) in targets.iter().zip(&click_times) {
        match shown.get(target) {
            Some(s) => {
                genuine += 1;
                max_delay = max_delay.max(t - s);
                assert!(t >= s, "a click before its impression");
            }
            None => orphans += 1,
        }
    }
    let rate = genuine as f64 / shown.len() as f64;
    let orphan_share = orphans as f64 / targets.len() as f64;
    assert!((rate - 0.2).abs() < 0.01, "click rate {rate}");
    assert!((orphan_share - 0.02).abs() < 0.006, "orphan share {orphan_share}");
    assert!(max_delay <= 600_000 && max_delay > 590_000, "longest delay {max_delay} ms");
    let clicked: HashSet<&String> = targets.iter().filter(|t| shown.contains_key(*t)).collect();
    assert_eq!(clicked.len(), genuine, "an impression is clicked at most once");
}

#[test]
fn clickstream_replays_one_folder_per_stream_and_is_deterministic() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, c) = (tmp.path().join("a"), tmp.path().join("b"), tmp.path().join("c"));
    generate_clicks(&a, &["--days", "3", "--threads", "1"]);
    generate_clicks(&b, &["--days", "3", "--threads", "2"]);
    generate_clicks(&c, &["--days", "2"]);
    for t in ["events", "impressions", "clicks"] {
        let file = format!("{t}.parquet");
        assert_eq!(std::fs::read(a.join(&file)).unwrap(), std::fs::read(b.join(&file)).unwrap(), "{t}: threads");
    }
    let (ia, ic) = (column(&a, "impressions", "impression_id"), column(&c, "impressions", "impression_id"));
    assert_eq!(&ia[..ic.len()], &ic[..], "--days 2 is a prefix of --days 3");
    let out = tmp.path().join("out");
    let sink = format!("dir:{}", out.display());
    simkit_ok(&[
        "replay",
        a.to_str().unwrap(),
        "--sink",
        &sink,
        "--start-day",
        "2",
        "--catch-up-to",
        "2024-01-01T00:00:00Z",
        "-q",
    ]);
    let mut folders: Vec<String> =
        std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect();
    folders.sort();
    assert_eq!(folders, ["clicks", "events", "impressions"]);
    let file = std::fs::read_dir(out.join("clicks")).unwrap().next().unwrap().unwrap().path();
    let line = std::fs::read_to_string(file).unwrap().lines().next().unwrap().to_string();
    assert!(line.starts_with("{\"click_id\":\"C20240101-") && !line.contains("orphan"), "{line}");
}

#[test]
fn a_delay_past_the_bound_is_refused_and_verify_catches_clicks_past_it() {
    let tmp = tempfile::tempdir().unwrap();
    let s = scenario();
    // A delay distribution beyond the bound is refused where it is written.
    let bad = tmp.path().join("bad.toml");
    let text = std::fs::read_to_string(&s).unwrap().replace("max_click_delay_s = 600.0", "max_click_delay_s = 60.0");
    std::fs::write(&bad, text).unwrap();
    let out = simkit(&["validate", bad.to_str().unwrap()]);
    assert_fails_with(&out, "ads.click_delay_s");
    // An edited bound is caught by the fingerprint; one re-fingerprinted (as a
    // forger would) meets the clicks that break it.
    let dir = tmp.path().join("c");
    generate_clicks(&dir, &["--days", "1"]);
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("\"max_click_delay_ms\": 600000", "\"max_click_delay_ms\": 60000")).unwrap();
    assert_fails_with(&simkit(&["verify", dir.to_str().unwrap()]), "the manifest was edited");
    let mut m = simkit::sinks::manifest::Manifest::read(&dir).unwrap();
    m.fingerprint = m.compute_fingerprint();
    std::fs::write(&path, serde_json::to_string_pretty(&m).unwrap()).unwrap();
    assert_fails_with(&simkit(&["verify", dir.to_str().unwrap()]), "after its impression; the bound is 60000 ms");
    // Sessions past midnight break a session span forged short; without the
    // fact (an older dataset) verify assumes the longest span any scenario allows.
    let forge = |span: Option<i64>| {
        let mut m = simkit::sinks::manifest::Manifest::read(&dir).unwrap();
        m.model.insert("max_click_delay_ms".into(), 600_000.into());
        match span {
            Some(ms) => m.model.insert("max_session_span_ms".into(), ms.into()),
            None => m.model.remove("max_session_span_ms"),
        };
        m.fingerprint = m.compute_fingerprint();
        std::fs::write(&path, serde_json::to_string_pretty(&m).unwrap()).unwrap();
    };
    forge(Some(i64::MAX));
    assert_fails_with(&simkit(&["verify", dir.to_str().unwrap()]), "lacks a valid `max_session_span_ms`");
    forge(Some(1));
    assert_fails_with(&simkit(&["verify", dir.to_str().unwrap()]), "lies outside the day it names and its lag");
    forge(None);
    simkit_ok(&["verify", dir.to_str().unwrap()]);
}

#[test]
fn the_clickstream_streams_in_pieces_with_and_without_its_disorder() {
    // The run streams a few days at a time, sessions and clicks past midnight
    // carried into the next piece (the pieces make the whole run: the model's
    // unit tests); its [disorder] section adds deliveries that cross pieces and
    // leaves the clean tables as they are.
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(scenario()).unwrap();
    let cut = text.find("[disorder.events]").unwrap();
    let rest = &text[cut..];
    let clean = tmp.path().join("clean.toml");
    std::fs::write(&clean, format!("{}{}", &text[..cut], &rest[rest.find("[output]").unwrap()..])).unwrap();
    let (a, b) = (tmp.path().join("clean"), tmp.path().join("disordered"));
    for (s, out) in [(clean, &a), (scenario(), &b)] {
        simkit_ok(&["generate", s.to_str().unwrap(), "--out", out.to_str().unwrap(), "-q", "--days", "30"]);
    }
    assert!(!a.join("events_delivered.parquet").exists() && b.join("events_delivered.parquet").exists());
    let (sessions, at) = (column(&a, "events", "session_id"), times(&a, "events", "event_time"));
    assert!(sessions.len() > 2 * 131_072, "{} events: several pieces", sessions.len());
    let past_midnight = sessions.iter().zip(&at).filter(|(s, t)| {
        let date = chrono::DateTime::from_timestamp_millis(**t).unwrap().format("%Y%m%d").to_string();
        s[1..9] != date
    });
    assert!(past_midnight.count() > 0, "some sessions run past midnight");
    for t in ["events", "impressions", "clicks"] {
        let file = format!("{t}.parquet");
        assert_eq!(std::fs::read(a.join(&file)).unwrap(), std::fs::read(b.join(&file)).unwrap(), "{t}");
    }
    simkit_ok(&["verify", a.to_str().unwrap()]);
    let report = simkit_ok(&["verify", b.to_str().unwrap()]);
    assert!(report.contains("deliveries in arrival order, truth recomputed"), "{report}");
}
