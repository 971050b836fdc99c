//! The shadow-generator attack end to end on Adult: it finds members of a memorising generator,
//! learns nothing about typical records from independent marginals, gives the same bits on 1
//! and 2 threads; plus config checks and hand-computed features.

#[path = "generators_common/mod.rs"]
mod common;

use common::*;
use mia_synth::generators::{CopyRows, GaussianCopula, Generator, Marginals};
use mia_synth::mixed::MixedTable;
use mia_synth::shadow::{
    FeatureMap, FeatureSet, ShadowConfig, ShadowError, ShadowResult, most_isolated, shadow_attack,
};
use ndarray::array;

fn rows(a: usize, b: usize) -> Vec<usize> {
    (a..b).collect()
}

/// Adult split: audited rows 0..400 (members 0..200 train the released generator), reference
/// rows 10000..10000+n_ref (disjoint from the audited ones).
fn split(n_ref: usize) -> (mia_synth::mixed::MixedSchema, MixedTable, MixedTable) {
    let (schema, all) = adult();
    let audited = all.select(&rows(0, 400));
    let reference = all.select(&rows(10_000, 10_000 + n_ref));
    (schema.clone(), audited, reference)
}

#[test]
fn copy_generator_members_score_higher() {
    let (schema, audited, reference) = split(1000);
    let members = audited.select(&rows(0, 200));
    let released = CopyRows.generate(&schema, &members, 200, 5).unwrap();
    // 4 members and 4 non-members, the most isolated of each half.
    let mut target_rows: Vec<usize> = most_isolated(&schema, &members, 5, 4);
    target_rows.extend(most_isolated(&schema, &audited.select(&rows(200, 400)), 5, 4).iter().map(|r| r + 200));
    let targets = audited.select(&target_rows);
    let cfg = ShadowConfig {
        n_shadow: 20,
        train_size: Some(200),
        folds: 2,
        features: vec![FeatureSet::Targeted],
        ..ShadowConfig::default()
    };
    let result = shadow_attack(&schema, &targets, &reference, &released, &CopyRows, &cfg, 1).unwrap();
    assert_eq!(result.synthetic_size, 200);
    let (m, nm) = result.targets.split_at(4);
    for t in &result.targets {
        eprintln!("{} score {:.2} acc {:.2} auc {:.2}", t.id, t.score, t.heldout_accuracy, t.heldout_auc);
        // The copy generator leaks t completely: held-out shadow sets are (nearly) all
        // separated (measured: AUC 0.99–1.00, accuracy 0.95–1.00, from 10 sets per fold).
        assert!(t.heldout_auc >= 0.9 && t.heldout_accuracy >= 0.8, "{}", t.id);
        assert!(t.heldout_accuracy_ci[0] > 0.5, "{}: accuracy interval {:?}", t.id, t.heldout_accuracy_ci);
        assert_eq!(t.n_heldout, 20);
    }
    let min_member = m.iter().map(|t| t.score).fold(f64::INFINITY, f64::min);
    let max_non_member = nm.iter().map(|t| t.score).fold(f64::NEG_INFINITY, f64::max);
    // Measured: members 1.19 to 1.55, non-members −1.40 to −0.05.
    assert!(min_member > max_non_member, "members {min_member}, non-members {max_non_member}");
    assert!(min_member > 0.0, "a member's log-odds {min_member}");
}

/// Independent marginals of 1,000 records barely move when one typical record is swapped: the
/// in/out classifier should be at chance. 3 typical (least isolated) targets × 40 held-out
/// shadow sets; pooled accuracy within the 99% normal interval of Binomial(120, ½)/120.
#[test]
fn marginals_typical_targets_near_chance() {
    let (schema, audited, reference) = split(3000);
    let order = most_isolated(&schema, &audited, 5, audited.len());
    let typical = audited.select(&order[order.len() / 2..order.len() / 2 + 3]);
    let released = Marginals::default().generate(&schema, &audited.select(&rows(0, 200)), 300, 5).unwrap();
    let cfg = ShadowConfig { n_shadow: 40, train_size: Some(1000), folds: 4, ..ShadowConfig::default() };
    let result = shadow_attack(&schema, &typical, &reference, &released, &Marginals::default(), &cfg, 2).unwrap();
    let n: usize = result.targets.iter().map(|t| t.n_heldout).sum();
    let correct: f64 = result.targets.iter().map(|t| t.heldout_accuracy * t.n_heldout as f64).sum();
    let acc = correct / n as f64;
    for t in &result.targets {
        eprintln!("{} score {:.2} acc {:.2} auc {:.2}", t.id, t.score, t.heldout_accuracy, t.heldout_auc);
    }
    let half_width = 2.576 * (0.25 / n as f64).sqrt();
    assert!((acc - 0.5).abs() < half_width, "pooled held-out accuracy {acc} (n = {n})");
}

fn same(a: &ShadowResult, b: &ShadowResult) -> bool {
    a == b && a.targets.iter().zip(&b.targets).all(|(x, y)| x.score.to_bits() == y.score.to_bits())
}

#[test]
fn same_bits_on_one_and_two_threads() {
    let (schema, audited, reference) = split(300);
    let released = GaussianCopula::default().generate(&schema, &audited.select(&rows(0, 200)), 100, 3).unwrap();
    let targets = audited.select(&[0, 250]);
    let cfg = ShadowConfig { n_shadow: 8, train_size: Some(100), folds: 2, ..ShadowConfig::default() };
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            shadow_attack(&schema, &targets, &reference, &released, &GaussianCopula::default(), &cfg, 9).unwrap()
        })
    };
    let (one, two) = (run(1), run(2));
    assert!(same(&one, &two));
    assert!(one.targets.iter().all(|t| t.score.is_finite()));
    let other_seed =
        shadow_attack(&schema, &targets, &reference, &released, &GaussianCopula::default(), &cfg, 10).unwrap();
    assert!(!same(&one, &other_seed));
}

#[test]
fn config_parses_and_is_checked() {
    let cfg: ShadowConfig = serde_json::from_str(r#"{"n_shadow": 100, "radii": [0.1]}"#).unwrap();
    assert_eq!(cfg.n_shadow, 100);
    assert_eq!(cfg.radii, vec![0.1]);
    assert_eq!(cfg.train_size, ShadowConfig::default().train_size);
    assert!(serde_json::from_str::<ShadowConfig>(r#"{"shadows": 100}"#).is_err());
    let cfg: ShadowConfig = serde_json::from_str(r#"{"features": ["targeted", "correlations"]}"#).unwrap();
    assert_eq!(cfg.features, vec![FeatureSet::Targeted, FeatureSet::Correlations]);
    for bad in [
        ShadowConfig { n_shadow: 7, ..ShadowConfig::default() },
        ShadowConfig { folds: 1, ..ShadowConfig::default() },
        ShadowConfig { radii: vec![-1.0], ..ShadowConfig::default() },
        ShadowConfig { l2: 0.0, ..ShadowConfig::default() },
        ShadowConfig { features: vec![], ..ShadowConfig::default() },
    ] {
        assert!(matches!(bad.validate(), Err(ShadowError::Setting { .. })), "{bad:?}");
    }
    // A reference sample smaller than train_size is an error naming the target.
    let (schema, audited, reference) = split(50);
    let cfg = ShadowConfig { train_size: Some(100), ..ShadowConfig::default() };
    let err = shadow_attack(&schema, &audited.select(&[3]), &reference, &audited, &CopyRows, &cfg, 0).unwrap_err();
    assert_eq!(err, ShadowError::ReferenceTooSmall { target: "4".into(), available: 50, needed: 100 });
}

/// Features of a hand-made table, computed by hand.
#[test]
fn features_by_hand() {
    let schema = tiny_schema();
    // Reference: x in {0, 10, 20, 30} (range 30, 2 bins cut at the median 15), y range 30.
    let reference =
        table(array![[0.0, 0.0], [10.0, 10.0], [20.0, 20.0], [30.0, 30.0]], array![[0, 0], [1, 0], [2, 1], [0, 1]]);
    let synthetic = table(array![[0.0, 0.0], [30.0, f64::NAN], [12.0, 3.0]], array![[0, 0], [1, 1], [0, 1]]);
    let (t_num, t_cat) = ([0.0, 0.0], [0u32, 1u32]);
    let radii = [0.0, 0.1];
    let map = FeatureMap::new(&schema, &reference, &[FeatureSet::Targeted], 2, &radii);
    // Gower distances of t to the 3 rows: (0 + 0 + 0 + 1)/4 = 0.25; (1 + 1 + 1 + 0)/4 = 0.75;
    // (0.4 + 0.1 + 0 + 0)/4 = 0.125.
    let f = map.extract(&synthetic, &t_num, &t_cat).unwrap();
    let want = [
        0f64.ln_1p(), // within 0
        0f64.ln_1p(), // within 0.1
        0.125,        // nearest
        2.0 / 3.0,    // c == a
        2.0 / 3.0,    // label == yes
        1.0 / 3.0,    // both
        2.0 / 3.0,    // x in t's bin (x < 15)
        2.0 / 3.0,    // y in t's bin (y < 15; NaN is not)
    ];
    assert_eq!(f.len(), want.len());
    for (i, (g, w)) in f.iter().zip(&want).enumerate() {
        assert!((g - w).abs() < 1e-12, "targeted feature {i}: {g} vs {w}");
    }
    let map = FeatureMap::new(&schema, &reference, &[FeatureSet::Marginals, FeatureSet::Correlations], 2, &radii);
    let f = map.extract(&synthetic, &t_num, &t_cat).unwrap();
    let want = [
        // x: bins (<15, ≥15), missing, mean, sd
        2.0 / 3.0,
        1.0 / 3.0,
        0.0,
        14.0,
        (((0.0f64 - 14.0).powi(2) + (30.0f64 - 14.0).powi(2) + (12.0f64 - 14.0).powi(2)) / 3.0).sqrt(),
        // y: bins, missing, mean, sd over the 2 observed values (0, 3)
        2.0 / 3.0,
        0.0,
        1.0 / 3.0,
        1.5,
        1.5,
        // c: a, b, c, missing
        2.0 / 3.0,
        1.0 / 3.0,
        0.0,
        0.0,
        // label: no, yes, missing
        1.0 / 3.0,
        2.0 / 3.0,
        0.0,
        // corr(x, y) over the rows where both are observed: (0,0), (12,3) → 1
        1.0,
    ];
    assert_eq!(f.len(), want.len());
    for (i, (g, w)) in f.iter().zip(&want).enumerate() {
        assert!((g - w).abs() < 1e-12, "marginal feature {i}: {g} vs {w}");
    }
    // An empty synthetic table gives fractions 0 and the largest distance, not NaN.
    let empty = synthetic.select(&[]);
    let map = FeatureMap::new(
        &schema,
        &reference,
        &[FeatureSet::Marginals, FeatureSet::Correlations, FeatureSet::Targeted],
        2,
        &radii,
    );
    assert!(map.extract(&empty, &t_num, &t_cat).unwrap().iter().all(|v| v.is_finite()));
}

#[test]
fn most_isolated_finds_a_planted_outlier() {
    let schema = tiny_schema();
    let t = table(
        array![[1.0, 1.0], [1.0, 1.1], [1.1, 1.0], [9.0, 9.0], [1.0, 1.0]],
        array![[0, 0], [0, 0], [0, 0], [2, 1], [0, 0]],
    );
    assert_eq!(most_isolated(&schema, &t, 2, 2)[0], 3);
    assert_eq!(most_isolated(&schema, &t, 2, 10).len(), 5);
    assert!(most_isolated(&schema, &t.select(&[]), 2, 3).is_empty());
    assert_eq!(most_isolated(&schema, &t.select(&[2]), 2, 3), vec![0]);
}

/// A generator that returns the wrong shape (as a user's own program might) is an error, not a panic.
#[test]
fn bad_generator_output_is_an_error() {
    struct Narrow;
    impl Generator for Narrow {
        fn name(&self) -> &str {
            "narrow"
        }
        fn generate(
            &self,
            _: &mia_synth::mixed::MixedSchema,
            train: &MixedTable,
            n_rows: usize,
            _: u64,
        ) -> Result<MixedTable, mia_synth::generators::GeneratorError> {
            let rows: Vec<usize> = (0..n_rows).map(|i| i % train.len()).collect();
            let mut t = train.select(&rows);
            t.numeric = t.numeric.slice(ndarray::s![.., 1..]).to_owned();
            Ok(t)
        }
    }
    let (schema, audited, reference) = split(40);
    let cfg = ShadowConfig { n_shadow: 4, train_size: Some(20), folds: 2, ..ShadowConfig::default() };
    let err = shadow_attack(&schema, &audited.select(&[0]), &reference, &audited.select(&[1, 2]), &Narrow, &cfg, 0);
    assert!(matches!(err, Err(ShadowError::Output { .. })), "{err:?}");
    let map = FeatureMap::new(&schema, &reference, &[FeatureSet::Targeted], 3, &[0.1]);
    let narrow = Narrow.generate(&schema, &reference, 5, 0).unwrap();
    let t = audited.select(&[0]);
    let (t_num, t_cat) = (t.numeric.row(0).to_vec(), t.categorical.row(0).to_vec());
    assert!(matches!(map.extract(&narrow, &t_num, &t_cat), Err(ShadowError::Shape(_))));
    assert!(matches!(map.extract(&reference, &t_num[1..], &t_cat), Err(ShadowError::Shape(_))));
}
