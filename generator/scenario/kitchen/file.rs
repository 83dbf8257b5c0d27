//! The ghost-kitchen scenario file as written: strict serde types whose JSON
//! Schema (schemars) the shape check reads, so keys, defaults and value
//! kinds are declared once, here.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::model::calendar::WeekdayMultipliers;
use crate::model::dist::DistSpec;
use crate::scenario::common::{OutputSpec, PeakSpec, TimeSpec};
use crate::scenario::document::{KeyPath, Scale};

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KitchenFile {
    /// Dataset name: letters, digits, `_` and `-`; the default output is `outputs/<name>/`.
    pub name: String,
    /// The scenario kind: "ghost_kitchen".
    pub kind: String,
    #[serde(default)]
    pub description: String,
    pub seed: u64,
    pub time: TimeSpec,
    pub demand: DemandSpec,
    pub locations: BTreeMap<String, LocationSpec>,
    pub tables: TablesSpec,
    pub basket: BasketSpec,
    pub lifecycle: LifecycleSpec,
    pub driving: DrivingSpec,
    #[serde(default)]
    pub roads: RoadsSpec,
    #[serde(default)]
    pub output: OutputSpec,
    /// Late, duplicate, out-of-order, dropped and null records per stream, and the truth to compute (docs/disorder.md).
    #[serde(default)]
    #[allow(dead_code)] // read by crate::disorder::spec::load
    pub disorder: crate::disorder::DisorderSection,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DemandSpec {
    #[serde(default)]
    pub weekday_multipliers: WeekdayMultipliers,
    pub noise: DistSpec,
    pub profiles: BTreeMap<String, ProfileSpec>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileSpec {
    pub peaks: Vec<PeakSpec>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LatLon {
    pub lat: f64,
    pub lon: f64,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LocationSpec {
    pub id: i64,
    pub name: String,
    #[serde(default)]
    pub address: String,
    pub kitchen: LatLon,
    /// The kitchen's IANA time zone, e.g. "America/Chicago": days, weekdays
    /// and the intraday profile are read on its clock.
    pub timezone: String,
    pub delivery_radius_m: f64,
    pub base_orders_per_day: f64,
    #[serde(default)]
    pub daily_growth: f64,
    #[serde(default = "yes")]
    pub weekday_pattern: bool,
    pub profile: String,
    /// An OSM extract for this location's roads (relative to the scenario file).
    pub osm: Option<String>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TablesSpec {
    pub dir: String,
    #[serde(default = "brands_csv")]
    pub brands: String,
    #[serde(default = "menus_csv")]
    pub menus: String,
    #[serde(default = "categories_csv")]
    pub categories: String,
    #[serde(default = "items_csv")]
    pub items: String,
    #[serde(default = "brand_locations_csv")]
    pub brand_locations: String,
}

fn brands_csv() -> String {
    "brands.csv".into()
}
fn menus_csv() -> String {
    "menus.csv".into()
}
fn categories_csv() -> String {
    "categories.csv".into()
}
fn items_csv() -> String {
    "items.csv".into()
}
fn brand_locations_csv() -> String {
    "brand_locations.csv".into()
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BasketSpec {
    pub brands_per_order: DistSpec,
    pub items_per_brand: DistSpec,
    pub quantity: DistSpec,
    #[serde(default = "weight_floor")]
    pub brand_weight_floor: f64,
    #[serde(default = "days_per_month")]
    pub days_per_month: f64,
}

fn weight_floor() -> f64 {
    0.1
}
fn days_per_month() -> f64 {
    30.0
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LifecycleSpec {
    pub created_to_started: DistSpec,
    pub started_to_finished: DistSpec,
    pub finished_to_ready: DistSpec,
    pub ready_to_pickup: DistSpec,
    pub driver_arrival: ArrivalSpec,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArrivalSpec {
    pub after_ready_probability: f64,
    pub fraction: DistSpec,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DrivingSpec {
    pub speed_mph: f64,
    #[serde(default = "ping_interval")]
    pub ping_interval_s: u32,
}

fn ping_interval() -> u32 {
    60
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoadsSpec {
    #[serde(default = "max_snap")]
    pub max_snap_m: f64,
    #[serde(default = "min_area_nodes")]
    pub min_area_nodes: u32,
}

impl Default for RoadsSpec {
    fn default() -> Self {
        RoadsSpec { max_snap_m: max_snap(), min_area_nodes: min_area_nodes() }
    }
}

fn max_snap() -> f64 {
    1000.0
}
fn min_area_nodes() -> u32 {
    50
}

impl Scale for KitchenFile {
    /// Orders per day of every location.
    fn scale(&mut self, k: f64) -> Result<Vec<KeyPath>, (KeyPath, String)> {
        let mut keys = Vec::new();
        for (code, loc) in &mut self.locations {
            loc.base_orders_per_day *= k;
            keys.push(vec!["locations".into(), code.clone(), "base_orders_per_day".into()]);
        }
        Ok(keys)
    }
}
