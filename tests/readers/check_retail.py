"""A retail dataset read by pyarrow and DuckDB: the reference's purchase
fields with their types, and totals that DuckDB recomputes from price,
supplement, quantity and discount (decimal arithmetic, half-even rounding).

    python check_retail.py DATASET_DIR
"""

import json
import sys

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq


def main():
    d = sys.argv[1]
    manifest = json.load(open(f"{d}/manifest.json"))
    purchases = pq.read_table(f"{d}/purchases.parquet")
    money = pa.decimal128(12, 2)
    want = [
        ("transaction_time", pa.timestamp("ms", tz="UTC")),
        ("transaction_id", pa.string()),
        ("product_id", pa.string()),
        ("price", money),
        ("quantity", pa.int16()),
        ("is_member", pa.bool_()),
        ("member_discount", pa.float64()),
        ("add_supplements", pa.bool_()),
        ("supplement_price", money),
        ("total_purchase", money),
    ]
    assert [(f.name, f.type) for f in purchases.schema] == want, purchases.schema
    assert purchases.num_rows == manifest["tables"]["purchases"]
    con = duckdb.connect()
    wrong = con.execute(
        f"""SELECT count(*) FROM '{d}/purchases.parquet'
            WHERE total_purchase != round_even(CAST((price + supplement_price) * quantity
                  * (1 - CAST(member_discount AS DECIMAL(6, 4))) AS DECIMAL(18, 6)), 2)"""
    ).fetchone()[0]
    assert wrong == 0, f"{wrong} totals differ"
    print(f"retail: {purchases.num_rows} purchases read with the intended types, totals recomputed")


if __name__ == "__main__":
    main()
