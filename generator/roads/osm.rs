//! Reading OpenStreetMap extracts (`.osm.pbf` with osmpbfreader, `.osm` XML
//! with quick-xml) into [`RoadData`]: drivable ways only, node ids made dense.
//!
//! Ways that reference nodes missing from the extract (clipped at its edge)
//! are split at the gap instead of bridging it. Any malformed input becomes
//! an error naming the file; the decoder is never trusted not to panic.

use std::collections::HashMap;
use std::path::Path;

use quick_xml::events::{BytesStart, Event};
use sha2::Digest;

use super::drive::{is_drivable, oneway};
use super::{RoadData, Way};

/// A way as read, before node ids are resolved.
#[derive(Debug)]
struct RawWay {
    nodes: Vec<i64>,
    tags: Vec<(String, String)>,
}

/// Reads an extract by its extension: `.pbf` or `.osm`/`.xml`.
pub fn read_extract(path: &Path) -> Result<RoadData, String> {
    read_extract_hashed(path).map(|(data, _)| data)
}

/// Like [`read_extract`], also returning the sha256 of the bytes it read (one read, not two).
pub fn read_extract_hashed(path: &Path) -> Result<(RoadData, String), String> {
    let (bytes, sha256) = read_hashed(path)?;
    Ok((parse_file(path, &bytes)?, sha256))
}

/// An extract's bytes and their sha256.
pub fn read_hashed(path: &Path) -> Result<(Vec<u8>, String), String> {
    let name = path.display();
    let bytes = std::fs::read(path).map_err(|e| format!("{name}: cannot read OSM extract: {e}"))?;
    if bytes.is_empty() {
        return Err(format!("{name}: the OSM extract is empty"));
    }
    let sha256 = crate::scenario::hex(&sha2::Sha256::digest(&bytes));
    Ok((bytes, sha256))
}

/// Parses the bytes read from `path`, by its extension; errors name the file.
pub fn parse_file(path: &Path, bytes: &[u8]) -> Result<RoadData, String> {
    let is_pbf = path.to_string_lossy().ends_with(".pbf");
    parse_bytes(bytes, is_pbf).map_err(|e| format!("{}: {e}", path.display()))
}

/// Parses an extract's bytes (`.osm.pbf` or OSM XML) into its drive network.
pub fn parse_bytes(bytes: &[u8], is_pbf: bool) -> Result<RoadData, String> {
    let parsed = crate::error::catch_decoder_panic(|| if is_pbf { parse_pbf(bytes) } else { parse_xml(bytes) });
    let (nodes, ways) = match parsed {
        Some(r) => r?,
        None => return Err("the OSM extract is corrupt (the decoder failed)".into()),
    };
    let data = assemble(nodes, ways);
    if data.ways.is_empty() {
        return Err("the extract holds no drivable roads (highway ways a car may use)".into());
    }
    Ok(data)
}

type Parsed = (HashMap<i64, [f64; 2]>, Vec<RawWay>);

/// Turns end-of-data inside a read into an error. osmpbfreader asserts (panics)
/// when a blob is shorter than its header says; an error lets it report a
/// truncated file instead. Its own end-of-file check expects exactly this kind.
struct EofIsError<R>(R);

impl<R: std::io::Read> std::io::Read for EofIsError<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.0.read(buf)? {
            0 if !buf.is_empty() => Err(std::io::ErrorKind::UnexpectedEof.into()),
            n => Ok(n),
        }
    }
}

/// The blobs of a PBF file are all of the two known kinds (the decoder
/// prints unknown ones to stdout and skips them).
fn check_blob_kinds(bytes: &[u8]) -> Result<(), String> {
    use protobuf::Message;
    let mut rest = bytes;
    while rest.len() >= 4 {
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let header = rest.get(4..4 + len).ok_or("corrupt or truncated PBF: a blob header runs past the end")?;
        let header = osmpbfreader::fileformat::BlobHeader::parse_from_bytes(header)
            .map_err(|e| format!("corrupt PBF: a blob header does not decode ({e})"))?;
        if !["OSMHeader", "OSMData"].contains(&header.type_()) {
            return Err(format!("not an OSM PBF file: a blob of unknown kind {:?}", header.type_()));
        }
        let skip = 4usize.saturating_add(len).saturating_add(header.datasize().max(0) as usize);
        rest = rest.get(skip..).unwrap_or_default();
    }
    Ok(())
}

/// Everything the decoder would trust about a block holds: every string a
/// tag refers to exists (it indexes its string table unchecked), and every
/// delta-coded id, coordinate and node reference adds up without overflow.
fn check_block(block: &osmpbfreader::osmformat::PrimitiveBlock) -> Result<(), String> {
    let n = block.stringtable.s.len() as u64;
    let known = |i: u64| i < n;
    let (granularity, lat0, lon0) = (block.granularity() as i64, block.lat_offset(), block.lon_offset());
    // A coordinate in the decoder's arithmetic: offset + granularity * value.
    let coord_fits = |offset: i64, v: i64| granularity.checked_mul(v).and_then(|x| x.checked_add(offset)).is_some();
    for g in &block.primitivegroup {
        let d = &g.dense;
        let dense = d.keys_vals.iter().all(|&k| k >= 0 && known(k as u64))
            && running_sums(&d.id).is_some()
            && running_sums(&d.lat).is_some_and(|s| s.iter().all(|&v| coord_fits(lat0, v)))
            && running_sums(&d.lon).is_some_and(|s| s.iter().all(|&v| coord_fits(lon0, v)));
        let nodes = g.nodes.iter().all(|nd| {
            nd.keys.iter().chain(&nd.vals).all(|&k| known(k as u64))
                && coord_fits(lat0, nd.lat())
                && coord_fits(lon0, nd.lon())
        });
        let ways = g
            .ways
            .iter()
            .all(|w| w.keys.iter().chain(&w.vals).all(|&k| known(k as u64)) && running_sums(&w.refs).is_some());
        if !(dense && nodes && ways) {
            return Err("corrupt PBF: a block's tags, ids or coordinates do not decode".into());
        }
    }
    Ok(())
}

/// The running sums of delta-coded values, or `None` if one overflows.
fn running_sums(deltas: &[i64]) -> Option<Vec<i64>> {
    let mut acc = 0i64;
    deltas
        .iter()
        .map(|&d| {
            acc = acc.checked_add(d)?;
            Some(acc)
        })
        .collect()
}

fn parse_pbf(bytes: &[u8]) -> Result<Parsed, String> {
    check_blob_kinds(bytes)?;
    let mut reader = osmpbfreader::OsmPbfReader::new(EofIsError(bytes));
    let mut nodes = HashMap::new();
    let mut ways = Vec::new();
    for block in reader.primitive_blocks() {
        let block = block.map_err(|e| format!("corrupt or truncated PBF: {e}"))?;
        check_block(&block)?;
        for n in osmpbfreader::blocks::nodes(&block) {
            let p = [n.lat(), n.lon()];
            if !on_earth(p) {
                return Err(format!("node {} lies at an impossible position ({}, {})", n.id.0, p[0], p[1]));
            }
            nodes.insert(n.id.0, p);
        }
        for w in osmpbfreader::blocks::ways(&block) {
            let tag = |k: &str| w.tags.get(k).map(|v| v.as_str());
            if is_drivable(tag) {
                let tags = w.tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
                ways.push(RawWay { nodes: w.nodes.iter().map(|n| n.0).collect(), tags });
            }
        }
    }
    if nodes.is_empty() && ways.is_empty() {
        return Err("not an OSM PBF file (no nodes or ways decoded)".into());
    }
    Ok((nodes, ways))
}

/// A latitude and longitude on the globe (finite, in range).
fn on_earth(p: [f64; 2]) -> bool {
    (-90.0..=90.0).contains(&p[0]) && (-180.0..=180.0).contains(&p[1])
}

fn attr(e: &BytesStart, key: &[u8]) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.as_ref() == key)
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

fn line_col(bytes: &[u8], pos: usize) -> (usize, usize) {
    let before = &bytes[..pos.min(bytes.len())];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let col = before.len() - before.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1) + 1;
    (line, col)
}

fn parse_xml(bytes: &[u8]) -> Result<Parsed, String> {
    let mut reader = quick_xml::Reader::from_reader(bytes);
    let mut nodes = HashMap::new();
    let mut ways = Vec::new();
    let mut current: Option<RawWay> = None;
    let mut buf = Vec::new();
    let mut saw_osm = false;
    loop {
        let pos = reader.buffer_position() as usize;
        let ev = reader.read_event_into(&mut buf).map_err(|e| {
            let (l, c) = line_col(bytes, pos);
            format!("{l}:{c}: malformed OSM XML: {e}")
        })?;
        let bad = |what: &str| {
            let (l, c) = line_col(bytes, pos);
            format!("{l}:{c}: {what}")
        };
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => match e.name().as_ref() {
                b"osm" => saw_osm = true,
                b"node" => {
                    let id = attr(e, b"id").and_then(|v| v.parse::<i64>().ok());
                    let lat = attr(e, b"lat").and_then(|v| v.parse::<f64>().ok());
                    let lon = attr(e, b"lon").and_then(|v| v.parse::<f64>().ok());
                    match (id, lat, lon) {
                        (Some(id), Some(lat), Some(lon)) if on_earth([lat, lon]) => {
                            nodes.insert(id, [lat, lon]);
                        }
                        _ => {
                            return Err(bad(
                                "expected a <node> with a numeric id, lat in -90 ..= 90 and lon in -180 ..= 180",
                            ))
                        }
                    }
                }
                b"way" => {
                    current = Some(RawWay { nodes: Vec::new(), tags: Vec::new() });
                    if matches!(ev, Event::Empty(_)) {
                        current = None;
                    }
                }
                b"nd" => {
                    if let Some(w) = current.as_mut() {
                        let r = attr(e, b"ref")
                            .and_then(|v| v.parse::<i64>().ok())
                            .ok_or_else(|| bad("expected <nd ref=\"<node id>\">"))?;
                        w.nodes.push(r);
                    }
                }
                b"tag" => {
                    if let (Some(w), Some(k), Some(v)) = (current.as_mut(), attr(e, b"k"), attr(e, b"v")) {
                        w.tags.push((k, v));
                    }
                }
                _ => {}
            },
            Event::End(ref e) if e.name().as_ref() == b"way" => {
                if let Some(w) = current.take() {
                    if is_drivable(|k| tag_of(&w.tags, k)) {
                        ways.push(w);
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if !saw_osm {
        return Err("not an OSM XML file (no <osm> element)".into());
    }
    Ok((nodes, ways))
}

fn tag_of<'a>(tags: &'a [(String, String)], key: &str) -> Option<&'a str> {
    tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// Resolves node ids to dense indices (in order of first use, so the result
/// does not depend on hash order) and splits ways at missing nodes.
fn assemble(coords: HashMap<i64, [f64; 2]>, raw: Vec<RawWay>) -> RoadData {
    let mut dense: HashMap<i64, u32> = HashMap::new();
    let mut data = RoadData::default();
    for w in raw {
        let tag = |k: &str| tag_of(&w.tags, k);
        let (name, class, dir) =
            (tag("name").map(str::to_string), tag("highway").unwrap_or("road").to_string(), oneway(tag));
        let mut run: Vec<(i64, [f64; 2])> = Vec::new();
        let mut flush = |run: &mut Vec<(i64, [f64; 2])>, data: &mut RoadData| {
            if run.len() >= 2 {
                let nodes = run
                    .iter()
                    .map(|(id, p)| {
                        let next = data.nodes.len() as u32;
                        let idx = *dense.entry(*id).or_insert(next);
                        if idx == next {
                            data.nodes.push(*p);
                        }
                        idx
                    })
                    .collect();
                data.ways.push(Way { nodes, name: name.clone(), class: class.clone(), oneway: dir });
            }
            run.clear();
        };
        for id in &w.nodes {
            match coords.get(id) {
                Some(p) => run.push((*id, *p)),
                None => flush(&mut run, &mut data),
            }
        }
        flush(&mut run, &mut data);
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    const XML: &str = r#"<?xml version="1.0"?>
<osm version="0.6">
  <node id="1" lat="39.5000" lon="-119.7500"/>
  <node id="2" lat="39.5010" lon="-119.7500"/>
  <node id="3" lat="39.5020" lon="-119.7500"><tag k="highway" v="traffic_signals"/></node>
  <node id="4" lat="39.5020" lon="-119.7510"/>
  <way id="10"><nd ref="1"/><nd ref="2"/><nd ref="3"/><tag k="highway" v="residential"/><tag k="name" v="Oak &amp; Elm St"/></way>
  <way id="11"><nd ref="3"/><nd ref="4"/><tag k="highway" v="footway"/></way>
  <way id="12"><nd ref="3"/><nd ref="99"/><nd ref="4"/><tag k="highway" v="primary"/><tag k="oneway" v="yes"/></way>
</osm>"#;

    #[test]
    fn xml_keeps_drivable_ways_and_splits_at_missing_nodes() {
        let (nodes, ways) = parse_xml(XML.as_bytes()).unwrap();
        assert_eq!(nodes.len(), 4);
        assert_eq!(ways.len(), 2); // the footway is dropped
        let data = assemble(nodes, ways);
        assert_eq!(data.ways.len(), 1); // way 12 has no run of 2 present nodes
        assert_eq!(data.ways[0].name.as_deref(), Some("Oak & Elm St"));
        assert_eq!(data.nodes.len(), 3);
    }

    #[test]
    fn malformed_xml_reports_a_position() {
        let err = parse_xml(b"<osm>\n  <node id=\"1\" lat=\"x\" lon=\"2\"/>\n</osm>").unwrap_err();
        assert!(err.starts_with("2:3:"), "{err}");
        assert!(parse_xml(b"hello").is_err());
    }
}
