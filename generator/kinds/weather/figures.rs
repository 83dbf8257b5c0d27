//! The weather's report: each station's mean temperature month by month
//! (the first few stations), and the share of rainy reports per month.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::Result;
use crate::report::figure::{histogram, Chart, Figure, Figures, Headline, Series};
use crate::report::read::{floats, ints, scan, texts};
use crate::sinks::manifest::Manifest;

/// Stations whose temperatures are drawn.
const STATIONS_SHOWN: usize = 6;

pub fn report(dir: &Path, _: &Manifest) -> Result<Figures> {
    // Per station and month (months since the start): (sum of degrees, reports).
    let mut temps: BTreeMap<String, BTreeMap<i64, (f64, f64)>> = BTreeMap::new();
    let mut rain: BTreeMap<i64, (f64, f64)> = BTreeMap::new();
    let (mut all, mut first) = (Vec::new(), None);
    scan(dir, "reports", &["date", "station", "degrees", "raining"], |b| {
        let (date, station, degrees) = (ints(b, "date")?, texts(b, "station")?, floats(b, "degrees")?);
        let raining = ints(b, "raining")?;
        for i in 0..b.num_rows() {
            let month = month_of(date[i], *first.get_or_insert(date[i]));
            let t = temps.entry(station.value(i).to_string()).or_default().entry(month).or_default();
            (t.0, t.1) = (t.0 + degrees[i], t.1 + 1.0);
            let r = rain.entry(month).or_default();
            (r.0, r.1) = (r.0 + raining[i] as f64, r.1 + 1.0);
            all.push(degrees[i]);
        }
        Ok(())
    })?;
    let reports = all.len() as f64;
    let rainy: f64 = rain.values().map(|r| r.0).sum();
    let headline = vec![
        Headline::new("stations", temps.len() as f64, ""),
        Headline::new("reports", reports, ""),
        Headline::new("mean temperature", all.iter().sum::<f64>() / reports.max(1.0), "°F"),
        Headline::new("rainy reports", rainy / reports.max(1.0) * 100.0, "%"),
    ];
    let series = temps.iter().take(STATIONS_SHOWN).map(|(s, months)| Series {
        name: s.clone(),
        points: months.iter().map(|(mo, (sum, n))| [*mo as f64, sum / n]).collect(),
    });
    let figures = vec![
        Figure {
            id: "temperature_by_month".into(),
            title: format!("Mean temperature by month, first {} stations", STATIONS_SHOWN.min(temps.len())),
            note: "Each station's seasons around its own mean.".into(),
            chart: Chart::Lines { x: "month".into(), y: "°F".into(), series: series.collect() },
        },
        Figure {
            id: "rain_by_month".into(),
            title: "Share of rainy reports by month, all stations".into(),
            note: "No rain below the model's threshold temperature, so cold months are dry.".into(),
            chart: Chart::Lines {
                x: "month".into(),
                y: "% of reports".into(),
                series: vec![Series {
                    name: "rain".into(),
                    points: rain.iter().map(|(mo, (r, n))| [*mo as f64, r / n * 100.0]).collect(),
                }],
            },
        },
        Figure {
            id: "temperatures".into(),
            title: "Temperatures reported".into(),
            note: String::new(),
            chart: histogram("°F", &all, 40),
        },
    ];
    Ok((headline, figures))
}

/// Months from the month of the day `first` to that of `day` (days since 1970).
fn month_of(day: i64, first: i64) -> i64 {
    use chrono::Datelike;
    let date = |d: i64| chrono::DateTime::from_timestamp(d * 86_400, 0).unwrap_or_default().date_naive();
    let (a, b) = (date(first), date(day));
    (b.year() as i64 - a.year() as i64) * 12 + b.month() as i64 - a.month() as i64
}
