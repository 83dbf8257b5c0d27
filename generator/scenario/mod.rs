//! Scenario: reads a scenario TOML file (plus `--set` overrides), validates it
//! strictly and returns a typed, ready-to-run scenario. The entry point is [`load`].
//!
//! Every error names the file and `line:column` (or the `--set` argument) and
//! the key, and says what was expected.

pub mod common;
pub mod csv;
pub mod document;
pub mod kitchen;
pub mod shape;

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::kinds::{self, Model};
use document::Document;
pub use kitchen::KitchenScenario;

/// A validated scenario and the fingerprint of everything it was built from.
pub struct Scenario {
    pub model: Model,
    /// The scenario's `[disorder]` (empty: every stream is delivered as generated).
    pub disorder: crate::disorder::Plan,
    /// sha256 over the scenario text, the overrides (`--set`, `--scale`) and every input table.
    pub hash: String,
}

impl Scenario {
    /// The ghost-kitchen scenario, or an error naming what `what` needs.
    pub fn kitchen(&self, what: &str) -> Result<&KitchenScenario> {
        match &self.model {
            Model::GhostKitchen(k) => Ok(k),
            other => Err(Error(format!(
                "{what} needs a ghost_kitchen scenario; this one is of kind \"{}\"",
                other.kind().name
            ))),
        }
    }

    /// Files the scenario read besides itself (tables), for hashing.
    pub fn inputs(&self) -> &[std::path::PathBuf] {
        match &self.model {
            Model::GhostKitchen(k) => &k.inputs,
            Model::Retail(r) => &r.inputs,
            Model::Weather(_) | Model::Clickstream(_) => &[],
        }
    }
}

/// What the command line changes in a scenario file.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `--set KEY=VALUE`, in order.
    pub sets: Vec<String>,
    /// `--scale K`: every volume times K, after the sets.
    pub scale: Option<f64>,
}

impl Overrides {
    pub fn sets(sets: &[String]) -> Overrides {
        Overrides { sets: sets.to_vec(), scale: None }
    }
}

/// Reads, overrides, validates.
pub fn load(path: &Path, over: &Overrides) -> Result<Scenario> {
    from_document(Document::read(path)?, over)
}

/// [`load`] for a document already read (its tables are read relative to its path).
pub fn from_document(mut doc: Document, over: &Overrides) -> Result<Scenario> {
    let sets = &over.sets;
    for s in sets {
        doc.set(s)?;
    }
    if let Some(k) = over.scale {
        doc.set_scale(k)?;
    }
    // A missing or mistyped `kind` is reported by the default kind's shape check.
    let kind = match doc.value().get("kind") {
        Some(toml::Value::String(k)) => {
            kinds::find(k).ok_or_else(|| doc.error_at(&["kind".into()], &kinds::unknown(k)))?
        }
        _ => &kinds::KINDS[0],
    };
    let model = (kind.load)(&doc)?;
    let disorder = crate::disorder::spec::load(&doc, kind)?;
    let mut h = Sha256::new();
    h.update(doc.text().as_bytes());
    for s in sets {
        h.update(b"\0--set\0");
        h.update(s.as_bytes());
    }
    if let Some(k) = over.scale {
        h.update(format!("\0--scale\0{k}").as_bytes());
    }
    let mut scenario = Scenario { model, disorder, hash: String::new() };
    for input in scenario.inputs() {
        let bytes = std::fs::read(input).map_err(|e| Error(format!("{}: {e}", input.display())))?;
        h.update(&bytes);
    }
    scenario.hash = hex(&h.finalize());
    Ok(scenario)
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
