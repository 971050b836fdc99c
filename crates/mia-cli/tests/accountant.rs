//! `mia accountant` end to end: ε for a recipe and the noise multiplier for an ε, checked
//! against Google dp_accounting 0.6.0 and Opacus 1.6.0 through the fixtures of
//! `scripts/dp_accountant_fixtures.py` (crates/mia-dp/tests/fixtures/accountant.json), and
//! every bad value refused with one line and exit code 2.

mod support;

use serde_json::Value;
use support::{mia, root};

fn fixtures() -> Value {
    let path = root().join("crates/mia-dp/tests/fixtures/accountant.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn json_of(args: &[&str]) -> Value {
    let out = mia(&[&["accountant", "--json"], args].concat());
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    serde_json::from_str(&text).unwrap()
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

/// Every 23rd fixture point (q from 1e-4 to 1, σ from 0.3 to 20, T from 1 to 1e6, δ from 1e-9 to
/// 1e-3): the dp-accounting and opacus accountants print the libraries' own ε, and the default
/// exact accountant Opacus's RDP under dp_accounting's conversion, all within 1e-6 relative.
#[test]
fn epsilon_matches_dp_accounting_and_opacus() {
    let fx = fixtures();
    let points = fx["epsilon"].as_array().unwrap();
    let mut checked = 0;
    for p in points.iter().step_by(23) {
        let (q, sigma, steps, delta) =
            (p["q"].to_string(), p["sigma"].to_string(), p["steps"].to_string(), p["delta"].to_string());
        let args = ["--sample-rate", &q, "--noise-multiplier", &sigma, "--steps", &steps, "--delta", &delta];
        for (accountant, key, name) in [
            ("dp-accounting", "dp_accounting", "rdp-dp-accounting-0.6"),
            ("opacus", "opacus", "rdp-opacus-1.6"),
            ("rdp", "exact", "rdp"),
        ] {
            let want = num(&p[key]["epsilon"]);
            let got = json_of(&[&args[..], &["--accountant", accountant]].concat());
            assert_eq!(got["accountant"], name);
            let eps = num(&got["epsilon"]);
            let close = if want == 0.0 { eps == 0.0 } else { (eps / want - 1.0).abs() < 1e-6 };
            assert!(close, "{accountant} at {p}: {eps} vs {want}");
            assert_eq!(num(&got["noise_multiplier"]), num(&p["sigma"]));
            assert_eq!(num(&got["sample_rate"]), num(&p["q"]));
            assert_eq!(got["steps"].as_u64(), p["steps"].as_u64());
            assert_eq!(num(&got["delta"]), num(&p["delta"]));
            checked += 1;
        }
    }
    assert!(checked >= 57, "{checked}");
}

/// `--epsilon` prints the smallest noise multiplier that reaches it: within 1e-3 of
/// dp_accounting's calibration, and its ε is at most the target.
#[test]
fn noise_multiplier_for_an_epsilon_matches_dp_accounting() {
    let fx = fixtures();
    for p in fx["noise_multiplier"].as_array().unwrap() {
        let (q, steps, delta, target) =
            (p["q"].to_string(), p["steps"].to_string(), p["delta"].to_string(), p["target_epsilon"].to_string());
        let got = json_of(&[
            "--sample-rate",
            &q,
            "--epsilon",
            &target,
            "--steps",
            &steps,
            "--delta",
            &delta,
            "--accountant",
            "dp-accounting",
        ]);
        let want = num(&p["dp_accounting_sigma"]);
        assert!((num(&got["noise_multiplier"]) / want - 1.0).abs() < 1e-3, "{p}: {got}");
        assert!(num(&got["epsilon"]) <= num(&p["target_epsilon"]), "{p}: {got}");
    }
}

#[test]
fn text_output_names_the_recipe_and_scientific_step_counts_parse() {
    let out =
        mia(&["accountant", "--sample-rate", "0.01", "--noise-multiplier", "1.1", "--steps", "1e4", "--delta", "1e-5"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("epsilon = ") && text.contains("10000 steps") && text.contains("rdp accountant"),
        "{text}"
    );
}

/// q outside (0, 1], σ ≤ 0, δ outside (0, 1), an ε no noise reaches, a fractional step count,
/// neither or both of --noise-multiplier and --epsilon: one line naming the flag, exit 2.
#[test]
fn bad_values_are_one_line_errors_with_exit_code_2() {
    let base = |q: &str, sigma: &str, steps: &str, delta: &str| {
        vec!["accountant", "--sample-rate", q, "--noise-multiplier", sigma, "--steps", steps, "--delta", delta]
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>()
    };
    let cases: Vec<(Vec<String>, &str)> = vec![
        (base("0", "1", "10", "1e-5"), "--sample-rate must be in (0, 1]"),
        (base("1.5", "1", "10", "1e-5"), "--sample-rate must be in (0, 1]"),
        (base("0.1", "0", "10", "1e-5"), "--noise-multiplier must be finite and > 0"),
        (base("0.1", "-1", "10", "1e-5"), "--noise-multiplier must be finite and > 0"),
        (base("0.1", "1", "10", "1"), "--delta must be in (0, 1)"),
        (base("0.1", "1", "10", "0"), "--delta must be in (0, 1)"),
        (base("0.1", "1", "0", "1e-5"), "--steps must be >= 1"),
        (base("0.1", "1", "1.5", "1e-5"), "whole number of steps"),
        (
            ["accountant", "--sample-rate", "0.1", "--epsilon", "0.0001", "--steps", "1e6", "--delta", "1e-9"]
                .map(String::from)
                .to_vec(),
            "is not reachable",
        ),
        (
            ["accountant", "--sample-rate", "0.1", "--epsilon", "-1", "--steps", "10", "--delta", "1e-5"]
                .map(String::from)
                .to_vec(),
            "--epsilon must be finite and > 0",
        ),
        (
            ["accountant", "--sample-rate", "0.1", "--steps", "10", "--delta", "1e-5"].map(String::from).to_vec(),
            "--noise-multiplier",
        ),
    ];
    for (args, says) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = mia(&args);
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    let both = mia(&[
        "accountant",
        "--sample-rate",
        "0.1",
        "--noise-multiplier",
        "1",
        "--epsilon",
        "1",
        "--steps",
        "10",
        "--delta",
        "1e-5",
    ]);
    assert_eq!(both.status.code(), Some(2));
}
