"""A disordered dataset's answer key recomputed independently of simkit: the
windows and join matches in SQL (DuckDB) over the clean tables, the watermark counts by
walking the delivered table (pyarrow) with the documented per-record
definition, the stream counts; each must equal truth/. Every delivery must
also be its clean record (same values, nulls where the table says so),
in arrival order, never before its event time.

    python check_disorder.py DATASET_DIR
"""

import datetime
import json
import os
import sys
from collections import defaultdict

import duckdb
import pyarrow.compute as pc
import pyarrow.parquet as pq


def text(v):
    """A value as the truth's key and id text: as Arrow displays it (timestamps in UTC, no zone)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, datetime.datetime):
        t = v.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        frac = f".{t.microsecond // 1000:03d}" if t.microsecond else ""
        return t.strftime("%Y-%m-%dT%H:%M:%S") + frac
    if isinstance(v, datetime.date):
        return v.isoformat()
    return str(v)


def epoch_ms(v):
    """A timestamp or date as epoch ms (UTC)."""
    if isinstance(v, datetime.datetime):
        return round(v.timestamp() * 1000)
    return (v - datetime.date(1970, 1, 1)).days * 86_400_000


def rows(table, stream):
    """A truth table's rows of one stream, window starts as epoch ms."""
    out = [r for r in pq.read_table(table).to_pylist() if r["stream"] == stream]
    for r in out:
        r["window_start"] = round(r["window_start"].timestamp() * 1000)
    return out


def group_key(r):
    return (r["size_s"], r["key_field"] is not None, r["key_field"] or "", r["window_start"], r["key"] or "")


def windows_sql(con, d, info):
    """truth/windows rows of one stream, from the clean table, in SQL."""
    t = info["truth"]
    clean = f"{d}/{t['table']}.parquet"
    out = []
    for size in t["window_s"]:
        start = f"(epoch_ms({t['time']}) // {size * 1000}) * {size * 1000}"
        sums = "".join(f", sum({c}) AS sum_{c}" for c in t["sums"])
        for key in [None] + t["keys"]:
            key_expr = f"CAST({key} AS VARCHAR)" if key else "NULL"
            q = (f"SELECT {start} AS ws, {key_expr} AS k, count(*) AS n, count(DISTINCT {t['distinct']}) AS d{sums} "
                 f"FROM read_parquet('{clean}') GROUP BY ALL")
            for rec in con.execute(q).fetchall():
                r = {"size_s": size, "key_field": key, "window_start": rec[0], "key": rec[1],
                     "count": rec[2], "distinct_ids": rec[3]}
                r.update({f"sum_{c}": v for c, v in zip(t["sums"], rec[4:])})
                out.append(r)
    return sorted(out, key=group_key)


def watermarks(delivered, info):
    """truth/watermarks rows of one stream, walking the delivered table in order."""
    t = info["truth"]
    ev = [epoch_ms(x) for x in delivered.column(t["time"]).to_pylist()]
    keys = {k: [None if v is None else text(v) for v in delivered.column(k).to_pylist()] for k in t["keys"]}
    out = []
    for delay in t["watermark_s"]:
        for size in t["window_s"]:
            size_ms, delay_ms = size * 1000, delay * 1000
            dropped, best = [], None
            for e in ev:
                end = e // size_ms * size_ms + size_ms
                dropped.append(best is not None and end <= best - delay_ms)
                best = e if best is None else max(best, e)
            for key in [None] + t["keys"]:
                agg = defaultdict(lambda: [0, 0])
                for i, e in enumerate(ev):
                    g = (e // size_ms * size_ms, keys[key][i] if key else None)
                    agg[g][1 if dropped[i] else 0] += 1
                for (ws, k), (seen, lost) in agg.items():
                    out.append({"delay_s": delay, "size_s": size, "key_field": key, "window_start": ws, "key": k,
                                "count_seen": seen, "dropped": lost})
    return sorted(out, key=lambda r: (r["delay_s"],) + group_key(r))


def check_deliveries(d, info, delivered):
    """Each delivery is its clean record, in arrival order, never early; returns the counts."""
    t = info["truth"]
    clean = pq.read_table(f"{d}/{t['table']}.parquet").to_pylist()
    id_of = lambda r: "/".join(text(r[c]) for c in t["id"])
    by_id = defaultdict(list)  # an id need not be unique (a retail transaction may list a product twice)
    for r in clean:
        by_id[id_of(r)].append(r)
    arrival = delivered.column("arrival_time").to_pylist()
    assert all(a <= b for a, b in zip(arrival, arrival[1:])), "arrival order"
    late = dups = 0
    ids = set()
    for r in delivered.to_pylist():
        assert epoch_ms(r["arrival_time"]) >= epoch_ms(r[t["time"]]), "arrives before its event time"
        same = lambda o: all(r[c] is None or r[c] == v for c, v in o.items())
        assert any(same(o) for o in by_id[id_of(r)]), f"{r} is no clean record of its id"
        late += r["late"]
        if r["duplicate_of"] is not None:
            assert r["duplicate_of"] == id_of(r), "duplicate_of names the record's own id"
            dups += 1
        ids.add(id_of(r))
    n = len(arrival)
    return {"records": len(clean), "delivered": n, "late": late, "duplicates": dups,
            "dropped": len(clean) - (n - dups), "distinct_events": len(ids)}


def main():
    d = sys.argv[1]
    manifest = json.load(open(f"{d}/manifest.json"))
    assert manifest["disorder"], "the dataset has no disordered stream"
    con = duckdb.connect()
    streams = pq.read_table(f"{d}/truth/streams.parquet").to_pylist()
    for name, info in manifest["disorder"].items():
        got = sorted(rows(f"{d}/truth/windows.parquet", name), key=group_key)
        want = windows_sql(con, d, info)
        assert len(got) == len(want), f"{name}: {len(got)} window rows, SQL gives {len(want)}"
        for g, w in zip(got, want):
            for k, v in w.items():
                assert g[k] == v, f"{name} windows: {k} {g[k]!r} != {v!r} in {w}"
        delivered = pq.read_table(f"{d}/{info['truth']['delivered']}.parquet")
        got = rows(f"{d}/truth/watermarks.parquet", name)
        got.sort(key=lambda r: (r["delay_s"],) + group_key(r))
        want = watermarks(delivered, info)
        assert [{k: g[k] for k in w} for g, w in zip(got, want)] == want and len(got) == len(want), \
            f"{name}: watermark truth differs"
        counts = check_deliveries(d, info, delivered)
        assert counts == info["counts"], f"{name}: counts {counts} vs manifest {info['counts']}"
        row = next(r for r in streams if r["stream"] == name)
        assert {k: row[k] for k in counts} == counts, f"{name}: truth/streams.parquet {row}"
        print(f"disorder: {name}: {len(want)} watermark rows, {counts['delivered']} deliveries, "
              f"{counts['late']} late, {counts['duplicates']} duplicates: truth recomputed")
    if os.path.exists(f"{d}/truth/joins.parquet"):
        for j in pq.read_table(f"{d}/truth/joins.parquet").to_pylist():
            (n,) = con.execute(
                f"SELECT count(*) FROM read_parquet('{d}/{j['left']}.parquet') l "
                f"JOIN read_parquet('{d}/{j['right']}.parquet') r ON l.{j['on']} = r.{j['on']} "
                f"AND epoch_ms(r.{j['right_time']}) - epoch_ms(l.{j['left_time']}) BETWEEN 0 AND {j['bound_ms']}"
            ).fetchone()
            assert n == j["matches"], f"join {j['join']}: SQL finds {n} matches, truth says {j['matches']}"
            print(f"disorder: join {j['join']}: {n} matches within {j['bound_ms']} ms")
    print("disorder: truth recomputed and equal")


if __name__ == "__main__":
    main()
