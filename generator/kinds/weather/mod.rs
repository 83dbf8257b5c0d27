//! The weather-station kind: stations A, B, C, ... each reporting once a
//! day, with the reference model (`../shared/reference/SCENARIOS.md`):
//! monthly mean temperatures shifted per station and month, an AR(1) daily
//! temperature, and a per-station, per-month two-state rain chain that
//! never rains below a temperature. This module reads and validates the
//! scenario; [`model`] simulates (no I/O), [`tables`] lays out the Parquet
//! tables, [`checks`] holds the checks `verify` adds for this kind.

pub mod checks;
pub mod figures;
pub mod file;
pub mod model;
pub mod tables;

use crate::error::Result;
use crate::model::calendar::Calendar;
use crate::model::dist::Dist;
use crate::scenario::common::{check_shape, validate_header, validate_output, Problems};
use crate::scenario::document::Document;
use file::WeatherFile;

/// Stations one scenario may have (names run A .. Z, AA .. ALL); with the
/// 36,500 days at most, a run stays within `limits::MAX_EVENTS` reports.
pub const MAX_STATIONS: u32 = 1000;
/// Temperatures beyond this many degrees F mean nothing on Earth.
const MAX_ABS_TEMP_F: f64 = 1000.0;

#[derive(Clone, Debug)]
pub struct WeatherScenario {
    pub name: String,
    pub description: String,
    pub seed: u64,
    pub calendar: Calendar,
    pub stations: u32,
    pub station_offset: Dist,
    pub month_offset: Dist,
    pub monthly_means: [f64; 12],
    pub persistence: f64,
    pub noise: Dist,
    pub rain_start: [f64; 12],
    pub station_shift: Dist,
    pub month_shift: Dist,
    pub rain_stop: Dist,
    pub min_rain_temp: f64,
    pub row_group_rows: usize,
    pub zstd_level: i32,
}

/// The JSON Schema of the weather scenario file.
pub fn schema() -> serde_json::Value {
    schemars::schema_for!(WeatherFile).as_value().clone()
}

/// Twelve monthly values, each in `lo ..= hi`.
fn months(p: &mut Problems, path: &str, values: &[f64], lo: f64, hi: f64, what: &str) -> Option<[f64; 12]> {
    let Ok(array) = <[f64; 12]>::try_from(values) else {
        p.key(path, format!("expected 12 values (January to December), found {}", values.len()));
        return None;
    };
    for (i, v) in array.iter().enumerate() {
        p.num(&format!("{path}.{i}"), (lo..=hi).contains(v), &format!("{what} in {lo} ..= {hi}"), *v);
    }
    Some(array)
}

impl WeatherScenario {
    pub fn from_document(doc: &Document) -> Result<WeatherScenario> {
        check_shape(doc, &schema())?;
        let f: WeatherFile = doc.deserialize_scaled()?;
        let mut p = Problems::default();
        let calendar = validate_header(&mut p, &f.name, &f.time);
        validate_output(&mut p, &f.output);
        let count = f.stations.count;
        p.check("stations.count", (1..=MAX_STATIONS).contains(&count), "1 ..= 1000 stations", count);
        let t = &f.temperature;
        let temp = (-MAX_ABS_TEMP_F, MAX_ABS_TEMP_F);
        let station_offset = p.dist_within("stations.offset_f", &f.stations.offset_f, temp.0, temp.1, "degrees F");
        let month_offset =
            p.dist_within("stations.month_offset_f", &f.stations.month_offset_f, temp.0, temp.1, "degrees F");
        let means = months(&mut p, "temperature.monthly_means_f", &t.monthly_means_f, temp.0, temp.1, "degrees F");
        p.num("temperature.persistence", (0.0..=1.0).contains(&t.persistence), "a weight in 0 ..= 1", t.persistence);
        let noise = p.dist_within("temperature.noise_f", &t.noise_f, temp.0, temp.1, "degrees F");
        let r = &f.rain;
        let starts = months(&mut p, "rain.start_probability", &r.start_probability, 0.0, 1.0, "a probability");
        let station_shift = p.dist_within("rain.station_shift", &r.station_shift, -1.0, 1.0, "a probability shift");
        let month_shift = p.dist_within("rain.month_shift", &r.month_shift, -1.0, 1.0, "a probability shift");
        let rain_stop = p.dist_within("rain.stop_probability", &r.stop_probability, 0.0, 1.0, "a probability");
        p.num("rain.min_temp_f", r.min_temp_f.abs() <= MAX_ABS_TEMP_F, "degrees F in -1000 ..= 1000", r.min_temp_f);
        let min_rain_temp = r.min_temp_f;
        let built = (|| {
            Some(WeatherScenario {
                name: f.name,
                description: f.description,
                seed: f.seed,
                calendar: calendar?,
                stations: count,
                station_offset: station_offset?,
                month_offset: month_offset?,
                monthly_means: means?,
                persistence: f.temperature.persistence,
                noise: noise?,
                rain_start: starts?,
                station_shift: station_shift?,
                month_shift: month_shift?,
                rain_stop: rain_stop?,
                min_rain_temp,
                row_group_rows: f.output.row_group_rows as usize,
                zstd_level: f.output.zstd_level,
            })
        })();
        match built {
            Some(s) if p.0.is_empty() => Ok(s),
            _ => Err(doc.errors(&p.0)),
        }
    }

    /// What a run of this scenario produces, for `validate`.
    pub fn summary(&self) -> String {
        let reports = self.calendar.days as u64 * self.stations as u64;
        format!(
            "{} stations x {} days from {} = {} reports",
            self.stations,
            self.calendar.days,
            self.calendar.start,
            crate::figures::grouped(reports)
        )
    }
}
