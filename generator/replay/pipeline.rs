//! Turning offsets into record bytes. [`bulk`] encodes a range of global
//! offsets in parallel for catch-up: the range is cut into units (one row
//! group of one lap each), unit `u` goes to worker `u mod W`, each worker
//! decodes its unit once and sends encoded chunks through its own bounded
//! channel, and the caller takes units back in order, so output order and
//! bytes do not depend on the thread count. [`Cursor`] serves follow mode
//! one event at a time from a cached, decoded row group.

use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Mutex;

use super::record::Encoder;
use super::schedule::Timeline;
use super::source::{Decoded, EventsFile};
use crate::error::Result;

/// Rows per encoded chunk (a few MB of JSON).
const CHUNK_ROWS: u64 = 8_192;
/// Chunks in flight per worker.
const CHANNEL_CHUNKS: usize = 4;

/// One row group (or part of it) of one lap.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Unit {
    lap: u64,
    group: usize,
    /// In-lap rows.
    lo: u64,
    hi: u64,
}

fn units(events: &EventsFile, tl: &Timeline, from: u64, to: u64) -> Vec<Unit> {
    let mut out = Vec::new();
    let mut o = from;
    while o < to {
        let (lap, idx) = tl.locate(o);
        let group = events.group_of(idx);
        let (_, group_end) = events.group_rows(group);
        let hi = group_end.min(idx + (to - o));
        out.push(Unit { lap, group, lo: idx, hi });
        o += hi - idx;
    }
    out
}

enum Msg {
    /// Bytes of the rows before global offset `end` (since the previous chunk).
    Chunk { end: u64, bytes: Vec<u8> },
    UnitDone,
    Failed(crate::error::Error),
}

/// Encodes global offsets `[from, to)` in order on `threads` workers and
/// hands each chunk to `sink(end_offset, bytes)`. No chunk crosses a `cut`
/// (sorted offsets where the caller switches batches), so the caller sees
/// every cut as some chunk's end. `sink` returns `false` to stop early.
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
    let units = units(events, tl, from, to);
    if units.is_empty() {
        return Ok(());
    }
    let workers = threads.clamp(1, units.len());
    let pool: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| -> Result<()> {
        let mut receivers: Vec<Receiver<Msg>> = Vec::with_capacity(workers);
        for w in 0..workers {
            let (tx, rx) = sync_channel::<Msg>(CHANNEL_CHUNKS);
            receivers.push(rx);
            let mine: Vec<Unit> = units.iter().copied().skip(w).step_by(workers).collect();
            let mut encoder = encoder.clone();
            let pool = &pool;
            scope.spawn(move || {
                for u in mine {
                    let decoded = match events.read(u.group, u.lo, u.hi) {
                        Ok(d) => d,
                        Err(e) => {
                            let _ = tx.send(Msg::Failed(e));
                            return;
                        }
                    };
                    let base = u.lap * tl.events;
                    let mut lo = u.lo;
                    while lo < u.hi {
                        let mut hi = u.hi.min(lo + CHUNK_ROWS);
                        let next_cut = cuts.partition_point(|&c| c <= base + lo);
                        if let Some(&c) = cuts.get(next_cut) {
                            hi = hi.min(c - base);
                        }
                        let mut bytes = pool.lock().map(|mut p| p.pop()).ok().flatten().unwrap_or_default();
                        bytes.clear();
                        encoder.encode(&decoded, lo, hi, u.lap, &mut bytes);
                        if tx.send(Msg::Chunk { end: base + hi, bytes }).is_err() {
                            return; // the caller stopped
                        }
                        lo = hi;
                    }
                    if tx.send(Msg::UnitDone).is_err() {
                        return;
                    }
                }
            });
        }
        for (u, _) in units.iter().enumerate() {
            let rx = &receivers[u % workers];
            loop {
                match rx.recv() {
                    Ok(Msg::Chunk { end, bytes }) => {
                        let go_on = sink(end, &bytes)?;
                        if let Ok(mut p) = pool.lock() {
                            if p.len() < workers * (CHANNEL_CHUNKS + 2) {
                                p.push(bytes);
                            }
                        }
                        if !go_on {
                            return Ok(());
                        }
                    }
                    Ok(Msg::UnitDone) => break,
                    Ok(Msg::Failed(e)) => return Err(e),
                    Err(_) => return Err(crate::error::Error("replay: an encoding worker stopped".into())),
                }
            }
        }
        Ok(())
    })
}

/// Follow mode's reader: the events of any global offset, decoding one row
/// group (from the requested row to its end) at a time.
pub struct Cursor<'a> {
    events: &'a EventsFile,
    tl: Timeline,
    encoder: Encoder,
    cached: Option<(usize, Decoded)>,
}

impl<'a> Cursor<'a> {
    pub fn new(events: &'a EventsFile, tl: Timeline, encoder: Encoder) -> Cursor<'a> {
        Cursor { events, tl, encoder, cached: None }
    }

    fn decoded(&mut self, idx: u64) -> Result<&Decoded> {
        let group = self.events.group_of(idx);
        let hit = matches!(&self.cached, Some((g, d)) if *g == group && idx >= d.first);
        if !hit {
            let (_, end) = self.events.group_rows(group);
            self.cached = Some((group, self.events.read(group, idx, end)?));
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
