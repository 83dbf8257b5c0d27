//! The retail model, no I/O. The shop runs day by day on its local clock,
//! carrying inventory, pending restocks and prices from one day to the
//! next; every draw of day `d` comes from day `d`'s own streams, so `--days
//! N` is a prefix of a longer run.
//!
//! A day: product events dated that day apply at local midnight; the
//! transactions arrive on the shared demand curves (`demand::arrivals`)
//! with every minute outside the opening hours at weight 0. A transaction
//! draws, in order: its member flag, its number of line items, then per line
//! a propensity `u` uniform in `[0, largest propensity]` (the product whose
//! propensity is nearest; ties in [`Shop::pick`]), a quantity and the
//! supplement flag. A line whose quantity exceeds the product's level is a
//! lost sale; otherwise the level falls. After every line, a level at
//! `restock_threshold` or below orders a restock of `restock_quantity`
//! (unless one is pending) to arrive `restock_delay_min` later (its draw
//! from the day's supply stream); an arrival inside a supply outage of the
//! product waits until the outage (and any outage it then falls in) ends.
//! Restocks arrive before any transaction at or after their time.

use rand::Rng;

use super::{Arrivals, RetailScenario};
use crate::demand::{arrivals, interval_arrivals, Demand, Interval};
use crate::seed::{stream, Purpose};

/// One sold line item.
#[derive(Clone, Debug, PartialEq)]
pub struct Purchase {
    pub ts: i64,
    /// Day and 1-based number of its transaction within the day.
    pub day: u32,
    pub seq: u32,
    pub product: u16,
    pub price_cents: i64,
    pub quantity: u16,
    pub member: bool,
    pub supplement: bool,
    pub total_cents: i64,
}

/// A restock's arrival.
#[derive(Clone, Debug, PartialEq)]
pub struct Restock {
    pub ts: i64,
    pub product: u16,
    pub existing: u32,
    pub added: u32,
}

/// A line item the shop could not serve.
#[derive(Clone, Debug, PartialEq)]
pub struct LostSale {
    pub ts: i64,
    pub day: u32,
    pub seq: u32,
    pub product: u16,
    pub quantity: u16,
    pub available: u32,
}

/// A change of a product's price (`cogs == false`) or cost.
#[derive(Clone, Debug, PartialEq)]
pub struct PriceEvent {
    pub ts: i64,
    pub product: u16,
    pub cogs: bool,
    pub old_cents: i64,
    pub new_cents: i64,
}

#[derive(Debug, Default, PartialEq)]
pub struct RetailRun {
    pub purchases: Vec<Purchase>,
    pub restocks: Vec<Restock>,
    pub lost_sales: Vec<LostSale>,
    pub product_events: Vec<PriceEvent>,
}

/// `(price + supplement) * quantity * (1 - discount)` in cents, rounded
/// half to even on the exact value (the discount in basis points).
pub fn line_total(price_cents: i64, supplement_cents: i64, quantity: u16, discount_bp: i64) -> i64 {
    let num = (price_cents + supplement_cents) as i128 * quantity as i128 * (10_000 - discount_bp) as i128;
    let (q, r) = (num.div_euclid(10_000), num.rem_euclid(10_000));
    let up = r > 5_000 || (r == 5_000 && q % 2 == 1);
    (q + up as i128) as i64
}

/// One line item as drawn, before the stock decides its fate.
#[derive(Clone, Copy)]
struct Line {
    ts: i64,
    day: u32,
    seq: u32,
    product: u16,
    quantity: u16,
    member: bool,
    supplement: bool,
}

/// The shop's state carried across days.
struct Shop<'a> {
    s: &'a RetailScenario,
    levels: Vec<u32>,
    prices: Vec<i64>,
    cogs: Vec<i64>,
    /// Whether each product has a restock on its way, and the arrivals in (time, product) order.
    pending: Vec<bool>,
    queue: std::collections::BTreeSet<(i64, usize)>,
    /// Products by propensity, for the nearest-propensity pick.
    by_propensity: Vec<(f64, u16)>,
    run: RetailRun,
}

impl Shop<'_> {
    /// The product whose propensity is nearest `u`: at an exact midpoint the
    /// lower propensity, among equal propensities the first in the catalogue.
    fn pick(&self, u: f64) -> u16 {
        let v = &self.by_propensity;
        let i = v.partition_point(|(p, _)| *p < u);
        let nearest = match (i.checked_sub(1), v.get(i)) {
            (Some(j), Some(&(above, _))) => {
                if u - v[j].0 <= above - u {
                    v[j].0
                } else {
                    above
                }
            }
            (Some(j), None) => v[j].0,
            (None, Some(&(above, _))) => above,
            (None, None) => return 0,
        };
        // Sorted by (propensity, catalogue index): the first at that propensity.
        v[v.partition_point(|(p, _)| *p < nearest)].1
    }

    /// Delivers every pending restock due at or before `ts`, in (time, product) order.
    fn deliver_due(&mut self, ts: i64) {
        while let Some(&(at, product)) = self.queue.first().filter(|(at, _)| *at <= ts) {
            self.queue.pop_first();
            self.pending[product] = false;
            let existing = self.levels[product];
            self.levels[product] += self.s.restock_quantity;
            self.run.restocks.push(Restock {
                ts: at,
                product: product as u16,
                existing,
                added: self.s.restock_quantity,
            });
        }
    }

    /// When a restock ordered at `ts` arrives: after its delay, and past every outage it would fall in.
    fn arrival(&self, product: usize, ts: i64, delay_min: f64) -> i64 {
        let s = self.s;
        let mut at = ts + (delay_min * 60_000.0).round() as i64;
        // Each step moves past one outage, so the loop ends.
        for _ in 0..=s.outages.len() {
            let day = s.clock.local_date(at).map(|d| (d - s.calendar.start).num_days());
            let holding = s.outages.iter().find(|o| {
                o.product == product && day.is_some_and(|d| (o.start_day as i64..o.end_day as i64).contains(&d))
            });
            match holding {
                Some(o) => at = s.clock.day_start_ms(s.calendar.date(o.end_day)),
                None => break,
            }
        }
        at
    }

    fn apply_changes(&mut self, day: u32, midnight: i64) {
        for c in self.s.changes.iter().filter(|c| c.day == day) {
            let product = c.product as u16;
            for (cogs, new) in [(false, c.price_cents), (true, c.cogs_cents)] {
                let Some(new_cents) = new else { continue };
                let slot = if cogs { &mut self.cogs[c.product] } else { &mut self.prices[c.product] };
                let old_cents = std::mem::replace(slot, new_cents);
                self.run.product_events.push(PriceEvent { ts: midnight, product, cogs, old_cents, new_cents });
            }
        }
    }

    fn day(&mut self, day: u32) {
        let s = self.s;
        let date = s.calendar.date(day);
        self.apply_changes(day, s.clock.day_start_ms(date));
        let profile = s.hours.mask(s.calendar.weekday(day), &s.profile);
        let multiplier = s.day_multipliers[day as usize];
        let times = match &s.arrivals {
            _ if !profile.iter().any(|w| *w > 0.0) => Vec::new(),
            Arrivals::Daily(volume) => {
                let demand = Demand { volume, clock: &s.clock, profile: &profile, multiplier };
                arrivals(s.seed, 0, day, &s.calendar, &demand)
            }
            Arrivals::Interval(interval_s) => {
                // The opening hours alone: the gaps set the pace, not the peaks.
                let open = s.hours.mask(s.calendar.weekday(day), &[1.0; 1440]);
                let process = Interval { clock: &s.clock, open_profile: &open, interval_s, multiplier };
                interval_arrivals(s.seed, 0, day, &s.calendar, &process)
            }
        };
        let mut rng = stream(s.seed, 0, day as u64, Purpose::Basket);
        let mut supply = stream(s.seed, 0, day as u64, Purpose::Supply);
        let top = self.by_propensity.last().map_or(0.0, |p| p.0);
        for (i, ts) in times.into_iter().enumerate() {
            self.deliver_due(ts);
            let seq = i as u32 + 1;
            let member = rng.random_bool(s.member_probability);
            let lines = s.items.sample(&mut rng) as usize;
            for _ in 0..lines {
                let product = self.pick(rng.random::<f64>() * top);
                let quantity = s.quantity.sample(&mut rng) as u16;
                let boosted = s.products[product as usize].boosted;
                let supplement =
                    rng.random_bool(if boosted { s.boosted_probability } else { s.supplement_probability });
                self.sell(&Line { ts, day, seq, product, quantity, member, supplement }, &mut supply);
            }
        }
    }

    /// Serves a line from stock (or records it lost), then orders a restock if the level calls for one.
    fn sell(&mut self, line: &Line, supply: &mut crate::seed::SimRng) {
        let Line { ts, day, seq, product, quantity, member, supplement } = *line;
        let s = self.s;
        let p = product as usize;
        let available = self.levels[p];
        if (quantity as u32) > available {
            self.run.lost_sales.push(LostSale { ts, day, seq, product, quantity, available });
        } else {
            self.levels[p] -= quantity as u32;
            let price_cents = self.prices[p];
            let supplement_cents = if supplement { s.supplement_cents } else { 0 };
            let discount = if member { s.member_discount_bp } else { 0 };
            let total_cents = line_total(price_cents, supplement_cents, quantity, discount);
            self.run.purchases.push(Purchase {
                ts,
                day,
                seq,
                product,
                price_cents,
                quantity,
                member,
                supplement,
                total_cents,
            });
        }
        if self.levels[p] <= s.restock_threshold && !self.pending[p] {
            let at = self.arrival(p, ts, s.restock_delay_min.sample(supply));
            self.pending[p] = true;
            self.queue.insert((at, p));
            self.deliver_due(ts);
        }
    }
}

/// The shop over its days, a few at a time: each piece holds the records
/// of its days, in time order, and the pieces in turn are the whole run.
pub struct Retail<'a> {
    shop: Shop<'a>,
    next_day: u32,
    end_day: u32,
}

impl<'a> Retail<'a> {
    pub fn new(s: &'a RetailScenario) -> Retail<'a> {
        Retail::days(s, 0..s.calendar.days)
    }

    /// The shop over `days` alone (a shard of the run): the stock carries
    /// over from one day to the next, so the days before are run first and
    /// their records dropped.
    pub fn days(s: &'a RetailScenario, days: std::ops::Range<u32>) -> Retail<'a> {
        let mut by_propensity: Vec<(f64, u16)> =
            s.products.iter().enumerate().map(|(i, p)| (p.propensity, i as u16)).collect();
        by_propensity.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut shop = Shop {
            s,
            levels: s.products.iter().map(|p| p.inventory).collect(),
            prices: s.products.iter().map(|p| p.price_cents).collect(),
            cogs: s.products.iter().map(|p| p.cogs_cents).collect(),
            pending: vec![false; s.products.len()],
            queue: Default::default(),
            by_propensity,
            run: RetailRun::default(),
        };
        for day in 0..days.start {
            shop.day(day);
            shop.run = RetailRun::default();
        }
        Retail { shop, next_day: days.start, end_day: days.end.min(s.calendar.days) }
    }

    /// Days simulated so far.
    pub fn days_done(&self) -> u32 {
        self.next_day
    }

    /// The next whole days until at least `min_purchases` purchases (or the
    /// days end); `None` once every day is done.
    pub fn next_piece(&mut self, min_purchases: usize) -> Option<RetailRun> {
        let s = self.shop.s;
        if self.next_day >= self.end_day {
            return None;
        }
        while self.next_day < self.end_day && self.shop.run.purchases.len() < min_purchases {
            self.shop.day(self.next_day);
            self.next_day += 1;
        }
        if self.next_day == s.calendar.days {
            // Restocks that arrive before the window ends.
            let end = s.clock.day_start_ms(s.calendar.date(s.calendar.days - 1) + chrono::Days::new(1));
            self.shop.deliver_due(end - 1);
        }
        Some(std::mem::take(&mut self.shop.run))
    }
}

/// Runs the shop over every day of the scenario.
pub fn simulate(s: &RetailScenario) -> RetailRun {
    Retail::new(s).next_piece(usize::MAX).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::Model;

    #[test]
    fn a_run_in_pieces_of_days_is_the_whole_run() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/smoothie.toml");
        let sets = vec!["time.days=40".to_string()];
        let overrides = crate::scenario::Overrides { sets, scale: None };
        let Model::Retail(r) = crate::scenario::load(&path, &overrides).unwrap().model else {
            panic!("smoothie.toml is a retail scenario")
        };
        let whole = simulate(&r);
        let mut pieces = Retail::new(&r);
        let (mut joined, mut count) = (RetailRun::default(), 0);
        while let Some(p) = pieces.next_piece(500) {
            joined.purchases.extend(p.purchases);
            joined.restocks.extend(p.restocks);
            joined.lost_sales.extend(p.lost_sales);
            joined.product_events.extend(p.product_events);
            count += 1;
        }
        assert!(count > 3, "{count} pieces");
        assert!(!whole.restocks.is_empty() && !whole.lost_sales.is_empty(), "stock runs out and is restocked");
        assert_eq!(joined, whole);
    }

    #[test]
    fn line_totals_round_half_to_even_on_the_exact_value() {
        // (4.99 + 1.99) * 2 * 0.9 = 12.564 -> 12.56
        assert_eq!(line_total(499, 199, 2, 1000), 1256);
        assert_eq!(line_total(599, 0, 3, 0), 1797);
        // 0.25 * 1 * 0.5 = 0.125 -> 0.12 (half to even); 0.35 * 0.5 = 0.175 -> 0.18
        assert_eq!(line_total(25, 0, 1, 5000), 12);
        assert_eq!(line_total(35, 0, 1, 5000), 18);
    }
}
