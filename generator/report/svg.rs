//! Figures drawn as SVG with plotters: line charts, bar charts, histograms
//! and maps. Text is left to the viewer's sans-serif font (SVG `<text>`),
//! so nothing here needs a font file or the system's fonts.

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::figure::{Chart, Map};
use crate::error::{Error, Result};

const SIZE: (u32, u32) = (960, 420);
const MAP_SIZE: (u32, u32) = (720, 720);

/// Colours of successive series (Tableau 10).
const PALETTE: [RGBColor; 10] = [
    RGBColor(78, 121, 167),
    RGBColor(242, 142, 43),
    RGBColor(225, 87, 89),
    RGBColor(118, 183, 178),
    RGBColor(89, 161, 79),
    RGBColor(237, 201, 72),
    RGBColor(176, 122, 161),
    RGBColor(255, 157, 167),
    RGBColor(156, 117, 95),
    RGBColor(186, 176, 172),
];

pub fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// The chart as an SVG document.
pub fn render(chart: &Chart) -> Result<String> {
    let mut out = String::new();
    let size = if matches!(chart, Chart::Map(_)) { MAP_SIZE } else { SIZE };
    {
        let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
        root.fill(&WHITE).map_err(drawing)?;
        match chart {
            Chart::Lines { x, y, series } => lines(&root, x, y, series)?,
            Chart::Bars { x, y, bars } => bar_chart(&root, x, y, bars)?,
            Chart::Histogram { x, bins, .. } => {
                let bars: Vec<(f64, f64, f64)> = bins.iter().map(|b| (b.from, b.to, b.count as f64)).collect();
                histogram(&root, x, &bars)?
            }
            Chart::Map(m) => map(&root, m)?,
        }
        root.present().map_err(drawing)?;
    }
    Ok(out)
}

fn drawing<E: std::fmt::Display>(e: E) -> Error {
    Error(format!("drawing a chart: {e}"))
}

/// The range of `values` with a little room, never empty.
fn span(values: impl Iterator<Item = f64>, from_zero: bool) -> std::ops::Range<f64> {
    let (mut lo, mut hi) =
        values.filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    if from_zero {
        lo = lo.min(0.0);
    }
    let pad = ((hi - lo) * 0.04).max(1e-9);
    (if from_zero && lo == 0.0 { 0.0 } else { lo - pad })..hi + pad
}

/// An axis label: whole numbers without decimals, others to what they need.
fn tick(v: &f64) -> String {
    if v.fract().abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type Plane<'a, 'b> = ChartContext<'b, SVGBackend<'a>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Axes over `xs` and `ys` with room for their labels (`x_labels` pixels below).
fn plane<'a, 'b>(
    root: &'b Area<'a>,
    xs: std::ops::Range<f64>,
    ys: std::ops::Range<f64>,
    x_labels: u32,
) -> Result<Plane<'a, 'b>> {
    let mut b = ChartBuilder::on(root);
    b.margin(12).x_label_area_size(x_labels).y_label_area_size(64);
    b.build_cartesian_2d(xs, ys).map_err(drawing)
}

fn lines(root: &Area, x: &str, y: &str, series: &[super::figure::Series]) -> Result<()> {
    let xs = span(series.iter().flat_map(|s| s.points.iter().map(|p| p[0])), false);
    let ys = span(series.iter().flat_map(|s| s.points.iter().map(|p| p[1])), true);
    let mut chart = plane(root, xs, ys, 44)?;
    chart
        .configure_mesh()
        .x_desc(x)
        .y_desc(y)
        .x_label_formatter(&tick)
        .y_label_formatter(&tick)
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(drawing)?;
    for (i, s) in series.iter().enumerate() {
        let c = colour(i);
        chart
            .draw_series(LineSeries::new(s.points.iter().map(|p| (p[0], p[1])), c.stroke_width(2)))
            .map_err(drawing)?
            .label(s.name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(3)));
    }
    if series.len() > 1 {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .label_font(("sans-serif", 13))
            .draw()
            .map_err(drawing)?;
    }
    Ok(())
}

fn bar_chart(root: &Area, x: &str, y: &str, bars: &[(String, f64)]) -> Result<()> {
    let ys = span(bars.iter().map(|b| b.1), true);
    let n = bars.len().max(1);
    let mut chart = plane(root, 0f64..n as f64, ys, if n > 12 { 90 } else { 44 })?;
    let name = |v: &f64| {
        let i = v.floor() as usize;
        if (v - v.floor() - 0.5).abs() < 1e-6 {
            bars.get(i).map(|b| b.0.clone()).unwrap_or_default()
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(2 * n + 1)
        .x_label_formatter(&name)
        .x_label_style(("sans-serif", 12).into_font().transform(if n > 12 {
            FontTransform::Rotate90
        } else {
            FontTransform::None
        }))
        .x_desc(x)
        .y_desc(y)
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(drawing)?;
    let rects = bars
        .iter()
        .enumerate()
        .map(|(i, b)| Rectangle::new([(i as f64 + 0.1, 0.0), (i as f64 + 0.9, b.1)], colour(0).filled()));
    chart.draw_series(rects).map_err(drawing)?;
    Ok(())
}

/// Bars `(from, to, height)` side by side.
fn histogram(root: &Area, x: &str, bars: &[(f64, f64, f64)]) -> Result<()> {
    let xs = span(bars.iter().flat_map(|b| [b.0, b.1]), false);
    let ys = span(bars.iter().map(|b| b.2), true);
    let mut chart = plane(root, xs, ys, 44)?;
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(x).y_desc("count").x_label_formatter(&tick).y_label_formatter(&tick);
    mesh.label_style(("sans-serif", 14)).draw().map_err(drawing)?;
    let rects = bars.iter().map(|&(a, b, h)| Rectangle::new([(a, 0.0), (b, h)], colour(0).mix(0.85).filled()));
    chart.draw_series(rects).map_err(drawing)?;
    Ok(())
}

/// Green (low) through yellow to red (high).
fn heat(t: f64) -> RGBColor {
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.5 };
    let (r, g) = if t < 0.5 { (2.0 * t, 1.0) } else { (1.0, 2.0 * (1.0 - t)) };
    RGBColor((40.0 + 190.0 * r) as u8, (40.0 + 150.0 * g) as u8, 60)
}

/// A map in degrees, east-west scaled by the cosine of its latitude so
/// distances look alike in both directions.
fn map(root: &Area, m: &Map) -> Result<()> {
    let all = m.streets.iter().flatten().chain(std::iter::once(&m.kitchen));
    let (lons, lats): (Vec<f64>, Vec<f64>) = all.map(|p| (p[0], p[1])).unzip();
    let (xs, ys) = (span(lons.into_iter(), false), span(lats.into_iter(), false));
    let k = m.kitchen[1].to_radians().cos().max(0.1);
    let half = ((xs.end - xs.start) * k).max(ys.end - ys.start) / 2.0;
    let (cx, cy) = ((xs.start + xs.end) / 2.0, (ys.start + ys.end) / 2.0);
    let mut chart = ChartBuilder::on(root)
        .margin(8)
        .build_cartesian_2d(cx - half / k..cx + half / k, cy - half..cy + half)
        .map_err(drawing)?;
    let street = RGBColor(170, 170, 170).stroke_width(1);
    chart
        .draw_series(m.streets.iter().map(|s| PathElement::new(vec![(s[0][0], s[0][1]), (s[1][0], s[1][1])], street)))
        .map_err(drawing)?;
    let route = RGBColor(78, 121, 167).mix(0.7).stroke_width(2);
    chart
        .draw_series(
            m.routes.iter().map(|r| PathElement::new(r.iter().map(|p| (p[0], p[1])).collect::<Vec<_>>(), route)),
        )
        .map_err(drawing)?;
    let [lo, hi] = m.value_range;
    let t = |v: f64| (v - lo) / (hi - lo).max(1e-9);
    chart
        .draw_series(m.customers.iter().map(|c| Circle::new((c[0], c[1]), 2, heat(t(c[2])).filled())))
        .map_err(drawing)?;
    chart
        .draw_series(std::iter::once(Circle::new((m.kitchen[0], m.kitchen[1]), 7, BLACK.filled())))
        .map_err(drawing)?;
    let legend = format!("{}: green {:.0} .. red {:.0}", m.value, lo, hi);
    root.draw(&Text::new(legend, (14, 14), ("sans-serif", 15))).map_err(drawing)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::figure::{histogram as bins, Series};

    #[test]
    fn every_chart_renders_an_svg_with_its_labels() {
        let lines = Chart::Lines {
            x: "day".into(),
            y: "orders".into(),
            series: vec![Series { name: "sf".into(), points: vec![[0.0, 5.0], [1.0, 7.0]] }],
        };
        let bars =
            Chart::Bars { x: "hour".into(), y: "sales".into(), bars: vec![("7".into(), 3.0), ("8".into(), 9.0)] };
        for (chart, label) in [(lines, "orders"), (bars, "sales"), (bins("minutes", &[1.0, 2.0, 3.0], 5), "minutes")] {
            let svg = render(&chart).unwrap();
            assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "{svg}");
            assert!(svg.contains(label), "{label} in {svg}");
        }
        // Nothing to draw still draws the axes.
        assert!(render(&Chart::Lines { x: "a".into(), y: "b".into(), series: Vec::new() }).is_ok());
    }

    #[test]
    fn heat_runs_from_green_to_red() {
        assert!(heat(0.0).1 > heat(0.0).0 && heat(1.0).0 > heat(1.0).1);
        assert_eq!(heat(f64::NAN), heat(0.5));
    }
}
