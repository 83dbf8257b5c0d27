//! Scenario kinds beside the ghost kitchen, and the authoring tools over the
//! kind registry: the weather kind generates, verifies and follows its model
//! (temperature and rain per month, no rain below the threshold), its bytes
//! do not depend on threads and `--days N` is a prefix; `simkit new` writes
//! starters that generate as written; `simkit validate` reports every
//! problem with its place; `simkit schema` covers every kind; every kind
//! shards and merges into the whole run.

mod common;

use std::path::{Path, PathBuf};

use arrow::array::AsArray;
use arrow::datatypes::{Date32Type, Float64Type};
use common::*;
use simkit::kinds::weather::{model, WeatherScenario};
use simkit::kinds::Model;

/// One weather report as read back from reports.parquet.
struct Report {
    date: i32,
    station: String,
    degrees: f64,
    raining: bool,
}

fn read_reports(dir: &Path) -> Vec<Report> {
    let mut out = Vec::new();
    for b in batches(&dir.join("reports.parquet")) {
        let date = b.column_by_name("date").unwrap().as_primitive::<Date32Type>();
        let station = b.column_by_name("station").unwrap().as_string::<i32>();
        let degrees = b.column_by_name("degrees").unwrap().as_primitive::<Float64Type>();
        let raining = b.column_by_name("raining").unwrap().as_boolean();
        for i in 0..b.num_rows() {
            out.push(Report {
                date: date.value(i),
                station: station.value(i).to_string(),
                degrees: degrees.value(i),
                raining: raining.value(i),
            });
        }
    }
    out
}

fn weather_toml() -> PathBuf {
    root().join("scenarios/weather.toml")
}

fn generate_weather(out: &Path, extra: &[&str]) -> String {
    let scenario = weather_toml();
    let mut args = vec!["generate", scenario.to_str().unwrap(), "--out", out.to_str().unwrap(), "-q"];
    args.extend_from_slice(extra);
    simkit_ok(&args)
}

fn weather_model(sets: &[&str]) -> WeatherScenario {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    match simkit::scenario::load(&weather_toml(), &simkit::scenario::Overrides::sets(&sets)).unwrap().model {
        Model::Weather(w) => w,
        _ => panic!("weather.toml is not a weather scenario"),
    }
}

#[test]
fn weather_generates_and_verifies_with_the_reference_records() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("w");
    generate_weather(&dir, &[]);
    let verified = simkit_ok(&["verify", dir.to_str().unwrap()]);
    assert!(verified.contains("5490 reports"), "{verified}");
    assert!(dir.join("report.proto").exists());
    let proto = std::fs::read_to_string(dir.join("report.proto")).unwrap();
    for field in ["string date", "string station", "double degrees", "bool raining"] {
        assert!(proto.contains(field), "{field} missing from report.proto");
    }
    let reports = read_reports(&dir);
    assert_eq!(reports.len(), 15 * 366);
    // 2000-01-01 is day 10957 since the epoch; stations A..O in order each day.
    assert_eq!((reports[0].date, reports[0].station.as_str()), (10957, "A"));
    assert_eq!((reports[14].date, reports[14].station.as_str()), (10957, "O"));
    assert_eq!((reports[15].date, reports[15].station.as_str()), (10958, "A"));
    assert!(reports.iter().all(|r| !r.raining || r.degrees >= 32.0), "rain below 32 F");
    assert!(reports.iter().any(|r| r.raining) && reports.iter().any(|r| r.degrees < 32.0));
}

#[test]
fn weather_bytes_do_not_depend_on_threads_and_days_are_a_prefix() {
    let tmp = tempfile::tempdir().unwrap();
    let (one, two, short) = (tmp.path().join("one"), tmp.path().join("two"), tmp.path().join("short"));
    generate_weather(&one, &["--threads", "1"]);
    generate_weather(&two, &["--threads", "2"]);
    generate_weather(&short, &["--days", "40"]);
    for file in ["reports.parquet", "stations.parquet", "manifest.json"] {
        assert_eq!(std::fs::read(one.join(file)).unwrap(), std::fs::read(two.join(file)).unwrap(), "{file}");
    }
    let (full, part) = (read_reports(&one), read_reports(&short));
    assert_eq!(part.len(), 15 * 40);
    for (a, b) in part.iter().zip(&full) {
        assert_eq!((a.date, &a.station, a.degrees, a.raining), (b.date, &b.station, b.degrees, b.raining));
    }
}

/// A run of several pieces (about a million reports each, written while
/// the next is simulated) verifies, dates and stations in place, and its
/// first days are a shorter run's.
#[test]
fn weather_streams_in_pieces_of_whole_days() {
    let tmp = tempfile::tempdir().unwrap();
    let (long, short) = (tmp.path().join("long"), tmp.path().join("short"));
    generate_weather(&long, &["--set", "stations.count=1000", "--days", "2200"]);
    generate_weather(&short, &["--set", "stations.count=1000", "--days", "1100"]);
    let out = simkit_ok(&["verify", long.to_str().unwrap()]);
    assert!(out.contains("2200000 reports, one per station per day for 1000 stations"), "{out}");
    let (a, b) = (read_reports(&long), read_reports(&short));
    assert_eq!(a.len(), 2_200_000);
    assert!(a[..b.len()]
        .iter()
        .zip(&b)
        .all(|(x, y)| (x.date, &x.station, x.degrees) == (y.date, &y.station, y.degrees)));
}

/// Per-month averages of a (day, station) layout: (temperature, rain share).
fn monthly(reports: &[Report]) -> Vec<(f64, f64)> {
    let mut sums = vec![(0.0, 0.0, 0u32); 12];
    for r in reports {
        let date = chrono::DateTime::from_timestamp(r.date as i64 * 86_400, 0).unwrap().date_naive();
        let s = &mut sums[chrono::Datelike::month0(&date) as usize];
        *s = (s.0 + r.degrees, s.1 + r.raining as u32 as f64, s.2 + 1);
    }
    sums.into_iter().map(|(t, r, n)| (t / n as f64, r / n as f64)).collect()
}

#[test]
fn weather_follows_its_model_month_by_month() {
    // Many stations, no cold threshold: every month's rain share has a closed form.
    let sets = ["stations.count=200", "rain.min_temp_f=-1000"];
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("w");
    let mut args: Vec<&str> = Vec::new();
    for s in &sets {
        args.extend(["--set", s]);
    }
    generate_weather(&dir, &args);
    let reports = read_reports(&dir);
    let w = weather_model(&sets);
    let stations = model::stations(&w);
    let months: Vec<usize> =
        (0..w.calendar.days).map(|d| chrono::Datelike::month0(&w.calendar.date(d)) as usize).collect();
    // Expected temperature: the recursion without noise (the noise has mean 0).
    let mut want_temp = [0.0; 12];
    let mut want_rain = [0.0; 12];
    let mut days_in = [0.0; 12];
    for st in &stations {
        let mut t = st.monthly_means_f[months[0]];
        for &m in &months {
            t = w.persistence * t + (1.0 - w.persistence) * st.monthly_means_f[m];
            want_temp[m] += t;
            // The chain's stationary share of rainy days.
            let p = st.rain_start[m].clamp(0.0, 1.0);
            want_rain[m] += p / (p + st.rain_stop);
            days_in[m] += 1.0;
        }
    }
    for (m, (temp, rain)) in monthly(&reports).into_iter().enumerate() {
        let (t, r) = (want_temp[m] / days_in[m], want_rain[m] / days_in[m]);
        assert!((temp - t).abs() < 1.5, "month {m}: mean {temp:.2} F, the model gives {t:.2} F");
        assert!((rain - r).abs() < 0.03, "month {m}: rain share {rain:.3}, the model gives {r:.3}");
    }
    // The reference's seasons: April rains most, January and August least.
    let shares: Vec<f64> = monthly(&reports).iter().map(|x| x.1).collect();
    assert!(shares[3] > shares[0] + 0.1 && shares[3] > shares[7] + 0.1, "{shares:?}");
}

#[test]
fn no_rain_below_the_threshold_and_verify_catches_a_broken_rule() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("w");
    generate_weather(&dir, &["--set", "rain.min_temp_f=60", "--days", "120"]);
    let reports = read_reports(&dir);
    assert!(reports.iter().all(|r| !r.raining || r.degrees >= 60.0));
    assert!(reports.iter().any(|r| r.raining));
    // The same data with a lower threshold in the manifest must fail verification
    // (the fingerprint catches the edit first).
    let path = dir.join("manifest.json");
    let text =
        std::fs::read_to_string(&path).unwrap().replace("\"rain_min_temp_f\": 60.0", "\"rain_min_temp_f\": 90.0");
    std::fs::write(&path, text).unwrap();
    assert_fails_with(&simkit(&["verify", dir.to_str().unwrap()]), "the manifest was edited");
}

#[test]
fn weather_refuses_road_flags() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("w");
    let out =
        simkit(&["generate", weather_toml().to_str().unwrap(), "--out", dir.to_str().unwrap(), "--osm", "a=x.osm"]);
    assert_fails_with(&out, "a weather scenario has no roads");
    assert!(!dir.exists());
}

#[test]
fn new_writes_starters_that_generate_as_written_and_never_overwrite() {
    let tmp = tempfile::tempdir().unwrap();
    for kind in simkit::kinds::KINDS.iter().map(|k| k.name) {
        let days = "1";
        let file = tmp.path().join(format!("my_{kind}.toml"));
        let wrote = simkit_ok(&["new", kind, file.to_str().unwrap()]);
        assert!(wrote.contains("wrote"), "{wrote}");
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.contains(&format!("name = \"my_{kind}\"")), "{text}");
        assert!(text.lines().filter(|l| l.trim_start().starts_with('#') || l.contains(" # ")).count() >= 5);
        let valid = simkit_ok(&["validate", file.to_str().unwrap()]);
        assert!(valid.contains(&format!("ok — kind {kind}")), "{valid}");
        let out = tmp.path().join(format!("out_{kind}"));
        simkit_ok(&["generate", file.to_str().unwrap(), "--out", out.to_str().unwrap(), "--days", days, "-q"]);
        simkit_ok(&["verify", out.to_str().unwrap()]);
        let before = std::fs::read(&file).unwrap();
        assert_fails_with(&simkit(&["new", kind, file.to_str().unwrap()]), "already exists");
        assert_eq!(std::fs::read(&file).unwrap(), before);
    }
    assert!(tmp.path().join("my_ghost_kitchen-tables/items.csv").exists());
    assert!(tmp.path().join("my_retail-tables/products.csv").exists());
    let bad = simkit(&["new", "wether", tmp.path().join("x.toml").to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("weather"), "{}", String::from_utf8_lossy(&bad.stderr));
    assert_fails_with(&simkit(&["new", "weather", tmp.path().join("bad name.toml").to_str().unwrap()]), "NAME.toml");
}

/// A copy of weather.toml edited by `edit`, in `dir`.
fn weather_variant(dir: &Path, edit: impl Fn(String) -> String) -> PathBuf {
    let path = dir.join("station.toml");
    std::fs::write(&path, edit(std::fs::read_to_string(weather_toml()).unwrap())).unwrap();
    path
}

#[test]
fn validate_reports_every_problem_with_its_place() {
    let tmp = tempfile::tempdir().unwrap();
    let path = weather_variant(tmp.path(), |t| {
        t.replace("count = 15 ", "cont = 15 ")
            .replace("persistence = 0.8 ", "persistence = \"high\" ")
            .replace("min_temp_f = 32.0", "min_temp_f = nan")
    });
    let out = simkit(&["validate", path.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "{err}");
    let line =
        |needle: &str| std::fs::read_to_string(&path).unwrap().lines().position(|l| l.contains(needle)).unwrap() + 1;
    for want in [
        format!("station.toml:{}:1: stations.cont: unknown key `cont`, did you mean `count`?", line("cont = 15")),
        format!("station.toml:{}:", line("persistence = \"high\"")),
        "temperature.persistence: expected a number".to_string(),
        "rain.min_temp_f".to_string(),
        "3 problems".to_string(),
    ] {
        assert!(err.contains(&want), "expected {want:?} in: {err}");
    }
    // Semantic problems, all at once, at their keys.
    let path = weather_variant(tmp.path(), |t| {
        t.replace("count = 15 ", "count = 0 ")
            .replace("[0.1, 0.1, 0.3, 0.5, 0.4, 0.2, 0.2, 0.1, 0.2, 0.2, 0.2, 0.1]", "[0.1, 0.1]")
            .replace("{ uniform = { min = 0.2, max = 0.4 } }", "{ uniform = { min = 0.2, max = 1.4 } }")
            .replace("persistence = 0.8 ", "persistence = 1.5 ")
    });
    let out = simkit(&["validate", path.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    for want in [
        "stations.count: expected 1 ..= 1000 stations, found 0",
        "rain.start_probability: expected 12 values (January to December), found 2",
        "rain.stop_probability.uniform: expected draws in 0 ..= 1 (a probability)",
        "temperature.persistence: expected a weight in 0 ..= 1, found 1.5",
        "4 problems",
    ] {
        assert!(err.contains(want), "expected {want:?} in: {err}");
    }
    // An unknown kind names the kinds there are.
    let path = weather_variant(tmp.path(), |t| t.replace("kind = \"weather\"", "kind = \"wether\""));
    assert_fails_with(&simkit(&["validate", path.to_str().unwrap()]), "did you mean \"weather\"?");
    // --set is validated the same way, and named.
    let out = simkit(&["validate", weather_toml().to_str().unwrap(), "--set", "stations.count=-3"]);
    assert_fails_with(&out, "--set stations.count=-3");
}

#[test]
fn schema_covers_every_kind_in_draft_2020_12() {
    let all: serde_json::Value = serde_json::from_str(&simkit_ok(&["schema"])).unwrap();
    assert_eq!(all["$schema"], "https://json-schema.org/draft/2020-12/schema");
    let kinds: Vec<&str> = simkit::kinds::KINDS.iter().map(|k| k.name).collect();
    assert_eq!(all["properties"]["kind"]["enum"], serde_json::json!(kinds));
    for k in &kinds {
        assert!(all["$defs"][k]["properties"]["seed"].is_object(), "{k}: no seed in its schema");
        let one: serde_json::Value = serde_json::from_str(&simkit_ok(&["schema", "--kind", k])).unwrap();
        assert_eq!(one["properties"]["kind"]["const"], *k);
    }
    // Every reference resolves inside the combined document.
    let text = all.to_string();
    for r in text.split("\"$ref\":\"#/$defs/").skip(1) {
        let name = &r[..r.find('"').unwrap()];
        assert!(all["$defs"][name].is_object(), "dangling $ref to {name}");
    }
}

/// Records a replay writes to a `dir:` sink: per stream, in file order.
fn replayed_dir(out: &Path) -> std::collections::BTreeMap<String, Vec<serde_json::Value>> {
    let mut streams = std::collections::BTreeMap::new();
    for folder in std::fs::read_dir(out).unwrap().map(|e| e.unwrap().path()) {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&folder).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        let records = files
            .iter()
            .flat_map(|f| {
                std::fs::read_to_string(f)
                    .unwrap()
                    .lines()
                    .map(|l| serde_json::from_str(l).unwrap())
                    .collect::<Vec<_>>()
            })
            .collect();
        streams.insert(folder.file_name().unwrap().to_string_lossy().to_string(), records);
    }
    streams
}

#[test]
fn weather_replays_its_reports_in_the_reference_json_and_as_protobuf() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("w");
    generate_weather(&dir, &["--days", "20"]);
    let ds = dir.to_str().unwrap();
    let window = ["--start-day", "19", "--catch-up-to", "2000-06-01T00:00:00Z"];
    let out = tmp.path().join("out");
    let sink = format!("dir:{}", out.display());
    simkit_ok(&[&["replay", ds, "--sink", &sink, "-q"], &window[..]].concat());
    let got = replayed_dir(&out);
    assert_eq!(got.keys().collect::<Vec<_>>(), ["reports"], "one folder per stream");
    let reports = read_reports(&dir);
    let want: Vec<&Report> = reports.iter().filter(|r| r.date < 10_957 + 19).collect();
    assert_eq!(got["reports"].len(), want.len());
    for (j, r) in got["reports"].iter().zip(&want) {
        let date = chrono::NaiveDate::from_num_days_from_ce_opt(r.date + 719_163).unwrap().to_string();
        assert_eq!(j["date"], date);
        assert_eq!(j["station"], r.station.as_str());
        assert_eq!(j["degrees"].as_f64().unwrap().to_bits(), r.degrees.to_bits(), "degrees read back exactly");
        assert_eq!(j["raining"], u8::from(r.raining), "raining is 1/0");
    }
    let folder = out.join("reports");
    let file = std::fs::read_dir(&folder).unwrap().next().unwrap().unwrap().path();
    let first = std::fs::read_to_string(file).unwrap().lines().next().unwrap().to_string();
    assert!(first.starts_with("{\"date\":\"2000-01-01\",\"station\":\"A\",\"degrees\":"), "{first}");
    assert!(first.ends_with(",\"raining\":0}") || first.ends_with(",\"raining\":1}"), "{first}");
    // Protobuf: length-delimited Report messages, one per report, in the same order.
    let pb = tmp.path().join("pb");
    simkit_ok(
        &[&["replay", ds, "--sink", &format!("dir:{}", pb.display()), "--format", "protobuf", "-q"], &window[..]]
            .concat(),
    );
    let file = std::fs::read_dir(pb.join("reports")).unwrap().next().unwrap().unwrap().path();
    assert!(file.to_string_lossy().ends_with(".binpb"), "{}", file.display());
    let bytes = std::fs::read(&file).unwrap();
    let mut input = protobuf::CodedInputStream::from_bytes(&bytes);
    let mut n = 0;
    while !input.eof().unwrap() {
        let len = input.read_raw_varint32().unwrap();
        let msg = input.read_raw_bytes(len).unwrap();
        let r = want[n];
        let mut m = protobuf::CodedInputStream::from_bytes(&msg);
        let (mut station, mut degrees, mut raining) = (String::new(), 0.0, false);
        while let Some(tag) = m.read_raw_tag_or_eof().unwrap() {
            match tag >> 3 {
                1 => assert!(m.read_string().unwrap().starts_with("2000-01-")),
                2 => station = m.read_string().unwrap(),
                3 => degrees = m.read_double().unwrap(),
                4 => raining = m.read_bool().unwrap(),
                other => panic!("unexpected field {other}"),
            }
        }
        assert_eq!(
            (station.as_str(), degrees.to_bits(), raining),
            (r.station.as_str(), r.degrees.to_bits(), r.raining)
        );
        n += 1;
    }
    assert_eq!(n, want.len());
}

#[test]
fn retail_streams_merge_by_time_select_with_stream_and_refuse_what_they_lack() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("s");
    let smoothie = root().join("scenarios/smoothie.toml");
    simkit_ok(&["generate", smoothie.to_str().unwrap(), "--out", dir.to_str().unwrap(), "--days", "14", "-q"]);
    let ds = dir.to_str().unwrap();
    let window = ["--start-day", "13", "--catch-up-to", "2024-01-01T23:00:00Z"];
    // Everything, merged: stdout in time order across streams.
    let text = simkit_ok(&[&["replay", ds, "-q"], &window[..]].concat());
    let merged: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let time = |r: &serde_json::Value| {
        r.get("transaction_time").or(r.get("event_time")).unwrap().as_str().unwrap().to_string()
    };
    assert!(merged.windows(2).all(|w| time(&w[0]) <= time(&w[1])), "records are merged by event time");
    assert!(merged[0].get("category").is_some(), "the catalogue comes first, at the start");
    let out = tmp.path().join("out");
    simkit_ok(&[&["replay", ds, "--sink", &format!("dir:{}", out.display()), "-q"], &window[..]].concat());
    let per_stream = replayed_dir(&out);
    assert_eq!(per_stream.values().map(Vec::len).sum::<usize>(), merged.len());
    for (stream, records) in per_stream.iter().filter(|(_, r)| !r.is_empty()) {
        let one = simkit_ok(&[&["replay", ds, "--stream", stream.as_str(), "-q"], &window[..]].concat());
        let one: Vec<serde_json::Value> = one.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(&one, records, "--stream {stream} is that stream's part of the merge");
    }
    let purchases = &per_stream["purchases"];
    assert!(purchases.len() > 1000 && purchases[0]["transaction_time"].as_str().unwrap().ends_with("000"));
    assert!(purchases[0]["price"].is_number() && purchases[0]["is_member"].is_boolean());
    // What a dataset lacks is a clear error, exit 2.
    assert_fails_with(&simkit(&["replay", ds, "--stream", "purchase"]), "did you mean `purchases`?");
    assert_fails_with(&simkit(&["replay", ds, "--format", "protobuf"]), "has no protobuf message");
    assert_fails_with(&simkit(&["replay", ds, "--sink", "kafka://127.0.0.1:9/demo"]), "demo.{stream}");
    // A checkpoint belongs to one selection.
    let ck = tmp.path().join("ck");
    let ck = ck.to_str().unwrap();
    simkit_ok(&[&["replay", ds, "--stream", "purchases", "--checkpoint", ck, "-q"], &window[..]].concat());
    assert_fails_with(&simkit(&["replay", ds, "--checkpoint", ck]), "belongs to --stream purchases");
    // --loop: lap 1 shifts times and suffixes transaction ids.
    let looped = simkit_ok(&[
        "replay",
        ds,
        "--stream",
        "purchases",
        "--loop",
        "--start-day",
        "13",
        "--speed",
        "1e12",
        "--checkpoint",
        ck,
        "-q",
    ]);
    let lap1: Vec<serde_json::Value> = looped
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|r: &serde_json::Value| r["transaction_id"].as_str().unwrap().ends_with("-1"))
        .collect();
    assert!(!lap1.is_empty(), "lap 1 was replayed with suffixed transaction ids");
}

#[test]
fn edited_streams_are_refused_by_verify_and_replay() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("w");
    generate_weather(&dir, &["--days", "3"]);
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("\"as\": \"bool01\""), "the manifest declares the streams");
    std::fs::write(&path, text.replace("\"as\": \"bool01\"", "\"as\": \"bool\"")).unwrap();
    assert_fails_with(&simkit(&["verify", dir.to_str().unwrap()]), "the streams differ");
    assert_fails_with(&simkit(&["replay", dir.to_str().unwrap()]), "manifest.json's streams differ");
}

#[test]
fn retail_follow_releases_every_stream_in_time_order_to_the_end() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("s");
    let smoothie = root().join("scenarios/smoothie.toml");
    simkit_ok(&["generate", smoothie.to_str().unwrap(), "--out", dir.to_str().unwrap(), "--days", "4", "-q"]);
    let ds = dir.to_str().unwrap();
    let ck = tmp.path().join("ck");
    let (followed, whole) = (tmp.path().join("followed"), tmp.path().join("whole"));
    let sink = format!("dir:{}", followed.display());
    let first = ["replay", ds, "--sink", &sink, "--checkpoint", ck.to_str().unwrap(), "-q"];
    simkit_ok(&[&first[..], &["--start-day", "1", "--catch-up-to", "2024-01-01T12:00:00Z"]].concat());
    // Follow at a high speed: the rest of the dataset, released one record at a time.
    simkit_ok(&[&first[..], &["--speed", "5e7", "--follow"]].concat());
    let ck2 = tmp.path().join("ck2");
    let bulk =
        ["replay", ds, "--sink", &format!("dir:{}", whole.display()), "--checkpoint", ck2.to_str().unwrap(), "-q"];
    simkit_ok(&[&bulk[..], &["--catch-up-to", "2024-01-01T00:00:00Z"]].concat());
    simkit_ok(&[&bulk[..], &["--speed", "1e12"]].concat());
    let (got, want) = (replayed_dir(&followed), replayed_dir(&whole));
    assert!(want["purchases"].len() > 1000);
    assert_eq!(got, want, "catch-up then follow emit every record of every stream once, as one catch-up does");
}

fn scaled(file: &str, sets: &[&str], scale: Option<f64>) -> simkit::error::Result<simkit::scenario::Scenario> {
    let over = simkit::scenario::Overrides { sets: sets.iter().map(|s| s.to_string()).collect(), scale };
    simkit::scenario::load(&root().join("scenarios").join(file), &over)
}

/// `--scale K` multiplies every kind's volumes and nothing else; the hash
/// covers it, the limits apply to the scaled values and say so.
#[test]
fn scale_multiplies_every_kinds_volumes() {
    let summary = |file: &str, k: Option<f64>| scaled(file, &[], k).unwrap().model.summary();
    let cases = [
        ("caspers.toml", "about 75,913 orders", "about 759,127 orders"),
        ("smoothie.toml", "about 8,564 transactions", "about 85,639 transactions"),
        ("weather.toml", "15 stations x 366 days", "150 stations x 366 days"),
        (
            "clickstream.toml",
            "100 users, 20 ads, about 2,000 sessions and 3,000 impressions",
            "1000 users, 20 ads, about 20,000 sessions and 30,000 impressions",
        ),
    ];
    for (file, one, ten) in cases {
        assert!(summary(file, None).contains(one), "{file}: {}", summary(file, None));
        assert!(summary(file, Some(10.0)).contains(ten), "{file} x 10: {}", summary(file, Some(10.0)));
        let (a, b) = (scaled(file, &[], None).unwrap(), scaled(file, &[], Some(10.0)).unwrap());
        assert_ne!(a.hash, b.hash, "{file}: the hash covers --scale");
    }
    // The shop's stock grows with it; a gap distribution is divided.
    let retail = |sets: &[&str], k| match scaled("smoothie.toml", sets, k).unwrap().model {
        Model::Retail(r) => r,
        _ => panic!("smoothie.toml is a retail scenario"),
    };
    let (one, four) = (retail(&[], None), retail(&[], Some(4.0)));
    assert_eq!((four.restock_threshold, four.restock_quantity), (one.restock_threshold * 4, one.restock_quantity * 4));
    assert_eq!(four.profile, one.profile, "curves are not volumes");
    // The interval form (a key --set cannot remove): written to a file.
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join("scenarios/smoothie.toml"))
        .unwrap()
        .replace("transactions_per_day = 260", "interval_s = { uniform = { min = 2.0, max = 5.0 } }");
    let text = text.replace("../data/", &format!("{}/data/", root().display()));
    let file = tmp.path().join("gaps.toml");
    std::fs::write(&file, text).unwrap();
    let gap = |k| {
        let over = simkit::scenario::Overrides { sets: vec![], scale: k };
        match simkit::scenario::load(&file, &over).unwrap().model {
            Model::Retail(r) => match r.arrivals {
                simkit::kinds::retail::Arrivals::Interval(d) => d.bounds(),
                _ => panic!("interval arrivals"),
            },
            _ => panic!("retail"),
        }
    };
    assert_eq!(gap(None), (2.0, 5.0));
    assert_eq!(gap(Some(2.0)), (1.0, 2.5));
    // A count stays at least 1; a scaled value past a limit is named with the scale.
    let tiny = scaled("weather.toml", &[], Some(0.001)).unwrap().model.summary();
    assert!(tiny.contains("1 stations"), "{tiny}");
    let err = scaled("weather.toml", &[], Some(100.0)).err().unwrap().0;
    assert!(
        err.contains("stations.count: expected 1 ..= 1000 stations, found 1500 (the file's value x --scale 100)"),
        "{err}"
    );
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let err = scaled("caspers.toml", &[], Some(bad)).err().unwrap().0;
        assert!(err.contains("expected a number > 0"), "{bad}: {err}");
    }
    // On the command line: exit 2 and the same message.
    let out = simkit(&["validate", "scenarios/weather.toml", "--scale", "-2"]);
    assert_fails_with(&out, "--scale -2: expected a number > 0");
}

/// Every kind shards: N shards of whole days merge into the run generated
/// whole, byte for byte, for N = 1, 3 and 7. The shop's stock and the
/// weather's series carry from day to day and the clickstream's sessions
/// and clicks run past midnight, so each shard starts from what came
/// before it. Tables written whole are in shard 1 alone.
#[test]
fn every_kind_shards_and_merges_into_the_whole_run() {
    let tmp = tempfile::tempdir().unwrap();
    let clickstream = std::fs::read_to_string(root().join("scenarios/clickstream.toml")).unwrap();
    let clean = tmp.path().join("clickstream-clean.toml");
    std::fs::write(&clean, &clickstream[..clickstream.find("[disorder").unwrap()]).unwrap();
    let kinds = [
        ("scenarios/smoothie.toml", "20", "products.parquet"),
        ("scenarios/weather.toml", "400", "stations.parquet"),
        (clean.to_str().unwrap(), "10", ""),
    ];
    for (scenario, days, whole_table) in kinds {
        let dir = tmp.path().join(Path::new(scenario).file_stem().unwrap());
        std::fs::create_dir(&dir).unwrap();
        let run = ["--days", days, "--set", "output.row_group_rows=3001"];
        for n in [1, 3, 7] {
            let shards = assert_shards_merge_into_the_whole_run(&dir, scenario, &run, n);
            let first = simkit::sinks::manifest::Manifest::read(&shards[0]).unwrap();
            assert!(first.shard.is_some(), "{scenario}: a shard's manifest says so");
            for later in &shards[1..] {
                let m = simkit::sinks::manifest::Manifest::read(later).unwrap();
                let names: Vec<&String> = m.files.keys().collect();
                assert!(names.iter().all(|f| f.contains("/part-")), "{scenario}: {names:?} beyond shard 1");
            }
            assert!(whole_table.is_empty() || first.files.contains_key(whole_table), "{scenario}: shard 1");
        }
    }
}

/// A disordered run shards too: each shard simulates the days around its
/// own, so deliveries that arrive past midnight, truth windows longer than
/// a day (which straddle shards) and joins that reach back all land where
/// the run in one piece puts them. Every kind, N = 1, 3 and 7, byte for
/// byte: the delivered tables, every truth table and the manifest's counts.
#[test]
fn every_kind_shards_with_disorder_into_the_whole_run() {
    let tmp = tempfile::tempdir().unwrap();
    let late = |stream: &str, share: f64, max_s: f64| {
        format!(
            "disorder.{stream}.late={{ share = {share}, delay_s = {{ uniform = {{ min = 60.0, max = {max_s} }} }} }}"
        )
    };
    let dup = |stream: &str| {
        format!(
            "disorder.{stream}.duplicates={{ share = 0.05, delay_s = {{ uniform = {{ min = 1.0, max = 900.0 }} }} }}"
        )
    };
    let retail = [
        late("purchases", 0.2, 20_000.0),
        dup("purchases"),
        "disorder.purchases.drop_share=0.01".into(),
        "disorder.purchases.out_of_order_s=900".into(),
        "disorder.purchases.truth={ keys = [\"product_id\"], window_s = [3600, 86400] }".into(),
        "disorder.products.out_of_order_s=60".into(),
    ];
    let weather = [
        late("reports", 0.3, 86_400.0),
        dup("reports"),
        "disorder.reports.truth={ keys = [\"station\"], window_s = [86400, 604800], watermark_s = [0, 3600] }".into(),
    ];
    let kitchen = [late("events", 0.1, 7200.0), dup("events"), "disorder.events.out_of_order_s=600".into()];
    let kinds: [(&str, &str, &[String]); 4] = [
        ("scenarios/clickstream.toml", "10", &[]),
        ("scenarios/smoothie.toml", "20", &retail),
        ("scenarios/weather.toml", "60", &weather),
        ("scenarios/caspers.toml", "8", &kitchen),
    ];
    for (scenario, days, sets) in kinds {
        let dir = tmp.path().join(Path::new(scenario).file_stem().unwrap());
        std::fs::create_dir(&dir).unwrap();
        let mut run = vec!["--days", days, "--set", "output.row_group_rows=3001"];
        run.extend(sets.iter().flat_map(|s| ["--set", s.as_str()]));
        for n in [1, 3, 7] {
            let shards = assert_shards_merge_into_the_whole_run(&dir, scenario, &run, n);
            let whole = simkit::sinks::manifest::Manifest::read(&dir.join("whole")).unwrap();
            assert!(!whole.disorder.is_empty(), "{scenario}: disordered");
            for (i, shard) in shards.iter().enumerate() {
                let m = simkit::sinks::manifest::Manifest::read(shard).unwrap();
                let truth = format!("truth/windows/part-{:05}-of-{n:05}.parquet", i + 1);
                assert!(m.files.contains_key(&truth), "{scenario}: shard {} of {n} has its truth", i + 1);
            }
        }
    }
}
