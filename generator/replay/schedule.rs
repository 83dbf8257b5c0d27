//! Replay time: pure arithmetic from simulation time to positions and
//! offsets, and the clock it is driven by (injected, so tests can set `now`).
//!
//! - Simulation time is epoch milliseconds. The dataset spans
//!   `[start, end)` with `start = manifest.scenario.start_ms` and `end =
//!   max(manifest.scenario.end_ms, last event ts + 1)` (orders placed late on
//!   the last day are delivered after midnight).
//! - A *position* `P` is a simulation time: every event with `ts < P` is due.
//!   With `--loop` positions go past `end`: lap `k = (P - start) div L`,
//!   `L = end - start`, replays the dataset with every timestamp shifted by
//!   `k * L`. Without `--loop` positions are capped at `end`.
//! - A global *offset* counts events from the dataset's first event over all
//!   laps: event `i` (in `(ts, order id, sequence)` order, `0 <= i < N`) of
//!   lap `k` has offset `k * N + i`. Offsets name files and are what a
//!   checkpoint has emitted.
//! - First run: `P = epoch + start_day * 86_400_000 + time of day (UTC) of
//!   now or of --catch-up-to` (speed is ignored: historical catch-up), where
//!   `epoch` is UTC midnight of the dataset's start date. The day grid of
//!   the catch-up is UTC, whatever the locations' time zones.
//!   Later runs: `P = P_ckpt + (now - wall_ckpt) * speed` (elapsed wall time
//!   clamped at 0, the product floored to whole ms), capped at `end` unless
//!   looping. The events emitted are those with offsets `[emitted, offset(P))`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const DAY_MS: i64 = 86_400_000;

/// Wall-clock time, injectable.
pub trait Clock: Sync {
    /// Epoch milliseconds.
    fn now_ms(&self) -> i64;
    /// Sleeps until `until_ms` (returns at once if it is past).
    fn sleep_until(&self, until_ms: i64);
}

/// The real clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
    }

    fn sleep_until(&self, until_ms: i64) {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let until = Duration::from_millis(until_ms.max(0) as u64);
        if until > now {
            std::thread::sleep(until - now);
        }
    }
}

/// A dataset's extent in simulation time and events.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timeline {
    pub start_ms: i64,
    pub end_ms: i64,
    /// Events in one lap (N).
    pub events: u64,
    pub looping: bool,
}

impl Timeline {
    /// `manifest_end_ms` and the last event's ts give `end` (see the module doc).
    pub fn new(start_ms: i64, manifest_end_ms: i64, last_ts: Option<i64>, events: u64, looping: bool) -> Timeline {
        let end_ms = manifest_end_ms.max(last_ts.map_or(i64::MIN, |t| t + 1)).max(start_ms + 1);
        Timeline { start_ms, end_ms, events, looping }
    }

    /// L: the lap length, `end - start`.
    pub fn lap_ms(&self) -> i64 {
        self.end_ms - self.start_ms
    }

    /// Positions never exceed `end` unless looping.
    pub fn cap(&self, pos: i64) -> i64 {
        if self.looping {
            pos
        } else {
            pos.min(self.end_ms)
        }
    }

    /// The lap of a position and the position within that lap (`start <= t <= end`).
    /// A position before `start` is in lap 0.
    pub fn split(&self, pos: i64) -> (u64, i64) {
        if pos <= self.start_ms {
            return (0, pos);
        }
        let lap = (pos - self.start_ms) / self.lap_ms();
        (lap as u64, pos - lap * self.lap_ms())
    }

    /// The offset limit: no event at or past it exists (`N` without `--loop`).
    pub fn offset_limit(&self) -> u64 {
        if self.looping {
            u64::MAX
        } else {
            self.events
        }
    }

    /// Lap and in-lap index of a global offset.
    pub fn locate(&self, offset: u64) -> (u64, u64) {
        if self.events == 0 {
            return (0, 0);
        }
        (offset / self.events, offset % self.events)
    }
}

/// The first run's position: `epoch + start_day days + time_of_day`,
/// capped; `epoch` is UTC midnight of the dataset's start date.
pub fn first_position(tl: &Timeline, epoch_ms: i64, start_day: u32, time_of_day_ms: i64) -> i64 {
    tl.cap(epoch_ms + start_day as i64 * DAY_MS + time_of_day_ms)
}

/// The UTC time of day of an epoch-ms instant, in ms.
pub fn time_of_day_ms(epoch_ms: i64) -> i64 {
    epoch_ms.rem_euclid(DAY_MS)
}

/// A later run's position: the anchor advanced by the elapsed wall time
/// times `speed` (elapsed clamped at 0, product floored), capped.
pub fn advance(tl: &Timeline, anchor_pos: i64, anchor_wall_ms: i64, now_ms: i64, speed: f64) -> i64 {
    let elapsed = (now_ms - anchor_wall_ms).max(0) as f64;
    let step = (elapsed * speed).floor();
    let step = if step >= i64::MAX as f64 / 2.0 { i64::MAX / 2 } else { step as i64 };
    tl.cap(anchor_pos.saturating_add(step))
}

/// The wall-clock moment an event at simulation time `ts` is due, given the
/// anchor `(anchor_pos, anchor_wall)`: `anchor_wall + (ts - anchor_pos) / speed`, rounded up.
pub fn due_wall_ms(anchor_pos: i64, anchor_wall_ms: i64, ts: i64, speed: f64) -> i64 {
    let d = ((ts - anchor_pos) as f64 / speed).ceil();
    anchor_wall_ms.saturating_add(d.clamp(-1e15, 1e15) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const START: i64 = 1_704_067_200_000; // 2024-01-01
    fn tl(looping: bool) -> Timeline {
        Timeline::new(START, START + 90 * DAY_MS, Some(START + 90 * DAY_MS + 2_462_365), 1_000, looping)
    }

    #[test]
    fn end_covers_the_last_event() {
        let t = tl(false);
        assert_eq!(t.end_ms, START + 90 * DAY_MS + 2_462_366);
        let t2 = Timeline::new(START, START + 2 * DAY_MS, Some(START + DAY_MS), 10, false);
        assert_eq!(t2.end_ms, START + 2 * DAY_MS);
    }

    #[test]
    fn first_run_uses_the_time_of_day() {
        let t = tl(false);
        // --catch-up-to 2031-05-06T13:45:10.250Z on start day 70.
        let now = chrono::DateTime::parse_from_rfc3339("2031-05-06T13:45:10.250Z").unwrap().timestamp_millis();
        let tod = time_of_day_ms(now);
        assert_eq!(tod, ((13 * 60 + 45) * 60 + 10) * 1000 + 250);
        assert_eq!(first_position(&t, START, 70, tod), START + 70 * DAY_MS + tod);
        // Offsets are UTC: +02:00 is the same instant.
        let other = chrono::DateTime::parse_from_rfc3339("2031-05-06T15:45:10.250+02:00").unwrap().timestamp_millis();
        assert_eq!(time_of_day_ms(other), tod);
    }

    #[test]
    fn later_runs_advance_by_elapsed_times_speed() {
        let t = tl(false);
        let p0 = START + 70 * DAY_MS;
        let w0 = 1_900_000_000_000;
        assert_eq!(advance(&t, p0, w0, w0 + 10_000, 60.0), p0 + 600_000);
        assert_eq!(advance(&t, p0, w0, w0 + 10_000, 1.0), p0 + 10_000);
        assert_eq!(advance(&t, p0, w0, w0 + 3, 0.5), p0 + 1); // floored
                                                              // A clock that went backwards does not move the position back.
        assert_eq!(advance(&t, p0, w0, w0 - 5_000, 60.0), p0);
        // Capped at the end without --loop...
        assert_eq!(advance(&t, p0, w0, w0 + 1_000_000, 86_400.0), t.end_ms);
        // ...not with it.
        let l = tl(true);
        assert_eq!(advance(&l, p0, w0, w0 + 1_000_000, 86_400.0), p0 + 86_400_000_000);
    }

    #[test]
    fn two_runs_equal_one_run_with_the_sum() {
        let t = tl(false);
        let (p0, w0) = (START + 3 * DAY_MS, 1_000_000);
        for speed in [1.0, 60.0, 3600.0, 2.5] {
            let p1 = advance(&t, p0, w0, w0 + 7_000, speed);
            let p2 = advance(&t, p1, w0 + 7_000, w0 + 19_000, speed);
            assert_eq!(p2, advance(&t, p0, w0, w0 + 19_000, speed));
        }
    }

    #[test]
    fn laps_and_offsets() {
        let l = tl(true);
        let lap = l.lap_ms();
        assert_eq!(l.split(START), (0, START));
        assert_eq!(l.split(START + lap - 1), (0, START + lap - 1));
        assert_eq!(l.split(START + lap), (1, START));
        assert_eq!(l.split(START + 3 * lap + 5), (3, START + 5));
        assert_eq!(l.locate(2_345), (2, 345));
        assert_eq!(tl(false).offset_limit(), 1_000);
        assert_eq!(l.offset_limit(), u64::MAX);
    }

    #[test]
    fn due_times() {
        let (p0, w0) = (START, 5_000);
        assert_eq!(due_wall_ms(p0, w0, START + 60_000, 60.0), 6_000);
        assert_eq!(due_wall_ms(p0, w0, START + 61, 60.0), 5_002);
        assert_eq!(due_wall_ms(p0, w0, START - 600, 60.0), 4_990);
    }
}
