//! Real readers: pyarrow and DuckDB (from PyPI) must read the Parquet files
//! with the intended logical types and agree with the manifest. Needs
//! SIMKIT_PYTHON with both (`bash scripts/test.sh` provides it); without them
//! the test shows as ignored with the reason, unless SIMKIT_REQUIRE_READERS=1
//! makes it fail.

mod common;

use common::*;

/// A Python with pyarrow and DuckDB, or why there is none.
fn python() -> Result<String, String> {
    let python = std::env::var("SIMKIT_PYTHON").unwrap_or_else(|_| "python3".into());
    let imports = std::process::Command::new(&python).args(["-c", "import pyarrow, duckdb, jsonschema"]).output();
    match imports {
        Ok(o) if o.status.success() => Ok(python),
        _ => {
            Err(format!("{python} cannot import pyarrow, duckdb and jsonschema (pip install pyarrow duckdb jsonschema, or set SIMKIT_PYTHON)"))
        }
    }
}

fn main() -> std::process::ExitCode {
    let tests: &[(&'static str, fn())] = &[
        (
            "pyarrow_and_duckdb_read_the_dataset_with_the_intended_types",
            pyarrow_and_duckdb_read_the_dataset_with_the_intended_types,
        ),
        ("pyarrow_and_duckdb_read_the_weather_tables", pyarrow_and_duckdb_read_the_weather_tables),
        ("pyarrow_and_duckdb_read_the_retail_tables", pyarrow_and_duckdb_read_the_retail_tables),
        ("duckdb_joins_clicks_to_impressions_within_the_bound", duckdb_joins_clicks_to_impressions_within_the_bound),
        (
            "the_disorder_truth_recomputed_in_sql_and_python_equals_truth",
            the_disorder_truth_recomputed_in_sql_and_python_equals_truth,
        ),
        (
            "a_json_schema_validator_accepts_every_scenario_and_refuses_bad_ones",
            a_json_schema_validator_accepts_every_scenario_and_refuses_bad_ones,
        ),
        ("the_report_of_every_kind_matches_duckdb", the_report_of_every_kind_matches_duckdb),
    ];
    external_suite(python().map(|_| ()), env_flag("SIMKIT_REQUIRE_READERS"), tests)
}

/// Runs a checker script of tests/readers with `args`; returns its output, which must report success.
fn run_checker(script: &str, args: &[&std::path::Path], success: &str) -> String {
    let out = std::process::Command::new(python().unwrap())
        .arg(root().join("tests/readers").join(script))
        .args(args)
        .output()
        .expect("run python");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    assert!(text.contains(success), "{text}");
    text
}

/// Generates `scenario` (under scenarios/) into a temporary folder and runs `checker` on it.
fn check_kind(scenario: &str, checker: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ds");
    let scenario = root().join("scenarios").join(scenario);
    simkit_ok(&["generate", scenario.to_str().unwrap(), "--out", dir.to_str().unwrap(), "-q"]);
    run_checker(checker, &[&dir], "read with the intended types");
}

/// `simkit report` of a small dataset of every kind: its headline numbers
/// and first figure's series recomputed by DuckDB (tests/readers/check_report.py).
fn the_report_of_every_kind_matches_duckdb() {
    let tmp = tempfile::tempdir().unwrap();
    for (scenario, run) in REPORTED {
        let dir = tmp.path().join(scenario);
        generate_and_report(&dir, scenario, run);
        run_checker("check_report.py", &[&dir], "report numbers recomputed by DuckDB");
    }
}

fn pyarrow_and_duckdb_read_the_weather_tables() {
    check_kind("weather.toml", "check_weather.py");
}

fn pyarrow_and_duckdb_read_the_retail_tables() {
    check_kind("smoothie.toml", "check_retail.py");
}

fn duckdb_joins_clicks_to_impressions_within_the_bound() {
    check_kind("clickstream.toml", "check_clickstream.py");
}

/// truth/ recomputed by tests/readers/check_disorder.py, over disorder on
/// every other kind: the clickstream's events (as shipped) and impressions
/// with drops and nulls grouped by user; retail purchases with nulls and
/// duplicates grouped by product and membership, products (ids with a
/// timestamp) half dropped; weather reports (dates) a day late, grouped by station.
fn the_disorder_truth_recomputed_in_sql_and_python_equals_truth() {
    let cases: [(&str, &str, &[&str]); 3] = [
        (
            "clickstream.toml",
            "impressions",
            &[
                "time.days=2",
                "disorder.impressions.drop_share=0.02",
                "disorder.impressions.nulls.ad_id=0.05",
                "disorder.impressions.truth.keys=[\"user_id\"]",
            ],
        ),
        (
            "smoothie.toml",
            "purchases",
            &[
                "disorder.purchases.nulls.member_discount=0.2",
                "disorder.purchases.duplicates.share=0.1",
                "disorder.purchases.duplicates.delay_s.constant.value=5",
                "disorder.purchases.truth.keys=[\"product_id\", \"is_member\"]",
                "disorder.products.drop_share=0.5",
            ],
        ),
        (
            "weather.toml",
            "reports",
            &[
                "disorder.reports.late.share=0.3",
                "disorder.reports.late.delay_s.uniform.min=0",
                "disorder.reports.late.delay_s.uniform.max=86400",
                "disorder.reports.nulls.degrees=0.1",
                "disorder.reports.truth.keys=[\"station\"]",
                "disorder.reports.truth.window_s=[86400, 604800]",
            ],
        ),
    ];
    let tmp = tempfile::tempdir().unwrap();
    for (scenario, stream, sets) in cases {
        let dir = tmp.path().join(scenario);
        let scenario = root().join("scenarios").join(scenario);
        let mut args = vec!["generate", scenario.to_str().unwrap(), "--out", dir.to_str().unwrap(), "-q"];
        args.extend(sets.iter().flat_map(|s| ["--set", s]));
        simkit_ok(&args);
        let text = run_checker("check_disorder.py", &[&dir], "truth recomputed and equal");
        assert!(text.contains(&format!("disorder: {stream}:")), "{text}");
    }
}

fn a_json_schema_validator_accepts_every_scenario_and_refuses_bad_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let schema = tmp.path().join("simkit.schema.json");
    std::fs::write(&schema, simkit_ok(&["schema"])).unwrap();
    let mut files = vec![schema];
    files.extend(std::fs::read_dir(root().join("scenarios")).unwrap().map(|e| e.unwrap().path()));
    for kind in simkit::kinds::KINDS {
        let starter = tmp.path().join(format!("starter_{}.toml", kind.name));
        simkit_ok(&["new", kind.name, starter.to_str().unwrap()]);
        files.push(starter);
    }
    let args: Vec<&std::path::Path> = files.iter().map(|p| p.as_path()).collect();
    let text = run_checker("check_schema.py", &args, "scenario files accepted");
    assert!(text.contains(&format!("schema: {} scenario files accepted", files.len() - 1)), "{text}");
}

fn pyarrow_and_duckdb_read_the_dataset_with_the_intended_types() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("r");
    generate(&dir, &["--days", "2"]);
    let out = std::process::Command::new(python().unwrap())
        .arg(root().join("tests/readers/check_parquet.py"))
        .arg(&dir)
        .output()
        .expect("run python");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    assert!(text.contains("with the intended types"), "{text}");
}
