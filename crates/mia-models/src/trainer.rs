//! The user's own training recipe as a [`Learner`]: reference models only mean something
//! when they are trained the way the target was, so an audit can call the user's training
//! program instead of a built-in learner.
//!
//! For each model the tool writes the training rows — the audit's encoded features (the
//! same D columns every model of the audit sees, named as in `encoding.json`) and a last
//! column `label` with the class index — and runs the command (an argument vector, never a
//! shell; see [`crate::external`]) with these placeholders:
//!
//! | placeholder | meaning |
//! |---|---|
//! | `{train}` | the training rows: CSV with a header, or Parquet with `rows_format = "parquet"` |
//! | `{model}` | where to write the fitted model as ONNX (input: D floats; output: probabilities or logits) |
//! | `{query}` | every record's encoded features (same format, no label), for programs that predict themselves |
//! | `{predictions}` | where to write one row per `{query}` row: columns `logit_0..` or `prob_0..` |
//! | `{seed}` | a seed for the program's own randomness (differs per model) |
//! | `{classes}` | the number of classes C |
//!
//! The command must use `{model}` or `{predictions}`. Files live in one folder per fit
//! inside a private [`WorkDir`] (absolute paths), with the program's standard output and
//! error beside them, and are removed when the program ends (see [`crate::external`]):
//! what persists is only the model's outputs, which the caller keeps. The program runs in
//! the folder of the audit config, so a relative script path in the command is relative to
//! the config, like every other path in it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::external::{RunSpec, WorkDir, check_command, run_command, substitute};
use mia_data::tabular::write_encoded_csv;
use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::{Learner, Model, ModelError, ModelOutputs, TrainSet};

/// Placeholders a training command may use.
pub const TRAINER_PLACEHOLDERS: &[&str] = &["train", "model", "query", "predictions", "seed", "classes"];

fn default_timeout() -> f64 {
    3600.0
}

/// The format of the rows files the program reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowsFormat {
    /// CSV with a header row (default).
    #[default]
    Csv,
    /// Parquet: float32 feature columns, int64 `label` (needs mia-data's `parquet` feature).
    Parquet,
}

/// The `[trainer]` section of an audit config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainerSpec {
    /// The program and its arguments, with placeholders (see the module docs).
    pub command: Vec<String>,
    /// Seconds one fit may take before it is killed. Default 3600.
    #[serde(default = "default_timeout")]
    pub timeout_s: f64,
    /// `"csv"` (default) or `"parquet"` for `{train}` and `{query}`.
    #[serde(default)]
    pub rows_format: RowsFormat,
}

impl TrainerSpec {
    /// Checks the command's placeholders and the timeout.
    pub fn check(&self) -> Result<(), ModelError> {
        check_command(&self.command, TRAINER_PLACEHOLDERS, &["train"])
            .map_err(|e| ModelError::Param { param: "trainer.command", message: e.to_string() })?;
        if !self.uses("model") && !self.uses("predictions") {
            return Err(ModelError::Param {
                param: "trainer.command",
                message: "expected {model} (an ONNX file the program writes) or {predictions} (a CSV of its \
                          outputs for {query}) in some argument"
                    .into(),
            });
        }
        if self.uses("predictions") && !self.uses("query") {
            return Err(ModelError::Param {
                param: "trainer.command",
                message: "{predictions} needs {query}: the rows to predict".into(),
            });
        }
        if !(self.timeout_s.is_finite() && self.timeout_s > 0.0) {
            return Err(ModelError::Setting {
                key: "trainer.timeout_s",
                value: self.timeout_s.to_string(),
                expected: "a positive number of seconds",
            });
        }
        Ok(())
    }

    fn uses(&self, name: &str) -> bool {
        let p = format!("{{{name}}}");
        self.command.iter().any(|a| a.contains(&p))
    }
}

/// A [`Learner`] that runs the user's training command.
pub struct CommandTrainer {
    spec: TrainerSpec,
    work: WorkDir,
    cwd: Option<PathBuf>,
    feature_names: Vec<String>,
}

impl CommandTrainer {
    /// `feature_names` name the D encoded columns; each fit's files go in a folder of `work`.
    pub fn new(spec: TrainerSpec, work: WorkDir, feature_names: Vec<String>) -> Result<Self, ModelError> {
        spec.check()?;
        Ok(CommandTrainer { spec, work, cwd: None, feature_names })
    }

    /// Runs the program in `dir` (the audit config's folder).
    pub fn with_cwd(mut self, dir: &Path) -> Self {
        self.cwd = Some(dir.to_path_buf());
        self
    }
}

impl CommandTrainer {
    fn write_rows(&self, x: ArrayView2<'_, f32>, labels: Option<&[usize]>, path: &Path) -> Result<(), ModelError> {
        match self.spec.rows_format {
            RowsFormat::Csv => write_encoded_csv(x, &self.feature_names, labels, path).map_err(|e| io(path, e)),
            #[cfg(feature = "parquet")]
            RowsFormat::Parquet => {
                mia_data::tabular::write_encoded_parquet(x, &self.feature_names, labels, path).map_err(|e| io(path, e))
            }
            #[cfg(not(feature = "parquet"))]
            RowsFormat::Parquet => Err(ModelError::Param {
                param: "trainer.rows_format",
                message: "this build has no Parquet support (cargo feature `parquet`)".into(),
            }),
        }
    }
}

fn io(path: &Path, e: impl std::fmt::Display) -> ModelError {
    ModelError::Data(format!("{}: {e}", path.display()))
}

impl Learner for CommandTrainer {
    fn fit(&self, data: &TrainSet<'_>, seed: u64) -> Result<Box<dyn Model>, ModelError> {
        // Removed when this function returns, whatever the outcome.
        let job = self.work.job(&format!("model-{seed:016x}")).map_err(|e| ModelError::Data(e.to_string()))?;
        let dir = job.path();
        let ext = match self.spec.rows_format {
            RowsFormat::Csv => "csv",
            RowsFormat::Parquet => "parquet",
        };
        let train = dir.join(format!("train.{ext}"));
        let x_train = data.x.select(ndarray::Axis(0), data.rows);
        let y_train: Vec<usize> = data.rows.iter().map(|&r| data.y[r]).collect();
        self.write_rows(x_train.view(), Some(&y_train), &train)?;
        let (model, query, predictions) =
            (dir.join("model.onnx"), dir.join(format!("query.{ext}")), dir.join("predictions.csv"));
        let mut outputs = Vec::new();
        if self.spec.uses("query") {
            self.write_rows(data.x, None, &query)?;
        }
        if self.spec.uses("model") {
            outputs.push(model.clone());
        }
        if self.spec.uses("predictions") {
            outputs.push(predictions.clone());
        }
        let (seed_s, classes_s) = (PathBuf::from(seed.to_string()), PathBuf::from(data.n_classes.to_string()));
        let argv = substitute(
            &self.spec.command,
            &[
                ("train", &train),
                ("model", &model),
                ("query", &query),
                ("predictions", &predictions),
                ("seed", &seed_s),
                ("classes", &classes_s),
            ],
        );
        run_command(&RunSpec {
            argv: &argv,
            cwd: self.cwd.as_deref(),
            job: &job,
            timeout: Duration::from_secs_f64(self.spec.timeout_s),
            outputs: &outputs,
        })
        .map_err(|e| ModelError::Data(format!("training command: {e}")))?;
        // A message naming the program's output says whether that file is still there.
        let noted = |e: ModelError| match e {
            ModelError::Data(m) => ModelError::Data(format!("{m}{}", job.file_note())),
            ModelError::Onnx { path, message } => {
                ModelError::Onnx { path, message: format!("{message}{}", job.file_note()) }
            }
            e => e,
        };
        if self.spec.uses("predictions") {
            let out = read_predictions(&predictions, data.x.nrows(), data.n_classes).map_err(noted)?;
            return Ok(Box::new(Predictions { outputs: out, rows: data.x.nrows(), file: predictions }));
        }
        load_model(&model, data.x.ncols()).map_err(noted)
    }
}

#[cfg(feature = "onnx")]
fn load_model(path: &Path, width: usize) -> Result<Box<dyn Model>, ModelError> {
    let m = crate::onnx::OnnxModel::load(path)?;
    m.check_width(width)?;
    Ok(Box::new(m))
}

#[cfg(not(feature = "onnx"))]
fn load_model(path: &Path, _width: usize) -> Result<Box<dyn Model>, ModelError> {
    Err(ModelError::Onnx {
        path: path.display().to_string(),
        message: "this build has no ONNX support (cargo feature `onnx`); use {predictions} instead".into(),
    })
}

/// Outputs a training program computed itself, for exactly the rows it was given.
struct Predictions {
    outputs: ModelOutputs,
    rows: usize,
    file: PathBuf,
}

impl Model for Predictions {
    fn outputs(&self, x: ArrayView2<'_, f32>) -> Result<ModelOutputs, ModelError> {
        if x.nrows() != self.rows {
            return Err(ModelError::Data(format!(
                "{}: holds predictions for {} rows, asked for {}",
                self.file.display(),
                self.rows,
                x.nrows()
            )));
        }
        Ok(self.outputs.clone())
    }
}

/// Largest |sum − 1| of a row of predicted probabilities (as for any model's probabilities).
const PROB_SUM_TOLERANCE: f64 = 1e-4;

/// Reads a predictions CSV: a header naming `logit_0..logit_{C-1}` or `prob_0..prob_{C-1}`
/// (other columns ignored) and one row per query row. Every problem names the file, and a
/// bad row its row (1-based, header not counted) and column.
fn read_predictions(path: &Path, rows: usize, classes: usize) -> Result<ModelOutputs, ModelError> {
    use mia_data::lines::{LineLimit, LineTooLong};
    let file = path.display().to_string();
    let bad = |m: String| ModelError::Data(format!("{file}: {m}"));
    let csv_err = |at: String, e: csv::Error| match LineTooLong::of_csv(&e) {
        Some(long) => bad(long.to_string()),
        None => bad(format!("{at}{}", e.to_string().replace('\n', " "))),
    };
    let f = std::fs::File::open(path).map_err(|e| bad(format!("cannot read: {e}")))?;
    let mut r = csv::ReaderBuilder::new().from_reader(LineLimit::new(std::io::BufReader::new(f)));
    let header = r.headers().map_err(|e| csv_err(String::new(), e))?.clone();
    let find = |prefix: &str| -> Option<Vec<usize>> {
        (0..classes).map(|k| header.iter().position(|h| h.trim() == format!("{prefix}{k}"))).collect()
    };
    let (cols, logits) = match (find("logit_"), find("prob_")) {
        (Some(c), _) => (c, true),
        (None, Some(c)) => (c, false),
        _ => {
            return Err(bad(format!(
                "expected columns logit_0..logit_{m} or prob_0..prob_{m}, found {}",
                header.iter().collect::<Vec<_>>().join(","),
                m = classes - 1
            )));
        }
    };
    let mut out = Array2::<f64>::zeros((rows, classes));
    let mut n = 0usize;
    for (i, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| csv_err(format!("row {}: ", i + 1), e))?;
        if i >= rows {
            return Err(bad(format!("expected {rows} rows (one per query row), found more")));
        }
        for (k, &c) in cols.iter().enumerate() {
            let cell = rec.get(c).unwrap_or("").trim();
            let v: f64 =
                cell.parse().ok().filter(|v: &f64| v.is_finite() && (logits || *v >= 0.0)).ok_or_else(|| {
                    bad(format!(
                        "row {}, column {}: expected a finite {}, found {cell:?}",
                        i + 1,
                        &header[c],
                        if logits { "number" } else { "probability" }
                    ))
                })?;
            out[[i, k]] = v;
        }
        let sum: f64 = out.row(i).sum();
        if !logits && (sum - 1.0).abs() > PROB_SUM_TOLERANCE {
            return Err(bad(format!(
                "row {}, columns {}..{}: expected probabilities summing to 1 (within {PROB_SUM_TOLERANCE:e}), found \
                 sum {sum}",
                i + 1,
                cols.first().map_or("", |&c| &header[c]),
                cols.last().map_or("", |&c| &header[c])
            )));
        }
        n += 1;
    }
    if n != rows {
        return Err(bad(format!("expected {rows} rows (one per query row), found {n}")));
    }
    Ok(if logits { ModelOutputs::Logits(out) } else { ModelOutputs::Probabilities(out) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(cmd: &[&str]) -> TrainerSpec {
        TrainerSpec {
            command: cmd.iter().map(|s| s.to_string()).collect(),
            timeout_s: 60.0,
            rows_format: RowsFormat::Csv,
        }
    }

    #[test]
    fn commands_need_an_output() {
        assert!(spec(&["python", "t.py", "{train}", "{model}"]).check().is_ok());
        assert!(spec(&["python", "t.py", "{train}", "{query}", "{predictions}"]).check().is_ok());
        let e = spec(&["python", "t.py", "{train}"]).check().unwrap_err().to_string();
        assert!(e.contains("{model}") && e.contains("{predictions}"), "{e}");
        let e = spec(&["python", "t.py", "{train}", "{predictions}"]).check().unwrap_err().to_string();
        assert!(e.contains("{query}"), "{e}");
        let e = spec(&["python", "{model}"]).check().unwrap_err().to_string();
        assert!(e.contains("{train}"), "{e}");
    }

    /// A "training program" in sh that ignores its rows and writes fixed probabilities:
    /// exercises the files, the placeholders and the predictions reader.
    #[cfg(unix)]
    #[test]
    fn a_predicting_command_gives_its_outputs_and_failures_are_named() {
        let work = || WorkDir::new(false).unwrap();
        let x = ndarray::array![[0.0f32, 1.0], [2.0, 3.0], [4.0, 5.0]];
        let y = [0usize, 1, 1];
        let data = TrainSet { x: x.view(), y: &y, n_classes: 2, rows: &[0, 2] };
        let names = vec!["a".to_string(), "b".to_string()];
        let script = "test $(wc -l < \"$1\") = 3 && test $(wc -l < \"$2\") = 4 && \
                      printf 'prob_0,prob_1\\n0.25,0.75\\n1,0\\n0.5,0.5\\n' > \"$3\"";
        let predicting = spec(&["sh", "-c", script, "sh", "{train}", "{query}", "{predictions}"]);
        let t = CommandTrainer::new(predicting.clone(), work(), names.clone()).unwrap();
        let m = t.fit(&data, 9).unwrap();
        match m.outputs(x.view()).unwrap() {
            ModelOutputs::Probabilities(p) => assert_eq!(p, ndarray::array![[0.25, 0.75], [1.0, 0.0], [0.5, 0.5]]),
            o => panic!("{o:?}"),
        }
        // The fit's files went with it: no copy of the training rows is left.
        assert_eq!(std::fs::read_dir(t.work.path()).unwrap().count(), 0);

        // Kept for debugging: the training file, header, then the two training rows with their labels.
        let t = CommandTrainer::new(predicting, WorkDir::new(true).unwrap(), names.clone()).unwrap();
        t.fit(&data, 9).unwrap();
        let jobs: Vec<PathBuf> = std::fs::read_dir(t.work.path()).unwrap().map(|e| e.unwrap().path()).collect();
        assert_eq!(jobs.len(), 1);
        assert!(jobs[0].file_name().unwrap().to_string_lossy().starts_with(&format!("model-{:016x}-", 9)));
        let train = std::fs::read_to_string(jobs[0].join("train.csv")).unwrap();
        assert_eq!(train, "a,b,label\n0,1,0\n4,5,1\n");
        std::fs::remove_dir_all(t.work.path()).unwrap();

        let t = CommandTrainer::new(
            spec(&["sh", "-c", "echo 'no GPU found' >&2; exit 7", "sh", "{train}", "{model}"]),
            work(),
            names.clone(),
        )
        .unwrap();
        let e = t.fit(&data, 1).err().unwrap().to_string();
        assert!(e.contains("exit code 7") && e.contains("no GPU found"), "{e}");

        let t = CommandTrainer::new(
            spec(&[
                "sh",
                "-c",
                "printf 'prob_0,prob_1\\n0.5,x\\n' > \"$3\"",
                "sh",
                "{train}",
                "{query}",
                "{predictions}",
            ]),
            work(),
            names,
        )
        .unwrap();
        let e = t.fit(&data, 2).err().unwrap().to_string();
        assert!(e.contains("predictions.csv: row 1, column prob_1: expected a finite probability"), "{e}");

        // Parquet rows: the program sees Parquet files (magic bytes at both ends).
        #[cfg(feature = "parquet")]
        {
            let check = "for f in \"$1\" \"$2\"; do test \"$(head -c 4 \"$f\")\" = PAR1 && \
                         test \"$(tail -c 4 \"$f\")\" = PAR1 || exit 9; done; \
                         printf 'logit_0,logit_1\\n0,1\\n0,2\\n0,3\\n' > \"$3\"";
            let mut sp = spec(&["sh", "-c", check, "sh", "{train}", "{query}", "{predictions}"]);
            sp.rows_format = RowsFormat::Parquet;
            let t = CommandTrainer::new(sp, work(), vec!["a".into(), "b".into()]).unwrap();
            match t.fit(&data, 3).unwrap().outputs(x.view()).unwrap() {
                ModelOutputs::Logits(l) => assert_eq!(l.column(1).to_vec(), vec![1.0, 2.0, 3.0]),
                o => panic!("{o:?}"),
            }
        }
    }
}
