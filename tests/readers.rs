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
    let imports = std::process::Command::new(&python).args(["-c", "import pyarrow, duckdb"]).output();
    match imports {
        Ok(o) if o.status.success() => Ok(python),
        _ => {
            Err(format!("{python} cannot import pyarrow and duckdb (pip install pyarrow duckdb, or set SIMKIT_PYTHON)"))
        }
    }
}

fn main() -> std::process::ExitCode {
    let tests: &[(&'static str, fn())] = &[(
        "pyarrow_and_duckdb_read_the_dataset_with_the_intended_types",
        pyarrow_and_duckdb_read_the_dataset_with_the_intended_types,
    )];
    external_suite(python().map(|_| ()), env_flag("SIMKIT_REQUIRE_READERS"), tests)
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
