//! Strict CSV tables: typed rows (serde) that remember the line each row came
//! from, so a later check (an unknown brand id, an empty menu) can still name
//! `file:line:column` and the column. The header must name exactly the row
//! type's columns (from its JSON Schema): a misspelt or missing column is an
//! error, never a column silently left empty.

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::de::DeserializeOwned;

use super::shape::suggestion;
use crate::error::{Error, Result};

pub struct Table<T> {
    pub path: PathBuf,
    pub headers: Vec<String>,
    pub rows: Vec<T>,
    lines: Vec<u64>,
}

/// The columns of a row type: all of them, and the required ones.
fn columns<T: JsonSchema>() -> (Vec<String>, Vec<String>) {
    let schema = schemars::schema_for!(T);
    let v = schema.as_value();
    let names = |key: &str| -> Vec<String> {
        match v.get(key) {
            Some(serde_json::Value::Object(m)) => m.keys().cloned().collect(),
            Some(serde_json::Value::Array(a)) => a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
            _ => Vec::new(),
        }
    };
    (names("properties"), names("required"))
}

fn check_header(name: &str, headers: &[String], all: &[String], required: &[String]) -> Result<()> {
    for (i, h) in headers.iter().enumerate() {
        if !all.contains(h) {
            let hint = suggestion(h, all.iter().map(String::as_str))
                .map(|s| format!("did you mean `{s}`? "))
                .unwrap_or_default();
            return Err(Error(format!(
                "{name}:1:{}: unknown column `{h}` ({hint}expected the columns {})",
                i + 1,
                all.join(",")
            )));
        }
        if headers[..i].contains(h) {
            return Err(Error(format!("{name}:1:{}: column `{h}` appears twice", i + 1)));
        }
    }
    let missing: Vec<&str> = required.iter().filter(|c| !headers.contains(c)).map(String::as_str).collect();
    if !missing.is_empty() {
        return Err(Error(format!(
            "{name}:1: missing column{} `{}` (expected the columns {})",
            if missing.len() > 1 { "s" } else { "" },
            missing.join("`, `"),
            all.join(",")
        )));
    }
    Ok(())
}

/// A cell that did not parse, in the file's terms.
fn cell_problem(kind: &csv::DeserializeErrorKind, cell: &str) -> String {
    use csv::DeserializeErrorKind as K;
    match kind {
        K::ParseInt(_) => format!("expected a whole number, found {cell:?}"),
        K::ParseFloat(_) => format!("expected a number, found {cell:?}"),
        K::ParseBool(_) => format!("expected true or false, found {cell:?}"),
        K::InvalidUtf8(_) => "expected UTF-8 text".into(),
        K::UnexpectedEndOfRow => "the row has too few values".into(),
        K::Message(m) | K::Unsupported(m) => format!("expected a value, found {cell:?} ({m})"),
    }
}

/// Reads the table in file `path`.
pub fn read<T: DeserializeOwned + JsonSchema>(path: &Path) -> Result<Table<T>> {
    let file = std::fs::File::open(path).map_err(|e| Error(format!("{}: cannot read table: {e}", path.display())))?;
    read_from(path, file)
}

/// Reads a table from `source`; `path` names it in messages.
pub fn read_from<T: DeserializeOwned + JsonSchema>(path: &Path, source: impl std::io::Read) -> Result<Table<T>> {
    let name = path.display().to_string();
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(source);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| Error(format!("{name}:1: cannot read the header row: {}", io_cause(&e))))?
        .iter()
        .map(str::to_string)
        .collect();
    let (all, required) = columns::<T>();
    check_header(&name, &headers, &all, &required)?;
    let header_record = csv::StringRecord::from(headers.clone());
    let mut table = Table { path: path.to_path_buf(), headers, rows: Vec::new(), lines: Vec::new() };
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = record.position().map_or(0, |p| p.line());
                let row = record.deserialize::<T>(Some(&header_record)).map_err(|e| match e.kind() {
                    csv::ErrorKind::Deserialize { err, .. } => {
                        let column = err.field().map(|f| f as usize).unwrap_or(0).min(table.headers.len() - 1);
                        let cell = record.get(column).unwrap_or("");
                        table.error_at_line(line, &table.headers[column], &cell_problem(err.kind(), cell))
                    }
                    _ => Error(format!("{name}:{line}: {e}")),
                })?;
                table.rows.push(row);
                table.lines.push(line);
            }
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                return Err(Error(format!("{name}:{line}: malformed CSV: {}", io_cause(&e))));
            }
        }
    }
    if table.rows.is_empty() {
        return Err(Error(format!("{name}: the table has no rows")));
    }
    Ok(table)
}

fn io_cause(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Io(io) => io.to_string(),
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("the row has {len} values, the header {expected_len}")
        }
        csv::ErrorKind::Utf8 { .. } => "expected UTF-8 text".into(),
        _ => e.to_string(),
    }
}

impl<T> Table<T> {
    /// An error about row `index`, column `column`.
    pub fn error(&self, index: usize, column: &str, message: &str) -> Error {
        self.error_at_line(self.lines[index], column, message)
    }

    /// The file line of row `index`.
    pub fn line(&self, index: usize) -> u64 {
        self.lines[index]
    }

    fn error_at_line(&self, line: u64, column: &str, message: &str) -> Error {
        let col = self.headers.iter().position(|h| h == column).map_or(0, |i| i + 1);
        Error(format!("{}:{line}:{col}: column `{column}`: {message}", self.path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Row {
        id: u32,
        name: String,
        note: Option<String>,
    }

    fn read_text(text: &str) -> Result<Table<Row>> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        std::fs::write(&p, text).unwrap();
        read::<Row>(&p).map_err(|e| Error(e.0.replace(&dir.path().display().to_string(), "")))
    }

    #[test]
    fn bad_cell_names_line_and_column() {
        let e = read_text("id,name\n1,a\nx,b\n").err().unwrap();
        assert!(e.0.ends_with("t.csv:3:1: column `id`: expected a whole number, found \"x\""), "{e}");
        assert!(read_text("id,name\n1,a\n2\n").err().unwrap().0.contains("t.csv:3"));
        let e = read::<Row>(Path::new("/nonexistent/missing.csv")).err().unwrap();
        assert!(e.0.contains("missing.csv: cannot read table"), "{e}");
        let t = read_text("id,name\n1,a\n").unwrap();
        assert!(t.error(0, "name", "bad").0.ends_with("t.csv:2:2: column `name`: bad"));
    }

    #[test]
    fn the_header_names_exactly_the_columns() {
        let e = read_text("id,nmae\n1,a\n").err().unwrap();
        assert!(e.0.contains("t.csv:1:2: unknown column `nmae` (did you mean `name`?"), "{e}");
        let e = read_text("id,note\n1,a\n").err().unwrap();
        assert!(e.0.contains("t.csv:1: missing column `name`"), "{e}");
        let e = read_text("id,name,name\n1,a,b\n").err().unwrap();
        assert!(e.0.contains("column `name` appears twice"), "{e}");
        // An optional column may be left out.
        assert_eq!(read_text("name,id\nb,2\n").unwrap().rows[0].id, 2);
    }
}
