//! The weather dataset's tables: `stations` (one row per station and the
//! parameters it drew) and `reports` (date, station, degrees, raining; one
//! row per station per day, in (date, station) order), plus `report.proto`,
//! the protobuf message of a streamed report.

use std::ops::Range;
use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, Date32Array, Float64Array, Int16Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use super::model::{Reports, Station};
use super::WeatherScenario;
use crate::sinks::dims::batch;
use crate::sinks::{Special, Table, Tool};
use crate::streams::{FieldFormat, StreamSpec};

/// The streamed report as protobuf, shipped beside the data.
pub const REPORT_PROTO: Tool = Tool { name: "report.proto", content: include_str!("report.proto") };

/// The table names, in manifest order.
pub const TABLES: [&str; 2] = ["reports", "stations"];

const REPORTS_SPECIAL: &[Special] = &[Special::SortKey("date")];

/// The table that grows with time and its columns' encodings.
pub const STREAMED: &[(&str, &[Special])] = &[("reports", REPORTS_SPECIAL)];

pub fn reports_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("date", DataType::Date32, false),
        Field::new("station", DataType::Utf8, false),
        Field::new("degrees", DataType::Float64, false),
        Field::new("raining", DataType::Boolean, false),
    ]))
}

fn stations_batch(stations: &[Station]) -> RecordBatch {
    let f64s =
        |f: fn(&Station) -> f64| -> ArrayRef { Arc::new(Float64Array::from_iter_values(stations.iter().map(f))) };
    batch(vec![
        ("station_id", Arc::new(Int16Array::from_iter_values(stations.iter().map(|s| s.id as i16)))),
        ("station", Arc::new(StringArray::from_iter_values(stations.iter().map(|s| s.name.as_str())))),
        ("temperature_offset_f", f64s(|s| s.offset_f)),
        ("rain_stop_probability", f64s(|s| s.rain_stop)),
    ])
}

fn reports_batch(s: &WeatherScenario, stations: &[Station], r: &Reports, rows: Range<usize>) -> RecordBatch {
    let per_day = r.stations as usize;
    let epoch_day = s.calendar.start.signed_duration_since(chrono::DateTime::UNIX_EPOCH.date_naive()).num_days() as i32;
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Date32Array::from_iter_values(
            rows.clone().map(|i| epoch_day + r.first_day as i32 + (i / per_day) as i32),
        )),
        Arc::new(StringArray::from_iter_values(rows.clone().map(|i| stations[i % per_day].name.as_str()))),
        Arc::new(Float64Array::from(r.degrees[rows.clone()].to_vec())),
        Arc::new(BooleanArray::from(r.raining[rows].to_vec())),
    ];
    RecordBatch::try_new(reports_schema(), columns).expect("report columns match their schema")
}

/// The tables of a weather run, largest first.
pub fn tables<'a>(s: &'a WeatherScenario, stations: &'a [Station], r: &'a Reports) -> Vec<Table<'a>> {
    vec![reports_piece(s, stations, r), stations_table(stations)]
}

/// Reports as the next piece of the streamed `reports` table.
pub fn reports_piece<'a>(s: &'a WeatherScenario, stations: &'a [Station], r: &'a Reports) -> Table<'a> {
    Table {
        name: "reports".into(),
        schema: reports_schema(),
        rows: r.degrees.len(),
        special: REPORTS_SPECIAL,
        batch: Box::new(move |rows| reports_batch(s, stations, r, rows)),
    }
}

/// The reports table's layout, without rows.
pub fn reports_layout<'a>() -> Table<'a> {
    let schema = reports_schema();
    let empty = arrow::array::RecordBatch::new_empty(schema.clone());
    Table { name: "reports".into(), schema, rows: 0, special: REPORTS_SPECIAL, batch: Box::new(move |_| empty.clone()) }
}

pub fn stations_table<'a>(stations: &[Station]) -> Table<'a> {
    Table::whole("stations", stations_batch(stations))
}

/// The one stream: reports keyed by station, as JSON (raining 1/0) or as
/// `report.proto`'s `Report`.
pub fn streams() -> Vec<StreamSpec> {
    use FieldFormat::*;
    let fields = [("date", Date), ("station", String), ("degrees", Float), ("raining", Bool01)];
    vec![StreamSpec::fields("reports", "date", "station", &fields).with_proto(REPORT_PROTO.name, "Report")]
}
