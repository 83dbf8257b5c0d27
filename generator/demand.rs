//! Demand: when orders arrive. For one (location, day) partition it draws the
//! day's target (growth, weekday, noise), Poisson counts per minute from the
//! intraday profile read on the location's local clock, and a uniform second
//! within each minute. The entry point is [`arrivals`]; the curves themselves
//! are `model::curve`, the clock `model::clock`.

use rand::Rng;

use crate::model::calendar::Calendar;
use crate::model::clock::LocalClock;
use crate::model::curve::{arrivals_per_minute, DailyVolume};
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
