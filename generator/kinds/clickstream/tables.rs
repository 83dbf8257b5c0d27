//! The clickstream dataset's tables, in time order: `events` (event_id,
//! session_id, user_id, event_type, value, event_time), `impressions`
//! (impression_id, ad_id, user_id, impression_time) and `clicks` (click_id,
//! impression_id, click_time, orphan), and the three streams they replay as.

use std::fmt::Write;
use std::ops::Range;
use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, Decimal128Array, RecordBatch, StringArray, StringBuilder};
use arrow::datatypes::{DataType, SchemaRef};
use chrono::Datelike;

use super::model::Run;
use super::{ClickstreamScenario, MAX_GAP_S, MAX_SESSION_EVENTS};
use crate::events::{money, utc_ms};
use crate::sinks::dims::{required_schema, utc_times};
use crate::sinks::{Special, Table};
use crate::streams::{FieldFormat, StreamSpec};

/// The table names, in manifest order.
pub const TABLES: [&str; 3] = ["events", "impressions", "clicks"];

/// `<prefix><n>` with at least 3 digits, as many as `count` needs
/// (USER001 ..= USER100), for each `n`: written straight into the column.
fn numbered(prefix: &str, ns: impl Iterator<Item = u32>, count: u32) -> ArrayRef {
    let width = count.to_string().len().max(3);
    let mut column = StringBuilder::new();
    for n in ns {
        let _ = write!(column, "{prefix}{n:0width$}");
        column.append_value("");
    }
    Arc::new(column.finish())
}

/// `<prefix><yyyymmdd>-<n, 7 digits>`, then `-<step, 4 digits>` if given,
/// for each `(day, n, step)`: ids unique over the run and readable.
fn day_ids(s: &ClickstreamScenario, prefix: char, ids: impl Iterator<Item = (u32, u32, Option<u32>)>) -> ArrayRef {
    let mut column = StringBuilder::new();
    for (day, n, step) in ids {
        let date = s.calendar.date(day);
        let _ = write!(column, "{prefix}{:04}{:02}{:02}-{n:07}", date.year(), date.month(), date.day());
        if let Some(step) = step {
            let _ = write!(column, "-{step:04}");
        }
        column.append_value("");
    }
    Arc::new(column.finish())
}

fn strings<'a>(v: impl Iterator<Item = &'a str>) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(v))
}

pub fn events_schema() -> SchemaRef {
    required_schema(&[
        ("event_id", DataType::Utf8),
        ("session_id", DataType::Utf8),
        ("user_id", DataType::Utf8),
        ("event_type", DataType::Utf8),
        ("value", money()),
        ("event_time", utc_ms()),
    ])
}

fn events_batch(s: &ClickstreamScenario, run: &Run, rows: Range<usize>) -> RecordBatch {
    let r = &run.events[rows];
    let values = Decimal128Array::from_iter_values(r.iter().map(|e| e.value_cents as i128))
        .with_precision_and_scale(12, 2)
        .expect("decimal(12, 2)");
    let columns: Vec<ArrayRef> = vec![
        day_ids(s, 'E', r.iter().map(|e| (e.day, e.session, Some(e.step)))),
        day_ids(s, 'S', r.iter().map(|e| (e.day, e.session, None))),
        numbered("USER", r.iter().map(|e| e.user), s.users),
        strings(r.iter().map(|e| s.chain.states[e.state as usize].as_str())),
        Arc::new(values),
        utc_times(r.iter().map(|e| e.ts)),
    ];
    RecordBatch::try_new(events_schema(), columns).expect("event columns match their schema")
}

pub fn impressions_schema() -> SchemaRef {
    required_schema(&[
        ("impression_id", DataType::Utf8),
        ("ad_id", DataType::Utf8),
        ("user_id", DataType::Utf8),
        ("impression_time", utc_ms()),
    ])
}

fn impressions_batch(s: &ClickstreamScenario, run: &Run, rows: Range<usize>) -> RecordBatch {
    let r = &run.impressions[rows];
    let columns: Vec<ArrayRef> = vec![
        day_ids(s, 'I', r.iter().map(|i| (i.day, i.seq, None))),
        numbered("AD", r.iter().map(|i| i.ad), s.ads),
        numbered("USER", r.iter().map(|i| i.user), s.users),
        utc_times(r.iter().map(|i| i.ts)),
    ];
    RecordBatch::try_new(impressions_schema(), columns).expect("impression columns match their schema")
}

pub fn clicks_schema() -> SchemaRef {
    required_schema(&[
        ("click_id", DataType::Utf8),
        ("impression_id", DataType::Utf8),
        ("click_time", utc_ms()),
        ("orphan", DataType::Boolean),
    ])
}

fn clicks_batch(s: &ClickstreamScenario, run: &Run, rows: Range<usize>) -> RecordBatch {
    let r = &run.clicks[rows];
    let columns: Vec<ArrayRef> = vec![
        day_ids(s, 'C', r.iter().map(|c| (c.day, c.seq, None))),
        day_ids(s, 'I', r.iter().map(|c| (c.impression.0, c.impression.1, None))),
        utc_times(r.iter().map(|c| c.ts)),
        Arc::new(BooleanArray::from_iter(r.iter().map(|c| Some(c.orphan)))),
    ];
    RecordBatch::try_new(clicks_schema(), columns).expect("click columns match their schema")
}

const EVENTS_SPECIAL: &[Special] = &[Special::SortKey("event_time")];
const IMPRESSIONS_SPECIAL: &[Special] = &[Special::SortKey("impression_time")];
const CLICKS_SPECIAL: &[Special] = &[Special::SortKey("click_time")];

/// The tables that grow with time and their columns' encodings, as [`tables`] makes them.
pub const STREAMED: &[(&str, &[Special])] =
    &[("events", EVENTS_SPECIAL), ("impressions", IMPRESSIONS_SPECIAL), ("clicks", CLICKS_SPECIAL)];

/// The tables of a run, largest first.
pub fn tables<'a>(s: &'a ClickstreamScenario, run: &'a Run) -> Vec<Table<'a>> {
    vec![
        Table {
            name: "events".into(),
            schema: events_schema(),
            rows: run.events.len(),
            special: EVENTS_SPECIAL,
            batch: Box::new(move |rows| events_batch(s, run, rows)),
        },
        Table {
            name: "impressions".into(),
            schema: impressions_schema(),
            rows: run.impressions.len(),
            special: IMPRESSIONS_SPECIAL,
            batch: Box::new(move |rows| impressions_batch(s, run, rows)),
        },
        Table {
            name: "clicks".into(),
            schema: clicks_schema(),
            rows: run.clicks.len(),
            special: CLICKS_SPECIAL,
            batch: Box::new(move |rows| clicks_batch(s, run, rows)),
        },
    ]
}

/// What verify reads back from the manifest.
pub fn model_facts(s: &ClickstreamScenario) -> std::collections::BTreeMap<String, serde_json::Value> {
    let (lo, hi) = s.value.bounds();
    let types: Vec<&String> = s.chain.states.iter().filter(|t| *t != super::END).collect();
    [
        ("users", serde_json::json!(s.users)),
        ("ads", serde_json::json!(s.ads)),
        ("event_types", serde_json::json!(types)),
        ("value_min_cents", serde_json::json!((lo * 100.0).round() as i64)),
        ("value_max_cents", serde_json::json!((hi * 100.0).round() as i64)),
        ("max_click_delay_ms", serde_json::json!(s.max_click_delay_ms)),
        ("max_session_span_ms", serde_json::json!(super::model::session_span_ms(s))),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Clicks joined to their impressions within the bound (the manifest's `max_click_delay_ms`).
pub fn joins(m: &crate::sinks::manifest::Manifest) -> Vec<crate::disorder::JoinSpec> {
    let bound_ms = m.model.get("max_click_delay_ms").and_then(serde_json::Value::as_i64).unwrap_or(0);
    vec![crate::disorder::JoinSpec {
        name: "clicks_to_impressions".into(),
        left: "impressions".into(),
        left_time: "impression_time".into(),
        right: "clicks".into(),
        right_time: "click_time".into(),
        on: "impression_id".into(),
        bound_ms,
    }]
}

/// The streams: user events keyed by user, impressions and clicks keyed by
/// impression (a click lands in its impression's partition). A session may
/// run past its day by at most `max_events` gaps; a click by a day.
pub fn streams() -> Vec<StreamSpec> {
    use FieldFormat::*;
    let session_span_ms = (MAX_SESSION_EVENTS as f64 * MAX_GAP_S * 1000.0) as i64;
    let mut events = StreamSpec::fields(
        "events",
        "event_time",
        "user_id",
        &[
            ("event_id", Id),
            ("session_id", Id),
            ("user_id", String),
            ("event_type", String),
            ("value", Decimal),
            ("event_time", Time),
        ],
    );
    events.late_ms = session_span_ms;
    let impressions = StreamSpec::fields(
        "impressions",
        "impression_time",
        "impression_id",
        &[("impression_id", Id), ("ad_id", String), ("user_id", String), ("impression_time", Time)],
    );
    let mut clicks = StreamSpec::fields(
        "clicks",
        "click_time",
        "impression_id",
        &[("click_id", Id), ("impression_id", Id), ("click_time", Time)],
    );
    clicks.late_ms = 86_400_000;
    vec![events, impressions, clicks]
}
