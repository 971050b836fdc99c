//! Reference arrays as read: element values ([`Val`]) and n-d arrays ([`Nd`]) in their own
//! types, from `.npy` files (through [`crate::npy`]'s checked header) and `.npz` bundles, and
//! their conversion to the intermediate form (signals, keep mask, ids).

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use ndarray::{ArrayD, IxDyn, OwnedRepr};
use ndarray_npy::{NpzReader, ReadNpyError, ReadNpzError};

use super::{Block, Ids, Loc, Mask, PopulationArrays, Raw, RefSignal};
use crate::error::{bad, one_line, quote, show_path};
use crate::hash::{hash_file, open};
use crate::npy::NpyFile;
use crate::{DataError, InputFile};

/// One element of an input, in its own kind.
#[derive(Debug, Clone, Copy)]
pub(super) enum Val<'a> {
    F(f64),
    I(i128),
    B(bool),
    Text(&'a str),
    /// A CSV cell that is not UTF-8 text (no number, flag or id).
    Bytes(&'a [u8]),
    Null,
}

impl Val<'_> {
    pub(super) fn show(&self) -> String {
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
    pub(super) fn number(&self) -> Option<f64> {
        match *self {
            Val::F(v) => Some(v),
            Val::I(v) => Some(v as f64),
            Val::Text(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        }
    }
    pub(super) fn flag(&self) -> Option<bool> {
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
    pub(super) fn id(&self) -> Result<String, crate::layout::CellErr> {
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

/// An n-dimensional array as read (or handed over from memory), in its own element type.
#[derive(Debug, Clone)]
pub enum Nd {
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
    pub(super) fn shape(&self) -> Vec<usize> {
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

pub(super) fn shape_text(shape: &[usize]) -> String {
    match shape {
        [n] => format!("({n},)"),
        s => format!("({})", s.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
    }
}

pub(super) fn dims(shape: &[usize]) -> String {
    shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(" × ")
}

// ------------------------------------------------------------------------------------- .npy / .npz

/// Reads one `.npy` array of any supported dtype, checking the header and size first.
fn read_npy(path: &Path) -> Result<(Nd, InputFile), DataError> {
    let mut npy = NpyFile::open(path)?;
    let h = &npy.header;
    let Some((_, kind, size)) =
        h.dtype.filter(|&(_, k, s)| matches!((k, s), ('f', 4 | 8) | ('i' | 'u', 1 | 2 | 4 | 8) | ('b', 1)))
    else {
        return Err(DataError::NpyDtype {
            file: show_path(path),
            expected: "float32/float64, integer or bool values".into(),
            found: h.dtype_name(),
        });
    };
    npy.check_size()?;
    let nd = match (kind, size) {
        ('f', 8) => Nd::F64(npy.read()?),
        ('f', _) => Nd::F32(npy.read()?),
        ('i', 1) => Nd::I8(npy.read()?),
        ('i', 2) => Nd::I16(npy.read()?),
        ('i', 4) => Nd::I32(npy.read()?),
        ('i', _) => Nd::I64(npy.read()?),
        ('u', 1) => Nd::U8(npy.read()?),
        ('u', 2) => Nd::U16(npy.read()?),
        ('u', 4) => Nd::U32(npy.read()?),
        ('u', _) => Nd::U64(npy.read()?),
        _ => Nd::Bool(npy.read()?),
    };
    Ok((nd, npy.finish(path)?))
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

/// A float array of the expected number of dimensions, as a flat row-major vector.
pub(super) fn floats(nd: Nd, file: &str, ndim: usize, what: &str) -> Result<(Vec<f64>, Vec<usize>), DataError> {
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

pub(super) fn mask_from(nd: Nd, file: &str) -> Result<Mask, DataError> {
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

pub(super) fn ints_from(nd: Nd, file: &str, what: &str) -> Result<Vec<i128>, DataError> {
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

pub(super) fn ids_from(nd: Nd, file: &str) -> Result<Ids, DataError> {
    let ids = ints_from(nd, file, "a 1-D array of record ids (one per reference record)")?;
    Ok(Ids { ids: ids.into_iter().map(|v| v.to_string()).collect(), file: file.to_string(), loc: Loc::Array })
}

pub(super) fn block_from(nd: Nd, file: &str, signal: RefSignal) -> Result<Block, DataError> {
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

pub(super) fn read_npy_source(path: &Path, signal: Option<RefSignal>) -> Result<(Raw, InputFile), DataError> {
    let file = show_path(path);
    let (nd, input) = read_npy(path)?;
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
    Ok((Raw { block, signal, keep: None, ids: None, population: PopulationArrays::default() }, input))
}

const SIGNAL_NAMES: [(&str, RefSignal); 4] =
    [("phi", RefSignal::Phi), ("loss", RefSignal::Loss), ("logits", RefSignal::Logits), ("probs", RefSignal::Probs)];

pub(super) fn read_npz_source(path: &Path, signal: Option<RefSignal>) -> Result<(Raw, InputFile), DataError> {
    let file = show_path(path);
    let (mut z, input) = Npz::open(path)?;
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
    let target = opt("population_target")?;
    let reference = opt("population_reference")?;
    let labels = opt("population_labels")?;
    let population = PopulationArrays { target, reference, labels };
    Ok((Raw { block, signal, keep, ids, population }, input))
}

/// Reads one separate `.npy` file, noting its fingerprint.
pub(super) fn side_file(path: &Path, inputs: &mut Vec<InputFile>) -> Result<(Nd, String), DataError> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
