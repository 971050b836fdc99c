//! `mia score FILE.csv` / `FILE.csv.gz`: the CSV score-table reader (csvread.rs, layout.rs),
//! strict and with `skip_invalid_rows`. Inputs starting with the gzip magic are read as `.csv.gz`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mia_data::{LoadOptions, ScoreColumns, ScoreSource, load_scores};
use mia_fuzz::{check, table_name, write};

fuzz_target!(|data: &[u8]| {
    if data.starts_with(b"PAR1") {
        return; // score_parquet's input
    }
    let path = write(&table_name("scores", data), data);
    let src = ScoreSource::Table { path, columns: ScoreColumns::default() };
    for skip_invalid_rows in [false, true] {
        check(&load_scores(&src, &LoadOptions { skip_invalid_rows, ..LoadOptions::default() }));
    }
});
