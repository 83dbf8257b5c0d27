//! Turning offsets into record bytes. [`bulk`] encodes a range of global
//! offsets in parallel for catch-up: the range is cut into units (one row
//! group of one lap each) and units into chunks of at most [`CHUNK_ROWS`]
//! rows. Workers decode units (a few ahead of the caller, each decoded once)
//! and encode chunks (any worker, any chunk of a decoded unit); the caller
//! takes chunks back strictly in order, so output order and bytes do not
//! depend on the thread count. [`Cursor`] serves follow mode one event at a
//! time from a cached, decoded row group.

use std::collections::BTreeMap;
use std::sync::mpsc::channel;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use super::record::Encoder;
use super::schedule::Timeline;
use super::source::{Decoded, EventsFile};
use crate::error::{Error, Result};

/// Rows per encoded chunk (a few MB of JSON).
pub const CHUNK_ROWS: u64 = 8_192;
/// The initial capacity of a chunk buffer (reused afterwards).
const CHUNK_BYTES: usize = 4 << 20;
/// Encoded chunks in flight per worker.
const WINDOW_PER_WORKER: usize = 4;

/// One row group (or part of it) of one lap.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Unit {
    lap: u64,
    group: usize,
    /// In-lap rows.
    lo: u64,
    hi: u64,
}

/// Rows `lo..hi` (in-lap) of unit `unit`.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Chunk {
    unit: usize,
    lo: u64,
    hi: u64,
}

/// Units and chunks of global offsets `[from, to)`; no chunk crosses a cut.
fn plan(events: &EventsFile, tl: &Timeline, from: u64, to: u64, cuts: &[u64]) -> (Vec<Unit>, Vec<Chunk>) {
    let (mut units, mut chunks) = (Vec::new(), Vec::new());
    let mut o = from;
    while o < to {
        let (lap, idx) = tl.locate(o);
        let group = events.group_of(idx);
        let (_, group_end) = events.group_rows(group);
        let hi = group_end.min(idx + (to - o));
        let base = lap * tl.events;
        let mut lo = idx;
        while lo < hi {
            let mut end = hi.min(lo + CHUNK_ROWS);
            if let Some(&c) = cuts.get(cuts.partition_point(|&c| c <= base + lo)) {
                end = end.min(c - base);
            }
            chunks.push(Chunk { unit: units.len(), lo, hi: end });
            lo = end;
        }
        units.push(Unit { lap, group, lo: idx, hi });
        o += hi - idx;
    }
    (units, chunks)
}

enum Slot {
    Todo,
    Decoding,
    Ready(Arc<Decoded>),
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

/// Encodes global offsets `[from, to)` in order on `threads` workers and
/// hands each chunk to `sink(end_offset, bytes)`. No chunk crosses a `cut`
/// (sorted offsets where the caller switches batches), so the caller sees
/// every cut as some chunk's end. `sink` returns `false` to stop early.
#[allow(clippy::too_many_arguments)]
pub fn bulk(
    events: &EventsFile,
    encoder: &Encoder,
    tl: &Timeline,
    from: u64,
    to: u64,
    cuts: &[u64],
    threads: usize,
    mut sink: impl FnMut(u64, &[u8]) -> Result<bool>,
) -> Result<()> {
    let (units, chunks) = plan(events, tl, from, to, cuts);
    if chunks.is_empty() {
        return Ok(());
    }
    let workers = threads.clamp(1, chunks.len());
    let window = workers * WINDOW_PER_WORKER;
    let mut left = vec![0; units.len()];
    for c in &chunks {
        left[c.unit] += 1;
    }
    let shared = Shared {
        state: Mutex::new(State {
            next: 0,
            consumed: 0,
            slots: units.iter().map(|_| Slot::Todo).collect(),
            left,
            stop: false,
        }),
        wake: Condvar::new(),
    };
    let (tx, rx) = channel::<(usize, Result<Vec<u8>>)>();
    let pool: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| -> Result<()> {
        for _ in 0..workers {
            let tx = tx.clone();
            let mut encoder = encoder.clone();
            let (shared, units, chunks, pool) = (&shared, &units, &chunks, &pool);
            scope.spawn(move || {
                let mut st = shared.lock();
                loop {
                    if st.stop {
                        return;
                    }
                    // 1. Encode the next chunk if its unit is decoded and the window allows.
                    if st.next < chunks.len() && st.next < st.consumed + window {
                        let (i, c) = (st.next, chunks[st.next]);
                        if let Slot::Ready(d) = &st.slots[c.unit] {
                            let d = Arc::clone(d);
                            st.next += 1;
                            drop(st);
                            let mut bytes = pool
                                .lock()
                                .ok()
                                .and_then(|mut p| p.pop())
                                .unwrap_or_else(|| Vec::with_capacity(CHUNK_BYTES));
                            bytes.clear();
                            encoder.encode(&d, c.lo, c.hi, units[c.unit].lap, &mut bytes);
                            drop(d);
                            if tx.send((i, Ok(bytes))).is_err() {
                                return;
                            }
                            st = shared.lock();
                            st.left[c.unit] -= 1;
                            if st.left[c.unit] == 0 {
                                st.slots[c.unit] = Slot::Done;
                            }
                            continue;
                        }
                    }
                    // 2. Decode the first undecoded unit among the next few.
                    let first = chunks.get(st.next).map_or(units.len(), |c| c.unit);
                    let ahead = (first + workers).min(units.len());
                    if let Some(u) = (first..ahead).find(|&u| matches!(st.slots[u], Slot::Todo)) {
                        st.slots[u] = Slot::Decoding;
                        drop(st);
                        let unit = units[u];
                        let decoded = events.read(unit.group, unit.lo, unit.hi);
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
                    if st.next >= chunks.len() {
                        return;
                    }
                    st = shared.wake.wait(st).unwrap_or_else(|p| p.into_inner());
                }
            });
        }
        drop(tx);
        let result = (|| -> Result<()> {
            let mut waiting: BTreeMap<usize, Vec<u8>> = BTreeMap::new();
            for (i, c) in chunks.iter().enumerate() {
                let bytes = loop {
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
                let end = units[c.unit].lap * tl.events + c.hi;
                let go_on = sink(end, &bytes)?;
                if let Ok(mut p) = pool.lock() {
                    if p.len() < window + workers {
                        p.push(bytes);
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

/// Follow mode's reader: the events of any global offset, decoding one row
/// group (from the requested row to its end) at a time.
pub struct Cursor<'a> {
    events: &'a EventsFile,
    tl: Timeline,
    encoder: Encoder,
    cached: Option<(usize, Decoded)>,
    /// The next row group, decoding in the background so that crossing a
    /// row group boundary does not stall the releases.
    prefetch: Option<(usize, std::thread::JoinHandle<Result<Decoded>>)>,
}

impl<'a> Cursor<'a> {
    pub fn new(events: &'a EventsFile, tl: Timeline, encoder: Encoder) -> Cursor<'a> {
        Cursor { events, tl, encoder, cached: None, prefetch: None }
    }

    fn decoded(&mut self, idx: u64) -> Result<&Decoded> {
        let group = self.events.group_of(idx);
        let hit = matches!(&self.cached, Some((g, d)) if *g == group && idx >= d.first);
        if !hit {
            let prefetched = match self.prefetch.take() {
                Some((g, handle)) if g == group => {
                    Some(handle.join().map_err(|_| Error("replay: the prefetching thread panicked".into()))??)
                }
                _ => None,
            };
            let d = match prefetched {
                Some(d) => d,
                None => {
                    let (_, end) = self.events.group_rows(group);
                    self.events.read(group, idx, end)?
                }
            };
            self.cached = Some((group, d));
            let next = if group + 1 < self.events.row_groups() { group + 1 } else { 0 };
            if next != group && (next > group || self.tl.looping) {
                let events = self.events.clone();
                let handle = std::thread::spawn(move || {
                    let (start, end) = events.group_rows(next);
                    events.read(next, start, end)
                });
                self.prefetch = Some((next, handle));
            }
        }
        Ok(&self.cached.as_ref().expect("just decoded").1)
    }

    /// The event time of a global offset, lap shift included.
    pub fn ts(&mut self, offset: u64) -> Result<i64> {
        let (lap, idx) = self.tl.locate(offset);
        let shift = lap as i64 * self.tl.lap_ms();
        let d = self.decoded(idx)?;
        Ok(d.ts[(idx - d.first) as usize] + shift)
    }

    /// Appends the record of a global offset.
    pub fn encode(&mut self, offset: u64, out: &mut Vec<u8>) -> Result<()> {
        let (lap, idx) = self.tl.locate(offset);
        self.decoded(idx)?;
        let (_, d) = self.cached.as_ref().expect("decoded above");
        self.encoder.encode(d, idx, idx + 1, lap, out);
        Ok(())
    }
}
