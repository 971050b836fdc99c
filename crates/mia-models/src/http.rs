//! Models behind an HTTP endpoint: a deployed classifier queried in batches, as MLflow
//! serving, KServe or Triton expose one.
//!
//! # What this module owns
//!
//! [`HttpSpec`] (the endpoint, its protocol and the client's limits, as an audit config's
//! `[target]` names them), [`HttpModel`] (a [`Model`] whose outputs are the endpoint's answers
//! to the audit's encoded feature rows) and [`ResponseCache`] (where answers are kept, so a
//! rerun sends no request it already made).
//!
//! # Protocols
//!
//! * `mlflow` — MLflow's scoring server (`mlflow models serve`, `/invocations`): the request is
//!   `{"dataframe_split": {"columns": [...], "data": [[...], ...]}}` with the encoding's feature
//!   names as columns; the answer's `predictions` holds one row of class outputs per record (a
//!   scikit-learn model logged with `pyfunc_predict_fn="predict_proba"` gives probabilities).
//! * `open_inference` — the Open Inference Protocol (KServe v2, Triton, `/v2/models/NAME/infer`):
//!   one FP64 input tensor `[rows, features]` named `input_name`, row-major; the answer's
//!   `outputs` tensor named `output_name` (default the first) has shape `[rows, classes]` (or
//!   `[rows]` for a binary model's class-1 value), its `data` flat or nested.
//!
//! With `output = "label"` the answer holds one predicted class per record (`predictions` a
//! list of labels, or an output tensor of shape `[rows]` or `[rows, 1]`, numbers or BYTES
//! strings), named as the data names its classes (`3`, `3.0` and `"3"` all name class `3`); a
//! label the data does not have is an error. The outputs are then one-hot class probabilities.
//!
//! Features are sent as the f64 values of the f32 features every model of the audit sees, so
//! the server computes on exactly the numbers an ONNX export of the same model reads.
//!
//! # The client
//!
//! Batches of `batch_size` rows are sent by `concurrency` workers at once (the server stays
//! busy while an answer travels), at most `max_requests_per_s` requests per second over all
//! workers (retries count). A connection failure, a timeout (`timeout_s`, the whole request), a
//! 429 or a 5xx answer is retried up to `retries` times, waiting `backoff_s · 2^k` before retry
//! k + 1; any other failure (a 4xx, a TLS error, an answer that is not JSON or has the wrong
//! shape) stops the run at once. Errors are one line naming the endpoint and the batch. The
//! answers land in their batch's place, so the outputs do not depend on the order in which
//! they came back. Requests go to the configured URL only: redirects are not followed, and
//! proxy settings in the environment are ignored. A bearer token, if the endpoint needs one, is
//! read from the environment variable `token_env` names, never from a file, and never shown.

use crate::{Model, ModelError, ModelOutputs};
use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The request and answer format of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// MLflow's scoring server: `dataframe_split` in, `predictions` out.
    Mlflow,
    /// The Open Inference Protocol (KServe v2 / Triton): `inputs` in, `outputs` out.
    OpenInference,
}

/// What the endpoint answers with, per record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HttpOutput {
    /// Class probabilities (each row sums to 1).
    Probs,
    /// Unnormalised class scores (the input of the final softmax).
    Logits,
    /// The predicted class alone, as the data names it (a label-only target).
    Label,
}

/// A deployed model's endpoint and the client's limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HttpSpec {
    /// The full URL requests are posted to (`http://` or `https://`).
    pub url: String,
    pub protocol: Protocol,
    pub output: HttpOutput,
    /// Rows per request.
    pub batch_size: usize,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// At most this many requests per second (`None`: no limit).
    pub max_requests_per_s: Option<f64>,
    /// Limit on a whole request, connecting to reading the answer.
    pub timeout_s: f64,
    /// Retries of a request that failed in a way worth retrying.
    pub retries: u32,
    /// Wait before the first retry (doubled before each next).
    pub backoff_s: f64,
    /// The environment variable holding a bearer token (`None`: no token).
    pub token_env: Option<String>,
    /// Open Inference Protocol: the input tensor's name.
    pub input_name: String,
    /// Open Inference Protocol: the output tensor to read (`None`: the first).
    pub output_name: Option<String>,
}

impl HttpSpec {
    /// A spec with the default limits: batches of 256, 4 in flight, no rate limit, 30 s per
    /// request, 3 retries from 0.5 s, input tensor `input-0`.
    pub fn new(url: impl Into<String>, protocol: Protocol, output: HttpOutput) -> HttpSpec {
        HttpSpec {
            url: url.into(),
            protocol,
            output,
            batch_size: 256,
            concurrency: 4,
            max_requests_per_s: None,
            timeout_s: 30.0,
            retries: 3,
            backoff_s: 0.5,
            token_env: None,
            input_name: "input-0".into(),
            output_name: None,
        }
    }

    /// Checks every setting; the error names the config key.
    pub fn check(&self) -> Result<(), ModelError> {
        let bad = |key: &'static str, value: String, expected: &'static str| {
            Err(ModelError::Setting { key, value, expected })
        };
        let scheme_ok = self.url.starts_with("http://") || self.url.starts_with("https://");
        if !scheme_ok || self.url.parse::<ureq::http::Uri>().is_err() {
            return bad("http", format!("{:?}", self.url), "an http:// or https:// URL");
        }
        if self.batch_size == 0 {
            return bad("batch_size", "0".into(), "at least 1");
        }
        if self.concurrency == 0 || self.concurrency > 256 {
            return bad("concurrency", self.concurrency.to_string(), "1 to 256");
        }
        if let Some(r) = self.max_requests_per_s.filter(|r| !(r.is_finite() && *r > 0.0)) {
            return bad("max_requests_per_s", r.to_string(), "a positive number");
        }
        if !(self.timeout_s.is_finite() && self.timeout_s > 0.0) {
            return bad("timeout_s", self.timeout_s.to_string(), "a positive number of seconds");
        }
        if self.retries > 20 {
            return bad("retries", self.retries.to_string(), "0 to 20");
        }
        if !(self.backoff_s.is_finite() && (0.0..=60.0).contains(&self.backoff_s)) {
            return bad("backoff_s", self.backoff_s.to_string(), "0 to 60 seconds");
        }
        if self.input_name.is_empty() {
            return bad("input_name", "\"\"".into(), "a tensor name");
        }
        Ok(())
    }

    /// What identifies an answer besides the request body: a cached answer is reused only for
    /// the same endpoint, protocol, output kind and tensor names.
    fn identity(&self) -> String {
        format!(
            "{}\n{:?}\n{:?}\n{}\n{}\n",
            self.url,
            self.protocol,
            self.output,
            self.input_name,
            self.output_name.as_deref().unwrap_or("")
        )
    }
}

/// Where answers are kept between runs (the audit's artifact store). A request is identified
/// by its bytes (the endpoint's identity and the body); an answer found there is read instead
/// of sending the request again. An answer that fails to parse is sent for anew.
pub trait ResponseCache: Send + Sync {
    fn get(&self, request: &[u8]) -> Option<Vec<u8>>;
    fn put(&self, request: &[u8], answer: &[u8]) -> std::io::Result<()>;
}

/// What querying the endpoint took, for the report and the benchmark.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct HttpStats {
    /// Batches in all, and those whose answers came from the cache.
    pub batches: usize,
    pub cached: usize,
    /// Requests sent (retries included).
    pub requests: usize,
    pub retries: usize,
    /// Seconds from the first request to the last answer, and summed over requests (the
    /// server's latency, as the client sees it).
    pub wall_s: f64,
    pub latency_s: f64,
}

/// A classifier behind an HTTP endpoint ([`HttpSpec`]).
pub struct HttpModel {
    spec: HttpSpec,
    columns: Vec<String>,
    classes: usize,
    /// Class index by the data's class name (for `output = "label"`).
    class_index: std::collections::HashMap<String, usize>,
    agent: ureq::Agent,
    token: Option<String>,
    cache: Option<Arc<dyn ResponseCache>>,
    stats: Mutex<HttpStats>,
}

impl std::fmt::Debug for HttpModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token.
        f.debug_struct("HttpModel").field("spec", &self.spec).field("classes", &self.classes).finish()
    }
}

/// Largest answer read per batch.
const MAX_ANSWER_BYTES: u64 = 1 << 30;

impl HttpModel {
    /// A client for `spec`'s endpoint, sending `columns` (the encoded features' names) and
    /// expecting one output per class of `class_names` (the data's classes, in class-index
    /// order). Reads the token now: an unset variable is an error before any request.
    pub fn new(spec: HttpSpec, columns: Vec<String>, class_names: &[String]) -> Result<HttpModel, ModelError> {
        spec.check()?;
        let token = match &spec.token_env {
            None => None,
            Some(name) => match std::env::var(name) {
                Ok(t) if !t.is_empty() => Some(t),
                Ok(_) => return Err(ModelError::Data(format!("token_env: environment variable {name} is empty"))),
                Err(_) => return Err(ModelError::Data(format!("token_env: environment variable {name} is not set"))),
            },
        };
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs_f64(spec.timeout_s)))
            .http_status_as_error(false)
            .max_redirects(0)
            .proxy(None)
            .max_idle_connections_per_host(spec.concurrency)
            .user_agent(concat!("mia-audit/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        let class_index = class_names.iter().enumerate().map(|(i, c)| (c.clone(), i)).collect();
        let classes = class_names.len().max(2);
        Ok(HttpModel { spec, columns, classes, class_index, agent, token, cache: None, stats: Mutex::default() })
    }

    /// Keeps answers in `cache` and reads them from it.
    pub fn with_cache(mut self, cache: Arc<dyn ResponseCache>) -> HttpModel {
        self.cache = Some(cache);
        self
    }

    pub fn spec(&self) -> &HttpSpec {
        &self.spec
    }

    /// What every [`Model::outputs`] call so far took, summed.
    pub fn stats(&self) -> HttpStats {
        *self.stats.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn error(&self, message: String) -> ModelError {
        ModelError::Http { endpoint: self.spec.url.clone(), message }
    }

    /// The request body of rows `x` (one batch).
    fn body(&self, x: ArrayView2<'_, f32>) -> Vec<u8> {
        use std::io::Write;
        let mut b = Vec::with_capacity(x.len() * 12 + 256);
        let num = |b: &mut Vec<u8>, v: f32| {
            // The f32's exact value, written as the shortest f64 text that reads back to it.
            serde_json::to_writer(&mut *b, &f64::from(v)).expect("writing to a Vec");
        };
        match self.spec.protocol {
            Protocol::Mlflow => {
                b.extend_from_slice(b"{\"dataframe_split\":{\"columns\":");
                serde_json::to_writer(&mut b, &self.columns).expect("writing to a Vec");
                b.extend_from_slice(b",\"data\":[");
                for (i, row) in x.rows().into_iter().enumerate() {
                    b.extend_from_slice(if i == 0 { b"[" } else { b",[" });
                    for (j, &v) in row.iter().enumerate() {
                        if j > 0 {
                            b.push(b',');
                        }
                        num(&mut b, v);
                    }
                    b.push(b']');
                }
                b.extend_from_slice(b"]}}");
            }
            Protocol::OpenInference => {
                b.extend_from_slice(b"{\"inputs\":[{\"name\":");
                serde_json::to_writer(&mut b, &self.spec.input_name).expect("writing to a Vec");
                write!(b, ",\"shape\":[{},{}],\"datatype\":\"FP64\",\"data\":[", x.nrows(), x.ncols()).expect("Vec");
                for (k, &v) in x.iter().enumerate() {
                    if k > 0 {
                        b.push(b',');
                    }
                    num(&mut b, v);
                }
                b.extend_from_slice(b"]}]}");
            }
        }
        b
    }

    /// The outputs of one batch of `rows` records from its answer, row-major `rows × classes`.
    fn parse(&self, answer: &[u8], rows: usize) -> Result<Vec<f64>, String> {
        let v: Value = serde_json::from_slice(answer).map_err(|e| format!("answer is not JSON ({e})"))?;
        if self.spec.output == HttpOutput::Label {
            return self.one_hot(&v, rows);
        }
        let (data, shape) = match self.spec.protocol {
            Protocol::Mlflow => mlflow_predictions(&v)?,
            Protocol::OpenInference => oip_output(&v, self.spec.output_name.as_deref())?,
        };
        let c = self.classes;
        let cols = match shape.as_slice() {
            [n] if *n == rows => 1,
            [n, k] if *n == rows => *k,
            _ => return Err(format!("answer of shape {shape:?} for {rows} rows; expected [{rows}, {c}]")),
        };
        if cols == c {
            return Ok(data);
        }
        if cols == 1 && c == 2 {
            // A binary model's class-1 value alone.
            return Ok(match self.spec.output {
                HttpOutput::Logits => data.iter().flat_map(|&z| [0.0, z]).collect(),
                _ => data.iter().flat_map(|&p| [1.0 - p, p]).collect(),
            });
        }
        Err(format!("answer has {cols} outputs per record; the data has {c} classes"))
    }

    /// One-hot rows of the labels in an answer (`output = "label"`).
    fn one_hot(&self, v: &Value, rows: usize) -> Result<Vec<f64>, String> {
        let labels: &[Value] = match self.spec.protocol {
            Protocol::Mlflow => {
                v.get("predictions").and_then(Value::as_array).ok_or("answer has no \"predictions\" list")?
            }
            Protocol::OpenInference => oip_tensor(v, self.spec.output_name.as_deref())?
                .get("data")
                .and_then(Value::as_array)
                .ok_or("output has no \"data\" list")?,
        };
        if labels.len() != rows {
            return Err(format!("answer has {} labels for {rows} rows", labels.len()));
        }
        let mut out = vec![0.0; rows * self.classes];
        for (i, l) in labels.iter().enumerate() {
            // A row of one label (`[[3], [1]]`, a `[rows, 1]` tensor nested) is that label.
            let l = match l.as_array().map(Vec::as_slice) {
                Some([one]) => one,
                _ => l,
            };
            let name = label_name(l).ok_or_else(|| format!("record {}: {l} is not a class label", i + 1))?;
            let k = *self.class_index.get(&name).ok_or_else(|| {
                let mut known: Vec<(&String, &usize)> = self.class_index.iter().collect();
                known.sort_by_key(|(_, k)| **k);
                let shown: Vec<&str> = known.iter().take(5).map(|(c, _)| c.as_str()).collect();
                let more = if known.len() > 5 { ", ..." } else { "" };
                format!(
                    "record {}: label {name:?} is not one of the data's classes ({}{more})",
                    i + 1,
                    shown.join(", ")
                )
            })?;
            out[i * self.classes + k] = 1.0;
        }
        Ok(out)
    }

    /// Waits for the rate limit's next slot.
    fn pace(&self, next: &Mutex<Instant>) {
        let Some(rate) = self.spec.max_requests_per_s else { return };
        let slot = {
            let mut n = next.lock().unwrap_or_else(|e| e.into_inner());
            let slot = (*n).max(Instant::now());
            *n = slot + Duration::from_secs_f64(1.0 / rate);
            slot
        };
        if let Some(wait) = slot.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }

    /// Sends one batch's body, with retries; its answer, or why it failed.
    fn send(&self, body: &[u8], next: &Mutex<Instant>, stats: &Mutex<HttpStats>) -> Result<Vec<u8>, String> {
        let mut attempt = 0u32;
        loop {
            self.pace(next);
            let start = Instant::now();
            let outcome = self.post(body);
            {
                let mut s = stats.lock().unwrap_or_else(|e| e.into_inner());
                s.requests += 1;
                s.latency_s += start.elapsed().as_secs_f64();
            }
            let (message, retry) = match outcome {
                Ok(answer) => return Ok(answer),
                Err(e) => e,
            };
            if !retry || attempt >= self.spec.retries {
                let tries = if attempt > 0 { format!(" (after {attempt} retries)") } else { String::new() };
                return Err(format!("{message}{tries}"));
            }
            std::thread::sleep(Duration::from_secs_f64(self.spec.backoff_s * 2f64.powi(attempt as i32)));
            attempt += 1;
            stats.lock().unwrap_or_else(|e| e.into_inner()).retries += 1;
        }
    }

    /// One request: the answer's body, or (why it failed, whether a retry may help).
    fn post(&self, body: &[u8]) -> Result<Vec<u8>, (String, bool)> {
        let mut req = self.agent.post(&self.spec.url).header("Content-Type", "application/json");
        if let Some(t) = &self.token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        let https = self.spec.url.starts_with("https://");
        let mut resp = req.send(body).map_err(|e| transport_error(&e, https))?;
        let status = resp.status().as_u16();
        let read = resp.body_mut().with_config().limit(MAX_ANSWER_BYTES).read_to_vec();
        if (300..400).contains(&status) {
            let to = resp.headers().get("location").and_then(|l| l.to_str().ok()).unwrap_or("?").to_string();
            return Err((format!("HTTP {status}: redirected to {to}; requests go to the configured URL only"), false));
        }
        if status != 200 {
            let detail = read.map(|b| snippet(&b)).unwrap_or_default();
            let retry = status == 429 || status >= 500;
            return Err((format!("HTTP {status}{detail}"), retry));
        }
        read.map_err(|e| transport_error(&e, https))
    }
}

/// The class name a JSON label stands for: a string as it is, an integer (or a float with
/// no fraction) in decimal, a boolean as `true`/`false`.
fn label_name(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Some(i.to_string()),
            (_, Some(u), _) => Some(u.to_string()),
            (_, _, Some(f)) if f.fract() == 0.0 && f.abs() < 1e15 => Some(format!("{}", f as i64)),
            (_, _, Some(f)) => Some(f.to_string()),
            _ => None,
        },
        _ => None,
    }
}

/// A transport failure's message and whether a retry may help.
fn transport_error(e: &ureq::Error, https: bool) -> (String, bool) {
    match e {
        ureq::Error::Timeout(_) => ("timed out".into(), true),
        // ureq passes the TLS layer's failures on as I/O errors of invalid data.
        ureq::Error::Io(io) if https && io.kind() == std::io::ErrorKind::InvalidData => {
            (format!("TLS error ({io})"), false)
        }
        ureq::Error::Io(io) => (format!("connection failed ({io})"), true),
        ureq::Error::ConnectionFailed => ("connection failed".into(), true),
        ureq::Error::HostNotFound => ("host not found".into(), false),
        ureq::Error::Tls(m) => (format!("TLS error ({m})"), false),
        ureq::Error::Rustls(r) => (format!("TLS error ({r})"), false),
        other => (format!("{other}"), false),
    }
}

/// The start of an error answer, on one line, for the message.
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let one: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.is_empty() {
        return String::new();
    }
    let cut: String = one.chars().take(160).collect();
    format!(": {cut}{}", if cut.len() < one.len() { "…" } else { "" })
}

/// Numbers of a (possibly nested) JSON array, flattened row-major, with its shape.
fn flatten(v: &Value, out: &mut Vec<f64>, shape: &mut Vec<usize>, depth: usize) -> Result<(), String> {
    match v {
        Value::Array(items) => {
            match shape.get(depth) {
                None => shape.push(items.len()),
                Some(&n) if n == items.len() => {}
                Some(&n) => return Err(format!("ragged array: {} entries where {n} were expected", items.len())),
            }
            items.iter().try_for_each(|x| flatten(x, out, shape, depth + 1))
        }
        Value::Number(n) if depth == shape.len() => {
            let f = n.as_f64().ok_or("a number out of range")?;
            out.push(f);
            Ok(())
        }
        Value::Number(_) => Err("ragged array: a number where a list was expected".into()),
        other => {
            let s = other.to_string();
            Err(format!("expected numbers, found {}", s.chars().take(40).collect::<String>()))
        }
    }
}

/// MLflow's `predictions`: a list of rows (lists of numbers) or of numbers.
fn mlflow_predictions(v: &Value) -> Result<(Vec<f64>, Vec<usize>), String> {
    let p = v.get("predictions").ok_or("answer has no \"predictions\"")?;
    if !p.is_array() {
        return Err("\"predictions\" is not a list".into());
    }
    let (mut data, mut shape) = (Vec::new(), Vec::new());
    flatten(p, &mut data, &mut shape, 0).map_err(|e| format!("\"predictions\": {e}"))?;
    if shape.len() > 2 {
        return Err(format!("\"predictions\" has {} dimensions; expected rows × classes", shape.len()));
    }
    Ok((data, shape))
}

/// The Open Inference Protocol's output tensor object (`name`, else the first).
fn oip_tensor<'a>(v: &'a Value, name: Option<&str>) -> Result<&'a Value, String> {
    let outputs = v.get("outputs").and_then(Value::as_array).ok_or("answer has no \"outputs\" list")?;
    match name {
        Some(n) => outputs
            .iter()
            .find(|o| o.get("name").and_then(Value::as_str) == Some(n))
            .ok_or_else(|| format!("answer has no output named {n:?}")),
        None => outputs.first().ok_or_else(|| "answer's \"outputs\" is empty".to_string()),
    }
}

/// The Open Inference Protocol's output tensor's values and shape (`name`, else the first).
fn oip_output(v: &Value, name: Option<&str>) -> Result<(Vec<f64>, Vec<usize>), String> {
    let out = oip_tensor(v, name)?;
    let shape: Vec<usize> = out
        .get("shape")
        .and_then(Value::as_array)
        .and_then(|s| s.iter().map(|d| d.as_u64().map(|d| d as usize)).collect())
        .ok_or("output has no \"shape\" list of sizes")?;
    let data = out.get("data").ok_or("output has no \"data\"")?;
    let (mut flat, mut seen) = (Vec::new(), Vec::new());
    flatten(data, &mut flat, &mut seen, 0).map_err(|e| format!("output \"data\": {e}"))?;
    if flat.len() != shape.iter().product::<usize>() {
        return Err(format!("output \"data\" has {} values for shape {shape:?}", flat.len()));
    }
    Ok((flat, shape))
}

/// A batch's outputs (row-major), why it failed, or nothing when it was not sent.
type BatchOutcome = Option<Result<Vec<f64>, String>>;

impl Model for HttpModel {
    fn outputs(&self, x: ArrayView2<'_, f32>) -> Result<ModelOutputs, ModelError> {
        if x.ncols() != self.columns.len() {
            return Err(self.error(format!("rows of {} features, {} column names", x.ncols(), self.columns.len())));
        }
        let (n, b, c) = (x.nrows(), self.spec.batch_size, self.classes);
        let batches = n.div_ceil(b);
        let identity = self.spec.identity();
        let next_batch = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        let next_slot = Mutex::new(Instant::now());
        let stats = Mutex::new(HttpStats { batches, ..HttpStats::default() });
        let results: Mutex<Vec<BatchOutcome>> = Mutex::new(vec![None; batches]);
        let start = Instant::now();
        let work = || {
            loop {
                let k = next_batch.fetch_add(1, Ordering::Relaxed);
                if k >= batches || failed.load(Ordering::Relaxed) || crate::interrupt::requested().is_some() {
                    return;
                }
                let rows = k * b..((k + 1) * b).min(n);
                let body = self.body(x.slice(ndarray::s![rows.clone(), ..]));
                let mut request = identity.clone().into_bytes();
                request.extend_from_slice(&body);
                let cached = self.cache.as_ref().and_then(|cache| cache.get(&request));
                let outcome = match cached.map(|a| self.parse(&a, rows.len())) {
                    Some(Ok(v)) => {
                        stats.lock().unwrap_or_else(|e| e.into_inner()).cached += 1;
                        Ok(v)
                    }
                    _ => self.send(&body, &next_slot, &stats).and_then(|answer| {
                        let v = self.parse(&answer, rows.len())?;
                        if let Some(cache) = &self.cache {
                            cache.put(&request, &answer).map_err(|e| format!("cannot store the answer: {e}"))?;
                        }
                        Ok(v)
                    }),
                };
                if outcome.is_err() {
                    failed.store(true, Ordering::Relaxed);
                }
                results.lock().unwrap_or_else(|e| e.into_inner())[k] = Some(outcome);
            }
        };
        std::thread::scope(|s| {
            for _ in 0..self.spec.concurrency.min(batches) {
                s.spawn(work);
            }
        });
        let s = stats.into_inner().unwrap_or_else(|e| e.into_inner());
        {
            let mut total = self.stats.lock().unwrap_or_else(|e| e.into_inner());
            total.batches += s.batches;
            total.cached += s.cached;
            total.requests += s.requests;
            total.retries += s.retries;
            total.latency_s += s.latency_s;
            total.wall_s += start.elapsed().as_secs_f64();
        }
        let results = results.into_inner().unwrap_or_else(|e| e.into_inner());
        // The first failed batch in order (not the first to fail in time): the same error
        // whatever the timing.
        if let Some((k, Some(Err(e)))) = results.iter().enumerate().find(|(_, r)| matches!(r, Some(Err(_)))) {
            let rows = k * b..((k + 1) * b).min(n);
            return Err(self.error(format!(
                "batch {} of {batches} (rows {}–{}): {e}",
                k + 1,
                rows.start + 1,
                rows.end
            )));
        }
        let mut out = Array2::zeros((n, c));
        for (k, r) in results.into_iter().enumerate() {
            let Some(Ok(v)) = r else {
                // Not sent: the run was asked to stop.
                return Err(self.error("interrupted; the answers received are kept for a rerun".into()));
            };
            let rows = k * b..((k + 1) * b).min(n);
            out.slice_mut(ndarray::s![rows, ..])
                .assign(&ArrayView2::from_shape((v.len() / c, c), &v).expect("parse checked the shape"));
        }
        if let Some(((i, j), v)) = out.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Err(self.error(format!("row {}, class {j}: non-finite output {v}", i + 1)));
        }
        Ok(match self.spec.output {
            HttpOutput::Probs | HttpOutput::Label => ModelOutputs::Probabilities(out),
            HttpOutput::Logits => ModelOutputs::Logits(out),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(protocol: Protocol, output: HttpOutput, classes: usize) -> HttpModel {
        let spec = HttpSpec::new("http://127.0.0.1:9/x", protocol, output);
        let names: Vec<String> = (0..classes).map(|c| (c + 1).to_string()).collect();
        HttpModel::new(spec, vec!["a".into(), "b\"q".into()], &names).unwrap()
    }

    /// Request bodies as the protocols define them; each f32 is sent as its exact value.
    #[test]
    fn bodies() {
        let x = ndarray::array![[0.1f32, 2.0], [-3.5, 1e-8]];
        let m = model(Protocol::Mlflow, HttpOutput::Probs, 2);
        let body: Value = serde_json::from_slice(&m.body(x.view())).unwrap();
        let want = serde_json::json!({"dataframe_split": {"columns": ["a", "b\"q"],
            "data": [[f64::from(0.1f32), 2.0], [-3.5, f64::from(1e-8f32)]]}});
        assert_eq!(body, want);
        assert_eq!(body["dataframe_split"]["data"][0][0].as_f64().unwrap() as f32, 0.1f32);
        let m = model(Protocol::OpenInference, HttpOutput::Probs, 2);
        let body: Value = serde_json::from_slice(&m.body(x.view())).unwrap();
        let want = serde_json::json!({"inputs": [{"name": "input-0", "shape": [2, 2], "datatype": "FP64",
            "data": [f64::from(0.1f32), 2.0, -3.5, f64::from(1e-8f32)]}]});
        assert_eq!(body, want);
    }

    #[test]
    fn answers_of_either_protocol_and_their_shapes() {
        let m = model(Protocol::Mlflow, HttpOutput::Probs, 3);
        let ok = br#"{"predictions": [[0.2, 0.3, 0.5], [1, 0, 0]]}"#;
        assert_eq!(m.parse(ok, 2).unwrap(), [0.2, 0.3, 0.5, 1.0, 0.0, 0.0]);
        for (answer, rows, want) in [
            (&br#"{"predictions": [[0.2, 0.3, 0.5]]}"#[..], 2, "answer of shape [1, 3] for 2 rows"),
            (br#"{"predictions": [[0.5, 0.5]]}"#, 1, "answer has 2 outputs per record; the data has 3 classes"),
            (br#"{"predictions": [[0.5, 0.5], [1]]}"#, 2, "ragged array"),
            (br#"{"predictions": [["a", "b", "c"]]}"#, 1, "expected numbers, found \"a\""),
            (br#"{"prediction": []}"#, 1, "answer has no \"predictions\""),
            (b"<html>", 1, "answer is not JSON"),
        ] {
            let e = m.parse(answer, rows).unwrap_err();
            assert!(e.contains(want), "{e}");
        }
        let m = model(Protocol::OpenInference, HttpOutput::Probs, 3);
        let flat =
            br#"{"outputs": [{"name": "p", "shape": [2, 3], "datatype": "FP64", "data": [0.2, 0.3, 0.5, 1, 0, 0]}]}"#;
        let nested = br#"{"outputs": [{"name": "p", "shape": [2, 3], "data": [[0.2, 0.3, 0.5], [1, 0, 0]]}]}"#;
        assert_eq!(m.parse(flat, 2).unwrap(), m.parse(nested, 2).unwrap());
        let short = br#"{"outputs": [{"name": "p", "shape": [2, 3], "data": [0.2, 0.3]}]}"#;
        assert!(m.parse(short, 2).unwrap_err().contains("has 2 values for shape [2, 3]"));
        // A named output, and a binary model's class-1 column alone.
        let mut spec = HttpSpec::new("http://h/x", Protocol::OpenInference, HttpOutput::Logits);
        spec.output_name = Some("logits".into());
        let m = HttpModel::new(spec, vec!["a".into()], &["0".into(), "1".into()]).unwrap();
        let two = br#"{"outputs": [{"name": "label", "shape": [2], "data": [1, 0]},
                                    {"name": "logits", "shape": [2, 1], "data": [1.5, -2]}]}"#;
        assert_eq!(m.parse(two, 2).unwrap(), [0.0, 1.5, 0.0, -2.0]);
        let none = br#"{"outputs": [{"name": "label", "shape": [1], "data": [1]}]}"#;
        assert!(m.parse(none, 1).unwrap_err().contains("no output named \"logits\""));
    }

    /// Labels as the data names its classes, in either protocol, become one-hot rows.
    #[test]
    fn label_answers() {
        let names = [">50K".to_string(), "<=50K".into()];
        let spec = HttpSpec::new("http://h/x", Protocol::Mlflow, HttpOutput::Label);
        let m = HttpModel::new(spec, vec![], &names).unwrap();
        assert_eq!(m.parse(br#"{"predictions": ["<=50K", ">50K"]}"#, 2).unwrap(), [0.0, 1.0, 1.0, 0.0]);
        let e = m.parse(br#"{"predictions": ["<=50K", "50K"]}"#, 2).unwrap_err();
        assert_eq!(e, "record 2: label \"50K\" is not one of the data's classes (>50K, <=50K)");
        let spec = HttpSpec::new("http://h/x", Protocol::OpenInference, HttpOutput::Label);
        let numbered: Vec<String> = (1..=3).map(|c| c.to_string()).collect();
        let m = HttpModel::new(spec, vec![], &numbered).unwrap();
        let flat = br#"{"outputs": [{"name": "label", "shape": [3], "datatype": "INT64", "data": [3, 1, 2.0]}]}"#;
        assert_eq!(m.parse(flat, 3).unwrap(), [0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
        let nested = br#"{"outputs": [{"name": "label", "shape": [2, 1], "data": [[3], [1]]}]}"#;
        assert_eq!(m.parse(nested, 2).unwrap(), [0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
        let e = m.parse(br#"{"outputs": [{"data": [4]}]}"#, 1).unwrap_err();
        assert!(e.starts_with("record 1: label \"4\" is not one of the data's classes (1, 2, 3)"), "{e}");
        assert!(m.parse(br#"{"outputs": [{"data": [1, 2]}]}"#, 3).unwrap_err().contains("2 labels for 3 rows"));
        assert!(m.parse(br#"{"outputs": [{"data": [0.5]}]}"#, 1).unwrap_err().contains("\"0.5\" is not one"));
    }

    #[test]
    fn settings_are_checked() {
        let base = HttpSpec::new("https://example.org/v2/models/m/infer", Protocol::OpenInference, HttpOutput::Probs);
        assert!(base.check().is_ok());
        type Edit = fn(&mut HttpSpec);
        let cases: [(Edit, &str); 6] = [
            (|s| s.url = "example.org/x".into(), "http = \"example.org/x\""),
            (|s| s.batch_size = 0, "batch_size = 0"),
            (|s| s.concurrency = 0, "concurrency = 0"),
            (|s| s.max_requests_per_s = Some(-1.0), "max_requests_per_s = -1"),
            (|s| s.timeout_s = f64::NAN, "timeout_s = NaN"),
            (|s| s.backoff_s = 100.0, "backoff_s = 100"),
        ];
        for (edit, want) in cases {
            let mut s = base.clone();
            edit(&mut s);
            let e = s.check().unwrap_err().to_string();
            assert!(e.starts_with(want), "{e}");
        }
        let mut s = base.clone();
        s.token_env = Some("MIA_HTTP_TEST_SURELY_UNSET".into());
        let e = HttpModel::new(s, vec![], &[]).unwrap_err().to_string();
        assert_eq!(e, "token_env: environment variable MIA_HTTP_TEST_SURELY_UNSET is not set");
    }

    /// The rate limit spaces requests 1/rate apart, over all workers.
    #[test]
    fn the_rate_limit_spaces_requests() {
        let mut spec = HttpSpec::new("http://h/x", Protocol::Mlflow, HttpOutput::Probs);
        spec.max_requests_per_s = Some(50.0);
        let m = HttpModel::new(spec, vec![], &[]).unwrap();
        let next = Mutex::new(Instant::now());
        let start = Instant::now();
        std::thread::scope(|s| {
            for _ in 0..3 {
                s.spawn(|| (0..3).for_each(|_| m.pace(&next)));
            }
        });
        // Nine slots 20 ms apart: the last starts 160 ms after the first.
        assert!(start.elapsed() >= Duration::from_millis(160), "{:?}", start.elapsed());
    }
}
