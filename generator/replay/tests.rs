//! End-to-end tests of the replay core on a small generated dataset (2 days,
//! small row groups so ranges cross them), driven by a fake clock so that
//! catch-up, advance, pacing, loops and pending batches are checked exactly.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use super::checkpoint::{Pending, Store};
use super::schedule::{Clock, DAY_MS};
use super::sink::{batch_file_name, Sink};
use super::source::TableFile;
use super::*;
use crate::generate;

/// A 2-day dataset with 3,000-row groups, generated once per test process.
fn dataset() -> &'static Path {
    static DS: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &DS.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("ds");
        let opts = generate::Options {
            scenario: root.join("scenarios/caspers.toml"),
            days: Some(2),
            out: Some(out.clone()),
            quiet: true,
            sets: vec!["output.row_group_rows=3000".into()],
            data_dir: root,
            ..Default::default()
        };
        generate::run(&opts).unwrap();
        (tmp, out)
    })
    .1
}

/// Every event's ts in dataset order.
fn all_ts() -> Vec<i64> {
    let ev = events_file();
    (0..ev.row_groups()).flat_map(|g| ev.group_times(g).unwrap()).collect()
}

fn events_file() -> TableFile {
    TableFile::open(dataset(), "events", "ts", &["ts"]).unwrap()
}

fn manifest() -> Manifest {
    Manifest::read(dataset()).unwrap()
}

/// A clock that only moves when told to, or when slept on.
struct FakeClock {
    now: AtomicI64,
    /// Sets `stop` once the clock reaches `stop_at`.
    stop_at: Option<(i64, Arc<AtomicBool>)>,
}

impl FakeClock {
    fn at(now: i64) -> FakeClock {
        FakeClock { now: AtomicI64::new(now), stop_at: None }
    }
    fn add(&self, ms: i64) {
        self.now.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for FakeClock {
    fn now_ms(&self) -> i64 {
        self.now.load(Ordering::SeqCst)
    }
    fn sleep_until(&self, until_ms: i64) {
        self.now.fetch_max(until_ms, Ordering::SeqCst);
        if let Some((at, stop)) = &self.stop_at {
            if until_ms >= *at {
                stop.store(true, Ordering::SeqCst);
            }
        }
    }
}

/// Writes stamped with the fake clock's time.
type Writes = Arc<Mutex<Vec<(i64, Vec<u8>)>>>;

/// Keeps what a sink is given, stamped with the fake clock.
#[derive(Clone)]
struct Recorder {
    clock: Arc<FakeClock>,
    writes: Writes,
    batches: Arc<Mutex<Vec<(u64, u64)>>>,
    from: u64,
}

impl Sink for Recorder {
    fn exactly_once(&self) -> bool {
        true
    }
    fn begin(&mut self, from: u64) -> Result<()> {
        self.from = from;
        Ok(())
    }
    fn write(&mut self, records: &Encoded) -> Result<()> {
        self.writes.lock().unwrap().push((self.clock.now_ms(), records.bytes.clone()));
        Ok(())
    }
    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
    fn finish(&mut self, to: u64) -> Result<super::sink::Publish> {
        self.batches.lock().unwrap().push((self.from, to));
        Ok(super::sink::Publish::done())
    }
}

fn opts(dir: &Path) -> Options {
    Options {
        dataset: dataset().to_path_buf(),
        sink: format!("dir:{}", dir.join("out").display()),
        checkpoint: Some(dir.join("ckpt")),
        quiet: true,
        ..Default::default()
    }
}

/// Records of every file in a `dir:` sink, in offset order, checking that the
/// files tile `[0, n)` without gaps or overlaps.
fn dir_records(out: &Path) -> Vec<serde_json::Value> {
    let out = &out.join("events");
    let mut files: Vec<(u64, u64, PathBuf)> = std::fs::read_dir(out)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().to_string();
            let range = name.strip_prefix("events-")?.strip_suffix(".jsonl")?.to_string();
            let (a, b) = range.split_once('-')?;
            Some((a.parse().unwrap(), b.parse().unwrap(), out.join(&name)))
        })
        .collect();
    files.sort();
    let mut next = 0;
    let mut records = Vec::new();
    for (a, b, path) in files {
        assert_eq!(a, next, "files must tile the offsets: {}", path.display());
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len() as u64, b - a, "{}", path.display());
        records.extend(lines.iter().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()));
        next = b;
    }
    records
}

fn lines(bytes: &[u8]) -> Vec<serde_json::Value> {
    std::str::from_utf8(bytes).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn ts_of(r: &serde_json::Value) -> i64 {
    let s = r["ts"].as_str().unwrap();
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.3f").unwrap().and_utc().timestamp_millis()
}

const WALL: i64 = 1_900_000_000_000;
/// UTC midnight of the dataset's start date: the first run's day grid.
const EPOCH: i64 = 1_704_067_200_000;

#[test]
fn first_run_then_later_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let m = manifest();
    let ts = all_ts();
    let clock = FakeClock::at(WALL);
    let stop = AtomicBool::new(false);
    let mut o = opts(tmp.path());
    o.start_day = Some(1);
    o.catch_up_to = Some("2031-07-04T15:30:00.500+02:00".into()); // 13:30:00.500 UTC
    o.speed = 60.0;
    let s1 = run_with(&o, &clock, &stop).unwrap();
    let p1 = EPOCH + DAY_MS + (13 * 3600 + 30 * 60) * 1000 + 500;
    let due1 = ts.iter().filter(|&&t| t < p1).count() as u64;
    assert_eq!((s1.from, s1.to, s1.position_ms), (0, due1, p1));
    let store = Store::open(&tmp.path().join("ckpt")).unwrap();
    let c = store.load().unwrap().unwrap();
    drop(store);
    assert_eq!((c.position_ms, c.wall_ms, c.events_emitted, c.pending), (p1, WALL, due1, None));
    assert_eq!(c.fingerprint, m.fingerprint);

    // 10 s later at speed 60: the next 10 simulated minutes, nothing else.
    clock.add(10_000);
    let s2 = run_with(&o, &clock, &stop).unwrap();
    let p2 = p1 + 600_000;
    let due2 = ts.iter().filter(|&&t| t < p2).count() as u64;
    assert_eq!((s2.from, s2.to, s2.position_ms), (due1, due2, p2));
    assert!(due2 > due1, "the window should hold events");

    // A clock that went backwards: nothing new, position kept.
    clock.add(-60_000);
    let s3 = run_with(&o, &clock, &stop).unwrap();
    assert_eq!((s3.from, s3.to, s3.position_ms), (due2, due2, p2));

    // That run re-anchored at the earlier wall time: the next run counts from
    // there. --catch-up-to only matters on a first run; the speed may change.
    clock.add(2_000);
    o.speed = 3600.0;
    let s4 = run_with(&o, &clock, &stop).unwrap();
    assert_eq!(s4.position_ms, p2 + 2_000 * 3_600);

    let records = dir_records(&tmp.path().join("out"));
    assert_eq!(records.len() as u64, s4.to);
    let ids: HashSet<&str> = records.iter().map(|r| r["event_id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), records.len(), "event ids are unique");
    for (r, &t) in records.iter().zip(&ts) {
        assert_eq!(ts_of(r), t);
    }
}

#[test]
fn no_checkpoint_means_every_run_is_a_first_run() {
    let tmp = tempfile::tempdir().unwrap();
    let clock = FakeClock::at(WALL);
    let stop = AtomicBool::new(false);
    let mut o = opts(tmp.path());
    o.checkpoint = None;
    o.sink = "stdout".into();
    o.catch_up_to = Some("2024-01-01T02:00:00Z".into());
    let a = run_inner(&o, &clock, &stop, Some(Box::new(recorder(&clock_arc(WALL))))).unwrap();
    clock.add(3_600_000);
    let b = run_inner(&o, &clock, &stop, Some(Box::new(recorder(&clock_arc(WALL))))).unwrap();
    assert_eq!((a.from, a.to), (b.from, b.to));
}

fn clock_arc(now: i64) -> Arc<FakeClock> {
    Arc::new(FakeClock::at(now))
}

fn recorder(clock: &Arc<FakeClock>) -> Recorder {
    Recorder { clock: clock.clone(), writes: Default::default(), batches: Default::default(), from: 0 }
}

#[test]
fn follow_releases_each_event_at_its_moment() {
    let tmp = tempfile::tempdir().unwrap();
    let ts = all_ts();
    let stop = Arc::new(AtomicBool::new(false));
    let speed = 600.0;
    // Stop after 90 s of wall time: 15 simulated hours.
    let clock = Arc::new(FakeClock { now: AtomicI64::new(WALL), stop_at: Some((WALL + 90_000, stop.clone())) });
    let rec = recorder(&clock);
    let mut o = opts(tmp.path());
    o.follow = true;
    o.speed = speed;
    o.catch_up_to = Some("2024-01-01T06:00:00Z".into());
    let s = run_inner(&o, clock.as_ref(), &stop, Some(Box::new(rec.clone()))).unwrap();
    assert!(s.interrupted && !s.ended);
    let p0 = EPOCH + 6 * 3_600_000;
    let caught_up = ts.iter().filter(|&&t| t < p0).count();

    let writes = rec.writes.lock().unwrap().clone();
    let mut released = Vec::new();
    for (at, bytes) in &writes {
        for r in lines(bytes) {
            released.push((*at, ts_of(&r)));
        }
    }
    assert_eq!(released.len() as u64, s.to);
    for (i, &(at, t)) in released.iter().enumerate().skip(caught_up) {
        assert_eq!(t, ts[i]);
        let due = WALL + ((t - p0) as f64 / speed).ceil() as i64;
        assert!(at <= due && at >= due - RELEASE_SLACK_MS as i64, "event {i} due at {due} released at {at}");
    }
    // Paced, not bursts: the paced events came in many separate releases.
    let paced_writes = writes.iter().filter(|(at, _)| *at > WALL).count();
    assert!(paced_writes > 100, "{paced_writes} releases");
    // Micro-batches tile the offsets; paced ones last at most FOLLOW_BATCH_MS.
    let batches = rec.batches.lock().unwrap().clone();
    assert_eq!(batches.first().map(|b| b.0), Some(0));
    assert!(batches.windows(2).all(|w| w[0].1 == w[1].0));
    assert_eq!(batches.last().unwrap().1, s.to);
    assert!(batches.len() >= 80, "about one batch a second: {}", batches.len());
    let store = Store::open(&tmp.path().join("ckpt")).unwrap();
    let c = store.load().unwrap().unwrap();
    assert_eq!(c.events_emitted, s.to);
    assert_eq!(c.pending, None);
}

#[test]
fn follow_ends_with_the_dataset() {
    let tmp = tempfile::tempdir().unwrap();
    let n = all_ts().len() as u64;
    let clock = FakeClock::at(WALL);
    let stop = AtomicBool::new(false);
    let mut o = opts(tmp.path());
    o.follow = true;
    o.speed = 100_000.0;
    o.catch_up_to = Some("2024-01-01T00:00:00Z".into());
    let s = run_with(&o, &clock, &stop).unwrap();
    assert!(s.ended && !s.interrupted);
    assert_eq!((s.from, s.to), (0, n));
    assert_eq!(dir_records(&tmp.path().join("out")).len() as u64, n);
    // Nothing more to do afterwards, in either mode.
    clock.add(1_000_000);
    let again = run_with(&o, &clock, &stop).unwrap();
    assert_eq!((again.from, again.to), (n, n));
}

#[test]
fn loop_shifts_time_and_order_ids_per_lap() {
    let tmp = tempfile::tempdir().unwrap();
    let m = manifest();
    let ts = all_ts();
    let n = ts.len() as u64;
    let ev = events_file();
    let tl = Timeline::new(m.scenario.start_ms, m.scenario.end_ms, ev.last_ts(), n, true);
    let lap = tl.lap_ms();
    let clock = FakeClock::at(WALL);
    let stop = AtomicBool::new(false);
    let mut o = opts(tmp.path());
    o.looping = true;
    o.start_day = Some(1);
    o.catch_up_to = Some("2024-01-01T23:00:00Z".into());
    o.speed = 1_000.0;
    run_with(&o, &clock, &stop).unwrap();
    // Advance into lap 2, past two dataset lengths.
    let p1 = EPOCH + DAY_MS + 23 * 3_600_000;
    let elapsed = (m.scenario.start_ms + 2 * lap + 3 * 3_600_000 - p1) / 1_000;
    clock.add(elapsed);
    let s = run_with(&o, &clock, &stop).unwrap();
    let target = p1 + elapsed * 1_000;
    assert_eq!(s.position_ms, target);
    assert_eq!(tl.split(target).0, 2);
    let in_lap = ts.iter().filter(|&&t| t < target - 2 * lap).count() as u64;
    assert_eq!(s.to, 2 * n + in_lap);

    let records = dir_records(&tmp.path().join("out"));
    assert_eq!(records.len() as u64, s.to);
    let mut ids = HashSet::new();
    for (i, r) in records.iter().enumerate() {
        let (k, idx) = ((i as u64) / n, (i as u64) % n);
        assert_eq!(ts_of(r), ts[idx as usize] + k as i64 * lap, "offset {i}");
        let order = r["order_id"].as_str().unwrap();
        let base = records[idx as usize]["order_id"].as_str().unwrap();
        if k == 0 {
            assert_eq!(order.len(), 6);
        } else {
            assert_eq!(order, format!("{base}-{k}"));
        }
        assert!(ids.insert(r["event_id"].as_str().unwrap().to_string()), "duplicate id at {i}");
    }
    // Timestamps never go back across the lap boundary.
    assert!(records.windows(2).all(|w| ts_of(&w[0]) <= ts_of(&w[1])));
}

#[test]
fn a_pending_batch_is_published_again_identically() {
    let tmp = tempfile::tempdir().unwrap();
    let clock = FakeClock::at(WALL);
    let stop = AtomicBool::new(false);
    let mut o = opts(tmp.path());
    o.catch_up_to = Some("2024-01-01T20:00:00Z".into());
    o.start_day = Some(1);
    let s = run_with(&o, &clock, &stop).unwrap();
    let out = tmp.path().join("out");
    // Pretend the run died after recording its only batch as pending.
    let out = out.join("events");
    let name = batch_file_name("events", 0, s.to, WireFormat::Json);
    let original = std::fs::read(out.join(&name)).unwrap();
    std::fs::remove_file(out.join(&name)).unwrap();
    std::fs::write(out.join(".events-000000000000.jsonl.tmp"), b"half a batch").unwrap();
    {
        let mut store = Store::open(&tmp.path().join("ckpt")).unwrap();
        let mut c = store.load().unwrap().unwrap();
        c.pending =
            Some(Pending { from: 0, to: Some(s.to), position_ms: c.position_ms, wall_ms: c.wall_ms, marks: None });
        c.events_emitted = 0;
        c.position_ms = manifest().scenario.start_ms;
        store.store(&c).unwrap();
    }
    let again = run_with(&o, &clock, &stop).unwrap();
    assert_eq!((again.from, again.to), (0, s.to));
    assert_eq!(std::fs::read(out.join(&name)).unwrap(), original);
    let names: Vec<String> =
        std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into()).collect();
    assert!(!names.iter().any(|n| n.ends_with(".tmp")), "{names:?}");
    let store = Store::open(&tmp.path().join("ckpt")).unwrap();
    assert_eq!(store.load().unwrap().unwrap().pending, None);
}

#[test]
fn catch_up_batches_are_cut_at_fixed_offsets() {
    assert_eq!(Replay::cuts(0, 10), Vec::<u64>::new());
    let b = BULK_BATCH_EVENTS;
    assert_eq!(Replay::cuts(5, 2 * b + 3), vec![b, 2 * b]);
    assert_eq!(Replay::cuts(b, 2 * b), Vec::<u64>::new());
}

#[test]
fn invalid_options_and_foreign_checkpoints_are_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let clock = FakeClock::at(WALL);
    let stop = AtomicBool::new(false);
    let err = |o: &Options| run_with(o, &clock, &stop).unwrap_err().0;
    let base = opts(tmp.path());
    for speed in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert!(err(&Options { speed, ..base.clone() }).contains("--speed"), "{speed}");
    }
    assert!(err(&Options { available_now: true, follow: true, ..base.clone() }).contains("choose one"));
    assert!(err(&Options { catch_up_to: Some("yesterday".into()), ..base.clone() }).contains("RFC 3339"));
    assert!(err(&Options { start_day: Some(2), ..base.clone() }).contains("beyond the dataset"));
    assert!(err(&Options { sink: "kafka://x:1/t".into(), ..base.clone() }).contains("--sink"));
    let not_ds = tmp.path().join("nothing");
    std::fs::create_dir_all(&not_ds).unwrap();
    assert!(err(&Options { dataset: not_ds, ..base.clone() }).contains("not a simkit dataset"));

    // A checkpoint of another dataset, or of another sink.
    run_with(&Options { catch_up_to: Some("2024-01-01T01:00:00Z".into()), ..base.clone() }, &clock, &stop).unwrap();
    {
        let mut store = Store::open(&tmp.path().join("ckpt")).unwrap();
        let mut c = store.load().unwrap().unwrap();
        c.fingerprint = "0".repeat(64);
        store.store(&c).unwrap();
    }
    assert!(err(&base).contains("belongs to another dataset"));
    {
        let mut store = Store::open(&tmp.path().join("ckpt")).unwrap();
        let mut c = store.load().unwrap().unwrap();
        c.fingerprint = manifest().fingerprint;
        store.store(&c).unwrap();
    }
    run_with(&base, &clock, &stop).unwrap();
    assert!(err(&Options { sink: format!("dir:{}", tmp.path().join("elsewhere").display()), ..base.clone() })
        .contains("belongs to --sink"));
}
