//! Benchmark: the replay's JSON encoding on one core, apart from decoding and
//! sinks, over the first six row groups of a dataset. Run by bench/replay.sh:
//!   cargo run --release --example encode_rate -- DATASET

use std::time::Instant;

use simkit::replay::record::Encoder;
use simkit::replay::source::EventsFile;
use simkit::sinks::manifest::Manifest;

fn main() -> Result<(), String> {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).ok_or("usage: encode_rate DATASET")?);
    let m = Manifest::read(&dir).map_err(|e| e.0)?;
    let ev = EventsFile::open(&dir).map_err(|e| e.0)?;
    let started = Instant::now();
    let decoded = (0..ev.row_groups().min(6))
        .map(|g| {
            let (a, b) = ev.group_rows(g);
            ev.read(g, a, b).map_err(|e| e.0)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let decode_s = started.elapsed().as_secs_f64();
    let rows: usize = decoded.iter().map(|d| d.len()).sum();
    let mut enc = Encoder::new(&m.fingerprint, 1);
    let mut buf = Vec::with_capacity(64 << 20);
    let (mut best, mut bytes) = (f64::MAX, 0);
    for _ in 0..5 {
        let t = Instant::now();
        for d in &decoded {
            let end = d.first + d.len() as u64;
            for lo in (d.first..end).step_by(8_192) {
                buf.clear();
                enc.encode(d, lo, (lo + 8_192).min(end), 0, &mut buf);
                bytes += buf.len();
            }
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!(
        "JSON encoding, one core: {rows} events decoded in {decode_s:.3} s ({:.2} M events/s); encoded in {best:.3} s (best of 5) = {:.2} M events/s, {:.0} MB/s",
        rows as f64 / decode_s / 1e6,
        rows as f64 / best / 1e6,
        bytes as f64 / 5.0 / best / 1e6
    );
    Ok(())
}
