"""A PySpark (4.2+) streaming source that replays this simkit dataset as live events.

`simkit generate` writes this file next to the dataset's Parquet files. It is
the Spark counterpart of `simkit replay --stream NAME` (without `--loop`):
the same window of records per run, the same records field for field, the
same event ids. A source serves one stream of the dataset (option
``stream``; a dataset with one stream, like the ghost kitchen's ``events``,
needs none).

Usage, from a Python session started in the dataset folder (or with the
folder on sys.path)::

    import replay_source
    spark.dataSource.register(replay_source.SimkitSource)
    events = spark.readStream.format("simkit").option("speedMultiplier", "60").load()

`datasetPath` defaults to the folder this file lives in. Nothing else needs
to be installed on the workers besides pyarrow: the module registers itself
with Spark's cloudpickle to be shipped by value, so the Python workers do not
have to import it (putting the folder on PYTHONPATH works too).

Options
-------
- ``stream``: the stream to serve (the manifest's ``streams``: e.g.
  ``purchases`` of a retail dataset); required when the dataset has several.
- ``datasetPath``: the dataset folder (default: this file's folder; the
  argument of ``.load(path)`` is accepted too). A relative path is resolved
  against the driver's working directory.
- ``simulationStartDay``: an integer >= 0, below the dataset's day count
  (default 0). The day the first batch catches up to.
- ``speedMultiplier``: simulated time per wall-clock time, a finite number
  > 0 (default 60: one simulated hour per minute; 1 = real time, 86400 = one
  day per second).
- ``catchUpTo``: an RFC 3339 time, e.g. ``2024-05-01T12:30:00Z``; on the first
  batch of a new query its UTC time of day replaces now's (like
  ``simkit replay --catch-up-to``). Handy for reproducible demos and tests.

Invalid options, a folder that is not a simkit dataset, or a start day beyond
the dataset raise ValueError naming the option and what was expected.

Schema
------
A ``fields`` stream (retail, weather, ...): one column per field of its
record, in order, typed by the field's ``as`` (string and id: string; int:
bigint; float: double; decimal: decimal(12,2); bool: boolean; bool01: int,
1 or 0; time: the record's text, UTC ``YYYY-MM-DD HH:MM:SS.ffffff``; date:
``YYYY-MM-DD``), then ``event_time timestamp`` (the stream's time column).
A disordered stream (docs/disorder.md) serves its delivered table in arrival
order and ends with ``arrival_time timestamp`` instead; its event time is the
record's own field (``to_timestamp(event_time)``, ``to_timestamp(ts)``, ...).
The ghost kitchen's ``events``:
``event_id string, event_type string, ts string, location_id int,
order_id string, sequence int, body string, event_time timestamp``

The first seven columns are exactly the fields of `simkit replay`'s JSON
records (see generator/replay/record.rs for the byte-level spec): ``ts`` is
UTC ``YYYY-MM-DD HH:MM:SS.mmm``, ``body`` is the compact JSON text of the
event's payload (what parsing the record's ``body`` string gives),
``event_id`` is ``uuid5(uuid5(NAMESPACE_URL, "https://simkit.dev/event"),
"<manifest fingerprint>/<order_id>/<sequence>")``. The extra ``event_time``
is ``ts`` as a Spark timestamp, for watermarks and windows.

Semantics
---------
Offsets are simulation time: ``{"dataset": <fingerprint prefix>,
"position_ms": P, "position": "<P as text>", "wall_ms": W}``; a batch
``(start, end]`` emits the events with ``start.P <= ts < end.P``. The
dataset spans ``[start, end)``, ``start`` = manifest ``scenario.start_ms``,
``end = max(scenario.end_ms, last event ts + 1)``.

- First batch of a new query (no checkpoint): historical catch-up,
  ``P = epoch + simulationStartDay days + the UTC time of day of now (or of
  catchUpTo)``, speed ignored, capped at ``end``; ``epoch`` is UTC midnight
  of the dataset's start date (``scenario.start``), whatever the locations'
  time zones.
- Before anything is read the dataset is checked like ``simkit replay``
  checks it: the manifest against its fingerprint, every data file against
  its size and sha256.
- Every later batch: ``P = P_prev + floor((now - W_prev) * speedMultiplier)``
  (elapsed wall ms clamped at 0), capped at ``end``; ``W = now``. Spark hands
  the source the last checkpointed offset when a query restarts, so a later
  run advances by the wall time since the last checkpoint. When the
  position would not move, the previous offset is returned unchanged (no
  empty batches; the elapsed time keeps accruing).
- ``trigger(availableNow=True)`` freezes "now" at the start of the run, so a
  run emits what is due at that moment (in one batch) and stops; a
  processing-time trigger emits what became due since the last batch.
- A checkpoint belongs to one dataset: offsets carry the manifest
  fingerprint's prefix, and a checkpoint of another dataset is refused.

Exactly once: Spark's checkpoint holds the offsets; a batch that is rerun
after a failure reads the same offsets, and rows depend only on the offsets
and the (immutable) dataset, so a rerun yields the same rows with the same
event ids. With an idempotent sink (files, Delta) every event lands once.

Partitions are bounded row ranges (within one Parquet row group, at most
PARTITION_ROWS rows); each is read with pyarrow and encoded column-wise into
Arrow record batches of at most BATCH_ROWS rows.
"""

import calendar
import datetime
import hashlib
import json
import math
import os
import re
import sys
import time
import uuid

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyspark.sql.datasource import DataSource, DataSourceStreamReader, InputPartition

try:
    from pyspark.sql.streaming.datasource import SupportsTriggerAvailableNow
except ImportError as _e:  # pragma: no cover - older PySpark
    raise ImportError(
        "replay_source needs PySpark >= 4.2 (latestOffset(start, limit) and SupportsTriggerAvailableNow)"
    ) from _e

__all__ = ["SimkitSource", "SimkitReplayReader", "FORMAT_NAME", "SCHEMA_DDL"]

FORMAT_NAME = "simkit"
DAY_MS = 86_400_000
DEFAULT_SPEED = 60.0
# Rows per Spark partition (a partition never spans two Parquet row groups).
PARTITION_ROWS = 65_536
# Rows per Arrow record batch handed to Spark.
BATCH_ROWS = 16_384

SCHEMA_DDL = (
    "event_id string, event_type string, ts string, location_id int, "
    "order_id string, sequence int, body string, event_time timestamp"
)
ARROW_SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("event_type", pa.string()),
        ("ts", pa.string()),
        ("location_id", pa.int32()),
        ("order_id", pa.string()),
        ("sequence", pa.int32()),
        ("body", pa.string()),
        ("event_time", pa.timestamp("us", tz="UTC")),
    ]
)
# The events.parquet columns a record is built from.
COLUMNS = [
    "ts",
    "order_id",
    "location_id",
    "event_type",
    "sequence",
    "customer_lat",
    "customer_lon",
    "customer_addr",
    "items",
    "route",
    "lat",
    "lon",
    "progress_pct",
]
EVENT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://simkit.dev/event")

_OPTIONS = {
    "stream": "stream",
    "datasetpath": "datasetPath",
    "path": "path",
    "simulationstartday": "simulationStartDay",
    "speedmultiplier": "speedMultiplier",
    "catchupto": "catchUpTo",
}
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))",
    re.ASCII,
)


def _ship_by_value():
    """Lets Spark pickle this module's classes by value, so Python workers
    need not import it (no PYTHONPATH set-up for the dataset folder)."""
    try:
        from pyspark import cloudpickle

        cloudpickle.register_pickle_by_value(sys.modules[__name__])
    except Exception:  # pragma: no cover - then PYTHONPATH must be set
        pass


_ship_by_value()


def _now_ms():
    return time.time_ns() // 1_000_000


def ts_text(ms):
    """Epoch ms as UTC `YYYY-MM-DD HH:MM:SS.mmm`."""
    t = datetime.datetime(1970, 1, 1) + datetime.timedelta(milliseconds=ms)
    return f"{t:%Y-%m-%d %H:%M:%S}.{ms % 1000:03d}"


def utc_midnight_ms(date):
    """Epoch ms of UTC midnight of a "YYYY-MM-DD" date."""
    try:
        d = datetime.datetime.strptime(date, "%Y-%m-%d").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        raise ValueError(f"manifest.json: scenario start {date!r} is not a date") from None
    return int(d.timestamp()) * 1000


def manifest_fingerprint(manifest):
    """sha256 of the manifest's compact JSON, keys sorted at every level,
    without the fingerprint, the simkit version, the streams and the tools, as simkit
    computes it."""
    canonical = dict(manifest, fingerprint="", simkit_version="")
    canonical.pop("tools", None)
    canonical.pop("streams", None)
    text = json.dumps(canonical, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def check_integrity(path, manifest):
    """The manifest matches its fingerprint and every data file its size and sha256."""
    if manifest_fingerprint(manifest) != manifest.get("fingerprint"):
        raise ValueError(f"datasetPath={path!r}: manifest.json does not match its fingerprint: the manifest was edited")
    for name, info in manifest.get("files", {}).items():
        file = os.path.join(path, name)
        h = hashlib.sha256()
        try:
            with open(file, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
        except OSError as e:
            raise ValueError(f"datasetPath={path!r}: {name}: {e}") from None
        if h.hexdigest() != info.get("sha256"):
            raise ValueError(f"datasetPath={path!r}: {name}: its sha256 differs from manifest.json's: the file is damaged or was modified")


def parse_rfc3339_ms(text):
    """An RFC 3339 time as epoch ms (fraction truncated to ms), as `simkit
    replay --catch-up-to` reads it; ValueError if it is not one."""
    m = _RFC3339.fullmatch(text.strip()) if isinstance(text, str) else None
    bad = ValueError(
        f"catchUpTo={text!r}: expected an RFC 3339 time with a UTC offset, e.g. 2024-05-01T12:30:00Z"
    )
    if not m:
        raise bad
    y, mo, d, h, mi, s = (int(m.group(i)) for i in range(1, 7))
    frac = int((m.group(7) or "")[:3].ljust(3, "0"))
    offset_min = 0
    if m.group(9):
        oh, om = int(m.group(10)), int(m.group(11))
        if oh > 23 or om > 59:
            raise bad
        offset_min = (oh * 60 + om) * (-1 if m.group(9) == "-" else 1)
    if h > 23 or mi > 59 or s > 60:
        raise bad
    try:
        datetime.date(y, mo, d)
    except ValueError:
        raise bad from None
    leap = s == 60  # a leap second counts as the next second's first instant
    secs = calendar.timegm((y, mo, d, h, mi, min(s, 59), 0, 0, 0)) - offset_min * 60
    return secs * 1000 + frac + (1000 if leap else 0)


def _default_path():
    return os.path.dirname(os.path.abspath(__file__))


def parse_options(options):
    """Validates the options and the dataset; returns the reader's settings
    (a plain, picklable dict)."""
    given = {}
    for key, value in dict(options).items():
        name = _OPTIONS.get(key.lower())
        if name is None:
            raise ValueError(
                f"unknown option {key!r}: expected datasetPath, stream, simulationStartDay, speedMultiplier or catchUpTo"
            )
        given[name] = value
    path = given.get("datasetPath") or given.get("path")
    if given.get("datasetPath") and given.get("path") and given["datasetPath"] != given["path"]:
        raise ValueError(f"datasetPath={given['datasetPath']!r} and load({given['path']!r}): give one dataset")
    path = os.path.abspath(path) if path else _default_path()

    raw = str(given.get("simulationStartDay", "0")).strip()
    if not re.fullmatch(r"\+?[0-9]+", raw):
        raise ValueError(f"simulationStartDay={raw!r}: expected an integer >= 0 (a day of the dataset, 0-based)")
    start_day = int(raw)

    raw = str(given.get("speedMultiplier", DEFAULT_SPEED)).strip()
    try:
        speed = float(raw)
    except ValueError:
        speed = float("nan")
    if not math.isfinite(speed) or speed <= 0:
        raise ValueError(
            f"speedMultiplier={raw!r}: expected a finite number > 0 (1 = real time, 60 = 1 min per hour)"
        )

    catch_up_ms = None
    if given.get("catchUpTo") is not None:
        catch_up_ms = parse_rfc3339_ms(given["catchUpTo"])

    manifest_path = os.path.join(path, "manifest.json")
    try:
        with open(manifest_path, encoding="utf-8") as f:
            manifest = json.load(f)
        scenario = manifest["scenario"]
        fingerprint = str(manifest["fingerprint"])
        start_ms, end_ms, days = int(scenario["start_ms"]), int(scenario["end_ms"]), int(scenario["days"])
        spec = choose_stream(manifest, given.get("stream"))
        file_name = f"{spec['table']}.parquet"
        expected_bytes = int(manifest["files"][file_name]["bytes"])
        expected_rows = manifest.get("tables", {}).get(spec["table"])
    except (OSError, KeyError, TypeError) as e:
        raise ValueError(
            f"datasetPath={path!r}: not a simkit dataset (no readable manifest.json "
            f"with scenario, fingerprint, streams and their tables: {e})"
        ) from None
    table = os.path.join(path, file_name)
    try:
        size = os.path.getsize(table)
        rows = pq.ParquetFile(table).metadata.num_rows
    except (OSError, pa.ArrowException) as e:
        raise ValueError(f"datasetPath={path!r}: not a simkit dataset (unreadable {file_name}: {e})") from None
    if size != expected_bytes:
        raise ValueError(
            f"datasetPath={path!r}: {file_name} has {size} bytes, manifest.json says {expected_bytes}: "
            "the dataset was modified"
        )
    check_integrity(path, manifest)
    if expected_rows is not None and rows != int(expected_rows):
        raise ValueError(f"datasetPath={path!r}: {file_name} has {rows} rows, manifest.json says {expected_rows}")
    if rows == 0:
        raise ValueError(f"datasetPath={path!r}: stream {spec['name']!r} has no records to replay")
    if start_day >= days:
        raise ValueError(
            f"simulationStartDay={start_day}: beyond the dataset, which has days 0 ..= {days - 1}"
        )
    return {
        "path": path,
        "events": table,
        "spec": spec,
        "name": str(scenario.get("name", "")),
        "fingerprint": fingerprint,
        "start_ms": start_ms,
        "epoch_ms": utc_midnight_ms(str(scenario["start"])),
        "manifest_end_ms": end_ms,
        "days": days,
        "rows": rows,
        "start_day": start_day,
        "speed": speed,
        "catch_up_ms": catch_up_ms,
    }


# ---------------------------------------------------------------------------
# Encoding: Arrow columns in, Arrow columns out.


def _cat(*parts):
    """Element-wise string concatenation of arrays and str scalars (null if any part is null)."""
    return pc.binary_join_element_wise(*parts, "")


def _fill(arr, text="null"):
    return pc.fill_null(arr, text)


_CONTROL_ESCAPES = {0x08: "\\b", 0x0C: "\\f", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t"}


def json_escape(arr):
    """The inside of a JSON string for each value, as Python's
    json.dumps(..., ensure_ascii=False) writes it: `"`, `\\` and control
    characters (\\b \\f \\n \\r \\t, else \\u00xx) escaped, other text as is."""
    out = pc.replace_substring(arr, "\\", "\\\\")
    out = pc.replace_substring(out, '"', '\\"')
    if pc.any(pc.match_substring_regex(out, r"[\x00-\x1f]")).as_py():
        for c in range(0x20):
            ch = chr(c)
            if pc.any(pc.match_substring(out, ch)).as_py():
                out = pc.replace_substring(out, ch, _CONTROL_ESCAPES.get(c, f"\\u{c:04x}"))
    return out


def fixed(values, decimals):
    """float32 values printed with exactly `decimals` digits after the point,
    as Python's f"{x:.{decimals}f}" prints float(x) (ties to even on the
    exact binary value, `-` kept for negatives and -0.0); null for null, NaN
    and infinities.

    x * 10^decimals is exact in float64 for any float32 x (its 24-bit
    significand times 5^decimals fits in 53 bits), so rounding it half to
    even gives the exact digits q; q's unscaled decimal with scale `decimals`
    prints them. |x| >= 2^33 (never a coordinate or a percentage) goes
    through Python formatting."""
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    x = pc.cast(values, pa.float64())
    small = pc.less(pc.abs(x), 2.0**33)  # false for NaN and infinities, null for null
    all_small = pc.all(small).as_py()
    q = pc.multiply(x if all_small else pc.if_else(small, x, 0.0), float(10**decimals))
    q = pc.cast(pc.round(q, 0, round_mode="half_to_even"), pa.int64())
    dq = pc.cast(q, pa.decimal128(38, 0))
    scaled = pa.Array.from_buffers(pa.decimal128(38, decimals), len(dq), dq.buffers(), offset=dq.offset)
    text = pc.cast(scaled, pa.string())
    zero = pc.equal(q, 0)
    if pc.any(zero).as_py():  # -0.0 and small negatives print as -0.000000
        bits = values.view(pa.int32() if values.type == pa.float32() else pa.int64())
        negative_zero = pc.and_(zero, pc.less(bits, 0))
        if pc.any(negative_zero).as_py():
            text = pc.if_else(negative_zero, "-0." + "0" * decimals, text)
    if not all_small:
        text = pc.if_else(small, text, pa.scalar(None, pa.string()))
        big = pc.fill_null(pc.and_(pc.is_finite(x), pc.invert(small)), False)
        if pc.any(big).as_py():
            slow = [f"{v:.{decimals}f}" for v in pc.filter(x, big).to_pylist()]
            text = pc.replace_with_mask(text, big, pa.array(slow, pa.string()))
    return text


def _f(values, decimals):
    return _fill(fixed(values, decimals))


def _list_join(lists, element_text, open_, close):
    """Joins per-row lists of already formatted element strings:
    `open_ + e1 + "," + e2 ... + close`, or `null` for a null list.
    `element_text` holds the text of each element of lists' (sliced) values."""
    offsets = lists.offsets
    base = offsets[0].as_py()
    rel = pc.subtract(offsets, base) if base else offsets
    joined = pc.binary_join(pa.ListArray.from_arrays(rel, element_text), ",")
    return pc.if_else(lists.is_null(), "null", _cat(open_, joined, close))


def _list_values(lists):
    """The child values of a (possibly sliced) list array that its offsets cover."""
    offsets = lists.offsets
    a, b = offsets[0].as_py(), offsets[len(offsets) - 1].as_py()
    return lists.values.slice(a, b - a)


def _body_created(rb):
    items = rb.column("items")
    it = _list_values(items)
    item_text = _cat(
        '{"id":',
        pc.cast(pc.struct_field(it, "item_id"), pa.string()),
        ',"name":"',
        json_escape(pc.struct_field(it, "name")),
        '","price":',
        pc.cast(pc.struct_field(it, "price"), pa.string()),
        ',"qty":',
        pc.cast(pc.struct_field(it, "qty"), pa.string()),
        ',"brand_id":',
        pc.cast(pc.struct_field(it, "brand_id"), pa.string()),
        "}",
    )
    addr = rb.column("customer_addr")
    addr_text = _fill(_cat('"', json_escape(addr), '"'))
    return _cat(
        '{"customer_lat":',
        _f(rb.column("customer_lat"), 6),
        ',"customer_lon":',
        _f(rb.column("customer_lon"), 6),
        ',"customer_addr":',
        addr_text,
        ',"items":',
        _list_join(items, item_text, "[", "]"),
        "}",
    )


def _body_picked_up(rb):
    route = rb.column("route")
    pts = _list_values(route)
    point_text = _cat("[", _f(pc.struct_field(pts, "lat"), 6), ",", _f(pc.struct_field(pts, "lon"), 6), "]")
    return _cat('{"route_points":', _list_join(route, point_text, "[", "]"), "}")


def _body_ping(rb):
    return _cat(
        '{"progress_pct":',
        _f(rb.column("progress_pct"), 2),
        ',"loc_lat":',
        _f(rb.column("lat"), 6),
        ',"loc_lon":',
        _f(rb.column("lon"), 6),
        "}",
    )


def _body_delivered(rb):
    return _cat('{"delivered_lat":', _f(rb.column("lat"), 6), ',"delivered_lon":', _f(rb.column("lon"), 6), "}")


_BODIES = {
    "order_created": _body_created,
    "driver_picked_up": _body_picked_up,
    "driver_ping": _body_ping,
    "delivered": _body_delivered,
}


def bodies(rb, event_type):
    """The `body` text of every row: by event type, `{}` for other types."""
    out = pa.repeat("{}", rb.num_rows)
    for name, make in _BODIES.items():
        mask = pc.equal(event_type, name)
        if pc.any(mask).as_py():
            out = pc.replace_with_mask(out, mask, make(rb.filter(mask)))
    return out


# The UUID variant digit (bits 10xx) for each hex digit of the digest.
_HEX_DIGITS = pa.array(list("0123456789abcdef"))
_VARIANT_DIGITS = pa.array(list("89ab" * 4))


def event_ids(fingerprint, order_id, sequence):
    """uuid5(EVENT_NAMESPACE, f"{fingerprint}/{order_id}/{sequence}") per row,
    as canonical text. The SHA-1 state after the fixed prefix is computed
    once; each row then hashes only its own name (the one per-row Python
    step); the version and variant digits and dashes are set column-wise."""
    prefix = hashlib.sha1(EVENT_NAMESPACE.bytes)
    prefix.update(f"{fingerprint}/".encode())
    names = pc.cast(pc.binary_join_element_wise(order_id, pc.cast(sequence, pa.string()), "/"), pa.binary())
    copy = prefix.copy
    digests = []
    append = digests.append
    for name in names.to_pylist():
        h = copy()
        h.update(name)
        append(h.hexdigest())
    x = pa.array(digests, pa.string())

    def part(a, b):
        return pc.utf8_slice_codeunits(x, a, b)

    variant = pc.take(_VARIANT_DIGITS, pc.index_in(part(16, 17), value_set=_HEX_DIGITS))
    return _cat(part(0, 8), "-", part(8, 12), "-5", part(13, 16), "-", variant, part(17, 20), "-", part(20, 32))


def encode(rb, fingerprint, spec=None):
    """events.parquet rows (COLUMNS) -> output rows (ARROW_SCHEMA, its last
    column the stream's time), as one record batch."""
    spec = spec or _KITCHEN_STREAM
    ts = rb.column("ts")
    event_type = pc.cast(rb.column("event_type"), pa.string())
    order_id = pc.cast(rb.column("order_id"), pa.string())
    sequence = rb.column("sequence")
    return pa.RecordBatch.from_arrays(
        [
            event_ids(fingerprint, order_id, sequence),
            event_type,
            pc.cast(pc.cast(ts, pa.timestamp("ms")), pa.string()),  # UTC YYYY-MM-DD HH:MM:SS.mmm
            pc.cast(rb.column("location_id"), pa.int32()),
            order_id,
            pc.cast(sequence, pa.int32()),
            bodies(rb, event_type),
            pc.cast(rb.column(spec["time"]), pa.timestamp("us", tz="UTC")),
        ],
        names=ARROW_SCHEMA.names[:-1] + [time_column_name(spec)],
    )


# The ghost kitchen's one stream, for manifests without a `streams` list.
_KITCHEN_STREAM = {"name": "events", "table": "events", "time": "ts", "key": "order_id",
                   "record": "ghost_kitchen_event", "late_ms": 0}
# Spark column types of a `fields` record's values, by the field's `as`.
_FIELD_TYPES = {"string": "string", "id": "string", "int": "bigint", "float": "double",
                "decimal": "decimal(12,2)", "bool": "boolean", "bool01": "int", "time": "string", "date": "string"}


def choose_stream(manifest, name):
    """The manifest's stream called `name` (the only one when `name` is None)."""
    streams = manifest.get("streams") or [_KITCHEN_STREAM]
    names = [st["name"] for st in streams]
    if name is None:
        if len(streams) > 1:
            raise ValueError(f"stream: the dataset has {len(streams)} streams ({', '.join(names)}); choose one with .option(\"stream\", NAME)")
        return streams[0]
    for st in streams:
        if st["name"] == name:
            return st
    raise ValueError(f"stream={name!r}: the dataset has no such stream; its streams: {', '.join(names)}")


def time_column_name(spec):
    """The source's last column: the stream's time (arrival_time for a disordered stream)."""
    return "arrival_time" if spec["time"] == "arrival_time" else "event_time"


def schema_ddl(spec):
    """The source's columns for a stream: the record's fields, then its time column."""
    if spec["record"] == "ghost_kitchen_event":
        return SCHEMA_DDL.replace("event_time timestamp", f"{time_column_name(spec)} timestamp")
    cols = [f"`{f['name']}` {_FIELD_TYPES[f['as']]}" for f in spec["fields"]]
    return ", ".join(cols + [f"{time_column_name(spec)} timestamp"])


def read_columns(spec):
    """The table columns a stream's records are built from."""
    if spec["record"] == "ghost_kitchen_event":
        return COLUMNS + ([spec["time"]] if spec["time"] not in COLUMNS else [])
    cols = [f["column"] for f in spec["fields"]]
    return cols + ([spec["time"]] if spec["time"] not in cols else [])


def time_ms(col):
    """A time column (timestamp[ms] or date32) as epoch ms (int64)."""
    if pa.types.is_date32(col.type):
        return pc.multiply(pc.cast(pc.cast(col, pa.int32()), pa.int64()), DAY_MS)
    return pc.cast(col, pa.int64())


def encode_fields(rb, spec):
    """A `fields` stream's rows -> the record's fields as typed columns
    (their JSON text is what `simkit replay` writes), then event_time."""
    arrays, names = [], []
    for f in spec["fields"]:
        col, kind = rb.column(f["column"]), f["as"]
        if kind in ("string", "id"):
            out = pc.cast(col, pa.string())
        elif kind == "int":
            out = pc.cast(col, pa.int64())
        elif kind == "float":
            out = pc.cast(col, pa.float64())
        elif kind == "decimal":
            out = pc.cast(col, pa.decimal128(12, 2))
        elif kind == "bool":
            out = col
        elif kind == "bool01":
            out = pc.cast(col, pa.int32())
        elif kind == "time":  # UTC YYYY-MM-DD HH:MM:SS.ffffff
            out = pc.cast(pc.cast(col, pa.timestamp("us")), pa.string())
        else:  # date: YYYY-MM-DD
            out = pc.cast(col, pa.string())
        arrays.append(out)
        names.append(f["name"])
    ms = time_ms(rb.column(spec["time"]))
    arrays.append(pc.cast(pc.cast(ms, pa.timestamp("ms", tz="UTC")), pa.timestamp("us", tz="UTC")))
    names.append(time_column_name(spec))
    return pa.RecordBatch.from_arrays(arrays, names=names)


def read_rows(events_path, lo, hi, columns=COLUMNS):
    """Rows [lo, hi) of a streamed table (its columns), reading only the row groups that hold them."""
    pf = pq.ParquetFile(events_path)
    md = pf.metadata
    groups, at, first = [], 0, None
    for g in range(md.num_row_groups):
        n = md.row_group(g).num_rows
        if at < hi and at + n > lo:
            groups.append(g)
            first = at if first is None else first
        at += n
    if hi > at or not groups:
        raise ValueError(f"{events_path}: rows {lo}..{hi} requested, the file has {at}: the dataset changed")
    return pf.read_row_groups(groups, columns=columns).slice(lo - first, hi - lo)


# ---------------------------------------------------------------------------
# The Spark source.


class _Timeline:
    """Driver side: the stream's event times (sorted epoch ms) and the dataset's end."""

    def __init__(self, settings):
        time_col = settings["spec"]["time"]
        col = pq.read_table(settings["events"], columns=[time_col]).column(time_col)
        self.ts = time_ms(col).combine_chunks()
        n = len(self.ts)
        if n > 1 and not pc.all(pc.greater_equal(self.ts.slice(1), self.ts.slice(0, n - 1))).as_py():
            raise ValueError(f"{settings['events']}: rows are not in time order: not a simkit table")
        self.first_ms = self.ts[0].as_py()
        last = self.ts[n - 1].as_py()
        self.start_ms = settings["start_ms"]
        self.end_ms = max(settings["manifest_end_ms"], last + 1, self.start_ms + 1)
        md = pq.ParquetFile(settings["events"]).metadata
        self.group_starts = [0]
        for g in range(md.num_row_groups):
            self.group_starts.append(self.group_starts[-1] + md.row_group(g).num_rows)

    def count_before(self, pos):
        """How many events have ts < pos (the row index of the first at or after it)."""
        lo, hi = 0, len(self.ts)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.ts[mid].as_py() < pos:
                lo = mid + 1
            else:
                hi = mid
        return lo


class SimkitReplayReader(DataSourceStreamReader, SupportsTriggerAvailableNow):
    """Streams the events of a simkit dataset; see the module doc."""

    def __init__(self, settings):
        self.settings = settings
        self._cutoff_ms = None
        self._timeline = None

    def __getstate__(self):  # Spark ships the reader to executors: without the driver's cache
        state = dict(self.__dict__)
        state["_timeline"] = None
        return state

    def _tl(self):
        if self._timeline is None:
            self._timeline = _Timeline(self.settings)
        return self._timeline

    def _offset(self, pos, wall):
        return {
            "dataset": self.settings["fingerprint"][:16],
            "position_ms": int(pos),
            "position": ts_text(int(pos)),
            "wall_ms": wall,
        }

    def _check(self, offset):
        if not isinstance(offset, dict) or not isinstance(offset.get("position_ms"), int):
            raise ValueError(f"not an offset of the simkit source: {offset!r}; use a new checkpointLocation")
        fp = self.settings["fingerprint"][:16]
        if offset.get("dataset") != fp:
            raise ValueError(
                f"this checkpoint belongs to another dataset (fingerprint {offset.get('dataset')}...), "
                f"not to {self.settings['path']} ({self.settings['name']}, fingerprint {fp}...); "
                "use a new checkpointLocation"
            )
        return offset

    def initialOffset(self):
        tl = self._tl()
        return self._offset(min(tl.start_ms, tl.first_ms), None)

    def prepareForTriggerAvailableNow(self):
        self._cutoff_ms = _now_ms()

    def latestOffset(self, start, limit=None):
        """The offset due now, from `start` (the initial offset on a new
        query, else the last offset, also the checkpointed one after a restart)."""
        start = self._check(start)
        tl = self._tl()
        s = self.settings
        now = self._cutoff_ms if self._cutoff_ms is not None else _now_ms()
        if start.get("wall_ms") is None:  # the first batch: historical catch-up
            tod = (s["catch_up_ms"] if s["catch_up_ms"] is not None else now) % DAY_MS
            pos = min(s["epoch_ms"] + s["start_day"] * DAY_MS + tod, tl.end_ms)
            return self._offset(max(pos, start["position_ms"]), now)
        prev, wall = start["position_ms"], int(start["wall_ms"])
        step = math.floor(max(0, now - wall) * s["speed"])
        pos = min(prev + step, tl.end_ms) if prev < tl.end_ms else prev
        if pos <= prev:
            return start
        return self._offset(pos, now)

    def partitions(self, start, end):
        start, end = self._check(start), self._check(end)
        tl = self._tl()
        p_lo, p_hi = start["position_ms"], end["position_ms"]
        lo, hi = tl.count_before(p_lo), tl.count_before(p_hi)
        parts = []
        while lo < hi:
            g_end = next(g for g in tl.group_starts if g > lo)
            cut = min(hi, g_end, lo + PARTITION_ROWS)
            parts.append(InputPartition((lo, cut, p_lo, p_hi)))
            lo = cut
        return parts

    def read(self, partition):
        lo, hi, p_lo, p_hi = partition.value
        spec = self.settings["spec"]
        table = read_rows(self.settings["events"], lo, hi, read_columns(spec))
        ts = time_ms(table.column(spec["time"]))
        if len(ts) != hi - lo or pc.min(ts).as_py() < p_lo or pc.max(ts).as_py() >= p_hi:
            raise ValueError(
                f"{self.settings['events']}: rows {lo}..{hi} are not the planned ones: the dataset changed"
            )
        fp = self.settings["fingerprint"]
        for at in range(0, hi - lo, BATCH_ROWS):
            chunk = table.slice(at, BATCH_ROWS).combine_chunks().to_batches()
            for rb in chunk:
                yield encode(rb, fp, spec) if spec["record"] == "ghost_kitchen_event" else encode_fields(rb, spec)

    def commit(self, end):
        pass


class SimkitSource(DataSource):
    """`spark.readStream.format("simkit")`: a simkit dataset replayed as live events; see the module doc."""

    @classmethod
    def name(cls):
        return FORMAT_NAME

    def schema(self):
        # Fails early, at load(), on bad options.
        return schema_ddl(parse_options(self.options)["spec"])

    def streamReader(self, schema):
        settings = parse_options(self.options)
        spec = settings["spec"]
        want = (ARROW_SCHEMA.names[:-1] if spec["record"] == "ghost_kitchen_event" else
                [f["name"] for f in spec["fields"]]) + [time_column_name(spec)]
        names = [f.name for f in schema.fields]
        if names != want:
            raise ValueError(f"schema: the simkit source produces {schema_ddl(spec)}; got columns {names}")
        return SimkitReplayReader(settings)
