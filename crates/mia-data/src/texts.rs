//! Texts scored by a language model (`mia llm`): JSON Lines (`.jsonl`, or gzip `.jsonl.gz`),
//! one object per text, as vLLM's `prompt_logprobs`, an OpenAI-compatible `echo` endpoint or
//! a few lines of Hugging Face `transformers` give them:
//!
//! * `id` — integer or string, unique (optional: ids are then the 1-based line numbers);
//! * `member` — 0/1 or true/false;
//! * `logprobs` — the model's log-probability of each actual token, in order (≤ 0, at least
//!   one token);
//! * optional `text` (for the zlib attack and the blind check), `mean` and `std` (per token:
//!   the mean and standard deviation of log p over the vocabulary at that position, for
//!   Min-K%++; σ > 0) and `ref_logprobs` (a reference model's log-probabilities of the same
//!   tokens). An optional field is given for every text or for none.
//!
//! Other fields are ignored. Every problem is one line naming the file, the line and the
//! field; with `skip_invalid_rows` a bad text is skipped and counted by reason instead.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::error::{one_line, quote, show_path};
use crate::hash::{HashingReader, io_error, open};
use crate::lines::{LineLimit, LineTooLong};
use crate::{DataError, InputFile, LoadOptions, SkipCount};

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

#[derive(Deserialize)]
struct Line {
    id: Option<Value>,
    member: Option<Value>,
    text: Option<Value>,
    logprobs: Option<Value>,
    mean: Option<Value>,
    std: Option<Value>,
    ref_logprobs: Option<Value>,
}

/// A bad field, before it is placed (file, line).
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

/// A list of finite numbers (each checked by `ok`), with `n` entries when `n` is given.
fn numbers(
    field: &'static str,
    v: Option<&Value>,
    n: Option<usize>,
    ok: (fn(f64) -> bool, &'static str),
) -> Result<Vec<f64>, FieldErr> {
    let what = match n {
        Some(n) => format!("a list of {n} numbers ({}; one per token of \"logprobs\")", ok.1),
        None => format!("a non-empty list of numbers ({})", ok.1),
    };
    let Some(Value::Array(items)) = v else {
        return Err(field_err(field, what, show(v), "missing or malformed per-token field"));
    };
    if items.is_empty() || n.is_some_and(|n| n != items.len()) {
        let found = format!("a list of {} entries", items.len());
        return Err(field_err(field, what, found, "per-token list of the wrong length"));
    }
    items
        .iter()
        .enumerate()
        .map(|(t, x)| match x.as_f64() {
            Some(f) if ok.0(f) => Ok(f),
            _ => Err(field_err(field, format!("{} at token {t}", ok.1), show(Some(x)), "invalid per-token value")),
        })
        .collect()
}

const LOGPROB: (fn(f64) -> bool, &str) = (|f| f <= 0.0, "log-probabilities ≤ 0");
const ANY: (fn(f64) -> bool, &str) = (|_| true, "finite numbers");
const POSITIVE: (fn(f64) -> bool, &str) = (|f| f > 0.0, "standard deviations > 0");

struct Parsed {
    id: Option<String>,
    member: bool,
    text: Option<String>,
    logprobs: Vec<f64>,
    mean: Option<Vec<f64>>,
    std: Option<Vec<f64>>,
    ref_logprobs: Option<Vec<f64>>,
}

fn parse(line: &Line) -> Result<Parsed, FieldErr> {
    let id = match &line.id {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.is_empty() && !s.contains('\0') => Some(s.clone()),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        Some(v) => return Err(field_err("id", "an integer or a non-empty string", show(Some(v)), "bad id")),
    };
    let member = match &line.member {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) if n.as_u64() == Some(1) => true,
        Some(Value::Number(n)) if n.as_u64() == Some(0) => false,
        v => return Err(field_err("member", "0/1 or true/false", show(v.as_ref()), "member not 0/1 or true/false")),
    };
    let text = match &line.text {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(v) => return Err(field_err("text", "a string", show(Some(v)), "text not a string")),
    };
    let logprobs = numbers("logprobs", line.logprobs.as_ref(), None, LOGPROB)?;
    let n = Some(logprobs.len());
    let opt = |field, v: &Option<Value>, ok| match v {
        None | Some(Value::Null) => Ok(None),
        Some(v) => numbers(field, Some(v), n, ok).map(Some),
    };
    Ok(Parsed {
        id,
        member,
        text,
        mean: opt("mean", &line.mean, ANY)?,
        std: opt("std", &line.std, POSITIVE)?,
        ref_logprobs: opt("ref_logprobs", &line.ref_logprobs, LOGPROB)?,
        logprobs,
    })
}

/// Which optional fields the texts carry (set by the first kept text).
#[derive(Clone, Copy, PartialEq, Eq)]
struct Shape {
    id: bool,
    text: bool,
    mean: bool,
    std: bool,
    reference: bool,
}

impl Shape {
    fn of(p: &Parsed) -> Shape {
        Shape {
            id: p.id.is_some(),
            text: p.text.is_some(),
            mean: p.mean.is_some(),
            std: p.std.is_some(),
            reference: p.ref_logprobs.is_some(),
        }
    }

    /// The first optional field this text has and the first did not, or lacks and the first had.
    fn differs(self, other: Shape) -> Option<(&'static str, bool)> {
        [
            ("id", self.id, other.id),
            ("text", self.text, other.text),
            ("mean", self.mean, other.mean),
            ("std", self.std, other.std),
            ("ref_logprobs", self.reference, other.reference),
        ]
        .into_iter()
        .find(|(_, a, b)| a != b)
        .map(|(f, first, _)| (f, first))
    }
}

/// Reads a JSON Lines file of texts (see the module doc).
pub fn load_texts(path: &Path, opts: &LoadOptions) -> Result<TextTable, DataError> {
    let file = show_path(path);
    let name = file.to_ascii_lowercase();
    let gz = name.ends_with(".gz");
    if !(name.ends_with(".jsonl") || name.ends_with(".jsonl.gz") || name.ends_with(".ndjson")) {
        return Err(DataError::UnknownFormat {
            file,
            found: "not .jsonl".into(),
            accepted: ".jsonl, .jsonl.gz, .ndjson".into(),
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

fn read_lines(mut r: impl BufRead, path: &Path, file: &str, opts: &LoadOptions) -> Result<TextTable, DataError> {
    let mut t = TextTable { offsets: vec![0], ..Default::default() };
    let mut shape: Option<(Shape, u64)> = None;
    let mut skipped = std::collections::BTreeMap::<&'static str, usize>::new();
    let mut first_line_of: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    let (mut texts, mut mean, mut std, mut reference) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
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
        t.rows_read += 1;
        let bad = |e: FieldErr| DataError::Field {
            file: file.to_string(),
            line: line_no,
            field: e.field.to_string(),
            expected: e.expected,
            found: e.found,
        };
        let parsed = match serde_json::from_slice::<Line>(&buf) {
            Ok(line) => parse(&line),
            Err(e) => Err(field_err("(the line)", "a JSON object", format!("invalid JSON ({e})"), "not a JSON object")),
        };
        let p = match parsed {
            Ok(p) => p,
            Err(e) if opts.skip_invalid_rows => {
                *skipped.entry(e.reason).or_insert(0) += 1;
                continue;
            }
            Err(e) => return Err(bad(e)),
        };
        let this = Shape::of(&p);
        match shape {
            None => shape = Some((this, line_no)),
            Some((first, first_line)) => {
                if let Some((field, had)) = first.differs(this) {
                    let found = if had { "nothing" } else { "a value" };
                    let expected = format!(
                        "{} as on line {first_line} (a field is given for every text or for none)",
                        if had { "a value" } else { "nothing" }
                    );
                    return Err(bad(field_err(field, expected, found, "")));
                }
            }
        }
        let id = p.id.unwrap_or_else(|| line_no.to_string());
        if let Some(&first) = first_line_of.get(&id) {
            let expected = format!("a unique id (line {first} has the same)");
            return Err(bad(field_err("id", expected, quote(&id), "")));
        }
        first_line_of.insert(id.clone(), line_no);
        t.ids.push(id);
        t.member.push(p.member);
        t.logprobs.extend_from_slice(&p.logprobs);
        t.offsets.push(t.logprobs.len());
        texts.extend(p.text);
        mean.extend(p.mean.unwrap_or_default());
        std.extend(p.std.unwrap_or_default());
        reference.extend(p.ref_logprobs.unwrap_or_default());
    }
    t.skipped = skipped.into_iter().map(|(reason, count)| SkipCount { reason: reason.to_string(), count }).collect();
    if t.rows_read == 0 {
        return Err(DataError::Empty { file: file.to_string(), message: "no texts (no non-blank lines)".into() });
    }
    if t.member.is_empty() {
        let reasons = t.skipped.iter().map(|s| format!("{}: {}", s.reason, s.count)).collect::<Vec<_>>().join("; ");
        return Err(DataError::AllSkipped { file: file.to_string(), rows: t.rows_read, reasons });
    }
    let members = t.member.iter().filter(|&&m| m).count();
    if members == 0 || members == t.member.len() {
        return Err(DataError::OneClass {
            file: file.to_string(),
            members,
            non_members: t.member.len() - members,
            skipped: t.rows_read - t.member.len(),
        });
    }
    let s = shape.map(|(s, _)| s);
    let keep = |on: bool, v: Vec<f64>| on.then_some(v);
    t.texts = s.is_some_and(|s| s.text).then_some(texts);
    t.mean = keep(s.is_some_and(|s| s.mean), mean);
    t.std = keep(s.is_some_and(|s| s.std), std);
    t.ref_logprobs = keep(s.is_some_and(|s| s.reference), reference);
    if !s.is_some_and(|s| s.id) {
        t.notes.push("no \"id\" field: record ids are the 1-based line numbers".into());
    }
    Ok(t)
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
        assert_eq!(t.rows_read, 2, "the blank line is not a text");
        assert_eq!(t.inputs.len(), 1);
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
