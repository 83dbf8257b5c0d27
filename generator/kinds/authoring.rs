//! Authoring tools over the kind registry: `simkit new` (a starter scenario
//! that generates as written) and `simkit schema` (a JSON Schema, draft
//! 2020-12, of one kind or of every kind, for editors such as Taplo / Even
//! Better TOML: put `#:schema ./simkit.schema.json` on a file's first line).

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use super::{lookup, Kind, KINDS};
use crate::error::{Context, Error, Result};
use crate::scenario::common::is_identifier;
use crate::sinks::files::write_atomic;

/// A kind's schema as editors get it: `kind` pinned to its name.
fn kind_schema(kind: &Kind) -> Value {
    let mut s = (kind.schema)();
    if let Some(props) = s.pointer_mut("/properties/kind") {
        *props = json!({ "const": kind.name, "description": format!("The scenario kind: \"{}\".", kind.name) });
    }
    s
}

/// `$ref`s of a schema moved under `$defs/<prefix>...`.
fn prefix_refs(v: &mut Value, prefix: &str) {
    match v {
        Value::Object(map) => {
            for (k, x) in map.iter_mut() {
                match x {
                    Value::String(r) if k == "$ref" && r.starts_with("#/$defs/") => {
                        *r = format!("#/$defs/{prefix}{}", &r["#/$defs/".len()..]);
                    }
                    _ => prefix_refs(x, prefix),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|x| prefix_refs(x, prefix)),
        _ => {}
    }
}

/// The JSON Schema of one kind's files, or (no kind) of every kind's: each
/// kind's schema under `$defs/<kind>`, chosen by the file's `kind`.
pub fn schema(kind: Option<&str>) -> Result<Value> {
    if let Some(name) = kind {
        return Ok(kind_schema(lookup(name)?));
    }
    let mut defs = Map::new();
    let mut branches = Vec::new();
    for k in KINDS {
        let mut s = kind_schema(k);
        let prefix = format!("{}.", k.name);
        prefix_refs(&mut s, &prefix);
        let obj = s.as_object_mut().expect("a schema is an object");
        if let Some(Value::Object(own)) = obj.remove("$defs") {
            defs.extend(own.into_iter().map(|(n, d)| (format!("{prefix}{n}"), d)));
        }
        obj.remove("$schema");
        defs.insert(k.name.to_string(), s);
        branches.push(json!({
            "if": { "properties": { "kind": { "const": k.name } }, "required": ["kind"] },
            "then": { "$ref": format!("#/$defs/{}", k.name) }
        }));
    }
    let names: Vec<&str> = KINDS.iter().map(|k| k.name).collect();
    Ok(json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "simkit scenario",
        "type": "object",
        "required": ["kind"],
        "properties": { "kind": { "enum": names } },
        "allOf": branches,
        "$defs": defs,
    }))
}

/// Writes a starter scenario of `kind` at `path` (and the tables it reads
/// in `<stem>-tables/` beside it). Nothing that exists is overwritten.
/// Returns the files written.
pub fn new_scenario(kind: &str, path: &Path) -> Result<Vec<PathBuf>> {
    let kind = lookup(kind)?;
    let stem = path.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
    if !is_identifier(&stem) || path.extension().is_none_or(|e| e != "toml") {
        return Err(Error(format!(
            "{}: expected a file name NAME.toml whose NAME (the scenario's name) is letters, digits, `_` and `-`",
            path.display()
        )));
    }
    let tables = format!("{stem}-tables");
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut text = kind.starter.text.to_string();
    for (from, to) in kind.starter.rewrites {
        text = text.replacen(from, &to.replace("{name}", &stem).replace("{tables}", &tables), 1);
    }
    let file_name = path.file_name().map(|f| f.to_string_lossy().to_string()).unwrap_or_default();
    let mut files: Vec<(PathBuf, String, &str)> = vec![(dir.to_path_buf(), file_name, &text)];
    files.extend(kind.starter.files.iter().map(|f| (dir.join(&tables), f.path.to_string(), f.content)));
    if let Some((d, n, _)) = files.iter().find(|(d, n, _)| d.join(n).exists()) {
        return Err(Error(format!("{}: already exists; simkit new never overwrites a file", d.join(n).display())));
    }
    if !dir.is_dir() {
        return Err(Error(format!("{}: no such directory", dir.display())));
    }
    if !kind.starter.files.is_empty() {
        std::fs::create_dir(dir.join(&tables)).context(|| dir.join(&tables).display().to_string())?;
    }
    for (d, n, content) in &files {
        write_atomic(d, n, content.as_bytes())?;
    }
    Ok(files.into_iter().map(|(d, n, _)| d.join(n)).collect())
}
