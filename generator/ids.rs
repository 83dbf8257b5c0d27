//! Order ids: 6 characters of A-Z0-9, unique by construction.
//!
//! Each order gets a sequence number from its partition — `(day, location,
//! index within the day)` — so numbers never collide and do not depend on
//! other partitions or thread scheduling. A keyed Feistel permutation of the
//! 36^6 id space (cycle-walking a 32-bit Feistel network) then scrambles the
//! number, so ids look random but stay distinct.

use crate::seed::mix64;

/// Size of the id space: 36^6.
pub const ID_SPACE: u64 = 2_176_782_336;
/// Orders one location can have on one day.
pub const PER_PARTITION: u64 = 1 << 16;
/// `days * locations` must stay below this for ids to be unique.
pub const MAX_PARTITIONS: u64 = ID_SPACE / PER_PARTITION;

const ALPHABET: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// The sequence number of the `index`-th order of `location` (0-based) on `day`.
pub fn sequence_number(day: u32, location: u32, locations: u32, index: u32) -> u64 {
    ((day as u64 * locations as u64) + location as u64) * PER_PARTITION + index as u64
}

fn feistel(x: u32, key: u64) -> u32 {
    let (mut l, mut r) = ((x >> 16) as u16, x as u16);
    for round in 0..4u64 {
        let f = mix64(key ^ (round << 32) ^ r as u64) as u16;
        (l, r) = (r, l ^ f);
    }
    ((l as u32) << 16) | r as u32
}

/// The inverse of [`feistel`].
fn feistel_inverse(x: u32, key: u64) -> u32 {
    let (mut l, mut r) = ((x >> 16) as u16, x as u16);
    for round in (0..4u64).rev() {
        let f = mix64(key ^ (round << 32) ^ l as u64) as u16;
        (l, r) = (r ^ f, l);
    }
    ((l as u32) << 16) | r as u32
}

/// The sequence number an id was made from with `key` (the inverse of
/// [`order_id`]); `None` for text that is not an id.
pub fn decode(id: &[u8], key: u64) -> Option<u64> {
    if id.len() != 6 {
        return None;
    }
    let mut v = 0u64;
    for &c in id {
        v = v * 36 + ALPHABET.iter().position(|&a| a == c)? as u64;
    }
    let mut x = v as u32;
    loop {
        x = feistel_inverse(x, key);
        if (x as u64) < ID_SPACE {
            return Some(x as u64);
        }
    }
}

/// The `(day, location, index)` a sequence number stands for.
pub fn parts(number: u64, locations: u32) -> (u64, u32, u32) {
    let partition = number / PER_PARTITION;
    let locations = locations.max(1) as u64;
    (partition / locations, (partition % locations) as u32, (number % PER_PARTITION) as u32)
}

/// Maps a sequence number (< [`ID_SPACE`]) to its 6-character id. A bijection
/// on the id space for a given key.
pub fn order_id(number: u64, key: u64) -> [u8; 6] {
    debug_assert!(number < ID_SPACE);
    let mut x = number as u32;
    loop {
        x = feistel(x, key);
        if (x as u64) < ID_SPACE {
            break;
        }
    }
    let mut v = x as u64;
    let mut out = [b'0'; 6];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(v % 36) as usize];
        v /= 36;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_well_formed_and_keyed() {
        let mut seen = HashSet::new();
        for day in 0..90 {
            for loc in 0..4 {
                for i in 0..300 {
                    let id = order_id(sequence_number(day, loc, 4, i), 42);
                    assert!(id.iter().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()));
                    assert!(seen.insert(id), "duplicate id");
                }
            }
        }
        assert_ne!(order_id(5, 42), order_id(5, 43));
        assert_eq!(order_id(5, 42), order_id(5, 42));
    }

    #[test]
    fn ids_decode_to_their_partition() {
        for (day, loc, i) in [(0, 0, 0), (89, 3, 311), (1234, 2, 65_535), (8_000, 3, 7)] {
            let n = sequence_number(day, loc, 4, i);
            let id = order_id(n, 42);
            assert_eq!(decode(&id, 42), Some(n));
            assert_eq!(parts(n, 4), (day as u64, loc, i));
            assert_ne!(decode(&id, 43), Some(n), "another key decodes elsewhere");
        }
        assert_eq!(decode(b"abc", 42), None);
        assert_eq!(decode(b"ABC-12", 42), None);
    }
}
