//! The retail kind: one shop selling a catalogue (the reference's smoothie
//! shop, `../shared/reference/SCENARIOS.md`). Transactions arrive on the
//! shared demand curves (daily target with growth, weekdays, noise and dated
//! anomalies; intraday peaks; Poisson per minute) inside the opening hours
//! of the shop's local clock; each has line items picked by propensity,
//! with quantities, a member discount and supplements; inventory falls with
//! every sale, restocks arrive after a delay unless a supply outage holds
//! them, and a line that finds too little stock is a lost sale. Dated
//! product events change prices and costs for later sales. This module
//! reads and validates the scenario; [`model`] simulates (no I/O),
//! [`tables`] lays out the tables, [`checks`] holds verify's extra checks.

pub mod checks;
pub mod figures;
pub mod file;
pub mod model;
pub mod tables;

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::Deserialize;

use crate::error::Result;
use crate::model::calendar::Calendar;
use crate::model::clock::LocalClock;
use crate::model::curve::DailyVolume;
use crate::model::dist::Dist;
use crate::model::hours::OpeningHours;
use crate::scenario::common::parse_cents;
use crate::scenario::common::{check_shape, Problems};
use crate::scenario::csv;
use crate::scenario::document::Document;
use file::RetailFile;

/// One row of the product catalogue as written (the reference's columns).
#[derive(Clone, Debug, Deserialize, JsonSchema)]
pub struct ProductRow {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Category")]
    pub category: String,
    #[serde(rename = "Item")]
    pub item: String,
    #[serde(rename = "Size")]
    pub size: String,
    #[serde(rename = "COGS")]
    pub cogs: String,
    #[serde(rename = "Price")]
    pub price: String,
    #[serde(rename = "Inventory")]
    pub inventory: u32,
    #[serde(rename = "ContainsFruit")]
    pub contains_fruit: String,
    #[serde(rename = "ContainsVeggies")]
    pub contains_veggies: String,
    #[serde(rename = "ContainsNuts")]
    pub contains_nuts: String,
    #[serde(rename = "ContainsCaffeine")]
    pub contains_caffeine: String,
    #[serde(rename = "_CatWeight")]
    pub cat_weight: f64,
    #[serde(rename = "_ItemWeight")]
    pub item_weight: f64,
    #[serde(rename = "_TotalWeight")]
    pub total_weight: f64,
    /// The product's propensity to buy (0 ..= 1000).
    #[serde(rename = "_RangeWeight")]
    pub range_weight: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Product {
    pub id: String,
    pub category: String,
    pub item: String,
    pub size: String,
    pub cogs_cents: i64,
    pub price_cents: i64,
    pub inventory: u32,
    /// Fruit, veggies, nuts, caffeine.
    pub contains: [bool; 4],
    pub propensity: f64,
    /// Whether its items get a supplement with the boosted probability.
    pub boosted: bool,
}

/// A dated change of one product's price or cost, from local midnight of `day`.
#[derive(Clone, Debug)]
pub struct ProductChange {
    pub day: u32,
    pub product: usize,
    pub price_cents: Option<i64>,
    pub cogs_cents: Option<i64>,
}

/// Days `start_day ..end_day` in which no restock of `product` arrives.
#[derive(Clone, Debug)]
pub struct Outage {
    pub product: usize,
    pub start_day: u32,
    pub end_day: u32,
}

/// How transactions arrive.
#[derive(Clone, Debug)]
pub enum Arrivals {
    /// A daily target (growth, weekdays, noise, anomalies), Poisson per minute on the peaks.
    Daily(DailyVolume),
    /// One after another, gaps in seconds from a distribution (anomalies scale the rate).
    Interval(Dist),
}

#[derive(Clone, Debug)]
pub struct RetailScenario {
    pub name: String,
    pub description: String,
    pub seed: u64,
    pub calendar: Calendar,
    pub clock: LocalClock,
    pub arrivals: Arrivals,
    /// 1440 local minute weights from the peaks (before the opening hours).
    pub profile: Vec<f64>,
    pub hours: OpeningHours,
    /// Each day's anomaly multiplier (1 where none is dated).
    pub day_multipliers: Vec<f64>,
    pub products: Vec<Product>,
    pub items: Dist,
    pub quantity: Dist,
    pub member_probability: f64,
    /// The member discount in basis points (0.1 = 1000).
    pub member_discount_bp: i64,
    pub supplement_cents: i64,
    pub supplement_probability: f64,
    pub boosted_probability: f64,
    pub restock_threshold: u32,
    pub restock_quantity: u32,
    pub restock_delay_min: Dist,
    pub outages: Vec<Outage>,
    pub changes: Vec<ProductChange>,
    pub row_group_rows: usize,
    pub zstd_level: i32,
    pub inputs: Vec<PathBuf>,
}

/// The JSON Schema of the retail scenario file.
pub fn schema() -> serde_json::Value {
    schemars::schema_for!(RetailFile).as_value().clone()
}

fn flag(t: &csv::Table<ProductRow>, i: usize, column: &str, v: &str) -> Result<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(t.error(i, column, &format!("expected TRUE or FALSE, found {v:?}"))),
    }
}

/// Products one catalogue may hold.
pub const MAX_PRODUCTS: usize = 10_000;

/// The catalogue: ids unique, prices and costs exact to the cent, propensities in 0 ..= 1000.
fn read_products(path: &Path, boosted_prefixes: &[String]) -> Result<Vec<Product>> {
    let t = csv::read::<ProductRow>(path)?;
    if t.rows.is_empty() {
        return Err(crate::error::Error(format!("{}: expected at least one product", path.display())));
    }
    if t.rows.len() > MAX_PRODUCTS {
        return Err(crate::error::Error(format!(
            "{}: {} products, at most {MAX_PRODUCTS} are supported",
            path.display(),
            t.rows.len()
        )));
    }
    let mut products: Vec<Product> = Vec::new();
    let mut ids = std::collections::HashSet::new();
    for (i, r) in t.rows.iter().enumerate() {
        if !ids.insert(r.id.as_str()) {
            return Err(t.error(i, "ID", &format!("product id {:?} appears twice", r.id)));
        }
        if r.inventory > validate::MAX_UNITS {
            return Err(t.error(i, "Inventory", &format!("expected 0 ..= 1000000 units, found {}", r.inventory)));
        }
        let money = |column: &str, v: &str| {
            parse_cents(v).ok_or_else(|| {
                t.error(
                    i,
                    column,
                    &format!("expected a price like 4.99 (0 ..= 1000000.00, at most 2 decimals), found {v:?}"),
                )
            })
        };
        if !(0.0..=1000.0).contains(&r.range_weight) {
            return Err(t.error(
                i,
                "_RangeWeight",
                &format!("expected a propensity in 0 ..= 1000, found {}", r.range_weight),
            ));
        }
        products.push(Product {
            id: r.id.clone(),
            category: r.category.clone(),
            item: r.item.clone(),
            size: r.size.clone(),
            cogs_cents: money("COGS", &r.cogs)?,
            price_cents: money("Price", &r.price)?,
            inventory: r.inventory,
            contains: [
                flag(&t, i, "ContainsFruit", &r.contains_fruit)?,
                flag(&t, i, "ContainsVeggies", &r.contains_veggies)?,
                flag(&t, i, "ContainsNuts", &r.contains_nuts)?,
                flag(&t, i, "ContainsCaffeine", &r.contains_caffeine)?,
            ],
            propensity: r.range_weight,
            boosted: boosted_prefixes.iter().any(|p| r.id.starts_with(p.as_str())),
        });
    }
    Ok(products)
}

/// The day index of a local date (negative before the start, at or past
/// `days` after the run: such a date has no effect, so `--days N` stays a
/// prefix of a longer run), or a problem at `key`.
fn day_of(p: &mut Problems, key: &str, date: &str, calendar: &Calendar) -> Option<i64> {
    let parsed = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").ok();
    match parsed.filter(|d| (1900..=9899).contains(&chrono::Datelike::year(d))) {
        Some(d) => Some((d - calendar.start).num_days()),
        None => {
            p.key(key, format!("expected a date \"YYYY-MM-DD\", found {date:?}"));
            None
        }
    }
}

/// The product with id `id`, or a problem at `key`.
fn product_index(p: &mut Problems, key: &str, id: &str, products: &[Product]) -> Option<usize> {
    let found = products.iter().position(|x| x.id == id);
    if found.is_none() {
        let known: Vec<&str> = products.iter().map(|x| x.id.as_str()).collect();
        p.key(key, format!("expected a product id of the catalogue ({}), found {id:?}", known.join(", ")));
    }
    found
}

mod validate;

impl RetailScenario {
    pub fn from_document(doc: &Document) -> Result<RetailScenario> {
        check_shape(doc, &schema())?;
        let f: RetailFile = doc.deserialize_scaled()?;
        let base = doc.path().parent().unwrap_or(Path::new(".")).to_path_buf();
        let products_path = base.join(&f.shop.products);
        let products = read_products(&products_path, &f.basket.supplement_boosted_prefixes)?;
        let mut p = Problems::default();
        let built = validate::scenario(&mut p, f, products, products_path);
        match built {
            Some(s) if p.0.is_empty() => Ok(s),
            _ => Err(doc.errors(&p.0)),
        }
    }

    /// The most line items its days may sell (a generous bound on the purchases).
    pub fn max_lines(&self) -> f64 {
        validate::max_lines(&self.arrivals, &self.hours, &self.calendar, &self.day_multipliers, &self.items)
    }

    /// What a run would produce, for `validate`.
    /// The transactions day `d` expects (before noise), anomalies included.
    pub fn expected_transactions(&self, d: u32) -> f64 {
        let (c, m) = (&self.calendar, self.day_multipliers.get(d as usize).copied().unwrap_or(1.0));
        match &self.arrivals {
            Arrivals::Daily(v) => v.expected(d, c.weekday(d)) * m,
            Arrivals::Interval(gap) => {
                let (lo, hi) = gap.bounds();
                self.hours.open_minutes(c.weekday(d)) as f64 * 60.0 * m / ((lo + hi) / 2.0)
            }
        }
    }

    pub fn summary(&self) -> String {
        let c = &self.calendar;
        let expected: f64 = (0..c.days).map(|d| self.expected_transactions(d)).sum();
        format!(
            "one shop ({}), {} products, {} days from {}, about {} transactions",
            self.clock.name(),
            self.products.len(),
            c.days,
            c.start,
            crate::figures::grouped(expected.round() as u64)
        )
    }
}
