//! `mia score --reference X.npy --keep/--reference-ids/--population-* Y.npy`: the reference
//! array reader (reference.rs) on `.npy` files. The input is one `.npy`, read in each role in
//! turn while the other files hold valid arrays (K = 4 models, N = 6 records, P = 3
//! population records, C = 3 classes), aligned to a valid score table.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mia_data::reference::{RefSignal, ReferenceOptions, ReferenceSources, load_reference};
use mia_fuzz::{N_CLASSES as C, N_MODELS as K, N_RECORDS as N, bool_npy, check, f64_npy, score_table, write};

const P: usize = 3;

struct Valid {
    phi: PathBuf,
    logits: PathBuf,
    keep: PathBuf,
    pop_target_phi: PathBuf,
    pop_reference_phi: PathBuf,
    pop_target_logits: PathBuf,
    pop_reference_logits: PathBuf,
}

fn value(i: usize) -> f64 {
    ((i * 7) % 11) as f64 * 0.7 - 3.0
}

fn valid() -> &'static Valid {
    static V: OnceLock<Valid> = OnceLock::new();
    V.get_or_init(|| Valid {
        phi: write("valid_phi.npy", &f64_npy(&format!("({K}, {N})"), (0..K * N).map(value))),
        logits: write("valid_logits.npy", &f64_npy(&format!("({K}, {N}, {C})"), (0..K * N * C).map(value))),
        // Record n is IN for models n % K and (n + 1) % K.
        keep: write("valid_keep.npy", &bool_npy(&format!("({K}, {N})"), (0..K * N).map(|i| {
            let (k, n) = (i / N, i % N);
            k == n % K || k == (n + 1) % K
        }))),
        pop_target_phi: write("valid_pop_target_phi.npy", &f64_npy(&format!("({P},)"), (0..P).map(value))),
        pop_reference_phi: write("valid_pop_reference_phi.npy", &f64_npy(&format!("({K}, {P})"), (0..K * P).map(value))),
        pop_target_logits: write("valid_pop_target_logits.npy", &f64_npy(&format!("({P}, {C})"), (0..P * C).map(value))),
        pop_reference_logits: write(
            "valid_pop_reference_logits.npy",
            &f64_npy(&format!("({K}, {P}, {C})"), (0..K * P * C).map(value)),
        ),
    })
}

fuzz_target!(|data: &[u8]| {
    let v = valid();
    let x = write("input.npy", data);
    let phi = |keep: &PathBuf| ReferenceSources { keep: Some(keep.clone()), ..ReferenceSources::new(&v.phi) };
    let mut roles = vec![
        // The input as the reference signals (kind guessed; each named kind below).
        ReferenceSources { keep: Some(v.keep.clone()), ..ReferenceSources::new(&x) },
        // The input as the keep mask, and as the reference ids.
        phi(&x),
        ReferenceSources { ids: Some(x.clone()), ..phi(&v.keep) },
        // The input as each population array.
        ReferenceSources {
            population_target: Some(x.clone()),
            population_reference: Some(v.pop_reference_phi.clone()),
            ..phi(&v.keep)
        },
        ReferenceSources {
            population_target: Some(v.pop_target_phi.clone()),
            population_reference: Some(x.clone()),
            ..phi(&v.keep)
        },
        ReferenceSources {
            signal: Some(RefSignal::Logits),
            keep: Some(v.keep.clone()),
            population_target: Some(v.pop_target_logits.clone()),
            population_reference: Some(v.pop_reference_logits.clone()),
            population_labels: Some(x.clone()),
            ..ReferenceSources::new(&v.logits)
        },
    ];
    for signal in [RefSignal::Loss, RefSignal::Logits, RefSignal::Probs] {
        roles.push(ReferenceSources { signal: Some(signal), keep: Some(v.keep.clone()), ..ReferenceSources::new(&x) });
    }
    for src in &roles {
        check(&load_reference(src, score_table(), &ReferenceOptions::default()));
    }
});
