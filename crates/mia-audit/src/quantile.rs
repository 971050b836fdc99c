//! The quantile-regression membership attack: Bertran et al., "Scalable Membership Inference
//! Attacks via Quantile Regression", NeurIPS 36 (2023).
//!
//! # The idea
//!
//! A threshold on the target model's confidence signal treats every record alike, yet records
//! differ in how confident a model is on them when it never saw them: an easy record gets a high
//! φ either way, a hard or unusual one a low φ either way. Reference-model attacks (LiRA, RMIA)
//! calibrate each record by training many models with and without it. This attack calibrates it
//! without training any other model of the target's kind: it learns, from records known **not**
//! to be members, what φ a non-member like this one gets.
//!
//! For a chosen false-positive rate α, a regressor q̂ is fitted on non-members only, from each
//! record's features (with its class appended as one-hot columns) to its φ (the logit-scaled
//! confidence of the true class, [`mia_core::signals`]), to predict the (1 − α) quantile of φ
//! among non-members with those features. The attack score is
//!
//! `score(x, y) = φ(x, y) − q̂(x, y)`,
//!
//! and "member" means `score > 0`: φ above what all but a fraction α of similar non-members
//! reach. If q̂ is the true conditional quantile, a fresh non-member lands above it with
//! probability α whatever its features, so the test's false-positive rate is α by construction —
//! per record kind, not just on average — while a member, on which the model is more confident
//! than on a similar unseen record, tends to land above. Every other threshold on the score gives
//! the rest of the ROC curve. No reference model is trained: the cost is one quantile regression
//! per fit, which is what makes the attack scale.
//!
//! The regressor is gradient-boosted trees on the pinball loss ([`mia_models::fit_quantile_gbt`],
//! equal to scikit-learn's `HistGradientBoostingRegressor(loss="quantile")`), with that
//! estimator's defaults ([`QuantileConfig`]: 100 trees of at most 31 leaves, learning rate 0.1, at
//! least 20 rows per leaf, no early stopping). The fit is single-threaded and draws no random
//! numbers.
//!
//! # Two ways to fit
//!
//! * [`quantile_attack`]: fit on one set of non-members (a population no model trained on), score
//!   another set (the audited records). This is the paper's setting.
//! * [`cross_fitted_quantile_attack`]: no separate population, only audited records with known
//!   membership (`mia score --features`). The records are split into the same seeded folds as the
//!   other cross-fitted attacks ([`mia_core::attacks::stratified_folds`]); the records of fold f
//!   are scored by a regressor fitted on the **non-members of the other folds**, so no record is
//!   ever scored by a regressor that saw it, and members are never fitted on at all.
//!
//! # What is checked
//!
//! α must lie in (0, 0.5] (it is a false-positive rate: above ½ a "member" call would be the
//! usual answer for a non-member). φ must be finite everywhere, features finite, labels below the
//! class count. A fit needs at least [`QuantileConfig::min_fit_records`] =
//! max(20, ⌈1/α⌉) non-members: with fewer than 1/α of them the empirical (1 − α) quantile is just
//! the largest φ seen, and the FPR claim says nothing; the floor of 20 keeps a large α from being
//! fitted on a handful of records. Each
//! failure is an [`AuditError::Input`]; `mia score` turns it into an error when the attack was
//! asked for by name and into a note (the attack does not run) otherwise, as it does for the
//! other attacks whose inputs are missing.
//!
//! # The calibration check
//!
//! [`Calibration`] counts, at the attack's own threshold (score > 0), the share of the evaluated
//! non-members above it (their FPR: close to α when the regressor is good, and on cross-fitted
//! scores an honest estimate, since each was scored by a regressor that never saw it) and the
//! share of members above it (the TPR at that threshold). The cross-fitted attack puts it in its
//! fitting notes.
//!
//! "FPR ≈ α" holds for a good regressor, and a boosted one fitted on few records overfits the
//! upper tail: fresh non-members then land above q̂ more often than α. In the tests' synthetic
//! data (α = 0.1) they do 11 % of the time with 6,000 non-members per fit and 13 % with 2,400; on
//! the digits fixture (α = 0.01, about 720 non-members per fit) 5.6 %; on Adult (about 13,000 per
//! fit) 2.2 %. The check reports the rate reached rather than assuming α.

use crate::AuditError;
use mia_core::attacks::{AttackScores, Fitting, stratified_folds};
use mia_models::gbt::{GbtLearner, GbtParams};
use ndarray::{Array2, ArrayView2, Axis};
use rayon::prelude::*;

/// The attack's name in reports and in `--attacks`.
pub const QUANTILE_ATTACK: &str = "quantile";

/// Most classes given to the regressor as one-hot columns; with more, the class is left out (and
/// a note says so), so that the design matrix stays the features' size.
pub const MAX_CLASS_COLUMNS: usize = 256;

/// Fewest non-members any fit may have, whatever α (see the module documentation).
pub const MIN_FIT_FLOOR: usize = 20;

/// Settings of the quantile-regression attack: the target FPR α and the gradient-boosted
/// regressor's hyper-parameters (scikit-learn's names and defaults).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuantileConfig {
    /// The false-positive rate the threshold `score > 0` aims at, in (0, 0.5]: the regressor
    /// predicts the (1 − α) quantile of non-members' φ.
    pub alpha: f64,
    /// Boosting iterations (trees).
    pub max_iter: usize,
    /// Shrinkage of every leaf value (> 0).
    pub learning_rate: f64,
    /// Most leaves per tree (≥ 2).
    pub max_leaf_nodes: usize,
    /// Fewest training rows in a leaf (≥ 1).
    pub min_samples_leaf: usize,
}

impl Default for QuantileConfig {
    fn default() -> Self {
        QuantileConfig { alpha: 0.01, max_iter: 100, learning_rate: 0.1, max_leaf_nodes: 31, min_samples_leaf: 20 }
    }
}

impl QuantileConfig {
    /// The regressor's parameters (the rest at scikit-learn's defaults: no depth limit, no L2
    /// penalty, 255 bins, no early stopping).
    pub fn gbt_params(&self) -> GbtParams {
        GbtParams {
            max_iter: self.max_iter,
            learning_rate: self.learning_rate,
            max_leaf_nodes: Some(self.max_leaf_nodes),
            min_samples_leaf: self.min_samples_leaf,
            ..GbtParams::default()
        }
    }

    /// Checks α and the regressor's parameters; the message names the bad setting.
    pub fn check(&self) -> Result<(), AuditError> {
        if !(self.alpha > 0.0 && self.alpha <= 0.5) {
            return Err(AuditError::Input(format!(
                "quantile attack: alpha (the target false-positive rate) must be in (0, 0.5], got {}",
                self.alpha
            )));
        }
        GbtLearner::new(self.gbt_params()).map(|_| ()).map_err(|e| AuditError::Input(format!("quantile attack: {e}")))
    }

    /// Fewest non-members a fit needs: max(20, ⌈1/α⌉).
    pub fn min_fit_records(&self) -> usize {
        MIN_FIT_FLOOR.max((1.0 / self.alpha).ceil() as usize)
    }

    /// The quantile level the regressor predicts, 1 − α.
    pub fn level(&self) -> f64 {
        1.0 - self.alpha
    }
}

/// Records as the attack reads them: features (one row per record), class labels (`None` when
/// the outputs have none: the regressor then sees the features alone) and φ, in one order.
#[derive(Debug, Clone, Copy)]
pub struct QuantileRecords<'a> {
    pub x: ArrayView2<'a, f32>,
    pub labels: Option<&'a [usize]>,
    pub phi: &'a [f64],
}

impl QuantileRecords<'_> {
    fn len(&self) -> usize {
        self.phi.len()
    }

    /// Lengths agree, φ and features are finite, labels are below `n_classes`; `what` names the
    /// set in messages.
    fn check(&self, n_classes: usize, what: &str) -> Result<(), AuditError> {
        let bad = |m: String| Err(AuditError::Input(format!("quantile attack: {what}: {m}")));
        let n = self.len();
        if self.x.nrows() != n {
            return bad(format!("{} feature rows for {n} values of φ", self.x.nrows()));
        }
        if let Some(i) = self.phi.iter().position(|v| !v.is_finite()) {
            return bad(format!("record {}: φ = {} is not finite", i + 1, self.phi[i]));
        }
        if let Some(((r, c), v)) = self.x.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return bad(format!("record {}, feature {c}: {v} is not finite", r + 1));
        }
        if let Some(l) = self.labels {
            if l.len() != n {
                return bad(format!("{} labels for {n} records", l.len()));
            }
            if let Some(i) = l.iter().position(|&c| c >= n_classes) {
                return bad(format!("record {}: label {} is not below the class count {n_classes}", i + 1, l[i]));
            }
        }
        Ok(())
    }
}

/// How many class columns the regressor gets: `n_classes` with labels (up to
/// [`MAX_CLASS_COLUMNS`]), else none.
fn class_columns(labels: Option<&[usize]>, n_classes: usize) -> usize {
    match labels {
        Some(_) if n_classes <= MAX_CLASS_COLUMNS => n_classes,
        _ => 0,
    }
}

/// The regressor's design matrix: the features, then `k` one-hot class columns.
fn design(r: &QuantileRecords<'_>, k: usize) -> Array2<f32> {
    let (n, d) = r.x.dim();
    let mut out = Array2::<f32>::zeros((n, d + k));
    out.slice_mut(ndarray::s![.., ..d]).assign(&r.x);
    if let (Some(labels), true) = (r.labels, k > 0) {
        for (i, &c) in labels.iter().enumerate() {
            out[[i, d + c]] = 1.0;
        }
    }
    out
}

/// Fits q̂ on `fit_rows` of `x` (targets `phi`) and returns φ − q̂ for `eval_rows`.
fn fit_and_score(
    x: ArrayView2<'_, f32>,
    phi: &[f64],
    fit_rows: &[usize],
    eval_rows: &[usize],
    cfg: &QuantileConfig,
) -> Result<Vec<f64>, AuditError> {
    let y: Vec<f64> = fit_rows.iter().map(|&i| phi[i]).collect();
    let model = mia_models::fit_quantile_gbt(x.select(Axis(0), fit_rows).view(), &y, cfg.level(), &cfg.gbt_params())
        .map_err(|e| AuditError::Input(format!("quantile attack: {e}")))?;
    let q = model.predict(x.select(Axis(0), eval_rows).view());
    Ok(eval_rows.iter().zip(q).map(|(&i, q)| phi[i] - q).collect())
}

/// An error unless `n` non-members are enough to fit on.
fn check_fit_size(n: usize, cfg: &QuantileConfig, which: &str) -> Result<(), AuditError> {
    let need = cfg.min_fit_records();
    if n < need {
        return Err(AuditError::Input(format!(
            "quantile attack: {which} {n} non-members to fit the regressor on, but α = {} needs at least {need} \
             (max({MIN_FIT_FLOOR}, ⌈1/α⌉))",
            cfg.alpha
        )));
    }
    Ok(())
}

/// One line on the regressor, for notes: `rows` describes the fit sets' sizes.
fn fit_note(rows: &str, d: usize, k: usize, labels: bool, n_classes: usize, cfg: &QuantileConfig) -> String {
    let classes = match (labels, k) {
        (false, _) => "no class columns (the input has no labels)".to_string(),
        (true, 0) => format!("no class columns ({n_classes} classes, more than {MAX_CLASS_COLUMNS})"),
        (true, k) => format!("{k} one-hot class columns"),
    };
    format!(
        "regressor of the {} quantile of φ: {} trees of at most {} leaves, learning rate {}, at least {} rows a \
         leaf, on {d} features and {classes}; fitted on {rows} non-members",
        cfg.level(),
        cfg.max_iter,
        cfg.max_leaf_nodes,
        cfg.learning_rate,
        cfg.min_samples_leaf
    )
}

/// The population case: q̂ fitted on `fit` (records no model trained on), then every record of
/// `eval` scored as φ − q̂ (higher = more likely member; `score > 0` targets FPR α). `n_classes`
/// sizes the one-hot class columns (used when both sets have labels). Returns the scores, in
/// `eval`'s order, and notes for the report (the regressor and its fit).
///
/// # Errors
///
/// [`AuditError::Input`] for a bad `cfg` ([`QuantileConfig::check`]), sets whose features differ
/// in width or of which only one has labels, a length mismatch, a φ or feature that is not finite,
/// a label not below `n_classes`, or fewer than [`QuantileConfig::min_fit_records`] fit records.
pub fn quantile_attack(
    fit: QuantileRecords<'_>,
    eval: QuantileRecords<'_>,
    n_classes: usize,
    cfg: &QuantileConfig,
) -> Result<(Vec<f64>, Vec<String>), AuditError> {
    cfg.check()?;
    fit.check(n_classes, "fit records")?;
    eval.check(n_classes, "evaluated records")?;
    if fit.x.ncols() != eval.x.ncols() {
        return Err(AuditError::Input(format!(
            "quantile attack: the fit records have {} features and the evaluated records {}",
            fit.x.ncols(),
            eval.x.ncols()
        )));
    }
    if fit.labels.is_some() != eval.labels.is_some() {
        return Err(AuditError::Input(
            "quantile attack: give labels for both the fit and evaluated records, or neither".into(),
        ));
    }
    check_fit_size(fit.len(), cfg, "got")?;
    let k = class_columns(fit.labels, n_classes);
    let (xf, xe) = (design(&fit, k), design(&eval, k));
    let y = fit.phi.to_vec();
    let model = mia_models::fit_quantile_gbt(xf.view(), &y, cfg.level(), &cfg.gbt_params())
        .map_err(|e| AuditError::Input(format!("quantile attack: {e}")))?;
    let q = model.predict(xe.view());
    let scores = eval.phi.iter().zip(q).map(|(p, q)| p - q).collect();
    let note = fit_note(&fit.len().to_string(), fit.x.ncols(), k, fit.labels.is_some(), n_classes, cfg);
    Ok((scores, vec![note]))
}

/// The cross-fitted case (no separate population): every record of `records` is scored by a
/// regressor fitted on the non-members (`member[i] == false`) of the other folds, the folds being
/// [`stratified_folds`]`(member, folds, seed)`, the same as the other cross-fitted attacks'. The
/// result is the `quantile` attack, its fitting record noting the regressor and the calibration
/// check ([`Calibration`]).
///
/// # Errors
///
/// As [`quantile_attack`]; also `member` of another length than the records, `folds` below 2 or
/// above the record count, and a fold whose other folds hold fewer than
/// [`QuantileConfig::min_fit_records`] non-members.
pub fn cross_fitted_quantile_attack(
    records: QuantileRecords<'_>,
    member: &[bool],
    n_classes: usize,
    folds: usize,
    seed: u64,
    cfg: &QuantileConfig,
) -> Result<AttackScores, AuditError> {
    cfg.check()?;
    records.check(n_classes, "records")?;
    let n = records.len();
    if member.len() != n {
        return Err(AuditError::Input(format!("quantile attack: {} membership values for {n} records", member.len())));
    }
    if folds < 2 || folds > n {
        return Err(AuditError::Input(format!("quantile attack: {folds} folds for {n} records (expected 2 to {n})")));
    }
    let fold = stratified_folds(member, folds, seed);
    let fit_sets: Vec<Vec<usize>> =
        (0..folds).map(|f| (0..n).filter(|&i| fold[i] != f && !member[i]).collect()).collect();
    let smallest = fit_sets.iter().map(Vec::len).min().unwrap_or(0);
    check_fit_size(smallest, cfg, &format!("with {folds} folds, a fold's other folds hold only"))?;
    let k = class_columns(records.labels, n_classes);
    let x = design(&records, k);
    let parts: Vec<Result<Vec<(usize, f64)>, AuditError>> = (0..folds)
        .into_par_iter()
        .map(|f| {
            let eval: Vec<usize> = (0..n).filter(|&i| fold[i] == f).collect();
            let s = fit_and_score(x.view(), records.phi, &fit_sets[f], &eval, cfg)?;
            Ok(eval.into_iter().zip(s).collect())
        })
        .collect();
    let mut scores = vec![0.0; n];
    for part in parts {
        for (i, v) in part? {
            scores[i] = v;
        }
    }
    let largest = fit_sets.iter().map(Vec::len).max().unwrap_or(0);
    let rows = if smallest == largest { smallest.to_string() } else { format!("{smallest}–{largest}") };
    let notes = vec![
        fit_note(&rows, records.x.ncols(), k, records.labels.is_some(), n_classes, cfg),
        Calibration::of(&scores, member).note(cfg.alpha),
    ];
    Ok(AttackScores {
        name: QUANTILE_ATTACK.into(),
        description: description(cfg),
        scores,
        fitting: Some(Fitting {
            method: format!(
                "gradient-boosted quantile regression (pinball loss, level {}) on the non-members of the other \
                 folds, k-fold cross-fitting",
                cfg.level()
            ),
            folds,
            seed,
            notes,
        }),
    })
}

/// The attack's description in reports.
pub fn description(cfg: &QuantileConfig) -> String {
    format!(
        "phi minus the {}-quantile of non-members' phi predicted from the record's features and class (quantile \
         regression, Bertran et al. 2023); score > 0 targets FPR alpha = {}",
        cfg.level(),
        cfg.alpha
    )
}

/// The calibration check at the attack's own threshold, score > 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Calibration {
    pub non_members: usize,
    /// Non-members with score > 0 (false positives).
    pub non_members_above: usize,
    pub members: usize,
    /// Members with score > 0 (true positives).
    pub members_above: usize,
}

impl Calibration {
    /// Counts the records of each class with score > 0.
    pub fn of(scores: &[f64], member: &[bool]) -> Calibration {
        let mut c = Calibration { non_members: 0, non_members_above: 0, members: 0, members_above: 0 };
        for (&s, &m) in scores.iter().zip(member) {
            let above = usize::from(s > 0.0);
            if m {
                c.members += 1;
                c.members_above += above;
            } else {
                c.non_members += 1;
                c.non_members_above += above;
            }
        }
        c
    }

    /// Share of non-members above the threshold (the FPR), 0 without non-members.
    pub fn fpr(&self) -> f64 {
        share(self.non_members_above, self.non_members)
    }

    /// Share of members above the threshold (the TPR), 0 without members.
    pub fn tpr(&self) -> f64 {
        share(self.members_above, self.members)
    }

    /// One line for the report (fixed decimals, so the same counts always read the same).
    pub fn note(&self, alpha: f64) -> String {
        format!(
            "calibration at score > 0 (target FPR alpha = {alpha}): {} of {} non-members above ({:.2} %), {} of {} \
             members above (TPR {:.2} %)",
            self.non_members_above,
            self.non_members,
            100.0 * self.fpr(),
            self.members_above,
            self.members,
            100.0 * self.tpr()
        )
    }
}

/// The paper's own operating points: for each target FPR α of the report's grid (those in
/// (0, 0.5] whose fits have at least max(20, ⌈1/α⌉) records), the attack refitted for the
/// (1 − α) quantile and called "member" at score > 0, with the FPR and TPR that reaches on the
/// scored records and their Clopper–Pearson intervals at `confidence`. `score_at` scores every
/// record with the attack's settings but α; `fit_records` is the fewest records a fit gets.
pub fn operating_points(
    grid: &[f64],
    cfg: &QuantileConfig,
    confidence: f64,
    fit_records: usize,
    member: &[bool],
    score_at: impl Fn(&QuantileConfig) -> Result<Vec<f64>, AuditError>,
) -> Result<Vec<String>, AuditError> {
    let mut notes = Vec::new();
    let pct = |[lo, hi]: [f64; 2]| format!("[{:.2}, {:.2}]", 100.0 * lo, 100.0 * hi);
    for &alpha in grid.iter().filter(|&&a| a > 0.0 && a <= 0.5) {
        let at = QuantileConfig { alpha, ..cfg.clone() };
        if fit_records < at.min_fit_records() {
            notes.push(format!(
                "operating point at target FPR {alpha}: not fitted (a fit needs at least {} records, here {fit_records})",
                at.min_fit_records()
            ));
            continue;
        }
        let c = Calibration::of(&score_at(&at)?, member);
        let ci = |k, n| mia_core::stats::clopper_pearson(k as u64, n as u64, confidence);
        notes.push(format!(
            "operating point at target FPR {alpha} (the {} quantile, score > 0): FPR {:.2} % {}, TPR {:.2} % {} \
             ({} % Clopper–Pearson)",
            at.level(),
            100.0 * c.fpr(),
            pct(ci(c.non_members_above, c.non_members)),
            100.0 * c.tpr(),
            pct(ci(c.members_above, c.members)),
            100.0 * confidence
        ));
    }
    Ok(notes)
}

fn share(k: usize, n: usize) -> f64 {
    if n == 0 { 0.0 } else { k as f64 / n as f64 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    /// A seeded stream of test data (uniform and standard normal draws).
    fn rng(seed: u64) -> mia_models::dp::Gaussian {
        use rand::SeedableRng;
        mia_models::dp::Gaussian::new(rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed))
    }

    /// `n` records: features x0 ∈ [0, 1), x1 ∈ [0, 1) (noise scale), x2 irrelevant; label = x0 > ½;
    /// non-members' φ = 4·x0 + (0.3 + x1)·N(0, 1), members' the same plus `shift`.
    struct Data {
        x: Array2<f32>,
        labels: Vec<usize>,
        phi: Vec<f64>,
        member: Vec<bool>,
    }

    fn data(n: usize, member_share: f64, shift: f64, seed: u64) -> Data {
        let mut rng = rng(seed);
        let mut x = Array2::<f32>::zeros((n, 3));
        let (mut labels, mut phi, mut member) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..n {
            let row = [rng.uniform() as f32, rng.uniform() as f32, rng.uniform() as f32];
            for (j, v) in row.iter().enumerate() {
                x[[i, j]] = *v;
            }
            let m = rng.uniform() < member_share;
            let (x0, x1) = (f64::from(row[0]), f64::from(row[1]));
            phi.push(4.0 * x0 + (0.3 + x1) * rng.sample() + if m { shift } else { 0.0 });
            labels.push(usize::from(x0 > 0.5));
            member.push(m);
        }
        Data { x, labels, phi, member }
    }

    impl Data {
        fn records(&self) -> QuantileRecords<'_> {
            QuantileRecords { x: self.x.view(), labels: Some(&self.labels), phi: &self.phi }
        }
    }

    /// Mann–Whitney AUC, ties counted half.
    fn auc(scores: &[f64], member: &[bool]) -> f64 {
        let pick = |m: bool| -> Vec<f64> { scores.iter().zip(member).filter(|p| *p.1 == m).map(|p| *p.0).collect() };
        let (pos, neg) = (pick(true), pick(false));
        let mut wins = 0.0;
        for p in &pos {
            for q in &neg {
                wins += if p > q {
                    1.0
                } else if p == q {
                    0.5
                } else {
                    0.0
                };
            }
        }
        wins / (pos.len() * neg.len()) as f64
    }

    fn small() -> QuantileConfig {
        QuantileConfig { alpha: 0.1, max_iter: 40, ..QuantileConfig::default() }
    }

    /// φ depends on x0: calibrating each record to non-members like it separates members (φ
    /// shifted up by 0.6) far better than φ itself, the loss attack's ranking.
    #[test]
    fn beats_the_plain_signal_when_phi_depends_on_the_features() {
        let d = data(3000, 0.5, 1.0, 1);
        let a = cross_fitted_quantile_attack(d.records(), &d.member, 2, 5, 0, &small()).unwrap();
        assert_eq!(a.name, "quantile");
        let (ours, plain) = (auc(&a.scores, &d.member), auc(&d.phi, &d.member));
        assert!(ours > plain + 0.08, "quantile AUC {ours} vs phi AUC {plain}");
        let fit = a.fitting.as_ref().unwrap();
        assert_eq!((fit.folds, fit.seed), (5, 0));
        assert!(fit.notes[1].starts_with("calibration at score > 0 (target FPR alpha = 0.1): "), "{}", fit.notes[1]);
        assert!(a.description.contains("alpha = 0.1"));
    }

    /// On fresh non-members, the share above the regressor's (1 − α) quantile is about α. A
    /// smaller fit set overfits a little (fresh records exceed q̂ somewhat more often than α), and
    /// the cross-fitted attack's own calibration check reports what fresh records would show.
    #[test]
    fn score_above_zero_has_false_positive_rate_about_alpha() {
        let fit = data(6000, 0.0, 0.0, 2);
        let fresh = data(6000, 0.0, 0.0, 3);
        let cfg = small();
        let (scores, notes) = quantile_attack(fit.records(), fresh.records(), 2, &cfg).unwrap();
        let c = Calibration::of(&scores, &fresh.member);
        assert_eq!((c.non_members, c.members, c.tpr()), (6000, 0, 0.0));
        assert!((c.fpr() - 0.1).abs() < 0.02, "FPR at score > 0: {}", c.fpr());
        assert!(notes[0].contains("2 one-hot class columns") && notes[0].contains("fitted on 6000 non-members"));

        // 6,000 records, about 3,000 non-members: each fold's regressor sees about 2,400.
        let d = data(6000, 0.5, 1.0, 4);
        let a = cross_fitted_quantile_attack(d.records(), &d.member, 2, 5, 7, &cfg).unwrap();
        let c = Calibration::of(&a.scores, &d.member);
        assert_eq!(a.fitting.unwrap().notes[1], c.note(0.1));
        let (scores, _) = quantile_attack(data(2400, 0.0, 0.0, 5).records(), fresh.records(), 2, &cfg).unwrap();
        let fresh_fpr = Calibration::of(&scores, &fresh.member).fpr();
        assert!((c.fpr() - fresh_fpr).abs() < 0.02, "cross-fitted FPR {} vs fresh records' {fresh_fpr}", c.fpr());
        assert!((c.fpr() - 0.1).abs() < 0.05, "cross-fitted FPR at score > 0: {}", c.fpr());
        assert!(c.tpr() > 0.3, "members above: {}", c.tpr());
    }

    /// Each fold's scores are exactly those of a regressor fitted on the non-members outside the
    /// fold (the population case with that fit set), so a record never meets a regressor that saw it.
    #[test]
    fn cross_fitting_fits_on_the_other_folds_non_members_only() {
        let d = data(900, 0.5, 0.5, 5);
        let cfg = QuantileConfig { max_iter: 15, ..small() };
        let a = cross_fitted_quantile_attack(d.records(), &d.member, 2, 3, 11, &cfg).unwrap();
        let fold = stratified_folds(&d.member, 3, 11);
        for f in 0..3 {
            let pick = |rows: &[usize]| {
                let labels: Vec<usize> = rows.iter().map(|&i| d.labels[i]).collect();
                let phi: Vec<f64> = rows.iter().map(|&i| d.phi[i]).collect();
                (d.x.select(Axis(0), rows), labels, phi)
            };
            let fit_rows: Vec<usize> = (0..900).filter(|&i| fold[i] != f && !d.member[i]).collect();
            let eval_rows: Vec<usize> = (0..900).filter(|&i| fold[i] == f).collect();
            let (fx, fl, fp) = pick(&fit_rows);
            let (ex, el, ep) = pick(&eval_rows);
            let (s, _) = quantile_attack(
                QuantileRecords { x: fx.view(), labels: Some(&fl), phi: &fp },
                QuantileRecords { x: ex.view(), labels: Some(&el), phi: &ep },
                2,
                &cfg,
            )
            .unwrap();
            let got: Vec<f64> = eval_rows.iter().map(|&i| a.scores[i]).collect();
            assert_eq!(got, s, "fold {f}");
        }
    }

    /// A regressor able to memorise (one row a leaf, unique features, φ pure noise) scores the
    /// records it was fitted on at about 0; the cross-fitted attack's non-members are not: their
    /// scores spread as fresh records' do.
    #[test]
    fn a_leak_would_show_and_cross_fitting_has_none() {
        // 200 non-members: each value of the one feature gets a bin of its own (at most 255).
        let n = 300;
        let mut rng = rng(9);
        let x = Array2::from_shape_fn((n, 1), |(i, _)| i as f32);
        let phi: Vec<f64> = (0..n).map(|_| rng.sample()).collect();
        let member: Vec<bool> = (0..n).map(|i| i % 3 == 0).collect();
        let records = QuantileRecords { x: x.view(), labels: None, phi: &phi };
        let cfg =
            QuantileConfig { alpha: 0.5, max_iter: 200, learning_rate: 1.0, max_leaf_nodes: 255, min_samples_leaf: 1 };
        let median_abs = |s: &[f64], rows: &[usize]| {
            let mut v: Vec<f64> = rows.iter().map(|&i| s[i].abs()).collect();
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let non: Vec<usize> = (0..n).filter(|&i| !member[i]).collect();
        // Control: fitted on every non-member, then scoring them, the regressor reproduces φ.
        let (seen, _) = quantile_attack(records, records, 0, &cfg).unwrap();
        assert!(median_abs(&seen, &non) < 1e-6, "memorised: {}", median_abs(&seen, &non));
        let a = cross_fitted_quantile_attack(records, &member, 0, 5, 3, &cfg).unwrap();
        assert!(median_abs(&a.scores, &non) > 0.3, "cross-fitted: {}", median_abs(&a.scores, &non));
        assert!(a.fitting.unwrap().notes[0].contains("no class columns (the input has no labels)"));
    }

    #[test]
    fn bad_inputs_are_one_line_errors() {
        let d = data(400, 0.5, 0.5, 6);
        let err = |r: Result<AttackScores, AuditError>| r.unwrap_err().to_string();
        let run = |cfg: &QuantileConfig| cross_fitted_quantile_attack(d.records(), &d.member, 2, 5, 0, cfg);
        for alpha in [0.0, 0.6, f64::NAN, -0.1] {
            let e = err(run(&QuantileConfig { alpha, ..small() }));
            assert!(e.contains("alpha (the target false-positive rate) must be in (0, 0.5]"), "{e}");
        }
        assert!(err(run(&QuantileConfig { max_leaf_nodes: 1, ..small() })).contains("max_leaf_nodes"));
        // α = 0.01 needs 100 non-members per fit; 200 records hold about 100, 4/5 of them per fit.
        let d200 = data(200, 0.5, 0.5, 6);
        let e = err(cross_fitted_quantile_attack(
            d200.records(),
            &d200.member,
            2,
            5,
            0,
            &QuantileConfig { alpha: 0.01, ..small() },
        ));
        assert!(e.contains("a fold's other folds hold only") && e.contains("needs at least 100"), "{e}");
        let mut phi = d.phi.clone();
        phi[7] = f64::INFINITY;
        let r = QuantileRecords { phi: &phi, ..d.records() };
        let e = err(cross_fitted_quantile_attack(r, &d.member, 2, 5, 0, &small()));
        assert!(e.contains("record 8: φ = inf is not finite"), "{e}");
        let e = err(cross_fitted_quantile_attack(d.records(), &d.member, 1, 5, 0, &small()));
        assert!(e.contains("label 1 is not below the class count 1"), "{e}");
        let e = err(cross_fitted_quantile_attack(d.records(), &d.member[1..], 2, 5, 0, &small()));
        assert!(e.contains("399 membership values for 400 records"), "{e}");
        let e = err(cross_fitted_quantile_attack(d.records(), &d.member, 2, 1, 0, &small()));
        assert!(e.contains("1 folds for 400 records"), "{e}");

        let few = data(15, 0.0, 0.0, 8);
        let e = quantile_attack(few.records(), d.records(), 2, &QuantileConfig { alpha: 0.5, ..small() }).unwrap_err();
        assert!(e.to_string().contains("got 15 non-members") && e.to_string().contains("at least 20"), "{e}");
        let no_labels = QuantileRecords { labels: None, ..d.records() };
        let e = quantile_attack(d.records(), no_labels, 2, &small()).unwrap_err();
        assert!(e.to_string().contains("for both the fit and evaluated records, or neither"), "{e}");
    }

    #[test]
    fn config_reads_with_defaults_and_refuses_unknown_keys() {
        let c: QuantileConfig = toml::from_str("alpha = 0.05").unwrap();
        assert_eq!(c, QuantileConfig { alpha: 0.05, ..QuantileConfig::default() });
        assert!(toml::from_str::<QuantileConfig>("alpah = 0.05").is_err());
        assert_eq!(QuantileConfig::default().min_fit_records(), 100);
        assert_eq!(QuantileConfig { alpha: 0.3, ..small() }.min_fit_records(), 20);
        assert_eq!(QuantileConfig { alpha: 0.001, ..small() }.min_fit_records(), 1000);
    }
}
