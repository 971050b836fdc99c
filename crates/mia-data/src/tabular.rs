//! Tabular data for model audits: a [`TableSchema`] (the `[data]` section of an audit
//! config) says which file to read and what its columns mean; [`load_table`] reads it into a
//! [`Table`]; an [`Encoding`] fitted once on the audit rows turns a table into the model
//! input matrix shared by the target, reference and attack models.
//!
//! # Columns
//!
//! Columns are always referenced **by name**. With `header = true` (the default) the names
//! are the file's first row; with `header = false` they are `names` when given, and
//! otherwise the 0-based column positions written as strings: `"0"`, `"1"`, …. A Parquet
//! file always has names; `names`, when given, renames its columns by position (so one
//! schema fits a headerless CSV and the same table saved as Parquet).
//!
//! Each column has at most one role: `label` (required), `id`, `member`, `numeric`,
//! `categorical`, or `ignore`. `numeric` and `categorical` are lists of names, or the string
//! `"rest"` (for at most one of them): every column with no other role. Columns that no role
//! names are not read (and are listed in [`Table::notes`]). Feature order is the file's
//! column order, whatever the order of the lists.
//!
//! # Values
//!
//! * Cells are trimmed of ASCII whitespace first (`trim = true`, the default).
//! * A cell equal to one of the `missing` tokens (default `""`, `"?"`, `"NA"`) is missing; a
//!   Parquet null is missing too. A missing **numeric** value is stored as NaN (imputed by
//!   the mean at encoding). A missing **categorical** value is a category of its own, named by
//!   the token as written (a Parquet null is named by the first `missing` token).
//! * A numeric cell must otherwise parse as a finite decimal number (`1`, `-2.5`, `1e-3`).
//! * The label may not be missing. Its classes are the distinct label values (after
//!   `label_map`), in the order of `classes` when given, otherwise sorted *numbers first, by
//!   value* (a value is a number when it parses as a finite `f64`; equal numbers such as `1`
//!   and `1.0` are then ordered by their text) *then the other values in byte order*. So
//!   Location-30's `"1"`..`"30"` become 0..29, and Adult's `<=50K`, `>50K` become 0, 1.
//! * `member` accepts `0`/`1`/`true`/`false` (any case); `id` any non-empty UTF-8 text without
//!   NUL bytes that is not a missing token. Without `id`, record ids are the 1-based data row
//!   numbers.
//!
//! # Errors
//!
//! Every error is a one-line [`DataError`] naming the file and, for a bad cell, the row
//! (1-based, header not counted), the physical line (CSV), the column and what was
//! expected. With [`TableOptions::skip_invalid_rows`] a row with a bad cell or the wrong
//! number of fields is skipped instead, counted by reason in [`Table::skipped`]; problems with
//! the file or the schema (unknown column, duplicate ids, a single class, no rows) are errors
//! either way.
//!
//! # The two bundled data sets
//!
//! ```toml
//! [data]                          # Location-30
//! path = "data/location/bangkok.csv.gz"
//! header = false                  # columns are "0".."446"
//! label = "0"
//! numeric = "rest"
//! ```
//!
//! ```toml
//! [data]                          # UCI Adult
//! path = "data/adult/adult.data.gz"
//! format = "csv"                  # the name does not end in .csv.gz; gzip is detected
//! header = false
//! names = ["age", "workclass", "fnlwgt", "education", "education-num", "marital-status",
//!          "occupation", "relationship", "race", "sex", "capital-gain", "capital-loss",
//!          "hours-per-week", "native-country", "income"]
//! label = "income"
//! numeric = ["age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"]
//! categorical = "rest"
//! ```

mod csvsrc;
mod encode;
#[cfg(feature = "parquet")]
mod pqsrc;
mod write;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{CellLocation, one_line, quote, show_bytes, show_path};
use crate::layout::{CellErr, first_duplicate, reason};
use crate::{DataError, InputFile, SkipCount, TableFormat};

pub use encode::{ENCODING_VERSION, Encoding, FeatureEncoding};
#[cfg(feature = "parquet")]
pub use write::write_encoded_parquet;
pub use write::{MISSING_TOKEN, readback_schema, write_encoded_csv, write_table_csv};

/// The file format of a table, when its name does not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataFormat {
    /// Comma-separated text; gzip compression is detected from the file's first bytes.
    Csv,
    /// Apache Parquet (cargo feature `parquet`).
    Parquet,
}

/// A set of columns: listed by name, or every column with no other role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnSet {
    /// These columns (any order; features keep the file's column order).
    List(Vec<String>),
    /// Every column not used as label, id, member, ignored or in the other feature list.
    /// Written `"rest"`.
    Rest,
}

impl Default for ColumnSet {
    fn default() -> Self {
        ColumnSet::List(Vec::new())
    }
}

impl Serialize for ColumnSet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ColumnSet::List(v) => v.serialize(s),
            ColumnSet::Rest => s.serialize_str("rest"),
        }
    }
}

impl<'de> Deserialize<'de> for ColumnSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = ColumnSet;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of column names, or \"rest\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ColumnSet, E> {
                if v == "rest" {
                    Ok(ColumnSet::Rest)
                } else {
                    Err(E::invalid_value(serde::de::Unexpected::Str(v), &self))
                }
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<ColumnSet, A::Error> {
                let mut v = Vec::new();
                while let Some(name) = seq.next_element::<String>()? {
                    v.push(name);
                }
                Ok(ColumnSet::List(v))
            }
        }
        d.deserialize_any(V)
    }
}

fn yes() -> bool {
    true
}
fn comma() -> char {
    ','
}
fn default_missing() -> Vec<String> {
    vec![String::new(), "?".to_string(), "NA".to_string()]
}
fn is_true(b: &bool) -> bool {
    *b
}
fn is_comma(c: &char) -> bool {
    *c == ','
}
fn is_default_missing(m: &[String]) -> bool {
    m == default_missing().as_slice()
}
fn is_no_columns(c: &ColumnSet) -> bool {
    *c == ColumnSet::default()
}

/// What a table file holds: the `[data]` section of an audit config.
///
/// See the [module documentation](self) for the rules; every field but `path` and `label`
/// has a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableSchema {
    /// The table file. A relative path is resolved against the config file's folder.
    pub path: PathBuf,
    /// `"csv"` or `"parquet"`; by default from the name: `.csv`, `.csv.gz`, `.parquet`, `.pq`.
    /// CSV may be gzip-compressed whatever its name (detected from the first bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<DataFormat>,
    /// CSV: whether the first row names the columns. Default true. Ignored for Parquet.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub header: bool,
    /// Column names, in file order: for a CSV without header, or to rename a Parquet file's
    /// columns. Not allowed with a CSV header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub names: Option<Vec<String>>,
    /// CSV field delimiter, one ASCII character. Default `,`.
    #[serde(default = "comma", skip_serializing_if = "is_comma")]
    pub delimiter: char,
    /// CSV: lines starting with this ASCII character are skipped (e.g. `"|"` for Adult's test
    /// file). Default none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<char>,
    /// The class label column (required). Any text; see the module docs for class order.
    pub label: String,
    /// Record id column; without it ids are the 1-based data row numbers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Membership column (0/1, true/false) for an audit of a given target model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    /// Numeric feature columns, or `"rest"`.
    #[serde(default, skip_serializing_if = "is_no_columns")]
    pub numeric: ColumnSet,
    /// Categorical feature columns (one-hot encoded), or `"rest"`.
    #[serde(default, skip_serializing_if = "is_no_columns")]
    pub categorical: ColumnSet,
    /// Columns that are not features (excluded from `"rest"`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<String>,
    /// Cell values meaning "missing", compared after trimming. Default `["", "?", "NA"]`.
    #[serde(default = "default_missing", skip_serializing_if = "is_default_missing")]
    pub missing: Vec<String>,
    /// Trim ASCII whitespace around every cell (and CSV header name). Default true.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub trim: bool,
    /// Standardise numeric features at encoding (mean 0, population std 1). Default true;
    /// false passes numeric values through (missing ones still imputed by the mean).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub standardize: bool,
    /// The classes in index order. A label value not listed is an invalid cell. Default:
    /// the distinct values, numbers first by value, then text in byte order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classes: Option<Vec<String>>,
    /// Label values to rewrite before classes are found, e.g. `{ "<=50K." = "<=50K" }`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub label_map: BTreeMap<String, String>,
}

impl TableSchema {
    /// A schema with every option at its default.
    pub fn new(path: impl Into<PathBuf>, label: impl Into<String>) -> Self {
        TableSchema {
            path: path.into(),
            format: None,
            header: true,
            names: None,
            delimiter: ',',
            comment: None,
            label: label.into(),
            id: None,
            member: None,
            numeric: ColumnSet::default(),
            categorical: ColumnSet::default(),
            ignore: Vec::new(),
            missing: default_missing(),
            trim: true,
            standardize: true,
            classes: None,
            label_map: BTreeMap::new(),
        }
    }
}

/// How strictly to read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableOptions {
    /// Skip rows with a bad cell or the wrong number of fields, counting them by reason in
    /// [`Table::skipped`], instead of failing. Default false.
    pub skip_invalid_rows: bool,
    /// Accept a table whose labels all fall in one class (a synthetic table may); by
    /// default that is an error, since no model audit can use it. Default false.
    pub allow_one_class: bool,
}

/// The values of a categorical column: one code per record into `values`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Categories {
    /// Index into `values` for each record.
    pub codes: Vec<u32>,
    /// The distinct values (trimmed), in order of first appearance in the file.
    pub values: Vec<String>,
    /// Whether each of `values` is a missing-value token (or a Parquet null).
    pub missing: Vec<bool>,
}

impl Categories {
    /// The value of record `i`.
    pub fn get(&self, i: usize) -> Option<&str> {
        self.codes.get(i).and_then(|&c| self.values.get(c as usize)).map(String::as_str)
    }
}

/// A feature column's values, one per record.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnValues {
    /// Numbers; NaN where missing.
    Numeric(Vec<f64>),
    /// Category codes.
    Categorical(Categories),
}

/// One feature column.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub values: ColumnValues,
}

impl Column {
    /// Number of missing values.
    pub fn n_missing(&self) -> usize {
        match &self.values {
            ColumnValues::Numeric(v) => v.iter().filter(|x| x.is_nan()).count(),
            ColumnValues::Categorical(c) => {
                c.codes.iter().filter(|&&k| c.missing.get(k as usize).copied().unwrap_or(false)).count()
            }
        }
    }
    pub fn is_numeric(&self) -> bool {
        matches!(self.values, ColumnValues::Numeric(_))
    }
}

/// A table of records read through a [`TableSchema`]: one entry per kept row in every
/// vector, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// The file as shown in messages.
    pub file: String,
    /// Record ids, unique. Without an id column, the 1-based data row numbers.
    pub ids: Vec<String>,
    /// The 1-based data row (header not counted) each record came from.
    pub source_rows: Vec<u64>,
    /// Class index of each record, into `classes`.
    pub labels: Vec<usize>,
    /// Class names in index order.
    pub classes: Vec<String>,
    /// Membership flags, when the schema names a member column.
    pub member: Option<Vec<bool>>,
    /// Feature columns in file order.
    pub columns: Vec<Column>,
    /// Every file read (fingerprinted).
    pub inputs: Vec<InputFile>,
    /// Data rows seen (kept + skipped).
    pub rows_read: usize,
    /// Rows skipped by reason (only with `skip_invalid_rows`), sorted by reason.
    pub skipped: Vec<SkipCount>,
    /// Things a report should mention (unused columns, missing values, generated ids).
    pub notes: Vec<String>,
}

impl Table {
    /// Number of records.
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    /// Total rows skipped.
    pub fn n_skipped(&self) -> usize {
        self.skipped.iter().map(|s| s.count).sum()
    }
    /// The feature column called `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
    /// Number of records in each class.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut n = vec![0; self.classes.len()];
        for &l in &self.labels {
            if let Some(c) = n.get_mut(l) {
                *c += 1;
            }
        }
        n
    }
}

/// Reads the table `schema` describes. A relative `schema.path` is resolved against
/// `base_dir` (the folder of the config file).
///
/// Errors are one line each (see [`DataError`]); no input makes this panic.
pub fn load_table(schema: &TableSchema, base_dir: &Path, opts: &TableOptions) -> Result<Table, DataError> {
    let path = if schema.path.is_absolute() { schema.path.clone() } else { base_dir.join(&schema.path) };
    let format = match schema.format {
        Some(DataFormat::Csv) => TableFormat::Csv,
        Some(DataFormat::Parquet) => TableFormat::Parquet,
        None => TableFormat::from_path(&path).map_err(|e| match e {
            DataError::UnknownFormat { file, found, accepted } => DataError::UnknownFormat {
                file,
                found,
                accepted: format!("{accepted} (or set format = \"csv\" or \"parquet\" in [data])"),
            },
            e => e,
        })?,
    };
    check_schema(schema, &show_path(&path))?;
    match format {
        TableFormat::Csv => csvsrc::load(&path, schema, opts, false),
        TableFormat::CsvGz => csvsrc::load(&path, schema, opts, true),
        TableFormat::Parquet => load_parquet(&path, schema, opts),
    }
}

#[cfg(feature = "parquet")]
fn load_parquet(path: &Path, schema: &TableSchema, opts: &TableOptions) -> Result<Table, DataError> {
    pqsrc::load(path, schema, opts)
}

#[cfg(not(feature = "parquet"))]
fn load_parquet(path: &Path, _schema: &TableSchema, _opts: &TableOptions) -> Result<Table, DataError> {
    Err(DataError::BadFile {
        file: show_path(path),
        message: "Parquet support is not compiled into this build (cargo feature \"parquet\"); convert to CSV"
            .to_string(),
    })
}

fn usage(file: &str, message: String) -> DataError {
    DataError::Usage { message: format!("{file}: [data]: {}", one_line(&message)) }
}

/// Checks of the schema that need no file.
fn check_schema(s: &TableSchema, file: &str) -> Result<(), DataError> {
    if !s.delimiter.is_ascii() || s.delimiter == '"' || s.delimiter == '\n' || s.delimiter == '\r' {
        return Err(usage(
            file,
            format!("delimiter must be one ASCII character other than a quote or line end, got {:?}", s.delimiter),
        ));
    }
    if let Some(c) = s.comment
        && (!c.is_ascii() || c == s.delimiter || c == '"' || c == '\n' || c == '\r')
    {
        return Err(usage(
            file,
            format!("comment must be one ASCII character other than the delimiter, a quote or a line end, got {c:?}"),
        ));
    }
    if s.numeric == ColumnSet::Rest && s.categorical == ColumnSet::Rest {
        return Err(usage(file, "only one of `numeric` and `categorical` can be \"rest\"".to_string()));
    }
    if let Some(classes) = &s.classes {
        if let Some((i, j)) = first_duplicate(classes) {
            return Err(usage(
                file,
                format!("`classes` lists {} twice (entries {} and {})", quote(&classes[j]), i + 1, j + 1),
            ));
        }
        if classes.len() < 2 {
            return Err(usage(file, format!("`classes` must list at least two classes, found {}", classes.len())));
        }
    }
    Ok(())
}

/// How a feature column is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Numeric,
    Categorical,
}

/// Where every role's column sits, once the column names are known.
#[derive(Debug, Clone)]
struct Plan {
    file: String,
    names: Vec<String>,
    id: Option<usize>,
    member: Option<usize>,
    label: usize,
    /// Feature columns in file order.
    features: Vec<(usize, Kind)>,
    notes: Vec<String>,
}

impl Plan {
    /// Column indices read, ascending.
    #[cfg_attr(not(feature = "parquet"), allow(dead_code))]
    fn used(&self) -> Vec<usize> {
        let mut v: Vec<usize> = self
            .id
            .into_iter()
            .chain(self.member)
            .chain([self.label])
            .chain(self.features.iter().map(|f| f.0))
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// The kind a column is read as, for Parquet type checks.
    #[cfg_attr(not(feature = "parquet"), allow(dead_code))]
    fn is_numeric(&self, col: usize) -> bool {
        self.features.iter().any(|&(c, k)| c == col && k == Kind::Numeric)
    }

    fn name(&self, col: usize) -> &str {
        self.names.get(col).map(String::as_str).unwrap_or("")
    }

    /// Finds columns by name and gives every column its role.
    /// `positional` is true when the names are generated `"0"`, `"1"`, ... (headerless CSV).
    fn new(file: &str, names: Vec<String>, s: &TableSchema, positional: bool) -> Result<Plan, DataError> {
        let mut index: HashMap<&str, usize> = HashMap::with_capacity(names.len());
        for (i, n) in names.iter().enumerate() {
            if let Some(&first) = index.get(n.as_str()) {
                return Err(DataError::DuplicateColumn {
                    file: file.to_string(),
                    column: one_line(n),
                    first: first + 1,
                    second: i + 1,
                });
            }
            index.insert(n, i);
        }
        let hint = if positional {
            format!(
                "; the file has no header and `names` is not given, so columns are named by 0-based position \"0\"..\"{}\"",
                names.len().saturating_sub(1)
            )
        } else {
            String::new()
        };
        let find = |name: &str, role: &str| -> Result<usize, DataError> {
            index.get(name).copied().ok_or_else(|| DataError::MissingColumn {
                file: file.to_string(),
                column: one_line(name),
                why: format!("named by `{role}` in [data]{hint}"),
                found: names.clone(),
            })
        };
        // Role of each column, for conflicts and "rest".
        let mut role: Vec<Option<&'static str>> = vec![None; names.len()];
        let mut assign = |col: usize, r: &'static str| -> Result<(), DataError> {
            match role.get(col).copied().flatten() {
                Some(prev) if prev == r => Err(usage(file, format!("`{r}` lists column {} twice", quote(&names[col])))),
                Some(prev) => Err(usage(
                    file,
                    format!(
                        "column {} cannot be both `{prev}` and `{r}`: give each column one role",
                        quote(&names[col])
                    ),
                )),
                None => {
                    if let Some(x) = role.get_mut(col) {
                        *x = Some(r);
                    }
                    Ok(())
                }
            }
        };
        let label = find(&s.label, "label")?;
        assign(label, "label")?;
        let id = match &s.id {
            Some(n) => {
                let c = find(n, "id")?;
                assign(c, "id")?;
                Some(c)
            }
            None => None,
        };
        let member = match &s.member {
            Some(n) => {
                let c = find(n, "member")?;
                assign(c, "member")?;
                Some(c)
            }
            None => None,
        };
        for n in &s.ignore {
            let c = find(n, "ignore")?;
            assign(c, "ignore")?;
        }
        for (set, r) in [(&s.numeric, "numeric"), (&s.categorical, "categorical")] {
            if let ColumnSet::List(list) = set {
                for n in list {
                    let c = find(n, r)?;
                    assign(c, r)?;
                }
            }
        }
        let rest = match (&s.numeric, &s.categorical) {
            (ColumnSet::Rest, _) => Some("numeric"),
            (_, ColumnSet::Rest) => Some("categorical"),
            _ => None,
        };
        if let Some(k) = rest {
            for r in role.iter_mut().filter(|r| r.is_none()) {
                *r = Some(k);
            }
        }
        let features: Vec<(usize, Kind)> = role
            .iter()
            .enumerate()
            .filter_map(|(i, r)| match r {
                Some("numeric") => Some((i, Kind::Numeric)),
                Some("categorical") => Some((i, Kind::Categorical)),
                _ => None,
            })
            .collect();
        if features.is_empty() {
            return Err(usage(
                file,
                "no feature columns: list them in `numeric` and/or `categorical` (or set one of them to \"rest\")"
                    .to_string(),
            ));
        }
        let mut notes = Vec::new();
        let unused_names: Vec<&str> =
            role.iter().enumerate().filter(|(_, r)| r.is_none()).map(|(i, _)| names[i].as_str()).collect();
        if !unused_names.is_empty() {
            let shown: Vec<String> = unused_names.iter().take(10).map(|n| quote(n)).collect();
            let more = if unused_names.len() > 10 {
                format!(", … ({} more)", unused_names.len() - 10)
            } else {
                String::new()
            };
            notes.push(format!(
                "{} column(s) not used (no role in [data]): {}{more}",
                unused_names.len(),
                shown.join(", ")
            ));
        }
        Ok(Plan { file: file.to_string(), id, member, label, features, notes, names })
    }
}

/// One cell as a source gives it.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(not(feature = "parquet"), allow(dead_code))]
enum Cell<'a> {
    /// A Parquet null.
    Null,
    /// Text (CSV, or a Parquet string), untrimmed.
    Text(&'a [u8]),
    /// A number from a typed Parquet column.
    Num(f64),
}

/// One row of a source.
trait Row {
    fn cell(&self, col: usize) -> Cell<'_>;
}

/// Interns byte strings: each distinct value gets a code in order of first appearance.
#[derive(Debug, Default)]
struct Interner {
    map: HashMap<Box<[u8]>, u32>,
    values: Vec<String>,
    missing: Vec<bool>,
}

impl Interner {
    fn code(&mut self, b: &[u8], missing: bool) -> u32 {
        // Invalid UTF-8 is interned by its lossy text so that no two codes share a name.
        let text = String::from_utf8_lossy(b);
        if let Some(&c) = self.map.get(text.as_bytes()) {
            return c;
        }
        let c = self.values.len() as u32;
        self.map.insert(text.as_bytes().into(), c);
        self.values.push(text.into_owned());
        self.missing.push(missing);
        c
    }
}

enum Labels {
    /// Classes given by the schema: value → index.
    Fixed(HashMap<Vec<u8>, u32>, Vec<String>),
    /// Classes found in the data.
    Found(Interner),
}

/// Reasons a row is skipped, beyond the score readers' ones.
mod why {
    pub const LABEL_MISSING: &str = "missing label";
    pub const LABEL_UNKNOWN: &str = "label not among `classes`";
    pub const FIELDS: &str = "wrong number of fields";
    pub const NUMERIC: &str = "numeric value not a number";
}

/// Accumulates checked rows into a [`Table`].
struct Builder {
    plan: Plan,
    skip: bool,
    allow_one_class: bool,
    trim: bool,
    missing: Vec<Vec<u8>>,
    null_name: Vec<u8>,
    label_map: HashMap<Vec<u8>, Vec<u8>>,
    expected_number: String,
    labels_kind: Labels,
    ids: Vec<String>,
    source_rows: Vec<u64>,
    member: Vec<bool>,
    labels: Vec<u32>,
    /// Source column of each numeric feature, and its values.
    num_cols: Vec<usize>,
    nums: Vec<Vec<f64>>,
    /// Source column of each categorical feature, and its codes.
    cat_cols: Vec<usize>,
    cats: Vec<(Vec<u32>, Interner)>,
    /// Numeric values of the row being read, one per numeric feature.
    scratch: Vec<f64>,
    skipped: BTreeMap<&'static str, usize>,
    rows_read: usize,
}

impl Builder {
    fn new(plan: Plan, s: &TableSchema, opts: &TableOptions) -> Builder {
        let tok = |t: &str| if s.trim { t.trim_ascii().as_bytes().to_vec() } else { t.as_bytes().to_vec() };
        let missing: Vec<Vec<u8>> = s.missing.iter().map(|t| tok(t)).collect();
        let tokens: Vec<String> = s.missing.iter().map(|t| quote(t)).collect();
        let expected_number = if tokens.is_empty() {
            "a finite number".to_string()
        } else {
            format!("a finite number or a missing-value token ({})", tokens.join(", "))
        };
        let labels_kind = match &s.classes {
            Some(list) => Labels::Fixed(
                list.iter().enumerate().map(|(i, c)| (c.as_bytes().to_vec(), i as u32)).collect(),
                list.clone(),
            ),
            None => Labels::Found(Interner::default()),
        };
        let cols_of =
            |kind: Kind| -> Vec<usize> { plan.features.iter().filter(|f| f.1 == kind).map(|f| f.0).collect() };
        let num_cols = cols_of(Kind::Numeric);
        let cat_cols = cols_of(Kind::Categorical);
        Builder {
            skip: opts.skip_invalid_rows,
            allow_one_class: opts.allow_one_class,
            trim: s.trim,
            null_name: missing.first().cloned().unwrap_or_default(),
            missing,
            label_map: s.label_map.iter().map(|(k, v)| (tok(k), v.as_bytes().to_vec())).collect(),
            expected_number,
            labels_kind,
            ids: Vec::new(),
            source_rows: Vec::new(),
            member: Vec::new(),
            labels: Vec::new(),
            nums: vec![Vec::new(); num_cols.len()],
            cats: cat_cols.iter().map(|_| (Vec::new(), Interner::default())).collect(),
            scratch: Vec::with_capacity(num_cols.len()),
            num_cols,
            cat_cols,
            skipped: BTreeMap::new(),
            rows_read: 0,
            plan,
        }
    }

    fn text<'a>(&self, b: &'a [u8]) -> &'a [u8] {
        if self.trim { b.trim_ascii() } else { b }
    }

    fn is_missing(&self, b: &[u8]) -> bool {
        self.missing.iter().any(|t| t.as_slice() == b)
    }

    /// A bad cell: skip the row or fail.
    fn reject(&mut self, row: u64, col: usize, e: CellErr) -> Result<(), DataError> {
        if self.skip {
            *self.skipped.entry(e.reason).or_insert(0) += 1;
            return Ok(());
        }
        Err(DataError::Cell {
            file: self.plan.file.clone(),
            at: CellLocation { row, line: None, column: Some(quote(self.plan.name(col))) },
            expected: e.expected.into_owned(),
            found: e.found,
        })
    }

    /// A row with the wrong number of fields: skip it or fail.
    fn ragged(&mut self, row: u64, line: Option<u64>, found: usize, basis: &str) -> Result<(), DataError> {
        self.rows_read += 1;
        if self.skip {
            *self.skipped.entry(why::FIELDS).or_insert(0) += 1;
            return Ok(());
        }
        Err(DataError::RowLength {
            file: self.plan.file.clone(),
            row,
            line,
            expected: self.plan.names.len(),
            found,
            basis: basis.to_string(),
        })
    }

    fn id(&self, c: Cell) -> Result<String, CellErr> {
        let expected = "a record id (non-empty, not a missing-value token)";
        match c {
            Cell::Null => Err(CellErr::new(expected, "null".into(), reason::ID)),
            Cell::Num(v) => Ok(v.to_string()),
            Cell::Text(b) => {
                let b = self.text(b);
                if b.is_empty() || self.is_missing(b) {
                    Err(CellErr::new(expected, show_bytes(b), reason::ID))
                } else {
                    crate::id::checked_id(b).map(str::to_string)
                }
            }
        }
    }

    fn member(&self, c: Cell) -> Result<bool, CellErr> {
        match c {
            Cell::Null => Err(CellErr::new("0/1 or true/false", "null".into(), reason::MEMBER)),
            Cell::Num(1.0) => Ok(true),
            Cell::Num(0.0) => Ok(false),
            Cell::Num(v) => Err(CellErr::new("0/1 or true/false", v.to_string(), reason::MEMBER)),
            Cell::Text(b) => crate::csvread::parse_member(self.text(b)),
        }
    }

    /// The label: a fixed class index, or the trimmed text to look up once the row is valid.
    fn label<'a>(&self, c: Cell<'a>) -> Result<LabelValue<'a>, CellErr> {
        let b: &[u8] = match c {
            Cell::Null => return Err(CellErr::new("a class label", "null".into(), why::LABEL_MISSING)),
            Cell::Num(v) => return Err(CellErr::new("a class label as text", v.to_string(), why::LABEL_MISSING)),
            Cell::Text(b) => self.text(b),
        };
        if self.is_missing(b) {
            return Err(CellErr::new("a class label, not a missing value", show_bytes(b), why::LABEL_MISSING));
        }
        match &self.labels_kind {
            Labels::Fixed(map, list) => {
                let mapped = self.label_map.get(b).map(Vec::as_slice).unwrap_or(b);
                match map.get(mapped) {
                    Some(&k) => Ok(LabelValue::Code(k)),
                    None => {
                        let shown: Vec<String> = list.iter().take(10).map(|c| quote(c)).collect();
                        let more = if list.len() > 10 { ", …" } else { "" };
                        Err(CellErr::new(
                            format!("one of the `classes` ({}{more})", shown.join(", ")),
                            show_bytes(b),
                            why::LABEL_UNKNOWN,
                        ))
                    }
                }
            }
            Labels::Found(_) => Ok(LabelValue::Text(b)),
        }
    }

    fn number(&self, c: Cell) -> Result<f64, CellErr> {
        match c {
            Cell::Null => Ok(f64::NAN),
            Cell::Num(v) if v.is_nan() || v.is_finite() => Ok(v),
            Cell::Num(v) => Err(CellErr::new(self.expected_number.clone(), v.to_string(), reason::NON_FINITE)),
            Cell::Text(b) => {
                let b = self.text(b);
                if self.is_missing(b) {
                    return Ok(f64::NAN);
                }
                match parse_number(b) {
                    Some(v) if v.is_finite() => Ok(v),
                    Some(_) => Err(CellErr::new(self.expected_number.clone(), show_bytes(b), reason::NON_FINITE)),
                    None => Err(CellErr::new(self.expected_number.clone(), show_bytes(b), why::NUMERIC)),
                }
            }
        }
    }

    /// Reads, checks and keeps (or skips) one row with the right number of fields.
    /// `row` is 1-based, header not counted. Errors carry no line number.
    fn push(&mut self, row: u64, r: &impl Row) -> Result<(), DataError> {
        self.rows_read += 1;
        let id = match self.plan.id {
            Some(c) => match self.id(r.cell(c)) {
                Ok(id) => Some(id),
                Err(e) => return self.reject(row, c, e),
            },
            None => None,
        };
        let member = match self.plan.member {
            Some(c) => match self.member(r.cell(c)) {
                Ok(m) => Some(m),
                Err(e) => return self.reject(row, c, e),
            },
            None => None,
        };
        let lc = self.plan.label;
        let label = match self.label(r.cell(lc)) {
            Ok(l) => l,
            Err(e) => return self.reject(row, lc, e),
        };
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        for &c in &self.num_cols {
            match self.number(r.cell(c)) {
                Ok(v) => scratch.push(v),
                Err(e) => {
                    self.scratch = scratch;
                    return self.reject(row, c, e);
                }
            }
        }
        // The row is valid: keep it.
        let code = match (label, &mut self.labels_kind) {
            (LabelValue::Code(k), _) => k,
            (LabelValue::Text(b), Labels::Found(int)) => {
                int.code(self.label_map.get(b).map(Vec::as_slice).unwrap_or(b), false)
            }
            // Not reached: fixed classes always give a code.
            (LabelValue::Text(_), Labels::Fixed(..)) => 0,
        };
        self.labels.push(code);
        if let Some(m) = member {
            self.member.push(m);
        }
        self.ids.push(id.unwrap_or_else(|| row.to_string()));
        self.source_rows.push(row);
        for (v, &x) in self.nums.iter_mut().zip(&scratch) {
            v.push(x);
        }
        for (&c, (codes, int)) in self.cat_cols.iter().zip(self.cats.iter_mut()) {
            let code = match r.cell(c) {
                Cell::Null => int.code(&self.null_name, true),
                Cell::Num(x) => int.code(x.to_string().as_bytes(), false),
                Cell::Text(b) => {
                    let b = if self.trim { b.trim_ascii() } else { b };
                    int.code(b, self.missing.iter().any(|t| t.as_slice() == b))
                }
            };
            codes.push(code);
        }
        self.scratch = scratch;
        Ok(())
    }

    /// Checks the table as a whole and assembles it.
    fn finish(self, inputs: Vec<InputFile>, mut notes: Vec<String>) -> Result<Table, DataError> {
        let file = self.plan.file.clone();
        if self.rows_read == 0 {
            return Err(DataError::Empty { file, message: "no data rows".to_string() });
        }
        let skipped: Vec<SkipCount> =
            self.skipped.iter().map(|(r, &c)| SkipCount { reason: (*r).to_string(), count: c }).collect();
        let n_skipped: usize = skipped.iter().map(|s| s.count).sum();
        let kept = self.labels.len();
        if kept == 0 {
            return Err(DataError::AllSkipped {
                file,
                rows: self.rows_read,
                reasons: skipped.iter().map(|s| format!("{}: {}", s.reason, s.count)).collect::<Vec<_>>().join("; "),
            });
        }
        if let Some(c) = self.plan.id
            && let Some((i, j)) = first_duplicate(&self.ids)
        {
            return Err(DataError::DuplicateId {
                file,
                column: Some(quote(self.plan.name(c))),
                id: quote(&self.ids[j]),
                first_row: self.source_rows[i],
                second_row: self.source_rows[j],
            });
        }
        // Classes.
        let (classes, labels): (Vec<String>, Vec<usize>) = match self.labels_kind {
            Labels::Fixed(_, list) => (list, self.labels.iter().map(|&c| c as usize).collect()),
            Labels::Found(int) => {
                let mut order: Vec<usize> = (0..int.values.len()).collect();
                order.sort_by(|&a, &b| class_order(&int.values[a], &int.values[b]));
                let mut rank = vec![0usize; order.len()];
                for (r, &k) in order.iter().enumerate() {
                    rank[k] = r;
                }
                let classes = order.iter().map(|&k| int.values[k].clone()).collect();
                (classes, self.labels.iter().map(|&c| rank[c as usize]).collect())
            }
        };
        let mut seen = vec![false; classes.len()];
        for &l in &labels {
            seen[l] = true;
        }
        let present = seen.iter().filter(|&&s| s).count();
        if present < 2 && !(self.allow_one_class && present == 1) {
            let class = seen.iter().position(|&s| s).map(|k| quote(&classes[k])).unwrap_or_default();
            return Err(DataError::OneLabelClass {
                file,
                column: quote(self.plan.name(self.plan.label)),
                class,
                rows: kept,
                skipped: n_skipped,
            });
        }
        let (mut nums, mut cats) = (self.nums.into_iter(), self.cats.into_iter());
        let mut columns: Vec<Column> = Vec::with_capacity(self.plan.features.len());
        for &(c, kind) in &self.plan.features {
            let values = match kind {
                Kind::Numeric => ColumnValues::Numeric(nums.next().unwrap_or_default()),
                Kind::Categorical => {
                    let (codes, int) = cats.next().unwrap_or_default();
                    ColumnValues::Categorical(Categories { codes, values: int.values, missing: int.missing })
                }
            };
            columns.push(Column { name: self.plan.names[c].clone(), values });
        }
        if self.plan.id.is_none() {
            notes.push("no id column: record ids are the 1-based data row numbers".to_string());
        }
        notes.extend(self.plan.notes);
        for col in &columns {
            let n = col.n_missing();
            if n > 0 {
                let what = if col.is_numeric() {
                    "imputed by the mean at encoding"
                } else {
                    "encoded as a category of their own"
                };
                notes.push(format!("column {}: {n} missing value(s), {what}", quote(&col.name)));
            }
        }
        Ok(Table {
            file,
            ids: self.ids,
            source_rows: self.source_rows,
            labels,
            classes,
            member: self.plan.member.map(|_| self.member),
            columns,
            inputs,
            rows_read: self.rows_read,
            skipped,
            notes,
        })
    }
}

/// A label as read, before it gets its class index.
enum LabelValue<'a> {
    Code(u32),
    Text(&'a [u8]),
}

/// Class order: numbers (finite `f64`) first by value, ties by text; then other text in byte
/// order.
pub fn class_order(a: &str, b: &str) -> std::cmp::Ordering {
    let num = |s: &str| s.parse::<f64>().ok().filter(|v| v.is_finite());
    match (num(a), num(b)) {
        (Some(x), Some(y)) => x.total_cmp(&y).then_with(|| a.cmp(b)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

/// Parses a decimal number from trimmed bytes without allocating: a fast path for short
/// integers, `str::parse` otherwise. `None` if it is not a number.
fn parse_number(b: &[u8]) -> Option<f64> {
    let (neg, digits) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        _ => (false, b),
    };
    if !digits.is_empty() && digits.len() <= 15 && digits.iter().all(u8::is_ascii_digit) {
        let mut v: u64 = 0;
        for &d in digits {
            v = v * 10 + u64::from(d - b'0');
        }
        let v = v as f64;
        return Some(if neg { -v } else { v });
    }
    let s = std::str::from_utf8(b).ok()?;
    // Rust accepts "inf", "nan", "infinity": they parse, then fail the finiteness check.
    if s.is_empty() {
        return None;
    }
    s.parse::<f64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        for (s, v) in [("0", 0.0), ("1", 1.0), ("-17", -17.0), ("2.5", 2.5), ("1e3", 1000.0), ("+4", 4.0), (".5", 0.5)]
        {
            assert_eq!(parse_number(s.as_bytes()), Some(v), "{s}");
        }
        assert_eq!(parse_number(b"-0").map(f64::to_bits), Some((-0.0f64).to_bits()));
        assert_eq!(parse_number(b"123456789012345678901"), Some(123456789012345678901.0));
        for s in ["", "-", "x", "1,5", "1 2", "0x1"] {
            assert_eq!(parse_number(s.as_bytes()), None, "{s}");
        }
        assert!(parse_number(b"inf").is_some_and(|v| !v.is_finite()));
    }

    #[test]
    fn class_order_is_numbers_then_bytes() {
        let mut v = vec!["10", "b", "2", "A", "1.0", "1", "-3", "<=50K", ">50K", "nan"];
        v.sort_by(|a, b| class_order(a, b));
        assert_eq!(v, ["-3", "1", "1.0", "2", "10", "<=50K", ">50K", "A", "b", "nan"]);
    }
}
