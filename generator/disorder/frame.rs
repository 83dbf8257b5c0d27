//! A shard's share of a run's disorder. Deliveries cross midnight, so a
//! shard of whole days cannot be disordered from its own rows alone: it
//! also simulates the days around it ([`shard_span`]) and keeps, of all it
//! computes, what falls in its frame of time. Consecutive shards' frames
//! tile the run, so each delivery (by arrival), truth window (by start),
//! record and distinct event (by event time) and join match (by the right
//! row's time) belongs to exactly one shard, and the shards' parts add up
//! to the run in one piece (`simkit merge`).

use std::ops::Range;

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::TimestampMillisecondType;

use super::columns::{column, Res};
use super::{max_lag_ms, JoinSpec, Plan};

const DAY_MS: i64 = 86_400_000;

/// The times a shard owns, `[own_from, own_to)`, and the first event time
/// whose row it draws deliveries for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame {
    pub own_from: i64,
    pub own_to: i64,
    /// The start of a day of the draws' random streams (rows before it are
    /// not drawn: their day's stream would start part-way).
    pub draw_from: i64,
}

impl Frame {
    /// A run in one piece owns everything.
    pub const WHOLE: Frame = Frame { own_from: i64::MIN, own_to: i64::MAX, draw_from: i64::MIN };

    pub fn owns(&self, t: i64) -> bool {
        self.own_from <= t && t < self.own_to
    }

    /// The rows of `delivered` (in arrival order) that arrive in the frame.
    pub fn arriving(&self, delivered: &RecordBatch) -> Res<RecordBatch> {
        if *self == Frame::WHOLE {
            return Ok(delivered.clone());
        }
        let arrival = column(delivered, "arrival_time")?
            .as_primitive_opt::<TimestampMillisecondType>()
            .ok_or("`arrival_time` is not a timestamp (ms)")?;
        let times = arrival.values();
        let from = times.partition_point(|&t| t < self.own_from);
        let to = times.partition_point(|&t| t < self.own_to).max(from);
        Ok(delivered.slice(from, to - from))
    }
}

/// The days shard `own` of a run of `run_days` simulates (its own and,
/// with disorder, those around it) and its frame. Before it: the rows
/// whose deliveries can arrive in it and the left rows its right rows join;
/// after it: the rows that can arrive before the last delivery into its
/// windows. Two days of margin cover any time zone's midnight.
pub fn shard_span(
    plan: &Plan,
    joins: &[JoinSpec],
    start_ms: i64,
    own: Range<u32>,
    run_days: u32,
) -> (Range<u32>, Frame) {
    if plan.is_empty() {
        return (own, Frame::WHOLE);
    }
    let lag = plan.streams.iter().map(max_lag_ms).max().unwrap_or(0);
    let before_ms = joins.iter().map(|j| j.bound_ms).fold(lag, i64::max).max(0);
    let window_ms = |p: &super::StreamPlan| p.window_s.iter().max().map_or(0, |&w| w as i64 * 1000);
    let after_ms = plan.streams.iter().map(|p| window_ms(p) + max_lag_ms(p)).max().unwrap_or(0).max(0);
    let days = |ms: i64| (ms as u64).div_ceil(DAY_MS as u64).min(u32::MAX as u64 / 2) as u32 + 2;
    let span = own.start.saturating_sub(days(before_ms))..own.end.saturating_add(days(after_ms)).min(run_days);
    let day_start = |d: u32| start_ms.saturating_add(d as i64 * DAY_MS);
    let own_from = if own.start == 0 { i64::MIN } else { day_start(own.start) };
    let own_to = if own.end >= run_days { i64::MAX } else { day_start(own.end) };
    let draw_from = if span.start == 0 {
        i64::MIN
    } else {
        let first = own_from.saturating_sub(before_ms).saturating_sub(start_ms).div_euclid(DAY_MS);
        start_ms.saturating_add(first.saturating_mul(DAY_MS))
    };
    (span, Frame { own_from, own_to, draw_from })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disorder::spec::Delay;
    use crate::disorder::StreamPlan;
    use crate::model::dist::DistSpec;

    fn plan(late_max_s: f64, window_s: u32) -> Plan {
        let late = Delay { share: 0.1, delay: DistSpec::Uniform { min: 1.0, max: late_max_s }.compile().unwrap() };
        Plan {
            streams: vec![StreamPlan {
                index: 0,
                stream: crate::kinds::clickstream::tables::streams().remove(0),
                late: Some(late),
                duplicates: None,
                out_of_order_ms: 0,
                drop_share: 0.0,
                nulls: Vec::new(),
                id: vec!["event_id".into()],
                window_s: vec![60, window_s],
                watermark_s: vec![0],
                keys: Vec::new(),
                sums: Vec::new(),
                distinct: "user_id".into(),
            }],
        }
    }

    #[test]
    fn clean_runs_and_whole_runs_own_everything() {
        assert_eq!(shard_span(&Plan::default(), &[], 0, 3..5, 10), (3..5, Frame::WHOLE));
        assert_eq!(shard_span(&plan(1800.0, 3600), &[], 0, 0..10, 10), (0..10, Frame::WHOLE));
    }

    #[test]
    fn a_shard_spans_the_days_its_deliveries_and_windows_reach() {
        let start = 1_700_000_000_000 / DAY_MS * DAY_MS;
        // Half an hour of lag and hour windows: two days of margin each side.
        let (span, f) = shard_span(&plan(1800.0, 3600), &[], start, 10..20, 40);
        assert_eq!(span, 7..23);
        assert_eq!((f.own_from, f.own_to), (start + 10 * DAY_MS, start + 20 * DAY_MS));
        assert_eq!(f.draw_from, start + 9 * DAY_MS, "the day of the first row that can arrive in it");
        // A week's windows reach a week past the shard; the run's ends are open.
        let (span, f) = shard_span(&plan(60.0, 604_800), &[], start, 0..5, 30);
        assert_eq!((span, f.own_from, f.draw_from), (0..15, i64::MIN, i64::MIN));
        let (span, f) = shard_span(&plan(60.0, 604_800), &[], start, 25..30, 30);
        assert_eq!((span, f.own_to), (22..30, i64::MAX));
        // A join's bound reaches back like a lag.
        let join = JoinSpec {
            name: "j".into(),
            left: "a".into(),
            left_time: "t".into(),
            right: "b".into(),
            right_time: "t".into(),
            on: "k".into(),
            bound_ms: 3 * DAY_MS,
        };
        assert_eq!(shard_span(&plan(60.0, 60), &[join], start, 10..12, 30).0, 5..15);
    }

    #[test]
    fn frames_of_consecutive_shards_tile_time() {
        let p = plan(1800.0, 3600);
        let frames: Vec<Frame> = [0..4, 4..9, 9..12].into_iter().map(|d| shard_span(&p, &[], 0, d, 12).1).collect();
        for t in [-5, 0, 4 * DAY_MS - 1, 4 * DAY_MS, 9 * DAY_MS, 20 * DAY_MS] {
            assert_eq!(frames.iter().filter(|f| f.owns(t)).count(), 1, "time {t}");
        }
    }
}
