//! The clickstream kind (`../shared/reference/SCENARIOS.md`, practice data
//! for stream processing): users whose sessions walk a Markov chain over
//! event types, ad impressions on the same daily curve, clicks that follow
//! their impression within a bound, and a share of orphan clicks whose
//! impression does not exist (labelled). This module reads and validates the
//! scenario; [`model`] simulates (no I/O), [`tables`] lays out the tables and
//! declares the streams, [`checks`] holds what `verify` adds.

pub mod checks;
pub mod figures;
pub mod file;
pub mod model;
pub mod tables;

use crate::error::Result;
use crate::model::calendar::Calendar;
use crate::model::clock::LocalClock;
use crate::model::curve::{minute_weights, DailyVolume};
use crate::model::dist::{Dist, DistSpec};
use crate::model::markov::Chain;
use crate::scenario::common::{check_shape, validate_header, validate_output, validate_peaks, Problems};
use crate::scenario::document::Document;
use file::ClickstreamFile;

pub const MAX_USERS: u32 = 1_000_000;
pub const MAX_ADS: u32 = 100_000;
/// Sessions or impressions a day may have (ids keep 7 digits).
pub const MAX_PER_DAY: f64 = 1_000_000.0;
/// The state that ends a session (never emitted).
pub const END: &str = "end";
/// The largest event value, so that values fit the tables' decimal(12, 2).
const MAX_VALUE: f64 = 1_000_000.0;
/// The longest click delay: a day.
const MAX_DELAY_S: f64 = 86_400.0;
/// The longest gap within a session (a longer pause is a new session) and
/// the most events in one: together they bound how far past its day a
/// session runs.
pub const MAX_GAP_S: f64 = 3_600.0;
pub const MAX_SESSION_EVENTS: u32 = 1_000;

#[derive(Clone, Debug)]
pub struct ClickstreamScenario {
    pub name: String,
    pub description: String,
    pub seed: u64,
    pub calendar: Calendar,
    pub clock: LocalClock,
    pub users: u32,
    pub sessions: DailyVolume,
    /// 1440 weights, one per UTC minute of the day.
    pub profile: Vec<f64>,
    pub chain: Chain,
    /// The chain's index of [`END`].
    pub end_state: usize,
    pub gap_s: Dist,
    pub max_events: u32,
    pub value: Dist,
    pub ads: u32,
    pub impressions: DailyVolume,
    pub click_rate: f64,
    pub click_delay_s: Dist,
    pub max_click_delay_ms: i64,
    pub orphan_share: f64,
    pub row_group_rows: usize,
    pub zstd_level: i32,
}

/// The JSON Schema of the clickstream scenario file.
pub fn schema() -> serde_json::Value {
    schemars::schema_for!(ClickstreamFile).as_value().clone()
}

fn volume(base: f64) -> DailyVolume {
    let noise = DistSpec::Constant { value: 1.0 }.compile().expect("a constant is a distribution");
    DailyVolume { base, daily_growth: 0.0, weekday: None, noise }
}

impl ClickstreamScenario {
    pub fn from_document(doc: &Document) -> Result<ClickstreamScenario> {
        check_shape(doc, &schema())?;
        let f: ClickstreamFile = doc.deserialize_scaled()?;
        let mut p = Problems::default();
        let calendar = validate_header(&mut p, &f.name, &f.time);
        validate_output(&mut p, &f.output);
        p.check("users.count", (1..=MAX_USERS).contains(&f.users.count), "1 ..= 1000000 users", f.users.count);
        let s = &f.sessions;
        let per_day = |v: f64| (0.0..=MAX_PER_DAY).contains(&v);
        p.num("sessions.per_day", per_day(s.per_day), "0 ..= 1000000 a day", s.per_day);
        let peaks = validate_peaks(&mut p, "sessions.peaks", &s.peaks);
        let chain = match s.chain.compile() {
            Ok(c) => Some(c),
            Err(problems) => {
                for (sub, msg) in problems {
                    p.key(&format!("sessions.chain.{sub}"), msg);
                }
                None
            }
        };
        let end_state = chain.as_ref().and_then(|c| c.states.iter().position(|x| x == END));
        if chain.is_some() && end_state.is_none() {
            p.key("sessions.chain.states", format!("expected a state named \"{END}\", which ends a session"));
        }
        let gap_s = p.dist_within("sessions.gap_s", &s.gap_s, 0.0, MAX_GAP_S, "seconds, at most an hour");
        let max_ok = (1..=MAX_SESSION_EVENTS).contains(&s.max_events);
        p.check("sessions.max_events", max_ok, "1 ..= 1000 events", s.max_events);
        let value = p.dist_within("sessions.value", &s.value, 0.0, MAX_VALUE, "a value");
        let a = &f.ads;
        p.check("ads.count", (1..=MAX_ADS).contains(&a.count), "1 ..= 100000 ads", a.count);
        p.num("ads.impressions_per_day", per_day(a.impressions_per_day), "0 ..= 1000000 a day", a.impressions_per_day);
        p.num("ads.click_rate", (0.0..=1.0).contains(&a.click_rate), "a probability", a.click_rate);
        let bound_ok = a.max_click_delay_s > 0.0 && a.max_click_delay_s <= MAX_DELAY_S;
        p.num("ads.max_click_delay_s", bound_ok, "seconds in (0, 86400]", a.max_click_delay_s);
        let bound = if bound_ok { a.max_click_delay_s } else { MAX_DELAY_S };
        let delay =
            p.dist_within("ads.click_delay_s", &a.click_delay_s, 0.0, bound, "seconds within max_click_delay_s");
        p.num("ads.orphan_share", (0.0..=0.5).contains(&a.orphan_share), "a share in 0 ..= 0.5", a.orphan_share);
        let built = (|| {
            Some(ClickstreamScenario {
                name: f.name,
                description: f.description,
                seed: f.seed,
                calendar: calendar?,
                clock: LocalClock::parse("UTC").ok()?,
                users: f.users.count,
                sessions: volume(s.per_day),
                profile: minute_weights(&peaks),
                chain: chain?,
                end_state: end_state?,
                gap_s: gap_s?,
                max_events: s.max_events,
                value: value?,
                ads: a.count,
                impressions: volume(a.impressions_per_day),
                click_rate: a.click_rate,
                click_delay_s: delay?,
                max_click_delay_ms: (a.max_click_delay_s * 1000.0).ceil() as i64,
                orphan_share: a.orphan_share,
                row_group_rows: f.output.row_group_rows as usize,
                zstd_level: f.output.zstd_level,
            })
        })();
        if let Some(c) = &built {
            let rows = c.expected_rows();
            let limit = crate::limits::MAX_STREAMED_EVENTS as f64;
            p.num(
                "time.days",
                rows <= limit,
                "a run within 10,000,000,000 rows (fewer days, sessions or impressions)",
                rows,
            );
        }
        match built {
            Some(s) if p.0.is_empty() => Ok(s),
            _ => Err(doc.errors(&p.0)),
        }
    }

    /// Events a session has on average: the expected steps before `end`,
    /// at most `max_events` (the chain iterated `max_events` times).
    pub fn session_length(&self) -> f64 {
        let n = self.chain.states.len();
        let mut len = vec![0.0; n];
        for _ in 0..self.max_events {
            let next: Vec<f64> = (0..n)
                .map(|s| {
                    if s == self.end_state {
                        0.0
                    } else {
                        1.0 + (0..n).map(|t| self.chain.probability(s, t) * len[t]).sum::<f64>()
                    }
                })
                .collect();
            len = next;
        }
        (0..n).map(|s| self.chain.start_probability(s) * len[s]).sum()
    }

    /// The rows a run is expected to write, with room for the daily noise.
    pub fn expected_rows(&self) -> f64 {
        let per_day = self.sessions.base * self.session_length()
            + self.impressions.base * (1.0 + self.click_rate / (1.0 - self.orphan_share));
        1.1 * per_day * self.calendar.days as f64
    }

    /// What a run of this scenario produces, for `validate`.
    pub fn summary(&self) -> String {
        format!(
            "{} users, {} ads, about {} sessions and {} impressions a day for {} days from {}",
            self.users,
            self.ads,
            crate::figures::grouped(self.sessions.base as u64),
            crate::figures::grouped(self.impressions.base as u64),
            self.calendar.days,
            self.calendar.start
        )
    }
}
