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

use super::event_id::EventIds;
use super::numfmt::{write_cents, write_escaped, write_escaped_twice, write_fixed, write_int, write_point, write_ts};
use super::source::{BodyKind, Decoded};
use arrow::array::Array;

/// Encodes records of one dataset.
#[derive(Clone)]
pub struct Encoder {
    ids: EventIds,
    lap_ms: i64,
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

    /// Appends the records of in-lap rows `lo..hi` (within `d`) of lap `lap`.
    pub fn encode(&mut self, d: &Decoded, lo: u64, hi: u64, lap: u64, out: &mut Vec<u8>) {
        let suffix = lap_suffix(lap);
        let suffix = suffix.as_bytes();
        let shift = lap as i64 * self.lap_ms;
        for idx in lo..hi {
            self.encode_row(d, (idx - d.first) as usize, suffix, shift, out);
        }
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
        write_ts(out, d.ts[i] + shift);
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
