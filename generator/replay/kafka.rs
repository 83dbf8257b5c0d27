//! The Kafka sink, `kafka://host:port[,host:port...]/topic`: one message per
//! record, key = the stream's key column as emitted (the ghost kitchen's
//! order id: an order's events share a partition, in order), value = the
//! record (JSON without its newline, or the protobuf message), timestamp =
//! event time, and two headers:
//! `simkit-offset` (the record's global offset, decimal) and `simkit-dataset`
//! (the first 16 hex digits of the manifest fingerprint). The producer is
//! librdkafka with idempotence and `acks=all`, so its own retries never
//! duplicate or reorder; `-X key=value` sets any other librdkafka property.
//! A topic containing `{stream}` is a template: each stream goes to its own
//! topic (`demo.{stream}` -> `demo.purchases`, ...); several streams need one.
//!
//! Exactly once across crashes, by resuming from what the topic holds (not by
//! transactions: Tansu 0.6 accepts the transaction calls, but a
//! `read_committed` consumer still sees aborted records). Records go out as they are written, so a batch is recorded as pending
//! when it *opens*, together with each partition's end offset (the marks).
//! Finishing a batch waits until every record is acknowledged; then the
//! checkpoint commits it. A run that finds an open batch reads every
//! partition from its mark to its end, collects the offsets of this
//! dataset's records at or after the batch start, and sends the batch again
//! up to the last record that arrived, skipping those that did. Per
//! partition the idempotent producer lands a prefix of what was sent, so the
//! records sent again come after the ones that arrived: per-order order holds.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::{ClientContext, Offset, TopicPartitionList};

use super::checkpoint::Pending;
use super::codec::WireFormat;
use super::encoded::{Encoded, Meta};
use super::sink::{Publish, Sink};
use crate::error::{Error, Result};

/// How long metadata and watermark requests may take before the broker counts as unreachable.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// A resume scan gives up when no record arrives for this long.
const SCAN_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Our default for `message.timeout.ms` (librdkafka's is 5 minutes): a
/// broker that stays away fails the run clearly, and a later run resumes.
const DEFAULT_MESSAGE_TIMEOUT_MS: &str = "30000";

/// A parsed `kafka://` sink address.
#[derive(Clone, Debug, PartialEq)]
pub struct KafkaSpec {
    /// `host:port[,host:port...]`
    pub brokers: String,
    /// A topic, or a template with `{stream}`.
    pub topic: String,
}

const STREAM: &str = "{stream}";

impl KafkaSpec {
    /// Parses `kafka://brokers/topic`; `None` when `s` is not a Kafka address at all.
    pub fn parse(s: &str) -> Option<Result<KafkaSpec>> {
        let rest = s.strip_prefix("kafka://")?;
        let bad = |why: &str| Some(Err(Error(format!("--sink {s}: {why}; expected kafka://HOST:PORT/TOPIC"))));
        let Some((brokers, topic)) = rest.split_once('/') else { return bad("no topic") };
        if brokers.is_empty()
            || brokers
                .split(',')
                .any(|b| b.rsplit_once(':').is_none_or(|(h, p)| h.is_empty() || p.parse::<u16>().is_err()))
        {
            return bad("each broker needs a host and a port");
        }
        let legal = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        let plain = topic.replace(STREAM, "");
        if topic.is_empty() || topic.len() > 249 || !plain.chars().all(legal) {
            return bad("a topic name is 1 to 249 characters of A-Z a-z 0-9 . _ - (or a template with {stream})");
        }
        Some(Ok(KafkaSpec { brokers: brokers.into(), topic: topic.into() }))
    }

    pub fn describe(&self) -> String {
        format!("kafka://{}/{}", self.brokers, self.topic)
    }

    /// The topic of each stream.
    pub fn topics(&self, streams: &[String]) -> Vec<String> {
        streams.iter().map(|s| self.topic.replace(STREAM, s)).collect()
    }

    /// Several streams need a template, so that each has its own topic.
    pub fn check_streams(&self, streams: &[String]) -> Result<()> {
        if streams.len() > 1 && !self.topic.contains(STREAM) {
            return Err(Error(format!(
                "--sink {}: the dataset has {} streams ({}): give a topic template such as kafka://{}/demo.{{stream}} (one topic per stream), or replay one with --stream NAME",
                self.describe(),
                streams.len(),
                streams.join(", "),
                self.brokers
            )));
        }
        if let Some(t) = self.topics(streams).iter().find(|t| t.len() > 249) {
            return Err(Error(format!("--sink {}: topic {t} is longer than 249 characters", self.describe())));
        }
        Ok(())
    }
}

/// Checks `-X` properties: any librdkafka property except those that would
/// break delivery guarantees or that the address sets.
pub fn check_properties(props: &[(String, String)]) -> Result<()> {
    for (k, v) in props {
        let why = match k.as_str() {
            "bootstrap.servers" | "metadata.broker.list" => "the brokers come from the kafka:// address",
            "enable.idempotence" if v != "true" => "the replay needs the idempotent producer (no duplicates on retry)",
            "acks" | "request.required.acks" if !matches!(v.as_str(), "all" | "-1") => {
                "the checkpoint commits only what every in-sync replica has (acks=all)"
            }
            "transactional.id" => "exactly-once comes from the checkpoint and a scan of the topic, not transactions",
            _ => continue,
        };
        return Err(Error(format!("-X {k}={v}: not allowed: {why}")));
    }
    Ok(())
}

/// Counts failed deliveries, keeps the first error, and tracks how far
/// each partition is known to hold our acknowledged records.
#[derive(Default)]
struct Deliveries {
    failed: AtomicU64,
    topics: Vec<String>,
    /// Per topic and partition: the offset after our last acknowledged record.
    acked_end: Mutex<Vec<Vec<i64>>>,
    first_error: Mutex<Option<String>>,
    /// The latest client-level error (connection refused, ...), for messages.
    last_error: Mutex<Option<String>>,
}

impl ClientContext for Deliveries {
    fn error(&self, error: KafkaError, reason: &str) {
        if let Ok(mut e) = self.last_error.lock() {
            *e = Some(format!("{error}: {reason}"));
        }
    }
}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Ok(m) = result {
            let topic = self.topics.iter().position(|t| t == m.topic());
            if let (Ok(mut ends), Ok(p), Some(t)) = (self.acked_end.lock(), usize::try_from(m.partition()), topic) {
                let ends = &mut ends[t];
                if ends.len() <= p {
                    ends.resize(p + 1, 0);
                }
                ends[p] = ends[p].max(m.offset() + 1);
            }
        }
        if let Err((e, _)) = result {
            self.failed.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut first) = self.first_error.lock() {
                first.get_or_insert_with(|| e.to_string());
            }
        }
    }
}

/// What a resume found of an open batch: its records already in the topic.
struct Resumed {
    from: u64,
    arrived: HashSet<u64>,
    marks: Vec<i64>,
}

pub struct KafkaSink {
    spec: KafkaSpec,
    props: Vec<(String, String)>,
    producer: ThreadedProducer<Deliveries>,
    /// Each stream's topic and its partition count.
    topics: Vec<String>,
    partitions: Vec<i32>,
    /// Each partition's end offset when the sink opened, topic after topic.
    opened_at: Vec<i64>,
    format: WireFormat,
    dataset: String,
    /// The next global offset of the open batch.
    next: Option<u64>,
    resumed: Option<Resumed>,
}

fn config(spec: &KafkaSpec, props: &[(String, String)]) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &spec.brokers);
    for (k, v) in props {
        c.set(k, v);
    }
    c
}

impl KafkaSink {
    /// Connects, checks that the topic exists (or is created by the broker)
    /// and learns its partitions. `fingerprint`: the dataset's.
    pub fn open(
        spec: &KafkaSpec,
        props: &[(String, String)],
        fingerprint: &str,
        streams: &[String],
        format: WireFormat,
    ) -> Result<KafkaSink> {
        let topics = spec.topics(streams);
        check_properties(props)?;
        let mut c = config(spec, props);
        for (k, v) in
            [("enable.idempotence", "true"), ("acks", "all"), ("message.timeout.ms", DEFAULT_MESSAGE_TIMEOUT_MS)]
        {
            if c.get(k).is_none() {
                c.set(k, v);
            }
        }
        let deliveries = Deliveries {
            topics: topics.clone(),
            acked_end: Mutex::new(vec![Vec::new(); topics.len()]),
            ..Deliveries::default()
        };
        let producer: ThreadedProducer<Deliveries> =
            c.create_with_context(deliveries).map_err(|e| Error(format!("--sink {}: {e}", spec.describe())))?;
        let mut sink = KafkaSink {
            spec: spec.clone(),
            props: props.to_vec(),
            producer,
            topics: Vec::new(),
            partitions: Vec::new(),
            opened_at: Vec::new(),
            format,
            dataset: fingerprint.chars().take(16).collect(),
            next: None,
            resumed: None,
        };
        sink.topics = topics;
        for topic in &sink.topics {
            let n = sink.partition_count(topic)?;
            sink.partitions.push(n);
        }
        sink.opened_at = sink.end_offsets()?;
        Ok(sink)
    }

    fn error(&self, what: &str, e: impl std::fmt::Display) -> Error {
        let last = self.producer.context().last_error.lock().ok().and_then(|e| e.clone());
        let last = last.map(|l| format!(" (last client error: {l})")).unwrap_or_default();
        Error(format!("--sink {}: {what}: {e}{last}", self.spec.describe()))
    }

    fn partition_count(&self, topic: &str) -> Result<i32> {
        // A broker that creates topics on demand may answer the first request before the topic is ready.
        const ATTEMPTS: u32 = 5;
        let mut attempt = 1;
        loop {
            let md = self.producer.client().fetch_metadata(Some(topic), REQUEST_TIMEOUT).map_err(|e| {
                self.error(&format!("cannot reach the broker within {} s", REQUEST_TIMEOUT.as_secs()), e)
            })?;
            let t = md.topics().iter().find(|t| t.name() == topic);
            if let Some(t) = t.filter(|t| t.error().is_none() && !t.partitions().is_empty()) {
                return Ok(t.partitions().len() as i32);
            }
            if attempt == ATTEMPTS {
                let why = t.and_then(|t| t.error()).map(|e| format!("{e:?}")).unwrap_or_else(|| "no partitions".into());
                return Err(self.error(
                    &format!("topic {topic} is not available (create it, or let the broker create topics)"),
                    why,
                ));
            }
            attempt += 1;
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Each partition's end offset, as the broker reports it. (Tansu 0.6
    /// can report less than it holds; a mark that is too low only makes
    /// a resume read more.)
    fn end_offsets(&self) -> Result<Vec<i64>> {
        let mut ends = Vec::new();
        for (topic, &n) in self.topics.iter().zip(&self.partitions) {
            for p in 0..n {
                let (_, high) = self
                    .producer
                    .client()
                    .fetch_watermarks(topic, p, REQUEST_TIMEOUT)
                    .map_err(|e| self.error(&format!("cannot read the end offset of {topic} partition {p}"), e))?;
                ends.push(high);
            }
        }
        Ok(ends)
    }

    /// Reads every partition of every topic from its mark to its end (the
    /// end the fetch responses report: partition EOF); returns the offsets
    /// of this dataset's records at or after `from`.
    fn arrived_since(&self, marks: &[i64], from: u64) -> Result<HashSet<u64>> {
        let mut arrived = HashSet::new();
        let mut first_mark = 0;
        for (topic, &n) in self.topics.iter().zip(&self.partitions) {
            let topic_marks = marks.get(first_mark..).unwrap_or_default();
            self.scan_topic(topic, n, topic_marks, from, &mut arrived)?;
            first_mark += n as usize;
        }
        Ok(arrived)
    }

    /// [`KafkaSink::arrived_since`] for one topic (partition EOF names a
    /// partition, not its topic: one topic is read at a time).
    fn scan_topic(
        &self,
        topic: &str,
        partitions: i32,
        marks: &[i64],
        from: u64,
        arrived: &mut HashSet<u64>,
    ) -> Result<()> {
        let consumer: BaseConsumer = config(&self.spec, &self.props)
            .set("group.id", "simkit-replay-resume")
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "true")
            .create()
            .map_err(|e| self.error("cannot create the resume consumer", e))?;
        let mut assignment = TopicPartitionList::new();
        for p in 0..partitions {
            let start = marks.get(p as usize).map_or(Offset::Beginning, |&m| Offset::Offset(m));
            assignment.add_partition_offset(topic, p, start).map_err(|e| self.error("cannot assign partitions", e))?;
        }
        consumer.assign(&assignment).map_err(|e| self.error("cannot assign partitions", e))?;
        let mut at_end = vec![false; partitions as usize];
        let mut last_progress = Instant::now();
        let reading = format!("reading topic {topic} back on resume");
        while at_end.iter().any(|&e| !e) {
            let Some(msg) = consumer.poll(Duration::from_millis(200)) else {
                if last_progress.elapsed() > SCAN_IDLE_TIMEOUT {
                    return Err(self.error(&reading, "no records for 30 s"));
                }
                continue;
            };
            last_progress = Instant::now();
            match msg {
                Ok(msg) => {
                    if let Some(offset) = self.record_offset(&msg).filter(|&o| o >= from) {
                        arrived.insert(offset);
                    }
                }
                Err(KafkaError::PartitionEOF(p)) => {
                    if let Some(e) = at_end.get_mut(p as usize) {
                        *e = true;
                    }
                }
                Err(e) => return Err(self.error(&reading, e)),
            }
        }
        Ok(())
    }

    /// The global offset of a record this replay wrote for this dataset.
    fn record_offset(&self, msg: &impl Message) -> Option<u64> {
        let headers = msg.headers()?;
        let value = |key: &str| headers.iter().find(|h| h.key == key).and_then(|h| h.value);
        if value("simkit-dataset")? != self.dataset.as_bytes() {
            return None;
        }
        std::str::from_utf8(value("simkit-offset")?).ok()?.parse().ok()
    }

    fn send(&self, offset: u64, meta: Meta, payload: &[u8], key: &[u8]) -> Result<()> {
        let ts = meta.ts;
        let topic = &self.topics[meta.stream as usize];
        let mut digits = itoa::Buffer::new();
        let headers = OwnedHeaders::new_with_capacity(2)
            .insert(Header { key: "simkit-offset", value: Some(digits.format(offset)) })
            .insert(Header { key: "simkit-dataset", value: Some(self.dataset.as_str()) });
        let mut record = BaseRecord::to(topic).key(key).payload(payload).timestamp(ts).headers(headers);
        loop {
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    self.check_deliveries()?;
                    record = back;
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err((e, _)) => return Err(self.error("cannot send", e)),
            }
        }
    }

    fn check_deliveries(&self) -> Result<()> {
        let ctx = self.producer.context();
        let failed = ctx.failed.load(Ordering::Relaxed);
        if failed == 0 {
            return Ok(());
        }
        let first = ctx.first_error.lock().ok().and_then(|e| e.clone()).unwrap_or_default();
        Err(self.error(&format!("{failed} records were not delivered"), first))
    }
}

impl Sink for KafkaSink {
    fn exactly_once(&self) -> bool {
        true
    }

    fn streams(&self) -> bool {
        true
    }

    fn marks(&mut self) -> Result<Option<Vec<i64>>> {
        let (from, resumed) = (self.next, &self.resumed);
        if let (Some(from), Some(r)) = (from, resumed) {
            if r.from == from {
                return Ok(Some(r.marks.clone()));
            }
        }
        let acked = self.producer.context().acked_end.lock().map(|a| a.clone()).unwrap_or_default();
        // Flattened like `opened_at`: topic after topic.
        let acked = self.partitions.iter().enumerate().flat_map(|(t, &n)| {
            let ends = acked.get(t).cloned().unwrap_or_default();
            (0..n as usize).map(move |p| ends.get(p).copied().unwrap_or(0))
        });
        let marks = self.opened_at.iter().zip(acked).map(|(&opened, acked)| opened.max(acked));
        Ok(Some(marks.collect()))
    }

    fn resume(&mut self, pending: &Pending) -> Result<u64> {
        let marks = pending.marks.clone().unwrap_or_default();
        let arrived = self.arrived_since(&marks, pending.from)?;
        let to = pending.to.unwrap_or_else(|| arrived.iter().max().map_or(pending.from, |&m| m + 1));
        self.resumed = Some(Resumed { from: pending.from, arrived, marks });
        Ok(to)
    }

    fn begin(&mut self, from: u64) -> Result<()> {
        self.next = Some(from);
        Ok(())
    }

    fn write(&mut self, records: &Encoded) -> Result<()> {
        let mut offset = self.next.ok_or_else(|| Error("replay: write outside a batch".into()))?;
        for (meta, frame, key) in records.iter() {
            let skip = self.resumed.as_ref().is_some_and(|r| r.arrived.contains(&offset));
            if !skip {
                self.send(offset, meta, unframe(frame, self.format), key)?;
            }
            offset += 1;
        }
        self.next = Some(offset);
        self.check_deliveries()
    }

    fn flush(&mut self) -> Result<()> {
        self.check_deliveries()
    }

    fn finish(&mut self, to: u64) -> Result<Publish> {
        let next = self.next.take().ok_or_else(|| Error("replay: finish outside a batch".into()))?;
        if next != to {
            return Err(Error(format!("replay: batch ends at {next}, expected {to}")));
        }
        if self.resumed.as_ref().is_some_and(|r| r.arrived.iter().all(|&o| o < to)) {
            self.resumed = None;
        }
        // Waits for every acknowledgement; librdkafka fails each record after message.timeout.ms at most.
        self.producer
            .flush(rdkafka::util::Timeout::Never)
            .map_err(|e| self.error("waiting for acknowledgements", e))?;
        self.check_deliveries()?;
        Ok(Publish::done())
    }
}

/// A record's message: a JSON line without its newline, a protobuf
/// message without its varint length.
fn unframe(frame: &[u8], format: WireFormat) -> &[u8] {
    match format {
        WireFormat::Json => frame.strip_suffix(b"\n").unwrap_or(frame),
        WireFormat::Protobuf => {
            let prefix = frame.iter().position(|&b| b & 0x80 == 0).map_or(frame.len(), |i| i + 1);
            &frame[prefix..]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_addresses() {
        let k = KafkaSpec::parse("kafka://127.0.0.1:9092/caspers-events").unwrap().unwrap();
        assert_eq!((k.brokers.as_str(), k.topic.as_str()), ("127.0.0.1:9092", "caspers-events"));
        assert_eq!(k.describe(), "kafka://127.0.0.1:9092/caspers-events");
        assert!(KafkaSpec::parse("kafka://a:1,b:2/t").unwrap().is_ok());
        assert!(KafkaSpec::parse("dir:x").is_none());
        for bad in ["kafka://", "kafka://h:9092", "kafka://h:9092/", "kafka://h/t", "kafka://:1/t", "kafka://h:1/a b"] {
            assert!(KafkaSpec::parse(bad).unwrap().is_err(), "{bad}");
        }
    }

    #[test]
    fn refuses_properties_that_break_guarantees() {
        let p = |k: &str, v: &str| vec![(k.to_string(), v.to_string())];
        assert!(check_properties(&p("security.protocol", "SASL_SSL")).is_ok());
        assert!(check_properties(&p("acks", "all")).is_ok());
        for (k, v) in
            [("acks", "1"), ("enable.idempotence", "false"), ("transactional.id", "x"), ("bootstrap.servers", "h:1")]
        {
            let e = check_properties(&p(k, v)).unwrap_err();
            assert!(e.0.contains(k), "{e}");
        }
    }

    #[test]
    fn topic_templates() {
        let k = KafkaSpec::parse("kafka://h:1/demo.{stream}").unwrap().unwrap();
        let streams = ["purchases".to_string(), "inventories".to_string()];
        assert_eq!(k.topics(&streams), ["demo.purchases", "demo.inventories"]);
        assert!(k.check_streams(&streams).is_ok());
        let plain = KafkaSpec::parse("kafka://h:1/demo").unwrap().unwrap();
        let e = plain.check_streams(&streams).unwrap_err();
        assert!(e.0.contains("{stream}") && e.0.contains("--stream"), "{e}");
        assert!(plain.check_streams(&streams[..1]).is_ok());
        assert!(KafkaSpec::parse("kafka://h:1/demo.{other}").unwrap().is_err());
    }

    #[test]
    fn unframes_records() {
        assert_eq!(unframe(b"{}\n", WireFormat::Json), b"{}");
        assert_eq!(unframe(&[3, 8, 1, 2], WireFormat::Protobuf), &[8, 1, 2]);
        let mut long = vec![0x81, 0x01];
        long.extend(std::iter::repeat_n(7u8, 129));
        assert_eq!(unframe(&long, WireFormat::Protobuf).len(), 129);
    }
}
