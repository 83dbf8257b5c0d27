//! The ghost-kitchen dimension tables (brands, menus, categories, items,
//! brand_locations): their CSV rows, and the checks across them: ids unique
//! and within their stored type, references that exist, prices exact to the
//! cent, every present brand with a menu, no brand twice at a kitchen on
//! the same day.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::Deserialize;

use super::{BrandPresence, Item, Location};
use crate::error::Result;
use crate::scenario::common::parse_cents;
use crate::scenario::csv;

#[derive(Clone, Debug, Deserialize, JsonSchema)]
pub struct BrandRow {
    pub brand_id: i64,
    pub name: String,
    pub cuisine_type: String,
    pub avg_prep_time_min: f64,
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
pub struct MenuRow {
    pub id: i64,
    pub brand_id: i64,
    pub name: String,
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
pub struct CategoryRow {
    pub id: i64,
    pub menu_id: i64,
    pub brand_id: i64,
    pub name: String,
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
pub struct ItemRow {
    pub id: i64,
    pub category_id: i64,
    pub menu_id: i64,
    pub brand_id: i64,
    pub name: String,
    pub price: String,
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
pub struct BrandLocationRow {
    pub brand_location_id: i64,
    pub brand_id: i64,
    pub location_id: i64,
    pub start_day: f64,
    pub end_day: Option<f64>,
    pub trajectory: String,
    pub growth_rate_monthly: f64,
}

pub struct Tables {
    pub brands: Vec<BrandRow>,
    pub menus: Vec<MenuRow>,
    pub categories: Vec<CategoryRow>,
    pub items: Vec<Item>,
    pub presence: Vec<BrandPresence>,
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
    /// Reads the five tables (`paths` in the order brands, menus,
    /// categories, items, brand_locations).
    pub fn read(paths: &[PathBuf; 5], locations: &[Location]) -> Result<Tables> {
        let raw = RawTables {
            brands: csv::read(&paths[0])?,
            menus: csv::read(&paths[1])?,
            categories: csv::read(&paths[2])?,
            items: csv::read(&paths[3])?,
            presence: csv::read(&paths[4])?,
        };
        raw.check(locations)
    }
}

/// The five tables as read, before the checks across them.
pub struct RawTables {
    pub brands: csv::Table<BrandRow>,
    pub menus: csv::Table<MenuRow>,
    pub categories: csv::Table<CategoryRow>,
    pub items: csv::Table<ItemRow>,
    pub presence: csv::Table<BrandLocationRow>,
}

impl RawTables {
    /// Checks the tables against each other and the scenario's locations.
    pub fn check(self, locations: &[Location]) -> Result<Tables> {
        let RawTables { brands, menus, categories, items, presence } = self;

        let brand_ids = check_ids(&brands, "brand_id", i8::MAX as i64, |r| r.brand_id)?;
        for (i, b) in brands.rows.iter().enumerate() {
            if !(b.avg_prep_time_min.is_finite() && b.avg_prep_time_min >= 0.0) {
                return Err(brands.error(i, "avg_prep_time_min", "expected a number of minutes >= 0"));
            }
        }
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
                    &format!(
                        "expected a price like 8.08 (0 ..= 1000000.00, at most 2 decimals), found \"{}\"",
                        it.price
                    ),
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
        let out_presence = read_presence(&presence, &brand_ids, &out_items, locations, &items.path)?;
        Ok(Tables {
            brands: brands.rows,
            menus: menus.rows,
            categories: categories.rows,
            items: out_items,
            presence: out_presence,
        })
    }
}

/// A brand's days at a location: (row, start_day, end_day).
type Window = (usize, u32, Option<u32>);

/// The brand_locations rows of the scenario's locations (rows of other
/// locations are skipped, so one table set serves several scenarios).
fn read_presence(
    table: &csv::Table<BrandLocationRow>,
    brand_ids: &HashSet<i64>,
    items: &[Item],
    locations: &[Location],
    items_path: &std::path::Path,
) -> Result<Vec<BrandPresence>> {
    let location_ids: HashSet<i64> = locations.iter().map(|l| l.id as i64).collect();
    let mut out = Vec::new();
    // (brand, location) -> the windows so far (row, start, end), to refuse overlaps.
    let mut windows: BTreeMap<(i64, i64), Vec<Window>> = BTreeMap::new();
    for (i, r) in table.rows.iter().enumerate() {
        check_ref(table, i, "brand_id", r.brand_id, brand_ids, "brand")?;
        if !location_ids.contains(&r.location_id) {
            continue;
        }
        let day = |v: f64, col: &str| -> Result<u32> {
            if v.fract() == 0.0 && (0.0..=36_500.0).contains(&v) {
                Ok(v as u32)
            } else {
                Err(table.error(i, col, &format!("expected a whole day number in 0 ..= 36500, found {v}")))
            }
        };
        let start_day = day(r.start_day, "start_day")?;
        let end_day = r.end_day.map(|v| day(v, "end_day")).transpose()?;
        if end_day.is_some_and(|e| e <= start_day) {
            return Err(table.error(i, "end_day", &format!("expected end_day after start_day ({start_day})")));
        }
        if !(r.growth_rate_monthly > -1.0 && r.growth_rate_monthly <= 100.0) {
            return Err(table.error(
                i,
                "growth_rate_monthly",
                &format!("expected a monthly rate in (-1, 100], found {}", r.growth_rate_monthly),
            ));
        }
        if !items.iter().any(|it| it.brand_id as i64 == r.brand_id) {
            return Err(table.error(
                i,
                "brand_id",
                &format!("brand {} has an empty menu (no rows in {})", r.brand_id, items_path.display()),
            ));
        }
        let seen = windows.entry((r.brand_id, r.location_id)).or_default();
        let overlaps = |&&(_, s, e): &&Window| start_day < e.unwrap_or(u32::MAX) && s < end_day.unwrap_or(u32::MAX);
        if let Some((other, _, _)) = seen.iter().find(overlaps) {
            return Err(table.error(
                i,
                "start_day",
                &format!(
                    "brand {} is already at location {} on these days (line {}); its windows must not overlap",
                    r.brand_id,
                    r.location_id,
                    table.line(*other)
                ),
            ));
        }
        seen.push((i, start_day, end_day));
        out.push(BrandPresence {
            id: r.brand_location_id,
            brand_id: r.brand_id as i8,
            location_id: r.location_id as i8,
            start_day,
            end_day,
            trajectory: r.trajectory.clone(),
            growth_rate_monthly: r.growth_rate_monthly,
        });
    }
    Ok(out)
}
