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

/// `node` with a `$ref` into the schema's `$defs` followed.
fn resolve<'a>(schema: &'a serde_json::Value, node: &'a serde_json::Value) -> &'a serde_json::Value {
    match node.get("$ref").and_then(|r| r.as_str()).and_then(|r| r.strip_prefix("#/$defs/")) {
        Some(name) => resolve(schema, &schema["$defs"][name]),
        None => node,
    }
}

/// Every leaf key of a kind's schema (`locations.*.id`; a distribution is a
/// leaf), with its default when the schema gives a scalar one.
fn leaf_keys(
    schema: &serde_json::Value,
    node: &serde_json::Value,
    prefix: &str,
    out: &mut Vec<(String, Option<String>)>,
) {
    let own_default =
        node.get("default").filter(|d| !d.is_object() && !d.is_array() && !d.is_null()).map(|d| d.to_string());
    let node = resolve(schema, node);
    let props = node.get("properties").and_then(|p| p.as_object());
    let extra = node.get("additionalProperties").filter(|e| e.is_object());
    if node.get("x-expected").is_some() || (props.is_none() && extra.is_none()) {
        out.push((prefix.to_string(), own_default));
        return;
    }
    let join = |k: &str| if prefix.is_empty() { k.to_string() } else { format!("{prefix}.{k}") };
    for (k, v) in props.into_iter().flatten() {
        leaf_keys(schema, v, &join(k), out);
    }
    if let Some(e) = extra {
        leaf_keys(schema, e, &join("*"), out);
    }
}

/// The docs' key with each `<placeholder>` segment written `*`.
fn doc_key(key: &str) -> String {
    key.split('.').map(|s| if s.starts_with('<') && s.ends_with('>') { "*" } else { s }).collect::<Vec<_>>().join(".")
}

/// Table rows of the docs: (key as the schema spells it, default column).
fn documented_keys(docs: &str) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    for line in docs.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split(" | ").collect();
        let default = cells.get(2).copied().unwrap_or("").to_string();
        for key in cells[0].trim_start_matches("| ").split(", ") {
            rows.push((doc_key(key.trim_matches('`')), default.clone()));
        }
    }
    rows
}

#[test]
fn every_key_of_every_kind_is_documented_with_its_default() {
    let docs = std::fs::read_to_string(root().join("docs/scenario.md")).unwrap();
    let rows = documented_keys(&docs);
    let mut missing = Vec::new();
    let mut checked = 0;
    for kind in simkit::kinds::KINDS {
        assert!(docs.contains(&format!("# Kind `{}`", kind.name)), "docs/scenario.md has no section for {}", kind.name);
        let schema = (kind.schema)();
        let mut leaves = Vec::new();
        leaf_keys(&schema, &schema, "", &mut leaves);
        for (key, default) in leaves {
            // The key itself, or a documented ancestor of two segments or more
            // (`demand.weekday_multipliers` documents its `mon` .. `sun`).
            let segments: Vec<&str> = key.split('.').collect();
            let row = (segments.len().min(2)..=segments.len())
                .rev()
                .find_map(|n| rows.iter().find(|(k, _)| *k == segments[..n].join(".")));
            match (row, default) {
                (None, _) => missing.push(format!("{}: `{key}` is not documented", kind.name)),
                (Some((k, col)), Some(d)) if *k == key => {
                    let value = d.trim_matches('"');
                    let same = col
                        .split('`')
                        .map(|t| t.trim_matches('"'))
                        .any(|t| t == value || t.parse::<f64>().is_ok_and(|x| value.parse::<f64>() == Ok(x)));
                    if !same {
                        missing.push(format!("{}: `{key}` defaults to {value}, the docs say {col}", kind.name));
                    }
                    checked += 1;
                }
                _ => {}
            }
        }
    }
    assert!(checked >= 10, "only {checked} defaults checked");
    assert!(missing.is_empty(), "docs/scenario.md:\n{}", missing.join("\n"));
}
