"""A dataset's report (`simkit report`) against its Parquet files read by
DuckDB: every headline number, and the series of the first figure (orders,
purchases or events per local day; weather: rain share by month),
recomputed here without simkit's code.

    python check_report.py DATASET_DIR
"""

import json
import sys

import duckdb


def close(a, b, what):
    assert abs(a - b) <= 1e-9 * max(1.0, abs(b)), f"{what}: report {a}, DuckDB {b}"


def kitchen(con, d, m):
    orders = f"'{d}/orders.parquet'"
    n, revenue, minutes = con.execute(
        f"""SELECT count(*), sum(total)::DOUBLE,
                   avg(epoch_ms(delivered_at) - epoch_ms(created_at)) / 60000.0 FROM {orders}"""
    ).fetchone()
    events = con.execute(f"SELECT count(*) FROM '{d}/events.parquet'").fetchone()[0]
    headline = {"orders": n, "events": events, "events per order": events / n,
                "revenue": revenue, "mean delivery time": minutes}
    series = {}
    for loc in m["locations"]:
        rows = con.execute(
            f"""SELECT (timezone('{loc["timezone"]}', created_at)::DATE - DATE '{m["scenario"]["start"]}') AS day,
                       count(*) FROM {orders} WHERE location_id = {loc["id"]} GROUP BY day ORDER BY day"""
        ).fetchall()
        series[loc["name"]] = dict(rows)
    return headline, series


def retail(con, d, m):
    p = f"'{d}/purchases.parquet'"
    tx, lines, units, revenue = con.execute(
        f"SELECT count(DISTINCT transaction_id), count(*), sum(quantity), sum(total_purchase)::DOUBLE FROM {p}"
    ).fetchone()
    lost = con.execute(f"SELECT count(*) FROM '{d}/lost_sales.parquet'").fetchone()[0]
    restocks = con.execute(f"SELECT count(*) FROM '{d}/inventories.parquet'").fetchone()[0]
    headline = {"transactions": tx, "line items": lines, "units sold": units, "revenue": revenue,
                "lost sales": lost, "restocks": restocks}
    tz = m["model"]["timezone"]
    rows = con.execute(
        f"""SELECT (timezone('{tz}', transaction_time)::DATE - DATE '{m["scenario"]["start"]}') AS day, count(*)
            FROM {p} GROUP BY day ORDER BY day"""
    ).fetchall()
    return headline, {"purchases": dict(rows)}


def weather(con, d, m):
    r = f"'{d}/reports.parquet'"
    stations, n, mean, rainy = con.execute(
        f"SELECT count(DISTINCT station), count(*), avg(degrees), avg(raining::INT) * 100 FROM {r}"
    ).fetchone()
    headline = {"stations": stations, "reports": n, "mean temperature": mean, "rainy reports": rainy}
    return headline, None


def clickstream(con, d, m):
    e = f"'{d}/events.parquet'"
    users, sessions, events = con.execute(
        f"SELECT count(DISTINCT user_id), count(DISTINCT session_id), count(*) FROM {e}"
    ).fetchone()
    count = lambda t: con.execute(f"SELECT count(*) FROM '{d}/{t}.parquet'").fetchone()[0]
    headline = {"users active": users, "sessions": sessions, "events": events,
                "impressions": count("impressions"), "clicks": count("clicks")}
    if "events" in m["disorder"]:
        headline["late deliveries"] = con.execute(
            f"SELECT avg(late::INT) * 100 FROM '{d}/events_delivered.parquet'").fetchone()[0]
    rows = con.execute(
        f"""SELECT (event_time::DATE - DATE '{m["scenario"]["start"]}') AS day, count(*)
            FROM {e} GROUP BY day ORDER BY day"""
    ).fetchall()
    return headline, {"events": dict(rows)}


def main():
    d = sys.argv[1]
    m = json.load(open(f"{d}/manifest.json"))
    r = json.load(open(f"{d}/report/report.json"))
    assert r["fingerprint"] == m["fingerprint"], "the report is of this dataset"
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    kind = m["scenario"]["kind"]
    want, series = {"ghost_kitchen": kitchen, "retail": retail, "weather": weather,
                    "clickstream": clickstream}[kind](con, d, m)
    got = {h["name"]: h["value"] for h in r["headline"]}
    assert got.keys() == want.keys(), (got.keys(), want.keys())
    for name, value in want.items():
        close(got[name], float(value), name)
    if series is not None:
        first = r["figures"][0]["chart"]["series"]
        assert [s["name"] for s in first] == list(series), first
        for s in first:
            have = {int(x): y for x, y in s["points"] if y}
            assert have == {k: float(v) for k, v in series[s["name"]].items()}, s["name"]
    for f in r["files"]:
        with open(f"{d}/report/{f}") as page:
            text = page.read()
            assert text.lstrip().startswith(("<svg", "<!DOCTYPE html")), f
    print(f"report numbers recomputed by DuckDB: {kind}, {len(want)} headline numbers")


if __name__ == "__main__":
    main()
