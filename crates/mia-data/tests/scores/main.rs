//! Tests of `mia_data::load_scores`: every rule of the score-file readers, on small files
//! written to temporary directories.

mod csv_tables;
mod fixtures;
mod fuzz;
mod npy_arrays;
#[cfg(feature = "parquet")]
mod parquet_tables;

use std::path::{Path, PathBuf};

use mia_data::{DataError, LoadOptions, ScoreColumns, ScoreSource, ScoreTable, load_scores};

/// Writes `bytes` to `dir/name`.
pub fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

pub fn table(path: &Path) -> ScoreSource {
    ScoreSource::Table { path: path.to_path_buf(), columns: ScoreColumns::default() }
}

pub fn strict() -> LoadOptions {
    LoadOptions::default()
}

pub fn lenient() -> LoadOptions {
    LoadOptions { skip_invalid_rows: true, ..LoadOptions::default() }
}

/// Loads and checks that any error renders as one non-empty line naming the file.
pub fn load(src: &ScoreSource, opts: &LoadOptions) -> Result<ScoreTable, DataError> {
    let r = load_scores(src, opts);
    if let Err(e) = &r {
        assert_one_line(e);
    }
    r
}

pub fn assert_one_line(e: &DataError) {
    let s = e.to_string();
    assert!(!s.trim().is_empty(), "empty message: {e:?}");
    assert!(!s.contains('\n') && !s.contains('\r'), "multi-line message: {s:?}");
}

/// Writes a CSV into a fresh temp dir, loads it strictly, returns the error message with
/// the temp dir stripped (so messages start with the file name).
pub fn csv_err(name: &str, content: &str) -> String {
    csv_err_with(name, content, &strict())
}

pub fn csv_err_with(name: &str, content: &str, opts: &LoadOptions) -> String {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), name, content);
    match load(&table(&p), opts) {
        Ok(t) => panic!("expected an error for {content:?}, got {} rows", t.len()),
        Err(e) => strip(&e.to_string(), dir.path()),
    }
}

pub fn csv_ok(content: &str) -> ScoreTable {
    csv_ok_with(content, &strict())
}

pub fn csv_ok_with(content: &str, opts: &LoadOptions) -> ScoreTable {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "s.csv", content);
    match load(&table(&p), opts) {
        Ok(t) => t,
        Err(e) => panic!("unexpected error: {e}"),
    }
}

/// Removes `dir/` from a message.
pub fn strip(msg: &str, dir: &Path) -> String {
    msg.replace(&format!("{}/", dir.display()), "")
}
