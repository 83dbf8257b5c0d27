//! The generic model building blocks shared by every scenario kind:
//! probability distributions, the calendar, intraday demand curves and daily
//! volume targets. Pure code: no I/O, no knowledge of any particular scenario.

pub mod calendar;
pub mod curve;
pub mod dist;
