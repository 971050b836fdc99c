//! No underflow on raw, unscaled Adult rows with all columns. The fixture's queries include 30
//! records with capital-gain 99999 while neither 400-row sample has any: every kernel term of
//! those records is below e^−1900, so a product of densities in linear space is exactly 0 —
//! statsmodels' `KDEMultivariate.pdf` returns 0 for them (recorded in the fixture) — and the
//! naive DOMIAS ratio is 0/0. Expected log densities: an independent log-space NumPy
//! implementation (log-kernel matrix + `scipy.special.logsumexp`) in
//! `scripts/domias_fixtures.py`.

mod domias_common;

use domias_common::{assert_close, f64s, fixture_json, fixture_tables};
use mia_synth::domias::{DomiasConfig, domias};

#[test]
fn unscaled_outliers_get_finite_log_densities_matching_a_log_space_reference() {
    let (schema, synthetic, reference, query) = fixture_tables("underflow");
    let doc = fixture_json("underflow.json");
    let out = domias(&schema, &synthetic, &reference, &query, &DomiasConfig::default()).unwrap();
    for (role, fitted, log_p) in [
        ("synthetic", &out.synthetic_bandwidths, &out.log_p_synthetic),
        ("reference", &out.reference_bandwidths, &out.log_p_reference),
    ] {
        let zero: Vec<bool> =
            doc[role]["naive_pdf_is_zero"].as_array().unwrap().iter().map(|b| b.as_bool().unwrap()).collect();
        assert!(zero.iter().filter(|&&z| z).count() >= 25, "{role}: the fixture must underflow naively");
        let expected = f64s(&doc[role]["log_density"]);
        for (i, &z) in zero.iter().enumerate() {
            // Where the linear-space product is 0, the log density is far below ln(f64::MIN_POSITIVE).
            if z {
                assert!(expected[i] < -745.0 && log_p[i] < -745.0, "{role}[{i}]: {}", log_p[i]);
            }
        }
        assert_close(&format!("{role} h"), &fitted.numeric, &f64s(&doc[role]["numeric"]), 1e-12);
        assert_close(&format!("{role} log p"), log_p, &expected, 1e-9);
    }
    let expected = f64s(&doc["scores"]);
    for (i, (a, b)) in out.scores.iter().zip(&expected).enumerate() {
        assert!(a.is_finite(), "score[{i}] = {a}");
        assert!((a - b).abs() <= 1e-9 * out.log_p_reference[i].abs().max(1.0), "score[{i}]: {a} vs {b}");
    }
}
