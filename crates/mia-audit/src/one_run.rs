//! The report's `one_run` section: the one-run audit ([`mia_core::one_run`], Steinke, Nasr &
//! Jagielski, NeurIPS 2023) over the attacks of an audit whose membership is a fair coin per
//! record — `[plan] target = "one_run"`, or a score file's member column with `mia score
//! --one-run`.
//!
//! Two things keep the guesses blind to the coins, as the theorem needs. Attacks fitted on the
//! records' membership (cross-fitted thresholds, the learned attack) are left out: their
//! scores depend on other canaries' coins. And ties are broken by a seeded random order of the
//! records, not by their position, since a score file's rows may be sorted by membership.

use crate::AuditError;
use mia_core::attacks::AttackScores;
use mia_core::bootstrap::{rng_for, uniform_below};
use mia_core::evaluate::EvalConfig;
use mia_core::one_run::{OneRunSpec, fair_coin_p_value, one_run_audit_family};
use mia_report::report::OneRun;

/// Stream of the run seed for the tie-breaking order.
const TIE_ORDER: u64 = 0x4f4e_455f_5255_4e5f;

/// Below this two-sided p-value the member column is taken for something other than fair coins.
/// A real coin lands this far from half once in a million audits.
const NOT_COINS: f64 = 1e-6;

/// The one-run section for `attacks` scored on canaries whose inclusion was `coins`.
pub(crate) fn one_run(attacks: &[&AttackScores], coins: &[bool], eval: &EvalConfig) -> Result<OneRun, AuditError> {
    let m = coins.len();
    let included = coins.iter().filter(|&&c| c).count();
    let p = fair_coin_p_value(included as u64, m as u64);
    if m >= mia_core::one_run::MIN_CANARIES && p < NOT_COINS {
        return Err(AuditError::Input(format!(
            "one_run: {included} of {m} records are members, which independent fair coins give with probability \
             {p:.1e}; the one-run audit needs each record included with probability 1/2, independently"
        )));
    }
    let (blind, fitted): (Vec<&AttackScores>, Vec<&AttackScores>) =
        attacks.iter().copied().partition(|a| a.fitting.is_none());
    if blind.is_empty() {
        return Err(AuditError::Input(
            "one_run: every attack that ran was fitted on the records' membership; run an attack that is not (loss, \
             lira_online, ...)"
                .into(),
        ));
    }
    // A seeded random order of the records (Fisher–Yates), applied to scores and coins alike.
    let mut order: Vec<usize> = (0..m).collect();
    let mut rng = rng_for(eval.seed, TIE_ORDER);
    for i in (1..m).rev() {
        order.swap(i, uniform_below(&mut rng, i as u64 + 1) as usize);
    }
    let coins: Vec<bool> = order.iter().map(|&i| coins[i]).collect();
    let scores: Vec<Vec<f64>> = blind.iter().map(|a| order.iter().map(|&i| a.scores[i]).collect()).collect();
    let named: Vec<(&str, &[f64])> = blind.iter().zip(&scores).map(|(a, s)| (a.name.as_str(), s.as_slice())).collect();
    let spec = OneRunSpec::new(m, eval.delta, eval.confidence);
    let family = one_run_audit_family(&named, &coins, &spec).map_err(|e| AuditError::Input(e.to_string()))?;
    let best =
        family.attacks.iter().find(|a| Some(&a.attack) == family.best_attack.as_ref()).unwrap_or(&family.attacks[0]);
    let b = &best.audit;
    Ok(OneRun {
        epsilon_lower_bound: family.epsilon_lower_bound,
        attack: family.best_attack.clone(),
        canaries: b.canaries,
        included: b.included,
        guesses: b.guesses,
        correct: b.correct,
        k_plus: b.k_plus,
        k_minus: b.k_minus,
        delta: family.delta,
        confidence: family.confidence,
        tests: family.tests,
        per_test_confidence: family.per_test_confidence,
        rule: format!("{} Ties are broken by a seeded random order of the records.", b.rule),
        excluded_attacks: fitted.iter().map(|a| a.name.clone()).collect(),
        attacks: family.attacks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mia_core::attacks::Fitting;

    fn attack(name: &str, scores: Vec<f64>, fitted: bool) -> AttackScores {
        let fitting = fitted.then(|| Fitting { method: "test".into(), folds: 2, seed: 0, notes: vec![] });
        AttackScores { name: name.into(), description: String::new(), scores, fitting }
    }

    /// Rows sorted members first with constant scores: breaking ties by position would guess
    /// every member IN and every non-member OUT, a large bound from nothing. The seeded order
    /// keeps the bound at 0.
    #[test]
    fn ties_do_not_leak_the_row_order() {
        let coins: Vec<bool> = (0..1000).map(|i| i < 500).collect();
        let flat = attack("flat", vec![1.0; 1000], false);
        let r = one_run(&[&flat], &coins, &EvalConfig::default()).unwrap();
        assert_eq!(r.epsilon_lower_bound, 0.0, "{r:?}");
        assert_eq!(r.attack, None);
    }

    /// A fitted attack is excluded and named; a perfect blind attack gives a bound, and the
    /// counts are its best grid point's.
    #[test]
    fn fitted_attacks_are_left_out() {
        let coins: Vec<bool> = (0..1000u64).map(|i| (i * 2_654_435_761) % 4096 < 2048).collect();
        let perfect = attack("perfect", coins.iter().map(|&c| f64::from(u8::from(c))).collect(), false);
        let fitted = attack("fitted", perfect.scores.clone(), true);
        let r = one_run(&[&fitted, &perfect], &coins, &EvalConfig::default()).unwrap();
        assert_eq!(r.excluded_attacks, vec!["fitted".to_string()]);
        assert_eq!(r.attacks.len(), 1);
        assert_eq!(r.attack.as_deref(), Some("perfect"));
        assert!(r.epsilon_lower_bound > 1.0, "{r:?}");
        assert_eq!(r.canaries, 1000);
        assert_eq!(r.included, coins.iter().filter(|&&c| c).count());
        // Right on every guess but where the grid's k₊ overshoots the 499 members by one.
        assert!(r.correct + 1 >= r.guesses && r.guesses >= 900, "{r:?}");
        let e = one_run(&[&fitted], &coins, &EvalConfig::default()).unwrap_err().to_string();
        assert!(e.contains("every attack that ran was fitted"), "{e}");
        let skewed: Vec<bool> = (0..1000).map(|i| i % 10 == 0).collect();
        let e = one_run(&[&perfect], &skewed, &EvalConfig::default()).unwrap_err().to_string();
        assert!(e.contains("100 of 1000 records are members") && e.contains("probability 1/2"), "{e}");
        let few = attack("few", perfect.scores[..99].to_vec(), false);
        let e = one_run(&[&few], &coins[..99], &EvalConfig::default()).unwrap_err().to_string();
        assert!(e.contains("at least 100 canaries, got 99"), "{e}");
    }
}
