//! Cross-checks against Google dp_accounting 0.6.0, Opacus 1.6.0 and mpmath, from the fixture
//! written by `scripts/dp_accountant_fixtures.py` (see its docstring for what each part holds).

use std::sync::OnceLock;

use mia_dp::{
    Accountant, Conversion, DP_ACCOUNTING_ORDERS, FractionalSeries, OPACUS_ORDERS, SampledGaussian, epsilon_from_rdp,
    epsilon_with, noise_multiplier_for_with, rdp, rdp_curve,
};
use serde_json::Value;

fn fixture() -> &'static Value {
    static FIXTURE: OnceLock<Value> = OnceLock::new();
    FIXTURE.get_or_init(|| serde_json::from_str(include_str!("fixtures/accountant.json")).expect("valid fixture JSON"))
}

/// A fixture number; the script writes non-finite values as "inf" / "-inf" / "nan".
fn number(value: &Value) -> f64 {
    match value {
        Value::String(text) => match text.as_str() {
            "inf" => f64::INFINITY,
            "-inf" => f64::NEG_INFINITY,
            "nan" => f64::NAN,
            other => panic!("unexpected string {other:?} in fixture"),
        },
        other => other.as_f64().expect("number"),
    }
}

fn field(point: &Value, name: &str) -> f64 {
    number(&point[name])
}

/// |ours − theirs| relative to theirs; 0 when both are equal (including both +∞ or both 0).
fn relative_difference(ours: f64, theirs: f64) -> f64 {
    if ours == theirs {
        return 0.0;
    }
    (ours - theirs).abs() / theirs.abs().max(1e-300)
}

#[test]
fn default_order_grids_are_the_libraries_defaults() {
    let grid = |name: &str| -> Vec<f64> { fixture()[name].as_array().unwrap().iter().map(number).collect() };
    assert_eq!(grid("dp_accounting_orders"), DP_ACCOUNTING_ORDERS.to_vec());
    assert_eq!(grid("opacus_orders"), OPACUS_ORDERS.to_vec());
}

/// For each accountant, ε at every fixture point against the reference column, with the
/// relative tolerance; returns the worst relative difference seen.
fn check_epsilon(accountant: Accountant, orders: &[f64], reference: &str, tolerance: f64) -> f64 {
    let points = fixture()["epsilon"].as_array().unwrap();
    assert!(points.len() >= 400, "fixture has {} epsilon points", points.len());
    let mut worst = 0.0_f64;
    let mut curve_cache: Option<((f64, f64), Vec<f64>)> = None;
    for (k, point) in points.iter().enumerate() {
        let (q, sigma, delta) = (field(point, "q"), field(point, "sigma"), field(point, "delta"));
        let steps = point["steps"].as_u64().unwrap();
        // The per-step curve is the expensive part and depends only on (q, σ): compute it once
        // per (q, σ), compose by multiplying by T (what `epsilon_with` does), and check
        // `epsilon_with` itself on every 16th point.
        if curve_cache.as_ref().is_none_or(|(key, _)| *key != (q, sigma)) {
            let one_step = SampledGaussian::new(q, sigma, 1).unwrap();
            curve_cache = Some(((q, sigma), rdp_curve(&one_step, orders, accountant.fractional_series()).unwrap()));
        }
        let per_step = &curve_cache.as_ref().unwrap().1;
        let composed: Vec<f64> = per_step.iter().map(|r| r * steps as f64).collect();
        let (epsilon, order) = epsilon_from_rdp(orders, &composed, delta, accountant.conversion()).unwrap();
        if k % 16 == 0 {
            let direct =
                epsilon_with(&SampledGaussian::new(q, sigma, steps).unwrap(), delta, orders, accountant).unwrap();
            assert_eq!((direct.epsilon, direct.order), (epsilon, order));
            assert_eq!(direct.accountant, accountant.name());
        }
        let expected = field(&point[reference], "epsilon");
        let difference = relative_difference(epsilon, expected);
        assert!(
            difference <= tolerance,
            "{accountant:?} vs {reference} at q={q} σ={sigma} T={steps} δ={delta}: ε {epsilon} (order {order}) vs \
             {expected} (order {})",
            field(&point[reference], "order")
        );
        worst = worst.max(difference);
    }
    worst
}

#[test]
fn dp_accounting_compatible_matches_dp_accounting() {
    let worst = check_epsilon(Accountant::DpAccountingCompatible, &DP_ACCOUNTING_ORDERS, "dp_accounting", 1e-3);
    // In practice the two agree to the rounding of dp_accounting's sums of A_α (~1e-9 where
    // A_α − 1 is tiny); keep the margin visible.
    eprintln!("dp_accounting: worst relative difference in ε {worst:.2e}");
    assert!(worst < 1e-6, "worst relative difference {worst}");
}

#[test]
fn opacus_compatible_matches_opacus() {
    let worst = check_epsilon(Accountant::OpacusCompatible, &OPACUS_ORDERS, "opacus", 1e-3);
    eprintln!("opacus: worst relative difference in ε {worst:.2e}");
    assert!(worst < 1e-6, "worst relative difference {worst}");
}

#[test]
fn exact_accountant_matches_exact_rdp_with_dp_accountings_conversion() {
    let worst = check_epsilon(Accountant::Rdp, &DP_ACCOUNTING_ORDERS, "exact", 1e-3);
    eprintln!("exact: worst relative difference in ε {worst:.2e}");
    assert!(worst < 1e-6, "worst relative difference {worst}");
}

#[test]
fn exact_epsilon_is_never_above_dp_accountings_looser_series() {
    // dp_accounting 0.6.0 sums |terms| at fractional orders: an upper bound on the exact RDP
    // (equal at integer orders up to rounding). Checked on the fixture's reference columns and
    // on ours.
    let mut looser = 0;
    for point in fixture()["epsilon"].as_array().unwrap() {
        let exact = field(&point["exact"], "epsilon");
        let dp = field(&point["dp_accounting"], "epsilon");
        assert!(exact <= dp * (1.0 + 1e-6), "{point}");
        let (q, sigma, delta) = (field(point, "q"), field(point, "sigma"), field(point, "delta"));
        let mechanism = SampledGaussian::new(q, sigma, point["steps"].as_u64().unwrap()).unwrap();
        if point["steps"].as_u64() == Some(1000) {
            let ours = |accountant| epsilon_with(&mechanism, delta, &DP_ACCOUNTING_ORDERS, accountant).unwrap().epsilon;
            assert!(ours(Accountant::Rdp) <= ours(Accountant::DpAccountingCompatible) * (1.0 + 1e-12), "{point}");
        }
        looser += usize::from(dp > exact * (1.0 + 1e-3));
    }
    eprintln!("dp_accounting's ε is more than 1e-3 above the exact one at {looser} fixture points");
    assert!(looser > 0, "the fixture should show the difference");
}

#[test]
fn raw_rdp_matches_mpmath_and_the_libraries() {
    let points = fixture()["rdp"].as_array().unwrap();
    assert!(points.len() >= 250);
    let (mut worst_mpmath, mut worst_opacus, mut worst_dp) = (0.0_f64, 0.0_f64, 0.0_f64);
    let mut opacus_inaccurate = 0;
    for point in points {
        let (q, sigma, order) = (field(point, "q"), field(point, "sigma"), field(point, "order"));
        let one_step = SampledGaussian::new(q, sigma, 1).unwrap();
        let ours = rdp(&one_step, order).unwrap();
        let truth = field(point, "mpmath");
        let opacus = field(point, "opacus");
        let context = format!("q={q} σ={sigma} α={order}");

        // The exact accountant is right to 1e-9 everywhere, including where A_α − 1 is ~1e-12
        // and the libraries' sums of A_α keep only a few digits of ln A_α.
        let difference = relative_difference(ours, truth);
        assert!(difference <= 1e-9, "{context}: ours {ours} vs mpmath {truth}");
        worst_mpmath = worst_mpmath.max(difference);

        // Opacus (same series) agrees wherever Opacus itself is accurate to 1e-10.
        if relative_difference(opacus, truth) <= 1e-10 {
            let difference = relative_difference(ours, opacus);
            assert!(difference <= 1e-9, "{context}: ours {ours} vs opacus {opacus}");
            worst_opacus = worst_opacus.max(difference);
        } else {
            opacus_inaccurate += 1;
        }

        // dp_accounting's own series: same terms, so agreement is to rounding; but it sums A_α
        // (not A_α − 1), so ln A_α carries an absolute error of about (number of terms) ulp,
        // which is a large relative error when A_α − 1 is tiny: allow that, over α − 1.
        let ours_dp = rdp_curve(&one_step, &[order], FractionalSeries::DpAccounting).unwrap()[0];
        let dp = field(point, "dp_accounting");
        let terms = if order.fract() == 0.0 { order + 1.0 } else { 1000.0 };
        let allowance = 1e-9 * dp.abs() + 8.0 * terms * f64::EPSILON / (order - 1.0);
        assert!(
            ours_dp == dp || (ours_dp - dp).abs() <= allowance,
            "{context}: ours (dp_accounting series) {ours_dp} vs dp_accounting {dp}"
        );
        worst_dp = worst_dp.max(relative_difference(ours_dp, dp));
    }
    eprintln!(
        "raw RDP: worst relative difference vs mpmath {worst_mpmath:.2e}, vs opacus {worst_opacus:.2e} \
         ({opacus_inaccurate} points where opacus is off mpmath by > 1e-10), vs dp_accounting {worst_dp:.2e}"
    );
}

#[test]
fn noise_calibration_matches_dp_accounting_and_meets_the_target() {
    for point in fixture()["noise_multiplier"].as_array().unwrap() {
        let (q, delta, target) = (field(point, "q"), field(point, "delta"), field(point, "target_epsilon"));
        let steps = point["steps"].as_u64().unwrap();
        let dp_sigma = field(point, "dp_accounting_sigma");
        let context = format!("q={q} T={steps} δ={delta} ε={target}");

        let compatible = noise_multiplier_for_with(
            target,
            q,
            steps,
            delta,
            &DP_ACCOUNTING_ORDERS,
            Accountant::DpAccountingCompatible,
        )
        .unwrap();
        assert!(relative_difference(compatible, dp_sigma) <= 1e-5, "{context}: {compatible} vs {dp_sigma}");

        let exact = noise_multiplier_for_with(target, q, steps, delta, &DP_ACCOUNTING_ORDERS, Accountant::Rdp).unwrap();
        let epsilon_at = |sigma: f64| {
            epsilon_with(&SampledGaussian::new(q, sigma, steps).unwrap(), delta, &DP_ACCOUNTING_ORDERS, Accountant::Rdp)
                .unwrap()
                .epsilon
        };
        assert!(epsilon_at(exact) <= target, "{context}: ε({exact}) = {} > target", epsilon_at(exact));
        assert!(epsilon_at(exact * (1.0 - 1e-3)) > target, "{context}: σ = {exact} is not the smallest");
        // Exact RDP is never above dp_accounting's, so it never needs more noise.
        assert!(exact <= dp_sigma * (1.0 + 1e-6), "{context}: exact {exact} vs dp_accounting {dp_sigma}");
    }
}

#[test]
fn conversions_of_the_fixture_curves_are_consistent_with_the_named_accountants() {
    assert_eq!(Accountant::Rdp.conversion(), Conversion::DpAccounting);
    assert_eq!(Accountant::OpacusCompatible.conversion(), Conversion::Opacus);
    assert_eq!(Accountant::DpAccountingCompatible.fractional_series(), FractionalSeries::DpAccounting);
}
