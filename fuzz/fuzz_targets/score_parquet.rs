//! `mia score FILE.parquet`: the Parquet score-table reader (pq.rs, layout.rs), strict and
//! with `skip_invalid_rows`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mia_data::{LoadOptions, ScoreColumns, ScoreSource, load_scores};
use mia_fuzz::{check, write};

fuzz_target!(|data: &[u8]| {
    let path = write("scores.parquet", data);
    let src = ScoreSource::Table { path, columns: ScoreColumns::default() };
    for skip_invalid_rows in [false, true] {
        check(&load_scores(&src, &LoadOptions { skip_invalid_rows, ..LoadOptions::default() }));
    }
});
