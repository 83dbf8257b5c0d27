//! Synthetic street network: the procedural city used when a location has no
//! OpenStreetMap extract. This module owns its whole layout — a warped grid of
//! irregular blocks with named arterials, tertiary collectors, one-way
//! couplets downtown, diagonal avenues and a river crossed by a few bridges —
//! and emits it as [`RoadData`] with OSM-like mid-block geometry points.
//!
//! Everything is planned in a flat "plan" frame (metres, grid axis-aligned,
//! origin at the centre) and only then rotated, smoothly warped and projected
//! to lat/lon, so topology is decided on exact axis-aligned lines while the
//! output looks organic. The only randomness is one `SyntheticRoads` stream,
//! and all collections are vectors, so a seed fully determines the city.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::f64::consts::{PI, TAU};

use rand::Rng;

use super::geo::metres_per_degree;
use super::{Oneway, RoadData, Way};
use crate::seed::{stream, Purpose, SimRng};

/// Range of a grid gap (block side) at the centre, in metres.
const GAP_M: (f64, f64) = (80.0, 200.0);
/// Relative gap growth per metre from the centre: suburban blocks are larger,
/// which keeps the node count in check for large radii.
const GAP_GROWTH_PER_M: f64 = 0.5 / 6437.0;
/// The grid covers a slightly larger disc than asked so edge customers still
/// have streets around them.
const COVER: f64 = 1.08;
/// Junctions closer than this along a street are merged (diagonal crossings
/// landing next to a grid corner would otherwise make stub segments).
const MERGE_M: f64 = 15.0;
/// Share of residential segments left out, merging neighbouring blocks.
const DROP_P: f64 = 0.1;
/// Share of residential streets without a name.
const UNNAMED_P: f64 = 0.04;
/// Spacing range of mid-block geometry points, in metres, and its typical value.
const GEOMETRY_M: (f64, f64) = (40.0, 70.0);
const GEOMETRY_MID_M: f64 = 55.0;
/// Target mean route length (kitchen -> customer node) as a share of the
/// radius: 0.8224 x 6437 m = 5.29 km, i.e. ~7.9 min at 25 mph, which gives
/// the reference 6.4 pings per order (one a minute, the last one dropped).
/// Kept proportional to the radius so other radii scale geometrically.
const ROUTE_PER_RADIUS: f64 = 0.8224;
/// Bound of the calibration knob (beyond it every spacing is clamped anyway).
const ALPHA_MAX: f64 = 4.0;
/// Calibration stops this close to the target mean route (2 m ~ 0.003 pings).
const CALIBRATION_TOLERANCE_M: f64 = 2.0;
/// Below this radius the city is too small for a river to be meaningful.
const RIVER_MIN_RADIUS_M: f64 = 1500.0;
const NONE: u32 = u32::MAX;

type P = [f64; 2];

/// Builds a deterministic synthetic city centred on `center` ([lat, lon] degrees) covering a disc of `radius_m`.
pub fn city(seed: u64, center: [f64; 2], radius_m: f64) -> RoadData {
    generate(seed, center, radius_m).data
}

/// The city plus, per output node, its side of the river (-1, 0 = in the
/// water band, 1; all 0 without a river), which tests use to count bridges.
struct Generated {
    data: RoadData,
    #[cfg_attr(not(test), allow(dead_code))]
    river_side: Vec<i8>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Rank {
    Primary,
    Secondary,
    Tertiary,
    Residential,
}

impl Rank {
    fn class(self) -> &'static str {
        match self {
            Rank::Primary => "primary",
            Rank::Secondary => "secondary",
            Rank::Tertiary => "tertiary",
            Rank::Residential => "residential",
        }
    }

    fn arterial(self) -> bool {
        matches!(self, Rank::Primary | Rank::Secondary)
    }
}

/// One street of the plan: its junctions in order along it and the segment
/// between each consecutive pair.
struct Street {
    name: Option<String>,
    rank: Rank,
    /// Residential streets may lose segments; arterials and couplets never do.
    droppable: bool,
    /// `(parameter along the street, junction)`, sorted by parameter.
    stops: Vec<(f64, u32)>,
    segs: Vec<Seg>,
}

#[derive(Clone, Copy)]
struct Seg {
    keep: bool,
    oneway: Oneway,
    bridge: bool,
}

fn generate(seed: u64, center: [f64; 2], radius_m: f64) -> Generated {
    let mut rng = stream(seed, 0, 0, Purpose::SyntheticRoads);
    let radius = radius_m.max(200.0);
    let rc = radius * COVER;
    let frame = Frame::new(&mut rng, center);

    // Grid lines: columns (constant u, running "north") and rows (constant v).
    let xs = grid_lines(&mut rng, rc);
    let ys = grid_lines(&mut rng, rc);
    let col_rank = rank_lines(&mut rng, &xs);
    let row_rank = rank_lines(&mut rng, &ys);
    let (nc, nr) = (xs.len(), ys.len());
    let origin = |pos: &[f64]| pos.iter().position(|p| *p == 0.0).unwrap_or(0);
    let (i0, j0) = (origin(&xs), origin(&ys));

    let mut uv: Vec<P> = Vec::new();
    let mut grid = vec![NONE; nc * nr];
    for (i, &x) in xs.iter().enumerate() {
        for (j, &y) in ys.iter().enumerate() {
            if norm2([x, y]) <= rc * rc {
                grid[i * nr + j] = uv.len() as u32;
                uv.push([x, y]);
            }
        }
    }
    // The two central arterials meet exactly at the centre: the routing root.
    let root = grid[i0 * nr + j0];

    let mut names = Names::new(&mut rng);
    let mut streets: Vec<Street> = Vec::with_capacity(nc + nr + 3);
    for i in 0..nc {
        let stops = (0..nr).filter(|&j| grid[i * nr + j] != NONE).map(|j| (ys[j], grid[i * nr + j])).collect();
        let name = names.column(&mut rng, col_rank[i]);
        streets.push(street(name, col_rank[i], stops));
    }
    // Rows are numbered streets, counting north from a random base.
    let row_base = rng.random_range(1..=12u32);
    for j in 0..nr {
        let stops = (0..nc).filter(|&i| grid[i * nr + j] != NONE).map(|i| (xs[i], grid[i * nr + j])).collect();
        let name = names.row(&mut rng, row_rank[j], row_base + j as u32);
        streets.push(street(name, row_rank[j], stops));
    }
    // Extents of each grid street before diagonals add crossings to them.
    let extent: Vec<(f64, f64)> = streets
        .iter()
        .map(|s| match (s.stops.first(), s.stops.last()) {
            (Some(a), Some(b)) if s.stops.len() >= 2 => (a.0, b.0),
            _ => (f64::INFINITY, f64::NEG_INFINITY),
        })
        .collect();

    add_diagonals(&mut rng, &mut streets, &mut uv, &xs, &ys, &extent, rc, &mut names);
    merge_close_junctions(&mut streets, &uv);
    for s in &mut streets {
        let n = s.stops.len().saturating_sub(1);
        s.segs = vec![Seg { keep: true, oneway: Oneway::Both, bridge: false }; n];
    }

    add_couplets(&mut rng, &mut streets, &xs, &col_rank, 0);
    add_couplets(&mut rng, &mut streets, &ys, &row_rank, nc);

    // Missing segments merge blocks and make T-junctions; drawn per segment so
    // the draw count never depends on earlier choices.
    for s in &mut streets {
        for seg in &mut s.segs {
            let drop = rng.random::<f64>() < DROP_P;
            if s.droppable && drop {
                seg.keep = false;
            }
        }
    }

    let river = (radius >= RIVER_MIN_RADIUS_M).then(|| River::new(&mut rng, radius));
    if let Some(river) = &river {
        place_river(&mut rng, river, &mut streets, &uv, radius);
    }

    let alive = strongly_connected(&streets, uv.len(), root);
    let xy: Vec<P> = uv.iter().zip(&alive).map(|(p, a)| if *a { frame.xy(*p) } else { [0.0; 2] }).collect();
    let kept = kept_segments(&mut rng, &streets, &alive, &xy);
    let pieces = calibrate(&kept, &xy, &alive, root, radius);
    emit(&streets, &uv, &xy, &alive, &pieces, &frame, river.as_ref())
}

fn street(name: Option<String>, rank: Rank, stops: Vec<(f64, u32)>) -> Street {
    Street { name, rank, droppable: rank == Rank::Residential, stops, segs: Vec::new() }
}

/// Grid line positions over `[-extent, extent]`: random gaps that widen away
/// from the centre. One line is exactly at 0, so with both axes the centre is
/// a junction (the kitchen's node, and the root calibration routes from).
fn grid_lines(rng: &mut SimRng, extent: f64) -> Vec<f64> {
    let gap = |rng: &mut SimRng, x: f64| rng.random_range(GAP_M.0..GAP_M.1) * (1.0 + GAP_GROWTH_PER_M * x.abs());
    let mut pos = Vec::new();
    let mut x = 0.0;
    while x <= extent {
        pos.push(x);
        x += gap(rng, x);
    }
    let mut x = 0.0;
    loop {
        x -= gap(rng, x);
        if x < -extent {
            break;
        }
        pos.push(x);
    }
    pos.sort_by(f64::total_cmp);
    pos
}

/// Arterials every 800-1200 m outward from the line nearest the centre
/// (alternating primary / secondary), and a tertiary collector midway between
/// consecutive arterials; the rest is residential.
fn rank_lines(rng: &mut SimRng, pos: &[f64]) -> Vec<Rank> {
    let n = pos.len();
    let mut rank = vec![Rank::Residential; n];
    if n == 0 {
        return rank;
    }
    let c = (0..n).min_by(|&a, &b| pos[a].abs().total_cmp(&pos[b].abs())).unwrap_or(0);
    rank[c] = Rank::Primary;
    for dir in [1i64, -1] {
        let (mut last, mut count) = (pos[c], 0);
        let mut target = rng.random_range(800.0..1200.0);
        let mut i = c as i64 + dir;
        while (0..n as i64).contains(&i) {
            let p = pos[i as usize];
            if (p - last).abs() >= target {
                count += 1;
                rank[i as usize] = if count % 2 == 0 { Rank::Primary } else { Rank::Secondary };
                last = p;
                target = rng.random_range(800.0..1200.0);
            }
            i += dir;
        }
    }
    let arterials: Vec<usize> = (0..n).filter(|&i| rank[i].arterial()).collect();
    for w in arterials.windows(2) {
        let mid = (pos[w[0]] + pos[w[1]]) / 2.0;
        if let Some(t) = (w[0] + 1..w[1]).min_by(|&a, &b| (pos[a] - mid).abs().total_cmp(&(pos[b] - mid).abs())) {
            rank[t] = Rank::Tertiary;
        }
    }
    rank
}

/// Two or three long diagonal avenues across the grid, passing 0.25-0.5 of
/// the radius from the centre. Each crossing with a grid line (or another
/// diagonal) becomes a junction on both streets.
#[allow(clippy::too_many_arguments)]
fn add_diagonals(
    rng: &mut SimRng,
    streets: &mut Vec<Street>,
    uv: &mut Vec<P>,
    xs: &[f64],
    ys: &[f64],
    extent: &[(f64, f64)],
    rc: f64,
    names: &mut Names,
) {
    let nc = xs.len();
    let count = rng.random_range(2..=3usize);
    // (anchor, direction, t range, street index)
    let mut lines: Vec<(P, P, f64, f64, usize)> = Vec::new();
    let mut angles: Vec<f64> = Vec::new();
    for d in 0..count {
        // One diagonal per quadrant first, then maybe a third in either;
        // always at a clear angle to the grid axes and to the others.
        let mut found = None;
        for _ in 0..32 {
            let band = if d < 2 { d } else { rng.random_range(0..2usize) };
            let beta = f64::to_radians(rng.random_range(25.0..65.0) + 90.0 * band as f64);
            if angles.iter().all(|a| (a - beta).abs() > 0.35) {
                found = Some(beta);
                break;
            }
        }
        let Some(beta) = found else { break };
        angles.push(beta);
        // Offset from the centre so no avenue runs straight out of the
        // kitchen's junction (that would make routes unrealistically short).
        let side = match d {
            0 => 1.0,
            1 => -1.0,
            _ => [1.0, -1.0][rng.random_range(0..2usize)],
        };
        let h = rng.random_range(0.25..0.5) * rc * side;
        let anchor = [-beta.sin() * h, beta.cos() * h];
        let dir = [beta.cos(), beta.sin()];
        let ad = dot(anchor, dir);
        let root = (ad * ad - dot(anchor, anchor) + rc * rc).max(0.0).sqrt();
        let (t0, t1) = (-ad - root, -ad + root);
        let rank = if d == 0 { Rank::Primary } else { Rank::Secondary };
        let mut diag = street(Some(names.diagonal(d)), rank, Vec::new());
        for axis in 0..2 {
            let lines_at = if axis == 0 { xs } else { ys };
            for (i, &c) in lines_at.iter().enumerate() {
                let t = (c - anchor[axis]) / dir[axis];
                if t < t0 || t > t1 {
                    continue;
                }
                let other = anchor[1 - axis] + t * dir[1 - axis];
                let si = i + if axis == 0 { 0 } else { nc };
                if other < extent[si].0 || other > extent[si].1 {
                    continue;
                }
                let id = uv.len() as u32;
                uv.push(if axis == 0 { [c, other] } else { [other, c] });
                streets[si].stops.push((other, id));
                diag.stops.push((t, id));
            }
        }
        lines.push((anchor, dir, t0, t1, streets.len()));
        streets.push(diag);
    }
    for a in 0..lines.len() {
        for b in a + 1..lines.len() {
            let ((pa, da, a0, a1, sa), (pb, db, b0, b1, sb)) = (lines[a], lines[b]);
            let cross = da[0] * db[1] - da[1] * db[0];
            if cross.abs() < 1e-6 {
                continue;
            }
            let w = [pb[0] - pa[0], pb[1] - pa[1]];
            let ta = (w[0] * db[1] - w[1] * db[0]) / cross;
            let tb = (w[0] * da[1] - w[1] * da[0]) / cross;
            if ta < a0 || ta > a1 || tb < b0 || tb > b1 {
                continue;
            }
            let id = uv.len() as u32;
            uv.push([pa[0] + ta * da[0], pa[1] + ta * da[1]]);
            streets[sa].stops.push((ta, id));
            streets[sb].stops.push((tb, id));
        }
    }
}

/// Sorts every street's stops and merges junctions closer than [`MERGE_M`]
/// along a street into the lowest id (grid corners come first, so diagonals
/// snap onto corners rather than the reverse).
fn merge_close_junctions(streets: &mut [Street], uv: &[P]) {
    let mut parent: Vec<u32> = (0..uv.len() as u32).collect();
    fn find(parent: &mut [u32], mut x: u32) -> u32 {
        while parent[x as usize] != x {
            let up = parent[parent[x as usize] as usize];
            parent[x as usize] = up;
            x = up;
        }
        x
    }
    for s in streets.iter_mut() {
        s.stops.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        for w in s.stops.windows(2) {
            if dist(uv[w[0].1 as usize], uv[w[1].1 as usize]) < MERGE_M {
                let (ra, rb) = (find(&mut parent, w[0].1), find(&mut parent, w[1].1));
                parent[ra.max(rb) as usize] = ra.min(rb);
            }
        }
    }
    for s in streets.iter_mut() {
        for stop in &mut s.stops {
            stop.1 = find(&mut parent, stop.1);
        }
        s.stops.dedup_by_key(|stop| stop.1);
    }
}

/// One-way couplets downtown: pairs of adjacent residential lines near the
/// centre, one running each way over a central stretch and two-way beyond.
fn add_couplets(rng: &mut SimRng, streets: &mut [Street], pos: &[f64], rank: &[Rank], offset: usize) {
    let near = |i: usize| pos[i].abs() < 1800.0;
    let candidates: Vec<usize> = (0..pos.len().saturating_sub(1))
        .filter(|&i| rank[i] == Rank::Residential && rank[i + 1] == Rank::Residential && near(i) && near(i + 1))
        .collect();
    let wanted = rng.random_range(1..=2usize);
    let mut chosen: Vec<usize> = Vec::new();
    for _ in 0..8 {
        if chosen.len() == wanted || candidates.is_empty() {
            break;
        }
        let c = candidates[rng.random_range(0..candidates.len())];
        if chosen.iter().all(|&o| o.abs_diff(c) >= 3) {
            chosen.push(c);
        }
    }
    for c in chosen {
        let half = rng.random_range(1500.0..2800.0);
        let flip = rng.random::<bool>();
        for (k, dir) in [(c, Oneway::Forward), (c + 1, Oneway::Backward)] {
            let dir = match (flip, dir) {
                (false, d) => d,
                (true, Oneway::Forward) => Oneway::Backward,
                (true, _) => Oneway::Forward,
            };
            let s = &mut streets[offset + k];
            s.droppable = false;
            for (seg, w) in s.segs.iter_mut().zip(s.stops.windows(2)) {
                if w[0].0.abs() <= half && w[1].0.abs() <= half {
                    seg.oneway = dir;
                }
            }
        }
    }
}

/// A meandering river band across the city: `g(p)` is the signed offset from
/// its centre line measured along its normal.
struct River {
    dir: P,
    normal: P,
    offset: f64,
    half_width: f64,
    /// `(amplitude, wavenumber, phase)` of the meanders.
    waves: [(f64, f64, f64); 2],
    /// Bound on |dg/ds| along any straight line.
    slope: f64,
}

impl River {
    fn new(rng: &mut SimRng, radius: f64) -> River {
        let scale = (radius / 6437.0).clamp(0.25, 1.5);
        let deg = rng.random_range(15.0..75.0) + if rng.random::<bool>() { 90.0 } else { 0.0 };
        let a = f64::to_radians(deg);
        let side = if rng.random::<bool>() { 1.0 } else { -1.0 };
        let offset = side * radius * rng.random_range(0.22..0.4);
        let half_width = rng.random_range(30.0..55.0);
        let mut wave = |amp: (f64, f64), lambda: (f64, f64)| {
            (
                rng.random_range(amp.0..amp.1) * scale,
                TAU / (rng.random_range(lambda.0..lambda.1) * scale),
                rng.random_range(0.0..TAU),
            )
        };
        let waves = [wave((150.0, 320.0), (4000.0, 7000.0)), wave((40.0, 90.0), (1200.0, 2200.0))];
        let slope = 1.0 + waves.iter().map(|(amp, k, _)| amp * k).sum::<f64>();
        River { dir: [a.cos(), a.sin()], normal: [-a.sin(), a.cos()], offset, half_width, waves, slope }
    }

    fn along(&self, p: P) -> f64 {
        dot(p, self.dir)
    }

    fn g(&self, p: P) -> f64 {
        let s = self.along(p);
        let meander: f64 = self.waves.iter().map(|(amp, k, ph)| amp * (k * s + ph).sin()).sum();
        dot(p, self.normal) - self.offset - meander
    }

    /// -1 or 1 for the two banks, 0 inside the water band.
    fn side(&self, p: P) -> i8 {
        self.side_of(self.g(p))
    }

    fn side_of(&self, g: f64) -> i8 {
        if g.abs() < self.half_width {
            0
        } else if g < 0.0 {
            -1
        } else {
            1
        }
    }

    /// Whether a straight plan segment touches the water or changes bank,
    /// given `g` at its ends. `g` changes by at most `slope` per metre, so
    /// segments well clear of the band need no sampling.
    fn touches(&self, a: P, b: P, ga: f64, gb: f64) -> bool {
        let (ca, cb) = (self.side_of(ga), self.side_of(gb));
        if ca == 0 || ca != cb {
            return true;
        }
        let len = dist(a, b);
        if ga.abs() + gb.abs() - 2.0 * self.half_width > self.slope * len {
            return false;
        }
        let n = (len / 20.0).ceil().max(1.0) as usize;
        (1..n).any(|k| self.side(lerp(a, b, k as f64 / n as f64)) != ca)
    }
}

/// Cuts every segment touching the river except 3-5 bridges on arterials
/// (one always near the centre, the others spread along the river).
fn place_river(rng: &mut SimRng, river: &River, streets: &mut [Street], uv: &[P], radius: f64) {
    let g: Vec<f64> = uv.iter().map(|p| river.g(*p)).collect();
    let touch: Vec<Vec<bool>> = streets
        .iter()
        .map(|s| {
            let ends = s.stops.windows(2).map(|w| (w[0].1 as usize, w[1].1 as usize));
            ends.map(|(a, b)| river.touches(uv[a], uv[b], g[a], g[b])).collect()
        })
        .collect();
    // (street, first seg, last seg, position along the river, arterial)
    let mut candidates: Vec<(usize, usize, usize, f64, bool)> = Vec::new();
    for (si, s) in streets.iter().enumerate() {
        let side = |k: usize| river.side_of(g[s.stops[k].1 as usize]);
        let n = s.segs.len();
        let mut k = 0;
        while k < n {
            let a = uv[s.stops[k].1 as usize];
            if !touch[si][k] || side(k) == 0 {
                k += 1;
                continue;
            }
            let mut m = k;
            while m + 1 < n && side(m + 1) == 0 {
                m += 1;
            }
            if side(m + 1) == -side(k) && norm2(a) <= (0.95 * radius).powi(2) {
                candidates.push((si, k, m, river.along(a), s.rank.arterial()));
                break;
            }
            k = m + 1;
        }
    }
    let wanted = rng.random_range(3..=5usize);
    let arterial: Vec<_> = candidates.iter().copied().filter(|c| c.4).collect();
    let pool = if arterial.len() >= wanted { arterial } else { candidates };
    let mut chosen: Vec<usize> = Vec::new();
    if !pool.is_empty() {
        // The downtown bridge: nearest the centre's projection onto the river.
        let downtown = (0..pool.len()).min_by(|&a, &b| pool[a].3.abs().total_cmp(&pool[b].3.abs())).unwrap_or(0);
        chosen.push(downtown);
        let lo = pool.iter().map(|c| c.3).fold(f64::INFINITY, f64::min);
        let hi = pool.iter().map(|c| c.3).fold(f64::NEG_INFINITY, f64::max);
        let step = (hi - lo) / wanted as f64;
        let mut targets: Vec<f64> =
            (0..wanted).map(|b| lo + (b as f64 + 0.5) * step + rng.random_range(-0.15..0.15) * step).collect();
        // The target nearest the downtown bridge is already served by it.
        targets.sort_by(|a, b| (a - pool[downtown].3).abs().total_cmp(&(b - pool[downtown].3).abs()));
        for &t in targets.iter().skip(1) {
            let best = (0..pool.len())
                .filter(|c| !chosen.contains(c))
                .min_by(|&a, &b| (pool[a].3 - t).abs().total_cmp(&(pool[b].3 - t).abs()));
            if let Some(b) = best {
                chosen.push(b);
            }
        }
    }
    for &c in &chosen {
        let (si, k, m, _, _) = pool[c];
        for seg in &mut streets[si].segs[k..=m] {
            seg.keep = true;
            seg.bridge = true;
        }
    }
    for (s, touch) in streets.iter_mut().zip(&touch) {
        for (seg, t) in s.segs.iter_mut().zip(touch) {
            if !seg.bridge && *t {
                seg.keep = false;
            }
        }
    }
}

/// Junctions in the strongly connected component of `root` (the centre):
/// everything else (islands, one-way traps) is dropped.
fn strongly_connected(streets: &[Street], n: usize, root: u32) -> Vec<bool> {
    let mut out: Vec<Vec<u32>> = vec![Vec::new(); n];
    let mut inc: Vec<Vec<u32>> = vec![Vec::new(); n];
    for s in streets {
        for (seg, w) in s.segs.iter().zip(s.stops.windows(2)) {
            if !seg.keep {
                continue;
            }
            let (a, b) = (w[0].1, w[1].1);
            if seg.oneway != Oneway::Backward {
                out[a as usize].push(b);
                inc[b as usize].push(a);
            }
            if seg.oneway != Oneway::Forward {
                out[b as usize].push(a);
                inc[a as usize].push(b);
            }
        }
    }
    let reach = |adj: &[Vec<u32>]| {
        let mut seen = vec![false; n];
        let mut stack = vec![root];
        seen[root as usize] = true;
        while let Some(u) = stack.pop() {
            for &v in &adj[u as usize] {
                if !seen[v as usize] {
                    seen[v as usize] = true;
                    stack.push(v);
                }
            }
        }
        seen
    };
    let (fwd, back) = (reach(&out), reach(&inc));
    fwd.iter().zip(&back).map(|(a, b)| *a && *b).collect()
}

/// A segment that survives into the output, in emission order, with what
/// calibration needs: its length in output metres and a spacing jitter.
struct Kept {
    a: u32,
    b: u32,
    oneway: Oneway,
    len: f64,
    jitter: f64,
}

/// The segments emitted, in the order [`emit`] walks them.
fn kept_segments(rng: &mut SimRng, streets: &[Street], alive: &[bool], xy: &[P]) -> Vec<Kept> {
    let mut kept = Vec::new();
    for s in streets {
        for (seg, w) in s.segs.iter().zip(s.stops.windows(2)) {
            let (a, b) = (w[0].1, w[1].1);
            if seg.keep && alive[a as usize] && alive[b as usize] {
                let len = dist(xy[a as usize], xy[b as usize]);
                kept.push(Kept { a, b, oneway: seg.oneway, len, jitter: rng.random_range(0.85..1.15) });
            }
        }
    }
    kept
}

/// Shortest route lengths from `root` to every junction (Dijkstra over the
/// kept segments, by chord length in output metres).
fn junction_distances(kept: &[Kept], n: usize, root: u32) -> Vec<f64> {
    // Compact adjacency: offsets into one edge array.
    let mut start = vec![0u32; n + 1];
    let arcs = |k: &Kept| {
        let fwd = (k.oneway != Oneway::Backward).then_some((k.a, k.b));
        let back = (k.oneway != Oneway::Forward).then_some((k.b, k.a));
        fwd.into_iter().chain(back)
    };
    for (u, _) in kept.iter().flat_map(arcs) {
        start[u as usize + 1] += 1;
    }
    for i in 0..n {
        start[i + 1] += start[i];
    }
    let mut fill = start.clone();
    let mut edges = vec![(0u32, 0.0f64); start[n] as usize];
    for k in kept {
        for (u, v) in arcs(k) {
            edges[fill[u as usize] as usize] = (v, k.len);
            fill[u as usize] += 1;
        }
    }
    let mut dist = vec![f64::INFINITY; n];
    let mut heap = BinaryHeap::new();
    dist[root as usize] = 0.0;
    // Non-negative f64 order equals the order of their bit patterns.
    heap.push(Reverse((0u64, root)));
    while let Some(Reverse((bits, u))) = heap.pop() {
        let d = f64::from_bits(bits);
        if d > dist[u as usize] {
            continue;
        }
        for &(v, len) in &edges[start[u as usize] as usize..start[u as usize + 1] as usize] {
            let nd = d + len;
            if nd < dist[v as usize] {
                dist[v as usize] = nd;
                heap.push(Reverse((nd.to_bits(), v)));
            }
        }
    }
    dist
}

/// Picks the number of pieces of every kept segment (mid-block points every
/// 40-70 m) so that the mean route from the root to the nodes within
/// `radius` is [`ROUTE_PER_RADIUS`] times the radius. Customers are drawn
/// uniformly over nodes, so spacing points a little closer on far streets and
/// wider on near ones (one knob, `alpha`, found by bisection) absorbs the
/// layout's random variation without touching the street network.
fn calibrate(kept: &[Kept], xy: &[P], alive: &[bool], root: u32, radius: f64) -> Vec<usize> {
    let dist = junction_distances(kept, xy.len(), root);
    let target = ROUTE_PER_RADIUS * radius;
    let inside = |p: P| norm2(p) <= radius * radius;
    let (mut fixed_sum, mut fixed_n) = (0.0, 0usize);
    for j in 0..xy.len() {
        if alive[j] && j != root as usize && dist[j].is_finite() && inside(xy[j]) {
            fixed_sum += dist[j];
            fixed_n += 1;
        }
    }
    // Per segment: base spacing and how far out it is (relative to the pivot).
    let shape: Vec<(f64, f64)> = kept
        .iter()
        .map(|k| {
            let reach = (dist[k.a as usize] + dist[k.b as usize]) / (2.0 * radius);
            (GEOMETRY_MID_M * k.jitter, 0.6 - reach)
        })
        .collect();
    let pieces = |alpha: f64, k: &Kept, (base, rel): (f64, f64)| {
        let spacing = (base * (alpha * rel).exp()).clamp(GEOMETRY_M.0, GEOMETRY_M.1);
        (k.len / spacing).round().max(1.0) as usize
    };
    let mean = |alpha: f64| {
        let (mut sum, mut n) = (fixed_sum, fixed_n);
        for (k, sh) in kept.iter().zip(&shape) {
            let p = pieces(alpha, k, *sh);
            if p < 2 {
                continue;
            }
            let (da, db) = (dist[k.a as usize], dist[k.b as usize]);
            let (pa, pb) = (xy[k.a as usize], xy[k.b as usize]);
            // The disc is convex: a chord with both ends inside is inside.
            if inside(pa) && inside(pb) {
                sum += mid_route_sum(k.oneway, da, db, k.len, p);
                n += p - 1;
                continue;
            }
            for i in 1..p {
                let f = i as f64 / p as f64;
                if inside(lerp(pa, pb, f)) {
                    sum += match k.oneway {
                        Oneway::Both => (da + f * k.len).min(db + (1.0 - f) * k.len),
                        Oneway::Forward => da + f * k.len,
                        Oneway::Backward => db + (1.0 - f) * k.len,
                    };
                    n += 1;
                }
            }
        }
        if n == 0 {
            target
        } else {
            sum / n as f64
        }
    };
    // The mean grows with alpha (far streets get more points). Find the root
    // by regula falsi with the Illinois fix (few evaluations even across the
    // plateaus where spacings saturate).
    let (mut lo, mut hi) = (-ALPHA_MAX, ALPHA_MAX);
    let (mut f_lo, mut f_hi) = (mean(lo) - target, mean(hi) - target);
    let alpha = if f_lo >= 0.0 {
        lo
    } else if f_hi <= 0.0 {
        hi
    } else {
        let mut last_side = 0;
        let mut alpha = 0.0;
        for _ in 0..40 {
            alpha = (lo * f_hi - hi * f_lo) / (f_hi - f_lo);
            let f = mean(alpha) - target;
            if f.abs() < CALIBRATION_TOLERANCE_M || hi - lo < 1e-9 {
                break;
            }
            if f < 0.0 {
                (lo, f_lo) = (alpha, f);
                if last_side == -1 {
                    f_hi /= 2.0;
                }
                last_side = -1;
            } else {
                (hi, f_hi) = (alpha, f);
                if last_side == 1 {
                    f_lo /= 2.0;
                }
                last_side = 1;
            }
        }
        alpha
    };
    kept.iter().zip(&shape).map(|(k, sh)| pieces(alpha, k, *sh)).collect()
}

/// Sum of route lengths to the `p - 1` evenly spaced inner points of a
/// segment of length `len` whose ends are `da` and `db` from the root.
fn mid_route_sum(oneway: Oneway, da: f64, db: f64, len: f64, p: usize) -> f64 {
    let step = len / p as f64;
    // Sum of step * j for j in 1..=q.
    let ramp = |q: usize| step * (q * (q + 1) / 2) as f64;
    let inner = p - 1;
    match oneway {
        Oneway::Forward => inner as f64 * da + ramp(inner),
        Oneway::Backward => inner as f64 * db + ramp(inner),
        Oneway::Both => {
            // Points 1..=via_a are reached through `a`, the rest through `b`.
            let via_a = (((db - da + len) / (2.0 * step)).floor().max(0.0) as usize).min(inner);
            let via_b = inner - via_a;
            via_a as f64 * da + ramp(via_a) + via_b as f64 * db + ramp(via_b)
        }
    }
}

/// Writes kept segments as ways (one per maximal run of a street with the same
/// direction), with `pieces[i]` pieces for the i-th kept segment.
fn emit(
    streets: &[Street],
    uv: &[P],
    xy: &[P],
    alive: &[bool],
    pieces: &[usize],
    frame: &Frame,
    river: Option<&River>,
) -> Generated {
    let mut id = vec![NONE; uv.len()];
    let mut nodes: Vec<P> = Vec::with_capacity(pieces.iter().map(|p| p - 1).sum::<usize>() + uv.len());
    let mut river_side: Vec<i8> = Vec::new();
    let mut ways: Vec<Way> = Vec::new();
    let mut push = |p: P, q: P, nodes: &mut Vec<P>| {
        nodes.push(frame.project(q));
        if cfg!(test) {
            river_side.push(river.map_or(0, |r| r.side(p)));
        }
        (nodes.len() - 1) as u32
    };
    let mut next = 0;
    for s in streets {
        let mut cur: Option<Way> = None;
        for (seg, w) in s.segs.iter().zip(s.stops.windows(2)) {
            let (a, b) = (w[0].1, w[1].1);
            let kept = seg.keep && alive[a as usize] && alive[b as usize];
            if cur.as_ref().is_some_and(|c| !kept || c.oneway != seg.oneway) {
                ways.extend(cur.take());
            }
            if !kept {
                continue;
            }
            for j in [a, b] {
                if id[j as usize] == NONE {
                    id[j as usize] = push(uv[j as usize], xy[j as usize], &mut nodes);
                }
            }
            let way = cur.get_or_insert_with(|| Way {
                nodes: vec![id[a as usize]],
                name: s.name.clone(),
                class: s.rank.class().to_string(),
                oneway: seg.oneway,
            });
            let (pa, pb) = (uv[a as usize], uv[b as usize]);
            let n = pieces[next];
            next += 1;
            for k in 1..n {
                let p = lerp(pa, pb, k as f64 / n as f64);
                let m = push(p, frame.xy(p), &mut nodes);
                way.nodes.push(m);
            }
            way.nodes.push(id[b as usize]);
        }
        ways.extend(cur);
    }
    Generated { data: RoadData { nodes, ways }, river_side }
}

/// Plan frame -> lat/lon: a random rotation, a smooth low-amplitude warp so
/// streets curve gently, then the local equirectangular projection.
struct Frame {
    cos: f64,
    sin: f64,
    /// `(wave vector, phase, amplitude, axis)`.
    waves: Vec<(P, f64, f64, usize)>,
    /// The warp at the plan origin, subtracted so the origin maps to the centre.
    origin: P,
    center: P,
    per_lat: f64,
    per_lon: f64,
}

impl Frame {
    fn new(rng: &mut SimRng, center: P) -> Frame {
        let theta: f64 = rng.random_range(-0.5..0.5);
        let mut waves = Vec::new();
        // Bands of (wavelength, amplitude): total slope stays well below 1, so
        // the warp never folds the plan.
        for axis in 0..2 {
            for (lambda, amp) in
                [((2500.0, 4500.0), (30.0, 55.0)), ((1200.0, 2000.0), (12.0, 25.0)), ((400.0, 700.0), (3.0, 7.0))]
            {
                let dir = rng.random_range(0.0..PI);
                let k = TAU / rng.random_range(lambda.0..lambda.1);
                let (phase, a) = (rng.random_range(0.0..TAU), rng.random_range(amp.0..amp.1));
                waves.push(([k * f64::cos(dir), k * f64::sin(dir)], phase, a, axis));
            }
        }
        let (per_lat, per_lon) = metres_per_degree(center[0]);
        let mut frame = Frame { cos: theta.cos(), sin: theta.sin(), waves, origin: [0.0; 2], center, per_lat, per_lon };
        frame.origin = frame.xy([0.0; 2]);
        frame
    }

    /// Plan metres -> output metres east / north of the centre. The plan
    /// origin stays at the centre, so the kitchen sits on its junction.
    fn xy(&self, p: P) -> P {
        let x = p[0] * self.cos - p[1] * self.sin;
        let y = p[0] * self.sin + p[1] * self.cos;
        let mut d = [x - self.origin[0], y - self.origin[1]];
        for &(k, phase, amp, axis) in &self.waves {
            d[axis] += amp * (k[0] * x + k[1] * y + phase).sin();
        }
        d
    }

    fn project(&self, q: P) -> P {
        [self.center[0] + q[1] / self.per_lat, self.center[1] + q[0] / self.per_lon]
    }
}

/// Street names: numbered streets for rows, tree / people names for columns,
/// a separate pool for arterials and for diagonals.
struct Names {
    plain: Vec<&'static str>,
    next_plain: usize,
    arterial: Vec<&'static str>,
    next_arterial: usize,
    diagonal: Vec<&'static str>,
}

const PLAIN: &[&str] = &[
    "Oak",
    "Maple",
    "Pine",
    "Cedar",
    "Elm",
    "Birch",
    "Walnut",
    "Chestnut",
    "Spruce",
    "Willow",
    "Ash",
    "Poplar",
    "Hickory",
    "Magnolia",
    "Sycamore",
    "Cypress",
    "Laurel",
    "Juniper",
    "Alder",
    "Hawthorn",
    "Linden",
    "Locust",
    "Dogwood",
    "Redwood",
    "Holly",
    "Hazel",
    "Mulberry",
    "Olive",
    "Aspen",
    "Adams",
    "Jackson",
    "Monroe",
    "Jefferson",
    "Madison",
    "Grant",
    "Garfield",
    "Harrison",
    "Polk",
    "Taylor",
    "Fillmore",
    "Pierce",
    "Buchanan",
    "Hayes",
    "Arthur",
    "Cleveland",
    "McKinley",
    "Tyler",
    "Coolidge",
    "Hoover",
    "Truman",
    "Franklin",
    "Hamilton",
    "Webster",
    "Clay",
    "Marshall",
    "Sherman",
    "Sheridan",
    "Halsted",
    "Morgan",
    "Racine",
    "Ashland",
    "Damen",
    "Wolcott",
    "Paulina",
    "Hoyne",
    "Leavitt",
    "Oakley",
    "Claremont",
    "Campbell",
    "Artesian",
    "Rockwell",
    "Talman",
    "Fairfield",
    "Sacramento",
    "Whipple",
    "Albany",
    "Troy",
    "Kedzie",
    "Sawyer",
    "Spaulding",
    "Christiana",
    "Homan",
    "Trumbull",
    "Kimball",
    "Drake",
    "Hamlin",
    "Ridgeway",
    "Avers",
    "Springfield",
    "Harding",
    "Keeler",
    "Kildare",
    "Kolin",
    "Kostner",
    "Kenneth",
    "Kilbourn",
    "Laramie",
    "Lotus",
    "Lavergne",
    "Lockwood",
    "Linder",
    "Mason",
    "Menard",
    "Monitor",
    "Austin",
    "Parkside",
    "Waller",
    "Mayfield",
    "Lorel",
    "Latrobe",
    "Lamon",
    "Leclaire",
    "Lawler",
    "Lowell",
    "Tripp",
    "Karlov",
    "Pulaski",
    "Hudson",
    "Cleaver",
    "Bishop",
];
const ARTERIAL: &[&str] = &[
    "Mission",
    "Western",
    "Grand",
    "Market",
    "Harbor",
    "University",
    "Lakeshore",
    "Central",
    "Pacific",
    "Canal",
    "Division",
    "Commonwealth",
    "Riverside",
    "Park",
    "Industrial",
    "Airport",
    "College",
    "Highland",
    "Sunset",
    "Fairview",
    "Valley",
    "Ridge",
    "Summit",
    "Orchard",
    "Meridian",
    "Capitol",
    "Union",
    "Liberty",
    "Independence",
    "Memorial",
    "Victory",
    "Colonial",
    "Heritage",
    "Lincoln",
    "Washington",
    "Kingsbury",
];
const DIAGONAL: &[&str] = &[
    "Broadway",
    "Archer Ave",
    "Ogden Ave",
    "Elston Ave",
    "Clybourn Ave",
    "Vincennes Ave",
    "Blue Island Ave",
    "Old Post Rd",
];

impl Names {
    fn new(rng: &mut SimRng) -> Names {
        let mut plain = PLAIN.to_vec();
        let mut arterial = ARTERIAL.to_vec();
        let mut diagonal = DIAGONAL.to_vec();
        shuffle(rng, &mut plain);
        shuffle(rng, &mut arterial);
        shuffle(rng, &mut diagonal);
        Names { plain, next_plain: 0, arterial, next_arterial: 0, diagonal }
    }

    fn column(&mut self, rng: &mut SimRng, rank: Rank) -> Option<String> {
        let roll = rng.random::<f64>();
        if rank.arterial() {
            let base = self.arterial[self.next_arterial % self.arterial.len()];
            self.next_arterial += 1;
            let suffix = ["Blvd", "Ave", "Ave", "Rd", "Pkwy"][(roll * 5.0) as usize];
            return Some(format!("{base} {suffix}"));
        }
        if rank == Rank::Residential && roll < UNNAMED_P {
            return None;
        }
        let base = self.plain[self.next_plain % self.plain.len()];
        self.next_plain += 1;
        let suffix = if rank == Rank::Tertiary {
            "Ave"
        } else {
            ["St", "St", "St", "Ave", "Ave", "Ave", "Dr", "Pl", "Way", "Ln"][(roll * 10.0) as usize % 10]
        };
        Some(format!("{base} {suffix}"))
    }

    fn row(&mut self, rng: &mut SimRng, rank: Rank, number: u32) -> Option<String> {
        let roll = rng.random::<f64>();
        if rank == Rank::Residential && roll < UNNAMED_P {
            return None;
        }
        Some(format!("{} St", ordinal(number)))
    }

    fn diagonal(&self, d: usize) -> String {
        self.diagonal[d % self.diagonal.len()].to_string()
    }
}

fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

fn shuffle<T>(rng: &mut SimRng, v: &mut [T]) {
    for i in (1..v.len()).rev() {
        v.swap(i, rng.random_range(0..=i));
    }
}

fn dot(a: P, b: P) -> f64 {
    a[0] * b[0] + a[1] * b[1]
}

fn dist(a: P, b: P) -> f64 {
    norm2([a[0] - b[0], a[1] - b[1]]).sqrt()
}

fn norm2(p: P) -> f64 {
    p[0] * p[0] + p[1] * p[1]
}

fn lerp(a: P, b: P, t: f64) -> P {
    [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roads::geo::haversine_m;
    use crate::roads::graph::RoadGraph;
    use crate::roads::tree::{can_reach, SearchScratch, ShortestPathTree};

    const CANONICAL_RADIUS_M: f64 = 6437.376;
    const SPEED_MPS: f64 = 11.176;
    const CHICAGO: P = [41.8906643, -87.6320787];
    const SF: P = [37.7910243, -122.3928646];

    struct Stats {
        mean_pings: f64,
        strong_share: f64,
        customers: usize,
    }

    /// The canonical ping model over customers drawn uniformly from the
    /// delivery-area nodes (as `DeliveryArea` selects them).
    fn stats(data: RoadData, center: P, radius: f64) -> Stats {
        let g = RoadGraph::build(data);
        let (root, _) = g.nearest_node(center).unwrap();
        let tree = ShortestPathTree::build(&g, root, &mut SearchScratch::default());
        let back = can_reach(&g, root);
        let n = g.node_count() as u32;
        let strong = (0..n).filter(|&v| tree.reaches(v) && back[v as usize]).count();
        let mut total = 0u64;
        let mut customers = 0usize;
        for v in 0..n {
            if v == root || !tree.reaches(v) || !back[v as usize] || haversine_m(center, g.point(v)) > radius {
                continue;
            }
            let t = tree.dist[v as usize] / SPEED_MPS;
            let c = ((t / 60.0).floor() as u64).max(1);
            total += c - 1;
            customers += 1;
        }
        Stats { mean_pings: total as f64 / customers as f64, strong_share: strong as f64 / n as f64, customers }
    }

    #[test]
    fn deterministic_and_seed_sensitive() {
        let a = city(7, CHICAGO, CANONICAL_RADIUS_M);
        let b = city(7, CHICAGO, CANONICAL_RADIUS_M);
        let c = city(8, CHICAGO, CANONICAL_RADIUS_M);
        assert_eq!(a.nodes, b.nodes);
        assert_eq!(a.ways.len(), b.ways.len());
        for (x, y) in a.ways.iter().zip(&b.ways) {
            assert_eq!((&x.nodes, &x.name, &x.class, x.oneway), (&y.nodes, &y.name, &y.class, y.oneway));
        }
        assert!(a.nodes != c.nodes);
    }

    #[test]
    fn calibrated_connected_and_bounded() {
        for (seed, center) in
            [(1, CHICAGO), (2, CHICAGO), (3, SF), (42, [51.5074, -0.1278]), (99, [-33.8688, 151.2093])]
        {
            let data = city(seed, center, CANONICAL_RADIUS_M);
            let (nodes, ways) = (data.nodes.len(), data.ways.len());
            assert!(nodes <= 40_000, "seed {seed}: {nodes} nodes");
            let s = stats(data, center, CANONICAL_RADIUS_M);
            println!(
                "seed {seed} {center:?}: {nodes} nodes, {ways} ways, {} customers, mean pings {:.3}, strong {:.4}",
                s.customers, s.mean_pings, s.strong_share
            );
            assert!(s.strong_share >= 0.99, "seed {seed}: strongly connected share {}", s.strong_share);
            assert!((6.1..=6.7).contains(&s.mean_pings), "seed {seed}: mean pings {}", s.mean_pings);
        }
    }

    #[test]
    fn loads_as_a_delivery_area_with_the_kitchen_on_a_junction() {
        use crate::roads::{load_area, AreaSpec, RoadSource};
        let spec = AreaSpec {
            code: "syn".into(),
            kitchen: CHICAGO,
            radius_m: CANONICAL_RADIUS_M,
            max_snap_m: 50.0,
            min_nodes: 1000,
        };
        let area = load_area(&spec, city(21, CHICAGO, CANONICAL_RADIUS_M), RoadSource::Synthetic { seed: 21 }).unwrap();
        assert!(area.kitchen_snap_m < 0.01, "snap {}", area.kitchen_snap_m);
        assert!(area.nodes.len() > 15_000, "{} customer nodes", area.nodes.len());
        // A named street at the kitchen (the two central arterials meet there).
        assert!(area.graph.street_name(area.kitchen_node).is_some());
    }

    #[test]
    fn scales_with_radius() {
        let mut last = 0.0;
        for radius in [2000.0, 4000.0, CANONICAL_RADIUS_M, 10_000.0] {
            let data = city(5, CHICAGO, radius);
            let n = data.nodes.len();
            let s = stats(data, CHICAGO, radius);
            println!("radius {radius}: {n} nodes, mean pings {:.3}, strong {:.4}", s.mean_pings, s.strong_share);
            assert!(s.strong_share >= 0.99 && s.mean_pings > last, "radius {radius}");
            last = s.mean_pings;
        }
    }

    #[test]
    fn covers_the_disc() {
        let data = city(11, CHICAGO, CANONICAL_RADIUS_M);
        let (per_lat, per_lon) = metres_per_degree(CHICAGO[0]);
        for k in 0..16 {
            let a = k as f64 * TAU / 16.0;
            let r = 0.97 * CANONICAL_RADIUS_M;
            let p = [CHICAGO[0] + r * a.sin() / per_lat, CHICAGO[1] + r * a.cos() / per_lon];
            let near = data.nodes.iter().map(|n| haversine_m(*n, p)).fold(f64::INFINITY, f64::min);
            assert!(near < 400.0, "direction {k}: nearest node {near} m");
        }
    }

    #[test]
    fn oneway_couplets_exist() {
        for seed in 0..5 {
            let data = city(seed, CHICAGO, CANONICAL_RADIUS_M);
            let fwd: Vec<&Way> = data.ways.iter().filter(|w| w.oneway == Oneway::Forward).collect();
            let bwd: Vec<&Way> = data.ways.iter().filter(|w| w.oneway == Oneway::Backward).collect();
            assert!(!fwd.is_empty() && !bwd.is_empty(), "seed {seed}");
            // Each forward way has a backward partner running alongside within a block.
            let paired = fwd.iter().any(|f| {
                let mid = data.nodes[f.nodes[f.nodes.len() / 2] as usize];
                bwd.iter().any(|b| b.nodes.iter().any(|&n| haversine_m(data.nodes[n as usize], mid) < 260.0))
            });
            assert!(paired, "seed {seed}: no one-way pair");
        }
    }

    #[test]
    fn river_has_few_bridges() {
        for seed in 0..10 {
            let g = generate(seed, CHICAGO, CANONICAL_RADIUS_M);
            let side = &g.river_side;
            // Each bridge leaves the -1 bank exactly once.
            let mut crossings = 0;
            for w in &g.data.ways {
                for p in w.nodes.windows(2) {
                    let (a, b) = (side[p[0] as usize], side[p[1] as usize]);
                    if (a == -1) != (b == -1) {
                        crossings += 1;
                    }
                }
            }
            let far = side.iter().filter(|s| **s == 1).count();
            let near = side.iter().filter(|s| **s == -1).count();
            println!("seed {seed}: {crossings} river crossings, banks {near} / {far} nodes");
            assert!((3..=5).contains(&crossings), "seed {seed}: {crossings} crossings");
            assert!(far > 1000 && near > 1000, "seed {seed}: both banks are populated");
        }
    }

    #[test]
    fn most_ways_are_named() {
        let data = city(3, CHICAGO, CANONICAL_RADIUS_M);
        let named = data.ways.iter().filter(|w| w.name.is_some()).count();
        let share = named as f64 / data.ways.len() as f64;
        assert!(share > 0.85 && share < 1.0, "named share {share}");
        for class in ["primary", "secondary", "tertiary", "residential"] {
            assert!(data.ways.iter().any(|w| w.class == class), "no {class} ways");
        }
        // Mid-block geometry: consecutive nodes are mostly 30-90 m apart.
        let (mut ok, mut all) = (0, 0);
        for w in &data.ways {
            for p in w.nodes.windows(2) {
                let d = haversine_m(data.nodes[p[0] as usize], data.nodes[p[1] as usize]);
                all += 1;
                ok += usize::from((25.0..=95.0).contains(&d));
            }
        }
        assert!(ok as f64 / all as f64 > 0.85, "{ok}/{all} segments 25-95 m");
    }

    #[test]
    fn mid_route_sum_matches_brute_force() {
        for &(da, db, len) in &[(0.0, 100.0, 100.0), (300.0, 120.0, 180.0), (50.0, 60.0, 90.0), (10.0, 500.0, 70.0)] {
            for p in 1..9 {
                for oneway in [Oneway::Both, Oneway::Forward, Oneway::Backward] {
                    let brute: f64 = (1..p)
                        .map(|i| {
                            let f = i as f64 / p as f64;
                            match oneway {
                                Oneway::Both => (da + f * len).min(db + (1.0 - f) * len),
                                Oneway::Forward => da + f * len,
                                Oneway::Backward => db + (1.0 - f) * len,
                            }
                        })
                        .sum();
                    let fast = mid_route_sum(oneway, da, db, len, p);
                    assert!((brute - fast).abs() < 1e-6, "{da} {db} {len} {p} {oneway:?}: {brute} vs {fast}");
                }
            }
        }
    }
}
