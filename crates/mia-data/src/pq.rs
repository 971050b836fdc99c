//! Parquet score tables (cargo feature `parquet`).

use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::path::Path;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::{
    DataType, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, SchemaRef, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::error::{NO_TABLE_ROWS, bad, one_line, quote, show_path};
use crate::guard::catch_decoder_panic;
use crate::hash::{hash_file, io_error, open, read_up_to};
use crate::layout::{self, Builder, CellErr, Layout, RowAccess, reason};
use crate::{DataError, InputFile, LoadOptions, ScoreColumns, ScoreTable};

const MAGIC: &[u8; 4] = b"PAR1";
pub(crate) const BATCH: usize = 1 << 16;

pub(crate) fn corrupt(file: &str, e: impl std::fmt::Display) -> DataError {
    let msg = one_line(&e.to_string());
    let msg: String = msg.chars().take(300).collect();
    bad(file, format!("corrupt or unreadable Parquet file: {msg}"))
}

/// Opens a Parquet file defensively and runs `read` on it: checks the leading and trailing
/// magic bytes (with a hint when the file is gzip or text; `hint` says how to read it as
/// the text format it may be, e.g. "if it is CSV, name it .csv"), fingerprints it, and turns a decoder panic on a corrupt file into a
/// [`DataError`]. Shared by every Parquet reader of this crate.
pub(crate) fn read_guarded<T>(
    path: &Path,
    hint: &str,
    read: impl FnOnce(File, &str) -> Result<T, DataError>,
) -> Result<(T, InputFile), DataError> {
    let file = show_path(path);
    let mut f = open(path)?;
    let len = f.metadata().map(|m| m.len()).map_err(|e| io_error(path, &e))?;
    if len == 0 {
        return Err(DataError::Empty { file, message: "file is empty: expected a Parquet file".into() });
    }
    let mut head = [0u8; 4];
    let mut tail = [0u8; 4];
    let n = read_up_to(&mut f, &mut head).map_err(|e| io_error(path, &e))?;
    if n < 4 || &head != MAGIC {
        let hint = if head.starts_with(&[0x1f, 0x8b]) {
            format!(" (it is gzip-compressed; {hint})")
        } else if head[..n].iter().all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace()) {
            format!(" (it looks like text; {hint})")
        } else {
            String::new()
        };
        return Err(bad(&file, format!("not a Parquet file (it does not start with the magic bytes PAR1){hint}")));
    }
    if len < 12 {
        return Err(bad(&file, format!("truncated Parquet file ({len} bytes; too short to hold a footer)")));
    }
    f.seek(SeekFrom::End(-4)).map_err(|e| io_error(path, &e))?;
    let m = read_up_to(&mut f, &mut tail).map_err(|e| io_error(path, &e))?;
    if m < 4 || &tail != MAGIC {
        return Err(bad(&file, "truncated or corrupt Parquet file (the footer magic PAR1 is missing at the end)"));
    }
    drop(f);
    let input = hash_file(path)?;
    let f = open(path)?;
    match catch_decoder_panic(|| read(f, &file)) {
        Ok(r) => Ok((r?, input)),
        Err(what) => Err(corrupt(&file, what)),
    }
}

/// A column to look in when a batch fails to decode ([`batch_error`]): its top-level
/// field in the file, its name as messages show it, and whether it holds record ids.
pub(crate) struct TextColumn {
    pub field: usize,
    pub name: String,
    pub is_id: bool,
}

/// The error for a batch that failed to decode. Arrow's Parquet reader rejects a string
/// column holding bytes that are not UTF-8 with no row or column in its message, so on
/// this error path only the `columns` are read again as raw bytes (a second handle `f` on
/// the file) to name the first such cell: file, row, column and the byte. Any other
/// failure is a corrupt file.
pub(crate) fn batch_error(f: &File, file: &str, columns: &[TextColumn], e: impl std::fmt::Display) -> DataError {
    // The search may itself fail on a corrupt file; then the decoder's error stands.
    let found = f
        .try_clone()
        .ok()
        .and_then(|f| catch_decoder_panic(|| first_non_utf8(f, columns)).ok())
        .and_then(|r| r.ok().flatten());
    let Some((col, row, bytes)) = found else {
        return corrupt(file, e);
    };
    let problem = crate::id::id_text(&bytes).err().map(|p| format!(" ({p})")).unwrap_or_default();
    DataError::Cell {
        file: file.to_string(),
        at: crate::CellLocation { row, line: None, column: Some(quote(&col.name)) },
        expected: if col.is_id { crate::id::EXPECTED } else { "UTF-8 text (a Parquet string column)" }.to_string(),
        found: format!("{}{problem}", crate::error::show_bytes(&bytes)),
    }
}

/// The first cell (column, 1-based row, bytes) of `columns` that is not UTF-8, read with
/// Parquet's low-level column readers, which do not decode text.
fn first_non_utf8(f: File, columns: &[TextColumn]) -> parquet::errors::Result<Option<(&TextColumn, u64, Vec<u8>)>> {
    use parquet::basic::Type as Physical;
    use parquet::column::reader::ColumnReader;
    use parquet::file::reader::{FileReader, SerializedFileReader};

    let reader = SerializedFileReader::new(f)?;
    let schema = reader.metadata().file_metadata().schema_descr_ptr();
    let mut first: Option<(&TextColumn, u64, Vec<u8>)> = None;
    for col in columns {
        // A flat text column is one BYTE_ARRAY leaf under its top-level field.
        let leaves: Vec<usize> =
            (0..schema.num_columns()).filter(|&l| schema.get_column_root_idx(l) == col.field).collect();
        let [leaf] = leaves[..] else { continue };
        let desc = schema.column(leaf);
        if desc.physical_type() != Physical::BYTE_ARRAY || desc.max_rep_level() != 0 {
            continue;
        }
        let max_def = desc.max_def_level();
        let mut row = 0u64;
        'groups: for g in 0..reader.num_row_groups() {
            let ColumnReader::ByteArrayColumnReader(mut r) = reader.get_row_group(g)?.get_column_reader(leaf)? else {
                continue;
            };
            let (mut defs, mut values) = (Vec::new(), Vec::new());
            loop {
                defs.clear();
                values.clear();
                let (records, _, _) = r.read_records(BATCH, Some(&mut defs), None, &mut values)?;
                if records == 0 {
                    break;
                }
                let mut next = values.iter();
                for k in 0..records {
                    row += 1;
                    // Nulls have no value; only rows at the full definition level do.
                    if max_def > 0 && defs.get(k) != Some(&max_def) {
                        continue;
                    }
                    let Some(v) = next.next() else { break };
                    if std::str::from_utf8(v.data()).is_err() {
                        if first.as_ref().is_none_or(|(_, r, _)| row < *r) {
                            first = Some((col, row, v.data().to_vec()));
                        }
                        break 'groups;
                    }
                }
            }
        }
    }
    Ok(first)
}

/// A Parquet file opened for reading batches, its schema available to check first.
pub(crate) struct PqOpen {
    /// A second handle for locating undecodable text ([`batch_error`]).
    raw: File,
    builder: ParquetRecordBatchReaderBuilder<File>,
    /// The top-level column names, in file order.
    pub names: Vec<String>,
}

impl PqOpen {
    pub(crate) fn schema(&self) -> &SchemaRef {
        self.builder.schema()
    }

    /// The row count the footer declares (a capacity hint only).
    pub(crate) fn num_rows(&self) -> usize {
        usize::try_from(self.builder.metadata().file_metadata().num_rows()).unwrap_or(0)
    }
}

/// Reads a Parquet file's footer (`f` from [`read_guarded`]).
pub(crate) fn open_batches(f: File, file: &str) -> Result<PqOpen, DataError> {
    let raw = f.try_clone().map_err(|e| corrupt(file, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(f).map_err(|e| corrupt(file, e))?;
    let names = builder.schema().fields().iter().map(|fl| fl.name().clone()).collect();
    Ok(PqOpen { raw, builder, names })
}

/// Calls `each` on every batch of `open`, reading only the top-level columns `projection`
/// (all when `None`). A batch that fails to decode is a [`batch_error`] looking in `text`.
pub(crate) fn for_each_batch(
    open: PqOpen,
    file: &str,
    projection: Option<&[usize]>,
    text: &[TextColumn],
    mut each: impl FnMut(&RecordBatch) -> Result<(), DataError>,
) -> Result<(), DataError> {
    let PqOpen { raw, builder, .. } = open;
    let builder = match projection {
        Some(cols) => {
            let mask = ProjectionMask::roots(builder.parquet_schema(), cols.iter().copied());
            builder.with_projection(mask)
        }
        None => builder,
    };
    let reader = builder.with_batch_size(BATCH).build().map_err(|e| corrupt(file, e))?;
    for batch in reader {
        each(&batch.map_err(|e| batch_error(&raw, file, text, e))?)?;
    }
    Ok(())
}

pub(crate) fn load_parquet(path: &Path, cols: &ScoreColumns, opts: &LoadOptions) -> Result<ScoreTable, DataError> {
    let (mut table, input) =
        read_guarded(path, "if it is CSV, name it .csv", |f, file| read_table(f, file, cols, opts))?;
    table.inputs.push(input);
    Ok(table)
}

pub(crate) fn is_int(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64
    )
}

/// A text column, or a dictionary of text (record ids).
pub(crate) fn is_text_column(t: &DataType) -> bool {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, v) => matches!(**v, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View),
        _ => false,
    }
}

fn read_table(f: File, file: &str, cols: &ScoreColumns, opts: &LoadOptions) -> Result<ScoreTable, DataError> {
    let open = open_batches(f, file)?;
    let names = open.names.clone();
    let mut notes = Vec::new();
    let layout = layout::resolve(file, &names, cols, &mut notes)?;
    check_types(open.schema(), file, &names, &layout)?;
    let text: Vec<TextColumn> = layout
        .id
        .map(|i| TextColumn { field: i, name: names.get(i).cloned().unwrap_or_default(), is_id: true })
        .into_iter()
        .collect();
    let spec = layout::table_spec(file, &names, &layout, cols);
    let mut b = Builder::new(spec, opts, open.num_rows());
    let mut row: u64 = 0;
    for_each_batch(open, file, Some(&layout.used()), &text, |batch| {
        let col = |i: usize| -> Result<&ArrayRef, DataError> {
            let name = names.get(i).map(String::as_str).unwrap_or("");
            batch.column_by_name(name).ok_or_else(|| bad(file, format!("column {} could not be read", quote(name))))
        };
        let ids = match layout.id {
            Some(i) => Some(string_values(col(i)?).map_err(|e| corrupt(file, e))?),
            None => None,
        };
        let member = int_values(col(layout.member)?).ok_or_else(|| corrupt(file, "unexpected member type"))?;
        let labels = match layout.label {
            Some(i) => Some(int_values(col(i)?).ok_or_else(|| corrupt(file, "unexpected label type"))?),
            None => None,
        };
        let values = layout
            .outputs
            .iter()
            .map(|&i| float_values(col(i)?).ok_or_else(|| corrupt(file, "unexpected output type")))
            .collect::<Result<Vec<_>, _>>()?;
        for i in 0..batch.num_rows() {
            row += 1;
            let r = PqRow { i, ids: ids.as_deref(), member: &member, labels: labels.as_deref(), values: &values };
            b.push(row, None, &r)?;
        }
        Ok(())
    })?;
    if b.rows_read() == 0 {
        return Err(DataError::Empty { file: file.to_string(), message: NO_TABLE_ROWS.into() });
    }
    b.finish(file, Vec::new(), notes)
}

/// Checks the types of the columns a score table uses.
fn check_types(schema: &SchemaRef, file: &str, names: &[String], layout: &Layout) -> Result<(), DataError> {
    let type_of = |i: usize| schema.fields().get(i).map(|fl| fl.data_type().clone()).unwrap_or(DataType::Null);
    let check = |i: usize, ok: bool, expected: &str| -> Result<(), DataError> {
        if ok {
            Ok(())
        } else {
            Err(DataError::ColumnType {
                file: file.to_string(),
                column: one_line(names.get(i).map(String::as_str).unwrap_or("")),
                expected: expected.to_string(),
                found: type_of(i).to_string(),
            })
        }
    };
    if let Some(i) = layout.id {
        let t = type_of(i);
        check(i, is_text_column(&t) || is_int(&t), "a string or integer column")?;
    }
    let t = type_of(layout.member);
    check(layout.member, t == DataType::Boolean || is_int(&t), "a boolean or integer (0/1) column")?;
    if let Some(i) = layout.label {
        check(i, is_int(&type_of(i)), "an integer column (class index)")?;
    }
    for &i in &layout.outputs {
        let t = type_of(i);
        check(i, matches!(t, DataType::Float32 | DataType::Float64) || is_int(&t), "a float32 or float64 column")?;
    }
    Ok(())
}

macro_rules! prim {
    ($a:expr, $t:ty, $conv:expr) => {
        $a.as_primitive_opt::<$t>().map(|x| x.iter().map(|v| v.map($conv)).collect())
    };
}

pub(crate) fn int_values(a: &ArrayRef) -> Option<Vec<Option<i128>>> {
    match a.data_type() {
        DataType::Int8 => prim!(a, Int8Type, i128::from),
        DataType::Int16 => prim!(a, Int16Type, i128::from),
        DataType::Int32 => prim!(a, Int32Type, i128::from),
        DataType::Int64 => prim!(a, Int64Type, i128::from),
        DataType::UInt8 => prim!(a, UInt8Type, i128::from),
        DataType::UInt16 => prim!(a, UInt16Type, i128::from),
        DataType::UInt32 => prim!(a, UInt32Type, i128::from),
        DataType::UInt64 => prim!(a, UInt64Type, i128::from),
        DataType::Boolean => a.as_boolean_opt().map(|x| x.iter().map(|v| v.map(i128::from)).collect()),
        _ => None,
    }
}

pub(crate) fn float_values(a: &ArrayRef) -> Option<Vec<Option<f64>>> {
    match a.data_type() {
        DataType::Float64 => prim!(a, Float64Type, |v| v),
        DataType::Float32 => prim!(a, Float32Type, f64::from),
        DataType::Int8 => prim!(a, Int8Type, f64::from),
        DataType::Int16 => prim!(a, Int16Type, f64::from),
        DataType::Int32 => prim!(a, Int32Type, f64::from),
        DataType::Int64 => prim!(a, Int64Type, |v| v as f64),
        DataType::UInt8 => prim!(a, UInt8Type, f64::from),
        DataType::UInt16 => prim!(a, UInt16Type, f64::from),
        DataType::UInt32 => prim!(a, UInt32Type, f64::from),
        DataType::UInt64 => prim!(a, UInt64Type, |v| v as f64),
        _ => None,
    }
}

pub(crate) fn string_values(a: &ArrayRef) -> Result<Vec<Option<String>>, String> {
    let owned = |it: &mut dyn Iterator<Item = Option<&str>>| it.map(|v| v.map(str::to_string)).collect();
    match a.data_type() {
        DataType::Utf8 => a.as_string_opt::<i32>().map(|x| owned(&mut x.iter())).ok_or_else(|| "bad utf8".into()),
        DataType::LargeUtf8 => a.as_string_opt::<i64>().map(|x| owned(&mut x.iter())).ok_or_else(|| "bad utf8".into()),
        DataType::Utf8View => a.as_string_view_opt().map(|x| owned(&mut x.iter())).ok_or_else(|| "bad utf8".into()),
        DataType::Dictionary(_, _) => {
            let c = arrow::compute::cast(a, &DataType::Utf8).map_err(|e| e.to_string())?;
            string_values(&c)
        }
        t if is_int(t) => Ok(int_values(a).unwrap_or_default().into_iter().map(|v| v.map(|v| v.to_string())).collect()),
        t => Err(format!("unexpected id type {t}")),
    }
}

struct PqRow<'a> {
    i: usize,
    ids: Option<&'a [Option<String>]>,
    member: &'a [Option<i128>],
    labels: Option<&'a [Option<i128>]>,
    values: &'a [Vec<Option<f64>>],
}

fn null(expected: &'static str, reason: &'static str) -> CellErr {
    CellErr::new(expected, "null".to_string(), reason)
}

impl RowAccess for PqRow<'_> {
    fn id(&self) -> Result<String, CellErr> {
        match self.ids.and_then(|v| v.get(self.i)) {
            Some(Some(s)) if !s.trim().is_empty() => crate::id::checked_id(s.as_bytes()).map(str::to_string),
            Some(Some(s)) => Err(CellErr::new("a non-empty record id", quote(s), reason::ID)),
            _ => Err(null("a non-empty record id", reason::ID)),
        }
    }

    fn member(&self) -> Result<bool, CellErr> {
        match self.member.get(self.i) {
            Some(Some(1)) => Ok(true),
            Some(Some(0)) => Ok(false),
            Some(Some(v)) => Err(CellErr::new("0/1 or true/false", v.to_string(), reason::MEMBER)),
            _ => Err(null("0/1 or true/false", reason::MEMBER)),
        }
    }

    fn label(&self) -> Result<u64, CellErr> {
        let expected = "a non-negative integer class label";
        match self.labels.and_then(|v| v.get(self.i)) {
            Some(Some(v)) => u64::try_from(*v).map_err(|_| CellErr::new(expected, v.to_string(), reason::LABEL)),
            _ => Err(null(expected, reason::LABEL)),
        }
    }

    fn value(&self, k: usize) -> Result<f64, CellErr> {
        match self.values.get(k).and_then(|c| c.get(self.i)) {
            Some(Some(v)) if v.is_finite() => Ok(*v),
            Some(Some(v)) => Err(CellErr::new("a finite number", v.to_string(), reason::NON_FINITE)),
            _ => Err(null("a number", reason::NON_NUMERIC)),
        }
    }
}
