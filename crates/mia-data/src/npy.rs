//! Parallel NumPy `.npy` arrays: logits or probabilities, labels, member flags, ids.
//!
//! The header is parsed and checked here first (dtype, shape, and that the file holds
//! exactly the bytes the header promises), so a wrong or hostile file gets a precise
//! message and never an oversized allocation; the data is then read by `ndarray-npy`.

use std::fs::File;
use std::io::{BufReader, Cursor, Read};
use std::path::Path;

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use ndarray_npy::ReadNpyExt;

use crate::error::{bad, show_path};
use crate::hash::{HashingReader, io_error, open, read_up_to};
use crate::layout::{Builder, CellErr, Loc, OutKind, RowAccess, Spec, reason};
use crate::{DataError, InputFile, LoadOptions, ScoreTable};

const MAGIC: &[u8] = b"\x93NUMPY";
/// numpy itself refuses headers over 10,000 bytes by default.
const MAX_HEADER: usize = 1 << 16;

/// A parsed `.npy` header.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NpyHeader {
    /// Byte order (`<`, `>`, `|`, `=`), kind (`f`, `i`, `u`, `b`, ...) and item size, or
    /// `None` for a structured dtype.
    pub dtype: Option<(char, char, usize)>,
    /// The raw `descr` text, for messages.
    pub descr: String,
    pub fortran: bool,
    pub shape: Vec<usize>,
    /// Length of magic + version + length field + header text.
    pub prefix_len: usize,
}

impl NpyHeader {
    /// numpy's name for the dtype (`float64`, `int32`, `bool`, `<U5`, ...).
    pub fn dtype_name(&self) -> String {
        match self.dtype {
            None if self.descr == "[...]" => "structured (record) dtype".to_string(),
            None => crate::error::one_line(&self.descr),
            Some((_, kind, size)) => match kind {
                'f' => format!("float{}", size * 8),
                'i' => format!("int{}", size * 8),
                'u' => format!("uint{}", size * 8),
                'c' => format!("complex{}", size * 8),
                'b' => "bool".to_string(),
                'U' => format!("str ({})", self.descr),
                'S' | 'a' => format!("bytes ({})", self.descr),
                'O' => "object".to_string(),
                _ => crate::error::one_line(&self.descr),
            },
        }
    }

    pub fn shape_text(&self) -> String {
        match self.shape.as_slice() {
            [n] => format!("({n},)"),
            s => format!("({})", s.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
        }
    }

    /// Bytes of array data the header promises, if it fits in a u64.
    fn data_bytes(&self) -> Option<u64> {
        let (_, _, size) = self.dtype?;
        self.shape.iter().try_fold(size as u64, |acc, &d| acc.checked_mul(d as u64))
    }
}

/// An open `.npy` file whose header has been read; the array data follows. Shared by
/// this crate's `.npy` readers, which check the header their own way before reading.
pub(crate) struct NpyFile {
    pub header: NpyHeader,
    file: String,
    len: u64,
    /// The header's bytes, already read: the data reader parses them again.
    raw: Vec<u8>,
    r: BufReader<HashingReader<File>>,
}

impl NpyFile {
    /// Opens `path` and reads its header.
    pub(crate) fn open(path: &Path) -> Result<NpyFile, DataError> {
        let file = show_path(path);
        let f = open(path)?;
        let len = f.metadata().map(|m| m.len()).map_err(|e| io_error(path, &e))?;
        let mut r = BufReader::with_capacity(1 << 16, HashingReader::new(f));
        let (header, raw) = read_header(&mut r, &file)?;
        Ok(NpyFile { header, file, len, raw, r })
    }

    /// Checks that the file holds exactly the data bytes the header promises (call after
    /// checking the dtype), so reading the data never allocates for bytes that are not there.
    pub(crate) fn check_size(&self) -> Result<(), DataError> {
        let h = &self.header;
        let need = h.data_bytes().ok_or_else(|| bad(&self.file, format!("shape {} is too large", h.shape_text())))?;
        let have = self.len.saturating_sub(h.prefix_len as u64);
        if have < need {
            return Err(bad(
                &self.file,
                format!(
                    "truncated .npy file: shape {} of {} needs {need} data bytes, found {have}",
                    h.shape_text(),
                    h.dtype_name()
                ),
            ));
        }
        if have > need {
            return Err(bad(
                &self.file,
                format!(
                    "corrupt .npy file: {} bytes after the {need} data bytes of shape {}",
                    have - need,
                    h.shape_text()
                ),
            ));
        }
        Ok(())
    }

    /// Reads the array data as `A`, whose element type must be the header's.
    pub(crate) fn read<A: ReadNpyExt>(&mut self) -> Result<A, DataError> {
        let stream = Cursor::new(std::mem::take(&mut self.raw)).chain(&mut self.r);
        A::read_npy(stream).map_err(|e| {
            bad(&self.file, format!("cannot read the array data: {}", crate::error::one_line(&e.to_string())))
        })
    }

    /// Reads what is left and fingerprints the whole file.
    pub(crate) fn finish(self, path: &Path) -> Result<InputFile, DataError> {
        self.r.into_inner().finish(path)
    }
}

/// Reads and parses the header, returning it with the raw bytes consumed.
pub(crate) fn read_header<R: Read>(r: &mut R, file: &str) -> Result<(NpyHeader, Vec<u8>), DataError> {
    let mut raw = Vec::with_capacity(128);
    let mut fixed = [0u8; 10];
    let n = read_up_to(r, &mut fixed).map_err(|e| bad(file, format!("read error: {e}")))?;
    raw.extend_from_slice(fixed.get(..n).unwrap_or(&[]));
    if n == 0 {
        return Err(DataError::Empty {
            file: file.to_string(),
            message: "file is empty: expected a .npy array".into(),
        });
    }
    if !raw.starts_with(MAGIC) && !MAGIC.starts_with(&raw) {
        return Err(bad(file, "not a .npy file (it does not start with the NumPy magic \\x93NUMPY)"));
    }
    if n < 10 {
        return Err(bad(file, "truncated .npy file (the header is incomplete)"));
    }
    let major = fixed[6];
    let header_len = match major {
        1 => u16::from_le_bytes([fixed[8], fixed[9]]) as usize,
        2 | 3 => {
            let mut more = [0u8; 2];
            let m = read_up_to(r, &mut more).map_err(|e| bad(file, format!("read error: {e}")))?;
            if m < 2 {
                return Err(bad(file, "truncated .npy file (the header is incomplete)"));
            }
            raw.extend_from_slice(&more);
            u32::from_le_bytes([fixed[8], fixed[9], more[0], more[1]]) as usize
        }
        v => return Err(bad(file, format!("unsupported .npy format version {v}.{}", fixed[7]))),
    };
    if header_len > MAX_HEADER {
        return Err(bad(
            file,
            format!("malformed .npy header (declared length {header_len} bytes is implausibly large)"),
        ));
    }
    let mut text = vec![0u8; header_len];
    let m = read_up_to(r, &mut text).map_err(|e| bad(file, format!("read error: {e}")))?;
    if m < header_len {
        return Err(bad(file, "truncated .npy file (the header is incomplete)"));
    }
    raw.extend_from_slice(&text);
    let text = std::str::from_utf8(&text).map_err(|_| bad(file, "malformed .npy header (not text)"))?;
    let mut h = parse_header_text(text).map_err(|m| bad(file, format!("malformed .npy header: {m}")))?;
    h.prefix_len = raw.len();
    Ok((h, raw))
}

/// Text after `key` and a colon, whitespace skipped.
fn after_key<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let at = text.find(&format!("'{key}'")).or_else(|| text.find(&format!("\"{key}\"")))?;
    let rest = text.get(at + key.len() + 2..)?.trim_start();
    Some(rest.strip_prefix(':')?.trim_start())
}

/// Parses the header dictionary, e.g. `{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }`.
pub(crate) fn parse_header_text(text: &str) -> Result<NpyHeader, String> {
    let t = text.trim_end_matches(['\n', ' ', '\0']).trim();
    if !t.starts_with('{') || !t.ends_with('}') {
        return Err("expected a dictionary".into());
    }
    // The data reader re-parses this text recursively: allow only the flat shapes numpy writes.
    let structured = after_key(t, "descr").is_some_and(|r| r.starts_with('['));
    if !structured && (t.matches('{').count() != 1 || t.matches('(').count() > 1 || t.contains('[')) {
        return Err("unexpected nesting".into());
    }
    let descr_rest = after_key(t, "descr").ok_or("no 'descr' key")?;
    let (descr, dtype) = if structured {
        ("[...]".to_string(), None)
    } else {
        let q = descr_rest.chars().next().filter(|c| *c == '\'' || *c == '"').ok_or("'descr' is not a string")?;
        let body = descr_rest.get(1..).ok_or("bad 'descr'")?;
        let end = body.find(q).ok_or("unterminated 'descr'")?;
        let d = body.get(..end).ok_or("bad 'descr'")?.to_string();
        let dtype = parse_descr(&d);
        (d, dtype)
    };
    let fo = after_key(t, "fortran_order").ok_or("no 'fortran_order' key")?;
    let fortran = if fo.starts_with("True") {
        true
    } else if fo.starts_with("False") {
        false
    } else {
        return Err("'fortran_order' is not True/False".into());
    };
    let sh = after_key(t, "shape").ok_or("no 'shape' key")?;
    let inner = sh.strip_prefix('(').and_then(|s| s.split(')').next()).ok_or("'shape' is not a tuple")?;
    let mut shape = Vec::new();
    for part in inner.split(',') {
        let p = part.trim().trim_end_matches('L');
        if p.is_empty() {
            continue;
        }
        shape.push(p.parse::<usize>().map_err(|_| format!("bad dimension {p:?} in 'shape'"))?);
    }
    Ok(NpyHeader { dtype, descr, fortran, shape, prefix_len: 0 })
}

/// `<f8` → (`<`, `f`, 8). `None` when it is not of that form.
fn parse_descr(d: &str) -> Option<(char, char, usize)> {
    let mut chars = d.chars();
    let first = chars.next()?;
    let (order, kind) = if matches!(first, '<' | '>' | '|' | '=') { (first, chars.next()?) } else { ('|', first) };
    let rest = chars.as_str();
    let size: usize = if rest.is_empty() { 0 } else { rest.parse().ok()? };
    Some((order, kind, size))
}

/// What an input array must be.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Want {
    /// 2-D float32/float64, at least 2 columns.
    Matrix,
    /// 1-D integer (labels, ids).
    Ints,
    /// 1-D bool or integer.
    Member,
    /// 2-D float32/float64, at least 1 column (per-record features).
    Features,
}

impl Want {
    fn expected_dtype(self) -> &'static str {
        match self {
            Want::Matrix | Want::Features => "float32 or float64 values",
            Want::Ints => "integer values (int8..int64 or uint8..uint64)",
            Want::Member => "bool or integer (0/1) values",
        }
    }
    fn ndim(self) -> usize {
        if matches!(self, Want::Matrix | Want::Features) { 2 } else { 1 }
    }
}

/// A 1-D integer or bool array in its own type, borrowed (from a file read here, or from
/// the caller's memory: a numpy array handed over by the Python package, read in place).
#[derive(Debug, Clone, Copy)]
pub enum IntView<'a> {
    I8(ArrayView1<'a, i8>),
    I16(ArrayView1<'a, i16>),
    I32(ArrayView1<'a, i32>),
    I64(ArrayView1<'a, i64>),
    U8(ArrayView1<'a, u8>),
    U16(ArrayView1<'a, u16>),
    U32(ArrayView1<'a, u32>),
    U64(ArrayView1<'a, u64>),
    Bool(ArrayView1<'a, bool>),
}

impl IntView<'_> {
    pub fn len(&self) -> usize {
        match self {
            IntView::I8(a) => a.len(),
            IntView::I16(a) => a.len(),
            IntView::I32(a) => a.len(),
            IntView::I64(a) => a.len(),
            IntView::U8(a) => a.len(),
            IntView::U16(a) => a.len(),
            IntView::U32(a) => a.len(),
            IntView::U64(a) => a.len(),
            IntView::Bool(a) => a.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn get(&self, i: usize) -> Option<i128> {
        match self {
            IntView::I8(a) => a.get(i).map(|&v| v as i128),
            IntView::I16(a) => a.get(i).map(|&v| v as i128),
            IntView::I32(a) => a.get(i).map(|&v| v as i128),
            IntView::I64(a) => a.get(i).map(|&v| v as i128),
            IntView::U8(a) => a.get(i).map(|&v| v as i128),
            IntView::U16(a) => a.get(i).map(|&v| v as i128),
            IntView::U32(a) => a.get(i).map(|&v| v as i128),
            IntView::U64(a) => a.get(i).map(|&v| v as i128),
            IntView::Bool(a) => a.get(i).map(|&v| v as i128),
        }
    }
}

/// A 2-D float array (records × values), borrowed, in its own element type: float32 values
/// are widened one by one as rows are read, never copied as a whole.
#[derive(Debug, Clone, Copy)]
pub enum FloatView<'a> {
    F32(ArrayView2<'a, f32>),
    F64(ArrayView2<'a, f64>),
}

impl FloatView<'_> {
    fn nrows(&self) -> usize {
        match self {
            FloatView::F32(a) => a.nrows(),
            FloatView::F64(a) => a.nrows(),
        }
    }
    fn ncols(&self) -> usize {
        match self {
            FloatView::F32(a) => a.ncols(),
            FloatView::F64(a) => a.ncols(),
        }
    }
    fn get(&self, i: usize, k: usize) -> Option<f64> {
        match self {
            FloatView::F32(a) => a.get((i, k)).map(|&v| f64::from(v)),
            FloatView::F64(a) => a.get((i, k)).copied(),
        }
    }
}

/// Record ids held in memory: integers (shown in decimal, as from a file) or text.
#[derive(Debug, Clone, Copy)]
pub enum IdsView<'a> {
    Ints(IntView<'a>),
    Text(&'a [String]),
}

impl IdsView<'_> {
    fn len(&self) -> usize {
        match self {
            IdsView::Ints(a) => a.len(),
            IdsView::Text(t) => t.len(),
        }
    }
    fn get(&self, i: usize) -> Option<String> {
        match self {
            IdsView::Ints(a) => a.get(i).map(|v| v.to_string()),
            IdsView::Text(t) => t.get(i).cloned(),
        }
    }
}

/// The model's outputs held in memory, one row per record.
#[derive(Debug, Clone, Copy)]
pub enum OutputsView<'a> {
    /// N × C logits.
    Logits(FloatView<'a>),
    /// N × C probabilities.
    Probs(FloatView<'a>),
    /// N × 1 losses (a 1-D array seen as one column).
    Loss(FloatView<'a>),
}

/// Per-record outputs with membership held in memory (the Python package's
/// `mia_audit.score`), checked exactly as the same arrays read from `.npy` files are; each
/// array is named in messages by its `names` entry (e.g. `array "logits"`).
#[derive(Debug, Clone, Copy)]
pub struct ScoreArrays<'a> {
    pub outputs: OutputsView<'a>,
    /// True class per record (required with logits and probabilities).
    pub labels: Option<IntView<'a>>,
    /// 1 (or true) for members, 0 (or false) for non-members.
    pub member: IntView<'a>,
    pub ids: Option<IdsView<'a>>,
}

/// Enough owned storage for one file's array, viewed as an [`IntView`] or [`FloatView`].
enum Loaded {
    F32(Array2<f32>),
    F64(Array2<f64>),
    I8(Array1<i8>),
    I16(Array1<i16>),
    I32(Array1<i32>),
    I64(Array1<i64>),
    U8(Array1<u8>),
    U16(Array1<u16>),
    U32(Array1<u32>),
    U64(Array1<u64>),
    Bool(Array1<bool>),
}

impl Loaded {
    fn floats(&self) -> Option<FloatView<'_>> {
        match self {
            Loaded::F32(a) => Some(FloatView::F32(a.view())),
            Loaded::F64(a) => Some(FloatView::F64(a.view())),
            _ => None,
        }
    }
    fn ints(&self) -> Option<IntView<'_>> {
        Some(match self {
            Loaded::I8(a) => IntView::I8(a.view()),
            Loaded::I16(a) => IntView::I16(a.view()),
            Loaded::I32(a) => IntView::I32(a.view()),
            Loaded::I64(a) => IntView::I64(a.view()),
            Loaded::U8(a) => IntView::U8(a.view()),
            Loaded::U16(a) => IntView::U16(a.view()),
            Loaded::U32(a) => IntView::U32(a.view()),
            Loaded::U64(a) => IntView::U64(a.view()),
            Loaded::Bool(a) => IntView::Bool(a.view()),
            Loaded::F32(_) | Loaded::F64(_) => return None,
        })
    }
}

/// Reads one array, checking dtype, shape and size against `want`.
fn read_array(path: &Path, want: Want) -> Result<(Loaded, InputFile), DataError> {
    let file = show_path(path);
    let mut npy = NpyFile::open(path)?;
    let h = npy.header.clone();

    let kind = h.dtype.map(|(_, k, s)| (k, s));
    let dtype_ok = match want {
        Want::Matrix | Want::Features => matches!(kind, Some(('f', 4 | 8))),
        Want::Ints => matches!(kind, Some(('i' | 'u', 1 | 2 | 4 | 8))),
        Want::Member => matches!(kind, Some(('i' | 'u', 1 | 2 | 4 | 8) | ('b', 1))),
    };
    if !dtype_ok {
        return Err(DataError::NpyDtype {
            file,
            expected: format!("a {}-D array of {}", want.ndim(), want.expected_dtype()),
            found: h.dtype_name(),
        });
    }
    if h.shape.len() != want.ndim() {
        return Err(DataError::NpyShape {
            file,
            expected: match want {
                Want::Matrix => "a 2-D array (records x classes)".to_string(),
                Want::Features => "a 2-D array (records x features)".to_string(),
                _ => "a 1-D array (one value per record)".to_string(),
            },
            found: h.shape_text(),
        });
    }
    if want == Want::Features && h.shape.get(1).is_some_and(|&c| c < 1) {
        return Err(DataError::NpyShape {
            file,
            expected: "a 2-D array with at least 1 feature (column)".to_string(),
            found: h.shape_text(),
        });
    }
    if want == Want::Matrix && h.shape.get(1).is_some_and(|&c| c < 2) {
        return Err(DataError::NpyShape {
            file,
            expected: "a 2-D array with at least 2 classes (columns)".to_string(),
            found: h.shape_text(),
        });
    }
    npy.check_size()?;

    let (kind, size) = kind.unwrap_or(('?', 0));
    let loaded = match (kind, size) {
        ('f', 8) => Loaded::F64(npy.read()?),
        ('f', _) => Loaded::F32(npy.read()?),
        ('i', 1) => Loaded::I8(npy.read()?),
        ('i', 2) => Loaded::I16(npy.read()?),
        ('i', 4) => Loaded::I32(npy.read()?),
        ('i', _) => Loaded::I64(npy.read()?),
        ('u', 1) => Loaded::U8(npy.read()?),
        ('u', 2) => Loaded::U16(npy.read()?),
        ('u', 4) => Loaded::U32(npy.read()?),
        ('u', _) => Loaded::U64(npy.read()?),
        _ => Loaded::Bool(npy.read()?),
    };
    let input = npy.finish(path)?;
    Ok((loaded, input))
}

/// Per-record features as a 2-D float `.npy` (records × features, float32 or float64; every
/// value finite), for the blind check of `mia score --features`. Returned as float32, the
/// precision the classifiers fit in.
pub fn load_features(path: &Path) -> Result<(Array2<f32>, InputFile), DataError> {
    let (loaded, input) = read_array(path, Want::Features)?;
    let x = match loaded {
        Loaded::F32(a) => a,
        Loaded::F64(a) => a.mapv(|v| v as f32),
        _ => return Err(internal(&input.path)),
    };
    if let Some(((r, c), v)) = x.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(DataError::Cell {
            file: input.path.clone(),
            at: crate::error::CellLocation { row: r as u64 + 1, line: None, column: Some(c.to_string()) },
            expected: "a finite number (a feature value)".into(),
            found: v.to_string(),
        });
    }
    Ok((x, input))
}

fn internal(file: &str) -> DataError {
    bad(file, "internal error: array of unexpected kind")
}

pub(crate) fn load_arrays(
    logits: Option<&Path>,
    probs: Option<&Path>,
    labels: Option<&Path>,
    member: &Path,
    ids: Option<&Path>,
    opts: &LoadOptions,
) -> Result<ScoreTable, DataError> {
    let mut notes = Vec::new();
    let (out_path, kind) = match (logits, probs) {
        (Some(l), p) => {
            if let Some(p) = p {
                notes.push(format!(
                    "both logits ({}) and probabilities ({}) given: using the logits",
                    show_path(l),
                    show_path(p)
                ));
            }
            (l, OutKind::Logits)
        }
        (None, Some(p)) => (p, OutKind::Probs),
        (None, None) => {
            return Err(DataError::Usage {
                message: "no model outputs given: pass a logits or a probabilities array (.npy, records x classes)"
                    .into(),
            });
        }
    };
    let Some(labels_path) = labels else {
        return Err(DataError::Usage {
            message: format!(
                "a labels array (.npy, one true class index per record) is required with {}",
                if kind == OutKind::Logits { "logits" } else { "probabilities" }
            ),
        });
    };

    let out_file = show_path(out_path);
    let mut inputs = Vec::new();
    let (values, inp) = read_array(out_path, Want::Matrix)?;
    inputs.push(inp);
    let view = values.floats().ok_or_else(|| internal(&out_file))?;
    if view.nrows() == 0 {
        return Err(DataError::Empty { file: out_file, message: "the array has no rows".into() });
    }
    let mut read_ints = |p: &Path, want: Want| -> Result<Loaded, DataError> {
        let (l, inp) = read_array(p, want)?;
        inputs.push(inp);
        Ok(l)
    };
    let label_arr = read_ints(labels_path, Want::Ints)?;
    let member_arr = read_ints(member, Want::Member)?;
    let id_arr = match ids {
        Some(p) => Some(read_ints(p, Want::Ints)?),
        None => None,
    };
    let outputs = match kind {
        OutKind::Probs => OutputsView::Probs(view),
        _ => OutputsView::Logits(view),
    };
    let arrays = ScoreArrays {
        outputs,
        labels: Some(int_view(&label_arr, labels_path)?),
        member: int_view(&member_arr, member)?,
        ids: match (&id_arr, ids) {
            (Some(a), Some(p)) => Some(IdsView::Ints(int_view(a, p)?)),
            _ => None,
        },
    };
    let names = ArrayNames {
        outputs: out_file,
        labels: show_path(labels_path),
        member: show_path(member),
        ids: ids.map(show_path).unwrap_or_default(),
    };
    build(&arrays, &names, opts, inputs, notes)
}

fn int_view<'l>(l: &'l Loaded, p: &Path) -> Result<IntView<'l>, DataError> {
    l.ints().ok_or_else(|| internal(&show_path(p)))
}

/// How each array is named in messages.
struct ArrayNames {
    outputs: String,
    labels: String,
    member: String,
    ids: String,
}

/// Reads per-record outputs with membership from memory ([`ScoreArrays`]): the same checks,
/// messages (arrays named `array "logits"`, `array "member"`, ...; rows 1-based) and table
/// as the same arrays read from `.npy` files, without input fingerprints.
pub fn load_score_arrays(arrays: &ScoreArrays<'_>, opts: &LoadOptions) -> Result<ScoreTable, DataError> {
    crate::check_tolerance(opts.prob_tolerance)?;
    let name = |n: &str| format!("array \"{n}\"");
    let (out_name, view) = match arrays.outputs {
        OutputsView::Logits(v) => ("logits", v),
        OutputsView::Probs(v) => ("probs", v),
        OutputsView::Loss(v) => ("loss", v),
    };
    let out_file = name(out_name);
    let c = view.ncols();
    let per_class = !matches!(arrays.outputs, OutputsView::Loss(_));
    if per_class && c < 2 {
        return Err(DataError::NpyShape {
            file: out_file,
            expected: "a 2-D array with at least 2 classes (columns)".to_string(),
            found: format!("({}, {c})", view.nrows()),
        });
    }
    if !per_class && c != 1 {
        return Err(DataError::NpyShape {
            file: out_file,
            expected: "a 1-D array (one loss per record)".to_string(),
            found: format!("({}, {c})", view.nrows()),
        });
    }
    if per_class && arrays.labels.is_none() {
        return Err(DataError::Usage {
            message: format!("labels (one true class index per record) are required with {out_name}"),
        });
    }
    if view.nrows() == 0 {
        return Err(DataError::Empty { file: out_file, message: "the array has no rows".into() });
    }
    let names = ArrayNames { outputs: out_file, labels: name("labels"), member: name("member"), ids: name("ids") };
    build(arrays, &names, opts, Vec::new(), Vec::new())
}

/// Checks lengths, then every row through the shared [`Builder`].
fn build(
    a: &ScoreArrays<'_>,
    names: &ArrayNames,
    opts: &LoadOptions,
    inputs: Vec<InputFile>,
    mut notes: Vec<String>,
) -> Result<ScoreTable, DataError> {
    let (kind, values) = match a.outputs {
        OutputsView::Logits(v) => (OutKind::Logits, v),
        OutputsView::Probs(v) => (OutKind::Probs, v),
        OutputsView::Loss(v) => (OutKind::Loss, v),
    };
    let n = values.nrows();
    let check_len = |file: &str, len: usize| -> Result<(), DataError> {
        if len != n {
            return Err(DataError::LengthMismatch {
                file_a: names.outputs.clone(),
                len_a: n,
                file_b: file.to_string(),
                len_b: len,
            });
        }
        Ok(())
    };
    if let Some(l) = &a.labels {
        check_len(&names.labels, l.len())?;
    }
    check_len(&names.member, a.member.len())?;
    match &a.ids {
        Some(ids) => check_len(&names.ids, ids.len())?,
        None => notes.push("no ids array: record ids are the 1-based row numbers".to_string()),
    }
    let c = values.ncols();
    let spec = Spec {
        kind,
        id: a.ids.map(|_| Loc { file: names.ids.clone(), column: None }),
        member: Loc { file: names.member.clone(), column: None },
        label: a.labels.map(|_| Loc { file: names.labels.clone(), column: None }),
        values: (0..c)
            .map(|k| Loc { file: names.outputs.clone(), column: (kind != OutKind::Loss).then(|| k.to_string()) })
            .collect(),
        values_desc: if kind == OutKind::Loss { names.outputs.clone() } else { format!("0..{}", c - 1) },
    };
    let mut builder = Builder::new(spec, opts, n);
    for i in 0..n {
        let row = ArrayRow { i, values: &values, labels: a.labels.as_ref(), member: &a.member, ids: a.ids.as_ref() };
        builder.push(i as u64 + 1, None, &row)?;
    }
    builder.finish(&names.outputs, inputs, notes)
}

struct ArrayRow<'r, 'a> {
    i: usize,
    values: &'r FloatView<'a>,
    labels: Option<&'r IntView<'a>>,
    member: &'r IntView<'a>,
    ids: Option<&'r IdsView<'a>>,
}

fn missing() -> CellErr {
    CellErr::new("a value", "none".to_string(), reason::NON_NUMERIC)
}

impl RowAccess for ArrayRow<'_, '_> {
    fn id(&self) -> Result<String, CellErr> {
        let id = self.ids.and_then(|a| a.get(self.i)).ok_or_else(missing)?;
        if id.contains('\0') {
            return Err(CellErr::new("an id without NUL bytes", format!("{id:?}"), reason::ID_TEXT));
        }
        Ok(id)
    }

    fn member(&self) -> Result<bool, CellErr> {
        match self.member.get(self.i) {
            Some(1) => Ok(true),
            Some(0) => Ok(false),
            Some(v) => Err(CellErr::new("0/1 or true/false", v.to_string(), reason::MEMBER)),
            None => Err(missing()),
        }
    }

    fn label(&self) -> Result<u64, CellErr> {
        match self.labels.and_then(|l| l.get(self.i)) {
            Some(v) => u64::try_from(v)
                .map_err(|_| CellErr::new("a non-negative integer class label", v.to_string(), reason::LABEL)),
            None => Err(missing()),
        }
    }

    fn value(&self, k: usize) -> Result<f64, CellErr> {
        match self.values.get(self.i, k) {
            Some(v) if v.is_finite() => Ok(v),
            Some(v) => Err(CellErr::new("a finite number", v.to_string(), reason::NON_FINITE)),
            None => Err(missing()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mia_core::signals::ModelOutputs;

    #[test]
    fn parses_numpy_headers() {
        let h =
            parse_header_text("{'descr': '<f8', 'fortran_order': False, 'shape': (1797, 10), }          \n").unwrap();
        assert_eq!(h.dtype, Some(('<', 'f', 8)));
        assert!(!h.fortran);
        assert_eq!(h.shape, [1797, 10]);
        assert_eq!(h.dtype_name(), "float64");
        assert_eq!(h.shape_text(), "(1797, 10)");
        let h = parse_header_text("{\"descr\":\"|b1\",\"fortran_order\":True,\"shape\":(5,)}").unwrap();
        assert_eq!(h.dtype_name(), "bool");
        assert!(h.fortran);
        assert_eq!(h.shape_text(), "(5,)");
        let h = parse_header_text("{'descr': '|O', 'fortran_order': False, 'shape': (), }").unwrap();
        assert_eq!(h.dtype_name(), "object");
        assert!(h.shape.is_empty());
        let h = parse_header_text("{'descr': [('a', '<i4')], 'fortran_order': False, 'shape': (2,), }").unwrap();
        assert_eq!(h.dtype, None);
        assert_eq!(h.dtype_name(), "structured (record) dtype");
        assert_eq!(
            parse_header_text("{'descr': '<f8', 'fortran_order': False, 'shape': (3L, 2L)}").unwrap().shape,
            [3, 2]
        );
    }

    #[test]
    fn rejects_malformed_headers() {
        for t in [
            "",
            "not a dict",
            "{'fortran_order': False, 'shape': (1,)}",
            "{'descr': '<f8', 'shape': (1,)}",
            "{'descr': '<f8', 'fortran_order': Maybe, 'shape': (1,)}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': [1]}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (-1,)}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': ((1,),)}",
            "{'descr': <f8, 'fortran_order': False, 'shape': (1,)}",
        ] {
            assert!(parse_header_text(t).is_err(), "{t}");
        }
        // An unknown descriptor parses, with no dtype: reported later as a wrong dtype.
        let h = parse_header_text("{'descr': '<f8, 'fortran_order': False, 'shape': (1,)}").unwrap();
        assert_eq!(h.dtype, None);
    }

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/scores").join(name)
    }

    /// The arrays of the digits fixture held in memory give exactly the table the same
    /// arrays read from `.npy` files give (one reader behind both), less the fingerprints;
    /// float32 outputs are widened value by value.
    #[test]
    fn arrays_in_memory_read_as_files() {
        let opts = LoadOptions::default();
        let from_files = load_arrays(
            Some(&fixture("digits_logreg_logits.npy")),
            None,
            Some(&fixture("digits_logreg_labels.npy")),
            &fixture("digits_logreg_member.npy"),
            Some(&fixture("digits_logreg_ids.npy")),
            &opts,
        )
        .unwrap();
        let read =
            |n: &str| match read_array(&fixture(n), if n.contains("logits") { Want::Matrix } else { Want::Member }) {
                Ok((l, _)) => l,
                Err(e) => panic!("{e}"),
            };
        let (logits, labels, member, ids) = (
            read("digits_logreg_logits.npy"),
            read("digits_logreg_labels.npy"),
            read("digits_logreg_member.npy"),
            read("digits_logreg_ids.npy"),
        );
        let arrays = ScoreArrays {
            outputs: OutputsView::Logits(logits.floats().unwrap()),
            labels: labels.ints(),
            member: member.ints().unwrap(),
            ids: ids.ints().map(IdsView::Ints),
        };
        let in_memory = load_score_arrays(&arrays, &opts).unwrap();
        assert_eq!(in_memory.ids, from_files.ids);
        assert_eq!(in_memory.member, from_files.member);
        assert_eq!(in_memory.labels, from_files.labels);
        let (ModelOutputs::Logits(a), ModelOutputs::Logits(b)) = (&in_memory.outputs, &from_files.outputs) else {
            panic!("logits")
        };
        assert_eq!(a, b);
        assert_eq!(from_files.inputs.len(), 4);
        assert!(in_memory.inputs.is_empty(), "arrays in memory have no files to fingerprint");

        let Some(FloatView::F64(l64)) = logits.floats() else { panic!("the fixture is float64") };
        let l32 = l64.mapv(|v| v as f32);
        let narrow = ScoreArrays { outputs: OutputsView::Logits(FloatView::F32(l32.view())), ..arrays };
        let t = load_score_arrays(&narrow, &opts).unwrap();
        let ModelOutputs::Logits(got) = &t.outputs else { panic!("logits") };
        assert!(got.iter().zip(l32.iter()).all(|(a, b)| *a == f64::from(*b)));
    }

    /// Bad values in memory are named by array, row (1-based) and column, as in a file.
    #[test]
    fn arrays_in_memory_name_bad_values() {
        let mut logits = Array2::<f64>::zeros((4, 3));
        logits[[2, 1]] = f64::NAN;
        let labels = Array1::from(vec![0i64, 1, 2, 0]);
        let member = Array1::from(vec![true, false, true, false]);
        let arrays = ScoreArrays {
            outputs: OutputsView::Logits(FloatView::F64(logits.view())),
            labels: Some(IntView::I64(labels.view())),
            member: IntView::Bool(member.view()),
            ids: None,
        };
        let e = load_score_arrays(&arrays, &LoadOptions::default()).unwrap_err().to_string();
        assert_eq!(e, "array \"logits\": row 3, column 1: expected a finite number, found NaN");
        let short = Array1::from(vec![true, false]);
        let e =
            load_score_arrays(&ScoreArrays { member: IntView::Bool(short.view()), ..arrays }, &LoadOptions::default())
                .unwrap_err()
                .to_string();
        assert!(e.contains("array \"logits\"") && e.contains("array \"member\""), "{e}");
        let loss = Array1::from(vec![0.1, -0.5, 0.2, 0.3]);
        let lossy = ScoreArrays {
            outputs: OutputsView::Loss(FloatView::F64(loss.view().insert_axis(ndarray::Axis(1)))),
            labels: None,
            ..arrays
        };
        let e = load_score_arrays(&lossy, &LoadOptions::default()).unwrap_err().to_string();
        assert_eq!(e, "array \"loss\": row 2: expected a non-negative loss, found -0.5");
    }
}
