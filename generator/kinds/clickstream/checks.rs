//! What `verify` checks in a clickstream dataset besides the shared checks,
//! from the tables and the model facts in the manifest: every table in time
//! order with unique ids; users and ads within their populations; event
//! types of the chain and values within the value distribution's range;
//! each genuine click after its impression within the join bound, each
//! orphan click naming an impression that does not exist.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::{Decimal128Type, TimestampMillisecondType};

use crate::error::{Error, Result};
use crate::sinks::manifest::Manifest;
use crate::verify::{primitive, read_batches, strings, Problems};

struct Facts {
    users: u64,
    ads: u64,
    event_types: HashSet<String>,
    value_cents: (i128, i128),
    max_click_delay_ms: i64,
}

fn facts(m: &Manifest) -> Result<Facts> {
    let bad = |what: &str| Error(format!("manifest.json: a clickstream dataset's model lacks a valid `{what}`"));
    let int = |k: &str| m.model.get(k).and_then(|v| v.as_i64()).ok_or_else(|| bad(k));
    let types = m.model.get("event_types").and_then(|v| v.as_array()).ok_or_else(|| bad("event_types"))?;
    Ok(Facts {
        users: int("users")? as u64,
        ads: int("ads")? as u64,
        event_types: types.iter().filter_map(|t| t.as_str().map(String::from)).collect(),
        value_cents: (int("value_min_cents")? as i128, int("value_max_cents")? as i128),
        max_click_delay_ms: int("max_click_delay_ms")?,
    })
}

/// `<prefix><n>` with `1 <= n <= count`.
fn in_population(id: &str, prefix: &str, count: u64) -> bool {
    id.strip_prefix(prefix).and_then(|n| n.parse::<u64>().ok()).is_some_and(|n| (1..=count).contains(&n))
}

/// Each row's time and id of `file`, checked for time order and unique ids.
fn timed_ids(
    b: &RecordBatch,
    file: &str,
    time: &str,
    id: &str,
    last: &mut i64,
    seen: &mut HashSet<String>,
    p: &mut Problems,
) -> Result<Vec<(i64, String)>> {
    let ts = primitive::<TimestampMillisecondType>(b, file, time)?;
    let ids = strings(b, file, id)?;
    let mut out = Vec::with_capacity(b.num_rows());
    for i in 0..b.num_rows() {
        let (t, x) = (ts.value(i), ids.value(i).to_string());
        p.check(t >= *last, || format!("{file}: rows out of time order at {t}"));
        *last = t;
        p.check(seen.insert(x.clone()), || format!("{file}: {id} {x} appears twice"));
        out.push((t, x));
    }
    Ok(out)
}

fn check_events(dir: &Path, f: &Facts, p: &mut Problems) -> Result<usize> {
    const F: &str = "events.parquet";
    let (mut last, mut seen) = (i64::MIN, HashSet::new());
    for b in read_batches(&dir.join(F))? {
        let rows = timed_ids(&b, F, "event_time", "event_id", &mut last, &mut seen, p)?;
        let (user, kind) = (strings(&b, F, "user_id")?, strings(&b, F, "event_type")?);
        let value = primitive::<Decimal128Type>(&b, F, "value")?;
        for (i, (t, _)) in rows.iter().enumerate() {
            let u = user.value(i);
            p.check(in_population(u, "USER", f.users), || {
                format!("{F}: user {u} at {t} is not one of the {} users", f.users)
            });
            let k = kind.value(i);
            p.check(f.event_types.contains(k), || format!("{F}: event type {k:?} at {t} is not a state of the chain"));
            let v = value.value(i);
            p.check((f.value_cents.0..=f.value_cents.1).contains(&v), || {
                format!("{F}: value {v} cents at {t} outside the value range")
            });
        }
    }
    Ok(seen.len())
}

/// Impressions: their times by id.
fn check_impressions(dir: &Path, f: &Facts, p: &mut Problems) -> Result<HashMap<String, i64>> {
    const F: &str = "impressions.parquet";
    let (mut last, mut seen) = (i64::MIN, HashSet::new());
    let mut at = HashMap::new();
    for b in read_batches(&dir.join(F))? {
        let rows = timed_ids(&b, F, "impression_time", "impression_id", &mut last, &mut seen, p)?;
        let ad = strings(&b, F, "ad_id")?;
        for (i, (t, id)) in rows.into_iter().enumerate() {
            let a = ad.value(i);
            p.check(in_population(a, "AD", f.ads), || format!("{F}: ad {a} at {t} is not one of the {} ads", f.ads));
            at.insert(id, t);
        }
    }
    Ok(at)
}

/// Clicks: (genuine, orphans).
fn check_clicks(dir: &Path, f: &Facts, impressions: &HashMap<String, i64>, p: &mut Problems) -> Result<(usize, usize)> {
    const F: &str = "clicks.parquet";
    let (mut last, mut seen) = (i64::MIN, HashSet::new());
    let (mut genuine, mut orphans) = (0, 0);
    for b in read_batches(&dir.join(F))? {
        let rows = timed_ids(&b, F, "click_time", "click_id", &mut last, &mut seen, p)?;
        let target = strings(&b, F, "impression_id")?;
        let orphan = b
            .column_by_name("orphan")
            .and_then(|c| c.as_boolean_opt())
            .ok_or_else(|| Error(format!("{F}: no boolean column `orphan`")))?;
        for (i, (t, id)) in rows.iter().enumerate() {
            let imp = target.value(i);
            match (orphan.value(i), impressions.get(imp)) {
                (true, found) => {
                    orphans += 1;
                    p.check(found.is_none(), || {
                        format!("{F}: click {id} is labelled orphan but impression {imp} exists")
                    });
                }
                (false, None) => {
                    p.check(false, || format!("{F}: click {id} names impression {imp}, which does not exist"))
                }
                (false, Some(&shown)) => {
                    genuine += 1;
                    let delay = t - shown;
                    p.check((0..=f.max_click_delay_ms).contains(&delay), || {
                        format!(
                            "{F}: click {id} comes {delay} ms after its impression; the bound is {} ms",
                            f.max_click_delay_ms
                        )
                    });
                }
            }
        }
    }
    Ok((genuine, orphans))
}

pub fn verify(dir: &Path, m: &Manifest, p: &mut Problems) -> Result<String> {
    let f = facts(m)?;
    let events = check_events(dir, &f, p)?;
    let impressions = check_impressions(dir, &f, p)?;
    let (genuine, orphans) = check_clicks(dir, &f, &impressions, p)?;
    Ok(format!(
        "{events} events of {} users with the chain's types; {} impressions; {genuine} clicks within {} s of their impression, {orphans} orphan clicks naming no impression",
        f.users,
        impressions.len(),
        f.max_click_delay_ms as f64 / 1000.0
    ))
}
