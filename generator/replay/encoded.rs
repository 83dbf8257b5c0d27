//! Encoded records on their way to a sink: the frames back to back (a JSON
//! line with its `\n`, or a protobuf message after its varint length), each
//! record's Kafka key, event time (lap shift included) and stream. Buffers
//! are reused from chunk to chunk.

/// Where one record ends, and what a sink needs besides its bytes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Meta {
    /// The end of its frame in [`Encoded::bytes`] (it starts where the previous one ends).
    pub end: usize,
    /// The end of its key in [`Encoded::keys`].
    pub key_end: usize,
    pub ts: i64,
    /// Its stream, as an index into the replayed streams.
    pub stream: u16,
}

#[derive(Default)]
pub struct Encoded {
    pub bytes: Vec<u8>,
    pub keys: Vec<u8>,
    pub records: Vec<Meta>,
}

impl Encoded {
    pub fn with_capacity(bytes: usize) -> Encoded {
        Encoded { bytes: Vec::with_capacity(bytes), keys: Vec::new(), records: Vec::new() }
    }

    pub fn clear(&mut self) {
        self.bytes.clear();
        self.keys.clear();
        self.records.clear();
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Closes the record whose frame and key were just appended.
    #[inline]
    pub fn close(&mut self, ts: i64, stream: u16) {
        self.records.push(Meta { end: self.bytes.len(), key_end: self.keys.len(), ts, stream });
    }

    /// Appends another chunk's records.
    pub fn append(&mut self, other: &Encoded) {
        let (b, k) = (self.bytes.len(), self.keys.len());
        self.bytes.extend_from_slice(&other.bytes);
        self.keys.extend_from_slice(&other.keys);
        self.records.extend(other.records.iter().map(|m| Meta { end: m.end + b, key_end: m.key_end + k, ..*m }));
    }

    /// Each record: its meta, frame and key.
    pub fn iter(&self) -> impl Iterator<Item = (Meta, &[u8], &[u8])> {
        let (mut at, mut key_at) = (0, 0);
        self.records.iter().map(move |&m| {
            let item = (m, &self.bytes[at..m.end], &self.keys[key_at..m.key_end]);
            (at, key_at) = (m.end, m.key_end);
            item
        })
    }

    /// Runs of consecutive records of one stream: `(stream, frames)`.
    pub fn runs(&self) -> impl Iterator<Item = (u16, &[u8])> {
        let mut i = 0;
        let mut at = 0;
        std::iter::from_fn(move || {
            let first = self.records.get(i)?;
            let mut j = i;
            while j + 1 < self.records.len() && self.records[j + 1].stream == first.stream {
                j += 1;
            }
            let end = self.records[j].end;
            let run = (first.stream, &self.bytes[at..end]);
            (i, at) = (j + 1, end);
            Some(run)
        })
    }
}
