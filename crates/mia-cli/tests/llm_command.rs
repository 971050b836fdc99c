//! End-to-end tests of `mia llm`: the built binary on JSON Lines files of texts.

mod support;

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use support::{error_line, mia, report, s, validate};

/// A small file of `n` texts written to `dir/name`: members' tokens are likelier (log p
/// nearer 0) than non-members', from a fixed arithmetic pattern (no randomness).
fn write_texts(dir: &Path, name: &str, n: usize, edit: impl Fn(usize, &mut Value)) -> PathBuf {
    let words = ["river", "boat", "mill", "spring", "stone", "bridge", "lantern", "harbour"];
    let mut lines = String::new();
    for i in 0..n {
        let member = i % 2 == 0;
        let len = 6 + (i * 7) % 19;
        let lp: Vec<f64> =
            (0..len).map(|t| -(((i * 31 + t * 17) % 23) as f64) / 4.0 - if member { 0.2 } else { 0.9 }).collect();
        let text: Vec<&str> = (0..len).map(|t| words[(i + t * 3) % words.len()]).collect();
        let mut v = json!({
            "id": format!("t{i}"),
            "member": u8::from(member),
            "text": text.join(" "),
            "logprobs": lp,
            "mean": vec![-4.0; len],
            "std": vec![2.0; len],
            "ref_logprobs": lp.iter().map(|x| x - 0.3).collect::<Vec<f64>>(),
        });
        edit(i, &mut v);
        lines.push_str(&v.to_string());
        lines.push('\n');
    }
    let path = dir.join(name);
    std::fs::write(&path, lines).unwrap();
    path
}

#[test]
fn audits_texts_with_every_attack_and_the_blind_check() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_texts(dir.path(), "texts.jsonl", 300, |_, _| {});
    let out = dir.path().join("r");
    let o = mia(&["llm", s(&file), "-o", s(&out), "--bootstrap", "200", "--fail-if", "blind.auc.lo > 0.9"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let r = report(&out);
    validate(&r);
    assert_eq!(r["command"], "llm");
    let names: Vec<&str> = r["attacks"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["loss", "zlib", "min_k", "min_k_plus_plus", "reference", "learned"]);
    assert_eq!(r["llm"]["fields"], json!(["text", "mean", "std", "ref_logprobs"]));
    assert!(r["llm"]["zlib"].as_str().unwrap().starts_with("zlib 1."), "{}", r["llm"]["zlib"]);
    // The members' tokens are likelier by construction: the loss attack sees it.
    assert!(r["attacks"][0]["auc"]["value"].as_f64().unwrap() > 0.7);
    let b = &r["blind"];
    assert_eq!(b["data"], "texts");
    assert_eq!(b["attacks"].as_array().unwrap().len(), 6);
    assert_eq!(r["gate"]["rules"][0]["value"], b["auc"]["ci"][0]);
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("id=\"blind\"") && html.contains("id=\"tokens\""));
    // The texts are never written to the report folder.
    for f in ["report.json", "report.html", "records.csv"] {
        let body = std::fs::read_to_string(out.join(f)).unwrap();
        assert!(!body.contains("lantern harbour") && !body.contains("river"), "{f} holds a text");
    }
}

#[test]
fn same_seed_same_report_whatever_the_threads() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_texts(dir.path(), "texts.jsonl", 120, |_, _| {});
    let mut reports = Vec::new();
    for threads in ["1", "2"] {
        let out = dir.path().join(format!("r{threads}"));
        let o = mia(&["llm", s(&file), "-o", s(&out), "--bootstrap", "100", "--threads", threads, "-q"]);
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        reports.push(std::fs::read(out.join("report.json")).unwrap());
    }
    assert_eq!(reports[0], reports[1]);
}

/// A shifted split (members all about one thing, non-members another): the blind check
/// must flag it, and the gate reads it.
#[test]
fn a_shifted_split_is_flagged_and_gated() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_texts(dir.path(), "shifted.jsonl", 200, |i, v| {
        let topic =
            if i % 2 == 0 { "In 1998 the river flooded the old mill" } else { "The server crashed in 2023 again" };
        v["text"] = json!(format!("{topic}, text {i}"));
    });
    let out = dir.path().join("r");
    let o = mia(&["llm", s(&file), "-o", s(&out), "--bootstrap", "200", "--fail-if", "blind.auc.lo > 0.6"]);
    assert_eq!(o.status.code(), Some(1), "the gate fires: {}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("DISTINGUISHABLE"), "{stdout}");
    let r = report(&out);
    assert_eq!(r["blind"]["distinguishable"], true);
    assert!(r["caveats"].as_array().unwrap().iter().any(|c| c.as_str().unwrap().contains("distinguishable")));
}

#[test]
fn attacks_follow_the_fields_given() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_texts(dir.path(), "bare.jsonl", 60, |_, v| {
        let o = v.as_object_mut().unwrap();
        for f in ["text", "mean", "std", "ref_logprobs"] {
            o.remove(f);
        }
    });
    let out = dir.path().join("r");
    let o = mia(&["llm", s(&file), "-o", s(&out), "--bootstrap", "0", "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let r = report(&out);
    let names: Vec<&str> = r["attacks"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["loss", "min_k", "learned"]);
    assert!(r.get("blind").is_none());
    let notes = r["notes"].to_string();
    assert!(notes.contains("zlib (needs the texts") && notes.contains("Blind check not run"), "{notes}");

    let line = error_line(&mia(&["llm", s(&file), "-o", s(&out), "--attacks", "zlib"]));
    assert!(line.contains("attack \"zlib\" needs the texts (`text`)"), "{line}");
    let line = error_line(&mia(&["llm", s(&file), "-o", s(&out), "--attacks", "lowercase"]));
    assert!(
        line.contains("attack \"lowercase\" needs the model's log-probabilities of the lowercased texts"),
        "{line}"
    );
    let line = error_line(&mia(&["llm", s(&file), "-o", s(&out), "--fail-if", "blind.auc > 0.6"]));
    assert!(line.contains("no blind check"), "{line}");
    let line = error_line(&mia(&["llm", s(&file), "-o", s(&out), "--min-k", "0"]));
    assert!(line.contains("--min-k must be in (0, 1], got 0"), "{line}");
}

/// An edit that breaks one text of a file.
type Breakage = Box<dyn Fn(usize, &mut Value)>;

/// Every kind of bad text: one line naming the file, the line and the field; exit 2.
#[test]
fn bad_input_is_one_line_naming_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, Breakage, &str)> = vec![
        (
            "missing_logprobs",
            Box::new(|i, v| {
                if i == 3 {
                    v.as_object_mut().unwrap().remove("logprobs");
                }
            }),
            "line 4, field \"logprobs\"",
        ),
        (
            "empty_tokens",
            Box::new(|i, v| {
                if i == 2 {
                    v["logprobs"] = json!([]);
                }
            }),
            "line 3, field \"logprobs\"",
        ),
        (
            "positive",
            Box::new(|i, v| {
                if i == 5 {
                    v["logprobs"][1] = json!(0.5);
                }
            }),
            "line 6, field \"logprobs\"",
        ),
        (
            "nan",
            Box::new(|i, v| {
                if i == 5 {
                    v["logprobs"][0] = json!("NaN");
                }
            }),
            "line 6, field \"logprobs\"",
        ),
        (
            "std_length",
            Box::new(|i, v| {
                if i == 1 {
                    v["std"] = json!([1.0]);
                }
            }),
            "line 2, field \"std\"",
        ),
        (
            "mean_length",
            Box::new(|i, v| {
                if i == 7 {
                    v["mean"] = json!([-1.0, -2.0]);
                }
            }),
            "line 8, field \"mean\"",
        ),
        (
            "member",
            Box::new(|i, v| {
                if i == 4 {
                    v["member"] = json!(2);
                }
            }),
            "line 5, field \"member\"",
        ),
        (
            "duplicate",
            Box::new(|i, v| {
                if i == 6 {
                    v["id"] = json!("t0");
                }
            }),
            "line 7",
        ),
    ];
    for (name, edit, expected) in cases {
        let file = write_texts(dir.path(), &format!("{name}.jsonl"), 40, edit);
        let line = error_line(&mia(&["llm", s(&file), "-o", s(&dir.path().join("r"))]));
        assert!(line.contains(&format!("{name}.jsonl")) && line.contains(expected), "{name}: {line}");
    }
    let file = dir.path().join("not_json.jsonl");
    std::fs::write(&file, "{\"id\": 1, \"member\": 1, \"logprobs\": [-1.0]}\nnot json\n").unwrap();
    let line = error_line(&mia(&["llm", s(&file), "-o", s(&dir.path().join("r"))]));
    assert!(line.contains("not_json.jsonl") && line.contains("line 2"), "{line}");
    assert!(!dir.path().join("r/report.json").exists(), "no report after an input error");
}

#[test]
fn skipped_texts_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_texts(dir.path(), "some_bad.jsonl", 80, |i, v| {
        if i % 10 == 3 {
            v["logprobs"][0] = json!(1.5);
        }
    });
    let out = dir.path().join("r");
    let o = mia(&["llm", s(&file), "-o", s(&out), "--bootstrap", "0", "--skip-invalid-rows", "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let r = report(&out);
    assert_eq!(r["rows"]["read"], 80);
    assert_eq!(r["rows"]["kept"], 72);
    let skipped: u64 = r["rows"]["skipped"].as_array().unwrap().iter().map(|x| x["count"].as_u64().unwrap()).sum();
    assert_eq!(skipped, 8);
}

/// The same texts as JSON Lines and as Parquet (fixtures/llm_parquet, written by pyarrow with
/// scripts/llm_parquet_fixture.py) give the same report but for the input's name and digest.
#[test]
fn parquet_and_json_lines_give_the_same_report() {
    let dir = tempfile::tempdir().unwrap();
    let mut reports = Vec::new();
    for f in ["texts.jsonl", "texts.parquet"] {
        let out = dir.path().join(f);
        let path = support::root().join("fixtures/llm_parquet").join(f);
        let o = mia(&["llm", s(&path), "-o", s(&out), "--bootstrap", "100", "--folds", "4", "-q"]);
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        let mut r = report(&out);
        let names: Vec<&str> = r["attacks"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["loss", "zlib", "lowercase", "min_k", "min_k_plus_plus", "reference", "learned"]);
        r.as_object_mut().unwrap().remove("inputs");
        reports.push(r);
    }
    assert_eq!(reports[0], reports[1]);
    let line = error_line(&mia(&[
        "llm",
        s(&support::root().join("fixtures/llm_parquet/bad_value.parquet")),
        "-o",
        s(&dir.path().join("bad")),
    ]));
    assert!(line.contains("bad_value.parquet: row 3, field \"logprobs\""), "{line}");
}
