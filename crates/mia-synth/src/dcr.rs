//! Distance to closest record (DCR), the nearest-neighbour distance ratio and the distance
//! attacks on a synthetic table.
//!
//! A generator that memorises its training records (the *members*) releases synthetic rows
//! unusually close to them. The measures here use the mixed-type [`Distance`] and the exact
//! engine in [`crate::nn`]:
//!
//! * **DCR** of a record: its distance to the nearest row of a table (Park et al., VLDB 2018;
//!   SDMetrics' `DCRBaselineProtection`/`DCROverfittingProtection` use the same idea with an
//!   L1 distance).
//! * **NNDR**: nearest over second-nearest distance (Lowe's ratio test, as used for synthetic
//!   data by Zhao et al., "CTAB-GAN", 2021). `0/0` (two exact copies) is 0, the limit of the
//!   usual `d₁ / (d₂ + ε)`.
//! * **Attacks**, one score per real record, higher = more likely member:
//!   `dcr` is `−DCR(record → synthetic)`; `dcr_calibrated` is
//!   `ln(DCR(record → reference) + δ) − ln(DCR(record → synthetic) + δ)`, where the reference
//!   is a sample of non-member real records that is not itself scored: a record that is close
//!   to the synthetic data only because it lies in a dense region is also close to the
//!   reference, so the ratio removes that (the calibration idea of Watson et al., ICLR 2022,
//!   applied to distances). The guard `δ > 0` ([`DEFAULT_ZERO_GUARD`]) keeps an exact copy
//!   finite: it scores `ln(d_ref + δ) − ln δ`, the largest score its `d_ref` allows.
//! * **Closeness share**: the share of synthetic rows whose nearest real record is a member
//!   rather than a holdout record (Platzer & Reutterer, Front. Big Data 2021). When the two
//!   sets differ in size the larger is subsampled (seeded) to the size of the smaller, so 0.5
//!   means "no preference" (by exchangeability of members and holdout records); ties (equal
//!   distance to both) are counted and left out of the share, whose Clopper–Pearson interval
//!   is that of a binomial proportion over the untied rows.
//! * **Summary** for a report: DCR quantiles of members → synthetic, holdout → synthetic and
//!   synthetic → members, exact-copy counts and the closeness share ([`DcrSummary`]).

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use crate::distance::Distance;
use crate::mixed::MixedTable;
use crate::nn::{KnnOptions, Neighbours, NnError, knn};

/// Default `δ` of `dcr_calibrated`, in units of the distance (one categorical mismatch with
/// weight 1, or a full numeric range, is 1): far below any jitter a generator adds.
pub const DEFAULT_ZERO_GUARD: f64 = 1e-6;

/// Quantile levels reported in [`DcrSummary`].
pub const SUMMARY_QUANTILES: [f64; 9] = [0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0];

/// Why a distance measure cannot be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DcrError {
    #[error(transparent)]
    Nn(#[from] NnError),
    /// The zero guard δ is not a positive finite number.
    #[error("the zero-distance guard must be a finite number > 0, got {0}")]
    BadGuard(f64),
    /// The confidence level is not in (0, 1).
    #[error("confidence must be in (0, 1), got {0}")]
    BadConfidence(f64),
    /// Two per-record vectors differ in length.
    #[error("{what}: {left} vs {right} records")]
    Lengths { what: &'static str, left: usize, right: usize },
}

/// DCR of every `query` record to `table` (exact; see [`crate::nn`]).
pub fn dcr(dist: &Distance, query: &MixedTable, table: &MixedTable) -> Result<Vec<f64>, DcrError> {
    Ok(knn(dist, query, table, &KnnOptions::k(1))?.nearest())
}

/// DCR of every record of `table` to the other records of `table` (leave-one-out).
pub fn dcr_within(dist: &Distance, table: &MixedTable) -> Result<Vec<f64>, DcrError> {
    let opts = KnnOptions { k: 1, exclude_self: true, ..KnnOptions::default() };
    Ok(knn(dist, table, table, &opts)?.nearest())
}

/// The two nearest neighbours of every `query` record in `table`.
pub fn nearest_two(dist: &Distance, query: &MixedTable, table: &MixedTable) -> Result<Neighbours, DcrError> {
    Ok(knn(dist, query, table, &KnnOptions::k(2))?)
}

/// NNDR from neighbours with k ≥ 2: `d₁ / d₂`, 0 when both are 0.
pub fn nndr_of(neighbours: &Neighbours) -> Vec<f64> {
    neighbours
        .distances
        .rows()
        .into_iter()
        .map(|r| match (r.first(), r.get(1)) {
            (Some(&d1), Some(&d2)) if d2 > 0.0 => d1 / d2,
            _ => 0.0,
        })
        .collect()
}

/// NNDR of every `query` record with respect to `table` (needs ≥ 2 rows in `table`).
pub fn nndr(dist: &Distance, query: &MixedTable, table: &MixedTable) -> Result<Vec<f64>, DcrError> {
    Ok(nndr_of(&nearest_two(dist, query, table)?))
}

/// The `dcr` attack from precomputed distances: `−DCR(record → synthetic)`.
pub fn attack_dcr(dcr_synthetic: &[f64]) -> Vec<f64> {
    dcr_synthetic.iter().map(|&d| -d).collect()
}

/// The `dcr_calibrated` attack from precomputed distances:
/// `ln(d_ref + δ) − ln(d_syn + δ)`.
pub fn attack_dcr_calibrated(dcr_synthetic: &[f64], dcr_reference: &[f64], guard: f64) -> Result<Vec<f64>, DcrError> {
    if !(guard.is_finite() && guard > 0.0) {
        return Err(DcrError::BadGuard(guard));
    }
    if dcr_synthetic.len() != dcr_reference.len() {
        return Err(DcrError::Lengths {
            what: "DCR to synthetic and to reference",
            left: dcr_synthetic.len(),
            right: dcr_reference.len(),
        });
    }
    Ok(dcr_synthetic.iter().zip(dcr_reference).map(|(&s, &r)| (r + guard).ln() - (s + guard).ln()).collect())
}

/// Scores of the distance attacks for the scored records, in their order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DistanceAttackScores {
    /// `−DCR(record → synthetic)`.
    pub dcr: Vec<f64>,
    /// `ln(DCR(record → reference) + δ) − ln(DCR(record → synthetic) + δ)`.
    pub dcr_calibrated: Vec<f64>,
    /// The DCRs the scores came from.
    pub dcr_synthetic: Vec<f64>,
    pub dcr_reference: Vec<f64>,
}

/// Runs both distance attacks: `scored` are the real records to score (members and holdout),
/// `reference` non-member real records that are not scored, `guard` the δ of
/// `dcr_calibrated`.
pub fn distance_attacks(
    dist: &Distance,
    scored: &MixedTable,
    synthetic: &MixedTable,
    reference: &MixedTable,
    guard: f64,
) -> Result<DistanceAttackScores, DcrError> {
    if !(guard.is_finite() && guard > 0.0) {
        return Err(DcrError::BadGuard(guard));
    }
    let dcr_synthetic = dcr(dist, scored, synthetic)?;
    let dcr_reference = dcr(dist, scored, reference)?;
    Ok(DistanceAttackScores {
        dcr: attack_dcr(&dcr_synthetic),
        dcr_calibrated: attack_dcr_calibrated(&dcr_synthetic, &dcr_reference, guard)?,
        dcr_synthetic,
        dcr_reference,
    })
}

/// Share of synthetic rows nearer to members than to the holdout, with its interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClosenessShare {
    /// Members and holdout records compared (each set subsampled to the smaller size).
    pub members_used: usize,
    pub holdout_used: usize,
    /// Synthetic rows strictly nearer to a member / to a holdout record / equally near.
    pub closer_to_members: usize,
    pub closer_to_holdout: usize,
    pub ties: usize,
    /// `closer_to_members / (closer_to_members + closer_to_holdout)`; 0.5 = no preference.
    /// `None` when every row ties.
    pub share: Option<f64>,
    /// Clopper–Pearson interval of `share` at `confidence`.
    pub interval: [f64; 2],
    pub confidence: f64,
    /// Seed of the subsample.
    pub seed: u64,
}

/// Counts behind a closeness share.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShareCounts {
    pub closer_to_members: usize,
    pub closer_to_holdout: usize,
    pub ties: usize,
    /// `closer_to_members / (closer_to_members + closer_to_holdout)`; `None` when all tie.
    pub share: Option<f64>,
    /// Clopper–Pearson interval of `share`.
    pub interval: [f64; 2],
}

/// The closeness share from per-synthetic-row DCRs to the (equal-sized) member and holdout
/// sets.
pub fn closeness_share_of(dcr_members: &[f64], dcr_holdout: &[f64], confidence: f64) -> Result<ShareCounts, DcrError> {
    if !(confidence > 0.0 && confidence < 1.0) {
        return Err(DcrError::BadConfidence(confidence));
    }
    if dcr_members.len() != dcr_holdout.len() {
        return Err(DcrError::Lengths {
            what: "synthetic DCR to members and to holdout",
            left: dcr_members.len(),
            right: dcr_holdout.len(),
        });
    }
    let (mut m, mut h, mut t) = (0usize, 0usize, 0usize);
    for (&a, &b) in dcr_members.iter().zip(dcr_holdout) {
        match a.total_cmp(&b) {
            std::cmp::Ordering::Less => m += 1,
            std::cmp::Ordering::Greater => h += 1,
            std::cmp::Ordering::Equal => t += 1,
        }
    }
    let n = (m + h) as u64;
    Ok(ShareCounts {
        closer_to_members: m,
        closer_to_holdout: h,
        ties: t,
        share: (n > 0).then(|| m as f64 / n as f64),
        interval: mia_core::stats::clopper_pearson(m as u64, n, confidence),
    })
}

/// `k` of `0..n` drawn without replacement (seeded partial Fisher–Yates), in increasing order.
fn subsample(n: usize, k: usize, seed: u64) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..n).collect();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    for i in 0..k.min(n) {
        let j = i + mia_core::bootstrap::uniform_below(&mut rng, (n - i) as u64) as usize;
        idx.swap(i, j);
    }
    idx.truncate(k.min(n));
    idx.sort_unstable();
    idx
}

/// The closeness share of `synthetic` between `members` and `holdout` (see the module docs).
pub fn closeness_share(
    dist: &Distance,
    members: &MixedTable,
    holdout: &MixedTable,
    synthetic: &MixedTable,
    seed: u64,
    confidence: f64,
) -> Result<ClosenessShare, DcrError> {
    let n = members.len().min(holdout.len());
    let members_sub = (members.len() > n).then(|| members.select(&subsample(members.len(), n, seed)));
    let holdout_sub = (holdout.len() > n).then(|| holdout.select(&subsample(holdout.len(), n, seed)));
    let d_m = dcr(dist, synthetic, members_sub.as_ref().unwrap_or(members))?;
    let d_h = dcr(dist, synthetic, holdout_sub.as_ref().unwrap_or(holdout))?;
    let c = closeness_share_of(&d_m, &d_h, confidence)?;
    Ok(ClosenessShare {
        members_used: n,
        holdout_used: n,
        closer_to_members: c.closer_to_members,
        closer_to_holdout: c.closer_to_holdout,
        ties: c.ties,
        share: c.share,
        interval: c.interval,
        confidence,
        seed,
    })
}

/// One quantile of a distance distribution.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Quantile {
    pub q: f64,
    pub value: f64,
}

/// Quantiles (numpy's linear rule) of `values` at [`SUMMARY_QUANTILES`]; empty for no values.
pub fn quantiles(values: &[f64]) -> Vec<Quantile> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    if sorted.is_empty() {
        return Vec::new();
    }
    SUMMARY_QUANTILES.iter().map(|&q| Quantile { q, value: mia_core::stats::percentile_sorted(&sorted, q) }).collect()
}

/// Counts of records at distance exactly 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExactCopies {
    /// Members with an exact copy in the synthetic table.
    pub members_in_synthetic: usize,
    /// Holdout records with an exact copy in the synthetic table (the base rate of copies
    /// a generator produces without memorising).
    pub holdout_in_synthetic: usize,
    /// Synthetic rows that are exact copies of some member.
    pub synthetic_copying_members: usize,
}

/// DCR summaries of one synthetic table for a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DcrSummary {
    pub members_to_synthetic: Vec<Quantile>,
    pub holdout_to_synthetic: Vec<Quantile>,
    pub synthetic_to_members: Vec<Quantile>,
    pub exact_copies: ExactCopies,
    pub closeness: ClosenessShare,
}

/// The report summary: DCR quantiles, exact copies and the closeness share (subsample seed
/// `seed`, interval at `confidence`).
pub fn summarize(
    dist: &Distance,
    members: &MixedTable,
    holdout: &MixedTable,
    synthetic: &MixedTable,
    seed: u64,
    confidence: f64,
) -> Result<DcrSummary, DcrError> {
    let m_s = dcr(dist, members, synthetic)?;
    let h_s = dcr(dist, holdout, synthetic)?;
    let s_m = dcr(dist, synthetic, members)?;
    let zeros = |v: &[f64]| v.iter().filter(|&&d| d == 0.0).count();
    Ok(DcrSummary {
        members_to_synthetic: quantiles(&m_s),
        holdout_to_synthetic: quantiles(&h_s),
        synthetic_to_members: quantiles(&s_m),
        exact_copies: ExactCopies {
            members_in_synthetic: zeros(&m_s),
            holdout_in_synthetic: zeros(&h_s),
            synthetic_copying_members: zeros(&s_m),
        },
        closeness: closeness_share(dist, members, holdout, synthetic, seed, confidence)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nndr_guards_zero() {
        let n = Neighbours {
            distances: ndarray::array![[1.0, 2.0], [0.0, 0.0], [0.0, 3.0]],
            indices: ndarray::array![[0, 1], [0, 1], [0, 1]],
        };
        assert_eq!(nndr_of(&n), vec![0.5, 0.0, 0.0]);
    }

    #[test]
    fn calibrated_scores() {
        let s = attack_dcr_calibrated(&[0.0, 1.0], &[1.0, 1.0], 1e-6).unwrap();
        // ln(1 + 1e-6) − ln(1e-6) for the exact copy; 0 when both distances agree.
        assert!((s[0] - ((1.0f64 + 1e-6).ln() - 1e-6f64.ln())).abs() < 1e-12);
        assert_eq!(s[1], 0.0);
        assert_eq!(attack_dcr(&[0.5]), vec![-0.5]);
        assert_eq!(attack_dcr_calibrated(&[0.0], &[0.0], 0.0), Err(DcrError::BadGuard(0.0)));
    }

    #[test]
    fn share_counts_and_interval() {
        let c = closeness_share_of(&[0.0, 1.0, 2.0, 1.0], &[1.0, 0.5, 2.0, 3.0], 0.95).unwrap();
        assert_eq!((c.closer_to_members, c.closer_to_holdout, c.ties), (2, 1, 1));
        assert_eq!(c.share, Some(2.0 / 3.0));
        assert_eq!(c.interval, mia_core::stats::clopper_pearson(2, 3, 0.95));
        assert!(closeness_share_of(&[0.0], &[0.0], 1.0).is_err());
    }

    #[test]
    fn subsample_is_seeded_and_without_replacement() {
        let a = subsample(100, 10, 7);
        assert_eq!(a, subsample(100, 10, 7));
        assert_ne!(a, subsample(100, 10, 8));
        assert!(a.windows(2).all(|w| w[0] < w[1]) && a.len() == 10 && a[9] < 100);
        assert_eq!(subsample(5, 5, 1), vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn quantiles_follow_numpy_linear() {
        // numpy.quantile([3, 1, 2, 4], 0.25) = 1.75, 0.5 = 2.5.
        let q = quantiles(&[3.0, 1.0, 2.0, 4.0]);
        assert_eq!((q[3].value, q[4].value, q[0].value, q[8].value), (1.75, 2.5, 1.0, 4.0));
        assert!(quantiles(&[]).is_empty());
    }
}
