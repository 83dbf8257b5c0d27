//! The ghost kitchen's run as a sequence of blocks of whole days, in time
//! order, so a run of any length is generated and written in flat memory.
//! A block simulates its days' partitions and emits the events that no
//! later day can precede: those before the earliest local midnight, among
//! the locations, that ends the block. A partition's later events (orders
//! delivered after that instant) wait, with the partition's orders, for the
//! next block. Concatenated, the blocks' events are exactly the whole run's
//! event table and their new orders its orders table.

use std::ops::Range;

use crate::error::Result;
use crate::lifecycles::{Simulation, Simulator};
use crate::scenario::kitchen::KitchenScenario;

/// Orders a block holds at most, as the scenario expects them (~0.5 M
/// events, ~20 MB): large enough to keep every core busy, small enough
/// that the blocks in flight (one written, the next simulated and merged)
/// stay within a hundred MB.
const BLOCK_ORDERS: f64 = 40_000.0;

/// One block: the events of its time range in table order, and the orders
/// they refer to.
pub struct Block {
    /// Orders of this block's partitions and of earlier ones that still had
    /// events; events sorted by (ts, order id, sequence).
    pub sim: Simulation,
    /// The rows of `sim.orders` that are new: the orders table's next rows.
    pub new_orders: Range<usize>,
    pub days: Range<u32>,
}

/// A block's days, simulated, not yet merged.
pub struct Partitions {
    days: Range<u32>,
    parts: Vec<Simulation>,
}

/// The blocks of a run, in order.
pub struct Blocks<'a> {
    scn: &'a KitchenScenario,
    simulator: &'a Simulator<'a>,
    /// The days of each block still to come, in reverse order.
    plan: Vec<Range<u32>>,
    /// Partitions with events after the last block's end, their other events gone.
    pending: Vec<Simulation>,
}

impl<'a> Blocks<'a> {
    pub fn new(scn: &'a KitchenScenario, simulator: &'a Simulator<'a>) -> Blocks<'a> {
        let mut plan = plan(scn);
        plan.reverse();
        Blocks { scn, simulator, plan, pending: Vec::new() }
    }

    /// Simulates the partitions of the next block's days; `None` after the
    /// last. [`Self::assemble`] then makes them a block (apart, so that a
    /// writer can finish the previous block before the merge needs memory).
    pub fn simulate_next(&mut self, on_partition: &(dyn Fn() + Sync)) -> Option<Result<Partitions>> {
        let days = self.plan.pop()?;
        Some(self.simulator.days(days.clone(), on_partition).map(|parts| Partitions { days, parts }))
    }

    /// The block of the partitions [`Self::simulate_next`] returned last.
    pub fn assemble(&mut self, fresh: Partitions) -> Block {
        let days = fresh.days;
        let end = if self.plan.is_empty() { i64::MAX } else { self.earliest_midnight(days.end) };
        let old_orders: usize = self.pending.iter().map(|p| p.orders.len()).sum();
        let mut parts = std::mem::take(&mut self.pending);
        parts.extend(fresh.parts);
        for part in &mut parts {
            let cut = part.events.partition_point(|e| e.ts_ms < end);
            if cut < part.events.len() {
                let later = part.events.split_off(cut);
                self.pending.push(Simulation { orders: part.orders.clone(), lines: part.lines.clone(), events: later });
            }
        }
        let new_orders = old_orders..parts.iter().map(|p| p.orders.len()).sum();
        let day_starts: Vec<i64> = (days.start + 1..days.end).map(|d| self.scn.calendar.utc_midnight_ms(d)).collect();
        Block { sim: super::merge(parts, &day_starts), new_orders, days }
    }

    /// The first instant of local day `day` at the location where it comes first.
    fn earliest_midnight(&self, day: u32) -> i64 {
        let date = self.scn.calendar.date(day);
        self.scn.locations.iter().map(|l| l.clock.day_start_ms(date)).min().unwrap_or(i64::MAX)
    }
}

/// Days per block: consecutive days whose expected orders add up to at
/// most [`BLOCK_ORDERS`] (at least one day each).
fn plan(scn: &KitchenScenario) -> Vec<Range<u32>> {
    let c = &scn.calendar;
    let expected = |d: u32| -> f64 { scn.locations.iter().map(|l| l.volume.expected(d, c.weekday(d))).sum() };
    let mut blocks = Vec::new();
    let (mut start, mut orders) = (0, 0.0);
    for day in 0..c.days {
        let o = expected(day);
        if day > start && orders + o > BLOCK_ORDERS {
            blocks.push(start..day);
            (start, orders) = (day, 0.0);
        }
        orders += o;
    }
    if start < c.days {
        blocks.push(start..c.days);
    }
    blocks
}
