//! Generate: runs the whole pipeline for one scenario — scenario -> roads ->
//! demand/lifecycles -> events -> sinks — and reports what it wrote. The CLI's
//! `generate` command is a thin layer over [`run`].

use std::path::{Path, PathBuf};

use std::time::Instant;

use rayon::prelude::*;

mod files;

use crate::error::{Error, Result};
use crate::events::{Blocks, Dataset};
use crate::kinds::clickstream::{self, ClickstreamScenario};
use crate::kinds::retail::{self, RetailScenario};
use crate::kinds::weather::{self, WeatherScenario};
use crate::kinds::Model;
use crate::lifecycles::{Simulator, EVENT_TYPES};
use crate::model::calendar::Calendar;
use crate::progress::Progress;
use crate::roads::cache::RoadCache;
use crate::roads::{self, synthetic, AreaSpec, DeliveryArea, RoadData, RoadSource};
use crate::scenario::{self, KitchenScenario};
use crate::seed::{key, Purpose};
use crate::sinks::manifest::{LocationInfo, Manifest, RoadSourceInfo, ScenarioInfo};
use crate::sinks::parquet::Encoding;
use crate::sinks::{kitchen_dimensions, kitchen_pieces, OutputDir};
use files::{Days, RunFiles};

#[derive(Clone, Debug, Default)]
pub struct Options {
    pub scenario: PathBuf,
    pub sets: Vec<String>,
    /// `--scale K`: every volume of the scenario times K.
    pub scale: Option<f64>,
    pub days: Option<u32>,
    pub out: Option<PathBuf>,
    /// `(location code, extract path)` overrides.
    pub osm: Vec<(String, PathBuf)>,
    pub require_osm: bool,
    pub quiet: bool,
    /// Where `data/osm/<code>.osm[.pbf]` is looked up (normally the working directory).
    pub data_dir: PathBuf,
    /// `--shard i/N`: write only shard i of N (whole days), for `simkit merge`.
    pub shard: Option<Shard>,
}

/// One shard of a run: `index` of `count` (1-based), its share of whole days.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// Reads `i/N` (1 <= i <= N).
    pub fn parse(s: &str) -> Result<Shard> {
        let bad = || Error(format!("--shard {s}: expected i/N with 1 <= i <= N, such as 3/16"));
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count) = (i.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// Its days of a run of `days`: consecutive, as even as whole days allow.
    pub fn days(&self, days: u32) -> std::ops::Range<u32> {
        let at = |k: u32| (k as u64 * days as u64 / self.count as u64) as u32;
        at(self.index - 1)..at(self.index)
    }

    /// The file name stem of `table`'s part in this shard.
    pub fn part(&self, table: &str) -> String {
        crate::sinks::manifest::part_name(table, self.index, self.count)
    }
}

pub struct Summary {
    pub out: PathBuf,
    pub manifest: Manifest,
    pub seconds: f64,
}

/// Finds and loads a location's roads: `--osm`, then the scenario's `osm`,
/// then `data/osm/<code>.osm.pbf|.osm`, else a synthetic city.
fn load_roads(opts: &Options, scn: &KitchenScenario, index: usize, progress: &Progress) -> Result<DeliveryArea> {
    let loc = &scn.locations[index];
    let spec = AreaSpec {
        code: loc.code.clone(),
        kitchen: loc.kitchen,
        radius_m: loc.radius_m,
        max_snap_m: scn.max_snap_m,
        min_nodes: scn.min_area_nodes,
    };
    let local = ["osm.pbf", "osm"].map(|ext| opts.data_dir.join("data/osm").join(format!("{}.{ext}", loc.code)));
    let extract = opts
        .osm
        .iter()
        .find(|(code, _)| *code == loc.code)
        .map(|(_, p)| p.clone())
        .or_else(|| loc.osm.clone())
        .or_else(|| local.into_iter().find(|p| p.exists()));
    let (data, source): (RoadData, RoadSource) = match extract {
        Some(path) => {
            let loaded = roads::load_extract_area(&spec, &path, RoadCache::from_env().as_ref()).map_err(Error)?;
            if let Some(warning) = &loaded.warning {
                progress.warn(warning);
            }
            return Ok(loaded.area);
        }
        None if opts.require_osm => {
            return Err(Error(format!(
                "location `{}`: no OSM extract (give --osm {}=PATH, set locations.{}.osm, or run `simkit roads fetch`) and --require-osm forbids the synthetic fallback",
                loc.code, loc.code, loc.code
            )))
        }
        None => {
            let seed = key(scn.seed, index as u64, 0, Purpose::SyntheticRoads);
            progress.warn(&format!(
                "location `{code}`: no OSM extract found, so its roads are a synthetic city; for real roads run `simkit roads fetch {}` or pass --osm {code}=PATH (an .osm.pbf or .osm extract)",
                opts.scenario.display(),
                code = loc.code
            ));
            (synthetic::city(seed, loc.kitchen, loc.radius_m), RoadSource::Synthetic { seed })
        }
    };
    roads::load_area(&spec, data, source).map_err(Error)
}

fn road_info(source: &RoadSource) -> RoadSourceInfo {
    match source {
        RoadSource::Extract { path, sha256 } => RoadSourceInfo {
            kind: "extract".into(),
            file: path.file_name().map(|f| f.to_string_lossy().to_string()),
            sha256: Some(sha256.clone()),
            seed: None,
        },
        RoadSource::Synthetic { seed } => {
            RoadSourceInfo { kind: "synthetic".into(), file: None, sha256: None, seed: Some(*seed) }
        }
    }
}

/// `--out`, else `outputs/<name>` (a shard's: `outputs/<name>-shard-0000i-of-0000N`).
fn out_dir(opts: &Options, name: &str) -> PathBuf {
    let name = match opts.shard {
        Some(sh) => format!("{name}-shard-{:05}-of-{:05}", sh.index, sh.count),
        None => name.to_string(),
    };
    opts.out.clone().unwrap_or_else(|| Path::new("outputs").join(name))
}

/// Checks `--osm` against the scenario's locations: known codes, one extract each.
fn check_osm_overrides(opts: &Options, scn: &KitchenScenario) -> Result<()> {
    for (i, (code, path)) in opts.osm.iter().enumerate() {
        if !scn.locations.iter().any(|l| &l.code == code) {
            let known: Vec<&str> = scn.locations.iter().map(|l| l.code.as_str()).collect();
            return Err(Error(format!(
                "--osm {code}={}: unknown location code (expected one of: {})",
                path.display(),
                known.join(", ")
            )));
        }
        if let Some((_, first)) = opts.osm[..i].iter().find(|(c, _)| c == code) {
            return Err(Error(format!(
                "--osm {code}={}: location `{code}` already has --osm {code}={}; give one extract per location",
                path.display(),
                first.display()
            )));
        }
    }
    Ok(())
}

/// Everything the run reads, which its output must not hold.
fn inputs(opts: &Options, scn: &KitchenScenario) -> Vec<PathBuf> {
    let mut paths = vec![opts.scenario.clone()];
    paths.extend(scn.inputs.iter().cloned());
    paths.extend(scn.table_dir().map(Path::to_path_buf));
    paths.extend(opts.osm.iter().map(|(_, p)| p.clone()));
    paths.extend(scn.locations.iter().filter_map(|l| l.osm.clone()));
    paths
}

/// The dataset's window: the earliest local start of day 0 and the latest
/// local end of the last day among the locations.
fn window(scn: &KitchenScenario) -> (i64, i64) {
    let clocks = scn.locations.iter().map(|l| &l.clock);
    crate::model::clock::window(scn.calendar.start, scn.calendar.days, clocks).unwrap_or((0, 0))
}

/// Prints a stage's duration to stderr when SIMKIT_TIMINGS is set (for benchmarks).
fn timing(stage: &str, since: &mut Instant) {
    if std::env::var_os("SIMKIT_TIMINGS").is_some() {
        // Peak resident memory so far (Linux), to see which stage sets it.
        let peak = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(|l| l[6..].trim().to_string()))
            .unwrap_or_default();
        eprintln!("timing {stage:<10} {:8.1} ms  peak rss {peak}", since.elapsed().as_secs_f64() * 1000.0);
    }
    *since = Instant::now();
}

/// A manifest with the scenario's fields filled in; tables and files follow.
fn new_manifest(
    loaded: &scenario::Scenario,
    name: &str,
    seed: u64,
    c: &Calendar,
    (start_ms, end_ms): (i64, i64),
) -> Manifest {
    Manifest {
        format: crate::sinks::manifest::FORMAT,
        simkit_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario: ScenarioInfo {
            name: name.to_string(),
            kind: loaded.model.kind().name.to_string(),
            hash: loaded.hash.clone(),
            seed,
            start: c.start.to_string(),
            days: c.days,
            start_ms,
            end_ms,
        },
        fingerprint: String::new(),
        locations: Vec::new(),
        tables: Default::default(),
        event_types: Default::default(),
        model: Default::default(),
        files: Default::default(),
        disorder: Default::default(),
        streams: Vec::new(),
        tools: Default::default(),
        shard: None,
    }
}

/// Orders and events per location and events per type, added up block by block.
struct Counts {
    orders: Vec<u64>,
    events: Vec<u64>,
    per_type: [u64; 8],
}

impl Counts {
    fn new(locations: usize) -> Counts {
        Counts { orders: vec![0; locations], events: vec![0; locations], per_type: [0; 8] }
    }

    /// Adds a simulation's events and its orders in `new_orders`.
    fn add(&mut self, sim: &crate::lifecycles::Simulation, new_orders: std::ops::Range<usize>) {
        for o in &sim.orders[new_orders] {
            self.orders[o.location as usize] += 1;
        }
        for e in &sim.events {
            self.events[sim.orders[e.order as usize].location as usize] += 1;
            self.per_type[e.kind as usize - 1] += 1;
        }
    }
}

/// The manifest of a finished simulation, files not yet listed.
fn describe(loaded: &scenario::Scenario, areas: &[DeliveryArea], counts: &Counts) -> Result<Manifest> {
    let scn = loaded.kitchen("generate")?;
    let locations = scn.locations.iter().enumerate().map(|(i, loc)| LocationInfo {
        id: loc.id,
        code: loc.code.clone(),
        name: loc.name.clone(),
        timezone: loc.clock.name().to_string(),
        orders: counts.orders[i],
        events: counts.events[i],
        road_source: road_info(&areas[i].source),
        area_nodes: areas[i].nodes.len() as u64,
    });
    let mut m = new_manifest(loaded, &scn.name, scn.seed, &scn.calendar, window(scn));
    m.locations = locations.collect();
    m.event_types = EVENT_TYPES.iter().zip(counts.per_type).map(|(name, n)| (name.to_string(), n)).collect();
    Ok(m)
}

pub fn run(opts: &Options) -> Result<Summary> {
    let started = Instant::now();
    let mut lap = Instant::now();
    let progress = Progress::new(opts.quiet);
    let mut sets = opts.sets.clone();
    if let Some(d) = opts.days {
        sets.push(format!("time.days={d}"));
    }
    let loaded = scenario::load(&opts.scenario, &scenario::Overrides { sets, scale: opts.scale })?;
    if let Some(shard) = opts.shard {
        check_shard(shard, loaded.model.days())?;
    }
    timing("scenario", &mut lap);
    let (out, manifest) = match &loaded.model {
        Model::GhostKitchen(scn) => run_kitchen(opts, &loaded, scn, &progress, lap)?,
        Model::Retail(r) => run_retail(opts, &loaded, r, &progress)?,
        Model::Weather(w) => run_weather(opts, &loaded, w, &progress)?,
        Model::Clickstream(c) => run_clickstream(opts, &loaded, c, &progress)?,
    };
    Ok(Summary { out, manifest, seconds: started.elapsed().as_secs_f64() })
}

/// Flags that only the ghost kitchen reads, refused for other kinds.
fn refuse_road_flags(opts: &Options, kind: &str) -> Result<()> {
    if let Some((code, path)) = opts.osm.first() {
        return Err(Error(format!("--osm {code}={}: a {kind} scenario has no roads", path.display())));
    }
    if opts.require_osm {
        return Err(Error(format!("--require-osm: a {kind} scenario has no roads")));
    }
    Ok(())
}

fn run_retail(
    opts: &Options,
    loaded: &scenario::Scenario,
    r: &RetailScenario,
    progress: &Progress,
) -> Result<(PathBuf, Manifest)> {
    refuse_road_flags(opts, "retail")?;
    let out = out_dir(opts, &r.name);
    let mut inputs = vec![opts.scenario.clone()];
    inputs.extend(r.inputs.iter().cloned());
    let dir = OutputDir::create(&out, &inputs)?;
    let window = crate::model::clock::window(r.calendar.start, r.calendar.days, [&r.clock]).unwrap_or((0, 0));
    let mut manifest = new_manifest(loaded, &r.name, r.seed, &r.calendar, window);
    manifest.model = retail::tables::model_facts(r);
    let enc = Encoding { row_group_rows: r.row_group_rows, zstd_level: r.zstd_level };
    // Whole days of sales are written while the next are simulated.
    let empty = retail::model::RetailRun::default();
    let products = vec![retail::tables::products_table(r)];
    let layouts = retail::tables::piece(r, &empty);
    let mut files = RunFiles::create(dir.path(), loaded, &layouts, products, &manifest, (enc, opts.shard))?;
    let spans = files.spans();
    let bar = progress.stage("simulate", "days", span_days(&spans));
    for (days, whose) in spans {
        let shop = retail::model::Retail::days(r, days);
        stream_days(shop, &bar, |run| files.push(&retail::tables::piece(r, run), whose))?;
    }
    bar.finish_and_clear();
    files.finish(dir, &[], manifest)
}

/// A simulation that yields its run as pieces of whole days, in order.
trait DayPieces: Send {
    type Piece: Send + Sync;
    fn piece(&mut self) -> Option<Self::Piece>;
    fn days_done(&self) -> u32;
}

impl<'a> DayPieces for retail::model::Retail<'a> {
    type Piece = retail::model::RetailRun;
    /// At least 65,536 purchases.
    fn piece(&mut self) -> Option<Self::Piece> {
        self.next_piece(1 << 16)
    }
    fn days_done(&self) -> u32 {
        retail::model::Retail::days_done(self)
    }
}

impl<'a> DayPieces for clickstream::model::Clickstream<'a> {
    type Piece = clickstream::model::Run;
    /// At least 131,072 records.
    fn piece(&mut self) -> Option<Self::Piece> {
        self.next_piece(1 << 17)
    }
    fn days_done(&self) -> u32 {
        clickstream::model::Clickstream::days_done(self)
    }
}

/// [`stream_pieces`] over a simulation's pieces of days, counting the days on `bar`.
fn stream_days<S: DayPieces>(
    mut source: S,
    bar: &indicatif::ProgressBar,
    write: impl FnMut(&S::Piece) -> Result<()> + Send,
) -> Result<()> {
    let next = || {
        let before = source.days_done();
        let piece = source.piece();
        bar.inc((source.days_done() - before) as u64);
        piece
    };
    stream_pieces(next, write)
}

/// Writes the pieces of a run in order, each while the next is simulated.
fn stream_pieces<P: Send + Sync>(
    mut next: impl FnMut() -> Option<P> + Send,
    mut write: impl FnMut(&P) -> Result<()> + Send,
) -> Result<()> {
    let mut piece = next();
    while let Some(p) = piece {
        let (written, following) = rayon::join(|| write(&p), &mut next);
        written?;
        piece = following;
    }
    Ok(())
}

/// Reports a streamed weather piece holds (whole days of every station).
const WEATHER_PIECE_ROWS: usize = 1 << 20;

fn run_weather(
    opts: &Options,
    loaded: &scenario::Scenario,
    w: &WeatherScenario,
    progress: &Progress,
) -> Result<(PathBuf, Manifest)> {
    refuse_road_flags(opts, "weather")?;
    let out = out_dir(opts, &w.name);
    let dir = OutputDir::create(&out, std::slice::from_ref(&opts.scenario))?;
    let stations = weather::model::stations(w);
    let utc = [crate::model::clock::LocalClock::parse("UTC").map_err(Error)?];
    let window = crate::model::clock::window(w.calendar.start, w.calendar.days, &utc).unwrap_or((0, 0));
    let mut manifest = new_manifest(loaded, &w.name, w.seed, &w.calendar, window);
    manifest.model = [
        ("stations".to_string(), serde_json::json!(w.stations)),
        ("rain_min_temp_f".to_string(), serde_json::json!(w.min_rain_temp)),
    ]
    .into_iter()
    .collect();
    let enc = Encoding { row_group_rows: w.row_group_rows, zstd_level: w.zstd_level };
    let tools = [weather::tables::REPORT_PROTO];
    // A piece of whole days is written while the next is simulated.
    let whole = vec![weather::tables::stations_table(&stations)];
    let layouts = [weather::tables::reports_layout()];
    let mut files = RunFiles::create(dir.path(), loaded, &layouts, whole, &manifest, (enc, opts.shard))?;
    let spans = files.spans();
    let bar = progress.stage("generate", "days", span_days(&spans));
    let piece_days = (WEATHER_PIECE_ROWS / stations.len().max(1)).max(1) as u32;
    for (days, whose) in spans {
        let mut run = weather::model::Weather::days(w, &stations, days);
        let next = || {
            let piece = run.next_days(piece_days);
            bar.inc(piece.as_ref().map_or(0, |p| p.degrees.len() / stations.len().max(1)) as u64);
            piece
        };
        stream_pieces(next, |piece| files.push(&[weather::tables::reports_piece(w, &stations, piece)], whose))?;
    }
    bar.finish_and_clear();
    files.finish(dir, &tools, manifest)
}

fn run_clickstream(
    opts: &Options,
    loaded: &scenario::Scenario,
    c: &ClickstreamScenario,
    progress: &Progress,
) -> Result<(PathBuf, Manifest)> {
    refuse_road_flags(opts, "clickstream")?;
    let out = out_dir(opts, &c.name);
    let dir = OutputDir::create(&out, std::slice::from_ref(&opts.scenario))?;
    let window = crate::model::clock::window(c.calendar.start, c.calendar.days, [&c.clock]).unwrap_or((0, 0));
    let mut manifest = new_manifest(loaded, &c.name, c.seed, &c.calendar, window);
    manifest.model = clickstream::tables::model_facts(c);
    manifest.model.insert("timezone".into(), serde_json::json!("UTC"));
    let enc = Encoding { row_group_rows: c.row_group_rows, zstd_level: c.zstd_level };
    // Whole days are written while the next are simulated.
    let empty = clickstream::model::Run::default();
    let layouts = clickstream::tables::tables(c, &empty);
    let mut files = RunFiles::create(dir.path(), loaded, &layouts, Vec::new(), &manifest, (enc, opts.shard))?;
    let spans = files.spans();
    let bar = progress.stage("simulate", "days", span_days(&spans));
    for (days, whose) in spans {
        let run = clickstream::model::Clickstream::days(c, days);
        stream_days(run, &bar, |piece| files.push(&clickstream::tables::tables(c, piece), whose))?;
    }
    bar.finish_and_clear();
    files.finish(dir, &[], manifest)
}

fn run_kitchen(
    opts: &Options,
    loaded: &scenario::Scenario,
    scn: &KitchenScenario,
    progress: &Progress,
    mut lap: Instant,
) -> Result<(PathBuf, Manifest)> {
    check_osm_overrides(opts, scn)?;
    let out = out_dir(opts, &scn.name);
    // Prepare the output first: an unwritable or protected directory fails before any work.
    let dir = OutputDir::create(&out, &inputs(opts, scn))?;

    let bar = progress.stage("roads", "locations", scn.locations.len() as u64);
    let areas: Vec<DeliveryArea> = (0..scn.locations.len())
        .into_par_iter()
        .map(|i| {
            let a = load_roads(opts, scn, i, progress);
            bar.inc(1);
            a
        })
        .collect::<Result<_>>()?;
    bar.finish_and_clear();
    timing("roads", &mut lap);

    let enc = Encoding { row_group_rows: scn.row_group_rows, zstd_level: scn.zstd_level };
    let written = stream_kitchen(dir, loaded, scn, &areas, enc, opts.shard, progress)?;
    timing("write", &mut lap);
    Ok(written)
}

/// The days of `spans` together.
fn span_days(spans: &[(std::ops::Range<u32>, Days)]) -> u64 {
    spans.iter().map(|(d, _)| d.len() as u64).sum()
}

/// A shard needs whole days to itself.
fn check_shard(shard: Shard, days: u32) -> Result<()> {
    if shard.count > days {
        return Err(Error(format!(
            "--shard {}/{}: {days} days cannot make {} shards of whole days (at most {days})",
            shard.index, shard.count, shard.count
        )));
    }
    Ok(())
}

/// The ghost kitchen with clean streams, in flat memory: blocks of days
/// are simulated one ahead of the writer, each block's events and new
/// orders appended to their files while the next block is simulated. A
/// shard writes its days' part of each table (dimension tables in the
/// first shard only, see [`RunFiles`]).
fn stream_kitchen(
    dir: OutputDir,
    loaded: &scenario::Scenario,
    scn: &KitchenScenario,
    areas: &[DeliveryArea],
    enc: Encoding,
    shard: Option<Shard>,
    progress: &Progress,
) -> Result<(PathBuf, Manifest)> {
    let simulator = Simulator::new(scn, areas, crate::limits::MAX_STREAMED_EVENTS)?;
    let empty = Dataset { scenario: scn, areas, sim: Default::default() };
    let layouts = kitchen_pieces(&empty, 0..0);
    let start = new_manifest(loaded, &scn.name, scn.seed, &scn.calendar, window(scn));
    let mut files = RunFiles::create(dir.path(), loaded, &layouts, kitchen_dimensions(&empty), &start, (enc, shard))?;
    let mut counts = Counts::new(scn.locations.len());
    let spans: Vec<_> =
        files.spans().into_iter().map(|(days, whose)| (Blocks::new(scn, &simulator, days), whose)).collect();
    let bar = progress.stage("generate", "location-days", spans.iter().map(|(b, _)| b.partitions()).sum());
    let tick = || bar.inc(1);
    for (mut blocks, whose) in spans {
        let mut fresh = blocks.simulate_next(&tick).transpose()?;
        while let Some(partitions) = fresh {
            let block = blocks.assemble(partitions);
            if whose == Days::Own {
                counts.add(&block.sim, block.new_orders.clone());
            }
            let ds = Dataset { scenario: scn, areas, sim: block.sim };
            let (pushed, following) = rayon::join(
                || files.push(&kitchen_pieces(&ds, block.new_orders.clone()), whose),
                || blocks.simulate_next(&tick).transpose(),
            );
            pushed?;
            fresh = following?;
        }
    }
    bar.finish_and_clear();
    files.finish(dir, &[], describe(loaded, areas, &counts)?)
}
