//! CSV score tables, plain or gzip-compressed.

use std::path::Path;

use csv::ByteRecord;

use crate::csvio::{CsvOpen, CsvRecords, NO_DATA_ROWS, with_csv, with_line};
use crate::error::show_bytes;
use crate::layout::{self, Builder, CellErr, Layout, RowAccess, reason};
use crate::{DataError, LoadOptions, ScoreColumns, ScoreTable};

/// How score files are opened: the header is required, and a Parquet, NumPy or
/// gzip file named as CSV is named as such.
const OPEN: CsvOpen = CsvOpen {
    empty: Some(NO_HEADER),
    sniff_gzip: true,
    parquet: Some("this is a Parquet file, not CSV; name it .parquet"),
    npy: Some("this is a NumPy .npy array, not CSV; pass arrays as logits/probs, labels, member and ids inputs"),
    note_gzip_named_csv: true,
    start: "in the header",
};

const NO_HEADER: &str = "file is empty: expected a header row naming the columns, then one row per record";

pub(crate) fn load_csv(
    path: &Path,
    cols: &ScoreColumns,
    opts: &LoadOptions,
    gz_by_name: bool,
) -> Result<ScoreTable, DataError> {
    let (mut table, input) =
        with_csv(path, gz_by_name, &OPEN, |_| {}, |recs, notes| read_table(recs, cols, opts, notes))?;
    table.inputs.push(input);
    Ok(table)
}

fn read_table(
    recs: &mut CsvRecords<'_>,
    cols: &ScoreColumns,
    opts: &LoadOptions,
    mut notes: Vec<String>,
) -> Result<ScoreTable, DataError> {
    let file = recs.file().to_string();
    let file = file.as_str();
    let lines = recs.lines();
    let mut rec = ByteRecord::new();
    recs.first(&mut rec, NO_HEADER)?;
    let names: Vec<String> = rec.iter().map(|f| String::from_utf8_lossy(f.trim_ascii()).into_owned()).collect();
    let layout = layout::resolve(file, &names, cols, &mut notes)?;
    let spec = layout::table_spec(file, &names, &layout, cols);
    let mut builder = Builder::new(spec, opts, 1024);
    let n_fields = names.len();
    let mut row: u64 = 0;
    while recs.next(&mut rec, row)? {
        row += 1;
        if rec.len() != n_fields {
            return Err(DataError::FieldCount {
                file: file.to_string(),
                row,
                line: lines.of(&rec),
                expected: n_fields,
                found: rec.len(),
            });
        }
        if let Err(e) = builder.push(row, None, &CsvRow { rec: &rec, layout: &layout }) {
            return Err(with_line(e, lines.of(&rec)));
        }
    }
    if builder.rows_read() == 0 {
        return Err(DataError::Empty { file: file.to_string(), message: NO_DATA_ROWS.into() });
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
