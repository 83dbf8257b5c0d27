//! Strict CSV tables: typed rows (serde) that remember the line each row came
//! from, so a later check (an unknown brand id, an empty menu) can still name
//! `file:line` and the column.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

pub struct Table<T> {
    pub path: PathBuf,
    pub headers: Vec<String>,
    pub rows: Vec<T>,
    lines: Vec<u64>,
}

pub fn read<T: DeserializeOwned>(path: &Path) -> Result<Table<T>> {
    let name = path.display().to_string();
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| Error(format!("{name}: cannot read table: {}", io_cause(&e))))?;
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| Error(format!("{name}:1: cannot read the header row: {e}")))?
        .iter()
        .map(str::to_string)
        .collect();
    let mut table = Table { path: path.to_path_buf(), headers, rows: Vec::new(), lines: Vec::new() };
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = record.position().map_or(0, |p| p.line());
                let row =
                    record.deserialize::<T>(Some(&csv::StringRecord::from(table.headers.clone()))).map_err(|e| {
                        let column = match e.kind() {
                            csv::ErrorKind::Deserialize { err, .. } => err.field().map(|f| f as usize),
                            _ => None,
                        };
                        let detail = match e.kind() {
                            csv::ErrorKind::Deserialize { err, .. } => err.kind().to_string(),
                            _ => e.to_string(),
                        };
                        match column {
                            Some(c) => {
                                table.error_at_line(line, &table.headers[c.min(table.headers.len() - 1)], &detail)
                            }
                            None => Error(format!("{name}:{line}: {detail}")),
                        }
                    })?;
                table.rows.push(row);
                table.lines.push(line);
            }
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                return Err(Error(format!("{name}:{line}: malformed CSV: {e}")));
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
        _ => e.to_string(),
    }
}

impl<T> Table<T> {
    /// An error about row `index`, column `column`.
    pub fn error(&self, index: usize, column: &str, message: &str) -> Error {
        self.error_at_line(self.lines[index], column, message)
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

    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Row {
        id: u32,
        name: String,
    }

    #[test]
    fn bad_cell_names_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        std::fs::write(&p, "id,name\n1,a\nx,b\n").unwrap();
        let e = read::<Row>(&p).err().unwrap();
        assert!(e.0.ends_with("t.csv:3:1: column `id`: invalid digit found in string"), "{e}");
        std::fs::write(&p, "id,name\n1,a\n2\n").unwrap();
        assert!(read::<Row>(&p).err().unwrap().0.contains("t.csv:3"));
        let e = read::<Row>(&dir.path().join("missing.csv")).err().unwrap();
        assert!(e.0.contains("missing.csv: cannot read table"), "{e}");
        std::fs::write(&p, "id,name\n1,a\n").unwrap();
        let t = read::<Row>(&p).unwrap();
        assert_eq!(t.error(0, "name", "bad").0, format!("{}:2:2: column `name`: bad", p.display()));
    }
}
