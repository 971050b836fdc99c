use super::*;
use crate::bootstrap::{rng_for, uniform_below};
use crate::roc::{FprRule, RankedScores};
use ndarray::{Array2, array};
use rand::Rng;

/// Standard normal draws (Box–Muller) from a seeded stream.
struct Gauss(rand_xoshiro::Xoshiro256PlusPlus);

impl Gauss {
    fn new(seed: u64) -> Self {
        Gauss(rng_for(seed, 77))
    }
    fn next(&mut self) -> f64 {
        let u1 = ((self.0.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
        let u2 = (self.0.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

/// A synthetic audit: record difficulty d_n, IN models see φ raised by `effect`.
/// Every record is IN for exactly K/2 models. When `null`, the target's φ ignores the
/// member labels entirely.
struct Synth {
    target: Vec<f64>,
    member: Vec<bool>,
    refs: Array2<f64>,
    keep: Array2<bool>,
    pop_t: Vec<f64>,
    pop_r: Array2<f64>,
    labels: Vec<usize>,
}

fn synth(n: usize, k: usize, p: usize, effect: f64, null: bool, seed: u64) -> Synth {
    let mut g = Gauss::new(seed);
    let mut rng = rng_for(seed, 5);
    let d: Vec<f64> = (0..n).map(|_| 2.0 * g.next() + 1.0).collect();
    let mut keep = Array2::from_elem((k, n), false);
    for i in 0..n {
        let mut models: Vec<usize> = (0..k).collect();
        for a in (1..k).rev() {
            let b = uniform_below(&mut rng, a as u64 + 1) as usize;
            models.swap(a, b);
        }
        for &m in &models[..k / 2] {
            keep[[m, i]] = true;
        }
    }
    let member: Vec<bool> = (0..n).map(|_| uniform_below(&mut rng, 2) == 1).collect();
    let refs = Array2::from_shape_fn((k, n), |(m, i)| d[i] + if keep[[m, i]] { effect } else { 0.0 } + 0.5 * g.next());
    let target = (0..n).map(|i| d[i] + if member[i] && !null { effect } else { 0.0 } + 0.5 * g.next()).collect();
    let dp: Vec<f64> = (0..p).map(|_| 2.0 * g.next() + 1.0).collect();
    let pop_t = dp.iter().map(|x| x + 0.5 * g.next()).collect();
    let pop_r = Array2::from_shape_fn((k, p), |(_, j)| dp[j] + 0.5 * g.next());
    let labels = (0..n).map(|i| i % 3).collect();
    Synth { target, member, refs, keep, pop_t, pop_r, labels }
}

/// Logits whose φ for the true class equals `phi` (3 classes, the others at 0):
/// φ' = φ − ln 2 exactly, a monotone shift.
fn logits(phi: &[f64], labels: &[usize]) -> ModelOutputs {
    ModelOutputs::Logits(Array2::from_shape_fn((phi.len(), 3), |(i, c)| if c == labels[i] { phi[i] } else { 0.0 }))
}

struct Owned {
    target_out: ModelOutputs,
    ref_out: Vec<ModelOutputs>,
}

fn owned_outputs(s: &Synth) -> Owned {
    Owned {
        target_out: logits(&s.target, &s.labels),
        ref_out: s.refs.rows().into_iter().map(|r| logits(&r.to_vec(), &s.labels)).collect(),
    }
}

fn inputs<'a>(s: &'a Synth, o: &'a Owned) -> ReferenceInputs<'a> {
    ReferenceInputs::new(&s.target, s.refs.view(), s.keep.view())
        .with_population(Population { target_phi: &s.pop_t, reference_phi: s.pop_r.view() })
        .with_outputs(FullOutputs { target: &o.target_out, references: &o.ref_out, labels: &s.labels })
}

fn auc(scores: &[f64], member: &[bool]) -> f64 {
    RankedScores::new(scores, member).metrics(&[], FprRule::AtMost).auc
}

#[test]
fn log_normal_cdf_matches_scipy_log_ndtr() {
    // scipy.special.log_ndtr (SciPy 1.17.1).
    let cases = [
        (-1e5, -5000000012.431865),
        (-40.0, -804.6084420137539),
        (-20.000001, -203.91717542085087),
        (-20.0, -203.9171553710973),
        (-19.99999, -203.9169548736165),
        (-10.0, -53.23128515051248),
        (-5.0, -15.064998393988727),
        (-1.0, -1.8410216450092634),
        (0.0, -std::f64::consts::LN_2),
        (1.0, -0.1727537790234499),
        (5.0, -2.8665161296376294e-07),
        (10.0, -7.61985302416047e-24),
    ];
    for (z, want) in cases {
        let got = log_normal_cdf(z);
        assert!((got - want).abs() <= 1e-14 * want.abs(), "log Φ({z}) = {got}, scipy {want}");
    }
    // Φ(−40) is 0 in f64; its log is not.
    assert!(log_normal_cdf(-40.0).is_finite());
    assert!(log_normal_cdf(40.0) <= 0.0 && log_normal_cdf(40.0) > -1e-300);
    // Monotone across the switch between the erfc and asymptotic branches.
    let zs: Vec<f64> = (0..2001).map(|i| -21.0 + i as f64 * 0.001).collect();
    assert!(zs.windows(2).all(|w| log_normal_cdf(w[0]) < log_normal_cdf(w[1])));
}

#[test]
fn constant_reference_phi_gives_finite_scores() {
    let (n, k) = (6, 4);
    let target = vec![3.0, 3.0, 2.5, 3.5, 3.0, -700.0];
    let refs = Array2::from_elem((k, n), 3.0);
    let keep = Array2::from_shape_fn((k, n), |(m, _)| m < 2);
    let pop_t = vec![3.0; 5];
    let pop_r = Array2::from_elem((k, 5), 3.0);
    let labels = vec![0usize; n];
    let t_out = logits(&target, &labels);
    let r_out: Vec<ModelOutputs> = refs.rows().into_iter().map(|r| logits(&r.to_vec(), &labels)).collect();
    let inp = ReferenceInputs::new(&target, refs.view(), keep.view())
        .with_population(Population { target_phi: &pop_t, reference_phi: pop_r.view() })
        .with_outputs(FullOutputs { target: &t_out, references: &r_out, labels: &labels });
    for std in [LiraStd::Population, LiraStd::Sample, LiraStd::ReferenceCode] {
        for variance in [Variance::PerExample, Variance::Global] {
            for offline_test in [OfflineTest::OneSided, OfflineTest::TwoSided] {
                let lira = LiraConfig { std, variance, offline_test, ..Default::default() };
                let cfg = ReferenceConfig { lira, ..Default::default() };
                let all = reference_attacks(&inp, None, &cfg, 0).unwrap();
                assert_eq!(all.len(), REFERENCE_ATTACKS.len());
                for a in &all {
                    assert!(a.scores.iter().all(|s| s.is_finite()), "{} {std:?} {variance:?}: {:?}", a.name, a.scores);
                }
            }
        }
    }
    // Equal φ everywhere: online LiRA has nothing to tell IN from OUT.
    let s = lira_online(&inp, &LiraConfig::default()).unwrap();
    assert_eq!(s[0], 0.0);
}

#[test]
fn a_record_without_in_models_is_an_error_for_online_lira_only() {
    let s = synth(10, 4, 5, 1.0, false, 1);
    let mut keep = s.keep.clone();
    for m in 0..4 {
        keep[[m, 2]] = false;
    }
    let inp = ReferenceInputs::new(&s.target, s.refs.view(), keep.view());
    let e = lira_online(&inp, &LiraConfig::default()).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("lira_online") && msg.contains("record 2 has 0 IN of K = 4"), "{msg}");
    assert!(msg.contains("1 of 10 records"), "{msg}");
    assert!(lira_offline(&inp, &LiraConfig::default()).is_ok());
    // A record IN everywhere cannot be scored offline.
    let mut keep = s.keep.clone();
    for m in 0..4 {
        keep[[m, 7]] = true;
    }
    let inp = ReferenceInputs::new(&s.target, s.refs.view(), keep.view());
    for name in ["lira_offline", "attack_r", "difficulty_calibration"] {
        let e = reference_attacks(&inp, Some(&[name.to_string()]), &ReferenceConfig::default(), 0).unwrap_err();
        assert!(e.to_string().contains("record 7 has 0 OUT of K = 4"), "{name}: {e}");
    }
}

#[test]
fn two_reference_models_work_and_ddof_1_per_example_says_why_not() {
    let s = synth(50, 2, 20, 1.0, false, 2);
    let o = owned_outputs(&s);
    let inp = inputs(&s, &o);
    let all = reference_attacks(&inp, None, &ReferenceConfig::default(), 0).unwrap();
    assert_eq!(all.len(), REFERENCE_ATTACKS.len());
    assert!(all.iter().all(|a| a.scores.len() == 50 && a.scores.iter().all(|x| x.is_finite())));
    let cfg = LiraConfig { std: LiraStd::Sample, ..Default::default() };
    let e = lira_online(&inp, &cfg).unwrap_err().to_string();
    assert!(e.contains("needs at least 2 IN reference models per record: record 0 has 1"), "{e}");
    let cfg = LiraConfig { std: LiraStd::Sample, variance: Variance::Global, ..Default::default() };
    assert!(lira_online(&inp, &cfg).is_err(), "one observation per record leaves no degrees of freedom");
    let cfg = LiraConfig { variance: Variance::Global, ..Default::default() };
    assert!(lira_online(&inp, &cfg).unwrap().iter().all(|x| x.is_finite()));
}

#[test]
fn wrong_shapes_and_bad_values_are_errors() {
    let s = synth(10, 4, 5, 1.0, false, 3);
    let keep = Array2::from_elem((3, 10), true);
    let inp = ReferenceInputs::new(&s.target, s.refs.view(), keep.view());
    let e = reference_attacks(&inp, None, &ReferenceConfig::default(), 0).unwrap_err().to_string();
    assert_eq!(e, "keep mask is 3 × 10 but reference φ is 4 × 10 (models × records)");
    let short = &s.target[..9];
    let e = ReferenceInputs::new(short, s.refs.view(), s.keep.view()).check().unwrap_err().to_string();
    assert!(e.contains("4 × 10") && e.contains("9 records"), "{e}");
    let mut refs = s.refs.clone();
    refs[[1, 6]] = f64::NAN;
    let e = ReferenceInputs::new(&s.target, refs.view(), s.keep.view()).check().unwrap_err().to_string();
    assert!(e.starts_with("reference φ of model 1, record 6 is NaN"), "{e}");
    let pop_r = Array2::zeros((4, 4));
    let inp = ReferenceInputs::new(&s.target, s.refs.view(), s.keep.view())
        .with_population(Population { target_phi: &s.pop_t, reference_phi: pop_r.view() });
    let e = rmia_online(&inp, &RmiaConfig::default(), 0).unwrap_err().to_string();
    assert!(e.contains("4 × 4 but expected 4 × 5"), "{e}");
    let inp = ReferenceInputs::new(&s.target, s.refs.view(), s.keep.view())
        .with_population(Population { target_phi: &s.pop_t, reference_phi: s.pop_r.view() });
    let bad = RmiaConfig { offline_a: 1.5, ..Default::default() };
    assert!(rmia_offline(&inp, &bad, 0).unwrap_err().to_string().contains("[0, 1]"));
    let bad = RmiaConfig { gamma: 0.0, ..Default::default() };
    assert!(rmia_online(&inp, &bad, 0).is_err());
}

#[test]
fn missing_inputs_skip_unless_requested() {
    let s = synth(20, 4, 5, 1.0, false, 4);
    let inp = ReferenceInputs::new(&s.target, s.refs.view(), s.keep.view());
    let got: Vec<String> =
        reference_attacks(&inp, None, &ReferenceConfig::default(), 0).unwrap().into_iter().map(|a| a.name).collect();
    assert_eq!(got, ["lira_online", "lira_offline", "attack_r", "difficulty_calibration"]);
    assert!(missing_input("attack_p", &inp).is_some() && missing_input("lira_online", &inp).is_none());
    for name in ["rmia_online", "rmia_offline", "attack_p", "shokri_shadow"] {
        let e = reference_attacks(&inp, Some(&[name.to_string()]), &ReferenceConfig::default(), 0).unwrap_err();
        assert!(e.to_string().starts_with(&format!("attack {name} was requested but needs")), "{e}");
    }
    // Names of other dispatchers are ignored; the order is REFERENCE_ATTACKS'.
    let names: Vec<String> = ["loss", "attack_r", "lira_offline"].iter().map(|s| s.to_string()).collect();
    let got: Vec<String> = reference_attacks(&inp, Some(&names), &ReferenceConfig::default(), 0)
        .unwrap()
        .into_iter()
        .map(|a| a.name)
        .collect();
    assert_eq!(got, ["lira_offline", "attack_r"]);
}

#[test]
fn results_are_deterministic_whatever_the_thread_count() {
    let s = synth(300, 8, 100, 1.0, false, 5);
    let o = owned_outputs(&s);
    let inp = inputs(&s, &o);
    let cfg = ReferenceConfig {
        rmia: RmiaConfig { population_samples: Some(37), ..Default::default() },
        shokri: ShokriConfig { max_train: 500, ..Default::default() },
        ..Default::default()
    };
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| reference_attacks(&inp, None, &cfg, 11).unwrap())
    };
    let a = run(1);
    let b = run(4);
    assert_eq!(a.len(), REFERENCE_ATTACKS.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.name, y.name);
        assert!(x.scores.iter().zip(&y.scores).all(|(p, q)| p.to_bits() == q.to_bits()), "{}", x.name);
        assert_eq!(x.description, y.description);
        assert_eq!(x.fitting, y.fitting);
    }
    let shokri = a.iter().find(|x| x.name == "shokri_shadow").unwrap();
    let f = shokri.fitting.as_ref().unwrap();
    assert_eq!((f.folds, f.seed), (0, 11));
    assert!(f.notes.iter().any(|n| n.contains("capped at 500")), "{:?}", f.notes);
    // A different seed changes the subsamples (and so, in general, the scores).
    let c = reference_attacks(&inp, Some(&["rmia_online".to_string()]), &cfg, 12).unwrap();
    assert_ne!(c[0].scores, a[2].scores);
}

/// Target "members" unrelated to anything the target saw: every attack must be at chance.
#[test]
fn null_membership_gives_auc_near_one_half() {
    let s = synth(4000, 8, 500, 1.5, true, 6);
    let o = owned_outputs(&s);
    let all = reference_attacks(&inputs(&s, &o), None, &ReferenceConfig::default(), 0).unwrap();
    assert_eq!(all.len(), REFERENCE_ATTACKS.len());
    for a in &all {
        let v = auc(&a.scores, &s.member);
        // 2,000 per class: the AUC's standard error is about 0.009.
        assert!((v - 0.5).abs() < 0.04, "{}: AUC {v}", a.name);
    }
}

/// Members raised by 1.5 logits over a record difficulty of spread 2: reference-calibrated
/// attacks see through the difficulty and beat the plain φ threshold.
#[test]
fn real_membership_is_detected_and_calibration_helps() {
    let s = synth(3000, 8, 500, 1.5, false, 7);
    let o = owned_outputs(&s);
    let all = reference_attacks(&inputs(&s, &o), None, &ReferenceConfig::default(), 0).unwrap();
    let plain = auc(&s.target, &s.member);
    for a in &all {
        let v = auc(&a.scores, &s.member);
        match a.name.as_str() {
            // These use the population only, no per-record calibration.
            "attack_p" | "shokri_shadow" => assert!((v - plain).abs() < 0.03, "{}: {v} vs {plain}", a.name),
            _ => assert!(v > plain + 0.1, "{}: AUC {v}, uncalibrated φ {plain}", a.name),
        }
    }
}

/// The sorted count equals the brute-force O(N·P) count, ties included.
#[test]
fn rmia_counting_matches_brute_force_with_ties() {
    let s = synth(200, 4, 60, 1.0, false, 8);
    // Quantise φ so that many ℓ values tie exactly.
    let q = |v: f64| (v * 2.0).round() / 2.0;
    let target: Vec<f64> = s.target.iter().map(|&v| q(v)).collect();
    let refs = s.refs.mapv(q);
    let pop_t: Vec<f64> = s.pop_t.iter().map(|&v| q(v)).collect();
    let pop_r = s.pop_r.mapv(q);
    let inp = ReferenceInputs::new(&target, refs.view(), s.keep.view())
        .with_population(Population { target_phi: &pop_t, reference_phi: pop_r.view() });
    for comparison in [Comparison::GreaterEqual, Comparison::Greater] {
        for gamma in [1.0, 2.0] {
            let cfg = RmiaConfig { gamma, comparison, ..Default::default() };
            for online in [true, false] {
                let got = if online { rmia_online(&inp, &cfg, 0) } else { rmia_offline(&inp, &cfg, 0) }.unwrap();
                let a = (!online).then_some(cfg.offline_a);
                let lp = |v: f64| log_p_from_phi(v);
                let ell = |t: f64, r: Vec<f64>| lp(t) - rmia::log_pr(&r.into_iter().map(lp).collect::<Vec<_>>(), a);
                let ez: Vec<f64> = (0..pop_t.len()).map(|j| ell(pop_t[j], pop_r.column(j).to_vec())).collect();
                for i in 0..target.len() {
                    let r: Vec<f64> = (0..4).filter(|&m| online || !s.keep[[m, i]]).map(|m| refs[[m, i]]).collect();
                    let t = ell(target[i], r) - gamma.ln();
                    let c =
                        ez.iter().filter(|&&z| if comparison == Comparison::Greater { z < t } else { z <= t }).count();
                    assert_eq!(got[i], c as f64 / ez.len() as f64, "record {i}");
                }
                if gamma == 1.0 && comparison == Comparison::GreaterEqual {
                    assert!(got.windows(2).any(|w| w[0] == w[1]), "the quantised data must produce ties");
                }
            }
        }
    }
}

#[test]
fn attack_r_interpolates_between_reference_losses() {
    // One record, OUT losses 1, 2, 4 (φ chosen so that softplus(−φ) hits them), plus the
    // end points 0 and 1000: a = [0, 1, 2, 4, 1000], α* = (j + fraction) / 4.
    let phi_of_loss = |l: f64| -(l.exp_m1().ln());
    let refs = Array2::from_shape_vec((4, 1), vec![phi_of_loss(1.0), phi_of_loss(2.0), phi_of_loss(4.0), 9.0]).unwrap();
    let keep = array![[false], [false], [false], [true]];
    let cases = [
        (0.5, 0.875),
        (1.0, 0.75),
        (1.5, 0.625),
        (2.0, 0.5),
        (3.0, 0.375),
        (4.0, 0.25),
        (5.0, 1.0 - (3.0 + 1.0 / 996.0) / 4.0),
    ];
    for (t, want) in cases {
        let target = [phi_of_loss(t)];
        let inp = ReferenceInputs::new(&target, refs.view(), keep.view());
        let got = attack_r(&inp, &AttackRConfig::default()).unwrap()[0];
        assert!((got - want).abs() < 1e-12, "loss {t}: {got} vs {want}");
        let none = AttackRConfig { interpolation: Interpolation::None, ..Default::default() };
        let plain = attack_r(&inp, &none).unwrap()[0];
        let want_plain = [1.0, 2.0, 4.0].iter().filter(|&&l| l >= t - 1e-12).count() as f64 / 3.0;
        assert!((plain - want_plain).abs() < 1e-12, "loss {t}: {plain} vs {want_plain}");
    }
    // A loss of exactly 0 (φ far above 745) sits at the lower end point; a loss of 2000
    // (φ = −2000) lies beyond the upper one.
    for (phi, want) in [(800.0, 1.0), (-2000.0, 0.0)] {
        let target = [phi];
        let inp = ReferenceInputs::new(&target, refs.view(), keep.view());
        assert_eq!(attack_r(&inp, &AttackRConfig::default()).unwrap()[0], want);
    }
    let target = [0.0];
    let inp = ReferenceInputs::new(&target, refs.view(), keep.view());
    let bad = AttackRConfig { loss_min: 5.0, loss_max: 1.0, ..Default::default() };
    assert!(attack_r(&inp, &bad).is_err());
}

#[test]
fn extreme_phi_stays_finite_and_bound_is_enforced() {
    let target = vec![1e100, -1e100, 745.0, -745.0];
    let refs = Array2::from_shape_fn((4, 4), |(m, i)| if (m + i) % 2 == 0 { 1e100 } else { -1e100 });
    let keep = Array2::from_shape_fn((4, 4), |(m, _)| m % 2 == 0);
    let pop_t = vec![1e100, -1e100, 0.0];
    let pop_r = Array2::from_shape_fn((4, 3), |(m, _)| if m == 0 { 1e100 } else { -1e100 });
    let inp = ReferenceInputs::new(&target, refs.view(), keep.view())
        .with_population(Population { target_phi: &pop_t, reference_phi: pop_r.view() });
    for std in [LiraStd::Population, LiraStd::ReferenceCode] {
        let cfg = ReferenceConfig { lira: LiraConfig { std, ..Default::default() }, ..Default::default() };
        for a in reference_attacks(&inp, None, &cfg, 0).unwrap() {
            assert!(a.scores.iter().all(|x| x.is_finite()), "{}: {:?}", a.name, a.scores);
        }
    }
    let over = vec![2e100, 0.0, 0.0, 0.0];
    let e = ReferenceInputs::new(&over, refs.view(), keep.view()).check().unwrap_err().to_string();
    assert!(e.contains("target φ of record 0 is 2e100"), "{e}");
}

#[test]
fn config_deserialises_with_paper_defaults_and_rejects_unknown_keys() {
    let d = ReferenceConfig::default();
    assert_eq!(serde_json::from_str::<ReferenceConfig>("{}").unwrap(), d);
    assert_eq!(d.lira.center, Center::Mean);
    assert_eq!(d.lira.variance, Variance::PerExample);
    assert_eq!(d.lira.offline_test, OfflineTest::OneSided);
    assert_eq!((d.rmia.gamma, d.rmia.offline_a, d.rmia.population_samples), (2.0, 0.33, None));
    assert_eq!(d.rmia.comparison, Comparison::GreaterEqual);
    let c: ReferenceConfig = serde_json::from_str(
        r#"{"lira": {"center": "median", "std": "reference_code", "offline_test": "two_sided", "variance": "global"},
            "rmia": {"gamma": 1.0, "comparison": "greater", "population_samples": 100},
            "attack_r": {"interpolation": "none"}, "shokri": {"max_train": 1000}}"#,
    )
    .unwrap();
    assert_eq!(c.lira.center, Center::Median);
    assert_eq!(c.lira.std, LiraStd::ReferenceCode);
    assert_eq!(c.lira.variance, Variance::Global);
    assert_eq!(c.lira.std_floor, 1e-6);
    assert_eq!(
        c.rmia,
        RmiaConfig { gamma: 1.0, offline_a: 0.33, comparison: Comparison::Greater, population_samples: Some(100) }
    );
    assert_eq!(c.attack_r.interpolation, Interpolation::None);
    assert_eq!(c.shokri, ShokriConfig { max_train: 1000, l2: 1e-4 });
    for bad in [r#"{"lira": {"centre": "mean"}}"#, r#"{"lira": {"center": "Median"}}"#, r#"{"liraa": {}}"#] {
        assert!(serde_json::from_str::<ReferenceConfig>(bad).is_err(), "{bad}");
    }
    // Round trip.
    let back: ReferenceConfig = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
    assert_eq!(back, c);
}

#[test]
fn descriptions_name_the_variant() {
    let s = synth(30, 4, 10, 1.0, false, 9);
    let o = owned_outputs(&s);
    let cfg = ReferenceConfig {
        lira: LiraConfig { std: LiraStd::ReferenceCode, center: Center::Median, ..Default::default() },
        ..Default::default()
    };
    let all = reference_attacks(&inputs(&s, &o), None, &cfg, 0).unwrap();
    let d = |n: &str| all.iter().find(|a| a.name == n).unwrap().description.clone();
    assert!(
        d("lira_online").contains("center median, per-example variance, std ddof 0 + 1e-30"),
        "{}",
        d("lira_online")
    );
    assert!(d("lira_online").contains("IN models per record 2, OUT 2"), "{}", d("lira_online"));
    assert!(d("lira_offline").contains("one-sided"));
    assert!(d("rmia_offline").contains("a = 0.33") && d("rmia_offline").contains("γ = 2"), "{}", d("rmia_offline"));
    assert!(d("rmia_online").contains("all 10 population records"));
    assert!(d("shokri_shadow").contains("top-3 sorted probabilities"));
}

/// Scale smoke test (run with `--ignored`): K = 16 reference models, N = 200,000 audit
/// records, P = 50,000 population records, 10 classes, every attack.
#[test]
#[ignore]
fn scale_smoke_test() {
    let (n, k, p) = (200_000, 16, 50_000);
    let s = synth(n, k, p, 1.0, false, 10);
    let labels: Vec<usize> = (0..n).map(|i| i % 10).collect();
    let lg = |phi: &[f64]| {
        ModelOutputs::Logits(Array2::from_shape_fn((phi.len(), 10), |(i, c)| if c == labels[i] { phi[i] } else { 0.0 }))
    };
    let t_out = lg(&s.target);
    let r_out: Vec<ModelOutputs> = s.refs.rows().into_iter().map(|r| lg(&r.to_vec())).collect();
    let inp = ReferenceInputs::new(&s.target, s.refs.view(), s.keep.view())
        .with_population(Population { target_phi: &s.pop_t, reference_phi: s.pop_r.view() })
        .with_outputs(FullOutputs { target: &t_out, references: &r_out, labels: &labels });
    for name in REFERENCE_ATTACKS {
        let t0 = std::time::Instant::now();
        let a = reference_attacks(&inp, Some(&[name.to_string()]), &ReferenceConfig::default(), 0).unwrap();
        eprintln!("{name}: {:.2} s, AUC {:.3}", t0.elapsed().as_secs_f64(), auc(&a[0].scores, &s.member));
    }
}

#[test]
fn settings_out_of_range_are_named_by_key_whichever_attack_runs() {
    let bad = |cfg: ReferenceConfig| cfg.invalid_setting().map(|b| b.to_string());
    assert_eq!(bad(ReferenceConfig::default()), None);
    let rmia = |r: RmiaConfig| ReferenceConfig { rmia: r, ..Default::default() };
    assert_eq!(
        bad(rmia(RmiaConfig { gamma: 0.0, ..Default::default() })).as_deref(),
        Some("rmia.gamma = 0: expected a positive finite number (γ > 0)")
    );
    assert_eq!(
        bad(rmia(RmiaConfig { offline_a: 2.0, ..Default::default() })).as_deref(),
        Some("rmia.offline_a = 2: expected a number in [0, 1]")
    );
    let shokri = ReferenceConfig { shokri: ShokriConfig { l2: -1.0, ..Default::default() }, ..Default::default() };
    assert!(bad(shokri).unwrap().starts_with("shokri.l2 = -1"));
    // More population samples than population records is an error, not a silent "all".
    let s = synth(60, 4, 10, 1.0, false, 5);
    let o = owned_outputs(&s);
    let inp = inputs(&s, &o);
    let cfg = RmiaConfig { population_samples: Some(11), ..Default::default() };
    let e = rmia_online(&inp, &cfg, 0).unwrap_err().to_string();
    assert!(e.contains("rmia.population_samples = 11") && e.contains("10 population records"), "{e}");
    assert!(rmia_online(&inp, &RmiaConfig { population_samples: Some(10), ..Default::default() }, 0).is_ok());
}
