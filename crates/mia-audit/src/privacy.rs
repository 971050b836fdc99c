//! The report's `privacy` section: a claimed (ε, δ) differential-privacy guarantee next to
//! each attack's empirical lower bound on ε at the same δ, and whether the claim is shown
//! false.
//!
//! A DP training procedure bounds every membership test's error rates (Kairouz et al., ICML
//! 2015), so a lower bound on ε that is itself a one-sided confidence bound and exceeds the
//! claimed ε shows, at that confidence, that the guarantee does not hold: a broken
//! implementation (unclipped gradients, noise on the wrong scale) or wrong accounting
//! (Jagielski et al., NeurIPS 2020; Nasr et al., USENIX Security 2021). Deciding over many
//! attacks at once is a family of tests: each attack's bound for the decision is taken at the
//! Bonferroni-corrected confidence, so a true claim is called violated with probability at
//! most `1 − confidence`. A bound at or below the claim says nothing in the claim's favour:
//! these attacks are far from optimal at this sample size.

use mia_core::attacks::AttackScores;
use mia_core::epsilon::eps_lower_bound;
use mia_core::evaluate::EvalConfig;
use mia_report::report::{Accountant, Privacy, PrivacyAttack, Worst};

/// A guarantee to check: computed by this tool's accountant for a built-in DP learner, or
/// stated by the user for a model trained elsewhere.
#[derive(Debug, Clone)]
pub(crate) struct Claim {
    pub source: &'static str,
    pub epsilon: f64,
    pub delta: f64,
    pub accountant: Option<Accountant>,
}

impl Claim {
    /// The guarantee of a DP-SGD fit on `training_rows` rows, as this tool accounted it.
    pub(crate) fn from_learner(g: &mia_models::dp::DpGuarantee, training_rows: usize) -> Claim {
        Claim {
            source: "learner",
            epsilon: g.epsilon,
            delta: g.delta,
            accountant: Some(Accountant {
                name: g.accountant.to_string(),
                noise_multiplier: g.noise_multiplier,
                sample_rate: g.sample_rate,
                steps: g.steps,
                max_grad_norm: g.max_grad_norm,
                order: g.order,
                training_rows,
            }),
        }
    }

    /// A guarantee the user states (`[target] claimed_epsilon`, `--claimed-epsilon`).
    pub(crate) fn stated(epsilon: f64, delta: f64) -> Claim {
        Claim { source: "claimed", epsilon, delta, accountant: None }
    }
}

/// Checks a stated claim's values; `what` names the setting pair in the message.
pub(crate) fn check_claim(epsilon: f64, delta: f64, what: &str) -> Result<(), String> {
    if !(epsilon.is_finite() && epsilon >= 0.0) {
        return Err(format!("{what}: claimed ε must be a finite number ≥ 0, got {epsilon}"));
    }
    if !(delta > 0.0 && delta < 1.0) {
        return Err(format!("{what}: claimed δ must be in (0, 1), got {delta}"));
    }
    Ok(())
}

/// Every attack's ε lower bound at the claimed δ, at the report's confidence and at the
/// family's, and the verdict. The threshold-selection split is the evaluation's (same seed).
pub(crate) fn privacy(claim: &Claim, attacks: &[&AttackScores], member: &[bool], eval: &EvalConfig) -> Privacy {
    let family = attacks.len().max(1) as f64;
    let decision_confidence = 1.0 - (1.0 - eval.confidence) / family;
    let rows: Vec<PrivacyAttack> = attacks
        .iter()
        .map(|a| {
            let at = eps_lower_bound(&a.scores, member, claim.delta, eval.confidence, eval.seed).value;
            let decision = eps_lower_bound(&a.scores, member, claim.delta, decision_confidence, eval.seed).value;
            PrivacyAttack {
                attack: a.name.clone(),
                eps_lower_bound: at,
                eps_lower_bound_for_decision: decision,
                exceeds_claim: decision > claim.epsilon,
            }
        })
        .collect();
    let mut max = Worst { attack: String::new(), value: 0.0 };
    for r in &rows {
        if max.attack.is_empty() || r.eps_lower_bound > max.value {
            max = Worst { attack: r.attack.clone(), value: r.eps_lower_bound };
        }
    }
    Privacy {
        source: claim.source.into(),
        claimed_epsilon: claim.epsilon,
        claimed_delta: claim.delta,
        accountant: claim.accountant.clone(),
        confidence: eval.confidence,
        decision_confidence,
        claim_violated: rows.iter().any(|r| r.exceeds_claim),
        attacks: rows,
        max_eps_lower_bound: max,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attack(name: &str, scores: Vec<f64>) -> AttackScores {
        AttackScores { name: name.into(), description: String::new(), scores, fitting: None }
    }

    /// 400 members scored 1 and 400 non-members scored 0: a perfect attack. Its bound at
    /// δ = 1e-5 is ln(TPR_lo / FPR_hi) with Clopper–Pearson ends on the held-out half
    /// (200 + 200), far above ε = 1, so a claim of ε = 1 is shown false; a claim of ε = 20
    /// is not (no 400-record test can bound ε that high).
    #[test]
    fn perfect_attack_violates_a_small_claim_only() {
        let member: Vec<bool> = (0..800).map(|i| i < 400).collect();
        let perfect = attack("perfect", member.iter().map(|&m| f64::from(u8::from(m))).collect());
        let noise = attack("noise", (0..800).map(|i| ((i * 7919) % 800) as f64).collect());
        let eval = EvalConfig::default();
        let p = privacy(&Claim::stated(1.0, 1e-5), &[&noise, &perfect], &member, &eval);
        assert!((p.decision_confidence - (1.0 - 0.05 / 2.0)).abs() < 1e-15);
        assert!(p.claim_violated);
        assert_eq!(p.max_eps_lower_bound.attack, "perfect");
        let perfect_row = &p.attacks[1];
        assert!(perfect_row.exceeds_claim && perfect_row.eps_lower_bound > 3.0, "{perfect_row:?}");
        // The decision bound is at a higher confidence, so it is no larger.
        assert!(perfect_row.eps_lower_bound_for_decision <= perfect_row.eps_lower_bound);
        assert!(!p.attacks[0].exceeds_claim);
        let lenient = privacy(&Claim::stated(20.0, 1e-5), &[&noise, &perfect], &member, &eval);
        assert!(!lenient.claim_violated);
    }

    #[test]
    fn claims_out_of_range_are_refused() {
        assert!(check_claim(1.0, 1e-5, "x").is_ok());
        assert!(check_claim(-1.0, 1e-5, "x").unwrap_err().contains("ε"));
        assert!(check_claim(f64::INFINITY, 1e-5, "x").is_err());
        assert!(check_claim(1.0, 0.0, "x").unwrap_err().contains("(0, 1)"));
        assert!(check_claim(1.0, 1.0, "x").is_err());
    }
}
