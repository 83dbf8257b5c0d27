//! Bad input: each case must fail with a clear message (file, line:column or
//! key, what was expected), exit code 2, no panic, and nothing left in the
//! output location.

mod common;

use std::path::{Path, PathBuf};

use common::*;

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

/// No message speaks Rust: no type names, no "struct", no variant paths.
fn assert_plain(err: &str) {
    for rust in ["f64", "u32", "i64", "usize", "struct ", "DistSpec", "LatLon", "enum ", "invalid type", "Option<"] {
        assert!(!err.contains(rust), "{rust:?} in: {err}");
    }
}

#[test]
fn unknown_key() {
    let line = line_of("profile = \"late_night\"") + 1;
    check(
        |t| t.replace("profile = \"late_night\"", "profile = \"late_night\"\ncolour = \"red\""),
        &[],
        &[&format!("scenario.toml:{line}:1: locations.sv.colour: unknown key `colour` (expected one of `address`")],
    );
    // A misspelt key gets a suggestion.
    check(
        |t| t.replace("daily_growth = 0.0135", "daily_grwth = 0.0135"),
        &[],
        &["locations.sv.daily_grwth: unknown key `daily_grwth`, did you mean `daily_growth`?"],
    );
}

#[test]
fn wrong_type_in_plain_words() {
    let tmp = tempfile::tempdir().unwrap();
    let s = scenario(tmp.path(), |t| t.replace("base_orders_per_day = 200", "base_orders_per_day = \"many\""));
    let err = fails(tmp.path(), &s, &[]);
    assert!(
        err.contains("locations.bellevue.base_orders_per_day: expected a number, found the string \"many\""),
        "{err}"
    );
    assert_plain(&err);
    let s = scenario(tmp.path(), |t| t.replace("id = 2\n", "id = 2.5\n"));
    let err = fails(tmp.path(), &s, &["--set", "seed=\"x\""]);
    assert!(err.contains("locations.sv.id: expected a whole number, found the number 2.5"), "{err}");
    assert!(err.contains("seed: expected a whole number, found the string \"x\""), "{err}");
    assert_plain(&err);
    let s = scenario(tmp.path(), |t| t.replace("{ beta = { a = 3.0, b = 3.0 } }", "{ gaussian = { mean = 1 } }"));
    let err = fails(tmp.path(), &s, &[]);
    assert!(
        err.contains("lifecycle.driver_arrival.fraction.gaussian: unknown key `gaussian` (expected one of `constant`"),
        "{err}"
    );
    assert_plain(&err);
}

#[test]
fn an_empty_file_lists_every_missing_key() {
    let tmp = tempfile::tempdir().unwrap();
    let s = scenario(tmp.path(), |_| String::new());
    let err = fails(tmp.path(), &s, &[]);
    // `time.days` comes from --days, so `time.start` is what is missing there.
    for key in ["name", "kind", "seed", "time.start", "demand", "locations", "tables", "basket", "lifecycle", "driving"]
    {
        assert!(err.contains(&format!("scenario.toml:1:1: {key}: missing required key")), "{key} in: {err}");
    }
    assert!(err.contains("10 problems"), "{err}");
    assert_plain(&err);
}

#[test]
fn every_number_is_finite() {
    check(
        |t| {
            t.replace(
                "{ normal = { mean = 2.0, std = 1.0, min = 0.1 } }",
                "{ normal = { mean = 2.0, std = 1.0, min = nan } }",
            )
        },
        &[],
        &[
            &format!("scenario.toml:{}:", line_of("created_to_started")),
            "lifecycle.created_to_started.normal.min: expected a finite number, found NaN",
        ],
    );
    check(
        |t| t.replace("base_orders_per_day = 300", "base_orders_per_day = inf"),
        &[],
        &["locations.chicago.base_orders_per_day: expected a finite number, found inf"],
    );
    check(
        |t| t,
        &["--set", "locations.sf.daily_growth=-inf"],
        &["(--set locations.sf.daily_growth=-inf)", "expected a finite number, found -inf"],
    );
}

#[test]
fn values_that_would_be_clamped_are_refused() {
    check(|t| t.replace("quantity = { uniform_int = { min = 1, max = 2 } }", "quantity = { uniform_int = { min = 0, max = 2 } }"), &[],
        &["basket.quantity.uniform_int: expected draws in 1 ..= 127 (a quantity); this distribution gives values from 0 to 2"]);
    check(
        |t| {
            t.replace(
                "items_per_brand = { uniform_int = { min = 1, max = 3 } }",
                "items_per_brand = { uniform_int = { min = -2, max = 3 } }",
            )
        },
        &[],
        &["basket.items_per_brand.uniform_int: expected draws in >= 1 (items per brand)"],
    );
    check(
        |t| t,
        &["--set", "basket.brands_per_order={ uniform_int = { min = 1, max = 4 } }"],
        &["expected draws in 1 ..= 3 (brands in an order)"],
    );
    check(
        |t| t,
        &["--set", "lifecycle.driver_arrival.fraction={ uniform = { min = 0, max = 2 } }"],
        &["lifecycle.driver_arrival.fraction.uniform: expected draws in 0 ..= 1"],
    );
    // A normal duration without a floor can be negative.
    check(|t| t.replace("{ normal = { mean = 6.0, std = 2.0, min = 0.1 } }", "{ normal = { mean = 6.0, std = 2.0 } }"), &[],
        &["lifecycle.ready_to_pickup.normal: expected draws in >= 0 (a duration in minutes); this distribution gives values from -74 to 86"]);
    check(
        |t| t,
        &["--set", "demand.noise={ uniform = { min = -0.5, max = 1.1 } }"],
        &["demand.noise.uniform: expected draws in >= 0"],
    );
}

#[test]
fn time_spans_and_volumes_are_bounded_before_running() {
    // A duration that would overflow every timestamp.
    check(|t| t, &["--set", "lifecycle.started_to_finished={ constant = { value = 1e300 } }"],
        &["lifecycle: the kitchen steps can last up to 1.000e300 minutes together; an order may take at most 10080 minutes (7 days)"]);
    // Noise or a weekday multiplier that would exhaust memory.
    check(
        |t| t,
        &["--set", "demand.noise={ uniform = { min = 0.9, max = 1e300 } }"],
        &[
            "locations.sf.base_orders_per_day: this location could take up to 1.",
            "orders on day ",
            "at most 65536 orders per location and day fit",
        ],
    );
    check(
        |t| t,
        &["--set", "demand.weekday_multipliers.sat=1e308"],
        &["demand.weekday_multipliers.sat: expected a multiplier in 0 ..= 1000"],
    );
    check(
        |t| t,
        &["--days", "36500", "--set", "locations.sf.base_orders_per_day=30000"],
        &["time.days: the scenario could produce up to", "at most 10,000,000,000 events per run"],
    );
    // A slow driver on a long route: the span including the drive.
    let slow = [
        "--set",
        "driving.speed_mph=1",
        "--set",
        "driving.ping_interval_s=1",
        "--set",
        "locations.sf.delivery_radius_m=20000",
    ];
    check(|t| t, &slow, &["location `sf`: the longest route would send", "at most 30000 pings per order"]);
}

#[test]
fn shapes_the_format_does_not_allow() {
    check(
        |t| t.replace("kitchen = { lat = 37.4029372, lon = -122.1107398 }", "kitchen = [37.4029372, -122.1107398]"),
        &[],
        &["locations.sv.kitchen: expected a table { lat, lon }, found an array"],
    );
    check(
        |t| t.replace("[locations.chicago]", "[[locations.chicago]]"),
        &[],
        &[
            "locations.chicago: expected a table",
            "found an array of tables (write `[locations.chicago]` once, not `[[locations.chicago]]`)",
        ],
    );
    check(
        |t| t,
        &["--osm", "sf=a.osm.pbf", "--osm", "sf=b.osm.pbf"],
        &["--osm sf=b.osm.pbf: location `sf` already has --osm sf=a.osm.pbf"],
    );
    check(|t| t.replace("timezone = \"America/Chicago\"", "timezone = \"America/Chicgo\""), &[],
        &["locations.chicago.timezone: expected an IANA time zone such as \"America/Los_Angeles\" or \"UTC\", found \"America/Chicgo\""]);
    check(
        |t| t.replace("timezone = \"America/Chicago\"\n", ""),
        &[],
        &["locations.chicago.timezone: missing required key (expected a string)"],
    );
}

#[test]
fn a_name_must_be_a_plain_identifier() {
    for bad in ["../x", "", "a/b", ".hidden"] {
        let tmp = tempfile::tempdir().unwrap();
        let s = scenario(tmp.path(), |t| t.replace("name = \"caspers\"", &format!("name = {bad:?}")));
        let out = simkit_command(&["generate", s.to_str().unwrap(), "--days", "1", "-q"], &[])
            .current_dir(tmp.path())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {err}");
        assert!(err.contains("name: expected a plain name (letters, digits, `_` and `-`)"), "{bad}: {err}");
        let entries: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(entries, vec![std::ffi::OsString::from("scenario.toml")], "{bad}: nothing written");
    }
}

#[test]
fn threads_are_capped_with_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = simkit(&[
        "generate",
        "scenarios/caspers.toml",
        "--days",
        "1",
        "--threads",
        "100000",
        "--out",
        out.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("warning: --threads 100000: capped at 256"), "{err}");
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
    // Refused at once: no bound is computed over four billion days.
    check(|t| t, &["--days", "4000000000"], &["time.days: expected 1 ..= 36500 days, found 4000000000"]);
    check(
        |t| t.replace("speed_mph = 25.0", "speed_mph = 0.0"),
        &[],
        &["driving.speed_mph: expected a speed in 1 ..= 200 mph, found 0"],
    );
    // Several problems are all listed, each at its place.
    let tmp = tempfile::tempdir().unwrap();
    let s = scenario(tmp.path(), |t| {
        t.replace("speed_mph = 25.0", "speed_mph = 0.0").replace("profile = \"standard\"", "profile = \"brunch\"")
    });
    let err = fails(tmp.path(), &s, &["--set", "output.zstd_level=99"]);
    assert!(err.contains("5 problems:"), "{err}");
    for problem in [
        "driving.speed_mph: expected",
        "locations.chicago.profile: expected one of the profiles",
        "(--set output.zstd_level=99): output.zstd_level: expected a zstd level in 1 ..= 22",
    ] {
        assert!(err.contains(problem), "{problem} in: {err}");
    }
}

#[test]
fn bad_set_override() {
    check(
        |t| t,
        &["--set", "locations.sv.base_orders_per_day=-5"],
        &["(--set locations.sv.base_orders_per_day=-5)", "expected 0 ..= 1000000"],
    );
    check(|t| t, &["--set", "locations.sv.nonsense=1"], &["locations.sv.nonsense: unknown key `nonsense`"]);
    check(|t| t, &["--set", "novalue"], &["--set novalue: expected KEY=VALUE"]);
    check(|t| t, &["--osm", "paris=x.osm.pbf"], &["--osm paris=x.osm.pbf: unknown location code"]);
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
    check_tables(
        "items.csv",
        |t| t.replace("2,1,1,1,Quarter Poundish", "x,1,1,1,Quarter Poundish"),
        &["items.csv:3:1: column `id`: expected a whole number, found \"x\""],
    );
}

#[test]
fn csv_headers_name_exactly_the_columns() {
    // A misspelt optional column would silently leave every end_day empty.
    check_tables(
        "brand_locations.csv",
        |t| t.replacen("end_day", "end_dya", 1),
        &["brand_locations.csv:1:5: unknown column `end_dya` (did you mean `end_day`?"],
    );
    check_tables(
        "brands.csv",
        |t| t.replacen(",cuisine_type", "", 1).replace(",Fast Food", ""),
        &["brands.csv:1: missing column `cuisine_type`"],
    );
    check_tables(
        "brands.csv",
        |t| t.replace("McDoodles,Fast Food,8", "McDoodles,Fast Food,NaN"),
        &["brands.csv:2:4: column `avg_prep_time_min`: expected a number of minutes >= 0"],
    );
}

#[test]
fn a_brand_is_at_a_kitchen_once_a_day() {
    check_tables(
        "brand_locations.csv",
        |t| format!("{t}99,15,1,10,20,growing,0.2\n"),
        &["brand_locations.csv:", "column `start_day`: brand 15 is already at location 1 on these days (line 2)"],
    );
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
