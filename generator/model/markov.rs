//! Markov chains over a few named states: a scenario writes one as
//! `{ states = ["dry", "rain"], start = [0.9, 0.1], transitions = [[0.8, 0.2], [0.3, 0.7]] }`
//! (row `i` holds the relative weights of the next state after state `i`).
//! One uniform draw picks each step, so a chain consumes exactly one draw
//! per step whatever its state.

use rand::Rng;
use schemars::JsonSchema;
use serde::Deserialize;

use super::dist::Problem;

/// A chain as written in a scenario.
#[derive(Clone, Debug, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ChainSpec {
    pub states: Vec<String>,
    /// Relative weights of the first state.
    pub start: Vec<f64>,
    /// Row `i`: relative weights of the state after state `i`.
    pub transitions: Vec<Vec<f64>>,
}

/// A validated chain: cumulative, normalised rows.
#[derive(Clone, Debug, PartialEq)]
pub struct Chain {
    pub states: Vec<String>,
    start: Vec<f64>,
    rows: Vec<Vec<f64>>,
}

/// Cumulative shares of `weights` (the last is exactly 1).
fn cumulative(weights: &[f64]) -> Vec<f64> {
    let total: f64 = weights.iter().sum();
    let mut acc = 0.0;
    let mut out: Vec<f64> = weights
        .iter()
        .map(|w| {
            acc += w;
            acc / total
        })
        .collect();
    if let Some(last) = out.last_mut() {
        *last = 1.0;
    }
    out
}

/// The share of cumulative shares `c` that falls on index `i`.
fn step_probability(c: &[f64], i: usize) -> f64 {
    c[i] - if i == 0 { 0.0 } else { c[i - 1] }
}

/// Relative weights that make sense: as many as states, finite, >= 0, a positive sum.
fn check_weights(key: &str, weights: &[f64], n: usize, p: &mut Vec<Problem>) {
    if weights.len() != n {
        p.push((key.into(), format!("expected {n} weights (one per state), found {}", weights.len())));
    } else if weights.iter().any(|w| !(*w >= 0.0 && w.is_finite())) || weights.iter().sum::<f64>() <= 0.0 {
        p.push((key.into(), "expected weights >= 0 with a positive sum".into()));
    }
}

impl ChainSpec {
    /// Validates and compiles; problems name the sub-key (`transitions.1`).
    pub fn compile(&self) -> Result<Chain, Vec<Problem>> {
        let mut p = Vec::new();
        let n = self.states.len();
        if n == 0 {
            p.push(("states".into(), "expected at least one state".into()));
        }
        for (i, s) in self.states.iter().enumerate() {
            if s.is_empty() || self.states[..i].contains(s) {
                p.push((format!("states.{i}"), format!("expected a unique, non-empty state name, found {s:?}")));
            }
        }
        check_weights("start", &self.start, n, &mut p);
        if self.transitions.len() != n {
            p.push((
                "transitions".into(),
                format!("expected {n} rows (one per state), found {}", self.transitions.len()),
            ));
        }
        for (i, row) in self.transitions.iter().enumerate() {
            check_weights(&format!("transitions.{i}"), row, n, &mut p);
        }
        if !p.is_empty() {
            return Err(p);
        }
        Ok(Chain {
            states: self.states.clone(),
            start: cumulative(&self.start),
            rows: self.transitions.iter().map(|r| cumulative(r)).collect(),
        })
    }
}

impl Chain {
    /// A two-state chain (0 and 1) from the probabilities of leaving each
    /// state; a probability outside 0..=1 is held at its bound (never, always).
    pub fn two_state(names: [&str; 2], start_1: f64, leave_0: f64, leave_1: f64) -> Chain {
        let c = |x: f64| x.clamp(0.0, 1.0);
        Chain {
            states: names.map(str::to_string).to_vec(),
            start: vec![1.0 - c(start_1), 1.0],
            rows: vec![vec![1.0 - c(leave_0), 1.0], vec![c(leave_1), 1.0]],
        }
    }

    fn pick(cum: &[f64], u: f64) -> usize {
        cum.partition_point(|c| *c <= u).min(cum.len() - 1)
    }

    /// The first state.
    /// The probability that the first state is `s`.
    pub fn start_probability(&self, s: usize) -> f64 {
        step_probability(&self.start, s)
    }

    /// The probability that state `to` follows state `from`.
    pub fn probability(&self, from: usize, to: usize) -> f64 {
        step_probability(&self.rows[from], to)
    }

    pub fn first<R: Rng + ?Sized>(&self, rng: &mut R) -> usize {
        Self::pick(&self.start, rng.random())
    }

    /// The state after `state`.
    pub fn next<R: Rng + ?Sized>(&self, state: usize, rng: &mut R) -> usize {
        Self::pick(&self.rows[state], rng.random())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::{stream, Purpose};

    #[test]
    fn a_chain_visits_its_stationary_shares() {
        let spec = ChainSpec {
            states: vec!["dry".into(), "rain".into()],
            start: vec![1.0, 0.0],
            transitions: vec![vec![0.8, 0.2], vec![0.3, 0.7]],
        };
        let chain = spec.compile().unwrap();
        let mut rng = stream(1, 0, 0, Purpose::Weather);
        let mut state = chain.first(&mut rng);
        assert_eq!(state, 0);
        let n = 200_000;
        let rainy = (0..n)
            .filter(|_| {
                state = chain.next(state, &mut rng);
                state == 1
            })
            .count();
        // Stationary share of rain: 0.2 / (0.2 + 0.3).
        assert!((rainy as f64 / n as f64 - 0.4).abs() < 0.01, "{rainy}");
        assert_eq!(Chain::two_state(["dry", "rain"], 0.0, 0.2, 0.3), Chain { start: vec![1.0, 1.0], ..chain.clone() });
    }

    #[test]
    fn bad_chains_name_the_key() {
        let spec = ChainSpec {
            states: vec!["a".into(), "a".into()],
            start: vec![1.0],
            transitions: vec![vec![1.0, -1.0], vec![0.0, 0.0]],
        };
        let keys: Vec<String> = spec.compile().unwrap_err().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["states.1", "start", "transitions.0", "transitions.1"]);
    }
}
