//! Membership scores of texts from a language model's per-token log-probabilities (the
//! score-only attacks of `mia llm`; higher = more likely a member, as every attack here).
//!
//! A text's tokens are given as the log-probability the model assigned to each actual token,
//! in order ([`TokenLogprobs`]: one flat array and per-text offsets, so 100k texts × 512
//! tokens are one allocation). The scores:
//!
//! * `loss` — the mean token log-probability, i.e. minus the mean negative log-likelihood
//!   (Yeom et al., CSF 2018, for language models as in Carlini et al., USENIX Security 2021).
//! * `zlib` — the mean log-probability over the text's zlib-compressed length: a text the
//!   model finds likelier than its compressibility explains (Carlini et al. 2021, §6). The
//!   length is measured by the reader ([`zlib_ratio`] takes it).
//! * `min_k` — the mean of the lowest k share of token log-probabilities (⌊k·n⌋ tokens, at
//!   least one): members rarely contain very unlikely tokens (Shi et al., "Detecting
//!   Pretraining Data from Large Language Models", ICLR 2024).
//! * `min_k_plus_plus` — the same over each token's log-probability standardised by the mean
//!   μ and standard deviation σ of log p over the whole vocabulary at that position, (log p −
//!   μ) / σ: a token at a local maximum of the likelihood stands out (Zhang et al., "Min-K%++",
//!   2024).
//! * `reference` — the target's mean log-probability minus a reference model's on the same
//!   tokens: likelihood the target has beyond what general language explains (Carlini et al.
//!   2021, "comparing to other neural language models").
//! * `lowercase` — minus the ratio of the text's mean negative log-likelihood to that of the
//!   lowercased text (its own tokens), −NLL(x) / NLL(lower(x)): a memorised text is much likelier
//!   in its exact casing than lowercased, where an unseen one loses little (Carlini et al. 2021,
//!   §6, the ratio of log-perplexities before and after lowercasing).
//!
//! Every function is pure; the lowest-k selections sort their selected values before summing,
//! so a score does not depend on the selection algorithm's order.

use rayon::prelude::*;

/// Per-token values of many texts: text `i` is `values[offsets[i]..offsets[i + 1]]`.
#[derive(Debug, Clone, Copy)]
pub struct TokenLogprobs<'a> {
    pub values: &'a [f64],
    /// `texts + 1` non-decreasing offsets into `values`, the first 0 and the last `values.len()`.
    pub offsets: &'a [usize],
}

impl<'a> TokenLogprobs<'a> {
    /// Checks the offsets; `None` if they do not describe `values` (a bug in the caller).
    pub fn new(values: &'a [f64], offsets: &'a [usize]) -> Option<TokenLogprobs<'a>> {
        let ok = offsets.first() == Some(&0)
            && offsets.last() == Some(&values.len())
            && offsets.windows(2).all(|w| w[0] <= w[1]);
        ok.then_some(TokenLogprobs { values, offsets })
    }

    pub fn texts(&self) -> usize {
        self.offsets.len() - 1
    }

    /// The tokens of text `i`.
    pub fn text(&self, i: usize) -> &'a [f64] {
        &self.values[self.offsets[i]..self.offsets[i + 1]]
    }

    fn per_text(&self, f: impl Fn(&[f64]) -> f64 + Sync) -> Vec<f64> {
        (0..self.texts()).into_par_iter().map(|i| f(self.text(i))).collect()
    }
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() { f64::NAN } else { v.iter().sum::<f64>() / v.len() as f64 }
}

/// The number of tokens the lowest-k attacks average: ⌊k·n⌋, at least one (for n ≥ 1).
pub fn lowest_count(k: f64, n: usize) -> usize {
    ((k * n as f64).floor() as usize).clamp(1.min(n), n)
}

/// The mean of the `m` smallest values, summed in ascending order.
fn mean_of_lowest(values: &[f64], m: usize) -> f64 {
    if m == 0 {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    if m < v.len() {
        v.select_nth_unstable_by(m - 1, f64::total_cmp);
        v.truncate(m);
    }
    v.sort_unstable_by(f64::total_cmp);
    mean(&v)
}

/// `loss`: each text's mean token log-probability.
pub fn mean_logprob(t: &TokenLogprobs<'_>) -> Vec<f64> {
    t.per_text(mean)
}

/// `zlib`: each text's mean token log-probability divided by its zlib-compressed length in
/// bytes (`zlib_bytes`, one per text, positive).
pub fn zlib_ratio(t: &TokenLogprobs<'_>, zlib_bytes: &[f64]) -> Vec<f64> {
    mean_logprob(t).into_iter().zip(zlib_bytes).map(|(m, &z)| m / z).collect()
}

/// `min_k`: the mean of each text's lowest `k` share of token log-probabilities.
pub fn min_k(t: &TokenLogprobs<'_>, k: f64) -> Vec<f64> {
    t.per_text(|v| mean_of_lowest(v, lowest_count(k, v.len())))
}

/// `min_k_plus_plus`: [`min_k`] over the standardised log-probabilities (log p − μ) / σ, with
/// `mu` and `sigma` the vocabulary's mean and standard deviation of log p at each token
/// (laid out as the log-probabilities; σ > 0).
pub fn min_k_plus_plus(t: &TokenLogprobs<'_>, mu: &[f64], sigma: &[f64], k: f64) -> Vec<f64> {
    let z: Vec<f64> = t.values.iter().zip(mu).zip(sigma).map(|((&lp, &m), &s)| (lp - m) / s).collect();
    let standardised = TokenLogprobs { values: &z, offsets: t.offsets };
    min_k(&standardised, k)
}

/// `reference`: the target's mean log-probability minus the reference model's, per text
/// (`reference` laid out as the target's tokens).
pub fn reference_difference(t: &TokenLogprobs<'_>, reference: &[f64]) -> Vec<f64> {
    let r = TokenLogprobs { values: reference, offsets: t.offsets };
    mean_logprob(t).into_iter().zip(mean_logprob(&r)).map(|(a, b)| a - b).collect()
}

/// `lowercase`: −NLL(x) / NLL(lower(x)), each text's mean token log-probability over minus the
/// lowercased text's (`lowercase`, one text per text of `t`, each with a mean below 0).
pub fn lowercase_ratio(t: &TokenLogprobs<'_>, lowercase: &TokenLogprobs<'_>) -> Vec<f64> {
    mean_logprob(t).into_iter().zip(mean_logprob(lowercase)).map(|(a, b)| -(a / b)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts() -> (Vec<f64>, Vec<usize>) {
        // Three texts: 5 tokens, 1 token, 3 tokens.
        (vec![-1.0, -5.0, -3.0, -2.0, -4.0, -0.5, -2.0, -2.0, -0.25], vec![0, 5, 6, 9])
    }

    /// Values worked by hand from the definitions in the module doc.
    #[test]
    fn scores_by_hand() {
        let (v, o) = texts();
        let t = TokenLogprobs::new(&v, &o).unwrap();
        assert_eq!(mean_logprob(&t), [-3.0, -0.5, -4.25 / 3.0]);
        // k = 20 %: ⌊1.0⌋ = 1 lowest of 5; ⌊0.2⌋ → at least 1; ⌊0.6⌋ → 1.
        assert_eq!(min_k(&t, 0.2), [-5.0, -0.5, -2.0]);
        // k = 50 %: 2 of 5 (−5, −4), 1 of 1, 1 of 3 (a tie at −2: either is −2).
        assert_eq!(min_k(&t, 0.5), [-4.5, -0.5, -2.0]);
        assert_eq!(min_k(&t, 1.0), mean_logprob(&t));
        assert_eq!(zlib_ratio(&t, &[10.0, 4.0, 8.0]), [-0.3, -0.125, -4.25 / 24.0]);
        let reference = vec![-2.0; 9];
        assert_eq!(reference_difference(&t, &reference), [-1.0, 1.5, 2.0 - 4.25 / 3.0]);
        // Lowercased texts of 2, 1 and 2 tokens: mean log p −4, −0.25, −1.
        let (lv, lo) = (vec![-3.0, -5.0, -0.25, -0.5, -1.5], vec![0, 2, 3, 5]);
        let lower = TokenLogprobs::new(&lv, &lo).unwrap();
        // −NLL(x)/NLL(lower): 3/4 → −0.75; 0.5/0.25 → −2; (4.25/3)/1.
        assert_eq!(lowercase_ratio(&t, &lower), [-0.75, -2.0, -4.25 / 3.0]);
    }

    #[test]
    fn min_k_plus_plus_standardises_each_token() {
        let (v, o) = texts();
        let t = TokenLogprobs::new(&v, &o).unwrap();
        // μ = −3, σ = 2 everywhere: z = (lp + 3) / 2, so the lowest z are the lowest lp.
        let (mu, sigma) = (vec![-3.0; 9], vec![2.0; 9]);
        assert_eq!(min_k_plus_plus(&t, &mu, &sigma, 0.2), [-1.0, 1.25, 0.5]);
        // A token far below its position's mean counts even when its log p is not the lowest.
        let mu = vec![0.0, -6.0, -6.0, -6.0, -6.0, 0.0, 0.0, 0.0, 0.0];
        let sigma = vec![0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0];
        assert_eq!(min_k_plus_plus(&t, &mu, &sigma, 0.2)[0], -2.0);
    }

    #[test]
    fn lowest_count_is_floor_with_at_least_one() {
        assert_eq!(lowest_count(0.2, 512), 102);
        assert_eq!(lowest_count(0.2, 4), 1);
        assert_eq!(lowest_count(0.2, 0), 0);
        assert_eq!(lowest_count(1.0, 7), 7);
    }

    #[test]
    fn offsets_are_checked() {
        let v = [0.0; 3];
        assert!(TokenLogprobs::new(&v, &[0, 2, 3]).is_some());
        assert!(TokenLogprobs::new(&v, &[0, 2]).is_none());
        assert!(TokenLogprobs::new(&v, &[1, 3]).is_none());
        assert!(TokenLogprobs::new(&v, &[0, 2, 1, 3]).is_none());
    }
}
