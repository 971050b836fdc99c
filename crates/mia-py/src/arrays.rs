//! numpy arrays in, borrowed in place: a C-contiguous (or any strided) float32/float64 array
//! is read where it lies, never copied, and each array is named in messages as the Python
//! argument it came from (`array "logits"`).

use mia_data::reference::{Nd, RefSignal, ReferenceArrays, ReferenceInput};
use mia_data::{FloatView, IdsView, IntView, OutputsView};
use ndarray::Axis;
use numpy::{PyReadonlyArray1, PyReadonlyArray2, PyReadonlyArrayDyn};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::InputError;

/// numpy's description of an object: `float64 array of shape (3, 2)`, or its type.
fn describe(obj: &Bound<'_, PyAny>) -> String {
    let dtype = obj.getattr("dtype").and_then(|d| d.str()).map(|s| s.to_string());
    let shape = obj.getattr("shape").and_then(|s| s.str()).map(|s| s.to_string());
    match (dtype, shape) {
        (Ok(d), Ok(s)) => format!("{d} values of shape {s}"),
        _ => obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "an object".into()),
    }
}

macro_rules! int_holder {
    ($($v:ident => $t:ty),*) => {
        /// A 1-D integer or bool array held for reading.
        pub enum Ints<'py> { $($v(PyReadonlyArray1<'py, $t>)),* }

        impl<'py> Ints<'py> {
            /// `name` as the argument is called; `bool_ok`: bool arrays are accepted.
            pub fn extract(obj: &Bound<'py, PyAny>, name: &str, bool_ok: bool) -> PyResult<Ints<'py>> {
                $(if let Ok(a) = obj.extract::<PyReadonlyArray1<'py, $t>>() {
                    if bool_ok || stringify!($v) != "Bool" {
                        return Ok(Ints::$v(a));
                    }
                })*
                Err(InputError::new_err(format!(
                    "array \"{name}\": expected a 1-D array of {} values (one per record), found {}",
                    if bool_ok { "bool or integer (0/1)" } else { "integer" },
                    describe(obj)
                )))
            }

            pub fn view(&self) -> IntView<'_> {
                match self { $(Ints::$v(a) => IntView::$v(a.as_array())),* }
            }
        }
    };
}

int_holder!(I8 => i8, I16 => i16, I32 => i32, I64 => i64, U8 => u8, U16 => u16, U32 => u32, U64 => u64, Bool => bool);

/// Model outputs held for reading: N × C (logits, probabilities) or N (losses).
pub enum Floats<'py> {
    F32(PyReadonlyArray2<'py, f32>),
    F64(PyReadonlyArray2<'py, f64>),
    F32Vec(PyReadonlyArray1<'py, f32>),
    F64Vec(PyReadonlyArray1<'py, f64>),
}

impl<'py> Floats<'py> {
    pub fn extract(obj: &Bound<'py, PyAny>, kind: &str) -> PyResult<Floats<'py>> {
        let found = if kind == "loss" {
            obj.extract().map(Floats::F32Vec).or_else(|_| obj.extract().map(Floats::F64Vec))
        } else {
            obj.extract().map(Floats::F32).or_else(|_| obj.extract().map(Floats::F64))
        };
        found.map_err(|_| {
            let shape = if kind == "loss" { "1-D (one loss per record)" } else { "2-D (records × classes)" };
            InputError::new_err(format!(
                "array \"{kind}\": expected a {shape} array of float32 or float64 values, found {}",
                describe(obj)
            ))
        })
    }

    pub fn view(&self, kind: &str) -> PyResult<OutputsView<'_>> {
        let v = match self {
            Floats::F32(a) => FloatView::F32(a.as_array()),
            Floats::F64(a) => FloatView::F64(a.as_array()),
            Floats::F32Vec(a) => FloatView::F32(a.as_array().insert_axis(Axis(1))),
            Floats::F64Vec(a) => FloatView::F64(a.as_array().insert_axis(Axis(1))),
        };
        Ok(match kind {
            "logits" => OutputsView::Logits(v),
            "probs" => OutputsView::Probs(v),
            "loss" => OutputsView::Loss(v),
            other => return Err(InputError::new_err(format!("unknown outputs kind \"{other}\""))),
        })
    }
}

/// Record ids: integers (an integer array) or text (a list of str).
pub enum Ids<'py> {
    Ints(Ints<'py>),
    Text(Vec<String>),
}

impl<'py> Ids<'py> {
    pub fn extract(obj: &Bound<'py, PyAny>) -> PyResult<Ids<'py>> {
        if let Ok(i) = Ints::extract(obj, "ids", false) {
            return Ok(Ids::Ints(i));
        }
        obj.extract::<Vec<String>>().map(Ids::Text).map_err(|_| {
            InputError::new_err(format!(
                "array \"ids\": expected integer ids or a list of str (one per record), found {}",
                describe(obj)
            ))
        })
    }

    pub fn view(&self) -> IdsView<'_> {
        match self {
            Ids::Ints(i) => IdsView::Ints(i.view()),
            Ids::Text(t) => IdsView::Text(t),
        }
    }
}

/// Any numeric or bool numpy array, copied into the library's own form.
fn nd(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<Nd> {
    macro_rules! try_as {
        ($($v:ident => $t:ty),*) => {
            $(if let Ok(a) = obj.extract::<PyReadonlyArrayDyn<'_, $t>>() {
                return Ok(Nd::$v(a.as_array().to_owned()));
            })*
        };
    }
    try_as!(F64 => f64, F32 => f32, I8 => i8, I16 => i16, I32 => i32, I64 => i64, U8 => u8, U16 => u16,
        U32 => u32, U64 => u64, Bool => bool);
    Err(InputError::new_err(format!(
        "array \"{name}\": expected a numpy array of float, integer or bool values, found {}",
        describe(obj)
    )))
}

/// The `reference=` dict of `mia_audit.score`: `reference` (K × N or K × N × C), `signal`
/// (`phi`, `loss`, `logits`, `probs`), `keep`, `ids`, `population_target`,
/// `population_reference`, `population_labels`.
pub fn reference_arrays(d: &Bound<'_, PyDict>) -> PyResult<ReferenceInput> {
    let get = |key: &str| -> PyResult<Option<Nd>> {
        match d.get_item(key)? {
            Some(v) if !v.is_none() => Ok(Some(nd(&v, key)?)),
            _ => Ok(None),
        }
    };
    let reference =
        get("reference")?.ok_or_else(|| InputError::new_err("reference: the reference array is missing"))?;
    let signal = match d.get_item("signal")? {
        Some(s) if !s.is_none() => {
            let s: String = s.extract()?;
            Some(s.parse::<RefSignal>().map_err(|e| InputError::new_err(format!("reference_signal: {e}")))?)
        }
        _ => None,
    };
    Ok(ReferenceInput::from(ReferenceArrays {
        reference,
        signal,
        keep: get("keep")?,
        ids: get("ids")?,
        population_target: get("population_target")?,
        population_reference: get("population_reference")?,
        population_labels: get("population_labels")?,
    }))
}

/// Per-record features (records × features, float32 or float64) for the blind check, copied
/// as float32 (the precision the classifiers fit in).
pub fn features(obj: &Bound<'_, PyAny>) -> PyResult<ndarray::Array2<f32>> {
    if let Ok(a) = obj.extract::<PyReadonlyArray2<'_, f32>>() {
        return Ok(a.as_array().to_owned());
    }
    if let Ok(a) = obj.extract::<PyReadonlyArray2<'_, f64>>() {
        return Ok(a.as_array().mapv(|v| v as f32));
    }
    Err(InputError::new_err(format!(
        "array \"features\": expected a 2-D array (records × features) of float32 or float64 values, found {}",
        describe(obj)
    )))
}
