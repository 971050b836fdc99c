//! Coverage of the evaluation's intervals on pure noise, where the truth is known: members
//! and non-members score from the same continuous distribution, so the true AUC is 0.5, the
//! true advantage 0 and the true TPR at FPR ≤ t is t.
//!
//! The finding this guards against: 200 records of noise with one member reported AUC 0.930
//! with the interval [0.894, 0.960], and a gate on `max.auc.lo > 0.6` failed the build. A
//! percentile bootstrap of one member redraws that member every time.

use mia_core::evaluate::{EvalConfig, evaluate_attacks};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

const ATTACKS: usize = 3;

/// One noise audit: `n` records, the first `members` of them members, `ATTACKS` independent
/// score columns (as different attacks on the same records), from `seed`.
fn noise(n: usize, members: usize, seed: u64) -> (Vec<Vec<f64>>, Vec<bool>) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let scores =
        (0..ATTACKS).map(|_| (0..n).map(|_| (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64).collect()).collect();
    (scores, (0..n).map(|i| i < members).collect())
}

/// Coverage counts (covered, total) for AUC, advantage and each TPR target, and how often
/// `auc.lo > 0.6` holds on a figure the evaluation calls supported.
struct Tally {
    auc: (u32, u32),
    advantage: (u32, u32),
    tpr: (u32, u32),
    supported_gate_fires: u32,
    all_unsupported: bool,
}

fn tally(n: usize, members: &[usize], seeds: u64, cfg: &EvalConfig) -> Tally {
    let mut t = Tally { auc: (0, 0), advantage: (0, 0), tpr: (0, 0), supported_gate_fires: 0, all_unsupported: true };
    let cover = |c: &mut (u32, u32), ci: Option<[f64; 2]>, truth: f64| {
        let [lo, hi] = ci.expect("every figure has an interval");
        c.0 += u32::from(lo <= truth && truth <= hi);
        c.1 += 1;
    };
    for &m in members {
        for seed in 0..seeds {
            let (scores, member) = noise(n, m, seed * 1000 + m as u64);
            let refs: Vec<&[f64]> = scores.iter().map(|s| s.as_slice()).collect();
            let cfg = EvalConfig { seed, ..cfg.clone() };
            let evals = evaluate_attacks(&refs, &member, &cfg).unwrap();
            for e in &evals {
                cover(&mut t.auc, e.auc.ci, 0.5);
                cover(&mut t.advantage, e.advantage.ci, 0.0);
                for p in &e.tpr_at_fpr {
                    cover(&mut t.tpr, p.ci, p.fpr);
                }
                t.all_unsupported &= !e.auc.supported && !e.advantage.supported;
                t.all_unsupported &= e.tpr_at_fpr.iter().all(|p| !p.supported);
            }
            // The gate's `max.auc.lo > 0.6` over the attacks, had it been allowed to run.
            if evals.iter().all(|e| e.auc.supported) && evals.iter().any(|e| e.auc.ci.unwrap()[0] > 0.6) {
                t.supported_gate_fires += 1;
            }
        }
    }
    t
}

fn rate((k, n): (u32, u32)) -> f64 {
    k as f64 / n as f64
}

/// 1 to 20 members among 200 records: every interval covers the truth at least 95 % of the
/// time, every figure is marked unsupported (so no gate can pass or fail on it), and the
/// one-member case no longer reports a narrow interval.
#[test]
fn intervals_cover_the_truth_with_one_to_twenty_members() {
    let cfg = EvalConfig { bootstrap_resamples: 100, fpr_targets: vec![0.01, 0.1, 0.5], ..Default::default() };
    let members: Vec<usize> = (1..=20).collect();
    let t = tally(200, &members, 15, &cfg);
    for (name, c) in [("auc", t.auc), ("advantage", t.advantage), ("tpr", t.tpr)] {
        assert!(rate(c) >= 0.95, "{name}: coverage {} of {}", c.0, c.1);
    }
    assert!(t.all_unsupported);
    assert_eq!(t.supported_gate_fires, 0);

    // The finding: one member of 200. The interval must allow an AUC of 0.5.
    let (scores, member) = noise(200, 1, 7);
    let e = evaluate_attacks(&[&scores[0]], &member, &cfg).unwrap().remove(0);
    assert_eq!(e.auc.ci, Some([0.0, 1.0]));
    assert!(e.auc.note.as_deref().unwrap().contains("1 members and 199 non-members"));
}

/// 30 and 50 members among 400 records: the figures are supported (a gate may use them) but
/// their intervals are still distribution-free, since a bootstrap undercovers at this size;
/// they cover the truth at least 95 % of the time and `max.auc.lo > 0.6` fires in at most 5 %.
#[test]
fn supported_small_classes_keep_honest_intervals() {
    let cfg = EvalConfig { bootstrap_resamples: 100, fpr_targets: vec![0.1, 0.5], ..Default::default() };
    let t = tally(400, &[30, 50], 20, &cfg);
    for (name, c) in [("auc", t.auc), ("advantage", t.advantage), ("tpr", t.tpr)] {
        assert!(rate(c) >= 0.95, "{name}: coverage {} of {}", c.0, c.1);
    }
    assert!(!t.all_unsupported);
    assert!(t.supported_gate_fires as f64 <= 0.05 * 40.0, "{}", t.supported_gate_fires);
}

/// The advantage is a maximum over thresholds: on noise its bootstrap interval lay above the
/// true 0 in 95-98 % of runs at every size (`coverage_by_class_size` at commit f3a0b00). Its interval is the DKW bound at every size, here
/// with 200 members of 400, where AUC and TPR use the bootstrap.
#[test]
fn advantage_intervals_cover_zero_at_every_size() {
    let cfg = EvalConfig { bootstrap_resamples: 100, fpr_targets: vec![0.1], ..Default::default() };
    let t = tally(400, &[200], 20, &cfg);
    assert!(rate(t.advantage) >= 0.95, "advantage: coverage {} of {}", t.advantage.0, t.advantage.1);
}

/// Not a test: prints coverage by class size, to choose `min_class_size` and
/// `bootstrap_min_class_size`
/// (`cargo test -p mia-core --release --test small_sample_coverage -- --ignored --nocapture`).
#[test]
#[ignore]
fn coverage_by_class_size() {
    let boot = EvalConfig {
        bootstrap_resamples: 400,
        fpr_targets: vec![0.01, 0.1, 0.5],
        min_class_size: 0,
        bootstrap_min_class_size: 0,
        ..Default::default()
    };
    for m in [2, 5, 10, 20, 30, 50, 100] {
        let t = tally(400, &[m], 100, &boot);
        println!(
            "bootstrap, {m} members of 400: auc {:.3} advantage {:.3} tpr {:.3} gate fires {}",
            rate(t.auc),
            rate(t.advantage),
            rate(t.tpr),
            t.supported_gate_fires
        );
    }
}
