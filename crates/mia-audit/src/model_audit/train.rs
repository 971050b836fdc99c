//! Step 2 of a model audit: the plan's models, each from the artifact store or fitted now
//! and stored as it finishes, in parallel and placed by model index (so nothing depends on
//! the thread count or on what an interrupted run had finished). A given ONNX target is
//! run, not trained, and only when its outputs are needed.

use super::attack::{TargetStage, target_stage};
use super::prepare::Prepared;
use super::{ModelTask, Selection};
use crate::{AuditError, Control, Progress};
use mia_core::signals::ModelOutputs;
use mia_models::TrainSet;
use ndarray::Array2;
use rayon::prelude::*;

/// Every model's logits on every table row (model 0 the target), and the target's own
/// stage, which ran beside the reference models' training.
pub(crate) struct Trained {
    pub outputs: Vec<Array2<f64>>,
    pub target: TargetStage,
}

impl Prepared<'_> {
    /// The stored outputs of the selected models (`None` for the others and the missing):
    /// a shard has no use for the other shards' outputs.
    fn stored(&self, selection: Selection) -> Vec<Option<Array2<f64>>> {
        self.models
            .iter()
            .enumerate()
            .map(|(m, spec)| if selection.contains(m) { self.store.load(&spec.key, self.shape) } else { None })
            .collect()
    }

    /// A given target's outputs on every row; it is run once, and only when `needed`.
    fn run_target(&self, needed: bool, ctl: &Control<'_>) -> Result<Option<ModelOutputs>, AuditError> {
        match &self.target {
            Some(t) if needed => {
                let outputs = t.model().outputs(self.x.view());
                self.report_queries(ctl);
                Ok(Some(outputs.map_err(|e| AuditError::Input(format!("model 0 (target): {e}")))?))
            }
            _ => Ok(None),
        }
    }

    /// Tells the progress callback what querying an endpoint took so far.
    fn report_queries(&self, ctl: &Control<'_>) {
        if let Some(super::prepare::TargetModel::Http(m)) = &self.target {
            ctl.report(Progress::Queried { endpoint: m.spec().url.clone(), stats: m.stats() });
        }
    }

    /// A label-only target's predicted class for every noisy copy (levels × records·copies),
    /// stored or queried now: from the given target, or from the target refitted with its own
    /// rows and seed (the fit is deterministic, so it is the model the audit trained). `None`
    /// when `label_noise` does not run; an error when `query` is false and they are not stored.
    fn noise_labels(&self, query: bool, ctl: &Control<'_>) -> Result<Option<Array2<f64>>, AuditError> {
        let Some((noise, key)) = &self.noise else { return Ok(None) };
        let shape = (noise.config.levels.len(), noise.rows.len() * noise.config.copies);
        if let Some(a) = self.store.load(key, shape) {
            return Ok(Some(a));
        }
        if !query {
            return Err(AuditError::Input(format!(
                "merge: the target's answers to the label-noise copies are not in {} (run the shard of model 0)",
                self.store.dir().display()
            )));
        }
        ctl.check()?;
        let failed = |e: String| AuditError::Input(format!("model 0 (target), label-noise copies: {e}"));
        let refitted;
        let model: &dyn mia_models::Model = match (&self.target, &self.learner) {
            (Some(t), _) => t.model(),
            (None, Some(l)) => {
                let spec = &self.models[0];
                let data =
                    TrainSet { x: self.x.view(), y: &self.table.labels, n_classes: self.shape.1, rows: &spec.rows };
                refitted = l.fit(&data, spec.seed).map_err(|e| failed(e.to_string()))?;
                refitted.as_ref()
            }
            (None, None) => unreachable!("validated: a learner or trainer trains a target the tool trains"),
        };
        // Chunks of records, so the copies in memory stay small whatever the copy count.
        let per_chunk = (65_536 / noise.config.copies).max(1);
        let mut out = Array2::zeros(shape);
        for level in 0..shape.0 {
            for start in (0..noise.rows.len()).step_by(per_chunk) {
                ctl.check()?;
                let records = start..(start + per_chunk).min(noise.rows.len());
                let copies = noise.copies(self.x.view(), level, records.clone());
                let outputs = model.outputs(copies.view()).map_err(|e| failed(e.to_string()))?;
                let logits = as_logits(outputs, (copies.nrows(), self.shape.1)).map_err(failed)?;
                let classes = crate::label_noise::predicted(logits.view());
                let at = records.start * noise.config.copies;
                for (j, c) in classes.into_iter().enumerate() {
                    out[[level, at + j]] = c as f64;
                }
            }
        }
        self.report_queries(ctl);
        self.store
            .save(key, &out)
            .map_err(|e| AuditError::Write { path: self.store.dir().display().to_string(), source: e })?;
        Ok(Some(out))
    }

    /// Tells the progress callback how many models there are and which were already stored.
    fn announce(&self, selected: &[usize], stored: &[Option<Array2<f64>>], will_train: bool, ctl: &Control<'_>) {
        let to_train = if will_train { selected.iter().filter(|&&m| stored[m].is_none()).count() } else { 0 };
        ctl.report(Progress::Planned { total: selected.len(), to_train });
        for &m in selected {
            if stored[m].is_some() {
                ctl.report(Progress::ModelDone { index: m, trained: false });
            }
        }
    }

    /// Model `m`'s logits on every row: `stored`, or fitted (or, for a given target, taken
    /// from `target_raw`) and stored now.
    fn obtain(
        &self,
        m: usize,
        stored: Option<Array2<f64>>,
        target_raw: Option<&ModelOutputs>,
        ctl: &Control<'_>,
    ) -> Result<Array2<f64>, AuditError> {
        if let Some(a) = stored {
            return Ok(a);
        }
        // A stopped run starts no more models; those that finished are stored.
        ctl.check()?;
        let spec = &self.models[m];
        let failed = |e: String| AuditError::Input(format!("model {m} ({}): {e}", Prepared::role(m)));
        let outputs = match (&self.target, &self.learner) {
            (Some(_), _) if m == 0 => Ok(target_raw.cloned().expect("a given target's outputs")),
            (_, Some(l)) => {
                let data =
                    TrainSet { x: self.x.view(), y: &self.table.labels, n_classes: self.shape.1, rows: &spec.rows };
                l.fit(&data, spec.seed).and_then(|model| model.outputs(self.x.view()))
            }
            _ => unreachable!("validated: a learner or trainer trains every model but a given target"),
        }
        .map_err(|e| failed(e.to_string()))?;
        let logits = as_logits(outputs, self.shape).map_err(failed)?;
        self.store
            .save(&spec.key, &logits)
            .map_err(|e| AuditError::Write { path: self.store.dir().display().to_string(), source: e })?;
        ctl.report(Progress::ModelDone { index: m, trained: true });
        Ok(logits)
    }

    fn task(&self, m: usize, trained: bool, stored: bool) -> ModelTask {
        let spec = &self.models[m];
        ModelTask {
            index: m,
            role: Prepared::role(m),
            seed: spec.seed,
            training_rows: spec.rows.len(),
            key: spec.key.clone(),
            stored,
            trained,
            setting: None,
        }
    }
}

/// The selected models, training the missing ones if `train` (`mia run --shard`), or only
/// listing them (`mia plan`).
pub(crate) fn train(
    prep: &Prepared<'_>,
    selection: Selection,
    train: bool,
    ctl: &Control<'_>,
) -> Result<Vec<ModelTask>, AuditError> {
    let stored = prep.stored(selection);
    let selected: Vec<usize> = (0..prep.models.len()).filter(|&m| selection.contains(m)).collect();
    // A shard without model 0 (or with it stored) and a plan listing never run a given target.
    let target_raw = prep.run_target(train && selection.contains(0) && stored[0].is_none(), ctl)?;
    prep.announce(&selected, &stored, train, ctl);
    let trained: Vec<Result<bool, AuditError>> = selected
        .par_iter()
        .map(|&m| match (&stored[m], train) {
            (None, true) => prep.obtain(m, None, target_raw.as_ref(), ctl).map(|_| true),
            _ => Ok(false),
        })
        .collect();
    let mut tasks = Vec::with_capacity(selected.len());
    for (&m, t) in selected.iter().zip(trained) {
        let trained = t?;
        tasks.push(prep.task(m, trained, trained || stored[m].is_some()));
    }
    if train && selection.contains(0) {
        prep.noise_labels(true, ctl)?;
    }
    Ok(tasks)
}

/// Every model of the plan, for the report: the missing ones are trained, or
/// (`require_stored`, a merge) named in the error. The target's own stage runs beside the
/// reference models' training and fills the cores their last fits leave idle; every task
/// is deterministic on its own, so the result does not depend on how they interleave.
pub(crate) fn all_models(prep: &Prepared<'_>, require_stored: bool, ctl: &Control<'_>) -> Result<Trained, AuditError> {
    let mut stored = prep.stored(Selection::All);
    if require_stored {
        missing_models(prep, &stored)?;
    }
    let target_raw = prep.run_target(true, ctl)?;
    let all: Vec<usize> = (0..prep.models.len()).collect();
    prep.announce(&all, &stored, true, ctl);
    let target_stored = stored.remove(0);
    let (references, target) = rayon::join(
        || -> Vec<Result<Array2<f64>, AuditError>> {
            stored.into_par_iter().enumerate().map(|(i, s)| prep.obtain(i + 1, s, target_raw.as_ref(), ctl)).collect()
        },
        || -> Result<TargetStage, AuditError> {
            let logits = prep.obtain(0, target_stored, target_raw.as_ref(), ctl)?;
            ctl.check()?;
            let noise = prep.noise_labels(!require_stored, ctl)?;
            target_stage(prep, logits, target_raw.as_ref(), noise.as_ref())
        },
    );
    let mut target = target?;
    let mut outputs = vec![std::mem::take(&mut target.logits)];
    for r in references {
        outputs.push(r?);
    }
    Ok(Trained { outputs, target })
}

/// The error a merge gives when shards have not stored every model.
fn missing_models(prep: &Prepared<'_>, stored: &[Option<Array2<f64>>]) -> Result<(), AuditError> {
    let missing: Vec<String> = (0..stored.len()).filter(|&m| stored[m].is_none()).map(|m| m.to_string()).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let dir = prep.store.dir().display();
    Err(AuditError::Input(format!(
        "merge: {} of {} models are not in {dir}: model {} (train them with `mia run CONFIG --shard I/N \
         --artifacts {dir}`; model m belongs to shard m % N)",
        missing.len(),
        stored.len(),
        missing.join(", "),
    )))
}

/// A model's outputs as the N × C logits the store keeps: logits as they are; probabilities
/// (checked: finite, non-negative, rows summing to 1 within 1e-4) as their logarithms, a
/// zero probability as the logarithm of the smallest positive f64 (softmax of the result
/// gives the probabilities back).
fn as_logits(outputs: ModelOutputs, shape: (usize, usize)) -> Result<Array2<f64>, String> {
    let (a, probs) = match outputs {
        ModelOutputs::Logits(a) => (a, false),
        ModelOutputs::Probabilities(p) => (p, true),
        ModelOutputs::Loss(_) => return Err("the model gave losses, not class outputs".into()),
    };
    if a.dim() != shape {
        return Err(format!("outputs of shape {:?}, expected {shape:?} (rows, classes)", a.dim()));
    }
    if let Some(((i, j), v)) = a.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(format!("row {}, class {j}: non-finite output {v}; try a smaller learning rate", i + 1));
    }
    if !probs {
        return Ok(a);
    }
    for (i, row) in a.rows().into_iter().enumerate() {
        let sum: f64 = row.sum();
        if row.iter().any(|&p| p < 0.0) || (sum - 1.0).abs() > 1e-4 {
            return Err(format!("row {}: probabilities summing to {sum} (expected 1 within 1e-4)", i + 1));
        }
    }
    Ok(a.mapv(|p| p.max(f64::MIN_POSITIVE).ln()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Logits pass through; probabilities become their logarithms (softmax gives them back,
    /// a zero becomes the smallest positive f64's logarithm); anything else is an error
    /// naming the row.
    #[test]
    fn outputs_become_the_stored_logits() {
        let logits = ndarray::array![[1.0, -2.0], [0.5, 0.25]];
        assert_eq!(as_logits(ModelOutputs::Logits(logits.clone()), (2, 2)).unwrap(), logits);
        let probs = ndarray::array![[0.25, 0.75], [1.0, 0.0]];
        let l = as_logits(ModelOutputs::Probabilities(probs.clone()), (2, 2)).unwrap();
        for (row, p) in l.rows().into_iter().zip(probs.rows()) {
            let z: f64 = row.iter().map(|x| x.exp()).sum();
            for (x, q) in row.iter().zip(p) {
                assert!((x.exp() / z - q).abs() < 1e-15, "{x} {q}");
            }
        }
        assert_eq!(l[[1, 1]], f64::MIN_POSITIVE.ln());
        let err = |o: ModelOutputs| as_logits(o, (2, 2)).unwrap_err();
        assert!(err(ModelOutputs::Logits(ndarray::array![[1.0, 2.0]])).contains("expected (2, 2)"));
        assert!(err(ModelOutputs::Logits(ndarray::array![[1.0, 2.0], [f64::NAN, 0.0]])).contains("row 2, class 0"));
        let e = err(ModelOutputs::Probabilities(ndarray::array![[0.5, 0.5], [0.7, 0.7]]));
        assert!(e.contains("row 2") && e.contains("1.4"), "{e}");
        assert!(err(ModelOutputs::Loss(vec![0.1, 0.2])).contains("losses"));
    }
}
