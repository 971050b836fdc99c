//! The report files end to end on a realistic report built by mia-core from synthetic
//! logits: report.json against `schema/report.schema.json`, and report.html rendered by a
//! real browser (headless Chromium).
//!
//! The browser test fails when `/usr/bin/chromium` is missing, unless `MIA_SKIP_BROWSER=1`.
//! `MIA_REPORT_PREVIEW=DIR` also writes `DIR/report_preview.html` and `.png` for a look.

use mia_core::attacks::{AttackConfig, score_only_attacks};
use mia_core::evaluate::{Estimate, EvalConfig, class_slices, evaluate_attack, overfitting};
use mia_core::signals::{ModelOutputs, compute_signals};
use mia_report::RecordScores;
use mia_report::report::*;
use mia_report::{SCHEMA_VERSION, gate, html::render_html};
use ndarray::Array2;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const EVIL_ID: &str = "<script>alert(1)</script>";
const N: usize = 4000;
const CLASSES: usize = 10;

/// SplitMix64 with Box–Muller normals: deterministic test data without extra crates.
struct Rng(u64);
impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

struct Fixture {
    report: Report,
    ids: Vec<String>,
    member: Vec<bool>,
    labels: Vec<usize>,
    scores: Vec<(String, Vec<f64>)>,
}

impl Fixture {
    fn records(&self) -> RecordScores<'_> {
        RecordScores { ids: &self.ids, member: &self.member, labels: Some(&self.labels), attacks: &self.scores }
    }
}

/// 4,000 records, 10 classes, half members; members' true-class logit is higher, more so
/// in some classes; class 9 has members only (so its slices cannot be evaluated).
fn fixture() -> Fixture {
    let mut rng = Rng(20240611);
    let labels: Vec<usize> = (0..N).map(|i| i % CLASSES).collect();
    let member: Vec<bool> = (0..N).map(|i| labels[i] == 9 || (i / CLASSES).is_multiple_of(2)).collect();
    let mut z = Array2::<f64>::zeros((N, CLASSES));
    for i in 0..N {
        for c in 0..CLASSES {
            z[[i, c]] = rng.normal();
        }
        let class_shift = 0.3 * labels[i] as f64;
        let member_boost = if member[i] { 0.6 + 0.15 * labels[i] as f64 } else { 0.0 };
        z[[i, labels[i]]] += 1.5 + class_shift + member_boost + 0.8 * rng.normal();
    }
    let outputs = ModelOutputs::Logits(z);
    let signals = compute_signals(&outputs, Some(&labels));
    let names: Vec<String> = ["loss", "entropy", "modified_entropy_per_class"].iter().map(|s| s.to_string()).collect();
    let acfg = AttackConfig { folds: 5, seed: 7, ..Default::default() };
    let attacks = score_only_attacks(&signals, Some(&labels), &member, Some(&names), &acfg);
    assert_eq!(attacks.len(), 3);
    let cfg = EvalConfig { bootstrap_resamples: 200, seed: 7, ..Default::default() };
    let mut reports = Vec::new();
    let mut slices = Vec::new();
    for a in attacks.iter() {
        let evaluation = evaluate_attack(&a.scores, &member, &cfg).expect("evaluate");
        reports.push(AttackReport {
            name: a.name.clone(),
            description: a.description.clone(),
            fitting: a.fitting.clone(),
            evaluation,
        });
        if a.fitting.is_none() {
            slices.extend(class_slices(&[&a.name], &[&a.scores], &member, &labels, &cfg));
        }
    }
    let max = MaxSummary::from_attacks(&reports);
    // The most exposed record under the worst attack gets a hostile id.
    let mut ids: Vec<String> = (0..N).map(|i| format!("rec-{i:05}")).collect();
    let worst = attacks.iter().find(|a| a.name == max.auc.attack).expect("worst attack");
    let mut order: Vec<usize> = (0..N).collect();
    order.sort_by(|&a, &b| worst.scores[b].total_cmp(&worst.scores[a]).then(a.cmp(&b)));
    ids[order[0]] = EVIL_ID.to_string();
    ids[order[1]] = "O'Brien & \"Sons\"".to_string();
    let members = member.iter().filter(|&&m| m).count();
    let acc = |p: f64| Estimate::new(p, Some([p * 0.9, p.min(0.999) + 0.001]), None);
    let mut report = Report {
        schema_version: SCHEMA_VERSION,
        tool: Tool { name: "mia-audit", version: env!("CARGO_PKG_VERSION") },
        command: "score".into(),
        seed: 7,
        settings: Settings {
            eval: cfg.clone(),
            cross_fit_folds: 5,
            prob_tolerance: 1e-3,
            slices_attacks: vec!["loss".into(), "entropy".into()],
            reference: None,
        },
        inputs: vec![InputFile { path: "outputs <test>.parquet".into(), sha256: "3f".repeat(32), bytes: 1_234_567 }],
        rows: Rows {
            read: N + 3,
            kept: N,
            skipped: vec![
                SkipCount { reason: "label missing".into(), count: 2 },
                SkipCount { reason: "duplicate id".into(), count: 1 },
            ],
            members,
            non_members: N - members,
        },
        outputs: Some(OutputsInfo {
            kind: "logits".into(),
            n_classes: Some(CLASSES),
            saturated_records: signals.saturated,
        }),
        models: Some(ModelsInfo {
            learner: serde_json::json!({"kind": "mlp", "hidden_layer_sizes": [64], "note": "<b>not bold</b>"}),
            target_training: "train".into(),
            features: 446,
            classes: CLASSES,
            audit_records: N,
            population_records: 500,
            reference_models: 2,
            target: ModelFit {
                train_rows: members,
                train_accuracy: acc(1.0),
                held_out_rows: N - members + 500,
                held_out_accuracy: acc(0.61),
            },
            references: vec![
                ModelFit {
                    train_rows: 1003,
                    train_accuracy: acc(0.99),
                    held_out_rows: 1497,
                    held_out_accuracy: acc(0.6),
                },
                ModelFit {
                    train_rows: 997,
                    train_accuracy: acc(1.0),
                    held_out_rows: 1503,
                    held_out_accuracy: acc(0.62),
                },
            ],
        }),
        attacks: reports,
        max,
        overfitting: Some(overfitting(&signals.loss, signals.correct.as_deref(), &member, cfg.confidence)),
        synth: None,
        llm: None,
        blind: None,
        slices,
        privacy: None,
        one_run: None,
        baseline: None,
        comparison: None,
        gate: GateResult { verdict: "none".into(), rules: vec![] },
        caveats: vec![
            "TPR at FPR below 1e-2 is not supported: 2,000 non-members measure FPR down to about 5e-3.".into(),
            "Class 9 has no non-members; its slices are not evaluated.".into(),
        ],
        notes: vec!["Synthetic test data <not a real model>.".into()],
    };
    let rules: Vec<gate::GateExpr> = ["max.auc > 0.6", "max.tpr@1e-2 > 0.05", "loss.advantage.lo > 0.5"]
        .iter()
        .map(|r| gate::parse(r).unwrap())
        .collect();
    report.gate = gate::evaluate(&rules, &report).expect("gate");
    let scores = attacks.into_iter().map(|a| (a.name, a.scores)).collect();
    Fixture { report, ids, member, labels, scores }
}

fn schema() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schema/report.schema.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("schema is JSON")
}

fn errors(validator: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    validator.iter_errors(doc).map(|e| format!("{} at {}", e, e.instance_path())).collect()
}

#[test]
fn fixture_is_realistic() {
    let f = fixture();
    let r = &f.report;
    assert_eq!(r.attacks.len(), 3);
    for a in &r.attacks {
        assert!(a.evaluation.auc.value > 0.6, "{}: {}", a.name, a.evaluation.auc.value);
        assert!(a.evaluation.auc.ci.is_some());
    }
    assert_eq!(r.gate.verdict, "fail");
    // TPR at 1e-3 needs 10/FPR = 10,000 non-members; the fixture has 1,800.
    let e = gate::evaluate(&[gate::parse("max.tpr@1e-3 > 0.05").unwrap()], r).unwrap_err();
    assert!(matches!(e, gate::GateError::Unsupported { .. }), "{e}");
    assert!(r.slices.iter().any(|s| s.evaluation.as_ref().is_some_and(|e| e.leaks)));
    assert!(r.slices.iter().any(|s| s.evaluation.is_none()));
}

#[test]
fn report_json_matches_the_schema() {
    let f = fixture();
    let json = serde_json::to_string_pretty(&f.report).unwrap();
    let doc: Value = serde_json::from_str(&json).unwrap();
    let validator = jsonschema::validator_for(&schema()).expect("schema compiles");
    let errs = errors(&validator, &doc);
    assert!(errs.is_empty(), "report.json does not match the schema:\n{}", errs.join("\n"));

    // Mutations the schema must reject, so this test can fail.
    type Mutation = Box<dyn Fn(&mut Value)>;
    let mutations: Vec<(&str, Mutation)> = vec![
        ("schema_version changed", Box::new(|d| d["schema_version"] = "2.0.0".into())),
        ("attacks removed", Box::new(|d| drop(d.as_object_mut().unwrap().remove("attacks")))),
        ("auc removed", Box::new(|d| drop(d["attacks"][0].as_object_mut().unwrap().remove("auc")))),
        ("unknown top-level field", Box::new(|d| d["extra"] = 1.into())),
        ("unknown attack field", Box::new(|d| d["attacks"][1]["aucc"] = 0.5.into())),
        ("auc as a string", Box::new(|d| d["attacks"][0]["auc"]["value"] = "high".into())),
        ("ci of three numbers", Box::new(|d| d["attacks"][0]["auc"]["ci"] = serde_json::json!([0.1, 0.2, 0.3]))),
        ("bad verdict", Box::new(|d| d["gate"]["verdict"] = "maybe".into())),
        ("negative count", Box::new(|d| d["rows"]["kept"] = (-1).into())),
        ("bad sha256", Box::new(|d| d["inputs"][0]["sha256"] = "xyz".into())),
        ("tpr above 1", Box::new(|d| d["attacks"][0]["tpr_at_fpr"][0]["tpr"] = 1.5.into())),
        ("supported as a string", Box::new(|d| d["attacks"][0]["tpr_at_fpr"][0]["supported"] = "yes".into())),
    ];
    for (what, mutate) in mutations {
        let mut bad = doc.clone();
        mutate(&mut bad);
        assert!(!validator.is_valid(&bad), "schema accepted a report with {what}");
    }
}

#[test]
fn non_finite_numbers_and_absent_parts_validate_as_null() {
    let mut f = fixture();
    let r = &mut f.report;
    let o = r.overfitting.as_mut().unwrap();
    o.mean_loss_members = mia_core::Estimate::new(f64::NAN, None, Some("no records".into()));
    o.accuracy_members = None;
    o.accuracy_non_members = None;
    o.accuracy_gap = None;
    r.max.auc.value = f64::NEG_INFINITY;
    r.attacks[0].evaluation.best_threshold = None;
    r.attacks[0].evaluation.tpr_at_fpr[0].ci = None;
    r.attacks[0].evaluation.tpr_at_fpr[0].threshold = None;
    r.attacks[0].evaluation.tpr_at_fpr[0].ppv[0].value = None;
    r.attacks[0].evaluation.auc.ci = None;
    r.attacks[0].evaluation.auc.note = Some("no interval: bootstrap disabled".into());
    r.attacks[0].fitting = None;
    let out = r.outputs.as_mut().unwrap();
    out.n_classes = None;
    out.kind = "loss".into();
    if let Some(e) = r.slices.iter_mut().find_map(|s| s.evaluation.as_mut()) {
        e.p_holm = f64::NAN;
    }
    r.gate = GateResult { verdict: "none".into(), rules: vec![] };
    let doc: Value = serde_json::to_value(&f.report).unwrap();
    assert!(doc["max"]["auc"]["value"].is_null());
    let validator = jsonschema::validator_for(&schema()).unwrap();
    let errs = errors(&validator, &doc);
    assert!(errs.is_empty(), "{}", errs.join("\n"));
}

/// `http://` or `https://` anywhere except the SVG namespace.
fn external_refs(html: &str) -> Vec<String> {
    let allowed = "http://www.w3.org/2000/svg";
    let mut out = Vec::new();
    for pat in ["http://", "https://"] {
        let mut from = 0;
        while let Some(k) = html[from..].find(pat) {
            let at = from + k;
            if !html[at..].starts_with(allowed) {
                out.push(html[at..(at + 60).min(html.len())].to_string());
            }
            from = at + pat.len();
        }
    }
    out
}

#[test]
fn html_is_self_contained_deterministic_and_escaped() {
    let f = fixture();
    let html = render_html(&f.report, &f.records(), 25);
    assert!(html.starts_with("<!DOCTYPE html>"));
    let ext = external_refs(&html);
    assert!(ext.is_empty(), "external references: {ext:?}");
    for bad in ["src=\"//", "href=\"//", "url(", "@import"] {
        assert!(!html.contains(bad), "{bad}");
    }
    assert_eq!(html, render_html(&f.report, &f.records(), 25), "rendering is deterministic");
    // The hostile id is escaped, and only the page's own script tag exists.
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!html.contains(EVIL_ID));
    assert_eq!(html.matches("<script").count(), 1);
    assert!(!html.contains("O'Brien") && html.contains("O&#39;Brien &amp; &quot;Sons&quot;"));
    assert!(html.contains("outputs &lt;test&gt;.parquet"));
    // The models section: escaped learner JSON and one row per model.
    assert!(html.contains("id=\"models\"") && html.contains("&lt;b&gt;not bold&lt;/b&gt;"));
    assert!(html.contains("<td>reference 2</td>") && !html.contains("<td>reference 3</td>"));
    // Structure.
    assert_eq!(html.matches("id=\"roc-plot\"").count(), 1);
    assert_eq!(html.matches("class=\"roc-curve\"").count(), 3);
    assert_eq!(html.matches("<svg class=\"hist\"").count(), 3);
    for a in &f.report.attacks {
        assert!(html.contains(&format!("data-attack=\"{}\"", a.name)));
    }
    assert!(html.contains("Release gate: FAIL"));
    assert!(html.contains("max.auc &gt; 0.6"));
    assert!(html.contains("Worst attack: "));
    assert!(html.contains("not supported"));
    assert!(html.contains("<details>") && html.contains("slices leak"));
    assert!(html.contains("†"));
    assert_eq!(html.matches("<tr><td class=\"num\">").count(), 25, "25 exposed records");
    assert!(html.contains("label missing (2)"));
    assert!(html.contains("3f3f3f3f3f3f…"));
    for c in &f.report.caveats {
        assert!(html.contains(&c.replace('<', "&lt;").replace('>', "&gt;")));
    }
    assert!(html.contains("Synthetic test data &lt;not a real model&gt;."));
}

#[test]
fn html_survives_an_empty_report() {
    let mut f = fixture();
    f.report.attacks.clear();
    f.report.slices.clear();
    f.report.max = MaxSummary::from_attacks(&[]);
    f.report.gate = GateResult { verdict: "none".into(), rules: vec![] };
    let none: Vec<(String, Vec<f64>)> = vec![];
    let rec = RecordScores { ids: &[], member: &[], labels: None, attacks: &none };
    let html = render_html(&f.report, &rec, 10);
    assert!(html.contains("No attack was evaluated") && html.contains("No per-record scores"));
    assert_eq!(html.matches("class=\"roc-curve\"").count(), 0);
}

const CHROMIUM: &str = "/usr/bin/chromium";

/// Runs Chromium headless with a time limit; returns stdout.
fn chromium(profile: &Path, args: &[String]) -> String {
    let mut cmd = Command::new(CHROMIUM);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--hide-scrollbars",
        "--virtual-time-budget=5000",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .args(args)
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {CHROMIUM}: {e}"));
    let pid = child.id();
    let start = Instant::now();
    // Wait on another thread so a hung browser cannot hang the test.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(out) => {
                let out = out.expect("chromium output");
                assert!(
                    out.status.success(),
                    "chromium failed ({}): {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr)
                );
                return String::from_utf8_lossy(&out.stdout).into_owned();
            }
            Err(_) if start.elapsed() > Duration::from_secs(90) => {
                let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
                panic!("chromium did not finish in 90 s");
            }
            Err(_) => {}
        }
    }
}

fn browser_available() -> bool {
    if Path::new(CHROMIUM).exists() {
        return true;
    }
    if std::env::var("MIA_SKIP_BROWSER").as_deref() == Ok("1") {
        eprintln!("skipping the browser test: {CHROMIUM} is missing and MIA_SKIP_BROWSER=1");
        return false;
    }
    panic!(
        "{CHROMIUM} is missing: install Chromium (apt-get install chromium) or set MIA_SKIP_BROWSER=1 to skip this test"
    );
}

/// Renders `html` to `dir/name.html`; returns (dumped DOM, screenshot path).
fn render_in_browser(dir: &Path, name: &str, html: &str) -> (String, PathBuf) {
    let page = dir.join(format!("{name}.html"));
    std::fs::write(&page, html).unwrap();
    let url = format!("file://{}", page.display());
    let profile = tempfile::tempdir().unwrap();
    let dom = chromium(profile.path(), &["--dump-dom".into(), url.clone()]);
    let png = dir.join(format!("{name}.png"));
    let profile = tempfile::tempdir().unwrap();
    chromium(profile.path(), &[format!("--screenshot={}", png.display()), "--window-size=1200,2000".into(), url]);
    (dom, png)
}

#[test]
fn html_renders_in_a_browser_with_every_roc_curve_drawn() {
    if !browser_available() {
        return;
    }
    let f = fixture();
    let html = render_html(&f.report, &f.records(), 25);
    let dir = tempfile::tempdir().unwrap();
    let (dom, png) = render_in_browser(dir.path(), "report", &html);
    let want = format!("data-roc-curves-rendered=\"{}\"", f.report.attacks.len());
    assert!(
        dom.contains(&want),
        "the page's check did not report {want}; body tag: {:?}",
        dom.find("<body").map(|k| &dom[k..(k + 200).min(dom.len())])
    );
    let bytes = std::fs::read(&png).unwrap_or_else(|e| panic!("screenshot {}: {e}", png.display()));
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(bytes.len() > 30_000, "screenshot is suspiciously small: {} bytes", bytes.len());

    if let Ok(out) = std::env::var("MIA_REPORT_PREVIEW") {
        let out = PathBuf::from(out);
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join("report_preview.html"), &html).unwrap();
        std::fs::copy(&png, out.join("report_preview.png")).unwrap();
    }
}

/// A privacy–utility comparison of three settings, from the fixture's figures with the
/// accuracy and the worst TPR falling as the noise grows.
fn comparison(f: &Fixture) -> Comparison {
    let settings = [("none", None, 0.84), ("8", Some(7.99), 0.78), ("1", Some(0.998), 0.61)]
        .into_iter()
        .enumerate()
        .map(|(k, (setting, claimed, accuracy))| {
            let mut max = f.report.max.clone();
            for t in &mut max.tpr_at_fpr {
                t.tpr /= (k + 1) as f64;
            }
            max.eps_lower_bound.value /= (k + 1) as f64;
            let est = |value: f64| Estimate { value, ..f.report.attacks[0].evaluation.auc.clone() };
            ComparisonSetting {
                setting: setting.into(),
                claimed_epsilon: claimed,
                claimed_delta: claimed.map(|_| 1e-5),
                noise_multiplier: claimed.map(|e: f64| 1.0 / e),
                train_accuracy: est(accuracy + 0.1 / (k + 1) as f64),
                held_out_accuracy: est(accuracy),
                generalization_gap: 0.1 / (k + 1) as f64,
                attacks: Vec::new(),
                max,
                one_run_epsilon_lower_bound: None,
                claim_violated: claimed.map(|_| false),
            }
        })
        .collect();
    Comparison { settings }
}

/// The comparison section validates against the schema and its two plots render in a real
/// browser: one point per setting in each, inside the plot.
#[test]
fn comparison_renders_in_a_browser_and_validates() {
    let mut f = fixture();
    f.report.comparison = Some(comparison(&f));
    let validator = jsonschema::validator_for(&schema()).expect("schema compiles");
    let errs = errors(&validator, &serde_json::to_value(&f.report).unwrap());
    assert!(errs.is_empty(), "{}", errs.join("\n"));
    if !browser_available() {
        return;
    }
    let html = render_html(&f.report, &f.records(), 25);
    let dir = tempfile::tempdir().unwrap();
    let (dom, png) = render_in_browser(dir.path(), "comparison", &html);
    for plot in ["comparison-tpr", "comparison-eps"] {
        let start = dom.find(&format!("id=\"{plot}\"")).unwrap_or_else(|| panic!("{plot} missing from the DOM"));
        let end = start + dom[start..].find("</svg>").unwrap();
        let points: Vec<(f64, f64)> = dom[start..end]
            .split("<circle class=\"setting\"")
            .skip(1)
            .map(|c| {
                let attr = |name: &str| -> f64 {
                    let k = c.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
                    c[k..k + c[k..].find('"').unwrap()].parse().unwrap()
                };
                (attr("cx"), attr("cy"))
            })
            .collect();
        assert_eq!(points.len(), 3, "{plot}");
        // Inside the plot frame, and accuracy falls (y grows downwards) from none to ε = 1.
        assert!(points.iter().all(|&(x, y)| (56.0..=340.0).contains(&x) && (14.0..=230.0).contains(&y)), "{points:?}");
        assert!(points[0].1 < points[1].1 && points[1].1 < points[2].1, "{points:?}");
    }
    assert!(std::fs::read(&png).unwrap().len() > 30_000);
}
