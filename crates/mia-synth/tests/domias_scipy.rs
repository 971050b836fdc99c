//! Numeric-only densities against `scipy.stats.gaussian_kde` with its own 'scott' and
//! 'silverman' factors. scipy uses the full sample covariance; the fixture's 6 columns
//! (Adult's numeric columns rotated onto their principal axes and rescaled per column by up to
//! 1e5) have a diagonal sample covariance, so scipy's kernel is our per-column product kernel.
//! Expected values: `scripts/domias_fixtures.py` (`scipy.json`).

mod domias_common;

use domias_common::{assert_close, f64s, fixture_json};
use mia_synth::domias::{BandwidthRule, DomiasConfig, Kde, KdeDomain};
use mia_synth::mixed::{MixedSchema, MixedTable};
use ndarray::Array2;

fn table(v: &serde_json::Value) -> MixedTable {
    let rows: Vec<Vec<f64>> = v.as_array().unwrap().iter().map(f64s).collect();
    let (n, p) = (rows.len(), rows[0].len());
    let numeric = Array2::from_shape_fn((n, p), |(i, j)| rows[i][j]);
    MixedTable { ids: (1..=n).map(|i| i.to_string()).collect(), numeric, categorical: Array2::zeros((n, 0)) }
}

#[test]
fn numeric_product_kernel_matches_scipy_gaussian_kde() {
    let doc = fixture_json("scipy.json");
    assert!(doc["max_abs_off_diagonal_correlation"].as_f64().unwrap() < 1e-12);
    let (sample, query) = (table(&doc["sample"]), table(&doc["query"]));
    let schema = MixedSchema {
        numeric: (1..=6).map(|j| format!("pc{j}")).collect(),
        categorical: Vec::new(),
        levels: Vec::new(),
    };
    let domain = KdeDomain::new(&schema, &[("sample", &sample), ("query", &query)]).unwrap();
    for (name, rule) in [("scott", BandwidthRule::Scott), ("silverman", BandwidthRule::Silverman)] {
        let cfg = DomiasConfig { bandwidth: rule, ..DomiasConfig::default() };
        let kde = Kde::fit(&sample, &domain, &cfg, "sample").unwrap();
        assert_close(&format!("{name} h"), &kde.bandwidths().numeric, &f64s(&doc[name]["bandwidths"]), 1e-12);
        let log_p = kde.log_density(&query, "query").unwrap();
        assert_close(&format!("{name} log p"), &log_p, &f64s(&doc[name]["log_density"]), 1e-9);
    }
}
