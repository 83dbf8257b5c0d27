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
use crate::seed::{stream, Purpose, SimRng};

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
    /// The day of the first row.
    pub first_day: u32,
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
/// One station's series as it runs: its daily stream, its chains and
/// where it stands, carried from one range of days to the next.
struct Runner {
    rng: SimRng,
    chains: Vec<Chain>,
    yesterday: f64,
    raining: bool,
}

impl Runner {
    fn new(s: &WeatherScenario, index: u32, st: &Station, first_month: usize) -> Runner {
        let chains = (0..12).map(|m| Chain::two_state(["dry", "rain"], 0.0, st.rain_start[m], st.rain_stop)).collect();
        let rng = stream(s.seed, index as u64, 0, Purpose::Weather);
        Runner { rng, chains, yesterday: st.monthly_means_f[first_month], raining: false }
    }

    /// The days of `months` (each day's month), in order.
    fn run(&mut self, s: &WeatherScenario, st: &Station, months: &[usize]) -> Vec<(f64, bool)> {
        months
            .iter()
            .map(|&m| {
                let temp = s.persistence * self.yesterday
                    + (1.0 - s.persistence) * st.monthly_means_f[m]
                    + s.noise.sample(&mut self.rng);
                let step = self.chains[m].next(self.raining as usize, &mut self.rng) == 1;
                self.raining = temp >= s.min_rain_temp && step;
                self.yesterday = temp;
                (temp, self.raining)
            })
            .collect()
    }
}

/// Every station's series, a range of days at a time: the reports of any
/// day are the same whichever ranges the run is cut into.
pub struct Weather<'a> {
    s: &'a WeatherScenario,
    stations: &'a [Station],
    runners: Vec<Runner>,
    months: Vec<usize>,
    next_day: u32,
    end_day: u32,
}

impl<'a> Weather<'a> {
    pub fn new(s: &'a WeatherScenario, stations: &'a [Station]) -> Weather<'a> {
        Weather::days(s, stations, 0..s.calendar.days)
    }

    /// The reports of `days` alone (a shard of the run): each day's weather
    /// follows from the day before, so the series are run from day 0 and
    /// the earlier days dropped (a few draws per station and day).
    pub fn days(s: &'a WeatherScenario, stations: &'a [Station], days: std::ops::Range<u32>) -> Weather<'a> {
        let months: Vec<usize> = (0..s.calendar.days).map(|d| s.calendar.date(d).month0() as usize).collect();
        let first = months.first().copied().unwrap_or(0);
        let runners = stations.iter().enumerate().map(|(i, st)| Runner::new(s, i as u32, st, first)).collect();
        let mut w = Weather { s, stations, runners, months, next_day: 0, end_day: days.start };
        while w.next_days(366).is_some() {}
        w.end_day = days.end.min(s.calendar.days);
        w
    }

    /// The reports of the next `days` days (fewer at the end), stations in
    /// parallel, in (date, station) order; `None` after the last day.
    pub fn next_days(&mut self, days: u32) -> Option<Reports> {
        let (from, end) = (self.next_day as usize, self.end_day as usize);
        if from >= end {
            return None;
        }
        let to = (from + days.max(1) as usize).min(end);
        let (s, months) = (self.s, &self.months[from..to]);
        let per_station: Vec<Vec<(f64, bool)>> =
            self.runners.par_iter_mut().zip(self.stations).map(|(r, st)| r.run(s, st, months)).collect();
        let rows = months.len() * per_station.len();
        let mut r = Reports {
            stations: per_station.len() as u32,
            first_day: from as u32,
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
        self.next_day = to as u32;
        Some(r)
    }
}

/// Every station's whole series, in (date, station) order.
pub fn simulate(s: &WeatherScenario, stations: &[Station]) -> Reports {
    Weather::new(s, stations).next_days(s.calendar.days).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::{station_name, stations, Weather};
    use crate::kinds::Model;

    #[test]
    fn a_run_cut_into_ranges_of_days_is_the_whole_run() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/weather.toml");
        let Model::Weather(w) = crate::scenario::load(&path, &Default::default()).unwrap().model else {
            panic!("weather.toml is a weather scenario")
        };
        let st = stations(&w);
        let whole = super::simulate(&w, &st);
        let mut run = Weather::new(&w, &st);
        let (mut degrees, mut raining, mut firsts) = (Vec::new(), Vec::new(), Vec::new());
        for days in [1, 30, 7, 400].into_iter().cycle() {
            let Some(r) = run.next_days(days) else { break };
            firsts.push(r.first_day);
            degrees.extend(r.degrees);
            raining.extend(r.raining);
        }
        assert_eq!(firsts[..4], [0, 1, 31, 38]);
        assert_eq!(degrees, whole.degrees);
        assert_eq!(raining, whole.raining);
    }

    #[test]
    fn station_names_run_like_spreadsheet_columns() {
        let names: Vec<String> = [0, 1, 25, 26, 27, 51, 52, 701, 702, 999].map(station_name).to_vec();
        assert_eq!(names, ["A", "B", "Z", "AA", "AB", "AZ", "BA", "ZZ", "AAA", "ALL"]);
    }
}
