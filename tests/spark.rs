//! The PySpark streaming source shipped with every dataset
//! (generator/replay/replay_source.py) against `simkit replay`, through
//! tests/spark/check_spark_source.py: exactly-once availableNow runs on one
//! checkpoint, records equal to the replay's field for field, clear errors for
//! bad options, and Spark's own Parquet reader on the tables; a windowed
//! count with a watermark over a disordered stream against its truth
//! (tests/spark/check_spark_watermark.py); spark/generate.py fanning a run's
//! shards out as tasks into one dataset, in a folder and through a Hadoop
//! filesystem URI. Needs a
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
        ("the_spark_driver_fans_shards_out_into_one_dataset", the_spark_driver_fans_shards_out_into_one_dataset),
        ("the_spark_driver_writes_through_a_hadoop_filesystem", the_spark_driver_writes_through_a_hadoop_filesystem),
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

/// The run spark/generate.py is tested with: 9 days, small row groups.
const RUN: [&str; 4] = ["--days", "9", "--set", "output.row_group_rows=7001"];

/// spark/generate.py on local[2], 3 shards of `scenario`, into `out` (a path or a URI), `extra` after RUN.
fn spark_driver(scenario: &str, out: &std::ffi::OsStr, extra: &[&str]) -> std::process::Output {
    let mut cmd = std::process::Command::new(spark_python().unwrap());
    cmd.arg(root().join("spark/generate.py")).arg(scenario).args(["--shards", "3", "--out"]);
    cmd.arg(out).arg("--simkit").arg(env!("CARGO_BIN_EXE_simkit")).args(["--master", "local[2]", "--"]);
    cmd.args(RUN).args(extra).current_dir(root()).output().expect("run python")
}

/// spark/generate.py on local[2]: 3 shards as 3 tasks, merged and verified
/// into the dataset one `simkit generate` writes, byte for byte; a failing
/// shard is reported in one line with exit 2.
fn the_spark_driver_fans_shards_out_into_one_dataset() {
    let tmp = tempfile::tempdir().unwrap();
    let whole = tmp.path().join("whole");
    let m = generate(&whole, &RUN);
    let out = tmp.path().join("ds");
    let done = spark_driver("scenarios/caspers.toml", out.as_os_str(), &[]);
    let text = format!("{}{}", String::from_utf8_lossy(&done.stdout), String::from_utf8_lossy(&done.stderr));
    assert!(done.status.success() && text.contains(": ok — "), "{text}");
    for name in m.files.keys() {
        assert!(std::fs::read(whole.join(name)).unwrap() == std::fs::read(out.join(name)).unwrap(), "{name} differs");
    }
    assert!(!tmp.path().join("ds.shards").exists(), "the shards are removed once merged");
    let failed = spark_driver("scenarios/caspers.toml", tmp.path().join("bad").as_os_str(), &["--set", "seed=-1"]);
    let err = String::from_utf8_lossy(&failed.stderr);
    assert_eq!(failed.status.code(), Some(2), "{err}");
    let last = err.lines().last().unwrap_or_default();
    assert!(last.starts_with("spark/generate.py: ") && last.contains("seed: expected a whole number"), "{err}");
    assert!(!tmp.path().join("bad").exists() && !tmp.path().join("bad.shards").exists(), "nothing left behind");
}

/// spark/generate.py with a Hadoop filesystem URI (`file://`, Hadoop's local
/// filesystem through Spark's configuration), on another kind (the shop,
/// whose shards run its stock from day 0): the shards travel through
/// Spark, the dataset is the one-piece run byte for byte with nothing beside
/// it, and a folder there that is not a dataset is refused and kept.
fn the_spark_driver_writes_through_a_hadoop_filesystem() {
    const SHOP: &str = "scenarios/smoothie.toml";
    let tmp = tempfile::tempdir().unwrap();
    let whole = tmp.path().join("whole");
    simkit_ok(&[&["generate", SHOP, "--quiet", "--out", whole.to_str().unwrap()][..], &RUN].concat());
    let m = simkit::sinks::manifest::Manifest::read(&whole).unwrap();
    let out = tmp.path().join("ds");
    let uri = format!("file://{}", out.display());
    let done = spark_driver(SHOP, uri.as_ref(), &[]);
    let text = format!("{}{}", String::from_utf8_lossy(&done.stdout), String::from_utf8_lossy(&done.stderr));
    assert!(done.status.success() && text.contains(&format!("{uri}: ok — ")), "{text}");
    let (written, expected) = (dir_files(&out), dir_files(&whole));
    assert!(written.keys().eq(expected.keys()), "the dataset's files and nothing else: {:?}", written.keys());
    assert!(m.files.keys().all(|name| written[name] == expected[name]), "the one-piece run's bytes");
    let siblings: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(siblings.len(), 2, "no partial copy left beside it: {siblings:?}");
    let kept = tmp.path().join("kept");
    std::fs::create_dir(&kept).unwrap();
    std::fs::write(kept.join("notes.txt"), "mine").unwrap();
    let refused = spark_driver(SHOP, format!("file://{}", kept.display()).as_ref(), &[]);
    let err = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{err}");
    assert!(err.lines().last().unwrap_or_default().contains("is not a simkit dataset"), "{err}");
    assert_eq!(std::fs::read_to_string(kept.join("notes.txt")).unwrap(), "mine");
    assert_eq!(std::fs::read_dir(&kept).unwrap().count(), 1, "the folder is left as it was");
}
