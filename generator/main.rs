//! The `simkit` command line: parses arguments into validated options and
//! calls the library. Every error is printed as `simkit: <message>` and exits 2.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::builder::PossibleValuesParser;
use clap::{Args, Parser, Subcommand};

use simkit::error::{Error, Result, EXIT_ERROR};
use simkit::kinds::{authoring, KINDS};
use simkit::{generate, report, scenario, summary, verify};

/// glibc's malloc gives blocks above its mmap threshold back to the kernel
/// on free and trims the heap eagerly, so every row group's large buffers
/// would be faulted in afresh: fixing the threshold (blocks up to 1 MiB
/// from the heap, larger ones mapped and unmapped whole) and trimming only
/// above 64 MiB of free heap keeps the page faults of a run low and its
/// memory flat over a long run (heap holes of freed row-group buffers
/// would grow it). glibc's own `GLIBC_TUNABLES`, when set, decide instead.
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("GLIBC_TUNABLES").is_none() {
        // SAFETY: mallopt only sets allocator parameters; called before any other thread exists.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
            libc::mallopt(libc::M_TRIM_THRESHOLD, 64 << 20);
        }
    }
}

#[derive(Parser)]
#[command(name = "simkit", version, about = "Deterministic synthetic event datasets: generate, verify, replay")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate a dataset from a scenario file (default output: outputs/<scenario name>/).
    Generate(GenerateArgs),
    /// Re-read a dataset and check it against its manifest (and a golden file).
    Verify(VerifyArgs),
    /// Assemble the shards of one run (`generate --shard i/N`) into one dataset.
    Merge {
        /// The shard directories, in any order.
        #[arg(required = true)]
        shards: Vec<PathBuf>,
        /// The dataset directory to write (only a simkit dataset or an empty directory is replaced).
        #[arg(long)]
        out: PathBuf,
        /// Nothing on success.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Road network tools: inspect an extract, fetch extracts from Overpass.
    #[command(subcommand)]
    Roads(RoadsCommand),
    /// Stream a dataset's events as JSON lines at any speed, resumable and exactly once into files.
    Replay(ReplayArgs),
    /// Check a scenario file without generating: every problem at once, with file:line:col.
    Validate(ValidateArgs),
    /// Before generating: a scenario's expected totals and the curves it defines, as sparklines.
    Preview {
        #[command(flatten)]
        scenario: ValidateArgs,
        /// Also print the first N records of each stream of a one-day run.
        #[arg(long, value_name = "N")]
        sample: Option<usize>,
    },
    /// Draw a dataset: DATASET/report/index.html with charts and maps, and the headline numbers.
    Report {
        /// The dataset directory.
        dataset: PathBuf,
        /// Nothing on success.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Write a fully commented starter scenario of a kind (never overwrites a file).
    New {
        /// The scenario kind.
        #[arg(value_parser = PossibleValuesParser::new(KINDS.iter().map(|k| k.name)))]
        kind: String,
        /// The file to write, NAME.toml (NAME becomes the scenario's name).
        file: PathBuf,
    },
    /// Print the JSON Schema (draft 2020-12) of scenario files, for editors.
    Schema {
        /// Only this kind's files (default: every kind, chosen by the file's `kind`).
        #[arg(long, value_parser = PossibleValuesParser::new(KINDS.iter().map(|k| k.name)))]
        kind: Option<String>,
    },
}

#[derive(Args)]
struct ValidateArgs {
    /// The scenario TOML file.
    scenario: PathBuf,
    /// Override a scenario key: KEY=VALUE (repeatable), checked as `generate` would.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Multiply every volume (orders, transactions, users, stations ...) by K, after the sets.
    #[arg(long, value_name = "K", allow_hyphen_values = true)]
    scale: Option<f64>,
}

#[derive(Args)]
struct GenerateArgs {
    /// The scenario TOML file.
    scenario: PathBuf,
    /// Generate only the first N days (equal to the first N days of the full run).
    #[arg(long)]
    days: Option<u32>,
    /// Worker threads (default: all cores; at most 256). Output is identical for any value.
    #[arg(long)]
    threads: Option<usize>,
    /// Output directory (default: outputs/<scenario name>). Only a simkit dataset or an
    /// empty directory there is replaced.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Road extract for one location: CODE=PATH (repeatable). Its graph and tree are
    /// cached in $SIMKIT_CACHE_DIR (default ~/.cache/simkit; `off` for none).
    #[arg(long, value_name = "CODE=PATH")]
    osm: Vec<String>,
    /// Override a scenario key: KEY=VALUE, e.g. seed=7 or locations.sv.base_orders_per_day=80 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Multiply every volume (orders, transactions, users, stations ...) by K, after the sets.
    #[arg(long, value_name = "K", allow_hyphen_values = true)]
    scale: Option<f64>,
    /// Write only shard i of N (1 <= i <= N): its whole days' part of each table,
    /// for `simkit merge` (any kind).
    #[arg(long, value_name = "i/N")]
    shard: Option<String>,
    /// Fail instead of falling back to a synthetic street network.
    #[arg(long)]
    require_osm: bool,
    /// Nothing on success: no progress bars, warnings or summary.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Args)]
struct VerifyArgs {
    /// The dataset directory.
    dir: PathBuf,
    /// Compare the manifest's fingerprints with this golden file.
    #[arg(long)]
    golden: Option<PathBuf>,
    /// Write the dataset's fingerprints to this golden file (after verifying).
    #[arg(long, conflicts_with = "golden")]
    write_golden: Option<PathBuf>,
}

fn parse_property(s: &str) -> std::result::Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("`{s}`: expected KEY=VALUE, e.g. security.protocol=SASL_SSL")),
    }
}

#[derive(Args)]
struct ReplayArgs {
    /// The dataset directory (written by `simkit generate`).
    dataset: PathBuf,
    /// First run: catch up to this day (0-based, default 0) plus the UTC time of day.
    #[arg(long)]
    start_day: Option<u32>,
    /// Simulated time per wall-clock time: 1 = real time, 60 = 1 min per hour, 86400 = 1 day per second.
    #[arg(long, default_value_t = 60.0, allow_hyphen_values = true)]
    speed: f64,
    /// Directory of the checkpoint (without it every run is a first run).
    #[arg(long, value_name = "DIR")]
    checkpoint: Option<PathBuf>,
    /// Where records go: `stdout`, `dir:PATH` (a folder per stream, one file per micro-batch, exactly once) or
    /// `kafka://HOST:PORT/TOPIC` (key = the stream's key, timestamp = event time, exactly once; a topic with
    /// `{stream}`, e.g. demo.{stream}, sends each stream to its own topic).
    #[arg(long, default_value = "stdout", value_name = "stdout|dir:PATH|kafka://HOST:PORT/TOPIC")]
    sink: String,
    /// Replay only this stream (default: every stream of the dataset, merged by event time).
    #[arg(long, value_name = "NAME")]
    stream: Option<String>,
    /// Record format: `json`, or `protobuf` for streams that ship a .proto (length-delimited in files).
    #[arg(long, default_value = "json", value_parser = ["json", "protobuf"])]
    format: String,
    /// A librdkafka property for a kafka:// sink, e.g. -X security.protocol=SASL_SSL (repeatable).
    #[arg(short = 'X', value_name = "KEY=VALUE", value_parser = parse_property)]
    property: Vec<(String, String)>,
    /// Emit what is due, commit, exit (the default).
    #[arg(long)]
    available_now: bool,
    /// Keep running, releasing each event at its wall-clock moment, until the dataset ends or SIGINT/SIGTERM.
    #[arg(long)]
    follow: bool,
    /// Past the dataset's end, start over (timestamps shifted by the dataset length, order ids suffixed -LAP).
    #[arg(long = "loop")]
    looping: bool,
    /// First run: use this RFC 3339 time's UTC time of day instead of now's.
    #[arg(long, value_name = "RFC3339")]
    catch_up_to: Option<String>,
    /// Threads for catch-up encoding (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// No status lines on stderr.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Subcommand)]
enum RoadsCommand {
    /// Summarise an OSM extract's drive network, optionally around a point.
    Inspect {
        /// An .osm.pbf or .osm file.
        extract: PathBuf,
        /// Centre as LAT,LON.
        #[arg(long, value_name = "LAT,LON", allow_hyphen_values = true)]
        center: Option<String>,
        /// Delivery radius around the centre, in metres (as `delivery_radius_m` in a scenario).
        #[arg(long, default_value_t = 6437.376)]
        radius_m: f64,
    },
    /// Download each location's drive network from an Overpass API into data/osm/<code>.osm.
    Fetch {
        scenario: PathBuf,
        #[arg(long, default_value = simkit::roads::fetch::DEFAULT_OVERPASS_URL)]
        overpass_url: String,
        /// Only these location codes (repeatable).
        #[arg(long = "location")]
        locations: Vec<String>,
        /// Directory to write into (default: data/osm).
        #[arg(long, default_value = "data/osm")]
        out_dir: PathBuf,
    },
}

fn parse_osm(arg: &str) -> Result<(String, PathBuf)> {
    match arg.split_once('=') {
        Some((code, path)) if !code.is_empty() && !path.is_empty() => Ok((code.to_string(), PathBuf::from(path))),
        _ => Err(Error(format!("--osm {arg}: expected CODE=PATH, e.g. sf=extracts/sf.osm.pbf"))),
    }
}

/// Sizes the global thread pool: `--threads`, capped (with a warning).
fn set_threads(requested: Option<usize>, quiet: bool) -> Result<()> {
    if requested == Some(0) {
        return Err(Error("--threads 0: expected at least 1 thread".into()));
    }
    let (n, warning) = simkit::limits::threads(requested);
    if let (Some(w), false) = (warning, quiet) {
        eprintln!("warning: {w}");
    }
    rayon::ThreadPoolBuilder::new().num_threads(n).build_global().map_err(|e| Error(format!("--threads {n}: {e}")))
}

/// SIGINT or SIGTERM during `generate`: remove the partial output, exit 128 + signal.
fn remove_partial_output_on_signal() -> Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals =
        signal_hook::iterator::Signals::new([SIGINT, SIGTERM]).map_err(|e| Error(format!("signal handler: {e}")))?;
    std::thread::spawn(move || {
        if let Some(sig) = signals.forever().next() {
            use simkit::sinks::output::{remove_partial_outputs, Interrupted};
            match remove_partial_outputs() {
                Interrupted::Removed => {
                    eprintln!("simkit: interrupted: the partial output was removed, nothing was replaced")
                }
                Interrupted::NothingPending => eprintln!("simkit: interrupted"),
            }
            std::process::exit(128 + sig);
        }
    });
    Ok(())
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Generate(a) => {
            set_threads(a.threads, a.quiet)?;
            remove_partial_output_on_signal()?;
            let opts = generate::Options {
                scenario: a.scenario,
                sets: a.sets,
                scale: a.scale,
                days: a.days,
                out: a.out,
                osm: a.osm.iter().map(|s| parse_osm(s)).collect::<Result<_>>()?,
                require_osm: a.require_osm,
                quiet: a.quiet,
                data_dir: PathBuf::from("."),
                shard: a.shard.as_deref().map(generate::Shard::parse).transpose()?,
            };
            let summary = generate::run(&opts)?;
            if !a.quiet {
                print!("{}", summary::generate_summary(&summary));
            }
            Ok(())
        }
        Command::Merge { shards, out, quiet } => {
            remove_partial_output_on_signal()?;
            let m = simkit::merge::merge(&shards, &out)?;
            if !quiet {
                let streamed = simkit::kinds::lookup(&m.scenario.kind)?.streamed.iter();
                let rows: Vec<String> =
                    streamed.map(|(t, _)| format!("{} {t}", m.tables.get(*t).copied().unwrap_or(0))).collect();
                println!("{}: {} shards merged: {}", out.display(), shards.len(), rows.join(", "));
            }
            Ok(())
        }
        Command::Verify(a) => {
            let report = verify::verify(&a.dir, a.golden.as_deref())?;
            if let Some(path) = a.write_golden {
                verify::write_golden(&report.manifest, &path)?;
            }
            print!("{}", report.text);
            Ok(())
        }
        Command::Roads(RoadsCommand::Inspect { extract, center, radius_m }) => {
            let center = center.as_deref().map(summary::parse_center).transpose()?;
            print!("{}", summary::inspect_roads(&extract, center, radius_m)?);
            Ok(())
        }
        Command::Roads(RoadsCommand::Fetch { scenario, overpass_url, locations, out_dir }) => {
            print!("{}", summary::fetch_roads(&scenario, &overpass_url, &locations, &out_dir)?);
            Ok(())
        }
        Command::Replay(a) => {
            let opts = simkit::replay::Options {
                dataset: a.dataset,
                start_day: a.start_day,
                speed: a.speed,
                checkpoint: a.checkpoint,
                sink: a.sink,
                kafka_props: a.property,
                available_now: a.available_now,
                follow: a.follow,
                looping: a.looping,
                catch_up_to: a.catch_up_to,
                quiet: a.quiet,
                threads: a.threads,
                stream: a.stream,
                format: simkit::replay::WireFormat::parse(&a.format)?,
            };
            simkit::replay::run(&opts).map(|_| ())
        }
        Command::Validate(a) => {
            let loaded = scenario::load(&a.scenario, &scenario::Overrides { sets: a.sets, scale: a.scale })?;
            let kind = loaded.model.kind().name;
            println!("{}: ok — kind {kind}: {}", a.scenario.display(), loaded.model.summary());
            if !loaded.disorder.is_empty() {
                println!("  {}", loaded.disorder.summary());
            }
            Ok(())
        }
        Command::Preview { scenario: a, sample } => {
            let loaded = scenario::load(&a.scenario, &scenario::Overrides { sets: a.sets.clone(), scale: a.scale })?;
            print!("{}", simkit::preview::preview(&loaded.model));
            if let Some(n) = sample {
                let opts = generate::Options {
                    scenario: a.scenario,
                    sets: a.sets,
                    scale: a.scale,
                    data_dir: PathBuf::from("."),
                    ..Default::default()
                };
                print!("{}", simkit::preview::sample(&opts, 1, n)?);
            }
            Ok(())
        }
        Command::Report { dataset, quiet } => {
            let (dir, r) = report::write(&dataset)?;
            if !quiet {
                print!("{}", report::headline_table(&r));
                println!("{} figures -> {}", r.figures.len(), dir.join("index.html").display());
            }
            Ok(())
        }
        Command::New { kind, file } => {
            for path in authoring::new_scenario(&kind, &file)? {
                println!("wrote {}", path.display());
            }
            println!("generate it with: simkit generate {}", file.display());
            Ok(())
        }
        Command::Schema { kind } => {
            let schema = authoring::schema(kind.as_deref())?;
            println!("{}", serde_json::to_string_pretty(&schema).map_err(|e| Error(e.to_string()))?);
            Ok(())
        }
    }
}

/// A panic is a bug in simkit, never the input's fault: say so in one line.
fn report_panics_as_bugs() {
    std::panic::set_hook(Box::new(|info| {
        if simkit::error::panic_is_expected() {
            return; // a decoder's panic on bad input, reported as that input's error
        }
        eprintln!("simkit: internal error (a bug in simkit, please report it): {info}");
        if std::env::var_os("RUST_BACKTRACE").is_some() {
            eprintln!("{}", std::backtrace::Backtrace::force_capture());
        }
    }));
}

fn main() -> ExitCode {
    tune_allocator();
    report_panics_as_bugs();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("simkit: {e}");
            ExitCode::from(EXIT_ERROR as u8)
        }
    }
}
