//! Scenario: reads a scenario TOML file (plus `--set` overrides), validates it
//! strictly and returns a typed, ready-to-run scenario. The entry point is [`load`].
//!
//! Every error names the file and `line:column` (or the `--set` argument) and
//! the key, and says what was expected.

pub mod csv;
pub mod document;
pub mod kitchen;
pub mod shape;

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use document::Document;
pub use kitchen::KitchenScenario;

/// A validated scenario and the fingerprint of everything it was built from.
pub struct Scenario {
    pub kitchen: KitchenScenario,
    /// sha256 over the scenario text, the overrides and every input table.
    pub hash: String,
}

/// Reads, overrides, validates. `sets` are `KEY=VALUE` strings.
pub fn load(path: &Path, sets: &[String]) -> Result<Scenario> {
    from_document(Document::read(path)?, sets)
}

/// [`load`] for a document already read (its tables are read relative to its path).
pub fn from_document(mut doc: Document, sets: &[String]) -> Result<Scenario> {
    for s in sets {
        doc.set(s)?;
    }
    // A missing or mistyped `kind` is reported by the kind's shape check.
    let kind = match doc.value().get("kind") {
        Some(toml::Value::String(k)) => k.clone(),
        _ => KINDS[0].to_string(),
    };
    let kitchen = match kind.as_str() {
        "ghost_kitchen" => KitchenScenario::from_document(&doc)?,
        other => {
            let hint = shape::suggestion(other, KINDS.iter().copied())
                .map(|k| format!(" (did you mean \"{k}\"?)"))
                .unwrap_or_default();
            let known = KINDS.map(|k| format!("\"{k}\"")).join(", ");
            return Err(
                doc.error_at(&["kind".into()], &format!("expected a scenario kind ({known}), found {other:?}{hint}"))
            );
        }
    };
    let mut h = Sha256::new();
    h.update(doc.text().as_bytes());
    for s in sets {
        h.update(b"\0--set\0");
        h.update(s.as_bytes());
    }
    for input in &kitchen.inputs {
        let bytes = std::fs::read(input).map_err(|e| Error(format!("{}: {e}", input.display())))?;
        h.update(&bytes);
    }
    Ok(Scenario { kitchen, hash: hex(&h.finalize()) })
}

/// The scenario kinds simkit knows.
pub const KINDS: [&str; 1] = ["ghost_kitchen"];

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
