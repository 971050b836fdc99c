//! Tables from CSV text, plain or gzip-compressed.

use std::path::Path;

use csv::ByteRecord;

use super::{Builder, Cell, Plan, Row, Table, TableOptions, TableSchema, usage};
use crate::DataError;
use crate::csvio::{CsvOpen, CsvRecords, NO_DATA_ROWS, with_csv, with_line};
use crate::error::show_path;

pub(super) fn load(path: &Path, s: &TableSchema, opts: &TableOptions, gz_by_name: bool) -> Result<Table, DataError> {
    let file = show_path(path);
    if s.header && s.names.is_some() {
        return Err(usage(
            &file,
            "`names` is for a CSV without a header row: set header = false, or remove `names`".to_string(),
        ));
    }
    let open = CsvOpen {
        empty: Some("file is empty: expected CSV rows"),
        sniff_gzip: true,
        parquet: Some("this is a Parquet file, not CSV; name it .parquet or set format = \"parquet\""),
        npy: None,
        note_gzip_named_csv: false,
        start: "at the start",
    };
    let configure = |b: &mut csv::ReaderBuilder| {
        b.delimiter(s.delimiter as u8).comment(s.comment.map(|c| c as u8));
    };
    let (mut table, input) = with_csv(path, gz_by_name, &open, configure, |recs, _| read(recs, s, opts))?;
    table.inputs.push(input);
    Ok(table)
}

struct CsvRow<'a>(&'a ByteRecord);

impl Row for CsvRow<'_> {
    fn cell(&self, col: usize) -> Cell<'_> {
        Cell::Text(self.0.get(col).unwrap_or(b""))
    }
}

fn read(recs: &mut CsvRecords<'_>, s: &TableSchema, opts: &TableOptions) -> Result<Table, DataError> {
    let file = recs.file().to_string();
    let file = file.as_str();
    let mut rec = ByteRecord::new();
    recs.first(&mut rec, "no rows: expected CSV rows (the file holds only blank or comment lines)")?;
    let (names, positional, basis, first_is_data) = if s.header {
        let names: Vec<String> = rec
            .iter()
            .enumerate()
            .map(|(i, f)| {
                // A UTF-8 byte-order mark before the first name is not part of it.
                let f = if i == 0 { f.strip_prefix(b"\xef\xbb\xbf").unwrap_or(f) } else { f };
                let f = if s.trim { f.trim_ascii() } else { f };
                String::from_utf8_lossy(f).into_owned()
            })
            .collect();
        (names, false, "as in the header", false)
    } else if let Some(names) = &s.names {
        (names.clone(), false, "as listed in `names`", true)
    } else {
        ((0..rec.len()).map(|i| i.to_string()).collect(), true, "as in the first row", true)
    };
    let plan = Plan::new(file, names, s, positional)?;
    let n_fields = plan.names.len();
    let mut b = Builder::new(plan, s, opts);
    let lines = recs.lines();
    let mut row: u64 = 0;
    let take = |b: &mut Builder, rec: &ByteRecord, row: u64| -> Result<(), DataError> {
        if rec.len() != n_fields {
            let l = if opts.skip_invalid_rows { None } else { lines.of(rec) };
            return b.ragged(row, l, rec.len(), basis);
        }
        b.push(row, &CsvRow(rec)).map_err(|e| with_line(e, lines.of(rec)))
    };
    if first_is_data {
        row = 1;
        take(&mut b, &rec, row)?;
    }
    while recs.next(&mut rec, row)? {
        row += 1;
        take(&mut b, &rec, row)?;
    }
    if b.rows_read == 0 {
        return Err(DataError::Empty { file: file.to_string(), message: NO_DATA_ROWS.into() });
    }
    b.finish(Vec::new(), Vec::new())
}
