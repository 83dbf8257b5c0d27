//! What a dataset streams: each kind declares its streams (a table in time
//! order, its time and key columns, the record a row becomes), `generate`
//! writes the declaration into the manifest (`streams`, outside the
//! fingerprint) for the Spark source, and `replay` reads the kind's own
//! declaration, refusing a manifest whose copy differs. Replay knows nothing
//! else about a kind: adding one adds a declaration, not replay code.
//!
//! # The `fields` record
//! A JSON object, one line per record, keys in declaration order, no spaces:
//! `{"<name>":<value>,...}\n`. Values by the field's `as`:
//! - `string`: the text, escaped as in [`crate::replay::record`]; `id`: the
//!   same, with the lap suffix `-<lap>` from lap 1 on (ids stay unique over laps);
//! - `int`: decimal; `float`: the shortest text that reads back as the same
//!   float64, as Python's `repr` (`0.1`, `45.0`, `1e-05`);
//! - `decimal`: a Decimal128 with scale 2 as `<units>.<2 digits>` (`4.99`);
//! - `bool`: `true`/`false`; `bool01`: `1`/`0`;
//! - `time`: a timestamp, lap shift included, as UTC `YYYY-MM-DD HH:MM:SS.ffffff`;
//! - `date`: a date (Date32), lap shift included, as `YYYY-MM-DD`.
//!
//! A stream with `proto` also has a protobuf record: the message of that
//! file, each field at its `tag`, `string`/`id`/`time`/`date` as strings,
//! `float` as double, `int` as int64, `bool`/`bool01` as bool, `decimal` as
//! double; fields equal to their type's default are omitted (proto3).

use serde::{Deserialize, Serialize};

/// One stream of a dataset.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StreamSpec {
    pub name: String,
    /// The Parquet table (`<table>.parquet`), in time order.
    pub table: String,
    /// The event-time column: a timestamp (ms, UTC) or a date (UTC midnight).
    pub time: String,
    /// The column whose emitted value is the Kafka key.
    pub key: String,
    pub record: RecordFormat,
    /// The fields of a `fields` record, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<Field>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proto: Option<Proto>,
    /// How far past the window's end a record may lie (an order placed late
    /// on the last day is delivered after midnight).
    pub late_ms: i64,
}

/// How a row becomes a record.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RecordFormat {
    /// The ghost kitchen's event record (`replay::record`).
    GhostKitchenEvent,
    /// A flat object of declared fields (this module's doc).
    Fields,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Field {
    /// The record's key.
    pub name: String,
    /// The table column it comes from.
    pub column: String,
    #[serde(rename = "as")]
    pub format: FieldFormat,
    /// Its protobuf field number (streams with `proto`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<u32>,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FieldFormat {
    String,
    Id,
    Int,
    Float,
    Decimal,
    Bool,
    Bool01,
    Time,
    Date,
}

/// The protobuf message a stream's records can be sent as.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Proto {
    /// The `.proto` file shipped beside the data.
    pub file: String,
    pub message: String,
}

impl StreamSpec {
    /// A `fields` stream of `table` named after it.
    pub fn fields(table: &str, time: &str, key: &str, fields: &[(&str, FieldFormat)]) -> StreamSpec {
        StreamSpec {
            name: table.into(),
            table: table.into(),
            time: time.into(),
            key: key.into(),
            record: RecordFormat::Fields,
            fields: fields
                .iter()
                .map(|&(name, format)| Field { name: name.into(), column: name.into(), format, tag: None })
                .collect(),
            proto: None,
            late_ms: 0,
        }
    }

    /// The same stream with a protobuf message whose field numbers follow
    /// the declaration order (1, 2, ...).
    pub fn with_proto(mut self, file: &str, message: &str) -> StreamSpec {
        for (i, f) in self.fields.iter_mut().enumerate() {
            f.tag = Some(i as u32 + 1);
        }
        self.proto = Some(Proto { file: file.into(), message: message.into() });
        self
    }
}
