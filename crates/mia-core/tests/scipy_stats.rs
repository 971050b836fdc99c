//! Statistics checked against SciPy. Expected values come from
//! `fixtures/expected/stats.json`, written by `scripts/make_fixtures.py` with
//! `scipy.stats.beta.ppf` (Clopper–Pearson), the same formula for the ε bound, and a
//! 20,000-resample NumPy stratified bootstrap of the digits fixture's loss-attack AUC.

use mia_core::bootstrap::{bootstrap_roc, percentile_interval};
use mia_core::epsilon::eps_from_counts;
use mia_core::roc::{FprRule, RankedScores};
use mia_core::stats::clopper_pearson;
use serde_json::Value;

fn load(name: &str) -> Value {
    let path = format!("{}/../../fixtures/expected/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("json")
}

fn f(v: &Value) -> f64 {
    v.as_f64().expect("number")
}

#[test]
fn clopper_pearson_matches_scipy_beta_ppf() {
    let s = load("stats.json");
    let cases = s["clopper_pearson"]["cases"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for c in cases {
        let (k, n, conf) = (c["k"].as_u64().unwrap(), c["n"].as_u64().unwrap(), f(&c["confidence"]));
        let [lo, hi] = clopper_pearson(k, n, conf);
        for (got, want) in [(lo, f(&c["lo"])), (hi, f(&c["hi"]))] {
            // Relative 1e-9: far below statrs' inverse_cdf error (3.4e-4) that this avoids.
            assert!((got - want).abs() <= 1e-9 * want.abs().max(1e-300) + 1e-15, "k={k} n={n}: {got} vs {want}");
        }
    }
}

#[test]
fn epsilon_bound_from_counts_matches_scipy() {
    let s = load("stats.json");
    for c in s["epsilon_lower_bound"]["cases"].as_array().unwrap() {
        let u = |k: &str| c[k].as_u64().unwrap();
        let got = eps_from_counts(u("tp"), u("fn"), u("tn"), u("fp"), f(&c["delta"]), 0.95);
        let want = f(&c["epsilon_lo"]);
        assert!((got - want).abs() < 1e-9, "{c}: {got} vs {want}");
    }
}

/// The bootstrap uses its own generator, so draws differ from NumPy's; the percentile
/// interval must agree within Monte Carlo error (the fixture's tolerance rule).
#[test]
fn bootstrap_auc_interval_agrees_with_numpy_bootstrap() {
    let s = load("stats.json");
    let u = &s["auc_uncertainty"];
    let csv =
        std::fs::read_to_string(format!("{}/../../fixtures/scores/digits_logreg.csv", env!("CARGO_MANIFEST_DIR")))
            .unwrap();
    let mut rd = csv.lines();
    let header: Vec<&str> = rd.next().unwrap().split(',').collect();
    let col = |n: &str| header.iter().position(|h| *h == n).unwrap();
    let (cm, cl) = (col("member"), col("label"));
    let logit0 = col("logit_0");
    let (mut score, mut member) = (Vec::new(), Vec::new());
    for line in rd {
        let v: Vec<&str> = line.split(',').collect();
        let z: Vec<f64> = (0..10).map(|j| v[logit0 + j].parse().unwrap()).collect();
        let y: usize = v[cl].parse().unwrap();
        let m = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let lse = m + z.iter().map(|x| (x - m).exp()).sum::<f64>().ln();
        score.push(z[y] - lse); // −loss
        member.push(v[cm] == "1");
    }
    let r = RankedScores::new(&score, &member);
    assert!((r.metrics(&[], FprRule::AtMost).auc - f(&u["auc"])).abs() < 1e-12);
    let draws = bootstrap_roc(&[&r], &member, &[0.01, 0.1], FprRule::AtMost, 10_000, 0).remove(0);
    let [lo, hi] = percentile_interval(&draws.auc, 0.95).unwrap();
    let want = &u["bootstrap"]["auc_ci95"];
    // 4 × combined Monte Carlo SE at 20,000 vs 10,000 resamples ≈ 0.0018.
    assert!((lo - f(&want[0])).abs() < 0.0018, "{lo} vs {}", want[0]);
    assert!((hi - f(&want[1])).abs() < 0.0018, "{hi} vs {}", want[1]);
    // The bootstrap SD estimates the DeLong standard error.
    let mean = draws.auc.iter().sum::<f64>() / draws.auc.len() as f64;
    let sd = (draws.auc.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / (draws.auc.len() - 1) as f64).sqrt();
    let delong = f(&u["delong_se"]);
    assert!((sd - delong).abs() < 0.05 * delong, "bootstrap sd {sd} vs DeLong {delong}");
}
