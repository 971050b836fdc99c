//! Properties any correct accountant has, input validation, and the special cases.

use mia_dp::{
    Accountant, DP_ACCOUNTING_ORDERS, DpError, MAX_NOISE_MULTIPLIER, MIN_NOISE_MULTIPLIER, OPACUS_ORDERS,
    SampledGaussian, epsilon, epsilon_with, noise_multiplier_for, rdp,
};

const ACCOUNTANTS: [(Accountant, &[f64]); 3] = [
    (Accountant::Rdp, &DP_ACCOUNTING_ORDERS),
    (Accountant::DpAccountingCompatible, &DP_ACCOUNTING_ORDERS),
    (Accountant::OpacusCompatible, &OPACUS_ORDERS),
];

fn eps(accountant: Accountant, orders: &[f64], q: f64, sigma: f64, steps: u64, delta: f64) -> f64 {
    epsilon_with(&SampledGaussian::new(q, sigma, steps).unwrap(), delta, orders, accountant).unwrap().epsilon
}

#[test]
fn epsilon_decreases_with_noise() {
    for (accountant, orders) in ACCOUNTANTS {
        for (q, steps) in [(0.01, 1000), (0.1, 10), (1.0, 1)] {
            let curve: Vec<f64> = [0.5, 0.7, 1.0, 1.4, 2.0, 4.0, 8.0]
                .iter()
                .map(|&s| eps(accountant, orders, q, s, steps, 1e-5))
                .collect();
            assert!(curve.windows(2).all(|w| w[0] > w[1]), "{accountant:?} q={q} T={steps}: {curve:?}");
        }
    }
}

#[test]
fn epsilon_increases_with_sampling_rate_and_steps() {
    for (accountant, orders) in ACCOUNTANTS {
        let by_q: Vec<f64> =
            [1e-3, 0.01, 0.05, 0.2, 0.6, 1.0].iter().map(|&q| eps(accountant, orders, q, 1.0, 100, 1e-5)).collect();
        assert!(by_q.windows(2).all(|w| w[0] < w[1]), "{accountant:?}: {by_q:?}");
        let by_steps: Vec<f64> =
            [1, 10, 100, 1000, 100_000].iter().map(|&t| eps(accountant, orders, 0.01, 1.0, t, 1e-5)).collect();
        assert!(by_steps.windows(2).all(|w| w[0] < w[1]), "{accountant:?}: {by_steps:?}");
        let by_delta: Vec<f64> =
            [1e-9, 1e-7, 1e-5, 1e-3].iter().map(|&d| eps(accountant, orders, 0.01, 1.0, 1000, d)).collect();
        assert!(by_delta.windows(2).all(|w| w[0] > w[1]), "{accountant:?}: {by_delta:?}");
    }
}

#[test]
fn rdp_is_non_decreasing_in_the_order_and_linear_in_steps() {
    for (q, sigma) in [(1e-4, 20.0), (1e-3, 0.8), (0.01, 1.0), (0.25, 0.5), (0.5, 3.0), (0.9, 1.0)] {
        let one = SampledGaussian::new(q, sigma, 1).unwrap();
        let curve: Vec<f64> = DP_ACCOUNTING_ORDERS.iter().map(|&a| rdp(&one, a).unwrap()).collect();
        assert!(curve.windows(2).all(|w| w[0] <= w[1] * (1.0 + 1e-12)), "q={q} σ={sigma}: {curve:?}");
        let many = SampledGaussian::new(q, sigma, 1000).unwrap();
        assert_eq!(rdp(&many, 2.5).unwrap(), 1000.0 * rdp(&one, 2.5).unwrap());
    }
}

#[test]
fn full_batch_is_the_gaussian_mechanism() {
    // q = 1: RDP α/(2σ²) at every order, fractional or not.
    let mechanism = SampledGaussian::new(1.0, 2.0, 3).unwrap();
    for order in [1.1, 2.0, 7.5, 1024.0] {
        assert_eq!(rdp(&mechanism, order).unwrap(), 3.0 * order / 8.0);
    }
    // One release at σ = 1, δ = 1e-5 on the default grid.
    let spent = epsilon(&SampledGaussian::new(1.0, 1.0, 1).unwrap(), 1e-5, &DP_ACCOUNTING_ORDERS).unwrap();
    let expected = DP_ACCOUNTING_ORDERS
        .iter()
        .map(|&a| a / 2.0 + (-1.0 / a).ln_1p() - (1e-5 * a).ln() / (a - 1.0))
        .fold(f64::INFINITY, f64::min);
    assert!((spent.epsilon - expected).abs() < 1e-12, "{} vs {expected}", spent.epsilon);
}

#[test]
fn extreme_noise_levels() {
    // Huge σ: RDP → 0, so ε is the floor the order grid and δ leave (largest order wins).
    let quiet = epsilon(&SampledGaussian::new(0.01, 1e5, 1_000_000).unwrap(), 1e-5, &DP_ACCOUNTING_ORDERS).unwrap();
    assert!(quiet.epsilon < 0.02, "{quiet:?}");
    // dp_accounting's KL shortcut: tiny RDP and a large enough δ give exactly 0.
    let zero = epsilon(&SampledGaussian::new(1e-4, 1e3, 1).unwrap(), 1e-3, &DP_ACCOUNTING_ORDERS).unwrap();
    assert_eq!(zero.epsilon, 0.0);
    // Tiny σ: enormous but finite ε, never NaN.
    let loud = epsilon(&SampledGaussian::new(0.01, 0.01, 100).unwrap(), 1e-5, &DP_ACCOUNTING_ORDERS).unwrap();
    assert!(loud.epsilon > 100.0 && !loud.epsilon.is_nan(), "{loud:?}");
    let hopeless = epsilon(&SampledGaussian::new(0.5, 1e-300, 1).unwrap(), 1e-5, &DP_ACCOUNTING_ORDERS).unwrap();
    assert_eq!(hopeless.epsilon, f64::INFINITY);
}

#[test]
fn epsilon_for_a_million_steps_is_fast() {
    // ε for T = 1e6 costs the same as for T = 1 (only the final multiply depends on T).
    let start = std::time::Instant::now();
    let spent = epsilon(&SampledGaussian::new(0.01, 1.0, 1_000_000).unwrap(), 1e-5, &DP_ACCOUNTING_ORDERS).unwrap();
    assert!(spent.epsilon.is_finite());
    // Generous: unoptimised test builds are ~20x slower than release.
    assert!(start.elapsed().as_secs_f64() < 2.0, "{:?}", start.elapsed());
}

#[test]
fn result_serialises_with_its_accountant_name() {
    let spent = epsilon(&SampledGaussian::new(0.01, 1.0, 1000).unwrap(), 1e-5, &DP_ACCOUNTING_ORDERS).unwrap();
    let json = serde_json::to_value(spent).unwrap();
    assert_eq!(json["accountant"], "rdp");
    assert_eq!(json["delta"], 1e-5);
    assert!(json["epsilon"].as_f64().unwrap() > 0.0 && json["order"].as_f64().unwrap() > 1.0);
    let mechanism = serde_json::to_value(SampledGaussian::new(0.01, 1.0, 1000).unwrap()).unwrap();
    assert_eq!(mechanism["steps"], 1000);
    assert_eq!(serde_json::to_value(Accountant::OpacusCompatible).unwrap(), "opacus_compatible");
}

/// The error's message names `parameter`.
fn assert_names(result: Result<impl std::fmt::Debug, DpError>, parameter: &str) {
    let message = result.expect_err("should be rejected").to_string();
    assert!(message.starts_with(parameter), "message {message:?} should start with {parameter}");
    assert!(!message.contains('\n'), "one line: {message:?}");
}

#[test]
fn invalid_inputs_are_rejected_naming_the_parameter() {
    for q in [0.0, -0.1, 1.5, f64::NAN, f64::INFINITY] {
        assert_names(SampledGaussian::new(q, 1.0, 10), "sample_rate");
        assert_names(noise_multiplier_for(1.0, q, 10, 1e-5, &DP_ACCOUNTING_ORDERS), "sample_rate");
    }
    for sigma in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert_names(SampledGaussian::new(0.1, sigma, 10), "noise_multiplier");
    }
    assert_names(SampledGaussian::new(0.1, 1.0, 0), "steps");
    assert_names(noise_multiplier_for(1.0, 0.1, 0, 1e-5, &DP_ACCOUNTING_ORDERS), "steps");
    // Public fields can be set to anything: every entry point re-validates.
    let unchecked = SampledGaussian { sample_rate: 0.1, noise_multiplier: -2.0, steps: 5 };
    assert_names(epsilon(&unchecked, 1e-5, &DP_ACCOUNTING_ORDERS), "noise_multiplier");
    assert_names(rdp(&unchecked, 2.0), "noise_multiplier");

    let mechanism = SampledGaussian::new(0.1, 1.0, 10).unwrap();
    for delta in [0.0, 1.0, -1e-5, 2.0, f64::NAN] {
        assert_names(epsilon(&mechanism, delta, &DP_ACCOUNTING_ORDERS), "delta");
        assert_names(noise_multiplier_for(1.0, 0.1, 10, delta, &DP_ACCOUNTING_ORDERS), "delta");
    }
    assert_names(epsilon(&mechanism, 1e-5, &[]), "orders");
    for order in [1.0, 0.5, -3.0, f64::NAN, f64::INFINITY, 2e6] {
        assert_names(epsilon(&mechanism, 1e-5, &[2.0, order]), "orders");
        assert_names(rdp(&mechanism, order), "orders");
    }
    for target in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert_names(noise_multiplier_for(target, 0.1, 10, 1e-5, &DP_ACCOUNTING_ORDERS), "target_epsilon");
    }
}

#[test]
fn unreachable_targets_are_reported() {
    // With orders ≤ 1024 and δ = 1e-9, ε ≥ ln(1e9·1024)/1023 − 1/1024 ≈ 0.027 however large σ is.
    let err = noise_multiplier_for(0.01, 0.01, 1000, 1e-9, &DP_ACCOUNTING_ORDERS).unwrap_err();
    assert!(matches!(err, DpError::UnreachableEpsilon { .. }), "{err}");
    let message = err.to_string();
    assert!(message.starts_with("target_epsilon = 0.01 is not reachable"), "{message}");
    assert!(message.contains(&format!("noise_multiplier = {MAX_NOISE_MULTIPLIER}")), "{message}");

    // A target so loose that even the smallest σ searched meets it.
    let err = noise_multiplier_for(1e12, 1e-4, 1, 1e-3, &DP_ACCOUNTING_ORDERS).unwrap_err();
    assert!(matches!(err, DpError::TargetMetBelowSearchRange { .. }), "{err}");
    assert!(err.to_string().contains(&format!("noise_multiplier >= {MIN_NOISE_MULTIPLIER}")), "{err}");
}

#[test]
fn calibrated_noise_is_the_smallest_meeting_the_target() {
    for (target, q, steps, delta) in [(0.5, 1.0, 1, 1e-5), (3.0, 0.02, 5000, 1e-6), (10.0, 0.3, 50, 1e-3)] {
        let sigma = noise_multiplier_for(target, q, steps, delta, &DP_ACCOUNTING_ORDERS).unwrap();
        let at = |s: f64| eps(Accountant::Rdp, &DP_ACCOUNTING_ORDERS, q, s, steps, delta);
        assert!(at(sigma) <= target, "ε({sigma}) = {}", at(sigma));
        assert!(at(sigma * (1.0 - 1e-3)) > target);
        assert!(at(sigma * (1.0 - 1e-5)) > target, "tolerance is 1e-6 relative");
    }
}

/// `Accounting` records the whole recipe; a calibrated one is the accounting of its own σ, and
/// every accountant's name parses back (plus the short names the CLI takes).
#[test]
fn accounting_records_the_recipe_and_names_parse_back() {
    use mia_dp::Accounting;
    for (accountant, orders) in ACCOUNTANTS {
        let cal = Accounting::calibrated(1.0, 0.01, 1000, 1e-5, accountant).unwrap();
        assert!(cal.epsilon <= 1.0 && cal.epsilon > 0.99, "{cal:?}");
        let mechanism = SampledGaussian::new(0.01, cal.noise_multiplier, 1000).unwrap();
        assert_eq!(Accounting::of(&mechanism, 1e-5, accountant).unwrap(), cal);
        assert_eq!(accountant.default_orders(), orders);
        let direct = epsilon_with(&mechanism, 1e-5, orders, accountant).unwrap();
        assert_eq!((cal.epsilon, cal.order, cal.accountant), (direct.epsilon, direct.order, direct.accountant));
        assert_eq!(Accountant::from_name(accountant.name()), Some(accountant));
    }
    assert_eq!(Accountant::from_name("opacus"), Some(Accountant::OpacusCompatible));
    assert_eq!(Accountant::from_name("dp-accounting"), Some(Accountant::DpAccountingCompatible));
    assert_eq!(Accountant::from_name("pld"), None);
}
