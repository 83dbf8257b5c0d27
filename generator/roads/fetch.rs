//! `roads fetch`: downloading a location's drivable road network from an
//! Overpass API endpoint into an OSM XML extract (`data/osm/<code>.osm`).
//!
//! This module owns the Overpass query, the HTTP exchange and the atomic
//! write. The response streams into a temp file beside the target, hashed on
//! the way, and is parsed with [`read_extract`] before it is renamed into
//! place, so a failed, partial or unusable download never leaves a file (or a
//! temp file) behind. Every error names the endpoint and says whether retrying
//! later can help.

use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::osm::read_extract;
use crate::scenario::hex;

/// The main public Overpass instance.
pub const DEFAULT_OVERPASS_URL: &str = "https://overpass-api.de/api/interpreter";

/// Time budget asked of the server (seconds). The client waits longer, so the
/// server's own timeout, which explains itself, fires first.
const SERVER_TIMEOUT_S: u64 = 180;

/// What a successful fetch wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct FetchReport {
    pub path: PathBuf,
    pub bytes: u64,
    pub sha256: String,
    /// Drivable ways and their nodes as [`read_extract`] sees them.
    pub ways: usize,
    pub nodes: usize,
}

/// The Overpass QL query sent: every highway way within `radius_m` of
/// `center` ([lat, lon]) plus all of its nodes (recurse down), as OSM XML.
/// Ways are kept whole even where they leave the circle, so none is clipped.
pub fn overpass_query(center: [f64; 2], radius_m: f64) -> String {
    let [lat, lon] = center;
    // f64 Display never uses exponent notation, which Overpass would reject.
    format!("[out:xml][timeout:{SERVER_TIMEOUT_S}];way[\"highway\"](around:{radius_m},{lat},{lon});(._;>;);out body;")
}

/// Downloads the highway ways within `radius_m` of `center` ([lat, lon]) and writes them atomically to `out`.
pub fn fetch_area(url: &str, center: [f64; 2], radius_m: f64, out: &Path) -> Result<FetchReport, String> {
    let [lat, lon] = center;
    if !((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)) {
        return Err(format!("invalid center [{lat}, {lon}]: expected [lat, lon] in degrees"));
    }
    if !(radius_m.is_finite() && radius_m > 0.0) {
        return Err(format!("invalid radius {radius_m} m: expected a positive number of metres"));
    }

    let response =
        agent().post(url).send_form([("data", overpass_query(center, radius_m))]).map_err(|e| request_error(url, e))?;
    let status = response.status().as_u16();
    let mut body = response.into_body().into_reader();
    if !(200..300).contains(&status) {
        return Err(status_error(url, status, &mut body));
    }

    // The directory is created only once the server has answered, so a failed
    // request leaves no trace. The temp file sits beside `out` so the final
    // rename stays on one filesystem (atomic); the `.osm` suffix makes
    // read_extract parse it as XML. Dropping it on any error deletes it.
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: cannot create directory: {e}", dir.display()))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".fetch-")
        .suffix(".osm")
        .tempfile_in(dir)
        .map_err(|e| format!("{}: cannot create a temporary file: {e}", dir.display()))?;
    let (bytes, digest, sniff) = copy_body(url, &mut body, tmp.as_file_mut())?;
    let tmp_name = tmp.path().display().to_string();

    if let Some(remark) = sniff.runtime_error() {
        return Err(format!(
            "{url}: the Overpass server aborted the query ({remark}); the data is incomplete. \
             Retry later, or use a smaller radius"
        ));
    }
    let data = read_extract(tmp.path()).map_err(|e| {
        // read_extract names the temp file; the endpoint is what the user knows.
        let detail = e.strip_prefix(&format!("{tmp_name}: ")).unwrap_or(&e);
        let mut msg = format!("{url}: the response is not a usable OSM extract: {detail}");
        if !sniff.looks_like_osm() {
            msg.push_str(&format!(" (the response starts: {})", snippet(&sniff.head)));
        }
        msg
    })?;

    let file = tmp.as_file();
    // The default for temp files is owner-only; the extract is ordinary data.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(|e| format!("{tmp_name}: cannot set permissions: {e}"))?;
    }
    // Flush to disk before the rename, so a crash cannot leave a renamed but empty file.
    file.sync_all().map_err(|e| format!("{tmp_name}: cannot write: {e}"))?;
    tmp.persist(out).map_err(|e| format!("{}: cannot write: {}", out.display(), e.error))?;
    Ok(FetchReport {
        path: out.to_path_buf(),
        bytes,
        sha256: hex(&digest),
        ways: data.ways.len(),
        nodes: data.nodes.len(),
    })
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        // Non-2xx responses come back as responses, so the body can be quoted in the error.
        .http_status_as_error(false)
        .timeout_resolve(Some(Duration::from_secs(30)))
        .timeout_connect(Some(Duration::from_secs(30)))
        // Overpass may say nothing until the query finishes, up to its own timeout.
        .timeout_per_read(Some(Duration::from_secs(SERVER_TIMEOUT_S + 60)))
        // Overpass operators ask clients to identify themselves.
        .user_agent(concat!("simkit/", env!("CARGO_PKG_VERSION"), " (roads fetch)"))
        .build()
        .new_agent()
}

fn request_error(url: &str, e: ureq::Error) -> String {
    match e {
        ureq::Error::Io(ref io) if io.kind() == ErrorKind::ConnectionRefused => {
            format!("{url}: connection refused; check the Overpass URL and that the server is up")
        }
        ureq::Error::HostNotFound => {
            format!("{url}: host not found (DNS lookup failed); check the URL and the network")
        }
        ureq::Error::Timeout(t) => {
            format!("{url}: the request timed out ({t}); the server may be overloaded, retry later")
        }
        ureq::Error::BadUri(_) | ureq::Error::Http(_) => format!("{url}: not a usable URL: {e}"),
        e => format!("{url}: the request failed: {e}"),
    }
}

fn status_error(url: &str, status: u16, body: &mut impl Read) -> String {
    let mut head = Vec::new();
    // Best effort: the status alone already makes the error.
    let _ = body.take(4096).read_to_end(&mut head);
    let advice = match status {
        429 => " (too many requests: the server is rate-limiting; wait a minute and retry later)",
        504 => {
            " (gateway timeout: the server is overloaded or the query timed out; retry later, or use a smaller radius)"
        }
        503 => " (service unavailable: retry later)",
        400 => " (the server rejected the query)",
        _ => "",
    };
    let text = snippet(&head);
    if text.is_empty() {
        format!("{url}: HTTP {status}{advice}")
    } else {
        format!("{url}: HTTP {status}{advice}; the response says: {text}")
    }
}

/// The first ~200 characters of a response, readable on one line: Overpass
/// error pages are HTML, so tags are dropped and whitespace collapsed.
fn snippet(bytes: &[u8]) -> String {
    let raw = String::from_utf8_lossy(bytes);
    let mut text = String::new();
    let mut in_tag = false;
    for c in raw.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut out = if words.is_empty() { raw.split_whitespace().collect::<Vec<_>>() } else { words }.join(" ");
    if let Some((cut, _)) = out.char_indices().nth(200) {
        out.truncate(cut);
        out.push_str("...");
    }
    out
}

/// Streams the body into `file`, hashing and sniffing it on the way.
fn copy_body(url: &str, body: &mut impl Read, file: &mut File) -> Result<(u64, Vec<u8>, Sniff), String> {
    let mut hasher = Sha256::new();
    let mut sniff = Sniff::default();
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = match body.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("{url}: the download broke off after {total} bytes: {e}; retry later")),
        };
        let chunk = &buf[..n];
        file.write_all(chunk).map_err(|e| format!("cannot write the download to disk: {e}"))?;
        hasher.update(chunk);
        sniff.feed(chunk);
        total += n as u64;
    }
    Ok((total, hasher.finalize().to_vec(), sniff))
}

/// Watches the streamed body for what the parser would not flag: Overpass
/// reports a runtime error (query timeout, out of memory) as a `<remark>`
/// inside an otherwise well-formed 200 response, whose data is then truncated.
/// Also keeps the start of the body to quote when it is not OSM at all.
#[derive(Default)]
struct Sniff {
    head: Vec<u8>,
    /// The last bytes seen, so a `<remark` split across chunks is still found.
    tail: Vec<u8>,
    /// The body from `<remark` on, capped.
    remark: Option<Vec<u8>>,
}

const REMARK: &[u8] = b"<remark";
const HEAD_MAX: usize = 512;
const REMARK_MAX: usize = 400;

impl Sniff {
    fn feed(&mut self, chunk: &[u8]) {
        let room = HEAD_MAX.saturating_sub(self.head.len()).min(chunk.len());
        self.head.extend_from_slice(&chunk[..room]);
        if let Some(r) = self.remark.as_mut() {
            let room = REMARK_MAX.saturating_sub(r.len()).min(chunk.len());
            r.extend_from_slice(&chunk[..room]);
            return;
        }
        let mut window = std::mem::take(&mut self.tail);
        window.extend_from_slice(chunk);
        match window.windows(REMARK.len()).position(|w| w == REMARK) {
            Some(at) => self.remark = Some(window[at..window.len().min(at + REMARK_MAX)].to_vec()),
            None => self.tail = window[window.len().saturating_sub(REMARK.len() - 1)..].to_vec(),
        }
    }

    /// The remark's text if it reports a runtime error (Overpass's wording).
    fn runtime_error(&self) -> Option<String> {
        let raw = String::from_utf8_lossy(self.remark.as_ref()?);
        let text = raw.split_once('>').map_or("", |(_, rest)| rest);
        let text = text.split("</remark").next().unwrap_or("");
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        text.contains("runtime error").then_some(text)
    }

    fn looks_like_osm(&self) -> bool {
        self.head.windows(4).any(|w| w == b"<osm")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufRead;
    use std::net::TcpListener;
    use std::thread::JoinHandle;

    /// A 5x5 grid of named residential streets, plus a footway (not drivable)
    /// with a node of its own, which the counts must leave out.
    fn fixture() -> String {
        let mut xml =
            String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<osm version=\"0.6\" generator=\"test\">\n");
        let id = |r: usize, c: usize| 1 + r * 5 + c;
        for r in 0..5 {
            for c in 0..5 {
                let (lat, lon) = (39.5 + r as f64 * 0.001, -119.75 + c as f64 * 0.001);
                xml.push_str(&format!("  <node id=\"{}\" lat=\"{lat:.4}\" lon=\"{lon:.4}\"/>\n", id(r, c)));
            }
        }
        xml.push_str("  <node id=\"26\" lat=\"39.5045\" lon=\"-119.7455\"/>\n");
        for r in 0..5 {
            xml.push_str(&format!("  <way id=\"{}\">", 100 + r));
            (0..5).for_each(|c| xml.push_str(&format!("<nd ref=\"{}\"/>", id(r, c))));
            xml.push_str(&format!("<tag k=\"highway\" v=\"residential\"/><tag k=\"name\" v=\"Row {r} St\"/></way>\n"));
        }
        for c in 0..5 {
            xml.push_str(&format!("  <way id=\"{}\">", 200 + c));
            (0..5).for_each(|r| xml.push_str(&format!("<nd ref=\"{}\"/>", id(r, c))));
            xml.push_str(&format!("<tag k=\"highway\" v=\"residential\"/><tag k=\"name\" v=\"Col {c} Ave\"/></way>\n"));
        }
        xml.push_str("  <way id=\"300\"><nd ref=\"25\"/><nd ref=\"26\"/><tag k=\"highway\" v=\"footway\"/></way>\n");
        xml.push_str("</osm>\n");
        xml
    }

    /// The request as the server saw it.
    struct Recorded {
        head: String,
        body: Vec<u8>,
    }

    /// Serves exactly one request on 127.0.0.1 with the given status line and
    /// body, then exits; returns the endpoint URL and the recorded request.
    fn serve_once(status: &str, content_type: &str, body: String) -> (String, JoinHandle<Recorded>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/api/interpreter", listener.local_addr().unwrap());
        let reply = format!(
            "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let handle = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            // Bounded: a stuck client fails the test instead of hanging it.
            stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let mut reader = std::io::BufReader::new(stream);
            let mut head = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            let len = head
                .lines()
                .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("content-length")))
                .map_or(0, |(_, v)| v.trim().parse::<usize>().unwrap());
            let mut body = vec![0u8; len];
            reader.read_exact(&mut body).unwrap();
            let mut stream = reader.into_inner();
            stream.write_all(reply.as_bytes()).unwrap();
            stream.flush().unwrap();
            Recorded { head, body }
        });
        (url, handle)
    }

    /// Decodes application/x-www-form-urlencoded text.
    fn form_decode(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                    i += 2;
                }
                c => out.push(c),
            }
            i += 1;
        }
        String::from_utf8(out).unwrap()
    }

    fn is_empty_dir(dir: &Path) -> bool {
        !dir.exists() || std::fs::read_dir(dir).unwrap().next().is_none()
    }

    #[test]
    fn query_asks_for_highways_around_the_center_with_their_nodes() {
        let q = overpass_query([39.502, -119.748], 1500.0);
        assert_eq!(q, "[out:xml][timeout:180];way[\"highway\"](around:1500,39.502,-119.748);(._;>;);out body;");
    }

    #[test]
    fn success_writes_the_extract_and_reports_it() {
        let xml = fixture();
        let (url, server) = serve_once("200 OK", "application/osm3s+xml", xml.clone());
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("data/osm/rno.osm");
        let report = fetch_area(&url, [39.502, -119.748], 1500.0, &out).unwrap();
        let req = server.join().unwrap();

        assert_eq!(std::fs::read_to_string(&out).unwrap(), xml);
        assert_eq!(report.path, out);
        assert_eq!(report.bytes, xml.len() as u64);
        assert_eq!(report.sha256, hex(&Sha256::digest(xml.as_bytes())));
        assert_eq!((report.ways, report.nodes), (10, 25));
        // Only the extract remains: the temp file was renamed, not copied.
        assert_eq!(std::fs::read_dir(out.parent().unwrap()).unwrap().count(), 1);

        assert!(req.head.starts_with("POST /api/interpreter HTTP/1.1\r\n"), "{}", req.head);
        assert!(req.head.to_ascii_lowercase().contains("content-type: application/x-www-form-urlencoded"));
        let body = String::from_utf8(req.body).unwrap();
        let query = form_decode(body.strip_prefix("data=").expect("form field `data`"));
        assert_eq!(query, overpass_query([39.502, -119.748], 1500.0));
        assert!(query.contains("(around:1500,39.502,-119.748)"), "{query}");
    }

    #[test]
    fn rate_limited_is_an_error_and_leaves_nothing() {
        let page = "<html><head><title>429 Too Many Requests</title></head><body>Rate limit exceeded</body></html>";
        let (url, server) = serve_once("429 Too Many Requests", "text/html", page.into());
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("osm/rno.osm");
        let err = fetch_area(&url, [39.502, -119.748], 1500.0, &out).unwrap_err();
        server.join().unwrap();
        assert!(err.contains(&url) && err.contains("429") && err.contains("retry later"), "{err}");
        assert!(err.contains("Rate limit exceeded"), "{err}");
        assert!(!out.exists() && is_empty_dir(out.parent().unwrap()));
    }

    #[test]
    fn html_with_200_is_an_error_and_leaves_nothing() {
        let page = "<!DOCTYPE html><html><body><p>The server is busy.</p></body></html>";
        let (url, server) = serve_once("200 OK", "text/html", page.into());
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("rno.osm");
        let err = fetch_area(&url, [39.502, -119.748], 1500.0, &out).unwrap_err();
        server.join().unwrap();
        assert!(err.contains(&url) && err.contains("not a usable OSM extract"), "{err}");
        assert!(err.contains("The server is busy."), "{err}");
        assert!(is_empty_dir(dir.path()), "a file was left behind");
    }

    #[test]
    fn overpass_runtime_error_is_an_error_and_leaves_nothing() {
        let xml = fixture().replace(
            "</osm>",
            "<remark> runtime error: Query timed out in \"recurse\" at line 1 after 181 seconds. </remark>\n</osm>",
        );
        let (url, server) = serve_once("200 OK", "application/osm3s+xml", xml);
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("rno.osm");
        let err = fetch_area(&url, [39.502, -119.748], 1500.0, &out).unwrap_err();
        server.join().unwrap();
        assert!(err.contains("Query timed out") && err.contains(&url), "{err}");
        assert!(is_empty_dir(dir.path()));
    }

    #[test]
    fn connection_refused_names_the_url() {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let url = format!("http://127.0.0.1:{port}/api/interpreter");
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("osm/rno.osm");
        let err = fetch_area(&url, [39.502, -119.748], 1500.0, &out).unwrap_err();
        assert!(err.contains(&url) && err.contains("refused"), "{err}");
        assert!(is_empty_dir(dir.path()));
    }

    #[test]
    fn sniff_finds_a_remark_split_across_chunks() {
        let body = b"<osm><remark> runtime error: out of memory </remark></osm>";
        let mut sniff = Sniff::default();
        body.chunks(3).for_each(|c| sniff.feed(c));
        assert_eq!(sniff.runtime_error().as_deref(), Some("runtime error: out of memory"));
        assert!(sniff.looks_like_osm());
    }

    #[test]
    fn snippet_strips_tags_and_truncates() {
        assert_eq!(snippet(b"<p><b>Error</b>: line 1:\n parse error</p>"), "Error : line 1: parse error");
        assert_eq!(snippet("x".repeat(300).as_bytes()).len(), 203);
    }
}
