//! `simkit report`: the page, its images and report.json for every kind;
//! its numbers against the manifest; where it may write and what it
//! refuses. `simkit preview`: expected totals and curves of every kind. (tests/readers.rs recomputes the numbers with DuckDB;
//! tests/browser.rs renders the page in Chromium.)

mod common;

use std::path::Path;

use common::*;

fn report_json(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("report/report.json")).unwrap()).unwrap()
}

/// Every element of the SVG closes: a well-formed XML document.
fn assert_well_formed(path: &Path) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut reader = quick_xml::Reader::from_str(&text);
    let mut depth = 0i64;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Start(_)) => depth += 1,
            Ok(quick_xml::events::Event::End(_)) => depth -= 1,
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("{}: {e}", path.display()),
        }
    }
    assert_eq!(depth, 0, "{}", path.display());
}

#[test]
fn every_kind_reports_its_figures_and_numbers() {
    let tmp = tempfile::tempdir().unwrap();
    for (scenario, run) in REPORTED {
        let dir = tmp.path().join(scenario);
        let args = generate_and_report(&dir, scenario, run);
        let said = simkit_ok(&["report", dir.to_str().unwrap()]);
        let r = report_json(&dir);
        let m: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
        assert_eq!(r["fingerprint"], m["fingerprint"], "{scenario}");
        let page = std::fs::read_to_string(dir.join("report/index.html")).unwrap();
        let figures = r["figures"].as_array().unwrap();
        assert!(figures.len() >= 3, "{scenario}: {} figures", figures.len());
        for f in figures {
            let svg = format!("{}.svg", f["id"].as_str().unwrap());
            assert!(page.contains(&format!("<img src=\"{svg}\"")), "{scenario}: {svg} on the page");
            assert_well_formed(&dir.join("report").join(&svg));
        }
        let files: Vec<&str> = r["files"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
        assert_eq!(files.len(), figures.len() + 1, "{scenario}: the page and an image per figure");
        for h in r["headline"].as_array().unwrap() {
            assert!(said.contains(h["name"].as_str().unwrap()), "{scenario}: {said}");
            assert!(page.contains(&format!("<th>{}</th>", h["name"].as_str().unwrap())), "{scenario}");
        }
        // The first figure counts the main table's rows by day: together, all of them.
        let (table, first) = match m["scenario"]["kind"].as_str().unwrap() {
            "ghost_kitchen" => ("orders", true),
            "retail" => ("purchases", true),
            "clickstream" => ("events", true),
            _ => ("reports", false),
        };
        if first {
            let points = figures[0]["chart"]["series"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|s| s["points"].as_array().unwrap().clone());
            let total: f64 = points.map(|p| p[1].as_f64().unwrap()).sum();
            assert_eq!(total, m["tables"][table].as_f64().unwrap(), "{scenario}: {table} per day add up");
        }
        // What an interrupted report leaves goes with the dataset too.
        std::fs::create_dir(dir.join(".report.partial-x")).unwrap();
        // The dataset with its report is still a dataset: verify passes, and generate replaces both.
        simkit_ok(&["verify", dir.to_str().unwrap()]);
        simkit_ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(!dir.join("report").exists(), "{scenario}: a new dataset, no stale report");
        assert!(!dir.join(".report.partial-x").exists(), "{scenario}: nothing of the old report left");
    }
}

#[test]
fn the_ghost_kitchen_report_shows_its_cities_and_durations() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ds");
    simkit_ok(&["generate", "scenarios/caspers.toml", "--days", "14", "--out", dir.to_str().unwrap(), "-q"]);
    simkit_ok(&["report", dir.to_str().unwrap(), "-q"]);
    let r = report_json(&dir);
    let ids: Vec<&str> = r["figures"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap()).collect();
    for id in [
        "orders_per_day",
        "orders_by_time_of_day",
        "prep_time",
        "driver_wait",
        "drive_time",
        "delivery_time",
        "basket_value",
    ] {
        assert!(ids.contains(&id), "{id} in {ids:?}");
    }
    let maps: Vec<&serde_json::Value> =
        r["figures"].as_array().unwrap().iter().filter(|f| f["chart"]["type"] == "map").collect();
    assert_eq!(maps.len(), 4, "a map per city");
    for m in maps {
        assert!(m["chart"]["street_segments"].as_u64().unwrap() > 100, "{m}");
        let svg =
            std::fs::read_to_string(dir.join("report").join(format!("{}.svg", m["id"].as_str().unwrap()))).unwrap();
        assert!(svg.matches("<polyline").count() > 100, "streets drawn");
    }
    let headline: Vec<&str> = r["headline"].as_array().unwrap().iter().map(|h| h["name"].as_str().unwrap()).collect();
    assert_eq!(headline, ["orders", "events", "events per order", "revenue", "mean delivery time"]);
}

#[test]
fn report_refuses_what_it_must_not_touch() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ds");
    simkit_ok(&["generate", "scenarios/weather.toml", "--days", "40", "--out", dir.to_str().unwrap(), "-q"]);
    // A folder named report that simkit did not write stays as it is.
    std::fs::create_dir(dir.join("report")).unwrap();
    std::fs::write(dir.join("report/notes.txt"), "mine").unwrap();
    assert_fails_with(&simkit(&["report", dir.to_str().unwrap()]), "is not a report simkit wrote");
    assert_eq!(std::fs::read_to_string(dir.join("report/notes.txt")).unwrap(), "mine");
    std::fs::remove_dir_all(dir.join("report")).unwrap();
    // A report is replaced by the next one, nothing else left behind.
    simkit_ok(&["report", dir.to_str().unwrap(), "-q"]);
    simkit_ok(&["report", dir.to_str().unwrap(), "-q"]);
    let names: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(names.iter().all(|n| !n.starts_with(".report")), "{names:?}");
    // A damaged dataset, a shard and a folder that is no dataset are refused.
    let reports = dir.join("reports.parquet");
    let mut bytes = std::fs::read(&reports).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&reports, bytes).unwrap();
    assert_fails_with(&simkit(&["report", dir.to_str().unwrap()]), "reports.parquet");
    let shard = tmp.path().join("shard");
    simkit_ok(&[
        "generate",
        "scenarios/weather.toml",
        "--days",
        "40",
        "--shard",
        "1/2",
        "--out",
        shard.to_str().unwrap(),
        "-q",
    ]);
    assert_fails_with(&simkit(&["report", shard.to_str().unwrap()]), "simkit merge");
    assert_fails_with(&simkit(&["report", tmp.path().to_str().unwrap()]), "manifest");
}

/// The sparkline of `label`'s line in a preview (after the 2 + 18 + 1 columns of its label).
fn sparkline_of(preview: &str, label: &str) -> Vec<char> {
    let line =
        preview.lines().find(|l| l.trim_start().starts_with(label)).unwrap_or_else(|| panic!("{label} in {preview}"));
    line.chars().skip(21).take(60).collect()
}

#[test]
fn preview_shows_every_kinds_totals_and_curves_before_generating() {
    let caspers = simkit_ok(&["preview", "scenarios/caspers.toml"]);
    // The expected orders add up to what validate announces, and nothing was written.
    let said = simkit_ok(&["validate", "scenarios/caspers.toml"]);
    let all = caspers
        .lines()
        .find(|l| l.trim_start().starts_with("all "))
        .unwrap()
        .split_whitespace()
        .last()
        .unwrap()
        .to_string();
    assert!(said.contains(&format!("about {all} orders")), "{all} in {said}");
    for city in ["San Francisco", "Silicon Valley", "Bellevue", "Chicago"] {
        assert!(caspers.contains(city), "{caspers}");
    }
    // NootroNourish opens in Silicon Valley on day 45: its share starts blank.
    let sv = &caspers[caspers.find(" Silicon Valley\n").unwrap()..];
    let nootro = sparkline_of(sv, "NootroNourish");
    assert!(nootro[..29].iter().all(|c| *c == ' ') && nootro[31..].iter().all(|c| *c != ' '), "{nootro:?}");
    // Five Gals leaves Chicago on day 60: its share ends blank.
    let chicago = &caspers[caspers.find(" Chicago\n").unwrap()..];
    let five = sparkline_of(chicago, "Five Gals");
    assert!(five[..39].iter().all(|c| *c != ' ') && five[41..].iter().all(|c| *c == ' '), "{five:?}");
    for (scenario, want) in [
        ("scenarios/smoothie.toml", "expected transactions"),
        ("scenarios/weather.toml", "mean temperature"),
        ("scenarios/clickstream.toml", "expected (before noise)"),
    ] {
        let out = simkit_ok(&["preview", scenario]);
        assert!(out.contains(want) && out.contains('█'), "{scenario}: {out}");
    }
    assert_fails_with(
        &simkit(&["preview", "scenarios/weather.toml", "--set", "stations.count=many"]),
        "stations.count",
    );
}

#[test]
fn preview_samples_each_streams_first_records_as_replay_emits_them() {
    let out = simkit_ok(&["preview", "scenarios/caspers.toml", "--sample", "3"]);
    let sample = &out[out.find("\nsample:").expect("a sample section")..];
    let records: Vec<serde_json::Value> =
        sample.lines().filter(|l| l.starts_with("  {")).map(|l| serde_json::from_str(l.trim()).unwrap()).collect();
    assert_eq!(records.len(), 3, "{sample}");
    assert!(records.iter().all(|r| r["event_id"].is_string() && r["order_id"].is_string()), "{sample}");
    assert_eq!(records[0]["event_type"], "order_created", "the first event of the first order");
    // A kind with several streams: each stream's own records.
    let out = simkit_ok(&["preview", "scenarios/clickstream.toml", "--sample", "2"]);
    for stream in ["\n events\n", "\n impressions\n", "\n clicks\n"] {
        let at = out.find(stream).unwrap_or_else(|| panic!("{stream:?} in {out}"));
        let lines: Vec<&str> = out[at + stream.len()..].lines().take_while(|l| l.starts_with("  {")).collect();
        assert_eq!(lines.len(), 2, "{stream}: {out}");
    }
}
