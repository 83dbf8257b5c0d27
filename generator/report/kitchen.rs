//! The ghost kitchen's report: orders per local day and time of day per
//! location, brand shares week by week, the lifecycle's durations and
//! basket values, and a map per city drawn from the roads its drivers took
//! (every road segment of every route), with sample routes and customers
//! coloured by delivery time.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use arrow::array::{Array, AsArray};
use arrow::datatypes::Float32Type;

use super::figure::{histogram, Chart, Figure, Figures, Headline, Map, Series};
use super::read::{floats, ints, scan, texts};
use crate::error::{Error, Result};
use crate::sinks::manifest::Manifest;

/// Sample routes drawn per city.
const ROUTES_SHOWN: usize = 40;
/// Minutes per bar of the time-of-day profile.
const PROFILE_MINUTES: i64 = 15;
const MINUTE_MS: f64 = 60_000.0;

/// One order's times (ms) and where it went.
#[derive(Clone, Default)]
struct Order {
    location: usize,
    created: i64,
    delivered: i64,
    total: f64,
    brands: Vec<i64>,
    customer: [f64; 2],
    /// gk_started, gk_finished, driver_arrived, driver_picked_up.
    steps: [Option<i64>; 4],
}

const STEPS: [&str; 4] = ["gk_started", "gk_finished", "driver_arrived", "driver_picked_up"];

/// Each location's local clock and the local date of day 0.
struct Clocks {
    zones: Vec<chrono_tz::Tz>,
    start: chrono::NaiveDate,
}

impl Clocks {
    fn new(m: &Manifest) -> Result<Clocks> {
        let zones = m
            .locations
            .iter()
            .map(|l| l.timezone.parse().map_err(|_| Error(format!("manifest: location {}: unknown time zone", l.code))))
            .collect::<Result<_>>()?;
        Ok(Clocks { zones, start: super::start_date(m)? })
    }

    /// The local day number and minute of day of `ms` at location `loc`.
    fn local(&self, loc: usize, ms: i64) -> (i64, i64) {
        super::local(self.zones[loc], self.start, ms)
    }
}

pub fn report(dir: &Path, m: &Manifest) -> Result<Figures> {
    let clocks = Clocks::new(m)?;
    let (mut orders, index) = read_orders(dir, m)?;
    let mut maps: Vec<MapParts> = m.locations.iter().map(|_| MapParts::default()).collect();
    read_events(dir, &index, &mut orders, &mut maps)?;
    let brands = brand_names(dir)?;
    let events = m.tables.get("events").copied().unwrap_or(0) as f64;
    let n = orders.len() as f64;
    let minutes = |o: &Order| (o.delivered - o.created) as f64 / MINUTE_MS;
    let delivery: Vec<f64> = orders.iter().map(minutes).collect();
    let headline = vec![
        Headline::new("orders", n, ""),
        Headline::new("events", events, ""),
        Headline::new("events per order", if n > 0.0 { events / n } else { 0.0 }, ""),
        Headline::new("revenue", orders.iter().map(|o| o.total).sum::<f64>(), "USD"),
        Headline::new("mean delivery time", delivery.iter().sum::<f64>() / n.max(1.0), "min"),
    ];
    let mut figures = vec![per_day(m, &clocks, &orders), time_of_day(m, &clocks, &orders)];
    for (loc, l) in m.locations.iter().enumerate() {
        figures.push(brand_shares(loc, &l.name, &clocks, &orders, &brands));
    }
    figures.extend(durations(&orders, &delivery));
    for (loc, parts) in maps.into_iter().enumerate() {
        let customers = orders.iter().filter(|o| o.location == loc).map(|o| [o.customer[0], o.customer[1], minutes(o)]);
        figures.push(parts.figure(&m.locations[loc].name, &m.locations[loc].code, customers.collect()));
    }
    Ok((headline, figures))
}

/// The orders in table order, and each order id's position.
fn read_orders(dir: &Path, m: &Manifest) -> Result<(Vec<Order>, HashMap<String, usize>)> {
    let ids: HashMap<i64, usize> = m.locations.iter().enumerate().map(|(i, l)| (l.id as i64, i)).collect();
    let (mut orders, mut index) = (Vec::new(), HashMap::new());
    let cols =
        ["order_id", "location_id", "created_at", "delivered_at", "brand_ids", "total", "customer_lat", "customer_lon"];
    scan(dir, "orders", &cols, |b| {
        let (id, loc, created, delivered) =
            (texts(b, "order_id")?, ints(b, "location_id")?, ints(b, "created_at")?, ints(b, "delivered_at")?);
        let (total, lat, lon) = (floats(b, "total")?, floats(b, "customer_lat")?, floats(b, "customer_lon")?);
        let brands = b
            .column_by_name("brand_ids")
            .and_then(|c| c.as_list_opt::<i32>())
            .ok_or_else(|| Error("orders: brand_ids is not a list".into()))?;
        for i in 0..b.num_rows() {
            let location = *ids
                .get(&loc[i])
                .ok_or_else(|| Error(format!("orders: location {} is not in the manifest", loc[i])))?;
            let list = arrow::compute::cast(&brands.value(i), &arrow::datatypes::DataType::Int64)
                .map_err(|e| Error(e.to_string()))?;
            let brands = list.as_primitive::<arrow::datatypes::Int64Type>().values().to_vec();
            index.insert(id.value(i).to_string(), orders.len());
            let customer = [lon[i], lat[i]];
            orders.push(Order {
                location,
                created: created[i],
                delivered: delivered[i],
                total: total[i],
                brands,
                customer,
                steps: [None; 4],
            });
        }
        Ok(())
    })?;
    Ok((orders, index))
}

/// Streets (road segments between consecutive route points, each once),
/// the kitchen and sample routes of one city.
#[derive(Default)]
struct MapParts {
    segments: HashSet<[[i64; 2]; 2]>,
    kitchen: Option<[f64; 2]>,
    routes: Vec<Vec<[f64; 2]>>,
}

/// Degrees to a grid of 1e-6 degrees (about 0.1 m), to find shared segments.
fn grid(p: [f64; 2]) -> [i64; 2] {
    [(p[0] * 1e6).round() as i64, (p[1] * 1e6).round() as i64]
}

impl MapParts {
    fn add_route(&mut self, route: Vec<[f64; 2]>) {
        self.kitchen.get_or_insert(route[0]);
        for pair in route.windows(2) {
            let (a, b) = (grid(pair[0]), grid(pair[1]));
            self.segments.insert(if a <= b { [a, b] } else { [b, a] });
        }
        if self.routes.len() < ROUTES_SHOWN {
            self.routes.push(route);
        }
    }

    fn figure(self, name: &str, code: &str, customers: Vec<[f64; 3]>) -> Figure {
        let mut streets: Vec<[[f64; 2]; 2]> =
            self.segments.iter().map(|s| s.map(|p| [p[0] as f64 / 1e6, p[1] as f64 / 1e6])).collect();
        streets.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        let mut minutes: Vec<f64> = customers.iter().map(|c| c[2]).filter(|v| v.is_finite()).collect();
        minutes.sort_by(f64::total_cmp);
        // The colours span the middle 90 % of delivery times, so one slow order does not wash them out.
        let at =
            |q: f64| minutes.get(((minutes.len() as f64 - 1.0) * q).round().max(0.0) as usize).copied().unwrap_or(0.0);
        let map = Map {
            street_segments: streets.len(),
            customer_count: customers.len(),
            streets,
            kitchen: self.kitchen.unwrap_or([0.0, 0.0]),
            routes: self.routes,
            customers,
            value: "delivery time (min)".into(),
            value_range: [at(0.05), at(0.95)],
        };
        Figure {
            id: format!("map_{code}"),
            title: format!("{name}: streets driven, sample routes and customers"),
            note: "Streets are every road segment a driver took; customers are coloured by delivery time (green fast, red slow); the black dot is the kitchen.".into(),
            chart: Chart::Map(map),
        }
    }
}

/// Adds each order's lifecycle times and each city's routes.
fn read_events(dir: &Path, index: &HashMap<String, usize>, orders: &mut [Order], maps: &mut [MapParts]) -> Result<()> {
    scan(dir, "events", &["order_id", "event_type", "ts", "route"], |b| {
        let (id, kind, ts) = (texts(b, "order_id")?, texts(b, "event_type")?, ints(b, "ts")?);
        let route = b.column_by_name("route").and_then(|c| c.as_list_opt::<i32>());
        for (i, &t) in ts.iter().enumerate() {
            let Some(step) = STEPS.iter().position(|s| *s == kind.value(i)) else { continue };
            let o = *index
                .get(id.value(i))
                .ok_or_else(|| Error(format!("events: order {} is not in orders", id.value(i))))?;
            orders[o].steps[step] = Some(t);
            if let Some(r) = route.filter(|r| r.is_valid(i) && step == 3) {
                let points = r.value(i);
                let s = points.as_struct();
                let (lat, lon) = (s.column_by_name("lat"), s.column_by_name("lon"));
                if let (Some(lat), Some(lon)) = (lat, lon) {
                    let (lat, lon) = (lat.as_primitive::<Float32Type>(), lon.as_primitive::<Float32Type>());
                    let route: Vec<[f64; 2]> =
                        (0..lat.len()).map(|k| [lon.value(k) as f64, lat.value(k) as f64]).collect();
                    if !route.is_empty() {
                        maps[orders[o].location].add_route(route);
                    }
                }
            }
        }
        Ok(())
    })
}

fn brand_names(dir: &Path) -> Result<BTreeMap<i64, String>> {
    let mut names = BTreeMap::new();
    scan(dir, "brands", &["brand_id", "name"], |b| {
        let (id, name) = (ints(b, "brand_id")?, texts(b, "name")?);
        names.extend((0..b.num_rows()).map(|i| (id[i], name.value(i).to_string())));
        Ok(())
    })?;
    Ok(names)
}

fn per_day(m: &Manifest, clocks: &Clocks, orders: &[Order]) -> Figure {
    let mut counts = vec![vec![0.0; m.scenario.days as usize]; m.locations.len()];
    for o in orders {
        let (day, _) = clocks.local(o.location, o.created);
        if let Some(c) = counts[o.location].get_mut(day as usize) {
            *c += 1.0;
        }
    }
    let series = m.locations.iter().zip(counts).map(|(l, c)| Series::numbered(&l.name, &c));
    Figure {
        id: "orders_per_day".into(),
        title: "Orders per day, per location".into(),
        note: "Each kitchen's own local days: growth or decline per city, with the weekday ripple.".into(),
        chart: Chart::Lines { x: "day".into(), y: "orders".into(), series: series.collect() },
    }
}

fn time_of_day(m: &Manifest, clocks: &Clocks, orders: &[Order]) -> Figure {
    let bins = (1440 / PROFILE_MINUTES) as usize;
    let mut counts = vec![vec![0.0; bins]; m.locations.len()];
    for o in orders {
        let (_, minute) = clocks.local(o.location, o.created);
        counts[o.location][(minute / PROFILE_MINUTES) as usize % bins] += 1.0;
    }
    let days = m.scenario.days.max(1) as f64;
    let series = m.locations.iter().zip(counts).map(|(l, c)| Series {
        name: l.name.clone(),
        points: c.iter().enumerate().map(|(i, &n)| [(i as i64 * PROFILE_MINUTES) as f64 / 60.0, n / days]).collect(),
    });
    Figure {
        id: "orders_by_time_of_day".into(),
        title: format!("Orders per {PROFILE_MINUTES} minutes of the local day, per location (mean over the days)"),
        note: "Lunch and dinner peaks on each kitchen's own clock.".into(),
        chart: Chart::Lines { x: "local time of day (h)".into(), y: "orders".into(), series: series.collect() },
    }
}

/// Per week, the share of a location's orders that hold each brand.
fn brand_shares(loc: usize, name: &str, clocks: &Clocks, orders: &[Order], brands: &BTreeMap<i64, String>) -> Figure {
    let mut weeks: BTreeMap<i64, (f64, BTreeMap<i64, f64>)> = BTreeMap::new();
    for o in orders.iter().filter(|o| o.location == loc) {
        let week = weeks.entry(clocks.local(loc, o.created).0.div_euclid(7)).or_default();
        week.0 += 1.0;
        for b in &o.brands {
            *week.1.entry(*b).or_default() += 1.0;
        }
    }
    let seen: std::collections::BTreeSet<i64> = weeks.values().flat_map(|w| w.1.keys().copied()).collect();
    let series = seen.iter().map(|b| Series {
        name: brands.get(b).cloned().unwrap_or_else(|| format!("brand {b}")),
        points: weeks
            .iter()
            .map(|(w, (n, c))| [*w as f64 + 1.0, c.get(b).copied().unwrap_or(0.0) / n * 100.0])
            .collect(),
    });
    Figure {
        id: format!("brand_share_{loc}"),
        title: format!("{name}: share of orders holding each brand, week by week"),
        note: "A brand that opens or closes shows as a line that starts or ends at zero.".into(),
        chart: Chart::Lines { x: "week".into(), y: "% of orders".into(), series: series.collect() },
    }
}

fn durations(orders: &[Order], delivery: &[f64]) -> Vec<Figure> {
    let between = |a: usize, b: usize| -> Vec<f64> {
        orders.iter().filter_map(|o| Some((o.steps[b]? - o.steps[a]?) as f64 / MINUTE_MS)).collect()
    };
    let drive: Vec<f64> = orders.iter().filter_map(|o| Some((o.delivered - o.steps[3]?) as f64 / MINUTE_MS)).collect();
    let basket: Vec<f64> = orders.iter().map(|o| o.total).collect();
    let figure = |id: &str, title: &str, x: &str, values: &[f64]| Figure {
        id: id.into(),
        title: title.into(),
        note: String::new(),
        chart: histogram(x, values, 40),
    };
    vec![
        figure("prep_time", "Prep time (kitchen started to finished)", "minutes", &between(0, 1)),
        figure("driver_wait", "Driver wait (arrived to picked up)", "minutes", &between(2, 3)),
        figure("drive_time", "Drive time (picked up to delivered)", "minutes", &drive),
        figure("delivery_time", "Delivery time (ordered to delivered)", "minutes", delivery),
        figure("basket_value", "Basket value", "USD", &basket),
    ]
}
