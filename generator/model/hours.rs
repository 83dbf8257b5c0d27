//! Opening hours: per weekday a local span `HH:MM-HH:MM` (the end may be
//! `24:00`) or `closed`. Minutes outside it get no demand.

use super::curve::parse_clock;

/// Open minutes `[start, end)` of the local day per weekday (Monday first); `None`: closed.
#[derive(Clone, Debug, PartialEq)]
pub struct OpeningHours(pub [Option<(u32, u32)>; 7]);

/// One weekday's hours as written: "08:00-20:00" or "closed".
pub fn parse_span(s: &str) -> Result<Option<(u32, u32)>, String> {
    if s == "closed" {
        return Ok(None);
    }
    let expected =
        || format!("expected opening hours \"HH:MM-HH:MM\" (e.g. \"08:00-20:00\") or \"closed\", found {s:?}");
    let (a, b) = s.split_once('-').ok_or_else(expected)?;
    match (parse_clock(a.trim()), parse_clock(b.trim())) {
        (Ok(start), Ok(end)) if end > start => Ok(Some((start, end))),
        (Ok(_), Ok(_)) => Err(format!("expected the closing time after the opening time, found {s:?}")),
        _ => Err(expected()),
    }
}

/// A span written back as [`parse_span`] reads it.
pub fn span_text(span: Option<(u32, u32)>) -> String {
    match span {
        None => "closed".into(),
        Some((s, e)) => format!("{:02}:{:02}-{:02}:{:02}", s / 60, s % 60, e / 60, e % 60),
    }
}

impl OpeningHours {
    /// `profile` (1440 local minute weights) with every minute outside `weekday`'s hours at 0.
    pub fn mask(&self, weekday: usize, profile: &[f64]) -> Vec<f64> {
        let span = self.0[weekday];
        profile
            .iter()
            .enumerate()
            .map(|(m, w)| match span {
                Some((s, e)) if (s..e).contains(&(m as u32)) => *w,
                _ => 0.0,
            })
            .collect()
    }

    /// Minutes open on a `weekday`.
    pub fn open_minutes(&self, weekday: usize) -> u32 {
        self.0[weekday].map_or(0, |(s, e)| e - s)
    }

    /// Whether local minute `minute` of a `weekday` is open.
    pub fn is_open(&self, weekday: usize, minute: u32) -> bool {
        self.0[weekday].is_some_and(|(s, e)| (s..e).contains(&minute))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_parse_and_mask_the_profile() {
        assert_eq!(parse_span("08:00-20:00"), Ok(Some((480, 1200))));
        assert_eq!(parse_span("closed"), Ok(None));
        assert!(parse_span("20:00-08:00").is_err() && parse_span("8-20").is_err() && parse_span("").is_err());
        let hours = OpeningHours([Some((480, 1200)), None, None, None, None, None, Some((0, 1440))]);
        let masked = hours.mask(0, &[1.0; 1440]);
        assert_eq!((masked[479], masked[480], masked[1199], masked[1200]), (0.0, 1.0, 1.0, 0.0));
        assert!(hours.mask(1, &[1.0; 1440]).iter().all(|w| *w == 0.0));
        assert!(hours.is_open(6, 1439) && !hours.is_open(0, 1200));
        for span in hours.0 {
            assert_eq!(parse_span(&span_text(span)), Ok(span));
        }
    }
}
