//! Shared by the end-to-end tests that run the built `mia` binary from the repository root.
#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (bundled data, examples, fixtures, schema).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `mia` with `args` in the repository root.
pub fn mia(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mia")).args(args).current_dir(root()).output().unwrap()
}

/// The `[data]` column keys of the bundled Adult CSV (no header row), for test configs.
pub const ADULT_COLUMNS: &str = r#"names = ["age", "workclass", "fnlwgt", "education", "education-num", "marital-status",
         "occupation", "relationship", "race", "sex", "capital-gain", "capital-loss",
         "hours-per-week", "native-country", "income"]
label = "income"
numeric = ["age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"]
categorical = "rest""#;

/// A generated-mode config on a seeded subsample of Adult with the given generator;
/// `extra` is added to `[eval]`, then `sections`.
pub fn generated_config(dir: &Path, generator: &str, max_rows: usize, extra: &str, sections: &str) -> PathBuf {
    let text = format!(
        r#"seed = 11

[data]
path = "{}"
format = "csv"
header = false
{ADULT_COLUMNS}

[generator]
{generator}

[split]
max_rows = {max_rows}

[eval]
bootstrap = 200
fpr = [0.01, 0.1]
{extra}
{sections}
"#,
        root().join("data/adult/adult.data.gz").display()
    );
    let path = dir.join("synth.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `dir/audit.toml`: an audit of Location-30 (the bundled file, 0/1 features used raw) with
/// `seed`, then `sections` as written (`[plan]`, `[learner]`, ...).
pub fn location_config(dir: &Path, seed: u64, sections: &str) -> PathBuf {
    let text = format!(
        "seed = {seed}\n\n[data]\npath = \"{}\"\nheader = false\nlabel = \"0\"\nnumeric = \"rest\"\nstandardize = false\n\n{sections}",
        root().join("data/location/bangkok.csv.gz").display()
    );
    let path = dir.join("audit.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The first `n` rows of the bundled Location-30 file (no header; label, then 446 0/1 features).
pub fn location_head(n: usize) -> Vec<String> {
    let gz = std::fs::File::open(root().join("data/location/bangkok.csv.gz")).unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(gz), &mut text).unwrap();
    text.lines().take(n).map(String::from).collect()
}

/// `dir/NAME.toml`: a model audit of `rows` (Location-30 rows) with a member column appended
/// from `member` (`plan.target = "member_column"`), `reference_models` logistic references.
pub fn member_column_config(
    dir: &Path,
    name: &str,
    rows: &[String],
    member: &[bool],
    reference_models: usize,
) -> PathBuf {
    let flagged: Vec<String> = rows.iter().zip(member).map(|(l, &m)| format!("{l},{}", u8::from(m))).collect();
    let data = dir.join(format!("{name}.csv"));
    std::fs::write(&data, flagged.join("\n") + "\n").unwrap();
    let cfg = dir.join(format!("{name}.toml"));
    std::fs::write(
        &cfg,
        format!(
            "seed = 1\n[data]\npath = \"{}\"\nheader = false\nlabel = \"0\"\nmember = \"447\"\nnumeric = \"rest\"\n\
             standardize = false\n[plan]\ntarget = \"member_column\"\npopulation_fraction = 0.2\n\
             reference_models = {reference_models}\n[learner]\nkind = \"logistic\"\n[eval]\nbootstrap = 100\n",
            data.display()
        ),
    )
    .unwrap();
    cfg
}

/// A path as a command-line argument.
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The one error line of a run that must exit 2.
pub fn error_line(o: &Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(2), "exit {:?}; stderr: {err}", o.status.code());
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err:?}");
    assert!(err.starts_with("error: ") && !err.contains("panicked"), "{err}");
    err.trim_end().to_string()
}

/// The `report.json` written into `dir`.
pub fn report(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap()
}

/// Asserts that `doc` validates against the committed `schema/report.schema.json`.
pub fn validate(doc: &Value) {
    let schema: Value =
        serde_json::from_slice(&std::fs::read(root().join("schema/report.schema.json")).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(doc).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:#?}");
}
