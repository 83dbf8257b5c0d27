//! Bad input: each case must fail with a clear message (file, line:column or
//! key, what was expected), exit code 2, no panic, and nothing left in the
//! output location.

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// A copy of the canonical scenario with `edit` applied, in `dir`, reading the repo's tables.
fn scenario(dir: &Path, edit: impl Fn(String) -> String) -> PathBuf {
    let text = std::fs::read_to_string(root().join("scenarios/caspers.toml")).unwrap();
    let tables = root().join("data/caspers");
    let text = text.replace("dir = \"../data/caspers\"", &format!("dir = {:?}", tables.to_str().unwrap()));
    let path = dir.join("scenario.toml");
    std::fs::write(&path, edit(text)).unwrap();
    path
}

/// 1-based line of the first line of the canonical scenario containing `needle`.
fn line_of(needle: &str) -> usize {
    let text = std::fs::read_to_string(root().join("scenarios/caspers.toml")).unwrap();
    text.lines().position(|l| l.contains(needle)).expect("needle in the scenario") + 1
}

/// Runs `generate` expecting failure; returns stderr after checking exit 2 and no output.
fn fails(dir: &Path, scenario: &Path, extra: &[&str]) -> String {
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

fn check(edit: impl Fn(String) -> String, extra: &[&str], expected: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let s = scenario(tmp.path(), edit);
    let err = fails(tmp.path(), &s, extra);
    for e in expected {
        assert!(err.contains(e), "expected {e:?} in: {err}");
    }
}

#[test]
fn malformed_toml() {
    let line = line_of("seed = 42");
    check(|t| t.replace("seed = 42", "seed = = 42"), &[], &[&format!("scenario.toml:{line}:8: invalid TOML")]);
}

#[test]
fn unknown_key() {
    check(
        |t| t.replace("profile = \"late_night\"", "profile = \"late_night\"\ncolour = \"red\""),
        &[],
        &[&format!(
            "scenario.toml:{}:1: locations.sv.colour: unknown field `colour`",
            line_of("profile = \"late_night\"") + 1
        )],
    );
}

#[test]
fn wrong_type() {
    check(
        |t| t.replace("base_orders_per_day = 200", "base_orders_per_day = \"many\""),
        &[],
        &["scenario.toml:", "locations.bellevue.base_orders_per_day: invalid type: string \"many\""],
    );
}

#[test]
fn impossible_values() {
    check(
        |t| t.replace("mean = 10.0, std = 3.0", "mean = 10.0, std = -3.0"),
        &[],
        &[
            &format!("scenario.toml:{}:49:", line_of("started_to_finished")),
            "lifecycle.started_to_finished.normal.std: expected a standard deviation >= 0, found -3",
        ],
    );
    check(
        |t| {
            t.replace(
                "start = \"17:00\", end = \"20:00\", multiplier = 3.5",
                "start = \"17:00\", end = \"16:00\", multiplier = 3.5",
            )
        },
        &[],
        &["demand.profiles.late_night.peaks.1.end: expected end after start"],
    );
    check(
        |t| t.replace("profile = \"standard\"", "profile = \"brunch\""),
        &[],
        &["locations.bellevue.profile: expected one of the profiles"],
    );
    check(|t| t.replace("days = 90", "days = 0"), &["--days", "0"], &["time.days: expected 1 ..= 36500 days"]);
    check(
        |t| t.replace("speed_mph = 25.0", "speed_mph = 0.0"),
        &[],
        &["driving.speed_mph: expected a speed in (0, 200] mph"],
    );
}

#[test]
fn bad_set_override() {
    check(
        |t| t,
        &["--set", "locations.sv.base_orders_per_day=-5"],
        &["(--set locations.sv.base_orders_per_day=-5)", "expected 0 ..= 1000000"],
    );
    check(|t| t, &["--set", "locations.sv.nonsense=1"], &["locations.sv.nonsense: unknown field"]);
    check(|t| t, &["--set", "novalue"], &["--set novalue: expected KEY=VALUE"]);
    check(|t| t, &["--osm", "paris=x.osm.pbf"], &["--osm paris=...: unknown location code"]);
}

/// Copies the canonical tables to `dir/tables`, letting `edit` change one file.
fn tables_with(dir: &Path, file: &str, edit: impl Fn(String) -> String) -> PathBuf {
    let t = dir.join("tables");
    std::fs::create_dir_all(&t).unwrap();
    for f in ["brands.csv", "menus.csv", "categories.csv", "items.csv", "brand_locations.csv"] {
        let text = std::fs::read_to_string(root().join("data/caspers").join(f)).unwrap();
        std::fs::write(t.join(f), if f == file { edit(text) } else { text }).unwrap();
    }
    t
}

fn check_tables(file: &str, edit: impl Fn(String) -> String, expected: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let t = tables_with(tmp.path(), file, edit);
    let s = scenario(tmp.path(), |text| {
        text.replace(
            &format!("dir = {:?}", root().join("data/caspers").to_str().unwrap()),
            &format!("dir = {:?}", t.to_str().unwrap()),
        )
    });
    let err = fails(tmp.path(), &s, &[]);
    for e in expected {
        assert!(err.contains(e), "expected {e:?} in: {err}");
    }
}

#[test]
fn missing_csv() {
    let tmp = tempfile::tempdir().unwrap();
    let s = scenario(tmp.path(), |t| {
        t.replace(&format!("dir = {:?}", root().join("data/caspers").to_str().unwrap()), "dir = \"nowhere\"")
    });
    let err = fails(tmp.path(), &s, &[]);
    assert!(err.contains("nowhere/brands.csv: cannot read table"), "{err}");
}

#[test]
fn csv_with_a_bad_row() {
    check_tables(
        "items.csv",
        |t| t.replace("Big Stack,8.08", "Big Stack,8.0.8"),
        &["items.csv:2:6: column `price`: expected a price like 8.08"],
    );
    check_tables(
        "items.csv",
        |t| t.replace("2,1,1,1,Quarter Poundish", "x,1,1,1,Quarter Poundish"),
        &["items.csv:3:1: column `id`"],
    );
    check_tables(
        "brand_locations.csv",
        |t| t.replace("1,15,1,0,,growing,0.2", "1,99,1,0,,growing,0.2"),
        &["brand_locations.csv:2:2: column `brand_id`: unknown brand id 99"],
    );
    // Brand 15 (PokeCraft, in San Francisco) loses every item: an empty menu.
    let no_items_for_15 =
        |t: String| t.lines().filter(|l| l.split(',').nth(3) != Some("15")).map(|l| format!("{l}\n")).collect();
    check_tables(
        "items.csv",
        no_items_for_15,
        &["brand_locations.csv:2:2: column `brand_id`: brand 15 has an empty menu"],
    );
    check_tables("items.csv", |t| t.replace("1,1,1,1,Big Stack", "1,1,1,1,Big Stack,extra"), &["items.csv:2"]);
}

fn with_extract(bytes: &[u8], name: &str, expected: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    let s = scenario(tmp.path(), |t| t);
    let osm = format!("sf={}", path.display());
    let err = fails(tmp.path(), &s, &["--osm", &osm]);
    for e in expected {
        assert!(err.contains(e), "expected {e:?} in: {err}");
    }
}

#[test]
fn corrupt_empty_and_truncated_extracts() {
    with_extract(b"", "empty.osm.pbf", &["empty.osm.pbf: the OSM extract is empty"]);
    with_extract(
        &[0x00, 0x00, 0x00, 0x0d, 0x0a, 0xff, 0x13, 0x37, 1, 2, 3, 4, 5, 6, 7, 8],
        "garbage.osm.pbf",
        &["garbage.osm.pbf:"],
    );
    with_extract(b"<osm><node id='1' lat='x'/></osm>", "bad.osm", &["bad.osm: 1:6: expected a <node>"]);
    with_extract(b"<html>nope</html>", "page.osm", &["page.osm: not an OSM XML file"]);
    let Some(reno) = osm_extract("reno.osm.pbf") else { return };
    let bytes = std::fs::read(reno).unwrap();
    with_extract(&bytes[..bytes.len() / 2], "truncated.osm.pbf", &["truncated.osm.pbf:"]);
}

#[test]
fn kitchen_outside_the_extract() {
    let Some(reno) = osm_extract("reno.osm.pbf") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let s = scenario(tmp.path(), |t| t);
    let err = fails(tmp.path(), &s, &["--osm", &format!("sf={}", reno.display())]);
    assert!(err.contains("location `sf`: the kitchen (37.791024, -122.392865) is"), "{err}");
    assert!(err.contains("outside the extract"), "{err}");
}

#[test]
fn radius_with_no_roads() {
    let Some(seattle) = osm_extract("seattle-triangle.osm") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let s = scenario(tmp.path(), |t| t);
    let args =
        ["--osm", &format!("bellevue={}", seattle.display()), "--set", "locations.bellevue.delivery_radius_m=150"];
    let err = fails(tmp.path(), &s, &args);
    assert!(err.contains("location `bellevue`: only"), "{err}");
    assert!(err.contains("drivable road nodes within 150 m"), "{err}");
}

#[test]
fn require_osm_forbids_the_synthetic_fallback() {
    let tmp = tempfile::tempdir().unwrap();
    let s = scenario(tmp.path(), |t| t);
    let err = fails(tmp.path(), &s, &["--require-osm"]);
    assert!(err.contains("--require-osm forbids the synthetic fallback"), "{err}");
}

#[test]
fn unwritable_output_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let s = scenario(tmp.path(), |t| t);
    let file = tmp.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let out = file.join("sub").join("out");
    let o = simkit(&["generate", s.to_str().unwrap(), "--days", "1", "-q", "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("cannot create the output directory"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "x");
}

#[test]
fn missing_scenario_and_not_a_dataset() {
    let o = simkit(&["generate", "does/not/exist.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("does/not/exist.toml: cannot read scenario"));
    let o = simkit(&["verify", "/nonexistent-dataset"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a simkit dataset"));
    let o = simkit(&["generate"]);
    assert_eq!(o.status.code(), Some(2), "usage errors exit 2 too");
}
