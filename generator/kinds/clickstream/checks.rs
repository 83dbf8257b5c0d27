//! What `verify` checks in a clickstream dataset besides the shared checks,
//! from the tables and the model facts in the manifest: every table in time
//! order with unique ids, each id's day (in the id) fitting its time; users
//! and ads within their populations; event types of the chain and values
//! within the value distribution's range; each genuine click after its
//! impression within the join bound, each orphan click naming an impression
//! that does not exist. One pass over each table, a batch at a time; the
//! state is the ids of the last few days (an id's day bounds its time, so
//! older days cannot recur) and the impressions clicks may still name.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::{Decimal128Type, TimestampMillisecondType};

use super::{MAX_GAP_S, MAX_SESSION_EVENTS};
use crate::error::{Error, Result};
use crate::sinks::manifest::Manifest;
use crate::verify::{batch_reader, primitive, strings, Problems, RowCursor};

const DAY_MS: i64 = 86_400_000;

struct Facts {
    users: u64,
    ads: u64,
    event_types: HashSet<String>,
    value_cents: (i128, i128),
    max_click_delay_ms: i64,
    max_session_span_ms: i64,
}

fn facts(m: &Manifest) -> Result<Facts> {
    let bad = |what: &str| Error(format!("manifest.json: a clickstream dataset's model lacks a valid `{what}`"));
    let int = |k: &str| m.model.get(k).and_then(|v| v.as_i64()).ok_or_else(|| bad(k));
    let types = m.model.get("event_types").and_then(|v| v.as_array()).ok_or_else(|| bad("event_types"))?;
    // A bound past a century is no bound of this model (and would overflow the day arithmetic).
    let bound = |k: &str| int(k).and_then(|v| if (0..=36_500 * DAY_MS).contains(&v) { Ok(v) } else { Err(bad(k)) });
    // Datasets that predate the fact: the longest session any scenario allows.
    let widest = (MAX_SESSION_EVENTS as f64 * MAX_GAP_S * 1000.0) as i64;
    Ok(Facts {
        users: int("users")? as u64,
        ads: int("ads")? as u64,
        event_types: types.iter().filter_map(|t| t.as_str().map(String::from)).collect(),
        value_cents: (int("value_min_cents")? as i128, int("value_max_cents")? as i128),
        max_click_delay_ms: bound("max_click_delay_ms")?,
        max_session_span_ms: m.model.get("max_session_span_ms").map_or(Ok(widest), |_| bound("max_session_span_ms"))?,
    })
}

/// `<prefix><n>` with `1 <= n <= count`.
fn in_population(id: &str, prefix: &str, count: u64) -> bool {
    id.strip_prefix(prefix).and_then(|n| n.parse::<u64>().ok()).is_some_and(|n| (1..=count).contains(&n))
}

/// The UTC day (from the epoch) an id `<letter><yyyymmdd>-...` names.
fn id_day(id: &str) -> Option<i64> {
    let date = chrono::NaiveDate::parse_from_str(id.get(1..9)?, "%Y%m%d").ok()?;
    Some(date.signed_duration_since(chrono::DateTime::UNIX_EPOCH.date_naive()).num_days())
}

/// One table's ids in time order, by the day they name: each unique, its
/// time within `window_ms` of its day's start. A day is dropped once no
/// row that fits it can come (`keep_ms` past its start, at least the window).
struct DayIds<V> {
    file: &'static str,
    what: &'static str,
    window_ms: i64,
    keep_ms: i64,
    days: BTreeMap<i64, HashMap<String, V>>,
    last: i64,
    count: usize,
}

impl<V> DayIds<V> {
    fn new(file: &'static str, what: &'static str, window_ms: i64, keep_ms: i64) -> DayIds<V> {
        DayIds { file, what, window_ms, keep_ms, days: BTreeMap::new(), last: i64::MIN, count: 0 }
    }

    /// Checks the row at `t` with `id`, and keeps `value` under it.
    fn add(&mut self, t: i64, id: &str, value: V, p: &mut Problems) {
        let (file, what) = (self.file, self.what);
        p.check(t >= self.last, || format!("{file}: rows out of time order at {t}"));
        self.last = self.last.max(t);
        while let Some(entry) = self.days.first_entry().filter(|e| e.key() * DAY_MS + self.keep_ms < self.last) {
            entry.remove();
        }
        let Some(day) = id_day(id) else {
            return p.check(false, || format!("{file}: {what} {id:?} at {t} does not name its day (yyyymmdd)"));
        };
        let fits = (day * DAY_MS..=day * DAY_MS + self.window_ms).contains(&t);
        p.check(fits, || format!("{file}: {what} {id} at {t} lies outside the day it names and its lag"));
        if fits {
            let fresh = self.days.entry(day).or_default().insert(id.to_string(), value).is_none();
            p.check(fresh, || format!("{file}: {what} {id} appears twice"));
            self.count += fresh as usize;
        }
    }

    fn get(&self, id: &str) -> Option<&V> {
        self.days.get(&id_day(id)?)?.get(id)
    }
}

fn check_events(dir: &Path, f: &Facts, p: &mut Problems) -> Result<usize> {
    const F: &str = "events.parquet";
    let window = DAY_MS + f.max_session_span_ms;
    let mut ids = DayIds::<()>::new(F, "event_id", window, window);
    for b in batch_reader(&dir.join(F))? {
        let b = b?;
        let ts = primitive::<TimestampMillisecondType>(&b, F, "event_time")?;
        let (id, user, kind) = (strings(&b, F, "event_id")?, strings(&b, F, "user_id")?, strings(&b, F, "event_type")?);
        let value = primitive::<Decimal128Type>(&b, F, "value")?;
        for i in 0..b.num_rows() {
            let t = ts.value(i);
            ids.add(t, id.value(i), (), p);
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
    Ok(ids.count)
}

const IMPRESSIONS: &str = "impressions.parquet";
const CLICKS: &str = "clicks.parquet";

/// An impression's time, id and ad.
type Shown = (i64, String, String);

fn impression_rows(b: &RecordBatch) -> Result<Vec<Shown>> {
    let ts = primitive::<TimestampMillisecondType>(b, IMPRESSIONS, "impression_time")?;
    let (id, ad) = (strings(b, IMPRESSIONS, "impression_id")?, strings(b, IMPRESSIONS, "ad_id")?);
    Ok((0..b.num_rows()).map(|i| (ts.value(i), id.value(i).to_string(), ad.value(i).to_string())).collect())
}

/// The impressions, read as far as the clicks need: each checked once, kept
/// by day while a click may name it.
struct Impressions {
    rows: RowCursor<Shown>,
    ids: DayIds<i64>,
}

impl Impressions {
    fn open(dir: &Path, f: &Facts) -> Result<Impressions> {
        // Kept until a click past its day, the join bound and a day's slack.
        let keep = 3 * DAY_MS + f.max_click_delay_ms;
        Ok(Impressions {
            rows: RowCursor::open(&dir.join(IMPRESSIONS))?,
            ids: DayIds::new(IMPRESSIONS, "impression_id", DAY_MS - 1, keep),
        })
    }

    /// Reads every impression before `end`.
    fn read_to(&mut self, end: i64, f: &Facts, p: &mut Problems) -> Result<()> {
        while self.rows.peek(impression_rows)?.is_some_and(|(t, _, _)| *t < end) {
            let (t, id, ad) = self.rows.pop().expect("peeked");
            p.check(in_population(&ad, "AD", f.ads), || {
                format!("{IMPRESSIONS}: ad {ad} at {t} is not one of the {} ads", f.ads)
            });
            self.ids.add(t, &id, t, p);
        }
        Ok(())
    }
}

/// Clicks against the impressions, merged by time: (genuine, orphans, impressions).
fn check_clicks(dir: &Path, f: &Facts, p: &mut Problems) -> Result<(usize, usize, usize)> {
    let mut shown = Impressions::open(dir, f)?;
    let window = DAY_MS + f.max_click_delay_ms;
    let mut ids = DayIds::<()>::new(CLICKS, "click_id", window, window);
    let (mut genuine, mut orphans) = (0, 0);
    for b in batch_reader(&dir.join(CLICKS))? {
        let b = b?;
        let ts = primitive::<TimestampMillisecondType>(&b, CLICKS, "click_time")?;
        let (id, target) = (strings(&b, CLICKS, "click_id")?, strings(&b, CLICKS, "impression_id")?);
        let orphan = b
            .column_by_name("orphan")
            .and_then(|c| c.as_boolean_opt())
            .ok_or_else(|| Error(format!("{CLICKS}: no boolean column `orphan`")))?;
        for i in 0..b.num_rows() {
            let (t, id, imp) = (ts.value(i), id.value(i), target.value(i));
            ids.add(t, id, (), p);
            // Every impression of the click's day and the days before it is read.
            shown.read_to((t.div_euclid(DAY_MS) + 1).saturating_mul(DAY_MS), f, p)?;
            let named = id_day(imp).filter(|d| d * DAY_MS <= t && t <= d * DAY_MS + window);
            if named.is_none() {
                p.check(false, || {
                    format!("{CLICKS}: click {id} at {t} names impression {imp}, not of a day it may follow")
                });
                continue;
            }
            match (orphan.value(i), shown.ids.get(imp)) {
                (true, found) => {
                    orphans += 1;
                    p.check(found.is_none(), || {
                        format!("{CLICKS}: click {id} is labelled orphan but impression {imp} exists")
                    });
                }
                (false, None) => {
                    p.check(false, || format!("{CLICKS}: click {id} names impression {imp}, which does not exist"))
                }
                (false, Some(&at)) => {
                    genuine += 1;
                    let delay = t - at;
                    p.check((0..=f.max_click_delay_ms).contains(&delay), || {
                        format!(
                            "{CLICKS}: click {id} comes {delay} ms after its impression; the bound is {} ms",
                            f.max_click_delay_ms
                        )
                    });
                }
            }
        }
    }
    shown.read_to(i64::MAX, f, p)?;
    Ok((genuine, orphans, shown.ids.count))
}

pub fn verify(dir: &Path, m: &Manifest, p: &mut Problems) -> Result<String> {
    let f = facts(m)?;
    let events = check_events(dir, &f, p)?;
    let (genuine, orphans, impressions) = check_clicks(dir, &f, p)?;
    Ok(format!(
        "{events} events of {} users with the chain's types; {impressions} impressions; {genuine} clicks within {} s of their impression, {orphans} orphan clicks naming no impression",
        f.users,
        f.max_click_delay_ms as f64 / 1000.0
    ))
}
