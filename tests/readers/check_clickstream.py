"""A clickstream dataset read by pyarrow and DuckDB: the tables' fields with
their types, and the impressions/clicks join within the bound computed in
SQL: every genuine click matches exactly one earlier impression within
max_click_delay_ms, no orphan click matches any, and the counts agree with
the manifest.

    python check_clickstream.py DATASET_DIR
"""

import json
import sys

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

TS = pa.timestamp("ms", tz="UTC")


def main():
    d = sys.argv[1]
    manifest = json.load(open(f"{d}/manifest.json"))
    want = {
        "events": [("event_id", pa.string()), ("session_id", pa.string()), ("user_id", pa.string()),
                   ("event_type", pa.string()), ("value", pa.decimal128(12, 2)), ("event_time", TS)],
        "impressions": [("impression_id", pa.string()), ("ad_id", pa.string()), ("user_id", pa.string()),
                        ("impression_time", TS)],
        "clicks": [("click_id", pa.string()), ("impression_id", pa.string()), ("click_time", TS),
                   ("orphan", pa.bool_())],
    }
    for table, fields in want.items():
        t = pq.read_table(f"{d}/{table}.parquet")
        assert [(f.name, f.type) for f in t.schema] == fields, (table, t.schema)
        assert t.num_rows == manifest["tables"][table], table
    bound = manifest["model"]["max_click_delay_ms"]
    con = duckdb.connect()
    matched, orphans_matched, genuine, orphans = con.execute(
        f"""WITH j AS (
              SELECT c.click_id, c.orphan, count(i.impression_id) AS n
              FROM '{d}/clicks.parquet' c LEFT JOIN '{d}/impressions.parquet' i
                ON i.impression_id = c.impression_id
               AND c.click_time >= i.impression_time
               AND c.click_time <= i.impression_time + to_milliseconds({bound})
              GROUP BY c.click_id, c.orphan)
            SELECT count(*) FILTER (WHERE NOT orphan AND n = 1), count(*) FILTER (WHERE orphan AND n > 0),
                   count(*) FILTER (WHERE NOT orphan), count(*) FILTER (WHERE orphan) FROM j"""
    ).fetchone()
    assert matched == genuine and orphans_matched == 0, (matched, genuine, orphans_matched)
    types = {r[0] for r in con.execute(f"SELECT DISTINCT event_type FROM '{d}/events.parquet'").fetchall()}
    assert types <= set(manifest["model"]["event_types"]), types
    print(f"clickstream: {genuine} clicks join their impression within {bound} ms, {orphans} orphans join none; "
          "tables read with the intended types")


if __name__ == "__main__":
    main()
