//! `mia score --logits/--probs/--labels/--member/--ids X.npy`: the NumPy score-array reader
//! (npy.rs). The input is one `.npy` file, read in each role in turn while the other roles
//! hold a valid array of 4 records (2 classes).
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mia_data::{LoadOptions, ScoreSource, load_scores};
use mia_fuzz::{bool_npy, check, f64_npy, i64_npy, write};

struct Valid {
    logits: PathBuf,
    probs: PathBuf,
    labels: PathBuf,
    member: PathBuf,
    ids: PathBuf,
}

fn valid() -> &'static Valid {
    static V: OnceLock<Valid> = OnceLock::new();
    V.get_or_init(|| Valid {
        logits: write("valid_logits.npy", &f64_npy("(4, 2)", [0.5, -0.5, 1.0, 2.0, -1.0, 0.0, 3.0, 1.0])),
        probs: write("valid_probs.npy", &f64_npy("(4, 2)", [0.25, 0.75, 0.5, 0.5, 1.0, 0.0, 0.9, 0.1])),
        labels: write("valid_labels.npy", &i64_npy("(4,)", [0, 1, 1, 0])),
        member: write("valid_member.npy", &bool_npy("(4,)", [true, false, true, false])),
        ids: write("valid_ids.npy", &i64_npy("(4,)", [10, 11, 12, 13])),
    })
}

fuzz_target!(|data: &[u8]| {
    let v = valid();
    let x = write("input.npy", data);
    let strict = LoadOptions::default();
    let lenient = LoadOptions { skip_invalid_rows: true, ..LoadOptions::default() };
    let (l, p, y, m, i) = (&v.logits, &v.probs, &v.labels, &v.member, &v.ids);
    // (logits, probs, labels, member, ids, options): the input as logits (strict and
    // lenient), as probabilities, then as labels, member flags and ids.
    let roles = [
        (Some(&x), None, Some(y), m, None, strict),
        (Some(&x), None, Some(y), m, Some(i), lenient),
        (None, Some(&x), Some(y), m, None, strict),
        (Some(l), None, Some(&x), m, None, strict),
        (None, Some(p), Some(y), &x, None, lenient),
        (Some(l), None, Some(y), m, Some(&x), strict),
    ];
    for (logits, probs, labels, member, ids, opts) in roles {
        let src = ScoreSource::Arrays {
            logits: logits.cloned(),
            probs: probs.cloned(),
            labels: labels.cloned(),
            member: member.clone(),
            ids: ids.cloned(),
        };
        check(&load_scores(&src, &opts));
    }
});
