//! Docs and comments describe the product as it is: no development history
//! ("session 3", "tried and dropped", A/B narratives: those belong in commit
//! messages and bench/results/), and no path of a development setup (the OSM
//! extracts are named by `SIMKIT_OSM_DIR`).

mod common;

use std::path::{Path, PathBuf};

use common::root;

fn files(dir: &Path, ends: &[&str], out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()) {
        if e.is_dir() {
            files(&e, ends, out);
        } else if ends.iter().any(|x| e.to_string_lossy().ends_with(x)) {
            out.push(e);
        }
    }
}

/// "session" followed by a number, in any case.
fn names_a_session(line: &str) -> bool {
    let lower = line.to_lowercase();
    lower
        .match_indices("session")
        .any(|(i, w)| lower[i + w.len()..].trim_start_matches([' ', '-']).starts_with(|c: char| c.is_ascii_digit()))
}

#[test]
fn docs_and_comments_speak_of_the_product() {
    let mut paths: Vec<PathBuf> =
        ["README.md", "ARCHITECTURE.md", "outputs/README.md"].iter().map(|p| root().join(p)).collect();
    for (dir, ends) in [
        ("docs", &[".md"][..]),
        ("generator", &[".rs", ".py"]),
        ("tests", &[".rs", ".py", ".toml"]),
        ("scenarios", &[".toml"]),
        ("bench", &[".sh"]),
        ("scripts", &[".sh"]),
    ] {
        files(&root().join(dir), ends, &mut paths);
    }
    let me = root().join("tests/docs.rs");
    let mut found = Vec::new();
    for path in paths.iter().filter(|p| **p != me) {
        let text = std::fs::read_to_string(path).unwrap();
        for (n, line) in text.lines().enumerate() {
            let lower = line.to_lowercase();
            let history = names_a_session(line)
                || ["tried and dropped", "tried in ", "a/b against", "was dropped"].iter().any(|w| lower.contains(w));
            if history || line.contains("shared/osm") {
                found.push(format!("{}:{}: {}", path.strip_prefix(root()).unwrap().display(), n + 1, line.trim()));
            }
        }
    }
    assert!(paths.len() > 50, "only {} files read", paths.len());
    assert!(found.is_empty(), "development history or setup paths:\n{}", found.join("\n"));
}
