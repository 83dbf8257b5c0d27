//! The calendar: a start date and a number of whole days, with weekday
//! arithmetic and per-weekday multipliers. Day `d` is the date `start + d`;
//! where it begins and ends is a local clock's business (`model::clock`),
//! since every location lives in its own time zone.

use chrono::{Datelike, NaiveDate, NaiveTime};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub const MS_PER_DAY: i64 = 86_400_000;

#[derive(Clone, Debug)]
pub struct Calendar {
    pub start: NaiveDate,
    pub days: u32,
}

impl Calendar {
    /// The date of day `day`.
    pub fn date(&self, day: u32) -> NaiveDate {
        self.start + chrono::Days::new(day as u64)
    }

    /// Unix epoch milliseconds of UTC midnight of day `day`.
    pub fn utc_midnight_ms(&self, day: u32) -> i64 {
        self.date(day).and_time(NaiveTime::MIN).and_utc().timestamp_millis()
    }

    /// 0 = Monday .. 6 = Sunday.
    pub fn weekday(&self, day: u32) -> usize {
        (self.start.weekday().num_days_from_monday() as usize + day as usize) % 7
    }
}

/// Demand multipliers per weekday, as written in a scenario.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WeekdayMultipliers {
    pub mon: f64,
    pub tue: f64,
    pub wed: f64,
    pub thu: f64,
    pub fri: f64,
    pub sat: f64,
    pub sun: f64,
}

impl WeekdayMultipliers {
    pub fn as_array(&self) -> [f64; 7] {
        [self.mon, self.tue, self.wed, self.thu, self.fri, self.sat, self.sun]
    }

    /// Keys of multipliers outside `0 ..= max` (or not finite).
    pub fn invalid_keys(&self, max: f64) -> Vec<&'static str> {
        const NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        NAMES.iter().zip(self.as_array()).filter(|(_, v)| !(0.0..=max).contains(v)).map(|(n, _)| *n).collect()
    }
}

impl Default for WeekdayMultipliers {
    fn default() -> Self {
        Self { mon: 1.0, tue: 1.0, wed: 1.0, thu: 1.0, fri: 1.0, sat: 1.0, sun: 1.0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_calendar_starts_on_a_monday() {
        let c = Calendar { start: NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(), days: 90 };
        assert_eq!(c.utc_midnight_ms(0), 1_704_067_200_000);
        assert_eq!(c.utc_midnight_ms(90) - c.utc_midnight_ms(0), 90 * MS_PER_DAY);
        assert_eq!(c.date(60), NaiveDate::from_ymd_opt(2024, 3, 1).unwrap());
        assert_eq!(c.weekday(0), 0);
        assert_eq!(c.weekday(5), 5); // Saturday 6 January 2024
        assert_eq!(c.weekday(6), 6);
        assert_eq!(c.weekday(7), 0);
    }

    #[test]
    fn weekday_multipliers_map_to_days() {
        let w = WeekdayMultipliers { mon: 1.0, tue: 1.05, wed: 1.08, thu: 1.1, fri: 1.25, sat: 1.35, sun: 1.15 };
        assert_eq!(w.as_array()[5], 1.35);
        let bad = WeekdayMultipliers { sat: -1.0, ..w };
        assert_eq!(bad.invalid_keys(1000.0), vec!["sat"]);
        assert_eq!(WeekdayMultipliers { mon: 1e308, ..w }.invalid_keys(1000.0), vec!["mon"]);
    }
}
