"""Reads a topic written by `simkit replay --sink kafka://...` back with an
independent client (confluent-kafka) and checks every message: the key is the
record's order id, the message timestamp is the record's ts, the headers carry
the offset, and each order's events sit in one partition in (ts, sequence) order.

usage: read_topic.py BOOTSTRAP TOPIC OUT.json
Writes {"messages": N, "partitions": P, "event_ids": [...]} (in topic order
per partition) to OUT.json; exits 1 with a message on the first failed check.
"""
import json
import sys
from datetime import datetime, timezone

from confluent_kafka import Consumer, KafkaError, TopicPartition


def fail(msg):
    print(f"read_topic: {msg}", file=sys.stderr)
    sys.exit(1)


def main(bootstrap, topic, out):
    # Reads to partition EOF, which follows the fetch responses' high
    # watermark: Tansu 0.6 answers ListOffsets (get_watermark_offsets) with
    # less than a partition holds.
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "simkit-test-reader",
                  "enable.auto.commit": False, "enable.partition.eof": True})
    parts = sorted(c.list_topics(topic, timeout=10).topics[topic].partitions)
    c.assign([TopicPartition(topic, p, 0) for p in parts])
    left = set(parts)
    got = {p: [] for p in parts}
    idle = 0
    while left:
        m = c.poll(0.5)
        if m is None:
            idle += 1
            if idle > 60:
                fail(f"no messages for 30 s; partitions {sorted(left)} unfinished")
            continue
        idle = 0
        if m.error() and m.error().code() == KafkaError._PARTITION_EOF:
            left.discard(m.partition())
        elif m.error():
            fail(f"consumer error: {m.error()}")
        else:
            got[m.partition()].append(m)
    c.close()

    ids, home, last_seq = [], {}, {}
    for p in parts:
        for m in got[p]:
            rec = json.loads(m.value())
            key = m.key().decode()
            if key != rec["order_id"]:
                fail(f"partition {p} offset {m.offset()}: key {key} != order_id {rec['order_id']}")
            ts = datetime.strptime(rec["ts"], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=timezone.utc)
            want_ms = round(ts.timestamp() * 1000)
            if m.timestamp()[1] != want_ms:
                fail(f"partition {p} offset {m.offset()}: timestamp {m.timestamp()} != ts {rec['ts']}")
            headers = dict(m.headers() or [])
            if "simkit-offset" not in headers or "simkit-dataset" not in headers:
                fail(f"partition {p} offset {m.offset()}: headers {headers}")
            if home.setdefault(key, p) != p:
                fail(f"order {key} is in partitions {home[key]} and {p}")
            # An order's events arrive in time order, ties in sequence order (the
            # sequence is the lifecycle step: a driver may arrive before the kitchen finishes).
            place = (want_ms, rec["sequence"])
            if key in last_seq and place <= last_seq[key]:
                fail(f"order {key}: (ts, sequence) {place} after {last_seq[key]} in partition {p}")
            last_seq[key] = place
            ids.append(rec["event_id"])
    with open(out, "w") as f:
        json.dump({"messages": len(ids), "partitions": len(parts), "event_ids": ids}, f)


if __name__ == "__main__":
    main(*sys.argv[1:4])
