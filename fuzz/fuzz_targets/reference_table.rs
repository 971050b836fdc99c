//! `mia score --reference X.csv|X.csv.gz|X.parquet`: the reference reader (reference.rs) on a
//! wide table (`id`, `phi_k` or `loss_k`, `keep_k` columns), aligned to a valid score table
//! (N = 6 records). The file's name follows its leading bytes (Parquet, gzip, else CSV).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mia_data::reference::{RefSignal, ReferenceOptions, ReferenceSources, load_reference};
use mia_fuzz::{check, score_table, table_name, write};

fuzz_target!(|data: &[u8]| {
    let x = write(&table_name("reference", data), data);
    for signal in [None, Some(RefSignal::Loss)] {
        let src = ReferenceSources { signal, ..ReferenceSources::new(&x) };
        check(&load_reference(&src, score_table(), &ReferenceOptions::default()));
    }
});
