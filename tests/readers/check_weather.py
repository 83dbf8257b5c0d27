"""A weather dataset read by pyarrow and DuckDB: the reference's fields with
their types, one report per station per day, and no rain below 32 F.

    python check_weather.py DATASET_DIR
"""

import json
import sys

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq


def main():
    d = sys.argv[1]
    manifest = json.load(open(f"{d}/manifest.json"))
    reports = pq.read_table(f"{d}/reports.parquet")
    want = [("date", pa.date32()), ("station", pa.string()), ("degrees", pa.float64()), ("raining", pa.bool_())]
    assert [(f.name, f.type) for f in reports.schema] == want, reports.schema
    assert reports.num_rows == manifest["tables"]["reports"]
    stations = manifest["model"]["stations"]
    con = duckdb.connect()
    per_day, cold_rain = con.execute(
        f"""SELECT max(n), (SELECT count(*) FROM '{d}/reports.parquet' WHERE raining AND degrees < 32)
            FROM (SELECT date, count(DISTINCT station) AS n FROM '{d}/reports.parquet' GROUP BY date)"""
    ).fetchone()
    assert per_day == stations, (per_day, stations)
    assert cold_rain == 0, cold_rain
    print(f"weather: {reports.num_rows} reports of {stations} stations read with the intended types")


if __name__ == "__main__":
    main()
