//! DCR, NNDR, the distance attacks and the report summary against scipy/numpy.
//!
//! Expected values: `scripts/synth_distance_fixtures.py` — DCRs are `cdist(...).min(axis=1)`
//! on the documented embedding (expected.csv); the summary (summary.json) takes members =
//! queries 0..199, holdout = queries 200..399 (10 of them twins of members, so some synthetic
//! rows tie), synthetic = the reference table, range scaling, w = 1: quantiles by
//! `numpy.quantile`, the closeness share from the two cdist minima per synthetic row, and its
//! Clopper–Pearson interval by `scipy.stats.beta.ppf`.

mod distance_support;

use distance_support::{close, expected, fixture_dir, tables};
use mia_synth::dcr::{
    DEFAULT_ZERO_GUARD, DcrError, closeness_share, dcr, dcr_within, distance_attacks, nndr, summarize,
};
use mia_synth::distance::{Distance, DistanceConfig};
use mia_synth::nn::NnError;

#[test]
fn dcr_nndr_and_attacks_match_scipy() {
    let exp = expected();
    let t = tables(&["fit", "query", "reference", "const_fit"]);
    let (fit, query, reference) = (&t[0], &t[1], &t[2]);
    let dist = Distance::fit(&DistanceConfig::default(), fit).unwrap();
    let e = &exp["range_w1"];
    let d = dcr(&dist, query, reference).unwrap();
    let ratio = nndr(&dist, query, reference).unwrap();
    for i in 0..query.len() {
        assert!(close(d[i], e[i].d1), "DCR of query {i}: {} vs scipy {}", d[i], e[i].d1);
        let want = if e[i].d2 == 0.0 { 0.0 } else { e[i].d1 / e[i].d2 };
        assert!((ratio[i] - want).abs() <= 1e-12, "NNDR of query {i}: {} vs {want}", ratio[i]);
    }
    // Near-ties: the ratio is just below 1; exact copies: 0.
    assert!(ratio[40..70].iter().all(|&r| r < 1.0 && r > 1.0 - 1e-6));
    assert!(ratio[..40].iter().all(|&r| r == 0.0));

    let within = dcr_within(&dist, query).unwrap();
    for (i, x) in exp["self_range_w1"].iter().enumerate() {
        assert!(close(within[i], x.d1), "leave-one-out DCR of query {i}");
    }

    // Attacks with the fit table as the non-member reference sample.
    let scores = distance_attacks(&dist, query, reference, fit, DEFAULT_ZERO_GUARD).unwrap();
    let to_fit = &exp["tofit_range_w1"];
    for i in 0..query.len() {
        assert_eq!(scores.dcr[i], -d[i]);
        let want = (to_fit[i].d1 + DEFAULT_ZERO_GUARD).ln() - (e[i].d1 + DEFAULT_ZERO_GUARD).ln();
        assert!((scores.dcr_calibrated[i] - want).abs() <= 1e-9, "calibrated score of query {i}");
        assert!(scores.dcr_calibrated[i].is_finite());
    }
    // An exact copy outranks every non-copy with the same or a smaller reference distance.
    assert!(scores.dcr_calibrated[0] > 10.0);
    assert_eq!(distance_attacks(&dist, query, reference, fit, 0.0).unwrap_err(), DcrError::BadGuard(0.0));
}

#[test]
fn summary_matches_numpy_and_scipy() {
    let t = tables(&["fit", "query", "reference", "const_fit"]);
    let (fit, query, synthetic) = (&t[0], &t[1], &t[2]);
    let members = query.select(&(0..200).collect::<Vec<_>>());
    let holdout = query.select(&(200..400).collect::<Vec<_>>());
    let dist = Distance::fit(&DistanceConfig::default(), fit).unwrap();
    let s = summarize(&dist, &members, &holdout, synthetic, 1, 0.95).unwrap();
    let text = std::fs::read_to_string(fixture_dir().join("summary.json")).unwrap();
    let want: serde_json::Value = serde_json::from_str(&text).unwrap();
    let num = |k: &str| want[k].as_f64().unwrap();
    let count = |k: &str| want[k].as_u64().unwrap() as usize;
    for (got, key) in [
        (&s.members_to_synthetic, "members_to_synthetic"),
        (&s.holdout_to_synthetic, "holdout_to_synthetic"),
        (&s.synthetic_to_members, "synthetic_to_members"),
    ] {
        let w = want[key].as_array().unwrap();
        assert_eq!(got.len(), w.len());
        for (g, x) in got.iter().zip(w) {
            assert!(close(g.value, x.as_f64().unwrap()), "{key} q={}: {} vs {x}", g.q, g.value);
        }
    }
    assert_eq!(s.exact_copies.members_in_synthetic, count("members_in_synthetic"));
    assert_eq!(s.exact_copies.holdout_in_synthetic, count("holdout_in_synthetic"));
    assert_eq!(s.exact_copies.synthetic_copying_members, count("synthetic_copying_members"));
    let c = &s.closeness;
    assert_eq!(
        (c.closer_to_members, c.closer_to_holdout, c.ties),
        (count("closer_to_members"), count("closer_to_holdout"), count("ties"))
    );
    assert!(c.ties > 0, "the twin queries make some synthetic rows tie");
    assert_eq!(c.members_used, 200);
    assert!((c.share.unwrap() - num("share")).abs() < 1e-15);
    let ci = want["interval_95"].as_array().unwrap();
    for (g, x) in c.interval.iter().zip(ci) {
        assert!((g - x.as_f64().unwrap()).abs() < 1e-9, "interval {:?} vs {ci:?}", c.interval);
    }
    // The summary serialises (the report embeds it) without NaN.
    let json = serde_json::to_string(&s).unwrap();
    assert!(!json.contains("null") && !json.contains("NaN"));
}

#[test]
fn closeness_share_subsamples_the_larger_set() {
    let t = tables(&["fit", "query", "reference", "const_fit"]);
    let (fit, query, synthetic) = (&t[0], &t[1], &t[2]);
    let dist = Distance::fit(&DistanceConfig::default(), fit).unwrap();
    // Synthetic rows compared with themselves as "members" and the fit table as holdout:
    // the 500 fit rows are subsampled to the 400 queries.
    let a = closeness_share(&dist, query, fit, synthetic, 3, 0.95).unwrap();
    assert_eq!((a.members_used, a.holdout_used), (400, 400));
    assert_eq!(a.closer_to_members + a.closer_to_holdout + a.ties, synthetic.len());
    assert_eq!(a, closeness_share(&dist, query, fit, synthetic, 3, 0.95).unwrap());
    let b = closeness_share(&dist, query, fit, synthetic, 4, 0.95).unwrap();
    assert_eq!(b.holdout_used, 400);
    // The synthetic table was built from query copies and Adult rows outside both sets, so
    // it prefers the queries.
    assert!(a.share.unwrap() > 0.5 && a.interval[0] <= a.share.unwrap() && a.share.unwrap() <= a.interval[1]);
}

#[test]
fn degenerate_inputs_are_errors_not_panics() {
    let t = tables(&["fit", "query", "reference", "const_fit"]);
    let dist = Distance::fit(&DistanceConfig::default(), &t[0]).unwrap();
    let one = t[2].select(&[0]);
    assert!(matches!(nndr(&dist, &t[1], &one), Err(DcrError::Nn(NnError::TooFewReference { .. }))));
    let empty = t[2].select(&[]);
    assert!(matches!(dcr(&dist, &t[1], &empty), Err(DcrError::Nn(NnError::TooFewReference { .. }))));
    assert_eq!(dcr(&dist, &empty, &t[2]).unwrap(), Vec::<f64>::new());
    assert!(matches!(dcr_within(&dist, &one), Err(DcrError::Nn(NnError::TooFewReference { .. }))));
}
