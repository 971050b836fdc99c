//! Where an audit's numbers came from: the files read, fingerprinted, and the rows skipped.
//! One definition for the readers that fill them (mia-data) and the report that records them
//! (mia-report).

use serde::Serialize;

/// A file that was read, fingerprinted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputFile {
    /// The path as given.
    pub path: String,
    /// Lower-case hex SHA-256 of the file's bytes (compressed bytes for `.csv.gz`).
    pub sha256: String,
    /// Size of the file in bytes.
    pub bytes: u64,
}

/// How many rows were skipped for one reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkipCount {
    pub reason: String,
    pub count: usize,
}
