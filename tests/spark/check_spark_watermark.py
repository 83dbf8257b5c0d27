"""Spark Structured Streaming's windowed count with a watermark, over a
disordered stream replayed by the source shipped with the dataset, against
the dataset's answer key (docs/disorder.md).

    python check_spark_watermark.py <simkit binary> <workdir>

Generates 2 days of scenarios/clickstream.toml (its `events` stream is
disordered), then runs, in update mode, micro-batch after micro-batch
(a catch-up batch, then about 5 simulated minutes of arrivals each):

    events.withColumn("t", to_timestamp("event_time")).withWatermark("t", "5 minutes")
          .groupBy(window("t", "1 minute")).count()

and checks:
  a. each batch's watermark in the checkpoint's offset log is the largest
     event time of the batches before it minus 5 minutes (the batches are the
     slices of events_delivered between the logged offsets), and Spark's final
     count of every window is the documented definition applied per batch:
     a delivery of batch k is dropped when its window ends at or before the
     watermark of batch k - 1 (Spark filters late rows with the previous
     batch's watermark);
  b. for every window all of whose deliveries Spark was given, truth's
     count_seen <= Spark's count <= count_seen + dropped
     (truth/watermarks.parquet, delay_s 300, size_s 60, all records);
  c. Spark dropped deliveries (the watermark mattered).
Exit 0 when all pass, 1 on a failure, 3 when pyspark, pyarrow or Java is missing.
"""

import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter

try:
    import pyarrow.parquet as pq
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F
except ImportError as e:
    print(f"missing: {e} (pip install pyspark==4.3.0 pyarrow)")
    sys.exit(3)
if not shutil.which("java") and not os.environ.get("JAVA_HOME"):
    print("missing: java (Spark needs Java 17 on PATH or JAVA_HOME)")
    sys.exit(3)

SIMKIT, WORK = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DS, CKPT = os.path.join(WORK, "clicks"), os.path.join(WORK, "wm-ckpt")
DELAY_MS, SIZE_MS, BATCHES = 300_000, 60_000, 10
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


subprocess.run([SIMKIT, "generate", os.path.join(ROOT, "scenarios/clickstream.toml"), "--days", "2",
                "--out", DS, "-q"], check=True)
delivered = pq.read_table(os.path.join(DS, "events_delivered.parquet"), columns=["event_time", "arrival_time"])
event_ms = [round(t.timestamp() * 1000) for t in delivered.column("event_time").to_pylist()]
arrival_ms = [round(t.timestamp() * 1000) for t in delivered.column("arrival_time").to_pylist()]

sys.path.insert(0, DS)
import replay_source  # noqa: E402  (the copy written beside the data)

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ["PYSPARK_PYTHON"] = sys.executable
spark = SparkSession.builder.master("local[2]").config(map={
    "spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1", "spark.log.level": "ERROR",
    "spark.driver.memory": "1g", "spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "2", "spark.sql.session.timeZone": "UTC"}).getOrCreate()
spark.dataSource.register(replay_source.SimkitSource)

updates = {}  # batch id -> [(window start ms, count)]


def collect(df, batch_id):
    rows = df.select(F.unix_millis("window.start").alias("start"), "count").collect()
    updates[batch_id] = [(r["start"], r["count"]) for r in rows]


events = (spark.readStream.format("simkit").option("datasetPath", DS).option("stream", "events")
          .option("simulationStartDay", "1").option("catchUpTo", "2024-01-01T06:00:00Z")
          .option("speedMultiplier", "150").load())
counts = (events.withColumn("t", F.to_timestamp("event_time")).withWatermark("t", "5 minutes")
          .groupBy(F.window("t", "1 minute")).count())
query = (counts.writeStream.outputMode("update").foreachBatch(collect).option("checkpointLocation", CKPT)
         .trigger(processingTime="2 seconds").start())


def committed():
    return sorted(int(f) for f in os.listdir(os.path.join(CKPT, "commits")) if f.isdigit())


deadline_batches = BATCHES
while len(committed()) < deadline_batches:
    if query.exception():
        break
    time.sleep(0.5)
query.stop()
check(query.exception() is None, f"the query ran {len(committed())} micro-batches")
batches = committed()
ends, logged = [], []
for b in batches:
    lines = open(os.path.join(CKPT, "offsets", str(b))).read().splitlines()
    logged.append(json.loads(lines[1])["batchWatermarkMs"])
    ends.append(json.loads(lines[2])["position_ms"])

# a. The definition at micro-batch boundaries.
final = {}
for b in batches:
    for start, n in updates.get(b, []):
        final[start] = n
seen_all = [i for i, a in enumerate(arrival_ms) if a < ends[-1]]
# The watermark of batch k: the largest event time of batches 0 .. k-1 minus the delay (0 before any).
best, computed, i = None, [], 0
for end in ends:
    computed.append(0 if best is None else max(best - DELAY_MS, 0))
    while i < len(seen_all) and arrival_ms[seen_all[i]] < end:
        best = event_ms[seen_all[i]] if best is None else max(best, event_ms[seen_all[i]])
        i += 1
check(computed == logged, f"the logged batch watermarks {logged} follow from the batches' event times")
expected, spark_dropped, batch = Counter(), 0, 0
for i in seen_all:
    while arrival_ms[i] >= ends[batch]:
        batch += 1
    start = event_ms[i] // SIZE_MS * SIZE_MS
    late_mark = computed[batch - 1] if batch > 0 else 0
    if late_mark > 0 and start + SIZE_MS <= late_mark:
        spark_dropped += 1
    else:
        expected[start] += 1
check(dict(expected) == final,
      f"{len(final)} windows over {len(seen_all)} deliveries in {len(batches)} batches: Spark's counts follow "
      f"the definition at batch boundaries" + ("" if dict(expected) == final else
      f"; first difference {next(((k, expected.get(k), final.get(k)) for k in sorted(set(expected) | set(final)) if expected.get(k) != final.get(k)), None)}"))

# b. Between the per-record truth and all deliveries.
truth = [r for r in pq.read_table(os.path.join(DS, "truth/watermarks.parquet")).to_pylist()
         if r["stream"] == "events" and r["delay_s"] == 300 and r["size_s"] == 60 and r["key_field"] is None]
last_arrival = {}
for e, a in zip(event_ms, arrival_ms):
    w = e // SIZE_MS * SIZE_MS
    last_arrival[w] = max(last_arrival.get(w, a), a)
complete = [r for r in truth if last_arrival[round(r["window_start"].timestamp() * 1000)] < ends[-1]]
bounded = [r for r in complete
           if r["count_seen"] <= final.get(round(r["window_start"].timestamp() * 1000), 0)
           <= r["count_seen"] + r["dropped"]]
check(len(bounded) == len(complete) and len(complete) > 1000,
      f"{len(complete)} complete windows: count_seen <= Spark's count <= count_seen + dropped")
truth_dropped = sum(r["dropped"] for r in complete)

# c. The watermark mattered.
check(spark_dropped > 0, f"Spark dropped {spark_dropped} late deliveries (the per-record truth drops {truth_dropped})")

spark.stop()
print(f"passed: {len(failures)} failures" if not failures else f"FAILED: {len(failures)} failures")
sys.exit(1 if failures else 0)
