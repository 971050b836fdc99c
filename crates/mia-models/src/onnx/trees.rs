//! Our own evaluator for the ONNX-ML `TreeEnsembleClassifier` and `TreeEnsembleRegressor` operators
//! (ONNX operator specification, ai.onnx.ml opsets 1–3), built from the node attributes.
//!
//! Why not tract's: it finds a tree's leaf weights by scanning the weight list, which made a 30-tree
//! forest 200–2,600× slower than onnxruntime here. This one stores every tree's nodes in one flat array
//! of 16-byte nodes (children as absolute indices, leaves pointing at a contiguous run of weights), so a
//! row walks a tree by chasing indices, and rows are processed in blocks tree by tree so that a tree's
//! nodes stay in cache while a block of rows walks it. Each row's scores are summed in f64 in tree order,
//! so the result does not depend on the thread count.
//!
//! Semantics follow the specification and onnxruntime where the specification is vague:
//! - a branch node sends a row to its true child when `x MODE threshold` holds (`BRANCH_LEQ`: x ≤ t,
//!   `BRANCH_LT`, `BRANCH_GTE`, `BRANCH_GT`, `BRANCH_EQ`, `BRANCH_NEQ`), or when x is NaN and the node's
//!   `nodes_missing_value_tracks_true` flag is set;
//! - a tree's root is its one node that no other node names as a child;
//! - a classifier sums the weights of the leaves reached per class and adds `base_values` per class;
//!   with two class labels and weights for a single class id (scikit-learn's binary GradientBoosting,
//!   XGBoost, LightGBM, and scikit-learn's binary forests) the summed score `v` (plus the single
//!   `base_values` entry, or the second of two) is the positive class's score, and the two-column score
//!   is `[1 − v, v]` when every weight is non-negative (a forest's probability) and `[−v, v]` otherwise
//!   (a margin, turned into `[σ(−v), σ(v)]` by `LOGISTIC`);
//! - a regressor aggregates the leaf weights per target with `SUM` (default), `AVERAGE`, `MIN` or `MAX`
//!   and adds `base_values`.
//!
//! The post-transform is not applied here: [`TreeEnsemble::raw_scores`] returns the scores before it,
//! and the caller turns them into logits (see `super::PostTransform`).

use super::proto::{NodeProto, attr, attr_floats, attr_ints, attr_string, attr_strings};
use ndarray::{Array2, ArrayView2, Axis};
use rayon::prelude::*;
use std::collections::HashMap;

/// How a branch node compares a feature value with its threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Mode {
    Leq,
    Lt,
    Gte,
    Gt,
    Eq,
    Neq,
    Leaf,
}

/// One node, 16 bytes. For a branch, `a`/`b` are the flat indices of the true/false children; a leaf
/// has `feature == LEAF` and `a`/`b` are the start/end of its run in [`TreeEnsemble::weights`].
#[derive(Debug, Clone, Copy)]
struct Node {
    feature: u32,
    threshold: f32,
    a: u32,
    b: u32,
}

const LEAF: u32 = u32::MAX;

/// How a regressor combines the leaves of its trees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Average,
    Min,
    Max,
}

/// A parsed tree ensemble, ready to evaluate.
#[derive(Debug, Clone)]
pub(crate) struct TreeEnsemble {
    nodes: Vec<Node>,
    /// Per node: its mode and whether a NaN goes to the true child (kept apart from `nodes` so the
    /// hot loop of a single-mode ensemble reads only the 16-byte nodes).
    modes: Vec<(Mode, bool)>,
    roots: Vec<u32>,
    /// `(target or class column, weight)` runs, one per leaf.
    weights: Vec<(u32, f64)>,
    /// The one mode every branch uses, when they all use the same one and none tracks missing values.
    uniform: Option<Mode>,
    aggregate: Aggregate,
    /// Score columns before the binary expansion: classes, or regression targets.
    n_targets: usize,
    base_values: Vec<f64>,
    /// The binary expansion of a single-score classifier: `Some(true)` for `[1 − v, v]` (weights all
    /// non-negative), `Some(false)` for `[−v, v]`; `None` when every column has its own scores.
    binary: Option<bool>,
    /// The widest feature index used plus one.
    pub(crate) min_width: usize,
    /// `post_transform` as written in the model (`NONE` when absent).
    pub(crate) post_transform: String,
}

impl TreeEnsemble {
    /// Parses a `TreeEnsembleClassifier` or `TreeEnsembleRegressor` node.
    pub(crate) fn from_node(node: &NodeProto) -> Result<TreeEnsemble, String> {
        let classifier = match node.op_type.as_str() {
            "TreeEnsembleClassifier" => true,
            "TreeEnsembleRegressor" => false,
            other => return Err(format!("{other} is not a tree ensemble")),
        };
        for unsupported in ["nodes_values_as_tensor", "class_weights_as_tensor", "target_weights_as_tensor"] {
            if attr(node, unsupported).is_some() {
                return Err(format!("{}: attribute {unsupported} is not supported", node.op_type));
            }
        }
        let tree_ids = attr_ints(node, "nodes_treeids");
        let node_ids = attr_ints(node, "nodes_nodeids");
        let features = attr_ints(node, "nodes_featureids");
        let values = attr_floats(node, "nodes_values");
        let modes = attr_strings(node, "nodes_modes");
        let true_ids = attr_ints(node, "nodes_truenodeids");
        let false_ids = attr_ints(node, "nodes_falsenodeids");
        let missing = attr_ints(node, "nodes_missing_value_tracks_true");
        let n = tree_ids.len();
        let lengths = [node_ids.len(), features.len(), values.len(), modes.len(), true_ids.len(), false_ids.len()];
        if n == 0 || lengths.iter().any(|&l| l != n) || !(missing.is_empty() || missing.len() == n) {
            return Err(format!("{}: the nodes_* attributes are empty or of different lengths", node.op_type));
        }
        if n >= u32::MAX as usize {
            return Err(format!("{}: too many nodes ({n})", node.op_type));
        }
        let (prefix, n_targets) = if classifier {
            let ints = attr_ints(node, "classlabels_int64s");
            let strings = attr_strings(node, "classlabels_strings");
            ("class", ints.len().max(strings.len()))
        } else {
            let t = attr(node, "n_targets").map_or(1, |a| a.i);
            ("target", usize::try_from(t).unwrap_or(0))
        };
        if n_targets == 0 || n_targets > 1 << 20 {
            return Err(format!("{}: {n_targets} classes or targets", node.op_type));
        }

        // Flat index of every (tree id, node id).
        let mut index: HashMap<(i64, i64), u32> = HashMap::with_capacity(n);
        for i in 0..n {
            if index.insert((tree_ids[i], node_ids[i]), i as u32).is_some() {
                return Err(format!("{}: node {} of tree {} is listed twice", node.op_type, node_ids[i], tree_ids[i]));
            }
        }
        let mut is_child = vec![false; n];
        let mut nodes = Vec::with_capacity(n);
        let mut node_modes = Vec::with_capacity(n);
        for i in 0..n {
            let mode = match modes[i].as_str() {
                "BRANCH_LEQ" => Mode::Leq,
                "BRANCH_LT" => Mode::Lt,
                "BRANCH_GTE" => Mode::Gte,
                "BRANCH_GT" => Mode::Gt,
                "BRANCH_EQ" => Mode::Eq,
                "BRANCH_NEQ" => Mode::Neq,
                "LEAF" => Mode::Leaf,
                other => return Err(format!("{}: unknown node mode {other}", node.op_type)),
            };
            let missing_true = missing.get(i).is_some_and(|&m| m != 0);
            let mut child = |id: i64| -> Result<u32, String> {
                let c = *index.get(&(tree_ids[i], id)).ok_or_else(|| {
                    format!("{}: node {} of tree {} names a missing child {id}", node.op_type, node_ids[i], tree_ids[i])
                })?;
                is_child[c as usize] = true;
                Ok(c)
            };
            let (a, b, feature) = if mode == Mode::Leaf {
                (0, 0, LEAF)
            } else {
                let f = u32::try_from(features[i])
                    .ok()
                    .filter(|&f| f != LEAF)
                    .ok_or_else(|| format!("{}: feature index {} is out of range", node.op_type, features[i]))?;
                (child(true_ids[i])?, child(false_ids[i])?, f)
            };
            nodes.push(Node { feature, threshold: values[i], a, b });
            node_modes.push((mode, missing_true));
        }
        // One root per tree, in the order trees first appear.
        let mut roots = Vec::new();
        let mut seen_tree: HashMap<i64, usize> = HashMap::new();
        for i in 0..n {
            if !is_child[i] {
                if seen_tree.insert(tree_ids[i], i).is_some() {
                    return Err(format!("{}: tree {} has more than one root", node.op_type, tree_ids[i]));
                }
                roots.push(i as u32);
            }
        }
        let n_trees = tree_ids.iter().collect::<std::collections::HashSet<_>>().len();
        if roots.len() != n_trees {
            return Err(format!(
                "{}: {} of {n_trees} trees have no root (a cycle)",
                node.op_type,
                n_trees - roots.len()
            ));
        }

        // Leaf weights, grouped per leaf in attribute order.
        let w_tree = attr_ints(node, &format!("{prefix}_treeids"));
        let w_node = attr_ints(node, &format!("{prefix}_nodeids"));
        let w_id = attr_ints(node, &format!("{prefix}_ids"));
        let w_val = attr_floats(node, &format!("{prefix}_weights"));
        let m = w_tree.len();
        if w_node.len() != m || w_id.len() != m || w_val.len() != m {
            return Err(format!("{}: the {prefix}_* attributes are of different lengths", node.op_type));
        }
        let mut per_leaf: Vec<Vec<(u32, f64)>> = vec![Vec::new(); n];
        let mut classes_used = std::collections::BTreeSet::new();
        for j in 0..m {
            let leaf = *index.get(&(w_tree[j], w_node[j])).ok_or_else(|| {
                format!("{}: a weight names a missing node {} of tree {}", node.op_type, w_node[j], w_tree[j])
            })? as usize;
            if node_modes[leaf].0 != Mode::Leaf {
                return Err(format!("{}: a weight is attached to branch node {}", node.op_type, w_node[j]));
            }
            let t = usize::try_from(w_id[j])
                .ok()
                .filter(|&t| t < n_targets)
                .ok_or_else(|| format!("{}: {prefix} id {} is out of range 0..{n_targets}", node.op_type, w_id[j]))?;
            classes_used.insert(t);
            per_leaf[leaf].push((t as u32, f64::from(w_val[j])));
        }
        let binary = (classifier && n_targets == 2 && classes_used.len() == 1).then(|| w_val.iter().all(|&w| w >= 0.0));
        let mut weights = Vec::with_capacity(m);
        for (i, leaf) in per_leaf.into_iter().enumerate() {
            if node_modes[i].0 == Mode::Leaf {
                let start = weights.len() as u32;
                // The binary expansion reads the single score from column 0.
                weights.extend(leaf.into_iter().map(|(t, w)| (if binary.is_some() { 0 } else { t }, w)));
                nodes[i].a = start;
                nodes[i].b = weights.len() as u32;
            }
        }
        check_acyclic(&nodes, &node_modes, &roots).map_err(|e| format!("{}: {e}", node.op_type))?;

        let base_values: Vec<f64> = attr_floats(node, "base_values").into_iter().map(f64::from).collect();
        let base_values = match (binary, base_values.len()) {
            (_, 0) => vec![0.0; n_targets],
            // A single score: onnxruntime adds the single entry, or the second of two.
            (Some(_), 1) => vec![base_values[0], 0.0],
            (Some(_), 2) => vec![base_values[1], 0.0],
            (None, l) if l == n_targets => base_values,
            (_, l) => return Err(format!("{}: {l} base_values for {n_targets} columns", node.op_type)),
        };
        let aggregate = match attr_string(node, "aggregate_function").as_deref() {
            None | Some("SUM") => Aggregate::Sum,
            Some("AVERAGE") => Aggregate::Average,
            Some("MIN") => Aggregate::Min,
            Some("MAX") => Aggregate::Max,
            Some(other) => return Err(format!("{}: unknown aggregate_function {other}", node.op_type)),
        };
        let branch_modes: std::collections::BTreeSet<u8> = node_modes
            .iter()
            .filter(|(m, _)| *m != Mode::Leaf)
            .map(|(m, miss)| *m as u8 | (u8::from(*miss) << 4))
            .collect();
        let uniform = match branch_modes.iter().collect::<Vec<_>>().as_slice() {
            [only] if **only & 0x10 == 0 => node_modes.iter().map(|(m, _)| *m).find(|m| *m != Mode::Leaf),
            [] => Some(Mode::Leq),
            _ => None,
        };
        let min_width = nodes
            .iter()
            .zip(&node_modes)
            .filter(|(_, (m, _))| *m != Mode::Leaf)
            .map(|(nd, _)| nd.feature as usize + 1)
            .max()
            .unwrap_or(0);
        Ok(TreeEnsemble {
            nodes,
            modes: node_modes,
            roots,
            weights,
            uniform,
            aggregate,
            n_targets,
            base_values,
            binary,
            min_width,
            post_transform: attr_string(node, "post_transform").unwrap_or_else(|| "NONE".into()),
        })
    }

    /// Scores before the post-transform, N × classes (or targets), computed in f64. `x` must have at least
    /// `min_width` columns (checked by the caller).
    pub(crate) fn raw_scores(&self, x: ArrayView2<'_, f32>) -> Array2<f64> {
        let n = x.nrows();
        let width = self.n_targets;
        let mut out = Array2::<f64>::zeros((n, width));
        // A contiguous copy of the rows so the walk reads features without strides.
        let xs = x.as_standard_layout();
        const BLOCK: usize = 64;
        let blocks: Vec<_> = out.axis_chunks_iter_mut(Axis(0), BLOCK).collect();
        blocks.into_par_iter().enumerate().for_each(|(bi, mut block)| {
            let rows = xs.slice(ndarray::s![bi * BLOCK..bi * BLOCK + block.nrows(), ..]);
            let flat = rows.as_slice().expect("standard layout");
            let d = rows.ncols();
            let mut acc = vec![0.0f64; block.nrows() * width];
            let mut leaves = vec![0u32; block.nrows()];
            let init = match self.aggregate {
                Aggregate::Min => f64::INFINITY,
                Aggregate::Max => f64::NEG_INFINITY,
                _ => 0.0,
            };
            if init != 0.0 {
                acc.fill(init);
            }
            let mut touched = vec![false; if init != 0.0 { acc.len() } else { 0 }];
            for &root in &self.roots {
                match self.uniform {
                    Some(Mode::Leq) => self.walk_block::<0>(root, flat, d, &mut leaves),
                    Some(Mode::Lt) => self.walk_block::<1>(root, flat, d, &mut leaves),
                    _ => self.walk_block::<255>(root, flat, d, &mut leaves),
                }
                for (r, &leaf) in leaves.iter().enumerate() {
                    let leaf = &self.nodes[leaf as usize];
                    for &(t, w) in &self.weights[leaf.a as usize..leaf.b as usize] {
                        let k = r * width + t as usize;
                        match self.aggregate {
                            Aggregate::Sum | Aggregate::Average => acc[k] += w,
                            Aggregate::Min => {
                                acc[k] = acc[k].min(w);
                                touched[k] = true;
                            }
                            Aggregate::Max => {
                                acc[k] = acc[k].max(w);
                                touched[k] = true;
                            }
                        }
                    }
                }
            }
            let n_trees = self.roots.len() as f64;
            for (r, mut row) in block.outer_iter_mut().enumerate() {
                for (t, o) in row.iter_mut().enumerate() {
                    let k = r * width + t;
                    let v = match self.aggregate {
                        Aggregate::Average => acc[k] / n_trees,
                        Aggregate::Min | Aggregate::Max if !touched[k] => 0.0,
                        _ => acc[k],
                    };
                    *o = v + self.base_values[t];
                }
            }
        });
        out
    }

    /// Walks every row of a block through the tree at `root`, leaving each row's leaf in `leaves`.
    /// `MODE` 0 / 1 are the all-`BRANCH_LEQ` / all-`BRANCH_LT` ensembles without missing-value
    /// tracking (the exporters' usual output), compiled without the per-node mode dispatch.
    #[inline]
    fn walk_block<const MODE: u8>(&self, root: u32, rows: &[f32], d: usize, leaves: &mut [u32]) {
        let nodes = &self.nodes[..];
        for (r, leaf) in leaves.iter_mut().enumerate() {
            let row = &rows[r * d..(r + 1) * d];
            let mut i = root as usize;
            loop {
                let node = nodes[i];
                if node.feature == LEAF {
                    break;
                }
                let x = row[node.feature as usize];
                let go_true = match MODE {
                    0 => x <= node.threshold,
                    1 => x < node.threshold,
                    _ => {
                        let (mode, missing_true) = self.modes[i];
                        let hit = match mode {
                            Mode::Leq => x <= node.threshold,
                            Mode::Lt => x < node.threshold,
                            Mode::Gte => x >= node.threshold,
                            Mode::Gt => x > node.threshold,
                            Mode::Eq => x == node.threshold,
                            Mode::Neq => x != node.threshold,
                            Mode::Leaf => unreachable!("leaves end the walk above"),
                        };
                        hit || (missing_true && x.is_nan())
                    }
                };
                i = if go_true { node.a } else { node.b } as usize;
            }
            *leaf = i as u32;
        }
    }

    /// Expands single-score binary classifiers to two columns (`[1 − v, v]` or `[−v, v]`, as
    /// onnxruntime does); other ensembles' scores pass through.
    pub(crate) fn class_scores(&self, raw: Array2<f64>) -> Array2<f64> {
        match self.binary {
            None => raw,
            Some(positive) => {
                let mut out = Array2::zeros((raw.nrows(), 2));
                for (mut o, r) in out.outer_iter_mut().zip(raw.outer_iter()) {
                    let v = r[0];
                    o[0] = if positive { 1.0 - v } else { -v };
                    o[1] = v;
                }
                out
            }
        }
    }
}

/// Every node is reached exactly once from its tree's root, so every walk ends at a leaf.
fn check_acyclic(nodes: &[Node], modes: &[(Mode, bool)], roots: &[u32]) -> Result<(), String> {
    let mut visited = vec![false; nodes.len()];
    let mut stack = Vec::new();
    for &root in roots {
        stack.push(root as usize);
        while let Some(i) = stack.pop() {
            if std::mem::replace(&mut visited[i], true) {
                return Err(format!("node {i} is reached twice (the trees are not trees)"));
            }
            if modes[i].0 != Mode::Leaf {
                stack.push(nodes[i].a as usize);
                stack.push(nodes[i].b as usize);
            }
        }
    }
    match visited.iter().position(|v| !v) {
        Some(i) => Err(format!("node {i} cannot be reached from its tree's root (the trees are not trees)")),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onnx::proto::AttributeProto;
    use ndarray::array;

    fn ints(name: &str, v: &[i64]) -> AttributeProto {
        AttributeProto { name: name.into(), ints: v.to_vec(), ..Default::default() }
    }
    fn floats(name: &str, v: &[f32]) -> AttributeProto {
        AttributeProto { name: name.into(), floats: v.to_vec(), ..Default::default() }
    }
    fn strings(name: &str, v: &[&str]) -> AttributeProto {
        AttributeProto {
            name: name.into(),
            strings: v.iter().map(|s| s.as_bytes().to_vec()).collect(),
            ..Default::default()
        }
    }

    /// A regressor with two one-split trees: tree 0 `x0 >= 1` (NaN goes true), tree 1 `x1 != 2`
    /// (NaN: no tracking, and NaN != 2 holds). Leaves: tree 0 true 10 / false 20, tree 1 true 1 / false 2.
    fn regressor(aggregate: &str) -> NodeProto {
        NodeProto {
            op_type: "TreeEnsembleRegressor".into(),
            attribute: vec![
                ints("nodes_treeids", &[0, 0, 0, 1, 1, 1]),
                ints("nodes_nodeids", &[0, 1, 2, 0, 1, 2]),
                ints("nodes_featureids", &[0, 0, 0, 1, 0, 0]),
                floats("nodes_values", &[1.0, 0.0, 0.0, 2.0, 0.0, 0.0]),
                strings("nodes_modes", &["BRANCH_GTE", "LEAF", "LEAF", "BRANCH_NEQ", "LEAF", "LEAF"]),
                ints("nodes_truenodeids", &[1, 0, 0, 1, 0, 0]),
                ints("nodes_falsenodeids", &[2, 0, 0, 2, 0, 0]),
                ints("nodes_missing_value_tracks_true", &[1, 0, 0, 0, 0, 0]),
                ints("target_treeids", &[0, 0, 1, 1]),
                ints("target_nodeids", &[1, 2, 1, 2]),
                ints("target_ids", &[0, 0, 0, 0]),
                floats("target_weights", &[10.0, 20.0, 1.0, 2.0]),
                floats("base_values", &[0.5]),
                AttributeProto {
                    name: "aggregate_function".into(),
                    s: aggregate.as_bytes().to_vec(),
                    ..Default::default()
                },
            ],
            ..Default::default()
        }
    }

    #[test]
    fn branch_modes_missing_values_and_aggregates_follow_the_spec() {
        // Expected by hand from the ONNX-ML specification's definitions.
        let x = array![[1.0f32, 2.0], [0.5, 3.0], [f32::NAN, f32::NAN], [1.5, 2.0]];
        let sum = TreeEnsemble::from_node(&regressor("SUM")).unwrap().raw_scores(x.view());
        assert_eq!(sum.column(0).to_vec(), vec![10.0 + 2.0 + 0.5, 20.0 + 1.0 + 0.5, 10.0 + 1.0 + 0.5, 12.5]);
        let avg = TreeEnsemble::from_node(&regressor("AVERAGE")).unwrap().raw_scores(x.view());
        assert_eq!(avg.column(0).to_vec(), vec![6.5, 11.0, 6.0, 6.5]);
        let max = TreeEnsemble::from_node(&regressor("MAX")).unwrap().raw_scores(x.view());
        assert_eq!(max.column(0).to_vec(), vec![10.5, 20.5, 10.5, 10.5]);
    }

    #[test]
    fn malformed_trees_are_errors() {
        let mut cyclic = regressor("SUM");
        // Tree 1's true child points back at its root.
        cyclic.attribute[5] = ints("nodes_truenodeids", &[1, 0, 0, 0, 0, 0]);
        assert!(TreeEnsemble::from_node(&cyclic).unwrap_err().contains("not trees"));
        let mut missing_child = regressor("SUM");
        missing_child.attribute[6] = ints("nodes_falsenodeids", &[7, 0, 0, 2, 0, 0]);
        assert!(TreeEnsemble::from_node(&missing_child).unwrap_err().contains("missing child 7"));
    }
}
