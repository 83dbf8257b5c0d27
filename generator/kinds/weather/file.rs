//! The weather scenario file as written: strict serde types whose JSON
//! Schema (schemars) the shape check and `simkit schema` read.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::model::dist::DistSpec;
use crate::scenario::common::{OutputSpec, TimeSpec};
use crate::scenario::document::{scaled_count, KeyPath, Scale};

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WeatherFile {
    /// Dataset name: letters, digits, `_` and `-`; the default output is `outputs/<name>/`.
    pub name: String,
    /// The scenario kind: "weather".
    pub kind: String,
    #[serde(default)]
    pub description: String,
    pub seed: u64,
    pub time: TimeSpec,
    #[serde(default)]
    pub stations: StationsSpec,
    #[serde(default)]
    pub temperature: TemperatureSpec,
    #[serde(default)]
    pub rain: RainSpec,
    #[serde(default)]
    pub output: OutputSpec,
    /// Late, duplicate, out-of-order, dropped and null records per stream, and the truth to compute (docs/disorder.md).
    #[serde(default)]
    #[allow(dead_code)] // read by crate::disorder::spec::load
    pub disorder: crate::disorder::DisorderSection,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StationsSpec {
    /// Stations named A, B, ..., Z, AA, AB, ... (1 ..= 1000).
    #[serde(default = "station_count")]
    pub count: u32,
    /// Each station's shift of every monthly mean (degrees F).
    #[serde(default = "station_offset")]
    pub offset_f: DistSpec,
    /// A further shift per station and month (degrees F).
    #[serde(default = "month_offset")]
    pub month_offset_f: DistSpec,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TemperatureSpec {
    /// The twelve monthly mean temperatures, January first (degrees F).
    #[serde(default = "monthly_means")]
    pub monthly_means_f: Vec<f64>,
    /// Weight of yesterday: `temp = persistence * yesterday + (1 - persistence) * month mean + noise`.
    #[serde(default = "persistence")]
    pub persistence: f64,
    /// The day's noise (degrees F).
    #[serde(default = "temperature_noise")]
    pub noise_f: DistSpec,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RainSpec {
    /// The twelve monthly probabilities that rain starts on a dry day, January first.
    #[serde(default = "start_probability")]
    pub start_probability: Vec<f64>,
    /// Each station's shift of every monthly start probability.
    #[serde(default = "station_shift")]
    pub station_shift: DistSpec,
    /// A further shift per station and month.
    #[serde(default = "month_shift")]
    pub month_shift: DistSpec,
    /// Each station's probability that rain stops on a rainy day.
    #[serde(default = "stop_probability")]
    pub stop_probability: DistSpec,
    /// No rain on a day colder than this (degrees F).
    #[serde(default = "min_temp")]
    pub min_temp_f: f64,
}

fn uniform(min: f64, max: f64) -> DistSpec {
    DistSpec::Uniform { min, max }
}
fn station_count() -> u32 {
    15
}
fn station_offset() -> DistSpec {
    uniform(-15.0, 15.0)
}
fn month_offset() -> DistSpec {
    uniform(-2.5, 2.5)
}
fn monthly_means() -> Vec<f64> {
    vec![27.0, 31.0, 44.0, 58.0, 70.0, 79.0, 83.0, 81.0, 74.0, 61.0, 46.0, 32.0]
}
fn persistence() -> f64 {
    0.8
}
fn temperature_noise() -> DistSpec {
    uniform(-10.0, 10.0)
}
fn start_probability() -> Vec<f64> {
    vec![0.1, 0.1, 0.3, 0.5, 0.4, 0.2, 0.2, 0.1, 0.2, 0.2, 0.2, 0.1]
}
fn station_shift() -> DistSpec {
    uniform(-0.05, 0.05)
}
fn month_shift() -> DistSpec {
    uniform(-0.1, 0.1)
}
fn stop_probability() -> DistSpec {
    uniform(0.2, 0.4)
}
fn min_temp() -> f64 {
    32.0
}

impl Default for StationsSpec {
    fn default() -> Self {
        StationsSpec { count: station_count(), offset_f: station_offset(), month_offset_f: month_offset() }
    }
}

impl Default for TemperatureSpec {
    fn default() -> Self {
        TemperatureSpec { monthly_means_f: monthly_means(), persistence: persistence(), noise_f: temperature_noise() }
    }
}

impl Default for RainSpec {
    fn default() -> Self {
        RainSpec {
            start_probability: start_probability(),
            station_shift: station_shift(),
            month_shift: month_shift(),
            stop_probability: stop_probability(),
            min_temp_f: min_temp(),
        }
    }
}

impl Scale for WeatherFile {
    /// Stations (one report each a day).
    fn scale(&mut self, k: f64) -> Result<Vec<KeyPath>, (KeyPath, String)> {
        self.stations.count = scaled_count(self.stations.count, k);
        Ok(vec![vec!["stations".into(), "count".into()]])
    }
}
