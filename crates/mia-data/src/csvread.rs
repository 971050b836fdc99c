//! CSV score tables, plain or gzip-compressed.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use csv::ByteRecord;

use crate::error::{show_bytes, show_path};
use crate::hash::{HashingReader, io_error, open};
use crate::layout::{self, Builder, CellErr, Layout, RowAccess, reason};
use crate::lines::{LineLimit, LineTooLong};
use crate::{DataError, LoadOptions, ScoreColumns, ScoreTable};

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

pub(crate) fn load_csv(
    path: &Path,
    cols: &ScoreColumns,
    opts: &LoadOptions,
    gz_by_name: bool,
) -> Result<ScoreTable, DataError> {
    let file = show_path(path);
    let mut buf = BufReader::with_capacity(1 << 16, HashingReader::new(open(path)?));
    let head = buf.fill_buf().map_err(|e| io_error(path, &e))?.to_vec();
    if head.is_empty() {
        return Err(DataError::Empty {
            file,
            message: "file is empty: expected a header row naming the columns, then one row per record".into(),
        });
    }
    let is_gzip = head.starts_with(&GZIP_MAGIC);
    let mut notes = Vec::new();
    if gz_by_name && !is_gzip {
        return Err(DataError::BadFile {
            file,
            message:
                "not a gzip file (it does not start with the gzip magic bytes 1f 8b); if it is plain CSV, name it .csv"
                    .into(),
        });
    }
    if !gz_by_name {
        if head.starts_with(b"PAR1") {
            return Err(DataError::BadFile {
                file,
                message: "this is a Parquet file, not CSV; name it .parquet".into(),
            });
        }
        if head.starts_with(b"\x93NUMPY") {
            return Err(DataError::BadFile {
                file,
                message:
                    "this is a NumPy .npy array, not CSV; pass arrays as logits/probs, labels, member and ids inputs"
                        .into(),
            });
        }
        if is_gzip {
            notes.push(format!("{file} is gzip-compressed although named .csv; read it decompressed"));
        }
    }

    let (table, inner) = if is_gzip {
        let mut rdr = csv_reader(LineLimit::new(flate2::bufread::MultiGzDecoder::new(buf)));
        let built = read_table(&mut rdr, path, &file, cols, opts, true, notes)?;
        (built, rdr.into_inner().into_inner().into_inner().into_inner())
    } else {
        let mut rdr = csv_reader(LineLimit::new(buf));
        let built = read_table(&mut rdr, path, &file, cols, opts, false, notes)?;
        (built, rdr.into_inner().into_inner().into_inner())
    };
    let mut table = table;
    table.inputs.push(inner.finish(path)?);
    Ok(table)
}

fn csv_reader<R: Read>(r: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new().has_headers(false).flexible(true).buffer_capacity(1 << 16).from_reader(r)
}

/// A CSV read error as one line; `rows` data rows were read before it (`start` names the
/// place when there were none: "in the header", "at the start").
pub(crate) fn csv_error(file: &str, e: csv::Error, gz: bool, rows: u64, start: &str) -> DataError {
    if let Some(long) = LineTooLong::of_csv(&e) {
        return DataError::BadFile { file: file.to_string(), message: long.to_string() };
    }
    let what = match e.kind() {
        csv::ErrorKind::Io(io) if gz => format!("corrupt or truncated gzip data: {io}"),
        csv::ErrorKind::Io(io) => format!("read error: {io}"),
        _ => e.to_string(),
    };
    let at = if rows == 0 { start.to_string() } else { format!("after data row {rows}") };
    DataError::BadFile { file: file.to_string(), message: format!("{at}: {}", crate::error::one_line(&what)) }
}

/// The 1-based physical line of the record whose position is `byte` in the
/// (decompressed) text, found by reading the file again: only done for an error message.
/// (The csv crate's own line numbers are off after CRLF line ends, and its record offsets
/// point just past the previous record, before any line ends and blank lines.) A `\r\n`,
/// a lone `\r` and a lone `\n` each end one line.
pub(crate) fn line_at(path: &Path, gz: bool, byte: u64) -> Option<u64> {
    let file = BufReader::with_capacity(1 << 16, std::fs::File::open(path).ok()?);
    let mut reader: Box<dyn Read> =
        if gz { Box::new(flate2::bufread::MultiGzDecoder::new(file)) } else { Box::new(file) };
    let mut pos = 0u64;
    let mut lines = 1u64;
    let mut prev_cr = false;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) | Err(_) => return Some(lines),
            Ok(n) => n,
        };
        for &b in buf.get(..n)? {
            // Past the offset, only line ends and blank lines before the record remain.
            if pos >= byte && b != b'\r' && b != b'\n' {
                return Some(lines);
            }
            if b == b'\r' || (b == b'\n' && !prev_cr) {
                lines += 1;
            }
            prev_cr = b == b'\r';
            pos += 1;
        }
    }
}

/// Puts the line number into a row error.
pub(crate) fn with_line(e: DataError, line: Option<u64>) -> DataError {
    match e {
        DataError::Cell { file, mut at, expected, found } => {
            at.line = line;
            DataError::Cell { file, at, expected, found }
        }
        DataError::ProbabilitySum { file, row, columns, sum, tolerance, .. } => {
            DataError::ProbabilitySum { file, row, line, columns, sum, tolerance }
        }
        other => other,
    }
}

fn read_table<R: Read>(
    rdr: &mut csv::Reader<R>,
    path: &Path,
    file: &str,
    cols: &ScoreColumns,
    opts: &LoadOptions,
    gz: bool,
    mut notes: Vec<String>,
) -> Result<ScoreTable, DataError> {
    let mut rec = ByteRecord::new();
    match rdr.read_byte_record(&mut rec) {
        Ok(true) => {}
        Ok(false) => {
            return Err(DataError::Empty {
                file: file.to_string(),
                message: "file is empty: expected a header row naming the columns, then one row per record".into(),
            });
        }
        Err(e) => return Err(csv_error(file, e, gz, 0, "in the header")),
    }
    let names: Vec<String> = rec.iter().map(|f| String::from_utf8_lossy(f.trim_ascii()).into_owned()).collect();
    let layout = layout::resolve(file, &names, cols, &mut notes)?;
    let spec = layout::table_spec(file, &names, &layout, cols);
    let mut builder = Builder::new(spec, opts, 1024);
    let n_fields = names.len();
    let mut row: u64 = 0;
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(csv_error(file, e, gz, row, "in the header")),
        }
        row += 1;
        let line = || rec.position().and_then(|p| line_at(path, gz, p.byte()));
        if rec.len() != n_fields {
            return Err(DataError::FieldCount {
                file: file.to_string(),
                row,
                line: line(),
                expected: n_fields,
                found: rec.len(),
            });
        }
        if let Err(e) = builder.push(row, None, &CsvRow { rec: &rec, layout: &layout }) {
            return Err(with_line(e, line()));
        }
    }
    if builder.rows_read() == 0 {
        return Err(DataError::Empty {
            file: file.to_string(),
            message: "no data rows: the file has a header but no records".into(),
        });
    }
    builder.finish(file, Vec::new(), notes)
}

struct CsvRow<'a> {
    rec: &'a ByteRecord,
    layout: &'a Layout,
}

impl CsvRow<'_> {
    fn field(&self, i: usize) -> &[u8] {
        self.rec.get(i).unwrap_or(b"").trim_ascii()
    }
}

impl RowAccess for CsvRow<'_> {
    fn id(&self) -> Result<String, CellErr> {
        let b = self.layout.id.map(|i| self.field(i)).unwrap_or(b"");
        if b.is_empty() {
            return Err(CellErr::new("a non-empty record id", show_bytes(b), reason::ID));
        }
        crate::id::checked_id(b).map(str::to_string)
    }

    fn member(&self) -> Result<bool, CellErr> {
        parse_member(self.field(self.layout.member))
    }

    fn label(&self) -> Result<u64, CellErr> {
        parse_label(self.layout.label.map(|i| self.field(i)).unwrap_or(b""))
    }

    fn value(&self, k: usize) -> Result<f64, CellErr> {
        parse_f64(self.layout.outputs.get(k).map(|&i| self.field(i)).unwrap_or(b""))
    }
}

pub(crate) fn parse_member(b: &[u8]) -> Result<bool, CellErr> {
    if b == b"1" || b.eq_ignore_ascii_case(b"true") {
        Ok(true)
    } else if b == b"0" || b.eq_ignore_ascii_case(b"false") {
        Ok(false)
    } else {
        Err(CellErr::new("0/1 or true/false", show_bytes(b), reason::MEMBER))
    }
}

pub(crate) fn parse_label(b: &[u8]) -> Result<u64, CellErr> {
    let bad = || CellErr::new("a non-negative integer class label", show_bytes(b), reason::LABEL);
    if b.is_empty() || b.len() > 19 || !b.iter().all(u8::is_ascii_digit) {
        return Err(bad());
    }
    std::str::from_utf8(b).ok().and_then(|s| s.parse().ok()).ok_or_else(bad)
}

pub(crate) fn parse_f64(b: &[u8]) -> Result<f64, CellErr> {
    let parsed = std::str::from_utf8(b).ok().filter(|s| !s.is_empty()).and_then(|s| s.parse::<f64>().ok());
    match parsed {
        Some(v) if v.is_finite() => Ok(v),
        Some(_) => Err(CellErr::new("a finite number", show_bytes(b), reason::NON_FINITE)),
        None => Err(CellErr::new("a number", show_bytes(b), reason::NON_NUMERIC)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats() {
        for (s, v) in [("1", 1.0), ("-2.5", -2.5), ("1e-3", 1e-3), (".5", 0.5), ("5.", 5.0), ("+3", 3.0), ("-0", -0.0)]
        {
            assert_eq!(parse_f64(s.as_bytes()).unwrap(), v, "{s}");
        }
        for s in ["nan", "NaN", "inf", "-inf", "Infinity", "INF", "1e999"] {
            assert_eq!(parse_f64(s.as_bytes()).unwrap_err().reason, reason::NON_FINITE, "{s}");
        }
        for s in ["", "x", "1,5", "0x10", "1 2", "\u{ff}"] {
            assert_eq!(parse_f64(s.as_bytes()).unwrap_err().reason, reason::NON_NUMERIC, "{s}");
        }
    }

    #[test]
    fn labels() {
        assert_eq!(parse_label(b"0").unwrap(), 0);
        assert_eq!(parse_label(b"007").unwrap(), 7);
        assert_eq!(parse_label(b"18446744073709551615").unwrap_err().reason, reason::LABEL);
        for s in ["", "-1", "+1", "1.0", "1e2", " "] {
            assert!(parse_label(s.as_bytes()).is_err(), "{s}");
        }
    }

    #[test]
    fn members() {
        for (s, v) in [("1", true), ("0", false), ("true", true), ("FALSE", false), ("True", true)] {
            assert_eq!(parse_member(s.as_bytes()).unwrap(), v, "{s}");
        }
        for s in ["2", "yes", "", "1.0", "t"] {
            assert!(parse_member(s.as_bytes()).is_err(), "{s}");
        }
    }
}
