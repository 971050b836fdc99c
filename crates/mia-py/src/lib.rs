//! `mia_audit._native`: the Python package's bridge to the `mia-audit` library. It owns the
//! conversions (numpy arrays read in place, options as JSON, configs as TOML or a dict) and
//! the error mapping, and nothing else: every audit runs through the same `mia-audit` calls
//! as the `mia` command, so a report from Python is the report the command writes.
//!
//! Heavy work runs on a worker thread with the GIL released, while the calling thread polls
//! for signals: Ctrl-C cancels the run ([`mia_audit::Cancel`], honoured between steps and
//! models) and surfaces as `KeyboardInterrupt`. A panic in the library becomes a Python
//! `RuntimeError`, never a Rust panic unwinding into the interpreter.

mod arrays;
mod options;

use std::path::PathBuf;
use std::time::Duration;

use mia_audit::{AuditError, AuditOutput, Cancel, Control, ModelAudit, Progress, RunSettings, SynthAudit};
use numpy::{PyArray1, PyArray2};
use pyo3::exceptions::{PyKeyboardInterrupt, PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;

pyo3::create_exception!(
    _native,
    InputError,
    PyValueError,
    "Bad input or options: the one-line message names the file (or array), row and column, and what was expected."
);

/// A finished audit: the report value and the per-record scores behind it.
#[pyclass(name = "NativeReport", module = "mia_audit._native")]
struct NativeReport {
    out: AuditOutput,
}

#[pymethods]
impl NativeReport {
    /// `report.json` exactly as the command writes it.
    fn json_text(&self) -> PyResult<String> {
        let mut s =
            serde_json::to_string_pretty(&self.out.report).map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
        s.push('\n');
        Ok(s)
    }

    /// `records.csv` exactly as the command writes it.
    fn records_csv(&self) -> PyResult<String> {
        let mut buf = Vec::new();
        mia_report::records::write_records_csv(&mut buf, &self.out.records())
            .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
        String::from_utf8(buf).map_err(|e| PyRuntimeError::new_err(e.to_string()))
    }

    /// `report.html` (self-contained) exactly as the command writes it.
    fn html(&self) -> String {
        self.out.html()
    }

    /// Writes the report files into `dir` as the command does (replacing the previous set).
    fn save(&self, py: Python<'_>, dir: PathBuf) -> PyResult<()> {
        let out = &self.out;
        py.detach(|| out.write_report(&dir)).map_err(to_py)
    }

    /// Names an input given in memory (a DataFrame written to a private file for the run)
    /// as the caller knows it, so the report does not show a temporary path.
    fn rename_input(&mut self, path: &str, name: &str) {
        for f in self.out.report.inputs.iter_mut().filter(|f| f.path == path) {
            f.path = name.to_string();
        }
    }

    #[getter]
    fn gate_failed(&self) -> bool {
        self.out.gate_failed()
    }

    /// The gate rules that fired.
    fn failed_rules(&self) -> Vec<String> {
        self.out.report.gate.rules.iter().filter(|r| r.fired).map(|r| r.expr.clone()).collect()
    }

    fn ids(&self) -> Vec<String> {
        self.out.ids.clone()
    }

    fn member<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<bool>> {
        PyArray1::from_slice(py, &self.out.member)
    }

    fn labels<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyArray1<i64>>> {
        let labels = self.out.labels.as_ref()?;
        Some(PyArray1::from_iter(py, labels.iter().map(|&l| l as i64)))
    }

    /// Per attack, its score for every record (higher = more likely a member) and the
    /// record's rank among them (1 = most exposed; ties share the best rank), as in
    /// `records.csv`.
    #[allow(clippy::type_complexity)]
    fn scores<'py>(&self, py: Python<'py>) -> Vec<(String, Bound<'py, PyArray1<f64>>, Bound<'py, PyArray1<u64>>)> {
        self.out
            .scores
            .iter()
            .map(|(name, s)| {
                let ranks = mia_report::records::descending_ranks(s);
                (
                    name.clone(),
                    PyArray1::from_slice(py, s),
                    PyArray1::from_iter(py, ranks.into_iter().map(|r| r as u64)),
                )
            })
            .collect()
    }
}

/// Maps a library error onto the Python exception a user expects.
fn to_py(e: AuditError) -> PyErr {
    match e {
        AuditError::Data(_) | AuditError::Gate(_) | AuditError::Input(_) => InputError::new_err(e.to_string()),
        AuditError::Write { .. } => PyOSError::new_err(e.to_string()),
        AuditError::Interrupted { .. } => PyKeyboardInterrupt::new_err("the audit was interrupted"),
        other => PyRuntimeError::new_err(other.to_string()),
    }
}

/// Runs `work` on a worker thread with the GIL released; the calling thread checks for
/// signals every 20 ms and cancels the run on the first (Ctrl-C), then waits for the worker
/// to stop at its next check and raises the signal's exception.
fn interruptible<T: Send>(
    py: Python<'_>,
    cancel: &Cancel,
    work: impl FnOnce() -> Result<T, AuditError> + Send,
) -> PyResult<T> {
    let (result, signal) = py.detach(|| {
        std::thread::scope(|s| {
            let worker = s.spawn(work);
            let mut signal: Option<PyErr> = None;
            while !worker.is_finished() {
                std::thread::sleep(Duration::from_millis(20));
                if signal.is_none()
                    && let Err(e) = Python::attach(|py| py.check_signals())
                {
                    cancel.cancel();
                    signal = Some(e);
                }
            }
            (worker.join(), signal)
        })
    });
    if let Some(e) = signal {
        return Err(e);
    }
    match result {
        Ok(r) => r.map_err(to_py),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(PyRuntimeError::new_err(format!("internal error in mia-audit (please report it): {what}")))
        }
    }
}

/// Calls `callback(kind, a, b)` for each progress event: `("planned", total, to_train)`,
/// `("model", index, trained)`, `("stage", name, 0)`, `("work_kept", folder, 0)`,
/// `("queried", requests, cached)` (a target behind an endpoint: requests sent so far, batches
/// answered from the cache).
fn progress_to(callback: Option<Py<PyAny>>) -> impl Fn(Progress) + Sync {
    move |p: Progress| {
        let Some(cb) = &callback else { return };
        Python::attach(|py| {
            let r = match p {
                Progress::Planned { total, to_train } => cb.call1(py, ("planned", total, to_train)),
                Progress::ModelDone { index, trained } => cb.call1(py, ("model", index, trained)),
                Progress::Stage(name) => cb.call1(py, ("stage", name, 0)),
                Progress::WorkKept(dir) => cb.call1(py, ("work_kept", dir.display().to_string(), 0)),
                Progress::Queried { stats, .. } => cb.call1(py, ("queried", stats.requests, stats.cached)),
            };
            // A failing progress callback must not fail the audit: say so and go on.
            if let Err(e) = r {
                e.print(py);
            }
        });
    }
}

/// A score audit of arrays in memory (see `mia_audit.score`).
#[pyfunction]
#[pyo3(signature = (member, outputs_kind, outputs, labels=None, ids=None, options_json="{}", reference=None, features=None))]
#[allow(clippy::too_many_arguments)]
fn score(
    py: Python<'_>,
    member: &Bound<'_, PyAny>,
    outputs_kind: &str,
    outputs: &Bound<'_, PyAny>,
    labels: Option<&Bound<'_, PyAny>>,
    ids: Option<&Bound<'_, PyAny>>,
    options_json: &str,
    reference: Option<&Bound<'_, pyo3::types::PyDict>>,
    features: Option<&Bound<'_, PyAny>>,
) -> PyResult<NativeReport> {
    let opts = options::ScoreOptions::parse(options_json)?;
    let features = features.map(arrays::features).transpose()?;
    let member = arrays::Ints::extract(member, "member", true)?;
    let outputs = arrays::Floats::extract(outputs, outputs_kind)?;
    let labels = labels.map(|l| arrays::Ints::extract(l, "labels", false)).transpose()?;
    let ids = ids.map(arrays::Ids::extract).transpose()?;
    let reference = reference.map(arrays::reference_arrays).transpose()?;
    let mut audit_options = opts.audit_options(reference)?;
    audit_options.features = features.map(mia_audit::score::FeatureInput::Array);
    let load = mia_data::LoadOptions {
        prob_tolerance: audit_options.prob_tolerance,
        skip_invalid_rows: opts.skip_invalid_rows,
    };
    let scores = mia_data::ScoreArrays {
        outputs: outputs.view(outputs_kind)?,
        labels: labels.as_ref().map(|l| l.view()),
        member: member.view(),
        ids: ids.as_ref().map(|i| i.view()),
    };
    let cancel = Cancel::new();
    let out = interruptible(py, &cancel, || {
        mia_audit::score::parse_gate(&audit_options.gate)?;
        let table = mia_data::load_score_arrays(&scores, &load)?;
        mia_audit::run_score_audit(table, &audit_options)
    })?;
    Ok(NativeReport { out })
}

/// A score audit of files (the path form of `mia_audit.score`: the command's inputs).
#[pyfunction]
#[pyo3(signature = (sources_json, options_json="{}"))]
fn score_files(py: Python<'_>, sources_json: &str, options_json: &str) -> PyResult<NativeReport> {
    let opts = options::ScoreOptions::parse(options_json)?;
    let (source, reference, features) = options::score_sources(sources_json)?;
    let mut audit_options = opts.audit_options(reference)?;
    audit_options.features = features.map(mia_audit::score::FeatureInput::File);
    let audit = mia_audit::ScoreAudit::new(source).options(audit_options).skip_invalid_rows(opts.skip_invalid_rows);
    let cancel = Cancel::new();
    let out = interruptible(py, &cancel, || audit.run(&Control::default().with_cancel(cancel.clone())))?;
    Ok(NativeReport { out })
}

/// A language-model audit of a JSON Lines file of texts (see `mia_audit.llm`).
#[pyfunction]
#[pyo3(signature = (path, options_json="{}"))]
fn llm(py: Python<'_>, path: PathBuf, options_json: &str) -> PyResult<NativeReport> {
    let (opts, min_k, blind) = options::LlmOptions::parse(options_json)?;
    let audit_options = mia_audit::LlmAuditOptions::from_score(opts.audit_options(None)?, min_k, blind);
    let audit = mia_audit::LlmAudit::new(path).options(audit_options).skip_invalid_rows(opts.skip_invalid_rows);
    let cancel = Cancel::new();
    let out = interruptible(py, &cancel, || audit.run(&Control::default().with_cancel(cancel.clone())))?;
    Ok(NativeReport { out })
}

/// A model audit from a config's TOML text (see `mia_audit.audit`); relative paths resolve
/// against `base_dir`.
#[pyfunction]
#[pyo3(signature = (config_toml, name, base_dir, artifacts=None, settings_json="{}", progress=None))]
fn audit(
    py: Python<'_>,
    config_toml: &str,
    name: &str,
    base_dir: PathBuf,
    artifacts: Option<PathBuf>,
    settings_json: &str,
    progress: Option<Py<PyAny>>,
) -> PyResult<NativeReport> {
    let config = mia_audit::AuditConfig::parse(config_toml, name).map_err(to_py)?;
    let settings = options::run_settings(settings_json)?;
    let mut audit = ModelAudit::new(config, base_dir).settings(settings);
    if let Some(dir) = artifacts {
        audit = audit.artifacts(dir);
    }
    let cancel = Cancel::new();
    let report = progress_to(progress);
    let out = interruptible(py, &cancel, || audit.run(&Control::new(&report).with_cancel(cancel.clone())))?;
    Ok(NativeReport { out })
}

/// A synthetic-data audit from a config's TOML text (see `mia_audit.synth`).
#[pyfunction]
#[pyo3(signature = (config_toml, name, base_dir, settings_json="{}", progress=None))]
fn synth(
    py: Python<'_>,
    config_toml: &str,
    name: &str,
    base_dir: PathBuf,
    settings_json: &str,
    progress: Option<Py<PyAny>>,
) -> PyResult<NativeReport> {
    let config = mia_audit::SynthConfig::parse(config_toml, name).map_err(to_py)?;
    let settings: RunSettings = options::run_settings(settings_json)?;
    let audit = SynthAudit::new(config, base_dir).settings(settings);
    let cancel = Cancel::new();
    let report = progress_to(progress);
    let out = interruptible(py, &cancel, || audit.run(&Control::new(&report).with_cancel(cancel.clone())))?;
    Ok(NativeReport { out })
}

/// A dict's JSON (`json.dumps`) as TOML text, so a config given as a dict goes through the
/// same parser and checks as a config file.
#[pyfunction]
fn json_to_toml(json: &str) -> PyResult<String> {
    let value: toml::Value = serde_json::from_str(json)
        .map_err(|e| InputError::new_err(format!("config dict: {}", options::json_message(&e))))?;
    toml::to_string(&value).map_err(|e| InputError::new_err(format!("config dict: {e}")))
}

/// A config file's TOML text as JSON, so Python can put DataFrames in its tables; `name`
/// labels errors.
#[pyfunction]
fn toml_to_json(text: &str, name: &str) -> PyResult<String> {
    let value: toml::Value =
        toml::from_str(text).map_err(|e| InputError::new_err(format!("{name}: {}", e.message().replace('\n', " "))))?;
    serde_json::to_string(&value).map_err(|e| InputError::new_err(format!("{name}: {e}")))
}

/// The plan of an in-process audit (`mia_audit.Auditor`): audit rows, population rows, the
/// target's membership per audit row and the K × N keep mask, drawn as `mia audit` draws them.
#[pyfunction]
#[pyo3(signature = (n_rows, reference_models, seed, target_fraction=0.5, population_fraction=0.2))]
#[allow(clippy::type_complexity)]
fn draw_plan<'py>(
    py: Python<'py>,
    n_rows: usize,
    reference_models: usize,
    seed: u64,
    target_fraction: f64,
    population_fraction: f64,
) -> PyResult<(
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<bool>>,
    Bound<'py, PyArray2<bool>>,
)> {
    if !(target_fraction > 0.0 && target_fraction < 1.0 && (0.0..1.0).contains(&population_fraction)) {
        return Err(InputError::new_err(format!(
            "target_fraction must be in (0, 1) and population_fraction in [0, 1), got {target_fraction} and \
             {population_fraction}"
        )));
    }
    let p =
        mia_audit::config::PlanConfig { target_fraction, population_fraction, reference_models, ..Default::default() };
    let plan = mia_audit::plan::draw_plan(n_rows, seed, &p, population_fraction, "X").map_err(to_py)?;
    let rows = |r: &[usize]| PyArray1::from_iter(py, r.iter().map(|&i| i as i64));
    Ok((
        rows(&plan.audit),
        rows(&plan.population),
        PyArray1::from_slice(py, &plan.target_member),
        PyArray2::from_owned_array(py, plan.keep),
    ))
}

/// The version of the library the package was built from.
#[pyfunction]
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("InputError", m.py().get_type::<InputError>())?;
    m.add_class::<NativeReport>()?;
    m.add_function(wrap_pyfunction!(score, m)?)?;
    m.add_function(wrap_pyfunction!(score_files, m)?)?;
    m.add_function(wrap_pyfunction!(llm, m)?)?;
    m.add_function(wrap_pyfunction!(audit, m)?)?;
    m.add_function(wrap_pyfunction!(synth, m)?)?;
    m.add_function(wrap_pyfunction!(json_to_toml, m)?)?;
    m.add_function(wrap_pyfunction!(toml_to_json, m)?)?;
    m.add_function(wrap_pyfunction!(draw_plan, m)?)?;
    m.add_function(wrap_pyfunction!(version, m)?)?;
    Ok(())
}
