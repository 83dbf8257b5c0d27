//! The ghost-kitchen scenario kind: its file schema (strict serde), its
//! dimension tables, and validation into a ready-to-run [`KitchenScenario`].
//!
//! Everything model-specific lives here as data: locations, demand curves,
//! basket rules, lifecycle distributions, driving. Generic pieces (distributions,
//! calendar, curves) come from `model`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::csv;
use super::document::Document;
use crate::error::{Error, Result};
use crate::model::calendar::{Calendar, WeekdayMultipliers};
use crate::model::curve::{minute_weights, parse_clock, DailyVolume, Peak, PeakShape};
use crate::model::dist::{Dist, DistSpec};

// ---------------------------------------------------------------- file schema

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KitchenFile {
    pub name: String,
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
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeSpec {
    pub start: String,
    pub days: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemandSpec {
    #[serde(default)]
    pub weekday_multipliers: WeekdayMultipliers,
    pub noise: DistSpec,
    pub profiles: BTreeMap<String, ProfileSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileSpec {
    pub peaks: Vec<PeakSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeakSpec {
    pub start: String,
    pub end: String,
    pub multiplier: f64,
    #[serde(default = "default_shape")]
    pub shape: PeakShape,
}

fn default_shape() -> PeakShape {
    PeakShape::Sin2
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatLon {
    pub lat: f64,
    pub lon: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocationSpec {
    pub id: i64,
    pub name: String,
    #[serde(default)]
    pub address: String,
    pub kitchen: LatLon,
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

#[derive(Deserialize)]
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

#[derive(Deserialize)]
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LifecycleSpec {
    pub created_to_started: DistSpec,
    pub started_to_finished: DistSpec,
    pub finished_to_ready: DistSpec,
    pub ready_to_pickup: DistSpec,
    pub driver_arrival: ArrivalSpec,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArrivalSpec {
    pub after_ready_probability: f64,
    pub fraction: DistSpec,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrivingSpec {
    pub speed_mph: f64,
    #[serde(default = "ping_interval")]
    pub ping_interval_s: u32,
}

fn ping_interval() -> u32 {
    60
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoadsSpec {
    #[serde(default = "max_snap")]
    pub max_snap_m: f64,
    #[serde(default = "min_area_nodes")]
    pub min_area_nodes: usize,
}

impl Default for RoadsSpec {
    fn default() -> Self {
        RoadsSpec { max_snap_m: max_snap(), min_area_nodes: min_area_nodes() }
    }
}

fn max_snap() -> f64 {
    1000.0
}
fn min_area_nodes() -> usize {
    50
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    #[serde(default = "row_group_rows")]
    pub row_group_rows: usize,
    #[serde(default = "zstd_level")]
    pub zstd_level: i32,
}

impl Default for OutputSpec {
    fn default() -> Self {
        OutputSpec { row_group_rows: row_group_rows(), zstd_level: zstd_level() }
    }
}

fn row_group_rows() -> usize {
    65_536
}
fn zstd_level() -> i32 {
    3
}

// ---------------------------------------------------------------- dimension rows

#[derive(Clone, Debug, Deserialize)]
pub struct BrandRow {
    pub brand_id: i64,
    pub name: String,
    pub cuisine_type: String,
    pub avg_prep_time_min: f64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct MenuRow {
    pub id: i64,
    pub brand_id: i64,
    pub name: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct CategoryRow {
    pub id: i64,
    pub menu_id: i64,
    pub brand_id: i64,
    pub name: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ItemRow {
    pub id: i64,
    pub category_id: i64,
    pub menu_id: i64,
    pub brand_id: i64,
    pub name: String,
    pub price: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct BrandLocationRow {
    pub brand_location_id: i64,
    pub brand_id: i64,
    pub location_id: i64,
    pub start_day: f64,
    pub end_day: Option<f64>,
    pub trajectory: String,
    pub growth_rate_monthly: f64,
}

// ---------------------------------------------------------------- validated scenario

#[derive(Clone, Debug)]
pub struct Location {
    pub id: i8,
    pub code: String,
    pub name: String,
    pub address: String,
    pub kitchen: [f64; 2],
    pub radius_m: f64,
    pub volume: DailyVolume,
    pub profile: String,
    pub minute_weights: Vec<f64>,
    pub osm: Option<PathBuf>,
}

#[derive(Clone, Debug)]
pub struct Item {
    pub id: i16,
    pub category_id: i16,
    pub menu_id: i16,
    pub brand_id: i8,
    pub name: String,
    pub price_cents: i64,
}

/// A brand's presence at a location: active on days `start_day <= d < end_day`.
#[derive(Clone, Debug)]
pub struct BrandPresence {
    pub id: i64,
    pub brand_id: i8,
    pub location_id: i8,
    pub start_day: u32,
    pub end_day: Option<u32>,
    pub trajectory: String,
    pub growth_rate_monthly: f64,
}

#[derive(Clone, Debug)]
pub struct Basket {
    pub brands_per_order: Dist,
    pub items_per_brand: Dist,
    pub quantity: Dist,
    pub brand_weight_floor: f64,
    pub days_per_month: f64,
}

#[derive(Clone, Debug)]
pub struct Lifecycle {
    /// Minutes: created->started, started->finished, finished->ready, ready->pickup.
    pub steps: [Dist; 4],
    pub arrival_after_ready_probability: f64,
    pub arrival_fraction: Dist,
}

#[derive(Clone, Debug)]
pub struct KitchenScenario {
    pub name: String,
    pub description: String,
    pub seed: u64,
    pub calendar: Calendar,
    pub locations: Vec<Location>,
    pub brands: Vec<BrandRow>,
    pub menus: Vec<MenuRow>,
    pub categories: Vec<CategoryRow>,
    pub items: Vec<Item>,
    pub brand_locations: Vec<BrandPresence>,
    pub basket: Basket,
    pub lifecycle: Lifecycle,
    pub speed_mps: f64,
    pub ping_interval_s: u32,
    pub max_snap_m: f64,
    pub min_area_nodes: usize,
    pub row_group_rows: usize,
    pub zstd_level: i32,
    /// Files the scenario read (tables), for hashing.
    pub inputs: Vec<PathBuf>,
}

const MPH_TO_MPS: f64 = 0.44704;

/// Collects validation problems as (key path, message) and reports the first
/// one positioned in the file.
struct Problems<'a> {
    doc: &'a Document,
    first: Option<Error>,
}

impl Problems<'_> {
    fn key(&mut self, path: &str, message: String) {
        if self.first.is_none() {
            self.first = Some(self.doc.error_at(&super::document::key_path(path), &message));
        }
    }

    fn dist(&mut self, path: &str, spec: &DistSpec) -> Option<Dist> {
        match spec.compile() {
            Ok(d) => Some(d),
            Err(problems) => {
                let (sub, msg) = &problems[0];
                self.key(&format!("{path}.{sub}"), msg.clone());
                None
            }
        }
    }
}

fn parse_cents(price: &str) -> Option<i64> {
    let (whole, frac) = price.split_once('.').unwrap_or((price, ""));
    if whole.is_empty()
        || frac.len() > 2
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let frac_cents = format!("{frac:0<2}").parse::<i64>().ok()?;
    whole.parse::<i64>().ok()?.checked_mul(100)?.checked_add(frac_cents)
}

impl KitchenScenario {
    pub fn from_document(doc: &Document) -> Result<KitchenScenario> {
        let file: KitchenFile = doc.deserialize()?;
        let base = doc.path().parent().unwrap_or(Path::new(".")).to_path_buf();
        let mut p = Problems { doc, first: None };

        if file.kind != "ghost_kitchen" {
            p.key("kind", format!("expected \"ghost_kitchen\", found \"{}\"", file.kind));
        }
        let start = chrono::NaiveDate::parse_from_str(&file.time.start, "%Y-%m-%d");
        if start.is_err() {
            p.key("time.start", format!("expected a date \"YYYY-MM-DD\", found \"{}\"", file.time.start));
        }
        if !(1..=36_500).contains(&file.time.days) {
            p.key("time.days", format!("expected 1 ..= 36500 days, found {}", file.time.days));
        }
        for k in file.demand.weekday_multipliers.invalid_keys() {
            p.key(&format!("demand.weekday_multipliers.{k}"), "expected a multiplier >= 0".into());
        }
        let noise = p.dist("demand.noise", &file.demand.noise);

        let mut profiles: HashMap<&str, Vec<f64>> = HashMap::new();
        for (pname, prof) in &file.demand.profiles {
            let mut peaks = Vec::new();
            for (i, peak) in prof.peaks.iter().enumerate() {
                let key = format!("demand.profiles.{pname}.peaks.{i}");
                let (s, e) = (parse_clock(&peak.start), parse_clock(&peak.end));
                match (s, e) {
                    (Ok(s), Ok(e)) if e > s => {
                        if !(peak.multiplier.is_finite() && peak.multiplier >= 0.0) {
                            p.key(
                                &format!("{key}.multiplier"),
                                format!("expected a multiplier >= 0, found {}", peak.multiplier),
                            );
                        }
                        peaks.push(Peak { start_min: s, end_min: e, multiplier: peak.multiplier, shape: peak.shape });
                    }
                    (Ok(_), Ok(_)) => p.key(
                        &format!("{key}.end"),
                        format!("expected end after start ({}), found {}", peak.start, peak.end),
                    ),
                    (Err(m), _) => p.key(&format!("{key}.start"), m),
                    (_, Err(m)) => p.key(&format!("{key}.end"), m),
                }
            }
            let w = minute_weights(&peaks);
            if w.iter().any(|x| *x < 0.0) {
                p.key(&format!("demand.profiles.{pname}"), "expected peaks whose weights stay >= 0".into());
            }
            profiles.insert(pname.as_str(), w);
        }

        if file.locations.is_empty() {
            p.key("locations", "expected at least one location".into());
        }
        let mut locations = Vec::new();
        let mut seen_ids = HashSet::new();
        for (code, l) in &file.locations {
            let key = format!("locations.{code}");
            if !(1..=127).contains(&l.id) || !seen_ids.insert(l.id) {
                p.key(&format!("{key}.id"), format!("expected a unique id in 1 ..= 127, found {}", l.id));
            }
            if !(-90.0..=90.0).contains(&l.kitchen.lat) {
                p.key(
                    &format!("{key}.kitchen.lat"),
                    format!("expected a latitude in -90 ..= 90, found {}", l.kitchen.lat),
                );
            }
            if !(-180.0..=180.0).contains(&l.kitchen.lon) {
                p.key(
                    &format!("{key}.kitchen.lon"),
                    format!("expected a longitude in -180 ..= 180, found {}", l.kitchen.lon),
                );
            }
            if !(l.delivery_radius_m > 0.0 && l.delivery_radius_m <= 100_000.0) {
                p.key(
                    &format!("{key}.delivery_radius_m"),
                    format!("expected a radius in (0, 100000] metres, found {}", l.delivery_radius_m),
                );
            }
            if !(l.base_orders_per_day >= 0.0 && l.base_orders_per_day <= 1e6) {
                p.key(
                    &format!("{key}.base_orders_per_day"),
                    format!("expected 0 ..= 1000000 orders per day, found {}", l.base_orders_per_day),
                );
            }
            if !(l.daily_growth > -1.0 && l.daily_growth < 1.0) {
                p.key(
                    &format!("{key}.daily_growth"),
                    format!("expected a daily growth rate in (-1, 1), found {}", l.daily_growth),
                );
            }
            let weights = match profiles.get(l.profile.as_str()) {
                Some(w) => w.clone(),
                None => {
                    let known: Vec<&str> = file.demand.profiles.keys().map(String::as_str).collect();
                    p.key(
                        &format!("{key}.profile"),
                        format!("expected one of the profiles [{}], found \"{}\"", known.join(", "), l.profile),
                    );
                    vec![1.0; 1440]
                }
            };
            let weekday = l.weekday_pattern.then(|| file.demand.weekday_multipliers.as_array());
            if let Some(noise) = &noise {
                locations.push(Location {
                    id: l.id.clamp(0, 127) as i8,
                    code: code.clone(),
                    name: l.name.clone(),
                    address: l.address.clone(),
                    kitchen: [l.kitchen.lat, l.kitchen.lon],
                    radius_m: l.delivery_radius_m,
                    volume: DailyVolume {
                        base: l.base_orders_per_day,
                        daily_growth: l.daily_growth,
                        weekday,
                        noise: noise.clone(),
                    },
                    profile: l.profile.clone(),
                    minute_weights: weights,
                    osm: l.osm.as_ref().map(|o| base.join(o)),
                });
            }
        }
        locations.sort_by_key(|l| l.id);

        let b = &file.basket;
        let basket = (
            p.dist("basket.brands_per_order", &b.brands_per_order),
            p.dist("basket.items_per_brand", &b.items_per_brand),
            p.dist("basket.quantity", &b.quantity),
        );
        if !(b.brand_weight_floor >= 0.0) {
            p.key("basket.brand_weight_floor", format!("expected a weight >= 0, found {}", b.brand_weight_floor));
        }
        if !(b.days_per_month > 0.0) {
            p.key("basket.days_per_month", format!("expected a number of days > 0, found {}", b.days_per_month));
        }
        let lc = &file.lifecycle;
        let steps = [
            p.dist("lifecycle.created_to_started", &lc.created_to_started),
            p.dist("lifecycle.started_to_finished", &lc.started_to_finished),
            p.dist("lifecycle.finished_to_ready", &lc.finished_to_ready),
            p.dist("lifecycle.ready_to_pickup", &lc.ready_to_pickup),
        ];
        let fraction = p.dist("lifecycle.driver_arrival.fraction", &lc.driver_arrival.fraction);
        if !(0.0..=1.0).contains(&lc.driver_arrival.after_ready_probability) {
            p.key(
                "lifecycle.driver_arrival.after_ready_probability",
                format!("expected a probability in 0 ..= 1, found {}", lc.driver_arrival.after_ready_probability),
            );
        }
        if !(file.driving.speed_mph > 0.0 && file.driving.speed_mph <= 200.0) {
            p.key("driving.speed_mph", format!("expected a speed in (0, 200] mph, found {}", file.driving.speed_mph));
        }
        if file.driving.ping_interval_s == 0 {
            p.key("driving.ping_interval_s", "expected an interval >= 1 second".into());
        }
        if !(file.roads.max_snap_m > 0.0) {
            p.key("roads.max_snap_m", format!("expected a distance > 0, found {}", file.roads.max_snap_m));
        }
        if !(1..=1 << 24).contains(&file.output.row_group_rows) {
            p.key(
                "output.row_group_rows",
                format!("expected 1 ..= 16777216 rows, found {}", file.output.row_group_rows),
            );
        }
        if !(1..=22).contains(&file.output.zstd_level) {
            p.key("output.zstd_level", format!("expected a zstd level in 1 ..= 22, found {}", file.output.zstd_level));
        }
        if let Some(e) = p.first.take() {
            return Err(e);
        }
        let steps = steps.map(|s| s.expect("validated"));
        let (Some(bpo), Some(ipb), Some(qty)) = basket else { unreachable!("validated") };

        let dir = base.join(&file.tables.dir);
        let t = &file.tables;
        let paths = [&t.brands, &t.menus, &t.categories, &t.items, &t.brand_locations].map(|f| dir.join(f));
        let tables = Tables::read(&paths, &locations)?;
        Ok(KitchenScenario {
            name: file.name,
            description: file.description,
            seed: file.seed,
            calendar: Calendar { start: start.expect("validated"), days: file.time.days },
            locations,
            brands: tables.brands,
            menus: tables.menus,
            categories: tables.categories,
            items: tables.items,
            brand_locations: tables.presence,
            basket: Basket {
                brands_per_order: bpo,
                items_per_brand: ipb,
                quantity: qty,
                brand_weight_floor: b.brand_weight_floor,
                days_per_month: b.days_per_month,
            },
            lifecycle: Lifecycle {
                steps,
                arrival_after_ready_probability: lc.driver_arrival.after_ready_probability,
                arrival_fraction: fraction.expect("validated"),
            },
            speed_mps: file.driving.speed_mph * MPH_TO_MPS,
            ping_interval_s: file.driving.ping_interval_s,
            max_snap_m: file.roads.max_snap_m,
            min_area_nodes: file.roads.min_area_nodes,
            row_group_rows: file.output.row_group_rows,
            zstd_level: file.output.zstd_level,
            inputs: paths.to_vec(),
        })
    }
}

struct Tables {
    brands: Vec<BrandRow>,
    menus: Vec<MenuRow>,
    categories: Vec<CategoryRow>,
    items: Vec<Item>,
    presence: Vec<BrandPresence>,
}

/// Checks an id column: positive, unique, within the range of its stored type.
fn check_ids<T>(t: &csv::Table<T>, column: &str, max: i64, id: impl Fn(&T) -> i64) -> Result<HashSet<i64>> {
    let mut seen = HashSet::new();
    for (i, row) in t.rows.iter().enumerate() {
        let v = id(row);
        if !(1..=max).contains(&v) {
            return Err(t.error(i, column, &format!("expected an id in 1 ..= {max}, found {v}")));
        }
        if !seen.insert(v) {
            return Err(t.error(i, column, &format!("duplicate id {v}")));
        }
    }
    Ok(seen)
}

fn check_ref<T>(t: &csv::Table<T>, i: usize, column: &str, v: i64, known: &HashSet<i64>, what: &str) -> Result<()> {
    if known.contains(&v) {
        Ok(())
    } else {
        Err(t.error(i, column, &format!("unknown {what} id {v}")))
    }
}

impl Tables {
    fn read(paths: &[PathBuf; 5], locations: &[Location]) -> Result<Tables> {
        let brands = csv::read::<BrandRow>(&paths[0])?;
        let menus = csv::read::<MenuRow>(&paths[1])?;
        let categories = csv::read::<CategoryRow>(&paths[2])?;
        let items = csv::read::<ItemRow>(&paths[3])?;
        let presence = csv::read::<BrandLocationRow>(&paths[4])?;

        let brand_ids = check_ids(&brands, "brand_id", i8::MAX as i64, |r| r.brand_id)?;
        let menu_ids = check_ids(&menus, "id", i16::MAX as i64, |r| r.id)?;
        let category_ids = check_ids(&categories, "id", i16::MAX as i64, |r| r.id)?;
        check_ids(&items, "id", i16::MAX as i64, |r| r.id)?;
        check_ids(&presence, "brand_location_id", i32::MAX as i64, |r| r.brand_location_id)?;
        for (i, m) in menus.rows.iter().enumerate() {
            check_ref(&menus, i, "brand_id", m.brand_id, &brand_ids, "brand")?;
        }
        for (i, c) in categories.rows.iter().enumerate() {
            check_ref(&categories, i, "menu_id", c.menu_id, &menu_ids, "menu")?;
            check_ref(&categories, i, "brand_id", c.brand_id, &brand_ids, "brand")?;
        }
        let mut out_items = Vec::with_capacity(items.rows.len());
        for (i, it) in items.rows.iter().enumerate() {
            check_ref(&items, i, "category_id", it.category_id, &category_ids, "category")?;
            check_ref(&items, i, "menu_id", it.menu_id, &menu_ids, "menu")?;
            check_ref(&items, i, "brand_id", it.brand_id, &brand_ids, "brand")?;
            let price_cents = parse_cents(&it.price).ok_or_else(|| {
                items.error(
                    i,
                    "price",
                    &format!("expected a price like 8.08 (>= 0, at most 2 decimals), found \"{}\"", it.price),
                )
            })?;
            out_items.push(Item {
                id: it.id as i16,
                category_id: it.category_id as i16,
                menu_id: it.menu_id as i16,
                brand_id: it.brand_id as i8,
                name: it.name.clone(),
                price_cents,
            });
        }
        let location_ids: HashSet<i64> = locations.iter().map(|l| l.id as i64).collect();
        let mut out_presence = Vec::new();
        for (i, r) in presence.rows.iter().enumerate() {
            check_ref(&presence, i, "brand_id", r.brand_id, &brand_ids, "brand")?;
            // Rows of locations the scenario does not declare are skipped, so one
            // table set can serve several scenarios (e.g. a single-city one).
            if !location_ids.contains(&r.location_id) {
                continue;
            }
            let day = |v: f64, col: &str| -> Result<u32> {
                if v.fract() == 0.0 && (0.0..=36_500.0).contains(&v) {
                    Ok(v as u32)
                } else {
                    Err(presence.error(i, col, &format!("expected a whole day number >= 0, found {v}")))
                }
            };
            let start_day = day(r.start_day, "start_day")?;
            let end_day = r.end_day.map(|v| day(v, "end_day")).transpose()?;
            if end_day.is_some_and(|e| e <= start_day) {
                return Err(presence.error(i, "end_day", &format!("expected end_day after start_day ({start_day})")));
            }
            if !(r.growth_rate_monthly > -1.0 && r.growth_rate_monthly.is_finite()) {
                return Err(presence.error(
                    i,
                    "growth_rate_monthly",
                    &format!("expected a rate > -1, found {}", r.growth_rate_monthly),
                ));
            }
            if !out_items.iter().any(|it| it.brand_id as i64 == r.brand_id) {
                return Err(presence.error(
                    i,
                    "brand_id",
                    &format!("brand {} has an empty menu (no rows in {})", r.brand_id, paths[3].display()),
                ));
            }
            out_presence.push(BrandPresence {
                id: r.brand_location_id,
                brand_id: r.brand_id as i8,
                location_id: r.location_id as i8,
                start_day,
                end_day,
                trajectory: r.trajectory.clone(),
                growth_rate_monthly: r.growth_rate_monthly,
            });
        }
        Ok(Tables {
            brands: brands.rows,
            menus: menus.rows,
            categories: categories.rows,
            items: out_items,
            presence: out_presence,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cents_are_exact() {
        assert_eq!(parse_cents("8.08"), Some(808));
        assert_eq!(parse_cents("12"), Some(1200));
        assert_eq!(parse_cents("0.5"), Some(50));
        assert_eq!(parse_cents("1.234"), None);
        assert_eq!(parse_cents("-1.00"), None);
        assert_eq!(parse_cents("abc"), None);
    }
}
