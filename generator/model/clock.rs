//! Local clocks: a place's IANA time zone (from the tz database that
//! chrono-tz bundles) and its days as local dates. Day `d` of a scenario is
//! the local date `start + d`, from one local midnight to the next: 24 hours
//! on most days, 23 or 25 across a daylight-saving change. Profiles and
//! weekdays are read on this clock; every instant stays a UTC timestamp.

use std::borrow::Cow;

use chrono::{NaiveDate, NaiveTime, Offset, TimeZone};
use chrono_tz::Tz;

pub const MS_PER_MINUTE: i64 = 60_000;
const MINUTES_PER_DAY: i64 = 1440;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LocalClock {
    tz: Tz,
}

/// One local day: where it starts and how many real minutes it has.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LocalDay {
    /// Epoch ms of the day's first instant.
    pub start_ms: i64,
    /// Epoch ms of the next day's first instant.
    pub end_ms: i64,
}

impl LocalDay {
    /// Whole real minutes in the day (1440, or 1380 / 1500 across a DST change).
    pub fn minutes(&self) -> usize {
        ((self.end_ms - self.start_ms) / MS_PER_MINUTE) as usize
    }
}

impl LocalClock {
    /// A clock for an IANA zone name such as "America/Chicago" (or "UTC").
    pub fn parse(name: &str) -> Result<LocalClock, String> {
        name.parse::<Tz>().map(|tz| LocalClock { tz }).map_err(|_| {
            format!("expected an IANA time zone such as \"America/Los_Angeles\" or \"UTC\", found {name:?}")
        })
    }

    pub fn name(&self) -> &'static str {
        self.tz.name()
    }

    /// The UTC offset in ms at an instant.
    pub fn offset_ms(&self, epoch_ms: i64) -> i64 {
        match chrono::DateTime::from_timestamp_millis(epoch_ms) {
            Some(t) => self.tz.offset_from_utc_datetime(&t.naive_utc()).fix().local_minus_utc() as i64 * 1000,
            None => 0,
        }
    }

    /// Epoch ms of the first instant of local date `date`: its midnight, or
    /// where the day begins when a clock change skips midnight. A date the
    /// zone skipped entirely (Pacific/Apia, 2011-12-30) begins where the
    /// next date does: it has no minutes.
    pub fn day_start_ms(&self, date: NaiveDate) -> i64 {
        let mut day = date;
        for _ in 0..3 {
            for minute in 0..MINUTES_PER_DAY {
                let t =
                    NaiveTime::from_num_seconds_from_midnight_opt(minute as u32 * 60, 0).expect("a minute of the day");
                if let Some(dt) = self.tz.from_local_datetime(&day.and_time(t)).earliest() {
                    return dt.timestamp_millis();
                }
            }
            day = day.succ_opt().unwrap_or(day);
        }
        // No zone skips three days; fall back to UTC midnight.
        date.and_time(NaiveTime::MIN).and_utc().timestamp_millis()
    }

    pub fn day(&self, date: NaiveDate) -> LocalDay {
        let next = date.succ_opt().unwrap_or(date);
        LocalDay { start_ms: self.day_start_ms(date), end_ms: self.day_start_ms(next) }
    }

    /// The local date at an instant.
    pub fn local_date(&self, epoch_ms: i64) -> Option<NaiveDate> {
        chrono::DateTime::from_timestamp_millis(epoch_ms + self.offset_ms(epoch_ms)).map(|t| t.date_naive())
    }

    /// The local weekday at an instant, 0 = Monday .. 6 = Sunday.
    pub fn weekday(&self, epoch_ms: i64) -> usize {
        // 1970-01-01 was a Thursday.
        ((epoch_ms + self.offset_ms(epoch_ms)).div_euclid(MS_PER_MINUTE * MINUTES_PER_DAY) + 3).rem_euclid(7) as usize
    }

    /// The local minute of the day (0..1440) at an instant.
    pub fn minute_of_day(&self, epoch_ms: i64) -> usize {
        ((epoch_ms + self.offset_ms(epoch_ms)).div_euclid(MS_PER_MINUTE)).rem_euclid(MINUTES_PER_DAY) as usize
    }

    /// The weight of each real minute of `day`, read from a 1440-minute
    /// local profile: the profile itself on a regular day; across a clock
    /// change, the skipped local hour has no minutes and the repeated one
    /// appears twice.
    pub fn minute_weights<'p>(&self, day: &LocalDay, profile: &'p [f64]) -> Cow<'p, [f64]> {
        let regular = day.end_ms - day.start_ms == MINUTES_PER_DAY * MS_PER_MINUTE
            && self.offset_ms(day.start_ms) == self.offset_ms(day.end_ms - 1)
            && self.minute_of_day(day.start_ms) == 0;
        if regular {
            return Cow::Borrowed(profile);
        }
        let weights =
            (0..day.minutes()).map(|i| profile[self.minute_of_day(day.start_ms + i as i64 * MS_PER_MINUTE)]).collect();
        Cow::Owned(weights)
    }
}

/// The span of `days` local days from `start` on several clocks: the
/// earliest first instant and the latest last one (`None` without clocks
/// or days).
pub fn window<'a>(start: NaiveDate, days: u32, clocks: impl IntoIterator<Item = &'a LocalClock>) -> Option<(i64, i64)> {
    let last = start.checked_add_days(chrono::Days::new(days.checked_sub(1)? as u64))?;
    clocks
        .into_iter()
        .map(|c| (c.day_start_ms(start), c.day(last).end_ms))
        .reduce(|(a, b), (c, d)| (a.min(c), b.max(d)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn a_skipped_date_has_no_minutes() {
        // Samoa jumped from 2011-12-29 24:00 to 2011-12-31 00:00 (UTC-10 to UTC+14).
        let apia = LocalClock::parse("Pacific/Apia").unwrap();
        let skipped = apia.day(date(2011, 12, 30));
        assert_eq!(skipped.minutes(), 0);
        assert_eq!(skipped.start_ms, apia.day(date(2011, 12, 31)).start_ms);
        assert_eq!(apia.day(date(2011, 12, 29)).minutes(), 1440);
        assert!(apia.minute_weights(&skipped, &[1.0; 1440]).is_empty());
    }

    fn utc(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
    }

    #[test]
    fn days_run_from_local_midnight_to_local_midnight() {
        let la = LocalClock::parse("America/Los_Angeles").unwrap();
        let d = la.day(date(2024, 1, 1));
        assert_eq!(d.start_ms, utc("2024-01-01T08:00:00Z"));
        assert_eq!(d.minutes(), 1440);
        let chicago = LocalClock::parse("America/Chicago").unwrap();
        assert_eq!(chicago.day_start_ms(date(2024, 1, 1)), utc("2024-01-01T06:00:00Z"));
        let utc_clock = LocalClock::parse("UTC").unwrap();
        assert_eq!(utc_clock.day_start_ms(date(2024, 1, 1)), utc("2024-01-01T00:00:00Z"));
        assert!(LocalClock::parse("America/Atlantis").unwrap_err().contains("IANA time zone"));
    }

    #[test]
    fn daylight_saving_days_have_23_and_25_hours() {
        let la = LocalClock::parse("America/Los_Angeles").unwrap();
        let profile: Vec<f64> = (0..1440).map(|m| m as f64).collect();
        // 2024-03-10: 02:00 PST becomes 03:00 PDT.
        let spring = la.day(date(2024, 3, 10));
        assert_eq!((spring.start_ms, spring.end_ms), (utc("2024-03-10T08:00:00Z"), utc("2024-03-11T07:00:00Z")));
        let w = la.minute_weights(&spring, &profile);
        assert_eq!(w.len(), 1380);
        assert_eq!((w[119], w[120]), (119.0, 180.0), "02:00-02:59 does not exist");
        assert_eq!(w[1379], 1439.0);
        // 2024-11-03: 02:00 PDT becomes 01:00 PST; 01:00-01:59 happens twice.
        let fall = la.day(date(2024, 11, 3));
        let w = la.minute_weights(&fall, &profile);
        assert_eq!(w.len(), 1500);
        assert_eq!((w[119], w[120], w[180]), (119.0, 60.0, 120.0));
        // A regular day borrows the profile.
        assert!(matches!(la.minute_weights(&la.day(date(2024, 3, 11)), &profile), Cow::Borrowed(_)));
    }

    #[test]
    fn a_clock_change_at_midnight_starts_the_day_at_the_change() {
        // Santiago, 2024-09-08: 00:00 -04 becomes 01:00 -03, so the day begins at 01:00.
        let scl = LocalClock::parse("America/Santiago").unwrap();
        let d = scl.day(date(2024, 9, 8));
        assert_eq!(d.start_ms, utc("2024-09-08T04:00:00Z"));
        assert_eq!(d.minutes(), 1380);
        assert_eq!(scl.minute_of_day(d.start_ms), 60);
    }
}
