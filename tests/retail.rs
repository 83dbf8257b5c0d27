//! The retail kind (the smoothie shop): it generates and verifies, its
//! sample statistics match the reference's odds (items per transaction,
//! quantity, members, supplements per product group, propensity picks),
//! every sale falls inside the opening hours of the local clock, inventory
//! follows the restock rule and never goes negative, supply outages cause
//! lost sales, price changes hold for later sales, dated anomalies move the
//! day's volume, and the bytes do not depend on threads. Everything is read
//! back from the Parquet files and recomputed here.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::{Decimal128Type, Int16Type, Int32Type, TimestampMillisecondType};
use chrono::{Datelike, TimeZone, Timelike};
use common::*;

fn smoothie() -> PathBuf {
    root().join("scenarios/smoothie.toml")
}

fn generate_shop(out: &Path, extra: &[&str]) {
    let scenario = smoothie();
    let mut args = vec!["generate", scenario.to_str().unwrap(), "--out", out.to_str().unwrap(), "-q"];
    args.extend_from_slice(extra);
    simkit_ok(&args);
}

fn table(dir: &Path, name: &str) -> Vec<RecordBatch> {
    batches(&dir.join(format!("{name}.parquet")))
}

fn col_str(b: &RecordBatch, name: &str, i: usize) -> String {
    b.column_by_name(name).unwrap().as_string::<i32>().value(i).to_string()
}

fn col_ts(b: &RecordBatch, name: &str, i: usize) -> i64 {
    b.column_by_name(name).unwrap().as_primitive::<TimestampMillisecondType>().value(i)
}

fn col_cents(b: &RecordBatch, name: &str, i: usize) -> i64 {
    b.column_by_name(name).unwrap().as_primitive::<Decimal128Type>().value(i) as i64
}

fn col_bool(b: &RecordBatch, name: &str, i: usize) -> bool {
    b.column_by_name(name).unwrap().as_boolean().value(i)
}

/// One purchases row.
struct Line {
    ts: i64,
    tx: String,
    product: String,
    price: i64,
    qty: i64,
    member: bool,
    supplement: i64,
    total: i64,
}

fn purchases(dir: &Path) -> Vec<Line> {
    let mut out = Vec::new();
    for b in table(dir, "purchases") {
        let qty = b.column_by_name("quantity").unwrap().as_primitive::<Int16Type>();
        for i in 0..b.num_rows() {
            out.push(Line {
                ts: col_ts(&b, "transaction_time", i),
                tx: col_str(&b, "transaction_id", i),
                product: col_str(&b, "product_id", i),
                price: col_cents(&b, "price", i),
                qty: qty.value(i) as i64,
                member: col_bool(&b, "is_member", i),
                supplement: col_cents(&b, "supplement_price", i),
                total: col_cents(&b, "total_purchase", i),
            });
        }
    }
    out
}

/// (ts, transaction, product, quantity) of every lost sale.
fn lost_sales(dir: &Path) -> Vec<(i64, String, String, i64)> {
    let mut out = Vec::new();
    for b in table(dir, "lost_sales") {
        let qty = b.column_by_name("quantity").unwrap().as_primitive::<Int16Type>();
        for i in 0..b.num_rows() {
            out.push((
                col_ts(&b, "event_time", i),
                col_str(&b, "transaction_id", i),
                col_str(&b, "product_id", i),
                qty.value(i) as i64,
            ));
        }
    }
    out
}

fn local(ms: i64) -> chrono::DateTime<chrono_tz::Tz> {
    chrono_tz::America::New_York.timestamp_millis_opt(ms).unwrap()
}

fn share(n: usize, of: usize) -> f64 {
    n as f64 / of as f64
}

#[test]
fn the_shop_generates_and_verifies_with_the_reference_fields() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("shop");
    generate_shop(&dir, &[]);
    let report = simkit_ok(&["verify", dir.to_str().unwrap()]);
    assert!(report.contains("inventory replayed, never below 0"), "{report}");
    let products = &table(&dir, "products")[0];
    assert_eq!(products.num_rows(), 27);
    let names: Vec<String> = products.schema().fields().iter().map(|f| f.name().clone()).collect();
    for want in [
        "event_time",
        "product_id",
        "category",
        "item",
        "size",
        "cogs",
        "price",
        "inventory_level",
        "contains_fruit",
        "contains_veggies",
        "contains_nuts",
        "contains_caffeine",
        "propensity_to_buy",
    ] {
        assert!(names.iter().any(|n| n == want), "products has no {want}: {names:?}");
    }
    let p = &table(&dir, "purchases")[0];
    let names: Vec<String> = p.schema().fields().iter().map(|f| f.name().clone()).collect();
    assert_eq!(
        names,
        [
            "transaction_time",
            "transaction_id",
            "product_id",
            "price",
            "quantity",
            "is_member",
            "member_discount",
            "add_supplements",
            "supplement_price",
            "total_purchase"
        ]
    );
    for t in ["inventories", "lost_sales", "product_events"] {
        assert!(dir.join(format!("{t}.parquet")).exists(), "{t}");
    }
}

/// Expected share of each product under "uniform in [0, top], nearest propensity (first on a tie)".
fn propensity_shares(dir: &Path) -> HashMap<String, f64> {
    let b = &table(dir, "products")[0];
    let w = b.column_by_name("propensity_to_buy").unwrap().as_primitive::<arrow::datatypes::Float64Type>();
    let mut ps: Vec<(f64, String)> = (0..b.num_rows()).map(|i| (w.value(i), col_str(b, "product_id", i))).collect();
    ps.sort_by(|a, b| a.0.total_cmp(&b.0));
    let top = ps.last().unwrap().0;
    let mut shares = HashMap::new();
    for (i, (p, id)) in ps.iter().enumerate() {
        let lo = if i == 0 { 0.0 } else { (ps[i - 1].0 + p) / 2.0 };
        let hi = if i + 1 == ps.len() { top } else { (p + ps[i + 1].0) / 2.0 };
        shares.insert(id.clone(), (hi - lo) / top);
    }
    shares
}

#[test]
fn sample_statistics_match_the_reference_odds() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("shop");
    // Plenty of stock and no outage, so nothing is lost: every line is a purchase.
    let sets = [
        "demand.transactions_per_day=1500",
        "inventory.outages=[]",
        "inventory.restock_delay_min={ constant = { value = 0 } }",
    ];
    generate_shop(&dir, &sets.iter().flat_map(|s| ["--set", s]).collect::<Vec<_>>());
    assert!(lost_sales(&dir).is_empty());
    let lines = purchases(&dir);
    let mut per_tx: BTreeMap<&str, Vec<&Line>> = BTreeMap::new();
    for l in &lines {
        per_tx.entry(&l.tx).or_default().push(l);
    }
    let n = per_tx.len();
    assert!(n > 30_000, "only {n} transactions");
    let items = |k: usize| share(per_tx.values().filter(|v| v.len() == k).count(), n);
    assert!(
        (items(1) - 13.0 / 20.0).abs() < 0.01 && (items(3) - 2.0 / 20.0).abs() < 0.01,
        "items {} {}",
        items(1),
        items(3)
    );
    let qty = |k: i64| share(lines.iter().filter(|l| l.qty == k).count(), lines.len());
    assert!(
        (qty(1) - 24.0 / 30.0).abs() < 0.01 && (qty(3) - 1.0 / 30.0).abs() < 0.005,
        "quantity {} {}",
        qty(1),
        qty(3)
    );
    let members = share(per_tx.values().filter(|v| v[0].member).count(), n);
    assert!((members - 0.3).abs() < 0.015, "members {members}");
    assert!(per_tx.values().all(|v| v.iter().all(|l| l.member == v[0].member && l.ts == v[0].ts)));
    let boosted = |l: &&Line| l.product.starts_with("SF") || l.product.starts_with("SC");
    let rate = |pick: &dyn Fn(&&Line) -> bool| {
        let group: Vec<&Line> = lines.iter().filter(|l| pick(l)).collect();
        share(group.iter().filter(|l| l.supplement > 0).count(), group.len())
    };
    let (b, o) = (rate(&boosted), rate(&|l| !boosted(l)));
    assert!((b - 0.5).abs() < 0.02 && (o - 0.2).abs() < 0.01, "supplements {b} {o}");
    for l in &lines {
        let discount = if l.member { 1000 } else { 0 };
        let num = (l.price + l.supplement) as i128 * l.qty as i128 * (10_000 - discount);
        let (q, r) = (num / 10_000, num % 10_000);
        let want = q + (r > 5000 || (r == 5000 && q % 2 == 1)) as i128;
        assert_eq!(l.total as i128, want, "total of {} at {}", l.product, l.ts);
        assert!(l.supplement == 0 || l.supplement == 199);
    }
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for l in &lines {
        *counts.entry(&l.product).or_default() += 1;
    }
    for (id, want) in propensity_shares(&dir) {
        let got = share(counts.get(id.as_str()).copied().unwrap_or(0), lines.len());
        assert!((got - want).abs() < 0.006, "{id}: picked {got:.4}, propensity gives {want:.4}");
    }
}

#[test]
fn sales_only_in_opening_hours_on_the_local_clock() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("shop");
    // March 10, 2024: the clocks in New York skip 02:00-03:00.
    generate_shop(&dir, &[]);
    let hours = [(7, 20), (7, 20), (7, 20), (7, 20), (7, 21), (8, 21), (9, 17)];
    let mut by_hour = [0usize; 24];
    for l in purchases(&dir) {
        let t = local(l.ts);
        let (open, close) = hours[t.weekday().num_days_from_monday() as usize];
        assert!((open..close).contains(&t.hour()), "a sale at {t}");
        by_hour[t.hour() as usize] += 1;
    }
    // Lunch is the busiest hour, breakfast beats mid-morning.
    let busiest = (0..24).max_by_key(|h| by_hour[*h]).unwrap();
    assert!((11..14).contains(&busiest), "{by_hour:?}");
    assert!(by_hour[8] > by_hour[10], "{by_hour:?}");
}

#[test]
fn inventory_follows_the_restock_rule_and_outages_lose_sales() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("shop");
    generate_shop(&dir, &[]);
    let b = &table(&dir, "products")[0];
    let lvl = b.column_by_name("inventory_level").unwrap().as_primitive::<Int32Type>();
    let mut level: HashMap<String, i64> =
        (0..b.num_rows()).map(|i| (col_str(b, "product_id", i), lvl.value(i) as i64)).collect();
    let mut restocks = Vec::new();
    for b in table(&dir, "inventories") {
        let int = |n: &str, i: usize| b.column_by_name(n).unwrap().as_primitive::<Int32Type>().value(i) as i64;
        for i in 0..b.num_rows() {
            let (existing, added, new) = (int("existing_level", i), int("stock_quantity", i), int("new_level", i));
            assert!(existing <= 10 && added == 15 && new == existing + 15, "restock {existing} + {added} = {new}");
            restocks.push((col_ts(&b, "event_time", i), col_str(&b, "product_id", i)));
        }
    }
    assert!(restocks.len() > 20, "only {} restocks", restocks.len());
    // Totals per product: what came in covers what went out.
    let lines = purchases(&dir);
    for l in &lines {
        *level.get_mut(&l.product).unwrap() -= l.qty;
    }
    for (_, p) in &restocks {
        *level.get_mut(p).unwrap() += 15;
    }
    assert!(level.values().all(|v| *v >= 0), "{level:?}");
    // The outage of SC05 (2024-03-12 .. 03-15): no delivery inside it, lost sales.
    let in_outage = |ms: i64| {
        let d = local(ms).date_naive();
        d >= chrono::NaiveDate::from_ymd_opt(2024, 3, 12).unwrap()
            && d < chrono::NaiveDate::from_ymd_opt(2024, 3, 15).unwrap()
    };
    assert!(!restocks.iter().any(|(t, p)| p == "SC05" && in_outage(*t)));
    let lost = lost_sales(&dir);
    assert!(lost.iter().any(|(t, _, p, _)| p == "SC05" && in_outage(*t)), "no lost SC05 sales in the outage");
    // Without the outage and with immediate restocks, nothing is lost.
    let dir2 = tmp.path().join("steady");
    generate_shop(
        &dir2,
        &["--set", "inventory.outages=[]", "--set", "inventory.restock_delay_min={ constant = { value = 0 } }"],
    );
    assert!(lost_sales(&dir2).is_empty());
    simkit_ok(&["verify", dir2.to_str().unwrap()]);
}

#[test]
fn price_changes_hold_for_later_sales_and_anomalies_move_the_day() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("shop");
    generate_shop(&dir, &[]);
    let change = chrono::NaiveDate::from_ymd_opt(2024, 3, 20).unwrap();
    let lines = purchases(&dir);
    let cs03: Vec<&Line> = lines.iter().filter(|l| l.product == "CS03").collect();
    assert!(
        cs03.iter().any(|l| local(l.ts).date_naive() < change)
            && cs03.iter().any(|l| local(l.ts).date_naive() >= change)
    );
    for l in cs03 {
        let want = if local(l.ts).date_naive() < change { 499 } else { 529 };
        assert_eq!(l.price, want, "CS03 at {}", local(l.ts));
    }
    let events = &table(&dir, "product_events")[0];
    assert_eq!(events.num_rows(), 2);
    assert_eq!(col_str(events, "event_type", 0), "price_change");
    assert_eq!((col_cents(events, "old_value", 0), col_cents(events, "new_value", 0)), (499, 529));
    // The storm (03-09, x0.3) against the Saturday before; the promotion (03-16, x1.8) against the one after.
    let mut per_day: BTreeMap<chrono::NaiveDate, std::collections::BTreeSet<&str>> = BTreeMap::new();
    for l in &lines {
        per_day.entry(local(l.ts).date_naive()).or_default().insert(&l.tx);
    }
    let day = |d: u32| per_day.get(&chrono::NaiveDate::from_ymd_opt(2024, 3, d).unwrap()).map_or(0, |s| s.len()) as f64;
    assert!(day(9) < 0.5 * day(2), "storm {} vs {}", day(9), day(2));
    assert!(day(16) > 1.4 * day(23), "promotion {} vs {}", day(16), day(23));
}

#[test]
fn shop_bytes_do_not_depend_on_threads_and_days_are_a_prefix() {
    let tmp = tempfile::tempdir().unwrap();
    let (one, two, short) = (tmp.path().join("one"), tmp.path().join("two"), tmp.path().join("short"));
    generate_shop(&one, &["--threads", "1"]);
    generate_shop(&two, &["--threads", "2"]);
    generate_shop(&short, &["--days", "8"]);
    for f in ["purchases", "inventories", "lost_sales", "product_events", "products"] {
        let f = format!("{f}.parquet");
        assert_eq!(std::fs::read(one.join(&f)).unwrap(), std::fs::read(two.join(&f)).unwrap(), "{f}");
    }
    let (full, part) = (purchases(&one), purchases(&short));
    assert!(!part.is_empty() && part.len() < full.len());
    for (a, b) in part.iter().zip(&full) {
        assert_eq!((a.ts, &a.tx, &a.product, a.qty, a.total), (b.ts, &b.tx, &b.product, b.qty, b.total));
    }
}

/// A copy of the smoothie scenario (and its catalogue, possibly edited) in `dir`.
fn variant(dir: &Path, edit: impl Fn(String) -> String, edit_csv: impl Fn(String) -> String) -> PathBuf {
    let csv = std::fs::read_to_string(root().join("data/smoothie/products.csv")).unwrap();
    std::fs::write(dir.join("products.csv"), edit_csv(csv)).unwrap();
    let text = std::fs::read_to_string(smoothie()).unwrap().replace("../data/smoothie/products.csv", "products.csv");
    let path = dir.join("shop.toml");
    std::fs::write(&path, edit(text)).unwrap();
    path
}

#[test]
fn bad_shop_files_are_refused_with_their_place() {
    let tmp = tempfile::tempdir().unwrap();
    let same = |t: String| t;
    let path = variant(
        tmp.path(),
        |t| {
            t.replace("sun = \"09:00-17:00\"", "sun = \"17:00-09:00\"")
                .replace("product = \"SC05\"", "product = \"SC09\"")
                .replace(
                    "{ date = \"2024-03-20\", product = \"SF01\", cogs = \"2.40\" }",
                    "{ date = \"2024-03-20\", product = \"SF01\" }",
                )
                .replace("date = \"2024-03-09\"", "date = \"2024-02-30\"")
                .replace("member_probability = 0.3", "member_probability = 1.3")
        },
        same,
    );
    let out = simkit(&["validate", path.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "{err}");
    for want in [
        "hours.sun: expected the closing time after the opening time",
        "inventory.outages.0.product: expected a product id of the catalogue (CS01, ",
        "product_events.1: expected a new `price` or `cogs`",
        "demand.anomalies.0.date: expected a date \"YYYY-MM-DD\", found \"2024-02-30\"",
        "basket.member_probability: expected a probability in 0 ..= 1, found 1.3",
        "5 problems",
    ] {
        assert!(err.contains(want), "expected {want:?} in: {err}");
    }
    let line =
        |needle: &str| std::fs::read_to_string(&path).unwrap().lines().position(|l| l.contains(needle)).unwrap() + 1;
    assert!(err.contains(&format!("shop.toml:{}:", line("sun = \"17:00-09:00\""))), "{err}");
    // A catalogue cell that is not a flag, and a misspelt column.
    let path = variant(tmp.path(), same, |c| c.replacen("TRUE", "maybe", 1));
    assert_fails_with(&simkit(&["validate", path.to_str().unwrap()]), "products.csv:2:");
    assert_fails_with(&simkit(&["validate", path.to_str().unwrap()]), "expected TRUE or FALSE, found \"maybe\"");
    let path = variant(tmp.path(), same, |c| c.replacen("_RangeWeight", "_RangeWieght", 1));
    assert_fails_with(
        &simkit(&["validate", path.to_str().unwrap()]),
        "unknown column `_RangeWieght` (did you mean `_RangeWeight`?",
    );
}

#[test]
fn equal_propensities_go_to_the_first_product_and_outages_chain() {
    let tmp = tempfile::tempdir().unwrap();
    // CS02 gets CS01's propensity (3): every pick near 3 goes to CS01, the first.
    let path = variant(
        tmp.path(),
        |t| {
            t.replace(
                "  { product = \"SC05\", start = \"2024-03-12\", end = \"2024-03-15\" },",
                "  { product = \"SC05\", start = \"2024-03-12\", end = \"2024-03-15\" },\n  { product = \"SC05\", start = \"2024-03-15\", end = \"2024-03-18\" },",
            )
        },
        |c| {
            c.replace(
                "CS02,Classic Smoothies,Kiwi Quencher,24 oz.,1.50,4.99,75,TRUE,FALSE,FALSE,FALSE,3,1,3,6",
                "CS02,Classic Smoothies,Kiwi Quencher,24 oz.,1.50,4.99,75,TRUE,FALSE,FALSE,FALSE,3,1,3,3",
            )
        },
    );
    let dir = tmp.path().join("shop");
    simkit_ok(&["generate", path.to_str().unwrap(), "--out", dir.to_str().unwrap(), "-q"]);
    simkit_ok(&["verify", dir.to_str().unwrap()]);
    let lines = purchases(&dir);
    assert!(lines.iter().any(|l| l.product == "CS01"));
    assert!(!lines.iter().any(|l| l.product == "CS02"), "CS02 shares CS01's propensity and comes second");
    let (from, to) =
        (chrono::NaiveDate::from_ymd_opt(2024, 3, 12).unwrap(), chrono::NaiveDate::from_ymd_opt(2024, 3, 18).unwrap());
    for b in table(&dir, "inventories") {
        for i in 0..b.num_rows() {
            let d = local(col_ts(&b, "event_time", i)).date_naive();
            assert!(
                !(col_str(&b, "product_id", i) == "SC05" && d >= from && d < to),
                "an SC05 delivery on {d}, inside the outages"
            );
        }
    }
}

#[test]
fn the_reference_pacing_is_an_interval_arrival_process() {
    let tmp = tempfile::tempdir().unwrap();
    let pace =
        |t: String| t.replace("transactions_per_day = 260", "interval_s = { uniform = { min = 2.0, max = 5.0 } }");
    let path = variant(tmp.path(), pace, |c| c);
    let dir = tmp.path().join("paced");
    simkit_ok(&["generate", path.to_str().unwrap(), "--out", dir.to_str().unwrap(), "--days", "10", "-q"]);
    simkit_ok(&["verify", dir.to_str().unwrap()]);
    // One timestamp per transaction (sold or lost), grouped by local day.
    let mut by_tx: BTreeMap<String, i64> = BTreeMap::new();
    for l in purchases(&dir) {
        by_tx.insert(l.tx, l.ts);
    }
    for (ts, tx, _, _) in lost_sales(&dir) {
        by_tx.insert(tx, ts);
    }
    let mut days: BTreeMap<chrono::NaiveDate, Vec<i64>> = BTreeMap::new();
    for ts in by_tx.into_values() {
        days.entry(local(ts).date_naive()).or_default().push(ts);
    }
    for ts in days.values_mut() {
        ts.sort_unstable();
    }
    for (date, ts) in &days {
        let storm = *date == chrono::NaiveDate::from_ymd_opt(2024, 3, 9).unwrap();
        let (lo, hi) = if storm { (2000.0 / 0.3, 5000.0 / 0.3) } else { (2000.0, 5000.0) };
        for w in ts.windows(2) {
            let gap = (w[1] - w[0]) as f64;
            assert!(gap >= lo - 1.0 && gap <= hi + 1.0, "{date}: a gap of {gap} ms");
        }
        // The day's count against its open seconds / mean gap.
        let hours = [(7, 20), (7, 20), (7, 20), (7, 20), (7, 21), (8, 21), (9, 17)];
        let (open, close) = hours[date.weekday().num_days_from_monday() as usize];
        let want = (close - open) as f64 * 3600.0 / ((lo + hi) / 2000.0);
        let got = ts.len() as f64;
        assert!((got - want).abs() < 0.05 * want, "{date}: {got} transactions, about {want:.0} expected");
        let first = local(ts[0]);
        assert_eq!((first.hour(), first.minute()), (open, 0), "{date}: first at {first}");
    }
    assert_eq!(days.len(), 10);
    // One arrival process at a time.
    let both = variant(
        tmp.path(),
        |t| {
            t.replace(
                "transactions_per_day = 260",
                "transactions_per_day = 260\ninterval_s = { constant = { value = 3 } }",
            )
        },
        |c| c,
    );
    assert_fails_with(
        &simkit(&["validate", both.to_str().unwrap()]),
        "either `transactions_per_day` or `interval_s`, not both",
    );
    let neither = variant(tmp.path(), |t| t.replace("transactions_per_day = 260", ""), |c| c);
    assert_fails_with(
        &simkit(&["validate", neither.to_str().unwrap()]),
        "expected `transactions_per_day` (a daily target) or `interval_s`",
    );
}

#[test]
fn a_local_date_the_zone_skipped_is_an_empty_day() {
    // Samoa skipped 2011-12-30; Thursday 12-29 is closed, so no sale may fall on it.
    let tmp = tempfile::tempdir().unwrap();
    let path = variant(
        tmp.path(),
        |t| {
            t.replace("America/New_York", "Pacific/Apia")
                .replace("start = \"2024-03-01\"", "start = \"2011-12-29\"")
                .replace("days = 30", "days = 3")
                .replace("thu = \"07:00-20:00\"", "thu = \"closed\"")
        },
        |c| c,
    );
    let dir = tmp.path().join("apia");
    simkit_ok(&["generate", path.to_str().unwrap(), "--out", dir.to_str().unwrap(), "-q"]);
    simkit_ok(&["verify", dir.to_str().unwrap()]);
    let apia = chrono_tz::Pacific::Apia;
    let dates: std::collections::BTreeSet<chrono::NaiveDate> =
        purchases(&dir).iter().map(|l| apia.timestamp_millis_opt(l.ts).unwrap().date_naive()).collect();
    assert_eq!(dates.into_iter().collect::<Vec<_>>(), [chrono::NaiveDate::from_ymd_opt(2011, 12, 31).unwrap()]);
}

#[test]
fn the_shop_streams_in_pieces_with_and_without_disorder() {
    // The run is written a few days at a time (several pieces here; the
    // pieces make the whole run: the model's unit tests); a [disorder]
    // section adds deliveries across pieces and leaves the clean tables as they are.
    let tmp = tempfile::tempdir().unwrap();
    let streamed = variant(tmp.path(), |t| t, |c| c);
    let disordered = tmp.path().join("disordered.toml");
    let text = std::fs::read_to_string(&streamed).unwrap();
    let section = "[disorder.purchases]\nout_of_order_s = 60\nduplicates = { share = 0.01, delay_s = { constant = { value = 30.0 } } }";
    std::fs::write(&disordered, format!("{text}\n{section}\n")).unwrap();
    let volume = ["--set", "demand.transactions_per_day=2000", "--days", "120"];
    let (a, b) = (tmp.path().join("clean"), tmp.path().join("disordered"));
    for (scenario, out) in [(&streamed, &a), (&disordered, &b)] {
        let args = [&["generate", scenario.to_str().unwrap(), "--out", out.to_str().unwrap(), "-q"], &volume[..]];
        simkit_ok(&args.concat());
    }
    assert!(b.join("purchases_delivered.parquet").exists(), "the disordered run has its deliveries");
    assert!(purchases(&a).len() > 3 * 65_536, "the streamed run spans several pieces");
    for f in ["purchases", "inventories", "lost_sales", "product_events", "products"] {
        let f = format!("{f}.parquet");
        assert_eq!(std::fs::read(a.join(&f)).unwrap(), std::fs::read(b.join(&f)).unwrap(), "{f}");
    }
    simkit_ok(&["verify", a.to_str().unwrap()]);
    simkit_ok(&["verify", b.to_str().unwrap()]);
}
