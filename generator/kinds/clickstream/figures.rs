//! The clickstream's report: events per day and by hour, the event types,
//! and for a disordered stream the late share day by day and the truth's
//! hourly windows against what a pipeline with a watermark keeps.

use std::collections::{BTreeMap, HashSet};

use arrow::array::Array;
use std::path::Path;

use crate::error::Result;
use crate::report::figure::{Chart, Figure, Figures, Headline, Series};
use crate::report::read::{ints, scan, texts};
use crate::report::{local, model_clock, start_date};
use crate::sinks::manifest::Manifest;

pub fn report(dir: &Path, m: &Manifest) -> Result<Figures> {
    let (tz, start, days) = (model_clock(m)?, start_date(m)?, m.scenario.days as usize);
    let (mut per_day, mut per_hour) = (vec![0.0; days], vec![0.0; 24]);
    let mut types: BTreeMap<String, f64> = BTreeMap::new();
    let (mut users, mut sessions) = (HashSet::new(), HashSet::new());
    scan(dir, "events", &["event_time", "event_type", "user_id", "session_id"], |b| {
        let (t, kind, user, session) =
            (ints(b, "event_time")?, texts(b, "event_type")?, texts(b, "user_id")?, texts(b, "session_id")?);
        for (i, &t) in t.iter().enumerate() {
            let (day, minute) = local(tz, start, t);
            // A session that starts on the last day may run past its midnight.
            let day = day.max(0) as usize;
            if day >= per_day.len() {
                per_day.resize(day + 1, 0.0);
            }
            per_day[day] += 1.0;
            per_hour[(minute / 60) as usize % 24] += 1.0;
            *types.entry(kind.value(i).to_string()).or_default() += 1.0;
            users.insert(user.value(i).to_string());
            sessions.insert(session.value(i).to_string());
        }
        Ok(())
    })?;
    let rows = |t: &str| m.tables.get(t).copied().unwrap_or(0) as f64;
    let mut headline = vec![
        Headline::new("users active", users.len() as f64, ""),
        Headline::new("sessions", sessions.len() as f64, ""),
        Headline::new("events", rows("events"), ""),
        Headline::new("impressions", rows("impressions"), ""),
        Headline::new("clicks", rows("clicks"), ""),
    ];
    let mut figures = vec![
        Figure {
            id: "events_per_day".into(),
            title: "Events per day".into(),
            note: String::new(),
            chart: Chart::Lines {
                x: "day".into(),
                y: "events".into(),
                series: vec![Series::numbered("events", &per_day)],
            },
        },
        Figure {
            id: "events_by_hour".into(),
            title: "Events by hour of the day (all days, UTC)".into(),
            note: String::new(),
            chart: Chart::Bars {
                x: "hour".into(),
                y: "events".into(),
                bars: (0..24).map(|h| (h.to_string(), per_hour[h])).collect(),
            },
        },
        Figure {
            id: "event_types".into(),
            title: "Events by type".into(),
            note: "The Markov chain's visits: page views lead, purchases are rare.".into(),
            chart: Chart::Bars { x: "event type".into(), y: "events".into(), bars: types.into_iter().collect() },
        },
    ];
    if let Some(d) = m.disorder.get("events") {
        let (late, delivered) = late_per_day(dir, &d.truth.delivered, (tz, start, days))?;
        let share: Vec<f64> =
            late.iter().zip(&delivered).map(|(l, n)| if *n > 0.0 { l / n * 100.0 } else { 0.0 }).collect();
        let all_late = d.counts.late as f64 / (d.counts.delivered as f64).max(1.0) * 100.0;
        headline.push(Headline::new("late deliveries", all_late, "%"));
        figures.push(Figure {
            id: "late_share".into(),
            title: "Share of deliveries that arrive late, by arrival day".into(),
            note: "From events_delivered: the stream as a pipeline receives it.".into(),
            chart: Chart::Lines { x: "day".into(), y: "% late".into(), series: vec![Series::numbered("late", &share)] },
        });
        figures.push(truth_windows(dir)?);
    }
    Ok((headline, figures))
}

/// Late and all deliveries per arrival day.
fn late_per_day(
    dir: &Path,
    table: &str,
    (tz, start, days): (chrono_tz::Tz, chrono::NaiveDate, usize),
) -> Result<(Vec<f64>, Vec<f64>)> {
    let (mut late, mut all) = (vec![0.0; days], vec![0.0; days]);
    scan(dir, table, &["arrival_time", "late"], |b| {
        let (t, l) = (ints(b, "arrival_time")?, ints(b, "late")?);
        for i in 0..b.num_rows() {
            let day = local(tz, start, t[i]).0.max(0) as usize;
            if day >= all.len() {
                all.resize(day + 1, 0.0);
                late.resize(day + 1, 0.0);
            }
            all[day] += 1.0;
            late[day] += l[i] as f64;
        }
        Ok(())
    })?;
    Ok((late, all))
}

/// The truth's hourly windows of all events: the true count and what a
/// pipeline with the shortest and longest watermark delays counts.
fn truth_windows(dir: &Path) -> Result<Figure> {
    let hours = |ms: i64| ms as f64 / 3_600_000.0;
    let mut series = vec![Series { name: "true count".into(), points: Vec::new() }];
    scan(dir, "truth/windows", &["stream", "size_s", "key_field", "window_start", "count"], |b| {
        let (stream, size, field, start, count) = (
            texts(b, "stream")?,
            ints(b, "size_s")?,
            texts(b, "key_field")?,
            ints(b, "window_start")?,
            ints(b, "count")?,
        );
        for i in (0..b.num_rows()).filter(|&i| stream.value(i) == "events" && size[i] == 3600 && field.is_null(i)) {
            series[0].points.push([hours(start[i]), count[i] as f64]);
        }
        Ok(())
    })?;
    let mut kept: BTreeMap<i64, Vec<[f64; 2]>> = BTreeMap::new();
    scan(dir, "truth/watermarks", &["stream", "delay_s", "size_s", "key_field", "window_start", "count_seen"], |b| {
        let (stream, delay, size, field) =
            (texts(b, "stream")?, ints(b, "delay_s")?, ints(b, "size_s")?, texts(b, "key_field")?);
        let (start, seen) = (ints(b, "window_start")?, ints(b, "count_seen")?);
        for i in (0..b.num_rows()).filter(|&i| stream.value(i) == "events" && size[i] == 3600 && field.is_null(i)) {
            kept.entry(delay[i]).or_default().push([hours(start[i]), seen[i] as f64]);
        }
        Ok(())
    })?;
    let first = series[0].points.first().map_or(0.0, |p| p[0]);
    let delays = [kept.keys().next().copied(), kept.keys().next_back().copied()];
    for d in delays.into_iter().flatten().collect::<std::collections::BTreeSet<_>>() {
        series
            .push(Series { name: format!("seen with a {d} s watermark"), points: kept.remove(&d).unwrap_or_default() });
    }
    for s in &mut series {
        s.points.iter_mut().for_each(|p| p[0] -= first);
    }
    Ok(Figure {
        id: "truth_windows".into(),
        title: "Hourly windows: true counts and what a watermarked pipeline keeps".into(),
        note: "From truth/: a short watermark drops late events, a long one keeps them.".into(),
        chart: Chart::Lines { x: "hours since the first window".into(), y: "events".into(), series },
    })
}
