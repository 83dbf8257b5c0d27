//! What `verify` checks in a retail dataset besides the shared checks, from
//! the tables and the model facts in the manifest: purchases in time order,
//! every sale inside the opening hours on the shop's clock, every total
//! recomputed from price, supplement, quantity and discount, and the
//! inventory replayed from the catalogue's levels: no sale beyond the stock,
//! every restock of the configured size ordered at or below the threshold,
//! every restock's `existing_level` the replayed level; lost sales in time
//! order, inside the hours, each for more than was available. One pass over
//! each table, a batch at a time, with a level per product as the state.

use std::collections::HashMap;
use std::path::Path;

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::{Decimal128Type, Int16Type, Int32Type, TimestampMillisecondType};

use super::model::line_total;
use crate::error::{Error, Result};
use crate::model::clock::LocalClock;
use crate::model::hours::{parse_span, OpeningHours};
use crate::sinks::manifest::Manifest;
use crate::verify::{batch_reader, primitive, read_batches, strings, Problems, RowCursor};

/// The model facts `generate` records in the manifest.
struct Facts {
    clock: LocalClock,
    hours: OpeningHours,
    discount_bp: i64,
    threshold: i64,
    quantity: i64,
}

fn facts(m: &Manifest) -> Result<Facts> {
    let bad = |what: &str| Error(format!("manifest.json: a retail dataset's model lacks a valid `{what}`"));
    let int = |k: &str| m.model.get(k).and_then(|v| v.as_i64()).ok_or_else(|| bad(k));
    let zone = m.model.get("timezone").and_then(|v| v.as_str()).ok_or_else(|| bad("timezone"))?;
    let spans = m.model.get("hours").and_then(|v| v.as_array()).filter(|a| a.len() == 7).ok_or_else(|| bad("hours"))?;
    let mut hours = [None; 7];
    for (slot, v) in hours.iter_mut().zip(spans) {
        *slot = v.as_str().and_then(|s| parse_span(s).ok()).ok_or_else(|| bad("hours"))?;
    }
    Ok(Facts {
        clock: LocalClock::parse(zone).map_err(|_| bad("timezone"))?,
        hours: OpeningHours(hours),
        discount_bp: int("member_discount_bp")?,
        threshold: int("restock_threshold")?,
        quantity: int("restock_quantity")?,
    })
}

fn column<'b>(b: &'b RecordBatch, file: &str, name: &str) -> Result<&'b arrow::array::BooleanArray> {
    b.column_by_name(name)
        .and_then(|c| c.as_boolean_opt())
        .ok_or_else(|| Error(format!("{file}: no boolean column `{name}`")))
}

/// One change of a product's level, as the tables record it.
enum Move {
    Sale { quantity: i64 },
    Restock { existing: i64, added: i64 },
}

/// A change of a product's level at a time.
type Timed = (i64, String, Move);

const P: &str = "purchases.parquet";
const I: &str = "inventories.parquet";

/// Sales: in time order, inside the opening hours, every total recomputed.
fn sales(b: &RecordBatch, f: &Facts, last: &mut i64, p: &mut Problems) -> Result<Vec<Timed>> {
    let ts = primitive::<TimestampMillisecondType>(b, P, "transaction_time")?;
    let product = strings(b, P, "product_id")?;
    let price = primitive::<Decimal128Type>(b, P, "price")?;
    let qty = primitive::<Int16Type>(b, P, "quantity")?;
    let member = column(b, P, "is_member")?;
    let supplement = primitive::<Decimal128Type>(b, P, "supplement_price")?;
    let total = primitive::<Decimal128Type>(b, P, "total_purchase")?;
    let mut out = Vec::with_capacity(b.num_rows());
    for i in 0..b.num_rows() {
        let t = ts.value(i);
        p.check(t >= *last, || format!("{P}: purchases out of time order at {t}"));
        *last = t;
        let (weekday, minute) = (f.clock.weekday(t), f.clock.minute_of_day(t) as u32);
        p.check(f.hours.is_open(weekday, minute), || format!("{P}: a sale at {t} outside the opening hours"));
        let discount = if member.value(i) { f.discount_bp } else { 0 };
        let want = line_total(price.value(i) as i64, supplement.value(i) as i64, qty.value(i) as u16, discount);
        p.check(total.value(i) as i64 == want, || {
            format!(
                "{P}: total {} at {t} is not (price + supplement) * quantity * (1 - discount) = {want} cents",
                total.value(i)
            )
        });
        out.push((t, product.value(i).to_string(), Move::Sale { quantity: qty.value(i) as i64 }));
    }
    Ok(out)
}

/// Restocks: in time order, each of the configured size.
fn restocks(b: &RecordBatch, f: &Facts, last: &mut i64, p: &mut Problems) -> Result<Vec<Timed>> {
    let ts = primitive::<TimestampMillisecondType>(b, I, "event_time")?;
    let product = strings(b, I, "product_id")?;
    let existing = primitive::<Int32Type>(b, I, "existing_level")?;
    let added = primitive::<Int32Type>(b, I, "stock_quantity")?;
    let new = primitive::<Int32Type>(b, I, "new_level")?;
    let mut out = Vec::with_capacity(b.num_rows());
    for i in 0..b.num_rows() {
        let t = ts.value(i);
        p.check(t >= *last, || format!("{I}: restocks out of time order at {t}"));
        *last = t;
        let (e, a) = (existing.value(i) as i64, added.value(i) as i64);
        p.check(a == f.quantity && new.value(i) as i64 == e + a, || {
            format!("{I}: a restock of {a} to {} from {e}; restocks add {}", new.value(i), f.quantity)
        });
        out.push((t, product.value(i).to_string(), Move::Restock { existing: e, added: a }));
    }
    Ok(out)
}

/// The catalogue's starting levels.
fn initial_levels(dir: &Path) -> Result<HashMap<String, i64>> {
    const F: &str = "products.parquet";
    let mut levels = HashMap::new();
    for b in read_batches(&dir.join(F))? {
        let id = strings(&b, F, "product_id")?;
        let level = primitive::<Int32Type>(&b, F, "inventory_level")?;
        for i in 0..b.num_rows() {
            levels.insert(id.value(i).to_string(), level.value(i) as i64);
        }
    }
    Ok(levels)
}

/// Replays the levels in one pass over both tables, merged by time (state:
/// a level per product). At one instant, a restock whose `existing_level`
/// is the current level comes before that instant's next sale (it was due);
/// otherwise it follows the sales (a sale ordered it). Returns (sales, restocks).
fn replay(dir: &Path, levels: &mut HashMap<String, i64>, f: &Facts, p: &mut Problems) -> Result<(usize, usize)> {
    let (mut s, mut r) = (RowCursor::open(&dir.join(P))?, RowCursor::open(&dir.join(I))?);
    let (mut sold, mut restocked) = (0, 0);
    let (mut last_sale, mut last_restock) = (i64::MIN, i64::MIN);
    loop {
        let sale = s.peek(|b| sales(b, f, &mut last_sale, p))?;
        let restock = r.peek(|b| restocks(b, f, &mut last_restock, p))?;
        let restock_first = match (sale, restock) {
            (None, None) => return Ok((sold, restocked)),
            (None, Some(_)) => true,
            (Some(_), None) => false,
            (Some((ts, _, _)), Some((tr, prod, Move::Restock { existing, .. }))) => {
                tr < ts || (tr == ts && levels.get(prod) == Some(existing))
            }
            _ => false,
        };
        let next = if restock_first { r.pop() } else { s.pop() };
        let (t, product, mv) = next.expect("peeked");
        let level = levels.entry(product.clone()).or_insert(0);
        match mv {
            Move::Sale { quantity } => {
                *level -= quantity;
                p.check(*level >= 0, || format!("{product}: a sale of {quantity} at {t} beyond the stock"));
                sold += 1;
            }
            Move::Restock { existing, added } => {
                p.check(existing == *level && existing <= f.threshold, || {
                    format!("{product}: a restock at {t} from level {existing}; the replayed level is {level}, the threshold {}", f.threshold)
                });
                *level += added;
                restocked += 1;
            }
        }
    }
}

/// Lost sales: in time order, inside the opening hours, each for more than was available.
fn check_lost_sales(dir: &Path, f: &Facts, p: &mut Problems) -> Result<usize> {
    const L: &str = "lost_sales.parquet";
    let (mut n, mut last) = (0, i64::MIN);
    for b in batch_reader(&dir.join(L))? {
        let b = b?;
        let ts = primitive::<TimestampMillisecondType>(&b, L, "event_time")?;
        let qty = primitive::<Int16Type>(&b, L, "quantity")?;
        let available = primitive::<Int32Type>(&b, L, "available")?;
        for i in 0..b.num_rows() {
            let t = ts.value(i);
            p.check(t >= last, || format!("{L}: lost sales out of time order at {t}"));
            last = t;
            p.check(f.hours.is_open(f.clock.weekday(t), f.clock.minute_of_day(t) as u32), || {
                format!("{L}: a lost sale at {t} outside the opening hours")
            });
            p.check(qty.value(i) as i32 > available.value(i), || {
                format!("{L}: a lost sale of {} at {t} with {} available", qty.value(i), available.value(i))
            });
            n += 1;
        }
    }
    Ok(n)
}

pub fn verify(dir: &Path, m: &Manifest, p: &mut Problems) -> Result<String> {
    let f = facts(m)?;
    let mut levels = initial_levels(dir)?;
    let (sold, restocked) = replay(dir, &mut levels, &f, p)?;
    let lost = check_lost_sales(dir, &f, p)?;
    Ok(format!(
        "{sold} line items sold inside the opening hours with their totals; {restocked} restocks; inventory replayed, never below 0; {lost} lost sales, each for more than the stock"
    ))
}
