//! Rows set aside on disk while a table is computed out of its order: a
//! table made of ordered segments (the truth's window sizes, watermark
//! delays and key groups), whose rows are found segment by segment but
//! interleaved, is spilled in chunks of fixed-width rows to an anonymous
//! temporary file (gone when dropped, nothing left behind) and read back
//! in segment order, any range at a time, while it is written.

use std::fs::File;
use std::io::Write;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::error::{Context, Result};

/// Rows a segment gathers before they are written as a chunk.
const CHUNK_ROWS: usize = 4096;

/// Spilled rows of one chunk: its segment, where it starts in the file, and its rows.
#[derive(Clone, Copy)]
struct Chunk {
    segment: usize,
    offset: u64,
    rows: usize,
}

/// Rows of `width` bytes being spilled, each to one of `segments` segments.
pub struct Spill {
    file: std::io::BufWriter<File>,
    width: usize,
    open: Vec<Vec<u8>>,
    chunks: Vec<Chunk>,
    written: u64,
}

impl Spill {
    /// Spills into an anonymous file in `dir` (the system's temporary folder when `None`).
    pub fn create(dir: Option<&Path>, segments: usize, width: usize) -> Result<Spill> {
        let file = match dir {
            Some(d) => tempfile::tempfile_in(d).context(|| format!("{}: cannot create a spill file", d.display())),
            None => tempfile::tempfile().context(|| "cannot create a spill file".to_string()),
        }?;
        let open = vec![Vec::new(); segments];
        let file = std::io::BufWriter::with_capacity(1 << 20, file);
        Ok(Spill { file, width, open, chunks: Vec::new(), written: 0 })
    }

    /// Appends a row (`width` bytes) to `segment`.
    pub fn push(&mut self, segment: usize, row: &[u8]) -> Result<()> {
        debug_assert_eq!(row.len(), self.width);
        self.open[segment].extend_from_slice(row);
        if self.open[segment].len() >= CHUNK_ROWS * self.width {
            self.flush(segment)?;
        }
        Ok(())
    }

    fn flush(&mut self, segment: usize) -> Result<()> {
        let bytes = std::mem::take(&mut self.open[segment]);
        if bytes.is_empty() {
            return Ok(());
        }
        self.file.write_all(&bytes).context(|| "spill file".to_string())?;
        self.chunks.push(Chunk { segment, offset: self.written, rows: bytes.len() / self.width });
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// The rows, segment by segment (each in the order pushed).
    pub fn finish(mut self) -> Result<Spilled> {
        for s in 0..self.open.len() {
            self.flush(s)?;
        }
        let file = self.file.into_inner().map_err(|e| e.into_error()).context(|| "spill file".to_string())?;
        let mut chunks = self.chunks;
        chunks.sort_by_key(|c| c.segment); // stable: each segment keeps its order
        let mut starts = Vec::with_capacity(chunks.len() + 1);
        starts.push(0);
        for c in &chunks {
            starts.push(starts.last().copied().unwrap_or(0) + c.rows);
        }
        Ok(Spilled { file, width: self.width, chunks, starts })
    }
}

/// Spilled rows in segment order.
pub struct Spilled {
    file: File,
    width: usize,
    chunks: Vec<Chunk>,
    /// The first row of each chunk, then the row count.
    starts: Vec<usize>,
}

impl Spilled {
    pub fn rows(&self) -> usize {
        self.starts.last().copied().unwrap_or(0)
    }

    /// The rows `range`: their bytes, one after the other, and each one's segment.
    pub fn read(&self, range: Range<usize>) -> Result<(Vec<u8>, Vec<usize>)> {
        let mut bytes = vec![0; range.len() * self.width];
        let mut segments = Vec::with_capacity(range.len());
        let mut k = self.starts.partition_point(|&s| s <= range.start).saturating_sub(1);
        let mut at = range.start;
        while at < range.end {
            let (c, first) = (self.chunks[k], self.starts[k]);
            let upto = (first + c.rows).min(range.end);
            let into = &mut bytes[(at - range.start) * self.width..(upto - range.start) * self.width];
            let offset = c.offset + ((at - first) * self.width) as u64;
            self.file.read_exact_at(into, offset).context(|| "spill file".to_string())?;
            segments.extend(std::iter::repeat_n(c.segment, upto - at));
            at = upto;
            k += 1;
        }
        Ok((bytes, segments))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleaved_rows_come_back_segment_by_segment_in_any_range() {
        let mut s = Spill::create(None, 3, 8).unwrap();
        // Segment of row i is i % 3; rows 0..20_000, more than a chunk per segment.
        for i in 0..20_000u64 {
            s.push((i % 3) as usize, &i.to_le_bytes()).unwrap();
        }
        let back = s.finish().unwrap();
        assert_eq!(back.rows(), 20_000);
        let want: Vec<u64> = (0..3).flat_map(|seg| (0..20_000u64).filter(move |i| i % 3 == seg)).collect();
        for range in [0..20_000, 5..9_000, 6_660..6_670, 19_999..20_000] {
            let (bytes, segments) = back.read(range.clone()).unwrap();
            let got: Vec<u64> = bytes.chunks(8).map(|b| u64::from_le_bytes(b.try_into().unwrap())).collect();
            assert_eq!(got, want[range.clone()]);
            assert!(segments.iter().zip(&got).all(|(&s, &v)| s as u64 == v % 3));
        }
    }
}
