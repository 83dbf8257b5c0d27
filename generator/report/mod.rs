//! `simkit report DATASET`: a dataset seen as a person judges it. The
//! dataset's kind computes headline numbers and figures from its Parquet
//! files (the registry's `report`); they are drawn as SVG ([`svg`]) into
//! `DATASET/report/` beside `index.html` ([`html`]) and `report.json`
//! (the same numbers, and the report's files). The folder is written
//! whole into a temporary sibling and renamed into place; a `report/`
//! already there is replaced only if it is a report simkit wrote.
//! The entry point is [`write`].

pub mod figure;
pub mod html;
pub mod kitchen;
pub mod read;
pub mod svg;

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

pub use figure::{Chart, Figure, Figures, Headline, Report};

use crate::error::{Context, Error, Result};
use crate::sinks::manifest::Manifest;

/// The report's folder inside a dataset.
pub const REPORT_DIR: &str = "report";
const INDEX: &str = "report.json";

/// `report.json`: the report's files, then its numbers.
#[derive(Serialize)]
struct Index<'a> {
    files: Vec<String>,
    #[serde(flatten)]
    report: &'a Report,
}

/// Writes the report of the dataset in `dir`; returns it (for the terminal).
pub fn write(dir: &Path) -> Result<(PathBuf, Report)> {
    let m = Manifest::read(dir)?;
    if m.shard.is_some() {
        return Err(Error(format!(
            "{}: a shard, not a dataset: assemble the shards with `simkit merge` first",
            dir.display()
        )));
    }
    let mut problems = crate::verify::Problems::default();
    if !crate::verify::check_files(dir, &m, &mut problems)? {
        return Err(problems.into_error(dir).unwrap_or_else(|| Error(format!("{}: damaged files", dir.display()))));
    }
    let kind = crate::kinds::lookup(&m.scenario.kind)?;
    let (headline, figures) = (kind.report)(dir, &m)?;
    let report = Report {
        scenario: m.scenario.name.clone(),
        kind: m.scenario.kind.clone(),
        fingerprint: m.fingerprint.clone(),
        headline,
        figures,
    };
    let svgs = report
        .figures
        .par_iter()
        .map(|f| Ok((format!("{}.svg", f.id), svg::render(&f.chart)?)))
        .collect::<Result<Vec<_>>>()?;
    let target = dir.join(REPORT_DIR);
    if target.exists() && !is_report(&target) {
        return Err(Error(format!(
            "{}: exists and is not a report simkit wrote; move it away first",
            target.display()
        )));
    }
    let partial =
        tempfile::Builder::new().prefix(".report.partial-").tempdir_in(dir).context(|| dir.display().to_string())?;
    let mut files = vec!["index.html".to_string()];
    files.extend(svgs.iter().map(|(name, _)| name.clone()));
    for (name, text) in
        svgs.iter().map(|(n, s)| (n.as_str(), s.as_str())).chain([("index.html", html::page(&report).as_str())])
    {
        let path = partial.path().join(name);
        std::fs::write(&path, text).context(|| path.display().to_string())?;
    }
    let index = serde_json::to_string_pretty(&Index { files, report: &report })
        .map_err(|e| Error(format!("report.json: {e}")))?;
    std::fs::write(partial.path().join(INDEX), index + "\n").context(|| partial.path().display().to_string())?;
    swap_in(partial, &target)?;
    Ok((target, report))
}

/// Renames the finished folder to `target`, the old report removed after.
fn swap_in(partial: tempfile::TempDir, target: &Path) -> Result<()> {
    let shown = || target.display().to_string();
    let old = target.with_file_name(format!(".report.old-{}", std::process::id()));
    if target.exists() {
        std::fs::rename(target, &old).context(shown)?;
    }
    let fresh = partial.keep();
    if let Err(e) = std::fs::rename(&fresh, target) {
        let _ = std::fs::rename(&old, target);
        let _ = std::fs::remove_dir_all(&fresh);
        return Err(Error(format!("{}: {e}", shown())));
    }
    if old.exists() {
        std::fs::remove_dir_all(&old).context(shown)?;
    }
    Ok(())
}

/// Whether `path` is a report simkit wrote: a `report.json` that lists
/// every file in the folder.
pub fn is_report(path: &Path) -> bool {
    let listed = std::fs::read_to_string(path.join(INDEX))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| {
            v.get("files")?
                .as_array()
                .map(|f| f.iter().filter_map(|x| x.as_str().map(String::from)).collect::<Vec<_>>())
        });
    let Some(listed) = listed else { return false };
    let Ok(entries) = std::fs::read_dir(path) else { return false };
    entries.flatten().all(|e| {
        let name = e.file_name().to_string_lossy().to_string();
        e.file_type().is_ok_and(|t| t.is_file()) && (name == INDEX || listed.contains(&name))
    })
}

/// The local day number (from `start`) and minute of day of the instant `ms` in `tz`.
pub fn local(tz: chrono_tz::Tz, start: chrono::NaiveDate, ms: i64) -> (i64, i64) {
    use chrono::{Offset, TimeZone};
    let utc = chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().naive_utc();
    let local = utc + chrono::Duration::seconds(tz.offset_from_utc_datetime(&utc).fix().local_minus_utc() as i64);
    ((local.date() - start).num_days(), (local.time() - chrono::NaiveTime::MIN).num_minutes())
}

/// The date of the dataset's day 0.
pub fn start_date(m: &Manifest) -> Result<chrono::NaiveDate> {
    m.scenario.start.parse().map_err(|_| Error("manifest: scenario.start is not a date".into()))
}

/// The clock of a single-clock kind (its manifest's `model.timezone`; UTC without one).
pub fn model_clock(m: &Manifest) -> Result<chrono_tz::Tz> {
    let name = m.model.get("timezone").and_then(|v| v.as_str()).unwrap_or("UTC");
    name.parse().map_err(|_| Error(format!("manifest: model.timezone `{name}` is not a time zone")))
}

/// Whether the entry `name` of a dataset is a folder an interrupted report left behind.
pub fn is_leftover(name: &str, path: &Path) -> bool {
    (name.starts_with(".report.partial-") || name.starts_with(".report.old-")) && path.is_dir()
}

/// The headline numbers as a terminal table.
pub fn headline_table(r: &Report) -> String {
    let width = r.headline.iter().map(|h| h.name.len()).max().unwrap_or(0);
    r.headline.iter().map(|h| format!("{:<width$}  {:>16}\n", h.name, h.shown())).collect()
}
