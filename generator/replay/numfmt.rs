//! Text formatting for replayed records, written straight into a byte buffer
//! with no allocation: fixed-decimal floats (exactly as Rust's `{:.N}` and
//! Python's `f"{x:.Nf}"` print the float32's value, ties to even), decimal
//! integers and cents, UTC timestamps as `YYYY-MM-DD HH:MM:SS.mmm`, and JSON
//! string escaping, once (a record field) or twice (a string inside the
//! `body` string). Each number is composed in a small stack buffer and
//! appended with one fixed-size copy.

/// Appends at most `N` bytes that `f` writes into a zeroed `[u8; N]` at the
/// end of `out`, returning how many to keep. The bytes are written in place
/// (no stack buffer copied afterwards: reading a wide value back right after
/// byte stores stalls the store buffer), with no `memcpy` call.
#[inline(always)]
fn append<const N: usize>(out: &mut Vec<u8>, f: impl FnOnce(&mut [u8; N]) -> usize) {
    let len = out.len();
    out.resize(len + N, 0);
    let buf: &mut [u8; N] = (&mut out[len..len + N]).try_into().expect("N bytes");
    let n = f(buf);
    out.truncate(len + n.min(N));
}

const DIGIT_PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Decimal digits of `v` (at least 1).
#[inline(always)]
fn digit_count(v: u64) -> usize {
    let mut n = 1;
    let mut x = v;
    while x >= 10_000 {
        x /= 10_000;
        n += 4;
    }
    n + (x >= 10) as usize + (x >= 100) as usize + (x >= 1_000) as usize
}

/// Writes the `n` lowest decimal digits of `v` into `buf[end - n..end]`.
#[inline(always)]
fn digits_into(buf: &mut [u8], end: usize, mut v: u64, n: usize) {
    let stop = end - n;
    let mut at = end;
    while at >= stop + 2 {
        let pair = (v % 100) as usize * 2;
        v /= 100;
        buf[at - 2] = DIGIT_PAIRS[pair];
        buf[at - 1] = DIGIT_PAIRS[pair + 1];
        at -= 2;
    }
    if at > stop {
        buf[at - 1] = b'0' + (v % 10) as u8;
    }
}

/// Appends a signed integer in decimal.
#[inline]
pub fn write_i64(out: &mut Vec<u8>, v: i64) {
    append::<24>(out, |buf| {
        let neg = (v < 0) as usize;
        buf[0] = b'-';
        let u = v.unsigned_abs();
        let n = digit_count(u);
        digits_into(buf, neg + n, u, n);
        neg + n
    });
}

/// Appends an integer in decimal.
#[inline]
pub fn write_int(out: &mut Vec<u8>, v: impl Into<i64>) {
    write_i64(out, v.into())
}

const POW10: [u64; 7] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000];
const POW5: [u64; 7] = [1, 5, 25, 125, 625, 3_125, 15_625];

/// Appends `x` with exactly `DECIMALS` (0 ..= 6) digits after the point: the
/// exact binary value of the f32 rounded half to even, with a `-` for any
/// negative value (also `-0.000000`), i.e. the same text as Rust's
/// `format!("{:.6}", x as f64)` and Python's `f"{x:.6f}"`. NaN and
/// infinities have no JSON form and are written as `null`.
///
/// Exact integer arithmetic: `x = m * 2^e`, so `x * 10^d = m * 5^d * 2^(e + d)`;
/// a right shift with ties-to-even rounding gives the scaled integer.
#[inline]
pub fn write_fixed<const DECIMALS: usize>(out: &mut Vec<u8>, x: f32) {
    match scaled::<DECIMALS>(x) {
        Some((negative, q)) => append::<32>(out, |buf| fixed_into::<DECIMALS>(buf, 0, negative, q)),
        None => write_fixed_slow::<DECIMALS>(out, x),
    }
}

/// Appends `[lat,lon]`, each with 6 decimals as [`write_fixed`] writes them.
#[inline]
pub fn write_point(out: &mut Vec<u8>, lat: f32, lon: f32) {
    match (scaled::<6>(lat), scaled::<6>(lon)) {
        (Some((n1, q1)), Some((n2, q2))) => append::<64>(out, |buf| {
            buf[0] = b'[';
            let at = fixed_into::<6>(buf, 1, n1, q1);
            buf[at] = b',';
            let at = fixed_into::<6>(buf, at + 1, n2, q2);
            buf[at] = b']';
            at + 1
        }),
        _ => {
            out.push(b'[');
            write_fixed::<6>(out, lat);
            out.push(b',');
            write_fixed::<6>(out, lon);
            out.push(b']');
        }
    }
}

/// NaN and infinities as `null`; huge values through std formatting.
#[cold]
fn write_fixed_slow<const DECIMALS: usize>(out: &mut Vec<u8>, x: f32) {
    if x.is_finite() {
        out.extend_from_slice(format!("{:.*}", DECIMALS.min(6), x as f64).as_bytes());
    } else {
        out.extend_from_slice(b"null");
    }
}

/// `(negative, round_half_even(|x| * 10^DECIMALS))`, or `None` for NaN,
/// infinities and values too large for the fast path (|x| >= 2^41 or so).
#[inline(always)]
fn scaled<const DECIMALS: usize>(x: f32) -> Option<(bool, u64)> {
    let decimals = DECIMALS.min(6);
    let bits = x.to_bits();
    let negative = bits >> 31 == 1;
    let exp_bits = ((bits >> 23) & 0xff) as i32;
    let frac = bits & 0x7f_ffff;
    if exp_bits == 0xff {
        return None;
    }
    // x = m * 2^e with m < 2^24.
    let (m, e) = if exp_bits == 0 { (frac as u64, -149) } else { ((frac | 0x80_0000) as u64, exp_bits - 150) };
    let scaled = m * POW5[decimals]; // < 2^38
    let shift = e + decimals as i32;
    let q = if shift >= 0 {
        if shift > 24 {
            return None;
        }
        scaled << shift
    } else {
        let s = (-shift) as u32;
        if s > 40 {
            0 // scaled < 2^38 < half of 2^s: rounds to zero
        } else {
            let q = scaled >> s;
            let rem = scaled & ((1u64 << s) - 1);
            let half = 1u64 << (s - 1);
            q + (rem > half || (rem == half && q & 1 == 1)) as u64
        }
    };
    Some((negative, q))
}

/// Writes a scaled value (`-`, integer part, `.`, DECIMALS digits) at
/// `buf[at..]` (at most 22 bytes) and returns the position after it.
#[inline(always)]
fn fixed_into<const DECIMALS: usize>(buf: &mut [u8], at: usize, negative: bool, q: u64) -> usize {
    let decimals = DECIMALS.min(6);
    let p = POW10[decimals];
    let (int, frac) = (q / p, q % p);
    buf[at] = b'-';
    let mut len = at + negative as usize;
    // The integer part: short numbers (all coordinates) without a loop.
    if int < 10 {
        buf[len] = b'0' + int as u8;
        len += 1;
    } else if int < 100 {
        let p = int as usize * 2;
        buf[len..len + 2].copy_from_slice(&DIGIT_PAIRS[p..p + 2]);
        len += 2;
    } else if int < 1000 {
        let p = (int % 100) as usize * 2;
        buf[len] = b'0' + (int / 100) as u8;
        buf[len + 1..len + 3].copy_from_slice(&DIGIT_PAIRS[p..p + 2]);
        len += 3;
    } else {
        let n = digit_count(int);
        digits_into(buf, len + n, int, n);
        len += n;
    }
    if decimals > 0 {
        let tail: &mut [u8; 8] = (&mut buf[len..len + 8]).try_into().expect("8 bytes");
        tail[0] = b'.';
        digits_into(tail, 1 + decimals, frac, decimals);
        len += 1 + decimals;
    }
    len
}

/// Appends cents as a decimal with two digits after the point: 808 -> `8.08`,
/// 800 -> `8.00`, -5 -> `-0.05`.
#[inline]
pub fn write_cents(out: &mut Vec<u8>, cents: i128) {
    let c = cents.unsigned_abs();
    let (int, frac) = (c / 100, (c % 100) as u64);
    if int > u64::MAX as u128 {
        out.extend_from_slice(format!("{}{int}.{frac:02}", if cents < 0 { "-" } else { "" }).as_bytes());
        return;
    }
    append::<32>(out, |buf| {
        let neg = (cents < 0) as usize;
        buf[0] = b'-';
        let n = digit_count(int as u64);
        digits_into(buf, neg + n, int as u64, n);
        buf[neg + n] = b'.';
        digits_into(buf, neg + n + 3, frac, 2);
        neg + n + 3
    });
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Appends epoch milliseconds as `YYYY-MM-DD HH:MM:SS.mmm` in UTC (years
/// outside 0000 ..= 9999 are written with as many digits as they need).
#[inline]
pub fn write_ts(out: &mut Vec<u8>, ms: i64) {
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000) as u64;
    let (y, m, d) = civil_from_days(days);
    let s = in_day / 1000;
    let fill = |b: &mut [u8; 24]| {
        b[4] = b'-';
        b[7] = b'-';
        b[10] = b' ';
        b[13] = b':';
        b[16] = b':';
        b[19] = b'.';
        digits_into(b, 7, m as u64, 2);
        digits_into(b, 10, d as u64, 2);
        digits_into(b, 13, s / 3600, 2);
        digits_into(b, 16, s / 60 % 60, 2);
        digits_into(b, 19, s % 60, 2);
        digits_into(b, 23, in_day % 1000, 3);
    };
    if (0..10_000).contains(&y) {
        append::<24>(out, |b| {
            fill(b);
            digits_into(b, 4, y as u64, 4);
            23
        });
    } else {
        write_i64(out, y);
        let mut b = [0u8; 24];
        fill(&mut b);
        out.extend_from_slice(&b[4..23]);
    }
}

/// `YYYY-MM-DD HH:MM:SS.mmm` (UTC) as a String, for messages.
pub fn ts_string(ms: i64) -> String {
    let mut b = Vec::with_capacity(32);
    write_ts(&mut b, ms);
    String::from_utf8(b).expect("ASCII")
}

#[inline]
fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The JSON escape of one byte that needs it: `\"`, `\\`, `\b`, `\f`, `\n`,
/// `\r`, `\t`, else `\u00xx` (lowercase hex), as Python's `json.dumps` does.
fn escape_byte(b: u8, esc: &mut [u8; 6]) -> usize {
    let short = match b {
        b'"' => b'"',
        b'\\' => b'\\',
        0x08 => b'b',
        0x0c => b'f',
        b'\n' => b'n',
        b'\r' => b'r',
        b'\t' => b't',
        _ => 0,
    };
    esc[0] = b'\\';
    if short != 0 {
        esc[1] = short;
        2
    } else {
        esc[1..6].copy_from_slice(&[b'u', b'0', b'0', HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]);
        6
    }
}

/// Appends `s` escaped for the inside of a JSON string (no quotes added).
/// Only `"`, `\` and control characters are escaped; other UTF-8 passes through.
#[inline]
pub fn write_escaped(out: &mut Vec<u8>, s: &[u8]) {
    if !s.iter().any(|&b| needs_escape(b)) {
        out.extend_from_slice(s);
        return;
    }
    let mut esc = [0u8; 6];
    for &b in s {
        if needs_escape(b) {
            let n = escape_byte(b, &mut esc);
            out.extend_from_slice(&esc[..n]);
        } else {
            out.push(b);
        }
    }
}

/// Appends `s` escaped twice: as a string value inside the body's JSON, which
/// is itself a JSON string. `a"b` becomes `a\\\"b`.
#[inline]
pub fn write_escaped_twice(out: &mut Vec<u8>, s: &[u8]) {
    if !s.iter().any(|&b| needs_escape(b)) {
        out.extend_from_slice(s);
        return;
    }
    let mut once = Vec::with_capacity(s.len() + 8);
    write_escaped(&mut once, s);
    write_escaped(out, &once);
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn fixed(x: f32, d: usize) -> String {
        let mut b = Vec::new();
        match d {
            0 => write_fixed::<0>(&mut b, x),
            2 => write_fixed::<2>(&mut b, x),
            6 => write_fixed::<6>(&mut b, x),
            _ => unreachable!(),
        }
        String::from_utf8(b).unwrap()
    }

    #[test]
    fn fixed_matches_std_formatting() {
        let specials = [
            0.0f32,
            -0.0,
            4801.0 / 128.0,
            -4801.0 / 128.0,
            4803.0 / 128.0,
            0.000_000_5,
            -0.000_000_4,
            1e-30,
            -1e-30,
            f32::MIN_POSITIVE,
            1e-45,
            0.125,
            0.375,
            2.5,
            99.995,
            100.0,
            16_777_216.0,
            3.0e9,
            -122.392_86,
            f32::MAX,
        ];
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(7);
        let random = (0..200_000).map(|i| match i % 4 {
            0 => f32::from_bits(rng.random::<u32>()),
            1 => rng.random_range(-180.0f32..180.0),
            2 => (rng.random_range(-46_080i32..46_080) as f32) / 256.0 + rng.random_range(0..2) as f32 / 512.0,
            _ => rng.random_range(0.0f32..100.0),
        });
        for x in specials.into_iter().chain(random) {
            if !x.is_finite() {
                continue;
            }
            for d in [0, 2, 6] {
                assert_eq!(fixed(x, d), format!("{:.*}", d, x as f64), "x = {x:e} ({:#x}), {d} decimals", x.to_bits());
            }
        }
        assert_eq!(fixed(f32::NAN, 6), "null");
        assert_eq!(fixed(f32::INFINITY, 2), "null");
        assert_eq!(fixed(4801.0 / 128.0, 6), "37.507812"); // 37.5078125: a tie, to even
        assert_eq!(fixed(4803.0 / 128.0, 6), "37.523438"); // 37.5234375
        assert_eq!(fixed(-0.0, 6), "-0.000000");
    }

    #[test]
    fn integers() {
        let f = |v: i64| {
            let mut b = Vec::new();
            write_i64(&mut b, v);
            String::from_utf8(b).unwrap()
        };
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(5);
        for v in [0, 1, 9, 10, 99, 100, 12_345, -1, -10, i64::MIN, i64::MAX]
            .into_iter()
            .chain((0..10_000).map(|_| rng.random::<i64>() >> rng.random_range(0..63)))
        {
            assert_eq!(f(v), v.to_string());
        }
    }

    #[test]
    fn points() {
        let mut b = Vec::new();
        write_point(&mut b, 41.890_663, -87.632_08);
        write_point(&mut b, f32::NAN, 1e30);
        assert_eq!(String::from_utf8(b).unwrap(), format!("[41.890663,-87.632080][null,{:.6}]", 1e30f32 as f64));
    }

    #[test]
    fn cents() {
        let f = |c: i128| {
            let mut b = Vec::new();
            write_cents(&mut b, c);
            String::from_utf8(b).unwrap()
        };
        assert_eq!(f(808), "8.08");
        assert_eq!(f(800), "8.00");
        assert_eq!(f(5), "0.05");
        assert_eq!(f(-5), "-0.05");
        assert_eq!(f(123_456), "1234.56");
    }

    #[test]
    fn timestamps_are_utc() {
        assert_eq!(ts_string(0), "1970-01-01 00:00:00.000");
        assert_eq!(ts_string(1_704_067_514_007), "2024-01-01 00:05:14.007");
        assert_eq!(ts_string(1_709_164_800_000 + 86_399_999), "2024-02-29 23:59:59.999");
        assert_eq!(ts_string(-1), "1969-12-31 23:59:59.999");
        assert_eq!(ts_string(253_402_300_800_000), "10000-01-01 00:00:00.000");
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(3);
        for _ in 0..10_000 {
            let ms = rng.random_range(-62_000_000_000_000i64..250_000_000_000_000);
            let dt = chrono::DateTime::from_timestamp_millis(ms).unwrap();
            assert_eq!(ts_string(ms), dt.format("%Y-%m-%d %H:%M:%S%.3f").to_string());
        }
    }

    #[test]
    fn escaping_once_and_twice() {
        let once = |s: &str| {
            let mut b = Vec::new();
            write_escaped(&mut b, s.as_bytes());
            String::from_utf8(b).unwrap()
        };
        let twice = |s: &str| {
            let mut b = Vec::new();
            write_escaped_twice(&mut b, s.as_bytes());
            String::from_utf8(b).unwrap()
        };
        assert_eq!(once("Main St"), "Main St");
        assert_eq!(once("a\"b\\c\nd\u{1}é"), "a\\\"b\\\\c\\nd\\u0001é");
        assert_eq!(twice("a\"b"), "a\\\\\\\"b");
        // Twice-escaped text, read back as a JSON string, is the once-escaped text.
        for s in ["plain", "q\"uote", "back\\slash", "tab\tnew\nline\u{7}", "Crème brûlée"] {
            let inner: String = serde_json::from_str(&format!("\"{}\"", twice(s))).unwrap();
            assert_eq!(inner, once(s));
            let value: String = serde_json::from_str(&format!("\"{inner}\"")).unwrap();
            assert_eq!(value, s);
        }
    }
}
