//! Shared CSV reading for the skills that take a customer's spreadsheet export: size and encoding
//! checks, delimiter sniffing, header matching with aliases, and typed cell accessors. Rows that
//! cannot be used are never dropped silently: they land in [`Table::rejected`] with their line.

mod values;

use super::SkillError;
use serde::Serialize;
use std::collections::HashMap;

pub use values::{parse_date, parse_number, parse_number_in};

/// Default upload limit for a CSV file: 10 MiB.
pub const DEFAULT_MAX_BYTES: usize = 10 * 1024 * 1024;

/// One column a skill understands: its canonical name and the other headers exports use for it.
/// Matching ignores case, spaces, `_` and `-`, so `Close Date`, `close_date` and `closeDate` all
/// match `close_date`; aliases cover genuinely different words (`spend` for `cost`).
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
}

impl Column {
    pub const fn new(name: &'static str, aliases: &'static [&'static str]) -> Self {
        Self { name, aliases }
    }
}

/// What a skill needs from a CSV file.
#[derive(Debug, Clone, Copy)]
pub struct TableSpec {
    pub required: &'static [Column],
    pub optional: &'static [Column],
    pub max_bytes: usize,
}

impl TableSpec {
    pub const fn new(required: &'static [Column], optional: &'static [Column]) -> Self {
        Self { required, optional, max_bytes: DEFAULT_MAX_BYTES }
    }

    pub const fn with_max_bytes(mut self, max_bytes: usize) -> Self {
        self.max_bytes = max_bytes;
        self
    }
}

/// A row that was left out of the analysis, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RejectedRow {
    /// 1-based line in the file where the record starts.
    pub line: usize,
    pub reason: String,
}

/// A cell whose value a skill could not use: where, what, and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("column `{column}`: {reason}")]
pub struct CellError {
    pub line: usize,
    pub column: String,
    pub reason: String,
}

/// A parsed CSV file: header, data rows with their line numbers, and the rows set aside.
#[derive(Debug, Clone)]
pub struct Table {
    pub delimiter: u8,
    /// Headers as written in the file.
    pub headers: Vec<String>,
    pub rows: Vec<Row>,
    pub rejected: Vec<RejectedRow>,
    /// Canonical column name -> field index.
    index: HashMap<&'static str, usize>,
}

/// One data record.
#[derive(Debug, Clone)]
pub struct Row {
    pub line: usize,
    fields: Vec<String>,
}

/// A row together with the table's column index, for typed access by canonical column name.
#[derive(Debug, Clone, Copy)]
pub struct RowRef<'a> {
    pub line: usize,
    /// Semicolon files come from decimal-comma locales; numbers are read accordingly.
    decimal_comma: bool,
    fields: &'a [String],
    index: &'a HashMap<&'static str, usize>,
}

/// Reads `bytes` as a CSV file described by `spec`.
///
/// Errors: empty input, over the size limit, not UTF-8 (Latin-1 exports, binary files), or a
/// required column missing. Records with too few fields, or extra non-empty fields, are put in
/// `rejected` with their line.
pub fn read_table(bytes: &[u8], spec: &TableSpec) -> Result<Table, SkillError> {
    if bytes.len() > spec.max_bytes {
        return Err(SkillError::TooLarge { size: bytes.len(), limit: spec.max_bytes });
    }
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let bom = bytes.len() - body.len();
    let text = std::str::from_utf8(body).map_err(|e| SkillError::NotText { offset: bom + e.valid_up_to() })?;
    // NUL never occurs in a text export; its presence means a binary file (xlsx, image, ...).
    if let Some(pos) = text.bytes().position(|b| b == 0) {
        return Err(SkillError::NotText { offset: bom + pos });
    }
    if text.trim().is_empty() {
        return Err(SkillError::Empty);
    }
    let delimiter = sniff_delimiter(text);
    let mut reader =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).delimiter(delimiter).trim(csv::Trim::All).from_reader(text.as_bytes());

    let mut records = reader.records();
    let headers: Vec<String> = match records.next() {
        Some(Ok(rec)) => rec.iter().map(str::to_owned).collect(),
        Some(Err(e)) => return Err(SkillError::Line { line: 1, reason: format!("unreadable header: {e}") }),
        None => return Err(SkillError::Empty),
    };
    let index = match_columns(&headers, spec)?;

    let mut rows = Vec::new();
    let mut rejected = Vec::new();
    let mut lines = LineCounter::new(text);
    for rec in records {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| lines.line_at(p.byte()));
                rejected.push(RejectedRow { line, reason: format!("unreadable record: {e}") });
                continue;
            }
        };
        let line = rec.position().map_or(0, |p| lines.line_at(p.byte()));
        let fields: Vec<String> = rec.iter().map(str::to_owned).collect();
        if fields.iter().all(String::is_empty) {
            rejected.push(RejectedRow { line, reason: "blank row (every field empty)".into() });
            continue;
        }
        if fields.len() < headers.len() {
            rejected
                .push(RejectedRow { line, reason: format!("{} fields, the header has {}: missing fields", fields.len(), headers.len()) });
            continue;
        }
        // Extra empty fields are a trailing-delimiter artefact; extra values are an error.
        if fields.iter().skip(headers.len()).any(|f| !f.is_empty()) {
            rejected.push(RejectedRow {
                line,
                reason: format!(
                    "{} fields, the header has {}: extra values (an unquoted delimiter inside a value?)",
                    fields.len(),
                    headers.len()
                ),
            });
            continue;
        }
        rows.push(Row { line, fields });
    }
    Ok(Table { delimiter, headers, rows, rejected, index })
}

/// Line numbers from the reader's byte offsets. The csv crate's own line count skips blank lines
/// and CRLF endings, and a record's offset may point at the line break before it, so we count
/// ourselves. Offsets only grow, so counting is incremental.
struct LineCounter<'a> {
    text: &'a [u8],
    offset: usize,
    line: usize,
}

impl<'a> LineCounter<'a> {
    fn new(text: &'a str) -> Self {
        Self { text: text.as_bytes(), offset: 0, line: 1 }
    }

    fn line_at(&mut self, byte: u64) -> usize {
        let mut start = usize::try_from(byte).unwrap_or(usize::MAX).min(self.text.len());
        while matches!(self.text.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        if start >= self.offset {
            self.line += self.text.get(self.offset..start).map_or(0, |s| s.iter().filter(|&&b| b == b'\n').count());
            self.offset = start;
        }
        self.line
    }
}

/// Picks `,`, `;` or tab: the one occurring most often outside quotes on the header line.
/// A tie (including none at all, a one-column file) goes to the comma.
fn sniff_delimiter(text: &str) -> u8 {
    let header = header_line(text);
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for b in header.bytes() {
        if b == b'"' {
            quoted = !quoted;
        } else if !quoted {
            for (d, n) in counts.iter_mut() {
                if *d == b {
                    *n += 1;
                }
            }
        }
    }
    counts.iter().fold((b',', 0), |best, &(d, n)| if n > best.1 { (d, n) } else { best }).0
}

/// The first non-blank line, taking quoted line breaks into account.
fn header_line(text: &str) -> &str {
    let start = text.len() - text.trim_start_matches(['\r', '\n']).len();
    let rest = text.get(start..).unwrap_or("");
    let mut quoted = false;
    for (i, c) in rest.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '\n' | '\r' if !quoted => return rest.get(..i).unwrap_or(rest),
            _ => {}
        }
    }
    rest
}

/// Lowercase letters and digits only: what header matching compares.
pub fn normalize_header(h: &str) -> String {
    h.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

fn match_columns(headers: &[String], spec: &TableSpec) -> Result<HashMap<&'static str, usize>, SkillError> {
    let normalized: Vec<String> = headers.iter().map(|h| normalize_header(h)).collect();
    let mut index = HashMap::new();
    let mut missing = Vec::new();
    for (col, required) in spec.required.iter().map(|c| (c, true)).chain(spec.optional.iter().map(|c| (c, false))) {
        let wanted: Vec<String> = std::iter::once(col.name).chain(col.aliases.iter().copied()).map(normalize_header).collect();
        let found: Vec<usize> = normalized.iter().enumerate().filter(|(_, h)| wanted.contains(h)).map(|(i, _)| i).collect();
        match found.as_slice() {
            [] if required => missing.push(col.name),
            [] => {}
            [i] => {
                index.insert(col.name, *i);
            }
            [i, j, ..] => {
                let (a, b) = (headers.get(*i).map_or("", String::as_str), headers.get(*j).map_or("", String::as_str));
                return Err(SkillError::Invalid(format!("columns `{a}` and `{b}` both mean `{}`; keep one of them", col.name)));
            }
        }
    }
    if missing.is_empty() {
        return Ok(index);
    }
    let found: Vec<String> = headers.iter().filter(|h| !h.is_empty()).map(|h| format!("`{h}`")).collect();
    let hint: Vec<String> = missing
        .iter()
        .filter_map(|m| spec.required.iter().find(|c| c.name == *m))
        .filter(|c| !c.aliases.is_empty())
        .map(|c| format!("`{}` may also be called {}", c.name, c.aliases.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ")))
        .collect();
    Err(SkillError::Invalid(format!(
        "missing required column{} {}; the header has {}{}",
        if missing.len() > 1 { "s" } else { "" },
        missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", "),
        if found.is_empty() { "no named columns".to_string() } else { found.join(", ") },
        if hint.is_empty() { String::new() } else { format!(" ({})", hint.join("; ")) }
    )))
}

impl Table {
    /// Whether the file has this (canonical) column.
    pub fn has_column(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// Typed views of the accepted rows.
    pub fn iter(&self) -> impl Iterator<Item = RowRef<'_>> {
        self.rows.iter().map(|r| RowRef { line: r.line, decimal_comma: self.delimiter == b';', fields: &r.fields, index: &self.index })
    }

    /// Runs `parse` on every accepted row. A row it fails on is moved to `rejected` with the
    /// cell error (line and column), so a skill never loses a row without saying so.
    pub fn parse_rows<T>(&mut self, mut parse: impl FnMut(RowRef<'_>) -> Result<T, CellError>) -> Vec<T> {
        let mut ok = Vec::new();
        let mut bad = Vec::new();
        let mut kept = Vec::new();
        for row in std::mem::take(&mut self.rows) {
            let view = RowRef { line: row.line, decimal_comma: self.delimiter == b';', fields: &row.fields, index: &self.index };
            match parse(view) {
                Ok(v) => {
                    ok.push(v);
                    kept.push(row);
                }
                Err(e) => bad.push(RejectedRow { line: e.line, reason: e.to_string() }),
            }
        }
        self.rows = kept;
        self.rejected.extend(bad);
        self.rejected.sort_by_key(|r| r.line);
        ok
    }

    /// Sets a row aside after parsing, for checks that span several cells.
    pub fn reject(&mut self, line: usize, reason: impl Into<String>) {
        self.rows.retain(|r| r.line != line);
        self.rejected.push(RejectedRow { line, reason: reason.into() });
        self.rejected.sort_by_key(|r| r.line);
    }
}

impl<'a> RowRef<'a> {
    /// The trimmed value, `None` when the column is absent or the cell empty.
    pub fn get_str(&self, column: &str) -> Option<&'a str> {
        let i = *self.index.get(column)?;
        self.fields.get(i).map(|s| s.trim()).filter(|s| !s.is_empty())
    }

    /// The value, or an error naming the line and column when absent or empty.
    pub fn require_str(&self, column: &str) -> Result<&'a str, CellError> {
        self.get_str(column).ok_or_else(|| self.error(column, "empty value"))
    }

    /// A number as spreadsheets write it (`1,234.50`, `$12.30`, `45%` -> 45.0, `(12)` -> -12;
    /// in a semicolon file `1.234,50`); `Ok(None)` when empty, an error when not a number.
    pub fn get_f64(&self, column: &str) -> Result<Option<f64>, CellError> {
        match self.get_str(column) {
            None => Ok(None),
            Some(v) => {
                parse_number_in(v, self.decimal_comma).map(Some).ok_or_else(|| self.error(column, &format!("`{v}` is not a number")))
            }
        }
    }

    pub fn require_f64(&self, column: &str) -> Result<f64, CellError> {
        self.get_f64(column)?.ok_or_else(|| self.error(column, "empty value"))
    }

    /// A date as `YYYY-MM-DD` (optionally followed by a time) or `MM/DD/YYYY`; `Ok(None)` when empty.
    pub fn get_date(&self, column: &str) -> Result<Option<chrono::NaiveDate>, CellError> {
        match self.get_str(column) {
            None => Ok(None),
            Some(v) => {
                parse_date(v).map(Some).ok_or_else(|| self.error(column, &format!("`{v}` is not a date (use YYYY-MM-DD or MM/DD/YYYY)")))
            }
        }
    }

    pub fn require_date(&self, column: &str) -> Result<chrono::NaiveDate, CellError> {
        self.get_date(column)?.ok_or_else(|| self.error(column, "empty value"))
    }

    /// A cell error for this row, for checks a skill makes itself (negative counts, ...).
    pub fn error(&self, column: &str, reason: &str) -> CellError {
        CellError { line: self.line, column: column.to_string(), reason: reason.to_string() }
    }
}

/// An integer with thousands separators: `1234567` -> `1,234,567`.
pub fn thousands(v: i64) -> String {
    let digits = v.unsigned_abs().to_string();
    let mut out = String::from(if v < 0 { "-" } else { "" });
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Escapes a value for a Markdown table cell.
pub fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// The "rows not analysed" section every CSV deliverable ends with (empty when none).
pub fn rejected_markdown(rejected: &[RejectedRow]) -> String {
    if rejected.is_empty() {
        return String::new();
    }
    let mut md = format!("\n## Rows not analysed ({})\n\n| Line | Reason |\n|---|---|\n", rejected.len());
    for r in rejected {
        md.push_str(&format!("| {} | {} |\n", r.line, md_cell(&r.reason)));
    }
    md
}

/// How serious a finding is, shared by the CSV-based reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn label(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

#[cfg(test)]
mod tests;
