//! The clickstream scenario file as written: strict serde types whose JSON
//! Schema (schemars) the shape check and `simkit schema` read.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::model::dist::DistSpec;
use crate::model::markov::ChainSpec;
use crate::scenario::common::{OutputSpec, PeakSpec, TimeSpec};
use crate::scenario::document::{scaled_count, KeyPath, Scale};

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClickstreamFile {
    /// Dataset name: letters, digits, `_` and `-`; the default output is `outputs/<name>/`.
    pub name: String,
    /// The scenario kind: "clickstream".
    pub kind: String,
    #[serde(default)]
    pub description: String,
    pub seed: u64,
    pub time: TimeSpec,
    #[serde(default)]
    pub users: UsersSpec,
    #[serde(default)]
    pub sessions: SessionsSpec,
    #[serde(default)]
    pub ads: AdsSpec,
    #[serde(default)]
    pub output: OutputSpec,
    /// Late, duplicate, out-of-order, dropped and null records per stream, and the truth to compute (docs/disorder.md).
    #[serde(default)]
    #[allow(dead_code)] // read by crate::disorder::spec::load
    pub disorder: crate::disorder::DisorderSection,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UsersSpec {
    /// Users named USER001, USER002, ... (1 ..= 1000000).
    #[serde(default = "user_count")]
    pub count: u32,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionsSpec {
    /// Sessions started per day, a Poisson process on the intraday peaks (UTC).
    #[serde(default = "sessions_per_day")]
    pub per_day: f64,
    /// Intraday peaks of sessions and impressions (UTC clock).
    #[serde(default = "peaks")]
    pub peaks: Vec<PeakSpec>,
    /// The event types of a session as a Markov chain; the state `end` ends the session.
    #[serde(default = "chain")]
    pub chain: ChainSpec,
    /// Seconds from one event of a session to the next (at most 3600).
    #[serde(default = "gap_s")]
    pub gap_s: DistSpec,
    /// Most events in one session (1 ..= 1000).
    #[serde(default = "max_events")]
    pub max_events: u32,
    /// An event's value (0 ..= 1000000, kept to 2 decimals).
    #[serde(default = "value")]
    pub value: DistSpec,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdsSpec {
    /// Ads named AD001, AD002, ... (1 ..= 100000).
    #[serde(default = "ad_count")]
    pub count: u32,
    /// Impressions per day, a Poisson process on the sessions' peaks.
    #[serde(default = "impressions_per_day")]
    pub impressions_per_day: f64,
    /// The probability that an impression is clicked.
    #[serde(default = "click_rate")]
    pub click_rate: f64,
    /// Seconds from an impression to its click (every draw within `max_click_delay_s`).
    #[serde(default = "click_delay_s")]
    pub click_delay_s: DistSpec,
    /// The join bound: a click follows its impression within this many seconds.
    #[serde(default = "max_click_delay_s")]
    pub max_click_delay_s: f64,
    /// The share of clicks that refer to an impression that does not exist (0 ..= 0.5).
    #[serde(default = "orphan_share")]
    pub orphan_share: f64,
}

fn user_count() -> u32 {
    100
}
fn sessions_per_day() -> f64 {
    2000.0
}
fn peaks() -> Vec<PeakSpec> {
    Vec::new()
}
fn chain() -> ChainSpec {
    let states = ["page_view", "search", "click", "add_to_cart", "purchase", "end"];
    ChainSpec {
        states: states.iter().map(|s| s.to_string()).collect(),
        start: vec![0.7, 0.3, 0.0, 0.0, 0.0, 0.0],
        transitions: vec![
            vec![0.35, 0.15, 0.3, 0.05, 0.0, 0.15],
            vec![0.3, 0.1, 0.4, 0.05, 0.0, 0.15],
            vec![0.4, 0.1, 0.1, 0.2, 0.0, 0.2],
            vec![0.2, 0.05, 0.1, 0.1, 0.35, 0.2],
            vec![0.3, 0.05, 0.05, 0.0, 0.0, 0.6],
            vec![0.0, 0.0, 0.0, 0.0, 0.0, 1.0],
        ],
    }
}
fn gap_s() -> DistSpec {
    DistSpec::Uniform { min: 2.0, max: 120.0 }
}
fn max_events() -> u32 {
    200
}
fn value() -> DistSpec {
    DistSpec::Uniform { min: 1.0, max: 100.0 }
}
fn ad_count() -> u32 {
    20
}
fn impressions_per_day() -> f64 {
    3000.0
}
fn click_rate() -> f64 {
    0.2
}
fn click_delay_s() -> DistSpec {
    DistSpec::Uniform { min: 1.0, max: 600.0 }
}
fn max_click_delay_s() -> f64 {
    600.0
}
fn orphan_share() -> f64 {
    0.02
}

impl Default for UsersSpec {
    fn default() -> Self {
        UsersSpec { count: user_count() }
    }
}

impl Default for SessionsSpec {
    fn default() -> Self {
        SessionsSpec {
            per_day: sessions_per_day(),
            peaks: peaks(),
            chain: chain(),
            gap_s: gap_s(),
            max_events: max_events(),
            value: value(),
        }
    }
}

impl Default for AdsSpec {
    fn default() -> Self {
        AdsSpec {
            count: ad_count(),
            impressions_per_day: impressions_per_day(),
            click_rate: click_rate(),
            click_delay_s: click_delay_s(),
            max_click_delay_s: max_click_delay_s(),
            orphan_share: orphan_share(),
        }
    }
}

impl Scale for ClickstreamFile {
    /// Users, sessions and impressions (the ads stay: a bigger site, the same campaign).
    fn scale(&mut self, k: f64) -> Result<Vec<KeyPath>, (KeyPath, String)> {
        self.users.count = scaled_count(self.users.count, k);
        self.sessions.per_day *= k;
        self.ads.impressions_per_day *= k;
        let keys = [["users", "count"], ["sessions", "per_day"], ["ads", "impressions_per_day"]];
        Ok(keys.iter().map(|p| p.map(String::from).to_vec()).collect())
    }
}
