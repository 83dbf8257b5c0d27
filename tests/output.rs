//! The output directory's promise: `generate` replaces only a simkit
//! dataset (or writes into an empty directory), never a directory holding
//! its own inputs, the working directory or a mount point; replacing is
//! atomic, a failed or interrupted run leaves the previous dataset
//! byte-identical, and what an interrupted run left behind neither blocks
//! the next run nor survives it.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// Every file of a directory with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| (e.file_name().to_string_lossy().to_string(), std::fs::read(e.path()).unwrap()))
        .collect()
}

fn generate_into(out: &Path, extra: &[&str]) -> std::process::Output {
    simkit(
        &[&["generate", "scenarios/caspers.toml", "--days", "1", "-q", "--out", out.to_str().unwrap()], extra].concat(),
    )
}

#[test]
fn only_a_dataset_or_an_empty_directory_is_replaced() {
    let tmp = tempfile::tempdir().unwrap();
    let precious = tmp.path().join("precious");
    std::fs::create_dir_all(&precious).unwrap();
    std::fs::write(precious.join("thesis.tex"), "years of work").unwrap();
    assert_fails_with(&generate_into(&precious, &[]), "exists and is not a simkit dataset");
    assert_eq!(std::fs::read_to_string(precious.join("thesis.tex")).unwrap(), "years of work");
    let file = tmp.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    assert_fails_with(&generate_into(&file, &[]), "exists and is not a directory");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "x");

    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    assert!(generate_into(&empty, &[]).status.success(), "an empty directory is written into");
    assert!(empty.join("manifest.json").exists());
    // A dataset is replaced...
    assert!(generate_into(&empty, &["--set", "seed=7"]).status.success());
    // ...unless someone put their own files in it.
    std::fs::write(empty.join("notes.txt"), "mine").unwrap();
    let before = snapshot(&empty);
    assert_fails_with(&generate_into(&empty, &[]), "holds files that are not part of the dataset (notes.txt)");
    assert_eq!(snapshot(&empty), before);
    assert!(leftovers(tmp.path(), ".").is_empty(), "{:?}", leftovers(tmp.path(), "."));
}

#[test]
fn an_output_may_not_hold_the_inputs_the_working_directory_or_a_mount_point() {
    let tmp = tempfile::tempdir().unwrap();
    let s = scenario(tmp.path(), |t| t);
    let run = |out: &Path, cwd: &Path| {
        simkit_command(&["generate", s.to_str().unwrap(), "--days", "1", "-q", "--out", out.to_str().unwrap()], &[])
            .current_dir(cwd)
            .output()
            .unwrap()
    };
    assert_fails_with(&run(tmp.path(), &root()), "holds the input");
    assert_fails_with(&run(&root().join("data"), &root()), "holds the input");
    let elsewhere = tempfile::tempdir().unwrap();
    assert_fails_with(&run(Path::new("."), elsewhere.path()), "holds the working directory");
    assert_fails_with(&run(Path::new(".."), elsewhere.path()), "holds the "); // /tmp: the scenario too
    assert_fails_with(&run(Path::new("/proc"), &root()), "is a mount point");
    assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
}

#[test]
fn a_symbolic_link_to_a_dataset_is_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let real = tmp.path().join("real");
    assert!(generate_into(&real, &[]).status.success());
    let link = tmp.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    assert!(generate_into(&link, &["--set", "seed=9"]).status.success());
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link stays a link");
    let m = simkit::sinks::manifest::Manifest::read(&real).unwrap();
    assert_eq!(m.scenario.seed, 9, "the dataset it points to was replaced");
}

#[test]
fn a_failed_run_leaves_the_previous_dataset_byte_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    assert!(generate_into(&out, &[]).status.success());
    let before = snapshot(&out);
    // Fails after the output is prepared, while loading roads.
    assert_fails_with(&generate_into(&out, &["--require-osm", "--set", "seed=3"]), "--require-osm forbids");
    assert_eq!(snapshot(&out), before);
    assert!(leftovers(tmp.path(), ".out.").is_empty());
    // Parent directories a failed run created are gone again.
    let deep = tmp.path().join("new/deeper/out");
    assert_fails_with(&generate_into(&deep, &["--require-osm"]), "--require-osm forbids");
    assert!(!tmp.path().join("new").exists());
}

#[test]
fn leftovers_of_an_interrupted_run_never_block_or_survive() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    assert!(generate_into(&out, &[]).status.success());
    let before = snapshot(&out);
    // A killed run's partial directory and the old dataset of a killed replacement.
    std::fs::create_dir_all(tmp.path().join(".out.partial-AbC123/sub")).unwrap();
    std::fs::write(tmp.path().join(".out.partial-AbC123/sub/events.parquet"), "half").unwrap();
    std::fs::rename(&out, tmp.path().join(".out.partial-XyZ789.old")).unwrap();
    // The next run puts the previous dataset back before anything else, even if it then fails.
    assert_fails_with(&generate_into(&out, &["--require-osm"]), "--require-osm forbids");
    assert_eq!(snapshot(&out), before, "the previous dataset is back in place");
    assert!(leftovers(tmp.path(), ".out.").is_empty(), "{:?}", leftovers(tmp.path(), ".out."));
    std::fs::create_dir_all(tmp.path().join(".out.partial-Stale1")).unwrap();
    assert!(generate_into(&out, &["--set", "seed=5"]).status.success());
    assert!(leftovers(tmp.path(), ".out.").is_empty());
}

/// A run long enough to be interrupted: the canonical scenario at 20x volume.
fn long_run(out: &Path) -> Child {
    let mut args = vec!["generate", "scenarios/caspers.toml", "-q", "--out", out.to_str().unwrap()];
    for code in ["sf", "sv", "bellevue", "chicago"] {
        args.extend(["--set", Box::leak(format!("locations.{code}.base_orders_per_day=3000").into_boxed_str())]);
    }
    simkit_command(&args, &[]).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap()
}

/// Waits until `out`'s partial directory exists (the run is under way).
fn wait_for_partial(parent: &Path, child: &mut Child) -> PathBuf {
    let started = Instant::now();
    loop {
        if let Some(p) = leftovers(parent, ".out.partial-").first() {
            return parent.join(p);
        }
        assert!(child.try_wait().unwrap().is_none(), "the run ended before it could be interrupted");
        assert!(started.elapsed() < Duration::from_secs(120), "no partial output appeared");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn sigint_and_sigterm_remove_the_partial_output() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    assert!(generate_into(&out, &[]).status.success());
    let before = snapshot(&out);
    for (signal, code) in [(libc::SIGINT, 130), (libc::SIGTERM, 143)] {
        let mut child = long_run(&out);
        wait_for_partial(tmp.path(), &mut child);
        // SAFETY: sends a signal to our own child process.
        unsafe { libc::kill(child.id() as i32, signal) };
        let status = child.wait().unwrap();
        let err = stderr_of(&mut child);
        assert_eq!(status.code(), Some(code), "{err}");
        assert!(err.contains("interrupted: the partial output was removed"), "{err}");
        assert!(leftovers(tmp.path(), ".out.").is_empty(), "{:?}", leftovers(tmp.path(), ".out."));
        assert_eq!(snapshot(&out), before, "the previous dataset is untouched");
    }
}

#[test]
fn a_second_run_on_the_same_output_is_refused_while_the_first_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let mut first = long_run(&out);
    wait_for_partial(tmp.path(), &mut first);
    assert_fails_with(&generate_into(&out, &[]), "another simkit run is writing it");
    // SAFETY: sends a signal to our own child process.
    unsafe { libc::kill(first.id() as i32, libc::SIGTERM) };
    first.wait().unwrap();
    assert!(!out.exists() && leftovers(tmp.path(), ".out.").is_empty());
}
