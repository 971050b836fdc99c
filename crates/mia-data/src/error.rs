//! [`DataError`]: every way an input file can be wrong, each rendered as one line that
//! names the file, and where it applies the row, the column, what was expected and what
//! was found.

use std::fmt;

/// Where a bad value sits: 1-based data row (the header is not counted), the physical
/// line for text files, and the column as shown to the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellLocation {
    /// 1-based data row; the header row is not counted.
    pub row: u64,
    /// 1-based physical line in a text file (header included), when known.
    pub line: Option<u64>,
    /// The column as shown to the user: `"member"` (quoted) for a table column, `3` for
    /// the class index of a 2-D array, `None` for a 1-D array.
    pub column: Option<String>,
}

impl fmt::Display for CellLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "row {}", self.row)?;
        if let Some(line) = self.line {
            write!(f, " (line {line})")?;
        }
        if let Some(col) = &self.column {
            write!(f, ", column {col}")?;
        }
        Ok(())
    }
}

/// What the position of a [`DataError::Field`] counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordUnit {
    /// Physical lines of a text file (JSON Lines), 1-based, blank lines included.
    Line,
    /// Data rows of a table (Parquet), 1-based.
    Row,
}

impl fmt::Display for RecordUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RecordUnit::Line => "line",
            RecordUnit::Row => "row",
        })
    }
}

/// A JSON field's name as messages show it: quoted, except a description in parentheses.
fn field_name(f: &str) -> String {
    if f.starts_with('(') { f.to_string() } else { format!("\"{f}\"") }
}

/// An input that cannot be read as asked. `Display` is always exactly one line.
///
/// File names are shown as given (control characters escaped); cell text is quoted and
/// truncated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// The file could not be opened or read.
    #[error("{file}: cannot read: {message}")]
    Io { file: String, message: String },

    /// The file name's extension is not one this reader accepts.
    #[error("{file}: unsupported file type ({found}); accepted: {accepted}")]
    UnknownFormat { file: String, found: String, accepted: String },

    /// The file is not what its name says, or is corrupt or truncated.
    #[error("{file}: {message}")]
    BadFile { file: String, message: String },

    /// No data rows (empty file, header only, zero-length arrays).
    #[error("{file}: {message}")]
    Empty { file: String, message: String },

    /// One cell (or array element) holds a value that is not allowed.
    #[error("{file}: {at}: expected {expected}, found {found}")]
    Cell { file: String, at: CellLocation, expected: String, found: String },

    /// A field of a record (a JSON Lines object, or a Parquet row's column) is missing or
    /// holds a value that is not allowed. `line` is the 1-based position `unit` counts: the
    /// physical line of a JSON Lines file, the data row of a Parquet file.
    #[error("{file}: {unit} {line}, field {field}: expected {expected}, found {found}", field = field_name(.field))]
    Field { file: String, unit: RecordUnit, line: u64, field: String, expected: String, found: String },

    /// A CSV row with a different number of fields than the header.
    #[error(
        "{file}: row {row}{line}: expected {expected} fields as in the header, found {found}",
        line = .line.map(|l| format!(" (line {l})")).unwrap_or_default()
    )]
    FieldCount { file: String, row: u64, line: Option<u64>, expected: usize, found: usize },

    /// A row of probabilities that does not sum to 1 within the tolerance.
    #[error(
        "{file}: row {row}{line}, columns {columns}: expected probabilities summing to 1 (within tolerance {tolerance:e}), found sum {sum}",
        line = .line.map(|l| format!(" (line {l})")).unwrap_or_default()
    )]
    ProbabilitySum { file: String, row: u64, line: Option<u64>, columns: String, sum: f64, tolerance: f64 },

    /// A required column is absent.
    #[error("{file}: missing required column \"{column}\" ({why}); columns found: {}", list_columns(.found))]
    MissingColumn { file: String, column: String, why: String, found: Vec<String> },

    /// The same column name appears twice in the header.
    #[error("{file}: duplicate column \"{column}\" in the header (columns {first} and {second})")]
    DuplicateColumn { file: String, column: String, first: usize, second: usize },

    /// No logit, probability or loss columns.
    #[error("{file}: no model-output columns: expected {accepted}; columns found: {}", list_columns(.found))]
    NoOutputColumns { file: String, accepted: String, found: Vec<String> },

    /// Class columns with a gap, or fewer than two of them.
    #[error("{file}: {message}")]
    ClassColumns { file: String, message: String },

    /// A Parquet column of a type that cannot hold what the column means.
    #[error("{file}: column \"{column}\": expected {expected}, found type {found}")]
    ColumnType { file: String, column: String, expected: String, found: String },

    /// Two rows with the same record id.
    #[error(
        "{file}: rows {first_row} and {second_row}{col}: expected unique record ids, found {id} twice",
        col = .column.as_ref().map(|c| format!(", column {c}")).unwrap_or_default()
    )]
    DuplicateId { file: String, column: Option<String>, id: String, first_row: u64, second_row: u64 },

    /// Membership must have both classes to measure an attack.
    #[error(
        "{file}: need at least one member and one non-member, found {members} member(s) and {non_members} non-member(s){after}",
        after = if *.skipped > 0 { format!(" after skipping {} invalid row(s)", .skipped) } else { String::new() }
    )]
    OneClass { file: String, members: usize, non_members: usize, skipped: usize },

    /// Every row was invalid and skipped.
    #[error("{file}: all {rows} data rows were skipped as invalid ({reasons})")]
    AllSkipped { file: String, rows: usize, reasons: String },

    /// Two parallel arrays of different lengths.
    #[error("{file_a} has {len_a} rows but {file_b} has {len_b}; arrays must have one entry per record")]
    LengthMismatch { file_a: String, len_a: usize, file_b: String, len_b: usize },

    /// An NPY array of the wrong dtype.
    #[error("{file}: expected {expected}, found dtype {found}")]
    NpyDtype { file: String, expected: String, found: String },

    /// An NPY array of the wrong shape.
    #[error("{file}: expected {expected}, found shape {found}")]
    NpyShape { file: String, expected: String, found: String },

    /// A row with a different number of fields than the table's columns (tabular data:
    /// `basis` says where the column count comes from, e.g. "as in the header").
    #[error(
        "{file}: row {row}{line}: expected {expected} fields {basis}, found {found}",
        line = .line.map(|l| format!(" (line {l})")).unwrap_or_default()
    )]
    RowLength { file: String, row: u64, line: Option<u64>, expected: usize, found: usize, basis: String },

    /// A label column holding fewer than two classes.
    #[error(
        "{file}: column {column} (label): expected at least two classes, found only {class} in {rows} row(s){after}",
        after = if *.skipped > 0 { format!(" after skipping {} invalid row(s)", .skipped) } else { String::new() }
    )]
    OneLabelClass { file: String, column: String, class: String, rows: usize, skipped: usize },

    /// Inputs or options that cannot be used together (e.g. logits without labels), or an
    /// option out of range.
    #[error("{message}")]
    Usage { message: String },
}

/// Shows a list of column names on one line, at most 20 of them.
fn list_columns(cols: &[String]) -> String {
    if cols.is_empty() {
        return "(none)".to_string();
    }
    const MAX: usize = 20;
    let mut s = cols.iter().take(MAX).map(|c| quote(c)).collect::<Vec<_>>().join(", ");
    if cols.len() > MAX {
        s.push_str(&format!(", … ({} more)", cols.len() - MAX));
    }
    s
}

/// A user string as shown in messages: double-quoted, control characters escaped,
/// truncated to 60 characters.
pub(crate) fn quote(s: &str) -> String {
    const MAX: usize = 60;
    let mut t: String = s.chars().take(MAX).collect();
    if s.chars().nth(MAX).is_some() {
        t.push('…');
    }
    format!("{t:?}")
}

/// Bytes of a cell as shown in messages (lossy UTF-8, quoted, truncated); an empty cell
/// is described in words.
pub(crate) fn show_bytes(b: &[u8]) -> String {
    if b.is_empty() {
        return "an empty cell".to_string();
    }
    // Truncate before decoding so a huge cell costs nothing.
    let cut = &b[..b.len().min(256)];
    let s = String::from_utf8_lossy(cut);
    let mut q = quote(&s);
    if b.len() > 256 && !q.ends_with("…\"") {
        q.insert(q.len() - 1, '…');
    }
    q
}

/// A file name as shown in messages: as given, with control characters escaped so the
/// message stays on one line.
pub(crate) fn show_path(p: &std::path::Path) -> String {
    one_line(&p.display().to_string())
}

/// Escapes control characters (newlines included) so that text stays on one line.
pub(crate) fn one_line(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// A [`DataError::BadFile`]: the file is not what its name says, or is corrupt.
pub(crate) fn bad(file: &str, message: impl Into<String>) -> DataError {
    DataError::BadFile { file: file.to_string(), message: message.into() }
}

/// The message for a table (Parquet, or a wide reference table) without rows.
pub(crate) const NO_TABLE_ROWS: &str = "no data rows: the table has 0 rows";
