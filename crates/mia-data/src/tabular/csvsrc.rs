//! Tables from CSV text, plain or gzip-compressed.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use csv::ByteRecord;

use super::{Builder, Cell, Plan, Row, Table, TableOptions, TableSchema, usage};
use crate::DataError;
use crate::csvread::{csv_error, line_at, with_line};
use crate::error::show_path;
use crate::hash::{HashingReader, io_error, open};
use crate::lines::LineLimit;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

pub(super) fn load(path: &Path, s: &TableSchema, opts: &TableOptions, gz_by_name: bool) -> Result<Table, DataError> {
    let file = show_path(path);
    if s.header && s.names.is_some() {
        return Err(usage(
            &file,
            "`names` is for a CSV without a header row: set header = false, or remove `names`".to_string(),
        ));
    }
    let mut buf = BufReader::with_capacity(1 << 16, HashingReader::new(open(path)?));
    let head = buf.fill_buf().map_err(|e| io_error(path, &e))?;
    let head: Vec<u8> = head.get(..head.len().min(8)).unwrap_or_default().to_vec();
    if head.is_empty() {
        return Err(DataError::Empty { file, message: "file is empty: expected CSV rows".into() });
    }
    let is_gzip = head.starts_with(&GZIP_MAGIC);
    if gz_by_name && !is_gzip {
        return Err(DataError::BadFile {
            file,
            message:
                "not a gzip file (it does not start with the gzip magic bytes 1f 8b); if it is plain CSV, name it .csv"
                    .into(),
        });
    }
    if !is_gzip && head.starts_with(b"PAR1") {
        return Err(DataError::BadFile {
            file,
            message: "this is a Parquet file, not CSV; name it .parquet or set format = \"parquet\"".into(),
        });
    }
    let (mut table, inner) = if is_gzip {
        let mut rdr = csv_reader(LineLimit::new(flate2::bufread::MultiGzDecoder::new(buf)), s);
        let t = read(&mut rdr, path, &file, s, opts, true)?;
        (t, rdr.into_inner().into_inner().into_inner().into_inner())
    } else {
        let mut rdr = csv_reader(LineLimit::new(buf), s);
        let t = read(&mut rdr, path, &file, s, opts, false)?;
        (t, rdr.into_inner().into_inner().into_inner())
    };
    let input = inner.finish(path)?;
    table.inputs.push(input);
    Ok(table)
}

fn csv_reader<R: Read>(r: R, s: &TableSchema) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(s.delimiter as u8)
        .comment(s.comment.map(|c| c as u8))
        .buffer_capacity(1 << 16)
        .from_reader(r)
}

struct CsvRow<'a>(&'a ByteRecord);

impl Row for CsvRow<'_> {
    fn cell(&self, col: usize) -> Cell<'_> {
        Cell::Text(self.0.get(col).unwrap_or(b""))
    }
}

fn read<R: Read>(
    rdr: &mut csv::Reader<R>,
    path: &Path,
    file: &str,
    s: &TableSchema,
    opts: &TableOptions,
    gz: bool,
) -> Result<Table, DataError> {
    let mut rec = ByteRecord::new();
    match rdr.read_byte_record(&mut rec) {
        Ok(true) => {}
        Ok(false) => {
            return Err(DataError::Empty {
                file: file.to_string(),
                message: "no rows: expected CSV rows (the file holds only blank or comment lines)".into(),
            });
        }
        Err(e) => return Err(csv_error(file, e, gz, 0, "at the start")),
    }
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
    let line = |rec: &ByteRecord| rec.position().and_then(|p| line_at(path, gz, p.byte()));
    let mut row: u64 = 0;
    let take = |b: &mut Builder, rec: &ByteRecord, row: u64| -> Result<(), DataError> {
        if rec.len() != n_fields {
            let l = if opts.skip_invalid_rows { None } else { line(rec) };
            return b.ragged(row, l, rec.len(), basis);
        }
        b.push(row, &CsvRow(rec)).map_err(|e| with_line(e, line(rec)))
    };
    if first_is_data {
        row = 1;
        take(&mut b, &rec, row)?;
    }
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(csv_error(file, e, gz, row, "at the start")),
        }
        row += 1;
        take(&mut b, &rec, row)?;
    }
    if b.rows_read == 0 {
        return Err(DataError::Empty {
            file: file.to_string(),
            message: "no data rows: the file has a header but no records".into(),
        });
    }
    b.finish(Vec::new(), Vec::new())
}
