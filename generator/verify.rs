//! Verify: re-reads a dataset and checks that it is what its manifest says
//! and that its events obey the model. Nothing in the dataset is trusted:
//!
//! - every file's size and sha256, and the fingerprint over the manifest;
//! - every manifest field that can be recomputed: the name, the window from
//!   the start date, days and time zones, the format and simkit version,
//!   synthetic road seeds from the seed, every table's row count, the counts
//!   per event type and location, the locations table against the
//!   manifest's locations, and the streams against the kind's declaration;
//! - every order id decodes, with the manifest's seed, to the location and
//!   local day the order was created on;
//! - every order's lifecycle: all steps in sequence order from 0, times in
//!   lifecycle order, pings on the route with rising progress, delivery at
//!   the customer, orders.parquet agreeing with the events;
//! - optionally, the fingerprints of a golden file.
//!
//! Problems are collected (the first 20 in full, then a count) and reported
//! as one error; no input makes it panic.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::fs::File;
use std::path::Path;

use arrow::array::{Array, ArrowPrimitiveType, AsArray, PrimitiveArray, RecordBatch, StringArray};
use arrow::datatypes::{Float32Type, Int16Type, Int8Type, TimestampMillisecondType};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::{Deserialize, Serialize};

use crate::error::{Context, Error, Result};
use crate::ids;
use crate::lifecycles::{ARRIVED, DELIVERED, EVENT_TYPES, PING};
use crate::model::clock::LocalClock;
use crate::roads::geo::metres_per_degree;
use crate::scenario::common::is_identifier;
use crate::seed::{key, Purpose};
use crate::sinks::manifest::{sha256_file, Manifest};

/// Pings must lie this close to their route (float32 coordinates are ~1 m apart).
const ON_ROUTE_TOLERANCE_M: f64 = 3.0;
/// Problems reported in full; the rest are counted.
const SHOWN_PROBLEMS: usize = 20;

pub struct Report {
    pub manifest: Manifest,
    pub text: String,
}

/// What a golden file pins: the dataset's fingerprints and counts.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Golden {
    pub scenario: String,
    pub fingerprint: String,
    pub tables: BTreeMap<String, u64>,
    pub event_types: BTreeMap<String, u64>,
    pub orders_per_location: BTreeMap<String, u64>,
    pub files: BTreeMap<String, String>,
}

impl Golden {
    pub fn of(m: &Manifest) -> Golden {
        Golden {
            scenario: m.scenario.name.clone(),
            fingerprint: m.fingerprint.clone(),
            tables: m.tables.clone(),
            event_types: m.event_types.clone(),
            orders_per_location: m.locations.iter().map(|l| (l.code.clone(), l.orders)).collect(),
            files: m.files.iter().map(|(k, v)| (k.clone(), v.sha256.clone())).collect(),
        }
    }
}

pub fn write_golden(m: &Manifest, path: &Path) -> Result<()> {
    let json = serde_json::to_string_pretty(&Golden::of(m)).map_err(|e| Error(e.to_string()))?;
    std::fs::write(path, json + "\n").context(|| path.display().to_string())
}

/// What verify found wrong so far: the first [`SHOWN_PROBLEMS`] in full, then a count.
#[derive(Default)]
pub struct Problems {
    shown: Vec<String>,
    more: usize,
}

impl Problems {
    pub fn check(&mut self, ok: bool, msg: impl FnOnce() -> String) {
        if ok {
        } else if self.shown.len() < SHOWN_PROBLEMS {
            self.shown.push(msg());
        } else {
            self.more += 1;
        }
    }

    fn into_error(self, dir: &Path) -> Option<Error> {
        if self.shown.is_empty() {
            return None;
        }
        let more = if self.more > 0 { format!("\n  ... and {} more problems", self.more) } else { String::new() };
        Some(Error(format!("{}: verification failed:\n  {}{more}", dir.display(), self.shown.join("\n  "))))
    }
}

pub fn read_batches(path: &Path) -> Result<Vec<RecordBatch>> {
    let name = || path.display().to_string();
    let file = File::open(path).context(name)?;
    let reader =
        ParquetRecordBatchReaderBuilder::try_new(file).context(name)?.with_batch_size(65_536).build().context(name)?;
    reader.collect::<std::result::Result<Vec<_>, _>>().context(name)
}

/// Rows of a Parquet file, from its metadata.
fn row_count(path: &Path) -> Result<u64> {
    let file = File::open(path).context(|| path.display().to_string())?;
    let b = ParquetRecordBatchReaderBuilder::try_new(file).context(|| path.display().to_string())?;
    Ok(b.metadata().file_metadata().num_rows().max(0) as u64)
}

/// A column of `b` as the primitive type `T`, or an error naming it.
pub fn primitive<'b, T: ArrowPrimitiveType>(
    b: &'b RecordBatch,
    file: &str,
    name: &str,
) -> Result<&'b PrimitiveArray<T>> {
    b.column_by_name(name)
        .and_then(|c| c.as_primitive_opt::<T>())
        .ok_or_else(|| Error(format!("{file}: no column `{name}` of type {}", T::DATA_TYPE)))
}

pub fn strings<'b>(b: &'b RecordBatch, file: &str, name: &str) -> Result<&'b StringArray> {
    b.column_by_name(name)
        .and_then(|c| c.as_string_opt::<i32>())
        .ok_or_else(|| Error(format!("{file}: no string column `{name}`")))
}

/// One event as verify needs it.
struct Row {
    ts: i64,
    order: [u8; 6],
    location: i8,
    kind: u8,
    seq: i16,
    lat: f32,
    lon: f32,
    progress: f32,
    route: (usize, usize),
}

/// The event table, flattened, with every route's points.
struct Events {
    rows: Vec<Row>,
    route_lat: Vec<f32>,
    route_lon: Vec<f32>,
}

fn read_events(dir: &Path) -> Result<Events> {
    const F: &str = "events.parquet";
    let mut ev = Events { rows: Vec::new(), route_lat: Vec::new(), route_lon: Vec::new() };
    for b in read_batches(&dir.join(F))? {
        let ts = primitive::<TimestampMillisecondType>(&b, F, "ts")?;
        let order = strings(&b, F, "order_id")?;
        let loc = primitive::<Int8Type>(&b, F, "location_id")?;
        let kind = primitive::<Int8Type>(&b, F, "event_type_id")?;
        let seq = primitive::<Int16Type>(&b, F, "sequence")?;
        let lat = primitive::<Float32Type>(&b, F, "lat")?;
        let lon = primitive::<Float32Type>(&b, F, "lon")?;
        let progress = primitive::<Float32Type>(&b, F, "progress_pct")?;
        let route = b.column_by_name("route").and_then(|c| c.as_list_opt::<i32>());
        let route = route.ok_or_else(|| Error(format!("{F}: no list column `route`")))?;
        let points = route.values().as_struct_opt().ok_or_else(|| Error(format!("{F}: `route` holds no points")))?;
        let point = |i: usize| points.column(i).as_primitive_opt::<Float32Type>();
        let (Some(plat), Some(plon)) = (point(0), point(1)) else {
            return Err(Error(format!("{F}: `route` points are not float32 lat, lon")));
        };
        let offsets = route.value_offsets();
        let opt = |a: &PrimitiveArray<Float32Type>, i: usize| if a.is_valid(i) { a.value(i) } else { f32::NAN };
        for i in 0..b.num_rows() {
            let start = ev.route_lat.len();
            if route.is_valid(i) {
                let (a, z) = (offsets[i] as usize, offsets[i + 1] as usize);
                ev.route_lat.extend_from_slice(&plat.values()[a..z]);
                ev.route_lon.extend_from_slice(&plon.values()[a..z]);
            }
            ev.rows.push(Row {
                ts: ts.value(i),
                order: id6(order.value(i)),
                location: loc.value(i),
                kind: kind.value(i) as u8,
                seq: seq.value(i),
                lat: opt(lat, i),
                lon: opt(lon, i),
                progress: opt(progress, i),
                route: (start, ev.route_lat.len()),
            });
        }
    }
    Ok(ev)
}

/// One order as verify needs it.
struct OrderRow {
    location: i8,
    created: i64,
    delivered: i64,
    customer: (f32, f32),
}

fn read_orders(dir: &Path, p: &mut Problems) -> Result<HashMap<[u8; 6], OrderRow>> {
    const F: &str = "orders.parquet";
    let mut orders = HashMap::new();
    for b in read_batches(&dir.join(F))? {
        let id = strings(&b, F, "order_id")?;
        let loc = primitive::<Int8Type>(&b, F, "location_id")?;
        let created = primitive::<TimestampMillisecondType>(&b, F, "created_at")?;
        let delivered = primitive::<TimestampMillisecondType>(&b, F, "delivered_at")?;
        let clat = primitive::<Float32Type>(&b, F, "customer_lat")?;
        let clon = primitive::<Float32Type>(&b, F, "customer_lon")?;
        for i in 0..b.num_rows() {
            let row = OrderRow {
                location: loc.value(i),
                created: created.value(i),
                delivered: delivered.value(i),
                customer: (clat.value(i), clon.value(i)),
            };
            let dup = orders.insert(id6(id.value(i)), row).is_some();
            p.check(!dup, || format!("order {} appears twice in {F}", id.value(i)));
        }
    }
    Ok(orders)
}

pub fn verify(dir: &Path, golden: Option<&Path>) -> Result<Report> {
    let manifest = Manifest::read(dir)?;
    let mut p = Problems::default();
    let files_ok = check_files(dir, &manifest, &mut p)?;
    check_manifest(&manifest, &mut p);
    if !files_ok {
        // Missing or damaged files are the answer: decoding them would only fail.
        return Err(p.into_error(dir).unwrap_or_else(|| Error(format!("{}: damaged files", dir.display()))));
    }
    check_row_counts(dir, &manifest, &mut p)?;
    // An unknown kind is one of check_manifest's problems.
    let found = match crate::kinds::find(&manifest.scenario.kind) {
        Some(kind) => (kind.verify)(dir, &manifest, &mut p)?,
        None => String::new(),
    } + crate::disorder::check::verify(dir, &manifest, &mut p)?.as_str();
    if let Some(g) = golden {
        check_golden(g, &manifest, &mut p)?;
    }
    if let Some(e) = p.into_error(dir) {
        return Err(e);
    }
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{}: ok — {} files match the manifest; {found}{}",
        dir.display(),
        manifest.files.len() + manifest.tools.len(),
        if golden.is_some() { "; matches the golden file" } else { "" }
    );
    if manifest.simkit_version != env!("CARGO_PKG_VERSION") {
        let _ = writeln!(
            text,
            "  (written by simkit {}, verified by {})",
            manifest.simkit_version,
            env!("CARGO_PKG_VERSION")
        );
    }
    Ok(Report { manifest, text })
}

/// The ghost kitchen's checks: the locations table, event counts, order
/// ids of their location and day, full lifecycles, pings on their routes.
pub fn kitchen_checks(dir: &Path, manifest: &Manifest, p: &mut Problems) -> Result<String> {
    for table in ["events", "orders"] {
        let file = format!("{table}.parquet");
        if !manifest.files.contains_key(&file) {
            return Err(Error(format!("{}: not a simkit events dataset (no {file} in manifest.json)", dir.display())));
        }
    }
    let listed: u64 = manifest.locations.iter().map(|l| l.orders).sum();
    p.check(manifest.tables.get("orders") == Some(&listed), || {
        "the locations' orders do not add up to the orders table".into()
    });
    check_locations_table(dir, manifest, p)?;
    let events = read_events(dir)?;
    check_event_counts(&events, manifest, p);
    let orders = read_orders(dir, p)?;
    check_order_ids(&orders, manifest, p);
    let pings = check_lifecycles(&events, &orders, p);
    Ok(format!(
        "{} orders with full lifecycles and ids of their day; {} events sorted; {} pings on their routes",
        orders.len(),
        events.rows.len(),
        pings
    ))
}

/// Every listed file: present, of the listed size and sha256. Returns
/// whether all are.
fn check_files(dir: &Path, m: &Manifest, p: &mut Problems) -> Result<bool> {
    let mut all_ok = true;
    for (name, f) in m.files.iter().chain(&m.tools) {
        let path = dir.join(name);
        let Ok(bytes) = std::fs::metadata(&path).map(|md| md.len()) else {
            p.check(false, || format!("{name}: listed in the manifest but missing"));
            all_ok = false;
            continue;
        };
        let ok = bytes == f.bytes && sha256_file(&path)? == f.sha256;
        p.check(ok, || {
            format!("{name}: its size or sha256 differs from the manifest's (the file is damaged or was modified)")
        });
        all_ok &= ok;
    }
    Ok(all_ok)
}

/// What [`verify`] finds wrong in a manifest's own fields (for tests and fuzzing).
pub fn manifest_problems(m: &Manifest) -> Vec<String> {
    let mut p = Problems::default();
    check_manifest(m, &mut p);
    p.shown
}

/// The fields that can be recomputed from the others.
fn check_manifest(m: &Manifest, p: &mut Problems) {
    p.check(m.compute_fingerprint() == m.fingerprint, || {
        "the manifest's fingerprint does not match its content (the manifest was edited)".into()
    });
    let s = &m.scenario;
    p.check(is_identifier(&s.name), || format!("scenario name {:?} is not a plain name", s.name));
    match crate::kinds::find(&s.kind) {
        Some(kind) => p.check(m.streams == crate::disorder::delivered_streams((kind.streams)(), &m.disorder), || {
            format!("the streams differ from what a {} dataset streams (the manifest was edited)", kind.name)
        }),
        None => p.check(false, || format!("scenario kind {:?} is not one simkit writes", s.kind)),
    }
    p.check(!m.simkit_version.is_empty() && m.simkit_version.split('.').all(|n| n.parse::<u32>().is_ok()), || {
        format!("simkit version {:?} is not a version number", m.simkit_version)
    });
    match m.recomputed_window() {
        Ok((start, end)) => p.check(start == s.start_ms && end == s.end_ms, || {
            format!(
                "the window {}..{} does not follow from start {} + {} days in the locations' time zones ({start}..{end})",
                s.start_ms, s.end_ms, s.start, s.days
            )
        }),
        Err(e) => p.check(false, || e),
    }
    for (i, l) in m.locations.iter().enumerate() {
        let r = &l.road_source;
        match r.kind.as_str() {
            "synthetic" => {
                let want = key(s.seed, i as u64, 0, Purpose::SyntheticRoads);
                p.check(r.seed == Some(want), || {
                    let found = r.seed.map_or("none".to_string(), |x| x.to_string());
                    format!("location `{}`: synthetic road seed {found} does not follow from seed {}", l.code, s.seed)
                });
            }
            "extract" => p.check(r.sha256.as_ref().is_some_and(|h| h.len() == 64) && r.file.is_some(), || {
                format!("location `{}`: an extract road source without its file and sha256", l.code)
            }),
            other => p.check(false, || format!("location `{}`: unknown road source {other:?}", l.code)),
        }
    }
}

/// Every Parquet file's rows against the manifest's table counts.
fn check_row_counts(dir: &Path, m: &Manifest, p: &mut Problems) -> Result<()> {
    for name in m.files.keys() {
        let Some(table) = name.strip_suffix(".parquet") else { continue };
        let want = m.tables.get(table).copied();
        let have = row_count(&dir.join(name))?;
        p.check(want == Some(have), || match want {
            Some(n) => format!("{name} has {have} rows, the manifest says {n}"),
            None => format!("{name} has {have} rows, and the manifest lists no table `{table}`"),
        });
    }
    for table in m.tables.keys() {
        p.check(m.files.contains_key(&format!("{table}.parquet")), || format!("table `{table}` has no file"));
    }
    Ok(())
}

/// locations.parquet holds the manifest's locations: ids, codes, time zones.
fn check_locations_table(dir: &Path, m: &Manifest, p: &mut Problems) -> Result<()> {
    const F: &str = "locations.parquet";
    if !m.files.contains_key(F) {
        return Ok(());
    }
    let mut rows = Vec::new();
    for b in read_batches(&dir.join(F))? {
        let (id, code, tz) = (
            primitive::<Int8Type>(&b, F, "location_id")?,
            strings(&b, F, "location_code")?,
            strings(&b, F, "timezone")?,
        );
        rows.extend((0..b.num_rows()).map(|i| (id.value(i), code.value(i).to_string(), tz.value(i).to_string())));
    }
    let want: Vec<(i8, String, String)> =
        m.locations.iter().map(|l| (l.id, l.code.clone(), l.timezone.clone())).collect();
    let show =
        |v: &[(i8, String, String)]| v.iter().map(|(i, c, z)| format!("{i} {c} ({z})")).collect::<Vec<_>>().join(", ");
    p.check(rows == want, || format!("{F} holds locations {}, the manifest lists {}", show(&rows), show(&want)));
    Ok(())
}

fn check_event_counts(ev: &Events, m: &Manifest, p: &mut Problems) {
    let sorted = ev.rows.windows(2).all(|w| (w[0].ts, w[0].order, w[0].seq) < (w[1].ts, w[1].order, w[1].seq));
    p.check(sorted, || "events are not sorted by (ts, order_id, sequence)".into());
    let mut per_type = [0u64; 8];
    let mut per_location: HashMap<i8, u64> = HashMap::new();
    for r in &ev.rows {
        if (1..=8).contains(&r.kind) {
            per_type[r.kind as usize - 1] += 1;
        }
        *per_location.entry(r.location).or_default() += 1;
    }
    for (name, n) in EVENT_TYPES.iter().zip(per_type) {
        let want = m.event_types.get(*name).copied().unwrap_or(0);
        p.check(n == want, || format!("{n} `{name}` events, the manifest says {want}"));
    }
    let typed: u64 = per_type.iter().sum();
    p.check(typed == ev.rows.len() as u64, || format!("{} events of unknown types", ev.rows.len() as u64 - typed));
    for l in &m.locations {
        let n = per_location.get(&l.id).copied().unwrap_or(0);
        p.check(n == l.events, || format!("location `{}` has {n} events, the manifest says {}", l.code, l.events));
    }
    let (first, last) = (ev.rows.first().map(|r| r.ts), ev.rows.last().map(|r| r.ts));
    p.check(first.is_none_or(|t| t >= m.scenario.start_ms), || "events precede the dataset's window".into());
    let horizon = m.scenario.end_ms + crate::limits::MAX_ORDER_SPAN_MS;
    p.check(last.is_none_or(|t| t < horizon), || "events lie past the window and the longest order".into());
}

/// Every order id decodes, with the seed, to its location and local day.
fn check_order_ids(orders: &HashMap<[u8; 6], OrderRow>, m: &Manifest, p: &mut Problems) {
    let id_key = key(m.scenario.seed, 0, 0, Purpose::OrderIds);
    let Ok(start) = chrono::NaiveDate::parse_from_str(&m.scenario.start, "%Y-%m-%d") else { return };
    let clocks: Vec<Option<LocalClock>> = m.locations.iter().map(|l| LocalClock::parse(&l.timezone).ok()).collect();
    let mut ids: Vec<&[u8; 6]> = orders.keys().collect();
    ids.sort();
    for id in ids {
        let o = &orders[id];
        let name = String::from_utf8_lossy(id);
        let Some(number) = ids::decode(id, id_key) else {
            p.check(false, || format!("order {name}: not an order id"));
            continue;
        };
        let (day, loc, _) = ids::parts(number, m.locations.len() as u32);
        let location = m.locations.get(loc as usize);
        let local_day = clocks
            .get(loc as usize)
            .and_then(|c| c.as_ref())
            .and_then(|c| c.local_date(o.created))
            .map(|d| (d - start).num_days());
        let ok = location.is_some_and(|l| l.id == o.location)
            && local_day == Some(day as i64)
            && day < m.scenario.days as u64;
        p.check(ok, || {
            format!("order {name}: its id is not one seed {} gives an order of its location and day", m.scenario.seed)
        });
    }
}

/// The kinds of an order's events, by sequence: the six steps, the pings, the delivery.
fn lifecycle_kinds_ok(ev: &[&Row]) -> bool {
    let n = ev.len();
    n >= 7
        && ev.iter().enumerate().all(|(i, r)| match i {
            0..=5 => r.kind as usize == i + 1,
            _ if i == n - 1 => r.kind == DELIVERED,
            _ => r.kind == PING,
        })
}

/// Every order's lifecycle; returns the pings checked.
fn check_lifecycles(events: &Events, orders: &HashMap<[u8; 6], OrderRow>, p: &mut Problems) -> u64 {
    let mut by_order: HashMap<[u8; 6], Vec<u32>> = HashMap::with_capacity(orders.len());
    for (i, r) in events.rows.iter().enumerate() {
        by_order.entry(r.order).or_default().push(i as u32);
    }
    p.check(by_order.len() == orders.len(), || {
        format!("{} orders have events, orders.parquet has {}", by_order.len(), orders.len())
    });
    let mut pings = 0u64;
    let mut ids: Vec<&[u8; 6]> = by_order.keys().collect();
    ids.sort();
    for id in ids {
        let name = String::from_utf8_lossy(id).to_string();
        let mut ev: Vec<&Row> = by_order[id].iter().map(|&i| &events.rows[i as usize]).collect();
        ev.sort_by_key(|r| r.seq);
        p.check(ev.iter().enumerate().all(|(i, r)| r.seq as usize == i), || {
            format!("order {name}: sequences are not 0..{}", ev.len())
        });
        if !lifecycle_kinds_ok(&ev) {
            let kind = |k: u8| EVENT_TYPES.get((k as usize).wrapping_sub(1)).copied().unwrap_or("an unknown type");
            let kinds: Vec<&str> = ev.iter().map(|r| kind(r.kind)).collect();
            p.check(false, || {
                format!("order {name}: the steps are not the lifecycle's in sequence order ({})", kinds.join(", "))
            });
            continue;
        }
        // Times follow the lifecycle; the driver's arrival lies between creation and pickup.
        let steps: Vec<i64> = ev.iter().filter(|r| r.kind != ARRIVED).map(|r| r.ts).collect();
        let (created, arrived, pickup) = (ev[0], ev[4], ev[5]);
        let arrival_ok = created.ts <= arrived.ts && arrived.ts <= pickup.ts;
        p.check(steps.windows(2).all(|w| w[0] <= w[1]) && arrival_ok, || {
            format!("order {name}: times do not follow the lifecycle")
        });
        pings += check_route(events, &ev, pickup, &name, p);
        if let Some(o) = orders.get(id) {
            let del = ev[ev.len() - 1];
            p.check((del.lat, del.lon) == o.customer, || format!("order {name}: not delivered at the customer"));
            let end = events
                .route_lat
                .get(pickup.route.1.wrapping_sub(1))
                .zip(events.route_lon.get(pickup.route.1.wrapping_sub(1)));
            p.check(end.map(|(a, b)| (*a, *b)) == Some(o.customer), || {
                format!("order {name}: the route does not end at the customer")
            });
            p.check(o.created == created.ts && o.delivered == del.ts && o.location == created.location, || {
                format!("order {name}: orders.parquet differs from its events")
            });
        }
    }
    pings
}

/// The pickup's route and the pings along it; returns the pings checked.
fn check_route(events: &Events, ev: &[&Row], pickup: &Row, name: &str, p: &mut Problems) -> u64 {
    let (a, z) = pickup.route;
    let route: Vec<[f64; 2]> = (a..z).map(|j| [events.route_lat[j] as f64, events.route_lon[j] as f64]).collect();
    p.check(route.len() >= 2, || format!("order {name}: the pickup event has no route"));
    p.check(route.len() < 2 || route[0] != route[1], || {
        format!("order {name}: the route starts with a zero-length step")
    });
    let mut last_progress = 0.0f32;
    let mut checked = 0;
    for r in ev.iter().filter(|r| r.kind == PING) {
        checked += 1;
        p.check(r.progress > last_progress && r.progress < 100.0, || {
            format!("order {name}: ping progress does not increase")
        });
        last_progress = r.progress;
        p.check(r.ts > pickup.ts, || format!("order {name}: a ping precedes the pickup"));
        let d = distance_to_polyline([r.lat as f64, r.lon as f64], &route);
        p.check(d <= ON_ROUTE_TOLERANCE_M, || format!("order {name}: a ping lies {d:.1} m off its route"));
    }
    checked
}

fn check_golden(g: &Path, manifest: &Manifest, p: &mut Problems) -> Result<()> {
    let text = std::fs::read_to_string(g).context(|| format!("{}: cannot read golden file", g.display()))?;
    let want: Golden = serde_json::from_str(&text).context(|| format!("{}: not a golden file", g.display()))?;
    let have = Golden::of(manifest);
    if want != have {
        let mut diff = Vec::new();
        let (w, h) = (serde_json::to_value(&want).unwrap_or_default(), serde_json::to_value(&have).unwrap_or_default());
        if let (Some(w), Some(h)) = (w.as_object(), h.as_object()) {
            for (k, wv) in w {
                if h.get(k) != Some(wv) {
                    diff.push(format!("{k}: golden {wv}, dataset {}", h.get(k).cloned().unwrap_or_default()));
                }
            }
        }
        p.check(false, || format!("differs from golden {}:\n    {}", g.display(), diff.join("\n    ")));
    }
    Ok(())
}

/// An order id as a fixed array (longer ids are cut, shorter ones zero-padded;
/// either way the checks then report the order as broken).
fn id6(s: &str) -> [u8; 6] {
    let mut id = [0u8; 6];
    let n = s.len().min(6);
    id[..n].copy_from_slice(&s.as_bytes()[..n]);
    id
}

/// Distance in metres from `p` to the nearest segment of `line`.
pub fn distance_to_polyline(p: [f64; 2], line: &[[f64; 2]]) -> f64 {
    let (my, mx) = metres_per_degree(p[0]);
    let xy = |q: [f64; 2]| ((q[1] - p[1]) * mx, (q[0] - p[0]) * my);
    let mut best = f64::INFINITY;
    for w in line.windows(2) {
        let ((ax, ay), (bx, by)) = (xy(w[0]), xy(w[1]));
        let (dx, dy) = (bx - ax, by - ay);
        let len2 = dx * dx + dy * dy;
        let t = if len2 > 0.0 { (-(ax * dx + ay * dy) / len2).clamp(0.0, 1.0) } else { 0.0 };
        let (cx, cy) = (ax + t * dx, ay + t * dy);
        best = best.min((cx * cx + cy * cy).sqrt());
    }
    best
}
