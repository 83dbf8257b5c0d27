//! Event ids: a UUIDv5 per event, the same on every replay of a dataset.
//!
//! `event_id = uuid5(NAMESPACE, "<fingerprint>/<order_id>/<sequence>")` where
//! `NAMESPACE = uuid5(NAMESPACE_URL, "https://simkit.dev/event")`,
//! `fingerprint` is the manifest's `fingerprint` (64 lowercase hex
//! characters), `order_id` is the order id exactly as emitted (with its lap
//! suffix, see `record`) and `sequence` is the event's sequence number in
//! decimal. UUIDv5 is RFC 9562's: SHA-1 over the namespace's 16 bytes followed
//! by the name's UTF-8 bytes, first 16 bytes of the digest, version nibble 5,
//! variant bits 10. In Python: `uuid.uuid5(uuid.uuid5(uuid.NAMESPACE_URL,
//! "https://simkit.dev/event"), f"{fingerprint}/{order_id}/{sequence}")`.
//!
//! Speed: the namespace and the fingerprint are the same for every event, so
//! the SHA-1 state after their whole 64-byte blocks is computed once; each
//! event then costs one compression (two for unusually long names).

use sha1::compress;
use sha1::digest::generic_array::GenericArray;
use uuid::Uuid;

/// The namespace of simkit event ids: `uuid5(NAMESPACE_URL, "https://simkit.dev/event")`.
pub fn namespace() -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_URL, b"https://simkit.dev/event")
}

const SHA1_INIT: [u32; 5] = [0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0];

/// Makes the event ids of one dataset.
#[derive(Clone)]
pub struct EventIds {
    /// SHA-1 state after the whole blocks of `namespace || fingerprint || "/"`.
    state: [u32; 5],
    /// The bytes of that prefix after its last whole block.
    rest: Vec<u8>,
    /// Length of the whole prefix, in bytes.
    prefix_len: usize,
    /// Scratch for the final blocks.
    blocks: [[u8; 64]; 3],
}

impl EventIds {
    pub fn new(fingerprint: &str) -> EventIds {
        let mut prefix = namespace().as_bytes().to_vec();
        prefix.extend_from_slice(fingerprint.as_bytes());
        prefix.push(b'/');
        let whole = prefix.len() / 64 * 64;
        let mut state = SHA1_INIT;
        for block in prefix[..whole].chunks_exact(64) {
            compress(&mut state, &[*GenericArray::from_slice(block)]);
        }
        EventIds { state, rest: prefix[whole..].to_vec(), prefix_len: prefix.len(), blocks: [[0; 64]; 3] }
    }

    /// The 16 bytes of the id of `<order_id><suffix>/<sequence>`, where `suffix`
    /// is the lap suffix (`-<lap>`, or empty).
    pub fn bytes(&mut self, order_id: &[u8], suffix: &[u8], sequence: i64) -> [u8; 16] {
        let mut seq = itoa::Buffer::new();
        let seq = seq.format(sequence).as_bytes();
        let tail = self.rest.len() + order_id.len() + suffix.len() + 1 + seq.len();
        let total_bits = ((self.prefix_len - self.rest.len() + tail) as u64) * 8;
        // tail, 0x80, zero padding, 8-byte length: one or more blocks.
        let nblocks = (tail + 1 + 8).div_ceil(64);
        if nblocks > self.blocks.len() {
            return self.slow(order_id, suffix, seq);
        }
        let buf = self.blocks.as_flattened_mut();
        let used = nblocks * 64;
        let mut at = 0;
        for part in [&self.rest[..], order_id, suffix, b"/", seq] {
            buf[at..at + part.len()].copy_from_slice(part);
            at += part.len();
        }
        buf[at] = 0x80;
        buf[at + 1..used - 8].fill(0);
        buf[used - 8..used].copy_from_slice(&total_bits.to_be_bytes());
        let mut state = self.state;
        for block in self.blocks[..nblocks].iter() {
            compress(&mut state, &[GenericArray::from(*block)]);
        }
        finish(&state)
    }

    /// Names too long for the scratch blocks: pad and compress a fresh buffer.
    fn slow(&self, order_id: &[u8], suffix: &[u8], seq: &[u8]) -> [u8; 16] {
        let mut tail = [self.rest.as_slice(), order_id, suffix, b"/", seq].concat();
        let total_bits = ((self.prefix_len - self.rest.len() + tail.len()) as u64) * 8;
        tail.push(0x80);
        while tail.len() % 64 != 56 {
            tail.push(0);
        }
        tail.extend_from_slice(&total_bits.to_be_bytes());
        let mut state = self.state;
        for block in tail.chunks_exact(64) {
            compress(&mut state, &[*GenericArray::from_slice(block)]);
        }
        finish(&state)
    }

    /// Appends the id of `<order_id><suffix>/<sequence>` as 36 lowercase hex characters with dashes.
    #[inline]
    pub fn write(&mut self, out: &mut Vec<u8>, order_id: &[u8], suffix: &[u8], sequence: i64) {
        let b = self.bytes(order_id, suffix, sequence);
        write_uuid(out, &b);
    }
}

fn finish(state: &[u32; 5]) -> [u8; 16] {
    let mut b = [0u8; 16];
    for (i, w) in state[..4].iter().enumerate() {
        b[i * 4..i * 4 + 4].copy_from_slice(&w.to_be_bytes());
    }
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    b
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends a UUID in its canonical 8-4-4-4-12 lowercase form.
#[inline]
pub fn write_uuid(out: &mut Vec<u8>, b: &[u8; 16]) {
    let mut s = [b'-'; 36];
    let mut at = 0;
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            at += 1;
        }
        s[at] = HEX[(byte >> 4) as usize];
        s[at + 1] = HEX[(byte & 15) as usize];
        at += 2;
    }
    out.extend_from_slice(&s);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(fp: &str, order: &str, seq: i64) -> String {
        Uuid::new_v5(&namespace(), format!("{fp}/{order}/{seq}").as_bytes()).to_string()
    }

    #[test]
    fn namespace_is_the_documented_one() {
        // uuid.uuid5(uuid.NAMESPACE_URL, "https://simkit.dev/event") in Python.
        assert_eq!(namespace().get_version_num(), 5);
        assert_eq!(namespace(), Uuid::new_v5(&Uuid::NAMESPACE_URL, "https://simkit.dev/event".as_bytes()));
    }

    #[test]
    fn matches_uuid_v5_for_any_length() {
        let fps = [
            "acbd6f022f4878217f3600e5a27594f98cf465d26ce08be376f154d024e75dda".to_string(),
            String::new(),
            "x".repeat(47),
            "y".repeat(48),
            "z".repeat(120),
            "w".repeat(300),
        ];
        for fp in &fps {
            let mut ids = EventIds::new(fp);
            for (order, suffix) in [("QJYW0C", ""), ("QJYW0C", "-1"), ("ABC123", "-123456"), ("", "")] {
                for seq in [1i64, 7, 15, 123, 32_767, -4] {
                    let mut out = Vec::new();
                    ids.write(&mut out, order.as_bytes(), suffix.as_bytes(), seq);
                    let emitted = format!("{order}{suffix}");
                    assert_eq!(String::from_utf8(out).unwrap(), reference(fp, &emitted, seq), "fp len {}", fp.len());
                }
            }
            let long = "L".repeat(200);
            let mut out = Vec::new();
            ids.write(&mut out, long.as_bytes(), b"", 3);
            assert_eq!(String::from_utf8(out).unwrap(), reference(fp, &long, 3));
        }
    }
}
