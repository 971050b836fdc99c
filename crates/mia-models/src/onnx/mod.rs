//! ONNX models as audit targets: pure-Rust inference (tract) plus our own evaluators for the final
//! classifier operator, returning logits wherever the model has them.
//!
//! Membership signals live near p = 1, where f32 probabilities saturate (one within about
//! 3e-8 of 1 rounds to 1), so this module reads the *logits* of a model whenever its graph
//! ends in a recognisable probability head, and the probabilities only otherwise:
//!
//! | graph ends with (before Identity / Cast / ×1 / L1 Normalizer)  | outputs |
//! |---|---|
//! | `Softmax(z)` (torch, skl2onnx MLP)                                | logits `z` |
//! | `Sigmoid(z)`, or `Concat(1 − Sigmoid(z), Sigmoid(z))` (binary MLP)| logits `[0, z]` |
//! | `LinearClassifier` (LogisticRegression), `TreeEnsembleClassifier` (forests, GBT, XGBoost, LightGBM) | the raw scores `s` before `post_transform`: `SOFTMAX` → logits `s`; `LOGISTIC` → logits `ln σ(s)` (whose softmax is σ(s) normalised, i.e. `[σ(−v), σ(v)]` for a binary margin `v`); `NONE` / `SOFTMAX_ZERO` → probabilities computed in f64 |
//! | anything else                                                     | the graph's probability output, as probabilities |
//!
//! How the graph is split: the head above is evaluated by us; tract runs only the part of the graph
//! that computes the head's input (pruned with `select_output_outlets`, so the label branch of
//! ArgMax / ArrayFeatureExtractor never runs), and not at all when the head reads the model input
//! directly (every tree and linear model the converters produce). Tree ensembles are evaluated by our
//! own [`trees`] evaluator rather than by replacing the operator inside tract: a tree ensemble is
//! always the last operator before the probabilities in the converters' graphs (zipmap=False), the
//! split needs no tract op-trait plumbing, it is where we need the raw scores anyway (tract's op only
//! gives post-transformed ones), and it means tract's rejection of binary ensembles with a single
//! `base_values` entry never arises — our parser reads that entry as onnxruntime does.
//!
//! tract gaps mended here: the ai.onnx.ml `Scaler` operator ([`scaler`]), registered so skl2onnx
//! StandardScaler pipelines load; tree ensembles (slow in tract, `TreeEnsembleRegressor` missing).
//!
//! Errors are one line that starts with the model's path: unreadable file, not ONNX, an unsupported
//! operator (named), an input that is not one float matrix of fixed width, or rows of another width.

mod proto;
mod scaler;
mod trees;

use crate::{Model, ModelError};
use mia_core::signals::ModelOutputs;
use mia_data::guard::catch_decoder_panic;
use ndarray::{Array2, ArrayView2, CowArray, Ix2};
use proto::{GraphProto, NodeProto, attr_floats, attr_int, attr_ints, attr_string, attr_strings, constant_values};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use tract_onnx::prelude::*;
use trees::TreeEnsemble;

/// What [`OnnxModel`]'s outputs are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnnxOutputKind {
    /// Unsaturated logits (the input of the final softmax/sigmoid, or the raw scores before the
    /// classifier's post-transform).
    Logits,
    /// Probabilities only: the graph has no head we can read logits from.
    Probabilities,
}

/// A loaded ONNX classifier.
pub struct OnnxModel {
    path: String,
    width: usize,
    /// Computes the head's input from the model input; `None` when the head reads the input itself.
    prefix: Option<Arc<TypedRunnableModel>>,
    head: Head,
}

impl std::fmt::Debug for OnnxModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxModel")
            .field("path", &self.path)
            .field("width", &self.width)
            .field("tract_prefix", &self.prefix.is_some())
            .field("head", &self.head.name())
            .finish()
    }
}

/// The classifier's last step, evaluated by us.
enum Head {
    /// The head's input is the logits (a final `Softmax`).
    Softmax,
    /// The head's input `z` went through a final sigmoid: logits `[0, z]` (one column) or `ln σ(z)`.
    Sigmoid,
    /// The head's input is the probabilities themselves.
    Probabilities,
    Linear(Box<Linear>),
    Trees(Box<TreeEnsemble>, Post),
}

impl Head {
    fn name(&self) -> &'static str {
        match self {
            Head::Softmax => "Softmax",
            Head::Sigmoid => "Sigmoid",
            Head::Probabilities => "probabilities",
            Head::Linear(_) => "LinearClassifier",
            Head::Trees(..) => "TreeEnsemble",
        }
    }
}

/// A classifier's `post_transform` (PROBIT is not produced by the converters and is rejected).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Post {
    None,
    Logistic,
    Softmax,
    SoftmaxZero,
}

impl Post {
    fn parse(s: &str) -> Result<Post, String> {
        match s {
            "NONE" | "" => Ok(Post::None),
            "LOGISTIC" => Ok(Post::Logistic),
            "SOFTMAX" => Ok(Post::Softmax),
            "SOFTMAX_ZERO" => Ok(Post::SoftmaxZero),
            other => Err(format!("post_transform {other} is not supported")),
        }
    }
}

/// ai.onnx.ml `LinearClassifier`: scores = x · coefᵀ + intercepts.
struct Linear {
    /// C' × D'.
    coef: Array2<f64>,
    intercepts: Vec<f64>,
    /// One coefficient row for two class labels: scores `[−s, s]`, as onnxruntime expands them.
    binary_single: bool,
    post: Post,
}

impl OnnxModel {
    /// Loads a model file. Fails with one line naming the file when it cannot be read or parsed,
    /// uses an operator neither tract nor this module supports, or does not take one float matrix.
    pub fn load(path: impl AsRef<Path>) -> Result<OnnxModel, ModelError> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let err = |message: String| ModelError::Onnx { path: shown.clone(), message: one_line(&message) };
        let bytes = std::fs::read(path).map_err(|e| err(format!("cannot read the model: {e}")))?;
        Self::from_bytes(&bytes, &shown)
    }

    /// Loads a model from its bytes; `name` is used in error messages in place of a path.
    pub fn from_bytes(bytes: &[u8], name: &str) -> Result<OnnxModel, ModelError> {
        let err = |message: String| ModelError::Onnx { path: name.to_string(), message: one_line(&message) };
        let framework = framework();
        let proto =
            framework.proto_model_for_read(&mut &bytes[..]).map_err(|e| err(format!("not an ONNX model: {e:#}")))?;
        let graph = proto.graph.as_ref().ok_or_else(|| err("the ONNX file has no graph".into()))?;
        check_outputs_exist(graph).map_err(err)?;
        let (input, width) = model_input(graph).map_err(err)?;
        let output = probability_output(graph).map_err(err)?;
        let producers: HashMap<&str, &NodeProto> =
            graph.node.iter().flat_map(|n| n.output.iter().map(move |o| (o.as_str(), n))).collect();
        let (head, source) = find_head(graph, &producers, &output).map_err(err)?;
        let source = skip_casts(&producers, &source);
        let prefix = if source == input {
            None
        } else {
            // tract can panic on a graph it does not expect: that is a bad model file, not a crash.
            let plan =
                catch_decoder_panic(|| tract_prefix(&framework, &proto, graph, &producers, &input, width, &source))
                    .unwrap_or_else(|panic| Err(format!("tract cannot read the graph: {panic}")));
            Some(plan.map_err(err)?)
        };
        if let (Head::Trees(t, _), None) = (&head, &prefix)
            && t.min_width > width
        {
            return Err(err(format!("the tree ensemble reads feature {} but the input has {width}", t.min_width - 1)));
        }
        if let (Head::Linear(l), None) = (&head, &prefix)
            && l.coef.ncols() != width
        {
            return Err(err(format!(
                "LinearClassifier has {} coefficients per class for {width} inputs",
                l.coef.ncols()
            )));
        }
        Ok(OnnxModel { path: name.to_string(), width, prefix, head })
    }

    /// The number of features (columns) the model takes.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Whether [`Model::outputs`] gives logits or only probabilities.
    pub fn output_kind(&self) -> OnnxOutputKind {
        match &self.head {
            Head::Softmax | Head::Sigmoid => OnnxOutputKind::Logits,
            Head::Probabilities => OnnxOutputKind::Probabilities,
            Head::Linear(l) => post_kind(l.post),
            Head::Trees(_, p) => post_kind(*p),
        }
    }

    /// `Err` naming the file when the data's encoded width differs from the model's input width.
    pub fn check_width(&self, data_width: usize) -> Result<(), ModelError> {
        if data_width == self.width {
            Ok(())
        } else {
            Err(self.error(format!(
                "the model takes {} features but the encoded data has {data_width} columns",
                self.width
            )))
        }
    }

    fn error(&self, message: String) -> ModelError {
        ModelError::Onnx { path: self.path.clone(), message: one_line(&message) }
    }

    /// The head's input for rows `x`: `x` itself, or what the tract prefix computes from it.
    fn head_input<'a>(&self, x: ArrayView2<'a, f32>) -> Result<CowArray<'a, f32, Ix2>, ModelError> {
        let Some(plan) = &self.prefix else { return Ok(CowArray::from(x)) };
        let x = x.as_standard_layout();
        let data = x.as_slice().expect("standard layout");
        let input = Tensor::from_shape(&[x.nrows(), x.ncols()], data).map_err(|e| self.error(format!("{e:#}")))?;
        let out = plan.run(tvec!(input.into())).map_err(|e| self.error(format!("inference failed: {e:#}")))?;
        let t = out[0].cast_to::<f32>().map_err(|e| self.error(format!("{e:#}")))?;
        let shape = t.shape().to_vec();
        let cols = match shape.as_slice() {
            [n] if *n == x.nrows() => 1,
            [n, c] if *n == x.nrows() => *c,
            other => {
                return Err(
                    self.error(format!("the graph computed a tensor of shape {other:?} for {} rows", x.nrows()))
                );
            }
        };
        let values: Vec<f32> =
            t.to_plain_array_view::<f32>().map_err(|e| self.error(format!("{e:#}")))?.iter().copied().collect();
        let a = Array2::from_shape_vec((x.nrows(), cols), values).map_err(|e| self.error(e.to_string()))?;
        Ok(CowArray::from(a))
    }
}

impl Model for OnnxModel {
    fn outputs(&self, x: ArrayView2<'_, f32>) -> Result<ModelOutputs, ModelError> {
        self.check_width(x.ncols())?;
        let h = self.head_input(x)?;
        let to_f64 = |a: &CowArray<'_, f32, Ix2>| a.mapv(f64::from);
        let out = match &self.head {
            Head::Softmax => {
                if h.ncols() < 2 {
                    return Err(self.error(format!("a softmax over {} column gives no classes", h.ncols())));
                }
                ModelOutputs::Logits(to_f64(&h))
            }
            Head::Sigmoid if h.ncols() == 1 => ModelOutputs::Logits(binary_from_margin(h.column(0).iter().copied())),
            Head::Sigmoid => ModelOutputs::Logits(h.mapv(|v| ln_sigmoid(f64::from(v)))),
            Head::Probabilities if h.ncols() == 1 => {
                let mut p = Array2::zeros((h.nrows(), 2));
                for (mut row, &v) in p.outer_iter_mut().zip(h.column(0)) {
                    row[0] = 1.0 - f64::from(v);
                    row[1] = f64::from(v);
                }
                ModelOutputs::Probabilities(p)
            }
            Head::Probabilities => ModelOutputs::Probabilities(to_f64(&h)),
            Head::Linear(l) => {
                if h.ncols() != l.coef.ncols() {
                    return Err(self.error(format!(
                        "LinearClassifier has {} coefficients per class but receives {} values",
                        l.coef.ncols(),
                        h.ncols()
                    )));
                }
                let s = to_f64(&h).dot(&l.coef.t()) + ndarray::aview1(&l.intercepts);
                let s = if l.binary_single { binary_pair(s.column(0).iter().copied()) } else { s };
                post_outputs(s, l.post)
            }
            Head::Trees(t, post) => {
                if h.ncols() < t.min_width {
                    return Err(self.error(format!(
                        "the tree ensemble reads feature {} but receives {} values",
                        t.min_width - 1,
                        h.ncols()
                    )));
                }
                post_outputs(t.class_scores(t.raw_scores(h.view())), *post)
            }
        };
        Ok(out)
    }
}

fn post_kind(p: Post) -> OnnxOutputKind {
    match p {
        Post::Logistic | Post::Softmax => OnnxOutputKind::Logits,
        Post::None | Post::SoftmaxZero => OnnxOutputKind::Probabilities,
    }
}

/// Raw classifier scores → outputs, per the post-transform (see the module table).
fn post_outputs(mut s: Array2<f64>, post: Post) -> ModelOutputs {
    match post {
        Post::Softmax => ModelOutputs::Logits(s),
        Post::Logistic => {
            s.mapv_inplace(ln_sigmoid);
            ModelOutputs::Logits(s)
        }
        Post::None => ModelOutputs::Probabilities(s),
        Post::SoftmaxZero => {
            // onnxruntime's SOFTMAX_ZERO: a softmax over the non-zero scores; zero scores stay 0.
            for mut row in s.outer_iter_mut() {
                let max = row.iter().filter(|v| **v != 0.0).fold(f64::NEG_INFINITY, |m, &v| m.max(v));
                let mut sum = 0.0;
                for v in row.iter_mut() {
                    if *v != 0.0 {
                        *v = (*v - max).exp();
                        sum += *v;
                    }
                }
                if sum > 0.0 {
                    row.mapv_inplace(|v| v / sum);
                }
            }
            ModelOutputs::Probabilities(s)
        }
    }
}

/// ln σ(v), without overflow for any finite v.
fn ln_sigmoid(v: f64) -> f64 {
    if v >= 0.0 { -(-v).exp().ln_1p() } else { v - v.exp().ln_1p() }
}

/// Logits `[0, v]` for binary margins `v`.
fn binary_from_margin(v: impl ExactSizeIterator<Item = f32>) -> Array2<f64> {
    let mut out = Array2::zeros((v.len(), 2));
    for (mut row, m) in out.outer_iter_mut().zip(v) {
        row[1] = f64::from(m);
    }
    out
}

/// Scores `[−s, s]` for a single-score binary classifier.
fn binary_pair(s: impl ExactSizeIterator<Item = f64>) -> Array2<f64> {
    let mut out = Array2::zeros((s.len(), 2));
    for (mut row, v) in out.outer_iter_mut().zip(s) {
        row[0] = -v;
        row[1] = v;
    }
    out
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// tract's ONNX front end with our `Scaler`.
fn framework() -> tract_onnx::Onnx {
    let mut onnx = tract_onnx::onnx();
    scaler::register(&mut onnx.op_register);
    onnx
}

/// The one graph input that is not an initializer: its name and fixed width D of `[batch, D]` floats.
fn model_input(graph: &GraphProto) -> Result<(String, usize), String> {
    const FLOAT: i32 = 1;
    let inits: HashSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    let inputs: Vec<_> = graph.input.iter().filter(|i| !inits.contains(i.name.as_str())).collect();
    let [input] = inputs.as_slice() else {
        return Err(format!(
            "the model has {} inputs; only models with one float input matrix are supported",
            inputs.len()
        ));
    };
    let tensor = match input.r#type.as_ref().and_then(|t| t.value.as_ref()) {
        Some(tract_onnx::pb::type_proto::Value::TensorType(t)) => t,
        _ => return Err(format!("input '{}' is not a tensor", input.name)),
    };
    if tensor.elem_type != FLOAT {
        return Err(format!("input '{}' has element type {} (ONNX code), not float", input.name, tensor.elem_type));
    }
    let dims: Vec<Option<i64>> = tensor
        .shape
        .as_ref()
        .map(|s| {
            s.dim
                .iter()
                .map(|d| match d.value {
                    Some(tract_onnx::pb::tensor_shape_proto::dimension::Value::DimValue(v)) if v > 0 => Some(v),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    match dims.as_slice() {
        [_, Some(d)] => Ok((input.name.clone(), *d as usize)),
        _ => Err(format!("input '{}' must be a [batch, D] matrix with a fixed width D, got {dims:?}", input.name)),
    }
}

/// Every graph output must be a tensor the graph has: tract looks outputs up by name and
/// panics on a name that nothing computes (found by fuzzing; see FUZZING.md).
fn check_outputs_exist(graph: &GraphProto) -> Result<(), String> {
    let known: HashSet<&str> = graph
        .input
        .iter()
        .map(|i| i.name.as_str())
        .chain(graph.initializer.iter().map(|t| t.name.as_str()))
        .chain(graph.node.iter().flat_map(|n| n.output.iter().map(String::as_str)))
        .collect();
    match graph.output.iter().find(|o| !known.contains(o.name.as_str())) {
        Some(o) => Err(format!("graph output {:?} is computed by no node (nor is it an input or initializer)", o.name)),
        None => Ok(()),
    }
}

/// The output holding class scores: `probabilities` when the graph has it, else its only output,
/// else its first float output.
fn probability_output(graph: &GraphProto) -> Result<String, String> {
    let outputs = &graph.output;
    if let Some(o) = outputs.iter().find(|o| o.name == "probabilities") {
        return Ok(o.name.clone());
    }
    if let [only] = outputs.as_slice() {
        return Ok(only.name.clone());
    }
    outputs
        .iter()
        .find(|o| {
            matches!(o.r#type.as_ref().and_then(|t| t.value.as_ref()),
                Some(tract_onnx::pb::type_proto::Value::TensorType(t)) if t.elem_type == 1)
        })
        .map(|o| o.name.clone())
        .ok_or_else(|| "the model has no float output to read probabilities from".into())
}

fn is_all_ones(graph: &GraphProto, name: &str) -> bool {
    constant_values(graph, name).is_some_and(|v| !v.is_empty() && v.iter().all(|&x| x == 1.0))
}

/// Follows Identity and float Casts back from `name`.
fn skip_casts(producers: &HashMap<&str, &NodeProto>, name: &str) -> String {
    let mut t = name;
    // Bounded: a malformed graph may have a cycle.
    for _ in 0..=producers.len() {
        let Some(n) = producers.get(t) else { break };
        let pass = n.op_type == "Identity" || (n.op_type == "Cast" && attr_int(n, "to") == Some(1));
        match n.input.first() {
            Some(i) if pass => t = i,
            _ => break,
        }
    }
    t.to_string()
}

/// Walks back from the probability output through value-preserving steps to the classifier head.
/// Returns the head and the tensor it reads.
fn find_head(
    graph: &GraphProto,
    producers: &HashMap<&str, &NodeProto>,
    output: &str,
) -> Result<(Head, String), String> {
    let mut t = output.to_string();
    let fallback = || Ok((Head::Probabilities, output.to_string()));
    // Bounded: a malformed graph may have a cycle.
    for _ in 0..=graph.node.len() {
        let Some(node) = producers.get(t.as_str()) else { return fallback() };
        let input = |i: usize| node.input.get(i).cloned().unwrap_or_default();
        let slot = node.output.iter().position(|o| *o == t).unwrap_or(0);
        match node.op_type.as_str() {
            "Identity" => t = input(0),
            "Cast" if attr_int(node, "to") == Some(1) => t = input(0),
            "Mul" | "Div" if node.input.len() == 2 && is_all_ones(graph, &node.input[1]) => t = input(0),
            "Mul" if node.input.len() == 2 && is_all_ones(graph, &node.input[0]) => t = input(1),
            // Rows whose softmax (or normalised sigmoid) we return already sum to 1.
            "Normalizer" if attr_string(node, "norm").as_deref() == Some("L1") => t = input(0),
            "Softmax" if matches!(attr_int(node, "axis"), None | Some(1) | Some(-1)) => {
                return Ok((Head::Softmax, input(0)));
            }
            "Sigmoid" => return Ok((Head::Sigmoid, input(0))),
            "Concat" if node.input.len() == 2 && matches!(attr_int(node, "axis"), Some(1) | Some(-1)) => {
                // skl2onnx's binary MLP: Concat(1 − p, p) with p = Sigmoid(z).
                let (neg, pos) = (&node.input[0], &node.input[1]);
                let sig = producers.get(pos.as_str()).filter(|n| n.op_type == "Sigmoid");
                let sub = producers.get(neg.as_str()).filter(|n| {
                    n.op_type == "Sub" && n.input.len() == 2 && n.input[1] == *pos && is_all_ones(graph, &n.input[0])
                });
                return match (sig, sub) {
                    (Some(s), Some(_)) => Ok((Head::Sigmoid, s.input[0].clone())),
                    _ => fallback(),
                };
            }
            "LinearClassifier" if slot == 1 => {
                return Ok((Head::Linear(Box::new(parse_linear(node)?)), input(0)));
            }
            "TreeEnsembleClassifier" if slot == 1 => {
                let trees = TreeEnsemble::from_node(node)?;
                let post = Post::parse(&trees.post_transform).map_err(|e| format!("{}: {e}", node.op_type))?;
                return Ok((Head::Trees(Box::new(trees), post), input(0)));
            }
            _ => return fallback(),
        }
    }
    Err("the graph has a cycle".into())
}

fn parse_linear(node: &NodeProto) -> Result<Linear, String> {
    let coefs = attr_floats(node, "coefficients");
    let intercepts: Vec<f64> = attr_floats(node, "intercepts").into_iter().map(f64::from).collect();
    let n_labels = attr_ints(node, "classlabels_ints").len().max(attr_strings(node, "classlabels_strings").len());
    let rows = if intercepts.is_empty() { n_labels.max(1) } else { intercepts.len() };
    if coefs.is_empty() || !coefs.len().is_multiple_of(rows) {
        return Err(format!("LinearClassifier: {} coefficients for {rows} classes", coefs.len()));
    }
    let d = coefs.len() / rows;
    let coef =
        Array2::from_shape_vec((rows, d), coefs.into_iter().map(f64::from).collect()).map_err(|e| e.to_string())?;
    let intercepts = if intercepts.is_empty() { vec![0.0; rows] } else { intercepts };
    let post = Post::parse(&attr_string(node, "post_transform").unwrap_or_default())
        .map_err(|e| format!("LinearClassifier: {e}"))?;
    Ok(Linear { coef, intercepts, binary_single: rows == 1 && n_labels == 2, post })
}

/// tract wants one `base_values` entry per class label, but binary ensembles from skl2onnx
/// (GradientBoosting) and onnxmltools (XGBoost) carry one. tract adds the entries per score column and
/// applies its sigmoid to column 0 (where those exporters put every weight), so duplicating the entry
/// gives column 0 the score plus the base value, as onnxruntime computes it. Only reached when a tree
/// ensemble is not the graph's head (the head is evaluated by [`trees`]).
fn repair_binary_base_values(proto: &tract_onnx::pb::ModelProto) -> tract_onnx::pb::ModelProto {
    let mut proto = proto.clone();
    if let Some(graph) = proto.graph.as_mut() {
        for node in graph.node.iter_mut().filter(|n| n.op_type == "TreeEnsembleClassifier") {
            let labels =
                attr_ints(node, "classlabels_int64s").len().max(attr_strings(node, "classlabels_strings").len());
            if labels == 2
                && let Some(base) = node.attribute.iter_mut().find(|a| a.name == "base_values")
                && base.floats.len() == 1
            {
                base.floats.push(base.floats[0]);
            }
        }
    }
    proto
}

/// A tract plan computing tensor `source` from the model input, with everything else pruned.
fn tract_prefix(
    framework: &tract_onnx::Onnx,
    proto: &tract_onnx::pb::ModelProto,
    graph: &GraphProto,
    producers: &HashMap<&str, &NodeProto>,
    input: &str,
    width: usize,
    source: &str,
) -> Result<Arc<TypedRunnableModel>, String> {
    // Name the first operator tract lacks among those the pruned graph runs.
    let mut stack = vec![source];
    let mut seen = HashSet::new();
    while let Some(t) = stack.pop() {
        if t == input || !seen.insert(t) {
            continue;
        }
        let Some(node) = producers.get(t) else { continue };
        if !framework.op_register.0.contains_key(&node.op_type) {
            return Err(format!("unsupported ONNX operator {} (node '{}')", node.op_type, node.name));
        }
        stack.extend(node.input.iter().map(String::as_str).filter(|s| !s.is_empty()));
    }
    let _ = graph;
    let proto = repair_binary_base_values(proto);
    let parsed = framework.parse(&proto, None).map_err(|e| format!("tract cannot read the graph: {e:#}"))?;
    let mut model = parsed.model;
    let outlet = *parsed.outlets_by_name.get(source).ok_or_else(|| format!("no tensor named '{source}'"))?;
    model.select_output_outlets(&[outlet]).map_err(|e| format!("{e:#}"))?;
    let batch = model.sym("N");
    let fact = InferenceFact::dt_shape(f32::datum_type(), tvec!(batch.to_dim(), width.to_dim()));
    model.set_input_fact(0, fact).map_err(|e| format!("{e:#}"))?;
    model.compact().map_err(|e| format!("{e:#}"))?;
    model.into_optimized().and_then(|m| m.into_runnable()).map_err(|e| format!("tract cannot run the graph: {e:#}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_sigmoid_is_stable_and_exact() {
        // ln σ(v) − ln σ(−v) = v, the binary margin, far beyond f32 saturation.
        for v in [-700.0, -40.0, -1.0, 0.0, 0.5, 17.0, 40.0, 700.0] {
            let d = ln_sigmoid(v) - ln_sigmoid(-v);
            assert!((d - v).abs() <= 1e-12 * v.abs().max(1.0), "{v}: {d}");
        }
        assert_eq!(ln_sigmoid(0.0), -std::f64::consts::LN_2);
    }

    /// The tract path for a whole tree-ensemble graph (used only when the ensemble is not the head):
    /// with the repaired `base_values`, scikit-learn's binary GradientBoosting gives scikit-learn's
    /// `predict_proba` (fixtures/onnx, made by scripts/onnx_fixtures.py).
    #[test]
    fn tract_runs_binary_ensembles_with_one_base_value() {
        use ndarray_npy::ReadNpyExt;
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/onnx");
        let gz = std::fs::File::open(dir.join("adult_x.npy.gz")).unwrap();
        let x = Array2::<f32>::read_npy(flate2::read::GzDecoder::new(gz)).unwrap();
        let want = Array2::<f64>::read_npy(std::fs::File::open(dir.join("sk_gbc_adult.proba.npy")).unwrap()).unwrap();
        let bytes = std::fs::read(dir.join("sk_gbc_adult.onnx")).unwrap();
        let framework = framework();
        let proto = framework.proto_model_for_read(&mut &bytes[..]).unwrap();
        let graph = proto.graph.as_ref().unwrap();
        let producers = graph.node.iter().flat_map(|n| n.output.iter().map(move |o| (o.as_str(), n))).collect();
        let plan = tract_prefix(&framework, &proto, graph, &producers, "X", 6, "probabilities").unwrap();
        let model = OnnxModel { path: "t".into(), width: 6, prefix: Some(plan), head: Head::Probabilities };
        let ModelOutputs::Probabilities(p) = model.outputs(x.view()).unwrap() else { panic!() };
        let d = p.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        assert!(d < 1e-5, "{d}");
    }

    #[test]
    fn softmax_zero_keeps_zero_scores_at_zero() {
        let out = post_outputs(ndarray::array![[0.0, 1.0, 2.0]], Post::SoftmaxZero);
        let ModelOutputs::Probabilities(p) = out else { panic!("probabilities expected") };
        let e = 1.0 / (1.0 + std::f64::consts::E);
        assert_eq!(p[[0, 0]], 0.0);
        assert!((p[[0, 1]] - e).abs() < 1e-15 && (p[[0, 2]] - (1.0 - e)).abs() < 1e-15);
    }
}
