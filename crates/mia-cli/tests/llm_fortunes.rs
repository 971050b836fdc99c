//! `mia llm` on the bundled fortunes fixtures (data/llm, made by scripts/llm_fixtures.py: a
//! small GPT-2-architecture model fine-tuned on Debian's fortunes), checked against an
//! independent computation: fixtures/expected/llm_fortunes_*.json, written by
//! scripts/llm_crosscheck.py with NumPy (every attack's per-text score, from the formulas) and
//! scikit-learn (`roc_auc_score`, `roc_curve` for TPR at FPR ≤ 1 % and 10 %).

mod support;

use serde_json::Value;
use std::collections::HashMap;
use support::{mia, report, s, validate};

const ATTACKS: [&str; 6] = ["loss", "zlib", "lowercase", "min_k", "min_k_plus_plus", "reference"];

/// Runs `mia llm` on one split and returns (report, per-text scores by attack and id).
fn audit(split: &str, dir: &std::path::Path) -> (Value, HashMap<String, HashMap<String, f64>>) {
    let data = support::root().join(format!("data/llm/fortunes_{split}.jsonl.gz"));
    let out = dir.join(split);
    let o = mia(&["llm", s(&data), "-o", s(&out), "--bootstrap", "300", "--fpr", "0.01", "--fpr", "0.1", "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let mut rdr = csv::Reader::from_path(out.join("records.csv")).unwrap();
    let header: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    let mut scores: HashMap<String, HashMap<String, f64>> = HashMap::new();
    for row in rdr.records() {
        let row = row.unwrap();
        for a in ATTACKS {
            let k = header.iter().position(|h| *h == format!("{a}_score")).unwrap();
            scores.entry(a.to_string()).or_default().insert(row[0].to_string(), row[k].parse().unwrap());
        }
    }
    (report(&out), scores)
}

fn check_against_python(split: &str, r: &Value, scores: &HashMap<String, HashMap<String, f64>>) {
    let expected: Value = serde_json::from_slice(
        &std::fs::read(support::root().join(format!("fixtures/expected/llm_fortunes_{split}.json"))).unwrap(),
    )
    .unwrap();
    let records = expected["per_record"].as_array().unwrap();
    assert_eq!(records.len(), r["rows"]["kept"].as_u64().unwrap() as usize);
    for a in ATTACKS {
        for rec in records {
            let id = rec["id"].as_str().unwrap();
            let (ours, theirs) = (scores[a][id], rec[a].as_f64().unwrap());
            assert!((ours - theirs).abs() <= 1e-9 * theirs.abs().max(1.0), "{split} {a} {id}: {ours} vs {theirs}");
        }
        let ours = r["attacks"].as_array().unwrap().iter().find(|x| x["name"] == a).unwrap();
        let theirs = &expected["attacks"][a];
        let auc = ours["auc"]["value"].as_f64().unwrap();
        assert!((auc - theirs["auc"].as_f64().unwrap()).abs() < 1e-12, "{split} {a}: AUC {auc} vs {}", theirs["auc"]);
        for t in theirs["tpr_at_fpr"].as_array().unwrap() {
            let f = t["fpr"].as_f64().unwrap();
            let o = ours["tpr_at_fpr"].as_array().unwrap().iter().find(|x| x["fpr"].as_f64() == Some(f)).unwrap();
            assert_eq!(o["tpr"].as_f64(), t["tpr"].as_f64(), "{split} {a}: TPR at FPR {f}");
        }
    }
    // The zlib library behind the lengths is the one the Python side used.
    let zlib = expected["versions"]["zlib_runtime"].as_str().unwrap();
    assert!(r["llm"]["zlib"].as_str().unwrap().starts_with(&format!("zlib {zlib} ")), "{}", r["llm"]["zlib"]);
}

/// Random split (members by a fair coin): every attack matches Python; the model memorised
/// (the loss attack's AUC interval lies above 0.5) and the blind check sits at chance.
#[test]
fn random_split_matches_python_and_the_blind_check_is_at_chance() {
    let dir = tempfile::tempdir().unwrap();
    let (r, scores) = audit("random", dir.path());
    validate(&r);
    check_against_python("random", &r, &scores);
    let loss = r["attacks"].as_array().unwrap().iter().find(|x| x["name"] == "loss").unwrap();
    assert!(loss["auc"]["ci"][0].as_f64().unwrap() > 0.6, "{}", loss["auc"]);
    let b = &r["blind"];
    assert_eq!(b["distinguishable"], false, "{}", b["verdict"]);
    assert!(b["attacks"].as_array().unwrap().iter().all(|a| a["beats_blind"] == true), "{}", b["attacks"]);
}

/// Shifted split (members from literature and wisdom, non-members from computers and
/// science): every attack matches Python, and the blind check flags the split.
#[test]
fn shifted_split_matches_python_and_the_blind_check_flags_it() {
    let dir = tempfile::tempdir().unwrap();
    let (r, scores) = audit("shifted", dir.path());
    check_against_python("shifted", &r, &scores);
    let b = &r["blind"];
    assert_eq!(b["distinguishable"], true, "{}", b["verdict"]);
    assert!(b["auc"]["ci"][0].as_f64().unwrap() > 0.8, "{}", b["auc"]);
    assert!(r["caveats"].as_array().unwrap().iter().any(|c| c.as_str().unwrap().contains("distinguishable")));
}
