//! The one-run audit's ε lower bound (Steinke, Nasr & Jagielski, "Privacy Auditing with One (1)
//! Training Run", NeurIPS 2023).
//!
//! Setting: m canary records, each included in the single training run independently with
//! probability ½. The auditor guesses "in" or "out" for r of them (abstaining on the rest) and
//! is right v times. If training is (ε, δ)-DP, the number of right guesses is dominated by that
//! of ε-randomised response on r coins, Binomial(r, q) with q = e^ε / (1 + e^ε), up to a δ term:
//! the paper's theorem bounds
//!
//! P[v or more right] ≤ P[Binomial(r, q) ≥ v] + 2 m δ · max_{1 ≤ i ≤ v} P[v − i ≤ Binomial(r, q) < v] / i.
//!
//! That bound is the p-value of "training is (ε, δ)-DP" given v right guesses
//! ([`one_run_p_value`]); it grows with ε, and the lower bound reported at a confidence c is the
//! largest ε still rejected at level 1 − c ([`one_run_epsilon_lower_bound`]). The guesses (which
//! canaries, how many abstentions) must be fixed without looking at the coins, or the bound is
//! void; choosing among several abstention counts is paid for by the caller (a split or a
//! Bonferroni correction).
//!
//! The binomial terms are computed in log space from `ln Γ` (statrs), so r in the millions
//! neither overflows nor loses the far tail.
//!
//! The audit ([`one_run_audit`], [`one_run_audit_family`]) fixes the guessing rule before it
//! sees the coins: rank the canaries by score, guess "in" for the k₊ highest and "out" for the
//! k₋ lowest, abstain on the rest. (k₊, k₋) is chosen from a grid fixed in advance
//! ([`OneRunSpec::default_grid`]); every grid point (and, for a family, every attack × grid
//! point) is tested at the Bonferroni confidence 1 − (1 − c)/G, so the largest of the G bounds
//! holds at confidence c.

use serde::Serialize;
use statrs::function::gamma::ln_gamma;

/// Why a one-run bound cannot be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OneRunError {
    /// The counts must satisfy 0 ≤ v ≤ r ≤ m and m ≥ 1.
    #[error(
        "one-run counts must satisfy 0 <= correct <= guesses <= canaries and canaries >= 1, got {canaries} canaries, {guesses} guesses, {correct} correct"
    )]
    Counts { canaries: u64, guesses: u64, correct: u64 },
    /// δ outside [0, 1), ε negative or not finite, or a confidence outside (0, 1).
    #[error("{name} = {value}: expected {expected}")]
    Setting { name: &'static str, value: f64, expected: &'static str },
    /// An audit on fewer than [`MIN_CANARIES`] canaries.
    #[error(
        "one_run needs at least 100 canaries, got {canaries}: fewer cannot bound ε above about 3 even with every guess right"
    )]
    TooFewCanaries { canaries: usize },
    /// Scores and membership flags of different lengths (`attack` is empty outside a family).
    #[error("one-run audit{}: {scores} scores but {included} membership flags", of_attack(.attack))]
    Lengths { attack: String, scores: usize, included: usize },
    /// A score that is NaN or infinite.
    #[error("one-run audit{}: score of record {index} is {value}, expected a finite number", of_attack(.attack))]
    NonFiniteScore { attack: String, index: usize, value: f64 },
    /// No (k₊, k₋) to try.
    #[error("one-run grid is empty: give at least one (k_plus, k_minus)")]
    EmptyGrid,
    /// A grid point guessing none or more canaries than there are.
    #[error(
        "one-run grid point (k_plus = {k_plus}, k_minus = {k_minus}): expected 1 <= k_plus + k_minus <= {canaries} canaries"
    )]
    GridPoint { k_plus: usize, k_minus: usize, canaries: usize },
    /// A family with no attacks.
    #[error("one-run audit family has no attacks")]
    NoAttacks,
}

/// ` of attack "name"` for an error message, or nothing outside a family.
fn of_attack(attack: &str) -> String {
    if attack.is_empty() { String::new() } else { format!(" of attack \"{attack}\"") }
}

fn check_counts(canaries: u64, guesses: u64, correct: u64) -> Result<(), OneRunError> {
    if canaries == 0 || guesses > canaries || correct > guesses {
        return Err(OneRunError::Counts { canaries, guesses, correct });
    }
    Ok(())
}

fn check_delta(delta: f64) -> Result<(), OneRunError> {
    if !(0.0..1.0).contains(&delta) {
        return Err(OneRunError::Setting { name: "delta", value: delta, expected: "a number in [0, 1)" });
    }
    Ok(())
}

fn check_confidence(confidence: f64) -> Result<(), OneRunError> {
    if !(confidence > 0.0 && confidence < 1.0) {
        return Err(OneRunError::Setting { name: "confidence", value: confidence, expected: "a number in (0, 1)" });
    }
    Ok(())
}

/// ln P[Binomial(r, q) = k], with q given as (ln q, ln(1 − q)).
fn ln_pmf(r: u64, k: u64, ln_q: f64, ln_not_q: f64) -> f64 {
    let (r, kf) = (r as f64, k as f64);
    ln_gamma(r + 1.0) - ln_gamma(kf + 1.0) - ln_gamma(r - kf + 1.0) + kf * ln_q + (r - kf) * ln_not_q
}

/// The bound on P[v or more right guesses out of r] when training is (ε, δ)-DP with m canaries:
/// the p-value of that hypothesis (at most 1).
pub fn one_run_p_value(
    canaries: u64,
    guesses: u64,
    correct: u64,
    epsilon: f64,
    delta: f64,
) -> Result<f64, OneRunError> {
    check_counts(canaries, guesses, correct)?;
    check_delta(delta)?;
    if !(epsilon.is_finite() && epsilon >= 0.0) {
        return Err(OneRunError::Setting { name: "epsilon", value: epsilon, expected: "a finite number >= 0" });
    }
    let (r, v) = (guesses, correct);
    // ln q and ln(1 − q) for q = 1 / (1 + e^−ε), without cancellation.
    let ln_q = -(-epsilon).exp().ln_1p();
    let ln_not_q = -epsilon.exp().ln_1p();
    let pmf = |k: u64| ln_pmf(r, k, ln_q, ln_not_q).exp();
    // P[Binomial(r, q) ≥ v], summed from the far end so small terms are not lost.
    let tail: f64 = (v..=r).rev().map(pmf).sum();
    // max over i of P[v − i ≤ Binomial < v] / i.
    let (mut window, mut worst) = (0.0f64, 0.0f64);
    for i in 1..=v {
        window += pmf(v - i);
        worst = worst.max(window / i as f64);
    }
    Ok((tail + worst * delta * 2.0 * canaries as f64).min(1.0))
}

/// The two-sided exact binomial p-value of `included` members among `canaries` records under
/// independent fair coins: 2·P[Binomial(m, ½) ≤ min(k, m − k)], at most 1. The one-run theorem
/// holds only for such coins; a member column far from half (an ordinary audit's 10 % members)
/// is not one, and this says how far.
pub fn fair_coin_p_value(included: u64, canaries: u64) -> f64 {
    let low = included.min(canaries.saturating_sub(included));
    let half = 0.5f64.ln();
    let tail: f64 = (0..=low).rev().map(|k| ln_pmf(canaries, k, half, half).exp()).sum();
    (2.0 * tail).min(1.0)
}

/// Bisection steps of [`one_run_epsilon_lower_bound`] after bracketing: the bracket's width
/// halves each time, to below 1e-12 of its upper end.
const BISECTIONS: usize = 60;

/// The largest ε at which (ε, δ)-DP is rejected at level 1 − `confidence` given v right guesses
/// out of r on m canaries (0 when even ε = 0 is not rejected). A one-sided lower bound: training
/// is not (ε', δ)-DP for any ε' below it, with confidence `confidence`.
pub fn one_run_epsilon_lower_bound(
    canaries: u64,
    guesses: u64,
    correct: u64,
    delta: f64,
    confidence: f64,
) -> Result<f64, OneRunError> {
    check_counts(canaries, guesses, correct)?;
    check_delta(delta)?;
    check_confidence(confidence)?;
    let level = 1.0 - confidence;
    let p = |eps: f64| one_run_p_value(canaries, guesses, correct, eps, delta);
    if p(0.0)? >= level {
        return Ok(0.0);
    }
    // Bracket p(low) < level ≤ p(high) by doubling: as ε grows q → 1 and P[Binomial(r, q) ≥ v]
    // → 1 for any v ≤ r, so an upper end exists (past ε = 1e6 the last ε rejected is reported).
    let (mut low, mut high) = (0.0f64, 1.0f64);
    while p(high)? < level {
        low = high;
        high *= 2.0;
        if high > 1e6 {
            return Ok(low);
        }
    }
    for _ in 0..BISECTIONS {
        let mid = 0.5 * (low + high);
        if p(mid)? < level {
            low = mid;
        } else {
            high = mid;
        }
    }
    Ok(low)
}

/// The fewest canaries an audit accepts: a floor the project sets, not a limit of the theorem
/// (with perfect guesses on 99 canaries the default grid still gives ε ≈ 3 at 95 %).
pub const MIN_CANARIES: usize = 100;

/// How the auditor decides which canaries to guess. The grid must be fixed before the scores
/// or the coins are seen; every point of it is paid for in the Bonferroni correction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OneRunSpec {
    pub delta: f64,
    /// Confidence of the reported bound (the maximum over the grid), in (0, 1).
    pub confidence: f64,
    /// Candidate guess counts (k₊, k₋): guess "in" for the k₊ highest scores and "out" for the
    /// k₋ lowest. [`OneRunSpec::default_grid`] unless the caller fixed another in advance.
    pub grid: Vec<(usize, usize)>,
}

impl OneRunSpec {
    /// The spec with [`OneRunSpec::default_grid`] for m canaries.
    pub fn new(canaries: usize, delta: f64, confidence: f64) -> Self {
        OneRunSpec { delta, confidence, grid: Self::default_grid(canaries) }
    }

    /// Total guess counts r ≈ m/100, m/50, m/20, m/10, m/5, m/2 and m (rounded, at least 1, at
    /// most m), split k₊ = ⌈r/2⌉, k₋ = ⌊r/2⌋; counts below 2 and repeats are dropped.
    pub fn default_grid(canaries: usize) -> Vec<(usize, usize)> {
        let mut grid: Vec<(usize, usize)> = Vec::new();
        for divisor in [100.0, 50.0, 20.0, 10.0, 5.0, 2.0, 1.0] {
            let r = ((canaries as f64 / divisor).round() as usize).clamp(1, canaries.max(1));
            let point = (r.div_ceil(2), r / 2);
            if r >= 2 && !grid.contains(&point) {
                grid.push(point);
            }
        }
        grid
    }
}

/// One (k₊, k₋) of the grid and the bound it gave at the per-test confidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OneRunGridPoint {
    pub k_plus: usize,
    pub k_minus: usize,
    /// In-guesses that were included plus out-guesses that were not.
    pub correct: usize,
    pub epsilon_lower_bound: f64,
}

/// A one-run audit of one score vector: the grid point with the largest bound, and every
/// grid point's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OneRunAudit {
    pub canaries: usize,
    /// Canaries whose coin put them in the training run.
    pub included: usize,
    /// k₊ + k₋ at the best grid point.
    pub guesses: usize,
    pub correct: usize,
    pub k_plus: usize,
    pub k_minus: usize,
    /// Canaries not guessed at the best grid point: m − k₊ − k₋.
    pub abstained: usize,
    /// The largest grid point's bound: holds at `confidence`.
    pub epsilon_lower_bound: f64,
    pub delta: f64,
    pub confidence: f64,
    /// Tests in the Bonferroni family: the grid's size (times the attacks, in a family).
    pub tests: usize,
    /// Confidence each grid point was tested at (Bonferroni): 1 − (1 − confidence)/tests.
    pub per_test_confidence: f64,
    pub grid: Vec<OneRunGridPoint>,
    /// The guessing rule in plain words.
    pub rule: String,
}

/// One attack's audit within a family.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OneRunAttackAudit {
    pub attack: String,
    #[serde(flatten)]
    pub audit: OneRunAudit,
}

/// Several attacks audited on the same canaries as one Bonferroni family of attacks × grid
/// tests: every entry's bounds are at the family's per-test confidence, so the largest of them
/// holds at `confidence`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OneRunFamily {
    pub attacks: Vec<OneRunAttackAudit>,
    /// The attack with the largest bound (the first on ties); `None` when every bound is 0.
    pub best_attack: Option<String>,
    /// The largest bound over attacks and grid points: holds at `confidence`.
    pub epsilon_lower_bound: f64,
    pub delta: f64,
    pub confidence: f64,
    /// attacks × grid points.
    pub tests: usize,
    /// 1 − (1 − confidence)/tests.
    pub per_test_confidence: f64,
}

/// Ranks the canaries by score, highest first, ties broken by record index (lower first), and
/// returns `members[j]` = included canaries among the first j of that order (j = 0..=m). The
/// scores do not depend on the index, so the order is fixed without looking at the coins.
fn rank(attack: &str, scores: &[f64], included: &[bool]) -> Result<Vec<usize>, OneRunError> {
    if scores.len() != included.len() {
        return Err(OneRunError::Lengths {
            attack: attack.to_string(),
            scores: scores.len(),
            included: included.len(),
        });
    }
    if let Some(index) = scores.iter().position(|s| !s.is_finite()) {
        return Err(OneRunError::NonFiniteScore { attack: attack.to_string(), index, value: scores[index] });
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    // Stable sort: equal scores keep index order. `partial_cmp` (all finite) ties −0 with +0.
    order.sort_by(|&a, &b| scores[b].partial_cmp(&scores[a]).unwrap_or(std::cmp::Ordering::Equal));
    let mut members = Vec::with_capacity(order.len() + 1);
    members.push(0);
    for &i in &order {
        members.push(members[members.len() - 1] + usize::from(included[i]));
    }
    Ok(members)
}

/// Checks what does not depend on the scores: m, δ, the confidence and the grid.
fn check_spec(canaries: usize, spec: &OneRunSpec) -> Result<(), OneRunError> {
    if canaries < MIN_CANARIES {
        return Err(OneRunError::TooFewCanaries { canaries });
    }
    check_delta(spec.delta)?;
    check_confidence(spec.confidence)?;
    if spec.grid.is_empty() {
        return Err(OneRunError::EmptyGrid);
    }
    for &(k_plus, k_minus) in &spec.grid {
        let r = k_plus.checked_add(k_minus);
        if r.is_none_or(|r| r == 0 || r > canaries) {
            return Err(OneRunError::GridPoint { k_plus, k_minus, canaries });
        }
    }
    Ok(())
}

/// The audit of one ranked score vector with every grid point at `per_test_confidence`.
fn audit_ranked(
    members: &[usize],
    spec: &OneRunSpec,
    tests: usize,
    per_test_confidence: f64,
    rule: String,
) -> Result<OneRunAudit, OneRunError> {
    let m = members.len() - 1;
    let included = members[m];
    let mut grid = Vec::with_capacity(spec.grid.len());
    for &(k_plus, k_minus) in &spec.grid {
        // In-guesses: the first k₊ of the order; out-guesses: the last k₋.
        let correct = members[k_plus] + k_minus - (included - members[m - k_minus]);
        let r = (k_plus + k_minus) as u64;
        let epsilon_lower_bound =
            one_run_epsilon_lower_bound(m as u64, r, correct as u64, spec.delta, per_test_confidence)?;
        grid.push(OneRunGridPoint { k_plus, k_minus, correct, epsilon_lower_bound });
    }
    // The first grid point with the largest bound.
    let best = grid.iter().fold(&grid[0], |b, g| if g.epsilon_lower_bound > b.epsilon_lower_bound { g } else { b });
    Ok(OneRunAudit {
        canaries: m,
        included,
        guesses: best.k_plus + best.k_minus,
        correct: best.correct,
        k_plus: best.k_plus,
        k_minus: best.k_minus,
        abstained: m - best.k_plus - best.k_minus,
        epsilon_lower_bound: best.epsilon_lower_bound,
        delta: spec.delta,
        confidence: spec.confidence,
        tests,
        per_test_confidence,
        grid,
        rule,
    })
}

/// 1 − (1 − confidence)/tests.
fn bonferroni(confidence: f64, tests: usize) -> f64 {
    1.0 - (1.0 - confidence) / tests as f64
}

const RULE: &str = "guess IN for the k₊ highest scores and OUT for the k₋ lowest, abstain on the rest \
                    (ties broken by record index)";

/// The one-run audit of one attack: `scores[i]` (higher = more likely included) and the coin
/// `included[i]` of canary i. Guesses "in" for the k₊ highest scores and "out" for the k₋ lowest
/// at every (k₊, k₋) of `spec.grid`; equal scores are ranked by record index, lower first, which
/// the coins cannot influence. Each grid point's bound is at 1 − (1 − confidence)/G for G grid
/// points, and the reported bound, their maximum, holds at `spec.confidence`.
pub fn one_run_audit(scores: &[f64], included: &[bool], spec: &OneRunSpec) -> Result<OneRunAudit, OneRunError> {
    if scores.len() != included.len() {
        return Err(OneRunError::Lengths { attack: String::new(), scores: scores.len(), included: included.len() });
    }
    check_spec(included.len(), spec)?;
    let members = rank("", scores, included)?;
    let tests = spec.grid.len();
    let rule = format!("{RULE}; (k₊, k₋) from a fixed grid of {tests} choices, Bonferroni-corrected");
    audit_ranked(&members, spec, tests, bonferroni(spec.confidence, tests), rule)
}

/// Several attacks on the same canaries at once: the Bonferroni family is attacks × grid, so
/// every entry's bounds are at 1 − (1 − confidence)/(attacks × G) and the overall maximum holds
/// at `spec.confidence`. Entries keep the order of `attacks`.
pub fn one_run_audit_family(
    attacks: &[(&str, &[f64])],
    included: &[bool],
    spec: &OneRunSpec,
) -> Result<OneRunFamily, OneRunError> {
    if attacks.is_empty() {
        return Err(OneRunError::NoAttacks);
    }
    check_spec(included.len(), spec)?;
    let tests = attacks.len() * spec.grid.len();
    let per_test_confidence = bonferroni(spec.confidence, tests);
    let rule = format!(
        "{RULE}; (k₊, k₋) from a fixed grid of {} choices for each of {} attacks, {tests} tests Bonferroni-corrected",
        spec.grid.len(),
        attacks.len()
    );
    let mut entries = Vec::with_capacity(attacks.len());
    for &(name, scores) in attacks {
        let members = rank(name, scores, included)?;
        let audit = audit_ranked(&members, spec, tests, per_test_confidence, rule.clone())?;
        entries.push(OneRunAttackAudit { attack: name.to_string(), audit });
    }
    let best = entries
        .iter()
        .fold(&entries[0], |b, e| if e.audit.epsilon_lower_bound > b.audit.epsilon_lower_bound { e } else { b });
    let epsilon_lower_bound = best.audit.epsilon_lower_bound;
    Ok(OneRunFamily {
        best_attack: (epsilon_lower_bound > 0.0).then(|| best.attack.clone()),
        epsilon_lower_bound,
        attacks: entries,
        delta: spec.delta,
        confidence: spec.confidence,
        tests,
        per_test_confidence,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With δ = 0 the p-value is the randomised-response binomial tail; at ε = 0 it is the
    /// fair-coin tail (checked against the exact sum with binomial coefficients).
    #[test]
    fn delta_zero_is_the_binomial_tail() {
        // r = 10, v = 8, q = ½: (C(10,8) + C(10,9) + C(10,10)) / 2¹⁰ = 56 / 1024.
        let p = one_run_p_value(100, 10, 8, 0.0, 0.0).unwrap();
        assert!((p - 56.0 / 1024.0).abs() < 1e-14, "{p}");
        // q = e / (1 + e), v = r = 3: q³.
        let q = 1.0f64.exp() / (1.0 + 1.0f64.exp());
        let p = one_run_p_value(50, 3, 3, 1.0, 0.0).unwrap();
        assert!((p - q.powi(3)).abs() < 1e-14, "{p} vs {}", q.powi(3));
    }

    /// The fair-coin p-value is the exact two-sided binomial sum: 2 of 10 gives
    /// 2·(1 + 10 + 45)/1024; half gives 1; 0 of 1,000 gives 2·2⁻¹⁰⁰⁰ (no underflow to 0 before
    /// the last step).
    #[test]
    fn fair_coin_p_value_is_the_binomial_tail() {
        assert!((fair_coin_p_value(2, 10) - 112.0 / 1024.0).abs() < 1e-14);
        assert!((fair_coin_p_value(8, 10) - 112.0 / 1024.0).abs() < 1e-14);
        assert_eq!(fair_coin_p_value(5, 10), 1.0);
        assert!(fair_coin_p_value(0, 1000) < 1e-290);
        assert!(fair_coin_p_value(100, 1000) < 1e-100);
        assert!(fair_coin_p_value(480, 1000) > 0.2);
    }

    /// More right guesses give a larger bound; more δ a smaller one; chance-level guessing none.
    #[test]
    fn the_bound_moves_the_right_way() {
        let b = |v, delta| one_run_epsilon_lower_bound(1000, 200, v, delta, 0.95).unwrap();
        let by_v: Vec<f64> = [110, 130, 150, 170, 190, 200].iter().map(|&v| b(v, 1e-5)).collect();
        assert!(by_v.windows(2).all(|w| w[0] < w[1]), "{by_v:?}");
        assert!(b(180, 1e-3) < b(180, 1e-9), "{} vs {}", b(180, 1e-3), b(180, 1e-9));
        assert_eq!(b(100, 1e-5), 0.0);
        assert_eq!(b(0, 0.0), 0.0);
    }

    /// The bound is where the p-value crosses the level: just below it the hypothesis is
    /// rejected, just above it not.
    #[test]
    fn the_bound_is_the_rejection_boundary() {
        let (m, r, v, delta) = (1000, 300, 240, 1e-5);
        let eps = one_run_epsilon_lower_bound(m, r, v, delta, 0.95).unwrap();
        assert!(eps > 0.5, "{eps}");
        assert!(one_run_p_value(m, r, v, eps, delta).unwrap() < 0.05);
        assert!(one_run_p_value(m, r, v, eps * (1.0 + 1e-9) + 1e-12, delta).unwrap() >= 0.05 - 1e-12);
    }

    #[test]
    fn bad_counts_and_settings_are_errors() {
        assert!(matches!(one_run_p_value(0, 0, 0, 1.0, 0.0), Err(OneRunError::Counts { .. })));
        assert!(matches!(one_run_p_value(10, 11, 0, 1.0, 0.0), Err(OneRunError::Counts { .. })));
        assert!(matches!(one_run_p_value(10, 5, 6, 1.0, 0.0), Err(OneRunError::Counts { .. })));
        assert!(matches!(one_run_p_value(10, 5, 3, -1.0, 0.0), Err(OneRunError::Setting { name: "epsilon", .. })));
        assert!(matches!(one_run_p_value(10, 5, 3, 1.0, 1.0), Err(OneRunError::Setting { name: "delta", .. })));
        let e = one_run_epsilon_lower_bound(10, 5, 3, 0.0, 1.0).unwrap_err();
        assert!(e.to_string().starts_with("confidence = 1"), "{e}");
    }

    /// A fixed pseudo-random stream for the tests (Knuth's MMIX LCG, top 53 bits).
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> f64 {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
        fn coins(seed: u64, m: usize) -> Vec<bool> {
            let mut g = Lcg(seed);
            (0..m).map(|_| g.next() < 0.5).collect()
        }
    }

    fn spec(grid: Vec<(usize, usize)>) -> OneRunSpec {
        OneRunSpec { delta: 1e-5, confidence: 0.95, grid }
    }

    #[test]
    fn the_default_grid_is_the_fixed_fractions_split_in_two() {
        let g = OneRunSpec::default_grid(1000);
        assert_eq!(g, vec![(5, 5), (10, 10), (25, 25), (50, 50), (100, 100), (250, 250), (500, 500)]);
        // m = 150: r = 2 (1.5 rounded), 3, 8 (7.5), 15, 30, 75, 150; odd r puts the extra guess IN.
        let g = OneRunSpec::default_grid(150);
        assert_eq!(g, vec![(1, 1), (2, 1), (4, 4), (8, 7), (15, 15), (38, 37), (75, 75)]);
        // m = 100: r = 1 is dropped.
        assert_eq!(OneRunSpec::default_grid(100), vec![(1, 1), (3, 2), (5, 5), (10, 10), (25, 25), (50, 50)]);
        // Tiny m: r < 2 and repeats are dropped.
        assert_eq!(OneRunSpec::default_grid(3), vec![(1, 1), (2, 1)]);
        assert_eq!(OneRunSpec::default_grid(1), vec![]);
        assert_eq!(OneRunSpec::new(1000, 1e-5, 0.95).grid, OneRunSpec::default_grid(1000));
    }

    /// Perfect scores (the coin plus a distinct jitter by index): a positive bound, equal to the
    /// bound recomputed here from counts made by hand at the Bonferroni confidence.
    #[test]
    fn perfect_scores_give_the_bound_of_the_best_grid_point() {
        let m = 1000;
        let inc = Lcg::coins(7, m);
        let scores: Vec<f64> = (0..m).map(|i| f64::from(u8::from(inc[i])) + i as f64 * 1e-6).collect();
        let spec = OneRunSpec::new(m, 1e-5, 0.95);
        let a = one_run_audit(&scores, &inc, &spec).unwrap();
        let g = spec.grid.len();
        let n_in = inc.iter().filter(|&&b| b).count();
        let per_test = 1.0 - 0.05 / g as f64;
        assert_eq!(a.per_test_confidence, per_test);
        assert_eq!((a.canaries, a.included, a.tests), (m, n_in, g));
        // Scores separate the classes, so the top k₊ are all IN up to n_in and the bottom k₋ all OUT.
        let mut best = 0.0f64;
        for (point, &(kp, km)) in a.grid.iter().zip(&spec.grid) {
            let correct = kp.min(n_in) + km.min(m - n_in);
            assert_eq!((point.k_plus, point.k_minus, point.correct), (kp, km, correct));
            let e = one_run_epsilon_lower_bound(m as u64, (kp + km) as u64, correct as u64, 1e-5, per_test).unwrap();
            assert_eq!(point.epsilon_lower_bound, e);
            best = best.max(e);
        }
        assert!(a.epsilon_lower_bound > 0.0);
        assert_eq!(a.epsilon_lower_bound, best);
        assert_eq!(a.guesses, a.k_plus + a.k_minus);
        assert_eq!(a.abstained, m - a.guesses);
        let at_best = a.grid.iter().find(|p| (p.k_plus, p.k_minus) == (a.k_plus, a.k_minus)).unwrap();
        assert_eq!((at_best.correct, at_best.epsilon_lower_bound), (a.correct, best));
        assert!(a.rule.contains("fixed grid of 7 choices"), "{}", a.rule);
    }

    /// Scores independent of the coins (ε = 0 truly): at 95 % the bound must be 0 in at least
    /// 95 % of runs. Over 200 coin sets with m = 200 this allows 10 ± 3 positives; 20 is a
    /// failure far beyond chance (P[Binomial(200, 0.05) ≥ 20] ≈ 0.002).
    #[test]
    fn pure_noise_rarely_gives_a_bound() {
        let m = 200;
        let spec = OneRunSpec::new(m, 1e-5, 0.95);
        let mut positive = 0;
        for seed in 0..200u64 {
            let inc = Lcg::coins(seed, m);
            let mut noise = Lcg(seed ^ 0x9e37_79b9_7f4a_7c15);
            let scores: Vec<f64> = (0..m).map(|_| noise.next()).collect();
            if one_run_audit(&scores, &inc, &spec).unwrap().epsilon_lower_bound > 0.0 {
                positive += 1;
            }
        }
        eprintln!("pure noise: {positive} of 200 runs gave a positive bound");
        assert!(positive < 20, "{positive} of 200");
    }

    /// Each grid point is tested at 1 − 0.05/G, and its bound is the bound at that confidence.
    #[test]
    fn every_grid_point_is_tested_at_the_bonferroni_confidence() {
        let m = 400;
        let inc = Lcg::coins(3, m);
        let mut noise = Lcg(11);
        let scores: Vec<f64> = (0..m).map(|i| f64::from(u8::from(inc[i])) * 0.8 + noise.next()).collect();
        let full = [(10, 10), (20, 20), (50, 50), (100, 100), (200, 200), (7, 0), (0, 9)];
        for g in 1..=full.len() {
            let a = one_run_audit(&scores, &inc, &spec(full[..g].to_vec())).unwrap();
            assert_eq!(a.tests, g);
            assert!((a.per_test_confidence - (1.0 - 0.05 / g as f64)).abs() < 1e-15, "{g}: {}", a.per_test_confidence);
            for p in &a.grid {
                let r = (p.k_plus + p.k_minus) as u64;
                let e = one_run_epsilon_lower_bound(m as u64, r, p.correct as u64, 1e-5, a.per_test_confidence);
                assert_eq!(p.epsilon_lower_bound, e.unwrap());
            }
            let max = a.grid.iter().map(|p| p.epsilon_lower_bound).fold(0.0, f64::max);
            assert_eq!(a.epsilon_lower_bound, max);
        }
    }

    /// Equal scores are ranked by record index: IN = the first k₊ records, OUT = the last k₋,
    /// whatever the coins say.
    #[test]
    fn ties_are_broken_by_record_index() {
        let m = 200;
        let inc: Vec<bool> = (0..m).map(|i| i % 3 == 0).collect();
        let a = one_run_audit(&vec![0.5; m], &inc, &spec(vec![(10, 20)])).unwrap();
        // IN: records 0..10, included 0, 3, 6, 9 → 4 right. OUT: records 180..200, included
        // 180, 183, …, 198 (7 of them) → 13 right.
        assert_eq!(a.grid[0].correct, 4 + 13);
        // The coins of abstained records do not matter; those of guessed ones do.
        let mut flipped = inc.clone();
        for f in &mut flipped[10..180] {
            *f = !*f;
        }
        assert_eq!(one_run_audit(&vec![0.5; m], &flipped, &spec(vec![(10, 20)])).unwrap().correct, 17);
        // Ties across both cuts: records 0..50 score 2, 50..150 score 1, the rest 0 (even
        // records +0, odd −0, which tie). k₊ = 60 takes 0..50 and then 50..60 by index; k₋ = 80
        // takes 150..200 and then 120..150, the last of the tied block.
        let scores: Vec<f64> = (0..m)
            .map(|i| match i {
                0..=49 => 2.0,
                50..=149 => 1.0,
                _ if i % 2 == 0 => 0.0,
                _ => -0.0,
            })
            .collect();
        let a = one_run_audit(&scores, &inc, &spec(vec![(60, 80)])).unwrap();
        let in_right = (0..60).filter(|&i| inc[i]).count();
        let out_right = (120..200).filter(|&i| !inc[i]).count();
        assert_eq!(a.correct, in_right + out_right);
        assert_eq!((in_right, out_right), (20, 53));
    }

    /// The family tests attacks × grid at once: every entry at the family's per-test
    /// confidence, and the family's bound is the largest entry's.
    #[test]
    fn the_family_pays_for_every_attack() {
        let m = 300;
        let inc = Lcg::coins(5, m);
        let mut noise = Lcg(99);
        let perfect: Vec<f64> = (0..m).map(|i| f64::from(u8::from(inc[i])) + i as f64 * 1e-6).collect();
        let weak: Vec<f64> = (0..m).map(|i| f64::from(u8::from(inc[i])) * 0.5 + noise.next()).collect();
        let pure: Vec<f64> = (0..m).map(|_| noise.next()).collect();
        let spec = OneRunSpec::new(m, 1e-5, 0.95);
        let g = spec.grid.len();
        let attacks: [(&str, &[f64]); 3] = [("noise", &pure), ("weak", &weak), ("perfect", &perfect)];
        let f = one_run_audit_family(&attacks, &inc, &spec).unwrap();
        assert_eq!(f.tests, 3 * g);
        assert_eq!(f.per_test_confidence, 1.0 - 0.05 / (3 * g) as f64);
        let names: Vec<&str> = f.attacks.iter().map(|e| e.attack.as_str()).collect();
        assert_eq!(names, ["noise", "weak", "perfect"]);
        let max = f.attacks.iter().map(|e| e.audit.epsilon_lower_bound).fold(0.0, f64::max);
        assert_eq!(f.epsilon_lower_bound, max);
        assert_eq!(f.best_attack.as_deref(), Some("perfect"));
        for e in &f.attacks {
            assert_eq!((e.audit.tests, e.audit.per_test_confidence), (f.tests, f.per_test_confidence));
            for p in &e.audit.grid {
                let r = (p.k_plus + p.k_minus) as u64;
                let b = one_run_epsilon_lower_bound(m as u64, r, p.correct as u64, 1e-5, f.per_test_confidence);
                assert_eq!(p.epsilon_lower_bound, b.unwrap());
            }
        }
        // Paying for three attacks lowers the perfect attack's bound below its lone audit's.
        let alone = one_run_audit(&perfect, &inc, &spec).unwrap().epsilon_lower_bound;
        assert!(f.epsilon_lower_bound < alone, "{} vs {alone}", f.epsilon_lower_bound);
        // The report shape: entries flatten the audit beside the attack's name.
        let json = serde_json::to_value(&f).unwrap();
        assert_eq!(json["attacks"][2]["attack"], "perfect");
        assert_eq!(json["attacks"][2]["epsilon_lower_bound"], f.epsilon_lower_bound);
        // No attack with a bound: no best attack.
        let f = one_run_audit_family(&[("noise", &pure)], &inc, &spec).unwrap();
        assert_eq!((f.best_attack, f.epsilon_lower_bound), (None, 0.0));
    }

    #[test]
    fn bad_audit_inputs_are_one_line_errors() {
        let inc = Lcg::coins(1, 100);
        let s = vec![0.0; 100];
        let e = one_run_audit(&s[..99], &inc[..99], &spec(vec![(5, 5)])).unwrap_err();
        assert_eq!(e, OneRunError::TooFewCanaries { canaries: 99 });
        assert_eq!(
            e.to_string(),
            "one_run needs at least 100 canaries, got 99: fewer cannot bound ε above about 3 even with every guess right"
        );
        assert!(one_run_audit(&s, &inc, &spec(vec![(5, 5)])).is_ok());
        let e = one_run_audit(&s[..99], &inc, &spec(vec![(5, 5)])).unwrap_err();
        assert_eq!(e.to_string(), "one-run audit: 99 scores but 100 membership flags");
        let mut bad = s.clone();
        bad[42] = f64::NAN;
        let e = one_run_audit(&bad, &inc, &spec(vec![(5, 5)])).unwrap_err();
        assert!(matches!(e, OneRunError::NonFiniteScore { index: 42, .. }), "{e}");
        assert!(e.to_string().contains("record 42 is NaN"), "{e}");
        let e = one_run_audit_family(&[("ok", &s), ("lira", &bad)], &inc, &spec(vec![(5, 5)])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "one-run audit of attack \"lira\": score of record 42 is NaN, expected a finite number"
        );
        assert_eq!(one_run_audit(&s, &inc, &spec(vec![])).unwrap_err(), OneRunError::EmptyGrid);
        let e = one_run_audit(&s, &inc, &spec(vec![(5, 5), (60, 41)])).unwrap_err();
        assert_eq!(e, OneRunError::GridPoint { k_plus: 60, k_minus: 41, canaries: 100 });
        assert!(matches!(one_run_audit(&s, &inc, &spec(vec![(0, 0)])), Err(OneRunError::GridPoint { .. })));
        let e = one_run_audit(&s, &inc, &OneRunSpec { delta: 1.0, ..spec(vec![(5, 5)]) }).unwrap_err();
        assert!(matches!(e, OneRunError::Setting { name: "delta", .. }), "{e}");
        let e = one_run_audit(&s, &inc, &OneRunSpec { confidence: 0.0, ..spec(vec![(5, 5)]) }).unwrap_err();
        assert!(matches!(e, OneRunError::Setting { name: "confidence", .. }), "{e}");
        assert_eq!(one_run_audit_family(&[], &inc, &spec(vec![(5, 5)])).unwrap_err(), OneRunError::NoAttacks);
        for e in [OneRunError::EmptyGrid, OneRunError::NoAttacks, OneRunError::TooFewCanaries { canaries: 3 }] {
            assert!(!e.to_string().contains('\n'));
        }
    }
}
