//! Real and synthetic tables as one mixed-type matrix.
//!
//! Every table of a synthetic-data audit (members, holdout, each synthetic release) is read
//! through the same [`TableSchema`](mia_data::tabular::TableSchema) by `mia-data`. Here the
//! tables are put side by side: numeric columns as `f64` (NaN where missing) and every
//! categorical column — the schema's label included, since for a synthetic table the label
//! is just one more attribute — as a code into one dictionary shared by all the tables, so
//! that code equality means value equality across tables. Missing categorical values of any
//! token collapse to [`MISSING`].

use std::collections::HashMap;

use mia_data::tabular::{ColumnValues, Table};
use ndarray::Array2;

/// The code of a missing categorical value.
pub const MISSING: u32 = u32::MAX;

/// Column names and categorical dictionaries shared by a set of [`MixedTable`]s.
#[derive(Debug, Clone, PartialEq)]
pub struct MixedSchema {
    /// Numeric column names, in file order.
    pub numeric: Vec<String>,
    /// Categorical column names, in file order, then the label column last.
    pub categorical: Vec<String>,
    /// For each categorical column, its values; a code indexes this list. Values appear in
    /// order of first appearance over the tables in the order given.
    pub levels: Vec<Vec<String>>,
}

impl MixedSchema {
    /// Number of levels (missing not counted) of categorical column `j`.
    pub fn n_levels(&self, j: usize) -> usize {
        self.levels[j].len()
    }
}

/// One table's records: `numeric` is n × p (NaN = missing), `categorical` n × q codes into
/// [`MixedSchema::levels`] ([`MISSING`] = missing).
#[derive(Debug, Clone, PartialEq)]
pub struct MixedTable {
    /// Record ids, as read by `mia-data`.
    pub ids: Vec<String>,
    pub numeric: Array2<f64>,
    pub categorical: Array2<u32>,
}

impl MixedTable {
    /// Number of records.
    pub fn len(&self) -> usize {
        self.ids.len()
    }
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The records at `rows`, in that order.
    pub fn select(&self, rows: &[usize]) -> MixedTable {
        MixedTable {
            ids: rows.iter().map(|&r| self.ids[r].clone()).collect(),
            numeric: self.numeric.select(ndarray::Axis(0), rows),
            categorical: self.categorical.select(ndarray::Axis(0), rows),
        }
    }

    /// The records of `self` followed by those of `other` (same schema).
    pub fn concat(&self, other: &MixedTable) -> MixedTable {
        let cat = |a: &Array2<u32>, b: &Array2<u32>| {
            ndarray::concatenate(ndarray::Axis(0), &[a.view(), b.view()]).expect("tables of one schema")
        };
        MixedTable {
            ids: self.ids.iter().chain(&other.ids).cloned().collect(),
            numeric: ndarray::concatenate(ndarray::Axis(0), &[self.numeric.view(), other.numeric.view()])
                .expect("tables of one schema"),
            categorical: cat(&self.categorical, &other.categorical),
        }
    }
}

/// Why tables cannot be put side by side.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum MixedError {
    /// Two tables disagree on their columns.
    #[error("{file}: columns differ from {first}: {message}")]
    Columns { file: String, first: String, message: String },
    /// No table given.
    #[error("no tables given")]
    NoTables,
}

/// Puts `tables` (read through one schema) side by side with shared categorical
/// dictionaries. The label column becomes the last categorical column.
pub fn mix(tables: &[&Table], label: &str) -> Result<(MixedSchema, Vec<MixedTable>), MixedError> {
    let first = tables.first().ok_or(MixedError::NoTables)?;
    let numeric: Vec<String> = first.columns.iter().filter(|c| c.is_numeric()).map(|c| c.name.clone()).collect();
    let mut categorical: Vec<String> =
        first.columns.iter().filter(|c| !c.is_numeric()).map(|c| c.name.clone()).collect();
    categorical.push(label.to_string());
    for t in &tables[1..] {
        let kinds = |t: &Table| t.columns.iter().map(|c| (c.name.clone(), c.is_numeric())).collect::<Vec<_>>();
        let (a, b) = (kinds(first), kinds(t));
        if a != b {
            let message = match a.iter().zip(&b).find(|(x, y)| x != y) {
                Some((x, y)) => format!(
                    "expected column {} ({}), found {} ({})",
                    x.0,
                    if x.1 { "numeric" } else { "categorical" },
                    y.0,
                    if y.1 { "numeric" } else { "categorical" }
                ),
                None => format!("expected {} feature columns, found {}", a.len(), b.len()),
            };
            return Err(MixedError::Columns { file: t.file.clone(), first: first.file.clone(), message });
        }
    }
    let q = categorical.len();
    let mut dict: Vec<HashMap<String, u32>> = vec![HashMap::new(); q];
    let mut levels: Vec<Vec<String>> = vec![Vec::new(); q];
    let mut code_of = |j: usize, value: &str| -> u32 {
        if let Some(&c) = dict[j].get(value) {
            return c;
        }
        let c = levels[j].len() as u32;
        levels[j].push(value.to_string());
        dict[j].insert(value.to_string(), c);
        c
    };
    let mut out = Vec::with_capacity(tables.len());
    for t in tables {
        let n = t.len();
        let mut num = Array2::<f64>::zeros((n, numeric.len()));
        let mut cat = Array2::<u32>::zeros((n, q));
        let (mut jn, mut jc) = (0, 0);
        for col in &t.columns {
            match &col.values {
                ColumnValues::Numeric(v) => {
                    num.column_mut(jn).iter_mut().zip(v).for_each(|(d, &s)| *d = s);
                    jn += 1;
                }
                ColumnValues::Categorical(c) => {
                    // Translate this table's codes once per distinct value.
                    let map: Vec<u32> = c
                        .values
                        .iter()
                        .zip(&c.missing)
                        .map(|(v, &m)| if m { MISSING } else { code_of(jc, v) })
                        .collect();
                    cat.column_mut(jc).iter_mut().zip(&c.codes).for_each(|(d, &k)| *d = map[k as usize]);
                    jc += 1;
                }
            }
        }
        let map: Vec<u32> = t.classes.iter().map(|v| code_of(q - 1, v)).collect();
        cat.column_mut(q - 1).iter_mut().zip(&t.labels).for_each(|(d, &k)| *d = map[k]);
        out.push(MixedTable { ids: t.ids.clone(), numeric: num, categorical: cat });
    }
    Ok((MixedSchema { numeric, categorical, levels }, out))
}

/// Reads `table` into the columns and dictionaries of an existing `schema` (e.g. rows a
/// user's generator wrote back): columns are matched by name, a value the dictionary does
/// not hold is an error naming the column and the value.
pub fn mix_into(schema: &MixedSchema, table: &Table, label: &str) -> Result<MixedTable, MixedError> {
    let bad =
        |message: String| MixedError::Columns { file: table.file.clone(), first: "the audit's schema".into(), message };
    let n = table.len();
    let mut num = Array2::<f64>::zeros((n, schema.numeric.len()));
    let mut cat = Array2::<u32>::zeros((n, schema.categorical.len()));
    for (j, name) in schema.numeric.iter().enumerate() {
        match table.column(name).map(|c| &c.values) {
            Some(ColumnValues::Numeric(v)) => num.column_mut(j).iter_mut().zip(v).for_each(|(d, &s)| *d = s),
            Some(_) => return Err(bad(format!("expected column {name} to be numeric, found categorical"))),
            None => return Err(bad(format!("expected a numeric column {name}, found none"))),
        }
    }
    let q = schema.categorical.len();
    for (j, name) in schema.categorical.iter().enumerate() {
        let lookup = |v: &str| -> Result<u32, MixedError> {
            schema.levels[j]
                .iter()
                .position(|l| l == v)
                .map(|p| p as u32)
                .ok_or_else(|| bad(format!("column {name}: value {v:?} does not occur in the real data")))
        };
        if j == q - 1 && name == label {
            let map: Vec<u32> = table.classes.iter().map(|c| lookup(c)).collect::<Result<_, _>>()?;
            cat.column_mut(j).iter_mut().zip(&table.labels).for_each(|(d, &k)| *d = map[k]);
            continue;
        }
        match table.column(name).map(|c| &c.values) {
            Some(ColumnValues::Categorical(c)) => {
                let map: Vec<u32> = c
                    .values
                    .iter()
                    .zip(&c.missing)
                    .map(|(v, &m)| if m { Ok(MISSING) } else { lookup(v) })
                    .collect::<Result<_, _>>()?;
                cat.column_mut(j).iter_mut().zip(&c.codes).for_each(|(d, &k)| *d = map[k as usize]);
            }
            Some(_) => return Err(bad(format!("expected column {name} to be categorical, found numeric"))),
            None => return Err(bad(format!("expected a categorical column {name}, found none"))),
        }
    }
    Ok(MixedTable { ids: table.ids.clone(), numeric: num, categorical: cat })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mia_data::tabular::{ColumnSet, TableOptions, TableSchema, load_table};

    fn read(dir: &std::path::Path, name: &str, text: &str) -> Table {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let mut s = TableSchema::new(&path, "y");
        s.categorical = ColumnSet::List(vec!["c".into()]);
        s.numeric = ColumnSet::Rest;
        load_table(&s, dir, &TableOptions { allow_one_class: true, ..TableOptions::default() }).unwrap()
    }

    #[test]
    fn dictionaries_are_shared_and_missing_collapses() {
        let dir = tempfile::tempdir().unwrap();
        let a = read(dir.path(), "a.csv", "x,c,y\n1,red,no\n2,?,yes\n");
        let b = read(dir.path(), "b.csv", "x,c,y\n3,blue,yes\n,red,yes\n");
        let (schema, t) = mix(&[&a, &b], "y").unwrap();
        assert_eq!(schema.numeric, vec!["x"]);
        assert_eq!(schema.categorical, vec!["c", "y"]);
        assert_eq!(schema.levels[0], vec!["red", "blue"]);
        assert_eq!(t[0].categorical.column(0).to_vec(), vec![0, MISSING]);
        assert_eq!(t[1].categorical.column(0).to_vec(), vec![1, 0]);
        // Labels by value, whatever each table's own class order.
        let yes = schema.levels[1].iter().position(|l| l == "yes").unwrap() as u32;
        assert_eq!(t[0].categorical[[1, 1]], yes);
        assert_eq!(t[1].categorical.column(1).to_vec(), vec![yes, yes]);
        assert!(t[1].numeric[[1, 0]].is_nan());

        let c = read(dir.path(), "c.csv", "c,x,y\nblue,5,no\n");
        let m = mix_into(&schema, &c, "y").unwrap();
        assert_eq!(m.numeric[[0, 0]], 5.0);
        assert_eq!(
            m.categorical.row(0).to_vec(),
            vec![1, schema.levels[1].iter().position(|l| l == "no").unwrap() as u32]
        );
        let d = read(dir.path(), "d.csv", "c,x,y\ngreen,5,no\n");
        let e = mix_into(&schema, &d, "y").unwrap_err().to_string();
        assert!(e.contains("d.csv") && e.contains("\"green\""), "{e}");
    }

    #[test]
    fn differing_columns_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let a = read(dir.path(), "a.csv", "x,c,y\n1,red,no\n");
        let b = read(dir.path(), "b.csv", "z,c,y\n1,red,no\n");
        let e = mix(&[&a, &b], "y").unwrap_err().to_string();
        assert!(e.contains("b.csv") && e.contains("expected column x (numeric), found z (numeric)"), "{e}");
    }
}
