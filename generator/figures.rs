//! Numbers for people, in messages and reports: grouped digits (`75,780`),
//! and floats that stay readable at any size (`1.000e300`, never 301 digits).

/// `n` with its digits grouped by thousands.
pub fn grouped(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A count or amount, rounded up and grouped; scientific from 10^15, and
/// "more than 1e308" past what a float holds.
pub fn figure(x: f64) -> String {
    if x.is_infinite() || x.is_nan() {
        return "more than 1e308".into();
    }
    if x.abs() >= 1e15 {
        return format!("{x:.3e}");
    }
    let sign = if x < 0.0 { "-" } else { "" };
    format!("{sign}{}", grouped(x.abs().ceil() as u64))
}

/// A value as written, but in scientific notation when very large or small.
pub fn number(x: f64) -> String {
    if x != 0.0 && x.is_finite() && !(1e-6..1e15).contains(&x.abs()) {
        format!("{x:e}")
    } else {
        x.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_well() {
        assert_eq!(grouped(1_016_594), "1,016,594");
        assert_eq!(grouped(12), "12");
        assert_eq!(figure(65_536.2), "65,537");
        assert_eq!(figure(1e300), "1.000e300");
        assert_eq!(figure(f64::INFINITY), "more than 1e308");
        assert_eq!(number(1e300), "1e300");
        assert_eq!(number(0.5), "0.5");
        assert_eq!(number(f64::NAN), "NaN");
    }
}
