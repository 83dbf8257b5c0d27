//! The ghost-kitchen scenario kind: its file schema ([`file`]), its
//! dimension tables ([`tables`]), and validation into a ready-to-run
//! [`KitchenScenario`].
//!
//! Validation reports every problem at once, each at its key: values in
//! range, distributions whose every possible draw means something (a
//! quantity of at least 1, a duration of at least 0), and the volume and
//! time span the scenario implies within the documented limits
//! (`crate::limits`), before anything is generated.

pub mod file;
pub mod tables;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::common::{
    check_shape, is_identifier, validate_header, validate_output, validate_peaks, Problems, MAX_MULTIPLIER,
};
use super::document::{key_path, Document};
use crate::error::Result;
pub use crate::figures::figure;
use crate::ids::PER_PARTITION;
use crate::limits::{MAX_ORDER_SPAN_MS, MAX_STREAMED_EVENTS};
use crate::model::calendar::Calendar;
use crate::model::clock::LocalClock;
use crate::model::curve::{minute_weights, DailyVolume};
use crate::model::dist::Dist;
use file::KitchenFile;
pub use tables::{BrandRow, CategoryRow, MenuRow};

#[derive(Clone, Debug)]
pub struct Location {
    pub id: i8,
    pub code: String,
    pub name: String,
    pub address: String,
    pub kitchen: [f64; 2],
    pub clock: LocalClock,
    pub radius_m: f64,
    pub volume: DailyVolume,
    pub profile: String,
    /// 1440 weights, one per local minute of the day.
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

/// Metres per second in one mile per hour.
pub const MPH_TO_MPS: f64 = 0.44704;
/// Brands one order may hold (the orders table stores up to three).
const MAX_BRANDS_PER_ORDER: f64 = 3.0;

impl KitchenScenario {
    pub fn from_document(doc: &Document) -> Result<KitchenScenario> {
        check_shape(doc, &schema())?;
        let file: KitchenFile = doc.deserialize_scaled()?;
        let base = doc.path().parent().unwrap_or(Path::new(".")).to_path_buf();
        let mut p = Problems::default();
        let calendar = validate_header(&mut p, &file.name, &file.time);
        let locations = validate_locations(&mut p, &file, &base);
        let basket = validate_basket(&mut p, &file);
        let lifecycle = validate_lifecycle(&mut p, &file);
        validate_driving_and_output(&mut p, &file);
        if let (Some(c), Some(l)) = (&calendar, &lifecycle) {
            check_volume(&mut p, c, &locations, &file);
            check_span(&mut p, l);
        }
        let (Some(calendar), Some(basket), Some(lifecycle), true) = (calendar, basket, lifecycle, p.0.is_empty())
        else {
            return Err(doc.errors(&p.0));
        };
        let dir = base.join(&file.tables.dir);
        let t = &file.tables;
        let paths = [&t.brands, &t.menus, &t.categories, &t.items, &t.brand_locations].map(|f| dir.join(f));
        let tables = tables::Tables::read(&paths, &locations)?;
        check_order_totals(&basket, &tables.items).map_err(|m| doc.error_at(&key_path("basket"), &m))?;
        Ok(KitchenScenario {
            name: file.name,
            description: file.description,
            seed: file.seed,
            calendar,
            locations,
            brands: tables.brands,
            menus: tables.menus,
            categories: tables.categories,
            items: tables.items,
            brand_locations: tables.presence,
            basket,
            lifecycle,
            speed_mps: file.driving.speed_mph * MPH_TO_MPS,
            ping_interval_s: file.driving.ping_interval_s,
            max_snap_m: file.roads.max_snap_m,
            min_area_nodes: file.roads.min_area_nodes as usize,
            row_group_rows: file.output.row_group_rows as usize,
            zstd_level: file.output.zstd_level,
            inputs: paths.to_vec(),
        })
    }

    /// What a run would produce, for `validate`: locations, days and the
    /// expected number of orders (before noise).
    /// Brands open at location `location_id` on `day`, with their growth weights.
    pub fn active_brands(&self, location_id: i8, day: u32) -> Vec<(i8, f64)> {
        let b = &self.basket;
        self.brand_locations
            .iter()
            .filter(|p| p.location_id == location_id && p.start_day <= day && p.end_day.is_none_or(|e| e > day))
            .map(|p| {
                let r = (1.0 + p.growth_rate_monthly).powf(1.0 / b.days_per_month) - 1.0;
                (p.brand_id, (1.0 + r).powi((day - p.start_day) as i32).max(b.brand_weight_floor))
            })
            .collect()
    }

    pub fn summary(&self) -> String {
        let c = &self.calendar;
        let expected: f64 =
            (0..c.days).flat_map(|d| self.locations.iter().map(move |l| l.volume.expected(d, c.weekday(d)))).sum();
        format!(
            "{} locations x {} days from {}, about {} orders, {} brands, {} items",
            self.locations.len(),
            c.days,
            c.start,
            crate::figures::grouped(expected.round() as u64),
            self.brands.len(),
            self.items.len()
        )
    }

    /// The tables directory and files the scenario reads (no run may write over them).
    pub fn table_dir(&self) -> Option<&Path> {
        self.inputs.first().and_then(|p| p.parent())
    }
}

/// The JSON Schema of the ghost-kitchen scenario file.
pub fn schema() -> serde_json::Value {
    schemars::schema_for!(KitchenFile).as_value().clone()
}

/// Each profile's minute weights; problems for bad peaks.
fn validate_profiles(p: &mut Problems, file: &KitchenFile) -> HashMap<String, Vec<f64>> {
    let mut profiles = HashMap::new();
    for (pname, prof) in &file.demand.profiles {
        let peaks = validate_peaks(p, &format!("demand.profiles.{pname}.peaks"), &prof.peaks);
        profiles.insert(pname.clone(), minute_weights(&peaks));
    }
    profiles
}

/// What every location shares: the weekday multipliers, the noise, the profiles.
struct Shared {
    noise: Option<Dist>,
    profiles: HashMap<String, Vec<f64>>,
}

fn validate_locations(p: &mut Problems, file: &KitchenFile, base: &Path) -> Vec<Location> {
    for k in file.demand.weekday_multipliers.invalid_keys(MAX_MULTIPLIER) {
        p.key(&format!("demand.weekday_multipliers.{k}"), "expected a multiplier in 0 ..= 1000".into());
    }
    let noise =
        p.dist_within("demand.noise", &file.demand.noise, 0.0, f64::INFINITY, "a multiplier of the day's target");
    let shared = Shared { noise, profiles: validate_profiles(p, file) };
    if file.locations.is_empty() {
        p.key("locations", "expected at least one location".into());
    }
    let mut ids = HashMap::new();
    let mut locations = Vec::new();
    for (code, l) in &file.locations {
        let unique = ids.insert(l.id, code.clone()).is_none();
        p.check(&format!("locations.{code}.id"), (1..=127).contains(&l.id) && unique, "a unique id in 1 ..= 127", l.id);
        locations.extend(validate_location(p, file, &shared, code, l, base));
    }
    locations.sort_by_key(|l| l.id);
    locations
}

fn validate_location(
    p: &mut Problems,
    file: &KitchenFile,
    shared: &Shared,
    code: &str,
    l: &file::LocationSpec,
    base: &Path,
) -> Option<Location> {
    let key = |k: &str| format!("locations.{code}.{k}");
    p.check(&format!("locations.{code}"), is_identifier(code), "a location code of letters, digits, `_` and `-`", code);
    let lat_ok = (-90.0..=90.0).contains(&l.kitchen.lat);
    p.num(&key("kitchen.lat"), lat_ok, "a latitude in -90 ..= 90", l.kitchen.lat);
    let lon_ok = (-180.0..=180.0).contains(&l.kitchen.lon);
    p.num(&key("kitchen.lon"), lon_ok, "a longitude in -180 ..= 180", l.kitchen.lon);
    let radius_ok = l.delivery_radius_m > 0.0 && l.delivery_radius_m <= 100_000.0;
    p.num(&key("delivery_radius_m"), radius_ok, "a radius in (0, 100000] metres", l.delivery_radius_m);
    let base_ok = (0.0..=1e6).contains(&l.base_orders_per_day);
    p.num(&key("base_orders_per_day"), base_ok, "0 ..= 1000000 orders per day", l.base_orders_per_day);
    let growth_ok = l.daily_growth > -1.0 && l.daily_growth < 1.0;
    p.num(&key("daily_growth"), growth_ok, "a daily growth rate in (-1, 1)", l.daily_growth);
    let clock = LocalClock::parse(&l.timezone).map_err(|m| p.key(&key("timezone"), m)).ok();
    let weights = shared.profiles.get(&l.profile).cloned();
    if weights.is_none() {
        let known: Vec<&str> = file.demand.profiles.keys().map(String::as_str).collect();
        let found = format!("expected one of the profiles [{}], found {:?}", known.join(", "), l.profile);
        p.key(&key("profile"), found);
    }
    Some(Location {
        id: l.id.clamp(0, 127) as i8,
        code: code.to_string(),
        name: l.name.clone(),
        address: l.address.clone(),
        kitchen: [l.kitchen.lat, l.kitchen.lon],
        clock: clock?,
        radius_m: l.delivery_radius_m,
        volume: DailyVolume {
            base: l.base_orders_per_day,
            daily_growth: l.daily_growth,
            weekday: l.weekday_pattern.then(|| file.demand.weekday_multipliers.as_array()),
            noise: shared.noise.clone()?,
        },
        profile: l.profile.clone(),
        minute_weights: weights?,
        osm: l.osm.as_ref().map(|o| base.join(o)),
    })
}

fn validate_basket(p: &mut Problems, file: &KitchenFile) -> Option<Basket> {
    let b = &file.basket;
    let brands =
        p.dist_within("basket.brands_per_order", &b.brands_per_order, 1.0, MAX_BRANDS_PER_ORDER, "brands in an order");
    let items = p.dist_within("basket.items_per_brand", &b.items_per_brand, 1.0, f64::INFINITY, "items per brand");
    let qty = p.dist_within("basket.quantity", &b.quantity, 1.0, 127.0, "a quantity");
    p.num("basket.brand_weight_floor", b.brand_weight_floor >= 0.0, "a weight >= 0", b.brand_weight_floor);
    p.num("basket.days_per_month", b.days_per_month > 0.0, "a number of days > 0", b.days_per_month);
    Some(Basket {
        brands_per_order: brands?,
        items_per_brand: items?,
        quantity: qty?,
        brand_weight_floor: b.brand_weight_floor,
        days_per_month: b.days_per_month,
    })
}

fn validate_lifecycle(p: &mut Problems, file: &KitchenFile) -> Option<Lifecycle> {
    let lc = &file.lifecycle;
    let steps = [
        ("lifecycle.created_to_started", &lc.created_to_started),
        ("lifecycle.started_to_finished", &lc.started_to_finished),
        ("lifecycle.finished_to_ready", &lc.finished_to_ready),
        ("lifecycle.ready_to_pickup", &lc.ready_to_pickup),
    ]
    .map(|(key, spec)| p.dist_within(key, spec, 0.0, f64::INFINITY, "a duration in minutes"));
    let fraction =
        p.dist_within("lifecycle.driver_arrival.fraction", &lc.driver_arrival.fraction, 0.0, 1.0, "a share of a span");
    let prob = lc.driver_arrival.after_ready_probability;
    p.num(
        "lifecycle.driver_arrival.after_ready_probability",
        (0.0..=1.0).contains(&prob),
        "a probability in 0 ..= 1",
        prob,
    );
    let [a, b, c, d] = steps;
    Some(Lifecycle { steps: [a?, b?, c?, d?], arrival_after_ready_probability: prob, arrival_fraction: fraction? })
}

fn validate_driving_and_output(p: &mut Problems, file: &KitchenFile) {
    let speed = file.driving.speed_mph;
    p.num("driving.speed_mph", (1.0..=200.0).contains(&speed), "a speed in 1 ..= 200 mph", speed);
    p.check(
        "driving.ping_interval_s",
        file.driving.ping_interval_s >= 1,
        "an interval >= 1 second",
        file.driving.ping_interval_s,
    );
    let snap = file.roads.max_snap_m;
    p.num("roads.max_snap_m", snap > 0.0 && snap <= 100_000.0, "a distance in (0, 100000] metres", snap);
    validate_output(p, &file.output);
}

/// The most orders each location can have on one day, and all of them
/// together, from the volumes at their largest noise (plus Poisson's tail),
/// against the id space and [`MAX_STREAMED_EVENTS`] (an order has at least 7 events).
fn check_volume(p: &mut Problems, calendar: &Calendar, locations: &[Location], file: &KitchenFile) {
    let mut total = 0.0;
    for l in locations {
        let (mut worst, mut worst_day) = (0.0f64, 0);
        for day in 0..calendar.days {
            let orders = max_orders(&l.volume, day, calendar.weekday(day));
            total += orders;
            if orders > worst {
                (worst, worst_day) = (orders, day);
            }
        }
        if worst > PER_PARTITION as f64 {
            p.key(
                &format!("locations.{}.base_orders_per_day", l.code),
                format!(
                    "this location could take up to {} orders on day {worst_day} (volume with growth, weekday and noise at their largest); at most {PER_PARTITION} orders per location and day fit",
                    figure(worst)
                ),
            );
        }
    }
    let min_events = total * 7.0;
    if min_events > MAX_STREAMED_EVENTS as f64 {
        let key = if file.time.days > 1 { "time.days" } else { "locations" };
        p.key(
            key,
            format!(
                "the scenario could produce up to {} orders, at least {} events; at most {} events per run",
                figure(total),
                figure(min_events),
                figure(MAX_STREAMED_EVENTS as f64)
            ),
        );
    }
}

/// Upper bound of one partition's orders: the target at its largest plus
/// a Poisson tail no draw reaches.
pub fn max_orders(volume: &DailyVolume, day: u32, weekday: usize) -> f64 {
    let target = volume.upper_bound(day, weekday);
    if target.is_nan() {
        return f64::INFINITY; // growth compounded past any figure, times a zero
    }
    target + 10.0 * target.sqrt() + 10.0
}

/// The largest order total the orders table can hold: decimal(12, 2).
const MAX_TOTAL_CENTS: f64 = 999_999_999_999.0;

/// The dearest order the basket rules allow (every brand its most items,
/// each at the top quantity and the dearest price) fits the total column.
fn check_order_totals(basket: &Basket, items: &[Item]) -> std::result::Result<(), String> {
    let mut per_brand: HashMap<i8, usize> = HashMap::new();
    items.iter().for_each(|it| *per_brand.entry(it.brand_id).or_default() += 1);
    let largest_menu = per_brand.values().copied().max().unwrap_or(0) as f64;
    let lines = MAX_BRANDS_PER_ORDER * basket.items_per_brand.bounds().1.round().min(largest_menu);
    let dearest = items.iter().map(|it| it.price_cents).max().unwrap_or(0) as f64;
    let total = lines * basket.quantity.bounds().1.round() * dearest;
    if total > MAX_TOTAL_CENTS {
        return Err(format!(
            "an order could total up to {} (its brands' most items at the top quantity and the dearest price); at most 9,999,999,999.99 fits the orders' total",
            figure(total / 100.0)
        ));
    }
    Ok(())
}

/// The kitchen steps together stay well within [`MAX_ORDER_SPAN_MS`] (the
/// drive is added once the roads are known).
fn check_span(p: &mut Problems, lc: &Lifecycle) {
    let minutes: f64 = lc.steps.iter().map(|d| d.bounds().1).sum();
    let limit = MAX_ORDER_SPAN_MS as f64 / 60_000.0;
    if !(minutes <= limit) {
        p.key(
            "lifecycle",
            format!(
                "the kitchen steps can last up to {} minutes together; an order may take at most {limit} minutes (7 days) from creation to delivery",
                figure(minutes)
            ),
        );
    }
}
