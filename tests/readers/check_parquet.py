"""Open a simkit dataset with real readers (pyarrow and DuckDB) and check
that every column has the intended logical type and the data agrees with
manifest.json. Exit 0 when all checks pass, 1 with a message otherwise,
3 when pyarrow or duckdb is not installed."""
import json
import sys

try:
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq
except ImportError as e:
    print(f"missing reader: {e}")
    sys.exit(3)

d = sys.argv[1]
manifest = json.load(open(f"{d}/manifest.json"))
problems = []


def expect(ok, msg):
    if not ok:
        problems.append(msg)


point = pa.struct([pa.field("lat", pa.float32(), False), pa.field("lon", pa.float32(), False)])
ev = pq.read_schema(f"{d}/events.parquet")
want = {
    "ts": pa.timestamp("ms", tz="UTC"),
    "order_id": pa.string(),
    "location_id": pa.int8(),
    "event_type_id": pa.int8(),
    "event_type": pa.dictionary(pa.int8(), pa.string()),
    "sequence": pa.int16(),
    "customer_lat": pa.float32(),
    "customer_lon": pa.float32(),
    "customer_addr": pa.string(),
    "lat": pa.float32(),
    "lon": pa.float32(),
    "progress_pct": pa.float32(),
}
for name, t in want.items():
    expect(ev.field(name).type == t, f"events.{name}: {ev.field(name).type} != {t}")
route = ev.field("route").type
expect(pa.types.is_list(route) and route.value_type == point, f"events.route: {route}")
items = ev.field("items").type
expect(pa.types.is_list(items), f"events.items: {items}")
item = items.value_type
expect(item.field("price").type == pa.decimal128(12, 2), f"items.price: {item.field('price').type}")
expect(item.field("item_id").type == pa.int16() and item.field("qty").type == pa.int8(), f"items: {item}")

meta = pq.ParquetFile(f"{d}/events.parquet").metadata
codecs = {meta.row_group(0).column(i).compression for i in range(meta.num_columns)}
expect(codecs == {"ZSTD"}, f"compression {codecs}")
expect(meta.num_rows == manifest["tables"]["events"], "row count")

orders = pq.read_schema(f"{d}/orders.parquet")
expect(orders.field("total").type == pa.decimal128(12, 2), f"orders.total: {orders.field('total').type}")
expect(orders.field("created_at").type == pa.timestamp("ms", tz="UTC"), "orders.created_at")
expect(orders.field("brand_ids").type == pa.list_(pa.field("element", pa.int8(), False)), f"orders.brand_ids: {orders.field('brand_ids').type}")

con = duckdb.connect()
con.execute("SET TimeZone = 'UTC'")
types = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM '{d}/events.parquet'").fetchall()}
expect(types["ts"] == "TIMESTAMP WITH TIME ZONE", f"duckdb ts: {types['ts']}")
expect(types["route"] == "STRUCT(lat FLOAT, lon FLOAT)[]", f"duckdb route: {types['route']}")
expect(types["location_id"] == "TINYINT" and types["sequence"] == "SMALLINT", "duckdb ints")
per_type = dict(con.execute(f"SELECT event_type, count(*) FROM '{d}/events.parquet' GROUP BY 1").fetchall())
expect(per_type == manifest["event_types"], f"per-type counts {per_type} != {manifest['event_types']}")
# Money adds up exactly: each order's total equals the sum of price * qty of its items.
bad = con.execute(f"""
    WITH lines AS (
      SELECT order_id, sum(i.price * i.qty) AS total
      FROM (SELECT order_id, unnest(items) AS i FROM '{d}/events.parquet' WHERE event_type = 'order_created')
      GROUP BY 1)
    SELECT count(*) FROM lines JOIN '{d}/orders.parquet' o USING (order_id) WHERE lines.total <> o.total""").fetchone()[0]
expect(bad == 0, f"{bad} orders whose total differs from their items")
# Instants are UTC epoch milliseconds: the first order is created inside day 0.
first = con.execute(f"SELECT epoch_ms(min(ts)) FROM '{d}/events.parquet'").fetchone()[0]
start = manifest["scenario"]["start_ms"]
expect(start <= first < start + 86_400_000, f"first event at {first} ms, day 0 starts at {start}")
expect(con.execute(f"SELECT count(*) FROM '{d}/locations.parquet'").fetchone()[0] == manifest["tables"]["locations"], "locations")
# Each kitchen's IANA time zone, as the manifest lists it.
zones = dict(con.execute(f"SELECT location_code, timezone FROM '{d}/locations.parquet'").fetchall())
expect(zones == {l["code"]: l["timezone"] for l in manifest["locations"]}, f"locations.timezone: {zones}")
expect(pq.read_schema(f"{d}/locations.parquet").field("timezone").type == pa.string(), "locations.timezone is a string")
# Local lunch: San Francisco's busiest lunch hour on its own clock is 12:00 (PST, UTC-8).
lunch = con.execute(f"""
    SELECT hour(timezone('America/Los_Angeles', created_at)) AS h, count(*) AS n
    FROM '{d}/orders.parquet' WHERE location_id = 1 AND h BETWEEN 10 AND 14 GROUP BY 1 ORDER BY n DESC LIMIT 1""").fetchone()
expect(lunch is not None and lunch[0] == 12, f"San Francisco's busiest lunch hour in local time: {lunch}")

if problems:
    print("\n".join(problems))
    sys.exit(1)
print(f"ok: pyarrow {pa.__version__} and duckdb {duckdb.__version__} read {d} with the intended types")
