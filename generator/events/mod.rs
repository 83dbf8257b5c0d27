//! Events: the sorted event table and its Arrow form. [`merge`] (the entry
//! point) merges the simulation's sorted partitions into one table ordered by
//! (ts, order id, sequence); [`Dataset`] builds Arrow record batches for any
//! row range of the events and orders tables, so row groups can be built and
//! encoded in parallel. Route geometry is not stored per order: it is read
//! off the kitchen's shortest-path tree when a pickup row is built.

mod blocks;
mod merge;

use std::fmt::Write as _;
use std::ops::Range;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, Decimal128Array, DictionaryArray, Float32Array, Int16Array, Int8Array, ListArray, RecordBatch,
    StringArray, StringBuilder, StructArray, TimestampMillisecondArray,
};
use arrow::buffer::{BooleanBuffer, NullBuffer, OffsetBuffer};
use arrow::datatypes::{DataType, Field, Fields, Int8Type, Schema, SchemaRef, TimeUnit};

use crate::lifecycles::{Event, Simulation, CREATED, DELIVERED, EVENT_TYPES, PICKED_UP, PING};
use crate::roads::DeliveryArea;
use crate::scenario::kitchen::KitchenScenario;

pub use blocks::{Block, Blocks};
pub use merge::merge;

/// A finished simulation with what is needed to render its rows.
pub struct Dataset<'a> {
    pub scenario: &'a KitchenScenario,
    pub areas: &'a [DeliveryArea],
    pub sim: Simulation,
}

pub fn utc_ms() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
}

pub fn money() -> DataType {
    DataType::Decimal128(12, 2)
}

fn point_fields() -> Fields {
    Fields::from(vec![Field::new("lat", DataType::Float32, false), Field::new("lon", DataType::Float32, false)])
}

fn item_fields() -> Fields {
    Fields::from(vec![
        Field::new("item_id", DataType::Int16, false),
        Field::new("brand_id", DataType::Int8, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("price", money(), false),
        Field::new("qty", DataType::Int8, false),
    ])
}

fn list_of(fields: Fields) -> DataType {
    DataType::List(Arc::new(Field::new("element", DataType::Struct(fields), false)))
}

pub fn events_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("ts", utc_ms(), false),
        Field::new("order_id", DataType::Utf8, false),
        Field::new("location_id", DataType::Int8, false),
        Field::new("event_type_id", DataType::Int8, false),
        Field::new("event_type", DataType::Dictionary(Box::new(DataType::Int8), Box::new(DataType::Utf8)), false),
        Field::new("sequence", DataType::Int16, false),
        Field::new("customer_lat", DataType::Float32, true),
        Field::new("customer_lon", DataType::Float32, true),
        Field::new("customer_addr", DataType::Utf8, true),
        Field::new("items", list_of(item_fields()), true),
        Field::new("route", list_of(point_fields()), true),
        Field::new("lat", DataType::Float32, true),
        Field::new("lon", DataType::Float32, true),
        Field::new("progress_pct", DataType::Float32, true),
    ]))
}

pub fn orders_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("order_id", DataType::Utf8, false),
        Field::new("location_id", DataType::Int8, false),
        Field::new("created_at", utc_ms(), false),
        Field::new("delivered_at", utc_ms(), false),
        Field::new("brand_ids", DataType::List(Arc::new(Field::new("element", DataType::Int8, false))), false),
        Field::new("item_count", DataType::Int16, false),
        Field::new("total", money(), false),
        Field::new("route_length_m", DataType::Float32, false),
        Field::new("drive_time_s", DataType::Float32, false),
        Field::new("pings", DataType::Int16, false),
        Field::new("customer_lat", DataType::Float32, false),
        Field::new("customer_lon", DataType::Float32, false),
        Field::new("customer_addr", DataType::Utf8, false),
    ]))
}

/// A column of order ids, checked as UTF-8 once rather than id by id.
fn id_column<'a>(ids: impl ExactSizeIterator<Item = &'a [u8; 6]>) -> StringArray {
    let n = ids.len();
    let mut bytes = Vec::with_capacity(n * 6);
    ids.for_each(|id| bytes.extend_from_slice(id));
    StringArray::new(OffsetBuffer::from_lengths(std::iter::repeat_n(6, n)), bytes.into(), None)
}

fn list(fields: Fields, offsets: Vec<i32>, columns: Vec<ArrayRef>, valid: NullBuffer) -> ArrayRef {
    let values = StructArray::new(fields.clone(), columns, None);
    let field = Arc::new(Field::new("element", DataType::Struct(fields), false));
    Arc::new(ListArray::new(field, OffsetBuffer::new(offsets.into()), Arc::new(values), Some(valid)))
}

/// Which events are of the kinds `keep` accepts, as a validity bitmap: the
/// columns set only on some kinds are nullable, and their values elsewhere
/// are never written.
fn valid_where(ev: &[Event], keep: impl Fn(u8) -> bool) -> NullBuffer {
    NullBuffer::new(BooleanBuffer::collect_bool(ev.len(), |i| keep(ev[i].kind)))
}

fn nullable_f32(values: Vec<f32>, valid: &NullBuffer) -> ArrayRef {
    Arc::new(Float32Array::new(values.into(), Some(valid.clone())))
}

/// The event types' names, one array shared by every batch: batches
/// joined into one row group keep a single dictionary.
fn event_type_names() -> ArrayRef {
    static NAMES: std::sync::LazyLock<ArrayRef> =
        std::sync::LazyLock::new(|| Arc::new(StringArray::from(EVENT_TYPES.to_vec())));
    NAMES.clone()
}

/// Lengths that fit most addresses ("1234 Some Street") and item names,
/// to size string buffers (canonical means: 14 and 16 bytes).
const ADDRESS_BYTES: usize = 20;
const ITEM_NAME_BYTES: usize = 20;

impl Dataset<'_> {
    fn area_of(&self, order: u32) -> &DeliveryArea {
        &self.areas[self.sim.orders[order as usize].location as usize]
    }

    fn location_id(&self, order: u32) -> i8 {
        self.scenario.locations[self.sim.orders[order as usize].location as usize].id
    }

    /// Writes "<number> <street>" for an order's customer.
    fn write_address(&self, order: u32, out: &mut StringBuilder) {
        let o = &self.sim.orders[order as usize];
        let street = self.area_of(order).graph.street_name(o.customer_node).unwrap_or("Unnamed Road");
        // Appended piece by piece: `write!` is slow on this hot path.
        for piece in [itoa::Buffer::new().format(o.house_number), " ", street] {
            let _ = out.write_str(piece);
        }
        out.append_value("");
    }

    pub fn events_batch(&self, rows: Range<usize>) -> RecordBatch {
        let ev = &self.sim.events[rows];
        let orders = &self.sim.orders;
        let scn = self.scenario;
        let n = ev.len();

        let ts = TimestampMillisecondArray::from_iter_values(ev.iter().map(|e| e.ts_ms)).with_timezone("UTC");
        let order_id = id_column(ev.iter().map(|e| &orders[e.order as usize].id));
        let location_id = Int8Array::from_iter_values(ev.iter().map(|e| self.location_id(e.order)));
        let type_id = Int8Array::from_iter_values(ev.iter().map(|e| e.kind as i8));
        let type_keys = Int8Array::from_iter_values(ev.iter().map(|e| e.kind as i8 - 1));
        let event_type =
            DictionaryArray::<Int8Type>::try_new(type_keys, event_type_names()).expect("keys within the 8 event types");
        let sequence = Int16Array::from_iter_values(ev.iter().map(|e| e.sequence as i16));

        // Every buffer is sized up front: growing them would copy them.
        let (mut created, mut lines, mut route_points) = (0, 0, 0);
        for e in ev {
            let o = &orders[e.order as usize];
            match e.kind {
                CREATED => (created, lines) = (created + 1, lines + (o.lines.1 - o.lines.0) as usize),
                PICKED_UP => route_points += self.area_of(e.order).route_points(o.customer_node),
                _ => {}
            }
        }
        let mut customer_lat = Vec::with_capacity(n);
        let mut customer_lon = Vec::with_capacity(n);
        let mut addr = StringBuilder::with_capacity(n, created * ADDRESS_BYTES);
        // items: list<struct<...>>
        let mut item_offsets = Vec::with_capacity(n + 1);
        item_offsets.push(0i32);
        let (mut item_id, mut item_brand, mut item_price, mut item_qty) = (
            Vec::with_capacity(lines),
            Vec::with_capacity(lines),
            Vec::with_capacity(lines),
            Vec::with_capacity(lines),
        );
        let mut item_name = StringBuilder::with_capacity(lines, lines * ITEM_NAME_BYTES);
        // route: list<struct<lat, lon>>
        let mut route_offsets = Vec::with_capacity(n + 1);
        route_offsets.push(0i32);
        let (mut route_lat, mut route_lon) = (Vec::with_capacity(route_points), Vec::with_capacity(route_points));

        for e in ev {
            let o = &orders[e.order as usize];
            let created = e.kind == CREATED;
            if created {
                let p = self.area_of(e.order).graph.point(o.customer_node);
                customer_lat.push(p[0] as f32);
                customer_lon.push(p[1] as f32);
                self.write_address(e.order, &mut addr);
                for line in &self.sim.lines[o.lines.0 as usize..o.lines.1 as usize] {
                    let it = &scn.items[line.item as usize];
                    item_id.push(it.id);
                    item_brand.push(it.brand_id);
                    item_name.append_value(&it.name);
                    item_price.push(it.price_cents as i128);
                    item_qty.push(line.qty as i8);
                }
            } else {
                customer_lat.push(0.0);
                customer_lon.push(0.0);
                addr.append_null();
            }
            item_offsets.push(item_id.len() as i32);

            let pickup = e.kind == PICKED_UP;
            if pickup {
                self.area_of(e.order).append_route_f32(o.customer_node, &mut route_lat, &mut route_lon);
            }
            route_offsets.push(route_lat.len() as i32);
        }
        let on_created = valid_where(ev, |k| k == CREATED);
        let positioned = valid_where(ev, |k| k == PING || k == DELIVERED);
        let lat = nullable_f32(ev.iter().map(|e| e.lat).collect(), &positioned);
        let lon = nullable_f32(ev.iter().map(|e| e.lon).collect(), &positioned);
        let progress = nullable_f32(ev.iter().map(|e| e.progress_pct).collect(), &valid_where(ev, |k| k == PING));

        let items = list(
            item_fields(),
            item_offsets,
            vec![
                Arc::new(Int16Array::from(item_id)),
                Arc::new(Int8Array::from(item_brand)),
                Arc::new(item_name.finish()),
                Arc::new(
                    Decimal128Array::from(item_price).with_precision_and_scale(12, 2).expect("valid decimal type"),
                ),
                Arc::new(Int8Array::from(item_qty)),
            ],
            on_created.clone(),
        );
        let route = list(
            point_fields(),
            route_offsets,
            vec![Arc::new(Float32Array::from(route_lat)), Arc::new(Float32Array::from(route_lon))],
            valid_where(ev, |k| k == PICKED_UP),
        );
        let columns: Vec<ArrayRef> = vec![
            Arc::new(ts),
            Arc::new(order_id),
            Arc::new(location_id),
            Arc::new(type_id),
            Arc::new(event_type),
            Arc::new(sequence),
            nullable_f32(customer_lat, &on_created),
            nullable_f32(customer_lon, &on_created),
            Arc::new(addr.finish()),
            items,
            route,
            lat,
            lon,
            progress,
        ];
        RecordBatch::try_new(events_schema(), columns).expect("columns match the events schema")
    }

    pub fn orders_batch(&self, rows: Range<usize>) -> RecordBatch {
        let range = rows.clone();
        let os = &self.sim.orders[rows];
        let mut addr = StringBuilder::new();
        let (mut brand_offsets, mut brand_ids) = (vec![0i32], Vec::new());
        for (i, o) in os.iter().enumerate() {
            self.write_address((range.start + i) as u32, &mut addr);
            brand_ids.extend_from_slice(&o.brands[..o.brand_count as usize]);
            brand_offsets.push(brand_ids.len() as i32);
        }
        let point = |o: &crate::lifecycles::Order| self.areas[o.location as usize].graph.point(o.customer_node);
        let brands = ListArray::new(
            Arc::new(Field::new("element", DataType::Int8, false)),
            OffsetBuffer::new(brand_offsets.into()),
            Arc::new(Int8Array::from(brand_ids)),
            None,
        );
        let columns: Vec<ArrayRef> = vec![
            Arc::new(id_column(os.iter().map(|o| &o.id))),
            Arc::new(Int8Array::from_iter_values(os.iter().map(|o| self.scenario.locations[o.location as usize].id))),
            Arc::new(TimestampMillisecondArray::from_iter_values(os.iter().map(|o| o.created_ms)).with_timezone("UTC")),
            Arc::new(
                TimestampMillisecondArray::from_iter_values(os.iter().map(|o| o.delivered_ms)).with_timezone("UTC"),
            ),
            Arc::new(brands),
            Arc::new(Int16Array::from_iter_values(os.iter().map(|o| (o.lines.1 - o.lines.0) as i16))),
            Arc::new(
                Decimal128Array::from_iter_values(os.iter().map(|o| o.total_cents as i128))
                    .with_precision_and_scale(12, 2)
                    .expect("valid decimal type"),
            ),
            Arc::new(Float32Array::from_iter_values(os.iter().map(|o| o.route_length_m as f32))),
            Arc::new(Float32Array::from_iter_values(os.iter().map(|o| o.drive_s as f32))),
            Arc::new(Int16Array::from_iter_values(os.iter().map(|o| o.pings as i16))),
            Arc::new(Float32Array::from_iter_values(os.iter().map(|o| point(o)[0] as f32))),
            Arc::new(Float32Array::from_iter_values(os.iter().map(|o| point(o)[1] as f32))),
            Arc::new(addr.finish()),
        ];
        RecordBatch::try_new(orders_schema(), columns).expect("columns match the orders schema")
    }
}
