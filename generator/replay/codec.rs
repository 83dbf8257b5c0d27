//! A stream's record format, chosen by its declaration
//! ([`crate::streams::RecordFormat`]): the columns to read, typing a decoded
//! range once, and appending one row's record to a chunk.

use arrow::array::RecordBatch;

use super::encoded::Encoded;
use super::fields::{FieldRows, FieldsCodec};
use super::record::{Decoded, Encoder};
use super::source::TableFile;
use crate::error::{Error, Result};
use crate::streams::{RecordFormat, StreamSpec};

/// The wire format of every replayed record (`--format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum WireFormat {
    #[default]
    Json,
    Protobuf,
}

impl WireFormat {
    pub fn parse(s: &str) -> Result<WireFormat> {
        match s {
            "json" => Ok(WireFormat::Json),
            "protobuf" => Ok(WireFormat::Protobuf),
            _ => Err(Error(format!("--format {s}: expected `json` or `protobuf`"))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            WireFormat::Json => "json",
            WireFormat::Protobuf => "protobuf",
        }
    }
}

#[derive(Clone)]
pub enum Codec {
    Kitchen(Encoder),
    Fields(FieldsCodec),
}

/// Decoded rows of one stream: in-stream index of row 0, event times, columns.
pub struct Rows {
    pub first: u64,
    pub ts: Vec<i64>,
    body: Body,
}

enum Body {
    Kitchen(Box<Decoded>),
    Fields(FieldRows),
}

impl Codec {
    pub fn new(spec: &StreamSpec, format: WireFormat, fingerprint: &str, lap_ms: i64) -> Result<Codec> {
        match (spec.record, format) {
            (RecordFormat::GhostKitchenEvent, WireFormat::Json) => {
                Ok(Codec::Kitchen(Encoder::new(fingerprint, lap_ms)))
            }
            (RecordFormat::GhostKitchenEvent, WireFormat::Protobuf) => {
                Err(Error(format!("--format protobuf: stream `{}` has no protobuf message", spec.name)))
            }
            (RecordFormat::Fields, f) => Ok(Codec::Fields(FieldsCodec::new(spec, f == WireFormat::Protobuf, lap_ms)?)),
        }
    }

    pub fn set_lap_ms(&mut self, lap_ms: i64) {
        match self {
            Codec::Kitchen(e) => e.lap_ms = lap_ms,
            Codec::Fields(f) => f.lap_ms = lap_ms,
        }
    }

    pub fn columns(&self) -> Vec<&str> {
        match self {
            Codec::Kitchen(e) => e.columns(),
            Codec::Fields(f) => f.columns(),
        }
    }

    /// Types a batch of `file`'s rows starting at in-stream row `first`.
    pub fn decode(&self, file: &TableFile, first: u64, b: &RecordBatch) -> Result<Rows> {
        let ts = file.times(b)?;
        let body = match self {
            Codec::Kitchen(_) => Body::Kitchen(Box::new(Decoded::new(file.path(), first, ts.clone(), b)?)),
            Codec::Fields(f) => Body::Fields(f.decode(file.path(), b)?),
        };
        Ok(Rows { first, ts, body })
    }

    /// Appends the record of in-stream row `idx` (held by `rows`) in lap `lap`.
    #[inline]
    pub fn encode(&mut self, rows: &Rows, idx: u64, lap: u64, stream: u16, out: &mut Encoded) {
        let i = (idx - rows.first) as usize;
        match (self, &rows.body) {
            (Codec::Kitchen(e), Body::Kitchen(d)) => e.encode(d, i, lap, stream, out),
            (Codec::Fields(f), Body::Fields(r)) => f.encode(r, i, rows.ts[i], lap, stream, out),
            _ => unreachable!("rows are decoded by their own stream's codec"),
        }
    }
}
