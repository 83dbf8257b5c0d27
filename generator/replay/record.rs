//! The streamed event record: one JSON object per line, encoded by hand into
//! a reusable byte buffer (no allocation and no serde per event). This doc is
//! the format's specification; the Spark source reproduces it byte for byte.
//!
//! # Record
//!
//! ```text
//! {"event_id":"<uuid>","event_type":"<name>","ts":"YYYY-MM-DD HH:MM:SS.mmm","location_id":<int>,"order_id":"<id>","sequence":<int>,"body":"<escaped body>"}\n
//! ```
//!
//! Keys in exactly this order, no spaces, `\n` after each record.
//! - `event_id`: see [`super::event_id`]: `uuid5(uuid5(NAMESPACE_URL,
//!   "https://simkit.dev/event"), "<manifest fingerprint>/<order_id as emitted>/<sequence>")`.
//! - `event_type`: the `event_type` column's value.
//! - `ts`: the event time plus `lap * lap_length_ms` (see [`super::schedule`]),
//!   as UTC `YYYY-MM-DD HH:MM:SS.mmm`.
//! - `location_id`, `sequence`: decimal integers.
//! - `order_id`: the order id in lap 0; `<order id>-<lap>` in lap `k >= 1`
//!   (e.g. `QJYW0C-2`), so ids stay unique over laps.
//! - `body`: a JSON string whose content is a compact JSON object (no spaces),
//!   by event type:
//!   - `order_created`: `{"customer_lat":F6,"customer_lon":F6,"customer_addr":"S","items":[I,...]}`,
//!     each item `{"id":<item_id>,"name":"S","price":P,"qty":<int>,"brand_id":<int>}`
//!   - `driver_picked_up`: `{"route_points":[[F6,F6],...]}` (lat, lon from the kitchen to the customer)
//!   - `driver_ping`: `{"progress_pct":F2,"loc_lat":F6,"loc_lon":F6}` (from `progress_pct`, `lat`, `lon`)
//!   - `delivered`: `{"delivered_lat":F6,"delivered_lon":F6}` (from `lat`, `lon`)
//!   - any other type: `{}`
//!
//! # Numbers and strings
//! - `F6` / `F2`: the float32 column value converted to float64 (exact) and
//!   printed with exactly 6 / 2 digits after the point, rounding half to even
//!   on the exact binary value, `-` kept for negatives (`-0.000000`): Rust
//!   `format!("{:.6}", x as f64)`, Python `f"{x:.6f}"`. A null value, NaN or
//!   infinity is written `null`; so is a null list.
//! - `P`: the Decimal128(12, 2) price as `<cents / 100>.<cents % 100, 2 digits>` (`8.08`, `8.00`).
//! - Strings are escaped as Python's `json.dumps(..., ensure_ascii=False)`
//!   does: `"` `\` and control characters only (`\b \f \n \r \t`, else
//!   `\u00xx` lowercase); other UTF-8 is written as is. A string inside the
//!   body is escaped once as body JSON, then the whole body again as the
//!   `body` string value. In Python: `body = json.dumps(obj, separators=(",", ":"),
//!   ensure_ascii=False)` with floats pre-formatted as above, then the record's
//!   `json.dumps(body, ensure_ascii=False)`.

use std::path::Path;

use arrow::array::{
    Array, AsArray, Decimal128Array, DictionaryArray, Float32Array, Int16Array, Int8Array, ListArray, RecordBatch,
    StringArray,
};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int8Type};

use super::encoded::Encoded;
use super::event_id::EventIds;
use super::numfmt::{write_cents, write_escaped, write_escaped_twice, write_fixed, write_int, write_point, write_ts};
use crate::error::{Context, Error, Result};

/// The columns a record is built from, in the order they are projected.
const COLUMNS: [&str; 13] = [
    "ts",
    "order_id",
    "location_id",
    "event_type",
    "sequence",
    "customer_lat",
    "customer_lon",
    "customer_addr",
    "items",
    "route",
    "lat",
    "lon",
    "progress_pct",
];

/// How an event's body is built, from its event type's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyKind {
    Created,
    PickedUp,
    Ping,
    Delivered,
    Empty,
}

impl BodyKind {
    pub fn of(event_type: &str) -> BodyKind {
        match event_type {
            "order_created" => BodyKind::Created,
            "driver_picked_up" => BodyKind::PickedUp,
            "driver_ping" => BodyKind::Ping,
            "delivered" => BodyKind::Delivered,
            _ => BodyKind::Empty,
        }
    }
}

/// Decoded rows with their columns typed, ready to encode.
pub struct Decoded {
    /// In-lap index of row 0.
    pub first: u64,
    /// The stream's times (when each record is due: `ts`, or the arrival of a disordered stream).
    pub ts: Vec<i64>,
    /// The event times, the record's `ts`.
    pub event_ts: Vec<i64>,
    pub order_id: StringArray,
    pub location_id: Int8Array,
    /// Per row, an index into `kinds`.
    pub kind_key: Vec<u8>,
    /// Per event type: its JSON-escaped name and body kind.
    pub kinds: Vec<(Vec<u8>, BodyKind)>,
    pub sequence: Int16Array,
    pub customer_lat: Float32Array,
    pub customer_lon: Float32Array,
    pub customer_addr: StringArray,
    pub items: ListArray,
    pub item_id: Int16Array,
    pub item_brand: Int8Array,
    pub item_name: StringArray,
    pub item_price: Decimal128Array,
    pub item_qty: Int8Array,
    pub route: ListArray,
    pub route_lat: Float32Array,
    pub route_lon: Float32Array,
    pub lat: Float32Array,
    pub lon: Float32Array,
    pub progress: Float32Array,
}

fn typed<T: Array + Clone + 'static>(path: &Path, name: &str, a: &dyn Array, want: &str) -> Result<T> {
    a.as_any()
        .downcast_ref::<T>()
        .cloned()
        .ok_or_else(|| Error(format!("{}: column `{name}` is {}, expected {want}", path.display(), a.data_type())))
}

impl Decoded {
    pub fn new(path: &Path, first: u64, ts: Vec<i64>, b: &RecordBatch) -> Result<Decoded> {
        let col = |n: &str| b.column_by_name(n).ok_or_else(|| Error(format!("{}: no column `{n}`", path.display())));
        let et = col("event_type")?;
        let dict_type = DataType::Dictionary(Box::new(DataType::Int8), Box::new(DataType::Utf8));
        let et = if et.data_type() == &dict_type {
            et.clone()
        } else {
            cast(et, &dict_type).context(|| path.display().to_string())?
        };
        let et: &DictionaryArray<Int8Type> = et.as_dictionary();
        let names = et.values().as_string::<i32>();
        let mut kinds = Vec::with_capacity(names.len());
        for i in 0..names.len() {
            let mut esc = Vec::new();
            super::numfmt::write_escaped(&mut esc, names.value(i).as_bytes());
            kinds.push((esc, BodyKind::of(names.value(i))));
        }
        let kind_key = et.keys().values().iter().map(|&k| k as u8).collect();

        let list = |n: &str| -> Result<ListArray> { typed::<ListArray>(path, n, col(n)?.as_ref(), "a list") };
        let items = list("items")?;
        let route = list("route")?;
        let item_values = items
            .values()
            .as_struct_opt()
            .cloned()
            .ok_or_else(|| Error(format!("{}: `items` elements are not structs", path.display())))?;
        let route_values = route
            .values()
            .as_struct_opt()
            .cloned()
            .ok_or_else(|| Error(format!("{}: `route` elements are not structs", path.display())))?;
        let field = |s: &arrow::array::StructArray, n: &str| {
            s.column_by_name(n).cloned().ok_or_else(|| Error(format!("{}: no field `{n}`", path.display())))
        };
        let item_price: Decimal128Array =
            typed(path, "items.price", field(&item_values, "price")?.as_ref(), "decimal128(12, 2)")?;
        if item_price.scale() != 2 {
            return Err(Error(format!(
                "{}: `items.price` has scale {}, expected 2",
                path.display(),
                item_price.scale()
            )));
        }
        let event_ts = col("ts")?
            .as_primitive_opt::<arrow::datatypes::TimestampMillisecondType>()
            .ok_or_else(|| Error(format!("{}: `ts` is not a timestamp[ms]", path.display())))?
            .values()
            .to_vec();
        Ok(Decoded {
            first,
            item_price,
            ts,
            event_ts,
            order_id: typed(path, "order_id", col("order_id")?.as_ref(), "utf8")?,
            location_id: typed(path, "location_id", col("location_id")?.as_ref(), "int8")?,
            kind_key,
            kinds,
            sequence: typed(path, "sequence", col("sequence")?.as_ref(), "int16")?,
            customer_lat: typed(path, "customer_lat", col("customer_lat")?.as_ref(), "float32")?,
            customer_lon: typed(path, "customer_lon", col("customer_lon")?.as_ref(), "float32")?,
            customer_addr: typed(path, "customer_addr", col("customer_addr")?.as_ref(), "utf8")?,
            item_id: typed(path, "items.item_id", field(&item_values, "item_id")?.as_ref(), "int16")?,
            item_brand: typed(path, "items.brand_id", field(&item_values, "brand_id")?.as_ref(), "int8")?,
            item_name: typed(path, "items.name", field(&item_values, "name")?.as_ref(), "utf8")?,
            item_qty: typed(path, "items.qty", field(&item_values, "qty")?.as_ref(), "int8")?,
            route_lat: typed(path, "route.lat", field(&route_values, "lat")?.as_ref(), "float32")?,
            route_lon: typed(path, "route.lon", field(&route_values, "lon")?.as_ref(), "float32")?,
            items,
            route,
            lat: typed(path, "lat", col("lat")?.as_ref(), "float32")?,
            lon: typed(path, "lon", col("lon")?.as_ref(), "float32")?,
            progress: typed(path, "progress_pct", col("progress_pct")?.as_ref(), "float32")?,
        })
    }

    pub fn len(&self) -> usize {
        self.ts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }
}

/// Encodes records of one dataset.
#[derive(Clone)]
pub struct Encoder {
    ids: EventIds,
    pub(super) lap_ms: i64,
}

#[inline]
fn f6(out: &mut Vec<u8>, a: &arrow::array::Float32Array, i: usize) {
    if a.is_valid(i) {
        write_fixed::<6>(out, a.value(i));
    } else {
        out.extend_from_slice(b"null");
    }
}

/// The order id suffix of a lap: empty for lap 0, else `-<lap>`.
pub fn lap_suffix(lap: u64) -> String {
    if lap == 0 {
        String::new()
    } else {
        format!("-{lap}")
    }
}

impl Encoder {
    /// `fingerprint`: the manifest's; `lap_ms`: the lap length, added to `ts` once per lap.
    pub fn new(fingerprint: &str, lap_ms: i64) -> Encoder {
        Encoder { ids: EventIds::new(fingerprint), lap_ms }
    }

    /// The columns a record is built from.
    pub fn columns(&self) -> Vec<&str> {
        COLUMNS.to_vec()
    }

    /// Appends the record of row `i` of `d` in lap `lap`, with its key (the
    /// order id as emitted).
    #[inline]
    pub fn encode(&mut self, d: &Decoded, i: usize, lap: u64, stream: u16, enc: &mut Encoded) {
        let suffix = lap_suffix(lap);
        let suffix = suffix.as_bytes();
        let shift = lap as i64 * self.lap_ms;
        let order = d.order_id.value(i).as_bytes();
        enc.keys.extend_from_slice(order);
        enc.keys.extend_from_slice(suffix);
        self.encode_row(d, i, suffix, shift, &mut enc.bytes);
        enc.close(d.ts[i] + shift, stream);
    }

    #[inline]
    fn encode_row(&mut self, d: &Decoded, i: usize, suffix: &[u8], shift: i64, out: &mut Vec<u8>) {
        let order = d.order_id.value(i).as_bytes();
        let seq = d.sequence.value(i);
        let (name, kind) = &d.kinds[d.kind_key[i] as usize];
        out.extend_from_slice(b"{\"event_id\":\"");
        self.ids.write(out, order, suffix, seq as i64);
        out.extend_from_slice(b"\",\"event_type\":\"");
        out.extend_from_slice(name);
        out.extend_from_slice(b"\",\"ts\":\"");
        write_ts(out, d.event_ts[i] + shift);
        out.extend_from_slice(b"\",\"location_id\":");
        write_int(out, d.location_id.value(i));
        out.extend_from_slice(b",\"order_id\":\"");
        write_escaped(out, order);
        out.extend_from_slice(suffix);
        out.extend_from_slice(b"\",\"sequence\":");
        write_int(out, seq);
        out.extend_from_slice(b",\"body\":\"");
        match kind {
            BodyKind::Created => {
                out.extend_from_slice(b"{\\\"customer_lat\\\":");
                f6(out, &d.customer_lat, i);
                out.extend_from_slice(b",\\\"customer_lon\\\":");
                f6(out, &d.customer_lon, i);
                out.extend_from_slice(b",\\\"customer_addr\\\":");
                if d.customer_addr.is_valid(i) {
                    out.extend_from_slice(b"\\\"");
                    write_escaped_twice(out, d.customer_addr.value(i).as_bytes());
                    out.extend_from_slice(b"\\\"");
                } else {
                    out.extend_from_slice(b"null");
                }
                out.extend_from_slice(b",\\\"items\\\":");
                if d.items.is_valid(i) {
                    out.push(b'[');
                    let offsets = d.items.value_offsets();
                    for (n, j) in (offsets[i] as usize..offsets[i + 1] as usize).enumerate() {
                        if n > 0 {
                            out.push(b',');
                        }
                        out.extend_from_slice(b"{\\\"id\\\":");
                        write_int(out, d.item_id.value(j));
                        out.extend_from_slice(b",\\\"name\\\":\\\"");
                        write_escaped_twice(out, d.item_name.value(j).as_bytes());
                        out.extend_from_slice(b"\\\",\\\"price\\\":");
                        write_cents(out, d.item_price.value(j));
                        out.extend_from_slice(b",\\\"qty\\\":");
                        write_int(out, d.item_qty.value(j));
                        out.extend_from_slice(b",\\\"brand_id\\\":");
                        write_int(out, d.item_brand.value(j));
                        out.push(b'}');
                    }
                    out.push(b']');
                } else {
                    out.extend_from_slice(b"null");
                }
                out.push(b'}');
            }
            BodyKind::PickedUp => {
                out.extend_from_slice(b"{\\\"route_points\\\":");
                if d.route.is_valid(i) {
                    let offsets = d.route.value_offsets();
                    let (a, b) = (offsets[i] as usize, offsets[i + 1] as usize);
                    out.reserve((b - a) * 26 + 8);
                    out.push(b'[');
                    let (lat, lon) = (&d.route_lat.values()[a..b], &d.route_lon.values()[a..b]);
                    for (n, (&la, &lo)) in lat.iter().zip(lon).enumerate() {
                        if n > 0 {
                            out.push(b',');
                        }
                        write_point(out, la, lo);
                    }
                    out.push(b']');
                } else {
                    out.extend_from_slice(b"null");
                }
                out.push(b'}');
            }
            BodyKind::Ping => {
                out.extend_from_slice(b"{\\\"progress_pct\\\":");
                if d.progress.is_valid(i) {
                    write_fixed::<2>(out, d.progress.value(i));
                } else {
                    out.extend_from_slice(b"null");
                }
                out.extend_from_slice(b",\\\"loc_lat\\\":");
                f6(out, &d.lat, i);
                out.extend_from_slice(b",\\\"loc_lon\\\":");
                f6(out, &d.lon, i);
                out.push(b'}');
            }
            BodyKind::Delivered => {
                out.extend_from_slice(b"{\\\"delivered_lat\\\":");
                f6(out, &d.lat, i);
                out.extend_from_slice(b",\\\"delivered_lon\\\":");
                f6(out, &d.lon, i);
                out.push(b'}');
            }
            BodyKind::Empty => out.extend_from_slice(b"{}"),
        }
        out.extend_from_slice(b"\"}\n");
    }
}
