//! Merging the simulation's partitions into one event table. Every partition
//! arrives sorted by [`event_order`]; the time axis is cut into slabs (day
//! starts), and each slab merges, straight into its place in the table, the
//! pieces of the partitions that fall in it: a handful of runs (that day's
//! partitions and the previous day's late deliveries). Slabs are merged in
//! parallel. This does the work of concatenation (one copy, indices rebased)
//! and of a global sort at once, without the sort's sequential first pass.

use std::mem::MaybeUninit;

use rayon::prelude::*;

use crate::lifecycles::{event_key, Event, EventKey, Order, Simulation};

/// Concatenates partitions in order (order and line indices rebased) and
/// merges their events, each partition sorted by [`event_order`], into one
/// table in that order. `cuts`, ascending timestamps, only split the work:
/// any cuts give the same result.
///
/// [`event_order`]: crate::lifecycles::event_order
pub fn merge(parts: Vec<Simulation>, cuts: &[i64]) -> Simulation {
    let n_events = parts.iter().map(|p| p.events.len()).sum();
    let (mut n_orders, mut n_lines) = (0, 0);
    let mut order_bases = Vec::with_capacity(parts.len());
    for p in &parts {
        order_bases.push(n_orders as u32);
        (n_orders, n_lines) = (n_orders + p.orders.len(), n_lines + p.lines.len());
    }
    let mut events = Vec::with_capacity(n_events);
    let ((orders, lines), ()) = rayon::join(
        || {
            let (mut orders, mut lines) = (Vec::with_capacity(n_orders), Vec::with_capacity(n_lines));
            for p in &parts {
                let base = lines.len() as u32;
                orders.extend(p.orders.iter().map(|o| Order { lines: (o.lines.0 + base, o.lines.1 + base), ..*o }));
                lines.extend_from_slice(&p.lines);
            }
            (orders, lines)
        },
        || merge_events(&parts, &order_bases, cuts, &mut events.spare_capacity_mut()[..n_events]),
    );
    // SAFETY: `merge_events` writes every one of the first `n_events` slots.
    unsafe { events.set_len(n_events) };
    Simulation { orders, lines, events }
}

/// Fills `out` (exactly as long as all partitions' events together) with
/// the merged events.
fn merge_events(parts: &[Simulation], order_bases: &[u32], cuts: &[i64], out: &mut [MaybeUninit<Event>]) {
    // Where each partition crosses each cut: slab `s` of partition `p` is
    // `bounds[p][s]..bounds[p][s + 1]`.
    let bounds: Vec<Vec<usize>> = parts
        .iter()
        .map(|p| {
            let inner = cuts.iter().map(|&c| p.events.partition_point(|e| e.ts_ms < c));
            std::iter::once(0).chain(inner).chain(std::iter::once(p.events.len())).collect()
        })
        .collect();
    let mut slabs = Vec::with_capacity(cuts.len() + 1);
    let mut rest = out;
    for s in 0..=cuts.len() {
        let len = bounds.iter().map(|b| b[s + 1] - b[s]).sum();
        let (slab, tail) = rest.split_at_mut(len);
        slabs.push(slab);
        rest = tail;
    }
    assert!(rest.is_empty(), "the output holds exactly the partitions' events");
    slabs.into_par_iter().enumerate().for_each(|(s, slab)| {
        let runs = parts
            .iter()
            .zip(order_bases)
            .zip(&bounds)
            .filter(|(_, b)| b[s] < b[s + 1])
            .map(|((p, &base), b)| Run { events: &p.events[b[s]..b[s + 1]], orders: &p.orders, base })
            .collect();
        merge_runs(runs, slab);
    });
}

/// A non-empty sorted run of one partition's events.
struct Run<'a> {
    events: &'a [Event],
    /// The partition's orders, which the events index.
    orders: &'a [Order],
    /// Where the partition's orders start in the merged table.
    base: u32,
}

impl Run<'_> {
    fn head(&self) -> EventKey {
        event_key(self.orders, &self.events[0])
    }
}

/// Merges `runs` into `out`, which is exactly as long as they are together.
/// Runs are few (about eight), so the next event is found by a scan of the
/// heads' times, which compiles without branches; only equal times (rare)
/// need the full keys. Keys are unique, so the order the runs are kept in
/// does not matter.
fn merge_runs(mut runs: Vec<Run>, out: &mut [MaybeUninit<Event>]) {
    let mut times: Vec<i64> = runs.iter().map(|r| r.events[0].ts_ms).collect();
    for slot in out {
        let mut next = 0;
        for (i, &t) in times.iter().enumerate().skip(1) {
            next = if t < times[next] { i } else { next };
        }
        let first = times[next];
        if times.iter().filter(|&&t| t == first).count() > 1 {
            next = (0..runs.len()).filter(|&i| times[i] == first).min_by_key(|&i| runs[i].head()).expect("a tie");
        }
        let run = &mut runs[next];
        let e = run.events[0];
        slot.write(Event { order: e.order + run.base, ..e });
        run.events = &run.events[1..];
        match run.events.first() {
            Some(e) => times[next] = e.ts_ms,
            None => {
                runs.swap_remove(next);
                times.swap_remove(next);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::seq::SliceRandom;
    use rand::Rng;

    use super::merge;
    use crate::lifecycles::tests::order;
    use crate::lifecycles::{event_order, Event, Line, Order, Simulation};
    use crate::seed::{stream, Purpose};

    /// Partitions that overlap in time, with shared timestamps across orders
    /// (so ties are broken by order id, then sequence) and shuffled ids.
    fn partitions(seed: u64) -> Vec<Simulation> {
        let mut rng = stream(seed, 0, 0, Purpose::Lifecycle);
        let mut ids: Vec<u32> = (0..400).collect();
        ids.shuffle(&mut rng);
        let mut next_id = ids.into_iter();
        (0..12)
            .map(|p| {
                let mut part = Simulation::default();
                for o in 0..rng.random_range(0..9) {
                    let id = *format!("{:06}", next_id.next().unwrap()).as_bytes().first_chunk().unwrap();
                    let lines = (part.lines.len() as u32, part.lines.len() as u32 + 2);
                    part.lines.extend([Line { item: o, qty: 1 }, Line { item: o + 1, qty: 2 }]);
                    part.orders.push(order(id, lines));
                    for seq in 1..=rng.random_range(1..6u16) {
                        let ts = p as i64 * 100 + rng.random_range(0..250) / 5 * 5;
                        let e = Event {
                            ts_ms: ts,
                            order: o as u32,
                            sequence: seq,
                            kind: 1,
                            lat: 0.0,
                            lon: 0.0,
                            progress_pct: 0.0,
                        };
                        part.events.push(e);
                    }
                }
                let Simulation { events, orders, .. } = &mut part;
                events.sort_unstable_by(|a, b| event_order(orders, a, b));
                part
            })
            .collect()
    }

    /// What `merge` replaces: concatenate, rebase, sort.
    fn concat_and_sort(parts: &[Simulation]) -> Simulation {
        let mut all = Simulation::default();
        for p in parts {
            let (order_base, line_base) = (all.orders.len() as u32, all.lines.len() as u32);
            all.events.extend(p.events.iter().map(|e| Event { order: e.order + order_base, ..*e }));
            all.orders
                .extend(p.orders.iter().map(|o| Order { lines: (o.lines.0 + line_base, o.lines.1 + line_base), ..*o }));
            all.lines.extend_from_slice(&p.lines);
        }
        let Simulation { events, orders, .. } = &mut all;
        events.sort_by(|a, b| event_order(orders, a, b));
        all
    }

    /// Events (ts, order, sequence), orders (id, lines) and lines (item, qty).
    type Fields = (Vec<(i64, u32, u16)>, Vec<([u8; 6], (u32, u32))>, Vec<(u16, u8)>);

    fn fields(s: &Simulation) -> Fields {
        (
            s.events.iter().map(|e| (e.ts_ms, e.order, e.sequence)).collect(),
            s.orders.iter().map(|o| (o.id, o.lines)).collect(),
            s.lines.iter().map(|l| (l.item, l.qty)).collect(),
        )
    }

    #[test]
    fn merging_sorted_partitions_equals_concatenating_and_sorting() {
        for seed in 0..20 {
            let parts = partitions(seed);
            let want = fields(&concat_and_sort(&parts));
            assert!(want.0.len() > 50, "seed {seed}: a meaningful test has events");
            for cuts in [vec![], vec![-5], vec![0, 100, 200, 300, 1000, 5000], vec![150, 151, 152, 700]] {
                let got = fields(&merge(partitions(seed), &cuts));
                assert_eq!(got, want, "seed {seed}, cuts {cuts:?}");
            }
        }
    }
}
