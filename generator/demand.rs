//! Demand: when orders arrive. For one (location, day) partition it draws the
//! day's target (growth, weekday, noise), Poisson counts per minute from the
//! intraday profile read on the location's local clock, and a uniform second
//! within each minute. The entry point is [`arrivals`]; [`interval_arrivals`]
//! is the other arrival process (one after another, gaps from a
//! distribution). The curves themselves are `model::curve`, the clock
//! `model::clock`.

use rand::Rng;

use crate::model::calendar::Calendar;
use crate::model::clock::LocalClock;
use crate::model::curve::{arrivals_per_minute, DailyVolume};
use crate::model::dist::Dist;
use crate::seed::{stream, Purpose};

/// What shapes one location's demand.
pub struct Demand<'a> {
    pub volume: &'a DailyVolume,
    pub clock: &'a LocalClock,
    /// 1440 weights, one per local minute of the day.
    pub profile: &'a [f64],
    /// The day's own multiplier of its target (a dated anomaly; 1 otherwise).
    pub multiplier: f64,
}

/// Arrival timestamps (epoch ms) of one partition, ascending: all within
/// the local day `day`.
pub fn arrivals(seed: u64, location: u32, day: u32, calendar: &Calendar, demand: &Demand) -> Vec<i64> {
    let target = demand.volume.target(
        day,
        calendar.weekday(day),
        &mut stream(seed, location as u64, day as u64, Purpose::DailyNoise),
    ) as f64
        * demand.multiplier;
    let mut rng = stream(seed, location as u64, day as u64, Purpose::Arrivals);
    let local = demand.clock.day(calendar.date(day));
    let weights = demand.clock.minute_weights(&local, demand.profile);
    let day_start = local.start_ms;
    let mut out = Vec::with_capacity(target as usize + 64);
    let mut counts = Vec::new();
    arrivals_per_minute(target, &weights, &mut rng, |minute, n| counts.push((minute, n)));
    for (minute, n) in counts {
        for _ in 0..n {
            let second: i64 = rng.random_range(0..60);
            out.push(day_start + minute as i64 * 60_000 + second * 1000);
        }
    }
    out.sort_unstable();
    out
}

/// Arrivals one after another instead of a daily target.
pub struct Interval<'a> {
    pub clock: &'a LocalClock,
    /// 1440 local minute weights: arrivals only where > 0 (the opening hours).
    pub open_profile: &'a [f64],
    /// Seconds from one arrival to the next.
    pub interval_s: &'a Dist,
    /// The day's multiplier of the rate (it divides the gaps).
    pub multiplier: f64,
}

/// Arrivals one after another (epoch ms, ascending): from the start of each
/// open stretch of the local day `day` (real minutes whose weight is > 0),
/// gaps of `interval_s` seconds divided by the day's multiplier, until the
/// stretch ends. A multiplier of 0 gives none.
pub fn interval_arrivals(seed: u64, location: u32, day: u32, calendar: &Calendar, process: &Interval) -> Vec<i64> {
    let Interval { clock, open_profile, interval_s, multiplier } = *process;
    let mut out = Vec::new();
    if !(multiplier > 0.0) {
        return out;
    }
    let mut rng = stream(seed, location as u64, day as u64, Purpose::Arrivals);
    let local = clock.day(calendar.date(day));
    let weights = clock.minute_weights(&local, open_profile);
    let mut m = 0;
    while m < weights.len() {
        let open = weights[m..].iter().take_while(|w| **w > 0.0).count();
        if open == 0 {
            m += 1;
            continue;
        }
        let end_ms = (local.start_ms + ((m + open) as i64) * 60_000) as f64;
        let mut t = (local.start_ms + m as i64 * 60_000) as f64;
        loop {
            t += interval_s.sample(&mut rng) * 1000.0 / multiplier;
            if t >= end_ms {
                break;
            }
            out.push(t.round() as i64);
        }
        m += open;
    }
    out
}
