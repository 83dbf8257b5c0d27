//! The generic model building blocks shared by every scenario kind:
//! probability distributions, the calendar, local clocks (time zones and
//! their days), intraday demand curves and daily volume targets. Pure code: no I/O, no knowledge of any particular scenario.

pub mod calendar;
pub mod clock;
pub mod curve;
pub mod dist;
pub mod hours;
pub mod markov;
