"""Reads one topic written by `simkit replay --sink kafka://...` back with an
independent client (confluent-kafka) and decodes every record: JSON, or
protobuf with the protobuf runtime from PyPI (the message class is built
from the dataset's .proto file, whose simple proto3 fields are read here).

usage: read_kind.py BOOTSTRAP TOPIC json|PROTO_FILE OUT.json
Writes {"records": [{"offset", "key", "timestamp", "value"}, ...]} sorted by
the simkit-offset header; exits 1 with a message on a consumer error.
"""
import json
import re
import sys

from confluent_kafka import Consumer, KafkaError, TopicPartition
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

PROTO_TYPES = {
    "string": descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
    "double": descriptor_pb2.FieldDescriptorProto.TYPE_DOUBLE,
    "bool": descriptor_pb2.FieldDescriptorProto.TYPE_BOOL,
    "int64": descriptor_pb2.FieldDescriptorProto.TYPE_INT64,
}


def message_class(proto_path):
    text = open(proto_path, encoding="utf-8").read()
    name = re.search(r"message\s+(\w+)", text).group(1)
    fdp = descriptor_pb2.FileDescriptorProto(name="simkit_test.proto", package="simkit_test", syntax="proto3")
    msg = fdp.message_type.add(name=name)
    for typ, field, number in re.findall(r"^\s*(\w+)\s+(\w+)\s*=\s*(\d+);", text, re.M):
        msg.field.add(name=field, number=int(number), type=PROTO_TYPES[typ],
                      label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"simkit_test.{name}"))


def main(bootstrap, topic, fmt, out):
    decode = json.loads
    if fmt != "json":
        cls = message_class(fmt)

        def decode(value):
            m = cls()
            m.ParseFromString(value)
            return {f.name: getattr(m, f.name) for f in m.DESCRIPTOR.fields}
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "simkit-test-kind",
                  "enable.auto.commit": False, "enable.partition.eof": True})
    parts = sorted(c.list_topics(topic, timeout=10).topics[topic].partitions)
    c.assign([TopicPartition(topic, p, 0) for p in parts])
    left, idle, records = set(parts), 0, []
    while left:
        m = c.poll(0.5)
        if m is None:
            idle += 1
            if idle > 60:
                sys.exit(f"read_kind: no messages for 30 s; partitions {sorted(left)} unfinished")
            continue
        idle = 0
        if m.error() and m.error().code() == KafkaError._PARTITION_EOF:
            left.discard(m.partition())
        elif m.error():
            sys.exit(f"read_kind: consumer error: {m.error()}")
        else:
            headers = dict(m.headers() or [])
            records.append({"offset": int(headers["simkit-offset"]), "key": m.key().decode(),
                            "timestamp": m.timestamp()[1], "partition": m.partition(),
                            "value": decode(m.value())})
    c.close()
    records.sort(key=lambda r: r["offset"])
    json.dump({"records": records}, open(out, "w"))


if __name__ == "__main__":
    main(*sys.argv[1:])
