//! Tables from Parquet files (cargo feature `parquet`).
//!
//! Numeric feature columns may be integer, float, decimal, boolean or text columns; every
//! other role reads text, and integer, float or boolean columns there are read as their
//! decimal text (`1`, `2.5`, `true`). Nulls are missing values.

use std::fs::File;
use std::path::Path;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, LargeStringArray, StringArray};
use arrow::datatypes::{DataType, Float64Type};

use super::{Builder, Cell, Plan, Row, Table, TableOptions, TableSchema, usage};
use crate::DataError;
use crate::error::{NO_TABLE_ROWS, one_line};
use crate::pq::{TextColumn, corrupt, for_each_batch, open_batches, read_guarded};

pub(super) fn load(path: &Path, s: &TableSchema, opts: &TableOptions) -> Result<Table, DataError> {
    let (mut table, input) =
        read_guarded(path, "if it is CSV, name it .csv or set format = \"csv\"", |f, file| read(f, file, s, opts))?;
    table.inputs.push(input);
    Ok(table)
}

fn is_string(t: &DataType) -> bool {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, v) => is_string(v) || is_number(v),
        _ => false,
    }
}

fn is_number(t: &DataType) -> bool {
    t.is_integer()
        || t.is_floating()
        || matches!(t, DataType::Boolean | DataType::Decimal32(..) | DataType::Decimal64(..))
        || matches!(t, DataType::Decimal128(..) | DataType::Decimal256(..))
}

/// A column of one batch, as cells are read from it.
enum Col {
    Num(Float64Array),
    Str(StringArray),
    LargeStr(LargeStringArray),
}

fn column(a: &ArrayRef, numeric: bool) -> Result<Col, String> {
    let t = a.data_type();
    let cast = |to: &DataType| arrow::compute::cast(a, to).map_err(|e| e.to_string());
    if numeric && is_number(t) {
        let f = if *t == DataType::Float64 { a.clone() } else { cast(&DataType::Float64)? };
        return f.as_primitive_opt::<Float64Type>().cloned().map(Col::Num).ok_or_else(|| "float cast".to_string());
    }
    match t {
        DataType::Utf8 => a.as_string_opt::<i32>().cloned().map(Col::Str).ok_or_else(|| "utf8".to_string()),
        DataType::LargeUtf8 => a.as_string_opt::<i64>().cloned().map(Col::LargeStr).ok_or_else(|| "utf8".to_string()),
        _ => {
            let s = cast(&DataType::Utf8)?;
            s.as_string_opt::<i32>().cloned().map(Col::Str).ok_or_else(|| "utf8 cast".to_string())
        }
    }
}

struct PqRow<'a> {
    i: usize,
    cols: &'a [Col],
    /// Position in `cols` of each table column (usize::MAX when not read).
    pos: &'a [usize],
}

impl Row for PqRow<'_> {
    fn cell(&self, col: usize) -> Cell<'_> {
        let Some(c) = self.pos.get(col).and_then(|&k| self.cols.get(k)) else {
            return Cell::Null;
        };
        let i = self.i;
        match c {
            Col::Num(a) if a.is_valid(i) => Cell::Num(a.value(i)),
            Col::Str(a) if a.is_valid(i) => Cell::Text(a.value(i).as_bytes()),
            Col::LargeStr(a) if a.is_valid(i) => Cell::Text(a.value(i).as_bytes()),
            _ => Cell::Null,
        }
    }
}

fn read(f: File, file: &str, s: &TableSchema, opts: &TableOptions) -> Result<Table, DataError> {
    let open = open_batches(f, file)?;
    let names = match &s.names {
        Some(n) if n.len() != open.names.len() => {
            return Err(usage(
                file,
                format!("`names` lists {} columns but the Parquet file has {}", n.len(), open.names.len()),
            ));
        }
        Some(n) => n.clone(),
        None => open.names.clone(),
    };
    let plan = Plan::new(file, names, s, false)?;
    let used = plan.used();
    for &c in &used {
        let t = open.schema().fields().get(c).map(|fl| fl.data_type().clone()).unwrap_or(DataType::Null);
        if !(is_string(&t) || is_number(&t)) {
            return Err(DataError::ColumnType {
                file: file.to_string(),
                column: one_line(plan.name(c)),
                expected: "a text, number or boolean column".to_string(),
                found: t.to_string(),
            });
        }
    }
    let numeric: Vec<bool> = used.iter().map(|&c| plan.is_numeric(c)).collect();
    let text: Vec<TextColumn> = used
        .iter()
        .map(|&c| TextColumn { field: c, name: plan.name(c).to_string(), is_id: plan.id == Some(c) })
        .collect();
    let mut pos = vec![usize::MAX; plan.names.len()];
    for (k, &c) in used.iter().enumerate() {
        pos[c] = k;
    }
    let mut b = Builder::new(plan, s, opts);
    let mut row: u64 = 0;
    for_each_batch(open, file, Some(&used), &text, |batch| {
        if batch.num_columns() != used.len() {
            return Err(corrupt(
                file,
                format!("expected {} projected columns, got {}", used.len(), batch.num_columns()),
            ));
        }
        let cols = batch
            .columns()
            .iter()
            .zip(&numeric)
            .map(|(a, &num)| column(a, num))
            .collect::<Result<Vec<Col>, String>>()
            .map_err(|e| corrupt(file, e))?;
        for i in 0..batch.num_rows() {
            row += 1;
            b.push(row, &PqRow { i, cols: &cols, pos: &pos })?;
        }
        Ok(())
    })?;
    if b.rows_read == 0 {
        return Err(DataError::Empty { file: file.to_string(), message: NO_TABLE_ROWS.into() });
    }
    b.finish(Vec::new(), Vec::new())
}
