//! `simkit preview SCENARIO`: what a scenario will make, before anything is
//! generated. The expected totals (before noise) per location or entity,
//! and the curves the scenario defines drawn as terminal sparklines: daily
//! volume with growth, weekday factors and anomalies, the local intraday
//! profile, brand weights over time, opening hours. Computed from the
//! validated scenario alone (no roads, no simulation), so it answers at once.

use std::fmt::Write as _;

use crate::figures::grouped;
use crate::kinds::clickstream::ClickstreamScenario;
use crate::kinds::retail::RetailScenario;
use crate::kinds::weather::WeatherScenario;
use crate::kinds::Model;
use crate::scenario::KitchenScenario;

/// Columns of a sparkline.
const WIDTH: usize = 60;
const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// `values` resampled to at most `WIDTH` columns (each the mean of its
/// share) and drawn from zero to their largest.
pub fn sparkline(values: &[f64]) -> String {
    let n = values.len();
    let cols = n.min(WIDTH);
    let mean = |c: usize| {
        let (a, b) = (c * n / cols, ((c + 1) * n / cols).max(c * n / cols + 1));
        values[a..b.min(n)].iter().sum::<f64>() / (b.min(n) - a) as f64
    };
    let col: Vec<f64> = (0..cols).map(mean).collect();
    let top = col.iter().copied().fold(0.0, f64::max);
    col.iter()
        .map(|&v| if top <= 0.0 || v <= 0.0 { ' ' } else { BARS[((v / top * 8.0).ceil() as usize).clamp(1, 8) - 1] })
        .collect()
}

/// A labelled sparkline with its range.
fn curve(out: &mut String, label: &str, values: &[f64], unit: &str) {
    let (lo, hi) = values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    let _ = writeln!(out, "  {label:<18} {}  {} .. {} {unit}", sparkline(values), short(lo), short(hi));
}

fn short(v: f64) -> String {
    if !v.is_finite() {
        "-".into()
    } else if v.abs() >= 100.0 || v.fract() == 0.0 {
        grouped(v.abs().round() as u64).to_string()
    } else {
        format!("{v:.2}")
    }
}

/// A short run of the scenario (its first `days` days, in a temporary
/// folder) and the first `n` records of each of its streams, as replay
/// emits them.
pub fn sample(opts: &crate::generate::Options, days: u32, n: usize) -> crate::error::Result<String> {
    let tmp =
        tempfile::tempdir().map_err(|e| crate::error::Error(format!("a temporary folder for the sample: {e}")))?;
    let mut opts = opts.clone();
    opts.out = Some(tmp.path().join("sample"));
    opts.quiet = true;
    opts.days = Some(days);
    let run = crate::generate::run(&opts)?;
    let mut out = format!(
        "\nsample: the first {n} records of each stream of its first {days} day(s), as `simkit replay` emits them\n"
    );
    for (stream, records) in crate::replay::sample::first_records(&run.out, n)? {
        let _ = writeln!(out, " {stream}");
        records.iter().for_each(|r| {
            let _ = writeln!(out, "  {r}");
        });
    }
    Ok(out)
}

pub fn preview(model: &Model) -> String {
    match model {
        Model::GhostKitchen(k) => kitchen(k),
        Model::Retail(r) => retail(r),
        Model::Weather(w) => weather(w),
        Model::Clickstream(c) => clickstream(c),
    }
}

fn kitchen(s: &KitchenScenario) -> String {
    let c = &s.calendar;
    let mut out = format!("{} (ghost_kitchen): {} days from {}\n", s.name, c.days, c.start);
    let days: Vec<Vec<f64>> =
        s.locations.iter().map(|l| (0..c.days).map(|d| l.volume.expected(d, c.weekday(d))).collect()).collect();
    let _ = writeln!(
        out,
        "\nexpected orders (before noise)\n  {:<18} {:>10} {:>10} {:>10}",
        "location", "total", "day 0", "last day"
    );
    for (l, d) in s.locations.iter().zip(&days) {
        let total: f64 = d.iter().sum();
        let (first, last) = (d.first().copied().unwrap_or(0.0), d.last().copied().unwrap_or(0.0));
        let _ = writeln!(out, "  {:<18} {:>10} {:>10} {:>10}", l.name, short(total), short(first), short(last));
    }
    let _ = writeln!(out, "  {:<18} {:>10}", "all", short(days.iter().flatten().sum()));
    out.push_str("\norders per day (growth and weekday factors)\n");
    for (l, d) in s.locations.iter().zip(&days) {
        curve(&mut out, &l.name, d, "orders");
    }
    out.push_str("\nintraday profile, each location's local time 00:00 .. 24:00\n");
    for l in &s.locations {
        curve(&mut out, &l.name, &l.minute_weights, l.clock.name());
    }
    out.push_str("\nbrand shares of each location's weight, day 0 .. last day\n");
    for l in &s.locations {
        let _ = writeln!(out, " {}", l.name);
        let weights: Vec<Vec<(i8, f64)>> = (0..c.days).map(|d| s.active_brands(l.id, d)).collect();
        let mut brands: Vec<i8> = weights.iter().flatten().map(|w| w.0).collect();
        brands.sort_unstable();
        brands.dedup();
        for b in brands {
            let share: Vec<f64> = weights
                .iter()
                .map(|day| {
                    let total: f64 = day.iter().map(|w| w.1).sum();
                    day.iter().find(|w| w.0 == b).map_or(0.0, |w| w.1 / total.max(1e-12) * 100.0)
                })
                .collect();
            let name = s
                .brands
                .iter()
                .find(|r| r.brand_id == b as i64)
                .map_or_else(|| format!("brand {b}"), |r| r.name.clone());
            curve(&mut out, &name, &share, "%");
        }
    }
    out
}

fn retail(s: &RetailScenario) -> String {
    let c = &s.calendar;
    let mut out = format!("{} (retail): one shop ({}), {} days from {}\n", s.name, s.clock.name(), c.days, c.start);
    let per_day: Vec<f64> = (0..c.days).map(|d| s.expected_transactions(d)).collect();
    let _ = writeln!(out, "\nexpected transactions (before noise): {}", short(per_day.iter().sum()));
    out.push_str("\ntransactions per day (growth, weekdays, anomalies)\n");
    curve(&mut out, "transactions", &per_day, "a day");
    let anomalies: Vec<String> = (0..c.days)
        .filter(|&d| s.day_multipliers.get(d as usize).is_some_and(|m| *m != 1.0))
        .map(|d| format!("day {d} x{}", s.day_multipliers[d as usize]))
        .collect();
    if !anomalies.is_empty() {
        let _ = writeln!(out, "  anomalies: {}", anomalies.join(", "));
    }
    out.push_str("\nintraday profile within opening hours, local time 00:00 .. 24:00\n");
    for (w, name) in ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].iter().enumerate() {
        curve(&mut out, name, &s.hours.mask(w, &s.profile), "(weight)");
    }
    let _ = writeln!(
        out,
        "\n{} products; restock {} units below {}",
        s.products.len(),
        s.restock_quantity,
        s.restock_threshold
    );
    out
}

fn weather(s: &WeatherScenario) -> String {
    let c = &s.calendar;
    let reports = c.days as u64 * s.stations as u64;
    let mut out = format!(
        "{} (weather): {} stations x {} days from {} = {} reports\n",
        s.name,
        s.stations,
        c.days,
        c.start,
        grouped(reports)
    );
    out.push_str("\nby month, January .. December\n");
    curve(&mut out, "mean temperature", &s.monthly_means, "°F");
    curve(&mut out, "rain starts", &s.rain_start, "(share of days)");
    let _ = writeln!(out, "  no rain below {} °F", s.min_rain_temp);
    out
}

fn clickstream(s: &ClickstreamScenario) -> String {
    let c = &s.calendar;
    let mut out =
        format!("{} (clickstream): {} users, {} ads, {} days from {}\n", s.name, s.users, s.ads, c.days, c.start);
    let sessions: Vec<f64> = (0..c.days).map(|d| s.sessions.expected(d, c.weekday(d))).collect();
    let impressions: Vec<f64> = (0..c.days).map(|d| s.impressions.expected(d, c.weekday(d))).collect();
    let _ = writeln!(
        out,
        "\nexpected (before noise): {} sessions, {} impressions, {} clicks",
        short(sessions.iter().sum()),
        short(impressions.iter().sum()),
        short(impressions.iter().sum::<f64>() * s.click_rate)
    );
    out.push_str("\nper day\n");
    curve(&mut out, "sessions", &sessions, "a day");
    curve(&mut out, "impressions", &impressions, "a day");
    out.push_str("\nintraday profile, UTC 00:00 .. 24:00\n");
    curve(&mut out, "sessions", &s.profile, "(weight)");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparklines_rise_with_their_values_and_fit_the_width() {
        assert_eq!(sparkline(&[0.0, 1.0, 2.0, 4.0, 8.0]), " ▁▂▄█");
        assert_eq!(sparkline(&vec![1.0; 1440]).chars().count(), WIDTH);
        assert_eq!(sparkline(&[]), "");
        let peak: Vec<f64> = (0..1440).map(|m| if (720..780).contains(&m) { 5.0 } else { 1.0 }).collect();
        let drawn: Vec<char> = sparkline(&peak).chars().collect();
        assert_eq!(drawn[30], '█', "noon is the peak");
        assert_eq!(drawn[0], '▂');
    }
}
