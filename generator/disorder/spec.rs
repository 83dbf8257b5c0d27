//! The `[disorder.<stream>]` sections as written (strict serde types whose
//! JSON Schema every kind's file embeds) and their validation against the
//! kind's streams, into a ready-to-apply [`Plan`].

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::error::Result;
use crate::kinds::Kind;
use crate::model::dist::{Dist, DistSpec};
use crate::scenario::common::Problems;
use crate::scenario::document::Document;
use crate::streams::{FieldFormat, RecordFormat, StreamSpec};

/// What a scenario file holds under `[disorder]`: one section per stream.
pub type DisorderSection = BTreeMap<String, StreamDisorderFile>;

/// Delays and shares in a scenario are bounded by a day: past it a record
/// is not late but lost.
pub const MAX_DELAY_S: f64 = 86_400.0;
/// The ghost-kitchen event columns a record shows as `null` when null.
const KITCHEN_NULLABLE: [&str; 7] = ["customer_lat", "customer_lon", "items", "route", "lat", "lon", "progress_pct"];
/// The longest tumbling window the truth is computed for (a week).
const MAX_WINDOW_S: u32 = 7 * 86_400;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StreamDisorderFile {
    /// A share of the records arrives late: after a delay drawn from `delay_s` (instead of the out-of-order lag).
    #[serde(default)]
    pub late: Option<DelayedShare>,
    /// A share of the delivered records is delivered again after `delay_s`, same id.
    #[serde(default)]
    pub duplicates: Option<DelayedShare>,
    /// Every record not late arrives 0 ..= this many seconds after its event time (uniform, whole ms).
    #[serde(default)]
    pub out_of_order_s: f64,
    /// The share of records never delivered.
    #[serde(default)]
    pub drop_share: f64,
    /// Per column, the share of delivered records whose value is null.
    #[serde(default)]
    pub nulls: BTreeMap<String, f64>,
    /// The columns that identify a record (`duplicate_of`, distinct events); the kind's default.
    #[serde(default)]
    pub id: Option<Vec<String>>,
    /// What the ground truth in `truth/` is computed for.
    #[serde(default)]
    pub truth: TruthFile,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DelayedShare {
    /// The probability that a record is affected (0 ..= 1).
    pub share: f64,
    /// Seconds of delay (0 ..= 86400).
    pub delay_s: DistSpec,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TruthFile {
    /// Tumbling window sizes in seconds.
    #[serde(default = "window_s")]
    pub window_s: Vec<u32>,
    /// Watermark delays in seconds.
    #[serde(default = "watermark_s")]
    pub watermark_s: Vec<u32>,
    /// Columns to group each window by (besides all records together).
    #[serde(default)]
    pub keys: Vec<String>,
    /// Numeric columns to sum per window; default: every numeric field of the record.
    #[serde(default)]
    pub sums: Option<Vec<String>>,
    /// The column whose distinct values `distinct_ids` counts; default: the stream's key.
    #[serde(default)]
    pub distinct: Option<String>,
}

impl Default for TruthFile {
    fn default() -> Self {
        TruthFile { window_s: window_s(), watermark_s: watermark_s(), keys: Vec::new(), sums: None, distinct: None }
    }
}

fn window_s() -> Vec<u32> {
    vec![60, 300, 3600]
}
fn watermark_s() -> Vec<u32> {
    vec![0, 300, 600, 1800]
}

/// A validated share with its delay distribution.
#[derive(Clone, Debug)]
pub struct Delay {
    pub share: f64,
    pub delay: Dist,
}

/// One stream's disorder, validated.
#[derive(Clone, Debug)]
pub struct StreamPlan {
    /// The stream's position in the kind's declaration (seeds its draws).
    pub index: usize,
    pub stream: StreamSpec,
    pub late: Option<Delay>,
    pub duplicates: Option<Delay>,
    pub out_of_order_ms: i64,
    pub drop_share: f64,
    pub nulls: Vec<(String, f64)>,
    pub id: Vec<String>,
    pub window_s: Vec<u32>,
    pub watermark_s: Vec<u32>,
    pub keys: Vec<String>,
    pub sums: Vec<String>,
    pub distinct: String,
}

/// Every stream's disorder, in the kind's stream order.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    pub streams: Vec<StreamPlan>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.streams.is_empty()
    }

    /// What `validate` says of it: each disordered stream and its shares.
    pub fn summary(&self) -> String {
        let pct = |x: f64| format!("{} %", crate::figures::number(x * 100.0));
        let streams: Vec<String> = self
            .streams
            .iter()
            .map(|s| {
                let mut parts = Vec::new();
                if s.out_of_order_ms > 0 {
                    parts.push(format!(
                        "out of order by up to {} s",
                        crate::figures::number(s.out_of_order_ms as f64 / 1000.0)
                    ));
                }
                if let Some(l) = &s.late {
                    parts.push(format!("{} late", pct(l.share)));
                }
                if let Some(d) = &s.duplicates {
                    parts.push(format!("{} duplicated", pct(d.share)));
                }
                if s.drop_share > 0.0 {
                    parts.push(format!("{} dropped", pct(s.drop_share)));
                }
                parts.extend(s.nulls.iter().map(|(c, share)| format!("{} null {c}", pct(*share))));
                format!(
                    "{} ({})",
                    s.stream.name,
                    if parts.is_empty() { "as generated".into() } else { parts.join(", ") }
                )
            })
            .collect();
        format!("disordered streams: {}", streams.join("; "))
    }
}

/// The columns of a stream's record and whether each is numeric.
fn record_columns(spec: &StreamSpec) -> Vec<(String, bool)> {
    match spec.record {
        RecordFormat::Fields => spec
            .fields
            .iter()
            .map(|f| {
                (f.column.clone(), matches!(f.format, FieldFormat::Int | FieldFormat::Float | FieldFormat::Decimal))
            })
            .collect(),
        RecordFormat::GhostKitchenEvent => crate::events::events_schema()
            .fields()
            .iter()
            .map(|f| (f.name().clone(), f.data_type().is_numeric()))
            .collect(),
    }
}

/// Reads `[disorder]` from a document whose shape the kind has checked.
pub fn load(doc: &Document, kind: &Kind) -> Result<Plan> {
    #[derive(Deserialize)]
    struct Only {
        #[serde(default)]
        disorder: DisorderSection,
    }
    let section = doc.deserialize::<Only>()?.disorder;
    let declared = (kind.streams)();
    let mut p = Problems::default();
    let mut streams = Vec::new();
    for (name, file) in &section {
        let Some(index) = declared.iter().position(|s| &s.name == name) else {
            let names: Vec<&str> = declared.iter().map(|s| s.name.as_str()).collect();
            let hint = crate::scenario::shape::suggestion(name, names.iter().copied())
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            p.key(
                &format!("disorder.{name}"),
                format!("expected a stream of this {} scenario{hint}: {}", kind.name, names.join(", ")),
            );
            continue;
        };
        let ids = kind.ids.iter().find(|(s, _)| s == name).map(|(_, ids)| ids.iter().map(|c| c.to_string()).collect());
        if let Some(plan) = validate(&mut p, &format!("disorder.{name}"), file, index, &declared[index], ids) {
            streams.push(plan);
        }
    }
    if !p.0.is_empty() {
        return Err(doc.errors(&p.0));
    }
    streams.sort_by_key(|s| s.index);
    Ok(Plan { streams })
}

fn share(p: &mut Problems, path: &str, v: f64) {
    p.num(path, (0.0..=1.0).contains(&v), "a share in 0 ..= 1", v);
}

fn delay(p: &mut Problems, path: &str, d: &Option<DelayedShare>) -> Option<Option<Delay>> {
    let Some(d) = d else { return Some(None) };
    share(p, &format!("{path}.share"), d.share);
    let delay = p.dist_within(&format!("{path}.delay_s"), &d.delay_s, 0.0, MAX_DELAY_S, "seconds, at most a day")?;
    Some(Some(Delay { share: d.share, delay }))
}

/// `names` must each be one of `columns` that `ok` accepts; `what` says which.
fn columns_in(
    p: &mut Problems,
    path: &str,
    names: &[String],
    columns: &[(String, bool)],
    ok: impl Fn(&str, bool) -> bool,
    what: &str,
) {
    for (i, n) in names.iter().enumerate() {
        if !columns.iter().any(|(c, numeric)| c == n && ok(c, *numeric)) {
            let known: Vec<&str> = columns.iter().filter(|(c, num)| ok(c, *num)).map(|(c, _)| c.as_str()).collect();
            p.key(&format!("{path}.{i}"), format!("expected {what} ({}), found {n:?}", known.join(", ")));
        }
    }
}

fn validate(
    p: &mut Problems,
    path: &str,
    f: &StreamDisorderFile,
    index: usize,
    spec: &StreamSpec,
    kind_ids: Option<Vec<String>>,
) -> Option<StreamPlan> {
    let columns = record_columns(spec);
    let late = delay(p, &format!("{path}.late"), &f.late);
    let duplicates = delay(p, &format!("{path}.duplicates"), &f.duplicates);
    let jitter_ok = (0.0..=MAX_DELAY_S).contains(&f.out_of_order_s);
    p.num(&format!("{path}.out_of_order_s"), jitter_ok, "seconds in 0 ..= 86400", f.out_of_order_s);
    share(p, &format!("{path}.drop_share"), f.drop_share);
    let id = f.id.clone().or(kind_ids).unwrap_or_else(|| vec![spec.key.clone(), spec.time.clone()]);
    columns_in(p, &format!("{path}.id"), &id, &columns, |_, _| true, "a column of the record");
    if f.id.as_ref().is_some_and(Vec::is_empty) {
        p.key(&format!("{path}.id"), "expected at least one column".into());
    }
    // Watermark truth reads the time and keys from the delivered table, so they stay whole.
    let keys = &f.truth.keys;
    let protected = |c: &str| c == spec.time || c == spec.key || id.iter().chain(keys).any(|i| i == c);
    // The ghost kitchen's record writes these columns' nulls as `null` (replay::record).
    let nullable = |c: &str| spec.record == RecordFormat::Fields || KITCHEN_NULLABLE.contains(&c);
    for (column, s) in &f.nulls {
        let key = format!("{path}.nulls.{column}");
        if !columns.iter().any(|(c, _)| c == column) || protected(column) || !nullable(column) {
            let known: Vec<&str> =
                columns.iter().map(|(c, _)| c.as_str()).filter(|c| !protected(c) && nullable(c)).collect();
            p.key(
                &key,
                format!("expected a field that is not the time, key, id or a truth key ({})", known.join(", ")),
            );
        } else {
            share(p, &key, *s);
        }
    }
    let t = &f.truth;
    let tpath = format!("{path}.truth");
    for (i, &w) in t.window_s.iter().enumerate() {
        p.check(&format!("{tpath}.window_s.{i}"), (1..=MAX_WINDOW_S).contains(&w), "seconds in 1 ..= 604800", w);
    }
    for (i, &d) in t.watermark_s.iter().enumerate() {
        p.check(&format!("{tpath}.watermark_s.{i}"), d as f64 <= MAX_DELAY_S, "seconds in 0 ..= 86400", d);
    }
    columns_in(p, &format!("{tpath}.keys"), &t.keys, &columns, |_, _| true, "a column of the record");
    // By default every numeric field of a `fields` record; the ghost kitchen's coordinates add up to nothing.
    let sums = t.sums.clone().unwrap_or_else(|| match spec.record {
        RecordFormat::Fields => columns.iter().filter(|(c, n)| *n && !protected(c)).map(|(c, _)| c.clone()).collect(),
        RecordFormat::GhostKitchenEvent => Vec::new(),
    });
    columns_in(p, &format!("{tpath}.sums"), &sums, &columns, |_, numeric| numeric, "a numeric column");
    let distinct = t.distinct.clone().unwrap_or_else(|| spec.key.clone());
    if !columns.iter().any(|(c, _)| *c == distinct) {
        let known: Vec<&str> = columns.iter().map(|(c, _)| c.as_str()).collect();
        p.key(
            &format!("{tpath}.distinct"),
            format!("expected a column of the record ({}), found {distinct:?}", known.join(", ")),
        );
    }
    Some(StreamPlan {
        index,
        stream: spec.clone(),
        late: late?,
        duplicates: duplicates?,
        out_of_order_ms: (f.out_of_order_s * 1000.0).round() as i64,
        drop_share: f.drop_share,
        nulls: f.nulls.iter().map(|(c, s)| (c.clone(), *s)).collect(),
        id,
        window_s: sorted_unique(&t.window_s),
        watermark_s: sorted_unique(&t.watermark_s),
        keys: t.keys.clone(),
        sums,
        distinct,
    })
}

fn sorted_unique(v: &[u32]) -> Vec<u32> {
    let mut v = v.to_vec();
    v.sort_unstable();
    v.dedup();
    v
}
