//! Seeded, stratified bootstrap of ROC statistics (Efron & Tibshirani, "An Introduction to
//! the Bootstrap", 1993, percentile intervals).
//!
//! Each resample draws n_pos members and n_neg non-members with replacement, separately,
//! so every resample keeps the audit's member/non-member counts. The scores are sorted
//! once ([`RankedScores`]); a resample only assigns a multiplicity to each record and
//! makes one linear pass over each attack's groups, so B resamples cost O(B·N) rather than
//! O(B·N log N), and one draw of multiplicities serves every attack.
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

/// Per-resample statistics: AUC and TPR at each FPR target.
#[derive(Debug, Clone)]
pub struct BootstrapDraws {
    pub auc: Vec<f64>,
    /// `tpr_at_fpr[k][b]`: TPR at target k in resample b.
    pub tpr_at_fpr: Vec<Vec<f64>>,
}

/// Runs `resamples` stratified resamples for several attacks at once.
///
/// One resample is one multiset of records (drawn once, as a multiplicity per record) and
/// every attack is evaluated on it: attacks are compared on paired samples, and the
/// random draws, the costliest part, are shared. `ranked[a]` must rank the same records
/// as `member` describes.
pub fn bootstrap_roc(
    ranked: &[&RankedScores],
    member: &[bool],
    fpr_targets: &[f64],
    rule: FprRule,
    resamples: usize,
    seed: u64,
) -> Vec<BootstrapDraws> {
    let pos_idx: Vec<u32> = (0..member.len() as u32).filter(|&i| member[i as usize]).collect();
    let neg_idx: Vec<u32> = (0..member.len() as u32).filter(|&i| !member[i as usize]).collect();
    let (n_pos, n_neg) = (pos_idx.len() as u64, neg_idx.len() as u64);
    for r in ranked {
        assert_eq!((r.n_pos, r.n_neg), (n_pos, n_neg), "ranked scores and membership disagree");
    }
    // Per resample: for each attack, (AUC, TPR at each target).
    type Stats = Vec<(f64, Vec<f64>)>;
    let results: Vec<Stats> = (0..resamples)
        .into_par_iter()
        .map_init(
            // u16 multiplicities keep the array cache-resident; a record drawn more than
            // 65,535 times in one resample (probability below 1e-100,000) would saturate.
            || vec![0u16; member.len()],
            |w, b| {
                w.fill(0);
                let mut rng = rng_for(seed, b as u64);
                for _ in 0..n_pos {
                    let c = &mut w[pos_idx[uniform_below(&mut rng, n_pos) as usize] as usize];
                    *c = c.saturating_add(1);
                }
                for _ in 0..n_neg {
                    let c = &mut w[neg_idx[uniform_below(&mut rng, n_neg) as usize] as usize];
                    *c = c.saturating_add(1);
                }
                ranked
                    .iter()
                    .map(|r| {
                        let sum = |ix: &[u32]| ix.iter().map(|&i| w[i as usize] as u64).sum::<u64>();
                        let mut s = 0usize;
                        let groups = r.group_end.iter().zip(&r.group_pos).map(|(&e, &members)| {
                            let e = e as usize;
                            let g = if e == s + 1 {
                                // A lone record (the common case with continuous scores): its
                                // weight goes to the member or non-member side without a branch.
                                let (wi, m) = (w[r.order[s] as usize] as u64, u64::from(members));
                                (wi * m, wi * (1 - m))
                            } else {
                                let mid = s + members as usize;
                                (sum(&r.order[s..mid]), sum(&r.order[mid..e]))
                            };
                            s = e;
                            g
                        });
                        let m = roc_pass(groups, n_pos, n_neg, fpr_targets, rule);
                        (m.auc, m.tpr_at_fpr.iter().map(|t| t.0).collect())
                    })
                    .collect()
            },
        )
        .collect();
    (0..ranked.len())
        .map(|a| BootstrapDraws {
            auc: results.iter().map(|r| r[a].0).collect(),
            tpr_at_fpr: (0..fpr_targets.len()).map(|k| results.iter().map(|r| r[a].1[k]).collect()).collect(),
        })
        .collect()
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
                .install(|| bootstrap_roc(&[&r, &r], &m, &[0.1], FprRule::AtMost, 64, 42))
        };
        let (x, y) = (run(1), run(2));
        // Both attacks saw the same resamples.
        assert_eq!(x[0].auc, x[1].auc);
        let (a, b) = (&x[0], &y[0]);
        assert_eq!(a.auc, b.auc);
        assert_eq!(a.tpr_at_fpr, b.tpr_at_fpr);
        // Resamples differ from each other and from the point estimate's data.
        assert!(a.auc.iter().any(|&x| x != a.auc[0]));
    }
}
