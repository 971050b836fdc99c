//! Exact ROC analysis of membership scores with tied scores grouped.
//!
//! Scores are sorted once, descending; records with equal scores form one group, because a
//! threshold can only sit between distinct scores. Every statistic is then a single pass
//! over the groups with integer counts (or integer bootstrap weights):
//! - AUC by Mann–Whitney: P(score_member > score_non_member) + ½ P(equal), which equals the
//!   trapezoidal area under the grouped ROC (what scikit-learn's `roc_auc_score` computes);
//! - TPR at FPR ≤ t: the largest TPR over thresholds whose FPR does not exceed t (no
//!   interpolation; the strict `<` variant of some tools is [`FprRule::Strict`]);
//! - advantage: max over thresholds of TPR − FPR (and balanced accuracy (1 + adv) / 2).

use serde::Serialize;

/// How a TPR@FPR target is compared with a threshold's FPR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FprRule {
    /// FPR ≤ target (our default, and scikit-learn `roc_curve` users' usual reading).
    #[default]
    AtMost,
    /// FPR < target (as some reference implementations compute it).
    Strict,
}

/// Records sorted by descending score, grouped by equal score.
#[derive(Debug, Clone)]
pub struct RankedScores {
    /// Record indices in descending score order.
    pub order: Vec<u32>,
    /// `group_end[g]` is one past the last position (in `order`) of group g.
    pub group_end: Vec<u32>,
    /// Score of each group.
    pub group_score: Vec<f64>,
    /// Members and non-members in each group.
    pub group_pos: Vec<u32>,
    pub group_neg: Vec<u32>,
    pub n_pos: u64,
    pub n_neg: u64,
}

impl RankedScores {
    /// Sorts and groups. NaN scores must be excluded by the caller (they are rejected at
    /// input; attacks never produce them).
    pub fn new(scores: &[f64], member: &[bool]) -> Self {
        assert_eq!(scores.len(), member.len());
        assert!(scores.len() < u32::MAX as usize, "at most 4 billion records");
        let mut order: Vec<u32> = (0..scores.len() as u32).collect();
        // Descending; stable on ties so group contents are deterministic.
        order.sort_by(|&a, &b| scores[b as usize].total_cmp(&scores[a as usize]));
        let mut r = RankedScores {
            order,
            group_end: Vec::new(),
            group_score: Vec::new(),
            group_pos: Vec::new(),
            group_neg: Vec::new(),
            n_pos: 0,
            n_neg: 0,
        };
        let mut i = 0;
        while i < r.order.len() {
            let s = scores[r.order[i] as usize];
            let (mut p, mut n) = (0u32, 0u32);
            // `==` groups +0.0 with −0.0, as a threshold cannot separate them.
            while i < r.order.len() && scores[r.order[i] as usize] == s {
                if member[r.order[i] as usize] {
                    p += 1
                } else {
                    n += 1
                }
                i += 1;
            }
            r.group_end.push(i as u32);
            r.group_score.push(s);
            r.group_pos.push(p);
            r.group_neg.push(n);
            r.n_pos += p as u64;
            r.n_neg += n as u64;
        }
        r
    }

    pub fn n_groups(&self) -> usize {
        self.group_score.len()
    }

    /// The full metric pass on the unweighted data.
    pub fn metrics(&self, fpr_targets: &[f64], rule: FprRule) -> RocMetrics {
        roc_pass(
            self.group_pos.iter().map(|&c| c as u64),
            self.group_neg.iter().map(|&c| c as u64),
            self.n_pos,
            self.n_neg,
            fpr_targets,
            rule,
        )
    }

    /// ROC points (FPR, TPR), one per group boundary, starting at (0, 0).
    pub fn curve(&self) -> (Vec<f64>, Vec<f64>) {
        let (mut fp, mut tp) = (0u64, 0u64);
        let mut f = vec![0.0];
        let mut t = vec![0.0];
        for g in 0..self.n_groups() {
            fp += self.group_neg[g] as u64;
            tp += self.group_pos[g] as u64;
            f.push(fp as f64 / self.n_neg as f64);
            t.push(tp as f64 / self.n_pos as f64);
        }
        (f, t)
    }
}

/// Threshold-free summaries of one ROC.
#[derive(Debug, Clone, PartialEq)]
pub struct RocMetrics {
    pub auc: f64,
    pub advantage: f64,
    /// Per target: (TPR, achieved FPR, index of the last group above the threshold, or
    /// `None` when only the empty threshold qualifies).
    pub tpr_at_fpr: Vec<(f64, f64, Option<usize>)>,
    /// Group index at which the advantage is reached (threshold = that group's score).
    pub advantage_group: Option<usize>,
}

/// One pass over groups in descending score order, with per-group member and non-member
/// weights (counts, or bootstrap multiplicities).
pub fn roc_pass(
    pos: impl Iterator<Item = u64>,
    neg: impl Iterator<Item = u64>,
    n_pos: u64,
    n_neg: u64,
    fpr_targets: &[f64],
    rule: FprRule,
) -> RocMetrics {
    let (np, nn) = (n_pos as f64, n_neg as f64);
    let (mut tp, mut fp) = (0u64, 0u64);
    // Twice the Mann–Whitney U: counting pairs (member above non-member) twice and
    // tied pairs once keeps it an exact integer.
    let mut u2: u128 = 0;
    let mut best_adv = 0.0;
    let mut best_group = None;
    let mut tpr_at: Vec<(f64, f64, Option<usize>)> = vec![(0.0, 0.0, None); fpr_targets.len()];
    for (g, (p, n)) in pos.zip(neg).enumerate() {
        u2 += n as u128 * (2 * tp as u128 + p as u128);
        tp += p;
        fp += n;
        let (tpr, fpr) = (tp as f64 / np, fp as f64 / nn);
        if tpr - fpr > best_adv {
            best_adv = tpr - fpr;
            best_group = Some(g);
        }
        for (k, &t) in fpr_targets.iter().enumerate() {
            let ok = match rule {
                FprRule::AtMost => fpr <= t,
                FprRule::Strict => fpr < t,
            };
            // TPR only grows along the pass, so the last qualifying point is the largest.
            if ok {
                tpr_at[k] = (tpr, fpr, Some(g));
            }
        }
    }
    RocMetrics {
        auc: u2 as f64 / (2.0 * np * nn),
        advantage: best_adv,
        tpr_at_fpr: tpr_at,
        advantage_group: best_group,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute-force AUC over all member/non-member pairs.
    fn auc_pairs(s: &[f64], m: &[bool]) -> f64 {
        let (mut num, mut den) = (0.0, 0.0);
        for i in 0..s.len() {
            for j in 0..s.len() {
                if m[i] && !m[j] {
                    den += 1.0;
                    num += if s[i] > s[j] {
                        1.0
                    } else if s[i] == s[j] {
                        0.5
                    } else {
                        0.0
                    };
                }
            }
        }
        num / den
    }

    #[test]
    fn auc_equals_pairwise_count_with_ties() {
        let s = [0.1, 0.4, 0.35, 0.8, 0.4, 0.4, 0.1, 0.9, 0.35];
        let m = [false, true, false, true, false, true, true, false, true];
        let r = RankedScores::new(&s, &m);
        assert_eq!(r.n_groups(), 5);
        let got = r.metrics(&[], FprRule::AtMost).auc;
        assert!((got - auc_pairs(&s, &m)).abs() < 1e-15);
    }

    #[test]
    fn tpr_at_fpr_only_between_distinct_scores() {
        // A tie spanning members and non-members cannot be split.
        let s = [3.0, 2.0, 2.0, 1.0];
        let m = [true, true, false, false];
        let r = RankedScores::new(&s, &m);
        let x = r.metrics(&[0.0, 0.5, 1.0], FprRule::AtMost);
        assert_eq!(x.tpr_at_fpr[0].0, 0.5);
        assert_eq!(x.tpr_at_fpr[1].0, 1.0);
        assert_eq!(x.tpr_at_fpr[2].0, 1.0);
        let strict = r.metrics(&[0.5], FprRule::Strict);
        assert_eq!(strict.tpr_at_fpr[0].0, 0.5);
        assert_eq!(x.advantage, 0.5);
    }

    #[test]
    fn constant_scores_give_half_auc_and_no_advantage() {
        let s = [1.0; 6];
        let m = [true, false, true, false, false, true];
        let r = RankedScores::new(&s, &m);
        let x = r.metrics(&[0.1], FprRule::AtMost);
        assert_eq!(x.auc, 0.5);
        assert_eq!(x.advantage, 0.0);
        assert_eq!(x.tpr_at_fpr[0].0, 0.0);
        assert_eq!(x.advantage_group, None);
    }

    #[test]
    fn perfect_and_inverted_separation() {
        let s = [4.0, 3.0, 2.0, 1.0];
        let r = RankedScores::new(&s, &[true, true, false, false]);
        assert_eq!(r.metrics(&[0.0], FprRule::AtMost).auc, 1.0);
        assert_eq!(r.metrics(&[0.0], FprRule::AtMost).tpr_at_fpr[0].0, 1.0);
        let r = RankedScores::new(&s, &[false, false, true, true]);
        assert_eq!(r.metrics(&[], FprRule::AtMost).auc, 0.0);
    }
}
