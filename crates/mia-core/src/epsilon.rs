//! Empirical lower bound on ε for (ε, δ)-differential privacy from a membership audit.
//!
//! Any (ε, δ)-DP training procedure forces every membership test to satisfy
//! TPR ≤ e^ε·FPR + δ and TNR ≤ e^ε·FNR + δ (Kairouz et al., ICML 2015; used for auditing by
//! Jagielski et al., NeurIPS 2020, and Nasr et al., USENIX Security 2021). Turning observed
//! rates into a bound needs the rates' uncertainty: with Clopper–Pearson bounds at the
//! stated confidence,
//!
//!   ε ≥ max( ln((TPR_lo − δ) / FPR_hi), ln((TNR_lo − δ) / FNR_hi) ).
//!
//! The threshold is chosen on one half of the records and the rates are measured on the
//! other half, so the choice does not inflate the bound. This bounds the audit game that
//! was played (these records, this attack); it is evidence of leakage, not a proof of a
//! privacy guarantee, and a small bound does not show the model is private.

use crate::bootstrap::rng_for;
use crate::roc::RankedScores;
use crate::stats::clopper_pearson;
use serde::Serialize;

/// Bound from confusion counts at one threshold (terms whose numerator is ≤ 0 do not
/// count; no evidence gives 0).
pub fn eps_from_counts(tp: u64, fn_: u64, tn: u64, fp: u64, delta: f64, confidence: f64) -> f64 {
    let tpr_lo = clopper_pearson(tp, tp + fn_, confidence)[0];
    let fpr_hi = clopper_pearson(fp, fp + tn, confidence)[1];
    let tnr_lo = clopper_pearson(tn, tn + fp, confidence)[0];
    let fnr_hi = clopper_pearson(fn_, fn_ + tp, confidence)[1];
    let term = |num: f64, den: f64| if num > 0.0 && den > 0.0 { (num / den).ln() } else { 0.0 };
    term(tpr_lo - delta, fpr_hi).max(term(tnr_lo - delta, fnr_hi)).max(0.0)
}

/// The bound with the threshold and counts that gave it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EpsBound {
    pub value: f64,
    pub delta: f64,
    pub confidence: f64,
    /// Records scoring ≥ threshold are called members (`None`: no informative threshold).
    pub threshold: Option<f64>,
    /// Counts on the held-out half at that threshold.
    pub tp: u64,
    pub fn_: u64,
    pub tn: u64,
    pub fp: u64,
    pub method: &'static str,
}

/// Stratified random halves: returns a flag per record, `true` = selection half.
fn split_halves(member: &[bool], seed: u64) -> Vec<bool> {
    let mut rng = rng_for(seed, u64::MAX - 1);
    let mut sel = vec![false; member.len()];
    for class in [true, false] {
        let mut idx: Vec<usize> = (0..member.len()).filter(|&i| member[i] == class).collect();
        // Fisher–Yates, then the first half selects.
        for i in (1..idx.len()).rev() {
            let j = crate::bootstrap::uniform_below(&mut rng, i as u64 + 1) as usize;
            idx.swap(i, j);
        }
        for &i in &idx[..idx.len() / 2] {
            sel[i] = true;
        }
    }
    sel
}

/// Candidate thresholds: group scores on a log grid of FPR and of FNR, so a few hundred
/// Clopper–Pearson evaluations cover every operating regime.
fn candidate_groups(r: &RankedScores) -> Vec<usize> {
    let (np, nn) = (r.n_pos as f64, r.n_neg as f64);
    let levels: Vec<f64> = (0..=160).map(|i| 10f64.powf(-8.0 + i as f64 * 0.05)).collect();
    let mut fpr = Vec::with_capacity(r.n_groups());
    let mut fnr = Vec::with_capacity(r.n_groups());
    let (mut tp, mut fp) = (0u64, 0u64);
    for g in 0..r.n_groups() {
        tp += r.group_pos[g] as u64;
        fp += r.group_neg[g] as u64;
        fpr.push(fp as f64 / nn);
        fnr.push(1.0 - tp as f64 / np);
    }
    let mut out = Vec::new();
    for &l in &levels {
        // Last group with FPR ≤ l (most members caught at that FPR) ...
        let k = fpr.partition_point(|&f| f <= l);
        if k > 0 {
            out.push(k - 1);
        }
        // ... and first group with FNR ≤ l (fewest false alarms at that FNR).
        let k = fnr.partition_point(|&f| f > l);
        if k < fnr.len() {
            out.push(k);
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Chooses a threshold on a seeded stratified half and bounds ε on the other half.
pub fn eps_lower_bound(scores: &[f64], member: &[bool], delta: f64, confidence: f64, seed: u64) -> EpsBound {
    let sel = split_halves(member, seed);
    let pick = |want: bool| -> (Vec<f64>, Vec<bool>) {
        (0..scores.len()).filter(|&i| sel[i] == want).map(|i| (scores[i], member[i])).unzip()
    };
    let (sa, ma) = pick(true);
    let (sb, mb) = pick(false);
    let none = EpsBound {
        value: 0.0,
        delta,
        confidence,
        threshold: None,
        tp: 0,
        fn_: 0,
        tn: 0,
        fp: 0,
        method: "threshold chosen on a stratified random half, Clopper-Pearson rates on the other half",
    };
    let ra = RankedScores::new(&sa, &ma);
    if ra.n_pos == 0 || ra.n_neg == 0 {
        return none;
    }
    let mut cum = Vec::with_capacity(ra.n_groups());
    let (mut tp, mut fp) = (0u64, 0u64);
    for g in 0..ra.n_groups() {
        tp += ra.group_pos[g] as u64;
        fp += ra.group_neg[g] as u64;
        cum.push((tp, fp));
    }
    let mut best: Option<(f64, f64)> = None;
    for g in candidate_groups(&ra) {
        let (tp, fp) = cum[g];
        let e = eps_from_counts(tp, ra.n_pos - tp, ra.n_neg - fp, fp, delta, confidence);
        if best.is_none_or(|(b, _)| e > b) {
            best = Some((e, ra.group_score[g]));
        }
    }
    let Some((_, t)) = best else { return none };
    let (mut tp, mut fn_, mut tn, mut fp) = (0, 0, 0, 0);
    for (s, m) in sb.iter().zip(&mb) {
        match (*s >= t, *m) {
            (true, true) => tp += 1,
            (false, true) => fn_ += 1,
            (false, false) => tn += 1,
            (true, false) => fp += 1,
        }
    }
    EpsBound { value: eps_from_counts(tp, fn_, tn, fp, delta, confidence), threshold: Some(t), tp, fn_, tn, fp, ..none }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_signal_gives_zero() {
        assert_eq!(eps_from_counts(500, 500, 500, 500, 1e-5, 0.95), 0.0);
        // All members missed: TNR_lo ≈ 0.9963 over FNR_hi = 1 gives a negative log, so 0.
        assert_eq!(eps_from_counts(0, 1000, 1000, 0, 1e-5, 0.95), 0.0);
    }

    #[test]
    fn perfect_separation_gives_a_large_but_finite_bound() {
        let s: Vec<f64> = (0..4000).map(|i| if i % 2 == 0 { 1.0 } else { 0.0 }).collect();
        let m: Vec<bool> = (0..4000).map(|i| i % 2 == 0).collect();
        let b = eps_lower_bound(&s, &m, 1e-5, 0.95, 1);
        assert_eq!((b.tp, b.fp), (1000, 0));
        // FPR_hi for 0/1000 at 95 % is 1 − 0.025^(1/1000) ≈ 3.68e-3: ε ≈ ln(0.996/3.68e-3).
        assert!(b.value > 5.0 && b.value < 6.0, "{}", b.value);
    }

    #[test]
    fn split_is_stratified_and_seeded() {
        let m: Vec<bool> = (0..101).map(|i| i % 4 == 0).collect();
        let a = split_halves(&m, 3);
        assert_eq!(a, split_halves(&m, 3));
        assert_ne!(a, split_halves(&m, 4));
        let sel_members = (0..101).filter(|&i| a[i] && m[i]).count();
        assert_eq!(sel_members, 26 / 2);
    }
}
