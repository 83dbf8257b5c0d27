//! The retail dataset's tables, with the reference's field names:
//! `products` (the catalogue at the start), `purchases` (one row per sold
//! line item; the items of one transaction share `transaction_id`),
//! `inventories` (one row per restock arrival), `lost_sales` (line items
//! the stock could not serve) and `product_events` (price and cost
//! changes). Every table is in time order.

use std::ops::Range;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Decimal128Array, Float64Array, Int16Array, Int32Array, RecordBatch, StringArray,
};
use arrow::datatypes::{DataType, SchemaRef};

use super::model::RetailRun;
use super::RetailScenario;
use crate::events::{money, utc_ms};
use crate::sinks::dims::{batch, required_schema, strings, utc_times};
use crate::sinks::{Special, Table};
use crate::streams::{FieldFormat, StreamSpec};

/// The table names, in manifest order.
pub const TABLES: [&str; 5] = ["purchases", "inventories", "lost_sales", "product_events", "products"];

/// A transaction's id: its local date and number within the day, `T20240101-000042`.
pub fn transaction_id(s: &RetailScenario, day: u32, seq: u32) -> String {
    format!("T{}-{seq:06}", s.calendar.date(day).format("%Y%m%d"))
}

fn cents(v: impl Iterator<Item = i64>) -> ArrayRef {
    Arc::new(
        Decimal128Array::from_iter_values(v.map(|c| c as i128))
            .with_precision_and_scale(12, 2)
            .expect("decimal(12, 2)"),
    )
}

fn products_batch(s: &RetailScenario) -> RecordBatch {
    let p = &s.products;
    let start = s.clock.day_start_ms(s.calendar.start);
    let flag = |i: usize| -> ArrayRef { Arc::new(BooleanArray::from_iter(p.iter().map(|x| Some(x.contains[i])))) };
    batch(vec![
        ("event_time", utc_times(p.iter().map(|_| start))),
        ("product_id", strings(p.iter().map(|x| x.id.as_str()))),
        ("category", strings(p.iter().map(|x| x.category.as_str()))),
        ("item", strings(p.iter().map(|x| x.item.as_str()))),
        ("size", strings(p.iter().map(|x| x.size.as_str()))),
        ("cogs", cents(p.iter().map(|x| x.cogs_cents))),
        ("price", cents(p.iter().map(|x| x.price_cents))),
        ("inventory_level", Arc::new(Int32Array::from_iter_values(p.iter().map(|x| x.inventory as i32)))),
        ("contains_fruit", flag(0)),
        ("contains_veggies", flag(1)),
        ("contains_nuts", flag(2)),
        ("contains_caffeine", flag(3)),
        ("propensity_to_buy", Arc::new(Float64Array::from_iter_values(p.iter().map(|x| x.propensity)))),
    ])
}

pub fn purchases_schema() -> SchemaRef {
    required_schema(&[
        ("transaction_time", utc_ms()),
        ("transaction_id", DataType::Utf8),
        ("product_id", DataType::Utf8),
        ("price", money()),
        ("quantity", DataType::Int16),
        ("is_member", DataType::Boolean),
        ("member_discount", DataType::Float64),
        ("add_supplements", DataType::Boolean),
        ("supplement_price", money()),
        ("total_purchase", money()),
    ])
}

fn purchases_batch(s: &RetailScenario, run: &RetailRun, rows: Range<usize>) -> RecordBatch {
    let r = &run.purchases[rows];
    let discount = s.member_discount_bp as f64 / 10_000.0;
    let columns: Vec<ArrayRef> = vec![
        utc_times(r.iter().map(|x| x.ts)),
        Arc::new(StringArray::from_iter_values(r.iter().map(|x| transaction_id(s, x.day, x.seq)))),
        strings(r.iter().map(|x| s.products[x.product as usize].id.as_str())),
        cents(r.iter().map(|x| x.price_cents)),
        Arc::new(Int16Array::from_iter_values(r.iter().map(|x| x.quantity as i16))),
        Arc::new(BooleanArray::from_iter(r.iter().map(|x| Some(x.member)))),
        Arc::new(Float64Array::from_iter_values(r.iter().map(|x| if x.member { discount } else { 0.0 }))),
        Arc::new(BooleanArray::from_iter(r.iter().map(|x| Some(x.supplement)))),
        cents(r.iter().map(|x| if x.supplement { s.supplement_cents } else { 0 })),
        cents(r.iter().map(|x| x.total_cents)),
    ];
    RecordBatch::try_new(purchases_schema(), columns).expect("purchase columns match their schema")
}

fn inventories_batch(s: &RetailScenario, run: &RetailRun) -> RecordBatch {
    let r = &run.restocks;
    let int = |f: fn(&super::model::Restock) -> u32| -> ArrayRef {
        Arc::new(Int32Array::from_iter_values(r.iter().map(|x| f(x) as i32)))
    };
    batch(vec![
        ("event_time", utc_times(r.iter().map(|x| x.ts))),
        ("product_id", strings(r.iter().map(|x| s.products[x.product as usize].id.as_str()))),
        ("existing_level", int(|x| x.existing)),
        ("stock_quantity", int(|x| x.added)),
        ("new_level", int(|x| x.existing + x.added)),
    ])
}

fn lost_sales_batch(s: &RetailScenario, run: &RetailRun) -> RecordBatch {
    let r = &run.lost_sales;
    batch(vec![
        ("event_time", utc_times(r.iter().map(|x| x.ts))),
        ("transaction_id", Arc::new(StringArray::from_iter_values(r.iter().map(|x| transaction_id(s, x.day, x.seq))))),
        ("product_id", strings(r.iter().map(|x| s.products[x.product as usize].id.as_str()))),
        ("quantity", Arc::new(Int16Array::from_iter_values(r.iter().map(|x| x.quantity as i16)))),
        ("available", Arc::new(Int32Array::from_iter_values(r.iter().map(|x| x.available as i32)))),
        ("reason", strings(r.iter().map(|_| "out_of_stock"))),
    ])
}

fn product_events_batch(s: &RetailScenario, run: &RetailRun) -> RecordBatch {
    let r = &run.product_events;
    batch(vec![
        ("event_time", utc_times(r.iter().map(|x| x.ts))),
        ("product_id", strings(r.iter().map(|x| s.products[x.product as usize].id.as_str()))),
        ("event_type", strings(r.iter().map(|x| if x.cogs { "cogs_change" } else { "price_change" }))),
        ("old_value", cents(r.iter().map(|x| x.old_cents))),
        ("new_value", cents(r.iter().map(|x| x.new_cents))),
    ])
}

const PURCHASES_SPECIAL: &[Special] = &[Special::DeltaLength("transaction_id"), Special::SortKey("transaction_time")];

/// The tables that grow with time and their columns' encodings, as [`piece`] makes them.
pub const STREAMED: &[(&str, &[Special])] =
    &[("purchases", PURCHASES_SPECIAL), ("inventories", &[]), ("lost_sales", &[]), ("product_events", &[])];

/// The tables of a retail run, largest first.
pub fn tables<'a>(s: &'a RetailScenario, run: &'a RetailRun) -> Vec<Table<'a>> {
    let mut tables: Vec<Table> = piece(s, run).into();
    tables.push(products_table(s));
    tables
}

/// A run (or a piece of days of one) as the tables that grow with time.
pub fn piece<'a>(s: &'a RetailScenario, run: &'a RetailRun) -> [Table<'a>; 4] {
    [
        Table {
            name: "purchases".into(),
            schema: purchases_schema(),
            rows: run.purchases.len(),
            special: PURCHASES_SPECIAL,
            batch: Box::new(move |rows| purchases_batch(s, run, rows)),
        },
        Table::whole("inventories", inventories_batch(s, run)),
        Table::whole("lost_sales", lost_sales_batch(s, run)),
        Table::whole("product_events", product_events_batch(s, run)),
    ]
}

/// The catalogue as it stands at the start.
pub fn products_table<'a>(s: &RetailScenario) -> Table<'a> {
    Table::whole("products", products_batch(s))
}

/// The model facts verify reads from the manifest: the shop's clock and
/// hours, the member discount and the restock rule.
pub fn model_facts(s: &RetailScenario) -> std::collections::BTreeMap<String, serde_json::Value> {
    use serde_json::json;
    let hours: Vec<String> = s.hours.0.iter().map(|h| crate::model::hours::span_text(*h)).collect();
    [
        ("timezone", json!(s.clock.name())),
        ("hours", json!(hours)),
        ("member_discount_bp", json!(s.member_discount_bp)),
        ("restock_threshold", json!(s.restock_threshold)),
        ("restock_quantity", json!(s.restock_quantity)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// The streams, with the reference's records: the catalogue at the start,
/// then sales, restocks, lost sales and product events as they happen.
pub fn streams() -> Vec<StreamSpec> {
    use FieldFormat::*;
    vec![
        StreamSpec::fields(
            "products",
            "event_time",
            "product_id",
            &[
                ("event_time", Time),
                ("product_id", String),
                ("category", String),
                ("item", String),
                ("size", String),
                ("cogs", Decimal),
                ("price", Decimal),
                ("inventory_level", Int),
                ("contains_fruit", Bool),
                ("contains_veggies", Bool),
                ("contains_nuts", Bool),
                ("contains_caffeine", Bool),
                ("propensity_to_buy", Float),
            ],
        ),
        StreamSpec::fields(
            "purchases",
            "transaction_time",
            "transaction_id",
            &[
                ("transaction_time", Time),
                ("transaction_id", Id),
                ("product_id", String),
                ("price", Decimal),
                ("quantity", Int),
                ("is_member", Bool),
                ("member_discount", Float),
                ("add_supplements", Bool),
                ("supplement_price", Decimal),
                ("total_purchase", Decimal),
            ],
        ),
        StreamSpec::fields(
            "inventories",
            "event_time",
            "product_id",
            &[
                ("event_time", Time),
                ("product_id", String),
                ("existing_level", Int),
                ("stock_quantity", Int),
                ("new_level", Int),
            ],
        ),
        StreamSpec::fields(
            "lost_sales",
            "event_time",
            "transaction_id",
            &[
                ("event_time", Time),
                ("transaction_id", Id),
                ("product_id", String),
                ("quantity", Int),
                ("available", Int),
                ("reason", String),
            ],
        ),
        StreamSpec::fields(
            "product_events",
            "event_time",
            "product_id",
            &[
                ("event_time", Time),
                ("product_id", String),
                ("event_type", String),
                ("old_value", Decimal),
                ("new_value", Decimal),
            ],
        ),
    ]
}
