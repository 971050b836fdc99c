//! `mia score --reference X.npz`: the reference reader (reference.rs) on an `.npz` bundle
//! (signals, keep, ids, population arrays), aligned to a valid score table (N = 6 records,
//! C = 3 classes). Score arrays are `.npy` only, so this is the one NPZ parser.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mia_data::reference::{RefSignal, ReferenceOptions, ReferenceSources, load_reference};
use mia_fuzz::{check, score_table, write};

fuzz_target!(|data: &[u8]| {
    let x = write("input.npz", data);
    for signal in [None, Some(RefSignal::Logits)] {
        let src = ReferenceSources { signal, ..ReferenceSources::new(&x) };
        check(&load_reference(&src, score_table(), &ReferenceOptions::default()));
    }
});
