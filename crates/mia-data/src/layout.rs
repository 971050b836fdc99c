//! What every reader shares: finding the columns of a score table by name
//! ([`resolve`]) and turning rows into a checked [`ScoreTable`] ([`Builder`]).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

use mia_core::signals::ModelOutputs;
use ndarray::Array2;

use crate::error::{CellLocation, quote};
use crate::{DataError, InputFile, LoadOptions, ScoreColumns, ScoreTable, SkipCount};

/// Which model outputs a table holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutKind {
    Logits,
    Probs,
    Loss,
}

/// Column indices of a table, found by name.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub id: Option<usize>,
    pub member: usize,
    pub label: Option<usize>,
    pub kind: OutKind,
    /// Column index of each output value: C class columns in class order, or the loss.
    pub outputs: Vec<usize>,
}

impl Layout {
    /// Every column the layout reads.
    #[cfg_attr(not(feature = "parquet"), allow(dead_code))]
    pub fn used(&self) -> Vec<usize> {
        let mut v: Vec<usize> = self.id.into_iter().chain([self.member]).chain(self.label).collect();
        v.extend_from_slice(&self.outputs);
        v.sort_unstable();
        v.dedup();
        v
    }
}

/// Class index of a column name `{prefix}{k}` with `k` written canonically (no sign, no
/// leading zeros), or `None`.
fn class_index(name: &str, prefix: &str) -> Option<usize> {
    let digits = name.strip_prefix(prefix)?;
    if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if digits.len() > 1 && digits.starts_with('0') {
        return None;
    }
    digits.parse().ok()
}

/// The class columns for `prefix`: `Ok(None)` if there are none, `Ok(Some(cols))` for a
/// complete `0..C` set with C >= 2, an error for a gap or a single column.
fn class_columns(file: &str, names: &[String], prefix: &str) -> Result<Option<Vec<usize>>, DataError> {
    let mut found: Vec<(usize, usize)> =
        names.iter().enumerate().filter_map(|(i, n)| class_index(n, prefix).map(|k| (k, i))).collect();
    if found.is_empty() {
        return Ok(None);
    }
    found.sort_unstable();
    let max = found.last().map(|&(k, _)| k).unwrap_or(0);
    if let Some(missing) = (0..=max).zip(found.iter()).find(|(want, (k, _))| want != k).map(|(want, _)| want) {
        return Err(DataError::ClassColumns {
            file: file.to_string(),
            message: format!(
                "class columns must run {} with no gaps: column {} is missing",
                range_desc(prefix, max + 1),
                quote(&format!("{prefix}{missing}"))
            ),
        });
    }
    if found.len() < 2 {
        return Err(DataError::ClassColumns {
            file: file.to_string(),
            message: format!(
                "expected at least 2 class columns ({}0, {}1, ...), found only {}",
                prefix,
                prefix,
                quote(&format!("{prefix}0"))
            ),
        });
    }
    Ok(Some(found.into_iter().map(|(_, i)| i).collect()))
}

/// `"logit_0".."logit_{n-1}"` as shown to users.
pub(crate) fn range_desc(prefix: &str, n: usize) -> String {
    format!("{}..{}", quote(&format!("{prefix}0")), quote(&format!("{prefix}{}", n.saturating_sub(1))))
}

/// `"logit_0".."logit_{C-1}"` as shown to users.
fn class_range_pattern(prefix: &str) -> String {
    format!("{}..{}", quote(&format!("{prefix}0")), quote(&format!("{prefix}{{C-1}}")))
}

/// Finds the columns of a score table from its header.
pub(crate) fn resolve(
    file: &str,
    names: &[String],
    cols: &ScoreColumns,
    notes: &mut Vec<String>,
) -> Result<Layout, DataError> {
    // Duplicate names make "the column X" ambiguous.
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(names.len());
    for (i, n) in names.iter().enumerate() {
        if let Some(&first) = seen.get(n.as_str()) {
            return Err(DataError::DuplicateColumn {
                file: file.to_string(),
                column: crate::error::one_line(n),
                first: first + 1,
                second: i + 1,
            });
        }
        seen.insert(n, i);
    }
    let find = |name: &str| seen.get(name).copied();
    let found_names = || names.to_vec();

    let member = find(&cols.member).ok_or_else(|| DataError::MissingColumn {
        file: file.to_string(),
        column: crate::error::one_line(&cols.member),
        why: "1 for members, 0 for non-members".to_string(),
        found: found_names(),
    })?;

    let logits = class_columns(file, names, &cols.logit_prefix)?;
    let probs = class_columns(file, names, &cols.prob_prefix)?;
    let loss = find(&cols.loss);
    let (kind, outputs) = match (logits, probs, loss) {
        (Some(l), p, _) => {
            if p.is_some() {
                notes.push(format!(
                    "both {}* and {}* columns present: using the logits, ignoring the probabilities",
                    cols.logit_prefix, cols.prob_prefix
                ));
            }
            (OutKind::Logits, l)
        }
        (None, Some(p), _) => (OutKind::Probs, p),
        (None, None, Some(l)) => (OutKind::Loss, vec![l]),
        (None, None, None) => {
            return Err(DataError::NoOutputColumns {
                file: file.to_string(),
                accepted: format!(
                    "logit columns {}, probability columns {}, or a {} column",
                    class_range_pattern(&cols.logit_prefix),
                    class_range_pattern(&cols.prob_prefix),
                    quote(&cols.loss)
                ),
                found: found_names(),
            });
        }
    };
    if kind != OutKind::Loss && loss.is_some() {
        notes.push(format!("column {} ignored: the class columns are used", quote(&cols.loss)));
    }

    let label = find(&cols.label);
    if label.is_none() && kind != OutKind::Loss {
        return Err(DataError::MissingColumn {
            file: file.to_string(),
            column: crate::error::one_line(&cols.label),
            why: format!(
                "the true class index, needed with {}",
                if kind == OutKind::Logits { "logits" } else { "probabilities" }
            ),
            found: found_names(),
        });
    }

    let id = find(&cols.id);
    if id.is_none() {
        notes.push(format!("no {} column: record ids are the 1-based data row numbers", quote(&cols.id)));
    }
    Ok(Layout { id, member, label, kind, outputs })
}

/// Reasons a row is skipped with `skip_invalid_rows`.
pub(crate) mod reason {
    pub const NON_NUMERIC: &str = "empty or non-numeric value";
    pub const NON_FINITE: &str = "non-finite number (NaN or infinity)";
    pub const MEMBER: &str = "member not 0/1 or true/false";
    pub const LABEL: &str = "label not a non-negative integer";
    pub const LABEL_RANGE: &str = "label out of range";
    pub const PROBABILITY: &str = "invalid probability row";
    pub const LOSS: &str = "negative loss";
    pub const ID: &str = "missing id";
    pub const ID_TEXT: &str = "id not UTF-8 text or with a NUL byte";
}

/// A bad value in one cell, before it is placed (file, row, column) by the [`Builder`].
#[derive(Debug)]
pub(crate) struct CellErr {
    pub expected: Cow<'static, str>,
    pub found: String,
    pub reason: &'static str,
}

impl CellErr {
    pub fn new(expected: impl Into<Cow<'static, str>>, found: String, reason: &'static str) -> Self {
        CellErr { expected: expected.into(), found, reason }
    }
}

/// One row of a source, read cell by cell.
pub(crate) trait RowAccess {
    /// The record id (only called when the source has ids).
    fn id(&self) -> Result<String, CellErr>;
    fn member(&self) -> Result<bool, CellErr>;
    /// The label (only called when the source has labels).
    fn label(&self) -> Result<u64, CellErr>;
    /// Output value `k` (class `k`, or the loss for `k = 0`), already checked finite.
    fn value(&self, k: usize) -> Result<f64, CellErr>;
}

/// Where a field lives, for messages.
#[derive(Debug, Clone)]
pub(crate) struct Loc {
    pub file: String,
    /// Display-ready column (`"member"` quoted, or a class index), `None` for 1-D arrays.
    pub column: Option<String>,
}

/// What a builder reads and where each field comes from.
pub(crate) struct Spec {
    pub kind: OutKind,
    pub id: Option<Loc>,
    pub member: Loc,
    pub label: Option<Loc>,
    /// One per output value.
    pub values: Vec<Loc>,
    /// The output columns together, e.g. `"prob_0".."prob_2"`, for row-sum errors.
    pub values_desc: String,
}

/// Accumulates checked rows.
pub(crate) struct Builder<'o> {
    spec: Spec,
    opts: &'o LoadOptions,
    n_values: usize,
    ids: Vec<String>,
    /// Source row of each kept record (only when ids come from the source).
    id_rows: Vec<u64>,
    member: Vec<bool>,
    labels: Vec<usize>,
    values: Vec<f64>,
    skipped: BTreeMap<&'static str, usize>,
    rows_read: usize,
}

impl<'o> Builder<'o> {
    pub fn new(spec: Spec, opts: &'o LoadOptions, capacity: usize) -> Self {
        let n_values = spec.values.len();
        let cap = capacity.min(1 << 24);
        Builder {
            ids: Vec::with_capacity(cap),
            id_rows: if spec.id.is_some() { Vec::with_capacity(cap) } else { Vec::new() },
            member: Vec::with_capacity(cap),
            labels: if spec.label.is_some() { Vec::with_capacity(cap) } else { Vec::new() },
            values: Vec::with_capacity(cap.saturating_mul(n_values).min(1 << 27)),
            n_values,
            spec,
            opts,
            skipped: BTreeMap::new(),
            rows_read: 0,
        }
    }

    pub fn rows_read(&self) -> usize {
        self.rows_read
    }

    /// Places a cell error, then skips the row or fails.
    fn reject(&mut self, row: u64, line: Option<u64>, loc: &Loc, e: CellErr) -> Result<(), DataError> {
        if self.opts.skip_invalid_rows {
            *self.skipped.entry(e.reason).or_insert(0) += 1;
            return Ok(());
        }
        Err(DataError::Cell {
            file: loc.file.clone(),
            at: CellLocation { row, line, column: loc.column.clone() },
            expected: e.expected.into_owned(),
            found: e.found,
        })
    }

    /// Reads, checks and keeps (or skips) one row. `row` is 1-based, header not counted.
    pub fn push(&mut self, row: u64, line: Option<u64>, r: &impl RowAccess) -> Result<(), DataError> {
        self.rows_read += 1;
        let start = self.values.len();

        let id = match &self.spec.id {
            None => None,
            Some(loc) => match r.id() {
                Ok(id) => Some(id),
                Err(e) => {
                    let loc = loc.clone();
                    return self.reject(row, line, &loc, e);
                }
            },
        };
        let member = match r.member() {
            Ok(m) => m,
            Err(e) => {
                let loc = self.spec.member.clone();
                return self.reject(row, line, &loc, e);
            }
        };
        let n_classes = if self.spec.kind == OutKind::Loss { None } else { Some(self.n_values) };
        let label = match &self.spec.label {
            None => None,
            Some(loc) => {
                let checked = r.label().and_then(|l| match (usize::try_from(l), n_classes) {
                    (Ok(l), Some(c)) if l < c => Ok(l),
                    (Ok(l), None) => Ok(l),
                    _ => Err(CellErr::new(
                        match n_classes {
                            Some(c) => format!("a class index in 0..{c} ({c} class columns)"),
                            None => "a class index that fits in memory".to_string(),
                        },
                        l.to_string(),
                        reason::LABEL_RANGE,
                    )),
                });
                match checked {
                    Ok(l) => Some(l),
                    Err(e) => {
                        let loc = loc.clone();
                        return self.reject(row, line, &loc, e);
                    }
                }
            }
        };
        for k in 0..self.n_values {
            let v = r.value(k).and_then(|v| match self.spec.kind {
                OutKind::Logits => Ok(v),
                OutKind::Probs if (0.0..=1.0).contains(&v) => Ok(v),
                OutKind::Probs => Err(CellErr::new("a probability in [0, 1]", v.to_string(), reason::PROBABILITY)),
                OutKind::Loss if v >= 0.0 => Ok(v),
                OutKind::Loss => Err(CellErr::new("a non-negative loss", v.to_string(), reason::LOSS)),
            });
            match v {
                Ok(v) => self.values.push(v),
                Err(e) => {
                    self.values.truncate(start);
                    let loc = self.spec.values.get(k).cloned().unwrap_or_else(|| self.spec.member.clone());
                    return self.reject(row, line, &loc, e);
                }
            }
        }
        if self.spec.kind == OutKind::Probs {
            let sum: f64 = self.values.get(start..).map(|s| s.iter().sum()).unwrap_or(0.0);
            if (sum - 1.0).abs() > self.opts.prob_tolerance {
                self.values.truncate(start);
                if self.opts.skip_invalid_rows {
                    *self.skipped.entry(reason::PROBABILITY).or_insert(0) += 1;
                    return Ok(());
                }
                let file = self.spec.values.first().map(|l| l.file.clone()).unwrap_or_default();
                return Err(DataError::ProbabilitySum {
                    file,
                    row,
                    line,
                    columns: self.spec.values_desc.clone(),
                    sum,
                    tolerance: self.opts.prob_tolerance,
                });
            }
        }
        match id {
            Some(id) => {
                self.ids.push(id);
                self.id_rows.push(row);
            }
            None => self.ids.push(row.to_string()),
        }
        self.member.push(member);
        if let Some(l) = label {
            self.labels.push(l);
        }
        Ok(())
    }

    /// Checks the table as a whole (non-empty, unique ids, both membership classes).
    /// `file` names the source for table-wide messages.
    /// The table, with the given input fingerprints and notes attached.
    pub fn finish(self, file: &str, inputs: Vec<InputFile>, notes: Vec<String>) -> Result<ScoreTable, DataError> {
        let kept = self.member.len();
        if self.rows_read == 0 {
            return Err(DataError::Empty { file: file.to_string(), message: "no data rows".to_string() });
        }
        let skipped: Vec<SkipCount> =
            self.skipped.iter().map(|(r, &c)| SkipCount { reason: (*r).to_string(), count: c }).collect();
        let n_skipped: usize = skipped.iter().map(|s| s.count).sum();
        if kept == 0 {
            return Err(DataError::AllSkipped {
                file: file.to_string(),
                rows: self.rows_read,
                reasons: skipped.iter().map(|s| format!("{}: {}", s.reason, s.count)).collect::<Vec<_>>().join("; "),
            });
        }
        if let Some(loc) = &self.spec.id
            && let Some((i, j)) = first_duplicate(&self.ids)
        {
            let row = |k: usize| self.id_rows.get(k).copied().unwrap_or(k as u64 + 1);
            return Err(DataError::DuplicateId {
                file: loc.file.clone(),
                column: loc.column.clone(),
                id: quote(self.ids.get(j).map(String::as_str).unwrap_or("")),
                first_row: row(i),
                second_row: row(j),
            });
        }
        let members = self.member.iter().filter(|&&m| m).count();
        if members == 0 || members == kept {
            return Err(DataError::OneClass {
                file: self.spec.member.file.clone(),
                members,
                non_members: kept - members,
                skipped: n_skipped,
            });
        }
        let outputs = match self.spec.kind {
            OutKind::Loss => ModelOutputs::Loss(self.values),
            kind => {
                let a = Array2::from_shape_vec((kept, self.n_values), self.values).map_err(|e| DataError::BadFile {
                    file: file.to_string(),
                    message: format!("internal error assembling outputs: {e}"),
                })?;
                if kind == OutKind::Logits { ModelOutputs::Logits(a) } else { ModelOutputs::Probabilities(a) }
            }
        };
        Ok(ScoreTable {
            ids: self.ids,
            member: self.member,
            labels: self.spec.label.as_ref().map(|_| self.labels),
            outputs,
            inputs,
            rows_read: self.rows_read,
            skipped,
            notes,
        })
    }
}

/// A [`Spec`] for a table whose fields all live in one file.
pub(crate) fn table_spec(file: &str, names: &[String], layout: &Layout, cols: &ScoreColumns) -> Spec {
    let loc =
        |i: usize| Loc { file: file.to_string(), column: Some(quote(names.get(i).map(String::as_str).unwrap_or(""))) };
    let values_desc = match layout.kind {
        OutKind::Logits => range_desc(&cols.logit_prefix, layout.outputs.len()),
        OutKind::Probs => range_desc(&cols.prob_prefix, layout.outputs.len()),
        OutKind::Loss => quote(&cols.loss),
    };
    Spec {
        kind: layout.kind,
        id: layout.id.map(loc),
        member: loc(layout.member),
        label: layout.label.map(loc),
        values: layout.outputs.iter().map(|&i| loc(i)).collect(),
        values_desc,
    }
}

/// The duplicate id that appears second earliest: `(first index, second index)`.
///
/// Sorting (hash, index) pairs keeps memory access sequential, which is several times
/// faster than a hash map on ten million ids; equal hashes are then confirmed by comparing
/// the strings.
pub(crate) fn first_duplicate(ids: &[String]) -> Option<(usize, usize)> {
    let state = std::hash::RandomState::new();
    let mut keyed: Vec<(u64, usize)> = ids.iter().enumerate().map(|(i, s)| (state.hash_one(s.as_str()), i)).collect();
    keyed.sort_unstable();
    let mut best: Option<(usize, usize)> = None;
    let mut start = 0;
    while start < keyed.len() {
        let h = keyed[start].0;
        let mut end = start + 1;
        while end < keyed.len() && keyed[end].0 == h {
            end += 1;
        }
        // A run of equal hashes, sorted by index: almost always a single element.
        let run = &keyed[start..end];
        for (b, &(_, j)) in run.iter().enumerate().skip(1) {
            if let Some(&(_, i)) = run[..b].iter().find(|&&(_, i)| ids.get(i) == ids.get(j)) {
                if best.is_none_or(|(_, bj)| j < bj) {
                    best = Some((i, j));
                }
                break;
            }
        }
        start = end;
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn first_duplicate_finds_the_earliest_second_occurrence() {
        assert_eq!(first_duplicate(&s(&[])), None);
        assert_eq!(first_duplicate(&s(&["a", "b", "c"])), None);
        assert_eq!(first_duplicate(&s(&["a", "b", "a"])), Some((0, 2)));
        assert_eq!(first_duplicate(&s(&["x", "b", "c", "b", "x", "b"])), Some((1, 3)));
        assert_eq!(first_duplicate(&s(&["q", "q", "q"])), Some((0, 1)));
        let many: Vec<String> = (0..100_000).map(|i| i.to_string()).chain(["77".to_string()]).collect();
        assert_eq!(first_duplicate(&many), Some((77, 100_000)));
    }

    #[test]
    fn class_index_accepts_only_canonical_numbers() {
        assert_eq!(class_index("logit_0", "logit_"), Some(0));
        assert_eq!(class_index("logit_12", "logit_"), Some(12));
        assert_eq!(class_index("logit_01", "logit_"), None);
        assert_eq!(class_index("logit_", "logit_"), None);
        assert_eq!(class_index("logit_-1", "logit_"), None);
        assert_eq!(class_index("logit_1x", "logit_"), None);
        assert_eq!(class_index("prob_1", "logit_"), None);
        assert_eq!(class_index("logit_99999999999", "logit_"), None);
        assert_eq!(class_index("7", ""), Some(7));
    }
}
