//! DOMIAS densities against statsmodels' `KDEMultivariate` (Gaussian kernel on 'c' columns,
//! Aitchison–Aitken on 'u' columns) on 300 + 300 UCI Adult rows and 200 queries, all 14
//! features and the label, unscaled. Expected values: `scripts/domias_fixtures.py`, which
//! computes the bandwidths from the rules stated in `domias.rs` and hands them to statsmodels.

mod domias_common;

use domias_common::{assert_close, f64s, fixture_json, fixture_tables};
use mia_synth::domias::{BandwidthRule, DomiasConfig, Kde, KdeBandwidths, KdeDomain, domias};

fn config_of(case: &serde_json::Value) -> DomiasConfig {
    // The fixture's config object uses the names of the `[domias]` section.
    serde_json::from_value(case["config"].clone()).unwrap()
}

#[test]
fn bandwidth_rules_log_densities_and_scores_match_statsmodels() {
    let (schema, synthetic, reference, query) = fixture_tables("statsmodels");
    let doc = fixture_json("statsmodels.json");
    assert_eq!(schema.numeric, ["age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"]);
    assert_eq!(*schema.categorical.last().unwrap(), "income");
    assert_eq!(query.len(), 200);
    // The fixture keeps Adult's "?" as a category in these columns: the missing-as-category
    // rule is exercised.
    assert!(doc["categorical_has_missing"]["occupation"].as_bool().unwrap());

    for case_name in ["default", "silverman"] {
        let case = &doc["cases"][case_name];
        let cfg = config_of(case);
        if case_name == "silverman" {
            assert_eq!(cfg.bandwidth, BandwidthRule::Silverman);
        }
        let out = domias(&schema, &synthetic, &reference, &query, &cfg).unwrap();
        for (role, fitted, log_p) in [
            ("synthetic", &out.synthetic_bandwidths, &out.log_p_synthetic),
            ("reference", &out.reference_bandwidths, &out.log_p_reference),
        ] {
            let what = format!("{case_name}/{role}");
            assert_close(&format!("{what} h"), &fitted.numeric, &f64s(&case[role]["numeric"]), 1e-12);
            assert_close(&format!("{what} lambda"), &fitted.lambda, &f64s(&case[role]["lambda"]), 1e-12);
            assert_close(&format!("{what} log p"), log_p, &f64s(&case[role]["log_density"]), 1e-9);
        }
        // Scores are differences of two numbers near −50: compare on the scale of the terms.
        let expected = f64s(&case["scores"]);
        for (i, (a, b)) in out.scores.iter().zip(&expected).enumerate() {
            assert!((a - b).abs() <= 1e-9 * out.log_p_reference[i].abs(), "{case_name} score[{i}]: {a} vs {b}");
        }
        // Not a degenerate fixture: the scores spread out.
        let (lo, hi) = expected.iter().fold((f64::MAX, f64::MIN), |(l, h), &s| (l.min(s), h.max(s)));
        assert!(hi - lo > 1.0, "scores span {lo}..{hi}");
    }
}

#[test]
fn given_bandwidths_reproduce_statsmodels() {
    // The same check through Kde::with_bandwidths, i.e. the kernel alone, bandwidths taken
    // verbatim from the fixture.
    let (schema, synthetic, reference, query) = fixture_tables("statsmodels");
    let doc = fixture_json("statsmodels.json");
    let domain =
        KdeDomain::new(&schema, &[("synthetic", &synthetic), ("reference", &reference), ("query", &query)]).unwrap();
    let case = &doc["cases"]["silverman"];
    for (role, sample) in [("synthetic", &synthetic), ("reference", &reference)] {
        let bandwidths = KdeBandwidths {
            numeric: f64s(&case[role]["numeric"]),
            lambda: f64s(&case[role]["lambda"]),
            missing_lambda: vec![0.0; 6],
        };
        let kde = Kde::with_bandwidths(sample, &domain, bandwidths, role).unwrap();
        let log_p = kde.log_density(&query, "query").unwrap();
        assert_close(role, &log_p, &f64s(&case[role]["log_density"]), 1e-9);
    }
}
