//! The experiment plan of a model audit, drawn from the run seed: which table rows are
//! audited, which are held out as a population, which the target trains on, and the keep
//! mask that says which audit records each reference model trains on ([`splits`]).
//!
//! 1. optionally a seeded subsample of the table (`plan.max_rows`);
//! 2. a held-out **population** (`plan.population_fraction` of the rows, only when an attack
//!    reads one: [`AuditConfig::population_fraction`]) that no model ever trains on: RMIA's
//!    z samples and Attack-P's reference distribution;
//! 3. the **audit records** (the rest), of which the target trains on a seeded random
//!    `plan.target_fraction` (or on the rows the data's member column flags);
//! 4. K **reference models**, each trained on the audit records its row of the K × N keep
//!    mask selects (every record IN for exactly K/2 models, as in Carlini et al. 2022).

pub mod splits;

use crate::AuditError;
use crate::config::{AuditConfig, PlanConfig, TargetMode};
use mia_data::tabular::Table;
use ndarray::Array2;
use splits::{coin_flips, keep_mask, random_subset, rows_where, streams};

/// The drawn plan, in table-row indices.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Rows whose membership the attacks guess (N).
    pub audit: Vec<usize>,
    /// Rows no model trains on (P).
    pub population: Vec<usize>,
    /// Per audit record: the membership the attacks are scored against.
    pub target_member: Vec<bool>,
    /// Per audit record: does the target train on it (equal to `target_member` except in
    /// a null check).
    pub target_trained: Vec<bool>,
    /// K × N: does reference model k train on audit record n.
    pub keep: Array2<bool>,
}

impl Plan {
    /// Table rows model `m` trains on (0 = target).
    pub fn training_rows(&self, m: usize) -> Vec<usize> {
        let flags: Vec<bool> =
            if m == 0 { self.target_trained.clone() } else { self.keep.row(m - 1).iter().copied().collect() };
        rows_where(flags).into_iter().map(|i| self.audit[i]).collect()
    }

    /// The plan as a NumPy `.npz` (0-based table rows `audit_rows`, `population_rows`;
    /// `target_member` per audit record; `keep`, K × N), so the same experiment can be
    /// rebuilt by other tools (the benchmark's scikit-learn pipeline reads it).
    pub fn to_npz(&self) -> Result<Vec<u8>, AuditError> {
        let err = |e: ndarray_npy::WriteNpzError| AuditError::Input(format!("cannot write plan.npz: {e}"));
        let mut npz = ndarray_npy::NpzWriter::new(std::io::Cursor::new(Vec::new()));
        let rows = |r: &[usize]| ndarray::Array1::from_iter(r.iter().map(|&i| i as u64));
        npz.add_array("audit_rows", &rows(&self.audit)).map_err(err)?;
        npz.add_array("population_rows", &rows(&self.population)).map_err(err)?;
        npz.add_array("target_member", &ndarray::Array1::from_vec(self.target_member.clone())).map_err(err)?;
        npz.add_array("target_trained", &ndarray::Array1::from_vec(self.target_trained.clone())).map_err(err)?;
        npz.add_array("keep", &self.keep).map_err(err)?;
        Ok(npz.finish().map_err(err)?.into_inner())
    }
}

/// Most memory the models' outputs may take together: (K + 1) models × table rows × classes
/// × 8 bytes, all held at once for the attacks.
pub const MAX_OUTPUT_BYTES: u64 = 64 << 30;

/// Audit records beyond log2 K that a plan with K reference models needs: a model trains on
/// each record with probability 1/2, so some model draws none of N records with probability
/// at most K · 2^−N, here at most 2^−10.
const SPARE_AUDIT_RECORDS: usize = 10;

/// The fewest rows a plan under `p` can use: a held-out population of at least one row (when
/// `population_fraction`, [`AuditConfig::population_fraction`], is > 0), a target with
/// members and non-members among the audit records, and with K reference models at least
/// ⌈log2 K⌉ + 10 audit records, so that every reference model draws training rows (see
/// [`SPARE_AUDIT_RECORDS`]).
pub fn min_plan_rows(p: &PlanConfig, population_fraction: f64, mode: TargetMode) -> usize {
    let k = p.reference_models;
    let need_audit =
        if k == 0 { 2 } else { (usize::BITS - k.saturating_sub(1).leading_zeros()) as usize + SPARE_AUDIT_RECORDS };
    let fits = |m: usize| {
        let n_pop = ((m as f64 * population_fraction).round() as usize).min(m);
        let n = m - n_pop;
        let n_target = (n as f64 * p.target_fraction).round() as usize;
        let target_ok = match mode {
            TargetMode::MemberColumn => true,
            TargetMode::OneRun => n >= mia_core::one_run::MIN_CANARIES,
            TargetMode::Train | TargetMode::NullCheck => n_target >= 1 && n_target < n,
        };
        n >= need_audit && target_ok && (population_fraction == 0.0 || n_pop >= 1)
    };
    // Fractions are validated to lie in (0, 1) and [0, 1), so some count fits.
    (2..=usize::MAX / 2).find(|&m| fits(m)).unwrap_or(usize::MAX)
}

/// "plan.max_rows = M" when the plan uses a subsample, else the data file and its size: what
/// to raise when a plan has too few rows.
fn rows_source(cfg: &AuditConfig, n_rows: usize) -> String {
    match cfg.plan.max_rows.filter(|&m| m < n_rows) {
        Some(m) => format!("plan.max_rows = {m}"),
        None => format!("{} ({n_rows} rows)", cfg.data.path.display()),
    }
}

/// The outputs of every model on every table row are held together: checked before any work.
fn check_output_memory(p: &PlanConfig, n_rows: usize, classes: usize) -> Result<(), AuditError> {
    let bytes = (p.reference_models as u64 + 1)
        .checked_mul(n_rows as u64)
        .and_then(|b| b.checked_mul(classes as u64 * 8))
        .unwrap_or(u64::MAX);
    if bytes > MAX_OUTPUT_BYTES {
        return Err(AuditError::Input(format!(
            "plan.reference_models = {}: the outputs of {} models on the table's {n_rows} rows × {classes} classes \
             need {:.1} GiB of memory, more than the {} GiB allowed; use fewer reference models",
            p.reference_models,
            p.reference_models + 1,
            bytes as f64 / (1u64 << 30) as f64,
            MAX_OUTPUT_BYTES >> 30
        )));
    }
    Ok(())
}

/// Audit records, population and the target's members (per audit record), drawn from the
/// `used` rows: the target's members at random, or as the data's member column says.
type Drawn = (Vec<usize>, Vec<usize>, Vec<bool>);

fn draw_seeded_target(cfg: &AuditConfig, used: &[usize]) -> Drawn {
    let one_run = cfg.target_mode() == TargetMode::OneRun;
    draw_target(cfg.seed, cfg.plan.target_fraction, cfg.population_fraction(), one_run, used)
}

fn draw_target(seed: u64, target_fraction: f64, population_fraction: f64, one_run: bool, used: &[usize]) -> Drawn {
    let n_pop = (used.len() as f64 * population_fraction).round() as usize;
    let pop_flags = random_subset(used.len(), n_pop, seed, streams::POPULATION);
    let audit: Vec<usize> = used.iter().zip(&pop_flags).filter(|(_, f)| !**f).map(|(r, _)| *r).collect();
    let population: Vec<usize> = used.iter().zip(&pop_flags).filter(|(_, f)| **f).map(|(r, _)| *r).collect();
    let n_target = (audit.len() as f64 * target_fraction).round() as usize;
    let target_member = if one_run {
        coin_flips(audit.len(), seed, streams::TARGET ^ 0x4f4e_4552)
    } else {
        random_subset(audit.len(), n_target, seed, streams::TARGET)
    };
    (audit, population, target_member)
}

fn draw_member_column(cfg: &AuditConfig, table: &Table, used: &[usize]) -> Result<Drawn, AuditError> {
    let member = table.member.as_ref().ok_or_else(|| {
        AuditError::Input("plan.target = \"member_column\" needs a member column: set `member` in [data]".into())
    })?;
    // The population comes from rows the target never trained on.
    let non: Vec<usize> = used.iter().copied().filter(|&r| !member[r]).collect();
    let n_pop = (used.len() as f64 * cfg.population_fraction()).round() as usize;
    if n_pop >= non.len() && n_pop > 0 {
        return Err(AuditError::Input(format!(
            "plan.population_fraction = {} asks for {n_pop} population rows but only {} rows are non-members",
            cfg.population_fraction(),
            non.len()
        )));
    }
    let pop_flags = random_subset(non.len(), n_pop, cfg.seed, streams::POPULATION);
    let mut is_pop = vec![false; table.len()];
    for (r, f) in non.iter().zip(pop_flags) {
        is_pop[*r] = f;
    }
    let audit: Vec<usize> = used.iter().copied().filter(|&r| !is_pop[r]).collect();
    let population: Vec<usize> = used.iter().copied().filter(|&r| is_pop[r]).collect();
    let target_member = audit.iter().map(|&r| member[r]).collect();
    Ok((audit, population, target_member))
}

/// Draws the plan for `table` under `cfg`.
pub fn make_plan(cfg: &AuditConfig, table: &Table) -> Result<Plan, AuditError> {
    let n_rows = table.len();
    let (seed, p) = (cfg.seed, &cfg.plan);
    check_output_memory(p, n_rows, table.classes.len().max(2))?;
    let used: Vec<usize> = match p.max_rows {
        Some(m) if m < n_rows => rows_where(random_subset(n_rows, m, seed, streams::POPULATION ^ 1)),
        _ => (0..n_rows).collect(),
    };
    let drawn = match cfg.target_mode() {
        TargetMode::Train | TargetMode::NullCheck | TargetMode::OneRun => draw_seeded_target(cfg, &used),
        TargetMode::MemberColumn => draw_member_column(cfg, table, &used)?,
    };
    let setup = Setup {
        seed,
        plan: p,
        mode: cfg.target_mode(),
        population_fraction: cfg.population_fraction(),
        source: rows_source(cfg, n_rows),
        used: used.len(),
    };
    finish_plan(drawn, &setup)
}

/// The plan of an audit whose rows live in memory (the Python package's `Auditor`): the
/// draws of [`make_plan`] with a trained target (`plan.target = "train"`) over all `n_rows`
/// rows; `source` names the rows in messages.
pub fn draw_plan(
    n_rows: usize,
    seed: u64,
    p: &PlanConfig,
    population_fraction: f64,
    source: &str,
) -> Result<Plan, AuditError> {
    let used: Vec<usize> = (0..n_rows).collect();
    let drawn = draw_target(seed, p.target_fraction, population_fraction, false, &used);
    let setup = Setup {
        seed,
        plan: p,
        mode: TargetMode::Train,
        population_fraction,
        source: format!("{source} ({n_rows} rows)"),
        used: n_rows,
    };
    finish_plan(drawn, &setup)
}

/// What [`finish_plan`] needs besides the drawn target.
struct Setup<'a> {
    seed: u64,
    plan: &'a PlanConfig,
    mode: TargetMode,
    population_fraction: f64,
    /// Where the rows come from, for messages.
    source: String,
    /// Rows the plan draws from.
    used: usize,
}

/// Checks the drawn target and draws the keep mask.
fn finish_plan((audit, population, target_member): Drawn, s: &Setup<'_>) -> Result<Plan, AuditError> {
    let (seed, p) = (s.seed, s.plan);
    let n_mem = target_member.iter().filter(|&&m| m).count();
    // More rows than now, whatever the draw: the minimum holds with high probability only.
    let min_rows = || min_plan_rows(p, s.population_fraction, s.mode).max(s.used + 1);
    if n_mem == 0 || n_mem == audit.len() {
        return Err(AuditError::Input(format!(
            "{}: too few rows for this plan: the target needs members and non-members among the audit records, got \
             {n_mem} members of {} (the plan needs at least {} rows)",
            s.source,
            audit.len(),
            min_rows()
        )));
    }
    if s.mode == TargetMode::OneRun && audit.len() < mia_core::one_run::MIN_CANARIES {
        return Err(AuditError::Input(format!(
            "{}: plan.target = \"one_run\" needs at least {} audit records (canaries), this plan has {}: fewer \
             cannot bound ε above about 3 even with every guess right",
            s.source,
            mia_core::one_run::MIN_CANARIES,
            audit.len()
        )));
    }
    let target_trained = target_member.clone();
    let target_member = if s.mode == TargetMode::NullCheck {
        random_subset(audit.len(), n_mem, seed, streams::TARGET ^ 0x4e55_4c4c)
    } else {
        target_member
    };
    let keep = if p.reference_models == 0 {
        Array2::from_elem((0, audit.len()), false)
    } else {
        keep_mask(p.reference_models, audit.len(), seed).map_err(AuditError::Input)?
    };
    if let Some(k) = keep.rows().into_iter().position(|r| !r.iter().any(|&f| f)) {
        return Err(AuditError::Input(format!(
            "{}: too few rows for this plan: reference model {} of {} draws none of the {} audit records for \
             training (each record trains half of the models, drawn at random); the plan needs at least {} rows",
            s.source,
            k + 1,
            keep.nrows(),
            audit.len(),
            min_rows()
        )));
    }
    Ok(Plan { audit, population, target_member, target_trained, keep })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mia_data::tabular::{TableOptions, load_table};
    use std::path::Path;

    /// A plan on a real table (Adult's first 300 rows): population, audit records and the
    /// target's members are drawn as configured, disjoint, the same for the same seed and
    /// different for another; every audit record trains half of the reference models.
    #[test]
    fn plans_are_seeded_disjoint_and_balanced() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let cfg = |seed: u64| {
            let text = format!(
                "seed = {seed}\n[data]\npath = \"{}\"\nformat = \"csv\"\nheader = false\nlabel = \"14\"\ncategorical = \"rest\"\n\
                 [learner]\nkind = \"logistic\"\n[plan]\nreference_models = 4\nmax_rows = 300\n",
                root.join("data/adult/adult.data.gz").display()
            );
            AuditConfig::parse(&text, "t.toml").unwrap()
        };
        let table = load_table(&cfg(0).data, &root, &TableOptions::default()).unwrap();
        let plan = make_plan(&cfg(0), &table).unwrap();
        assert_eq!(plan.population.len(), 60, "20 % of 300 rows");
        assert_eq!(plan.audit.len(), 240);
        let mut all: Vec<usize> = plan.audit.iter().chain(&plan.population).copied().collect();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 300, "population and audit records overlap");
        assert_eq!(plan.target_member.iter().filter(|&&m| m).count(), 120, "half the audit records");
        assert_eq!(plan.target_member, plan.target_trained);
        assert_eq!(plan.keep.dim(), (4, 240));
        for column in plan.keep.columns() {
            assert_eq!(column.iter().filter(|&&k| k).count(), 2);
        }
        let again = make_plan(&cfg(0), &table).unwrap();
        assert_eq!((&again.audit, &again.target_member, &again.keep), (&plan.audit, &plan.target_member, &plan.keep));
        let other = make_plan(&cfg(1), &table).unwrap();
        assert_ne!(other.audit, plan.audit);
    }

    /// Model 0 trains on the target's rows, model k on keep row k − 1, as table rows.
    #[test]
    fn training_rows_map_audit_records_to_table_rows() {
        let plan = Plan {
            audit: vec![10, 11, 12, 13],
            population: vec![14],
            target_member: vec![true, false, false, true],
            target_trained: vec![true, true, false, false],
            keep: ndarray::array![[true, false, true, false], [false, true, false, true]],
        };
        assert_eq!(plan.training_rows(0), [10, 11]);
        assert_eq!(plan.training_rows(1), [10, 12]);
        assert_eq!(plan.training_rows(2), [11, 13]);
    }

    #[test]
    fn the_minimum_rows_give_a_population_a_split_target_and_log2_k_plus_10_audit_records() {
        let p = |k: usize| PlanConfig { reference_models: k, ..PlanConfig::default() };
        // K = 16: ⌈log2 16⌉ + 10 = 14 audit records; with 20 % held out, 17 rows (round(3.4) = 3).
        assert_eq!(min_plan_rows(&p(16), 0.2, TargetMode::Train), 17);
        // A target member and non-member, and a population row when one is held out.
        assert_eq!(min_plan_rows(&p(2), 0.0, TargetMode::Train), 11);
        assert_eq!(min_plan_rows(&p(0), 0.2, TargetMode::Train), 3);
        assert_eq!(min_plan_rows(&p(0), 0.0, TargetMode::Train), 2);
        // K = 1024: 20 audit records.
        assert_eq!(min_plan_rows(&p(1024), 0.0, TargetMode::Train), 20);
        // At the minimum, a drawn keep mask gives every model rows (with probability ≥ 1 − 2^−10).
        let k = 16;
        let n = 14;
        for seed in 0..20 {
            let keep = keep_mask(k, n, seed).unwrap();
            assert!(keep.rows().into_iter().all(|r| r.iter().any(|&f| f)), "seed {seed}");
        }
    }

    /// The in-memory plan (the Python package's `Auditor`) is the plan `mia audit` draws
    /// for a table of the same size, seed and plan settings.
    #[test]
    fn in_memory_plan_is_the_config_plan() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let text = format!(
            "seed = 3\n[data]\npath = \"{}\"\nformat = \"csv\"\nheader = false\nlabel = \"64\"\nnumeric = \"rest\"\n\
             [learner]\nkind = \"logistic\"\n[plan]\nreference_models = 6\ntarget_fraction = 0.4\n",
            root.join("data/digits/digits.csv.gz").display()
        );
        let cfg = AuditConfig::parse(&text, "t.toml").unwrap();
        let table = load_table(&cfg.data, &root, &TableOptions::default()).unwrap();
        let from_config = make_plan(&cfg, &table).unwrap();
        let in_memory = draw_plan(table.len(), 3, &cfg.plan, cfg.population_fraction(), "X").unwrap();
        assert_eq!(in_memory.audit, from_config.audit);
        assert_eq!(in_memory.population, from_config.population);
        assert_eq!(in_memory.target_member, from_config.target_member);
        assert_eq!(in_memory.keep, from_config.keep);
        assert!(!in_memory.population.is_empty() && in_memory.keep.nrows() == 6);
        let e = draw_plan(5, 3, &cfg.plan, 0.2, "X").unwrap_err().to_string();
        assert!(e.starts_with("X (5 rows): too few rows for this plan"), "{e}");
    }
}
