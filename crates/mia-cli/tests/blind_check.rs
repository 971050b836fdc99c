//! End-to-end tests of the blind check outside `mia llm` (which has its own in
//! llm_command.rs): `mia score --features`, and the check `mia audit` and `mia synth` run on
//! the audited records' features.

mod support;

use support::{error_line, mia, report, s, validate};

#[path = "../../mia-data/tests/support/npy.rs"]
mod npy_support;

/// `--features`: the blind check on the records' features. The digits split is a seeded coin
/// (scripts/make_fixtures.py), so pixels cannot tell members apart; a feature that copies the
/// membership (plus noise) must be flagged, and bad feature files are one-line errors.
#[test]
fn blind_check_on_features() {
    let dir = tempfile::tempdir().unwrap();
    let root = support::root();
    let scores = root.join("fixtures/scores/digits_logreg.csv");
    let out = dir.path().join("r");
    let o = mia(&[
        "score",
        s(&scores),
        "--features",
        s(&root.join("fixtures/scores/digits_features.npy")),
        "-o",
        s(&out),
        "--bootstrap",
        "200",
        "--fail-if",
        "blind.auc.lo > 0.55",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let r = report(&out);
    validate(&r);
    let b = &r["blind"];
    assert_eq!(b["data"], "features");
    let names: Vec<&str> = b["classifiers"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["features_logistic", "features_gbt"]);
    assert_eq!(b["distinguishable"], false, "{}", b["verdict"]);
    assert!(
        r["inputs"].as_array().unwrap().iter().any(|i| i["path"].as_str().unwrap().ends_with("digits_features.npy"))
    );

    // Column 0 is the membership plus noise: distinguishable, and the gate reads it.
    let member: Vec<bool> = std::fs::read_to_string(&scores)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap() == "1")
        .collect();
    let n = member.len();
    let values: Vec<f64> = (0..n)
        .flat_map(|i| [f64::from(u8::from(member[i])) + ((i * 7919) % 100) as f64 / 60.0, (i % 13) as f64])
        .collect();
    let data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let shifted = dir.path().join("shifted.npy");
    std::fs::write(&shifted, npy_support::raw_npy("<f8", false, &format!("({n}, 2)"), &data)).unwrap();
    let out = dir.path().join("r2");
    let o = mia(&["score", s(&scores), "--features", s(&shifted), "-o", s(&out), "--fail-if", "blind.auc.lo > 0.55"]);
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(report(&out)["blind"]["distinguishable"], true);

    // Rows that do not match the records, and a value that is not finite.
    let short = dir.path().join("short.npy");
    std::fs::write(&short, npy_support::raw_npy("<f8", false, "(3, 2)", &data[..48])).unwrap();
    let line = error_line(&mia(&["score", s(&scores), "--features", s(&short), "-o", s(&out)]));
    assert!(line.contains("short.npy: 3 rows of features, but the score input has 1797 records"), "{line}");
    let mut nan = values.clone();
    nan[2 * 4 + 1] = f64::NAN;
    let data: Vec<u8> = nan.iter().flat_map(|v| v.to_le_bytes()).collect();
    let bad = dir.path().join("nan.npy");
    std::fs::write(&bad, npy_support::raw_npy("<f8", false, &format!("({n}, 2)"), &data)).unwrap();
    let line = error_line(&mia(&["score", s(&scores), "--features", s(&bad), "-o", s(&out)]));
    assert!(line.contains("nan.npy: row 5") && line.contains("finite"), "{line}");
}

/// A model audit of a given split (`plan.target = "member_column"`) on the first 600
/// Location-30 rows: members flagged by a rule over the features (a shifted split: the blind
/// check must say so) or by the row index (not shifted: at chance).
#[test]
fn model_audit_of_a_given_split() {
    let tmp = tempfile::tempdir().unwrap();
    let lines = support::location_head(600);
    // The number of the first 40 features set, and its median over the rows.
    let set: Vec<usize> = lines.iter().map(|l| l.split(',').skip(1).take(40).filter(|v| *v == "1").count()).collect();
    let mut sorted = set.clone();
    sorted.sort_unstable();
    let median = sorted[300];
    for (name, flag) in [("shifted", true), ("by_index", false)] {
        let member: Vec<bool> = (0..lines.len()).map(|i| if flag { set[i] > median } else { i % 3 == 0 }).collect();
        let cfg = support::member_column_config(tmp.path(), name, &lines, &member, 2);
        let out = tmp.path().join(name);
        let o = mia(&["audit", s(&cfg), "-q", "-o", s(&out)]);
        assert!(o.status.success(), "{name}: {}", String::from_utf8_lossy(&o.stderr));
        let b = &report(&out)["blind"];
        assert_eq!(b["data"], "features");
        assert_eq!(b["distinguishable"], flag, "{name}: {}", b["verdict"]);
        if flag {
            assert!(b["auc"]["value"].as_f64().unwrap() > 0.9, "{name}: {}", b["auc"]);
        }
    }
}
