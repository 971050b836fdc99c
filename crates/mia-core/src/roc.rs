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

use serde::{Deserialize, Serialize};

/// How a TPR@FPR target is compared with a threshold's FPR.
/// Written `at_most` / `strict` in configs and reports, `at-most` / `strict` on the command
/// line (both spellings parse).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FprRule {
    /// FPR ≤ target (our default, and scikit-learn `roc_curve` users' usual reading).
    #[default]
    AtMost,
    /// FPR < target (as some reference implementations compute it).
    Strict,
}

impl std::str::FromStr for FprRule {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "at-most" | "at_most" => Ok(FprRule::AtMost),
            "strict" => Ok(FprRule::Strict),
            _ => Err(format!("expected at-most or strict, got {s:?}")),
        }
    }
}

impl std::fmt::Display for FprRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FprRule::AtMost => "at-most",
            FprRule::Strict => "strict",
        })
    }
}

/// Records sorted by descending score, grouped by equal score.
#[derive(Debug, Clone)]
pub struct RankedScores {
    /// Record indices in descending score order; within a group, members first.
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
        // Descending; within tied scores members first (so a group's members are its first
        // `group_pos` entries), then by index, so group contents are deterministic.
        order.sort_unstable_by(|&a, &b| {
            scores[b as usize]
                .total_cmp(&scores[a as usize])
                .then(member[b as usize].cmp(&member[a as usize]))
                .then(a.cmp(&b))
        });
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
            self.group_pos.iter().zip(&self.group_neg).map(|(&p, &n)| (p as u64, n as u64)),
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

/// Largest false-positive count f with f / n_neg ≤ t (or < t under [`FprRule::Strict`]),
/// decided with the same floating-point division the pass reports, or −1 when none.
fn max_false_positives(t: f64, n_neg: u64, rule: FprRule) -> i64 {
    let ok = |f: i64| {
        let r = f as f64 / n_neg as f64;
        match rule {
            FprRule::AtMost => r <= t,
            FprRule::Strict => r < t,
        }
    };
    let mut f = ((t * n_neg as f64).floor() as i64).clamp(-1, n_neg as i64);
    while f >= 0 && !ok(f) {
        f -= 1;
    }
    while f < n_neg as i64 && ok(f + 1) {
        f += 1;
    }
    f
}

/// One pass over groups in descending score order, with per-group member and non-member
/// weights (counts, or bootstrap multiplicities) as `(pos, neg)` pairs.
pub fn roc_pass(
    groups: impl Iterator<Item = (u64, u64)>,
    n_pos: u64,
    n_neg: u64,
    fpr_targets: &[f64],
    rule: FprRule,
) -> RocMetrics {
    debug_assert!(n_pos < 1 << 32 && n_neg < 1 << 32, "counts below 2^32 keep the integer sums exact");
    let (np, nn) = (n_pos as f64, n_neg as f64);
    // Targets in order of their false-positive budget; each is closed (answered with the
    // previous point) when the running false-positive count first exceeds its budget.
    let budget: Vec<i64> = fpr_targets.iter().map(|&t| max_false_positives(t, n_neg, rule)).collect();
    let mut by_budget: Vec<usize> = (0..fpr_targets.len()).collect();
    by_budget.sort_by_key(|&k| budget[k]);
    let mut next = 0;
    // Points are kept as integer counts; rates are divided out only when reported, with
    // the same divisions scikit-learn's `roc_curve` makes (tps / tps[-1], fps / fps[-1]).
    let rates = |(tp, fp, g): (u64, u64, Option<usize>)| (tp as f64 / np, fp as f64 / nn, g);
    let mut tpr_at: Vec<(f64, f64, Option<usize>)> = vec![(0.0, 0.0, None); fpr_targets.len()];
    // The budget of the next target to close, kept in a register (i64::MAX: none left).
    let limit_at = |next: usize| by_budget.get(next).map_or(i64::MAX, |&k| budget[k]);
    let mut limit = limit_at(0);
    let (mut tp, mut fp, mut n_groups) = (0u64, 0u64, 0usize);
    // Twice the Mann–Whitney U: pairs with the member above count 2, tied pairs 1, so it
    // stays an exact integer (≤ 2·n_pos·n_neg < 2^64 for fewer than 2^32 records).
    let mut u2: u64 = 0;
    // Advantage compared exactly as tp·n_neg − fp·n_pos; exact ties go to the larger
    // floating-point value, which is what a max over the float rates returns. Both products
    // are at most n_pos·n_neg ≤ 2^62 for fewer than 2^32 records, so i64 holds them. The
    // float rates are only formed on such a tie (and once at the end): no division per group.
    let float_adv = |tp: u64, fp: u64| tp as f64 / np - fp as f64 / nn;
    let (mut best_int, mut best_tp, mut best_fp, mut best_group) = (0i64, 0u64, 0u64, None);
    for (g, (p, n)) in groups.enumerate() {
        let (tp0, fp0) = (tp, fp);
        u2 += n * (2 * tp0 + p);
        tp = tp0 + p;
        fp = fp0 + n;
        if fp as i64 > limit {
            // Targets whose budget this group exceeds are answered by the previous point.
            while next < by_budget.len() && fp as i64 > budget[by_budget[next]] {
                tpr_at[by_budget[next]] = rates((tp0, fp0, g.checked_sub(1)));
                next += 1;
            }
            limit = limit_at(next);
        }
        let adv_int = (tp * n_neg) as i64 - (fp * n_pos) as i64;
        if adv_int > best_int
            || (adv_int == best_int
                && (tp, fp) != (best_tp, best_fp)
                && float_adv(tp, fp) > float_adv(best_tp, best_fp))
        {
            (best_int, best_tp, best_fp, best_group) = (adv_int, tp, fp, Some(g));
        }
        n_groups = g + 1;
    }
    for &k in &by_budget[next..] {
        tpr_at[k] = rates((tp, fp, n_groups.checked_sub(1)));
    }
    let best_adv = float_adv(best_tp, best_fp);
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

    /// One type for the rule in configs (snake_case), reports and on the command line.
    #[test]
    fn fpr_rule_spellings_round_trip() {
        for (r, cli, json) in [(FprRule::AtMost, "at-most", "\"at_most\""), (FprRule::Strict, "strict", "\"strict\"")] {
            assert_eq!(cli.parse::<FprRule>().unwrap(), r);
            assert_eq!(r.to_string().parse::<FprRule>().unwrap(), r);
            assert_eq!(serde_json::to_string(&r).unwrap(), json);
            assert_eq!(serde_json::from_str::<FprRule>(json).unwrap(), r);
        }
        assert_eq!("at_most".parse::<FprRule>().unwrap(), FprRule::AtMost);
        assert!("atmost".parse::<FprRule>().unwrap_err().contains("at-most or strict"));
    }

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
