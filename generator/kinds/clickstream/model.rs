//! The clickstream simulation, day by day (no I/O). Each day draws its
//! sessions and impressions from the shared arrival process on the UTC
//! curve; a session picks a user and walks the event-type chain until
//! `end` (or `max_events`), one gap between events; an impression is
//! clicked with `click_rate`, after `click_delay_s`; each genuine click
//! brings an orphan click with probability `share / (1 - share)` (so orphans
//! are `orphan_share` of all clicks), at a uniform time of the day, naming
//! an impression number the day never reached. Days are independent random
//! streams, so `--days N` is a prefix of a longer run.

use rand::Rng;
use rayon::prelude::*;

use super::ClickstreamScenario;
use crate::demand::{arrivals, Demand};
use crate::model::curve::DailyVolume;
use crate::seed::{stream, Purpose};

/// Scope of the sessions' and the impressions' random streams.
const SESSIONS: u32 = 0;
const IMPRESSIONS: u32 = 1;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Event {
    pub ts: i64,
    pub day: u32,
    /// The session's number within its day, from 1.
    pub session: u32,
    /// The event's step within its session, from 1.
    pub step: u32,
    pub user: u32,
    pub state: u16,
    pub value_cents: i64,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Impression {
    pub ts: i64,
    pub day: u32,
    /// Its number within its day, from 1.
    pub seq: u32,
    pub ad: u32,
    pub user: u32,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Click {
    pub ts: i64,
    pub day: u32,
    /// Its number within its day, from 1.
    pub seq: u32,
    /// The impression it names: (day, number); an orphan's does not exist.
    pub impression: (u32, u32),
    pub orphan: bool,
}

#[derive(Debug, Default, PartialEq)]
pub struct Run {
    /// In (time, day, session, step) order.
    pub events: Vec<Event>,
    /// In time order.
    pub impressions: Vec<Impression>,
    /// In (time, day, number) order.
    pub clicks: Vec<Click>,
}

fn day_arrivals(s: &ClickstreamScenario, scope: u32, day: u32, volume: &DailyVolume) -> Vec<i64> {
    let demand = Demand { volume, clock: &s.clock, profile: &s.profile, multiplier: 1.0 };
    arrivals(s.seed, scope, day, &s.calendar, &demand)
}

fn sessions(s: &ClickstreamScenario, day: u32) -> Vec<Event> {
    let mut rng = stream(s.seed, SESSIONS as u64, day as u64, Purpose::Sessions);
    let mut out = Vec::new();
    for (k, &start) in day_arrivals(s, SESSIONS, day, &s.sessions).iter().enumerate() {
        let user = rng.random_range(1..=s.users);
        let (mut state, mut t) = (s.chain.first(&mut rng), start as f64);
        let mut step = 0;
        while state != s.end_state && step < s.max_events {
            step += 1;
            let value_cents = (s.value.sample(&mut rng) * 100.0).round() as i64;
            let (session, state_id) = (k as u32 + 1, state as u16);
            out.push(Event { ts: t.round() as i64, day, session, step, user, state: state_id, value_cents });
            t += s.gap_s.sample(&mut rng) * 1000.0;
            state = s.chain.next(state, &mut rng);
        }
    }
    out
}

fn ads(s: &ClickstreamScenario, day: u32) -> (Vec<Impression>, Vec<Click>) {
    let mut rng = stream(s.seed, IMPRESSIONS as u64, day as u64, Purpose::Impressions);
    let times = day_arrivals(s, IMPRESSIONS, day, &s.impressions);
    let orphan_p = if s.orphan_share > 0.0 { s.orphan_share / (1.0 - s.orphan_share) } else { 0.0 };
    let day_start = s.clock.day_start_ms(s.calendar.date(day));
    let (mut impressions, mut clicks) = (Vec::with_capacity(times.len()), Vec::new());
    let mut orphans = 0;
    for (j, &ts) in times.iter().enumerate() {
        let seq = j as u32 + 1;
        let (ad, user) = (rng.random_range(1..=s.ads), rng.random_range(1..=s.users));
        impressions.push(Impression { ts, day, seq, ad, user });
        if !rng.random_bool(s.click_rate) {
            continue;
        }
        let delay = (s.click_delay_s.sample(&mut rng) * 1000.0).round() as i64;
        let seq = clicks.len() as u32 + 1;
        clicks.push(Click { ts: ts + delay, day, seq, impression: (day, j as u32 + 1), orphan: false });
        if rng.random_bool(orphan_p.min(1.0)) {
            orphans += 1;
            let at = day_start + rng.random_range(0..86_400_000);
            let missing = (day, times.len() as u32 + orphans);
            clicks.push(Click { ts: at, day, seq: seq + 1, impression: missing, orphan: true });
        }
    }
    (impressions, clicks)
}

/// One day's sessions' events, and its impressions and clicks.
type Day = (Vec<Event>, (Vec<Impression>, Vec<Click>));

fn day(s: &ClickstreamScenario, day: u32) -> Day {
    rayon::join(|| sessions(s, day), || ads(s, day))
}

impl Run {
    fn add(&mut self, (events, (impressions, clicks)): Day) {
        self.events.extend(events);
        self.impressions.extend(impressions);
        self.clicks.extend(clicks);
    }

    /// Each table in the run's order.
    fn sort(&mut self) {
        self.events.par_sort_unstable_by_key(|e| (e.ts, e.day, e.session, e.step));
        self.impressions.par_sort_unstable_by_key(|i| (i.ts, i.day, i.seq));
        self.clicks.par_sort_unstable_by_key(|c| (c.ts, c.day, c.seq));
    }

    fn rows(&self) -> usize {
        self.events.len() + self.impressions.len() + self.clicks.len()
    }

    /// Moves every record at or after `cut` into a new run, in order.
    fn split_off(&mut self, cut: i64) -> Run {
        let events = self.events.partition_point(|e| e.ts < cut);
        let impressions = self.impressions.partition_point(|i| i.ts < cut);
        let clicks = self.clicks.partition_point(|c| c.ts < cut);
        Run {
            events: self.events.split_off(events),
            impressions: self.impressions.split_off(impressions),
            clicks: self.clicks.split_off(clicks),
        }
    }
}

/// The most a session's last event may follow its first: `max_events` gaps
/// of the longest, in ms (rounded up).
pub fn session_span_ms(s: &ClickstreamScenario) -> i64 {
    (s.max_events as f64 * s.gap_s.bounds().1 * 1000.0).ceil() as i64 + 1
}

/// The run a few days at a time. A piece holds every record before the
/// start of the day after its last, in the run's order; the records of its
/// days that fall later (sessions and clicks past midnight) wait for the
/// next piece. No record of a day is earlier than that day's start, so the
/// pieces in turn are the whole run.
pub struct Clickstream<'a> {
    s: &'a ClickstreamScenario,
    next_day: u32,
    end_day: u32,
    carry: Run,
}

impl<'a> Clickstream<'a> {
    pub fn new(s: &'a ClickstreamScenario) -> Clickstream<'a> {
        Clickstream::days(s, 0..s.calendar.days)
    }

    /// The records from the start of the first of `days` to the start of
    /// the day after the last (a shard of the run). Days are independent,
    /// so only the few days before whose sessions and clicks can reach that
    /// far are simulated first, their earlier records dropped.
    pub fn days(s: &'a ClickstreamScenario, days: std::ops::Range<u32>) -> Clickstream<'a> {
        let reach_ms = session_span_ms(s).max(s.max_click_delay_ms) as u64;
        // A day lasts at least 23 hours; one more for the day itself.
        let warm_up = (reach_ms.div_ceil(23 * 3_600_000) as u32 + 1).min(days.start);
        let mut carry = Run::default();
        for d in days.start - warm_up..days.start {
            carry.add(day(s, d));
        }
        carry.sort();
        let carry = carry.split_off(s.clock.day_start_ms(s.calendar.date(days.start)));
        Clickstream { s, next_day: days.start, end_day: days.end.min(s.calendar.days), carry }
    }

    /// Days simulated so far.
    pub fn days_done(&self) -> u32 {
        self.next_day
    }

    /// The next piece: whole days until it holds at least `min_rows`
    /// records; `None` once every day is done.
    pub fn next_piece(&mut self, min_rows: usize) -> Option<Run> {
        let s = self.s;
        if self.next_day >= self.end_day {
            return None;
        }
        let mut run = std::mem::take(&mut self.carry);
        while self.next_day < self.end_day && run.rows() < min_rows {
            run.add(day(s, self.next_day));
            self.next_day += 1;
        }
        run.sort();
        if self.next_day < s.calendar.days {
            self.carry = run.split_off(s.clock.day_start_ms(s.calendar.date(self.next_day)));
        }
        Some(run)
    }
}

/// The whole run, days in parallel, merged in time order.
pub fn simulate(s: &ClickstreamScenario) -> Run {
    let days: Vec<Day> = (0..s.calendar.days).into_par_iter().map(|d| day(s, d)).collect();
    let mut run = Run::default();
    days.into_iter().for_each(|d| run.add(d));
    run.sort();
    run
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::Model;

    #[test]
    fn a_run_in_pieces_of_days_is_the_whole_run() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/clickstream.toml");
        let sets = vec!["time.days=9".to_string()];
        let overrides = crate::scenario::Overrides { sets, scale: None };
        let Model::Clickstream(c) = crate::scenario::load(&path, &overrides).unwrap().model else {
            panic!("clickstream.toml is a clickstream scenario")
        };
        let whole = simulate(&c);
        let mut pieces = Clickstream::new(&c);
        let (mut joined, mut count) = (Run::default(), 0);
        // Small pieces: about a day each, so records past midnight carry over.
        while let Some(p) = pieces.next_piece(1000) {
            joined.events.extend(p.events);
            joined.impressions.extend(p.impressions);
            joined.clicks.extend(p.clicks);
            count += 1;
        }
        assert!(count >= 9, "{count} pieces");
        let after_midnight = |e: &Event| e.ts >= c.clock.day_start_ms(c.calendar.date(e.day + 1));
        assert!(whole.events.iter().any(after_midnight), "some session runs past its day");
        assert_eq!(joined, whole);
    }
}
