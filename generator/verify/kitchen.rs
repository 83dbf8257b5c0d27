//! The ghost kitchen's checks, in one pass over events.parquet with
//! orders.parquet read alongside, so a dataset of any size is verified in
//! bounded memory: the state is the orders still open (created, not yet
//! delivered) and the order rows read ahead of the events (a few days).
//! Events are checked sorted and counted as they stream; an order is
//! checked whole (lifecycle, route, pings, its orders row) at its delivery.
//! Order ids decode to their partition, and the orders table must list
//! partitions and sequence numbers in strictly increasing order, which
//! also proves every id is listed once.

use std::collections::HashMap;
use std::path::Path;

use arrow::array::{Array, AsArray, PrimitiveArray, RecordBatch};
use arrow::datatypes::{Float32Type, Int16Type, Int8Type, TimestampMillisecondType};

use super::{batch_reader, distance_to_polyline, primitive, read_batches, strings, Problems};
use crate::error::{Error, Result};
use crate::ids;
use crate::lifecycles::{ARRIVED, DELIVERED, EVENT_TYPES, PING};
use crate::model::clock::LocalClock;
use crate::seed::{key, Purpose};
use crate::sinks::manifest::Manifest;

/// Pings must lie this close to their route (float32 coordinates are ~1 m apart).
const ON_ROUTE_TOLERANCE_M: f64 = 3.0;
/// Orders are read this far past the event being checked: an order created
/// before an event lies in a partition whose local day starts before it, and
/// partitions are listed by day, so the orders table has then listed every
/// order created up to the event (time zones are less than a day apart).
const ORDERS_AHEAD_MS: i64 = 3 * 86_400_000;

/// One event as verify needs it.
struct Row {
    ts: i64,
    location: i8,
    kind: u8,
    seq: i16,
    lat: f32,
    lon: f32,
    progress: f32,
}

/// An order whose delivery has not been read yet.
#[derive(Default)]
struct Open {
    rows: Vec<Row>,
    /// The pickup's route.
    route: Vec<[f64; 2]>,
}

/// One order as verify needs it.
struct OrderRow {
    location: i8,
    created: i64,
    delivered: i64,
    customer: (f32, f32),
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
    let mut pass = Pass::new(dir, manifest)?;
    for batch in batch_reader(&dir.join(EVENTS))? {
        pass.events(&batch?, p)?;
    }
    pass.finish(p)
}

const EVENTS: &str = "events.parquet";
const ORDERS: &str = "orders.parquet";

/// The state of the pass.
struct Pass<'m> {
    m: &'m Manifest,
    orders: OrderStream<'m>,
    open: HashMap<[u8; 6], Open>,
    last_key: Option<(i64, [u8; 6], i16)>,
    sorted: bool,
    first_ts: Option<i64>,
    per_type: [u64; 8],
    unknown_types: u64,
    per_location: HashMap<i8, u64>,
    events: u64,
    orders_with_events: u64,
    pings: u64,
}

impl<'m> Pass<'m> {
    fn new(dir: &Path, m: &'m Manifest) -> Result<Pass<'m>> {
        Ok(Pass {
            m,
            orders: OrderStream::open(dir, m)?,
            open: HashMap::new(),
            last_key: None,
            sorted: true,
            first_ts: None,
            per_type: [0; 8],
            unknown_types: 0,
            per_location: HashMap::new(),
            events: 0,
            orders_with_events: 0,
            pings: 0,
        })
    }

    /// Takes one batch of events: sorted, counted, gathered per order;
    /// each delivered order checked.
    fn events(&mut self, b: &RecordBatch, p: &mut Problems) -> Result<()> {
        let ts = primitive::<TimestampMillisecondType>(b, EVENTS, "ts")?;
        let order = strings(b, EVENTS, "order_id")?;
        let loc = primitive::<Int8Type>(b, EVENTS, "location_id")?;
        let kind = primitive::<Int8Type>(b, EVENTS, "event_type_id")?;
        let seq = primitive::<Int16Type>(b, EVENTS, "sequence")?;
        let lat = primitive::<Float32Type>(b, EVENTS, "lat")?;
        let lon = primitive::<Float32Type>(b, EVENTS, "lon")?;
        let progress = primitive::<Float32Type>(b, EVENTS, "progress_pct")?;
        let route = b.column_by_name("route").and_then(|c| c.as_list_opt::<i32>());
        let route = route.ok_or_else(|| Error(format!("{EVENTS}: no list column `route`")))?;
        let points =
            route.values().as_struct_opt().ok_or_else(|| Error(format!("{EVENTS}: `route` holds no points")))?;
        let point = |i: usize| points.column(i).as_primitive_opt::<Float32Type>();
        let (Some(plat), Some(plon)) = (point(0), point(1)) else {
            return Err(Error(format!("{EVENTS}: `route` points are not float32 lat, lon")));
        };
        let offsets = route.value_offsets();
        let opt = |a: &PrimitiveArray<Float32Type>, i: usize| if a.is_valid(i) { a.value(i) } else { f32::NAN };
        for i in 0..b.num_rows() {
            let id = id6(order.value(i));
            let row = Row {
                ts: ts.value(i),
                location: loc.value(i),
                kind: kind.value(i) as u8,
                seq: seq.value(i),
                lat: opt(lat, i),
                lon: opt(lon, i),
                progress: opt(progress, i),
            };
            self.count(id, &row);
            let open = self.open.entry(id).or_default();
            if route.is_valid(i) {
                let (a, z) = (offsets[i] as usize, offsets[i + 1] as usize);
                open.route = (a..z).map(|j| [plat.value(j) as f64, plon.value(j) as f64]).collect();
            }
            let delivered = row.kind == DELIVERED;
            open.rows.push(row);
            if delivered {
                let done = self.open.remove(&id).unwrap_or_default();
                self.orders.read_until(ts.value(i).saturating_add(ORDERS_AHEAD_MS), p)?;
                self.check_order(&id, done, p);
            }
        }
        Ok(())
    }

    fn count(&mut self, id: [u8; 6], r: &Row) {
        let key = (r.ts, id, r.seq);
        self.sorted &= self.last_key.is_none_or(|last| last < key);
        self.last_key = Some(key);
        self.first_ts.get_or_insert(r.ts);
        match r.kind {
            1..=8 => self.per_type[r.kind as usize - 1] += 1,
            _ => self.unknown_types += 1,
        }
        *self.per_location.entry(r.location).or_default() += 1;
        self.events += 1;
    }

    /// One order's events against the lifecycle and its orders row.
    fn check_order(&mut self, id: &[u8; 6], mut order: Open, p: &mut Problems) {
        self.orders_with_events += 1;
        let name = String::from_utf8_lossy(id).to_string();
        let ev = &mut order.rows;
        ev.sort_by_key(|r| r.seq);
        p.check(ev.iter().enumerate().all(|(i, r)| r.seq as usize == i), || {
            format!("order {name}: sequences are not 0..{}", ev.len())
        });
        let row = self.orders.take(id);
        p.check(row.is_some(), || format!("order {name}: has events but no row in {ORDERS}"));
        if !lifecycle_kinds_ok(ev) {
            let kind = |k: u8| EVENT_TYPES.get((k as usize).wrapping_sub(1)).copied().unwrap_or("an unknown type");
            let kinds: Vec<&str> = ev.iter().map(|r| kind(r.kind)).collect();
            p.check(false, || {
                format!("order {name}: the steps are not the lifecycle's in sequence order ({})", kinds.join(", "))
            });
            return;
        }
        // Times follow the lifecycle; the driver's arrival lies between creation and pickup.
        let steps: Vec<i64> = ev.iter().filter(|r| r.kind != ARRIVED).map(|r| r.ts).collect();
        let (created, arrived, pickup) = (&ev[0], &ev[4], &ev[5]);
        let arrival_ok = created.ts <= arrived.ts && arrived.ts <= pickup.ts;
        p.check(steps.windows(2).all(|w| w[0] <= w[1]) && arrival_ok, || {
            format!("order {name}: times do not follow the lifecycle")
        });
        self.pings += check_route(ev, &order.route, pickup, &name, p);
        if let Some(o) = row {
            let del = &ev[ev.len() - 1];
            p.check((del.lat, del.lon) == o.customer, || format!("order {name}: not delivered at the customer"));
            let end = order.route.last().map(|q| (q[0] as f32, q[1] as f32));
            p.check(end == Some(o.customer), || format!("order {name}: the route does not end at the customer"));
            p.check(o.created == created.ts && o.delivered == del.ts && o.location == created.location, || {
                format!("order {name}: {ORDERS} differs from its events")
            });
        }
    }

    /// What is left once every event is read: orders never delivered,
    /// orders without events, the counts against the manifest.
    fn finish(mut self, p: &mut Problems) -> Result<String> {
        let mut undelivered: Vec<([u8; 6], Open)> = std::mem::take(&mut self.open).into_iter().collect();
        undelivered.sort_by_key(|(id, _)| *id);
        for (id, order) in undelivered {
            self.orders.read_until(i64::MAX, p)?;
            self.check_order(&id, order, p);
        }
        self.orders.read_until(i64::MAX, p)?;
        let (with_events, listed) = (self.orders_with_events, self.orders.read);
        p.check(with_events == listed && self.orders.ahead.is_empty(), || {
            format!("{with_events} orders have events, {ORDERS} has {listed}")
        });
        let m = self.m;
        p.check(self.sorted, || "events are not sorted by (ts, order_id, sequence)".into());
        for (name, n) in EVENT_TYPES.iter().zip(self.per_type) {
            let want = m.event_types.get(*name).copied().unwrap_or(0);
            p.check(n == want, || format!("{n} `{name}` events, the manifest says {want}"));
        }
        p.check(self.unknown_types == 0, || format!("{} events of unknown types", self.unknown_types));
        for l in &m.locations {
            let n = self.per_location.get(&l.id).copied().unwrap_or(0);
            p.check(n == l.events, || format!("location `{}` has {n} events, the manifest says {}", l.code, l.events));
        }
        let last = self.last_key.map(|k| k.0);
        p.check(self.first_ts.is_none_or(|t| t >= m.scenario.start_ms), || {
            "events precede the dataset's window".into()
        });
        let horizon = m.scenario.end_ms + crate::limits::MAX_ORDER_SPAN_MS;
        p.check(last.is_none_or(|t| t < horizon), || "events lie past the window and the longest order".into());
        Ok(format!(
            "{} orders with full lifecycles and ids of their day; {} events sorted; {} pings on their routes",
            listed, self.events, self.pings
        ))
    }
}

/// orders.parquet, read ahead of the events: each row's id checked as it
/// is read, kept until its order's delivery takes it.
struct OrderStream<'m> {
    m: &'m Manifest,
    batches: Box<dyn Iterator<Item = Result<RecordBatch>>>,
    ahead: HashMap<[u8; 6], OrderRow>,
    /// The latest creation time read so far.
    reached: i64,
    done: bool,
    read: u64,
    /// The sequence number of the last id read.
    last_number: Option<u64>,
    id_key: u64,
    start: Option<chrono::NaiveDate>,
    clocks: Vec<Option<LocalClock>>,
}

impl<'m> OrderStream<'m> {
    fn open(dir: &Path, m: &'m Manifest) -> Result<OrderStream<'m>> {
        Ok(OrderStream {
            m,
            batches: Box::new(batch_reader(&dir.join(ORDERS))?),
            ahead: HashMap::new(),
            reached: i64::MIN,
            done: false,
            read: 0,
            last_number: None,
            id_key: key(m.scenario.seed, 0, 0, Purpose::OrderIds),
            start: chrono::NaiveDate::parse_from_str(&m.scenario.start, "%Y-%m-%d").ok(),
            clocks: m.locations.iter().map(|l| LocalClock::parse(&l.timezone).ok()).collect(),
        })
    }

    /// Reads rows until one was created after `t`, or to the end.
    fn read_until(&mut self, t: i64, p: &mut Problems) -> Result<()> {
        while !self.done && self.reached <= t {
            match self.batches.next() {
                Some(b) => self.rows(&b?, p)?,
                None => self.done = true,
            }
        }
        Ok(())
    }

    fn take(&mut self, id: &[u8; 6]) -> Option<OrderRow> {
        self.ahead.remove(id)
    }

    fn rows(&mut self, b: &RecordBatch, p: &mut Problems) -> Result<()> {
        let id = strings(b, ORDERS, "order_id")?;
        let loc = primitive::<Int8Type>(b, ORDERS, "location_id")?;
        let created = primitive::<TimestampMillisecondType>(b, ORDERS, "created_at")?;
        let delivered = primitive::<TimestampMillisecondType>(b, ORDERS, "delivered_at")?;
        let clat = primitive::<Float32Type>(b, ORDERS, "customer_lat")?;
        let clon = primitive::<Float32Type>(b, ORDERS, "customer_lon")?;
        for i in 0..b.num_rows() {
            let row = OrderRow {
                location: loc.value(i),
                created: created.value(i),
                delivered: delivered.value(i),
                customer: (clat.value(i), clon.value(i)),
            };
            self.check_id(id.value(i), &row, p);
            self.reached = self.reached.max(row.created);
            self.read += 1;
            self.ahead.insert(id6(id.value(i)), row);
        }
        Ok(())
    }

    /// The id decodes, with the seed, to its location and local day, and
    /// follows the previous row's (partitions by day and location, then
    /// sequence): every id is listed once.
    fn check_id(&mut self, text: &str, o: &OrderRow, p: &mut Problems) {
        let m = self.m;
        let Some(number) = ids::decode(text.as_bytes(), self.id_key) else {
            p.check(false, || format!("order {text}: not an order id"));
            return;
        };
        let in_order = self.last_number.is_none_or(|last| last < number);
        p.check(in_order, || format!("order {text}: listed twice, or out of partition order, in {ORDERS}"));
        self.last_number = Some(number);
        let (day, loc, _) = ids::parts(number, m.locations.len() as u32);
        let location = m.locations.get(loc as usize);
        let local_day = self
            .clocks
            .get(loc as usize)
            .and_then(|c| c.as_ref())
            .and_then(|c| c.local_date(o.created))
            .zip(self.start)
            .map(|(d, start)| (d - start).num_days());
        let ok = location.is_some_and(|l| l.id == o.location)
            && local_day == Some(day as i64)
            && day < m.scenario.days as u64;
        p.check(ok, || {
            format!("order {text}: its id is not one seed {} gives an order of its location and day", m.scenario.seed)
        });
    }
}

/// The kinds of an order's events, by sequence: the six steps, the pings, the delivery.
fn lifecycle_kinds_ok(ev: &[Row]) -> bool {
    let n = ev.len();
    n >= 7
        && ev.iter().enumerate().all(|(i, r)| match i {
            0..=5 => r.kind as usize == i + 1,
            _ if i == n - 1 => r.kind == DELIVERED,
            _ => r.kind == PING,
        })
}

/// The pickup's route and the pings along it; returns the pings checked.
fn check_route(ev: &[Row], route: &[[f64; 2]], pickup: &Row, name: &str, p: &mut Problems) -> u64 {
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
        let d = distance_to_polyline([r.lat as f64, r.lon as f64], route);
        p.check(d <= ON_ROUTE_TOLERANCE_M, || format!("order {name}: a ping lies {d:.1} m off its route"));
    }
    checked
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

/// An order id as a fixed array (longer ids are cut, shorter ones zero-padded;
/// either way the checks then report the order as broken).
fn id6(s: &str) -> [u8; 6] {
    let mut id = [0u8; 6];
    let n = s.len().min(6);
    id[..n].copy_from_slice(&s.as_bytes()[..n]);
    id
}
