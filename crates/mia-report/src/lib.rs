//! `mia-report`: turns an evaluated audit into the files a user keeps — the versioned
//! `report.json` ([`report`]), the per-record `records.csv` ([`records`]), the
//! self-contained `report.html` ([`html`]) — and evaluates the release gate ([`gate`]).

pub mod baseline;
pub mod gate;
pub mod html;
pub mod records;
pub mod report;

pub use report::{Report, SCHEMA_VERSION};

/// Per-record data the report files list: ids and each attack's scores.
#[derive(Debug, Clone, Copy)]
pub struct RecordScores<'a> {
    pub ids: &'a [String],
    pub member: &'a [bool],
    pub labels: Option<&'a [usize]>,
    /// (attack name, one score per record), in report order.
    pub attacks: &'a [(String, Vec<f64>)],
}
