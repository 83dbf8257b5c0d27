//! What every scenario kind shares when it reads its file: the `[time]`
//! section, the list of validation problems (each at its key, reported all at
//! once), the checks of the name and the time window, and exact prices.

use schemars::JsonSchema;
use serde::Deserialize;

use super::document::{key_path, Document, KeyPath};
use crate::error::Result;
use crate::figures::number;
use crate::model::calendar::Calendar;
use crate::model::curve::{parse_clock, Peak, PeakShape};
use crate::model::dist::{Dist, DistSpec};

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeSpec {
    /// The date of day 0, "YYYY-MM-DD" (a kind with local clocks reads it on each clock).
    pub start: String,
    pub days: u32,
}

/// An intraday peak as written: `{ start = "11:00", end = "13:30", multiplier = 3.0, shape = "sin2" }`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PeakSpec {
    pub start: String,
    pub end: String,
    pub multiplier: f64,
    #[serde(default = "default_shape")]
    pub shape: PeakShape,
}

fn default_shape() -> PeakShape {
    PeakShape::Sin2
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    #[serde(default = "row_group_rows")]
    pub row_group_rows: u32,
    #[serde(default = "zstd_level")]
    pub zstd_level: i32,
}

impl Default for OutputSpec {
    fn default() -> Self {
        OutputSpec { row_group_rows: row_group_rows(), zstd_level: zstd_level() }
    }
}

fn row_group_rows() -> u32 {
    65_536
}
fn zstd_level() -> i32 {
    3
}

/// The validation problems found so far, each at its key.
#[derive(Default)]
pub struct Problems(pub Vec<(KeyPath, String)>);

impl Problems {
    pub fn key(&mut self, path: &str, message: String) {
        self.0.push((key_path(path), message));
    }

    pub fn dist(&mut self, path: &str, spec: &DistSpec) -> Option<Dist> {
        match spec.compile() {
            Ok(d) => Some(d),
            Err(problems) => {
                for (sub, msg) in problems {
                    self.key(&format!("{path}.{sub}"), msg);
                }
                None
            }
        }
    }

    /// A distribution every draw of which lies in `lo ..= hi` (`what` says why).
    pub fn dist_within(&mut self, path: &str, spec: &DistSpec, lo: f64, hi: f64, what: &str) -> Option<Dist> {
        let d = self.dist(path, spec)?;
        let (min, max) = d.bounds();
        if min < lo || max > hi {
            let range = if hi.is_finite() { format!("{lo} ..= {hi}") } else { format!(">= {lo}") };
            self.key(
                &format!("{path}.{}", spec.family()),
                format!("expected draws in {range} ({what}); this distribution gives values from {min} to {max}"),
            );
            return None;
        }
        Some(d)
    }

    /// [`Self::check`] for a number, shown readably at any size.
    pub fn num(&mut self, path: &str, ok: bool, want: &str, found: f64) {
        self.check(path, ok, want, number(found));
    }

    /// `v` must lie in the range `ok` accepts; `want` says what was expected.
    pub fn check(&mut self, path: &str, ok: bool, want: &str, found: impl std::fmt::Display) {
        if !ok {
            self.key(path, format!("expected {want}, found {found}"));
        }
    }
}

/// A plain identifier: letters, digits, `_` and `-`, starting with a letter or digit.
pub fn is_identifier(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && s.len() <= 100
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// The name and the time window every kind shares.
pub fn validate_header(p: &mut Problems, name: &str, time: &TimeSpec) -> Option<Calendar> {
    p.check("name", is_identifier(name), "a plain name (letters, digits, `_` and `-`)", format!("{name:?}"));
    let days_ok = (1..=36_500).contains(&time.days);
    p.check("time.days", days_ok, "1 ..= 36500 days", time.days);
    let start = chrono::NaiveDate::parse_from_str(&time.start, "%Y-%m-%d").ok();
    let in_range = start.is_some_and(|d| (1900..=9899).contains(&chrono::Datelike::year(&d)));
    p.check("time.start", in_range, "a date \"YYYY-MM-DD\" from 1900-01-01 to 9899-12-31", format!("{:?}", time.start));
    // Without a valid window there is nothing to bound (and no day loop may run).
    let start = start.filter(|_| in_range && days_ok)?;
    Some(Calendar { start, days: time.days })
}

/// The `[output]` section every kind shares.
pub fn validate_output(p: &mut Problems, output: &OutputSpec) {
    let rows = output.row_group_rows;
    p.check("output.row_group_rows", (1..=1 << 24).contains(&rows), "1 ..= 16777216 rows", rows);
    let level = output.zstd_level;
    p.check("output.zstd_level", (1..=22).contains(&level), "a zstd level in 1 ..= 22", level);
}

/// The document against its kind's JSON Schema: every shape problem at once.
pub fn check_shape(doc: &Document, schema: &serde_json::Value) -> Result<()> {
    let problems = super::shape::check(&toml::Value::Table(doc.value().clone()), schema);
    if problems.is_empty() {
        return Ok(());
    }
    Err(doc.errors(&problems.into_iter().map(|p| (p.path, p.message)).collect::<Vec<_>>()))
}

/// Peak and weekday multipliers at most: beyond, the weights lose meaning.
pub const MAX_MULTIPLIER: f64 = 1000.0;

/// The peaks at `key` (`key.0`, `key.1`, ...), each checked.
pub fn validate_peaks(p: &mut Problems, key: &str, specs: &[PeakSpec]) -> Vec<Peak> {
    let mut peaks = Vec::new();
    for (i, peak) in specs.iter().enumerate() {
        let key = format!("{key}.{i}");
        let multiplier_ok = (0.0..=MAX_MULTIPLIER).contains(&peak.multiplier);
        p.num(&format!("{key}.multiplier"), multiplier_ok, "a multiplier in 0 ..= 1000", peak.multiplier);
        match (parse_clock(&peak.start), parse_clock(&peak.end)) {
            (Ok(s), Ok(e)) if e > s => {
                peaks.push(Peak { start_min: s, end_min: e, multiplier: peak.multiplier, shape: peak.shape })
            }
            (Ok(_), Ok(_)) => {
                p.check(&format!("{key}.end"), false, &format!("end after start ({})", peak.start), &peak.end)
            }
            (Err(m), _) => p.key(&format!("{key}.start"), m),
            (_, Err(m)) => p.key(&format!("{key}.end"), m),
        }
    }
    peaks
}

/// The dearest price a table may hold, in cents (keeps every order or
/// line total within the tables' decimal(12, 2)).
pub const MAX_PRICE_CENTS: i64 = 100_000_000;

/// Exact cents of a price written like `8.08` (0 ..= 1000000.00, at most 2 decimals).
pub fn parse_cents(price: &str) -> Option<i64> {
    let (whole, frac) = price.split_once('.').unwrap_or((price, ""));
    if whole.is_empty()
        || frac.len() > 2
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let frac_cents = format!("{frac:0<2}").parse::<i64>().ok()?;
    let cents = whole.parse::<i64>().ok()?.checked_mul(100)?.checked_add(frac_cents)?;
    (cents <= MAX_PRICE_CENTS).then_some(cents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cents_are_exact() {
        assert_eq!(parse_cents("8.08"), Some(808));
        assert_eq!(parse_cents("12"), Some(1200));
        assert_eq!(parse_cents("0.5"), Some(50));
        assert_eq!(parse_cents("1.234"), None);
        assert_eq!(parse_cents("-1.00"), None);
        assert_eq!(parse_cents("abc"), None);
        assert_eq!(parse_cents("1000000.00"), Some(MAX_PRICE_CENTS));
        assert_eq!(parse_cents("1000000.01"), None);
        assert_eq!(parse_cents("99999999999999999999"), None);
    }
}
