//! The PySpark streaming source shipped with every dataset
//! (generator/replay/replay_source.py) against `simkit replay`, through
//! tests/spark/check_spark_source.py: exactly-once availableNow runs on one
//! checkpoint, records equal to the replay's field for field, clear errors for
//! bad options, and Spark's own Parquet reader on the tables; a windowed
//! count with a watermark over a disordered stream against its truth
//! (tests/spark/check_spark_watermark.py). Needs a
//! Python with pyspark 4.3 and pyarrow, and Java 17: SIMKIT_SPARK_PYTHON
//! names that Python (`bash scripts/test.sh` provides it). Without it the
//! test shows as ignored with the reason, unless SIMKIT_REQUIRE_SPARK=1
//! makes it fail. Takes about a minute and a half: Spark starts a JVM per script.

mod common;

use common::*;

/// The Python with pyspark and Java, or why they are missing.
fn spark_python() -> Result<String, String> {
    let python = std::env::var("SIMKIT_SPARK_PYTHON")
        .map_err(|_| "SIMKIT_SPARK_PYTHON is not set (a python with pyspark 4.3 and pyarrow; Java 17)".to_string())?;
    let imports = std::process::Command::new(&python).args(["-c", "import pyspark, pyarrow"]).output();
    if !imports.is_ok_and(|o| o.status.success()) {
        return Err(format!("SIMKIT_SPARK_PYTHON={python} cannot import pyspark and pyarrow"));
    }
    let java = std::process::Command::new("java").arg("-version").output();
    if !java.is_ok_and(|o| o.status.success()) {
        return Err("java is not on PATH (Spark needs Java 17)".into());
    }
    Ok(python)
}

fn main() -> std::process::ExitCode {
    let tests: &[(&'static str, fn())] = &[
        ("pyspark_source_replays_like_simkit_replay", pyspark_source_replays_like_simkit_replay),
        ("a_windowed_count_with_a_watermark_matches_the_truth", a_windowed_count_with_a_watermark_matches_the_truth),
    ];
    external_suite(spark_python().map(|_| ()), env_flag("SIMKIT_REQUIRE_SPARK"), tests)
}

fn pyspark_source_replays_like_simkit_replay() {
    run_check("check_spark_source.py");
}

/// Spark's count per window with a 5-minute watermark over the clickstream's
/// disordered events, against truth/ (tests/spark/check_spark_watermark.py).
fn a_windowed_count_with_a_watermark_matches_the_truth() {
    run_check("check_spark_watermark.py");
}

/// Runs a check script of tests/spark with the simkit binary and a work folder.
fn run_check(script: &str) {
    let python = spark_python().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(&python)
        .arg(root().join("tests/spark").join(script))
        .arg(env!("CARGO_BIN_EXE_simkit"))
        .arg(tmp.path())
        .current_dir(root())
        .output()
        .expect("run python");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    assert!(text.contains("passed: 0 failures"), "{text}");
}
