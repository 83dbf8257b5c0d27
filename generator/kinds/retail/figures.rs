//! The shop's report: sales per day and by local hour, units per product,
//! and the stock of the best sellers day by day (the catalogue's opening
//! levels, less what was sold, plus what was restocked).

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::Result;
use crate::report::figure::{Chart, Figure, Figures, Headline, Series};
use crate::report::read::{ints, scan, texts};
use crate::report::{local, model_clock, start_date};
use crate::sinks::manifest::Manifest;

/// Products whose stock is drawn.
const STOCK_SHOWN: usize = 6;

pub fn report(dir: &Path, m: &Manifest) -> Result<Figures> {
    let (tz, start, days) = (model_clock(m)?, start_date(m)?, m.scenario.days as usize);
    let (mut per_day, mut per_hour) = (vec![0.0; days], vec![0.0; 24]);
    let mut units: BTreeMap<String, f64> = BTreeMap::new();
    // (time, product, change) of every sale and restock, for the stock levels.
    let mut changes: Vec<(i64, String, i64)> = Vec::new();
    let (mut transactions, mut revenue_cents, mut last_tx) = (0u64, 0i64, String::new());
    let cols = ["transaction_time", "transaction_id", "product_id", "quantity", "total_purchase"];
    scan(dir, "purchases", &cols, |b| {
        let (t, tx, product, qty) =
            (ints(b, "transaction_time")?, texts(b, "transaction_id")?, texts(b, "product_id")?, ints(b, "quantity")?);
        let total = cents(b, "total_purchase")?;
        for i in 0..b.num_rows() {
            let (day, minute) = local(tz, start, t[i]);
            if let Some(d) = per_day.get_mut(day as usize) {
                *d += 1.0;
            }
            per_hour[(minute / 60) as usize % 24] += 1.0;
            *units.entry(product.value(i).to_string()).or_default() += qty[i] as f64;
            changes.push((t[i], product.value(i).to_string(), -qty[i]));
            revenue_cents += total[i];
            if tx.value(i) != last_tx {
                transactions += 1;
                last_tx = tx.value(i).to_string();
            }
        }
        Ok(())
    })?;
    let mut opening: BTreeMap<String, i64> = BTreeMap::new();
    scan(dir, "products", &["product_id", "inventory_level"], |b| {
        let (p, level) = (texts(b, "product_id")?, ints(b, "inventory_level")?);
        opening.extend((0..b.num_rows()).map(|i| (p.value(i).to_string(), level[i])));
        Ok(())
    })?;
    let mut restocks = 0u64;
    scan(dir, "inventories", &["event_time", "product_id", "stock_quantity"], |b| {
        let (t, p, q) = (ints(b, "event_time")?, texts(b, "product_id")?, ints(b, "stock_quantity")?);
        restocks += b.num_rows() as u64;
        changes.extend((0..b.num_rows()).map(|i| (t[i], p.value(i).to_string(), q[i])));
        Ok(())
    })?;
    let lost = m.tables.get("lost_sales").copied().unwrap_or(0);
    let headline = vec![
        Headline::new("transactions", transactions as f64, ""),
        Headline::new("line items", m.tables.get("purchases").copied().unwrap_or(0) as f64, ""),
        Headline::new("units sold", units.values().sum(), ""),
        Headline::new("revenue", revenue_cents as f64 / 100.0, "USD"),
        Headline::new("lost sales", lost as f64, ""),
        Headline::new("restocks", restocks as f64, ""),
    ];
    let mut best: Vec<(&String, &f64)> = units.iter().collect();
    best.sort_by(|a, b| b.1.total_cmp(a.1).then(a.0.cmp(b.0)));
    let shown: Vec<String> = best.iter().take(STOCK_SHOWN).map(|(p, _)| p.to_string()).collect();
    let figures = vec![
        Figure {
            id: "purchases_per_day".into(),
            title: "Line items sold per day".into(),
            note: "The daily curve with its weekday pattern, storms and promotions.".into(),
            chart: Chart::Lines {
                x: "day".into(),
                y: "line items".into(),
                series: vec![Series::numbered("purchases", &per_day)],
            },
        },
        Figure {
            id: "purchases_by_hour".into(),
            title: "Line items by local hour of the day (all days)".into(),
            note: "Opening hours and the intraday curve.".into(),
            chart: Chart::Bars {
                x: "hour".into(),
                y: "line items".into(),
                bars: (0..24).map(|h| (h.to_string(), per_hour[h])).collect(),
            },
        },
        Figure {
            id: "units_by_product".into(),
            title: "Units sold per product".into(),
            note: String::new(),
            chart: Chart::Bars {
                x: "product".into(),
                y: "units".into(),
                bars: best.iter().map(|(p, u)| (p.to_string(), **u)).collect(),
            },
        },
        Figure {
            id: "stock_levels".into(),
            title: format!("End-of-day stock of the {} best sellers", shown.len()),
            note: "Sales draw the stock down; a restock lifts it back.".into(),
            chart: Chart::Lines {
                x: "day".into(),
                y: "units in stock".into(),
                series: stock(&mut changes, &opening, &shown, (tz, start, days)),
            },
        },
    ];
    Ok((headline, figures))
}

/// A decimal column in cents.
fn cents(b: &arrow::array::RecordBatch, name: &str) -> Result<Vec<i64>> {
    let v = crate::report::read::floats(b, name)?;
    Ok(v.iter().map(|x| (x * 100.0).round() as i64).collect())
}

/// Each product's stock at the end of each local day.
fn stock(
    changes: &mut [(i64, String, i64)],
    opening: &BTreeMap<String, i64>,
    shown: &[String],
    (tz, start, days): (chrono_tz::Tz, chrono::NaiveDate, usize),
) -> Vec<Series> {
    changes.sort_by_key(|c| c.0);
    shown
        .iter()
        .map(|p| {
            let mut level = opening.get(p).copied().unwrap_or(0);
            let mut end = vec![f64::NAN; days];
            let mut at = 0;
            for (day, slot) in end.iter_mut().enumerate() {
                while let Some(c) = changes.get(at).filter(|c| local(tz, start, c.0).0 <= day as i64) {
                    if &c.1 == p {
                        level += c.2;
                    }
                    at += 1;
                }
                *slot = level as f64;
            }
            Series::numbered(p, &end)
        })
        .collect()
}
