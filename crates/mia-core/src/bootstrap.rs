//! Seeded, stratified bootstrap of ROC statistics (Efron & Tibshirani, "An Introduction to
//! the Bootstrap", 1993, percentile intervals).
//!
//! Each resample draws n_pos members and n_neg non-members with replacement, separately,
//! so every resample keeps the audit's member/non-member counts. The scores are sorted
//! once ([`RankedScores`]); a resample only assigns a multiplicity to each sorted position
//! and makes one linear pass over the groups, so B resamples cost O(B·N) rather than
//! O(B·N log N).
//!
//! Resample b draws from its own generator seeded by (seed, b), so results do not depend
//! on how resamples are spread over threads.

use crate::roc::{FprRule, RankedScores, roc_pass};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

/// SplitMix64 finaliser: decorrelates seeds for streams (seed, b).
pub fn mix_seed(seed: u64, stream: u64) -> u64 {
    let mut z = seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A deterministic generator for stream `stream` of `seed`.
pub fn rng_for(seed: u64, stream: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(mix_seed(seed, stream))
}

/// Uniform integer in 0..n (n > 0), unbiased (Lemire, "Fast Random Integer Generation in
/// an Interval", ACM TOMACS 2019).
#[inline]
pub fn uniform_below(rng: &mut impl Rng, n: u64) -> u64 {
    let mut m = rng.next_u64() as u128 * n as u128;
    if (m as u64) < n {
        let t = n.wrapping_neg() % n;
        while (m as u64) < t {
            m = rng.next_u64() as u128 * n as u128;
        }
    }
    (m >> 64) as u64
}

/// Per-resample statistics: AUC, advantage and TPR at each FPR target.
#[derive(Debug, Clone)]
pub struct BootstrapDraws {
    pub auc: Vec<f64>,
    pub advantage: Vec<f64>,
    /// `tpr_at_fpr[k][b]`: TPR at target k in resample b.
    pub tpr_at_fpr: Vec<Vec<f64>>,
}

/// Runs `resamples` stratified resamples of the ranked scores.
pub fn bootstrap_roc(
    ranked: &RankedScores,
    fpr_targets: &[f64],
    rule: FprRule,
    resamples: usize,
    seed: u64,
) -> BootstrapDraws {
    let n = ranked.order.len();
    // Positions in sorted order; within a group only counts matter, so members are
    // laid out first.
    let (mut pos_at, mut neg_at) = (Vec::new(), Vec::new());
    let mut start = 0usize;
    for g in 0..ranked.n_groups() {
        let end = ranked.group_end[g] as usize;
        let p = ranked.group_pos[g] as usize;
        pos_at.extend((start..start + p).map(|i| i as u32));
        neg_at.extend((start + p..end).map(|i| i as u32));
        start = end;
    }
    let (n_pos, n_neg) = (ranked.n_pos, ranked.n_neg);
    let results: Vec<(f64, f64, Vec<f64>)> = (0..resamples)
        .into_par_iter()
        .map_init(
            || vec![0u32; n],
            |w, b| {
                w.fill(0);
                let mut rng = rng_for(seed, b as u64);
                for _ in 0..n_pos {
                    w[pos_at[uniform_below(&mut rng, n_pos) as usize] as usize] += 1;
                }
                for _ in 0..n_neg {
                    w[neg_at[uniform_below(&mut rng, n_neg) as usize] as usize] += 1;
                }
                let mut gp = Vec::with_capacity(ranked.n_groups());
                let mut gn = Vec::with_capacity(ranked.n_groups());
                let mut s = 0usize;
                for g in 0..ranked.n_groups() {
                    let e = ranked.group_end[g] as usize;
                    let p = ranked.group_pos[g] as usize;
                    gp.push(w[s..s + p].iter().map(|&c| c as u64).sum::<u64>());
                    gn.push(w[s + p..e].iter().map(|&c| c as u64).sum::<u64>());
                    s = e;
                }
                let m = roc_pass(gp.into_iter(), gn.into_iter(), n_pos, n_neg, fpr_targets, rule);
                (m.auc, m.advantage, m.tpr_at_fpr.iter().map(|t| t.0).collect())
            },
        )
        .collect();
    let mut draws = BootstrapDraws {
        auc: Vec::with_capacity(resamples),
        advantage: Vec::with_capacity(resamples),
        tpr_at_fpr: vec![Vec::with_capacity(resamples); fpr_targets.len()],
    };
    for (a, adv, t) in results {
        draws.auc.push(a);
        draws.advantage.push(adv);
        for (k, v) in t.into_iter().enumerate() {
            draws.tpr_at_fpr[k].push(v);
        }
    }
    draws
}

/// Percentile interval [q_{α/2}, q_{1−α/2}] of bootstrap draws; `None` without draws.
pub fn percentile_interval(draws: &[f64], confidence: f64) -> Option<[f64; 2]> {
    if draws.is_empty() {
        return None;
    }
    let mut v = draws.to_vec();
    v.sort_by(f64::total_cmp);
    let a = (1.0 - confidence) / 2.0;
    Some([crate::stats::percentile_sorted(&v, a), crate::stats::percentile_sorted(&v, 1.0 - a)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_below_covers_range_evenly() {
        let mut rng = rng_for(7, 0);
        let mut c = [0u32; 3];
        for _ in 0..30_000 {
            c[uniform_below(&mut rng, 3) as usize] += 1;
        }
        assert!(c.iter().all(|&x| (9_500..10_500).contains(&x)), "{c:?}");
    }

    #[test]
    fn resamples_do_not_depend_on_thread_count() {
        let s: Vec<f64> = (0..500).map(|i| ((i * 37) % 101) as f64).collect();
        let m: Vec<bool> = (0..500).map(|i| i % 3 == 0).collect();
        let r = RankedScores::new(&s, &m);
        let run = |threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| bootstrap_roc(&r, &[0.1], FprRule::AtMost, 64, 42))
        };
        let (a, b) = (run(1), run(2));
        assert_eq!(a.auc, b.auc);
        assert_eq!(a.tpr_at_fpr, b.tpr_at_fpr);
        // Resamples differ from each other and from the point estimate's data.
        assert!(a.auc.iter().any(|&x| x != a.auc[0]));
    }
}
