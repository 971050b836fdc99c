//! From values read to φ: checks every reference value (finite, non-negative losses,
//! probability rows summing to 1), converts losses, logits and probabilities with
//! [`mia_core::signals::compute_signals`], bounds φ for the attacks, and does the same for
//! the population arrays.

use ndarray::Array2;

use mia_core::signals::{ModelOutputs, compute_signals};

use super::align::score_file;
use super::arrays::{Nd, dims, floats, ints_from, shape_text};
use super::{Block, PopulationArrays, PopulationData, RefSignal};
use crate::error::{bad, quote};
use crate::{DataError, ScoreTable};

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

/// Checks the reference signals in `block` and turns them into K × N φ, column i being
/// score-table record i (reference record `cols[i]`).
pub(super) fn signals_to_phi(
    block: &Block,
    signal: RefSignal,
    cols: &[usize],
    table: &ScoreTable,
    tol: f64,
) -> Result<AlignedSignals, DataError> {
    let audit = Audit { block, signal, cols, table, tol };
    match block.c {
        None => audit.scalar_phi(),
        Some(c) => audit.per_class_phi(c),
    }
}

/// The reference signals of the audit records, with where to find each record.
struct Audit<'a> {
    block: &'a Block,
    signal: RefSignal,
    cols: &'a [usize],
    table: &'a ScoreTable,
    tol: f64,
}

impl Audit<'_> {
    fn record(&self, i: usize) -> String {
        format!("record id {}", quote(&self.table.ids[i]))
    }

    fn value_err(&self, kk: usize, i: usize, c: Option<usize>, v: f64, expected: &str) -> DataError {
        let at = self.block.loc.at(kk, self.cols[i], c);
        bad(&self.block.file, format!("{at}, {}: expected {expected}, found {v}", self.record(i)))
    }

    fn phi_err(&self, kk: usize, i: usize, v: f64) -> DataError {
        let at = self.block.loc.at(kk, self.cols[i], None);
        bad(&self.block.file, format!("{at}, {}: expected {}, found φ = {v:e}", self.record(i), phi_expected()))
    }

    /// φ or losses: K × N values.
    fn scalar_phi(&self) -> Result<AlignedSignals, DataError> {
        let (k, m, n, signal) = (self.block.k, self.block.m, self.table.len(), self.signal);
        let mut saturated = 0;
        let mut phi = Array2::<f64>::zeros((k, n));
        for kk in 0..k {
            let mut row = Vec::with_capacity(n);
            for (i, &j) in self.cols.iter().enumerate() {
                let v = self.block.values[kk * m + j];
                if !v.is_finite() {
                    return Err(self.value_err(kk, i, None, v, &format!("a finite {}", signal.what())));
                }
                if signal == RefSignal::Loss && v < 0.0 {
                    return Err(self.value_err(kk, i, None, v, "a non-negative loss"));
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
            phi_within_bound(&row, |i, v| self.phi_err(kk, i, v))?;
            phi.row_mut(kk).assign(&ndarray::Array1::from(row));
        }
        Ok((phi, None, saturated))
    }

    /// Logits or probabilities: K × N × C values, φ from each model's outputs and the labels.
    fn per_class_phi(&self, c: usize) -> Result<AlignedSignals, DataError> {
        let labels = self.labels(c)?;
        let (k, n) = (self.block.k, self.table.len());
        let mut saturated = 0;
        let mut phi = Array2::<f64>::zeros((k, n));
        let mut outputs = Vec::with_capacity(k);
        for kk in 0..k {
            let out = self.model_outputs(kk, c)?;
            let s = compute_signals(&out, Some(labels));
            saturated += s.saturated;
            phi_within_bound(&s.phi, |i, v| self.phi_err(kk, i, v))?;
            phi.row_mut(kk).assign(&ndarray::Array1::from(s.phi));
            outputs.push(out);
        }
        Ok((phi, Some(outputs), saturated))
    }

    /// The score table's labels, each a class of the `c` the reference outputs have.
    fn labels(&self, c: usize) -> Result<&[usize], DataError> {
        let labels = self.table.labels.as_ref().ok_or_else(|| {
            bad(
                &self.block.file,
                format!(
                    "per-class reference {} need the records' class labels, but the score file {} has none",
                    self.signal.name(),
                    score_file(self.table)
                ),
            )
        })?;
        if let Some((i, &y)) = labels.iter().enumerate().find(|&(_, &y)| y >= c) {
            return Err(bad(
                &self.block.file,
                format!(
                    "the reference outputs have {c} classes but {} has label {y} in the score file",
                    self.record(i)
                ),
            ));
        }
        Ok(labels)
    }

    /// Model `kk`'s N × C outputs, aligned and checked.
    fn model_outputs(&self, kk: usize, c: usize) -> Result<ModelOutputs, DataError> {
        let (m, signal, tol) = (self.block.m, self.signal, self.tol);
        let mut a = Array2::<f64>::zeros((self.table.len(), c));
        for (i, &j) in self.cols.iter().enumerate() {
            let base = (kk * m + j) * c;
            let src = &self.block.values[base..base + c];
            for (cc, &v) in src.iter().enumerate() {
                if !v.is_finite() {
                    return Err(self.value_err(kk, i, Some(cc), v, &format!("a finite {}", signal.what())));
                }
                if signal == RefSignal::Probs && !(0.0..=1.0).contains(&v) {
                    return Err(self.value_err(kk, i, Some(cc), v, "a probability in [0, 1]"));
                }
            }
            if signal == RefSignal::Probs {
                let sum: f64 = src.iter().sum();
                if (sum - 1.0).abs() > tol {
                    return Err(bad(
                        &self.block.file,
                        format!(
                            "index [{kk}, {j}, :] (model {kk}, record {j}), {}: expected probabilities summing to 1 \
                             (within tolerance {tol:e}), found sum {sum}",
                            self.record(i)
                        ),
                    ));
                }
            }
            a.row_mut(i).assign(&ndarray::ArrayView1::from(src));
        }
        Ok(if signal == RefSignal::Logits { ModelOutputs::Logits(a) } else { ModelOutputs::Probabilities(a) })
    }
}

/// φ of the population records under the target and the reference models, if given.
/// `block` (the audit records' signals) gives K, the classes and the file to name.
pub(super) fn population(
    arrays: PopulationArrays,
    block: &Block,
    signal: RefSignal,
    tol: f64,
    saturated: &mut usize,
) -> Result<Option<PopulationData>, DataError> {
    let PopulationArrays { target, reference, labels } = arrays;
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
    let (t_nd, t_file) = &target;
    // 1-D target: one φ (or loss) per population record, whatever the audit records'
    // reference signals are; 2-D: per-class outputs of the reference signals' kind.
    let per_class = match (t_nd.shape().len(), signal.per_class()) {
        (1, _) => false,
        (2, true) => true,
        (2, false) => {
            return Err(bad(
                t_file,
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
                file: t_file.clone(),
                expected: "a 1-D array of population φ (or losses), or a 2-D array of per-class outputs".into(),
                found: shape_text(&t_nd.shape()),
            });
        }
    };
    let pop = Population { signal, k: block.k, ref_file: &block.file, tol };
    let data = if per_class {
        pop.per_class(target, reference, labels, block.c.unwrap_or(2), saturated)?
    } else {
        pop.scalar(target, reference, saturated)?
    };
    Ok(Some(data))
}

/// What the population arrays are checked against: the reference signals' kind, their
/// K models and file, and the probability tolerance.
struct Population<'a> {
    signal: RefSignal,
    k: usize,
    ref_file: &'a str,
    tol: f64,
}

impl Population<'_> {
    /// P φ (or losses) under the target and K × P under the reference models.
    fn scalar(
        &self,
        (t_nd, t_file): (Nd, String),
        (r_nd, r_file): (Nd, String),
        saturated: &mut usize,
    ) -> Result<PopulationData, DataError> {
        let (k, ref_file) = (self.k, self.ref_file);
        let signal = if self.signal == RefSignal::Loss { RefSignal::Loss } else { RefSignal::Phi };
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
                    let sign = if signal == RefSignal::Loss { " non-negative" } else { "" };
                    return Err(bad(file, format!("{at}: expected a finite{sign} {}, found {x}", signal.what())));
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
        Ok(PopulationData { target_phi, reference_phi })
    }

    /// P × C outputs under the target, K × P × C under the reference models, P labels.
    fn per_class(
        &self,
        (t_nd, t_file): (Nd, String),
        (r_nd, r_file): (Nd, String),
        labels: Option<(Nd, String)>,
        c: usize,
        saturated: &mut usize,
    ) -> Result<PopulationData, DataError> {
        let (k, ref_file, name) = (self.k, self.ref_file, self.signal.name());
        let (l_nd, l_file) = labels.ok_or_else(|| {
            bad(
                &t_file,
                format!("population {name} need the population records' labels: give --population-labels FILE.npy"),
            )
        })?;
        let what = format!("a 2-D array of population {name} under the target (population records × classes)");
        let (t, ts) = floats(t_nd, &t_file, 2, &what)?;
        let what = format!("a 3-D array of population {name} (reference models × population records × classes)");
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
                    "population reference array is {} but expected {k} × {p} × {c} (models × population records × \
                     classes)",
                    dims(&rs)
                ),
            ));
        }
        let labels = class_labels(l_nd, l_file, &t_file, p, c)?;
        let s = compute_signals(&self.outputs(&t, &t_file, None, c)?, Some(&labels));
        *saturated += s.saturated;
        let target_phi = s.phi;
        phi_within_bound(&target_phi, |i, v| {
            bad(&t_file, format!("index [{i}, :]: expected outputs giving {}, found φ = {v:e}", phi_expected()))
        })?;
        let mut reference_phi = Array2::zeros((k, p));
        for kk in 0..k {
            let out = self.outputs(&r[kk * p * c..(kk + 1) * p * c], &r_file, Some(kk), c)?;
            let s = compute_signals(&out, Some(&labels));
            *saturated += s.saturated;
            phi_within_bound(&s.phi, |i, v| {
                bad(
                    &r_file,
                    format!("index [{kk}, {i}, :]: expected outputs giving {}, found φ = {v:e}", phi_expected()),
                )
            })?;
            reference_phi.row_mut(kk).assign(&ndarray::Array1::from(s.phi));
        }
        Ok(PopulationData { target_phi, reference_phi })
    }

    /// P × C outputs (of reference model `model`, or of the target), checked.
    fn outputs(&self, v: &[f64], file: &str, model: Option<usize>, c: usize) -> Result<ModelOutputs, DataError> {
        let (signal, tol) = (self.signal, self.tol);
        let p = v.len() / c;
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
    }
}

/// The P population labels, each a class in 0..c.
fn class_labels(l_nd: Nd, l_file: String, t_file: &str, p: usize, c: usize) -> Result<Vec<usize>, DataError> {
    let labels = ints_from(l_nd, &l_file, "a 1-D array of population class labels")?;
    if labels.len() != p {
        return Err(DataError::LengthMismatch {
            file_a: t_file.to_string(),
            len_a: p,
            file_b: l_file,
            len_b: labels.len(),
        });
    }
    labels
        .iter()
        .enumerate()
        .map(|(i, &y)| {
            usize::try_from(y)
                .ok()
                .filter(|&y| y < c)
                .ok_or_else(|| bad(&l_file, format!("index {i}: expected a class label in 0..{}, found {y}", c - 1)))
        })
        .collect()
}
