//! Probability distributions, written the same way in every scenario file:
//! `{ normal = { mean = 2.0, std = 1.0, min = 0.1 } }`, `{ beta = { a = 3, b = 3 } }`.
//!
//! [`DistSpec`] is what a scenario declares (serde, strict); [`Dist`] is the
//! validated, ready-to-sample form. `min`/`max` on a normal distribution
//! clamp the draw (the reference floors service times at 0.1 min), they do not
//! resample.
//!
//! Every distribution has a finite support, [`Dist::bounds`], so a scenario
//! can be checked before it runs: a duration never negative, a quantity never
//! zero, an event time never out of range. Where the family is unbounded the
//! support is cut far in its tail, where no draw lands in practice (normal:
//! mean ± 40 std; exponential: 50 means; Poisson: mean + 40 √mean + 40), and
//! draws are clamped there, so the bound holds for certain.

use rand::Rng;
use rand_distr::{Beta, Distribution, Exp, LogNormal, Normal, Poisson};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A distribution as written in a scenario file.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[schemars(extend("x-expected" = "a distribution such as { normal = { mean = 2.0, std = 1.0, min = 0.1 } }"))]
pub enum DistSpec {
    Constant {
        value: f64,
    },
    Uniform {
        min: f64,
        max: f64,
    },
    UniformInt {
        min: i64,
        max: i64,
    },
    Normal {
        mean: f64,
        std: f64,
        min: Option<f64>,
        max: Option<f64>,
    },
    Exponential {
        mean: f64,
    },
    /// `exp(N(mu, sigma))`: positive and right-skewed (service times, basket values).
    Lognormal {
        mu: f64,
        sigma: f64,
    },
    Beta {
        a: f64,
        b: f64,
    },
    Poisson {
        mean: f64,
    },
    /// A discrete choice among `values` with relative `weights`.
    Choice {
        values: Vec<f64>,
        weights: Vec<f64>,
    },
}

/// A validated distribution.
#[derive(Clone, Debug)]
pub struct Dist {
    kind: Kind,
    min: f64,
    max: f64,
}

#[derive(Clone, Debug)]
enum Kind {
    Constant(f64),
    Uniform(f64, f64),
    UniformInt(i64, i64),
    Normal(Normal<f64>),
    Exponential(Exp<f64>),
    LogNormal(LogNormal<f64>),
    Beta(Beta<f64>),
    Poisson(Poisson<f64>),
    Choice { values: Vec<f64>, cumulative: Vec<f64> },
}

/// How far into an unbounded tail the support reaches, in standard
/// deviations (normal, Poisson) and in means (exponential).
const TAIL_STDS: f64 = 40.0;
const TAIL_MEANS: f64 = 50.0;

/// A validation problem: the sub-key it concerns and what was expected.
pub type Problem = (String, String);

fn finite(name: &str, v: f64, problems: &mut Vec<Problem>) {
    if !v.is_finite() {
        problems.push((name.into(), format!("expected a finite number, found {v}")));
    }
}

impl DistSpec {
    /// Validates and compiles the spec. Problems name the offending sub-key
    /// (relative to the distribution's own key, e.g. `normal.std`).
    pub fn compile(&self) -> Result<Dist, Vec<Problem>> {
        let mut p = Vec::new();
        let (kind, min, max) = match *self {
            DistSpec::Constant { value } => {
                finite("constant.value", value, &mut p);
                (Kind::Constant(value), f64::NEG_INFINITY, f64::INFINITY)
            }
            DistSpec::Uniform { min, max } => {
                finite("uniform.min", min, &mut p);
                finite("uniform.max", max, &mut p);
                if min > max {
                    p.push(("uniform.max".into(), format!("expected max >= min ({min}), found {max}")));
                }
                (Kind::Uniform(min, max), f64::NEG_INFINITY, f64::INFINITY)
            }
            DistSpec::UniformInt { min, max } => {
                if min > max {
                    p.push(("uniform_int.max".into(), format!("expected max >= min ({min}), found {max}")));
                }
                (Kind::UniformInt(min, max), f64::NEG_INFINITY, f64::INFINITY)
            }
            DistSpec::Normal { mean, std, min, max } => {
                finite("normal.mean", mean, &mut p);
                if !(std >= 0.0 && std.is_finite()) {
                    p.push(("normal.std".into(), format!("expected a standard deviation >= 0, found {std}")));
                }
                for (k, v) in [("normal.min", min), ("normal.max", max)] {
                    v.into_iter().for_each(|v| finite(k, v, &mut p));
                }
                let (lo, hi) = (min.unwrap_or(f64::NEG_INFINITY), max.unwrap_or(f64::INFINITY));
                if lo > hi {
                    p.push(("normal.max".into(), format!("expected max >= min ({lo}), found {hi}")));
                }
                let n = Normal::new(mean, std.max(0.0)).unwrap_or_else(|_| Normal::new(0.0, 1.0).expect("unit normal"));
                let tail = TAIL_STDS * std.max(0.0);
                let (natural_lo, natural_hi) = (mean - tail, mean + tail);
                // A clamp outside the natural support pins every draw to it.
                let support = if natural_hi < lo {
                    (lo, lo)
                } else if natural_lo > hi {
                    (hi, hi)
                } else {
                    (lo.max(natural_lo), hi.min(natural_hi))
                };
                (Kind::Normal(n), support.0, support.1)
            }
            DistSpec::Exponential { mean } => {
                if !(mean > 0.0 && mean.is_finite()) {
                    p.push(("exponential.mean".into(), format!("expected a mean > 0, found {mean}")));
                }
                let e =
                    Exp::new(1.0 / mean.max(f64::MIN_POSITIVE)).unwrap_or_else(|_| Exp::new(1.0).expect("unit exp"));
                (Kind::Exponential(e), 0.0, TAIL_MEANS * mean)
            }
            DistSpec::Lognormal { mu, sigma } => {
                finite("lognormal.mu", mu, &mut p);
                if !(sigma >= 0.0 && sigma.is_finite()) {
                    p.push(("lognormal.sigma".into(), format!("expected a sigma >= 0, found {sigma}")));
                }
                let d = LogNormal::new(if mu.is_finite() { mu } else { 0.0 }, sigma.clamp(0.0, 1e300))
                    .unwrap_or_else(|_| LogNormal::new(0.0, 1.0).expect("unit lognormal"));
                (Kind::LogNormal(d), 0.0, (mu + TAIL_STDS * sigma.max(0.0)).exp())
            }
            DistSpec::Beta { a, b } => {
                for (k, v) in [("beta.a", a), ("beta.b", b)] {
                    if !(v > 0.0 && v.is_finite()) {
                        p.push((k.into(), format!("expected a shape parameter > 0, found {v}")));
                    }
                }
                let d =
                    Beta::new(a.max(1e-9), b.max(1e-9)).unwrap_or_else(|_| Beta::new(1.0, 1.0).expect("uniform beta"));
                (Kind::Beta(d), f64::NEG_INFINITY, f64::INFINITY)
            }
            DistSpec::Poisson { mean } => {
                if !(mean > 0.0 && mean <= 1e15) {
                    p.push(("poisson.mean".into(), format!("expected a mean in (0, 1e15], found {mean}")));
                }
                let d = Poisson::new(mean.max(1e-9)).unwrap_or_else(|_| Poisson::new(1.0).expect("unit poisson"));
                (Kind::Poisson(d), 0.0, (mean + TAIL_STDS * mean.sqrt() + TAIL_STDS).floor())
            }
            DistSpec::Choice { ref values, ref weights } => {
                if values.is_empty() {
                    p.push(("choice.values".into(), "expected at least one value".into()));
                }
                if let Some(v) = values.iter().find(|v| !v.is_finite()) {
                    p.push(("choice.values".into(), format!("expected finite numbers, found {v}")));
                }
                if values.len() != weights.len() {
                    p.push((
                        "choice.weights".into(),
                        format!("expected one weight per value ({}), found {}", values.len(), weights.len()),
                    ));
                }
                if weights.iter().any(|w| !(*w >= 0.0 && w.is_finite())) || weights.iter().sum::<f64>() <= 0.0 {
                    p.push(("choice.weights".into(), "expected weights >= 0 with a positive sum".into()));
                }
                let mut acc = 0.0;
                let cumulative = weights
                    .iter()
                    .map(|w| {
                        acc += w;
                        acc
                    })
                    .collect();
                (Kind::Choice { values: values.clone(), cumulative }, f64::NEG_INFINITY, f64::INFINITY)
            }
        };
        if p.is_empty() && !(min <= max) {
            p.push((self.family().into(), "expected parameters that give finite draws".into()));
        }
        let dist = Dist { kind, min, max };
        let (lo, hi) = dist.bounds();
        if p.is_empty() && !(lo.is_finite() && hi.is_finite()) {
            let msg = format!("expected parameters whose draws stay finite, found draws from {lo:e} to {hi:e}");
            p.push((self.family().into(), msg));
        }
        if p.is_empty() {
            Ok(dist)
        } else {
            Err(p)
        }
    }
}

impl DistSpec {
    /// The family's key as written in a scenario (`normal`, `beta`, ...).
    pub fn family(&self) -> &'static str {
        match self {
            DistSpec::Constant { .. } => "constant",
            DistSpec::Uniform { .. } => "uniform",
            DistSpec::UniformInt { .. } => "uniform_int",
            DistSpec::Normal { .. } => "normal",
            DistSpec::Exponential { .. } => "exponential",
            DistSpec::Lognormal { .. } => "lognormal",
            DistSpec::Beta { .. } => "beta",
            DistSpec::Poisson { .. } => "poisson",
            DistSpec::Choice { .. } => "choice",
        }
    }

    /// The distribution of `c` times a draw (`c` > 0), for the continuous
    /// families; `None` for those whose values are counts or shapes.
    pub fn scaled(&self, c: f64) -> Option<DistSpec> {
        let times = |v: Option<f64>| v.map(|v| v * c);
        Some(match self {
            DistSpec::Constant { value } => DistSpec::Constant { value: value * c },
            DistSpec::Uniform { min, max } => DistSpec::Uniform { min: min * c, max: max * c },
            DistSpec::Normal { mean, std, min, max } => {
                DistSpec::Normal { mean: mean * c, std: std * c, min: times(*min), max: times(*max) }
            }
            DistSpec::Exponential { mean } => DistSpec::Exponential { mean: mean * c },
            DistSpec::Lognormal { mu, sigma } => DistSpec::Lognormal { mu: mu + c.ln(), sigma: *sigma },
            DistSpec::Choice { values, weights } => {
                DistSpec::Choice { values: values.iter().map(|v| v * c).collect(), weights: weights.clone() }
            }
            DistSpec::UniformInt { .. } | DistSpec::Beta { .. } | DistSpec::Poisson { .. } => return None,
        })
    }
}

impl Dist {
    /// One draw, clamped to the declared `[min, max]`.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        let x = match &self.kind {
            Kind::Constant(v) => *v,
            Kind::Uniform(a, b) => {
                if a == b {
                    *a
                } else {
                    rng.random_range(*a..*b)
                }
            }
            Kind::UniformInt(a, b) => rng.random_range(*a..=*b) as f64,
            Kind::Normal(d) => d.sample(rng),
            Kind::Exponential(d) => d.sample(rng),
            Kind::LogNormal(d) => d.sample(rng),
            Kind::Beta(d) => d.sample(rng),
            Kind::Poisson(d) => d.sample(rng),
            Kind::Choice { values, cumulative } => {
                let total = *cumulative.last().expect("validated non-empty");
                let u = rng.random::<f64>() * total;
                let i = cumulative.partition_point(|c| *c <= u).min(values.len() - 1);
                values[i]
            }
        };
        x.clamp(self.min, self.max)
    }

    /// The smallest and largest values a draw can take.
    pub fn bounds(&self) -> (f64, f64) {
        let (lo, hi) = match &self.kind {
            Kind::Constant(v) => (*v, *v),
            Kind::Uniform(a, b) => (*a, *b),
            Kind::UniformInt(a, b) => (*a as f64, *b as f64),
            Kind::Beta(_) => (0.0, 1.0),
            Kind::Choice { values, cumulative } => {
                // Values of weight zero are never drawn.
                let mut prev = 0.0;
                let drawn = values.iter().zip(cumulative).filter(|(_, c)| {
                    let positive = **c > prev;
                    prev = **c;
                    positive
                });
                drawn.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (v, _)| (lo.min(*v), hi.max(*v)))
            }
            Kind::Normal(_) | Kind::Exponential(_) | Kind::LogNormal(_) | Kind::Poisson(_) => {
                (f64::NEG_INFINITY, f64::INFINITY)
            }
        };
        (lo.max(self.min), hi.min(self.max))
    }
}

/// Samples a Poisson count with mean `lambda`; zero for non-positive means.
/// Kept here so every scenario kind draws arrivals the same way.
pub fn poisson_count<R: Rng + ?Sized>(lambda: f64, rng: &mut R) -> u64 {
    if lambda <= 0.0 || !lambda.is_finite() {
        return 0;
    }
    Poisson::new(lambda).map(|d| d.sample(rng) as u64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::{stream, Purpose};

    fn moments(spec: DistSpec, n: usize) -> (f64, f64, f64, f64) {
        let d = spec.compile().expect("valid");
        let mut rng = stream(7, 0, 0, Purpose::Lifecycle);
        let xs: Vec<f64> = (0..n).map(|_| d.sample(&mut rng)).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        let lo = xs.iter().cloned().fold(f64::INFINITY, f64::min);
        let hi = xs.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        (mean, var.sqrt(), lo, hi)
    }

    #[test]
    fn normal_mean_std_and_floor() {
        let (m, s, lo, _) = moments(DistSpec::Normal { mean: 10.0, std: 3.0, min: Some(0.1), max: None }, 200_000);
        assert!((m - 10.0).abs() < 0.05, "mean {m}");
        assert!((s - 3.0).abs() < 0.05, "std {s}");
        assert!(lo >= 0.1);
        // N(2,1) floored at 0.1: P(x < 0.1) = Phi(-1.9) = 2.87 % of draws sit on the floor.
        let d = DistSpec::Normal { mean: 2.0, std: 1.0, min: Some(0.1), max: None }.compile().unwrap();
        let mut rng = stream(1, 0, 0, Purpose::Lifecycle);
        let floored = (0..200_000).filter(|_| d.sample(&mut rng) == 0.1).count() as f64 / 200_000.0;
        assert!((floored - 0.0287).abs() < 0.002, "floored share {floored}");
    }

    #[test]
    fn lognormal_moments_and_refusals() {
        // E = exp(mu + sigma^2 / 2), median exp(mu); support (0, exp(mu + 40 sigma)].
        let (m, _, lo, _) = moments(DistSpec::Lognormal { mu: 1.0, sigma: 0.5 }, 200_000);
        assert!((m - (1.0f64 + 0.125).exp()).abs() < 0.03, "mean {m}");
        assert!(lo > 0.0);
        let d = DistSpec::Lognormal { mu: 1.0, sigma: 0.5 }.compile().unwrap();
        assert_eq!(d.bounds(), (0.0, 21.0f64.exp()));
        assert!(DistSpec::Lognormal { mu: 0.0, sigma: -1.0 }.compile().is_err());
        assert!(DistSpec::Lognormal { mu: f64::NAN, sigma: 1.0 }.compile().is_err());
        // Draws that could overflow to infinity are refused.
        assert!(DistSpec::Lognormal { mu: 700.0, sigma: 10.0 }.compile().is_err());
    }

    #[test]
    fn beta_3_3_is_symmetric_with_known_variance() {
        let (m, s, lo, hi) = moments(DistSpec::Beta { a: 3.0, b: 3.0 }, 200_000);
        assert!((m - 0.5).abs() < 0.005, "mean {m}");
        // Var = ab / ((a+b)^2 (a+b+1)) = 9 / 252
        assert!((s - (9.0f64 / 252.0).sqrt()).abs() < 0.003, "std {s}");
        assert!(lo > 0.0 && hi < 1.0);
    }

    #[test]
    fn uniform_int_choice_and_poisson() {
        let (m, _, lo, hi) = moments(DistSpec::UniformInt { min: 1, max: 3 }, 100_000);
        assert!((m - 2.0).abs() < 0.02 && lo == 1.0 && hi == 3.0);
        let d = DistSpec::Choice { values: vec![1.0, 2.0, 3.0], weights: vec![0.7, 0.15, 0.15] }.compile().unwrap();
        let mut rng = stream(3, 0, 0, Purpose::Basket);
        let ones = (0..100_000).filter(|_| d.sample(&mut rng) == 1.0).count() as f64 / 1e5;
        assert!((ones - 0.7).abs() < 0.01, "share of ones {ones}");
        let (m, s, _, _) = moments(DistSpec::Poisson { mean: 4.0 }, 100_000);
        assert!((m - 4.0).abs() < 0.03 && (s - 2.0).abs() < 0.03);
        let (m, _, lo, hi) = moments(DistSpec::Uniform { min: 0.9, max: 1.1 }, 100_000);
        assert!((m - 1.0).abs() < 0.002 && lo >= 0.9 && hi < 1.1);
    }

    #[test]
    fn every_distribution_draws_within_finite_bounds() {
        let huge = [
            DistSpec::Normal { mean: 0.0, std: 1e308, min: None, max: None },
            DistSpec::Exponential { mean: 1e307 },
            DistSpec::Poisson { mean: 1e308 },
        ];
        for spec in huge {
            assert!(spec.compile().is_err(), "{spec:?}");
        }
        let d = DistSpec::Normal { mean: 2.0, std: 1.0, min: Some(0.1), max: None }.compile().unwrap();
        assert_eq!(d.bounds(), (0.1, 42.0));
        // A clamp outside the natural range pins every draw.
        let d = DistSpec::Normal { mean: 2.0, std: 0.0, min: Some(3.0), max: None }.compile().unwrap();
        assert_eq!(d.bounds(), (3.0, 3.0));
        assert_eq!(d.sample(&mut stream(1, 0, 0, Purpose::Lifecycle)), 3.0);
        let d = DistSpec::Choice { values: vec![1.0, 9.0, 2.0], weights: vec![1.0, 0.0, 1.0] }.compile().unwrap();
        assert_eq!(d.bounds(), (1.0, 2.0), "a value of weight 0 is never drawn");
    }

    #[test]
    fn invalid_parameters_name_the_key() {
        let e = DistSpec::Normal { mean: 1.0, std: -1.0, min: None, max: None }.compile().unwrap_err();
        assert_eq!(e[0].0, "normal.std");
        let e = DistSpec::Uniform { min: 2.0, max: 1.0 }.compile().unwrap_err();
        assert_eq!(e[0].0, "uniform.max");
        let e = DistSpec::Beta { a: 0.0, b: 1.0 }.compile().unwrap_err();
        assert_eq!(e[0].0, "beta.a");
        let e = DistSpec::Choice { values: vec![1.0], weights: vec![] }.compile().unwrap_err();
        assert_eq!(e[0].0, "choice.weights");
    }
}
