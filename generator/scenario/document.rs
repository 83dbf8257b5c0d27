//! A scenario file as a TOML document: parsing, `--set KEY=VALUE` overrides,
//! `--scale K` (applied by each kind's [`Scale`] to its typed file),
//! strict deserialisation, and turning a key path back into `file:line:column`.
//!
//! Every problem found later (by serde or by validation) is reported as a key
//! path; [`Document::locate`] finds where that key is written, or names the
//! `--set` that supplied it.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

pub struct Document {
    path: PathBuf,
    text: String,
    value: toml::Table,
    /// Key paths set on the command line, with the argument as given.
    overrides: Vec<(Vec<String>, String)>,
    /// `--scale K`, and the key paths it multiplied.
    scale: Option<f64>,
    scaled: RefCell<Vec<KeyPath>>,
}

/// A kind's scenario file, whose volumes `--scale` multiplies (orders,
/// transactions, users, stations ...): everything that sets how many rows
/// a run makes, nothing that shapes them.
pub trait Scale {
    /// Multiplies every volume by `k` (> 0); returns the key paths changed,
    /// or a key whose value cannot be scaled and why.
    fn scale(&mut self, k: f64) -> std::result::Result<Vec<KeyPath>, (KeyPath, String)>;
}

/// A count times `k`, rounded, at least 1 unless it was 0.
pub fn scaled_count(n: u32, k: f64) -> u32 {
    if n == 0 {
        return 0;
    }
    (n as f64 * k).round().clamp(1.0, u32::MAX as f64) as u32
}

/// A key path like `locations.sf.kitchen.lat` (array indices as numbers).
pub type KeyPath = Vec<String>;

pub fn key_path(dotted: &str) -> KeyPath {
    dotted.split('.').map(str::to_string).collect()
}

impl Document {
    pub fn read(path: &Path) -> Result<Document> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error(format!("{}: cannot read scenario: {e}", path.display())))?;
        Document::parse(path, text)
    }

    pub fn parse(path: &Path, text: String) -> Result<Document> {
        let value = text.parse::<toml::Table>().map_err(|e| {
            let (line, col) = e.span().map_or((1, 1), |s| line_col(&text, s.start));
            Error(format!("{}:{line}:{col}: invalid TOML: {}", path.display(), e.message().trim_end()))
        })?;
        Ok(Document {
            path: path.to_path_buf(),
            text,
            value,
            overrides: Vec::new(),
            scale: None,
            scaled: RefCell::default(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// The document's root table, overrides applied.
    pub fn value(&self) -> &toml::Table {
        &self.value
    }

    /// Applies `KEY=VALUE`: VALUE is read as a TOML value (`7`, `0.5`,
    /// `"x"`, `[1, 2]`, `{ beta = { a = 2, b = 5 } }`), or as a plain string
    /// when it is not one.
    pub fn set(&mut self, assignment: &str) -> Result<()> {
        let (key, raw) =
            assignment.split_once('=').ok_or_else(|| Error(format!("--set {assignment}: expected KEY=VALUE")))?;
        let key = key.trim();
        if key.is_empty() || key.split('.').any(str::is_empty) {
            return Err(Error(format!(
                "--set {assignment}: expected a dotted key such as locations.sf.base_orders_per_day"
            )));
        }
        let value = format!("v = {}", raw.trim())
            .parse::<toml::Table>()
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(raw.trim().to_string()));
        let path = key_path(key);
        let mut table = &mut self.value;
        for (i, seg) in path.iter().enumerate() {
            if i + 1 == path.len() {
                table.insert(seg.clone(), value);
                break;
            }
            let entry = table.entry(seg.clone()).or_insert_with(|| toml::Value::Table(Default::default()));
            table = match entry {
                toml::Value::Table(t) => t,
                _ => return Err(Error(format!("--set {assignment}: `{}` is not a table", path[..=i].join(".")))),
            };
        }
        self.overrides.push((path, assignment.to_string()));
        Ok(())
    }

    /// Sets `--scale K`: every volume of the file is multiplied by `k` once
    /// it is read ([`Self::deserialize_scaled`]), after the `--set`s.
    pub fn set_scale(&mut self, k: f64) -> Result<()> {
        if !(k.is_finite() && k > 0.0) {
            return Err(Error(format!("--scale {k}: expected a number > 0, such as 0.5 or 10")));
        }
        self.scale = Some(k);
        Ok(())
    }

    /// [`Self::deserialize`], then `--scale` applied to the volumes.
    pub fn deserialize_scaled<T: DeserializeOwned + Scale>(&self) -> Result<T> {
        let mut file: T = self.deserialize()?;
        if let Some(k) = self.scale {
            let scaled = file.scale(k).map_err(|(path, why)| self.error_at(&path, &format!("--scale {k}: {why}")))?;
            *self.scaled.borrow_mut() = scaled;
        }
        Ok(file)
    }

    /// Deserialises the whole document strictly (unknown keys are errors).
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T> {
        serde_path_to_error::deserialize(toml::Value::Table(self.value.clone())).map_err(|e| {
            let mut path: KeyPath = e
                .path()
                .iter()
                .filter_map(|s| match s {
                    serde_path_to_error::Segment::Seq { index } => Some(index.to_string()),
                    serde_path_to_error::Segment::Map { key } => Some(key.clone()),
                    serde_path_to_error::Segment::Enum { variant } => Some(variant.clone()),
                    serde_path_to_error::Segment::Unknown => None,
                })
                .collect();
            let msg = plain_words(e.inner().message().lines().next().unwrap_or_default());
            // serde reports an unknown key at its parent: point at the key itself.
            if let Some(name) = msg.strip_prefix("unknown key `").and_then(|r| r.split('`').next()) {
                if path.last().map(String::as_str) != Some(name) {
                    path.push(name.to_string());
                }
            }
            self.error_at(&path, msg.trim_end())
        })
    }

    /// One error listing every problem (each positioned as by [`Self::error_at`]).
    pub fn errors(&self, problems: &[(KeyPath, String)]) -> Error {
        const SHOWN: usize = 50;
        let lines: Vec<String> = problems.iter().take(SHOWN).map(|(p, m)| self.error_at(p, m).0).collect();
        match lines.len() {
            0 => Error(format!("{}: invalid scenario", self.path.display())),
            1 => Error(lines[0].clone()),
            _ => {
                let more = problems.len().saturating_sub(SHOWN);
                let tail = if more > 0 { format!("\n  ... and {more} more") } else { String::new() };
                let n = problems.len();
                Error(format!("{}: {n} problems:\n  {}{tail}", self.path.display(), lines.join("\n  ")))
            }
        }
    }

    /// An error about the key at `path`, positioned in the file (or naming the `--set`).
    pub fn error_at(&self, path: &[String], message: &str) -> Error {
        let dotted = if path.is_empty() { "(top level)".to_string() } else { path.join(".") };
        if let Some((_, arg)) = self.overrides.iter().rev().find(|(p, _)| path.starts_with(p) || p.starts_with(path)) {
            return Error(format!("{} (--set {arg}): {dotted}: {message}", self.path.display()));
        }
        let (line, col) = self.locate(path);
        let scaled = match self.scale {
            Some(k) if self.scaled.borrow().iter().any(|p| path.starts_with(p) || p.starts_with(path)) => {
                format!(" (the file's value x --scale {k})")
            }
            _ => String::new(),
        };
        Error(format!("{}:{line}:{col}: {dotted}: {message}{scaled}", self.path.display()))
    }

    /// Line and column (1-based) of the deepest part of `path` written in the file.
    pub fn locate(&self, path: &[String]) -> (usize, usize) {
        let mut best = 0;
        if let Ok(doc) = toml_edit::Document::parse(self.text.as_str()) {
            walk_table(doc.as_table(), path, &mut best);
        }
        line_col(&self.text, best)
    }
}

/// A serde message in the file's terms: "expected a number", not "f64";
/// "a table", not "struct LatLon" or "map".
fn plain_words(message: &str) -> String {
    const WORDS: [(&str, &str); 22] = [
        ("expected f64", "expected a number"),
        ("expected f32", "expected a number"),
        ("expected u8", "expected a whole number >= 0"),
        ("expected u16", "expected a whole number >= 0"),
        ("expected u32", "expected a whole number >= 0"),
        ("expected u64", "expected a whole number >= 0"),
        ("expected usize", "expected a whole number >= 0"),
        ("expected i8", "expected a whole number"),
        ("expected i16", "expected a whole number"),
        ("expected i32", "expected a whole number"),
        ("expected i64", "expected a whole number"),
        ("expected a boolean", "expected true or false"),
        ("expected a sequence", "expected an array"),
        ("missing field", "missing required key"),
        ("unknown field", "unknown key"),
        ("unknown variant", "unknown key"),
        ("invalid type: map", "found a table"),
        ("invalid type: sequence", "found an array"),
        ("invalid type: ", "found "),
        ("invalid value: ", "found "),
        ("floating point `", "the number `"),
        ("integer `", "the number `"),
    ];
    let mut text = message.to_string();
    for (rust, plain) in WORDS {
        text = text.replace(rust, plain);
    }
    // "expected struct LatLon" / "enum DistSpec": a table (of a kind).
    if let Some(i) = text.find("expected struct ").or_else(|| text.find("expected enum ")) {
        text.replace_range(i.., "expected a table");
    }
    text
}

// The walk records the start of the deepest key (or array element) found.
fn walk_table(t: &toml_edit::Table, path: &[String], best: &mut usize) {
    let Some((seg, rest)) = path.split_first() else { return };
    if let Some((k, v)) = t.get_key_value(seg) {
        *best = k.span().or_else(|| v.span()).map_or(*best, |s| s.start);
        walk_item(v, rest, best);
    }
}

fn walk_item(item: &toml_edit::Item, path: &[String], best: &mut usize) {
    match item {
        toml_edit::Item::Table(t) => walk_table(t, path, best),
        toml_edit::Item::Value(v) => walk_value(v, path, best),
        toml_edit::Item::ArrayOfTables(a) => {
            let Some((seg, rest)) = path.split_first() else { return };
            if let Some(t) = seg.parse::<usize>().ok().and_then(|i| a.get(i)) {
                *best = t.span().map_or(*best, |s| s.start);
                walk_table(t, rest, best);
            }
        }
        toml_edit::Item::None => {}
    }
}

fn walk_value(v: &toml_edit::Value, path: &[String], best: &mut usize) {
    let Some((seg, rest)) = path.split_first() else { return };
    match v {
        toml_edit::Value::InlineTable(t) => {
            if let Some((k, item)) = t.get_key_value(seg) {
                *best = k.span().map_or(*best, |s| s.start);
                walk_item(item, rest, best);
            }
        }
        toml_edit::Value::Array(a) => {
            if let Some(e) = seg.parse::<usize>().ok().and_then(|i| a.get(i)) {
                *best = e.span().map_or(*best, |s| s.start);
                walk_value(e, rest, best);
            }
        }
        _ => {}
    }
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct T {
        a: A,
    }
    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct A {
        n: u32,
        s: Option<String>,
    }

    fn doc(text: &str) -> Document {
        Document::parse(Path::new("x.toml"), text.to_string()).unwrap()
    }

    #[test]
    fn syntax_error_has_line_and_column() {
        let e = Document::parse(Path::new("x.toml"), "[a]\nn = = 3\n".into()).err().unwrap();
        assert!(e.0.starts_with("x.toml:2:"), "{e}");
    }

    #[test]
    fn unknown_key_and_wrong_type_are_located() {
        let e = doc("[a]\nn = 1\nbogus = 2\n").deserialize::<T>().unwrap_err();
        assert!(e.0.starts_with("x.toml:3:1: a.bogus: unknown key `bogus`"), "{e}");
        let e = doc("[a]\n  n = \"three\"\n").deserialize::<T>().unwrap_err();
        assert!(e.0.starts_with("x.toml:2:3: a.n: found string \"three\", expected a whole number >= 0"), "{e}");
    }

    #[test]
    fn set_overrides_and_names_itself_in_errors() {
        let mut d = doc("[a]\nn = 1\n");
        d.set("a.n=7").unwrap();
        d.set("a.s=hello world").unwrap();
        let t: T = d.deserialize().unwrap();
        assert_eq!(t.a.n, 7);
        assert_eq!(t.a.s.as_deref(), Some("hello world"));
        d.set("a.n=-1").unwrap();
        let e = d.deserialize::<T>().unwrap_err();
        assert!(e.0.contains("(--set a.n=-1): a.n:"), "{e}");
        assert!(doc("").set("novalue").is_err());
    }

    #[test]
    fn locate_walks_inline_tables_and_arrays() {
        let d = doc("x = 1\n[p]\npeaks = [\n  { start = \"11:00\" },\n  { start = \"99:00\" },\n]\n");
        assert_eq!(d.locate(&key_path("p.peaks.1.start")), (5, 5));
        assert_eq!(d.locate(&key_path("p.missing")), (2, 2));
    }
}
