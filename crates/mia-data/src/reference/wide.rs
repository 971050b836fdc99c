//! Wide reference tables (CSV, gzip CSV, Parquet): one row per record, an `id` column,
//! `phi_k` or `loss_k` and `keep_k` columns per reference model. The files are read by the
//! crate's shared CSV ([`crate::csvio`]) and Parquet ([`crate::pq`]) layers.

use std::path::Path;

use super::arrays::Val;
use super::{Block, Ids, Loc, Mask, PopulationArrays, Raw, RefSignal};
use crate::csvio::{CsvOpen, CsvRecords, with_csv};
use crate::error::{NO_TABLE_ROWS, bad, one_line, quote};
use crate::lines::LineTooLong;
use crate::{DataError, InputFile};

/// Column indices of a wide reference table.
struct WideLayout {
    id: Option<usize>,
    prefix: &'static str,
    signal: RefSignal,
    values: Vec<usize>,
    keep: Vec<usize>,
}

/// `{prefix}0 .. {prefix}{K-1}`, contiguous; an error for gaps.
fn numbered(file: &str, names: &[String], prefix: &str) -> Result<Vec<usize>, DataError> {
    let mut found: Vec<(usize, usize)> = Vec::new();
    for (i, n) in names.iter().enumerate() {
        if let Some(rest) = n.strip_prefix(prefix)
            && let Ok(k) = rest.parse::<usize>()
            && rest == k.to_string()
        {
            found.push((k, i));
        }
    }
    found.sort_unstable();
    for (want, &(k, _)) in found.iter().enumerate() {
        if k != want {
            return Err(bad(
                file,
                format!(
                    "columns {prefix}0 … must be numbered without gaps or repeats: expected \"{prefix}{want}\", \
                     found \"{prefix}{k}\""
                ),
            ));
        }
    }
    Ok(found.into_iter().map(|(_, i)| i).collect())
}

fn wide_layout(file: &str, names: &[String], signal: Option<RefSignal>) -> Result<WideLayout, DataError> {
    let phi = numbered(file, names, "phi_")?;
    let loss = numbered(file, names, "loss_")?;
    let (prefix, signal, values) = match signal {
        Some(RefSignal::Phi) => ("phi_", RefSignal::Phi, phi),
        Some(RefSignal::Loss) => ("loss_", RefSignal::Loss, loss),
        Some(s) => {
            return Err(bad(
                file,
                format!(
                    "a reference table holds phi_k or loss_k columns, not {}; export K × N × C {} as .npy or .npz",
                    s.name(),
                    s.name()
                ),
            ));
        }
        None if !phi.is_empty() && !loss.is_empty() => {
            return Err(bad(file, "both phi_k and loss_k columns: choose one with --reference-signal phi|loss"));
        }
        None if !loss.is_empty() => ("loss_", RefSignal::Loss, loss),
        None => ("phi_", RefSignal::Phi, phi),
    };
    if values.is_empty() {
        return Err(DataError::MissingColumn {
            file: file.to_string(),
            column: format!("{prefix}0"),
            why: format!("one {prefix}k column per reference model"),
            found: names.to_vec(),
        });
    }
    let keep = numbered(file, names, "keep_")?;
    if !keep.is_empty() && keep.len() != values.len() {
        return Err(bad(
            file,
            format!(
                "{} {prefix}k columns but {} keep_k columns: expected one of each per reference model",
                values.len(),
                keep.len()
            ),
        ));
    }
    let id = names.iter().position(|n| n == "id");
    Ok(WideLayout { id, prefix, signal, values, keep })
}

/// Accumulates a wide table's rows.
struct WideSink {
    layout: WideLayout,
    file: String,
    values: Vec<Vec<f64>>,
    keep: Vec<Vec<bool>>,
    ids: Vec<String>,
    rows: usize,
}

impl WideSink {
    fn new(layout: WideLayout, file: &str) -> Self {
        let k = layout.values.len();
        let kk = layout.keep.len();
        WideSink {
            layout,
            file: file.to_string(),
            values: vec![Vec::new(); k],
            keep: vec![Vec::new(); kk],
            ids: Vec::new(),
            rows: 0,
        }
    }

    fn cell_err(&self, col: &str, expected: &str, v: Val) -> DataError {
        self.cell_error(col, expected, v.show())
    }

    fn cell_error(&self, col: &str, expected: &str, found: String) -> DataError {
        DataError::Cell {
            file: self.file.clone(),
            at: crate::CellLocation { row: self.rows as u64 + 1, line: None, column: Some(quote(col)) },
            expected: expected.to_string(),
            found,
        }
    }

    /// One row; `cell(column index)` gives its value.
    fn push<'a>(&mut self, names: &[String], cell: impl Fn(usize) -> Val<'a>) -> Result<(), DataError> {
        if let Some(i) = self.layout.id {
            let v = cell(i);
            let id = v.id().map_err(|e| self.cell_error(&names[i], &e.expected, e.found))?;
            self.ids.push(id);
        }
        for (k, &i) in self.layout.values.iter().enumerate() {
            let v = cell(i);
            let x = match v {
                Val::B(_) | Val::Null => None,
                _ => v.number(),
            };
            let x = x.ok_or_else(|| self.cell_err(&names[i], "a number", v))?;
            self.values[k].push(x);
        }
        for (k, &i) in self.layout.keep.iter().enumerate() {
            let v = cell(i);
            let b = v.flag().ok_or_else(|| self.cell_err(&names[i], "a boolean keep flag (true/false or 0/1)", v))?;
            self.keep[k].push(b);
        }
        self.rows += 1;
        Ok(())
    }

    fn finish(self) -> Result<Raw, DataError> {
        let file = self.file;
        if self.rows == 0 {
            return Err(DataError::Empty { file, message: NO_TABLE_ROWS.into() });
        }
        let (k, m) = (self.values.len(), self.rows);
        let loc = Loc::Table { prefix: self.layout.prefix.to_string() };
        let block = Block { values: self.values.concat(), k, m, c: None, file: file.clone(), loc: loc.clone() };
        let keep = (!self.keep.is_empty()).then(|| Mask { flags: self.keep.concat(), k, m, file: file.clone() });
        let ids = self.layout.id.map(|_| Ids { ids: self.ids, file: file.clone(), loc });
        Ok(Raw { block, signal: self.layout.signal, keep, ids, population: PopulationArrays::default() })
    }
}

/// How wide reference tables are opened: nothing is sniffed (the name alone says whether
/// it is gzip, and an empty file has no columns), and the csv crate reads the header and
/// rejects ragged rows itself, so its own messages stand (`start` is unused: errors are
/// worded by [`read_wide_csv`]).
const WIDE_CSV: CsvOpen =
    CsvOpen { empty: None, sniff_gzip: false, parquet: None, npy: None, note_gzip_named_csv: false, start: "" };

pub(super) fn read_csv_source(path: &Path, gz: bool, signal: Option<RefSignal>) -> Result<(Raw, InputFile), DataError> {
    let configure = |b: &mut csv::ReaderBuilder| {
        b.has_headers(true).flexible(false);
    };
    with_csv(path, gz, &WIDE_CSV, configure, |recs, _| read_wide_csv(recs, signal))
}

/// Reads a wide table's records; every read error is "cannot read as CSV", as the
/// csv crate words it.
fn read_wide_csv(recs: &mut CsvRecords<'_>, signal: Option<RefSignal>) -> Result<Raw, DataError> {
    let file = recs.file().to_string();
    let csv = recs.reader();
    let csv_err = |e: csv::Error| match LineTooLong::of_csv(&e) {
        Some(long) => bad(&file, long.to_string()),
        None => bad(&file, format!("cannot read as CSV: {}", one_line(&e.to_string()))),
    };
    let names: Vec<String> = csv.headers().map_err(csv_err)?.iter().map(|s| s.trim().to_string()).collect();
    let layout = wide_layout(&file, &names, signal)?;
    let mut sink = WideSink::new(layout, &file);
    // Byte records: a cell that is not UTF-8 is reported where it is, as any bad cell.
    let mut rec = csv::ByteRecord::new();
    while csv.read_byte_record(&mut rec).map_err(csv_err)? {
        sink.push(&names, |i| {
            rec.get(i).map_or(Val::Null, |b| std::str::from_utf8(b).map_or(Val::Bytes(b), Val::Text))
        })?;
    }
    sink.finish()
}

#[cfg(feature = "parquet")]
pub(super) fn read_parquet_source(path: &Path, signal: Option<RefSignal>) -> Result<(Raw, InputFile), DataError> {
    crate::pq::read_guarded(path, "if it is CSV, name it .csv", |f, file| pqwide::read(f, file, signal))
}

#[cfg(not(feature = "parquet"))]
pub(super) fn read_parquet_source(path: &Path, _: Option<RefSignal>) -> Result<(Raw, InputFile), DataError> {
    Err(bad(
        &crate::error::show_path(path),
        "Parquet support is not compiled into this build (cargo feature \"parquet\"); use CSV, .npy or .npz",
    ))
}

#[cfg(feature = "parquet")]
mod pqwide {
    use super::{Raw, RefSignal, Val, WideLayout, WideSink, wide_layout};
    use crate::DataError;
    use crate::error::one_line;
    use crate::pq::{TextColumn, corrupt, float_values, for_each_batch, int_values, open_batches, string_values};
    use arrow::array::{Array, ArrayRef, AsArray};
    use arrow::datatypes::{DataType, SchemaRef};
    use std::fs::File;

    /// A column of one batch, in its own kind.
    enum Col {
        F(Vec<Option<f64>>),
        I(Vec<Option<i128>>),
        B(Vec<Option<bool>>),
        S(Vec<Option<String>>),
    }

    fn column(a: &ArrayRef) -> Option<Col> {
        Some(match a.data_type() {
            DataType::Float64 | DataType::Float32 => Col::F(float_values(a)?),
            t if t.is_integer() => Col::I(int_values(a)?),
            DataType::Boolean => Col::B(a.as_boolean_opt()?.iter().collect()),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Dictionary(_, _) => {
                Col::S(string_values(a).ok()?)
            }
            _ => return None,
        })
    }

    impl Col {
        fn get(&self, i: usize) -> Val<'_> {
            match self {
                Col::F(v) => v.get(i).copied().flatten().map_or(Val::Null, Val::F),
                Col::I(v) => v.get(i).copied().flatten().map_or(Val::Null, Val::I),
                Col::B(v) => v.get(i).copied().flatten().map_or(Val::Null, Val::B),
                Col::S(v) => v.get(i).and_then(|s| s.as_deref()).map_or(Val::Null, Val::Text),
            }
        }
    }

    pub(super) fn read(f: File, file: &str, signal: Option<RefSignal>) -> Result<Raw, DataError> {
        let open = open_batches(f, file)?;
        let names = open.names.clone();
        let layout = wide_layout(file, &names, signal)?;
        let used: Vec<usize> = layout.id.iter().chain(&layout.values).chain(&layout.keep).copied().collect();
        check_types(open.schema(), file, &names, &layout, &used)?;
        let text: Vec<TextColumn> =
            layout.id.map(|i| TextColumn { field: i, name: names[i].clone(), is_id: true }).into_iter().collect();
        let mut sink = WideSink::new(layout, file);
        // Every column is decoded (no projection), by its index in the file.
        for_each_batch(open, file, None, &text, |batch| {
            let mut cols: Vec<Option<Col>> = (0..names.len()).map(|_| None).collect();
            for &i in &used {
                cols[i] = Some(column(batch.column(i)).ok_or_else(|| corrupt(file, "unexpected column type"))?);
            }
            for r in 0..batch.num_rows() {
                sink.push(&names, |i| cols[i].as_ref().map_or(Val::Null, |c| c.get(r)))?;
            }
            Ok(())
        })?;
        sink.finish()
    }

    /// Checks the types of the columns `used`: ids text or integer, flags boolean or
    /// integer, values float or integer.
    fn check_types(
        schema: &SchemaRef,
        file: &str,
        names: &[String],
        layout: &WideLayout,
        used: &[usize],
    ) -> Result<(), DataError> {
        for &i in used {
            let t = schema.field(i).data_type().clone();
            let ok = match t {
                DataType::Boolean => layout.keep.contains(&i),
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Dictionary(_, _) => {
                    layout.id == Some(i)
                }
                DataType::Float32 | DataType::Float64 => layout.id != Some(i),
                ref t => t.is_integer(),
            };
            if !ok {
                return Err(DataError::ColumnType {
                    file: file.to_string(),
                    column: one_line(&names[i]),
                    expected: if layout.id == Some(i) {
                        "a string or integer column".into()
                    } else if layout.keep.contains(&i) {
                        "a boolean or integer (0/1) column".into()
                    } else {
                        "a float32 or float64 column".into()
                    },
                    found: t.to_string(),
                });
            }
        }
        Ok(())
    }
}
