//! The manifest: what a dataset is and how to check it. Scenario name and
//! hash, seed, time window, simkit version, row counts per table and per
//! event type, each location's time zone and road source (with the
//! extract's sha256), and the size and sha256 of every file. It holds no
//! wall-clock time, so it is as reproducible as the data.
//!
//! The dataset fingerprint is the sha256 of the manifest itself (minus the
//! fingerprint, the simkit version and the tools), so it covers every file
//! hash and every field a reader relies on: an edited `days` or window no
//! longer matches it. It identifies a dataset for replay checkpoints and
//! event ids. Tools shipped beside the data (`replay_source.py`) are hashed
//! too, under `tools`, but stay out of the fingerprint, as does the simkit
//! version: a newer simkit or script must not change the event ids of the
//! same data.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Context, Error, Result};
use crate::model::clock::{window, LocalClock};
use crate::scenario::hex;

/// The manifest format this simkit writes and reads.
pub const FORMAT: u32 = 2;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: u32,
    pub simkit_version: String,
    pub scenario: ScenarioInfo,
    pub fingerprint: String,
    /// The ghost kitchen's locations (other kinds have none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub locations: Vec<LocationInfo>,
    pub tables: BTreeMap<String, u64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub event_types: BTreeMap<String, u64>,
    /// Facts of the kind's model that its verify checks read (e.g. the
    /// weather's rain threshold).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub model: BTreeMap<String, serde_json::Value>,
    pub files: BTreeMap<String, FileInfo>,
    /// The disordered streams: what their truth covers and their counts (see [`crate::disorder`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub disorder: BTreeMap<String, crate::disorder::DisorderInfo>,
    /// What replay streams (the kind's declaration, see [`crate::streams`];
    /// outside the fingerprint, checked against the kind by replay).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub streams: Vec<crate::streams::StreamSpec>,
    /// Non-data files shipped with the dataset (not in the fingerprint).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tools: BTreeMap<String, FileInfo>,
    /// Set on one shard of a run (`generate --shard i/N`): a part of a
    /// dataset that `simkit merge` assembles, not a dataset itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardInfo>,
}

/// The file name stem of `table`'s part in shard `index` of `count`.
pub fn part_name(table: &str, index: u32, count: u32) -> String {
    format!("{table}/part-{index:05}-of-{count:05}")
}

/// Which part of a run a shard holds, and how its tables were encoded (the
/// merge re-encodes them alike).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ShardInfo {
    /// 1 ..= `count`.
    pub index: u32,
    pub count: u32,
    /// Its days (`first..end`) of each table that grows with time (docs/shards.md).
    pub first_day: u32,
    pub end_day: u32,
    pub row_group_rows: usize,
    pub zstd_level: i32,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScenarioInfo {
    pub name: String,
    pub kind: String,
    pub hash: String,
    pub seed: u64,
    /// The date of day 0 ("YYYY-MM-DD"); each location's days are its local dates.
    pub start: String,
    pub days: u32,
    /// The window: epoch ms of the earliest local midnight of day 0 among
    /// the locations, and of the latest local midnight ending the last day
    /// (UTC midnights for a kind without locations).
    pub start_ms: i64,
    pub end_ms: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LocationInfo {
    pub id: i8,
    pub code: String,
    pub name: String,
    /// IANA time zone of the kitchen's local clock.
    pub timezone: String,
    pub orders: u64,
    pub events: u64,
    pub road_source: RoadSourceInfo,
    pub area_nodes: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
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
#[serde(deny_unknown_fields)]
pub struct FileInfo {
    pub bytes: u64,
    pub sha256: String,
}

/// `v` with every object's keys in sorted order.
fn sorted(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
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

    /// sha256 of the manifest's compact JSON, keys sorted at every level,
    /// without the fingerprint, the simkit version, the streams and the tools: the same
    /// text whatever order a file lists its keys in (replay_source.py
    /// computes it the same way).
    pub fn compute_fingerprint(&self) -> String {
        let mut m = self.clone();
        m.fingerprint.clear();
        m.simkit_version.clear();
        m.tools.clear();
        m.streams.clear();
        let value = serde_json::to_value(&m).map(sorted).unwrap_or_default();
        hex(&Sha256::digest(value.to_string().as_bytes()))
    }

    /// Reads `dir/manifest.json`: a simkit manifest of this format.
    pub fn read(dir: &Path) -> Result<Manifest> {
        let path = dir.join("manifest.json");
        let text = std::fs::read_to_string(&path)
            .context(|| format!("{}: not a simkit dataset (no readable manifest.json)", dir.display()))?;
        Manifest::parse(&text, &path)
    }

    /// Parses a manifest's text; `path` names it in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Manifest> {
        let value: serde_json::Value =
            serde_json::from_str(text).context(|| format!("{}: not a simkit manifest", path.display()))?;
        let format = value.get("format").and_then(serde_json::Value::as_u64);
        if value.get("simkit_version").is_some() && format != Some(FORMAT as u64) {
            let found = format.map_or("1".to_string(), |f| f.to_string());
            return Err(Error(format!(
                "{}: manifest format {found}, this simkit reads format {FORMAT}: regenerate the dataset",
                path.display()
            )));
        }
        serde_json::from_value(value).context(|| format!("{}: not a simkit manifest", path.display()))
    }

    /// The files a dataset's manifest lists (any manifest format simkit has
    /// written), manifest.json included; `None` if `dir` holds no parsable
    /// simkit manifest.
    pub fn listed_files(dir: &Path) -> Option<Vec<String>> {
        #[derive(Deserialize)]
        struct Listing {
            #[allow(dead_code)]
            simkit_version: String,
            files: BTreeMap<String, FileInfo>,
            #[serde(default)]
            tools: BTreeMap<String, FileInfo>,
        }
        let text = std::fs::read_to_string(dir.join("manifest.json")).ok()?;
        let l: Listing = serde_json::from_str(&text).ok()?;
        Some(
            std::iter::once("manifest.json".to_string())
                .chain(l.files.into_keys())
                .chain(l.tools.into_keys())
                .collect(),
        )
    }

    /// The window that the start date, the days and the locations' time
    /// zones give, to hold against `scenario.start_ms` / `end_ms`.
    pub fn recomputed_window(&self) -> std::result::Result<(i64, i64), String> {
        let s = &self.scenario;
        let start = chrono::NaiveDate::parse_from_str(&s.start, "%Y-%m-%d")
            .map_err(|_| format!("start {:?} is not a date", s.start))?;
        let mut clocks = self
            .locations
            .iter()
            .map(|l| LocalClock::parse(&l.timezone).map_err(|e| format!("location `{}`: timezone {e}", l.code)))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        if clocks.is_empty() {
            // A kind without locations: the model's one clock, else UTC days.
            let zone = self.model.get("timezone").and_then(|z| z.as_str()).unwrap_or("UTC");
            clocks.push(LocalClock::parse(zone).map_err(|e| format!("model timezone {e}"))?);
        }
        window(start, s.days, &clocks).ok_or_else(|| "the manifest has no days".into())
    }

    /// A table's row count; an error naming the table when the manifest lacks it.
    pub fn rows(&self, table: &str) -> Result<u64> {
        self.tables.get(table).copied().ok_or_else(|| Error(format!("manifest.json has no `{table}` table")))
    }
}
