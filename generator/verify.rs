//! Verify: re-reads a dataset and checks it is what its manifest says and
//! that its events obey the model — file hashes; row counts per table, event
//! type and location; every order's full lifecycle in sequence order with
//! non-decreasing timestamps; pings on the route with increasing progress;
//! deliveries at the customer; and optionally the fingerprints of a golden file.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::fs::File;
use std::path::Path;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{Float32Type, Int16Type, Int8Type, TimestampMillisecondType};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::{Deserialize, Serialize};

use crate::error::{Context, Error, Result};
use crate::lifecycles::{CREATED, DELIVERED, EVENT_TYPES, PICKED_UP, PING};
use crate::roads::geo::metres_per_degree;
use crate::sinks::manifest::{sha256_file, Manifest};

/// Pings must lie this close to their route (float32 coordinates are ~1 m apart).
const ON_ROUTE_TOLERANCE_M: f64 = 3.0;

pub struct Report {
    pub manifest: Manifest,
    pub text: String,
}

/// What a golden file pins: the dataset's fingerprints and counts.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Golden {
    pub scenario: String,
    pub fingerprint: String,
    pub tables: BTreeMap<String, u64>,
    pub event_types: BTreeMap<String, u64>,
    pub orders_per_location: BTreeMap<String, u64>,
    pub files: BTreeMap<String, String>,
}

impl Golden {
    pub fn of(m: &Manifest) -> Golden {
        Golden {
            scenario: m.scenario.name.clone(),
            fingerprint: m.fingerprint.clone(),
            tables: m.tables.clone(),
            event_types: m.event_types.clone(),
            orders_per_location: m.locations.iter().map(|l| (l.code.clone(), l.orders)).collect(),
            files: m.files.iter().map(|(k, v)| (k.clone(), v.sha256.clone())).collect(),
        }
    }
}

pub fn write_golden(m: &Manifest, path: &Path) -> Result<()> {
    let json = serde_json::to_string_pretty(&Golden::of(m)).map_err(|e| Error(e.to_string()))?;
    std::fs::write(path, json + "\n").context(|| path.display().to_string())
}

fn read_batches(path: &Path) -> Result<Vec<RecordBatch>> {
    let name = || path.display().to_string();
    let file = File::open(path).context(name)?;
    let reader =
        ParquetRecordBatchReaderBuilder::try_new(file).context(name)?.with_batch_size(65_536).build().context(name)?;
    reader.collect::<std::result::Result<Vec<_>, _>>().context(name)
}

struct Problems(Vec<String>);

impl Problems {
    fn check(&mut self, ok: bool, msg: impl FnOnce() -> String) {
        if !ok && self.0.len() < 20 {
            self.0.push(msg());
        }
    }
}

/// One event as verify needs it.
struct Row {
    ts: i64,
    order: [u8; 6],
    kind: u8,
    seq: i16,
    lat: f32,
    lon: f32,
    progress: f32,
    route: (usize, usize),
}

pub fn verify(dir: &Path, golden: Option<&Path>) -> Result<Report> {
    let manifest = Manifest::read(dir)?;
    let mut p = Problems(Vec::new());
    for (name, f) in manifest.files.iter().chain(&manifest.tools) {
        let path = dir.join(name);
        let sha = sha256_file(&path)?;
        p.check(sha == f.sha256, || format!("{name}: sha256 {sha} differs from the manifest's {}", f.sha256));
    }
    p.check(manifest.compute_fingerprint() == manifest.fingerprint, || {
        "the manifest's fingerprint does not match its file hashes".into()
    });

    // Events, flattened.
    let mut rows = Vec::new();
    let (mut route_lat, mut route_lon) = (Vec::new(), Vec::new());
    let mut per_location: HashMap<i8, u64> = HashMap::new();
    for b in read_batches(&dir.join("events.parquet"))? {
        let col = |n: &str| b.column_by_name(n).ok_or_else(|| Error(format!("events.parquet: no column `{n}`")));
        let ts = col("ts")?.as_primitive::<TimestampMillisecondType>();
        let order = col("order_id")?.as_string::<i32>();
        let loc = col("location_id")?.as_primitive::<Int8Type>();
        let kind = col("event_type_id")?.as_primitive::<Int8Type>();
        let seq = col("sequence")?.as_primitive::<Int16Type>();
        let lat = col("lat")?.as_primitive::<Float32Type>();
        let lon = col("lon")?.as_primitive::<Float32Type>();
        let progress = col("progress_pct")?.as_primitive::<Float32Type>();
        let route = col("route")?.as_list::<i32>();
        for i in 0..b.num_rows() {
            let id = id6(order.value(i));
            *per_location.entry(loc.value(i)).or_default() += 1;
            let start = route_lat.len();
            if route.is_valid(i) {
                let pts = route.value(i);
                let pts = pts.as_struct();
                route_lat.extend(pts.column(0).as_primitive::<Float32Type>().values().iter().copied());
                route_lon.extend(pts.column(1).as_primitive::<Float32Type>().values().iter().copied());
            }
            rows.push(Row {
                ts: ts.value(i),
                order: id,
                kind: kind.value(i) as u8,
                seq: seq.value(i),
                lat: if lat.is_valid(i) { lat.value(i) } else { f32::NAN },
                lon: if lon.is_valid(i) { lon.value(i) } else { f32::NAN },
                progress: if progress.is_valid(i) { progress.value(i) } else { f32::NAN },
                route: (start, route_lat.len()),
            });
        }
    }
    let sorted = rows.windows(2).all(|w| (w[0].ts, w[0].order, w[0].seq) < (w[1].ts, w[1].order, w[1].seq));
    p.check(sorted, || "events are not sorted by (ts, order_id, sequence)".into());
    p.check(rows.len() as u64 == manifest.tables["events"], || {
        format!("events.parquet has {} rows, the manifest says {}", rows.len(), manifest.tables["events"])
    });
    let mut per_type = [0u64; 8];
    for r in &rows {
        if (1..=8).contains(&r.kind) {
            per_type[r.kind as usize - 1] += 1;
        }
    }
    for (name, n) in EVENT_TYPES.iter().zip(per_type) {
        let want = manifest.event_types.get(*name).copied().unwrap_or(0);
        p.check(n == want, || format!("{n} `{name}` events, the manifest says {want}"));
    }
    for l in &manifest.locations {
        let n = per_location.get(&l.id).copied().unwrap_or(0);
        p.check(n == l.events, || format!("location `{}` has {n} events, the manifest says {}", l.code, l.events));
    }

    // Orders, by id.
    let mut orders: HashMap<[u8; 6], (i64, i64, f32, f32)> = HashMap::new();
    for b in read_batches(&dir.join("orders.parquet"))? {
        let col = |n: &str| b.column_by_name(n).ok_or_else(|| Error(format!("orders.parquet: no column `{n}`")));
        let id = col("order_id")?.as_string::<i32>();
        let created = col("created_at")?.as_primitive::<TimestampMillisecondType>();
        let delivered = col("delivered_at")?.as_primitive::<TimestampMillisecondType>();
        let clat = col("customer_lat")?.as_primitive::<Float32Type>();
        let clon = col("customer_lon")?.as_primitive::<Float32Type>();
        for i in 0..b.num_rows() {
            let k = id6(id.value(i));
            let dup = orders.insert(k, (created.value(i), delivered.value(i), clat.value(i), clon.value(i))).is_some();
            p.check(!dup, || format!("order {} appears twice in orders.parquet", id.value(i)));
        }
    }
    p.check(orders.len() as u64 == manifest.tables["orders"], || {
        format!("orders.parquet has {} rows, the manifest says {}", orders.len(), manifest.tables["orders"])
    });

    // Lifecycles: group rows by order (stable by position, so sorted by sequence after a sort).
    let mut by_order: HashMap<[u8; 6], Vec<u32>> = HashMap::with_capacity(orders.len());
    for (i, r) in rows.iter().enumerate() {
        by_order.entry(r.order).or_default().push(i as u32);
    }
    p.check(by_order.len() == orders.len(), || {
        format!("{} orders have events, orders.parquet has {}", by_order.len(), orders.len())
    });
    let mut pings_checked = 0u64;
    let mut ids: Vec<&[u8; 6]> = by_order.keys().collect();
    ids.sort();
    for id in ids {
        let name = String::from_utf8_lossy(id).to_string();
        let mut ev: Vec<&Row> = by_order[id].iter().map(|&i| &rows[i as usize]).collect();
        ev.sort_by_key(|r| r.seq);
        let seq_ok = ev.iter().enumerate().all(|(i, r)| r.seq as usize == i + 1);
        p.check(seq_ok, || format!("order {name}: sequences are not 1..{}", ev.len()));
        p.check(ev.windows(2).all(|w| w[0].ts <= w[1].ts), || {
            format!("order {name}: timestamps decrease in sequence order")
        });
        let mut count = [0usize; 9];
        for r in &ev {
            count[(r.kind as usize).min(8)] += 1;
        }
        let full = (1..=8).filter(|&k| k != PING as usize).all(|k| count[k] == 1);
        p.check(full, || format!("order {name}: lifecycle incomplete (counts per type {:?})", &count[1..]));
        p.check(ev.first().is_some_and(|r| r.kind == CREATED), || {
            format!("order {name}: does not start with order_created")
        });
        p.check(ev.last().is_some_and(|r| r.kind == DELIVERED), || {
            format!("order {name}: does not end with delivered")
        });
        let Some(pickup) = ev.iter().find(|r| r.kind == PICKED_UP) else { continue };
        let route: Vec<[f64; 2]> =
            (pickup.route.0..pickup.route.1).map(|j| [route_lat[j] as f64, route_lon[j] as f64]).collect();
        p.check(route.len() >= 2, || format!("order {name}: the pickup event has no route"));
        let mut last_progress = 0.0f32;
        for r in ev.iter().filter(|r| r.kind == PING) {
            pings_checked += 1;
            p.check(r.progress > last_progress && r.progress < 100.0, || {
                format!("order {name}: ping progress does not increase")
            });
            last_progress = r.progress;
            p.check(r.ts > pickup.ts, || format!("order {name}: a ping precedes the pickup"));
            let d = distance_to_polyline([r.lat as f64, r.lon as f64], &route);
            p.check(d <= ON_ROUTE_TOLERANCE_M, || format!("order {name}: a ping lies {d:.1} m off its route"));
        }
        if let (Some(del), Some(o)) = (ev.last(), orders.get(id)) {
            let at_customer = del.lat == o.2 && del.lon == o.3;
            p.check(at_customer, || {
                format!("order {name}: delivered at {},{} not at the customer {},{}", del.lat, del.lon, o.2, o.3)
            });
            let end = route.last().copied().unwrap_or([f64::NAN; 2]);
            p.check(end == [o.2 as f64, o.3 as f64], || {
                format!("order {name}: the route does not end at the customer")
            });
            p.check(o.0 == ev[0].ts && o.1 == del.ts, || {
                format!("order {name}: orders.parquet times differ from its events")
            });
        }
    }

    if let Some(g) = golden {
        let text = std::fs::read_to_string(g).context(|| format!("{}: cannot read golden file", g.display()))?;
        let want: Golden = serde_json::from_str(&text).context(|| format!("{}: not a golden file", g.display()))?;
        let have = Golden::of(&manifest);
        if want != have {
            let mut diff = Vec::new();
            let (w, h) =
                (serde_json::to_value(&want).unwrap_or_default(), serde_json::to_value(&have).unwrap_or_default());
            if let (Some(w), Some(h)) = (w.as_object(), h.as_object()) {
                for (k, wv) in w {
                    if h.get(k) != Some(wv) {
                        diff.push(format!("{k}: golden {wv}, dataset {}", h.get(k).cloned().unwrap_or_default()));
                    }
                }
            }
            p.0.push(format!("differs from golden {}:\n    {}", g.display(), diff.join("\n    ")));
        }
    }
    if !p.0.is_empty() {
        return Err(Error(format!("{}: verification failed:\n  {}", dir.display(), p.0.join("\n  "))));
    }
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{}: ok — {} files match the manifest; {} orders with full lifecycles; {} events sorted; {} pings on their routes{}",
        dir.display(),
        manifest.files.len(),
        orders.len(),
        rows.len(),
        pings_checked,
        if golden.is_some() { "; matches the golden file" } else { "" }
    );
    Ok(Report { manifest, text })
}

/// An order id as a fixed array (longer ids are cut, shorter ones zero-padded;
/// either way the lifecycle checks then report the order as broken).
fn id6(s: &str) -> [u8; 6] {
    let mut id = [0u8; 6];
    let n = s.len().min(6);
    id[..n].copy_from_slice(&s.as_bytes()[..n]);
    id
}

/// Distance in metres from `p` to the nearest segment of `line`.
pub fn distance_to_polyline(p: [f64; 2], line: &[[f64; 2]]) -> f64 {
    let (my, mx) = metres_per_degree(p[0]);
    let xy = |q: [f64; 2]| ((q[1] - p[1]) * mx, (q[0] - p[0]) * my);
    let mut best = f64::INFINITY;
    for w in line.windows(2) {
        let ((ax, ay), (bx, by)) = (xy(w[0]), xy(w[1]));
        let (dx, dy) = (bx - ax, by - ay);
        let len2 = dx * dx + dy * dy;
        let t = if len2 > 0.0 { (-(ax * dx + ay * dy) / len2).clamp(0.0, 1.0) } else { 0.0 };
        let (cx, cy) = (ax + t * dx, ay + t * dy);
        best = best.min((cx * cx + cy * cy).sqrt());
    }
    best
}
