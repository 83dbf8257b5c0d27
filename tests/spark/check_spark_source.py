"""Check the PySpark streaming source shipped with every dataset
(generator/replay/replay_source.py) against `simkit replay`.

    python check_spark_source.py <simkit binary> <workdir>

Generates a 3-day dataset with the binary (small row groups, so partitions
cross them), puts replay_source.py in the dataset folder if the generator did
not, starts one local SparkSession, imports the module from the dataset
folder (sys.path only: workers get the classes by value), and checks:
  a. two availableNow runs on one checkpoint emit every due event exactly
     once: no duplicate event_id, and the ids are exactly those of the
     dataset's events with ts < the last committed offset's position; each
     later offset advanced by floor(elapsed wall ms x speed);
  b. the first run's rows equal `simkit replay --start-day 1 --catch-up-to T`
     record for record (all fields, bodies byte for byte, event_time = ts);
  c. bad options fail with a ValueError naming the option;
  d. on crafted rows real data never has (escapes, null/NaN/-0.0/tie/huge
     floats, null and empty lists), replay's record bytes equal json.dumps
     of the source's rows;
  e. a disordered kitchen stream's records (source, no Spark) equal replay's;
  f. Spark's own Parquet reader decodes events.parquet and orders.parquet
     (route points, order ids, timestamps, the orders join) like pyarrow.
Exit 0 when all checks pass, 1 on a failure, 3 when pyspark, pyarrow or Java
is missing (the caller reports a skip).
"""

import calendar
import datetime
import decimal
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import uuid

T0 = time.time()

try:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    import pyspark  # noqa: F401
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F
except ImportError as e:  # reported as a skip by tests/spark.rs
    print(f"missing: {e} (pip install pyspark==4.3.0 pyarrow)")
    sys.exit(3)
if not shutil.which("java") and not os.environ.get("JAVA_HOME"):
    print("missing: java (Spark needs Java 17 on PATH or JAVA_HOME)")
    sys.exit(3)

if len(sys.argv) != 3:
    print(__doc__)
    sys.exit(1)
SIMKIT = os.path.abspath(sys.argv[1])
WORK = os.path.abspath(sys.argv[2])
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DS = os.path.join(WORK, "ds")
SPEED = 3600
START_DAY = 1
CATCH_UP_TO = "2024-06-01T09:00:00Z"
SCHEMA = (
    "event_id string, event_type string, ts string, location_id int, "
    "order_id string, sequence int, body string, event_time timestamp"
)
RECORD_FIELDS = ["event_id", "event_type", "ts", "location_id", "order_id", "sequence", "body"]

failures = []


def check(ok, msg):
    print(("ok   " if ok else "FAIL ") + msg, flush=True)
    if not ok:
        failures.append(msg)


def run(args):
    out = subprocess.run(args, cwd=ROOT, capture_output=True, encoding="utf-8")
    if out.returncode != 0:
        print(f"{args} failed ({out.returncode}):\n{out.stdout}{out.stderr}")
        sys.exit(1)
    return out


# -- the dataset ---------------------------------------------------------------
os.makedirs(WORK, exist_ok=True)
shutil.rmtree(DS, ignore_errors=True)
run([SIMKIT, "generate", "scenarios/caspers.toml", "--days", "3", "--out", DS, "--quiet",
     "--set", "output.row_group_rows=3000"])
shipped = os.path.join(DS, "replay_source.py")
if os.path.exists(shipped):
    src = open(os.path.join(ROOT, "generator/replay/replay_source.py"), "rb").read()
    check(open(shipped, "rb").read() == src, "the generator wrote replay_source.py, identical to the repo's")
else:
    shutil.copy(os.path.join(ROOT, "generator/replay/replay_source.py"), shipped)
    print("note the generator did not write replay_source.py: copied it into the dataset")
manifest = json.load(open(os.path.join(DS, "manifest.json")))
events = pq.read_table(os.path.join(DS, "events.parquet"), columns=["ts", "order_id", "sequence"])
ev_ms = pc.cast(events.column("ts"), pa.int64()).to_pylist()
ev_order = events.column("order_id").to_pylist()
ev_seq = events.column("sequence").to_pylist()
print(f"dataset: {len(ev_ms)} events, {manifest['scenario']['days']} days, "
      f"{pq.ParquetFile(os.path.join(DS, 'events.parquet')).metadata.num_row_groups} row groups")

# -- the user's view: import from the dataset folder ---------------------------
sys.path.insert(0, DS)
import replay_source  # noqa: E402

check(os.path.dirname(os.path.abspath(replay_source.__file__)) == DS, "replay_source imported from the dataset folder")

# Source read throughput, in this process (no Spark): the whole dataset.
reader = replay_source.SimkitReplayReader(replay_source.parse_options({"datasetPath": DS}))
o0 = reader.initialOffset()
o_end = dict(o0, position_ms=reader._tl().end_ms, wall_ms=0)
t = time.perf_counter()
n_read = sum(b.num_rows for p in reader.partitions(o0, o_end) for b in reader.read(p))
dt = time.perf_counter() - t
check(n_read == len(ev_ms), f"source read (no Spark) of all {n_read} rows: {dt:.2f} s, {n_read / dt:,.0f} rows/s")

# d. Rows real data never has (quotes, backslashes and control characters in
# strings, null/NaN/infinite/-0.0/tie/huge floats, null and empty lists, a
# negative price): a copy of the dataset whose events.parquet holds only them;
# `simkit replay`'s record bytes must be json.dumps of the source's row.
EDGE = os.path.join(WORK, "edge")
shutil.rmtree(EDGE, ignore_errors=True)
shutil.copytree(DS, EDGE)
ev_schema = pq.read_schema(os.path.join(DS, "events.parquet"))
WINDOW_START = datetime.datetime.fromtimestamp(manifest["scenario"]["start_ms"] / 1000, tz=datetime.timezone.utc)
nan, inf, D = float("nan"), float("inf"), decimal.Decimal
edge_rows = [
    dict(event_type="order_created", customer_lat=-0.0, customer_lon=nan, customer_addr='1 "A" St\\ \n\x01 Crème ☃',
         items=[dict(item_id=1, brand_id=2, name='F "n" \\ C\t', price=D("-0.05"), qty=3),
                dict(item_id=7, brand_id=1, name="", price=D("8.00"), qty=1)]),
    dict(event_type="order_created", customer_lat=None, customer_lon=1e-7, customer_addr=None, items=None),
    dict(event_type="order_created", customer_lat=37.5078125, customer_lon=-122.39286, customer_addr="", items=[]),
    dict(event_type="driver_picked_up", route=[dict(lat=1.5, lon=-2.25), dict(lat=inf, lon=3e10)]),
    dict(event_type="driver_picked_up", route=None),
    dict(event_type="driver_picked_up", route=[]),
    dict(event_type="driver_ping", progress_pct=99.995, lat=-4e-7, lon=None),
    dict(event_type="delivered", lat=nan, lon=-inf),
    dict(event_type="gk_started"),
]
for i, r in enumerate(edge_rows):
    base = {f.name: None for f in ev_schema}
    base.update(ts=WINDOW_START + datetime.timedelta(seconds=i), order_id=f'Q"\\{i}',
                location_id=1, event_type_id=1, sequence=i)
    base.update(r)
    edge_rows[i] = base
pq.write_table(pa.Table.from_pylist(edge_rows, schema=ev_schema), os.path.join(EDGE, "events.parquet"),
               compression="zstd")
edge_manifest = dict(manifest, tables=dict(manifest["tables"], events=len(edge_rows)))
edge_manifest["files"] = dict(manifest["files"])
edge_events = open(os.path.join(EDGE, "events.parquet"), "rb").read()
edge_manifest["files"]["events.parquet"] = dict(manifest["files"]["events.parquet"], bytes=len(edge_events),
                                                sha256=hashlib.sha256(edge_events).hexdigest())
edge_manifest["fingerprint"] = replay_source.manifest_fingerprint(edge_manifest)
json.dump(edge_manifest, open(os.path.join(EDGE, "manifest.json"), "w"))
rust_lines = run([SIMKIT, "replay", EDGE, "--catch-up-to", "2024-01-01T23:00:00Z", "--quiet"]).stdout.splitlines()
edge_reader = replay_source.SimkitReplayReader(replay_source.parse_options({"datasetPath": EDGE}))
e0 = edge_reader.initialOffset()
e1 = dict(e0, position_ms=edge_reader._tl().end_ms, wall_ms=0)
edge_out = [row for p in edge_reader.partitions(e0, e1) for b in edge_reader.read(p) for row in b.to_pylist()]
as_json = [json.dumps({k: r[k] for k in RECORD_FIELDS}, ensure_ascii=False, separators=(",", ":")) for r in edge_out]
first_diff = next(((a, b) for a, b in zip(rust_lines, as_json) if a != b), None)
check(rust_lines == as_json and len(as_json) == len(edge_rows),
      f"{len(edge_rows)} edge rows: simkit replay's record bytes = json.dumps of the source's rows"
      + (f"; first difference: {first_diff}" if first_diff else ""))

# A disordered kitchen stream (late deliveries, duplicates, null latitudes): the
# source serves the delivered table with the records replay writes, byte for byte.
DIRTY = os.path.join(WORK, "dirty")
run([SIMKIT, "generate", "scenarios/caspers.toml", "--days", "2", "--out", DIRTY, "--quiet",
     "--set", "disorder.events.out_of_order_s=600", "--set", "disorder.events.nulls.lat=0.3",
     "--set", "disorder.events.duplicates.share=0.05", "--set", "disorder.events.duplicates.delay_s.constant.value=10"])
dirty_lines = run([SIMKIT, "replay", DIRTY, "--start-day", "1", "--catch-up-to", "2024-01-01T12:00:00Z",
                   "--quiet"]).stdout.splitlines()
dirty_reader = replay_source.SimkitReplayReader(replay_source.parse_options(
    {"datasetPath": DIRTY, "simulationStartDay": "1", "catchUpTo": "2024-01-01T12:00:00Z"}))
d0 = dirty_reader.initialOffset()
d1 = dirty_reader.latestOffset(d0)
dirty_rows = [row for p in dirty_reader.partitions(d0, d1) for b in dirty_reader.read(p) for row in b.to_pylist()]
dirty_json = [json.dumps({k: r[k] for k in RECORD_FIELDS}, ensure_ascii=False, separators=(",", ":"))
              for r in dirty_rows]
check(dirty_json == dirty_lines and len(dirty_lines) > 1000 and any('loc_lat\\":null' in l for l in dirty_lines)
      and list(dirty_rows[0])[-1] == "arrival_time",
      f"disordered kitchen stream: {len(dirty_lines)} records of the source = simkit replay's, in arrival order")

# -- Spark ---------------------------------------------------------------------
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ["PYSPARK_PYTHON"] = sys.executable  # workers: this interpreter (pyarrow)
t = time.time()
spark = SparkSession.builder.master("local[2]").config(map={
    "spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1", "spark.log.level": "ERROR",
    "spark.driver.memory": "1g", "spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "2", "spark.sql.session.timeZone": "UTC",
    "spark.sql.warehouse.dir": os.path.join(WORK, "warehouse")}).getOrCreate()
print(f"spark {spark.version} session in {time.time() - t:.1f} s")
spark.dataSource.register(replay_source.SimkitSource)

CKPT, OUT = os.path.join(WORK, "ckpt"), os.path.join(WORK, "out")
for d in (CKPT, OUT):
    shutil.rmtree(d, ignore_errors=True)


def run_once():
    t = time.time()
    (spark.readStream.format("simkit")
     .option("datasetPath", DS)
     .option("speedMultiplier", str(SPEED))
     .option("simulationStartDay", str(START_DAY))
     .option("catchUpTo", CATCH_UP_TO)
     .load()
     .writeStream.format("json").option("path", OUT).option("checkpointLocation", CKPT)
     .trigger(availableNow=True).start().awaitTermination())
    return time.time() - t


def read_out():
    df = spark.read.schema(SCHEMA).json(OUT)  # via out/_spark_metadata: committed files only
    df = df.withColumn("event_time_ms", F.unix_millis("event_time")).drop("event_time")
    return [r.asDict() for r in df.collect()]


def offsets():
    """{batch: our offset} of the checkpoint's offset log, and the committed batches."""
    log = {}
    for f in os.listdir(os.path.join(CKPT, "offsets")):
        if f.isdigit():
            log[int(f)] = json.loads(open(os.path.join(CKPT, "offsets", f)).read().splitlines()[2])
    commits = {int(f) for f in os.listdir(os.path.join(CKPT, "commits")) if f.isdigit()}
    return log, commits


def ts_ms(text):
    """Epoch ms of an ISO time (`YYYY-MM-DD HH:MM:SS.mmm` is UTC)."""
    t = datetime.datetime.fromisoformat(text)
    t = t if t.tzinfo else t.replace(tzinfo=datetime.timezone.utc)
    return calendar.timegm(t.utctimetuple()) * 1000 + t.microsecond // 1000


dt1 = run_once()
first = read_out()
log1, commits1 = offsets()
print(f"run 1: {len(first)} rows in {dt1:.1f} s, offsets {sorted(log1)}")

# b. The first run equals `simkit replay` with the same start day and catch-up time.
rdir = os.path.join(WORK, "replay-out")
shutil.rmtree(rdir, ignore_errors=True)
run([SIMKIT, "replay", DS, "--start-day", str(START_DAY), "--catch-up-to", CATCH_UP_TO,
     "--sink", f"dir:{rdir}", "--quiet"])
lines = []
for f in sorted(glob.glob(os.path.join(rdir, "events", "*.jsonl"))):
    with open(f, encoding="utf-8") as fh:
        lines.extend(fh.read().splitlines())
replayed = [json.loads(line) for line in lines]
check(len(replayed) > 1000, f"replay --start-day {START_DAY} --catch-up-to {CATCH_UP_TO}: {len(replayed)} records")
check(len(first) == len(replayed), f"run 1 emitted {len(first)} rows, simkit replay {len(replayed)}")
want = {r["event_id"]: r for r in replayed}
got = {r["event_id"]: r for r in first}
check(set(got) == set(want), "run 1 and simkit replay: the same event ids")
diff = [i for i in want if i in got and any(got[i][k] != want[i][k] for k in RECORD_FIELDS)]
check(not diff, f"run 1 and simkit replay: {len(want) - len(diff)} records equal field for field"
      + (f"; first difference: {want[diff[0]]} vs {got[diff[0]]}" if diff else ""))
body_bytes = sum(1 for i in want if i in got and got[i]["body"].encode("utf-8") == want[i]["body"].encode("utf-8"))
check(body_bytes == len(want), f"bodies byte for byte: {body_bytes} of {len(want)}")
bad_time = [r for r in first if r["event_time_ms"] != ts_ms(r["ts"])]
check(not bad_time, f"event_time = ts on all {len(first)} rows")
types = {r["event_type"] for r in first}
check(len(types) == 8, f"all {len(types)} event types present: {sorted(types)}")
pos1 = log1[max(log1)]["position_ms"]
epoch = ts_ms(manifest["scenario"]["start"] + "T00:00:00Z")  # UTC midnight of the start date
p_want = epoch + START_DAY * 86_400_000 + ts_ms(CATCH_UP_TO) % 86_400_000
check(pos1 == p_want, f"run 1 position {log1[max(log1)]['position']}: day {START_DAY} + time of day of {CATCH_UP_TO}")

# a. A second run on the same checkpoint: only the newly due events, each once.
time.sleep(1)
dt2 = run_once()
rows = read_out()
log, commits = offsets()
last = max(log)
check(last in commits, f"the last batch ({last}) is committed")
final = log[last]["position_ms"]
ids = [r["event_id"] for r in rows]
check(len(ids) == len(set(ids)), f"run 1 + run 2: {len(ids)} rows, no duplicate event_id")
fp = manifest["fingerprint"]
ns = uuid.uuid5(uuid.NAMESPACE_URL, "https://simkit.dev/event")
expect = {str(uuid.uuid5(ns, f"{fp}/{o}/{s}")) for ms, o, s in zip(ev_ms, ev_order, ev_seq) if ms < final}
check(set(ids) == expect, f"the ids are exactly the {len(expect)} events with ts < {log[last]['position']} "
      f"(run 2 added {len(rows) - len(first)} rows in {dt2:.1f} s)")
check(len(rows) > len(first), "run 2 advanced by wall time x speed")
# Every later offset: previous position + floor((wall - previous wall) x speed), capped.
end_ms = max(manifest["scenario"]["end_ms"], max(ev_ms) + 1)
steps = sorted(log)
advanced = all(
    log[b]["position_ms"] == min(log[a]["position_ms"] + (log[b]["wall_ms"] - log[a]["wall_ms"]) * SPEED, end_ms)
    for a, b in zip(steps, steps[1:])
)
check(advanced and len(steps) >= 2, f"offsets {[log[b]['position'] for b in steps]}: + elapsed wall ms x {SPEED}")

# c. Bad options: a ValueError naming the option.
bad = [
    ("speedMultiplier", "0", "speedMultiplier"),
    ("speedMultiplier", "fast", "speedMultiplier"),
    ("simulationStartDay", "-1", "simulationStartDay"),
    ("simulationStartDay", "3", "simulationStartDay=3: beyond the dataset"),
    ("catchUpTo", "09:00", "catchUpTo"),
    ("datasetPath", os.path.join(WORK, "no-such-dataset"), "not a simkit"),
    ("speed", "60", "unknown option"),
]
for key, value, expected in bad:
    msg = ""
    try:
        q = (spark.readStream.format("simkit").option("datasetPath", DS).option(key, value).load()
             .writeStream.format("noop").option("checkpointLocation", os.path.join(WORK, "ckpt-bad"))
             .trigger(availableNow=True).start())
        q.awaitTermination()
    except Exception as e:  # AnalysisException at load(), or StreamingQueryException
        msg = str(e)
    check(expected in msg and "ValueError" in msg, f"{key}={value!r} fails with ValueError: {expected}")

# d. A damaged dataset is refused before anything is read, as `simkit replay` refuses it.
damaged = os.path.join(WORK, "damaged")
shutil.copytree(DS, damaged)
with open(os.path.join(damaged, "events.parquet"), "r+b") as f:
    f.seek(os.path.getsize(f.name) // 3)
    byte = f.read(1)
    f.seek(-1, 1)
    f.write(bytes([byte[0] ^ 0x10]))
msg = ""
try:
    q = (spark.readStream.format("simkit").option("datasetPath", damaged).load()
         .writeStream.format("noop").option("checkpointLocation", os.path.join(WORK, "ckpt-damaged"))
         .trigger(availableNow=True).start())
    q.awaitTermination()
except Exception as e:
    msg = str(e)
check("sha256 differs" in msg, "a flipped bit in events.parquet is refused (sha256)")

# e. Spark's own (vectorized) Parquet reader decodes the tables: DELTA_LENGTH_BYTE_ARRAY
#    ids, BYTE_STREAM_SPLIT floats, DELTA_BINARY_PACKED timestamps, nested lists.
ev_path, orders_path = os.path.join(DS, "events.parquet"), os.path.join(DS, "orders.parquet")
ev = spark.read.parquet(ev_path)
pa_ev = pq.read_table(ev_path, columns=["ts", "order_id", "event_type", "route"])
pickups = pa_ev.filter(pc.equal(pa_ev["event_type"].cast(pa.string()), "driver_picked_up"))
route_lat = pc.struct_field(pc.list_flatten(pickups["route"]), "lat").cast(pa.float64())
row = (ev.where(F.col("event_type") == "driver_picked_up")
       .select(F.explode("route").alias("p"))
       .agg(F.count("*").alias("n"), F.sum(F.col("p.lat").cast("double")).alias("lat_sum")).first())
check(row["n"] == len(route_lat) and abs(row["lat_sum"] - pc.sum(route_lat).as_py()) < 1e-6 * len(route_lat),
      f"Spark reads {row['n']} route points (pyarrow: {len(route_lat)}) with the same coordinate sum")
ids = sorted(r[0] for r in ev.select("order_id").distinct().collect())
check(ids == sorted(set(pa_ev["order_id"].to_pylist())), f"Spark reads the {len(ids)} order ids of events.parquet")
ts_max = ev.agg(F.max(F.unix_millis("ts"))).first()[0]
check(ts_max == pc.max(pa_ev["ts"]).value, "Spark reads the events' timestamps (max ts matches)")
joined = (ev.where(F.col("event_type") == "order_created")
          .join(spark.read.parquet(orders_path), "order_id").count())
check(joined == pq.ParquetFile(orders_path).metadata.num_rows, f"every order_created event joins its order in Spark ({joined})")

# f. Every kind: a stream of a retail and of a weather dataset, through the
#    source's `stream` option, equals `simkit replay --stream` field for field.
def kind_stream(scenario, stream, days, catch_up_to):
    ds = os.path.join(WORK, f"kind-{stream}")
    shutil.rmtree(ds, ignore_errors=True)
    run([SIMKIT, "generate", scenario, "--days", str(days), "--out", ds, "--quiet", "--set", "output.row_group_rows=500"])
    out, ck, rd = (os.path.join(WORK, f"kind-{stream}-{x}") for x in ("out", "ckpt", "replay"))
    for d in (out, ck, rd):
        shutil.rmtree(d, ignore_errors=True)
    df = (spark.readStream.format("simkit").option("datasetPath", ds).option("stream", stream)
          .option("simulationStartDay", str(days - 1)).option("catchUpTo", catch_up_to).load())
    names = [f.name for f in df.schema.fields]
    df.writeStream.format("parquet").option("path", out).option("checkpointLocation", ck) \
        .trigger(availableNow=True).start().awaitTermination()
    rows = [r.asDict() for r in spark.read.parquet(out).collect()]
    run([SIMKIT, "replay", ds, "--stream", stream, "--start-day", str(days - 1), "--catch-up-to", catch_up_to,
         "--sink", f"dir:{rd}", "--quiet"])
    want = []
    for f in sorted(glob.glob(os.path.join(rd, stream, "*.jsonl"))):
        want.extend(json.loads(line, parse_float=decimal.Decimal) for line in open(f, encoding="utf-8"))
    fields = names[:-1]
    check(names[-1] == "event_time" and fields == list(want[0]) if want else False,
          f"{stream}: the source's columns are the record's fields, then event_time ({len(fields)} fields)")

    def key(r):
        return tuple(str(r[k]) for k in fields)

    def norm(r):  # Spark's values as the record's JSON values
        return {k: (decimal.Decimal(repr(v)) if isinstance(v, float) else v) for k, v in r.items() if k in fields}
    got = sorted((norm(r) for r in rows), key=key)
    want = sorted(want, key=key)
    check(len(want) > 10 and got == want,
          f"{stream}: {len(got)} Spark rows equal simkit replay's {len(want)} records field for field")
    msg = ""
    try:
        spark.readStream.format("simkit").option("datasetPath", ds).load()
    except Exception as e:
        msg = str(e)
    return msg


kind_stream("scenarios/weather.toml", "reports", 40, "2000-01-01T00:00:00Z")
kind_stream("scenarios/clickstream.toml", "clicks", 2, "2024-01-01T06:00:00Z")
msg = kind_stream("scenarios/smoothie.toml", "purchases", 3, "2024-01-01T15:00:00Z")
check("choose one with .option" in msg, "a retail dataset without `stream` fails naming its streams")

spark.stop()
print(f"{'FAILED' if failures else 'passed'}: {len(failures)} failures; total {time.time() - T0:.1f} s")
sys.exit(1 if failures else 0)
