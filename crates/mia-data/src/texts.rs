//! Texts scored by a language model (`mia llm`), one record per text, as vLLM's
//! `prompt_logprobs`, an OpenAI-compatible `echo` endpoint or a few lines of Hugging Face
//! `transformers` give them:
//!
//! * `id` — integer or string, unique (optional: ids are then the 1-based line or row
//!   numbers);
//! * `member` — 0/1 or true/false;
//! * `logprobs` — the model's log-probability of each actual token, in order (≤ 0, at least
//!   one token);
//! * optional `text` (for the zlib attack and the blind check), `mean` and `std` (per token:
//!   the mean and standard deviation of log p over the vocabulary at that position, for
//!   Min-K%++; σ > 0), `ref_logprobs` (a reference model's log-probabilities of the same
//!   tokens) and `lowercase_logprobs` (the model's log-probabilities of the tokens of the
//!   lowercased text: its own tokenization, so its own length; not all 0). An optional field
//!   is given for every text or for none.
//!
//! Two formats, chosen by the file name:
//!
//! * JSON Lines (`.jsonl`, `.ndjson`, or gzip `.jsonl.gz`): one object per text with those
//!   fields; other fields are ignored, a `null` is an absent field.
//! * Parquet (`.parquet`, `.pq`; cargo feature `parquet`, `texts/parquet.rs`): one
//!   row per text, columns of those names — `id` integer or string, `member` boolean or
//!   integer, `text` string, the per-token fields lists (list or large_list) of float64 or
//!   float32. Other columns are ignored; a null cell is an absent field, a null inside a list
//!   an invalid value.
//!
//! Both formats feed one validation (`parse`) and one accumulation (`Builder`), so the
//! rules and the messages are the same: every problem is one line naming the file, the line
//! (JSON Lines) or row (Parquet) and the field; with `skip_invalid_rows` a bad text is skipped
//! and counted by reason instead.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde::Deserialize;
use serde_json::{Number, Value};

use crate::error::{RecordUnit, one_line, quote, show_path};
use crate::hash::{HashingReader, io_error, open};
use crate::lines::{LineLimit, LineTooLong};
use crate::{DataError, InputFile, LoadOptions, SkipCount};

#[cfg(feature = "parquet")]
mod parquet;

/// The texts of a file, their membership and per-token values, one flat array per field
/// with shared offsets (text `i`'s tokens are `offsets[i]..offsets[i + 1]`).
#[derive(Debug, Clone, Default)]
pub struct TextTable {
    pub ids: Vec<String>,
    pub member: Vec<bool>,
    pub texts: Option<Vec<String>>,
    pub logprobs: Vec<f64>,
    pub offsets: Vec<usize>,
    pub mean: Option<Vec<f64>>,
    pub std: Option<Vec<f64>>,
    pub ref_logprobs: Option<Vec<f64>>,
    /// The lowercased texts' log-probabilities, with their own offsets (text `i`'s are
    /// `lowercase_offsets[i]..lowercase_offsets[i + 1]`); both or neither.
    pub lowercase_logprobs: Option<Vec<f64>>,
    pub lowercase_offsets: Option<Vec<usize>>,
    pub inputs: Vec<InputFile>,
    /// Texts seen (kept + skipped).
    pub rows_read: usize,
    pub skipped: Vec<SkipCount>,
    pub notes: Vec<String>,
}

impl TextTable {
    pub fn len(&self) -> usize {
        self.member.len()
    }
    pub fn is_empty(&self) -> bool {
        self.member.is_empty()
    }
}

/// A bad field, before it is placed (file, line or row).
struct FieldErr {
    field: &'static str,
    expected: String,
    found: String,
    reason: &'static str,
}

fn field_err(
    field: &'static str,
    expected: impl Into<String>,
    found: impl Into<String>,
    reason: &'static str,
) -> FieldErr {
    FieldErr { field, expected: expected.into(), found: found.into(), reason }
}

/// A value as messages show it: its JSON text, on one line, at most 40 characters.
fn show(v: Option<&Value>) -> String {
    match v {
        None => "nothing".into(),
        Some(v) => {
            let s = v.to_string();
            let s = if s.chars().count() > 40 { format!("{}…", s.chars().take(40).collect::<String>()) } else { s };
            one_line(&s)
        }
    }
}

/// A record's scalar field (`id`, `member`, `text`) as either format holds it.
#[derive(Clone, Copy)]
enum Scalar<'a> {
    /// Absent or null.
    Absent,
    Bool(bool),
    /// An integer (a JSON integer, a Parquet integer or boolean column's value).
    Int(i128),
    Str(&'a str),
    /// Any other JSON value (a fraction, a list, an object).
    Other(&'a Value),
}

impl<'a> Scalar<'a> {
    fn of_json(v: Option<&'a Value>) -> Scalar<'a> {
        match v {
            None | Some(Value::Null) => Scalar::Absent,
            Some(Value::Bool(b)) => Scalar::Bool(*b),
            Some(Value::String(s)) => Scalar::Str(s),
            Some(v @ Value::Number(n)) => match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => Scalar::Int(i.into()),
                (_, Some(u)) => Scalar::Int(u.into()),
                _ => Scalar::Other(v),
            },
            Some(v) => Scalar::Other(v),
        }
    }

    fn show(self) -> String {
        match self {
            Scalar::Absent => show(None),
            Scalar::Bool(b) => show(Some(&Value::Bool(b))),
            Scalar::Int(i) => i.to_string(),
            Scalar::Str(s) => show(Some(&Value::String(s.to_string()))),
            Scalar::Other(v) => show(Some(v)),
        }
    }
}

/// One record's per-token list, entry by entry, as either format holds it.
trait TokenList {
    fn len(&self) -> usize;
    /// Entry `t` when it is a number (any number: the caller checks its range).
    fn get(&self, t: usize) -> Option<f64>;
    /// Entry `t` as a message shows it.
    fn show(&self, t: usize) -> String;
}

/// A JSON per-token list: numbers as read (the common case, one `Number` each, no `Value`
/// tree), or, when some entry is not a number, every entry as a JSON value.
enum JsonEntries<'a> {
    Numbers(&'a [Number]),
    Values(&'a [Value]),
}

impl TokenList for JsonEntries<'_> {
    fn len(&self) -> usize {
        match self {
            JsonEntries::Numbers(v) => v.len(),
            JsonEntries::Values(v) => v.len(),
        }
    }
    fn get(&self, t: usize) -> Option<f64> {
        match self {
            JsonEntries::Numbers(v) => v[t].as_f64(),
            JsonEntries::Values(v) => v[t].as_f64(),
        }
    }
    fn show(&self, t: usize) -> String {
        match self {
            JsonEntries::Numbers(v) => show(Some(&Value::Number(v[t].clone()))),
            JsonEntries::Values(v) => show(Some(&v[t])),
        }
    }
}

/// A per-token field of a JSON line, deserialised without building a `Value` per number.
enum JsonList {
    Numbers(Vec<Number>),
    /// Anything but a list of numbers (kept whole for the message; `null` is absent).
    Other(Value),
}

impl<'de> Deserialize<'de> for JsonList {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<JsonList, D::Error> {
        d.deserialize_any(JsonListVisitor)
    }
}

/// One list entry: a number, or any other JSON value.
enum Entry {
    Number(Number),
    Other(Value),
}

impl<'de> Deserialize<'de> for Entry {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Entry, D::Error> {
        // A number arrives as a JSON number token; anything else is read as a `Value`.
        match Value::deserialize(d)? {
            Value::Number(n) => Ok(Entry::Number(n)),
            v => Ok(Entry::Other(v)),
        }
    }
}

struct JsonListVisitor;

impl<'de> serde::de::Visitor<'de> for JsonListVisitor {
    type Value = JsonList;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<JsonList, A::Error> {
        let mut numbers = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(e) = seq.next_element::<Entry>()? {
            match e {
                Entry::Number(n) => numbers.push(n),
                Entry::Other(v) => {
                    let mut items: Vec<Value> = numbers.into_iter().map(Value::Number).collect();
                    items.push(v);
                    while let Some(v) = seq.next_element::<Value>()? {
                        items.push(v);
                    }
                    return Ok(JsonList::Other(Value::Array(items)));
                }
            }
        }
        Ok(JsonList::Numbers(numbers))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<JsonList, A::Error> {
        Value::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(JsonList::Other)
    }
    fn visit_bool<E>(self, v: bool) -> Result<JsonList, E> {
        Ok(JsonList::Other(Value::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<JsonList, E> {
        Ok(JsonList::Other(Value::from(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<JsonList, E> {
        Ok(JsonList::Other(Value::from(v)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<JsonList, E> {
        Ok(JsonList::Other(Value::from(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<JsonList, E> {
        Ok(JsonList::Other(Value::String(v.to_string())))
    }
    fn visit_unit<E>(self) -> Result<JsonList, E> {
        Ok(JsonList::Other(Value::Null))
    }
}

/// A record's per-token field (`logprobs`, `mean`, `std`, `ref_logprobs`,
/// `lowercase_logprobs`).
enum List<'a, L> {
    /// Absent or null.
    Absent,
    /// A JSON value that is not a list.
    Other(&'a Value),
    Items(L),
}

impl<'a> List<'a, JsonEntries<'a>> {
    fn of_json(v: Option<&'a JsonList>) -> Self {
        match v {
            None | Some(JsonList::Other(Value::Null)) => List::Absent,
            Some(JsonList::Numbers(n)) => List::Items(JsonEntries::Numbers(n)),
            Some(JsonList::Other(Value::Array(items))) => List::Items(JsonEntries::Values(items)),
            Some(JsonList::Other(v)) => List::Other(v),
        }
    }
}

/// One record as read, before validation: every field the texts may have.
struct Fields<'a, L> {
    id: Scalar<'a>,
    member: Scalar<'a>,
    text: Scalar<'a>,
    logprobs: List<'a, L>,
    mean: List<'a, L>,
    std: List<'a, L>,
    ref_logprobs: List<'a, L>,
    lowercase_logprobs: List<'a, L>,
}

/// The check of each entry of a per-token field, and how messages name the values it allows.
type Check = (fn(f64) -> bool, &'static str);

const LOGPROB: Check = (|f| f <= 0.0, "log-probabilities ≤ 0");
const ANY: Check = (|_| true, "finite numbers");
const POSITIVE: Check = (|f| f > 0.0, "standard deviations > 0");

/// Appends a list of finite numbers (each checked by `ok`), with `n` entries when `n` is
/// given, to `out`; returns its length. On an error `out` may hold part of the list.
fn numbers<L: TokenList>(
    field: &'static str,
    list: &List<'_, L>,
    n: Option<usize>,
    ok: Check,
    out: &mut Vec<f64>,
) -> Result<usize, FieldErr> {
    let what = || match n {
        Some(n) => format!("a list of {n} numbers ({}; one per token of \"logprobs\")", ok.1),
        None => format!("a non-empty list of numbers ({})", ok.1),
    };
    let items = match list {
        List::Items(items) => items,
        List::Absent => return Err(field_err(field, what(), show(None), "missing or malformed per-token field")),
        List::Other(v) => return Err(field_err(field, what(), show(Some(v)), "missing or malformed per-token field")),
    };
    let len = items.len();
    if len == 0 || n.is_some_and(|n| n != len) {
        let found = format!("a list of {len} entries");
        return Err(field_err(field, what(), found, "per-token list of the wrong length"));
    }
    out.reserve(len);
    for t in 0..len {
        match items.get(t) {
            Some(f) if f.is_finite() && ok.0(f) => out.push(f),
            _ => {
                let expected = format!("{} at token {t}", ok.1);
                return Err(field_err(field, expected, items.show(t), "invalid per-token value"));
            }
        }
    }
    Ok(len)
}

/// The kept texts' per-token values, one flat array per field.
#[derive(Default)]
struct Tokens {
    logprobs: Vec<f64>,
    mean: Vec<f64>,
    std: Vec<f64>,
    reference: Vec<f64>,
    lowercase: Vec<f64>,
}

impl Tokens {
    fn lens(&self) -> [usize; 5] {
        [self.logprobs.len(), self.mean.len(), self.std.len(), self.reference.len(), self.lowercase.len()]
    }

    fn truncate(&mut self, to: [usize; 5]) {
        self.logprobs.truncate(to[0]);
        self.mean.truncate(to[1]);
        self.std.truncate(to[2]);
        self.reference.truncate(to[3]);
        self.lowercase.truncate(to[4]);
    }
}

/// A valid record's scalar fields and which optional fields it has; its per-token values
/// are appended to [`Tokens`].
struct Parsed {
    id: Option<String>,
    member: bool,
    text: Option<String>,
    shape: Shape,
}

/// Validates one record (the rules of both formats), appending its per-token values to
/// `out`. On an error `out` may hold part of the record: the caller truncates it.
fn parse<L: TokenList>(f: &Fields<'_, L>, out: &mut Tokens) -> Result<Parsed, FieldErr> {
    let id = match f.id {
        Scalar::Absent => None,
        Scalar::Str(s) if !s.is_empty() && !s.contains('\0') => Some(s.to_string()),
        Scalar::Int(i) => Some(i.to_string()),
        v => return Err(field_err("id", "an integer or a non-empty string", v.show(), "bad id")),
    };
    let member = match f.member {
        Scalar::Bool(b) => b,
        Scalar::Int(1) => true,
        Scalar::Int(0) => false,
        v => return Err(field_err("member", "0/1 or true/false", v.show(), "member not 0/1 or true/false")),
    };
    let text = match f.text {
        Scalar::Absent => None,
        Scalar::Str(s) => Some(s.to_string()),
        v => return Err(field_err("text", "a string", v.show(), "text not a string")),
    };
    let n = Some(numbers("logprobs", &f.logprobs, None, LOGPROB, &mut out.logprobs)?);
    let opt = |field, list: &List<'_, L>, ok, out: &mut Vec<f64>| match list {
        List::Absent => Ok(false),
        list => numbers(field, list, n, ok, out).map(|_| true),
    };
    let mean = opt("mean", &f.mean, ANY, &mut out.mean)?;
    let std = opt("std", &f.std, POSITIVE, &mut out.std)?;
    let reference = opt("ref_logprobs", &f.ref_logprobs, LOGPROB, &mut out.reference)?;
    let lowercase = match &f.lowercase_logprobs {
        List::Absent => false,
        list => {
            let from = out.lowercase.len();
            numbers("lowercase_logprobs", list, None, LOGPROB, &mut out.lowercase)?;
            // The lowercase attack divides by their mean.
            if out.lowercase[from..].iter().all(|&v| v == 0.0) {
                let expected = "at least one log-probability < 0 (the lowercase attack divides by their mean)";
                return Err(field_err("lowercase_logprobs", expected, "only zeros", "invalid per-token value"));
            }
            true
        }
    };
    let shape = Shape { id: id.is_some(), text: text.is_some(), mean, std, reference, lowercase };
    Ok(Parsed { id, member, text, shape })
}

/// Which optional fields the texts carry (set by the first kept text).
#[derive(Clone, Copy, PartialEq, Eq)]
struct Shape {
    id: bool,
    text: bool,
    mean: bool,
    std: bool,
    reference: bool,
    lowercase: bool,
}

impl Shape {
    /// The first optional field this text has and the first did not, or lacks and the first had.
    fn differs(self, other: Shape) -> Option<(&'static str, bool)> {
        [
            ("id", self.id, other.id),
            ("text", self.text, other.text),
            ("mean", self.mean, other.mean),
            ("std", self.std, other.std),
            ("ref_logprobs", self.reference, other.reference),
            ("lowercase_logprobs", self.lowercase, other.lowercase),
        ]
        .into_iter()
        .find(|(_, a, b)| a != b)
        .map(|(f, first, _)| (f, first))
    }
}

/// Accumulates the records of one file, whatever its format, into a [`TextTable`]: each
/// record is validated ([`parse`]), checked against the first (the same optional fields)
/// and the ones before (a unique id), then kept, skipped and counted, or turned into the
/// error that names the file, the record's line or row and the field.
struct Builder<'f> {
    file: &'f str,
    unit: RecordUnit,
    skip_invalid: bool,
    ids: Vec<String>,
    member: Vec<bool>,
    offsets: Vec<usize>,
    lowercase_offsets: Vec<usize>,
    texts: Vec<String>,
    tokens: Tokens,
    rows_read: usize,
    /// The optional fields of the first kept record, and where it is.
    shape: Option<(Shape, u64)>,
    skipped: BTreeMap<&'static str, usize>,
    first_at: HashMap<String, u64>,
}

impl<'f> Builder<'f> {
    fn new(file: &'f str, unit: RecordUnit, opts: &LoadOptions) -> Self {
        Builder {
            file,
            unit,
            skip_invalid: opts.skip_invalid_rows,
            ids: Vec::new(),
            member: Vec::new(),
            offsets: vec![0],
            lowercase_offsets: vec![0],
            texts: Vec::new(),
            tokens: Tokens::default(),
            rows_read: 0,
            shape: None,
            skipped: BTreeMap::new(),
            first_at: HashMap::new(),
        }
    }

    fn error(&self, at: u64, e: FieldErr) -> DataError {
        DataError::Field {
            file: self.file.to_string(),
            unit: self.unit,
            line: at,
            field: e.field.to_string(),
            expected: e.expected,
            found: e.found,
        }
    }

    /// Takes the record at line or row `at` (1-based), or the error reading it gave.
    fn push<L: TokenList>(&mut self, at: u64, record: Result<Fields<'_, L>, FieldErr>) -> Result<(), DataError> {
        self.rows_read += 1;
        let mark = self.tokens.lens();
        let p = match record.and_then(|f| parse(&f, &mut self.tokens)) {
            Ok(p) => p,
            Err(e) => {
                self.tokens.truncate(mark);
                if self.skip_invalid {
                    *self.skipped.entry(e.reason).or_insert(0) += 1;
                    return Ok(());
                }
                return Err(self.error(at, e));
            }
        };
        match self.shape {
            None => self.shape = Some((p.shape, at)),
            Some((first, first_at)) => {
                if let Some((field, had)) = first.differs(p.shape) {
                    let found = if had { "nothing" } else { "a value" };
                    let expected = format!(
                        "{} as on {} {first_at} (a field is given for every text or for none)",
                        if had { "a value" } else { "nothing" },
                        self.unit
                    );
                    return Err(self.error(at, field_err(field, expected, found, "")));
                }
            }
        }
        let id = p.id.unwrap_or_else(|| at.to_string());
        if let Some(&first) = self.first_at.get(&id) {
            let expected = format!("a unique id ({} {first} has the same)", self.unit);
            return Err(self.error(at, field_err("id", expected, quote(&id), "")));
        }
        self.first_at.insert(id.clone(), at);
        self.ids.push(id);
        self.member.push(p.member);
        self.offsets.push(self.tokens.logprobs.len());
        self.lowercase_offsets.push(self.tokens.lowercase.len());
        self.texts.extend(p.text);
        Ok(())
    }

    /// The table, or an error when it has no text (`empty` says why) or only one class.
    fn finish(self, empty: &str) -> Result<TextTable, DataError> {
        let file = self.file.to_string();
        let skipped: Vec<SkipCount> =
            self.skipped.into_iter().map(|(reason, count)| SkipCount { reason: reason.to_string(), count }).collect();
        if self.rows_read == 0 {
            return Err(DataError::Empty { file, message: format!("no texts ({empty})") });
        }
        if self.member.is_empty() {
            let reasons = skipped.iter().map(|s| format!("{}: {}", s.reason, s.count)).collect::<Vec<_>>().join("; ");
            return Err(DataError::AllSkipped { file, rows: self.rows_read, reasons });
        }
        let members = self.member.iter().filter(|&&m| m).count();
        if members == 0 || members == self.member.len() {
            return Err(DataError::OneClass {
                file,
                members,
                non_members: self.member.len() - members,
                skipped: self.rows_read - self.member.len(),
            });
        }
        let s = self.shape.map(|(s, _)| s);
        let has = |f: fn(Shape) -> bool| s.is_some_and(f);
        let keep = |on: bool, v: Vec<f64>| on.then_some(v);
        let mut notes = Vec::new();
        if !has(|s| s.id) {
            notes.push(match self.unit {
                RecordUnit::Line => "no \"id\" field: record ids are the 1-based line numbers".to_string(),
                RecordUnit::Row => "no \"id\" column: record ids are the 1-based data row numbers".to_string(),
            });
        }
        let Tokens { logprobs, mean, std, reference, lowercase } = self.tokens;
        let lowercase_on = has(|s| s.lowercase);
        Ok(TextTable {
            ids: self.ids,
            member: self.member,
            texts: has(|s| s.text).then_some(self.texts),
            logprobs,
            offsets: self.offsets,
            mean: keep(has(|s| s.mean), mean),
            std: keep(has(|s| s.std), std),
            ref_logprobs: keep(has(|s| s.reference), reference),
            lowercase_logprobs: keep(lowercase_on, lowercase),
            lowercase_offsets: lowercase_on.then_some(self.lowercase_offsets),
            inputs: Vec::new(),
            rows_read: self.rows_read,
            skipped,
            notes,
        })
    }
}

/// The file extensions [`load_texts`] reads.
pub const TEXT_EXTENSIONS: &str = ".jsonl, .jsonl.gz, .ndjson, .parquet, .pq";

/// Reads a file of texts (see the module doc): Parquet when it is named `.parquet` or `.pq`,
/// JSON Lines when `.jsonl`, `.ndjson` or `.jsonl.gz` (gzip), any case.
pub fn load_texts(path: &Path, opts: &LoadOptions) -> Result<TextTable, DataError> {
    let file = show_path(path);
    let name = file.to_ascii_lowercase();
    if name.ends_with(".parquet") || name.ends_with(".pq") {
        return load_parquet(path, opts);
    }
    let gz = name.ends_with(".gz");
    if !(name.ends_with(".jsonl") || name.ends_with(".jsonl.gz") || name.ends_with(".ndjson")) {
        return Err(DataError::UnknownFormat {
            file,
            found: "not .jsonl or .parquet".into(),
            accepted: TEXT_EXTENSIONS.into(),
        });
    }
    let mut hashing = HashingReader::new(open(path)?);
    let table = {
        let raw: Box<dyn Read + '_> = if gz {
            Box::new(flate2::read::MultiGzDecoder::new(BufReader::with_capacity(1 << 16, &mut hashing)))
        } else {
            Box::new(&mut hashing)
        };
        read_lines(BufReader::with_capacity(1 << 16, LineLimit::new(raw)), path, &file, opts)?
    };
    let input = hashing.finish(path)?;
    Ok(TextTable { inputs: vec![input], ..table })
}

#[cfg(feature = "parquet")]
fn load_parquet(path: &Path, opts: &LoadOptions) -> Result<TextTable, DataError> {
    parquet::load(path, opts)
}

#[cfg(not(feature = "parquet"))]
fn load_parquet(path: &Path, _opts: &LoadOptions) -> Result<TextTable, DataError> {
    Err(DataError::BadFile {
        file: show_path(path),
        message: "Parquet support is not compiled into this build (cargo feature \"parquet\"); convert to JSON Lines"
            .to_string(),
    })
}

/// A JSON Lines record: the fields a text may have (others are ignored).
#[derive(Deserialize)]
struct Line {
    id: Option<Value>,
    member: Option<Value>,
    text: Option<Value>,
    logprobs: Option<JsonList>,
    mean: Option<JsonList>,
    std: Option<JsonList>,
    ref_logprobs: Option<JsonList>,
    lowercase_logprobs: Option<JsonList>,
}

impl Line {
    fn fields(&self) -> Fields<'_, JsonEntries<'_>> {
        Fields {
            id: Scalar::of_json(self.id.as_ref()),
            member: Scalar::of_json(self.member.as_ref()),
            text: Scalar::of_json(self.text.as_ref()),
            logprobs: List::of_json(self.logprobs.as_ref()),
            mean: List::of_json(self.mean.as_ref()),
            std: List::of_json(self.std.as_ref()),
            ref_logprobs: List::of_json(self.ref_logprobs.as_ref()),
            lowercase_logprobs: List::of_json(self.lowercase_logprobs.as_ref()),
        }
    }
}

fn read_lines(mut r: impl BufRead, path: &Path, file: &str, opts: &LoadOptions) -> Result<TextTable, DataError> {
    let mut b = Builder::new(file, RecordUnit::Line, opts);
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    loop {
        buf.clear();
        let n = r.read_until(b'\n', &mut buf).map_err(|e| match LineTooLong::of(&e) {
            Some(l) => DataError::BadFile { file: file.to_string(), message: l.to_string() },
            None => io_error(path, &e),
        })?;
        if n == 0 {
            break;
        }
        line_no += 1;
        if buf.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        let line = serde_json::from_slice::<Line>(&buf);
        let record = line
            .as_ref()
            .map(Line::fields)
            .map_err(|e| field_err("(the line)", "a JSON object", format!("invalid JSON ({e})"), "not a JSON object"));
        b.push(line_no, record)?;
    }
    b.finish("no non-blank lines")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        (dir, p)
    }

    fn load(text: &str) -> Result<TextTable, String> {
        let (_d, p) = write("t.jsonl", text);
        load_texts(&p, &LoadOptions::default()).map_err(|e| e.to_string().replace(&show_path(&p), "F"))
    }

    const GOOD: &str = "{\"id\": 7, \"member\": 1, \"text\": \"a b\", \"logprobs\": [-0.5, -1.5]}\n\n\
        {\"id\": \"x\", \"member\": false, \"text\": \"c\", \"logprobs\": [-2.0], \"extra\": {\"k\": 1}}\n";

    #[test]
    fn reads_texts_and_tokens() {
        let t = load(GOOD).unwrap();
        assert_eq!(t.ids, ["7", "x"]);
        assert_eq!(t.member, [true, false]);
        assert_eq!(t.logprobs, [-0.5, -1.5, -2.0]);
        assert_eq!(t.offsets, [0, 2, 3]);
        assert_eq!(t.texts.as_deref(), Some(&["a b".to_string(), "c".to_string()][..]));
        assert!(t.mean.is_none() && t.std.is_none() && t.ref_logprobs.is_none());
        assert!(t.lowercase_logprobs.is_none() && t.lowercase_offsets.is_none());
        assert_eq!(t.rows_read, 2, "the blank line is not a text");
        assert_eq!(t.inputs.len(), 1);
    }

    /// The lowercased texts' log-probabilities have their own lengths and offsets.
    #[test]
    fn reads_lowercase_logprobs_with_their_own_offsets() {
        let t = load(
            "{\"member\": 1, \"logprobs\": [-0.5, -1.5], \"lowercase_logprobs\": [-1, 0, -2]}\n\
             {\"member\": 0, \"logprobs\": [-2.0], \"lowercase_logprobs\": [-4]}\n",
        )
        .unwrap();
        assert_eq!(t.lowercase_logprobs.as_deref(), Some(&[-1.0, 0.0, -2.0, -4.0][..]));
        assert_eq!(t.lowercase_offsets.as_deref(), Some(&[0, 3, 4][..]));
        assert_eq!(t.offsets, [0, 2, 3]);
    }

    #[test]
    fn bad_texts_name_the_line_and_field() {
        let cases = [
            ("{\"member\": 1, \"logprobs\": [-1]}\nnot json\n", "F: line 2, field (the line): expected a JSON object"),
            ("{\"member\": 1}\n", "F: line 1, field \"logprobs\": expected a non-empty list of numbers"),
            ("{\"member\": 1, \"logprobs\": []}\n", "F: line 1, field \"logprobs\": expected a non-empty list"),
            (
                "{\"member\": 1, \"logprobs\": [-1, 0.5]}\n",
                "F: line 1, field \"logprobs\": expected log-probabilities ≤ 0 at token 1, found 0.5",
            ),
            (
                "{\"member\": 2, \"logprobs\": [-1]}\n",
                "F: line 1, field \"member\": expected 0/1 or true/false, found 2",
            ),
            (
                "{\"member\": 1, \"logprobs\": [-1, -2], \"mean\": [0]}\n",
                "F: line 1, field \"mean\": expected a list of 2 numbers",
            ),
            (
                "{\"member\": 1, \"logprobs\": [-1], \"std\": [0]}\n",
                "F: line 1, field \"std\": expected standard deviations > 0 at token 0, found 0",
            ),
            (
                "{\"member\": 1, \"logprobs\": [-1], \"text\": \"a\"}\n{\"member\": 0, \"logprobs\": [-1]}\n",
                "F: line 2, field \"text\": expected a value as on line 1",
            ),
            (
                "{\"id\": 1, \"member\": 1, \"logprobs\": [-1]}\n{\"id\": 1, \"member\": 0, \"logprobs\": [-1]}\n",
                "F: line 2, field \"id\": expected a unique id (line 1 has the same), found \"1\"",
            ),
            (
                "{\"member\": 1, \"logprobs\": [-1]}\n{\"member\": 1, \"logprobs\": [-2]}\n",
                "found 2 member(s) and 0 non-member(s)",
            ),
            (
                "{\"member\": 1, \"logprobs\": [-1], \"lowercase_logprobs\": [0, 0]}\n",
                "F: line 1, field \"lowercase_logprobs\": expected at least one log-probability < 0",
            ),
            (
                "{\"member\": 1, \"logprobs\": [-1], \"lowercase_logprobs\": [-1, 0.5]}\n",
                "F: line 1, field \"lowercase_logprobs\": expected log-probabilities ≤ 0 at token 1, found 0.5",
            ),
            (
                "{\"member\": 1, \"logprobs\": [-1], \"lowercase_logprobs\": [-1]}\n{\"member\": 0, \"logprobs\": [-1]}\n",
                "F: line 2, field \"lowercase_logprobs\": expected a value as on line 1",
            ),
            ("\n\n", "no texts"),
        ];
        for (text, want) in cases {
            let e = load(text).unwrap_err();
            assert!(e.contains(want), "{text:?}: {e}");
            assert!(!e.contains('\n'), "one line: {e}");
        }
    }

    #[test]
    fn skipping_counts_bad_texts() {
        let (_d, p) = write("t.jsonl", &format!("{GOOD}{{\"member\": 1, \"logprobs\": [1.0]}}\nnope\n"));
        let t = load_texts(&p, &LoadOptions { skip_invalid_rows: true, ..Default::default() }).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t.rows_read, 4);
        let reasons: Vec<(&str, usize)> = t.skipped.iter().map(|s| (s.reason.as_str(), s.count)).collect();
        assert_eq!(reasons, [("invalid per-token value", 1), ("not a JSON object", 1)]);
    }

    #[cfg(not(feature = "parquet"))]
    #[test]
    fn parquet_needs_the_feature() {
        let (_d, p) = write("t.Parquet", "PAR1");
        let e = load_texts(&p, &LoadOptions::default()).unwrap_err().to_string();
        assert_eq!(
            e.replace(&show_path(&p), "F"),
            "F: Parquet support is not compiled into this build (cargo feature \"parquet\"); convert to JSON Lines"
        );
    }

    #[test]
    fn reads_gzip() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.jsonl.gz");
        let mut gz = flate2::write::GzEncoder::new(std::fs::File::create(&p).unwrap(), flate2::Compression::default());
        gz.write_all(GOOD.as_bytes()).unwrap();
        gz.finish().unwrap();
        assert_eq!(load_texts(&p, &LoadOptions::default()).unwrap().logprobs, [-0.5, -1.5, -2.0]);
    }
}
