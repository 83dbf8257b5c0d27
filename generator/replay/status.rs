//! Status on stderr (nothing with `--quiet`): the simulation position, events
//! emitted and how far releases lag behind their schedule, at most about one
//! line per second, and one summary line at the end.

use crate::figures::grouped;
use std::io::Write;

use super::numfmt::ts_string;
use super::schedule::{Timeline, DAY_MS};

pub struct Status {
    quiet: bool,
    tl: Timeline,
    last_ms: Option<i64>,
    last_emitted: u64,
    /// The largest lag (ms) seen since the last line.
    pub max_lag_ms: i64,
}

impl Status {
    pub const INTERVAL_MS: i64 = 1_000;

    pub fn new(quiet: bool, tl: Timeline) -> Status {
        Status { quiet, tl, last_ms: None, last_emitted: 0, max_lag_ms: 0 }
    }

    /// `2024-03-11 19:01:49 (day 70, lap 0)`.
    pub fn position(&self, pos: i64) -> String {
        let (lap, t) = self.tl.split(pos);
        let day = (t - self.tl.start_ms).div_euclid(DAY_MS);
        let text = ts_string(pos);
        format!("{} (day {day}, lap {lap})", &text[..19])
    }

    fn line(&self, text: &str) {
        if !self.quiet {
            let _ = writeln!(std::io::stderr().lock(), "replay: {text}");
        }
    }

    /// Starts the periodic lines: the first comes one interval after `now_ms`.
    pub fn start(&mut self, now_ms: i64, emitted: u64) {
        self.last_ms = Some(now_ms);
        self.last_emitted = emitted;
        self.max_lag_ms = 0;
    }

    /// When the next periodic line is due.
    pub fn next_due_ms(&self, now_ms: i64) -> i64 {
        self.last_ms.map_or(now_ms, |t| t + Self::INTERVAL_MS)
    }

    /// A periodic line, if one is due.
    pub fn tick(&mut self, now_ms: i64, pos: i64, emitted: u64) {
        if let Some(t) = self.last_ms {
            if now_ms - t < Self::INTERVAL_MS {
                return;
            }
        }
        let rate = emitted.saturating_sub(self.last_emitted);
        let per = self.last_ms.map(|t| (now_ms - t).max(1)).unwrap_or(Self::INTERVAL_MS);
        let per_s = rate as f64 * 1000.0 / per as f64;
        self.line(&format!(
            "sim {} | {} events emitted ({:.0}/s) | lag {} ms",
            self.position(pos),
            grouped(emitted),
            per_s,
            self.max_lag_ms
        ));
        self.last_ms = Some(now_ms);
        self.last_emitted = emitted;
        self.max_lag_ms = 0;
    }

    /// Any one-off line.
    pub fn note(&self, text: &str) {
        self.line(text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_000), "1,000");
        assert_eq!(grouped(1_020_818), "1,020,818");
    }

    #[test]
    fn describes_positions() {
        let start = 1_704_067_200_000;
        let s = Status::new(true, Timeline::new(start, start + 10 * DAY_MS, None, 5, true));
        assert_eq!(s.position(start + 3 * DAY_MS + 61_000), "2024-01-04 00:01:01 (day 3, lap 0)");
        assert_eq!(s.position(start + 12 * DAY_MS), "2024-01-13 00:00:00 (day 2, lap 1)");
    }
}
