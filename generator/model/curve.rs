//! Demand curves: how many arrivals a day should have, and how they spread
//! over the day's 1440 minutes.
//!
//! The daily target is `base * (1 + growth)^day * weekday multiplier * noise`,
//! truncated; the intraday profile starts at weight 1.0 per minute and each
//! peak adds `(multiplier - 1) * shape(x)` over its window, with `x` the
//! position in the window (0..1). Arrivals per minute are Poisson with mean
//! `target * w(minute) / sum(w)`.

use rand::Rng;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::dist::{poisson_count, Dist};

pub const MINUTES_PER_DAY: usize = 1440;

/// How a peak rises and falls within its window.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PeakShape {
    /// `sin^2(pi * x)`: zero at the edges, full height in the middle.
    Sin2,
    /// Constant over the window.
    Flat,
}

/// A demand peak over `[start, end)` minutes of the day.
#[derive(Clone, Debug, PartialEq)]
pub struct Peak {
    pub start_min: u32,
    pub end_min: u32,
    pub multiplier: f64,
    pub shape: PeakShape,
}

/// Parses "HH:MM" (00:00 ..= 24:00) into minutes of the day.
pub fn parse_clock(s: &str) -> Result<u32, String> {
    let bad = || format!("expected a time of day \"HH:MM\" between 00:00 and 24:00, found \"{s}\"");
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if m >= 60 || h * 60 + m > 1440 {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

/// The 1440 per-minute weights of a profile.
pub fn minute_weights(peaks: &[Peak]) -> Vec<f64> {
    let mut w = vec![1.0; MINUTES_PER_DAY];
    for p in peaks {
        let span = (p.end_min - p.start_min) as f64;
        for m in p.start_min..p.end_min.min(MINUTES_PER_DAY as u32) {
            let x = (m - p.start_min) as f64 / span;
            let shape = match p.shape {
                PeakShape::Sin2 => (std::f64::consts::PI * x).sin().powi(2),
                PeakShape::Flat => 1.0,
            };
            w[m as usize] += (p.multiplier - 1.0) * shape;
        }
    }
    w
}

/// A day's expected volume and its growth.
#[derive(Clone, Debug)]
pub struct DailyVolume {
    pub base: f64,
    pub daily_growth: f64,
    /// Monday..Sunday multipliers, or `None` where the weekday pattern does not apply.
    pub weekday: Option<[f64; 7]>,
    pub noise: Dist,
}

impl DailyVolume {
    /// The expected (pre-noise) volume of a day.
    pub fn expected(&self, day: u32, weekday: usize) -> f64 {
        if self.base == 0.0 {
            return 0.0; // however the growth compounds
        }
        let w = self.weekday.map_or(1.0, |m| m[weekday]);
        self.base * (1.0 + self.daily_growth).powi(day as i32) * w
    }

    /// The most a day's target can be: the expected volume times the
    /// largest noise draw.
    pub fn upper_bound(&self, day: u32, weekday: usize) -> f64 {
        self.expected(day, weekday) * self.noise.bounds().1
    }

    /// The day's target: expected volume times one noise draw, truncated.
    pub fn target<R: Rng + ?Sized>(&self, day: u32, weekday: usize, rng: &mut R) -> u64 {
        (self.expected(day, weekday) * self.noise.sample(rng)).max(0.0) as u64
    }
}

/// Arrival counts per minute for a day with `target` expected arrivals.
/// Calls `emit(minute, count)` for each minute with at least one arrival.
pub fn arrivals_per_minute<R: Rng + ?Sized>(target: f64, weights: &[f64], rng: &mut R, mut emit: impl FnMut(u32, u64)) {
    let total: f64 = weights.iter().sum();
    for (minute, w) in weights.iter().enumerate() {
        let n = poisson_count(target * w / total, rng);
        if n > 0 {
            emit(minute as u32, n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::dist::DistSpec;
    use crate::seed::{stream, Purpose};

    fn lunch_dinner() -> Vec<Peak> {
        vec![
            Peak { start_min: 660, end_min: 810, multiplier: 3.0, shape: PeakShape::Sin2 },
            Peak { start_min: 1020, end_min: 1200, multiplier: 3.5, shape: PeakShape::Sin2 },
        ]
    }

    #[test]
    fn clock_parsing() {
        assert_eq!(parse_clock("11:00"), Ok(660));
        assert_eq!(parse_clock("24:00"), Ok(1440));
        assert!(parse_clock("24:01").is_err() && parse_clock("7:00").is_err() && parse_clock("10:60").is_err());
    }

    #[test]
    fn sin2_peaks_shape_the_minute_weights() {
        let w = minute_weights(&lunch_dinner());
        assert_eq!(w.len(), 1440);
        assert_eq!(w[0], 1.0);
        assert_eq!(w[660], 1.0); // sin^2(0) at the window start
        assert!((w[735] - 3.0).abs() < 1e-12); // mid-lunch reaches the multiplier
        assert!((w[1110] - 3.5).abs() < 1e-12); // mid-dinner
        assert_eq!(w[810], 1.0); // window end is exclusive
                                 // Integral of sin^2 over a window is half its length: 150 * 2 / 2 + 180 * 2.5 / 2.
        let extra: f64 = w.iter().map(|x| x - 1.0).sum();
        assert!((extra - (150.0 + 225.0)).abs() < 1e-6, "extra {extra}");
    }

    #[test]
    fn late_night_flat_and_sin2() {
        let mut peaks = lunch_dinner();
        peaks.push(Peak { start_min: 1260, end_min: 1440, multiplier: 2.0, shape: PeakShape::Sin2 });
        peaks.push(Peak { start_min: 0, end_min: 60, multiplier: 2.0, shape: PeakShape::Flat });
        let w = minute_weights(&peaks);
        assert_eq!(w[0], 2.0);
        assert_eq!(w[59], 2.0);
        assert_eq!(w[60], 1.0);
        assert!((w[1350] - 2.0).abs() < 1e-12);
    }

    #[test]
    fn poisson_arrivals_sum_to_the_target() {
        let w = minute_weights(&lunch_dinner());
        let mut rng = stream(1, 0, 0, Purpose::Arrivals);
        let (mut total, mut lunch) = (0u64, 0u64);
        for _ in 0..200 {
            arrivals_per_minute(500.0, &w, &mut rng, |m, n| {
                total += n;
                if (660..810).contains(&m) {
                    lunch += n;
                }
            });
        }
        let mean = total as f64 / 200.0;
        assert!((mean - 500.0).abs() < 5.0, "mean {mean}");
        let share = lunch as f64 / total as f64;
        let expected = (150.0 + 150.0) / w.iter().sum::<f64>();
        assert!((share - expected).abs() < 0.01, "lunch share {share} vs {expected}");
    }

    #[test]
    fn daily_target_growth_weekday_noise() {
        let noise = DistSpec::Uniform { min: 0.9, max: 1.1 }.compile().unwrap();
        let v = DailyVolume {
            base: 150.0,
            daily_growth: 0.0065,
            weekday: Some([1.0, 1.05, 1.08, 1.1, 1.25, 1.35, 1.15]),
            noise,
        };
        assert!((v.expected(0, 0) - 150.0).abs() < 1e-9);
        assert!((v.expected(89, 5) - 150.0 * 1.0065f64.powi(89) * 1.35).abs() < 1e-9);
        let mut rng = stream(1, 0, 0, Purpose::DailyNoise);
        for _ in 0..1000 {
            let t = v.target(10, 5, &mut rng) as f64;
            let e = v.expected(10, 5);
            assert!(t >= (e * 0.9).floor() && t <= e * 1.1);
        }
        let flat = DailyVolume { weekday: None, ..v };
        assert_eq!(flat.expected(0, 5), 150.0);
    }
}
