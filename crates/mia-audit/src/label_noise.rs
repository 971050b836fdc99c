//! The label-only attacks of a model audit (`[target] output = "label"`): the target is seen
//! only through the class it predicts, as a deployed model that answers with a label.
//!
//! Choquette-Choo, Tramèr, Carlini & Papernot, "Label-Only Membership Inference Attacks"
//! (ICML 2021):
//!
//! * `correctness` (the gap attack): 1 when the target predicts the record's true class, else
//!   0. A model right more often on its training records than on others leaks through it.
//! * `label_noise` (robustness to noise): the share of `copies` noisy copies of the record for
//!   which the target still predicts the record's true class. A training record sits deeper
//!   inside its class's region, so noise moves its prediction less.
//!
//! # The noise
//!
//! Applied to the encoded features every model sees, per table column: a numeric column with
//! more than two distinct values on the population records gets Gaussian noise of standard
//! deviation `level · s` (`s` the column's standard deviation on the population records); a
//! numeric column with two distinct values (a 0/1 flag) is flipped to its other value with
//! probability `level / 2`, as is a categorical column's category (to one of its other
//! categories, uniformly). The noise level is chosen on the population records, which no model
//! trained on: every level of `[attacks.label_noise] levels` is tried on them, and the one at
//! which the target keeps the true class for the share of their copies nearest ½ is used for
//! the audited records (strong enough to move unseen records, not so strong that it moves every
//! record; ties go to the smaller level). No audited record's answers enter the choice.
//!
//! # Cost
//!
//! `levels × (audited + population records) × copies` queries to the target (30 copies and 5
//! levels by default: 150 queries per record), plus one per table row for `correctness`. For a
//! target behind an endpoint they are batched and cached like any other query.
//!
//! Copy `c` of record `r` at level `l` depends only on the seed and (`l`, `r`, `c`), so the
//! queries, and the report, do not depend on how they are chunked or on the thread count.

use crate::AuditError;
use mia_core::bootstrap::mix_seed;
use mia_data::tabular::{Encoding, FeatureEncoding};
use mia_models::dp::Gaussian;
use ndarray::{Array2, ArrayView2};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

/// The attacks a label-only target runs.
pub const LABEL_ONLY_ATTACKS: &[&str] = &["correctness", "label_noise"];

/// Stream offset of the noise seeds.
const NOISE_STREAM: u64 = 0x4c41_4245_4c00_0000;

/// `[attacks.label_noise]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LabelNoiseConfig {
    /// Noisy copies per record and level.
    pub copies: usize,
    /// Noise levels tried on the population (increasing).
    pub levels: Vec<f64>,
}

impl Default for LabelNoiseConfig {
    fn default() -> Self {
        LabelNoiseConfig { copies: 30, levels: vec![0.05, 0.1, 0.2, 0.4, 0.8] }
    }
}

impl LabelNoiseConfig {
    pub fn is_default(&self) -> bool {
        *self == LabelNoiseConfig::default()
    }

    pub fn check(&self) -> Result<(), String> {
        if !(1..=1000).contains(&self.copies) {
            return Err(format!("copies = {}: expected 1 to 1000", self.copies));
        }
        let ok = !self.levels.is_empty()
            && self.levels.iter().all(|l| l.is_finite() && *l > 0.0 && *l <= 2.0)
            && self.levels.windows(2).all(|w| w[0] < w[1]);
        if !ok {
            return Err(format!("levels = {:?}: expected increasing numbers in (0, 2]", self.levels));
        }
        Ok(())
    }
}

/// How one table column is disturbed.
#[derive(Debug, Clone, PartialEq)]
enum ColumnNoise {
    /// Encoded column `at`: Gaussian noise of standard deviation `level · sd`.
    Gaussian { at: usize, sd: f64 },
    /// Encoded column `at`: swapped between its two values with probability `level / 2`.
    Flip { at: usize, a: f32, b: f32 },
    /// Encoded columns `at..at + width` (one-hot): moved to another category with probability
    /// `level / 2`.
    Category { at: usize, width: usize },
}

/// The noisy copies of a set of records: what to query the target with.
#[derive(Debug, Clone)]
pub struct NoisyCopies {
    columns: Vec<ColumnNoise>,
    /// Table rows whose copies are made: the audited records, then the population.
    pub rows: Vec<usize>,
    pub audited: usize,
    pub config: LabelNoiseConfig,
    seed: u64,
}

impl NoisyCopies {
    /// The noise for `encoding`'s columns, scaled on the `population` rows of `x`; copies are
    /// made of `audit` then `population`.
    pub fn new(
        x: ArrayView2<'_, f32>,
        encoding: &Encoding,
        audit: &[usize],
        population: &[usize],
        config: &LabelNoiseConfig,
        seed: u64,
    ) -> Result<NoisyCopies, AuditError> {
        if population.len() < 2 {
            return Err(AuditError::Input(format!(
                "label_noise: {} population records; the noise is scaled and its level chosen on them (raise \
                 plan.population_fraction)",
                population.len()
            )));
        }
        let mut columns = Vec::new();
        let mut at = 0;
        for f in &encoding.features {
            match f {
                FeatureEncoding::Numeric { .. } => {
                    let values: Vec<f32> = population.iter().map(|&r| x[[r, at]]).collect();
                    let mut distinct: Vec<f32> = values.clone();
                    distinct.sort_by(f32::total_cmp);
                    distinct.dedup();
                    match distinct.as_slice() {
                        [] | [_] => {}
                        [a, b] => columns.push(ColumnNoise::Flip { at, a: *a, b: *b }),
                        _ => {
                            let n = values.len() as f64;
                            let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
                            let var = values.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / n;
                            columns.push(ColumnNoise::Gaussian { at, sd: var.sqrt() });
                        }
                    }
                }
                FeatureEncoding::Categorical { categories, .. } if categories.len() >= 2 => {
                    columns.push(ColumnNoise::Category { at, width: categories.len() });
                }
                FeatureEncoding::Categorical { .. } => {}
            }
            at += f.width();
        }
        let rows = audit.iter().chain(population).copied().collect();
        Ok(NoisyCopies { columns, rows, audited: audit.len(), config: config.clone(), seed })
    }

    /// Queries in all: levels × records × copies.
    pub fn queries(&self) -> usize {
        self.config.levels.len() * self.rows.len() * self.config.copies
    }

    /// The copies of records `records` (indices into [`NoisyCopies::rows`]) at level `level`
    /// (an index into the levels), record by record, `copies` rows each.
    pub fn copies(&self, x: ArrayView2<'_, f32>, level: usize, records: std::ops::Range<usize>) -> Array2<f32> {
        let (k, l) = (self.config.copies, self.config.levels[level]);
        let mut out = Array2::zeros((records.len() * k, x.ncols()));
        for (i, r) in records.enumerate() {
            let stream = NOISE_STREAM.wrapping_add((level * self.rows.len() + r) as u64);
            let mut g = Gaussian::new(Xoshiro256PlusPlus::seed_from_u64(mix_seed(self.seed, stream)));
            let source = x.row(self.rows[r]);
            for c in 0..k {
                let mut row = out.row_mut(i * k + c);
                row.assign(&source);
                for col in &self.columns {
                    match *col {
                        ColumnNoise::Gaussian { at, sd } => {
                            row[at] = (f64::from(row[at]) + l * sd * g.sample()) as f32;
                        }
                        ColumnNoise::Flip { at, a, b } => {
                            if g.uniform() < l / 2.0 {
                                row[at] = if row[at] == a { b } else { a };
                            }
                        }
                        ColumnNoise::Category { at, width } => {
                            if g.uniform() < l / 2.0 {
                                let current = (at..at + width).find(|&j| row[j] != 0.0);
                                // Uniform over the other categories (all of them for an unseen one).
                                let others = width - usize::from(current.is_some());
                                let mut pick = at + ((g.uniform() * others as f64) as usize).min(others - 1);
                                if current.is_some_and(|cur| pick >= cur) {
                                    pick += 1;
                                }
                                (at..at + width).for_each(|j| row[j] = 0.0);
                                row[pick] = 1.0;
                            }
                        }
                    }
                }
            }
        }
        out
    }
}

/// The share of each record's copies that kept its true class, per level: `levels × records`,
/// from the predicted classes of every copy (`predicted[level][record · copies + c]`).
pub fn keep_rates(predicted: &Array2<f64>, labels: &[usize], copies: usize) -> Array2<f64> {
    let (levels, records) = (predicted.nrows(), labels.len());
    Array2::from_shape_fn((levels, records), |(l, r)| {
        let kept = (0..copies).filter(|&c| predicted[[l, r * copies + c]] as usize == labels[r]).count();
        kept as f64 / copies as f64
    })
}

/// Each level's mean keep rate over the population records (`rates` columns `audited..`).
pub fn population_keep_rates(rates: &Array2<f64>, audited: usize) -> Vec<f64> {
    rates
        .rows()
        .into_iter()
        .map(|row| {
            let pop = &row.as_slice().expect("row-major")[audited..];
            pop.iter().sum::<f64>() / pop.len() as f64
        })
        .collect()
}

/// The level whose population mean keep rate (`means`, [`population_keep_rates`]) is nearest
/// ½; ties go to the smaller level.
pub fn choose_level(means: &[f64]) -> usize {
    let mut best = 0;
    for (l, &m) in means.iter().enumerate() {
        if (m - 0.5).abs() < (means[best] - 0.5).abs() {
            best = l;
        }
    }
    best
}

/// The class each row of `outputs` predicts: the first largest.
pub fn predicted(outputs: ArrayView2<'_, f64>) -> Vec<usize> {
    outputs.rows().into_iter().map(mia_core::signals::first_argmax).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use mia_data::tabular::ENCODING_VERSION;

    fn encoding() -> Encoding {
        let num = |c: &str| FeatureEncoding::Numeric { column: c.into(), mean: 0.0, scale: 1.0, standardize: false };
        Encoding {
            version: ENCODING_VERSION,
            features: vec![
                num("age"),
                num("flag"),
                FeatureEncoding::Categorical {
                    column: "color".into(),
                    categories: vec!["a".into(), "b".into(), "c".into()],
                },
                num("constant"),
            ],
        }
    }

    /// 400 rows: age ~ spread, flag 0/1, color one-hot, a constant column.
    fn table() -> Array2<f32> {
        Array2::from_shape_fn((400, 6), |(i, j)| match j {
            0 => (i % 37) as f32,
            1 => (i % 2) as f32,
            2..=4 => f32::from(u8::from(i % 3 == j - 2)),
            _ => 7.0,
        })
    }

    #[test]
    fn copies_follow_each_columns_kind_and_level() {
        let x = table();
        let audit: Vec<usize> = (0..100).collect();
        let pop: Vec<usize> = (100..400).collect();
        let cfg = LabelNoiseConfig { copies: 200, levels: vec![0.1, 0.8] };
        let n = NoisyCopies::new(x.view(), &encoding(), &audit, &pop, &cfg, 5).unwrap();
        assert_eq!(n.queries(), 2 * 400 * 200);
        let sd = {
            let v: Vec<f64> = pop.iter().map(|&r| f64::from(x[[r, 0]])).collect();
            let m = v.iter().sum::<f64>() / v.len() as f64;
            (v.iter().map(|a| (a - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt()
        };
        for (level, l) in [(0, 0.1), (1, 0.8)] {
            let c = n.copies(x.view(), level, 3..4);
            let src = x.row(3);
            // Age: Gaussian noise of sd l·s.
            let d: Vec<f64> = c.column(0).iter().map(|&v| f64::from(v) - f64::from(src[0])).collect();
            let sample_sd = (d.iter().map(|v| v * v).sum::<f64>() / d.len() as f64).sqrt();
            assert!((sample_sd / (l * sd) - 1.0).abs() < 0.15, "level {l}: {sample_sd} vs {}", l * sd);
            // Flag flipped with probability l/2; color moved with probability l/2, always one-hot.
            let flips = c.column(1).iter().filter(|&&v| v != src[1]).count() as f64 / 200.0;
            assert!((flips - l / 2.0).abs() < 0.08, "level {l}: flips {flips}");
            for row in c.rows() {
                assert_eq!(row.slice(ndarray::s![2..5]).sum(), 1.0);
                assert_eq!(row[5], 7.0, "a constant column is left alone");
            }
            // Record 3 is of color "a" (3 % 3 == 0): encoded column 2.
            let moved = c.rows().into_iter().filter(|r| r[2] != 1.0).count() as f64 / 200.0;
            assert!((moved - l / 2.0).abs() < 0.08, "level {l}: moved {moved}");
        }
    }

    /// A copy depends on the seed, the level and the record only, not on the chunk it is made in.
    #[test]
    fn copies_do_not_depend_on_chunking() {
        let x = table();
        let audit: Vec<usize> = (0..50).collect();
        let pop: Vec<usize> = (50..400).collect();
        let cfg = LabelNoiseConfig { copies: 4, levels: vec![0.2] };
        let n = NoisyCopies::new(x.view(), &encoding(), &audit, &pop, &cfg, 9).unwrap();
        let all = n.copies(x.view(), 0, 0..400);
        let part = n.copies(x.view(), 0, 120..130);
        assert_eq!(all.slice(ndarray::s![120 * 4..130 * 4, ..]), part);
        let other = NoisyCopies::new(x.view(), &encoding(), &audit, &pop, &cfg, 10).unwrap();
        assert_ne!(other.copies(x.view(), 0, 120..130), part, "another seed, other copies");
    }

    #[test]
    fn keep_rates_and_the_level_nearest_one_half() {
        // Two levels, three records (one audited), two copies each.
        let predicted = ndarray::array![[1.0, 1.0, 0.0, 0.0, 2.0, 0.0], [1.0, 0.0, 0.0, 0.0, 0.0, 0.0]];
        let rates = keep_rates(&predicted, &[1, 0, 2], 2);
        assert_eq!(rates, ndarray::array![[1.0, 1.0, 0.5], [0.5, 1.0, 0.0]]);
        // Population (records 1, 2): level 0 mean 0.75, level 1 mean 0.5.
        let means = population_keep_rates(&rates, 1);
        assert_eq!(means, [0.75, 0.5]);
        assert_eq!(choose_level(&means), 1);
        assert_eq!(predicted_of(&[[0.1, 0.3, 0.3], [2.0, -1.0, 0.0]]), [1, 0], "the first largest");
    }

    fn predicted_of(rows: &[[f64; 3]]) -> Vec<usize> {
        let a = Array2::from_shape_fn((rows.len(), 3), |(i, j)| rows[i][j]);
        predicted(a.view())
    }

    #[test]
    fn settings_are_checked() {
        assert!(LabelNoiseConfig::default().check().is_ok());
        let bad = [
            LabelNoiseConfig { copies: 0, ..Default::default() },
            LabelNoiseConfig { levels: vec![], ..Default::default() },
            LabelNoiseConfig { levels: vec![0.2, 0.1], ..Default::default() },
            LabelNoiseConfig { levels: vec![0.0], ..Default::default() },
        ];
        for c in bad {
            assert!(c.check().is_err(), "{c:?}");
        }
        let x = table();
        let e = NoisyCopies::new(x.view(), &encoding(), &[0, 1], &[2], &LabelNoiseConfig::default(), 0).unwrap_err();
        assert!(e.to_string().contains("1 population records"), "{e}");
    }
}
