//! The manifest: what a dataset is and how to check it. Scenario name and
//! hash, seed, simkit version, row counts per table and per event type, each
//! location's road source (with the extract's sha256), and the size and
//! sha256 of every file. It holds no wall-clock time, so it is as
//! reproducible as the data. The dataset fingerprint (over the scenario hash
//! and the data files' hashes) identifies a dataset for replay checkpoints and
//! event ids. Tools shipped beside the data (`replay_source.py`) are hashed
//! too, under `tools`, but stay out of the fingerprint: a newer script must
//! not change the event ids of the same data.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Context, Result};
use crate::scenario::hex;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub simkit_version: String,
    pub scenario: ScenarioInfo,
    pub fingerprint: String,
    pub locations: Vec<LocationInfo>,
    pub tables: BTreeMap<String, u64>,
    pub event_types: BTreeMap<String, u64>,
    pub files: BTreeMap<String, FileInfo>,
    /// Non-data files shipped with the dataset (not in the fingerprint).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tools: BTreeMap<String, FileInfo>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ScenarioInfo {
    pub name: String,
    pub kind: String,
    pub hash: String,
    pub seed: u64,
    pub start: String,
    pub days: u32,
    /// Epoch ms of the first instant of day 0 and just after the last day.
    pub start_ms: i64,
    pub end_ms: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct LocationInfo {
    pub id: i8,
    pub code: String,
    pub name: String,
    pub orders: u64,
    pub events: u64,
    pub road_source: RoadSourceInfo,
    pub area_nodes: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RoadSourceInfo {
    pub kind: String,
    /// File name of the extract (not its path, which differs between machines).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub seed: Option<u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct FileInfo {
    pub bytes: u64,
    pub sha256: String,
}

/// sha256 of a file, streamed.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).context(|| path.display().to_string())?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).context(|| path.display().to_string())?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

impl Manifest {
    /// Records the data files (name, size and hash) and the fingerprint over them.
    pub fn set_files(&mut self, files: impl IntoIterator<Item = (String, FileInfo)>) {
        self.files = files.into_iter().collect();
        self.fingerprint = self.compute_fingerprint();
    }

    /// Records size and hash of a tool file `name` with content `content`.
    pub fn add_tool(&mut self, name: &str, content: &[u8]) {
        let info = FileInfo { bytes: content.len() as u64, sha256: hex(&Sha256::digest(content)) };
        self.tools.insert(name.to_string(), info);
    }

    /// sha256 over the scenario hash and every file's name and hash.
    pub fn compute_fingerprint(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.scenario.hash.as_bytes());
        for (name, f) in &self.files {
            h.update(format!("\n{name} {}", f.sha256).as_bytes());
        }
        hex(&h.finalize())
    }

    pub fn read(dir: &Path) -> Result<Manifest> {
        let path = dir.join("manifest.json");
        let text = std::fs::read_to_string(&path)
            .context(|| format!("{}: not a simkit dataset (no readable manifest.json)", dir.display()))?;
        serde_json::from_str(&text).context(|| format!("{}: not a simkit manifest", path.display()))
    }
}
