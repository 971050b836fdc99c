//! Texts from Parquet (cargo feature `parquet`): one row per text, the JSON Lines fields as
//! columns of the same names (see the parent module). Column types are checked first, each
//! wrong one a one-line error naming the column and the types it may have; then every row
//! goes through the same validation as a JSON Lines record, its errors naming the 1-based
//! data row. The per-token lists are read in place: each batch's list offsets delimit slices
//! of the values buffer (float32 values are widened once per batch), nothing is allocated per
//! value.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::path::Path;

use arrow::array::{Array, ArrayRef, AsArray, GenericListArray, LargeStringArray, OffsetSizeTrait, StringArray};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{DataType, Float32Type, Float64Type, SchemaRef};

use super::{Builder, Fields, List, Scalar, TextTable, TokenList, show};
use crate::error::{RecordUnit, one_line, quote};
use crate::pq::{TextColumn, corrupt, for_each_batch, int_values, is_int, is_text_column, open_batches, read_guarded};
use crate::{DataError, LoadOptions};

pub(super) fn load(path: &Path, opts: &LoadOptions) -> Result<TextTable, DataError> {
    let hint = "if it is JSON Lines, name it .jsonl (or .jsonl.gz)";
    let (mut table, input) = read_guarded(path, hint, |f, file| read(f, file, opts))?;
    table.inputs = vec![input];
    Ok(table)
}

/// What a column of the texts holds, and so which types it may have.
#[derive(Clone, Copy)]
enum Kind {
    Id,
    Member,
    Text,
    Tokens,
}

/// The columns read, in the order of the JSON fields, with their kinds and, for the ones
/// the file must have, what they hold. Indexed by [`ID`], [`MEMBER`], ...
const COLUMNS: [(&str, Kind, Option<&str>); 8] = [
    ("id", Kind::Id, None),
    ("member", Kind::Member, Some("1 or true for members, 0 or false for non-members")),
    ("text", Kind::Text, None),
    ("logprobs", Kind::Tokens, Some("the model's log-probability of each token of the text")),
    ("mean", Kind::Tokens, None),
    ("std", Kind::Tokens, None),
    ("ref_logprobs", Kind::Tokens, None),
    ("lowercase_logprobs", Kind::Tokens, None),
];

const ID: usize = 0;
const MEMBER: usize = 1;
const TEXT: usize = 2;
const LOGPROBS: usize = 3;
const MEAN: usize = 4;
const STD: usize = 5;
const REF_LOGPROBS: usize = 6;
const LOWERCASE_LOGPROBS: usize = 7;

/// A list column's type: a list or large_list of float64 or float32.
fn is_float_list(t: &DataType) -> bool {
    match t {
        DataType::List(f) | DataType::LargeList(f) => matches!(f.data_type(), DataType::Float64 | DataType::Float32),
        _ => false,
    }
}

impl Kind {
    /// Whether a column of type `t` can hold this field. A column of type null (all nulls,
    /// as pyarrow writes a column of `None`) can hold any: every cell is an absent field.
    fn accepts(self, t: &DataType) -> bool {
        *t == DataType::Null
            || match self {
                Kind::Id => is_text_column(t) || is_int(t),
                Kind::Member => *t == DataType::Boolean || is_int(t),
                Kind::Text => is_text_column(t),
                Kind::Tokens => is_float_list(t),
            }
    }

    fn expected(self) -> &'static str {
        match self {
            Kind::Id => "a string or integer column",
            Kind::Member => "a boolean or integer (0/1) column",
            Kind::Text => "a string column",
            Kind::Tokens => "a list column of float64 or float32 (list or large_list)",
        }
    }
}

/// The position in the file of each of [`COLUMNS`] (`None`: not in the file), after
/// checking that the required ones are there, none is there twice and each has a type
/// that can hold it.
fn resolve(schema: &SchemaRef, file: &str, names: &[String]) -> Result<[Option<usize>; 8], DataError> {
    let mut at: HashMap<&str, usize> = HashMap::new();
    for (i, n) in names.iter().enumerate() {
        if !COLUMNS.iter().any(|(c, ..)| c == n) {
            continue;
        }
        if let Some(&first) = at.get(n.as_str()) {
            return Err(DataError::DuplicateColumn {
                file: file.to_string(),
                column: one_line(n),
                first: first + 1,
                second: i + 1,
            });
        }
        at.insert(n, i);
    }
    let mut cols = [None; 8];
    for (k, &(name, kind, required)) in COLUMNS.iter().enumerate() {
        let Some(&i) = at.get(name) else {
            if let Some(why) = required {
                return Err(DataError::MissingColumn {
                    file: file.to_string(),
                    column: name.to_string(),
                    why: why.to_string(),
                    found: names.to_vec(),
                });
            }
            continue;
        };
        let t = schema.fields().get(i).map(|f| f.data_type().clone()).unwrap_or(DataType::Null);
        if !kind.accepts(&t) {
            return Err(DataError::ColumnType {
                file: file.to_string(),
                column: name.to_string(),
                expected: kind.expected().to_string(),
                found: one_line(&t.to_string()),
            });
        }
        cols[k] = Some(i);
    }
    Ok(cols)
}

fn read(f: File, file: &str, opts: &LoadOptions) -> Result<TextTable, DataError> {
    let open = open_batches(f, file)?;
    let names = open.names.clone();
    let cols = resolve(open.schema(), file, &names)?;
    // The string columns, for naming a cell that is not UTF-8 when a batch fails.
    let text: Vec<TextColumn> = [(ID, true), (TEXT, false)]
        .into_iter()
        .filter_map(|(k, is_id)| cols[k].map(|i| TextColumn { field: i, name: COLUMNS[k].0.to_string(), is_id }))
        .collect();
    let used: Vec<usize> = cols.iter().flatten().copied().collect();
    let mut b = Builder::new(file, RecordUnit::Row, opts);
    let mut row = 0u64;
    for_each_batch(open, file, Some(&used), &text, |batch| {
        let array = |k: usize| -> Result<Option<&ArrayRef>, DataError> {
            let Some(i) = cols[k] else { return Ok(None) };
            let name = names.get(i).map(String::as_str).unwrap_or("");
            batch
                .column_by_name(name)
                .map(Some)
                .ok_or_else(|| corrupt(file, format!("column {} not read", quote(name))))
        };
        let bad = |e: String| corrupt(file, e);
        let scalar = |k| array(k).and_then(|a| ScalarColumn::new(a).map_err(bad));
        let (id, member, text) = (scalar(ID)?, scalar(MEMBER)?, scalar(TEXT)?);
        let list = |k| array(k).and_then(|a| ListColumn::new(a).map_err(bad));
        let (logprobs, mean, std, reference) = (list(LOGPROBS)?, list(MEAN)?, list(STD)?, list(REF_LOGPROBS)?);
        let lowercase = list(LOWERCASE_LOGPROBS)?;
        for i in 0..batch.num_rows() {
            row += 1;
            let fields = Fields {
                id: id.get(i),
                member: member.get(i),
                text: text.get(i),
                logprobs: logprobs.get(i).map_err(bad)?,
                mean: mean.get(i).map_err(bad)?,
                std: std.get(i).map_err(bad)?,
                ref_logprobs: reference.get(i).map_err(bad)?,
                lowercase_logprobs: lowercase.get(i).map_err(bad)?,
            };
            b.push(row, Ok(fields))?;
        }
        Ok(())
    })?;
    b.finish("the table has 0 rows")
}

/// A scalar column of one batch (`id`, `member`, `text`), as its cells are read.
enum ScalarColumn {
    /// Not in the file, or of type null.
    Absent,
    Int(Vec<Option<i128>>),
    Str(StringArray),
    LargeStr(LargeStringArray),
}

impl ScalarColumn {
    fn new(a: Option<&ArrayRef>) -> Result<ScalarColumn, String> {
        let Some(a) = a else { return Ok(ScalarColumn::Absent) };
        let t = a.data_type();
        let unexpected = || format!("unexpected column type {t}");
        Ok(match t {
            DataType::Null => ScalarColumn::Absent,
            DataType::Utf8 => ScalarColumn::Str(a.as_string_opt::<i32>().ok_or_else(unexpected)?.clone()),
            DataType::LargeUtf8 => ScalarColumn::LargeStr(a.as_string_opt::<i64>().ok_or_else(unexpected)?.clone()),
            t if is_text_column(t) => {
                let c = arrow::compute::cast(a, &DataType::LargeUtf8).map_err(|e| e.to_string())?;
                ScalarColumn::LargeStr(c.as_string_opt::<i64>().ok_or_else(unexpected)?.clone())
            }
            _ => ScalarColumn::Int(int_values(a).ok_or_else(unexpected)?),
        })
    }

    fn get(&self, i: usize) -> Scalar<'_> {
        let cell = match self {
            ScalarColumn::Absent => None,
            ScalarColumn::Int(v) => v.get(i).copied().flatten().map(Scalar::Int),
            ScalarColumn::Str(a) => (i < a.len() && a.is_valid(i)).then(|| Scalar::Str(a.value(i))),
            ScalarColumn::LargeStr(a) => (i < a.len() && a.is_valid(i)).then(|| Scalar::Str(a.value(i))),
        };
        cell.unwrap_or(Scalar::Absent)
    }
}

/// Where each row's list starts and ends in the values.
enum Offsets<'a> {
    Small(&'a [i32]),
    Large(&'a [i64]),
}

/// A list column of one batch: the rows' offsets into one buffer of values, read as f64.
struct Lists<'a> {
    offsets: Offsets<'a>,
    /// Null rows (absent lists).
    rows: Option<&'a NullBuffer>,
    values: Cow<'a, [f64]>,
    /// Null entries inside lists.
    nulls: Option<&'a NullBuffer>,
}

enum ListColumn<'a> {
    /// Not in the file, or of type null.
    Absent,
    Lists(Lists<'a>),
}

/// A list array's offsets, null rows and values.
fn parts<O: OffsetSizeTrait>(a: &GenericListArray<O>) -> (&[O], Option<&NullBuffer>, &ArrayRef) {
    (a.value_offsets(), a.nulls(), a.values())
}

impl<'a> ListColumn<'a> {
    fn new(a: Option<&'a ArrayRef>) -> Result<ListColumn<'a>, String> {
        let Some(a) = a else { return Ok(ListColumn::Absent) };
        let unexpected = || format!("unexpected column type {}", a.data_type());
        let (offsets, rows, values) = match a.data_type() {
            DataType::Null => return Ok(ListColumn::Absent),
            DataType::List(_) => {
                let (o, rows, v) = parts(a.as_list_opt::<i32>().ok_or_else(unexpected)?);
                (Offsets::Small(o), rows, v)
            }
            DataType::LargeList(_) => {
                let (o, rows, v) = parts(a.as_list_opt::<i64>().ok_or_else(unexpected)?);
                (Offsets::Large(o), rows, v)
            }
            _ => return Err(unexpected()),
        };
        let floats: Cow<'a, [f64]> = match values.data_type() {
            DataType::Float64 => {
                Cow::Borrowed(&values.as_primitive_opt::<Float64Type>().ok_or_else(unexpected)?.values()[..])
            }
            DataType::Float32 => {
                let v = values.as_primitive_opt::<Float32Type>().ok_or_else(unexpected)?;
                Cow::Owned(v.values().iter().map(|&x| f64::from(x)).collect())
            }
            _ => return Err(unexpected()),
        };
        Ok(ListColumn::Lists(Lists { offsets, rows, values: floats, nulls: values.nulls() }))
    }

    /// Row `i`'s list.
    fn get(&self, i: usize) -> Result<List<'static, RowList<'_>>, String> {
        let ListColumn::Lists(l) = self else { return Ok(List::Absent) };
        if l.rows.is_some_and(|n| n.is_null(i)) {
            return Ok(List::Absent);
        }
        fn at<O: Copy>(o: &[O], i: usize) -> Option<(usize, usize)>
        where
            usize: TryFrom<O>,
        {
            Some((usize::try_from(*o.get(i)?).ok()?, usize::try_from(*o.get(i + 1)?).ok()?))
        }
        let range = match l.offsets {
            Offsets::Small(o) => at(o, i),
            Offsets::Large(o) => at(o, i),
        };
        let values = range.and_then(|(s, e)| Some((s, l.values.get(s..e)?)));
        let (start, values) = values.ok_or_else(|| "list offsets out of range".to_string())?;
        Ok(List::Items(RowList { values, nulls: l.nulls, start }))
    }
}

/// A number as [`show`] shows the same number read from JSON (`0.5`, `1e+300`), or `NaN`,
/// `inf`, `-inf`, which JSON cannot hold.
fn show_number(f: f64) -> String {
    if f.is_finite() { show(Some(&serde_json::Value::from(f))) } else { f.to_string() }
}

/// One row's list: a slice of its column's values.
struct RowList<'a> {
    values: &'a [f64],
    /// The column's null entries, indexed from the start of its values.
    nulls: Option<&'a NullBuffer>,
    /// Where `values` starts in the column's values.
    start: usize,
}

impl RowList<'_> {
    fn is_null(&self, t: usize) -> bool {
        self.nulls.is_some_and(|n| n.is_null(self.start + t))
    }
}

impl TokenList for RowList<'_> {
    fn len(&self) -> usize {
        self.values.len()
    }

    fn get(&self, t: usize) -> Option<f64> {
        if self.is_null(t) { None } else { self.values.get(t).copied() }
    }

    fn show(&self, t: usize) -> String {
        match self.get(t) {
            Some(f) => show_number(f),
            None => "null".to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::Arc;

    use arrow::array::{
        BooleanArray, DictionaryArray, Float64Array, Int64Array, LargeListArray, ListArray, NullArray, RecordBatch,
    };
    use arrow::datatypes::Int32Type;
    use parquet::arrow::ArrowWriter;
    use serde_json::Value;

    use super::*;
    use crate::error::show_path;
    use crate::texts::load_texts;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/llm_parquet").join(name)
    }

    fn strict() -> LoadOptions {
        LoadOptions::default()
    }

    fn lenient() -> LoadOptions {
        LoadOptions { skip_invalid_rows: true, ..LoadOptions::default() }
    }

    /// The error of reading `path`, its file name replaced by `F`.
    fn error(path: &Path, opts: &LoadOptions) -> String {
        let e = load_texts(path, opts).expect_err("an error").to_string();
        assert!(!e.contains('\n'), "one line: {e}");
        e.replace(&show_path(path), "F")
    }

    /// Writes the columns as a Parquet file named `name` in a new temporary folder.
    fn write(name: &str, columns: Vec<(&str, ArrayRef)>) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        let batch = RecordBatch::try_from_iter_with_nullable(columns.into_iter().map(|(n, a)| (n, a, true))).unwrap();
        let mut w = ArrowWriter::try_new(File::create(&path).unwrap(), batch.schema(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        (dir, path)
    }

    fn lists(rows: Vec<Option<Vec<Option<f64>>>>) -> ArrayRef {
        Arc::new(ListArray::from_iter_primitive::<Float64Type, _, _>(rows))
    }

    fn strs(v: &[Option<&str>]) -> ArrayRef {
        Arc::new(StringArray::from(v.to_vec()))
    }

    fn bools(v: &[bool]) -> ArrayRef {
        Arc::new(BooleanArray::from(v.to_vec()))
    }

    fn bits(v: &[f64]) -> Vec<u64> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    fn bits_opt(v: &Option<Vec<f64>>) -> Option<Vec<u64>> {
        v.as_deref().map(bits)
    }

    /// Everything a TextTable holds but where it came from.
    fn assert_same(a: &TextTable, b: &TextTable) {
        assert_eq!(a.ids, b.ids);
        assert_eq!(a.member, b.member);
        assert_eq!(a.texts, b.texts);
        assert_eq!(bits(&a.logprobs), bits(&b.logprobs));
        assert_eq!(a.offsets, b.offsets);
        assert_eq!(bits_opt(&a.mean), bits_opt(&b.mean));
        assert_eq!(bits_opt(&a.std), bits_opt(&b.std));
        assert_eq!(bits_opt(&a.ref_logprobs), bits_opt(&b.ref_logprobs));
        assert_eq!(bits_opt(&a.lowercase_logprobs), bits_opt(&b.lowercase_logprobs));
        assert_eq!(a.lowercase_offsets, b.lowercase_offsets);
        assert_eq!(a.rows_read, b.rows_read);
        assert_eq!(a.skipped, b.skipped);
    }

    #[test]
    fn parquet_fixture_equals_the_jsonl() {
        let json = load_texts(&fixture("texts.jsonl"), &strict()).unwrap();
        let pq = load_texts(&fixture("texts.parquet"), &strict()).unwrap();
        assert_eq!(json.len(), 40);
        assert!(json.mean.is_some() && json.std.is_some() && json.ref_logprobs.is_some() && json.texts.is_some());
        // Row i's lowercased text has 1 + 5i mod 23 tokens (scripts/llm_parquet_fixture.py).
        let lower = json.lowercase_offsets.as_deref().unwrap();
        assert!(lower.windows(2).enumerate().all(|(i, w)| w[1] - w[0] == 1 + (5 * i) % 23));
        assert_same(&json, &pq);
        assert_eq!(pq.ids[0], "1000");
        assert_eq!(pq.logprobs[pq.offsets[3]].to_bits(), (-0.0f64).to_bits(), "the sign of zero survives");
        assert!(pq.notes.is_empty(), "{:?}", pq.notes);
        // Provenance as the JSON reader records it: the path as given, the file's SHA-256 and size.
        let path = fixture("texts.parquet");
        let bytes = std::fs::read(&path).unwrap();
        use sha2::Digest;
        let sha: String = sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        let input = &pq.inputs[..];
        assert_eq!(input.len(), 1);
        assert_eq!((input[0].path.as_str(), input[0].sha256.as_str()), (path.display().to_string().as_str(), &*sha));
        assert_eq!(input[0].bytes, bytes.len() as u64);
    }

    #[test]
    fn float32_fixture_equals_the_jsonl_rounded_to_float32() {
        let json = load_texts(&fixture("texts.jsonl"), &strict()).unwrap();
        let f32s = load_texts(&fixture("texts_f32.parquet"), &strict()).unwrap();
        let round = |v: &[f64]| v.iter().map(|&x| f64::from(x as f32)).collect::<Vec<f64>>();
        let rounded = TextTable {
            logprobs: round(&json.logprobs),
            mean: json.mean.as_deref().map(round),
            std: json.std.as_deref().map(round),
            ref_logprobs: json.ref_logprobs.as_deref().map(round),
            lowercase_logprobs: json.lowercase_logprobs.as_deref().map(round),
            ..json.clone()
        };
        assert_same(&rounded, &f32s);
        assert_ne!(bits(&json.logprobs), bits(&f32s.logprobs), "the fixture's values are not all float32");
    }

    #[test]
    fn bad_fixtures_name_the_column_or_row_and_field() {
        assert_eq!(
            error(&fixture("bad_types.parquet"), &strict()),
            "F: column \"logprobs\": expected a list column of float64 or float32 (list or large_list), \
             found type List(Utf8, field: 'element')"
        );
        let want = "F: row 3, field \"logprobs\": expected log-probabilities ≤ 0 at token 1, found 0.25";
        assert_eq!(error(&fixture("bad_value.parquet"), &strict()), want);
        // A column type is wrong whatever the rows hold: no skipping past it.
        assert!(error(&fixture("bad_types.parquet"), &lenient()).contains("column \"logprobs\""));
    }

    #[test]
    fn skipping_counts_the_bad_row() {
        let t = load_texts(&fixture("bad_value.parquet"), &lenient()).unwrap();
        assert_eq!(t.ids, ["a", "b", "d", "e"]);
        assert_eq!(t.member, [true, false, false, true]);
        assert_eq!(t.logprobs, [-0.5, -1.0, -2.0, -1.0, -3.0]);
        assert_eq!(t.offsets, [0, 2, 3, 4, 5]);
        assert_eq!(t.rows_read, 5);
        let reasons: Vec<(&str, usize)> = t.skipped.iter().map(|s| (s.reason.as_str(), s.count)).collect();
        assert_eq!(reasons, [("invalid per-token value", 1)]);
    }

    /// The columns of JSON Lines records, as a user would convert them: `id` and `text`
    /// strings (integers when every id is one), `member` boolean (integer when no value is a
    /// boolean), the per-token fields lists of float64; a field no record has is no column.
    fn columns_of(jsonl: &str) -> Vec<(&'static str, ArrayRef)> {
        let records: Vec<Value> =
            jsonl.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).unwrap()).collect();
        let mut out = Vec::new();
        for (name, kind, _) in COLUMNS {
            let values: Vec<Option<&Value>> = records.iter().map(|r| r.get(name).filter(|v| !v.is_null())).collect();
            if values.iter().all(Option::is_none) {
                continue;
            }
            let ints = values.iter().flatten().all(|v| v.is_i64());
            let array: ArrayRef = match kind {
                Kind::Id | Kind::Member if ints => {
                    Arc::new(Int64Array::from(values.iter().map(|v| v.and_then(Value::as_i64)).collect::<Vec<_>>()))
                }
                Kind::Member => {
                    Arc::new(BooleanArray::from(values.iter().map(|v| v.and_then(Value::as_bool)).collect::<Vec<_>>()))
                }
                Kind::Id | Kind::Text => {
                    Arc::new(StringArray::from(values.iter().map(|v| v.and_then(Value::as_str)).collect::<Vec<_>>()))
                }
                Kind::Tokens => lists(
                    values
                        .iter()
                        .map(|v| v.and_then(Value::as_array).map(|a| a.iter().map(Value::as_f64).collect()))
                        .collect(),
                ),
            };
            out.push((name, array));
        }
        out
    }

    #[test]
    fn parquet_rows_are_checked_as_json_lines_are() {
        let cases = [
            "{\"member\": 1, \"logprobs\": [-1]}\n{\"member\": 0}\n",
            "{\"member\": 1, \"logprobs\": []}\n",
            "{\"member\": 1, \"logprobs\": [-1, 0.5]}\n",
            "{\"member\": 1, \"logprobs\": [-1, null]}\n",
            "{\"member\": 2, \"logprobs\": [-1]}\n",
            "{\"member\": 1, \"logprobs\": [-1]}\n{\"logprobs\": [-1]}\n",
            "{\"member\": 1, \"logprobs\": [-1, -2], \"mean\": [0]}\n",
            "{\"member\": 1, \"logprobs\": [-1], \"std\": [0.0]}\n",
            "{\"member\": 1, \"logprobs\": [-1], \"std\": [-0.0]}\n",
            "{\"member\": 1, \"logprobs\": [-1], \"ref_logprobs\": [1e300]}\n",
            "{\"member\": 1, \"logprobs\": [-1], \"text\": \"a\"}\n{\"member\": 0, \"logprobs\": [-1]}\n",
            "{\"member\": 1, \"logprobs\": [-1]}\n{\"member\": 0, \"logprobs\": [-1], \"mean\": [1]}\n",
            "{\"id\": 1, \"member\": 1, \"logprobs\": [-1]}\n{\"id\": 1, \"member\": 0, \"logprobs\": [-1]}\n",
            "{\"id\": \"x\", \"member\": 1, \"logprobs\": [-1]}\n{\"id\": \"x\", \"member\": 0, \"logprobs\": [-1]}\n",
            "{\"id\": \"\", \"member\": 1, \"logprobs\": [-1]}\n",
            "{\"member\": 1, \"logprobs\": [-1]}\n{\"id\": \"1\", \"member\": 0, \"logprobs\": [-1]}\n",
            "{\"member\": 1, \"logprobs\": [-1]}\n{\"member\": 1, \"logprobs\": [-2]}\n",
            "{\"member\": true, \"logprobs\": [1.5]}\n{\"member\": true, \"logprobs\": [-2]}\n",
            "{\"member\": 1, \"logprobs\": [1.5]}\n{\"member\": 0, \"logprobs\": [2.5]}\n",
            // Valid (strict), and for the lenient reading a table to compare.
            "{\"member\": 1, \"logprobs\": [-1], \"mean\": null}\n{\"member\": 0, \"logprobs\": [-1, -0.5]}\n\
             {\"member\": 1, \"logprobs\": [7.5]}\n",
        ];
        // Numbers are written as floats: JSON shows an integer as written (`1`), Parquet as
        // the float it is (`1.0`).
        for jsonl in cases {
            let dir = tempfile::tempdir().unwrap();
            let json_path = dir.path().join("t.jsonl");
            std::fs::write(&json_path, jsonl).unwrap();
            let (_d, pq_path) = write("t.parquet", columns_of(jsonl));
            for opts in [strict(), lenient()] {
                match (load_texts(&json_path, &opts), load_texts(&pq_path, &opts)) {
                    (Ok(a), Ok(b)) => assert_same(&a, &b),
                    (Err(a), Err(b)) => {
                        let a = a.to_string().replace(&show_path(&json_path), "F");
                        let a = a.replace(": line ", ": row ").replace("as on line ", "as on row ");
                        let a = a.replace("(line 1 has", "(row 1 has");
                        assert_eq!(a, b.to_string().replace(&show_path(&pq_path), "F"), "{jsonl:?}");
                    }
                    (a, b) => panic!("{jsonl:?}: JSON Lines {a:?}, Parquet {b:?}"),
                }
            }
        }
    }

    #[test]
    fn rows_are_counted_across_batches() {
        // More rows than one batch holds: the bad row is in the second batch.
        let n = crate::pq::BATCH + 10;
        let bad = n - 3;
        let lp = lists((1..=n).map(|r| Some(vec![Some(if r == bad { 0.5 } else { -1.0 })])).collect());
        let member: Vec<bool> = (0..n).map(|r| r % 2 == 0).collect();
        let (_d, p) = write("t.parquet", vec![("member", bools(&member)), ("logprobs", lp)]);
        let want = format!("F: row {bad}, field \"logprobs\": expected log-probabilities ≤ 0 at token 0, found 0.5");
        assert_eq!(error(&p, &strict()), want);
        let t = load_texts(&p, &lenient()).unwrap();
        assert_eq!((t.len(), t.rows_read), (n - 1, n));
        assert_eq!(t.ids[bad - 1], (bad + 1).to_string());
    }

    #[test]
    fn values_only_parquet_can_hold() {
        let member = bools(&[true, false]);
        let cases = [
            (vec![Some(-1.0), Some(f64::NAN)], "found NaN"),
            (vec![Some(f64::NEG_INFINITY)], "at token 0, found -inf"),
            (vec![Some(-1.0), Some(2.0)], "at token 1, found 2.0"),
        ];
        for (bad, want) in cases {
            let lp = lists(vec![Some(vec![Some(-1.0)]), Some(bad)]);
            let (_d, p) = write("t.parquet", vec![("member", member.clone()), ("logprobs", lp)]);
            let e = error(&p, &strict());
            assert!(e.starts_with("F: row 2, field \"logprobs\": expected log-probabilities ≤ 0"), "{e}");
            assert!(e.ends_with(want), "{e}");
        }
        let std = lists(vec![Some(vec![Some(1.0)]), Some(vec![Some(f64::INFINITY)])]);
        let lp = lists(vec![Some(vec![Some(-1.0)]), Some(vec![Some(-1.0)])]);
        let (_d, p) = write("t.parquet", vec![("member", member), ("logprobs", lp), ("std", std)]);
        assert_eq!(
            error(&p, &strict()),
            "F: row 2, field \"std\": expected standard deviations > 0 at token 0, found inf"
        );
    }

    #[test]
    fn other_column_types_and_nulls() {
        // Integer ids, integer members, large lists, a dictionary-encoded text, an all-null
        // column (pyarrow's type for a column of None) and a column that is not read.
        let text: DictionaryArray<Int32Type> = vec!["x", "y", "x"].into_iter().collect();
        let lp = LargeListArray::from_iter_primitive::<Float64Type, _, _>(vec![
            Some(vec![Some(-1.0), Some(-2.0)]),
            Some(vec![Some(-0.5)]),
            Some(vec![Some(-3.0)]),
        ]);
        let (_d, p) = write(
            "T.PQ",
            vec![
                ("score", Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0]))),
                ("id", Arc::new(Int64Array::from(vec![-4, 5, 6]))),
                ("member", Arc::new(Int64Array::from(vec![1, 0, 0]))),
                ("text", Arc::new(text)),
                ("logprobs", Arc::new(lp)),
                ("mean", Arc::new(NullArray::new(3))),
            ],
        );
        let t = load_texts(&p, &strict()).unwrap();
        assert_eq!(t.ids, ["-4", "5", "6"]);
        assert_eq!(t.member, [true, false, false]);
        assert_eq!(t.texts.as_deref(), Some(&["x".to_string(), "y".to_string(), "x".to_string()][..]));
        assert_eq!(t.logprobs, [-1.0, -2.0, -0.5, -3.0]);
        assert_eq!(t.offsets, [0, 2, 3, 4]);
        assert!(t.mean.is_none());

        // Null ids and a null optional list are absent fields: ids are the row numbers.
        let lp = lists(vec![Some(vec![Some(-1.0)]), Some(vec![Some(-2.0)])]);
        let mean = lists(vec![None, None]);
        let ids = strs(&[None, None]);
        let (_d, p) =
            write("t.parquet", vec![("id", ids), ("member", bools(&[false, true])), ("logprobs", lp), ("mean", mean)]);
        let t = load_texts(&p, &strict()).unwrap();
        assert_eq!(t.ids, ["1", "2"]);
        assert!(t.mean.is_none());
        assert_eq!(t.notes, ["no \"id\" column: record ids are the 1-based data row numbers"]);
    }

    #[test]
    fn column_errors_are_one_line() {
        let lp = || lists(vec![Some(vec![Some(-1.0)]), Some(vec![Some(-2.0)])]);
        let member = || bools(&[true, false]);
        let cases: Vec<(Vec<(&str, ArrayRef)>, &str)> = vec![
            (
                vec![("member", strs(&[Some("1"), Some("0")])), ("logprobs", lp())],
                "F: column \"member\": expected a boolean or integer (0/1) column, found type Utf8",
            ),
            (
                vec![("id", Arc::new(Float64Array::from(vec![1.0, 2.0]))), ("member", member()), ("logprobs", lp())],
                "F: column \"id\": expected a string or integer column, found type Float64",
            ),
            (
                vec![("member", member()), ("logprobs", lp()), ("text", Arc::new(Int64Array::from(vec![1, 2])))],
                "F: column \"text\": expected a string column, found type Int64",
            ),
            (
                vec![("member", member()), ("logprobs", Arc::new(Float64Array::from(vec![-1.0, -2.0])))],
                "F: column \"logprobs\": expected a list column of float64 or float32 (list or large_list), \
                 found type Float64",
            ),
            (
                vec![("member", member())],
                "F: missing required column \"logprobs\" (the model's log-probability of each token of the text); \
                 columns found: \"member\"",
            ),
            (
                vec![("logprobs", lp())],
                "F: missing required column \"member\" (1 or true for members, 0 or false for non-members); \
                 columns found: \"logprobs\"",
            ),
            (
                vec![("member", member()), ("logprobs", lp()), ("member", member())],
                "F: duplicate column \"member\" in the header (columns 1 and 3)",
            ),
        ];
        for (columns, want) in cases {
            let (_d, p) = write("t.parquet", columns);
            assert_eq!(error(&p, &lenient()), want);
        }
        let (_d, p) = write("t.parquet", vec![("member", bools(&[])), ("logprobs", lists(vec![]))]);
        assert_eq!(error(&p, &strict()), "F: no texts (the table has 0 rows)");
    }

    #[test]
    fn files_that_are_not_parquet() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.parquet");
        std::fs::write(&p, "{\"member\": 1, \"logprobs\": [-1]}\n").unwrap();
        assert_eq!(
            error(&p, &strict()),
            "F: not a Parquet file (it does not start with the magic bytes PAR1) \
             (it looks like text; if it is JSON Lines, name it .jsonl (or .jsonl.gz))"
        );
        let mut bytes = std::fs::read(fixture("texts.parquet")).unwrap();
        bytes.truncate(bytes.len() / 2);
        std::fs::write(&p, &bytes).unwrap();
        assert!(error(&p, &strict()).starts_with("F: truncated or corrupt Parquet file"));
        let q = dir.path().join("t.txt");
        std::fs::write(&q, "x").unwrap();
        assert_eq!(
            error(&q, &strict()),
            "F: unsupported file type (not .jsonl or .parquet); accepted: .jsonl, .jsonl.gz, .ndjson, .parquet, .pq"
        );
    }
}
