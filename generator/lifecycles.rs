//! Lifecycles: turns each arrival into an order — basket, customer, kitchen
//! and driver timings, route and GPS pings — and its events. Partitions
//! `(day, location)` are independent and run in parallel; each comes out
//! sorted, in partition order, so the output does not depend on threads.
//! The entry point is [`Simulator`] (any range of days at a time);
//! [`check_bounds`] first refuses a scenario whose orders could outlast the
//! limits on these roads.
//!
//! An order's events are numbered in lifecycle order, from 0:
//! `order_created` 0, `gk_started` 1, `gk_finished` 2, `gk_ready` 3,
//! `driver_arrived` 4, `driver_picked_up` 5, the pings 6.., `delivered`
//! last. (The driver may arrive before the kitchen finishes: sequence is
//! the step, not the time order.)

use std::cmp::Ordering;
use std::ops::Range;

use rand::Rng;
use rayon::prelude::*;

use crate::demand::{arrivals, Demand};
use crate::error::{Error, Result};
use crate::ids::{order_id, sequence_number, MAX_PARTITIONS, PER_PARTITION};
use crate::limits::{MAX_ORDER_SPAN_MS, MAX_PINGS_PER_ORDER};
use crate::roads::DeliveryArea;
use crate::scenario::kitchen::{figure, max_orders, MPH_TO_MPS};
use crate::scenario::kitchen::{KitchenScenario, Location};
use crate::seed::{key, stream, Purpose, SimRng};

/// Event type ids (1-based, as stored) and names, in lifecycle order.
pub const EVENT_TYPES: [&str; 8] = [
    "order_created",
    "gk_started",
    "gk_finished",
    "gk_ready",
    "driver_arrived",
    "driver_picked_up",
    "driver_ping",
    "delivered",
];
pub const CREATED: u8 = 1;
pub const STARTED: u8 = 2;
pub const FINISHED: u8 = 3;
pub const READY: u8 = 4;
pub const ARRIVED: u8 = 5;
pub const PICKED_UP: u8 = 6;
pub const PING: u8 = 7;
pub const DELIVERED: u8 = 8;

/// One order. `lines` index into [`Simulation::lines`].
#[derive(Clone, Debug)]
pub struct Order {
    pub id: [u8; 6],
    /// Index into the scenario's locations.
    pub location: u8,
    pub created_ms: i64,
    pub delivered_ms: i64,
    pub customer_node: u32,
    pub house_number: u16,
    pub lines: (u32, u32),
    pub brands: [i8; 3],
    pub brand_count: u8,
    pub total_cents: i64,
    pub route_length_m: f64,
    pub drive_s: f64,
    pub pings: u16,
}

/// One basket line: an item (index into the scenario's items) and a quantity.
#[derive(Clone, Copy, Debug)]
pub struct Line {
    pub item: u16,
    pub qty: u8,
}

/// One event. `order` indexes [`Simulation::orders`]; position fields are
/// set on pings and deliveries only.
#[derive(Clone, Copy, Debug)]
pub struct Event {
    pub ts_ms: i64,
    pub order: u32,
    pub sequence: u16,
    pub kind: u8,
    pub lat: f32,
    pub lon: f32,
    pub progress_pct: f32,
}

/// An event's place in the events table: time, order id, sequence. Keys
/// are unique (an order's sequence numbers are distinct).
pub type EventKey = (i64, [u8; 6], u16);

/// The key of `e`, whose order index points into `orders`.
pub fn event_key(orders: &[Order], e: &Event) -> EventKey {
    (e.ts_ms, orders[e.order as usize].id, e.sequence)
}

/// The order of the events table (see [`EventKey`]); looks the order ids up
/// only when the times tie.
pub fn event_order(orders: &[Order], a: &Event, b: &Event) -> Ordering {
    a.ts_ms.cmp(&b.ts_ms).then_with(|| event_key(orders, a).cmp(&event_key(orders, b)))
}

/// Sorts one partition's events by [`event_order`]. The sort runs on 8-byte
/// keys (time since the partition's first event, then position) rather than
/// on the 32-byte events: ~3x fewer instructions. Ties in time between
/// orders, which positions do not order by id, are then re-sorted by the
/// full key, and the events are gathered once. A partition spanning 2^32 ms
/// (~50 days) or more falls back to sorting the events themselves.
pub fn sort_events(events: &mut Vec<Event>, orders: &[Order]) {
    const POSITION: u64 = u32::MAX as u64;
    let Some(first) = events.iter().map(|e| e.ts_ms).min() else { return };
    let since_first = |e: &Event| e.ts_ms.abs_diff(first);
    if events.len() as u64 > POSITION || events.iter().any(|e| since_first(e) > POSITION) {
        events.sort_unstable_by(|a, b| event_order(orders, a, b));
        return;
    }
    let mut keys: Vec<u64> = events.iter().enumerate().map(|(i, e)| since_first(e) << 32 | i as u64).collect();
    keys.sort_unstable();
    let event = |k: &u64| &events[(k & POSITION) as usize];
    for tied in keys.chunk_by_mut(|a, b| a >> 32 == b >> 32).filter(|run| run.len() > 1) {
        tied.sort_unstable_by_key(|k| event_key(orders, event(k)));
    }
    *events = keys.iter().map(|k| *event(k)).collect();
}

#[derive(Default)]
pub struct Simulation {
    pub orders: Vec<Order>,
    pub lines: Vec<Line>,
    /// Sorted by [`event_order`] (within each partition, until the events
    /// stage merges them).
    pub events: Vec<Event>,
}

/// Everything a partition needs, prepared once.
struct Model<'a> {
    scn: &'a KitchenScenario,
    areas: &'a [DeliveryArea],
    /// Item indices per brand id (0..=127).
    brand_items: Vec<Vec<u16>>,
    id_key: u64,
}

/// Refuses a scenario whose orders could take longer than
/// [`MAX_ORDER_SPAN_MS`], have more than [`MAX_PINGS_PER_ORDER`] pings, or
/// add up to more than `max_events` events on these delivery areas:
/// everything an order can take is bounded by its distributions and its
/// longest route.
pub fn check_bounds(scn: &KitchenScenario, areas: &[DeliveryArea], max_events: u64) -> Result<()> {
    let mut events = 0.0;
    for (loc, area) in scn.locations.iter().zip(areas) {
        let drive_s = area.longest_route_m() / scn.speed_mps;
        let span_ms = span_ms(scn, area);
        if span_ms > MAX_ORDER_SPAN_MS as f64 {
            return Err(Error(format!(
                "location `{}`: an order could take up to {} minutes (kitchen steps and the longest route, {:.0} m at {:.1} mph); at most {} minutes (7 days) from creation to delivery",
                loc.code,
                figure(span_ms / 60_000.0),
                area.longest_route_m(),
                scn.speed_mps / MPH_TO_MPS,
                MAX_ORDER_SPAN_MS / 60_000
            )));
        }
        let pings = (drive_s / scn.ping_interval_s as f64).floor().max(1.0) - 1.0;
        if pings > MAX_PINGS_PER_ORDER as f64 {
            return Err(Error(format!(
                "location `{}`: the longest route would send {} pings ({:.0} s of driving every {} s); at most {MAX_PINGS_PER_ORDER} pings per order (raise driving.ping_interval_s)",
                loc.code,
                figure(pings),
                drive_s,
                scn.ping_interval_s
            )));
        }
        let orders: f64 = (0..scn.calendar.days).map(|d| max_orders(&loc.volume, d, scn.calendar.weekday(d))).sum();
        events += orders * (7.0 + pings);
    }
    if events > max_events as f64 {
        return Err(Error(format!(
            "the scenario could produce up to {} events (every order at its longest route); at most {} events per run: fewer days or smaller volumes",
            figure(events),
            figure(max_events as f64)
        )));
    }
    Ok(())
}

/// The longest an order of `area` can take, creation to delivery: every
/// kitchen step at its largest and the longest route's drive.
fn span_ms(scn: &KitchenScenario, area: &DeliveryArea) -> f64 {
    let steps_min: f64 = scn.lifecycle.steps.iter().map(|d| d.bounds().1).sum();
    steps_min * 60_000.0 + area.longest_route_m() / scn.speed_mps * 1000.0
}

/// The simulation, prepared once and run a range of days at a time: any
/// day's partitions are the same whichever range they are run in.
pub struct Simulator<'a>(Model<'a>);

impl<'a> Simulator<'a> {
    /// Checks the scenario's bounds on these roads ([`check_bounds`], with
    /// at most `max_events` events) and the order id space.
    pub fn new(scn: &'a KitchenScenario, areas: &'a [DeliveryArea], max_events: u64) -> Result<Simulator<'a>> {
        check_bounds(scn, areas, max_events)?;
        let n_loc = scn.locations.len() as u32;
        if scn.calendar.days as u64 * n_loc as u64 > MAX_PARTITIONS {
            return Err(Error(format!(
                "{} days x {} locations is too many for 6-character order ids (at most {MAX_PARTITIONS} location-days)",
                scn.calendar.days, n_loc
            )));
        }
        let mut brand_items = vec![Vec::new(); 128];
        for (i, it) in scn.items.iter().enumerate() {
            brand_items[it.brand_id as usize].push(i as u16);
        }
        Ok(Simulator(Model { scn, areas, brand_items, id_key: key(scn.seed, 0, 0, Purpose::OrderIds) }))
    }

    /// The longest any order can take, creation to delivery (ms).
    pub fn longest_span_ms(&self) -> i64 {
        let m = &self.0;
        m.areas.iter().map(|a| span_ms(m.scn, a).ceil() as i64).max().unwrap_or(0)
    }

    /// The (day, location) partitions of `days`, in that order, in parallel.
    pub fn days(&self, days: Range<u32>, on_partition: &(dyn Fn() + Sync)) -> Result<Vec<Simulation>> {
        let n_loc = self.0.scn.locations.len() as u32;
        let parts: Vec<(u32, u32)> = days.flat_map(|d| (0..n_loc).map(move |l| (d, l))).collect();
        let results: Vec<Result<Simulation>> = parts
            .par_iter()
            .map(|&(day, loc)| {
                let r = self.0.partition(day, loc);
                on_partition();
                r
            })
            .collect();
        // The first failing partition in order names the error, whatever the threads.
        results.into_iter().collect()
    }
}

fn minutes_to_ms(minutes: f64) -> i64 {
    (minutes * 60_000.0).round() as i64
}

impl Model<'_> {
    fn partition(&self, day: u32, loc: u32) -> Result<Simulation> {
        let scn = self.scn;
        let location = &scn.locations[loc as usize];
        let area = &self.areas[loc as usize];
        let demand = Demand {
            volume: &location.volume,
            clock: &location.clock,
            profile: &location.minute_weights,
            multiplier: 1.0,
        };
        let created = arrivals(scn.seed, loc, day, &scn.calendar, &demand);
        if created.len() as u64 > PER_PARTITION {
            return Err(Error(format!(
                "location `{}` has {} orders on day {day}; at most {PER_PARTITION} per location and day fit the order id space",
                location.code,
                created.len()
            )));
        }
        let active = self.active_brands(location, day);
        if active.is_empty() && !created.is_empty() {
            return Err(Error(format!(
                "location `{}` has no active brand on day {day} (see brand_locations)",
                location.code
            )));
        }
        let (s, d, l) = (scn.seed, day as u64, loc as u64);
        let mut basket_rng = stream(s, l, d, Purpose::Basket);
        let mut customer_rng = stream(s, l, d, Purpose::Customer);
        let mut life_rng = stream(s, l, d, Purpose::Lifecycle);
        // Sized up front (canonical means: 13.4 events, 2.9 lines an order).
        let mut out = Simulation {
            orders: Vec::with_capacity(created.len()),
            lines: Vec::with_capacity(created.len() * 4),
            events: Vec::with_capacity(created.len() * 16),
        };
        let mut scratch = Scratch::default();
        for (i, &t0) in created.iter().enumerate() {
            let order_index = out.orders.len() as u32;
            let number = sequence_number(day, loc, scn.locations.len() as u32, i as u32);
            let line_start = out.lines.len() as u32;
            let (brands, brand_count) = self.basket(&active, &mut basket_rng, &mut out.lines, &mut scratch);
            let total_cents = out.lines[line_start as usize..]
                .iter()
                .map(|ln| scn.items[ln.item as usize].price_cents * ln.qty as i64)
                .sum();

            let customer_node = area.nodes[customer_rng.random_range(0..area.nodes.len())];
            let house_number = customer_rng.random_range(1..=2999);
            let route_length_m = area.route_length_m(customer_node);

            let lc = &scn.lifecycle;
            let started = t0 + minutes_to_ms(lc.steps[0].sample(&mut life_rng));
            let finished = started + minutes_to_ms(lc.steps[1].sample(&mut life_rng));
            let ready = finished + minutes_to_ms(lc.steps[2].sample(&mut life_rng));
            let pickup = ready + minutes_to_ms(lc.steps[3].sample(&mut life_rng));
            let after_ready = life_rng.random::<f64>() < lc.arrival_after_ready_probability;
            let fraction = lc.arrival_fraction.sample(&mut life_rng).clamp(0.0, 1.0);
            let (from, to) = if after_ready { (ready, pickup) } else { (t0, ready) };
            let arrived = from + ((to - from) as f64 * fraction).round() as i64;
            let arrived = arrived.min(pickup);

            let drive_s = route_length_m / scn.speed_mps;
            let delivered = pickup + (drive_s * 1000.0).round() as i64;
            let interval = scn.ping_interval_s as f64;
            let count = ((drive_s / interval).floor() as u64).max(1);

            let events = &mut scratch.events;
            events.clear();
            events.extend([
                ev(t0, CREATED),
                ev(started, STARTED),
                ev(finished, FINISHED),
                ev(ready, READY),
                ev(arrived, ARRIVED),
                ev(pickup, PICKED_UP),
            ]);
            // Pings at fractions k / count of the route, found by one walk
            // from the customer back towards the kitchen (so descending).
            let distances = &mut scratch.distances;
            distances.clear();
            distances.extend((1..count).rev().map(|k| (k as f64 / count as f64) * route_length_m));
            let first_ping = events.len();
            events.resize(first_ping + distances.len(), ev(0, PING));
            area.points_along(customer_node, distances, |i, p| {
                let k = count - 1 - i as u64;
                let fraction = k as f64 / count as f64;
                events[first_ping + k as usize - 1] = Event {
                    lat: p[0] as f32,
                    lon: p[1] as f32,
                    progress_pct: (fraction * 100.0) as f32,
                    ..ev(pickup + (k as f64 * interval * 1000.0) as i64, PING)
                };
            });
            let end = area.graph.point(customer_node);
            events.push(Event { lat: end[0] as f32, lon: end[1] as f32, ..ev(delivered, DELIVERED) });
            // Built in lifecycle order: that order is the sequence.
            for (seq, e) in events.iter_mut().enumerate() {
                e.sequence = seq as u16;
                e.order = order_index;
            }
            out.events.extend_from_slice(events);
            out.orders.push(Order {
                id: order_id(number, self.id_key),
                location: loc as u8,
                created_ms: t0,
                delivered_ms: delivered,
                customer_node,
                house_number,
                lines: (line_start, out.lines.len() as u32),
                brands,
                brand_count,
                total_cents,
                route_length_m,
                drive_s,
                pings: (count - 1) as u16,
            });
        }
        // Sorted here, while the partition is in cache: the events stage
        // then only merges.
        let Simulation { events, orders, .. } = &mut out;
        sort_events(events, orders);
        Ok(out)
    }

    /// Brands open at `location` on `day`, with their growth weights.
    fn active_brands(&self, location: &Location, day: u32) -> Vec<(i8, f64)> {
        self.scn.active_brands(location.id, day)
    }

    /// Draws the brands (distinct, by weight) and their items into `lines`.
    fn basket(
        &self,
        active: &[(i8, f64)],
        rng: &mut SimRng,
        lines: &mut Vec<Line>,
        scratch: &mut Scratch,
    ) -> ([i8; 3], u8) {
        let b = &self.scn.basket;
        let want = (b.brands_per_order.sample(rng).round().max(1.0) as usize).min(active.len()).min(3);
        let pool = &mut scratch.pool;
        pool.clear();
        pool.extend_from_slice(active);
        let mut brands = [0i8; 3];
        for slot in brands.iter_mut().take(want) {
            let total: f64 = pool.iter().map(|p| p.1).sum();
            let mut u = rng.random::<f64>() * total;
            let mut pick = pool.len() - 1;
            for (j, p) in pool.iter().enumerate() {
                if u < p.1 {
                    pick = j;
                    break;
                }
                u -= p.1;
            }
            *slot = pool.remove(pick).0;
        }
        for &brand in &brands[..want] {
            let menu = &mut scratch.menu;
            menu.clear();
            menu.extend_from_slice(&self.brand_items[brand as usize]);
            let n = (b.items_per_brand.sample(rng).round().max(1.0) as usize).min(menu.len());
            for k in 0..n {
                let j = rng.random_range(k..menu.len());
                menu.swap(k, j);
                let qty = b.quantity.sample(rng).round().clamp(1.0, 127.0) as u8;
                lines.push(Line { item: menu[k], qty });
            }
        }
        (brands, want as u8)
    }
}

/// Buffers reused across the orders of a partition (no per-order allocation).
#[derive(Default)]
struct Scratch {
    distances: Vec<f64>,
    events: Vec<Event>,
    pool: Vec<(i8, f64)>,
    menu: Vec<u16>,
}

fn ev(ts_ms: i64, kind: u8) -> Event {
    Event { ts_ms, order: 0, sequence: 0, kind, lat: f32::NAN, lon: f32::NAN, progress_pct: f32::NAN }
}

#[cfg(test)]
pub(crate) mod tests {
    use rand::seq::SliceRandom;
    use rand::Rng;

    use super::{event_order, sort_events, Event, Order};
    use crate::seed::{stream, Purpose};

    /// An order with just an id and its basket lines; the rest is neutral.
    pub(crate) fn order(id: [u8; 6], lines: (u32, u32)) -> Order {
        Order {
            id,
            location: 0,
            created_ms: 0,
            delivered_ms: 0,
            customer_node: 0,
            house_number: 1,
            lines,
            brands: [0; 3],
            brand_count: 1,
            total_cents: 0,
            route_length_m: 0.0,
            drive_s: 0.0,
            pings: 0,
        }
    }

    /// `orders` orders with shuffled ids, each with up to 14 events at times
    /// `base + 0..spread` in steps of `step` (so many ties across orders).
    fn partition(seed: u64, orders: u32, base: i64, spread: i64, step: i64) -> (Vec<Order>, Vec<Event>) {
        let mut rng = stream(seed, 0, 0, Purpose::Lifecycle);
        let mut ids: Vec<u32> = (0..orders).collect();
        ids.shuffle(&mut rng);
        let orders: Vec<Order> =
            ids.iter().map(|i| order(*format!("{i:06}").as_bytes().first_chunk().unwrap(), (0, 0))).collect();
        let mut events = Vec::new();
        for o in 0..orders.len() as u32 {
            for sequence in 1..=rng.random_range(1..15u16) {
                let ts_ms = base + rng.random_range(0..spread) / step * step;
                events.push(Event { ts_ms, order: o, sequence, kind: 1, lat: 0.0, lon: 0.0, progress_pct: 0.0 });
            }
        }
        (orders, events)
    }

    #[test]
    fn keyed_sort_equals_the_event_order() {
        let cases = [
            (300, -5_000, 200_000, 1_000),           // heavy ties, negative times
            (300, 1_700_000_000_000, 86_400_000, 1), // a day, few ties
            (40, 0, 1 << 40, 1 << 20),               // spans more than 2^32 ms: fallback
            (0, 0, 1, 1),                            // empty
        ];
        let mut ties = 0;
        for (seed, (orders, base, spread, step)) in cases.into_iter().enumerate() {
            let (orders, mut events) = partition(seed as u64, orders, base, spread, step);
            let mut want = events.clone();
            want.sort_unstable_by(|a, b| event_order(&orders, a, b));
            ties += want.windows(2).filter(|w| w[0].ts_ms == w[1].ts_ms && w[0].order != w[1].order).count();
            sort_events(&mut events, &orders);
            let key = |e: &Event| (e.ts_ms, e.order, e.sequence);
            assert_eq!(
                events.iter().map(key).collect::<Vec<_>>(),
                want.iter().map(key).collect::<Vec<_>>(),
                "case {seed}"
            );
        }
        assert!(ties > 1_000, "the cases must tie across orders ({ties} ties)");
    }
}
