//! Cross-checks against NumPy/SciPy (fixtures/synth/generators/adult_numpy.json, written by
//! scripts/generator_fixtures.py): histogram bin edges (np.histogram_bin_edges "auto"), the
//! Gaussian copula's correlation of normal scores (scipy.stats.norm interval means, np.corrcoef),
//! Gower distances and isolation ranks, and the shadow feature vector.

#[path = "generators_common/mod.rs"]
mod common;

use common::*;
use mia_synth::generators::{CategoryOrder, GaussianCopula, auto_bin_edges};
use mia_synth::shadow::{FeatureMap, FeatureSet, Gower, most_isolated};

fn floats(v: &serde_json::Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs()))
}

#[test]
fn bin_edges_match_numpy_auto() {
    let fx = fixture("adult_numpy.json");
    let (schema, head) = adult_head(2000);
    for (j, name) in schema.numeric.iter().enumerate() {
        let want = floats(&fx["bin_edges"][name]);
        let got = auto_bin_edges(&head.numeric.column(j).to_vec(), None);
        assert_eq!(got.len(), want.len(), "{name}: bin count");
        for (g, w) in got.iter().zip(&want) {
            assert!(close(*g, *w, 1e-12), "{name}: edge {g} vs numpy {w}");
        }
    }
}

#[test]
fn copula_correlation_matches_scipy() {
    let fx = fixture("adult_numpy.json");
    let (schema, head) = adult_head(2000);
    for (order, key) in [(CategoryOrder::NumericMean, "numeric_mean"), (CategoryOrder::Frequency, "frequency")] {
        let fit = GaussianCopula::new(1e-3, order).unwrap().fit(&schema, &head).unwrap();
        let d = fit.dim();
        let want: Vec<Vec<f64>> = fx["copula"][key].as_array().unwrap().iter().map(floats).collect();
        assert_eq!(want.len(), d);
        for (a, row) in want.iter().enumerate() {
            for (b, &w) in row.iter().enumerate() {
                let g = fit.raw_correlation()[a * d + b];
                assert!((g - w).abs() < 1e-9, "{key} [{a},{b}]: {g} vs scipy {w}");
            }
        }
        // Shrinkage: (1 − λ)R off the diagonal, 1 on it.
        assert_eq!(fit.shrinkage(), 1e-3);
        assert!((fit.correlation()[1] - (1.0 - 1e-3) * fit.raw_correlation()[1]).abs() < 1e-15);
    }
}

#[test]
fn gower_and_isolation_match_numpy() {
    let fx = &fixture("adult_numpy.json")["isolation"];
    let (schema, rows) = adult_head(500);
    let gower = Gower::fit(&rows);
    let want: Vec<Vec<f64>> = fx["distances_0_5_by_0_20"].as_array().unwrap().iter().map(floats).collect();
    for (a, row) in want.iter().enumerate() {
        for (b, &w) in row.iter().enumerate() {
            let num_a = rows.numeric.row(a).to_vec();
            let num_b = rows.numeric.row(b).to_vec();
            let g = gower.distance(
                &num_a,
                rows.categorical.row(a).as_slice().unwrap(),
                &num_b,
                rows.categorical.row(b).as_slice().unwrap(),
            );
            assert!((g - w).abs() < 1e-12, "d({a},{b}) = {g}, numpy {w}");
        }
    }
    let top: Vec<usize> = fx["top20"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
    assert_eq!(most_isolated(&schema, &rows, 5, 20), top);
}

#[test]
fn shadow_features_match_numpy() {
    let fx = &fixture("adult_numpy.json")["features"];
    let (schema, all) = adult_head(1000);
    let reference = all.select(&(0..500).collect::<Vec<_>>());
    let synthetic = all.select(&(500..800).collect::<Vec<_>>());
    let sets = [FeatureSet::Marginals, FeatureSet::Correlations, FeatureSet::Targeted];
    let map = FeatureMap::new(&schema, &reference, &sets, 10, &floats(&fx["radii"]));
    let t_num = all.numeric.row(900).to_vec();
    let t_cat = all.categorical.row(900).to_vec();
    let got = map.extract(&synthetic, &t_num, &t_cat).unwrap();
    let want = floats(&fx["values"]);
    assert_eq!(got.len(), map.len());
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert!(close(*g, *w, 1e-9), "feature {i}: {g} vs numpy {w}");
    }
}
