//! Reference-model outputs computed elsewhere ("bring your own reference models"): the
//! per-record signals of K reference models, their K × N keep mask, and optionally
//! population records, read, validated and aligned to a loaded [`ScoreTable`] so that
//! `mia_core::reference` can run LiRA, RMIA and the other reference attacks on them.
//!
//! # Layouts
//!
//! * **`.npy`** — one array of reference signals: K × N φ (or loss, see [`RefSignal`]),
//!   float32/float64; or K × N × C logits or probabilities. The keep mask comes from its
//!   own `.npy` (K × N, bool, 0/1 integers or 0.0/1.0 floats).
//! * **`.npz`** (`np.savez` or `np.savez_compressed`) — named arrays: the signals as `phi`, `loss`
//!   (K × N), `logits` or `probs` (K × N × C); `keep` (K × N); optionally `ids` (N
//!   integer record ids), `population_target`, `population_reference` and
//!   `population_labels`. Separate files given on the command line take precedence over
//!   the bundle's arrays.
//! * **Table** (`.csv`, `.csv.gz`, `.parquet`, `.pq`) — one row per record: `id`
//!   (optional; integer or text), `phi_0 … phi_{K-1}` (or `loss_0 …`), and optionally
//!   `keep_0 … keep_{K-1}` (bool, 0/1 or true/false).
//!
//! Population arrays have the same kind as the reference signals: P φ (or losses) under
//! the target and K × P under the reference models, or P × C and K × P × C per-class
//! outputs with P labels.
//!
//! # Alignment
//!
//! Reference record n is the score table's record n (by position), unless reference ids
//! are given (`ids` array, `id` column, or a separate ids file): then every score-table
//! record is looked up by its id (integer ids compare in decimal), reference records the
//! table does not hold are ignored (and counted in a note), and a score-table record
//! without a reference column is an error naming it. Positional alignment needs the same
//! number of records and no skipped score-table rows.
//!
//! # Validation
//!
//! Every problem is a one-line [`DataError`] naming the file, and where it applies the
//! model index, the record (array index or table row and column, and the record id) and
//! the value: shapes that disagree (both shapes and both files named), non-finite or
//! negative values, keep entries that are not boolean, missing or duplicate ids, and
//! records that are IN (or OUT) for no reference model when the requested attacks need
//! both sides ([`Coverage`]).

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Cursor, Read};
use std::path::{Path, PathBuf};

use ndarray::{Array2, ArrayD, IxDyn, OwnedRepr};
use ndarray_npy::{NpzReader, ReadNpyError, ReadNpyExt, ReadNpzError};

use mia_core::signals::{ModelOutputs, compute_signals};

use crate::error::{one_line, quote, show_path};
use crate::hash::{HashingReader, hash_file, io_error, open};
use crate::lines::{LineLimit, LineTooLong};
use crate::{DataError, InputFile, ScoreTable, TableFormat};

/// What the reference arrays hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefSignal {
    /// φ = ln p_y − ln(1 − p_y), K × N.
    Phi,
    /// Cross-entropy of the true class in nats, K × N; converted to φ exactly as for the
    /// target (φ = −ℓ − ln(−expm1(−ℓ)), pinned at the number format's limit for ℓ = 0).
    Loss,
    /// Logits, K × N × C; φ is computed per model with the score table's labels.
    Logits,
    /// Probabilities, K × N × C (rows non-negative, summing to 1 within the tolerance).
    Probs,
}

mia_core::from_name!(RefSignal);

impl RefSignal {
    pub fn name(self) -> &'static str {
        match self {
            RefSignal::Phi => "phi",
            RefSignal::Loss => "loss",
            RefSignal::Logits => "logits",
            RefSignal::Probs => "probs",
        }
    }
    fn per_class(self) -> bool {
        matches!(self, RefSignal::Logits | RefSignal::Probs)
    }
    fn what(self) -> &'static str {
        match self {
            RefSignal::Phi => "φ",
            RefSignal::Loss => "loss",
            RefSignal::Logits => "logit",
            RefSignal::Probs => "probability",
        }
    }
}

/// The files holding a team's reference-model outputs.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferenceSources {
    /// Reference signals: `.npy`, `.npz` bundle, or a table (see the module doc).
    pub reference: PathBuf,
    /// What the signals are; `None`: `phi` for a 2-D `.npy` and a table's `phi_` columns
    /// (`loss_` columns give `loss`); the one signal array in an `.npz`.
    pub signal: Option<RefSignal>,
    /// K × N keep mask (`.npy`); else the bundle's `keep` / the table's `keep_k` columns.
    pub keep: Option<PathBuf>,
    /// N record ids of the reference columns (`.npy`, integers); else the bundle's `ids` /
    /// the table's `id` column; else alignment by position.
    pub ids: Option<PathBuf>,
    /// P φ (or P × C outputs) of population records under the target (`.npy`).
    pub population_target: Option<PathBuf>,
    /// K × P φ (or K × P × C outputs) of the population records under each reference model (`.npy`).
    pub population_reference: Option<PathBuf>,
    /// P class labels of the population records (with per-class outputs; `.npy`).
    pub population_labels: Option<PathBuf>,
}

impl ReferenceSources {
    /// Sources with just the reference file; everything else from it or absent.
    pub fn new(reference: impl Into<PathBuf>) -> Self {
        ReferenceSources {
            reference: reference.into(),
            signal: None,
            keep: None,
            ids: None,
            population_target: None,
            population_reference: None,
            population_labels: None,
        }
    }
}

/// Which sides of the keep mask every record must have, for the attacks requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Coverage {
    /// At least one IN model per record (online LiRA and RMIA).
    pub need_in: bool,
    /// At least one OUT model per record (every LiRA/RMIA variant, Attack R, difficulty calibration).
    pub need_out: bool,
}

/// How to read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReferenceOptions {
    /// Largest allowed |Σ p − 1| of a probability row.
    pub prob_tolerance: f64,
    pub coverage: Coverage,
}

impl Default for ReferenceOptions {
    fn default() -> Self {
        ReferenceOptions { prob_tolerance: 1e-3, coverage: Coverage { need_in: true, need_out: true } }
    }
}

/// Population records: φ under the target and under each reference model.
#[derive(Debug, Clone)]
pub struct PopulationData {
    pub target_phi: Vec<f64>,
    /// K × P.
    pub reference_phi: Array2<f64>,
}

/// Reference-model observations aligned to a score table's records.
#[derive(Debug, Clone)]
pub struct ReferenceData {
    pub signal: RefSignal,
    /// K × N φ, column n = the score table's record n.
    pub phi: Array2<f64>,
    /// K × N: `keep[[k, n]]` = record n was in reference model k's training set.
    pub keep: Array2<bool>,
    /// Per reference model, its N × C outputs (with logits or probabilities).
    pub outputs: Option<Vec<ModelOutputs>>,
    pub population: Option<PopulationData>,
    /// Whether records were matched by id (else by position).
    pub aligned_by_id: bool,
    /// Reference values whose probability (or its complement) reached the number format's
    /// limit, so their φ is pinned (audit and population records, all models).
    pub saturated: usize,
    /// Every file read, in the order read.
    pub inputs: Vec<InputFile>,
    /// Things a report should mention.
    pub notes: Vec<String>,
}

impl ReferenceData {
    pub fn n_models(&self) -> usize {
        self.phi.nrows()
    }
}

// ------------------------------------------------------------------------------------- values

/// One element of an input, in its own kind.
#[derive(Debug, Clone, Copy)]
enum Val<'a> {
    F(f64),
    I(i128),
    B(bool),
    Text(&'a str),
    /// A CSV cell that is not UTF-8 text (no number, flag or id).
    Bytes(&'a [u8]),
    Null,
}

impl Val<'_> {
    fn show(&self) -> String {
        match self {
            Val::F(v) => format!("{v}"),
            Val::I(v) => v.to_string(),
            Val::B(v) => v.to_string(),
            Val::Text("") => "an empty cell".to_string(),
            Val::Text(s) => quote(s),
            Val::Bytes(b) => crate::error::show_bytes(b),
            Val::Null => "null".to_string(),
        }
    }
    fn number(&self) -> Option<f64> {
        match *self {
            Val::F(v) => Some(v),
            Val::I(v) => Some(v as f64),
            Val::Text(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        }
    }
    fn flag(&self) -> Option<bool> {
        match *self {
            Val::B(b) => Some(b),
            Val::I(0) => Some(false),
            Val::I(1) => Some(true),
            Val::F(0.0) => Some(false),
            Val::F(1.0) => Some(true),
            Val::Text(s) => match s.trim().to_ascii_lowercase().as_str() {
                "0" | "false" => Some(false),
                "1" | "true" => Some(true),
                _ => None,
            },
            _ => None,
        }
    }
    fn integer(&self) -> Option<i128> {
        match *self {
            Val::I(v) => Some(v),
            Val::Text(s) => s.trim().parse::<i128>().ok(),
            _ => None,
        }
    }
    /// The record id, or what is wrong with the cell (an empty or non-text cell, or text
    /// that is not a valid id).
    fn id(&self) -> Result<String, crate::layout::CellErr> {
        let bytes = match *self {
            Val::I(v) => return Ok(v.to_string()),
            Val::Text(s) if !s.trim().is_empty() => s.as_bytes(),
            Val::Bytes(b) => b,
            _ => {
                return Err(crate::layout::CellErr::new(
                    "a non-empty record id",
                    self.show(),
                    crate::layout::reason::ID,
                ));
            }
        };
        crate::id::checked_id(bytes).map(str::to_string)
    }
}

trait Elem: Copy {
    fn val(self) -> Val<'static>;
}
macro_rules! elem {
    ($($t:ty => $v:ident),*) => { $(impl Elem for $t { fn val(self) -> Val<'static> { Val::$v(self.into()) } })* };
}
elem!(f64 => F, f32 => F, i8 => I, i16 => I, i32 => I, i64 => I, u8 => I, u16 => I, u32 => I, u64 => I, bool => B);

/// An n-dimensional array as read, in its own element type.
enum Nd {
    F64(ArrayD<f64>),
    F32(ArrayD<f32>),
    I8(ArrayD<i8>),
    I16(ArrayD<i16>),
    I32(ArrayD<i32>),
    I64(ArrayD<i64>),
    U8(ArrayD<u8>),
    U16(ArrayD<u16>),
    U32(ArrayD<u32>),
    U64(ArrayD<u64>),
    Bool(ArrayD<bool>),
}

macro_rules! each {
    ($nd:expr, $a:ident => $e:expr) => {
        match $nd {
            Nd::F64($a) => $e,
            Nd::F32($a) => $e,
            Nd::I8($a) => $e,
            Nd::I16($a) => $e,
            Nd::I32($a) => $e,
            Nd::I64($a) => $e,
            Nd::U8($a) => $e,
            Nd::U16($a) => $e,
            Nd::U32($a) => $e,
            Nd::U64($a) => $e,
            Nd::Bool($a) => $e,
        }
    };
}

impl Nd {
    fn shape(&self) -> Vec<usize> {
        each!(self, a => a.shape().to_vec())
    }
    fn dtype(&self) -> &'static str {
        match self {
            Nd::F64(_) => "float64",
            Nd::F32(_) => "float32",
            Nd::I8(_) => "int8",
            Nd::I16(_) => "int16",
            Nd::I32(_) => "int32",
            Nd::I64(_) => "int64",
            Nd::U8(_) => "uint8",
            Nd::U16(_) => "uint16",
            Nd::U32(_) => "uint32",
            Nd::U64(_) => "uint64",
            Nd::Bool(_) => "bool",
        }
    }
    fn is_float(&self) -> bool {
        matches!(self, Nd::F64(_) | Nd::F32(_))
    }
    /// Calls `f(flat index, value)` for every element in logical (C) order.
    fn for_each(&self, mut f: impl FnMut(usize, Val<'static>) -> Result<(), DataError>) -> Result<(), DataError> {
        each!(self, a => {
            for (i, v) in a.iter().enumerate() {
                f(i, v.val())?;
            }
        });
        Ok(())
    }
}

fn shape_text(shape: &[usize]) -> String {
    match shape {
        [n] => format!("({n},)"),
        s => format!("({})", s.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
    }
}

fn dims(shape: &[usize]) -> String {
    shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(" × ")
}

fn bad(file: &str, message: impl Into<String>) -> DataError {
    DataError::BadFile { file: file.to_string(), message: message.into() }
}

// ------------------------------------------------------------------------------------- .npy / .npz

/// Reads one `.npy` array of any supported dtype, checking the header and size first.
fn read_npy(path: &Path) -> Result<(Nd, InputFile), DataError> {
    let file = show_path(path);
    let f = open(path)?;
    let file_len = f.metadata().map(|m| m.len()).map_err(|e| io_error(path, &e))?;
    let mut r = BufReader::with_capacity(1 << 16, HashingReader::new(f));
    let (h, raw) = crate::npy::read_header(&mut r, &file)?;
    let Some((_, kind, size)) =
        h.dtype.filter(|&(_, k, s)| matches!((k, s), ('f', 4 | 8) | ('i' | 'u', 1 | 2 | 4 | 8) | ('b', 1)))
    else {
        return Err(DataError::NpyDtype {
            file,
            expected: "float32/float64, integer or bool values".into(),
            found: h.dtype_name(),
        });
    };
    let need = h.shape.iter().try_fold(size as u64, |acc, &d| acc.checked_mul(d as u64));
    let need = need.ok_or_else(|| bad(&file, format!("shape {} is too large", h.shape_text())))?;
    let have = file_len.saturating_sub(h.prefix_len as u64);
    if have != need {
        return Err(bad(
            &file,
            if have < need {
                format!(
                    "truncated .npy file: shape {} of {} needs {need} data bytes, found {have}",
                    h.shape_text(),
                    h.dtype_name()
                )
            } else {
                format!(
                    "corrupt .npy file: {} bytes after the {need} data bytes of shape {}",
                    have - need,
                    h.shape_text()
                )
            },
        ));
    }
    let mut stream = Cursor::new(raw).chain(&mut r);
    let err = |e: ReadNpyError| bad(&file, format!("cannot read the array data: {}", one_line(&e.to_string())));
    macro_rules! rd {
        ($t:ty, $v:ident) => {
            Nd::$v(ArrayD::<$t>::read_npy(&mut stream).map_err(err)?)
        };
    }
    let nd = match (kind, size) {
        ('f', 8) => rd!(f64, F64),
        ('f', _) => rd!(f32, F32),
        ('i', 1) => rd!(i8, I8),
        ('i', 2) => rd!(i16, I16),
        ('i', 4) => rd!(i32, I32),
        ('i', _) => rd!(i64, I64),
        ('u', 1) => rd!(u8, U8),
        ('u', 2) => rd!(u16, U16),
        ('u', 4) => rd!(u32, U32),
        ('u', _) => rd!(u64, U64),
        _ => rd!(bool, Bool),
    };
    drop(stream);
    let input = r.into_inner().finish(path)?;
    Ok((nd, input))
}

fn npz_error(file: &str, e: ReadNpzError) -> DataError {
    let text = one_line(&e.to_string());
    if text.to_ascii_lowercase().contains("compression") {
        bad(
            file,
            "compressed .npz (np.savez_compressed) is not supported: save the arrays with np.savez, or as \
             separate .npy files",
        )
    } else {
        bad(file, format!("cannot read the .npz archive: {text}"))
    }
}

/// An open `.npz` bundle.
struct Npz {
    path: PathBuf,
    reader: NpzReader<BufReader<File>>,
    names: Vec<String>,
}

impl Npz {
    fn open(path: &Path) -> Result<(Npz, InputFile), DataError> {
        let file = show_path(path);
        let input = hash_file(path)?;
        let f = open(path)?;
        let mut reader = NpzReader::new(BufReader::new(f)).map_err(|e| npz_error(&file, e))?;
        let names = reader.names().map_err(|e| npz_error(&file, e))?;
        Ok((Npz { path: path.to_path_buf(), reader, names }, input))
    }

    fn label(&self, name: &str) -> String {
        format!("{} (array \"{}\")", show_path(&self.path), one_line(name))
    }

    fn has(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }

    /// Reads an array, trying each supported element type (the archive does not expose
    /// the header separately).
    fn get(&mut self, name: &str) -> Result<Nd, DataError> {
        let label = self.label(name);
        macro_rules! attempt {
            ($t:ty, $v:ident) => {
                match self.reader.by_name::<OwnedRepr<$t>, IxDyn>(name) {
                    Ok(a) => return Ok(Nd::$v(a)),
                    Err(ReadNpzError::Npy(ReadNpyError::WrongDescriptor(_))) => {}
                    Err(e) => return Err(npz_error(&label, e)),
                }
            };
        }
        attempt!(f64, F64);
        attempt!(f32, F32);
        attempt!(bool, Bool);
        attempt!(i64, I64);
        attempt!(i32, I32);
        attempt!(i16, I16);
        attempt!(i8, I8);
        attempt!(u64, U64);
        attempt!(u32, U32);
        attempt!(u16, U16);
        attempt!(u8, U8);
        Err(bad(&label, "expected float32/float64, integer or bool values, found another dtype"))
    }
}

// ------------------------------------------------------------------------------------- intermediate form

/// How positions in a file are named in messages.
#[derive(Debug, Clone)]
enum Loc {
    /// A numpy array: `[k, j]` (0-based).
    Array,
    /// A wide table: data row j + 1, column `{prefix}{k}`.
    Table { prefix: String },
}

impl Loc {
    fn at(&self, k: usize, j: usize, c: Option<usize>) -> String {
        match (self, c) {
            (Loc::Array, None) => format!("index [{k}, {j}] (model {k}, record {j})"),
            (Loc::Array, Some(c)) => format!("index [{k}, {j}, {c}] (model {k}, record {j}, class {c})"),
            (Loc::Table { prefix }, _) => format!("row {}, column \"{prefix}{k}\" (model {k})", j + 1),
        }
    }
}

/// K × M (× C) reference signals as read.
struct Block {
    values: Vec<f64>,
    k: usize,
    m: usize,
    c: Option<usize>,
    file: String,
    loc: Loc,
}

impl Block {
    fn shape(&self) -> Vec<usize> {
        let mut s = vec![self.k, self.m];
        s.extend(self.c);
        s
    }
}

/// K × M keep mask as read.
struct Mask {
    flags: Vec<bool>,
    k: usize,
    m: usize,
    file: String,
}

struct Ids {
    ids: Vec<String>,
    file: String,
    /// Names position j in messages.
    loc: Loc,
}

fn pos_name(loc: &Loc, j: usize) -> String {
    match loc {
        Loc::Array => format!("position {j}"),
        Loc::Table { .. } => format!("row {}", j + 1),
    }
}

/// A float array of the expected number of dimensions, as a flat row-major vector.
fn floats(nd: Nd, file: &str, ndim: usize, what: &str) -> Result<(Vec<f64>, Vec<usize>), DataError> {
    let shape = nd.shape();
    if !nd.is_float() {
        return Err(DataError::NpyDtype {
            file: file.to_string(),
            expected: format!("{what} as float32 or float64 values"),
            found: nd.dtype().to_string(),
        });
    }
    if shape.len() != ndim {
        return Err(DataError::NpyShape {
            file: file.to_string(),
            expected: what.to_string(),
            found: shape_text(&shape),
        });
    }
    let mut v = Vec::with_capacity(shape.iter().product());
    nd.for_each(|_, x| {
        v.push(x.number().unwrap_or(f64::NAN));
        Ok(())
    })?;
    Ok((v, shape))
}

fn mask_from(nd: Nd, file: &str) -> Result<Mask, DataError> {
    let shape = nd.shape();
    let [k, m] = shape[..] else {
        return Err(DataError::NpyShape {
            file: file.to_string(),
            expected: "a 2-D keep mask (reference models × records)".into(),
            found: shape_text(&shape),
        });
    };
    let mut flags = Vec::with_capacity(k * m);
    nd.for_each(|i, v| match v.flag() {
        Some(b) => {
            flags.push(b);
            Ok(())
        }
        None => Err(bad(
            file,
            format!(
                "{}: expected a boolean keep flag (true/false or 0/1), found {}",
                Loc::Array.at(i / m.max(1), i % m.max(1), None),
                v.show()
            ),
        )),
    })?;
    Ok(Mask { flags, k, m, file: file.to_string() })
}

fn ints_from(nd: Nd, file: &str, what: &str) -> Result<Vec<i128>, DataError> {
    let shape = nd.shape();
    if nd.is_float() || matches!(nd, Nd::Bool(_)) {
        return Err(DataError::NpyDtype {
            file: file.to_string(),
            expected: format!("{what} as integer values"),
            found: nd.dtype().to_string(),
        });
    }
    if shape.len() != 1 {
        return Err(DataError::NpyShape {
            file: file.to_string(),
            expected: what.to_string(),
            found: shape_text(&shape),
        });
    }
    let mut out = Vec::with_capacity(shape[0]);
    nd.for_each(|_, v| {
        out.push(v.integer().unwrap_or(-1));
        Ok(())
    })?;
    Ok(out)
}

fn ids_from(nd: Nd, file: &str) -> Result<Ids, DataError> {
    let ids = ints_from(nd, file, "a 1-D array of record ids (one per reference record)")?;
    Ok(Ids { ids: ids.into_iter().map(|v| v.to_string()).collect(), file: file.to_string(), loc: Loc::Array })
}

/// Everything read from the reference file and the separate files, before alignment.
struct Raw {
    block: Block,
    signal: RefSignal,
    keep: Option<Mask>,
    ids: Option<Ids>,
    pop_target: Option<(Nd, String)>,
    pop_reference: Option<(Nd, String)>,
    pop_labels: Option<(Nd, String)>,
    inputs: Vec<InputFile>,
}

fn block_from(nd: Nd, file: &str, signal: RefSignal) -> Result<Block, DataError> {
    let (ndim, what) = if signal.per_class() {
        (3, format!("a 3-D array of {} (reference models × records × classes)", signal.name()))
    } else {
        (2, format!("a 2-D array of {} (reference models × records)", signal.what()))
    };
    let (values, shape) = floats(nd, file, ndim, &what)?;
    if shape[0] == 0 || shape[1] == 0 {
        return Err(DataError::Empty {
            file: file.to_string(),
            message: format!("the reference array has shape {}: no models or no records", shape_text(&shape)),
        });
    }
    if signal.per_class() && shape[2] < 2 {
        return Err(DataError::NpyShape {
            file: file.to_string(),
            expected: format!("{what} with at least 2 classes"),
            found: shape_text(&shape),
        });
    }
    Ok(Block { values, k: shape[0], m: shape[1], c: shape.get(2).copied(), file: file.to_string(), loc: Loc::Array })
}

fn read_npy_source(path: &Path, signal: Option<RefSignal>, inputs: &mut Vec<InputFile>) -> Result<Raw, DataError> {
    let file = show_path(path);
    let (nd, input) = read_npy(path)?;
    inputs.push(input);
    let ndim = nd.shape().len();
    let signal = match (signal, ndim) {
        (Some(s), _) => s,
        (None, 3) => {
            return Err(bad(
                &file,
                format!(
                    "a 3-D reference array {} holds per-class outputs: say whether they are logits or probabilities \
                     (--reference-signal logits|probs)",
                    shape_text(&nd.shape())
                ),
            ));
        }
        (None, _) => RefSignal::Phi,
    };
    let block = block_from(nd, &file, signal)?;
    Ok(Raw {
        block,
        signal,
        keep: None,
        ids: None,
        pop_target: None,
        pop_reference: None,
        pop_labels: None,
        inputs: Vec::new(),
    })
}

const SIGNAL_NAMES: [(&str, RefSignal); 4] =
    [("phi", RefSignal::Phi), ("loss", RefSignal::Loss), ("logits", RefSignal::Logits), ("probs", RefSignal::Probs)];

fn read_npz_source(path: &Path, signal: Option<RefSignal>, inputs: &mut Vec<InputFile>) -> Result<Raw, DataError> {
    let file = show_path(path);
    let (mut z, input) = Npz::open(path)?;
    inputs.push(input);
    let listed = || z.names.iter().map(|n| quote(n)).collect::<Vec<_>>().join(", ");
    let signal = match signal {
        Some(s) => {
            if !z.has(s.name()) {
                return Err(bad(
                    &file,
                    format!("no array \"{}\" (--reference-signal {}); arrays found: {}", s.name(), s.name(), listed()),
                ));
            }
            s
        }
        None => {
            let found: Vec<RefSignal> = SIGNAL_NAMES.iter().filter(|(n, _)| z.has(n)).map(|&(_, s)| s).collect();
            match found[..] {
                [s] => s,
                [] => {
                    return Err(bad(
                        &file,
                        format!(
                            "no reference signals: expected an array named \"phi\", \"loss\", \"logits\" or \"probs\"; \
                             arrays found: {}",
                            listed()
                        ),
                    ));
                }
                _ => {
                    return Err(bad(
                        &file,
                        format!(
                            "several reference signal arrays ({}): choose one with --reference-signal",
                            found.iter().map(|s| s.name()).collect::<Vec<_>>().join(", ")
                        ),
                    ));
                }
            }
        }
    };
    let label = z.label(signal.name());
    let block = block_from(z.get(signal.name())?, &label, signal)?;
    let keep = if z.has("keep") { Some(mask_from(z.get("keep")?, &z.label("keep"))?) } else { None };
    let ids = if z.has("ids") { Some(ids_from(z.get("ids")?, &z.label("ids"))?) } else { None };
    let mut opt = |name: &str| -> Result<Option<(Nd, String)>, DataError> {
        if z.has(name) { Ok(Some((z.get(name)?, z.label(name)))) } else { Ok(None) }
    };
    let pop_target = opt("population_target")?;
    let pop_reference = opt("population_reference")?;
    let pop_labels = opt("population_labels")?;
    Ok(Raw { block, signal, keep, ids, pop_target, pop_reference, pop_labels, inputs: Vec::new() })
}

// ------------------------------------------------------------------------------------- wide tables

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
            return Err(DataError::Empty { file, message: "no data rows: the table has 0 rows".into() });
        }
        let (k, m) = (self.values.len(), self.rows);
        let loc = Loc::Table { prefix: self.layout.prefix.to_string() };
        let block = Block { values: self.values.concat(), k, m, c: None, file: file.clone(), loc: loc.clone() };
        let keep = (!self.keep.is_empty()).then(|| Mask { flags: self.keep.concat(), k, m, file: file.clone() });
        let ids = self.layout.id.map(|_| Ids { ids: self.ids, file: file.clone(), loc });
        Ok(Raw {
            block,
            signal: self.layout.signal,
            keep,
            ids,
            pop_target: None,
            pop_reference: None,
            pop_labels: None,
            inputs: Vec::new(),
        })
    }
}

fn read_csv_source(
    path: &Path,
    gz: bool,
    signal: Option<RefSignal>,
    inputs: &mut Vec<InputFile>,
) -> Result<Raw, DataError> {
    let file = show_path(path);
    let mut hashing = HashingReader::new(open(path)?);
    let raw = {
        let buffered = BufReader::new(&mut hashing);
        let reader: Box<dyn Read + '_> =
            if gz { Box::new(flate2::read::MultiGzDecoder::new(buffered)) } else { Box::new(buffered) };
        let mut csv = csv::ReaderBuilder::new().has_headers(true).flexible(false).from_reader(LineLimit::new(reader));
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
        sink.finish()?
    };
    inputs.push(hashing.finish(path)?);
    Ok(raw)
}

#[cfg(feature = "parquet")]
fn read_parquet_source(path: &Path, signal: Option<RefSignal>, inputs: &mut Vec<InputFile>) -> Result<Raw, DataError> {
    let (raw, input) = crate::pq::read_guarded(path, "name it .csv", |f, file| pqwide::read(f, file, signal))?;
    inputs.push(input);
    Ok(raw)
}

#[cfg(not(feature = "parquet"))]
fn read_parquet_source(path: &Path, _: Option<RefSignal>, _: &mut Vec<InputFile>) -> Result<Raw, DataError> {
    Err(bad(
        &show_path(path),
        "Parquet support is not compiled into this build (cargo feature \"parquet\"); use CSV, .npy or .npz",
    ))
}

#[cfg(feature = "parquet")]
mod pqwide {
    use super::{Raw, RefSignal, Val, WideSink, bad, wide_layout};
    use crate::DataError;
    use crate::error::one_line;
    use crate::pq::{TextColumn, batch_error};
    use arrow::array::{Array, ArrayRef, AsArray};
    use arrow::datatypes::{
        DataType, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type,
        UInt32Type, UInt64Type,
    };
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use std::fs::File;

    enum Col {
        F(Vec<Option<f64>>),
        I(Vec<Option<i128>>),
        B(Vec<Option<bool>>),
        S(Vec<Option<String>>),
    }

    macro_rules! prim {
        ($a:expr, $t:ty, $conv:expr) => {
            $a.as_primitive_opt::<$t>().map(|x| x.iter().map(|v| v.map($conv)).collect())
        };
    }

    fn column(a: &ArrayRef) -> Option<Col> {
        Some(match a.data_type() {
            DataType::Float64 => Col::F(prim!(a, Float64Type, |v| v)?),
            DataType::Float32 => Col::F(prim!(a, Float32Type, f64::from)?),
            DataType::Int8 => Col::I(prim!(a, Int8Type, i128::from)?),
            DataType::Int16 => Col::I(prim!(a, Int16Type, i128::from)?),
            DataType::Int32 => Col::I(prim!(a, Int32Type, i128::from)?),
            DataType::Int64 => Col::I(prim!(a, Int64Type, i128::from)?),
            DataType::UInt8 => Col::I(prim!(a, UInt8Type, i128::from)?),
            DataType::UInt16 => Col::I(prim!(a, UInt16Type, i128::from)?),
            DataType::UInt32 => Col::I(prim!(a, UInt32Type, i128::from)?),
            DataType::UInt64 => Col::I(prim!(a, UInt64Type, i128::from)?),
            DataType::Boolean => Col::B(a.as_boolean_opt()?.iter().collect()),
            DataType::Utf8 => Col::S(a.as_string_opt::<i32>()?.iter().map(|v| v.map(str::to_string)).collect()),
            DataType::LargeUtf8 => Col::S(a.as_string_opt::<i64>()?.iter().map(|v| v.map(str::to_string)).collect()),
            DataType::Utf8View => Col::S(a.as_string_view_opt()?.iter().map(|v| v.map(str::to_string)).collect()),
            DataType::Dictionary(_, _) => column(&arrow::compute::cast(a, &DataType::Utf8).ok()?)?,
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
        // A second handle for locating undecodable text ([`batch_error`]).
        let raw = f.try_clone().map_err(|e| crate::pq::corrupt(file, e))?;
        let corrupt = |e: &dyn std::fmt::Display| {
            let m: String = one_line(&e.to_string()).chars().take(300).collect();
            bad(file, format!("corrupt or unreadable Parquet file: {m}"))
        };
        let builder = ParquetRecordBatchReaderBuilder::try_new(f).map_err(|e| corrupt(&e))?;
        let names: Vec<String> = builder.schema().fields().iter().map(|fl| fl.name().clone()).collect();
        let layout = wide_layout(file, &names, signal)?;
        let used: Vec<usize> = layout.id.iter().chain(&layout.values).chain(&layout.keep).copied().collect();
        for &i in &used {
            let t = builder.schema().field(i).data_type().clone();
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
        let text: Vec<TextColumn> =
            layout.id.map(|i| TextColumn { field: i, name: names[i].clone(), is_id: true }).into_iter().collect();
        let reader = builder.with_batch_size(1 << 16).build().map_err(|e| corrupt(&e))?;
        let mut sink = WideSink::new(layout, file);
        for batch in reader {
            let batch = batch.map_err(|e| batch_error(&raw, file, &text, e))?;
            let mut cols: Vec<Option<Col>> = (0..names.len()).map(|_| None).collect();
            for &i in &used {
                cols[i] = Some(column(batch.column(i)).ok_or_else(|| corrupt(&"unexpected column type"))?);
            }
            for r in 0..batch.num_rows() {
                sink.push(&names, |i| cols[i].as_ref().map_or(Val::Null, |c| c.get(r)))?;
            }
        }
        sink.finish()
    }
}

// ------------------------------------------------------------------------------------- loading

fn read_source(src: &ReferenceSources, inputs: &mut Vec<InputFile>) -> Result<Raw, DataError> {
    let path = &src.reference;
    let name = path.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    if name.ends_with(".npy") {
        read_npy_source(path, src.signal, inputs)
    } else if name.ends_with(".npz") {
        read_npz_source(path, src.signal, inputs)
    } else {
        match TableFormat::from_path(path) {
            Ok(TableFormat::Csv) => read_csv_source(path, false, src.signal, inputs),
            Ok(TableFormat::CsvGz) => read_csv_source(path, true, src.signal, inputs),
            Ok(TableFormat::Parquet) => read_parquet_source(path, src.signal, inputs),
            Err(_) => Err(DataError::UnknownFormat {
                file: show_path(path),
                found: match name.rfind('.') {
                    Some(i) if i > 0 => format!("extension {}", quote(&name[i..])),
                    _ => "no extension".to_string(),
                },
                accepted: ".npy, .npz, .csv, .csv.gz, .parquet, .pq".into(),
            }),
        }
    }
}

/// Reads one separate `.npy` file, noting its fingerprint.
fn side_file(path: &Path, inputs: &mut Vec<InputFile>) -> Result<(Nd, String), DataError> {
    let file = show_path(path);
    let name = file.to_ascii_lowercase();
    if !name.ends_with(".npy") {
        return Err(DataError::UnknownFormat {
            file,
            found: "not .npy".into(),
            accepted: ".npy (put several arrays in one .npz given as --reference)".into(),
        });
    }
    let (nd, input) = read_npy(path)?;
    inputs.push(input);
    Ok((nd, file))
}

/// Reads the reference outputs in `src`, validates them and aligns them to `table`'s
/// records. See the module doc for layouts, alignment and what is checked.
pub fn load_reference(
    src: &ReferenceSources,
    table: &ScoreTable,
    opts: &ReferenceOptions,
) -> Result<ReferenceData, DataError> {
    if !(opts.prob_tolerance.is_finite() && opts.prob_tolerance >= 0.0) {
        return Err(DataError::Usage {
            message: format!("probability tolerance must be a finite number >= 0, got {}", opts.prob_tolerance),
        });
    }
    let mut inputs = Vec::new();
    let mut raw = read_source(src, &mut inputs)?;
    if let Some(p) = &src.keep {
        let (nd, file) = side_file(p, &mut inputs)?;
        raw.keep = Some(mask_from(nd, &file)?);
    }
    if let Some(p) = &src.ids {
        let (nd, file) = side_file(p, &mut inputs)?;
        raw.ids = Some(ids_from(nd, &file)?);
    }
    for (flag, slot) in [
        (&src.population_target, &mut raw.pop_target),
        (&src.population_reference, &mut raw.pop_reference),
        (&src.population_labels, &mut raw.pop_labels),
    ] {
        if let Some(p) = flag {
            *slot = Some(side_file(p, &mut inputs)?);
        }
    }
    raw.inputs = inputs;
    assemble(raw, table, opts)
}

fn score_file(table: &ScoreTable) -> String {
    table.inputs.first().map_or_else(|| "the score file".to_string(), |f| one_line(&f.path))
}

fn assemble(raw: Raw, table: &ScoreTable, opts: &ReferenceOptions) -> Result<ReferenceData, DataError> {
    let Raw { block, signal, keep, ids, pop_target, pop_reference, pop_labels, inputs } = raw;
    let mut notes = Vec::new();
    let n = table.len();
    let (k, m) = (block.k, block.m);
    let scores = score_file(table);

    // Keep mask: present, and the same K × M as the signals.
    let keep = keep.ok_or_else(|| {
        bad(
            &block.file,
            "no keep mask: give --keep FILE.npy (reference models × records, true = the record was in that model's \
             training set), or put a \"keep\" array in the .npz / keep_0 … keep_{K-1} columns in the table",
        )
    })?;
    if (keep.k, keep.m) != (k, m) {
        return Err(bad(
            &keep.file,
            format!(
                "the keep mask is {} × {} (models × records) but the reference signals in {} are {}",
                keep.k,
                keep.m,
                block.file,
                dims(&block.shape())
            ),
        ));
    }

    // Alignment: column j of the reference arrays for score-table record i.
    let (cols, aligned_by_id) = match &ids {
        Some(ids) => {
            if ids.ids.len() != m {
                return Err(bad(
                    &ids.file,
                    format!(
                        "{} record ids but the reference signals in {} have {m} records ({} array)",
                        ids.ids.len(),
                        block.file,
                        dims(&block.shape())
                    ),
                ));
            }
            let mut at: HashMap<&str, usize> = HashMap::with_capacity(m);
            for (j, id) in ids.ids.iter().enumerate() {
                if let Some(first) = at.insert(id.as_str(), j) {
                    return Err(bad(
                        &ids.file,
                        format!(
                            "duplicate record id {} at {} and {}: expected unique ids",
                            quote(id),
                            pos_name(&ids.loc, first),
                            pos_name(&ids.loc, j)
                        ),
                    ));
                }
            }
            let cols: Vec<Option<usize>> = table.ids.iter().map(|id| at.get(id.as_str()).copied()).collect();
            let missing: Vec<usize> = (0..n).filter(|&i| cols[i].is_none()).collect();
            if let Some(&first) = missing.first() {
                return Err(bad(
                    &scores,
                    format!(
                        "record id {} (score-file row {}) is not among the {m} reference record ids in {}; \
                         {} of {n} score-file records are missing from it",
                        quote(&table.ids[first]),
                        first + 1,
                        ids.file,
                        missing.len()
                    ),
                ));
            }
            if m > n {
                notes.push(format!(
                    "{} reference records are not in the score file and were ignored (matched by id)",
                    m - n
                ));
            }
            (cols.into_iter().map(|c| c.unwrap_or(0)).collect::<Vec<_>>(), true)
        }
        None => {
            if m != n {
                return Err(bad(
                    &block.file,
                    format!(
                        "the reference signals are {} ({m} records) but the score file {scores} has {n} records; \
                         records align by position unless reference ids are given (--reference-ids)",
                        dims(&block.shape())
                    ),
                ));
            }
            if table.n_skipped() > 0 {
                return Err(bad(
                    &block.file,
                    format!(
                        "{} score-file rows were skipped as invalid, so records no longer align by position: give \
                         reference ids (--reference-ids) to match records by id",
                        table.n_skipped()
                    ),
                ));
            }
            ((0..n).collect(), false)
        }
    };
    let record = |i: usize| -> String { format!("record id {}", quote(&table.ids[i])) };

    // Keep mask, aligned.
    let keep_al = Array2::from_shape_fn((k, n), |(kk, i)| keep.flags[kk * m + cols[i]]);
    check_coverage(&keep_al, &keep.file, table, opts.coverage)?;

    // Signals, aligned and checked, then φ.
    let (phi, outputs, mut saturated) =
        signals_to_phi(&block, signal, &cols, table, opts.prob_tolerance, &record, k, n)?;

    let population = population(
        signal,
        pop_target,
        pop_reference,
        pop_labels,
        k,
        block.c,
        &block.file,
        opts.prob_tolerance,
        &mut saturated,
    )?;
    if saturated > 0 {
        notes.push(format!(
            "{saturated} reference-model values reached the number format's limit (probability 0 or 1, loss 0), so \
             their φ is pinned; supply logits for exact signals"
        ));
    }
    Ok(ReferenceData { signal, phi, keep: keep_al, outputs, population, aligned_by_id, saturated, inputs, notes })
}

/// Errors when a record is IN (OUT) for no model and the attacks need it.
fn check_coverage(keep: &Array2<bool>, file: &str, table: &ScoreTable, need: Coverage) -> Result<(), DataError> {
    let k = keep.nrows();
    let n_in: Vec<usize> = keep.columns().into_iter().map(|c| c.iter().filter(|&&b| b).count()).collect();
    for (side, want, count_of) in [("IN", need.need_in, 0usize), ("OUT", need.need_out, k)] {
        if !want {
            continue;
        }
        // A record lacks the side when its IN count equals `count_of` (0 IN, or K IN = 0 OUT).
        let short: Vec<usize> = (0..n_in.len()).filter(|&i| n_in[i] == count_of).collect();
        if let Some(&first) = short.first() {
            let (other, why) = if side == "IN" {
                (
                    "OUT",
                    "online LiRA and RMIA need at least one IN and one OUT model per record (offline attacks need OUT \
                     only: request them alone, e.g. --attacks lira_offline,rmia_offline)",
                )
            } else {
                (
                    "IN",
                    "LiRA, RMIA (online and offline), Attack R and difficulty calibration need at least one OUT \
                     model per record",
                )
            };
            return Err(bad(
                file,
                format!(
                    "record id {} (score-file row {}) is {side} for none of the {k} reference models ({other} \
                     for all); {} of {} records have no {side} model; {why}",
                    quote(&table.ids[first]),
                    first + 1,
                    short.len(),
                    n_in.len()
                ),
            ));
        }
    }
    Ok(())
}

/// What a φ must be for the reference attacks (mia-core's bound), in messages.
fn phi_expected() -> String {
    format!("a φ within ±{:e} (finite; the range the reference attacks accept)", mia_core::reference::PHI_BOUND)
}

/// Checks every φ against [`mia_core::reference::PHI_BOUND`] here, where the file, the
/// model and the record can be named (`err(i, φ)`), rather than in the attacks.
fn phi_within_bound(phi: &[f64], err: impl Fn(usize, f64) -> DataError) -> Result<(), DataError> {
    match phi.iter().position(|v| !v.is_finite() || v.abs() > mia_core::reference::PHI_BOUND) {
        Some(i) => Err(err(i, phi[i])),
        None => Ok(()),
    }
}

/// Aligned K × N φ, the per-model outputs (per-class signals only), and the saturated count.
type AlignedSignals = (Array2<f64>, Option<Vec<ModelOutputs>>, usize);

#[allow(clippy::too_many_arguments)]
fn signals_to_phi(
    block: &Block,
    signal: RefSignal,
    cols: &[usize],
    table: &ScoreTable,
    tol: f64,
    record: &dyn Fn(usize) -> String,
    k: usize,
    n: usize,
) -> Result<AlignedSignals, DataError> {
    let m = block.m;
    let mut saturated = 0;
    let mut phi = Array2::<f64>::zeros((k, n));
    let value_err = |kk: usize, i: usize, c: Option<usize>, v: f64, expected: &str| {
        bad(&block.file, format!("{}, {}: expected {expected}, found {v}", block.loc.at(kk, cols[i], c), record(i)))
    };
    let phi_err = |kk: usize, i: usize, v: f64| {
        let at = block.loc.at(kk, cols[i], None);
        bad(&block.file, format!("{at}, {}: expected {}, found φ = {v:e}", record(i), phi_expected()))
    };
    match block.c {
        None => {
            for kk in 0..k {
                let mut row = Vec::with_capacity(n);
                for (i, &j) in cols.iter().enumerate() {
                    let v = block.values[kk * m + j];
                    if !v.is_finite() {
                        return Err(value_err(kk, i, None, v, &format!("a finite {}", signal.what())));
                    }
                    if signal == RefSignal::Loss && v < 0.0 {
                        return Err(value_err(kk, i, None, v, "a non-negative loss"));
                    }
                    row.push(v);
                }
                let row = if signal == RefSignal::Loss {
                    let s = compute_signals(&ModelOutputs::Loss(row), None);
                    saturated += s.saturated;
                    s.phi
                } else {
                    row
                };
                phi_within_bound(&row, |i, v| phi_err(kk, i, v))?;
                phi.row_mut(kk).assign(&ndarray::Array1::from(row));
            }
            Ok((phi, None, saturated))
        }
        Some(c) => {
            let labels = table.labels.as_ref().ok_or_else(|| {
                bad(
                    &block.file,
                    format!(
                        "per-class reference {} need the records' class labels, but the score file {} has none",
                        signal.name(),
                        score_file(table)
                    ),
                )
            })?;
            if let Some((i, &y)) = labels.iter().enumerate().find(|&(_, &y)| y >= c) {
                return Err(bad(
                    &block.file,
                    format!("the reference outputs have {c} classes but {} has label {y} in the score file", record(i)),
                ));
            }
            let mut outputs = Vec::with_capacity(k);
            for kk in 0..k {
                let mut a = Array2::<f64>::zeros((n, c));
                for (i, &j) in cols.iter().enumerate() {
                    let base = (kk * m + j) * c;
                    let src = &block.values[base..base + c];
                    for (cc, &v) in src.iter().enumerate() {
                        if !v.is_finite() {
                            return Err(value_err(kk, i, Some(cc), v, &format!("a finite {}", signal.what())));
                        }
                        if signal == RefSignal::Probs && !(0.0..=1.0).contains(&v) {
                            return Err(value_err(kk, i, Some(cc), v, "a probability in [0, 1]"));
                        }
                    }
                    if signal == RefSignal::Probs {
                        let sum: f64 = src.iter().sum();
                        if (sum - 1.0).abs() > tol {
                            return Err(bad(
                                &block.file,
                                format!(
                                    "index [{kk}, {j}, :] (model {kk}, record {j}), {}: expected probabilities summing \
                                     to 1 (within tolerance {tol:e}), found sum {sum}",
                                    record(i)
                                ),
                            ));
                        }
                    }
                    a.row_mut(i).assign(&ndarray::ArrayView1::from(src));
                }
                let out =
                    if signal == RefSignal::Logits { ModelOutputs::Logits(a) } else { ModelOutputs::Probabilities(a) };
                let s = compute_signals(&out, Some(labels));
                saturated += s.saturated;
                phi_within_bound(&s.phi, |i, v| phi_err(kk, i, v))?;
                phi.row_mut(kk).assign(&ndarray::Array1::from(s.phi));
                outputs.push(out);
            }
            Ok((phi, Some(outputs), saturated))
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn population(
    signal: RefSignal,
    target: Option<(Nd, String)>,
    reference: Option<(Nd, String)>,
    labels: Option<(Nd, String)>,
    k: usize,
    c: Option<usize>,
    ref_file: &str,
    tol: f64,
    saturated: &mut usize,
) -> Result<Option<PopulationData>, DataError> {
    let (target, reference) = match (target, reference) {
        (None, None) => return Ok(None),
        (Some(t), Some(r)) => (t, r),
        (Some((_, f)), None) => {
            return Err(bad(
                &f,
                "population records under the target were given without their outputs under the reference models \
                 (--population-reference, K × P)",
            ));
        }
        (None, Some((_, f))) => {
            return Err(bad(
                &f,
                "population records under the reference models were given without their outputs under the target \
                 (--population-target)",
            ));
        }
    };
    let (t_nd, t_file) = target;
    let (r_nd, r_file) = reference;
    // 1-D target: one φ (or loss) per population record, whatever the audit records'
    // reference signals are; 2-D: per-class outputs of the reference signals' kind.
    let per_class = match (t_nd.shape().len(), signal.per_class()) {
        (1, _) => false,
        (2, true) => true,
        (2, false) => {
            return Err(bad(
                &t_file,
                format!(
                    "population outputs of shape {} (records × classes) need per-class reference signals \
                     (--reference-signal logits|probs); with {} reference signals give the population's {} as a 1-D \
                     array (and K × P under the reference models)",
                    shape_text(&t_nd.shape()),
                    signal.what(),
                    signal.what()
                ),
            ));
        }
        _ => {
            return Err(DataError::NpyShape {
                file: t_file,
                expected: "a 1-D array of population φ (or losses), or a 2-D array of per-class outputs".into(),
                found: shape_text(&t_nd.shape()),
            });
        }
    };
    if !per_class {
        let signal = if signal == RefSignal::Loss { RefSignal::Loss } else { RefSignal::Phi };
        let what = format!("a 1-D array of population {} under the target (one per population record)", signal.what());
        let (t, ts) = floats(t_nd, &t_file, 1, &what)?;
        let what = format!("a 2-D array of population {} (reference models × population records)", signal.what());
        let (r, rs) = floats(r_nd, &r_file, 2, &what)?;
        let p = ts[0];
        if p == 0 {
            return Err(DataError::Empty { file: t_file, message: "no population records".into() });
        }
        if rs != [k, p] {
            return Err(bad(
                &r_file,
                format!(
                    "population reference array is {} but expected {k} × {p} (the {k} reference models of \
                     {ref_file} × the {p} population records of {t_file})",
                    dims(&rs)
                ),
            ));
        }
        let check = |v: &[f64], file: &str, two_d: bool| -> Result<(), DataError> {
            for (i, &x) in v.iter().enumerate() {
                let at = if two_d { format!("index [{}, {}]", i / p, i % p) } else { format!("index {i}") };
                if !x.is_finite() || (signal == RefSignal::Loss && x < 0.0) {
                    return Err(bad(
                        file,
                        format!(
                            "{at}: expected a finite{} {}, found {x}",
                            if signal == RefSignal::Loss { " non-negative" } else { "" },
                            signal.what()
                        ),
                    ));
                }
            }
            Ok(())
        };
        check(&t, &t_file, false)?;
        check(&r, &r_file, true)?;
        let to_phi = |v: Vec<f64>, saturated: &mut usize| -> Vec<f64> {
            if signal == RefSignal::Loss {
                let s = compute_signals(&ModelOutputs::Loss(v), None);
                *saturated += s.saturated;
                s.phi
            } else {
                v
            }
        };
        let target_phi = to_phi(t, saturated);
        phi_within_bound(&target_phi, |i, v| {
            bad(&t_file, format!("index {i}: expected {}, found φ = {v:e}", phi_expected()))
        })?;
        let mut reference_phi = Array2::zeros((k, p));
        for kk in 0..k {
            let row = to_phi(r[kk * p..(kk + 1) * p].to_vec(), saturated);
            phi_within_bound(&row, |i, v| {
                bad(&r_file, format!("index [{kk}, {i}]: expected {}, found φ = {v:e}", phi_expected()))
            })?;
            reference_phi.row_mut(kk).assign(&ndarray::Array1::from(row));
        }
        return Ok(Some(PopulationData { target_phi, reference_phi }));
    }
    let c = c.unwrap_or(2);
    let (l_nd, l_file) = labels.ok_or_else(|| {
        bad(
            &t_file,
            format!(
                "population {} need the population records' labels: give --population-labels FILE.npy",
                signal.name()
            ),
        )
    })?;
    let what = format!("a 2-D array of population {} under the target (population records × classes)", signal.name());
    let (t, ts) = floats(t_nd, &t_file, 2, &what)?;
    let what = format!("a 3-D array of population {} (reference models × population records × classes)", signal.name());
    let (r, rs) = floats(r_nd, &r_file, 3, &what)?;
    let p = ts[0];
    if p == 0 {
        return Err(DataError::Empty { file: t_file, message: "no population records".into() });
    }
    if ts[1] != c {
        return Err(bad(
            &t_file,
            format!("population outputs have {} classes but the reference outputs in {ref_file} have {c}", ts[1]),
        ));
    }
    if rs != [k, p, c] {
        return Err(bad(
            &r_file,
            format!(
                "population reference array is {} but expected {k} × {p} × {c} (models × population records × classes)",
                dims(&rs)
            ),
        ));
    }
    let labels = ints_from(l_nd, &l_file, "a 1-D array of population class labels")?;
    if labels.len() != p {
        return Err(DataError::LengthMismatch { file_a: t_file, len_a: p, file_b: l_file, len_b: labels.len() });
    }
    let labels: Vec<usize> = labels
        .iter()
        .enumerate()
        .map(|(i, &y)| {
            usize::try_from(y)
                .ok()
                .filter(|&y| y < c)
                .ok_or_else(|| bad(&l_file, format!("index {i}: expected a class label in 0..{}, found {y}", c - 1)))
        })
        .collect::<Result<_, _>>()?;
    let to_outputs = |v: &[f64], file: &str, model: Option<usize>| -> Result<ModelOutputs, DataError> {
        let mut a = Array2::zeros((p, c));
        for i in 0..p {
            let row = &v[i * c..(i + 1) * c];
            let at = |cc: Option<usize>| match (model, cc) {
                (Some(kk), Some(cc)) => format!("index [{kk}, {i}, {cc}]"),
                (Some(kk), None) => format!("index [{kk}, {i}, :]"),
                (None, Some(cc)) => format!("index [{i}, {cc}]"),
                (None, None) => format!("index [{i}, :]"),
            };
            for (cc, &x) in row.iter().enumerate() {
                if !x.is_finite() || (signal == RefSignal::Probs && !(0.0..=1.0).contains(&x)) {
                    return Err(bad(file, format!("{}: expected a finite {}, found {x}", at(Some(cc)), signal.what())));
                }
            }
            if signal == RefSignal::Probs {
                let sum: f64 = row.iter().sum();
                if (sum - 1.0).abs() > tol {
                    return Err(bad(
                        file,
                        format!(
                            "{}: expected probabilities summing to 1 (within tolerance {tol:e}), found sum {sum}",
                            at(None)
                        ),
                    ));
                }
            }
            a.row_mut(i).assign(&ndarray::ArrayView1::from(row));
        }
        Ok(if signal == RefSignal::Logits { ModelOutputs::Logits(a) } else { ModelOutputs::Probabilities(a) })
    };
    let s = compute_signals(&to_outputs(&t, &t_file, None)?, Some(&labels));
    *saturated += s.saturated;
    let target_phi = s.phi;
    phi_within_bound(&target_phi, |i, v| {
        bad(&t_file, format!("index [{i}, :]: expected outputs giving {}, found φ = {v:e}", phi_expected()))
    })?;
    let mut reference_phi = Array2::zeros((k, p));
    for kk in 0..k {
        let out = to_outputs(&r[kk * p * c..(kk + 1) * p * c], &r_file, Some(kk))?;
        let s = compute_signals(&out, Some(&labels));
        *saturated += s.saturated;
        phi_within_bound(&s.phi, |i, v| {
            bad(&r_file, format!("index [{kk}, {i}, :]: expected outputs giving {}, found φ = {v:e}", phi_expected()))
        })?;
        reference_phi.row_mut(kk).assign(&ndarray::Array1::from(s.phi));
    }
    Ok(Some(PopulationData { target_phi, reference_phi }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, Array3};
    use ndarray_npy::{NpzWriter, WriteNpyExt};

    const K: usize = 4;
    const N: usize = 6;
    const C: usize = 3;

    fn table() -> ScoreTable {
        ScoreTable {
            ids: (0..N).map(|i| (100 + i).to_string()).collect(),
            member: (0..N).map(|i| i % 2 == 0).collect(),
            labels: Some((0..N).map(|i| i % C).collect()),
            outputs: ModelOutputs::Logits(Array2::zeros((N, C))),
            inputs: vec![InputFile { path: "scores.csv".into(), sha256: String::new(), bytes: 0 }],
            rows_read: N,
            skipped: Vec::new(),
            notes: Vec::new(),
        }
    }

    fn logits() -> Array3<f64> {
        Array3::from_shape_fn((K, N, C), |(k, n, c)| ((k * 7 + n * 3 + c * 5) % 11) as f64 * 0.7 - 3.0)
    }

    /// Every record IN for models (n % K) and ((n + 1) % K), OUT for the others.
    fn keep() -> Array2<bool> {
        Array2::from_shape_fn((K, N), |(k, n)| k == n % K || k == (n + 1) % K)
    }

    fn write<T: WriteNpyExt>(dir: &Path, name: &str, a: &T) -> PathBuf {
        let p = dir.join(name);
        a.write_npy(File::create(&p).unwrap()).unwrap();
        p
    }

    fn phi_from_logits(l: &Array3<f64>, labels: &[usize]) -> Array2<f64> {
        let mut out = Array2::zeros((l.shape()[0], l.shape()[1]));
        for k in 0..l.shape()[0] {
            let s = compute_signals(&ModelOutputs::Logits(l.index_axis(ndarray::Axis(0), k).to_owned()), Some(labels));
            out.row_mut(k).assign(&Array1::from(s.phi));
        }
        out
    }

    #[test]
    fn logits_probabilities_and_losses_give_the_same_phi() {
        let dir = tempfile::tempdir().unwrap();
        let t = table();
        let labels = t.labels.clone().unwrap();
        let l = logits();
        let want = phi_from_logits(&l, &labels);
        let probs = l.mapv(f64::exp);
        let probs = Array3::from_shape_fn((K, N, C), |(k, n, c)| {
            probs[[k, n, c]] / (0..C).map(|j| probs[[k, n, j]]).sum::<f64>()
        });
        let loss = Array2::from_shape_fn((K, N), |(k, n)| -probs[[k, n, labels[n]]].ln());
        let keep_path = write(dir.path(), "keep.npy", &keep());
        let opts = ReferenceOptions::default();
        for (name, signal, path) in [
            ("logits", RefSignal::Logits, write(dir.path(), "l.npy", &l)),
            ("probs", RefSignal::Probs, write(dir.path(), "p.npy", &probs)),
            ("loss", RefSignal::Loss, write(dir.path(), "loss.npy", &loss)),
        ] {
            let src = ReferenceSources {
                signal: Some(signal),
                keep: Some(keep_path.clone()),
                ..ReferenceSources::new(&path)
            };
            let r = load_reference(&src, &t, &opts).unwrap();
            assert_eq!(r.signal, signal);
            assert_eq!(r.keep, keep());
            assert!(!r.aligned_by_id);
            assert_eq!(r.outputs.is_some(), signal != RefSignal::Loss, "{name}");
            for (a, b) in r.phi.iter().zip(&want) {
                assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{name}: {a} vs {b}");
            }
            assert_eq!(r.inputs.len(), 2);
        }
    }

    #[test]
    fn an_npz_bundle_with_ids_and_per_class_population_aligns_by_id() {
        let dir = tempfile::tempdir().unwrap();
        let t = table();
        let labels = t.labels.clone().unwrap();
        let l = logits();
        // Columns in reverse order plus one record the score table does not hold.
        let m = N + 1;
        let rev = |j: usize| N - 1 - j;
        let lr = Array3::from_shape_fn((K, m, C), |(k, j, c)| if j < N { l[[k, rev(j), c]] } else { 0.5 });
        let kr = Array2::from_shape_fn((K, m), |(k, j)| if j < N { keep()[[k, rev(j)]] } else { k == 0 });
        let ids = Array1::from_shape_fn(m, |j| if j < N { 100 + rev(j) as i64 } else { 7 });
        let p = 5;
        let pop_t = Array2::from_shape_fn((p, C), |(i, c)| (i + c) as f64 * 0.3);
        let pop_r = Array3::from_shape_fn((K, p, C), |(k, i, c)| (k + 2 * i + c) as f64 * 0.2);
        let pop_y = Array1::from_shape_fn(p, |i| (i % C) as u8);
        let path = dir.path().join("run.npz");
        let mut z = NpzWriter::new(File::create(&path).unwrap());
        z.add_array("logits", &lr.mapv(|v| v as f32)).unwrap();
        z.add_array("keep", &kr.mapv(|b| b as u8)).unwrap();
        z.add_array("ids", &ids).unwrap();
        z.add_array("population_target", &pop_t).unwrap();
        z.add_array("population_reference", &pop_r).unwrap();
        z.add_array("population_labels", &pop_y).unwrap();
        z.finish().unwrap();
        let r = load_reference(&ReferenceSources::new(&path), &t, &ReferenceOptions::default()).unwrap();
        assert_eq!(r.signal, RefSignal::Logits);
        assert!(r.aligned_by_id);
        assert_eq!(r.keep, keep());
        assert_eq!(r.inputs.len(), 1);
        assert!(r.notes.iter().any(|n| n.contains("1 reference records are not in the score file")), "{:?}", r.notes);
        let want = phi_from_logits(&l.mapv(|v| v as f32 as f64), &labels);
        assert_eq!(r.phi, want);
        let pop = r.population.unwrap();
        let py: Vec<usize> = pop_y.iter().map(|&y| y as usize).collect();
        assert_eq!(pop.target_phi, compute_signals(&ModelOutputs::Logits(pop_t), Some(&py)).phi);
        assert_eq!(pop.reference_phi, phi_from_logits(&pop_r, &py));
        // Per-class population outputs need their labels.
        let path2 = dir.path().join("nolabels.npz");
        let mut z = NpzWriter::new(File::create(&path2).unwrap());
        z.add_array("logits", &l).unwrap();
        z.add_array("keep", &keep()).unwrap();
        z.add_array("population_target", &pop_r.index_axis(ndarray::Axis(0), 0).to_owned()).unwrap();
        z.add_array("population_reference", &pop_r).unwrap();
        z.finish().unwrap();
        let e = load_reference(&ReferenceSources::new(&path2), &t, &ReferenceOptions::default()).unwrap_err();
        assert!(e.to_string().contains("--population-labels"), "{e}");
    }

    #[test]
    fn wide_csv_tables_with_losses_and_text_flags() {
        let dir = tempfile::tempdir().unwrap();
        let t = table();
        let mut text = String::from("id,loss_1,loss_0,keep_0,keep_1,note\n");
        for n in (0..N).rev() {
            let (a, b) = (0.1 * (n + 1) as f64, 0.05 * (n + 2) as f64);
            text.push_str(&format!(
                "{},{b},{a},{},{},x\n",
                100 + n,
                if n % 2 == 0 { "True" } else { "false" },
                (n % 2)
            ));
        }
        let p = dir.path().join("wide.csv");
        std::fs::write(&p, &text).unwrap();
        let opts = ReferenceOptions::default();
        let r = load_reference(&ReferenceSources::new(&p), &t, &opts).unwrap();
        assert_eq!(r.signal, RefSignal::Loss);
        assert!(r.aligned_by_id);
        for n in 0..N {
            assert_eq!(r.keep[[0, n]], n % 2 == 0);
            assert_eq!(r.keep[[1, n]], n % 2 == 1);
            let want = compute_signals(&ModelOutputs::Loss(vec![0.1 * (n + 1) as f64]), None).phi[0];
            assert_eq!(r.phi[[0, n]], want);
        }
        // Gaps in the numbering and a bad flag are errors naming the file, row and column.
        std::fs::write(&p, "phi_0,phi_2\n1,2\n").unwrap();
        let e = load_reference(&ReferenceSources::new(&p), &t, &opts).unwrap_err().to_string();
        assert!(e.contains("wide.csv") && e.contains("expected \"phi_1\", found \"phi_2\""), "{e}");
        std::fs::write(&p, "phi_0,keep_0\n1,1\n2,maybe\n").unwrap();
        let e = load_reference(&ReferenceSources::new(&p), &t, &opts).unwrap_err().to_string();
        assert!(e.contains("row 2") && e.contains("keep_0") && e.contains("\"maybe\""), "{e}");
        // Positional alignment needs the score file's record count.
        assert!(e.lines().count() == 1);
        std::fs::write(&p, "phi_0,keep_0\n1,1\n2,0\n").unwrap();
        let e = load_reference(&ReferenceSources::new(&p), &t, &opts).unwrap_err().to_string();
        assert!(e.contains("2 records") && e.contains("scores.csv has 6 records"), "{e}");
    }

    #[test]
    fn keep_flags_accept_bool_like_values_only() {
        for (v, want) in [
            (Val::B(true), Some(true)),
            (Val::I(0), Some(false)),
            (Val::I(2), None),
            (Val::F(1.0), Some(true)),
            (Val::F(0.5), None),
            (Val::Text(" TRUE "), Some(true)),
            (Val::Text("0"), Some(false)),
            (Val::Text("yes"), None),
            (Val::Null, None),
        ] {
            assert_eq!(v.flag(), want, "{v:?}");
        }
    }
}
