//! Scenario: reads a scenario TOML file (plus `--set` overrides), validates it
//! strictly and returns a typed, ready-to-run scenario. The entry point is [`load`].
//!
//! Every error names the file and `line:column` (or the `--set` argument) and
//! the key, and says what was expected.

pub mod csv;
pub mod document;
pub mod kitchen;

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
    let mut doc = Document::read(path)?;
    for s in sets {
        doc.set(s)?;
    }
    let kind = doc.deserialize::<KindOnly>()?.kind;
    let kitchen = match kind.as_str() {
        "ghost_kitchen" => KitchenScenario::from_document(&doc)?,
        other => {
            return Err(doc.error_at(
                &["kind".into()],
                &format!("expected a scenario kind (\"ghost_kitchen\"), found \"{other}\""),
            ));
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

#[derive(serde::Deserialize)]
struct KindOnly {
    kind: String,
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
