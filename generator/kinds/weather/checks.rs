//! What `verify` checks in a weather dataset besides the shared checks: the
//! stations are A, B, C, ... with ids 1..N; the reports are one per station
//! per day in (date, station) order from the start date; every temperature
//! is finite; no station reports rain below the scenario's threshold.

use std::path::Path;

use arrow::array::AsArray;
use arrow::datatypes::{Date32Type, Float64Type, Int16Type};

use super::model::station_name;
use crate::error::{Error, Result};
use crate::sinks::manifest::Manifest;
use crate::verify::{batch_reader, primitive, read_batches, strings, Problems};

/// The manifest's model facts: station count and rain threshold.
fn facts(m: &Manifest) -> Result<(usize, f64)> {
    let stations = m.model.get("stations").and_then(|v| v.as_u64());
    let min_temp = m.model.get("rain_min_temp_f").and_then(|v| v.as_f64());
    match (stations, min_temp) {
        (Some(n), Some(t)) if (1..=super::MAX_STATIONS as u64).contains(&n) => Ok((n as usize, t)),
        _ => Err(Error("manifest.json: a weather dataset's model lacks `stations` or `rain_min_temp_f`".into())),
    }
}

fn check_stations(dir: &Path, n: usize, p: &mut Problems) -> Result<()> {
    const F: &str = "stations.parquet";
    let mut row = 0usize;
    for b in read_batches(&dir.join(F))? {
        let ids = primitive::<Int16Type>(&b, F, "station_id")?;
        let names = strings(&b, F, "station")?;
        for i in 0..b.num_rows() {
            let want = station_name(row as u32);
            p.check(ids.value(i) as usize == row + 1 && names.value(i) == want, || {
                format!(
                    "{F} row {row}: expected station {} `{want}`, found {} `{}`",
                    row + 1,
                    ids.value(i),
                    names.value(i)
                )
            });
            row += 1;
        }
    }
    p.check(row == n, || format!("{F} has {row} stations, the manifest's model says {n}"));
    Ok(())
}

pub fn verify(dir: &Path, m: &Manifest, p: &mut Problems) -> Result<String> {
    let (n, min_temp) = facts(m)?;
    check_stations(dir, n, p)?;
    const F: &str = "reports.parquet";
    let start = chrono::NaiveDate::parse_from_str(&m.scenario.start, "%Y-%m-%d")
        .map_err(|_| Error(format!("manifest.json: start {:?} is not a date", m.scenario.start)))?;
    let first_day = start.signed_duration_since(chrono::DateTime::UNIX_EPOCH.date_naive()).num_days();
    let names: Vec<String> = (0..n as u32).map(station_name).collect();
    let (mut row, mut rainy) = (0usize, 0u64);
    for b in batch_reader(&dir.join(F))? {
        let b = b?;
        let dates = primitive::<Date32Type>(&b, F, "date")?;
        let stations = strings(&b, F, "station")?;
        let degrees = primitive::<Float64Type>(&b, F, "degrees")?;
        let raining = b
            .column_by_name("raining")
            .and_then(|c| c.as_boolean_opt())
            .ok_or_else(|| Error(format!("{F}: no boolean column `raining`")))?;
        for i in 0..b.num_rows() {
            let (day, station) = (row / n.max(1), row % n.max(1));
            let in_place = dates.value(i) as i64 == first_day + day as i64 && stations.value(i) == names[station];
            p.check(in_place, || format!("{F} row {row}: expected day {day}, station `{}`", names[station]));
            p.check(degrees.value(i).is_finite(), || {
                format!("{F} row {row}: degrees {} is not finite", degrees.value(i))
            });
            let rain = raining.value(i);
            p.check(!rain || degrees.value(i) >= min_temp, || {
                format!("{F} row {row}: rain at {} F, below the threshold of {min_temp} F", degrees.value(i))
            });
            rainy += rain as u64;
            row += 1;
        }
    }
    let days = m.scenario.days as usize;
    p.check(row == n * days, || format!("{F} has {row} reports, expected {n} stations x {days} days"));
    Ok(format!(
        "{row} reports, one per station per day for {n} stations in (date, station) order; {rainy} rainy, none below {min_temp} F"
    ))
}
