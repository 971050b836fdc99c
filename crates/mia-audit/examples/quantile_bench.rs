//! Times the quantile-regression attack (`mia_audit::quantile`) on arrays written by
//! `bench/quantile_bench.py`, which runs it and prints the comparison with scikit-learn:
//!
//! ```sh
//! cargo build --release --example quantile_bench -p mia-audit
//! target/release/examples/quantile_bench DIR [REPEATS]
//! ```
//!
//! DIR holds `features.npy` (N × d float32), `logits.npy` (N × C float64), `labels.npy` (int64) and
//! `member.npy` (bool). φ comes from the logits as `mia score` computes it; then, each timed
//! `REPEATS` times (default 3; the best time is printed): the cross-fitted attack `mia score
//! --features` runs (5 folds, α = 0.01, fits on the other folds' non-members) and the population
//! case (one fit on the non-members of even rows, every odd row scored). Prints one JSON object and
//! writes the population case's scores to DIR/ours_population.npy (for the script's comparison).

use mia_audit::quantile::{
    Calibration, QuantileConfig, QuantileRecords, cross_fitted_quantile_attack, quantile_attack,
};
use mia_core::signals::{ModelOutputs, compute_signals};
use ndarray::{Array1, Array2, Axis};
use ndarray_npy::{ReadNpyExt, WriteNpyExt};
use std::path::Path;
use std::time::Instant;

fn read<T: ReadNpyExt>(dir: &Path, name: &str) -> T {
    let file = std::fs::File::open(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    T::read_npy(std::io::BufReader::new(file)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Best wall time of `repeats` runs of `f`, in seconds, and its last result.
fn best<T>(repeats: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut out = None;
    let mut t_best = f64::INFINITY;
    for _ in 0..repeats {
        let t = Instant::now();
        let r = f();
        t_best = t_best.min(t.elapsed().as_secs_f64());
        out = Some(r);
    }
    (t_best, out.unwrap())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = Path::new(args.get(1).expect("usage: quantile_bench DIR [REPEATS]"));
    let repeats: usize = args.get(2).map_or(3, |r| r.parse().expect("REPEATS: a whole number"));
    let x: Array2<f32> = read(dir, "features.npy");
    let logits: Array2<f64> = read(dir, "logits.npy");
    let labels: Vec<usize> = read::<Array1<i64>>(dir, "labels.npy").iter().map(|&l| l as usize).collect();
    let member: Vec<bool> = read::<Array1<bool>>(dir, "member.npy").to_vec();
    let n_classes = logits.ncols();

    let (t_phi, phi) = best(repeats, || compute_signals(&ModelOutputs::Logits(logits.clone()), Some(&labels)).phi);
    let cfg = QuantileConfig::default();
    let records = QuantileRecords { x: x.view(), labels: Some(&labels), phi: &phi };
    let (t_cross, attack) =
        best(repeats, || cross_fitted_quantile_attack(records, &member, n_classes, 5, 0, &cfg).expect("attack"));
    let c = Calibration::of(&attack.scores, &member);

    // Population case: fit on the non-members among even rows, score every odd row.
    let fit_rows: Vec<usize> = (0..member.len()).filter(|&i| i % 2 == 0 && !member[i]).collect();
    let eval_rows: Vec<usize> = (0..member.len()).filter(|&i| i % 2 == 1).collect();
    let pick = |rows: &[usize]| {
        let l: Vec<usize> = rows.iter().map(|&i| labels[i]).collect();
        let p: Vec<f64> = rows.iter().map(|&i| phi[i]).collect();
        (x.select(Axis(0), rows), l, p)
    };
    let ((fx, fl, fp), (ex, el, ep)) = (pick(&fit_rows), pick(&eval_rows));
    let (t_pop, (pop_scores, _)) = best(repeats, || {
        quantile_attack(
            QuantileRecords { x: fx.view(), labels: Some(&fl), phi: &fp },
            QuantileRecords { x: ex.view(), labels: Some(&el), phi: &ep },
            n_classes,
            &cfg,
        )
        .expect("attack")
    });
    let file = std::fs::File::create(dir.join("ours_population.npy")).expect("ours_population.npy");
    Array1::from(pop_scores).write_npy(std::io::BufWriter::new(file)).expect("ours_population.npy");
    println!(
        "{{\"records\": {}, \"features\": {}, \"threads\": {}, \"phi_s\": {t_phi:.4}, \"cross_fitted_s\": {t_cross:.4}, \
         \"population_s\": {t_pop:.4}, \"population_fit_rows\": {}, \"fpr_at_0\": {:.6}, \"tpr_at_0\": {:.6}}}",
        member.len(),
        x.ncols(),
        rayon::current_num_threads(),
        fit_rows.len(),
        c.fpr(),
        c.tpr()
    );
}
