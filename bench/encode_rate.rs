//! Benchmark: the replay's record encoding on one core, apart from decoding
//! and sinks, over the first six row groups of a dataset's first stream (the
//! ghost kitchen's events). Run by bench/replay.sh:
//!   cargo run --release --example encode_rate -- DATASET

use std::time::Instant;

use simkit::replay::encoded::Encoded;
use simkit::replay::merge::Sources;
use simkit::replay::WireFormat;
use simkit::sinks::manifest::Manifest;

fn main() -> Result<(), String> {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).ok_or("usage: encode_rate DATASET")?);
    let m = Manifest::read(&dir).map_err(|e| e.0)?;
    let kind = simkit::kinds::find(&m.scenario.kind).ok_or("unknown kind")?;
    let specs = (kind.streams)();
    let mut src = Sources::open(&dir, &specs[..1], WireFormat::Json, &m.fingerprint).map_err(|e| e.0)?;
    src.set_lap_ms(1);
    let stream = &src.streams[0];
    let started = Instant::now();
    let decoded = (0..stream.file.row_groups().min(6))
        .map(|g| {
            let (a, b) = stream.file.group_rows(g);
            let batch = stream.file.read(g, a, b).map_err(|e| e.0)?;
            stream.codec.decode(&stream.file, a, &batch).map_err(|e| e.0)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let decode_s = started.elapsed().as_secs_f64();
    let rows: usize = decoded.iter().map(|d| d.ts.len()).sum();
    let mut codec = stream.codec.clone();
    let mut out = Encoded::with_capacity(64 << 20);
    let (mut best, mut bytes) = (f64::MAX, 0);
    for _ in 0..5 {
        let t = Instant::now();
        for d in &decoded {
            let end = d.first + d.ts.len() as u64;
            for lo in (d.first..end).step_by(8_192) {
                out.clear();
                for idx in lo..(lo + 8_192).min(end) {
                    codec.encode(d, idx, 0, 0, &mut out);
                }
                bytes += out.bytes.len();
            }
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!(
        "JSON encoding, one core: {rows} records decoded in {decode_s:.3} s ({:.2} M records/s); encoded in {best:.3} s (best of 5) = {:.2} M records/s, {:.0} MB/s",
        rows as f64 / decode_s / 1e6,
        rows as f64 / best / 1e6,
        bytes as f64 / 5.0 / best / 1e6
    );
    Ok(())
}
