//! Parquet score tables (cargo feature `parquet`).

use std::cell::Cell;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Once;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{
    DataType, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type, UInt32Type,
    UInt64Type,
};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::error::{one_line, quote, show_path};
use crate::hash::{hash_file, io_error, open};
use crate::layout::{self, Builder, CellErr, RowAccess, reason};
use crate::{DataError, InputFile, LoadOptions, ScoreColumns, ScoreTable};

const MAGIC: &[u8; 4] = b"PAR1";
pub(crate) const BATCH: usize = 1 << 16;

pub(crate) fn bad(file: &str, message: impl Into<String>) -> DataError {
    DataError::BadFile { file: file.to_string(), message: message.into() }
}

pub(crate) fn corrupt(file: &str, e: impl std::fmt::Display) -> DataError {
    let msg = one_line(&e.to_string());
    let msg: String = msg.chars().take(300).collect();
    bad(file, format!("corrupt or unreadable Parquet file: {msg}"))
}

/// Opens a Parquet file defensively and runs `read` on it: checks the leading and trailing
/// magic bytes (with a hint when the file is gzip or text; `csv_hint` says how to read it as
/// CSV instead), fingerprints it, and turns a decoder panic on a corrupt file into a
/// [`DataError`]. Shared by every Parquet reader of this crate.
pub(crate) fn read_guarded<T>(
    path: &Path,
    csv_hint: &str,
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
            format!(" (it is gzip-compressed; if it is CSV, {csv_hint})")
        } else if head[..n].iter().all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace()) {
            format!(" (it looks like text; if it is CSV, {csv_hint})")
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
    let result = {
        let _quiet = QuietPanics::enter();
        catch_unwind(AssertUnwindSafe(|| read(f, &file)))
    };
    match result {
        Ok(r) => Ok((r?, input)),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "decoder failure".to_string());
            Err(corrupt(&file, what))
        }
    }
}

pub(crate) fn load_parquet(path: &Path, cols: &ScoreColumns, opts: &LoadOptions) -> Result<ScoreTable, DataError> {
    let (mut table, input) = read_guarded(path, "name it .csv", |f, file| read_table(f, file, cols, opts))?;
    table.inputs.push(input);
    Ok(table)
}

thread_local! {
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// While alive, panics on this thread are not printed by the panic hook.
///
/// The Parquet decoder can panic on some corrupt files (e.g. an arithmetic overflow on a
/// mangled length). Such panics are caught and turned into a [`DataError`], but the default
/// hook would still print "thread panicked at ..." to stderr. The first use installs a hook
/// that defers to the previous one except on a thread inside this guard.
struct QuietPanics;

impl QuietPanics {
    fn enter() -> Self {
        static INSTALL: Once = Once::new();
        INSTALL.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                if !QUIET.with(Cell::get) {
                    previous(info);
                }
            }));
        });
        QUIET.with(|q| q.set(true));
        QuietPanics
    }
}

impl Drop for QuietPanics {
    fn drop(&mut self) {
        QUIET.with(|q| q.set(false));
    }
}

fn read_up_to(f: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn is_int(t: &DataType) -> bool {
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

fn is_string(t: &DataType) -> bool {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, v) => matches!(**v, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View),
        _ => false,
    }
}

fn read_table(f: File, file: &str, cols: &ScoreColumns, opts: &LoadOptions) -> Result<ScoreTable, DataError> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(f).map_err(|e| corrupt(file, e))?;
    let schema = builder.schema().clone();
    let names: Vec<String> = schema.fields().iter().map(|fl| fl.name().clone()).collect();
    let mut notes = Vec::new();
    let layout = layout::resolve(file, &names, cols, &mut notes)?;

    // Types of the columns used.
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
        check(i, is_string(&t) || is_int(&t), "a string or integer column")?;
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

    let capacity = usize::try_from(builder.metadata().file_metadata().num_rows()).unwrap_or(0);
    let mask = ProjectionMask::roots(builder.parquet_schema(), layout.used());
    let reader = builder.with_projection(mask).with_batch_size(BATCH).build().map_err(|e| corrupt(file, e))?;
    let spec = layout::table_spec(file, &names, &layout, cols);
    let mut b = Builder::new(spec, opts, capacity);

    let mut row: u64 = 0;
    for batch in reader {
        let batch = batch.map_err(|e| corrupt(file, e))?;
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
    }
    if b.rows_read() == 0 {
        return Err(DataError::Empty { file: file.to_string(), message: "no data rows: the table has 0 rows".into() });
    }
    b.finish(file, Vec::new(), notes)
}

macro_rules! prim {
    ($a:expr, $t:ty, $conv:expr) => {
        $a.as_primitive_opt::<$t>().map(|x| x.iter().map(|v| v.map($conv)).collect())
    };
}

fn int_values(a: &ArrayRef) -> Option<Vec<Option<i128>>> {
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

fn float_values(a: &ArrayRef) -> Option<Vec<Option<f64>>> {
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

fn string_values(a: &ArrayRef) -> Result<Vec<Option<String>>, String> {
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
            Some(Some(s)) if !s.trim().is_empty() => Ok(s.clone()),
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
