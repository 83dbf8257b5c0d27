//! The weather model, no I/O. Each station draws its parameters once (its
//! own stream) and then runs day by day on its own daily stream, so a
//! station's series never depends on the other stations, the thread count
//! or the number of days (`--days N` is a prefix of a longer run).
//!
//! Day `d` of station `s`, month `m` of its date:
//! - `temp = persistence * yesterday + (1 - persistence) * mean[s][m] + noise`,
//!   yesterday being `mean[s][month of day 0]` before day 0;
//! - one step of the station's two-state chain for month `m`
//!   (`model::markov`: dry turns rainy with `start[s][m]`, rain stops with
//!   `stop[s]`; a probability below 0 never fires, above 1 always); below
//!   `min_temp_f` the day is dry whatever the step.

use chrono::Datelike;
use rayon::prelude::*;

use super::WeatherScenario;
use crate::model::markov::Chain;
use crate::seed::{stream, Purpose};

/// One station and the parameters it drew.
#[derive(Clone, Debug, PartialEq)]
pub struct Station {
    /// 1-based.
    pub id: u32,
    pub name: String,
    pub offset_f: f64,
    /// Mean temperature per month, January first (the scenario's means shifted).
    pub monthly_means_f: [f64; 12],
    /// Probability that rain starts on a dry day, per month.
    pub rain_start: [f64; 12],
    /// Probability that rain stops on a rainy day.
    pub rain_stop: f64,
}

/// Every report, in (day, station) order: row `day * stations + station`.
#[derive(Debug, Default)]
pub struct Reports {
    pub stations: u32,
    pub degrees: Vec<f64>,
    pub raining: Vec<bool>,
}

/// Spreadsheet-style names: A .. Z, AA .. AZ, BA .. ZZ, AAA ...
pub fn station_name(index: u32) -> String {
    let mut n = index as u64 + 1;
    let mut letters = Vec::new();
    while n > 0 {
        n -= 1;
        letters.push(b'A' + (n % 26) as u8);
        n /= 26;
    }
    letters.iter().rev().map(|&b| b as char).collect()
}

/// The stations and their parameters.
pub fn stations(s: &WeatherScenario) -> Vec<Station> {
    (0..s.stations)
        .map(|i| {
            let mut rng = stream(s.seed, i as u64, 0, Purpose::StationParameters);
            let offset_f = s.station_offset.sample(&mut rng);
            let monthly_means_f = s.monthly_means.map(|m| m + offset_f + s.month_offset.sample(&mut rng));
            let shift = s.station_shift.sample(&mut rng);
            let rain_start = s.rain_start.map(|p| p + shift + s.month_shift.sample(&mut rng));
            let rain_stop = s.rain_stop.sample(&mut rng);
            Station { id: i + 1, name: station_name(i), offset_f, monthly_means_f, rain_start, rain_stop }
        })
        .collect()
}

/// One station's series: (degrees, raining) per day.
fn series(s: &WeatherScenario, index: u32, st: &Station, months: &[usize]) -> Vec<(f64, bool)> {
    let mut rng = stream(s.seed, index as u64, 0, Purpose::Weather);
    let chains: Vec<Chain> =
        (0..12).map(|m| Chain::two_state(["dry", "rain"], 0.0, st.rain_start[m], st.rain_stop)).collect();
    let mut yesterday = st.monthly_means_f[months[0]];
    let mut raining = false;
    months
        .iter()
        .map(|&m| {
            let temp =
                s.persistence * yesterday + (1.0 - s.persistence) * st.monthly_means_f[m] + s.noise.sample(&mut rng);
            let step = chains[m].next(raining as usize, &mut rng) == 1;
            raining = temp >= s.min_rain_temp && step;
            yesterday = temp;
            (temp, raining)
        })
        .collect()
}

/// Every station's reports, simulated in parallel, laid out by (day, station).
pub fn simulate(s: &WeatherScenario, stations: &[Station]) -> Reports {
    let months: Vec<usize> = (0..s.calendar.days).map(|d| s.calendar.date(d).month0() as usize).collect();
    let per_station: Vec<Vec<(f64, bool)>> =
        stations.par_iter().enumerate().map(|(i, st)| series(s, i as u32, st, &months)).collect();
    let rows = months.len() * stations.len();
    let mut r = Reports {
        stations: stations.len() as u32,
        degrees: Vec::with_capacity(rows),
        raining: Vec::with_capacity(rows),
    };
    for day in 0..months.len() {
        for station in &per_station {
            let (t, rain) = station[day];
            r.degrees.push(t);
            r.raining.push(rain);
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::station_name;

    #[test]
    fn station_names_run_like_spreadsheet_columns() {
        let names: Vec<String> = [0, 1, 25, 26, 27, 51, 52, 701, 702, 999].map(station_name).to_vec();
        assert_eq!(names, ["A", "B", "Z", "AA", "AB", "AZ", "BA", "ZZ", "AAA", "ALL"]);
    }
}
