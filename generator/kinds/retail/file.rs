//! The retail scenario file as written: strict serde types whose JSON
//! Schema (schemars) the shape check and `simkit schema` read.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::model::calendar::WeekdayMultipliers;
use crate::model::dist::DistSpec;
use crate::scenario::common::PeakSpec;
use crate::scenario::common::{OutputSpec, TimeSpec};
use crate::scenario::document::{scaled_count, KeyPath, Scale};

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetailFile {
    /// Dataset name: letters, digits, `_` and `-`; the default output is `outputs/<name>/`.
    pub name: String,
    /// The scenario kind: "retail".
    pub kind: String,
    #[serde(default)]
    pub description: String,
    pub seed: u64,
    pub time: TimeSpec,
    pub shop: ShopSpec,
    pub demand: RetailDemandSpec,
    #[serde(default)]
    pub hours: HoursSpec,
    #[serde(default)]
    pub basket: RetailBasketSpec,
    #[serde(default)]
    pub inventory: InventorySpec,
    /// Dated changes of a product's price or cost, which later sales respect.
    #[serde(default)]
    pub product_events: Vec<ProductEventSpec>,
    #[serde(default)]
    pub output: OutputSpec,
    /// Late, duplicate, out-of-order, dropped and null records per stream, and the truth to compute (docs/disorder.md).
    #[serde(default)]
    #[allow(dead_code)] // read by crate::disorder::spec::load
    pub disorder: crate::disorder::DisorderSection,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShopSpec {
    /// IANA time zone of the shop's clock: its days, hours and curves are local.
    pub timezone: String,
    /// The product catalogue (CSV), relative to this file.
    pub products: String,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetailDemandSpec {
    /// Transactions on day 0 before multipliers, arriving as a Poisson process on the
    /// peaks; give this or `interval_s`.
    #[serde(default)]
    pub transactions_per_day: Option<f64>,
    /// Seconds from one transaction to the next throughout the opening hours (the
    /// reference's "every 2..5 s"); give this or `transactions_per_day`.
    #[serde(default)]
    pub interval_s: Option<DistSpec>,
    #[serde(default)]
    pub daily_growth: f64,
    #[serde(default)]
    pub weekday_multipliers: WeekdayMultipliers,
    /// Multiplies each day's target (with `transactions_per_day`).
    #[serde(default = "no_noise")]
    pub noise: DistSpec,
    /// Intraday peaks on the local clock (minutes outside the opening hours get nothing).
    #[serde(default)]
    pub peaks: Vec<PeakSpec>,
    /// Dated multipliers of a day's target: a storm, an outage, a promotion.
    #[serde(default)]
    pub anomalies: Vec<AnomalySpec>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AnomalySpec {
    /// The local date, "YYYY-MM-DD".
    pub date: String,
    pub multiplier: f64,
    #[serde(default)]
    pub label: String,
}

/// Opening hours per weekday: "HH:MM-HH:MM" or "closed".
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HoursSpec {
    #[serde(default = "open")]
    pub mon: String,
    #[serde(default = "open")]
    pub tue: String,
    #[serde(default = "open")]
    pub wed: String,
    #[serde(default = "open")]
    pub thu: String,
    #[serde(default = "open")]
    pub fri: String,
    #[serde(default = "open")]
    pub sat: String,
    #[serde(default = "open")]
    pub sun: String,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetailBasketSpec {
    /// Line items per transaction.
    #[serde(default = "items")]
    pub items: DistSpec,
    /// Quantity of each line item.
    #[serde(default = "quantity")]
    pub quantity: DistSpec,
    /// Share of transactions by members.
    #[serde(default = "member_probability")]
    pub member_probability: f64,
    /// Members' discount, a fraction of the line total (at most 4 decimals).
    #[serde(default = "member_discount")]
    pub member_discount: f64,
    /// Price of a supplement added to a line item.
    #[serde(default = "supplement_price")]
    pub supplement_price: String,
    /// Probability that a line item gets a supplement, unless its product id starts with one of
    /// `supplement_boosted_prefixes`.
    #[serde(default = "supplement_probability")]
    pub supplement_probability: f64,
    /// Product id prefixes whose items get a supplement with `supplement_boosted_probability`.
    #[serde(default = "boosted_prefixes")]
    pub supplement_boosted_prefixes: Vec<String>,
    #[serde(default = "boosted_probability")]
    pub supplement_boosted_probability: f64,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InventorySpec {
    /// A product whose level drops to this or below is restocked.
    #[serde(default = "restock_threshold")]
    pub restock_threshold: u32,
    /// Units a restock adds.
    #[serde(default = "restock_quantity")]
    pub restock_quantity: u32,
    /// Minutes from the sale that triggers a restock to its arrival.
    #[serde(default = "restock_delay")]
    pub restock_delay_min: DistSpec,
    /// Periods in which no restock of a product arrives (a supply problem): stock-outs follow.
    #[serde(default)]
    pub outages: Vec<OutageSpec>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OutageSpec {
    pub product: String,
    /// First local date without deliveries, "YYYY-MM-DD".
    pub start: String,
    /// The local date deliveries resume (exclusive end).
    pub end: String,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductEventSpec {
    /// The local date from whose midnight the change holds, "YYYY-MM-DD".
    pub date: String,
    pub product: String,
    /// The new price, e.g. "5.49".
    #[serde(default)]
    pub price: Option<String>,
    /// The new cost of goods sold, e.g. "1.80".
    #[serde(default)]
    pub cogs: Option<String>,
}

fn no_noise() -> DistSpec {
    DistSpec::Constant { value: 1.0 }
}
fn open() -> String {
    "08:00-20:00".into()
}
fn choice(values: &[f64], weights: &[f64]) -> DistSpec {
    DistSpec::Choice { values: values.to_vec(), weights: weights.to_vec() }
}
fn items() -> DistSpec {
    choice(&[1.0, 2.0, 3.0], &[13.0, 5.0, 2.0])
}
fn quantity() -> DistSpec {
    choice(&[1.0, 2.0, 3.0], &[24.0, 5.0, 1.0])
}
fn member_probability() -> f64 {
    0.3
}
fn member_discount() -> f64 {
    0.1
}
fn supplement_price() -> String {
    "1.99".into()
}
fn supplement_probability() -> f64 {
    0.2
}
fn boosted_prefixes() -> Vec<String> {
    vec!["SF".into(), "SC".into()]
}
fn boosted_probability() -> f64 {
    0.5
}
fn restock_threshold() -> u32 {
    10
}
fn restock_quantity() -> u32 {
    15
}
fn restock_delay() -> DistSpec {
    DistSpec::Constant { value: 0.0 }
}

impl Default for HoursSpec {
    fn default() -> Self {
        HoursSpec { mon: open(), tue: open(), wed: open(), thu: open(), fri: open(), sat: open(), sun: open() }
    }
}

impl Default for RetailBasketSpec {
    fn default() -> Self {
        RetailBasketSpec {
            items: items(),
            quantity: quantity(),
            member_probability: member_probability(),
            member_discount: member_discount(),
            supplement_price: supplement_price(),
            supplement_probability: supplement_probability(),
            supplement_boosted_prefixes: boosted_prefixes(),
            supplement_boosted_probability: boosted_probability(),
        }
    }
}

impl Default for InventorySpec {
    fn default() -> Self {
        InventorySpec {
            restock_threshold: restock_threshold(),
            restock_quantity: restock_quantity(),
            restock_delay_min: restock_delay(),
            outages: Vec::new(),
        }
    }
}

impl Scale for RetailFile {
    /// Transactions (a rate times K, or gaps divided by K) and the stock
    /// that serves them (restock threshold and quantity): a bigger shop.
    fn scale(&mut self, k: f64) -> Result<Vec<KeyPath>, (KeyPath, String)> {
        let key = |a: &str, b: &str| vec![a.to_string(), b.to_string()];
        let mut keys = vec![key("inventory", "restock_threshold"), key("inventory", "restock_quantity")];
        if let Some(rate) = &mut self.demand.transactions_per_day {
            *rate *= k;
            keys.push(key("demand", "transactions_per_day"));
        }
        if let Some(gap) = &mut self.demand.interval_s {
            let family = gap.family();
            *gap = gap.scaled(1.0 / k).ok_or_else(|| {
                (key("demand", "interval_s"), format!("a {family} gap cannot be divided; use uniform, normal, exponential, lognormal, constant or choice"))
            })?;
            keys.push(key("demand", "interval_s"));
        }
        let inv = &mut self.inventory;
        inv.restock_threshold = scaled_count(inv.restock_threshold, k);
        inv.restock_quantity = scaled_count(inv.restock_quantity, k);
        Ok(keys)
    }
}
