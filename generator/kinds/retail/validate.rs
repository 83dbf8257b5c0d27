//! Validation of a retail file into a [`RetailScenario`]: every problem at
//! its key, all at once; the volume bounded before anything runs.

use std::path::PathBuf;

use super::file::{HoursSpec, RetailFile};
use super::{day_of, product_index, Arrivals, Outage, Product, ProductChange, RetailScenario};
use crate::figures::grouped;
use crate::limits::MAX_STREAMED_EVENTS;
use crate::model::calendar::Calendar;
use crate::model::clock::LocalClock;
use crate::model::curve::{minute_weights, DailyVolume};
use crate::model::dist::Dist;
use crate::model::hours::{parse_span, OpeningHours};
use crate::scenario::common::parse_cents;
use crate::scenario::common::{validate_header, validate_output, validate_peaks, Problems, MAX_MULTIPLIER};

/// Line items one transaction may have, and units one line may hold.
const MAX_ITEMS: f64 = 100.0;
const MAX_QUANTITY: f64 = 1000.0;
/// Units of stock a level, a threshold or a restock may hold at most (so
/// every level fits the tables' 32-bit columns).
pub const MAX_UNITS: u32 = 1_000_000;
/// The longest a restock may take (minutes): a week.
const MAX_RESTOCK_DELAY_MIN: f64 = 7.0 * 1440.0;

/// The opening hours, Monday first.
pub fn hours(p: &mut Problems, h: &HoursSpec) -> OpeningHours {
    let days = [
        ("mon", &h.mon),
        ("tue", &h.tue),
        ("wed", &h.wed),
        ("thu", &h.thu),
        ("fri", &h.fri),
        ("sat", &h.sat),
        ("sun", &h.sun),
    ];
    OpeningHours(days.map(|(k, v)| parse_span(v).map_err(|m| p.key(&format!("hours.{k}"), m)).ok().flatten()))
}

fn probability(p: &mut Problems, key: &str, v: f64) {
    p.num(key, (0.0..=1.0).contains(&v), "a probability in 0 ..= 1", v);
}

/// The most line items a run can have: every day at its largest target
/// (Poisson's tail included) or its shortest gaps, every transaction with
/// its most items.
pub(super) fn max_lines(
    arrivals: &Arrivals,
    hours: &OpeningHours,
    calendar: &Calendar,
    multipliers: &[f64],
    items: &Dist,
) -> f64 {
    let days = (0..calendar.days).map(|d| {
        let (weekday, m) = (calendar.weekday(d), multipliers[d as usize]);
        match arrivals {
            Arrivals::Daily(volume) => {
                let top = volume.upper_bound(d, weekday) * m;
                top + 40.0 * top.sqrt() + 40.0
            }
            Arrivals::Interval(gap) => hours.open_minutes(weekday) as f64 * 60.0 * m / gap.bounds().0,
        }
    });
    days.sum::<f64>() * items.bounds().1
}

/// The arrival process: a daily target or an interval, exactly one of them.
fn arrival_process(p: &mut Problems, f: &RetailFile) -> Option<Arrivals> {
    let d = &f.demand;
    match (d.transactions_per_day, &d.interval_s) {
        (Some(base), None) => {
            p.num(
                "demand.transactions_per_day",
                (0.0..=1e6).contains(&base),
                "0 ..= 1000000 transactions per day",
                base,
            );
            let growth_ok = d.daily_growth > -1.0 && d.daily_growth < 1.0;
            p.num("demand.daily_growth", growth_ok, "a daily growth rate in (-1, 1)", d.daily_growth);
            for k in d.weekday_multipliers.invalid_keys(MAX_MULTIPLIER) {
                p.key(&format!("demand.weekday_multipliers.{k}"), "expected a multiplier in 0 ..= 1000".into());
            }
            let noise =
                p.dist_within("demand.noise", &d.noise, 0.0, f64::INFINITY, "a multiplier of the day's target")?;
            let weekday = Some(d.weekday_multipliers.as_array());
            Some(Arrivals::Daily(DailyVolume { base, daily_growth: d.daily_growth, weekday, noise }))
        }
        (None, Some(gap)) => {
            let what = "seconds between transactions, 0.001 ..= 86400";
            p.dist_within("demand.interval_s", gap, 0.001, 86_400.0, what).map(Arrivals::Interval)
        }
        (Some(_), Some(_)) => {
            p.key("demand.interval_s", "expected either `transactions_per_day` or `interval_s`, not both".into());
            None
        }
        (None, None) => {
            let what =
                "expected `transactions_per_day` (a daily target) or `interval_s` (seconds between transactions)";
            p.key("demand", what.into());
            None
        }
    }
}

/// Each day's anomaly multiplier.
fn anomalies(p: &mut Problems, f: &RetailFile, calendar: Option<&Calendar>) -> Vec<f64> {
    let mut multipliers = vec![1.0; calendar.map_or(0, |c| c.days as usize)];
    for (i, a) in f.demand.anomalies.iter().enumerate() {
        let key = format!("demand.anomalies.{i}");
        let ok = (0.0..=MAX_MULTIPLIER).contains(&a.multiplier);
        p.num(&format!("{key}.multiplier"), ok, "a multiplier in 0 ..= 1000", a.multiplier);
        if let Some(c) = calendar {
            let day = day_of(p, &format!("{key}.date"), &a.date, c);
            if let Some(m) = day.and_then(|d| usize::try_from(d).ok()).and_then(|d| multipliers.get_mut(d)) {
                *m *= a.multiplier;
            }
        }
    }
    multipliers
}

fn changes(p: &mut Problems, f: &RetailFile, c: &Calendar, products: &[Product]) -> Vec<ProductChange> {
    let mut out = Vec::new();
    for (i, e) in f.product_events.iter().enumerate() {
        let key = format!("product_events.{i}");
        let day = day_of(p, &format!("{key}.date"), &e.date, c);
        let product = product_index(p, &format!("{key}.product"), &e.product, products);
        let mut money = |field: &str, v: &Option<String>| {
            v.as_ref().and_then(|s| {
                let cents = parse_cents(s);
                if cents.is_none() {
                    p.key(
                        &format!("{key}.{field}"),
                        format!("expected a price like \"5.49\" (at most 2 decimals), found {s:?}"),
                    );
                }
                cents
            })
        };
        let (price_cents, cogs_cents) = (money("price", &e.price), money("cogs", &e.cogs));
        if e.price.is_none() && e.cogs.is_none() {
            p.key(&key, "expected a new `price` or `cogs` (or both)".into());
        }
        let in_run = day.filter(|d| (0..c.days as i64).contains(d));
        if let (Some(day), Some(product)) = (in_run, product) {
            out.push(ProductChange { day: day as u32, product, price_cents, cogs_cents });
        }
    }
    out.sort_by_key(|c| c.day);
    out
}

fn outages(p: &mut Problems, f: &RetailFile, c: &Calendar, products: &[Product]) -> Vec<Outage> {
    let mut out = Vec::new();
    for (i, o) in f.inventory.outages.iter().enumerate() {
        let key = format!("inventory.outages.{i}");
        let product = product_index(p, &format!("{key}.product"), &o.product, products);
        let start = day_of(p, &format!("{key}.start"), &o.start, c);
        let end = day_of(p, &format!("{key}.end"), &o.end, c);
        let (Some(start), Some(end)) = (start, end) else { continue };
        if end <= start {
            p.key(&format!("{key}.end"), format!("expected a date after start {:?}, found {:?}", o.start, o.end));
            continue;
        }
        // The part inside the run (`end` may lie past it: deliveries never resume).
        let days = c.days as i64;
        let (start_day, end_day) = (start.clamp(0, days) as u32, end.clamp(0, days) as u32);
        if let (Some(product), true) = (product, end_day > start_day) {
            out.push(Outage { product, start_day, end_day });
        }
    }
    out
}

/// The whole scenario, or `None` with the problems in `p`.
pub fn scenario(
    p: &mut Problems,
    f: RetailFile,
    products: Vec<Product>,
    products_path: PathBuf,
) -> Option<RetailScenario> {
    let calendar = validate_header(p, &f.name, &f.time);
    validate_output(p, &f.output);
    let clock = LocalClock::parse(&f.shop.timezone).map_err(|m| p.key("shop.timezone", m)).ok();
    let arrivals = arrival_process(p, &f);
    let day_multipliers = anomalies(p, &f, calendar.as_ref());
    let profile = minute_weights(&validate_peaks(p, "demand.peaks", &f.demand.peaks));
    let hours = hours(p, &f.hours);
    let b = &f.basket;
    let items = p.dist_within("basket.items", &b.items, 1.0, MAX_ITEMS, "line items per transaction, at least 1");
    let quantity = p.dist_within("basket.quantity", &b.quantity, 1.0, MAX_QUANTITY, "units of a line item, at least 1");
    probability(p, "basket.member_probability", b.member_probability);
    probability(p, "basket.supplement_probability", b.supplement_probability);
    probability(p, "basket.supplement_boosted_probability", b.supplement_boosted_probability);
    let bp = b.member_discount * 10_000.0;
    let exact = (0.0..=1.0).contains(&b.member_discount) && (bp - bp.round()).abs() < 1e-6;
    p.num("basket.member_discount", exact, "a fraction in 0 ..= 1 with at most 4 decimals", b.member_discount);
    let supplement_cents = parse_cents(&b.supplement_price);
    if supplement_cents.is_none() {
        p.key("basket.supplement_price", format!("expected a price like \"1.99\", found {:?}", b.supplement_price));
    }
    let inv = &f.inventory;
    let (q, t) = (inv.restock_quantity, inv.restock_threshold);
    p.check("inventory.restock_quantity", (1..=MAX_UNITS).contains(&q), "1 ..= 1000000 units", q);
    p.check("inventory.restock_threshold", t <= MAX_UNITS, "0 ..= 1000000 units", t);
    let restock_delay_min = p.dist_within(
        "inventory.restock_delay_min",
        &inv.restock_delay_min,
        0.0,
        MAX_RESTOCK_DELAY_MIN,
        "minutes, 0 ..= 10080",
    );
    let calendar = calendar?;
    let changes = changes(p, &f, &calendar, &products);
    let outages = outages(p, &f, &calendar, &products);
    let (arrivals, items) = (arrivals?, items?);
    let lines = max_lines(&arrivals, &hours, &calendar, &day_multipliers, &items);
    if lines > MAX_STREAMED_EVENTS as f64 {
        p.key(
            "demand.transactions_per_day",
            format!(
                "the scenario allows up to {} line items, above the limit of {} per run",
                crate::figures::figure(lines),
                grouped(MAX_STREAMED_EVENTS)
            ),
        );
    }
    Some(RetailScenario {
        name: f.name,
        description: f.description,
        seed: f.seed,
        calendar,
        clock: clock?,
        arrivals,
        profile,
        hours,
        day_multipliers,
        products,
        items,
        quantity: quantity?,
        member_probability: b.member_probability,
        member_discount_bp: bp.round() as i64,
        supplement_cents: supplement_cents?,
        supplement_probability: b.supplement_probability,
        boosted_probability: b.supplement_boosted_probability,
        restock_threshold: inv.restock_threshold,
        restock_quantity: inv.restock_quantity,
        restock_delay_min: restock_delay_min?,
        outages,
        changes,
        row_group_rows: f.output.row_group_rows as usize,
        zstd_level: f.output.zstd_level,
        inputs: vec![products_path],
    })
}
