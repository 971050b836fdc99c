//! DOMIAS properties that need no outside reference: the kernels are proper densities
//! (missing values and categories included), constant columns stay finite, results do not
//! depend on the thread count, inputs outside the rules are typed errors, and the attack
//! separates members from holdout records when the synthetic data copy the members.

mod domias_common;

use domias_common::adult;
use mia_core::EvalConfig;
use mia_core::evaluate::evaluate_attack;
use mia_synth::domias::{BandwidthRule, DomiasConfig, DomiasError, Kde, KdeDomain, domias};
use mia_synth::mixed::{MISSING, MixedSchema, MixedTable};
use ndarray::{Array2, array};

fn table(numeric: Array2<f64>, categorical: Array2<u32>) -> MixedTable {
    let n = numeric.nrows();
    MixedTable { ids: (1..=n).map(|i| format!("r{i}")).collect(), numeric, categorical }
}

fn small_schema() -> MixedSchema {
    MixedSchema {
        numeric: vec!["x".into()],
        categorical: vec!["c".into()],
        levels: vec![vec!["a".into(), "b".into(), "c".into()]],
    }
}

/// Every 5th row of Adult from `offset`, `n` rows.
fn stride(t: &MixedTable, offset: usize, n: usize) -> MixedTable {
    let rows: Vec<usize> = (0..n).map(|k| offset + 5 * k).collect();
    t.select(&rows)
}

#[test]
fn density_with_missing_values_integrates_to_one() {
    // One numeric column with missing values and one categorical column with 3 levels plus
    // missing. Sum over the 4 categories of (∫ p(x, c) dx + p(missing, c)) must be 1; the
    // integral is Simpson's rule on a grid ±12 bandwidths beyond the data.
    let schema = small_schema();
    let nan = f64::NAN;
    let sample =
        table(array![[0.0], [1.5], [nan], [4.0], [4.2], [nan], [9.0]], array![[0], [1], [1], [MISSING], [2], [0], [1]]);
    let domain = KdeDomain::new(&schema, &[("sample", &sample)]).unwrap();
    assert_eq!(domain.categories(0), 4);
    assert!(domain.numeric_missing[0]);
    let kde = Kde::fit(&sample, &domain, &DomiasConfig::default(), "sample").unwrap();
    let b = kde.bandwidths();
    assert!(b.missing_lambda[0] > 0.0 && b.missing_lambda[0] <= 0.5, "{b:?}");
    let (lo, hi, steps) = (-12.0 * 10.0, 21.0 + 12.0 * 10.0, 20_000usize);
    let dx = (hi - lo) / steps as f64;
    let mut total = 0.0;
    for code in [0, 1, 2, MISSING] {
        let xs: Vec<f64> = (0..=steps).map(|k| lo + k as f64 * dx).chain([nan]).collect();
        let q = table(Array2::from_shape_vec((xs.len(), 1), xs).unwrap(), Array2::from_elem((steps + 2, 1), code));
        let log_p = kde.log_density(&q, "grid").unwrap();
        let simpson: f64 = (0..=steps)
            .map(|k| {
                let w = if k == 0 || k == steps {
                    1.0
                } else if k % 2 == 1 {
                    4.0
                } else {
                    2.0
                };
                w * log_p[k].exp()
            })
            .sum::<f64>()
            * dx
            / 3.0;
        total += simpson + log_p[steps + 1].exp();
    }
    assert!((total - 1.0).abs() < 1e-9, "total mass {total}");
}

#[test]
fn categorical_kernel_sums_to_one_over_the_dictionary() {
    // Two categorical columns: the density summed over all 3 × 2 value pairs is 1 (λ rule and
    // the c − 1 denominator together), also for a fixed λ.
    let schema = MixedSchema {
        numeric: vec![],
        categorical: vec!["c".into(), "d".into()],
        levels: vec![vec!["a".into(), "b".into(), "c".into()], vec!["y".into(), "n".into()]],
    };
    let sample = table(Array2::zeros((4, 0)), array![[0, 0], [0, 1], [2, 0], [0, 0]]);
    let grid: Vec<u32> = (0..3).flat_map(|a| (0..2).flat_map(move |b| [a, b])).collect();
    let query = table(Array2::zeros((6, 0)), Array2::from_shape_vec((6, 2), grid).unwrap());
    let domain = KdeDomain::new(&schema, &[("sample", &sample)]).unwrap();
    for lambda in [None, Some(0.3), Some(0.9)] {
        let cfg = DomiasConfig { lambda, ..DomiasConfig::default() };
        let kde = Kde::fit(&sample, &domain, &cfg, "sample").unwrap();
        // A fixed λ is capped at (c − 1)/c per column.
        if lambda == Some(0.9) {
            assert_eq!(kde.bandwidths().lambda, [2.0 / 3.0, 0.5]);
        }
        let total: f64 = kde.log_density(&query, "q").unwrap().iter().map(|l| l.exp()).sum();
        assert!((total - 1.0).abs() < 1e-12, "λ {lambda:?}: {total}");
    }
}

#[test]
fn constant_columns_give_finite_scores_with_the_documented_floor() {
    // Column 0 is constant (5) in the synthetic rows only; column 1 is constant (2) in every
    // table; the categorical column has a single level everywhere.
    let schema = MixedSchema {
        numeric: vec!["x".into(), "k".into()],
        categorical: vec!["c".into()],
        levels: vec![vec!["only".into()]],
    };
    let n = 40;
    let synthetic =
        table(Array2::from_shape_fn((n, 2), |(_, j)| if j == 0 { 5.0 } else { 2.0 }), Array2::zeros((n, 1)));
    let reference =
        table(Array2::from_shape_fn((n, 2), |(i, j)| if j == 0 { i as f64 * 0.5 } else { 2.0 }), Array2::zeros((n, 1)));
    let query = table(array![[5.0, 2.0], [6.0, 2.0], [15.0, 2.0]], Array2::zeros((3, 1)));
    let cfg = DomiasConfig::default();
    let out = domias(&schema, &synthetic, &reference, &query, &cfg).unwrap();
    assert!(out.scores.iter().all(|s| s.is_finite()), "{:?}", out.scores);
    // Floors: σ = 1e-3 × the column's population spread over all rows for column 0, and 1
    // for column 1 (spread 0 everywhere).
    let rows: Vec<f64> = (0..n).map(|_| 5.0).chain((0..n).map(|i| i as f64 * 0.5)).chain([5.0, 6.0, 15.0]).collect();
    let mean = rows.iter().sum::<f64>() / rows.len() as f64;
    let spread = (rows.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / rows.len() as f64).sqrt();
    let f = BandwidthRule::Scott.factor(n, 2);
    let h = &out.synthetic_bandwidths.numeric;
    assert!((h[0] - f * 1e-3 * spread).abs() <= 1e-12 * h[0], "{h:?}");
    assert_eq!(h[1], f);
    // The synthetic rows all sit at x = 5: a record there is far more "member-like" than one
    // a bandwidth away, which is more so than one far away.
    assert!(out.scores[0] > out.scores[1] && out.scores[1] > out.scores[2], "{:?}", out.scores);
}

/// Repeated sample rows are merged into one kernel with a count: a sample in which every row
/// appears three times is the same mixture as the sample itself, and a row repeated k times
/// weighs k times one kernel (checked against the sum written out term by term).
#[test]
fn repeated_sample_rows_weigh_by_their_count() {
    let (schema, t) = adult();
    let (sample, query) = (stride(&t, 0, 200), stride(&t, 3, 50));
    let rows: Vec<usize> = (0..sample.len()).flat_map(|i| [i, i, i]).collect();
    let tripled = sample.select(&rows);
    let domain = KdeDomain::new(&schema, &[("sample", &sample), ("query", &query)]).unwrap();
    let fitted = Kde::fit(&sample, &domain, &DomiasConfig::default(), "sample").unwrap();
    let bw = fitted.bandwidths().clone();
    let once = fitted.log_density(&query, "query").unwrap();
    let thrice =
        Kde::with_bandwidths(&tripled, &domain, bw.clone(), "sample").unwrap().log_density(&query, "query").unwrap();
    for (a, b) in once.iter().zip(&thrice) {
        assert!((a - b).abs() <= 1e-12 * a.abs().max(1.0), "{a} vs {b}");
    }
    // Row 0 five times plus rows 1 and 2: ln((5 k0 + k1 + k2) / 7), each k from a one-row sample.
    let mixed = sample.select(&[0, 0, 1, 0, 2, 0, 0]);
    let got =
        Kde::with_bandwidths(&mixed, &domain, bw.clone(), "sample").unwrap().log_density(&query, "query").unwrap();
    let single = |i: usize| {
        Kde::with_bandwidths(&sample.select(&[i]), &domain, bw.clone(), "sample")
            .unwrap()
            .log_density(&query, "query")
            .unwrap()
    };
    let (k0, k1, k2) = (single(0), single(1), single(2));
    for q in 0..query.len() {
        let m = k0[q].max(k1[q]).max(k2[q]);
        let want = m + (5.0 * (k0[q] - m).exp() + (k1[q] - m).exp() + (k2[q] - m).exp()).ln() - 7f64.ln();
        assert!((got[q] - want).abs() <= 1e-9 * want.abs().max(1.0), "query {q}: {} vs {want}", got[q]);
    }
}

#[test]
fn results_are_bit_identical_for_1_and_2_threads() {
    let (schema, t) = adult();
    let (synthetic, reference, query) = (stride(&t, 0, 700), stride(&t, 1, 700), stride(&t, 2, 300));
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| domias(&schema, &synthetic, &reference, &query, &DomiasConfig::default()).unwrap())
    };
    let (one, two) = (run(1), run(2));
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&one.scores), bits(&two.scores));
    assert_eq!(bits(&one.log_p_synthetic), bits(&two.log_p_synthetic));
    assert!(one.scores.iter().all(|s| s.is_finite()));
}

#[test]
fn copies_of_the_members_separate_members_from_holdout() {
    // Synthetic data = the 400 members themselves; 400 holdout records; 800 reference records.
    // Disjoint strides of Adult.
    let (schema, t) = adult();
    let members = stride(&t, 0, 400);
    let holdout = stride(&t, 1, 400);
    let reference = stride(&t, 2, 800);
    let query = members.concat(&holdout);
    let out = domias(&schema, &members, &reference, &query, &DomiasConfig::default()).unwrap();
    let member: Vec<bool> = (0..800).map(|i| i < 400).collect();
    let cfg = EvalConfig { bootstrap_resamples: 100, ..EvalConfig::default() };
    let eval = evaluate_attack(&out.scores, &member, &cfg).unwrap();
    assert!(eval.auc.value > 0.9, "AUC {}", eval.auc.value);
}

#[test]
fn config_section_defaults_and_rejects_unknown_or_bad_options() {
    let cfg: DomiasConfig = serde_json::from_str("{}").unwrap();
    assert_eq!(cfg, DomiasConfig::default());
    let cfg: DomiasConfig = serde_json::from_str(r#"{"bandwidth": "silverman", "lambda": 0.1}"#).unwrap();
    assert_eq!((cfg.bandwidth, cfg.lambda), (BandwidthRule::Silverman, Some(0.1)));
    let err = serde_json::from_str::<DomiasConfig>(r#"{"bandwith": "scott"}"#).unwrap_err();
    assert!(err.to_string().contains("unknown field `bandwith`"), "{err}");
    assert!(serde_json::from_str::<DomiasConfig>(r#"{"bandwidth": "epanechnikov"}"#).is_err());
    for bad in [
        DomiasConfig { lambda: Some(1.0), ..DomiasConfig::default() },
        DomiasConfig { bandwidth_scale: 0.0, ..DomiasConfig::default() },
        DomiasConfig { min_scale_fraction: f64::NAN, ..DomiasConfig::default() },
    ] {
        assert!(matches!(bad.validate(), Err(DomiasError::Option { .. })), "{bad:?}");
    }
}

#[test]
fn bad_inputs_are_typed_errors_naming_record_and_column() {
    let schema = small_schema();
    let ok = table(array![[1.0], [2.0]], array![[0], [1]]);
    let cfg = DomiasConfig::default();
    let bad_code = table(array![[1.0]], array![[7]]);
    let err = domias(&schema, &ok, &ok, &bad_code, &cfg).unwrap_err();
    assert_eq!(err.to_string(), "query: record r1, column c: category code 7 is not in the dictionary (3 levels)");
    let inf = table(array![[1.0], [f64::INFINITY]], array![[0], [0]]);
    let err = domias(&schema, &inf, &ok, &ok, &cfg).unwrap_err();
    assert_eq!(err.to_string(), "synthetic: record r2, column x: expected a finite number, found inf");
    let empty = table(Array2::zeros((0, 1)), Array2::zeros((0, 1)));
    assert!(matches!(domias(&schema, &ok, &empty, &ok, &cfg), Err(DomiasError::Empty { .. })));
    let wide = table(Array2::zeros((1, 2)), Array2::zeros((1, 1)));
    assert!(matches!(domias(&schema, &ok, &ok, &wide, &cfg), Err(DomiasError::Shape { .. })));
    // A Kde built on one domain refuses a query with a missing value the domain lacks.
    let domain = KdeDomain::new(&schema, &[("sample", &ok)]).unwrap();
    let kde = Kde::fit(&ok, &domain, &cfg, "sample").unwrap();
    let missing = table(array![[f64::NAN]], array![[0]]);
    assert!(matches!(kde.log_density(&missing, "query"), Err(DomiasError::Value { .. })));
}
