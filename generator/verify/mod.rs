//! Verify: re-reads a dataset and checks that it is what its manifest says
//! and that its events obey the model. Nothing in the dataset is trusted:
//!
//! - every file's size and sha256, and the fingerprint over the manifest;
//! - every manifest field that can be recomputed: the name, the window from
//!   the start date, days and time zones, the format and simkit version,
//!   synthetic road seeds from the seed, every table's row count, the counts
//!   per event type and location, the locations table against the
//!   manifest's locations, and the streams against the kind's declaration;
//! - every order id decodes, with the manifest's seed, to the location and
//!   local day the order was created on;
//! - every order's lifecycle: all steps in sequence order from 0, times in
//!   lifecycle order, pings on the route with rising progress, delivery at
//!   the customer, orders.parquet agreeing with the events;
//! - optionally, the fingerprints of a golden file.
//!
//! Problems are collected (the first 20 in full, then a count) and reported
//! as one error; no input makes it panic.

mod kitchen;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::path::Path;

use arrow::array::{ArrowPrimitiveType, AsArray, PrimitiveArray, RecordBatch, StringArray};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::{Deserialize, Serialize};

use crate::error::{Context, Error, Result};
use crate::roads::geo::metres_per_degree;
use crate::scenario::common::is_identifier;
use crate::seed::{key, Purpose};
use crate::sinks::manifest::{sha256_file, Manifest};

pub use kitchen::kitchen_checks;

/// Problems reported in full; the rest are counted.
const SHOWN_PROBLEMS: usize = 20;

pub struct Report {
    pub manifest: Manifest,
    pub text: String,
}

/// What a golden file pins: the dataset's fingerprints and counts.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Golden {
    pub scenario: String,
    pub fingerprint: String,
    pub tables: BTreeMap<String, u64>,
    pub event_types: BTreeMap<String, u64>,
    pub orders_per_location: BTreeMap<String, u64>,
    pub files: BTreeMap<String, String>,
}

impl Golden {
    pub fn of(m: &Manifest) -> Golden {
        Golden {
            scenario: m.scenario.name.clone(),
            fingerprint: m.fingerprint.clone(),
            tables: m.tables.clone(),
            event_types: m.event_types.clone(),
            orders_per_location: m.locations.iter().map(|l| (l.code.clone(), l.orders)).collect(),
            files: m.files.iter().map(|(k, v)| (k.clone(), v.sha256.clone())).collect(),
        }
    }
}

pub fn write_golden(m: &Manifest, path: &Path) -> Result<()> {
    let json = serde_json::to_string_pretty(&Golden::of(m)).map_err(|e| Error(e.to_string()))?;
    std::fs::write(path, json + "\n").context(|| path.display().to_string())
}

/// What verify found wrong so far: the first [`SHOWN_PROBLEMS`] in full, then a count.
#[derive(Default)]
pub struct Problems {
    shown: Vec<String>,
    more: usize,
}

impl Problems {
    pub fn check(&mut self, ok: bool, msg: impl FnOnce() -> String) {
        if ok {
        } else if self.shown.len() < SHOWN_PROBLEMS {
            self.shown.push(msg());
        } else {
            self.more += 1;
        }
    }

    pub(crate) fn into_error(self, dir: &Path) -> Option<Error> {
        if self.shown.is_empty() {
            return None;
        }
        let more = if self.more > 0 { format!("\n  ... and {} more problems", self.more) } else { String::new() };
        Some(Error(format!("{}: verification failed:\n  {}{more}", dir.display(), self.shown.join("\n  "))))
    }
}

pub fn read_batches(path: &Path) -> Result<Vec<RecordBatch>> {
    batch_reader(path)?.collect()
}

/// The batches of a Parquet file, read one after another.
pub fn batch_reader(path: &Path) -> Result<impl Iterator<Item = Result<RecordBatch>>> {
    let name = || path.display().to_string();
    let file = File::open(path).context(name)?;
    let reader =
        ParquetRecordBatchReaderBuilder::try_new(file).context(name)?.with_batch_size(65_536).build().context(name)?;
    let path = path.to_path_buf();
    Ok(reader.map(move |b| b.context(|| path.display().to_string())))
}

/// A table's rows, decoded (and checked) a batch at a time as they are
/// read: one pass, one batch in memory, with a look at the next row.
pub struct RowCursor<T> {
    batches: Box<dyn Iterator<Item = Result<RecordBatch>>>,
    rows: std::collections::VecDeque<T>,
}

impl<T> RowCursor<T> {
    pub fn open(path: &Path) -> Result<RowCursor<T>> {
        Ok(RowCursor { batches: Box::new(batch_reader(path)?), rows: Default::default() })
    }

    /// The next row, reading the next batch through `decode` when needed.
    pub fn peek(&mut self, mut decode: impl FnMut(&RecordBatch) -> Result<Vec<T>>) -> Result<Option<&T>> {
        while self.rows.is_empty() {
            let Some(b) = self.batches.next() else { return Ok(None) };
            self.rows = decode(&b?)?.into();
        }
        Ok(self.rows.front())
    }

    /// Takes the row [`Self::peek`] showed.
    pub fn pop(&mut self) -> Option<T> {
        self.rows.pop_front()
    }
}

/// Rows of a Parquet file, from its metadata.
fn row_count(path: &Path) -> Result<u64> {
    let file = File::open(path).context(|| path.display().to_string())?;
    let b = ParquetRecordBatchReaderBuilder::try_new(file).context(|| path.display().to_string())?;
    Ok(b.metadata().file_metadata().num_rows().max(0) as u64)
}

/// A column of `b` as the primitive type `T`, or an error naming it.
pub fn primitive<'b, T: ArrowPrimitiveType>(
    b: &'b RecordBatch,
    file: &str,
    name: &str,
) -> Result<&'b PrimitiveArray<T>> {
    b.column_by_name(name)
        .and_then(|c| c.as_primitive_opt::<T>())
        .ok_or_else(|| Error(format!("{file}: no column `{name}` of type {}", T::DATA_TYPE)))
}

pub fn strings<'b>(b: &'b RecordBatch, file: &str, name: &str) -> Result<&'b StringArray> {
    b.column_by_name(name)
        .and_then(|c| c.as_string_opt::<i32>())
        .ok_or_else(|| Error(format!("{file}: no string column `{name}`")))
}

pub fn verify(dir: &Path, golden: Option<&Path>) -> Result<Report> {
    let manifest = Manifest::read(dir)?;
    refuse_shard(dir, &manifest)?;
    let mut p = Problems::default();
    let files_ok = check_files(dir, &manifest, &mut p)?;
    check_manifest(&manifest, &mut p);
    if !files_ok {
        // Missing or damaged files are the answer: decoding them would only fail.
        return Err(p.into_error(dir).unwrap_or_else(|| Error(format!("{}: damaged files", dir.display()))));
    }
    check_row_counts(dir, &manifest, &mut p)?;
    // An unknown kind is one of check_manifest's problems.
    let found = match crate::kinds::find(&manifest.scenario.kind) {
        Some(kind) => (kind.verify)(dir, &manifest, &mut p)?,
        None => String::new(),
    } + crate::disorder::check::verify(dir, &manifest, &mut p)?.as_str();
    if let Some(g) = golden {
        check_golden(g, &manifest, &mut p)?;
    }
    if let Some(e) = p.into_error(dir) {
        return Err(e);
    }
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{}: ok — {} files match the manifest; {found}{}",
        dir.display(),
        manifest.files.len() + manifest.tools.len(),
        if golden.is_some() { "; matches the golden file" } else { "" }
    );
    if manifest.simkit_version != env!("CARGO_PKG_VERSION") {
        let _ = writeln!(
            text,
            "  (written by simkit {}, verified by {})",
            manifest.simkit_version,
            env!("CARGO_PKG_VERSION")
        );
    }
    Ok(Report { manifest, text })
}

/// A shard is part of a dataset: `simkit merge` checks and assembles it.
pub fn refuse_shard(dir: &Path, m: &Manifest) -> Result<()> {
    match &m.shard {
        Some(sh) => Err(Error(format!(
            "{}: shard {} of {} of a run, not a dataset: assemble the shards with `simkit merge SHARD_DIRS... --out DIR`",
            dir.display(),
            sh.index,
            sh.count
        ))),
        None => Ok(()),
    }
}

/// Every listed file: present, of the listed size and sha256. Returns
/// whether all are.
pub(crate) fn check_files(dir: &Path, m: &Manifest, p: &mut Problems) -> Result<bool> {
    let mut all_ok = true;
    for (name, f) in m.files.iter().chain(&m.tools) {
        let path = dir.join(name);
        let Ok(bytes) = std::fs::metadata(&path).map(|md| md.len()) else {
            p.check(false, || format!("{name}: listed in the manifest but missing"));
            all_ok = false;
            continue;
        };
        let ok = bytes == f.bytes && sha256_file(&path)? == f.sha256;
        p.check(ok, || {
            format!("{name}: its size or sha256 differs from the manifest's (the file is damaged or was modified)")
        });
        all_ok &= ok;
    }
    Ok(all_ok)
}

/// What [`verify`] finds wrong in a manifest's own fields (for tests and fuzzing).
pub fn manifest_problems(m: &Manifest) -> Vec<String> {
    let mut p = Problems::default();
    check_manifest(m, &mut p);
    p.shown
}

/// The fields that can be recomputed from the others.
fn check_manifest(m: &Manifest, p: &mut Problems) {
    p.check(m.compute_fingerprint() == m.fingerprint, || {
        "the manifest's fingerprint does not match its content (the manifest was edited)".into()
    });
    let s = &m.scenario;
    p.check(is_identifier(&s.name), || format!("scenario name {:?} is not a plain name", s.name));
    match crate::kinds::find(&s.kind) {
        Some(kind) => p.check(m.streams == crate::disorder::delivered_streams((kind.streams)(), &m.disorder), || {
            format!("the streams differ from what a {} dataset streams (the manifest was edited)", kind.name)
        }),
        None => p.check(false, || format!("scenario kind {:?} is not one simkit writes", s.kind)),
    }
    p.check(!m.simkit_version.is_empty() && m.simkit_version.split('.').all(|n| n.parse::<u32>().is_ok()), || {
        format!("simkit version {:?} is not a version number", m.simkit_version)
    });
    match m.recomputed_window() {
        Ok((start, end)) => p.check(start == s.start_ms && end == s.end_ms, || {
            format!(
                "the window {}..{} does not follow from start {} + {} days in the locations' time zones ({start}..{end})",
                s.start_ms, s.end_ms, s.start, s.days
            )
        }),
        Err(e) => p.check(false, || e),
    }
    for (i, l) in m.locations.iter().enumerate() {
        let r = &l.road_source;
        match r.kind.as_str() {
            "synthetic" => {
                let want = key(s.seed, i as u64, 0, Purpose::SyntheticRoads);
                p.check(r.seed == Some(want), || {
                    let found = r.seed.map_or("none".to_string(), |x| x.to_string());
                    format!("location `{}`: synthetic road seed {found} does not follow from seed {}", l.code, s.seed)
                });
            }
            "extract" => p.check(r.sha256.as_ref().is_some_and(|h| h.len() == 64) && r.file.is_some(), || {
                format!("location `{}`: an extract road source without its file and sha256", l.code)
            }),
            other => p.check(false, || format!("location `{}`: unknown road source {other:?}", l.code)),
        }
    }
}

/// Every Parquet file's rows against the manifest's table counts.
fn check_row_counts(dir: &Path, m: &Manifest, p: &mut Problems) -> Result<()> {
    for name in m.files.keys() {
        let Some(table) = name.strip_suffix(".parquet") else { continue };
        let want = m.tables.get(table).copied();
        let have = row_count(&dir.join(name))?;
        p.check(want == Some(have), || match want {
            Some(n) => format!("{name} has {have} rows, the manifest says {n}"),
            None => format!("{name} has {have} rows, and the manifest lists no table `{table}`"),
        });
    }
    for table in m.tables.keys() {
        p.check(m.files.contains_key(&format!("{table}.parquet")), || format!("table `{table}` has no file"));
    }
    Ok(())
}

fn check_golden(g: &Path, manifest: &Manifest, p: &mut Problems) -> Result<()> {
    let text = std::fs::read_to_string(g).context(|| format!("{}: cannot read golden file", g.display()))?;
    let want: Golden = serde_json::from_str(&text).context(|| format!("{}: not a golden file", g.display()))?;
    let have = Golden::of(manifest);
    if want != have {
        let mut diff = Vec::new();
        let (w, h) = (serde_json::to_value(&want).unwrap_or_default(), serde_json::to_value(&have).unwrap_or_default());
        if let (Some(w), Some(h)) = (w.as_object(), h.as_object()) {
            for (k, wv) in w {
                if h.get(k) != Some(wv) {
                    diff.push(format!("{k}: golden {wv}, dataset {}", h.get(k).cloned().unwrap_or_default()));
                }
            }
        }
        p.check(false, || format!("differs from golden {}:\n    {}", g.display(), diff.join("\n    ")));
    }
    Ok(())
}

/// Distance in metres from `p` to the nearest segment of `line`.
pub fn distance_to_polyline(p: [f64; 2], line: &[[f64; 2]]) -> f64 {
    let (my, mx) = metres_per_degree(p[0]);
    let xy = |q: [f64; 2]| ((q[1] - p[1]) * mx, (q[0] - p[0]) * my);
    let mut best = f64::INFINITY;
    for w in line.windows(2) {
        let ((ax, ay), (bx, by)) = (xy(w[0]), xy(w[1]));
        let (dx, dy) = (bx - ax, by - ay);
        let len2 = dx * dx + dy * dy;
        let t = if len2 > 0.0 { (-(ax * dx + ay * dy) / len2).clamp(0.0, 1.0) } else { 0.0 };
        let (cx, cy) = (ax + t * dx, ay + t * dy);
        best = best.min((cx * cx + cy * cy).sqrt());
    }
    best
}
