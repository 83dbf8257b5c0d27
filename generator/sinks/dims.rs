//! The dimension tables as Arrow batches: locations, brands, brand_locations,
//! menus, categories, items and event_types, typed like the event table.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Decimal128Array, Float32Array, Float64Array, Int16Array, Int32Array, Int8Array,
    RecordBatch, StringArray,
};
use arrow::datatypes::{Field, Schema};

use crate::events::{money, Dataset};
use crate::lifecycles::EVENT_TYPES;

pub fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    let fields: Vec<Field> =
        columns.iter().map(|(n, a)| Field::new(*n, a.data_type().clone(), a.null_count() > 0)).collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns.into_iter().map(|(_, a)| a).collect())
        .expect("dimension columns have equal lengths")
}

pub fn strings<'a>(v: impl Iterator<Item = &'a str>) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(v))
}

/// A UTC timestamp[ms] column.
pub fn utc_times(v: impl Iterator<Item = i64>) -> ArrayRef {
    Arc::new(arrow::array::TimestampMillisecondArray::from_iter_values(v).with_timezone("UTC"))
}

/// A schema of non-null fields.
pub fn required_schema(fields: &[(&str, arrow::datatypes::DataType)]) -> arrow::datatypes::SchemaRef {
    Arc::new(Schema::new(fields.iter().map(|(n, t)| Field::new(*n, t.clone(), false)).collect::<Vec<_>>()))
}

fn i16s(v: impl Iterator<Item = i64>) -> ArrayRef {
    Arc::new(Int16Array::from_iter_values(v.map(|x| x as i16)))
}

fn i8s(v: impl Iterator<Item = i64>) -> ArrayRef {
    Arc::new(Int8Array::from_iter_values(v.map(|x| x as i8)))
}

/// The dimension table `name` (one of `sinks::DIMENSION_TABLES`).
pub fn table(name: &str, ds: &Dataset) -> RecordBatch {
    let s = ds.scenario;
    match name {
        "locations" => {
            let l = &s.locations;
            batch(vec![
                ("location_id", i8s(l.iter().map(|x| x.id as i64))),
                ("location_code", strings(l.iter().map(|x| x.code.as_str()))),
                ("name", strings(l.iter().map(|x| x.name.as_str()))),
                ("address", strings(l.iter().map(|x| x.address.as_str()))),
                ("lat", Arc::new(Float64Array::from_iter_values(l.iter().map(|x| x.kitchen[0])))),
                ("lon", Arc::new(Float64Array::from_iter_values(l.iter().map(|x| x.kitchen[1])))),
                ("timezone", strings(l.iter().map(|x| x.clock.name()))),
                ("delivery_radius_m", Arc::new(Float32Array::from_iter_values(l.iter().map(|x| x.radius_m as f32)))),
                ("base_orders_day", Arc::new(Float64Array::from_iter_values(l.iter().map(|x| x.volume.base)))),
                (
                    "growth_rate_daily",
                    Arc::new(Float64Array::from_iter_values(l.iter().map(|x| x.volume.daily_growth))),
                ),
                (
                    "weekday_pattern",
                    Arc::new(BooleanArray::from_iter(l.iter().map(|x| Some(x.volume.weekday.is_some())))),
                ),
                ("profile", strings(l.iter().map(|x| x.profile.as_str()))),
                ("road_source", strings(ds.areas.iter().map(|a| a.source.kind()))),
            ])
        }
        "brands" => {
            let b = &s.brands;
            batch(vec![
                ("brand_id", i8s(b.iter().map(|x| x.brand_id))),
                ("name", strings(b.iter().map(|x| x.name.as_str()))),
                ("cuisine_type", strings(b.iter().map(|x| x.cuisine_type.as_str()))),
                (
                    "avg_prep_time_min",
                    Arc::new(Float32Array::from_iter_values(b.iter().map(|x| x.avg_prep_time_min as f32))),
                ),
            ])
        }
        "brand_locations" => {
            let b = &s.brand_locations;
            batch(vec![
                ("brand_location_id", Arc::new(Int32Array::from_iter_values(b.iter().map(|x| x.id as i32)))),
                ("brand_id", i8s(b.iter().map(|x| x.brand_id as i64))),
                ("location_id", i8s(b.iter().map(|x| x.location_id as i64))),
                ("start_day", i16s(b.iter().map(|x| x.start_day as i64))),
                ("end_day", Arc::new(Int16Array::from_iter(b.iter().map(|x| x.end_day.map(|d| d as i16))))),
                ("trajectory", strings(b.iter().map(|x| x.trajectory.as_str()))),
                (
                    "growth_rate_monthly",
                    Arc::new(Float64Array::from_iter_values(b.iter().map(|x| x.growth_rate_monthly))),
                ),
            ])
        }
        "menus" => {
            let m = &s.menus;
            batch(vec![
                ("menu_id", i16s(m.iter().map(|x| x.id))),
                ("brand_id", i8s(m.iter().map(|x| x.brand_id))),
                ("name", strings(m.iter().map(|x| x.name.as_str()))),
            ])
        }
        "categories" => {
            let c = &s.categories;
            batch(vec![
                ("category_id", i16s(c.iter().map(|x| x.id))),
                ("menu_id", i16s(c.iter().map(|x| x.menu_id))),
                ("brand_id", i8s(c.iter().map(|x| x.brand_id))),
                ("name", strings(c.iter().map(|x| x.name.as_str()))),
            ])
        }
        "items" => {
            let i = &s.items;
            let price =
                Decimal128Array::from_iter_values(i.iter().map(|x| x.price_cents as i128)).with_data_type(money());
            batch(vec![
                ("item_id", i16s(i.iter().map(|x| x.id as i64))),
                ("category_id", i16s(i.iter().map(|x| x.category_id as i64))),
                ("menu_id", i16s(i.iter().map(|x| x.menu_id as i64))),
                ("brand_id", i8s(i.iter().map(|x| x.brand_id as i64))),
                ("name", strings(i.iter().map(|x| x.name.as_str()))),
                ("price", Arc::new(price)),
            ])
        }
        "event_types" => batch(vec![
            ("event_type_id", i8s(1..=EVENT_TYPES.len() as i64)),
            ("event_type", strings(EVENT_TYPES.iter().copied())),
        ]),
        other => unreachable!("unknown dimension table {other}"),
    }
}
