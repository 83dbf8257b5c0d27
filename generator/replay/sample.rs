//! The first records of each stream of a dataset, exactly as `replay`
//! emits them (JSON lines, event ids and all): what `simkit preview
//! --sample N` shows of a short run.

use std::path::Path;

use super::codec::{Codec, WireFormat};
use super::encoded::Encoded;
use super::source::TableFile;
use crate::error::Result;
use crate::sinks::manifest::Manifest;

/// Up to `n` records of each of the dataset's streams, in stream order.
pub fn first_records(dir: &Path, n: usize) -> Result<Vec<(String, Vec<String>)>> {
    let m = Manifest::read(dir)?;
    let mut out = Vec::new();
    for (k, spec) in m.streams.iter().enumerate() {
        let mut codec = Codec::new(spec, WireFormat::Json, &m.fingerprint, 0)?;
        let file = TableFile::open(dir, &spec.table, &spec.time, &codec.columns())?;
        let mut encoded = Encoded::default();
        let mut g = 0;
        while encoded.len() < n && g < file.row_groups() {
            let (lo, end) = file.group_rows(g);
            let hi = end.min(lo + (n - encoded.len()) as u64);
            let rows = codec.decode(&file, lo, &file.read(g, lo, hi)?)?;
            (lo..hi).for_each(|idx| codec.encode(&rows, idx, 0, k as u16, &mut encoded));
            g += 1;
        }
        let lines = encoded.iter().map(|(_, frame, _)| String::from_utf8_lossy(frame).trim_end().to_string()).collect();
        out.push((spec.name.clone(), lines));
    }
    Ok(out)
}
