//! The one-run audit bound checked against an independent 60-digit implementation of the
//! theorem: `fixtures/expected/one_run.json`, written by `scripts/one_run_fixtures.py` (mpmath:
//! binomial probabilities by their ratio recurrence, cumulative sums, bisection to 1e-14), on a
//! grid of m (100 to 10,000 canaries), r (10 to 1,000 guesses), v (half to all right), δ (0 to
//! 1e-3), ε (0 to 8) and confidence (0.95, 0.99).

use mia_core::one_run::{one_run_epsilon_lower_bound, one_run_p_value};
use serde_json::Value;

fn load() -> Value {
    let path = format!("{}/../../fixtures/expected/one_run.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json")
}

fn counts(c: &Value) -> (u64, u64, u64) {
    (c["m"].as_u64().unwrap(), c["r"].as_u64().unwrap(), c["v"].as_u64().unwrap())
}

#[test]
fn p_values_match_mpmath() {
    let fx = load();
    let cases = fx["p_values"].as_array().unwrap();
    assert_eq!(cases.len(), 600);
    for c in cases {
        let (m, r, v) = counts(c);
        let (eps, delta, want) =
            (c["eps"].as_f64().unwrap(), c["delta"].as_f64().unwrap(), c["p_value"].as_f64().unwrap());
        let got = one_run_p_value(m, r, v, eps, delta).unwrap();
        // Relative 1e-9, or 1e-300 absolute for tails that are all but zero.
        assert!((got - want).abs() <= 1e-9 * want.abs() + 1e-300, "{c}: {got}");
    }
}

#[test]
fn lower_bounds_match_mpmath() {
    let fx = load();
    let cases = fx["bounds"].as_array().unwrap();
    assert_eq!(cases.len(), 200);
    let mut positive = 0;
    for c in cases {
        let (m, r, v) = counts(c);
        let (delta, confidence) = (c["delta"].as_f64().unwrap(), c["confidence"].as_f64().unwrap());
        let want = c["epsilon_lower_bound"].as_f64().unwrap();
        let got = one_run_epsilon_lower_bound(m, r, v, delta, confidence).unwrap();
        assert!((got - want).abs() <= 1e-9 * want.max(1.0), "{c}: {got}");
        positive += usize::from(want > 0.0);
    }
    assert!(positive > 60, "{positive}");
}
