//! `mia audit` of a deployed model: real servers started on localhost by the test — MLflow's
//! scoring server (`mlflow models serve --env-manager local`) and the Open Inference Protocol
//! server examples/http/oip_server.py — serving a scikit-learn LogisticRegression fitted on the
//! member rows of 2,000 Location-30 records (fixtures/onnx_audit) by
//! examples/http/train_and_save.py, which also exports the same fitted model to ONNX. Auditing
//! through either server must give the ONNX export's report, attack by attack; the faults a
//! deployment has (server down, 500s, answers past the timeout, malformed JSON, wrong shapes,
//! a redirect, a missing token) must each be one line naming the endpoint and the batch, exit 2,
//! and a rerun resumes from the answers already cached. Needs python3 with scikit-learn,
//! skl2onnx and mlflow (scripts/test.sh installs them).

mod support;
use support::{error_line, mia, report, root, s};

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The fitted model's three forms (mlflow_model/, model.onnx, model.pkl), made once per run.
fn models() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let o = Command::new("python3")
            .arg(root().join("examples/http/train_and_save.py"))
            .args(["--data", s(&root().join("fixtures/onnx_audit/location_members.csv.gz")), "--out"])
            .arg(dir.path())
            .output()
            .expect("python3 runs");
        assert!(o.status.success(), "train_and_save.py: {}", String::from_utf8_lossy(&o.stderr));
        dir
    })
    .path()
}

/// A server process, killed when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until `port` accepts connections (the server is up), at most 120 s.
fn wait_for(child: &mut Child, port: u16) {
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the server exited with {status} before listening");
        }
        assert!(start.elapsed() < Duration::from_secs(120), "the server did not start within 120 s");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn mlflow_server() -> Server {
    let port = free_port();
    let mut child = Command::new("python3")
        .args(["-m", "mlflow", "models", "serve", "--env-manager", "local", "-h", "127.0.0.1", "-p"])
        .arg(port.to_string())
        .arg("-m")
        .arg(models().join("mlflow_model"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 -m mlflow");
    wait_for(&mut child, port);
    Server { child, port }
}

/// examples/http/oip_server.py with `extra` arguments; it logs one line per request to `log`.
fn oip_server(log: &Path, extra: &[&str], envs: &[(&str, &str)]) -> Server {
    oip_server_at(free_port(), log, extra, envs)
}

/// The same on a given port (a restart of a server that was there).
fn oip_server_at(port: u16, log: &Path, extra: &[&str], envs: &[(&str, &str)]) -> Server {
    let mut child = Command::new("python3")
        .arg(root().join("examples/http/oip_server.py"))
        .args(["--model", s(&models().join("model.pkl")), "--name", "location", "--log", s(log), "--port"])
        .arg(port.to_string())
        .args(extra)
        .envs(envs.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 examples/http/oip_server.py");
    wait_for(&mut child, port);
    Server { child, port }
}

fn oip_url(port: u16) -> String {
    format!("http://127.0.0.1:{port}/v2/models/location/infer")
}

/// The audit config of the fixture table with the given `[target]` lines.
fn config(dir: &Path, name: &str, target: &str) -> PathBuf {
    let text = format!(
        r#"seed = 3
[data]
path = "{}"
label = "label"
member = "member"
numeric = "rest"
standardize = false

[target]
{target}

[plan]
reference_models = 0

[eval]
bootstrap = 200
"#,
        root().join("fixtures/onnx_audit/location_members.csv.gz").display()
    );
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn http_target(url: &str, protocol: &str, output: &str, extra: &str) -> String {
    format!("http = \"{url}\"\nprotocol = \"{protocol}\"\noutput = \"{output}\"\nbatch_size = 200\n{extra}")
}

fn audit(cfg: &Path, out: &Path) -> std::process::Output {
    mia(&["audit", s(cfg), "-q", "-o", s(out)])
}

/// The ONNX export's report, made once.
fn onnx_report() -> &'static Value {
    static R: OnceLock<(tempfile::TempDir, Value)> = OnceLock::new();
    &R.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path(), "onnx.toml", &format!("onnx = \"{}\"", models().join("model.onnx").display()));
        let o = audit(&cfg, &dir.path().join("r"));
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let r = report(&dir.path().join("r"));
        (dir, r)
    })
    .1
}

/// Every attack's AUC and TPRs in `r` are the ONNX export's (the servers compute in float64,
/// the ONNX path in float32: a near-tie could swap, hence the tolerance of a record or so).
fn assert_same_figures(r: &Value, what: &str) {
    let onnx = onnx_report();
    assert_eq!(r["rows"], onnx["rows"], "{what}");
    let (a, b) = (r["attacks"].as_array().unwrap(), onnx["attacks"].as_array().unwrap());
    assert_eq!(a.len(), b.len(), "{what}");
    assert!(a.len() >= 5);
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x["name"], y["name"]);
        let (p, q) = (x["auc"]["value"].as_f64().unwrap(), y["auc"]["value"].as_f64().unwrap());
        assert!((p - q).abs() < 2e-4, "{what} {}: AUC {p} vs ONNX {q}", x["name"]);
        for (t, u) in x["tpr_at_fpr"].as_array().unwrap().iter().zip(y["tpr_at_fpr"].as_array().unwrap()) {
            let (p, q) = (t["tpr"].as_f64().unwrap(), u["tpr"].as_f64().unwrap());
            assert!((p - q).abs() <= 2e-3, "{what} {} at FPR {}: {p} vs {q}", x["name"], t["fpr"]);
        }
    }
    assert!(onnx["attacks"][0]["auc"]["value"].as_f64().unwrap() > 0.8, "the model overfits: the loss attack sees it");
}

fn requests(log: &Path) -> usize {
    std::fs::read_to_string(log).map(|t| t.lines().count()).unwrap_or(0)
}

/// When the server received each request (seconds), in order.
fn arrivals(log: &Path) -> Vec<f64> {
    let text = std::fs::read_to_string(log).unwrap();
    let mut t: Vec<f64> = text.lines().map(|l| l.split(' ').nth(1).unwrap().parse().unwrap()).collect();
    t.sort_by(f64::total_cmp);
    t
}

/// `max_requests_per_s` spaces the requests, whatever the concurrency.
#[test]
fn the_rate_limit_is_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let server = oip_server(&log, &[], &[]);
    let target =
        http_target(&oip_url(server.port), "open_inference", "probs", "concurrency = 4\nmax_requests_per_s = 5");
    let cfg = config(dir.path(), "audit.toml", &target);
    let o = audit(&cfg, &dir.path().join("r"));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let t = arrivals(&log);
    assert_eq!(t.len(), 10);
    // Slots 200 ms apart; arrivals may jitter by a few milliseconds.
    let gaps: Vec<f64> = t.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps.iter().all(|&g| g > 0.17), "{gaps:?}");
    assert!(t[9] - t[0] > 9.0 * 0.2 - 0.05, "{:?}", t[9] - t[0]);
}

#[test]
fn mlflow_serving_gives_the_onnx_exports_report_and_a_rerun_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = mlflow_server();
    let url = format!("http://127.0.0.1:{}/invocations", server.port);
    let cfg = config(dir.path(), "mlflow.toml", &http_target(&url, "mlflow", "probs", "concurrency = 3"));
    let out = dir.path().join("r");
    let o = audit(&cfg, &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = report(&out);
    support::validate(&r);
    assert_same_figures(&r, "MLflow serving");
    let notes = r["notes"].to_string();
    assert!(notes.contains(&url) && notes.contains("MLflow scoring"), "{notes}");
    // 2,000 rows in batches of 200: ten answers kept.
    assert_eq!(std::fs::read_dir(out.join("models/http")).unwrap().count(), 10);
    let first = std::fs::read(out.join("report.json")).unwrap();
    // With the server gone, a rerun still works: it sends no request.
    drop(server);
    let o = audit(&cfg, &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read(out.join("report.json")).unwrap(), first, "the same report, byte for byte");
}

#[test]
fn open_inference_gives_the_onnx_exports_report_from_probabilities_or_logits() {
    let dir = tempfile::tempdir().unwrap();
    for output in ["probs", "logits"] {
        let log = dir.path().join(format!("{output}.log"));
        let server = oip_server(&log, &["--output", output], &[]);
        let target = http_target(&oip_url(server.port), "open_inference", output, "");
        let cfg = config(dir.path(), &format!("{output}.toml"), &target);
        let out = dir.path().join(output);
        let o = audit(&cfg, &out);
        assert!(o.status.success(), "{output}: {}", String::from_utf8_lossy(&o.stderr));
        assert_same_figures(&report(&out), output);
        assert_eq!(requests(&log), 10, "{output}: one request per batch");
    }
}

/// A server failing after three answers: one line naming the endpoint and the batch, exit 2;
/// the answered batches are kept, and a rerun against a working server sends only the rest.
#[test]
fn a_failing_server_is_one_line_and_a_rerun_resumes_from_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let server = oip_server(&log, &["--fault", "500", "--fault-after", "3"], &[]);
    let url = oip_url(server.port);
    let target = http_target(&url, "open_inference", "probs", "concurrency = 1\nretries = 2\nbackoff_s = 0.05");
    let cfg = config(dir.path(), "audit.toml", &target);
    let out = dir.path().join("r");
    let line = error_line(&audit(&cfg, &out));
    assert!(line.contains(&url), "{line}");
    assert!(line.contains("batch 4 of 10 (rows 601–800): HTTP 500"), "{line}");
    assert!(line.contains("internal error (injected)") && line.contains("after 2 retries"), "{line}");
    assert_eq!(requests(&log), 3 + 3, "three answers, then the failing batch three times");
    assert_eq!(std::fs::read_dir(out.join("models/http")).unwrap().count(), 3);
    assert!(!out.join("report.json").exists(), "nothing written half");
    let port = server.port;
    drop(server);

    // The same endpoint (the cache is keyed by it), now working.
    let log2 = dir.path().join("server2.log");
    let server = oip_server_at(port, &log2, &[], &[]);
    let o = audit(&cfg, &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(requests(&log2), 7, "only the seven batches not answered before");
    assert_same_figures(&report(&out), "resumed");
    drop(server);
}

#[test]
fn every_kind_of_fault_is_one_line_naming_the_endpoint_and_batch() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens on the port.
    let down = oip_url(free_port());
    let cfg = config(
        dir.path(),
        "down.toml",
        &http_target(&down, "open_inference", "probs", "retries = 1\nbackoff_s = 0.01"),
    );
    let line = error_line(&audit(&cfg, &dir.path().join("down")));
    assert!(line.contains(&down) && line.contains("batch 1 of 10") && line.contains("connection failed"), "{line}");

    let cases: [(&[&str], &str, &str); 4] = [
        (&["--fault", "slow", "--slow-s", "4"], "timeout_s = 1\nretries = 0", "timed out"),
        (&["--fault", "malformed"], "", "answer is not JSON"),
        (&["--fault", "shape"], "", "answer has 29 outputs per record; the data has 30 classes"),
        (
            &["--fault", "redirect"],
            "",
            "HTTP 307: redirected to http://192.0.2.1/elsewhere; requests go to the configured URL only",
        ),
    ];
    for (k, (args, extra, want)) in cases.into_iter().enumerate() {
        let log = dir.path().join(format!("{k}.log"));
        let server = oip_server(&log, args, &[]);
        let url = oip_url(server.port);
        let cfg = config(dir.path(), &format!("{k}.toml"), &http_target(&url, "open_inference", "probs", extra));
        let line = error_line(&audit(&cfg, &dir.path().join(format!("r{k}"))));
        assert!(line.contains(&url) && line.contains("batch 1 of 10") && line.contains(want), "{args:?}: {line}");
    }
    // A label the data does not have (the data's classes are 1..30).
    let log = dir.path().join("badlabel.log");
    let server = oip_server(&log, &["--output", "label", "--fault", "badlabel"], &[]);
    let url = oip_url(server.port);
    let cfg = config(dir.path(), "badlabel.toml", &http_target(&url, "open_inference", "label", ""));
    let line = error_line(&audit(&cfg, &dir.path().join("badlabel")));
    assert!(
        line.contains("batch 1 of 10")
            && line.contains("record 1: label \"999\" is not one of the data's classes (1, 2,"),
        "{line}"
    );
    drop(server);
    // https:// to a server that speaks plain HTTP: the TLS handshake fails, no retry.
    let log = dir.path().join("tls.log");
    let server = oip_server(&log, &[], &[]);
    let url = oip_url(server.port).replace("http://", "https://");
    let cfg = config(dir.path(), "tls.toml", &http_target(&url, "open_inference", "probs", ""));
    let line = error_line(&audit(&cfg, &dir.path().join("tls")));
    assert!(line.contains(&url) && line.contains("batch 1 of 10") && line.contains("TLS error"), "{line}");
    assert_eq!(requests(&log), 0);
}

#[test]
fn a_token_is_read_from_the_environment_and_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "s3cr3t-token-value";
    let log = dir.path().join("server.log");
    let server = oip_server(&log, &["--token-env", "OIP_TOKEN"], &[("OIP_TOKEN", secret)]);
    let target = http_target(&oip_url(server.port), "open_inference", "probs", "token_env = \"MIA_TEST_TOKEN\"");
    let cfg = config(dir.path(), "audit.toml", &target);
    let run = |token: Option<&str>, out: &str| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_mia"));
        c.args(["audit", s(&cfg), "-q", "-o", s(&dir.path().join(out))]).current_dir(root());
        match token {
            Some(t) => c.env("MIA_TEST_TOKEN", t),
            None => c.env_remove("MIA_TEST_TOKEN"),
        };
        c.output().unwrap()
    };
    let line = error_line(&run(None, "unset"));
    assert!(line.contains("environment variable MIA_TEST_TOKEN is not set"), "{line}");
    assert_eq!(requests(&log), 0, "no request without the token");
    let line = error_line(&run(Some("not-the-token-q7"), "wrong"));
    assert!(line.contains("batch 1 of 10") && line.contains("HTTP 401"), "{line}");
    assert!(!line.contains("not-the-token-q7"), "the token is never shown: {line}");
    let o = run(Some(secret), "ok");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for f in ["report.json", "report.html", "records.csv"] {
        let body = std::fs::read_to_string(dir.path().join("ok").join(f)).unwrap();
        assert!(!body.contains(secret), "{f} shows the token");
    }
    assert_same_figures(&report(&dir.path().join("ok")), "with a token");
}

#[test]
fn target_keys_are_checked_before_any_request() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("http = \"http://127.0.0.1:9/x\"\noutput = \"probs\"", "[target] protocol"),
        ("http = \"http://127.0.0.1:9/x\"\nprotocol = \"mlflow\"", "[target] output"),
        ("http = \"ftp://127.0.0.1/x\"\nprotocol = \"mlflow\"\noutput = \"probs\"", "an http:// or https:// URL"),
        ("onnx = \"m.onnx\"\nbatch_size = 10", "[target] batch_size: only for a model behind an endpoint"),
        ("onnx = \"m.onnx\"\nhttp = \"http://127.0.0.1:9/x\"", "name one of onnx"),
        (
            "http = \"http://127.0.0.1:9/x\"\nprotocol = \"mlflow\"\noutput = \"probs\"\nbatch_size = 0",
            "batch_size = 0",
        ),
        (
            "http = \"http://127.0.0.1:9/x\"\nprotocol = \"grpc\"\noutput = \"probs\"",
            "unknown variant `grpc`, expected `mlflow` or `open_inference`",
        ),
    ];
    for (k, (target, want)) in cases.into_iter().enumerate() {
        let cfg = config(dir.path(), &format!("{k}.toml"), target);
        let line = error_line(&audit(&cfg, &dir.path().join(format!("r{k}"))));
        assert!(line.contains(want), "{target:?}: {line}");
    }
}

/// An endpoint that answers with the predicted class only: the label-only attacks, with the
/// figures of the same model's ONNX export read through its labels.
#[test]
fn a_label_only_endpoint_gives_the_onnx_exports_label_attacks() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let server = oip_server(&log, &["--output", "label"], &[]);
    let noise = "\n[attacks.label_noise]\ncopies = 4\nlevels = [0.1, 0.4]\n";
    let http = http_target(&oip_url(server.port), "open_inference", "label", "batch_size = 1000")
        .replace("batch_size = 200\n", "");
    let onnx = format!("onnx = \"{}\"\noutput = \"label\"", models().join("model.onnx").display());
    let mut reports = Vec::new();
    for (name, target) in [("http", http), ("onnx", onnx)] {
        let text = std::fs::read_to_string(config(dir.path(), "base.toml", &target)).unwrap();
        let plan = format!("[plan]\nreference_models = 0\npopulation_fraction = 0.2\n{noise}\n");
        let text = text.replace("[plan]\nreference_models = 0\n", &plan);
        let cfg = dir.path().join(format!("{name}.toml"));
        std::fs::write(&cfg, text).unwrap();
        let out = dir.path().join(name);
        let o = audit(&cfg, &out);
        assert!(o.status.success(), "{name}: {}", String::from_utf8_lossy(&o.stderr));
        reports.push(report(&out));
    }
    let (h, o) = (&reports[0], &reports[1]);
    assert_eq!(h["outputs"]["kind"], "labels");
    let names: Vec<&str> = h["attacks"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["correctness", "label_noise"]);
    for (a, b) in h["attacks"].as_array().unwrap().iter().zip(o["attacks"].as_array().unwrap()) {
        let (p, q) = (a["auc"]["value"].as_f64().unwrap(), b["auc"]["value"].as_f64().unwrap());
        assert!((p - q).abs() < 2e-3, "{}: AUC {p} (endpoint) vs {q} (ONNX)", a["name"]);
    }
    // 2,000 table rows, then 2 levels × 2,000 records × 4 copies, 1,000 rows a request.
    assert_eq!(requests(&log), 2 + 16);
}
