//! Turning offsets into records. [`bulk`] encodes a range of global
//! offsets in parallel for catch-up: the range is cut into chunks of at most
//! [`CHUNK_ROWS`] records, each a few pieces (consecutive rows of one
//! stream), and the rows a plan needs into units (one row group of one
//! stream in one lap). Workers decode units (a few chunks ahead of the
//! caller, each decoded once) and encode chunks whose units are decoded; the
//! caller takes chunks back strictly in order, so output order and bytes do
//! not depend on the thread count. [`Cursor`] serves follow mode one record
//! at a time from each stream's cached, decoded row group.

use std::collections::{BTreeMap, HashMap};
use std::sync::mpsc::channel;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use super::codec::{Codec, Rows};
use super::encoded::Encoded;
use super::merge::Sources;
use super::schedule::Timeline;
use crate::error::{Error, Result};

/// Rows per encoded chunk (a few MB of JSON).
pub const CHUNK_ROWS: u64 = 8_192;
/// The initial capacity of a chunk buffer (reused afterwards).
const CHUNK_BYTES: usize = 4 << 20;
/// Encoded chunks in flight per worker.
const WINDOW_PER_WORKER: usize = 4;

/// The rows of one row group of one stream in one lap that a plan needs.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Unit {
    lap: u64,
    stream: u16,
    group: usize,
    /// In-stream rows.
    lo: u64,
    hi: u64,
}

/// In-stream rows `lo..hi` of unit `unit`, consecutive in the merge.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Piece {
    unit: usize,
    lo: u64,
    hi: u64,
}

/// Pieces `pieces` of the plan; ends at global offset `end`.
#[derive(Clone, Debug, PartialEq)]
struct Chunk {
    pieces: std::ops::Range<usize>,
    /// The distinct units its pieces read.
    units: Vec<usize>,
    end: u64,
}

#[derive(Default)]
struct Plan {
    units: Vec<Unit>,
    pieces: Vec<Piece>,
    chunks: Vec<Chunk>,
}

/// Units, pieces and chunks of global offsets `[from, to)`; no chunk
/// crosses a cut or holds more than [`CHUNK_ROWS`] records.
fn plan(src: &Sources, tl: &Timeline, from: u64, to: u64, cuts: &[u64]) -> Plan {
    let mut p = Plan::default();
    let mut unit_of: HashMap<(u64, u16, usize), usize> = HashMap::new();
    let (mut o, mut chunk_from, mut piece_from) = (from, from, 0);
    while o < to {
        let next_cut = cuts.get(cuts.partition_point(|&c| c <= chunk_from)).copied().unwrap_or(u64::MAX);
        let chunk_end = to.min(chunk_from + CHUNK_ROWS).min(next_cut);
        let (lap, idx) = tl.locate(o);
        let (stream, row, run_end) = src.locate(idx);
        let file = &src.streams[stream as usize].file;
        let group = file.group_of(row);
        let n = (run_end - idx).min(file.group_rows(group).1 - row).min(chunk_end - o);
        let unit = *unit_of.entry((lap, stream, group)).or_insert_with(|| {
            p.units.push(Unit { lap, stream, group, lo: row, hi: row });
            p.units.len() - 1
        });
        p.units[unit].hi = row + n;
        p.pieces.push(Piece { unit, lo: row, hi: row + n });
        o += n;
        if o == chunk_end {
            let pieces = piece_from..p.pieces.len();
            let mut units: Vec<usize> = p.pieces[pieces.clone()].iter().map(|x| x.unit).collect();
            units.dedup();
            units.sort_unstable();
            units.dedup();
            p.chunks.push(Chunk { pieces, units, end: o });
            (chunk_from, piece_from) = (o, p.pieces.len());
        }
    }
    p
}

enum Slot {
    Todo,
    Decoding,
    Ready(Arc<Rows>),
    Done,
}

struct State {
    /// The next chunk to hand to a worker.
    next: usize,
    /// Chunks the caller has taken.
    consumed: usize,
    slots: Vec<Slot>,
    /// Chunks of each unit not yet encoded.
    left: Vec<usize>,
    stop: bool,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Decodes unit `u` of a plan.
fn decode(src: &Sources, u: &Unit) -> Result<Rows> {
    let stream = &src.streams[u.stream as usize];
    let batch = stream.file.read(u.group, u.lo, u.hi)?;
    stream.codec.decode(&stream.file, u.lo, &batch)
}

/// Encodes chunk `c` of plan `p` from its decoded units.
fn encode_chunk(p: &Plan, c: &Chunk, rows: &[(usize, Arc<Rows>)], codecs: &mut [Codec], out: &mut Encoded) {
    for piece in &p.pieces[c.pieces.clone()] {
        let unit = &p.units[piece.unit];
        let Some((_, d)) = rows.iter().find(|(u, _)| *u == piece.unit) else { continue };
        let codec = &mut codecs[unit.stream as usize];
        for idx in piece.lo..piece.hi {
            codec.encode(d, idx, unit.lap, unit.stream, out);
        }
    }
}

/// Encodes global offsets `[from, to)` in order on `threads` workers and
/// hands each chunk to `sink(end_offset, records)`. No chunk crosses a `cut`
/// (sorted offsets where the caller switches batches), so the caller sees
/// every cut as some chunk's end. `sink` returns `false` to stop early.
pub fn bulk(
    src: &Sources,
    tl: &Timeline,
    (from, to): (u64, u64),
    cuts: &[u64],
    threads: usize,
    mut sink: impl FnMut(u64, &Encoded) -> Result<bool>,
) -> Result<()> {
    let plan = plan(src, tl, from, to, cuts);
    if plan.chunks.is_empty() {
        return Ok(());
    }
    let workers = threads.clamp(1, plan.chunks.len());
    let window = workers * WINDOW_PER_WORKER;
    let mut left = vec![0; plan.units.len()];
    for c in &plan.chunks {
        for &u in &c.units {
            left[u] += 1;
        }
    }
    let shared = Shared {
        state: Mutex::new(State {
            next: 0,
            consumed: 0,
            slots: plan.units.iter().map(|_| Slot::Todo).collect(),
            left,
            stop: false,
        }),
        wake: Condvar::new(),
    };
    let (tx, rx) = channel::<(usize, Result<Encoded>)>();
    let pool: Mutex<Vec<Encoded>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| -> Result<()> {
        for _ in 0..workers {
            let tx = tx.clone();
            let mut codecs: Vec<Codec> = src.streams.iter().map(|s| s.codec.clone()).collect();
            let (shared, plan, pool) = (&shared, &plan, &pool);
            scope.spawn(move || work(src, plan, shared, pool, &mut codecs, window, workers, tx));
        }
        drop(tx);
        let result = (|| -> Result<()> {
            let mut waiting: BTreeMap<usize, Encoded> = BTreeMap::new();
            for (i, c) in plan.chunks.iter().enumerate() {
                let records = loop {
                    if let Some(b) = waiting.remove(&i) {
                        break b;
                    }
                    match rx.recv() {
                        Ok((j, Ok(b))) => {
                            waiting.insert(j, b);
                        }
                        Ok((_, Err(e))) => return Err(e),
                        Err(_) => return Err(Error("replay: the encoding workers stopped".into())),
                    }
                };
                let go_on = sink(c.end, &records)?;
                if let Ok(mut p) = pool.lock() {
                    if p.len() < window + workers {
                        p.push(records);
                    }
                }
                let mut st = shared.lock();
                st.consumed += 1;
                shared.wake.notify_all();
                if !go_on {
                    return Ok(());
                }
            }
            Ok(())
        })();
        let mut st = shared.lock();
        st.stop = true;
        shared.wake.notify_all();
        drop(st);
        result
    })
}

/// One encoding worker of [`bulk`]: encodes the next chunk whose units are
/// decoded (within the window), else decodes a unit the next chunks need,
/// else waits.
#[allow(clippy::too_many_arguments)]
fn work(
    src: &Sources,
    plan: &Plan,
    shared: &Shared,
    pool: &Mutex<Vec<Encoded>>,
    codecs: &mut [Codec],
    window: usize,
    workers: usize,
    tx: std::sync::mpsc::Sender<(usize, Result<Encoded>)>,
) {
    let mut st = shared.lock();
    loop {
        if st.stop {
            return;
        }
        // 1. Encode the next chunk if its units are decoded and the window allows.
        if st.next < plan.chunks.len() && st.next < st.consumed + window {
            let (i, c) = (st.next, &plan.chunks[st.next]);
            let ready: Option<Vec<(usize, Arc<Rows>)>> = c
                .units
                .iter()
                .map(|&u| match &st.slots[u] {
                    Slot::Ready(d) => Some((u, Arc::clone(d))),
                    _ => None,
                })
                .collect();
            if let Some(rows) = ready {
                st.next += 1;
                drop(st);
                let mut out =
                    pool.lock().ok().and_then(|mut p| p.pop()).unwrap_or_else(|| Encoded::with_capacity(CHUNK_BYTES));
                out.clear();
                encode_chunk(plan, c, &rows, codecs, &mut out);
                drop(rows);
                if tx.send((i, Ok(out))).is_err() {
                    return;
                }
                st = shared.lock();
                for &u in &c.units {
                    st.left[u] -= 1;
                    if st.left[u] == 0 {
                        st.slots[u] = Slot::Done;
                    }
                }
                continue;
            }
        }
        // 2. Decode the first undecoded unit the next few chunks need.
        let ahead = (st.next + workers).min(plan.chunks.len());
        let todo = plan.chunks[st.next.min(ahead)..ahead]
            .iter()
            .flat_map(|c| c.units.iter().copied())
            .find(|&u| matches!(st.slots[u], Slot::Todo));
        if let Some(u) = todo {
            st.slots[u] = Slot::Decoding;
            drop(st);
            let decoded = decode(src, &plan.units[u]);
            st = shared.lock();
            match decoded {
                Ok(d) => st.slots[u] = Slot::Ready(Arc::new(d)),
                Err(e) => {
                    st.stop = true;
                    let _ = tx.send((usize::MAX, Err(e)));
                }
            }
            shared.wake.notify_all();
            continue;
        }
        // 3. Nothing to do now.
        if st.next >= plan.chunks.len() {
            return;
        }
        st = shared.wake.wait(st).unwrap_or_else(|p| p.into_inner());
    }
}

/// Follow mode's reader: the record of any global offset, decoding one row
/// group of a stream (from the requested row to its end) at a time.
pub struct Cursor<'a> {
    src: &'a Sources,
    tl: Timeline,
    codecs: Vec<Codec>,
    /// Per stream: the decoded row group.
    cached: Vec<Option<(usize, Rows)>>,
    /// The next row group of a stream, decoding in the background so that
    /// crossing a row group boundary does not stall the releases.
    prefetch: Option<(u16, usize, std::thread::JoinHandle<Result<Rows>>)>,
}

impl<'a> Cursor<'a> {
    pub fn new(src: &'a Sources, tl: Timeline) -> Cursor<'a> {
        let codecs = src.streams.iter().map(|s| s.codec.clone()).collect();
        Cursor { src, tl, codecs, cached: src.streams.iter().map(|_| None).collect(), prefetch: None }
    }

    /// The rows of in-lap merged index `idx`: (stream, in-stream row).
    fn decoded(&mut self, idx: u64) -> Result<(u16, u64)> {
        let (stream, row, _) = self.src.locate(idx);
        let s = stream as usize;
        let file = &self.src.streams[s].file;
        let group = file.group_of(row);
        let hit = matches!(&self.cached[s], Some((g, d)) if *g == group && row >= d.first);
        if !hit {
            let prefetched = match self.prefetch.take() {
                Some((ps, g, handle)) if ps == stream && g == group => {
                    Some(handle.join().map_err(|_| Error("replay: the prefetching thread panicked".into()))??)
                }
                other => {
                    self.prefetch = other;
                    None
                }
            };
            let d = match prefetched {
                Some(d) => d,
                None => decode(self.src, &Unit { lap: 0, stream, group, lo: row, hi: file.group_rows(group).1 })?,
            };
            self.cached[s] = Some((group, d));
            let next = if group + 1 < file.row_groups() { group + 1 } else { 0 };
            if self.prefetch.is_none() && next != group && (next > group || self.tl.looping) {
                let src = self.src.clone();
                let (lo, hi) = file.group_rows(next);
                let handle = std::thread::spawn(move || decode(&src, &Unit { lap: 0, stream, group: next, lo, hi }));
                self.prefetch = Some((stream, next, handle));
            }
        }
        Ok((stream, row))
    }

    /// The event time of a global offset, lap shift included.
    pub fn ts(&mut self, offset: u64) -> Result<i64> {
        let (lap, idx) = self.tl.locate(offset);
        let shift = lap as i64 * self.tl.lap_ms();
        let (s, row) = self.decoded(idx)?;
        let (_, d) = self.cached[s as usize].as_ref().expect("just decoded");
        Ok(d.ts[(row - d.first) as usize] + shift)
    }

    /// Appends the record of a global offset.
    pub fn encode(&mut self, offset: u64, out: &mut Encoded) -> Result<()> {
        let (lap, idx) = self.tl.locate(offset);
        let (s, row) = self.decoded(idx)?;
        let (_, d) = self.cached[s as usize].as_ref().expect("decoded above");
        self.codecs[s as usize].encode(d, row, lap, s, out);
        Ok(())
    }
}
