//! The shape of a scenario document, checked against the JSON Schema of its
//! file format (derived from the serde types by schemars) before anything
//! is deserialised: every key known (with a suggestion for a misspelt one),
//! every required key present, every value of the expected kind — a finite
//! number, a whole number in range, a table where a table belongs (never an
//! array or an array of tables) — and every problem at once, in the terms of
//! the file (tables, numbers, strings), never in Rust's.
//!
//! Only what the schema expresses is checked here; ranges and relations
//! between keys are the scenario kind's validation.

use serde_json::Value as Json;
use toml::Value;

use super::document::KeyPath;

/// A problem at a key path.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    pub path: KeyPath,
    pub message: String,
}

/// Checks `value` against `schema` (a root schema with `$defs`).
pub fn check(value: &Value, schema: &Json) -> Vec<Problem> {
    let mut w = Walker { root: schema, problems: Vec::new() };
    w.walk(&mut Vec::new(), value, schema);
    w.problems
}

struct Walker<'a> {
    root: &'a Json,
    problems: Vec<Problem>,
}

/// The value kinds of TOML, as a schema names them.
fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "string",
        Value::Integer(_) => "integer",
        Value::Float(_) => "number",
        Value::Boolean(_) => "boolean",
        Value::Datetime(_) => "datetime",
        Value::Array(_) => "array",
        Value::Table(_) => "object",
    }
}

/// `v` as the user wrote it, for "found ...".
pub fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => format!("the string {s:?}"),
        Value::Integer(i) => format!("the number {i}"),
        Value::Float(f) => format!("the number {f}"),
        Value::Boolean(b) => b.to_string(),
        Value::Datetime(d) => format!("the date-time {d}"),
        Value::Array(a) if !a.is_empty() && a.iter().all(Value::is_table) => "an array of tables".into(),
        Value::Array(_) => "an array".into(),
        Value::Table(_) => "a table".into(),
    }
}

/// Bounds of the integer formats schemars writes.
fn integer_range(format: &str) -> Option<(i128, i128)> {
    Some(match format {
        "int8" => (i8::MIN as i128, i8::MAX as i128),
        "int16" => (i16::MIN as i128, i16::MAX as i128),
        "int32" => (i32::MIN as i128, i32::MAX as i128),
        "int64" | "int" => (i64::MIN as i128, i64::MAX as i128),
        "uint8" => (0, u8::MAX as i128),
        "uint16" => (0, u16::MAX as i128),
        "uint32" => (0, u32::MAX as i128),
        "uint64" | "uint" => (0, u64::MAX as i128),
        _ => return None,
    })
}

/// The closest of `known` to `name`, if it is close enough to be a likely typo.
pub fn suggestion<'k>(name: &str, known: impl Iterator<Item = &'k str>) -> Option<&'k str> {
    known
        .map(|k| (strsim::jaro_winkler(name, k), k))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

impl<'a> Walker<'a> {
    fn problem(&mut self, path: &[String], message: String) {
        self.problems.push(Problem { path: path.to_vec(), message });
    }

    /// Follows `$ref`s into `$defs`.
    fn resolve(&self, mut s: &'a Json) -> &'a Json {
        for _ in 0..32 {
            let Some(r) = s.get("$ref").and_then(Json::as_str) else { break };
            let Some(name) = r.strip_prefix("#/$defs/") else { break };
            match self.root.get("$defs").and_then(|d| d.get(name)) {
                Some(next) => s = next,
                None => break,
            }
        }
        s
    }

    /// The alternatives of a `oneOf`/`anyOf`, or just `s`.
    fn alternatives(&self, s: &'a Json) -> Vec<&'a Json> {
        let s = self.resolve(s);
        match s.get("oneOf").or_else(|| s.get("anyOf")).and_then(Json::as_array) {
            Some(alts) => alts.iter().flat_map(|a| self.alternatives(a)).collect(),
            // A TOML value is never null: `Option`'s null alternative drops out.
            None if s.get("type").and_then(Json::as_str) == Some("null") => Vec::new(),
            None => vec![s],
        }
    }

    /// The value kinds a schema accepts (`null` aside: a TOML value is never null).
    fn kinds(&self, s: &'a Json) -> Vec<&'a str> {
        let mut out = Vec::new();
        for alt in self.alternatives(s) {
            match alt.get("type") {
                Some(Json::String(t)) => out.push(t.as_str()),
                Some(Json::Array(ts)) => out.extend(ts.iter().filter_map(Json::as_str)),
                _ if alt.get("enum").is_some() || alt.get("const").is_some() => out.push("string"),
                _ => {}
            }
        }
        out.retain(|t| *t != "null");
        out.dedup();
        out
    }

    /// What a schema expects, in the file's terms.
    fn expected(&self, s: &'a Json) -> String {
        let resolved = self.resolve(s);
        if let Some(text) = resolved.get("x-expected").and_then(Json::as_str) {
            return text.to_string();
        }
        let names = self.enum_names(s);
        if !names.is_empty() {
            return format!("one of {}", quoted(&names));
        }
        let words: Vec<String> = self
            .kinds(s)
            .iter()
            .map(|k| match *k {
                "object" => self.table_words(s),
                "array" => "an array".into(),
                "integer" => "a whole number".into(),
                "number" => "a number".into(),
                "string" => "a string".into(),
                "boolean" => "true or false".into(),
                other => other.to_string(),
            })
            .collect();
        if words.is_empty() {
            "a value".into()
        } else {
            words.join(" or ")
        }
    }

    /// "a table with keys a, b" for an object schema with named keys.
    fn table_words(&self, s: &'a Json) -> String {
        let keys: Vec<&str> = self
            .alternatives(s)
            .iter()
            .filter_map(|a| a.get("properties").and_then(Json::as_object))
            .flat_map(|p| p.keys().map(String::as_str))
            .collect();
        if keys.is_empty() || keys.len() > 6 {
            "a table".into()
        } else {
            format!("a table {{ {} }}", keys.join(", "))
        }
    }

    /// The string values an enum schema allows.
    fn enum_names(&self, s: &'a Json) -> Vec<&'a str> {
        let mut out = Vec::new();
        for alt in self.alternatives(s) {
            if let Some(values) = alt.get("enum").and_then(Json::as_array) {
                out.extend(values.iter().filter_map(Json::as_str));
            }
            if let Some(c) = alt.get("const").and_then(Json::as_str) {
                out.push(c);
            }
        }
        out
    }

    fn walk(&mut self, path: &mut Vec<String>, v: &Value, s: &'a Json) {
        let alts = self.alternatives(s);
        // An externally tagged enum of tables: the one key names the alternative.
        let tagged: Vec<(&str, &'a Json)> = alts.iter().filter_map(|a| tag_of(a)).collect();
        if alts.len() > 1 && tagged.len() == alts.len() {
            return self.walk_tagged(path, v, s, &tagged);
        }
        let kinds = self.kinds(s);
        let kind = kind_of(v);
        let fits = kinds.contains(&kind) || (kind == "integer" && kinds.contains(&"number"));
        if !fits && !kinds.is_empty() {
            let hint = match (kind, kinds.first()) {
                ("array", Some(&"object")) if describe(v) == "an array of tables" => {
                    format!(" (write `[{}]` once, not `[[{}]]`)", path.join("."), path.join("."))
                }
                _ => String::new(),
            };
            let msg = format!("expected {}, found {}{hint}", self.expected(s), describe(v));
            return self.problem(path, msg);
        }
        let whole = s;
        let s = alts.iter().copied().find(|a| self.kinds(a).contains(&kind)).unwrap_or(self.resolve(s));
        match v {
            Value::Float(f) if !f.is_finite() => {
                self.problem(path, format!("expected a finite number, found {f}"));
            }
            Value::Integer(i) => self.check_integer(path, *i, s),
            Value::String(text) => {
                let names = self.enum_names(whole);
                if !names.is_empty() && !names.contains(&text.as_str()) {
                    let hint = suggestion(text, names.iter().copied())
                        .map(|n| format!(" (did you mean \"{n}\"?)"))
                        .unwrap_or_default();
                    self.problem(path, format!("expected one of {}, found {text:?}{hint}", quoted(&names)));
                }
            }
            Value::Array(items) => {
                if let Some(item) = s.get("items") {
                    for (i, x) in items.iter().enumerate() {
                        path.push(i.to_string());
                        self.walk(path, x, item);
                        path.pop();
                    }
                }
            }
            Value::Table(t) => self.walk_table(path, t, s),
            _ => {}
        }
    }

    fn check_integer(&mut self, path: &[String], i: i64, s: &'a Json) {
        if !self.kinds(s).contains(&"integer") {
            return; // a number: any integer is one
        }
        let mut range = s
            .get("format")
            .and_then(Json::as_str)
            .and_then(integer_range)
            .unwrap_or((i64::MIN as i128, u64::MAX as i128));
        if let Some(min) = s.get("minimum").and_then(Json::as_f64) {
            range.0 = range.0.max(min.ceil() as i128);
        }
        if let Some(max) = s.get("maximum").and_then(Json::as_f64) {
            range.1 = range.1.min(max.floor() as i128);
        }
        if !(range.0..=range.1).contains(&(i as i128)) {
            let want = if range.0 == 0 && range.1 >= u32::MAX as i128 {
                "a whole number >= 0".to_string()
            } else {
                format!("a whole number in {} ..= {}", range.0, range.1)
            };
            self.problem(path, format!("expected {want}, found {i}"));
        }
    }

    fn walk_table(&mut self, path: &mut Vec<String>, t: &toml::Table, s: &'a Json) {
        let props = s.get("properties").and_then(Json::as_object);
        if let Some(required) = s.get("required").and_then(Json::as_array) {
            for key in required.iter().filter_map(Json::as_str) {
                if !t.contains_key(key) {
                    let want = props.and_then(|p| p.get(key)).map(|k| self.expected(k)).unwrap_or_default();
                    path.push(key.to_string());
                    self.problem(path, format!("missing required key (expected {want})"));
                    path.pop();
                }
            }
        }
        let extra = s.get("additionalProperties");
        for (key, value) in t {
            path.push(key.clone());
            match (props.and_then(|p| p.get(key)), extra) {
                (Some(ps), _) => self.walk(path, value, ps),
                (None, Some(Json::Bool(false))) => {
                    let known: Vec<&str> = props.map(|p| p.keys().map(String::as_str).collect()).unwrap_or_default();
                    let hint = suggestion(key, known.iter().copied())
                        .map(|k| format!(", did you mean `{k}`?"))
                        .unwrap_or_default();
                    self.problem(path, format!("unknown key `{key}`{hint} (expected one of {})", ticked(&known)));
                }
                (None, Some(extra @ Json::Object(_))) => self.walk(path, value, extra),
                _ => {}
            }
            path.pop();
        }
    }

    fn walk_tagged(&mut self, path: &mut Vec<String>, v: &Value, s: &'a Json, tagged: &[(&str, &'a Json)]) {
        let names: Vec<&str> = tagged.iter().map(|(n, _)| *n).collect();
        let what = self.expected(s);
        let Value::Table(t) = v else {
            return self.problem(path, format!("expected {what}, found {}", describe(v)));
        };
        let mut keys = t.keys();
        let (Some(key), None) = (keys.next(), keys.next()) else {
            let found = if t.is_empty() { "an empty table".into() } else { format!("{} keys", t.len()) };
            return self
                .problem(path, format!("expected {what}: one key naming one of {}, found {found}", ticked(&names)));
        };
        match tagged.iter().find(|(n, _)| *n == key) {
            Some((_, inner)) => {
                path.push(key.clone());
                self.walk(path, &t[key], inner);
                path.pop();
            }
            None => {
                let hint = suggestion(key, names.iter().copied())
                    .map(|n| format!(", did you mean `{n}`?"))
                    .unwrap_or_default();
                path.push(key.clone());
                self.problem(path, format!("unknown key `{key}`{hint} (expected one of {})", ticked(&names)));
                path.pop();
            }
        }
    }
}

/// The tag and inner schema of one alternative of an externally tagged
/// enum: an object with exactly one property, which is required.
fn tag_of(alt: &Json) -> Option<(&str, &Json)> {
    let props = alt.get("properties")?.as_object()?;
    let required = alt.get("required")?.as_array()?;
    if props.len() != 1 || required.len() != 1 {
        return None;
    }
    let (name, inner) = props.iter().next()?;
    (required[0].as_str() == Some(name.as_str())).then_some((name.as_str(), inner))
}

fn quoted(names: &[&str]) -> String {
    names.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ")
}

fn ticked(names: &[&str]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}
