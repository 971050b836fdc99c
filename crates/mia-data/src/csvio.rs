//! The CSV reading stack every CSV reader of this crate shares: open, fingerprint, sniff
//! the first bytes (empty, gzip, Parquet or NumPy by mistake), decompress, bound the line
//! length, parse, and report record errors with their physical line.
//!
//! Readers differ only in their messages and in how they interpret records, so those are
//! passed in ([`CsvOpen`]) or left to the caller ([`CsvRecords`]).

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use csv::ByteRecord;

use crate::error::show_path;
use crate::hash::{HashingReader, io_error, open};
use crate::lines::{LineLimit, LineTooLong};
use crate::{DataError, InputFile};

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The message for a CSV file that has a header but no data rows.
pub(crate) const NO_DATA_ROWS: &str = "no data rows: the file has a header but no records";

/// The CSV reader of [`with_csv`], over the decompressed, line-bounded text.
pub(crate) type CsvReader<'a> = csv::Reader<LineLimit<Box<dyn Read + 'a>>>;

/// What [`with_csv`] checks before parsing, and how it words what it finds.
pub(crate) struct CsvOpen {
    /// The message for a file of zero bytes; `None`: not checked (the parser sees no records).
    pub empty: Option<&'static str>,
    /// Whether the gzip magic bytes decide on decompression: a gzip-named file without
    /// them is an error, and a plain-named one with them is read decompressed. Otherwise
    /// the name alone decides.
    pub sniff_gzip: bool,
    /// The message for a Parquet file given as CSV; `None`: not checked.
    pub parquet: Option<&'static str>,
    /// The message for a NumPy `.npy` file given as CSV; `None`: not checked.
    pub npy: Option<&'static str>,
    /// Whether to note a plain-named file that turned out to be gzip.
    pub note_gzip_named_csv: bool,
    /// Where a read error before the first data row is said to be ("in the header", "at the start").
    pub start: &'static str,
}

impl CsvOpen {
    fn looks_at_head(&self) -> bool {
        self.empty.is_some() || self.sniff_gzip || self.parquet.is_some() || self.npy.is_some()
    }
}

/// Opens `path` (gzip-compressed when `gz_by_name`, or as the first bytes say) and runs
/// `body` on its records, then fingerprints the whole file. `configure` adjusts the CSV
/// parser (by default: no header handling, rows of any length, 64 KiB buffer). `body`
/// gets the notes made while opening.
pub(crate) fn with_csv<T>(
    path: &Path,
    gz_by_name: bool,
    how: &CsvOpen,
    configure: impl FnOnce(&mut csv::ReaderBuilder),
    body: impl FnOnce(&mut CsvRecords<'_>, Vec<String>) -> Result<T, DataError>,
) -> Result<(T, InputFile), DataError> {
    let file = show_path(path);
    let mut hashing = HashingReader::new(open(path)?);
    let out = {
        let mut buf = BufReader::with_capacity(1 << 16, &mut hashing);
        // Skipped when nothing is checked, so a read error surfaces from the parser as before.
        let head = if how.looks_at_head() { buf.fill_buf().map_err(|e| io_error(path, &e))? } else { &[] };
        let (gz, notes) = sniff(head, &file, gz_by_name, how)?;
        let text: Box<dyn Read + '_> =
            if gz { Box::new(flate2::bufread::MultiGzDecoder::new(buf)) } else { Box::new(buf) };
        let mut builder = csv::ReaderBuilder::new();
        builder.has_headers(false).flexible(true).buffer_capacity(1 << 16);
        configure(&mut builder);
        let mut records =
            CsvRecords { rdr: builder.from_reader(LineLimit::new(text)), path, file, gz, start: how.start };
        body(&mut records, notes)?
    };
    Ok((out, hashing.finish(path)?))
}

/// Checks the first bytes; returns whether to decompress, and any notes.
fn sniff(head: &[u8], file: &str, gz_by_name: bool, how: &CsvOpen) -> Result<(bool, Vec<String>), DataError> {
    let bad = |message: &str| DataError::BadFile { file: file.to_string(), message: message.to_string() };
    if let Some(message) = how.empty
        && head.is_empty()
    {
        return Err(DataError::Empty { file: file.to_string(), message: message.into() });
    }
    if !how.sniff_gzip {
        return Ok((gz_by_name, Vec::new()));
    }
    let is_gzip = head.starts_with(&GZIP_MAGIC);
    if gz_by_name && !is_gzip {
        return Err(bad(
            "not a gzip file (it does not start with the gzip magic bytes 1f 8b); if it is plain CSV, name it .csv",
        ));
    }
    let mut notes = Vec::new();
    if !is_gzip {
        if let Some(message) = how.parquet
            && head.starts_with(b"PAR1")
        {
            return Err(bad(message));
        }
        if let Some(message) = how.npy
            && head.starts_with(b"\x93NUMPY")
        {
            return Err(bad(message));
        }
    } else if !gz_by_name && how.note_gzip_named_csv {
        notes.push(format!("{file} is gzip-compressed although named .csv; read it decompressed"));
    }
    Ok((is_gzip, notes))
}

/// The records of an open CSV file, with errors worded for its file.
pub(crate) struct CsvRecords<'a> {
    rdr: CsvReader<'a>,
    path: &'a Path,
    file: String,
    gz: bool,
    start: &'static str,
}

impl<'a> CsvRecords<'a> {
    /// The file as messages name it.
    pub(crate) fn file(&self) -> &str {
        &self.file
    }

    /// The parser itself, for a reader with its own error wording.
    pub(crate) fn reader(&mut self) -> &mut CsvReader<'a> {
        &mut self.rdr
    }

    /// Reads the first record (a header or a data row); none is an [`DataError::Empty`] saying `no_rows`.
    pub(crate) fn first(&mut self, rec: &mut ByteRecord, no_rows: &str) -> Result<(), DataError> {
        match self.rdr.read_byte_record(rec) {
            Ok(true) => Ok(()),
            Ok(false) => Err(DataError::Empty { file: self.file.clone(), message: no_rows.into() }),
            Err(e) => Err(csv_error(&self.file, e, self.gz, 0, self.start)),
        }
    }

    /// Reads the next record; `false` at the end. `rows` data rows were read before it.
    pub(crate) fn next(&mut self, rec: &mut ByteRecord, rows: u64) -> Result<bool, DataError> {
        self.rdr.read_byte_record(rec).map_err(|e| csv_error(&self.file, e, self.gz, rows, self.start))
    }

    /// Finds the physical lines of this file's records (for messages).
    pub(crate) fn lines(&self) -> RecordLines<'a> {
        RecordLines { path: self.path, gz: self.gz }
    }
}

/// Finds a record's physical line by reading its file again; only done for a message.
#[derive(Clone, Copy)]
pub(crate) struct RecordLines<'a> {
    path: &'a Path,
    gz: bool,
}

impl RecordLines<'_> {
    /// The 1-based physical line of `rec`, a record just read.
    pub(crate) fn of(&self, rec: &ByteRecord) -> Option<u64> {
        rec.position().and_then(|p| line_at(self.path, self.gz, p.byte()))
    }
}

/// A CSV read error as one line; `rows` data rows were read before it (`start` names the
/// place when there were none: "in the header", "at the start").
fn csv_error(file: &str, e: csv::Error, gz: bool, rows: u64, start: &str) -> DataError {
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
fn line_at(path: &Path, gz: bool, byte: u64) -> Option<u64> {
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
