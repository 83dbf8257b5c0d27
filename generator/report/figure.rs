//! What a report shows, as data: headline numbers and figures (line
//! charts, bar charts, histograms, maps) that each kind computes from its
//! Parquet files. The page draws them ([`super::svg`], [`super::html`]) and
//! `report.json` holds the same numbers, so any of them can be checked.

use serde::Serialize;

/// What a kind's `report` gives: headline numbers and figures.
pub type Figures = (Vec<Headline>, Vec<Figure>);

#[derive(Serialize)]
pub struct Report {
    pub scenario: String,
    pub kind: String,
    pub fingerprint: String,
    pub headline: Vec<Headline>,
    pub figures: Vec<Figure>,
}

/// One headline number, e.g. ("revenue", 1234567.5, "USD").
#[derive(Serialize)]
pub struct Headline {
    pub name: String,
    pub value: f64,
    pub unit: String,
}

impl Headline {
    pub fn new(name: &str, value: f64, unit: &str) -> Headline {
        Headline { name: name.into(), value, unit: unit.into() }
    }

    /// The value as people read it: grouped digits, two decimals when not whole.
    pub fn shown(&self) -> String {
        let fixed = format!("{:.2}", self.value.abs());
        let (whole, cents) = fixed.split_once('.').unwrap_or((&fixed, "00"));
        let whole = crate::figures::grouped(whole.parse().unwrap_or(u64::MAX));
        let v = if cents == "00" { whole } else { format!("{whole}.{cents}") };
        let sign = if self.value < 0.0 { "-" } else { "" };
        match self.unit.as_str() {
            "" => format!("{sign}{v}"),
            unit => format!("{sign}{v} {unit}"),
        }
    }
}

#[derive(Serialize)]
pub struct Figure {
    /// The file name stem of its image (`orders_per_day`).
    pub id: String,
    pub title: String,
    /// What to look for, in a sentence.
    pub note: String,
    pub chart: Chart,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Chart {
    /// Numbered x (days, minutes, months), one line per series.
    Lines { x: String, y: String, series: Vec<Series> },
    /// Named categories.
    Bars { x: String, y: String, bars: Vec<(String, f64)> },
    /// A value's distribution in equal bins.
    Histogram { x: String, bins: Vec<Bin>, mean: f64 },
    /// Streets, the kitchen, sample routes and customers coloured by a value.
    Map(Map),
}

#[derive(Serialize)]
pub struct Series {
    pub name: String,
    /// `[x, y]` pairs in x order.
    pub points: Vec<[f64; 2]>,
}

impl Series {
    /// A line through `values` at x = 0, 1, 2 ...
    pub fn numbered(name: &str, values: &[f64]) -> Series {
        Series { name: name.into(), points: values.iter().enumerate().map(|(i, &v)| [i as f64, v]).collect() }
    }
}

#[derive(Serialize)]
pub struct Bin {
    pub from: f64,
    pub to: f64,
    pub count: u64,
}

/// A map drawn in (lon, lat) degrees.
#[derive(Serialize)]
pub struct Map {
    #[serde(skip)]
    pub streets: Vec<[[f64; 2]; 2]>,
    pub kitchen: [f64; 2],
    #[serde(skip)]
    pub routes: Vec<Vec<[f64; 2]>>,
    /// `[lon, lat, value]` per customer.
    #[serde(skip)]
    pub customers: Vec<[f64; 3]>,
    /// What the customers' colour shows, and its range.
    pub value: String,
    pub value_range: [f64; 2],
    pub street_segments: usize,
    pub customer_count: usize,
}

/// Equal bins over `values` (at most `n`, from their least to their largest).
pub fn histogram(x: &str, values: &[f64], n: usize) -> Chart {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let (lo, hi) = finite.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    let mean = if finite.is_empty() { 0.0 } else { finite.iter().sum::<f64>() / finite.len() as f64 };
    if finite.is_empty() {
        return Chart::Histogram { x: x.into(), bins: Vec::new(), mean };
    }
    let width = ((hi - lo) / n.max(1) as f64).max(1e-9);
    let mut bins: Vec<Bin> =
        (0..n.max(1)).map(|i| Bin { from: lo + i as f64 * width, to: lo + (i + 1) as f64 * width, count: 0 }).collect();
    for v in finite {
        let i = (((v - lo) / width) as usize).min(bins.len() - 1);
        bins[i].count += 1;
    }
    Chart::Histogram { x: x.into(), bins, mean }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_count_every_value_once() {
        let Chart::Histogram { bins, mean, .. } = histogram("v", &[1.0, 2.0, 2.5, 4.0, f64::NAN], 3) else {
            panic!("a histogram")
        };
        assert_eq!(bins.iter().map(|b| b.count).collect::<Vec<_>>(), [1, 2, 1]);
        assert_eq!((bins[0].from, bins[2].to), (1.0, 4.0));
        assert_eq!(mean, 2.375);
    }

    #[test]
    fn headline_values_read_as_people_write_them() {
        assert_eq!(Headline::new("orders", 75_780.0, "").shown(), "75,780");
        assert_eq!(Headline::new("revenue", 1_234_567.456, "USD").shown(), "1,234,567.46 USD");
        assert_eq!(Headline::new("x", -2.5, "min").shown(), "-2.50 min");
    }
}
