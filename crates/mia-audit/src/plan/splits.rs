//! Seeded splits of an audit's records: which rows a model trains on.
//!
//! * [`random_subset`]: exactly `count` of `n` rows, uniformly (a partial Fisher–Yates
//!   shuffle), for the target's member set or the held-out population.
//! * [`keep_mask`]: the K × N keep mask of the reference models, built as in Carlini et al.,
//!   "Membership Inference Attacks From First Principles" (S&P 2022): for every record an
//!   independent uniform choice of K/2 of the K models that train on it. Every record is
//!   therefore IN for exactly half of the models (online LiRA and RMIA need both IN and OUT
//!   observations of every record), and every model trains on about half of the records.
//!
//! Everything draws from [`mia_core::bootstrap::rng_for`] so the same seed gives the same
//! split on every platform.

use mia_core::bootstrap::{rng_for, uniform_below};
use ndarray::Array2;

/// Streams of the run seed used by the splits (kept apart from each other and from the
/// evaluation's streams).
pub mod streams {
    pub const POPULATION: u64 = 0x5350_4c49_545f_504f;
    pub const TARGET: u64 = 0x5350_4c49_545f_5441;
    pub const KEEP: u64 = 0x5350_4c49_545f_4b45;
}

/// A flag per row, true for exactly `count` of the `n` rows, chosen uniformly.
pub fn random_subset(n: usize, count: usize, seed: u64, stream: u64) -> Vec<bool> {
    let count = count.min(n);
    let mut rng = rng_for(seed, stream);
    let mut order: Vec<usize> = (0..n).collect();
    for i in 0..count {
        let j = i + uniform_below(&mut rng, (n - i) as u64) as usize;
        order.swap(i, j);
    }
    let mut flags = vec![false; n];
    for &r in &order[..count] {
        flags[r] = true;
    }
    flags
}

/// A fair coin per row: true with probability ½, independently (the one-run audit's
/// inclusion of each canary).
pub fn coin_flips(n: usize, seed: u64, stream: u64) -> Vec<bool> {
    let mut rng = rng_for(seed, stream);
    (0..n).map(|_| uniform_below(&mut rng, 2) == 1).collect()
}

/// The K × N keep mask: `mask[[k, n]]` is true when reference model k trains on record n.
/// Each record is IN for exactly `n_models / 2` models. `n_models` must be even and ≥ 2.
pub fn keep_mask(n_models: usize, n_records: usize, seed: u64) -> Result<Array2<bool>, String> {
    if n_models < 2 || !n_models.is_multiple_of(2) {
        return Err(format!(
            "the number of reference models must be even and at least 2 (each record is IN for exactly half), got {n_models}"
        ));
    }
    let mut rng = rng_for(seed, streams::KEEP);
    let mut mask = Array2::from_elem((n_models, n_records), false);
    let mut order: Vec<usize> = (0..n_models).collect();
    let half = n_models / 2;
    for n in 0..n_records {
        for i in 0..half {
            let j = i + uniform_below(&mut rng, (n_models - i) as u64) as usize;
            order.swap(i, j);
        }
        for &k in &order[..half] {
            mask[[k, n]] = true;
        }
    }
    Ok(mask)
}

/// The indices of the true flags.
pub fn rows_where(flags: impl IntoIterator<Item = bool>) -> Vec<usize> {
    flags.into_iter().enumerate().filter_map(|(i, f)| f.then_some(i)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subset_has_exact_count_and_depends_on_seed() {
        let a = random_subset(1001, 500, 7, streams::TARGET);
        assert_eq!(a.iter().filter(|&&f| f).count(), 500);
        assert_eq!(a, random_subset(1001, 500, 7, streams::TARGET));
        assert_ne!(a, random_subset(1001, 500, 8, streams::TARGET));
        assert_ne!(a, random_subset(1001, 500, 7, streams::POPULATION));
        assert_eq!(random_subset(3, 10, 0, 0), vec![true; 3]);
        assert!(random_subset(0, 0, 0, 0).is_empty());
    }

    #[test]
    fn subset_is_uniform() {
        // Each row is chosen with probability count/n; over 4,000 draws of 2-of-5 every row
        // is picked about 1,600 times (sd ≈ 31).
        let mut hits = [0usize; 5];
        for s in 0..4000 {
            for (h, f) in hits.iter_mut().zip(random_subset(5, 2, s, 1)) {
                *h += f as usize;
            }
        }
        assert!(hits.iter().all(|&h| (1450..1750).contains(&h)), "{hits:?}");
    }

    #[test]
    fn coins_are_fair_and_seeded() {
        let c = coin_flips(10_000, 5, 9);
        let heads = c.iter().filter(|&&f| f).count();
        // Binomial(10,000, ½): sd 50.
        assert!((4800..5200).contains(&heads), "{heads}");
        assert_eq!(c, coin_flips(10_000, 5, 9));
        assert_ne!(c, coin_flips(10_000, 6, 9));
        // Not a balanced split: over seeds the count varies.
        let counts: std::collections::BTreeSet<usize> =
            (0..20).map(|s| coin_flips(100, s, 9).iter().filter(|&&f| f).count()).collect();
        assert!(counts.len() > 3, "{counts:?}");
    }

    #[test]
    fn keep_mask_is_in_for_exactly_half() {
        let m = keep_mask(16, 3000, 3).unwrap();
        for col in m.columns() {
            assert_eq!(col.iter().filter(|&&f| f).count(), 8);
        }
        // Each model trains on about half the records (binomial sd ≈ 27).
        for row in m.rows() {
            let c = row.iter().filter(|&&f| f).count();
            assert!((1400..1600).contains(&c), "{c}");
        }
        assert_eq!(m, keep_mask(16, 3000, 3).unwrap());
        assert_ne!(m, keep_mask(16, 3000, 4).unwrap());
    }

    #[test]
    fn keep_mask_rejects_odd_counts() {
        assert!(keep_mask(3, 10, 0).unwrap_err().contains("even"));
        assert!(keep_mask(0, 10, 0).is_err());
        assert_eq!(keep_mask(2, 0, 0).unwrap().dim(), (2, 0));
    }
}
