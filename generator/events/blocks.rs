//! The ghost kitchen's run as a sequence of blocks of whole days, in time
//! order, so a run of any length is generated and written in flat memory.
//! A block simulates its days' partitions and emits the events that no
//! later day can precede: those before the earliest local midnight, among
//! the locations, that ends the block. A partition's later events (orders
//! delivered after that instant) wait, with the partition's orders, for the
//! next block. Concatenated, the blocks' events are exactly the whole run's
//! event table and their new orders its orders table.
//!
//! A range of days (a shard) runs the same way after a warm-up of the days
//! whose orders can still deliver into it: it holds the orders of its days
//! and the events between the earliest local midnights that begin and end
//! it, so consecutive ranges concatenate into the whole run.

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
}

/// A block's days, simulated, not yet merged.
pub struct Partitions {
    days: Range<u32>,
    parts: Vec<Simulation>,
}

/// The blocks of a run, or of a range of its days, in order.
pub struct Blocks<'a> {
    scn: &'a KitchenScenario,
    simulator: &'a Simulator<'a>,
    /// The days of each block still to come, in reverse order.
    plan: Vec<Range<u32>>,
    /// Partitions with events after the last block's end, their other events gone.
    pending: Vec<Simulation>,
    /// The first day whose orders are the range's (earlier ones warm up).
    first_day: u32,
    /// The range's events: from `start_ms` to `end_ms`.
    start_ms: i64,
    end_ms: i64,
}

impl<'a> Blocks<'a> {
    /// The blocks of `days` (`0..days` for the whole run).
    pub fn new(scn: &'a KitchenScenario, simulator: &'a Simulator<'a>, days: Range<u32>) -> Blocks<'a> {
        let whole = scn.calendar.days;
        let mut blocks = Blocks {
            scn,
            simulator,
            plan: Vec::new(),
            pending: Vec::new(),
            first_day: days.start,
            start_ms: i64::MIN,
            end_ms: i64::MAX,
        };
        if days.start > 0 {
            blocks.start_ms = blocks.earliest_midnight(days.start);
        }
        if days.end < whole {
            blocks.end_ms = blocks.earliest_midnight(days.end);
        }
        // An order of day d ends before the local midnight after d (up to a
        // day and two hours from the earliest one) plus its longest span.
        let reach_ms = (26 * 3_600_000 + simulator.longest_span_ms()).max(0) as u64;
        let warm_up = (reach_ms.div_ceil(86_400_000) + 1).min(days.start as u64) as u32;
        blocks.plan = plan(scn, days.start - warm_up..days.end);
        blocks.plan.reverse();
        blocks
    }

    /// The (day, location) partitions left to simulate, warm-up included.
    pub fn partitions(&self) -> u64 {
        self.plan.iter().map(|d| d.len() as u64).sum::<u64>() * self.scn.locations.len() as u64
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
        let end = if self.plan.is_empty() { self.end_ms } else { self.earliest_midnight(days.end) };
        // Partitions of warm-up days lead: their orders belong to an earlier range.
        let warm = self.first_day.clamp(days.start, days.end) - days.start;
        let warm_parts = warm as usize * self.scn.locations.len();
        let old_orders: usize = self.pending.iter().map(|p| p.orders.len()).sum::<usize>()
            + fresh.parts[..warm_parts.min(fresh.parts.len())].iter().map(|p| p.orders.len()).sum::<usize>();
        let mut parts = std::mem::take(&mut self.pending);
        parts.extend(fresh.parts);
        for part in &mut parts {
            let before = part.events.partition_point(|e| e.ts_ms < self.start_ms);
            part.events.drain(..before);
            let cut = part.events.partition_point(|e| e.ts_ms < end);
            if cut < part.events.len() && end < self.end_ms {
                let later = part.events.split_off(cut);
                self.pending.push(Simulation { orders: part.orders.clone(), lines: part.lines.clone(), events: later });
            }
            part.events.truncate(cut);
        }
        let new_orders = old_orders..parts.iter().map(|p| p.orders.len()).sum();
        let day_starts: Vec<i64> = (days.start + 1..days.end).map(|d| self.scn.calendar.utc_midnight_ms(d)).collect();
        Block { sim: super::merge(parts, &day_starts), new_orders }
    }

    /// The first instant of local day `day` at the location where it comes first.
    fn earliest_midnight(&self, day: u32) -> i64 {
        let date = self.scn.calendar.date(day);
        self.scn.locations.iter().map(|l| l.clock.day_start_ms(date)).min().unwrap_or(i64::MAX)
    }
}

/// Blocks of `days`: consecutive days whose expected orders add up to at
/// most [`BLOCK_ORDERS`] (at least one day each).
fn plan(scn: &KitchenScenario, days: Range<u32>) -> Vec<Range<u32>> {
    let c = &scn.calendar;
    let expected = |d: u32| -> f64 { scn.locations.iter().map(|l| l.volume.expected(d, c.weekday(d))).sum() };
    let mut blocks = Vec::new();
    let (mut start, mut orders) = (days.start, 0.0);
    for day in days.clone() {
        let o = expected(day);
        if day > start && orders + o > BLOCK_ORDERS {
            blocks.push(start..day);
            (start, orders) = (day, 0.0);
        }
        orders += o;
    }
    if start < days.end {
        blocks.push(start..days.end);
    }
    blocks
}
